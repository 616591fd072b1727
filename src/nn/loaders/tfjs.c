/* nn/loaders/tfjs.c — TF.js graph-model loader (model.json + .bin shards) into the internal graph.
 *
 * model.json: modelTopology.node[] in TF GraphDef JSON form ({name, op, input[], attr{}}), and
 * weightsManifest[] groups {paths[], weights[{name, shape, dtype, quantization?}]}: each group's
 * shards are concatenated and hold its weights back to back. Weights are dequantized to float32
 * at load: float16, or uint8/uint16 affine (v = min + scale * q). TF is NHWC like the runtime, so no
 * layout change is needed; filters go from HWIO (depthwise HWCM) to OHWI.
 * Attributes that change semantics and that we do not implement are refused by name. */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/loaders/ldcommon.h"
#include "nn/loaders/loaders.h"
#include "nn/loaders/tensorproto.h"
#include "nn/passes.h"

#define TJ_MAX_WEIGHT_BYTES ((size_t)1 << 31)

typedef struct {
    nn_graph *g;
    ld_names names;   /* TF node name -> tensor */
    json_t *node;     /* current node, for messages */
    const char *nname, *op;
} tj_ctx;

__attribute__((format(printf, 3, 4))) static fs_status node_fail(tj_ctx *cx, fs_status code, const char *fmt, ...) {
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fs_error(code, "TF.js: node '%s' (%s): %s", cx->nname, cx->op, msg);
}

static nn_tensor *T(tj_ctx *cx, int t) { return &cx->g->tensors[t]; }

/* ------------------------------------------------------------------ attributes */

static json_t *attr(tj_ctx *cx, const char *name) {
    json_t *a = json_object_get(cx->node, "attr");
    return a ? json_object_get(a, name) : NULL;
}

static int b64val(int c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* attr {"s": base64} -> text (truncated to cap) ; "" if absent */
static void attr_s(tj_ctx *cx, const char *name, char *out, size_t cap) {
    out[0] = 0;
    json_t *a = attr(cx, name);
    const char *s = a ? json_string_value(json_object_get(a, "s")) : NULL;
    if (!s) return;
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        int v = b64val((unsigned char)*s);
        if (v < 0) break;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 < cap) out[n++] = (char)(acc >> bits & 0xff);
        }
    }
    out[n] = 0;
}

static int64_t jint(json_t *v) {
    if (json_is_integer(v)) return json_integer_value(v);
    if (json_is_string(v)) return strtoll(json_string_value(v), NULL, 10);
    if (json_is_real(v)) return (int64_t)json_real_value(v);
    return 0;
}

/* attr {"list": {"i": [...]}} -> count, -1 if more than max */
static int attr_ints(tj_ctx *cx, const char *name, int64_t *out, int max) {
    json_t *a = attr(cx, name);
    json_t *l = a ? json_object_get(json_object_get(a, "list"), "i") : NULL;
    if (!l) return 0;
    size_t n = json_array_size(l);
    if (n > (size_t)max) return -1;
    for (size_t i = 0; i < n; i++) out[i] = jint(json_array_get(l, i));
    return (int)n;
}

static int attr_b(tj_ctx *cx, const char *name, int def) {
    json_t *a = attr(cx, name);
    json_t *b = a ? json_object_get(a, "b") : NULL;
    return b ? json_is_true(b) : def;
}

static double attr_f(tj_ctx *cx, const char *name, double def) {
    json_t *a = attr(cx, name);
    json_t *f = a ? json_object_get(a, "f") : NULL;
    return f ? json_number_value(f) : def;
}

static int64_t attr_i(tj_ctx *cx, const char *name, int64_t def) {
    json_t *a = attr(cx, name);
    json_t *i = a ? json_object_get(a, "i") : NULL;
    return i ? jint(i) : def;
}

/* ------------------------------------------------------------------ tensors */

/* tensor of node input k ("name", "name:0"; "^ctrl" inputs are skipped by the caller) */
static int in_t(tj_ctx *cx, int k) {
    json_t *ins = json_object_get(cx->node, "input");
    const char *s = json_string_value(json_array_get(ins, (size_t)k));
    if (!s) { node_fail(cx, FS_ERR_FORMAT, "input %d is missing", k); return -1; }
    size_t n = strlen(s);
    const char *colon = strrchr(s, ':');
    if (colon && colon[1] == '0' && colon[2] == 0) n = (size_t)(colon - s);
    else if (colon) { node_fail(cx, FS_ERR_UNSUPPORTED, "input '%s' uses a secondary output", s); return -1; }
    int t = ld_names_get(&cx->names, s, n);
    if (t < 0) node_fail(cx, FS_ERR_FORMAT, "input '%s' is not defined", s);
    return t;
}

static int n_inputs(tj_ctx *cx) {
    json_t *ins = json_object_get(cx->node, "input");
    int n = 0;
    for (size_t i = 0; i < json_array_size(ins); i++) {
        const char *s = json_string_value(json_array_get(ins, i));
        if (s && s[0] != '^') n++;
    }
    return n;
}

static int out_t(tj_ctx *cx, nn_dtype dt, int ndim, const int64_t *dims) {
    int t = ld_add_tensor(cx->g, cx->nname, dt, ndim, dims);
    if (t < 0) return -1;
    if (ld_names_put(&cx->names, cx->nname, strlen(cx->nname), t)) return -1;
    return t;
}

static int new_tensor(tj_ctx *cx, const char *tag, nn_dtype dt, int ndim, const int64_t *dims) {
    char nm[300];
    snprintf(nm, sizeof nm, "%s#%s", cx->nname, tag);
    return ld_add_tensor(cx->g, nm, dt, ndim, dims);
}

static const float *const_f32(tj_ctx *cx, int t, const char *what) {
    if (t < 0) return NULL;
    if (!T(cx, t)->is_const || T(cx, t)->dtype != NN_F32) {
        node_fail(cx, FS_ERR_UNSUPPORTED, "%s must be a float32 constant", what);
        return NULL;
    }
    return T(cx, t)->data;
}

static int const_ints(tj_ctx *cx, int t, const char *what, int64_t *out, int max) {
    if (t < 0) return -1;
    nn_tensor *x = T(cx, t);
    int64_t n = nn_tensor_numel(x);
    if (!x->is_const || (x->dtype != NN_I32 && x->dtype != NN_I64) || n < 0 || n > max) {
        node_fail(cx, FS_ERR_UNSUPPORTED, "%s must be an int32 constant with at most %d values", what, max);
        return -1;
    }
    for (int64_t i = 0; i < n; i++)
        out[i] = x->dtype == NN_I32 ? ((const int32_t *)x->data)[i] : ((const int64_t *)x->data)[i];
    return (int)n;
}

static int emit(tj_ctx *cx, nn_op_type op, int n_in, const int *in, int n_out, const int *out) {
    return nn_graph_add_node(cx->g, op, cx->nname, n_in, in, n_out, out);
}

/* ------------------------------------------------------------------ spatial */

