/* tests/train/test_finetune_override.c — fine-tuned backbone weights inside a model file
 * ("backbone.<name>.<graph tensor>", docs/model-format.md): applied by bb_open_weights, the scorer
 * and feature extraction (with their own cache key); damaged overrides refused. Needs models/. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "core/error.h"
#include "data/dataset.h"
#include "score/backbone.h"
#include "score/model_file.h"
#include "nn/graph.h"
#include "nn/model.h"
#include "train/features.h"

#define BIAS "conv_pw_13_bn/batchnorm_1/mul_1#ohwi#bias"   /* faceres' last pointwise conv bias [1024] */

static int have_models(void) {
    return fs_test_exists("models/human_faceres/faceres.json") && fs_test_exists("models/facescore/scut60.fsh") &&
           fs_test_exists("models/yunet/yunet_n_dynamic.onnx");
}

/* the shipped heads file plus extra tensors */
static int write_with(const char *out, const mf_tensor *extra, int n_extra) {
    mf_file f;
    if (mf_open("models/facescore/scut60.fsh", &f) != FS_OK) return -1;
    mf_tensor t[64];
    int n = 0;
    for (int i = 0; i < f.n_tensors && n < 60; i++) t[n++] = f.tensors[i];
    for (int i = 0; i < n_extra; i++) t[n++] = extra[i];
    fs_status st = mf_write(out, f.meta, f.n_meta, t, n);
    mf_close(&f);
    return st == FS_OK ? 0 : -1;
}

static int face_feature(bb_set *s, const fs_image *img, float *out) {
    fs_face f;
    memset(&f, 0, sizeof f);
    f.box.w = (float)img->width; f.box.h = (float)img->height;
    return bb_features(s, img, &f, out) == FS_OK ? 0 : -1;
}

/* stock values of a faceres constant */
static float *stock_tensor(const char *name, size_t *n) {
    fs_model *m;
    if (fs_model_load("models/human_faceres/faceres.json", &m) != FS_OK) return NULL;
    nn_graph *g = fs_model_graph(m);
    int t = nn_graph_find_tensor(g, name);
    float *out = NULL;
    if (t >= 0 && g->tensors[t].is_const) {
        *n = (size_t)nn_tensor_numel(&g->tensors[t]);
        out = malloc(*n * sizeof(float));
        if (out) memcpy(out, g->tensors[t].data, *n * sizeof(float));
    }
    fs_model_free(m);
    return out;
}

