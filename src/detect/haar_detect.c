/* detect/haar_detect.c — CascadeClassifier::detectMultiScale as OpenCV 4.6 computes it.
 *
 * Pyramid (FeatureEvaluator::updateScaleData / setImage, detectMultiScaleNoGrouping):
 *   factors 1, sf, sf^2, ... (double product) while round(win*factor) fits the image; kept as
 *   float; those whose window is inside [minSize, maxSize] are used. Level size
 *   round(W / scale) (float division), resized with INTER_LINEAR_EXACT, integrals with a +1 border.
 *   Window step ("ystep") 2 below scale 2, else 1, in x and y; a window rejected by the first
 *   stage makes the scan skip the next x position. Rows end at min(nstripes * stripeSize, height)
 *   where nstripes = ceil(working width of the first level / 32) (OpenCV's stripe arithmetic).
 * Window (HaarEvaluator::setWindow and predictOrderedStump / predictOrdered):
 *   nf = area*sqsum - sum^2 over the window shrunk by 1 pixel (double); flat windows (nf <= 0 or
 *   area/sqrt(nf) >= 0.1) are rejected without counting as a stage-0 rejection; feature value
 *   (w0*S0 + w1*S1 [+ w2*S2]) * (float)(1/sqrt(nf)) in float, stage sums in double.
 * LBP cascades (LBPEvaluator, predictCategoricalStump): no variance test, each stump looks up the
 * 8-bit code of a 3x3 cell grid in a 256-bit subset.
 * Candidates are (round(x*scale), round(y*scale), round(win*scale)) and grouped with
 * groupRectangles(minNeighbors, 0.2). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/error.h"
#include "core/threadpool.h"
#include "detect/haar_internal.h"

/* ------------------------------------------------------------------ one window (portable) */

static inline int32_t rect_sum(const int32_t *p, const int *o) {
    const uint32_t *u = (const uint32_t *)p;
    return (int32_t)(u[o[0]] - u[o[1]] - u[o[2]] + u[o[3]]);
}

static inline float feature_value(const haar_scale_ctx *s, const int32_t *p, int f) {
    const int *o = s->fofs + HAAR_FOFS * f;
    const float *w = s->fw + 3 * f;
    float ret = w[0] * (float)rect_sum(p, o) + w[1] * (float)rect_sum(p, o + 4);
    if (w[2] != 0.0f) ret += w[2] * (float)rect_sum(p, o + 8);
    return ret;
}

/* setWindow(): 1 and the norm factor, or 0 for a flat window */
static inline int window_norm(const haar_scale_ctx *s, const int32_t *p, float *vnf) {
    const uint32_t *u = (const uint32_t *)p;
    int valsum = (int32_t)(u[s->nofs[0]] - u[s->nofs[1]] - u[s->nofs[2]] + u[s->nofs[3]]);
    const uint32_t *q = u + s->sqofs;
    unsigned valsqsum = q[s->nofs[0]] - q[s->nofs[1]] - q[s->nofs[2]] + q[s->nofs[3]];
    double nf = s->area * valsqsum - (double)valsum * valsum;
    if (nf > 0.) {
        nf = sqrt(nf);
        *vnf = (float)(1. / nf);
        return s->area * *vnf < 1e-1;
    }
    *vnf = 1.f;
    return 0;
}

int haar_eval_stages(const haar_scale_ctx *s, const int32_t *p, float vnf, int first) {
    const struct fs_cascade *c = s->c;
    if (c->stumps) {
        const haar_stump *st = c->stumps + c->stages[first].first_tree;
        for (int si = first; si < c->nstages; si++) {
            const haar_stage *sg = &c->stages[si];
            double tmp = 0;
            for (int i = 0; i < sg->ntrees; i++, st++) {
                double value = feature_value(s, p, st->feature) * vnf;
                tmp += value < st->threshold ? st->left : st->right;
            }
            if (tmp < sg->threshold) return -si;
        }
        return 1;
    }
    for (int si = first; si < c->nstages; si++) {
        const haar_stage *sg = &c->stages[si];
        double sum = 0;
        for (int wi = 0; wi < sg->ntrees; wi++) {
            const haar_tree *t = &c->trees[sg->first_tree + wi];
            int idx = 0;
            do {
                const haar_node *nd = &c->nodes[t->first_node + idx];
                double val = feature_value(s, p, nd->feature) * vnf;
                idx = val < nd->threshold ? nd->left : nd->right;
            } while (idx > 0);
            sum += c->leaves[t->first_leaf - idx];
        }
        if (sum < sg->threshold) return -si;
    }
    return 1;
}

