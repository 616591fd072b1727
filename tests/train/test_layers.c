/* tests/train/test_layers.c — every head layer's backward pass against central finite differences
 * (double-precision reference of the float forward), Adam against hand-computed steps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "train/layers.h"

static float frand(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((*s >> 40) / 16777216.0) * 2.0f - 1.0f;
}

/* relative-or-absolute closeness of an analytic and a numeric derivative */
static int close_enough(double a, double n, double tol) { return fabs(a - n) <= tol * (1.0 + fabs(n)); }

enum { B = 3, IN = 5, OUT = 4 };

/* scalar objective: sum_i c_i * y_i over the linear output, so dL/dy = c */
static double lin_obj(const float *x, const float *w, const float *b, const float *c) {
    float y[B * OUT];
    lin_forward(y, x, w, b, B, IN, OUT);
    double s = 0;
    for (int i = 0; i < B * OUT; i++) s += (double)c[i] * y[i];
    return s;
}

TEST(linear_backward_matches_finite_differences) {
    uint64_t s = 7;
    float x[B * IN], w[OUT * IN], b[OUT], c[B * OUT];
    for (int i = 0; i < B * IN; i++) x[i] = frand(&s);
    for (int i = 0; i < OUT * IN; i++) w[i] = frand(&s);
    for (int i = 0; i < OUT; i++) b[i] = frand(&s);
    for (int i = 0; i < B * OUT; i++) c[i] = frand(&s);
    float dx[B * IN] = {0}, dw[OUT * IN] = {0}, db[OUT] = {0};
    lin_backward(dx, dw, db, c, x, w, B, IN, OUT);
    const float h = 1e-2f;
    for (int i = 0; i < B * IN; i++) {
        float o = x[i];
        x[i] = o + h; double p = lin_obj(x, w, b, c);
        x[i] = o - h; double m = lin_obj(x, w, b, c);
        x[i] = o;
        CHECK_MSG(close_enough(dx[i], (p - m) / (2 * h), 1e-3), "dx[%d] %g vs %g", i, dx[i], (p - m) / (2 * h));
    }
    for (int i = 0; i < OUT * IN; i++) {
        float o = w[i];
        w[i] = o + h; double p = lin_obj(x, w, b, c);
        w[i] = o - h; double m = lin_obj(x, w, b, c);
        w[i] = o;
        CHECK_MSG(close_enough(dw[i], (p - m) / (2 * h), 1e-3), "dw[%d] %g vs %g", i, dw[i], (p - m) / (2 * h));
    }
    for (int i = 0; i < OUT; i++) {
        float o = b[i];
        b[i] = o + h; double p = lin_obj(x, w, b, c);
        b[i] = o - h; double m = lin_obj(x, w, b, c);
        b[i] = o;
        CHECK_MSG(close_enough(db[i], (p - m) / (2 * h), 1e-3), "db[%d] %g vs %g", i, db[i], (p - m) / (2 * h));
    }
    /* gradients accumulate (+=): a second call doubles them */
    float dw2[OUT * IN];
    memcpy(dw2, dw, sizeof dw);
    lin_backward(NULL, dw2, NULL, c, x, w, B, IN, OUT);
    for (int i = 0; i < OUT * IN; i++) CHECK_NEAR(dw2[i], 2 * dw[i], 1e-5);
}

TEST(relu_backward_matches_finite_differences) {
    float x[6] = {-1.5f, -0.2f, 0.3f, 2.0f, -3.0f, 0.7f}, c[6] = {0.5f, -1, 2, 0.25f, 1, -0.75f};
    float dx[6] = {0};
    relu_backward(dx, c, x, 6);
    for (int i = 0; i < 6; i++) {
        const float h = 1e-3f;
        float xp = x[i] + h, xm = x[i] - h, yp, ym;
        relu_forward(&yp, &xp, 1);
        relu_forward(&ym, &xm, 1);
        CHECK_NEAR(dx[i], c[i] * (yp - ym) / (2 * h), 1e-3);
    }
}

