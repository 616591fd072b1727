/* nn/ops/conv.c — spatial NHWC ops: Conv2D (kernels from nn/kernels via nn_select_conv),
 * Conv2DTranspose (reference here), MaxPool2D / AvgPool2D (nn/kernels references).
 *
 * Shapes: x [N][H][W][C]; conv w OHWI [Cout][KH][KW][C/groups]; out [N][OH][OW][Cout].
 * Padding: explicit pad_t/l/b/r, or auto_pad resolved here from the input dims:
 *   SAME_UPPER (TF SAME): OH = ceil(H/s), total = max((OH-1)*s + (KH-1)*d+1 - H, 0), before = total/2
 *   SAME_LOWER: before = total - total/2;  VALID: no padding.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/kernels/kernels.h"
#include "nn/ops/ops.h"

/* Resolves padding along one axis; returns the output size or -1. */
static int64_t out_size(int64_t in, int k, int s, int d, int auto_pad, int ceil_mode, int *pb_, int *pe_) {
    int64_t ek = (int64_t)(k - 1) * d + 1;
    if (auto_pad == 1 || auto_pad == 2) {
        int64_t o = (in + s - 1) / s;
        int64_t total = (o - 1) * s + ek - in;
        if (total < 0) total = 0;
        *pb_ = (int)(auto_pad == 1 ? total / 2 : total - total / 2);
        *pe_ = (int)(total - *pb_);
        return o;
    }
    if (auto_pad == 3) *pb_ = *pe_ = 0;
    int64_t span = in + *pb_ + *pe_ - ek;
    if (span < 0) return -1;
    int64_t o = ceil_mode ? (span + s - 1) / s + 1 : span / s + 1;
    if (ceil_mode && (o - 1) * s >= in + *pb_) o--; /* last window must start inside input + pad */
    return o;
}

static fs_status check_geom(const nn_node *n, const nn_attr *a) {
    if (a->stride_h < 1 || a->stride_w < 1 || a->dil_h < 1 || a->dil_w < 1)
        return nn_node_error(n, FS_ERR_FORMAT, "strides/dilations must be >= 1");
    if (a->pad_t < 0 || a->pad_l < 0 || a->pad_b < 0 || a->pad_r < 0)
        return nn_node_error(n, FS_ERR_UNSUPPORTED, "negative padding");
    if (a->auto_pad < 0 || a->auto_pad > 3)
        return nn_node_error(n, FS_ERR_UNSUPPORTED, "auto_pad mode %d", a->auto_pad);
    if (a->stride_h > 1 << 16 || a->stride_w > 1 << 16 || a->dil_h > 1 << 16 || a->dil_w > 1 << 16 ||
        a->pad_t > 1 << 20 || a->pad_l > 1 << 20 || a->pad_b > 1 << 20 || a->pad_r > 1 << 20)
        return nn_node_error(n, FS_ERR_LIMIT, "absurd strides/dilations/padding");
    return FS_OK;
}

/* ---------------------------------------------------------------- conv2d */

