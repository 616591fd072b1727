/* nn/loaders/onnx.c — ONNX (protobuf) model loader into the internal graph (nn/graph.h).
 *
 * ModelProto -> GraphProto: initializers become constants (FLOAT16/DOUBLE converted to float32),
 * graph inputs that are not initializers become graph inputs, nodes map to nn ops one by one.
 * ONNX activations are NCHW; the runtime's spatial ops are NHWC, so each 4-D spatial op (Conv,
 * pooling, Resize) is wrapped in TRANSPOSE nodes (NCHW->NHWC before, NHWC->NCHW after) and Conv
 * weights go from OIHW to OHWI; nn_pass_optimize() (nn/passes.c) then cancels the inverse pairs.
 *
 * Every attribute a node carries must be understood: one we do not implement (or a value of it we
 * do not implement) makes the load fail with FS_ERR_UNSUPPORTED naming the op and the attribute —
 * the runtime never runs an op approximately. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/loaders/ldcommon.h"
#include "nn/loaders/loaders.h"
#include "nn/loaders/protobuf.h"
#include "nn/loaders/tensorproto.h"
#include "nn/passes.h"

#define OX_MAX_ATTRS 32
#define OX_MAX_LIST 64
#define OX_MAX_NODE_IO 64

enum { AT_FLOAT = 1, AT_INT = 2, AT_STRING = 3, AT_TENSOR = 4, AT_GRAPH = 5, AT_FLOATS = 6, AT_INTS = 7,
       AT_STRINGS = 8 };

typedef struct {
    pb_field name;
    int type, used;
    float f;
    int64_t i;
    pb_field s, t;
    int n_ints, n_floats, overflow;
    int64_t ints[OX_MAX_LIST];
    float floats[OX_MAX_LIST];
} ox_attr;

typedef struct {
    pb_field in[OX_MAX_NODE_IO], out[OX_MAX_NODE_IO];
    int n_in, n_out;
    pb_field op, name, domain;
    ox_attr at[OX_MAX_ATTRS];
    int n_at;
} ox_node;

typedef struct {
    nn_graph *g;
    ld_names names;
    int64_t opset;
    pb_reader root;
    /* current node, for messages */
    int node_idx;
    const ox_node *nd;
    char op[64], nname[128];
} ox_ctx;

/* ------------------------------------------------------------------ messages */

static void fcopy(char *dst, size_t cap, const pb_field *f) {
    size_t n = f->data && f->len < cap - 1 ? f->len : (f->data ? cap - 1 : 0);
    if (n) memcpy(dst, f->data, n);
    dst[n] = 0;
}

#define NODE_FAIL(cx, code, ...) node_fail(cx, code, __VA_ARGS__)
__attribute__((format(printf, 3, 4))) static fs_status node_fail(ox_ctx *cx, fs_status code, const char *fmt,
                                                                  ...) {
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fs_error(code, "ONNX: node %d '%s' (%s): %s", cx->node_idx, cx->nname, cx->op, msg);
}

/* ------------------------------------------------------------------ node parsing */

static fs_status parse_attr(const pb_reader *r0, ox_attr *a) {
    memset(a, 0, sizeof *a);
    pb_reader r = *r0;
    pb_field f;
    int rc;
    while ((rc = pb_next(&r, &f)) > 0) {
        switch (f.num) {
        case 1: a->name = f; break;
        case 20: a->type = (int)f.v; break;
        case 2: a->f = pb_as_float(&f); break;
        case 3: a->i = (int64_t)f.v; break;
        case 4: a->s = f; break;
        case 5: a->t = f; break;
        case 7: { /* floats */
            int64_t c = pb_count_fixed(&f, 4);
            if (c < 0) return fs_error(FS_ERR_FORMAT, "ONNX: attribute floats malformed");
            for (int64_t k = 0; k < c; k++) {
                if (a->n_floats >= OX_MAX_LIST) { a->overflow = 1; break; }
                pb_field e = f;
                if (f.wire == PB_LEN) {
                    uint32_t u = (uint32_t)f.data[4 * k] | (uint32_t)f.data[4 * k + 1] << 8 |
                                 (uint32_t)f.data[4 * k + 2] << 16 | (uint32_t)f.data[4 * k + 3] << 24;
                    e.v = u;
                }
                a->floats[a->n_floats++] = pb_as_float(&e);
            }
            break;
        }
        case 8: { /* ints */
            int64_t c = pb_count_varints(&f);
            if (c < 0) return fs_error(FS_ERR_FORMAT, "ONNX: attribute ints malformed");
            if (a->n_ints + c > OX_MAX_LIST) { a->overflow = 1; break; }
            a->n_ints += (int)pb_get_varints(&f, a->ints + a->n_ints, OX_MAX_LIST - a->n_ints);
            break;
        }
        default: break;
        }
    }
    if (rc < 0) return FS_ERR_FORMAT;
    if (!a->name.data) return fs_error(FS_ERR_FORMAT, "ONNX: attribute without a name");
    return FS_OK;
}

static fs_status parse_node(const pb_reader *r0, ox_node *n) {
    memset(n, 0, sizeof *n);
    pb_reader r = *r0;
    pb_field f;
    int rc;
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.wire != PB_LEN) continue;
        switch (f.num) {
        case 1:
            if (n->n_in >= OX_MAX_NODE_IO) return fs_error(FS_ERR_UNSUPPORTED, "ONNX: node has more than %d inputs", OX_MAX_NODE_IO);
            n->in[n->n_in++] = f;
            break;
        case 2:
            if (n->n_out >= OX_MAX_NODE_IO) return fs_error(FS_ERR_UNSUPPORTED, "ONNX: node has more than %d outputs", OX_MAX_NODE_IO);
            n->out[n->n_out++] = f;
            break;
        case 3: n->name = f; break;
        case 4: n->op = f; break;
        case 7: n->domain = f; break;
        case 5: {
            if (n->n_at >= OX_MAX_ATTRS) return fs_error(FS_ERR_UNSUPPORTED, "ONNX: node has more than %d attributes", OX_MAX_ATTRS);
            pb_reader sub;
            if (pb_sub(&r, &f, &sub)) return FS_ERR_FORMAT;
            fs_status st = parse_attr(&sub, &n->at[n->n_at]);
            if (st) return st;
            n->n_at++;
            break;
        }
        default: break;
        }
    }
    if (rc < 0) return FS_ERR_FORMAT;
    if (!n->op.data || !n->op.len) return fs_error(FS_ERR_FORMAT, "ONNX: node without op_type");
    return FS_OK;
}

/* ------------------------------------------------------------------ attribute access */

static ox_attr *find_attr(ox_ctx *cx, const char *name) {
    ox_node *n = (ox_node *)cx->nd;
    for (int i = 0; i < n->n_at; i++)
        if (pb_str_eq(&n->at[i].name, name)) { n->at[i].used = 1; return &n->at[i]; }
    return NULL;
}

static int64_t attr_i(ox_ctx *cx, const char *name, int64_t def) {
    ox_attr *a = find_attr(cx, name);
    return a ? a->i : def;
}

static float attr_f(ox_ctx *cx, const char *name, float def) {
    ox_attr *a = find_attr(cx, name);
    return a ? a->f : def;
}

/* string attribute into buf ("" default) */
static void attr_s(ox_ctx *cx, const char *name, const char *def, char *buf, size_t cap) {
    ox_attr *a = find_attr(cx, name);
    if (!a) { snprintf(buf, cap, "%s", def); return; }
    fcopy(buf, cap, &a->s);
}

/* ints attribute: returns count (0 if absent), -1 after fs_error if too long */
static int attr_ints(ox_ctx *cx, const char *name, int64_t *out, int max) {
    ox_attr *a = find_attr(cx, name);
    if (!a) return 0;
    if (a->overflow || a->n_ints > max) {
        NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "attribute '%s' has too many values", name);
        return -1;
    }
    memcpy(out, a->ints, sizeof(int64_t) * (size_t)a->n_ints);
    return a->n_ints;
}

/* all attributes must have been read by the op handler */
static fs_status check_attrs_used(ox_ctx *cx) {
    for (int i = 0; i < cx->nd->n_at; i++)
        if (!cx->nd->at[i].used) {
            char an[64];
            fcopy(an, sizeof an, &cx->nd->at[i].name);
            return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "attribute '%s' is not supported", an);
        }
    return FS_OK;
}

/* ------------------------------------------------------------------ tensors */

static nn_tensor *T(ox_ctx *cx, int t) { return &cx->g->tensors[t]; }

/* graph tensor of node input k; -1 if absent (empty name or k >= n_in); -2 after error if undefined */
static int in_t(ox_ctx *cx, int k) {
    if (k >= cx->nd->n_in || cx->nd->in[k].len == 0) return -1;
    int t = ld_names_get(&cx->names, (const char *)cx->nd->in[k].data, cx->nd->in[k].len);
    if (t < 0) {
        char nm[128];
        fcopy(nm, sizeof nm, &cx->nd->in[k]);
        NODE_FAIL(cx, FS_ERR_FORMAT, "input '%s' is not defined before use", nm);
        return -2;
    }
    return t;
}

static int need_in(ox_ctx *cx, int k) {
    int t = in_t(cx, k);
    if (t == -1) { NODE_FAIL(cx, FS_ERR_FORMAT, "input %d is missing", k); return -2; }
    return t;
}

/* new tensor with a generated name "<base>#<tag>" */
static int new_tensor(ox_ctx *cx, const char *base, const char *tag, nn_dtype dt, int ndim, const int64_t *dims) {
    char nm[256];
    if (tag) snprintf(nm, sizeof nm, "%s#%s", base, tag);
    else snprintf(nm, sizeof nm, "%s", base);
    return ld_add_tensor(cx->g, nm, dt, ndim, dims);
}

/* tensor for node output k (named as in the file), registered in the name map */
static int out_t(ox_ctx *cx, int k, nn_dtype dt, int ndim, const int64_t *dims) {
    if (k >= cx->nd->n_out || !cx->nd->out[k].len) {
        NODE_FAIL(cx, FS_ERR_FORMAT, "output %d is missing", k);
        return -1;
    }
    char nm[256];
    fcopy(nm, sizeof nm, &cx->nd->out[k]);
    int t = ld_add_tensor(cx->g, nm, dt, ndim, dims);
    if (t < 0) return -1;
    if (ld_names_put(&cx->names, (const char *)cx->nd->out[k].data, cx->nd->out[k].len, t)) return -1;
    return t;
}

/* alias node output k to an existing tensor (Identity-like nodes) */
static fs_status alias_out(ox_ctx *cx, int k, int t) {
    if (k >= cx->nd->n_out || !cx->nd->out[k].len) return NODE_FAIL(cx, FS_ERR_FORMAT, "output %d is missing", k);
    return ld_names_put(&cx->names, (const char *)cx->nd->out[k].data, cx->nd->out[k].len, t) ? FS_ERR_NOMEM : FS_OK;
}

static int emit(ox_ctx *cx, nn_op_type op, int n_in, const int *in, int n_out, const int *out) {
    int i = nn_graph_add_node(cx->g, op, cx->nname, n_in, in, n_out, out);
    return i;
}

/* constant tensor's data, or NULL (with fs_error naming what) if t is not constant */
static const void *const_data(ox_ctx *cx, int t, const char *what) {
    if (t < 0 || !T(cx, t)->is_const || !T(cx, t)->data) {
        NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "%s must be a constant (initializer)", what);
        return NULL;
    }
    return T(cx, t)->data;
}

/* int64/int32 constant -> int64 list; returns count or -1 */
static int const_ints(ox_ctx *cx, int t, const char *what, int64_t *out, int max) {
    if (!const_data(cx, t, what)) return -1;
    nn_tensor *x = T(cx, t);
    int64_t n = nn_tensor_numel(x);
    if (n < 0 || n > max || x->ndim > 1) {
        NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "%s has %lld values (at most %d in one dim)", what, (long long)n, max);
        return -1;
    }
    for (int64_t i = 0; i < n; i++) {
        if (x->dtype == NN_I64) out[i] = ((const int64_t *)x->data)[i];
        else if (x->dtype == NN_I32) out[i] = ((const int32_t *)x->data)[i];
        else { NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "%s must be int64/int32", what); return -1; }
    }
    return (int)n;
}

/* float constant list (float32 only) */
static int const_floats(ox_ctx *cx, int t, const char *what, float *out, int max) {
    if (!const_data(cx, t, what)) return -1;
    nn_tensor *x = T(cx, t);
    int64_t n = nn_tensor_numel(x);
    if (x->dtype != NN_F32 || n < 0 || n > max) {
        NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "%s must be float32 with at most %d values", what, max);
        return -1;
    }
    memcpy(out, x->data, sizeof(float) * (size_t)n);
    return (int)n;
}

/* ------------------------------------------------------------------ layout helpers */

static const int PERM_TO_NHWC[4] = {0, 2, 3, 1};
static const int PERM_TO_NCHW[4] = {0, 3, 1, 2};

/* NCHW tensor x -> new NHWC tensor through a TRANSPOSE node */
static int to_nhwc(ox_ctx *cx, int x) {
    nn_tensor *t = T(cx, x);
    int64_t d[4];
    for (int i = 0; i < 4; i++) d[i] = t->ndim == 4 ? t->dims[PERM_TO_NHWC[i]] : -1;
    char base[200];
    snprintf(base, sizeof base, "%s", t->name);
    int y = new_tensor(cx, base, "nhwc", t->dtype, 4, d);
    if (y < 0) return -1;
    int ni = emit(cx, NN_OP_TRANSPOSE, 1, &x, 1, &y);
    if (ni < 0) return -1;
    memcpy(cx->g->nodes[ni].attr.perm, PERM_TO_NHWC, sizeof PERM_TO_NHWC);
    return y;
}

/* NHWC tensor y -> node output 0 (NCHW) through a TRANSPOSE node */
static int from_nhwc(ox_ctx *cx, int y) {
    nn_tensor *t = T(cx, y);
    int64_t d[4];
    for (int i = 0; i < 4; i++) d[i] = t->dims[PERM_TO_NCHW[i]];
    int o = out_t(cx, 0, t->dtype, 4, d);
    if (o < 0) return -1;
    int ni = emit(cx, NN_OP_TRANSPOSE, 1, &y, 1, &o);
    if (ni < 0) return -1;
    memcpy(cx->g->nodes[ni].attr.perm, PERM_TO_NCHW, sizeof PERM_TO_NCHW);
    return o;
}

/* ------------------------------------------------------------------ spatial attribute set */

typedef struct {
    int nk;            /* spatial rank from kernel_shape / weights */
    int64_t k[2], s[2], d[2], pads[4];
    int auto_pad;      /* NN auto_pad code */
} ox_spatial;

/* kernel_shape/strides/dilations/pads/auto_pad for sp->nk spatial dims (1 or 2); a 1-D op is read as
 * 2-D with H = 1 (k, s, d = 1 and no padding on H). */
