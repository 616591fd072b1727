/* cli/train.c — `facescore train`: features from frozen backbones, heads trained in C, model files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "score/backbone.h"
#include "score/heads_io.h"
#include "score/paths.h"
#include "train/evaluate.h"
#include "train/features.h"
#include "train/head.h"

typedef struct {
    const char *data, *protocol, *out, *models, *cache;
    fe_options fe;
    hd_config hc;
    int cv, json, no_cache;
} train_opts;

static void usage(FILE *f) {
    fprintf(f,
            "usage: facescore train --data DIR [options]\n"
            "  --data DIR             SCUT-FBP5500 folder, man/ woman/ folder layout, or a CSV file (path,score[,gender])\n"
            "  --protocol P           60/40 (default), 5fold (five models, averaged test report) or all\n"
            "  --backbone NAMES       faceres+mnv2+mfn (default); any of mnv2, faceres, mfn joined by +\n"
            "  --crop C               align (default: YuNet 5-point alignment), box15 (box x1.5), box10 (original)\n"
            "  --detector D           yunet (default) or haar (seed mode: Haar box crop)\n"
            "  --per-gender yes|no    per-gender score heads (the original) or one shared pair (default no)\n"
            "  --out FILE             model file (default facescore-heads.fsh; 5fold: FILE.foldK)\n"
            "  --seed N               seed of shuffling, dropout, validation split, augmentation (default 1)\n"
            "  --augment K            train on the crops plus K augmented copies (default 0)\n"
            "  --epochs N             maximum epochs (default 200; early stopping, patience 10)\n"
            "  --lr X  --wd X         score head: Adam learning rate (1e-4), L2 (2)\n"
            "  --lr-class X  --wd-class X   class head: learning rate (3e-4), L2 (0.5)\n"
            "  --cv K                 K-fold cross-validation on the training part only; writes no model\n"
            "  --threads N            feature extraction threads (default: all cores)\n"
            "  --cache DIR | --no-cache   feature cache (default $FACESCORE_CACHE or ~/.cache/facescore)\n"
            "  --models DIR           folder with the backbone models (default: search, see README)\n"
            "  --json                 end with one JSON object of the test metrics\n");
}

static int parse(int argc, char **argv, train_opts *o) {
    memset(o, 0, sizeof *o);
    o->protocol = "60/40";
    o->out = "facescore-heads.fsh";
    fe_options_default(&o->fe);
    hd_config_default(&o->hc);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 1; }
        if (!strcmp(a, "--json")) { o->json = 1; continue; }
        if (!strcmp(a, "--no-cache")) { o->no_cache = 1; continue; }
        if (!v) { fprintf(stderr, "facescore train: %s needs a value (or unknown option)\n", a); return -1; }
        i++;
        int iv; double dv;
        if (!strcmp(a, "--data")) o->data = v;
        else if (!strcmp(a, "--protocol")) o->protocol = v;
        else if (!strcmp(a, "--backbone")) o->fe.backbones = v;
        else if (!strcmp(a, "--crop")) { if (bb_crop_parse(v, &o->fe.crop)) { fprintf(stderr, "facescore train: --crop align|box15|box10\n"); return -1; } }
        else if (!strcmp(a, "--detector")) {
            if (!strcmp(v, "haar")) { o->fe.detector = FS_DETECTOR_HAAR; o->fe.crop = BB_CROP_BOX10; }
            else if (!strcmp(v, "yunet")) o->fe.detector = FS_DETECTOR_YUNET;
            else { fprintf(stderr, "facescore train: --detector yunet|haar\n"); return -1; }
        }
        else if (!strcmp(a, "--per-gender")) {
            if (!strcmp(v, "yes")) o->hc.per_gender = 1; else if (!strcmp(v, "no")) o->hc.per_gender = 0;
            else { fprintf(stderr, "facescore train: --per-gender yes|no\n"); return -1; }
        }
        else if (!strcmp(a, "--out")) o->out = v;
        else if (!strcmp(a, "--seed")) { if (fs_cli_parse_int(a, v, 0, 2000000000, &iv)) return -1; o->hc.seed = (uint64_t)iv; o->fe.seed = (uint64_t)iv; }
        else if (!strcmp(a, "--augment")) { if (fs_cli_parse_int(a, v, 0, 20, &iv)) return -1; o->fe.augment = iv; }
        else if (!strcmp(a, "--epochs")) { if (fs_cli_parse_int(a, v, 1, 100000, &iv)) return -1; o->hc.max_epochs = iv; }
        else if (!strcmp(a, "--lr")) { if (fs_cli_parse_double(a, v, 1e-7, 1, &dv)) return -1; o->hc.lr = (float)dv; }
        else if (!strcmp(a, "--wd")) { if (fs_cli_parse_double(a, v, 0, 100, &dv)) return -1; o->hc.wd_score = (float)dv; }
        else if (!strcmp(a, "--wd-class")) { if (fs_cli_parse_double(a, v, 0, 100, &dv)) return -1; o->hc.wd_class = (float)dv; }
        else if (!strcmp(a, "--lr-class")) { if (fs_cli_parse_double(a, v, 1e-7, 1, &dv)) return -1; o->hc.lr_class = (float)dv; }
        else if (!strcmp(a, "--cv")) { if (fs_cli_parse_int(a, v, 2, 20, &iv)) return -1; o->cv = iv; }
        else if (!strcmp(a, "--threads")) { if (fs_cli_parse_int(a, v, 0, 256, &iv)) return -1; o->fe.threads = iv; }
        else if (!strcmp(a, "--cache")) o->cache = v;
        else if (!strcmp(a, "--models")) o->models = v;
        else { fprintf(stderr, "facescore train: unknown option '%s'\n", a); return -1; }
    }
    if (!o->data) { usage(stderr); return -1; }
    return 0;
}

/* features of a set: plain crops, plus augmented copies appended as extra rows */
static fs_status features(const train_opts *o, const ds_set *ds, int augment, fe_matrix *out) {
    fe_options fo = o->fe;
    fo.augment = 0;
    fs_status st = fe_extract(ds, &fo, out);
    if (st != FS_OK || augment <= 0) return st;
    fprintf(stderr, "features: %d images, %.1f s (%.1f images/s, %d from cache, %d without a detected face)\n",
            out->n, out->ms / 1000, out->n / (out->ms / 1000 + 1e-9), out->n_cached, out->n_noface);
    for (int k = 1; k <= augment && st == FS_OK; k++) {
        fe_matrix a;
        fo.augment = k;
        if ((st = fe_extract(ds, &fo, &a)) != FS_OK) break;
        float *x = realloc(out->x, ((size_t)out->n + a.n) * out->dim * 4);
        if (!x) { fe_matrix_free(&a); st = fs_error(FS_ERR_NOMEM, "out of memory"); break; }
        memcpy(x + (size_t)out->n * out->dim, a.x, (size_t)a.n * a.dim * 4);
        out->x = x; out->n += a.n; out->ms += a.ms;
        fe_matrix_free(&a);
    }
    return st;
}

