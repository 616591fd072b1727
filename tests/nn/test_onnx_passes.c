/* tests/nn/test_onnx_passes.c — nn/passes.c on a hand-built graph of the shape the ONNX loader
 * produces (NCHW tensors around NHWC spatial ops): the optimised graph must compute the same
 * outputs as the unoptimised one, with the transposes cancelled and Pad / Mul / Add / clamps folded. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "nn/graph.h"
#include "nn/passes.h"

static uint32_t rng = 7;
static float frand(void) {
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static int cnst(nn_graph *g, const char *name, int nd, const int64_t *d) {
    int t = nn_graph_add_tensor(g, name, NN_F32, nd, d);
    float *p = nn_graph_alloc_const(g, t);
    for (int64_t i = 0; i < nn_tensor_numel(&g->tensors[t]); i++) p[i] = frand();
    return t;
}

static int tens(nn_graph *g, const char *name, int nd) { return nn_graph_add_tensor(g, name, NN_F32, nd, NULL); }

static int node(nn_graph *g, nn_op_type op, int n_in, const int *in, int out) {
    return nn_graph_add_node(g, op, "", n_in, in, 1, &out);
}

static void perm(nn_graph *g, int ni, int a, int b, int c, int d) {
    int *p = g->nodes[ni].attr.perm;
    p[0] = a; p[1] = b; p[2] = c; p[3] = d;
}

/* the graph; the same random weights every call (rng reset) */
static nn_graph *build(void) {
    rng = 7;
    nn_graph *g = nn_graph_new();
    int64_t xd[4] = {1, 3, 5, 6}, w1d[4] = {4, 3, 3, 3}, w2d[4] = {4, 1, 1, 3}, c4 = 4, one = 1;
    int x = nn_graph_add_tensor(g, "x", NN_F32, 4, xd);
    int w1 = cnst(g, "w1", 4, w1d), b1 = cnst(g, "b1", 1, &c4), w2 = cnst(g, "w2", 4, w2d);
    int k = cnst(g, "k", 1, &c4), c = cnst(g, "c", 1, &c4), h = cnst(g, "half", 1, &one);
    int t1 = tens(g, "t1", 4), t2 = tens(g, "t2", 4), t3 = tens(g, "t3", 4), t4 = tens(g, "t4", 4);
    int t5 = tens(g, "t5", 4), t6 = tens(g, "t6", 4), t7 = tens(g, "t7", 4), t8 = tens(g, "t8", 4);
    int t9 = tens(g, "t9", 4), t10 = tens(g, "t10", 4), t11 = tens(g, "t11", 4), t12 = tens(g, "t12", 4);
    int t13 = tens(g, "t13", 4), t14 = tens(g, "t14", 4), y = tens(g, "y", 4);
    int s = nn_graph_add_tensor(g, "s", NN_I64, 1, NULL);
    int n;
    n = node(g, NN_OP_TRANSPOSE, 1, &x, t1); perm(g, n, 0, 2, 3, 1);
    n = node(g, NN_OP_PAD, 1, &t1, t2);
    int64_t pads[8] = {0, 1, 2, 0, 0, 1, 0, 0};
    memcpy(g->nodes[n].attr.pads, pads, sizeof pads);
    int in3[3] = {t2, w1, b1};
    n = node(g, NN_OP_CONV2D, 3, in3, t3);
    g->nodes[n].attr.auto_pad = 3; /* VALID */
    int in4[2] = {t3, k};
    node(g, NN_OP_MUL, 2, in4, t4);
    int in5[2] = {t4, c};
    node(g, NN_OP_ADD, 2, in5, t5);
    n = node(g, NN_OP_TRANSPOSE, 1, &t5, t6); perm(g, n, 0, 3, 1, 2);
    n = node(g, NN_OP_CLAMP, 1, &t6, t7); g->nodes[n].attr.act_min = 0.0f;
    n = node(g, NN_OP_CLAMP, 1, &t7, t8); g->nodes[n].attr.act_max = 0.7f;
    int in9[2] = {t1, w2};
    node(g, NN_OP_CONV2D, 2, in9, t9);
    n = node(g, NN_OP_TRANSPOSE, 1, &t9, t10); perm(g, n, 0, 3, 1, 2);
    node(g, NN_OP_SHAPE, 1, &t10, s);
    int in11[2] = {t8, t10};
    node(g, NN_OP_ADD, 2, in11, t11);
    int in12[2] = {t11, h};
    node(g, NN_OP_MUL, 2, in12, t12);
    n = node(g, NN_OP_TRANSPOSE, 1, &t12, t13); perm(g, n, 0, 2, 3, 1);
    n = node(g, NN_OP_MAX_POOL2D, 1, &t13, t14);
    g->nodes[n].attr.kh = g->nodes[n].attr.kw = 2;
    g->nodes[n].attr.stride_h = g->nodes[n].attr.stride_w = 2;
    n = node(g, NN_OP_TRANSPOSE, 1, &t14, y); perm(g, n, 0, 3, 1, 2);
    g->inputs = malloc(sizeof(int));
    g->inputs[0] = x;
    g->n_inputs = 1;
    g->outputs = malloc(2 * sizeof(int));
    g->outputs[0] = y;
    g->outputs[1] = s;
    g->n_outputs = 2;
    return g;
}

