/* nn/exec.c — running a planned graph: one function pointer per node, chosen at plan time.
 * A run allocates nothing: activations live in the planned arena, kernels' state was prepared. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/threadpool.h"
#include "nn/ops/ops.h"

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static fs_status run_profiled(nn_graph *g) {
    for (int i = 0; i < g->n_nodes; i++) {
        nn_node *n = &g->nodes[i];
        if (n->folded) continue;
        double t0 = now_ms();
        n->run(g, n);
        g->prof_ms[i] += now_ms() - t0;
        if (g->status) return g->status;
    }
    g->prof_runs++;
    return FS_OK;
}

void nn_graph_profile_print(const nn_graph *g, void *file) {
    FILE *f = file;
    if (!g->prof_ms || !g->prof_runs) return;
    double by[NN_OP__COUNT] = {0}, total = 0;
    int cnt[NN_OP__COUNT] = {0};
    for (int i = 0; i < g->n_nodes; i++) {
        by[g->nodes[i].type] += g->prof_ms[i];
        cnt[g->nodes[i].type]++;
        total += g->prof_ms[i];
    }
    fprintf(f, "profile over %d runs (ms per run):\n", g->prof_runs);
    for (int t = 0; t < NN_OP__COUNT; t++)
        if (cnt[t])
            fprintf(f, "  %-16s %3d nodes %8.3f ms %5.1f%%\n", nn_op_name((nn_op_type)t), cnt[t],
                    by[t] / g->prof_runs, total > 0 ? 100 * by[t] / total : 0);
    fprintf(f, "  total            %8.3f ms\n", total / g->prof_runs);
}

fs_status nn_graph_run(nn_graph *g) {
    if (!g->planned) {
        fs_status st = nn_graph_plan(g);
        if (st) return st;
    }
    g->status = FS_OK;
    if (g->prof_ms) return run_profiled(g);
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