static fs_status read_spatial(ox_ctx *cx, ox_spatial *sp, int has_dil) {
    int64_t v[8];
    int n, nk = sp->nk, off = 2 - nk;
    char ap[32];
    sp->s[0] = sp->s[1] = sp->d[0] = sp->d[1] = 1;
    memset(sp->pads, 0, sizeof sp->pads);
    if (nk == 1) sp->k[0] = 1;
    if ((n = attr_ints(cx, "kernel_shape", v, 8)) < 0) return FS_ERR_UNSUPPORTED;
    if (n) {
        if (n != nk) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "kernel_shape has %d values for %d spatial dims", n, nk);
        for (int i = 0; i < nk; i++) sp->k[off + i] = v[i];
    }
    if ((n = attr_ints(cx, "strides", v, 8)) < 0) return FS_ERR_UNSUPPORTED;
    if (n) {
        if (n != nk) return NODE_FAIL(cx, FS_ERR_FORMAT, "strides has %d values, expected %d", n, nk);
        for (int i = 0; i < nk; i++) sp->s[off + i] = v[i];
    }
    if (has_dil) {
        if ((n = attr_ints(cx, "dilations", v, 8)) < 0) return FS_ERR_UNSUPPORTED;
        if (n) {
            if (n != nk) return NODE_FAIL(cx, FS_ERR_FORMAT, "dilations has %d values, expected %d", n, nk);
            for (int i = 0; i < nk; i++) sp->d[off + i] = v[i];
        }
    }
    if ((n = attr_ints(cx, "pads", v, 8)) < 0) return FS_ERR_UNSUPPORTED;
    if (n) {
        if (n != 2 * nk) return NODE_FAIL(cx, FS_ERR_FORMAT, "pads has %d values, expected %d", n, 2 * nk);
        for (int i = 0; i < nk; i++) {
            sp->pads[off + i] = v[i];
            sp->pads[2 + off + i] = v[nk + i];
        }
    }
    attr_s(cx, "auto_pad", "NOTSET", ap, sizeof ap);
    if (!strcmp(ap, "NOTSET")) sp->auto_pad = 0;
    else if (!strcmp(ap, "SAME_UPPER")) sp->auto_pad = 1;
    else if (!strcmp(ap, "SAME_LOWER")) sp->auto_pad = 2;
    else if (!strcmp(ap, "VALID")) sp->auto_pad = 3;
    else return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "auto_pad '%s' is not supported", ap);
    for (int i = 0; i < 2; i++) {
        if (sp->k[i] < 1 || sp->k[i] > 65535 || sp->s[i] < 1 || sp->s[i] > 65535 || sp->d[i] < 1 ||
            sp->d[i] > 65535)
            return NODE_FAIL(cx, FS_ERR_FORMAT, "kernel %lldx%lld, strides %lld,%lld, dilations %lld,%lld out of range",
                             (long long)sp->k[0], (long long)sp->k[1], (long long)sp->s[0], (long long)sp->s[1],
                             (long long)sp->d[0], (long long)sp->d[1]);
    }
    for (int i = 0; i < 4; i++)
        if (sp->pads[i] < 0 || sp->pads[i] > 65535)
            return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "pads value %lld is not supported", (long long)sp->pads[i]);
    return FS_OK;
}

/* spatial rank of an NCHW / NCW input: 2 or 1; 0 after fs_error */
static int spatial_rank(ox_ctx *cx, int x) {
    int r = T(cx, x)->ndim;
    if (r == 4 || r == 3) return r - 2;
    NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "input of rank %d (only 1-D and 2-D spatial ops: NCW / NCHW)", r);
    return 0;
}

/* NCHW (or NCW, unsqueezed to NC1W) -> NHWC operand of a spatial op */
static int nhwc_enter(ox_ctx *cx, int x, int nk) {
    if (nk == 1) {
        nn_tensor *t = T(cx, x);
        int64_t d[4] = {t->dims[0], t->dims[1], 1, t->dims[2]};
        char base[200];
        snprintf(base, sizeof base, "%s", t->name);
        int x4 = new_tensor(cx, base, "nc1w", t->dtype, 4, d);
        int ni = x4 < 0 ? -1 : emit(cx, NN_OP_UNSQUEEZE, 1, &x, 1, &x4);
        if (ni < 0) return -1;
        cx->g->nodes[ni].attr.axes[0] = 2;
        cx->g->nodes[ni].attr.n_axes = 1;
        x = x4;
    }
    return to_nhwc(cx, x);
}

/* NHWC result y of a spatial op -> node output 0 (NCHW, or NCW squeezed back) */
static fs_status nhwc_leave(ox_ctx *cx, int y, int nk) {
    if (nk == 2) return from_nhwc(cx, y) < 0 ? FS_ERR_NOMEM : FS_OK;
    nn_tensor *t = T(cx, y);
    int64_t d4[4], d3[3];
    for (int i = 0; i < 4; i++) d4[i] = t->dims[PERM_TO_NCHW[i]];
    d3[0] = d4[0]; d3[1] = d4[1]; d3[2] = d4[3];
    char ob[200];
    fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int m = new_tensor(cx, ob, "nc1w", t->dtype, 4, d4);
    int ni = m < 0 ? -1 : emit(cx, NN_OP_TRANSPOSE, 1, &y, 1, &m);
    if (ni < 0) return FS_ERR_NOMEM;
    memcpy(cx->g->nodes[ni].attr.perm, PERM_TO_NCHW, sizeof PERM_TO_NCHW);
    int o = out_t(cx, 0, t->dtype, 3, d3);
    ni = o < 0 ? -1 : emit(cx, NN_OP_SQUEEZE, 1, &m, 1, &o);
    if (ni < 0) return FS_ERR_NOMEM;
    cx->g->nodes[ni].attr.axes[0] = 2;
    cx->g->nodes[ni].attr.n_axes = 1;
    return FS_OK;
}

static void set_spatial(nn_attr *a, const ox_spatial *sp) {
    a->kh = (int)sp->k[0]; a->kw = (int)sp->k[1];
    a->stride_h = (int)sp->s[0]; a->stride_w = (int)sp->s[1];
    a->dil_h = (int)sp->d[0]; a->dil_w = (int)sp->d[1];
    a->auto_pad = sp->auto_pad;
    if (!sp->auto_pad) {
        a->pad_t = (int)sp->pads[0]; a->pad_l = (int)sp->pads[1];
        a->pad_b = (int)sp->pads[2]; a->pad_r = (int)sp->pads[3];
    }
}

/* NHWC output dims of a conv/pool from NHWC input xd */
static void spatial_out(const ox_spatial *sp, const int64_t *xd, int64_t cout, int ceil_mode, int64_t *od) {
    od[0] = xd[0];
    od[3] = cout;
    for (int i = 0; i < 2; i++) {
        int64_t in = xd[1 + i];
        if (in < 0) { od[1 + i] = -1; continue; }
        if (sp->auto_pad == 1 || sp->auto_pad == 2) { od[1 + i] = (in + sp->s[i] - 1) / sp->s[i]; continue; }
        int64_t pa = sp->auto_pad == 3 ? 0 : sp->pads[i], pb = sp->auto_pad == 3 ? 0 : sp->pads[2 + i];
        int64_t eff = sp->d[i] * (sp->k[i] - 1) + 1, v = in + pa + pb - eff;
        if (v < 0) { od[1 + i] = -1; continue; }
        int64_t o = (ceil_mode ? (v + sp->s[i] - 1) / sp->s[i] : v / sp->s[i]) + 1;
        if (ceil_mode && (o - 1) * sp->s[i] >= in + pa) o--; /* last window must start inside */
        od[1 + i] = o;
    }
}

/* ------------------------------------------------------------------ op handlers */

static fs_status op_conv(ox_ctx *cx) {
    int x = need_in(cx, 0), w = need_in(cx, 1), b = in_t(cx, 2);
    if (x < 0 || w < 0 || b == -2) return FS_ERR_FORMAT;
    int nk = spatial_rank(cx, x);
    if (!nk) return FS_ERR_UNSUPPORTED;
    const float *wd = const_data(cx, w, "Conv weights");
    if (!wd) return FS_ERR_UNSUPPORTED;
    nn_tensor *wt = T(cx, w);
    if (wt->ndim != nk + 2 || wt->dtype != NN_F32)
        return NODE_FAIL(cx, FS_ERR_FORMAT, "weights of rank %d for a %d-D float convolution", wt->ndim, nk);
    int64_t O = wt->dims[0], I = wt->dims[1], KH = nk == 2 ? wt->dims[2] : 1, KW = wt->dims[nk + 1];
    ox_spatial sp = {.nk = nk, .k = {KH, KW}};
    fs_status st = read_spatial(cx, &sp, 1);
    if (st) return st;
    if (sp.k[0] != KH || sp.k[1] != KW) return NODE_FAIL(cx, FS_ERR_FORMAT, "kernel_shape does not match the weights");
    int64_t group = attr_i(cx, "group", 1);
    int64_t C = T(cx, x)->dims[1];
    if (group < 1 || O % group || (C >= 0 && C != I * group))
        return NODE_FAIL(cx, FS_ERR_FORMAT, "group %lld does not fit %lld input / %lld output channels (weights %lldx%lld)",
                         (long long)group, (long long)C, (long long)O, (long long)O, (long long)I);
    if (b >= 0) {
        if (!const_data(cx, b, "Conv bias")) return FS_ERR_UNSUPPORTED;
        if (nn_tensor_numel(T(cx, b)) != O || T(cx, b)->dtype != NN_F32)
            return NODE_FAIL(cx, FS_ERR_FORMAT, "bias has %lld values, expected %lld", (long long)nn_tensor_numel(T(cx, b)), (long long)O);
    }
    if ((st = check_attrs_used(cx))) return st;
    /* OIHW (OIW) -> OHWI */
    int64_t od[4] = {O, KH, KW, I};
    char base[200];
    snprintf(base, sizeof base, "%s", wt->name);
    int w2 = new_tensor(cx, base, "ohwi", NN_F32, 4, od);
    if (w2 < 0) return FS_ERR_NOMEM;
    float *dst = nn_graph_alloc_const(cx->g, w2);
    if (!dst) return FS_ERR_NOMEM;
    wd = T(cx, w)->data;
    for (int64_t o = 0; o < O; o++)
        for (int64_t i = 0; i < I; i++)
            for (int64_t h = 0; h < KH; h++)
                for (int64_t k = 0; k < KW; k++)
                    dst[((o * KH + h) * KW + k) * I + i] = wd[((o * I + i) * KH + h) * KW + k];
    int xn = nhwc_enter(cx, x, nk);
    if (xn < 0) return FS_ERR_NOMEM;
    int64_t yd[4];
    spatial_out(&sp, T(cx, xn)->dims, O, 0, yd);
    char ob[200];
    fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int y = new_tensor(cx, ob, "nhwc", NN_F32, 4, yd);
    if (y < 0) return FS_ERR_NOMEM;
    int in[3] = {xn, w2, b};
    int ni = emit(cx, NN_OP_CONV2D, b >= 0 ? 3 : 2, in, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    set_spatial(a, &sp);
    a->groups = (int)group;
    return nhwc_leave(cx, y, nk);
}

/* ConvTranspose (1-D / 2-D, constant weights [Cin][Cout/group][kH][kW] -> OHWI [Cout][kH][kW][Cin/group]) */
static fs_status op_conv_transpose(ox_ctx *cx) {
    int x = need_in(cx, 0), w = need_in(cx, 1), b = in_t(cx, 2);
    if (x < 0 || w < 0 || b == -2) return FS_ERR_FORMAT;
    int nk = spatial_rank(cx, x);
    if (!nk) return FS_ERR_UNSUPPORTED;
    if (!const_data(cx, w, "ConvTranspose weights")) return FS_ERR_UNSUPPORTED;
    nn_tensor *wt = T(cx, w);
    if (wt->ndim != nk + 2 || wt->dtype != NN_F32)
        return NODE_FAIL(cx, FS_ERR_FORMAT, "weights of rank %d for a %d-D float convolution", wt->ndim, nk);
    int64_t CI = wt->dims[0], COG = wt->dims[1], KH = nk == 2 ? wt->dims[2] : 1, KW = wt->dims[nk + 1];
    ox_spatial sp = {.nk = nk, .k = {KH, KW}};
    fs_status st = read_spatial(cx, &sp, 1);
    if (st) return st;
    if (sp.k[0] != KH || sp.k[1] != KW) return NODE_FAIL(cx, FS_ERR_FORMAT, "kernel_shape does not match the weights");
    int64_t group = attr_i(cx, "group", 1), op[2] = {0, 0}, v[4];
    int n = attr_ints(cx, "output_padding", v, 4);
    if (n < 0) return FS_ERR_UNSUPPORTED;
    if (n && n != nk) return NODE_FAIL(cx, FS_ERR_FORMAT, "output_padding has %d values", n);
    for (int i = 0; i < n; i++) op[2 - nk + i] = v[i];
    if (find_attr(cx, "output_shape")) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "attribute 'output_shape' is not supported");
    int64_t C = T(cx, x)->dims[1];
    if (group < 1 || CI % group || (C >= 0 && C != CI))
        return NODE_FAIL(cx, FS_ERR_FORMAT, "group %lld does not fit %lld input channels (weights %lld)", (long long)group,
                         (long long)C, (long long)CI);
    for (int i = 0; i < 2; i++)
        if (op[i] < 0 || (op[i] >= sp.s[i] && op[i] >= sp.d[i]))
            return NODE_FAIL(cx, FS_ERR_FORMAT, "output_padding %lld must be smaller than the stride or dilation", (long long)op[i]);
    int64_t O = COG * group, CIG = CI / group;
    if (b >= 0) {
        if (!const_data(cx, b, "ConvTranspose bias")) return FS_ERR_UNSUPPORTED;
        if (nn_tensor_numel(T(cx, b)) != O || T(cx, b)->dtype != NN_F32)
            return NODE_FAIL(cx, FS_ERR_FORMAT, "bias has %lld values, expected %lld", (long long)nn_tensor_numel(T(cx, b)), (long long)O);
    }
    if ((st = check_attrs_used(cx))) return st;
    int64_t od[4] = {O, KH, KW, CIG};
    char base[200];
    snprintf(base, sizeof base, "%s", wt->name);
    int w2 = new_tensor(cx, base, "ohwi", NN_F32, 4, od);
    float *dst = w2 < 0 ? NULL : nn_graph_alloc_const(cx->g, w2);
    if (!dst) return FS_ERR_NOMEM;
    const float *wd = T(cx, w)->data;
    for (int64_t ci = 0; ci < CI; ci++)
        for (int64_t cg = 0; cg < COG; cg++) {
            int64_t gi = ci / CIG, i = ci % CIG, o = gi * COG + cg;
            for (int64_t h = 0; h < KH; h++)
                for (int64_t k = 0; k < KW; k++)
                    dst[((o * KH + h) * KW + k) * CIG + i] = wd[((ci * COG + cg) * KH + h) * KW + k];
        }
    int xn = nhwc_enter(cx, x, nk);
    if (xn < 0) return FS_ERR_NOMEM;
    int64_t yd[4] = {T(cx, xn)->dims[0], -1, -1, O};
    char ob[200];
    fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int y = new_tensor(cx, ob, "nhwc", NN_F32, 4, yd);
    int in[3] = {xn, w2, b};
    int ni = y < 0 ? -1 : emit(cx, NN_OP_CONV2D_TRANSPOSE, b >= 0 ? 3 : 2, in, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    set_spatial(a, &sp);
    a->groups = (int)group;
    a->out_pad_h = (int)op[0];
    a->out_pad_w = (int)op[1];
    return nhwc_leave(cx, y, nk);
}

static fs_status op_pool(ox_ctx *cx, int is_max) {
    int x = need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    if (cx->nd->n_out > 1 && cx->nd->out[1].len)
        return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "the Indices output is not supported");
    int nk = spatial_rank(cx, x);
    if (!nk) return FS_ERR_UNSUPPORTED;
    ox_spatial sp = {.nk = nk};
    fs_status st = read_spatial(cx, &sp, is_max);
    if (st) return st;
    if (!sp.k[0] || !sp.k[1]) return NODE_FAIL(cx, FS_ERR_FORMAT, "kernel_shape is missing");
    if (sp.d[0] != 1 || sp.d[1] != 1) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "dilations other than 1 are not supported");
    int ceil_mode = (int)attr_i(cx, "ceil_mode", 0);
    int cip = 0;
    if (is_max) {
        if (attr_i(cx, "storage_order", 0) != 0) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "storage_order 1 is not supported");
    } else {
        cip = (int)attr_i(cx, "count_include_pad", 0);
    }
    if ((st = check_attrs_used(cx))) return st;
    int xn = nhwc_enter(cx, x, nk);
    if (xn < 0) return FS_ERR_NOMEM;
    int64_t yd[4];
    spatial_out(&sp, T(cx, xn)->dims, T(cx, xn)->dims[3], ceil_mode, yd);
    char ob[200];
    fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int y = new_tensor(cx, ob, "nhwc", NN_F32, 4, yd);
    if (y < 0) return FS_ERR_NOMEM;
    int ni = emit(cx, is_max ? NN_OP_MAX_POOL2D : NN_OP_AVG_POOL2D, 1, &xn, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    set_spatial(a, &sp);
    a->ceil_mode = ceil_mode;
    a->count_include_pad = cip;
    return nhwc_leave(cx, y, nk);
}