static int run(nn_graph *g, float *y, int64_t *s) {
    if (nn_graph_plan(g)) return -1;
    float *x = g->tensors[g->inputs[0]].data;
    rng = 99;
    for (int i = 0; i < 90; i++) x[i] = frand() * 3.0f;
    if (nn_graph_run(g)) return -1;
    const nn_tensor *yt = &g->tensors[g->outputs[0]], *st = &g->tensors[g->outputs[1]];
    if (nn_tensor_numel(yt) != 24 || nn_tensor_numel(st) != 4) return -1;
    memcpy(y, yt->data, 24 * sizeof(float));
    memcpy(s, st->data, 4 * sizeof(int64_t));
    return 0;
}

TEST(passes_preserve_results) {
    nn_graph *a = build(), *b = build();
    CHECK(a && b);
    CHECK_MSG(nn_pass_optimize(b) == FS_OK, "%s", fs_last_error());
    /* input + output transposes remain; Pad, the per-channel Mul/Add and both clamps are folded */
    CHECK_MSG(nn_graph_count_op(b, NN_OP_TRANSPOSE) == 2, "%d transposes", nn_graph_count_op(b, NN_OP_TRANSPOSE));
    CHECK(nn_graph_count_op(b, NN_OP_PAD) == 0);
    CHECK(nn_graph_count_op(b, NN_OP_CLAMP) == 0);
    CHECK(nn_graph_count_op(b, NN_OP_ADD) == 1 && nn_graph_count_op(b, NN_OP_MUL) == 1);
    CHECK(nn_graph_count_op(b, NN_OP_SHAPE) == 1 && nn_graph_count_op(b, NN_OP_GATHER) == 1);
    int conv_pad = 0;
    for (int i = 0; i < b->n_nodes; i++)
        if (b->nodes[i].type == NN_OP_CONV2D && b->nodes[i].attr.pad_t == 1 && b->nodes[i].attr.pad_l == 2)
            conv_pad = b->nodes[i].attr.act_min == 0.0f && b->nodes[i].attr.act_max == 0.7f;
    CHECK_MSG(conv_pad, "pad / clamps not folded into the first conv");
    /* names of graph outputs survive */
    CHECK(!strcmp(b->tensors[b->outputs[0]].name, "y") && !strcmp(b->tensors[b->outputs[1]].name, "s"));
    float ya[24], yb[24];
    int64_t sa[4], sb[4];
    CHECK_MSG(run(a, ya, sa) == 0, "%s", fs_last_error());
    CHECK_MSG(run(b, yb, sb) == 0, "%s", fs_last_error());
    CHECK(sa[0] == 1 && sa[1] == 4 && sa[2] == 5 && sa[3] == 6);
    CHECK(memcmp(sa, sb, sizeof sa) == 0);
    double maxd = 0, maxv = 0;
    for (int i = 0; i < 24; i++) {
        maxd = fmax(maxd, fabs(ya[i] - yb[i]));
        maxv = fmax(maxv, fabs(ya[i]));
    }
    CHECK(maxv > 0.1);
    CHECK_MSG(maxd < 1e-5, "optimised graph differs by %g", maxd);
    nn_graph_free(a);
    nn_graph_free(b);
}

