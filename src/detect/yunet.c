/* detect/yunet.c — YuNet face detector: decoding of the 12 output tensors, letterbox geometry,
 * input packing (see detect/yunet.h for the tensor layout and formulas). */
#include <math.h>
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
    memset(canvas, 0, 3 * plane * sizeof *canvas);
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
    }
}
