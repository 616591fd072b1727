/* tests/nn/test_tfjs.c — TF.js graph-model loader: the three ../shared models (structure, weights),
 * a tiny in-memory model (dequantization, filter layout, folding), malformed inputs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "facescore.h"
#include "nn/graph.h"
#include "nn/loaders/loaders.h"
#include "nn/passes.h"

/* ---- shard readers */

typedef struct { const char *dir; long truncate; } dir_ctx;

static fs_status dir_reader(const char *rel, uint8_t **data, size_t *len, void *vctx) {
    dir_ctx *c = vctx;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", c->dir, rel);
    unsigned char *b = fs_test_read_file(path, len);
    if (!b) return FS_ERR_IO;
    if (c->truncate >= 0 && (size_t)c->truncate < *len) *len = (size_t)c->truncate;
    *data = b;
    return FS_OK;
}

typedef struct { const uint8_t *bytes; size_t len; int calls; } mem_ctx;

static fs_status mem_reader(const char *rel, uint8_t **data, size_t *len, void *vctx) {
    mem_ctx *c = vctx;
    c->calls++;
    if (strcmp(rel, "tiny.bin")) return FS_ERR_IO;
    *data = malloc(c->len + 1);
    if (!*data) return FS_ERR_NOMEM;
    memcpy(*data, c->bytes, c->len);
    *len = c->len;
    return FS_OK;
}

static fs_status load_shared(const char *model, const char *json_name, long truncate, nn_graph **out) {
    char rel[256];
    snprintf(rel, sizeof rel, "models/%s", model);
    char *dir = fs_test_shared(rel);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, json_name);
    size_t len;
    char *json = (char *)fs_test_read_file(path, &len);
    if (!json) { free(dir); return FS_ERR_IO; }
    dir_ctx c = {dir, truncate};
    nn_graph *g = nn_graph_new();
    fs_status st = nn_load_tfjs(g, json, len, dir_reader, &c);
    free(json);
    free(dir);
    if (st || !out) { nn_graph_free(g); g = NULL; }
    if (out) *out = g;
    return st;
}

static const nn_node *producer(const nn_graph *g, int t) {
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_out; k++)
            if (g->nodes[i].out[k] == t) return &g->nodes[i];
    return NULL;
}

TEST(faceres_structure) {
    nn_graph *g;
    fs_status st = load_shared("human_faceres", "faceres.json", -1, &g);
    if (st == FS_ERR_IO) SKIP("../shared/models/human_faceres not present");
    CHECK_MSG(st == FS_OK, "%s", fs_last_error());
    CHECK(!strcmp(g->format, "tfjs"));
    CHECK(g->n_inputs == 1 && g->n_outputs == 3);
    const nn_tensor *in = &g->tensors[g->inputs[0]];
    CHECK(!strcmp(in->name, "input_1") && in->ndim == 4 && in->dims[0] == -1 && in->dims[1] == 224 && in->dims[3] == 3);
    int desc = nn_graph_find_tensor(g, "global_pooling/Mean");
    CHECK(desc >= 0 && g->tensors[desc].ndim == 2 && g->tensors[desc].dims[1] == 1024);
    /* BN Mul/Add folded into the 27 convs; Relu + Minimum(6) + Maximum(0) fused as [0,6] */
    CHECK(nn_graph_count_op(g, NN_OP_CONV2D) == 27);
    CHECK(nn_graph_count_op(g, NN_OP_MUL) == 0 && nn_graph_count_op(g, NN_OP_ADD) == 0);
    CHECK(nn_graph_count_op(g, NN_OP_CLAMP) == 0);
    CHECK(nn_graph_count_op(g, NN_OP_FULLY_CONNECTED) == 3);
    int relu6 = 0, dw = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *n = &g->nodes[i];
        if (n->type != NN_OP_CONV2D) continue;
        relu6 += n->attr.act_min == 0.0f && n->attr.act_max == 6.0f;
        dw += n->attr.groups > 1;
        CHECK(n->attr.auto_pad == 1 && n->n_in == 3);
    }
    CHECK(relu6 == 27 && dw == 13);
    nn_graph_free(g);
}

