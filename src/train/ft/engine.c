/* train/ft/engine.c — opening an engine on a model: the feature's subgraph, blocks, trainable and
 * active nodes, keep flags, one plan, the parameter / gradient / moment blocks; the step driver;
 * closing (trained weights back into the model). See ft.h for the contract. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/threadpool.h"
#include "nn/model.h"
#include "nn/ops/ops.h"
#include "train/ft/ft_internal.h"

void ft_config_default(ft_config *c) {
    memset(c, 0, sizeof *c);
    c->batch = 32;
    c->threads = 1;
    c->feature = NULL;
    c->train_from = 0;
    c->dropout = 0.2f;
    c->reg_loss = FT_LOSS_MSE;
    c->cls_loss = FT_LOSS_LDL;
    c->w_reg = 1.0f;
    c->w_cls = 0.5f;
    c->w_gender = 0.2f;
    c->ldl_sigma = 0.5f;
    c->optim = FT_OPT_ADAMW;
    c->lr = 3e-4f;
    c->momentum = 0.9f;
    c->beta1 = 0.9f;
    c->beta2 = 0.999f;
    c->eps = 1e-8f;
    c->weight_decay = 1e-4f;
    c->clip_norm = 5.0f;
    c->warmup_steps = 100;
    c->total_steps = 1000;
    c->lr_min_frac = 0.01f;
    c->block_lr_decay = 0.9f;
    c->head_lr_mult = 10.0f;
    c->seed = 1;
}

/* 64-byte aligned, zeroed; n floats (at least one cache line). */
static float *falloc(size_t n) {
    size_t bytes = ((n ? n : 1) * sizeof(float) + 63) & ~(size_t)63;
    float *p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

static int is_unbounded(float lo, float hi) { return isinf(lo) && lo < 0 && isinf(hi) && hi > 0; }

static int lookup(const nn_graph *g, const char *name) {
    if (!name) return -1;
    if (name[0] == '#' && name[1]) {
        char *end;
        long v = strtol(name + 1, &end, 10);
        if (!*end && v >= 0 && v < g->n_tensors) return (int)v;
    }
    return nn_graph_find_tensor(g, name);
}

static int is_conv_fc(const nn_node *n) { return n->type == NN_OP_CONV2D || n->type == NN_OP_FULLY_CONNECTED; }

static int is_depthwise(const nn_graph *g, const nn_node *n) {
    if (n->type != NN_OP_CONV2D || n->n_in < 2 || n->in[1] < 0) return 0;
    const nn_tensor *w = &g->tensors[n->in[1]];
    return n->attr.groups > 1 && w->ndim == 4 && w->dims[3] == 1;
}

static int is_copy_op(nn_op_type t) {
    return t == NN_OP_RESHAPE || t == NN_OP_SQUEEZE || t == NN_OP_UNSQUEEZE || t == NN_OP_FLATTEN ||
           t == NN_OP_IDENTITY;
}

/* ------------------------------------------------------------ structure (before planning) */

typedef struct {
    int *prod;               /* [n_tensors] producer node, -1 */
    int *ncons;              /* [n_tensors] consumers in the whole graph */
    unsigned char *insub;    /* [n_nodes] ancestor of the feature */
    unsigned char *active;   /* [n_nodes] backward runs */
    unsigned char *train;    /* [n_nodes] trainable conv/FC */
} ft_struct;

static void struct_free(ft_struct *s) {
    free(s->prod); free(s->ncons); free(s->insub); free(s->active); free(s->train);
}

static fs_status find_subgraph(ft_engine *e, ft_struct *s) {
    nn_graph *g = e->g;
    s->prod = malloc(sizeof(int) * (size_t)(g->n_tensors + 1));
    s->ncons = calloc((size_t)g->n_tensors + 1, sizeof(int));
    s->insub = calloc((size_t)g->n_nodes + 1, 1);
    s->active = calloc((size_t)g->n_nodes + 1, 1);
    s->train = calloc((size_t)g->n_nodes + 1, 1);
    int *stack = malloc(sizeof(int) * (size_t)(g->n_tensors + 1));
    if (!s->prod || !s->ncons || !s->insub || !s->active || !s->train || !stack) {
        free(stack);
        return fs_error(FS_ERR_NOMEM, "ft: out of memory");
    }
    for (int t = 0; t < g->n_tensors; t++) s->prod[t] = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0) s->prod[n->out[k]] = i;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0) s->ncons[n->in[k]]++;
    }
    int sp = 0;
    stack[sp++] = e->feat;
    while (sp) {
        int t = stack[--sp], p = s->prod[t];
        if (p < 0 || s->insub[p]) continue;
        s->insub[p] = 1;
        const nn_node *n = &g->nodes[p];
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0 && !g->tensors[n->in[k]].is_const && sp < g->n_tensors) stack[sp++] = n->in[k];
    }
    free(stack);
    if (s->prod[e->feat] < 0) return fs_error(FS_ERR_ARG, "ft: feature '%s' is not computed by the graph", g->tensors[e->feat].name);
    return FS_OK;
}

