/* tests/nn/test_tfjs_golden.c — TF.js models end to end: faceres descriptors against
 * ../shared/models/human_faceres/golden (TF.js 4.22 outputs) for raw-RGB and BGR-mean inputs, gear and
 * mobileface run + shape checks. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "facescore.h"

static fs_model *load(const char *rel) {
    char *p = fs_test_shared(rel);
    fs_model *m = NULL;
    if (fs_test_exists(p) && fs_model_load(p, &m) != FS_OK) m = NULL;
    free(p);
    return m;
}

static unsigned char *read_shared(const char *rel, size_t *len) {
    char *p = fs_test_shared(rel);
    unsigned char *b = fs_test_read_file(p, len);
    free(p);
    return b;
}

/* expected.txt: "<tag> <image>: gender_sigmoid=G ..." */
static int golden_gender(const char *txt, const char *tag, const char *image, double *g) {
    char key[128];
    snprintf(key, sizeof key, "%s %s: gender_sigmoid=", tag, image);
    const char *p = strstr(txt, key);
    if (!p) return -1;
    *g = atof(p + strlen(key));
    return 0;
}

static void faceres_case(const char *image, int bgr_mean) {
    fs_model *m = load("models/human_faceres/faceres.json");
    if (!m) {
        char *p = fs_test_shared("models/human_faceres/faceres.json");
        int have = fs_test_exists(p);
        free(p);
        if (!have) SKIP("../shared/models/human_faceres not present");
        CHECK_MSG(0, "load: %s", fs_last_error());
    }
    char rel[256];
    size_t len, dlen, tlen;
    snprintf(rel, sizeof rel, "models/human_faceres/golden/%s_224x224_rgb.u8", image);
    unsigned char *rgb = read_shared(rel, &len);
    snprintf(rel, sizeof rel, "models/human_faceres/golden/%s_faceres%s_descriptor1024.f32", image,
             bgr_mean ? "_bgrmean" : "");
    float *want = (float *)read_shared(rel, &dlen);
    char *txt = (char *)read_shared("models/human_faceres/golden/expected.txt", &tlen);
    CHECK(rgb && len == 224 * 224 * 3 && want && dlen == 4096 && txt);
    int64_t dims[4] = {1, 224, 224, 3};
    CHECK_MSG(fs_model_set_input_shape(m, 0, 4, dims) == FS_OK, "%s", fs_last_error());
    size_t n;
    float *in = fs_model_input(m, 0, &n);
    CHECK_MSG(in && n == 224 * 224 * 3, "%s", fs_last_error());
    static const float mean[3] = {103.939f, 116.779f, 123.68f}; /* B, G, R */
    for (size_t i = 0; i < 224 * 224; i++)
        for (int c = 0; c < 3; c++)
            in[i * 3 + c] = bgr_mean ? (float)rgb[i * 3 + 2 - c] - mean[c] : (float)rgb[i * 3 + c];
    CHECK_MSG(fs_model_run(m) == FS_OK, "%s", fs_last_error());
    size_t k;
    const float *d = fs_model_tensor(m, "global_pooling/Mean", &k);
    CHECK(d && k == 1024);
    double lo = INFINITY, hi = -INFINITY, maxd = 0;
    for (int i = 0; i < 1024; i++) {
        lo = fmin(lo, want[i]);
        hi = fmax(hi, want[i]);
        maxd = fmax(maxd, fabs(d[i] - want[i]));
    }
    printf("    faceres %s%s: descriptor max |diff| %.3g, range %.3g, relative %.3g\n", image,
           bgr_mean ? " (bgr-mean)" : "", maxd, hi - lo, maxd / (hi - lo));
    CHECK_MSG(maxd <= 1e-4 * (hi - lo), "max diff %g > 1e-4 x range %g", maxd, hi - lo);
    double gg;
    CHECK(golden_gender(txt, bgr_mean ? "faceres(bgr-mean input)" : "faceres", image, &gg) == 0);
    const float *gs = fs_model_tensor(m, "gender_pred/Sigmoid", &k);
    CHECK(gs && k == 1);
    CHECK_NEAR(gs[0], gg, 5e-5 + 1e-5);
    free(rgb);
    free(want);
    free(txt);
    fs_model_free(m);
}