TEST(gear_structure_and_fp16_weights) {
    nn_graph *g;
    fs_status st = load_shared("human_gear", "gear.json", -1, &g);
    if (st == FS_ERR_IO) SKIP("../shared/models/human_gear not present");
    CHECK_MSG(st == FS_OK, "%s", fs_last_error());
    CHECK(g->n_outputs == 3);
    CHECK(!strcmp(g->tensors[g->outputs[1]].name, "Identity_1"));
    CHECK(g->tensors[g->outputs[1]].dims[1] == 2);
    CHECK(nn_graph_count_op(g, NN_OP_CONV2D) == 6 && nn_graph_count_op(g, NN_OP_MAX_POOL2D) == 5);
    CHECK(nn_graph_count_op(g, NN_OP_FULLY_CONNECTED) == 6 && nn_graph_count_op(g, NN_OP_SOFTMAX) == 3);
    /* dense_1 kernel [192][256] fp16 -> FC weight [256][192]; kernel[3][7] = -0.06158447265625 (numpy) */
    int fc1 = -1;
    for (int i = 0; i < g->n_nodes && fc1 < 0; i++)
        if (g->nodes[i].type == NN_OP_FULLY_CONNECTED && g->tensors[g->nodes[i].in[1]].dims[1] == 192) fc1 = i;
    CHECK(fc1 >= 0);
    const nn_tensor *w = &g->tensors[g->nodes[fc1].in[1]];
    CHECK(w->dims[0] == 256 && ((const float *)w->data)[7 * 192 + 3] == -0.06158447265625f);
    CHECK(g->nodes[fc1].attr.act_min == 0.0f); /* BiasAdd + Relu */
    nn_graph_free(g);
}

TEST(mobileface_structure) {
    nn_graph *g;
    fs_status st = load_shared("human_mobileface", "mobileface.json", -1, &g);
    if (st == FS_ERR_IO) SKIP("../shared/models/human_mobileface not present");
    CHECK_MSG(st == FS_OK, "%s", fs_last_error());
    CHECK(g->n_outputs == 1 && !strcmp(g->tensors[g->outputs[0]].name, "batchnorm0/add_1"));
    CHECK(g->tensors[g->outputs[0]].dims[1] == 256);
    /* max(x,0) + gamma*min(x,0) -> PRELU (13 of them); the 13 explicit Pads become conv padding */
    CHECK_MSG(nn_graph_count_op(g, NN_OP_PRELU) == 13, "%d prelu", nn_graph_count_op(g, NN_OP_PRELU));
    CHECK(nn_graph_count_op(g, NN_OP_CLAMP) == 0);
    CHECK(nn_graph_count_op(g, NN_OP_PAD) == 0);
    CHECK(nn_graph_count_op(g, NN_OP_CONV2D) == 17);
    /* conv1: HWIO [3][3][3][32] float32 -> OHWI; HWIO[1][2][0][5] = -0.03017059527337551 (numpy) */
    const nn_node *c1 = producer(g, nn_graph_find_tensor(g, "conv1"));
    CHECK(c1 && c1->type == NN_OP_CONV2D);
    CHECK(c1->attr.stride_h == 2 && c1->attr.pad_t == 1 && c1->attr.pad_b == 1 && c1->attr.auto_pad == 0);
    const nn_tensor *w = &g->tensors[c1->in[1]];
    CHECK(w->dims[0] == 32 && w->dims[3] == 3);
    CHECK(((const float *)w->data)[((5 * 3 + 1) * 3 + 2) * 3 + 0] == -0.03017059527337551f);
    nn_graph_free(g);
}

/* a tiny model: x[1,3,3,2] -> _FusedConv2D(BiasAdd) with a uint8 filter + fp16 bias -> Mul k -> Relu6
 *   w HWIO [1][1][2][2] uint8 {min -1, scale 0.5}: bytes 0,1,2,4 -> -1, -0.5, 0, 1
 *   b [2] fp16: 1.0, -2.0 ; k [2] float32: 0.5, 3.0 */
static const char *TINY =
    "{\"format\":\"graph-model\",\"modelTopology\":{\"node\":["
    "{\"name\":\"y\",\"op\":\"Relu6\",\"input\":[\"m\"]},"
    "{\"name\":\"m\",\"op\":\"Mul\",\"input\":[\"c\",\"k\"]},"
    "{\"name\":\"c\",\"op\":\"_FusedConv2D\",\"input\":[\"x\",\"w\",\"b\"],\"attr\":{"
    "\"strides\":{\"list\":{\"i\":[\"1\",\"1\",\"1\",\"1\"]}},\"padding\":{\"s\":\"VkFMSUQ=\"},"
    "\"data_format\":{\"s\":\"TkhXQw==\"},\"num_args\":{\"i\":\"1\"},"
    "\"fused_ops\":{\"list\":{\"s\":[\"Qmlhc0FkZA==\"]}}}},"
    "{\"name\":\"w\",\"op\":\"Const\"},{\"name\":\"b\",\"op\":\"Const\"},{\"name\":\"k\",\"op\":\"Const\"},"
    "{\"name\":\"x\",\"op\":\"Placeholder\",\"attr\":{\"dtype\":{\"type\":\"DT_FLOAT\"},"
    "\"shape\":{\"shape\":{\"dim\":[{\"size\":\"1\"},{\"size\":\"3\"},{\"size\":\"3\"},{\"size\":\"2\"}]}}}}"
    "]},\"weightsManifest\":[{\"paths\":[\"tiny.bin\"],\"weights\":["
    "{\"name\":\"w\",\"shape\":[1,1,2,2],\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"uint8\",\"min\":-1.0,\"scale\":0.5}},"
    "{\"name\":\"b\",\"shape\":[2],\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"float16\"}},"
    "{\"name\":\"k\",\"shape\":[2],\"dtype\":\"float32\"}]}]}";