/* A 1x1 dense conv whose input does not come from a depthwise conv (through pad/clamp/copy): an
 * inverted residual's expansion (MobileNetV2), not the pointwise half of a dw/pw pair (MobileNet v1). */
static int is_expansion(const nn_graph *g, const ft_struct *s, const nn_node *n) {
    const nn_tensor *w = &g->tensors[n->in[1]];
    if (w->ndim != 4 || w->dims[1] != 1 || w->dims[2] != 1) return 0;
    int t = n->in[0];
    for (int hops = 0; hops < 64; hops++) {
        int p = s->prod[t];
        if (p < 0) return 1;
        const nn_node *pn = &g->nodes[p];
        if (is_depthwise(g, pn)) return 0;
        if (pn->type != NN_OP_PAD && pn->type != NN_OP_CLAMP && !is_copy_op(pn->type)) return 1;
        t = pn->in[0];
    }
    return 1;
}

/* Blocks (see ft.h): node_block[i] for conv/FC nodes of the subgraph. */
static void assign_blocks(ft_engine *e, const ft_struct *s) {
    nn_graph *g = e->g;
    int n_dw = 0, n_cf = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        e->node_block[i] = -1;
        if (!s->insub[i] || !is_conv_fc(&g->nodes[i])) continue;
        n_cf++;
        n_dw += is_depthwise(g, &g->nodes[i]);
    }
    int b = n_dw ? 0 : -1;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!s->insub[i] || !is_conv_fc(&g->nodes[i])) continue;
        if (!n_dw || is_depthwise(g, &g->nodes[i])) b++;
        e->node_block[i] = b;
    }
    e->n_blocks = n_dw ? n_dw + 1 : (n_cf ? n_cf : 1);
    if (!n_dw) return;
    /* an expansion conv whose output only feeds a depthwise conv (through pad/clamp/copy) joins it */
    for (int i = 0; i < g->n_nodes; i++) {
        if (!s->insub[i] || !is_depthwise(g, &g->nodes[i])) continue;
        int t = g->nodes[i].in[0];
        for (;;) {
            int p = s->prod[t];
            if (p < 0 || s->ncons[t] != 1) break;
            const nn_node *pn = &g->nodes[p];
            if (pn->type == NN_OP_CONV2D && !is_depthwise(g, pn)) {
                if (is_expansion(g, s, pn)) e->node_block[p] = e->node_block[i];
                break;
            }
            if (pn->type != NN_OP_PAD && pn->type != NN_OP_CLAMP && !is_copy_op(pn->type)) break;
            t = pn->in[0];
        }
    }
}

/* Trainable and active nodes; refuses ops without a backward in the active part. */
static fs_status mark_active(ft_engine *e, ft_struct *s) {
    nn_graph *g = e->g;
    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *n = &g->nodes[i];
        if (!s->insub[i]) continue;
        s->train[i] = is_conv_fc(n) && e->node_block[i] >= e->cfg.train_from;
        int act = s->train[i];
        for (int k = 0; k < n->n_in && !act; k++) {
            int t = n->in[k];
            if (t >= 0 && !g->tensors[t].is_const && s->prod[t] >= 0 && s->active[s->prod[t]]) act = 1;
        }
        s->active[i] = (unsigned char)act;
        if (!act) continue;
        switch (n->type) {
        case NN_OP_CONV2D: case NN_OP_FULLY_CONNECTED: case NN_OP_ADD: case NN_OP_REDUCE_MEAN:
        case NN_OP_AVG_POOL2D: case NN_OP_CLAMP: case NN_OP_PAD:
            break;
        default:
            if (is_copy_op(n->type)) break;
            return fs_error(FS_ERR_UNSUPPORTED, "ft: node %d '%s' (%s) has no backward pass (supported: "
                            "Conv2D, FullyConnected, Add, ReduceMean/global AvgPool2D, Clamp, Pad, Reshape-like)",
                            i, n->name ? n->name : "", nn_op_name(n->type));
        }
        if (n->n_out != 1) return fs_error(FS_ERR_UNSUPPORTED, "ft: node '%s' (%s) has %d outputs", n->name, nn_op_name(n->type), n->n_out);
        if (is_conv_fc(n)) {
            for (int k = 1; k < 3 && k < n->n_in; k++) {
                const nn_tensor *w = n->in[k] >= 0 ? &g->tensors[n->in[k]] : NULL;
                if (w && (!w->is_const || w->dtype != NN_F32))
                    return fs_error(FS_ERR_UNSUPPORTED, "ft: node '%s' (%s): %s '%s' is not a float constant of the file "
                                    "(computed at plan time?): not trainable", n->name, nn_op_name(n->type),
                                    k == 1 ? "weights" : "bias", w->name);
            }
        }
    }
    return FS_OK;
}

