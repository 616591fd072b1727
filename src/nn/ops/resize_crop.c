/* nn/ops/resize_crop.c — ONNX Resize with coordinate_transformation_mode tf_crop_and_resize, any
 * rank, in the file's own layout (general case; the NHWC Resize of nn/ops/resize.c has no crop).
 *
 * in: x, roi (const float, 2 x rank: starts then ends, fractions of each dim), sizes (const int, rank).
 * attr: resize_mode (nearest / linear / cubic), nearest_mode, cubic_a, exclude_outside,
 * pad_value = extrapolation_value. Per dim d and output index o (L_in, L_out the lengths):
 *   c = L_out > 1 ? start (L_in - 1) + o (end - start) (L_in - 1) / (L_out - 1) : (start + end) / 2 (L_in - 1)
 * An output element whose coordinate lies outside [0, L_in - 1] in any dim is extrapolation_value;
 * otherwise taps as nn/ops/resize.c (ONNX's reference): nearest rounds c by nearest_mode; linear /
 * cubic take base = floor(c) (c - 1 when c is an integer: fraction in (0, 1]) with weights (1-r, r) or
 * Keys' cubic (A = cubic_a), indices clamped to the edge, or with exclude_outside the outside taps
 * weigh 0 and the rest are renormalised. Dims with L_out = L_in and roi (0, 1) map to themselves. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ops/ops.h"

typedef struct {
    int nd, k;
    int64_t in[NN_MAX_DIMS], out[NN_MAX_DIMS], istr[NN_MAX_DIMS];
    int ident[NN_MAX_DIMS];        /* dim maps o -> o */
    int64_t *ti[NN_MAX_DIMS];      /* [o][k] input indices */
    float *tw[NN_MAX_DIMS];        /* [o][k] weights */
    unsigned char *outside[NN_MAX_DIMS];
    float extrap;
} rc_state;

static void rc_free(void *p) {
    rc_state *s = p;
    if (!s) return;
    for (int d = 0; d < NN_MAX_DIMS; d++) {
        free(s->ti[d]);
        free(s->tw[d]);
        free(s->outside[d]);
    }
    free(s);
}

static fs_status rc_infer(nn_graph *g, nn_node *n) {
    fs_status st = nn_check_inputs(g, n, 3, 2);
    if (st) return st;
    nn_tensor *x = nn_in(g, n, 0), *roi = nn_in(g, n, 1), *sz = nn_in(g, n, 2);
    const nn_attr *a = &n->attr;
    if (a->resize_mode != NN_RESIZE_NEAREST && a->resize_mode != NN_RESIZE_LINEAR && a->resize_mode != NN_RESIZE_CUBIC)
        return nn_node_error(n, FS_ERR_UNSUPPORTED, "resize mode %d", a->resize_mode);
    if (a->nearest_mode < 0 || a->nearest_mode > NN_NEAREST_CEIL)
        return nn_node_error(n, FS_ERR_UNSUPPORTED, "nearest_mode %d", a->nearest_mode);
    if (!roi->is_const || nn_tensor_numel(roi) != 2 * x->ndim)
        return nn_node_error(n, FS_ERR_UNSUPPORTED, "roi must be a constant of %d floats", 2 * x->ndim);
    int64_t d[NN_MAX_DIMS];
    if (!sz->is_const || nn_const_ints(sz, d, NN_MAX_DIMS) != x->ndim)
        return nn_node_error(n, FS_ERR_UNSUPPORTED, "sizes must be a constant of %d ints", x->ndim);
    for (int i = 0; i < x->ndim; i++) {
        if (d[i] < 0 || d[i] > (1 << 30)) return nn_node_error(n, FS_ERR_FORMAT, "output dim %lld", (long long)d[i]);
        if (x->dims[i] == 0 && d[i] > 0) return nn_node_error(n, FS_ERR_FORMAT, "resizing an empty dim");
    }
    const float *r = roi->data;
    for (int i = 0; i < 2 * x->ndim; i++)
        if (!isfinite(r[i])) return nn_node_error(n, FS_ERR_FORMAT, "roi value %g", (double)r[i]);
    return nn_set_out(g, n, 0, NN_F32, x->ndim, d);
}

