/* train/ft/loader.c — see loader.h. */
#include "train/ft/loader.h"

#include <errno.h>
#include <pthread.h>
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
#include "train/grad/grad.h"
#include "train/head.h"

#define LD_CACHE_VERSION 1
#define LD_FACE_MAGIC 0x31464346u /* "FCF1" */

struct ld_loader {
    ld_options o;
    const ds_set *ds;
    const bb_spec *sp;
    int S;
    size_t item;               /* floats per item: S*S*3 */
    fs_face *faces;            /* [ds->n] */
    int n_found, n_cached;
    uint8_t *crops;            /* [ds->n][S][S][3] or NULL */
    char cache[4300];          /* detection cache folder, "" = none */
    /* stream */
    int *srows;                /* stream order, [ds->n] at most */
    int n_srows, train, epoch, flip, bsz, nb, total;
    /* slots and workers (all under mu) */
    ld_batch slot[LD_SLOTS];
    int slot_batch[LD_SLOTS], slot_left[LD_SLOTS];
    int next_item, released, handout, busy, stop;
    fs_status err;
    char why[700];
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    pthread_t *th;
    int nth;
    double wait_ms, work_ms;
};

static double ld_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void ld_options_default(ld_options *o) {
    memset(o, 0, sizeof *o);
    o->backbone = "faceres";
    o->crop = BB_CROP_ALIGN;
    o->detector = FS_DETECTOR_YUNET;
    o->batch = 16;
    o->workers = 1;
    o->seed = 1;
    o->augment = 1;
    o->ldl_sigma = 0.5f;
    o->crop_mem = (size_t)1 << 30;
}

int ld_size(const ld_loader *l) { return l->S; }
int ld_batch_size(const ld_loader *l) { return l->o.batch; }
int ld_faces_found(const ld_loader *l) { return l->n_found; }
int ld_cached(const ld_loader *l) { return l->n_cached; }
int ld_crops_in_memory(const ld_loader *l) { return l->crops != NULL; }
const fs_face *ld_face(const ld_loader *l, int row) { return row >= 0 && row < l->ds->n ? &l->faces[row] : NULL; }
int ld_stream_batches(const ld_loader *l) { return l->nb; }

void ld_timing(const ld_loader *l, double *wait_ms, double *work_ms) {
    pthread_mutex_lock((pthread_mutex_t *)&l->mu);
    if (wait_ms) *wait_ms = l->wait_ms;
    if (work_ms) *work_ms = l->work_ms;
    pthread_mutex_unlock((pthread_mutex_t *)&l->mu);
}

int ld_train_batches(int n_rows, int batch) {
    if (n_rows <= 0 || batch <= 0) return 0;
    return n_rows < batch ? 1 : n_rows / batch;
}

void ld_permutation(int *perm, int n, uint64_t seed, int epoch) {
    aug_rng r;
    aug_rng_seed(&r, seed, 0x54a11e, (uint64_t)(uint32_t)epoch);
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(aug_rng_next(&r) % (uint64_t)(i + 1));
        int t = perm[i]; perm[i] = perm[j]; perm[j] = t;
    }
}

/* ------------------------------------------------------------------ detection (once) */

static int ld_mkdirs(const char *path) {
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') { *p = 0; if (mkdir(tmp, 0755) && errno != EEXIST) return -1; *p = '/'; }
    return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

/* face record: u32 magic, i32 found, 16 floats (box 4, confidence, has_landmarks, landmarks 10) */
static int face_read(const char *path, fs_face *f, int *found) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return -1;
    uint32_t h[2];
    float v[16];
    int ok = fread(h, 4, 2, fp) == 2 && fread(v, 4, 16, fp) == 16 && fgetc(fp) == EOF && h[0] == LD_FACE_MAGIC;
    fclose(fp);
    if (!ok) return -1;
    memset(f, 0, sizeof *f);
    f->box.x = v[0]; f->box.y = v[1]; f->box.w = v[2]; f->box.h = v[3];
    f->confidence = v[4];
    f->has_landmarks = v[5] > 0.5f;
    memcpy(f->landmarks, v + 6, sizeof f->landmarks);
    *found = h[1] != 0;
    return 0;
}

