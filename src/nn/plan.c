/* nn/plan.c — planning a graph once: shape inference, constant folding (shape subgraphs, all-const
 * nodes), buffer lifetimes with reuse in one activation arena, and kernel selection.
 *
 * Arena layout: greedy first-fit in node order. Inputs are placed first; before node i runs, its
 * outputs get the lowest free gap that fits; after it, every buffer whose last reader is <= i is
 * released. Graph inputs, outputs and kept tensors are never released. Reshape-like ops (Reshape, Squeeze,
 * Unsqueeze, Flatten, Identity) alias their input's buffer instead of copying, and element-wise ops
 * write in place over a same-shape input whose buffer dies with them.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ops/ops.h"

#define ARENA_ALIGN 64

const nn_op_def *nn_op_def_get(nn_op_type t) {
    const nn_op_def *d;
    if ((d = nn_ops_conv(t))) return d;
    if ((d = nn_ops_dense(t))) return d;
    if ((d = nn_ops_eltwise(t))) return d;
    if ((d = nn_ops_softmax(t))) return d;
    if ((d = nn_ops_reduce(t))) return d;
    if ((d = nn_ops_shape(t))) return d;
    if ((d = nn_ops_resize(t))) return d;
    if ((d = nn_ops_norm(t))) return d;
    if ((d = nn_ops_spatial_nd(t))) return d;
    if ((d = nn_ops_resize_crop(t))) return d;
    return NULL;
}

static void free_kernels(nn_graph *g) {
    for (int i = 0; i < g->n_nodes; i++) {
        nn_node *n = &g->nodes[i];
        if (n->kfree && n->kstate) n->kfree(n->kstate);
        n->kstate = NULL;
        n->kfree = NULL;
        n->run = NULL;
        n->kname = NULL;
        n->folded = 0;
    }
}

void nn_graph_unplan(nn_graph *g) {
    if (!g) return;
    free_kernels(g);
    free(g->arena);
    g->arena = NULL;
    g->arena_size = 0;
    nn_block_free_all(&g->plan_blocks);
    for (int i = 0; i < g->n_tensors; i++) {
        nn_tensor *t = &g->tensors[i];
        if (t->folded) {
            t->is_const = 0;
            t->folded = 0;
            t->data = NULL;
        }
        if (!t->is_const) t->data = NULL;
    }
    g->planned = 0;
}

static void save_decl(nn_graph *g) {
    for (int i = 0; i < g->n_tensors; i++) {
        nn_tensor *t = &g->tensors[i];
        if (t->decl_saved) continue;
        t->decl_ndim = t->ndim;
        memcpy(t->decl_dims, t->dims, sizeof t->dims);
        t->decl_saved = 1;
    }
}

fs_status nn_graph_set_input_dims(nn_graph *g, int i, int ndim, const int64_t *dims) {
    if (i < 0 || i >= g->n_inputs) return fs_error(FS_ERR_ARG, "nn: no input %d", i);
    if (ndim < 0 || ndim > NN_MAX_DIMS) return fs_error(FS_ERR_ARG, "nn: %d dims", ndim);
    for (int d = 0; d < ndim; d++)
        if (dims[d] < 0 || dims[d] > (1 << 30))
            return fs_error(FS_ERR_ARG, "nn: input dim %d = %lld out of range", d, (long long)dims[d]);
    save_decl(g);
    nn_graph_unplan(g);
    nn_tensor *t = &g->tensors[g->inputs[i]];
    t->decl_ndim = ndim;
    for (int d = 0; d < ndim; d++) t->decl_dims[d] = dims[d];
    g->shapes_overridden = 1;
    return FS_OK;
}

static void fmt_dims(char *buf, size_t cap, int ndim, const int64_t *dims) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, cap - k, "[");
    for (int d = 0; d < ndim && k < cap; d++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", d ? "," : "", (long long)dims[d]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

static int dims_complete(int ndim, const int64_t *dims) {
    for (int d = 0; d < ndim; d++)
        if (dims[d] < 0) return 0;
    return 1;
}

/* Limits: kernels index with int/size_t mixes, so one tensor holds < 2^31 elements; the whole
 * activation arena is capped at 8 GiB (hostile shapes fail with FS_ERR_LIMIT, not a huge malloc).
 * The arena is not cleared: pages are touched only by the kernels that write them. */
