/* train/head.c — training and prediction of the linear heads (see head.h). */
#include "train/head.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/dataset.h"
#include "train/layers.h"

enum { K_BCE = 0, K_MSE = 1, K_CE = 2 };

void hd_config_default(hd_config *c) {
    memset(c, 0, sizeof *c);
    /* measured on SCUT-FBP5500 train_60 (validation part): lr 1e-3 stops the score head early
     * far from the optimum (test PC 0.87); 1e-4 reaches ridge regression's accuracy */
    c->lr = 1e-4f;
    c->lr_class = 3e-4f;
    c->lr_gender = 3e-4f;
    c->wd_score = 2.0f;
    c->wd_class = 0.5f;
    c->wd_gender = 0.01f;
    c->dropout = 0.2f;
    c->batch = 64;
    c->max_epochs = 200;
    c->patience = 10;
    c->val_frac = 0.1f;
    c->seed = 1;
    c->per_gender = 0;
}

int hd_score_class(float y) {
    int k = (int)lrintf(y);
    k = k < 1 ? 1 : k > 5 ? 5 : k;
    return k - 1;
}

void hd_free(hd_model *m) {
    free(m->mean); free(m->inv_std); free(m->wg);
    for (int i = 0; i < 2; i++) { free(m->ws[i]); free(m->wc[i]); free(m->bc[i]); }
    memset(m, 0, sizeof *m);
}

fs_status hd_alloc(hd_model *m, int dim, int per_gender) {
    memset(m, 0, sizeof *m);
    if (dim <= 0 || dim > (1 << 20)) return fs_error(FS_ERR_ARG, "heads: feature dimension %d", dim);
    m->dim = dim;
    m->per_gender = per_gender ? 1 : 0;
    int ok = (m->mean = calloc(dim, 4)) && (m->inv_std = calloc(dim, 4)) && (m->wg = calloc(dim, 4));
    for (int i = 0; i <= m->per_gender && ok; i++)
        ok = (m->ws[i] = calloc(dim, 4)) && (m->wc[i] = calloc((size_t)HD_CLASSES * dim, 4)) &&
             (m->bc[i] = calloc(HD_CLASSES, 4));
    if (!ok) { hd_free(m); return fs_error(FS_ERR_NOMEM, "heads: out of memory"); }
    return FS_OK;
}

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* One linear layer trained with Adam + L2, dropout on its input, early stopping on rows_va. */
typedef struct {
    const float *z;       /* [n][dim] standardised */
    int dim, K, kind;
    const float *tf;      /* float targets (BCE / MSE), indexed by row */
    const int *tc;        /* class targets (CE) */
    float wd;
    const hd_config *c;
    uint64_t seed;
    float lr;
} lin_job;

static double eval_loss(const lin_job *j, const float *W, const float *b, const int *rows, int n, float *buf_x,
                        float *buf_y, float *buf_t, int *buf_c) {
    double s = 0;
    int B = j->c->batch;
    for (int o = 0; o < n; o += B) {
        int nb = n - o < B ? n - o : B;
        for (int r = 0; r < nb; r++) {
            memcpy(buf_x + (size_t)r * j->dim, j->z + (size_t)rows[o + r] * j->dim, (size_t)j->dim * 4);
            if (j->kind == K_CE) buf_c[r] = j->tc[rows[o + r]]; else buf_t[r] = j->tf[rows[o + r]];
        }
        lin_forward(buf_y, buf_x, W, b, nb, j->dim, j->K);
        double l = j->kind == K_BCE ? loss_bce_logits(buf_y, buf_t, nb, NULL)
                 : j->kind == K_MSE ? loss_mse(buf_y, buf_t, nb, NULL)
                                    : loss_softmax_ce(buf_y, buf_c, nb, j->K, NULL);
        s += l * nb;
    }
    return n ? s / n : 0;
}

/* biases start at the training prior: logit of the positive rate, mean target, log class frequency */
static void init_bias(const lin_job *j, const int *rows, int n, float *b) {
    if (j->kind == K_CE) {
        double cnt[HD_CLASSES] = {0};
        for (int i = 0; i < n; i++) cnt[j->tc[rows[i]]] += 1;
        for (int k = 0; k < j->K; k++) b[k] = (float)log((cnt[k] + 1) / (n + j->K));
        return;
    }
    double s = 0;
    for (int i = 0; i < n; i++) s += j->tf[rows[i]];
    double m = n ? s / n : 0;
    if (j->kind == K_BCE) { m = m < 1e-3 ? 1e-3 : m > 1 - 1e-3 ? 1 - 1e-3 : m; b[0] = (float)log(m / (1 - m)); }
    else b[0] = (float)m;
}

