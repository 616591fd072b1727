/* nn/ops/spatial_nd.c — general-case N-D convolution and pooling in ONNX's own channel-first layout
 * (NCW, NCHW, NCDHW: 1 to 3 spatial dims). Reference kernels for what the NHWC fast paths do not
 * cover (3-D conv/pool, dilated max pooling); the ONNX loader picks them only then, so the 2-D fast
 * paths are untouched.
 *
 * Attributes (n_axes = number of spatial dims S, each list in spatial order):
 *   starts[0..S) kernel size (CONV_ND: from the weights when 0), steps[0..S) strides,
 *   ends[0..S) dilations, pads[0..2S) begins then ends (ONNX order), auto_pad (1 SAME_UPPER,
 *   2 SAME_LOWER, 3 VALID: resolved here from the input dims), ceil_mode, count_include_pad,
 *   groups.
 *   CONV_ND: in x [N][C][spatial], w [O][C/groups][kernel], optional bias [O].
 *   CONV_TRANSPOSE_ND: in x [N][C][spatial], w [C][O/groups][kernel] (ONNX layout), optional bias
 *     [O]; out = stride (in - 1) + (kernel - 1) dilation + 1 - pad_begin - pad_end, where a negative
 *     pad_end adds output positions at the end (ONNX output_padding / output_shape); auto_pad must
 *     be resolved by the loader (0).
 *   MAX/AVG_POOL_ND: in x; out [N][C][out spatial]. AVG divides by the window's elements inside the
 *   input, or inside the padded input with count_include_pad.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "nn/ops/ops.h"

#define ND 3 /* spatial dims handled, leading ones padded with size-1 dims */

typedef struct {
    int64_t n, c, o, cg, og;             /* batch, in channels, out channels, per group */
    int64_t in[ND], out[ND], k[ND], s[ND], d[ND], pb[ND], pe[ND];
    int has_bias;
} nd_state;

/* kernel, strides, dilations, pads of node n for an input x into st (padded to ND dims); resolves
 * auto_pad and output sizes */
static fs_status nd_geometry(nn_graph *g, nn_node *n, nd_state *st) {
    nn_attr *a = &n->attr;
    nn_tensor *x = nn_in(g, n, 0);
    int S = a->n_axes;
    if (S < 1 || S > ND || x->ndim != S + 2)
        return nn_node_error(n, FS_ERR_UNSUPPORTED, "%d spatial dims for an input of rank %d (1 to %d supported)", S,
                             x->ndim, ND);
    int transposed = n->type == NN_OP_CONV_TRANSPOSE_ND;
    if (transposed && a->auto_pad) return nn_node_error(n, FS_ERR_UNSUPPORTED, "auto_pad on a transposed N-D conv");
    if (n->type == NN_OP_CONV_ND || transposed) {
        nn_tensor *w = nn_in(g, n, 1);
        if (w->ndim != S + 2) return nn_node_error(n, FS_ERR_FORMAT, "weights of rank %d", w->ndim);
        for (int i = 0; i < S; i++) {
            if (a->starts[i] && a->starts[i] != w->dims[2 + i])
                return nn_node_error(n, FS_ERR_FORMAT, "kernel_shape does not match the weights");
            a->starts[i] = w->dims[2 + i];
        }
    }
    st->n = x->dims[0];
    st->c = x->dims[1];
    for (int i = 0; i < ND; i++) {
        int j = i - (ND - S); /* spatial index in the node, < 0 for padding dims */
        st->in[i] = j >= 0 ? x->dims[2 + j] : 1;
        st->k[i] = j >= 0 ? a->starts[j] : 1;
        st->s[i] = j >= 0 ? a->steps[j] : 1;
        st->d[i] = j >= 0 ? (a->ends[j] ? a->ends[j] : 1) : 1;
        st->pb[i] = j >= 0 ? a->pads[j] : 0;
        st->pe[i] = j >= 0 ? a->pads[S + j] : 0;
        if (st->k[i] < 1 || st->k[i] > 65535 || st->s[i] < 1 || st->s[i] > 65535 || st->d[i] < 1 || st->d[i] > 65535 ||
            st->pb[i] < 0 || st->pe[i] < (transposed ? -65535 : 0) || st->pb[i] > 65535 || st->pe[i] > 65535)
            return nn_node_error(n, FS_ERR_FORMAT, "kernel %lld, stride %lld, dilation %lld, pads %lld,%lld out of range",
                                 (long long)st->k[i], (long long)st->s[i], (long long)st->d[i], (long long)st->pb[i],
                                 (long long)st->pe[i]);
        int64_t eff = (st->k[i] - 1) * st->d[i] + 1;
        if (transposed) {
            st->out[i] = st->s[i] * (st->in[i] - 1) + eff - st->pb[i] - st->pe[i];
            if (st->in[i] < 1 || st->out[i] < 1)
                return nn_node_error(n, FS_ERR_FORMAT, "transposed conv output size %lld", (long long)st->out[i]);
            continue;
        }
        if (a->auto_pad == 1 || a->auto_pad == 2) {
            int64_t o = (st->in[i] + st->s[i] - 1) / st->s[i];
            int64_t total = (o - 1) * st->s[i] + eff - st->in[i];
            if (total < 0) total = 0;
            st->pb[i] = a->auto_pad == 1 ? total / 2 : total - total / 2;
            st->pe[i] = total - st->pb[i];
        } else if (a->auto_pad == 3) {
            st->pb[i] = st->pe[i] = 0;
        } else if (a->auto_pad) {
            return nn_node_error(n, FS_ERR_UNSUPPORTED, "auto_pad mode %d", a->auto_pad);
        }
        int64_t v = st->in[i] + st->pb[i] + st->pe[i] - eff;
        if (v < 0) return nn_node_error(n, FS_ERR_FORMAT, "kernel extent %lld larger than the padded input %lld", (long long)eff,
                                        (long long)(st->in[i] + st->pb[i] + st->pe[i]));
        int64_t o = (a->ceil_mode ? (v + st->s[i] - 1) / st->s[i] : v / st->s[i]) + 1;
        if (a->ceil_mode && (o - 1) * st->s[i] >= st->in[i] + st->pb[i]) o--; /* last window starts inside */
        st->out[i] = o;
    }
    return FS_OK;
}