/* keep what the backward reads: inputs of conv/FC with a weight gradient, clamped outputs */
static void set_keeps(ft_engine *e, const ft_struct *s) {
    nn_graph *g = e->g;
    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *n = &g->nodes[i];
        if (!s->active[i]) continue;
        int want_x = s->train[i], want_y = 0;
        if (n->type == NN_OP_CLAMP) want_y = 1;
        else if (n->type == NN_OP_CONV2D || n->type == NN_OP_FULLY_CONNECTED || n->type == NN_OP_ADD ||
                 n->type == NN_OP_AVG_POOL2D)
            want_y = !is_unbounded(n->attr.act_min, n->attr.act_max);
        int ts[2] = {want_x ? n->in[0] : -1, want_y ? n->out[0] : -1};
        for (int k = 0; k < 2; k++)
            if (ts[k] >= 0 && !g->tensors[ts[k]].keep) {
                g->tensors[ts[k]].keep = 1;
                e->keep_set[ts[k]] = 1;
            }
    }
    if (!g->tensors[e->feat].keep) {
        g->tensors[e->feat].keep = 1;
        e->keep_set[e->feat] = 1;
    }
}

/* ------------------------------------------------------------ parameters (after planning) */

static fs_status build_params(ft_engine *e, const ft_struct *s) {
    nn_graph *g = e->g;
    int cap = 2;
    for (int i = 0; i < g->n_nodes; i++) cap += s->train[i] ? 2 : 0;
    e->info = calloc((size_t)cap, sizeof *e->info);
    e->orig_data = calloc((size_t)cap, sizeof *e->orig_data);
    int *seen = calloc((size_t)g->n_tensors + 1, sizeof(int));
    if (!e->info || !e->orig_data || !seen) { free(seen); return fs_error(FS_ERR_NOMEM, "ft: out of memory"); }
    size_t off = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!s->train[i]) continue;
        const nn_node *n = &g->nodes[i];
        for (int k = 1; k < 3 && k < n->n_in; k++) {
            int t = n->in[k];
            if (t < 0 || seen[t]) continue;
            seen[t] = 1;
            ft_param_info *pi = &e->info[e->n_info++];
            const nn_tensor *tt = &g->tensors[t];
            pi->name = tt->name;
            pi->offset = off;
            pi->count = (size_t)nn_tensor_numel(tt);
            pi->tensor = t;
            pi->block = e->node_block[i];
            int big = 0;
            for (int d = 0; d < tt->ndim; d++) big += tt->dims[d] > 1;
            pi->decay = k == 1 && big > 1;
            pi->lr_mult = powf(e->cfg.block_lr_decay, (float)(e->n_blocks - 1 - pi->block));
            off += (pi->count + 15) & ~(size_t)15;
        }
    }
    free(seen);
    ft_param_info *hw = &e->info[e->n_info++], *hb = &e->info[e->n_info++];
    *hw = (ft_param_info){"head.w", off, (size_t)FT_HEAD_ROWS * e->D, -1, -1, 1, e->cfg.head_lr_mult};
    off += (hw->count + 15) & ~(size_t)15;
    *hb = (ft_param_info){"head.b", off, FT_HEAD_ROWS, -1, -1, 0, e->cfg.head_lr_mult};
    off += 16;
    e->n_params = off;
    e->params = falloc(off);
    e->grads = falloc(off);
    e->m = falloc(e->cfg.optim == FT_OPT_ADAMW ? 2 * off : off); /* one block: m, then v (AdamW) */
    e->v = e->cfg.optim == FT_OPT_ADAMW && e->m ? e->m + off : NULL;
    if (!e->params || !e->grads || !e->m)
        return fs_error(FS_ERR_NOMEM, "ft: out of memory for %zu parameters", off);
    /* copy each tensor into the block and re-point the graph at it */
    for (int k = 0; k < e->n_info; k++) {
        ft_param_info *pi = &e->info[k];
        if (pi->tensor < 0) continue;
        nn_tensor *t = &g->tensors[pi->tensor];
        memcpy(e->params + pi->offset, t->data, pi->count * sizeof(float));
        e->orig_data[k] = t->data;
        t->data = e->params + pi->offset;
    }
    e->hw = e->params + hw->offset;
    e->hb = e->params + hb->offset;
    e->ghw = e->grads + hw->offset;
    e->ghb = e->grads + hb->offset;
    /* repack: every node reading a parameter tensor */
    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++)
            for (int j = 0; j < e->n_info && n->in[k] >= 0; j++)
                if (e->info[j].tensor == n->in[k]) e->repack_mask[i] = 1;
    }
    return FS_OK;
}

