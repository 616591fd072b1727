/* cli/finetune.c — `facescore finetune`: fine-tune a backbone through the network (train/ft), then
 * write a complete model file: the fine-tuned weights as overrides of the backbone's constants plus
 * heads fitted (train/head.c) on its features and, by default, the frozen mnv2 + mfn features — so
 * `score`, `serve` and `eval` use it like any heads file (docs/finetune.md). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/threadpool.h"
#include "data/dataset.h"
#include "nn/graph.h"
#include "nn/model.h"
#include "score/backbone.h"
#include "score/heads_io.h"
#include "score/paths.h"
#include "train/evaluate.h"
#include "train/features.h"
#include "train/ft/checkpoint.h"
#include "train/ft/ft.h"
#include "train/ft/loader.h"
#include "train/head.h"
#include "train/metrics.h"

#define FT_MAX_CAND 8
/* --loss auto: the losses on the score (MSE, L1) and on the classes (the original's softmax CE,
 * label-distribution learning), each fine-tuned from the same start; validation picks one */
static const char *const ft_auto_losses[] = {"mse+ldl", "l1+ldl", "mse+ce", "mse"};

typedef struct {
    const char *data, *protocol, *out, *models, *cache, *resume, *ckpt, *backbone, *with, *loss, *groups;
    int fold, train_from, epochs, batch, threads, workers, stop_after, augment, json, no_cache;
    uint64_t seed;
    double lr, wd, val_frac;
    ft_optim optim;
    /* resolved */
    const bb_spec *sp;
    char models_dir[4096], all_backbones[256];
    ft_loss reg, cls;
    float w_reg, w_cls;
    char cand[FT_MAX_CAND][24];   /* --loss A,B,... or auto: candidates, chosen by validation PC */
    int n_cand;
    const char *choice;           /* the candidates' validation results, for the model file */
} ft_opts;

static void usage(FILE *f) {
    fprintf(f,
            "usage: facescore finetune --data DIR [options]\n"
            "Fine-tunes a backbone (backpropagation through the network, in C), then writes a model file that\n"
            "score / serve / eval use like any other (docs/finetune.md).\n"
            "  --data DIR            SCUT-FBP5500 folder, man/ woman/ folders, or a CSV (as for train)\n"
            "  --protocol P          60/40 (default), 5fold (five models: FILE.foldK) or all\n"
            "  --fold K              5fold: only fold K (1..5)\n"
            "  --backbone NAME       network to fine-tune: faceres (default) or mnv2\n"
            "  --with NAMES          frozen backbones whose features join the final heads (default mnv2+mfn\n"
            "                        for faceres, faceres+mfn for mnv2; none = the fine-tuned one alone)\n"
            "  --train-from B        first trained block (0 = all; default 10 of faceres' 14, 14 of mnv2's 18)\n"
            "  --epochs N            epochs (default 10; 0 = no fine-tuning: the frozen-feature model)\n"
            "  --batch N             images per step (default 16)\n"
            "  --loss L              mse, l1, ce, ldl or two joined by + (default mse+ldl); a list A,B,...\n"
            "                        or auto (mse+ldl,l1+ldl,mse+ce,mse): one fine-tune per loss from the same\n"
            "                        start, the best validation PC is kept (the time times the list's length)\n"
            "  --lr X  --wd X        peak learning rate (3e-4), weight decay (1e-4)\n"
            "  --optim adamw|sgd     optimiser (default adamw; warm-up then cosine decay, clipping at 5)\n"
            "  --seed N              seed of shuffling, augmentation, dropout, heads (default 1)\n"
            "  --threads N           compute threads (default: all cores); same seed + threads = same bytes\n"
            "  --workers N           image loader threads (default 1)\n"
            "  --no-augment          plain crops (default: the original's augmentation on the fly)\n"
            "  --val-frac X          validation part of the training rows that picks the epoch (0.1)\n"
            "  --groups G,G          train on these groups only (AF,AM,CF,CM; F,M): cross-group checks\n"
            "  --out FILE            model file (default facescore-finetuned.fsh)\n"
            "  --checkpoint FILE     checkpoint written after each epoch (default FILE.ckpt)\n"
            "  --resume CKPT         continue a run (same options) bit-identically\n"
            "  --stop-after N        stop after N epochs of this run (the checkpoint stays; resume later)\n"
            "  --cache DIR | --no-cache   detections and features cache (default ~/.cache/facescore)\n"
            "  --models DIR          folder with the backbone models\n"
            "  --json                end with one JSON object of the test metrics\n");
}

static int parse_loss(const char *s, ft_opts *o) {
    char buf[64];
    if (strlen(s) >= sizeof buf) return -1;
    snprintf(buf, sizeof buf, "%s", s);
    o->w_reg = o->w_cls = 0;
    o->reg = FT_LOSS_MSE; o->cls = FT_LOSS_LDL;
    for (char *sv, *t = strtok_r(buf, "+", &sv); t; t = strtok_r(NULL, "+", &sv)) {
        if (!strcmp(t, "mse") || !strcmp(t, "l1")) { if (o->w_reg > 0) return -1; o->reg = t[0] == 'm' ? FT_LOSS_MSE : FT_LOSS_L1; o->w_reg = 1.0f; }
        else if (!strcmp(t, "ce") || !strcmp(t, "ldl")) { if (o->w_cls > 0) return -1; o->cls = t[0] == 'c' ? FT_LOSS_CE : FT_LOSS_LDL; o->w_cls = 1.0f; }
        else return -1;
    }
    if (o->w_reg > 0 && o->w_cls > 0) o->w_cls = 0.5f;   /* the engine's default mix */
    return o->w_reg > 0 || o->w_cls > 0 ? 0 : -1;
}

