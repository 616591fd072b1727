/* train/dropout.c — inverted dropout (see layers.h). */
#include "train/layers.h"

static uint64_t next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void dropout_forward(float *y, uint8_t *mask, const float *x, size_t n, float p, uint64_t *rng) {
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    uint64_t thr = (uint64_t)((double)p * 9007199254740992.0);
    for (size_t i = 0; i < n; i++) {
        mask[i] = (next(rng) >> 11) >= thr;
        y[i] = mask[i] ? x[i] * scale : 0.0f;
    }
}

void dropout_backward(float *dx, const float *dy, const uint8_t *mask, size_t n, float p) {
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    for (size_t i = 0; i < n; i++) dx[i] = mask[i] ? dy[i] * scale : 0.0f;
}
