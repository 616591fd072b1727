/* nn/loaders/onnx_ops.c — ONNX element-wise, shape, reduction, dense and constant ops (layout-free:
 * they run on NCHW tensors as the file gives them). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/loaders/onnx_internal.h"

/* a node with input x and output 0 (dtype dt, ndim dims): its attributes, or NULL when out of memory */
static nn_attr *ox_emit1(ox_ctx *cx, nn_op_type op, int x, nn_dtype dt, int ndim, const int64_t *dims) {
    int y = ox_out_t(cx, 0, dt, ndim, dims);
    int ni = y < 0 ? -1 : ox_emit(cx, op, 1, &x, 1, &y);
    return ni < 0 ? NULL : &cx->g->nodes[ni].attr;
}

/* one-input, one-output op with same shape */
static fs_status op_unary(ox_ctx *cx, nn_op_type op, int *node) {
    int x = ox_need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    nn_tensor *t = OX_T(cx, x);
    int y = ox_out_t(cx, 0, t->dtype, t->ndim, t->dims);
    if (y < 0) return FS_ERR_NOMEM;
    int ni = ox_emit(cx, op, 1, &x, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    *node = ni;
    return FS_OK;
}

static fs_status op_simple_unary(ox_ctx *cx, nn_op_type op) {
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    int ni;
    return op_unary(cx, op, &ni);
}

static fs_status op_clamp(ox_ctx *cx, float lo, float hi) {
    fs_status st = ox_check_attrs_used(cx);
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
        lo = ox_attr_f(cx, "min", -INFINITY);
        hi = ox_attr_f(cx, "max", INFINITY);
    } else {
        for (int k = 1; k <= 2; k++) {
            int t = ox_in_t(cx, k);
            if (t == -2) return FS_ERR_FORMAT;
            if (t < 0) continue;
            float v[1];
            if (nn_tensor_numel(OX_T(cx, t)) != 1 || ox_const_floats(cx, t, k == 1 ? "min" : "max", v, 1) != 1)
                return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "%s must be a float32 constant scalar", k == 1 ? "min" : "max");
            if (k == 1) lo = v[0]; else hi = v[0];
        }
    }
    return op_clamp(cx, lo, hi);
}

static fs_status op_alpha_unary(ox_ctx *cx, nn_op_type op, float def_alpha) {
    float alpha = ox_attr_f(cx, "alpha", def_alpha);
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    int ni;
    if ((st = op_unary(cx, op, &ni))) return st;
    cx->g->nodes[ni].attr.alpha = alpha;
    return FS_OK;
}

/* opset < 7 binary ops: broadcast=0 needs equal shapes; broadcast=1 aligns B at 'axis' of A (default:
 * suffix, as numpy). Returns B (possibly unsqueezed with trailing unit dims), or -1 after fs_error. */
static int legacy_broadcast(ox_ctx *cx, int a, int b) {
    int64_t bc = ox_attr_i(cx, "broadcast", 0);
    ox_attr *ax = ox_find_attr(cx, "axis");
    int ra = OX_T(cx, a)->ndim, rb = OX_T(cx, b)->ndim;
    if (!bc) {
        int same = ra == rb;
        for (int i = 0; same && i < ra; i++)
            same = OX_T(cx, a)->dims[i] < 0 || OX_T(cx, b)->dims[i] < 0 || OX_T(cx, a)->dims[i] == OX_T(cx, b)->dims[i];
        if (!same) { OX_FAIL(cx, FS_ERR_FORMAT, "broadcast=0 but the input shapes differ"); return -1; }
        return b;
    }
    if (rb > ra) { OX_FAIL(cx, FS_ERR_FORMAT, "B has a higher rank than A"); return -1; }
    if (!ax) return b;
    int64_t axis = ax->i < 0 ? ax->i + ra : ax->i;
    if (axis < 0 || axis + rb > ra) { OX_FAIL(cx, FS_ERR_FORMAT, "axis %lld does not fit B", (long long)ax->i); return -1; }
    int trail = ra - (int)axis - rb;
    if (!trail) return b;
    int64_t d[NN_MAX_DIMS];
    for (int i = 0; i < rb; i++) d[i] = OX_T(cx, b)->dims[i];
    for (int i = 0; i < trail; i++) d[rb + i] = 1;
    char ob[200];
    ox_fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int y = ox_new_tensor(cx, ob, "bcast", OX_T(cx, b)->dtype, rb + trail, d);
    int ni = y < 0 ? -1 : ox_emit(cx, NN_OP_UNSQUEEZE, 1, &b, 1, &y);
    if (ni < 0) return -1;
    for (int i = 0; i < trail; i++) cx->g->nodes[ni].attr.axes[i] = rb + i;
    cx->g->nodes[ni].attr.n_axes = trail;
    return y;
}

static fs_status op_binary(ox_ctx *cx, nn_op_type op) {
    int a = ox_need_in(cx, 0), b = ox_need_in(cx, 1);
    if (a < 0 || b < 0) return FS_ERR_FORMAT;
    if (cx->opset < 7 && op != NN_OP_PRELU && (b = legacy_broadcast(cx, a, b)) < 0) return FS_ERR_UNSUPPORTED;
    if (cx->opset < 7 && op == NN_OP_PRELU && OX_T(cx, b)->ndim == 1 && OX_T(cx, a)->ndim > 2 &&
        OX_T(cx, b)->dims[0] > 1 && OX_T(cx, b)->dims[0] == OX_T(cx, a)->dims[1]) {
        /* PRelu-6: a slope of C values is per channel (axis 1): [C] -> [C,1,...] */
        int r = OX_T(cx, a)->ndim;
        int64_t d[NN_MAX_DIMS];
        d[0] = OX_T(cx, b)->dims[0];
        for (int i = 1; i < r - 1; i++) d[i] = 1;
        char ob[200];
        ox_fcopy(ob, sizeof ob, &cx->nd->out[0]);
        int y = ox_new_tensor(cx, ob, "slope", OX_T(cx, b)->dtype, r - 1, d);
        int ni = y < 0 ? -1 : ox_emit(cx, NN_OP_UNSQUEEZE, 1, &b, 1, &y);
        if (ni < 0) return FS_ERR_NOMEM;
        for (int i = 0; i < r - 2; i++) cx->g->nodes[ni].attr.axes[i] = 1 + i;
        cx->g->nodes[ni].attr.n_axes = r - 2;
        b = y;
    }
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    if (cx->nd->n_in != 2) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "%d inputs (2 supported)", cx->nd->n_in);
    nn_tensor *ta = OX_T(cx, a), *tb = OX_T(cx, b);
    if (ta->dtype != tb->dtype && op != NN_OP_PRELU && op != NN_OP_POW)
        return OX_FAIL(cx, FS_ERR_FORMAT, "input dtypes differ");
    int nd;
    int64_t d[NN_MAX_DIMS];
    if (ld_broadcast(ta->ndim, ta->dims, tb->ndim, tb->dims, &nd, d))
        return OX_FAIL(cx, FS_ERR_FORMAT, "input shapes do not broadcast");
    int y = ox_out_t(cx, 0, ta->dtype, nd, d);
    int in[2] = {a, b};
    if (y < 0 || ox_emit(cx, op, 2, in, 1, &y) < 0) return FS_ERR_NOMEM;
    return FS_OK;
}

