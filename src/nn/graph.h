/* nn/graph.h — the runtime's one internal graph, built by every loader (TFLite, ONNX, TF.js).
 *
 * Contract between loaders (nn/loaders/), the planner/executor (nn/graph.c, nn/plan.c) and the
 * kernels (nn/ops/ reference, nn/kernels/ fast paths):
 *
 * - Tensors are dense, row-major, with up to NN_MAX_DIMS dims. Compute dtype is float32; int64/int32
 *   tensors exist for shape arithmetic (ONNX Shape/Gather/Concat/Reshape targets), which the planner
 *   constant-folds once input shapes are known.
 * - Spatial ops (conv, pooling, resize, depth-to-space...) work on NHWC activations. Loaders of NCHW
 *   formats (ONNX) wrap each spatial op in TRANSPOSE nodes (NCHW->NHWC before, NHWC->NCHW after); the
 *   planner cancels transpose pairs that compose to the identity, so a chain of convs runs in NHWC.
 * - Conv weights are OHWI: [Cout][KH][KW][Cin/groups]; depthwise = groups == Cin (weights
 *   [C*mult][KH][KW][1]). FULLY_CONNECTED weights are [Cout][Cin] (y = x W^T + b).
 * - Loaders dequantize every weight (uint8/int8 with scale/zero-point, float16) to float32 at load,
 *   w = (float)scale * (float)(q - zero_point), and fold what they can (BatchNorm into conv, etc.).
 * - Padding is explicit per side (TF "SAME" resolved by the loader, or by shape inference when the
 *   input shape is dynamic: auto_pad).
 * - Fused activation on conv/fc/eltwise ops: clamp to [act_min, act_max] (RELU = [0, inf],
 *   RELU6 = [0, 6], none = [-inf, inf]).
 */
#ifndef FS_NN_GRAPH_H
#define FS_NN_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "facescore.h"

struct nn_graph;
struct fs_pool;

#define NN_MAX_DIMS 8
#define NN_MAX_IO 16 /* inputs per node (Concat may need more: see in_extra) */

typedef enum { NN_F32 = 0, NN_I64, NN_I32, NN_U8, NN_I8, NN_BOOL, NN_F16 } nn_dtype;

typedef struct {
    char    *name;        /* original tensor name from the file */
    nn_dtype dtype;
    int      ndim;
    int64_t  dims[NN_MAX_DIMS]; /* -1 = unknown until shape inference */
    int      is_const;    /* weights / initializers / folded constants: data valid after load */
    void    *data;        /* const: points into the graph's weight block; else set by the planner */
    /* planner state */
    size_t   nbytes;
    size_t   arena_offset;
    int      producer;    /* node index, -1 for graph inputs and constants */
    int      last_use;    /* last node index reading it */
    int      keep;        /* graph output or requested intermediate: never reused */
} nn_tensor;

typedef enum {
    /* spatial, NHWC */
    NN_OP_CONV2D,          /* in: x, w (OHWI), [bias];  attr.conv */
    NN_OP_CONV2D_TRANSPOSE,/* in: x, w, [bias];        attr.conv */
    NN_OP_MAX_POOL2D,      /* attr.pool */
    NN_OP_AVG_POOL2D,      /* attr.pool */
    NN_OP_RESIZE,          /* in: x; attr.resize (output size in attr or from a const input) */
    /* dense */
    NN_OP_FULLY_CONNECTED, /* in: x [..., Cin], w [Cout][Cin], [bias]; act */
    NN_OP_MATMUL,          /* batched, numpy semantics */
    /* element-wise binary with numpy broadcasting; act applies */
    NN_OP_ADD, NN_OP_SUB, NN_OP_MUL, NN_OP_DIV, NN_OP_MAXIMUM, NN_OP_MINIMUM, NN_OP_POW,
    NN_OP_PRELU,           /* in: x, slope (broadcast) */
    /* element-wise unary */
    NN_OP_CLAMP,           /* attr.act_min/act_max (Relu, Relu6, Clip) */
    NN_OP_LEAKY_RELU,      /* attr.alpha */
    NN_OP_SIGMOID, NN_OP_TANH, NN_OP_EXP, NN_OP_LOG, NN_OP_SQRT, NN_OP_RSQRT, NN_OP_ABS, NN_OP_NEG,
    NN_OP_HARD_SWISH, NN_OP_ELU, NN_OP_IDENTITY,
    /* normalisation / reductions */
    NN_OP_SOFTMAX,         /* attr.axis */
    NN_OP_L2_NORMALIZE,    /* attr.axis */
    NN_OP_REDUCE_MEAN, NN_OP_REDUCE_MAX, NN_OP_REDUCE_SUM, /* attr.axes/n_axes, keepdims */
    /* layout / shape */
    NN_OP_RESHAPE,         /* output dims = out tensor dims (resolved by loader or shape inference) */
    NN_OP_TRANSPOSE,       /* attr.perm */
    NN_OP_CONCAT,          /* attr.axis */
    NN_OP_SPLIT,           /* attr.axis, outputs sizes from out dims */
    NN_OP_SLICE,           /* attr.starts/ends/steps per axis */
    NN_OP_PAD,             /* attr.pads (begin..., end...), pad_mode, pad_value */
    NN_OP_GATHER,          /* attr.axis */
    NN_OP_SHAPE,           /* int64 output; folded by the planner */
    NN_OP_CAST,
    NN_OP__COUNT
} nn_op_type;