static fs_status op_global_pool(ox_ctx *cx, nn_op_type op) {
    int x = need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    if (T(cx, x)->ndim != 4) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "input of rank %d (only 4-D NCHW)", T(cx, x)->ndim);
    int xn = to_nhwc(cx, x);
    if (xn < 0) return FS_ERR_NOMEM;
    int64_t yd[4] = {T(cx, xn)->dims[0], 1, 1, T(cx, xn)->dims[3]};
    char ob[200];
    fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int y = new_tensor(cx, ob, "nhwc", NN_F32, 4, yd);
    if (y < 0) return FS_ERR_NOMEM;
    int ni = emit(cx, op, 1, &xn, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    a->axes[0] = 1; a->axes[1] = 2; a->n_axes = 2; a->keepdims = 1;
    return from_nhwc(cx, y) < 0 ? FS_ERR_NOMEM : FS_OK;
}

/* Resize (opset >= 11: X, roi, scales, sizes; opset 10: X, scales) and Upsample */
static fs_status op_resize(ox_ctx *cx, int upsample) {
    int x = need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    char mode[32], ctm[48], nm[32];
    attr_s(cx, "mode", "nearest", mode, sizeof mode);
    int coord, nearest = NN_NEAREST_FLOOR;
    float sc[4] = {0};
    int64_t sizes[4];
    int nsc = 0, nsz = 0;
    if (upsample || cx->opset < 11) {
        coord = NN_COORD_ASYMMETRIC;
        if (upsample && cx->opset < 9) {
            ox_attr *a = find_attr(cx, "scales");
            if (!a || a->n_floats != 4) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "scales must have 4 values");
            memcpy(sc, a->floats, sizeof sc);
            nsc = 4;
        } else {
            nsc = const_floats(cx, in_t(cx, 1), "scales", sc, 4);
            if (nsc < 0) return FS_ERR_UNSUPPORTED;
        }
        if (!strcmp(mode, "linear")) mode[0] = 'l';
    } else {
        attr_s(cx, "coordinate_transformation_mode", "half_pixel", ctm, sizeof ctm);
        attr_s(cx, "nearest_mode", "round_prefer_floor", nm, sizeof nm);
        float ca = attr_f(cx, "cubic_coeff_a", -0.75f);
        (void)ca; /* only used by mode cubic, which is refused */
        if (attr_i(cx, "exclude_outside", 0) != 0) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "exclude_outside 1 is not supported");
        attr_f(cx, "extrapolation_value", 0.0f); /* only used by tf_crop_and_resize, refused */
        if (!strcmp(ctm, "half_pixel")) coord = NN_COORD_HALF_PIXEL;
        else if (!strcmp(ctm, "asymmetric")) coord = NN_COORD_ASYMMETRIC;
        else if (!strcmp(ctm, "pytorch_half_pixel")) coord = NN_COORD_PYTORCH_HALF_PIXEL;
        else if (!strcmp(ctm, "align_corners")) coord = NN_COORD_ALIGN_CORNERS;
        else if (!strcmp(ctm, "tf_half_pixel_for_nn")) coord = NN_COORD_TF_HALF_PIXEL_FOR_NN;
        else return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "coordinate_transformation_mode '%s' is not supported", ctm);
        if (!strcmp(nm, "round_prefer_floor")) nearest = NN_NEAREST_ROUND_PREFER_FLOOR;
        else if (!strcmp(nm, "round_prefer_ceil")) nearest = NN_NEAREST_ROUND_PREFER_CEIL;
        else if (!strcmp(nm, "floor")) nearest = NN_NEAREST_FLOOR;
        else if (!strcmp(nm, "ceil")) nearest = NN_NEAREST_CEIL;
        else return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "nearest_mode '%s' is not supported", nm);
        int ts = in_t(cx, 2), tz = in_t(cx, 3);
        if (ts == -2 || tz == -2) return FS_ERR_FORMAT;
        if (ts >= 0 && nn_tensor_numel(T(cx, ts)) > 0) {
            nsc = const_floats(cx, ts, "scales", sc, 4);
            if (nsc < 0) return FS_ERR_UNSUPPORTED;
        } else if (tz >= 0) {
            nsz = const_ints(cx, tz, "sizes", sizes, 4);
            if (nsz < 0) return FS_ERR_UNSUPPORTED;
        }
        if (!nsc && !nsz) return NODE_FAIL(cx, FS_ERR_FORMAT, "neither scales nor sizes is given");
    }
    if (strcmp(mode, "nearest") && strcmp(mode, "linear") && strcmp(mode, "l"))
        return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "mode '%s' is not supported", mode);
    int linear = mode[0] == 'l';
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    nn_tensor *xt = T(cx, x);
    int r = xt->ndim;
    if (r != 4 || (nsc && nsc != 4) || (nsz && nsz != 4))
        return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "only 4-D NCHW resizing is supported (rank %d)", r);
    if (nsc && (sc[0] != 1.0f || sc[1] != 1.0f))
        return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "resizing the batch or channel axis is not supported");
    if (nsz && (sizes[0] != xt->dims[0] || sizes[1] != xt->dims[1]))
        return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "resizing the batch or channel axis is not supported");
    for (int i = 0; i < nsc; i++)
        if (!(sc[i] > 0.0f) || !isfinite(sc[i])) return NODE_FAIL(cx, FS_ERR_FORMAT, "scale %g is not positive", sc[i]);
    int xn = to_nhwc(cx, x);
    if (xn < 0) return FS_ERR_NOMEM;
    int64_t yd[4];
    memcpy(yd, T(cx, xn)->dims, sizeof yd);
    float nsc_h = 0, nsc_w = 0;
    for (int i = 0; i < 2; i++) {
        int64_t in = T(cx, xn)->dims[1 + i];
        if (nsz) {
            yd[1 + i] = sizes[2 + i];
            if (sizes[2 + i] < 1) return NODE_FAIL(cx, FS_ERR_FORMAT, "output size %lld", (long long)sizes[2 + i]);
        } else {
            yd[1 + i] = in < 0 ? -1 : (int64_t)floor((double)in * sc[2 + i]);
        }
        float s = nsz ? (in > 0 ? (float)sizes[2 + i] / (float)in : 0) : sc[2 + i];
        if (i == 0) nsc_h = s; else nsc_w = s;
    }
    if (nsz && (nsc_h == 0 || nsc_w == 0))
        return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "output sizes with an unknown input size");
    char ob[200];
    fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int y = new_tensor(cx, ob, "nhwc", NN_F32, 4, yd);
    if (y < 0) return FS_ERR_NOMEM;
    int ni = emit(cx, NN_OP_RESIZE, 1, &xn, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    a->resize_mode = linear ? NN_RESIZE_LINEAR : NN_RESIZE_NEAREST;
    a->coord_mode = coord;
    a->nearest_mode = nearest;
    a->scales[0] = 1.0f; a->scales[1] = nsc_h; a->scales[2] = nsc_w; a->scales[3] = 1.0f;
    return from_nhwc(cx, y) < 0 ? FS_ERR_NOMEM : FS_OK;
}

/* one-input, one-output op with same shape */
static fs_status op_unary(ox_ctx *cx, nn_op_type op, int *node) {
    int x = need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    nn_tensor *t = T(cx, x);
    int y = out_t(cx, 0, t->dtype, t->ndim, t->dims);
    if (y < 0) return FS_ERR_NOMEM;
    int ni = emit(cx, op, 1, &x, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    *node = ni;
    return FS_OK;
}

static fs_status op_simple_unary(ox_ctx *cx, nn_op_type op) {
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    int ni;
    return op_unary(cx, op, &ni);
}

static fs_status op_clamp(ox_ctx *cx, float lo, float hi) {
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    int ni;
    if ((st = op_unary(cx, NN_OP_CLAMP, &ni))) return st;
    cx->g->nodes[ni].attr.act_min = lo;
    cx->g->nodes[ni].attr.act_max = hi;
    return FS_OK;
}

static fs_status op_clip(ox_ctx *cx) {
    float lo = -INFINITY, hi = INFINITY;
    if (cx->opset < 11) {
        lo = attr_f(cx, "min", -INFINITY);
        hi = attr_f(cx, "max", INFINITY);
    } else {
        for (int k = 1; k <= 2; k++) {
            int t = in_t(cx, k);
            if (t == -2) return FS_ERR_FORMAT;
            if (t < 0) continue;
            float v[1];
            if (nn_tensor_numel(T(cx, t)) != 1 || const_floats(cx, t, k == 1 ? "min" : "max", v, 1) != 1)
                return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "%s must be a float32 constant scalar", k == 1 ? "min" : "max");
            if (k == 1) lo = v[0]; else hi = v[0];
        }
    }
    return op_clamp(cx, lo, hi);
}

static fs_status op_alpha_unary(ox_ctx *cx, nn_op_type op, float def_alpha) {
    float alpha = attr_f(cx, "alpha", def_alpha);
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    int ni;
    if ((st = op_unary(cx, op, &ni))) return st;
    cx->g->nodes[ni].attr.alpha = alpha;
    return FS_OK;
}

/* opset < 7 binary ops: broadcast=0 needs equal shapes; broadcast=1 aligns B at 'axis' of A (default:
 * suffix, as numpy). Returns B (possibly unsqueezed with trailing unit dims), or -1 after fs_error. */
static int legacy_broadcast(ox_ctx *cx, int a, int b) {
    int64_t bc = attr_i(cx, "broadcast", 0);
    ox_attr *ax = find_attr(cx, "axis");
    int ra = T(cx, a)->ndim, rb = T(cx, b)->ndim;
    if (!bc) {
        int same = ra == rb;
        for (int i = 0; same && i < ra; i++)
            same = T(cx, a)->dims[i] < 0 || T(cx, b)->dims[i] < 0 || T(cx, a)->dims[i] == T(cx, b)->dims[i];
        if (!same) { NODE_FAIL(cx, FS_ERR_FORMAT, "broadcast=0 but the input shapes differ"); return -1; }
        return b;
    }
    if (rb > ra) { NODE_FAIL(cx, FS_ERR_FORMAT, "B has a higher rank than A"); return -1; }
    if (!ax) return b;
    int64_t axis = ax->i < 0 ? ax->i + ra : ax->i;
    if (axis < 0 || axis + rb > ra) { NODE_FAIL(cx, FS_ERR_FORMAT, "axis %lld does not fit B", (long long)ax->i); return -1; }
    int trail = ra - (int)axis - rb;
    if (!trail) return b;
    int64_t d[NN_MAX_DIMS];
    for (int i = 0; i < rb; i++) d[i] = T(cx, b)->dims[i];
    for (int i = 0; i < trail; i++) d[rb + i] = 1;
    char ob[200];
    fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int y = new_tensor(cx, ob, "bcast", T(cx, b)->dtype, rb + trail, d);
    int ni = y < 0 ? -1 : emit(cx, NN_OP_UNSQUEEZE, 1, &b, 1, &y);
    if (ni < 0) return -1;
    for (int i = 0; i < trail; i++) cx->g->nodes[ni].attr.axes[i] = rb + i;
    cx->g->nodes[ni].attr.n_axes = trail;
    return y;
}

static fs_status op_binary(ox_ctx *cx, nn_op_type op) {
    int a = need_in(cx, 0), b = need_in(cx, 1);
    if (a < 0 || b < 0) return FS_ERR_FORMAT;
    if (cx->opset < 7 && op != NN_OP_PRELU && (b = legacy_broadcast(cx, a, b)) < 0) return FS_ERR_UNSUPPORTED;
    if (cx->opset < 7 && op == NN_OP_PRELU && T(cx, b)->ndim == 1 && T(cx, a)->ndim > 2 &&
        T(cx, b)->dims[0] > 1 && T(cx, b)->dims[0] == T(cx, a)->dims[1]) {
        /* PRelu-6: a slope of C values is per channel (axis 1): [C] -> [C,1,...] */
        int r = T(cx, a)->ndim;
        int64_t d[NN_MAX_DIMS];
        d[0] = T(cx, b)->dims[0];
        for (int i = 1; i < r - 1; i++) d[i] = 1;
        char ob[200];
        fcopy(ob, sizeof ob, &cx->nd->out[0]);
        int y = new_tensor(cx, ob, "slope", T(cx, b)->dtype, r - 1, d);
        int ni = y < 0 ? -1 : emit(cx, NN_OP_UNSQUEEZE, 1, &b, 1, &y);
        if (ni < 0) return FS_ERR_NOMEM;
        for (int i = 0; i < r - 2; i++) cx->g->nodes[ni].attr.axes[i] = 1 + i;
        cx->g->nodes[ni].attr.n_axes = r - 2;
        b = y;
    }
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    if (cx->nd->n_in != 2) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "%d inputs (2 supported)", cx->nd->n_in);
    nn_tensor *ta = T(cx, a), *tb = T(cx, b);
    if (ta->dtype != tb->dtype && op != NN_OP_PRELU && op != NN_OP_POW)
        return NODE_FAIL(cx, FS_ERR_FORMAT, "input dtypes differ");
    int nd;
    int64_t d[NN_MAX_DIMS];
    if (ld_broadcast(ta->ndim, ta->dims, tb->ndim, tb->dims, &nd, d))
        return NODE_FAIL(cx, FS_ERR_FORMAT, "input shapes do not broadcast");
    int y = out_t(cx, 0, ta->dtype, nd, d);
    int in[2] = {a, b};
    if (y < 0 || emit(cx, op, 2, in, 1, &y) < 0) return FS_ERR_NOMEM;
    return FS_OK;
}

