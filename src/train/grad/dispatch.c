/* train/grad/dispatch.c — the public gr_conv2d_backward_* / gr_fc_backward entry points: pick the
 * path for the conv's geometry, split the work over the pool in a fixed partition, run the ISA
 * kernels of grad_simd.inc (best one from fs_cpu_features(); FS_CPU=portable -> the generic vector-C
 * instantiation; FS_GRAD_REF=1 -> the plain references).
 *
 * Paths (gr_conv_path):
 *   gemm1x1    1x1, stride 1, no padding, groups 1 (and FC): dX = dY.W, dW += dY^T.X as GEMMs;
 *              dX rows / dW (rows, then columns) split over threads: bit-identical for ANY thread count.
 *   depthwise  groups == cin == cout, kh*kw <= 64: channel-vectorised direct loops; dX alone by input
 *              rows (any thread count: same bits); dW + db (and dX, the clamp and the input mask, from
 *              gr_conv2d_backward*) in one pass over the rows, split by images with per-thread dW/db
 *              partials summed in thread order when there are at least as many images as threads
 *              (bits depend on the thread count), else by channel ranges (same bits for any count).
 *              Scratch: (kh*kw + w + threads*(kh*kw + 1))*C floats.
 *   im2col     every other groups-1 conv (the first 3x3 conv, strided 1x1, padded 1x1...): per task
 *              chunks of GR_CHUNK output pixels gathered into columns, then GEMMs. dW and db: per-task
 *              partials (the clamp of dY and db's sums per chunk, in cache) summed in task order (the
 *              result depends on the thread count, reproducible for a fixed one); dX: one task per
 *              image range (dx of the image = col2im of dY.W).
 *   ref        grouped non-depthwise convs, depth multipliers, or a missing scratch: the reference.
 *   fused      gr_conv2d_backward on a gemm1x1 conv with cout*cin <= 128*128 wanting dx and dw: clamp +
 *              dX + dW per chunk of GR_FUSE_CHUNK pixels, pixels split over threads, dW partials in
 *              the scratch (bits depend on the thread count).
 * No allocation anywhere. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/threadpool.h"
#include "train/grad/grad_internal.h"

/* ------------------------------------------------------------------ kernel selection */

static int gr_force_ref(void) {
    const char *e = getenv("FS_GRAD_REF");
    return e && *e && strcmp(e, "0") != 0;
}

const gr_kernels *gr_kernels_by_name(const char *name) {
    const int f = fs_cpu_features();
    (void)f;
    if (!strcmp(name, "generic")) return &gr_kernels_generic;
#if defined(__x86_64__)
    if (!strcmp(name, "avx512") && (f & FS_CPU_AVX512)) return &gr_kernels_avx512;
    if (!strcmp(name, "avx2") && (f & FS_CPU_AVX2) && (f & FS_CPU_FMA)) return &gr_kernels_avx2;
#endif
    return NULL;
}

const gr_kernels *gr_kernels_best(void) {
    if (gr_force_ref()) return NULL;
#if defined(__x86_64__)
    const int f = fs_cpu_features();
    if (f & FS_CPU_AVX512) return &gr_kernels_avx512;
    if ((f & FS_CPU_AVX2) && (f & FS_CPU_FMA)) return &gr_kernels_avx2;
#endif
    return &gr_kernels_generic;
}

/* ------------------------------------------------------------------ paths and scratch */

#define GR_CHUNK_FLOATS 16384 /* im2col chunk: GR_CHUNK rows of kh*kw*cin floats, at most ~64 KiB */

static int is_1x1_gemm(const gr_conv_shape *s) {
    return s->groups == 1 && s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 && s->pt == 0 && s->pl == 0 &&
           s->oh == s->h && s->ow == s->w;
}
static int is_depthwise(const gr_conv_shape *s) {
    return s->groups == s->cin && s->cout == s->cin && s->kh * s->kw <= GR_MAXTAP;
}

const char *gr_conv_path(const gr_conv_shape *s) {
    if (is_1x1_gemm(s)) return "gemm1x1";
    if (is_depthwise(s)) return "depthwise";
    if (s->groups == 1) return "im2col";
    return "ref";
}

static int chunk_rows(const gr_conv_shape *s) {
    const int kc = s->kh * s->kw * s->cin;
    int ch = GR_CHUNK_FLOATS / (kc > 0 ? kc : 1);
    return ch < 16 ? 16 : ch > 256 ? 256 : ch;
}
#define GR_I2C_SLACK 16 /* floats after the columns chunk: im2col copies short runs 16 floats at a time */

/* per-task floats of the im2col path: columns chunk (+ slack) + dW partial [cout][kh*kw*cin] + db
 * partial [cout] */
