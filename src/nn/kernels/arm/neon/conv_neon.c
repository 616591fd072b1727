/* nn/kernels/arm/neon/conv_neon.c — NEON (aarch64) instantiation of the SIMD conv / FC fast paths
 * (nn/kernels/conv_simd.inc): 4 lanes, microkernels 12x4, 12x8, 8x12, 6x16 (rows x output
 * channels); only compiled on aarch64, where NEON is always present. */
#include <arm_neon.h>

static inline float32x4_t kx_neon_load_n(const float *p, int n) {
    float t[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; i++) t[i] = p[i];
    return vld1q_f32(t);
}

static inline void kx_neon_store_n(float *p, float32x4_t v, int n) {
    float t[4];
    vst1q_f32(t, v);
    for (int i = 0; i < n; i++) p[i] = t[i];
}

#define KX_ISA neon
#define KX_NAME(s) s "neon"
#define VL 4
#define V float32x4_t
#define VLOAD(p) vld1q_f32(p)
#define VSTORE(p, v) vst1q_f32(p, v)
#define VLOAD_N(p, n) kx_neon_load_n(p, n)
#define VSTORE_N(p, v, n) kx_neon_store_n(p, v, n)
#define VSET1(x) vdupq_n_f32(x)
#define VZERO() vdupq_n_f32(0.0f)
#define VFMA(a, b, c) vfmaq_f32(c, a, b)
#define VMAX(a, b) vmaxq_f32(a, b)
#define VMIN(a, b) vminq_f32(a, b)
#define MR_NV1 12
#define MR_NV2 12
#define MR_NV3 8
#define MR_NV4 6

#include "nn/kernels/conv_simd.inc"

#define VADD(a, b) vaddq_f32(a, b)
#define VSUB(a, b) vsubq_f32(a, b)
#define VMUL(a, b) vmulq_f32(a, b)
#define VDIV(a, b) vdivq_f32(a, b)
#define VSEL_GT(a, b, x, y) vbslq_f32(vcgtq_f32(a, b), x, y)
#define VSEL_LT(a, b, x, y) vbslq_f32(vcltq_f32(a, b), x, y)
#define VSEL_NAN(a, x, y) vbslq_f32(vmvnq_u32(vceqq_f32(a, a)), x, y)
#include "nn/kernels/eltwise_simd.inc"
#include "nn/kernels/pool_simd.inc"
