/* nn/ops/eltwise.c — element-wise ops.
 *
 * Binary (Add Sub Mul Div Maximum Minimum Pow PRelu): numpy multidirectional broadcasting; float32
 * with the fused clamp [act_min, act_max], and int64/int32 (Add Sub Mul Div Max Min) for shape
 * arithmetic. At plan time the broadcast is reduced to an odometer over the output's outer dims
 * with per-operand strides (0 = broadcast) after merging dims that stay contiguous, so the common
 * cases (same shape, scalar, per-channel vector) run as one flat inner loop.
 * Unary (Clamp LeakyRelu Sigmoid Tanh Exp Log Sqrt Rsqrt Abs Neg HardSwish Elu Floor Ceil Reciprocal
 * Softplus HardSigmoid Sin Cos Erf Sign): float32, flat loops.
 */
#include <math.h>
#include <string.h>

#include "core/threadpool.h"
#include "nn/kernels/kernels.h"
#include "nn/ops/ops.h"

/* ---------------------------------------------------------------- binary */

typedef struct {
    int nd;                     /* merged dims */
    int64_t dims[NN_MAX_DIMS];
    int64_t sa[NN_MAX_DIMS], sb[NN_MAX_DIMS];
    size_t total;
    float lo, hi;
    int clamp;
} bin_state;

static fs_status bin_shape(nn_graph *g, nn_node *n, int64_t *od, int *ond) {
    nn_tensor *a = nn_in(g, n, 0), *b = nn_in(g, n, 1);
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return nn_node_error(n, FS_ERR_FORMAT, "shapes do not broadcast (dim %d: %lld vs %lld)", i,
                                 (long long)da, (long long)db);
        od[i] = da == 1 ? db : da;
    }
    *ond = nd;
    return FS_OK;
}

static fs_status bin_infer(nn_graph *g, nn_node *n) {
    fs_status st = nn_check_inputs(g, n, 2, 0);
    if (st) return st;
    nn_tensor *a = nn_in(g, n, 0), *b = nn_in(g, n, 1);
    if (a->dtype != b->dtype)
        return nn_node_error(n, FS_ERR_UNSUPPORTED, "mixed input types");
    if (a->dtype != NN_F32) {
        if (a->dtype != NN_I64 && a->dtype != NN_I32)
            return nn_node_error(n, FS_ERR_UNSUPPORTED, "input type is neither float32 nor int32/int64");
        if (n->type == NN_OP_POW || n->type == NN_OP_PRELU)
            return nn_node_error(n, FS_ERR_UNSUPPORTED, "integer inputs");
    }
    int64_t od[NN_MAX_DIMS];
    int ond = 0;
    if ((st = bin_shape(g, n, od, &ond))) return st;
    return nn_set_out(g, n, 0, a->dtype, ond, od);
}

static void bin_strides(const nn_tensor *t, int nd, const int64_t *od, int64_t *s) {
    int64_t st = 1;
    for (int i = nd - 1; i >= 0; i--) {
        int it = i - (nd - t->ndim);
        int64_t d = it >= 0 ? t->dims[it] : 1;
        s[i] = (d == 1 && od[i] != 1) ? 0 : st;
        st *= d;
    }
}

static fs_status bin_prepare(nn_graph *g, nn_node *n);

