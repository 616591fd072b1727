/* nn/ops/resize.c — Resize of any rank and layout: nearest (ONNX nearest modes) or linear
 * (separable multi-linear over the resized dims), with ONNX coordinate transformation modes.
 *
 * Per resized dim d and output index o, the source coordinate x is (s = scale, L = lengths; with
 * attr.scales, L_out is the unrounded L_in * s as in ONNX's reference):
 *   half_pixel            (o + 0.5) / s - 0.5
 *   asymmetric            o / s
 *   pytorch_half_pixel    L_out > 1 ? (o + 0.5) / s - 0.5 : 0
 *   align_corners         L_out > 1 ? o * (L_in - 1) / (L_out - 1) : 0
 *   tf_half_pixel_for_nn  (o + 0.5) / s
 *   half_pixel_symmetric  offset + (o + 0.5) / s - 0.5, offset = L_in/2 * (1 - L_out / (s * L_in))
 * Linear / cubic follow ONNX's reference: base = floor(x) (x - 1 when x is an integer, so the
 * fraction r is in (0, 1]); linear taps base, base+1 with weights (1-r, r); cubic taps base-1..base+2
 * with Keys' coefficients for A = attr.cubic_a (default -0.75); indices clamped to the edge (edge
 * padding), or with exclude_outside the outside taps weigh 0 and the rest are renormalised.
 * Nearest: the rounding of attr.nearest_mode, clamped. Tables are built at plan time; a run walks
 * the output once, applying the taps to contiguous runs of the trailing dims.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ops/ops.h"

typedef struct {
    int nd, nr;                  /* rank, number of resized dims */
    int k;                       /* taps per resized dim: 1 nearest, 2 linear, 4 cubic */
    int rdim[NN_MAX_DIMS];       /* which dims are resized */
    int64_t odims[NN_MAX_DIMS], istr[NN_MAX_DIMS];
    int64_t *ti[NN_MAX_DIMS];    /* per resized dim: [out index][k] input indices */
    float *tw[NN_MAX_DIMS];      /* and weights */
    size_t total;
} rs_state;

static void rs_free(void *p) {
    rs_state *s = p;
    if (!s) return;
    for (int i = 0; i < s->nr; i++) {
        free(s->ti[i]);
        free(s->tw[i]);
    }
    free(s);
}

static fs_status rs_out_dims(nn_graph *g, nn_node *n, int64_t *d) {
    nn_tensor *x = nn_in(g, n, 0), *sz = nn_in(g, n, 1);
    if (sz) {
        int64_t v[NN_MAX_DIMS];
        int k = nn_const_ints(sz, v, NN_MAX_DIMS);
        if (k == x->ndim) memcpy(d, v, sizeof(int64_t) * (size_t)k);
        else if (k == 2 && x->ndim == 4) { d[0] = x->dims[0]; d[1] = v[0]; d[2] = v[1]; d[3] = x->dims[3]; }
        else return nn_node_error(n, FS_ERR_UNSUPPORTED, "sizes input must be a constant of %d (or 2) ints", x->ndim);
    } else {
        for (int i = 0; i < x->ndim; i++) {
            float s = n->attr.scales[i];
            if (s == 0) { d[i] = x->dims[i]; continue; }
            if (!(s > 0) || s > 1e6f) return nn_node_error(n, FS_ERR_FORMAT, "scale %g", (double)s);
            d[i] = (int64_t)floor((double)x->dims[i] * s);
        }
    }
    for (int i = 0; i < x->ndim; i++)
        if (d[i] < 0 || d[i] > (1 << 30)) return nn_node_error(n, FS_ERR_FORMAT, "output dim %lld", (long long)d[i]);
    return FS_OK;
}

static fs_status rs_infer(nn_graph *g, nn_node *n) {
    fs_status st = nn_check_inputs(g, n, 1, 1);
    if (st) return st;
    nn_tensor *x = nn_in(g, n, 0);
    const nn_attr *a = &n->attr;
    if (a->resize_mode != NN_RESIZE_NEAREST && a->resize_mode != NN_RESIZE_LINEAR && a->resize_mode != NN_RESIZE_CUBIC)
        return nn_node_error(n, FS_ERR_UNSUPPORTED, "resize mode %d (nearest, linear, cubic)", a->resize_mode);
    if (a->coord_mode < NN_COORD_HALF_PIXEL || a->coord_mode > NN_COORD_HALF_PIXEL_SYMMETRIC)
        return nn_node_error(n, FS_ERR_UNSUPPORTED, "coordinate_transformation_mode %d", a->coord_mode);
    if (a->nearest_mode < 0 || a->nearest_mode > NN_NEAREST_CEIL)
        return nn_node_error(n, FS_ERR_UNSUPPORTED, "nearest_mode %d", a->nearest_mode);
    int64_t d[NN_MAX_DIMS];
    if ((st = rs_out_dims(g, n, d))) return st;
    for (int i = 0; i < x->ndim; i++)
        if (x->dims[i] == 0 && d[i] > 0) return nn_node_error(n, FS_ERR_FORMAT, "resizing an empty dim");
    return nn_set_out(g, n, 0, NN_F32, x->ndim, d);
}

