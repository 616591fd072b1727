/* image/exif.c — EXIF orientation: a bounds-checked reader of IFD0 of the TIFF structure in a
 * JPEG APP1 segment or a PNG eXIf chunk, and the flips/rotations that make the image upright.
 *
 * APP1 payload: "Exif\0\0" then TIFF: byte order "II" (little) or "MM" (big), 42, offset of IFD0
 * (from the TIFF start). IFD: u16 count, count x 12-byte entries {u16 tag, u16 type, u32 count,
 * u32 value-or-offset}. Orientation is tag 0x0112, type SHORT (3), count 1, value in the first
 * two bytes of the value field. */
#include "image/img_internal.h"

#include <string.h>

typedef struct { const uint8_t *p; size_t n; int be; } tiff_t;

static int rd16(const tiff_t *t, size_t off, uint32_t *v) {
    if (off > t->n || t->n - off < 2) return 0;
    const uint8_t *q = t->p + off;
    *v = t->be ? (uint32_t)q[0] << 8 | q[1] : (uint32_t)q[1] << 8 | q[0];
    return 1;
}

static int rd32(const tiff_t *t, size_t off, uint32_t *v) {
    if (off > t->n || t->n - off < 4) return 0;
    const uint8_t *q = t->p + off;
    *v = t->be ? (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3]
               : (uint32_t)q[3] << 24 | (uint32_t)q[2] << 16 | (uint32_t)q[1] << 8 | q[0];
    return 1;
}

int img_tiff_orientation(const uint8_t *p, size_t len) {
    if (!p || len < 8) return 1;
    tiff_t t = {p, len, 0};
    if (!memcmp(t.p, "II", 2)) t.be = 0;
    else if (!memcmp(t.p, "MM", 2)) t.be = 1;
    else return 1;
    uint32_t magic, ifd, count;
    if (!rd16(&t, 2, &magic) || magic != 42 || !rd32(&t, 4, &ifd) || !rd16(&t, ifd, &count)) return 1;
    for (uint32_t i = 0; i < count; i++) {
        size_t e = (size_t)ifd + 2 + (size_t)i * 12;
        uint32_t tag, type, n, val;
        if (!rd16(&t, e, &tag) || !rd16(&t, e + 2, &type) || !rd32(&t, e + 4, &n)) return 1;
        if (tag != 0x0112) continue;
        if (type != 3 || n != 1 || !rd16(&t, e + 8, &val)) return 1;
        return val >= 1 && val <= 8 ? (int)val : 1;
    }
    return 1;
}

int img_exif_orientation(const uint8_t *app1, size_t len) {
    if (!app1 || len < 6 || memcmp(app1, "Exif\0\0", 6)) return 1;
    return img_tiff_orientation(app1 + 6, len - 6);
}

/* Upright image: out(x, y) = in(sx, sy) with, for input W x H,
 *   2: (W-1-x, y)      mirror horizontal        6: (y, H-1-x)      rotate 90 clockwise
 *   3: (W-1-x, H-1-y)  rotate 180               7: (W-1-y, H-1-x)  transverse
 *   4: (x, H-1-y)      mirror vertical          8: (W-1-y, x)      rotate 90 counter-clockwise
 *   5: (y, x)          transpose
 * Orientations 5..8 swap width and height. */
fs_status img_apply_orientation(fs_image *img, int o) {
    if (o < 2 || o > 8) return FS_OK;
    const int W = img->width, H = img->height, c = img->channels;
    const int swap = o >= 5;
    fs_image dst;
    fs_status st = fs_image_alloc(&dst, swap ? H : W, swap ? W : H, c);
    if (st) return st;
    for (int y = 0; y < dst.height; y++) {
        uint8_t *d = dst.data + (size_t)y * dst.stride;
        for (int x = 0; x < dst.width; x++, d += c) {
            int sx, sy;
            switch (o) {
            case 2: sx = W - 1 - x; sy = y; break;
            case 3: sx = W - 1 - x; sy = H - 1 - y; break;
            case 4: sx = x; sy = H - 1 - y; break;
            case 5: sx = y; sy = x; break;
            case 6: sx = y; sy = H - 1 - x; break;
            case 7: sx = W - 1 - y; sy = H - 1 - x; break;
            default: sx = W - 1 - y; sy = x; break;
            }
            const uint8_t *s = img->data + (size_t)sy * img->stride + (size_t)sx * c;
            for (int k = 0; k < c; k++) d[k] = s[k];
        }
    }
    fs_image_free(img);
    *img = dst;
    return FS_OK;
}
