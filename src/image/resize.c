/* image/resize.c — cv::resize for 8-bit images, INTER_LINEAR and INTER_AREA, reproducing
 * OpenCV 4.x's arithmetic (so outputs match cv2.resize, see tests/image/test_ops.c).
 *
 * Bilinear: source x for destination dx is (dx + 0.5) * sw/dw - 0.5 (float), clamped at the
 * borders; weights are rounded to 11 bits (2048). A horizontal pass gives int rows scaled by
 * 2048, the vertical pass combines two rows with 11-bit weights and OpenCV's 8-bit rounding.
 * Area: integer factors average the kx x ky block (2x2: (sum + 2) >> 2, else round(sum / area)); other downscales use
 * OpenCV's fractional-overlap tables and float accumulation; any upscaling axis falls back to
 * the bilinear path with OpenCV's "area mode" weights. An exact 2x bilinear downscale is the
 * 2x2 average, as in OpenCV. */
#include "image/img_internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define COEF_BITS 11
#define COEF_ONE (1 << COEF_BITS)

static int valid(const fs_image *img) {
    return img && img->data && img->width > 0 && img->height > 0 &&
           (img->channels == 1 || img->channels == 3) && img->stride >= img->width * img->channels;
}

static inline uint8_t sat_u8(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }
static inline int16_t sat_s16(int v) { return (int16_t)(v < -32768 ? -32768 : v > 32767 ? 32767 : v); }

/* Source index and 11-bit weights for each destination index along one axis.
 * clamp: bilinear x-axis clamping (sx < 0 -> 0, sx >= n-1 -> n-1 with weight 1). */
static void linear_tab(int dn, int sn, int area_mode, int clamp, int *ofs, int16_t *w) {
    double inv = (double)dn / sn, scale = 1.0 / inv;
    for (int d = 0; d < dn; d++) {
        float f;
        int s;
        if (!area_mode) {
            f = (float)((d + 0.5) * scale - 0.5);
            s = (int)floorf(f);
            f -= (float)s;
        } else {
            s = (int)floor(d * scale);
            f = (float)((d + 1) - (s + 1) * inv);
            f = f <= 0 ? 0.f : f - floorf(f);
        }
        if (clamp) {
            if (s < 0) { f = 0; s = 0; }
            if (s + 1 >= sn && s >= sn - 1) { f = 0; s = sn - 1; }
        }
        ofs[d] = s;
        w[2 * d] = sat_s16((int)lrintf((1.f - f) * COEF_ONE));
        w[2 * d + 1] = sat_s16((int)lrintf(f * COEF_ONE));
    }
}

/* One source row through the horizontal pass: out[dx*cn+k] (scaled by 2048). */
static void hres(const uint8_t *s, int sw, int cn, int dw, const int *xofs, const int16_t *a, int *out) {
    for (int dx = 0; dx < dw; dx++) {
        int sx = xofs[dx];
        int a0 = a[2 * dx], a1 = a[2 * dx + 1];
        const uint8_t *p = s + (size_t)sx * cn;
        if (sx + 1 < sw)
            for (int k = 0; k < cn; k++) out[dx * cn + k] = p[k] * a0 + p[k + cn] * a1;
        else
            for (int k = 0; k < cn; k++) out[dx * cn + k] = p[k] * COEF_ONE;
    }
}

/* OpenCV's vertical step for 8-bit (its vector code and its scalar tail agree):
 * ((S0 >> 4) * b0 >> 16) + ((S1 >> 4) * b1 >> 16), then (+2) >> 2. No overflow: S < 2^19, b <= 2^11. */
static inline uint8_t vres(int s0, int s1, int b0, int b1) {
    return sat_u8((((s0 >> 4) * b0 >> 16) + ((s1 >> 4) * b1 >> 16) + 2) >> 2);
}

static int clampi(int v, int n) { return v < 0 ? 0 : v >= n ? n - 1 : v; }