static fs_status op_transpose(ox_ctx *cx) {
    int x = ox_need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    int64_t p[NN_MAX_DIMS];
    int n = ox_attr_ints(cx, "perm", p, NN_MAX_DIMS);
    if (n < 0) return FS_ERR_UNSUPPORTED;
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    nn_tensor *t = OX_T(cx, x);
    int r = t->ndim;
    if (!n) { n = r; for (int i = 0; i < r; i++) p[i] = r - 1 - i; }
    if (n != r) return OX_FAIL(cx, FS_ERR_FORMAT, "perm has %d values for rank %d", n, r);
    int seen = 0;
    int64_t d[NN_MAX_DIMS];
    for (int i = 0; i < r; i++) {
        if (p[i] < 0 || p[i] >= r || (seen >> p[i] & 1)) return OX_FAIL(cx, FS_ERR_FORMAT, "perm is not a permutation");
        seen |= 1 << p[i];
        d[i] = t->dims[p[i]];
    }
    int y = ox_out_t(cx, 0, t->dtype, r, d);
    if (y < 0) return FS_ERR_NOMEM;
    int ni = ox_emit(cx, NN_OP_TRANSPOSE, 1, &x, 1, &y);
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
        else if (d[i] >= 0 && known >= 0 && (d[i] == 0 || known <= INT64_MAX / d[i])) known *= d[i];
        else known = -1; /* unknown, or a product past int64 (refused by the shape check) */
    }
    if (neg >= 0) d[neg] = (in >= 0 && known > 0 && in % known == 0) ? in / known : -1;
}

static fs_status op_reshape(ox_ctx *cx) {
    int x = ox_need_in(cx, 0), s = ox_need_in(cx, 1);
    if (x < 0 || s < 0) return FS_ERR_FORMAT;
    int allowzero = (int)ox_attr_i(cx, "allowzero", 0);
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    nn_tensor *st_ = OX_T(cx, s);
    if (st_->ndim != 1 || st_->dims[0] < 0 || st_->dims[0] > NN_MAX_DIMS)
        return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "shape input must be 1-D with at most %d values", NN_MAX_DIMS);
    int n = (int)st_->dims[0];
    int64_t d[NN_MAX_DIMS];
    for (int i = 0; i < n; i++) d[i] = -1;
    if (st_->is_const) {
        int64_t sv[NN_MAX_DIMS];
        if (ox_const_ints(cx, s, "shape", sv, NN_MAX_DIMS) != n) return FS_ERR_UNSUPPORTED;
        int nneg = 0;
        for (int i = 0; i < n; i++) {
            if (sv[i] < -1) return OX_FAIL(cx, FS_ERR_FORMAT, "shape value %lld", (long long)sv[i]);
            nneg += sv[i] == -1;
        }
        if (nneg > 1) return OX_FAIL(cx, FS_ERR_FORMAT, "shape has more than one -1");
        reshape_dims(OX_T(cx, x), sv, n, allowzero, d);
    }
    nn_tensor *xt = OX_T(cx, x);
    int y = ox_out_t(cx, 0, xt->dtype, n, d);
    int in[2] = {x, s};
    int ni = y < 0 ? -1 : ox_emit(cx, NN_OP_RESHAPE, 2, in, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    cx->g->nodes[ni].attr.allowzero = allowzero;
    return FS_OK;
}


static fs_status op_flatten(ox_ctx *cx) {
    int x = ox_need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    int64_t axis = ox_attr_i(cx, "axis", 1);
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    nn_tensor *t = OX_T(cx, x);
    int r = t->ndim;
    if (axis < -r || axis > r) return OX_FAIL(cx, FS_ERR_FORMAT, "axis %lld out of range for rank %d", (long long)axis, r);
    int ax = ox_norm_axis(axis, r);
    int64_t d[2] = {1, 1};
    for (int i = 0; i < r; i++) {
        int64_t *p = i < ax ? &d[0] : &d[1];
        *p = (*p < 0 || t->dims[i] < 0) ? -1 : *p * t->dims[i];
    }
    nn_attr *a = ox_emit1(cx, NN_OP_FLATTEN, x, t->dtype, 2, d);
    if (!a) return FS_ERR_NOMEM;
    a->axis = ax;
    return FS_OK;
}

static fs_status op_concat(ox_ctx *cx) {
    int64_t axis = ox_attr_i(cx, "axis", cx->opset < 4 ? 1 : 0); /* Concat-1: default axis 1 */
    if (!ox_find_attr(cx, "axis") && cx->opset >= 4) return OX_FAIL(cx, FS_ERR_FORMAT, "attribute 'axis' is missing");
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    int n = cx->nd->n_in;
    if (n < 1 || n > NN_MAX_IO) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "%d inputs (1..%d supported)", n, NN_MAX_IO);
    int in[NN_MAX_IO];
    for (int i = 0; i < n; i++)
        if ((in[i] = ox_need_in(cx, i)) < 0) return FS_ERR_FORMAT;
    nn_tensor *t0 = OX_T(cx, in[0]);
    int r = t0->ndim;
    if (axis < -r || axis >= r) return OX_FAIL(cx, FS_ERR_FORMAT, "axis %lld out of range for rank %d", (long long)axis, r);
    int ax = ox_norm_axis(axis, r);
    int64_t d[NN_MAX_DIMS];
    memcpy(d, t0->dims, sizeof d);
    for (int i = 1; i < n; i++) {
        nn_tensor *ti = OX_T(cx, in[i]);
        if (ti->ndim != r || ti->dtype != t0->dtype) return OX_FAIL(cx, FS_ERR_FORMAT, "inputs differ in rank or dtype");
        d[ax] = (d[ax] < 0 || ti->dims[ax] < 0) ? -1 : d[ax] + ti->dims[ax];
    }
    int y = ox_out_t(cx, 0, t0->dtype, r, d);
    int ni = y < 0 ? -1 : ox_emit(cx, NN_OP_CONCAT, n, in, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    cx->g->nodes[ni].attr.axis = ax;
    return FS_OK;
}

static fs_status op_softmax(ox_ctx *cx, nn_op_type op) {
    int x = ox_need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    int old = cx->opset < 13;
    int64_t axis = ox_attr_i(cx, "axis", old ? 1 : -1);
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    int r = OX_T(cx, x)->ndim;
    if (axis < -r || axis >= r) return OX_FAIL(cx, FS_ERR_FORMAT, "axis %lld out of range for rank %d", (long long)axis, r);
    int ni;
    if ((st = op_unary(cx, op, &ni))) return st;
    cx->g->nodes[ni].attr.axis = ox_norm_axis(axis, r);
    cx->g->nodes[ni].attr.softmax_coerce = old && ox_norm_axis(axis, r) != r - 1;
    return FS_OK;
}

