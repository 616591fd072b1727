/* detect/haar_image.c — the detector's image pyramid level: OpenCV-exact resize and integrals.
 *
 * Resize is cv::resize(INTER_LINEAR_EXACT) for 8-bit one-channel images as OpenCV 4.6 computes it
 * (imgproc/src/resize.cpp, resize_bitExact with interpolationLinear and ufixedpoint16):
 *   source coordinate  f = (1/inv_scale) * (d + 0.5) - 0.5   in IEEE double,
 *   i = floor(f), c1 = round_half_even((f - i) * 256), c0 = 256 - c1   (8 fractional bits),
 *   horizontal pass    h = c0*p[i] + c1*p[i+1]                 (uint16, 8 fractional bits),
 *   vertical pass      v = (h0*c0 + h1*c1 + 2^15) >> 16        (uint8),
 * with edge pixels replicated (f < 0: first pixel, i >= size-1: last pixel, each as value << 8) and
 * rows outside [min_y, max_y) taken as (h + 128) >> 8 of the first/last row. Same-size resize is a
 * copy, as in cv::resize. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect/haar_internal.h"

typedef struct { int ofs; uint16_t c0, c1; } lin_coef;

/* interpolationLinear::getCoeffs for dst indices [0, dn); returns min/max valid index range */
static void lin_coeffs(int sn, int dn, lin_coef *co, int *dmin, int *dmax) {
    double inv_scale = (double)dn / sn;
    double scale = 1.0 / inv_scale;
    int mn = 0, mx = dn;
    for (int d = 0; d < dn; d++) {
        double f = scale * ((double)d + 0.5) - 0.5;
        int i = (int)floor(f);
        co[d].ofs = 0; co[d].c0 = 256; co[d].c1 = 0;
        if (i >= 0 && sn > 1) {
            if (i < sn - 1) {
                double c1 = nearbyint((f - (double)i) * 256.0); /* round half to even, like cvRound(softdouble) */
                co[d].ofs = i;
                co[d].c1 = (uint16_t)c1;
                co[d].c0 = (uint16_t)(256 - co[d].c1);
            } else {
                co[d].ofs = sn - 1;
                if (d < mx) mx = d;
            }
        } else {
            if (d + 1 > mn) mn = d + 1;
        }
    }
    *dmin = mn;
    *dmax = mx;
}

static void hline(const uint8_t *src, const lin_coef *cx, int xmin, int xmax, int dw, uint16_t *out) {
    int x = 0;
    uint16_t first = (uint16_t)(src[0] << 8);
    for (; x < xmin; x++) out[x] = first;
    for (; x < xmax; x++) {
        const uint8_t *p = src + cx[x].ofs;
        out[x] = (uint16_t)(cx[x].c0 * p[0] + cx[x].c1 * p[1]);
    }
    uint16_t last = (uint16_t)(src[cx[dw - 1].ofs] << 8);
    for (; x < dw; x++) out[x] = last;
}