static fs_status train_linear(const lin_job *j, int *rows_tr, int ntr, const int *rows_va, int nva, float *W,
                              float *b, double *tr_loss, double *va_loss, int *epochs) {
    int D = j->dim, K = j->K, B = j->c->batch;
    size_t nw = (size_t)K * D;
    float *gw = calloc(nw, 4), *mw = calloc(nw, 4), *vw = calloc(nw, 4), *best = calloc(nw + K, 4);
    float *xb = calloc((size_t)B * D, 4), *xd = calloc((size_t)B * D, 4), *yb = calloc((size_t)B * K, 4);
    float *gy = calloc((size_t)B * K, 4), *tb = calloc(B, 4);
    int *cb = calloc(B, sizeof(int));
    uint8_t *mask = calloc((size_t)B * D, 1);
    float gb[HD_CLASSES], mb[HD_CLASSES] = {0}, vb[HD_CLASSES] = {0};
    fs_status st = FS_OK;
    if (!gw || !mw || !vw || !best || !xb || !xd || !yb || !gy || !tb || !cb || !mask) { st = fs_error(FS_ERR_NOMEM, "heads: out of memory"); goto done; }
    memset(W, 0, nw * 4);
    init_bias(j, rows_tr, ntr, b);
    adam_cfg a;
    adam_init(&a, j->lr, j->wd);
    uint64_t rng = j->seed;
    double best_va = INFINITY;
    int since = 0, ep;
    for (ep = 0; ep < j->c->max_epochs; ep++) {
        for (int i = ntr - 1; i > 0; i--) { int k = (int)(rng_next(&rng) % (uint64_t)(i + 1)); int t = rows_tr[i]; rows_tr[i] = rows_tr[k]; rows_tr[k] = t; }
        double ls = 0;
        for (int o = 0; o < ntr; o += B) {
            int nb = ntr - o < B ? ntr - o : B;
            for (int r = 0; r < nb; r++) {
                memcpy(xb + (size_t)r * D, j->z + (size_t)rows_tr[o + r] * D, (size_t)D * 4);
                if (j->kind == K_CE) cb[r] = j->tc[rows_tr[o + r]]; else tb[r] = j->tf[rows_tr[o + r]];
            }
            dropout_forward(xd, mask, xb, (size_t)nb * D, j->c->dropout, &rng);
            lin_forward(yb, xd, W, b, nb, D, K);
            double l = j->kind == K_BCE ? loss_bce_logits(yb, tb, nb, gy)
                     : j->kind == K_MSE ? loss_mse(yb, tb, nb, gy) : loss_softmax_ce(yb, cb, nb, K, gy);
            ls += l * nb;
            memset(gw, 0, nw * 4);
            memset(gb, 0, sizeof gb);
            lin_backward(NULL, gw, gb, gy, xd, W, nb, D, K);
            adam_tick(&a);
            adam_step(&a, W, gw, mw, vw, nw, 1);
            adam_step(&a, b, gb, mb, vb, (size_t)K, 0);
        }
        *tr_loss = ls / ntr;
        if (nva > 0) {
            double v = eval_loss(j, W, b, rows_va, nva, xb, yb, tb, cb);
            if (v < best_va - 1e-6) { best_va = v; since = 0; memcpy(best, W, nw * 4); memcpy(best + nw, b, (size_t)K * 4); }
            else if (++since >= j->c->patience) { ep++; break; }
        }
    }
    *epochs = ep;
    if (nva > 0) { memcpy(W, best, nw * 4); memcpy(b, best + nw, (size_t)K * 4); *va_loss = best_va; }
    else *va_loss = NAN;
    /* training loss without dropout at the kept weights */
    *tr_loss = eval_loss(j, W, b, rows_tr, ntr, xb, yb, tb, cb);
done:
    free(gw); free(mw); free(vw); free(best); free(xb); free(xd); free(yb); free(gy); free(tb); free(cb); free(mask);
    return st;
}

static void standardise_fit(hd_model *m, const float *x, int n) {
    int D = m->dim;
    for (int d = 0; d < D; d++) {
        double s = 0, s2 = 0;
        for (int i = 0; i < n; i++) s += x[(size_t)i * D + d];
        double mu = s / n;
        for (int i = 0; i < n; i++) { double t = x[(size_t)i * D + d] - mu; s2 += t * t; }
        double sd = sqrt(s2 / n);
        m->mean[d] = (float)mu;
        m->inv_std[d] = sd > 1e-6 ? (float)(1.0 / sd) : 0.0f;
    }
}

static void standardise(const hd_model *m, const float *x, float *z) {
    for (int d = 0; d < m->dim; d++) z[d] = (x[d] - m->mean[d]) * m->inv_std[d];
}

static int is_val(const char *name, uint64_t seed, float frac) {
    uint64_t h = ds_fnv1a(DS_FNV_INIT ^ seed * 0x9e3779b97f4a7c15ULL, name, strlen(name));
    return (double)(h % 10000) < frac * 10000.0;
}

