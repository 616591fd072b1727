/* nn/ops/ops.h — internal interface between the planner (nn/plan.c) and the op families in
 * nn/ops/ (one file per family). Each op has two plan-time functions:
 *
 *   infer(g, n)    input dims/dtypes are known -> set the output tensors' dtype/ndim/dims, check
 *                  attributes (refusing what the kernel does not implement, by name)
 *   prepare(g, n)  outputs are laid out -> choose the kernel: set n->run, n->kstate (+ n->kfree),
 *                  n->kname. Everything the run needs is computed here: runs allocate nothing.
 *
 * Run functions read/write g->tensors[..].data and set g->status (via fs_error) on bad data.
 */
#ifndef FS_NN_OPS_H
#define FS_NN_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "nn/graph.h"

struct nn_block {
    struct nn_block *next;
    size_t used, cap;
};
void *nn_block_alloc(struct nn_block **list, size_t n); /* 64-aligned, zeroed; NULL if no memory */
void  nn_block_free_all(struct nn_block **list);

typedef struct {
    fs_status (*infer)(nn_graph *g, nn_node *n);
    fs_status (*prepare)(nn_graph *g, nn_node *n);
} nn_op_def;

/* Families: return the def for t, or NULL if the family does not own it. */
const nn_op_def *nn_ops_conv(nn_op_type t);    /* ops/conv.c: conv, conv transpose, pooling */
const nn_op_def *nn_ops_dense(nn_op_type t);   /* ops/matmul.c: fully connected, matmul */
const nn_op_def *nn_ops_eltwise(nn_op_type t); /* ops/eltwise.c: binary, unary, prelu, clamp */
const nn_op_def *nn_ops_softmax(nn_op_type t); /* ops/softmax.c: softmax, log-softmax, l2norm */
const nn_op_def *nn_ops_reduce(nn_op_type t);  /* ops/reduce.c */
const nn_op_def *nn_ops_shape(nn_op_type t);   /* ops/shape.c: reshape ... cast */
const nn_op_def *nn_ops_resize(nn_op_type t);  /* ops/resize.c */
const nn_op_def *nn_ops_norm(nn_op_type t);    /* ops/norm.c: instance norm, LRN */
const nn_op_def *nn_ops_spatial_nd(nn_op_type t); /* ops/spatial_nd.c: N-D conv/pool, channel-first */
const nn_op_def *nn_ops_resize_crop(nn_op_type t); /* ops/resize_crop.c: Resize tf_crop_and_resize */
const nn_op_def *nn_op_def_get(nn_op_type t);  /* plan.c: all of the above */

/* In-place refresh of a prepared CONV2D / FULLY_CONNECTED node's packed weights after its constant
 * w / bias changed (same shapes; no allocation): 0 done, 1 not possible (prepare it again). */
int nn_conv_node_repack(nn_graph *g, nn_node *n); /* ops/conv.c */
int nn_fc_node_repack(nn_graph *g, nn_node *n);   /* ops/matmul.c */

/* The graph's thread pool (exec.c). */
struct fs_pool *nn_graph_pool(nn_graph *g);
void nn_pool_release(nn_graph *g);

/* ---- helpers shared by the families (ops/common.c) ---- */
static inline nn_tensor *nn_in(nn_graph *g, const nn_node *n, int i) {
    return (i < n->n_in && n->in[i] >= 0) ? &g->tensors[n->in[i]] : NULL;
}
static inline nn_tensor *nn_out(nn_graph *g, const nn_node *n, int i) {
    return (i < n->n_out && n->out[i] >= 0) ? &g->tensors[n->out[i]] : NULL;
}
/* Error "node 'name' (Op): <msg>" with the given code. */
fs_status nn_node_error(const nn_node *n, fs_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Odometer: idx[0..n) steps to the next index of a row-major walk over dims (the last dim fastest;
 * all zeros again after the last index). */
static inline void nn_index_next(int64_t *idx, const int64_t *dims, int n) {
    for (int d = n - 1; d >= 0; d--) {
        if (++idx[d] < dims[d]) return;
        idx[d] = 0;
    }
}
/* axis in [-ndim, ndim) -> [0, ndim); -1 if out of range. */
int nn_axis(int axis, int ndim);
/* Resize taps (ops/resize.c, also used by ops/resize_crop.c): the k source indices (clamped to
 * [0, len)) and weights of source coordinate c along a dim of length len; k 1 nearest (by
 * a->nearest_mode), 2 linear, 4 cubic with coefficient cubic_a; a->exclude_outside applies. */
void nn_resize_taps(const nn_attr *a, double cubic_a, int k, double c, int64_t len, int64_t *ti, float *tw);
/* Sets output i's dtype and dims. */
fs_status nn_set_out(nn_graph *g, nn_node *n, int i, nn_dtype dt, int ndim, const int64_t *dims);
/* Values of a const int32/int64 (or float for scales) 0-/1-D tensor as int64; count or -1. */
int nn_const_ints(const nn_tensor *t, int64_t *out, int max);
int nn_const_floats(const nn_tensor *t, float *out, int max);
/* Numel as size_t of a planned tensor (dims known). */
size_t nn_numel(const nn_tensor *t);
/* Requires n_in >= lo (non-absent) and dtype float32 of the first `nf` inputs. */
fs_status nn_check_inputs(nn_graph *g, const nn_node *n, int lo, int nf);
/* Kernel state allocation: zeroed, freed with free() by the planner (sets n->kfree). */
void *nn_kstate(nn_node *n, size_t size);
/* Row-major strides (elements) of dims. */
void nn_strides(int ndim, const int64_t *dims, int64_t *strides);

#endif