TEST(merge_non_inverse_transposes) {
    nn_graph *g = nn_graph_new();
    int64_t xd[3] = {2, 3, 4};
    int x = nn_graph_add_tensor(g, "x", NN_F32, 3, xd);
    int t1 = tens(g, "t1", 3), y = tens(g, "y", 3);
    int n = node(g, NN_OP_TRANSPOSE, 1, &x, t1);
    g->nodes[n].attr.perm[0] = 1; g->nodes[n].attr.perm[1] = 2; g->nodes[n].attr.perm[2] = 0;
    n = node(g, NN_OP_TRANSPOSE, 1, &t1, y);
    g->nodes[n].attr.perm[0] = 2; g->nodes[n].attr.perm[1] = 1; g->nodes[n].attr.perm[2] = 0;
    g->inputs = malloc(sizeof(int)); g->inputs[0] = x; g->n_inputs = 1;
    g->outputs = malloc(sizeof(int)); g->outputs[0] = y; g->n_outputs = 1;
    CHECK(nn_pass_optimize(g) == FS_OK);
    CHECK(g->n_nodes == 1 && g->nodes[0].type == NN_OP_TRANSPOSE);
    /* y[i] = t1[pb[i]] = x[pa[pb[i]]]: pa = (1,2,0), pb = (2,1,0) -> (0,2,1) */
    CHECK(g->nodes[0].attr.perm[0] == 0 && g->nodes[0].attr.perm[1] == 2 && g->nodes[0].attr.perm[2] == 1);
    CHECK(nn_graph_plan(g) == FS_OK);
    float *xv = g->tensors[g->inputs[0]].data;
    for (int i = 0; i < 24; i++) xv[i] = (float)i;
    CHECK(nn_graph_run(g) == FS_OK);
    const float *yv = g->tensors[g->outputs[0]].data;
    /* y[a][c][b] = x[a][b][c] */
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 4; c++) CHECK(yv[(a * 4 + c) * 3 + b] == xv[(a * 3 + b) * 4 + c]);
    nn_graph_free(g);
}

/* max(x,0) + k*min(x,0) -> PRELU(x, k): same values, one node */
static nn_graph *build_prelu(void) {
    rng = 11;
    nn_graph *g = nn_graph_new();
    int64_t xd[4] = {1, 2, 3, 5}, kd = 5;
    int x = nn_graph_add_tensor(g, "x", NN_F32, 4, xd);
    int k = cnst(g, "k", 1, &kd);
    int p = tens(g, "p", 4), q = tens(g, "q", 4), m = tens(g, "m", 4), y = tens(g, "y", 4);
    int n = node(g, NN_OP_CLAMP, 1, &x, p);
    g->nodes[n].attr.act_min = 0.0f;
    n = node(g, NN_OP_CLAMP, 1, &x, q);
    g->nodes[n].attr.act_max = 0.0f;
    int in1[2] = {k, q}, in2[2] = {p, m};
    node(g, NN_OP_MUL, 2, in1, m);
    node(g, NN_OP_ADD, 2, in2, y);
    g->inputs = malloc(sizeof(int)); g->inputs[0] = x; g->n_inputs = 1;
    g->outputs = malloc(sizeof(int)); g->outputs[0] = y; g->n_outputs = 1;
    return g;
}

TEST(prelu_pattern) {
    nn_graph *a = build_prelu(), *b = build_prelu();
    CHECK(nn_pass_optimize(b) == FS_OK);
    CHECK(b->n_nodes == 1 && b->nodes[0].type == NN_OP_PRELU);
    CHECK(!strcmp(b->tensors[b->outputs[0]].name, "y"));
    float out[2][30];
    nn_graph *gs[2] = {a, b};
    for (int v = 0; v < 2; v++) {
        CHECK_MSG(nn_graph_plan(gs[v]) == FS_OK, "%s", fs_last_error());
        float *x = gs[v]->tensors[gs[v]->inputs[0]].data;
        for (int i = 0; i < 30; i++) x[i] = (float)(i - 15) * 0.37f;
        CHECK(nn_graph_run(gs[v]) == FS_OK);
        memcpy(out[v], gs[v]->tensors[gs[v]->outputs[0]].data, sizeof out[v]);
    }
    int neg_scaled = 0;
    for (int i = 0; i < 30; i++) {
        CHECK_NEAR(out[1][i], out[0][i], 1e-6);
        neg_scaled += i < 15 && out[0][i] != (float)(i - 15) * 0.37f;
    }
    CHECK(neg_scaled > 10);
    nn_graph_free(a);
    nn_graph_free(b);
}
