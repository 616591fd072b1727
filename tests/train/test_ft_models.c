/* tests/train/test_ft_models.c — the fine-tuning engine on the shipped backbones (../shared models;
 * skipped without them): the blocks and parameters found, the end-to-end gradient of the last blocks
 * against central finite differences (faceres: two dw/pw blocks; MobileNetV2: two inverted
 * residuals with their adds, Conv_1 and the global average pool), and no allocation per step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "facescore.h"
#include "nn/graph.h"
#include "nn/model.h"
#include "train/ft/ft.h"

/* in tests/nn/test_graph_noalloc.c (the malloc shim of this test binary); -1 if disabled */
void fs_test_alloc_count_start(void);
long fs_test_alloc_count_stop(void);

#define FD_H_FACERES (getenv("FT_FD_H") ? (float)atof(getenv("FT_FD_H")) : 2e-3f)
static const float ty[3] = {1.6f, 3.3f, 4.4f}, tg[3] = {1, 0, -1};

static fs_model *load(const char *rel) {
    char *p = fs_test_shared(rel);
    fs_model *m = NULL;
    if (!fs_test_exists(p) || fs_model_load(p, &m) != FS_OK) m = NULL;
    free(p);
    return m;
}

static void fill(ft_engine *e, float scale) {
    uint64_t s = 12345;
    float *x = ft_input(e);
    size_t n = (size_t)ft_batch(e) * ft_input_size(e) * ft_input_size(e) * 3;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = scale * (float)((double)(s >> 11) / 4503599627370496.0 - 1.0);
    }
}

static double loss_now(ft_engine *e, int n) {
    ft_step_stats st;
    if (ft_forward(e, 0) || ft_backward(e, n, ty, tg, &st)) return NAN;
    return st.loss;
}

/* For each trainable tensor: its largest-|g| entry against central differences (h and h/2;
 * kinks, where the two disagree, are skipped). Returns the number checked, -1 on a mismatch. */
static int fd_largest(ft_engine *e, int n, float h) {
    ft_state s;
    ft_get_state(e, &s);
    loss_now(e, n);
    float *g = malloc(s.n_params * sizeof(float));
    memcpy(g, s.grads, s.n_params * sizeof(float));
    int checked = 0, bad = 0, skipped = 0;
    for (int k = 0; k < s.n_info; k++) {
        const ft_param_info *pi = &s.info[k];
        size_t best[2] = {0, 0};
        for (size_t j = 0; j < pi->count; j++) {
            float a = fabsf(g[pi->offset + j]);
            if (a > fabsf(g[pi->offset + best[0]])) best[1] = best[0], best[0] = j;
            else if (j != best[0] && a > fabsf(g[pi->offset + best[1]])) best[1] = j;
        }
        for (int r = 0; r < 1; r++) {
            size_t i = pi->offset + best[r];
            float p0 = s.params[i];
            double fd[2] = {0, 0};
            for (int q = 0; q < 2; q++) { /* h/2 only to tell a kink from a mismatch */
                float hh = q ? h / 2 : h;
                s.params[i] = p0 + hh;
                ft_state_changed(e);
                double lp = loss_now(e, n);
                s.params[i] = p0 - hh;
                ft_state_changed(e);
                double lm = loss_now(e, n);
                fd[q] = (lp - lm) / (2.0 * hh);
                if (!q && fabs(fd[0] - g[i]) <= 0.05 * fabs(fd[0]) + 2e-4) { fd[1] = fd[0]; break; }
            }
            s.params[i] = p0;
            ft_state_changed(e);
            if (fabs(fd[0] - fd[1]) > 0.05 * fabs(fd[1]) + 1e-4) { skipped++; continue; }
            checked++;
            if (fabs(fd[1] - g[i]) > 0.05 * fabs(fd[1]) + 2e-4) {
                bad++;
                fprintf(stderr, "    %s[%zu]: engine %.6g, finite difference %.6g (%.6g at 2h)\n", pi->name, best[r],
                        g[i], fd[1], fd[0]);
            }
        }
    }
    fprintf(stderr, "    %d checked, %d mismatched, %d skipped (kinks)\n", checked, bad, skipped);
    free(g);
    return bad ? -1 : checked;
}

