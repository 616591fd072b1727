/* tests/train/test_grad_fast.c — every train/grad fast path (avx512, avx2, generic: those this CPU
 * runs) against the reference, on random data over odd shapes and faceres's real layer shapes at
 * batch 1-2, with 1, 2 and 3 threads; determinism (same inputs + thread count -> same bits; the
 * gemm1x1 path, and the depthwise path on one image, give the same bits for any thread count).
 * Tolerance: max |fast - ref| <= 1e-4 * max(1, max |ref|) (float accumulation vs the double
 * reference; observed errors are printed on failure). dx is prefilled with NaN (must be overwritten),
 * dw/db with random values (must be accumulated into). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "core/threadpool.h"
#include "train/grad/grad.h"
#include "train/grad/grad_internal.h"

static uint64_t rs = 0x9e3779b97f4a7c15ull;
static float frand(void) {
    rs = rs * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rs >> 40) * (1.0 / 8388608.0) - 1.0);
}
static float *rnd(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}
static float *dup(const float *a, size_t n) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    memcpy(p, a, n * sizeof *p);
    return p;
}
static float *nans(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = NAN;
    return p;
}
/* max |a - b| / max(1, max |b|); NaN anywhere -> infinity */
static double relerr(const float *a, const float *b, size_t n) {
    double e = 0, m = 1;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i])) return INFINITY;
        e = fabs((double)a[i] - b[i]) > e ? fabs((double)a[i] - b[i]) : e;
        m = fabs(b[i]) > m ? fabs(b[i]) : m;
    }
    return e / m;
}

static gr_conv_shape shape(int n, int h, int w, int cin, int cout, int k, int st, int dil, int pt, int pb, int pl,
                           int pr, int groups) {
    gr_conv_shape s = {n, h, w, cin, 0, 0, cout, k, k, st, st, dil, dil, pt, pl, groups};
    s.oh = (h + pt + pb - dil * (k - 1) - 1) / st + 1;
    s.ow = (w + pl + pr - dil * (k - 1) - 1) / st + 1;
    return s;
}
static size_t xsz(const gr_conv_shape *s) { return (size_t)s->n * s->h * s->w * s->cin; }
static size_t ysz(const gr_conv_shape *s) { return (size_t)s->n * s->oh * s->ow * s->cout; }
static size_t wsz(const gr_conv_shape *s) { return (size_t)s->cout * s->kh * s->kw * (s->cin / s->groups); }

static const char *const isas[] = {"avx512", "avx2", "generic"};