static float *grad_ptr(ft_engine *e, int t) {
    for (int j = 0; j < e->n_info; j++)
        if (e->info[j].tensor == t && t >= 0) return e->grads + e->info[j].offset;
    return NULL;
}

/* Gradient of t is computed: an activation produced by an active node. */
static int needs_grad(const nn_graph *g, const ft_struct *s, int t) {
    return t >= 0 && !g->tensors[t].is_const && s->prod[t] >= 0 && s->active[s->prod[t]];
}

/* CONV2D / FULLY_CONNECTED: shapes, weights, gradient slots (trainable nodes only). */
static void fill_conv_fc(ft_engine *e, const ft_struct *s, const nn_node *n, ft_bnode *b) {
    const nn_graph *g = e->g;
    const nn_tensor *x = &g->tensors[b->x], *y = &g->tensors[b->y], *w = &g->tensors[n->in[1]];
    b->w = w->data;
    if (s->train[b->node]) {
        b->dw = grad_ptr(e, n->in[1]);
        b->db = n->n_in > 2 ? grad_ptr(e, n->in[2]) : NULL;
    }
    if (n->type == NN_OP_FULLY_CONNECTED) {
        b->kind = FTB_FC;
        b->cin = (int)w->dims[1];
        b->cout = (int)w->dims[0];
        b->rows = (int)(nn_numel(x) / (size_t)b->cin);
        return;
    }
    b->kind = FTB_CONV;
    b->cs = (gr_conv_shape){(int)x->dims[0], (int)x->dims[1], (int)x->dims[2], (int)x->dims[3],
                            (int)y->dims[1], (int)y->dims[2], (int)y->dims[3], (int)w->dims[1], (int)w->dims[2],
                            n->attr.stride_h, n->attr.stride_w, n->attr.dil_h, n->attr.dil_w,
                            n->attr.pad_t, n->attr.pad_l, n->attr.groups};
}

/* ADD: y = x + x2 (same shape) or x + constant; NULL or the reason it has no backward here. */
static const char *fill_add(const ft_engine *e, const ft_struct *s, const nn_node *n, ft_bnode *b) {
    const nn_graph *g = e->g;
    int a0 = n->in[0], a1 = n->in[1];
    int c0 = g->tensors[a0].is_const, c1 = a1 < 0 || g->tensors[a1].is_const;
    if (c0 && !c1) b->x = a1, a1 = a0, c1 = 1; /* the activation first */
    b->kind = FTB_ADD;
    b->x2 = c1 ? -1 : a1;
    b->dx = needs_grad(g, s, b->x);
    b->dx2 = needs_grad(g, s, b->x2);
    if (nn_numel(&g->tensors[b->x]) != b->numel || (b->x2 >= 0 && nn_numel(&g->tensors[b->x2]) != b->numel))
        return "broadcasting between activations";
    return NULL;
}

/* REDUCE_MEAN over axes {1,2} / AVG_POOL2D covering the whole map of an NHWC x. */
static const char *fill_mean(const ft_engine *e, const nn_node *n, ft_bnode *b) {
    nn_graph *g = e->g;
    const nn_tensor *x = &g->tensors[b->x], *y = &g->tensors[b->y];
    b->kind = FTB_MEAN;
    if (x->ndim != 4) return "a mean of a map that is not NHWC";
    b->n = (int)x->dims[0], b->h = (int)(x->dims[1] * x->dims[2]), b->c = (int)x->dims[3];
    if (n->type == NN_OP_AVG_POOL2D) {
        if (n->attr.kh != x->dims[1] || n->attr.kw != x->dims[2] || y->dims[1] != 1 || y->dims[2] != 1 ||
            n->attr.pad_t || n->attr.pad_l || n->attr.pad_b || n->attr.pad_r)
            return "an average pool that is not global";
        return NULL;
    }
    int64_t ax[NN_MAX_DIMS];
    int na = n->attr.n_axes;
    for (int k = 0; k < na; k++) ax[k] = n->attr.axes[k];
    if (!na && n->n_in > 1) na = nn_const_ints(nn_in(g, n, 1), ax, NN_MAX_DIMS);
    if (na != 2) return "a mean over other axes than H,W of an NHWC map";
    for (int k = 0; k < 2; k++) ax[k] = ax[k] < 0 ? ax[k] + 4 : ax[k];
    if (!((ax[0] == 1 && ax[1] == 2) || (ax[0] == 2 && ax[1] == 1))) return "a mean over other axes than H,W of an NHWC map";
    b->clamp = 0;
    return NULL;
}