/* Rows [R0, R1) of the output (a row = the innermost merged dim). */
#define BIN_LOOP(T, EXPR, R0, R1)                                                            \
    do {                                                                                     \
        const T *A = nn_in(g, n, 0)->data, *B = nn_in(g, n, 1)->data;                        \
        T *Y = nn_out(g, n, 0)->data;                                                        \
        int64_t idx[NN_MAX_DIMS] = {0};                                                      \
        const int last = s->nd - 1;                                                          \
        const int64_t inner = s->dims[last], ia = s->sa[last], ib = s->sb[last];            \
        size_t oa = 0, ob = 0, rr = (R0);                                                    \
        for (int d = last - 1; d >= 0; d--) {                                                \
            idx[d] = (int64_t)(rr % (size_t)s->dims[d]);                                     \
            rr /= (size_t)s->dims[d];                                                        \
            oa += (size_t)(idx[d] * s->sa[d]);                                               \
            ob += (size_t)(idx[d] * s->sb[d]);                                               \
        }                                                                                    \
        for (size_t o = (R0) * (size_t)inner; o < (R1) * (size_t)inner; o += (size_t)inner) { \
            const T *pa = A + oa, *pb = B + ob;                                              \
            T *py = Y + o;                                                                   \
            if (ia == 1 && ib == 1)                                                          \
                for (int64_t i = 0; i < inner; i++) { T x = pa[i], y = pb[i]; py[i] = (EXPR); } \
            else if (ia == 1 && ib == 0) {                                                   \
                T y = pb[0];                                                                 \
                for (int64_t i = 0; i < inner; i++) { T x = pa[i]; py[i] = (EXPR); }         \
            } else if (ia == 0 && ib == 1) {                                                 \
                T x = pa[0];                                                                 \
                for (int64_t i = 0; i < inner; i++) { T y = pb[i]; py[i] = (EXPR); }         \
            } else                                                                           \
                for (int64_t i = 0; i < inner; i++) {                                        \
                    T x = pa[i * ia], y = pb[i * ib];                                        \
                    py[i] = (EXPR);                                                          \
                }                                                                            \
            for (int d = last - 1; d >= 0; d--) {                                            \
                oa += (size_t)s->sa[d];                                                      \
                ob += (size_t)s->sb[d];                                                      \
                if (++idx[d] < s->dims[d]) break;                                            \
                oa -= (size_t)(s->sa[d] * s->dims[d]);                                       \
                ob -= (size_t)(s->sb[d] * s->dims[d]);                                       \
                idx[d] = 0;                                                                  \
            }                                                                                \
        }                                                                                    \
    } while (0)

static void clamp_out(const bin_state *s, float *y, size_t i0, size_t i1) {
    if (!s->clamp) return;
    const float lo = s->lo, hi = s->hi;
    for (size_t i = i0; i < i1; i++) { /* this form vectorizes (max/min), NaN propagates */
        float v = y[i];
        v = lo > v ? lo : v;
        y[i] = hi < v ? hi : v;
    }
}

/* The same odometer as BIN_LOOP, with each contiguous / broadcast inner run done by the SIMD kernel
 * nn_eltwise_f32 (nn/kernels; same results bit for bit, clamp included). 0 if not applicable. */
static int bin_rows_f32_simd(nn_graph *g, nn_node *n, size_t r0, size_t r1) {
    const bin_state *s = n->kstate;
    static const nn_ew_op ops[] = {[NN_OP_ADD] = NN_EW_ADD, [NN_OP_SUB] = NN_EW_SUB, [NN_OP_MUL] = NN_EW_MUL,
                                   [NN_OP_DIV] = NN_EW_DIV, [NN_OP_MAXIMUM] = NN_EW_MAX,
                                   [NN_OP_MINIMUM] = NN_EW_MIN, [NN_OP_PRELU] = NN_EW_PRELU};
    const int last = s->nd - 1;
    const int64_t inner = s->dims[last], ia = s->sa[last], ib = s->sb[last];
    if (n->type == NN_OP_POW || n->type >= (int)(sizeof ops / sizeof ops[0]) || ia > 1 || ib > 1 ||
        (n->type != NN_OP_ADD && ops[n->type] == NN_EW_ADD))
        return 0;
    const float *A = nn_in(g, n, 0)->data, *B = nn_in(g, n, 1)->data;
    float *Y = nn_out(g, n, 0)->data;
    int64_t idx[NN_MAX_DIMS] = {0};
    size_t oa = 0, ob = 0, rr = r0;
    for (int d = last - 1; d >= 0; d--) {
        idx[d] = (int64_t)(rr % (size_t)s->dims[d]);
        rr /= (size_t)s->dims[d];
        oa += (size_t)(idx[d] * s->sa[d]);
        ob += (size_t)(idx[d] * s->sb[d]);
    }
    for (size_t o = r0 * (size_t)inner; o < r1 * (size_t)inner; o += (size_t)inner) {
        nn_eltwise_f32(ops[n->type], A + oa, (int)ia, B + ob, (int)ib, Y + o, (size_t)inner, s->clamp,
                       s->lo, s->hi);
        for (int d = last - 1; d >= 0; d--) {
            oa += (size_t)s->sa[d];
            ob += (size_t)s->sb[d];
            if (++idx[d] < s->dims[d]) break;
            oa -= (size_t)(s->sa[d] * s->dims[d]);
            ob -= (size_t)(s->sb[d] * s->dims[d]);
            idx[d] = 0;
        }
    }
    return 1;
}

