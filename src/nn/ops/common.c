/* nn/ops/common.c — helpers shared by the op families. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ops/ops.h"

fs_status nn_node_error(const nn_node *n, fs_status code, const char *fmt, ...) {
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fs_error(code, "node '%s' (%s): %s", n->name ? n->name : "", nn_op_name(n->type), msg);
}

int nn_axis(int axis, int ndim) {
    if (axis < -ndim || axis >= ndim) return -1;
    return axis < 0 ? axis + ndim : axis;
}

fs_status nn_set_out(nn_graph *g, nn_node *n, int i, nn_dtype dt, int ndim, const int64_t *dims) {
    nn_tensor *t = nn_out(g, n, i);
    if (!t) return nn_node_error(n, FS_ERR_FORMAT, "output %d missing", i);
    if (ndim < 0 || ndim > NN_MAX_DIMS)
        return nn_node_error(n, FS_ERR_UNSUPPORTED, "output rank %d (max %d)", ndim, NN_MAX_DIMS);
    int64_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (dims[d] < 0) return nn_node_error(n, FS_ERR_FORMAT, "negative output dim %lld", (long long)dims[d]);
        if (dims[d] > 0 && numel > ((int64_t)1 << 40) / dims[d])
            return nn_node_error(n, FS_ERR_LIMIT, "output '%s' is absurdly large", t->name);
        numel *= dims[d];
    }
    t->dtype = dt;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->dims[d] = dims[d];
    return FS_OK;
}

int nn_const_ints(const nn_tensor *t, int64_t *out, int max) {
    if (!t || !t->is_const || !t->data || t->ndim > 1) return -1;
    int64_t n = nn_tensor_numel(t);
    if (n < 0 || n > max) return -1;
    for (int64_t i = 0; i < n; i++) {
        switch (t->dtype) {
        case NN_I64: out[i] = ((const int64_t *)t->data)[i]; break;
        case NN_I32: out[i] = ((const int32_t *)t->data)[i]; break;
        default: return -1;
        }
    }
    return (int)n;
}

int nn_const_floats(const nn_tensor *t, float *out, int max) {
    if (!t || !t->is_const || !t->data || t->ndim > 1) return -1;
    int64_t n = nn_tensor_numel(t);
    if (n < 0 || n > max) return -1;
    for (int64_t i = 0; i < n; i++) {
        switch (t->dtype) {
        case NN_F32: out[i] = ((const float *)t->data)[i]; break;
        case NN_I64: out[i] = (float)((const int64_t *)t->data)[i]; break;
        case NN_I32: out[i] = (float)((const int32_t *)t->data)[i]; break;
        default: return -1;
        }
    }
    return (int)n;
}

size_t nn_numel(const nn_tensor *t) {
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= (size_t)(t->dims[i] < 0 ? 0 : t->dims[i]);
    return n;
}

fs_status nn_check_inputs(nn_graph *g, const nn_node *n, int lo, int nf) {
    if (n->n_in < lo) return nn_node_error(n, FS_ERR_FORMAT, "needs %d inputs, has %d", lo, n->n_in);
    for (int i = 0; i < lo; i++)
        if (!nn_in(g, n, i)) return nn_node_error(n, FS_ERR_FORMAT, "input %d is missing", i);
    if (n->n_out < 1 || !nn_out(g, n, 0)) return nn_node_error(n, FS_ERR_FORMAT, "has no output");
    for (int i = 0; i < nf && i < n->n_in; i++) {
        nn_tensor *t = nn_in(g, n, i);
        if (t && t->dtype != NN_F32)
            return nn_node_error(n, FS_ERR_UNSUPPORTED, "input %d ('%s') has a non-float32 type",
                                 i, t->name);
    }
    return FS_OK;
}

void *nn_kstate(nn_node *n, size_t size) {
    void *p = calloc(1, size ? size : 1);
    if (!p) return NULL;
    n->kstate = p;
    n->kfree = free;
    return p;
}

void nn_strides(int ndim, const int64_t *dims, int64_t *strides) {
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}