/* PAD with constants around H and W of an NHWC map: backward = crop. */
static const char *fill_pad(const ft_engine *e, const nn_node *n, ft_bnode *b) {
    nn_graph *g = e->g;
    const nn_tensor *x = &g->tensors[b->x], *y = &g->tensors[b->y];
    int64_t pads[2 * NN_MAX_DIMS];
    int np = 8;
    if (n->n_in > 1 && n->in[1] >= 0) np = nn_const_ints(nn_in(g, n, 1), pads, 2 * NN_MAX_DIMS);
    else memcpy(pads, n->attr.pads, sizeof(int64_t) * 8);
    b->kind = FTB_PAD;
    b->clamp = 0;
    if (x->ndim != 4 || np != 8 || n->attr.pad_mode != NN_PAD_CONSTANT || pads[0] || pads[4] || pads[3] || pads[7])
        return "a pad other than constant padding of H and W of an NHWC map";
    b->n = (int)x->dims[0], b->h = (int)x->dims[1], b->w_ = (int)x->dims[2], b->c = (int)x->dims[3];
    b->pad_t = (int)pads[1], b->pad_l = (int)pads[2];
    b->oh = (int)y->dims[1], b->ow = (int)y->dims[2];
    return NULL;
}

/* One ft_bnode per active node, with its planned shapes. */
static fs_status build_bnodes(ft_engine *e, const ft_struct *s) {
    nn_graph *g = e->g;
    int na = 0;
    for (int i = 0; i < g->n_nodes; i++) na += s->active[i];
    e->bn = calloc((size_t)na + 1, sizeof *e->bn);
    if (!e->bn) return fs_error(FS_ERR_NOMEM, "ft: out of memory");
    for (int i = 0; i < g->n_nodes; i++) {
        if (!s->active[i]) continue;
        const nn_node *n = &g->nodes[i];
        ft_bnode *b = &e->bn[e->n_bn++];
        b->node = i;
        b->x = n->in[0];
        b->y = n->out[0];
        b->x2 = -1;
        b->numel = nn_numel(&g->tensors[b->y]);
        b->dx = needs_grad(g, s, b->x);
        b->lo = n->attr.act_min;
        b->hi = n->attr.act_max;
        b->clamp = !is_unbounded(b->lo, b->hi); /* fused activation or a CLAMP node */
        const char *why = NULL;
        switch (n->type) {
        case NN_OP_CONV2D: case NN_OP_FULLY_CONNECTED: fill_conv_fc(e, s, n, b); break;
        case NN_OP_ADD: why = fill_add(e, s, n, b); break;
        case NN_OP_REDUCE_MEAN: case NN_OP_AVG_POOL2D: why = fill_mean(e, n, b); break;
        case NN_OP_PAD: why = fill_pad(e, n, b); break;
        case NN_OP_CLAMP: b->kind = FTB_CLAMP; break;
        default: /* reshape-like */
            b->kind = FTB_COPY;
            b->clamp = 0;
            if (nn_numel(&g->tensors[b->x]) != b->numel) why = "element count changes";
            break;
        }
        if (why)
            return fs_error(FS_ERR_UNSUPPORTED, "ft: node %d '%s' (%s): no backward for %s", i, n->name ? n->name : "",
                            nn_op_name(n->type), why);
    }
    return FS_OK;
}

/* ------------------------------------------------------------ open / close */

static fs_status open_graph(ft_engine *e, const ft_config *c) {
    nn_graph *g = e->g;
    if (g->n_inputs < 1) return fs_error(FS_ERR_ARG, "ft: the model has no input");
    const nn_tensor *in = &g->tensors[g->inputs[0]];
    int nd = in->decl_saved ? in->decl_ndim : in->ndim;
    const int64_t *dims = in->decl_saved ? in->decl_dims : in->dims;
    if (nd != 4 || dims[3] != 3 || dims[1] < 1 || dims[1] != dims[2] || dims[1] > 4096)
        return fs_error(FS_ERR_ARG, "ft: input '%s' is not [N][S][S][3] (NHWC image)", in->name);
    e->S = (int)dims[1];
    e->in_t = g->inputs[0];
    e->feat = lookup(g, c->feature);
    if (e->feat < 0) return fs_error(FS_ERR_ARG, "ft: no tensor '%s' in the model", c->feature ? c->feature : "(null)");
    if (g->tensors[e->feat].is_const) return fs_error(FS_ERR_ARG, "ft: feature '%s' is a constant", c->feature);
    int64_t d[4] = {c->batch, e->S, e->S, 3};
    fs_status st = nn_graph_set_input_dims(g, 0, 4, d);
    if (!st) st = nn_graph_set_threads(g, c->threads);
    return st;
}

