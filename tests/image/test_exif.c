/* tests/image — JPEG EXIF orientation 1..8 (fixtures exif_<k>.jpg: a 24x16 JPEG whose stored
 * quadrants are red | green over blue | white, with an APP1 EXIF orientation k, alternately
 * big- and little-endian) and the bounds-checked EXIF reader. */
#include "../test.h"
#include "imgt.h"

#include "image/img_internal.h"

#include <stdlib.h>
#include <string.h>

enum { R, G, B, W };
static const uint8_t colors[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};

/* Displayed top-left, top-right, bottom-left quadrant for each orientation (EXIF 2.3 spec). */
static const int expect_tl_tr_bl[9][3] = {
    {0, 0, 0}, {R, G, B}, {G, R, W}, {W, B, G}, {B, W, R}, {R, B, G}, {B, R, W}, {W, G, B}, {G, W, R},
};

static int near_color(const uint8_t *p, int c) {
    for (int k = 0; k < 3; k++)
        if (abs(p[k] - colors[c][k]) > 60) return 0;
    return 1;
}

TEST(exif_orientations_1_to_8_upright) {
    fs_image ref;
    CHECK(fs_image_load(imgt_path("exif_1.jpg"), 3, NULL, &ref) == FS_OK);
    CHECK(ref.width == 24 && ref.height == 16);
    for (int o = 1; o <= 8; o++) {
        char name[32];
        snprintf(name, sizeof name, "exif_%d.jpg", o);
        fs_image img;
        CHECK_MSG(fs_image_load(imgt_path(name), 3, NULL, &img) == FS_OK, "%s: %s", name, fs_last_error());
        int swap = o >= 5;
        CHECK_MSG(img.width == (swap ? 16 : 24) && img.height == (swap ? 24 : 16), "%s: %dx%d", name, img.width,
                  img.height);
        /* quadrant centres land where the spec says */
        int qx = img.width / 4, qy = img.height / 4;
        CHECK_MSG(near_color(imgt_px(&img, qx, qy), expect_tl_tr_bl[o][0]), "%s: top-left", name);
        CHECK_MSG(near_color(imgt_px(&img, img.width - 1 - qx, qy), expect_tl_tr_bl[o][1]), "%s: top-right", name);
        CHECK_MSG(near_color(imgt_px(&img, qx, img.height - 1 - qy), expect_tl_tr_bl[o][2]), "%s: bottom-left", name);
        /* and every pixel is the exact flip/rotation of the unrotated decode (same JPEG data) */
        for (int y = 0; y < img.height; y++)
            for (int x = 0; x < img.width; x++) {
                int sx, sy, Wd = ref.width, Hd = ref.height;
                switch (o) {
                case 1: sx = x; sy = y; break;
                case 2: sx = Wd - 1 - x; sy = y; break;
                case 3: sx = Wd - 1 - x; sy = Hd - 1 - y; break;
                case 4: sx = x; sy = Hd - 1 - y; break;
                case 5: sx = y; sy = x; break;
                case 6: sx = y; sy = Hd - 1 - x; break;
                case 7: sx = Wd - 1 - y; sy = Hd - 1 - x; break;
                default: sx = Wd - 1 - y; sy = x; break;
                }
                CHECK_MSG(!memcmp(imgt_px(&img, x, y), imgt_px(&ref, sx, sy), 3), "%s: pixel %d,%d", name, x, y);
            }
        fs_image_free(&img);
    }
    fs_image_free(&ref);
}

TEST(exif_orientation_matches_opencv) {
    int n, checked = 0;
    imgt_ref *refs = imgt_refs(&n);
    CHECK(refs);
    for (int i = 0; i < n; i++) {
        if (strcmp(refs[i].kind, "decode3") || strncmp(refs[i].file, "exif_", 5)) continue;
        fs_image img;
        CHECK(fs_image_load(imgt_path(refs[i].file), 3, NULL, &img) == FS_OK);
        CHECK_MSG(img.width == refs[i].w && img.height == refs[i].h && imgt_hash(&img) == refs[i].hash,
                  "%s differs from cv2.imread", refs[i].file);
        /* gray decode is rotated too */
        fs_image g;
        CHECK(fs_image_load(imgt_path(refs[i].file), 1, NULL, &g) == FS_OK);
        CHECK(g.width == img.width && g.height == img.height && g.channels == 1);
        fs_image_free(&g);
        fs_image_free(&img);
        checked++;
    }
    free(refs);
    CHECK(checked == 8);
}

