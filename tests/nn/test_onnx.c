/* tests/nn/test_onnx.c — ONNX loader: structure of YuNet after the NCHW->NHWC passes, small
 * hand-made models (tests/data/nn/onnx/make_cases.py), malformed and unsupported files. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "facescore.h"
#include "nn/graph.h"
#include "nn/loaders/loaders.h"
#include "nn/passes.h"

static unsigned char *read_data(const char *name, size_t *len) {
    char path[256];
    snprintf(path, sizeof path, "tests/data/nn/onnx/%s", name);
    return fs_test_read_file(path, len);
}

/* a file under ../shared (fs_test_shared); NULL when absent */
static unsigned char *read_shared(const char *rel, size_t *len) {
    char *path = fs_test_shared(rel);
    unsigned char *buf = fs_test_read_file(path, len);
    free(path);
    return buf;
}

static fs_status load_bytes(const unsigned char *buf, size_t len, nn_graph **out) {
    nn_graph *g = nn_graph_new();
    if (!g) return FS_ERR_NOMEM;
    fs_status st = nn_load_onnx(g, buf, len);
    if (st || !out) { nn_graph_free(g); g = NULL; }
    if (out) *out = g;
    return st;
}

static fs_status load_case(const char *name, nn_graph **out) {
    size_t len;
    unsigned char *buf = read_data(name, &len);
    if (!buf) return FS_ERR_IO;
    fs_status st = load_bytes(buf, len, out);
    free(buf);
    return st;
}

static const nn_tensor *find(const nn_graph *g, const char *name) {
    int t = nn_graph_find_tensor(g, name);
    return t < 0 ? NULL : &g->tensors[t];
}

TEST(yunet_structure) {
    size_t len;
    unsigned char *buf = read_shared("models/yunet/yunet_n_640_640.onnx", &len);
    if (!buf) SKIP("../shared/models/yunet not present");
    nn_graph *g;
    fs_status st = load_bytes(buf, len, &g);
    free(buf);
    CHECK_MSG(st == FS_OK, "load: %s", fs_last_error());
    CHECK(!strcmp(g->format, "onnx"));
    CHECK(g->n_inputs == 1 && g->n_outputs == 12);
    const nn_tensor *in = &g->tensors[g->inputs[0]];
    CHECK(!strcmp(in->name, "input") && in->ndim == 4 && in->dims[1] == 3 && in->dims[2] == 640);
    CHECK(!strcmp(g->tensors[g->outputs[0]].name, "cls_8"));
    CHECK(!strcmp(g->tensors[g->outputs[11]].name, "kps_32"));
    const nn_tensor *kps8 = &g->tensors[g->outputs[9]];
    CHECK(kps8->ndim == 3 && kps8->dims[1] == 6400 && kps8->dims[2] == 10);
    /* SOURCES.md: Conv x59, Relu x18 (fused), MaxPool x4, Resize x2, Add x2, Reshape x12, Sigmoid x6 */
    CHECK(nn_graph_count_op(g, NN_OP_CONV2D) == 59);
    CHECK(nn_graph_count_op(g, NN_OP_CLAMP) == 0);
    CHECK(nn_graph_count_op(g, NN_OP_MAX_POOL2D) == 4);
    CHECK(nn_graph_count_op(g, NN_OP_RESIZE) == 2);
    CHECK(nn_graph_count_op(g, NN_OP_ADD) == 2);
    CHECK(nn_graph_count_op(g, NN_OP_RESHAPE) == 12);
    CHECK(nn_graph_count_op(g, NN_OP_SIGMOID) == 6);
    /* the 12 head Transposes cancel against the conv wrappers: only the input NCHW->NHWC stays */
    CHECK_MSG(nn_graph_count_op(g, NN_OP_TRANSPOSE) == 1, "%d transposes",
              nn_graph_count_op(g, NN_OP_TRANSPOSE));
    CHECK(g->nodes[0].type == NN_OP_TRANSPOSE && g->nodes[0].in[0] == g->inputs[0]);
    int fused = 0, depthwise = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *n = &g->nodes[i];
        if (n->type != NN_OP_CONV2D) continue;
        fused += n->attr.act_min == 0.0f;
        const nn_tensor *w = &g->tensors[n->in[1]];
        depthwise += n->attr.groups > 1 && n->attr.groups == w->dims[0] && w->dims[3] == 1;
    }
    CHECK_MSG(fused == 18, "%d convs with a fused relu", fused);
    CHECK(depthwise > 0);
    /* first conv: '459' OIHW [16][3][3][3] -> OHWI; stride 2, pads 1; w[1][2][0][1] (python onnx) */
    const nn_node *c0 = &g->nodes[1];
    CHECK(c0->type == NN_OP_CONV2D && c0->attr.stride_h == 2 && c0->attr.pad_t == 1 && c0->attr.pad_r == 1);
    const nn_tensor *w0 = &g->tensors[c0->in[1]];
    CHECK(w0->ndim == 4 && w0->dims[0] == 16 && w0->dims[1] == 3 && w0->dims[2] == 3 && w0->dims[3] == 3);
    const float *wd = w0->data;
    CHECK(wd[((1 * 3 + 0) * 3 + 1) * 3 + 2] == 0.0010584888514131308f); /* OIHW [1][2][0][1] */
    const nn_tensor *y = find(g, "cls_8");
    CHECK(y && y->ndim == 3 && y->dims[1] == 6400);
    nn_graph_free(g);
}