/* --loss: one loss, a comma-separated list of candidates, or auto; o->reg/cls/w_* = the first */
static int parse_losses(ft_opts *o) {
    char buf[200];
    if (strlen(o->loss) >= sizeof buf) return -1;
    o->n_cand = 0;
    if (!strcmp(o->loss, "auto")) {
        for (size_t i = 0; i < sizeof ft_auto_losses / sizeof *ft_auto_losses; i++) snprintf(o->cand[o->n_cand++], sizeof o->cand[0], "%s", ft_auto_losses[i]);
    } else {
        snprintf(buf, sizeof buf, "%s", o->loss);
        for (char *sv, *t = strtok_r(buf, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
            if (o->n_cand == FT_MAX_CAND || strlen(t) >= sizeof o->cand[0]) return -1;
            snprintf(o->cand[o->n_cand++], sizeof o->cand[0], "%s", t);
        }
    }
    for (int i = o->n_cand - 1; i >= 0; i--)
        if (parse_loss(o->cand[i], o)) return -1;
    if (o->n_cand == 1) o->loss = o->cand[0];
    return o->n_cand > 0 ? 0 : -1;
}

static int parse(int argc, char **argv, ft_opts *o) {
    memset(o, 0, sizeof *o);
    o->protocol = "60/40"; o->out = "facescore-finetuned.fsh"; o->backbone = "faceres"; o->loss = "mse+ldl";
    o->train_from = -1; o->epochs = 10; o->batch = 16; o->threads = 0; o->workers = 1; o->augment = 1;
    o->seed = 1; o->lr = 3e-4; o->wd = 1e-4; o->val_frac = 0.1; o->optim = FT_OPT_ADAMW;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 1; }
        if (!strcmp(a, "--json")) { o->json = 1; continue; }
        if (!strcmp(a, "--no-cache")) { o->no_cache = 1; continue; }
        if (!strcmp(a, "--no-augment")) { o->augment = 0; continue; }
        if (!v) { fprintf(stderr, "facescore finetune: %s needs a value (or unknown option)\n", a); return -1; }
        i++;
        int iv; double dv;
        if (!strcmp(a, "--data")) o->data = v;
        else if (!strcmp(a, "--protocol")) o->protocol = v;
        else if (!strcmp(a, "--fold")) { if (fs_cli_parse_int(a, v, 1, 5, &iv)) return -1; o->fold = iv; }
        else if (!strcmp(a, "--backbone")) o->backbone = v;
        else if (!strcmp(a, "--with")) o->with = v;
        else if (!strcmp(a, "--train-from")) { if (fs_cli_parse_int(a, v, 0, 1000, &iv)) return -1; o->train_from = iv; }
        else if (!strcmp(a, "--epochs")) { if (fs_cli_parse_int(a, v, 0, 10000, &iv)) return -1; o->epochs = iv; }
        else if (!strcmp(a, "--batch")) { if (fs_cli_parse_int(a, v, 1, 1024, &iv)) return -1; o->batch = iv; }
        else if (!strcmp(a, "--threads")) { if (fs_cli_parse_int(a, v, 0, 256, &iv)) return -1; o->threads = iv; }
        else if (!strcmp(a, "--workers")) { if (fs_cli_parse_int(a, v, 1, 64, &iv)) return -1; o->workers = iv; }
        else if (!strcmp(a, "--stop-after")) { if (fs_cli_parse_int(a, v, 1, 10000, &iv)) return -1; o->stop_after = iv; }
        else if (!strcmp(a, "--seed")) { if (fs_cli_parse_int(a, v, 0, 2000000000, &iv)) return -1; o->seed = (uint64_t)iv; }
        else if (!strcmp(a, "--lr")) { if (fs_cli_parse_double(a, v, 1e-8, 1, &dv)) return -1; o->lr = dv; }
        else if (!strcmp(a, "--wd")) { if (fs_cli_parse_double(a, v, 0, 10, &dv)) return -1; o->wd = dv; }
        else if (!strcmp(a, "--val-frac")) { if (fs_cli_parse_double(a, v, 0, 0.5, &dv)) return -1; o->val_frac = dv; }
        else if (!strcmp(a, "--loss")) o->loss = v;
        else if (!strcmp(a, "--optim")) {
            if (!strcmp(v, "adamw")) o->optim = FT_OPT_ADAMW; else if (!strcmp(v, "sgd")) o->optim = FT_OPT_SGD;
            else { fprintf(stderr, "facescore finetune: --optim adamw|sgd\n"); return -1; }
        }
        else if (!strcmp(a, "--groups")) o->groups = v;
        else if (!strcmp(a, "--out")) o->out = v;
        else if (!strcmp(a, "--checkpoint")) o->ckpt = v;
        else if (!strcmp(a, "--resume")) o->resume = v;
        else if (!strcmp(a, "--cache")) o->cache = v;
        else if (!strcmp(a, "--models")) o->models = v;
        else { fprintf(stderr, "facescore finetune: unknown option '%s'\n", a); return -1; }
    }
    if (!o->data) { usage(stderr); return -1; }
    if (parse_losses(o)) { fprintf(stderr, "facescore finetune: --loss mse|l1|ce|ldl, REG+CLS (e.g. mse+ldl), a list A,B,... or auto\n"); return -1; }
    if (o->n_cand > 1 && (o->resume || o->stop_after || o->epochs <= 0 || o->val_frac <= 0)) {
        fprintf(stderr, "facescore finetune: several losses need --epochs > 0 and a validation part (--val-frac > 0), and run without --resume/--stop-after\n");
        return -1;
    }
    if (!(o->sp = bb_find(o->backbone)) || !strcmp(o->backbone, "mfn")) {
        fprintf(stderr, "facescore finetune: --backbone faceres|mnv2\n");
        return -1;
    }
    if (!o->with) o->with = !strcmp(o->backbone, "faceres") ? "mnv2+mfn" : "faceres+mfn";
    if (!strcmp(o->with, "none")) snprintf(o->all_backbones, sizeof o->all_backbones, "%s", o->backbone);
    else snprintf(o->all_backbones, sizeof o->all_backbones, "%s+%s", o->backbone, o->with);
    if (!bb_names_dim(o->all_backbones)) { fprintf(stderr, "facescore finetune: --with: %s\n", fs_last_error()); return -1; }
    if (o->train_from < 0) o->train_from = !strcmp(o->backbone, "faceres") ? 10 : 14;
    if (o->fold && strcmp(o->protocol, "5fold")) { fprintf(stderr, "facescore finetune: --fold needs --protocol 5fold\n"); return -1; }
    if (o->resume && !strcmp(o->protocol, "5fold") && !o->fold) { fprintf(stderr, "facescore finetune: resume one fold at a time (--fold K)\n"); return -1; }
    if (o->threads <= 0) o->threads = fs_cpu_count();
    return 0;
}