static void bin_rows_f32(nn_graph *g, nn_node *n, size_t r0, size_t r1) {
    const bin_state *s = n->kstate;
    if (bin_rows_f32_simd(g, n, r0, r1)) return;
    switch (n->type) {
    case NN_OP_ADD: BIN_LOOP(float, x + y, r0, r1); break;
    case NN_OP_SUB: BIN_LOOP(float, x - y, r0, r1); break;
    case NN_OP_MUL: BIN_LOOP(float, x * y, r0, r1); break;
    case NN_OP_DIV: BIN_LOOP(float, x / y, r0, r1); break;
    case NN_OP_MAXIMUM: BIN_LOOP(float, x > y || isnan(x) ? x : y, r0, r1); break;
    case NN_OP_MINIMUM: BIN_LOOP(float, x < y || isnan(x) ? x : y, r0, r1); break;
    case NN_OP_POW: BIN_LOOP(float, powf(x, y), r0, r1); break;
    case NN_OP_PRELU: BIN_LOOP(float, x < 0 ? x * y : x, r0, r1); break;
    default: break;
    }
    size_t inner = (size_t)s->dims[s->nd - 1];
    clamp_out(s, nn_out(g, n, 0)->data, r0 * inner, r1 * inner);
}

typedef struct { nn_graph *g; nn_node *n; size_t rows, per; } bin_job;

static void bin_task(void *ctx, int t, int thread) {
    (void)thread;
    const bin_job *j = ctx;
    size_t r0 = (size_t)t * j->per, r1 = r0 + j->per < j->rows ? r0 + j->per : j->rows;
    if (r0 < r1) bin_rows_f32(j->g, j->n, r0, r1);
}

static void bin_run_f32(nn_graph *g, nn_node *n) {
    const bin_state *s = n->kstate;
    if (!s->total) return;
    size_t inner = (size_t)s->dims[s->nd - 1], rows = s->total / inner;
    struct fs_pool *pool = nn_graph_pool(g);
    if (!pool || s->total < 131072 || rows < 2) { /* small: the hand-off costs more than it saves */
        bin_rows_f32(g, n, 0, rows);
        return;
    }
    int nt = fs_pool_size(pool);
    bin_job j = {g, n, rows, (rows + (size_t)nt - 1) / (size_t)nt};
    fs_pool_run(pool, (int)((rows + j.per - 1) / j.per), bin_task, &j);
}

static int64_t idiv(int64_t x, int64_t y, nn_graph *g) {
    if (y == 0) {
        g->status = fs_error(FS_ERR_FORMAT, "nn: integer division by zero");
        return 0;
    }
    if (x == INT64_MIN && y == -1) return INT64_MIN;
    return x / y;
}

static void bin_run_i64(nn_graph *g, nn_node *n) {
    const bin_state *s = n->kstate;
    if (!s->total) return;
    size_t rows = s->total / (size_t)s->dims[s->nd - 1];
    switch (n->type) {
    case NN_OP_ADD: BIN_LOOP(int64_t, (int64_t)((uint64_t)x + (uint64_t)y), 0, rows); break;
    case NN_OP_SUB: BIN_LOOP(int64_t, (int64_t)((uint64_t)x - (uint64_t)y), 0, rows); break;
    case NN_OP_MUL: BIN_LOOP(int64_t, (int64_t)((uint64_t)x * (uint64_t)y), 0, rows); break;
    case NN_OP_DIV: BIN_LOOP(int64_t, idiv(x, y, g), 0, rows); break;
    case NN_OP_MAXIMUM: BIN_LOOP(int64_t, x > y ? x : y, 0, rows); break;
    case NN_OP_MINIMUM: BIN_LOOP(int64_t, x < y ? x : y, 0, rows); break;
    default: break;
    }
}

