/* nn/kernels/x86/avx2/conv_avx2.c — AVX2+FMA instantiation of the x86 conv / FC fast paths
 * (nn/kernels/conv_simd.inc): 8 lanes, microkernels 8x8, 6x16, 4x24, 3x32 (rows x output channels). */
#include <immintrin.h>

static inline __m256i kx_avx2_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

#define KX_ISA avx2
#define KX_NAME(s) s "avx2"
#define VL 8
#define V __m256
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps(p, v)
#define VLOAD_N(p, n) _mm256_maskload_ps(p, kx_avx2_mask(n))
#define VSTORE_N(p, v, n) _mm256_maskstore_ps(p, kx_avx2_mask(n), v)
#define VSET1(x) _mm256_set1_ps(x)
#define VZERO() _mm256_setzero_ps()
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VMAX(a, b) _mm256_max_ps(a, b)
#define VMIN(a, b) _mm256_min_ps(a, b)
#define MR_NV1 8
#define MR_NV2 6
#define MR_NV3 4
#define MR_NV4 3

#include "nn/kernels/conv_simd.inc"

#define VADD(a, b) _mm256_add_ps(a, b)
#define VSUB(a, b) _mm256_sub_ps(a, b)
#define VMUL(a, b) _mm256_mul_ps(a, b)
#define VDIV(a, b) _mm256_div_ps(a, b)
#define VSEL_GT(a, b, x, y) _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_GT_OQ))
#define VSEL_LT(a, b, x, y) _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_LT_OQ))
#define VSEL_NAN(a, x, y) _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, a, _CMP_UNORD_Q))
#include "nn/kernels/eltwise_simd.inc"
#include "nn/kernels/pool_simd.inc"
