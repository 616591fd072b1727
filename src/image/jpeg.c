/* image/jpeg.c — JPEG decode (libjpeg-turbo, EXIF orientation applied) and encode.
 *
 * Errors: libjpeg's error_exit is replaced by a longjmp back into jdec_run/jenc_run. Everything
 * those functions change after setjmp lives in the caller's context struct (not in their own
 * locals), so nothing depends on non-volatile locals surviving the longjmp.
 * Warnings: a premature end of data inside a scan (truncated file) is an error; a missing EOI
 * marker after complete scans is not (see j_emit_message; OpenCV accepts that too); other warnings
 * (e.g. extraneous bytes before a marker) are tolerated as libjpeg/OpenCV do. Progressive files
 * with more than JDEC_MAX_SCANS scans are refused (decode-time bomb). */
#include "image/img_internal.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#define JDEC_MAX_SCANS 1000

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX + 32];
    long warnings;
    int rows_done; /* all scanlines read: a missing EOI after them is harmless */
    int saw_eof;   /* the data ended (fake EOI inserted) */
} jerr_t;

typedef struct {
    struct jpeg_progress_mgr pub;
    jerr_t *err;
} jprog_t;

static void j_error_exit(j_common_ptr c) {
    jerr_t *e = (jerr_t *)c->err;
    char m[JMSG_LENGTH_MAX];
    c->err->format_message(c, m);
    snprintf(e->msg, sizeof e->msg, "%s%s", e->saw_eof ? "truncated file: " : "", m);
    longjmp(e->jb, 1);
}

static void j_fail(jerr_t *e, const char *why) {
    snprintf(e->msg, sizeof e->msg, "%s", why);
    longjmp(e->jb, 1);
}

/* At the end of the data libjpeg's memory source warns (JWRN_JPEG_EOF) and inserts a fake EOI.
 * That is harmless when only the EOI marker was missing (OpenCV decodes such files too): no
 * later warning follows, and in a progressive file every coefficient is fully refined (checked
 * after jpeg_start_decompress). When the data ended inside a scan, the entropy decoder then
 * warns that it ran out of bits (JWRN_HIT_MARKER) or must resync: a truncated file, an error. */
static void j_emit_message(j_common_ptr c, int level) {
    jerr_t *e = (jerr_t *)c->err;
    if (level >= 0) return; /* trace messages */
    e->warnings++;
    if (e->rows_done) return;
    if (c->err->msg_code == JWRN_JPEG_EOF) {
        e->saw_eof = 1;
        return;
    }
    if (e->saw_eof) j_fail(e, "truncated file (premature end of data)");
}

static void j_progress(j_common_ptr c) {
    jprog_t *p = (jprog_t *)c->progress;
    if (c->is_decompressor && ((j_decompress_ptr)c)->input_scan_number > JDEC_MAX_SCANS) {
        snprintf(p->err->msg, sizeof p->err->msg, "more than %d scans", JDEC_MAX_SCANS);
        longjmp(p->err->jb, 1);
    }
}

static void jerr_init(jerr_t *e) {
    jpeg_std_error(&e->pub);
    e->pub.error_exit = j_error_exit;
    e->pub.emit_message = j_emit_message;
    e->msg[0] = 0;
    e->warnings = 0;
    e->rows_done = 0;
    e->saw_eof = 0;
}

/* ------------------------------------------------------------------ decode */

typedef struct {
    struct jpeg_decompress_struct cinfo;
    jerr_t err;
    jprog_t prog;
    int created;
    int orientation;
    fs_image img;
} jdec_t;

static int app1_orientation(j_decompress_ptr ci) {
    for (jpeg_saved_marker_ptr m = ci->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && !memcmp(m->data, "Exif\0\0", 6))
            return img_exif_orientation(m->data, m->data_length);
    return 1;
}

/* Adobe (inverted) CMYK to RGB exactly as OpenCV's icvCvt_CMYK2BGR_8u_C4C3R. */
static void cmyk_row_to_rgb(const uint8_t *s, uint8_t *d, int w) {
    for (int x = 0; x < w; x++, s += 4, d += 3) {
        int k = s[3];
        d[0] = (uint8_t)(k - ((255 - s[0]) * k >> 8));
        d[1] = (uint8_t)(k - ((255 - s[1]) * k >> 8));
        d[2] = (uint8_t)(k - ((255 - s[2]) * k >> 8));
    }
}

/* Did the scans read so far refine every coefficient of every component to full precision
 * (coef_bits 0)? A progressive file cut short at a scan boundary leaves some at -1 or > 0. */
static int progressive_complete(j_decompress_ptr ci) {
    if (!ci->coef_bits) return 0;
    for (int c = 0; c < ci->num_components; c++)
        for (int k = 0; k < DCTSIZE2; k++)
            if (ci->coef_bits[c][k] != 0) return 0;
    return 1;
}

