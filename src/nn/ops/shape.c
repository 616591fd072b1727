/* nn/ops/shape.c — layout and shape ops, generic over the element size (float32 activations and
 * the int32/int64 tensors of shape arithmetic):
 *   Reshape Squeeze Unsqueeze Flatten Identity (the planner aliases the buffer: no copy),
 *   Transpose Concat Split Slice Pad Gather Shape Cast.
 */
#include <string.h>

#include "nn/ops/ops.h"

static const nn_op_def *def_of(nn_op_type t);

/* ---------------------------------------------------------------- reshape family */

static fs_status read_axes(nn_graph *g, nn_node *n, int64_t *axes, int *na) {
    nn_tensor *ax = nn_in(g, n, 1);
    if (ax) {
        if (!ax->is_const) return nn_node_error(n, FS_ERR_UNSUPPORTED, "non-constant axes");
        *na = nn_const_ints(ax, axes, NN_MAX_DIMS);
        if (*na < 0) return nn_node_error(n, FS_ERR_FORMAT, "axes input is not a small int vector");
        return FS_OK;
    }
    *na = n->attr.n_axes;
    if (*na < 0 || *na > NN_MAX_DIMS) return nn_node_error(n, FS_ERR_FORMAT, "%d axes", *na);
    for (int i = 0; i < *na; i++) axes[i] = n->attr.axes[i];
    return FS_OK;
}

static fs_status reshape_infer(nn_graph *g, nn_node *n) {
    fs_status st = nn_check_inputs(g, n, 1, 0);
    if (st) return st;
    nn_tensor *x = nn_in(g, n, 0), *sh = nn_in(g, n, 1), *y = nn_out(g, n, 0);
    int64_t numel = nn_tensor_numel(x), d[NN_MAX_DIMS];
    int nd;
    switch (n->type) {
    case NN_OP_IDENTITY:
        return nn_set_out(g, n, 0, x->dtype, x->ndim, x->dims);
    case NN_OP_FLATTEN: {
        int axis = n->attr.axis < 0 ? n->attr.axis + x->ndim : n->attr.axis;
        if (axis < 0 || axis > x->ndim) return nn_node_error(n, FS_ERR_FORMAT, "axis %d out of range", n->attr.axis);
        d[0] = d[1] = 1;
        for (int i = 0; i < x->ndim; i++) d[i < axis ? 0 : 1] *= x->dims[i];
        return nn_set_out(g, n, 0, x->dtype, 2, d);
    }
    case NN_OP_SQUEEZE: {
        int64_t axes[NN_MAX_DIMS];
        int na, drop[NN_MAX_DIMS] = {0};
        if ((st = read_axes(g, n, axes, &na))) return st;
        for (int i = 0; i < na; i++) {
            int a = nn_axis((int)axes[i], x->ndim);
            if (axes[i] < -NN_MAX_DIMS || axes[i] > NN_MAX_DIMS || a < 0 || x->dims[a] != 1)
                return nn_node_error(n, FS_ERR_FORMAT, "cannot squeeze axis %lld", (long long)axes[i]);
            drop[a] = 1;
        }
        nd = 0;
        for (int i = 0; i < x->ndim; i++)
            if (!(na ? drop[i] : x->dims[i] == 1)) d[nd++] = x->dims[i];
        return nn_set_out(g, n, 0, x->dtype, nd, d);
    }
    case NN_OP_UNSQUEEZE: {
        int64_t axes[NN_MAX_DIMS];
        int na, ins[NN_MAX_DIMS] = {0};
        if ((st = read_axes(g, n, axes, &na))) return st;
        nd = x->ndim + na;
        if (nd > NN_MAX_DIMS) return nn_node_error(n, FS_ERR_UNSUPPORTED, "rank %d", nd);
        for (int i = 0; i < na; i++) {
            int a = nn_axis((int)axes[i], nd);
            if (axes[i] < -NN_MAX_DIMS || axes[i] > NN_MAX_DIMS || a < 0 || ins[a])
                return nn_node_error(n, FS_ERR_FORMAT, "bad unsqueeze axis %lld", (long long)axes[i]);
            ins[a] = 1;
        }
        for (int i = 0, k = 0; i < nd; i++) d[i] = ins[i] ? 1 : x->dims[k++];
        return nn_set_out(g, n, 0, x->dtype, nd, d);
    }
    default: break;
    }
    /* RESHAPE */
    int infer = -1;
    if (sh) {
        if (!sh->is_const) return nn_node_error(n, FS_ERR_UNSUPPORTED, "shape input is not constant");
        nd = nn_const_ints(sh, d, NN_MAX_DIMS);
        if (nd < 0) return nn_node_error(n, FS_ERR_FORMAT, "shape input is not an int vector of <= %d values", NN_MAX_DIMS);
        for (int i = 0; i < nd; i++)
            if (d[i] == 0 && !n->attr.allowzero) {
                if (i >= x->ndim) return nn_node_error(n, FS_ERR_FORMAT, "0 at position %d copies no input dim", i);
                d[i] = x->dims[i];
            }
    } else {
        nd = y->decl_ndim;
        memcpy(d, y->decl_dims, sizeof d);
    }
    int64_t known = 1;
    for (int i = 0; i < nd; i++) {
        if (d[i] == -1 && infer < 0) { infer = i; continue; }
        if (d[i] < 0) return nn_node_error(n, FS_ERR_FORMAT, "bad target dim %lld", (long long)d[i]);
        if (d[i] && known > ((int64_t)1 << 40) / d[i]) return nn_node_error(n, FS_ERR_LIMIT, "target too large");
        known *= d[i];
    }
    if (infer >= 0) {
        if (known == 0 || numel % known)
            return nn_node_error(n, FS_ERR_FORMAT, "cannot infer -1: %lld values into blocks of %lld",
                                 (long long)numel, (long long)known);
        d[infer] = numel / known;
        known = numel;
    }
    if (known != numel)
        return nn_node_error(n, FS_ERR_FORMAT, "cannot reshape %lld values into %lld", (long long)numel,
                             (long long)known);
    return nn_set_out(g, n, 0, x->dtype, nd, d);
}