static fs_status conv_infer(nn_graph *g, nn_node *n) {
    fs_status st = nn_check_inputs(g, n, 2, 3);
    if (st) return st;
    nn_tensor *x = nn_in(g, n, 0), *w = nn_in(g, n, 1), *b = nn_in(g, n, 2);
    nn_attr *a = &n->attr;
    if (x->ndim != 4) return nn_node_error(n, FS_ERR_UNSUPPORTED, "input rank %d, need 4 (NHWC)", x->ndim);
    if (w->ndim != 4) return nn_node_error(n, FS_ERR_FORMAT, "weights rank %d, need 4 (OHWI)", w->ndim);
    if (!w->is_const) return nn_node_error(n, FS_ERR_UNSUPPORTED, "non-constant weights");
    if (b && (!b->is_const || nn_tensor_numel(b) != w->dims[0]))
        return nn_node_error(n, FS_ERR_FORMAT, "bias must be a constant of %lld values", (long long)w->dims[0]);
    if ((st = check_geom(n, a))) return st;
    int64_t cout = w->dims[0], kh = w->dims[1], kw = w->dims[2], cig = w->dims[3];
    if ((a->kh && a->kh != kh) || (a->kw && a->kw != kw))
        return nn_node_error(n, FS_ERR_FORMAT, "kernel %dx%d but weights are %lldx%lld", a->kh, a->kw,
                             (long long)kh, (long long)kw);
    if (a->groups < 1 || x->dims[3] != cig * a->groups || cout % a->groups)
        return nn_node_error(n, FS_ERR_FORMAT, "channels: input %lld, weights %lld per group x %d groups, %lld out",
                             (long long)x->dims[3], (long long)cig, a->groups, (long long)cout);
    if (n->type == NN_OP_CONV2D_TRANSPOSE) {
        /* w here: [Cout][KH][KW][Cin/groups] but Cout counts all groups' outputs */
        if (a->auto_pad == 1 || a->auto_pad == 2) {
            int64_t oh = x->dims[1] * a->stride_h, ow = x->dims[2] * a->stride_w;
            int64_t th = (x->dims[1] - 1) * a->stride_h + (kh - 1) * a->dil_h + 1 + a->out_pad_h - oh;
            int64_t tw = (x->dims[2] - 1) * a->stride_w + (kw - 1) * a->dil_w + 1 + a->out_pad_w - ow;
            if (th < 0) th = 0;
            if (tw < 0) tw = 0;
            /* ONNX ConvTranspose: SAME_UPPER puts the extra padding at the start */
            a->pad_t = (int)(a->auto_pad == 1 ? th - th / 2 : th / 2);
            a->pad_b = (int)(th - a->pad_t);
            a->pad_l = (int)(a->auto_pad == 1 ? tw - tw / 2 : tw / 2);
            a->pad_r = (int)(tw - a->pad_l);
        } else if (a->auto_pad == 3) {
            a->pad_t = a->pad_b = a->pad_l = a->pad_r = 0;
        }
        int64_t oh = (x->dims[1] - 1) * a->stride_h + (kh - 1) * a->dil_h + 1 + a->out_pad_h - a->pad_t - a->pad_b;
        int64_t ow = (x->dims[2] - 1) * a->stride_w + (kw - 1) * a->dil_w + 1 + a->out_pad_w - a->pad_l - a->pad_r;
        if (oh < 1 || ow < 1) return nn_node_error(n, FS_ERR_FORMAT, "empty output");
        int64_t d[4] = {x->dims[0], oh, ow, cout};
        return nn_set_out(g, n, 0, NN_F32, 4, d);
    }
    int64_t oh = out_size(x->dims[1], (int)kh, a->stride_h, a->dil_h, a->auto_pad, 0, &a->pad_t, &a->pad_b);
    int64_t ow = out_size(x->dims[2], (int)kw, a->stride_w, a->dil_w, a->auto_pad, 0, &a->pad_l, &a->pad_r);
    if (oh < 1 || ow < 1)
        return nn_node_error(n, FS_ERR_FORMAT, "kernel %lldx%lld larger than the padded input %lldx%lld",
                             (long long)kh, (long long)kw, (long long)x->dims[1], (long long)x->dims[2]);
    int64_t d[4] = {x->dims[0], oh, ow, cout};
    return nn_set_out(g, n, 0, NN_F32, 4, d);
}

typedef struct {
    nn_conv_params p;
    nn_conv_impl impl;
} conv_state;

static void conv_state_free(void *s) {
    conv_state *c = s;
    nn_conv_impl_free(&c->impl);
    free(c);
}

static void conv_run(nn_graph *g, nn_node *n) {
    conv_state *c = n->kstate;
    c->impl.run(&c->impl, &c->p, nn_in(g, n, 0)->data, nn_out(g, n, 0)->data, nn_graph_pool(g));
}