/* y = x W^T + b as FULLY_CONNECTED; wt: [N][K] float data already in the right layout */
static fs_status emit_fc(ox_ctx *cx, int x, const float *w, int64_t N, int64_t K, const float *bias, int keepdims) {
    char ob[200];
    ox_fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int64_t wd[2] = {N, K};
    int wt = ox_new_tensor(cx, ob, "w", NN_F32, 2, wd);
    if (wt < 0) return FS_ERR_NOMEM;
    float *dst = nn_graph_alloc_const(cx->g, wt);
    if (!dst) return FS_ERR_NOMEM;
    memcpy(dst, w, sizeof(float) * (size_t)(N * K));
    int bt = -1;
    if (bias) {
        bt = ox_new_tensor(cx, ob, "b", NN_F32, 1, &N);
        float *bd = bt < 0 ? NULL : nn_graph_alloc_const(cx->g, bt);
        if (!bd) return FS_ERR_NOMEM;
        memcpy(bd, bias, sizeof(float) * (size_t)N);
    }
    nn_tensor *xt = OX_T(cx, x);
    int64_t d[NN_MAX_DIMS];
    memcpy(d, xt->dims, sizeof d);
    d[xt->ndim - 1] = N;
    int y = ox_out_t(cx, 0, NN_F32, xt->ndim, d);
    int in[3] = {x, wt, bt};
    int ni = y < 0 ? -1 : ox_emit(cx, NN_OP_FULLY_CONNECTED, bias ? 3 : 2, in, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    cx->g->nodes[ni].attr.keepdims = keepdims;
    return FS_OK;
}

/* Gemm with a computed B or transA: [TRANSPOSE] -> MATMUL -> [MUL alpha] -> [ADD beta*C] */
static int transposed_2d(ox_ctx *cx, int t, const char *tag) {
    if (OX_T(cx, t)->ndim != 2) { OX_FAIL(cx, FS_ERR_FORMAT, "Gemm operands must be 2-D"); return -1; }
    char ob[200];
    ox_fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int64_t d[2] = {OX_T(cx, t)->dims[1], OX_T(cx, t)->dims[0]};
    int y = ox_new_tensor(cx, ob, tag, OX_T(cx, t)->dtype, 2, d);
    int ni = y < 0 ? -1 : ox_emit(cx, NN_OP_TRANSPOSE, 1, &t, 1, &y);
    if (ni < 0) return -1;
    cx->g->nodes[ni].attr.perm[0] = 1;
    cx->g->nodes[ni].attr.perm[1] = 0;
    return y;
}

static int scalar_const(ox_ctx *cx, const char *ob, const char *tag, float v) {
    int64_t one = 1;
    int c = ox_new_tensor(cx, ob, tag, NN_F32, 1, &one);
    float *p = c < 0 ? NULL : nn_graph_alloc_const(cx->g, c);
    if (!p) return -1;
    *p = v;
    return c;
}

static fs_status gemm_general(ox_ctx *cx, int a, int b, int c, float alpha, float beta, int ta, int tb) {
    if (OX_T(cx, a)->ndim != 2 || OX_T(cx, b)->ndim != 2) return OX_FAIL(cx, FS_ERR_FORMAT, "Gemm operands must be 2-D");
    if (ta && (a = transposed_2d(cx, a, "At")) < 0) return FS_ERR_NOMEM;
    if (tb && (b = transposed_2d(cx, b, "Bt")) < 0) return FS_ERR_NOMEM;
    char ob[200];
    ox_fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int64_t d[2] = {OX_T(cx, a)->dims[0], OX_T(cx, b)->dims[1]};
    int last = alpha == 1.0f && c < 0;
    int y = last ? ox_out_t(cx, 0, NN_F32, 2, d) : ox_new_tensor(cx, ob, "ab", NN_F32, 2, d);
    int in[2] = {a, b};
    if (y < 0 || ox_emit(cx, NN_OP_MATMUL, 2, in, 1, &y) < 0) return FS_ERR_NOMEM;
    if (alpha != 1.0f) {
        int k = scalar_const(cx, ob, "alpha", alpha);
        int y2 = c < 0 ? ox_out_t(cx, 0, NN_F32, 2, d) : ox_new_tensor(cx, ob, "alpha_ab", NN_F32, 2, d);
        int in2[2] = {y, k};
        if (k < 0 || y2 < 0 || ox_emit(cx, NN_OP_MUL, 2, in2, 1, &y2) < 0) return FS_ERR_NOMEM;
        y = y2;
    }
    if (c >= 0) {
        if (beta != 1.0f) {
            int k = scalar_const(cx, ob, "beta", beta);
            int c2 = ox_new_tensor(cx, ob, "beta_c", NN_F32, OX_T(cx, c)->ndim, OX_T(cx, c)->dims);
            int in3[2] = {c, k};
            if (k < 0 || c2 < 0 || ox_emit(cx, NN_OP_MUL, 2, in3, 1, &c2) < 0) return FS_ERR_NOMEM;
            c = c2;
        }
        int y3 = ox_out_t(cx, 0, NN_F32, 2, d);
        int in4[2] = {y, c};
        if (y3 < 0 || ox_emit(cx, NN_OP_ADD, 2, in4, 1, &y3) < 0) return FS_ERR_NOMEM;
    }
    return FS_OK;
}

static fs_status op_gemm(ox_ctx *cx) {
    int a = ox_need_in(cx, 0), b = ox_need_in(cx, 1), c = ox_in_t(cx, 2);
    if (a < 0 || b < 0 || c == -2) return FS_ERR_FORMAT;
    float alpha = ox_attr_f(cx, "alpha", 1.0f), beta = ox_attr_f(cx, "beta", 1.0f);
    int64_t ta = ox_attr_i(cx, "transA", 0), tb = ox_attr_i(cx, "transB", 0);
    if (cx->opset < 7) ox_find_attr(cx, "broadcast");
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    if (ta || !OX_T(cx, b)->is_const) return gemm_general(cx, a, b, c, alpha, beta, (int)ta, (int)tb);
    const float *bd = ox_const_data(cx, b, "Gemm B");
    if (!bd) return FS_ERR_UNSUPPORTED;
    nn_tensor *bt = OX_T(cx, b);
    if (bt->ndim != 2 || bt->dtype != NN_F32) return OX_FAIL(cx, FS_ERR_FORMAT, "B must be a 2-D float tensor");
    int64_t K = tb ? bt->dims[1] : bt->dims[0], N = tb ? bt->dims[0] : bt->dims[1];
    if (OX_T(cx, a)->dims[1] >= 0 && OX_T(cx, a)->dims[1] != K) return OX_FAIL(cx, FS_ERR_FORMAT, "A and B do not match");
    float *w = malloc(sizeof(float) * (size_t)(N * K + N));
    if (!w) return fs_error(FS_ERR_NOMEM, "ONNX: out of memory");
    float *bias = w + N * K;
    for (int64_t n = 0; n < N; n++)
        for (int64_t k = 0; k < K; k++) w[n * K + k] = alpha * (tb ? bd[n * K + k] : bd[k * N + n]);
    int has_bias = 0;
    if (c >= 0) {
        nn_tensor *ct = OX_T(cx, c);
        const float *cd = ox_const_data(cx, c, "Gemm C");
        int64_t cn = nn_tensor_numel(ct);
        int ok = cd && ct->dtype == NN_F32 && (cn == 1 || (cn == N && ct->dims[ct->ndim - 1] == N));
        if (!ok) {
            free(w);
            return cd ? OX_FAIL(cx, FS_ERR_UNSUPPORTED, "C must broadcast along rows (shape [N], [1,N] or scalar)")
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
    int a = ox_need_in(cx, 0), b = ox_need_in(cx, 1);
    if (a < 0 || b < 0) return FS_ERR_FORMAT;
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    nn_tensor *at = OX_T(cx, a), *bt = OX_T(cx, b);
    if (bt->is_const && bt->ndim == 2 && bt->dtype == NN_F32 && at->ndim >= 2) {
        int64_t K = bt->dims[0], N = bt->dims[1];
        if (at->dims[at->ndim - 1] >= 0 && at->dims[at->ndim - 1] != K)
            return OX_FAIL(cx, FS_ERR_FORMAT, "inner dims differ (%lld vs %lld)", (long long)at->dims[at->ndim - 1], (long long)K);
        float *w = malloc(sizeof(float) * (size_t)(N * K) + 1);
        if (!w) return fs_error(FS_ERR_NOMEM, "ONNX: out of memory");
        const float *bd = bt->data;
        for (int64_t n = 0; n < N; n++)
            for (int64_t k = 0; k < K; k++) w[n * K + k] = bd[k * N + n];
        st = emit_fc(cx, a, w, N, K, NULL, 1);
        free(w);
        return st;
    }
    if (at->ndim < 2 || bt->ndim < 2) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "1-D MatMul operands are not supported");
    int nd;
    int64_t d[NN_MAX_DIMS];
    if (ld_broadcast(at->ndim - 2, at->dims, bt->ndim - 2, bt->dims, &nd, d))
        return OX_FAIL(cx, FS_ERR_FORMAT, "batch dims do not broadcast");
    d[nd] = at->dims[at->ndim - 2];
    d[nd + 1] = bt->dims[bt->ndim - 1];
    int y = ox_out_t(cx, 0, NN_F32, nd + 2, d);
    int in[2] = {a, b};
    if (y < 0 || ox_emit(cx, NN_OP_MATMUL, 2, in, 1, &y) < 0) return FS_ERR_NOMEM;
    return FS_OK;
}

static fs_status op_shape(ox_ctx *cx) {
    int x = ox_need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    ox_attr *as = ox_find_attr(cx, "start"), *ae = ox_find_attr(cx, "end");
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    int64_t r = OX_T(cx, x)->ndim;
    if (!as && !ae) {
        int y = ox_out_t(cx, 0, NN_I64, 1, &r);
        if (y < 0 || ox_emit(cx, NN_OP_SHAPE, 1, &x, 1, &y) < 0) return FS_ERR_NOMEM;
        return FS_OK;
    }
    /* Shape(start, end) = Slice(Shape(x), start, end) */
    char ob[200];
    ox_fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int s0 = ox_new_tensor(cx, ob, "full", NN_I64, 1, &r);
    if (s0 < 0 || ox_emit(cx, NN_OP_SHAPE, 1, &x, 1, &s0) < 0) return FS_ERR_NOMEM;
    int64_t b = as ? as->i : 0, e = ae ? ae->i : r;
    if (b < 0) b += r;
    if (e < 0) e += r;
    b = b < 0 ? 0 : b > r ? r : b;
    e = e < 0 ? 0 : e > r ? r : e;
    int64_t len = e > b ? e - b : 0;
    nn_attr *a = ox_emit1(cx, NN_OP_SLICE, s0, NN_I64, 1, &len);
    if (!a) return FS_ERR_NOMEM;
    a->n_axes = 1;
    a->axes[0] = 0;
    a->starts[0] = b;
    a->ends[0] = e;
    a->steps[0] = 1;
    return FS_OK;
}

static fs_status op_gather(ox_ctx *cx) {
    int x = ox_need_in(cx, 0), idx = ox_need_in(cx, 1);
    if (x < 0 || idx < 0) return FS_ERR_FORMAT;
    int64_t axis = ox_attr_i(cx, "axis", 0);
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    nn_tensor *xt = OX_T(cx, x), *it = OX_T(cx, idx);
    int r = xt->ndim;
    if (axis < -r || axis >= r) return OX_FAIL(cx, FS_ERR_FORMAT, "axis %lld out of range for rank %d", (long long)axis, r);
    if (it->dtype != NN_I64 && it->dtype != NN_I32) return OX_FAIL(cx, FS_ERR_FORMAT, "indices must be int64/int32");
    int ax = ox_norm_axis(axis, r), nd = r - 1 + it->ndim;
    if (nd > NN_MAX_DIMS) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "output rank %d", nd);
    int64_t d[NN_MAX_DIMS];
    int k = 0;
    for (int i = 0; i < ax; i++) d[k++] = xt->dims[i];
    for (int i = 0; i < it->ndim; i++) d[k++] = it->dims[i];
    for (int i = ax + 1; i < r; i++) d[k++] = xt->dims[i];
    int y = ox_out_t(cx, 0, xt->dtype, nd, d);
    int in[2] = {x, idx};
    int ni = y < 0 ? -1 : ox_emit(cx, NN_OP_GATHER, 2, in, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    cx->g->nodes[ni].attr.axis = ax;
    return FS_OK;
}

/* Squeeze / Unsqueeze: axes from the attribute (opset < 13) or a const input */
static fs_status op_squeeze(ox_ctx *cx, int unsq) {
    int x = ox_need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    int64_t ax[NN_MAX_DIMS];
    int n;
    if (cx->opset < 13) {
        n = ox_attr_ints(cx, "axes", ax, NN_MAX_DIMS);
        if (n < 0) return FS_ERR_UNSUPPORTED;
    } else {
        int t = ox_in_t(cx, 1);
        if (t == -2) return FS_ERR_FORMAT;
        n = t < 0 ? 0 : ox_const_ints(cx, t, "axes", ax, NN_MAX_DIMS);
        if (n < 0) return FS_ERR_UNSUPPORTED;
    }
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    nn_tensor *xt = OX_T(cx, x);
    int r = xt->ndim, ro = unsq ? r + n : r - n;
    if (unsq && !n) return OX_FAIL(cx, FS_ERR_FORMAT, "axes is missing");
    if (ro < 0 || ro > NN_MAX_DIMS) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "output rank %d", ro);
    int flag[NN_MAX_DIMS] = {0};
    int64_t d[NN_MAX_DIMS];
    int range = unsq ? ro : r;
    for (int i = 0; i < n; i++) {
        if (ax[i] < -range || ax[i] >= range) return OX_FAIL(cx, FS_ERR_FORMAT, "axis %lld out of range", (long long)ax[i]);
        int a = ox_norm_axis(ax[i], range);
        if (flag[a]) return OX_FAIL(cx, FS_ERR_FORMAT, "axis %d repeated", a);
        flag[a] = 1;
        ax[i] = a;
    }
    if (!unsq && !n) { /* every dim of size 1: needs known dims */
        ro = 0;
        for (int i = 0; i < r; i++) {
            if (xt->dims[i] < 0) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "squeezing all unit dims of an unknown shape");
            if (xt->dims[i] != 1) d[ro++] = xt->dims[i];
        }
    } else if (unsq) {
        for (int i = 0, k = 0; i < ro; i++) d[i] = flag[i] ? 1 : xt->dims[k++];
    } else {
        ro = 0;
        for (int i = 0; i < r; i++) {
            if (flag[i] && xt->dims[i] >= 0 && xt->dims[i] != 1)
                return OX_FAIL(cx, FS_ERR_FORMAT, "cannot squeeze dim %d of size %lld", i, (long long)xt->dims[i]);
            if (!flag[i]) d[ro++] = xt->dims[i];
        }
    }
    nn_attr *a = ox_emit1(cx, unsq ? NN_OP_UNSQUEEZE : NN_OP_SQUEEZE, x, xt->dtype, ro, d);
    if (!a) return FS_ERR_NOMEM;
    if (!unsq && !n) { /* resolved: list the squeezed axes */
        xt = OX_T(cx, x);
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
    if (nd->n_at != 1) return OX_FAIL(cx, FS_ERR_FORMAT, "expects exactly one value attribute");
    ox_attr *a = &nd->at[0];
    a->used = 1;
    char an[32];
    ox_fcopy(an, sizeof an, &a->name);
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
        y = ox_out_t(cx, 0, (nn_dtype)dt, tp.ndim, tp.dims);
        if (y < 0) return FS_ERR_NOMEM;
        void *p = nn_graph_alloc_const(cx->g, y);
        if (!p) return FS_ERR_NOMEM;
        return tp_read(&tp, p, OX_T(cx, y)->nbytes);
    } else if (!strcmp(an, "value_float") || !strcmp(an, "value_int")) {
        y = ox_out_t(cx, 0, an[6] == 'f' ? NN_F32 : NN_I64, 0, NULL);
        void *p = y < 0 ? NULL : nn_graph_alloc_const(cx->g, y);
        if (!p) return FS_ERR_NOMEM;
        if (an[6] == 'f') *(float *)p = a->f;
        else *(int64_t *)p = a->i;
    } else if (!strcmp(an, "value_floats") || !strcmp(an, "value_ints")) {
        if (a->overflow) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "more than %d values", OX_MAX_LIST);
        int isf = an[6] == 'f';
        dims[0] = isf ? a->n_floats : a->n_ints;
        y = ox_out_t(cx, 0, isf ? NN_F32 : NN_I64, 1, dims);
        void *p = y < 0 ? NULL : nn_graph_alloc_const(cx->g, y);
        if (!p) return FS_ERR_NOMEM;
        if (isf) memcpy(p, a->floats, sizeof(float) * (size_t)a->n_floats);
        else memcpy(p, a->ints, sizeof(int64_t) * (size_t)a->n_ints);
    } else {
        return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "attribute '%s' is not supported", an);
    }
    return FS_OK;
}