static void copy_run(nn_graph *g, nn_node *n) {
    nn_tensor *x = nn_in(g, n, 0), *y = nn_out(g, n, 0);
    if (x->data != y->data) memmove(y->data, x->data, y->nbytes);
}

/* ---------------------------------------------------------------- transpose */

/* transpose and expand: output = input 0 read with a stride per output dim */
typedef struct {
    int nd;
    int64_t odims[NN_MAX_DIMS], istr[NN_MAX_DIMS]; /* input stride per output dim */
    size_t es, total;
} strided_state;

static fs_status tr_perm(nn_graph *g, nn_node *n, int *perm) {
    nn_tensor *x = nn_in(g, n, 0);
    int allzero = 1, seen[NN_MAX_DIMS] = {0};
    for (int i = 0; i < x->ndim; i++) allzero &= n->attr.perm[i] == 0;
    for (int i = 0; i < x->ndim; i++) {
        perm[i] = allzero ? x->ndim - 1 - i : n->attr.perm[i];
        if (perm[i] < 0 || perm[i] >= x->ndim || seen[perm[i]])
            return nn_node_error(n, FS_ERR_FORMAT, "perm is not a permutation of %d dims", x->ndim);
        seen[perm[i]] = 1;
    }
    return FS_OK;
}

static fs_status tr_infer(nn_graph *g, nn_node *n) {
    fs_status st = nn_check_inputs(g, n, 1, 0);
    if (st) return st;
    nn_tensor *x = nn_in(g, n, 0);
    int perm[NN_MAX_DIMS];
    if ((st = tr_perm(g, n, perm))) return st;
    int64_t d[NN_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) d[i] = x->dims[perm[i]];
    return nn_set_out(g, n, 0, x->dtype, x->ndim, d);
}

/* Odometer copy: out in order, in through strides (used by transpose and slice). */
static void strided_copy(const char *src, char *dst, int nd, const int64_t *odims, const int64_t *istr,
                         size_t total, size_t es) {
    if (!total) return;
    int64_t idx[NN_MAX_DIMS] = {0};
    int64_t off = 0;
    if (nd == 0) { memcpy(dst, src, es); return; }
    const int last = nd - 1;
    const int64_t len = odims[last], st = istr[last];
    for (size_t o = 0; o < total; o += (size_t)len) {
        if (es == 4) {
            const uint32_t *s = (const uint32_t *)src + off;
            uint32_t *d = (uint32_t *)dst + o;
            for (int64_t k = 0; k < len; k++) d[k] = s[k * st];
        } else {
            for (int64_t k = 0; k < len; k++) memcpy(dst + (o + (size_t)k) * es, src + (size_t)(off + k * st) * es, es);
        }
        for (int d = last - 1; d >= 0; d--) {
            off += istr[d];
            if (++idx[d] < odims[d]) break;
            off -= istr[d] * odims[d];
            idx[d] = 0;
        }
    }
}

static void strided_run(nn_graph *g, nn_node *n) {
    const strided_state *s = n->kstate;
    strided_copy(nn_in(g, n, 0)->data, nn_out(g, n, 0)->data, s->nd, s->odims, s->istr, s->total, s->es);
}

static fs_status tr_prepare(nn_graph *g, nn_node *n) {
    strided_state *s = nn_kstate(n, sizeof *s);
    if (!s) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
    nn_tensor *x = nn_in(g, n, 0);
    int perm[NN_MAX_DIMS];
    fs_status st = tr_perm(g, n, perm);
    if (st) return st;
    int64_t str[NN_MAX_DIMS];
    nn_strides(x->ndim, x->dims, str);
    s->nd = x->ndim;
    for (int i = 0; i < x->ndim; i++) {
        s->odims[i] = x->dims[perm[i]];
        s->istr[i] = str[perm[i]];
    }
    s->es = nn_dtype_size(x->dtype);
    s->total = nn_numel(x);
    n->run = strided_run;
    n->kname = "transpose_ref";
    return FS_OK;
}

/* ---------------------------------------------------------------- concat / split */

typedef struct { size_t outer, inner_es; } cs_state; /* inner_es: bytes per (axis index) slab */

static fs_status concat_infer(nn_graph *g, nn_node *n) {
    fs_status st = nn_check_inputs(g, n, 1, 0);
    if (st) return st;
    nn_tensor *x0 = nn_in(g, n, 0);
    int axis = nn_axis(n->attr.axis, x0->ndim);
    if (axis < 0) return nn_node_error(n, FS_ERR_FORMAT, "axis %d out of range", n->attr.axis);
    int64_t d[NN_MAX_DIMS];
    memcpy(d, x0->dims, sizeof d);
    d[axis] = 0;
    for (int i = 0; i < n->n_in; i++) {
        nn_tensor *x = nn_in(g, n, i);
        if (!x) return nn_node_error(n, FS_ERR_FORMAT, "input %d missing", i);
        if (x->ndim != x0->ndim || x->dtype != x0->dtype)
            return nn_node_error(n, FS_ERR_FORMAT, "input %d has another rank or type", i);
        for (int k = 0; k < x->ndim; k++)
            if (k != axis && x->dims[k] != x0->dims[k])
                return nn_node_error(n, FS_ERR_FORMAT, "input %d dim %d is %lld, not %lld", i, k,
                                     (long long)x->dims[k], (long long)x0->dims[k]);
        d[axis] += x->dims[axis];
    }
    return nn_set_out(g, n, 0, x0->dtype, x0->ndim, d);
}

