/* test_threads.c: a forward pass gives the same integers on any number of
 * threads. For each MODEL, runs sequences of awkward lengths (1, 2, 3, 17, and
 * the longest up to 128 tokens, with every third key masked; random ids; and one
 * with every key masked) on contexts of 1, 2, 3, 4 and 7 threads (odd counts against
 * column blocks and heads) and compares every output integer with one thread's:
 * logits for a model with a head, all the final hidden states for one without.
 * The contexts are reused across sequences, so a pass after a longer one is
 * covered too. Also checks the thread count's validation, and that a child
 * process forked after the contexts were made (it has none of their workers)
 * still gets the same integers, and can free them.
 *
 *   test_threads MODEL...
 *
 * Prints "N passed, N failed"; exits non-zero on any failure. */
#define _POSIX_C_SOURCE 200809L /* fork, waitpid, alarm */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ibert.h"

#define LONGEST 128

static const size_t THREAD_COUNTS[] = {1, 2, 3, 4, 7};
#define N_COUNTS (sizeof THREAD_COUNTS / sizeof THREAD_COUNTS[0])

static long passed, failed;

static void die(const char *what) {
    fprintf(stderr, "%s: %s\n", what, ibert_last_error());
    exit(2);
}

static void check(int ok, const char *what, const char *model, size_t detail) {
    if (ok) {
        passed++;
    } else {
        fprintf(stderr, "FAIL %s: %s (%zu)\n", model, what, detail);
        failed++;
    }
}

/* A deterministic generator: the same ids on every platform. */
static uint32_t next_random(uint64_t *state) {
    *state = *state * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)(*state >> 33);
}

typedef struct sequence {
    size_t n;
    int mask_kind; /* 0: no mask, 1: every third key masked, 2: every key masked */
} sequence;

static void test_model(const char *path) {
    ibert_model *model = NULL;
    if (ibert_model_load_file(path, &model) != IBERT_OK) die(path);
    size_t longest = ibert_model_max_tokens(model) < LONGEST ? ibert_model_max_tokens(model) : LONGEST;
    const sequence sequences[] = {{longest, 1}, {1, 0}, {2, 0}, {3, 0}, {17, 0}, {3, 2}};
    size_t n_seq = sizeof sequences / sizeof sequences[0];
    size_t n_out = ibert_model_output_size(model, longest);
    int32_t *ids = malloc(sizeof *ids * longest), *mask = malloc(sizeof *mask * longest);
    int32_t *want = malloc(sizeof *want * n_out), *got = malloc(sizeof *got * n_out);
    ibert_context *contexts[N_COUNTS];
    if (!ids || !mask || !want || !got) die("out of memory");
    for (size_t c = 0; c < N_COUNTS; c++) {
        if (ibert_context_new_threads(model, THREAD_COUNTS[c], &contexts[c]) != IBERT_OK) die("context_new_threads");
        check(ibert_context_threads(contexts[c]) == THREAD_COUNTS[c], "ibert_context_threads", path,
              THREAD_COUNTS[c]);
    }

    uint64_t state = 7;
    uint32_t vocab = ibert_model_vocab_size(model);
    for (size_t s = 0; s < n_seq; s++) {
        size_t n = sequences[s].n;
        for (size_t i = 0; i < n; i++) {
            ids[i] = (int32_t)(next_random(&state) % vocab);
            mask[i] = sequences[s].mask_kind == 0 || (sequences[s].mask_kind == 1 && i % 3 != 1);
        }
        const int32_t *attention_mask = sequences[s].mask_kind ? mask : NULL;
        size_t count = ibert_model_output_size(model, n);
        if (ibert_forward(contexts[0], ids, NULL, attention_mask, n, want) != IBERT_OK) die("forward");
        long failed_before = failed;
        for (size_t c = 1; c < N_COUNTS; c++) {
            memset(got, 0x5a, sizeof *got * count);
            if (ibert_forward(contexts[c], ids, NULL, attention_mask, n, got) != IBERT_OK) die("forward");
            size_t first_diff = count;
            for (size_t j = 0; j < count && first_diff == count; j++)
                if (want[j] != got[j]) first_diff = j;
            if (first_diff != count)
                fprintf(stderr, "%s: sequence %zu (%zu tokens), %zu threads: output %zu is %d, one thread %d\n", path,
                        s, n, THREAD_COUNTS[c], first_diff, got[first_diff], want[first_diff]);
            check(first_diff == count, "same output as one thread", path, THREAD_COUNTS[c]);
        }
        if (failed == failed_before)
            printf("%s: %zu tokens (mask kind %d): %zu outputs equal on %zu thread counts\n", path, n,
                   sequences[s].mask_kind, count, N_COUNTS);
    }

    /* the child runs the last sequence again on every context, then frees them */
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        alarm(120); /* a pass waiting for workers the child lacks would hang: fail instead */
        size_t n = sequences[n_seq - 1].n, count = ibert_model_output_size(model, n);
        int same = ibert_forward(contexts[0], ids, NULL, mask, n, want) == IBERT_OK;
        for (size_t c = 1; c < N_COUNTS && same; c++)
            same = ibert_forward(contexts[c], ids, NULL, mask, n, got) == IBERT_OK &&
                   memcmp(want, got, sizeof *got * count) == 0;
        for (size_t c = 0; c < N_COUNTS; c++) ibert_context_free(contexts[c]);
        _exit(same ? 0 : 1);
    }
    int child_status = 0;
    if (waitpid(child, &child_status, 0) != child) die("waitpid");
    check(WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0, "a forked child gets the same outputs", path,
          (size_t)child_status);

    ibert_context *bad = (ibert_context *)1;
    const size_t invalid[] = {0, IBERT_MAX_THREADS + 1};
    for (size_t i = 0; i < 2; i++) {
        ibert_status st = ibert_context_new_threads(model, invalid[i], &bad);
        check(st == IBERT_ERR_INVALID_ARGUMENT && bad == NULL && strstr(ibert_last_error(), "n_threads") != NULL,
              "an invalid thread count is refused", path, invalid[i]);
    }
    for (size_t c = 0; c < N_COUNTS; c++) ibert_context_free(contexts[c]);
    free(ids);
    free(mask);
    free(want);
    free(got);
    ibert_model_free(model);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_threads MODEL...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) test_model(argv[i]);
    printf("%ld passed, %ld failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