static fs_status op_identity(ox_ctx *cx, int dropout) {
    int x = ox_need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    if (dropout) {
        ox_find_attr(cx, "ratio");
        if (cx->opset < 7 && ox_attr_i(cx, "is_test", 0) != 1)
            return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "is_test 0 (training mode) is not supported");
        if (ox_find_attr(cx, "seed")) { /* irrelevant for inference */ }
        int tm = ox_in_t(cx, 2);
        if (tm == -2) return FS_ERR_FORMAT;
        if (tm >= 0) {
            const uint8_t *p = ox_const_data(cx, tm, "training_mode");
            if (!p) return FS_ERR_UNSUPPORTED;
            if (*p) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "training_mode true is not supported");
        }
        if (cx->nd->n_out > 1 && cx->nd->out[1].len) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "the mask output is not supported");
    }
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    return ox_alias_out(cx, 0, x);
}

static fs_status op_cast(ox_ctx *cx) {
    int64_t to = ox_attr_i(cx, "to", -1);
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    int dt = tp_nn_dtype((int)to);
    if (dt < 0) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "cast to %s", tp_dtype_name((int)to));
    int x = ox_need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    if (to == TP_DOUBLE || to == TP_FLOAT16 || to == TP_INT16 || to == TP_UINT16)
        return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "cast to %s", tp_dtype_name((int)to));
    nn_attr *a = ox_emit1(cx, NN_OP_CAST, x, (nn_dtype)dt, OX_T(cx, x)->ndim, OX_T(cx, x)->dims);
    if (!a) return FS_ERR_NOMEM;
    a->to = (nn_dtype)dt;
    return FS_OK;
}

