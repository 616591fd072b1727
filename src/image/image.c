/* image/image.c — fs_image allocation, format sniffing, decode/load dispatch, save. */
#include "image/img_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

fs_status fs_image_alloc(fs_image *img, int width, int height, int channels) {
    if (!img) return fs_error(FS_ERR_ARG, "image: NULL output");
    memset(img, 0, sizeof *img);
    if (width <= 0 || height <= 0 || (channels != 1 && channels != 3))
        return fs_error(FS_ERR_ARG, "image: bad size %dx%dx%d", width, height, channels);
    uint64_t stride = (uint64_t)width * (uint64_t)channels;
    uint64_t bytes = stride * (uint64_t)height;
    if (stride > INT32_MAX || bytes > (uint64_t)SIZE_MAX / 2)
        return fs_error(FS_ERR_LIMIT, "image: %dx%dx%d is too large", width, height, channels);
    uint8_t *p = calloc((size_t)bytes, 1);
    if (!p) return fs_error(FS_ERR_NOMEM, "image: cannot allocate %llu bytes", (unsigned long long)bytes);
    img->width = width;
    img->height = height;
    img->channels = channels;
    img->stride = (int)stride;
    img->data = p;
    return FS_OK;
}

void fs_image_free(fs_image *img) {
    if (!img) return;
    free(img->data);
    memset(img, 0, sizeof *img);
}

fs_status img_check_dims(const char *fmt, uint64_t w, uint64_t h, uint64_t max_pixels) {
    if (w == 0 || h == 0) return fs_error(FS_ERR_FORMAT, "%s: zero image size %llux%llu", fmt,
                                          (unsigned long long)w, (unsigned long long)h);
    if (w > INT32_MAX / 4 || h > INT32_MAX / 4 || w * h > max_pixels)
        return fs_error(FS_ERR_LIMIT, "%s: %llux%llu exceeds the limit of %llu pixels", fmt,
                        (unsigned long long)w, (unsigned long long)h, (unsigned long long)max_pixels);
    return FS_OK;
}

static void resolve_limits(const fs_image_limits *lim, uint64_t *max_pixels, uint64_t *max_bytes) {
    *max_pixels = lim && lim->max_pixels ? lim->max_pixels : IMG_DEFAULT_MAX_PIXELS;
    *max_bytes = lim && lim->max_bytes ? lim->max_bytes : IMG_DEFAULT_MAX_BYTES;
}

static int bmp_header_size_ok(uint32_t n) {
    return n == 12 || n == 40 || n == 52 || n == 56 || n == 64 || n == 108 || n == 124;
}

fs_image_format fs_image_sniff(const void *buf, size_t len) {
    const uint8_t *p = buf;
    if (!p) return FS_FMT_UNKNOWN;
    if (len >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) return FS_FMT_JPEG;
    if (len >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8)) return FS_FMT_PNG;
    if (len >= 12 && !memcmp(p, "RIFF", 4) && !memcmp(p + 8, "WEBP", 4)) return FS_FMT_WEBP;
    if (len >= 2 && p[0] == 'B' && p[1] == 'M') {
        if (len < 18) return FS_FMT_BMP; /* the decoder reports the truncation */
        uint32_t hs = (uint32_t)p[14] | (uint32_t)p[15] << 8 | (uint32_t)p[16] << 16 | (uint32_t)p[17] << 24;
        if (bmp_header_size_ok(hs)) return FS_FMT_BMP;
    }
    return FS_FMT_UNKNOWN;
}

/* names a format facescore does not read, for the error message (NULL when not recognised) */
static const char *other_format(const uint8_t *p, size_t len) {
    if (len >= 6 && (!memcmp(p, "GIF87a", 6) || !memcmp(p, "GIF89a", 6))) return "GIF";
    if (len >= 4 && (!memcmp(p, "II*\0", 4) || !memcmp(p, "MM\0*", 4))) return "TIFF";
    if (len >= 12 && !memcmp(p + 4, "ftyp", 4)) {
        if (!memcmp(p + 8, "avi", 3)) return "AVIF";
        if (!memcmp(p + 8, "hei", 3) || !memcmp(p + 8, "hev", 3) || !memcmp(p + 8, "mif1", 4) ||
            !memcmp(p + 8, "msf1", 4))
            return "HEIC/HEIF";
        return "an ISO media file (MP4/MOV/HEIF family)";
    }
    if (len >= 5 && !memcmp(p, "%PDF-", 5)) return "PDF";
    if (len >= 4 && !memcmp(p, "\0\0\1\0", 4)) return "ICO";
    size_t i = len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3) ? 3 : 0; /* UTF-8 BOM */
    while (i < len && i < 64 && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')) i++;
    if (i < len && p[i] == '<') {
        size_t n = len - i < 512 ? len - i : 512;
        if (memmem(p + i, n, "<svg", 4)) return "SVG";
        if (strncasecmp((const char *)p + i, "<!doctype html", n < 14 ? n : 14) == 0 ||
            strncasecmp((const char *)p + i, "<html", n < 5 ? n : 5) == 0)
            return "HTML";
        return "XML or HTML";
    }
    return NULL;
}

fs_status img_gray_to_rgb(const fs_image *src, fs_image *dst) {
    fs_status st = fs_image_alloc(dst, src->width, src->height, 3);
    if (st) return st;
    for (int y = 0; y < src->height; y++) {
        const uint8_t *s = src->data + (size_t)y * src->stride;
        uint8_t *d = dst->data + (size_t)y * dst->stride;
        for (int x = 0; x < src->width; x++) d[3 * x] = d[3 * x + 1] = d[3 * x + 2] = s[x];
    }
    return FS_OK;
}