static size_t im2col_task_floats(const gr_conv_shape *s) {
    const size_t kc = (size_t)s->kh * s->kw * s->cin;
    return (size_t)chunk_rows(s) * kc + GR_I2C_SLACK + kc * s->cout + s->cout;
}

/* per-task floats of the fused 1x1 path: dW partial [cout][cin] + db partial [cout] */
static size_t fused_task_floats(const gr_conv_shape *s) { return (size_t)s->cout * s->cin + s->cout; }
/* The fused pass pays a dW partial update per pixel chunk: it wins (measured 15-20 %) only on the
 * narrow, pixel-heavy early layers (cout*cin <= 128*128), and loses on the wide late ones. */
static int fuse_1x1(const gr_conv_shape *s) { return is_1x1_gemm(s) && (long)s->cout * s->cin <= 128 * 128; }

size_t gr_conv_scratch_size(const gr_conv_shape *s, int threads) {
    if (threads < 1) threads = fs_cpu_count(); /* as fs_pool_create(threads <= 0) */
    const char *p = gr_conv_path(s);
    if (!strcmp(p, "depthwise")) /* wT [kh*kw][C], a zero row [w][C], per thread: accT [kh*kw][C], db [C] */
        return ((size_t)s->kh * s->kw * s->cin + (size_t)s->w * s->cin +
                (size_t)threads * ((size_t)s->kh * s->kw + 1) * s->cin) * sizeof(float);
    if (!strcmp(p, "im2col")) return (size_t)threads * im2col_task_floats(s) * sizeof(float);
    if (fuse_1x1(s)) return (size_t)threads * fused_task_floats(s) * sizeof(float); /* gr_conv2d_backward */
    return 0;
}

/* contiguous range t of T over [0, n) in units of `align` (last range takes the rest) */
static void split(int n, int align, int t, int T, int *lo, int *hi) {
    const int units = (n + align - 1) / align;
    int a = (int)((long)units * t / T) * align, b = (int)((long)units * (t + 1) / T) * align;
    *lo = a < n ? a : n, *hi = b < n ? b : n;
}

/* ------------------------------------------------------------------ GEMM jobs (1x1 conv and FC) */

typedef struct {
    const gr_kernels *k;
    int M, N, K;            /* output C[M][N], reduction K */
    const float *A, *B;
    ptrdiff_t ars, aks, ldb;
    float *C;
    ptrdiff_t ldc;
    int add, T;
    int by_rows;            /* split rows (multiples of 4) or columns (multiples of 32) */
} gemm_job;

static void gemm_task(void *ctx, int t, int thread) {
    (void)thread;
    const gemm_job *j = ctx;
    int lo, hi;
    if (j->by_rows) {
        split(j->M, 4, t, j->T, &lo, &hi);
        if (lo < hi)
            j->k->gemm(hi - lo, j->N, j->K, j->A + lo * j->ars, j->ars, j->aks, j->B, j->ldb, j->C + lo * j->ldc, j->ldc,
                       j->add);
    } else {
        split(j->N, 32, t, j->T, &lo, &hi);
        if (lo < hi) j->k->gemm(j->M, hi - lo, j->K, j->A, j->ars, j->aks, j->B + lo, j->ldb, j->C + lo, j->ldc, j->add);
    }
}

static void run_gemm(gemm_job *j, fs_pool *pool) {
    j->T = fs_pool_size(pool);
    j->by_rows = j->M >= 4 * j->T || j->N < 32 * j->T;
    fs_pool_run(pool, j->T, gemm_task, j);
}

typedef struct {
    const gr_kernels *k;
    float *db;
    const float *dy;
    size_t rows;
    int c, T;
} colsum_job;

static void colsum_task(void *ctx, int t, int thread) {
    (void)thread;
    const colsum_job *j = ctx;
    int lo, hi;
    split(j->c, 16, t, j->T, &lo, &hi);
    if (lo < hi) j->k->colsum(j->db, j->dy, j->rows, j->c, lo, hi);
}

static void run_colsum(const gr_kernels *k, float *db, const float *dy, size_t rows, int c, fs_pool *pool) {
    colsum_job j = {k, db, dy, rows, c, fs_pool_size(pool)};
    fs_pool_run(pool, j.T, colsum_task, &j);
}

/* dx[rows][cin] = dy[rows][cout] . w[cout][cin] */
static void gemm_dx(const gr_kernels *k, float *dx, const float *dy, const float *w, int rows, int cin, int cout,
                    fs_pool *pool) {
    gemm_job j = {k, rows, cin, cout, dy, w, cout, 1, cin, dx, cin, 0, 0, 0};
    run_gemm(&j, pool);
}
/* dw[cout][cin] += dy[rows][cout]^T . x[rows][cin]; db[cout] += column sums of dy */
static void gemm_dw(const gr_kernels *k, float *dw, float *db, const float *dy, const float *x, int rows, int cin,
                    int cout, fs_pool *pool) {
    if (dw) {
        gemm_job j = {k, cout, cin, rows, dy, x, 1, cout, cin, dw, cin, 1, 0, 0};
        run_gemm(&j, pool);
    }
    if (db) run_colsum(k, db, dy, (size_t)rows, cout, pool);
}