/* every available ISA x threads {1, 2, 3} vs the reference; determinism; returns failures */
static int check_shape(const gr_conv_shape *s, fs_pool **pools) {
    int bad = 0;
    float *x = rnd(xsz(s)), *w = rnd(wsz(s)), *dy = rnd(ysz(s)), *dw0 = rnd(wsz(s)), *db0 = rnd(s->cout);
    float *dxr = nans(xsz(s)), *dwr = dup(dw0, wsz(s)), *dbr = dup(db0, s->cout);
    gr_conv2d_backward_data_ref(dxr, dy, w, s);
    gr_conv2d_backward_weight_ref(dwr, dbr, dy, x, s);
    /* gemm1x1: same bits for any thread count; depthwise too when split by channels (one image: with
     * more, 2-3 threads split the images, each summing its own dW partial) */
    const int thread_independent = !strcmp(gr_conv_path(s), "gemm1x1") || (!strcmp(gr_conv_path(s), "depthwise") && s->n == 1);
    void *scratch = malloc(gr_conv_scratch_size(s, 3) + 1);
    float *first_dx = NULL, *first_dw = NULL;
    for (size_t i = 0; i < sizeof isas / sizeof *isas; i++) {
        const gr_kernels *k = gr_kernels_by_name(isas[i]);
        if (!k) continue;
        for (int t = 0; t < 3; t++) {
            float *dx = nans(xsz(s)), *dw = dup(dw0, wsz(s)), *db = dup(db0, s->cout);
            float *dx2 = nans(xsz(s)), *dw2 = dup(dw0, wsz(s)), *db2 = dup(db0, s->cout);
            gr_conv2d_backward_data_k(k, dx, dy, w, s, scratch, pools[t]);
            gr_conv2d_backward_weight_k(k, dw, db, dy, x, s, scratch, pools[t]);
            gr_conv2d_backward_data_k(k, dx2, dy, w, s, scratch, pools[t]);
            gr_conv2d_backward_weight_k(k, dw2, db2, dy, x, s, scratch, pools[t]);
            const double ex = relerr(dx, dxr, xsz(s)), ew = relerr(dw, dwr, wsz(s)), eb = relerr(db, dbr, s->cout);
            const int same = !memcmp(dx, dx2, xsz(s) * 4) && !memcmp(dw, dw2, wsz(s) * 4) && !memcmp(db, db2, s->cout * 4);
            int same_t = 1;
            if (t == 0) {
                free(first_dx), free(first_dw);
                first_dx = dup(dx, xsz(s)), first_dw = dup(dw, wsz(s));
            } else if (thread_independent) {
                same_t = !memcmp(dx, first_dx, xsz(s) * 4) && !memcmp(dw, first_dw, wsz(s) * 4);
            }
            if (!(ex <= 1e-4 && ew <= 1e-4 && eb <= 1e-4 && same && same_t)) {
                fprintf(stderr,
                        "%s %s threads %d: n%d %dx%dx%d->%d k%dx%d s%d g%d: err dx %.3g dw %.3g db %.3g "
                        "repeat-identical %d thread-independent %d\n",
                        isas[i], gr_conv_path(s), t + 1, s->n, s->h, s->w, s->cin, s->cout, s->kh, s->kw, s->sh,
                        s->groups, ex, ew, eb, same, same_t);
                bad++;
            }
            free(dx), free(dw), free(db), free(dx2), free(dw2), free(db2);
        }
    }
    free(first_dx), free(first_dw), free(scratch);
    free(x), free(w), free(dy), free(dw0), free(db0), free(dxr), free(dwr), free(dbr);
    return bad;
}

static int check_list(const gr_conv_shape *ss, int n) {
    fs_pool *pools[3] = {NULL, fs_pool_create(2), fs_pool_create(3)};
    int bad = 0;
    for (int i = 0; i < n; i++) bad += check_shape(&ss[i], pools);
    fs_pool_free(pools[1]), fs_pool_free(pools[2]);
    return bad;
}

TEST(fast_gemm1x1) {
    const gr_conv_shape ss[] = {
        shape(2, 5, 7, 24, 40, 1, 1, 1, 0, 0, 0, 0, 1),   /* column / row tails */
        shape(1, 3, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1),     /* tiny */
        shape(1, 8, 8, 16, 96, 1, 1, 1, 0, 0, 0, 0, 1),   /* one-vector column tiles (16 channels) */
        shape(1, 1, 1, 1030, 37, 1, 1, 1, 0, 0, 0, 0, 1), /* K tail over GR_KC */
        shape(1, 56, 56, 64, 128, 1, 1, 1, 0, 0, 0, 0, 1),  /* faceres pw2 */
        shape(1, 14, 14, 512, 512, 1, 1, 1, 0, 0, 0, 0, 1), /* faceres pw7..11 */
        shape(1, 7, 7, 1024, 1024, 1, 1, 1, 0, 0, 0, 0, 1), /* faceres pw13 */
    };
    CHECK(!strcmp(gr_conv_path(&ss[0]), "gemm1x1"));
    CHECK(check_list(ss, sizeof ss / sizeof *ss) == 0);
}