static fs_status nd_infer(nn_graph *g, nn_node *n) {
    int conv = n->type == NN_OP_CONV_ND || n->type == NN_OP_CONV_TRANSPOSE_ND;
    fs_status st = nn_check_inputs(g, n, conv ? 2 : 1, conv ? 2 : 1);
    if (st) return st;
    nd_state s;
    memset(&s, 0, sizeof s);
    if ((st = nd_geometry(g, n, &s))) return st;
    nn_tensor *x = nn_in(g, n, 0);
    int64_t od[NN_MAX_DIMS];
    int S = n->attr.n_axes;
    od[0] = x->dims[0];
    od[1] = x->dims[1];
    if (conv) {
        nn_tensor *w = nn_in(g, n, 1), *b = nn_in(g, n, 2);
        int gr = n->attr.groups < 1 ? 1 : n->attr.groups;
        if (!w->is_const) return nn_node_error(n, FS_ERR_UNSUPPORTED, "weights must be constant");
        int64_t O = n->type == NN_OP_CONV_ND ? w->dims[0] : w->dims[1] * gr;
        if (n->type == NN_OP_CONV_ND ? (w->dims[0] % gr || x->dims[1] != w->dims[1] * gr)
                                     : (x->dims[1] != w->dims[0] || w->dims[0] % gr))
            return nn_node_error(n, FS_ERR_FORMAT, "group %d does not fit %lld input / %lld output channels", gr,
                                 (long long)x->dims[1], (long long)O);
        if (b && (b->dtype != NN_F32 || nn_tensor_numel(b) != O))
            return nn_node_error(n, FS_ERR_FORMAT, "bias must have %lld float values", (long long)O);
        od[1] = O;
    }
    for (int i = 0; i < S; i++) od[2 + i] = s.out[ND - S + i];
    return nn_set_out(g, n, 0, NN_F32, S + 2, od);
}

/* flat offsets */
#define IDX3(st, a, b, c) (((a) * (st)->in[1] + (b)) * (st)->in[2] + (c))