typedef enum { NN_PAD_CONSTANT = 0, NN_PAD_REFLECT, NN_PAD_EDGE } nn_pad_mode;
typedef enum { NN_RESIZE_NEAREST = 0, NN_RESIZE_LINEAR } nn_resize_mode;

typedef struct {
    /* conv / pool */
    int kh, kw, stride_h, stride_w, dil_h, dil_w;
    int pad_t, pad_l, pad_b, pad_r;
    int auto_pad;        /* 0 explicit, 1 SAME_UPPER (TF SAME), 2 SAME_LOWER, 3 VALID: resolved at plan */
    int groups;
    int count_include_pad, ceil_mode;
    /* fused activation (conv, fc, binary ops, clamp) */
    float act_min, act_max;
    /* misc */
    float alpha, beta;
    int axis;
    int axes[NN_MAX_DIMS], n_axes, keepdims;
    int perm[NN_MAX_DIMS];
    int64_t starts[NN_MAX_DIMS], ends[NN_MAX_DIMS], steps[NN_MAX_DIMS];
    int64_t pads[2 * NN_MAX_DIMS];
    nn_pad_mode pad_mode;
    float pad_value;
    nn_resize_mode resize_mode;
    int coord_mode;      /* ONNX coordinate_transformation_mode, see nn/ops/resize.c */
    int nearest_mode;
    float scales[NN_MAX_DIMS];
    nn_dtype to;         /* cast */
} nn_attr;

typedef struct nn_node {
    nn_op_type type;
    char      *name;
    int        n_in, n_out;
    int        in[NN_MAX_IO];   /* tensor indices; -1 = optional input absent */
    int        out[NN_MAX_IO];
    nn_attr    attr;
    /* set by the planner: the kernel chosen for this node (reference or a fast path) */
    void     (*run)(struct nn_graph *g, struct nn_node *n);
    void      *kstate;          /* packed weights etc., owned by the graph */
    const char *kname;          /* "conv2d_ref", "conv1x1_avx512", ... for model info / tests */
} nn_node;

typedef struct nn_graph {
    nn_tensor *tensors; int n_tensors, cap_tensors;
    nn_node   *nodes;   int n_nodes, cap_nodes;
    int       *inputs;  int n_inputs;  /* graph inputs (tensor indices) */
    int       *outputs; int n_outputs; /* graph outputs */
    /* memory */
    void      *weights;   size_t weights_size; /* one block for all constants (llm.c style) */
    void      *arena;     size_t arena_size;   /* activations, planned once */
    struct fs_pool *pool; int threads;
    char       format[16];                     /* "tflite", "onnx", "tfjs" */
    int        planned;
} nn_graph;

/* Building (loaders). All return -1 / NULL on allocation failure after setting fs_error. */
nn_graph *nn_graph_new(void);
void      nn_graph_free(nn_graph *g);
int       nn_graph_add_tensor(nn_graph *g, const char *name, nn_dtype dt, int ndim, const int64_t *dims);
int       nn_graph_add_node(nn_graph *g, nn_op_type type, const char *name,
                            int n_in, const int *in, int n_out, const int *out);
int       nn_graph_find_tensor(const nn_graph *g, const char *name); /* -1 if absent */

const char *nn_op_name(nn_op_type t);
size_t      nn_dtype_size(nn_dtype dt);
int64_t     nn_tensor_numel(const nn_tensor *t); /* -1 if any dim unknown or overflow */

#endif
