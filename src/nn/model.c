/* nn/model.c — the public fs_model_* API over nn_graph: loading by format, I/O queries, planning on
 * demand, runs (single and batched, no allocation once planned), named tensor access. */
#include "nn/model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/loaders/loaders.h"
#include "nn/ops/ops.h"

struct fs_model {
    nn_graph *g;
};

nn_graph *fs_model_graph(fs_model *m) { return m ? m->g : NULL; }

#define MODEL_MAX_BYTES ((size_t)2 << 30)

static fs_status read_file(const char *path, uint8_t **data, size_t *len) {
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return fs_error(FS_ERR_IO, "%s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return fs_error(FS_ERR_IO, "%s: cannot seek", path); }
    long sz = ftell(f);
    if (sz < 0 || (unsigned long)sz > MODEL_MAX_BYTES) {
        fclose(f);
        return fs_error(sz < 0 ? FS_ERR_IO : FS_ERR_LIMIT, "%s: %s", path, sz < 0 ? "cannot size" : "larger than 2 GiB");
    }
    rewind(f);
    uint8_t *b = malloc((size_t)sz + 1);
    if (!b) { fclose(f); return fs_error(FS_ERR_NOMEM, "%s: out of memory", path); }
    size_t got = fread(b, 1, (size_t)sz, f);
    fclose(f);
    if (got != (size_t)sz) { free(b); return fs_error(FS_ERR_IO, "%s: short read", path); }
    b[sz] = 0;
    *data = b;
    *len = (size_t)sz;
    return FS_OK;
}

typedef enum { FMT_UNKNOWN, FMT_TFLITE, FMT_ONNX, FMT_TFJS } model_fmt;

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcasecmp(s + a - b, suf);
}

