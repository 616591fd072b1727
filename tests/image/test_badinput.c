/* tests/image — bad inputs: empty, wrong magic, truncated, oversized (pixel and byte limits,
 * checked before the pixel buffer exists), decompression bombs, unsupported variants. Each must
 * fail with a clear message (or decode correctly), never crash or hang. */
#include "../test.h"
#include "imgt.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *fixtures[] = {
    "exif_6.jpg", "jpeg_cmyk.jpg", "jpeg_progressive.jpg", "jpeg_gray.jpg", "png_interlaced.png",
    "png_rgb16.png", "png_palette.png", "png_graya.png", "png_gray1.png", "bmp_24.bmp", "bmp_8.bmp",
    "bmp_1.bmp", "bmp_32_v5_bitfields.bmp", "bmp_24_os2.bmp", "webp_lossy.webp", "webp_lossless.webp",
    "webp_alpha.webp",
};

static unsigned char *fixture(const char *name, size_t *len) {
    unsigned char *d = fs_test_read_file(imgt_path(name), len);
    IMGT_REQ(NULL, d != NULL, "cannot read fixture %s", name);
    return d;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

TEST(empty_input_and_missing_file) {
    fs_image img;
    CHECK(fs_image_decode("", 0, 0, NULL, &img) == FS_ERR_FORMAT);
    CHECK(strstr(fs_last_error(), "empty") != NULL);
    CHECK(img.data == NULL);
    CHECK(fs_image_decode(NULL, 10, 0, NULL, &img) == FS_ERR_FORMAT);
    char path[] = "/tmp/fs_img_emptyXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK(fs_image_load(path, 3, NULL, &img) == FS_ERR_FORMAT);
    CHECK(strstr(fs_last_error(), "empty") != NULL);
    unlink(path);
    CHECK(fs_image_load("/nonexistent/dir/x.jpg", 3, NULL, &img) == FS_ERR_IO);
    CHECK(strstr(fs_last_error(), "/nonexistent/dir/x.jpg") != NULL);
    CHECK(fs_image_load("tests/data/image", 3, NULL, &img) != FS_OK); /* a directory */
}

TEST(wrong_magic) {
    fs_image img;
    static const char *bad[] = {"hello world, not an image", "GIF89a\x01\0\x01\0\0\0\0", "\xff\xd8", "\x89PNG",
                                "RIFF\x10\0\0\0WAVEfmt "};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_MSG(fs_image_decode(bad[i], strlen(bad[i]), 3, NULL, &img) == FS_ERR_FORMAT, "input %zu", i);
        CHECK(strstr(fs_last_error(), "unknown format") != NULL);
        CHECK(img.data == NULL);
    }
}

TEST(truncated_inputs_fail_cleanly) {
    for (size_t f = 0; f < sizeof fixtures / sizeof *fixtures; f++) {
        size_t len;
        unsigned char *d = fixture(fixtures[f], &len);
        if (!d) return;
        size_t cuts[] = {1, 2, 3, 4, 8, 12, 16, 20, 30, 40, 60, len / 4, len / 3, len / 2, 2 * len / 3,
                         3 * len / 4, len - 16, len - 8, len - 4, len - 2, len - 1};
        for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
            size_t n = cuts[c];
            if (n >= len) continue;
            unsigned char *copy = malloc(n); /* exact-size heap copy: ASan sees any over-read */
            memcpy(copy, d, n);
            fs_image img;
            fs_status st = fs_image_decode(copy, n, 0, NULL, &img);
            if (n <= len / 2) {
                CHECK_MSG(st == FS_ERR_FORMAT || st == FS_ERR_UNSUPPORTED, "%s cut to %zu: status %d", fixtures[f], n, st);
                CHECK_MSG(strlen(fs_last_error()) > 5, "%s: no message", fixtures[f]);
                CHECK(img.data == NULL);
            } else if (st == FS_OK) {
                CHECK(img.width > 0 && img.height > 0 && img.data);
            }
            fs_image_free(&img);
            free(copy);
        }
        free(d);
    }
}

