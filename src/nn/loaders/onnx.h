/* nn/loaders/onnx.h — loading an ONNX model with some graph inputs bound to values.
 *
 * ONNX lets a model take as graph inputs what an op reads as a parameter: Conv's W, Reshape's shape,
 * Slice's starts/ends, Pad's pads, ReduceX's axes, Resize's scales... The runtime plans shapes and
 * packs weights once, before the first run, so such an input's VALUE is needed at load. Binding makes
 * that explicit: the caller hands the value of graph input k (k counts the graph inputs that are not
 * initializers, in file order); the loader then treats it exactly like an initializer and it stops
 * being a runtime input (the model is specialised to that value; run it with another value by
 * loading it again with that binding). Nothing is bound implicitly:
 *   - force = 1: bound up front (how `model check` feeds int64 axes/shape inputs: the public run API
 *     feeds float32 only);
 *   - force = 0: bound only if an op needs the input as a load-time constant (a parameter slot: Conv
 *     W, BatchNorm statistics, Clip bounds, ...); a data input stays a runtime input.
 * binds[k].bound is set to 1 for each input that was bound. The remaining runtime inputs are
 * g->inputs, in file order. */
#ifndef FS_NN_ONNX_H
#define FS_NN_ONNX_H
#include <stddef.h>
#include <stdint.h>

#include "nn/graph.h"

typedef struct {
    nn_dtype    dtype;
    int         ndim;
    int64_t     dims[NN_MAX_DIMS];
    const void *data;    /* numel x nn_dtype_size(dtype) bytes, copied by the loader */
    size_t      nbytes;
    int         force;
    int         bound;   /* out */
} nn_onnx_bind;

fs_status nn_load_onnx_bound(nn_graph *g, const uint8_t *buf, size_t len, nn_onnx_bind *binds, int n_binds);

#endif