/* ------------------------------------------------------------------ data */

typedef struct {
    ds_set tr, te;
    int *fit, n_fit, *val, n_val;
    uint64_t data_hash;
} ft_data;

static void data_free(ft_data *d) { ds_free(&d->tr); ds_free(&d->te); free(d->fit); free(d->val); memset(d, 0, sizeof *d); }

static int in_groups(const char *groups, const char *g) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", groups);
    for (char *sv, *t = strtok_r(buf, ",", &sv); t; t = strtok_r(NULL, ",", &sv))
        if (!strcmp(t, g)) return 1;
    return 0;
}

static fs_status load_data(const ft_opts *o, int fold, ft_data *d) {
    memset(d, 0, sizeof *d);
    ds_set all;
    fs_status st = ds_load_protocol(o->data, o->protocol, fold ? fold : 1, &all, &d->te);
    if (st != FS_OK) return st;
    for (int i = 0; i < all.n && st == FS_OK; i++) {
        const ds_item *it = &all.items[i];
        if (o->groups && !in_groups(o->groups, it->group)) continue;
        st = ds_push(&d->tr, it->path, it->name, it->score, it->gender, it->group);
    }
    ds_free(&all);
    if (st == FS_OK && !d->tr.n) st = fs_error(FS_ERR_ARG, "no training rows%s%s", o->groups ? " in groups " : "", o->groups ? o->groups : "");
    if (st != FS_OK) { data_free(d); return st; }
    d->fit = malloc((size_t)d->tr.n * sizeof(int));
    d->val = malloc((size_t)d->tr.n * sizeof(int));
    if (!d->fit || !d->val) { data_free(d); return fs_error(FS_ERR_NOMEM, "out of memory"); }
    /* a fixed validation part of the training rows (name hash), never the test part */
    int use_val = d->tr.n >= 20 && o->val_frac > 0;
    for (int i = 0; i < d->tr.n; i++) {
        const char *nm = d->tr.items[i].name;
        uint64_t h = ds_fnv1a(DS_FNV_INIT ^ 0xf17e, nm, strlen(nm));
        if (use_val && (double)(h % 10000) < o->val_frac * 10000) d->val[d->n_val++] = i;
        else d->fit[d->n_fit++] = i;
    }
    d->data_hash = ds_rows_hash(&d->tr);
    return FS_OK;
}

/* ------------------------------------------------------------------ heads via features */

/* Channels of the first `dims` features that fine-tuning left (nearly) constant on the training rows —
 * standard deviation under FT_DEAD_FRAC of the median channel's — are set to their mean, so the heads
 * give them inv_std 0 and ignore them: normalised by a tiny training spread, such a channel turns any
 * change on a face unlike the training ones into an extreme score. Returns how many. */
#define FT_DEAD_FRAC 0.05
static int mask_dead_channels(fe_matrix *x, int dims) {
    if (x->n < 2 || dims <= 0) return 0;
    double *sd = malloc((size_t)dims * sizeof(double)), *mu = malloc((size_t)dims * sizeof(double)), *tmp = malloc((size_t)dims * sizeof(double));
    int dead = 0;
    if (!sd || !mu || !tmp) { free(sd); free(mu); free(tmp); return 0; }
    for (int d = 0; d < dims; d++) {
        double s = 0, q = 0;
        for (int i = 0; i < x->n; i++) s += x->x[(size_t)i * x->dim + d];
        mu[d] = s / x->n;
        for (int i = 0; i < x->n; i++) { double e = x->x[(size_t)i * x->dim + d] - mu[d]; q += e * e; }
        sd[d] = tmp[d] = sqrt(q / x->n);
    }
    for (int i = 1; i < dims; i++)   /* insertion sort for the median (dims ~ 1000) */
        for (int j = i; j > 0 && tmp[j - 1] > tmp[j]; j--) { double t = tmp[j]; tmp[j] = tmp[j - 1]; tmp[j - 1] = t; }
    double thr = FT_DEAD_FRAC * tmp[dims / 2];
    for (int d = 0; d < dims; d++) {
        if (sd[d] >= thr || sd[d] == 0) continue;
        dead++;
        for (int i = 0; i < x->n; i++) x->x[(size_t)i * x->dim + d] = (float)mu[d];
    }
    free(sd); free(mu); free(tmp);
    return dead;
}

static fs_status heads_on_features(const ft_opts *o, const char *backbones, const mf_file *weights, const ds_set *ds,
                                   hd_model *m, hd_stats *hs, fe_matrix *x, int mask_dims, int *n_dead) {
    fe_options fo;
    fe_options_default(&fo);
    fo.backbones = backbones;
    fo.models_dir = o->models_dir;
    fo.cache_dir = o->no_cache ? NULL : o->cache ? o->cache : fe_default_cache_dir();
    fo.threads = o->threads;
    fo.weights = weights;
    fs_status st = fe_extract(ds, &fo, x);
    if (st != FS_OK) return st;
    fprintf(stderr, "features (%s): %d images, %.1f s (%d from cache)\n", backbones, x->n, x->ms / 1000, x->n_cached);
    if (!m) return FS_OK;
    if (mask_dims > 0) *n_dead = mask_dead_channels(x, mask_dims);
    float *y = malloc((size_t)ds->n * sizeof(float));
    int *g = malloc((size_t)ds->n * sizeof(int));
    const char **names = malloc((size_t)ds->n * sizeof(char *));
    if (!y || !g || !names) st = fs_error(FS_ERR_NOMEM, "out of memory");
    for (int i = 0; st == FS_OK && i < ds->n; i++) { y[i] = ds->items[i].score; g[i] = ds->items[i].gender; names[i] = ds->items[i].name; }
    hd_config hc;
    hd_config_default(&hc);
    hc.seed = o->seed;
    if (st == FS_OK) st = hd_train(m, &hc, x->x, y, g, names, ds->n, x->dim, hs);
    free(y); free(g); free(names);
    return st;
}

