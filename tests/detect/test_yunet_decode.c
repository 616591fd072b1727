/* tests/detect — YuNet decoding, letterbox geometry and input packing on hand-built tensors. */
#include "../test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect/yunet.h"

/* A 64x64 input: grids 8x8 (stride 8), 4x4 (16), 2x2 (32); every output zero unless set. */
typedef struct {
    float cls[3][64], obj[3][64], bbox[3][64 * 4], kps[3][64 * 10];
    yunet_level lv[3];
} synth;

static void synth_init(synth *s) {
    memset(s, 0, sizeof *s);
    for (int l = 0; l < 3; l++) {
        int st = 8 << l, g = 64 / st;
        s->lv[l] = (yunet_level){st, g, g, s->cls[l], s->obj[l], s->bbox[l], s->kps[l]};
    }
}

TEST(decode_one_anchor_exactly) {
    static synth s;
    synth_init(&s);
    /* stride 8, row 3, col 5: score sqrt(0.81 * 1) = 0.9 */
    int i = 3 * 8 + 5;
    s.cls[0][i] = 0.81f; s.obj[0][i] = 1.0f;
    float *b = &s.bbox[0][i * 4];
    b[0] = 0.5f; b[1] = 0.25f; b[2] = logf(2.f); b[3] = logf(3.f);
    for (int k = 0; k < 5; k++) { s.kps[0][i * 10 + 2 * k] = 0.1f * k; s.kps[0][i * 10 + 2 * k + 1] = -0.2f; }
    det_faces out = {0};
    CHECK(yunet_decode(s.lv, 3, 0.6f, &out) == FS_OK);
    CHECK(out.n == 1);
    fs_face *f = &out.v[0];
    CHECK_NEAR(f->confidence, 0.9, 1e-6);
    /* cx = 5.5*8 = 44, cy = 3.25*8 = 26, w = 16, h = 24 */
    CHECK_NEAR(f->box.x, 36, 1e-4);
    CHECK_NEAR(f->box.y, 14, 1e-4);
    CHECK_NEAR(f->box.w, 16, 1e-4);
    CHECK_NEAR(f->box.h, 24, 1e-4);
    CHECK(f->has_landmarks);
    for (int k = 0; k < 5; k++) {
        CHECK_NEAR(f->landmarks[k][0], (5 + 0.1 * k) * 8, 1e-4);
        CHECK_NEAR(f->landmarks[k][1], 2.8 * 8, 1e-4);
    }
    free(out.v);
}

TEST(decode_threshold_clamp_and_levels) {
    static synth s;
    synth_init(&s);
    /* stride 32, row 1, col 0: cls 1.2 clamps to 1, obj 0.49 -> 0.7 */
    s.cls[2][2] = 1.2f; s.obj[2][2] = 0.49f;
    /* stride 16, row 0, col 3: 0.5 * 0.5 -> 0.5, below 0.6 */
    s.cls[1][3] = 0.5f; s.obj[1][3] = 0.5f;
    /* negative cls clamps to 0 */
    s.cls[1][5] = -0.5f; s.obj[1][5] = 1.0f;
    /* NaN never passes */
    s.cls[0][7] = NAN; s.obj[0][7] = 1.0f;
    /* a hostile log-size is capped, not inf */
    s.cls[0][9] = 1.0f; s.obj[0][9] = 1.0f; s.bbox[0][9 * 4 + 2] = 1e30f; s.bbox[0][9 * 4 + 3] = 80.f;
    det_faces out = {0};
    CHECK(yunet_decode(s.lv, 3, 0.6f, &out) == FS_OK);
    CHECK(out.n == 2);
    /* level order: stride 8 first */
    CHECK_NEAR(out.v[0].confidence, 1.0, 1e-6);
    CHECK(isfinite(out.v[0].box.w) && isfinite(out.v[0].box.x));
    CHECK_NEAR(out.v[1].confidence, 0.7, 1e-6);
    /* stride 32, col 0, row 1, zero offsets: centre (0, 32), size 32 */
    CHECK_NEAR(out.v[1].box.x, -16, 1e-4);
    CHECK_NEAR(out.v[1].box.y, 16, 1e-4);
    CHECK_NEAR(out.v[1].box.w, 32, 1e-4);
    out.n = 0;
    CHECK(yunet_decode(s.lv, 3, 0.4f, &out) == FS_OK);
    CHECK(out.n == 3);
    out.n = 0;
    CHECK(yunet_decode(s.lv, 3, 0.0f, &out) == FS_OK);
    CHECK(out.n == 64 + 16 + 4 - 1); /* every anchor except NaN (score 0 >= 0) */
    free(out.v);
}

