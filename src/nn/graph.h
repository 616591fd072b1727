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
#define NN_MAX_IO 32 /* inputs / outputs per node */

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
    /* planner bookkeeping (nn/plan.c): shapes as the file declared them, restored before each plan */
    int      decl_ndim;
    int64_t  decl_dims[NN_MAX_DIMS];
    int      decl_saved;
    int      folded;      /* made constant by the planner (data owned by the plan, reset on replan) */
    int      alias_of;    /* planner: shares the buffer of this tensor (reshape-like ops), else -1 */
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
    NN_OP_CAST,            /* attr.to */
    /* added after the first contract (see the per-op notes below) */
    NN_OP_SQUEEZE,         /* attr.axes/n_axes (n_axes 0: every dim of size 1), or const in[1] */
    NN_OP_UNSQUEEZE,       /* attr.axes/n_axes (positions in the output), or const in[1] */
    NN_OP_FLATTEN,         /* attr.axis: [d0..d(axis-1), rest] (ONNX Flatten) */
    NN_OP_LOG_SOFTMAX,     /* attr.axis, attr.softmax_coerce */
    NN_OP_REDUCE_MIN,
    NN_OP_FLOOR, NN_OP_CEIL, NN_OP_RECIPROCAL, NN_OP_SOFTPLUS, NN_OP_HARD_SIGMOID, /* alpha, beta */
    NN_OP_SIN, NN_OP_COS, NN_OP_ERF, NN_OP_SIGN,
    NN_OP_SELU,            /* attr.beta * (x > 0 ? x : attr.alpha * (exp(x) - 1)) (ONNX gamma = beta) */
    NN_OP_SOFTSIGN,        /* x / (1 + |x|) */
    NN_OP_EXPAND,          /* in: x, const int shape: numpy broadcast of x and shape (ONNX Expand) */
    NN_OP_TILE,            /* in: x, const int repeats (one per dim) */
    NN_OP_CONSTANT_OF_SHAPE, /* in: const int shape; fill attr.pad_value as dtype attr.to (folded) */
    NN_OP_INSTANCE_NORM,   /* in: x, scale [C], bias [C]; attr.axis = channel axis, attr.alpha = eps;
                              normalises each (n, c) over every other dim but 0 */
    NN_OP_LRN,             /* across channels (attr.axis): x / (lrn_bias + alpha/size * sum sq)^beta,
                              window lrn_size centred as ONNX LRN */
    NN_OP_CONV_ND, NN_OP_MAX_POOL_ND, NN_OP_AVG_POOL_ND, /* channel-first 1-3-D general case,
                              see nn/ops/spatial_nd.c (ONNX 3-D conv/pool, dilated max pooling) */
    NN_OP_CONV_TRANSPOSE_ND, /* channel-first 1-3-D transposed conv, nn/ops/spatial_nd.c */
    NN_OP_RESIZE_CROP,     /* ONNX Resize tf_crop_and_resize, any rank: nn/ops/resize_crop.c */
    NN_OP__COUNT
} nn_op_type;

typedef enum { NN_PAD_CONSTANT = 0, NN_PAD_REFLECT, NN_PAD_EDGE } nn_pad_mode;
typedef enum { NN_RESIZE_NEAREST = 0, NN_RESIZE_LINEAR, NN_RESIZE_CUBIC } nn_resize_mode;
/* attr.coord_mode: ONNX coordinate_transformation_mode (0 = ONNX default half_pixel) */
enum { NN_COORD_HALF_PIXEL = 0, NN_COORD_ASYMMETRIC, NN_COORD_PYTORCH_HALF_PIXEL,
       NN_COORD_ALIGN_CORNERS, NN_COORD_TF_HALF_PIXEL_FOR_NN, NN_COORD_HALF_PIXEL_SYMMETRIC };