static void fill_conv_params(nn_graph *g, nn_node *n, nn_conv_params *p) {
    nn_tensor *x = nn_in(g, n, 0), *w = nn_in(g, n, 1), *y = nn_out(g, n, 0);
    const nn_attr *a = &n->attr;
    p->n = (int)x->dims[0];
    p->ih = (int)x->dims[1];
    p->iw = (int)x->dims[2];
    p->ic = (int)x->dims[3];
    p->oh = (int)y->dims[1];
    p->ow = (int)y->dims[2];
    p->oc = (int)y->dims[3];
    p->kh = (int)w->dims[1];
    p->kw = (int)w->dims[2];
    p->sh = a->stride_h;
    p->sw = a->stride_w;
    p->dh = a->dil_h;
    p->dw = a->dil_w;
    p->pad_t = a->pad_t;
    p->pad_l = a->pad_l;
    p->groups = a->groups;
    p->act_min = a->act_min;
    p->act_max = a->act_max;
}

static fs_status conv_prepare(nn_graph *g, nn_node *n) {
    conv_state *c = calloc(1, sizeof *c);
    if (!c) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
    fill_conv_params(g, n, &c->p);
    nn_tensor *w = nn_in(g, n, 1), *b = nn_in(g, n, 2);
    if (nn_select_conv(&c->p, w->data, b ? b->data : NULL, &c->impl) != 0) {
        free(c);
        return fs_error(FS_ERR_NOMEM, "nn: out of memory preparing '%s'", n->name);
    }
    n->kstate = c;
    n->kfree = conv_state_free;
    n->kname = c->impl.name;
    n->run = conv_run;
    return FS_OK;
}

int nn_conv_node_repack(nn_graph *g, nn_node *n) {
    conv_state *c = n->kstate;
    if (n->type != NN_OP_CONV2D || n->run != conv_run || !c || !c->impl.repack) return 1;
    nn_tensor *w = nn_in(g, n, 1), *b = nn_in(g, n, 2);
    c->impl.repack(&c->impl, &c->p, w->data, b ? b->data : NULL);
    return 0;
}

/* ------------------------------------------------------ conv2d transpose */

typedef struct { nn_conv_params p; } convt_state;

/* out[b][oy][ox][o] = bias[o] + sum x[b][iy][ix][g*cig+ci] * w[o][ky][kx][ci],
 * oy = iy*sh - pad_t + ky*dh (scatter form). */
static void convt_run(nn_graph *g, nn_node *n) {
    const nn_conv_params *p = &((convt_state *)n->kstate)->p;
    const float *x = nn_in(g, n, 0)->data, *w = nn_in(g, n, 1)->data;
    nn_tensor *bt = nn_in(g, n, 2);
    const float *bias = bt ? bt->data : NULL;
    float *y = nn_out(g, n, 0)->data;
    int cig = p->ic / p->groups, cog = p->oc / p->groups;
    size_t opix = (size_t)p->n * p->oh * p->ow;
    for (size_t i = 0; i < opix; i++)
        for (int o = 0; o < p->oc; o++) y[i * p->oc + o] = bias ? bias[o] : 0.0f;
    for (int b = 0; b < p->n; b++)
        for (int iy = 0; iy < p->ih; iy++)
            for (int ix = 0; ix < p->iw; ix++) {
                const float *xp = x + (((size_t)b * p->ih + iy) * p->iw + ix) * p->ic;
                for (int ky = 0; ky < p->kh; ky++) {
                    int oy = iy * p->sh - p->pad_t + ky * p->dh;
                    if (oy < 0 || oy >= p->oh) continue;
                    for (int kx = 0; kx < p->kw; kx++) {
                        int ox = ix * p->sw - p->pad_l + kx * p->dw;
                        if (ox < 0 || ox >= p->ow) continue;
                        float *yp = y + (((size_t)b * p->oh + oy) * p->ow + ox) * p->oc;
                        for (int o = 0; o < p->oc; o++) {
                            const float *wp = w + (((size_t)o * p->kh + ky) * p->kw + kx) * cig;
                            const float *xg = xp + (o / cog) * cig;
                            float s = 0;
                            for (int ci = 0; ci < cig; ci++) s += xg[ci] * wp[ci];
                            yp[o] += s;
                        }
                    }
                }
            }
    for (size_t i = 0; i < opix * (size_t)p->oc; i++) {
        float v = y[i];
        v = v < p->act_min ? p->act_min : v;
        y[i] = v > p->act_max ? p->act_max : v;
    }
}