static fs_status check_config(const ft_config *c) {
    if (c->batch < 1 || c->batch > 4096) return fs_error(FS_ERR_ARG, "ft: batch %d (1..4096)", c->batch);
    if (c->threads < 1 || c->threads > 256) return fs_error(FS_ERR_ARG, "ft: threads %d (1..256)", c->threads);
    if (!(c->dropout >= 0 && c->dropout < 1)) return fs_error(FS_ERR_ARG, "ft: dropout %g (0 <= p < 1)", c->dropout);
    if (c->reg_loss != FT_LOSS_MSE && c->reg_loss != FT_LOSS_L1) return fs_error(FS_ERR_ARG, "ft: reg_loss must be MSE or L1");
    if (c->cls_loss != FT_LOSS_CE && c->cls_loss != FT_LOSS_LDL) return fs_error(FS_ERR_ARG, "ft: cls_loss must be CE or LDL");
    if (!(c->w_reg >= 0 && c->w_cls >= 0 && c->w_gender >= 0) || c->w_reg + c->w_cls + c->w_gender <= 0)
        return fs_error(FS_ERR_ARG, "ft: loss weights must be >= 0, not all 0");
    if (c->cls_loss == FT_LOSS_LDL && !(c->ldl_sigma > 0)) return fs_error(FS_ERR_ARG, "ft: ldl_sigma must be > 0");
    if (c->optim != FT_OPT_SGD && c->optim != FT_OPT_ADAMW) return fs_error(FS_ERR_ARG, "ft: unknown optimiser");
    if (!(c->lr >= 0) || !(c->weight_decay >= 0) || !(c->clip_norm >= 0) || c->warmup_steps < 0 || c->total_steps < 1 ||
        !(c->block_lr_decay > 0) || !(c->head_lr_mult >= 0) || !(c->lr_min_frac >= 0))
        return fs_error(FS_ERR_ARG, "ft: bad optimiser settings");
    if (c->train_from < 0) return fs_error(FS_ERR_ARG, "ft: train_from %d < 0", c->train_from);
    return FS_OK;
}

static void restore_model(ft_engine *e) {
    nn_graph *g = e->g;
    for (int k = 0; k < e->n_info && e->orig_data; k++) {
        ft_param_info *pi = &e->info[k];
        if (pi->tensor < 0 || !e->orig_data[k]) continue;
        memcpy(e->orig_data[k], e->params + pi->offset, pi->count * sizeof(float));
        g->tensors[pi->tensor].data = e->orig_data[k];
    }
    for (int t = 0; t < g->n_tensors && e->keep_set; t++)
        if (e->keep_set[t]) g->tensors[t].keep = 0;
    nn_graph_unplan(g); /* the next run replans with the model's own keep flags and the new weights */
}

void ft_close(ft_engine *e) {
    if (!e) return;
    if (e->g) restore_model(e);
    free(e->node_block); free(e->params); free(e->grads); free(e->m);
    free(e->info); free(e->orig_data); free(e->repack_mask); free(e->keep_set); free(e->segs);
    free(e->seg_sq); free(e->bn); free(e->goff); free(e->ginit); free(e->garena); free(e->gscratch);
    free(e->cscratch); free(e->mean); free(e->inv_std); free(e->z); free(e->zd); free(e->dzd); free(e->mask);
    free(e->out); free(e->dout); free(e->col); free(e->gcol); free(e->q); free(e->t); free(e->cls_z);
    free(e->cls_g); free(e->cls); free(e->prof_ms);
    free(e);
}