/* Converts *img in place (by replacement) to `want` channels (1 or 3). */
static fs_status convert_channels(fs_image *img, int want) {
    if (want == 0 || want == img->channels) return FS_OK;
    fs_image tmp;
    fs_status st = want == 1 ? fs_image_to_gray(img, &tmp) : img_gray_to_rgb(img, &tmp);
    if (st) return st;
    fs_image_free(img);
    *img = tmp;
    return FS_OK;
}

fs_status fs_image_decode(const void *buf, size_t len, int want_channels, const fs_image_limits *lim,
                          fs_image *out) {
    if (!out) return fs_error(FS_ERR_ARG, "image: NULL output");
    memset(out, 0, sizeof *out);
    if (want_channels != 0 && want_channels != 1 && want_channels != 3)
        return fs_error(FS_ERR_ARG, "image: want_channels must be 0, 1 or 3 (got %d)", want_channels);
    if (!buf || len == 0) return fs_error(FS_ERR_FORMAT, "image: empty input (0 bytes)");
    uint64_t max_pixels, max_bytes;
    resolve_limits(lim, &max_pixels, &max_bytes);
    if ((uint64_t)len > max_bytes)
        return fs_error(FS_ERR_LIMIT, "image: %zu bytes exceeds the limit of %llu bytes", len,
                        (unsigned long long)max_bytes);
    fs_status st;
    switch (fs_image_sniff(buf, len)) {
    case FS_FMT_JPEG: st = img_decode_jpeg(buf, len, max_pixels, out); break;
    case FS_FMT_PNG: st = img_decode_png(buf, len, max_pixels, out); break;
    case FS_FMT_WEBP: st = img_decode_webp(buf, len, max_pixels, out); break;
    case FS_FMT_BMP: st = img_decode_bmp(buf, len, max_pixels, out); break;
    default: {
        const char *other = other_format(buf, len);
        return fs_error(FS_ERR_FORMAT,
                        "image: unknown format%s%s (not JPEG, PNG, WebP or BMP; first bytes %02x %02x %02x %02x)",
                        other ? ": looks like " : "", other ? other : "", ((const uint8_t *)buf)[0],
                        len > 1 ? ((const uint8_t *)buf)[1] : 0,
                        len > 2 ? ((const uint8_t *)buf)[2] : 0, len > 3 ? ((const uint8_t *)buf)[3] : 0);
    }
    }
    if (!st) st = convert_channels(out, want_channels);
    if (st) fs_image_free(out);
    return st;
}

/* Reads a whole file, refusing (before reading) files larger than max_bytes. */
static fs_status read_file_limited(const char *path, uint64_t max_bytes, uint8_t **data, size_t *len) {
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return fs_error(FS_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    memset(&sb, 0, sizeof sb);
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode)) {
        if ((uint64_t)sb.st_size > max_bytes) {
            fclose(f);
            return fs_error(FS_ERR_LIMIT, "%s: file size %lld exceeds the limit of %llu bytes", path,
                            (long long)sb.st_size, (unsigned long long)max_bytes);
        }
    }
    size_t cap = 0, n = 0;
    uint8_t *buf = NULL;
    for (;;) {
        if (n == cap) {
            if ((uint64_t)cap > max_bytes) {
                free(buf);
                fclose(f);
                return fs_error(FS_ERR_LIMIT, "%s: more than %llu bytes", path, (unsigned long long)max_bytes);
            }
            size_t ncap = cap ? cap * 2 : 65536;
            if (S_ISREG(sb.st_mode) && (uint64_t)sb.st_size + 1 > ncap) ncap = (size_t)sb.st_size + 1;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) { free(buf); fclose(f); return fs_error(FS_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, ncap); }
            buf = nb;
            cap = ncap;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) { free(buf); return fs_error(FS_ERR_IO, "cannot read %s", path); }
    if ((uint64_t)n > max_bytes) {
        free(buf);
        return fs_error(FS_ERR_LIMIT, "%s: more than %llu bytes", path, (unsigned long long)max_bytes);
    }
    *data = buf;
    *len = n;
    return FS_OK;
}

fs_status fs_image_load(const char *path, int want_channels, const fs_image_limits *lim, fs_image *out) {
    if (!out) return fs_error(FS_ERR_ARG, "image: NULL output");
    memset(out, 0, sizeof *out);
    if (!path) return fs_error(FS_ERR_ARG, "image: NULL path");
    uint64_t max_pixels, max_bytes;
    resolve_limits(lim, &max_pixels, &max_bytes);
    uint8_t *data;
    size_t len;
    fs_status st = read_file_limited(path, max_bytes, &data, &len);
    if (st) return st;
    st = fs_image_decode(data, len, want_channels, lim, out);
    free(data);
    return st;
}

static int has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), e = strlen(ext);
    return n > e && !strcasecmp(path + n - e, ext);
}

fs_status fs_image_save(const fs_image *img, const char *path) {
    if (!img || !path) return fs_error(FS_ERR_ARG, "image: NULL argument to save");
    uint8_t *enc = NULL;
    size_t n = 0;
    fs_status st;
    if (has_ext(path, ".jpg") || has_ext(path, ".jpeg")) st = fs_image_encode_jpeg(img, 90, &enc, &n);
    else if (has_ext(path, ".png")) st = fs_image_encode_png(img, &enc, &n);
    else return fs_error(FS_ERR_ARG, "%s: unknown output extension (use .jpg, .jpeg or .png)", path);
    if (st) return st;
    FILE *f = fopen(path, "wb");
    if (!f) { free(enc); return fs_error(FS_ERR_IO, "cannot create %s: %s", path, strerror(errno)); }
    size_t w = fwrite(enc, 1, n, f);
    int bad = w != n || fflush(f) != 0;
    bad |= fclose(f) != 0;
    free(enc);
    if (bad) return fs_error(FS_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return FS_OK;
}