/* linear-probe start: the engine's heads = heads trained on the frozen features of the fit rows */
static fs_status init_heads(const ft_opts *o, const ft_data *d, ft_engine *e) {
    ds_set fit = {0};
    fs_status st = FS_OK;
    for (int i = 0; i < d->n_fit && st == FS_OK; i++) {
        const ds_item *it = &d->tr.items[d->fit[i]];
        st = ds_push(&fit, it->path, it->name, it->score, it->gender, it->group);
    }
    hd_model m;
    hd_stats hs;
    fe_matrix x = {0};
    if (st == FS_OK) st = heads_on_features(o, o->backbone, NULL, &fit, &m, &hs, &x, 0, NULL);
    fe_matrix_free(&x);
    ds_free(&fit);
    if (st != FS_OK) return st;
    ft_heads h;
    ft_get_heads(e, &h);
    int D = h.dim;
    if (D != m.dim) { hd_free(&m); return fs_error(FS_ERR_INTERNAL, "heads: feature %d vs %d", D, m.dim); }
    memcpy(h.mean, m.mean, (size_t)D * 4);
    memcpy(h.inv_std, m.inv_std, (size_t)D * 4);
    memcpy(h.w, m.ws[0], (size_t)D * 4);
    memcpy(h.w + D, m.wc[0], (size_t)FT_CLASSES * D * 4);
    memcpy(h.w + 6 * (size_t)D, m.wg, (size_t)D * 4);
    h.b[0] = m.bs[0];
    for (int k = 0; k < FT_CLASSES; k++) h.b[1 + k] = m.bc[0][k];
    h.b[6] = m.bg;
    hd_free(&m);
    fprintf(stderr, "heads initialised on the frozen %s features (validation MSE %.4f)\n", o->backbone, hs.val_loss[1]);
    return ft_state_changed(e);
}

/* ------------------------------------------------------------------ the fine-tuning run */

typedef struct {
    fs_model *model;
    ft_engine *e;
    ld_loader *ld;
    float *best;             /* parameters of the best validated epoch (epoch 0 = the frozen start) */
    int has_best;            /* a validation part exists: best is valid */
    ck_info ck;
    double t_train_ms, t_val_ms;
    long images;
} ft_run;

static void config_string(const ft_opts *o, int fold, const ft_config *c, char *out, size_t n) {
    snprintf(out, n, "v1 backbone=%s train_from=%d epochs=%d batch=%d threads=%d seed=%llu loss=%s lr=%.9g wd=%.9g optim=%s "
             "warmup=%ld total=%ld dropout=%g val_frac=%g augment=%d crop=align detector=yunet protocol=%s fold=%d groups=%s",
             o->backbone, o->train_from, o->epochs, o->batch, o->threads, (unsigned long long)o->seed, o->loss, o->lr, o->wd,
             o->optim == FT_OPT_SGD ? "sgd" : "adamw", c->warmup_steps, c->total_steps, c->dropout, o->val_frac, o->augment,
             o->protocol, fold, o->groups ? o->groups : "all");
}

/* validation PC / MAE of the current network on the validation rows (plain crops) */
static fs_status validate(ft_run *r, const ft_data *d, double *pc, double *mae) {
    *pc = NAN; *mae = NAN;
    if (!d->n_val) return FS_OK;
    float *pred = malloc((size_t)d->n_val * sizeof(float)), *lab = malloc((size_t)d->n_val * sizeof(float));
    ft_pred *p = malloc((size_t)ft_batch(r->e) * sizeof *p);
    fs_status st = pred && lab && p ? ld_eval(r->ld, d->val, d->n_val, 0) : fs_error(FS_ERR_NOMEM, "out of memory");
    int k = 0, S = ft_input_size(r->e), B = ft_batch(r->e);
    const ld_batch *b;
    while (st == FS_OK && (st = ld_next(r->ld, &b)) == FS_OK && b) {
        memcpy(ft_input(r->e), b->x, (size_t)B * S * S * 3 * sizeof(float));
        if ((st = ft_predict(r->e, b->n, p)) != FS_OK) break;
        for (int i = 0; i < b->n; i++, k++) { pred[k] = p[i].score; lab[k] = b->score[i]; }
    }
    if (st == FS_OK) {
        double s = 0;
        for (int i = 0; i < k; i++) s += fabs(pred[i] - lab[i]);
        *pc = mt_pearson(pred, lab, k);
        *mae = s / (k ? k : 1);
    }
    free(pred); free(lab); free(p);
    return st;
}

static fs_status train_epoch(ft_run *r, const ft_opts *o, const ft_data *d, int epoch, fs_progress *prog, char *label,
                             ft_step_stats *sum) {
    fs_status st = ld_train(r->ld, d->fit, d->n_fit, epoch, 0);
    int S = ft_input_size(r->e), B = ft_batch(r->e), steps = 0;
    float y[1024], g[1024];
    const ld_batch *b;
    memset(sum, 0, sizeof *sum);
    double t0 = fs_cli_now_ms();
    while (st == FS_OK && (st = ld_next(r->ld, &b)) == FS_OK && b) {
        memcpy(ft_input(r->e), b->x, (size_t)B * S * S * 3 * sizeof(float));
        for (int i = 0; i < b->n; i++) { y[i] = b->score[i]; g[i] = (float)b->gender[i]; }
        ft_step_stats s;
        if ((st = ft_train_step(r->e, b->n, y, g, &s)) != FS_OK) break;
        sum->loss += s.loss; sum->loss_reg += s.loss_reg; sum->loss_cls += s.loss_cls; sum->loss_gender += s.loss_gender;
        sum->grad_norm += s.grad_norm; sum->lr = s.lr; sum->step = s.step;
        steps++;
        r->images += b->n;
        snprintf(label, 160, "finetune epoch %d/%d loss %.4f", epoch + 1, o->epochs, sum->loss / steps);
        fs_progress_add(prog, b->n);
    }
    r->t_train_ms += fs_cli_now_ms() - t0;
    if (steps) { sum->loss /= steps; sum->loss_reg /= steps; sum->loss_cls /= steps; sum->loss_gender /= steps; sum->grad_norm /= steps; }
    return st;
}

