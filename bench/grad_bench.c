/* bench/grad_bench.c — times the train/grad backward passes over faceres's exact layer list
 * (MobileNetV1-like: 3x3 s2 conv, 13 depthwise 3x3 + 13 pointwise 1x1, ReLU6 clamps, global mean,
 * FC 1024->256) against the runtime's forward kernels (nn_select_conv / nn_select_fc) on the same
 * shapes, random data, batch N.
 *
 *   make grad-bench && build/grad_bench [--batch 8] [--threads 1] [--reps 5] [--layers] [--min]
 *
 * Backward per layer = clamp backward on dY + dX (not for the first conv: its input is the image)
 * + dW + db. Prints per-layer medians (with --layers), the summed medians of forward and backward,
 * per image, and the backward/forward ratio. --min takes each layer's fastest rep instead (robust on
 * a machine shared with other jobs). */
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

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
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

/* faceres: {h (input), cin, cout, k, stride, depthwise} at 224x224 */
static const int net[][6] = {
    {224, 3, 32, 3, 2, 0},
    {112, 32, 32, 3, 1, 1},   {112, 32, 64, 1, 1, 0},   {112, 64, 64, 3, 2, 1},   {56, 64, 128, 1, 1, 0},
    {56, 128, 128, 3, 1, 1},  {56, 128, 128, 1, 1, 0},  {56, 128, 128, 3, 2, 1},  {28, 128, 256, 1, 1, 0},
    {28, 256, 256, 3, 1, 1},  {28, 256, 256, 1, 1, 0},  {28, 256, 256, 3, 2, 1},  {14, 256, 512, 1, 1, 0},
    {14, 512, 512, 3, 1, 1},  {14, 512, 512, 1, 1, 0},  {14, 512, 512, 3, 1, 1},  {14, 512, 512, 1, 1, 0},
    {14, 512, 512, 3, 1, 1},  {14, 512, 512, 1, 1, 0},  {14, 512, 512, 3, 1, 1},  {14, 512, 512, 1, 1, 0},
    {14, 512, 512, 3, 1, 1},  {14, 512, 512, 1, 1, 0},  {14, 512, 512, 3, 2, 1},  {7, 512, 1024, 1, 1, 0},
    {7, 1024, 1024, 3, 1, 1}, {7, 1024, 1024, 1, 1, 0},
};
#define NL ((int)(sizeof net / sizeof *net))

