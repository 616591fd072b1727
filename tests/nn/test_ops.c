/* tests/nn/test_ops.c — reference op kernels (nn/ops/) through the planner, on random shapes
 * (odd sizes, broadcasting, negative axes), against naive re-computations written here in a
 * different style (per output element, index arithmetic from scratch, double precision). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "nn/graph.h"

/* ---------------------------------------------------------------- harness */

static uint64_t rs = 88172645463325252ull;
static uint32_t rnd(void) {
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)(rs >> 16);
}
static int rint_(int lo, int hi) { return lo + (int)(rnd() % (unsigned)(hi - lo + 1)); }
static float rfl(void) { return (float)(rnd() % 20001) / 10000.0f - 1.0f; }

static int add_input(nn_graph *g, const char *name, int nd, const int64_t *dims) {
    int t = nn_graph_add_tensor(g, name, NN_F32, nd, dims);
    g->inputs = realloc(g->inputs, sizeof(int) * (size_t)(g->n_inputs + 1));
    g->inputs[g->n_inputs++] = t;
    return t;
}
static int add_out(nn_graph *g, const char *name) {
    int t = nn_graph_add_tensor(g, name, NN_F32, 0, NULL);
    g->outputs = realloc(g->outputs, sizeof(int) * (size_t)(g->n_outputs + 1));
    g->outputs[g->n_outputs++] = t;
    return t;
}
static size_t numel(int nd, const int64_t *d) {
    size_t n = 1;
    for (int i = 0; i < nd; i++) n *= (size_t)d[i];
    return n;
}
static void fill(nn_graph *g, int t) {
    nn_tensor *x = &g->tensors[t];
    float *p = x->data;
    for (size_t i = 0; i < numel(x->ndim, x->dims); i++) p[i] = rfl();
}
static void rand_dims(int nd, int64_t *d, int lo, int hi) {
    for (int i = 0; i < nd; i++) d[i] = rint_(lo, hi);
}
/* multi-index of flat i in dims */
static void unflat(size_t i, int nd, const int64_t *d, int64_t *idx) {
    for (int k = nd - 1; k >= 0; k--) {
        idx[k] = (int64_t)(i % (size_t)d[k]);
        i /= (size_t)d[k];
    }
}
static size_t flat(int nd, const int64_t *d, const int64_t *idx) {
    size_t f = 0;
    for (int k = 0; k < nd; k++) f = f * (size_t)d[k] + (size_t)idx[k];
    return f;
}

#define PLAN_RUN(g)                                                                \
    do {                                                                           \
        if (nn_graph_plan(g) != FS_OK) {                                           \
            fs_test_fail(__FILE__, __LINE__, "plan: %s", fs_last_error());         \
            nn_graph_free(g);                                                      \
            return;                                                                \
        }                                                                          \
        for (int i_ = 0; i_ < (g)->n_inputs; i_++) fill(g, (g)->inputs[i_]);       \
        if (nn_graph_run(g) != FS_OK) {                                            \
            fs_test_fail(__FILE__, __LINE__, "run: %s", fs_last_error());          \
            nn_graph_free(g);                                                      \
            return;                                                                \
        }                                                                          \
    } while (0)

#define NEAR_OR_FAIL(got, want, tol, ...)                                          \
    do {                                                                           \
        double g_ = (got), w_ = (want);                                            \
        if (!(fabs(g_ - w_) <= (tol) * (1 + fabs(w_))) && !(isnan(g_) && isnan(w_))) { \
            fs_test_fail(__FILE__, __LINE__, __VA_ARGS__);                         \
            fprintf(stderr, "    got %.9g want %.9g\n", g_, w_);                   \
            nn_graph_free(g);                                                      \
            return;                                                                \
        }                                                                          \
    } while (0)

/* ---------------------------------------------------------------- binary */

static double bin_ref(nn_op_type t, double a, double b) {
    switch (t) {
    case NN_OP_ADD: return a + b;
    case NN_OP_SUB: return a - b;
    case NN_OP_MUL: return a * b;
    case NN_OP_DIV: return a / b;
    case NN_OP_MAXIMUM: return a > b ? a : b;
    case NN_OP_MINIMUM: return a < b ? a : b;
    case NN_OP_POW: return pow(fabs(a), b); /* inputs made positive below */
    case NN_OP_PRELU: return a < 0 ? a * b : a;
    default: return 0;
    }
}

TEST(binary_broadcast_random_shapes) {
    const nn_op_type ops[] = {NN_OP_ADD, NN_OP_SUB, NN_OP_MUL, NN_OP_DIV, NN_OP_MAXIMUM, NN_OP_MINIMUM,
                              NN_OP_POW, NN_OP_PRELU};
    for (int it = 0; it < 160; it++) {
        nn_op_type t = ops[it % 8];
        int nd = rint_(0, 5);
        int64_t od[8], ad[8], bd[8];
        rand_dims(nd, od, 1, 5);
        int na = rint_(0, nd), nb = nd - rint_(0, nd) * (it % 3 == 0);
        if (nb < 0) nb = 0;
        if (rint_(0, 1)) na = nd; /* at least one full-rank side usually */
        for (int i = 0; i < na; i++) ad[i] = rint_(0, 2) ? od[nd - na + i] : 1;
        for (int i = 0; i < nb; i++) bd[i] = rint_(0, 2) ? od[nd - nb + i] : 1;
        nn_graph *g = nn_graph_new();
        int a = add_input(g, "a", na, ad), b = add_input(g, "b", nb, bd), y = add_out(g, "y");
        int in[2] = {a, b};
        int ni = nn_graph_add_node(g, t, "op", 2, in, 1, &y);
        int act = it % 5 == 0 && t == NN_OP_ADD;
        if (act) { g->nodes[ni].attr.act_min = -0.3f; g->nodes[ni].attr.act_max = 0.4f; }
        PLAN_RUN(g);
        nn_tensor *A = &g->tensors[a], *B = &g->tensors[b], *Y = &g->tensors[y];
        if (t == NN_OP_POW) { /* positive base, rerun */
            for (size_t i = 0; i < numel(na, ad); i++) ((float *)A->data)[i] = fabsf(((float *)A->data)[i]) + 0.1f;
            nn_graph_run(g);
        }
        /* output rank = max(na, nb) */
        int ond = na > nb ? na : nb;
        int64_t yd[8];
        for (int i = 0; i < ond; i++) {
            int ia = i - (ond - na), ib = i - (ond - nb);
            int64_t da = ia >= 0 ? ad[ia] : 1, db = ib >= 0 ? bd[ib] : 1;
            yd[i] = da > db ? da : db;
        }
        CHECK(Y->ndim == ond);
        for (int i = 0; i < ond; i++) CHECK(Y->dims[i] == yd[i]);
        for (size_t i = 0; i < numel(ond, yd); i++) {
            int64_t idx[8], ia[8], ib[8];
            unflat(i, ond, yd, idx);
            for (int k = 0; k < na; k++) ia[k] = ad[k] == 1 ? 0 : idx[ond - na + k];
            for (int k = 0; k < nb; k++) ib[k] = bd[k] == 1 ? 0 : idx[ond - nb + k];
            double va = ((float *)A->data)[flat(na, ad, ia)], vb = ((float *)B->data)[flat(nb, bd, ib)];
            double want = bin_ref(t, va, vb);
            if (t == NN_OP_POW) want = pow(va, vb);
            if (act) want = want < -0.3 ? -0.3 : want > 0.4 ? 0.4 : want;
            NEAR_OR_FAIL(((float *)Y->data)[i], want, 2e-6, "%s it %d elem %zu", nn_op_name(t), it, i);
        }
        nn_graph_free(g);
    }
}

