/* tests/image — decoding against OpenCV 4.6 (cv2.imread) and against the lossless sources the
 * fixtures were written from; gray conversion bit-exact with cv2.cvtColor(BGR2GRAY). */
#include "../test.h"
#include "imgt.h"

#include <stdlib.h>
#include <string.h>

/* Decodes ref r (want channels) and compares dims and hash; 1 = checked, 0 = file absent. */
static int check_ref(const imgt_ref *r, int want, int gray) {
    char *path = imgt_ref_path(r->file);
    if (!fs_test_exists(path)) { free(path); return 0; }
    fs_image img;
    fs_status st = fs_image_load(path, want, NULL, &img);
    IMGT_REQ(1, st == FS_OK, "%s: %s", path, fs_last_error());
    if (gray) {
        fs_image g;
        IMGT_REQ(1, fs_image_to_gray(&img, &g) == FS_OK, "to_gray");
        fs_image_free(&img);
        img = g;
    }
    IMGT_REQ(1, img.width == r->w && img.height == r->h && img.channels == r->c,
              "%s %s: got %dx%dx%d, want %dx%dx%d", r->kind, r->file, img.width, img.height, img.channels,
              r->w, r->h, r->c);
    uint64_t h = imgt_hash(&img);
    IMGT_REQ(1, h == r->hash, "%s %s (want %d, gray %d): pixels differ from the reference", r->kind, r->file,
              want, gray);
    fs_image_free(&img);
    free(path);
    return 1;
}

/* Runs every ref of `kind`; returns how many were checked (files present). */
static int run_kind(const char *kind, int want, int gray, const char *only_prefix) {
    int n, checked = 0;
    imgt_ref *refs = imgt_refs(&n);
    IMGT_REQ(0, refs && n > 0, "cannot read " IMGT_DIR "refs.txt");
    for (int i = 0; i < n && !fs_test_failed(); i++) {
        if (strcmp(refs[i].kind, kind)) continue;
        if (only_prefix && strncmp(refs[i].file, only_prefix, strlen(only_prefix))) continue;
        if (!only_prefix && strchr(refs[i].file, ':')) continue;
        checked += check_ref(&refs[i], want, gray);
    }
    free(refs);
    return checked;
}

TEST(decode_fixtures_match_opencv_imread) {
    int n = run_kind("decode3", 3, 0, NULL);
    if (fs_test_failed()) return;
    CHECK_MSG(n >= 30, "only %d fixtures checked", n);
}

TEST(decode_native_channels_match_sources) {
    /* lossless fixtures: want 0 keeps gray files gray, pixels equal the source (16-bit -> high byte,
     * palette expanded, alpha dropped, interlaced, BMP 1/4/8/24/32-bit, top-down, OS/2, WebP lossless) */
    int n = run_kind("exact", 0, 0, NULL);
    if (fs_test_failed()) return;
    CHECK_MSG(n >= 18, "only %d fixtures checked", n);
    CHECK(run_kind("decode0", 0, 0, NULL) == 1);
}

TEST(decode_sample_photo_matches_opencv) {
    CHECK(run_kind("decode3", 3, 0, "repo:") == 1);
}

TEST(decode_shared_bmp_matches_opencv) {
    int n = run_kind("decode3", 3, 0, "shared:");
    if (fs_test_failed()) return;
    if (n == 0) SKIP("../shared/models/test_images absent");
}

TEST(gray_bit_exact_with_opencv_cvtcolor) {
    int n = run_kind("gray", 3, 1, NULL) + run_kind("gray", 3, 1, "repo:") + run_kind("gray", 3, 1, "shared:");
    if (fs_test_failed()) return;
    CHECK(n >= 2);
    /* decoding straight to gray is the same as decode RGB + to_gray */
    n = run_kind("gray", 1, 0, "repo:") + run_kind("gray", 1, 0, "shared:");
    if (fs_test_failed()) return;
    CHECK(n >= 1);
}

