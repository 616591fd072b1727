/* nn/loaders/onnx.c — ONNX (protobuf) model loader into the internal graph (nn/graph.h):
 * the model / graph / node / attribute parsing and the helpers shared by the op handlers in
 * onnx_spatial.c (Conv, pooling, Resize, BatchNormalization: NCHW <-> NHWC) and onnx_ops.c (the rest).
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
#include "nn/loaders/loaders.h"
#include "nn/loaders/onnx_internal.h"
#include "nn/passes.h"

/* ------------------------------------------------------------------ messages */

void ox_fcopy(char *dst, size_t cap, const pb_field *f) {
    size_t n = f->data && f->len < cap - 1 ? f->len : (f->data ? cap - 1 : 0);
    if (n) memcpy(dst, f->data, n);
    dst[n] = 0;
}

__attribute__((format(printf, 3, 4))) fs_status ox_node_fail(ox_ctx *cx, fs_status code, const char *fmt,
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

ox_attr *ox_find_attr(ox_ctx *cx, const char *name) {
    ox_node *n = (ox_node *)cx->nd;
    for (int i = 0; i < n->n_at; i++)
        if (pb_str_eq(&n->at[i].name, name)) { n->at[i].used = 1; return &n->at[i]; }
    return NULL;
}

int64_t ox_attr_i(ox_ctx *cx, const char *name, int64_t def) {
    ox_attr *a = ox_find_attr(cx, name);
    return a ? a->i : def;
}

float ox_attr_f(ox_ctx *cx, const char *name, float def) {
    ox_attr *a = ox_find_attr(cx, name);
    return a ? a->f : def;
}

/* string attribute into buf ("" default) */
void ox_attr_s(ox_ctx *cx, const char *name, const char *def, char *buf, size_t cap) {
    ox_attr *a = ox_find_attr(cx, name);
    if (!a) { snprintf(buf, cap, "%s", def); return; }
    ox_fcopy(buf, cap, &a->s);
}

/* ints attribute: returns count (0 if absent), -1 after fs_error if too long */
int ox_attr_ints(ox_ctx *cx, const char *name, int64_t *out, int max) {
    ox_attr *a = ox_find_attr(cx, name);
    if (!a) return 0;
    if (a->overflow || a->n_ints > max) {
        OX_FAIL(cx, FS_ERR_UNSUPPORTED, "attribute '%s' has too many values", name);
        return -1;
    }
    memcpy(out, a->ints, sizeof(int64_t) * (size_t)a->n_ints);
    return a->n_ints;
}

/* all attributes must have been read by the op handler */
fs_status ox_check_attrs_used(ox_ctx *cx) {
    for (int i = 0; i < cx->nd->n_at; i++)
        if (!cx->nd->at[i].used) {
            char an[64];
            ox_fcopy(an, sizeof an, &cx->nd->at[i].name);
            return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "attribute '%s' is not supported", an);
        }
    return FS_OK;
}

/* ------------------------------------------------------------------ tensors */


/* graph tensor of node input k; -1 if absent (empty name or k >= n_in); -2 after error if undefined */
int ox_in_t(ox_ctx *cx, int k) {
    if (k >= cx->nd->n_in || cx->nd->in[k].len == 0) return -1;
    int t = ld_names_get(&cx->names, (const char *)cx->nd->in[k].data, cx->nd->in[k].len);
    if (t < 0) {
        char nm[128];
        ox_fcopy(nm, sizeof nm, &cx->nd->in[k]);
        OX_FAIL(cx, FS_ERR_FORMAT, "input '%s' is not defined before use", nm);
        return -2;
    }
    return t;
}

int ox_need_in(ox_ctx *cx, int k) {
    int t = ox_in_t(cx, k);
    if (t == -1) { OX_FAIL(cx, FS_ERR_FORMAT, "input %d is missing", k); return -2; }
    return t;
}

