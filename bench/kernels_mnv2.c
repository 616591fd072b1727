/* bench/kernels_mnv2.c — times facescore's conv kernels over MobileNetV2 1.0/224's exact conv
 * layer list (NHWC float32, TF SAME padding, fused ReLU6), calling nn_select_conv()/run directly.
 * Residual adds and the average pool are not included (they are not conv kernels).
 *
 *   sh bench/kernels_mnv2.sh [--threads N] [--reps N] [--layers] [--only LAYER]
 * prints per-layer median ms (with --layers), the summed per-run median and min, and GFLOP/s. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cpu.h"
#include "core/threadpool.h"
#include "nn/kernels/kernels.h"

#define MAX_LAYERS 64

typedef struct {
    nn_conv_params p;
    nn_conv_impl k;
    double flops;
    double *t;
} layer;

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmpd);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int n_layers;
static layer L[MAX_LAYERS];

/* TF SAME padding for one conv */
static void add(int h, int w, int ic, int oc, int k, int s, int groups, float act_max) {
    nn_conv_params *p = &L[n_layers].p;
    memset(p, 0, sizeof *p);
    p->n = 1, p->ih = h, p->iw = w, p->ic = ic, p->oc = oc, p->kh = p->kw = k, p->sh = p->sw = s;
    p->dh = p->dw = 1, p->groups = groups;
    p->oh = (h + s - 1) / s, p->ow = (w + s - 1) / s;
    int ph = (p->oh - 1) * s + k - h, pw = (p->ow - 1) * s + k - w;
    p->pad_t = ph > 0 ? ph / 2 : 0, p->pad_l = pw > 0 ? pw / 2 : 0;
    p->act_min = act_max > 0 ? 0.0f : -INFINITY;
    p->act_max = act_max > 0 ? act_max : INFINITY;
    L[n_layers].flops = 2.0 * p->oh * p->ow * oc * k * k * (ic / groups);
    n_layers++;
}

int main(int argc, char **argv) {
    int threads = 1, reps = 200, show = 0, only = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--layers")) show = 1;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = atoi(argv[++i]); /* one layer */
    }
    /* MobileNetV2 1.0 / 224 */
    int h = 224, c = 32;
    add(h, h, 3, 32, 3, 2, 1, 6);
    h = 112;
    add(h, h, 32, 32, 3, 1, 32, 6); /* block 0, t = 1 */
    add(h, h, 32, 16, 1, 1, 1, 0);
    c = 16;
    static const int cfg[6][4] = {{6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                                  {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    for (int b = 0; b < 6; b++)
        for (int i = 0; i < cfg[b][2]; i++) {
            int s = i ? 1 : cfg[b][3], e = c * cfg[b][0];
            add(h, h, c, e, 1, 1, 1, 6);
            add(h, h, e, e, 3, s, e, 6);
            h = (h + s - 1) / s;
            add(h, h, e, cfg[b][1], 1, 1, 1, 0);
            c = cfg[b][1];
        }
    add(h, h, c, 1280, 1, 1, 1, 6);
    add(1, 1, 1280, 1001, 1, 1, 1, 0); /* logits as a 1x1 conv, after the average pool */

    size_t maxbuf = 0;
    double total_flops = 0;
    for (int i = 0; i < n_layers; i++) {
        nn_conv_params *p = &L[i].p;
        size_t a = (size_t)p->ih * p->iw * p->ic, o = (size_t)p->oh * p->ow * p->oc;
        if (a > maxbuf) maxbuf = a;
        if (o > maxbuf) maxbuf = o;
        size_t nw = (size_t)p->oc * p->kh * p->kw * (p->ic / p->groups);
        float *w = malloc(nw * 4), *bias = malloc((size_t)p->oc * 4);
        for (size_t j = 0; j < nw; j++) w[j] = (float)((j * 7919) % 1000) / 1000.0f - 0.5f;
        for (int j = 0; j < p->oc; j++) bias[j] = 0.01f * (float)(j % 7);
        if (nn_select_conv(p, w, bias, &L[i].k)) { fprintf(stderr, "select failed\n"); return 1; }
        free(w);
        free(bias);
        L[i].t = malloc(sizeof(double) * (size_t)reps);
        total_flops += L[i].flops;
    }
    float *a = aligned_alloc(64, (maxbuf * 4 + 63) / 64 * 64), *b = aligned_alloc(64, (maxbuf * 4 + 63) / 64 * 64);
    for (size_t j = 0; j < maxbuf; j++) a[j] = (float)(j % 255) / 255.0f;
    fs_pool *pool = fs_pool_create(threads);
    double *tot = malloc(sizeof(double) * (size_t)reps);
    for (int r = -reps / 10 - 1; r < reps; r++) {
        double t0 = now_ms();
        for (int i = 0; i < n_layers; i++) {
            if (only >= 0 && i != only) { L[i].t[r < 0 ? 0 : r] = 0; continue; }
            double ts = now_ms();
            float *in = i % 2 ? b : a, *out = i % 2 ? a : b;
            L[i].k.run(&L[i].k, &L[i].p, in, out, pool);
            if (r >= 0) L[i].t[r] = now_ms() - ts;
        }
        if (r >= 0) tot[r] = now_ms() - t0;
    }
    double sum_med = 0;
    for (int i = 0; i < n_layers; i++) {
        nn_conv_params *p = &L[i].p;
        double m = median(L[i].t, reps);
        sum_med += m;
        if (show)
            printf("%2d %-18s %3dx%3dx%4d -> %3dx%3dx%4d k%d s%d g%-4d %7.4f ms %6.1f GFLOP/s\n", i,
                   L[i].k.name, p->ih, p->iw, p->ic, p->oh, p->ow, p->oc, p->kh, p->sh, p->groups, m,
                   L[i].flops / m / 1e6);
    }
    double med = median(tot, reps), mn = tot[0];
    printf("cpu %s, threads %d, reps %d, %d conv layers, %.1f MFLOP\n", fs_cpu_level_name(),
           fs_pool_size(pool), reps, n_layers, total_flops / 1e6);
    printf("sum of layer medians %.3f ms; whole-run median %.3f ms, min %.3f ms (%.1f GFLOP/s at median)\n",
           sum_med, med, mn, total_flops / med / 1e6);
    for (int i = 0; i < n_layers; i++) nn_conv_impl_free(&L[i].k);
    fs_pool_free(pool);
    return 0;
}