/* rows repeated for augmented copies */
static fs_status train_rows(const train_opts *o, const ds_set *ds, const fe_matrix *x, hd_model *m, hd_stats *hs) {
    int n = x->n;
    float *y = malloc((size_t)n * 4);
    int *g = malloc((size_t)n * sizeof(int));
    const char **names = malloc((size_t)n * sizeof(char *));
    fs_status st = FS_OK;
    if (!y || !g || !names) st = fs_error(FS_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n && st == FS_OK; i++) {
        const ds_item *it = &ds->items[i % ds->n];
        y[i] = it->score; g[i] = it->gender; names[i] = it->name; /* copies share their image's name: same split */
    }
    if (st == FS_OK) st = hd_train(m, &o->hc, x->x, y, g, names, n, x->dim, hs);
    free(y); free(g); free(names);
    return st;
}

/* metadata of the model file */
static fs_status save_model(const train_opts *o, const hd_model *m, const ds_set *train, int fold,
                            const ev_result *test, const hd_stats *hs, const char *path) {
    static char vals[40][600];
    mf_meta meta[40];
    int k = 0;
#define META(KEY, ...) do { snprintf(vals[k], sizeof vals[k], __VA_ARGS__); meta[k].key = KEY; meta[k].value = vals[k]; k++; } while (0)
    META("format", "facescore-heads");
    META("created_by", "facescore %s", FS_VERSION_STRING);
    META("backbones", "%s", o->fe.backbones);
    META("crop", "%s", bb_crop_name(o->fe.crop));
    META("detector", "%s", o->fe.detector == FS_DETECTOR_HAAR ? "haar" : "yunet");
    META("flip_average", "1");
    META("labels", "1,2,3,4,5");
    META("per_gender", "%d", m->per_gender);
    int known = 0;
    for (int i = 0; i < train->n; i++) known += train->items[i].gender >= 0;
    META("gender_trained", "%d", known > 0);   /* 0: no gender labels, the gender head is untrained */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", o->fe.backbones);
    static char keys[8][3][64];
    int nb = 0;
    for (char *save, *t = strtok_r(buf, "+", &save); t && nb < 8; t = strtok_r(NULL, "+", &save), nb++) {
        const bb_spec *s = bb_find(t);
        char files[400], sums[64];
        fs_status st = bb_files_hash(o->fe.models_dir, s, files, sizeof files, sums, sizeof sums, NULL);
        if (st != FS_OK) return st;
        snprintf(keys[nb][0], 64, "backbone.%s.file", t);
        snprintf(keys[nb][1], 64, "backbone.%s.fnv1a64", t);
        snprintf(keys[nb][2], 64, "backbone.%s.input", t);
        META(keys[nb][0], "%s", files);
        META(keys[nb][1], "%s", sums);
        META(keys[nb][2], "%dx%d %s, feature %s [%d]", s->size, s->size, bb_input_desc(s), s->tensor, s->dim);
    }
    META("train.data", "%s", o->data);
    META("train.protocol", "%s%s", o->protocol, fold ? "" : "");
    if (fold) META("train.fold", "%d", fold);
    META("train.n", "%d", train->n);
    META("train.fnv1a64", "%016llx", (unsigned long long)ds_rows_hash(train));
    META("train.config", "seed=%llu lr=%g lr_class=%g lr_gender=%g wd_score=%g wd_class=%g wd_gender=%g dropout=%g batch=%d max_epochs=%d patience=%d val_frac=%g augment=%d",
         (unsigned long long)o->hc.seed, o->hc.lr, o->hc.lr_class, o->hc.lr_gender, o->hc.wd_score, o->hc.wd_class, o->hc.wd_gender, o->hc.dropout,
         o->hc.batch, o->hc.max_epochs, o->hc.patience, o->hc.val_frac, o->fe.augment);
    META("train.epochs", "gender %d, score %d, class %d", hs->epochs[0], hs->epochs[1], hs->epochs[2]);
    if (test && test->all.n) {
        char *p = vals[k];
        FILE *f = fmemopen(p, sizeof vals[k], "w");
        if (f) { ev_print_json(f, test); fclose(f); }
        meta[k].key = "metrics.test"; meta[k].value = p; k++;
    }
#undef META
    return hio_save(path, m, meta, k);
}