TEST(fast_depthwise) {
    const gr_conv_shape ss[] = {
        shape(2, 6, 5, 5, 5, 3, 1, 1, 1, 1, 1, 1, 5),          /* C below one vector */
        shape(2, 9, 8, 24, 24, 3, 2, 1, 0, 1, 0, 1, 24),       /* TF SAME s2, C tail */
        shape(1, 8, 8, 40, 40, 3, 2, 1, 1, 0, 1, 0, 40),       /* pad 1 s2 on even size */
        shape(1, 9, 9, 17, 17, 3, 1, 2, 2, 2, 2, 2, 17),       /* dilation 2 */
        shape(2, 6, 7, 20, 20, 3, 1, 1, 0, 0, 0, 0, 20),       /* VALID 3x3 s1 */
        shape(1, 7, 6, 36, 36, 3, 1, 1, 0, 2, 2, 0, 36),       /* asymmetric padding s1 */
        shape(1, 2, 2, 16, 16, 3, 1, 1, 1, 1, 1, 1, 16),       /* map smaller than the kernel */
        shape(1, 9, 7, 16, 16, 5, 2, 1, 2, 2, 2, 2, 16),       /* 5x5 s2 */
        shape(1, 112, 112, 32, 32, 3, 1, 1, 1, 1, 1, 1, 32),   /* faceres dw1 */
        shape(1, 112, 112, 64, 64, 3, 2, 1, 0, 1, 0, 1, 64),   /* faceres dw2 (stride 2) */
        shape(2, 14, 14, 512, 512, 3, 1, 1, 1, 1, 1, 1, 512),  /* faceres dw7..11 */
    };
    CHECK(!strcmp(gr_conv_path(&ss[0]), "depthwise"));
    CHECK(check_list(ss, sizeof ss / sizeof *ss) == 0);
}

TEST(fast_im2col_and_ref_paths) {
    const gr_conv_shape ss[] = {
        shape(2, 32, 32, 3, 32, 3, 2, 1, 0, 1, 0, 1, 1),  /* faceres conv1 at 32x32, TF SAME s2 */
        shape(3, 7, 7, 24, 40, 1, 2, 1, 0, 0, 0, 0, 1),   /* strided 1x1 */
        shape(1, 6, 5, 8, 12, 3, 1, 1, 1, 1, 1, 1, 1),    /* padded 3x3 s1 */
        shape(1, 5, 6, 3, 8, 3, 1, 2, 2, 2, 2, 2, 1),     /* dilated */
        shape(1, 5, 5, 4, 6, 3, 1, 1, 1, 1, 1, 1, 2),     /* grouped: reference */
        shape(1, 5, 5, 3, 6, 3, 1, 1, 1, 1, 1, 1, 3),     /* depth multiplier 2: reference */
    };
    CHECK(!strcmp(gr_conv_path(&ss[0]), "im2col"));
    CHECK(!strcmp(gr_conv_path(&ss[4]), "ref"));
    CHECK(check_list(ss, sizeof ss / sizeof *ss) == 0);
}

TEST(fast_fc) {
    const int dims[][3] = {{8, 1024, 5}, {3, 37, 1}, {33, 70, 66}, {1, 1280, 2}};
    fs_pool *pool = fs_pool_create(2);
    for (size_t d = 0; d < sizeof dims / sizeof *dims; d++) {
        const int R = dims[d][0], CI = dims[d][1], CO = dims[d][2];
        float *x = rnd((size_t)R * CI), *w = rnd((size_t)CO * CI), *dy = rnd((size_t)R * CO), *dw0 = rnd((size_t)CO * CI),
              *db0 = rnd(CO);
        float *dxr = nans((size_t)R * CI), *dwr = dup(dw0, (size_t)CO * CI), *dbr = dup(db0, CO);
        gr_fc_backward_ref(dxr, dwr, dbr, dy, x, w, R, CI, CO);
        for (size_t i = 0; i < sizeof isas / sizeof *isas; i++) {
            const gr_kernels *k = gr_kernels_by_name(isas[i]);
            if (!k) continue;
            float *dx = nans((size_t)R * CI), *dw = dup(dw0, (size_t)CO * CI), *db = dup(db0, CO);
            gr_fc_backward_k(k, dx, dw, db, dy, x, w, R, CI, CO, pool);
            CHECK_MSG(relerr(dx, dxr, (size_t)R * CI) <= 1e-4, "%s fc dx %d %d %d", isas[i], R, CI, CO);
            CHECK_MSG(relerr(dw, dwr, (size_t)CO * CI) <= 1e-4, "%s fc dw %d %d %d", isas[i], R, CI, CO);
            CHECK_MSG(relerr(db, dbr, CO) <= 1e-4, "%s fc db", isas[i]);
            /* dx NULL, db NULL: dw only */
            float *dw2 = dup(dw0, (size_t)CO * CI);
            gr_fc_backward_k(k, NULL, dw2, NULL, dy, x, w, R, CI, CO, NULL);
            CHECK(!memcmp(dw2, dw, (size_t)CO * CI * 4));
            /* dw NULL (frozen): dx only, same bits as with dw */
            float *dx3 = nans((size_t)R * CI);
            gr_fc_backward_k(k, dx3, NULL, NULL, dy, x, w, R, CI, CO, pool);
            CHECK(!memcmp(dx3, dx, (size_t)R * CI * 4));
            free(dx), free(dw), free(db), free(dw2), free(dx3);
        }
        free(x), free(w), free(dy), free(dw0), free(db0), free(dxr), free(dwr), free(dbr);
    }
    fs_pool_free(pool);
}

