/* test_kernel_paths.c: the whole model gives the same int32 logits on every kernel
 * path this CPU runs. Loads MODEL for each path (IBERT_KERNELS=ref, then neon,
 * dotprod and i8mm on AArch64 CPUs that have them, neon on 32-bit ARM CPUs with
 * NEON, avx2 and avx512vnni on x86-64 CPUs that have them) and runs two sequences: a text cut
 * to exactly 128 tokens (the benchmark length) and a short one of an awkward
 * length (not a multiple of any kernel tile), and compares every logit with ref's.
 *
 *   test_kernel_paths MODEL
 *
 * Prints "N passed, N failed"; exits non-zero on any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ibert.h"

#include "kernels/hwcap.h"

#if defined(__aarch64__)
static int has_hwcap(unsigned long bits) { return (getauxval(AT_HWCAP) & bits) == bits; }
static int has_neon(void) { return has_hwcap(HWCAP_ASIMD); }
static int has_dotprod(void) { return has_hwcap(HWCAP_ASIMD | HWCAP_ASIMDDP); }
static int has_i8mm(void) { return has_neon() && (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0; }
#elif defined(__arm__)
static int has_neon(void) { return (getauxval(AT_HWCAP) & HWCAP_NEON) != 0; }
#elif defined(__x86_64__)
static int has_avx2(void) { return __builtin_cpu_supports("avx2"); }
static int has_avx512vnni(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512vnni");
}
#endif

#define MAX_TOKENS 128
#define MAX_OUTPUTS 64

/* The paths after ref, each with the check of the CPU features it needs. */
static const struct {
    const char *name;
    int (*supported)(void);
} PATHS[] = {
#if defined(__aarch64__)
    {"neon", has_neon},
    {"dotprod", has_dotprod},
    {"i8mm", has_i8mm},
#elif defined(__arm__)
    {"neon", has_neon},
#elif defined(__x86_64__)
    {"avx2", has_avx2},
    {"avx512vnni", has_avx512vnni},
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

/* The logits of TEXTS[t] on the kernel path `kernels`: the model is loaded for it,
 * since loading chooses the kernels (and packs the weights for them). */
static size_t run(const char *path, const char *kernels, size_t t, int32_t *out, size_t *n_tokens) {
    setenv("IBERT_KERNELS", kernels, 1);
    ibert_model *model = NULL;
    if (ibert_model_load_file(path, &model) != IBERT_OK) die(path);
    if (strcmp(ibert_model_kernels(model), kernels) != 0) {
        fprintf(stderr, "IBERT_KERNELS=%s loaded the kernel set %s\n", kernels, ibert_model_kernels(model));
        exit(2);
    }
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
    ibert_model_free(model);
    return n_out;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_kernel_paths MODEL\n");
        return 2;
    }
    size_t usable = 0;
    for (size_t p = 0; p < N_PATHS; p++) usable += PATHS[p].supported() != 0;
    if (usable == 0) {
        /* an x86-64 CPU without AVX2 or a 32-bit ARM CPU without NEON: ref is the only
         * path (test_kernels checks that kernels_select picks it) */
        printf("no kernel set but ref runs on this CPU: nothing to compare\n");
        return 0;
    }
    long passed = 0, failed = 0;
    for (size_t t = 0; t < N_TEXTS; t++) {
        int32_t want[MAX_OUTPUTS], got[MAX_OUTPUTS];
        size_t n_tokens = 0;
        const size_t n_out = run(argv[1], "ref", t, want, &n_tokens);
        for (size_t p = 0; p < N_PATHS; p++) {
            if (!PATHS[p].supported()) continue;
            run(argv[1], PATHS[p].name, t, got, &n_tokens);
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
    printf("%ld passed, %ld failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