static const uint8_t TINY_BIN[] = {0, 1, 2, 4, 0x00, 0x3c, 0x00, 0xc0, 0, 0, 0, 0x3f, 0, 0, 0x40, 0x40};

static fs_status load_json(const char *json, const uint8_t *bin, size_t bin_len, nn_graph **out) {
    mem_ctx c = {bin, bin_len, 0};
    nn_graph *g = nn_graph_new();
    fs_status st = nn_load_tfjs(g, json, strlen(json), mem_reader, &c);
    if (st || !out) { nn_graph_free(g); g = NULL; }
    if (out) *out = g;
    return st;
}

TEST(tiny_dequant_layout_folding) {
    nn_graph *g;
    CHECK_MSG(load_json(TINY, TINY_BIN, sizeof TINY_BIN, &g) == FS_OK, "%s", fs_last_error());
    CHECK(g->n_nodes == 1 && g->nodes[0].type == NN_OP_CONV2D);
    const nn_node *c = &g->nodes[0];
    CHECK(c->attr.act_min == 0.0f && c->attr.act_max == 6.0f && c->attr.auto_pad == 3);
    CHECK(!strcmp(g->tensors[c->out[0]].name, "y") && g->outputs[0] == c->out[0]);
    const float *w = g->tensors[c->in[1]].data, *b = g->tensors[c->in[2]].data;
    /* HWIO w[0][0][i][o] = {-1, -0.5, 0, 1}[i*2+o]; OHWI [o][0][0][i] scaled by k[o] */
    CHECK(w[0 * 2 + 0] == -1.0f * 0.5f && w[0 * 2 + 1] == 0.0f * 0.5f);
    CHECK(w[1 * 2 + 0] == -0.5f * 3.0f && w[1 * 2 + 1] == 1.0f * 3.0f);
    CHECK(b[0] == 1.0f * 0.5f && b[1] == -2.0f * 3.0f);
    nn_graph_free(g);
}

static char *replace(const char *s, const char *from, const char *to) {
    const char *p = strstr(s, from);
    if (!p) return NULL;
    size_t n = strlen(s) - strlen(from) + strlen(to);
    char *r = malloc(n + 1);
    memcpy(r, s, (size_t)(p - s));
    strcpy(r + (p - s), to);
    strcat(r, p + strlen(from));
    return r;
}

#define CHECK_REFUSED_JSON(json, bin, blen, code, text)                                          \
    do {                                                                                         \
        fs_status st_ = load_json(json, bin, blen, NULL);                                        \
        CHECK_MSG(st_ == (code), "status %d (%s)", st_, fs_last_error());                        \
        CHECK_MSG(strstr(fs_last_error(), text) != NULL, "'%s'", fs_last_error());               \
    } while (0)