static void concat_run(nn_graph *g, nn_node *n) {
    const cs_state *s = n->kstate;
    nn_tensor *y = nn_out(g, n, 0);
    int axis = nn_axis(n->attr.axis, y->ndim);
    size_t ybytes = (size_t)y->dims[axis] * s->inner_es, off = 0;
    for (int i = 0; i < n->n_in; i++) {
        nn_tensor *x = nn_in(g, n, i);
        size_t xb = (size_t)x->dims[axis] * s->inner_es;
        for (size_t o = 0; o < s->outer; o++)
            memcpy((char *)y->data + o * ybytes + off, (const char *)x->data + o * xb, xb);
        off += xb;
    }
}

static fs_status split_sizes(nn_graph *g, nn_node *n, int axis, int64_t *sizes) {
    nn_tensor *x = nn_in(g, n, 0), *sp = nn_in(g, n, 1);
    int ns = n->attr.n_split;
    if (sp) {
        if (!sp->is_const) return nn_node_error(n, FS_ERR_UNSUPPORTED, "non-constant split sizes");
        ns = nn_const_ints(sp, sizes, NN_MAX_IO);
        if (ns < 0) return nn_node_error(n, FS_ERR_FORMAT, "bad split input");
    } else if (ns) {
        if (ns > NN_MAX_IO) return nn_node_error(n, FS_ERR_FORMAT, "n_split %d", ns);
        memcpy(sizes, n->attr.split, sizeof(int64_t) * (size_t)ns);
    }
    if (!ns) {
        int64_t len = x->dims[axis], k = n->n_out, part = (len + k - 1) / k;
        for (int i = 0; i < k; i++) {
            int64_t r = len - part * i;
            sizes[i] = r < 0 ? 0 : r < part ? r : part;
        }
        ns = n->n_out;
    }
    if (ns != n->n_out) return nn_node_error(n, FS_ERR_FORMAT, "%d sizes for %d outputs", ns, n->n_out);
    int64_t sum = 0;
    for (int i = 0; i < ns; i++) {
        if (sizes[i] < 0 || sizes[i] > x->dims[axis]) return nn_node_error(n, FS_ERR_FORMAT, "bad split size");
        sum += sizes[i];
    }
    if (sum != x->dims[axis])
        return nn_node_error(n, FS_ERR_FORMAT, "split sizes add to %lld, axis has %lld", (long long)sum,
                             (long long)x->dims[axis]);
    return FS_OK;
}

static fs_status split_infer(nn_graph *g, nn_node *n) {
    fs_status st = nn_check_inputs(g, n, 1, 0);
    if (st) return st;
    nn_tensor *x = nn_in(g, n, 0);
    int axis = nn_axis(n->attr.axis, x->ndim);
    if (axis < 0) return nn_node_error(n, FS_ERR_FORMAT, "axis %d out of range", n->attr.axis);
    int64_t sizes[NN_MAX_IO];
    if ((st = split_sizes(g, n, axis, sizes))) return st;
    for (int i = 0; i < n->n_out; i++) {
        int64_t d[NN_MAX_DIMS];
        memcpy(d, x->dims, sizeof d);
        d[axis] = sizes[i];
        if (!nn_out(g, n, i)) continue;
        if ((st = nn_set_out(g, n, i, x->dtype, x->ndim, d))) return st;
    }
    return FS_OK;
}

static void split_run(nn_graph *g, nn_node *n) {
    const cs_state *s = n->kstate;
    nn_tensor *x = nn_in(g, n, 0);
    int axis = nn_axis(n->attr.axis, x->ndim);
    size_t xb = (size_t)x->dims[axis] * s->inner_es, off = 0;
    for (int i = 0; i < n->n_out; i++) {
        nn_tensor *y = nn_out(g, n, i);
        if (!y) continue;
        size_t yb = (size_t)y->dims[axis] * s->inner_es;
        for (size_t o = 0; o < s->outer; o++)
            memcpy((char *)y->data + o * yb, (const char *)x->data + o * xb + off, yb);
        off += yb;
    }
}

static fs_status cs_prepare(nn_graph *g, nn_node *n) {
    cs_state *s = nn_kstate(n, sizeof *s);
    if (!s) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
    nn_tensor *x = n->type == NN_OP_CONCAT ? nn_out(g, n, 0) : nn_in(g, n, 0);
    int axis = nn_axis(n->attr.axis, x->ndim);
    s->outer = 1;
    s->inner_es = nn_dtype_size(x->dtype);
    for (int d = 0; d < x->ndim; d++) {
        if (d < axis) s->outer *= (size_t)x->dims[d];
        else if (d > axis) s->inner_es *= (size_t)x->dims[d];
    }
    n->run = n->type == NN_OP_CONCAT ? concat_run : split_run;
    n->kname = n->type == NN_OP_CONCAT ? "concat_ref" : "split_ref";
    return FS_OK;
}

/* ---------------------------------------------------------------- slice */

