/* image/png.c — PNG decode and encode with libpng.
 *
 * Decoding follows OpenCV's imread (so pixels match it): 16-bit samples keep their high byte
 * (png_set_strip_16), palettes and 1/2/4-bit gray are expanded, alpha is dropped, Adam7
 * interlacing is handled by libpng, an eXIf orientation is applied (OpenCV 4.6 does, wherever
 * the chunk is). Limits: png_set_user_limits with the pixel limit (IHDR is
 * checked before any pixel buffer exists), png_set_chunk_malloc_max / chunk_cache_max against
 * compressed ancillary-chunk bombs. Errors longjmp back into pdec_run; all state that changes
 * after setjmp lives in the caller's pdec_t. */
#include "image/img_internal.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PNG_CHUNK_MALLOC_MAX (16u << 20) /* largest ancillary chunk (or its inflated text) */
#define PNG_CHUNK_CACHE_MAX  1000u        /* most ancillary chunks kept */

typedef struct {
    char msg[256];
    char warn[256]; /* last warning: libpng explains an IHDR failure there */
} perr_t;

static void p_error(png_structp png, png_const_charp msg) {
    perr_t *e = png_get_error_ptr(png);
    snprintf(e->msg, sizeof e->msg, "%s", msg ? msg : "error");
    png_longjmp(png, 1);
}

static void p_warning(png_structp png, png_const_charp msg) {
    perr_t *e = png_get_error_ptr(png);
    snprintf(e->warn, sizeof e->warn, "%s", msg ? msg : "");
}

/* ------------------------------------------------------------------ decode */

typedef struct {
    png_structp png;
    png_infop info;
    perr_t err;
    const uint8_t *buf;
    size_t len, pos;
    png_bytep *rows;
    int orientation; /* EXIF orientation from an eXIf chunk (1 = none) */
    fs_image img;
} pdec_t;

static void p_read(png_structp png, png_bytep out, size_t n) {
    pdec_t *x = png_get_io_ptr(png);
    if (n > x->len - x->pos) png_error(png, "truncated file");
    memcpy(out, x->buf + x->pos, n);
    x->pos += n;
}

static fs_status pdec_run(pdec_t *x, uint64_t max_pixels) {
    png_structp png = x->png;
    png_infop info = x->info;
    if (setjmp(png_jmpbuf(png))) {
        if (strstr(x->err.warn, "exceeds user limit"))
            return fs_error(FS_ERR_LIMIT, "PNG: %s (limit %llu pixels)", x->err.warn, (unsigned long long)max_pixels);
        return fs_error(FS_ERR_FORMAT, "PNG: %s", x->err.msg);
    }
    uint64_t lim = max_pixels > 0x7fffffffu ? 0x7fffffffu : max_pixels;
    png_set_user_limits(png, (png_uint_32)lim, (png_uint_32)lim);
    png_set_chunk_malloc_max(png, PNG_CHUNK_MALLOC_MAX);
    png_set_chunk_cache_max(png, PNG_CHUNK_CACHE_MAX);
    png_set_benign_errors(png, 1);
    png_set_read_fn(png, x, p_read);
    png_read_info(png, info);
    png_uint_32 w, h;
    int depth, ctype, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
    fs_status st = img_check_dims("PNG", w, h, max_pixels);
    if (st) return st;
    /* Deflate expands at most 1032:1, so a file this short cannot hold the declared rows: refuse
     * before allocating them (a small file declaring a large size). */
    uint64_t raw = (uint64_t)h * (1 + ((uint64_t)w * png_get_channels(png, info) * (uint64_t)depth + 7) / 8);
    if ((uint64_t)x->len * 1032 < raw)
        return fs_error(FS_ERR_FORMAT, "PNG: %zu bytes cannot hold %ux%u pixels (truncated or bomb)", x->len, w, h);
    int ch = (ctype & PNG_COLOR_MASK_COLOR) ? 3 : 1; /* palette has the color bit */
    if (depth == 16) png_set_strip_16(png);
    if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (!(ctype & PNG_COLOR_MASK_COLOR) && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * ch || png_get_bit_depth(png, info) != 8)
        return fs_error(FS_ERR_UNSUPPORTED, "PNG: unexpected layout after transforms (type %d, depth %d)",
                        ctype, depth);
    st = fs_image_alloc(&x->img, (int)w, (int)h, ch);
    if (st) return st;
    x->rows = malloc((size_t)h * sizeof *x->rows);
    if (!x->rows) return fs_error(FS_ERR_NOMEM, "PNG: out of memory");
    for (png_uint_32 y = 0; y < h; y++) x->rows[y] = x->img.data + (size_t)y * x->img.stride;
    png_read_image(png, x->rows);
    png_read_end(png, info); /* keeps chunks after IDAT too (eXIf may be there) */
#ifdef PNG_eXIf_SUPPORTED
    png_uint_32 nex = 0;
    png_bytep ex = NULL;
    if (png_get_eXIf_1(png, info, &nex, &ex) && ex && nex) x->orientation = img_tiff_orientation(ex, nex);
#endif
    return FS_OK;
}