static fs_status op_reduce(ox_ctx *cx, nn_op_type op) {
    int x = ox_need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    int64_t ax[NN_MAX_DIMS];
    int n = ox_attr_ints(cx, "axes", ax, NN_MAX_DIMS);
    if (n < 0) return FS_ERR_UNSUPPORTED;
    int keep = (int)ox_attr_i(cx, "keepdims", 1);
    int noop = (int)ox_attr_i(cx, "noop_with_empty_axes", 0);
    int t = ox_in_t(cx, 1);
    if (t == -2) return FS_ERR_FORMAT;
    if (t >= 0 && (n = ox_const_ints(cx, t, "axes", ax, NN_MAX_DIMS)) < 0) return FS_ERR_UNSUPPORTED;
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    nn_tensor *xt = OX_T(cx, x);
    int r = xt->ndim, flag[NN_MAX_DIMS] = {0};
    for (int i = 0; i < n; i++) {
        if (ax[i] < -r || ax[i] >= r) return OX_FAIL(cx, FS_ERR_FORMAT, "axis %lld out of range", (long long)ax[i]);
        ax[i] = ox_norm_axis(ax[i], r);
        flag[ax[i]] = 1;
    }
    int64_t d[NN_MAX_DIMS];
    int ro = 0;
    for (int i = 0; i < r; i++) {
        int red = n ? flag[i] : !noop;
        if (!red) d[ro++] = xt->dims[i];
        else if (keep) d[ro++] = 1;
    }
    nn_attr *a = ox_emit1(cx, op, x, xt->dtype, ro, d);
    if (!a) return FS_ERR_NOMEM;
    for (int i = 0; i < n; i++) a->axes[i] = (int)ax[i];
    a->n_axes = n;
    a->keepdims = keep;
    a->noop_with_empty_axes = noop;
    return FS_OK;
}

/* Pad: opset >= 11 pads / constant_value inputs (const), else attributes */
static fs_status op_pad(ox_ctx *cx) {
    int x = ox_need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    char mode[16];
    ox_attr_s(cx, "mode", "constant", mode, sizeof mode);
    nn_pad_mode pm;
    if (!strcmp(mode, "constant")) pm = NN_PAD_CONSTANT;
    else if (!strcmp(mode, "reflect")) pm = NN_PAD_REFLECT;
    else if (!strcmp(mode, "edge")) pm = NN_PAD_EDGE;
    else return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "mode '%s' is not supported", mode);
    int r = OX_T(cx, x)->ndim;
    int64_t pads[2 * NN_MAX_DIMS];
    float value = 0.0f;
    int n;
    if (cx->opset < 11) {
        n = ox_attr_ints(cx, cx->opset < 2 ? "paddings" : "pads", pads, 2 * NN_MAX_DIMS);
        if (n < 0) return FS_ERR_UNSUPPORTED;
        value = ox_attr_f(cx, "value", 0.0f);
    } else {
        int tp = ox_need_in(cx, 1), tv = ox_in_t(cx, 2);
        if (tp < 0 || tv == -2) return FS_ERR_FORMAT;
        n = ox_const_ints(cx, tp, "pads", pads, 2 * NN_MAX_DIMS);
        if (n < 0) return FS_ERR_UNSUPPORTED;
        if (tv >= 0) {
            float v[1];
            if (nn_tensor_numel(OX_T(cx, tv)) > 1 || (nn_tensor_numel(OX_T(cx, tv)) == 1 && ox_const_floats(cx, tv, "constant_value", v, 1) != 1))
                return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "constant_value must be a float32 constant scalar");
            if (nn_tensor_numel(OX_T(cx, tv)) == 1) value = v[0];
        }
        if (cx->nd->n_in > 3 && cx->nd->in[3].len) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "the axes input is not supported");
    }
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    if (n != 2 * r) return OX_FAIL(cx, FS_ERR_FORMAT, "pads has %d values for rank %d", n, r);
    int64_t d[NN_MAX_DIMS];
    for (int i = 0; i < r; i++) {
        if (pads[i] < 0 || pads[r + i] < 0) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "negative pads are not supported");
        if (pads[i] > (1 << 30) || pads[r + i] > (1 << 30)) return OX_FAIL(cx, FS_ERR_LIMIT, "absurd pads");
        int64_t xd = OX_T(cx, x)->dims[i];
        d[i] = xd < 0 ? -1 : xd + pads[i] + pads[r + i];
    }
    nn_attr *a = ox_emit1(cx, NN_OP_PAD, x, OX_T(cx, x)->dtype, r, d);
    if (!a) return FS_ERR_NOMEM;
    memcpy(a->pads, pads, sizeof(int64_t) * 2 * (size_t)r);
    a->pad_mode = pm;
    a->pad_value = value;
    return FS_OK;
}