TEST(yunet_dynamic_structure) {
    size_t len;
    unsigned char *buf = read_shared("models/yunet/yunet_n_dynamic.onnx", &len);
    if (!buf) SKIP("../shared/models/yunet not present");
    nn_graph *g;
    fs_status st = load_bytes(buf, len, &g);
    free(buf);
    CHECK_MSG(st == FS_OK, "load: %s", fs_last_error());
    const nn_tensor *in = &g->tensors[g->inputs[0]];
    CHECK(in->ndim == 4 && in->dims[0] == -1 && in->dims[1] == 3 && in->dims[2] == -1);
    CHECK(nn_graph_count_op(g, NN_OP_SHAPE) == 12);
    /* 12 from the file + 12 from SHAPE(TRANSPOSE(x)) -> GATHER(SHAPE(x), perm) */
    CHECK(nn_graph_count_op(g, NN_OP_GATHER) == 24);
    CHECK(nn_graph_count_op(g, NN_OP_CONV2D) == 59);
    CHECK_MSG(nn_graph_count_op(g, NN_OP_TRANSPOSE) == 1, "%d transposes",
              nn_graph_count_op(g, NN_OP_TRANSPOSE));
    nn_graph_free(g);
}

TEST(small_cnn_structure) {
    nn_graph *g;
    fs_status st = load_case("small_cnn.onnx", &g);
    CHECK_MSG(st == FS_OK, "load: %s", fs_last_error());
    /* Conv+BN folded, Relu fused; GlobalAveragePool -> ReduceMean; Gemm -> FullyConnected */
    CHECK(nn_graph_count_op(g, NN_OP_CONV2D) == 1);
    CHECK(nn_graph_count_op(g, NN_OP_MUL) == 0 && nn_graph_count_op(g, NN_OP_CLAMP) == 0);
    CHECK(nn_graph_count_op(g, NN_OP_REDUCE_MEAN) == 1);
    CHECK(nn_graph_count_op(g, NN_OP_FULLY_CONNECTED) == 1);
    /* x -> T -> conv(relu) -> reduce -> T -> flatten -> fc */
    CHECK_MSG(nn_graph_count_op(g, NN_OP_TRANSPOSE) == 2, "%d transposes", nn_graph_count_op(g, NN_OP_TRANSPOSE));
    const nn_node *c = NULL;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].type == NN_OP_CONV2D) c = &g->nodes[i];
    CHECK(c && c->n_in == 3 && c->attr.act_min == 0.0f && c->attr.pad_l == 1);
    nn_graph_free(g);
}

TEST(typed_and_converted_initializers) {
    nn_graph *g;
    CHECK_MSG(load_case("typed_data.onnx", &g) == FS_OK, "%s", fs_last_error());
    const nn_tensor *shp = find(g, "shp"), *k = find(g, "k");
    CHECK(shp && shp->dtype == NN_I64 && ((const int64_t *)shp->data)[1] == -1);
    CHECK(k && k->dtype == NN_F32 && ((const float *)k->data)[0] == 2.5f);
    const nn_tensor *r = find(g, "r");
    CHECK(r && r->ndim == 2 && r->dims[0] == 1 && r->dims[1] == 32);
    nn_graph_free(g);
    CHECK_MSG(load_case("f16_double.onnx", &g) == FS_OK, "%s", fs_last_error());
    const nn_tensor *h = find(g, "h"), *d = find(g, "d");
    CHECK(h && h->dtype == NN_F32 && h->ndim == 4 && h->dims[3] == 4);
    const float *hv = h->data;
    CHECK(hv[0] == 0.5f && hv[1] == -2.0f && hv[2] == 65504.0f && hv[3] == ldexpf(1.0f, -24));
    CHECK(d && d->dtype == NN_F32 && ((const float *)d->data)[0] == 1.25f);
    nn_graph_free(g);
}