static fs_status convt_prepare(nn_graph *g, nn_node *n) {
    convt_state *c = nn_kstate(n, sizeof *c);
    if (!c) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
    fill_conv_params(g, n, &c->p);
    n->run = convt_run;
    n->kname = "conv2d_transpose_ref";
    return FS_OK;
}

/* ---------------------------------------------------------------- pooling
 * Plain pools (no dilation; average without count_include_pad, as TF) run the nn/kernels
 * references. Dilated pools and count_include_pad averages run pool_generic here, with ONNX's
 * semantics: windows start at o*s - pad_before and step by the dilation; max ignores the padding;
 * count_include_pad divides by the window cells inside the padded extent [-pad_b4, in + pad_after). */

static fs_status pool_infer(nn_graph *g, nn_node *n) {
    fs_status st = nn_check_inputs(g, n, 1, 1);
    if (st) return st;
    nn_tensor *x = nn_in(g, n, 0);
    nn_attr *a = &n->attr;
    if (x->ndim != 4) return nn_node_error(n, FS_ERR_UNSUPPORTED, "input rank %d, need 4 (NHWC)", x->ndim);
    if ((st = check_geom(n, a))) return st;
    if (a->kh < 1 || a->kw < 1 || a->kh > 1 << 16 || a->kw > 1 << 16)
        return nn_node_error(n, FS_ERR_FORMAT, "kernel size %dx%d", a->kh, a->kw);
    int ekh = (a->kh - 1) * a->dil_h + 1, ekw = (a->kw - 1) * a->dil_w + 1;
    if (a->auto_pad == 0 && (a->pad_t >= ekh || a->pad_b >= ekh || a->pad_l >= ekw || a->pad_r >= ekw))
        return nn_node_error(n, FS_ERR_UNSUPPORTED, "padding as large as the kernel");
    int64_t oh = out_size(x->dims[1], a->kh, a->stride_h, a->dil_h, a->auto_pad, a->ceil_mode, &a->pad_t, &a->pad_b);
    int64_t ow = out_size(x->dims[2], a->kw, a->stride_w, a->dil_w, a->auto_pad, a->ceil_mode, &a->pad_l, &a->pad_r);
    if (oh < 1 || ow < 1) return nn_node_error(n, FS_ERR_FORMAT, "kernel larger than the padded input");
    int64_t d[4] = {x->dims[0], oh, ow, x->dims[3]};
    return nn_set_out(g, n, 0, NN_F32, 4, d);
}

typedef struct {
    nn_pool_params p;
    int dh, dw, pad_b, pad_r, generic;
    float lo, hi;
    int clamp;
} pool_state;