static void face_write(const char *path, const fs_face *f, int found) {
    char tmp[4500];
    if (snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid()) >= (int)sizeof tmp) return;
    FILE *fp = fopen(tmp, "wb");
    if (!fp) return;
    uint32_t h[2] = {LD_FACE_MAGIC, (uint32_t)(found != 0)};
    float v[16] = {f->box.x, f->box.y, f->box.w, f->box.h, f->confidence, (float)f->has_landmarks};
    memcpy(v + 6, f->landmarks, sizeof f->landmarks);
    int ok = fwrite(h, 4, 2, fp) == 2 && fwrite(v, 4, 16, fp) == 16;
    ok = !fclose(fp) && ok;
    if (ok) rename(tmp, path); else remove(tmp);
}

typedef struct {
    ld_loader *l;
    fs_detector **det;      /* one per thread */
    int *found, *cached;
    fs_progress prog;
    pthread_mutex_t mu;
    fs_status err;
    char why[700];
} det_job;

static void det_fail(det_job *j, int i, fs_status st) {
    pthread_mutex_lock(&j->mu);
    if (j->err == FS_OK) { j->err = st; snprintf(j->why, sizeof j->why, "%s: %s", j->l->ds->items[i].path, fs_last_error()); }
    pthread_mutex_unlock(&j->mu);
}

static void det_task(void *ctx, int i, int thread) {
    det_job *j = ctx;
    ld_loader *l = j->l;
    if (j->err != FS_OK) return;
    const ds_item *it = &l->ds->items[i];
    char path[4600] = "";
    uint64_t key = 0;
    int have = 0, found = 0;
    if (l->cache[0] && ds_hash_file(it->path, &key) == FS_OK) {
        snprintf(path, sizeof path, "%s/%016llx.face", l->cache, (unsigned long long)key);
        have = !face_read(path, &l->faces[i], &found);
    } else path[0] = 0;
    if (have && !l->crops) { j->found[i] = found; j->cached[i] = 1; fs_progress_add(&j->prog, 1); return; }
    fs_image img;
    fs_status st = fs_image_load(it->path, 3, NULL, &img);
    if (st != FS_OK) { det_fail(j, i, st); return; }
    if (!have) {
        fs_detections d;
        st = fs_detector_detect(j->det[thread], &img, &d);
        fs_face f;
        memset(&f, 0, sizeof f);
        if (st == FS_OK && d.n > 0) { f = d.faces[d.largest >= 0 ? d.largest : 0]; found = 1; }
        else { f.box.w = (float)img.width; f.box.h = (float)img.height; found = 0; }
        fs_detections_free(&d);
        l->faces[i] = f;
        if (path[0]) face_write(path, &f, found);
    }
    j->found[i] = found;
    j->cached[i] = have;
    if (l->crops) {
        fs_image c;
        st = bb_crop_for(l->sp, l->o.crop, &img, &l->faces[i], &c);
        if (st == FS_OK) {
            for (int y = 0; y < l->S; y++)
                memcpy(l->crops + ((size_t)i * l->S + y) * l->S * 3, c.data + (size_t)y * c.stride, (size_t)l->S * 3);
            fs_image_free(&c);
        } else det_fail(j, i, st);
    }
    fs_image_free(&img);
    fs_progress_add(&j->prog, 1);
}

static fs_status detect_all(ld_loader *l) {
    const ld_options *o = &l->o;
    int nt = o->det_threads > 0 ? o->det_threads : fs_cpu_count();
    if (nt < o->workers) nt = o->workers;
    if (nt > l->ds->n) nt = l->ds->n > 0 ? l->ds->n : 1;
    det_job j;
    memset(&j, 0, sizeof j);
    j.l = l;
    j.det = calloc((size_t)nt, sizeof *j.det);
    j.found = calloc((size_t)l->ds->n + 1, sizeof(int));
    j.cached = calloc((size_t)l->ds->n + 1, sizeof(int));
    if (!j.det || !j.found || !j.cached) { free(j.det); free(j.found); free(j.cached); return fs_error(FS_ERR_NOMEM, "loader: out of memory"); }
    fs_detector_options dopt;
    fs_detector_options_default(&dopt);
    dopt.type = o->detector;
    fs_status st = FS_OK;
    int opened = 0;
    for (; opened < nt && st == FS_OK; opened++)
        if ((st = fs_detector_open(&dopt, &j.det[opened])) != FS_OK) break;
    if (st == FS_OK) {
        fs_pool *pool = fs_pool_create(nt);
        pthread_mutex_init(&j.mu, NULL);
        fs_progress_start(&j.prog, "faces", l->ds->n);
        if (o->quiet) j.prog.enabled = 0;
        fs_pool_run(pool, l->ds->n, det_task, &j);
        fs_progress_finish(&j.prog);
        pthread_mutex_destroy(&j.mu);
        fs_pool_free(pool);
        if (j.err != FS_OK) st = fs_error(j.err, "loader: %s", j.why);
    }
    for (int i = 0; i < opened; i++) fs_detector_free(j.det[i]);
    for (int i = 0; i < l->ds->n; i++) { l->n_found += j.found[i]; l->n_cached += j.cached[i]; }
    free(j.det); free(j.found); free(j.cached);
    return st;
}

