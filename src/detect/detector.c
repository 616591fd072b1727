/* detect/detector.c — one detection API over YuNet (default) and the Haar cascade (seed-compatible):
 * options, default model search, filtering (min size, max count), ordering and result codes, and
 * optional YuNet landmarks for Haar faces. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "detect/yunet.h"

struct fs_detector {
    fs_detector_options o;
    yunet      *yn;      /* YuNet, or for Haar + haar_landmarks */
    fs_cascade *casc;    /* Haar */
    det_faces   scratch; /* YuNet candidates, reused */
};

void fs_detector_options_default(fs_detector_options *o) {
    memset(o, 0, sizeof *o);
    o->type = FS_DETECTOR_YUNET;
    o->score_threshold = 0.6f;
    o->nms_iou = 0.3f;
    o->input_size = 640;
    o->sort = FS_SORT_DEFAULT;
    o->threads = 1;
    fs_haar_params_default(&o->haar);
}

/* ------------------------------------------------------------------ default model search */

/* dynamic first: the input is the photo padded to a multiple of 32 (640x480 -> 640x480, 1280x720 ->
 * 640x384), less work than the fixed 640x640 canvas; same weights. */
static const char *const yunet_files[] = {"yunet_n_dynamic.onnx", "yunet_n_640_640.onnx"};

static int file_exists(const char *p) { return access(p, R_OK) == 0; }

static int try_dir(char *buf, size_t cap, const char *dir) {
    for (size_t i = 0; i < sizeof yunet_files / sizeof *yunet_files; i++) {
        int n = snprintf(buf, cap, "%s/%s", dir, yunet_files[i]);
        if (n > 0 && (size_t)n < cap && file_exists(buf)) return 1;
    }
    return 0;
}

const char *fs_yunet_default_path(void) {
    static _Thread_local char buf[PATH_MAX + 64];
    char dir[PATH_MAX + 32];
    const char *env = getenv("FACESCORE_MODELS");
    if (env && *env) {
        snprintf(dir, sizeof dir, "%s/yunet", env);
        if (try_dir(buf, sizeof buf, dir) || try_dir(buf, sizeof buf, env)) return buf;
    }
    if (try_dir(buf, sizeof buf, "models/yunet")) return buf;
    /* next to the executable: <prefix>/bin/facescore or build/facescore -> ../models, ../share/facescore/models */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(dir, sizeof dir, "%s/../models/yunet", exe);
            if (try_dir(buf, sizeof buf, dir)) return buf;
            snprintf(dir, sizeof dir, "%s/../share/facescore/models/yunet", exe);
            if (try_dir(buf, sizeof buf, dir)) return buf;
        }
    }
    if (try_dir(buf, sizeof buf, "../shared/models/yunet")) return buf;
    if (try_dir(buf, sizeof buf, "/usr/local/share/facescore/models/yunet")) return buf;
    if (try_dir(buf, sizeof buf, "/usr/share/facescore/models/yunet")) return buf;
    return NULL;
}

/* ------------------------------------------------------------------ open / free */

static fs_status check_options(const fs_detector_options *o) {
    if (o->type != FS_DETECTOR_YUNET && o->type != FS_DETECTOR_HAAR)
        return fs_error(FS_ERR_ARG, "detector: unknown type %d", (int)o->type);
    if (!(o->score_threshold >= 0.f && o->score_threshold <= 1.f))
        return fs_error(FS_ERR_ARG, "detector: score threshold %g outside 0..1", o->score_threshold);
    if (!(o->nms_iou >= 0.f && o->nms_iou <= 1.f))
        return fs_error(FS_ERR_ARG, "detector: NMS IoU %g outside 0..1", o->nms_iou);
    if (o->input_size != 0 && (o->input_size < 32 || o->input_size > 8192))
        return fs_error(FS_ERR_ARG, "detector: input size %d outside 32..8192", o->input_size);
    if (!(o->min_face >= 0.f)) return fs_error(FS_ERR_ARG, "detector: negative minimum face size");
    if (o->max_faces < 0) return fs_error(FS_ERR_ARG, "detector: negative max_faces");
    if ((int)o->sort < FS_SORT_DEFAULT || (int)o->sort > FS_SORT_LEFT_TO_RIGHT)
        return fs_error(FS_ERR_ARG, "detector: unknown sort order %d", (int)o->sort);
    return FS_OK;
}

