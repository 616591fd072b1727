/* train/act.c — activations (see layers.h). */
#include <math.h>

#include "train/layers.h"

void relu_forward(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

void relu_backward(float *dx, const float *dy, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] += x[i] > 0 ? dy[i] : 0;
}

float sigmoidf_(float z) {
    if (z >= 0) return 1.0f / (1.0f + expf(-z));
    float e = expf(z);
    return e / (1.0f + e);
}

void softmax_rows(float *p, const float *z, int B, int k) {
    for (int r = 0; r < B; r++) {
        const float *zr = z + (size_t)r * k;
        float *pr = p + (size_t)r * k;
        float m = zr[0];
        for (int j = 1; j < k; j++) m = zr[j] > m ? zr[j] : m;
        double s = 0;
        for (int j = 0; j < k; j++) { pr[j] = expf(zr[j] - m); s += pr[j]; }
        for (int j = 0; j < k; j++) pr[j] = (float)(pr[j] / s);
    }
}
