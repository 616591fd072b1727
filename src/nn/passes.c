/* nn/passes.c — transpose sinking/merging, activation fusion, dead-node removal (see passes.h). */
#include "nn/passes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* ------------------------------------------------------------------ use counts */

typedef struct {
    int *uses;     /* per tensor: number of node inputs reading it */
    int *is_out;   /* per tensor: graph output */
    int *prod;     /* per tensor: producing node or -1 */
} pass_info;

static int info_build(const nn_graph *g, pass_info *pi) {
    size_t n = (size_t)(g->n_tensors ? g->n_tensors : 1);
    pi->uses = calloc(n, sizeof(int));
    pi->is_out = calloc(n, sizeof(int));
    pi->prod = malloc(n * sizeof(int));
    if (!pi->uses || !pi->is_out || !pi->prod) {
        free(pi->uses); free(pi->is_out); free(pi->prod);
        return -1;
    }
    for (int t = 0; t < g->n_tensors; t++) pi->prod[t] = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *nd = &g->nodes[i];
        for (int k = 0; k < nd->n_in; k++)
            if (nd->in[k] >= 0) pi->uses[nd->in[k]]++;
        for (int k = 0; k < nd->n_out; k++)
            if (nd->out[k] >= 0) pi->prod[nd->out[k]] = i;
    }
    for (int i = 0; i < g->n_outputs; i++) pi->is_out[g->outputs[i]] = 1;
    for (int t = 0; t < g->n_tensors; t++)
        if (g->tensors[t].keep) pi->is_out[t] = 1;
    return 0;
}

static void info_free(pass_info *pi) {
    free(pi->uses);
    free(pi->is_out);
    free(pi->prod);
}

/* a node turned into a no-op: removed by cleanup (n_out 0) */
static void kill_node(nn_node *n) {
    n->n_in = 0;
    n->n_out = 0;
    n->type = NN_OP_IDENTITY;
}

/* producer of t when t is read by exactly one input and is no graph output, else -1 */
static int sole_producer(const pass_info *pi, int t) {
    int p = pi->prod[t];
    return p >= 0 && pi->uses[t] == 1 && !pi->is_out[t] ? p : -1;
}

static int is_dead(const nn_node *n) { return n->n_out == 0; }

static int is_unary_eltwise(const nn_node *n) {
    if (n->n_in != 1 || n->n_out != 1) return 0;
    switch (n->type) {
    case NN_OP_CLAMP: case NN_OP_LEAKY_RELU: case NN_OP_SIGMOID: case NN_OP_TANH: case NN_OP_EXP:
    case NN_OP_LOG: case NN_OP_SQRT: case NN_OP_RSQRT: case NN_OP_ABS: case NN_OP_NEG:
    case NN_OP_HARD_SWISH: case NN_OP_ELU: case NN_OP_IDENTITY: case NN_OP_FLOOR: case NN_OP_CEIL:
    case NN_OP_RECIPROCAL: case NN_OP_SOFTPLUS: case NN_OP_HARD_SIGMOID: case NN_OP_SIN: case NN_OP_COS:
    case NN_OP_ERF: case NN_OP_SIGN: case NN_OP_CAST:
        return 1;
    default:
        return 0;
    }
}

static int is_binary_eltwise(const nn_node *n) {
    if (n->n_in != 2 || n->n_out != 1) return 0;
    switch (n->type) {
    case NN_OP_ADD: case NN_OP_SUB: case NN_OP_MUL: case NN_OP_DIV: case NN_OP_MAXIMUM:
    case NN_OP_MINIMUM: case NN_OP_POW:
        return 1;
    default:
        return 0;
    }
}

/* constant whose dims are all 1 and rank <= r: layout-independent under broadcasting */
static int is_unit_const(const nn_tensor *t, int r) {
    if (!t->is_const || t->ndim > r) return 0;
    for (int i = 0; i < t->ndim; i++)
        if (t->dims[i] != 1) return 0;
    return 1;
}

static int add_tensor_like(nn_graph *g, int src, const char *tag, int ndim, const int64_t *dims) {
    char nm[256];
    snprintf(nm, sizeof nm, "%s#%s", g->tensors[src].name, tag);
    return nn_graph_add_tensor(g, nm, g->tensors[src].dtype, ndim, dims);
}