/* LBPEvaluator::OptFeature::calc: the 8-bit code of the 3x3 cells around the centre cell */
static inline int lbp_code(const int32_t *p, const int *o) {
#define CELL(a, b, c, d) (int32_t)((uint32_t)p[o[a]] - (uint32_t)p[o[b]] - (uint32_t)p[o[c]] + (uint32_t)p[o[d]])
    int32_t cval = CELL(5, 6, 9, 10);
    return (CELL(0, 1, 4, 5) >= cval ? 128 : 0) | (CELL(1, 2, 5, 6) >= cval ? 64 : 0) |
           (CELL(2, 3, 6, 7) >= cval ? 32 : 0) | (CELL(6, 7, 10, 11) >= cval ? 16 : 0) |
           (CELL(10, 11, 14, 15) >= cval ? 8 : 0) | (CELL(9, 10, 13, 14) >= cval ? 4 : 0) |
           (CELL(8, 9, 12, 13) >= cval ? 2 : 0) | (CELL(4, 5, 8, 9) >= cval ? 1 : 0);
#undef CELL
}

/* predictCategoricalStump: leaf 0 when the code's bit is set in the node's subset, else leaf 1 */
static int lbp_eval_stages(const haar_scale_ctx *s, const int32_t *p) {
    const struct fs_cascade *c = s->c;
    for (int si = 0; si < c->nstages; si++) {
        const haar_stage *sg = &c->stages[si];
        double tmp = 0;
        for (int wi = 0; wi < sg->ntrees; wi++) {
            const haar_tree *t = &c->trees[sg->first_tree + wi];
            const haar_node *nd = &c->nodes[t->first_node];
            int code = lbp_code(p, s->fofs + HAAR_FOFS * nd->feature);
            const int32_t *subset = c->subsets + 8 * (size_t)t->first_node;
            tmp += c->leaves[t->first_leaf + (((uint32_t)subset[code >> 5] >> (code & 31) & 1u) ? 0 : 1)];
        }
        if (tmp < sg->threshold) return -si;
    }
    return 1;
}

int haar_eval_window(const haar_scale_ctx *s, int x, int y) {
    const int32_t *p = s->sum + (size_t)y * s->step + x;
    if (s->c->lbp) return lbp_eval_stages(s, p);
    float vnf;
    if (!window_norm(s, p, &vnf)) return -1;
    return haar_eval_stages(s, p, vnf, 0);
}

int haar_push(int x, int y, int **xs, int **ys, int *n, int *cap) {
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 256;
        int *a = realloc(*xs, sizeof *a * (size_t)nc);
        if (!a) return -1;
        *xs = a;
        int *b = realloc(*ys, sizeof *b * (size_t)nc);
        if (!b) return -1;
        *ys = b;
        *cap = nc;
    }
    (*xs)[*n] = x;
    (*ys)[*n] = y;
    (*n)++;
    return 0;
}

int haar_rows_portable(const haar_scale_ctx *s, int y0, int y1, int **xs, int **ys, int *n, int *cap) {
    for (int y = y0; y < y1; y += s->ystep)
        for (int x = 0; x < s->wx_end; x += s->ystep) {
            int r = haar_eval_window(s, x, y);
            if (r > 0 && haar_push(x, y, xs, ys, n, cap)) return -1;
            if (r == 0) x += s->ystep;
        }
    return 0;
}

haar_rows_fn haar_select_rows(const struct fs_cascade *c, const char **name) {
    int f = fs_cpu_features();
    if (c->stumps && !c->has_tilted && !c->lbp) {
#if defined(__x86_64__)
        /* AVX2 also on AVX-512 machines: a 16-lane AVX-512 version of the same scan measured slower
         * here (290 vs 276 ms, 1280x720, 1.03/6, Zen-class CPU) as more lanes idle in late stages */
        if (f & FS_CPU_AVX2) { if (name) *name = "avx2"; return haar_rows_avx2; }
#endif
    }
    (void)f;
    if (name) *name = "portable";
    return c->stumps && !c->has_tilted && !c->lbp ? haar_rows_lanes : haar_rows_portable;
}

