/* nn/kernels/ref_eltwise.c — portable element-wise binary op (the contract in kernels.h) and its
 * dispatcher. */
#include <math.h>

#include "core/cpu.h"
#include "nn/kernels/kernels.h"
#include "nn/kernels/kernels_internal.h"

static float ew_scalar(nn_ew_op op, float x, float y) {
    switch (op) {
    case NN_EW_ADD: return x + y;
    case NN_EW_SUB: return x - y;
    case NN_EW_MUL: return x * y;
    case NN_EW_DIV: return x / y;
    case NN_EW_MAX: return x > y || isnan(x) ? x : y;
    case NN_EW_MIN: return x < y || isnan(x) ? x : y;
    case NN_EW_PRELU: return x < 0 ? x * y : x;
    }
    return x;
}

void nn_eltwise_f32_ref(nn_ew_op op, const float *a, int sa, const float *b, int sb, float *y, size_t n,
                        int clamp, float lo, float hi) {
    for (size_t i = 0; i < n; i++) {
        float v = ew_scalar(op, a[sa ? i : 0], b[sb ? i : 0]);
        if (clamp) {
            v = lo > v ? lo : v;
            v = hi < v ? hi : v;
        }
        y[i] = v;
    }
}

void nn_eltwise_f32(nn_ew_op op, const float *a, int sa, const float *b, int sb, float *y, size_t n,
                    int clamp, float lo, float hi) {
    int f = fs_cpu_features();
    (void)f;
#if defined(__x86_64__)
    if (f & FS_CPU_AVX512) { nn_eltwise_f32_avx512(op, a, sa, b, sb, y, n, clamp, lo, hi); return; }
    if (f & FS_CPU_AVX2) { nn_eltwise_f32_avx2(op, a, sa, b, sb, y, n, clamp, lo, hi); return; }
#elif defined(__aarch64__)
    if (f & FS_CPU_NEON) { nn_eltwise_f32_neon(op, a, sa, b, sb, y, n, clamp, lo, hi); return; }
#endif
    nn_eltwise_f32_generic(op, a, sa, b, sb, y, n, clamp, lo, hi);
}