/* Slice: opset >= 10 const inputs (starts, ends, [axes], [steps]), else attributes */
static fs_status op_slice(ox_ctx *cx) {
    int x = ox_need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    int64_t st_[NN_MAX_DIMS], en[NN_MAX_DIMS], ax[NN_MAX_DIMS], sp[NN_MAX_DIMS];
    int n, r = OX_T(cx, x)->ndim;
    if (cx->opset < 10) {
        n = ox_attr_ints(cx, "starts", st_, NN_MAX_DIMS);
        int ne = ox_attr_ints(cx, "ends", en, NN_MAX_DIMS), na = ox_attr_ints(cx, "axes", ax, NN_MAX_DIMS);
        if (n < 0 || ne < 0 || na < 0) return FS_ERR_UNSUPPORTED;
        if (ne != n || (na && na != n)) return OX_FAIL(cx, FS_ERR_FORMAT, "starts/ends/axes lengths differ");
        if (!na) for (int i = 0; i < n; i++) ax[i] = i;
        for (int i = 0; i < n; i++) sp[i] = 1;
    } else {
        int t[4];
        for (int k = 0; k < 4; k++) {
            t[k] = ox_in_t(cx, k + 1);
            if (t[k] == -2) return FS_ERR_FORMAT;
        }
        if (t[0] < 0 || t[1] < 0) return OX_FAIL(cx, FS_ERR_FORMAT, "starts and ends are required");
        n = ox_const_ints(cx, t[0], "starts", st_, NN_MAX_DIMS);
        if (n < 0 || ox_const_ints(cx, t[1], "ends", en, NN_MAX_DIMS) != n) return n < 0 ? FS_ERR_UNSUPPORTED : OX_FAIL(cx, FS_ERR_FORMAT, "ends length");
        if (t[2] >= 0) { if (ox_const_ints(cx, t[2], "axes", ax, NN_MAX_DIMS) != n) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "axes must be a constant of the starts' length"); }
        else for (int i = 0; i < n; i++) ax[i] = i;
        if (t[3] >= 0) { if (ox_const_ints(cx, t[3], "steps", sp, NN_MAX_DIMS) != n) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "steps must be a constant of the starts' length"); }
        else for (int i = 0; i < n; i++) sp[i] = 1;
    }
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    int seen = 0;
    for (int i = 0; i < n; i++) {
        if (ax[i] < -r || ax[i] >= r) return OX_FAIL(cx, FS_ERR_FORMAT, "axis %lld out of range", (long long)ax[i]);
        int a = ox_norm_axis(ax[i], r);
        if (seen >> a & 1) return OX_FAIL(cx, FS_ERR_FORMAT, "axis %d repeated", a);
        seen |= 1 << a;
        if (sp[i] == 0) return OX_FAIL(cx, FS_ERR_FORMAT, "step 0");
    }
    nn_attr *a = ox_emit1(cx, NN_OP_SLICE, x, OX_T(cx, x)->dtype, r, NULL);
    if (!a) return FS_ERR_NOMEM;
    for (int i = 0; i < n; i++) {
        a->axes[i] = ox_norm_axis(ax[i], r);
        a->starts[i] = st_[i];
        a->ends[i] = en[i];
        a->steps[i] = sp[i];
    }
    a->n_axes = n;
    return FS_OK;
}

static fs_status op_split(ox_ctx *cx) {
    int x = ox_need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    int64_t axis = ox_attr_i(cx, "axis", 0), sz[NN_MAX_IO];
    int n = 0;
    if (cx->opset < 13 && !(cx->nd->n_in > 1 && cx->nd->in[1].len)) {
        n = ox_attr_ints(cx, "split", sz, NN_MAX_IO);
        if (n < 0) return FS_ERR_UNSUPPORTED;
    } else { /* Split-13 input (Split-1 also accepted it as a second input) */
        int t = ox_in_t(cx, 1);
        if (t == -2) return FS_ERR_FORMAT;
        if (t >= 0 && (n = ox_const_ints(cx, t, "split", sz, NN_MAX_IO)) < 0) return FS_ERR_UNSUPPORTED;
    }
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    int r = OX_T(cx, x)->ndim, no = cx->nd->n_out;
    if (axis < -r || axis >= r) return OX_FAIL(cx, FS_ERR_FORMAT, "axis %lld out of range for rank %d", (long long)axis, r);
    if (no < 1 || no > NN_MAX_IO) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "%d outputs", no);
    if (n && n != no) return OX_FAIL(cx, FS_ERR_FORMAT, "%d split sizes for %d outputs", n, no);
    int out[NN_MAX_IO];
    for (int k = 0; k < no; k++) {
        int64_t d[NN_MAX_DIMS];
        memcpy(d, OX_T(cx, x)->dims, sizeof d);
        d[ox_norm_axis(axis, r)] = n ? sz[k] : -1;
        if (n && sz[k] < 0) return OX_FAIL(cx, FS_ERR_FORMAT, "negative split size");
        if ((out[k] = ox_out_t(cx, k, OX_T(cx, x)->dtype, r, d)) < 0) return FS_ERR_NOMEM;
    }
    int ni = ox_emit(cx, NN_OP_SPLIT, 1, &x, no, out);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    a->axis = ox_norm_axis(axis, r);
    a->n_split = n;
    memcpy(a->split, sz, sizeof(int64_t) * (size_t)n);
    return FS_OK;
}