/* a transpose's permutation over r dims; all zeros (perm not given) means reversed */
static void transpose_perm(const nn_node *t, int r, int *perm) {
    int zero = 1;
    for (int k = 0; k < r; k++) zero &= t->attr.perm[k] == 0;
    for (int k = 0; k < r; k++) perm[k] = zero ? r - 1 - k : t->attr.perm[k];
}

/* ------------------------------------------------------------------ pass driver */

/* one rewrite at node i: 1 rewritten, 0 not, -1 out of memory */
typedef int (*node_rewrite)(nn_graph *g, const pass_info *pi, int i);

/* tries fn at every node; use counts are rebuilt after each rewrite. Returns rewrites or -1 */
static int run_pass(nn_graph *g, node_rewrite fn) {
    pass_info pi;
    if (info_build(g, &pi)) return -1;
    int changes = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        int r = fn(g, &pi, i);
        if (r < 0) { info_free(&pi); return -1; }
        if (!r) continue;
        changes++;
        info_free(&pi);
        if (info_build(g, &pi)) return -1;
    }
    info_free(&pi);
    return changes;
}

/* ------------------------------------------------------------------ transpose sinking */

static int sink_one(nn_graph *g, const pass_info *pi, int i) {
    nn_node *n = &g->nodes[i];
    if (is_dead(n)) return 0;
    int unary = is_unary_eltwise(n), binary = is_binary_eltwise(n);
    if (!unary && !binary) return 0;
    int v0 = n->in[0], t0 = pi->prod[v0];
    int v1 = binary ? n->in[1] : -1, t1 = binary ? pi->prod[v1] : -1;
    /* which input comes from a transpose we can move */
    nn_node *T0 = t0 >= 0 && g->nodes[t0].type == NN_OP_TRANSPOSE ? &g->nodes[t0] : NULL;
    nn_node *T1 = t1 >= 0 && g->nodes[t1].type == NN_OP_TRANSPOSE ? &g->nodes[t1] : NULL;
    nn_node *Tm;
    int tm_idx;
    if (unary) {
        if (!T0 || pi->uses[v0] != 1 || pi->is_out[v0]) return 0;
        Tm = T0;
        tm_idx = t0;
    } else {
        int ok0 = T0 && pi->uses[v0] == 1 && !pi->is_out[v0];
        int ok1 = T1 && pi->uses[v1] == 1 && !pi->is_out[v1];
        int r = g->tensors[n->out[0]].ndim;
        if (ok0 && ok1) {
            int rk = g->tensors[T0->in[0]].ndim;
            if (rk != g->tensors[T1->in[0]].ndim || rk != r ||
                memcmp(T0->attr.perm, T1->attr.perm, sizeof(int) * (size_t)rk))
                return 0;
            Tm = T0;
            tm_idx = t0;
        } else if (ok0 && is_unit_const(&g->tensors[v1], r) && g->tensors[v0].ndim == r) {
            Tm = T0;
            tm_idx = t0;
        } else if (ok1 && is_unit_const(&g->tensors[v0], r) && g->tensors[v1].ndim == r) {
            Tm = T1;
            tm_idx = t1;
        } else {
            return 0;
        }
    }
    /* n: u -> w' (pre-transpose layout); Tm: w' -> w */
    int w = n->out[0];
    nn_tensor *wt = &g->tensors[w];
    int r = wt->ndim;
    int64_t d[NN_MAX_DIMS];
    int perm[NN_MAX_DIMS];
    memcpy(perm, Tm->attr.perm, sizeof perm);
    for (int k = 0; k < r; k++) d[perm[k]] = wt->dims[k]; /* w[k] = w'[perm[k]] */
    int wp = add_tensor_like(g, w, "pre", r, d);
    if (wp < 0) return -1;
    n = &g->nodes[i];
    Tm = &g->nodes[tm_idx];
    if (unary) {
        n->in[0] = Tm->in[0];
    } else {
        if (T0 && Tm == T0 && T1 && pi->uses[v1] == 1 && !pi->is_out[v1] && !is_unit_const(&g->tensors[v1], r)) {
            n->in[0] = T0->in[0];
            n->in[1] = T1->in[0];
            kill_node(T1);
        } else if (Tm == T0) {
            n->in[0] = T0->in[0];
        } else {
            n->in[1] = T1->in[0];
        }
    }
    n->out[0] = wp;
    Tm->in[0] = wp;
    Tm->out[0] = w;
    /* the moved transpose now follows n: re-sorted by cleanup (run_pass rebuilds the use counts) */
    return 1;
}