TEST(loss_gradients_match_finite_differences) {
    uint64_t s = 11;
    enum { N = 4, K = 5 };
    float z[N * K], t[N], g[N * K];
    int cls[N] = {0, 4, 2, 3};
    for (int i = 0; i < N * K; i++) z[i] = 2 * frand(&s);
    for (int i = 0; i < N; i++) t[i] = i % 2 ? 1.0f : 0.0f;
    const float h = 1e-2f;
    /* MSE and BCE over N values */
    loss_mse(z, t, N, g);
    for (int i = 0; i < N; i++) {
        float o = z[i];
        z[i] = o + h; double p = loss_mse(z, t, N, NULL);
        z[i] = o - h; double m = loss_mse(z, t, N, NULL);
        z[i] = o;
        CHECK_MSG(close_enough(g[i], (p - m) / (2 * h), 1e-3), "mse %d: %g vs %g", i, g[i], (p - m) / (2 * h));
    }
    loss_bce_logits(z, t, N, g);
    for (int i = 0; i < N; i++) {
        float o = z[i];
        z[i] = o + h; double p = loss_bce_logits(z, t, N, NULL);
        z[i] = o - h; double m = loss_bce_logits(z, t, N, NULL);
        z[i] = o;
        CHECK_MSG(close_enough(g[i], (p - m) / (2 * h), 2e-3), "bce %d: %g vs %g", i, g[i], (p - m) / (2 * h));
    }
    loss_softmax_ce(z, cls, N, K, g);
    for (int i = 0; i < N * K; i++) {
        float o = z[i];
        z[i] = o + h; double p = loss_softmax_ce(z, cls, N, K, NULL);
        z[i] = o - h; double m = loss_softmax_ce(z, cls, N, K, NULL);
        z[i] = o;
        CHECK_MSG(close_enough(g[i], (p - m) / (2 * h), 2e-3), "ce %d: %g vs %g", i, g[i], (p - m) / (2 * h));
    }
}

TEST(loss_values_hand_computed) {
    float p[2] = {1, 3}, t[2] = {2, 3};
    CHECK_NEAR(loss_mse(p, t, 2, NULL), 0.5, 1e-9);                 /* (1 + 0) / 2 */
    float z[1] = {0}, y1[1] = {1};
    CHECK_NEAR(loss_bce_logits(z, y1, 1, NULL), log(2.0), 1e-7);     /* -log(sigmoid(0)) */
    float zl[3] = {0, 0, 0};
    int c[1] = {2};
    CHECK_NEAR(loss_softmax_ce(zl, c, 1, 3, NULL), log(3.0), 1e-6);  /* uniform over 3 */
    float big[1] = {100}, y0[1] = {0};
    CHECK_NEAR(loss_bce_logits(big, y0, 1, NULL), 100.0, 1e-4);      /* no overflow */
}

TEST(dropout_scales_kept_units_and_backward_uses_the_mask) {
    enum { N = 20000 };
    float *x = malloc(N * 4), *y = malloc(N * 4), *dy = malloc(N * 4), *dx = malloc(N * 4);
    uint8_t *mask = malloc(N);
    CHECK(x && y && dy && dx && mask);
    for (int i = 0; i < N; i++) { x[i] = 1.0f; dy[i] = 1.0f; }
    uint64_t rng = 5;
    dropout_forward(y, mask, x, N, 0.2f, &rng);
    int kept = 0;
    for (int i = 0; i < N; i++) {
        kept += mask[i];
        CHECK(mask[i] ? fabsf(y[i] - 1.25f) < 1e-6f : y[i] == 0.0f);
    }
    CHECK_MSG(fabs(kept / (double)N - 0.8) < 0.02, "kept %d of %d", kept, N);
    dropout_backward(dx, dy, mask, N, 0.2f);
    for (int i = 0; i < N; i++) CHECK(dx[i] == y[i]); /* linear in x: the gradient is the same map */
    /* same seed, same mask */
    uint8_t *m2 = malloc(N);
    uint64_t r2 = 5;
    dropout_forward(y, m2, x, N, 0.2f, &r2);
    CHECK(!memcmp(mask, m2, N));
    free(x); free(y); free(dy); free(dx); free(mask); free(m2);
}

TEST(adam_first_steps_hand_computed) {
    adam_cfg c;
    adam_init(&c, 0.1f, 0.0f);
    float w[1] = {1.0f}, g[1] = {0.5f}, m[1] = {0}, v[1] = {0};
    adam_tick(&c);
    adam_step(&c, w, g, m, v, 1, 1);
    /* first bias-corrected Adam step is lr * sign(g) (up to eps) */
    CHECK_NEAR(w[0], 0.9, 1e-6);
    adam_tick(&c);
    g[0] = -0.5f;
    adam_step(&c, w, g, m, v, 1, 1);
    /* m = 0.9*0.05 - 0.05 = -0.005 -> mhat = -0.005/0.19; v = 0.999*0.00025+0.00025 -> vhat = v/0.001999 */
    double mh = -0.005 / 0.19, vh = (0.999 * 0.00025 + 0.001 * 0.25) / (1 - 0.999 * 0.999);
    CHECK_NEAR(w[0], 0.9 - 0.1 * mh / (sqrt(vh) + 1e-8), 1e-5);
    /* L2: with g = 0 the weight still shrinks */
    adam_cfg d;
    adam_init(&d, 0.01f, 1.0f);
    float w2[1] = {2.0f}, z[1] = {0}, m2[1] = {0}, v2[1] = {0};
    adam_tick(&d);
    adam_step(&d, w2, z, m2, v2, 1, 1);
    CHECK_NEAR(w2[0], 1.99, 1e-6);
}
