/* train/grad/loss.c — the heads' losses (mean over the B rows) and their gradients, in double.
 * grad (may be NULL) receives dLoss/dinput (OVERWRITES). */
#include "train/grad/grad.h"

#include <math.h>

/* L = 1/B sum (p - t)^2;  dL/dp = 2 (p - t) / B */
double gr_loss_mse(const float *pred, const float *target, int B, float *grad) {
    double L = 0.0;
    for (int i = 0; i < B; i++) {
        const double d = (double)pred[i] - target[i];
        L += d * d;
        if (grad) grad[i] = (float)(2.0 * d / B);
    }
    return B > 0 ? L / B : 0.0;
}

/* L = 1/B sum |p - t|;  dL/dp = sign(p - t) / B, 0 where p == t */
double gr_loss_l1(const float *pred, const float *target, int B, float *grad) {
    double L = 0.0;
    for (int i = 0; i < B; i++) {
        const double d = (double)pred[i] - target[i];
        L += fabs(d);
        if (grad) grad[i] = (float)((d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0) / B);
    }
    return B > 0 ? L / B : 0.0;
}

/* p = softmax(z) of one row in double (max-subtracted); returns log(sum exp(z - max)) + max = logsumexp */
static double softmax_row(double *p, const float *z, int k) {
    double mx = z[0];
    for (int j = 1; j < k; j++) mx = z[j] > mx ? z[j] : mx;
    double s = 0.0;
    for (int j = 0; j < k; j++) s += (p[j] = exp((double)z[j] - mx));
    for (int j = 0; j < k; j++) p[j] /= s;
    return mx + log(s);
}

#define GR_LOSS_MAXK 256 /* classes per row (stack buffer; the heads use 5..10) */

/* L = 1/B sum_b (logsumexp(z_b) - z_b[c_b]);  dL/dz = (softmax(z) - onehot(c)) / B */
double gr_loss_softmax_ce(const float *z, const int *c, int B, int k, float *grad) {
    double p[GR_LOSS_MAXK], L = 0.0;
    if (k < 1 || k > GR_LOSS_MAXK) return NAN;
    for (int b = 0; b < B; b++)
        if (c[b] < 0 || c[b] >= k) return NAN; /* a bad label: no out-of-bounds read, a NaN loss */
    for (int b = 0; b < B; b++) {
        const float *zb = z + (size_t)b * k;
        const double lse = softmax_row(p, zb, k);
        L += lse - zb[c[b]];
        if (grad)
            for (int j = 0; j < k; j++) grad[(size_t)b * k + j] = (float)((p[j] - (j == c[b])) / B);
    }
    return B > 0 ? L / B : 0.0;
}

/* L = 1/B sum_b sum_j q_bj (log q_bj - log softmax(z_b)_j)  (q = 0 terms contribute 0);
 * dL/dz = (softmax(z) - q) / B  (rows of q summing to 1). */
double gr_loss_kl(const float *z, const float *q, int B, int k, float *grad) {
    double p[GR_LOSS_MAXK], L = 0.0;
    if (k < 1 || k > GR_LOSS_MAXK) return NAN;
    for (int b = 0; b < B; b++) {
        const float *zb = z + (size_t)b * k, *qb = q + (size_t)b * k;
        const double lse = softmax_row(p, zb, k);
        for (int j = 0; j < k; j++)
            if (qb[j] > 0) L += qb[j] * (log((double)qb[j]) - ((double)zb[j] - lse));
        if (grad)
            for (int j = 0; j < k; j++) grad[(size_t)b * k + j] = (float)((p[j] - qb[j]) / B);
    }
    return B > 0 ? L / B : 0.0;
}

/* q[j] = exp(-(j+1 - y)^2 / (2 sigma^2)) / Z, j = 0..k-1 (classes are the ratings 1..k) */
void gr_ldl_target(float *q, float y, float sigma, int k) {
    double e[GR_LOSS_MAXK], s = 0.0;
    if (k < 1 || k > GR_LOSS_MAXK) return;
    const double s2 = 2.0 * (double)sigma * sigma;
    for (int j = 0; j < k; j++) {
        const double d = (j + 1) - (double)y;
        s += (e[j] = exp(-d * d / s2));
    }
    for (int j = 0; j < k; j++) q[j] = (float)(s > 0 ? e[j] / s : 1.0 / k);
}

/* Known rows (t >= 0): L = 1/K sum softplus(z) - t z = max(z,0) - t z + log1p(exp(-|z|));
 * dL/dz = (sigmoid(z) - t) / K. Rows with t < 0: grad 0, not counted. K = 0: L = 0. */
double gr_loss_bce_logits(const float *z, const float *t, int B, float *grad) {
    int known = 0;
    for (int i = 0; i < B; i++) known += t[i] >= 0;
    double L = 0.0;
    for (int i = 0; i < B; i++) {
        if (t[i] < 0) {
            if (grad) grad[i] = 0.0f;
            continue;
        }
        const double zi = z[i];
        L += (zi > 0 ? zi : 0.0) - t[i] * zi + log1p(exp(-fabs(zi)));
        if (grad) grad[i] = (float)((1.0 / (1.0 + exp(-zi)) - t[i]) / known);
    }
    return known > 0 ? L / known : 0.0;
}