/* the whole 1x1 / FC backward (dW, db, dX: each may be NULL) in ONE pool run: task t does its
 * share of the dW GEMM, of db's column sums and of the dX GEMM, with the same partitions (hence the
 * same bits) as gemm_dw + gemm_dx, and two pool handovers less per layer */
typedef struct {
    gemm_job w, x;     /* dW += dY^T.X and dX = dY.W (M = 0: not wanted) */
    colsum_job b;      /* c = 0: not wanted */
} gemm3_job;

static void gemm3_task(void *ctx, int t, int thread) {
    gemm3_job *j = ctx;
    if (j->w.M) gemm_task(&j->w, t, thread);
    if (j->b.c) colsum_task(&j->b, t, thread);
    if (j->x.M) gemm_task(&j->x, t, thread);
}

static void gemm_all(const gr_kernels *k, float *dx, float *dw, float *db, const float *dy, const float *x,
                     const float *w, int rows, int cin, int cout, fs_pool *pool, int dx_add) {
    const int T = fs_pool_size(pool);
    gemm3_job j = {{k, dw ? cout : 0, cin, rows, dy, x, 1, cout, cin, dw, cin, 1, T, 0},
                   {k, dx ? rows : 0, cin, cout, dy, w, cout, 1, cin, dx, cin, dx_add, T, 0},
                   {k, db, dy, (size_t)rows, db ? cout : 0, T}};
    j.w.by_rows = j.w.M >= 4 * T || j.w.N < 32 * T; /* as run_gemm */
    j.x.by_rows = j.x.M >= 4 * T || j.x.N < 32 * T;
    fs_pool_run(pool, T, gemm3_task, &j);
}

/* ------------------------------------------------------------------ depthwise */

typedef struct {
    const gr_kernels *k;
    const gr_conv_shape *s;
    float *out;             /* dx, or accT [kh*kw][C] */
    const float *dy, *x, *wT;
    int T;
} dw_job;

static void dw_data_task(void *ctx, int t, int thread) {
    (void)thread;
    const dw_job *j = ctx;
    int lo, hi;
    split(j->s->n * j->s->h, 1, t, j->T, &lo, &hi);
    if (lo < hi) j->k->dw_data_rows(j->out, j->dy, j->wT, j->s, lo, hi);
}

static void dw_data(const gr_kernels *k, float *dx, const float *dy, const float *w, const gr_conv_shape *s,
                    float *wT, fs_pool *pool) {
    const int kk = s->kh * s->kw, C = s->cin;
    for (int c = 0; c < C; c++) /* w[c][tap] -> wT[tap][c] */
        for (int t = 0; t < kk; t++) wT[(size_t)t * C + c] = w[(size_t)c * kk + t];
    dw_job j = {k, s, dx, dy, NULL, wT, fs_pool_size(pool)};
    fs_pool_run(pool, j.T, dw_data_task, &j);
}

/* the whole depthwise backward in one pass per channel range (every dW call; dx and the clamp from
 * gr_conv2d_backward): channel ranges in units of 16, so dW, dX (per-pixel sums) and db give the same bits for any
 * thread count; db's sums run per row (not colsum's chunks) */
typedef struct {
    const gr_kernels *k;
    const gr_conv_shape *s;
    float *dx, *accT, *dbacc, *dy;
    const float *y, *x, *wT, *zrow;
    float lo, hi, xlo, xhi;
    int T, mx, by_img;
} dwf_job;

static void dw_fused_task(void *ctx, int t, int thread) {
    (void)thread;
    const dwf_job *j = ctx;
    const gr_conv_shape *s = j->s;
    if (!j->by_img) {
        int lo, hi;
        split(s->cin, 16, t, j->T, &lo, &hi);
        if (lo < hi)
            j->k->dw_fused_chans(j->dx, j->accT, j->dbacc, j->dy, j->y, j->lo, j->hi, j->x, j->wT, j->zrow, s, lo, hi,
                                 j->mx, j->xlo, j->xhi);
        return;
    }
    int n0, n1; /* images [n0, n1), all channels, into task t's own dW / db partial */
    split(s->n, 1, t, j->T, &n0, &n1);
    if (n0 >= n1) return;
    gr_conv_shape sub = *s;
    sub.n = n1 - n0;
    const size_t xi = (size_t)n0 * s->h * s->w * s->cin, yi = (size_t)n0 * s->oh * s->ow * s->cout;
    float *accT = j->accT + (size_t)t * (s->kh * s->kw + 1) * s->cin, *dbacc = accT + (size_t)s->kh * s->kw * s->cin;
    j->k->dw_fused_chans(j->dx ? j->dx + xi : NULL, accT, dbacc, j->dy + yi, j->y ? j->y + yi : NULL, j->lo, j->hi,
                         j->x + xi, j->wT, j->zrow, &sub, 0, s->cin, j->mx, j->xlo, j->xhi);
}

