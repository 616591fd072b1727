/* train/grad/x86/avx2/grad_avx2.c — AVX2+FMA instantiation of the backward fast paths
 * (train/grad/grad_simd.inc): 8 lanes, GEMM microkernel 4 x 16. */
#include <immintrin.h>

static inline __m256i gr_avx2_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

#define GR_ISA avx2
#define GR_NAME "avx2"
#define VL 8
#define GR_MR 6
#define V __m256
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps(p, v)
#define VLOAD_N(p, n) _mm256_maskload_ps(p, gr_avx2_mask(n))
#define VSTORE_N(p, v, n) _mm256_maskstore_ps(p, gr_avx2_mask(n), v)
#define VSET1(x) _mm256_set1_ps(x)
#define VZERO() _mm256_setzero_ps()
#define VADD(a, b) _mm256_add_ps(a, b)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)

#include "train/grad/grad_simd.inc"
