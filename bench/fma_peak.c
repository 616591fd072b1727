/* bench/fma_peak.c — single-core float32 FMA peak (AVX-512, 24 independent accumulators): the
 * roofline the kernel GFLOP/s in bench/kernels_mnv2 are compared against.
 *   cc -O2 -mavx512f -mfma bench/fma_peak.c -o build/fma_peak && ./build/fma_peak */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

int main(void) {
    __m512 a[24];
    for (int i = 0; i < 24; i++) a[i] = _mm512_set1_ps((float)i * 0.001f);
    const __m512 b = _mm512_set1_ps(0.9999f), c = _mm512_set1_ps(0.0001f);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const long n = 200000000 / 24;
    for (long k = 0; k < n; k++) {
#pragma GCC unroll 24
        for (int i = 0; i < 24; i++) a[i] = _mm512_fmadd_ps(a[i], b, c);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    float sum = 0;
    for (int i = 0; i < 24; i++) sum += _mm512_reduce_add_ps(a[i]);
    printf("%.1f GFLOP/s (checksum %g)\n", (double)n * 24 * 32 / s / 1e9, sum);
    return 0;
}
