/* nn/kernels/x86/avx512/conv_avx512.c — AVX-512F instantiation of the x86 conv / FC fast paths
 * (nn/kernels/conv_simd.inc): 16 lanes, microkernels 12x16, 14x32, 8x48, 6x64 (rows x output channels). */
#include <immintrin.h>

#define KX_ISA avx512
#define KX_NAME(s) s "avx512"
#define VL 16
#define V __m512
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps(p, v)
#define VMASK(n) ((__mmask16)((1u << (n)) - 1u))
#define VLOAD_N(p, n) _mm512_maskz_loadu_ps(VMASK(n), p)
#define VSTORE_N(p, v, n) _mm512_mask_storeu_ps(p, VMASK(n), v)
#define VSET1(x) _mm512_set1_ps(x)
#define VZERO() _mm512_setzero_ps()
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VMAX(a, b) _mm512_max_ps(a, b)
#define VMIN(a, b) _mm512_min_ps(a, b)
#define MR_NV1 12
#define MR_NV2 14
#define MR_NV3 8
#define MR_NV4 6

#include "nn/kernels/conv_simd.inc"

#define VADD(a, b) _mm512_add_ps(a, b)
#define VSUB(a, b) _mm512_sub_ps(a, b)
#define VMUL(a, b) _mm512_mul_ps(a, b)
#define VDIV(a, b) _mm512_div_ps(a, b)
#define VSEL_GT(a, b, x, y) _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ), y, x)
#define VSEL_LT(a, b, x, y) _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), y, x)
#define VSEL_NAN(a, x, y) _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), y, x)
#include "nn/kernels/eltwise_simd.inc"
#include "nn/kernels/pool_simd.inc"