int nn_pass_sink_transposes(nn_graph *g) { return run_pass(g, sink_one); }

/* ------------------------------------------------------------------ transpose merging */

static int merge_one(nn_graph *g, const pass_info *pi, int i) {
    nn_node *b = &g->nodes[i];
    if (is_dead(b) || b->type != NN_OP_TRANSPOSE || b->n_in != 1) return 0;
    int y = b->in[0], pa = pi->prod[y];
    if (pa < 0 || g->nodes[pa].type != NN_OP_TRANSPOSE) return 0;
    nn_node *a = &g->nodes[pa];
    int x = a->in[0], r = g->tensors[x].ndim;
    if (r != g->tensors[y].ndim || r != g->tensors[b->out[0]].ndim || r < 1) return 0;
    /* z[i] = y[pb[i]] = x[pa[pb[i]]] */
    int c[NN_MAX_DIMS], ident = 1;
    int pa_perm[NN_MAX_DIMS], pb_perm[NN_MAX_DIMS];
    transpose_perm(a, r, pa_perm);
    transpose_perm(b, r, pb_perm);
    for (int k = 0; k < r; k++) {
        c[k] = pa_perm[pb_perm[k]];
        ident &= c[k] == k;
    }
    int z = b->out[0];
    if (ident && !pi->is_out[z]) {
        /* consumers of z read x */
        for (int j = 0; j < g->n_nodes; j++) {
            nn_node *m = &g->nodes[j];
            for (int k = 0; k < m->n_in; k++)
                if (m->in[k] == z) m->in[k] = x;
        }
        kill_node(b);
    } else if (ident) {
        b->type = NN_OP_IDENTITY;
        b->in[0] = x;
        memset(b->attr.perm, 0, sizeof b->attr.perm);
    } else {
        b->in[0] = x;
        memcpy(b->attr.perm, c, sizeof(int) * (size_t)r);
    }
    return 1;
}

int nn_pass_merge_transposes(nn_graph *g) { return run_pass(g, merge_one); }

/* SHAPE(TRANSPOSE(x, p)) -> GATHER(SHAPE(x), p): the transpose is then often dead */
static int shape_of_transpose_one(nn_graph *g, const pass_info *pi, int i) {
    nn_node *n = &g->nodes[i];
    if (is_dead(n) || n->type != NN_OP_SHAPE || n->n_in != 1) return 0;
    int v = n->in[0], p = pi->prod[v];
    if (p < 0 || g->nodes[p].type != NN_OP_TRANSPOSE) return 0;
    int x = g->nodes[p].in[0];
    int64_t r = g->tensors[x].ndim, perm[NN_MAX_DIMS];
    int tp[NN_MAX_DIMS];
    transpose_perm(&g->nodes[p], (int)r, tp);
    for (int k = 0; k < r; k++) perm[k] = tp[k];
    int out = n->out[0];
    int s0 = add_tensor_like(g, out, "pre", 1, &r);
    if (s0 < 0) return -1;
    g->tensors[s0].dtype = NN_I64;
    char nm[256];
    snprintf(nm, sizeof nm, "%s#perm", g->tensors[out].name);
    int pc = nn_graph_add_const(g, nm, NN_I64, 1, &r, perm);
    if (pc < 0) return -1;
    n = &g->nodes[i];
    n->in[0] = x;
    n->out[0] = s0;
    int in[2] = {s0, pc};
    char nname[256];
    snprintf(nname, sizeof nname, "%s", n->name ? n->name : ""); /* add_node may move g->nodes */
    int gi = nn_graph_add_node(g, NN_OP_GATHER, nname, 2, in, 1, &out);
    if (gi < 0) return -1;
    g->nodes[gi].attr.axis = 0;
    return 1;
}

