/* tests/train/test_grad.c — gradient checks of the train/grad reference backward passes against
 * central finite differences, and the reference conv forward against the runtime's own conv.
 *
 * Setup: L = sum(r * f(inputs)) with r random (so dL/dout = r), or the loss itself. Convs, FC, mean,
 * sum_rows and concat are linear in each input: the central difference is exact up to rounding, so
 * eps = 0.5 and L accumulated in double; for clamp and the losses (computed in double inside) eps is
 * 1e-3 and the actual float step (x+eps) - (x-eps) is the divisor.
 * Tolerance: max |analytic - numeric| <= 1e-4 * max(1, max |numeric|) (relative error 1e-4). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "nn/kernels/kernels.h"
#include "../test.h"
#include "train/grad/grad.h"

#define GR_TOL 1e-4

static uint64_t rng_state = 0x1234567u;
static float frand(void) { /* uniform in [-1, 1) */
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) * (1.0 / 8388608.0) - 1.0);
}
static float *rnd(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}
static double dot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}
static double maxabs(const float *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fabs(a[i]) > m ? fabs(a[i]) : m;
    return m;
}

/* Geometry with explicit padding (pt, pl) and bottom/right padding pb, pr. */
static gr_conv_shape shape(int n, int h, int w, int cin, int cout, int kh, int kw, int sh, int sw, int dh, int dw,
                           int pt, int pb, int pl, int pr, int groups) {
    gr_conv_shape s = {n, h, w, cin, 0, 0, cout, kh, kw, sh, sw, dh, dw, pt, pl, groups};
    s.oh = (h + pt + pb - dh * (kh - 1) - 1) / sh + 1;
    s.ow = (w + pl + pr - dw * (kw - 1) - 1) / sw + 1;
    return s;
}
static size_t xsz(const gr_conv_shape *s) { return (size_t)s->n * s->h * s->w * s->cin; }
static size_t ysz(const gr_conv_shape *s) { return (size_t)s->n * s->oh * s->ow * s->cout; }
static size_t wsz(const gr_conv_shape *s) { return (size_t)s->cout * s->kh * s->kw * (s->cin / s->groups); }

/* L(x, w, b) = sum r * conv(x, w, b) */
static double conv_L(const float *x, const float *w, const float *b, const float *r, float *y, const gr_conv_shape *s) {
    gr_conv2d_forward_ref(y, x, w, b, s);
    return dot(y, r, ysz(s));
}

/* numeric dL/dv[i] for every i, v one of x/w/b (linear: eps 0.5 exact up to rounding) */
static double fd_err(float *v, size_t nv, const float *g, const float *x, const float *w, const float *b,
                     const float *r, float *y, const gr_conv_shape *s) {
    double err = 0, scale = 1;
    for (size_t i = 0; i < nv; i++) {
        const float v0 = v[i];
        v[i] = v0 + 0.5f;
        const double lp = conv_L(x, w, b, r, y, s);
        v[i] = v0 - 0.5f;
        const double lm = conv_L(x, w, b, r, y, s);
        v[i] = v0;
        const double num = (lp - lm) / 1.0;
        err = fabs(num - g[i]) > err ? fabs(num - g[i]) : err;
        scale = fabs(num) > scale ? fabs(num) : scale;
    }
    return err / scale;
}