TEST(gray_formula_all_colors_sampled) {
    /* OpenCV 4.6: (R*9798 + G*19235 + B*3735 + 2^14) >> 15 */
    fs_image img;
    CHECK(fs_image_alloc(&img, 64, 64, 3) == FS_OK);
    uint64_t s = 42;
    for (int i = 0; i < 64 * 64 * 3; i++) img.data[i] = (uint8_t)imgt_rand(&s);
    img.data[0] = img.data[1] = img.data[2] = 255;
    fs_image g;
    CHECK(fs_image_to_gray(&img, &g) == FS_OK);
    for (int i = 0; i < 64 * 64; i++) {
        const uint8_t *p = img.data + 3 * i;
        int want = (p[0] * 9798 + p[1] * 19235 + p[2] * 3735 + (1 << 14)) >> 15;
        CHECK_MSG(g.data[i] == want, "pixel %d: %d vs %d", i, g.data[i], want);
    }
    CHECK(g.data[0] == 255);
    fs_image_free(&img);
    fs_image_free(&g);
}

TEST(sniff_by_magic_not_extension) {
    CHECK(fs_image_sniff("\xff\xd8\xff\xe0", 4) == FS_FMT_JPEG);
    CHECK(fs_image_sniff("\x89PNG\r\n\x1a\n", 8) == FS_FMT_PNG);
    CHECK(fs_image_sniff("RIFF\0\0\0\0WEBPVP8 ", 16) == FS_FMT_WEBP);
    CHECK(fs_image_sniff("RIFF\0\0\0\0WAVEfmt ", 16) == FS_FMT_UNKNOWN);
    CHECK(fs_image_sniff("BM", 2) == FS_FMT_BMP);
    CHECK(fs_image_sniff("BMxxxxxxxxxxxx\x28\0\0\0", 18) == FS_FMT_BMP);
    CHECK(fs_image_sniff("BMxxxxxxxxxxxx\x29\0\0\0", 18) == FS_FMT_UNKNOWN);
    CHECK(fs_image_sniff("GIF89a", 6) == FS_FMT_UNKNOWN);
    CHECK(fs_image_sniff("\xff\xd8", 2) == FS_FMT_UNKNOWN);
    CHECK(fs_image_sniff(NULL, 0) == FS_FMT_UNKNOWN);
    /* a PNG file renamed .jpg still decodes as PNG, from memory */
    size_t len;
    unsigned char *d = fs_test_read_file(imgt_path("png_palette.png"), &len);
    CHECK(d);
    CHECK(fs_image_sniff(d, len) == FS_FMT_PNG);
    fs_image img;
    CHECK(fs_image_decode(d, len, 3, NULL, &img) == FS_OK);
    CHECK(img.width == 56 && img.height == 40 && img.channels == 3);
    fs_image_free(&img);
    free(d);
}

TEST(want_channels_conversions) {
    fs_image a, b, c;
    /* gray JPEG: 0 -> 1 channel, 3 -> replicated RGB */
    CHECK(fs_image_load(imgt_path("jpeg_gray.jpg"), 0, NULL, &a) == FS_OK);
    CHECK(a.channels == 1);
    CHECK(fs_image_load(imgt_path("jpeg_gray.jpg"), 3, NULL, &b) == FS_OK);
    CHECK(b.channels == 3 && b.width == a.width);
    for (int y = 0; y < a.height; y++)
        for (int x = 0; x < a.width; x++) {
            const uint8_t *p = imgt_px(&b, x, y);
            CHECK(p[0] == *imgt_px(&a, x, y) && p[1] == p[0] && p[2] == p[0]);
        }
    /* RGB file asked as gray */
    CHECK(fs_image_load(imgt_path("png_palette.png"), 1, NULL, &c) == FS_OK);
    CHECK(c.channels == 1 && c.width == 56);
    fs_image_free(&c);
    CHECK(fs_image_load(imgt_path("png_palette.png"), 2, NULL, &c) == FS_ERR_ARG);
    CHECK(c.data == NULL);
    fs_image_free(&a);
    fs_image_free(&b);
}

TEST(cmyk_jpeg_colors_are_right) {
    /* the same picture saved as Adobe CMYK and as YCbCr: decoded colours agree on average */
    fs_image a, b;
    CHECK(fs_image_load(imgt_path("jpeg_cmyk.jpg"), 0, NULL, &a) == FS_OK);
    CHECK(fs_image_load(imgt_path("jpeg_progressive.jpg"), 0, NULL, &b) == FS_OK);
    CHECK(a.channels == 3 && b.channels == 3 && a.width == b.width && a.height == b.height);
    double s = 0;
    for (int i = 0; i < a.width * a.height * 3; i++) s += abs(a.data[i] - b.data[i]);
    s /= a.width * a.height * 3;
    CHECK_MSG(s < 5.0, "mean |diff| %.2f", s);
    fs_image_free(&a);
    fs_image_free(&b);
}
