/* tests/image — resize (bilinear, area), affine warp, crop and drawing. Resize and warp are
 * compared with cv2.resize / cv2.warpAffine(WARP_INVERSE_MAP) outputs on noise images
 * (tests/data/image/ref_*.pnm, made by gen.py). Bilinear resize must be bit-exact (the Haar
 * detector's image pyramid relies on it); area and warp within 1 level (they are exact too
 * at the time of writing). */
#include "../test.h"
#include "imgt.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const int sizes[][2] = {{17, 13}, {24, 18}, {20, 15}, {16, 12}, {31, 23}, {61, 47}, {100, 50}, {30, 50}, {1, 1},
                              {12, 36}, {24, 36}, {10, 6}};

/* The same pixels with a padded stride (rows 7 bytes longer, padding filled with 0xEE). */
static fs_image padded_copy(const fs_image *s) {
    fs_image p = *s;
    p.stride = s->width * s->channels + 7;
    p.data = malloc((size_t)p.stride * p.height);
    memset(p.data, 0xEE, (size_t)p.stride * p.height);
    for (int y = 0; y < s->height; y++)
        memcpy(p.data + (size_t)y * p.stride, s->data + (size_t)y * s->stride, (size_t)s->width * s->channels);
    return p;
}

static void resize_case(const char *src_name, const fs_image *src, int w, int h, fs_resize_mode mode) {
    char ref_name[96];
    snprintf(ref_name, sizeof ref_name, "ref_resize_%s_%dx%d_%s.pnm", src_name, w, h,
             mode == FS_RESIZE_AREA ? "area" : "linear");
    fs_image ref, out;
    CHECK_MSG(imgt_read_pnm(imgt_path(ref_name), &ref) == 0, "cannot read %s", ref_name);
    CHECK_MSG(fs_image_resize(src, w, h, mode, &out) == FS_OK, "%s: %s", ref_name, fs_last_error());
    int d = imgt_max_diff(&out, &ref);
    int tol = mode == FS_RESIZE_BILINEAR ? 0 : 1;
    CHECK_MSG(d >= 0 && d <= tol, "%s: max |diff| %d > %d", ref_name, d, tol);
    fs_image_free(&out);
    fs_image_free(&ref);
}

TEST(resize_matches_opencv) {
    static const char *srcs[] = {"rgb", "gray"};
    for (int s = 0; s < 2; s++) {
        char name[64];
        snprintf(name, sizeof name, "noise_%s.png", srcs[s]);
        fs_image src;
        CHECK(fs_image_load(imgt_path(name), 0, NULL, &src) == FS_OK);
        CHECK(src.channels == (s == 0 ? 3 : 1));
        fs_image pad = padded_copy(&src);
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
            for (int m = 0; m < 2; m++) {
                resize_case(srcs[s], &src, sizes[i][0], sizes[i][1], (fs_resize_mode)m);
                resize_case(srcs[s], &pad, sizes[i][0], sizes[i][1], (fs_resize_mode)m);
                if (fs_test_failed()) return;
            }
        free(pad.data);
        fs_image_free(&src);
    }
}

TEST(resize_identity_and_bad_args) {
    fs_image src, out;
    CHECK(fs_image_load(imgt_path("noise_rgb.png"), 3, NULL, &src) == FS_OK);
    CHECK(fs_image_resize(&src, src.width, src.height, FS_RESIZE_BILINEAR, &out) == FS_OK);
    CHECK(imgt_max_diff(&src, &out) == 0);
    fs_image_free(&out);
    CHECK(fs_image_resize(&src, 0, 10, FS_RESIZE_BILINEAR, &out) == FS_ERR_ARG);
    CHECK(fs_image_resize(&src, 10, -1, FS_RESIZE_AREA, &out) == FS_ERR_ARG);
    CHECK(fs_image_resize(&src, 10, 10, (fs_resize_mode)7, &out) == FS_ERR_ARG);
    CHECK(fs_image_resize(NULL, 10, 10, FS_RESIZE_AREA, &out) == FS_ERR_ARG);
    /* constant image stays constant in every mode and size */
    memset(src.data, 77, (size_t)src.stride * src.height);
    for (int m = 0; m < 2; m++)
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            CHECK(fs_image_resize(&src, sizes[i][0], sizes[i][1], (fs_resize_mode)m, &out) == FS_OK);
            for (int k = 0; k < out.width * out.height * 3; k++) CHECK(out.data[k] == 77);
            fs_image_free(&out);
        }
    fs_image_free(&src);
}

