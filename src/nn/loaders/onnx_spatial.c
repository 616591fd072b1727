/* nn/loaders/onnx_spatial.c — ONNX spatial ops. ONNX activations are NCHW (NCW for 1-D) and the
 * runtime's spatial ops NHWC: each op is wrapped in TRANSPOSE nodes (NCHW->NHWC before, NHWC->NCHW
 * after; 1-D ops run as 2-D with H = 1) and weights go from OIHW to OHWI; nn_pass_optimize() then
 * cancels the inverse pairs between consecutive ops. BatchNormalization folds into the Conv before it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/loaders/onnx_internal.h"

/* ------------------------------------------------------------------ layout helpers */

static const int PERM_TO_NHWC[4] = {0, 2, 3, 1};
static const int PERM_TO_NCHW[4] = {0, 3, 1, 2};

/* NCHW tensor x -> new NHWC tensor through a TRANSPOSE node */
static int to_nhwc(ox_ctx *cx, int x) {
    nn_tensor *t = OX_T(cx, x);
    int64_t d[4];
    for (int i = 0; i < 4; i++) d[i] = t->ndim == 4 ? t->dims[PERM_TO_NHWC[i]] : -1;
    char base[200];
    snprintf(base, sizeof base, "%s", t->name);
    int y = ox_new_tensor(cx, base, "nhwc", t->dtype, 4, d);
    if (y < 0) return -1;
    int ni = ox_emit(cx, NN_OP_TRANSPOSE, 1, &x, 1, &y);
    if (ni < 0) return -1;
    memcpy(cx->g->nodes[ni].attr.perm, PERM_TO_NHWC, sizeof PERM_TO_NHWC);
    return y;
}

/* NHWC tensor y -> node output 0 (NCHW) through a TRANSPOSE node */
static int from_nhwc(ox_ctx *cx, int y) {
    nn_tensor *t = OX_T(cx, y);
    int64_t d[4];
    for (int i = 0; i < 4; i++) d[i] = t->dims[PERM_TO_NCHW[i]];
    int o = ox_out_t(cx, 0, t->dtype, 4, d);
    if (o < 0) return -1;
    int ni = ox_emit(cx, NN_OP_TRANSPOSE, 1, &y, 1, &o);
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
    if ((n = ox_attr_ints(cx, "kernel_shape", v, 8)) < 0) return FS_ERR_UNSUPPORTED;
    if (n) {
        if (n != nk) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "kernel_shape has %d values for %d spatial dims", n, nk);
        for (int i = 0; i < nk; i++) sp->k[off + i] = v[i];
    }
    if ((n = ox_attr_ints(cx, "strides", v, 8)) < 0) return FS_ERR_UNSUPPORTED;
    if (n) {
        if (n != nk) return OX_FAIL(cx, FS_ERR_FORMAT, "strides has %d values, expected %d", n, nk);
        for (int i = 0; i < nk; i++) sp->s[off + i] = v[i];
    }
    if (has_dil) {
        if ((n = ox_attr_ints(cx, "dilations", v, 8)) < 0) return FS_ERR_UNSUPPORTED;
        if (n) {
            if (n != nk) return OX_FAIL(cx, FS_ERR_FORMAT, "dilations has %d values, expected %d", n, nk);
            for (int i = 0; i < nk; i++) sp->d[off + i] = v[i];
        }
    }
    if ((n = ox_attr_ints(cx, "pads", v, 8)) < 0) return FS_ERR_UNSUPPORTED;
    if (n) {
        if (n != 2 * nk) return OX_FAIL(cx, FS_ERR_FORMAT, "pads has %d values, expected %d", n, 2 * nk);
        for (int i = 0; i < nk; i++) {
            sp->pads[off + i] = v[i];
            sp->pads[2 + off + i] = v[nk + i];
        }
    }
    ox_attr_s(cx, "auto_pad", "NOTSET", ap, sizeof ap);
    if (!strcmp(ap, "NOTSET")) sp->auto_pad = 0;
    else if (!strcmp(ap, "SAME_UPPER")) sp->auto_pad = 1;
    else if (!strcmp(ap, "SAME_LOWER")) sp->auto_pad = 2;
    else if (!strcmp(ap, "VALID")) sp->auto_pad = 3;
    else return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "auto_pad '%s' is not supported", ap);
    for (int i = 0; i < 2; i++) {
        if (sp->k[i] < 1 || sp->k[i] > 65535 || sp->s[i] < 1 || sp->s[i] > 65535 || sp->d[i] < 1 ||
            sp->d[i] > 65535)
            return OX_FAIL(cx, FS_ERR_FORMAT, "kernel %lldx%lld, strides %lld,%lld, dilations %lld,%lld out of range",
                             (long long)sp->k[0], (long long)sp->k[1], (long long)sp->s[0], (long long)sp->s[1],
                             (long long)sp->d[0], (long long)sp->d[1]);
    }
    for (int i = 0; i < 4; i++)
        if (sp->pads[i] < 0 || sp->pads[i] > 65535)
            return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "pads value %lld is not supported", (long long)sp->pads[i]);
    return FS_OK;
}

/* spatial rank of an NCHW / NCW input: 2 or 1; 0 after fs_error */
static int spatial_rank(ox_ctx *cx, int x) {
    int r = OX_T(cx, x)->ndim;
    if (r == 4 || r == 3) return r - 2;
    OX_FAIL(cx, FS_ERR_UNSUPPORTED, "input of rank %d (only 1-D and 2-D spatial ops: NCW / NCHW)", r);
    return 0;
}