static fs_status op_transpose(ox_ctx *cx) {
    int x = need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    int64_t p[NN_MAX_DIMS];
    int n = attr_ints(cx, "perm", p, NN_MAX_DIMS);
    if (n < 0) return FS_ERR_UNSUPPORTED;
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    nn_tensor *t = T(cx, x);
    int r = t->ndim;
    if (!n) { n = r; for (int i = 0; i < r; i++) p[i] = r - 1 - i; }
    if (n != r) return NODE_FAIL(cx, FS_ERR_FORMAT, "perm has %d values for rank %d", n, r);
    int seen = 0;
    int64_t d[NN_MAX_DIMS];
    for (int i = 0; i < r; i++) {
        if (p[i] < 0 || p[i] >= r || (seen >> p[i] & 1)) return NODE_FAIL(cx, FS_ERR_FORMAT, "perm is not a permutation");
        seen |= 1 << p[i];
        d[i] = t->dims[p[i]];
    }
    int y = out_t(cx, 0, t->dtype, r, d);
    if (y < 0) return FS_ERR_NOMEM;
    int ni = emit(cx, NN_OP_TRANSPOSE, 1, &x, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    for (int i = 0; i < r; i++) cx->g->nodes[ni].attr.perm[i] = (int)p[i];
    return FS_OK;
}

/* ONNX Reshape target -> output dims when the input dims are known (else -1s) */
static void reshape_dims(const nn_tensor *x, const int64_t *s, int n, int allowzero, int64_t *d) {
    int64_t known = 1, in = nn_tensor_numel(x);
    int neg = -1;
    for (int i = 0; i < n; i++) {
        d[i] = s[i];
        if (s[i] == 0 && !allowzero) d[i] = i < x->ndim ? x->dims[i] : -1;
        if (s[i] == -1) neg = i;
        else if (d[i] >= 0 && known >= 0) known *= d[i];
        else known = -1;
    }
    if (neg >= 0) d[neg] = (in >= 0 && known > 0 && in % known == 0) ? in / known : -1;
}

static fs_status op_reshape(ox_ctx *cx) {
    int x = need_in(cx, 0), s = need_in(cx, 1);
    if (x < 0 || s < 0) return FS_ERR_FORMAT;
    int allowzero = (int)attr_i(cx, "allowzero", 0);
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    nn_tensor *st_ = T(cx, s);
    if (st_->ndim != 1 || st_->dims[0] < 0 || st_->dims[0] > NN_MAX_DIMS)
        return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "shape input must be 1-D with at most %d values", NN_MAX_DIMS);
    int n = (int)st_->dims[0];
    int64_t d[NN_MAX_DIMS];
    for (int i = 0; i < n; i++) d[i] = -1;
    if (st_->is_const) {
        int64_t sv[NN_MAX_DIMS];
        if (const_ints(cx, s, "shape", sv, NN_MAX_DIMS) != n) return FS_ERR_UNSUPPORTED;
        int nneg = 0;
        for (int i = 0; i < n; i++) {
            if (sv[i] < -1) return NODE_FAIL(cx, FS_ERR_FORMAT, "shape value %lld", (long long)sv[i]);
            nneg += sv[i] == -1;
        }
        if (nneg > 1) return NODE_FAIL(cx, FS_ERR_FORMAT, "shape has more than one -1");
        reshape_dims(T(cx, x), sv, n, allowzero, d);
    }
    nn_tensor *xt = T(cx, x);
    int y = out_t(cx, 0, xt->dtype, n, d);
    int in[2] = {x, s};
    int ni = y < 0 ? -1 : emit(cx, NN_OP_RESHAPE, 2, in, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    cx->g->nodes[ni].attr.allowzero = allowzero;
    return FS_OK;
}

static int norm_axis(int64_t a, int r) { return (int)(a < 0 ? a + r : a); }

static fs_status op_flatten(ox_ctx *cx) {
    int x = need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    int64_t axis = attr_i(cx, "axis", 1);
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    nn_tensor *t = T(cx, x);
    int r = t->ndim;
    if (axis < -r || axis > r) return NODE_FAIL(cx, FS_ERR_FORMAT, "axis %lld out of range for rank %d", (long long)axis, r);
    int ax = norm_axis(axis, r);
    int64_t d[2] = {1, 1};
    for (int i = 0; i < r; i++) {
        int64_t *p = i < ax ? &d[0] : &d[1];
        *p = (*p < 0 || t->dims[i] < 0) ? -1 : *p * t->dims[i];
    }
    int y = out_t(cx, 0, t->dtype, 2, d);
    int ni = y < 0 ? -1 : emit(cx, NN_OP_FLATTEN, 1, &x, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    cx->g->nodes[ni].attr.axis = ax;
    return FS_OK;
}

static fs_status op_concat(ox_ctx *cx) {
    int64_t axis = attr_i(cx, "axis", cx->opset < 4 ? 1 : 0); /* Concat-1: default axis 1 */
    if (!find_attr(cx, "axis") && cx->opset >= 4) return NODE_FAIL(cx, FS_ERR_FORMAT, "attribute 'axis' is missing");
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    int n = cx->nd->n_in;
    if (n < 1 || n > NN_MAX_IO) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "%d inputs (1..%d supported)", n, NN_MAX_IO);
    int in[NN_MAX_IO];
    for (int i = 0; i < n; i++)
        if ((in[i] = need_in(cx, i)) < 0) return FS_ERR_FORMAT;
    nn_tensor *t0 = T(cx, in[0]);
    int r = t0->ndim;
    if (axis < -r || axis >= r) return NODE_FAIL(cx, FS_ERR_FORMAT, "axis %lld out of range for rank %d", (long long)axis, r);
    int ax = norm_axis(axis, r);
    int64_t d[NN_MAX_DIMS];
    memcpy(d, t0->dims, sizeof d);
    for (int i = 1; i < n; i++) {
        nn_tensor *ti = T(cx, in[i]);
        if (ti->ndim != r || ti->dtype != t0->dtype) return NODE_FAIL(cx, FS_ERR_FORMAT, "inputs differ in rank or dtype");
        d[ax] = (d[ax] < 0 || ti->dims[ax] < 0) ? -1 : d[ax] + ti->dims[ax];
    }
    int y = out_t(cx, 0, t0->dtype, r, d);
    int ni = y < 0 ? -1 : emit(cx, NN_OP_CONCAT, n, in, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    cx->g->nodes[ni].attr.axis = ax;
    return FS_OK;
}

static fs_status op_softmax(ox_ctx *cx, nn_op_type op) {
    int x = need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    int old = cx->opset < 13;
    int64_t axis = attr_i(cx, "axis", old ? 1 : -1);
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    int r = T(cx, x)->ndim;
    if (axis < -r || axis >= r) return NODE_FAIL(cx, FS_ERR_FORMAT, "axis %lld out of range for rank %d", (long long)axis, r);
    int ni;
    if ((st = op_unary(cx, op, &ni))) return st;
    cx->g->nodes[ni].attr.axis = norm_axis(axis, r);
    cx->g->nodes[ni].attr.softmax_coerce = old && norm_axis(axis, r) != r - 1;
    return FS_OK;
}

/* y = x W^T + b as FULLY_CONNECTED; wt: [N][K] float data already in the right layout */
static fs_status emit_fc(ox_ctx *cx, int x, const float *w, int64_t N, int64_t K, const float *bias, int keepdims) {
    char ob[200];
    fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int64_t wd[2] = {N, K};
    int wt = new_tensor(cx, ob, "w", NN_F32, 2, wd);
    if (wt < 0) return FS_ERR_NOMEM;
    float *dst = nn_graph_alloc_const(cx->g, wt);
    if (!dst) return FS_ERR_NOMEM;
    memcpy(dst, w, sizeof(float) * (size_t)(N * K));
    int bt = -1;
    if (bias) {
        bt = new_tensor(cx, ob, "b", NN_F32, 1, &N);
        float *bd = bt < 0 ? NULL : nn_graph_alloc_const(cx->g, bt);
        if (!bd) return FS_ERR_NOMEM;
        memcpy(bd, bias, sizeof(float) * (size_t)N);
    }
    nn_tensor *xt = T(cx, x);
    int64_t d[NN_MAX_DIMS];
    memcpy(d, xt->dims, sizeof d);
    d[xt->ndim - 1] = N;
    int y = out_t(cx, 0, NN_F32, xt->ndim, d);
    int in[3] = {x, wt, bt};
    int ni = y < 0 ? -1 : emit(cx, NN_OP_FULLY_CONNECTED, bias ? 3 : 2, in, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    cx->g->nodes[ni].attr.keepdims = keepdims;
    return FS_OK;
}

/* Gemm with a computed B or transA: [TRANSPOSE] -> MATMUL -> [MUL alpha] -> [ADD beta*C] */
static int transposed_2d(ox_ctx *cx, int t, const char *tag) {
    if (T(cx, t)->ndim != 2) { NODE_FAIL(cx, FS_ERR_FORMAT, "Gemm operands must be 2-D"); return -1; }
    char ob[200];
    fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int64_t d[2] = {T(cx, t)->dims[1], T(cx, t)->dims[0]};
    int y = new_tensor(cx, ob, tag, T(cx, t)->dtype, 2, d);
    int ni = y < 0 ? -1 : emit(cx, NN_OP_TRANSPOSE, 1, &t, 1, &y);
    if (ni < 0) return -1;
    cx->g->nodes[ni].attr.perm[0] = 1;
    cx->g->nodes[ni].attr.perm[1] = 0;
    return y;
}

static int scalar_const(ox_ctx *cx, const char *ob, const char *tag, float v) {
    int64_t one = 1;
    int c = new_tensor(cx, ob, tag, NN_F32, 1, &one);
    float *p = c < 0 ? NULL : nn_graph_alloc_const(cx->g, c);
    if (!p) return -1;
    *p = v;
    return c;
}

static fs_status gemm_general(ox_ctx *cx, int a, int b, int c, float alpha, float beta, int ta, int tb) {
    if (T(cx, a)->ndim != 2 || T(cx, b)->ndim != 2) return NODE_FAIL(cx, FS_ERR_FORMAT, "Gemm operands must be 2-D");
    if (ta && (a = transposed_2d(cx, a, "At")) < 0) return FS_ERR_NOMEM;
    if (tb && (b = transposed_2d(cx, b, "Bt")) < 0) return FS_ERR_NOMEM;
    char ob[200];
    fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int64_t d[2] = {T(cx, a)->dims[0], T(cx, b)->dims[1]};
    int last = alpha == 1.0f && c < 0;
    int y = last ? out_t(cx, 0, NN_F32, 2, d) : new_tensor(cx, ob, "ab", NN_F32, 2, d);
    int in[2] = {a, b};
    if (y < 0 || emit(cx, NN_OP_MATMUL, 2, in, 1, &y) < 0) return FS_ERR_NOMEM;
    if (alpha != 1.0f) {
        int k = scalar_const(cx, ob, "alpha", alpha);
        int y2 = c < 0 ? out_t(cx, 0, NN_F32, 2, d) : new_tensor(cx, ob, "alpha_ab", NN_F32, 2, d);
        int in2[2] = {y, k};
        if (k < 0 || y2 < 0 || emit(cx, NN_OP_MUL, 2, in2, 1, &y2) < 0) return FS_ERR_NOMEM;
        y = y2;
    }
    if (c >= 0) {
        if (beta != 1.0f) {
            int k = scalar_const(cx, ob, "beta", beta);
            int c2 = new_tensor(cx, ob, "beta_c", NN_F32, T(cx, c)->ndim, T(cx, c)->dims);
            int in3[2] = {c, k};
            if (k < 0 || c2 < 0 || emit(cx, NN_OP_MUL, 2, in3, 1, &c2) < 0) return FS_ERR_NOMEM;
            c = c2;
        }
        int y3 = out_t(cx, 0, NN_F32, 2, d);
        int in4[2] = {y, c};
        if (y3 < 0 || emit(cx, NN_OP_ADD, 2, in4, 1, &y3) < 0) return FS_ERR_NOMEM;
    }
    return FS_OK;
}

static fs_status op_gemm(ox_ctx *cx) {
    int a = need_in(cx, 0), b = need_in(cx, 1), c = in_t(cx, 2);
    if (a < 0 || b < 0 || c == -2) return FS_ERR_FORMAT;
    float alpha = attr_f(cx, "alpha", 1.0f), beta = attr_f(cx, "beta", 1.0f);
    int64_t ta = attr_i(cx, "transA", 0), tb = attr_i(cx, "transB", 0);
    if (cx->opset < 7) find_attr(cx, "broadcast");
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    if (ta || !T(cx, b)->is_const) return gemm_general(cx, a, b, c, alpha, beta, (int)ta, (int)tb);
    const float *bd = const_data(cx, b, "Gemm B");
    if (!bd) return FS_ERR_UNSUPPORTED;
    nn_tensor *bt = T(cx, b);
    if (bt->ndim != 2 || bt->dtype != NN_F32) return NODE_FAIL(cx, FS_ERR_FORMAT, "B must be a 2-D float tensor");
    int64_t K = tb ? bt->dims[1] : bt->dims[0], N = tb ? bt->dims[0] : bt->dims[1];
    if (T(cx, a)->dims[1] >= 0 && T(cx, a)->dims[1] != K) return NODE_FAIL(cx, FS_ERR_FORMAT, "A and B do not match");
    float *w = malloc(sizeof(float) * (size_t)(N * K + N));
    if (!w) return fs_error(FS_ERR_NOMEM, "ONNX: out of memory");
    float *bias = w + N * K;
    for (int64_t n = 0; n < N; n++)
        for (int64_t k = 0; k < K; k++) w[n * K + k] = alpha * (tb ? bd[n * K + k] : bd[k * N + n]);
    int has_bias = 0;
    if (c >= 0) {
        nn_tensor *ct = T(cx, c);
        const float *cd = const_data(cx, c, "Gemm C");
        int64_t cn = nn_tensor_numel(ct);
        int ok = cd && ct->dtype == NN_F32 && (cn == 1 || (cn == N && ct->dims[ct->ndim - 1] == N));
        if (!ok) {
            free(w);
            return cd ? NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "C must broadcast along rows (shape [N], [1,N] or scalar)")
                      : FS_ERR_UNSUPPORTED;
        }
        for (int64_t n = 0; n < N; n++) bias[n] = beta * cd[cn == 1 ? 0 : n];
        has_bias = 1;
    }
    st = emit_fc(cx, a, w, N, K, has_bias ? bias : NULL, 1);
    free(w);
    return st;
}

static fs_status op_matmul(ox_ctx *cx) {
    int a = need_in(cx, 0), b = need_in(cx, 1);
    if (a < 0 || b < 0) return FS_ERR_FORMAT;
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    nn_tensor *at = T(cx, a), *bt = T(cx, b);
    if (bt->is_const && bt->ndim == 2 && bt->dtype == NN_F32 && at->ndim >= 2) {
        int64_t K = bt->dims[0], N = bt->dims[1];
        if (at->dims[at->ndim - 1] >= 0 && at->dims[at->ndim - 1] != K)
            return NODE_FAIL(cx, FS_ERR_FORMAT, "inner dims differ (%lld vs %lld)", (long long)at->dims[at->ndim - 1], (long long)K);
        float *w = malloc(sizeof(float) * (size_t)(N * K) + 1);
        if (!w) return fs_error(FS_ERR_NOMEM, "ONNX: out of memory");
        const float *bd = bt->data;
        for (int64_t n = 0; n < N; n++)
            for (int64_t k = 0; k < K; k++) w[n * K + k] = bd[k * N + n];
        st = emit_fc(cx, a, w, N, K, NULL, 1);
        free(w);
        return st;
    }
    if (at->ndim < 2 || bt->ndim < 2) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "1-D MatMul operands are not supported");
    int nd;
    int64_t d[NN_MAX_DIMS];
    if (ld_broadcast(at->ndim - 2, at->dims, bt->ndim - 2, bt->dims, &nd, d))
        return NODE_FAIL(cx, FS_ERR_FORMAT, "batch dims do not broadcast");
    d[nd] = at->dims[at->ndim - 2];
    d[nd + 1] = bt->dims[bt->ndim - 1];
    int y = out_t(cx, 0, NN_F32, nd + 2, d);
    int in[2] = {a, b};
    if (y < 0 || emit(cx, NN_OP_MATMUL, 2, in, 1, &y) < 0) return FS_ERR_NOMEM;
    return FS_OK;
}

/* the Conv node whose NHWC output feeds the transpose producing tensor t (only use), or -1 */
static int conv_feeding(ox_ctx *cx, int t, int *tr_node) {
    nn_graph *g = cx->g;
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        nn_node *n = &g->nodes[i];
        if (n->out[0] != t) continue;
        if (n->type != NN_OP_TRANSPOSE || i == 0) return -1;
        int y = n->in[0];
        nn_node *c = &g->nodes[i - 1];
        if (c->type != NN_OP_CONV2D || c->out[0] != y) return -1;
        *tr_node = i;
        return i - 1;
    }
    return -1;
}

