/* cli/bench_model.c — `facescore bench model FILE [--threads N] [--reps N] [--warmup N] [--shape D,..]`.
 *
 * Loads a model (TFLite / ONNX / TF.js), fills every float input with a fixed deterministic pattern
 * in [-1, 1], runs `warmup` untimed inferences (the first one plans: shapes, kernels, arena), then
 * times `reps` runs one by one. Prints load/plan times, warm median/min/max latency, the peak RSS,
 * the median process CPU time per run, the heap in use before/after the timed runs (steady-state
 * runs must not grow it), and last the line `median_ms <number>`. With FS_NN_PROFILE=1 it also
 * prints the time per op type on stderr. */
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/cpu.h"
#include "facescore.h"
#include "nn/graph.h"
#include "nn/model.h"

static void bench_usage(void) {
    fprintf(stderr, "usage: facescore bench model FILE [--threads N] [--reps N] [--warmup N] "
                    "[--shape D0,D1,...]\n"
                    "  --shape fixes input 0's dims; otherwise unknown (-1) dims of every input are set to 1\n");
}

/* "1,3,640,640" -> dims; number of dims or -1 */
static int bench_parse_shape(const char *s, int64_t *dims) {
    int n = 0;
    while (*s && n < FS_MODEL_MAX_DIMS) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 1 || v > (1 << 20)) return -1;
        dims[n++] = v;
        if (*end == ',') s = end + 1;
        else if (!*end) return n;
        else return -1;
    }
    return -1;
}

/* Inputs with unknown dims: input 0 gets --shape if given, any other -1 dim becomes 1. */
static int bench_fix_shapes(fs_model *m, int n_shape, const int64_t *shape) {
    for (int i = 0; i < fs_model_num_inputs(m); i++) {
        fs_tensor_info info;
        if (fs_model_input_info(m, i, &info) != FS_OK) return -1;
        int64_t dims[FS_MODEL_MAX_DIMS];
        int nd = info.ndim, changed = 0;
        if (i == 0 && n_shape > 0) {
            nd = n_shape, changed = 1;
            for (int d = 0; d < nd; d++) dims[d] = shape[d];
        } else {
            for (int d = 0; d < nd; d++) {
                dims[d] = info.dims[d] < 0 ? 1 : info.dims[d];
                changed |= info.dims[d] < 0;
            }
        }
        if (changed && fs_model_set_input_shape(m, i, nd, dims) != FS_OK) return -1;
    }
    return 0;
}

/* input i: x[k] = sin(0.001 * k * (i + 1) + i), reproducible across runs and machines */
static int bench_fill_inputs(fs_model *m) {
    for (int i = 0; i < fs_model_num_inputs(m); i++) {
        size_t n = 0;
        float *x = fs_model_input(m, i, &n);
        if (!x) return -1;
        for (size_t k = 0; k < n; k++) x[k] = (float)sin(0.001 * (double)k * (i + 1) + i);
    }
    return 0;
}