const char *fs_haar_kernel_name(const fs_cascade *c) {
    const char *name = "portable";
    if (c) haar_select_rows(c, &name);
    return name;
}

/* ------------------------------------------------------------------ pyramid */

typedef struct {
    float scale;
    int w, h;            /* level size */
    int ystep;
    int wx_end, wy_end;  /* window grid limits */
    int win_w, win_h;    /* window size in image pixels */
} haar_level;

/* Scale list of detectMultiScaleNoGrouping (OpenCV 4.x, incl. the minSize == maxSize fallback). */
static int make_levels(const fs_cascade *c, int W, int H, const fs_haar_params *p, haar_level **out) {
    *out = NULL;
    if (W < c->win_w || H < c->win_h) return 0;
    int maxw = p->max_w, maxh = p->max_h;
    if (maxw == 0 || maxh == 0) { maxw = W; maxh = H; }
    int cap = 64, nall = 0;
    float *all = malloc(sizeof *all * (size_t)cap);
    if (!all) return -1;
    for (double factor = 1;; factor *= p->scale_factor) {
        int ww = (int)lrint(c->win_w * factor), wh = (int)lrint(c->win_h * factor);
        if (ww > W || wh > H) break;
        if (nall == cap) {
            cap *= 2;
            float *a = realloc(all, sizeof *a * (size_t)cap);
            if (!a) { free(all); return -1; }
            all = a;
        }
        all[nall++] = (float)factor;
    }
    haar_level *lv = malloc(sizeof *lv * (size_t)(nall ? nall : 1));
    if (!lv) { free(all); return -1; }
    int n = 0;
    for (int i = 0; i < nall; i++) {
        int ww = (int)lrintf(c->win_w * all[i]), wh = (int)lrintf(c->win_h * all[i]);
        if (ww > maxw || wh > maxh) break;
        if (ww < p->min_w || wh < p->min_h) continue;
        lv[n++].scale = all[i];
    }
    if (n == 0 && nall > 0 && p->min_w == p->max_w && p->min_h == p->max_h && p->max_w > 0) {
        /* closest precomputed scale (L2 on the window size), as OpenCV does for minSize == maxSize */
        double best = 1e300;
        int bi = 0;
        for (int i = 0; i < nall; i++) {
            int ww = (int)lrintf(c->win_w * all[i]), wh = (int)lrintf(c->win_h * all[i]);
            double d = (double)(p->min_w - ww) * (p->min_w - ww) + (double)(p->min_h - wh) * (p->min_h - wh);
            if (d < best) { best = d; bi = i; }
        }
        lv[n++].scale = all[bi];
    }
    free(all);
    for (int i = 0; i < n; i++) {
        haar_level *l = &lv[i];
        float sc = l->scale;
        l->w = (int)lrintf((float)W / sc);
        l->h = (int)lrintf((float)H / sc);
        l->ystep = sc >= 2 ? 1 : 2;
        int szw_w = l->w + 1 - c->win_w, szw_h = l->h + 1 - c->win_h;
        l->wx_end = szw_w > 0 ? szw_w : 0;
        l->wy_end = szw_h > 0 ? szw_h : 0;
        l->win_w = (int)lrintf(c->win_w * sc);
        l->win_h = (int)lrintf(c->win_h * sc);
    }
    if (n > 0) { /* OpenCV's stripes cut the last row(s) of some levels */
        int nstripes = (int)ceil(lv[0].wx_end / 32.);
        for (int i = 0; i < n; i++) {
            int ss = (lv[i].wy_end / lv[i].ystep + nstripes - 1) / (nstripes ? nstripes : 1);
            ss = (ss > 1 ? ss : 1) * lv[i].ystep;
            long long lim = (long long)nstripes * ss;
            if (lim < lv[i].wy_end) lv[i].wy_end = (int)lim;
        }
    }
    *out = lv;
    return n;
}