static void conv_nd_run(nn_graph *g, nn_node *n) {
    const nd_state *s = n->kstate;
    const float *x = nn_in(g, n, 0)->data, *w = nn_in(g, n, 1)->data;
    const nn_tensor *bt = nn_in(g, n, 2);
    const float *bias = bt ? bt->data : NULL;
    float *y = nn_out(g, n, 0)->data;
    const int64_t insz = s->in[0] * s->in[1] * s->in[2], outsz = s->out[0] * s->out[1] * s->out[2];
    const int64_t ksz = s->k[0] * s->k[1] * s->k[2];
    for (int64_t b = 0; b < s->n; b++)
        for (int64_t o = 0; o < s->o; o++) {
            int64_t gi = o / s->og;
            float *yp = y + (b * s->o + o) * outsz;
            for (int64_t p0 = 0; p0 < s->out[0]; p0++)
                for (int64_t p1 = 0; p1 < s->out[1]; p1++)
                    for (int64_t p2 = 0; p2 < s->out[2]; p2++) {
                        double acc = bias ? bias[o] : 0.0;
                        for (int64_t c = 0; c < s->cg; c++) {
                            const float *xp = x + (b * s->c + gi * s->cg + c) * insz;
                            const float *wp = w + (o * s->cg + c) * ksz;
                            for (int64_t k0 = 0; k0 < s->k[0]; k0++) {
                                int64_t i0 = p0 * s->s[0] - s->pb[0] + k0 * s->d[0];
                                if (i0 < 0 || i0 >= s->in[0]) continue;
                                for (int64_t k1 = 0; k1 < s->k[1]; k1++) {
                                    int64_t i1 = p1 * s->s[1] - s->pb[1] + k1 * s->d[1];
                                    if (i1 < 0 || i1 >= s->in[1]) continue;
                                    for (int64_t k2 = 0; k2 < s->k[2]; k2++) {
                                        int64_t i2 = p2 * s->s[2] - s->pb[2] + k2 * s->d[2];
                                        if (i2 < 0 || i2 >= s->in[2]) continue;
                                        acc += (double)xp[IDX3(s, i0, i1, i2)] * wp[(k0 * s->k[1] + k1) * s->k[2] + k2];
                                    }
                                }
                            }
                        }
                        yp[(p0 * s->out[1] + p1) * s->out[2] + p2] = (float)acc;
                    }
        }
}

/* scatter form: every input element adds x * w[k] at output q = p stride - pad_begin + k dilation */
static void conv_transpose_nd_run(nn_graph *g, nn_node *n) {
    const nd_state *s = n->kstate;
    const float *x = nn_in(g, n, 0)->data, *w = nn_in(g, n, 1)->data;
    const nn_tensor *bt = nn_in(g, n, 2);
    const float *bias = bt ? bt->data : NULL;
    float *y = nn_out(g, n, 0)->data;
    const int64_t insz = s->in[0] * s->in[1] * s->in[2], outsz = s->out[0] * s->out[1] * s->out[2];
    const int64_t ksz = s->k[0] * s->k[1] * s->k[2];
    for (int64_t b = 0; b < s->n; b++)
        for (int64_t o = 0; o < s->o; o++) {
            float *yp = y + (b * s->o + o) * outsz;
            for (int64_t i = 0; i < outsz; i++) yp[i] = bias ? bias[o] : 0.0f;
        }
    for (int64_t b = 0; b < s->n; b++)
        for (int64_t ci = 0; ci < s->c; ci++) {
            int64_t gi = ci / s->cg;
            const float *xp = x + (b * s->c + ci) * insz;
            for (int64_t og = 0; og < s->og; og++) {
                int64_t o = gi * s->og + og;
                float *yp = y + (b * s->o + o) * outsz;
                const float *wp = w + (ci * s->og + og) * ksz;
                for (int64_t p0 = 0; p0 < s->in[0]; p0++)
                    for (int64_t p1 = 0; p1 < s->in[1]; p1++)
                        for (int64_t p2 = 0; p2 < s->in[2]; p2++) {
                            float xv = xp[IDX3(s, p0, p1, p2)];
                            for (int64_t k0 = 0; k0 < s->k[0]; k0++) {
                                int64_t q0 = p0 * s->s[0] - s->pb[0] + k0 * s->d[0];
                                if (q0 < 0 || q0 >= s->out[0]) continue;
                                for (int64_t k1 = 0; k1 < s->k[1]; k1++) {
                                    int64_t q1 = p1 * s->s[1] - s->pb[1] + k1 * s->d[1];
                                    if (q1 < 0 || q1 >= s->out[1]) continue;
                                    for (int64_t k2 = 0; k2 < s->k[2]; k2++) {
                                        int64_t q2 = p2 * s->s[2] - s->pb[2] + k2 * s->d[2];
                                        if (q2 < 0 || q2 >= s->out[2]) continue;
                                        yp[(q0 * s->out[1] + q1) * s->out[2] + q2] +=
                                            xv * wp[(k0 * s->k[1] + k1) * s->k[2] + k2];
                                    }
                                }
                            }
                        }
            }
        }
}