/* The public entry points use the best table (or the reference under FS_GRAD_REF=1). */
TEST(fast_public_dispatch) {
    const gr_kernels *k = gr_kernels_best();
    const char *e = getenv("FS_GRAD_REF");
    CHECK((k == NULL) == (e && *e && strcmp(e, "0")));
    CHECK(gr_kernels_by_name("generic") != NULL);
    gr_conv_shape s = shape(2, 6, 6, 16, 16, 3, 2, 1, 0, 1, 0, 1, 16);
    float *x = rnd(xsz(&s)), *w = rnd(wsz(&s)), *dy = rnd(ysz(&s));
    float *dx = nans(xsz(&s)), *dxr = nans(xsz(&s)), *dw = calloc(wsz(&s), 4), *dwr = calloc(wsz(&s), 4);
    void *scratch = malloc(gr_conv_scratch_size(&s, 1));
    gr_conv2d_backward_data(dx, dy, w, &s, scratch, NULL);
    gr_conv2d_backward_weight(dw, NULL, dy, x, &s, scratch, NULL);
    gr_conv2d_backward_data_ref(dxr, dy, w, &s);
    gr_conv2d_backward_weight_ref(dwr, NULL, dy, x, &s);
    CHECK(relerr(dx, dxr, xsz(&s)) <= 1e-4);
    CHECK(relerr(dw, dwr, wsz(&s)) <= 1e-4);
    free(x), free(w), free(dy), free(dx), free(dxr), free(dw), free(dwr), free(scratch);
}

/* gr_conv2d_backward (clamp + dW + dX in one call, fused pass for the narrow 1x1 convs) against the
 * references, every ISA, 1-3 threads; repeat-identical; NULL dx / dw / y handled. */