/* ------------------------------------------------------------------ detection */

typedef struct {
    uint8_t *img;        /* level image */
    int32_t *ibuf;       /* sum | sqsum | tilted, padded */
    int32_t *dbuf;       /* sum | sqsum with even/odd columns split (lane scans, ystep 2), padded */
    uint32_t *tscratch;
    int *fofs;
    int *xs, *ys, n, cap;  /* candidates (image pixels: x, y; size from the level) */
    int *ws, *hs, wcap;
    int failed;
} haar_worker;

typedef struct {
    const fs_cascade *c;
    const fs_image *gray;
    haar_level *lv;
    int nlevels;
    haar_worker *wk;
    float *fw;
    haar_rows_fn rows;
    int deint_ok;        /* rows understands the even/odd column layout */
    int *task_level, *task_y0, *task_y1; /* a task = window rows [y0, y1) of one level */
} haar_job;

/* Window rows per task. A band resizes and integrates only the image rows its windows cover (an
 * integral that starts at the band's first row gives the same window sums: every feature is a
 * difference of corners inside the window), so the bands of a level are independent tasks. */
#define BAND_ROWS 96

/* Corner offset of window-relative (x, y) in an integral with row stride `step`; with `deint` the
 * row holds its even columns first (ceil(step/2) of them), then the odd ones. */
static inline int corner_ofs(int x, int y, int step, int deint) {
    return deint ? (x & 1 ? (step + 1) / 2 : 0) + (x >> 1) + step * y : x + step * y;
}

/* Per-feature corner offsets (HAAR_FOFS each) for an integral of row stride `step`; tilted
 * rectangles address the tilted plane at `tofs`. */
static void feature_offsets(const fs_cascade *c, int *fofs, int step, int tofs, int deint) {
    for (int f = 0; f < c->nfeatures; f++) {
        const haar_feature *hf = &c->features[f];
        int *o = fofs + HAAR_FOFS * f;
        if (c->lbp) { /* 4x4 grid of cell corners, row-major */
            const haar_irect *r = &hf->r[0];
            for (int j = 0; j < 4; j++)
                for (int i = 0; i < 4; i++) o[4 * j + i] = r->x + i * r->w + step * (r->y + j * r->h);
            continue;
        }
        for (int k = 0; k < 3; k++, o += 4) {
            const haar_irect *r = &hf->r[k];
            if (hf->weight[k] == 0.0f && k == 2) { o[0] = o[1] = o[2] = o[3] = 0; continue; }
            if (hf->tilted) {
                o[0] = tofs + r->x + step * r->y;
                o[1] = tofs + r->x - r->h + step * (r->y + r->h);
                o[2] = tofs + r->x + r->w + step * (r->y + r->w);
                o[3] = tofs + r->x + r->w - r->h + step * (r->y + r->w + r->h);
            } else {
                o[0] = corner_ofs(r->x, r->y, step, deint);
                o[1] = corner_ofs(r->x + r->w, r->y, step, deint);
                o[2] = corner_ofs(r->x, r->y + r->h, step, deint);
                o[3] = corner_ofs(r->x + r->w, r->y + r->h, step, deint);
            }
        }
    }
}

/* The split even/odd column layout of sum and sqsum (planes of `plane` ints) into dst. */
static void split_columns(const int32_t *src, int32_t *dst, int step, int rows, int plane) {
    int ne = (step + 1) / 2;
    for (int p = 0; p < 2; p++)
        for (int y = 0; y < rows; y++) {
            const int32_t *s = src + (size_t)p * plane + (size_t)y * step;
            int32_t *d = dst + (size_t)p * plane + (size_t)y * step;
            for (int x = 0; x < step; x++) d[(x & 1 ? ne : 0) + (x >> 1)] = s[x];
        }
}