/* Checks data, weight and bias gradients of one geometry; returns 0 on success. */
static int check_conv(const gr_conv_shape *s) {
    float *x = rnd(xsz(s)), *w = rnd(wsz(s)), *b = rnd(s->cout), *r = rnd(ysz(s));
    float *y = malloc(ysz(s) * sizeof *y), *dx = rnd(xsz(s));
    float *dw = calloc(wsz(s), sizeof *dw), *db = calloc(s->cout, sizeof *db);
    gr_conv2d_backward_data_ref(dx, r, w, s); /* dx had garbage: OVERWRITES */
    gr_conv2d_backward_weight_ref(dw, db, r, x, s);
    double ex = fd_err(x, xsz(s), dx, x, w, b, r, y, s);
    double ew = fd_err(w, wsz(s), dw, x, w, b, r, y, s);
    double eb = fd_err(b, s->cout, db, x, w, b, r, y, s);
    /* weight/bias gradients ACCUMULATE: a second call doubles them */
    float *dw2 = malloc(wsz(s) * sizeof *dw2), *db2 = malloc(s->cout * sizeof *db2);
    memcpy(dw2, dw, wsz(s) * sizeof *dw2);
    memcpy(db2, db, s->cout * sizeof *db2);
    gr_conv2d_backward_weight_ref(dw2, db2, r, x, s);
    int acc_ok = 1;
    for (size_t i = 0; i < wsz(s); i++) acc_ok &= fabsf(dw2[i] - 2 * dw[i]) <= 1e-6f * (1 + fabsf(dw[i]));
    for (int i = 0; i < s->cout; i++) acc_ok &= fabsf(db2[i] - 2 * db[i]) <= 1e-6f * (1 + fabsf(db[i]));
    int bad = !(ex <= GR_TOL && ew <= GR_TOL && eb <= GR_TOL && acc_ok);
    if (bad)
        fprintf(stderr, "conv %dx%d s%d,%d d%d,%d g%d cin%d cout%d: rel err dx %.3g dw %.3g db %.3g acc %d\n", s->kh,
                s->kw, s->sh, s->sw, s->dh, s->dw, s->groups, s->cin, s->cout, ex, ew, eb, acc_ok);
    free(x), free(w), free(b), free(r), free(y), free(dx), free(dw), free(db), free(dw2), free(db2);
    return bad;
}

TEST(conv_gradcheck_1x1) {
    gr_conv_shape a = shape(2, 3, 4, 5, 6, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1);
    gr_conv_shape b = shape(2, 5, 4, 3, 4, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1); /* strided 1x1 */
    gr_conv_shape c = shape(1, 1, 1, 7, 3, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1); /* 1x1 map */
    CHECK(check_conv(&a) == 0);
    CHECK(check_conv(&b) == 0);
    CHECK(check_conv(&c) == 0);
}

TEST(conv_gradcheck_3x3_dense) {
    gr_conv_shape a = shape(2, 5, 4, 3, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);  /* SAME stride 1 */
    gr_conv_shape b = shape(2, 6, 7, 3, 4, 3, 3, 2, 2, 1, 1, 0, 1, 1, 1, 1);  /* TF SAME s2: extra pad bottom */
    gr_conv_shape c = shape(1, 6, 6, 3, 5, 3, 3, 2, 2, 1, 1, 1, 0, 1, 0, 1);  /* pad 1 s2 on even size */
    gr_conv_shape d = shape(1, 7, 6, 2, 3, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1);  /* dilation 2 */
    gr_conv_shape e = shape(1, 7, 5, 2, 3, 5, 3, 2, 1, 1, 1, 2, 1, 0, 2, 1);  /* 5x3, strides 2,1 */
    CHECK(check_conv(&a) == 0);
    CHECK(check_conv(&b) == 0);
    CHECK(check_conv(&c) == 0);
    CHECK(check_conv(&d) == 0);
    CHECK(check_conv(&e) == 0);
}

TEST(conv_gradcheck_depthwise_grouped) {
    gr_conv_shape a = shape(2, 5, 6, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4);  /* depthwise s1 */
    gr_conv_shape b = shape(2, 6, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 1, 1, 1, 4);  /* depthwise s2 SAME */
    gr_conv_shape c = shape(1, 5, 5, 3, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3);  /* depth multiplier 2 */
    gr_conv_shape d = shape(1, 4, 5, 4, 6, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 2);  /* grouped, 2 groups */
    gr_conv_shape e = shape(1, 7, 7, 5, 5, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 5);  /* depthwise dilated */
    CHECK(check_conv(&a) == 0);
    CHECK(check_conv(&b) == 0);
    CHECK(check_conv(&c) == 0);
    CHECK(check_conv(&d) == 0);
    CHECK(check_conv(&e) == 0);
}

