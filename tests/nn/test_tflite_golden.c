/* tests/nn/test_tflite_golden.c — TFLite models against golden outputs made by independent
 * implementations (../shared/models/<model>/golden: a NumPy interpreter; ../shared/bench/peers/
 * mobilenetv2_ref: ONNX Runtime 1.30). Skipped when ../shared is absent. */
#include <stdlib.h>
#include <string.h>

#include "facescore.h"
#include "../test.h"

#define MNV2 "models/mobilenet_v2_imagenet/mobilenet_v2_1.0_224_quant.tflite"

static fs_model *load_shared(const char *rel) {
    char *p = fs_test_shared(rel);
    fs_model *m = NULL;
    if (!fs_test_exists(p)) return NULL;
    if (fs_model_load(p, &m)) {
        fprintf(stderr, "    %s\n", fs_last_error());
        return NULL;
    }
    return m;
}

static float *read_f32(const char *rel, size_t n) {
    size_t len;
    char *p = fs_test_shared(rel);
    unsigned char *b = fs_test_read_file(p, &len);
    if (!b || len != n * sizeof(float)) { free(b); return NULL; }
    return (float *)b;
}

static double max_abs_diff(const float *a, const float *b, size_t n, double *range) {
    double d = 0, lo = b[0], hi = b[0];
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]);
        if (e > d || e != e) d = e;
        if (b[i] < lo) lo = b[i];
        if (b[i] > hi) hi = b[i];
    }
    if (range) *range = hi - lo;
    return d;
}

static size_t argmax(const float *v, size_t n) {
    size_t k = 0;
    for (size_t i = 1; i < n; i++)
        if (v[i] > v[k]) k = i;
    return k;
}

/* rgb/127.5 - 1 as two float32 operations (the preprocessing this uint8 model's golden needs) */
static void mnv2_input(const unsigned char *rgb, float *x) {
    for (int i = 0; i < 224 * 224 * 3; i++) x[i] = (float)rgb[i] / 127.5f - 1.0f;
}

TEST(mobilenetv2_golden_features_and_top1) {
    fs_model *m = load_shared(MNV2);
    if (!m) SKIP("no ../shared MobileNetV2");
    /* the 1280-d feature, by name (= tensor #169) */
    CHECK(fs_model_keep_tensor(m, "MobilenetV2/Logits/AvgPool") == FS_OK);
    fs_tensor_info ti;
    CHECK(fs_model_tensor_info(m, "#169", &ti) == FS_OK);
    CHECK(!strcmp(ti.name, "MobilenetV2/Logits/AvgPool"));
    const char *names[2] = {"cat", "grace_hopper"};
    const size_t top1[2] = {286, 653}; /* golden/expected.txt: Egyptian cat, military uniform */
    for (int k = 0; k < 2; k++) {
        char rel[256];
        snprintf(rel, sizeof rel, "models/mobilenet_v2_imagenet/golden/%s_224x224_rgb.u8", names[k]);
        size_t len;
        unsigned char *rgb = fs_test_read_file(fs_test_shared(rel), &len);
        CHECK(rgb && len == 224 * 224 * 3);
        size_t n;
        float *x = fs_model_input(m, 0, &n);
        CHECK(x && n == 224 * 224 * 3);
        mnv2_input(rgb, x);
        CHECK(fs_model_run(m) == FS_OK);
        const float *feat = fs_model_tensor(m, "#169", &n);
        CHECK(feat && n == 1280);
        snprintf(rel, sizeof rel, "models/mobilenet_v2_imagenet/golden/%s_feature1280.f32", names[k]);
        float *want = read_f32(rel, 1280);
        CHECK(want);
        double range, d = max_abs_diff(feat, want, 1280, &range);
        fprintf(stderr, "    %s: feature max abs diff %.3g (range %.3g)\n", names[k], d, range);
        CHECK(d <= 1e-4);
        const float *prob = fs_model_output(m, 0, &n);
        CHECK(prob && n == 1001);
        CHECK(argmax(prob, n) == top1[k]);
        free(want);
        free(rgb);
    }
    fs_model_free(m);
}

TEST(mobilenetv2_matches_onnxruntime_reference) {
    fs_model *m = load_shared(MNV2);
    if (!m) SKIP("no ../shared MobileNetV2");
    float *want_f = read_f32("bench/peers/mobilenetv2_ref/ort_feature.f32", 1280);
    float *want_l = read_f32("bench/peers/mobilenetv2_ref/ort_logits.f32", 1001);
    if (!want_f || !want_l) SKIP("no ../shared/bench/peers/mobilenetv2_ref");
    CHECK(fs_model_keep_tensor(m, "#169") == FS_OK);
    CHECK(fs_model_keep_tensor(m, "#171") == FS_OK); /* logits [1,1,1,1001] before the reshape */
    size_t n;
    float *x = fs_model_input(m, 0, &n);
    CHECK(x && n == 224 * 224 * 3);
    for (int h = 0; h < 224; h++)
        for (int w = 0; w < 224; w++)
            for (int c = 0; c < 3; c++) {
                int i = (h * 224 + w) * 3 + c;
                x[i] = (float)(i % 256) / 127.5f - 1.0f;
            }
    CHECK(fs_model_run(m) == FS_OK);
    const float *f = fs_model_tensor(m, "#169", &n);
    CHECK(f && n == 1280);
    double df = max_abs_diff(f, want_f, 1280, NULL);
    const float *l = fs_model_tensor(m, "#171", &n);
    CHECK(l && n == 1001);
    double dl = max_abs_diff(l, want_l, 1001, NULL);
    fprintf(stderr, "    vs ONNX Runtime: feature %.3g, logits %.3g max abs diff\n", df, dl);
    CHECK(df <= 1e-4);
    CHECK(dl <= 1e-4);
    CHECK(argmax(l, 1001) == argmax(want_l, 1001));
    /* two threads give the same answer */
    CHECK(fs_model_set_threads(m, 2) == FS_OK);
    CHECK(fs_model_run(m) == FS_OK);
    f = fs_model_tensor(m, "#169", &n);
    CHECK(max_abs_diff(f, want_f, 1280, NULL) <= 1e-4);
    free(want_f);
    free(want_l);
    fs_model_free(m);
}