/* NCHW (or NCW, unsqueezed to NC1W) -> NHWC operand of a spatial op */
static int nhwc_enter(ox_ctx *cx, int x, int nk) {
    if (nk == 1) {
        nn_tensor *t = OX_T(cx, x);
        int64_t d[4] = {t->dims[0], t->dims[1], 1, t->dims[2]};
        char base[200];
        snprintf(base, sizeof base, "%s", t->name);
        int x4 = ox_new_tensor(cx, base, "nc1w", t->dtype, 4, d);
        int ni = x4 < 0 ? -1 : ox_emit(cx, NN_OP_UNSQUEEZE, 1, &x, 1, &x4);
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
    nn_tensor *t = OX_T(cx, y);
    int64_t d4[4], d3[3];
    for (int i = 0; i < 4; i++) d4[i] = t->dims[PERM_TO_NCHW[i]];
    d3[0] = d4[0]; d3[1] = d4[1]; d3[2] = d4[3];
    char ob[200];
    ox_fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int m = ox_new_tensor(cx, ob, "nc1w", t->dtype, 4, d4);
    int ni = m < 0 ? -1 : ox_emit(cx, NN_OP_TRANSPOSE, 1, &y, 1, &m);
    if (ni < 0) return FS_ERR_NOMEM;
    memcpy(cx->g->nodes[ni].attr.perm, PERM_TO_NCHW, sizeof PERM_TO_NCHW);
    int o = ox_out_t(cx, 0, t->dtype, 3, d3);
    ni = o < 0 ? -1 : ox_emit(cx, NN_OP_SQUEEZE, 1, &m, 1, &o);
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

/* ------------------------------------------------------------------ general N-D (channel-first) */

/* kernel_shape/strides/dilations/pads/auto_pad of an S-D op into the NN_OP_*_ND attributes
 * (nn/ops/spatial_nd.c: starts = kernel, steps = strides, ends = dilations) */
static fs_status read_nd(ox_ctx *cx, int S, nn_attr *a, int has_dil) {
    int64_t v[16];
    int n;
    char ap[32];
    a->n_axes = S;
    for (int i = 0; i < S; i++) { a->starts[i] = 0; a->steps[i] = 1; a->ends[i] = 1; a->pads[i] = a->pads[S + i] = 0; }
    if ((n = ox_attr_ints(cx, "kernel_shape", v, 16)) < 0) return FS_ERR_UNSUPPORTED;
    if (n && n != S) return OX_FAIL(cx, FS_ERR_FORMAT, "kernel_shape has %d values for %d spatial dims", n, S);
    for (int i = 0; i < n; i++) a->starts[i] = v[i];
    if ((n = ox_attr_ints(cx, "strides", v, 16)) < 0) return FS_ERR_UNSUPPORTED;
    if (n && n != S) return OX_FAIL(cx, FS_ERR_FORMAT, "strides has %d values, expected %d", n, S);
    for (int i = 0; i < n; i++) a->steps[i] = v[i];
    if (has_dil) {
        if ((n = ox_attr_ints(cx, "dilations", v, 16)) < 0) return FS_ERR_UNSUPPORTED;
        if (n && n != S) return OX_FAIL(cx, FS_ERR_FORMAT, "dilations has %d values, expected %d", n, S);
        for (int i = 0; i < n; i++) a->ends[i] = v[i];
    }
    if ((n = ox_attr_ints(cx, "pads", v, 16)) < 0) return FS_ERR_UNSUPPORTED;
    if (n && n != 2 * S) return OX_FAIL(cx, FS_ERR_FORMAT, "pads has %d values, expected %d", n, 2 * S);
    for (int i = 0; i < n; i++) a->pads[i] = v[i];
    ox_attr_s(cx, "auto_pad", "NOTSET", ap, sizeof ap);
    if (!strcmp(ap, "NOTSET")) a->auto_pad = 0;
    else if (!strcmp(ap, "SAME_UPPER")) a->auto_pad = 1;
    else if (!strcmp(ap, "SAME_LOWER")) a->auto_pad = 2;
    else if (!strcmp(ap, "VALID")) a->auto_pad = 3;
    else return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "auto_pad '%s' is not supported", ap);
    for (int i = 0; i < S; i++)
        if (a->starts[i] < 0 || a->starts[i] > 65535 || a->steps[i] < 1 || a->steps[i] > 65535 || a->ends[i] < 1 ||
            a->ends[i] > 65535 || a->pads[i] < 0 || a->pads[i] > 65535 || a->pads[S + i] < 0 || a->pads[S + i] > 65535)
            return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "kernel / stride / dilation / pads out of range");
    return FS_OK;
}

/* Conv / MaxPool / AveragePool as NN_OP_CONV_ND / MAX_POOL_ND / AVG_POOL_ND on the NC... layout */
static fs_status op_spatial_nd(ox_ctx *cx, nn_op_type op) {
    int x = ox_need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    int r = OX_T(cx, x)->ndim, S = r - 2;
    if (S < 1 || S > 3) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "input of rank %d (1 to 3 spatial dims supported)", r);
    nn_attr at;
    memset(&at, 0, sizeof at);
    fs_status st = read_nd(cx, S, &at, op != NN_OP_AVG_POOL_ND);
    if (st) return st;
    int in[3] = {x, -1, -1}, n_in = 1;
    if (op == NN_OP_CONV_ND) {
        int w = ox_need_in(cx, 1), b = ox_in_t(cx, 2);
        if (w < 0 || b == -2) return FS_ERR_FORMAT;
        if (!ox_const_data(cx, w, "Conv weights")) return FS_ERR_UNSUPPORTED;
        if (b >= 0 && !ox_const_data(cx, b, "Conv bias")) return FS_ERR_UNSUPPORTED;
        at.groups = (int)ox_attr_i(cx, "group", 1);
        if (at.groups < 1) return OX_FAIL(cx, FS_ERR_FORMAT, "group %d", at.groups);
        in[1] = w;
        in[2] = b;
        n_in = b >= 0 ? 3 : 2;
    } else {
        if (cx->nd->n_out > 1 && cx->nd->out[1].len)
            return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "the Indices output is not supported");
        for (int i = 0; i < S; i++)
            if (!at.starts[i]) return OX_FAIL(cx, FS_ERR_FORMAT, "kernel_shape is missing");
        at.ceil_mode = (int)ox_attr_i(cx, "ceil_mode", 0);
        if (op == NN_OP_MAX_POOL_ND) {
            if (ox_attr_i(cx, "storage_order", 0) != 0) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "storage_order 1 is not supported");
        } else {
            at.count_include_pad = (int)ox_attr_i(cx, "count_include_pad", 0);
        }
    }
    if ((st = ox_check_attrs_used(cx))) return st;
    int64_t yd[NN_MAX_DIMS];
    for (int i = 0; i < r; i++) yd[i] = -1;
    int y = ox_out_t(cx, 0, NN_F32, r, yd);
    int ni = y < 0 ? -1 : ox_emit(cx, op, n_in, in, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    a->n_axes = at.n_axes;
    memcpy(a->starts, at.starts, sizeof at.starts);
    memcpy(a->steps, at.steps, sizeof at.steps);
    memcpy(a->ends, at.ends, sizeof at.ends);
    memcpy(a->pads, at.pads, sizeof at.pads);
    a->auto_pad = at.auto_pad;
    a->ceil_mode = at.ceil_mode;
    a->count_include_pad = at.count_include_pad;
    if (op == NN_OP_CONV_ND) a->groups = at.groups;
    return FS_OK;
}

/* ConvTranspose with 3 spatial dims as NN_OP_CONV_TRANSPOSE_ND (weights [C][O/group][k...] as stored);
 * pads from output_shape / auto_pad resolved here as for 1-D / 2-D (ONNX's rule), output_padding
 * and larger output_shape as a negative end pad */