/* ------------------------------------------------------------------ one item */

static fs_status make_item(ld_loader *l, int row, int epoch, int train, int flip, ld_batch *b, int i) {
    const ds_item *it = &l->ds->items[row];
    fs_image crop, aug, img;
    int own = 0;
    fs_status st = FS_OK;
    if (l->crops) {
        crop.width = crop.height = l->S;
        crop.channels = 3;
        crop.stride = l->S * 3;
        crop.data = l->crops + (size_t)row * l->S * l->S * 3;
    } else {
        if ((st = fs_image_load(it->path, 3, NULL, &img)) != FS_OK) return st;
        st = bb_crop_for(l->sp, l->o.crop, &img, &l->faces[row], &crop);
        fs_image_free(&img);
        if (st != FS_OK) return st;
        own = 1;
    }
    const fs_image *use = &crop;
    if (train && l->o.augment) {
        aug_rng r;
        aug_params p;
        aug_rng_seed(&r, l->o.seed, ds_fnv1a(DS_FNV_INIT, it->name, strlen(it->name)), 0x1000000ULL + (uint32_t)epoch);
        aug_params_draw(&r, &p);
        if ((st = aug_apply(&crop, &p, &aug)) != FS_OK) { if (own) fs_image_free(&crop); return st; }
        use = &aug;
    }
    bb_preprocess(l->sp, use, flip, b->x + (size_t)i * l->item);
    if (use == &aug) fs_image_free(&aug);
    if (own) fs_image_free(&crop);
    b->score[i] = it->score;
    b->gender[i] = it->gender;
    b->cls[i] = hd_score_class(it->score);
    gr_ldl_target(b->ldl + (size_t)i * LD_CLASSES, it->score, l->o.ldl_sigma, LD_CLASSES);
    b->row[i] = row;
    return FS_OK;
}

/* ------------------------------------------------------------------ workers */

static int items_in(const ld_loader *l, int t) {
    if (l->train) return l->bsz;
    int left = l->n_srows - t * l->bsz;
    return left < l->bsz ? left : l->bsz;
}

static void slot_init(ld_loader *l, int t) {
    int s = t % LD_SLOTS;
    ld_batch *b = &l->slot[s];
    l->slot_batch[s] = t;
    l->slot_left[s] = items_in(l, t);
    b->n = l->slot_left[s];
    b->epoch = l->train ? l->epoch : -1;
    b->index = t;
    int B = l->o.batch;
    if (b->n < B) {   /* short eval batch: the unused rows are zero */
        memset(b->x + (size_t)b->n * l->item, 0, (size_t)(B - b->n) * l->item * sizeof(float));
        for (int i = b->n; i < B; i++) {
            b->score[i] = 0; b->gender[i] = DS_UNKNOWN; b->cls[i] = 0; b->row[i] = -1;
            memset(b->ldl + (size_t)i * LD_CLASSES, 0, LD_CLASSES * sizeof(float));
        }
    }
}

