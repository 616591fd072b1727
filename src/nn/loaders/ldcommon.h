/* nn/loaders/ldcommon.h — helpers shared by the ONNX and TF.js loaders.
 *
 * ld_names: string -> tensor index hash map for the file's own tensor names. */
#ifndef FS_NN_LDCOMMON_H
#define FS_NN_LDCOMMON_H
#include <stddef.h>
#include <stdint.h>

#include "nn/graph.h"

/* nn_graph_add_tensor with dims copied first: dims may point into g->tensors, which the call
 * may reallocate. */
int ld_add_tensor(nn_graph *g, const char *name, nn_dtype dt, int ndim, const int64_t *dims);

typedef struct { char **keys; int *vals; size_t cap, n; } ld_names;
int  ld_names_get(const ld_names *m, const char *key, size_t klen);   /* -1 if absent */
int  ld_names_put(ld_names *m, const char *key, size_t klen, int val); /* 0 ok, -1 nomem (fs_error) */
void ld_names_free(ld_names *m);

/* Output shape of a numpy-broadcast binary op; -1 on mismatch. Unknown dims (-1) propagate. */
int ld_broadcast(int na, const int64_t *a, int nb, const int64_t *b, int *nout, int64_t *out);

#endif