static fs_status op_conv_transpose_nd(ox_ctx *cx) {
    int x = ox_need_in(cx, 0), w = ox_need_in(cx, 1), b = ox_in_t(cx, 2);
    if (x < 0 || w < 0 || b == -2) return FS_ERR_FORMAT;
    nn_tensor *xt = OX_T(cx, x);
    int r = xt->ndim, S = r - 2;
    nn_attr at;
    memset(&at, 0, sizeof at);
    fs_status st = read_nd(cx, S, &at, 1);
    if (st) return st;
    if (!ox_const_data(cx, w, "ConvTranspose weights")) return FS_ERR_UNSUPPORTED;
    if (b >= 0 && !ox_const_data(cx, b, "ConvTranspose bias")) return FS_ERR_UNSUPPORTED;
    nn_tensor *wt = OX_T(cx, w);
    if (wt->ndim != r || wt->dtype != NN_F32) return OX_FAIL(cx, FS_ERR_FORMAT, "weights of rank %d", wt->ndim);
    int64_t group = ox_attr_i(cx, "group", 1), opad[8] = {0}, oshape[8];
    if (group < 1 || group > 65535) return OX_FAIL(cx, FS_ERR_FORMAT, "group %lld", (long long)group);
    int n = ox_attr_ints(cx, "output_padding", opad, 8);
    if (n < 0) return FS_ERR_UNSUPPORTED;
    if (n && n != S) return OX_FAIL(cx, FS_ERR_FORMAT, "output_padding has %d values", n);
    int n_os = ox_attr_ints(cx, "output_shape", oshape, 8);
    if (n_os < 0) return FS_ERR_UNSUPPORTED;
    if (n_os && n_os != S) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "output_shape has %d values for %d spatial dims", n_os, S);
    if ((st = ox_check_attrs_used(cx))) return st;
    for (int i = 0; i < S; i++) {
        int64_t k = wt->dims[2 + i], s = at.steps[i], d = at.ends[i], in = xt->dims[2 + i];
        if (at.starts[i] && at.starts[i] != k) return OX_FAIL(cx, FS_ERR_FORMAT, "kernel_shape does not match the weights");
        at.starts[i] = k;
        if (opad[i] < 0 || (opad[i] >= s && opad[i] >= d))
            return OX_FAIL(cx, FS_ERR_FORMAT, "output_padding %lld must be smaller than the stride or dilation", (long long)opad[i]);
        if (n_os || at.auto_pad == 1 || at.auto_pad == 2) {
            if (in < 0) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "output_shape / auto_pad SAME_* with a dynamic spatial input dim");
            int64_t out = n_os ? oshape[i] : in * s, total = s * (in - 1) + opad[i] + (k - 1) * d + 1 - out;
            if (out < 1 || total < -65535 || total > 2 * 65535)
                return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "output size %lld needs total padding %lld", (long long)out, (long long)total);
            int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
            at.pads[i] = at.auto_pad == 1 ? half : total - half;
            at.pads[S + i] = total - at.pads[i];
            if (at.pads[i] < 0) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "output size %lld needs negative padding at the start", (long long)out);
        } else if (at.auto_pad == 3) {
            at.pads[i] = at.pads[S + i] = 0;
        }
    }
    if (!n_os && at.auto_pad != 1 && at.auto_pad != 2) /* explicit pads: output_padding extends the end */
        for (int i = 0; i < S; i++) at.pads[S + i] -= opad[i];
    int64_t yd[NN_MAX_DIMS];
    for (int i = 0; i < r; i++) yd[i] = -1;
    int y = ox_out_t(cx, 0, NN_F32, r, yd);
    int in[3] = {x, w, b};
    int ni = y < 0 ? -1 : ox_emit(cx, NN_OP_CONV_TRANSPOSE_ND, b >= 0 ? 3 : 2, in, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    a->n_axes = S;
    memcpy(a->starts, at.starts, sizeof at.starts);
    memcpy(a->steps, at.steps, sizeof at.steps);
    memcpy(a->ends, at.ends, sizeof at.ends);
    memcpy(a->pads, at.pads, sizeof at.pads);
    a->auto_pad = 0;
    a->groups = (int)group;
    return FS_OK;
}

/* does the node carry a dilation other than 1? */
static int has_dilation(ox_ctx *cx) {
    const ox_node *n = cx->nd;
    for (int i = 0; i < n->n_at; i++)
        if (pb_str_eq(&n->at[i].name, "dilations"))
            for (int k = 0; k < n->at[i].n_ints; k++)
                if (n->at[i].ints[k] != 1) return 1;
    return 0;
}

/* ------------------------------------------------------------------ op handlers */