/* Builds "Exif\0\0" + TIFF with IFD0 holding `count` entries whose last is orientation o. */
static size_t make_app1(uint8_t *b, int be, int count, uint16_t type, uint32_t n, uint16_t o) {
    size_t k = 0;
    memcpy(b, "Exif\0\0", 6);
    k = 6;
#define P16(v) (be ? (b[k] = (uint8_t)((v) >> 8), b[k + 1] = (uint8_t)(v)) : (b[k] = (uint8_t)(v), b[k + 1] = (uint8_t)((v) >> 8)), k += 2)
#define P32(v) (be ? (P16((uint32_t)(v) >> 16), P16((v) & 0xFFFF)) : (P16((v) & 0xFFFF), P16((uint32_t)(v) >> 16)))
    b[k++] = be ? 'M' : 'I';
    b[k++] = be ? 'M' : 'I';
    P16(42);
    P32(8);
    P16(count);
    for (int i = 0; i < count - 1; i++) { P16(0x0100 + i); P16(3); P32(1); P16(7); P16(0); }
    P16(0x0112); P16(type); P32(n); P16(o); P16(0);
    P32(0);
#undef P16
#undef P32
    return k;
}

TEST(exif_reader_bounds_and_malformed) {
    uint8_t b[512];
    size_t n;
    for (int be = 0; be < 2; be++)
        for (int o = 1; o <= 8; o++) {
            n = make_app1(b, be, 3, 3, 1, (uint16_t)o);
            CHECK(img_exif_orientation(b, n) == o);
            /* every truncation is safe, and the full tag is needed */
            for (size_t t = 0; t < n; t++) {
                int r = img_exif_orientation(b, t);
                CHECK(r == 1 || (r == o && t >= n - 6)); /* value: 2 bytes at entry + 8 */
            }
        }
    n = make_app1(b, 0, 1, 3, 1, 9);
    CHECK(img_exif_orientation(b, n) == 1); /* out of range value */
    n = make_app1(b, 0, 1, 4, 1, 6);
    CHECK(img_exif_orientation(b, n) == 1); /* wrong type (LONG) */
    n = make_app1(b, 0, 1, 3, 2, 6);
    CHECK(img_exif_orientation(b, n) == 1); /* count 2 */
    n = make_app1(b, 1, 2, 3, 1, 6);
    b[6 + 8] = 0xFF; b[6 + 9] = 0xFF;        /* IFD count 65535: the tag is still found */
    CHECK(img_exif_orientation(b, n) == 6);
    b[n - 16 + 1] = 0x13;                    /* ... and without it, reads stop at the end */
    CHECK(img_exif_orientation(b, n) == 1);
    n = make_app1(b, 0, 1, 3, 1, 6);
    b[6 + 4] = 0xF0; b[6 + 7] = 0x7F;        /* IFD offset far outside */
    CHECK(img_exif_orientation(b, n) == 1);
    b[6 + 7] = 0xFF; b[6 + 4] = 0xFF; b[6 + 5] = 0xFF; b[6 + 6] = 0xFF; /* offset 0xFFFFFFFF */
    CHECK(img_exif_orientation(b, n) == 1);
    n = make_app1(b, 0, 1, 3, 1, 6);
    b[6] = 'X';                              /* bad byte order */
    CHECK(img_exif_orientation(b, n) == 1);
    CHECK(img_exif_orientation(NULL, 0) == 1);
    CHECK(img_exif_orientation((const uint8_t *)"Exif\0\0", 6) == 1);
}

TEST(exif_apply_orientation_gray_and_identity) {
    fs_image g;
    CHECK(fs_image_alloc(&g, 3, 2, 1) == FS_OK);
    for (int i = 0; i < 6; i++) g.data[i] = (uint8_t)i; /* 0 1 2 / 3 4 5 */
    CHECK(img_apply_orientation(&g, 6) == FS_OK);        /* rotate CW: 3 0 / 4 1 / 5 2 */
    CHECK(g.width == 2 && g.height == 3);
    static const uint8_t want[6] = {3, 0, 4, 1, 5, 2};
    CHECK(!memcmp(g.data, want, 6));
    CHECK(img_apply_orientation(&g, 1) == FS_OK && g.width == 2);
    CHECK(img_apply_orientation(&g, 0) == FS_OK && g.width == 2);
    CHECK(img_apply_orientation(&g, 8) == FS_OK); /* back */
    static const uint8_t orig[6] = {0, 1, 2, 3, 4, 5};
    CHECK(g.width == 3 && !memcmp(g.data, orig, 6));
    fs_image_free(&g);
}