/* The reference forward must be the conv the runtime runs: nn_conv2d_ref and the selected kernel. */
TEST(conv_forward_matches_runtime) {
    const gr_conv_shape shapes[] = {
        shape(2, 9, 8, 3, 8, 3, 3, 2, 2, 1, 1, 0, 1, 1, 1, 1),     /* first layer, TF SAME s2 */
        shape(2, 6, 6, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 16),  /* depthwise s1 */
        shape(2, 7, 7, 16, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 16),  /* depthwise s2 */
        shape(2, 5, 5, 24, 40, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),   /* pointwise */
        shape(1, 6, 6, 4, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2),     /* grouped dilated */
    };
    for (size_t t = 0; t < sizeof shapes / sizeof *shapes; t++) {
        const gr_conv_shape *s = &shapes[t];
        nn_conv_params p = {s->n, s->h, s->w, s->cin, s->oh, s->ow, s->cout, s->kh, s->kw, s->sh, s->sw,
                            s->dh, s->dw, s->pt, s->pl, s->groups, -INFINITY, INFINITY};
        float *x = rnd(xsz(s)), *w = rnd(wsz(s)), *b = rnd(s->cout);
        float *y0 = malloc(ysz(s) * 4), *y1 = malloc(ysz(s) * 4), *y2 = malloc(ysz(s) * 4);
        gr_conv2d_forward_ref(y0, x, w, b, s);
        nn_conv2d_ref(&p, x, w, b, y1);
        nn_conv_impl k;
        CHECK(nn_select_conv(&p, w, b, &k) == 0);
        k.run(&k, &p, x, y2, NULL);
        nn_conv_impl_free(&k);
        const double sc = 1 + maxabs(y0, ysz(s));
        for (size_t i = 0; i < ysz(s); i++) {
            CHECK_NEAR(y1[i], y0[i], 1e-5 * sc);
            CHECK_NEAR(y2[i], y0[i], 1e-5 * sc);
        }
        free(x), free(w), free(b), free(y0), free(y1), free(y2);
    }
}

/* ---------------------------------------------------------------- fc */
static double fc_L(const float *x, const float *w, const float *b, const float *r, int rows, int cin, int cout) {
    double L = 0;
    for (int i = 0; i < rows; i++)
        for (int o = 0; o < cout; o++) L += r[i * cout + o] * (dot(x + i * cin, w + o * cin, cin) + b[o]);
    return L;
}

TEST(fc_gradcheck) {
    enum { R = 3, CI = 5, CO = 4 };
    float *x = rnd(R * CI), *w = rnd(CO * CI), *b = rnd(CO), *r = rnd(R * CO), *dx = rnd(R * CI);
    float dw[CO * CI] = {0}, db[CO] = {0};
    gr_fc_backward_ref(dx, dw, db, r, x, w, R, CI, CO);
    float *vs[3] = {x, w, b}, *gs[3] = {dx, dw, db};
    const int ns[3] = {R * CI, CO * CI, CO};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < ns[k]; i++) {
            const float v0 = vs[k][i];
            vs[k][i] = v0 + 0.5f;
            const double lp = fc_L(x, w, b, r, R, CI, CO);
            vs[k][i] = v0 - 0.5f;
            const double lm = fc_L(x, w, b, r, R, CI, CO);
            vs[k][i] = v0;
            CHECK_NEAR(gs[k][i], lp - lm, GR_TOL * (1 + fabs(lp - lm)));
        }
    /* dx may be NULL; dw, db accumulate */
    float dw2[CO * CI], db2[CO];
    memcpy(dw2, dw, sizeof dw), memcpy(db2, db, sizeof db);
    gr_fc_backward(NULL, dw2, db2, r, x, w, R, CI, CO, NULL);
    for (int i = 0; i < CO * CI; i++) CHECK_NEAR(dw2[i], 2 * dw[i], 1e-5);
    for (int i = 0; i < CO; i++) CHECK_NEAR(db2[i], 2 * db[i], 1e-5);
    free(x), free(w), free(b), free(r), free(dx);
}

/* ---------------------------------------------------------------- element-wise */
static float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