static void pool_generic(const pool_state *s, int is_max, const float *in, float *out) {
    const nn_pool_params *p = &s->p;
    for (int b = 0; b < p->n; b++)
        for (int oy = 0; oy < p->oh; oy++)
            for (int ox = 0; ox < p->ow; ox++) {
                float *o = out + (((size_t)b * p->oh + oy) * p->ow + ox) * p->c;
                const int y0 = oy * p->sh - p->pad_t, x0 = ox * p->sw - p->pad_l;
                int inside = 0, padded = 0; /* cells in the input / in the padded extent */
                for (int ky = 0; ky < p->kh; ky++)
                    for (int kx = 0; kx < p->kw; kx++) {
                        int iy = y0 + ky * s->dh, ix = x0 + kx * s->dw;
                        padded += iy >= -p->pad_t && iy < p->ih + s->pad_b && ix >= -p->pad_l && ix < p->iw + s->pad_r;
                        inside += iy >= 0 && iy < p->ih && ix >= 0 && ix < p->iw;
                    }
                for (int c = 0; c < p->c; c++) {
                    float acc = is_max ? -INFINITY : 0.0f;
                    for (int ky = 0; ky < p->kh; ky++) {
                        int iy = y0 + ky * s->dh;
                        if (iy < 0 || iy >= p->ih) continue;
                        for (int kx = 0; kx < p->kw; kx++) {
                            int ix = x0 + kx * s->dw;
                            if (ix < 0 || ix >= p->iw) continue;
                            float v = in[(((size_t)b * p->ih + iy) * p->iw + ix) * p->c + c];
                            if (is_max) acc = (v > acc || v != v) ? v : acc;
                            else acc += v;
                        }
                    }
                    int div = p->count_include_pad ? padded : inside;
                    o[c] = is_max ? (inside ? acc : 0.0f) : (div ? acc / (float)div : 0.0f);
                }
            }
}

static void pool_run(nn_graph *g, nn_node *n) {
    pool_state *s = n->kstate;
    float *y = nn_out(g, n, 0)->data;
    const float *x = nn_in(g, n, 0)->data;
    int is_max = n->type == NN_OP_MAX_POOL2D;
    if (s->generic) pool_generic(s, is_max, x, y);
    else nn_pool2d(&s->p, x, y, is_max, nn_graph_pool(g)); /* SIMD, = nn_*pool_ref bit for bit */
    if (s->clamp) {
        size_t cnt = (size_t)s->p.n * s->p.oh * s->p.ow * s->p.c;
        const float lo = s->lo, hi = s->hi;
        for (size_t i = 0; i < cnt; i++) {
            float v = y[i];
            v = lo > v ? lo : v;
            y[i] = hi < v ? hi : v;
        }
    }
}

static fs_status pool_prepare(nn_graph *g, nn_node *n) {
    pool_state *s = nn_kstate(n, sizeof *s);
    if (!s) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
    nn_tensor *x = nn_in(g, n, 0), *y = nn_out(g, n, 0);
    const nn_attr *a = &n->attr;
    s->p = (nn_pool_params){(int)x->dims[0], (int)x->dims[1], (int)x->dims[2], (int)x->dims[3],
                            (int)y->dims[1], (int)y->dims[2], a->kh, a->kw, a->stride_h, a->stride_w,
                            a->pad_t, a->pad_l, a->count_include_pad};
    s->dh = a->dil_h;
    s->dw = a->dil_w;
    s->pad_b = a->pad_b;
    s->pad_r = a->pad_r;
    s->generic = a->dil_h != 1 || a->dil_w != 1 || (n->type == NN_OP_AVG_POOL2D && a->count_include_pad);
    s->lo = a->act_min;
    s->hi = a->act_max;
    s->clamp = !(isinf(a->act_min) && a->act_min < 0 && isinf(a->act_max) && a->act_max > 0);
    n->run = pool_run;
    n->kname = s->generic ? (n->type == NN_OP_MAX_POOL2D ? "maxpool_generic_ref" : "avgpool_generic_ref")
                          : nn_pool2d_name(n->type == NN_OP_MAX_POOL2D);
    return FS_OK;
}

static const nn_op_def conv_def = {conv_infer, conv_prepare};
static const nn_op_def convt_def = {conv_infer, convt_prepare};
static const nn_op_def pool_def = {pool_infer, pool_prepare};

const nn_op_def *nn_ops_conv(nn_op_type t) {
    switch (t) {
    case NN_OP_CONV2D: return &conv_def;
    case NN_OP_CONV2D_TRANSPOSE: return &convt_def;
    case NN_OP_MAX_POOL2D:
    case NN_OP_AVG_POOL2D: return &pool_def;
    default: return NULL;
    }
}
