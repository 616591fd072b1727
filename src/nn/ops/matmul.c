/* nn/ops/matmul.c — dense ops: FullyConnected (nn/kernels via nn_select_fc) and batched MatMul
 * with numpy semantics (reference here).
 *
 * FC: x [..., K], w [N][K] const, bias [N] -> y [..., N] (keepdims) or [numel/K, N].
 * MatMul: a [..., M, K] x b [..., K, N] -> [broadcast(...), M, N]; 1-D operands are promoted
 * (a: [1,K] and the M dim dropped; b: [K,1] and the N dim dropped) as numpy does.
 */
#include <stdlib.h>
#include <string.h>

#include "nn/kernels/kernels.h"
#include "nn/ops/ops.h"

/* ---------------------------------------------------------------- fully connected */

static fs_status fc_infer(nn_graph *g, nn_node *n) {
    fs_status st = nn_check_inputs(g, n, 2, 3);
    if (st) return st;
    nn_tensor *x = nn_in(g, n, 0), *w = nn_in(g, n, 1), *b = nn_in(g, n, 2);
    if (w->ndim != 2 || !w->is_const)
        return nn_node_error(n, FS_ERR_UNSUPPORTED, "weights must be a 2-D constant [Cout][Cin]");
    if (b && (!b->is_const || nn_tensor_numel(b) != w->dims[0]))
        return nn_node_error(n, FS_ERR_FORMAT, "bias must be a constant of %lld values", (long long)w->dims[0]);
    int64_t k = w->dims[1], numel = nn_tensor_numel(x);
    if (x->ndim < 1 || k <= 0 || numel % k)
        return nn_node_error(n, FS_ERR_FORMAT, "input of %lld values is not a multiple of Cin %lld",
                             (long long)numel, (long long)k);
    if (numel / k > 1 << 30 || k > 1 << 30 || w->dims[0] > 1 << 30)
        return nn_node_error(n, FS_ERR_LIMIT, "dims too large");
    int64_t d[NN_MAX_DIMS];
    if (n->attr.keepdims) {
        if (x->dims[x->ndim - 1] != k)
            return nn_node_error(n, FS_ERR_FORMAT, "last input dim %lld != Cin %lld",
                                 (long long)x->dims[x->ndim - 1], (long long)k);
        memcpy(d, x->dims, sizeof d);
        d[x->ndim - 1] = w->dims[0];
        return nn_set_out(g, n, 0, NN_F32, x->ndim, d);
    }
    d[0] = numel / k;
    d[1] = w->dims[0];
    return nn_set_out(g, n, 0, NN_F32, 2, d);
}

typedef struct {
    nn_fc_params p;
    nn_fc_impl impl;
} fc_state;

static void fc_state_free(void *s) {
    fc_state *c = s;
    nn_fc_impl_free(&c->impl);
    free(c);
}

static void fc_run(nn_graph *g, nn_node *n) {
    fc_state *c = n->kstate;
    c->impl.run(&c->impl, &c->p, nn_in(g, n, 0)->data, nn_out(g, n, 0)->data, nn_graph_pool(g));
}

static fs_status fc_prepare(nn_graph *g, nn_node *n) {
    fc_state *c = calloc(1, sizeof *c);
    if (!c) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
    nn_tensor *w = nn_in(g, n, 1), *b = nn_in(g, n, 2);
    c->p.k = (int)w->dims[1];
    c->p.n = (int)w->dims[0];
    c->p.m = (int)(nn_numel(nn_in(g, n, 0)) / (size_t)c->p.k);
    c->p.act_min = n->attr.act_min;
    c->p.act_max = n->attr.act_max;
    if (nn_select_fc(&c->p, w->data, b ? b->data : NULL, &c->impl) != 0) {
        free(c);
        return fs_error(FS_ERR_NOMEM, "nn: out of memory preparing '%s'", n->name);
    }
    n->kstate = c;
    n->kfree = fc_state_free;
    n->kname = c->impl.name;
    n->run = fc_run;
    return FS_OK;
}

int nn_fc_node_repack(nn_graph *g, nn_node *n) {
    fc_state *c = n->kstate;
    if (n->type != NN_OP_FULLY_CONNECTED || n->run != fc_run || !c || !c->impl.repack) return 1;
    nn_tensor *w = nn_in(g, n, 1), *b = nn_in(g, n, 2);
    c->impl.repack(&c->impl, &c->p, w->data, b ? b->data : NULL);
    return 0;
}

/* ---------------------------------------------------------------- matmul */

typedef struct {
    int m, k, n;
    int nb;                        /* broadcast batch dims */
    int64_t bdims[NN_MAX_DIMS];    /* output batch dims */
    int64_t astr[NN_MAX_DIMS], bstr[NN_MAX_DIMS]; /* per batch dim, in matrices (0 = broadcast) */
    size_t batches;
    float lo, hi;
} matmul_state;