int nn_pass_shape_of_transpose(nn_graph *g) { return run_pass(g, shape_of_transpose_one); }

/* ------------------------------------------------------------------ activation fusion */

static int takes_act(nn_op_type t) {
    switch (t) {
    case NN_OP_CONV2D: case NN_OP_CONV2D_TRANSPOSE: case NN_OP_FULLY_CONNECTED: case NN_OP_MAX_POOL2D:
    case NN_OP_AVG_POOL2D: case NN_OP_ADD: case NN_OP_SUB: case NN_OP_MUL: case NN_OP_DIV:
    case NN_OP_MAXIMUM: case NN_OP_MINIMUM: case NN_OP_CLAMP:
        return 1;
    default:
        return 0;
    }
}

static int fuse_activation_one(nn_graph *g, const pass_info *pi, int i) {
    nn_node *c = &g->nodes[i];
    if (is_dead(c) || c->type != NN_OP_CLAMP || c->n_in != 1) return 0;
    int y = c->in[0], p = sole_producer(pi, y);
    if (p < 0) return 0;
    nn_node *a = &g->nodes[p];
    if (!takes_act(a->type) || a->n_out != 1 || g->tensors[y].dtype != NN_F32) return 0;
    if (a->type == NN_OP_CLAMP && a->n_in != 1) return 0;
    float lo = fmaxf(a->attr.act_min, c->attr.act_min), hi = fminf(a->attr.act_max, c->attr.act_max);
    if (!(lo <= hi)) return 0;
    a->attr.act_min = lo;
    a->attr.act_max = hi;
    a->out[0] = c->out[0];
    kill_node(c);
    return 1;
}

int nn_pass_fuse_activations(nn_graph *g) { return run_pass(g, fuse_activation_one); }

/* ------------------------------------------------------------------ conv folding */

/* per-channel constant along the last axis: numel 1 or C with every other dim 1 */
static int channel_const(const nn_tensor *k, int64_t C, int rank) {
    if (!k->is_const || k->dtype != NN_F32 || !k->data || k->ndim > rank) return 0;
    int64_t n = nn_tensor_numel(k);
    if (n == 1) return 1;
    if (n != C || k->ndim < 1) return 0;
    return k->dims[k->ndim - 1] == C;
}

static int fold_conv_affine_one(nn_graph *g, const pass_info *pi, int i) {
    nn_node *m = &g->nodes[i];
    if (is_dead(m) || (m->type != NN_OP_MUL && m->type != NN_OP_ADD && m->type != NN_OP_SUB) || m->n_in != 2) return 0;
    if (m->attr.act_min != -INFINITY || m->attr.act_max != INFINITY) return 0;
    for (int side = 0; side < 2; side++) {
        if (m->type == NN_OP_SUB && side == 1) break; /* k - y does not fold */
        int y = m->in[side], k = m->in[1 - side], p = sole_producer(pi, y);
        if (p < 0) continue;
        nn_node *c = &g->nodes[p];
        if (c->type != NN_OP_CONV2D && c->type != NN_OP_FULLY_CONNECTED) continue;
        if (c->attr.act_min != -INFINITY || c->attr.act_max != INFINITY) continue;
        int w = c->in[1], b = c->n_in > 2 ? c->in[2] : -1;
        nn_tensor *wt = &g->tensors[w];
        if (!wt->is_const || wt->dtype != NN_F32 || pi->uses[w] != 1 || pi->is_out[w]) continue;
        if (b >= 0 && (!g->tensors[b].is_const || pi->uses[b] != 1 || pi->is_out[b])) continue;
        int64_t O = wt->dims[0];
        nn_tensor *yt = &g->tensors[y], *kt = &g->tensors[k];
        /* the conv/fc output has O channels last (weights dims[0]), whether or not dims are known yet */
        if (O < 1 || !channel_const(kt, O, yt->ndim) || yt->ndim < 1 ||
            (yt->dims[yt->ndim - 1] >= 0 && yt->dims[yt->ndim - 1] != O))
            continue;
        /* the output shape must not grow by broadcasting against k */
        if (kt->ndim > yt->ndim) continue;
        if (b < 0) {
            char nm[256];
            snprintf(nm, sizeof nm, "%s#bias", g->tensors[w].name);
            b = nn_graph_add_const(g, nm, NN_F32, 1, &O, NULL);
            if (b < 0) return -1;
            c = &g->nodes[p];
            m = &g->nodes[i];
            c->in[2] = b;
            c->n_in = 3;
        }
        const float *kd = g->tensors[k].data;
        int64_t kn = nn_tensor_numel(&g->tensors[k]);
        float *wd = g->tensors[w].data, *bd = g->tensors[b].data;
        int64_t per = nn_tensor_numel(&g->tensors[w]) / O;
        for (int64_t o = 0; o < O; o++) {
            float kv = kd[kn == 1 ? 0 : o];
            if (m->type == NN_OP_MUL) {
                for (int64_t j = 0; j < per; j++) wd[o * per + j] *= kv;
                bd[o] *= kv;
            } else if (m->type == NN_OP_ADD) {
                bd[o] += kv;
            } else {
                bd[o] -= kv;
            }
        }
        c->out[0] = m->out[0];
        kill_node(m);
        return 1;
    }
    return 0;
}

