/* train/features.c — see features.h. */
#include "train/features.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/progress.h"
#include "core/threadpool.h"
#include "train/augment.h"

#define FE_FORMAT_VERSION 2

void fe_options_default(fe_options *o) {
    memset(o, 0, sizeof *o);
    /* chosen by 5-fold CV on SCUT-FBP5500 train_60: PC 0.9013 vs faceres+mnv2 0.8912, faceres 0.8809 */
    o->backbones = "faceres+mnv2+mfn";
    o->crop = BB_CROP_ALIGN;
    o->detector = FS_DETECTOR_YUNET;
    o->models_dir = "models";
    o->threads = 0;
}

const char *fe_default_cache_dir(void) {
    static char buf[4096];
    const char *e = getenv("FACESCORE_CACHE");
    if (e && *e) return e;
    const char *h = getenv("HOME");
    if (!h || !*h) return NULL;
    snprintf(buf, sizeof buf, "%s/.cache/facescore", h);
    return buf;
}

void fe_matrix_free(fe_matrix *m) { free(m->x); memset(m, 0, sizeof *m); }

static double fe_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int mkdirs(const char *path) {
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') { *p = 0; if (mkdir(tmp, 0755) && errno != EEXIST) return -1; *p = '/'; }
    return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

typedef struct {
    bb_set bb;
    fs_detector *det;
} fe_worker;

typedef struct {
    const ds_set *ds;
    const fe_options *o;
    fe_worker *w;
    fe_matrix *m;
    char dir[BB_MAX][4200]; /* cache folder per backbone for these settings, "" = none */
    int off[BB_MAX];     /* offset of backbone k in a row */
    fs_progress prog;
    int failed;          /* first failing item + 1 */
    char why[600];
    pthread_mutex_t mu;
    int *noface, *cached;
} fe_job;

static void cache_path(const fe_job *j, int k, uint64_t key, char *out, size_t n) {
    snprintf(out, n, "%s/%016llx.f32", j->dir[k], (unsigned long long)key);
}

static int cache_read(const char *path, float *x, int dim, int *face) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    float tail = 0.0f;
    int ok = fread(x, sizeof(float), (size_t)dim, f) == (size_t)dim && fread(&tail, sizeof tail, 1, f) == 1 &&
             fgetc(f) == EOF;
    fclose(f);
    *face = tail > 0.5f;
    return ok ? 0 : -1;
}

static void cache_write(const char *path, const float *x, int dim, int face) {
    char tmp[4300];
    if (snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid()) >= (int)sizeof tmp) return;
    FILE *f = fopen(tmp, "wb");
    if (!f) return;
    float tail = face ? 1.0f : 0.0f;
    int ok = fwrite(x, sizeof(float), (size_t)dim, f) == (size_t)dim && fwrite(&tail, sizeof tail, 1, f) == 1;
    ok = !fclose(f) && ok;
    if (ok) rename(tmp, path); else remove(tmp);
}

/* Features of one image into x; *face = 1 if a face was found. */
static fs_status one_image(fe_job *j, fe_worker *w, int idx, float *x, int *face, const int *need) {
    const ds_item *it = &j->ds->items[idx];
    fs_image img;
    fs_status st = fs_image_load(it->path, 3, NULL, &img);
    if (st != FS_OK) return st;
    fs_detections d;
    st = fs_detector_detect(w->det, &img, &d);
    fs_face f;
    memset(&f, 0, sizeof f);
    if (st == FS_OK && d.n > 0) { f = d.faces[d.largest >= 0 ? d.largest : 0]; *face = 1; }
    else { f.box.w = (float)img.width; f.box.h = (float)img.height; *face = 0; }
    fs_detections_free(&d);
    st = FS_OK;
    for (int k = 0; k < w->bb.n && st == FS_OK; k++) {
        fs_image crop, aug;
        if (!need[k]) continue;
        if ((st = bb_face_crop(&w->bb, k, &img, &f, &crop)) != FS_OK) break;
        if (j->o->augment > 0) {
            aug_rng r; aug_params p;
            aug_rng_seed(&r, j->o->seed, ds_fnv1a(DS_FNV_INIT, it->name, strlen(it->name)), (uint64_t)j->o->augment);
            aug_params_draw(&r, &p);
            st = aug_apply(&crop, &p, &aug);
            fs_image_free(&crop);
            if (st != FS_OK) break;
            crop = aug;
        }
        st = bb_features_crop(&w->bb, k, &crop, x + j->off[k]);
        fs_image_free(&crop);
    }
    fs_image_free(&img);
    return st;
}

