/* nn/loaders/onnx_internal.h — shared by the ONNX loader's files (onnx.c: parsing and helpers,
 * onnx_spatial.c: NCHW spatial ops run as NHWC, onnx_ops.c: every other op). */
#ifndef FS_NN_ONNX_INTERNAL_H
#define FS_NN_ONNX_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

#include "nn/graph.h"
#include "nn/loaders/ldcommon.h"
#include "nn/loaders/protobuf.h"
#include "nn/loaders/tensorproto.h"
#include "nn/loaders/onnx.h"

#define OX_MAX_ATTRS 32
#define OX_MAX_LIST 64
#define OX_MAX_NODE_IO 64

enum { AT_FLOAT = 1, AT_INT = 2, AT_STRING = 3, AT_TENSOR = 4, AT_GRAPH = 5, AT_FLOATS = 6, AT_INTS = 7,
       AT_STRINGS = 8 };

typedef struct {
    pb_field name;
    int type, used;
    float f;
    int64_t i;
    pb_field s, t;
    int n_ints, n_floats, overflow;
    int64_t ints[OX_MAX_LIST];
    float floats[OX_MAX_LIST];
} ox_attr;

typedef struct {
    pb_field in[OX_MAX_NODE_IO], out[OX_MAX_NODE_IO];
    int n_in, n_out;
    pb_field op, name, domain;
    ox_attr at[OX_MAX_ATTRS];
    int n_at;
} ox_node;

typedef struct {
    nn_graph *g;
    ld_names names;
    int64_t opset;
    pb_reader root;
    const ld_names *uses;  /* use count of every tensor name in the graph (BatchNorm folding) */
    /* current node, for messages */
    int node_idx;
    const ox_node *nd;
    char op[64], nname[128];
    /* graph inputs that may be bound to a value (nn/loaders/onnx.h) */
    nn_onnx_bind *binds;
    int n_binds;
    int bind_t[64];        /* tensor of non-initializer graph input k (-1 none), k < 64 */
} ox_ctx;


#define OX_T(cx, t) (&(cx)->g->tensors[(t)])
#define OX_FAIL(cx, code, ...) ox_node_fail(cx, code, __VA_ARGS__)

/* "ONNX: node 12 'name' (Conv): <message>" with fs_error(code) */
fs_status ox_node_fail(ox_ctx *cx, fs_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ox_fcopy(char *dst, size_t cap, const pb_field *f); /* PB_LEN payload -> C string (truncated) */

/* attributes of the current node: each read marks the attribute used; ox_check_attrs_used()
 * refuses the node if any attribute was not read (FS_ERR_UNSUPPORTED, named) */
ox_attr *ox_find_attr(ox_ctx *cx, const char *name);
int64_t  ox_attr_i(ox_ctx *cx, const char *name, int64_t def);
float    ox_attr_f(ox_ctx *cx, const char *name, float def);
void     ox_attr_s(ox_ctx *cx, const char *name, const char *def, char *buf, size_t cap);
int      ox_attr_ints(ox_ctx *cx, const char *name, int64_t *out, int max); /* count, -1 too many */
fs_status ox_check_attrs_used(ox_ctx *cx);

/* tensors: node input k (-1 absent, -2 error), required input, new internal tensor "<base>#<tag>",
 * node output k (named as in the file), output k as an alias of t, a node */
int ox_in_t(ox_ctx *cx, int k);
int ox_need_in(ox_ctx *cx, int k);
int ox_new_tensor(ox_ctx *cx, const char *base, const char *tag, nn_dtype dt, int ndim, const int64_t *dims);
int ox_out_t(ox_ctx *cx, int k, nn_dtype dt, int ndim, const int64_t *dims);
fs_status ox_alias_out(ox_ctx *cx, int k, int t);
int ox_emit(ox_ctx *cx, nn_op_type op, int n_in, const int *in, int n_out, const int *out);
/* constant inputs (fs_error naming 'what' when not constant / wrong type) */
const void *ox_const_data(ox_ctx *cx, int t, const char *what);
/* is t constant? A graph input with a binding becomes constant here (nn/loaders/onnx.h). */
int ox_is_const(ox_ctx *cx, int t);
int ox_const_ints(ox_ctx *cx, int t, const char *what, int64_t *out, int max);
int ox_const_floats(ox_ctx *cx, int t, const char *what, float *out, int max);
static inline int ox_norm_axis(int64_t a, int r) { return (int)(a < 0 ? a + r : a); }

/* op handlers; *handled = 0 when the op is not theirs */
fs_status ox_convert_spatial(ox_ctx *cx, int *handled); /* onnx_spatial.c */
fs_status ox_convert_ops(ox_ctx *cx, int *handled);     /* onnx_ops.c */

#endif