/* attr.nearest_mode: ONNX nearest_mode (0 = ONNX default round_prefer_floor) */
enum { NN_NEAREST_ROUND_PREFER_FLOOR = 0, NN_NEAREST_ROUND_PREFER_CEIL, NN_NEAREST_FLOOR,
       NN_NEAREST_CEIL };

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
    /* added after the first contract */
    int allowzero;       /* RESHAPE with a shape input: 0 copies the input dim unless allowzero */
    int softmax_coerce;  /* SOFTMAX/LOG_SOFTMAX: ONNX opset < 13, normalise over dims [axis, ndim) */
    int noop_with_empty_axes; /* REDUCE_*: n_axes == 0 means identity instead of "all axes" */
    int out_pad_h, out_pad_w; /* CONV2D_TRANSPOSE output_padding */
    int n_split;         /* SPLIT: sizes in split[]; 0 = equal parts, one per output */
    int64_t split[NN_MAX_IO];
    int lrn_size;        /* LRN */
    float lrn_bias;
    float cubic_a;       /* RESIZE cubic coefficient (0 = ONNX default -0.75) */
    int exclude_outside; /* RESIZE: taps outside the input get weight 0, the rest renormalised */
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
    void     (*kfree)(void *kstate); /* planner: frees kstate (NULL = nothing to free) */
    int        folded;          /* planner: computed once at plan time (constant inputs) */
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
    /* added after the first contract */
    struct nn_block *blocks;  /* constants made by nn_graph_alloc_const (chunked, freed with g) */
    struct nn_block *plan_blocks; /* folded constants of the current plan */
    int        status;        /* a kernel that meets bad data at run time sets this (fs_error) */
    char       description[128]; /* producer string from the file, for model info */
    int        shapes_overridden; /* an input's dims were changed: declared dims may be stale */
    double    *prof_ms;       /* per-node time summed over runs when FS_NN_PROFILE is set at plan time */
    int        prof_runs;
} nn_graph;

/* Per-op conventions (beyond the notes in the enum):
 * - nn_graph_add_node() fills attr with defaults: act_min = -INFINITY, act_max = +INFINITY,
 *   stride/dilation/groups 1, steps[] 1, kh/kw 0 (= from the weight dims), everything else 0.
 * - Negative axes are allowed everywhere (counted from the end, numpy style).
 * - CONV2D / CONV2D_TRANSPOSE: x NHWC, w OHWI [Cout][KH][KW][Cin/groups], optional bias [Cout].
 *   auto_pad (1 SAME_UPPER = TF SAME, pad_before = total/2; 2 SAME_LOWER; 3 VALID) is resolved at plan
 *   time into pad_*; with auto_pad 0 pad_t/pad_l/pad_b/pad_r are used as given.
 * - MAX/AVG_POOL2D: NHWC, kh/kw/strides/pads/auto_pad/ceil_mode/count_include_pad; act applies.
 *   Dilations and count_include_pad (ONNX: divisor = window cells inside the padded extent) supported.
 * - FULLY_CONNECTED: x [..., Cin] -> [..., Cout] if attr.keepdims, else [numel/Cin, Cout].
 * - RESIZE: any rank, any layout. Output dims from a const in[1] of int32/int64 "sizes" (ndim values,
 *   or 2 values = H,W of an NHWC 4-D input as in TFLite/TF.js), else attr.scales[d] (0 = 1.0 for that
 *   dim; out = floor(in * scale)). Coordinates: attr.coord_mode, attr.nearest_mode (NN_COORD_*,
 *   NN_NEAREST_*); the scale used in the transform is attr.scales[d] if given, else out/in.
 * - RESHAPE: with a const int64/int32 in[1] (ONNX): 0 copies the input dim (unless allowzero), -1 is
 *   inferred. Without in[1]: the output tensor's declared dims (one -1 allowed).
 * - TRANSPOSE: attr.perm over the input rank; all-zero perm (unset) = reversed dims (ONNX default).
 * - SLICE: n_axes entries of axes[]/starts[]/ends[]/steps[] (ONNX semantics, clamped), or const
 *   inputs in[1..4] = starts, ends, [axes], [steps] (ONNX >= 10).
 * - PAD: attr.pads[2*ndim] = begins then ends (ONNX order), or const in[1] the same, optional const
 *   in[2] scalar value; pad_mode constant/reflect/edge.
 * - GATHER: in data, indices (int32/int64, negative wrap); out = data[:axis] + idx.shape + data[axis+1:].
 * - SPLIT: outputs along attr.axis; sizes attr.split[0..n_split) or const in[1], else equal parts.
 * - REDUCE_*: attr.axes/n_axes or const in[1]; n_axes 0 = all axes (unless noop_with_empty_axes).
 * - SOFTMAX: attr.axis; softmax_coerce for ONNX < 13.
 * - CLAMP: act_min/act_max, or const in[1]/in[2] scalars (ONNX Clip >= 11) when present.
 * - L2_NORMALIZE: x / sqrt(max(sum(x^2), attr.alpha)) over attr.axis (alpha 0 = 1e-12).
 * - Binary ops broadcast numpy-style; float32, and int64/int32 for shape arithmetic.
 * - RESIZE: nearest, linear, cubic (cubic_a, exclude_outside); tf_crop_and_resize is refused by name.
 * Memory (nn/plan.c): graph inputs, outputs and tensors with keep=1 are never overwritten; other
 * buffers are reused once dead; reshape-like ops alias their input; element-wise ops may run in place
 * over a same-shape input that dies with them (so an un-kept intermediate's buffer holds garbage).
 * Ops whose inputs are all constant (and SHAPE, whose input dims are known) are folded at plan time.
 */

