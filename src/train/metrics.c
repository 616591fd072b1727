/* train/metrics.c — see metrics.h. */
#include "train/metrics.h"

#include <math.h>
#include <string.h>

#include "train/head.h"

double mt_pearson(const float *a, const float *b, int n) {
    if (n < 2) return NAN;
    double ma = 0, mb = 0;
    for (int i = 0; i < n; i++) { ma += a[i]; mb += b[i]; }
    ma /= n; mb /= n;
    double sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) {
        double da = a[i] - ma, db = b[i] - mb;
        sab += da * db; saa += da * da; sbb += db * db;
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : NAN;
}

void mt_compute(const float *pred, const float *label, const int *pred_cls, const int *pred_female,
                const int *gender, int n, mt_result *out) {
    memset(out, 0, sizeof *out);
    out->n = n;
    if (n <= 0) { out->pc = out->mae = out->rmse = out->acc5 = out->gender_acc = NAN; return; }
    double ae = 0, se = 0;
    int hit = 0, gh = 0, gn = 0;
    for (int i = 0; i < n; i++) {
        double d = (double)pred[i] - label[i];
        ae += fabs(d); se += d * d;
        hit += pred_cls[i] == hd_score_class(label[i]);
        if (gender[i] >= 0) { gn++; gh += pred_female[i] == gender[i]; }
    }
    out->pc = mt_pearson(pred, label, n);
    out->mae = ae / n;
    out->rmse = sqrt(se / n);
    out->acc5 = (double)hit / n;
    out->n_gender = gn;
    out->gender_acc = gn ? (double)gh / gn : NAN;
}