#define NN_MAX_NUMEL ((size_t)INT32_MAX)
#define NN_MAX_ARENA ((size_t)1 << 33)

static fs_status tensor_bytes(nn_tensor *t) {
    size_t n = 1, es = nn_dtype_size(t->dtype);
    for (int d = 0; d < t->ndim; d++) {
        size_t v = (size_t)t->dims[d];
        if (v && n > NN_MAX_NUMEL / v)
            return fs_error(FS_ERR_LIMIT, "nn: tensor '%s' has more than 2^31 elements", t->name);
        n *= v;
    }
    t->nbytes = n * es;
    return FS_OK;
}

/* Folds node n (all inputs constant): outputs become constants of the plan. */
static fs_status fold_node(nn_graph *g, nn_node *n, const nn_op_def *def) {
    for (int o = 0; o < n->n_out; o++) {
        nn_tensor *t = nn_out(g, n, o);
        if (!t) continue;
        fs_status st = tensor_bytes(t);
        if (st) return st;
        t->data = nn_block_alloc(&g->plan_blocks, t->nbytes);
        if (!t->data) return fs_error(FS_ERR_NOMEM, "nn: out of memory folding '%s'", n->name);
    }
    fs_status st = def->prepare(g, n);
    if (st) return st;
    g->status = FS_OK;
    n->run(g, n);
    if (n->kfree && n->kstate) n->kfree(n->kstate);
    n->kstate = NULL;
    n->kfree = NULL;
    if (g->status) return g->status;
    for (int o = 0; o < n->n_out; o++) {
        nn_tensor *t = nn_out(g, n, o);
        if (!t) continue;
        t->is_const = 1;
        t->folded = 1;
    }
    n->folded = 1;
    n->kname = "folded";
    return FS_OK;
}

/* Restores declared dims, checks inputs, producers and order. */
static fs_status reset_tensors(nn_graph *g) {
    for (int i = 0; i < g->n_tensors; i++) {
        nn_tensor *t = &g->tensors[i];
        t->producer = -1;
        t->last_use = -1;
        t->alias_of = -1;
        t->arena_offset = 0;
        if (t->is_const) continue;
        t->ndim = t->decl_ndim;
        memcpy(t->dims, t->decl_dims, sizeof t->dims);
    }
    for (int i = 0; i < g->n_inputs; i++) {
        nn_tensor *t = &g->tensors[g->inputs[i]];
        if (!dims_complete(t->ndim, t->dims)) {
            char d[160];
            fmt_dims(d, sizeof d, t->ndim, t->dims);
            return fs_error(FS_ERR_ARG, "nn: input '%s' has dynamic dims %s: set its shape first",
                            t->name, d);
        }
        if (t->dtype != NN_F32)
            return fs_error(FS_ERR_UNSUPPORTED, "nn: input '%s' is not float32", t->name);
        t->producer = INT_MIN; /* marks "graph input" while checking producers below */
    }
    for (int i = 0; i < g->n_nodes; i++) {
        nn_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            if (n->in[k] < 0) continue;
            nn_tensor *t = &g->tensors[n->in[k]];
            if (!t->is_const && t->producer == -1)
                return fs_error(FS_ERR_FORMAT, "nn: node %d '%s' (%s) reads tensor '%s' before it is computed",
                                i, n->name, nn_op_name(n->type), t->name);
        }
        for (int k = 0; k < n->n_out; k++) {
            nn_tensor *t = &g->tensors[n->out[k]];
            if (t->is_const || t->producer != -1)
                return fs_error(FS_ERR_FORMAT, "nn: node %d '%s' (%s) writes tensor '%s' that is %s",
                                i, n->name, nn_op_name(n->type), t->name,
                                t->is_const ? "a constant" : "already computed");
            t->producer = i;
        }
    }
    for (int i = 0; i < g->n_inputs; i++) g->tensors[g->inputs[i]].producer = -1;
    return FS_OK;
}