static fs_status op_batchnorm(ox_ctx *cx, const ld_names *uses) {
    int x = need_in(cx, 0), ts = need_in(cx, 1), tb = need_in(cx, 2), tm = need_in(cx, 3), tv = need_in(cx, 4);
    if (x < 0 || ts < 0 || tb < 0 || tm < 0 || tv < 0) return FS_ERR_FORMAT;
    float eps = attr_f(cx, "epsilon", 1e-5f);
    attr_f(cx, "momentum", 0.9f); /* training only */
    if (attr_i(cx, "training_mode", 0)) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "training_mode 1 is not supported");
    if (cx->opset < 9 && attr_i(cx, "spatial", 1) != 1) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "spatial 0 is not supported");
    if (cx->opset < 7 && attr_i(cx, "is_test", 0) != 1)
        return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "is_test 0 (training mode) is not supported");
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    for (int k = 1; k < cx->nd->n_out; k++)
        if (cx->nd->out[k].len) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "training outputs (mean/var) are not supported");
    nn_tensor *xt = T(cx, x);
    int64_t C = T(cx, ts)->ndim == 1 ? T(cx, ts)->dims[0] : -1;
    const float *s = const_data(cx, ts, "scale"), *b = const_data(cx, tb, "B"), *m = const_data(cx, tm, "mean"),
                *v = const_data(cx, tv, "var");
    if (!s || !b || !m || !v) return FS_ERR_UNSUPPORTED;
    if (C < 1 || xt->ndim < 2 || (xt->dims[1] >= 0 && xt->dims[1] != C))
        return NODE_FAIL(cx, FS_ERR_FORMAT, "scale has %lld values for %lld channels", (long long)C, (long long)xt->dims[1]);
    int tids[4] = {ts, tb, tm, tv};
    for (int k = 0; k < 4; k++)
        if (nn_tensor_numel(T(cx, tids[k])) != C || T(cx, tids[k])->dtype != NN_F32)
            return NODE_FAIL(cx, FS_ERR_FORMAT, "parameter %d is not float32[%lld]", k + 1, (long long)C);
    /* y = x * k + (b - m * k), k = s / sqrt(v + eps) */
    float *kk = malloc(sizeof(float) * 2 * (size_t)C);
    if (!kk) return fs_error(FS_ERR_NOMEM, "ONNX: out of memory");
    float *sh = kk + C;
    for (int64_t c = 0; c < C; c++) {
        kk[c] = (float)(s[c] / sqrt((double)v[c] + (double)eps));
        sh[c] = b[c] - m[c] * kk[c];
    }
    int trn, cv = conv_feeding(cx, x, &trn);
    int nuse = ld_names_get(uses, (const char *)cx->nd->in[0].data, cx->nd->in[0].len);
    if (cv >= 0 && nuse == 1) {
        /* fold into the conv: w[o] *= k[o]; bias = bias * k + shift */
        nn_node *cn = &cx->g->nodes[cv];
        int w = cn->in[1], bi = cn->n_in > 2 ? cn->in[2] : -1;
        int64_t O = T(cx, w)->dims[0], per = nn_tensor_numel(T(cx, w)) / (O > 0 ? O : 1);
        if (O == C) {
            float *wd = T(cx, w)->data;
            for (int64_t o = 0; o < O; o++)
                for (int64_t i = 0; i < per; i++) wd[o * per + i] *= kk[o];
            /* a new bias tensor: the file's bias may be shared with other nodes */
            char nm[200];
            snprintf(nm, sizeof nm, "%s", T(cx, w)->name);
            int nb = new_tensor(cx, nm, "bnbias", NN_F32, 1, &O);
            float *nbd = nb < 0 ? NULL : nn_graph_alloc_const(cx->g, nb);
            if (!nbd) { free(kk); return FS_ERR_NOMEM; }
            if (bi >= 0) memcpy(nbd, T(cx, bi)->data, sizeof(float) * (size_t)O);
            bi = nb;
            cn = &cx->g->nodes[cv];
            cn->in[2] = bi;
            cn->n_in = 3;
            float *bd = T(cx, bi)->data;
            for (int64_t o = 0; o < O; o++) bd[o] = bd[o] * kk[o] + sh[o];
            free(kk);
            return alias_out(cx, 0, x);
        }
    }
    /* general case: Mul + Add with [C,1,...] constants */
    int64_t cd[NN_MAX_DIMS];
    int r = xt->ndim - 1;
    cd[0] = C;
    for (int i = 1; i < r; i++) cd[i] = 1;
    char ob[200];
    fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int kt = new_tensor(cx, ob, "bn_scale", NN_F32, r, cd), bt2 = new_tensor(cx, ob, "bn_shift", NN_F32, r, cd);
    float *kd = kt < 0 ? NULL : nn_graph_alloc_const(cx->g, kt);
    float *bd = bt2 < 0 ? NULL : nn_graph_alloc_const(cx->g, bt2);
    if (!kd || !bd) { free(kk); return FS_ERR_NOMEM; }
    memcpy(kd, kk, sizeof(float) * (size_t)C);
    memcpy(bd, sh, sizeof(float) * (size_t)C);
    free(kk);
    xt = T(cx, x); /* new_tensor may have moved the tensor table */
    int mid = new_tensor(cx, ob, "bn_mul", NN_F32, xt->ndim, xt->dims);
    int in1[2] = {x, kt};
    if (mid < 0 || emit(cx, NN_OP_MUL, 2, in1, 1, &mid) < 0) return FS_ERR_NOMEM;
    int y = out_t(cx, 0, NN_F32, T(cx, x)->ndim, T(cx, x)->dims);
    int in2[2] = {mid, bt2};
    if (y < 0 || emit(cx, NN_OP_ADD, 2, in2, 1, &y) < 0) return FS_ERR_NOMEM;
    return FS_OK;
}

static fs_status op_shape(ox_ctx *cx) {
    int x = need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    ox_attr *as = find_attr(cx, "start"), *ae = find_attr(cx, "end");
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    int64_t r = T(cx, x)->ndim;
    if (!as && !ae) {
        int y = out_t(cx, 0, NN_I64, 1, &r);
        if (y < 0 || emit(cx, NN_OP_SHAPE, 1, &x, 1, &y) < 0) return FS_ERR_NOMEM;
        return FS_OK;
    }
    /* Shape(start, end) = Slice(Shape(x), start, end) */
    char ob[200];
    fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int s0 = new_tensor(cx, ob, "full", NN_I64, 1, &r);
    if (s0 < 0 || emit(cx, NN_OP_SHAPE, 1, &x, 1, &s0) < 0) return FS_ERR_NOMEM;
    int64_t b = as ? as->i : 0, e = ae ? ae->i : r;
    if (b < 0) b += r;
    if (e < 0) e += r;
    b = b < 0 ? 0 : b > r ? r : b;
    e = e < 0 ? 0 : e > r ? r : e;
    int64_t len = e > b ? e - b : 0;
    int y = out_t(cx, 0, NN_I64, 1, &len);
    int ni = y < 0 ? -1 : emit(cx, NN_OP_SLICE, 1, &s0, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    a->n_axes = 1;
    a->axes[0] = 0;
    a->starts[0] = b;
    a->ends[0] = e;
    a->steps[0] = 1;
    return FS_OK;
}

static fs_status op_gather(ox_ctx *cx) {
    int x = need_in(cx, 0), idx = need_in(cx, 1);
    if (x < 0 || idx < 0) return FS_ERR_FORMAT;
    int64_t axis = attr_i(cx, "axis", 0);
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    nn_tensor *xt = T(cx, x), *it = T(cx, idx);
    int r = xt->ndim;
    if (axis < -r || axis >= r) return NODE_FAIL(cx, FS_ERR_FORMAT, "axis %lld out of range for rank %d", (long long)axis, r);
    if (it->dtype != NN_I64 && it->dtype != NN_I32) return NODE_FAIL(cx, FS_ERR_FORMAT, "indices must be int64/int32");
    int ax = norm_axis(axis, r), nd = r - 1 + it->ndim;
    if (nd > NN_MAX_DIMS) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "output rank %d", nd);
    int64_t d[NN_MAX_DIMS];
    int k = 0;
    for (int i = 0; i < ax; i++) d[k++] = xt->dims[i];
    for (int i = 0; i < it->ndim; i++) d[k++] = it->dims[i];
    for (int i = ax + 1; i < r; i++) d[k++] = xt->dims[i];
    int y = out_t(cx, 0, xt->dtype, nd, d);
    int in[2] = {x, idx};
    int ni = y < 0 ? -1 : emit(cx, NN_OP_GATHER, 2, in, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    cx->g->nodes[ni].attr.axis = ax;
    return FS_OK;
}

/* Squeeze / Unsqueeze: axes from the attribute (opset < 13) or a const input */
static fs_status op_squeeze(ox_ctx *cx, int unsq) {
    int x = need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    int64_t ax[NN_MAX_DIMS];
    int n;
    if (cx->opset < 13) {
        n = attr_ints(cx, "axes", ax, NN_MAX_DIMS);
        if (n < 0) return FS_ERR_UNSUPPORTED;
    } else {
        int t = in_t(cx, 1);
        if (t == -2) return FS_ERR_FORMAT;
        n = t < 0 ? 0 : const_ints(cx, t, "axes", ax, NN_MAX_DIMS);
        if (n < 0) return FS_ERR_UNSUPPORTED;
    }
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    nn_tensor *xt = T(cx, x);
    int r = xt->ndim, ro = unsq ? r + n : r - n;
    if (unsq && !n) return NODE_FAIL(cx, FS_ERR_FORMAT, "axes is missing");
    if (ro < 0 || ro > NN_MAX_DIMS) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "output rank %d", ro);
    int flag[NN_MAX_DIMS] = {0};
    int64_t d[NN_MAX_DIMS];
    int range = unsq ? ro : r;
    for (int i = 0; i < n; i++) {
        if (ax[i] < -range || ax[i] >= range) return NODE_FAIL(cx, FS_ERR_FORMAT, "axis %lld out of range", (long long)ax[i]);
        int a = norm_axis(ax[i], range);
        if (flag[a]) return NODE_FAIL(cx, FS_ERR_FORMAT, "axis %d repeated", a);
        flag[a] = 1;
        ax[i] = a;
    }
    if (!unsq && !n) { /* every dim of size 1: needs known dims */
        ro = 0;
        for (int i = 0; i < r; i++) {
            if (xt->dims[i] < 0) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "squeezing all unit dims of an unknown shape");
            if (xt->dims[i] != 1) d[ro++] = xt->dims[i];
        }
    } else if (unsq) {
        for (int i = 0, k = 0; i < ro; i++) d[i] = flag[i] ? 1 : xt->dims[k++];
    } else {
        ro = 0;
        for (int i = 0; i < r; i++) {
            if (flag[i] && xt->dims[i] >= 0 && xt->dims[i] != 1)
                return NODE_FAIL(cx, FS_ERR_FORMAT, "cannot squeeze dim %d of size %lld", i, (long long)xt->dims[i]);
            if (!flag[i]) d[ro++] = xt->dims[i];
        }
    }
    int y = out_t(cx, 0, xt->dtype, ro, d);
    int ni = y < 0 ? -1 : emit(cx, unsq ? NN_OP_UNSQUEEZE : NN_OP_SQUEEZE, 1, &x, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    if (!unsq && !n) { /* resolved: list the squeezed axes */
        xt = T(cx, x);
        for (int i = 0; i < r; i++)
            if (xt->dims[i] == 1) a->axes[a->n_axes++] = i;
    } else {
        for (int i = 0; i < n; i++) a->axes[i] = (int)ax[i];
        a->n_axes = n;
    }
    return FS_OK;
}