/* new tensor with a generated name "<base>#<tag>" */
int ox_new_tensor(ox_ctx *cx, const char *base, const char *tag, nn_dtype dt, int ndim, const int64_t *dims) {
    char nm[256];
    if (tag) snprintf(nm, sizeof nm, "%s#%s", base, tag);
    else snprintf(nm, sizeof nm, "%s", base);
    return ld_add_tensor(cx->g, nm, dt, ndim, dims);
}

/* tensor for node output k (named as in the file), registered in the name map */
int ox_out_t(ox_ctx *cx, int k, nn_dtype dt, int ndim, const int64_t *dims) {
    if (k >= cx->nd->n_out || !cx->nd->out[k].len) {
        OX_FAIL(cx, FS_ERR_FORMAT, "output %d is missing", k);
        return -1;
    }
    char nm[256];
    ox_fcopy(nm, sizeof nm, &cx->nd->out[k]);
    int t = ld_add_tensor(cx->g, nm, dt, ndim, dims);
    if (t < 0) return -1;
    if (ld_names_put(&cx->names, (const char *)cx->nd->out[k].data, cx->nd->out[k].len, t)) return -1;
    return t;
}

/* alias node output k to an existing tensor (Identity-like nodes) */
fs_status ox_alias_out(ox_ctx *cx, int k, int t) {
    if (k >= cx->nd->n_out || !cx->nd->out[k].len) return OX_FAIL(cx, FS_ERR_FORMAT, "output %d is missing", k);
    return ld_names_put(&cx->names, (const char *)cx->nd->out[k].data, cx->nd->out[k].len, t) ? FS_ERR_NOMEM : FS_OK;
}

int ox_emit(ox_ctx *cx, nn_op_type op, int n_in, const int *in, int n_out, const int *out) {
    int i = nn_graph_add_node(cx->g, op, cx->nname, n_in, in, n_out, out);
    return i;
}

/* graph input k takes the value of its binding: a constant from now on, no longer a runtime input */
static fs_status bind_input(ox_ctx *cx, int k) {
    nn_onnx_bind *b = &cx->binds[k];
    int t = cx->bind_t[k];
    nn_tensor *x = OX_T(cx, t);
    if (b->dtype != x->dtype)
        return fs_error(FS_ERR_ARG, "ONNX: value bound to graph input '%s' is %s, the input is %s", x->name,
                        b->dtype == NN_F32 ? "float" : "not float", x->dtype == NN_F32 ? "float" : "not float");
    if (b->ndim < 0 || b->ndim > NN_MAX_DIMS || (x->ndim >= 0 && b->ndim != x->ndim))
        return fs_error(FS_ERR_ARG, "ONNX: value bound to graph input '%s' has %d dims, the input %d", x->name,
                        b->ndim, x->ndim);
    for (int d = 0; d < b->ndim; d++)
        if (b->dims[d] < 0 || (x->dims[d] >= 0 && x->dims[d] != b->dims[d]))
            return fs_error(FS_ERR_ARG, "ONNX: value bound to graph input '%s' has dim %d = %lld, the input %lld",
                            x->name, d, (long long)b->dims[d], (long long)x->dims[d]);
    x->ndim = b->ndim;
    memcpy(x->dims, b->dims, sizeof(int64_t) * (size_t)b->ndim);
    int64_t n = nn_tensor_numel(x);
    if (n < 0 || (uint64_t)n * nn_dtype_size(x->dtype) != b->nbytes || (b->nbytes && !b->data))
        return fs_error(FS_ERR_ARG, "ONNX: value bound to graph input '%s' has %zu bytes, its dims take %lld values",
                        x->name, b->nbytes, (long long)n);
    void *p = nn_graph_alloc_const(cx->g, t);
    if (!p) return FS_ERR_NOMEM;
    if (b->nbytes) memcpy(p, b->data, b->nbytes);
    nn_graph *g = cx->g;
    int j = 0;
    for (int i = 0; i < g->n_inputs; i++)
        if (g->inputs[i] != t) g->inputs[j++] = g->inputs[i];
    g->n_inputs = j;
    b->bound = 1;
    cx->bind_t[k] = -1;
    return FS_OK;
}