TEST(mobilefacenet_golden_embeddings) {
    fs_model *m = load_shared("models/mobilefacenet/MobileFaceNet.tflite");
    if (!m) SKIP("no ../shared MobileFaceNet");
    /* the file's batch is 2: run both golden faces at once, (x - 127.5) / 128 */
    const char *names[2] = {"face_2", "grace_hopper_0"};
    size_t n;
    float *x = fs_model_input(m, 0, &n);
    CHECK(x && n == 2 * 112 * 112 * 3);
    for (int k = 0; k < 2; k++) {
        char rel[256];
        snprintf(rel, sizeof rel, "models/mobilefacenet/golden/%s_aligned112_rgb.u8", names[k]);
        size_t len;
        unsigned char *rgb = fs_test_read_file(fs_test_shared(rel), &len);
        CHECK(rgb && len == 112 * 112 * 3);
        for (size_t i = 0; i < len; i++) x[k * len + i] = ((float)rgb[i] - 127.5f) / 128.0f;
        free(rgb);
    }
    CHECK(fs_model_run(m) == FS_OK);
    const float *y = fs_model_output(m, 0, &n);
    CHECK(y && n == 2 * 192);
    for (int k = 0; k < 2; k++) {
        char rel[256];
        snprintf(rel, sizeof rel, "models/mobilefacenet/golden/%s_embedding192.f32", names[k]);
        float *want = read_f32(rel, 192);
        CHECK(want);
        double range, d = max_abs_diff(y + 192 * k, want, 192, &range);
        fprintf(stderr, "    %s: embedding max abs diff %.3g (range %.3g)\n", names[k], d, range);
        CHECK(d <= 1e-4 * range);
        free(want);
    }
    fs_model_free(m);
}

TEST(batch_dim_can_change) {
    /* MobileFaceNet is stored with batch 2; MobileNetV2 with batch 1: run them as 1 and 2 */
    fs_model *m = load_shared("models/mobilefacenet/MobileFaceNet.tflite");
    if (!m) SKIP("no ../shared MobileFaceNet");
    int64_t d1[4] = {1, 112, 112, 3};
    CHECK(fs_model_set_input_shape(m, 0, 4, d1) == FS_OK);
    size_t n, len;
    float *x = fs_model_input(m, 0, &n);
    CHECK(x && n == 112 * 112 * 3);
    unsigned char *rgb = fs_test_read_file(fs_test_shared("models/mobilefacenet/golden/grace_hopper_0_aligned112_rgb.u8"), &len);
    CHECK(rgb && len == n);
    for (size_t i = 0; i < n; i++) x[i] = ((float)rgb[i] - 127.5f) / 128.0f;
    CHECK(fs_model_run(m) == FS_OK);
    const float *y = fs_model_output(m, 0, &n);
    CHECK(y && n == 192);
    float *want = read_f32("models/mobilefacenet/golden/grace_hopper_0_embedding192.f32", 192);
    CHECK(want);
    double range, d = max_abs_diff(y, want, 192, &range);
    CHECK(d <= 1e-4 * range);
    free(want);
    free(rgb);
    fs_model_free(m);

    m = load_shared(MNV2);
    if (!m) SKIP("no ../shared MobileNetV2");
    int64_t d2[4] = {2, 224, 224, 3};
    CHECK(fs_model_set_input_shape(m, 0, 4, d2) == FS_OK);
    CHECK(fs_model_keep_tensor(m, "#169") == FS_OK);
    x = fs_model_input(m, 0, &n);
    CHECK(x && n == 2 * 224 * 224 * 3);
    const char *names[2] = {"cat", "grace_hopper"};
    for (int k = 0; k < 2; k++) {
        char rel[256];
        snprintf(rel, sizeof rel, "models/mobilenet_v2_imagenet/golden/%s_224x224_rgb.u8", names[k]);
        rgb = fs_test_read_file(fs_test_shared(rel), &len);
        CHECK(rgb && len == 224 * 224 * 3);
        mnv2_input(rgb, x + k * len);
        free(rgb);
    }
    CHECK(fs_model_run(m) == FS_OK);
    const float *f = fs_model_tensor(m, "#169", &n);
    CHECK(f && n == 2 * 1280);
    const float *p = fs_model_output(m, 0, &n);
    CHECK(p && n == 2 * 1001);
    CHECK(argmax(p, 1001) == 286 && argmax(p + 1001, 1001) == 653);
    for (int k = 0; k < 2; k++) {
        char rel[256];
        snprintf(rel, sizeof rel, "models/mobilenet_v2_imagenet/golden/%s_feature1280.f32", names[k]);
        want = read_f32(rel, 1280);
        CHECK(want);
        CHECK(max_abs_diff(f + 1280 * k, want, 1280, NULL) <= 1e-4);
        free(want);
    }
    fs_model_free(m);
}