static double bench_cpu_ms(void) { /* process CPU time, all threads */
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static size_t bench_heap_in_use(void) {
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

int fs_cli_bench_model(int argc, char **argv) {
    const char *path = NULL;
    int threads = 1, reps = 50, warmup = 10, n_shape = 0;
    int64_t shape[FS_MODEL_MAX_DIMS];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--threads") || !strcmp(a, "--reps") || !strcmp(a, "--warmup")) {
            if (i + 1 >= argc) { bench_usage(); return 2; }
            int *dst = a[2] == 't' ? &threads : a[2] == 'r' ? &reps : &warmup;
            if (fs_cli_parse_int(a, argv[++i], a[2] == 'w' ? 0 : 1, 100000, dst)) return 2;
        } else if (!strcmp(a, "--shape")) {
            if (i + 1 >= argc || (n_shape = bench_parse_shape(argv[++i], shape)) < 1) {
                fprintf(stderr, "facescore bench model: --shape expects dims like 1,3,640,640\n");
                return 2;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "facescore bench model: unknown option %s\n", a);
            bench_usage();
            return 2;
        } else if (!path) path = a;
        else { bench_usage(); return 2; }
    }
    if (!path) { bench_usage(); return 2; }

    double t0 = fs_cli_now_ms();
    fs_model *m = NULL;
    if (fs_model_load(path, &m) != FS_OK) {
        fprintf(stderr, "facescore bench model: %s: %s\n", path, fs_last_error());
        return 1;
    }
    double t_load = fs_cli_now_ms() - t0;
    int rc = 1;
    double *t = malloc(sizeof *t * (size_t)reps), *cpu = malloc(sizeof *cpu * (size_t)reps);
    if (!t || !cpu) { fprintf(stderr, "facescore bench model: out of memory\n"); goto done; }
    if (fs_model_set_threads(m, threads) != FS_OK || bench_fix_shapes(m, n_shape, shape)) goto fail;
    t0 = fs_cli_now_ms();
    if (fs_model_plan(m) != FS_OK || bench_fill_inputs(m)) goto fail;
    double t_plan = fs_cli_now_ms() - t0;
    t0 = fs_cli_now_ms();
    if (fs_model_run(m) != FS_OK) goto fail; /* first run, counted with the warm-up */
    double t_first = fs_cli_now_ms() - t0;
    for (int i = 1; i < warmup; i++)
        if (fs_model_run(m) != FS_OK) goto fail;
    size_t heap0 = bench_heap_in_use();
    for (int i = 0; i < reps; i++) {
        double s = fs_cli_now_ms(), c = bench_cpu_ms();
        if (fs_model_run(m) != FS_OK) goto fail;
        t[i] = fs_cli_now_ms() - s;
        cpu[i] = bench_cpu_ms() - c;
    }
    size_t heap1 = bench_heap_in_use();
    double mn = t[0], mx = t[0], sum = 0;
    for (int i = 0; i < reps; i++) {
        mn = t[i] < mn ? t[i] : mn;
        mx = t[i] > mx ? t[i] : mx;
        sum += t[i];
    }
    double med = fs_cli_median(t, reps);
    printf("model      %s (%s)\n", path, fs_model_format(m));
    for (int i = 0; i < fs_model_num_inputs(m); i++) {
        fs_tensor_info info;
        if (fs_model_input_info(m, i, &info) != FS_OK) continue;
        printf("input %d    %s [", i, info.name ? info.name : "?");
        for (int d = 0; d < info.ndim; d++) printf("%s%lld", d ? "," : "", (long long)info.dims[d]);
        printf("]\n");
    }
    printf("cpu        %s, threads %d\n", fs_cpu_level_name(), threads);
    printf("load_ms    %.2f\nplan_ms    %.2f\nfirst_ms   %.3f\n", t_load, t_plan, t_first);
    printf("runs       %d warm-up + %d timed\n", warmup, reps);
    printf("min_ms     %.3f\nmax_ms     %.3f\nmean_ms    %.3f\n", mn, mx, sum / reps);
    /* other threads' CPU time reaches the process clock only at scheduler ticks: exact for 1 thread */
    printf("cpu_ms     %.3f (median process CPU time per run%s)\n", fs_cli_median(cpu, reps),
           threads > 1 ? "; approximate with several threads" : "");
    printf("peak_rss_kib %ld\n", fs_cli_peak_rss_kib());
    printf("heap_bytes_before %zu after %zu (timed runs: %+lld)\n", heap0, heap1,
           (long long)heap1 - (long long)heap0);
    if (getenv("FS_NN_PROFILE")) /* per-op-type times (warm-up included), on stderr */
        nn_graph_profile_print(fs_model_graph(m), stderr);
    printf("median_ms %.4f\n", med);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "facescore bench model: %s: %s\n", path, fs_last_error());
done:
    free(t);
    free(cpu);
    fs_model_free(m);
    return rc;
}
