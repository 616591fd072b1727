/* score/scorer.c — the scoring pipeline behind fs_scorer_* (facescore.h, section score). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/dataset.h"
#include "score/backbone.h"
#include "score/heads_io.h"
#include "score/paths.h"
#include "train/head.h"

struct fs_scorer {
    mf_file mf;
    hd_model heads;
    bb_set bb;
    char name[256];
    fs_detector_type detector;
    float *feat;
};

static const char *rank_ko[5] = {
    "ㅆㅎㅌㅊ 입니다..힘내세요..", "ㅎㅌㅊ 입니다..", "ㅍㅌㅊ 입니다..", "ㅅㅌㅊ 입니다..", "ㅆㅅㅌㅊ 입니다. 축하합니다!",
};
static const char *rank_en[5] = {
    "Far below average.. cheer up..", "Below average..", "Average..", "Above average..",
    "Far above average. Congratulations!",
};

const char *fs_rank_message(int cls, int korean) {
    if (cls < 1 || cls > 5) return NULL;
    return korean ? rank_ko[cls - 1] : rank_en[cls - 1];
}

void fs_scorer_options_default(fs_scorer_options *o) {
    memset(o, 0, sizeof *o);
    o->threads = 1;
}

const char *fs_scorer_default_path(void) {
    static __thread char path[PATH_MAX + 64];
    char dir[PATH_MAX];
    if (sc_models_dir_for(SC_DEFAULT_MODEL, dir, sizeof dir)) return NULL;
    if (snprintf(path, sizeof path, "%s/%s", dir, SC_DEFAULT_MODEL) >= (int)sizeof path) return NULL;
    return path;
}

void fs_scorer_free(fs_scorer *s) {
    if (!s) return;
    bb_close(&s->bb);
    hd_free(&s->heads);
    mf_close(&s->mf);
    free(s->feat);
    free(s);
}

/* the folder holding every backbone file named in the metadata */
static fs_status find_models_dir(const fs_scorer *s, const char *model_path, const char *given, char *out, size_t n) {
    const char *f = mf_get(&s->mf, "backbones");
    char first[256];
    snprintf(first, sizeof first, "%s", f ? f : "");
    char *plus = strchr(first, '+');
    if (plus) *plus = 0;
    const bb_spec *sp = bb_find(first);
    if (!sp) return fs_error(FS_ERR_FORMAT, "%s: metadata 'backbones' = '%s' names no known backbone", model_path, f ? f : "");
    if (given) { snprintf(out, n, "%s", given); return FS_OK; }
    char dir[PATH_MAX], p[PATH_MAX + 300];
    sc_dirname(model_path, dir, sizeof dir);
    for (int up = 0; up < 2; up++) {
        if (snprintf(p, sizeof p, "%s/%s", dir, sp->file) < (int)sizeof p) {
            FILE *fp = fopen(p, "rb");
            if (fp) { fclose(fp); snprintf(out, n, "%s", dir); return FS_OK; }
        }
        strncat(dir, "/..", sizeof dir - strlen(dir) - 1);
    }
    if (!sc_models_dir_for(sp->file, out, n)) return FS_OK;
    return fs_error(FS_ERR_IO, "backbone %s: %s not found next to %s nor in the models search path", sp->name, sp->file, model_path);
}

/* every "backbone.<name>.file" checksum matches */
static fs_status check_backbones(const fs_scorer *s, const char *dir) {
    for (int k = 0; k < s->bb.n; k++) {
        char key[96], files[600], sums[200];
        snprintf(key, sizeof key, "backbone.%s.file", s->bb.spec[k]->name);
        const char *fv = mf_get(&s->mf, key);
        snprintf(key, sizeof key, "backbone.%s.fnv1a64", s->bb.spec[k]->name);
        const char *sv = mf_get(&s->mf, key);
        if (!fv || !sv) return fs_error(FS_ERR_FORMAT, "model file: no checksum of backbone %s", s->bb.spec[k]->name);
        snprintf(files, sizeof files, "%s", fv);
        snprintf(sums, sizeof sums, "%s", sv);
        char *s1, *s2, *f = strtok_r(files, ",", &s1), *c = strtok_r(sums, ",", &s2);
        for (; f && c; f = strtok_r(NULL, ",", &s1), c = strtok_r(NULL, ",", &s2)) {
            char p[PATH_MAX + 700];
            uint64_t h;
            snprintf(p, sizeof p, "%s/%s", dir, f);
            fs_status st = ds_hash_file(p, &h);
            if (st != FS_OK) return st;
            if (strtoull(c, NULL, 16) != h)
                return fs_error(FS_ERR_FORMAT, "backbone %s: checksum of %s is %016llx, the model file expects %s (different weights)",
                                s->bb.spec[k]->name, p, (unsigned long long)h, c);
        }
    }
    return FS_OK;
}