TEST(clamp_gradcheck_relu6) {
    enum { N = 64 };
    float z[N], y[N], r[N], g[N];
    for (int i = 0; i < N; i++) {
        float v = 8 * frand() + 2; /* in [-6, 10): both boundaries crossed */
        if (fabsf(v) < 0.01f || fabsf(v - 6) < 0.01f) v += 0.05f; /* keep 5 eps away from the kinks */
        z[i] = v, r[i] = frand(), y[i] = clampf(v, 0, 6), g[i] = r[i];
    }
    gr_clamp_backward(g, y, 0.0f, 6.0f, N);
    for (int i = 0; i < N; i++) {
        const float zp = z[i] + 1e-3f, zm = z[i] - 1e-3f;
        const double num = r[i] * ((double)clampf(zp, 0, 6) - clampf(zm, 0, 6)) / ((double)zp - zm);
        CHECK_NEAR(g[i], num, GR_TOL * (1 + fabs(num)));
    }
    /* boundary outputs (y == lo or hi) pass no gradient; an unbounded clamp is the identity */
    float yb[3] = {0.0f, 6.0f, 3.0f}, gb[3] = {1, 1, 1};
    gr_clamp_backward(gb, yb, 0.0f, 6.0f, 3);
    CHECK(gb[0] == 0 && gb[1] == 0 && gb[2] == 1);
    float gi[2] = {2, -3}, yi[2] = {-1e30f, 1e30f};
    gr_clamp_backward(gi, yi, -INFINITY, INFINITY, 2);
    CHECK(gi[0] == 2 && gi[1] == -3);
}

TEST(mean_sum_rows_concat_gradcheck) {
    enum { N = 2, HW = 6, C = 5 };
    float *x = rnd(N * HW * C), *r = rnd(N * C), *dx = rnd(N * HW * C);
    gr_mean_hw_backward(dx, r, N, HW, C);
    for (int i = 0; i < N * HW * C; i++) { /* L = sum_b,c r[b][c] * mean_p x[b][p][c] */
        const int b = i / (HW * C), c = i % C;
        const float v0 = x[i];
        double lp = 0, lm = 0;
        x[i] = v0 + 0.5f;
        for (int p = 0; p < HW; p++) lp += (double)r[b * C + c] * x[(b * HW + p) * C + c] / HW;
        x[i] = v0 - 0.5f;
        for (int p = 0; p < HW; p++) lm += (double)r[b * C + c] * x[(b * HW + p) * C + c] / HW;
        x[i] = v0;
        CHECK_NEAR(dx[i], lp - lm, GR_TOL);
    }
    /* y[r][c] = a[r][c] + bias[c]: dbias = sum_rows dy, accumulated */
    float db[C] = {1, 2, 3, 4, 5};
    gr_sum_rows(db, dx, N * HW, C);
    for (int c = 0; c < C; c++) {
        double s = c + 1;
        for (int i = 0; i < N * HW; i++) s += dx[i * C + c];
        CHECK_NEAR(db[c], s, 1e-5);
    }
    /* concat of [N][2] and [N][3] (and a skipped NULL part of width 1) */
    const int cs[3] = {2, 1, 3};
    float d0[N * 2], d2[N * 3], *parts[3] = {d0, NULL, d2};
    float dy[N * 6];
    for (int i = 0; i < N * 6; i++) dy[i] = (float)i;
    gr_concat_last_backward(parts, cs, 3, dy, N);
    for (int b = 0; b < N; b++) {
        CHECK(d0[b * 2] == dy[b * 6] && d0[b * 2 + 1] == dy[b * 6 + 1]);
        for (int j = 0; j < 3; j++) CHECK(d2[b * 3 + j] == dy[b * 6 + 3 + j]);
    }
    free(x), free(r), free(dx);
}

/* ---------------------------------------------------------------- losses */
typedef double (*loss_fn)(const float *z, const void *t, int B, int k, float *grad);
static double l_mse(const float *z, const void *t, int B, int k, float *g) { return gr_loss_mse(z, t, B, g); }
static double l_l1(const float *z, const void *t, int B, int k, float *g) { return gr_loss_l1(z, t, B, g); }
static double l_ce(const float *z, const void *t, int B, int k, float *g) { return gr_loss_softmax_ce(z, t, B, k, g); }
static double l_kl(const float *z, const void *t, int B, int k, float *g) { return gr_loss_kl(z, t, B, k, g); }
static double l_bce(const float *z, const void *t, int B, int k, float *g) { return gr_loss_bce_logits(z, t, B, g); }

/* max relative error of the loss gradient against central differences (eps 1e-3, float steps) */
static double loss_fd(loss_fn f, float *z, const void *t, int B, int k) {
    float g[64];
    f(z, t, B, k, g);
    double err = 0, scale = 1e-2;
    for (int i = 0; i < B * k; i++) {
        const float z0 = z[i], zp = z0 + 1e-3f, zm = z0 - 1e-3f;
        z[i] = zp;
        const double lp = f(z, t, B, k, NULL);
        z[i] = zm;
        const double lm = f(z, t, B, k, NULL);
        z[i] = z0;
        const double num = (lp - lm) / ((double)zp - zm);
        err = fabs(num - g[i]) > err ? fabs(num - g[i]) : err;
        scale = fabs(num) > scale ? fabs(num) : scale;
    }
    return err / scale;
}

