/* nn/kernels/ref_pool.c — portable reference max / average pooling (NHWC).
 *
 * Padded cells never win a max; an average divides by the window cells inside the input, or by
 * kh*kw when count_include_pad. A window wholly in the padding gives 0 (max: -inf never escapes). */
#include <float.h>

#include "nn/kernels/kernels.h"
#include "nn/kernels/kernels_internal.h"

void nn_pool_ref_rows(const nn_pool_params *p, const float *in, float *out, int is_max, int r0,
                      int r1) {
    for (int r = r0; r < r1; r++) {
        const int b = r / p->oh, oy = r % p->oh;
        const float *inb = in + (size_t)b * p->ih * p->iw * p->c;
        const int y0 = oy * p->sh - p->pad_t;
        for (int ox = 0; ox < p->ow; ox++) {
            const int x0 = ox * p->sw - p->pad_l;
            float *o = out + (((size_t)b * p->oh + oy) * p->ow + ox) * p->c;
            for (int c = 0; c < p->c; c++) {
                float acc = is_max ? -FLT_MAX : 0.0f;
                int cnt = 0;
                for (int ky = 0; ky < p->kh; ky++) {
                    const int iy = y0 + ky;
                    if (iy < 0 || iy >= p->ih) continue;
                    for (int kx = 0; kx < p->kw; kx++) {
                        const int ix = x0 + kx;
                        if (ix < 0 || ix >= p->iw) continue;
                        const float v = inb[((size_t)iy * p->iw + ix) * p->c + c];
                        if (is_max) acc = v > acc ? v : acc;
                        else acc += v;
                        cnt++;
                    }
                }
                if (!cnt) o[c] = 0.0f;
                else if (is_max) o[c] = acc;
                else o[c] = acc / (float)(p->count_include_pad ? p->kh * p->kw : cnt);
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