TEST(binary_int64_shape_arithmetic_is_folded) {
    nn_graph *g = nn_graph_new();
    int64_t d3[1] = {3}, d1[1] = {1};
    int64_t av[3] = {7, -8, 9}, bv[1] = {2};
    int x = add_input(g, "x", 1, d3);
    int a = nn_graph_add_const(g, "a", NN_I64, 1, d3, av), b = nn_graph_add_const(g, "b", NN_I64, 1, d1, bv);
    int m = nn_graph_add_tensor(g, "m", NN_I64, 0, NULL), dv = nn_graph_add_tensor(g, "d", NN_I64, 0, NULL);
    int y = add_out(g, "y");
    int i1[2] = {a, b};
    nn_graph_add_node(g, NN_OP_MUL, "mul", 2, i1, 1, &m);
    int i2[2] = {m, b};
    nn_graph_add_node(g, NN_OP_DIV, "div", 2, i2, 1, &dv);
    int i3[1] = {x};
    nn_graph_add_node(g, NN_OP_IDENTITY, "id", 1, i3, 1, &y);
    CHECK(nn_graph_plan(g) == FS_OK);
    CHECK(g->nodes[0].folded && g->nodes[1].folded && !g->nodes[2].folded);
    const int64_t *r = g->tensors[dv].data;
    CHECK(g->tensors[dv].is_const && r[0] == 7 && r[1] == -8 && r[2] == 9);
    nn_graph_free(g);
}

/* ---------------------------------------------------------------- unary */

static double un_ref(nn_op_type t, double v, double al, double be) {
    switch (t) {
    case NN_OP_CLAMP: return v < -0.25 ? -0.25 : v > 0.5 ? 0.5 : v;
    case NN_OP_LEAKY_RELU: return v < 0 ? al * v : v;
    case NN_OP_SIGMOID: return 1 / (1 + exp(-v));
    case NN_OP_TANH: return tanh(v);
    case NN_OP_EXP: return exp(v);
    case NN_OP_LOG: return log(fabs(v) + 0.01);
    case NN_OP_SQRT: return sqrt(fabs(v) + 0.01);
    case NN_OP_RSQRT: return 1 / sqrt(fabs(v) + 0.01);
    case NN_OP_ABS: return fabs(v);
    case NN_OP_NEG: return -v;
    case NN_OP_HARD_SWISH: return v * fmin(fmax(v + 3, 0), 6) / 6;
    case NN_OP_ELU: return v < 0 ? al * (exp(v) - 1) : v;
    case NN_OP_FLOOR: return floor(v * 3);
    case NN_OP_CEIL: return ceil(v * 3);
    case NN_OP_RECIPROCAL: return 1 / (fabs(v) + 0.01);
    case NN_OP_SOFTPLUS: return log(1 + exp(v * 30));
    case NN_OP_HARD_SIGMOID: return fmax(0, fmin(1, al * v + be));
    case NN_OP_SIN: return sin(v * 5);
    case NN_OP_COS: return cos(v * 5);
    case NN_OP_ERF: return erf(v * 2);
    case NN_OP_SIGN: return (v > 0) - (v < 0);
    case NN_OP_SELU: return be * (v > 0 ? v : al * (exp(v) - 1));
    case NN_OP_SOFTSIGN: return v / (1 + fabs(v));
    default: return 0;
    }
}

TEST(unary_ops_vs_libm_double) {
    const nn_op_type ops[] = {NN_OP_CLAMP, NN_OP_LEAKY_RELU, NN_OP_SIGMOID, NN_OP_TANH, NN_OP_EXP, NN_OP_LOG,
                              NN_OP_SQRT, NN_OP_RSQRT, NN_OP_ABS, NN_OP_NEG, NN_OP_HARD_SWISH, NN_OP_ELU,
                              NN_OP_FLOOR, NN_OP_CEIL, NN_OP_RECIPROCAL, NN_OP_SOFTPLUS, NN_OP_HARD_SIGMOID,
                              NN_OP_SIN, NN_OP_COS, NN_OP_ERF, NN_OP_SIGN, NN_OP_SELU, NN_OP_SOFTSIGN};
    for (size_t k = 0; k < sizeof ops / sizeof *ops; k++) {
        nn_op_type t = ops[k];
        int64_t d[3] = {rint_(1, 4), rint_(1, 7), rint_(1, 9)};
        nn_graph *g = nn_graph_new();
        int x = add_input(g, "x", 3, d), y = add_out(g, "y");
        int ni = nn_graph_add_node(g, t, "u", 1, &x, 1, &y);
        nn_attr *at = &g->nodes[ni].attr;
        at->alpha = 0.3f;
        at->beta = 0.45f;
        if (t == NN_OP_CLAMP) { at->act_min = -0.25f; at->act_max = 0.5f; }
        CHECK(nn_graph_plan(g) == FS_OK);
        float *xv = g->tensors[x].data;
        size_t n = numel(3, d);
        for (size_t i = 0; i < n; i++) {
            float v = rfl();
            /* keep the domain valid / interesting for each op */
            if (t == NN_OP_LOG || t == NN_OP_SQRT || t == NN_OP_RSQRT || t == NN_OP_RECIPROCAL) v = fabsf(v) + 0.01f;
            if (t == NN_OP_FLOOR || t == NN_OP_CEIL) v *= 3;
            if (t == NN_OP_SOFTPLUS) v *= 30;
            if (t == NN_OP_SIN || t == NN_OP_COS) v *= 5;
            if (t == NN_OP_ERF) v *= 2;
            xv[i] = v;
        }
        CHECK(nn_graph_run(g) == FS_OK);
        const float *yv = g->tensors[y].data;
        for (size_t i = 0; i < n; i++) {
            double v = xv[i];
            double w;
            switch (t) { /* undo the domain scaling for the reference's own formula */
            case NN_OP_LOG: w = log(v); break;
            case NN_OP_SQRT: w = sqrt(v); break;
            case NN_OP_RSQRT: w = 1 / sqrt(v); break;
            case NN_OP_RECIPROCAL: w = 1 / v; break;
            case NN_OP_FLOOR: w = floor(v); break;
            case NN_OP_CEIL: w = ceil(v); break;
            case NN_OP_SOFTPLUS: w = log1p(exp(v)); break;
            case NN_OP_SIN: w = sin(v); break;
            case NN_OP_COS: w = cos(v); break;
            case NN_OP_ERF: w = erf(v); break;
            default: w = un_ref(t, v, 0.3, 0.45); break;
            }
            NEAR_OR_FAIL(yv[i], w, 3e-6, "%s elem %zu x=%g", nn_op_name(t), i, v);
        }
        nn_graph_free(g);
    }
}

/* ---------------------------------------------------------------- softmax / reductions */

TEST(softmax_logsoftmax_l2norm_any_axis) {
    for (int it = 0; it < 40; it++) {
        nn_op_type t = it % 3 == 0 ? NN_OP_SOFTMAX : it % 3 == 1 ? NN_OP_LOG_SOFTMAX : NN_OP_L2_NORMALIZE;
        int nd = rint_(1, 4);
        int64_t d[4];
        rand_dims(nd, d, 1, 6);
        int axis = rint_(-nd, nd - 1), coerce = t != NN_OP_L2_NORMALIZE && it % 4 == 1;
        nn_graph *g = nn_graph_new();
        int x = add_input(g, "x", nd, d), y = add_out(g, "y");
        int ni = nn_graph_add_node(g, t, "s", 1, &x, 1, &y);
        g->nodes[ni].attr.axis = axis;
        g->nodes[ni].attr.softmax_coerce = coerce;
        PLAN_RUN(g);
        int a = axis < 0 ? axis + nd : axis;
        const float *xv = g->tensors[x].data, *yv = g->tensors[y].data;
        size_t n = numel(nd, d);
        for (size_t i = 0; i < n; i++) {
            int64_t idx[4], j[4];
            unflat(i, nd, d, idx);
            /* the group of i: same indices outside the normalised dims */
            double mx = -1e300, s = 0, ss = 0;
            for (size_t k = 0; k < n; k++) {
                unflat(k, nd, d, j);
                int same = 1;
                for (int q = 0; q < nd; q++)
                    if ((q < a || (q > a && !coerce)) && j[q] != idx[q]) same = 0;
                if (!same) continue;
                mx = fmax(mx, xv[k]);
            }
            for (size_t k = 0; k < n; k++) {
                unflat(k, nd, d, j);
                int same = 1;
                for (int q = 0; q < nd; q++)
                    if ((q < a || (q > a && !coerce)) && j[q] != idx[q]) same = 0;
                if (!same) continue;
                s += exp(xv[k] - mx);
                ss += (double)xv[k] * xv[k];
            }
            double w = t == NN_OP_SOFTMAX ? exp(xv[i] - mx) / s
                     : t == NN_OP_LOG_SOFTMAX ? xv[i] - mx - log(s) : xv[i] / sqrt(fmax(ss, 1e-12));
            NEAR_OR_FAIL(yv[i], w, 2e-6, "%s it %d axis %d coerce %d", nn_op_name(t), it, axis, coerce);
        }
        nn_graph_free(g);
    }
}