/* Building (loaders). All return -1 / NULL on allocation failure after setting fs_error. */
nn_graph *nn_graph_new(void);
void      nn_graph_free(nn_graph *g);
int       nn_graph_add_tensor(nn_graph *g, const char *name, nn_dtype dt, int ndim, const int64_t *dims);
int       nn_graph_add_node(nn_graph *g, nn_op_type type, const char *name,
                            int n_in, const int *in, int n_out, const int *out);
int       nn_graph_find_tensor(const nn_graph *g, const char *name); /* -1 if absent */

/* Constant data for tensor t (dims must be known): numel*dtype bytes from the graph's chunked
 * constant store, 64-byte aligned, zeroed; sets is_const and data. NULL on overflow / no memory. */
void     *nn_graph_alloc_const(nn_graph *g, int t);
/* Adds a constant tensor with a copy of data (may be NULL: zeros). Returns its index or -1. */
int       nn_graph_add_const(nn_graph *g, const char *name, nn_dtype dt, int ndim,
                             const int64_t *dims, const void *data);

/* Planning and running (nn/plan.c, nn/exec.c). nn_graph_plan infers shapes from the graph inputs'
 * dims, folds constants, resolves auto_pad, picks kernels and lays out one activation arena; it may
 * be called again after input dims or keep flags change. nn_graph_run allocates nothing. */
fs_status nn_graph_plan(nn_graph *g);
/* Shape inference and attribute checks only (no arena, no kernels): for load-time validation. */
fs_status nn_graph_check(nn_graph *g);
void      nn_graph_unplan(nn_graph *g);
fs_status nn_graph_run(nn_graph *g);
/* After constant inputs (weights) of planned nodes changed in place (fine-tuning): re-runs those
 * nodes' kernel preparation (weight packing); mask[node] != 0 selects them (NULL = every node).
 * Shapes, arena and keep flags are unchanged. Conv / FC kernels refill their packed copies in place
 * (no allocation); other ops' state is prepared again. */
fs_status nn_graph_repack(nn_graph *g, const unsigned char *mask);
/* Sets the dims of graph input i (by index into g->inputs) for the next plan. */
fs_status nn_graph_set_input_dims(nn_graph *g, int i, int ndim, const int64_t *dims);
fs_status nn_graph_set_threads(nn_graph *g, int threads);
/* With FS_NN_PROFILE=1 in the environment at plan time, prints per-op-type time of the runs so far. */
void      nn_graph_profile_print(const nn_graph *g, void *file /* FILE* */);
/* MACs of one node (conv, fc, matmul) for FLOP counts; 0 for others. Valid after planning. */
double    nn_node_macs(const nn_graph *g, const nn_node *n);

const char *nn_op_name(nn_op_type t);
size_t      nn_dtype_size(nn_dtype dt);
int64_t     nn_tensor_numel(const nn_tensor *t); /* -1 if any dim unknown or overflow */

#endif