static fs_status matmul_shapes(nn_graph *g, nn_node *n, matmul_state *s, int64_t *od, int *ond) {
    nn_tensor *a = nn_in(g, n, 0), *b = nn_in(g, n, 1);
    if (a->ndim < 1 || b->ndim < 1) return nn_node_error(n, FS_ERR_FORMAT, "scalar operand");
    int64_t ad[NN_MAX_DIMS + 1], bd[NN_MAX_DIMS + 1];
    int an = a->ndim, bn = b->ndim;
    memcpy(ad, a->dims, sizeof(int64_t) * (size_t)an);
    memcpy(bd, b->dims, sizeof(int64_t) * (size_t)bn);
    int a1 = an == 1, b1 = bn == 1;
    if (a1) { ad[1] = ad[0]; ad[0] = 1; an = 2; }
    if (b1) { bd[1] = 1; bn = 2; }
    int64_t m = ad[an - 2], k = ad[an - 1], nn = bd[bn - 1];
    if (bd[bn - 2] != k)
        return nn_node_error(n, FS_ERR_FORMAT, "inner dims %lld and %lld differ", (long long)k,
                             (long long)bd[bn - 2]);
    int nb = (an > bn ? an : bn) - 2;
    int64_t astr_m = 1, bstr_m = 1;
    for (int i = nb - 1, ai = an - 3, bi = bn - 3; i >= 0; i--, ai--, bi--) {
        int64_t da = ai >= 0 ? ad[ai] : 1, db = bi >= 0 ? bd[bi] : 1;
        if (da != db && da != 1 && db != 1)
            return nn_node_error(n, FS_ERR_FORMAT, "batch dims %lld and %lld do not broadcast",
                                 (long long)da, (long long)db);
        s->bdims[i] = da > db ? da : db;
        if (da == 0 || db == 0) s->bdims[i] = 0;
        s->astr[i] = da == 1 ? 0 : astr_m;
        s->bstr[i] = db == 1 ? 0 : bstr_m;
        astr_m *= da;
        bstr_m *= db;
    }
    s->nb = nb;
    s->m = (int)m;
    s->k = (int)k;
    s->n = (int)nn;
    s->batches = 1;
    int o = 0;
    for (int i = 0; i < nb; i++) {
        od[o++] = s->bdims[i];
        s->batches *= (size_t)s->bdims[i];
    }
    if (!a1) od[o++] = m;
    if (!b1) od[o++] = nn;
    *ond = o;
    if (o > NN_MAX_DIMS) return nn_node_error(n, FS_ERR_UNSUPPORTED, "rank too large");
    return FS_OK;
}

static fs_status matmul_infer(nn_graph *g, nn_node *n) {
    fs_status st = nn_check_inputs(g, n, 2, 2);
    if (st) return st;
    matmul_state s;
    int64_t od[NN_MAX_DIMS + 2];
    int ond = 0;
    if ((st = matmul_shapes(g, n, &s, od, &ond))) return st;
    return nn_set_out(g, n, 0, NN_F32, ond, od);
}

static void matmul_run(nn_graph *g, nn_node *n) {
    const matmul_state *s = n->kstate;
    const float *A = nn_in(g, n, 0)->data, *B = nn_in(g, n, 1)->data;
    float *Y = nn_out(g, n, 0)->data;
    size_t msz = (size_t)s->m * s->k, bsz = (size_t)s->k * s->n, ysz = (size_t)s->m * s->n;
    int64_t idx[NN_MAX_DIMS] = {0};
    for (size_t bt = 0; bt < s->batches; bt++) {
        size_t ao = 0, bo = 0;
        for (int i = 0; i < s->nb; i++) {
            ao += (size_t)(idx[i] * s->astr[i]);
            bo += (size_t)(idx[i] * s->bstr[i]);
        }
        const float *a = A + ao * msz, *b = B + bo * bsz;
        float *y = Y + bt * ysz;
        for (int i = 0; i < s->m; i++) {
            float *yr = y + (size_t)i * s->n;
            for (int j = 0; j < s->n; j++) yr[j] = 0;
            for (int kk = 0; kk < s->k; kk++) {
                float av = a[(size_t)i * s->k + kk];
                const float *br = b + (size_t)kk * s->n;
                for (int j = 0; j < s->n; j++) yr[j] += av * br[j];
            }
            for (int j = 0; j < s->n; j++) {
                float v = yr[j];
                v = v < s->lo ? s->lo : v;
                yr[j] = v > s->hi ? s->hi : v;
            }
        }
        nn_index_next(idx, s->bdims, s->nb); /* odometer over batch dims */
    }
}

static fs_status matmul_prepare(nn_graph *g, nn_node *n) {
    matmul_state *s = nn_kstate(n, sizeof *s);
    if (!s) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
    int64_t od[NN_MAX_DIMS + 2];
    int ond = 0;
    fs_status st = matmul_shapes(g, n, s, od, &ond);
    if (st) return st;
    s->lo = n->attr.act_min;
    s->hi = n->attr.act_max;
    n->run = matmul_run;
    n->kname = "matmul_ref";
    return FS_OK;
}

static const nn_op_def fc_def = {fc_infer, fc_prepare};
static const nn_op_def matmul_def = {matmul_infer, matmul_prepare};

const nn_op_def *nn_ops_dense(nn_op_type t) {
    switch (t) {
    case NN_OP_FULLY_CONNECTED: return &fc_def;
    case NN_OP_MATMUL: return &matmul_def;
    default: return NULL;
    }
}
