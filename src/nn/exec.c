/* nn/exec.c — running a planned graph: one function pointer per node, chosen at plan time.
 * A run allocates nothing: activations live in the planned arena, kernels' state was prepared. */
#include "core/threadpool.h"
#include "nn/ops/ops.h"

fs_status nn_graph_run(nn_graph *g) {
    if (!g->planned) {
        fs_status st = nn_graph_plan(g);
        if (st) return st;
    }
    g->status = FS_OK;
    for (int i = 0; i < g->n_nodes; i++) {
        nn_node *n = &g->nodes[i];
        if (n->folded) continue;
        n->run(g, n);
        if (g->status) return g->status;
    }
    return FS_OK;
}

fs_status nn_graph_set_threads(nn_graph *g, int threads) {
    if (threads <= 0) threads = fs_cpu_count();
    if (threads > 256) threads = 256;
    if (threads == g->threads && (threads == 1 || g->pool)) return FS_OK;
    nn_pool_release(g);
    g->threads = threads;
    if (threads > 1) {
        g->pool = fs_pool_create(threads);
        if (!g->pool) {
            g->threads = 1;
            return fs_error(FS_ERR_NOMEM, "nn: cannot create a pool of %d threads", threads);
        }
    }
    return FS_OK;
}

struct fs_pool *nn_graph_pool(nn_graph *g) { return g->threads > 1 ? g->pool : NULL; }

void nn_pool_release(nn_graph *g) {
    if (g->pool) fs_pool_free(g->pool);
    g->pool = NULL;
}