static fs_status resize_linear(const fs_image *src, fs_image *dst, int area_mode) {
    const int sw = src->width, sh = src->height, dw = dst->width, dh = dst->height, cn = src->channels;
    const int n = dw * cn;
    int *xofs = malloc(sizeof(int) * (size_t)dw), *yofs = malloc(sizeof(int) * (size_t)dh);
    int16_t *alpha = malloc(sizeof(int16_t) * 2 * (size_t)dw), *beta = malloc(sizeof(int16_t) * 2 * (size_t)dh);
    int *rows = malloc(sizeof(int) * 2 * (size_t)n);
    if (!xofs || !yofs || !alpha || !beta || !rows) {
        free(xofs); free(yofs); free(alpha); free(beta); free(rows);
        return fs_error(FS_ERR_NOMEM, "resize: out of memory");
    }
    linear_tab(dw, sw, area_mode, 1, xofs, alpha);
    linear_tab(dh, sh, area_mode, 0, yofs, beta);
    int have[2] = {-1, -1};
    for (int dy = 0; dy < dh; dy++) {
        int *r[2];
        for (int k = 0; k < 2; k++) {
            int sy = clampi(yofs[dy] + k, sh);
            r[k] = rows + (size_t)k * n;
            if (have[k] == sy) continue;
            if (have[1 - k] == sy) { memcpy(r[k], rows + (size_t)(1 - k) * n, sizeof(int) * (size_t)n); }
            else hres(src->data + (size_t)sy * src->stride, sw, cn, dw, xofs, alpha, r[k]);
            have[k] = sy;
        }
        int b0 = beta[2 * dy], b1 = beta[2 * dy + 1];
        uint8_t *d = dst->data + (size_t)dy * dst->stride;
        for (int x = 0; x < n; x++) d[x] = vres(r[0][x], r[1][x], b0, b1);
    }
    free(xofs); free(yofs); free(alpha); free(beta); free(rows);
    return FS_OK;
}

/* Integer-factor area (kx x ky blocks). */
static void resize_area_int(const fs_image *src, fs_image *dst, int kx, int ky) {
    const int cn = src->channels, area = kx * ky;
    const float scale = 1.f / (float)area;
    for (int dy = 0; dy < dst->height; dy++) {
        uint8_t *d = dst->data + (size_t)dy * dst->stride;
        for (int dx = 0; dx < dst->width; dx++)
            for (int k = 0; k < cn; k++) {
                int sum = 0;
                for (int j = 0; j < ky; j++) {
                    const uint8_t *s = src->data + (size_t)(dy * ky + j) * src->stride + (size_t)dx * kx * cn + k;
                    for (int i = 0; i < kx; i++) sum += s[i * cn];
                }
                d[dx * cn + k] = kx == 2 && ky == 2 ? (uint8_t)((sum + 2) >> 2) /* OpenCV's 2x2 vector path */
                                                    : sat_u8((int)lrintf((float)sum * scale));
            }
    }
}

typedef struct { int di, si; float alpha; } area_tab;

/* OpenCV's computeResizeAreaTab: fractional overlaps of source cells with each destination cell. */
static int area_table(int sn, int dn, double scale, area_tab *tab) {
    int k = 0;
    for (int d = 0; d < dn; d++) {
        double f1 = d * scale, f2 = f1 + scale;
        double cell = scale < sn - f1 ? scale : sn - f1;
        int s1 = (int)ceil(f1), s2 = (int)floor(f2);
        if (s2 > sn - 1) s2 = sn - 1;
        if (s1 > s2) s1 = s2;
        if (s1 - f1 > 1e-3) tab[k++] = (area_tab){d, s1 - 1, (float)((s1 - f1) / cell)};
        for (int s = s1; s < s2; s++) tab[k++] = (area_tab){d, s, (float)(1.0 / cell)};
        if (f2 - s2 > 1e-3) {
            double part = f2 - s2 < 1.0 ? f2 - s2 : 1.0;
            if (part > cell) part = cell;
            tab[k++] = (area_tab){d, s2, (float)(part / cell)};
        }
    }
    return k;
}

