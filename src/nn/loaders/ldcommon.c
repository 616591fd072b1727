/* nn/loaders/ldcommon.c — name map and shape helpers for loaders (see ldcommon.h). */
#include "nn/loaders/ldcommon.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

int ld_add_tensor(nn_graph *g, const char *name, nn_dtype dt, int ndim, const int64_t *dims) {
    int64_t d[NN_MAX_DIMS];
    if (ndim < 0 || ndim > NN_MAX_DIMS) return nn_graph_add_tensor(g, name, dt, ndim, NULL);
    for (int i = 0; i < ndim; i++) d[i] = dims ? dims[i] : -1;
    return nn_graph_add_tensor(g, name, dt, ndim, d);
}

static uint64_t hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

int ld_names_get(const ld_names *m, const char *key, size_t klen) {
    if (!m->cap) return -1;
    for (size_t i = hash(key, klen) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i]) return -1;
        if (strlen(m->keys[i]) == klen && !memcmp(m->keys[i], key, klen)) return m->vals[i];
    }
}

static int put_slot(char **keys, int *vals, size_t cap, char *k, int v) {
    size_t n = strlen(k);
    for (size_t i = hash(k, n) & (cap - 1);; i = (i + 1) & (cap - 1)) {
        if (!keys[i]) { keys[i] = k; vals[i] = v; return 1; }
        if (!strcmp(keys[i], k)) { free(k); vals[i] = v; return 0; }
    }
}

int ld_names_put(ld_names *m, const char *key, size_t klen, int val) {
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        char **k = calloc(cap, sizeof *k);
        int *v = calloc(cap, sizeof *v);
        if (!k || !v) { free(k); free(v); fs_error(FS_ERR_NOMEM, "loader: out of memory"); return -1; }
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) put_slot(k, v, cap, m->keys[i], m->vals[i]);
        free(m->keys);
        free(m->vals);
        m->keys = k;
        m->vals = v;
        m->cap = cap;
    }
    char *s = malloc(klen + 1);
    if (!s) { fs_error(FS_ERR_NOMEM, "loader: out of memory"); return -1; }
    memcpy(s, key, klen);
    s[klen] = 0;
    m->n += (size_t)put_slot(m->keys, m->vals, m->cap, s, val);
    return 0;
}

void ld_names_free(ld_names *m) {
    for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

int ld_broadcast(int na, const int64_t *a, int nb, const int64_t *b, int *nout, int64_t *out) {
    int n = na > nb ? na : nb;
    for (int i = 0; i < n; i++) {
        int64_t da = i < n - na ? 1 : a[i - (n - na)];
        int64_t db = i < n - nb ? 1 : b[i - (n - nb)];
        if (da == db) out[i] = da;
        else if (da == 1) out[i] = db;
        else if (db == 1) out[i] = da;
        else if (da < 0 || db < 0) out[i] = -1;
        else return -1;
    }
    *nout = n;
    return 0;
}