fs_status img_decode_png(const uint8_t *buf, size_t len, uint64_t max_pixels, fs_image *out) {
    pdec_t *x = calloc(1, sizeof *x);
    if (!x) return fs_error(FS_ERR_NOMEM, "PNG: out of memory");
    x->buf = buf;
    x->len = len;
    x->orientation = 1;
    fs_status st;
    x->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &x->err, p_error, p_warning);
    if (x->png) x->info = png_create_info_struct(x->png);
    if (!x->png || !x->info) st = fs_error(FS_ERR_NOMEM, "PNG: cannot create decoder");
    else st = pdec_run(x, max_pixels);
    if (x->png) png_destroy_read_struct(&x->png, x->info ? &x->info : NULL, NULL);
    free(x->rows);
    if (!st) st = img_apply_orientation(&x->img, x->orientation); /* as cv2.imread does */
    if (st) fs_image_free(&x->img);
    else *out = x->img;
    free(x);
    return st;
}

/* ------------------------------------------------------------------ encode */

typedef struct {
    png_structp png;
    png_infop info;
    perr_t err;
    uint8_t *buf;
    size_t len, cap;
    int oom;
} penc_t;

static void p_write(png_structp png, png_bytep data, size_t n) {
    penc_t *x = png_get_io_ptr(png);
    if (n > x->cap - x->len) {
        size_t cap = x->cap ? x->cap : 65536;
        while (cap - x->len < n) {
            if (cap > SIZE_MAX / 2) png_error(png, "output too large");
            cap *= 2;
        }
        uint8_t *nb = realloc(x->buf, cap);
        if (!nb) { x->oom = 1; png_error(png, "out of memory"); }
        x->buf = nb;
        x->cap = cap;
    }
    memcpy(x->buf + x->len, data, n);
    x->len += n;
}

static void p_flush(png_structp png) { (void)png; }

static fs_status penc_run(penc_t *x, const fs_image *img) {
    png_structp png = x->png;
    if (setjmp(png_jmpbuf(png)))
        return fs_error(x->oom ? FS_ERR_NOMEM : FS_ERR_INTERNAL, "PNG encode: %s", x->err.msg);
    png_set_write_fn(png, x, p_write, p_flush);
    png_set_IHDR(png, x->info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 img->channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, x->info);
    for (int y = 0; y < img->height; y++) png_write_row(png, img->data + (size_t)y * img->stride);
    png_write_end(png, NULL);
    return FS_OK;
}

fs_status fs_image_encode_png(const fs_image *img, uint8_t **out, size_t *out_len) {
    if (!out || !out_len) return fs_error(FS_ERR_ARG, "PNG encode: NULL output");
    *out = NULL;
    *out_len = 0;
    if (!img || !img->data || img->width <= 0 || img->height <= 0 ||
        (img->channels != 1 && img->channels != 3) || img->stride < img->width * img->channels)
        return fs_error(FS_ERR_ARG, "PNG encode: invalid image");
    penc_t *x = calloc(1, sizeof *x);
    if (!x) return fs_error(FS_ERR_NOMEM, "PNG encode: out of memory");
    fs_status st;
    x->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &x->err, p_error, p_warning);
    if (x->png) x->info = png_create_info_struct(x->png);
    if (!x->png || !x->info) st = fs_error(FS_ERR_NOMEM, "PNG encode: cannot create encoder");
    else st = penc_run(x, img);
    if (x->png) png_destroy_write_struct(&x->png, x->info ? &x->info : NULL);
    if (st) free(x->buf);
    else { *out = x->buf; *out_len = x->len; }
    free(x);
    return st;
}