TEST(reductions_random_axes_keepdims) {
    const nn_op_type ops[] = {NN_OP_REDUCE_MEAN, NN_OP_REDUCE_MAX, NN_OP_REDUCE_MIN, NN_OP_REDUCE_SUM};
    for (int it = 0; it < 48; it++) {
        nn_op_type t = ops[it % 4];
        int nd = rint_(1, 5);
        int64_t d[5];
        rand_dims(nd, d, 1, 5);
        int mask[5] = {0}, na = 0, axes[5];
        for (int i = 0; i < nd; i++)
            if (rint_(0, 1)) { mask[i] = 1; axes[na++] = rint_(0, 1) ? i : i - nd; }
        int keep = rint_(0, 1);
        nn_graph *g = nn_graph_new();
        int x = add_input(g, "x", nd, d), y = add_out(g, "y");
        int ni = nn_graph_add_node(g, t, "r", 1, &x, 1, &y);
        memcpy(g->nodes[ni].attr.axes, axes, sizeof axes);
        g->nodes[ni].attr.n_axes = na;
        g->nodes[ni].attr.keepdims = keep;
        if (!na) for (int i = 0; i < nd; i++) mask[i] = 1; /* no axes = all */
        PLAN_RUN(g);
        nn_tensor *Y = &g->tensors[y];
        int64_t od[5];
        int ond = 0;
        for (int i = 0; i < nd; i++)
            if (!mask[i]) od[ond++] = d[i];
            else if (keep) od[ond++] = 1;
        CHECK(Y->ndim == ond);
        for (int i = 0; i < ond; i++) CHECK(Y->dims[i] == od[i]);
        const float *xv = g->tensors[x].data, *yv = Y->data;
        /* reference: for each output element, scan all inputs */
        int64_t rd[5]; /* output index space with reduced dims kept as 1 */
        for (int i = 0; i < nd; i++) rd[i] = mask[i] ? 1 : d[i];
        for (size_t o = 0; o < numel(nd, rd); o++) {
            int64_t oi[5], ii[5];
            unflat(o, nd, rd, oi);
            double acc = t == NN_OP_REDUCE_MAX ? -1e300 : t == NN_OP_REDUCE_MIN ? 1e300 : 0;
            size_t cnt = 0;
            for (size_t i = 0; i < numel(nd, d); i++) {
                unflat(i, nd, d, ii);
                int in_group = 1;
                for (int q = 0; q < nd; q++)
                    if (!mask[q] && ii[q] != oi[q]) in_group = 0;
                if (!in_group) continue;
                cnt++;
                if (t == NN_OP_REDUCE_MAX) acc = fmax(acc, xv[i]);
                else if (t == NN_OP_REDUCE_MIN) acc = fmin(acc, xv[i]);
                else acc += xv[i];
            }
            if (t == NN_OP_REDUCE_MEAN) acc /= (double)cnt;
            NEAR_OR_FAIL(yv[o], acc, 3e-6, "%s it %d out %zu", nn_op_name(t), it, o);
        }
        nn_graph_free(g);
    }
}

/* ---------------------------------------------------------------- layout */

TEST(transpose_random_perms) {
    for (int it = 0; it < 40; it++) {
        int nd = rint_(1, 6);
        int64_t d[6];
        rand_dims(nd, d, 1, 4);
        int perm[6];
        for (int i = 0; i < nd; i++) perm[i] = i;
        for (int i = nd - 1; i > 0; i--) { int j = rint_(0, i), tmp = perm[i]; perm[i] = perm[j]; perm[j] = tmp; }
        nn_graph *g = nn_graph_new();
        int x = add_input(g, "x", nd, d), y = add_out(g, "y");
        int ni = nn_graph_add_node(g, NN_OP_TRANSPOSE, "t", 1, &x, 1, &y);
        memcpy(g->nodes[ni].attr.perm, perm, sizeof perm);
        PLAN_RUN(g);
        int64_t od[6];
        for (int i = 0; i < nd; i++) od[i] = d[perm[i]];
        const float *xv = g->tensors[x].data, *yv = g->tensors[y].data;
        for (size_t o = 0; o < numel(nd, od); o++) {
            int64_t oi[6], ii[6];
            unflat(o, nd, od, oi);
            for (int i = 0; i < nd; i++) ii[perm[i]] = oi[i];
            CHECK(yv[o] == xv[flat(nd, d, ii)]);
        }
        nn_graph_free(g);
    }
}

TEST(concat_and_split_random) {
    for (int it = 0; it < 30; it++) {
        int nd = rint_(1, 4), k = rint_(1, 4);
        int64_t d[4];
        rand_dims(nd, d, 1, 4);
        int axis = rint_(0, nd - 1);
        nn_graph *g = nn_graph_new();
        int ins[4];
        int64_t off[5] = {0};
        for (int i = 0; i < k; i++) {
            int64_t di[4];
            memcpy(di, d, sizeof di);
            di[axis] = rint_(1, 3);
            off[i + 1] = off[i] + di[axis];
            char nm[8] = {'x', (char)('0' + i), 0};
            ins[i] = add_input(g, nm, nd, di);
        }
        int y = nn_graph_add_tensor(g, "cat", NN_F32, 0, NULL);
        int ni = nn_graph_add_node(g, NN_OP_CONCAT, "c", k, ins, 1, &y);
        g->nodes[ni].attr.axis = axis - (it % 2 ? nd : 0);
        /* split back into the same pieces */
        int outs[4];
        for (int i = 0; i < k; i++) outs[i] = add_out(g, "s");
        ni = nn_graph_add_node(g, NN_OP_SPLIT, "sp", 1, &y, k, outs);
        g->nodes[ni].attr.axis = axis;
        g->nodes[ni].attr.n_split = k;
        for (int i = 0; i < k; i++) g->nodes[ni].attr.split[i] = off[i + 1] - off[i];
        g->tensors[y].keep = 1;
        PLAN_RUN(g);
        nn_tensor *Y = &g->tensors[y];
        CHECK(Y->dims[axis] == off[k]);
        for (size_t o = 0; o < numel(nd, Y->dims); o++) {
            int64_t oi[4];
            unflat(o, nd, Y->dims, oi);
            int src = 0;
            while (oi[axis] >= off[src + 1]) src++;
            oi[axis] -= off[src];
            nn_tensor *X = &g->tensors[ins[src]];
            CHECK(((float *)Y->data)[o] == ((float *)X->data)[flat(nd, X->dims, oi)]);
        }
        for (int i = 0; i < k; i++) {
            nn_tensor *X = &g->tensors[ins[i]], *S = &g->tensors[outs[i]];
            CHECK(!memcmp(X->data, S->data, numel(nd, X->dims) * 4));
        }
        nn_graph_free(g);
    }
}