/* With T > 1 threads and at least T images, the pass is split by images (whole pixels per thread:
 * no cache line shared between the threads' channel ranges), each task summing its own dW / db
 * partial, added in task order: the bits depend on the thread count (reproducible for a fixed one).
 * Otherwise by channel ranges of 16 (one partial; the same bits for any thread count). */
static void dw_fused(const gr_kernels *k, float *dx, float *dw, float *db, float *dy, const float *y, float lo,
                     float hi, const float *x, const float *w, const gr_conv_shape *s, float *scratch, fs_pool *pool,
                     int mx, float xlo, float xhi) {
    const int kk = s->kh * s->kw, C = s->cin, T = fs_pool_size(pool), by_img = T > 1 && s->n >= T;
    const int parts = by_img ? T : 1;
    const size_t pstride = ((size_t)kk + 1) * C; /* accT [kk][C] + dbacc [C] per partial */
    float *wT = scratch, *zrow = wT + (size_t)kk * C, *accT = zrow + (size_t)s->w * C;
    if (dx)
        for (int c = 0; c < C; c++) /* w[c][tap] -> wT[tap][c] */
            for (int t = 0; t < kk; t++) wT[(size_t)t * C + c] = w[(size_t)c * kk + t];
    memset(zrow, 0, ((size_t)s->w * C + parts * pstride) * sizeof(float)); /* zrow, partials */
    dwf_job j = {k, s, dx, accT, accT + (size_t)kk * C, dy, y, x, wT, zrow, lo, hi, xlo, xhi, T, mx && dx, by_img};
    fs_pool_run(pool, T, dw_fused_task, &j);
    for (int c = 0; c < C; c++)
        for (int t = 0; t < kk; t++) {
            float acc = accT[(size_t)t * C + c];
            for (int p = 1; p < parts; p++) acc += accT[p * pstride + (size_t)t * C + c];
            dw[(size_t)c * kk + t] += acc;
        }
    if (db)
        for (int c = 0; c < C; c++) {
            float acc = accT[(size_t)kk * C + c];
            for (int p = 1; p < parts; p++) acc += accT[p * pstride + (size_t)kk * C + c];
            db[c] += acc;
        }
}

/* ------------------------------------------------------------------ im2col (dense, any geometry) */

/* col[p - p0][(ky*kw + kx)*cin + c] = x at output pixel p's tap (0 in the padding), p in [p0, p1).
 * Pixel coordinates are stepped, not divided; a kernel row inside the image (dilation_w 1) is one
 * contiguous run of kw*cin floats in NHWC. Runs of at most 16 floats (the RGB stem: 9) are copied as
 * 16 fixed floats (one inlined move; the excess is overwritten by the next run, or lands in the
 * GR_I2C_SLACK floats after the chunk) where the source has 16 floats left. */
static void im2col(float *col, const float *x, const gr_conv_shape *s, size_t p0, size_t p1) {
    const int cin = s->cin, kc = s->kh * s->kw * cin, run = s->kw * cin;
    const size_t opix = (size_t)s->oh * s->ow;
    const float *xend = x + (size_t)s->n * s->h * s->w * cin;
    int n = (int)(p0 / opix), oy = (int)(p0 % opix) / s->ow, ox = (int)(p0 % opix) % s->ow;
    for (size_t p = p0; p < p1; p++) {
        float *o = col + (p - p0) * kc;
        const int ix0 = ox * s->sw - s->pl;
        for (int ky = 0; ky < s->kh; ky++) {
            const int iy = oy * s->sh - s->pt + ky * s->dh;
            if (s->dw == 1 && iy >= 0 && iy < s->h && ix0 >= 0 && ix0 + s->kw <= s->w) {
                const float *src = x + (((size_t)n * s->h + iy) * s->w + ix0) * cin;
                if (run <= GR_I2C_SLACK && xend - src >= GR_I2C_SLACK)
                    memcpy(o, src, GR_I2C_SLACK * sizeof(float));
                else
                    for (int c = 0; c < run; c++) o[c] = src[c];
                o += run;
                continue;
            }
            for (int kx = 0; kx < s->kw; kx++, o += cin) {
                const int ix = ix0 + kx * s->dw;
                if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w) {
                    if (cin <= GR_I2C_SLACK) memset(o, 0, GR_I2C_SLACK * sizeof(float));
                    else
                        memset(o, 0, (size_t)cin * sizeof(float));
                } else
                    memcpy(o, x + (((size_t)n * s->h + iy) * s->w + ix) * cin, (size_t)cin * sizeof(float));
            }
        }
        if (++ox == s->ow) {
            ox = 0;
            if (++oy == s->oh) oy = 0, n++;
        }
    }
}