TEST(ft_faceres_blocks_and_gradient) {
    fs_model *m = load("models/human_faceres/faceres.json");
    if (!m) SKIP("no ../shared faceres");
    ft_config c;
    ft_config_default(&c);
    c.batch = 1, c.feature = "global_pooling/Mean", c.train_from = 12, c.dropout = 0;
    ft_engine *e;
    CHECK_MSG(ft_open(&e, m, &c) == FS_OK, "%s", fs_last_error());
    CHECK(ft_num_blocks(e) == 14 && ft_feature_dim(e) == 1024 && ft_input_size(e) == 224);
    ft_state s;
    ft_get_state(e, &s);
    CHECK(s.n_info == 4 * 2 + 2); /* dw12, pw12, dw13, pw13 (w, b) + heads */
    for (int k = 0; k < 8; k++) CHECK(s.info[k].block == 12 + k / 4);
    fill(e, 60.0f);
    int n = fd_largest(e, 1, FD_H_FACERES);
    CHECK(n >= 8);
    ft_close(e);
    fs_model_free(m);
}

TEST(ft_mobilenetv2_blocks_and_gradient) {
    fs_model *m = load("models/mobilenet_v2_imagenet/mobilenet_v2_1.0_224_quant.tflite");
    if (!m) SKIP("no ../shared MobileNetV2");
    ft_config c;
    ft_config_default(&c);
    c.batch = 1, c.feature = "#169", c.train_from = 15, c.dropout = 0;
    ft_engine *e;
    CHECK_MSG(ft_open(&e, m, &c) == FS_OK, "%s", fs_last_error());
    CHECK(ft_num_blocks(e) == 18 && ft_feature_dim(e) == 1280);
    ft_state s;
    ft_get_state(e, &s);
    /* blocks 15, 16 (expand, dw, project), 17 (expand, dw, project, Conv_1): 10 convs + heads */
    CHECK(s.n_info == 10 * 2 + 2);
    CHECK(s.info[0].block == 15 && s.info[6].block == 16 && s.info[12].block == 17 && s.info[19].block == 17);
    CHECK(strstr(s.info[18].name, "Conv_1") != NULL);
    fill(e, 1.0f);
    int n = fd_largest(e, 1, 2e-3f);
    CHECK(n >= 18);
    ft_close(e);
    fs_model_free(m);
}

/* forward + backward + update (optimiser, repack) over several steps: no allocation */
TEST(ft_steps_allocate_nothing) {
    fs_model *m = load("models/mobilenet_v2_imagenet/mobilenet_v2_1.0_224_quant.tflite");
    if (!m) SKIP("no ../shared MobileNetV2");
    fs_test_alloc_count_start();
    if (fs_test_alloc_count_stop() < 0) { fs_model_free(m); SKIP("malloc shim disabled (sanitizer or not glibc)"); }
    for (int threads = 1; threads <= 2; threads++) {
        ft_config c;
        ft_config_default(&c);
        c.batch = 2, c.feature = "#169", c.train_from = 14, c.threads = threads;
        ft_engine *e;
        CHECK_MSG(ft_open(&e, m, &c) == FS_OK, "%s", fs_last_error());
        fill(e, 1.0f);
        CHECK(ft_train_step(e, 2, ty, tg, NULL) == FS_OK); /* warm-up: the pool's threads start */
        fs_test_alloc_count_start();
        fs_status st = FS_OK;
        for (int k = 0; k < 3 && !st; k++) st = ft_forward(e, 1);
        long fwd = fs_test_alloc_count_stop();
        fs_test_alloc_count_start();
        for (int k = 0; k < 3 && !st; k++) st = ft_backward(e, 2, ty, tg, NULL);
        long bwd = fs_test_alloc_count_stop();
        fs_test_alloc_count_start();
        for (int k = 0; k < 3 && !st; k++) st = ft_update(e, NULL);
        long upd = fs_test_alloc_count_stop();
        fs_test_alloc_count_start();
        for (int k = 0; k < 3 && !st; k++) st = ft_train_step(e, 2, ty, tg, NULL);
        long all = fs_test_alloc_count_stop();
        fprintf(stderr, "    %d thread(s), 3 calls each: forward %ld, backward %ld, update %ld, whole steps %ld allocations\n",
                threads, fwd, bwd, upd, all);
        CHECK(st == FS_OK);
        CHECK(fwd == 0 && bwd == 0 && upd == 0 && all == 0);
        ft_close(e);
    }
    fs_model_free(m);
}