static fs_status open_yunet(fs_detector *d, const char *model_path) {
    const char *path = model_path ? model_path : fs_yunet_default_path();
    if (!path)
        return fs_error(FS_ERR_IO, "yunet: no model found (set $FACESCORE_MODELS or pass a model path; "
                                   "looked for models/yunet/%s)", yunet_files[0]);
    fs_status st = yunet_open(path, d->o.threads, &d->yn);
    if (st != FS_OK && strncmp(fs_last_error(), "yunet", 5) != 0) {
        if (strstr(fs_last_error(), path)) fs_error_prefix("yunet model ");
        else fs_error_prefix("yunet model %s: ", path);
    }
    return st;
}

static fs_status open_haar(fs_detector *d, const char *cascade_path) {
    const char *path = cascade_path ? cascade_path : fs_cascade_default_path();
    if (!path) return fs_error(FS_ERR_IO, "haar: no cascade found (set $FACESCORE_CASCADE or pass a path)");
    return fs_cascade_load(path, &d->casc);
}

fs_status fs_detector_open(const fs_detector_options *o, fs_detector **out) {
    if (!out) return fs_error(FS_ERR_ARG, "detector: NULL output");
    *out = NULL;
    fs_detector_options def;
    if (!o) { fs_detector_options_default(&def); o = &def; }
    fs_status st = check_options(o);
    if (st != FS_OK) return st;
    fs_detector *d = calloc(1, sizeof *d);
    if (!d) return fs_error(FS_ERR_NOMEM, "detector: out of memory");
    d->o = *o;
    d->o.model_path = d->o.cascade_path = NULL; /* the caller's strings are only used here */
    if (o->type == FS_DETECTOR_YUNET || o->haar_landmarks) st = open_yunet(d, o->model_path);
    if (st == FS_OK && o->type == FS_DETECTOR_HAAR) st = open_haar(d, o->cascade_path);
    if (st != FS_OK) { fs_detector_free(d); return st; }
    *out = d;
    return FS_OK;
}

void fs_detector_free(fs_detector *d) {
    if (!d) return;
    yunet_free(d->yn);
    fs_cascade_free(d->casc);
    free(d->scratch.v);
    free(d);
}

const char *fs_detector_name(const fs_detector *d) {
    return d && d->o.type == FS_DETECTOR_HAAR ? "haar" : "yunet";
}

/* ------------------------------------------------------------------ detect */

/* max_faces is applied after filtering and ordering (fs_detector_detect), not inside NMS. */
static yunet_params yunet_params_of(const fs_detector_options *o) {
    yunet_params p = {o->score_threshold, o->nms_iou, o->input_size, 0};
    return p;
}

static fs_status detect_yunet(fs_detector *d, const fs_image *img, fs_detections *out) {
    yunet_params p = yunet_params_of(&d->o);
    fs_status st = yunet_detect(d->yn, img, &p, &d->scratch);
    if (st != FS_OK) return st;
    int n = det_drop_small(d->scratch.v, d->scratch.n, d->o.min_face);
    if (n == 0) return FS_OK;
    out->faces = malloc((size_t)n * sizeof *out->faces);
    if (!out->faces) return fs_error(FS_ERR_NOMEM, "detector: out of memory");
    memcpy(out->faces, d->scratch.v, (size_t)n * sizeof *out->faces);
    out->n = n;
    return FS_OK;
}

/* Landmarks for a Haar face: YuNet on a square 1.6x region around the box; the YuNet face that
 * overlaps the Haar box most (IoU >= 0.3) lends its landmarks. */