fs_status hd_train(hd_model *m, const hd_config *c, const float *x, const float *y, const int *g,
                   const char *const *names, int n, int dim, hd_stats *stats) {
    if (n < 2) return fs_error(FS_ERR_ARG, "heads: need at least 2 training rows, got %d", n);
    fs_status st = hd_alloc(m, dim, c->per_gender);
    if (st != FS_OK) return st;
    hd_stats dummy;
    if (!stats) stats = &dummy;
    memset(stats, 0, sizeof *stats);
    standardise_fit(m, x, n);
    float *z = malloc((size_t)n * dim * 4), *tg = malloc((size_t)n * 4), *ts = malloc((size_t)n * 4);
    int *tc = malloc((size_t)n * sizeof(int)), *rtr = malloc((size_t)n * sizeof(int)), *rva = malloc((size_t)n * sizeof(int));
    if (!z || !tg || !ts || !tc || !rtr || !rva) { st = fs_error(FS_ERR_NOMEM, "heads: out of memory"); goto done; }
    for (int i = 0; i < n; i++) {
        standardise(m, x + (size_t)i * dim, z + (size_t)i * dim);
        tg[i] = g[i] == 1 ? 1.0f : 0.0f;
        ts[i] = y[i] - 3.0f;
        tc[i] = hd_score_class(y[i]);
    }
    int use_val = n >= 20 && c->val_frac > 0;
    lin_job j = {z, dim, 1, K_BCE, tg, tc, c->wd_gender, c, c->seed * 0x2545F4914F6CDD1DULL + 11, c->lr_gender};
    /* gender head: rows with a known gender */
    int ntr = 0, nva = 0;
    for (int i = 0; i < n; i++) if (g[i] >= 0) { if (use_val && is_val(names[i], c->seed, c->val_frac)) rva[nva++] = i; else rtr[ntr++] = i; }
    if (ntr > 0) {
        st = train_linear(&j, rtr, ntr, rva, nva, m->wg, &m->bg, &stats->train_loss[0], &stats->val_loss[0], &stats->epochs[0]);
        if (st != FS_OK) goto done;
    }
    for (int p = 0; p <= m->per_gender; p++) {
        ntr = nva = 0;
        for (int i = 0; i < n; i++) {
            if (m->per_gender && g[i] >= 0 && g[i] != p) continue;
            if (use_val && is_val(names[i], c->seed, c->val_frac)) rva[nva++] = i; else rtr[ntr++] = i;
        }
        stats->n_val = nva;
        if (ntr == 0) continue;
        j.K = 1; j.kind = K_MSE; j.tf = ts; j.wd = c->wd_score; j.lr = c->lr; j.seed = c->seed * 0x2545F4914F6CDD1DULL + 23 + (uint64_t)p;
        st = train_linear(&j, rtr, ntr, rva, nva, m->ws[p], &m->bs[p], &stats->train_loss[1], &stats->val_loss[1], &stats->epochs[1]);
        if (st != FS_OK) goto done;
        j.K = HD_CLASSES; j.kind = K_CE; j.wd = c->wd_class; j.lr = c->lr_class; j.seed = c->seed * 0x2545F4914F6CDD1DULL + 37 + (uint64_t)p;
        st = train_linear(&j, rtr, ntr, rva, nva, m->wc[p], m->bc[p], &stats->train_loss[2], &stats->val_loss[2], &stats->epochs[2]);
        if (st != FS_OK) goto done;
    }
done:
    free(z); free(tg); free(ts); free(tc); free(rtr); free(rva);
    if (st != FS_OK) hd_free(m);
    return st;
}

void hd_predict(const hd_model *m, const float *x, hd_output *out) {
    int D = m->dim;
    double sg = m->bg;
    /* z on the fly: no allocation */
    float zl[HD_CLASSES];
    for (int d = 0; d < D; d++) sg += (double)m->wg[d] * ((x[d] - m->mean[d]) * m->inv_std[d]);
    out->p_female = sigmoidf_((float)sg);
    int p = m->per_gender ? out->p_female >= 0.5f : 0;
    double ss = m->bs[p];
    for (int d = 0; d < D; d++) ss += (double)m->ws[p][d] * ((x[d] - m->mean[d]) * m->inv_std[d]);
    for (int k = 0; k < HD_CLASSES; k++) {
        double s = m->bc[p][k];
        const float *w = m->wc[p] + (size_t)k * D;
        for (int d = 0; d < D; d++) s += (double)w[d] * ((x[d] - m->mean[d]) * m->inv_std[d]);
        zl[k] = (float)s;
    }
    float sc = 3.0f + (float)ss;
    out->score = sc < 1 ? 1 : sc > 5 ? 5 : sc;
    softmax_rows(out->dist, zl, 1, HD_CLASSES);
    int best = 0;
    for (int k = 1; k < HD_CLASSES; k++) if (out->dist[k] > out->dist[best]) best = k;
    out->cls = best + 1;
}