int nn_pass_fold_conv_affine(nn_graph *g) { return run_pass(g, fold_conv_affine_one); }

/* PAD (zeros, H/W only) feeding only a CONV2D: becomes the conv's explicit padding */
static int fold_pad_one(nn_graph *g, const pass_info *pi, int i) {
    nn_node *c = &g->nodes[i];
    if (is_dead(c) || c->type != NN_OP_CONV2D || (c->attr.auto_pad != 0 && c->attr.auto_pad != 3)) return 0;
    int y = c->in[0], p = sole_producer(pi, y);
    if (p < 0) return 0;
    nn_node *pd = &g->nodes[p];
    if (pd->type != NN_OP_PAD || pd->n_in != 1 || pd->attr.pad_mode != NN_PAD_CONSTANT || pd->attr.pad_value != 0.0f)
        return 0;
    if (g->tensors[pd->in[0]].ndim != 4) return 0;
    const int64_t *pv = pd->attr.pads; /* begins [0..3], ends [4..7] */
    if (pv[0] || pv[3] || pv[4] || pv[7]) return 0;
    if (pv[1] > 65535 || pv[2] > 65535 || pv[5] > 65535 || pv[6] > 65535) return 0;
    if (c->attr.auto_pad == 3) {
        c->attr.auto_pad = 0;
        c->attr.pad_t = c->attr.pad_l = c->attr.pad_b = c->attr.pad_r = 0;
    }
    c->attr.pad_t += (int)pv[1];
    c->attr.pad_l += (int)pv[2];
    c->attr.pad_b += (int)pv[5];
    c->attr.pad_r += (int)pv[6];
    c->in[0] = pd->in[0];
    kill_node(pd);
    return 1;
}

int nn_pass_fold_pad_into_conv(nn_graph *g) { return run_pass(g, fold_pad_one); }

/* ------------------------------------------------------------------ PReLU pattern */

static int is_clamp_of(const nn_graph *g, const pass_info *pi, int t, float lo, float hi, int *x) {
    int p = sole_producer(pi, t);
    if (p < 0) return 0;
    const nn_node *c = &g->nodes[p];
    if (c->type != NN_OP_CLAMP || c->n_in != 1 || c->attr.act_min != lo || c->attr.act_max != hi) return 0;
    *x = c->in[0];
    return 1;
}

