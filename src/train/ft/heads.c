/* train/ft/heads.c — the heads on the backbone feature (see ft.h): frozen normalisation, dropout,
 * one linear map to 7 outputs (score, 5 class logits, gender), the multi-task loss and its
 * gradient down to the feature; evaluation predictions. Small (B x 7 x D): single-threaded. */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "train/ft/ft_internal.h"
#include "train/head.h"
#include "train/layers.h"

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Wh uniform in +-0.01 (the score starts near 3, the distribution near uniform), bh 0. */
void ft_heads_init(ft_engine *e) {
    uint64_t s = e->cfg.seed * 0x2545f4914f6cdd1dULL + 7;
    for (size_t i = 0; i < (size_t)FT_HEAD_ROWS * e->D; i++)
        e->hw[i] = 0.01f * (float)((double)(splitmix(&s) >> 11) / 4503599627370496.0 - 1.0);
    memset(e->hb, 0, FT_HEAD_ROWS * sizeof(float));
}

void ft_heads_forward(ft_engine *e, int train) {
    const int B = e->B, D = e->D;
    const float *f = ft_features(e);
    for (int r = 0; r < B; r++)
        for (int i = 0; i < D; i++) {
            size_t k = (size_t)r * D + i;
            e->z[k] = (f[k] - e->mean[i]) * e->inv_std[i];
        }
    if (train && e->cfg.dropout > 0) dropout_forward(e->zd, e->mask, e->z, (size_t)B * D, e->cfg.dropout, &e->rng);
    else memcpy(e->zd, e->z, (size_t)B * D * sizeof(float));
    lin_forward(e->out, e->zd, e->hw, e->hb, B, D, FT_HEAD_ROWS);
}

void ft_heads_backward(ft_engine *e, int n, const float *y, const float *g, float *gfeat, ft_step_stats *st) {
    const int B = e->B, D = e->D, H = FT_HEAD_ROWS, K = FT_CLASSES;
    const ft_config *c = &e->cfg;
    memset(e->dout, 0, (size_t)B * H * sizeof(float));
    if (c->w_reg > 0) {
        for (int r = 0; r < n; r++) e->col[r] = 3.0f + e->out[(size_t)r * H];
        st->loss_reg = c->reg_loss == FT_LOSS_L1 ? gr_loss_l1(e->col, y, n, e->gcol) : gr_loss_mse(e->col, y, n, e->gcol);
        for (int r = 0; r < n; r++) e->dout[(size_t)r * H] = c->w_reg * e->gcol[r];
    }
    if (c->w_cls > 0) {
        for (int r = 0; r < n; r++) memcpy(e->cls_z + (size_t)r * K, e->out + (size_t)r * H + 1, K * sizeof(float));
        if (c->cls_loss == FT_LOSS_CE) {
            for (int r = 0; r < n; r++) e->cls[r] = hd_score_class(y[r]);
            st->loss_cls = gr_loss_softmax_ce(e->cls_z, e->cls, n, K, e->cls_g);
        } else {
            for (int r = 0; r < n; r++) gr_ldl_target(e->q + (size_t)r * K, y[r], c->ldl_sigma, K);
            st->loss_cls = gr_loss_kl(e->cls_z, e->q, n, K, e->cls_g);
        }
        for (int r = 0; r < n; r++)
            for (int j = 0; j < K; j++) e->dout[(size_t)r * H + 1 + j] = c->w_cls * e->cls_g[(size_t)r * K + j];
    }
    if (c->w_gender > 0 && g) {
        for (int r = 0; r < n; r++) e->col[r] = e->out[(size_t)r * H + 6], e->t[r] = g[r];
        st->loss_gender = gr_loss_bce_logits(e->col, e->t, n, e->gcol);
        for (int r = 0; r < n; r++) e->dout[(size_t)r * H + 6] = c->w_gender * e->gcol[r];
    }
    st->loss = c->w_reg * st->loss_reg + c->w_cls * st->loss_cls + c->w_gender * st->loss_gender;
    /* head parameters; dzd = dout Wh over the n rows */
    gr_fc_backward(gfeat ? e->dzd : NULL, e->ghw, e->ghb, e->dout, e->zd, e->hw, n, D, H, NULL);
    if (!gfeat) return;
    size_t nd = (size_t)n * D;
    if (e->trained_forward && c->dropout > 0) dropout_backward(gfeat, e->dzd, e->mask, nd, c->dropout);
    else memcpy(gfeat, e->dzd, nd * sizeof(float));
    for (int r = 0; r < n; r++)
        for (int i = 0; i < D; i++) gfeat[(size_t)r * D + i] *= e->inv_std[i];
    memset(gfeat + nd, 0, (size_t)(B - n) * D * sizeof(float));
}

fs_status ft_predict(ft_engine *e, int n, ft_pred *out) {
    if (n < 1 || n > e->B || !out) return fs_error(FS_ERR_ARG, "ft: predict %d rows (1..%d)", n, e->B);
    fs_status st = ft_forward(e, 0);
    if (st) return st;
    const int H = FT_HEAD_ROWS;
    for (int r = 0; r < n; r++) {
        const float *o = e->out + (size_t)r * H;
        softmax_rows(out[r].dist, o + 1, 1, FT_CLASSES);
        float s = 3.0f + o[0];
        if (e->cfg.w_reg <= 0) {
            s = 0;
            for (int j = 0; j < FT_CLASSES; j++) s += (float)(j + 1) * out[r].dist[j];
        }
        out[r].score = s < 1 ? 1 : s > 5 ? 5 : s;
        out[r].p_female = sigmoidf_(o[6]);
    }
    return FS_OK;
}