fs_status fs_scorer_open(const fs_scorer_options *o, fs_scorer **out) {
    *out = NULL;
    fs_scorer_options def;
    if (!o) { fs_scorer_options_default(&def); o = &def; }
    const char *path = o->model_path ? o->model_path : fs_scorer_default_path();
    if (!path) return fs_error(FS_ERR_IO, "no shipped model %s found (set FACESCORE_MODELS or give a model file)", SC_DEFAULT_MODEL);
    fs_scorer *s = calloc(1, sizeof *s);
    if (!s) return fs_error(FS_ERR_NOMEM, "scorer: out of memory");
    fs_status st = mf_open(path, &s->mf);
    if (st != FS_OK) { free(s); return st; }
    const char *fmt = mf_get(&s->mf, "format"), *crop = mf_get(&s->mf, "crop"), *bbs = mf_get(&s->mf, "backbones");
    const char *det = mf_get(&s->mf, "detector");
    bb_crop c = BB_CROP_ALIGN;
    if (!fmt || strcmp(fmt, "facescore-heads")) st = fs_error(FS_ERR_FORMAT, "%s: metadata format is not 'facescore-heads'", path);
    else if (!crop || bb_crop_parse(crop, &c)) st = fs_error(FS_ERR_FORMAT, "%s: metadata 'crop' missing or unknown", path);
    else if (!bbs || !bb_names_dim(bbs)) st = fs_error(FS_ERR_FORMAT, "%s: metadata 'backbones' missing or unknown", path);
    if (st == FS_OK) st = hio_load(&s->mf, &s->heads);
    if (st == FS_OK && bb_names_dim(bbs) != s->heads.dim)
        st = fs_error(FS_ERR_FORMAT, "%s: heads take %d features, backbones %s give %d", path, s->heads.dim, bbs, bb_names_dim(bbs));
    char dir[PATH_MAX];
    if (st == FS_OK) st = find_models_dir(s, path, o->models_dir, dir, sizeof dir);
    if (st == FS_OK) st = bb_open_weights(&s->bb, bbs, dir, c, o->threads, &s->mf);   /* fine-tuned weights, if any */
    if (st == FS_OK && o->no_mirror) s->bb.flip = 0;
    if (st == FS_OK) st = check_backbones(s, dir);
    if (st == FS_OK && !(s->feat = malloc((size_t)s->heads.dim * sizeof(float)))) st = fs_error(FS_ERR_NOMEM, "scorer: out of memory");
    if (st != FS_OK) { fs_scorer_free(s); return st; }
    const char *base = strrchr(path, '/');
    if (snprintf(s->name, sizeof s->name, "%s", base ? base + 1 : path) >= (int)sizeof s->name) s->name[sizeof s->name - 1] = 0;
    s->detector = det && !strcmp(det, "haar") ? FS_DETECTOR_HAAR : FS_DETECTOR_YUNET;
    *out = s;
    return FS_OK;
}

fs_status fs_scorer_score(fs_scorer *s, const fs_image *img, const fs_face *face, fs_face_score *out) {
    memset(out, 0, sizeof *out);
    if (!s || !img || !face) return fs_error(FS_ERR_ARG, "scorer: NULL argument");
    fs_image rgb = *img;
    int own = 0;
    if (img->channels == 1) {   /* gray photos: replicate to RGB */
        fs_status st = fs_image_alloc(&rgb, img->width, img->height, 3);
        if (st != FS_OK) return st;
        for (int y = 0; y < img->height; y++)
            for (int x = 0; x < img->width; x++) {
                uint8_t v = img->data[(size_t)y * img->stride + x];
                uint8_t *p = rgb.data + (size_t)y * rgb.stride + 3 * x;
                p[0] = p[1] = p[2] = v;
            }
        own = 1;
    }
    fs_status st = bb_features(&s->bb, &rgb, face, s->feat);
    if (own) fs_image_free(&rgb);
    if (st != FS_OK) return st;
    hd_output o;
    hd_predict(&s->heads, s->feat, &o);
    out->p_female = o.p_female;
    const char *gt = mf_get(&s->mf, "gender_trained");
    out->female = gt && !strcmp(gt, "0") ? -1 : o.p_female >= 0.5f;
    out->score = o.score;
    out->cls = o.cls;
    memcpy(out->dist, o.dist, sizeof out->dist);
    out->rank_ko = fs_rank_message(o.cls, 1);
    out->rank_en = fs_rank_message(o.cls, 0);
    return FS_OK;
}

const char *fs_scorer_model_name(const fs_scorer *s) { return s ? s->name : NULL; }
const char *fs_scorer_meta(const fs_scorer *s, const char *key) { return s ? mf_get(&s->mf, key) : NULL; }
fs_detector_type fs_scorer_detector(const fs_scorer *s) { return s ? s->detector : FS_DETECTOR_YUNET; }