static double src_coord(int mode, int64_t o, int64_t lin, double lout, double s) {
    switch (mode) {
    case NN_COORD_ASYMMETRIC: return (double)o / s;
    case NN_COORD_PYTORCH_HALF_PIXEL: return lout > 1 ? ((double)o + 0.5) / s - 0.5 : 0.0;
    case NN_COORD_ALIGN_CORNERS: return lout > 1 ? (double)o * (double)(lin - 1) / (lout - 1) : 0.0;
    case NN_COORD_TF_HALF_PIXEL_FOR_NN: return ((double)o + 0.5) / s;
    case NN_COORD_HALF_PIXEL_SYMMETRIC: {
        double adj = (double)(int64_t)lout / (s * (double)lin);
        double off = (double)lin / 2.0 * (1.0 - adj);
        return off + ((double)o + 0.5) / s - 0.5;
    }
    default: return ((double)o + 0.5) / s - 0.5;
    }
}

static int64_t nearest(int mode, double x) {
    double f = floor(x);
    switch (mode) {
    case NN_NEAREST_FLOOR: return (int64_t)f;
    case NN_NEAREST_CEIL: return (int64_t)ceil(x);
    case NN_NEAREST_ROUND_PREFER_CEIL: return (int64_t)(x - f == 0.5 ? f + 1 : floor(x + 0.5));
    default: return (int64_t)(x - f == 0.5 ? f : floor(x + 0.5));
    }
}

static int64_t clampi(int64_t v, int64_t hi) { return v < 0 ? 0 : v > hi ? hi : v; }

/* Walks the output over dims [0, od) (od = last resized dim + 1); per position the taps' offsets
 * and weights are computed once and applied to the contiguous block of the trailing dims
 * (channels in NHWC), which vectorizes. */
static void rs_run(nn_graph *g, nn_node *n) {
    const rs_state *s = n->kstate;
    const float *x = nn_in(g, n, 0)->data;
    float *y = nn_out(g, n, 0)->data;
    if (!s->total) return;
    if (s->nr == 0) { memcpy(y, x, s->total * sizeof(float)); return; }
    const int od = s->rdim[s->nr - 1] + 1;
    size_t inner = 1;
    for (int d = od; d < s->nd; d++) inner *= (size_t)s->odims[d];
    int isr[NN_MAX_DIMS]; /* dim -> resized slot or -1 */
    for (int d = 0; d < s->nd; d++) isr[d] = -1;
    for (int r = 0; r < s->nr; r++) isr[s->rdim[r]] = r;
    int ntaps = 1;
    for (int r = 0; r < s->nr; r++) ntaps *= s->k;
    int64_t idx[NN_MAX_DIMS] = {0};
    int64_t toff[4096];
    float tw[4096];
    for (size_t o = 0; o < s->total; o += inner) {
        int64_t base = 0;
        for (int d = 0; d < od; d++)
            if (isr[d] < 0) base += idx[d] * s->istr[d];
        for (int t = 0; t < ntaps; t++) {
            int64_t off = base;
            float w = 1;
            for (int r = 0, tt = t; r < s->nr; r++, tt /= s->k) {
                int d = s->rdim[r], j = tt % s->k;
                size_t at = (size_t)idx[d] * (size_t)s->k + (size_t)j;
                off += s->ti[r][at] * s->istr[d];
                w *= s->tw[r][at];
            }
            toff[t] = off;
            tw[t] = w;
        }
        float *yo = y + o;
        if (s->k == 1) {
            memcpy(yo, x + toff[0], inner * sizeof(float));
        } else {
            const float *x0 = x + toff[0];
            const float w0 = tw[0];
            for (size_t j = 0; j < inner; j++) yo[j] = w0 * x0[j];
            for (int t = 1; t < ntaps; t++) {
                const float *xt = x + toff[t];
                const float wt = tw[t];
                for (size_t j = 0; j < inner; j++) yo[j] += wt * xt[j];
            }
        }
        nn_index_next(idx, s->odims, od);
    }
}

