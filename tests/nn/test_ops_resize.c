/* tests/nn/test_ops_resize.c — Resize (nearest with every rounding mode, linear, cubic with A and
 * exclude_outside; coordinate modes half_pixel, asymmetric, pytorch_half_pixel, align_corners;
 * sizes or scales) against ONNX's own reference implementation (tests/data/nn/gen_resize.py -> resize_cases.txt). */
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "nn/graph.h"

static int read_floats(char **p, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char *end;
        out[i] = strtof(*p, &end);
        if (end == *p) return -1;
        *p = end;
    }
    return 0;
}

TEST(resize_matches_onnx_reference) {
    size_t len;
    char *txt = (char *)fs_test_read_file("tests/data/nn/resize_cases.txt", &len);
    CHECK(txt);
    char *p = txt;
    int cases = 0;
    while ((p = strstr(p, "case "))) {
        p += 5;
        long mode = strtol(p, &p, 10), coord = strtol(p, &p, 10), nearest = strtol(p, &p, 10);
        long use_scales = strtol(p, &p, 10), nd = strtol(p, &p, 10);
        CHECK(nd >= 1 && nd <= 8);
        int64_t d[8], o[8];
        float sc[8] = {0};
        for (int i = 0; i < nd; i++) d[i] = strtol(p, &p, 10);
        for (int i = 0; i < nd; i++) o[i] = strtol(p, &p, 10);
        if (use_scales) CHECK(read_floats(&p, sc, (size_t)nd) == 0);
        size_t ni = 1, no = 1;
        for (int i = 0; i < nd; i++) { ni *= (size_t)d[i]; no *= (size_t)o[i]; }
        float *x = malloc(ni * sizeof(float)), *want = malloc(no * sizeof(float));
        CHECK(x && want && read_floats(&p, x, ni) == 0 && read_floats(&p, want, no) == 0);

        nn_graph *g = nn_graph_new();
        int xt = nn_graph_add_tensor(g, "x", NN_F32, (int)nd, d);
        int yt = nn_graph_add_tensor(g, "y", NN_F32, 0, NULL);
        int in[2] = {xt, -1}, nin = 1;
        if (!use_scales) {
            int64_t nd64[1] = {nd};
            in[1] = nn_graph_add_const(g, "sizes", NN_I64, 1, nd64, o);
            nin = 2;
        }
        int k = nn_graph_add_node(g, NN_OP_RESIZE, "rs", nin, in, 1, &yt);
        nn_attr *a = &g->nodes[k].attr;
        a->resize_mode = mode >= 2 ? NN_RESIZE_CUBIC : mode ? NN_RESIZE_LINEAR : NN_RESIZE_NEAREST;
        a->cubic_a = mode == 3 ? -0.5f : mode >= 2 ? -0.75f : 0;
        a->exclude_outside = mode == 3 || mode == 4;
        a->coord_mode = (int)coord;
        a->nearest_mode = (int)nearest;
        memcpy(a->scales, sc, sizeof sc);
        g->inputs = malloc(sizeof(int));
        g->inputs[0] = xt;
        g->n_inputs = 1;
        g->outputs = malloc(sizeof(int));
        g->outputs[0] = yt;
        g->n_outputs = 1;
        CHECK_MSG(nn_graph_plan(g) == FS_OK, "case %d: %s", cases, fs_last_error());
        nn_tensor *Y = &g->tensors[yt];
        for (int i = 0; i < nd; i++) CHECK_MSG(Y->dims[i] == o[i], "case %d dim %d", cases, i);
        memcpy(g->tensors[xt].data, x, ni * sizeof(float));
        CHECK(nn_graph_run(g) == FS_OK);
        for (size_t i = 0; i < no; i++)
            CHECK_MSG(fabsf(((float *)Y->data)[i] - want[i]) <= 2e-6f,
                      "case %d (mode %ld coord %ld nearest %ld scales %ld) elem %zu: %.9g vs %.9g", cases, mode,
                      coord, nearest, use_scales, i, ((float *)Y->data)[i], want[i]);
        nn_graph_free(g);
        free(x);
        free(want);
        cases++;
    }
    CHECK(cases >= 50);
    free(txt);
}