TEST(fast_fused_conv_backward) {
    const gr_conv_shape ss[] = {
        shape(2, 9, 7, 24, 40, 1, 1, 1, 0, 0, 0, 0, 1),     /* fused, chunk and column tails */
        shape(1, 24, 24, 32, 64, 1, 1, 1, 0, 0, 0, 0, 1),   /* fused, several chunks */
        shape(2, 10, 10, 24, 144, 1, 1, 1, 0, 0, 0, 0, 1),  /* fused, transposed dW partial */
        shape(1, 12, 12, 16, 96, 1, 1, 1, 0, 0, 0, 0, 1),   /* fused, one-vector column tiles */
        shape(1, 7, 7, 200, 100, 1, 1, 1, 0, 0, 0, 0, 1),   /* wide: separate calls */
        shape(2, 9, 8, 24, 24, 3, 2, 1, 0, 1, 0, 1, 24),    /* depthwise (fused pass), C tail */
        shape(1, 9, 9, 3, 8, 3, 2, 1, 0, 1, 0, 1, 1),       /* im2col */
        shape(2, 6, 5, 5, 5, 3, 1, 1, 1, 1, 1, 1, 5),       /* depthwise, C below one vector */
        shape(1, 9, 9, 17, 17, 3, 1, 2, 2, 2, 2, 2, 17),    /* depthwise, dilation 2 */
        shape(1, 7, 6, 36, 36, 3, 1, 1, 0, 2, 2, 0, 36),    /* depthwise, asymmetric padding */
        shape(1, 9, 7, 16, 16, 5, 2, 1, 2, 2, 2, 2, 16),    /* depthwise 5x5 s2 */
        shape(2, 6, 7, 20, 20, 3, 1, 1, 0, 0, 0, 0, 20),    /* depthwise VALID: unreached dx rows */
        shape(1, 56, 56, 32, 32, 3, 1, 1, 1, 1, 1, 1, 32),  /* mnv2 dw1 (at 56x56) */
        shape(1, 56, 56, 96, 96, 3, 2, 1, 0, 1, 0, 1, 96),  /* mnv2 dw2 (stride 2, TF SAME) */
        shape(1, 28, 28, 144, 144, 3, 1, 1, 1, 1, 1, 1, 144), /* mnv2 dw3 (9 vectors: uneven split) */
        shape(2, 7, 7, 960, 960, 3, 1, 1, 1, 1, 1, 1, 960), /* mnv2 dw16 */
    };
    fs_pool *pools[3] = {NULL, fs_pool_create(2), fs_pool_create(3)};
    for (size_t i = 0; i < sizeof ss / sizeof *ss; i++) {
        const gr_conv_shape *s = &ss[i];
        float *x = rnd(xsz(s)), *w = rnd(wsz(s)), *dy0 = rnd(ysz(s)), *y = rnd(ysz(s)), *dw0 = rnd(wsz(s)),
              *db0 = rnd(s->cout);
        for (size_t q = 0; q < ysz(s); q++) y[q] = q % 7 == 0 ? 0.0f : q % 11 == 0 ? 6.0f : 3 * y[q] + 3; /* [0, 6] */
        float *dyr = dup(dy0, ysz(s)), *dxr = nans(xsz(s)), *dwr = dup(dw0, wsz(s)), *dbr = dup(db0, s->cout);
        for (size_t q = 0; q < ysz(s); q++) dyr[q] = (0 < y[q] && y[q] < 6) ? dyr[q] : 0.0f;
        gr_conv2d_backward_data_ref(dxr, dyr, w, s);
        gr_conv2d_backward_weight_ref(dwr, dbr, dyr, x, s);
        void *scratch = malloc(gr_conv_scratch_size(s, 3) + 1);
        const int dwise = !strcmp(gr_conv_path(s), "depthwise");
        for (size_t a = 0; a < sizeof isas / sizeof *isas; a++) {
            const gr_kernels *k = gr_kernels_by_name(isas[a]);
            if (!k) continue;
            float *dx1 = NULL, *dw1 = NULL, *db1 = NULL; /* 1 thread's results (depthwise, 1 image: same bits) */
            for (int t = 0; t < 3; t++) {
                float *dy = dup(dy0, ysz(s)), *dx = nans(xsz(s)), *dw = dup(dw0, wsz(s)), *db = dup(db0, s->cout);
                float *dy2 = dup(dy0, ysz(s)), *dx2 = nans(xsz(s)), *dw2 = dup(dw0, wsz(s)), *db2 = dup(db0, s->cout);
                gr_conv2d_backward_k(k, dx, dw, db, dy, y, 0.0f, 6.0f, x, w, s, scratch, pools[t]);
                gr_conv2d_backward_k(k, dx2, dw2, db2, dy2, y, 0.0f, 6.0f, x, w, s, scratch, pools[t]);
                CHECK_MSG(!memcmp(dy, dyr, ysz(s) * 4), "%s shape %zu: dy not clamped like the reference", isas[a], i);
                CHECK_MSG(relerr(dx, dxr, xsz(s)) <= 1e-4 && relerr(dw, dwr, wsz(s)) <= 1e-4 &&
                              relerr(db, dbr, s->cout) <= 1e-4,
                          "%s shape %zu threads %d: dx %.3g dw %.3g db %.3g", isas[a], i, t + 1,
                          relerr(dx, dxr, xsz(s)), relerr(dw, dwr, wsz(s)), relerr(db, dbr, s->cout));
                CHECK(!memcmp(dx, dx2, xsz(s) * 4) && !memcmp(dw, dw2, wsz(s) * 4) && !memcmp(db, db2, s->cout * 4));
                if (t == 0) dx1 = dup(dx, xsz(s)), dw1 = dup(dw, wsz(s)), db1 = dup(db, s->cout);
                else if (dwise && s->n == 1)
                    CHECK_MSG(!memcmp(dx, dx1, xsz(s) * 4) && !memcmp(dw, dw1, wsz(s) * 4) && !memcmp(db, db1, s->cout * 4),
                              "%s shape %zu: depthwise bits differ between 1 and %d threads", isas[a], i, t + 1);
                else if (dwise) /* split by images: dx (per-pixel sums) still the same bits */
                    CHECK_MSG(!memcmp(dx, dx1, xsz(s) * 4), "%s shape %zu: depthwise dx bits differ between 1 and %d threads",
                              isas[a], i, t + 1);
                /* y NULL: no clamp (dy already clamped); dw NULL: dx only; dx NULL: dw only */
                float *dx3 = nans(xsz(s)), *dw3 = dup(dw0, wsz(s));
                gr_conv2d_backward_k(k, dx3, NULL, NULL, dyr, NULL, 0, 0, x, w, s, scratch, pools[t]);
                gr_conv2d_backward_k(k, NULL, dw3, NULL, dyr, NULL, 0, 0, x, w, s, scratch, pools[t]);
                CHECK(relerr(dx3, dxr, xsz(s)) <= 1e-4 && relerr(dw3, dwr, wsz(s)) <= 1e-4);
                free(dy), free(dx), free(dw), free(db), free(dy2), free(dx2), free(dw2), free(db2), free(dx3), free(dw3);
            }
            free(dx1), free(dw1), free(db1);
        }
        free(scratch), free(x), free(w), free(dy0), free(y), free(dw0), free(db0), free(dyr), free(dxr), free(dwr),
            free(dbr);
    }
    fs_pool_free(pools[1]), fs_pool_free(pools[2]);
}