static void rc_run(nn_graph *g, nn_node *n) {
    const rc_state *s = n->kstate;
    const float *x = nn_in(g, n, 0)->data;
    float *y = nn_out(g, n, 0)->data;
    size_t total = 1;
    for (int d = 0; d < s->nd; d++) total *= (size_t)s->out[d];
    int nres = 0, rd[NN_MAX_DIMS];
    for (int d = 0; d < s->nd; d++)
        if (!s->ident[d]) rd[nres++] = d;
    int ntaps = 1;
    for (int i = 0; i < nres; i++) ntaps *= s->k;
    int64_t idx[NN_MAX_DIMS] = {0};
    for (size_t o = 0; o < total; o++) {
        int out = 0;
        int64_t base = 0;
        for (int d = 0; d < s->nd; d++) {
            if (s->ident[d]) base += idx[d] * s->istr[d];
            else out |= s->outside[d][idx[d]];
        }
        if (out) {
            y[o] = s->extrap;
        } else {
            double acc = 0;
            for (int t = 0; t < ntaps; t++) {
                int64_t off = base;
                double w = 1;
                for (int i = 0, tt = t; i < nres; i++, tt /= s->k) {
                    int d = rd[i];
                    size_t at = (size_t)idx[d] * (size_t)s->k + (size_t)(tt % s->k);
                    off += s->ti[d][at] * s->istr[d];
                    w *= s->tw[d][at];
                }
                acc += w * x[off];
            }
            y[o] = (float)acc;
        }
        nn_index_next(idx, s->out, s->nd);
    }
}

static fs_status rc_prepare(nn_graph *g, nn_node *n) {
    rc_state *s = calloc(1, sizeof *s);
    if (!s) return nn_node_error(n, FS_ERR_NOMEM, "out of memory");
    n->kstate = s;
    n->kfree = rc_free;
    nn_tensor *x = nn_in(g, n, 0), *y = nn_out(g, n, 0);
    const float *roi = nn_in(g, n, 1)->data;
    const nn_attr *a = &n->attr;
    s->nd = x->ndim;
    s->k = a->resize_mode == NN_RESIZE_NEAREST ? 1 : a->resize_mode == NN_RESIZE_LINEAR ? 2 : 4;
    s->extrap = a->pad_value;
    nn_strides(x->ndim, x->dims, s->istr);
    for (int d = 0; d < s->nd; d++) {
        int64_t lin = x->dims[d], lout = y->dims[d];
        double st = roi[d], en = roi[s->nd + d];
        s->in[d] = lin;
        s->out[d] = lout;
        s->ident[d] = lin == lout && st == 0.0 && en == 1.0;
        if (s->ident[d] || !lout) continue;
        s->ti[d] = malloc(sizeof(int64_t) * (size_t)(lout * s->k));
        s->tw[d] = malloc(sizeof(float) * (size_t)(lout * s->k));
        s->outside[d] = malloc((size_t)lout);
        if (!s->ti[d] || !s->tw[d] || !s->outside[d]) return nn_node_error(n, FS_ERR_NOMEM, "out of memory");
        for (int64_t o = 0; o < lout; o++) {
            double c = lout > 1 ? st * (double)(lin - 1) + (double)o * (en - st) * (double)(lin - 1) / (double)(lout - 1)
                                : 0.5 * (st + en) * (double)(lin - 1);
            s->outside[d][o] = c < 0 || c > (double)(lin - 1);
            nn_resize_taps(a, a->cubic_a, s->k, c, lin, s->ti[d] + o * s->k, s->tw[d] + o * s->k);
        }
    }
    n->run = rc_run;
    n->kname = "resize_crop_ref";
    return FS_OK;
}

static const nn_op_def rc_def = {rc_infer, rc_prepare};

const nn_op_def *nn_ops_resize_crop(nn_op_type t) { return t == NN_OP_RESIZE_CROP ? &rc_def : NULL; }
