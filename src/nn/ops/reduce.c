/* nn/ops/reduce.c — ReduceMean / ReduceMax / ReduceMin / ReduceSum over a set of axes (attr or a
 * constant in[1]), keepdims or not. Reference: one pass over the input in order, accumulating
 * into the output element its index maps to (reduced axes get output stride 0). */
#include <math.h>
#include <string.h>

#include "nn/ops/ops.h"

typedef struct {
    int nd;
    int64_t dims[NN_MAX_DIMS];
    int64_t ostr[NN_MAX_DIMS]; /* output stride per input dim, 0 on reduced dims */
    size_t in_total, out_total, count;
    int identity;              /* noop_with_empty_axes and no axes */
} red_state;

static fs_status red_axes(nn_graph *g, nn_node *n, int *mask, int *identity) {
    nn_tensor *x = nn_in(g, n, 0), *ax = nn_in(g, n, 1);
    int64_t axes[NN_MAX_DIMS];
    int na = n->attr.n_axes;
    if (ax) {
        if (!ax->is_const) return nn_node_error(n, FS_ERR_UNSUPPORTED, "non-constant axes");
        na = nn_const_ints(ax, axes, NN_MAX_DIMS);
        if (na < 0) return nn_node_error(n, FS_ERR_FORMAT, "axes input is not a small int vector");
    } else {
        if (na < 0 || na > NN_MAX_DIMS) return nn_node_error(n, FS_ERR_FORMAT, "%d axes", na);
        for (int i = 0; i < na; i++) axes[i] = n->attr.axes[i];
    }
    *identity = 0;
    for (int d = 0; d < NN_MAX_DIMS; d++) mask[d] = 0;
    if (na == 0) {
        if (n->attr.noop_with_empty_axes) *identity = 1;
        else for (int d = 0; d < x->ndim; d++) mask[d] = 1;
        return FS_OK;
    }
    for (int i = 0; i < na; i++) {
        int a = nn_axis((int)axes[i], x->ndim);
        if (axes[i] < -NN_MAX_DIMS || axes[i] > NN_MAX_DIMS || a < 0)
            return nn_node_error(n, FS_ERR_FORMAT, "axis %lld out of range for rank %d", (long long)axes[i], x->ndim);
        if (mask[a]) return nn_node_error(n, FS_ERR_FORMAT, "axis %lld repeated", (long long)axes[i]);
        mask[a] = 1;
    }
    return FS_OK;
}

static fs_status red_infer(nn_graph *g, nn_node *n) {
    fs_status st = nn_check_inputs(g, n, 1, 1);
    if (st) return st;
    nn_tensor *x = nn_in(g, n, 0);
    int mask[NN_MAX_DIMS], identity;
    if ((st = red_axes(g, n, mask, &identity))) return st;
    int64_t od[NN_MAX_DIMS];
    int o = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (identity || !mask[d]) od[o++] = x->dims[d];
        else if (n->attr.keepdims) od[o++] = 1;
        else if (x->dims[d] == 0 && n->type != NN_OP_REDUCE_SUM)
            return nn_node_error(n, FS_ERR_FORMAT, "reducing an empty axis");
    }
    return nn_set_out(g, n, 0, NN_F32, o, od);
}

static void red_run(nn_graph *g, nn_node *n) {
    const red_state *s = n->kstate;
    const float *x = nn_in(g, n, 0)->data;
    float *y = nn_out(g, n, 0)->data;
    if (s->identity) {
        if (y != x) memcpy(y, x, s->in_total * sizeof(float));
        return;
    }
    float init = n->type == NN_OP_REDUCE_MAX ? -INFINITY : n->type == NN_OP_REDUCE_MIN ? INFINITY : 0.0f;
    for (size_t i = 0; i < s->out_total; i++) y[i] = init;
    int64_t idx[NN_MAX_DIMS] = {0};
    size_t oo = 0;
    const int last = s->nd - 1;
    for (size_t i = 0; i < s->in_total;) {
        /* innermost dim as a run */
        int64_t len = s->dims[last], st = s->ostr[last];
        for (int64_t k = 0; k < len; k++, i++) {
            float v = x[i];
            float *p = &y[oo + (size_t)(k * st)];
            switch (n->type) {
            case NN_OP_REDUCE_MAX: *p = (v > *p || isnan(v)) ? v : *p; break;
            case NN_OP_REDUCE_MIN: *p = (v < *p || isnan(v)) ? v : *p; break;
            default: *p += v; break;
            }
        }
        for (int d = last - 1; d >= 0; d--) {
            oo += (size_t)s->ostr[d];
            if (++idx[d] < s->dims[d]) break;
            oo -= (size_t)(s->ostr[d] * s->dims[d]);
            idx[d] = 0;
        }
    }
    if (n->type == NN_OP_REDUCE_MEAN && s->count) {
        float inv = 1.0f / (float)s->count;
        for (size_t i = 0; i < s->out_total; i++) y[i] *= inv;
    }
}

static fs_status red_prepare(nn_graph *g, nn_node *n) {
    red_state *s = nn_kstate(n, sizeof *s);
    if (!s) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
    nn_tensor *x = nn_in(g, n, 0);
    int mask[NN_MAX_DIMS], identity;
    fs_status st = red_axes(g, n, mask, &identity);
    if (st) return st;
    s->identity = identity;
    s->in_total = nn_numel(x);
    s->out_total = nn_numel(nn_out(g, n, 0));
    s->count = s->out_total ? s->in_total / s->out_total : 0;
    if (x->ndim == 0) {
        s->nd = 1;
        s->dims[0] = 1;
        s->ostr[0] = 0;
        return (n->run = red_run, n->kname = "reduce_ref", FS_OK);
    }
    s->nd = x->ndim;
    int64_t str = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
        s->dims[d] = x->dims[d];
        if (mask[d]) s->ostr[d] = 0;
        else { s->ostr[d] = str; str *= x->dims[d]; }
    }
    n->run = red_run;
    n->kname = "reduce_ref";
    return FS_OK;
}

static const nn_op_def red_def = {red_infer, red_prepare};

const nn_op_def *nn_ops_reduce(nn_op_type t) {
    switch (t) {
    case NN_OP_REDUCE_MEAN: case NN_OP_REDUCE_MAX: case NN_OP_REDUCE_SUM: case NN_OP_REDUCE_MIN:
        return &red_def;
    default: return NULL;
    }
}