static fs_status haar_add_landmarks(fs_detector *d, const fs_image *img, fs_face *f) {
    float side = (f->box.w > f->box.h ? f->box.w : f->box.h) * 1.6f;
    int x0 = (int)(f->box.x + f->box.w / 2 - side / 2), y0 = (int)(f->box.y + f->box.h / 2 - side / 2);
    int x1 = (int)(x0 + side + 0.5f), y1 = (int)(y0 + side + 0.5f);
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > img->width) x1 = img->width;
    if (y1 > img->height) y1 = img->height;
    if (x1 - x0 < 8 || y1 - y0 < 8) return FS_OK;
    fs_image crop;
    memset(&crop, 0, sizeof crop);
    fs_status st = fs_image_crop(img, x0, y0, x1 - x0, y1 - y0, &crop);
    if (st != FS_OK) return st;
    yunet_params p = yunet_params_of(&d->o);
    p.input_size = 160; /* the face fills ~60% of the crop: ~100 px at the network */
    st = yunet_detect(d->yn, &crop, &p, &d->scratch);
    fs_image_free(&crop);
    if (st != FS_OK) return st;
    int best = -1;
    float best_iou = 0.3f;
    for (int i = 0; i < d->scratch.n; i++) {
        fs_rect b = d->scratch.v[i].box;
        b.x += (float)x0;
        b.y += (float)y0;
        float iou = det_iou(&b, &f->box);
        if (iou >= best_iou) { best_iou = iou; best = i; }
    }
    if (best < 0) return FS_OK;
    f->has_landmarks = 1;
    for (int k = 0; k < 5; k++) {
        f->landmarks[k][0] = d->scratch.v[best].landmarks[k][0] + (float)x0;
        f->landmarks[k][1] = d->scratch.v[best].landmarks[k][1] + (float)y0;
    }
    return FS_OK;
}

static fs_status detect_haar(fs_detector *d, const fs_image *img, fs_detections *out) {
    fs_haar_params hp = d->o.haar;
    if (hp.threads == 0 && d->o.threads != 0) hp.threads = d->o.threads;
    fs_status st = fs_haar_detect(d->casc, img, &hp, out);
    if (st != FS_OK) return st;
    out->n = det_drop_small(out->faces, out->n, d->o.min_face);
    for (int i = 0; d->yn && i < out->n && st == FS_OK; i++) st = haar_add_landmarks(d, img, &out->faces[i]);
    return st;
}

fs_status fs_detector_detect(fs_detector *d, const fs_image *img, fs_detections *out) {
    if (!out) return fs_error(FS_ERR_ARG, "detector: NULL output");
    memset(out, 0, sizeof *out);
    out->largest = -1;
    if (!d || !img || !img->data || img->width <= 0 || img->height <= 0)
        return fs_error(FS_ERR_ARG, "detector: NULL detector or empty image");
    if (img->channels != 1 && img->channels != 3)
        return fs_error(FS_ERR_ARG, "detector: image has %d channels, expected 1 or 3", img->channels);
    fs_status st = d->o.type == FS_DETECTOR_HAAR ? detect_haar(d, img, out) : detect_yunet(d, img, out);
    if (st != FS_OK) {
        fs_detections_free(out);
        memset(out, 0, sizeof *out);
        out->largest = -1;
        return st;
    }
    if (d->o.sort == FS_SORT_SCORE) det_sort(out->faces, out->n, DET_SORT_SCORE);
    else if (d->o.sort == FS_SORT_AREA) det_sort(out->faces, out->n, DET_SORT_AREA);
    else if (d->o.sort == FS_SORT_LEFT_TO_RIGHT) det_sort(out->faces, out->n, DET_SORT_X);
    if (d->o.max_faces > 0 && out->n > d->o.max_faces) out->n = d->o.max_faces;
    det_finish(out);
    return FS_OK;
}

/* ------------------------------------------------------------------ drawing */

void fs_detections_draw(fs_image *img, const fs_detections *d) {
    if (!img || !img->data || !d) return;
    /* landmark colours as in OpenCV's YuNet demo: right eye blue, left eye red, nose green,
     * right mouth corner magenta, left mouth corner yellow */
    static const uint8_t lm_rgb[5][3] = {{0, 0, 255}, {255, 0, 0}, {0, 255, 0}, {255, 0, 255}, {255, 255, 0}};
    int side = img->width < img->height ? img->width : img->height;
    int th = side / 300 > 1 ? side / 300 : 1;
    for (int i = 0; i < d->n; i++) {
        const fs_face *f = &d->faces[i];
        fs_image_draw_rect(img, (int)lrintf(f->box.x), (int)lrintf(f->box.y), (int)lrintf(f->box.w),
                           (int)lrintf(f->box.h), th, 0, 255, 0);
        if (!f->has_landmarks) continue;
        int r = (int)(f->box.w / 40.f);
        if (r < 1) r = 1;
        for (int k = 0; k < 5; k++)
            fs_image_draw_dot(img, (int)lrintf(f->landmarks[k][0]), (int)lrintf(f->landmarks[k][1]), r,
                              lm_rgb[k][0], lm_rgb[k][1], lm_rgb[k][2]);
    }
}
