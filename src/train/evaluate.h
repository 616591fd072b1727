/* train/evaluate.h — run heads over a feature matrix and report the benchmark metrics overall
 * and per subgroup (AF/AM/CF/CM for SCUT-FBP5500, F/M otherwise) as a table or JSON. */
#ifndef FS_TRAIN_EVALUATE_H
#define FS_TRAIN_EVALUATE_H
#include <stdio.h>
#include "data/dataset.h"
#include "train/features.h"
#include "train/head.h"
#include "train/metrics.h"

#define EV_MAX_GROUPS 8
typedef struct {
    mt_result all;
    int n_groups;
    char group[EV_MAX_GROUPS][3];
    mt_result grp[EV_MAX_GROUPS];
} ev_result;

fs_status ev_run(const hd_model *m, const fe_matrix *x, const ds_set *ds, ev_result *out);
/* mean of k results (metric-wise; n summed) */
void ev_average(const ev_result *r, int k, ev_result *out);
void ev_print_table(FILE *f, const char *title, const ev_result *r);
/* {"n":..,"pc":..,"mae":..,"rmse":..,"acc5":..,"gender_acc":..,"groups":{"AF":{...},...}} */
void ev_print_json(FILE *f, const ev_result *r);
#endif