static fs_status alloc_heads(ft_engine *e) {
    size_t bd = (size_t)e->B * e->D;
    e->mean = falloc((size_t)e->D);
    e->inv_std = falloc((size_t)e->D);
    e->z = falloc(bd);
    e->zd = falloc(bd);
    e->dzd = falloc(bd);
    e->mask = calloc(bd + 1, 1);
    e->out = falloc((size_t)e->B * FT_HEAD_ROWS);
    e->dout = falloc((size_t)e->B * FT_HEAD_ROWS);
    e->col = falloc((size_t)e->B);
    e->gcol = falloc((size_t)e->B);
    e->q = falloc((size_t)e->B * FT_CLASSES);
    e->t = falloc((size_t)e->B);
    e->cls_z = falloc((size_t)e->B * FT_CLASSES);
    e->cls_g = falloc((size_t)e->B * FT_CLASSES);
    e->cls = calloc((size_t)e->B + 1, sizeof(int));
    if (!e->mean || !e->inv_std || !e->z || !e->zd || !e->dzd || !e->mask || !e->out || !e->dout || !e->col ||
        !e->gcol || !e->q || !e->t || !e->cls_z || !e->cls_g || !e->cls)
        return fs_error(FS_ERR_NOMEM, "ft: out of memory");
    for (int i = 0; i < e->D; i++) e->inv_std[i] = 1.0f;
    return FS_OK;
}

static fs_status open_steps(ft_engine *e) {
    nn_graph *g = e->g;
    ft_struct s = {0};
    fs_status st = find_subgraph(e, &s);
    if (!st) {
        assign_blocks(e, &s);
        st = mark_active(e, &s);
    }
    if (!st) {
        set_keeps(e, &s);
        st = nn_graph_plan(g);
    }
    if (!st) {
        e->pool = nn_graph_pool(g);
        size_t fn = nn_numel(&g->tensors[e->feat]);
        if (fn % (size_t)e->B || fn / (size_t)e->B < 1 || fn / (size_t)e->B > (1 << 24))
            st = fs_error(FS_ERR_ARG, "ft: feature '%s' has %zu values, not a multiple of the batch %d",
                          g->tensors[e->feat].name, fn, e->B);
        else e->D = (int)(fn / (size_t)e->B);
    }
    if (!st) st = alloc_heads(e);
    if (!st) st = build_params(e, &s);
    if (!st) st = build_bnodes(e, &s);
    if (!st) st = ft_backward_plan(e);
    if (!st) st = ft_optim_build(e);
    const char *prof = getenv("FS_FT_PROFILE"), *unf = getenv("FS_FT_UNFUSED");
    e->unfused = unf && *unf && *unf != '0';
    if (!st && prof && *prof && *prof != '0' && !(e->prof_ms = calloc(FT_PROF_N, sizeof(double))))
        st = fs_error(FS_ERR_NOMEM, "ft: out of memory");
    struct_free(&s);
    return st;
}

fs_status ft_open_graph(ft_engine **out, nn_graph *g, const ft_config *c) {
    *out = NULL;
    if (!g || !c) return fs_error(FS_ERR_ARG, "ft: no model / config");
    fs_status st = check_config(c);
    if (st) return st;
    ft_engine *e = calloc(1, sizeof *e);
    if (!e) return fs_error(FS_ERR_NOMEM, "ft: out of memory");
    e->cfg = *c;
    e->B = c->batch;
    e->rng = c->seed ^ 0x5eedf00dULL;
    e->g = g;
    e->node_block = calloc((size_t)g->n_nodes + 1, sizeof(int));
    e->repack_mask = calloc((size_t)g->n_nodes + 1, 1);
    e->keep_set = calloc((size_t)g->n_tensors + 1, 1);
    if (!e->node_block || !e->repack_mask || !e->keep_set) st = fs_error(FS_ERR_NOMEM, "ft: out of memory");
    if (!st) st = open_graph(e, c);
    if (!st) st = open_steps(e);
    if (st) {
        char why[512];
        snprintf(why, sizeof why, "%s", fs_last_error());
        ft_close(e);
        return fs_error(st, "%s", why);
    }
    ft_heads_init(e);
    memset(ft_input(e), 0, (size_t)e->B * e->S * e->S * 3 * sizeof(float)); /* the arena is not cleared */
    *out = e;
    return FS_OK;
}

fs_status ft_open(ft_engine **out, fs_model *m, const ft_config *c) {
    if (!m) { *out = NULL; return fs_error(FS_ERR_ARG, "ft: no model"); }
    return ft_open_graph(out, fs_model_graph(m), c);
}

/* ------------------------------------------------------------ accessors */

int ft_num_blocks(const ft_engine *e) { return e->n_blocks; }
int ft_feature_dim(const ft_engine *e) { return e->D; }
int ft_batch(const ft_engine *e) { return e->B; }
int ft_input_size(const ft_engine *e) { return e->S; }
float *ft_input(ft_engine *e) { return e->g->tensors[e->in_t].data; }
const float *ft_features(const ft_engine *e) { return e->g->tensors[e->feat].data; }

