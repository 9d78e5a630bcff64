package org.pyibert;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The Java API's test (android/test/jni_test.sh runs it):
 *     IbertModelTest MODEL SENTENCES
 * prints, per sentence, the token ids, int32 outputs, label and score (jni_test.sh
 * compares them with the Python package's), and checks the API's contracts: failures
 * throw IbertException with the runtime's status and message, 2 threads give the
 * same integers as 1, a closed model refuses calls. Exits 1 if a check fails.
 */
public final class IbertModelTest {
    private static int failures = 0;

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.err.println("FAIL: " + what);
            failures++;
        }
    }

    private interface Call {
        void run() throws Exception;
    }

    /** call must throw IbertException with this status and a message containing text. */
    private static void checkThrows(Call call, String status, String text, String what) {
        try {
            call.run();
            check(false, what + ": no exception");
        } catch (IbertException e) {
            check(e.status().equals(status) && e.getMessage().contains(text),
                  what + ": got " + e.status() + " \"" + e.getMessage() + "\"");
        } catch (Exception e) {
            check(false, what + ": got " + e);
        }
    }

    private static String join(int[] values) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < values.length; i++) s.append(i == 0 ? "" : ",").append(values[i]);
        return s.toString();
    }

    public static void main(String[] args) throws Exception {
        String modelPath = args[0], sentencesPath = args[1];
        List<String> sentences = Files.readAllLines(new File(sentencesPath).toPath(), StandardCharsets.UTF_8);

        try (IbertModel model = new IbertModel(modelPath); IbertModel twoThreads = new IbertModel(modelPath, 2)) {
            check(model.labels().length == 2, "two labels: " + Arrays.toString(model.labels()));
            Classification[] all = model.classify(sentences.toArray(new String[0]));
            for (int i = 0; i < sentences.size(); i++) {
                String sentence = sentences.get(i);
                int[] ids = model.tokenize(sentence);
                int[] raw = model.forward(ids);
                Classification best = model.classify(sentence);
                System.out.println(i + "\t" + join(ids) + "\t" + join(raw) + "\t" + best.label + "\t"
                                   + String.format(Locale.ROOT, "%.6f", best.score));
                check(ids.length <= model.maxTokens(), "sentence " + i + " cut to maxTokens");
                check(Arrays.equals(twoThreads.forward(ids), raw), "sentence " + i + ": 2 threads, same integers");
                check(all[i].label.equals(best.label) && all[i].score == best.score,
                      "sentence " + i + ": classify(String[]) = classify(String)");
                float[] logits = model.logits(sentence);
                check(logits[best.index] == (float) (raw[best.index] * model.outputScale()), "logits = raw * scale");
            }
            System.err.println("kernels: " + model.kernels());

            checkThrows(() -> model.forward(new int[0]), "IBERT_ERR_INVALID_ARGUMENT", "n_tokens",
                        "forward of no tokens");
            checkThrows(() -> model.forward(new int[] {101, Integer.MAX_VALUE, 102}), "IBERT_ERR_INVALID_ARGUMENT",
                        String.valueOf(Integer.MAX_VALUE), "forward of an id out of the vocabulary");
        }
        String missing = new File(new File(modelPath).getParentFile(), "no-such-model.ibert").getPath();
        checkThrows(() -> new IbertModel(missing), "IBERT_ERR_IO", "no-such-model.ibert", "missing file");
        checkThrows(() -> new IbertModel(sentencesPath), "IBERT_ERR_FORMAT", "", "a text file as model");
        checkThrows(() -> new IbertModel(modelPath, 0), "IBERT_ERR_INVALID_ARGUMENT", "threads", "0 threads");

        IbertModel closed = new IbertModel(modelPath);
        closed.close();
        closed.close();
        try {
            closed.tokenize("closed");
            check(false, "a closed model refuses calls");
        } catch (IllegalStateException expected) {
            // the contract
        }

        if (failures > 0) {
            System.err.println(failures + " check(s) failed");
            System.exit(1);
        }
        System.err.println("IbertModelTest: all checks passed");
    }
}