typedef struct {
    int nd;
    int64_t odims[NN_MAX_DIMS], istr[NN_MAX_DIMS];
    int64_t start_off;
    size_t es, total;
} sl_state;

/* ONNX Slice semantics -> per-dim start, step, count. */
static fs_status slice_params(nn_graph *g, nn_node *n, int64_t *start, int64_t *step, int64_t *count) {
    nn_tensor *x = nn_in(g, n, 0);
    int64_t st[NN_MAX_DIMS], en[NN_MAX_DIMS], ax[NN_MAX_DIMS], sp[NN_MAX_DIMS];
    int na;
    if (nn_in(g, n, 1)) {
        int ne;
        na = nn_const_ints(nn_in(g, n, 1), st, NN_MAX_DIMS);
        ne = nn_const_ints(nn_in(g, n, 2), en, NN_MAX_DIMS);
        if (na < 0 || ne != na)
            return nn_node_error(n, FS_ERR_UNSUPPORTED, "starts/ends must be constant int vectors of one length");
        if (nn_in(g, n, 3)) {
            if (nn_const_ints(nn_in(g, n, 3), ax, NN_MAX_DIMS) != na)
                return nn_node_error(n, FS_ERR_FORMAT, "axes input does not match starts");
        } else for (int i = 0; i < na; i++) ax[i] = i;
        if (nn_in(g, n, 4)) {
            if (nn_const_ints(nn_in(g, n, 4), sp, NN_MAX_DIMS) != na)
                return nn_node_error(n, FS_ERR_FORMAT, "steps input does not match starts");
        } else for (int i = 0; i < na; i++) sp[i] = 1;
    } else {
        na = n->attr.n_axes;
        if (na < 0 || na > NN_MAX_DIMS) return nn_node_error(n, FS_ERR_FORMAT, "%d axes", na);
        for (int i = 0; i < na; i++) {
            st[i] = n->attr.starts[i];
            en[i] = n->attr.ends[i];
            ax[i] = n->attr.axes[i];
            sp[i] = n->attr.steps[i];
        }
    }
    for (int d = 0; d < x->ndim; d++) { start[d] = 0; step[d] = 1; count[d] = x->dims[d]; }
    int seen[NN_MAX_DIMS] = {0};
    for (int i = 0; i < na; i++) {
        int a = (ax[i] < -NN_MAX_DIMS || ax[i] > NN_MAX_DIMS) ? -1 : nn_axis((int)ax[i], x->ndim);
        if (a < 0 || seen[a]) return nn_node_error(n, FS_ERR_FORMAT, "bad axis %lld", (long long)ax[i]);
        seen[a] = 1;
        int64_t dim = x->dims[a], s = sp[i], b = st[i], e = en[i];
        if (s == 0) return nn_node_error(n, FS_ERR_FORMAT, "step 0");
        if (b < 0) b += dim;
        if (e < 0) e += dim;
        if (s > 0) {
            b = b < 0 ? 0 : b > dim ? dim : b;
            e = e < 0 ? 0 : e > dim ? dim : e;
            count[a] = e > b ? (e - b + s - 1) / s : 0;
        } else {
            b = b < 0 ? -1 : b > dim - 1 ? dim - 1 : b;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            count[a] = b > e ? (b - e + (-s) - 1) / (-s) : 0;
        }
        start[a] = count[a] ? b : 0;
        step[a] = s;
    }
    return FS_OK;
}

static fs_status slice_infer(nn_graph *g, nn_node *n) {
    fs_status st = nn_check_inputs(g, n, 1, 0);
    if (st) return st;
    nn_tensor *x = nn_in(g, n, 0);
    int64_t start[NN_MAX_DIMS], step[NN_MAX_DIMS], count[NN_MAX_DIMS];
    if ((st = slice_params(g, n, start, step, count))) return st;
    return nn_set_out(g, n, 0, x->dtype, x->ndim, count);
}

static void slice_run(nn_graph *g, nn_node *n) {
    const sl_state *s = n->kstate;
    const char *src = (const char *)nn_in(g, n, 0)->data + (size_t)s->start_off * s->es;
    strided_copy(src, nn_out(g, n, 0)->data, s->nd, s->odims, s->istr, s->total, s->es);
}

static fs_status slice_prepare(nn_graph *g, nn_node *n) {
    sl_state *s = nn_kstate(n, sizeof *s);
    if (!s) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
    nn_tensor *x = nn_in(g, n, 0);
    int64_t start[NN_MAX_DIMS], step[NN_MAX_DIMS], count[NN_MAX_DIMS], str[NN_MAX_DIMS];
    fs_status st = slice_params(g, n, start, step, count);
    if (st) return st;
    nn_strides(x->ndim, x->dims, str);
    s->nd = x->ndim;
    s->start_off = 0;
    for (int d = 0; d < x->ndim; d++) {
        s->odims[d] = count[d];
        s->istr[d] = str[d] * step[d];
        s->start_off += start[d] * str[d];
    }
    s->es = nn_dtype_size(x->dtype);
    s->total = nn_numel(nn_out(g, n, 0));
    n->run = slice_run;
    n->kname = "slice_ref";
    return FS_OK;
}

/* ---------------------------------------------------------------- pad */

typedef struct {
    int nd;
    int64_t idims[NN_MAX_DIMS], odims[NN_MAX_DIMS], before[NN_MAX_DIMS], istr[NN_MAX_DIMS];
    size_t total;
    float value;
} pad_state;