TEST(truncated_messages_name_the_problem) {
    size_t len;
    unsigned char *d = fixture("jpeg_progressive.jpg", &len);
    fs_image img;
    CHECK(d);
    CHECK(fs_image_decode(d, len * 2 / 3, 3, NULL, &img) == FS_ERR_FORMAT);
    CHECK_MSG(strstr(fs_last_error(), "JPEG") && strstr(fs_last_error(), "truncated"), "%s", fs_last_error());
    free(d);
    d = fixture("png_interlaced.png", &len);
    CHECK(fs_image_decode(d, len / 2, 3, NULL, &img) == FS_ERR_FORMAT);
    CHECK_MSG(strstr(fs_last_error(), "PNG") && strstr(fs_last_error(), "truncated"), "%s", fs_last_error());
    free(d);
    d = fixture("bmp_24.bmp", &len);
    CHECK(fs_image_decode(d, len / 2, 3, NULL, &img) == FS_ERR_FORMAT);
    CHECK_MSG(strstr(fs_last_error(), "BMP") && strstr(fs_last_error(), "truncated"), "%s", fs_last_error());
    free(d);
    d = fixture("webp_lossy.webp", &len);
    CHECK(fs_image_decode(d, len / 2, 3, NULL, &img) == FS_ERR_FORMAT);
    CHECK_MSG(strstr(fs_last_error(), "WebP"), "%s", fs_last_error());
    free(d);
    /* a JPEG missing only its EOI marker still decodes (as in OpenCV), baseline or progressive */
    static const char *eoi[] = {"exif_1.jpg", "jpeg_progressive.jpg", "jpeg_cmyk.jpg"};
    for (int k = 0; k < 3; k++) {
        d = fixture(eoi[k], &len);
        CHECK(d[len - 2] == 0xFF && d[len - 1] == 0xD9);
        CHECK_MSG(fs_image_decode(d, len - 2, 3, NULL, &img) == FS_OK, "%s: %s", eoi[k], fs_last_error());
        fs_image_free(&img);
        free(d);
    }
}

static void put_be16(unsigned char *p, unsigned v) { p[0] = (unsigned char)(v >> 8); p[1] = (unsigned char)v; }
static void put_le32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Decodes d with a huge declared size and checks the limit fires fast with a clear message. */
static void expect_limit(const char *what, const unsigned char *d, size_t len) {
    fs_image img;
    double t0 = now_s();
    fs_status st = fs_image_decode(d, len, 3, NULL, &img);
    CHECK_MSG(st == FS_ERR_LIMIT, "%s: status %d (%s)", what, st, fs_last_error());
    CHECK_MSG(strstr(fs_last_error(), "limit"), "%s: %s", what, fs_last_error());
    CHECK(img.data == NULL);
    CHECK_MSG(now_s() - t0 < 0.5, "%s: took %.2f s", what, now_s() - t0);
}

TEST(huge_declared_sizes_rejected_before_allocation) {
    size_t len;
    unsigned char *d = fixture("png_bomb_dims.png", &len); /* IHDR 100000 x 100000, 74 bytes */
    CHECK(d);
    expect_limit("PNG 100000x100000", d, len);
    if (fs_test_failed()) return;
    CHECK(strstr(fs_last_error(), "100000x100000"));
    free(d);

    d = fixture("exif_1.jpg", &len); /* SOF0 height/width -> 60000 x 60000 */
    size_t i = 2;
    while (i + 9 < len && !(d[i] == 0xFF && d[i + 1] == 0xC0)) i++;
    CHECK(i + 9 < len);
    put_be16(d + i + 5, 60000);
    put_be16(d + i + 7, 60000);
    expect_limit("JPEG 60000x60000", d, len);
    if (fs_test_failed()) return;
    free(d);

    d = fixture("webp_lossless.webp", &len); /* VP8L: 14-bit width-1, height-1 after 0x2f */
    CHECK(!memcmp(d + 12, "VP8L", 4) && d[20] == 0x2f);
    uint32_t bits = 16383u | 16383u << 14 | (uint32_t)(d[24] >> 4) << 28;
    put_le32(d + 21, bits);
    expect_limit("WebP 16384x16384", d, len);
    if (fs_test_failed()) return;
    free(d);

    d = fixture("bmp_24.bmp", &len);
    put_le32(d + 18, 100000);
    put_le32(d + 22, (uint32_t)-100000);
    expect_limit("BMP 100000x100000", d, len);
    if (fs_test_failed()) return;
    free(d);
}

