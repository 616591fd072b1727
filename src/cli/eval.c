/* cli/eval.c — `facescore eval`: a heads model on a protocol's test part(s), no retraining. */
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

static void usage(FILE *f) {
    fprintf(f,
            "usage: facescore eval --data DIR [--protocol 60/40|5fold] [--model FILE] [--json]\n"
            "  --model FILE     heads file (default: the shipped models/" SC_DEFAULT_MODEL "; for 5fold the\n"
            "                   five files FILE.fold1..5 that `train --protocol 5fold --out FILE` wrote)\n"
            "  --threads N  --cache DIR | --no-cache  --models DIR   as for train\n");
}

/* backbone folder: next to the model file, else the search path */
static void models_dir(const char *model, const char *backbones, const char *given, char *out, size_t n) {
    if (given) { snprintf(out, n, "%s", given); return; }
    char first[256];
    snprintf(first, sizeof first, "%s", backbones);
    char *plus = strchr(first, '+');
    if (plus) *plus = 0;
    const bb_spec *s = bb_find(first);
    char dir[4096], p[4400];
    sc_dirname(model, dir, sizeof dir);
    for (int up = 0; up < 2 && s; up++) {
        snprintf(p, sizeof p, "%s/%s", dir, s->file);
        FILE *f = fopen(p, "rb");
        if (f) { fclose(f); snprintf(out, n, "%s", dir); return; }
        strncat(dir, "/..", sizeof dir - strlen(dir) - 1);
    }
    if (!s || sc_models_dir_for(s->file, out, n)) snprintf(out, n, "models");
}

static int eval_one(const char *path, const char *data, const char *protocol, int fold, const char *models,
                    const char *cache, int threads, ev_result *r) {
    mf_file mf;
    hd_model m;
    if (mf_open(path, &mf) != FS_OK) { fprintf(stderr, "facescore eval: %s\n", fs_last_error()); return 1; }
    if (hio_load(&mf, &m) != FS_OK) { fprintf(stderr, "facescore eval: %s: %s\n", path, fs_last_error()); mf_close(&mf); return 1; }
    fe_options fo;
    fe_options_default(&fo);
    const char *bb = mf_get(&mf, "backbones"), *crop = mf_get(&mf, "crop"), *det = mf_get(&mf, "detector");
    static char bbs[256], mdir[4096];
    snprintf(bbs, sizeof bbs, "%s", bb ? bb : "");
    fo.backbones = bbs;
    if (!crop || bb_crop_parse(crop, &fo.crop) || !bb || bb_names_dim(bb) != m.dim) {
        fprintf(stderr, "facescore eval: %s: metadata backbones/crop missing or not matching the heads\n", path);
        hd_free(&m); mf_close(&mf); return 1;
    }
    fo.detector = det && !strcmp(det, "haar") ? FS_DETECTOR_HAAR : FS_DETECTOR_YUNET;
    models_dir(path, bbs, models, mdir, sizeof mdir);
    fo.models_dir = mdir;
    fo.cache_dir = cache;
    fo.threads = threads;
    fo.weights = &mf;   /* fine-tuned backbone weights in the file, if any */
    ds_set tr, te;
    fs_status st = ds_load_protocol(data, protocol, fold, &tr, &te);
    ds_free(&tr);
    if (st == FS_OK && !te.n) st = fs_error(FS_ERR_ARG, "protocol %s has no test part", protocol);
    fe_matrix x = {0};
    if (st == FS_OK) st = fe_extract(&te, &fo, &x);
    if (st == FS_OK) {
        fprintf(stderr, "features: %d images, %.1f s (%d from cache, %d without a detected face)\n", x.n, x.ms / 1000, x.n_cached, x.n_noface);
        st = ev_run(&m, &x, &te, r);
    }
    fe_matrix_free(&x);
    hd_free(&m);
    mf_close(&mf);
    if (st == FS_OK) ds_free(&te);
    if (st != FS_OK) { fprintf(stderr, "facescore eval: %s\n", fs_last_error()); return 1; }
    return 0;
}

int fs_cli_eval(int argc, char **argv) {
    const char *data = NULL, *protocol = "60/40", *model = NULL, *models = NULL, *cache = NULL;
    int json = 0, threads = 0, no_cache = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!strcmp(a, "--json")) { json = 1; continue; }
        if (!strcmp(a, "--no-cache")) { no_cache = 1; continue; }
        if (!v) { fprintf(stderr, "facescore eval: %s needs a value (or unknown option)\n", a); return 2; }
        i++;
        if (!strcmp(a, "--data")) data = v;
        else if (!strcmp(a, "--protocol")) protocol = v;
        else if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--models")) models = v;
        else if (!strcmp(a, "--cache")) cache = v;
        else if (!strcmp(a, "--threads")) { if (fs_cli_parse_int(a, v, 0, 256, &threads)) return 2; }
        else { fprintf(stderr, "facescore eval: unknown option '%s'\n", a); return 2; }
    }
    if (!data) { usage(stderr); return 2; }
    int five = !strcmp(protocol, "5fold");
    if (!five && strcmp(protocol, "60/40")) { fprintf(stderr, "facescore eval: --protocol 60/40 or 5fold\n"); return 2; }
    static char defpath[4200];
    if (!model) {
        char dir[4096];
        if (five || sc_models_dir_for(SC_DEFAULT_MODEL, dir, sizeof dir)) {
            fprintf(stderr, "facescore eval: %s\n", five ? "5fold needs --model FILE (the prefix train --protocol 5fold used)"
                                                         : "no shipped model " SC_DEFAULT_MODEL " found; give --model FILE");
            return 2;
        }
        snprintf(defpath, sizeof defpath, "%s/%s", dir, SC_DEFAULT_MODEL);
        model = defpath;
    }
    if (!no_cache && !cache) cache = fe_default_cache_dir();
    if (no_cache) cache = NULL;
    ev_result r[5];
    for (int f = 1; f <= (five ? 5 : 1); f++) {
        char path[4400];
        if (five) snprintf(path, sizeof path, "%s.fold%d", model, f); else snprintf(path, sizeof path, "%s", model);
        if (eval_one(path, data, protocol, f, models, cache, threads, &r[f - 1])) return 1;
        char t[4500];
        snprintf(t, sizeof t, "%s test%s%.0d: %s (%d images)", protocol, five ? " fold " : "", five ? f : 0, path, r[f - 1].all.n);
        if (!json || five) ev_print_table(json ? stderr : stdout, t, &r[f - 1]);
    }
    ev_result avg;
    ev_average(r, five ? 5 : 1, &avg);
    if (five) ev_print_table(json ? stderr : stdout, "5fold test: mean of the 5 folds", &avg);
    if (json) { if (!five) ev_print_table(stderr, "60/40 test", &avg); ev_print_json(stdout, &avg); printf("\n"); }
    return 0;
}