static fs_status pad_read(nn_graph *g, nn_node *n, int64_t *pads, float *value) {
    nn_tensor *x = nn_in(g, n, 0), *p = nn_in(g, n, 1), *v = nn_in(g, n, 2);
    *value = n->attr.pad_value;
    if (p) {
        int np = nn_const_ints(p, pads, 2 * NN_MAX_DIMS);
        if (np != 2 * x->ndim)
            return nn_node_error(n, FS_ERR_UNSUPPORTED, "pads input must be a constant of %d ints", 2 * x->ndim);
    } else {
        memcpy(pads, n->attr.pads, sizeof(int64_t) * 2 * (size_t)x->ndim);
    }
    if (v && nn_const_floats(v, value, 1) != 1)
        return nn_node_error(n, FS_ERR_UNSUPPORTED, "pad value is not a constant scalar");
    for (int d = 0; d < 2 * x->ndim; d++)
        if (pads[d] < -(1 << 30) || pads[d] > (1 << 30)) return nn_node_error(n, FS_ERR_LIMIT, "absurd padding");
    return FS_OK;
}

static fs_status pad_infer(nn_graph *g, nn_node *n) {
    fs_status st = nn_check_inputs(g, n, 1, 1);
    if (st) return st;
    nn_tensor *x = nn_in(g, n, 0);
    int64_t pads[2 * NN_MAX_DIMS], d[NN_MAX_DIMS];
    float v;
    if ((st = pad_read(g, n, pads, &v))) return st;
    if (n->attr.pad_mode > NN_PAD_EDGE) return nn_node_error(n, FS_ERR_UNSUPPORTED, "pad mode %d", n->attr.pad_mode);
    for (int i = 0; i < x->ndim; i++) {
        if (pads[i] < 0 || pads[x->ndim + i] < 0)
            return nn_node_error(n, FS_ERR_UNSUPPORTED, "negative pads");
        d[i] = x->dims[i] + pads[i] + pads[x->ndim + i];
        if (n->attr.pad_mode == NN_PAD_REFLECT && (pads[i] >= x->dims[i] || pads[x->ndim + i] >= x->dims[i]) &&
            (pads[i] || pads[x->ndim + i]))
            return nn_node_error(n, FS_ERR_UNSUPPORTED, "reflect padding of %lld/%lld on a dim of %lld",
                                 (long long)pads[i], (long long)pads[x->ndim + i], (long long)x->dims[i]);
        if (n->attr.pad_mode == NN_PAD_EDGE && x->dims[i] == 0 && d[i] > 0)
            return nn_node_error(n, FS_ERR_FORMAT, "edge padding of an empty dim");
    }
    return nn_set_out(g, n, 0, NN_F32, x->ndim, d);
}

static void pad_run(nn_graph *g, nn_node *n) {
    const pad_state *s = n->kstate;
    const float *x = nn_in(g, n, 0)->data;
    float *y = nn_out(g, n, 0)->data;
    const int mode = n->attr.pad_mode;
    if (!s->total) return;
    if (s->nd == 0) { y[0] = x[0]; return; }
    int64_t idx[NN_MAX_DIMS] = {0};
    const int last = s->nd - 1;
    const int64_t len = s->odims[last], b = s->before[last], il = s->idims[last];
    for (size_t o = 0; o < s->total; o += (size_t)len) {
        /* offset of the row in x, or -1 if this row lies in constant padding */
        int64_t off = 0;
        int outside = 0;
        for (int d = 0; d < last; d++) {
            int64_t i = idx[d] - s->before[d], dim = s->idims[d];
            if (i < 0 || i >= dim) {
                if (mode == NN_PAD_CONSTANT) { outside = 1; break; }
                if (mode == NN_PAD_EDGE) i = i < 0 ? 0 : dim - 1;
                else { /* reflect */
                    while (i < 0 || i >= dim) i = i < 0 ? -i : 2 * (dim - 1) - i;
                }
            }
            off += i * s->istr[d];
        }
        float *yr = y + o;
        if (outside) {
            for (int64_t k = 0; k < len; k++) yr[k] = s->value;
        } else {
            const float *xr = x + off;
            /* interior as one copy, then the two padded ends */
            int64_t k0 = b < 0 ? 0 : b, k1 = b + il < len ? b + il : len;
            if (k1 > k0) memcpy(yr + k0, xr + (k0 - b), (size_t)(k1 - k0) * sizeof(float));
            for (int64_t k = 0; k < len; k++) {
                if (k == k0 && k1 > k0) k = k1;
                if (k >= len) break;
                int64_t i = k - b;
                if (mode == NN_PAD_CONSTANT) { yr[k] = s->value; continue; }
                if (mode == NN_PAD_EDGE) i = i < 0 ? 0 : il - 1;
                else while (i < 0 || i >= il) i = i < 0 ? -i : 2 * (il - 1) - i;
                yr[k] = xr[i];
            }
        }
        nn_index_next(idx, s->odims, last);
    }
}

static fs_status pad_prepare(nn_graph *g, nn_node *n) {
    pad_state *s = nn_kstate(n, sizeof *s);
    if (!s) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
    nn_tensor *x = nn_in(g, n, 0), *y = nn_out(g, n, 0);
    int64_t pads[2 * NN_MAX_DIMS];
    fs_status st = pad_read(g, n, pads, &s->value);
    if (st) return st;
    s->nd = x->ndim;
    nn_strides(x->ndim, x->dims, s->istr);
    for (int d = 0; d < x->ndim; d++) {
        s->idims[d] = x->dims[d];
        s->odims[d] = y->dims[d];
        s->before[d] = pads[d];
    }
    s->total = nn_numel(y);
    n->run = pad_run;
    n->kname = "pad_ref";
    return FS_OK;
}

