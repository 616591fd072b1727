/* train/metrics.h — evaluation metrics of the benchmark. */
#ifndef FS_TRAIN_METRICS_H
#define FS_TRAIN_METRICS_H

typedef struct {
    int n;
    double pc, mae, rmse;  /* Pearson correlation, mean absolute error, root mean squared error */
    double acc5;           /* predicted class == round(label) (classes 1..5) */
    double gender_acc;     /* over rows with a known gender; NAN if none */
    int n_gender;
} mt_result;

/* pred/label scores, pred_cls/label classes (0..4), pred_female (0/1) / gender (-1 unknown) */
double mt_pearson(const float *a, const float *b, int n);
void mt_compute(const float *pred, const float *label, const int *pred_cls, const int *pred_female,
                const int *gender, int n, mt_result *out);
#endif