static fs_status op_conv(ox_ctx *cx) {
    int x = ox_need_in(cx, 0), w = ox_need_in(cx, 1), b = ox_in_t(cx, 2);
    if (x < 0 || w < 0 || b == -2) return FS_ERR_FORMAT;
    if (OX_T(cx, x)->ndim == 5) return op_spatial_nd(cx, NN_OP_CONV_ND); /* 3-D: general-case kernel */
    int nk = spatial_rank(cx, x);
    if (!nk) return FS_ERR_UNSUPPORTED;
    const float *wd = ox_const_data(cx, w, "Conv weights");
    if (!wd) return FS_ERR_UNSUPPORTED;
    nn_tensor *wt = OX_T(cx, w);
    if (wt->ndim != nk + 2 || wt->dtype != NN_F32)
        return OX_FAIL(cx, FS_ERR_FORMAT, "weights of rank %d for a %d-D float convolution", wt->ndim, nk);
    int64_t O = wt->dims[0], I = wt->dims[1], KH = nk == 2 ? wt->dims[2] : 1, KW = wt->dims[nk + 1];
    ox_spatial sp = {.nk = nk, .k = {KH, KW}};
    fs_status st = read_spatial(cx, &sp, 1);
    if (st) return st;
    if (sp.k[0] != KH || sp.k[1] != KW) return OX_FAIL(cx, FS_ERR_FORMAT, "kernel_shape does not match the weights");
    int64_t group = ox_attr_i(cx, "group", 1);
    int64_t C = OX_T(cx, x)->dims[1];
    if (group < 1 || O % group || (C >= 0 && C != I * group))
        return OX_FAIL(cx, FS_ERR_FORMAT, "group %lld does not fit %lld input / %lld output channels (weights %lldx%lld)",
                         (long long)group, (long long)C, (long long)O, (long long)O, (long long)I);
    if (b >= 0) {
        if (!ox_const_data(cx, b, "Conv bias")) return FS_ERR_UNSUPPORTED;
        if (nn_tensor_numel(OX_T(cx, b)) != O || OX_T(cx, b)->dtype != NN_F32)
            return OX_FAIL(cx, FS_ERR_FORMAT, "bias has %lld values, expected %lld", (long long)nn_tensor_numel(OX_T(cx, b)), (long long)O);
    }
    if ((st = ox_check_attrs_used(cx))) return st;
    /* OIHW (OIW) -> OHWI */
    int64_t od[4] = {O, KH, KW, I};
    char base[200];
    snprintf(base, sizeof base, "%s", wt->name);
    int w2 = ox_new_tensor(cx, base, "ohwi", NN_F32, 4, od);
    if (w2 < 0) return FS_ERR_NOMEM;
    float *dst = nn_graph_alloc_const(cx->g, w2);
    if (!dst) return FS_ERR_NOMEM;
    wd = OX_T(cx, w)->data;
    for (int64_t o = 0; o < O; o++)
        for (int64_t i = 0; i < I; i++)
            for (int64_t h = 0; h < KH; h++)
                for (int64_t k = 0; k < KW; k++)
                    dst[((o * KH + h) * KW + k) * I + i] = wd[((o * I + i) * KH + h) * KW + k];
    int xn = nhwc_enter(cx, x, nk);
    if (xn < 0) return FS_ERR_NOMEM;
    int64_t yd[4];
    spatial_out(&sp, OX_T(cx, xn)->dims, O, 0, yd);
    char ob[200];
    ox_fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int y = ox_new_tensor(cx, ob, "nhwc", NN_F32, 4, yd);
    if (y < 0) return FS_ERR_NOMEM;
    int in[3] = {xn, w2, b};
    int ni = ox_emit(cx, NN_OP_CONV2D, b >= 0 ? 3 : 2, in, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    set_spatial(a, &sp);
    a->groups = (int)group;
    return nhwc_leave(cx, y, nk);
}

/* ConvTranspose (1-D / 2-D, constant weights [Cin][Cout/group][kH][kW] -> OHWI [Cout][kH][kW][Cin/group]) */
static fs_status op_conv_transpose(ox_ctx *cx) {
    int x = ox_need_in(cx, 0), w = ox_need_in(cx, 1), b = ox_in_t(cx, 2);
    if (x < 0 || w < 0 || b == -2) return FS_ERR_FORMAT;
    if (OX_T(cx, x)->ndim == 5) return op_conv_transpose_nd(cx); /* 3-D: general-case kernel */
    int nk = spatial_rank(cx, x);
    if (!nk) return FS_ERR_UNSUPPORTED;
    if (!ox_const_data(cx, w, "ConvTranspose weights")) return FS_ERR_UNSUPPORTED;
    nn_tensor *wt = OX_T(cx, w);
    if (wt->ndim != nk + 2 || wt->dtype != NN_F32)
        return OX_FAIL(cx, FS_ERR_FORMAT, "weights of rank %d for a %d-D float convolution", wt->ndim, nk);
    int64_t CI = wt->dims[0], COG = wt->dims[1], KH = nk == 2 ? wt->dims[2] : 1, KW = wt->dims[nk + 1];
    ox_spatial sp = {.nk = nk, .k = {KH, KW}};
    fs_status st = read_spatial(cx, &sp, 1);
    if (st) return st;
    if (sp.k[0] != KH || sp.k[1] != KW) return OX_FAIL(cx, FS_ERR_FORMAT, "kernel_shape does not match the weights");
    int64_t group = ox_attr_i(cx, "group", 1), op[2] = {0, 0}, v[4];
    int n = ox_attr_ints(cx, "output_padding", v, 4);
    if (n < 0) return FS_ERR_UNSUPPORTED;
    if (n && n != nk) return OX_FAIL(cx, FS_ERR_FORMAT, "output_padding has %d values", n);
    for (int i = 0; i < n; i++) op[2 - nk + i] = v[i];
    for (int i = 0; i < 2; i++)
        if (op[i] < 0 || (op[i] >= sp.s[i] && op[i] >= sp.d[i]))
            return OX_FAIL(cx, FS_ERR_FORMAT, "output_padding %lld must be smaller than the stride or dilation", (long long)op[i]);
    int64_t oshape[4];
    int n_os = ox_attr_ints(cx, "output_shape", oshape, 4);
    if (n_os < 0) return FS_ERR_UNSUPPORTED;
    if (n_os && n_os != nk) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "output_shape has %d values for %d spatial dims", n_os, nk);
    if (n_os || sp.auto_pad == 1 || sp.auto_pad == 2) {
        /* ONNX: total = stride (in - 1) + output_padding + (k - 1) dilation + 1 - out, out = output_shape or
         * in x stride; SAME_UPPER: begin = total / 2, otherwise begin = total - total / 2. Resolved
         * here from the input's spatial dims (the runtime's own SAME rule for transposed convs differs). */
        nn_tensor *xt = OX_T(cx, x);
        for (int i = 0; i < nk; i++) {
            int j = 2 - nk + i;
            int64_t in = xt->dims[2 + i];
            if (in < 0)
                return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "%s with a dynamic spatial input dim", n_os ? "output_shape" : "auto_pad SAME_*");
            int64_t out = n_os ? oshape[i] : in * sp.s[j];
            int64_t total = sp.s[j] * (in - 1) + op[j] + (sp.k[j] - 1) * sp.d[j] + 1 - out;
            if (out < 1 || total < -65535 || total > 2 * 65535)
                return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "output size %lld needs total padding %lld", (long long)out, (long long)total);
            int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2); /* floor, as ONNX's reference */
            sp.pads[j] = sp.auto_pad == 1 ? half : total - half;
            sp.pads[2 + j] = total - sp.pads[j];
            if (sp.pads[2 + j] < 0) { /* a larger output than the full transposed conv: zeros (+ bias) at the end */
                op[j] -= sp.pads[2 + j];
                sp.pads[2 + j] = 0;
            }
            if (sp.pads[j] < 0)
                return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "output size %lld needs negative padding at the start", (long long)out);
        }
        sp.auto_pad = 0;
    }
    int64_t C = OX_T(cx, x)->dims[1];
    if (group < 1 || CI % group || (C >= 0 && C != CI))
        return OX_FAIL(cx, FS_ERR_FORMAT, "group %lld does not fit %lld input channels (weights %lld)", (long long)group,
                         (long long)C, (long long)CI);
    int64_t O = COG * group, CIG = CI / group;
    if (b >= 0) {
        if (!ox_const_data(cx, b, "ConvTranspose bias")) return FS_ERR_UNSUPPORTED;
        if (nn_tensor_numel(OX_T(cx, b)) != O || OX_T(cx, b)->dtype != NN_F32)
            return OX_FAIL(cx, FS_ERR_FORMAT, "bias has %lld values, expected %lld", (long long)nn_tensor_numel(OX_T(cx, b)), (long long)O);
    }
    if ((st = ox_check_attrs_used(cx))) return st;
    int64_t od[4] = {O, KH, KW, CIG};
    char base[200];
    snprintf(base, sizeof base, "%s", wt->name);
    int w2 = ox_new_tensor(cx, base, "ohwi", NN_F32, 4, od);
    float *dst = w2 < 0 ? NULL : nn_graph_alloc_const(cx->g, w2);
    if (!dst) return FS_ERR_NOMEM;
    const float *wd = OX_T(cx, w)->data;
    for (int64_t ci = 0; ci < CI; ci++)
        for (int64_t cg = 0; cg < COG; cg++) {
            int64_t gi = ci / CIG, i = ci % CIG, o = gi * COG + cg;
            for (int64_t h = 0; h < KH; h++)
                for (int64_t k = 0; k < KW; k++)
                    dst[((o * KH + h) * KW + k) * CIG + i] = wd[((ci * COG + cg) * KH + h) * KW + k];
        }
    int xn = nhwc_enter(cx, x, nk);
    if (xn < 0) return FS_ERR_NOMEM;
    int64_t yd[4] = {OX_T(cx, xn)->dims[0], -1, -1, O};
    char ob[200];
    ox_fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int y = ox_new_tensor(cx, ob, "nhwc", NN_F32, 4, yd);
    int in[3] = {xn, w2, b};
    int ni = y < 0 ? -1 : ox_emit(cx, NN_OP_CONV2D_TRANSPOSE, b >= 0 ? 3 : 2, in, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    set_spatial(a, &sp);
    a->groups = (int)group;
    a->out_pad_h = (int)op[0];
    a->out_pad_w = (int)op[1];
    return nhwc_leave(cx, y, nk);
}