/* ---------------------------------------------------------------- gather */

typedef struct { size_t outer, axis_len, inner_bytes, nidx; } ga_state;

static fs_status gather_infer(nn_graph *g, nn_node *n) {
    fs_status st = nn_check_inputs(g, n, 2, 0);
    if (st) return st;
    nn_tensor *x = nn_in(g, n, 0), *ix = nn_in(g, n, 1);
    int axis = nn_axis(n->attr.axis, x->ndim);
    if (axis < 0) return nn_node_error(n, FS_ERR_FORMAT, "axis %d out of range", n->attr.axis);
    if (ix->dtype != NN_I64 && ix->dtype != NN_I32)
        return nn_node_error(n, FS_ERR_UNSUPPORTED, "indices must be int32/int64");
    int nd = x->ndim - 1 + ix->ndim;
    if (nd > NN_MAX_DIMS) return nn_node_error(n, FS_ERR_UNSUPPORTED, "rank %d", nd);
    int64_t d[NN_MAX_DIMS];
    int k = 0;
    for (int i = 0; i < axis; i++) d[k++] = x->dims[i];
    for (int i = 0; i < ix->ndim; i++) d[k++] = ix->dims[i];
    for (int i = axis + 1; i < x->ndim; i++) d[k++] = x->dims[i];
    if (ix->is_const) { /* check constant indices now */
        int64_t cnt = nn_tensor_numel(ix);
        for (int64_t i = 0; i < cnt; i++) {
            int64_t v = ix->dtype == NN_I64 ? ((const int64_t *)ix->data)[i] : ((const int32_t *)ix->data)[i];
            if (v < -x->dims[axis] || v >= x->dims[axis])
                return nn_node_error(n, FS_ERR_FORMAT, "index %lld out of range [-%lld, %lld)", (long long)v,
                                     (long long)x->dims[axis], (long long)x->dims[axis]);
        }
    }
    return nn_set_out(g, n, 0, x->dtype, nd, d);
}

static void gather_run(nn_graph *g, nn_node *n) {
    const ga_state *s = n->kstate;
    nn_tensor *ix = nn_in(g, n, 1);
    const char *x = nn_in(g, n, 0)->data;
    char *y = nn_out(g, n, 0)->data;
    for (size_t i = 0; i < s->nidx; i++) {
        int64_t v = ix->dtype == NN_I64 ? ((const int64_t *)ix->data)[i] : ((const int32_t *)ix->data)[i];
        if (v < 0) v += (int64_t)s->axis_len;
        if (v < 0 || v >= (int64_t)s->axis_len) {
            g->status = nn_node_error(n, FS_ERR_FORMAT, "index out of range");
            return;
        }
    }
    for (size_t o = 0; o < s->outer; o++)
        for (size_t i = 0; i < s->nidx; i++) {
            int64_t v = ix->dtype == NN_I64 ? ((const int64_t *)ix->data)[i] : ((const int32_t *)ix->data)[i];
            if (v < 0) v += (int64_t)s->axis_len;
            memcpy(y + (o * s->nidx + i) * s->inner_bytes,
                   x + (o * s->axis_len + (size_t)v) * s->inner_bytes, s->inner_bytes);
        }
}

static fs_status gather_prepare(nn_graph *g, nn_node *n) {
    ga_state *s = nn_kstate(n, sizeof *s);
    if (!s) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
    nn_tensor *x = nn_in(g, n, 0);
    int axis = nn_axis(n->attr.axis, x->ndim);
    s->outer = 1;
    s->inner_bytes = nn_dtype_size(x->dtype);
    for (int d = 0; d < x->ndim; d++) {
        if (d < axis) s->outer *= (size_t)x->dims[d];
        else if (d > axis) s->inner_bytes *= (size_t)x->dims[d];
    }
    s->axis_len = (size_t)x->dims[axis];
    s->nidx = nn_numel(nn_in(g, n, 1));
    n->run = gather_run;
    n->kname = "gather_ref";
    return FS_OK;
}

/* ---------------------------------------------------------------- shape / cast */

static fs_status shape_infer(nn_graph *g, nn_node *n) {
    if (n->n_in < 1 || !nn_in(g, n, 0)) return nn_node_error(n, FS_ERR_FORMAT, "no input");
    int64_t d[1] = {nn_in(g, n, 0)->ndim};
    return nn_set_out(g, n, 0, NN_I64, 1, d);
}

static void shape_run(nn_graph *g, nn_node *n) {
    nn_tensor *x = nn_in(g, n, 0);
    int64_t *y = nn_out(g, n, 0)->data;
    for (int i = 0; i < x->ndim; i++) y[i] = x->dims[i];
}

static int cast_ok(nn_dtype t) { return t == NN_F32 || t == NN_I64 || t == NN_I32 || t == NN_U8 || t == NN_I8 || t == NN_BOOL; }

static fs_status cast_infer(nn_graph *g, nn_node *n) {
    fs_status st = nn_check_inputs(g, n, 1, 0);
    if (st) return st;
    nn_tensor *x = nn_in(g, n, 0);
    if (!cast_ok(x->dtype) || !cast_ok(n->attr.to))
        return nn_node_error(n, FS_ERR_UNSUPPORTED, "cast between types %d and %d", x->dtype, n->attr.to);
    return nn_set_out(g, n, 0, n->attr.to, x->ndim, x->dims);
}