/* gr_conv2d_backward_mx: dx masked by the input's clamp [0, 6] (the producer's clamp moved here),
 * depthwise (masked per row in the fused pass) and other paths (separate pass), every ISA and the
 * reference (k NULL), 1-3 threads, against the reference dx then masked; dW/db unaffected. */
TEST(fast_conv_backward_input_mask) {
    const gr_conv_shape ss[] = {
        shape(2, 9, 8, 24, 24, 3, 2, 1, 0, 1, 0, 1, 24),    /* depthwise s2, C tail */
        shape(1, 12, 12, 40, 40, 3, 1, 1, 1, 1, 1, 1, 40),  /* depthwise s1, 3 vectors */
        shape(2, 6, 5, 5, 5, 3, 1, 1, 1, 1, 1, 1, 5),       /* depthwise, C below one vector */
        shape(1, 9, 7, 24, 40, 1, 1, 1, 0, 0, 0, 0, 1),     /* fused 1x1 */
        shape(1, 9, 9, 8, 16, 3, 2, 1, 0, 1, 0, 1, 1),      /* im2col */
    };
    fs_pool *pools[3] = {NULL, fs_pool_create(2), fs_pool_create(3)};
    for (size_t i = 0; i < sizeof ss / sizeof *ss; i++) {
        const gr_conv_shape *s = &ss[i];
        float *x = rnd(xsz(s)), *w = rnd(wsz(s)), *dy0 = rnd(ysz(s)), *y = rnd(ysz(s)), *dw0 = rnd(wsz(s)),
              *db0 = rnd(s->cout);
        for (size_t q = 0; q < xsz(s); q++) x[q] = q % 5 == 0 ? 0.0f : q % 13 == 0 ? 6.0f : 3 * x[q] + 3; /* [0, 6] */
        for (size_t q = 0; q < ysz(s); q++) y[q] = q % 7 == 0 ? 0.0f : 3 * y[q] + 3;
        float *dyr = dup(dy0, ysz(s)), *dxr = nans(xsz(s)), *dwr = dup(dw0, wsz(s)), *dbr = dup(db0, s->cout);
        gr_clamp_backward(dyr, y, 0.0f, 6.0f, ysz(s));
        gr_conv2d_backward_data_ref(dxr, dyr, w, s);
        gr_conv2d_backward_weight_ref(dwr, dbr, dyr, x, s);
        size_t masked = 0;
        for (size_t q = 0; q < xsz(s); q++) masked += !(0 < x[q] && x[q] < 6);
        gr_clamp_backward(dxr, x, 0.0f, 6.0f, xsz(s));
        CHECK(masked > xsz(s) / 10);
        void *scratch = malloc(gr_conv_scratch_size(s, 3) + 1);
        for (size_t a = 0; a <= sizeof isas / sizeof *isas; a++) {
            const gr_kernels *k = a < sizeof isas / sizeof *isas ? gr_kernels_by_name(isas[a]) : NULL;
            if (!k && a < sizeof isas / sizeof *isas) continue;
            for (int t = 0; t < 3; t++) {
                float *dy = dup(dy0, ysz(s)), *dx = nans(xsz(s)), *dw = dup(dw0, wsz(s)), *db = dup(db0, s->cout);
                gr_conv2d_backward_mx_k(k, dx, dw, db, dy, y, 0.0f, 6.0f, x, w, s, scratch, pools[t], 0.0f, 6.0f);
                size_t zeros_ok = 1;
                for (size_t q = 0; q < xsz(s); q++)
                    if (!(0 < x[q] && x[q] < 6) && dx[q] != 0.0f) zeros_ok = 0;
                CHECK_MSG(zeros_ok && relerr(dx, dxr, xsz(s)) <= 1e-4 && relerr(dw, dwr, wsz(s)) <= 1e-4 &&
                              relerr(db, dbr, s->cout) <= 1e-4 && !memcmp(dy, dyr, ysz(s) * 4),
                          "%s shape %zu threads %d: masked zeros %d dx %.3g dw %.3g db %.3g",
                          k ? k->name : "reference", i, t + 1, (int)zeros_ok, relerr(dx, dxr, xsz(s)),
                          relerr(dw, dwr, wsz(s)), relerr(db, dbr, s->cout));
                free(dy), free(dx), free(dw), free(db);
            }
        }
        free(scratch), free(x), free(w), free(dy0), free(y), free(dw0), free(db0), free(dyr), free(dxr), free(dwr),
            free(dbr);
    }
    fs_pool_free(pools[1]), fs_pool_free(pools[2]);
}