/* Python's slice.indices(), written from its documentation. */
static int64_t py_slice(int64_t len, int64_t start, int64_t stop, int64_t step, int64_t *first) {
    int64_t lower = step < 0 ? -1 : 0, upper = step < 0 ? len - 1 : len;
    start = start < 0 ? (start + len < lower ? lower : start + len) : (start > upper ? upper : start);
    stop = stop < 0 ? (stop + len < lower ? lower : stop + len) : (stop > upper ? upper : stop);
    *first = start;
    int64_t n = 0;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) n++;
    return n;
}

TEST(slice_negative_steps_and_clamping) {
    for (int it = 0; it < 60; it++) {
        int nd = rint_(1, 4);
        int64_t d[4];
        rand_dims(nd, d, 1, 6);
        nn_graph *g = nn_graph_new();
        int x = add_input(g, "x", nd, d), y = add_out(g, "y");
        int ni = nn_graph_add_node(g, NN_OP_SLICE, "sl", 1, &x, 1, &y);
        nn_attr *a = &g->nodes[ni].attr;
        int64_t first[4], step[4], cnt[4];
        for (int i = 0; i < nd; i++) { first[i] = 0; step[i] = 1; cnt[i] = d[i]; }
        int na = rint_(1, nd);
        for (int k = 0; k < na; k++) {
            int ax = (k + it) % nd;
            int dup = 0;
            for (int q = 0; q < k; q++) dup |= (a->axes[q] + nd) % nd == ax;
            if (dup) break;
            a->axes[k] = rint_(0, 1) ? ax : ax - nd;
            a->starts[k] = rint_(-8, 8);
            a->ends[k] = rint_(0, 5) == 0 ? (rint_(0, 1) ? INT64_MAX : INT64_MIN) : rint_(-8, 8);
            a->steps[k] = rint_(0, 1) ? rint_(1, 3) : -rint_(1, 3);
            a->n_axes = k + 1;
            step[ax] = a->steps[k];
            int64_t s = a->starts[k], e = a->ends[k];
            if (e == INT64_MAX) e = 1 << 20;
            if (e == INT64_MIN) e = -(1 << 20);
            cnt[ax] = py_slice(d[ax], s, e, step[ax], &first[ax]);
        }
        PLAN_RUN(g);
        nn_tensor *Y = &g->tensors[y];
        for (int i = 0; i < nd; i++) CHECK_MSG(Y->dims[i] == cnt[i], "it %d dim %d: %lld vs %lld", it, i, (long long)Y->dims[i], (long long)cnt[i]);
        for (size_t o = 0; o < numel(nd, cnt); o++) {
            int64_t oi[4], ii[4];
            unflat(o, nd, cnt, oi);
            for (int i = 0; i < nd; i++) ii[i] = first[i] + oi[i] * step[i];
            CHECK(((float *)Y->data)[o] == ((float *)g->tensors[x].data)[flat(nd, d, ii)]);
        }
        nn_graph_free(g);
    }
}

static int64_t pad_src(int64_t i, int64_t n, int mode) { /* numpy.pad semantics */
    if (i >= 0 && i < n) return i;
    if (mode == NN_PAD_CONSTANT) return -1;
    if (mode == NN_PAD_EDGE) return i < 0 ? 0 : n - 1;
    int64_t period = 2 * (n - 1); /* reflect */
    if (period == 0) return 0;
    i = ((i % period) + period) % period;
    return i < n ? i : period - i;
}

TEST(pad_constant_reflect_edge) {
    for (int it = 0; it < 45; it++) {
        int mode = it % 3, nd = rint_(1, 4);
        int64_t d[4];
        rand_dims(nd, d, 1, 5);
        nn_graph *g = nn_graph_new();
        int x = add_input(g, "x", nd, d), y = add_out(g, "y");
        int ni = nn_graph_add_node(g, NN_OP_PAD, "p", 1, &x, 1, &y);
        nn_attr *a = &g->nodes[ni].attr;
        a->pad_mode = (nn_pad_mode)mode;
        a->pad_value = 0.75f;
        int64_t od[4];
        for (int i = 0; i < nd; i++) {
            int64_t lim = mode == NN_PAD_REFLECT ? d[i] - 1 : 4;
            a->pads[i] = rint_(0, (int)lim);
            a->pads[nd + i] = rint_(0, (int)lim);
            od[i] = d[i] + a->pads[i] + a->pads[nd + i];
        }
        PLAN_RUN(g);
        const float *xv = g->tensors[x].data, *yv = g->tensors[y].data;
        for (size_t o = 0; o < numel(nd, od); o++) {
            int64_t oi[4], ii[4];
            unflat(o, nd, od, oi);
            int outside = 0;
            for (int i = 0; i < nd; i++) {
                ii[i] = pad_src(oi[i] - a->pads[i], d[i], mode);
                if (ii[i] < 0) outside = 1;
            }
            float want = outside ? 0.75f : xv[flat(nd, d, ii)];
            CHECK_MSG(yv[o] == want, "mode %d it %d", mode, it);
        }
        nn_graph_free(g);
    }
}

TEST(gather_negative_indices_and_bad_index) {
    for (int it = 0; it < 20; it++) {
        int nd = rint_(1, 4);
        int64_t d[4];
        rand_dims(nd, d, 1, 5);
        int axis = rint_(0, nd - 1);
        int64_t idims[2] = {rint_(1, 3), rint_(1, 3)};
        int ind = rint_(0, 2);
        int64_t iv[9];
        for (size_t i = 0; i < numel(ind, idims); i++) iv[i] = rint_((int)-d[axis], (int)d[axis] - 1);
        nn_graph *g = nn_graph_new();
        int x = add_input(g, "x", nd, d), y = add_out(g, "y");
        int ix = nn_graph_add_const(g, "i", NN_I64, ind, idims, iv);
        int in[2] = {x, ix};
        int ni = nn_graph_add_node(g, NN_OP_GATHER, "g", 2, in, 1, &y);
        g->nodes[ni].attr.axis = it % 2 ? axis - nd : axis;
        PLAN_RUN(g);
        nn_tensor *Y = &g->tensors[y];
        CHECK(Y->ndim == nd - 1 + ind);
        for (size_t o = 0; o < numel(Y->ndim, Y->dims); o++) {
            int64_t oi[8], ii[4], q[2];
            unflat(o, Y->ndim, Y->dims, oi);
            for (int k = 0; k < axis; k++) ii[k] = oi[k];
            for (int k = 0; k < ind; k++) q[k] = oi[axis + k];
            int64_t v = iv[flat(ind, idims, q)];
            ii[axis] = v < 0 ? v + d[axis] : v;
            for (int k = axis + 1; k < nd; k++) ii[k] = oi[k - 1 + ind];
            CHECK(((float *)Y->data)[o] == ((float *)g->tensors[x].data)[flat(nd, d, ii)]);
        }
        nn_graph_free(g);
    }
    /* an out-of-range constant index is refused at plan time */
    nn_graph *g = nn_graph_new();
    int64_t d[1] = {4}, one[1] = {1}, bad[1] = {4};
    int x = add_input(g, "x", 1, d), y = add_out(g, "y");
    int ix = nn_graph_add_const(g, "i", NN_I64, 1, one, bad);
    int in[2] = {x, ix};
    nn_graph_add_node(g, NN_OP_GATHER, "g", 2, in, 1, &y);
    CHECK(nn_graph_plan(g) != FS_OK);
    CHECK(strstr(fs_last_error(), "out of range"));
    nn_graph_free(g);
}

/* ---------------------------------------------------------------- matmul / fc / conv transpose */

