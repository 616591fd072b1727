/* nn/passes.h — graph rewrites run by loaders after building a graph (before planning).
 *
 * nn_pass_optimize() runs, until nothing changes:
 *  - transpose sinking: a TRANSPOSE feeding (only) a layout-agnostic element-wise op is moved after
 *    it (unary ops; binary ops whose other input is the same transpose of a tensor, or a constant
 *    of all-ones dims), so NCHW<->NHWC pairs around spatial ops meet;
 *  - transpose merging: TRANSPOSE(TRANSPOSE(x)) becomes one TRANSPOSE, or nothing when the perms
 *    compose to the identity (consumers read x directly);
 *  - SHAPE(TRANSPOSE(x, p)) becomes GATHER(SHAPE(x), p), freeing the transpose;
 *  - conv folding: a zero PAD on H/W feeding only a CONV2D becomes its padding; MUL/ADD/SUB by a
 *    per-channel constant (unfused batch norm) after a conv/fc folds into its weights and bias;
 *  - PReLU written out as max(x,0) + k*min(x,0) (TF.js/Keras export) becomes one PRELU;
 *  - activation fusion: a CLAMP (Relu, Relu6, Clip) that alone reads the output of a conv / fc /
 *    pool / binary element-wise op becomes that op's act_min/act_max;
 *  - dead-node removal (outputs read by nobody and not graph outputs), then a topological re-sort
 *    of the nodes and compaction of the tensor table (unreferenced tensors dropped).
 * Tensor names of the surviving tensors are kept. */
#ifndef FS_NN_PASSES_H
#define FS_NN_PASSES_H
#include "nn/graph.h"

fs_status nn_pass_optimize(nn_graph *g);

/* Individual steps (return the number of rewrites; used by tests). */
int nn_pass_sink_transposes(nn_graph *g);
int nn_pass_merge_transposes(nn_graph *g);
int nn_pass_fuse_activations(nn_graph *g);
int nn_pass_fold_conv_affine(nn_graph *g);   /* conv/fc -> Mul/Add/Sub by a per-channel const */
int nn_pass_fold_pad_into_conv(nn_graph *g); /* zero PAD on H/W -> conv explicit pads */
int nn_pass_fuse_prelu(nn_graph *g);         /* max(x,0) + k*min(x,0) -> PRELU(x, k) */
int nn_pass_shape_of_transpose(nn_graph *g); /* SHAPE(TRANSPOSE(x)) -> GATHER(SHAPE(x), perm) */
/* Removes dead nodes, re-sorts topologically, compacts tensors. */
fs_status nn_pass_cleanup(nn_graph *g);

/* Number of nodes of a type (tests, model info). */
int nn_graph_count_op(const nn_graph *g, nn_op_type t);

#endif