/* the run's epochs (after an optional resume); *done = 1 when every epoch ran */
static fs_status run_epochs(ft_run *r, const ft_opts *o, const ft_data *d, const char *ckpt, int *done) {
    ft_state s;
    ft_get_state(r->e, &s);
    int first = r->ck.epoch, last = o->epochs;
    if (o->stop_after && first + o->stop_after < last) last = first + o->stop_after;
    fs_progress prog;
    static char label[160];
    snprintf(label, sizeof label, "finetune epoch %d/%d", first + 1, o->epochs);
    fs_progress_start(&prog, label, (int64_t)(last - first) * ld_train_batches(d->n_fit, o->batch) * (d->n_fit < o->batch ? d->n_fit : o->batch));
    fs_status st = FS_OK;
    for (int ep = first; ep < last && st == FS_OK; ep++) {
        ft_step_stats sum;
        double t0 = fs_cli_now_ms();
        if ((st = train_epoch(r, o, d, ep, &prog, label, &sum)) != FS_OK) break;
        double t1 = fs_cli_now_ms(), pc, mae;
        if ((st = validate(r, d, &pc, &mae)) != FS_OK) break;
        double t2 = fs_cli_now_ms();
        r->t_val_ms += t2 - t1;
        r->ck.epoch = ep + 1;
        if (r->has_best && pc > r->ck.best_val) {
            r->ck.best_val = pc;
            r->ck.best_epoch = ep + 1;
            memcpy(r->best, s.params, s.n_params * sizeof(float));
        }
        size_t hl = strlen(r->ck.history);
        snprintf(r->ck.history + hl, sizeof r->ck.history - hl, "epoch %d step %ld lr %.6g loss %.6f reg %.6f cls %.6f gender %.6f val_pc %.6f val_mae %.6f\n",
                 ep + 1, sum.step, sum.lr, sum.loss, sum.loss_reg, sum.loss_cls, sum.loss_gender, pc, mae);
        snprintf(label, 160, "finetune epoch %d/%d loss %.4f val PC %.4f", ep + 1, o->epochs, sum.loss, pc);
        double wait_ms, work_ms;
        ld_timing(r->ld, &wait_ms, &work_ms);
        if (prog.enabled) fprintf(stderr, "\n");
        fprintf(stderr, "epoch %d/%d: loss %.4f (reg %.4f cls %.4f gender %.4f), val PC %.4f MAE %.4f; train %.1f s (%.1f images/s), val %.1f s, "
                "elapsed %.1f s; loader wait %.1f s, loader work %.1f s\n", ep + 1, o->epochs, sum.loss, sum.loss_reg, sum.loss_cls,
                sum.loss_gender, pc, mae, (t1 - t0) / 1000, d->n_fit / ((t1 - t0) / 1000 + 1e-9), (t2 - t1) / 1000,
                (r->t_train_ms + r->t_val_ms) / 1000, wait_ms / 1000, work_ms / 1000);
        st = ck_save(ckpt, &r->ck, &s, r->has_best ? r->best : NULL);
    }
    fs_progress_finish(&prog);
    *done = st == FS_OK && r->ck.epoch >= o->epochs;
    return st;
}

/* ------------------------------------------------------------------ model file */

typedef struct {
    mf_tensor *t;
    int n;
    char **names;
    float *data;
} overrides;

static void overrides_free(overrides *v) {
    for (int i = 0; i < v->n; i++) free(v->names[i]);
    free(v->names); free(v->t); free(v->data);
    memset(v, 0, sizeof *v);
}

/* the trained backbone tensors, named backbone.<name>.<graph tensor>, from the engine's params */
static fs_status collect_overrides(const ft_opts *o, ft_run *r, overrides *v) {
    ft_state s;
    ft_get_state(r->e, &s);
    nn_graph *g = fs_model_graph(r->model);
    memset(v, 0, sizeof *v);
    v->t = calloc((size_t)s.n_info + 1, sizeof *v->t);
    v->names = calloc((size_t)s.n_info + 1, sizeof *v->names);
    v->data = malloc((s.n_params + 1) * sizeof(float));
    if (!v->t || !v->names || !v->data) return fs_error(FS_ERR_NOMEM, "out of memory");
    memcpy(v->data, s.params, s.n_params * sizeof(float));
    for (int i = 0; i < s.n_info; i++) {
        const ft_param_info *p = &s.info[i];
        if (p->tensor < 0) continue;
        const nn_tensor *gt = &g->tensors[p->tensor];
        size_t l = strlen(p->name) + 32;
        char *nm = malloc(l);
        if (!nm) return fs_error(FS_ERR_NOMEM, "out of memory");
        snprintf(nm, l, "backbone.%s.%s", o->backbone, p->name);
        mf_tensor *t = &v->t[v->n];
        v->names[v->n++] = nm;
        t->name = nm;
        t->ndim = gt->ndim;
        if (gt->ndim < 1 || gt->ndim > MF_MAX_DIMS) return fs_error(FS_ERR_INTERNAL, "tensor %s has %d dims", p->name, gt->ndim);
        for (int k = 0; k < gt->ndim; k++) t->dims[k] = gt->dims[k];
        t->numel = p->count;
        t->data = v->data + p->offset;
    }
    return FS_OK;
}