static fs_status op_pool(ox_ctx *cx, int is_max) {
    int x = ox_need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    if (OX_T(cx, x)->ndim == 5 || (is_max && has_dilation(cx))) /* 3-D, dilated: general-case kernel */
        return op_spatial_nd(cx, is_max ? NN_OP_MAX_POOL_ND : NN_OP_AVG_POOL_ND);
    if (cx->nd->n_out > 1 && cx->nd->out[1].len)
        return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "the Indices output is not supported");
    int nk = spatial_rank(cx, x);
    if (!nk) return FS_ERR_UNSUPPORTED;
    ox_spatial sp = {.nk = nk};
    fs_status st = read_spatial(cx, &sp, is_max);
    if (st) return st;
    if (!sp.k[0] || !sp.k[1]) return OX_FAIL(cx, FS_ERR_FORMAT, "kernel_shape is missing");
    if (sp.d[0] != 1 || sp.d[1] != 1) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "dilations other than 1 are not supported");
    int ceil_mode = (int)ox_attr_i(cx, "ceil_mode", 0);
    int cip = 0;
    if (is_max) {
        if (ox_attr_i(cx, "storage_order", 0) != 0) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "storage_order 1 is not supported");
    } else {
        cip = (int)ox_attr_i(cx, "count_include_pad", 0);
    }
    if ((st = ox_check_attrs_used(cx))) return st;
    int xn = nhwc_enter(cx, x, nk);
    if (xn < 0) return FS_ERR_NOMEM;
    int64_t yd[4];
    spatial_out(&sp, OX_T(cx, xn)->dims, OX_T(cx, xn)->dims[3], ceil_mode, yd);
    char ob[200];
    ox_fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int y = ox_new_tensor(cx, ob, "nhwc", NN_F32, 4, yd);
    if (y < 0) return FS_ERR_NOMEM;
    int ni = ox_emit(cx, is_max ? NN_OP_MAX_POOL2D : NN_OP_AVG_POOL2D, 1, &xn, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    set_spatial(a, &sp);
    a->ceil_mode = ceil_mode;
    a->count_include_pad = cip;
    return nhwc_leave(cx, y, nk);
}

static fs_status op_global_pool(ox_ctx *cx, nn_op_type op) {
    int x = ox_need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    if (OX_T(cx, x)->ndim != 4) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "input of rank %d (only 4-D NCHW)", OX_T(cx, x)->ndim);
    int xn = to_nhwc(cx, x);
    if (xn < 0) return FS_ERR_NOMEM;
    int64_t yd[4] = {OX_T(cx, xn)->dims[0], 1, 1, OX_T(cx, xn)->dims[3]};
    char ob[200];
    ox_fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int y = ox_new_tensor(cx, ob, "nhwc", NN_F32, 4, yd);
    if (y < 0) return FS_ERR_NOMEM;
    int ni = ox_emit(cx, op, 1, &xn, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    a->axes[0] = 1; a->axes[1] = 2; a->n_axes = 2; a->keepdims = 1;
    return from_nhwc(cx, y) < 0 ? FS_ERR_NOMEM : FS_OK;
}

/* Resize (opset >= 11: X, roi, scales, sizes; opset 10: X, scales) and Upsample */
/* Resize with tf_crop_and_resize: NN_OP_RESIZE_CROP on the file's layout (any rank), output sizes given */
static fs_status resize_crop(ox_ctx *cx, int x, int nsz, const int64_t *sizes, nn_resize_mode mode, int nearest,
                             float cubic_a, int exclude_outside, float extrap) {
    int r = OX_T(cx, x)->ndim, troi = ox_in_t(cx, 1), tsz = ox_in_t(cx, 3);
    if (!nsz || tsz < 0) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "tf_crop_and_resize with scales (output sizes are supported)");
    if (nsz != r) return OX_FAIL(cx, FS_ERR_FORMAT, "sizes has %d values for rank %d", nsz, r);
    float roi[2 * NN_MAX_DIMS];
    if (troi < 0) return OX_FAIL(cx, FS_ERR_FORMAT, "tf_crop_and_resize without roi");
    int nroi = ox_const_floats(cx, troi, "roi", roi, 2 * NN_MAX_DIMS);
    if (nroi < 0) return FS_ERR_UNSUPPORTED;
    if (nroi != 2 * r) return OX_FAIL(cx, FS_ERR_FORMAT, "roi has %d values for rank %d", nroi, r);
    for (int i = 0; i < r; i++)
        if (sizes[i] < 0) return OX_FAIL(cx, FS_ERR_FORMAT, "output size %lld", (long long)sizes[i]);
    int y = ox_out_t(cx, 0, NN_F32, r, sizes);
    int in[3] = {x, troi, tsz};
    int ni = y < 0 ? -1 : ox_emit(cx, NN_OP_RESIZE_CROP, 3, in, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    a->resize_mode = mode;
    a->nearest_mode = nearest;
    a->cubic_a = cubic_a;
    a->exclude_outside = exclude_outside;
    a->pad_value = extrap;
    return FS_OK;
}

