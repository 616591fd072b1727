/* nn/graph.c — building the internal graph (tensors, nodes, constants) shared by every loader. */
#include "nn/graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/ops/ops.h"

/* ---- chunked constant store: few large blocks instead of one malloc per weight ---- */

#define NN_BLOCK_MIN ((size_t)1 << 20)
#define NN_ALIGN 64

void *nn_block_alloc(struct nn_block **list, size_t n) {
    if (n > SIZE_MAX / 2) return NULL;
    n = (n + NN_ALIGN - 1) & ~(size_t)(NN_ALIGN - 1);
    struct nn_block *b = *list;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > NN_BLOCK_MIN ? n : NN_BLOCK_MIN;
        /* header padded to 64 bytes so the payload stays aligned */
        b = aligned_alloc(NN_ALIGN, NN_ALIGN + cap);
        if (!b) return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = *list;
        *list = b;
    }
    void *p = (unsigned char *)b + NN_ALIGN + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

void nn_block_free_all(struct nn_block **list) {
    struct nn_block *b = *list;
    while (b) {
        struct nn_block *nx = b->next;
        free(b);
        b = nx;
    }
    *list = NULL;
}

/* ---- graph ---- */

nn_graph *nn_graph_new(void) {
    nn_graph *g = calloc(1, sizeof *g);
    if (!g) { fs_error(FS_ERR_NOMEM, "nn: out of memory"); return NULL; }
    g->threads = 1;
    return g;
}

void nn_graph_free(nn_graph *g) {
    if (!g) return;
    nn_graph_unplan(g);
    for (int i = 0; i < g->n_tensors; i++) free(g->tensors[i].name);
    for (int i = 0; i < g->n_nodes; i++) free(g->nodes[i].name);
    free(g->tensors);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->weights);
    free(g->prof_ms);
    nn_block_free_all(&g->blocks);
    nn_pool_release(g);
    free(g);
}

static char *dupstr(const char *s) {
    if (!s) s = "";
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

int nn_graph_add_tensor(nn_graph *g, const char *name, nn_dtype dt, int ndim, const int64_t *dims) {
    if (ndim < 0 || ndim > NN_MAX_DIMS) {
        fs_error(FS_ERR_UNSUPPORTED, "nn: tensor '%s' has %d dims (max %d)", name ? name : "", ndim,
                 NN_MAX_DIMS);
        return -1;
    }
    if (g->n_tensors == g->cap_tensors) {
        int cap = g->cap_tensors ? 2 * g->cap_tensors : 64;
        nn_tensor *t = realloc(g->tensors, (size_t)cap * sizeof *t);
        if (!t) { fs_error(FS_ERR_NOMEM, "nn: out of memory"); return -1; }
        g->tensors = t;
        g->cap_tensors = cap;
    }
    nn_tensor *t = &g->tensors[g->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = dupstr(name);
    if (!t->name) { fs_error(FS_ERR_NOMEM, "nn: out of memory"); return -1; }
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->dims[i] = dims ? dims[i] : -1;
    t->producer = -1;
    t->last_use = -1;
    t->alias_of = -1;
    return g->n_tensors++;
}

static void attr_defaults(nn_attr *a) {
    memset(a, 0, sizeof *a);
    a->act_min = -INFINITY;
    a->act_max = INFINITY;
    a->stride_h = a->stride_w = 1;
    a->dil_h = a->dil_w = 1;
    a->groups = 1;
    for (int i = 0; i < NN_MAX_DIMS; i++) a->steps[i] = 1;
}

int nn_graph_add_node(nn_graph *g, nn_op_type type, const char *name, int n_in, const int *in,
                      int n_out, const int *out) {
    if (n_in < 0 || n_in > NN_MAX_IO || n_out < 0 || n_out > NN_MAX_IO) {
        fs_error(FS_ERR_UNSUPPORTED, "nn: node '%s' (%s) has %d inputs / %d outputs (max %d)",
                 name ? name : "", nn_op_name(type), n_in, n_out, NN_MAX_IO);
        return -1;
    }
    if ((int)type < 0 || type >= NN_OP__COUNT) {
        fs_error(FS_ERR_INTERNAL, "nn: bad op type %d", (int)type);
        return -1;
    }
    for (int i = 0; i < n_in; i++)
        if (in[i] < -1 || in[i] >= g->n_tensors) {
            fs_error(FS_ERR_FORMAT, "nn: node '%s' input %d refers to tensor %d of %d",
                     name ? name : "", i, in[i], g->n_tensors);
            return -1;
        }
    for (int i = 0; i < n_out; i++)
        if (out[i] < 0 || out[i] >= g->n_tensors) {
            fs_error(FS_ERR_FORMAT, "nn: node '%s' output %d refers to tensor %d of %d",
                     name ? name : "", i, out[i], g->n_tensors);
            return -1;
        }
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? 2 * g->cap_nodes : 64;
        nn_node *nd = realloc(g->nodes, (size_t)cap * sizeof *nd);
        if (!nd) { fs_error(FS_ERR_NOMEM, "nn: out of memory"); return -1; }
        g->nodes = nd;
        g->cap_nodes = cap;
    }
    nn_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->type = type;
    n->name = dupstr(name);
    if (!n->name) { fs_error(FS_ERR_NOMEM, "nn: out of memory"); return -1; }
    n->n_in = n_in;
    n->n_out = n_out;
    for (int i = 0; i < NN_MAX_IO; i++) n->in[i] = n->out[i] = -1;
    for (int i = 0; i < n_in; i++) n->in[i] = in[i];
    for (int i = 0; i < n_out; i++) n->out[i] = out[i];
    attr_defaults(&n->attr);
    return g->n_nodes++;
}

int nn_graph_find_tensor(const nn_graph *g, const char *name) {
    if (!name) return -1;
    for (int i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].name && !strcmp(g->tensors[i].name, name)) return i;
    return -1;
}