static fs_status save_model(const ft_opts *o, const char *path, const hd_model *m, const ft_data *d, int fold, const ev_result *test,
                            const hd_stats *hs, const ft_run *r, const overrides *v, uint64_t wkey, int n_dead) {
    static char vals[48][1024];
    mf_meta meta[48];
    int k = 0;
#define META(KEY, ...) do { snprintf(vals[k], sizeof vals[k], __VA_ARGS__); meta[k].key = KEY; meta[k].value = vals[k]; k++; } while (0)
    META("format", "facescore-heads");
    META("created_by", "facescore %s finetune", FS_VERSION_STRING);
    META("backbones", "%s", o->all_backbones);
    META("crop", "align");
    META("detector", "yunet");
    META("flip_average", "1");
    META("labels", "1,2,3,4,5");
    META("per_gender", "%d", m->per_gender);
    int known = 0;
    for (int i = 0; i < d->tr.n; i++) known += d->tr.items[i].gender >= 0;
    META("gender_trained", "%d", known > 0);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", o->all_backbones);
    static char keys[BB_MAX][3][64];
    int nb = 0;
    for (char *sv, *t = strtok_r(buf, "+", &sv); t && nb < BB_MAX; t = strtok_r(NULL, "+", &sv), nb++) {
        const bb_spec *sp = bb_find(t);
        char files[400], sums[64];
        fs_status st = bb_files_hash(o->models_dir, sp, files, sizeof files, sums, sizeof sums, NULL);
        if (st != FS_OK) return st;
        snprintf(keys[nb][0], 64, "backbone.%s.file", t);
        snprintf(keys[nb][1], 64, "backbone.%s.fnv1a64", t);
        snprintf(keys[nb][2], 64, "backbone.%s.input", t);
        META(keys[nb][0], "%s", files);
        META(keys[nb][1], "%s", sums);
        META(keys[nb][2], "%dx%d %s, feature %s [%d]", sp->size, sp->size, bb_input_desc(sp), sp->tensor, sp->dim);
    }
    static char fkey[64];
    snprintf(fkey, sizeof fkey, "backbone.%s.finetuned", o->backbone);
    META(fkey, "%d tensors, weights fnv1a64 %016llx, train_from %d, %d near-constant channels ignored by the heads", v->n,
         (unsigned long long)wkey, o->train_from, n_dead);
    META("train.data", "%s", o->data);
    META("train.protocol", "%s", o->protocol);
    if (fold) META("train.fold", "%d", fold);
    if (o->groups) META("train.groups", "%s", o->groups);
    META("train.n", "%d", d->tr.n);
    META("train.fnv1a64", "%016llx", (unsigned long long)d->data_hash);
    META("train.config", "heads: hd_config_default seed=%llu (facescore train's), epochs gender %d score %d class %d",
         (unsigned long long)o->seed, hs->epochs[0], hs->epochs[1], hs->epochs[2]);
    meta[k].key = "finetune.config"; meta[k].value = r->ck.config; k++;
    if (r->has_best) META("finetune.best_epoch", "%d of %d (validation PC %.4f on %d training rows; 0 = the pretrained network)", r->ck.best_epoch, r->ck.epoch, r->ck.best_val, d->n_val);
    else META("finetune.best_epoch", "%d of %d (no validation part: the last epoch)", r->ck.epoch, r->ck.epoch);
    meta[k].key = "finetune.history"; meta[k].value = r->ck.history; k++;
    if (o->choice) { meta[k].key = "finetune.loss_choice"; meta[k].value = o->choice; k++; }
    if (test && test->all.n) {
        char *p = vals[k];
        FILE *f = fmemopen(p, sizeof vals[k], "w");
        if (f) { ev_print_json(f, test); fclose(f); }
        meta[k].key = "metrics.test"; meta[k].value = p; k++;
    }
#undef META
    return hio_save_with(path, m, meta, k, v->t, v->n);
}

/* ------------------------------------------------------------------ one fold */

