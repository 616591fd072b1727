/* tests/detect — IoU, NMS, ordering, result codes (detect/nms.c). */
#include "../test.h"

#include <stdlib.h>
#include <string.h>

#include "detect/yunet.h"

static fs_face mk(float x, float y, float w, float h, float score) {
    fs_face f;
    memset(&f, 0, sizeof f);
    f.box.x = x; f.box.y = y; f.box.w = w; f.box.h = h;
    f.confidence = score;
    return f;
}

TEST(iou_known_values) {
    fs_rect a = {0, 0, 10, 10}, b = {5, 0, 10, 10}, c = {20, 20, 5, 5}, e = {3, 3, 0, 4};
    CHECK_NEAR(det_iou(&a, &b), 50.0 / 150.0, 1e-6);
    CHECK_NEAR(det_iou(&b, &a), 50.0 / 150.0, 1e-6);
    CHECK_NEAR(det_iou(&a, &a), 1.0, 1e-6);
    CHECK(det_iou(&a, &c) == 0.f);
    CHECK(det_iou(&a, &e) == 0.f); /* empty box */
    fs_rect in = {2, 2, 5, 5};     /* contained: 25 / 100 */
    CHECK_NEAR(det_iou(&a, &in), 0.25, 1e-6);
}

TEST(nms_suppresses_greedily_by_score) {
    /* D beats A (IoU 1/3) and B (IoU 60/140); C is far away. */
    fs_face f[4] = {mk(0, 0, 10, 10, 0.90f), mk(1, 0, 10, 10, 0.80f), mk(20, 20, 10, 10, 0.70f),
                    mk(5, 0, 10, 10, 0.95f)};
    int n = det_nms(f, 4, 0.3f, 0);
    CHECK(n == 2);
    CHECK(f[0].box.x == 5 && f[0].confidence == 0.95f);
    CHECK(f[1].box.x == 20);

    fs_face g[4] = {mk(0, 0, 10, 10, 0.90f), mk(1, 0, 10, 10, 0.80f), mk(20, 20, 10, 10, 0.70f),
                    mk(5, 0, 10, 10, 0.95f)};
    n = det_nms(g, 4, 0.5f, 0); /* A survives D (1/3 <= 0.5), B dies to A (0.818) */
    CHECK(n == 3);
    CHECK(g[0].box.x == 5 && g[1].box.x == 0 && g[2].box.x == 20);

    fs_face h[4] = {mk(0, 0, 10, 10, 0.90f), mk(1, 0, 10, 10, 0.80f), mk(20, 20, 10, 10, 0.70f),
                    mk(5, 0, 10, 10, 0.95f)};
    n = det_nms(h, 4, 0.5f, 2); /* top_k */
    CHECK(n == 2);
    CHECK(h[0].box.x == 5 && h[1].box.x == 0);
    CHECK(det_nms(h, 0, 0.3f, 0) == 0);
}

TEST(nms_iou_threshold_is_exclusive) {
    /* IoU exactly 1/3 with threshold 1/3: kept (suppress only when IoU > threshold). */
    fs_face f[2] = {mk(0, 0, 10, 10, 0.9f), mk(5, 0, 10, 10, 0.8f)};
    CHECK(det_nms(f, 2, 50.0f / 150.0f, 0) == 2);
}

TEST(sort_is_stable_for_large_lists) {
    enum { N = 1000 };
    fs_face *f = malloc(N * sizeof *f);
    CHECK(f != NULL);
    srand(7);
    for (int i = 0; i < N; i++) {
        f[i] = mk((float)(rand() % 500), 0, 10 + (float)(rand() % 7), 10, (float)(rand() % 20) / 20.f);
        f[i].landmarks[0][0] = (float)i; /* original position */
    }
    det_sort(f, N, DET_SORT_SCORE);
    for (int i = 1; i < N; i++) {
        CHECK(f[i - 1].confidence >= f[i].confidence);
        if (f[i - 1].confidence == f[i].confidence) CHECK(f[i - 1].landmarks[0][0] < f[i].landmarks[0][0]);
    }
    det_sort(f, N, DET_SORT_AREA);
    for (int i = 1; i < N; i++) CHECK(f[i - 1].box.w * f[i - 1].box.h >= f[i].box.w * f[i].box.h);
    det_sort(f, N, DET_SORT_X);
    for (int i = 1; i < N; i++) CHECK(f[i - 1].box.x <= f[i].box.x);
    /* NMS over the whole list keeps a non-overlapping, score-sorted subset */
    int n = det_nms(f, N, 0.3f, 0);
    CHECK(n > 0 && n < N);
    for (int i = 1; i < n; i++) CHECK(f[i - 1].confidence >= f[i].confidence);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) CHECK(det_iou(&f[i].box, &f[j].box) <= 0.3f);
    free(f);
}

TEST(codes_largest_and_min_size) {
    fs_face f[3] = {mk(0, 0, 10, 10, 0.9f), mk(50, 0, 30, 20, 0.8f), mk(100, 0, 4, 40, 0.7f)};
    fs_detections d = {f, 3, -7, -7};
    det_finish(&d);
    CHECK(d.code == FS_CODE_MANY_FACES);
    CHECK(d.largest == 1);
    d.n = 1;
    det_finish(&d);
    CHECK(d.code == FS_CODE_ONE_FACE && d.largest == 0);
    d.n = 0;
    det_finish(&d);
    CHECK(d.code == FS_CODE_NO_FACE && d.largest == -1);
    /* min side 10: the 4x40 face goes, order kept */
    CHECK(det_drop_small(f, 3, 10.f) == 2);
    CHECK(f[0].box.x == 0 && f[1].box.x == 50);
    CHECK(det_drop_small(f, 2, 0.f) == 2);
    CHECK(det_drop_small(f, 2, 25.f) == 0);
}