static fs_status infer_all(nn_graph *g) {
    for (int i = 0; i < g->n_inputs; i++) {
        fs_status st = tensor_bytes(&g->tensors[g->inputs[i]]);
        if (st) return st;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        nn_node *n = &g->nodes[i];
        const nn_op_def *def = nn_op_def_get(n->type);
        if (!def) return nn_node_error(n, FS_ERR_UNSUPPORTED, "no kernel for this op");
        fs_status st = def->infer(g, n);
        if (st) return st;
        for (int o = 0; o < n->n_out; o++) {
            nn_tensor *t = nn_out(g, n, o);
            if (!t) continue;
            if ((st = tensor_bytes(t))) return st;
            /* TFLite's tensor shapes are authoritative: a disagreement is a corrupt file (or a bug
             * here). Other formats' declared shapes (value_info, _output_shapes) are hints only. */
            if (!g->shapes_overridden && !strcmp(g->format, "tflite") && t->decl_ndim > 0 &&
                dims_complete(t->decl_ndim, t->decl_dims)) {
                int same = t->decl_ndim == t->ndim;
                for (int d = 0; same && d < t->ndim; d++) same = t->decl_dims[d] == t->dims[d];
                if (!same) {
                    char a[160], b[160];
                    fmt_dims(a, sizeof a, t->ndim, t->dims);
                    fmt_dims(b, sizeof b, t->decl_ndim, t->decl_dims);
                    return nn_node_error(n, FS_ERR_FORMAT, "output '%s' has shape %s, the file declares %s",
                                         t->name, a, b);
                }
            }
        }
        int foldable = n->type == NN_OP_SHAPE;
        if (!foldable && n->n_in > 0) {
            foldable = 1;
            for (int k = 0; k < n->n_in; k++)
                if (n->in[k] >= 0 && !g->tensors[n->in[k]].is_const) foldable = 0;
        }
        if (foldable && (st = fold_node(g, n, def))) return st;
    }
    return FS_OK;
}

static int root_of(const nn_graph *g, int t) {
    while (g->tensors[t].alias_of >= 0) t = g->tensors[t].alias_of;
    return t;
}

static int is_alias_op(nn_op_type t) {
    return t == NN_OP_RESHAPE || t == NN_OP_SQUEEZE || t == NN_OP_UNSQUEEZE || t == NN_OP_FLATTEN ||
           t == NN_OP_IDENTITY;
}

/* Element-wise ops whose output may overwrite an input of the same shape (each output element
 * depends on the input element at the same index only, read before it is written). */
static int is_inplace_op(nn_op_type t) {
    switch (t) {
    case NN_OP_ADD: case NN_OP_SUB: case NN_OP_MUL: case NN_OP_DIV: case NN_OP_MAXIMUM: case NN_OP_MINIMUM:
    case NN_OP_POW: case NN_OP_PRELU: case NN_OP_CLAMP: case NN_OP_LEAKY_RELU: case NN_OP_SIGMOID:
    case NN_OP_TANH: case NN_OP_EXP: case NN_OP_LOG: case NN_OP_SQRT: case NN_OP_RSQRT: case NN_OP_ABS:
    case NN_OP_NEG: case NN_OP_HARD_SWISH: case NN_OP_ELU: case NN_OP_FLOOR: case NN_OP_CEIL:
    case NN_OP_RECIPROCAL: case NN_OP_SOFTPLUS: case NN_OP_HARD_SIGMOID: case NN_OP_SIN: case NN_OP_COS:
    case NN_OP_ERF: case NN_OP_SIGN: case NN_OP_SELU: case NN_OP_SOFTSIGN:
        return 1;
    default: return 0;
    }
}

static int same_shape(const nn_tensor *a, const nn_tensor *b) {
    if (a->ndim != b->ndim || a->dtype != b->dtype) return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->dims[d] != b->dims[d]) return 0;
    return 1;
}

/* In-place: node i's output takes the buffer of an input whose buffer dies at node i. */
static void plan_inplace(nn_graph *g) {
    for (int i = 0; i < g->n_nodes; i++) {
        nn_node *n = &g->nodes[i];
        if (n->folded || !is_inplace_op(n->type) || n->n_out != 1) continue;
        nn_tensor *y = &g->tensors[n->out[0]];
        if (y->alias_of >= 0 || y->dtype != NN_F32) continue;
        for (int k = 0; k < n->n_in && k < 2; k++) {
            int t = n->in[k];
            if (t < 0 || g->tensors[t].is_const || !same_shape(&g->tensors[t], y)) continue;
            int r = root_of(g, t);
            if (g->tensors[r].last_use != i || g->tensors[r].keep) continue;
            int other = n->n_in > 1 ? n->in[1 - k] : -1; /* the other operand must not share it */
            if (other >= 0 && !g->tensors[other].is_const && root_of(g, other) == r) continue;
            y->alias_of = t;
            if (y->last_use > g->tensors[r].last_use) g->tensors[r].last_use = y->last_use;
            break;
        }
    }
}