/* Sum / Mean / Max / Min with any number of inputs: a chain of binary ops */
static fs_status op_variadic(ox_ctx *cx, nn_op_type op, int mean) {
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    int n = cx->nd->n_in;
    if (n < 1) return OX_FAIL(cx, FS_ERR_FORMAT, "no inputs");
    int acc = ox_need_in(cx, 0);
    if (acc < 0) return FS_ERR_FORMAT;
    char ob[200];
    ox_fcopy(ob, sizeof ob, &cx->nd->out[0]);
    for (int k = 1; k < n; k++) {
        int b = ox_need_in(cx, k);
        if (b < 0) return FS_ERR_FORMAT;
        int nd;
        int64_t d[NN_MAX_DIMS];
        if (ld_broadcast(OX_T(cx, acc)->ndim, OX_T(cx, acc)->dims, OX_T(cx, b)->ndim, OX_T(cx, b)->dims, &nd, d))
            return OX_FAIL(cx, FS_ERR_FORMAT, "input shapes do not broadcast");
        if (OX_T(cx, acc)->dtype != OX_T(cx, b)->dtype) return OX_FAIL(cx, FS_ERR_FORMAT, "input dtypes differ");
        char tag[16];
        snprintf(tag, sizeof tag, "acc%d", k);
        int y = (k == n - 1 && !mean) ? ox_out_t(cx, 0, OX_T(cx, acc)->dtype, nd, d) : ox_new_tensor(cx, ob, tag, OX_T(cx, acc)->dtype, nd, d);
        int in[2] = {acc, b};
        if (y < 0 || ox_emit(cx, op, 2, in, 1, &y) < 0) return FS_ERR_NOMEM;
        acc = y;
    }
    if (mean) {
        int64_t one = 1;
        int c = ox_new_tensor(cx, ob, "count", NN_F32, 1, &one);
        float *cd = c < 0 ? NULL : nn_graph_alloc_const(cx->g, c);
        if (!cd) return FS_ERR_NOMEM;
        *cd = (float)n;
        int y = ox_out_t(cx, 0, OX_T(cx, acc)->dtype, OX_T(cx, acc)->ndim, OX_T(cx, acc)->dims);
        int in[2] = {acc, c};
        if (y < 0 || ox_emit(cx, NN_OP_DIV, 2, in, 1, &y) < 0) return FS_ERR_NOMEM;
    } else if (n == 1) {
        return ox_alias_out(cx, 0, acc);
    }
    return FS_OK;
}

static fs_status op_hard_sigmoid(ox_ctx *cx) {
    float alpha = ox_attr_f(cx, "alpha", 0.2f), beta = ox_attr_f(cx, "beta", 0.5f);
    fs_status st = ox_check_attrs_used(cx);
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
    ox_fcopy(ob, sizeof ob, &cx->nd->out[0]);
    snprintf(ct, sizeof ct, "%s_k", tag);
    int c = ox_new_tensor(cx, ob, ct, NN_F32, ndim, cd);
    float *p = c < 0 ? NULL : nn_graph_alloc_const(cx->g, c);
    if (!p) return -1;
    memcpy(p, v, sizeof(float) * (size_t)n);
    int nd;
    int64_t d[NN_MAX_DIMS];
    if (ld_broadcast(OX_T(cx, a)->ndim, OX_T(cx, a)->dims, ndim, cd, &nd, d)) {
        OX_FAIL(cx, FS_ERR_FORMAT, "shapes do not broadcast");
        return -1;
    }
    int y = final ? ox_out_t(cx, 0, NN_F32, nd, d) : ox_new_tensor(cx, ob, tag, NN_F32, nd, d);
    int in[2] = {a, c};
    if (y < 0 || ox_emit(cx, op, 2, in, 1, &y) < 0) return -1;
    return y;
}

/* y = gamma * Elu(x, alpha) */
static fs_status op_selu(ox_ctx *cx) {
    float alpha = ox_attr_f(cx, "alpha", 1.67326319217681884765625f), gamma = ox_attr_f(cx, "gamma", 1.05070102214813232421875f);
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    int x = ox_need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    char ob[200];
    ox_fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int e = ox_new_tensor(cx, ob, "elu", NN_F32, OX_T(cx, x)->ndim, OX_T(cx, x)->dims);
    int ni = e < 0 ? -1 : ox_emit(cx, NN_OP_ELU, 1, &x, 1, &e);
    if (ni < 0) return FS_ERR_NOMEM;
    cx->g->nodes[ni].attr.alpha = alpha;
    return chain_const(cx, NN_OP_MUL, e, "gamma", 0, NULL, &gamma, 1, 1) < 0 ? FS_ERR_NOMEM : FS_OK;
}

/* y = x / (1 + |x|) */
static fs_status op_softsign(ox_ctx *cx) {
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    int x = ox_need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    char ob[200];
    ox_fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int a = ox_new_tensor(cx, ob, "abs", NN_F32, OX_T(cx, x)->ndim, OX_T(cx, x)->dims);
    if (a < 0 || ox_emit(cx, NN_OP_ABS, 1, &x, 1, &a) < 0) return FS_ERR_NOMEM;
    float one = 1.0f;
    int d = chain_const(cx, NN_OP_ADD, a, "den", 0, NULL, &one, 1, 0);
    if (d < 0) return FS_ERR_NOMEM;
    int y = ox_out_t(cx, 0, NN_F32, OX_T(cx, x)->ndim, OX_T(cx, x)->dims);
    int in[2] = {x, d};
    return y < 0 || ox_emit(cx, NN_OP_DIV, 2, in, 1, &y) < 0 ? FS_ERR_NOMEM : FS_OK;
}

/* Expand(x, shape) = x * ones(shape) (numpy broadcasting both ways, exact) */
static fs_status op_expand(ox_ctx *cx) {
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    int x = ox_need_in(cx, 0), s = ox_need_in(cx, 1);
    if (x < 0 || s < 0) return FS_ERR_FORMAT;
    int64_t sv[NN_MAX_DIMS];
    int n = ox_const_ints(cx, s, "shape", sv, NN_MAX_DIMS);
    if (n < 0) return FS_ERR_UNSUPPORTED;
    int64_t numel = 1;
    for (int i = 0; i < n; i++) {
        if (sv[i] < 0 || sv[i] > (1 << 24)) return OX_FAIL(cx, FS_ERR_FORMAT, "shape value %lld", (long long)sv[i]);
        numel *= sv[i];
        if (numel > (1 << 24)) return OX_FAIL(cx, FS_ERR_LIMIT, "expanded shape too large");
    }
    if (OX_T(cx, x)->dtype != NN_F32) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "only float32 Expand is supported");
    float *ones = malloc(sizeof(float) * (size_t)(numel ? numel : 1));
    if (!ones) return fs_error(FS_ERR_NOMEM, "ONNX: out of memory");
    for (int64_t i = 0; i < numel; i++) ones[i] = 1.0f;
    int y = chain_const(cx, NN_OP_MUL, x, "ones", n, sv, ones, numel, 1);
    free(ones);
    return y < 0 ? FS_ERR_NOMEM : FS_OK;
}

/* ConstantOfShape with a constant shape input: a constant tensor */
static fs_status op_constant_of_shape(ox_ctx *cx) {
    ox_attr *va = ox_find_attr(cx, "value");
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    int s = ox_need_in(cx, 0);
    if (s < 0) return FS_ERR_FORMAT;
    int64_t sv[NN_MAX_DIMS];
    int n = ox_const_ints(cx, s, "shape", sv, NN_MAX_DIMS);
    if (n < 0) return FS_ERR_UNSUPPORTED;
    int64_t numel = 1;
    for (int i = 0; i < n; i++) {
        if (sv[i] < 0 || sv[i] > (1 << 24)) return OX_FAIL(cx, FS_ERR_FORMAT, "shape value %lld", (long long)sv[i]);
        numel *= sv[i];
        if (numel > (1 << 24)) return OX_FAIL(cx, FS_ERR_LIMIT, "shape too large");
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
        if (tp.numel != 1) return OX_FAIL(cx, FS_ERR_FORMAT, "value must hold one element");
        if ((st = tp_read(&tp, val, sizeof val))) return st;
        dt = (nn_dtype)d;
    }
    int y = ox_out_t(cx, 0, dt, n, sv);
    uint8_t *p = y < 0 ? NULL : nn_graph_alloc_const(cx->g, y);
    if (!p && numel) return FS_ERR_NOMEM;
    size_t es = nn_dtype_size(dt);
    for (int64_t i = 0; i < numel; i++) memcpy(p + (size_t)i * es, val, es);
    return FS_OK;
}