TEST(geometry_fixed_and_dynamic) {
    yunet_geom g;
    /* golden setting: face.jpg 512x355 into 640x640: scale 1.25, 640x443 (int(443.75)) */
    CHECK(yunet_geometry(512, 355, 640, 640, 0, &g) == FS_OK);
    CHECK(g.rw == 640 && g.rh == 443 && g.in_w == 640 && g.in_h == 640);
    CHECK_NEAR(g.scale, 1.25, 1e-12);
    CHECK(yunet_geometry(512, 600, 320, 320, 0, &g) == FS_OK); /* portrait: height limits */
    CHECK(g.rh == 320 && g.rw == 273 && g.in_w == 320);
    /* dynamic: longer side to 640, padded to /32 */
    CHECK(yunet_geometry(1280, 720, 0, 0, 640, &g) == FS_OK);
    CHECK(g.rw == 640 && g.rh == 360 && g.in_w == 640 && g.in_h == 384);
    CHECK(yunet_geometry(512, 355, 0, 0, 640, &g) == FS_OK);
    CHECK(g.rw == 640 && g.rh == 443 && g.in_h == 448);
    CHECK(yunet_geometry(3, 5000, 0, 0, 640, &g) == FS_OK); /* extreme aspect: at least 1 px */
    CHECK(g.rh == 640 && g.rw == 1 && g.in_w == 32);
    CHECK(yunet_geometry(0, 10, 640, 640, 0, &g) == FS_ERR_ARG);
    CHECK(yunet_geometry(10, 10, 0, 0, 0, &g) == FS_ERR_ARG);
    CHECK(yunet_geometry(10, 10, 0, 0, 100000, &g) == FS_ERR_ARG);
}

TEST(map_back_scales_and_clips) {
    yunet_geom g;
    CHECK(yunet_geometry(512, 355, 640, 640, 0, &g) == FS_OK);
    fs_face f[2];
    memset(f, 0, sizeof f);
    f[0].box = (fs_rect){100, 50, 20, 40};
    f[0].landmarks[2][0] = 125; f[0].landmarks[2][1] = 250;
    f[1].box = (fs_rect){-10, 430, 30, 40}; /* crosses the left and bottom edges */
    yunet_map_back(&g, f, 2);
    CHECK_NEAR(f[0].box.x, 80, 1e-4);
    CHECK_NEAR(f[0].box.y, 40, 1e-4);
    CHECK_NEAR(f[0].box.w, 16, 1e-4);
    CHECK_NEAR(f[0].box.h, 32, 1e-4);
    CHECK_NEAR(f[0].landmarks[2][0], 100, 1e-4);
    CHECK_NEAR(f[0].landmarks[2][1], 200, 1e-4);
    CHECK_NEAR(f[1].box.x, 0, 1e-6);
    CHECK_NEAR(f[1].box.w, 16, 1e-4);         /* x1 = 20/1.25 */
    CHECK_NEAR(f[1].box.y, 344, 1e-4);
    CHECK_NEAR(f[1].box.h, 355 - 344, 1e-4);  /* clipped at the bottom */
}

TEST(pack_bgr_planar_top_left) {
    uint8_t px[2 * 3 + 2] = {10, 20, 30, 40, 50, 60, 0, 0}; /* 2x1 RGB, stride 8 */
    fs_image img = {2, 1, 3, 8, px};
    float canvas[3 * 4 * 2];
    for (int i = 0; i < 24; i++) canvas[i] = -1.f;
    yunet_pack_bgr(&img, canvas, 4, 2);
    /* B plane, G plane, R plane; each 4x2; zero outside the image */
    CHECK(canvas[0] == 30 && canvas[1] == 60 && canvas[2] == 0 && canvas[4] == 0);
    CHECK(canvas[8] == 20 && canvas[9] == 50);
    CHECK(canvas[16] == 10 && canvas[17] == 40 && canvas[23] == 0);
    uint8_t gray[3] = {7, 8, 9};
    fs_image gi = {3, 1, 1, 3, gray};
    yunet_pack_bgr(&gi, canvas, 4, 2);
    CHECK(canvas[0] == 7 && canvas[8 + 1] == 8 && canvas[16 + 2] == 9 && canvas[3] == 0);
}

TEST(decode_nms_map_pipeline) {
    static synth s;
    synth_init(&s);
    /* two anchors on one face (stride 8, neighbours), one face elsewhere (stride 16) */
    int a = 2 * 8 + 2, b = 2 * 8 + 3, c = 3 * 4 + 3;
    s.cls[0][a] = 0.9f; s.obj[0][a] = 0.9f;               /* 0.9 */
    s.cls[0][b] = 0.8f; s.obj[0][b] = 0.8f;               /* 0.8 */
    s.bbox[0][a * 4 + 2] = s.bbox[0][a * 4 + 3] = logf(2.f); /* 16x16 at (8,8) */
    s.bbox[0][b * 4 + 0] = -0.75f;                         /* centre x 8*(3-0.75)=18 */
    s.bbox[0][b * 4 + 2] = s.bbox[0][b * 4 + 3] = logf(2.f);
    s.cls[1][c] = 1.f; s.obj[1][c] = 0.64f;               /* 0.8, 16x16 at (40,40) */
    det_faces out = {0};
    CHECK(yunet_decode(s.lv, 3, 0.6f, &out) == FS_OK);
    CHECK(out.n == 3);
    int n = det_nms(out.v, out.n, 0.3f, 0);
    CHECK(n == 2);
    CHECK_NEAR(out.v[0].confidence, 0.9, 1e-6);
    CHECK_NEAR(out.v[1].box.x, 40, 1e-4);
    yunet_geom g;
    CHECK(yunet_geometry(128, 100, 64, 64, 0, &g) == FS_OK); /* scale 0.5 */
    yunet_map_back(&g, out.v, n);
    CHECK_NEAR(out.v[0].box.x, 16, 1e-4);
    CHECK_NEAR(out.v[0].box.w, 32, 1e-4);
    CHECK_NEAR(out.v[1].box.x, 80, 1e-4);
    fs_detections d = {out.v, n, 0, 0};
    det_finish(&d);
    CHECK(d.code == FS_CODE_MANY_FACES && d.largest == 0);
    free(out.v);
}