size_t nn_dtype_size(nn_dtype dt) {
    switch (dt) {
    case NN_F32: return 4;
    case NN_I64: return 8;
    case NN_I32: return 4;
    case NN_U8: return 1;
    case NN_I8: return 1;
    case NN_BOOL: return 1;
    case NN_F16: return 2;
    }
    return 0;
}

int64_t nn_tensor_numel(const nn_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (t->dims[i] < 0) return -1;
        if (t->dims[i] && n > INT64_MAX / t->dims[i]) return -1;
        n *= t->dims[i];
    }
    return n;
}

void *nn_graph_alloc_const(nn_graph *g, int ti) {
    if (ti < 0 || ti >= g->n_tensors) return NULL;
    nn_tensor *t = &g->tensors[ti];
    int64_t n = nn_tensor_numel(t);
    size_t es = nn_dtype_size(t->dtype);
    if (n < 0 || (uint64_t)n > (SIZE_MAX / 4) / (es ? es : 1)) {
        fs_error(FS_ERR_LIMIT, "nn: constant '%s' has unknown or too large dims", t->name);
        return NULL;
    }
    void *p = nn_block_alloc(&g->blocks, (size_t)n * es);
    if (!p) { fs_error(FS_ERR_NOMEM, "nn: out of memory for constant '%s'", t->name); return NULL; }
    t->data = p;
    t->is_const = 1;
    t->nbytes = (size_t)n * es;
    return p;
}

int nn_graph_add_const(nn_graph *g, const char *name, nn_dtype dt, int ndim, const int64_t *dims,
                       const void *data) {
    int ti = nn_graph_add_tensor(g, name, dt, ndim, dims);
    if (ti < 0) return -1;
    void *p = nn_graph_alloc_const(g, ti);
    if (!p) return -1;
    if (data) memcpy(p, data, g->tensors[ti].nbytes);
    return ti;
}