static void lifetimes(nn_graph *g) {
    for (int i = 0; i < g->n_nodes; i++) {
        nn_node *n = &g->nodes[i];
        if (n->folded) continue;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0) g->tensors[n->in[k]].last_use = i;
        if (is_alias_op(n->type) && n->n_in >= 1 && n->in[0] >= 0 && n->n_out == 1 &&
            !g->tensors[n->in[0]].is_const)
            g->tensors[n->out[0]].alias_of = n->in[0];
    }
    for (int i = 0; i < g->n_outputs; i++) g->tensors[g->outputs[i]].last_use = INT_MAX;
    /* inputs stay intact across a run (a caller may run again on the same input) */
    for (int i = 0; i < g->n_inputs; i++) g->tensors[g->inputs[i]].last_use = INT_MAX;
    for (int i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].keep) g->tensors[i].last_use = INT_MAX;
    /* a buffer lives until the last use of any tensor sharing it */
    for (int i = 0; i < g->n_tensors; i++) {
        nn_tensor *t = &g->tensors[i];
        if (t->is_const || t->alias_of < 0) continue;
        nn_tensor *r = &g->tensors[root_of(g, i)];
        if (t->last_use > r->last_use) r->last_use = t->last_use;
    }
    plan_inplace(g);
}

typedef struct { size_t off, size; int t; } live_block;

typedef struct {
    live_block *b;
    int n;
    size_t top;
} arena_state;

static size_t place(arena_state *a, size_t size, int t) {
    size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    size_t off = 0;
    int pos = 0;
    for (; pos < a->n; pos++) { /* blocks sorted by offset */
        if (a->b[pos].off >= off + size) break;
        size_t end = a->b[pos].off + a->b[pos].size;
        if (end > off) off = end;
    }
    memmove(&a->b[pos + 1], &a->b[pos], (size_t)(a->n - pos) * sizeof *a->b);
    a->b[pos] = (live_block){off, size, t};
    a->n++;
    if (off + size > a->top) a->top = off + size;
    return off;
}

static void release_dead(nn_graph *g, arena_state *a, int i) {
    int k = 0;
    for (int j = 0; j < a->n; j++)
        if (g->tensors[a->b[j].t].last_use > i) a->b[k++] = a->b[j];
    a->n = k;
}

static fs_status layout(nn_graph *g) {
    arena_state a = {calloc((size_t)g->n_tensors + 1, sizeof(live_block)), 0, 0};
    char *placed = calloc((size_t)g->n_tensors + 1, 1);
    if (!a.b || !placed) {
        free(a.b);
        free(placed);
        return fs_error(FS_ERR_NOMEM, "nn: out of memory planning");
    }
    for (int i = 0; i < g->n_inputs; i++) {
        int t = g->inputs[i];
        if (placed[t]) continue;
        g->tensors[t].arena_offset = place(&a, g->tensors[t].nbytes, t);
        placed[t] = 1;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        nn_node *n = &g->nodes[i];
        if (n->folded) continue;
        for (int k = 0; k < n->n_out; k++) {
            int t = n->out[k];
            if (t < 0 || g->tensors[t].alias_of >= 0 || placed[t]) continue;
            g->tensors[t].arena_offset = place(&a, g->tensors[t].nbytes, t);
            placed[t] = 1;
        }
        release_dead(g, &a, i);
    }
    size_t total = a.top ? a.top : ARENA_ALIGN;
    free(a.b);
    if (total > NN_MAX_ARENA) {
        free(placed);
        return fs_error(FS_ERR_LIMIT, "nn: activations need %zu bytes (limit 8 GiB)", total);
    }
    g->arena = aligned_alloc(ARENA_ALIGN, total);
    if (!g->arena) {
        free(placed);
        return fs_error(FS_ERR_NOMEM, "nn: cannot allocate a %zu-byte activation arena", total);
    }
    g->arena_size = total;
    for (int i = 0; i < g->n_tensors; i++) {
        nn_tensor *t = &g->tensors[i];
        if (t->is_const) continue;
        int r = root_of(g, i);
        if (placed[r]) {
            t->arena_offset = g->tensors[r].arena_offset;
            t->data = (char *)g->arena + t->arena_offset;
        }
    }
    free(placed);
    return FS_OK;
}

