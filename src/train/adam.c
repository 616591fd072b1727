/* train/adam.c — Adam with L2 (see layers.h). */
#include <math.h>

#include "train/layers.h"

void adam_init(adam_cfg *c, float lr, float wd) {
    c->lr = lr; c->beta1 = 0.9f; c->beta2 = 0.999f; c->eps = 1e-8f; c->wd = wd; c->t = 0;
}

void adam_tick(adam_cfg *c) { c->t++; }

void adam_step(adam_cfg *c, float *w, const float *g, float *m, float *v, size_t n, int decay) {
    double bc1 = 1.0 - pow(c->beta1, c->t), bc2 = 1.0 - pow(c->beta2, c->t);
    float a = (float)(c->lr * sqrt(bc2) / bc1);
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + (decay ? c->wd * w[i] : 0.0f);
        m[i] = c->beta1 * m[i] + (1 - c->beta1) * gi;
        v[i] = c->beta2 * v[i] + (1 - c->beta2) * gi * gi;
        w[i] -= a * m[i] / (sqrtf(v[i]) + c->eps);
    }
}