/* max(x, 0) + k * min(x, 0) (TF.js / Keras PReLU written out) -> PRELU(x, k), k a constant */
static int fuse_prelu_one(nn_graph *g, const pass_info *pi, int i) {
    nn_node *a = &g->nodes[i];
    if (is_dead(a) || a->type != NN_OP_ADD || a->n_in != 2 || a->attr.act_min != -INFINITY || a->attr.act_max != INFINITY)
        return 0;
    for (int side = 0; side < 2; side++) {
        int xp, xn, m = sole_producer(pi, a->in[1 - side]);
        if (!is_clamp_of(g, pi, a->in[side], 0.0f, INFINITY, &xp)) continue;
        if (m < 0) continue;
        nn_node *mul = &g->nodes[m];
        if (mul->type != NN_OP_MUL || mul->n_in != 2 || mul->attr.act_min != -INFINITY || mul->attr.act_max != INFINITY)
            continue;
        int k = -1;
        if (is_clamp_of(g, pi, mul->in[0], -INFINITY, 0.0f, &xn)) k = mul->in[1];
        else if (is_clamp_of(g, pi, mul->in[1], -INFINITY, 0.0f, &xn)) k = mul->in[0];
        if (k < 0 || xn != xp || !g->tensors[k].is_const || g->tensors[k].dtype != NN_F32) continue;
        /* the slope must not change the output shape by broadcasting */
        const nn_tensor *xt = &g->tensors[xp], *kt = &g->tensors[k];
        if (kt->ndim > xt->ndim) continue;
        int ok = 1;
        for (int d = 0; d < kt->ndim && ok; d++) {
            int64_t kd = kt->dims[kt->ndim - 1 - d], xd = xt->dims[xt->ndim - 1 - d];
            ok = kd == 1 || kd == xd;
        }
        if (!ok) continue;
        kill_node(&g->nodes[pi->prod[a->in[side]]]);
        kill_node(&g->nodes[pi->prod[mul->in[0] == k ? mul->in[1] : mul->in[0]]]);
        kill_node(mul);
        a->type = NN_OP_PRELU;
        a->in[0] = xp;
        a->in[1] = k;
        return 1;
    }
    return 0;
}

int nn_pass_fuse_prelu(nn_graph *g) { return run_pass(g, fuse_prelu_one); }

/* ------------------------------------------------------------------ cleanup */

static fs_status remove_dead(nn_graph *g) {
    for (;;) {
        pass_info pi;
        if (info_build(g, &pi)) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
        int removed = 0;
        for (int i = 0; i < g->n_nodes; i++) {
            nn_node *n = &g->nodes[i];
            if (is_dead(n)) continue;
            int used = 0;
            for (int k = 0; k < n->n_out; k++)
                if (n->out[k] >= 0 && (pi.uses[n->out[k]] || pi.is_out[n->out[k]])) used = 1;
            if (!used) { kill_node(n); removed++; }
        }
        info_free(&pi);
        if (!removed) return FS_OK;
    }
}

/* topological order, stable with respect to the current order (iterative DFS) */
static fs_status toposort(nn_graph *g) {
    int n = g->n_nodes;
    if (n == 0) return FS_OK;
    pass_info pi;
    if (info_build(g, &pi)) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
    int *state = calloc((size_t)n, sizeof(int)); /* 0 new, 1 on stack, 2 done */
    int *order = malloc((size_t)n * sizeof(int));
    int *stack = malloc((size_t)n * sizeof(int) * 2);
    nn_node *nodes = malloc((size_t)n * sizeof(nn_node));
    fs_status st = FS_OK;
    if (!state || !order || !stack || !nodes) { st = fs_error(FS_ERR_NOMEM, "nn: out of memory"); goto out; }
    int no = 0;
    for (int s = 0; s < n && !st; s++) {
        if (state[s] || is_dead(&g->nodes[s])) continue;
        int sp = 0;
        stack[sp++] = s;
        stack[sp++] = 0;
        state[s] = 1;
        while (sp) {
            int v = stack[sp - 2], k = stack[sp - 1];
            nn_node *nd = &g->nodes[v];
            if (k < nd->n_in) {
                stack[sp - 1] = k + 1;
                int t = nd->in[k], p = t >= 0 ? pi.prod[t] : -1;
                if (p < 0 || state[p] == 2) continue;
                if (state[p] == 1) { st = fs_error(FS_ERR_FORMAT, "nn: graph has a cycle"); break; }
                state[p] = 1;
                stack[sp++] = p;
                stack[sp++] = 0;
            } else {
                state[v] = 2;
                order[no++] = v;
                sp -= 2;
            }
        }
    }
    if (!st) {
        for (int i = 0; i < no; i++) nodes[i] = g->nodes[order[i]];
        for (int i = 0; i < n; i++)
            if (is_dead(&g->nodes[i])) free(g->nodes[i].name);
        memcpy(g->nodes, nodes, (size_t)no * sizeof(nn_node));
        g->n_nodes = no;
    }
out:
    free(state); free(order); free(stack); free(nodes);
    info_free(&pi);
    return st;
}

