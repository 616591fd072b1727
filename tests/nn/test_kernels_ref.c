/* tests/nn/test_kernels_ref.c — the portable reference kernels against hand-computed values and an
 * independent double-precision formulation (explicitly zero-padded input, group-major loops). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "nn/kernels/kernels.h"
#include "../test.h"

static unsigned kr_seed = 12345u;
static float kr_rand(void) { /* uniform in [-1, 1) */
    kr_seed = kr_seed * 1664525u + 1013904223u;
    return (float)((kr_seed >> 8) & 0xffffff) / 8388608.0f - 1.0f;
}
static void kr_fill(float *v, size_t n) { for (size_t i = 0; i < n; i++) v[i] = kr_rand(); }

/* Independent conv: pad the input into a zero-filled buffer first, accumulate in double. */
static void conv_double(const nn_conv_params *p, const float *in, const float *w, const float *b,
                        float *out) {
    int ph = (p->oh - 1) * p->sh + (p->kh - 1) * p->dh + 1 + p->pad_t;
    int pw = (p->ow - 1) * p->sw + (p->kw - 1) * p->dw + 1 + p->pad_l;
    if (ph < p->ih + p->pad_t) ph = p->ih + p->pad_t;
    if (pw < p->iw + p->pad_l) pw = p->iw + p->pad_l;
    double *pad = calloc((size_t)p->n * ph * pw * p->ic, sizeof *pad);
    for (int b0 = 0; b0 < p->n; b0++)
        for (int y = 0; y < p->ih; y++)
            for (int x = 0; x < p->iw; x++)
                for (int c = 0; c < p->ic; c++)
                    pad[(((size_t)b0 * ph + y + p->pad_t) * pw + x + p->pad_l) * p->ic + c] =
                        in[(((size_t)b0 * p->ih + y) * p->iw + x) * p->ic + c];
    int gic = p->ic / p->groups, goc = p->oc / p->groups;
    for (int g = 0; g < p->groups; g++)
        for (int b0 = 0; b0 < p->n; b0++)
            for (int o = g * goc; o < (g + 1) * goc; o++)
                for (int y = 0; y < p->oh; y++)
                    for (int x = 0; x < p->ow; x++) {
                        double acc = b ? b[o] : 0;
                        for (int c = 0; c < gic; c++)
                            for (int ky = 0; ky < p->kh; ky++)
                                for (int kx = 0; kx < p->kw; kx++)
                                    acc += pad[(((size_t)b0 * ph + y * p->sh + ky * p->dh) * pw +
                                                x * p->sw + kx * p->dw) * p->ic + g * gic + c] *
                                           w[(((size_t)o * p->kh + ky) * p->kw + kx) * gic + c];
                        if (acc < p->act_min) acc = p->act_min;
                        if (acc > p->act_max) acc = p->act_max;
                        out[(((size_t)b0 * p->oh + y) * p->ow + x) * p->oc + o] = (float)acc;
                    }
    free(pad);
}

TEST(conv_ref_hand_computed) {
    /* 1x3x3x1 input 1..9, 2x2 kernel of ones, stride 1, pad_t=pad_l=1, output 3x3 (bottom/right
     * padding implied 0): out[y][x] = sum of in over rows y-1..y, cols x-1..x */
    float in[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 1, 1, 1}, b[1] = {0.5f}, out[9];
    nn_conv_params p = {1, 3, 3, 1, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1, 1, -INFINITY, INFINITY};
    nn_conv2d_ref(&p, in, w, b, out);
    const float want[9] = {1.5f, 3.5f, 5.5f, 5.5f, 12.5f, 16.5f, 11.5f, 24.5f, 28.5f};
    for (int i = 0; i < 9; i++) CHECK_NEAR(out[i], want[i], 1e-6);
    p.act_min = 0; p.act_max = 6; /* RELU6 */
    nn_conv2d_ref(&p, in, w, b, out);
    CHECK_NEAR(out[0], 1.5, 1e-6);
    CHECK_NEAR(out[4], 6.0, 1e-6);
}

static int check_conv_case(nn_conv_params p) {
    size_t nin = (size_t)p.n * p.ih * p.iw * p.ic, nout = (size_t)p.n * p.oh * p.ow * p.oc;
    size_t nw = (size_t)p.oc * p.kh * p.kw * (p.ic / p.groups);
    float *in = malloc(nin * 4), *w = malloc(nw * 4), *b = malloc((size_t)p.oc * 4);
    float *o1 = malloc(nout * 4), *o2 = malloc(nout * 4), *o3 = malloc(nout * 4);
    kr_fill(in, nin); kr_fill(w, nw); kr_fill(b, (size_t)p.oc);
    nn_conv2d_ref(&p, in, w, b, o1);
    conv_double(&p, in, w, b, o2);
    nn_conv_impl k;
    int ok = nn_select_conv(&p, w, b, &k) == 0;
    fs_pool *pool = fs_pool_create(2);
    if (ok) k.run(&k, &p, in, o3, pool);
    fs_pool_free(pool);
    for (size_t i = 0; ok && i < nout; i++) {
        double tol = 1e-5 * (1 + fabs(o2[i])) * sqrt((double)nw / p.oc);
        if (!(fabs(o1[i] - o2[i]) <= tol) || !(fabs(o3[i] - o2[i]) <= tol)) {
            fs_test_fail(__FILE__, __LINE__, "%s: out[%zu] ref %.8g sel %.8g double %.8g (k%dx%d s%d g%d)",
                         k.name, i, o1[i], o3[i], o2[i], p.kh, p.kw, p.sh, p.groups);
            ok = 0;
        }
    }
    if (ok) nn_conv_impl_free(&k);
    free(in); free(w); free(b); free(o1); free(o2); free(o3);
    return ok;
}