/* dx at output pixel p's taps += dcol[p - p0][...] (padding taps dropped), in pixel order */
static void col2im(float *dx, const float *dcol, const gr_conv_shape *s, size_t p0, size_t p1) {
    const int cin = s->cin, kc = s->kh * s->kw * cin;
    for (size_t p = p0; p < p1; p++) {
        const int n = (int)(p / ((size_t)s->oh * s->ow)), rem = (int)(p % ((size_t)s->oh * s->ow));
        const int oy = rem / s->ow, ox = rem % s->ow;
        const float *d = dcol + (p - p0) * kc;
        for (int ky = 0; ky < s->kh; ky++) {
            const int iy = oy * s->sh - s->pt + ky * s->dh;
            for (int kx = 0; kx < s->kw; kx++, d += cin) {
                const int ix = ox * s->sw - s->pl + kx * s->dw;
                if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w) continue;
                float *o = dx + (((size_t)n * s->h + iy) * s->w + ix) * cin;
                for (int c = 0; c < cin; c++) o[c] += d[c];
            }
        }
    }
}

typedef struct {
    const gr_kernels *k;
    const gr_conv_shape *s;
    float *dx;
    const float *dy, *x, *w;
    float *scratch;
    int T;
    float *dym;             /* weight task: dy to clamp in place against y (y NULL: dy only read) */
    const float *y;
    float lo, hi;
    int want_db;
} i2c_job;

/* dW partial of task t: part[cout][kc] = sum over its pixels dy^T . col (M = cout rows: full
 * microkernels; the kc = kh*kw*cin columns, 27 for an RGB 3x3, fit one masked tile); per chunk of
 * pixels, first the clamp of dy (if y) and after the GEMM db's partial sums, while dy is in cache. */
static void i2c_weight_task(void *ctx, int t, int thread) {
    (void)thread;
    const i2c_job *j = ctx;
    const gr_conv_shape *s = j->s;
    const int kc = s->kh * s->kw * s->cin, ch = chunk_rows(s), co = s->cout;
    float *col = j->scratch + (size_t)t * im2col_task_floats(s), *part = col + (size_t)ch * kc + GR_I2C_SLACK;
    float *dbp = part + (size_t)kc * co;
    const size_t P = (size_t)s->n * s->oh * s->ow;
    const size_t p0 = P * t / j->T, p1 = P * (t + 1) / j->T;
    memset(part, 0, ((size_t)kc * co + co) * sizeof(float));
    for (size_t p = p0; p < p1; p += ch) {
        const size_t pe = p1 - p < (size_t)ch ? p1 : p + ch;
        if (j->y) j->k->clamp(j->dym + p * co, j->y + p * co, j->lo, j->hi, (pe - p) * co);
        im2col(col, j->x, s, p, pe);
        j->k->gemm(co, kc, (int)(pe - p), j->dy + p * co, 1, co, col, kc, part, kc, 1);
        if (j->want_db) j->k->colsum(dbp, j->dy + p * co, pe - p, co, 0, co);
    }
}

/* the im2col dW (+ db, + the clamp of dy if y) over the pool; partials summed in task order */
static void i2c_weight(const gr_kernels *k, float *dw, float *db, float *dy, const float *y, float lo, float hi,
                       const float *x, const gr_conv_shape *s, float *scratch, fs_pool *pool) {
    i2c_job j = {k, s, NULL, dy, x, NULL, scratch, fs_pool_size(pool), dy, y, lo, hi, db != NULL};
    fs_pool_run(pool, j.T, i2c_weight_task, &j);
    const size_t nw = (size_t)s->cout * s->kh * s->kw * s->cin;
    const size_t stride = im2col_task_floats(s), off = (size_t)chunk_rows(s) * s->kh * s->kw * s->cin + GR_I2C_SLACK;
    for (size_t q = 0; q < nw + (db ? (size_t)s->cout : 0); q++) { /* dw[oc][q], then db[oc] */
        float acc = 0.0f;
        for (int t = 0; t < j.T; t++) acc += scratch[t * stride + off + q];
        if (q < nw) dw[q] += acc;
        else db[q - nw] += acc;
    }
}