static fs_status op_constant(ox_ctx *cx) {
    ox_node *nd = (ox_node *)cx->nd;
    if (nd->n_at != 1) return NODE_FAIL(cx, FS_ERR_FORMAT, "expects exactly one value attribute");
    ox_attr *a = &nd->at[0];
    a->used = 1;
    char an[32];
    fcopy(an, sizeof an, &a->name);
    int64_t dims[1];
    int y;
    if (!strcmp(an, "value")) {
        pb_reader sub;
        pb_reader top = cx->root;
        if (pb_sub(&top, &a->t, &sub)) return FS_ERR_FORMAT;
        sub.depth = 8; /* value tensors sit a few levels down */
        tp_tensor tp;
        fs_status st = tp_parse(&sub, &tp);
        if (st) return st;
        int dt = tp_nn_dtype(tp.data_type);
        if (dt < 0) return FS_ERR_UNSUPPORTED;
        y = out_t(cx, 0, (nn_dtype)dt, tp.ndim, tp.dims);
        if (y < 0) return FS_ERR_NOMEM;
        void *p = nn_graph_alloc_const(cx->g, y);
        if (!p) return FS_ERR_NOMEM;
        return tp_read(&tp, p, T(cx, y)->nbytes);
    } else if (!strcmp(an, "value_float") || !strcmp(an, "value_int")) {
        y = out_t(cx, 0, an[6] == 'f' ? NN_F32 : NN_I64, 0, NULL);
        void *p = y < 0 ? NULL : nn_graph_alloc_const(cx->g, y);
        if (!p) return FS_ERR_NOMEM;
        if (an[6] == 'f') *(float *)p = a->f;
        else *(int64_t *)p = a->i;
    } else if (!strcmp(an, "value_floats") || !strcmp(an, "value_ints")) {
        if (a->overflow) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "more than %d values", OX_MAX_LIST);
        int isf = an[6] == 'f';
        dims[0] = isf ? a->n_floats : a->n_ints;
        y = out_t(cx, 0, isf ? NN_F32 : NN_I64, 1, dims);
        void *p = y < 0 ? NULL : nn_graph_alloc_const(cx->g, y);
        if (!p) return FS_ERR_NOMEM;
        if (isf) memcpy(p, a->floats, sizeof(float) * (size_t)a->n_floats);
        else memcpy(p, a->ints, sizeof(int64_t) * (size_t)a->n_ints);
    } else {
        return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "attribute '%s' is not supported", an);
    }
    return FS_OK;
}

static fs_status op_identity(ox_ctx *cx, int dropout) {
    int x = need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    if (dropout) {
        find_attr(cx, "ratio");
        if (cx->opset < 7 && attr_i(cx, "is_test", 0) != 1)
            return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "is_test 0 (training mode) is not supported");
        if (find_attr(cx, "seed")) { /* irrelevant for inference */ }
        int tm = in_t(cx, 2);
        if (tm == -2) return FS_ERR_FORMAT;
        if (tm >= 0) {
            const uint8_t *p = const_data(cx, tm, "training_mode");
            if (!p) return FS_ERR_UNSUPPORTED;
            if (*p) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "training_mode true is not supported");
        }
        if (cx->nd->n_out > 1 && cx->nd->out[1].len) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "the mask output is not supported");
    }
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    return alias_out(cx, 0, x);
}

static fs_status op_cast(ox_ctx *cx) {
    int64_t to = attr_i(cx, "to", -1);
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    int dt = tp_nn_dtype((int)to);
    if (dt < 0) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "cast to %s", tp_dtype_name((int)to));
    int x = need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    if (to == TP_DOUBLE || to == TP_FLOAT16 || to == TP_INT16 || to == TP_UINT16)
        return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "cast to %s", tp_dtype_name((int)to));
    int y = out_t(cx, 0, (nn_dtype)dt, T(cx, x)->ndim, T(cx, x)->dims);
    int ni = y < 0 ? -1 : emit(cx, NN_OP_CAST, 1, &x, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    cx->g->nodes[ni].attr.to = (nn_dtype)dt;
    return FS_OK;
}

static fs_status op_reduce(ox_ctx *cx, nn_op_type op) {
    int x = need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    int64_t ax[NN_MAX_DIMS];
    int n = attr_ints(cx, "axes", ax, NN_MAX_DIMS);
    if (n < 0) return FS_ERR_UNSUPPORTED;
    int keep = (int)attr_i(cx, "keepdims", 1);
    int noop = (int)attr_i(cx, "noop_with_empty_axes", 0);
    int t = in_t(cx, 1);
    if (t == -2) return FS_ERR_FORMAT;
    if (t >= 0 && (n = const_ints(cx, t, "axes", ax, NN_MAX_DIMS)) < 0) return FS_ERR_UNSUPPORTED;
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    nn_tensor *xt = T(cx, x);
    int r = xt->ndim, flag[NN_MAX_DIMS] = {0};
    for (int i = 0; i < n; i++) {
        if (ax[i] < -r || ax[i] >= r) return NODE_FAIL(cx, FS_ERR_FORMAT, "axis %lld out of range", (long long)ax[i]);
        ax[i] = norm_axis(ax[i], r);
        flag[ax[i]] = 1;
    }
    int64_t d[NN_MAX_DIMS];
    int ro = 0;
    for (int i = 0; i < r; i++) {
        int red = n ? flag[i] : !noop;
        if (!red) d[ro++] = xt->dims[i];
        else if (keep) d[ro++] = 1;
    }
    int y = out_t(cx, 0, xt->dtype, ro, d);
    int ni = y < 0 ? -1 : emit(cx, op, 1, &x, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    for (int i = 0; i < n; i++) a->axes[i] = (int)ax[i];
    a->n_axes = n;
    a->keepdims = keep;
    a->noop_with_empty_axes = noop;
    return FS_OK;
}

/* Pad: opset >= 11 pads / constant_value inputs (const), else attributes */
static fs_status op_pad(ox_ctx *cx) {
    int x = need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    char mode[16];
    attr_s(cx, "mode", "constant", mode, sizeof mode);
    nn_pad_mode pm;
    if (!strcmp(mode, "constant")) pm = NN_PAD_CONSTANT;
    else if (!strcmp(mode, "reflect")) pm = NN_PAD_REFLECT;
    else if (!strcmp(mode, "edge")) pm = NN_PAD_EDGE;
    else return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "mode '%s' is not supported", mode);
    int r = T(cx, x)->ndim;
    int64_t pads[2 * NN_MAX_DIMS];
    float value = 0.0f;
    int n;
    if (cx->opset < 11) {
        n = attr_ints(cx, cx->opset < 2 ? "paddings" : "pads", pads, 2 * NN_MAX_DIMS);
        if (n < 0) return FS_ERR_UNSUPPORTED;
        value = attr_f(cx, "value", 0.0f);
    } else {
        int tp = need_in(cx, 1), tv = in_t(cx, 2);
        if (tp < 0 || tv == -2) return FS_ERR_FORMAT;
        n = const_ints(cx, tp, "pads", pads, 2 * NN_MAX_DIMS);
        if (n < 0) return FS_ERR_UNSUPPORTED;
        if (tv >= 0) {
            float v[1];
            if (nn_tensor_numel(T(cx, tv)) > 1 || (nn_tensor_numel(T(cx, tv)) == 1 && const_floats(cx, tv, "constant_value", v, 1) != 1))
                return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "constant_value must be a float32 constant scalar");
            if (nn_tensor_numel(T(cx, tv)) == 1) value = v[0];
        }
        if (cx->nd->n_in > 3 && cx->nd->in[3].len) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "the axes input is not supported");
    }
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    if (n != 2 * r) return NODE_FAIL(cx, FS_ERR_FORMAT, "pads has %d values for rank %d", n, r);
    int64_t d[NN_MAX_DIMS];
    for (int i = 0; i < r; i++) {
        if (pads[i] < 0 || pads[r + i] < 0) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "negative pads are not supported");
        if (pads[i] > (1 << 30) || pads[r + i] > (1 << 30)) return NODE_FAIL(cx, FS_ERR_LIMIT, "absurd pads");
        int64_t xd = T(cx, x)->dims[i];
        d[i] = xd < 0 ? -1 : xd + pads[i] + pads[r + i];
    }
    int y = out_t(cx, 0, T(cx, x)->dtype, r, d);
    int ni = y < 0 ? -1 : emit(cx, NN_OP_PAD, 1, &x, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    memcpy(a->pads, pads, sizeof(int64_t) * 2 * (size_t)r);
    a->pad_mode = pm;
    a->pad_value = value;
    return FS_OK;
}

/* Slice: opset >= 10 const inputs (starts, ends, [axes], [steps]), else attributes */
static fs_status op_slice(ox_ctx *cx) {
    int x = need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    int64_t st_[NN_MAX_DIMS], en[NN_MAX_DIMS], ax[NN_MAX_DIMS], sp[NN_MAX_DIMS];
    int n, r = T(cx, x)->ndim;
    if (cx->opset < 10) {
        n = attr_ints(cx, "starts", st_, NN_MAX_DIMS);
        int ne = attr_ints(cx, "ends", en, NN_MAX_DIMS), na = attr_ints(cx, "axes", ax, NN_MAX_DIMS);
        if (n < 0 || ne < 0 || na < 0) return FS_ERR_UNSUPPORTED;
        if (ne != n || (na && na != n)) return NODE_FAIL(cx, FS_ERR_FORMAT, "starts/ends/axes lengths differ");
        if (!na) for (int i = 0; i < n; i++) ax[i] = i;
        for (int i = 0; i < n; i++) sp[i] = 1;
    } else {
        int t[4];
        for (int k = 0; k < 4; k++) {
            t[k] = in_t(cx, k + 1);
            if (t[k] == -2) return FS_ERR_FORMAT;
        }
        if (t[0] < 0 || t[1] < 0) return NODE_FAIL(cx, FS_ERR_FORMAT, "starts and ends are required");
        n = const_ints(cx, t[0], "starts", st_, NN_MAX_DIMS);
        if (n < 0 || const_ints(cx, t[1], "ends", en, NN_MAX_DIMS) != n) return n < 0 ? FS_ERR_UNSUPPORTED : NODE_FAIL(cx, FS_ERR_FORMAT, "ends length");
        if (t[2] >= 0) { if (const_ints(cx, t[2], "axes", ax, NN_MAX_DIMS) != n) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "axes must be a constant of the starts' length"); }
        else for (int i = 0; i < n; i++) ax[i] = i;
        if (t[3] >= 0) { if (const_ints(cx, t[3], "steps", sp, NN_MAX_DIMS) != n) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "steps must be a constant of the starts' length"); }
        else for (int i = 0; i < n; i++) sp[i] = 1;
    }
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    int seen = 0;
    for (int i = 0; i < n; i++) {
        if (ax[i] < -r || ax[i] >= r) return NODE_FAIL(cx, FS_ERR_FORMAT, "axis %lld out of range", (long long)ax[i]);
        int a = norm_axis(ax[i], r);
        if (seen >> a & 1) return NODE_FAIL(cx, FS_ERR_FORMAT, "axis %d repeated", a);
        seen |= 1 << a;
        if (sp[i] == 0) return NODE_FAIL(cx, FS_ERR_FORMAT, "step 0");
    }
    int y = out_t(cx, 0, T(cx, x)->dtype, r, NULL);
    int ni = y < 0 ? -1 : emit(cx, NN_OP_SLICE, 1, &x, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    for (int i = 0; i < n; i++) {
        a->axes[i] = norm_axis(ax[i], r);
        a->starts[i] = st_[i];
        a->ends[i] = en[i];
        a->steps[i] = sp[i];
    }
    a->n_axes = n;
    return FS_OK;
}

static fs_status op_split(ox_ctx *cx) {
    int x = need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    int64_t axis = attr_i(cx, "axis", 0), sz[NN_MAX_IO];
    int n = 0;
    if (cx->opset < 13 && !(cx->nd->n_in > 1 && cx->nd->in[1].len)) {
        n = attr_ints(cx, "split", sz, NN_MAX_IO);
        if (n < 0) return FS_ERR_UNSUPPORTED;
    } else { /* Split-13 input (Split-1 also accepted it as a second input) */
        int t = in_t(cx, 1);
        if (t == -2) return FS_ERR_FORMAT;
        if (t >= 0 && (n = const_ints(cx, t, "split", sz, NN_MAX_IO)) < 0) return FS_ERR_UNSUPPORTED;
    }
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    int r = T(cx, x)->ndim, no = cx->nd->n_out;
    if (axis < -r || axis >= r) return NODE_FAIL(cx, FS_ERR_FORMAT, "axis %lld out of range for rank %d", (long long)axis, r);
    if (no < 1 || no > NN_MAX_IO) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "%d outputs", no);
    if (n && n != no) return NODE_FAIL(cx, FS_ERR_FORMAT, "%d split sizes for %d outputs", n, no);
    int out[NN_MAX_IO];
    for (int k = 0; k < no; k++) {
        int64_t d[NN_MAX_DIMS];
        memcpy(d, T(cx, x)->dims, sizeof d);
        d[norm_axis(axis, r)] = n ? sz[k] : -1;
        if (n && sz[k] < 0) return NODE_FAIL(cx, FS_ERR_FORMAT, "negative split size");
        if ((out[k] = out_t(cx, k, T(cx, x)->dtype, r, d)) < 0) return FS_ERR_NOMEM;
    }
    int ni = emit(cx, NN_OP_SPLIT, 1, &x, no, out);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    a->axis = norm_axis(axis, r);
    a->n_split = n;
    memcpy(a->split, sz, sizeof(int64_t) * (size_t)n);
    return FS_OK;
}

/* Sum / Mean / Max / Min with any number of inputs: a chain of binary ops */
static fs_status op_variadic(ox_ctx *cx, nn_op_type op, int mean) {
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    int n = cx->nd->n_in;
    if (n < 1) return NODE_FAIL(cx, FS_ERR_FORMAT, "no inputs");
    int acc = need_in(cx, 0);
    if (acc < 0) return FS_ERR_FORMAT;
    char ob[200];
    fcopy(ob, sizeof ob, &cx->nd->out[0]);
    for (int k = 1; k < n; k++) {
        int b = need_in(cx, k);
        if (b < 0) return FS_ERR_FORMAT;
        int nd;
        int64_t d[NN_MAX_DIMS];
        if (ld_broadcast(T(cx, acc)->ndim, T(cx, acc)->dims, T(cx, b)->ndim, T(cx, b)->dims, &nd, d))
            return NODE_FAIL(cx, FS_ERR_FORMAT, "input shapes do not broadcast");
        if (T(cx, acc)->dtype != T(cx, b)->dtype) return NODE_FAIL(cx, FS_ERR_FORMAT, "input dtypes differ");
        char tag[16];
        snprintf(tag, sizeof tag, "acc%d", k);
        int y = (k == n - 1 && !mean) ? out_t(cx, 0, T(cx, acc)->dtype, nd, d) : new_tensor(cx, ob, tag, T(cx, acc)->dtype, nd, d);
        int in[2] = {acc, b};
        if (y < 0 || emit(cx, op, 2, in, 1, &y) < 0) return FS_ERR_NOMEM;
        acc = y;
    }
    if (mean) {
        int64_t one = 1;
        int c = new_tensor(cx, ob, "count", NN_F32, 1, &one);
        float *cd = c < 0 ? NULL : nn_graph_alloc_const(cx->g, c);
        if (!cd) return FS_ERR_NOMEM;
        *cd = (float)n;
        int y = out_t(cx, 0, T(cx, acc)->dtype, T(cx, acc)->ndim, T(cx, acc)->dims);
        int in[2] = {acc, c};
        if (y < 0 || emit(cx, NN_OP_DIV, 2, in, 1, &y) < 0) return FS_ERR_NOMEM;
    } else if (n == 1) {
        return alias_out(cx, 0, acc);
    }
    return FS_OK;
}