int main(int argc, char **argv) {
    int batch = 8, threads = 1, reps = 5, show = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--layers")) show = 1;
        else if (!strcmp(argv[i], "--min")) use_min = 1;
        else { fprintf(stderr, "usage: grad_bench [--batch N] [--threads N] [--reps N] [--layers] [--min]\n"); return 2; }
    }
    if (batch < 1 || threads < 1 || reps < 1) return 2;
    fs_pool *pool = threads > 1 ? fs_pool_create(threads) : NULL;
    const gr_kernels *kt = gr_kernels_best();
    printf("grad_bench: faceres layers, batch %d, threads %d, reps %d, cpu %s, grad kernels %s\n", batch, threads, reps,
           fs_cpu_level_name(), kt ? kt->name : "reference");
    unsigned seed = 1;
    double fw_sum = 0, bw_sum = 0, comp_sum = 0, *tf = malloc(reps * sizeof *tf), *tb = malloc(reps * sizeof *tb);
    double *tc = malloc(reps * sizeof *tc), *td = malloc(reps * sizeof *td), *tw = malloc(reps * sizeof *tw);
    for (int l = 0; l <= NL; l++) {
        gr_conv_shape s;
        const int fc = l == NL; /* the last "layer": global mean + FC 1024 -> 256 (feats) */
        if (!fc) {
            const int h = net[l][0], k = net[l][3], st = net[l][4], dwc = net[l][5];
            const int oh = (h + st - 1) / st, pad = (oh - 1) * st + k - h; /* TF SAME */
            s = (gr_conv_shape){batch, h, h, net[l][1], oh, oh, net[l][2], k, k, st, st, 1, 1, pad / 2, pad / 2,
                                dwc ? net[l][1] : 1};
        } else {
            s = (gr_conv_shape){batch, 7, 7, 1024, 1, 1, 256, 1, 1, 1, 1, 1, 1, 0, 0, 1};
        }
        const size_t nx = (size_t)s.n * s.h * s.w * s.cin, ny = (size_t)s.n * s.oh * s.ow * s.cout;
        const size_t nw = (size_t)s.cout * s.kh * s.kw * (s.cin / s.groups);
        float *x = rnd(nx, &seed), *w = rnd(nw, &seed), *b = rnd(s.cout, &seed), *y = malloc(ny * 4);
        float *dy = rnd(ny, &seed), *dyc = malloc(ny * 4), *dx = malloc(nx * 4), *dw = calloc(nw, 4),
              *db = calloc(s.cout, 4);
        void *scratch = malloc(gr_conv_scratch_size(&s, threads) + 64);
        nn_conv_params p = {s.n, s.h, s.w, s.cin, s.oh, s.ow, s.cout, s.kh, s.kw, s.sh, s.sw, 1, 1, s.pt, s.pl,
                            s.groups, 0.0f, 6.0f};
        nn_fc_params fp = {batch, 1024, 256, 0.0f, INFINITY};
        nn_conv_impl k = {0};
        nn_fc_impl kf = {0};
        float *pooled = malloc((size_t)batch * 1024 * 4), *dpooled = malloc((size_t)batch * 1024 * 4);
        if (!fc ? nn_select_conv(&p, w, b, &k) : nn_select_fc(&fp, w, b, &kf)) return 1;
        for (int r = -1; r < reps; r++) { /* r = -1: warm-up */
            double t0 = now_ms();
            if (!fc) {
                k.run(&k, &p, x, y, pool);
            } else { /* mean over 7x7 then FC (forward of the head part) */
                for (int i = 0; i < batch; i++)
                    for (int c = 0; c < 1024; c++) {
                        float a = 0;
                        for (int q = 0; q < 49; q++) a += x[((size_t)i * 49 + q) * 1024 + c];
                        pooled[i * 1024 + c] = a / 49;
                    }
                kf.run(&kf, &fp, pooled, y, pool);
            }
            double t1 = now_ms();
            memcpy(dyc, dy, ny * 4);
            double t2 = now_ms(), ta = t2, tb2 = t2;
            if (!fc) {
                gr_clamp_backward(dyc, y, 0.0f, 6.0f, ny);
                ta = now_ms();
                if (l > 0) gr_conv2d_backward_data(dx, dyc, w, &s, scratch, pool);
                tb2 = now_ms();
                gr_conv2d_backward_weight(dw, db, dyc, x, &s, scratch, pool);
            } else {
                gr_clamp_backward(dyc, y, 0.0f, INFINITY, ny);
                gr_fc_backward(dpooled, dw, db, dyc, pooled, w, batch, 1024, 256, pool);
                gr_mean_hw_backward(dx, dpooled, batch, 49, 1024);
            }
            double t3 = now_ms();
            if (r >= 0) tf[r] = t1 - t0, tb[r] = t3 - t2, tc[r] = ta - t2, td[r] = tb2 - ta, tw[r] = t3 - tb2;
        }
        const double mf = median(tf, reps), mb = median(tb, reps);
        const double mc = median(tc, reps), md = median(td, reps), mw = median(tw, reps);
        fw_sum += mf, bw_sum += mb, comp_sum += mc + md + mw;
        if (show)
            printf("  %2d %-9s %3dx%-3d %4d->%-4d k%d s%d  fwd %7.3f  bwd %7.3f ms (x%5.2f) = clamp %6.3f + dX %7.3f + "
                   "dW,db %7.3f  %s\n", l, fc ? "mean+fc" : s.groups > 1 ? "depthwise" : s.kh == 1 ? "pointwise" : "conv",
                   s.h, s.w, s.cin, s.cout, s.kh, s.sh, mf, mb, mb / mf, mc, md, mw, fc ? kf.name : k.name);
        if (!fc) nn_conv_impl_free(&k);
        else nn_fc_impl_free(&kf);
        free(x), free(w), free(b), free(y), free(dy), free(dyc), free(dx), free(dw), free(db), free(scratch);
        free(pooled), free(dpooled);
    }
    printf("forward  (runtime kernels, summed layer %s): %9.2f ms/batch  %7.3f ms/image\n", use_min ? "minima " : "medians", fw_sum, fw_sum / batch);
    printf("backward (dX+dW+db+clamp, summed layer %s): %9.2f ms/batch  %7.3f ms/image\n", use_min ? "minima " : "medians", bw_sum, bw_sum / batch);
    printf("backward (sum of the clamp, dX, dW+db %s):       %9.2f ms/batch  %7.3f ms/image\n",
           use_min ? "minima " : "medians", comp_sum, comp_sum / batch);
    printf("backward / forward: %.2f (totals), %.2f (components)\n", bw_sum / fw_sum, comp_sum / fw_sum);
    free(tf), free(tb), free(tc), free(td), free(tw);
    fs_pool_free(pool);
    return 0;
}