static void fold_path(const char *out, int fold, char *buf, size_t n) {
    if (!fold) snprintf(buf, n, "%s", out);
    else snprintf(buf, n, "%s.fold%d", out, fold);
}

/* K-fold CV on the training rows only (rows split by name hash), metrics averaged */
static fs_status cross_validate(const train_opts *o, const ds_set *ds, const fe_matrix *x, ev_result *avg) {
    ev_result r[20];
    int K = o->cv;
    fs_status st = FS_OK;
    for (int f = 0; f < K && st == FS_OK; f++) {
        ds_set tr = {0}, va = {0};
        fe_matrix xt = {0}, xv = {0};
        xt.dim = xv.dim = x->dim;
        xt.x = malloc((size_t)x->n * x->dim * 4);
        xv.x = malloc((size_t)ds->n * x->dim * 4);
        if (!xt.x || !xv.x) st = fs_error(FS_ERR_NOMEM, "out of memory");
        for (int i = 0; i < ds->n && st == FS_OK; i++) {
            const ds_item *it = &ds->items[i];
            int fo = (int)(ds_fnv1a(DS_FNV_INIT ^ 0x5eed, it->name, strlen(it->name)) % (uint64_t)K);
            ds_set *s = fo == f ? &va : &tr;
            fe_matrix *m = fo == f ? &xv : &xt;
            st = ds_push(s, it->path, it->name, it->score, it->gender, it->group);
            memcpy(m->x + (size_t)m->n * x->dim, x->x + (size_t)i * x->dim, (size_t)x->dim * 4);
            m->n++;
        }
        /* augmented copies (rows c * n + i) of the training-part images, in the same order, so that
         * row r of xt belongs to tr.items[r % tr.n]; validation uses the plain crops only */
        for (int c = 1; c < x->n / ds->n && st == FS_OK; c++)
            for (int i = 0; i < ds->n; i++) {
                const ds_item *it = &ds->items[i];
                if ((int)(ds_fnv1a(DS_FNV_INIT ^ 0x5eed, it->name, strlen(it->name)) % (uint64_t)K) == f) continue;
                memcpy(xt.x + (size_t)xt.n * x->dim, x->x + ((size_t)c * ds->n + i) * x->dim, (size_t)x->dim * 4);
                xt.n++;
            }
        hd_model m;
        hd_stats hs;
        if (st == FS_OK) st = train_rows(o, &tr, &xt, &m, &hs);
        if (st == FS_OK) { st = ev_run(&m, &xv, &va, &r[f]); hd_free(&m); }
        if (st == FS_OK && !o->json) {
            char t[128];
            snprintf(t, sizeof t, "cv fold %d/%d (validation part of the training data)", f + 1, K);
            ev_print_table(stdout, t, &r[f]);
        }
        ds_free(&tr); ds_free(&va); free(xt.x); free(xv.x);
    }
    if (st == FS_OK) ev_average(r, K, avg);
    return st;
}