static void level_task(void *vctx, int task, int thread) {
    haar_job *job = vctx;
    haar_worker *w = &job->wk[thread];
    if (w->failed) return;
    const fs_cascade *c = job->c;
    const haar_level *l = &job->lv[job->task_level[task]];
    const fs_image *g = job->gray;
    int yb0 = job->task_y0[task], yb1 = job->task_y1[task];
    int ylast = yb0 + (yb1 - 1 - yb0) / l->ystep * l->ystep;
    int nr = ylast + c->win_h - yb0; /* image rows [yb0, yb0 + nr) */
    int step = l->w + 1, rows = nr + 1;
    if (haar_resize_linear_exact_rows(g->data, g->width, g->height, g->stride, w->img, l->w, l->h, yb0, yb0 + nr)) {
        w->failed = 1;
        return;
    }
    int plane = step * rows;
    int32_t *sum = w->ibuf;
    haar_integral(w->img, l->w, nr, l->w, step, sum, sum + plane, c->has_tilted ? sum + 2 * plane : NULL,
                  w->tscratch);
    int tofs = 2 * plane;
    /* ystep-2 levels for the lane scans: columns reordered even-then-odd within each row, so the
     * corners of 8 windows two pixels apart are 8 consecutive ints */
    int deint = job->deint_ok && l->ystep == 2;
    if (deint) {
        split_columns(sum, w->dbuf, step, rows, plane);
        sum = w->dbuf;
    }
    feature_offsets(c, w->fofs, step, tofs, deint);
    haar_scale_ctx s = {0};
    s.c = c;
    s.sum = sum;
    s.sqofs = plane;
    s.tofs = tofs;
    s.step = step;
    s.fofs = w->fofs;
    s.fw = job->fw;
    int nx = 1, ny = 1, nw = c->win_w - 2, nh = c->win_h - 2;
    s.nofs[0] = corner_ofs(nx, ny, step, deint);
    s.nofs[1] = corner_ofs(nx + nw, ny, step, deint);
    s.nofs[2] = corner_ofs(nx, ny + nh, step, deint);
    s.nofs[3] = corner_ofs(nx + nw, ny + nh, step, deint);
    s.deint = deint;
    s.area = (double)nw * nh;
    s.ystep = l->ystep;
    s.wx_end = l->wx_end;
    s.wy_end = yb1 - yb0; /* band-relative rows */
    int n0 = w->n;
    if (job->rows(&s, 0, yb1 - yb0, &w->xs, &w->ys, &w->n, &w->cap)) { w->failed = 1; return; }
    /* convert to image pixels now (scale known here) */
    if (w->n > w->wcap) {
        int nc = w->cap;
        int *a = realloc(w->ws, sizeof *a * (size_t)nc), *b = a ? realloc(w->hs, sizeof *b * (size_t)nc) : NULL;
        if (a) w->ws = a;
        if (!a || !b) { w->failed = 1; return; }
        w->hs = b;
        w->wcap = nc;
    }
    for (int i = n0; i < w->n; i++) {
        w->xs[i] = (int)lrintf((float)w->xs[i] * l->scale);
        w->ys[i] = (int)lrintf((float)(w->ys[i] + yb0) * l->scale);
        w->ws[i] = l->win_w;
        w->hs[i] = l->win_h;
    }
}

static int cmp_face(const void *a, const void *b) {
    const fs_face *p = a, *q = b;
    double ap = (double)p->box.w * p->box.h, aq = (double)q->box.w * q->box.h;
    if (ap != aq) return ap < aq ? 1 : -1;
    if (p->box.y != q->box.y) return p->box.y < q->box.y ? -1 : 1;
    return (p->box.x > q->box.x) - (p->box.x < q->box.x);
}

void fs_haar_params_default(fs_haar_params *p) {
    memset(p, 0, sizeof *p);
    p->scale_factor = 1.03;
    p->min_neighbors = 6;
    p->threads = 0;
}

static void free_workers(haar_worker *wk, int n) {
    if (!wk) return;
    for (int i = 0; i < n; i++) {
        free(wk[i].img); free(wk[i].ibuf); free(wk[i].dbuf); free(wk[i].tscratch); free(wk[i].fofs);
        free(wk[i].xs); free(wk[i].ys); free(wk[i].ws); free(wk[i].hs);
    }
    free(wk);
}