static double get_val(const void *p, nn_dtype t, size_t i) {
    switch (t) {
    case NN_F32: return ((const float *)p)[i];
    case NN_I64: return (double)((const int64_t *)p)[i];
    case NN_I32: return ((const int32_t *)p)[i];
    case NN_U8: return ((const uint8_t *)p)[i];
    case NN_I8: return ((const int8_t *)p)[i];
    case NN_BOOL: return ((const uint8_t *)p)[i] != 0;
    default: return 0;
    }
}

static int64_t to_i64(double v, int64_t lo, int64_t hi) {
    if (v != v) return 0;
    if (v <= (double)lo) return lo;
    if (v >= (double)hi) return hi;
    return (int64_t)v;
}

static void cast_run(nn_graph *g, nn_node *n) {
    nn_tensor *x = nn_in(g, n, 0), *y = nn_out(g, n, 0);
    size_t cnt = nn_numel(x);
    for (size_t i = 0; i < cnt; i++) {
        if (x->dtype == NN_I64 && y->dtype == NN_I64) { ((int64_t *)y->data)[i] = ((const int64_t *)x->data)[i]; continue; }
        double v = get_val(x->data, x->dtype, i);
        switch (y->dtype) {
        case NN_F32: ((float *)y->data)[i] = (float)v; break;
        case NN_I64: ((int64_t *)y->data)[i] = to_i64(v, INT64_MIN, INT64_MAX); break;
        case NN_I32: ((int32_t *)y->data)[i] = (int32_t)to_i64(v, INT32_MIN, INT32_MAX); break;
        case NN_U8: ((uint8_t *)y->data)[i] = (uint8_t)to_i64(v, 0, 255); break;
        case NN_I8: ((int8_t *)y->data)[i] = (int8_t)to_i64(v, -128, 127); break;
        case NN_BOOL: ((uint8_t *)y->data)[i] = v != 0; break;
        default: break;
        }
    }
}

/* ---------------------------------------------------------------- expand / tile / constant of shape */

static fs_status expand_dims(nn_graph *g, nn_node *n, int64_t *od, int *ond) {
    nn_tensor *x = nn_in(g, n, 0);
    int64_t sh[NN_MAX_DIMS];
    int ns = nn_const_ints(nn_in(g, n, 1), sh, NN_MAX_DIMS);
    if (ns < 0) return nn_node_error(n, FS_ERR_UNSUPPORTED, "shape must be a constant int vector of <= %d values", NN_MAX_DIMS);
    int nd = x->ndim > ns ? x->ndim : ns;
    for (int i = 0; i < nd; i++) {
        int ix = i - (nd - x->ndim), is = i - (nd - ns);
        int64_t dx = ix >= 0 ? x->dims[ix] : 1, ds = is >= 0 ? sh[is] : 1;
        if (ds < 0 || ds > (1 << 30)) return nn_node_error(n, FS_ERR_FORMAT, "shape value %lld", (long long)ds);
        if (dx != ds && dx != 1 && ds != 1)
            return nn_node_error(n, FS_ERR_FORMAT, "dim %d: %lld does not broadcast to %lld", i, (long long)dx, (long long)ds);
        od[i] = dx == 1 ? ds : dx;
    }
    *ond = nd;
    return FS_OK;
}

static fs_status expand_infer(nn_graph *g, nn_node *n) {
    fs_status st = nn_check_inputs(g, n, 2, 0);
    if (st) return st;
    int64_t od[NN_MAX_DIMS];
    int ond = 0;
    if ((st = expand_dims(g, n, od, &ond))) return st;
    return nn_set_out(g, n, 0, nn_in(g, n, 0)->dtype, ond, od);
}

static fs_status expand_prepare(nn_graph *g, nn_node *n) {
    strided_state *s = nn_kstate(n, sizeof *s);
    if (!s) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
    nn_tensor *x = nn_in(g, n, 0), *y = nn_out(g, n, 0);
    int64_t xs[NN_MAX_DIMS];
    nn_strides(x->ndim, x->dims, xs);
    s->nd = y->ndim;
    for (int i = 0; i < y->ndim; i++) {
        int ix = i - (y->ndim - x->ndim);
        s->odims[i] = y->dims[i];
        s->istr[i] = (ix < 0 || x->dims[ix] == 1) ? 0 : xs[ix];
    }
    s->es = nn_dtype_size(x->dtype);
    s->total = nn_numel(y);
    n->run = strided_run;
    n->kname = "expand_ref";
    return FS_OK;
}

static fs_status tile_infer(nn_graph *g, nn_node *n) {
    fs_status st = nn_check_inputs(g, n, 2, 0);
    if (st) return st;
    nn_tensor *x = nn_in(g, n, 0);
    int64_t r[NN_MAX_DIMS], od[NN_MAX_DIMS];
    if (nn_const_ints(nn_in(g, n, 1), r, NN_MAX_DIMS) != x->ndim)
        return nn_node_error(n, FS_ERR_UNSUPPORTED, "repeats must be a constant of %d ints", x->ndim);
    for (int i = 0; i < x->ndim; i++) {
        if (r[i] < 0 || r[i] > (1 << 30)) return nn_node_error(n, FS_ERR_FORMAT, "repeat %lld", (long long)r[i]);
        od[i] = x->dims[i] * r[i];
    }
    return nn_set_out(g, n, 0, x->dtype, x->ndim, od);
}