TEST(faceres_face2_raw) { faceres_case("face_2", 0); }
TEST(faceres_grace_raw) { faceres_case("grace_hopper_0", 0); }
TEST(faceres_face2_bgrmean) { faceres_case("face_2", 1); }
TEST(faceres_grace_bgrmean) { faceres_case("grace_hopper_0", 1); }

/* gear: [0,1] RGB input 198x198 (the golden 224 crops, resized); gender = (male, female) */
TEST(gear_runs_gender) {
    fs_model *m = load("models/human_gear/gear.json");
    if (!m) SKIP("../shared/models/human_gear not present (or failed to load)");
    const char *imgs[2] = {"face_2", "grace_hopper_0"};
    int male_expected[2] = {1, 0};
    for (int ii = 0; ii < 2; ii++) {
        char rel[256];
        size_t len;
        snprintf(rel, sizeof rel, "models/human_faceres/golden/%s_224x224_rgb.u8", imgs[ii]);
        unsigned char *rgb = read_shared(rel, &len);
        if (!rgb) { fs_model_free(m); SKIP("faceres golden crops not present"); }
        fs_image src = {224, 224, 3, 224 * 3, rgb}, dst;
        CHECK(fs_image_resize(&src, 198, 198, FS_RESIZE_BILINEAR, &dst) == FS_OK);
        int64_t dims[4] = {1, 198, 198, 3};
        CHECK_MSG(fs_model_set_input_shape(m, 0, 4, dims) == FS_OK, "%s", fs_last_error());
        size_t n;
        float *in = fs_model_input(m, 0, &n);
        CHECK(in && n == 198 * 198 * 3);
        for (int y = 0; y < 198; y++)
            for (int x = 0; x < 198 * 3; x++) in[y * 198 * 3 + x] = dst.data[y * dst.stride + x] / 255.0f;
        fs_image_free(&dst);
        free(rgb);
        CHECK_MSG(fs_model_run(m) == FS_OK, "%s", fs_last_error());
        size_t k;
        const float *gender = fs_model_tensor(m, "Identity_1", &k);
        CHECK(gender && k == 2);
        const float *age = fs_model_tensor(m, "Identity", &k);
        CHECK(age && k == 7);
        double s = 0;
        for (int i = 0; i < 7; i++) s += age[i];
        CHECK_NEAR(s, 1.0, 1e-5);
        CHECK_NEAR(gender[0] + gender[1], 1.0, 1e-5);
        printf("    gear %s: male %.3f\n", imgs[ii], gender[0]);
        CHECK_MSG((gender[0] > 0.5f) == male_expected[ii], "%s: male prob %.3f", imgs[ii], gender[0]);
    }
    fs_model_free(m);
}

TEST(mobileface_runs) {
    fs_model *m = load("models/human_mobileface/mobileface.json");
    if (!m) SKIP("../shared/models/human_mobileface not present (or failed to load)");
    int64_t dims[4] = {2, 112, 112, 3};
    CHECK_MSG(fs_model_set_input_shape(m, 0, 4, dims) == FS_OK, "%s", fs_last_error());
    size_t n;
    float *in = fs_model_input(m, 0, &n);
    CHECK(in && n == 2 * 112 * 112 * 3);
    for (size_t i = 0; i < n / 2; i++) in[i] = (float)((i * 13) % 256);
    for (size_t i = 0; i < n / 2; i++) in[n / 2 + i] = in[i]; /* batch of two identical images */
    CHECK_MSG(fs_model_run(m) == FS_OK, "%s", fs_last_error());
    size_t k;
    const float *e = fs_model_output(m, 0, &k);
    CHECK(e && k == 512);
    double norm = 0;
    for (size_t i = 0; i < 256; i++) {
        CHECK(isfinite(e[i]));
        CHECK_NEAR(e[i], e[256 + i], 1e-5);
        norm += (double)e[i] * e[i];
    }
    CHECK(norm > 1e-3);
    fs_model_free(m);
}