const char *nn_op_name(nn_op_type t) {
    static const char *names[NN_OP__COUNT] = {
        [NN_OP_CONV2D] = "Conv2D", [NN_OP_CONV2D_TRANSPOSE] = "Conv2DTranspose",
        [NN_OP_MAX_POOL2D] = "MaxPool2D", [NN_OP_AVG_POOL2D] = "AvgPool2D",
        [NN_OP_RESIZE] = "Resize", [NN_OP_FULLY_CONNECTED] = "FullyConnected",
        [NN_OP_MATMUL] = "MatMul", [NN_OP_ADD] = "Add", [NN_OP_SUB] = "Sub", [NN_OP_MUL] = "Mul",
        [NN_OP_DIV] = "Div", [NN_OP_MAXIMUM] = "Maximum", [NN_OP_MINIMUM] = "Minimum",
        [NN_OP_POW] = "Pow", [NN_OP_PRELU] = "PRelu", [NN_OP_CLAMP] = "Clamp",
        [NN_OP_LEAKY_RELU] = "LeakyRelu", [NN_OP_SIGMOID] = "Sigmoid", [NN_OP_TANH] = "Tanh",
        [NN_OP_EXP] = "Exp", [NN_OP_LOG] = "Log", [NN_OP_SQRT] = "Sqrt", [NN_OP_RSQRT] = "Rsqrt",
        [NN_OP_ABS] = "Abs", [NN_OP_NEG] = "Neg", [NN_OP_HARD_SWISH] = "HardSwish",
        [NN_OP_ELU] = "Elu", [NN_OP_IDENTITY] = "Identity", [NN_OP_SOFTMAX] = "Softmax",
        [NN_OP_L2_NORMALIZE] = "L2Normalize", [NN_OP_REDUCE_MEAN] = "ReduceMean",
        [NN_OP_REDUCE_MAX] = "ReduceMax", [NN_OP_REDUCE_SUM] = "ReduceSum",
        [NN_OP_RESHAPE] = "Reshape", [NN_OP_TRANSPOSE] = "Transpose", [NN_OP_CONCAT] = "Concat",
        [NN_OP_SPLIT] = "Split", [NN_OP_SLICE] = "Slice", [NN_OP_PAD] = "Pad",
        [NN_OP_GATHER] = "Gather", [NN_OP_SHAPE] = "Shape", [NN_OP_CAST] = "Cast",
        [NN_OP_SQUEEZE] = "Squeeze", [NN_OP_UNSQUEEZE] = "Unsqueeze", [NN_OP_FLATTEN] = "Flatten",
        [NN_OP_LOG_SOFTMAX] = "LogSoftmax", [NN_OP_REDUCE_MIN] = "ReduceMin",
        [NN_OP_FLOOR] = "Floor", [NN_OP_CEIL] = "Ceil", [NN_OP_RECIPROCAL] = "Reciprocal",
        [NN_OP_SOFTPLUS] = "Softplus", [NN_OP_HARD_SIGMOID] = "HardSigmoid", [NN_OP_SIN] = "Sin",
        [NN_OP_COS] = "Cos", [NN_OP_ERF] = "Erf", [NN_OP_SIGN] = "Sign", [NN_OP_SELU] = "Selu",
        [NN_OP_SOFTSIGN] = "Softsign", [NN_OP_EXPAND] = "Expand", [NN_OP_TILE] = "Tile",
        [NN_OP_CONSTANT_OF_SHAPE] = "ConstantOfShape", [NN_OP_INSTANCE_NORM] = "InstanceNorm",
        [NN_OP_LRN] = "LRN",
        [NN_OP_CONV_ND] = "ConvND", [NN_OP_MAX_POOL_ND] = "MaxPoolND", [NN_OP_AVG_POOL_ND] = "AvgPoolND",
        [NN_OP_CONV_TRANSPOSE_ND] = "ConvTransposeND", [NN_OP_RESIZE_CROP] = "ResizeCrop",
    };
    if ((int)t < 0 || t >= NN_OP__COUNT || !names[t]) return "?";
    return names[t];
}