/* unplans, then infers every tensor's dtype and dims from the declared inputs */
static fs_status replan_infer(nn_graph *g) {
    nn_graph_unplan(g);
    save_decl(g);
    fs_status st = reset_tensors(g);
    if (!st) st = infer_all(g);
    return st;
}

fs_status nn_graph_check(nn_graph *g) {
    fs_status st = replan_infer(g);
    nn_graph_unplan(g);
    return st;
}

fs_status nn_graph_plan(nn_graph *g) {
    fs_status st = replan_infer(g);
    if (st) { nn_graph_unplan(g); return st; }
    for (int i = 0; i < g->n_outputs; i++) {
        nn_tensor *t = &g->tensors[g->outputs[i]];
        int is_input = 0;
        for (int k = 0; k < g->n_inputs; k++) is_input |= g->inputs[k] == g->outputs[i];
        if (!t->is_const && t->producer < 0 && !is_input) {
            nn_graph_unplan(g);
            return fs_error(FS_ERR_FORMAT, "nn: graph output '%s' is never computed", t->name);
        }
    }
    lifetimes(g);
    if ((st = layout(g))) { nn_graph_unplan(g); return st; }
    for (int i = 0; i < g->n_nodes; i++) {
        nn_node *n = &g->nodes[i];
        if (n->folded) continue;
        st = nn_op_def_get(n->type)->prepare(g, n);
        if (st) { nn_graph_unplan(g); return st; }
    }
    free(g->prof_ms);
    g->prof_ms = NULL;
    g->prof_runs = 0;
    const char *prof = getenv("FS_NN_PROFILE");
    if (prof && *prof && *prof != '0') g->prof_ms = calloc((size_t)g->n_nodes + 1, sizeof(double));
    g->planned = 1;
    return FS_OK;
}

/* Re-runs the kernel preparation (weight packing) of the planned, non-folded nodes selected by mask
 * (NULL = all) after their constant inputs changed in place; shapes and the arena are unchanged.
 * Conv / FC kernels refill their packed weights in place (no allocation); other nodes are prepared
 * again. */
fs_status nn_graph_repack(nn_graph *g, const unsigned char *mask) {
    if (!g->planned) return fs_error(FS_ERR_ARG, "nn: repack of a graph that is not planned");
    for (int i = 0; i < g->n_nodes; i++) {
        nn_node *n = &g->nodes[i];
        if (n->folded || (mask && !mask[i])) continue;
        if (!nn_conv_node_repack(g, n) || !nn_fc_node_repack(g, n)) continue; /* in place */
        if (n->kfree && n->kstate) n->kfree(n->kstate);
        n->kstate = NULL;
        n->kfree = NULL;
        fs_status st = nn_op_def_get(n->type)->prepare(g, n);
        if (st) { nn_graph_unplan(g); return st; }
    }
    return FS_OK;
}

double nn_node_macs(const nn_graph *g, const nn_node *n) {
    if (n->n_out < 1 || n->out[0] < 0 || n->n_in < 2 || n->in[0] < 0 || n->in[1] < 0) return 0;
    const nn_tensor *x = &g->tensors[n->in[0]], *w = &g->tensors[n->in[1]];
    const nn_tensor *y = &g->tensors[n->out[0]];
    double out = 1;
    for (int d = 0; d < y->ndim; d++) out *= (double)y->dims[d];
    switch (n->type) {
    case NN_OP_CONV2D: /* per output element: KH*KW*Cin/groups */
        if (w->ndim != 4) return 0;
        return out * (double)w->dims[1] * (double)w->dims[2] * (double)w->dims[3];
    case NN_OP_CONV2D_TRANSPOSE: {
        if (w->ndim != 4) return 0;
        double in = 1;
        for (int d = 0; d < x->ndim - 1; d++) in *= (double)x->dims[d];
        return in * (double)w->dims[0] * (double)w->dims[1] * (double)w->dims[2] * (double)w->dims[3];
    }
    case NN_OP_FULLY_CONNECTED:
        return w->ndim == 2 ? out * (double)w->dims[1] : 0;
    case NN_OP_MATMUL:
        return x->ndim >= 1 ? out * (double)x->dims[x->ndim - 1] : 0;
    default: return 0;
    }
}