static int out_dim(int i, int k, int s, int d, int pb, int pe) { return (i + pb + pe - (k - 1) * d - 1) / s + 1; }

TEST(conv_ref_vs_double_random) {
    for (int t = 0; t < 60; t++) {
        nn_conv_params p;
        memset(&p, 0, sizeof p);
        p.n = 1 + (t % 3 == 0);
        p.kh = 1 + (int)((kr_rand() + 1) * 2); p.kw = 1 + (int)((kr_rand() + 1) * 2);
        p.sh = 1 + (t & 1); p.sw = 1 + ((t >> 1) & 1);
        p.dh = 1 + (t % 5 == 0); p.dw = 1 + (t % 7 == 0);
        p.ih = p.kh * p.dh + (int)((kr_rand() + 1) * 5); p.iw = p.kw * p.dw + (int)((kr_rand() + 1) * 5);
        int g = t % 4 == 1 ? 3 : t % 4 == 2 ? 1 + (t % 3) : 1;
        p.ic = g * (1 + (int)((kr_rand() + 1) * 3));
        p.groups = t % 4 == 3 ? p.ic : g;  /* depthwise every 4th case */
        p.oc = p.groups * (1 + (t % 3));
        p.pad_t = t % 3; p.pad_l = (t + 1) % 3;
        p.oh = out_dim(p.ih, p.kh, p.sh, p.dh, p.pad_t, t % 2);
        p.ow = out_dim(p.iw, p.kw, p.sw, p.dw, p.pad_l, 1);
        p.act_min = t % 2 ? 0.0f : -INFINITY; p.act_max = t % 3 ? 6.0f : INFINITY;
        if (p.oh < 1 || p.ow < 1) continue;
        if (!check_conv_case(p)) return;
    }
}

TEST(fc_ref_hand_and_random) {
    float x[6] = {1, 2, 3, -1, 0, 1}, w[6] = {1, 0, -1, 2, 2, 2}, b[2] = {0.25f, -1}, y[4];
    nn_fc_params p = {2, 3, 2, -INFINITY, INFINITY};
    nn_fc_ref(&p, x, w, b, y);
    CHECK_NEAR(y[0], -1.75, 1e-6); CHECK_NEAR(y[1], 11, 1e-6);
    CHECK_NEAR(y[2], -1.75, 1e-6); CHECK_NEAR(y[3], -1, 1e-6);
    p.act_min = 0;
    nn_fc_ref(&p, x, w, b, y);
    CHECK_NEAR(y[0], 0, 0); CHECK_NEAR(y[3], 0, 0);
    for (int t = 0; t < 20; t++) {
        nn_fc_params q = {1 + t % 4, 1 + t * 37 % 300, 1 + t * 53 % 130, t % 2 ? 0.0f : -INFINITY, INFINITY};
        float *in = malloc((size_t)q.m * q.k * 4), *wt = malloc((size_t)q.n * q.k * 4), *bb = malloc((size_t)q.n * 4);
        float *o = malloc((size_t)q.m * q.n * 4), *o2 = malloc((size_t)q.m * q.n * 4);
        kr_fill(in, (size_t)q.m * q.k); kr_fill(wt, (size_t)q.n * q.k); kr_fill(bb, (size_t)q.n);
        nn_fc_ref(&q, in, wt, bb, o);
        nn_fc_impl k;
        CHECK(nn_select_fc(&q, wt, bb, &k) == 0);
        k.run(&k, &q, in, o2, NULL);
        for (int i = 0; i < q.m; i++)
            for (int j = 0; j < q.n; j++) {
                double acc = bb[j];
                for (int c = 0; c < q.k; c++) acc += (double)in[i * q.k + c] * wt[j * q.k + c];
                if (acc < q.act_min) acc = 0;
                double tol = 1e-5 * (1 + fabs(acc)) * sqrt((double)q.k);
                CHECK_NEAR(o[i * q.n + j], acc, tol);
                CHECK_NEAR(o2[i * q.n + j], acc, tol);
            }
        nn_fc_impl_free(&k);
        free(in); free(wt); free(bb); free(o); free(o2);
    }
}