static fs_status op_hard_sigmoid(ox_ctx *cx) {
    float alpha = attr_f(cx, "alpha", 0.2f), beta = attr_f(cx, "beta", 0.5f);
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    int ni;
    if ((st = op_unary(cx, NN_OP_HARD_SIGMOID, &ni))) return st;
    cx->g->nodes[ni].attr.alpha = alpha;
    cx->g->nodes[ni].attr.beta = beta;
    return FS_OK;
}

/* a -> node output 0 (final) or a new tensor "tag", through a binary op with a float32 constant
 * of dims cd (values v, n of them) */
static int chain_const(ox_ctx *cx, nn_op_type op, int a, const char *tag, int ndim, const int64_t *cd, const float *v,
                       int64_t n, int final) {
    char ob[200], ct[48];
    fcopy(ob, sizeof ob, &cx->nd->out[0]);
    snprintf(ct, sizeof ct, "%s_k", tag);
    int c = new_tensor(cx, ob, ct, NN_F32, ndim, cd);
    float *p = c < 0 ? NULL : nn_graph_alloc_const(cx->g, c);
    if (!p) return -1;
    memcpy(p, v, sizeof(float) * (size_t)n);
    int nd;
    int64_t d[NN_MAX_DIMS];
    if (ld_broadcast(T(cx, a)->ndim, T(cx, a)->dims, ndim, cd, &nd, d)) {
        NODE_FAIL(cx, FS_ERR_FORMAT, "shapes do not broadcast");
        return -1;
    }
    int y = final ? out_t(cx, 0, NN_F32, nd, d) : new_tensor(cx, ob, tag, NN_F32, nd, d);
    int in[2] = {a, c};
    if (y < 0 || emit(cx, op, 2, in, 1, &y) < 0) return -1;
    return y;
}

/* y = gamma * Elu(x, alpha) */
static fs_status op_selu(ox_ctx *cx) {
    float alpha = attr_f(cx, "alpha", 1.67326319217681884765625f), gamma = attr_f(cx, "gamma", 1.05070102214813232421875f);
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    int x = need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    char ob[200];
    fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int e = new_tensor(cx, ob, "elu", NN_F32, T(cx, x)->ndim, T(cx, x)->dims);
    int ni = e < 0 ? -1 : emit(cx, NN_OP_ELU, 1, &x, 1, &e);
    if (ni < 0) return FS_ERR_NOMEM;
    cx->g->nodes[ni].attr.alpha = alpha;
    return chain_const(cx, NN_OP_MUL, e, "gamma", 0, NULL, &gamma, 1, 1) < 0 ? FS_ERR_NOMEM : FS_OK;
}

/* y = x / (1 + |x|) */
static fs_status op_softsign(ox_ctx *cx) {
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    int x = need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    char ob[200];
    fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int a = new_tensor(cx, ob, "abs", NN_F32, T(cx, x)->ndim, T(cx, x)->dims);
    if (a < 0 || emit(cx, NN_OP_ABS, 1, &x, 1, &a) < 0) return FS_ERR_NOMEM;
    float one = 1.0f;
    int d = chain_const(cx, NN_OP_ADD, a, "den", 0, NULL, &one, 1, 0);
    if (d < 0) return FS_ERR_NOMEM;
    int y = out_t(cx, 0, NN_F32, T(cx, x)->ndim, T(cx, x)->dims);
    int in[2] = {x, d};
    return y < 0 || emit(cx, NN_OP_DIV, 2, in, 1, &y) < 0 ? FS_ERR_NOMEM : FS_OK;
}

/* Expand(x, shape) = x * ones(shape) (numpy broadcasting both ways, exact) */
static fs_status op_expand(ox_ctx *cx) {
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    int x = need_in(cx, 0), s = need_in(cx, 1);
    if (x < 0 || s < 0) return FS_ERR_FORMAT;
    int64_t sv[NN_MAX_DIMS];
    int n = const_ints(cx, s, "shape", sv, NN_MAX_DIMS);
    if (n < 0) return FS_ERR_UNSUPPORTED;
    int64_t numel = 1;
    for (int i = 0; i < n; i++) {
        if (sv[i] < 0 || sv[i] > (1 << 24)) return NODE_FAIL(cx, FS_ERR_FORMAT, "shape value %lld", (long long)sv[i]);
        numel *= sv[i];
        if (numel > (1 << 24)) return NODE_FAIL(cx, FS_ERR_LIMIT, "expanded shape too large");
    }
    if (T(cx, x)->dtype != NN_F32) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "only float32 Expand is supported");
    float *ones = malloc(sizeof(float) * (size_t)(numel ? numel : 1));
    if (!ones) return fs_error(FS_ERR_NOMEM, "ONNX: out of memory");
    for (int64_t i = 0; i < numel; i++) ones[i] = 1.0f;
    int y = chain_const(cx, NN_OP_MUL, x, "ones", n, sv, ones, numel, 1);
    free(ones);
    return y < 0 ? FS_ERR_NOMEM : FS_OK;
}

/* ConstantOfShape with a constant shape input: a constant tensor */
static fs_status op_constant_of_shape(ox_ctx *cx) {
    ox_attr *va = find_attr(cx, "value");
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    int s = need_in(cx, 0);
    if (s < 0) return FS_ERR_FORMAT;
    int64_t sv[NN_MAX_DIMS];
    int n = const_ints(cx, s, "shape", sv, NN_MAX_DIMS);
    if (n < 0) return FS_ERR_UNSUPPORTED;
    int64_t numel = 1;
    for (int i = 0; i < n; i++) {
        if (sv[i] < 0 || sv[i] > (1 << 24)) return NODE_FAIL(cx, FS_ERR_FORMAT, "shape value %lld", (long long)sv[i]);
        numel *= sv[i];
        if (numel > (1 << 24)) return NODE_FAIL(cx, FS_ERR_LIMIT, "shape too large");
    }
    nn_dtype dt = NN_F32;
    uint8_t val[8] = {0};
    if (va) {
        pb_reader sub, top = cx->root;
        if (pb_sub(&top, &va->t, &sub)) return FS_ERR_FORMAT;
        sub.depth = 8;
        tp_tensor tp;
        if ((st = tp_parse(&sub, &tp))) return st;
        int d = tp_nn_dtype(tp.data_type);
        if (d < 0) return FS_ERR_UNSUPPORTED;
        if (tp.numel != 1) return NODE_FAIL(cx, FS_ERR_FORMAT, "value must hold one element");
        if ((st = tp_read(&tp, val, sizeof val))) return st;
        dt = (nn_dtype)d;
    }
    int y = out_t(cx, 0, dt, n, sv);
    uint8_t *p = y < 0 ? NULL : nn_graph_alloc_const(cx->g, y);
    if (!p && numel) return FS_ERR_NOMEM;
    size_t es = nn_dtype_size(dt);
    for (int64_t i = 0; i < numel; i++) memcpy(p + (size_t)i * es, val, es);
    return FS_OK;
}

/* InstanceNormalization: y = (x - mean) / sqrt(var + eps) * scale + B over the spatial dims */
static fs_status op_instance_norm(ox_ctx *cx) {
    float eps = attr_f(cx, "epsilon", 1e-5f);
    fs_status st = check_attrs_used(cx);
    if (st) return st;
    int x = need_in(cx, 0), ts = need_in(cx, 1), tb = need_in(cx, 2);
    if (x < 0 || ts < 0 || tb < 0) return FS_ERR_FORMAT;
    int r = T(cx, x)->ndim;
    int64_t C = T(cx, x)->dims[1];
    if (r < 3) return NODE_FAIL(cx, FS_ERR_FORMAT, "input of rank %d", r);
    float *sc = malloc(sizeof(float) * 2 * (size_t)(C > 0 ? C : 1));
    if (!sc) return fs_error(FS_ERR_NOMEM, "ONNX: out of memory");
    if (C < 1 || C > (1 << 24) || const_floats(cx, ts, "scale", sc, (int)C) != C || const_floats(cx, tb, "B", sc + C, (int)C) != C) {
        free(sc);
        return C < 1 ? NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "unknown channel count") : NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "scale and B must be constants of C values");
    }
    char ob[200];
    fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int64_t md[NN_MAX_DIMS];
    for (int i = 0; i < r; i++) md[i] = i < 2 ? T(cx, x)->dims[i] : 1;
    /* mean over spatial dims (keepdims), centre, variance */
    int mean = new_tensor(cx, ob, "mean", NN_F32, r, md);
    int ni = mean < 0 ? -1 : emit(cx, NN_OP_REDUCE_MEAN, 1, &x, 1, &mean);
    if (ni < 0) { free(sc); return FS_ERR_NOMEM; }
    nn_attr *a = &cx->g->nodes[ni].attr;
    for (int i = 2; i < r; i++) a->axes[i - 2] = i;
    a->n_axes = r - 2;
    a->keepdims = 1;
    int dlt = new_tensor(cx, ob, "centred", NN_F32, r, T(cx, x)->dims);
    int in[2] = {x, mean};
    if (dlt < 0 || emit(cx, NN_OP_SUB, 2, in, 1, &dlt) < 0) { free(sc); return FS_ERR_NOMEM; }
    int sq = new_tensor(cx, ob, "sq", NN_F32, r, T(cx, x)->dims);
    int in2[2] = {dlt, dlt};
    if (sq < 0 || emit(cx, NN_OP_MUL, 2, in2, 1, &sq) < 0) { free(sc); return FS_ERR_NOMEM; }
    int var = new_tensor(cx, ob, "var", NN_F32, r, md);
    ni = var < 0 ? -1 : emit(cx, NN_OP_REDUCE_MEAN, 1, &sq, 1, &var);
    if (ni < 0) { free(sc); return FS_ERR_NOMEM; }
    a = &cx->g->nodes[ni].attr;
    for (int i = 2; i < r; i++) a->axes[i - 2] = i;
    a->n_axes = r - 2;
    a->keepdims = 1;
    int ve = chain_const(cx, NN_OP_ADD, var, "var_eps", 0, NULL, &eps, 1, 0);
    int sd = ve < 0 ? -1 : new_tensor(cx, ob, "std", NN_F32, r, md);
    if (sd < 0 || emit(cx, NN_OP_SQRT, 1, &ve, 1, &sd) < 0) { free(sc); return FS_ERR_NOMEM; }
    int nrm = new_tensor(cx, ob, "normalised", NN_F32, r, T(cx, x)->dims);
    int in3[2] = {dlt, sd};
    if (nrm < 0 || emit(cx, NN_OP_DIV, 2, in3, 1, &nrm) < 0) { free(sc); return FS_ERR_NOMEM; }
    int64_t cd[NN_MAX_DIMS];
    cd[0] = C;
    for (int i = 1; i < r - 1; i++) cd[i] = 1;
    int sy = chain_const(cx, NN_OP_MUL, nrm, "scaled", r - 1, cd, sc, C, 0);
    int y = sy < 0 ? -1 : chain_const(cx, NN_OP_ADD, sy, "shifted", r - 1, cd, sc + C, C, 1);
    free(sc);
    return y < 0 ? FS_ERR_NOMEM : FS_OK;
}

/* ------------------------------------------------------------------ dispatch */

static fs_status convert_node(ox_ctx *cx, const ld_names *uses) {
    const char *op = cx->op;
    if (cx->nd->domain.len && !pb_str_eq(&cx->nd->domain, "ai.onnx")) {
        char dom[64];
        fcopy(dom, sizeof dom, &cx->nd->domain);
        return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "unsupported op '%s' in domain '%s'", op, dom);
    }
    /* opset 1-5 "consumed_inputs": a legacy in-place memory hint, no effect on results */
    if (cx->opset < 6) find_attr(cx, "consumed_inputs");
