/* tests/nn/test_tflite_models.c — MediaPipe BlazeFace (short and full range, fp16 weights +
 * DEQUANTIZE, PAD, RESIZE_BILINEAR) decoded into boxes and compared with
 * ../shared/models/mediapipe_blazeface/golden/expected_detections.txt (made by an independent NumPy
 * interpreter); face mesh load + run + sanity on a face crop. Skipped without ../shared. */
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "facescore.h"

typedef struct { float x, y, w, h, score; } det;

static float sigm(float v) {
    v = v < -100 ? -100 : v > 100 ? 100 : v;
    return 1.0f / (1.0f + expf(-v));
}

static float iou(const det *a, const det *b) {
    float x0 = fmaxf(a->x, b->x), y0 = fmaxf(a->y, b->y);
    float x1 = fminf(a->x + a->w, b->x + b->w), y1 = fminf(a->y + a->h, b->y + b->h);
    float i = fmaxf(0, x1 - x0) * fmaxf(0, y1 - y0);
    return i / (a->w * a->h + b->w * b->h - i);
}

/* Runs BlazeFace on an image as the golden file's preprocessing describes: longer side scaled to
 * the model size (INTER_AREA, other side truncated as Python's int()), pasted top-left on black,
 * x/127.5-1. Returns the NMS'd detections
 * in image pixels. */
static int blazeface(fs_model *m, const fs_image *img, int size, det *out, int max) {
    float scale = (float)size / (float)(img->width > img->height ? img->width : img->height);
    int w = (int)((float)img->width * scale), h = (int)((float)img->height * scale);
    fs_image r;
    if (fs_image_resize(img, w, h, FS_RESIZE_AREA, &r)) return -1;
    size_t n;
    float *x = fs_model_input(m, 0, &n);
    if (!x || n != (size_t)size * size * 3) { fs_image_free(&r); return -1; }
    for (size_t i = 0; i < n; i++) x[i] = -1.0f;
    for (int yy = 0; yy < h; yy++)
        for (int xx = 0; xx < w * 3; xx++) x[(size_t)yy * size * 3 + xx] = r.data[yy * r.stride + xx] / 127.5f - 1.0f;
    fs_image_free(&r);
    if (fs_model_run(m)) return -1;
    size_t nr, nc;
    const float *reg = fs_model_output(m, 0, &nr), *cls = fs_model_output(m, 1, &nc);
    if (!reg || !cls || nr != nc * 16) return -1;
    /* anchors: short range 16x16 x2 then 8x8 x6 (896); full range 48x48 x1 (2304) */
    int grids[2][2] = {{16, 2}, {8, 6}}, ng = 2;
    if (nc == 2304) { grids[0][0] = 48; grids[0][1] = 1; ng = 1; }
    det all[2304];
    int k = 0, na = 0;
    for (int gi = 0; gi < ng; gi++)
        for (int rr = 0; rr < grids[gi][0]; rr++)
            for (int cc = 0; cc < grids[gi][0]; cc++)
                for (int a = 0; a < grids[gi][1]; a++, k++) {
                    float s = sigm(cls[k]);
                    if (s <= 0.5f) continue;
                    float ax = (cc + 0.5f) / grids[gi][0], ay = (rr + 0.5f) / grids[gi][0];
                    const float *p = reg + (size_t)k * 16;
                    float cx = p[0] / size + ax, cy = p[1] / size + ay, bw = p[2] / size, bh = p[3] / size;
                    float px = (float)size / scale; /* normalised canvas -> image pixels */
                    all[na++] = (det){(cx - bw / 2) * px, (cy - bh / 2) * px, bw * px, bh * px, s};
                }
    if (k != (int)nc) return -1;
    /* NMS, IoU 0.3, highest score first */
    int nout = 0;
    for (;;) {
        int best = -1;
        for (int i = 0; i < na; i++)
            if (all[i].score > 0 && (best < 0 || all[i].score > all[best].score)) best = i;
        if (best < 0 || nout == max) break;
        out[nout++] = all[best];
        det b = all[best];
        for (int i = 0; i < na; i++)
            if (all[i].score > 0 && iou(&all[i], &b) > 0.3f) all[i].score = 0;
    }
    return nout;
}