int fs_cli_train(int argc, char **argv) {
    train_opts o;
    int pr = parse(argc, argv, &o);
    if (pr) return pr > 0 ? 0 : 2;
    static char mdir[4096];
    if (o.models) o.fe.models_dir = o.models;
    else {
        const bb_spec *s = bb_find(strtok(strdup(o.fe.backbones), "+"));
        if (s && !sc_models_dir_for(s->file, mdir, sizeof mdir)) o.fe.models_dir = mdir;
    }
    o.fe.cache_dir = o.no_cache ? NULL : o.cache ? o.cache : fe_default_cache_dir();
    if (!bb_names_dim(o.fe.backbones)) { fprintf(stderr, "facescore train: %s\n", fs_last_error()); return 2; }
    int five = !strcmp(o.protocol, "5fold"), nf = five ? 5 : 1;
    ev_result res[5];
    int have_test = 0;
    double t_feat = 0, t_train = 0;
    int n_feat = 0;
    for (int f = 1; f <= nf; f++) {
        ds_set tr, te;
        fs_status st = ds_load_protocol(o.data, o.protocol, f, &tr, &te);
        if (st != FS_OK) { fprintf(stderr, "facescore train: %s\n", fs_last_error()); return 1; }
        fe_matrix xtr, xte = {0};
        st = features(&o, &tr, o.fe.augment, &xtr);
        if (st == FS_OK && te.n) {   /* test images: plain crops, never augmented */
            fe_options plain = o.fe;
            plain.augment = 0;
            st = fe_extract(&te, &plain, &xte);
        }
        if (st != FS_OK) { fprintf(stderr, "facescore train: %s\n", fs_last_error()); ds_free(&tr); ds_free(&te); return 1; }
        t_feat += xtr.ms + xte.ms; n_feat += tr.n + te.n;
        fprintf(stderr, "features: %d images, %.1f s (%d from cache, %d without a detected face)\n",
                tr.n + te.n, (xtr.ms + xte.ms) / 1000, xtr.n_cached + xte.n_cached, xtr.n_noface + xte.n_noface);
        if (o.cv) {
            ev_result avg;
            st = cross_validate(&o, &tr, &xtr, &avg);
            if (st == FS_OK) {
                char t[160];
                snprintf(t, sizeof t, "%d-fold CV on the training part (%s %s, per_gender %d): mean", o.cv, o.fe.backbones, bb_crop_name(o.fe.crop), o.hc.per_gender);
                ev_print_table(stdout, t, &avg);
                if (o.json) { ev_print_json(stdout, &avg); printf("\n"); }
            }
            fe_matrix_free(&xtr); fe_matrix_free(&xte); ds_free(&tr); ds_free(&te);
            if (st != FS_OK) { fprintf(stderr, "facescore train: %s\n", fs_last_error()); return 1; }
            if (five) continue;
            return 0;
        }
        hd_model m;
        hd_stats hs;
        double t0 = fs_cli_now_ms();
        st = train_rows(&o, &tr, &xtr, &m, &hs);
        double tt = fs_cli_now_ms() - t0;
        t_train += tt;
        if (st == FS_OK) {
            fprintf(stderr, "trained on %d rows (%d validation) in %.1f s: epochs gender %d score %d class %d; "
                    "validation loss gender %.4f score(MSE) %.4f class(CE) %.4f\n", xtr.n, hs.n_val, tt / 1000,
                    hs.epochs[0], hs.epochs[1], hs.epochs[2], hs.val_loss[0], hs.val_loss[1], hs.val_loss[2]);
            if (te.n) {
                st = ev_run(&m, &xte, &te, &res[f - 1]);
                have_test = 1;
                if (st == FS_OK && !o.json) {
                    char t[128];
                    snprintf(t, sizeof t, "%s test%s%.0d (%d images)", o.protocol, five ? " fold " : "", five ? f : 0, te.n);
                    ev_print_table(stdout, t, &res[f - 1]);
                }
            }
        }
        char path[4200];
        fold_path(o.out, five ? f : 0, path, sizeof path);
        if (st == FS_OK) st = save_model(&o, &m, &tr, five ? f : 0, te.n ? &res[f - 1] : NULL, &hs, path);
        if (st == FS_OK) fprintf(stderr, "wrote %s\n", path);
        if (st == FS_OK) hd_free(&m);
        fe_matrix_free(&xtr); fe_matrix_free(&xte); ds_free(&tr); ds_free(&te);
        if (st != FS_OK) { fprintf(stderr, "facescore train: %s\n", fs_last_error()); return 1; }
    }
    fprintf(stderr, "time: features %.1f s for %d images (%.1f images/s incl. cache hits), training %.1f s\n",
            t_feat / 1000, n_feat, n_feat / (t_feat / 1000 + 1e-9), t_train / 1000);
    if (have_test) {
        ev_result avg;
        ev_average(res, nf, &avg);
        if (five && !o.json) ev_print_table(stdout, "5fold test: mean of the 5 folds", &avg);
        if (o.json) { ev_print_json(stdout, &avg); printf("\n"); }
    }
    return 0;
}