TEST(override_changes_the_feature_and_same_values_change_nothing) {
    if (!have_models()) SKIP("models not present");
    size_t nb = 0;
    float *bias = stock_tensor(BIAS, &nb);
    CHECK(bias && nb == 1024);
    char p_same[64], p_moved[64];
    snprintf(p_same, sizeof p_same, "/tmp/fs_ovr_same_%d.fsh", (int)getpid());
    snprintf(p_moved, sizeof p_moved, "/tmp/fs_ovr_moved_%d.fsh", (int)getpid());
    mf_tensor t = {"backbone.faceres." BIAS, 1, {1024}, 1024, bias};
    CHECK(write_with(p_same, &t, 1) == 0);
    float *moved = malloc(1024 * sizeof(float));
    CHECK(moved);
    for (int i = 0; i < 1024; i++) moved[i] = bias[i] + (i % 3 == 0 ? 0.75f : -0.25f);
    t.data = moved;
    CHECK(write_with(p_moved, &t, 1) == 0);
    mf_file fs, fm;
    CHECK(mf_open(p_same, &fs) == FS_OK && mf_open(p_moved, &fm) == FS_OK);

    fs_image img;
    CHECK(fs_image_load("tests/data/mini/man/3/face_a.jpg", 3, NULL, &img) == FS_OK);
    bb_set a, b, c;
    CHECK(bb_open(&a, "faceres", "models", BB_CROP_ALIGN, 1) == FS_OK);
    CHECK(bb_open_weights(&b, "faceres", "models", BB_CROP_ALIGN, 1, &fs) == FS_OK);
    CHECK(bb_open_weights(&c, "faceres", "models", BB_CROP_ALIGN, 1, &fm) == FS_OK);
    CHECK(a.wkey[0] == 0 && b.n_override[0] == 1 && c.n_override[0] == 1 && b.wkey[0] != c.wkey[0] && b.wkey[0]);
    float f0[1024], f1[1024], f2[1024];
    CHECK(face_feature(&a, &img, f0) == 0 && face_feature(&b, &img, f1) == 0 && face_feature(&c, &img, f2) == 0);
    CHECK(!memcmp(f0, f1, sizeof f0));   /* the stock values again: bit-identical feature */
    double d = 0;
    for (int i = 0; i < 1024; i++) d += (f0[i] - f2[i]) * (f0[i] - f2[i]);
    CHECK_MSG(d > 1.0, "feature moved by %g only", d);   /* a shifted bias moves the (ReLU6-clamped) mean */
    bb_close(&a); bb_close(&b); bb_close(&c);

    /* the scorer applies the file's override: another result than the stock file */
    fs_scorer_options so;
    fs_scorer_options_default(&so);
    so.models_dir = "models";
    fs_scorer *s0, *s1;
    so.model_path = "models/facescore/scut60.fsh";
    CHECK(fs_scorer_open(&so, &s0) == FS_OK);
    so.model_path = p_moved;
    CHECK_MSG(fs_scorer_open(&so, &s1) == FS_OK, "%s", fs_last_error());
    fs_face face;
    memset(&face, 0, sizeof face);
    face.box.w = (float)img.width; face.box.h = (float)img.height;
    fs_face_score r0, r1;
    CHECK(fs_scorer_score(s0, &img, &face, &r0) == FS_OK && fs_scorer_score(s1, &img, &face, &r1) == FS_OK);
    CHECK_MSG(r0.score != r1.score, "score %g both", r0.score);
    fs_scorer_free(s0); fs_scorer_free(s1);

    /* feature extraction: the override's hash joins the cache key, so stock features are not reused */
    ds_set ds;
    CHECK(ds_load_folder("tests/data/mini", &ds) == FS_OK);
    ds.n = 2;
    char dir[] = "/tmp/fs_ovr_cacheXXXXXX";
    CHECK(mkdtemp(dir));
    fe_options o;
    fe_options_default(&o);
    o.backbones = "faceres"; o.models_dir = "models"; o.cache_dir = dir; o.threads = 1; o.quiet = 1;
    fe_matrix x0, x1, x2;
    CHECK(fe_extract(&ds, &o, &x0) == FS_OK && x0.n_cached == 0);
    o.weights = &fm;
    CHECK(fe_extract(&ds, &o, &x1) == FS_OK && x1.n_cached == 0);
    CHECK(fe_extract(&ds, &o, &x2) == FS_OK && x2.n_cached == 2);
    CHECK(memcmp(x0.x, x1.x, 2 * 1024 * sizeof(float)) && !memcmp(x1.x, x2.x, 2 * 1024 * sizeof(float)));
    fe_matrix_free(&x0); fe_matrix_free(&x1); fe_matrix_free(&x2);
    ds.n = 10;
    ds_free(&ds);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    mf_close(&fs); mf_close(&fm);
    unlink(p_same); unlink(p_moved);
    fs_image_free(&img);
    free(bias); free(moved);
}

TEST(damaged_override_is_refused) {
    if (!have_models()) SKIP("models not present");
    char p[64];
    snprintf(p, sizeof p, "/tmp/fs_ovr_bad_%d.fsh", (int)getpid());
    static float z[2048];
    struct { mf_tensor t; const char *why; } cases[] = {
        {{"backbone.faceres." BIAS, 1, {512}, 512, z}, "shape [512]"},                     /* wrong shape */
        {{"backbone.faceres." BIAS, 2, {1, 1024}, 1024, z}, "shape [1,1024]"},             /* wrong rank */
        {{"backbone.faceres.no_such_tensor", 1, {4}, 4, z}, "no float32 constant"},       /* unknown name */
        {{"backbone.faceres.conv_pw_13_relu/clip_by_value", 1, {4}, 4, z}, "no float32 constant"}, /* activation */
        {{"backbone.resnet.w", 1, {4}, 4, z}, "names no backbone"},                        /* backbone not in the model */
        {{"backbone.faceres.", 1, {4}, 4, z}, "names no backbone"},                        /* empty tensor name */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(write_with(p, &cases[i].t, 1) == 0);
        mf_file f;
        CHECK(mf_open(p, &f) == FS_OK);
        bb_set s;
        fs_status st = bb_open_weights(&s, "faceres+mnv2+mfn", "models", BB_CROP_ALIGN, 1, &f);
        CHECK_MSG(st == FS_ERR_FORMAT && strstr(fs_last_error(), cases[i].why) && strstr(fs_last_error(), cases[i].t.name),
                  "case %zu: status %d, '%s'", i, (int)st, fs_last_error());
        mf_close(&f);
        fs_scorer_options so;
        fs_scorer_options_default(&so);
        so.models_dir = "models";
        so.model_path = p;
        fs_scorer *sc = NULL;
        CHECK(fs_scorer_open(&so, &sc) == FS_ERR_FORMAT && !sc);
    }
    unlink(p);
}