int haar_resize_linear_exact_rows(const uint8_t *src, int sw, int sh, int sstride,
                                  uint8_t *dst, int dw, int dh, int r0, int r1) {
    if (sw == dw && sh == dh) {
        for (int y = r0; y < r1; y++) memcpy(dst + (size_t)(y - r0) * dw, src + (size_t)y * sstride, (size_t)dw);
        return 0;
    }
    lin_coef *cx = malloc(sizeof *cx * (size_t)(dw + dh));
    uint16_t *lines = malloc(sizeof *lines * (size_t)dw * 3);
    if (!cx || !lines) { free(cx); free(lines); return -1; }
    lin_coef *cy = cx + dw;
    int xmin, xmax, ymin, ymax;
    lin_coeffs(sw, dw, cx, &xmin, &xmax);
    lin_coeffs(sh, dh, cy, &ymin, &ymax);
    uint16_t *l0 = lines, *l1 = lines + dw, *tmp = lines + 2 * dw;
    int have0 = -1, have1 = -1, have_tmp = -1; /* source rows held in l0 / l1 / tmp */
    for (int y = r0; y < r1; y++) {
        uint8_t *d = dst + (size_t)(y - r0) * dw;
        if (y < ymin || y >= ymax) { /* above / below the interpolated range: a replicated edge row */
            int r = y < ymin ? 0 : sh - 1;
            if (have_tmp != r) { hline(src + (size_t)r * sstride, cx, xmin, xmax, dw, tmp); have_tmp = r; }
            for (int x = 0; x < dw; x++) d[x] = (uint8_t)((tmp[x] + 128) >> 8);
            continue;
        }
        int ra = cy[y].ofs, rb = ra + 1;
        if (have0 != ra) {
            if (have1 == ra) { uint16_t *t = l0; l0 = l1; l1 = t; have0 = ra; have1 = -1; }
            else { hline(src + (size_t)ra * sstride, cx, xmin, xmax, dw, l0); have0 = ra; }
        }
        if (have1 != rb) { hline(src + (size_t)rb * sstride, cx, xmin, xmax, dw, l1); have1 = rb; }
        uint32_t c0 = cy[y].c0, c1 = cy[y].c1;
        for (int x = 0; x < dw; x++) {
            uint32_t v = ((uint32_t)l0[x] * c0 + (uint32_t)l1[x] * c1 + (1u << 15)) >> 16;
            d[x] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
    free(cx);
    free(lines);
    return 0;
}

int haar_resize_linear_exact(const uint8_t *src, int sw, int sh, int sstride, uint8_t *dst, int dw, int dh) {
    return haar_resize_linear_exact_rows(src, sw, sh, sstride, dst, dw, dh, 0, dh);
}

/* Integrals. sum/sqsum follow cv::integral (first row and column zero); arithmetic is done in
 * uint32 so that overflow of the squared sum wraps exactly like OpenCV's int32 buffer. The tilted
 * sum is OpenCV's  T(X,Y) = sum{ I(x,y) : y < Y, |x - X + 1| <= Y - y - 1 }, computed as
 * A - B with two diagonal prefix accumulators:
 *   A(X,Y) = sum_{y<Y} P_y(X + Y - 2 - y)    (P_y(c) = sum of row y up to column c, clipped)
 *   B(X,Y) = sum_{y<Y} P_y(X - Y - 1 + y)
 * A depends on u = X + Y - 2 only through its row range, B on v = X - Y - 1, so each is one array
 * over the diagonal index updated once per row. */
void haar_integral(const uint8_t *img, int w, int h, int istride, int step,
                   int32_t *sum, int32_t *sqsum, int32_t *tilted, uint32_t *scratch) {
    uint32_t *S = (uint32_t *)sum, *Q = (uint32_t *)sqsum;
    memset(S, 0, sizeof *S * (size_t)(w + 1));
    memset(Q, 0, sizeof *Q * (size_t)(w + 1));
    for (int y = 0; y < h; y++) {
        const uint8_t *p = img + (size_t)y * istride;
        uint32_t *s1 = S + (size_t)(y + 1) * step, *s0 = S + (size_t)y * step;
        uint32_t *q1 = Q + (size_t)(y + 1) * step, *q0 = Q + (size_t)y * step;
        uint32_t rs = 0, rq = 0;
        s1[0] = 0; q1[0] = 0;
        for (int x = 0; x < w; x++) {
            uint32_t v = p[x];
            rs += v; rq += v * v;
            s1[x + 1] = s0[x + 1] + rs;
            q1[x + 1] = q0[x + 1] + rq;
        }
    }
    if (!tilted) return;
    /* A over u in [-1, w + h]: index u + 1;  B over v in [-h - 1, w]: index v + h + 1 */
    int na = w + h + 2, nb = w + h + 2;
    uint32_t *A = scratch, *B = scratch + na;
    uint32_t *T = (uint32_t *)tilted;
    memset(A, 0, sizeof *A * (size_t)na);
    memset(B, 0, sizeof *B * (size_t)nb);
    memset(T, 0, sizeof *T * (size_t)(w + 1));
    /* row prefix of the current source row: P(c) = S(y+1, c+1) - S(y, c+1), clipped */
    for (int Y = 1; Y <= h; Y++) {
        int y = Y - 1;
        const uint32_t *s1 = S + (size_t)Y * step, *s0 = S + (size_t)y * step;
        uint32_t full = s1[w] - s0[w];
        /* add row y to A: A(u) += P_y(u - y) for u in [-1, w+h] */
        for (int u = -1; u <= w + h; u++) {
            int c = u - y;
            uint32_t pv = c < 0 ? 0 : c >= w ? full : s1[c + 1] - s0[c + 1];
            A[u + 1] += pv;
        }
        /* add row y to B: B(v) += P_y(v + y) for v in [-h-1, w] */
        for (int v = -h - 1; v <= w; v++) {
            int c = v + y;
            uint32_t pv = c < 0 ? 0 : c >= w ? full : s1[c + 1] - s0[c + 1];
            B[v + h + 1] += pv;
        }
        uint32_t *t = T + (size_t)Y * step;
        for (int X = 0; X <= w; X++) {
            int u = X + Y - 2, v = X - Y - 1;
            t[X] = A[u + 1] - B[v + h + 1];
        }
    }
}
