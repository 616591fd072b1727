/* train/head.h — the trained heads on top of the frozen features, and their trainer.
 *
 * Input z = (x - mean) / std (per feature, from the training set). Heads, all linear on z
 * (the original: Dense heads on pooled MobileNetV2 features, dropout 0.2 before them):
 *   gender  p_female = sigmoid(w_g . z + b_g)                         (logistic, BCE)
 *   score   s = clamp(3 + w_s . z + b_s, 1, 5)                          (regression, MSE on y - 3)
 *   class   dist = softmax(W_c z + b_c) over classes 1..5 = round(y)   (softmax CE)
 * The continuous score and the distribution come from two heads: regression is what the benchmark
 * measures (PC/MAE/RMSE), the softmax keeps the original's 5-class output; class = argmax(dist).
 * per_gender: two score/class head pairs (0 = male, 1 = female) chosen by the predicted gender,
 * each trained on its gender only (the original design); else one shared pair. */
#ifndef FS_TRAIN_HEAD_H
#define FS_TRAIN_HEAD_H
#include <stdint.h>
#include "facescore.h"

#define HD_CLASSES 5

typedef struct {
    int dim;
    int per_gender;             /* 0: one score/class pair; 1: [male, female] */
    float *mean, *inv_std;      /* [dim] */
    float *wg, bg;              /* [dim] */
    float *ws[2], bs[2];        /* [dim] */
    float *wc[2], *bc[2];       /* [5][dim], [5] */
} hd_model;

typedef struct {
    float lr, lr_class, lr_gender;  /* Adam rates: score head, class head, gender head */
    float wd_score, wd_class, wd_gender, dropout;
    int batch, max_epochs, patience;
    float val_frac;             /* validation part of the training data for early stopping */
    uint64_t seed;
    int per_gender;
    int verbose;
} hd_config;

typedef struct {
    float p_female;
    float score;                /* 1..5 */
    float dist[HD_CLASSES];
    int cls;                    /* 1..5 */
} hd_output;

typedef struct {
    double train_loss[3], val_loss[3];  /* gender, score, class (the shared / last pair) at the kept epoch */
    int epochs[3];                      /* epochs run */
    int n_val;
} hd_stats;

void hd_config_default(hd_config *c);
fs_status hd_alloc(hd_model *m, int dim, int per_gender);
void hd_free(hd_model *m);
/* x[n][dim] features, y[n] scores 1..5, g[n] genders (0 male, 1 female, -1 unknown: gender head
 * trains on known rows; with per_gender unknown rows train both score pairs). names[n] pick the
 * validation rows (hash of name and seed), so the split does not depend on row order. */
fs_status hd_train(hd_model *m, const hd_config *c, const float *x, const float *y, const int *g,
                   const char *const *names, int n, int dim, hd_stats *stats);
void hd_predict(const hd_model *m, const float *x, hd_output *out);
/* class 0..4 of a score: round(y) clamped to 1..5, minus 1 */
int hd_score_class(float y);
#endif