/* gr_conv2d_backward_add: dx accumulated (dx += the data gradient) on the 1x1 GEMM paths (fused
 * narrow pass and the one-run wide path), every ISA, 1-3 threads; dW/db as usual; -1 and nothing
 * touched for other geometries or without fast kernels. */
TEST(fast_conv_backward_dx_add) {
    const gr_conv_shape ss[] = {
        shape(2, 9, 7, 24, 40, 1, 1, 1, 0, 0, 0, 0, 1),    /* fused pass */
        shape(1, 12, 12, 16, 96, 1, 1, 1, 0, 0, 0, 0, 1),  /* fused, one-vector columns */
        shape(1, 7, 7, 200, 100, 1, 1, 1, 0, 0, 0, 0, 1),  /* wide: one pool run, K over GR_KC */
        shape(1, 5, 5, 300, 24, 1, 1, 1, 0, 0, 0, 0, 1),   /* K = cout 24, cin 300 */
    };
    fs_pool *pools[3] = {NULL, fs_pool_create(2), fs_pool_create(3)};
    for (size_t i = 0; i < sizeof ss / sizeof *ss; i++) {
        const gr_conv_shape *s = &ss[i];
        CHECK(gr_conv_dx_can_add(s) == (gr_kernels_best() != NULL));
        float *x = rnd(xsz(s)), *w = rnd(wsz(s)), *dy0 = rnd(ysz(s)), *y = rnd(ysz(s)), *dw0 = rnd(wsz(s)),
              *db0 = rnd(s->cout), *dx0 = rnd(xsz(s));
        for (size_t q = 0; q < ysz(s); q++) y[q] = q % 7 == 0 ? 0.0f : 3 * y[q] + 3;
        float *dyr = dup(dy0, ysz(s)), *dxr = nans(xsz(s)), *dwr = dup(dw0, wsz(s)), *dbr = dup(db0, s->cout);
        gr_clamp_backward(dyr, y, 0.0f, 6.0f, ysz(s));
        gr_conv2d_backward_data_ref(dxr, dyr, w, s);
        gr_conv2d_backward_weight_ref(dwr, dbr, dyr, x, s);
        for (size_t q = 0; q < xsz(s); q++) dxr[q] += dx0[q];
        void *scratch = malloc(gr_conv_scratch_size(s, 3) + 1);
        for (size_t a = 0; a < sizeof isas / sizeof *isas; a++) {
            const gr_kernels *k = gr_kernels_by_name(isas[a]);
            if (!k) continue;
            for (int t = 0; t < 3; t++) {
                float *dy = dup(dy0, ysz(s)), *dx = dup(dx0, xsz(s)), *dw = dup(dw0, wsz(s)), *db = dup(db0, s->cout);
                CHECK(gr_conv2d_backward_add_k(k, dx, dw, db, dy, y, 0.0f, 6.0f, x, w, s, scratch, pools[t]) == 0);
                CHECK_MSG(relerr(dx, dxr, xsz(s)) <= 1e-4 && relerr(dw, dwr, wsz(s)) <= 1e-4 &&
                              relerr(db, dbr, s->cout) <= 1e-4 && !memcmp(dy, dyr, ysz(s) * 4),
                          "%s shape %zu threads %d: dx %.3g dw %.3g db %.3g", isas[a], i, t + 1,
                          relerr(dx, dxr, xsz(s)), relerr(dw, dwr, wsz(s)), relerr(db, dbr, s->cout));
                free(dy), free(dx), free(dw), free(db);
            }
        }
        free(scratch), free(x), free(w), free(dy0), free(y), free(dw0), free(db0), free(dx0), free(dyr), free(dxr),
            free(dwr), free(dbr);
    }
    /* not a 1x1 GEMM geometry, or the references: refused, dx untouched */
    const gr_conv_shape d = shape(1, 6, 6, 16, 16, 3, 1, 1, 1, 1, 1, 1, 16);
    float *x = rnd(xsz(&d)), *w = rnd(wsz(&d)), *dy = rnd(ysz(&d)), *dx = rnd(xsz(&d)), *dx1 = dup(dx, xsz(&d));
    void *scratch = malloc(gr_conv_scratch_size(&d, 1));
    CHECK(!gr_conv_dx_can_add(&d));
    CHECK(gr_conv2d_backward_add_k(gr_kernels_by_name("generic"), dx, NULL, NULL, dy, NULL, 0, 0, x, w, &d, scratch,
                                   NULL) == -1);
    CHECK(gr_conv2d_backward_add_k(NULL, dx, NULL, NULL, dy, NULL, 0, 0, x, w, &ss[0], scratch, NULL) == -1);
    CHECK(!memcmp(dx, dx1, xsz(&d) * 4));
    free(x), free(w), free(dy), free(dx), free(dx1), free(scratch);
    fs_pool_free(pools[1]), fs_pool_free(pools[2]);
}