TEST(tiny_malformed) {
    /* shard too short: each shorter length fails and says so */
    for (size_t n = 0; n < sizeof TINY_BIN; n++)
        CHECK_REFUSED_JSON(TINY, TINY_BIN, n, FS_ERR_FORMAT, "shard too short");
    /* missing shard */
    char *j = replace(TINY, "tiny.bin", "nothere.bin");
    CHECK_REFUSED_JSON(j, TINY_BIN, sizeof TINY_BIN, FS_ERR_IO, "nothere.bin");
    free(j);
    /* unknown op */
    j = replace(TINY, "Relu6", "Foo");
    CHECK_REFUSED_JSON(j, TINY_BIN, sizeof TINY_BIN, FS_ERR_UNSUPPORTED, "unsupported op 'Foo'");
    free(j);
    /* unsupported fused op, data format, padding */
    j = replace(TINY, "Qmlhc0FkZA==", "QWJj"); /* "Abc" */
    CHECK_REFUSED_JSON(j, TINY_BIN, sizeof TINY_BIN, FS_ERR_UNSUPPORTED, "fused op 'Abc'");
    free(j);
    j = replace(TINY, "TkhXQw==", "TkNIVw=="); /* NCHW */
    CHECK_REFUSED_JSON(j, TINY_BIN, sizeof TINY_BIN, FS_ERR_UNSUPPORTED, "data_format 'NCHW'");
    free(j);
    /* quantization we do not know, dtype string */
    j = replace(TINY, "\"dtype\":\"uint8\"", "\"dtype\":\"int4\"");
    CHECK_REFUSED_JSON(j, TINY_BIN, sizeof TINY_BIN, FS_ERR_UNSUPPORTED, "int4");
    free(j);
    /* absurd shape */
    j = replace(TINY, "[1,1,2,2]", "[1,1,2,99999999999]");
    CHECK(load_json(j, TINY_BIN, sizeof TINY_BIN, NULL) != FS_OK);
    free(j);
    j = replace(TINY, "[1,1,2,2]", "[65536,65536,65536,65536]");
    CHECK(load_json(j, TINY_BIN, sizeof TINY_BIN, NULL) != FS_OK);
    free(j);
    /* input never defined */
    j = replace(TINY, "[\"c\",\"k\"]", "[\"c\",\"kk\"]");
    CHECK_REFUSED_JSON(j, TINY_BIN, sizeof TINY_BIN, FS_ERR_FORMAT, "never defined");
    free(j);
    /* Const without weights */
    j = replace(TINY, "{\"name\":\"k\",\"shape\":[2],\"dtype\":\"float32\"}", "{\"name\":\"q\",\"shape\":[2],\"dtype\":\"float32\"}");
    CHECK_REFUSED_JSON(j, TINY_BIN, sizeof TINY_BIN, FS_ERR_FORMAT, "no weights");
    free(j);
    /* bad JSON: every truncation of the text */
    size_t n = strlen(TINY);
    char *t = malloc(n + 1);
    for (size_t k = 0; k < n; k += 7) {
        memcpy(t, TINY, k);
        t[k] = 0;
        CHECK(load_json(t, TINY_BIN, sizeof TINY_BIN, NULL) != FS_OK);
    }
    free(t);
    CHECK_REFUSED_JSON("[1,2,3]", TINY_BIN, 0, FS_ERR_FORMAT, "not an object");
    CHECK_REFUSED_JSON("{\"modelTopology\":{\"model_config\":{}}}", TINY_BIN, 0, FS_ERR_UNSUPPORTED, "layers models");
}

TEST(shared_shard_too_short) {
    fs_status st = load_shared("human_gear", "gear.json", 1000000, NULL);
    if (st == FS_ERR_IO) SKIP("../shared/models/human_gear not present");
    CHECK(st == FS_ERR_FORMAT);
    CHECK(strstr(fs_last_error(), "shard too short") != NULL);
}

/* x[1,2,2,1] -> ResizeNearestNeighbor 4x4 -> Square -> FusedBatchNormV3 -> Transpose -> Squeeze -> ExpandDims */
static const char *OPS =
    "{\"modelTopology\":{\"node\":["
    "{\"name\":\"x\",\"op\":\"Placeholder\",\"attr\":{\"shape\":{\"shape\":{\"dim\":[{\"size\":\"1\"},{\"size\":\"2\"},{\"size\":\"2\"},{\"size\":\"1\"}]}}}},"
    "{\"name\":\"size\",\"op\":\"Const\"},{\"name\":\"sc\",\"op\":\"Const\"},{\"name\":\"of\",\"op\":\"Const\"},"
    "{\"name\":\"mu\",\"op\":\"Const\"},{\"name\":\"var\",\"op\":\"Const\"},{\"name\":\"perm\",\"op\":\"Const\"},{\"name\":\"dim\",\"op\":\"Const\"},"
    "{\"name\":\"r\",\"op\":\"ResizeNearestNeighbor\",\"input\":[\"x\",\"size\"],\"attr\":{\"align_corners\":{\"b\":false},\"half_pixel_centers\":{\"b\":false}}},"
    "{\"name\":\"q\",\"op\":\"Square\",\"input\":[\"r\"]},"
    "{\"name\":\"bn\",\"op\":\"FusedBatchNormV3\",\"input\":[\"q\",\"sc\",\"of\",\"mu\",\"var\"],\"attr\":{\"epsilon\":{\"f\":1.0},\"is_training\":{\"b\":false}}},"
    "{\"name\":\"t\",\"op\":\"Transpose\",\"input\":[\"bn\",\"perm\"]},"
    "{\"name\":\"s\",\"op\":\"Squeeze\",\"input\":[\"t\"],\"attr\":{\"squeeze_dims\":{\"list\":{\"i\":[\"1\"]}}}},"
    "{\"name\":\"y\",\"op\":\"ExpandDims\",\"input\":[\"s\",\"dim\"]}"
    "]},\"weightsManifest\":[{\"paths\":[\"tiny.bin\"],\"weights\":["
    "{\"name\":\"size\",\"shape\":[2],\"dtype\":\"int32\"},{\"name\":\"sc\",\"shape\":[1],\"dtype\":\"float32\"},"
    "{\"name\":\"of\",\"shape\":[1],\"dtype\":\"float32\"},{\"name\":\"mu\",\"shape\":[1],\"dtype\":\"float32\"},"
    "{\"name\":\"var\",\"shape\":[1],\"dtype\":\"float32\"},{\"name\":\"perm\",\"shape\":[4],\"dtype\":\"int32\"},"
    "{\"name\":\"dim\",\"shape\":[],\"dtype\":\"int32\"}]}]}";

