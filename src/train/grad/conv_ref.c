/* train/grad/conv_ref.c — portable reference conv2d forward and backward (NHWC activations, OHWI
 * weights [Cout][KH][KW][Cin/groups]), any groups / stride / dilation / padding. Plain loops with
 * double accumulators: the oracle the fast paths and the finite-difference checks are tested with.
 *
 * Index relation used by all three:  iy = oy*sh - pt + ky*dh,  ix = ox*sw - pl + kx*dw
 * (positions outside [0,h) x [0,w) are zero padding). */
#include "train/grad/grad.h"

#include <string.h>

/* y[n][oh][ow][cout] = sum_{ky,kx,c} x[n][iy][ix][g*gci + c] * w[oc][ky][kx][c] + b[oc] */
void gr_conv2d_forward_ref(float *y, const float *x, const float *w, const float *b, const gr_conv_shape *s) {
    const int gci = s->cin / s->groups, gco = s->cout / s->groups;
    for (int n = 0; n < s->n; n++)
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++) {
                float *yo = y + (((size_t)n * s->oh + oy) * s->ow + ox) * s->cout;
                for (int oc = 0; oc < s->cout; oc++) {
                    const int g = oc / gco;
                    double acc = b ? b[oc] : 0.0;
                    for (int ky = 0; ky < s->kh; ky++) {
                        const int iy = oy * s->sh - s->pt + ky * s->dh;
                        if (iy < 0 || iy >= s->h) continue;
                        for (int kx = 0; kx < s->kw; kx++) {
                            const int ix = ox * s->sw - s->pl + kx * s->dw;
                            if (ix < 0 || ix >= s->w) continue;
                            const float *xp = x + (((size_t)n * s->h + iy) * s->w + ix) * s->cin + (size_t)g * gci;
                            const float *wp = w + (((size_t)oc * s->kh + ky) * s->kw + kx) * gci;
                            for (int c = 0; c < gci; c++) acc += (double)xp[c] * wp[c];
                        }
                    }
                    yo[oc] = (float)acc;
                }
            }
}

/* dx[n][iy][ix][ci] = sum over (ky,kx,oc in ci's group) with iy = oy*sh - pt + ky*dh for an integer
 * oy in [0,oh) (same for x) of dy[n][oy][ox][oc] * w[oc][ky][kx][ci - g*gci]. Gather form: each dx
 * element is written once (OVERWRITES). */
void gr_conv2d_backward_data_ref(float *dx, const float *dy, const float *w, const gr_conv_shape *s) {
    const int gci = s->cin / s->groups, gco = s->cout / s->groups;
    for (int n = 0; n < s->n; n++)
        for (int iy = 0; iy < s->h; iy++)
            for (int ix = 0; ix < s->w; ix++)
                for (int ci = 0; ci < s->cin; ci++) {
                    const int g = ci / gci, c = ci - g * gci;
                    double acc = 0.0;
                    for (int ky = 0; ky < s->kh; ky++) {
                        const int ty = iy + s->pt - ky * s->dh; /* = oy*sh */
                        if (ty < 0 || ty % s->sh) continue;
                        const int oy = ty / s->sh;
                        if (oy >= s->oh) continue;
                        for (int kx = 0; kx < s->kw; kx++) {
                            const int tx = ix + s->pl - kx * s->dw;
                            if (tx < 0 || tx % s->sw) continue;
                            const int ox = tx / s->sw;
                            if (ox >= s->ow) continue;
                            const float *d = dy + (((size_t)n * s->oh + oy) * s->ow + ox) * s->cout;
                            for (int oc = g * gco; oc < (g + 1) * gco; oc++)
                                acc += (double)d[oc] * w[(((size_t)oc * s->kh + ky) * s->kw + kx) * gci + c];
                        }
                    }
                    dx[(((size_t)n * s->h + iy) * s->w + ix) * s->cin + ci] = (float)acc;
                }
}

/* dw[oc][ky][kx][c] += sum_{n,oy,ox} dy[n][oy][ox][oc] * x[n][iy][ix][g*gci + c] (padding = 0);
 * db[oc] += sum_{n,oy,ox} dy[n][oy][ox][oc]. ACCUMULATES. */
void gr_conv2d_backward_weight_ref(float *dw, float *db, const float *dy, const float *x, const gr_conv_shape *s) {
    const int gci = s->cin / s->groups, gco = s->cout / s->groups;
    for (int oc = 0; oc < s->cout; oc++) {
        const int g = oc / gco;
        for (int ky = 0; ky < s->kh; ky++)
            for (int kx = 0; kx < s->kw; kx++)
                for (int c = 0; c < gci; c++) {
                    double acc = 0.0;
                    for (int n = 0; n < s->n; n++)
                        for (int oy = 0; oy < s->oh; oy++) {
                            const int iy = oy * s->sh - s->pt + ky * s->dh;
                            if (iy < 0 || iy >= s->h) continue;
                            for (int ox = 0; ox < s->ow; ox++) {
                                const int ix = ox * s->sw - s->pl + kx * s->dw;
                                if (ix < 0 || ix >= s->w) continue;
                                acc += (double)dy[(((size_t)n * s->oh + oy) * s->ow + ox) * s->cout + oc] *
                                       x[(((size_t)n * s->h + iy) * s->w + ix) * s->cin + (size_t)g * gci + c];
                            }
                        }
                    dw[(((size_t)oc * s->kh + ky) * s->kw + kx) * gci + c] += (float)acc;
                }
        if (db) {
            double acc = 0.0;
            const size_t m = (size_t)s->n * s->oh * s->ow;
            for (size_t i = 0; i < m; i++) acc += dy[i * s->cout + oc];
            db[oc] += (float)acc;
        }
    }
}
