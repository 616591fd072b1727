/* train/loss.c — losses, averaged over the batch (see layers.h). */
#include <math.h>
#include <stdlib.h>

#include "train/layers.h"

double loss_mse(const float *pred, const float *target, int B, float *grad) {
    double s = 0;
    for (int i = 0; i < B; i++) {
        double d = (double)pred[i] - target[i];
        s += d * d;
        if (grad) grad[i] = (float)(2.0 * d / B);
    }
    return s / B;
}

/* log(1 + e^z) without overflow */
static double softplus(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }

double loss_bce_logits(const float *z, const float *t, int B, float *grad) {
    double s = 0;
    for (int i = 0; i < B; i++) {
        /* -t log s(z) - (1-t) log(1 - s(z)) = softplus(z) - t z */
        s += softplus(z[i]) - (double)t[i] * z[i];
        if (grad) grad[i] = (sigmoidf_(z[i]) - t[i]) / (float)B;
    }
    return s / B;
}

double loss_softmax_ce(const float *z, const int *c, int B, int k, float *grad) {
    double s = 0;
    for (int r = 0; r < B; r++) {
        const float *zr = z + (size_t)r * k;
        double m = zr[0];
        for (int j = 1; j < k; j++) m = zr[j] > m ? zr[j] : m;
        double sum = 0;
        for (int j = 0; j < k; j++) sum += exp(zr[j] - m);
        double lse = m + log(sum);
        s += lse - zr[c[r]];
        if (grad)
            for (int j = 0; j < k; j++)
                grad[(size_t)r * k + j] = (float)((exp(zr[j] - lse) - (j == c[r])) / B);
    }
    return s / B;
}
