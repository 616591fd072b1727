/* score/backbone.c — crops, preprocessing and feature tensors of the frozen backbones. */
#include "score/backbone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/dataset.h"
#include "nn/graph.h"
#include "nn/model.h"

enum { BB_PRE_M11 = 0, BB_PRE_BGRMEAN = 1, BB_PRE_MFN = 2 };

static const bb_spec specs[] = {
    {"mnv2", "mobilenet_v2_imagenet/mobilenet_v2_1.0_224_quant.tflite", 224, BB_PRE_M11, "#169", 1280},
    {"faceres", "human_faceres/faceres.json", 224, BB_PRE_BGRMEAN, "global_pooling/Mean", 1024},
    {"mfn", "mobilefacenet/MobileFaceNet.tflite", 112, BB_PRE_MFN, "embeddings", 192},
};

const bb_spec *bb_find(const char *name) {
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        if (!strcmp(specs[i].name, name)) return &specs[i];
    return NULL;
}

const char *bb_input_desc(const bb_spec *sp) {
    return !strcmp(sp->name, "mnv2") ? "RGB/127.5-1" : !strcmp(sp->name, "faceres") ? "BGR - (103.939,116.779,123.68)" : "(RGB-127.5)/128";
}

fs_status bb_files_hash(const char *dir, const bb_spec *sp, char *files, size_t nf, char *sums, size_t ns, uint64_t *combined) {
    char rel2[300] = "", p[4500];
    uint64_t h1, h2 = 0;
    snprintf(p, sizeof p, "%s/%s", dir, sp->file);
    fs_status st = ds_hash_file(p, &h1);
    if (st != FS_OK) return st;
    const char *dot = strrchr(sp->file, '.');
    if (dot && !strcmp(dot, ".json")) {
        snprintf(rel2, sizeof rel2, "%.*s.bin", (int)(dot - sp->file), sp->file);
        snprintf(p, sizeof p, "%s/%s", dir, rel2);
        if ((st = ds_hash_file(p, &h2)) != FS_OK) return st;
    }
    if (files) snprintf(files, nf, "%s%s%s", sp->file, rel2[0] ? "," : "", rel2);
    if (sums) {
        if (rel2[0]) snprintf(sums, ns, "%016llx,%016llx", (unsigned long long)h1, (unsigned long long)h2);
        else snprintf(sums, ns, "%016llx", (unsigned long long)h1);
    }
    if (combined) *combined = h1 * 31 + h2;
    return FS_OK;
}

const char *bb_crop_name(bb_crop c) { return c == BB_CROP_ALIGN ? "align" : c == BB_CROP_BOX15 ? "box15" : "box10"; }

int bb_crop_parse(const char *s, bb_crop *out) {
    if (!strcmp(s, "align")) *out = BB_CROP_ALIGN;
    else if (!strcmp(s, "box15")) *out = BB_CROP_BOX15;
    else if (!strcmp(s, "box10")) *out = BB_CROP_BOX10;
    else return -1;
    return 0;
}

/* Splits "a+b" into up to BB_MAX specs; returns count or -1 (error set). */
static int parse_names(const char *names, const bb_spec **out) {
    char buf[256];
    if (!names || !*names || strlen(names) >= sizeof buf) { fs_error(FS_ERR_ARG, "backbone: empty or too long name list"); return -1; }
    snprintf(buf, sizeof buf, "%s", names);
    int n = 0;
    for (char *save, *t = strtok_r(buf, "+", &save); t; t = strtok_r(NULL, "+", &save)) {
        const bb_spec *s = bb_find(t);
        if (!s) { fs_error(FS_ERR_ARG, "backbone '%s': unknown (have mnv2, faceres, mfn)", t); return -1; }
        for (int i = 0; i < n; i++)
            if (out[i] == s) { fs_error(FS_ERR_ARG, "backbone '%s' named twice", t); return -1; }
        if (n == BB_MAX) { fs_error(FS_ERR_ARG, "backbone: at most %d names", BB_MAX); return -1; }
        out[n++] = s;
    }
    if (!n) { fs_error(FS_ERR_ARG, "backbone: no name in '%s'", names); return -1; }
    return n;
}

int bb_names_dim(const char *names) {
    const bb_spec *s[BB_MAX];
    int n = parse_names(names, s), d = 0;
    for (int i = 0; i < n; i++) d += s[i]->dim;
    return n < 0 ? 0 : d;
}

void bb_close(bb_set *s) {
    for (int i = 0; i < s->n; i++) fs_model_free(s->model[i]);
    free(s->buf);
    memset(s, 0, sizeof *s);
}

