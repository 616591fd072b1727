/* train/grad/x86/avx512/grad_avx512.c — AVX-512F instantiation of the backward fast paths
 * (train/grad/grad_simd.inc): 16 lanes, GEMM microkernel 4 x 32. */
#include <immintrin.h>

#define GR_ISA avx512
#define GR_NAME "avx512"
#define VL 16
#define GR_MR 8
#define V __m512
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps(p, v)
#define VMASK(n) ((__mmask16)((1u << (n)) - 1u))
#define VLOAD_N(p, n) _mm512_maskz_loadu_ps(VMASK(n), p)
#define VSTORE_N(p, v, n) _mm512_mask_storeu_ps(p, VMASK(n), v)
#define VSET1(x) _mm512_set1_ps(x)
#define VZERO() _mm512_setzero_ps()
#define VADD(a, b) _mm512_add_ps(a, b)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)

#include "train/grad/grad_simd.inc"