/* data_format, strides, dilations, padding (+explicit_paddings) into a */
static fs_status spatial_attrs(tj_ctx *cx, nn_attr *a, int has_dil) {
    char fmt[16], pad[16];
    attr_s(cx, "data_format", fmt, sizeof fmt);
    if (fmt[0] && strcmp(fmt, "NHWC")) return node_fail(cx, FS_ERR_UNSUPPORTED, "data_format '%s' is not supported", fmt);
    int64_t v[8];
    int n = attr_ints(cx, "strides", v, 8);
    if (n != 4 || v[0] != 1 || v[3] != 1 || v[1] < 1 || v[2] < 1 || v[1] > 65535 || v[2] > 65535)
        return node_fail(cx, FS_ERR_UNSUPPORTED, "strides must be [1,h,w,1]");
    a->stride_h = (int)v[1];
    a->stride_w = (int)v[2];
    if (has_dil) {
        n = attr_ints(cx, "dilations", v, 8);
        if (n) {
            if (n != 4 || v[0] != 1 || v[3] != 1 || v[1] < 1 || v[2] < 1 || v[1] > 65535 || v[2] > 65535)
                return node_fail(cx, FS_ERR_UNSUPPORTED, "dilations must be [1,h,w,1]");
            a->dil_h = (int)v[1];
            a->dil_w = (int)v[2];
        }
    }
    attr_s(cx, "padding", pad, sizeof pad);
    if (!strcmp(pad, "SAME")) {
        a->auto_pad = 1;
    } else if (!strcmp(pad, "VALID")) {
        a->auto_pad = 3;
    } else if (!strcmp(pad, "EXPLICIT")) {
        n = attr_ints(cx, "explicit_paddings", v, 8);
        if (n != 8 || v[0] || v[1] || v[6] || v[7])
            return node_fail(cx, FS_ERR_UNSUPPORTED, "explicit_paddings must pad only H and W");
        for (int i = 2; i < 6; i++)
            if (v[i] < 0 || v[i] > 65535) return node_fail(cx, FS_ERR_FORMAT, "explicit padding %lld", (long long)v[i]);
        a->pad_t = (int)v[2]; a->pad_b = (int)v[3]; a->pad_l = (int)v[4]; a->pad_r = (int)v[5];
    } else {
        return node_fail(cx, FS_ERR_UNSUPPORTED, "padding '%s' is not supported", pad);
    }
    return FS_OK;
}

/* NHWC output dims of a conv / pool when the input dims are known */
static void spatial_dims(const nn_attr *a, const int64_t *xd, int64_t cout, int64_t *od) {
    od[0] = xd[0];
    od[3] = cout;
    int k[2] = {a->kh, a->kw}, s[2] = {a->stride_h, a->stride_w}, d[2] = {a->dil_h, a->dil_w};
    int pa[2] = {a->pad_t, a->pad_l}, pb[2] = {a->pad_b, a->pad_r};
    for (int i = 0; i < 2; i++) {
        int64_t in = xd[1 + i];
        if (in < 0) { od[1 + i] = -1; continue; }
        if (a->auto_pad == 1) { od[1 + i] = (in + s[i] - 1) / s[i]; continue; }
        int64_t eff = (int64_t)d[i] * (k[i] - 1) + 1;
        int64_t v = in + (a->auto_pad == 3 ? 0 : pa[i] + pb[i]) - eff;
        od[1 + i] = v < 0 ? -1 : v / s[i] + 1;
    }
}

/* fused ops list of _FusedConv2D / _FusedMatMul: applies BiasAdd (into bias) and the activation */
typedef struct { int bias; int act; /* 0 none 1 relu 2 relu6 3 prelu 4 leakyrelu 5 elu 6 sigmoid 7 tanh */ } tj_fused;

static fs_status parse_fused(tj_ctx *cx, tj_fused *f) {
    memset(f, 0, sizeof *f);
    json_t *a = attr(cx, "fused_ops");
    json_t *l = a ? json_object_get(json_object_get(a, "list"), "s") : NULL;
    size_t n = json_array_size(l);
    for (size_t i = 0; i < n; i++) {
        const char *s64 = json_string_value(json_array_get(l, i));
        char s[32] = "";
        if (s64) { /* decode in place via a fake attr */
            size_t m = 0;
            uint32_t acc = 0;
            int bits = 0;
            for (const char *p = s64; *p && *p != '='; p++) {
                int v = b64val((unsigned char)*p);
                if (v < 0) break;
                acc = acc << 6 | (uint32_t)v;
                bits += 6;
                if (bits >= 8) { bits -= 8; if (m + 1 < sizeof s) s[m++] = (char)(acc >> bits & 0xff); }
            }
            s[m] = 0;
        }
        if (i == 0 && !strcmp(s, "BiasAdd")) { f->bias = 1; continue; }
        if (i == n - 1 && i > 0) {
            if (!strcmp(s, "Relu")) { f->act = 1; continue; }
            if (!strcmp(s, "Relu6")) { f->act = 2; continue; }
            if (!strcmp(s, "Prelu")) { f->act = 3; continue; }
            if (!strcmp(s, "LeakyRelu")) { f->act = 4; continue; }
            if (!strcmp(s, "Elu")) { f->act = 5; continue; }
            if (!strcmp(s, "Sigmoid")) { f->act = 6; continue; }
            if (!strcmp(s, "Tanh")) { f->act = 7; continue; }
        }
        return node_fail(cx, FS_ERR_UNSUPPORTED, "fused op '%s' is not supported", s);
    }
    return FS_OK;
}

/* appends the activation of f after tensor y (the node's pre-activation output) as the node's output;
 * conv/fc nodes take relu/relu6 as act_min/act_max directly (ni >= 0) */
static fs_status finish_fused(tj_ctx *cx, const tj_fused *f, int ni, int y, int arg_alpha) {
    nn_attr *a = &cx->g->nodes[ni].attr;
    nn_tensor *yt = T(cx, y);
    if (f->act == 1 || f->act == 2) {
        a->act_min = 0.0f;
        a->act_max = f->act == 2 ? 6.0f : INFINITY;
    }
    int64_t d[NN_MAX_DIMS];
    memcpy(d, yt->dims, sizeof d);
    int nd = yt->ndim;
    if (f->act <= 2) {
        /* rename: the node's output carries the TF name */
        if (ld_names_put(&cx->names, cx->nname, strlen(cx->nname), y)) return FS_ERR_NOMEM;
        char *nm = strdup(cx->nname);
        if (!nm) return fs_error(FS_ERR_NOMEM, "TF.js: out of memory");
        free(T(cx, y)->name);
        T(cx, y)->name = nm;
        return FS_OK;
    }
    int o = out_t(cx, NN_F32, nd, d);
    if (o < 0) return FS_ERR_NOMEM;
    int nj;
    if (f->act == 3) {
        if (arg_alpha < 0 || !const_f32(cx, arg_alpha, "Prelu alpha")) return FS_ERR_UNSUPPORTED;
        int in[2] = {y, arg_alpha};
        nj = emit(cx, NN_OP_PRELU, 2, in, 1, &o);
    } else {
        nn_op_type op = f->act == 4 ? NN_OP_LEAKY_RELU : f->act == 5 ? NN_OP_ELU : f->act == 6 ? NN_OP_SIGMOID : NN_OP_TANH;
        nj = emit(cx, op, 1, &y, 1, &o);
        if (nj >= 0) cx->g->nodes[nj].attr.alpha = f->act == 4 ? (float)attr_f(cx, "leakyrelu_alpha", 0.2) : 1.0f;
    }
    return nj < 0 ? FS_ERR_NOMEM : FS_OK;
}