uint64_t bb_weights_key(const mf_file *w, const char *name, int *count) {
    char pre[64];
    int n = 0, l = snprintf(pre, sizeof pre, "backbone.%s.", name);
    uint64_t h = DS_FNV_INIT;
    for (int i = 0; w && i < w->n_tensors; i++) {
        const mf_tensor *t = &w->tensors[i];
        if (strncmp(t->name, pre, (size_t)l)) continue;
        h = ds_fnv1a(h, t->name, strlen(t->name) + 1);
        h = ds_fnv1a(h, t->data, t->numel * sizeof(float));
        n++;
    }
    if (count) *count = n;
    return n ? h : 0;
}

/* every "backbone.X." tensor names an opened backbone */
static fs_status check_override_names(const bb_set *s, const mf_file *w) {
    for (int i = 0; w && i < w->n_tensors; i++) {
        const char *nm = w->tensors[i].name;
        if (strncmp(nm, "backbone.", 9)) continue;
        int ok = 0;
        for (int k = 0; k < s->n && !ok; k++) {
            size_t l = strlen(s->spec[k]->name);
            ok = !strncmp(nm + 9, s->spec[k]->name, l) && nm[9 + l] == '.' && nm[10 + l];
        }
        if (!ok) return fs_error(FS_ERR_FORMAT, "model file: weight override '%s' names no backbone of this model", nm);
    }
    return FS_OK;
}

/* copies backbone k's override tensors into its graph (before planning) */
static fs_status apply_overrides(bb_set *s, int k, const mf_file *w) {
    nn_graph *g = fs_model_graph(s->model[k]);
    char pre[64];
    int l = snprintf(pre, sizeof pre, "backbone.%s.", s->spec[k]->name);
    for (int i = 0; w && i < w->n_tensors; i++) {
        const mf_tensor *o = &w->tensors[i];
        if (strncmp(o->name, pre, (size_t)l)) continue;
        int ti = nn_graph_find_tensor(g, o->name + l);
        nn_tensor *t = ti < 0 ? NULL : &g->tensors[ti];
        if (!t || !t->is_const || t->dtype != NN_F32)
            return fs_error(FS_ERR_FORMAT, "model file: weight override '%s': %s has no float32 constant '%s'", o->name, s->spec[k]->name, o->name + l);
        int same = t->ndim == o->ndim;
        for (int d = 0; same && d < t->ndim; d++) same = t->dims[d] == o->dims[d];
        if (!same) {
            char a[96] = "", b[96] = "";
            for (int d = 0; d < o->ndim; d++) snprintf(a + strlen(a), sizeof a - strlen(a), "%s%lld", d ? "," : "", (long long)o->dims[d]);
            for (int d = 0; d < t->ndim; d++) snprintf(b + strlen(b), sizeof b - strlen(b), "%s%lld", d ? "," : "", (long long)t->dims[d]);
            return fs_error(FS_ERR_FORMAT, "model file: weight override '%s' has shape [%s], the graph's tensor [%s]", o->name, a, b);
        }
        float *dst = nn_graph_alloc_const(g, ti);   /* fresh storage: the loader's may be shared */
        if (!dst) return fs_error(FS_ERR_NOMEM, "backbone %s: out of memory", s->spec[k]->name);
        memcpy(dst, o->data, o->numel * sizeof(float));
    }
    s->wkey[k] = bb_weights_key(w, s->spec[k]->name, &s->n_override[k]);
    return FS_OK;
}

fs_status bb_open(bb_set *s, const char *names, const char *models_dir, bb_crop crop, int threads) {
    return bb_open_weights(s, names, models_dir, crop, threads, NULL);
}

