/* nn/kernels/ref_pool.c — portable reference max / average pooling (NHWC).
 *
 * Padded cells never win a max; an average divides by the window cells inside the input, or by
 * kh*kw when count_include_pad. A window wholly in the padding gives 0.
 * Loops run channels innermost (contiguous in NHWC) so compilers vectorise them; the window's
 * valid range is clipped once per output pixel instead of testing every tap. */
#include <float.h>
#include <string.h>

#include "core/cpu.h"
#include "nn/kernels/kernels.h"
#include "nn/kernels/kernels_internal.h"

static int pool_lo(int start) { return start < 0 ? -start : 0; }
static int pool_hi(int start, int k, int n) { return start + k > n ? n - start : k; }

void nn_pool_ref_rows(const nn_pool_params *p, const float *in, float *out, int is_max, int r0,
                      int r1) {
    const int C = p->c;
    for (int r = r0; r < r1; r++) {
        const int b = r / p->oh, oy = r % p->oh;
        const float *inb = in + (size_t)b * p->ih * p->iw * C;
        const int y0 = oy * p->sh - p->pad_t, ky0 = pool_lo(y0), ky1 = pool_hi(y0, p->kh, p->ih);
        for (int ox = 0; ox < p->ow; ox++) {
            const int x0 = ox * p->sw - p->pad_l, kx0 = pool_lo(x0), kx1 = pool_hi(x0, p->kw, p->iw);
            float *o = out + (((size_t)b * p->oh + oy) * p->ow + ox) * C;
            const int cnt = ky1 > ky0 && kx1 > kx0 ? (ky1 - ky0) * (kx1 - kx0) : 0;
            const float init = is_max && cnt ? -FLT_MAX : 0.0f;
            for (int c = 0; c < C; c++) o[c] = init;
            for (int ky = ky0; ky < ky1 && cnt; ky++)
                for (int kx = kx0; kx < kx1; kx++) {
                    const float *x = inb + ((size_t)(y0 + ky) * p->iw + (x0 + kx)) * C;
                    if (is_max)
                        for (int c = 0; c < C; c++) o[c] = x[c] > o[c] ? x[c] : o[c];
                    else
                        for (int c = 0; c < C; c++) o[c] += x[c];
                }
            if (!is_max && cnt) {
                const float den = (float)(p->count_include_pad ? p->kh * p->kw : cnt);
                for (int c = 0; c < C; c++) o[c] /= den;
            }
        }
    }
}

void nn_maxpool_ref(const nn_pool_params *p, const float *in, float *out) {
    nn_pool_ref_rows(p, in, out, 1, 0, p->n * p->oh);
}

void nn_avgpool_ref(const nn_pool_params *p, const float *in, float *out) {
    nn_pool_ref_rows(p, in, out, 0, 0, p->n * p->oh);
}

void nn_pool2d(const nn_pool_params *p, const float *in, float *out, int is_max, struct fs_pool *pool) {
    int f = fs_cpu_features();
    (void)f;
#if defined(__x86_64__)
    if (f & FS_CPU_AVX512) { nn_pool2d_avx512(p, in, out, is_max, pool); return; }
    if (f & FS_CPU_AVX2) { nn_pool2d_avx2(p, in, out, is_max, pool); return; }
#elif defined(__aarch64__)
    if (f & FS_CPU_NEON) { nn_pool2d_neon(p, in, out, is_max, pool); return; }
#endif
    nn_pool2d_generic(p, in, out, is_max, pool);
}

const char *nn_pool2d_name(int is_max) {
    const char *lvl = fs_cpu_level_name(); /* "avx512", "avx2", "neon" or "portable" (generic path) */
    if (!strcmp(lvl, "avx512")) return is_max ? "maxpool_avx512" : "avgpool_avx512";
    if (!strcmp(lvl, "avx2")) return is_max ? "maxpool_avx2" : "avgpool_avx2";
    if (!strcmp(lvl, "neon")) return is_max ? "maxpool_neon" : "avgpool_neon";
    return is_max ? "maxpool_generic" : "avgpool_generic";
}