/* InstanceNormalization: y = (x - mean) / sqrt(var + eps) * scale + B over the spatial dims */
static fs_status op_instance_norm(ox_ctx *cx) {
    float eps = ox_attr_f(cx, "epsilon", 1e-5f);
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    int x = ox_need_in(cx, 0), ts = ox_need_in(cx, 1), tb = ox_need_in(cx, 2);
    if (x < 0 || ts < 0 || tb < 0) return FS_ERR_FORMAT;
    int r = OX_T(cx, x)->ndim;
    int64_t C = OX_T(cx, x)->dims[1];
    if (r < 3) return OX_FAIL(cx, FS_ERR_FORMAT, "input of rank %d", r);
    float *sc = malloc(sizeof(float) * 2 * (size_t)(C > 0 ? C : 1));
    if (!sc) return fs_error(FS_ERR_NOMEM, "ONNX: out of memory");
    if (C < 1 || C > (1 << 24) || ox_const_floats(cx, ts, "scale", sc, (int)C) != C || ox_const_floats(cx, tb, "B", sc + C, (int)C) != C) {
        free(sc);
        return C < 1 ? OX_FAIL(cx, FS_ERR_UNSUPPORTED, "unknown channel count") : OX_FAIL(cx, FS_ERR_UNSUPPORTED, "scale and B must be constants of C values");
    }
    char ob[200];
    ox_fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int64_t md[NN_MAX_DIMS];
    for (int i = 0; i < r; i++) md[i] = i < 2 ? OX_T(cx, x)->dims[i] : 1;
    /* mean over spatial dims (keepdims), centre, variance */
    int mean = ox_new_tensor(cx, ob, "mean", NN_F32, r, md);
    int ni = mean < 0 ? -1 : ox_emit(cx, NN_OP_REDUCE_MEAN, 1, &x, 1, &mean);
    if (ni < 0) { free(sc); return FS_ERR_NOMEM; }
    nn_attr *a = &cx->g->nodes[ni].attr;
    for (int i = 2; i < r; i++) a->axes[i - 2] = i;
    a->n_axes = r - 2;
    a->keepdims = 1;
    int dlt = ox_new_tensor(cx, ob, "centred", NN_F32, r, OX_T(cx, x)->dims);
    int in[2] = {x, mean};
    if (dlt < 0 || ox_emit(cx, NN_OP_SUB, 2, in, 1, &dlt) < 0) { free(sc); return FS_ERR_NOMEM; }
    int sq = ox_new_tensor(cx, ob, "sq", NN_F32, r, OX_T(cx, x)->dims);
    int in2[2] = {dlt, dlt};
    if (sq < 0 || ox_emit(cx, NN_OP_MUL, 2, in2, 1, &sq) < 0) { free(sc); return FS_ERR_NOMEM; }
    int var = ox_new_tensor(cx, ob, "var", NN_F32, r, md);
    ni = var < 0 ? -1 : ox_emit(cx, NN_OP_REDUCE_MEAN, 1, &sq, 1, &var);
    if (ni < 0) { free(sc); return FS_ERR_NOMEM; }
    a = &cx->g->nodes[ni].attr;
    for (int i = 2; i < r; i++) a->axes[i - 2] = i;
    a->n_axes = r - 2;
    a->keepdims = 1;
    int ve = chain_const(cx, NN_OP_ADD, var, "var_eps", 0, NULL, &eps, 1, 0);
    int sd = ve < 0 ? -1 : ox_new_tensor(cx, ob, "std", NN_F32, r, md);
    if (sd < 0 || ox_emit(cx, NN_OP_SQRT, 1, &ve, 1, &sd) < 0) { free(sc); return FS_ERR_NOMEM; }
    int nrm = ox_new_tensor(cx, ob, "normalised", NN_F32, r, OX_T(cx, x)->dims);
    int in3[2] = {dlt, sd};
    if (nrm < 0 || ox_emit(cx, NN_OP_DIV, 2, in3, 1, &nrm) < 0) { free(sc); return FS_ERR_NOMEM; }
    int64_t cd[NN_MAX_DIMS];
    cd[0] = C;
    for (int i = 1; i < r - 1; i++) cd[i] = 1;
    int sy = chain_const(cx, NN_OP_MUL, nrm, "scaled", r - 1, cd, sc, C, 0);
    int y = sy < 0 ? -1 : chain_const(cx, NN_OP_ADD, sy, "shifted", r - 1, cd, sc + C, C, 1);
    free(sc);
    return y < 0 ? FS_ERR_NOMEM : FS_OK;
}

/* LRN across channels (axis 1): y = x / (bias + alpha / size * sum of squares in the window)^beta */
static fs_status op_lrn(ox_ctx *cx) {
    float alpha = ox_attr_f(cx, "alpha", 1e-4f), beta = ox_attr_f(cx, "beta", 0.75f), bias = ox_attr_f(cx, "bias", 1.0f);
    if (!ox_find_attr(cx, "size")) return OX_FAIL(cx, FS_ERR_FORMAT, "attribute 'size' is required");
    int64_t size = ox_attr_i(cx, "size", 0);
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    if (size < 1 || size > (1 << 20)) return OX_FAIL(cx, FS_ERR_FORMAT, "size %lld", (long long)size);
    int x = ox_need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    if (OX_T(cx, x)->ndim < 2) return OX_FAIL(cx, FS_ERR_FORMAT, "input of rank %d", OX_T(cx, x)->ndim);
    int ni;
    if ((st = op_unary(cx, NN_OP_LRN, &ni))) return st;
    nn_attr *a = &cx->g->nodes[ni].attr;
    a->axis = 1;
    a->alpha = alpha;
    a->beta = beta;
    a->lrn_bias = bias;
    a->lrn_size = (int)size;
    return FS_OK;
}

/* ------------------------------------------------------------------ dispatch */

fs_status ox_convert_ops(ox_ctx *cx, int *handled) {
    const char *op = cx->op;
    *handled = 1;
#define IS(s) (!strcmp(op, s))
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
    if (IS("LRN")) return op_lrn(cx);
    if (IS("Transpose")) return op_transpose(cx);
    if (IS("Reshape")) return op_reshape(cx);
    if (IS("Flatten")) return op_flatten(cx);
    if (IS("Concat")) return op_concat(cx);
    if (IS("Softmax")) return op_softmax(cx, NN_OP_SOFTMAX);
    if (IS("LogSoftmax")) return op_softmax(cx, NN_OP_LOG_SOFTMAX);
    if (IS("Gemm")) return op_gemm(cx);
    if (IS("MatMul")) return op_matmul(cx);
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
    *handled = 0;
    return FS_OK;
}