static model_fmt sniff(const uint8_t *b, size_t len, const char *path) {
    if (len >= 8 && !memcmp(b + 4, "TFL3", 4)) return FMT_TFLITE;
    size_t i = 0;
    while (i < len && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t')) i++;
    if (i < len && b[i] == '{') return FMT_TFJS;
    if (path && ends_with(path, ".onnx")) return FMT_ONNX;
    if (path && ends_with(path, ".tflite")) return FMT_TFLITE;
    if (len > 2 && b[0] == 0x08) return FMT_ONNX; /* field 1 (ir_version), varint */
    return FMT_UNKNOWN;
}

/* TF.js shards are read relative to the model.json directory. */
typedef struct { char dir[4096]; } shard_ctx;

static fs_status read_shard(const char *rel, uint8_t **data, size_t *len, void *ctx) {
    shard_ctx *s = ctx;
    if (!rel || strstr(rel, "..") || rel[0] == '/')
        return fs_error(FS_ERR_FORMAT, "TF.js: refusing weight path '%s'", rel ? rel : "");
    char path[8192];
    snprintf(path, sizeof path, "%s%s", s->dir, rel);
    return read_file(path, data, len);
}

/* Models whose only dynamic dims are leading batch dims (TF.js [-1,H,W,C]) are checked at load
 * with batch 1; the declared dims are restored afterwards. */
static fs_status check_with_batch_1(nn_graph *g) {
    fs_status st = FS_OK;
    int n = g->n_inputs < NN_MAX_IO ? g->n_inputs : NN_MAX_IO;
    int64_t orig[NN_MAX_IO][NN_MAX_DIMS];
    for (int i = 0; i < n; i++) memcpy(orig[i], g->tensors[g->inputs[i]].dims, sizeof orig[i]);
    for (int i = 0; i < n && !st; i++) {
        nn_tensor *t = &g->tensors[g->inputs[i]];
        int64_t d[NN_MAX_DIMS];
        for (int k = 0; k < t->ndim; k++) d[k] = orig[i][k] < 0 ? 1 : orig[i][k];
        st = nn_graph_set_input_dims(g, i, t->ndim, d);
    }
    if (!st) st = nn_graph_check(g);
    for (int i = 0; i < n; i++) { /* back to the file's dims */
        nn_tensor *t = &g->tensors[g->inputs[i]];
        memcpy(t->decl_dims, orig[i], sizeof t->decl_dims);
        memcpy(t->dims, orig[i], sizeof t->dims);
        t->decl_ndim = t->ndim;
    }
    g->shapes_overridden = 0;
    return st;
}

static fs_status finish(nn_graph *g, fs_status st, fs_model **out) {
    if (st) { nn_graph_free(g); return st; }
    if (g->n_inputs < 1 || g->n_outputs < 1) {
        nn_graph_free(g);
        return fs_error(FS_ERR_FORMAT, "model has no inputs or no outputs");
    }
    /* with static input dims, refuse unsupported attributes / bad shapes now rather than at the
     * first run (dynamic models are checked when their dims are set) */
    int dynamic = 0, batch_only = 1;
    for (int i = 0; i < g->n_inputs; i++) {
        const nn_tensor *t = &g->tensors[g->inputs[i]];
        for (int d = 0; d < t->ndim; d++)
            if (t->dims[d] < 0) { dynamic = 1; if (d) batch_only = 0; }
    }
    if (!dynamic) st = nn_graph_check(g);
    else if (batch_only) st = check_with_batch_1(g);
    if (st) { nn_graph_free(g); return st; }
    fs_model *m = calloc(1, sizeof *m);
    if (!m) { nn_graph_free(g); return fs_error(FS_ERR_NOMEM, "out of memory"); }
    m->g = g;
    *out = m;
    return FS_OK;
}

static fs_status load_bytes(const uint8_t *b, size_t len, const char *path, fs_model **out) {
    nn_graph *g = nn_graph_new();
    if (!g) return FS_ERR_NOMEM;
    fs_status st;
    switch (sniff(b, len, path)) {
    case FMT_TFLITE: st = nn_load_tflite(g, b, len); break;
    case FMT_ONNX: st = nn_load_onnx(g, b, len); break;
    case FMT_TFJS: {
        if (!path) { st = fs_error(FS_ERR_ARG, "TF.js models load from a path (their weights are separate files)"); break; }
        shard_ctx *sc = calloc(1, sizeof *sc);
        if (!sc) { st = fs_error(FS_ERR_NOMEM, "out of memory"); break; }
        const char *slash = strrchr(path, '/');
        size_t dl = slash ? (size_t)(slash - path + 1) : 0;
        if (dl >= sizeof sc->dir) dl = 0;
        memcpy(sc->dir, path, dl);
        sc->dir[dl] = 0;
        st = nn_load_tfjs(g, (const char *)b, len, read_shard, sc);
        free(sc);
        break;
    }
    default: st = fs_error(FS_ERR_FORMAT, "unknown model format (not TFLite, ONNX or TF.js model.json)"); break;
    }
    return finish(g, st, out);
}

fs_status fs_model_load(const char *path, fs_model **out) {
    if (!path || !out) return fs_error(FS_ERR_ARG, "fs_model_load: NULL argument");
    *out = NULL;
    uint8_t *b;
    size_t len;
    fs_status st = read_file(path, &b, &len);
    if (st) return st;
    st = load_bytes(b, len, path, out);
    free(b);
    if (st) fs_error_prefix("%s: ", path);
    return st;
}

fs_status fs_model_load_memory(const void *buf, size_t len, fs_model **out) {
    if (!buf || !out) return fs_error(FS_ERR_ARG, "fs_model_load_memory: NULL argument");
    *out = NULL;
    return load_bytes(buf, len, NULL, out);
}

void fs_model_free(fs_model *m) {
    if (!m) return;
    nn_graph_free(m->g);
    free(m);
}

const char *fs_model_format(const fs_model *m) { return m ? m->g->format : ""; }
int fs_model_num_inputs(const fs_model *m) { return m ? m->g->n_inputs : 0; }
int fs_model_num_outputs(const fs_model *m) { return m ? m->g->n_outputs : 0; }

static void fill_info(const nn_graph *g, int t, fs_tensor_info *info) {
    const nn_tensor *x = &g->tensors[t];
    memset(info, 0, sizeof *info);
    info->name = x->name;
    int planned = g->planned || x->is_const || !x->decl_saved;
    info->ndim = planned ? x->ndim : x->decl_ndim;
    for (int d = 0; d < info->ndim && d < FS_MODEL_MAX_DIMS; d++)
        info->dims[d] = planned ? x->dims[d] : x->decl_dims[d];
    info->dtype = (int)x->dtype;
}

fs_status fs_model_input_info(const fs_model *m, int i, fs_tensor_info *info) {
    if (!m || !info || i < 0 || i >= m->g->n_inputs) return fs_error(FS_ERR_ARG, "no model input %d", i);
    fill_info(m->g, m->g->inputs[i], info);
    return FS_OK;
}

fs_status fs_model_output_info(const fs_model *m, int i, fs_tensor_info *info) {
    if (!m || !info || i < 0 || i >= m->g->n_outputs) return fs_error(FS_ERR_ARG, "no model output %d", i);
    fill_info(m->g, m->g->outputs[i], info);
    return FS_OK;
}

static int lookup(const nn_graph *g, const char *name) {
    if (!name) return -1;
    if (name[0] == '#' && name[1]) {
        char *end;
        long v = strtol(name + 1, &end, 10);
        if (!*end && v >= 0 && v < g->n_tensors) return (int)v;
    }
    return nn_graph_find_tensor(g, name);
}

fs_status fs_model_tensor_info(const fs_model *m, const char *name, fs_tensor_info *info) {
    int t = m ? lookup(m->g, name) : -1;
    if (t < 0 || !info) return fs_error(FS_ERR_ARG, "no tensor '%s' in the model", name ? name : "");
    fill_info(m->g, t, info);
    return FS_OK;
}

fs_status fs_model_set_threads(fs_model *m, int threads) {
    if (!m) return fs_error(FS_ERR_ARG, "NULL model");
    return nn_graph_set_threads(m->g, threads);
}

fs_status fs_model_set_input_shape(fs_model *m, int i, int ndim, const int64_t *dims) {
    if (!m || !dims) return fs_error(FS_ERR_ARG, "NULL argument");
    return nn_graph_set_input_dims(m->g, i, ndim, dims);
}

fs_status fs_model_keep_tensor(fs_model *m, const char *name) {
    int t = m ? lookup(m->g, name) : -1;
    if (t < 0) return fs_error(FS_ERR_ARG, "no tensor '%s' in the model", name ? name : "");
    nn_graph *g = m->g;
    int computed = g->tensors[t].is_const;
    for (int i = 0; i < g->n_inputs; i++) computed |= g->inputs[i] == t;
    for (int i = 0; i < g->n_nodes && !computed; i++)
        for (int k = 0; k < g->nodes[i].n_out; k++) computed |= g->nodes[i].out[k] == t;
    if (!computed)
        return fs_error(FS_ERR_ARG, "tensor '%s' is not computed (fused into another op by the loader)", name);
    if (!m->g->tensors[t].keep) {
        m->g->tensors[t].keep = 1;
        nn_graph_unplan(m->g);
    }
    return FS_OK;
}

fs_status fs_model_plan(fs_model *m) {
    if (!m) return fs_error(FS_ERR_ARG, "NULL model");
    return m->g->planned ? FS_OK : nn_graph_plan(m->g);
}

float *fs_model_input(fs_model *m, int i, size_t *numel) {
    if (!m || i < 0 || i >= m->g->n_inputs) { fs_error(FS_ERR_ARG, "no model input %d", i); return NULL; }
    if (fs_model_plan(m)) return NULL;
    nn_tensor *t = &m->g->tensors[m->g->inputs[i]];
    if (numel) *numel = nn_numel(t);
    return t->data;
}

fs_status fs_model_set_input(fs_model *m, int i, const float *data, size_t numel) {
    size_t n;
    float *p = fs_model_input(m, i, &n);
    if (!p) return fs_last_error()[0] ? FS_ERR_ARG : FS_ERR_INTERNAL;
    if (numel != n) return fs_error(FS_ERR_ARG, "input %d takes %zu values, got %zu", i, n, numel);
    memcpy(p, data, n * sizeof(float));
    return FS_OK;
}

fs_status fs_model_run(fs_model *m) {
    if (!m) return fs_error(FS_ERR_ARG, "NULL model");
    return nn_graph_run(m->g);
}

static const float *tensor_ptr(const nn_graph *g, int t, size_t *numel) {
    const nn_tensor *x = &g->tensors[t];
    if (!g->planned) { fs_error(FS_ERR_ARG, "model has not run yet"); return NULL; }
    if (x->dtype != NN_F32) { fs_error(FS_ERR_UNSUPPORTED, "tensor '%s' is not float32", x->name); return NULL; }
    int is_out = x->is_const || x->keep;
    for (int i = 0; i < g->n_outputs; i++) is_out |= g->outputs[i] == t;
    if (!is_out) {
        fs_error(FS_ERR_ARG, "tensor '%s' was not kept: call fs_model_keep_tensor before running", x->name);
        return NULL;
    }
    if (!x->data) { fs_error(FS_ERR_ARG, "tensor '%s' has no data (not computed)", x->name); return NULL; }
    if (numel) *numel = nn_numel(x);
    return x->data;
}

const float *fs_model_output(const fs_model *m, int i, size_t *numel) {
    if (!m || i < 0 || i >= m->g->n_outputs) { fs_error(FS_ERR_ARG, "no model output %d", i); return NULL; }
    return tensor_ptr(m->g, m->g->outputs[i], numel);
}

const float *fs_model_tensor(const fs_model *m, const char *name, size_t *numel) {
    int t = m ? lookup(m->g, name) : -1;
    if (t < 0) { fs_error(FS_ERR_ARG, "no tensor '%s' in the model", name ? name : ""); return NULL; }
    return tensor_ptr(m->g, t, numel);
}

fs_status fs_model_run_batch(fs_model *m, int n, const float *in, size_t in_stride, const char *output,
                             float *out, size_t out_stride) {
    if (!m || n < 0 || (n && (!in || !out))) return fs_error(FS_ERR_ARG, "fs_model_run_batch: bad arguments");
    int t = output ? lookup(m->g, output) : m->g->outputs[0];
    if (t < 0) return fs_error(FS_ERR_ARG, "no tensor '%s' in the model", output);
    if (output && !m->g->tensors[t].keep) {
        int is_out = 0;
        for (int i = 0; i < m->g->n_outputs; i++) is_out |= m->g->outputs[i] == t;
        if (!is_out) {
            fs_status st = fs_model_keep_tensor(m, output);
            if (st) return st;
        }
    }
    size_t nin;
    float *dst = fs_model_input(m, 0, &nin);
    if (!dst) return FS_ERR_ARG;
    if (in_stride < nin) return fs_error(FS_ERR_ARG, "input stride %zu < input size %zu", in_stride, nin);
    size_t nout = nn_numel(&m->g->tensors[t]);
    if (out_stride < nout) return fs_error(FS_ERR_ARG, "output stride %zu < output size %zu", out_stride, nout);
    for (int k = 0; k < n; k++) {
        memcpy(dst, in + (size_t)k * in_stride, nin * sizeof(float));
        fs_status st = nn_graph_run(m->g);
        if (st) return st;
        const float *y = tensor_ptr(m->g, t, NULL);
        if (!y) return FS_ERR_ARG;
        memcpy(out + (size_t)k * out_stride, y, nout * sizeof(float));
    }
    return FS_OK;
}
