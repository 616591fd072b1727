/* detect/yunet.c — YuNet face detector: decoding of the 12 output tensors, letterbox geometry,
 * input packing (see detect/yunet.h for the tensor layout and formulas). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "detect/yunet.h"

#define YUNET_MAX_SIDE 8192

static float clamp01(float v) { return v < 0.f ? 0.f : v > 1.f ? 1.f : v; }

static fs_status faces_push(det_faces *l, const fs_face *f) {
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 64;
        fs_face *v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) return fs_error(FS_ERR_NOMEM, "yunet: out of memory for %d candidates", cap);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *f;
    return FS_OK;
}

/* One anchor: cell (row, col) of stride s. */
static void yunet_decode_cell(const yunet_level *L, int i, float score, fs_face *f) {
    float s = (float)L->stride;
    float col = (float)(i % L->cols), row = (float)(i / L->cols);
    const float *b = L->bbox + (size_t)i * 4;
    const float *k = L->kps + (size_t)i * 10;
    /* exp() of a hostile/garbage log-size would overflow: cap at e^12 strides. */
    float lw = b[2] < 12.f ? b[2] : 12.f, lh = b[3] < 12.f ? b[3] : 12.f;
    float cx = (col + b[0]) * s, cy = (row + b[1]) * s;
    float w = expf(lw) * s, h = expf(lh) * s;
    memset(f, 0, sizeof *f);
    f->box.x = cx - 0.5f * w;
    f->box.y = cy - 0.5f * h;
    f->box.w = w;
    f->box.h = h;
    f->confidence = score;
    f->has_landmarks = 1;
    for (int p = 0; p < 5; p++) {
        f->landmarks[p][0] = (k[2 * p] + col) * s;
        f->landmarks[p][1] = (k[2 * p + 1] + row) * s;
    }
}

fs_status yunet_decode(const yunet_level *lv, int n_levels, float thresh, det_faces *out) {
    for (int l = 0; l < n_levels; l++) {
        const yunet_level *L = &lv[l];
        int n = L->rows * L->cols;
        for (int i = 0; i < n; i++) {
            float score = sqrtf(clamp01(L->cls[i]) * clamp01(L->obj[i]));
            if (!(score >= thresh)) continue; /* also rejects NaN */
            fs_face f;
            yunet_decode_cell(L, i, score, &f);
            if (!(isfinite(f.box.x) && isfinite(f.box.y))) continue;
            fs_status st = faces_push(out, &f);
            if (st != FS_OK) return st;
        }
    }
    return FS_OK;
}

/* Resized side as the golden reference computes it: int(side * scale), at least 1 and at most
 * `limit`; a product within 1e-9 below an integer (floating-point loss) counts as that integer. */
static int scaled_side(int side, double s, int limit) {
    double v = side * s;
    int r = (int)v;
    if (v - r > 1.0 - 1e-9) r++;
    if (r > limit) r = limit;
    return r < 1 ? 1 : r;
}

fs_status yunet_geometry(int img_w, int img_h, int fixed_w, int fixed_h, int target,
                         yunet_geom *g) {
    if (img_w <= 0 || img_h <= 0)
        return fs_error(FS_ERR_ARG, "yunet: empty image (%dx%d)", img_w, img_h);
    memset(g, 0, sizeof *g);
    g->img_w = img_w;
    g->img_h = img_h;
    int longer = img_w > img_h ? img_w : img_h;
    if (fixed_w > 0 && fixed_h > 0) {
        if (fixed_w > YUNET_MAX_SIDE || fixed_h > YUNET_MAX_SIDE)
            return fs_error(FS_ERR_ARG, "yunet: model input %dx%d too large", fixed_w, fixed_h);
        double sw = (double)fixed_w / img_w, sh = (double)fixed_h / img_h;
        g->scale = sw < sh ? sw : sh;
        g->rw = scaled_side(img_w, g->scale, fixed_w);
        g->rh = scaled_side(img_h, g->scale, fixed_h);
        g->in_w = fixed_w;
        g->in_h = fixed_h;
    } else {
        if (target <= 0 || target > YUNET_MAX_SIDE)
            return fs_error(FS_ERR_ARG, "yunet: input size %d outside 1..%d", target, YUNET_MAX_SIDE);
        g->scale = (double)target / longer;
        g->rw = scaled_side(img_w, g->scale, target);
        g->rh = scaled_side(img_h, g->scale, target);
        g->in_w = (g->rw + 31) / 32 * 32;
        g->in_h = (g->rh + 31) / 32 * 32;
    }
    return FS_OK;
}

static float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

