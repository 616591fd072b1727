/* image/warp.c — affine warp with OpenCV's fixed-point bilinear arithmetic
 * (cv::warpAffine(..., INTER_LINEAR | WARP_INVERSE_MAP, BORDER_CONSTANT, 0)).
 *
 * dst(x, y) = src(m0*x + m1*y + m2, m3*x + m4*y + m5). Source coordinates are computed in 1/1024
 * units and rounded to 1/32 pixel; the four neighbours are weighted by (32-fx)(32-fy)*32 etc.
 * (sum 2^15) and the result is rounded: (sum + 2^14) >> 15. Neighbours outside the source count
 * as 0. */
#include "image/img_internal.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AB_BITS 10
#define INTER_BITS 5
#define TAB 32

static int64_t round_sat(double v) { /* saturate_cast<int>(double) */
    if (!(v > (double)INT_MIN)) return INT_MIN;
    if (!(v < (double)INT_MAX)) return INT_MAX;
    return (int64_t)lrint(v);
}

static inline int px(const fs_image *s, int64_t x, int64_t y, int k) {
    if (x < 0 || y < 0 || x >= s->width || y >= s->height) return 0;
    return s->data[(size_t)y * s->stride + (size_t)x * s->channels + k];
}

fs_status fs_image_warp_affine(const fs_image *src, const double m[6], int width, int height, fs_image *dst) {
    if (!src || !src->data || src->width <= 0 || src->height <= 0 ||
        (src->channels != 1 && src->channels != 3) || src->stride < src->width * src->channels || !m || !dst ||
        dst == src)
        return fs_error(FS_ERR_ARG, "warp_affine: invalid argument");
    for (int i = 0; i < 6; i++)
        if (!isfinite(m[i])) return fs_error(FS_ERR_ARG, "warp_affine: matrix element %d is not finite", i);
    fs_status st = fs_image_alloc(dst, width, height, src->channels);
    if (st) return st;
    const int cn = src->channels;
    const double ab = (double)(1 << AB_BITS);
    const int64_t round_delta = (1 << AB_BITS) / TAB / 2;
    int64_t *ad = malloc(sizeof(int64_t) * 2 * (size_t)width);
    if (!ad) { fs_image_free(dst); return fs_error(FS_ERR_NOMEM, "warp_affine: out of memory"); }
    int64_t *bd = ad + width;
    for (int x = 0; x < width; x++) {
        ad[x] = round_sat(m[0] * x * ab);
        bd[x] = round_sat(m[3] * x * ab);
    }
    for (int y = 0; y < height; y++) {
        int64_t X0 = round_sat((m[1] * y + m[2]) * ab) + round_delta;
        int64_t Y0 = round_sat((m[4] * y + m[5]) * ab) + round_delta;
        uint8_t *d = dst->data + (size_t)y * dst->stride;
        for (int x = 0; x < width; x++, d += cn) {
            int64_t X = (X0 + ad[x]) >> (AB_BITS - INTER_BITS), Y = (Y0 + bd[x]) >> (AB_BITS - INTER_BITS);
            int64_t sx = X >> INTER_BITS, sy = Y >> INTER_BITS;
            int fx = (int)(X & (TAB - 1)), fy = (int)(Y & (TAB - 1));
            if (sx >= src->width || sx + 1 < 0 || sy >= src->height || sy + 1 < 0) continue; /* stays 0 */
            int w00 = (TAB - fx) * (TAB - fy) * 32, w01 = fx * (TAB - fy) * 32;
            int w10 = (TAB - fx) * fy * 32, w11 = fx * fy * 32;
            for (int k = 0; k < cn; k++) {
                int v = px(src, sx, sy, k) * w00 + px(src, sx + 1, sy, k) * w01 +
                        px(src, sx, sy + 1, k) * w10 + px(src, sx + 1, sy + 1, k) * w11;
                d[k] = (uint8_t)((v + (1 << 14)) >> 15);
            }
        }
    }
    free(ad);
    return FS_OK;
}