TEST(warp_affine_matches_opencv) {
    static const char *srcs[] = {"rgb", "gray"};
    for (int s = 0; s < 2; s++) {
        char name[64];
        snprintf(name, sizeof name, "noise_%s.png", srcs[s]);
        fs_image src;
        CHECK(fs_image_load(imgt_path(name), 0, NULL, &src) == FS_OK);
        for (int i = 0; i < 3; i++) {
            char key[32], ref_name[64];
            snprintf(key, sizeof key, "%s_%d", srcs[s], i);
            snprintf(ref_name, sizeof ref_name, "ref_warp_%s.pnm", key);
            double m[6];
            CHECK_MSG(imgt_warp_matrix(key, m), "no matrix %s in refs.txt", key);
            fs_image ref, out;
            CHECK(imgt_read_pnm(imgt_path(ref_name), &ref) == 0);
            CHECK(fs_image_warp_affine(&src, m, ref.width, ref.height, &out) == FS_OK);
            int d = imgt_max_diff(&out, &ref);
            CHECK_MSG(d >= 0 && d <= 1, "%s: max |diff| %d", ref_name, d);
            fs_image_free(&out);
            fs_image_free(&ref);
        }
        fs_image_free(&src);
    }
}

TEST(warp_affine_identity_shift_and_border) {
    fs_image src, out;
    CHECK(fs_image_load(imgt_path("noise_gray.png"), 0, NULL, &src) == FS_OK);
    double id[6] = {1, 0, 0, 0, 1, 0};
    CHECK(fs_image_warp_affine(&src, id, src.width, src.height, &out) == FS_OK);
    CHECK(imgt_max_diff(&src, &out) == 0);
    fs_image_free(&out);
    double shift[6] = {1, 0, 5, 0, 1, -3}; /* dst(x,y) = src(x+5, y-3) */
    CHECK(fs_image_warp_affine(&src, shift, src.width, src.height, &out) == FS_OK);
    for (int y = 0; y < out.height; y++)
        for (int x = 0; x < out.width; x++) {
            int sx = x + 5, sy = y - 3;
            int want = sx < src.width && sy >= 0 ? *imgt_px(&src, sx, sy) : 0;
            CHECK_MSG(*imgt_px(&out, x, y) == want, "at %d,%d", x, y);
        }
    fs_image_free(&out);
    double far[6] = {1, 0, 1e12, 0, 1, -1e12}; /* all outside: zeros, no overflow */
    CHECK(fs_image_warp_affine(&src, far, 9, 9, &out) == FS_OK);
    for (int k = 0; k < 81; k++) CHECK(out.data[k] == 0);
    fs_image_free(&out);
    double nan[6] = {1, 0, 0, 0, 1, 0};
    nan[2] = 0.0 / 0.0;
    CHECK(fs_image_warp_affine(&src, nan, 9, 9, &out) == FS_ERR_ARG);
    CHECK(fs_image_warp_affine(&src, id, 0, 9, &out) == FS_ERR_ARG);
    fs_image_free(&src);
}

TEST(crop_clips_to_image) {
    fs_image src, out;
    CHECK(fs_image_load(imgt_path("noise_rgb.png"), 3, NULL, &src) == FS_OK); /* 48x36 */
    CHECK(fs_image_crop(&src, 5, 7, 10, 4, &out) == FS_OK);
    CHECK(out.width == 10 && out.height == 4 && out.channels == 3);
    for (int y = 0; y < 4; y++) CHECK(!memcmp(imgt_px(&out, 0, y), imgt_px(&src, 5, 7 + y), 30));
    fs_image_free(&out);
    CHECK(fs_image_crop(&src, -10, -20, 30, 30, &out) == FS_OK); /* -> 0,0 20x10 */
    CHECK(out.width == 20 && out.height == 10);
    CHECK(!memcmp(out.data, src.data, 60));
    fs_image_free(&out);
    CHECK(fs_image_crop(&src, 40, 30, INT_MAX, INT_MAX, &out) == FS_OK); /* no overflow */
    CHECK(out.width == 8 && out.height == 6);
    CHECK(!memcmp(imgt_px(&out, 0, 5), imgt_px(&src, 40, 35), 24));
    fs_image_free(&out);
    CHECK(fs_image_crop(&src, 48, 0, 5, 5, &out) == FS_ERR_ARG);
    CHECK(out.data == NULL);
    CHECK(fs_image_crop(&src, -10, 0, 10, 5, &out) == FS_ERR_ARG);
    CHECK(fs_image_crop(&src, 0, 0, 0, 5, &out) == FS_ERR_ARG);
    CHECK(fs_image_crop(&src, INT_MIN, INT_MIN, INT_MAX, INT_MAX, &out) == FS_ERR_ARG);
    fs_image_free(&src);
}

static int count_color(const fs_image *img, const uint8_t *c) {
    int n = 0;
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) n += !memcmp(imgt_px(img, x, y), c, (size_t)img->channels);
    return n;
}