void yunet_map_back(const yunet_geom *g, fs_face *f, int n) {
    float ix = (float)(1.0 / g->scale), iy = ix;
    float W = (float)g->img_w, H = (float)g->img_h;
    for (int i = 0; i < n; i++) {
        fs_face *a = &f[i];
        float x0 = a->box.x * ix, y0 = a->box.y * iy;
        float x1 = (a->box.x + a->box.w) * ix, y1 = (a->box.y + a->box.h) * iy;
        x0 = clampf(x0, 0.f, W); x1 = clampf(x1, 0.f, W);
        y0 = clampf(y0, 0.f, H); y1 = clampf(y1, 0.f, H);
        a->box.x = x0;
        a->box.y = y0;
        a->box.w = x1 - x0;
        a->box.h = y1 - y0;
        for (int p = 0; p < 5; p++) {
            a->landmarks[p][0] *= ix;
            a->landmarks[p][1] *= iy;
        }
    }
}

void yunet_pack_bgr(const fs_image *img, float *canvas, int in_w, int in_h) {
    size_t plane = (size_t)in_w * in_h;
    int w = img->width < in_w ? img->width : in_w;
    int h = img->height < in_h ? img->height : in_h;
    float *b = canvas, *gr = canvas + plane, *r = canvas + 2 * plane;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = img->data + (size_t)y * img->stride;
        size_t o = (size_t)y * in_w;
        if (img->channels == 3) {
            for (int x = 0; x < w; x++) {
                r[o + x] = row[3 * x];
                gr[o + x] = row[3 * x + 1];
                b[o + x] = row[3 * x + 2];
            }
        } else {
            for (int x = 0; x < w; x++) r[o + x] = gr[o + x] = b[o + x] = row[x];
        }
        for (int c = 0; c < 3; c++) /* black right of the photo */
            memset(canvas + c * plane + o + w, 0, (size_t)(in_w - w) * sizeof *canvas);
    }
    for (int c = 0; c < 3; c++) /* black below it */
        memset(canvas + c * plane + (size_t)h * in_w, 0, (size_t)(in_h - h) * in_w * sizeof *canvas);
}

/* ------------------------------------------------------------------ running the network */

static const char *const yunet_out_names[4] = {"cls", "obj", "bbox", "kps"};
static const int yunet_out_width[4] = {1, 1, 4, 10};

struct yunet {
    fs_model *m;
    int fixed_w, fixed_h;    /* model input size, 0 for the dynamic model */
    int cur_w, cur_h;        /* input dims currently set on the dynamic model */
    int out_idx[3][4];       /* output index of {cls,obj,bbox,kps}_{8,16,32} */
    fs_image resized;        /* the scaled photo, kept until the next call */
};

static fs_status yunet_find_outputs(yunet *y, const char *path) {
    for (int l = 0; l < 3; l++)
        for (int k = 0; k < 4; k++) y->out_idx[l][k] = -1;
    int n = fs_model_num_outputs(y->m);
    for (int i = 0; i < n; i++) {
        fs_tensor_info ti;
        if (fs_model_output_info(y->m, i, &ti) != FS_OK || !ti.name) continue;
        for (int l = 0; l < 3; l++)
            for (int k = 0; k < 4; k++) {
                char want[16];
                snprintf(want, sizeof want, "%s_%d", yunet_out_names[k], 8 << l);
                if (strcmp(ti.name, want) == 0) y->out_idx[l][k] = i;
            }
    }
    for (int l = 0; l < 3; l++)
        for (int k = 0; k < 4; k++)
            if (y->out_idx[l][k] < 0)
                return fs_error(FS_ERR_FORMAT, "yunet: %s has no output '%s_%d' (not a YuNet model?)",
                                path, yunet_out_names[k], 8 << l);
    return FS_OK;
}

static fs_status yunet_check_input(yunet *y, const char *path) {
    fs_tensor_info ti;
    if (fs_model_num_inputs(y->m) != 1 || fs_model_input_info(y->m, 0, &ti) != FS_OK || ti.ndim != 4)
        return fs_error(FS_ERR_FORMAT, "yunet: %s: expected one NCHW input", path);
    if (ti.dims[1] != 3 && ti.dims[1] != -1)
        return fs_error(FS_ERR_FORMAT, "yunet: %s: input has %lld channels, expected 3", path,
                        (long long)ti.dims[1]);
    if (ti.dims[2] > 0 && ti.dims[3] > 0) {
        if (ti.dims[2] % 32 || ti.dims[3] % 32 || ti.dims[2] > 8192 || ti.dims[3] > 8192)
            return fs_error(FS_ERR_FORMAT, "yunet: %s: input %lldx%lld is not a multiple of 32", path,
                            (long long)ti.dims[3], (long long)ti.dims[2]);
        y->fixed_h = (int)ti.dims[2];
        y->fixed_w = (int)ti.dims[3];
    }
    return FS_OK;
}

