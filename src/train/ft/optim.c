/* train/ft/optim.c — global-norm clipping, SGD with momentum / AdamW over the flat parameter block,
 * warm-up + cosine schedule, per-tensor learning-rate multipliers (see ft.h).
 *
 * The block is cut once into segments of at most FT_SEG floats, each inside one tensor (one rate,
 * one decay flag). Segments are the pool's tasks: the update is element-wise and the norm's partial
 * sums are per segment, added in segment order, so results do not depend on the thread count. */
#include <math.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/threadpool.h"
#include "train/ft/ft_internal.h"

#define FT_SEG 32768

float ft_schedule(const ft_config *c, long s) {
    if (s < 0) s = 0;
    if (c->warmup_steps > 0 && s < c->warmup_steps) return (float)(s + 1) / (float)c->warmup_steps;
    long span = c->total_steps - c->warmup_steps;
    double p = span > 0 ? (double)(s - c->warmup_steps) / (double)span : 1.0;
    if (p > 1) p = 1;
    return (float)(c->lr_min_frac + (1.0 - c->lr_min_frac) * 0.5 * (1.0 + cos(M_PI * p)));
}

fs_status ft_optim_build(ft_engine *e) {
    int n = 0;
    for (int k = 0; k < e->n_info; k++) n += (int)((e->info[k].count + FT_SEG - 1) / FT_SEG);
    e->segs = calloc((size_t)n + 1, sizeof *e->segs);
    e->seg_sq = calloc((size_t)n + 1, sizeof *e->seg_sq);
    if (!e->segs || !e->seg_sq) return fs_error(FS_ERR_NOMEM, "ft: out of memory");
    for (int k = 0; k < e->n_info; k++) {
        const ft_param_info *pi = &e->info[k];
        for (size_t o = 0; o < pi->count; o += FT_SEG) {
            size_t cnt = pi->count - o < FT_SEG ? pi->count - o : FT_SEG;
            e->segs[e->n_segs++] = (ft_seg){pi->offset + o, cnt, pi->lr_mult, pi->decay};
        }
    }
    return FS_OK;
}

static void norm_task(void *ctx, int t, int thread) {
    (void)thread;
    ft_engine *e = ctx;
    const ft_seg *s = &e->segs[t];
    const float *g = e->grads + s->off;
    double acc = 0;
    for (size_t i = 0; i < s->count; i++) acc += (double)g[i] * g[i];
    e->seg_sq[t] = acc;
}

double ft_grad_norm(ft_engine *e) {
    fs_pool_run(e->pool, e->n_segs, norm_task, e);
    double acc = 0;
    for (int k = 0; k < e->n_segs; k++) acc += e->seg_sq[k];
    return sqrt(acc);
}

typedef struct {
    ft_engine *e;
    float lr, scale, bc1, bc2;
} upd_ctx;

static void update_task(void *ctx, int t, int thread) {
    (void)thread;
    const upd_ctx *u = ctx;
    ft_engine *e = u->e;
    const ft_config *c = &e->cfg;
    const ft_seg *s = &e->segs[t];
    float *w = e->params + s->off, *m = e->m + s->off;
    const float *g = e->grads + s->off;
    const float lr = u->lr * s->lr_mult, wd = s->decay ? c->weight_decay : 0.0f, sc = u->scale;
    if (c->optim == FT_OPT_ADAMW) {
        float *v = e->v + s->off;
        const float b1 = c->beta1, b2 = c->beta2, eps = c->eps;
        for (size_t i = 0; i < s->count; i++) {
            float gi = g[i] * sc;
            m[i] = b1 * m[i] + (1.0f - b1) * gi;
            v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
            float mh = m[i] / u->bc1, vh = v[i] / u->bc2;
            w[i] -= lr * (mh / (sqrtf(vh) + eps) + wd * w[i]);
        }
    } else {
        const float mu = c->momentum;
        for (size_t i = 0; i < s->count; i++) {
            float gi = g[i] * sc + wd * w[i];
            m[i] = mu * m[i] + gi;
            w[i] -= lr * m[i];
        }
    }
}

void ft_optim_apply(ft_engine *e, float lr, float clip_scale) {
    double t = (double)(e->step + 1);
    upd_ctx u = {e, lr, clip_scale, (float)(1.0 - pow(e->cfg.beta1, t)), (float)(1.0 - pow(e->cfg.beta2, t))};
    fs_pool_run(e->pool, e->n_segs, update_task, &u);
}