TEST(draw_rect_and_dot_clipped) {
    fs_image img;
    CHECK(fs_image_alloc(&img, 20, 10, 3) == FS_OK);
    static const uint8_t red[3] = {255, 0, 0};
    fs_image_draw_rect(&img, 2, 3, 5, 4, 1, 255, 0, 0); /* outline of a 5x4 box: 14 pixels */
    CHECK(count_color(&img, red) == 14);
    CHECK(!memcmp(imgt_px(&img, 2, 3), red, 3) && !memcmp(imgt_px(&img, 6, 6), red, 3));
    CHECK(imgt_px(&img, 4, 4)[0] == 0); /* inside untouched */
    CHECK(imgt_px(&img, 7, 3)[0] == 0); /* just outside */
    memset(img.data, 0, 600);
    fs_image_draw_rect(&img, 2, 3, 5, 4, 100, 255, 0, 0); /* thick: fills the box only */
    CHECK(count_color(&img, red) == 20);
    memset(img.data, 0, 600);
    fs_image_draw_rect(&img, -5, -5, 1000, 1000, 2, 255, 0, 0); /* only the top/left bands are inside */
    CHECK(count_color(&img, red) == 0);
    fs_image_draw_rect(&img, -1, -1, 22, 12, 2, 255, 0, 0); /* border band of width 1 inside */
    CHECK(count_color(&img, red) == 2 * 20 + 2 * 8);
    fs_image_draw_rect(&img, INT_MAX - 1, INT_MAX - 1, INT_MAX, INT_MAX, INT_MAX, 1, 2, 3);
    fs_image_draw_rect(&img, INT_MIN, INT_MIN, INT_MAX, INT_MAX, INT_MAX, 9, 9, 9);
    memset(img.data, 0, 600);
    fs_image_draw_dot(&img, 10, 5, 0, 255, 0, 0);
    CHECK(count_color(&img, red) == 1 && !memcmp(imgt_px(&img, 10, 5), red, 3));
    fs_image_draw_dot(&img, 10, 5, 2, 255, 0, 0); /* disc of radius 2: 13 pixels */
    CHECK(count_color(&img, red) == 13);
    fs_image_draw_dot(&img, 0, 0, 1, 255, 0, 0); /* corner: clipped */
    CHECK(count_color(&img, red) == 13 + 3);
    fs_image_draw_dot(&img, -1000, 4, 5, 0, 255, 0);
    fs_image_draw_dot(&img, 5, 5, INT_MAX, 0, 0, 255); /* covers everything, no hang */
    static const uint8_t blue[3] = {0, 0, 255};
    CHECK(count_color(&img, blue) == 200);
    fs_image_draw_dot(&img, INT_MIN, INT_MAX, INT_MAX, 1, 1, 1);
    fs_image_free(&img);
    /* gray images get the luma of the color */
    CHECK(fs_image_alloc(&img, 4, 4, 1) == FS_OK);
    fs_image_draw_dot(&img, 1, 1, 0, 255, 0, 0);
    CHECK(img.data[5] == (255 * 9798 + (1 << 14)) >> 15);
    fs_image_free(&img);
}

TEST(alloc_rejects_bad_sizes) {
    fs_image img;
    CHECK(fs_image_alloc(&img, 0, 5, 3) == FS_ERR_ARG);
    CHECK(fs_image_alloc(&img, 5, 5, 2) == FS_ERR_ARG);
    CHECK(fs_image_alloc(&img, INT_MAX, INT_MAX, 3) == FS_ERR_LIMIT);
    CHECK(img.data == NULL);
    CHECK(fs_image_alloc(&img, 3, 2, 3) == FS_OK);
    CHECK(img.stride == 9 && img.data[17] == 0);
    fs_image_free(&img);
    CHECK(img.data == NULL);
    fs_image_free(NULL);
}

TEST(ops_refuse_dst_aliasing_src) {
    fs_image img;
    CHECK(fs_image_load(imgt_path("noise_rgb.png"), 3, NULL, &img) == FS_OK);
    uint8_t *data = img.data;
    double id[6] = {1, 0, 0, 0, 1, 0};
    CHECK(fs_image_to_gray(&img, &img) == FS_ERR_ARG);
    CHECK(fs_image_resize(&img, 5, 5, FS_RESIZE_AREA, &img) == FS_ERR_ARG);
    CHECK(fs_image_crop(&img, 0, 0, 5, 5, &img) == FS_ERR_ARG);
    CHECK(fs_image_warp_affine(&img, id, 5, 5, &img) == FS_ERR_ARG);
    CHECK(img.data == data && img.width == 48); /* untouched */
    fs_image_free(&img);
}
