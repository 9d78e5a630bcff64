package org.pyibert;

/** A failure of the native runtime: its status name and its message (ibert_last_error). */
public class IbertException extends Exception {
    private final String status;

    public IbertException(String status, String message) {
        super(status + ": " + message);
        this.status = status;
    }

    /** The runtime's status name, e.g. "IBERT_ERR_IO" or "IBERT_ERR_FORMAT". */
    public String status() {
        return status;
    }
}