static fs_status open_run(const ft_opts *o, const ft_data *d, int fold, ft_run *r, const char *ckpt) {
    memset(r, 0, sizeof *r);
    char path[4500];
    snprintf(path, sizeof path, "%s/%s", o->models_dir, o->sp->file);
    fs_status st = fs_model_load(path, &r->model);
    ft_config c;
    ft_config_default(&c);
    c.batch = o->batch;
    c.threads = o->threads;
    c.feature = o->sp->tensor;
    c.train_from = o->train_from;
    c.reg_loss = o->reg; c.cls_loss = o->cls; c.w_reg = o->w_reg; c.w_cls = o->w_cls;
    c.optim = o->optim;
    c.lr = (float)o->lr;
    c.weight_decay = (float)o->wd;
    c.seed = o->seed;
    long per = ld_train_batches(d->n_fit, o->batch);
    c.total_steps = per * (o->epochs > 0 ? o->epochs : 1);
    c.warmup_steps = c.total_steps / 10 < 100 ? (c.total_steps / 10 > 0 ? c.total_steps / 10 : 1) : 100;
    if (st == FS_OK) st = ft_open(&r->e, r->model, &c);
    if (st != FS_OK) return st;
    if (o->train_from > ft_num_blocks(r->e)) return fs_error(FS_ERR_ARG, "--train-from %d: %s has %d blocks", o->train_from, o->backbone, ft_num_blocks(r->e));
    config_string(o, fold, &c, r->ck.config, sizeof r->ck.config);
    r->ck.data_hash = d->data_hash;
    if ((st = bb_files_hash(o->models_dir, o->sp, NULL, 0, NULL, 0, &r->ck.backbone_hash)) != FS_OK) return st;
    r->ck.best_val = -2;
    ft_state s;
    ft_get_state(r->e, &s);
    if (!(r->best = malloc((s.n_params + 1) * sizeof(float)))) return fs_error(FS_ERR_NOMEM, "out of memory");
    ld_options lo;
    ld_options_default(&lo);
    lo.backbone = o->backbone;
    lo.cache_dir = o->no_cache ? NULL : o->cache ? o->cache : fe_default_cache_dir();
    lo.batch = o->batch;
    lo.workers = o->workers;
    lo.det_threads = o->threads;
    lo.seed = o->seed;
    lo.augment = o->augment;
    if (o->resume) {
        ck_info expect = r->ck, got;
        int hb = 0;
        if ((st = ck_load(o->resume, &expect, &s, r->best, &hb, &got)) != FS_OK) return st;
        if (hb != (d->n_val > 0)) return fs_error(FS_ERR_ARG, "checkpoint %s: best-epoch parameters %s", o->resume, hb ? "present without a validation part" : "missing");
        r->ck = got;
        r->has_best = hb;
        if ((st = ft_state_changed(r->e)) != FS_OK) return st;
        fprintf(stderr, "resumed %s after epoch %d of %d (best epoch %d, validation PC %.4f)\n", o->resume, got.epoch, o->epochs,
                got.best_epoch, got.best_val);
    }
    (void)ckpt;
    if (o->epochs > 0 && (st = ld_open(&lo, &d->tr, &r->ld)) != FS_OK) return st;   /* faces detected once */
    if (o->epochs <= 0 || o->resume) return FS_OK;
    if ((st = init_heads(o, d, r->e)) != FS_OK) return st;
    if (d->n_val) {   /* epoch 0: the pretrained network with the linear-probe heads */
        double pc, mae;
        if ((st = validate(r, d, &pc, &mae)) != FS_OK) return st;
        r->has_best = 1;
        r->ck.best_val = pc;
        r->ck.best_epoch = 0;
        memcpy(r->best, s.params, s.n_params * sizeof(float));
        snprintf(r->ck.history, sizeof r->ck.history, "epoch 0 val_pc %.6f val_mae %.6f\n", pc, mae);
        fprintf(stderr, "epoch 0 (pretrained, linear-probe heads): val PC %.4f MAE %.4f\n", pc, mae);
    }
    return FS_OK;
}

static void close_run(ft_run *r) {
    if (r->e) ft_close(r->e);
    if (r->model) fs_model_free(r->model);
    ld_close(r->ld);
    free(r->best);
    memset(r, 0, sizeof *r);
}

static void fold_path(const char *base, int fold, const char *suffix, char *out, size_t n) {
    if (fold) snprintf(out, n, "%s.fold%d%s", base, fold, suffix);
    else snprintf(out, n, "%s%s", base, suffix);
}

/* the final model: overrides -> features of all backbones -> heads -> test metrics -> file */
static fs_status finish_model(const ft_opts *o, const ft_data *d, int fold, ft_run *r, const char *out, ev_result *res, int *have_test) {
    ft_state s;
    ft_get_state(r->e, &s);
    if (r->has_best) {
        memcpy(s.params, r->best, s.n_params * sizeof(float));
        fs_status st = ft_state_changed(r->e);
        if (st != FS_OK) return st;
    }
    overrides v;
    memset(&v, 0, sizeof v);
    fs_status st = o->epochs > 0 ? collect_overrides(o, r, &v) : FS_OK;   /* 0 epochs: the stock network */
    char wpath[4500];
    snprintf(wpath, sizeof wpath, "%s.weights%d.tmp", out, (int)getpid());
    mf_meta wm[1] = {{"format", "facescore-weights"}};
    if (st == FS_OK) st = mf_write(wpath, wm, 1, v.t, v.n);
    mf_file w = {0};
    if (st == FS_OK) st = mf_open(wpath, &w);
    remove(wpath);
    uint64_t wkey = st == FS_OK ? bb_weights_key(&w, o->backbone, NULL) : 0;
    hd_model m;
    hd_stats hs;
    fe_matrix xtr = {0}, xte = {0};
    int trained = 0;
    int n_dead = 0;
    if (st == FS_OK) st = heads_on_features(o, o->all_backbones, &w, &d->tr, &m, &hs, &xtr, o->epochs > 0 ? o->sp->dim : 0, &n_dead);
    if (st == FS_OK && n_dead) fprintf(stderr, "%d of the fine-tuned %s's %d channels are near-constant on the training rows: the heads ignore them\n", n_dead, o->backbone, o->sp->dim);
    trained = st == FS_OK;
    if (st == FS_OK && d->te.n) st = heads_on_features(o, o->all_backbones, &w, &d->te, NULL, NULL, &xte, 0, NULL);
    if (st == FS_OK && d->te.n) {
        st = ev_run(&m, &xte, &d->te, res);
        *have_test = st == FS_OK;
        if (st == FS_OK && !o->json) {
            char t[160];
            snprintf(t, sizeof t, "%s test%s%.0d (%d images), %s %s + frozen %s%s%s", o->protocol, fold ? " fold " : "", fold, d->te.n,
                     o->epochs > 0 ? "fine-tuned" : "frozen", o->backbone, strcmp(o->with, "none") ? o->with : "nothing",
                     o->groups ? ", trained on groups " : "", o->groups ? o->groups : "");
            ev_print_table(stdout, t, res);
        }
    }
    if (st == FS_OK) st = save_model(o, out, &m, d, fold, *have_test ? res : NULL, &hs, r, &v, wkey, n_dead);
    if (st == FS_OK) fprintf(stderr, "wrote %s (%d fine-tuned tensors)\n", out, v.n);
    if (trained) hd_free(&m);
    fe_matrix_free(&xtr); fe_matrix_free(&xte);
    mf_close(&w);
    overrides_free(&v);
    return st;
}

/* one fine-tune (open + epochs) with o's loss; *done = 1 when every epoch ran */
static fs_status train_run(const ft_opts *o, const ft_data *d, int fold, const char *ckpt, ft_run *r, int *done) {
    fs_status st = open_run(o, d, fold, r, ckpt);
    *done = 1;
    if (st == FS_OK && o->epochs > 0) st = run_epochs(r, o, d, ckpt, done);
    return st;
}

