/* bench/grad_bench.c — times the train/grad backward passes over faceres's exact layer list
 * (MobileNetV1-like: 3x3 s2 conv, 13 depthwise 3x3 + 13 pointwise 1x1, ReLU6 clamps, global mean,
 * FC 1024->256 + ReLU) or MobileNetV2 1.0's (--net mnv2), against the runtime's forward kernels
 * (nn_select_conv / nn_select_fc) on the same shapes, random data, batch N.
 *
 *   make grad-bench && build/grad_bench [--batch 8] [--threads 1] [--reps 5] [--layers] [--min]
 *                                       [--cpu] [--net faceres|mnv2] [--only LAYER]
 *
 * Backward per layer = clamp backward on dY + dX (not for the first conv: its input is the image)
 * + dW + db, timed apart and as one gr_conv2d_backward_mx call (what the engine calls; fused pass for
 * the narrow 1x1 convs and the depthwise convs, which also apply the previous conv's ReLU6 mask to
 * their dX, so that the previous conv skips its clamp). Prints per-layer medians (with --layers), the summed medians of forward and backward,
 * per image, and the backward/forward ratio. --min takes each layer's fastest rep instead, --cpu
 * measures this thread's CPU time instead of wall time (both: robust on a machine shared with other
 * jobs; cache and memory-bandwidth contention still show). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cpu.h"
#include "core/threadpool.h"
#include "nn/kernels/kernels.h"
#include "train/grad/grad.h"
#include "train/grad/grad_internal.h"

static int use_cpu = 0; /* --cpu: this thread's CPU time (1 thread only): robust on a loaded machine */
static double now_ms(void) {
    struct timespec t;
    clock_gettime(use_cpu ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static int cmpd(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static int use_min = 0; /* --min: the fastest rep instead of the median (a loaded shared machine) */
static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmpd);
    if (use_min) return v[0];
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
static float *rnd(size_t n, unsigned *seed) {
    float *p = malloc(n * sizeof *p);
    if (!p) exit(1);
    for (size_t i = 0; i < n; i++) p[i] = (float)((double)rand_r(seed) / RAND_MAX - 0.5);
    return p;
}

/* one layer: input h (square), cin, cout, kernel, stride, depthwise, ReLU6 clamp (else none) */
typedef struct { int h, cin, cout, k, st, dw, relu6; } lay;
#define MAXL 80
static lay net[MAXL];
static int NL;
static void add(int h, int cin, int cout, int k, int st, int dw, int relu6) {
    if (NL < MAXL) net[NL++] = (lay){h, cin, cout, k, st, dw, relu6};
}

/* faceres at 224x224: every conv has a ReLU6; then global mean + FC 1024 -> 256 */
static void net_faceres(void) {
    static const int t[][5] = {
        {224, 3, 32, 3, 2},     {112, 32, 32, 3, 1},   {112, 32, 64, 1, 1},   {112, 64, 64, 3, 2},
        {56, 64, 128, 1, 1},    {56, 128, 128, 3, 1},  {56, 128, 128, 1, 1},  {56, 128, 128, 3, 2},
        {28, 128, 256, 1, 1},   {28, 256, 256, 3, 1},  {28, 256, 256, 1, 1},  {28, 256, 256, 3, 2},
        {14, 256, 512, 1, 1},   {14, 512, 512, 3, 1},  {14, 512, 512, 1, 1},  {14, 512, 512, 3, 1},
        {14, 512, 512, 1, 1},   {14, 512, 512, 3, 1},  {14, 512, 512, 1, 1},  {14, 512, 512, 3, 1},
        {14, 512, 512, 1, 1},   {14, 512, 512, 3, 1},  {14, 512, 512, 1, 1},  {14, 512, 512, 3, 2},
        {7, 512, 1024, 1, 1},   {7, 1024, 1024, 3, 1}, {7, 1024, 1024, 1, 1},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) add(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], i > 0 && t[i][3] == 3, 1);
}

/* MobileNetV2 1.0 at 224x224 (same list as bench/kernels_mnv2.c): projections have no clamp;
 * residual adds not included (their backward is an identity); then global mean + FC 1280 -> 1001 */
static void net_mnv2(void) {
    int h = 224, c = 16;
    add(h, 3, 32, 3, 2, 0, 1);
    h = 112;
    add(h, 32, 32, 3, 1, 1, 1);
    add(h, 32, 16, 1, 1, 0, 0);
    static const int cfg[6][4] = {{6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    for (int b = 0; b < 6; b++)
        for (int i = 0; i < cfg[b][2]; i++) {
            const int st = i ? 1 : cfg[b][3], e = c * cfg[b][0];
            add(h, c, e, 1, 1, 0, 1);
            add(h, e, e, 3, st, 1, 1);
            h = (h + st - 1) / st;
            add(h, e, cfg[b][1], 1, 1, 0, 0);
            c = cfg[b][1];
        }
    add(h, c, 1280, 1, 1, 0, 1);
}

/* layer l's conv geometry at batch n (TF SAME padding) */
static gr_conv_shape layer_shape(int l, int batch) {
    const int h = net[l].h, k = net[l].k, st = net[l].st;
    const int oh = (h + st - 1) / st, pad = (oh - 1) * st + k - h;
    return (gr_conv_shape){batch, h, h, net[l].cin, oh, oh, net[l].cout, k, k, st, st, 1, 1, pad / 2, pad / 2,
                           net[l].dw ? net[l].cin : 1};
}

/* does layer l's backward mask its dX by layer l-1's ReLU6 (the engine's move_clamps)? */
static int masks_input(int l, int batch) {
    if (l <= 0 || l >= NL || !net[l - 1].relu6) return 0;
    const gr_conv_shape s = layer_shape(l, batch);
    return gr_conv_masks_in_pass(&s);
}

int main(int argc, char **argv) {
    int batch = 8, threads = 1, reps = 5, show = 0, mnv2 = 0, only = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--layers")) show = 1;
        else if (!strcmp(argv[i], "--min")) use_min = 1;
        else if (!strcmp(argv[i], "--cpu")) use_cpu = 1;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--net") && i + 1 < argc && !strcmp(argv[i + 1], "mnv2")) mnv2 = 1, i++;
        else if (!strcmp(argv[i], "--net") && i + 1 < argc && !strcmp(argv[i + 1], "faceres")) i++;
        else { fprintf(stderr, "usage: grad_bench [--batch N] [--threads N] [--reps N] [--layers] [--min] [--cpu] [--net faceres|mnv2] [--only LAYER]\n"); return 2; }
    }
    if (batch < 1 || threads < 1 || reps < 1 || (use_cpu && threads > 1)) {
        fprintf(stderr, "grad_bench: bad arguments (--cpu needs --threads 1)\n");
        return 2;
    }
    if (mnv2) net_mnv2();
    else net_faceres();
    const int feat = mnv2 ? 1280 : 1024, heads = mnv2 ? 1001 : 256;
    fs_pool *pool = threads > 1 ? fs_pool_create(threads) : NULL;
    const gr_kernels *kt = gr_kernels_best();
    printf("grad_bench: %s layers, batch %d, threads %d, reps %d, cpu %s, grad kernels %s, %s time\n", mnv2 ? "MobileNetV2" : "faceres", batch, threads, reps,
           fs_cpu_level_name(), kt ? kt->name : "reference", use_cpu ? "thread CPU" : "wall");
    unsigned seed = 1;
    double fw_sum = 0, bw_sum = 0, comp_sum = 0, fused_sum = 0, *tf = malloc(reps * sizeof *tf), *tb = malloc(reps * sizeof *tb);
    double *tz = malloc(reps * sizeof *tz), *tc = malloc(reps * sizeof *tc), *td = malloc(reps * sizeof *td), *tw = malloc(reps * sizeof *tw);
    for (int l = 0; l <= NL; l++) {
        if (only >= 0 && l != only) continue;
        gr_conv_shape s;
        const int fc = l == NL; /* the last "layer": global mean + FC feat -> heads */
        /* ReLU6 convs; the FC has a ReLU (faceres' feats/Relu) */
        const float hi = !fc && net[l].relu6 ? 6.0f : INFINITY, lo = fc || net[l].relu6 ? 0.0f : -INFINITY;
        if (!fc) {
            s = layer_shape(l, batch);
        } else {
            s = (gr_conv_shape){batch, 7, 7, feat, 1, 1, heads, 1, 1, 1, 1, 1, 1, 0, 0, 1};
        }
        const size_t nx = (size_t)s.n * s.h * s.w * s.cin, ny = (size_t)s.n * s.oh * s.ow * s.cout;
        const size_t nw = (size_t)s.cout * s.kh * s.kw * (s.cin / s.groups);
        float *x = rnd(nx, &seed), *w = rnd(nw, &seed), *b = rnd(s.cout, &seed), *y = malloc(ny * 4);
        float *dy = rnd(ny, &seed), *dyc = malloc(ny * 4), *dx = malloc(nx * 4), *dw = calloc(nw, 4),
              *db = calloc(s.cout, 4);
        void *scratch = malloc(gr_conv_scratch_size(&s, threads) + 64);
        nn_conv_params p = {s.n, s.h, s.w, s.cin, s.oh, s.ow, s.cout, s.kh, s.kw, s.sh, s.sw, 1, 1, s.pt, s.pl,
                            s.groups, lo, hi};
        nn_fc_params fp = {batch, feat, heads, lo, hi};
        nn_conv_impl k = {0};
        nn_fc_impl kf = {0};
        float *pooled = malloc((size_t)batch * feat * 4), *dpooled = malloc((size_t)batch * feat * 4);
        if (!fc ? nn_select_conv(&p, w, b, &k) : nn_select_fc(&fp, w, b, &kf)) return 1;
        for (int r = -1; r < reps; r++) { /* r = -1: warm-up */
            double t0 = now_ms();
            if (!fc) {
                k.run(&k, &p, x, y, pool);
            } else { /* mean over 7x7 then FC (forward of the head part) */
                for (int i = 0; i < batch; i++)
                    for (int c = 0; c < feat; c++) {
                        float a = 0;
                        for (int q = 0; q < 49; q++) a += x[((size_t)i * 49 + q) * feat + c];
                        pooled[i * feat + c] = a / 49;
                    }
                kf.run(&kf, &fp, pooled, y, pool);
            }
            double t1 = now_ms();
            memcpy(dyc, dy, ny * 4);
            double t2 = now_ms(), ta = t2, tb2 = t2;
            if (!fc) {
                if (lo > -INFINITY || hi < INFINITY) gr_clamp_backward(dyc, y, lo, hi, ny);
                ta = now_ms();
                if (l > 0) gr_conv2d_backward_data(dx, dyc, w, &s, scratch, pool);
                tb2 = now_ms();
                gr_conv2d_backward_weight(dw, db, dyc, x, &s, scratch, pool);
            } else {
                gr_clamp_backward(dyc, y, lo, hi, ny);
                gr_fc_backward(dpooled, dw, db, dyc, pooled, w, batch, feat, heads, pool);
                gr_mean_hw_backward(dx, dpooled, batch, 49, feat);
            }
            double t3 = now_ms(), t4 = t3, t5 = t3;
            if (!fc) { /* the same backward as one gr_conv2d_backward call (fused for narrow 1x1) */
                memcpy(dyc, dy, ny * 4);
                t4 = now_ms();
                /* as the engine: a depthwise / fused 1x1 conv masks its dX by the previous conv's ReLU6
                 * (x in [0, 6]), and that conv then skips its own clamp */
                const int moved_out = masks_input(l + 1, batch), moved_in = masks_input(l, batch);
                gr_conv2d_backward_mx(l > 0 ? dx : NULL, dw, db, dyc, moved_out ? NULL : y, lo, hi, x, w, &s, scratch,
                                      pool, moved_in ? 0.0f : -INFINITY, moved_in ? 6.0f : INFINITY);
                t5 = now_ms();
            }
            if (r >= 0) {
                tf[r] = t1 - t0, tb[r] = t3 - t2, tc[r] = ta - t2, td[r] = tb2 - ta, tw[r] = t3 - tb2;
                tz[r] = fc ? t3 - t2 : t5 - t4;
            }
        }
        const double mf = median(tf, reps), mb = median(tb, reps);
        const double mc = median(tc, reps), md = median(td, reps), mw = median(tw, reps), mz = median(tz, reps);
        fw_sum += mf, bw_sum += mb, comp_sum += mc + md + mw, fused_sum += mz;
        if (show)
            printf("  %2d %-9s %3dx%-3d %4d->%-4d k%d s%d  fwd %7.3f  bwd %7.3f ms (x%5.2f) = clamp %6.3f + dX %7.3f + "
                   "dW,db %7.3f; one call %7.3f  %s\n", l, fc ? "mean+fc" : s.groups > 1 ? "depthwise" : s.kh == 1 ? "pointwise" : "conv",
                   s.h, s.w, s.cin, s.cout, s.kh, s.sh, mf, mb, mb / mf, mc, md, mw, mz, fc ? kf.name : k.name);
        if (!fc) nn_conv_impl_free(&k);
        else nn_fc_impl_free(&kf);
        free(x), free(w), free(b), free(y), free(dy), free(dyc), free(dx), free(dw), free(db), free(scratch);
        free(pooled), free(dpooled);
    }
    printf("forward  (runtime kernels, summed layer %s): %9.2f ms/batch  %7.3f ms/image\n", use_min ? "minima " : "medians", fw_sum, fw_sum / batch);
    printf("backward (dX+dW+db+clamp, summed layer %s): %9.2f ms/batch  %7.3f ms/image\n", use_min ? "minima " : "medians", bw_sum, bw_sum / batch);
    printf("backward (sum of the clamp, dX, dW+db %s):       %9.2f ms/batch  %7.3f ms/image\n",
           use_min ? "minima " : "medians", comp_sum, comp_sum / batch);
    printf("backward (gr_conv2d_backward, one call a layer, %s): %9.2f ms/batch  %7.3f ms/image\n",
           use_min ? "minima " : "medians", fused_sum, fused_sum / batch);
    printf("backward / forward: %.2f (totals), %.2f (components), %.2f (one call a layer)\n", bw_sum / fw_sum,
           comp_sum / fw_sum, fused_sum / fw_sum);
    free(tf), free(tb), free(tc), free(td), free(tw), free(tz);
    fs_pool_free(pool);
    return 0;
}