/* One pool kept between calls (thread start-up costs as much as a small image's detection);
 * a concurrent caller that finds it busy uses a temporary pool. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static fs_pool *cached_pool;

static fs_pool *pool_get(int nthreads, int *cached) {
    *cached = 0;
    if (nthreads <= 1) return NULL;
    if (pthread_mutex_trylock(&pool_lock) == 0) {
        if (cached_pool && fs_pool_size(cached_pool) != nthreads) { fs_pool_free(cached_pool); cached_pool = NULL; }
        if (!cached_pool) cached_pool = fs_pool_create(nthreads);
        if (cached_pool) { *cached = 1; return cached_pool; }
        pthread_mutex_unlock(&pool_lock);
    }
    return fs_pool_create(nthreads);
}

static void pool_put(fs_pool *p, int cached) {
    if (cached) pthread_mutex_unlock(&pool_lock);
    else fs_pool_free(p);
}

fs_status haar_detect_raw(const fs_cascade *c, const fs_image *gray, const fs_haar_params *p,
                          haar_rows_fn rows, haar_box **boxes, int *nboxes) {
    *boxes = NULL;
    *nboxes = 0;
    haar_level *lv;
    int nl = make_levels(c, gray->width, gray->height, p, &lv);
    if (nl < 0) return fs_error(FS_ERR_NOMEM, "detect: out of memory");
    if (nl == 0) { free(lv); return FS_OK; }
    int nthreads = p->threads > 0 ? p->threads : fs_cpu_count();
    if (nthreads > 4 * nl) nthreads = 4 * nl;
    if (nthreads < 1) nthreads = 1;
    haar_worker *wk = calloc((size_t)nthreads, sizeof *wk);
    float *fw = malloc(sizeof *fw * 3 * (size_t)c->nfeatures);
    fs_status st = FS_OK;
    if (!wk || !fw) { st = fs_error(FS_ERR_NOMEM, "detect: out of memory"); goto done; }
    for (int f = 0; f < c->nfeatures; f++)
        for (int k = 0; k < 3; k++) fw[3 * f + k] = c->features[f].weight[k];
    /* tasks: bands of BAND_ROWS window rows (a multiple of every ystep), largest levels first */
    int ntasks = 0, tcap = 0;
    for (int i = 0; i < nl; i++) tcap += (lv[i].wy_end + BAND_ROWS - 1) / BAND_ROWS;
    int *tl = malloc(sizeof *tl * 3 * (size_t)(tcap ? tcap : 1));
    if (!tl) { st = fs_error(FS_ERR_NOMEM, "detect: out of memory"); goto done; }
    for (int i = 0; i < nl; i++)
        for (int y = 0; y < lv[i].wy_end; y += BAND_ROWS) {
            tl[ntasks] = i;
            tl[tcap + ntasks] = y;
            tl[2 * tcap + ntasks] = y + BAND_ROWS < lv[i].wy_end ? y + BAND_ROWS : lv[i].wy_end;
            ntasks++;
        }
    int maxrows = BAND_ROWS + c->win_h < lv[0].h ? BAND_ROWS + c->win_h : lv[0].h;
    size_t plane = (size_t)(lv[0].w + 1) * (maxrows + 1);
    size_t pad = 512 + 4 * (size_t)c->win_w; /* lane scans read a little past the last row */
    for (int t = 0; t < nthreads; t++) {
        wk[t].img = malloc((size_t)lv[0].w * maxrows + 64);
        wk[t].ibuf = malloc(sizeof(int32_t) * (plane * (c->has_tilted ? 3 : 2) + pad));
        wk[t].dbuf = malloc(sizeof(int32_t) * (plane * 2 + pad));
        wk[t].tscratch = c->has_tilted ? malloc(sizeof(uint32_t) * 2 * (size_t)(lv[0].w + maxrows + 4)) : NULL;
        wk[t].fofs = malloc(sizeof(int) * HAAR_FOFS * (size_t)c->nfeatures);
        if (!wk[t].img || !wk[t].ibuf || !wk[t].dbuf || !wk[t].fofs || (c->has_tilted && !wk[t].tscratch)) {
            st = fs_error(FS_ERR_NOMEM, "detect: out of memory for a %dx%d image", gray->width, gray->height);
            free(tl);
            goto done;
        }
        memset(wk[t].ibuf + plane * (c->has_tilted ? 3 : 2), 0, pad * sizeof(int32_t));
        memset(wk[t].dbuf + plane * 2, 0, pad * sizeof(int32_t));
    }
    haar_job job = {c, gray, lv, nl, wk, fw, rows ? rows : haar_select_rows(c, NULL), 0, tl, tl + tcap, tl + 2 * tcap};
    job.deint_ok = job.rows == haar_rows_lanes;