static fs_status op_resize(ox_ctx *cx, int upsample) {
    int x = ox_need_in(cx, 0);
    if (x < 0) return FS_ERR_FORMAT;
    char mode[32], ctm[48], nm[32];
    ox_attr_s(cx, "mode", "nearest", mode, sizeof mode);
    int coord, nearest = NN_NEAREST_FLOOR;
    float sc[4] = {0};
    int64_t sizes[4];
    int nsc = 0, nsz = 0, exclude_outside = 0, crop = 0;
    float cubic_a = -0.75f, extrap = 0.0f;
    if (upsample || cx->opset < 11) {
        coord = NN_COORD_ASYMMETRIC;
        if (upsample && cx->opset < 9) {
            ox_attr *a = ox_find_attr(cx, "scales");
            if (!a || a->n_floats != 4) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "scales must have 4 values");
            memcpy(sc, a->floats, sizeof sc);
            nsc = 4;
        } else {
            nsc = ox_const_floats(cx, ox_in_t(cx, 1), "scales", sc, 4);
            if (nsc < 0) return FS_ERR_UNSUPPORTED;
        }
        if (!strcmp(mode, "linear")) mode[0] = 'l';
    } else {
        ox_attr_s(cx, "coordinate_transformation_mode", "half_pixel", ctm, sizeof ctm);
        ox_attr_s(cx, "nearest_mode", "round_prefer_floor", nm, sizeof nm);
        cubic_a = ox_attr_f(cx, "cubic_coeff_a", -0.75f);
        int64_t eo = ox_attr_i(cx, "exclude_outside", 0);
        if (eo != 0 && eo != 1) return OX_FAIL(cx, FS_ERR_FORMAT, "exclude_outside %lld", (long long)eo);
        exclude_outside = (int)eo;
        if (!strcmp(mode, "cubic")) { mode[0] = 'c'; mode[1] = 0; }
        if (!isfinite(cubic_a)) return OX_FAIL(cx, FS_ERR_FORMAT, "cubic_coeff_a %g", cubic_a);
        if (cubic_a == 0.0f && mode[0] == 'c') /* the kernel reads 0 as "default -0.75" */
            return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "cubic_coeff_a 0 is not supported");
        extrap = ox_attr_f(cx, "extrapolation_value", 0.0f); /* tf_crop_and_resize only */
        if (!strcmp(ctm, "half_pixel")) coord = NN_COORD_HALF_PIXEL;
        else if (!strcmp(ctm, "asymmetric")) coord = NN_COORD_ASYMMETRIC;
        else if (!strcmp(ctm, "pytorch_half_pixel")) coord = NN_COORD_PYTORCH_HALF_PIXEL;
        else if (!strcmp(ctm, "align_corners")) coord = NN_COORD_ALIGN_CORNERS;
        else if (!strcmp(ctm, "tf_half_pixel_for_nn")) coord = NN_COORD_TF_HALF_PIXEL_FOR_NN;
        else if (!strcmp(ctm, "tf_crop_and_resize")) { coord = NN_COORD_HALF_PIXEL; crop = 1; }
        else return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "coordinate_transformation_mode '%s' is not supported", ctm);
        if (!strcmp(nm, "round_prefer_floor")) nearest = NN_NEAREST_ROUND_PREFER_FLOOR;
        else if (!strcmp(nm, "round_prefer_ceil")) nearest = NN_NEAREST_ROUND_PREFER_CEIL;
        else if (!strcmp(nm, "floor")) nearest = NN_NEAREST_FLOOR;
        else if (!strcmp(nm, "ceil")) nearest = NN_NEAREST_CEIL;
        else return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "nearest_mode '%s' is not supported", nm);
        int ts = ox_in_t(cx, 2), tz = ox_in_t(cx, 3);
        if (ts == -2 || tz == -2) return FS_ERR_FORMAT;
        if (ts >= 0 && nn_tensor_numel(OX_T(cx, ts)) > 0) {
            nsc = ox_const_floats(cx, ts, "scales", sc, 4);
            if (nsc < 0) return FS_ERR_UNSUPPORTED;
        } else if (tz >= 0) {
            nsz = ox_const_ints(cx, tz, "sizes", sizes, 4);
            if (nsz < 0) return FS_ERR_UNSUPPORTED;
        }
        if (!nsc && !nsz) return OX_FAIL(cx, FS_ERR_FORMAT, "neither scales nor sizes is given");
    }
    if (strcmp(mode, "nearest") && strcmp(mode, "linear") && strcmp(mode, "l") && strcmp(mode, "c"))
        return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "mode '%s' is not supported", mode);
    int linear = mode[0] == 'l', cubic = mode[0] == 'c';
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    if (crop) return resize_crop(cx, x, nsz, sizes, cubic ? NN_RESIZE_CUBIC : linear ? NN_RESIZE_LINEAR : NN_RESIZE_NEAREST,
                                 nearest, cubic_a, exclude_outside, extrap);
    nn_tensor *xt = OX_T(cx, x);
    int r = xt->ndim;
    if (r != 4 || (nsc && nsc != 4) || (nsz && nsz != 4))
        return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "only 4-D NCHW resizing is supported (rank %d)", r);
    if (nsc && (sc[0] != 1.0f || sc[1] != 1.0f))
        return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "resizing the batch or channel axis is not supported");
    if (nsz && (sizes[0] != xt->dims[0] || sizes[1] != xt->dims[1]))
        return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "resizing the batch or channel axis is not supported");
    for (int i = 0; i < nsc; i++)
        if (!(sc[i] > 0.0f) || !isfinite(sc[i])) return OX_FAIL(cx, FS_ERR_FORMAT, "scale %g is not positive", sc[i]);
    int xn = to_nhwc(cx, x);
    if (xn < 0) return FS_ERR_NOMEM;
    int64_t yd[4];
    memcpy(yd, OX_T(cx, xn)->dims, sizeof yd);
    float nsc_h = 0, nsc_w = 0;
    for (int i = 0; i < 2; i++) {
        int64_t in = OX_T(cx, xn)->dims[1 + i];
        if (nsz) {
            yd[1 + i] = sizes[2 + i];
            if (sizes[2 + i] < 1) return OX_FAIL(cx, FS_ERR_FORMAT, "output size %lld", (long long)sizes[2 + i]);
        } else {
            double o = in < 0 ? -1 : floor((double)in * sc[2 + i]);
            if (o > 1e15) return OX_FAIL(cx, FS_ERR_FORMAT, "scale %g gives an output size of %g", sc[2 + i], o);
            yd[1 + i] = (int64_t)o;
        }
        float s = nsz ? (in > 0 ? (float)sizes[2 + i] / (float)in : 0) : sc[2 + i];
        if (i == 0) nsc_h = s; else nsc_w = s;
    }
    if (nsz && (nsc_h == 0 || nsc_w == 0))
        return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "output sizes with an unknown input size");
    char ob[200];
    ox_fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int y = ox_new_tensor(cx, ob, "nhwc", NN_F32, 4, yd);
    if (y < 0) return FS_ERR_NOMEM;
    int ni = ox_emit(cx, NN_OP_RESIZE, 1, &xn, 1, &y);
    if (ni < 0) return FS_ERR_NOMEM;
    nn_attr *a = &cx->g->nodes[ni].attr;
    a->resize_mode = cubic ? NN_RESIZE_CUBIC : linear ? NN_RESIZE_LINEAR : NN_RESIZE_NEAREST;
    a->cubic_a = cubic_a;
    a->exclude_outside = exclude_outside;
    a->coord_mode = coord;
    a->nearest_mode = nearest;
    a->scales[0] = 1.0f; a->scales[1] = nsc_h; a->scales[2] = nsc_w; a->scales[3] = 1.0f;
    return from_nhwc(cx, y) < 0 ? FS_ERR_NOMEM : FS_OK;
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