#define CHECK_REFUSED(file, code, text)                                                        \
    do {                                                                                       \
        fs_status st_ = load_case(file, NULL);                                                 \
        CHECK_MSG(st_ == (code), "%s: status %d (%s)", file, st_, fs_last_error());            \
        CHECK_MSG(strstr(fs_last_error(), text) != NULL, "%s: '%s'", file, fs_last_error());   \
    } while (0)

TEST(refusals) {
    CHECK_REFUSED("unknown_op.onnx", FS_ERR_UNSUPPORTED, "unsupported op 'Foo'");
    CHECK_REFUSED("conv_bad_attr.onnx", FS_ERR_UNSUPPORTED, "(Conv): attribute 'frobnicate' is not supported");
    CHECK_REFUSED("resize_crop.onnx", FS_ERR_UNSUPPORTED, "tf_crop_and_resize with scales");
    CHECK_REFUSED("raw_mismatch.onnx", FS_ERR_FORMAT, "raw_data has 212 bytes");
    CHECK_REFUSED("absurd_dims.onnx", FS_ERR_LIMIT, "overflow");
    CHECK_REFUSED("dims_past_data.onnx", FS_ERR_FORMAT, "exceed");
}

TEST(not_a_model) {
    const unsigned char junk[] = "this is not a protobuf";
    CHECK(load_bytes(junk, sizeof junk, NULL) == FS_ERR_FORMAT);
    CHECK(load_bytes(junk, 0, NULL) == FS_ERR_FORMAT);
}

/* every truncation and many byte corruptions of a real model: an error, never a crash */
TEST(truncated_and_corrupted) {
    size_t len;
    unsigned char *buf = read_data("small_cnn.onnx", &len);
    CHECK(buf != NULL);
    for (size_t k = 0; k < len; k++) {
        fs_status st = load_bytes(buf, k, NULL);
        CHECK_MSG(st != FS_OK, "truncated to %zu bytes still loads", k);
    }
    unsigned char *m = malloc(len);
    CHECK(m != NULL);
    uint32_t seed = 12345;
    int ok = 0;
    for (int it = 0; it < 3000; it++) {
        memcpy(m, buf, len);
        for (int j = 0; j < 1 + it % 4; j++) {
            seed = seed * 1664525u + 1013904223u;
            size_t pos = (seed >> 8) % len;
            seed = seed * 1664525u + 1013904223u;
            m[pos] = (unsigned char)(seed >> 24);
        }
        ok += load_bytes(m, len, NULL) == FS_OK;
    }
    free(m);
    free(buf);
    CHECK(ok < 3000);
}

/* byte corruptions of YuNet (load only) and of the small CNN (load, plan and run when it still
 * loads): errors or valid results, never a crash */
TEST(corrupted_models_load_plan_run) {
    size_t len;
    unsigned char *buf = read_shared("models/yunet/yunet_n_320_320.onnx", &len);
    if (!buf) SKIP("../shared/models/yunet not present");
    unsigned char *m = malloc(len);
    CHECK(m != NULL);
    uint32_t seed = 777;
    int loaded = 0, refused = 0;
    for (int it = 0; it < 150; it++) {
        memcpy(m, buf, len);
        for (int j = 0; j < 1 + it % 3; j++) {
            seed = seed * 1664525u + 1013904223u;
            size_t pos = (seed >> 4) % len;
            seed = seed * 1664525u + 1013904223u;
            m[pos] ^= (unsigned char)(1u << (seed >> 29));
        }
        nn_graph *g;
        if (load_bytes(m, len, &g) == FS_OK) { loaded++; nn_graph_free(g); }
        else { refused++; CHECK(fs_last_error()[0] != 0); }
    }
    free(m);
    free(buf);
    CHECK(loaded + refused == 150 && refused > 0);
    buf = read_data("small_cnn.onnx", &len);
    CHECK(buf != NULL);
    m = malloc(len);
    int ran = 0;
    for (int it = 0; it < 400; it++) {
        memcpy(m, buf, len);
        seed = seed * 1664525u + 1013904223u;
        m[(seed >> 4) % len] = (unsigned char)(seed >> 24);
        fs_model *fm;
        if (fs_model_load_memory(m, len, &fm) != FS_OK) continue;
        size_t n;
        float *in = fs_model_input(fm, 0, &n);
        if (in) {
            for (size_t i = 0; i < n; i++) in[i] = (float)i * 0.01f;
            if (fs_model_run(fm) == FS_OK) ran++;
        }
        fs_model_free(fm);
    }
    free(m);
    free(buf);
    CHECK(ran > 0);
}