int ox_is_const(ox_ctx *cx, int t) {
    if (t < 0) return 0;
    for (int k = 0; k < cx->n_binds && k < 64; k++)
        if (cx->bind_t[k] == t && bind_input(cx, k)) return 0;
    return OX_T(cx, t)->is_const;
}

/* constant tensor's data, or NULL (with fs_error naming what) if t is not constant */
const void *ox_const_data(ox_ctx *cx, int t, const char *what) {
    if (t < 0 || !ox_is_const(cx, t) || !OX_T(cx, t)->data) {
        OX_FAIL(cx, FS_ERR_UNSUPPORTED, "%s must be a constant (initializer)", what);
        return NULL;
    }
    return OX_T(cx, t)->data;
}

/* int64/int32 constant -> int64 list; returns count or -1 */
int ox_const_ints(ox_ctx *cx, int t, const char *what, int64_t *out, int max) {
    if (!ox_const_data(cx, t, what)) return -1;
    nn_tensor *x = OX_T(cx, t);
    int64_t n = nn_tensor_numel(x);
    if (n < 0 || n > max || x->ndim > 1) {
        OX_FAIL(cx, FS_ERR_UNSUPPORTED, "%s has %lld values (at most %d in one dim)", what, (long long)n, max);
        return -1;
    }
    for (int64_t i = 0; i < n; i++) {
        if (x->dtype == NN_I64) out[i] = ((const int64_t *)x->data)[i];
        else if (x->dtype == NN_I32) out[i] = ((const int32_t *)x->data)[i];
        else { OX_FAIL(cx, FS_ERR_UNSUPPORTED, "%s must be int64/int32", what); return -1; }
    }
    return (int)n;
}

/* float constant list (float32 only) */
int ox_const_floats(ox_ctx *cx, int t, const char *what, float *out, int max) {
    if (!ox_const_data(cx, t, what)) return -1;
    nn_tensor *x = OX_T(cx, t);
    int64_t n = nn_tensor_numel(x);
    if (x->dtype != NN_F32 || n < 0 || n > max) {
        OX_FAIL(cx, FS_ERR_UNSUPPORTED, "%s must be float32 with at most %d values", what, max);
        return -1;
    }
    memcpy(out, x->data, sizeof(float) * (size_t)n);
    return (int)n;
}

/* ------------------------------------------------------------------ dispatch */

static fs_status convert_node(ox_ctx *cx) {
    const char *op = cx->op;
    if (cx->nd->domain.len && !pb_str_eq(&cx->nd->domain, "ai.onnx")) {
        char dom[64];
        ox_fcopy(dom, sizeof dom, &cx->nd->domain);
        return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "unsupported op '%s' in domain '%s'", op, dom);
    }
    /* opset 1-5 "consumed_inputs": a legacy in-place memory hint, no effect on results */
    if (cx->opset < 6) ox_find_attr(cx, "consumed_inputs");
#define IS(s) (!strcmp(op, s))
    if (IS("Cast") && cx->opset < 6) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "Cast-1 (string 'to') is not supported");
    if (IS("Reshape") && cx->opset < 5) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "Reshape-1 (shape attribute) is not supported");
#undef IS
    int handled;
    fs_status st = ox_convert_spatial(cx, &handled);
    if (handled) return st;
    st = ox_convert_ops(cx, &handled);
    if (handled) return st;
    return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "unsupported op '%s'", op);
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
    ox_fcopy(nm, sizeof nm, &nf);
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

/* Graph inputs and outputs must have a runtime dtype of their own: FLOAT16 / DOUBLE values would be
 * computed in float32 (approximately) and INT16 / UINT16 as int32, so they are refused. */
static int io_dtype(int elem) {
    switch (elem) {
    case TP_FLOAT: case TP_INT64: case TP_INT32: case TP_UINT8: case TP_INT8: case TP_BOOL: return tp_nn_dtype(elem);
    default:
        fs_error(FS_ERR_UNSUPPORTED, "ONNX: data type %s", tp_dtype_name(elem));
        return -1;
    }
}