#define IS(s) (!strcmp(op, s))
    if (IS("Cast") && cx->opset < 6) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "Cast-1 (string 'to') is not supported");
    if (IS("Reshape") && cx->opset < 5) return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "Reshape-1 (shape attribute) is not supported");
    if (IS("Conv")) return op_conv(cx);
    if (IS("ConvTranspose")) return op_conv_transpose(cx);
    if (IS("MaxPool")) return op_pool(cx, 1);
    if (IS("AveragePool")) return op_pool(cx, 0);
    if (IS("GlobalAveragePool")) return op_global_pool(cx, NN_OP_REDUCE_MEAN);
    if (IS("GlobalMaxPool")) return op_global_pool(cx, NN_OP_REDUCE_MAX);
    if (IS("Resize")) return op_resize(cx, 0);
    if (IS("Upsample")) return op_resize(cx, 1);
    if (IS("Relu")) return op_clamp(cx, 0.0f, INFINITY);
    if (IS("Clip")) return op_clip(cx);
    if (IS("LeakyRelu")) return op_alpha_unary(cx, NN_OP_LEAKY_RELU, 0.01f);
    if (IS("Elu")) return op_alpha_unary(cx, NN_OP_ELU, 1.0f);
    if (IS("Sigmoid")) return op_simple_unary(cx, NN_OP_SIGMOID);
    if (IS("Tanh")) return op_simple_unary(cx, NN_OP_TANH);
    if (IS("Exp")) return op_simple_unary(cx, NN_OP_EXP);
    if (IS("Log")) return op_simple_unary(cx, NN_OP_LOG);
    if (IS("Sqrt")) return op_simple_unary(cx, NN_OP_SQRT);
    if (IS("Abs")) return op_simple_unary(cx, NN_OP_ABS);
    if (IS("Neg")) return op_simple_unary(cx, NN_OP_NEG);
    if (IS("Floor")) return op_simple_unary(cx, NN_OP_FLOOR);
    if (IS("Ceil")) return op_simple_unary(cx, NN_OP_CEIL);
    if (IS("Reciprocal")) return op_simple_unary(cx, NN_OP_RECIPROCAL);
    if (IS("Softplus")) return op_simple_unary(cx, NN_OP_SOFTPLUS);
    if (IS("Sin")) return op_simple_unary(cx, NN_OP_SIN);
    if (IS("Cos")) return op_simple_unary(cx, NN_OP_COS);
    if (IS("Erf")) return op_simple_unary(cx, NN_OP_ERF);
    if (IS("Sign")) return op_simple_unary(cx, NN_OP_SIGN);
    if (IS("HardSwish")) return op_simple_unary(cx, NN_OP_HARD_SWISH);
    if (IS("Add")) return op_binary(cx, NN_OP_ADD);
    if (IS("Sub")) return op_binary(cx, NN_OP_SUB);
    if (IS("Mul")) return op_binary(cx, NN_OP_MUL);
    if (IS("Div")) return op_binary(cx, NN_OP_DIV);
    if (IS("Pow")) return op_binary(cx, NN_OP_POW);
    if (IS("PRelu")) return op_binary(cx, NN_OP_PRELU);
    if (IS("Max")) return op_variadic(cx, NN_OP_MAXIMUM, 0);
    if (IS("Min")) return op_variadic(cx, NN_OP_MINIMUM, 0);
    if (IS("Sum")) return op_variadic(cx, NN_OP_ADD, 0);
    if (IS("Mean")) return op_variadic(cx, NN_OP_ADD, 1);
    if (IS("Pad")) return op_pad(cx);
    if (IS("Slice")) return op_slice(cx);
    if (IS("Split")) return op_split(cx);
    if (IS("HardSigmoid")) return op_hard_sigmoid(cx);
    if (IS("Selu")) return op_selu(cx);
    if (IS("Softsign")) return op_softsign(cx);
    if (IS("Expand")) return op_expand(cx);
    if (IS("ConstantOfShape")) return op_constant_of_shape(cx);
    if (IS("InstanceNormalization")) return op_instance_norm(cx);
    if (IS("Transpose")) return op_transpose(cx);
    if (IS("Reshape")) return op_reshape(cx);
    if (IS("Flatten")) return op_flatten(cx);
    if (IS("Concat")) return op_concat(cx);
    if (IS("Softmax")) return op_softmax(cx, NN_OP_SOFTMAX);
    if (IS("LogSoftmax")) return op_softmax(cx, NN_OP_LOG_SOFTMAX);
    if (IS("Gemm")) return op_gemm(cx);
    if (IS("MatMul")) return op_matmul(cx);
    if (IS("BatchNormalization")) return op_batchnorm(cx, uses);
    if (IS("Shape")) return op_shape(cx);
    if (IS("Gather")) return op_gather(cx);
    if (IS("Unsqueeze")) return op_squeeze(cx, 1);
    if (IS("Squeeze")) return op_squeeze(cx, 0);
    if (IS("Constant")) return op_constant(cx);
    if (IS("Identity")) return op_identity(cx, 0);
    if (IS("Dropout")) return op_identity(cx, 1);
    if (IS("Cast")) return op_cast(cx);
    if (IS("ReduceMean")) return op_reduce(cx, NN_OP_REDUCE_MEAN);
    if (IS("ReduceMax")) return op_reduce(cx, NN_OP_REDUCE_MAX);
    if (IS("ReduceMin")) return op_reduce(cx, NN_OP_REDUCE_MIN);
    if (IS("ReduceSum")) return op_reduce(cx, NN_OP_REDUCE_SUM);
#undef IS
    return NODE_FAIL(cx, FS_ERR_UNSUPPORTED, "unsupported op '%s'", op);
}

/* ------------------------------------------------------------------ graph */

/* value_info / input type: elem_type and dims (dim_param -> -1) */
static fs_status parse_value_info(const pb_reader *r0, pb_field *name, int *elem, int *ndim, int64_t *dims) {
    pb_reader r = *r0, tr, tt, sr, dr;
    pb_field f, f2, f3, f4, f5;
    int rc;
    *elem = 0;
    *ndim = -1;
    name->data = NULL;
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.num == 1 && f.wire == PB_LEN) *name = f;
        if (f.num != 2 || pb_sub(&r, &f, &tr)) continue;
        while ((rc = pb_next(&tr, &f2)) > 0) {
            if (f2.num != 1) continue; /* tensor_type only */
            if (pb_sub(&tr, &f2, &tt)) return FS_ERR_FORMAT;
            while ((rc = pb_next(&tt, &f3)) > 0) {
                if (f3.num == 1) *elem = (int)f3.v;
                if (f3.num != 2) continue;
                if (pb_sub(&tt, &f3, &sr)) return FS_ERR_FORMAT;
                *ndim = 0;
                while ((rc = pb_next(&sr, &f4)) > 0) {
                    if (f4.num != 1) continue;
                    if (*ndim >= NN_MAX_DIMS) return fs_error(FS_ERR_UNSUPPORTED, "ONNX: value with more than %d dims", NN_MAX_DIMS);
                    if (pb_sub(&sr, &f4, &dr)) return FS_ERR_FORMAT;
                    int64_t dv = -1;
                    while ((rc = pb_next(&dr, &f5)) > 0)
                        if (f5.num == 1 && f5.wire == PB_VARINT) dv = (int64_t)f5.v;
                    if (rc < 0) return FS_ERR_FORMAT;
                    if (dv < -1) return fs_error(FS_ERR_FORMAT, "ONNX: negative dim %lld", (long long)dv);
                    dims[(*ndim)++] = dv;
                }
                if (rc < 0) return FS_ERR_FORMAT;
            }
            if (rc < 0) return FS_ERR_FORMAT;
        }
        if (rc < 0) return FS_ERR_FORMAT;
    }
    if (rc < 0) return FS_ERR_FORMAT;
    if (!name->data) return fs_error(FS_ERR_FORMAT, "ONNX: value_info without a name");
    return FS_OK;
}

static fs_status add_initializer(ox_ctx *cx, const pb_reader *r) {
    tp_tensor tp;
    fs_status st = tp_parse(r, &tp);
    if (st) return st;
    int dt = tp_nn_dtype(tp.data_type);
    if (dt < 0) return fs_error(FS_ERR_UNSUPPORTED, "ONNX: initializer '%.*s' has data type %s", (int)tp.name_len,
                                tp.name ? (const char *)tp.name : "", tp_dtype_name(tp.data_type));
    char nm[256];
    pb_field nf = {.data = tp.name, .len = tp.name_len, .wire = PB_LEN};
    fcopy(nm, sizeof nm, &nf);
    if (!tp.name_len) return fs_error(FS_ERR_FORMAT, "ONNX: initializer without a name");
    /* sizes checked against the bytes present before allocating */
    if ((st = tp_check(&tp))) return st;
    int t = ld_add_tensor(cx->g, nm, (nn_dtype)dt, tp.ndim, tp.dims);
    if (t < 0) return FS_ERR_NOMEM;
    size_t nb;
    if ((st = tp_nbytes(&tp, &nb))) return st;
    void *p = nn_graph_alloc_const(cx->g, t);
    if (!p) return FS_ERR_NOMEM;
    if ((st = tp_read(&tp, p, nb))) return st;
    return ld_names_put(&cx->names, (const char *)tp.name, tp.name_len, t) ? FS_ERR_NOMEM : FS_OK;
}

#define MAX_NODES 100000

static fs_status load_graph(ox_ctx *cx, const pb_reader *gr) {
    pb_reader r = *gr, sub;
    pb_field f;
    int rc;
    fs_status st;
    int n_nodes = 0, n_outs = 0;
    /* pass 1: initializers; count nodes / outputs */
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.num == 5) {
            if (pb_sub(&r, &f, &sub)) return FS_ERR_FORMAT;
            if ((st = add_initializer(cx, &sub))) return st;
        } else if (f.num == 15) {
            return fs_error(FS_ERR_UNSUPPORTED, "ONNX: sparse initializers are not supported");
        } else if (f.num == 1) {
            n_nodes++;
        } else if (f.num == 12) {
            n_outs++;
        }
    }
    if (rc < 0) return FS_ERR_FORMAT;
    if (n_nodes > MAX_NODES) return fs_error(FS_ERR_LIMIT, "ONNX: %d nodes (limit %d)", n_nodes, MAX_NODES);
    /* pass 2: graph inputs that are not initializers */
    r = *gr;
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.num != 11) continue;
        if (pb_sub(&r, &f, &sub)) return FS_ERR_FORMAT;
        pb_field nm;
        int elem, nd;
        int64_t dims[NN_MAX_DIMS];
        if ((st = parse_value_info(&sub, &nm, &elem, &nd, dims))) return st;
        if (ld_names_get(&cx->names, (const char *)nm.data, nm.len) >= 0) continue;
        char name[256];
        fcopy(name, sizeof name, &nm);
        if (nd < 0) return fs_error(FS_ERR_UNSUPPORTED, "ONNX: graph input '%s' has no shape", name);
        int dt = tp_nn_dtype(elem);
        if (dt < 0) return fs_error(FS_ERR_UNSUPPORTED, "ONNX: graph input '%s' has data type %s", name, tp_dtype_name(elem));
        int t = ld_add_tensor(cx->g, name, (nn_dtype)dt, nd, dims);
        if (t < 0 || ld_names_put(&cx->names, (const char *)nm.data, nm.len, t)) return FS_ERR_NOMEM;
        int *in = realloc(cx->g->inputs, sizeof(int) * (size_t)(cx->g->n_inputs + 1));
        if (!in) return fs_error(FS_ERR_NOMEM, "ONNX: out of memory");
        cx->g->inputs = in;
        in[cx->g->n_inputs++] = t;
    }
    if (rc < 0) return FS_ERR_FORMAT;
    /* use counts of every tensor name (for BatchNorm folding) */
    ld_names uses = {0};
    r = *gr;
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.num != 1 && f.num != 12) continue;
        if (pb_sub(&r, &f, &sub)) { rc = -1; break; }
        pb_field e;
        int rc2;
        while ((rc2 = pb_next(&sub, &e)) > 0) {
            if (!((f.num == 1 && e.num == 1) || (f.num == 12 && e.num == 1)) || e.wire != PB_LEN) continue;
            int u = ld_names_get(&uses, (const char *)e.data, e.len);
            if (ld_names_put(&uses, (const char *)e.data, e.len, u < 0 ? 1 : u + 1)) { ld_names_free(&uses); return FS_ERR_NOMEM; }
        }
        if (rc2 < 0) { rc = -1; break; }
    }
    if (rc < 0) { ld_names_free(&uses); return FS_ERR_FORMAT; }
    /* pass 3: nodes, in file order (ONNX requires topological order) */
    ox_node *nd = malloc(sizeof *nd);
    if (!nd) { ld_names_free(&uses); return fs_error(FS_ERR_NOMEM, "ONNX: out of memory"); }
    r = *gr;
    int idx = 0;
    st = FS_OK;
    while (!st && (rc = pb_next(&r, &f)) > 0) {
        if (f.num != 1) continue;
        if (pb_sub(&r, &f, &sub) || (st = parse_node(&sub, nd))) {
            if (!st) st = FS_ERR_FORMAT;
            fs_error_prefix("ONNX: node %d: ", idx);
            break;
        }
        cx->nd = nd;
        cx->node_idx = idx;
        fcopy(cx->op, sizeof cx->op, &nd->op);
        fcopy(cx->nname, sizeof cx->nname, &nd->name);
        st = convert_node(cx, &uses);
        idx++;
    }
    if (!st && rc < 0) st = FS_ERR_FORMAT;
    free(nd);
    ld_names_free(&uses);
    if (st) return st;
    /* pass 4: graph outputs */
    r = *gr;
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.num != 12) continue;
        if (pb_sub(&r, &f, &sub)) return FS_ERR_FORMAT;
        pb_field nm;
        int elem, ndm;
        int64_t dims[NN_MAX_DIMS];
        if ((st = parse_value_info(&sub, &nm, &elem, &ndm, dims))) return st;
        char name[256];
        fcopy(name, sizeof name, &nm);
        int t = ld_names_get(&cx->names, (const char *)nm.data, nm.len);
        if (t < 0) return fs_error(FS_ERR_FORMAT, "ONNX: graph output '%s' is not produced by any node", name);
        int is_input = 0;
        for (int i = 0; i < cx->g->n_inputs; i++) is_input |= cx->g->inputs[i] == t;
        if (strcmp(T(cx, t)->name, name) || T(cx, t)->is_const || is_input) {
            /* an alias (Identity/Dropout/folded BatchNorm), an input or a constant: materialise it */
            int y = ld_add_tensor(cx->g, name, T(cx, t)->dtype, T(cx, t)->ndim, T(cx, t)->dims);
            if (y < 0 || nn_graph_add_node(cx->g, NN_OP_IDENTITY, name, 1, &t, 1, &y) < 0) return FS_ERR_NOMEM;
            t = y;
        }
        int *o = realloc(cx->g->outputs, sizeof(int) * (size_t)(cx->g->n_outputs + 1));
        if (!o) return fs_error(FS_ERR_NOMEM, "ONNX: out of memory");
        cx->g->outputs = o;
        o[cx->g->n_outputs++] = t;
    }
    if (rc < 0) return FS_ERR_FORMAT;
    (void)n_outs;
    if (!cx->g->n_outputs) return fs_error(FS_ERR_FORMAT, "ONNX: graph has no outputs");
    return FS_OK;
}

fs_status nn_load_onnx(nn_graph *g, const uint8_t *buf, size_t len) {
    ox_ctx cx;
    memset(&cx, 0, sizeof cx);
    cx.g = g;
    cx.root = pb_reader_init(buf, len);
    pb_reader r = cx.root, graph = {0}, sub;
    pb_field f;
    int rc, have_graph = 0;
    int64_t ir = -1;
    cx.opset = -1;
    char producer[96] = "";
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.num == 1 && f.wire == PB_VARINT) ir = (int64_t)f.v;
        else if (f.num == 2 && f.wire == PB_LEN) fcopy(producer, sizeof producer, &f);
        else if (f.num == 7) {
            if (pb_sub(&r, &f, &graph)) return FS_ERR_FORMAT;
            have_graph = 1;
        } else if (f.num == 8) {
            if (pb_sub(&r, &f, &sub)) return FS_ERR_FORMAT;
            pb_field e;
            pb_field dom = {0};
            int64_t ver = -1;
            while ((rc = pb_next(&sub, &e)) > 0) {
                if (e.num == 1 && e.wire == PB_LEN) dom = e;
                if (e.num == 2 && e.wire == PB_VARINT) ver = (int64_t)e.v;
            }
            if (rc < 0) return FS_ERR_FORMAT;
            if (!dom.len || pb_str_eq(&dom, "ai.onnx")) cx.opset = ver;
        }
    }
    if (rc < 0) { fs_error_prefix("ONNX: "); return FS_ERR_FORMAT; }
    if (ir < 1 || !have_graph) return fs_error(FS_ERR_FORMAT, "ONNX: not a model (ir_version %lld, %s graph)", (long long)ir,
                                               have_graph ? "with" : "no");
    if (cx.opset < 1) return fs_error(FS_ERR_UNSUPPORTED, "ONNX: opset %lld is not supported (no default-domain opset_import)", (long long)cx.opset);
    snprintf(g->format, sizeof g->format, "onnx");
    snprintf(g->description, sizeof g->description, "%.64s, ir_version %lld, opset %lld", producer, (long long)ir,
             (long long)cx.opset);
    fs_status st = load_graph(&cx, &graph);
    ld_names_free(&cx.names);
    if (st) return st;
    return nn_pass_optimize(g);
}