static void fe_task(void *ctx, int i, int thread) {
    fe_job *j = ctx;
    if (j->failed) return;
    float *x = j->m->x + (size_t)i * j->m->dim;
    int nb = j->w[0].bb.n, need[BB_MAX], missing = 0, face = 0;
    uint64_t key = 0;
    fs_status st = FS_OK;
    for (int k = 0; k < nb; k++) need[k] = 1;
    if (j->dir[0][0]) {
        st = ds_hash_file(j->ds->items[i].path, &key);
        for (int k = 0; k < nb && st == FS_OK; k++) {
            char path[4400];
            int f;
            cache_path(j, k, key, path, sizeof path);
            if (!cache_read(path, x + j->off[k], j->w[0].bb.spec[k]->dim, &f)) { need[k] = 0; face = f; }
        }
    }
    for (int k = 0; k < nb; k++) missing += need[k];
    if (st == FS_OK && !missing) {
        j->cached[i] = 1;
        j->noface[i] = !face;
        fs_progress_add(&j->prog, 1);
        return;
    }
    if (st == FS_OK) st = one_image(j, &j->w[thread], i, x, &face, need);
    if (st != FS_OK) {
        pthread_mutex_lock(&j->mu);
        if (!j->failed) { j->failed = i + 1; snprintf(j->why, sizeof j->why, "%s: %s", j->ds->items[i].path, fs_last_error()); }
        pthread_mutex_unlock(&j->mu);
        return;
    }
    j->noface[i] = !face;
    for (int k = 0; k < nb && j->dir[0][0]; k++) {
        char path[4400];
        cache_path(j, k, key, path, sizeof path);
        if (need[k]) cache_write(path, x + j->off[k], j->w[0].bb.spec[k]->dim, face);
    }
    fs_progress_add(&j->prog, 1);
}

/* one cache folder per backbone, so any combination reuses the features already computed */
static void settings_dir(const fe_options *o, const char *backbone, uint64_t wkey, char *out, size_t n) {
    char s[512], w[32] = "";
    if (wkey) snprintf(w, sizeof w, "|w%016llx", (unsigned long long)wkey);   /* fine-tuned weights */
    snprintf(s, sizeof s, "v%d|%s|%s|%s|flip1|aug%d|seed%llu%s", FE_FORMAT_VERSION, backbone, bb_crop_name(o->crop),
             o->detector == FS_DETECTOR_HAAR ? "haar" : "yunet", o->augment,
             (unsigned long long)(o->augment ? o->seed : 0), w);
    uint64_t h = ds_fnv1a(DS_FNV_INIT, s, strlen(s));
    snprintf(out, n, "%s/features/%016llx", o->cache_dir, (unsigned long long)h);
}

fs_status fe_extract(const ds_set *ds, const fe_options *o, fe_matrix *out) {
    memset(out, 0, sizeof *out);
    int dim = bb_names_dim(o->backbones);
    if (!dim) return FS_ERR_ARG;
    fe_job j;
    memset(&j, 0, sizeof j);
    j.ds = ds; j.o = o; j.m = out;
    int nt = o->threads > 0 ? o->threads : fs_cpu_count();
    if (nt > ds->n) nt = ds->n > 0 ? ds->n : 1;
    out->n = ds->n; out->dim = dim;
    out->x = calloc((size_t)ds->n * dim + 1, sizeof(float));
    j.noface = calloc((size_t)ds->n + 1, sizeof(int));
    j.cached = calloc((size_t)ds->n + 1, sizeof(int));
    j.w = calloc((size_t)nt, sizeof *j.w);
    fs_status st = FS_OK;
    if (!out->x || !j.noface || !j.cached || !j.w) st = fs_error(FS_ERR_NOMEM, "features: out of memory");
    fs_detector_options dopt;
    fs_detector_options_default(&dopt);
    dopt.type = o->detector;
    int opened = 0;
    for (; opened < nt && st == FS_OK; opened++) {
        if ((st = bb_open_weights(&j.w[opened].bb, o->backbones, o->models_dir, o->crop, 1, o->weights)) != FS_OK) break;
        if ((st = fs_detector_open(&dopt, &j.w[opened].det)) != FS_OK) { bb_close(&j.w[opened].bb); break; }
    }
    for (int k = 0; st == FS_OK && opened > 0 && k < j.w[0].bb.n; k++) {
        j.off[k] = k ? j.off[k - 1] + j.w[0].bb.spec[k - 1]->dim : 0;
        if (o->cache_dir) settings_dir(o, j.w[0].bb.spec[k]->name, j.w[0].bb.wkey[k], j.dir[k], sizeof j.dir[k]);
    }
    for (int k = 0; o->cache_dir && k < BB_MAX; k++)
        if (j.dir[k][0] && mkdirs(j.dir[k])) { j.dir[0][0] = 0; break; } /* no cache, but go on */
    double t0 = fe_now_ms();
    if (st == FS_OK) {
        fs_pool *pool = fs_pool_create(nt);
        pthread_mutex_init(&j.mu, NULL);
        fs_progress_start(&j.prog, "features", ds->n);
        if (o->quiet) j.prog.enabled = 0;
        fs_pool_run(pool, ds->n, fe_task, &j);
        fs_progress_finish(&j.prog);
        pthread_mutex_destroy(&j.mu);
        fs_pool_free(pool);
        if (j.failed) st = fs_error(FS_ERR_IO, "features: %s", j.why);
    }
    out->ms = fe_now_ms() - t0;
    for (int i = 0; i < opened; i++) { bb_close(&j.w[i].bb); fs_detector_free(j.w[i].det); }
    for (int i = 0; i < ds->n && st == FS_OK; i++) { out->n_noface += j.noface[i]; out->n_cached += j.cached[i]; }
    free(j.noface); free(j.cached); free(j.w);
    if (st != FS_OK) fe_matrix_free(out);
    return st;
}