/* a constant [C, 1, ...] (r - 1 dims) float tensor from c values (broadcast against NC... tensors);
 * r = 1: shape [C] */
static int bn_const(ox_ctx *cx, const char *base, const char *tag, int r, int64_t C, const float *v, float mul) {
    int64_t cd[NN_MAX_DIMS];
    int nd = r > 1 ? r - 1 : 1;
    cd[0] = C;
    for (int i = 1; i < nd; i++) cd[i] = 1;
    int t = ox_new_tensor(cx, base, tag, NN_F32, nd, cd);
    float *d = t < 0 ? NULL : nn_graph_alloc_const(cx->g, t);
    if (!d) return -1;
    for (int64_t c = 0; c < C; c++) d[c] = v ? v[c] * mul : mul;
    return t;
}

/* y = op(a, b) into a new tensor (or node output k >= 0) of dims like `like` */
static int bn_emit(ox_ctx *cx, nn_op_type op, int a, int b, const char *base, const char *tag, int like, int out_k) {
    nn_tensor *l = OX_T(cx, like);
    int nd = l->ndim;
    int64_t d[NN_MAX_DIMS];
    memcpy(d, l->dims, sizeof d);
    int y = out_k >= 0 ? ox_out_t(cx, out_k, NN_F32, nd, d) : ox_new_tensor(cx, base, tag, NN_F32, nd, d);
    int in[2] = {a, b};
    if (y < 0 || ox_emit(cx, op, b >= 0 ? 2 : 1, in, 1, &y) < 0) return -1;
    return y;
}

/* BatchNormalization training_mode 1 (opset >= 14): statistics of this batch per channel (over
 * every axis but 1), y normalised with them; outputs 1, 2 = running mean / var updated with
 * momentum: input * momentum + batch * (1 - momentum) (batch variance: population, as ONNX). */
static fs_status op_batchnorm_training(ox_ctx *cx, int x, int ts, int tb, int tm, int tv, float eps, float mom) {
    if (cx->nd->n_out > 3) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "training mode with %d outputs", cx->nd->n_out);
    nn_tensor *xt = OX_T(cx, x);
    int r = xt->ndim;
    int64_t C = OX_T(cx, ts)->ndim == 1 ? OX_T(cx, ts)->dims[0] : -1;
    if (r < 2 || C < 1 || xt->dims[1] != C) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "training mode needs a known channel count");
    const float *s = ox_const_data(cx, ts, "scale"), *b = ox_const_data(cx, tb, "B"), *m = ox_const_data(cx, tm, "mean"),
                *v = ox_const_data(cx, tv, "var");
    if (!s || !b || !m || !v) return FS_ERR_UNSUPPORTED;
    int tids[4] = {ts, tb, tm, tv};
    for (int k = 0; k < 4; k++)
        if (nn_tensor_numel(OX_T(cx, tids[k])) != C || OX_T(cx, tids[k])->dtype != NN_F32)
            return OX_FAIL(cx, FS_ERR_FORMAT, "parameter %d is not float32[%lld]", k + 1, (long long)C);
    char ob[200];
    ox_fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int64_t md[NN_MAX_DIMS];
    for (int i = 0; i < r; i++) md[i] = i == 1 ? C : 1;
    int stat[2] = {-1, -1}; /* batch mean, variance [1, C, 1...] */
    int src = x, d = -1;
    for (int k = 0; k < 2; k++) {
        stat[k] = ox_new_tensor(cx, ob, k ? "batch_var" : "batch_mean", NN_F32, r, md);
        int ni = stat[k] < 0 ? -1 : ox_emit(cx, NN_OP_REDUCE_MEAN, 1, &src, 1, &stat[k]);
        if (ni < 0) return FS_ERR_NOMEM;
        nn_attr *a = &cx->g->nodes[ni].attr;
        a->n_axes = 0;
        for (int i = 0; i < r; i++)
            if (i != 1) a->axes[a->n_axes++] = i;
        a->keepdims = 1;
        if (!k) {
            if ((d = bn_emit(cx, NN_OP_SUB, x, stat[0], ob, "centred", x, -1)) < 0) return FS_ERR_NOMEM;
            if ((src = bn_emit(cx, NN_OP_MUL, d, d, ob, "sq", x, -1)) < 0) return FS_ERR_NOMEM;
        }
    }
    int te = bn_const(cx, ob, "eps", r, C, NULL, eps), ts4 = bn_const(cx, ob, "scale", r, C, s, 1.0f);
    int tb4 = bn_const(cx, ob, "shift", r, C, b, 1.0f);
    if (te < 0 || ts4 < 0 || tb4 < 0) return FS_ERR_NOMEM;
    int ve = bn_emit(cx, NN_OP_ADD, stat[1], te, ob, "var_eps", stat[1], -1);
    int sd = ve < 0 ? -1 : bn_emit(cx, NN_OP_SQRT, ve, -1, ob, "std", stat[1], -1);
    int nrm = sd < 0 ? -1 : bn_emit(cx, NN_OP_DIV, d, sd, ob, "normalised", x, -1);
    int sc = nrm < 0 ? -1 : bn_emit(cx, NN_OP_MUL, nrm, ts4, ob, "scaled", x, -1);
    if (sc < 0 || bn_emit(cx, NN_OP_ADD, sc, tb4, ob, NULL, x, 0) < 0) return FS_ERR_NOMEM;
    for (int k = 1; k < cx->nd->n_out; k++) { /* running statistics */
        if (!cx->nd->out[k].len) continue;
        int flat = ox_new_tensor(cx, ob, k == 1 ? "mean_c" : "var_c", NN_F32, 1, &C);
        int src2 = stat[k - 1];
        if (flat < 0 || ox_emit(cx, NN_OP_RESHAPE, 1, &src2, 1, &flat) < 0) return FS_ERR_NOMEM;
        int part = bn_const(cx, ob, k == 1 ? "mean_part" : "var_part", 1, C, NULL, 1.0f - mom);
        int run = bn_const(cx, ob, k == 1 ? "mean_run" : "var_run", 1, C, k == 1 ? m : v, mom);
        int w = part < 0 || run < 0 ? -1 : bn_emit(cx, NN_OP_MUL, flat, part, ob, k == 1 ? "mean_w" : "var_w", flat, -1);
        if (w < 0 || bn_emit(cx, NN_OP_ADD, w, run, ob, NULL, flat, k) < 0) return FS_ERR_NOMEM;
    }
    return FS_OK;
}