static fs_status load_graph(ox_ctx *cx, const pb_reader *gr) {
    pb_reader r = *gr, sub;
    pb_field f;
    int rc;
    fs_status st;
    int n_nodes = 0, n_outs = 0, n_graph_in = 0;
    for (int k = 0; k < 64; k++) cx->bind_t[k] = -1;
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
        ox_fcopy(name, sizeof name, &nm);
        int k = n_graph_in++;
        nn_onnx_bind *b = k < cx->n_binds && k < 64 ? &cx->binds[k] : NULL;
        if (nd < 0 && b) { /* no declared shape: the bound value's */
            nd = b->ndim;
            for (int d = 0; d < nd && d < NN_MAX_DIMS; d++) dims[d] = -1;
        }
        if (nd < 0) return fs_error(FS_ERR_UNSUPPORTED, "ONNX: graph input '%s' has no shape", name);
        int dt = io_dtype(elem);
        if (dt < 0) return fs_error(FS_ERR_UNSUPPORTED, "ONNX: graph input '%s' has data type %s", name, tp_dtype_name(elem));
        int t = ld_add_tensor(cx->g, name, (nn_dtype)dt, nd, dims);
        if (t < 0 || ld_names_put(&cx->names, (const char *)nm.data, nm.len, t)) return FS_ERR_NOMEM;
        int *in = realloc(cx->g->inputs, sizeof(int) * (size_t)(cx->g->n_inputs + 1));
        if (!in) return fs_error(FS_ERR_NOMEM, "ONNX: out of memory");
        cx->g->inputs = in;
        in[cx->g->n_inputs++] = t;
        if (b) {
            cx->bind_t[k] = t;
            if (b->force && (st = bind_input(cx, k))) return st;
        }
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
        cx->uses = &uses;
        cx->node_idx = idx;
        ox_fcopy(cx->op, sizeof cx->op, &nd->op);
        ox_fcopy(cx->nname, sizeof cx->nname, &nd->name);
        st = convert_node(cx);
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
        ox_fcopy(name, sizeof name, &nm);
        if (elem && io_dtype(elem) < 0)
            return fs_error(FS_ERR_UNSUPPORTED, "ONNX: graph output '%s' has data type %s", name, tp_dtype_name(elem));
        int t = ld_names_get(&cx->names, (const char *)nm.data, nm.len);
        if (t < 0) return fs_error(FS_ERR_FORMAT, "ONNX: graph output '%s' is not produced by any node", name);
        int is_input = 0;
        for (int i = 0; i < cx->g->n_inputs; i++) is_input |= cx->g->inputs[i] == t;
        if (strcmp(OX_T(cx, t)->name, name) || OX_T(cx, t)->is_const || is_input) {
            /* an alias (Identity/Dropout/folded BatchNorm), an input or a constant: materialise it */
            int y = ld_add_tensor(cx->g, name, OX_T(cx, t)->dtype, OX_T(cx, t)->ndim, OX_T(cx, t)->dims);
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
    return nn_load_onnx_bound(g, buf, len, NULL, 0);
}

fs_status nn_load_onnx_bound(nn_graph *g, const uint8_t *buf, size_t len, nn_onnx_bind *binds, int n_binds) {
    ox_ctx cx;
    memset(&cx, 0, sizeof cx);
    cx.g = g;
    cx.binds = binds;
    cx.n_binds = binds ? n_binds : 0;
    for (int k = 0; k < cx.n_binds; k++) binds[k].bound = 0;
    cx.root = pb_reader_init(buf, len);
    pb_reader r = cx.root, graph = {0}, sub;
    pb_field f;
    int rc, have_graph = 0;
    int64_t ir = -1;
    cx.opset = -1;
    char producer[96] = "";
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.num == 1 && f.wire == PB_VARINT) ir = (int64_t)f.v;
        else if (f.num == 2 && f.wire == PB_LEN) ox_fcopy(producer, sizeof producer, &f);
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

