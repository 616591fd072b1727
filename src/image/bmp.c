/* image/bmp.c — a small, bounds-checked BMP decoder.
 *
 * Supported: BITMAPCOREHEADER (12) and BITMAPINFOHEADER and its V2..V5 successors (40..124),
 * uncompressed 1/4/8-bit palette, 24-bit BGR, 32-bit BGRX/BGRA (BI_RGB, or BI_BITFIELDS with the
 * standard 0xFF0000/0xFF00/0xFF masks); bottom-up (height > 0) and top-down (height < 0) rows.
 * Refused with a clear message: RLE, 16-bit, other masks, JPEG/PNG-in-BMP. Alpha is dropped.
 * Palettes whose entries are all gray decode to one channel. */
#include "image/img_internal.h"

#include <string.h>

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

typedef struct {
    int64_t w, h;
    int top_down, bpp;
    uint32_t comp, hs, off, ncol;
    uint8_t pal[256][3]; /* RGB */
    int gray_pal;
} bmp_hdr;

static fs_status bmp_parse(const uint8_t *b, size_t len, bmp_hdr *H) {
    memset(H, 0, sizeof *H);
    if (len < 18) return fs_error(FS_ERR_FORMAT, "BMP: truncated header (%zu bytes)", len);
    H->off = le32(b + 10);
    H->hs = le32(b + 14);
    if (H->hs != 12 && H->hs != 40 && H->hs != 52 && H->hs != 56 && H->hs != 64 && H->hs != 108 && H->hs != 124)
        return fs_error(FS_ERR_UNSUPPORTED, "BMP: unknown header size %u", H->hs);
    if (len < 14 + (size_t)H->hs) return fs_error(FS_ERR_FORMAT, "BMP: truncated header (%zu bytes)", len);
    uint32_t clr_used = 0;
    if (H->hs == 12) {
        H->w = le16(b + 18);
        H->h = le16(b + 20);
        H->bpp = (int)le16(b + 24);
    } else {
        H->w = (int32_t)le32(b + 18);
        H->h = (int32_t)le32(b + 22);
        H->bpp = (int)le16(b + 28);
        H->comp = le32(b + 30);
        clr_used = le32(b + 46);
    }
    if (H->h < 0) { H->top_down = 1; H->h = -H->h; }
    if (H->w <= 0 || H->h <= 0)
        return fs_error(FS_ERR_FORMAT, "BMP: bad size %lldx%lld", (long long)H->w, (long long)H->h);
    size_t pal_off = 14 + (size_t)H->hs;
    if (H->comp == 3 || H->comp == 6) { /* BI_BITFIELDS / BI_ALPHABITFIELDS: masks at 54 */
        if (H->bpp != 32) return fs_error(FS_ERR_UNSUPPORTED, "BMP: %d-bit bitfields not supported", H->bpp);
        if (len < 66) return fs_error(FS_ERR_FORMAT, "BMP: truncated bitfield masks");
        if (le32(b + 54) != 0xFF0000u || le32(b + 58) != 0xFF00u || le32(b + 62) != 0xFFu)
            return fs_error(FS_ERR_UNSUPPORTED, "BMP: non-standard 32-bit channel masks");
        if (H->hs == 40) pal_off += H->comp == 3 ? 12 : 16;
    } else if (H->comp != 0) {
        return fs_error(FS_ERR_UNSUPPORTED, "BMP: compression %u (RLE/JPEG/PNG) not supported", H->comp);
    }
    if (H->bpp == 1 || H->bpp == 4 || H->bpp == 8) {
        uint32_t maxc = 1u << H->bpp, esz = H->hs == 12 ? 3 : 4;
        H->ncol = clr_used && clr_used < maxc ? clr_used : maxc;
        if (pal_off + (size_t)H->ncol * esz > len)
            return fs_error(FS_ERR_FORMAT, "BMP: truncated palette (%u colors)", H->ncol);
        H->gray_pal = 1;
        for (uint32_t i = 0; i < H->ncol; i++) {
            const uint8_t *e = b + pal_off + (size_t)i * esz;
            H->pal[i][0] = e[2];
            H->pal[i][1] = e[1];
            H->pal[i][2] = e[0];
            H->gray_pal &= e[0] == e[1] && e[1] == e[2];
        }
    } else if (H->bpp != 24 && H->bpp != 32) {
        return fs_error(FS_ERR_UNSUPPORTED, "BMP: %d bits per pixel not supported", H->bpp);
    }
    return FS_OK;
}

/* One row of w pixels from s to d (ch 1: palette index -> gray, ch 3: RGB). */
static void bmp_row(const bmp_hdr *H, const uint8_t *s, uint8_t *d, int w, int ch) {
    if (H->bpp >= 24) {
        int step = H->bpp / 8;
        for (int x = 0; x < w; x++, s += step, d += 3) { d[0] = s[2]; d[1] = s[1]; d[2] = s[0]; }
        return;
    }
    int bpp = H->bpp, per = 8 / bpp, mask = (1 << bpp) - 1;
    for (int x = 0; x < w; x++) {
        int shift = 8 - bpp * (x % per + 1);
        uint32_t idx = (uint32_t)(s[x / per] >> shift) & (uint32_t)mask;
        static const uint8_t black[3] = {0, 0, 0};
        const uint8_t *c = idx < H->ncol ? H->pal[idx] : black;
        if (ch == 1) d[x] = c[0];
        else { d[3 * x] = c[0]; d[3 * x + 1] = c[1]; d[3 * x + 2] = c[2]; }
    }
}

fs_status img_decode_bmp(const uint8_t *buf, size_t len, uint64_t max_pixels, fs_image *out) {
    bmp_hdr H;
    fs_status st = bmp_parse(buf, len, &H);
    if (st) return st;
    st = img_check_dims("BMP", (uint64_t)H.w, (uint64_t)H.h, max_pixels);
    if (st) return st;
    uint64_t row_bits = (uint64_t)H.w * (uint64_t)H.bpp;
    uint64_t stride = (row_bits + 31) / 32 * 4, last = (row_bits + 7) / 8;
    uint64_t need = stride * (uint64_t)(H.h - 1) + last;
    if (H.off > len || (uint64_t)(len - H.off) < need)
        return fs_error(FS_ERR_FORMAT, "BMP: truncated pixel data (%llu of %llu bytes)",
                        (unsigned long long)(H.off > len ? 0 : len - H.off), (unsigned long long)need);
    int ch = H.bpp <= 8 && H.gray_pal ? 1 : 3;
    st = fs_image_alloc(out, (int)H.w, (int)H.h, ch);
    if (st) return st;
    for (int y = 0; y < out->height; y++) {
        int64_t sy = H.top_down ? y : H.h - 1 - y;
        bmp_row(&H, buf + H.off + (size_t)sy * stride, out->data + (size_t)y * out->stride, out->width, ch);
    }
    return FS_OK;
}