static fs_status resize_area_frac(const fs_image *src, fs_image *dst) {
    const int sw = src->width, sh = src->height, dw = dst->width, dh = dst->height, cn = src->channels;
    const int n = dw * cn;
    double sx = (double)sw / dw, sy = (double)sh / dh;
    area_tab *xt = malloc(sizeof *xt * ((size_t)sw * 3 + 4)), *yt = malloc(sizeof *yt * ((size_t)sh * 3 + 4));
    float *buf = malloc(sizeof(float) * (size_t)n), *sum = malloc(sizeof(float) * (size_t)n);
    if (!xt || !yt || !buf || !sum) {
        free(xt); free(yt); free(buf); free(sum);
        return fs_error(FS_ERR_NOMEM, "resize: out of memory");
    }
    int nx = area_table(sw, dw, sx, xt), ny = area_table(sh, dh, sy, yt);
    int prev = yt[0].di;
    for (int x = 0; x < n; x++) sum[x] = 0.f;
    for (int j = 0; j < ny; j++) {
        float beta = yt[j].alpha;
        int dy = yt[j].di;
        const uint8_t *s = src->data + (size_t)yt[j].si * src->stride;
        for (int x = 0; x < n; x++) buf[x] = 0.f;
        for (int k = 0; k < nx; k++) {
            float a = xt[k].alpha;
            int di = xt[k].di * cn, si = xt[k].si * cn;
            for (int c = 0; c < cn; c++) buf[di + c] += (float)s[si + c] * a;
        }
        if (dy != prev) {
            uint8_t *d = dst->data + (size_t)prev * dst->stride;
            for (int x = 0; x < n; x++) { d[x] = sat_u8((int)lrintf(sum[x])); sum[x] = beta * buf[x]; }
            prev = dy;
        } else {
            for (int x = 0; x < n; x++) sum[x] += beta * buf[x];
        }
    }
    uint8_t *d = dst->data + (size_t)prev * dst->stride;
    for (int x = 0; x < n; x++) d[x] = sat_u8((int)lrintf(sum[x]));
    free(xt); free(yt); free(buf); free(sum);
    return FS_OK;
}

/* OpenCV's "is_area_fast": both inverse scales are integers. */
static int int_factor(int sn, int dn, int *k) {
    double scale = 1.0 / ((double)dn / sn);
    int i = (int)lrint(scale);
    *k = i;
    return fabs(scale - i) < DBL_EPSILON && i >= 1;
}

fs_status fs_image_resize(const fs_image *src, int width, int height, fs_resize_mode mode, fs_image *dst) {
    if (!valid(src) || !dst || dst == src) return fs_error(FS_ERR_ARG, "resize: invalid image (or dst == src)");
    if (mode != FS_RESIZE_BILINEAR && mode != FS_RESIZE_AREA) return fs_error(FS_ERR_ARG, "resize: bad mode %d", (int)mode);
    if (width <= 0 || height <= 0) { memset(dst, 0, sizeof *dst); return fs_error(FS_ERR_ARG, "resize: bad size %dx%d", width, height); }
    fs_status st = fs_image_alloc(dst, width, height, src->channels);
    if (st) return st;
    if (width == src->width && height == src->height) {
        for (int y = 0; y < height; y++)
            memcpy(dst->data + (size_t)y * dst->stride, src->data + (size_t)y * src->stride, (size_t)dst->stride);
        return FS_OK;
    }
    int kx, ky, fast = int_factor(src->width, width, &kx) && int_factor(src->height, height, &ky);
    if (mode == FS_RESIZE_BILINEAR && fast && kx == 2 && ky == 2) mode = FS_RESIZE_AREA;
    if (mode == FS_RESIZE_AREA && width <= src->width && height <= src->height) {
        if (fast) { resize_area_int(src, dst, kx, ky); st = FS_OK; }
        else st = resize_area_frac(src, dst);
    } else {
        st = resize_linear(src, dst, mode == FS_RESIZE_AREA);
    }
    if (st) fs_image_free(dst);
    return st;
}
