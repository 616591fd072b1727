/* train/evaluate.c — see evaluate.h. */
#include "train/evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static int group_index(ev_result *r, const char *g) {
    for (int i = 0; i < r->n_groups; i++) if (!strcmp(r->group[i], g)) return i;
    if (r->n_groups == EV_MAX_GROUPS) return -1;
    snprintf(r->group[r->n_groups], 3, "%s", g);
    return r->n_groups++;
}

static int cmp_group(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

fs_status ev_run(const hd_model *m, const fe_matrix *x, const ds_set *ds, ev_result *out) {
    memset(out, 0, sizeof *out);
    int n = ds->n;
    if (x->n != n || x->dim != m->dim) return fs_error(FS_ERR_ARG, "evaluate: %d x %d features for %d images and a %d-d model", x->n, x->dim, n, m->dim);
    float *pred = malloc((size_t)n * 4 + 4), *lab = malloc((size_t)n * 4 + 4);
    int *cls = malloc((size_t)n * sizeof(int) + 4), *fem = malloc((size_t)n * sizeof(int) + 4), *gen = malloc((size_t)n * sizeof(int) + 4);
    int *idx = malloc((size_t)n * sizeof(int) + 4);
    fs_status st = FS_OK;
    if (!pred || !lab || !cls || !fem || !gen || !idx) { st = fs_error(FS_ERR_NOMEM, "evaluate: out of memory"); goto done; }
    for (int i = 0; i < n; i++) {
        hd_output o;
        hd_predict(m, x->x + (size_t)i * x->dim, &o);
        pred[i] = o.score; lab[i] = ds->items[i].score; cls[i] = o.cls - 1;
        fem[i] = o.p_female >= 0.5f; gen[i] = ds->items[i].gender;
        if (ds->items[i].group[0]) group_index(out, ds->items[i].group);
    }
    mt_compute(pred, lab, cls, fem, gen, n, &out->all);
    qsort(out->group, (size_t)out->n_groups, sizeof out->group[0], cmp_group);
    for (int g = 0; g < out->n_groups; g++) {
        int k = 0;
        float *p2 = malloc((size_t)n * 4 + 4), *l2 = malloc((size_t)n * 4 + 4);
        int *c2 = malloc((size_t)n * sizeof(int) + 4), *f2 = malloc((size_t)n * sizeof(int) + 4), *g2 = malloc((size_t)n * sizeof(int) + 4);
        if (!p2 || !l2 || !c2 || !f2 || !g2) st = fs_error(FS_ERR_NOMEM, "evaluate: out of memory");
        else {
            for (int i = 0; i < n; i++)
                if (!strcmp(ds->items[i].group, out->group[g])) { p2[k] = pred[i]; l2[k] = lab[i]; c2[k] = cls[i]; f2[k] = fem[i]; g2[k] = gen[i]; k++; }
            mt_compute(p2, l2, c2, f2, g2, k, &out->grp[g]);
        }
        free(p2); free(l2); free(c2); free(f2); free(g2);
    }
done:
    free(pred); free(lab); free(cls); free(fem); free(gen); free(idx);
    return st;
}

static void avg1(const mt_result *r, int k, mt_result *o) {
    memset(o, 0, sizeof *o);
    for (int i = 0; i < k; i++) {
        o->n += r[i].n; o->n_gender += r[i].n_gender;
        o->pc += r[i].pc / k; o->mae += r[i].mae / k; o->rmse += r[i].rmse / k;
        o->acc5 += r[i].acc5 / k; o->gender_acc += r[i].gender_acc / k;
    }
}

void ev_average(const ev_result *r, int k, ev_result *out) {
    memset(out, 0, sizeof *out);
    mt_result tmp[16];
    if (k > 16) k = 16;
    for (int i = 0; i < k; i++) tmp[i] = r[i].all;
    avg1(tmp, k, &out->all);
    out->n_groups = r[0].n_groups;
    for (int g = 0; g < out->n_groups; g++) {
        memcpy(out->group[g], r[0].group[g], 3);
        for (int i = 0; i < k; i++) tmp[i] = r[i].grp[g];
        avg1(tmp, k, &out->grp[g]);
    }
}

static void row(FILE *f, const char *name, const mt_result *m) {
    fprintf(f, "  %-8s %5d  %6.4f  %6.4f  %6.4f  %6.2f%%  ", name, m->n, m->pc, m->mae, m->rmse, 100 * m->acc5);
    if (m->n_gender) fprintf(f, "%6.2f%%\n", 100 * m->gender_acc); else fprintf(f, "     -\n");
}

void ev_print_table(FILE *f, const char *title, const ev_result *r) {
    fprintf(f, "%s\n", title);
    fprintf(f, "  %-8s %5s  %6s  %6s  %6s  %7s  %7s\n", "group", "n", "PC", "MAE", "RMSE", "acc5", "gender");
    row(f, "all", &r->all);
    for (int g = 0; g < r->n_groups; g++) row(f, r->group[g], &r->grp[g]);
}

static void num(FILE *f, double v) { if (isfinite(v)) fprintf(f, "%.6g", v); else fprintf(f, "null"); }

static void obj(FILE *f, const mt_result *m) {
    fprintf(f, "{\"n\":%d,\"pc\":", m->n); num(f, m->pc);
    fprintf(f, ",\"mae\":"); num(f, m->mae);
    fprintf(f, ",\"rmse\":"); num(f, m->rmse);
    fprintf(f, ",\"acc5\":"); num(f, m->acc5);
    fprintf(f, ",\"gender_acc\":"); num(f, m->n_gender ? m->gender_acc : NAN);
    fprintf(f, "}");
}

void ev_print_json(FILE *f, const ev_result *r) {
    fprintf(f, "{\"n\":%d,\"pc\":", r->all.n); num(f, r->all.pc);
    fprintf(f, ",\"mae\":"); num(f, r->all.mae);
    fprintf(f, ",\"rmse\":"); num(f, r->all.rmse);
    fprintf(f, ",\"acc5\":"); num(f, r->all.acc5);
    fprintf(f, ",\"gender_acc\":"); num(f, r->all.n_gender ? r->all.gender_acc : NAN);
    fprintf(f, ",\"groups\":{");
    for (int g = 0; g < r->n_groups; g++) { fprintf(f, "%s\"%s\":", g ? "," : "", r->group[g]); obj(f, &r->grp[g]); }
    fprintf(f, "}}");
}
