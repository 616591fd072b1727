/* nn/ops/softmax.c — Softmax, LogSoftmax, L2Normalize along one axis (or, for ONNX opset < 13
 * softmax_coerce, over all dims from axis on). The tensor is seen as [outer][len][inner]. */
#include <math.h>

#include "nn/ops/ops.h"

typedef struct { size_t outer, len, inner; } axis_state;

static fs_status sm_infer(nn_graph *g, nn_node *n) {
    fs_status st = nn_check_inputs(g, n, 1, 1);
    if (st) return st;
    nn_tensor *x = nn_in(g, n, 0);
    int nd = x->ndim ? x->ndim : 1;
    if (nn_axis(n->attr.axis, nd) < 0)
        return nn_node_error(n, FS_ERR_FORMAT, "axis %d out of range for rank %d", n->attr.axis, x->ndim);
    if (n->type == NN_OP_L2_NORMALIZE && n->attr.softmax_coerce)
        return nn_node_error(n, FS_ERR_UNSUPPORTED, "coerced axes");
    return nn_set_out(g, n, 0, NN_F32, x->ndim, x->dims);
}

static void sm_run(nn_graph *g, nn_node *n) {
    const axis_state *s = n->kstate;
    const float *x = nn_in(g, n, 0)->data;
    float *y = nn_out(g, n, 0)->data;
    const int logsm = n->type == NN_OP_LOG_SOFTMAX;
    for (size_t o = 0; o < s->outer; o++)
        for (size_t in = 0; in < s->inner; in++) {
            const float *xp = x + o * s->len * s->inner + in;
            float *yp = y + o * s->len * s->inner + in;
            if (n->type == NN_OP_L2_NORMALIZE) {
                double ss = 0;
                for (size_t k = 0; k < s->len; k++) ss += (double)xp[k * s->inner] * xp[k * s->inner];
                double eps = n->attr.alpha > 0 ? n->attr.alpha : 1e-12;
                float inv = (float)(1.0 / sqrt(ss > eps ? ss : eps));
                for (size_t k = 0; k < s->len; k++) yp[k * s->inner] = xp[k * s->inner] * inv;
                continue;
            }
            float mx = -INFINITY;
            for (size_t k = 0; k < s->len; k++) mx = xp[k * s->inner] > mx ? xp[k * s->inner] : mx;
            float sum = 0;
            for (size_t k = 0; k < s->len; k++) {
                float e = expf(xp[k * s->inner] - mx);
                if (!logsm) yp[k * s->inner] = e;
                sum += e;
            }
            if (logsm) {
                float ls = logf(sum);
                for (size_t k = 0; k < s->len; k++) yp[k * s->inner] = xp[k * s->inner] - mx - ls;
            } else {
                float inv = 1.0f / sum;
                for (size_t k = 0; k < s->len; k++) yp[k * s->inner] *= inv;
            }
        }
}

static fs_status sm_prepare(nn_graph *g, nn_node *n) {
    axis_state *s = nn_kstate(n, sizeof *s);
    if (!s) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
    nn_tensor *x = nn_in(g, n, 0);
    int axis = x->ndim ? nn_axis(n->attr.axis, x->ndim) : 0;
    s->outer = s->len = s->inner = 1;
    for (int d = 0; d < x->ndim; d++) {
        size_t v = (size_t)x->dims[d];
        if (d < axis) s->outer *= v;
        else if (d == axis || n->attr.softmax_coerce) s->len *= v;
        else s->inner *= v;
    }
    n->run = sm_run;
    n->kname = "softmax_ref";
    return FS_OK;
}

static const nn_op_def sm_def = {sm_infer, sm_prepare};

const nn_op_def *nn_ops_softmax(nn_op_type t) {
    switch (t) {
    case NN_OP_SOFTMAX: case NN_OP_LOG_SOFTMAX: case NN_OP_L2_NORMALIZE: return &sm_def;
    default: return NULL;
    }
}