/* nn_graph_repack: weights changed in place + repack gives the output of a fresh plan with them */
TEST(nn_graph_repack_equals_fresh_plan) {
    fs_model *m = load("models/mobilenet_v2_imagenet/mobilenet_v2_1.0_224_quant.tflite");
    fs_model *r = load("models/mobilenet_v2_imagenet/mobilenet_v2_1.0_224_quant.tflite");
    if (!m || !r) SKIP("no ../shared MobileNetV2");
    nn_graph *g = fs_model_graph(m), *h = fs_model_graph(r);
    size_t n;
    float *x = fs_model_input(m, 0, &n); /* plans m */
    CHECK(x != NULL);
    for (size_t i = 0; i < n; i++) x[i] = (float)(i % 251) / 125.0f - 1.0f;
    CHECK(fs_model_run(m) == FS_OK);
    for (int k = 0; k < 2; k++) { /* the same change in both graphs' constants: every conv weight/bias */
        nn_graph *q = k ? h : g;
        for (int i = 0; i < q->n_nodes; i++) {
            const nn_node *nd = &q->nodes[i];
            if (nd->type != NN_OP_CONV2D) continue;
            for (int j = 1; j < nd->n_in; j++) {
                nn_tensor *t = &q->tensors[nd->in[j]];
                float *v = t->data;
                for (int64_t e = 0; e < nn_tensor_numel(t); e++) v[e] = v[e] * 1.01f + ((e % 7) - 3) * 1e-3f;
            }
        }
    }
    CHECK(nn_graph_repack(g, NULL) == FS_OK);
    CHECK(fs_model_run(m) == FS_OK);
    CHECK(fs_model_set_input(r, 0, x, n) == FS_OK);
    CHECK(fs_model_run(r) == FS_OK);
    size_t a, b;
    const float *ya = fs_model_output(m, 0, &a), *yb = fs_model_output(r, 0, &b);
    CHECK(ya && yb && a == b && a == 1001);
    CHECK(!memcmp(ya, yb, a * sizeof(float)));
    fs_model_free(m);
    fs_model_free(r);
}

/* same seed, same thread count -> the same bytes, with the fast backward kernels of real models:
 * MobileNetV2's last blocks (residual adds, Conv_1, pool), faceres whole (3x3 s2 stem, dw/pw pairs) */
static void two_runs_same_bytes(const char *rel, const char *feature, int train_from, float scale) {
    fs_model *m[2] = {load(rel), load(rel)};
    if (!m[0] || !m[1]) { fs_test_skip("no ../shared model"); return; }
    ft_engine *e[2];
    for (int k = 0; k < 2; k++) {
        ft_config c;
        ft_config_default(&c);
        c.batch = 3, c.feature = feature, c.train_from = train_from, c.threads = 2, c.warmup_steps = 1;
        CHECK_MSG(ft_open(&e[k], m[k], &c) == FS_OK, "%s", fs_last_error());
        fill(e[k], scale);
        for (int s = 0; s < 2; s++) CHECK(ft_train_step(e[k], 3, ty, tg, NULL) == FS_OK);
    }
    ft_state a, b;
    ft_get_state(e[0], &a);
    ft_get_state(e[1], &b);
    CHECK(a.n_params == b.n_params);
    CHECK(!memcmp(a.params, b.params, a.n_params * sizeof(float)));
    CHECK(!memcmp(a.v, b.v, a.n_params * sizeof(float)));
    for (int k = 0; k < 2; k++) ft_close(e[k]), fs_model_free(m[k]);
}

TEST(ft_two_runs_same_bytes) {
    two_runs_same_bytes("models/mobilenet_v2_imagenet/mobilenet_v2_1.0_224_quant.tflite", "#169", 13, 1.0f);
    if (fs_test_failed()) return;
    two_runs_same_bytes("models/human_faceres/faceres.json", "global_pooling/Mean", 0, 60.0f);
}
