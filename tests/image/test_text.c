/* tests/image — text labels (image/text.c): exact glyph pixels at scale 1 and 2, the returned width,
 * '?' for non-ASCII bytes, gray images, and clipping: random positions/scales on a small image must
 * equal the same text drawn on a big canvas and cropped, without touching a byte outside the image
 * (guard bytes around it; `make asan TESTS=text` checks the rest). */
#include "../test.h"
#include "facescore.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* the font's '1' and 'M', written here independently of src/image/text.c */
static const char *const ONE[7] = {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."};
static const char *const EM[7] = {"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"};

static int ink(const fs_image *im, int x, int y) {
    const uint8_t *p = im->data + (size_t)y * im->stride + (size_t)x * im->channels;
    return p[0] == 255 && (im->channels == 1 || (p[1] == 0 && p[2] == 10));
}

static int zero(const fs_image *im, int x, int y) {
    const uint8_t *p = im->data + (size_t)y * im->stride + (size_t)x * im->channels;
    return p[0] == 0 && (im->channels == 1 || (p[1] == 0 && p[2] == 0));
}

/* every pixel of im: ink where glyph g (at ox, oy, scale s) has '#', untouched (0) elsewhere */
static int matches(const fs_image *im, const char *const *g, int ox, int oy, int s) {
    for (int y = 0; y < im->height; y++)
        for (int x = 0; x < im->width; x++) {
            int gx = x - ox, gy = y - oy, on = 0;
            if (gx >= 0 && gy >= 0 && gx < 5 * s && gy < 7 * s) on = g[gy / s][gx / s] == '#';
            if (on ? !ink(im, x, y) : !zero(im, x, y)) return 0;
        }
    return 1;
}

TEST(text_glyph_pixels_scale_1_and_2) {
    fs_image im;
    for (int s = 1; s <= 2; s++) {
        CHECK(fs_image_alloc(&im, 20, 20, 3) == FS_OK);
        CHECK(fs_image_draw_text(&im, 3, 2, "1", s, 255, 0, 10) == 6 * s);
        CHECK_MSG(matches(&im, ONE, 3, 2, s), "'1' at scale %d", s);
        fs_image_free(&im);
        CHECK(fs_image_alloc(&im, 20, 20, 3) == FS_OK);
        fs_image_draw_text(&im, 1, 4, "M", s, 255, 0, 10);
        CHECK_MSG(matches(&im, EM, 1, 4, s), "'M' at scale %d", s);
        fs_image_free(&im);
    }
    /* a second character starts one 6*s cell further; the space draws nothing */
    CHECK(fs_image_alloc(&im, 30, 10, 3) == FS_OK);
    CHECK(fs_image_draw_text(&im, 0, 0, " 1", 1, 255, 0, 10) == 12);
    CHECK(matches(&im, ONE, 6, 0, 1));
    fs_image_free(&im);
    /* gray: the colour's luma (white -> 255) */
    CHECK(fs_image_alloc(&im, 8, 9, 1) == FS_OK);
    fs_image_draw_text(&im, 0, 1, "M", 1, 255, 255, 255);
    CHECK(matches(&im, EM, 0, 1, 1));
    fs_image_free(&im);
}

TEST(text_width_scale_clamp_and_non_ascii) {
    CHECK(fs_image_text_width("3.12 M", 1) == 36);
    CHECK(fs_image_text_width("3.12 M", 2) == 72);
    CHECK(fs_image_text_width("", 3) == 0 && fs_image_text_width(NULL, 1) == 0);
    CHECK(fs_image_text_width("ab", 0) == 12 && fs_image_text_width("ab", -5) == 12); /* clamped to 1 */
    CHECK(fs_image_text_width("ab", 99) == 96);                                       /* clamped to 8 */
    CHECK(fs_image_draw_text(NULL, 0, 0, "abc", 2, 1, 2, 3) == 36);                   /* measure only */
    /* bytes outside 0x20..0x7E are drawn as '?' */
    fs_image a, b;
    CHECK(fs_image_alloc(&a, 40, 10, 3) == FS_OK && fs_image_alloc(&b, 40, 10, 3) == FS_OK);
    CHECK(fs_image_draw_text(&a, 1, 1, "\xc3\xa9\x7f\t", 1, 200, 100, 50) == 24);
    fs_image_draw_text(&b, 1, 1, "????", 1, 200, 100, 50);
    CHECK(!memcmp(a.data, b.data, (size_t)a.stride * a.height));
    int inked = 0;
    for (int i = 0; i < a.stride * a.height; i++) inked += a.data[i] != 0;
    CHECK(inked > 0);
    /* fill_rect: filled, clipped */
    fs_image_free(&a);
    CHECK(fs_image_alloc(&a, 10, 10, 3) == FS_OK);
    fs_image_fill_rect(&a, -3, 7, 5, 100, 9, 8, 7);
    for (int y = 0; y < 10; y++)
        for (int x = 0; x < 10; x++) {
            const uint8_t *p = a.data + (size_t)y * a.stride + (size_t)x * 3;
            int in = x < 2 && y >= 7;
            CHECK(in ? p[0] == 9 && p[1] == 8 && p[2] == 7 : p[0] == 0 && p[1] == 0 && p[2] == 0);
        }
    fs_image_free(&a);
    fs_image_free(&b);
}

#define W 23
#define H 17
#define M 240 /* canvas margin: wider than any text below (4 chars * 48 px) */
#define GUARD 64

TEST(text_clipped_at_every_edge_random_fuzz) {
    /* the small image sits inside a buffer with guard bytes before, after and in a padded stride */
    const int stride = W * 3 + 5;
    size_t total = GUARD + (size_t)stride * H + GUARD;
    uint8_t *buf = malloc(total);
    fs_image big;
    CHECK(buf && fs_image_alloc(&big, W + 2 * M, H + 2 * M, 3) == FS_OK);
    srand(12345);
    static const char alphabet[] = "0123456789.MF? @#Wg|\xff";
    int edges[4] = {0}; /* left, right, top, bottom crossings seen */
    for (int it = 0; it < 400; it++) {
        char text[5];
        int len = 1 + rand() % 4;
        for (int k = 0; k < len; k++) text[k] = alphabet[rand() % (int)(sizeof alphabet - 1)];
        text[len] = 0;
        int s = 1 + rand() % 8;
        int x = -(6 * 8 * 4) + rand() % (W + 6 * 8 * 4 + 4), y = -70 + rand() % (H + 74);
        if (it < 4) { x = (int[]){-3, W - 2, 2, 1}[it]; y = (int[]){1, 2, -4, H - 3}[it]; s = 1; }
        memset(buf, 0xAB, total);
        fs_image im = {W, H, 3, stride, buf + GUARD};
        for (int r = 0; r < H; r++) memset(im.data + (size_t)r * stride, 0, W * 3);
        int w = fs_image_draw_text(&im, x, y, text, s, 255, 0, 10);
        CHECK(w == 6 * s * len);
        memset(big.data, 0, (size_t)big.stride * big.height);
        fs_image_draw_text(&big, x + M, y + M, text, s, 255, 0, 10);
        int same = 1;
        for (int r = 0; r < H && same; r++)
            same = !memcmp(im.data + (size_t)r * stride, big.data + (size_t)(r + M) * big.stride + M * 3, W * 3);
        CHECK_MSG(same, "'%s' at %d,%d scale %d differs from the cropped canvas", text, x, y, s);
        int guard_ok = 1;
        for (size_t i = 0; i < GUARD; i++) guard_ok &= buf[i] == 0xAB && buf[total - 1 - i] == 0xAB;
        for (int r = 0; r < H; r++)
            for (int c = W * 3; c < stride; c++) guard_ok &= im.data[(size_t)r * stride + c] == 0xAB;
        CHECK_MSG(guard_ok, "'%s' at %d,%d scale %d wrote outside the image", text, x, y, s);
        edges[0] += x < 0 && x + w > 0;
        edges[1] += x < W && x + w > W;
        edges[2] += y < 0 && y + 8 * s > 0;
        edges[3] += y < H && y + 8 * s > H;
    }
    CHECK(edges[0] && edges[1] && edges[2] && edges[3]);
    /* far-off and extreme positions draw nothing and do not overflow */
    fs_image im = {W, H, 3, stride, buf + GUARD};
    memset(buf, 0xAB, total);
    for (int r = 0; r < H; r++) memset(im.data + (size_t)r * stride, 0, W * 3);
    const int far[][2] = {{INT_MIN, 0}, {INT_MAX, 0}, {0, INT_MIN}, {0, INT_MAX}, {INT_MAX - 5, INT_MAX - 5},
                          {INT_MIN + 1, INT_MIN + 1}, {-192, 0}, {0, -64}, {-192 + 1, -64 + 1}, {W, 0}, {0, H}};
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++)
        fs_image_draw_text(&im, far[i][0], far[i][1], "MMMM", 8, 255, 0, 10);
    int untouched = 1;
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W * 3; c++) untouched &= im.data[(size_t)r * stride + c] == 0;
    CHECK(untouched);
    fs_image_free(&big);
    free(buf);
}