static void *worker(void *arg) {
    ld_loader *l = arg;
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        int g = l->next_item;
        int t = l->bsz ? g / l->bsz : 0;
        if (g >= l->total || t >= l->released + LD_SLOTS || l->err != FS_OK) {
            pthread_cond_wait(&l->cv_work, &l->mu);
            continue;
        }
        l->next_item++;
        int s = t % LD_SLOTS;
        if (l->slot_batch[s] != t) slot_init(l, t);
        int i = g - t * l->bsz, row = l->srows[g], epoch = l->epoch, train = l->train, flip = l->flip;
        l->busy++;
        pthread_mutex_unlock(&l->mu);
        double t0 = ld_now_ms();
        fs_status st = make_item(l, row, epoch, train, flip, &l->slot[s], i);
        char why[600] = "";
        if (st != FS_OK) snprintf(why, sizeof why, "%s: %s", l->ds->items[row].path, fs_last_error());
        double dt = ld_now_ms() - t0;
        pthread_mutex_lock(&l->mu);
        l->work_ms += dt;
        l->busy--;
        if (st != FS_OK && l->err == FS_OK) { l->err = st; snprintf(l->why, sizeof l->why, "%s", why); }
        l->slot_left[s]--;
        pthread_cond_broadcast(&l->cv_done);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* stops handing out items of the current stream and waits for the busy workers */
static void quiesce(ld_loader *l) {
    l->total = l->next_item;
    while (l->busy) pthread_cond_wait(&l->cv_done, &l->mu);
}

static void stream_start(ld_loader *l, int first) {
    for (int s = 0; s < LD_SLOTS; s++) { l->slot_batch[s] = -1; l->slot_left[s] = 0; }
    l->next_item = first * l->bsz;
    l->released = l->handout = first;
    l->err = FS_OK;
    l->why[0] = 0;
    pthread_cond_broadcast(&l->cv_work);
}

static fs_status check_rows(const ld_loader *l, const int *rows, int n) {
    if (n < 0 || n > l->ds->n) return fs_error(FS_ERR_ARG, "loader: %d rows for a dataset of %d", n, l->ds->n);
    for (int i = 0; i < n; i++)
        if (rows[i] < 0 || rows[i] >= l->ds->n) return fs_error(FS_ERR_ARG, "loader: row %d outside the dataset", rows[i]);
    return FS_OK;
}

fs_status ld_train(ld_loader *l, const int *rows, int n_rows, int epoch, int first_batch) {
    fs_status st = check_rows(l, rows, n_rows);
    if (st != FS_OK) return st;
    int nb = ld_train_batches(n_rows, l->o.batch);
    if (first_batch < 0 || first_batch > nb) return fs_error(FS_ERR_ARG, "loader: batch %d of an epoch of %d", first_batch, nb);
    pthread_mutex_lock(&l->mu);
    quiesce(l);
    int *perm = l->srows + l->ds->n;   /* second half of srows: scratch */
    ld_permutation(perm, n_rows, l->o.seed, epoch);
    for (int i = 0; i < n_rows; i++) l->srows[i] = rows[perm[i]];
    l->n_srows = n_rows;
    l->train = 1; l->epoch = epoch; l->flip = 0;
    l->bsz = n_rows < l->o.batch ? n_rows : l->o.batch;
    l->nb = nb;
    l->total = nb * l->bsz;
    stream_start(l, first_batch);
    pthread_mutex_unlock(&l->mu);
    return FS_OK;
}

fs_status ld_eval(ld_loader *l, const int *rows, int n_rows, int flip) {
    fs_status st = check_rows(l, rows, n_rows);
    if (st != FS_OK) return st;
    pthread_mutex_lock(&l->mu);
    quiesce(l);
    memcpy(l->srows, rows, (size_t)n_rows * sizeof(int));
    l->n_srows = n_rows;
    l->train = 0; l->epoch = -1; l->flip = flip != 0;
    l->bsz = l->o.batch;
    l->nb = (n_rows + l->o.batch - 1) / l->o.batch;
    l->total = n_rows;
    stream_start(l, 0);
    pthread_mutex_unlock(&l->mu);
    return FS_OK;
}

fs_status ld_next(ld_loader *l, const ld_batch **out) {
    *out = NULL;
    double t0 = ld_now_ms();
    pthread_mutex_lock(&l->mu);
    int t = l->handout;
    if (t >= l->nb) { pthread_mutex_unlock(&l->mu); return FS_OK; }
    l->released = t;   /* batch t-1 goes back to the workers */
    pthread_cond_broadcast(&l->cv_work);
    int s = t % LD_SLOTS;
    while (l->err == FS_OK && !(l->slot_batch[s] == t && l->slot_left[s] == 0)) pthread_cond_wait(&l->cv_done, &l->mu);
    fs_status st = l->err;
    if (st != FS_OK) {
        quiesce(l);
        char why[700];
        snprintf(why, sizeof why, "%s", l->why);
        pthread_mutex_unlock(&l->mu);
        return fs_error(st, "loader: %s", why);
    }
    l->handout = t + 1;
    l->wait_ms += ld_now_ms() - t0;
    *out = &l->slot[s];
    pthread_mutex_unlock(&l->mu);
    return FS_OK;
}

/* ------------------------------------------------------------------ open / close */

void ld_close(ld_loader *l) {
    if (!l) return;
    if (l->th) {
        pthread_mutex_lock(&l->mu);
        l->stop = 1;
        pthread_cond_broadcast(&l->cv_work);
        pthread_mutex_unlock(&l->mu);
        for (int i = 0; i < l->nth; i++) pthread_join(l->th[i], NULL);
    }
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv_work);
    pthread_cond_destroy(&l->cv_done);
    for (int s = 0; s < LD_SLOTS; s++) {
        ld_batch *b = &l->slot[s];
        free(b->x); free(b->score); free(b->gender); free(b->cls); free(b->ldl); free(b->row);
    }
    free(l->th); free(l->faces); free(l->crops); free(l->srows);
    free(l);
}

