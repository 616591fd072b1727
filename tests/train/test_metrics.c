/* tests/train/test_metrics.c — metrics against values computed by hand. */
#include <math.h>

#include "../test.h"
#include "train/head.h"
#include "train/metrics.h"

TEST(pearson_hand_computed) {
    float a[3] = {1, 2, 3}, b[3] = {1, 2, 4};
    /* sab = 3, saa = 2, sbb = 42/9 -> 3 / sqrt(2 * 42 / 9) */
    CHECK_NEAR(mt_pearson(a, b, 3), 3.0 / sqrt(84.0 / 9.0), 1e-9);
    float c[3] = {3, 2, 1};
    CHECK_NEAR(mt_pearson(a, c, 3), -1.0, 1e-12);
    float k[3] = {2, 2, 2};
    CHECK(isnan(mt_pearson(a, k, 3)));
}

TEST(metrics_hand_computed) {
    float pred[4] = {2.0f, 3.0f, 4.4f, 1.0f}, lab[4] = {2.5f, 3.0f, 4.0f, 1.6f};
    int pc[4] = {1, 2, 3, 0};     /* predicted classes 2,3,4,1; labels round to 3(2.5->2 by rint: 2),3,4,2 */
    int pf[4] = {1, 0, 1, 1}, g[4] = {1, 0, 0, -1};
    mt_result r;
    mt_compute(pred, lab, pc, pf, g, 4, &r);
    CHECK_NEAR(r.mae, (0.5 + 0 + 0.4 + 0.6) / 4, 1e-6);
    CHECK_NEAR(r.rmse, sqrt((0.25 + 0 + 0.16 + 0.36) / 4), 1e-6);
    /* classes of the labels: rint(2.5) = 2 (ties to even), 3, 4, rint(1.6) = 2 -> 0-based 1,2,3,1 */
    CHECK(hd_score_class(2.5f) == 1 && hd_score_class(1.6f) == 1 && hd_score_class(0.2f) == 0 && hd_score_class(9) == 4);
    CHECK_NEAR(r.acc5, 3.0 / 4, 1e-12);
    CHECK(r.n_gender == 3);
    CHECK_NEAR(r.gender_acc, 2.0 / 3, 1e-12);
    CHECK_NEAR(r.pc, mt_pearson(pred, lab, 4), 1e-12);
}