TEST(png_short_file_with_large_size_refused_before_allocation) {
    /* 6000x6000 RGB is within the default 40 MP limit, but 74 bytes cannot inflate to 108 MB */
    fs_image img;
    double t0 = now_s();
    CHECK(fs_image_load(imgt_path("png_bomb_6000.png"), 3, NULL, &img) == FS_ERR_FORMAT);
    CHECK_MSG(strstr(fs_last_error(), "cannot hold 6000x6000"), "%s", fs_last_error());
    CHECK(now_s() - t0 < 0.2);
}

TEST(configurable_limits) {
    fs_image img;
    fs_image_limits lim = {.max_pixels = 24 * 16 - 1};
    CHECK(fs_image_load(imgt_path("exif_1.jpg"), 3, &lim, &img) == FS_ERR_LIMIT);
    CHECK(strstr(fs_last_error(), "24x16"));
    lim.max_pixels = 24 * 16;
    CHECK(fs_image_load(imgt_path("exif_1.jpg"), 3, &lim, &img) == FS_OK);
    fs_image_free(&img);
    static const char *names[] = {"png_palette.png", "bmp_8.bmp", "webp_lossy.webp"};
    lim.max_pixels = 50;
    for (int k = 0; k < 3; k++)
        CHECK_MSG(fs_image_load(imgt_path(names[k]), 3, &lim, &img) == FS_ERR_LIMIT, "%s: %s", names[k], fs_last_error());
    /* byte limit: from the file size, before reading; and on memory input */
    fs_image_limits bl = {.max_bytes = 500};
    CHECK(fs_image_load(imgt_path("exif_1.jpg"), 3, &bl, &img) == FS_ERR_LIMIT); /* 859 bytes */
    CHECK_MSG(strstr(fs_last_error(), "file size 859"), "%s", fs_last_error());
    size_t len;
    unsigned char *d = fixture("exif_1.jpg", &len);
    CHECK(fs_image_decode(d, len, 3, &bl, &img) == FS_ERR_LIMIT);
    bl.max_bytes = len;
    CHECK(fs_image_decode(d, len, 3, &bl, &img) == FS_OK);
    fs_image_free(&img);
    free(d);
}

TEST(png_ztxt_bomb_is_cheap) {
    /* 32 MiB of zeros in a 32 KiB zTXt chunk: libpng's chunk limit (16 MiB) drops it */
    fs_image img;
    double t0 = now_s();
    fs_status st = fs_image_load(imgt_path("png_ztxt_bomb.png"), 3, NULL, &img);
    CHECK_MSG(now_s() - t0 < 1.0, "took %.2f s", now_s() - t0);
    CHECK_MSG(st == FS_OK, "%s", fs_last_error());
    CHECK(img.width == 8 && img.height == 8);
    fs_image_free(&img);
}