static fs_status op_conv(tj_ctx *cx, int depthwise, int fused) {
    int x = in_t(cx, 0), w = in_t(cx, 1);
    if (x < 0 || w < 0) return FS_ERR_FORMAT;
    const float *wd = const_f32(cx, w, "filter");
    if (!wd) return FS_ERR_UNSUPPORTED;
    nn_tensor *wt = T(cx, w);
    if (wt->ndim != 4) return node_fail(cx, FS_ERR_FORMAT, "filter has rank %d", wt->ndim);
    if (T(cx, x)->ndim != 4) return node_fail(cx, FS_ERR_FORMAT, "input has rank %d", T(cx, x)->ndim);
    int64_t KH = wt->dims[0], KW = wt->dims[1], CI = wt->dims[2], M = wt->dims[3];
    if (KH < 1 || KW < 1 || KH > 65535 || KW > 65535) return node_fail(cx, FS_ERR_FORMAT, "filter %lldx%lld", (long long)KH, (long long)KW);
    if (CI < 1 || M < 1) return node_fail(cx, FS_ERR_FORMAT, "filter with %lld input, %lld output channels", (long long)CI, (long long)M);
    nn_attr a0;
    memset(&a0, 0, sizeof a0);
    a0.dil_h = a0.dil_w = 1;
    fs_status st = spatial_attrs(cx, &a0, 1);
    if (st) return st;
    a0.kh = (int)KH;
    a0.kw = (int)KW;
    tj_fused f = {0};
    if (fused && (st = parse_fused(cx, &f))) return st;
    if (fused && attr_i(cx, "num_args", 0) != n_inputs(cx) - 2)
        return node_fail(cx, FS_ERR_FORMAT, "num_args does not match the inputs");
    int64_t C = T(cx, x)->dims[3];
    int64_t O = depthwise ? CI * M : M;
    int64_t I = depthwise ? 1 : CI;
    int64_t groups = 1;
    if (depthwise) groups = CI;
    else if (C > 0 && C != CI) {
        if (C % CI) return node_fail(cx, FS_ERR_FORMAT, "filter has %lld input channels for %lld", (long long)CI, (long long)C);
        groups = C / CI;
    }
    if (depthwise && C >= 0 && C != CI) return node_fail(cx, FS_ERR_FORMAT, "depthwise filter channels %lld != %lld", (long long)CI, (long long)C);
    int64_t od[4] = {O, KH, KW, I};
    int w2 = new_tensor(cx, "ohwi", NN_F32, 4, od);
    float *dst = w2 < 0 ? NULL : nn_graph_alloc_const(cx->g, w2);
    if (!dst) return FS_ERR_NOMEM;
    wd = T(cx, w)->data;
    for (int64_t h = 0; h < KH; h++)
        for (int64_t k = 0; k < KW; k++)
            for (int64_t ci = 0; ci < CI; ci++)
                for (int64_t m = 0; m < M; m++) {
                    float v = wd[((h * KW + k) * CI + ci) * M + m];
                    if (depthwise) dst[(((ci * M + m) * KH + h) * KW + k)] = v;
                    else dst[((m * KH + h) * KW + k) * CI + ci] = v;
                }
    int bias = -1, alpha = -1;
    if (f.bias) {
        bias = in_t(cx, 2);
        if (bias < 0 || !const_f32(cx, bias, "bias")) return FS_ERR_UNSUPPORTED;
        if (nn_tensor_numel(T(cx, bias)) != O) return node_fail(cx, FS_ERR_FORMAT, "bias has %lld values, expected %lld",
                                                                (long long)nn_tensor_numel(T(cx, bias)), (long long)O);
        if (f.act == 3 && (alpha = in_t(cx, 3)) < 0) return FS_ERR_FORMAT;
    } else if (fused) {
        return node_fail(cx, FS_ERR_UNSUPPORTED, "fused ops without BiasAdd");
    }
    int64_t yd[4];
    spatial_dims(&a0, T(cx, x)->dims, O, yd);
    int y = new_tensor(cx, "conv", NN_F32, 4, yd);
    int in[3] = {x, w2, bias};
    int ni = y < 0 ? -1 : emit(cx, NN_OP_CONV2D, bias >= 0 ? 3 : 2, in, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    a->kh = a0.kh; a->kw = a0.kw;
    a->stride_h = a0.stride_h; a->stride_w = a0.stride_w;
    a->dil_h = a0.dil_h; a->dil_w = a0.dil_w;
    a->pad_t = a0.pad_t; a->pad_l = a0.pad_l; a->pad_b = a0.pad_b; a->pad_r = a0.pad_r;
    a->auto_pad = a0.auto_pad;
    a->groups = (int)groups;
    return finish_fused(cx, &f, ni, y, alpha);
}

static fs_status op_pool(tj_ctx *cx, nn_op_type op) {
    int x = in_t(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    int64_t k[8];
    if (attr_ints(cx, "ksize", k, 8) != 4 || k[0] != 1 || k[3] != 1 || k[1] < 1 || k[2] < 1 || k[1] > 65535 || k[2] > 65535)
        return node_fail(cx, FS_ERR_UNSUPPORTED, "ksize must be [1,h,w,1]");
    nn_attr a0;
    memset(&a0, 0, sizeof a0);
    a0.dil_h = a0.dil_w = 1;
    fs_status st = spatial_attrs(cx, &a0, 0);
    if (st) return st;
    a0.kh = (int)k[1];
    a0.kw = (int)k[2];
    int64_t yd[4];
    spatial_dims(&a0, T(cx, x)->dims, T(cx, x)->dims[3], yd);
    int y = out_t(cx, NN_F32, 4, yd);
    int ni = y < 0 ? -1 : emit(cx, op, 1, &x, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    a->kh = a0.kh; a->kw = a0.kw;
    a->stride_h = a0.stride_h; a->stride_w = a0.stride_w;
    a->pad_t = a0.pad_t; a->pad_l = a0.pad_l; a->pad_b = a0.pad_b; a->pad_r = a0.pad_r;
    a->auto_pad = a0.auto_pad;
    a->count_include_pad = 0; /* TF AvgPool averages over the valid taps only */
    return FS_OK;
}

static fs_status op_matmul(tj_ctx *cx, int fused) {
    int x = in_t(cx, 0), w = in_t(cx, 1);
    if (x < 0 || w < 0) return FS_ERR_FORMAT;
    if (attr_b(cx, "transpose_a", 0)) return node_fail(cx, FS_ERR_UNSUPPORTED, "transpose_a is not supported");
    int tb = attr_b(cx, "transpose_b", 0);
    tj_fused f = {0};
    fs_status st;
    if (fused && (st = parse_fused(cx, &f))) return st;
    nn_tensor *wt = T(cx, w);
    if (!wt->is_const || wt->ndim != 2 || wt->dtype != NN_F32)
        return node_fail(cx, FS_ERR_UNSUPPORTED, "only a 2-D float32 constant right operand is supported");
    int64_t K = tb ? wt->dims[1] : wt->dims[0], N = tb ? wt->dims[0] : wt->dims[1];
    nn_tensor *xt = T(cx, x);
    if (xt->ndim != 2 || (xt->dims[1] >= 0 && xt->dims[1] != K))
        return node_fail(cx, FS_ERR_FORMAT, "operands do not match (%lld vs %lld)", (long long)xt->dims[1], (long long)K);
    int64_t wd2[2] = {N, K};
    int w2 = new_tensor(cx, "w", NN_F32, 2, wd2);
    float *dst = w2 < 0 ? NULL : nn_graph_alloc_const(cx->g, w2);
    if (!dst) return FS_ERR_NOMEM;
    const float *src = T(cx, w)->data;
    for (int64_t n = 0; n < N; n++)
        for (int64_t k = 0; k < K; k++) dst[n * K + k] = tb ? src[n * K + k] : src[k * N + n];
    int bias = -1, alpha = -1;
    if (f.bias) {
        bias = in_t(cx, 2);
        if (bias < 0 || !const_f32(cx, bias, "bias")) return FS_ERR_UNSUPPORTED;
        if (nn_tensor_numel(T(cx, bias)) != N) return node_fail(cx, FS_ERR_FORMAT, "bias size");
        if (f.act == 3 && (alpha = in_t(cx, 3)) < 0) return FS_ERR_FORMAT;
    } else if (fused) {
        return node_fail(cx, FS_ERR_UNSUPPORTED, "fused ops without BiasAdd");
    }
    int64_t yd[2] = {T(cx, x)->dims[0], N};
    int y = new_tensor(cx, "fc", NN_F32, 2, yd);
    int in[3] = {x, w2, bias};
    int ni = y < 0 ? -1 : emit(cx, NN_OP_FULLY_CONNECTED, bias >= 0 ? 3 : 2, in, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    cx->g->nodes[ni].attr.keepdims = 1;
    return finish_fused(cx, &f, ni, y, alpha);
}

static int is_scalar_const(const nn_tensor *t) { return t->is_const && t->dtype == NN_F32 && nn_tensor_numel(t) == 1; }

static fs_status op_binary(tj_ctx *cx, nn_op_type op) {
    if (n_inputs(cx) != 2) return node_fail(cx, FS_ERR_FORMAT, "expects 2 inputs");
    int a = in_t(cx, 0), b = in_t(cx, 1);
    if (a < 0 || b < 0) return FS_ERR_FORMAT;
    nn_tensor *ta = T(cx, a), *tb = T(cx, b);
    int nd;
    int64_t d[NN_MAX_DIMS];
    if (ld_broadcast(ta->ndim, ta->dims, tb->ndim, tb->dims, &nd, d))
        return node_fail(cx, FS_ERR_FORMAT, "input shapes do not broadcast");
    /* max/min with a scalar constant: a clamp (fuses into the producer) */
    if ((op == NN_OP_MAXIMUM || op == NN_OP_MINIMUM) && (is_scalar_const(ta) || is_scalar_const(tb))) {
        int s = is_scalar_const(tb) ? b : a, x = s == b ? a : b;
        if (T(cx, x)->ndim == nd && T(cx, x)->dtype == NN_F32) {
            float c = *(const float *)T(cx, s)->data;
            int y = out_t(cx, NN_F32, nd, d);
            int ni = y < 0 ? -1 : emit(cx, NN_OP_CLAMP, 1, &x, 1, &y);
            if (ni < 0) return FS_ERR_NOMEM;
            if (op == NN_OP_MAXIMUM) cx->g->nodes[ni].attr.act_min = c;
            else cx->g->nodes[ni].attr.act_max = c;
            return FS_OK;
        }
    }
    if (ta->dtype != tb->dtype) return node_fail(cx, FS_ERR_FORMAT, "input dtypes differ");
    int y = out_t(cx, ta->dtype, nd, d);
    int in[2] = {a, b};
    return y < 0 || emit(cx, op, 2, in, 1, &y) < 0 ? FS_ERR_NOMEM : FS_OK;
}

static fs_status op_unary(tj_ctx *cx, nn_op_type op, float lo, float hi) {
    int x = in_t(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    nn_tensor *t = T(cx, x);
    int y = out_t(cx, t->dtype, t->ndim, t->dims);
    int ni = y < 0 ? -1 : emit(cx, op, 1, &x, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    if (op == NN_OP_CLAMP) {
        cx->g->nodes[ni].attr.act_min = lo;
        cx->g->nodes[ni].attr.act_max = hi;
    }
    if (op == NN_OP_LEAKY_RELU) cx->g->nodes[ni].attr.alpha = (float)attr_f(cx, "alpha", 0.2);
    if (op == NN_OP_ELU) cx->g->nodes[ni].attr.alpha = 1.0f;
    if (op == NN_OP_SOFTMAX) cx->g->nodes[ni].attr.axis = -1;
    return FS_OK;
}

static fs_status op_reduce(tj_ctx *cx, nn_op_type op) {
    int x = in_t(cx, 0), ax = in_t(cx, 1);
    if (x < 0 || ax < 0) return FS_ERR_FORMAT;
    int64_t axes[NN_MAX_DIMS];
    int n = const_ints(cx, ax, "reduction_indices", axes, NN_MAX_DIMS);
    if (n < 0) return FS_ERR_UNSUPPORTED;
    int keep = attr_b(cx, "keep_dims", 0);
    nn_tensor *xt = T(cx, x);
    int r = xt->ndim, flag[NN_MAX_DIMS] = {0};
    for (int i = 0; i < n; i++) {
        if (axes[i] < -r || axes[i] >= r) return node_fail(cx, FS_ERR_FORMAT, "axis %lld out of range", (long long)axes[i]);
        if (axes[i] < 0) axes[i] += r;
        flag[axes[i]] = 1;
    }
    int64_t d[NN_MAX_DIMS];
    int ro = 0;
    for (int i = 0; i < r; i++) {
        if (!flag[i]) d[ro++] = xt->dims[i];
        else if (keep) d[ro++] = 1;
    }
    int y = out_t(cx, xt->dtype, ro, d);
    int ni = y < 0 ? -1 : emit(cx, op, 1, &x, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    for (int i = 0; i < n; i++) a->axes[i] = (int)axes[i];
    a->n_axes = n;
    a->keepdims = keep;
    a->noop_with_empty_axes = 1; /* TF: no axes = nothing reduced */
    return FS_OK;
}

static fs_status op_pad(tj_ctx *cx, int v2, int mirror) {
    int x = in_t(cx, 0), p = in_t(cx, 1);
    if (x < 0 || p < 0) return FS_ERR_FORMAT;
    int64_t pv[2 * NN_MAX_DIMS];
    int n = const_ints(cx, p, "paddings", pv, 2 * NN_MAX_DIMS);
    if (n < 0) return FS_ERR_UNSUPPORTED;
    nn_tensor *xt = T(cx, x);
    int r = xt->ndim;
    if (n != 2 * r) return node_fail(cx, FS_ERR_FORMAT, "paddings has %d values for rank %d", n, r);
    float value = 0.0f;
    if (v2) {
        int c = in_t(cx, 2);
        if (c < 0) return FS_ERR_FORMAT;
        const float *cv = const_f32(cx, c, "constant_values");
        if (!cv || nn_tensor_numel(T(cx, c)) != 1) return node_fail(cx, FS_ERR_UNSUPPORTED, "constant_values must be a scalar");
        value = cv[0];
    }
    nn_pad_mode mode = NN_PAD_CONSTANT;
    if (mirror) {
        char m[16];
        attr_s(cx, "mode", m, sizeof m);
        if (!strcmp(m, "REFLECT")) mode = NN_PAD_REFLECT;
        else return node_fail(cx, FS_ERR_UNSUPPORTED, "mode '%s' is not supported", m);
    }
    int64_t d[NN_MAX_DIMS];
    for (int i = 0; i < r; i++) {
        if (pv[2 * i] < 0 || pv[2 * i + 1] < 0 || pv[2 * i] > 65535 || pv[2 * i + 1] > 65535)
            return node_fail(cx, FS_ERR_UNSUPPORTED, "padding %lld,%lld", (long long)pv[2 * i], (long long)pv[2 * i + 1]);
        d[i] = xt->dims[i] < 0 ? -1 : xt->dims[i] + pv[2 * i] + pv[2 * i + 1];
    }
    int y = out_t(cx, xt->dtype, r, d);
    int ni = y < 0 ? -1 : emit(cx, NN_OP_PAD, 1, &x, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    for (int i = 0; i < r; i++) {
        a->pads[i] = pv[2 * i];
        a->pads[r + i] = pv[2 * i + 1];
    }
    a->pad_mode = mode;
    a->pad_value = value;
    return FS_OK;
}

static fs_status op_reshape(tj_ctx *cx) {
    int x = in_t(cx, 0), s = in_t(cx, 1);
    if (x < 0 || s < 0) return FS_ERR_FORMAT;
    int64_t sv[NN_MAX_DIMS];
    int n = const_ints(cx, s, "shape", sv, NN_MAX_DIMS);
    if (n < 0) return FS_ERR_UNSUPPORTED;
    nn_tensor *xt = T(cx, x);
    int64_t in = nn_tensor_numel(xt), known = 1, d[NN_MAX_DIMS];
    int neg = -1;
    for (int i = 0; i < n; i++) {
        d[i] = sv[i];
        if (sv[i] == -1) {
            if (neg >= 0) return node_fail(cx, FS_ERR_FORMAT, "shape has two -1");
            neg = i;
        } else if (sv[i] < 0) {
            return node_fail(cx, FS_ERR_FORMAT, "shape value %lld", (long long)sv[i]);
        } else {
            known *= sv[i];
        }
    }
    if (neg >= 0) d[neg] = (in >= 0 && known > 0 && in % known == 0) ? in / known : -1;
    int y = out_t(cx, xt->dtype, n, d);
    int in2[2] = {x, s};
    int ni = y < 0 ? -1 : emit(cx, NN_OP_RESHAPE, 2, in2, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    cx->g->nodes[ni].attr.allowzero = 1; /* TF: 0 is a real zero-size dim */
    return FS_OK;
}

static fs_status op_concat(tj_ctx *cx) {
    int n = n_inputs(cx) - 1;
    if (n < 1 || n > NN_MAX_IO) return node_fail(cx, FS_ERR_UNSUPPORTED, "%d inputs", n);
    int in[NN_MAX_IO];
    for (int i = 0; i < n; i++)
        if ((in[i] = in_t(cx, i)) < 0) return FS_ERR_FORMAT;
    int at = in_t(cx, n);
    int64_t axis;
    if (at < 0 || const_ints(cx, at, "axis", &axis, 1) != 1) return FS_ERR_UNSUPPORTED;
    nn_tensor *t0 = T(cx, in[0]);
    int r = t0->ndim;
    if (axis < -r || axis >= r) return node_fail(cx, FS_ERR_FORMAT, "axis %lld", (long long)axis);
    if (axis < 0) axis += r;
    int64_t d[NN_MAX_DIMS];
    memcpy(d, t0->dims, sizeof d);
    for (int i = 1; i < n; i++) {
        nn_tensor *ti = T(cx, in[i]);
        if (ti->ndim != r) return node_fail(cx, FS_ERR_FORMAT, "inputs differ in rank");
        d[axis] = d[axis] < 0 || ti->dims[axis] < 0 ? -1 : d[axis] + ti->dims[axis];
    }
    int y = out_t(cx, t0->dtype, r, d);
    int ni = y < 0 ? -1 : emit(cx, NN_OP_CONCAT, n, in, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    cx->g->nodes[ni].attr.axis = (int)axis;
    return FS_OK;
}

/* Identity: alias (a graph output that is an alias is materialised at the end) */
static fs_status op_identity(tj_ctx *cx) {
    int x = in_t(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    return ld_names_put(&cx->names, cx->nname, strlen(cx->nname), x) ? FS_ERR_NOMEM : FS_OK;
}

/* ResizeBilinear / ResizeNearestNeighbor: x NHWC, size = const int32 [2] (H, W) */
static fs_status op_resize(tj_ctx *cx, int bilinear) {
    int x = in_t(cx, 0), sz = in_t(cx, 1);
    if (x < 0 || sz < 0) return FS_ERR_FORMAT;
    int64_t hw[2];
    if (const_ints(cx, sz, "size", hw, 2) != 2) return node_fail(cx, FS_ERR_UNSUPPORTED, "size must be a constant [H, W]");
    if (hw[0] < 1 || hw[1] < 1 || hw[0] > (1 << 20) || hw[1] > (1 << 20)) return node_fail(cx, FS_ERR_FORMAT, "size %lldx%lld", (long long)hw[0], (long long)hw[1]);
    if (T(cx, x)->ndim != 4) return node_fail(cx, FS_ERR_FORMAT, "input has rank %d", T(cx, x)->ndim);
    int ac = attr_b(cx, "align_corners", 0), hp = attr_b(cx, "half_pixel_centers", 0);
    if (ac && hp) return node_fail(cx, FS_ERR_FORMAT, "align_corners and half_pixel_centers together");
    int64_t d[4] = {T(cx, x)->dims[0], hw[0], hw[1], T(cx, x)->dims[3]};
    int y = out_t(cx, NN_F32, 4, d);
    int in[2] = {x, sz};
    int ni = y < 0 ? -1 : emit(cx, NN_OP_RESIZE, 2, in, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    a->resize_mode = bilinear ? NN_RESIZE_LINEAR : NN_RESIZE_NEAREST;
    if (bilinear) {
        /* TF: align_corners -> (in-1)/(out-1); half_pixel_centers -> ONNX half_pixel; else asymmetric */
        a->coord_mode = ac ? NN_COORD_ALIGN_CORNERS : hp ? NN_COORD_HALF_PIXEL : NN_COORD_ASYMMETRIC;
    } else {
        /* TF nearest: align_corners rounds half up; half_pixel_centers floors (x+0.5)*scale; else floors x*scale */
        a->coord_mode = ac ? NN_COORD_ALIGN_CORNERS : hp ? NN_COORD_TF_HALF_PIXEL_FOR_NN : NN_COORD_ASYMMETRIC;
        a->nearest_mode = ac ? NN_NEAREST_ROUND_PREFER_CEIL : NN_NEAREST_FLOOR;
    }
    return FS_OK;
}

/* FusedBatchNorm(V3) in inference: y = x * k + (offset - mean * k), k = scale / sqrt(var + eps) */
static fs_status op_fused_batchnorm(tj_ctx *cx) {
    if (attr_b(cx, "is_training", 0)) return node_fail(cx, FS_ERR_UNSUPPORTED, "is_training true is not supported");
    char fmt[16];
    attr_s(cx, "data_format", fmt, sizeof fmt);
    if (fmt[0] && strcmp(fmt, "NHWC")) return node_fail(cx, FS_ERR_UNSUPPORTED, "data_format '%s' is not supported", fmt);
    double eps = attr_f(cx, "epsilon", 0.001);
    int x = in_t(cx, 0), t[4];
    if (x < 0) return FS_ERR_FORMAT;
    const float *p[4];
    for (int i = 0; i < 4; i++) {
        if ((t[i] = in_t(cx, 1 + i)) < 0) return FS_ERR_FORMAT;
        if (!(p[i] = const_f32(cx, t[i], "batch norm parameters"))) return FS_ERR_UNSUPPORTED;
    }
    int64_t C = nn_tensor_numel(T(cx, t[0]));
    for (int i = 1; i < 4; i++)
        if (nn_tensor_numel(T(cx, t[i])) != C) return node_fail(cx, FS_ERR_FORMAT, "parameter sizes differ");
    int r = T(cx, x)->ndim;
    if (C < 1 || r < 1 || (T(cx, x)->dims[r - 1] >= 0 && T(cx, x)->dims[r - 1] != C))
        return node_fail(cx, FS_ERR_FORMAT, "%lld parameters for %lld channels", (long long)C, (long long)T(cx, x)->dims[r - 1]);
    int kt = new_tensor(cx, "bn_scale", NN_F32, 1, &C), bt = new_tensor(cx, "bn_shift", NN_F32, 1, &C);
    float *k = kt < 0 ? NULL : nn_graph_alloc_const(cx->g, kt), *b = bt < 0 ? NULL : nn_graph_alloc_const(cx->g, bt);
    if (!k || !b) return FS_ERR_NOMEM;
    for (int i = 0; i < 4; i++) p[i] = T(cx, t[i])->data;
    for (int64_t c = 0; c < C; c++) {
        k[c] = (float)(p[0][c] / sqrt((double)p[3][c] + eps));
        b[c] = p[1][c] - p[2][c] * k[c];
    }
    int64_t d[NN_MAX_DIMS];
    memcpy(d, T(cx, x)->dims, sizeof d);
    int mid = new_tensor(cx, "bn_mul", NN_F32, r, d);
    int in1[2] = {x, kt};
    if (mid < 0 || emit(cx, NN_OP_MUL, 2, in1, 1, &mid) < 0) return FS_ERR_NOMEM;
    int y = out_t(cx, NN_F32, r, d);
    int in2[2] = {mid, bt};
    return y < 0 || emit(cx, NN_OP_ADD, 2, in2, 1, &y) < 0 ? FS_ERR_NOMEM : FS_OK;
}

/* Squeeze (squeeze_dims attr) and ExpandDims (const dim input) */
static fs_status op_squeeze(tj_ctx *cx, int expand) {
    int x = in_t(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    int64_t ax[NN_MAX_DIMS];
    int n;
    int r = T(cx, x)->ndim;
    if (expand) {
        int t = in_t(cx, 1);
        if (t < 0) return FS_ERR_FORMAT;
        if ((n = const_ints(cx, t, "dim", ax, 1)) != 1) return FS_ERR_UNSUPPORTED;
        if (ax[0] < -(r + 1) || ax[0] > r) return node_fail(cx, FS_ERR_FORMAT, "dim %lld out of range", (long long)ax[0]);
        if (ax[0] < 0) ax[0] += r + 1;
    } else {
        n = attr_ints(cx, "squeeze_dims", ax, NN_MAX_DIMS);
        if (n < 0) return node_fail(cx, FS_ERR_UNSUPPORTED, "too many squeeze_dims");
        if (!n) return node_fail(cx, FS_ERR_UNSUPPORTED, "Squeeze without squeeze_dims is not supported");
        for (int i = 0; i < n; i++) {
            if (ax[i] < -r || ax[i] >= r) return node_fail(cx, FS_ERR_FORMAT, "axis %lld out of range", (long long)ax[i]);
            if (ax[i] < 0) ax[i] += r;
        }
    }
    int ro = expand ? r + 1 : r - n, flag[NN_MAX_DIMS + 1] = {0};
    if (ro < 0 || ro > NN_MAX_DIMS) return node_fail(cx, FS_ERR_UNSUPPORTED, "output rank %d", ro);
    for (int i = 0; i < n; i++) {
        if (flag[ax[i]]) return node_fail(cx, FS_ERR_FORMAT, "axis repeated");
        flag[ax[i]] = 1;
    }
    int64_t d[NN_MAX_DIMS];
    if (expand) {
        for (int i = 0, k = 0; i < ro; i++) d[i] = flag[i] ? 1 : T(cx, x)->dims[k++];
    } else {
        for (int i = 0, k = 0; i < r; i++) {
            if (flag[i] && T(cx, x)->dims[i] >= 0 && T(cx, x)->dims[i] != 1)
                return node_fail(cx, FS_ERR_FORMAT, "cannot squeeze dim %d of size %lld", i, (long long)T(cx, x)->dims[i]);
            if (!flag[i]) d[k++] = T(cx, x)->dims[i];
        }
    }
    int y = out_t(cx, T(cx, x)->dtype, ro, d);
    int ni = y < 0 ? -1 : emit(cx, expand ? NN_OP_UNSQUEEZE : NN_OP_SQUEEZE, 1, &x, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    for (int i = 0; i < n; i++) cx->g->nodes[ni].attr.axes[i] = (int)ax[i];
    cx->g->nodes[ni].attr.n_axes = n;
    return FS_OK;
}

static fs_status op_transpose(tj_ctx *cx) {
    int x = in_t(cx, 0), p = in_t(cx, 1);
    if (x < 0 || p < 0) return FS_ERR_FORMAT;
    int64_t pv[NN_MAX_DIMS];
    int r = T(cx, x)->ndim, n = const_ints(cx, p, "perm", pv, NN_MAX_DIMS);
    if (n < 0) return FS_ERR_UNSUPPORTED;
    if (n != r) return node_fail(cx, FS_ERR_FORMAT, "perm has %d values for rank %d", n, r);
    int seen = 0;
    int64_t d[NN_MAX_DIMS];
    for (int i = 0; i < r; i++) {
        if (pv[i] < 0 || pv[i] >= r || (seen >> pv[i] & 1)) return node_fail(cx, FS_ERR_FORMAT, "perm is not a permutation");
        seen |= 1 << pv[i];
        d[i] = T(cx, x)->dims[pv[i]];
    }
    int y = out_t(cx, T(cx, x)->dtype, r, d);
    int ni = y < 0 ? -1 : emit(cx, NN_OP_TRANSPOSE, 1, &x, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    for (int i = 0; i < r; i++) cx->g->nodes[ni].attr.perm[i] = (int)pv[i];
    return FS_OK;
}

/* Square: x * x */
static fs_status op_square(tj_ctx *cx) {
    int x = in_t(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    int64_t d[NN_MAX_DIMS];
    memcpy(d, T(cx, x)->dims, sizeof d);
    int y = out_t(cx, T(cx, x)->dtype, T(cx, x)->ndim, d);
    int in[2] = {x, x};
    return y < 0 || emit(cx, NN_OP_MUL, 2, in, 1, &y) < 0 ? FS_ERR_NOMEM : FS_OK;
}

/* ------------------------------------------------------------------ weights */

static int tf_dtype(const char *s) {
    if (!s) return -1;
    if (!strcmp(s, "float32") || !strcmp(s, "DT_FLOAT")) return NN_F32;
    if (!strcmp(s, "int32") || !strcmp(s, "DT_INT32")) return NN_I32;
    if (!strcmp(s, "bool") || !strcmp(s, "DT_BOOL")) return NN_BOOL;
    return -1;
}

typedef struct { uint8_t *data; size_t len; } tj_group;

/* reads + concatenates one manifest group's shards */
static fs_status read_group(json_t *grp, nn_shard_reader rd, void *ctx, tj_group *out) {
    json_t *paths = json_object_get(grp, "paths");
    if (!json_is_array(paths)) return fs_error(FS_ERR_FORMAT, "TF.js: weightsManifest group without paths");
    out->data = NULL;
    out->len = 0;
    for (size_t i = 0; i < json_array_size(paths); i++) {
        const char *p = json_string_value(json_array_get(paths, i));
        if (!p) return fs_error(FS_ERR_FORMAT, "TF.js: shard path is not a string");
        if (!rd) return fs_error(FS_ERR_ARG, "TF.js: no shard reader for '%s'", p);
        uint8_t *b = NULL;
        size_t n = 0;
        fs_status st = rd(p, &b, &n, ctx);
        if (st) { fs_error_prefix("TF.js: shard '%s': ", p); return st; }
        if (n > TJ_MAX_WEIGHT_BYTES - out->len) { free(b); return fs_error(FS_ERR_LIMIT, "TF.js: shards larger than 2 GiB"); }
        uint8_t *nd = realloc(out->data, out->len + n + 1);
        if (!nd) { free(b); return fs_error(FS_ERR_NOMEM, "TF.js: out of memory"); }
        out->data = nd;
        if (n) memcpy(nd + out->len, b, n);
        out->len += n;
        free(b);
    }
    return FS_OK;
}

static fs_status add_weights(tj_ctx *cx, json_t *grp, const tj_group *gd) {
    json_t *ws = json_object_get(grp, "weights");
    if (!json_is_array(ws)) return fs_error(FS_ERR_FORMAT, "TF.js: weightsManifest group without weights");
    size_t off = 0;
    for (size_t i = 0; i < json_array_size(ws); i++) {
        json_t *w = json_array_get(ws, i);
        const char *name = json_string_value(json_object_get(w, "name"));
        const char *dts = json_string_value(json_object_get(w, "dtype"));
        json_t *shape = json_object_get(w, "shape");
        if (!name || !dts || !json_is_array(shape)) return fs_error(FS_ERR_FORMAT, "TF.js: weight %zu lacks name/dtype/shape", i);
        int dt = tf_dtype(dts);
        if (dt < 0) return fs_error(FS_ERR_UNSUPPORTED, "TF.js: weight '%s' has dtype '%s'", name, dts);
        int nd = (int)json_array_size(shape);
        if (nd > NN_MAX_DIMS) return fs_error(FS_ERR_UNSUPPORTED, "TF.js: weight '%s' has %d dims", name, nd);
        int64_t dims[NN_MAX_DIMS], numel = 1;
        for (int k = 0; k < nd; k++) {
            json_t *v = json_array_get(shape, (size_t)k);
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > ((int64_t)1 << 31))
                return fs_error(FS_ERR_FORMAT, "TF.js: weight '%s' dim %d is invalid", name, k);
            dims[k] = json_integer_value(v);
            if (dims[k] && numel > (int64_t)(TJ_MAX_WEIGHT_BYTES / 4) / dims[k])
                return fs_error(FS_ERR_LIMIT, "TF.js: weight '%s' is too large", name);
            numel *= dims[k];
        }
        /* stored element: quantized or plain */
        json_t *q = json_object_get(w, "quantization");
        int qkind = 0; /* 0 plain, 1 float16, 2 uint8, 3 uint16 */
        double scale = 1.0, qmin = 0.0;
        if (q) {
            const char *qd = json_string_value(json_object_get(q, "dtype"));
            const char *od = json_string_value(json_object_get(q, "original_dtype"));
            if (od && strcmp(od, "float32")) return fs_error(FS_ERR_UNSUPPORTED, "TF.js: weight '%s': quantized %s weights", name, od);
            if (dt != NN_F32) return fs_error(FS_ERR_UNSUPPORTED, "TF.js: weight '%s': quantized %s", name, dts);
            if (qd && !strcmp(qd, "float16")) qkind = 1;
            else if (qd && !strcmp(qd, "uint8")) qkind = 2;
            else if (qd && !strcmp(qd, "uint16")) qkind = 3;
            else return fs_error(FS_ERR_UNSUPPORTED, "TF.js: weight '%s': quantization dtype '%s'", name, qd ? qd : "?");
            if (qkind >= 2) {
                json_t *js = json_object_get(q, "scale"), *jm = json_object_get(q, "min"), *jz = json_object_get(q, "zeroPoint");
                if (!json_is_number(js) || (!json_is_number(jm) && !json_is_number(jz)))
                    return fs_error(FS_ERR_FORMAT, "TF.js: weight '%s': quantization lacks scale/min", name);
                scale = json_number_value(js);
                qmin = json_is_number(jm) ? json_number_value(jm) : -json_number_value(jz) * scale;
            }
        }
        size_t es = qkind == 1 || qkind == 3 ? 2 : qkind == 2 ? 1 : nn_dtype_size((nn_dtype)dt);
        size_t nbytes = (size_t)numel * es;
        if (nbytes > gd->len - off || off > gd->len)
            return fs_error(FS_ERR_FORMAT, "TF.js: shard too short: weight '%s' needs bytes %zu..%zu of %zu", name, off,
                            off + nbytes, gd->len);
        int t = ld_add_tensor(cx->g, name, (nn_dtype)dt, nd, dims);
        void *p = t < 0 ? NULL : nn_graph_alloc_const(cx->g, t);
        if (!p && numel) return FS_ERR_NOMEM;
        const uint8_t *s = gd->data + off;
        for (int64_t k = 0; k < numel; k++) {
            const uint8_t *e = s + (size_t)k * es;
            switch (qkind) {
            case 1: ((float *)p)[k] = tp_half_to_float((uint16_t)(e[0] | e[1] << 8)); break;
            case 2: ((float *)p)[k] = (float)(qmin + scale * e[0]); break;
            case 3: ((float *)p)[k] = (float)(qmin + scale * (e[0] | e[1] << 8)); break;
            default: memcpy((uint8_t *)p + (size_t)k * es, e, es); break; /* little-endian host */
            }
        }
        off += nbytes;
        if (ld_names_put(&cx->names, name, strlen(name), t)) return FS_ERR_NOMEM;
    }
    return FS_OK;
}

/* ------------------------------------------------------------------ graph */

static fs_status add_placeholder(tj_ctx *cx) {
    char dtb[32] = "DT_FLOAT";
    json_t *a = attr(cx, "dtype");
    const char *ty = a ? json_string_value(json_object_get(a, "type")) : NULL;
    if (ty) snprintf(dtb, sizeof dtb, "%s", ty);
    if (strcmp(dtb, "DT_FLOAT")) return node_fail(cx, FS_ERR_UNSUPPORTED, "input dtype %s", dtb);
    json_t *sh = attr(cx, "shape");
    json_t *dl = sh ? json_object_get(json_object_get(sh, "shape"), "dim") : NULL;
    int nd = (int)json_array_size(dl);
    if (nd > NN_MAX_DIMS) return node_fail(cx, FS_ERR_UNSUPPORTED, "%d dims", nd);
    if (!dl || (sh && json_is_true(json_object_get(json_object_get(sh, "shape"), "unknownRank"))))
        return node_fail(cx, FS_ERR_UNSUPPORTED, "input without a known rank");
    int64_t d[NN_MAX_DIMS];
    for (int i = 0; i < nd; i++) {
        d[i] = jint(json_object_get(json_array_get(dl, (size_t)i), "size"));
        if (d[i] < -1) return node_fail(cx, FS_ERR_FORMAT, "dim %lld", (long long)d[i]);
    }
    int t = out_t(cx, NN_F32, nd, d);
    if (t < 0) return FS_ERR_NOMEM;
    int *in = realloc(cx->g->inputs, sizeof(int) * (size_t)(cx->g->n_inputs + 1));
    if (!in) return fs_error(FS_ERR_NOMEM, "TF.js: out of memory");
    cx->g->inputs = in;
    in[cx->g->n_inputs++] = t;
    return FS_OK;
}

static fs_status convert_node(tj_ctx *cx) {
    const char *op = cx->op;
#define IS(s) (!strcmp(op, s))
    if (IS("Const")) {
        if (ld_names_get(&cx->names, cx->nname, strlen(cx->nname)) < 0)
            return node_fail(cx, FS_ERR_FORMAT, "constant has no weights in the manifest");
        return FS_OK;
    }
    if (IS("Placeholder")) return add_placeholder(cx);
    if (IS("Conv2D")) return op_conv(cx, 0, 0);
    if (IS("DepthwiseConv2dNative")) return op_conv(cx, 1, 0);
    if (IS("_FusedConv2D")) return op_conv(cx, 0, 1);
    if (IS("FusedDepthwiseConv2dNative")) return op_conv(cx, 1, 1);
    if (IS("_FusedMatMul")) return op_matmul(cx, 1);
    if (IS("MatMul")) return op_matmul(cx, 0);
    if (IS("Add") || IS("AddV2") || IS("BiasAdd")) return op_binary(cx, NN_OP_ADD);
    if (IS("Sub")) return op_binary(cx, NN_OP_SUB);
    if (IS("Mul")) return op_binary(cx, NN_OP_MUL);
    if (IS("RealDiv") || IS("Div")) return op_binary(cx, NN_OP_DIV);
    if (IS("Maximum")) return op_binary(cx, NN_OP_MAXIMUM);
    if (IS("Minimum")) return op_binary(cx, NN_OP_MINIMUM);
    if (IS("Prelu")) return op_binary(cx, NN_OP_PRELU);
    if (IS("Relu")) return op_unary(cx, NN_OP_CLAMP, 0.0f, INFINITY);
    if (IS("Relu6")) return op_unary(cx, NN_OP_CLAMP, 0.0f, 6.0f);
    if (IS("Sigmoid")) return op_unary(cx, NN_OP_SIGMOID, 0, 0);
    if (IS("Tanh")) return op_unary(cx, NN_OP_TANH, 0, 0);
    if (IS("Elu")) return op_unary(cx, NN_OP_ELU, 0, 0);
    if (IS("LeakyRelu")) return op_unary(cx, NN_OP_LEAKY_RELU, 0, 0);
    if (IS("Exp")) return op_unary(cx, NN_OP_EXP, 0, 0);
    if (IS("Sqrt")) return op_unary(cx, NN_OP_SQRT, 0, 0);
    if (IS("Rsqrt")) return op_unary(cx, NN_OP_RSQRT, 0, 0);
    if (IS("Softmax")) return op_unary(cx, NN_OP_SOFTMAX, 0, 0);
    if (IS("Mean")) return op_reduce(cx, NN_OP_REDUCE_MEAN);
    if (IS("Max")) return op_reduce(cx, NN_OP_REDUCE_MAX);
    if (IS("Min")) return op_reduce(cx, NN_OP_REDUCE_MIN);
    if (IS("Sum")) return op_reduce(cx, NN_OP_REDUCE_SUM);
    if (IS("MaxPool")) return op_pool(cx, NN_OP_MAX_POOL2D);
    if (IS("AvgPool")) return op_pool(cx, NN_OP_AVG_POOL2D);
    if (IS("Pad")) return op_pad(cx, 0, 0);
    if (IS("PadV2")) return op_pad(cx, 1, 0);
    if (IS("MirrorPad")) return op_pad(cx, 0, 1);
    if (IS("Reshape")) return op_reshape(cx);
    if (IS("ConcatV2")) return op_concat(cx);
    if (IS("Identity") || IS("StopGradient")) return op_identity(cx);
    if (IS("ResizeBilinear")) return op_resize(cx, 1);
    if (IS("ResizeNearestNeighbor")) return op_resize(cx, 0);
    if (IS("FusedBatchNorm") || IS("FusedBatchNormV2") || IS("FusedBatchNormV3")) return op_fused_batchnorm(cx);
    if (IS("Squeeze")) return op_squeeze(cx, 0);
    if (IS("ExpandDims")) return op_squeeze(cx, 1);
    if (IS("Transpose")) return op_transpose(cx);
    if (IS("Square")) return op_square(cx);
    if (IS("Neg")) return op_unary(cx, NN_OP_NEG, 0, 0);
    if (IS("Abs")) return op_unary(cx, NN_OP_ABS, 0, 0);
    if (IS("Log")) return op_unary(cx, NN_OP_LOG, 0, 0);
    if (IS("Floor")) return op_unary(cx, NN_OP_FLOOR, 0, 0);
    if (IS("Ceil")) return op_unary(cx, NN_OP_CEIL, 0, 0);
    if (IS("Softplus")) return op_unary(cx, NN_OP_SOFTPLUS, 0, 0);
    if (IS("Reciprocal")) return op_unary(cx, NN_OP_RECIPROCAL, 0, 0);
#undef IS
    return node_fail(cx, FS_ERR_UNSUPPORTED, "unsupported op '%s'", op);
}

static fs_status add_output(tj_ctx *cx, const char *name) {
    char nm[300];
    snprintf(nm, sizeof nm, "%s", name);
    char *colon = strrchr(nm, ':');
    if (colon && !strcmp(colon, ":0")) *colon = 0;
    int t = ld_names_get(&cx->names, nm, strlen(nm));
    if (t < 0) return fs_error(FS_ERR_FORMAT, "TF.js: output '%s' is not a node", name);
    int is_input = 0;
    for (int i = 0; i < cx->g->n_inputs; i++) is_input |= cx->g->inputs[i] == t;
    if (strcmp(T(cx, t)->name, nm) || T(cx, t)->is_const || is_input) {
        int y = ld_add_tensor(cx->g, nm, T(cx, t)->dtype, T(cx, t)->ndim, T(cx, t)->dims);
        if (y < 0 || nn_graph_add_node(cx->g, NN_OP_IDENTITY, nm, 1, &t, 1, &y) < 0) return FS_ERR_NOMEM;
        t = y;
    }
    int *o = realloc(cx->g->outputs, sizeof(int) * (size_t)(cx->g->n_outputs + 1));
    if (!o) return fs_error(FS_ERR_NOMEM, "TF.js: out of memory");
    cx->g->outputs = o;
    o[cx->g->n_outputs++] = t;
    return FS_OK;
}

/* outputs: the signature's, else nodes nobody reads */
static fs_status add_outputs(tj_ctx *cx, json_t *root, json_t *nodes) {
    json_t *outs = json_object_get(json_object_get(root, "signature"), "outputs");
    if (json_is_object(outs) && json_object_size(outs)) {
        const char *key;
        json_t *v;
        json_object_foreach(outs, key, v) {
            const char *nm = json_string_value(json_object_get(v, "name"));
            fs_status st = add_output(cx, nm ? nm : key);
            if (st) return st;
        }
        return FS_OK;
    }
    size_t n = json_array_size(nodes);
    for (size_t i = 0; i < n; i++) {
        json_t *nd = json_array_get(nodes, i);
        const char *name = json_string_value(json_object_get(nd, "name"));
        const char *op = json_string_value(json_object_get(nd, "op"));
        if (!strcmp(op, "Const") || !strcmp(op, "Placeholder")) continue;
        int used = 0;
        for (size_t j = 0; j < n && !used; j++) {
            json_t *ins = json_object_get(json_array_get(nodes, j), "input");
            for (size_t k = 0; k < json_array_size(ins) && !used; k++) {
                const char *s = json_string_value(json_array_get(ins, k));
                if (!s) continue;
                if (*s == '^') s++;
                size_t l = strlen(name);
                used = !strncmp(s, name, l) && (s[l] == 0 || s[l] == ':');
            }
        }
        if (!used) {
            fs_status st = add_output(cx, name);
            if (st) return st;
        }
    }
    if (!cx->g->n_outputs) return fs_error(FS_ERR_FORMAT, "TF.js: graph has no outputs");
    return FS_OK;
}

static fs_status load(tj_ctx *cx, json_t *root, nn_shard_reader rd, void *ctx) {
    json_t *topo = json_object_get(root, "modelTopology");
    json_t *nodes = topo ? json_object_get(topo, "node") : NULL;
    if (!json_is_array(nodes)) {
        if (topo && json_object_get(topo, "model_config"))
            return fs_error(FS_ERR_UNSUPPORTED, "TF.js: layers models are not supported (graph models only)");
        return fs_error(FS_ERR_FORMAT, "TF.js: model.json has no modelTopology.node list");
    }
    json_t *man = json_object_get(root, "weightsManifest");
    if (man && !json_is_array(man)) return fs_error(FS_ERR_FORMAT, "TF.js: weightsManifest is not a list");
    for (size_t i = 0; i < json_array_size(man); i++) {
        tj_group gd = {0};
        fs_status st = read_group(json_array_get(man, i), rd, ctx, &gd);
        if (!st) st = add_weights(cx, json_array_get(man, i), &gd);
        free(gd.data);
        if (st) return st;
    }
    /* nodes: TF graphs are not necessarily topologically sorted; convert in dependency order */
    size_t n = json_array_size(nodes);
    char *done = calloc(n + 1, 1);
    if (!done) return fs_error(FS_ERR_NOMEM, "TF.js: out of memory");
    size_t left = n;
    fs_status st = FS_OK;
    while (left && !st) {
        size_t progress = 0;
        for (size_t i = 0; i < n && !st; i++) {
            if (done[i]) continue;
            json_t *nd = json_array_get(nodes, i);
            const char *name = json_string_value(json_object_get(nd, "name"));
            const char *op = json_string_value(json_object_get(nd, "op"));
            if (!name || !op) { st = fs_error(FS_ERR_FORMAT, "TF.js: node %zu lacks name/op", i); break; }
            json_t *ins = json_object_get(nd, "input");
            if (ins && !json_is_array(ins)) { st = fs_error(FS_ERR_FORMAT, "TF.js: node '%s' input is not a list", name); break; }
            int ready = 1;
            for (size_t k = 0; k < json_array_size(ins) && ready; k++) {
                const char *s = json_string_value(json_array_get(ins, k));
                if (!s) { ready = 0; break; }
                if (*s == '^') continue;
                const char *colon = strrchr(s, ':');
                size_t l = colon ? (size_t)(colon - s) : strlen(s);
                ready = ld_names_get(&cx->names, s, l) >= 0;
            }
            if (!ready) continue;
            cx->node = nd;
            cx->nname = name;
            cx->op = op;
            st = convert_node(cx);
            done[i] = 1;
            left--;
            progress++;
        }
        if (!st && !progress) {
            for (size_t i = 0; i < n; i++)
                if (!done[i]) {
                    json_t *nd = json_array_get(nodes, i);
                    st = fs_error(FS_ERR_FORMAT, "TF.js: node '%s' has an input that is never defined (or a cycle)",
                                  json_string_value(json_object_get(nd, "name")));
                    break;
                }
        }
    }
    free(done);
    if (st) return st;
    return add_outputs(cx, root, nodes);
}

fs_status nn_load_tfjs(nn_graph *g, const char *json, size_t json_len, nn_shard_reader read_shard, void *ctx) {
    json_error_t err;
    json_t *root = json_loadb(json, json_len, JSON_REJECT_DUPLICATES, &err);
    if (!root) return fs_error(FS_ERR_FORMAT, "TF.js: model.json line %d: %s", err.line, err.text);
    tj_ctx cx;
    memset(&cx, 0, sizeof cx);
    cx.g = g;
    snprintf(g->format, sizeof g->format, "tfjs");
    const char *by = json_string_value(json_object_get(root, "convertedBy"));
    const char *gen = json_string_value(json_object_get(root, "generatedBy"));
    snprintf(g->description, sizeof g->description, "%s%s%s", gen ? gen : "", gen && by ? ", " : "", by ? by : "");
    fs_status st = json_is_object(root) ? load(&cx, root, read_shard, ctx)
                                        : fs_error(FS_ERR_FORMAT, "TF.js: model.json is not an object");
    ld_names_free(&cx.names);
    json_decref(root);
    if (st) return st;
    return nn_pass_optimize(g);
}