static void bin_run_i32(nn_graph *g, nn_node *n) {
    const bin_state *s = n->kstate;
    if (!s->total) return;
    size_t rows = s->total / (size_t)s->dims[s->nd - 1];
    switch (n->type) {
    case NN_OP_ADD: BIN_LOOP(int32_t, (int32_t)((uint32_t)x + (uint32_t)y), 0, rows); break;
    case NN_OP_SUB: BIN_LOOP(int32_t, (int32_t)((uint32_t)x - (uint32_t)y), 0, rows); break;
    case NN_OP_MUL: BIN_LOOP(int32_t, (int32_t)((uint32_t)x * (uint32_t)y), 0, rows); break;
    case NN_OP_DIV: BIN_LOOP(int32_t, (int32_t)idiv(x, y, g), 0, rows); break;
    case NN_OP_MAXIMUM: BIN_LOOP(int32_t, x > y ? x : y, 0, rows); break;
    case NN_OP_MINIMUM: BIN_LOOP(int32_t, x < y ? x : y, 0, rows); break;
    default: break;
    }
}

static fs_status bin_prepare(nn_graph *g, nn_node *n) {
    bin_state *s = nn_kstate(n, sizeof *s);
    if (!s) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
    nn_tensor *a = nn_in(g, n, 0), *b = nn_in(g, n, 1), *y = nn_out(g, n, 0);
    int nd = y->ndim;
    int64_t sa[NN_MAX_DIMS], sb[NN_MAX_DIMS];
    bin_strides(a, nd, y->dims, sa);
    bin_strides(b, nd, y->dims, sb);
    /* merge dims: drop size-1 dims, fuse i into the next when both operands stay contiguous */
    int m = 0;
    for (int i = 0; i < nd; i++) {
        if (y->dims[i] == 1) continue;
        if (m > 0 && sa[i] * y->dims[i] == s->sa[m - 1] && sb[i] * y->dims[i] == s->sb[m - 1]) {
            s->dims[m - 1] *= y->dims[i];
            s->sa[m - 1] = sa[i];
            s->sb[m - 1] = sb[i];
            continue;
        }
        s->dims[m] = y->dims[i];
        s->sa[m] = sa[i];
        s->sb[m] = sb[i];
        m++;
    }
    if (m == 0) { s->dims[0] = 1; s->sa[0] = s->sb[0] = 0; m = 1; }
    s->nd = m;
    s->total = nn_numel(y);
    s->lo = n->attr.act_min;
    s->hi = n->attr.act_max;
    s->clamp = !(isinf(s->lo) && s->lo < 0 && isinf(s->hi) && s->hi > 0);
    n->run = a->dtype == NN_F32 ? bin_run_f32 : a->dtype == NN_I64 ? bin_run_i64 : bin_run_i32;
    n->kname = "binary_ref";
    return FS_OK;
}

/* ---------------------------------------------------------------- unary */

static fs_status unary_infer(nn_graph *g, nn_node *n) {
    fs_status st = nn_check_inputs(g, n, 1, 1);
    if (st) return st;
    nn_tensor *x = nn_in(g, n, 0);
    if (n->type == NN_OP_CLAMP) { /* ONNX Clip >= 11: optional constant min / max inputs */
        for (int k = 1; k <= 2; k++) {
            nn_tensor *c = nn_in(g, n, k);
            float v;
            if (!c) continue;
            if (nn_const_floats(c, &v, 1) != 1)
                return nn_node_error(n, FS_ERR_UNSUPPORTED, "min/max input %d is not a constant scalar", k);
            if (k == 1) n->attr.act_min = v;
            else n->attr.act_max = v;
        }
    }
    return nn_set_out(g, n, 0, NN_F32, x->ndim, x->dims);
}

static float erf_f(float x) { return erff(x); }