/* --loss A,B,...: each candidate fine-tunes from the same start (same seed, heads, batches), checkpoint
 * CKPT.<loss>; the best validation PC (its best epoch) wins, the others are closed. The test part is
 * never looked at. *w = the winner's options, r = its run (open). */
static fs_status choose_loss(const ft_opts *o, const ft_data *d, int fold, const char *ckpt, ft_opts *w, ft_run *r,
                             char *choice, size_t n_choice) {
    double best = -3;
    int have = 0;
    fs_status st = FS_OK;
    choice[0] = 0;
    if (d->n_val < 3)
        return fs_error(FS_ERR_ARG, "choosing among %d losses needs validation rows: %d of %d training rows are in the validation part (--val-frac %g)",
                        o->n_cand, d->n_val, d->tr.n, o->val_frac);
    for (int i = 0; i < o->n_cand && st == FS_OK; i++) {
        ft_opts c = *o;
        char path[4500];
        c.loss = o->cand[i];
        c.n_cand = 1;
        parse_loss(c.loss, &c);
        snprintf(path, sizeof path, "%s.%s", ckpt, c.loss);
        fprintf(stderr, "loss candidate %d/%d: %s\n", i + 1, o->n_cand, c.loss);
        ft_run cur;
        int done;
        st = train_run(&c, d, fold, path, &cur, &done);
        if (st == FS_OK) {
            fprintf(stderr, "loss %s: best validation PC %.4f (epoch %d)\n", c.loss, cur.ck.best_val, cur.ck.best_epoch);
            size_t l = strlen(choice);
            snprintf(choice + l, n_choice - l, "%s%s val_pc %.4f epoch %d", i ? ", " : "", c.loss, cur.ck.best_val, cur.ck.best_epoch);
        }
        if (st == FS_OK && (!have || cur.ck.best_val > best)) {
            if (have) close_run(r);
            *r = cur; *w = c; best = cur.ck.best_val; have = 1;
        } else {
            close_run(&cur);
        }
    }
    size_t l = strlen(choice);
    if (st == FS_OK && have) snprintf(choice + l, n_choice - l, "; chosen %s (validation part of the training rows)", w->loss);
    if (st != FS_OK && have) close_run(r);
    return st;
}

static int run_fold(const ft_opts *o, int fold, ev_result *res, int *have_test) {
    ft_data d;
    fs_status st = load_data(o, fold, &d);
    if (st != FS_OK) { fprintf(stderr, "facescore finetune: %s\n", fs_last_error()); return 1; }
    char out[4300], ckpt[4400];
    fold_path(o->out, fold, "", out, sizeof out);
    if (o->ckpt) fold_path(o->ckpt, fold, "", ckpt, sizeof ckpt);
    else fold_path(o->out, fold, ".ckpt", ckpt, sizeof ckpt);
    fprintf(stderr, "finetune %s: %d training rows (%d fit, %d validation), %d test rows; train_from %d, %d epochs, batch %d, %d threads\n",
            o->backbone, d.tr.n, d.n_fit, d.n_val, d.te.n, o->train_from, o->epochs, o->batch, o->threads);
    ft_run r;
    ft_opts w = *o;
    static char choice[1024];
    double t0 = fs_cli_now_ms();
    int done = 1, r_open = 1;
    if (o->n_cand > 1) {
        st = choose_loss(o, &d, fold, ckpt, &w, &r, choice, sizeof choice);
        r_open = st == FS_OK;
        w.choice = choice;
        if (st == FS_OK) fprintf(stderr, "loss choice: %s\n", choice);
    } else {
        st = train_run(o, &d, fold, ckpt, &r, &done);
    }
    double t1 = fs_cli_now_ms();
    if (st == FS_OK && !done) fprintf(stderr, "stopped after epoch %d of %d; continue with the same options and --resume %s\n", r.ck.epoch, o->epochs, ckpt);
    if (st == FS_OK && done) st = finish_model(&w, &d, fold, &r, out, res, have_test);
    double t2 = fs_cli_now_ms();
    if (st == FS_OK)
        fprintf(stderr, "time: fine-tuning %.1f s (%ld images, %.1f images/s; validation %.1f s), final features + heads %.1f s; peak RSS %.0f MiB\n",
                (t1 - t0) / 1000, r.images, r.images / (r.t_train_ms / 1000 + 1e-9), r.t_val_ms / 1000, (t2 - t1) / 1000,
                fs_cli_peak_rss_kib() / 1024.0);
    if (r_open) close_run(&r);
    data_free(&d);
    if (st != FS_OK) { fprintf(stderr, "facescore finetune: %s\n", fs_last_error()); return 1; }
    return done ? 0 : 3;
}

int fs_cli_finetune(int argc, char **argv) {
    ft_opts o;
    int pr = parse(argc, argv, &o);
    if (pr) return pr > 0 ? 0 : 2;
    if (o.models) snprintf(o.models_dir, sizeof o.models_dir, "%s", o.models);
    else if (sc_models_dir_for(o.sp->file, o.models_dir, sizeof o.models_dir)) snprintf(o.models_dir, sizeof o.models_dir, "models");
    int five = !strcmp(o.protocol, "5fold");
    int f0 = five ? (o.fold ? o.fold : 1) : 0, f1 = five ? (o.fold ? o.fold : 5) : 0;
    ev_result res[5];
    int have[5] = {0}, n_have = 0, rc = 0;
    for (int f = f0; f <= f1 && !rc; f++) {
        rc = run_fold(&o, f, &res[n_have], &have[n_have]);
        if (!rc && have[n_have]) n_have++;
    }
    if (rc) return rc == 3 ? 0 : rc;
    if (n_have) {
        ev_result avg;
        ev_average(res, n_have, &avg);
        if (n_have > 1 && !o.json) ev_print_table(stdout, "5fold test: mean of the folds", &avg);
        if (o.json) { ev_print_json(stdout, &avg); printf("\n"); }
    }
    return 0;
}