typedef struct { int nd; int64_t odims[NN_MAX_DIMS], istr[NN_MAX_DIMS], idims[NN_MAX_DIMS]; size_t es, total; } tile_state;

static void tile_run(nn_graph *g, nn_node *n) {
    const tile_state *s = n->kstate;
    const char *x = nn_in(g, n, 0)->data;
    char *y = nn_out(g, n, 0)->data;
    int64_t idx[NN_MAX_DIMS] = {0};
    for (size_t o = 0; o < s->total; o++) {
        int64_t off = 0;
        for (int d = 0; d < s->nd; d++) off += (idx[d] % s->idims[d]) * s->istr[d];
        memcpy(y + o * s->es, x + (size_t)off * s->es, s->es);
        nn_index_next(idx, s->odims, s->nd);
    }
}

static fs_status tile_prepare(nn_graph *g, nn_node *n) {
    tile_state *s = nn_kstate(n, sizeof *s);
    if (!s) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
    nn_tensor *x = nn_in(g, n, 0), *y = nn_out(g, n, 0);
    s->nd = x->ndim;
    nn_strides(x->ndim, x->dims, s->istr);
    for (int i = 0; i < x->ndim; i++) {
        s->odims[i] = y->dims[i];
        s->idims[i] = x->dims[i];
    }
    s->es = nn_dtype_size(x->dtype);
    s->total = nn_numel(y);
    n->run = tile_run;
    n->kname = "tile_ref";
    return FS_OK;
}

static fs_status cos_infer(nn_graph *g, nn_node *n) {
    if (n->n_in < 1 || !nn_in(g, n, 0) || n->n_out < 1) return nn_node_error(n, FS_ERR_FORMAT, "needs a shape input");
    int64_t d[NN_MAX_DIMS];
    int nd = nn_const_ints(nn_in(g, n, 0), d, NN_MAX_DIMS);
    if (nd < 0) return nn_node_error(n, FS_ERR_UNSUPPORTED, "shape must be a constant int vector of <= %d values", NN_MAX_DIMS);
    for (int i = 0; i < nd; i++)
        if (d[i] < 0) return nn_node_error(n, FS_ERR_FORMAT, "negative dim %lld", (long long)d[i]);
    if (!cast_ok(n->attr.to)) return nn_node_error(n, FS_ERR_UNSUPPORTED, "value type %d", n->attr.to);
    return nn_set_out(g, n, 0, n->attr.to, nd, d);
}

static void cos_run(nn_graph *g, nn_node *n) {
    nn_tensor *y = nn_out(g, n, 0);
    size_t cnt = nn_numel(y);
    double v = n->attr.pad_value;
    for (size_t i = 0; i < cnt; i++) {
        switch (y->dtype) {
        case NN_F32: ((float *)y->data)[i] = (float)v; break;
        case NN_I64: ((int64_t *)y->data)[i] = (int64_t)v; break;
        case NN_I32: ((int32_t *)y->data)[i] = (int32_t)v; break;
        case NN_U8: case NN_BOOL: ((uint8_t *)y->data)[i] = (uint8_t)v; break;
        case NN_I8: ((int8_t *)y->data)[i] = (int8_t)v; break;
        default: break;
        }
    }
}

static fs_status simple_prepare(nn_graph *g, nn_node *n) {
    (void)g;
    switch (n->type) {
    case NN_OP_SHAPE: n->run = shape_run; n->kname = "shape"; break;
    case NN_OP_CAST: n->run = cast_run; n->kname = "cast_ref"; break;
    case NN_OP_CONSTANT_OF_SHAPE: n->run = cos_run; n->kname = "fill"; break;
    default: n->run = copy_run; n->kname = "alias"; break;
    }
    return FS_OK;
}

static const nn_op_def reshape_def = {reshape_infer, simple_prepare};
static const nn_op_def tr_def = {tr_infer, tr_prepare};
static const nn_op_def concat_def = {concat_infer, cs_prepare};
static const nn_op_def split_def = {split_infer, cs_prepare};
static const nn_op_def slice_def = {slice_infer, slice_prepare};
static const nn_op_def pad_def = {pad_infer, pad_prepare};
static const nn_op_def gather_def = {gather_infer, gather_prepare};
static const nn_op_def shape_def = {shape_infer, simple_prepare};
static const nn_op_def cast_def = {cast_infer, simple_prepare};
static const nn_op_def expand_def = {expand_infer, expand_prepare};
static const nn_op_def tile_def = {tile_infer, tile_prepare};
static const nn_op_def cos_def = {cos_infer, simple_prepare};

static const nn_op_def *def_of(nn_op_type t) {
    switch (t) {
    case NN_OP_RESHAPE: case NN_OP_SQUEEZE: case NN_OP_UNSQUEEZE: case NN_OP_FLATTEN: case NN_OP_IDENTITY:
        return &reshape_def;
    case NN_OP_TRANSPOSE: return &tr_def;
    case NN_OP_CONCAT: return &concat_def;
    case NN_OP_SPLIT: return &split_def;
    case NN_OP_SLICE: return &slice_def;
    case NN_OP_PAD: return &pad_def;
    case NN_OP_GATHER: return &gather_def;
    case NN_OP_SHAPE: return &shape_def;
    case NN_OP_CAST: return &cast_def;
    case NN_OP_EXPAND: return &expand_def;
    case NN_OP_TILE: return &tile_def;
    case NN_OP_CONSTANT_OF_SHAPE: return &cos_def;
    default: return NULL;
    }
}

const nn_op_def *nn_ops_shape(nn_op_type t) { return def_of(t); }