static void check_against_golden(const char *model_file, int size) {
    char *gp = fs_test_shared("models/mediapipe_blazeface/golden/expected_detections.txt");
    size_t len;
    char *txt = (char *)fs_test_read_file(gp, &len);
    char rel[256];
    snprintf(rel, sizeof rel, "models/mediapipe_blazeface/%s", model_file);
    fs_model *m;
    if (!txt || fs_model_load(fs_test_shared(rel), &m)) { free(txt); fs_test_skip("no ../shared BlazeFace"); return; }
    const char *images[2] = {"face.jpg", "grace_hopper.bmp"};
    for (int ii = 0; ii < 2; ii++) {
        char ip[128];
        snprintf(ip, sizeof ip, "models/test_images/%s", images[ii]);
        fs_image img;
        if (fs_image_load(fs_test_shared(ip), 3, NULL, &img)) { fs_test_fail(__FILE__, __LINE__, "%s", fs_last_error()); break; }
        det got[16];
        int n = blazeface(m, &img, size, got, 16);
        fs_image_free(&img);
        if (n < 0) { fs_test_fail(__FILE__, __LINE__, "run: %s", fs_last_error()); break; }
        /* every expected line for this model+image must be matched, and no extra detections */
        int expected = 0;
        char key[256];
        snprintf(key, sizeof key, "%s %s box_xywh=", model_file, images[ii]);
        for (char *p = strstr(txt, key); p; p = strstr(p + 1, key)) {
            float x, y, w, h, s;
            if (sscanf(p + strlen(key), "%f,%f,%f,%f score=%f", &x, &y, &w, &h, &s) != 5) continue;
            expected++;
            int found = 0;
            for (int i = 0; i < n; i++)
                if (fabsf(got[i].x - x) < 3 && fabsf(got[i].y - y) < 3 && fabsf(got[i].w - w) < 3 &&
                    fabsf(got[i].h - h) < 3 && fabsf(got[i].score - s) < 0.02f)
                    found = 1;
            if (!found) {
                fs_test_fail(__FILE__, __LINE__, "%s %s: no detection near %.1f,%.1f,%.1f,%.1f %.3f", model_file,
                             images[ii], x, y, w, h, s);
                for (int i = 0; i < n; i++)
                    fprintf(stderr, "    got %.1f,%.1f,%.1f,%.1f %.3f\n", got[i].x, got[i].y, got[i].w, got[i].h, got[i].score);
            }
        }
        fprintf(stderr, "    %s %s: %d detections, %d expected\n", model_file, images[ii], n, expected);
        if (expected == 0 || n != expected) fs_test_fail(__FILE__, __LINE__, "%d detections vs %d expected", n, expected);
    }
    fs_model_free(m);
    free(txt);
}

TEST(blazeface_short_range_golden_detections) {
    check_against_golden("face_detection_short_range.tflite", 128);
}

TEST(blazeface_full_range_golden_detections) {
    check_against_golden("face_detection_full_range.tflite", 192);
}

TEST(facemesh_runs_on_a_face_crop) {
    fs_model *m;
    fs_image img, crop, r;
    if (fs_model_load(fs_test_shared("models/mediapipe_facemesh/face_landmark.tflite"), &m)) SKIP("no ../shared face mesh");
    if (fs_image_load(fs_test_shared("models/test_images/grace_hopper.bmp"), 3, NULL, &img)) SKIP("no test image");
    /* Grace Hopper's face box from the BlazeFace golden (159,123 208x208), enlarged 1.2x */
    CHECK(fs_image_crop(&img, 159 - 21, 123 - 21, 250, 250, &crop) == FS_OK);
    CHECK(fs_image_resize(&crop, 192, 192, FS_RESIZE_BILINEAR, &r) == FS_OK);
    size_t n;
    float *x = fs_model_input(m, 0, &n);
    CHECK(x && n == 192 * 192 * 3);
    for (size_t i = 0; i < n; i++) x[i] = r.data[i] / 255.0f; /* tight stride */
    CHECK(fs_model_run(m) == FS_OK);
    const float *pts = fs_model_output(m, 0, &n);
    CHECK(pts && n == 1404);
    const float *presence = fs_model_output(m, 1, &n);
    CHECK(presence && n == 1);
    fprintf(stderr, "    face-presence logit %.2f\n", presence[0]);
    CHECK(presence[0] > 5);
    int inside = 0;
    float minx = 1e9f, maxx = -1e9f;
    for (int i = 0; i < 468; i++) {
        float px = pts[3 * i], py = pts[3 * i + 1];
        CHECK(isfinite(px) && isfinite(py) && isfinite(pts[3 * i + 2]));
        inside += px >= 0 && px < 192 && py >= 0 && py < 192;
        minx = fminf(minx, px);
        maxx = fmaxf(maxx, px);
    }
    CHECK(inside >= 460);
    CHECK(maxx - minx > 60); /* a face, not a collapsed point cloud */
    /* and a non-face (flat grey) gives a much lower presence */
    for (size_t i = 0; i < 192 * 192 * 3; i++) x[i] = 0.5f;
    CHECK(fs_model_run(m) == FS_OK);
    presence = fs_model_output(m, 1, &n);
    fprintf(stderr, "    flat grey: presence logit %.2f\n", presence[0]);
    CHECK(presence[0] < 0);
    fs_image_free(&r);
    fs_image_free(&crop);
    fs_image_free(&img);
    fs_model_free(m);
}