TEST(matmul_batched_broadcast) {
    for (int it = 0; it < 30; it++) {
        int m = rint_(1, 5), k = rint_(1, 6), n = rint_(1, 5);
        int nb = rint_(0, 2);
        int64_t ad[4], bd[4];
        int an = nb + 2, bn = rint_(0, 1) ? nb + 2 : 2;
        for (int i = 0; i < nb; i++) ad[i] = rint_(1, 3);
        for (int i = 0; i < bn - 2; i++) bd[i] = rint_(0, 1) ? ad[i] : 1;
        ad[an - 2] = m; ad[an - 1] = k;
        bd[bn - 2] = k; bd[bn - 1] = n;
        nn_graph *g = nn_graph_new();
        int a = add_input(g, "a", an, ad), b = add_input(g, "b", bn, bd), y = add_out(g, "y");
        int in[2] = {a, b};
        nn_graph_add_node(g, NN_OP_MATMUL, "mm", 2, in, 1, &y);
        PLAN_RUN(g);
        nn_tensor *Y = &g->tensors[y];
        CHECK(Y->ndim == an);
        const float *A = g->tensors[a].data, *B = g->tensors[b].data, *C = Y->data;
        for (size_t o = 0; o < numel(Y->ndim, Y->dims); o++) {
            int64_t oi[4], ai[4], bi[4];
            unflat(o, Y->ndim, Y->dims, oi);
            double s = 0;
            for (int kk = 0; kk < k; kk++) {
                for (int i = 0; i < nb; i++) ai[i] = oi[i];
                for (int i = 0; i < bn - 2; i++) bi[i] = bd[i] == 1 ? 0 : oi[i];
                ai[an - 2] = oi[an - 2]; ai[an - 1] = kk;
                bi[bn - 2] = kk; bi[bn - 1] = oi[an - 1];
                s += (double)A[flat(an, ad, ai)] * B[flat(bn, bd, bi)];
            }
            NEAR_OR_FAIL(C[o], s, 1e-5, "matmul it %d", it);
        }
        nn_graph_free(g);
    }
}