fs_status yunet_open(const char *path, int threads, yunet **out) {
    *out = NULL;
    if (!path) return fs_error(FS_ERR_ARG, "yunet: no model path");
    yunet *y = calloc(1, sizeof *y);
    if (!y) return fs_error(FS_ERR_NOMEM, "yunet: out of memory");
    fs_status st = fs_model_load(path, &y->m);
    if (st == FS_OK) st = yunet_check_input(y, path);
    if (st == FS_OK) st = yunet_find_outputs(y, path);
    if (st == FS_OK) st = fs_model_set_threads(y->m, threads);
    if (st != FS_OK) { yunet_free(y); return st; }
    *out = y;
    return FS_OK;
}

void yunet_free(yunet *y) {
    if (!y) return;
    fs_model_free(y->m);
    fs_image_free(&y->resized);
    free(y);
}

int yunet_fixed_size(const yunet *y) { return y->fixed_w > 0 ? y->fixed_w : 0; }

/* Resizes (if needed) and packs the photo into the model's input buffer. */
static fs_status yunet_fill_input(yunet *y, const fs_image *img, const yunet_geom *g) {
    if (!y->fixed_w && (g->in_w != y->cur_w || g->in_h != y->cur_h)) {
        int64_t dims[4] = {1, 3, g->in_h, g->in_w};
        fs_status st = fs_model_set_input_shape(y->m, 0, 4, dims);
        if (st != FS_OK) return st;
        y->cur_w = g->in_w;
        y->cur_h = g->in_h;
    }
    const fs_image *src = img;
    if (g->rw != img->width || g->rh != img->height) {
        fs_image_free(&y->resized);
        /* bilinear as the reference (cv2.resize INTER_LINEAR); area averaging when shrinking more
         * than 2x, where bilinear sampling would alias (large photos) */
        fs_resize_mode mode = g->scale < 0.5 ? FS_RESIZE_AREA : FS_RESIZE_BILINEAR;
        fs_status st = fs_image_resize(img, g->rw, g->rh, mode, &y->resized);
        if (st != FS_OK) return st;
        src = &y->resized;
    }
    size_t numel = 0;
    float *in = fs_model_input(y->m, 0, &numel);
    if (!in) { fs_error_prefix("yunet: "); return FS_ERR_INTERNAL; }
    if (numel != (size_t)3 * g->in_w * g->in_h)
        return fs_error(FS_ERR_INTERNAL, "yunet: input holds %zu floats, expected 3x%dx%d", numel,
                        g->in_h, g->in_w);
    yunet_pack_bgr(src, in, g->in_w, g->in_h);
    return FS_OK;
}

static fs_status yunet_levels(yunet *y, const yunet_geom *g, yunet_level lv[3]) {
    for (int l = 0; l < 3; l++) {
        int s = 8 << l;
        lv[l].stride = s;
        lv[l].rows = g->in_h / s;
        lv[l].cols = g->in_w / s;
        const float *p[4];
        for (int k = 0; k < 4; k++) {
            size_t numel = 0;
            p[k] = fs_model_output(y->m, y->out_idx[l][k], &numel);
            size_t want = (size_t)lv[l].rows * lv[l].cols * yunet_out_width[k];
            if (!p[k] || numel != want)
                return fs_error(FS_ERR_INTERNAL, "yunet: output %s_%d has %zu values, expected %zu",
                                yunet_out_names[k], s, numel, want);
        }
        lv[l].cls = p[0]; lv[l].obj = p[1]; lv[l].bbox = p[2]; lv[l].kps = p[3];
    }
    return FS_OK;
}

fs_status yunet_detect(yunet *y, const fs_image *img, const yunet_params *p, det_faces *out) {
    out->n = 0;
    if (!img || !img->data || (img->channels != 3 && img->channels != 1))
        return fs_error(FS_ERR_ARG, "yunet: need an RGB or gray image");
    yunet_geom g;
    fs_status st = yunet_geometry(img->width, img->height, y->fixed_w, y->fixed_h,
                                  p->input_size > 0 ? p->input_size : 640, &g);
    if (st == FS_OK) st = yunet_fill_input(y, img, &g);
    if (st == FS_OK) st = fs_model_run(y->m);
    yunet_level lv[3];
    if (st == FS_OK) st = yunet_levels(y, &g, lv);
    if (st == FS_OK) st = yunet_decode(lv, 3, p->score_threshold, out);
    if (st != FS_OK) return st;
    out->n = det_nms(out->v, out->n, p->nms_iou, p->top_k);
    yunet_map_back(&g, out->v, out->n);
    return FS_OK;
}
