/* tests/nn/test_kernels_eltwise.c — nn_eltwise_f32: the reference against the scalar expressions
 * (hand values incl. NaN, inf, -0), and every ISA path bit for bit against the reference on random
 * data with special values mixed in, all ops, broadcast modes, clamp on/off, lengths 0..70 and a
 * long run, in place. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "core/cpu.h"
#include "nn/kernels/kernels.h"
#include "nn/kernels/kernels_internal.h"

typedef void (*ew_fn)(nn_ew_op, const float *, int, const float *, int, float *, size_t, int, float, float);

TEST(eltwise_ref_hand_values) {
    const float a[6] = {1.0f, -2.0f, NAN, 3.0f, -0.0f, INFINITY}, b[6] = {2.0f, 0.5f, 1.0f, NAN, 0.0f, -1.0f};
    float y[6];
    nn_eltwise_f32_ref(NN_EW_MAX, a, 1, b, 1, y, 6, 0, 0, 0);
    CHECK(y[0] == 2.0f && y[1] == 0.5f && isnan(y[2]) && isnan(y[3]) && y[5] == INFINITY);
    nn_eltwise_f32_ref(NN_EW_MIN, a, 1, b, 1, y, 6, 0, 0, 0);
    CHECK(y[0] == 1.0f && y[1] == -2.0f && isnan(y[2]) && isnan(y[3]) && y[5] == -1.0f);
    nn_eltwise_f32_ref(NN_EW_PRELU, a, 1, b, 0, y, 6, 0, 0, 0); /* slope 2 broadcast */
    CHECK(y[0] == 1.0f && y[1] == -4.0f && isnan(y[2]) && y[3] == 3.0f && y[5] == INFINITY);
    CHECK(signbit(y[4])); /* -0 is not < 0: passes through */
    nn_eltwise_f32_ref(NN_EW_ADD, a, 1, b, 1, y, 6, 1, 0.0f, 6.0f); /* RELU6 */
    CHECK(y[0] == 3.0f && y[1] == 0.0f && isnan(y[2]) && isnan(y[3]) && y[5] == 6.0f);
    nn_eltwise_f32_ref(NN_EW_DIV, a, 0, b, 1, y, 2, 0, 0, 0); /* a broadcast */
    CHECK(y[0] == 0.5f && y[1] == 2.0f);
}

static unsigned ew_seed = 4242u;
static float ew_rand(void) {
    ew_seed = ew_seed * 1664525u + 1013904223u;
    unsigned r = ew_seed >> 8;
    switch (r % 29) { /* sprinkle special values */
    case 0: return NAN;
    case 1: return INFINITY;
    case 2: return -INFINITY;
    case 3: return -0.0f;
    case 4: return 0.0f;
    default: return ((float)(r & 0xffff) / 32768.0f - 1.0f) * 8.0f;
    }
}

static int same_bits(float x, float y) {
    if (isnan(x) && isnan(y)) return 1;
    uint32_t a, b;
    memcpy(&a, &x, 4);
    memcpy(&b, &y, 4);
    return a == b;
}

static void ew_suite(const char *isa, ew_fn fn) {
    enum { N = 1000 };
    float *a = malloc(N * 4), *b = malloc(N * 4), *y = malloc(N * 4), *want = malloc(N * 4);
    for (int op = NN_EW_ADD; op <= NN_EW_PRELU; op++)
        for (int mode = 0; mode < 3; mode++)
            for (int clamp = 0; clamp < 2; clamp++)
                for (size_t n = 0; n <= 70 || n == N; n = n == 70 ? N : n + 1) {
                    int sa = mode != 1, sb = mode != 2;
                    for (int i = 0; i < N; i++) a[i] = ew_rand(), b[i] = ew_rand();
                    float lo = clamp ? -1.5f : 0, hi = clamp ? 2.25f : 0;
                    nn_eltwise_f32_ref((nn_ew_op)op, a, sa, b, sb, want, n, clamp, lo, hi);
                    memset(y, 0xab, N * 4);
                    fn((nn_ew_op)op, a, sa, b, sb, y, n, clamp, lo, hi);
                    for (size_t i = 0; i < n; i++)
                        if (!same_bits(y[i], want[i])) {
                            fs_test_fail(__FILE__, __LINE__, "%s op %d mode %d clamp %d n %zu: y[%zu] = %g, want %g (a %g b %g)",
                                         isa, op, mode, clamp, n, i, y[i], want[i], a[sa ? i : 0], b[sb ? i : 0]);
                            goto out;
                        }
                    CHECK_MSG(n == N || same_bits(y[n], (union { uint32_t u; float f; }){0xabababab}.f),
                              "%s wrote past n = %zu", isa, n);
                    /* in place: y aliases a */
                    if (sa && n) {
                        memcpy(y, a, n * 4);
                        fn((nn_ew_op)op, y, 1, b, sb, y, n, clamp, lo, hi);
                        for (size_t i = 0; i < n; i++)
                            CHECK_MSG(same_bits(y[i], want[i]), "%s in place op %d n %zu i %zu", isa, op, n, i);
                    }
                }
out:
    free(a); free(b); free(y); free(want);
}

TEST(eltwise_dispatch_vs_ref) { ew_suite("dispatch", nn_eltwise_f32); }
TEST(eltwise_generic_vs_ref) { ew_suite("generic", nn_eltwise_f32_generic); }

#if defined(__x86_64__)
TEST(eltwise_avx512_vs_ref) {
    if (!(fs_cpu_features() & FS_CPU_AVX512)) SKIP("no AVX-512 (or FS_CPU caps it)");
    ew_suite("avx512", nn_eltwise_f32_avx512);
}
TEST(eltwise_avx2_vs_ref) {
    if (!(fs_cpu_features() & FS_CPU_AVX2)) SKIP("no AVX2+FMA (or FS_CPU caps it)");
    ew_suite("avx2", nn_eltwise_f32_avx2);
}
#endif
#if defined(__aarch64__)
TEST(eltwise_neon_vs_ref) {
    if (!(fs_cpu_features() & FS_CPU_NEON)) SKIP("FS_CPU=portable caps NEON");
    ew_suite("neon", nn_eltwise_f32_neon);
}
#endif