TEST(conv_transpose_vs_direct_sum) {
    for (int it = 0; it < 12; it++) {
        int n = rint_(1, 2), ih = rint_(1, 5), iw = rint_(1, 5), groups = rint_(1, 2);
        int cig = rint_(1, 3), cog = rint_(1, 3), kh = rint_(1, 3), kw = rint_(1, 3);
        int sh = rint_(1, 3), sw = rint_(1, 2), dh = rint_(1, 2), dw = 1;
        int64_t xd[4] = {n, ih, iw, cig * groups}, wd[4] = {cog * groups, kh, kw, cig}, bd[1] = {cog * groups};
        nn_graph *g = nn_graph_new();
        int x = add_input(g, "x", 4, xd), y = add_out(g, "y");
        float wv[3 * 3 * 3 * 6], bv[6];
        for (int i = 0; i < (int)numel(4, wd); i++) wv[i] = rfl();
        for (int i = 0; i < cog * groups; i++) bv[i] = rfl();
        int w = nn_graph_add_const(g, "w", NN_F32, 4, wd, wv), b = nn_graph_add_const(g, "b", NN_F32, 1, bd, bv);
        int in[3] = {x, w, b};
        int ni = nn_graph_add_node(g, NN_OP_CONV2D_TRANSPOSE, "ct", 3, in, 1, &y);
        nn_attr *a = &g->nodes[ni].attr;
        a->stride_h = sh; a->stride_w = sw; a->dil_h = dh; a->dil_w = dw; a->groups = groups;
        a->pad_t = rint_(0, kh - 1); a->pad_b = rint_(0, kh - 1); a->pad_l = rint_(0, kw - 1); a->pad_r = 0;
        a->out_pad_h = rint_(0, sh - 1);
        PLAN_RUN(g);
        nn_tensor *Y = &g->tensors[y];
        int oh = (int)Y->dims[1], ow = (int)Y->dims[2], oc = cog * groups;
        CHECK(oh == (ih - 1) * sh + (kh - 1) * dh + 1 + a->out_pad_h - a->pad_t - a->pad_b);
        const float *X = g->tensors[x].data;
        for (int bb = 0; bb < n; bb++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    for (int o = 0; o < oc; o++) {
                        double s = bv[o];
                        int gi = o / cog;
                        for (int iy = 0; iy < ih; iy++)
                            for (int ky = 0; ky < kh; ky++) {
                                if (iy * sh - a->pad_t + ky * dh != oy) continue;
                                for (int ix = 0; ix < iw; ix++)
                                    for (int kx = 0; kx < kw; kx++) {
                                        if (ix * sw - a->pad_l + kx * dw != ox) continue;
                                        for (int ci = 0; ci < cig; ci++)
                                            s += (double)X[((bb * ih + iy) * iw + ix) * cig * groups + gi * cig + ci] *
                                                 wv[((o * kh + ky) * kw + kx) * cig + ci];
                                    }
                            }
                        NEAR_OR_FAIL(((float *)Y->data)[((bb * oh + oy) * ow + ox) * oc + o], s, 1e-5, "convT it %d", it);
                    }
        nn_graph_free(g);
    }
}

TEST(fully_connected_keepdims_and_flatten) {
    for (int keep = 0; keep < 2; keep++) {
        int64_t xd[3] = {2, 3, 5}, wd[2] = {4, 5};
        float wv[20];
        for (int i = 0; i < 20; i++) wv[i] = rfl();
        nn_graph *g = nn_graph_new();
        int x = add_input(g, "x", 3, xd), y = add_out(g, "y");
        int w = nn_graph_add_const(g, "w", NN_F32, 2, wd, wv);
        int in[2] = {x, w};
        int ni = nn_graph_add_node(g, NN_OP_FULLY_CONNECTED, "fc", 2, in, 1, &y);
        g->nodes[ni].attr.keepdims = keep;
        g->nodes[ni].attr.act_min = 0;
        PLAN_RUN(g);
        nn_tensor *Y = &g->tensors[y];
        CHECK(Y->ndim == (keep ? 3 : 2));
        const float *X = g->tensors[x].data;
        for (int r = 0; r < 6; r++)
            for (int o = 0; o < 4; o++) {
                double s = 0;
                for (int k = 0; k < 5; k++) s += (double)X[r * 5 + k] * wv[o * 5 + k];
                NEAR_OR_FAIL(((float *)Y->data)[r * 4 + o], s < 0 ? 0 : s, 1e-5, "fc");
            }
        nn_graph_free(g);
    }
}

/* ---------------------------------------------------------------- shape ops, folding, planner */

TEST(dynamic_reshape_chain_is_folded) {
    /* YuNet-style: Shape -> Gather(0) -> Unsqueeze -> Concat([n, -1]) -> Reshape */
    nn_graph *g = nn_graph_new();
    int64_t d[4] = {2, 3, 4, 5}, one[1] = {1}, zero = 0, m1 = -1;
    int x = add_input(g, "x", 4, d);
    int sh = nn_graph_add_tensor(g, "shape", NN_I64, 0, NULL);
    nn_graph_add_node(g, NN_OP_SHAPE, "shape", 1, &x, 1, &sh);
    int i0 = nn_graph_add_const(g, "zero", NN_I64, 0, NULL, &zero);
    int n = nn_graph_add_tensor(g, "n", NN_I64, 0, NULL);
    int gi[2] = {sh, i0};
    nn_graph_add_node(g, NN_OP_GATHER, "gather", 2, gi, 1, &n);
    int nu = nn_graph_add_tensor(g, "nu", NN_I64, 0, NULL);
    int ni = nn_graph_add_node(g, NN_OP_UNSQUEEZE, "unsq", 1, &n, 1, &nu);
    g->nodes[ni].attr.n_axes = 1;
    int mone = nn_graph_add_const(g, "m1", NN_I64, 1, one, &m1);
    int tgt = nn_graph_add_tensor(g, "tgt", NN_I64, 0, NULL);
    int ci[2] = {nu, mone};
    nn_graph_add_node(g, NN_OP_CONCAT, "cat", 2, ci, 1, &tgt);
    int y = add_out(g, "y");
    int ri[2] = {x, tgt};
    nn_graph_add_node(g, NN_OP_RESHAPE, "reshape", 2, ri, 1, &y);
    CHECK(nn_graph_plan(g) == FS_OK);
    for (int i = 0; i < 4; i++) CHECK(g->nodes[i].folded);
    CHECK(!g->nodes[4].folded);
    nn_tensor *Y = &g->tensors[y];
    CHECK(Y->ndim == 2 && Y->dims[0] == 2 && Y->dims[1] == 60);
    CHECK(Y->data == g->tensors[x].data); /* reshape aliases its input: no copy */
    /* another input shape: the folded constants are recomputed */
    int64_t d2[4] = {3, 1, 2, 2};
    CHECK(nn_graph_set_input_dims(g, 0, 4, d2) == FS_OK);
    CHECK(nn_graph_plan(g) == FS_OK);
    CHECK(Y->dims[0] == 3 && Y->dims[1] == 4);
    nn_graph_free(g);
}

TEST(reshape_squeeze_unsqueeze_flatten_shapes) {
    nn_graph *g = nn_graph_new();
    int64_t d[4] = {2, 1, 3, 1}, tv[3] = {0, -1, 1};
    int64_t three[1] = {3};
    int x = add_input(g, "x", 4, d);
    int s = nn_graph_add_tensor(g, "s", NN_F32, 0, NULL), u = nn_graph_add_tensor(g, "u", NN_F32, 0, NULL);
    int f = nn_graph_add_tensor(g, "f", NN_F32, 0, NULL);
    int ni = nn_graph_add_node(g, NN_OP_SQUEEZE, "sq", 1, &x, 1, &s); /* all size-1 dims -> [2,3] */
    (void)ni;
    ni = nn_graph_add_node(g, NN_OP_UNSQUEEZE, "us", 1, &s, 1, &u);
    g->nodes[ni].attr.axes[0] = -1;
    g->nodes[ni].attr.axes[1] = 1;
    g->nodes[ni].attr.n_axes = 2; /* [2,1,3,1] */
    ni = nn_graph_add_node(g, NN_OP_FLATTEN, "fl", 1, &u, 1, &f);
    g->nodes[ni].attr.axis = 2; /* [2, 3] */
    int t = nn_graph_add_const(g, "t", NN_I64, 1, three, tv);
    int y = add_out(g, "y");
    int ri[2] = {f, t};
    nn_graph_add_node(g, NN_OP_RESHAPE, "r", 2, ri, 1, &y); /* [2, 3, 1] */
    CHECK(nn_graph_plan(g) == FS_OK);
    nn_tensor *S = &g->tensors[s], *U = &g->tensors[u], *F = &g->tensors[f], *Y = &g->tensors[y];
    CHECK(S->ndim == 2 && S->dims[0] == 2 && S->dims[1] == 3);
    CHECK(U->ndim == 4 && U->dims[1] == 1 && U->dims[3] == 1 && U->dims[2] == 3);
    CHECK(F->ndim == 2 && F->dims[0] == 2 && F->dims[1] == 3);
    CHECK(Y->ndim == 3 && Y->dims[0] == 2 && Y->dims[1] == 3 && Y->dims[2] == 1);
    nn_graph_free(g);
    /* impossible reshape is refused by name */
    g = nn_graph_new();
    int64_t bad[2] = {5, -1};
    x = add_input(g, "x", 4, d);
    t = nn_graph_add_const(g, "t", NN_I64, 1, (int64_t[1]){2}, bad);
    y = add_out(g, "y");
    int ri2[2] = {x, t};
    nn_graph_add_node(g, NN_OP_RESHAPE, "r", 2, ri2, 1, &y);
    CHECK(nn_graph_plan(g) != FS_OK);
    CHECK(strstr(fs_last_error(), "'r' (Reshape)"));
    nn_graph_free(g);
}

TEST(planner_reuses_buffers_and_keeps_requested) {
    /* a chain of 8 element-wise ops on a 1000-float tensor: live buffers never exceed 3 */
    nn_graph *g = nn_graph_new();
    int64_t d[1] = {1000};
    int x = add_input(g, "x", 1, d), prev = x, mid = -1;
    for (int i = 0; i < 8; i++) {
        int t = i == 7 ? add_out(g, "y") : nn_graph_add_tensor(g, "t", NN_F32, 0, NULL);
        nn_graph_add_node(g, NN_OP_NEG, "neg", 1, &prev, 1, &t);
        if (i == 2) mid = t;
        prev = t;
    }
    g->tensors[mid].keep = 1;
    PLAN_RUN(g);
    CHECK_MSG(g->arena_size <= 4 * 4096, "arena %zu bytes", g->arena_size);
    const float *X = g->tensors[x].data, *M = g->tensors[mid].data, *Y = g->tensors[prev].data;
    for (int i = 0; i < 1000; i++) {
        CHECK(M[i] == -X[i]);
        CHECK(Y[i] == X[i]);
    }
    nn_graph_free(g);
}

TEST(pooling_same_padding_odd_sizes) {
    for (int it = 0; it < 12; it++) {
        int64_t d[4] = {rint_(1, 2), rint_(3, 9), rint_(3, 9), rint_(1, 4)};
        int k = rint_(2, 3), s = rint_(1, 2), is_max = it % 2;
        nn_graph *g = nn_graph_new();
        int x = add_input(g, "x", 4, d), y = add_out(g, "y");
        int ni = nn_graph_add_node(g, is_max ? NN_OP_MAX_POOL2D : NN_OP_AVG_POOL2D, "p", 1, &x, 1, &y);
        nn_attr *a = &g->nodes[ni].attr;
        a->kh = a->kw = k;
        a->stride_h = a->stride_w = s;
        a->auto_pad = 1;
        PLAN_RUN(g);
        nn_tensor *Y = &g->tensors[y];
        int64_t oh = (d[1] + s - 1) / s, ow = (d[2] + s - 1) / s;
        CHECK(Y->dims[1] == oh && Y->dims[2] == ow);
        int64_t th = (oh - 1) * s + k - d[1], tw = (ow - 1) * s + k - d[2];
        int pt = (int)((th > 0 ? th : 0) / 2), pl = (int)((tw > 0 ? tw : 0) / 2);
        const float *X = g->tensors[x].data;
        for (int b = 0; b < d[0]; b++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    for (int c = 0; c < d[3]; c++) {
                        double acc = is_max ? -1e30 : 0;
                        int cnt = 0;
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int iy = oy * s - pt + ky, ix = ox * s - pl + kx;
                                if (iy < 0 || ix < 0 || iy >= d[1] || ix >= d[2]) continue;
                                double v = X[((b * d[1] + iy) * d[2] + ix) * d[3] + c];
                                acc = is_max ? fmax(acc, v) : acc + v;
                                cnt++;
                            }
                        if (!is_max) acc /= cnt;
                        NEAR_OR_FAIL(((float *)Y->data)[((b * oh + oy) * ow + ox) * d[3] + c], acc, 1e-6, "pool it %d", it);
                    }
        nn_graph_free(g);
    }
}

TEST(cast_and_unsupported_attributes_refused) {
    nn_graph *g = nn_graph_new();
    int64_t d[1] = {5};
    int x = add_input(g, "x", 1, d);
    int c = nn_graph_add_tensor(g, "c", NN_I64, 0, NULL), y = add_out(g, "y");
    int ni = nn_graph_add_node(g, NN_OP_CAST, "c1", 1, &x, 1, &c);
    g->nodes[ni].attr.to = NN_I64;
    ni = nn_graph_add_node(g, NN_OP_CAST, "c2", 1, &c, 1, &y);
    g->nodes[ni].attr.to = NN_F32;
    CHECK(nn_graph_plan(g) == FS_OK);
    float *X = g->tensors[x].data;
    X[0] = 2.7f; X[1] = -2.7f; X[2] = 0; X[3] = 1e3f; X[4] = -0.5f;
    CHECK(nn_graph_run(g) == FS_OK);
    const float *Y = g->tensors[y].data;
    CHECK(Y[0] == 2 && Y[1] == -2 && Y[2] == 0 && Y[3] == 1000 && Y[4] == 0);
    nn_graph_free(g);
    /* an unknown resize mode is refused at plan time, by name */
    g = nn_graph_new();
    int64_t d4[4] = {1, 2, 2, 1};
    x = add_input(g, "x", 4, d4);
    y = add_out(g, "y");
    ni = nn_graph_add_node(g, NN_OP_RESIZE, "rs", 1, &x, 1, &y);
    g->nodes[ni].attr.resize_mode = (nn_resize_mode)7;
    g->nodes[ni].attr.scales[1] = g->nodes[ni].attr.scales[2] = 2;
    CHECK(nn_graph_plan(g) != FS_OK);
    CHECK(strstr(fs_last_error(), "'rs' (Resize)"));
    nn_graph_free(g);
}

TEST(binary_threaded_equals_single_thread) {
    int64_t ad[4] = {3, 50, 41, 33}, bd[3] = {1, 41, 33};
    float *single = NULL;
    for (int threads = 1; threads <= 2; threads++) {
        rs = 12345; /* same inputs both times */
        nn_graph *g = nn_graph_new();
        CHECK(nn_graph_set_threads(g, threads) == FS_OK);
        int a = add_input(g, "a", 4, ad), b = add_input(g, "b", 3, bd), y = add_out(g, "y");
        int in[2] = {a, b};
        int ni = nn_graph_add_node(g, NN_OP_PRELU, "p", 2, in, 1, &y);
        g->nodes[ni].attr.act_max = 0.5f;
        PLAN_RUN(g);
        size_t n = numel(4, ad);
        const float *Y = g->tensors[y].data, *A = g->tensors[a].data, *B = g->tensors[b].data;
        for (size_t i = 0; i < n; i += 97) {
            float x = A[i], s = B[i % (41 * 33)], w = x < 0 ? x * s : x;
            CHECK(Y[i] == (w > 0.5f ? 0.5f : w));
        }
        if (threads == 1) {
            single = malloc(n * sizeof(float));
            memcpy(single, Y, n * sizeof(float));
        } else {
            CHECK(!memcmp(single, Y, n * sizeof(float)));
        }
        nn_graph_free(g);
    }
    free(single);
}

TEST(inplace_only_when_the_input_dies) {
    /* a = exp(x); b = neg(a); c = a + b (= 0): b must not overwrite a; d = sigmoid(c) may reuse c */
    nn_graph *g = nn_graph_new();
    int64_t d[2] = {7, 9};
    int x = add_input(g, "x", 2, d);
    int a = nn_graph_add_tensor(g, "a", NN_F32, 0, NULL), b = nn_graph_add_tensor(g, "b", NN_F32, 0, NULL);
    int c = nn_graph_add_tensor(g, "c", NN_F32, 0, NULL), y = add_out(g, "y");
    nn_graph_add_node(g, NN_OP_EXP, "exp", 1, &x, 1, &a);
    nn_graph_add_node(g, NN_OP_NEG, "neg", 1, &a, 1, &b);
    int ab[2] = {a, b};
    nn_graph_add_node(g, NN_OP_ADD, "add", 2, ab, 1, &c);
    nn_graph_add_node(g, NN_OP_SIGMOID, "sig", 1, &c, 1, &y);
    PLAN_RUN(g);
    CHECK(g->tensors[b].data != g->tensors[a].data);      /* a is still needed by add */
    CHECK(g->tensors[x].data != g->tensors[a].data);      /* graph inputs stay intact */
    CHECK(g->tensors[y].data == g->tensors[c].data);      /* c dies at sig: in place */
    const float *Y = g->tensors[y].data;
    for (int i = 0; i < 63; i++) CHECK(Y[i] == 0.5f);
    nn_graph_free(g);
}

TEST(expand_tile_constant_of_shape) {
    for (int it = 0; it < 20; it++) {
        int nd = rint_(1, 4), ns = rint_(1, 4);
        int64_t xd[4], sh[4], od[4];
        int ond = nd > ns ? nd : ns;
        rand_dims(ond, od, 1, 4);
        for (int i = 0; i < nd; i++) xd[i] = rint_(0, 1) ? od[ond - nd + i] : 1;
        for (int i = 0; i < ns; i++) sh[i] = rint_(0, 1) ? od[ond - ns + i] : 1;
        for (int i = 0; i < ond; i++) { /* the broadcast result */
            int ix = i - (ond - nd), is = i - (ond - ns);
            int64_t a = ix >= 0 ? xd[ix] : 1, b = is >= 0 ? sh[is] : 1;
            od[i] = a > b ? a : b;
        }
        int64_t reps[4], ns64[1] = {ns}, nd64[1] = {nd};
        for (int i = 0; i < nd; i++) reps[i] = rint_(1, 3);
        nn_graph *g = nn_graph_new();
        int x = add_input(g, "x", nd, xd), ye = add_out(g, "e"), yt = add_out(g, "t");
        int s_ = nn_graph_add_const(g, "shape", NN_I64, 1, ns64, sh), r = nn_graph_add_const(g, "reps", NN_I64, 1, nd64, reps);
        int ei[2] = {x, s_}, ti[2] = {x, r};
        nn_graph_add_node(g, NN_OP_EXPAND, "expand", 2, ei, 1, &ye);
        nn_graph_add_node(g, NN_OP_TILE, "tile", 2, ti, 1, &yt);
        PLAN_RUN(g);
        nn_tensor *E = &g->tensors[ye], *Tt = &g->tensors[yt];
        const float *X = g->tensors[x].data;
        CHECK(E->ndim == ond);
        for (int i = 0; i < ond; i++) CHECK(E->dims[i] == od[i]);
        for (size_t o = 0; o < numel(ond, od); o++) {
            int64_t oi[4], ii[4];
            unflat(o, ond, od, oi);
            for (int k = 0; k < nd; k++) ii[k] = xd[k] == 1 ? 0 : oi[ond - nd + k];
            CHECK(((float *)E->data)[o] == X[flat(nd, xd, ii)]);
        }
        for (size_t o = 0; o < numel(nd, Tt->dims); o++) {
            int64_t oi[4], ii[4];
            unflat(o, nd, Tt->dims, oi);
            for (int k = 0; k < nd; k++) ii[k] = oi[k] % xd[k];
            CHECK(((float *)Tt->data)[o] == X[flat(nd, xd, ii)]);
        }
        nn_graph_free(g);
    }
    /* ConstantOfShape is folded to a constant of the requested type */
    nn_graph *g = nn_graph_new();
    int64_t d[1] = {3}, sv[3] = {2, 1, 4}, one[1] = {1};
    int x = add_input(g, "x", 1, one), y = add_out(g, "y");
    int s_ = nn_graph_add_const(g, "s", NN_I64, 1, d, sv), c = nn_graph_add_tensor(g, "c", NN_I64, 0, NULL);
    int ni = nn_graph_add_node(g, NN_OP_CONSTANT_OF_SHAPE, "cos", 1, &s_, 1, &c);
    g->nodes[ni].attr.to = NN_I64;
    g->nodes[ni].attr.pad_value = 7;
    nn_graph_add_node(g, NN_OP_IDENTITY, "id", 1, &x, 1, &y);
    CHECK(nn_graph_plan(g) == FS_OK);
    nn_tensor *C = &g->tensors[c];
    CHECK(g->nodes[0].folded && C->is_const && C->ndim == 3 && C->dims[2] == 4);
    for (int i = 0; i < 8; i++) CHECK(((int64_t *)C->data)[i] == 7);
    nn_graph_free(g);
}

TEST(instance_norm_and_lrn_any_channel_axis) {
    for (int it = 0; it < 16; it++) {
        int nd = rint_(2, 4);
        int64_t d[4];
        rand_dims(nd, d, 1, 5);
        d[0] = rint_(1, 2);
        int axis = rint_(1, nd - 1), C = (int)d[axis];
        float sc[5], bi[5];
        for (int i = 0; i < C; i++) { sc[i] = rfl(); bi[i] = rfl(); }
        int64_t cd[1] = {C};
        nn_graph *g = nn_graph_new();
        int x = add_input(g, "x", nd, d), yi = add_out(g, "in"), yl = add_out(g, "lrn");
        int s_ = nn_graph_add_const(g, "s", NN_F32, 1, cd, sc), b = nn_graph_add_const(g, "b", NN_F32, 1, cd, bi);
        int ii3[3] = {x, s_, b};
        int ni = nn_graph_add_node(g, NN_OP_INSTANCE_NORM, "in", 3, ii3, 1, &yi);
        g->nodes[ni].attr.axis = axis;
        g->nodes[ni].attr.alpha = 1e-5f;
        ni = nn_graph_add_node(g, NN_OP_LRN, "lrn", 1, &x, 1, &yl);
        nn_attr *a = &g->nodes[ni].attr;
        a->axis = axis - (it % 2 ? nd : 0);
        a->lrn_size = rint_(1, 4);
        a->alpha = 0.3f;
        a->beta = 0.75f;
        a->lrn_bias = 1.5f;
        PLAN_RUN(g);
        const float *X = g->tensors[x].data, *YI = g->tensors[yi].data, *YL = g->tensors[yl].data;
        size_t n = numel(nd, d);
        for (size_t o = 0; o < n; o++) {
            int64_t oi[4], j[4];
            unflat(o, nd, d, oi);
            /* instance norm: statistics over the same (n, c) */
            double su = 0, sq = 0, cnt = 0;
            for (size_t k = 0; k < n; k++) {
                unflat(k, nd, d, j);
                if (j[0] != oi[0] || j[axis] != oi[axis]) continue;
                su += X[k];
                cnt++;
            }
            double m = su / cnt;
            for (size_t k = 0; k < n; k++) {
                unflat(k, nd, d, j);
                if (j[0] != oi[0] || j[axis] != oi[axis]) continue;
                sq += (X[k] - m) * (X[k] - m);
            }
            int c = (int)oi[axis];
            double want = sc[c] * (X[o] - m) / sqrt(sq / cnt + 1e-5) + bi[c];
            NEAR_OR_FAIL(YI[o], want, 2e-4, "instance norm it %d", it);
            /* LRN window */
            int lo = (a->lrn_size - 1) / 2, hi = a->lrn_size - 1 - lo;
            double s2 = 0;
            for (int cc = c - lo; cc <= c + hi; cc++) {
                if (cc < 0 || cc >= C) continue;
                memcpy(j, oi, sizeof j);
                j[axis] = cc;
                double v = X[flat(nd, d, j)];
                s2 += v * v;
            }
            want = X[o] / pow(1.5 + 0.3 / a->lrn_size * s2, 0.75);
            NEAR_OR_FAIL(YL[o], want, 2e-6, "lrn it %d", it);
        }
        nn_graph_free(g);
    }
}

TEST(pooling_dilations_ceil_count_include_pad) {
    for (int it = 0; it < 24; it++) {
        int64_t d[4] = {1, rint_(3, 9), rint_(3, 9), rint_(1, 3)};
        int k = rint_(2, 3), s = rint_(1, 3), dil = rint_(1, 2), is_max = it % 2, ceil_m = rint_(0, 1);
        int cip = !is_max && rint_(0, 1);
        nn_graph *g = nn_graph_new();
        int x = add_input(g, "x", 4, d), y = add_out(g, "y");
        int ni = nn_graph_add_node(g, is_max ? NN_OP_MAX_POOL2D : NN_OP_AVG_POOL2D, "p", 1, &x, 1, &y);
        nn_attr *a = &g->nodes[ni].attr;
        a->kh = a->kw = k;
        a->stride_h = a->stride_w = s;
        a->dil_h = a->dil_w = dil;
        a->ceil_mode = ceil_m;
        a->count_include_pad = cip;
        a->pad_t = rint_(0, k - 1); a->pad_b = rint_(0, k - 1); a->pad_l = rint_(0, k - 1); a->pad_r = rint_(0, k - 1);
        int pt = a->pad_t, pb = a->pad_b, pl = a->pad_l, pr = a->pad_r, ek = (k - 1) * dil + 1;
        if (d[1] + pt + pb < ek || d[2] + pl + pr < ek) { nn_graph_free(g); continue; }
        PLAN_RUN(g);
        nn_tensor *Y = &g->tensors[y];
        /* output size: ONNX formula, ceil mode drops a window starting past input + pad_before */
        int64_t oh = ceil_m ? (d[1] + pt + pb - ek + s - 1) / s + 1 : (d[1] + pt + pb - ek) / s + 1;
        int64_t ow = ceil_m ? (d[2] + pl + pr - ek + s - 1) / s + 1 : (d[2] + pl + pr - ek) / s + 1;
        if (ceil_m && (oh - 1) * s >= d[1] + pt) oh--;
        if (ceil_m && (ow - 1) * s >= d[2] + pl) ow--;
        CHECK_MSG(Y->dims[1] == oh && Y->dims[2] == ow, "it %d: %lldx%lld vs %lldx%lld", it,
                  (long long)Y->dims[1], (long long)Y->dims[2], (long long)oh, (long long)ow);
        const float *X = g->tensors[x].data;
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                for (int c = 0; c < d[3]; c++) {
                    double acc = is_max ? -1e30 : 0;
                    int in = 0, padded = 0;
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int iy = oy * s - pt + ky * dil, ix = ox * s - pl + kx * dil;
                            if (iy >= -pt && iy < d[1] + pb && ix >= -pl && ix < d[2] + pr) padded++;
                            if (iy < 0 || ix < 0 || iy >= d[1] || ix >= d[2]) continue;
                            double v = X[(iy * d[2] + ix) * d[3] + c];
                            acc = is_max ? fmax(acc, v) : acc + v;
                            in++;
                        }
                    double want = is_max ? (in ? acc : 0) : acc / (cip ? padded : in);
                    NEAR_OR_FAIL(((float *)Y->data)[(oy * ow + ox) * d[3] + c], want, 1e-6, "pool it %d", it);
                }
        nn_graph_free(g);
    }
}

TEST(unary_threaded_equals_single_thread) {
    int64_t d[2] = {600, 257}; /* above the threading threshold (131072 elements) */
    float *single = NULL;
    for (int threads = 1; threads <= 2; threads++) {
        rs = 777;
        nn_graph *g = nn_graph_new();
        CHECK(nn_graph_set_threads(g, threads) == FS_OK);
        int x = add_input(g, "x", 2, d), y = add_out(g, "y");
        nn_graph_add_node(g, NN_OP_TANH, "t", 1, &x, 1, &y);
        PLAN_RUN(g);
        size_t n = numel(2, d);
        const float *Y = g->tensors[y].data, *X = g->tensors[x].data;
        for (size_t i = 0; i < n; i += 101) CHECK(Y[i] == tanhf(X[i]));
        if (threads == 1) {
            single = malloc(n * sizeof(float));
            memcpy(single, Y, n * sizeof(float));
        } else {
            CHECK(!memcmp(single, Y, n * sizeof(float)));
        }
        nn_graph_free(g);
    }
    free(single);
}