static void cache_folder(ld_loader *l) {
    const ld_options *o = &l->o;
    fs_detector_options d;
    fs_detector_options_default(&d);
    char s[256];
    snprintf(s, sizeof s, "v%d|%s|thr%g|nms%g|in%d|largest", LD_CACHE_VERSION, o->detector == FS_DETECTOR_HAAR ? "haar" : "yunet",
             d.score_threshold, d.nms_iou, d.input_size);
    uint64_t h = ds_fnv1a(DS_FNV_INIT, s, strlen(s));
    snprintf(l->cache, sizeof l->cache, "%s/faces/%016llx", o->cache_dir, (unsigned long long)h);
    if (ld_mkdirs(l->cache)) l->cache[0] = 0;   /* no cache, but go on */
}

fs_status ld_open(const ld_options *o, const ds_set *ds, ld_loader **out) {
    *out = NULL;
    if (o->batch < 1 || o->batch > 4096) return fs_error(FS_ERR_ARG, "loader: batch %d outside 1..4096", o->batch);
    if (o->workers < 1 || o->workers > 256) return fs_error(FS_ERR_ARG, "loader: %d workers outside 1..256", o->workers);
    const bb_spec *sp = bb_find(o->backbone ? o->backbone : "");
    if (!sp) return fs_error(FS_ERR_ARG, "loader: backbone '%s' unknown (have mnv2, faceres, mfn)", o->backbone ? o->backbone : "");
    if (!ds->n) return fs_error(FS_ERR_ARG, "loader: no rows");
    ld_loader *l = calloc(1, sizeof *l);
    if (!l) return fs_error(FS_ERR_NOMEM, "loader: out of memory");
    l->o = *o;
    l->ds = ds;
    l->sp = sp;
    l->S = sp->size;
    l->item = (size_t)l->S * l->S * 3;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv_work, NULL);
    pthread_cond_init(&l->cv_done, NULL);
    size_t B = (size_t)o->batch;
    int ok = (l->faces = calloc((size_t)ds->n, sizeof *l->faces)) && (l->srows = calloc(2 * (size_t)ds->n, sizeof(int)));
    for (int s = 0; s < LD_SLOTS && ok; s++) {
        ld_batch *b = &l->slot[s];
        ok = (b->x = calloc(B * l->item, sizeof(float))) && (b->score = calloc(B, sizeof(float))) &&
             (b->gender = calloc(B, sizeof(int))) && (b->cls = calloc(B, sizeof(int))) &&
             (b->ldl = calloc(B * LD_CLASSES, sizeof(float))) && (b->row = calloc(B, sizeof(int)));
        l->slot_batch[s] = -1;
    }
    if (ok && o->crop_mem && (size_t)ds->n * l->S * l->S * 3 <= o->crop_mem) l->crops = malloc((size_t)ds->n * l->S * l->S * 3);
    if (!ok) { ld_close(l); return fs_error(FS_ERR_NOMEM, "loader: out of memory"); }
    if (o->cache_dir) cache_folder(l);
    fs_status st = detect_all(l);
    if (st != FS_OK) { ld_close(l); return st; }
    l->th = calloc((size_t)o->workers, sizeof *l->th);
    if (!l->th) { ld_close(l); return fs_error(FS_ERR_NOMEM, "loader: out of memory"); }
    for (; l->nth < o->workers; l->nth++)
        if (pthread_create(&l->th[l->nth], NULL, worker, l)) { ld_close(l); return fs_error(FS_ERR_INTERNAL, "loader: cannot start a thread"); }
    *out = l;
    return FS_OK;
}