/* drops tensors no node, input or output refers to (constants included) */
static fs_status compact_tensors(nn_graph *g) {
    int nt = g->n_tensors;
    if (!nt) return FS_OK;
    int *map = malloc((size_t)nt * sizeof(int));
    if (!map) return fs_error(FS_ERR_NOMEM, "nn: out of memory");
    for (int t = 0; t < nt; t++) map[t] = g->tensors[t].keep ? 1 : 0;
    for (int i = 0; i < g->n_nodes; i++) {
        nn_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) if (n->in[k] >= 0) map[n->in[k]] = 1;
        for (int k = 0; k < n->n_out; k++) if (n->out[k] >= 0) map[n->out[k]] = 1;
    }
    for (int i = 0; i < g->n_inputs; i++) map[g->inputs[i]] = 1;
    for (int i = 0; i < g->n_outputs; i++) map[g->outputs[i]] = 1;
    int k = 0;
    for (int t = 0; t < nt; t++) {
        if (!map[t]) { free(g->tensors[t].name); map[t] = -1; continue; }
        if (k != t) g->tensors[k] = g->tensors[t];
        map[t] = k++;
    }
    g->n_tensors = k;
    for (int i = 0; i < g->n_nodes; i++) {
        nn_node *n = &g->nodes[i];
        for (int j = 0; j < n->n_in; j++) if (n->in[j] >= 0) n->in[j] = map[n->in[j]];
        for (int j = 0; j < n->n_out; j++) if (n->out[j] >= 0) n->out[j] = map[n->out[j]];
    }
    for (int i = 0; i < g->n_inputs; i++) g->inputs[i] = map[g->inputs[i]];
    for (int i = 0; i < g->n_outputs; i++) g->outputs[i] = map[g->outputs[i]];
    for (int t = 0; t < g->n_tensors; t++) {
        g->tensors[t].producer = -1;
        if (g->tensors[t].alias_of >= 0 && g->tensors[t].alias_of < nt) g->tensors[t].alias_of = map[g->tensors[t].alias_of];
    }
    for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i].n_out; j++)
            if (g->nodes[i].out[j] >= 0) g->tensors[g->nodes[i].out[j]].producer = i;
    free(map);
    return FS_OK;
}

fs_status nn_pass_cleanup(nn_graph *g) {
    fs_status st = remove_dead(g);
    if (!st) st = toposort(g);
    if (!st) st = compact_tensors(g);
    return st;
}

fs_status nn_pass_optimize(nn_graph *g) {
    for (int iter = 0; iter < 64; iter++) {
        int a = nn_pass_sink_transposes(g);
        int b = a < 0 ? -1 : nn_pass_merge_transposes(g);
        int c = b < 0 ? -1 : nn_pass_shape_of_transpose(g);
        if (a < 0 || b < 0 || c < 0) return fs_error(FS_ERR_NOMEM, "nn: out of memory in graph passes");
        if (!a && !b && !c) break;
    }
    for (int iter = 0; iter < 64; iter++) {
        int a = nn_pass_fold_pad_into_conv(g);
        int b = a < 0 ? -1 : nn_pass_fold_conv_affine(g);
        if (a < 0 || b < 0) return fs_error(FS_ERR_NOMEM, "nn: out of memory in graph passes");
        if (!a && !b) break;
    }
    if (nn_pass_fuse_prelu(g) < 0 || nn_pass_fuse_activations(g) < 0) return fs_error(FS_ERR_NOMEM, "nn: out of memory in graph passes");
    return nn_pass_cleanup(g);
}

int nn_graph_count_op(const nn_graph *g, nn_op_type t) {
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += g->nodes[i].type == t;
    return n;
}