fs_status bb_open_weights(bb_set *s, const char *names, const char *models_dir, bb_crop crop, int threads,
                          const mf_file *w) {
    memset(s, 0, sizeof *s);
    int n = parse_names(names, s->spec);
    if (n < 0) return FS_ERR_ARG;
    s->n = n;
    s->crop = crop;
    s->flip = 1;
    fs_status st0 = check_override_names(s, w);
    if (st0 != FS_OK) { memset(s, 0, sizeof *s); return st0; }
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", models_dir, s->spec[i]->file);
        fs_status st = fs_model_load(path, &s->model[i]);
        if (st == FS_OK && w) st = apply_overrides(s, i, w);
        if (st == FS_OK) {
            int64_t d[4] = {1, s->spec[i]->size, s->spec[i]->size, 3};
            if ((st = fs_model_set_input_shape(s->model[i], 0, 4, d)) == FS_OK &&
                (st = fs_model_keep_tensor(s->model[i], s->spec[i]->tensor)) == FS_OK &&
                (st = fs_model_set_threads(s->model[i], threads)) == FS_OK)
                st = fs_model_plan(s->model[i]);
        }
        if (st != FS_OK) {
            char why[512];
            const char *name = s->spec[i]->name;
            snprintf(why, sizeof why, "%s", fs_last_error());
            s->n = i + (s->model[i] != NULL);
            bb_close(s);
            return fs_error(st, "backbone %s: %s", name, why);
        }
        s->dim += s->spec[i]->dim;
    }
    s->buf = malloc(224 * 224 * 3 * sizeof(float));
    if (!s->buf) { bb_close(s); return fs_error(FS_ERR_NOMEM, "backbone: out of memory"); }
    return FS_OK;
}

fs_status bb_crop_for(const bb_spec *sp, bb_crop mode, const fs_image *img, const fs_face *face, fs_image *crop) {
    fs_align_params p;
    fs_face f = *face;
    if (sp->size == 112) {
        fs_align_params_arcface(&p);
        p.box_scale = 1.0f;
    } else {
        fs_align_params_default(&p);
        if (mode != BB_CROP_ALIGN) { f.has_landmarks = 0; p.box_scale = mode == BB_CROP_BOX15 ? 1.5f : 1.0f; }
    }
    return fs_face_align(img, &f, &p, crop);
}

fs_status bb_face_crop(const bb_set *s, int k, const fs_image *img, const fs_face *face, fs_image *crop) {
    return bb_crop_for(s->spec[k], s->crop, img, face, crop);
}

void bb_preprocess(const bb_spec *sp, const fs_image *c, int flip, float *x) {
    int n = sp->size;
    for (int y = 0; y < n; y++) {
        const uint8_t *row = c->data + (size_t)y * c->stride;
        for (int xx = 0; xx < n; xx++) {
            const uint8_t *px = row + 3 * (flip ? n - 1 - xx : xx);
            float *o = x + ((size_t)y * n + xx) * 3;
            float r = px[0], g = px[1], b = px[2];
            if (sp->pre == BB_PRE_M11) { o[0] = r / 127.5f - 1.0f; o[1] = g / 127.5f - 1.0f; o[2] = b / 127.5f - 1.0f; }
            else if (sp->pre == BB_PRE_BGRMEAN) { o[0] = b - 103.939f; o[1] = g - 116.779f; o[2] = r - 123.68f; }
            else { o[0] = (r - 127.5f) / 128.0f; o[1] = (g - 127.5f) / 128.0f; o[2] = (b - 127.5f) / 128.0f; }
        }
    }
}

fs_status bb_features_crop(bb_set *s, int k, const fs_image *crop, float *out) {
    const bb_spec *sp = s->spec[k];
    if (crop->width != sp->size || crop->height != sp->size || crop->channels != 3)
        return fs_error(FS_ERR_ARG, "backbone %s: crop %dx%dx%d, expected %dx%dx3", sp->name, crop->width,
                        crop->height, crop->channels, sp->size, sp->size);
    size_t numel = (size_t)sp->size * sp->size * 3;
    for (int f = 0; f <= s->flip; f++) {
        bb_preprocess(sp, crop, f, s->buf);
        fs_status st = fs_model_set_input(s->model[k], 0, s->buf, numel);
        if (st == FS_OK) st = fs_model_run(s->model[k]);
        if (st != FS_OK) return st;
        size_t n;
        const float *v = fs_model_tensor(s->model[k], sp->tensor, &n);
        if (!v || n != (size_t)sp->dim) return fs_error(FS_ERR_INTERNAL, "backbone %s: feature %s has %zu values, expected %d", sp->name, sp->tensor, v ? n : 0, sp->dim);
        for (int i = 0; i < sp->dim; i++) out[i] = f ? 0.5f * (out[i] + v[i]) : v[i];
    }
    return FS_OK;
}

fs_status bb_features(bb_set *s, const fs_image *img, const fs_face *face, float *out) {
    for (int k = 0; k < s->n; k++) {
        fs_image crop;
        fs_status st = bb_face_crop(s, k, img, face, &crop);
        if (st != FS_OK) return st;
        st = bb_features_crop(s, k, &crop, out);
        fs_image_free(&crop);
        if (st != FS_OK) return st;
        out += s->spec[k]->dim;
    }
    return FS_OK;
}