/* Taps of one output coordinate c along a dim of length len (see the header and ops.h). */
void nn_resize_taps(const nn_attr *a, double cubic_a, int k, double c, int64_t len, int64_t *ti, float *tw) {
    if (k == 1) {
        ti[0] = clampi(nearest(a->nearest_mode, c), len - 1);
        tw[0] = 1;
        return;
    }
    double f = floor(c);
    int64_t b = (int64_t)f;
    double r = c - f;
    if (r == 0) { b -= 1; r = 1; } /* ONNX's reference: the fraction is in (0, 1] */
    double w[4];
    int64_t first;
    if (k == 2) {
        w[0] = 1 - r;
        w[1] = r;
        first = b;
    } else {
        double A = cubic_a, q = 1 - r;
        w[0] = ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A;
        w[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
        w[2] = ((A + 2) * q - (A + 3)) * q * q + 1;
        w[3] = ((A * (q + 1) - 5 * A) * (q + 1) + 8 * A) * (q + 1) - 4 * A;
        first = b - 1;
    }
    if (a->exclude_outside) {
        double sum = 0;
        for (int j = 0; j < k; j++) {
            int64_t i = first + j;
            if (i < 0 || i >= len) w[j] = 0;
            sum += w[j];
        }
        for (int j = 0; j < k; j++) w[j] = sum != 0 ? w[j] / sum : 0;
    }
    for (int j = 0; j < k; j++) {
        ti[j] = clampi(first + j, len - 1);
        tw[j] = (float)w[j];
    }
}

static fs_status rs_prepare(nn_graph *g, nn_node *n) {
    rs_state *s = calloc(1, sizeof *s);
    if (!s) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
    n->kstate = s;
    n->kfree = rs_free;
    nn_tensor *x = nn_in(g, n, 0), *y = nn_out(g, n, 0);
    const nn_attr *a = &n->attr;
    s->nd = x->ndim;
    s->k = a->resize_mode == NN_RESIZE_CUBIC ? 4 : a->resize_mode == NN_RESIZE_LINEAR ? 2 : 1;
    s->total = nn_numel(y);
    nn_strides(x->ndim, x->dims, s->istr);
    const double cubic_a = a->cubic_a != 0 ? a->cubic_a : -0.75;
    int ntaps = 1;
    for (int d = 0; d < x->ndim; d++) {
        s->odims[d] = y->dims[d];
        double sc = a->scales[d] > 0 && !nn_in(g, n, 1) ? (double)a->scales[d]
                                                       : (x->dims[d] ? (double)y->dims[d] / (double)x->dims[d] : 1.0);
        if (x->dims[d] == y->dims[d] && sc == 1.0 && a->coord_mode != NN_COORD_ALIGN_CORNERS &&
            a->coord_mode != NN_COORD_TF_HALF_PIXEL_FOR_NN)
            continue; /* identity along this dim */
        ntaps *= s->k;
        if (ntaps > 4096) return nn_node_error(n, FS_ERR_UNSUPPORTED, "too many resized dims for mode %d", a->resize_mode);
        int r = s->nr++;
        s->rdim[r] = d;
        size_t L = (size_t)y->dims[d] ? (size_t)y->dims[d] : 1;
        s->ti[r] = malloc(L * (size_t)s->k * sizeof(int64_t));
        s->tw[r] = malloc(L * (size_t)s->k * sizeof(float));
        if (!s->ti[r] || !s->tw[r]) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
        for (int64_t o = 0; o < y->dims[d]; o++) {
            /* with scales, ONNX's length_resized is in * scale (not rounded) */
            double lout = a->scales[d] > 0 && !nn_in(g, n, 1) ? (double)x->dims[d] * sc : (double)y->dims[d];
            double c = src_coord(a->coord_mode, o, x->dims[d], lout, sc);
            nn_resize_taps(a, cubic_a, s->k, c, x->dims[d], s->ti[r] + o * s->k, s->tw[r] + o * s->k);
        }
    }
    n->run = rs_run;
    n->kname = s->k == 4 ? "resize_cubic_ref" : s->k == 2 ? "resize_linear_ref" : "resize_nearest_ref";
    return FS_OK;
}

static const nn_op_def rs_def = {rs_infer, rs_prepare};

const nn_op_def *nn_ops_resize(nn_op_type t) { return t == NN_OP_RESIZE ? &rs_def : NULL; }