TEST(loss_gradchecks) {
    enum { B = 6, K = 5 };
    float z[B * K], t[B], q[B * K];
    int c[B];
    for (int i = 0; i < B * K; i++) z[i] = 2 * frand();
    for (int i = 0; i < B; i++) t[i] = z[i] + (i % 2 ? 0.3f : -0.4f) * (1 + frand() * 0.5f); /* away from the L1 kink */
    for (int i = 0; i < B; i++) c[i] = i % K;
    CHECK(loss_fd(l_mse, z, t, B, 1) <= GR_TOL);
    CHECK(loss_fd(l_l1, z, t, B, 1) <= GR_TOL);
    CHECK(loss_fd(l_ce, z, c, B, K) <= GR_TOL);
    for (int i = 0; i < B; i++) gr_ldl_target(q + i * K, 1 + 4 * (frand() + 1) / 2, 0.5f + 0.1f * i, K);
    CHECK(loss_fd(l_kl, z, q, B, K) <= GR_TOL);
    float tb[B] = {1, 0, -1, 0.25f, -1, 1}; /* two unknown rows */
    CHECK(loss_fd(l_bce, z, tb, B, 1) <= GR_TOL);
}

TEST(loss_values) {
    /* LDL target: sums to 1, peaks at the class nearest the rating, symmetric around a class centre */
    float q[5];
    gr_ldl_target(q, 3.2f, 0.5f, 5);
    double s = 0;
    for (int j = 0; j < 5; j++) s += q[j];
    CHECK_NEAR(s, 1.0, 1e-6);
    CHECK(q[2] > q[3] && q[3] > q[1] && q[1] > q[0]);
    gr_ldl_target(q, 3.0f, 0.7f, 5);
    CHECK_NEAR(q[1], q[3], 1e-7);
    CHECK_NEAR(q[0], q[4], 1e-7);
    /* KL(q || softmax(log q)) = 0 with zero gradient */
    float z[5], g[5];
    for (int j = 0; j < 5; j++) z[j] = logf(q[j]) + 1.5f;
    CHECK_NEAR(gr_loss_kl(z, q, 1, 5, g), 0.0, 1e-6);
    for (int j = 0; j < 5; j++) CHECK_NEAR(g[j], 0.0, 1e-6);
    /* CE of uniform logits = log k */
    float zu[4] = {0.3f, 0.3f, 0.3f, 0.3f};
    int cl = 2;
    CHECK_NEAR(gr_loss_softmax_ce(zu, &cl, 1, 4, NULL), log(4.0), 1e-6);
    int bad_cl = 4;
    CHECK(isnan(gr_loss_softmax_ce(zu, &bad_cl, 1, 4, NULL)));
    /* MSE / L1 values */
    float p2[2] = {1, 2}, t2[2] = {0, 4};
    CHECK_NEAR(gr_loss_mse(p2, t2, 2, NULL), 2.5, 1e-9);
    CHECK_NEAR(gr_loss_l1(p2, t2, 2, NULL), 1.5, 1e-9);
    /* BCE: unknown rows neither count nor get gradient; all unknown -> 0 */
    float zb[3] = {0.0f, 2.0f, -1.0f}, tb[3] = {1.0f, -1.0f, 0.0f}, gb[3] = {9, 9, 9};
    const double want = (log(2.0) + log1p(exp(-1.0))) / 2;
    CHECK_NEAR(gr_loss_bce_logits(zb, tb, 3, gb), want, 1e-7);
    CHECK(gb[1] == 0.0f);
    CHECK_NEAR(gb[0], (0.5 - 1) / 2, 1e-7);
    float tn[3] = {-1, -1, -1};
    CHECK(gr_loss_bce_logits(zb, tn, 3, gb) == 0.0 && gb[0] == 0 && gb[2] == 0);
    /* large logits stay finite */
    float zl[2] = {80.0f, -80.0f}, tl[2] = {0.0f, 1.0f};
    CHECK_NEAR(gr_loss_bce_logits(zl, tl, 2, NULL), 80.0, 1e-6);
}