static fs_status jdec_run(jdec_t *x, const uint8_t *buf, size_t len, uint64_t max_pixels) {
    j_decompress_ptr ci = &x->cinfo;
    if (setjmp(x->err.jb)) return fs_error(FS_ERR_FORMAT, "JPEG: %s", x->err.msg);
    jpeg_create_decompress(ci);
    x->created = 1;
    x->prog.pub.progress_monitor = j_progress;
    ci->progress = &x->prog.pub;
    jpeg_mem_src(ci, buf, (unsigned long)len);
    jpeg_save_markers(ci, JPEG_APP0 + 1, 0xFFFF);
    if (jpeg_read_header(ci, TRUE) != JPEG_HEADER_OK)
        return fs_error(FS_ERR_FORMAT, "JPEG: no image in the stream (tables only)");
    fs_status st = img_check_dims("JPEG", ci->image_width, ci->image_height, max_pixels);
    if (st) return st;
    x->orientation = app1_orientation(ci);

    int nc = ci->num_components, cmyk = 0, ch;
    if (nc == 1) { ci->out_color_space = JCS_GRAYSCALE; ch = 1; }
    else if (nc == 3) { ci->out_color_space = JCS_RGB; ch = 3; }
    else if (nc == 4 && (ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK)) {
        ci->out_color_space = JCS_CMYK; ch = 3; cmyk = 1;
    } else
        return fs_error(FS_ERR_UNSUPPORTED, "JPEG: %d components (color space %d) not supported", nc,
                        (int)ci->jpeg_color_space);
    jpeg_start_decompress(ci); /* a progressive file is read completely here */
    if (x->err.saw_eof && ci->progressive_mode && !progressive_complete(ci))
        return fs_error(FS_ERR_FORMAT, "JPEG: truncated file (progressive scans missing)");
    if (ci->output_width != ci->image_width || ci->output_height != ci->image_height)
        return fs_error(FS_ERR_INTERNAL, "JPEG: unexpected output size");
    st = fs_image_alloc(&x->img, (int)ci->output_width, (int)ci->output_height, ch);
    if (st) return st;
    JSAMPARRAY tmp = NULL;
    if (cmyk) tmp = (*ci->mem->alloc_sarray)((j_common_ptr)ci, JPOOL_IMAGE, ci->output_width * 4, 1);
    while (ci->output_scanline < ci->output_height) {
        uint8_t *row = x->img.data + (size_t)ci->output_scanline * x->img.stride;
        JSAMPROW target = cmyk ? tmp[0] : row;
        if (jpeg_read_scanlines(ci, &target, 1) != 1)
            return fs_error(FS_ERR_FORMAT, "JPEG: decoder stopped at row %u", ci->output_scanline);
        if (cmyk) cmyk_row_to_rgb(tmp[0], row, (int)ci->output_width);
    }
    x->err.rows_done = 1;
    jpeg_finish_decompress(ci);
    return FS_OK;
}

fs_status img_decode_jpeg(const uint8_t *buf, size_t len, uint64_t max_pixels, fs_image *out) {
    jdec_t *x = calloc(1, sizeof *x);
    if (!x) return fs_error(FS_ERR_NOMEM, "JPEG: out of memory");
    jerr_init(&x->err);
    x->cinfo.err = &x->err.pub;
    x->prog.err = &x->err;
    x->orientation = 1;
    fs_status st = jdec_run(x, buf, len, max_pixels);
    if (x->created) jpeg_destroy_decompress(&x->cinfo);
    if (!st) st = img_apply_orientation(&x->img, x->orientation);
    if (st) fs_image_free(&x->img);
    else *out = x->img;
    free(x);
    return st;
}

/* ------------------------------------------------------------------ encode */

typedef struct {
    struct jpeg_compress_struct cinfo;
    jerr_t err;
    int created;
    unsigned char *buf;
    unsigned long size;
} jenc_t;

static fs_status jenc_run(jenc_t *x, const fs_image *img, int quality) {
    j_compress_ptr ci = &x->cinfo;
    if (setjmp(x->err.jb)) return fs_error(FS_ERR_INTERNAL, "JPEG encode: %s", x->err.msg);
    jpeg_create_compress(ci);
    x->created = 1;
    jpeg_mem_dest(ci, &x->buf, &x->size);
    ci->image_width = (JDIMENSION)img->width;
    ci->image_height = (JDIMENSION)img->height;
    ci->input_components = img->channels;
    ci->in_color_space = img->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(ci);
    jpeg_set_quality(ci, quality, TRUE);
    jpeg_start_compress(ci, TRUE);
    while (ci->next_scanline < ci->image_height) {
        JSAMPROW row = (JSAMPROW)(img->data + (size_t)ci->next_scanline * img->stride);
        jpeg_write_scanlines(ci, &row, 1);
    }
    jpeg_finish_compress(ci);
    return FS_OK;
}

static int image_ok(const fs_image *img) {
    return img && img->data && img->width > 0 && img->height > 0 &&
           (img->channels == 1 || img->channels == 3) && img->stride >= img->width * img->channels;
}

fs_status fs_image_encode_jpeg(const fs_image *img, int quality, uint8_t **out, size_t *out_len) {
    if (!out || !out_len) return fs_error(FS_ERR_ARG, "JPEG encode: NULL output");
    *out = NULL;
    *out_len = 0;
    if (!image_ok(img)) return fs_error(FS_ERR_ARG, "JPEG encode: invalid image");
    if (img->width > 65500 || img->height > 65500)
        return fs_error(FS_ERR_LIMIT, "JPEG encode: %dx%d exceeds JPEG's 65500 limit", img->width, img->height);
    if (quality < 1 || quality > 100) return fs_error(FS_ERR_ARG, "JPEG encode: quality %d not in 1..100", quality);
    jenc_t *x = calloc(1, sizeof *x);
    if (!x) return fs_error(FS_ERR_NOMEM, "JPEG encode: out of memory");
    jerr_init(&x->err);
    x->cinfo.err = &x->err.pub;
    fs_status st = jenc_run(x, img, quality);
    if (x->created) jpeg_destroy_compress(&x->cinfo);
    if (st) free(x->buf);
    else { *out = x->buf; *out_len = x->size; }
    free(x);
    return st;
}
