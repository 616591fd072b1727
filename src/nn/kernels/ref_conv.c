/* nn/kernels/ref_conv.c — portable reference 2-D convolution (NHWC activations, OHWI weights).
 *
 * Any groups / stride / dilation / padding; fused bias + clamp. One output pixel at a time, plain
 * loops, so it is the ground truth every fast path is tested against. */
#include "nn/kernels/kernels.h"
#include "nn/kernels/kernels_internal.h"

/* Output rows [r0, r1) where a row is one (batch, oy) pair: out[b][oy][*][*]. */
void nn_conv2d_ref_rows(const nn_conv_params *p, const float *in, const float *w, const float *bias,
                        float *out, int r0, int r1) {
    const int g_ic = p->ic / p->groups, g_oc = p->oc / p->groups;
    for (int r = r0; r < r1; r++) {
        const int b = r / p->oh, oy = r % p->oh;
        const float *inb = in + (size_t)b * p->ih * p->iw * p->ic;
        for (int ox = 0; ox < p->ow; ox++) {
            float *o = out + (((size_t)b * p->oh + oy) * p->ow + ox) * p->oc;
            for (int oc = 0; oc < p->oc; oc++) {
                const int g = oc / g_oc;
                const float *wo = w + (size_t)oc * p->kh * p->kw * g_ic;
                float acc = bias ? bias[oc] : 0.0f;
                for (int ky = 0; ky < p->kh; ky++) {
                    const int iy = oy * p->sh - p->pad_t + ky * p->dh;
                    if (iy < 0 || iy >= p->ih) continue;
                    for (int kx = 0; kx < p->kw; kx++) {
                        const int ix = ox * p->sw - p->pad_l + kx * p->dw;
                        if (ix < 0 || ix >= p->iw) continue;
                        const float *x = inb + ((size_t)iy * p->iw + ix) * p->ic + (size_t)g * g_ic;
                        const float *wk = wo + ((size_t)ky * p->kw + kx) * g_ic;
                        for (int c = 0; c < g_ic; c++) acc += x[c] * wk[c];
                    }
                }
                o[oc] = nn_clampf(acc, p->act_min, p->act_max);
            }
        }
    }
}

void nn_conv2d_ref(const nn_conv_params *p, const float *in, const float *w, const float *bias,
                   float *out) {
    nn_conv2d_ref_rows(p, in, w, bias, out, 0, p->n * p->oh);
}