static fs_status op_batchnorm(ox_ctx *cx) {
    const ld_names *uses = cx->uses;
    int x = ox_need_in(cx, 0), ts = ox_need_in(cx, 1), tb = ox_need_in(cx, 2), tm = ox_need_in(cx, 3), tv = ox_need_in(cx, 4);
    if (x < 0 || ts < 0 || tb < 0 || tm < 0 || tv < 0) return FS_ERR_FORMAT;
    float eps = ox_attr_f(cx, "epsilon", 1e-5f);
    float mom = ox_attr_f(cx, "momentum", 0.9f); /* training only */
    int64_t training = ox_attr_i(cx, "training_mode", 0);
    if (training != 0 && training != 1) return OX_FAIL(cx, FS_ERR_FORMAT, "training_mode %lld", (long long)training);
    if (training) {
        fs_status st = ox_check_attrs_used(cx);
        return st ? st : op_batchnorm_training(cx, x, ts, tb, tm, tv, eps, mom);
    }
    if (cx->opset < 9 && ox_attr_i(cx, "spatial", 1) != 1) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "spatial 0 is not supported");
    if (cx->opset < 7 && ox_attr_i(cx, "is_test", 0) != 1)
        return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "is_test 0 (training mode) is not supported");
    fs_status st = ox_check_attrs_used(cx);
    if (st) return st;
    for (int k = 1; k < cx->nd->n_out; k++)
        if (cx->nd->out[k].len) return OX_FAIL(cx, FS_ERR_UNSUPPORTED, "training outputs (mean/var) are not supported");
    nn_tensor *xt = OX_T(cx, x);
    int64_t C = OX_T(cx, ts)->ndim == 1 ? OX_T(cx, ts)->dims[0] : -1;
    const float *s = ox_const_data(cx, ts, "scale"), *b = ox_const_data(cx, tb, "B"), *m = ox_const_data(cx, tm, "mean"),
                *v = ox_const_data(cx, tv, "var");
    if (!s || !b || !m || !v) return FS_ERR_UNSUPPORTED;
    if (C < 1 || xt->ndim < 2 || (xt->dims[1] >= 0 && xt->dims[1] != C))
        return OX_FAIL(cx, FS_ERR_FORMAT, "scale has %lld values for %lld channels", (long long)C, (long long)xt->dims[1]);
    int tids[4] = {ts, tb, tm, tv};
    for (int k = 0; k < 4; k++)
        if (nn_tensor_numel(OX_T(cx, tids[k])) != C || OX_T(cx, tids[k])->dtype != NN_F32)
            return OX_FAIL(cx, FS_ERR_FORMAT, "parameter %d is not float32[%lld]", k + 1, (long long)C);
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
        int64_t O = OX_T(cx, w)->dims[0], per = nn_tensor_numel(OX_T(cx, w)) / (O > 0 ? O : 1);
        if (O == C) {
            float *wd = OX_T(cx, w)->data;
            for (int64_t o = 0; o < O; o++)
                for (int64_t i = 0; i < per; i++) wd[o * per + i] *= kk[o];
            /* a new bias tensor: the file's bias may be shared with other nodes */
            char nm[200];
            snprintf(nm, sizeof nm, "%s", OX_T(cx, w)->name);
            int nb = ox_new_tensor(cx, nm, "bnbias", NN_F32, 1, &O);
            float *nbd = nb < 0 ? NULL : nn_graph_alloc_const(cx->g, nb);
            if (!nbd) { free(kk); return FS_ERR_NOMEM; }
            if (bi >= 0) memcpy(nbd, OX_T(cx, bi)->data, sizeof(float) * (size_t)O);
            bi = nb;
            cn = &cx->g->nodes[cv];
            cn->in[2] = bi;
            cn->n_in = 3;
            float *bd = OX_T(cx, bi)->data;
            for (int64_t o = 0; o < O; o++) bd[o] = bd[o] * kk[o] + sh[o];
            free(kk);
            return ox_alias_out(cx, 0, x);
        }
    }
    /* general case: Mul + Add with [C,1,...] constants */
    int64_t cd[NN_MAX_DIMS];
    int r = xt->ndim - 1;
    cd[0] = C;
    for (int i = 1; i < r; i++) cd[i] = 1;
    char ob[200];
    ox_fcopy(ob, sizeof ob, &cx->nd->out[0]);
    int kt = ox_new_tensor(cx, ob, "bn_scale", NN_F32, r, cd), bt2 = ox_new_tensor(cx, ob, "bn_shift", NN_F32, r, cd);
    float *kd = kt < 0 ? NULL : nn_graph_alloc_const(cx->g, kt);
    float *bd = bt2 < 0 ? NULL : nn_graph_alloc_const(cx->g, bt2);
    if (!kd || !bd) { free(kk); return FS_ERR_NOMEM; }
    memcpy(kd, kk, sizeof(float) * (size_t)C);
    memcpy(bd, sh, sizeof(float) * (size_t)C);
    free(kk);
    xt = OX_T(cx, x); /* new_tensor may have moved the tensor table */
    int mid = ox_new_tensor(cx, ob, "bn_mul", NN_F32, xt->ndim, xt->dims);
    int in1[2] = {x, kt};
    if (mid < 0 || ox_emit(cx, NN_OP_MUL, 2, in1, 1, &mid) < 0) return FS_ERR_NOMEM;
    int y = ox_out_t(cx, 0, NN_F32, OX_T(cx, x)->ndim, OX_T(cx, x)->dims);
    int in2[2] = {mid, bt2};
    if (y < 0 || ox_emit(cx, NN_OP_ADD, 2, in2, 1, &y) < 0) return FS_ERR_NOMEM;
    return FS_OK;
}

/* ------------------------------------------------------------------ dispatch */

fs_status ox_convert_spatial(ox_ctx *cx, int *handled) {
    const char *op = cx->op;
    *handled = 1;
#define IS(s) (!strcmp(op, s))
    if (IS("Conv")) return op_conv(cx);
    if (IS("ConvTranspose")) return op_conv_transpose(cx);
    if (IS("MaxPool")) return op_pool(cx, 1);
    if (IS("AveragePool")) return op_pool(cx, 0);
    if (IS("GlobalAveragePool")) return op_global_pool(cx, NN_OP_REDUCE_MEAN);
    if (IS("GlobalMaxPool")) return op_global_pool(cx, NN_OP_REDUCE_MAX);
    if (IS("Resize")) return op_resize(cx, 0);
    if (IS("Upsample")) return op_resize(cx, 1);
    if (IS("BatchNormalization")) return op_batchnorm(cx);
#undef IS
    *handled = 0;
    return FS_OK;
}
