package org.pyibert;

/** The most likely label of a text and its softmax probability. */
public final class Classification {
    public final int index;
    public final String label;
    public final double score;

    Classification(int index, String label, double score) {
        this.index = index;
        this.label = label;
        this.score = score;
    }

    @Override
    public String toString() {
        return label + " (" + score + ")";
    }
}