TEST(unsupported_variants_have_clear_messages) {
    fs_image img;
    CHECK(fs_image_load(imgt_path("webp_anim.webp"), 3, NULL, &img) == FS_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(fs_last_error(), "animated"), "%s", fs_last_error());
    CHECK(img.data == NULL);
    size_t len;
    unsigned char *d = fixture("bmp_8.bmp", &len);
    put_le32(d + 30, 1); /* BI_RLE8 */
    CHECK(fs_image_decode(d, len, 3, NULL, &img) == FS_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(fs_last_error(), "compression"), "%s", fs_last_error());
    free(d);
    d = fixture("bmp_24.bmp", &len);
    d[28] = 16; /* 16-bit */
    CHECK(fs_image_decode(d, len, 3, NULL, &img) == FS_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(fs_last_error(), "16 bits"), "%s", fs_last_error());
    d[28] = 24;
    put_le32(d + 14, 41); /* unknown header size: no longer sniffed as BMP */
    CHECK(fs_image_decode(d, len, 3, NULL, &img) == FS_ERR_FORMAT);
    free(d);
    d = fixture("bmp_32_v5_bitfields.bmp", &len);
    put_le32(d + 54, 0x00FF00u); /* swapped masks */
    put_le32(d + 58, 0xFF0000u);
    CHECK(fs_image_decode(d, len, 3, NULL, &img) == FS_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(fs_last_error(), "mask"), "%s", fs_last_error());
    free(d);
}

TEST(corrupt_png_crc_and_jpeg_garbage) {
    size_t len;
    unsigned char *d = fixture("png_palette.png", &len);
    d[20] ^= 0x55; /* inside IHDR: CRC mismatch on a critical chunk */
    fs_image img;
    CHECK(fs_image_decode(d, len, 3, NULL, &img) == FS_ERR_FORMAT);
    CHECK_MSG(strstr(fs_last_error(), "PNG"), "%s", fs_last_error());
    free(d);
    d = fixture("jpeg_progressive.jpg", &len);
    for (size_t i = len / 2; i < len - 2; i++) d[i] = (unsigned char)(i * 37); /* garbage scan data */
    fs_status st = fs_image_decode(d, len, 3, NULL, &img);
    CHECK(st == FS_OK || st == FS_ERR_FORMAT);
    if (st == FS_OK) CHECK(img.width == 56 && img.height == 40);
    fs_image_free(&img);
    free(d);
}

/* Scans of a JPEG: offsets of each SOS marker and of the end of its entropy-coded data. */
static int jpeg_last_scan(const unsigned char *d, size_t len, size_t *start, size_t *end) {
    int found = 0;
    for (size_t i = 2; i + 3 < len;) {
        if (d[i] != 0xFF) return found;
        unsigned m = d[i + 1], seg = (unsigned)d[i + 2] << 8 | d[i + 3];
        if (m == 0xD9) break;
        size_t j = i + 2 + seg;
        if (m == 0xDA) { /* entropy data runs to the next marker that is not a stuffed 0 or RSTn */
            while (j + 1 < len && !(d[j] == 0xFF && d[j + 1] != 0 && !(d[j + 1] >= 0xD0 && d[j + 1] <= 0xD7))) j++;
            *start = i;
            *end = j;
            found = 1;
        }
        i = j;
    }
    return found;
}

TEST(jpeg_with_thousands_of_scans_is_refused) {
    size_t len, s, e;
    unsigned char *d = fixture("jpeg_progressive.jpg", &len);
    CHECK(d && jpeg_last_scan(d, len, &s, &e));
    const int reps = 1200;
    size_t n = e + (size_t)reps * (e - s) + 2;
    unsigned char *big = malloc(n);
    memcpy(big, d, e);
    for (int r = 0; r < reps; r++) memcpy(big + e + (size_t)r * (e - s), d + s, e - s);
    big[n - 2] = 0xFF;
    big[n - 1] = 0xD9;
    fs_image img;
    double t0 = now_s();
    fs_status st = fs_image_decode(big, n, 3, NULL, &img);
    CHECK_MSG(st == FS_ERR_FORMAT && strstr(fs_last_error(), "scans"), "status %d: %s", st, fs_last_error());
    CHECK_MSG(now_s() - t0 < 2.0, "took %.2f s", now_s() - t0);
    /* the same file with a few repeated scans still decodes */
    n = e + 3 * (e - s) + 2;
    memcpy(big + n - 2, "\xff\xd9", 2);
    st = fs_image_decode(big, n, 3, NULL, &img);
    CHECK_MSG(st == FS_OK, "%s", fs_last_error());
    fs_image_free(&img);
    free(big);
    free(d);
}
