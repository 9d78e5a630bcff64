/* test_kernel_paths.c: the whole model gives the same int32 logits on every kernel
 * path this CPU runs. Loads MODEL and, for each path (IBERT_KERNELS=ref, then neon
 * and dotprod on AArch64 CPUs that have them, neon on 32-bit ARM CPUs with NEON),
 * runs two sequences: a text cut to exactly 128 tokens (the benchmark length) and a
 * short one of an awkward length (not a multiple of any kernel tile), and compares
 * every logit with ref's.
 *
 *   test_kernel_paths MODEL
 *
 * Prints "N passed, N failed"; exits non-zero on any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "ibert.h"

#if defined(__aarch64__)
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#else /* 32-bit ARM */
#ifndef HWCAP_NEON
#define HWCAP_NEON (1 << 12)
#endif
#endif

#define MAX_TOKENS 128
#define MAX_OUTPUTS 64

static const struct {
    const char *name;
    unsigned long hwcap;
} PATHS[] = {
#if defined(__aarch64__)
    {"ref", 0}, {"neon", HWCAP_ASIMD}, {"dotprod", HWCAP_ASIMD | HWCAP_ASIMDDP}
#else
    {"ref", 0}, {"neon", HWCAP_NEON}
#endif
};
#define N_PATHS (sizeof PATHS / sizeof PATHS[0])

static const char *const TEXTS[] = {
    "the film is a gripping, funny and quite moving portrait of a family, though its second half drags and the "
    "ending feels borrowed from a dozen better movies; still, the performances are wonderful, the score is "
    "lovely, the photography of the coast is worth the ticket alone, and I would happily watch it again with "
    "friends on a rainy sunday afternoon when nothing else is showing at the old cinema down the road, even if "
    "the popcorn there is stale and the seats creak and the projector hums through every quiet scene, and the "
    "man in the back row keeps explaining the plot to his patient, long-suffering wife all evening",
    "an utterly joyless, clumsy mess.",
};
#define N_TEXTS (sizeof TEXTS / sizeof TEXTS[0])

static void die(const char *what) {
    fprintf(stderr, "%s: %s\n", what, ibert_last_error());
    exit(2);
}

/* The logits of TEXTS[t] with the kernel path in IBERT_KERNELS (read by context_new). */
static size_t run(const ibert_model *model, size_t t, int32_t *out, size_t *n_tokens) {
    int32_t ids[MAX_TOKENS];
    size_t n = 0;
    if (ibert_tokenize(model, TEXTS[t], strlen(TEXTS[t]), ids, MAX_TOKENS, &n) != IBERT_OK) die("tokenize");
    if (n > MAX_TOKENS) n = MAX_TOKENS;
    *n_tokens = n;
    size_t n_out = ibert_model_output_size(model, n);
    if (n_out > MAX_OUTPUTS) {
        fprintf(stderr, "the model has %zu outputs, more than this test's %d (give it a classifier head)\n", n_out,
                MAX_OUTPUTS);
        exit(2);
    }
    ibert_context *ctx = NULL;
    if (ibert_context_new(model, &ctx) != IBERT_OK) die("context_new");
    if (ibert_forward(ctx, ids, NULL, NULL, n, out) != IBERT_OK) die("forward");
    ibert_context_free(ctx);
    return n_out;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_kernel_paths MODEL\n");
        return 2;
    }
    ibert_model *model = NULL;
    if (ibert_model_load_file(argv[1], &model) != IBERT_OK) die(argv[1]);
    const unsigned long hwcap = getauxval(AT_HWCAP);
    size_t runnable = 0;
    for (size_t p = 1; p < N_PATHS; p++) runnable += (hwcap & PATHS[p].hwcap) == PATHS[p].hwcap;
    if (runnable == 0) { /* a 32-bit ARM CPU without NEON: ref is all there is */
        printf("only ref runs on this CPU: nothing to compare\n");
        ibert_model_free(model);
        return 0;
    }
    long passed = 0, failed = 0;
    for (size_t t = 0; t < N_TEXTS; t++) {
        int32_t want[MAX_OUTPUTS], got[MAX_OUTPUTS];
        setenv("IBERT_KERNELS", "ref", 1);
        size_t n_tokens = 0;
        const size_t n_out = run(model, t, want, &n_tokens);
        for (size_t p = 1; p < N_PATHS; p++) {
            if ((hwcap & PATHS[p].hwcap) != PATHS[p].hwcap) continue;
            setenv("IBERT_KERNELS", PATHS[p].name, 1);
            run(model, t, got, &n_tokens);
            if (memcmp(want, got, n_out * sizeof *want) == 0) {
                printf("text %zu (%zu tokens): %s = ref (%zu logits)\n", t, n_tokens, PATHS[p].name, n_out);
                passed++;
            } else {
                for (size_t j = 0; j < n_out; j++)
                    if (want[j] != got[j])
                        fprintf(stderr, "FAIL text %zu, %s: logit %zu is %d, ref %d\n", t, PATHS[p].name, j, got[j],
                                want[j]);
                failed++;
            }
        }
    }
    ibert_model_free(model);
    printf("%ld passed, %ld failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