/* dx of images [n0, n1): zero, then per chunk dcol = dy . w[cout][kc], col2im */
static void i2c_data_task(void *ctx, int t, int thread) {
    (void)thread;
    const i2c_job *j = ctx;
    const gr_conv_shape *s = j->s;
    const int kc = s->kh * s->kw * s->cin, ch = chunk_rows(s);
    float *dcol = j->scratch + (size_t)t * im2col_task_floats(s);
    int n0, n1;
    split(s->n, 1, t, j->T, &n0, &n1);
    if (n0 >= n1) return;
    const size_t img = (size_t)s->h * s->w * s->cin, opix = (size_t)s->oh * s->ow;
    memset(j->dx + n0 * img, 0, (size_t)(n1 - n0) * img * sizeof(float));
    for (size_t p = n0 * opix; p < n1 * opix; p += ch) {
        const size_t pe = n1 * opix - p < (size_t)ch ? n1 * opix : p + ch;
        j->k->gemm((int)(pe - p), kc, s->cout, j->dy + p * s->cout, s->cout, 1, j->w, kc, dcol, kc, 0);
        col2im(j->dx, dcol, s, p, pe);
    }
}

/* ------------------------------------------------------------------ public entry points */

void gr_conv2d_backward_data_k(const gr_kernels *k, float *dx, const float *dy, const float *w,
                               const gr_conv_shape *s, void *scratch, fs_pool *pool) {
    const char *path = gr_conv_path(s);
    if (!k || !strcmp(path, "ref") || (!scratch && strcmp(path, "gemm1x1"))) {
        gr_conv2d_backward_data_ref(dx, dy, w, s);
    } else if (!strcmp(path, "gemm1x1")) {
        gemm_dx(k, dx, dy, w, s->n * s->h * s->w, s->cin, s->cout, pool);
    } else if (!strcmp(path, "depthwise")) {
        dw_data(k, dx, dy, w, s, scratch, pool);
    } else {
        i2c_job j = {k, s, dx, dy, NULL, w, scratch, fs_pool_size(pool), NULL, NULL, 0.0f, 0.0f, 0};
        fs_pool_run(pool, j.T, i2c_data_task, &j);
    }
}

void gr_conv2d_backward_weight_k(const gr_kernels *k, float *dw, float *db, const float *dy, const float *x,
                                 const gr_conv_shape *s, void *scratch, fs_pool *pool) {
    const char *path = gr_conv_path(s);
    if (!k || !strcmp(path, "ref") || (!scratch && strcmp(path, "gemm1x1"))) {
        gr_conv2d_backward_weight_ref(dw, db, dy, x, s);
    } else if (!strcmp(path, "gemm1x1")) {
        gemm_dw(k, dw, db, dy, x, s->n * s->h * s->w, s->cin, s->cout, pool);
    } else if (!strcmp(path, "depthwise")) { /* y NULL: dy is only read */
        dw_fused(k, NULL, dw, db, (float *)dy, NULL, 0.0f, 0.0f, x, NULL, s, scratch, pool, 0, 0.0f, 0.0f);
    } else {
        i2c_weight(k, dw, db, (float *)dy, NULL, 0.0f, 0.0f, x, s, scratch, pool); /* y NULL: dy only read */
    }
}

static int gr_conv2d_backward_plain(const gr_kernels *k, float *dx, float *dw, float *db, float *dy, const float *y,
                                    float lo, float hi, const float *x, const float *w, const gr_conv_shape *s,
                                    void *scratch, fs_pool *pool, float xlo, float xhi, int dx_add);

int gr_conv_masks_in_pass(const gr_conv_shape *s) { return is_depthwise(s) || fuse_1x1(s); }
static void conv_backward(const gr_kernels *k, float *dx, float *dw, float *db, float *dy, const float *y, float lo,
                          float hi, const float *x, const float *w, const gr_conv_shape *s, void *scratch, fs_pool *pool,
                          float xlo, float xhi, int dx_add);

/* ------------------------------------------------------------------ fused 1x1 backward */

#define GR_FUSE_CHUNK 128 /* pixels per pass: dY chunk (128 x cout floats) stays in L2 */

typedef struct {
    const gr_kernels *k;
    const gr_conv_shape *s;
    float *dx, *dy, *scratch;
    const float *y, *x, *w;
    float lo, hi, xlo, xhi;
    int clamp, T, want_db, trans, mx, dx_add;
} fused_job;