/* Elements [i0, i1) of a unary op. */
static void unary_range(nn_graph *g, nn_node *n, size_t i0, size_t i1) {
    const float *x = (const float *)nn_in(g, n, 0)->data + i0;
    float *y = (float *)nn_out(g, n, 0)->data + i0;
    size_t cnt = i1 - i0;
    const float al = n->attr.alpha, be = n->attr.beta, lo = n->attr.act_min, hi = n->attr.act_max;
#define UN(EXPR) for (size_t i = 0; i < cnt; i++) { float v = x[i]; y[i] = (EXPR); } break
    switch (n->type) {
    case NN_OP_CLAMP: /* written so that it vectorizes (max/min); NaN propagates */
        for (size_t i = 0; i < cnt; i++) {
            float v = x[i];
            v = lo > v ? lo : v;
            y[i] = hi < v ? hi : v;
        }
        break;
    case NN_OP_LEAKY_RELU: UN(v < 0 ? al * v : v);
    case NN_OP_SIGMOID: UN(1.0f / (1.0f + expf(-v)));
    case NN_OP_TANH: UN(tanhf(v));
    case NN_OP_EXP: UN(expf(v));
    case NN_OP_LOG: UN(logf(v));
    case NN_OP_SQRT: UN(sqrtf(v));
    case NN_OP_RSQRT: UN(1.0f / sqrtf(v));
    case NN_OP_ABS: UN(fabsf(v));
    case NN_OP_NEG: UN(-v);
    case NN_OP_HARD_SWISH: UN(v * fminf(fmaxf(v + 3.0f, 0.0f), 6.0f) / 6.0f);
    case NN_OP_ELU: UN(v < 0 ? al * (expf(v) - 1.0f) : v);
    case NN_OP_FLOOR: UN(floorf(v));
    case NN_OP_CEIL: UN(ceilf(v));
    case NN_OP_RECIPROCAL: UN(1.0f / v);
    case NN_OP_SOFTPLUS: UN(v > 0 ? v + log1pf(expf(-v)) : log1pf(expf(v)));
    case NN_OP_HARD_SIGMOID: UN(fmaxf(0.0f, fminf(1.0f, al * v + be)));
    case NN_OP_SIN: UN(sinf(v));
    case NN_OP_COS: UN(cosf(v));
    case NN_OP_ERF: UN(erf_f(v));
    case NN_OP_SIGN: UN((float)((v > 0) - (v < 0)));
    case NN_OP_SELU: UN(be * (v > 0 ? v : al * (expf(v) - 1.0f)));
    case NN_OP_SOFTSIGN: UN(v / (1.0f + fabsf(v)));
    default: break;
    }
#undef UN
}

typedef struct { nn_graph *g; nn_node *n; size_t total, per; } unary_job;

static void unary_task(void *ctx, int t, int thread) {
    (void)thread;
    const unary_job *j = ctx;
    size_t i0 = (size_t)t * j->per, i1 = i0 + j->per < j->total ? i0 + j->per : j->total;
    if (i0 < i1) unary_range(j->g, j->n, i0, i1);
}

static void unary_run(nn_graph *g, nn_node *n) {
    size_t cnt = nn_numel(nn_out(g, n, 0));
    struct fs_pool *pool = nn_graph_pool(g);
    if (!pool || cnt < 131072) { unary_range(g, n, 0, cnt); return; }
    int nt = fs_pool_size(pool);
    size_t per = (cnt + (size_t)nt - 1) / (size_t)nt;
    per = (per + 15) & ~(size_t)15; /* 64-byte aligned chunks */
    unary_job j = {g, n, cnt, per};
    fs_pool_run(pool, (int)((cnt + per - 1) / per), unary_task, &j);
}

static fs_status unary_prepare(nn_graph *g, nn_node *n) {
    (void)g;
    n->run = unary_run;
    n->kname = "unary_ref";
    return FS_OK;
}

static const nn_op_def bin_def = {bin_infer, bin_prepare};
static const nn_op_def unary_def = {unary_infer, unary_prepare};

const nn_op_def *nn_ops_eltwise(nn_op_type t) {
    switch (t) {
    case NN_OP_ADD: case NN_OP_SUB: case NN_OP_MUL: case NN_OP_DIV: case NN_OP_MAXIMUM:
    case NN_OP_MINIMUM: case NN_OP_POW: case NN_OP_PRELU:
        return &bin_def;
    case NN_OP_CLAMP: case NN_OP_LEAKY_RELU: case NN_OP_SIGMOID: case NN_OP_TANH: case NN_OP_EXP:
    case NN_OP_LOG: case NN_OP_SQRT: case NN_OP_RSQRT: case NN_OP_ABS: case NN_OP_NEG:
    case NN_OP_HARD_SWISH: case NN_OP_ELU: case NN_OP_FLOOR: case NN_OP_CEIL: case NN_OP_RECIPROCAL:
    case NN_OP_SOFTPLUS: case NN_OP_HARD_SIGMOID: case NN_OP_SIN: case NN_OP_COS: case NN_OP_ERF:
    case NN_OP_SIGN: case NN_OP_SELU: case NN_OP_SOFTSIGN:
        return &unary_def;
    default: return NULL;
    }
}