#if defined(__x86_64__)
    job.deint_ok |= job.rows == haar_rows_avx2;
#endif
    job.deint_ok &= !c->has_tilted && !c->lbp;
    int cached;
    fs_pool *pool = pool_get(nthreads, &cached);
    fs_pool_run(pool, ntasks, level_task, &job);
    pool_put(pool, cached);
    free(tl);
    int total = 0;
    for (int t = 0; t < nthreads; t++) {
        if (wk[t].failed) { st = fs_error(FS_ERR_NOMEM, "detect: out of memory"); goto done; }
        total += wk[t].n;
    }
    haar_box *b = malloc(sizeof *b * (size_t)(total ? total : 1));
    if (!b) { st = fs_error(FS_ERR_NOMEM, "detect: out of memory"); goto done; }
    int k = 0;
    for (int t = 0; t < nthreads; t++)
        for (int i = 0; i < wk[t].n; i++) b[k++] = (haar_box){wk[t].xs[i], wk[t].ys[i], wk[t].ws[i], wk[t].hs[i]};
    *boxes = b;
    *nboxes = total;
done:
    free_workers(wk, nthreads);
    free(fw);
    free(lv);
    return st;
}

fs_status fs_haar_detect(const fs_cascade *c, const fs_image *img, const fs_haar_params *p, fs_detections *out) {
    memset(out, 0, sizeof *out);
    out->largest = -1;
    fs_haar_params def;
    if (!p) { fs_haar_params_default(&def); p = &def; }
    if (!c || !img || !img->data) return fs_error(FS_ERR_ARG, "detect: NULL cascade or image");
    if (!(p->scale_factor > 1.0) || p->scale_factor > 100.0)
        return fs_error(FS_ERR_ARG, "detect: scale factor %g must be > 1", p->scale_factor);
    if (p->min_neighbors < 0 || p->min_w < 0 || p->min_h < 0 || p->max_w < 0 || p->max_h < 0)
        return fs_error(FS_ERR_ARG, "detect: negative minNeighbors / size limit");
    if (img->width <= 0 || img->height <= 0) return fs_error(FS_ERR_ARG, "detect: empty image");
    fs_image gray = *img, conv = {0};
    if (img->channels == 3) {
        fs_status st = fs_image_to_gray(img, &conv);
        if (st) return st;
        gray = conv;
    } else if (img->channels != 1) {
        return fs_error(FS_ERR_ARG, "detect: image has %d channels (want 1 or 3)", img->channels);
    }
    haar_box *b;
    int n;
    fs_status st = haar_detect_raw(c, &gray, p, NULL, &b, &n);
    fs_image_free(&conv);
    if (st) return st;
    int *wts = malloc(sizeof *wts * (size_t)(n ? n : 1));
    if (!wts) { free(b); return fs_error(FS_ERR_NOMEM, "detect: out of memory"); }
    int ng = haar_group_rectangles(b, n, p->min_neighbors, 0.2, wts);
    if (ng < 0) { free(b); free(wts); return fs_error(FS_ERR_NOMEM, "detect: out of memory"); }
    if (ng > 0) {
        out->faces = calloc((size_t)ng, sizeof *out->faces);
        if (!out->faces) { free(b); free(wts); return fs_error(FS_ERR_NOMEM, "detect: out of memory"); }
        for (int i = 0; i < ng; i++) {
            out->faces[i].box = (fs_rect){(float)b[i].x, (float)b[i].y, (float)b[i].w, (float)b[i].h};
            out->faces[i].confidence = (float)wts[i];
        }
        qsort(out->faces, (size_t)ng, sizeof *out->faces, cmp_face);
    }
    free(b);
    free(wts);
    out->n = ng;
    out->largest = ng > 0 ? 0 : -1;
    out->code = ng == 0 ? FS_CODE_NO_FACE : ng == 1 ? FS_CODE_ONE_FACE : FS_CODE_MANY_FACES;
    return FS_OK;
}