/* pixels [P*t/T, P*(t+1)/T) in chunks: clamp dY, dX = dY.W, part_t += dY^T.X, dbpart_t += sums */
static void fused_task(void *ctx, int t, int thread) {
    (void)thread;
    const fused_job *j = ctx;
    const gr_conv_shape *s = j->s;
    const int cin = s->cin, cout = s->cout;
    float *part = j->scratch + (size_t)t * fused_task_floats(s), *dbp = part + (size_t)cout * cin;
    memset(part, 0, fused_task_floats(s) * sizeof(float));
    const size_t P = (size_t)s->n * s->h * s->w, p0 = P * t / j->T, p1 = P * (t + 1) / j->T;
    for (size_t p = p0; p < p1; p += GR_FUSE_CHUNK) {
        const int m = (int)(p1 - p < GR_FUSE_CHUNK ? p1 - p : GR_FUSE_CHUNK);
        float *dyc = j->dy + p * cout;
        if (j->clamp) j->k->clamp(dyc, j->y + p * cout, j->lo, j->hi, (size_t)m * cout);
        j->k->gemm(m, cin, cout, dyc, cout, 1, j->w, cin, j->dx + p * cin, cin, j->dx_add);
        if (j->mx) j->k->clamp(j->dx + p * cin, j->x + p * cin, j->xlo, j->xhi, (size_t)m * cin); /* x: in cache next */
        if (j->trans) /* part[cin][cout] += X^T.dY: the wider dimension in the columns */
            j->k->gemm(cin, cout, m, j->x + p * cin, 1, cin, dyc, cout, part, cout, 1);
        else
            j->k->gemm(cout, cin, m, dyc, 1, cout, j->x + p * cin, cin, part, cin, 1);
        if (j->want_db) j->k->colsum(dbp, dyc, (size_t)m, cout, 0, cout);
    }
}

void gr_conv2d_backward_k(const gr_kernels *k, float *dx, float *dw, float *db, float *dy, const float *y, float lo,
                          float hi, const float *x, const float *w, const gr_conv_shape *s, void *scratch,
                          fs_pool *pool) {
    gr_conv2d_backward_mx_k(k, dx, dw, db, dy, y, lo, hi, x, w, s, scratch, pool, -INFINITY, INFINITY);
}

void gr_conv2d_backward_mx_k(const gr_kernels *k, float *dx, float *dw, float *db, float *dy, const float *y, float lo,
                             float hi, const float *x, const float *w, const gr_conv_shape *s, void *scratch,
                             fs_pool *pool, float xlo, float xhi) {
    conv_backward(k, dx, dw, db, dy, y, lo, hi, x, w, s, scratch, pool, xlo, xhi, 0);
}

int gr_conv_dx_can_add(const gr_conv_shape *s) { return gr_kernels_best() != NULL && is_1x1_gemm(s); }

int gr_conv2d_backward_add_k(const gr_kernels *k, float *dx, float *dw, float *db, float *dy, const float *y, float lo,
                             float hi, const float *x, const float *w, const gr_conv_shape *s, void *scratch,
                             fs_pool *pool) {
    if (!k || !dx || !is_1x1_gemm(s)) return -1;
    conv_backward(k, dx, dw, db, dy, y, lo, hi, x, w, s, scratch, pool, -INFINITY, INFINITY, 1);
    return 0;
}

int gr_conv2d_backward_add(float *dx, float *dw, float *db, float *dy, const float *y, float lo, float hi,
                           const float *x, const float *w, const gr_conv_shape *s, void *scratch, struct fs_pool *pool) {
    return gr_conv2d_backward_add_k(gr_kernels_best(), dx, dw, db, dy, y, lo, hi, x, w, s, scratch, pool);
}

/* the backward with an input mask [xlo, xhi] (none: infinite) and dx overwritten or (dx_add: the
 * 1x1 GEMM paths only) accumulated */
static void conv_backward(const gr_kernels *k, float *dx, float *dw, float *db, float *dy, const float *y, float lo,
                          float hi, const float *x, const float *w, const gr_conv_shape *s, void *scratch, fs_pool *pool,
                          float xlo, float xhi, int dx_add) {
    const int mx = dx && (xlo > -INFINITY || xhi < INFINITY);
    if (k && dw && scratch && is_depthwise(s)) { /* dx NULL: weights only, same pass */
        dw_fused(k, dx, dw, db, dy, y, lo, hi, x, w, s, scratch, pool, mx, xlo, xhi);
        return;
    }
    if (gr_conv2d_backward_plain(k, dx, dw, db, dy, y, lo, hi, x, w, s, scratch, pool, xlo, xhi, dx_add)) return;
    if (mx) { /* separate pass */
        const size_t n = (size_t)s->n * s->h * s->w * s->cin;
        if (k) k->clamp(dx, x, xlo, xhi, n);
        else
            gr_clamp_backward(dx, x, xlo, xhi, n);
    }
}

/* gr_conv2d_backward; returns 1 if it also applied the input mask [xlo, xhi] (the fused 1x1 pass,
 * per chunk in cache), else 0 (the caller masks) */
