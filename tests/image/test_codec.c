/* tests/image — JPEG/PNG encoders and fs_image_save: round trips through our decoders. */
#include "../test.h"
#include "imgt.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void roundtrip_png(const fs_image *src) {
    uint8_t *enc;
    size_t n;
    CHECK(fs_image_encode_png(src, &enc, &n) == FS_OK);
    CHECK(n > 8 && fs_image_sniff(enc, n) == FS_FMT_PNG);
    fs_image back;
    CHECK(fs_image_decode(enc, n, 0, NULL, &back) == FS_OK);
    CHECK(imgt_max_diff(src, &back) == 0);
    fs_image_free(&back);
    free(enc);
}

TEST(png_roundtrip_exact_rgb_and_gray) {
    fs_image rgb, gray;
    CHECK(fs_image_load(imgt_path("noise_rgb.png"), 3, NULL, &rgb) == FS_OK);
    CHECK(fs_image_load(imgt_path("noise_gray.png"), 0, NULL, &gray) == FS_OK && gray.channels == 1);
    roundtrip_png(&rgb);
    roundtrip_png(&gray);
    /* a view with padded stride encodes the visible pixels only */
    fs_image view = rgb;
    view.width = 20;
    roundtrip_png(&view);
    fs_image_free(&rgb);
    fs_image_free(&gray);
}

static double mean_abs_diff(const fs_image *a, const fs_image *b) {
    double s = 0;
    for (int y = 0; y < a->height; y++)
        for (int x = 0; x < a->width * a->channels; x++)
            s += abs(a->data[(size_t)y * a->stride + x] - b->data[(size_t)y * b->stride + x]);
    return s / ((double)a->width * a->height * a->channels);
}

TEST(jpeg_roundtrip_close_and_quality_matters) {
    fs_image src;
    CHECK(fs_image_load("samples/face.jpg", 3, NULL, &src) == FS_OK);
    size_t sizes[2];
    for (int q = 0; q < 2; q++) {
        uint8_t *enc;
        CHECK(fs_image_encode_jpeg(&src, q ? 95 : 30, &enc, &sizes[q]) == FS_OK);
        CHECK(fs_image_sniff(enc, sizes[q]) == FS_FMT_JPEG);
        fs_image back;
        CHECK(fs_image_decode(enc, sizes[q], 0, NULL, &back) == FS_OK);
        CHECK(back.width == src.width && back.height == src.height && back.channels == 3);
        double mad = mean_abs_diff(&src, &back);
        CHECK_MSG(mad < (q ? 2.0 : 6.0), "quality %d: mean |diff| %.2f", q ? 95 : 30, mad);
        fs_image_free(&back);
        free(enc);
    }
    CHECK(sizes[1] > sizes[0]);
    fs_image gray;
    CHECK(fs_image_to_gray(&src, &gray) == FS_OK);
    uint8_t *enc;
    size_t n;
    CHECK(fs_image_encode_jpeg(&gray, 90, &enc, &n) == FS_OK);
    fs_image back;
    CHECK(fs_image_decode(enc, n, 0, NULL, &back) == FS_OK);
    CHECK(back.channels == 1 && mean_abs_diff(&gray, &back) < 3.0);
    fs_image_free(&back);
    free(enc);
    CHECK(fs_image_encode_jpeg(&gray, 0, &enc, &n) == FS_ERR_ARG);
    CHECK(fs_image_encode_jpeg(&gray, 101, &enc, &n) == FS_ERR_ARG);
    CHECK(enc == NULL && n == 0);
    fs_image bad = gray;
    bad.channels = 2;
    CHECK(fs_image_encode_png(&bad, &enc, &n) == FS_ERR_ARG);
    CHECK(fs_image_encode_jpeg(&bad, 90, &enc, &n) == FS_ERR_ARG);
    fs_image_free(&gray);
    fs_image_free(&src);
}

TEST(save_by_extension) {
    fs_image src;
    CHECK(fs_image_load(imgt_path("noise_rgb.png"), 3, NULL, &src) == FS_OK);
    char dir[] = "/tmp/fs_img_saveXXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    static const char *names[] = {"a.png", "b.jpg", "c.JPEG", "d.PNG"};
    static const fs_image_format fmts[] = {FS_FMT_PNG, FS_FMT_JPEG, FS_FMT_JPEG, FS_FMT_PNG};
    char path[256];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        CHECK_MSG(fs_image_save(&src, path) == FS_OK, "%s: %s", path, fs_last_error());
        size_t len;
        unsigned char *d = fs_test_read_file(path, &len);
        CHECK(d && fs_image_sniff(d, len) == fmts[i]);
        free(d);
        fs_image back;
        CHECK(fs_image_load(path, 3, NULL, &back) == FS_OK);
        CHECK(back.width == 48 && back.height == 36);
        if (fmts[i] == FS_FMT_PNG) CHECK(imgt_max_diff(&src, &back) == 0);
        fs_image_free(&back);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/x.gif", dir);
    CHECK(fs_image_save(&src, path) == FS_ERR_ARG);
    CHECK(strstr(fs_last_error(), "extension"));
    snprintf(path, sizeof path, "%s/no/such/dir/x.png", dir);
    CHECK(fs_image_save(&src, path) == FS_ERR_IO);
    CHECK(strstr(fs_last_error(), "x.png"));
    rmdir(dir);
    fs_image_free(&src);
}