void ft_get_heads(ft_engine *e, ft_heads *h) {
    h->dim = e->D;
    h->mean = e->mean;
    h->inv_std = e->inv_std;
    h->w = e->hw;
    h->b = e->hb;
}

void ft_get_state(ft_engine *e, ft_state *s) {
    s->params = e->params;
    s->n_params = e->n_params;
    s->grads = e->grads;
    s->m = e->m;
    s->v = e->v;
    s->n_moments = e->n_params;
    s->feat_mean = e->mean;
    s->feat_inv_std = e->inv_std;
    s->dim = e->D;
    s->step = &e->step;
    s->rng = &e->rng;
    s->info = e->info;
    s->n_info = e->n_info;
}

fs_status ft_state_changed(ft_engine *e) { return nn_graph_repack(e->g, e->repack_mask); }

/* ------------------------------------------------------------ steps */

fs_status ft_forward(ft_engine *e, int train) {
    fs_status st = nn_graph_run(e->g);
    if (st) return st;
    ft_heads_forward(e, train);
    e->trained_forward = train;
    return FS_OK;
}

/* zero the parameter gradients (MobileNetV2: 9 MB) over the pool, in fixed 1 MiB chunks */
#define FT_ZERO_CHUNK 262144
typedef struct { float *p; size_t n; } zero_job;

static void zero_task(void *ctx, int t, int thread) {
    (void)thread;
    const zero_job *j = ctx;
    const size_t a = (size_t)t * FT_ZERO_CHUNK, len = j->n - a < FT_ZERO_CHUNK ? j->n - a : FT_ZERO_CHUNK;
    memset(j->p + a, 0, len * sizeof(float));
}

static void zero_grads(ft_engine *e) {
    if (!e->pool || e->n_params < 2 * FT_ZERO_CHUNK) {
        memset(e->grads, 0, e->n_params * sizeof(float));
        return;
    }
    zero_job j = {e->grads, e->n_params};
    fs_pool_run(e->pool, (int)((e->n_params + FT_ZERO_CHUNK - 1) / FT_ZERO_CHUNK), zero_task, &j);
}

fs_status ft_backward(ft_engine *e, int n, const float *y, const float *g, ft_step_stats *st) {
    if (n < 1 || n > e->B || !y) return fs_error(FS_ERR_ARG, "ft: %d rows (1..%d) / no targets", n, e->B);
    ft_step_stats tmp;
    if (!st) st = &tmp;
    memset(st, 0, sizeof *st);
    zero_grads(e);
    float *gfeat = ft_grad_of(e, e->feat);
    ft_heads_backward(e, n, y, g, gfeat, st); /* gfeat NULL: heads only (backbone frozen) */
    if (gfeat) ft_backward_graph(e);
    st->step = (long)e->step;
    return FS_OK;
}

fs_status ft_update(ft_engine *e, ft_step_stats *st) {
    ft_step_stats tmp;
    if (!st) st = &tmp;
    double norm = ft_grad_norm(e);
    float scale = 1.0f;
    if (e->cfg.clip_norm > 0 && norm > e->cfg.clip_norm) scale = (float)(e->cfg.clip_norm / norm);
    if (!isfinite(norm)) return fs_error(FS_ERR_INTERNAL, "ft: gradient norm is %g at step %lld", norm, (long long)e->step);
    float lr = e->cfg.lr * ft_schedule(&e->cfg, (long)e->step);
    double t0 = e->prof_ms ? ft_now_ms() : 0;
    ft_optim_apply(e, lr, scale);
    double t1 = e->prof_ms ? ft_now_ms() : 0;
    e->step++;
    st->grad_norm = norm;
    st->lr = lr;
    st->step = (long)e->step;
    fs_status s = ft_state_changed(e);
    if (e->prof_ms) e->prof_ms[FT_PROF_OPTIM] += t1 - t0, e->prof_ms[FT_PROF_REPACK] += ft_now_ms() - t1;
    return s;
}

fs_status ft_train_step(ft_engine *e, int n, const float *y, const float *g, ft_step_stats *st) {
    if (n < 1 || n > e->B) return fs_error(FS_ERR_ARG, "ft: %d rows (1..%d)", n, e->B);
    /* rows past n get no gradient, but 0 * NaN would still poison the weight sums: keep them finite */
    size_t row = (size_t)e->S * e->S * 3;
    memset(ft_input(e) + (size_t)n * row, 0, (size_t)(e->B - n) * row * sizeof(float));
    fs_status s = ft_forward(e, 1);
    if (!s) s = ft_backward(e, n, y, g, st);
    if (!s) s = ft_update(e, st);
    return s;
}