static int gr_conv2d_backward_plain(const gr_kernels *k, float *dx, float *dw, float *db, float *dy, const float *y,
                                    float lo, float hi, const float *x, const float *w, const gr_conv_shape *s,
                                    void *scratch, fs_pool *pool, float xlo, float xhi, int dx_add) {
    if (k && dx && dw && scratch && fuse_1x1(s)) {
        /* dW's columns are cin; with a cin that is not a multiple of 16 (24: a 32-wide tile 1/4 empty)
         * and a cout that is, compute the transposed partial instead (cout in the columns) */
        fused_job j = {k,    s, dx, dy, scratch, y, x, w, lo, hi, xlo, xhi, y != NULL, fs_pool_size(pool), db != NULL,
                       s->cin % 16 != 0 && s->cout % 16 == 0, dx && (xlo > -INFINITY || xhi < INFINITY), dx_add};
        fs_pool_run(pool, j.T, fused_task, &j);
        const size_t nw = (size_t)s->cout * s->cin, stride = fused_task_floats(s);
        const float *sc = scratch;
        for (size_t q = 0; q < nw + (db ? (size_t)s->cout : 0); q++) { /* partials in task order */
            /* dw[oc][ci] is part[oc][ci], or part[ci][oc] when transposed */
            const size_t src = q < nw && j.trans ? (q % s->cin) * s->cout + q / s->cin : q;
            float acc = 0.0f;
            for (int t = 0; t < j.T; t++) acc += sc[t * stride + src];
            if (q < nw) dw[q] += acc;
            else db[q - nw] += acc;
        }
        return j.mx;
    }
    if (k && dw && scratch && !strcmp(gr_conv_path(s), "im2col")) { /* clamp + dW + db per pixel chunk */
        i2c_weight(k, dw, db, dy, y, lo, hi, x, s, scratch, pool);
        if (dx) gr_conv2d_backward_data_k(k, dx, dy, w, s, scratch, pool);
        return 0;
    }
    if (y) {
        const size_t n = (size_t)s->n * s->oh * s->ow * s->cout;
        if (k) k->clamp(dy, y, lo, hi, n);
        else
            gr_clamp_backward(dy, y, lo, hi, n); /* the reference (k == NULL: FS_GRAD_REF) */
    }
    if (k && !strcmp(gr_conv_path(s), "gemm1x1")) { /* dW, db, dX in one pool run */
        gemm_all(k, dx, dw, dw ? db : NULL, dy, x, w, s->n * s->h * s->w, s->cin, s->cout, pool, dx_add);
        return 0;
    }
    if (dw) gr_conv2d_backward_weight_k(k, dw, db, dy, x, s, scratch, pool);
    if (dx) gr_conv2d_backward_data_k(k, dx, dy, w, s, scratch, pool);
    return 0;
}

void gr_conv2d_backward(float *dx, float *dw, float *db, float *dy, const float *y, float lo, float hi,
                        const float *x, const float *w, const gr_conv_shape *s, void *scratch, struct fs_pool *pool) {
    gr_conv2d_backward_k(gr_kernels_best(), dx, dw, db, dy, y, lo, hi, x, w, s, scratch, pool);
}

void gr_conv2d_backward_mx(float *dx, float *dw, float *db, float *dy, const float *y, float lo, float hi,
                           const float *x, const float *w, const gr_conv_shape *s, void *scratch, struct fs_pool *pool,
                           float xlo, float xhi) {
    gr_conv2d_backward_mx_k(gr_kernels_best(), dx, dw, db, dy, y, lo, hi, x, w, s, scratch, pool, xlo, xhi);
}

void gr_fc_backward_k(const gr_kernels *k, float *dx, float *dw, float *db, const float *dy, const float *x,
                      const float *w, int rows, int cin, int cout, fs_pool *pool) {
    if (!k) {
        gr_fc_backward_ref(dx, dw, db, dy, x, w, rows, cin, cout);
        return;
    }
    gemm_all(k, dx, dw, db, dy, x, w, rows, cin, cout, pool, 0);
}

void gr_conv2d_backward_data(float *dx, const float *dy, const float *w, const gr_conv_shape *s, void *scratch,
                             struct fs_pool *pool) {
    gr_conv2d_backward_data_k(gr_kernels_best(), dx, dy, w, s, scratch, pool);
}

void gr_conv2d_backward_weight(float *dw, float *db, const float *dy, const float *x, const gr_conv_shape *s,
                               void *scratch, struct fs_pool *pool) {
    gr_conv2d_backward_weight_k(gr_kernels_best(), dw, db, dy, x, s, scratch, pool);
}

void gr_fc_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int rows,
                    int cin, int cout, struct fs_pool *pool) {
    gr_fc_backward_k(gr_kernels_best(), dx, dw, db, dy, x, w, rows, cin, cout, pool);
}
