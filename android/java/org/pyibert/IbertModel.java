package org.pyibert;

import java.nio.charset.StandardCharsets;

/**
 * A loaded .ibert model and the context its forward passes run in (libibert through
 * the JNI glue libibert_jni). The same integers as the C library and the Python
 * package: logits are the int32 outputs times the model's output scale, and classify
 * takes the softmax of those logits, as pyibert.Model does.
 *
 * Calls on one model run one at a time (they share its context); use one model per
 * thread for parallel calls. Close it to free the native memory and threads.
 */
public final class IbertModel implements AutoCloseable {
    static {
        System.loadLibrary("ibert_jni");
    }

    private long handle; // the native model and context; 0 once closed
    private final String[] labels;
    private final double outputScale;

    /** Loads and validates a model file, with forward passes on the calling thread. */
    public IbertModel(String path) throws IbertException {
        this(path, 1);
    }

    /** Loads a model whose forward passes are split over {@code threads} threads (1 ... 64). */
    public IbertModel(String path, int threads) throws IbertException {
        handle = open(utf8(path), threads);
        int n = numLabels(handle);
        labels = new String[n];
        for (int i = 0; i < n; i++) labels[i] = new String(label(handle, i), StandardCharsets.UTF_8);
        outputScale = outputScale(handle);
    }

    /** The label names of the classification head (empty for an encoder without one). */
    public synchronized String[] labels() {
        checkOpen();
        return labels.clone();
    }

    /** The longest token sequence (special tokens included) a forward pass takes. */
    public synchronized int maxTokens() {
        return maxTokens(checkOpen());
    }

    /** The kernel set the model runs on this CPU, e.g. "ref", "neon" or "dotprod". */
    public synchronized String kernels() {
        return kernels(checkOpen());
    }

    /** The real value of one output integer of {@link #forward}. */
    public double outputScale() {
        return outputScale;
    }

    /** Token ids of a text, special tokens included; a text longer than maxTokens() is cut to it. */
    public synchronized int[] tokenize(String text) throws IbertException {
        return tokenize(checkOpen(), utf8(text));
    }

    /** The int32 output of a forward pass over token ids: num_labels logits, or hidden states without a head. */
    public synchronized int[] forward(int[] ids) throws IbertException {
        return forward(checkOpen(), ids);
    }

    /** Dequantized logits of a text (float, as pyibert.Model.logits). */
    public synchronized float[] logits(String text) throws IbertException {
        if (labels.length == 0) throw new IllegalStateException("the model has no classification head");
        int[] raw = forward(tokenize(text));
        float[] logits = new float[raw.length];
        for (int i = 0; i < raw.length; i++) logits[i] = (float) (raw[i] * outputScale);
        return logits;
    }

    /** The most likely label of a text and its softmax probability. */
    public synchronized Classification classify(String text) throws IbertException {
        float[] logits = logits(text);
        int best = 0;
        for (int i = 1; i < logits.length; i++)
            if (logits[i] > logits[best]) best = i;
        double sum = 0;
        for (float logit : logits) sum += Math.exp((double) logit - logits[best]);
        return new Classification(best, labels[best], 1.0 / sum);
    }

    /** classify(text) for each text, in order. */
    public synchronized Classification[] classify(String[] texts) throws IbertException {
        Classification[] results = new Classification[texts.length];
        for (int i = 0; i < texts.length; i++) results[i] = classify(texts[i]);
        return results;
    }

    /** Frees the context (stopping its threads) and the model. Further calls throw IllegalStateException. */
    @Override
    public synchronized void close() {
        if (handle != 0) {
            close(handle);
            handle = 0;
        }
    }

    private long checkOpen() {
        if (handle == 0) throw new IllegalStateException("the model is closed");
        return handle;
    }

    // Strings cross as UTF-8 bytes: JNI's own string functions speak "modified UTF-8",
    // which differs from UTF-8 for NUL and characters outside the BMP (emoji).
    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static native long open(byte[] path, int threads) throws IbertException;
    private static native void close(long handle);
    private static native int numLabels(long handle);
    private static native byte[] label(long handle, int i);
    private static native double outputScale(long handle);
    private static native int maxTokens(long handle);
    private static native String kernels(long handle);
    private static native int[] tokenize(long handle, byte[] text) throws IbertException;
    private static native int[] forward(long handle, int[] ids) throws IbertException;
}