TEST(pool_ref_hand_computed) {
    /* 1x4x4x2: channel 0 = 0..15, channel 1 = -(0..15); 3x3 window stride 2, pad 1 -> 2x2 */
    float in[32], out[8];
    for (int i = 0; i < 16; i++) { in[2 * i] = (float)i; in[2 * i + 1] = -(float)i; }
    nn_pool_params p = {1, 4, 4, 2, 2, 2, 3, 3, 2, 2, 1, 1, 0};
    nn_maxpool_ref(&p, in, out);
    const float wmax[8] = {5, 0, 7, -1, 13, -4, 15, -5};
    for (int i = 0; i < 8; i++) CHECK_NEAR(out[i], wmax[i], 0);
    nn_avgpool_ref(&p, in, out);
    /* window (0,0): rows 0..1, cols 0..1 -> {0,1,4,5} mean 2.5; (0,1): rows 0..1 cols 1..3 ->
     * {1,2,3,5,6,7} mean 4; (1,0): rows 1..3, cols 0..1 -> {4,5,8,9,12,13} mean 8.5; (1,1): 3x3 at 1,1 -> 10 */
    const float wavg[4] = {2.5f, 4, 8.5f, 10};
    for (int i = 0; i < 4; i++) { CHECK_NEAR(out[2 * i], wavg[i], 1e-6); CHECK_NEAR(out[2 * i + 1], -wavg[i], 1e-6); }
    p.count_include_pad = 1;
    nn_avgpool_ref(&p, in, out);
    CHECK_NEAR(out[0], 10.0 / 9, 1e-6);
    CHECK_NEAR(out[6], 90.0 / 9, 1e-6);
}

/* Independent pool: per output, scan the whole padded window in double, testing each tap. */
static void pool_double(const nn_pool_params *p, const float *in, float *out, int is_max) {
    for (int b = 0; b < p->n; b++)
        for (int y = 0; y < p->oh; y++)
            for (int x = 0; x < p->ow; x++)
                for (int c = 0; c < p->c; c++) {
                    double acc = is_max ? -INFINITY : 0;
                    int cnt = 0;
                    for (int ky = 0; ky < p->kh; ky++)
                        for (int kx = 0; kx < p->kw; kx++) {
                            int iy = y * p->sh - p->pad_t + ky, ix = x * p->sw - p->pad_l + kx;
                            if (iy < 0 || ix < 0 || iy >= p->ih || ix >= p->iw) continue;
                            double v = in[(((size_t)b * p->ih + iy) * p->iw + ix) * p->c + c];
                            acc = is_max ? fmax(acc, v) : acc + v;
                            cnt++;
                        }
                    if (!cnt) acc = 0;
                    else if (!is_max) acc /= p->count_include_pad ? p->kh * p->kw : cnt;
                    out[(((size_t)b * p->oh + y) * p->ow + x) * p->c + c] = (float)acc;
                }
}

TEST(pool_ref_vs_double_random) {
    for (int t = 0; t < 40; t++) {
        nn_pool_params p;
        memset(&p, 0, sizeof p);
        p.n = 1 + t % 2, p.c = 1 + (int)((kr_rand() + 1) * 20);
        p.kh = 1 + t % 3, p.kw = 1 + (t / 3) % 4, p.sh = 1 + t % 2, p.sw = 1 + (t / 2) % 3;
        p.ih = 1 + (int)((kr_rand() + 1) * 6), p.iw = 1 + (int)((kr_rand() + 1) * 6);
        p.pad_t = t % 3 < p.kh ? t % 3 : 0, p.pad_l = (t + 1) % 2 < p.kw ? (t + 1) % 2 : 0;
        p.oh = (p.ih + 2 * p.pad_t - p.kh) / p.sh + 1, p.ow = (p.iw + 2 * p.pad_l - p.kw) / p.sw + 1;
        p.count_include_pad = t % 4 == 1;
        if (t == 39) { p.ih = p.iw = 7, p.kh = p.kw = 7, p.sh = p.sw = 1, p.pad_t = p.pad_l = 0, p.oh = p.ow = 1, p.c = 1280; }
        if (p.oh < 1 || p.ow < 1) continue;
        size_t nin = (size_t)p.n * p.ih * p.iw * p.c, nout = (size_t)p.n * p.oh * p.ow * p.c;
        float *in = malloc(nin * 4), *o = malloc(nout * 4), *want = malloc(nout * 4);
        kr_fill(in, nin);
        for (int is_max = 0; is_max < 2; is_max++) {
            if (is_max) nn_maxpool_ref(&p, in, o);
            else nn_avgpool_ref(&p, in, o);
            pool_double(&p, in, want, is_max);
            for (size_t i = 0; i < nout; i++)
                CHECK_MSG(fabsf(o[i] - want[i]) <= 1e-6f * (1 + fabsf(want[i])),
                          "%s pool case %d: out[%zu] = %.8g, want %.8g", is_max ? "max" : "avg", t, i, o[i],
                          want[i]);
        }
        free(in); free(o); free(want);
    }
}
