/* nn/ops/norm.c — InstanceNormalization and LRN (ONNX semantics), any layout: the channel axis is
 * attr.axis. The tensor is seen as [outer][C][inner] around that axis.
 *   InstanceNorm: per (n, c), mean/variance over every dim but 0 and the channel axis (double
 *     accumulation), y = scale[c] * (x - mean) / sqrt(var + eps) + bias[c], eps = attr.alpha.
 *   LRN: y = x / (lrn_bias + alpha / size * sum_{c' in window(c)} x[c']^2)^beta, window
 *     [c - floor((size-1)/2), c + ceil((size-1)/2)] clipped to the channels.
 */
#include <math.h>
#include <stdlib.h>

#include "nn/ops/ops.h"

typedef struct {
    size_t batch, outer, c, inner; /* x = [batch][outer/batch..][C][inner] */
    double *sum, *sq;              /* InstanceNorm scratch: batch * C each (owned) */
} norm_state;

static void norm_free(void *p) {
    norm_state *s = p;
    if (!s) return;
    free(s->sum);
    free(s->sq);
    free(s);
}

static fs_status norm_infer(nn_graph *g, nn_node *n) {
    int is_in = n->type == NN_OP_INSTANCE_NORM;
    fs_status st = nn_check_inputs(g, n, is_in ? 3 : 1, is_in ? 3 : 1);
    if (st) return st;
    nn_tensor *x = nn_in(g, n, 0);
    int axis = nn_axis(n->attr.axis, x->ndim);
    if (axis < 0) return nn_node_error(n, FS_ERR_FORMAT, "channel axis %d out of range", n->attr.axis);
    if (is_in) {
        if (axis == 0 || x->ndim < 2) return nn_node_error(n, FS_ERR_FORMAT, "channel axis must not be the batch axis");
        for (int k = 1; k <= 2; k++) {
            nn_tensor *p = nn_in(g, n, k);
            if (!p->is_const || nn_tensor_numel(p) != x->dims[axis])
                return nn_node_error(n, FS_ERR_UNSUPPORTED, "%s must be a constant of %lld values", k == 1 ? "scale" : "bias",
                                     (long long)x->dims[axis]);
        }
    } else {
        if (n->attr.lrn_size < 1 || n->attr.lrn_size > 1 << 20)
            return nn_node_error(n, FS_ERR_FORMAT, "size %d", n->attr.lrn_size);
    }
    return nn_set_out(g, n, 0, NN_F32, x->ndim, x->dims);
}

static void in_run(nn_graph *g, nn_node *n) {
    const norm_state *s = n->kstate;
    const float *x = nn_in(g, n, 0)->data, *scale = nn_in(g, n, 1)->data, *bias = nn_in(g, n, 2)->data;
    float *y = nn_out(g, n, 0)->data;
    size_t per_b = s->outer / s->batch, nbc = s->batch * s->c;
    for (size_t i = 0; i < nbc; i++) s->sum[i] = s->sq[i] = 0;
    for (size_t o = 0; o < s->outer; o++) {
        size_t b = o / per_b;
        for (size_t c = 0; c < s->c; c++) {
            const float *xp = x + (o * s->c + c) * s->inner;
            double su = 0, sq = 0;
            for (size_t i = 0; i < s->inner; i++) {
                su += xp[i];
                sq += (double)xp[i] * xp[i];
            }
            s->sum[b * s->c + c] += su;
            s->sq[b * s->c + c] += sq;
        }
    }
    double cnt = (double)per_b * (double)s->inner, eps = n->attr.alpha;
    for (size_t i = 0; i < nbc; i++) { /* sum -> mean, sq -> 1/sqrt(var + eps) */
        double m = cnt > 0 ? s->sum[i] / cnt : 0, v = cnt > 0 ? s->sq[i] / cnt - m * m : 0;
        s->sum[i] = m;
        s->sq[i] = 1.0 / sqrt((v > 0 ? v : 0) + eps);
    }
    for (size_t o = 0; o < s->outer; o++) {
        size_t b = o / per_b;
        for (size_t c = 0; c < s->c; c++) {
            const float *xp = x + (o * s->c + c) * s->inner;
            float *yp = y + (o * s->c + c) * s->inner;
            double m = s->sum[b * s->c + c], r = s->sq[b * s->c + c] * scale[c];
            for (size_t i = 0; i < s->inner; i++) yp[i] = (float)((xp[i] - m) * r + bias[c]);
        }
    }
}

static void lrn_run(nn_graph *g, nn_node *n) {
    const norm_state *s = n->kstate;
    const float *x = nn_in(g, n, 0)->data;
    float *y = nn_out(g, n, 0)->data;
    const int size = n->attr.lrn_size, lo = (size - 1) / 2, hi = size - 1 - lo;
    const double k = n->attr.lrn_bias, a = (double)n->attr.alpha / size, be = n->attr.beta;
    for (size_t o = 0; o < s->outer; o++)
        for (size_t i = 0; i < s->inner; i++)
            for (size_t c = 0; c < s->c; c++) {
                size_t c0 = c >= (size_t)lo ? c - (size_t)lo : 0, c1 = c + (size_t)hi < s->c ? c + (size_t)hi : s->c - 1;
                double sq = 0;
                for (size_t cc = c0; cc <= c1; cc++) {
                    double v = x[(o * s->c + cc) * s->inner + i];
                    sq += v * v;
                }
                size_t at = (o * s->c + c) * s->inner + i;
                y[at] = (float)(x[at] / pow(k + a * sq, be));
            }
}

static fs_status norm_prepare(nn_graph *g, nn_node *n) {
    norm_state *s = calloc(1, sizeof *s);
    if (!s) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
    n->kstate = s;
    n->kfree = norm_free;
    nn_tensor *x = nn_in(g, n, 0);
    int axis = nn_axis(n->attr.axis, x->ndim);
    s->outer = s->inner = 1;
    for (int d = 0; d < x->ndim; d++) {
        if (d < axis) s->outer *= (size_t)x->dims[d];
        else if (d > axis) s->inner *= (size_t)x->dims[d];
    }
    s->c = (size_t)x->dims[axis];
    s->batch = x->ndim ? (size_t)x->dims[0] : 1;
    if (n->type == NN_OP_INSTANCE_NORM) {
        if (!s->batch) s->batch = 1;
        size_t m = s->batch * s->c + 1;
        s->sum = malloc(m * sizeof(double));
        s->sq = malloc(m * sizeof(double));
        if (!s->sum || !s->sq) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
        n->run = in_run;
        n->kname = "instance_norm_ref";
    } else {
        n->run = lrn_run;
        n->kname = "lrn_ref";
    }
    return FS_OK;
}

static const nn_op_def norm_def = {norm_infer, norm_prepare};

const nn_op_def *nn_ops_norm(nn_op_type t) {
    return t == NN_OP_INSTANCE_NORM || t == NN_OP_LRN ? &norm_def : NULL;
}