static void pool_nd_run(nn_graph *g, nn_node *n) {
    const nd_state *s = n->kstate;
    const int is_max = n->type == NN_OP_MAX_POOL_ND, cip = n->attr.count_include_pad;
    const float *x = nn_in(g, n, 0)->data;
    float *y = nn_out(g, n, 0)->data;
    const int64_t insz = s->in[0] * s->in[1] * s->in[2], outsz = s->out[0] * s->out[1] * s->out[2];
    for (int64_t bc = 0; bc < s->n * s->c; bc++) {
        const float *xp = x + bc * insz;
        float *yp = y + bc * outsz;
        for (int64_t p0 = 0; p0 < s->out[0]; p0++)
            for (int64_t p1 = 0; p1 < s->out[1]; p1++)
                for (int64_t p2 = 0; p2 < s->out[2]; p2++) {
                    double acc = is_max ? -INFINITY : 0.0;
                    int64_t cnt = 0, padded = 1;
                    int64_t p[ND] = {p0, p1, p2};
                    for (int i = 0; i < ND; i++) { /* window elements inside the padded input */
                        int64_t st = p[i] * s->s[i] - s->pb[i], m = 0;
                        for (int64_t k = 0; k < s->k[i]; k++) {
                            int64_t q = st + k * s->d[i];
                            m += q < s->in[i] + s->pe[i];
                        }
                        padded *= m;
                    }
                    for (int64_t k0 = 0; k0 < s->k[0]; k0++) {
                        int64_t i0 = p0 * s->s[0] - s->pb[0] + k0 * s->d[0];
                        if (i0 < 0 || i0 >= s->in[0]) continue;
                        for (int64_t k1 = 0; k1 < s->k[1]; k1++) {
                            int64_t i1 = p1 * s->s[1] - s->pb[1] + k1 * s->d[1];
                            if (i1 < 0 || i1 >= s->in[1]) continue;
                            for (int64_t k2 = 0; k2 < s->k[2]; k2++) {
                                int64_t i2 = p2 * s->s[2] - s->pb[2] + k2 * s->d[2];
                                if (i2 < 0 || i2 >= s->in[2]) continue;
                                float v = xp[IDX3(s, i0, i1, i2)];
                                if (is_max) { if (v > acc || isnan(v)) acc = v; }
                                else acc += v;
                                cnt++;
                            }
                        }
                    }
                    if (!is_max) acc = (cip ? padded : cnt) > 0 ? acc / (double)(cip ? padded : cnt) : 0.0;
                    yp[(p0 * s->out[1] + p1) * s->out[2] + p2] = (float)acc;
                }
    }
}

static fs_status nd_prepare(nn_graph *g, nn_node *n) {
    nd_state *s = nn_kstate(n, sizeof *s);
    if (!s) return nn_node_error(n, FS_ERR_NOMEM, "out of memory");
    fs_status st = nd_geometry(g, n, s);
    if (st) return st;
    if (n->type == NN_OP_CONV_ND) {
        int gr = n->attr.groups < 1 ? 1 : n->attr.groups;
        nn_tensor *w = nn_in(g, n, 1);
        s->o = w->dims[0];
        s->cg = w->dims[1];
        s->og = s->o / gr;
        n->run = conv_nd_run;
        n->kname = "conv_nd_ref";
    } else if (n->type == NN_OP_CONV_TRANSPOSE_ND) {
        int gr = n->attr.groups < 1 ? 1 : n->attr.groups;
        nn_tensor *w = nn_in(g, n, 1);
        s->cg = s->c / gr;
        s->og = w->dims[1];
        s->o = s->og * gr;
        n->run = conv_transpose_nd_run;
        n->kname = "conv_transpose_nd_ref";
    } else {
        n->run = pool_nd_run;
        n->kname = n->type == NN_OP_MAX_POOL_ND ? "maxpool_nd_ref" : "avgpool_nd_ref";
    }
    return FS_OK;
}

static const nn_op_def nd_def = {nd_infer, nd_prepare};

const nn_op_def *nn_ops_spatial_nd(nn_op_type t) {
    return t == NN_OP_CONV_ND || t == NN_OP_MAX_POOL_ND || t == NN_OP_AVG_POOL_ND || t == NN_OP_CONV_TRANSPOSE_ND
               ? &nd_def : NULL;
}