TEST(tiny_more_ops_run) {
    uint8_t bin[64];
    size_t n = 0;
    int32_t size[2] = {4, 4}, perm[4] = {0, 3, 1, 2}, dim = -1;
    float sc = 2.0f, of = 1.0f, mu = 0.5f, var = 3.0f;
    memcpy(bin + n, size, 8); n += 8;
    memcpy(bin + n, &sc, 4); n += 4;
    memcpy(bin + n, &of, 4); n += 4;
    memcpy(bin + n, &mu, 4); n += 4;
    memcpy(bin + n, &var, 4); n += 4;
    memcpy(bin + n, perm, 16); n += 16;
    memcpy(bin + n, &dim, 4); n += 4;
    nn_graph *g;
    CHECK_MSG(load_json(OPS, bin, n, &g) == FS_OK, "%s", fs_last_error());
    CHECK(g->n_outputs == 1);
    const nn_tensor *y = &g->tensors[g->outputs[0]];
    CHECK(y->ndim == 4 && y->dims[0] == 1 && y->dims[1] == 4 && y->dims[2] == 4 && y->dims[3] == 1);
    CHECK_MSG(nn_graph_plan(g) == FS_OK, "%s", fs_last_error());
    float *x = g->tensors[g->inputs[0]].data;
    x[0] = 1; x[1] = 2; x[2] = 3; x[3] = 4;
    CHECK_MSG(nn_graph_run(g) == FS_OK, "%s", fs_last_error());
    const float *o = g->tensors[g->outputs[0]].data;
    /* nearest (asymmetric, floor) 2x: o[i][j] = x[i/2][j/2]^2 * 1 + 0.5  (k = 2/sqrt(3+1) = 1) */
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            float v = x[(i / 2) * 2 + j / 2];
            CHECK_NEAR(o[i * 4 + j], v * v + 0.5f, 1e-6);
        }
    nn_graph_free(g);
}

/* random single-character edits of the tiny model.json: refused with a reason or loaded (and then
 * planned and run), never a crash */
TEST(tiny_json_mutations) {
    size_t n = strlen(TINY);
    char *t = malloc(n + 1);
    CHECK(t != NULL);
    static const char alphabet[] = "{}[]\":,0123456789-.eE aAzZ_/";
    uint32_t seed = 4242;
    int loaded = 0, refused = 0;
    for (int it = 0; it < 600; it++) {
        memcpy(t, TINY, n + 1);
        for (int j = 0; j < 1 + it % 2; j++) {
            seed = seed * 1664525u + 1013904223u;
            size_t pos = (seed >> 4) % n;
            seed = seed * 1664525u + 1013904223u;
            t[pos] = alphabet[(seed >> 24) % (sizeof alphabet - 1)];
        }
        nn_graph *g;
        if (load_json(t, TINY_BIN, sizeof TINY_BIN, &g) != FS_OK) {
            refused++;
            CHECK(fs_last_error()[0] != 0);
            continue;
        }
        loaded++;
        if (nn_graph_plan(g) == FS_OK) {
            float *x = g->tensors[g->inputs[0]].data;
            int64_t k = nn_tensor_numel(&g->tensors[g->inputs[0]]);
            for (int64_t i = 0; i < k; i++) x[i] = (float)i;
            (void)nn_graph_run(g);
        }
        nn_graph_free(g);
    }
    free(t);
    CHECK(loaded > 0 && refused > 0);
}
