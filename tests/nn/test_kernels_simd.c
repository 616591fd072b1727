/* tests/nn/test_kernels_simd.c — every SIMD fast path (AVX2, AVX-512 on x86; NEON on aarch64)
 * against the portable reference on random shapes: odd sizes, channel counts not multiples of the
 * vector width, strides, padding, dilation, batch > 1, fused clamps. Each ISA level the CPU has is
 * tested through its selector directly (whatever FS_CPU says); levels the CPU lacks are skipped.
 * Tolerance: 1e-5 x (sum of |terms| + |bias|), computed with the reference on |x|, |w|, |b|. Also
 * checks that 2-thread results are bitwise identical to 1-thread ones. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "core/cpu.h"
#include "core/threadpool.h"
#include "nn/kernels/kernels.h"
#include "nn/kernels/kernels_internal.h"

typedef int (*conv_sel_fn)(const nn_conv_params *, const float *, const float *, nn_conv_impl *);
typedef int (*fc_sel_fn)(const nn_fc_params *, const float *, const float *, nn_fc_impl *);

static unsigned ks_seed = 777u;
static float ks_rand(void) {
    ks_seed = ks_seed * 1664525u + 1013904223u;
    return (float)((ks_seed >> 8) & 0xffffff) / 8388608.0f - 1.0f;
}
static int ks_int(int lo, int hi) { return lo + (int)((ks_rand() + 1.0f) * 0.5f * (float)(hi - lo + 1)) % (hi - lo + 1); }
static float *ks_buf(size_t n) {
    float *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = ks_rand();
    return v;
}
static float *ks_abs(const float *v, size_t n) {
    float *a = malloc((n ? n : 1) * sizeof *a);
    for (size_t i = 0; i < n; i++) a[i] = fabsf(v[i]);
    return a;
}

static int ks_nan_in; /* conv_case: plant NaN inputs (a NaN must come out as NaN, as in the reference) */

/* Runs one conv through sel (1 and 2 threads) and compares with the reference. 0 = fail. */
static int conv_case(const char *isa, conv_sel_fn sel, nn_conv_params p, const char *want_prefix) {
    size_t nin = (size_t)p.n * p.ih * p.iw * p.ic, nout = (size_t)p.n * p.oh * p.ow * p.oc;
    size_t nw = (size_t)p.oc * p.kh * p.kw * (p.ic / p.groups);
    float *in = ks_buf(nin), *w = ks_buf(nw), *b = ks_buf((size_t)p.oc);
    if (ks_nan_in)
        for (size_t i = 0; i < nin; i += 97) in[i] = NAN;
    float *ain = ks_abs(in, nin), *aw = ks_abs(w, nw), *ab = ks_abs(b, (size_t)p.oc);
    float *ref = malloc(nout * 4), *mag = malloc(nout * 4), *o1 = malloc(nout * 4), *o2 = malloc(nout * 4);
    nn_conv_params pm = p;
    pm.act_min = -INFINITY, pm.act_max = INFINITY;
    nn_conv2d_ref(&p, in, w, b, ref);
    nn_conv2d_ref(&pm, ain, aw, ab, mag);
    nn_conv_impl k;
    memset(&k, 0, sizeof k);
    int ok = 1, r = sel(&p, w, b, &k);
    if (r != 0) {
        fs_test_fail(__FILE__, __LINE__, "%s selector declined k%dx%d g%d ic%d oc%d (r=%d)", isa, p.kh,
                     p.kw, p.groups, p.ic, p.oc, r);
        ok = 0;
    } else if (want_prefix && strncmp(k.name, want_prefix, strlen(want_prefix))) {
        fs_test_fail(__FILE__, __LINE__, "%s: got kernel %s, want %s*", isa, k.name, want_prefix);
        ok = 0;
    }
    if (ok) {
        fs_pool *pool = fs_pool_create(2);
        memset(o1, 0xff, nout * 4);
        memset(o2, 0xff, nout * 4);
        k.run(&k, &p, in, o1, NULL);
        k.run(&k, &p, in, o2, pool);
        fs_pool_free(pool);
        for (size_t i = 0; ok && i < nout; i++) {
            double tol = 1e-5 * mag[i] + 1e-6;
            if (isnan(ref[i]) && isnan(o1[i]) && isnan(o2[i])) continue;
            if (!(fabs((double)o1[i] - ref[i]) <= tol) || memcmp(&o1[i], &o2[i], 4)) {
                fs_test_fail(__FILE__, __LINE__,
                             "%s %s: out[%zu] = %.8g (2 threads %.8g), ref %.8g; n%d %dx%dx%d -> %dx%dx%d "
                             "k%dx%d s%d,%d d%d,%d pad %d,%d g%d",
                             isa, k.name, i, o1[i], o2[i], ref[i], p.n, p.ih, p.iw, p.ic, p.oh, p.ow, p.oc,
                             p.kh, p.kw, p.sh, p.sw, p.dh, p.dw, p.pad_t, p.pad_l, p.groups);
                ok = 0;
            }
        }
    }
    if (r == 0) nn_conv_impl_free(&k);
    free(in); free(w); free(b); free(ain); free(aw); free(ab); free(ref); free(mag); free(o1); free(o2);
    return ok;
}

static int out_dim(int i, int k, int s, int d, int pb, int pe) {
    return (i + pb + pe - (k - 1) * d - 1) / s + 1;
}

static nn_conv_params make_params(int n, int ih, int iw, int ic, int oc, int kh, int kw, int s, int d,
                                  int pt, int pl, int pb, int pr, int groups, int act) {
    nn_conv_params p;
    memset(&p, 0, sizeof p);
    p.n = n, p.ih = ih, p.iw = iw, p.ic = ic, p.oc = oc, p.kh = kh, p.kw = kw;
    p.sh = p.sw = s, p.dh = p.dw = d, p.pad_t = pt, p.pad_l = pl, p.groups = groups;
    p.oh = out_dim(ih, kh, s, d, pt, pb), p.ow = out_dim(iw, kw, s, d, pl, pr);
    p.act_min = act ? 0.0f : -INFINITY;
    p.act_max = act == 2 ? 6.0f : act == 1 ? INFINITY : INFINITY;
    return p;
}

static void conv_suite(const char *isa, conv_sel_fn sel, const char *suffix) {
    char gemm[32], igemm[32], dw[32];
    snprintf(gemm, sizeof gemm, "conv1x1_%s", suffix);
    snprintf(igemm, sizeof igemm, "conv_igemm_%s", suffix);
    snprintf(dw, sizeof dw, "dwconv_%s", suffix);
    /* MobileNetV2-like shapes */
    if (!conv_case(isa, sel, make_params(1, 9, 11, 24, 144, 1, 1, 1, 1, 0, 0, 0, 0, 1, 2), gemm)) return;
    if (!conv_case(isa, sel, make_params(1, 7, 7, 160, 960, 1, 1, 1, 1, 0, 0, 0, 0, 1, 2), gemm)) return;
    if (!conv_case(isa, sel, make_params(1, 5, 5, 960, 320, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0), gemm)) return;
    if (!conv_case(isa, sel, make_params(1, 21, 23, 3, 32, 3, 3, 2, 1, 0, 0, 1, 1, 1, 2), igemm)) return;
    if (!conv_case(isa, sel, make_params(1, 20, 20, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32, 2), dw)) return;
    if (!conv_case(isa, sel, make_params(1, 20, 18, 144, 144, 3, 3, 2, 1, 0, 0, 1, 1, 144, 2), dw)) return;
    /* NaN inputs propagate through the fused clamp (ReLU6), as in the reference */
    ks_nan_in = 1;
    int nan_ok = conv_case(isa, sel, make_params(1, 9, 11, 24, 40, 1, 1, 1, 1, 0, 0, 0, 0, 1, 2), gemm) &&
                 conv_case(isa, sel, make_params(1, 9, 11, 24, 24, 3, 3, 1, 1, 1, 1, 1, 1, 24, 2), dw);
    ks_nan_in = 0;
    if (!nan_ok) return;
    /* random dense */
    for (int t = 0; t < 40; t++) {
        int k = ks_int(1, 3), s = ks_int(1, 2), d = t % 5 == 4 ? 2 : 1;
        int ic = ks_int(1, 70), oc = ks_int(1, 90), n = ks_int(1, 2);
        int ih = (k - 1) * d + ks_int(1, 13), iw = (k - 1) * d + ks_int(1, 13);
        int pt = k > 1 ? ks_int(0, k - 1) : 0, pl = k > 1 ? ks_int(0, k - 1) : 0;
        int pb = k > 1 ? ks_int(0, k - 1) : 0, pr = k > 1 ? ks_int(0, k - 1) : 0;
        nn_conv_params p = make_params(n, ih, iw, ic, oc, k, t % 3 ? k : ks_int(1, 4), s, d, pt, pl, pb, pr, 1, t % 3);
        p.sw = ks_int(1, 3);
        p.ow = out_dim(iw, p.kw, p.sw, d, pl, pr);
        if (p.oh < 1 || p.ow < 1) continue;
        const char *want = k == 1 && p.kw == 1 && s == 1 && p.sw == 1 && !pt && !pl && !pb && !pr ? gemm : NULL;
        if (!conv_case(isa, sel, p, want)) return;
    }
    /* GEMM with M below and around the tile heights */
    for (int m = 1; m <= 16; m++)
        if (!conv_case(isa, sel, make_params(1, 1, m, 17 + m, 5 + 7 * m, 1, 1, 1, 1, 0, 0, 0, 0, 1, 2), gemm)) return;
    /* random depthwise */
    for (int t = 0; t < 40; t++) {
        int k = t % 4 == 3 ? 5 : 3, s = ks_int(1, 2), d = t % 7 == 6 ? 2 : 1, c = ks_int(2, 70);
        int ih = (k - 1) * d + ks_int(1, 12), iw = (k - 1) * d + ks_int(1, 12);
        int pt = ks_int(0, k / 2), pl = ks_int(0, k / 2), pb = ks_int(0, k / 2), pr = ks_int(0, k / 2);
        nn_conv_params p = make_params(ks_int(1, 2), ih, iw, c, c, k, k, s, d, pt, pl, pb, pr, c, t % 3);
        if (p.oh < 1 || p.ow < 1) continue;
        if (!conv_case(isa, sel, p, dw)) return;
    }
}

static int fc_case(const char *isa, fc_sel_fn sel, nn_fc_params p) {
    size_t nin = (size_t)p.m * p.k, nw = (size_t)p.n * p.k, nout = (size_t)p.m * p.n;
    float *in = ks_buf(nin), *w = ks_buf(nw), *b = ks_buf((size_t)p.n);
    float *ain = ks_abs(in, nin), *aw = ks_abs(w, nw), *ab = ks_abs(b, (size_t)p.n);
    float *ref = malloc(nout * 4), *mag = malloc(nout * 4), *o1 = malloc(nout * 4), *o2 = malloc(nout * 4);
    nn_fc_params pm = p;
    pm.act_min = -INFINITY, pm.act_max = INFINITY;
    nn_fc_ref(&p, in, w, b, ref);
    nn_fc_ref(&pm, ain, aw, ab, mag);
    nn_fc_impl k;
    int ok = sel(&p, w, b, &k) == 0;
    if (!ok) fs_test_fail(__FILE__, __LINE__, "%s FC selector declined m%d k%d n%d", isa, p.m, p.k, p.n);
    if (ok) {
        fs_pool *pool = fs_pool_create(2);
        k.run(&k, &p, in, o1, NULL);
        k.run(&k, &p, in, o2, pool);
        fs_pool_free(pool);
        for (size_t i = 0; ok && i < nout; i++)
            if (!(fabs((double)o1[i] - ref[i]) <= 1e-5 * mag[i] + 1e-6) || memcmp(&o1[i], &o2[i], 4)) {
                fs_test_fail(__FILE__, __LINE__, "%s %s m%d k%d n%d: out[%zu] = %.8g / %.8g, ref %.8g", isa,
                             k.name, p.m, p.k, p.n, i, o1[i], o2[i], ref[i]);
                ok = 0;
            }
        nn_fc_impl_free(&k);
    }
    free(in); free(w); free(b); free(ain); free(aw); free(ab); free(ref); free(mag); free(o1); free(o2);
    return ok;
}

static void fc_suite(const char *isa, fc_sel_fn sel) {
    nn_fc_params mnv2 = {1, 1280, 1001, -INFINITY, INFINITY};
    if (!fc_case(isa, sel, mnv2)) return;
    for (int t = 0; t < 30; t++) {
        nn_fc_params p = {ks_int(1, 20), ks_int(1, 300), ks_int(1, 150), t % 2 ? 0.0f : -INFINITY,
                          t % 3 ? INFINITY : 6.0f};
        if (!fc_case(isa, sel, p)) return;
    }
}

typedef void (*pool_fn)(const nn_pool_params *, const float *, float *, int, fs_pool *);

/* Pooling fast paths equal the reference bit for bit (NaN inputs included), 1 and 2 threads. */
static void pool_suite(const char *isa, pool_fn fn) {
    fs_pool *pool = fs_pool_create(2);
    for (int t = 0; t < 60; t++) {
        nn_pool_params p;
        memset(&p, 0, sizeof p);
        p.n = ks_int(1, 2), p.c = t == 0 ? 1280 : ks_int(1, 70);
        p.kh = ks_int(1, 3), p.kw = ks_int(1, 3), p.sh = ks_int(1, 2), p.sw = ks_int(1, 3);
        p.ih = ks_int(1, 40), p.iw = ks_int(1, 40);
        p.pad_t = ks_int(0, p.kh - 1), p.pad_l = ks_int(0, p.kw - 1), p.count_include_pad = t % 3 == 0;
        if (t == 0) p.ih = p.iw = p.kh = p.kw = 7, p.sh = p.sw = 1, p.pad_t = p.pad_l = 0, p.n = 1;
        p.oh = (p.ih + p.pad_t + ks_int(0, p.kh - 1) - p.kh) / p.sh + 1;
        p.ow = (p.iw + p.pad_l + ks_int(0, p.kw - 1) - p.kw) / p.sw + 1;
        if (p.oh < 1 || p.ow < 1) continue;
        size_t nin = (size_t)p.n * p.ih * p.iw * p.c, nout = (size_t)p.n * p.oh * p.ow * p.c;
        float *in = ks_buf(nin), *ref = malloc(nout * 4), *o1 = malloc(nout * 4), *o2 = malloc(nout * 4);
        for (size_t i = 0; i < nin; i += 53) in[i] = NAN;
        for (int is_max = 0; is_max < 2; is_max++) {
            if (is_max) nn_maxpool_ref(&p, in, ref);
            else nn_avgpool_ref(&p, in, ref);
            fn(&p, in, o1, is_max, NULL);
            fn(&p, in, o2, is_max, pool);
            for (size_t i = 0; i < nout; i++)
                if ((memcmp(&o1[i], &ref[i], 4) && !(isnan(o1[i]) && isnan(ref[i]))) || memcmp(&o1[i], &o2[i], 4)) {
                    fs_test_fail(__FILE__, __LINE__, "%s %s pool case %d: out[%zu] = %.9g (2 threads %.9g), ref %.9g",
                                 isa, is_max ? "max" : "avg", t, i, o1[i], o2[i], ref[i]);
                    t = 1000, is_max = 2;
                    break;
                }
        }
        free(in); free(ref); free(o1); free(o2);
    }
    fs_pool_free(pool);
}

TEST(generic_pool_vs_ref) { pool_suite("generic", nn_pool2d_generic); }
TEST(dispatch_pool_vs_ref) { pool_suite("dispatch", nn_pool2d); }

#if defined(__x86_64__)
TEST(avx512_pool_vs_ref) {
    if (!(fs_cpu_features() & FS_CPU_AVX512)) SKIP("no AVX-512 (or FS_CPU caps it)");
    pool_suite("avx512", nn_pool2d_avx512);
}
TEST(avx2_pool_vs_ref) {
    if (!(fs_cpu_features() & FS_CPU_AVX2)) SKIP("no AVX2+FMA (or FS_CPU caps it)");
    pool_suite("avx2", nn_pool2d_avx2);
}
TEST(avx512_conv_vs_ref) {
    if (!(fs_cpu_features() & FS_CPU_AVX512)) SKIP("no AVX-512 (or FS_CPU caps it)");
    conv_suite("avx512", nn_conv_select_avx512, "avx512");
}
TEST(avx512_fc_vs_ref) {
    if (!(fs_cpu_features() & FS_CPU_AVX512)) SKIP("no AVX-512 (or FS_CPU caps it)");
    fc_suite("avx512", nn_fc_select_avx512);
}
TEST(avx2_conv_vs_ref) {
    if (!(fs_cpu_features() & FS_CPU_AVX2)) SKIP("no AVX2+FMA (or FS_CPU caps it)");
    conv_suite("avx2", nn_conv_select_avx2, "avx2");
}
TEST(avx2_fc_vs_ref) {
    if (!(fs_cpu_features() & FS_CPU_AVX2)) SKIP("no AVX2+FMA (or FS_CPU caps it)");
    fc_suite("avx2", nn_fc_select_avx2);
}
#endif

/* The generic-vector portable path exists on every architecture. */
TEST(generic_conv_vs_ref) { conv_suite("generic", nn_conv_select_generic, "generic"); }
TEST(generic_fc_vs_ref) { fc_suite("generic", nn_fc_select_generic); }

#if defined(__aarch64__)
TEST(neon_conv_vs_ref) {
    if (!(fs_cpu_features() & FS_CPU_NEON)) SKIP("FS_CPU=portable caps NEON");
    conv_suite("neon", nn_conv_select_neon, "neon");
}
TEST(neon_fc_vs_ref) {
    if (!(fs_cpu_features() & FS_CPU_NEON)) SKIP("FS_CPU=portable caps NEON");
    fc_suite("neon", nn_fc_select_neon);
}
TEST(neon_pool_vs_ref) {
    if (!(fs_cpu_features() & FS_CPU_NEON)) SKIP("FS_CPU=portable caps NEON");
    pool_suite("neon", nn_pool2d_neon);
}
#endif

/* The dispatcher picks the best level the CPU (and FS_CPU) allows: the generic-vector path when no
 * ISA path applies, the plain reference for shapes no fast path takes (or with FS_NN_REF=1). */
TEST(dispatch_names_follow_cpu_level) {
    nn_conv_params p = make_params(1, 4, 4, 8, 16, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0);
    float w[8 * 16] = {0}, b[16] = {0};
    nn_conv_impl k;
    const char *ref = getenv("FS_NN_REF");
    int forced = ref && *ref && strcmp(ref, "0");
    CHECK(nn_select_conv(&p, w, b, &k) == 0);
    const char *lvl = fs_cpu_level_name();
    if (forced) CHECK_MSG(!strcmp(k.name, "conv2d_ref"), "FS_NN_REF set, got %s", k.name);
    else if (!strcmp(lvl, "portable")) CHECK_MSG(!strcmp(k.name, "conv1x1_generic"), "got %s", k.name);
    else CHECK_MSG(strstr(k.name, lvl) != NULL, "level %s, kernel %s", lvl, k.name);
    nn_conv_impl_free(&k);
    /* grouped (not depthwise) dense conv: only the reference handles it */
    nn_conv_params g = make_params(1, 5, 5, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2, 0);
    CHECK(conv_case("dispatch", nn_select_conv, g, "conv2d_ref"));
}

TEST(dispatch_fs_nn_ref_forces_reference) {
    setenv("FS_NN_REF", "1", 1); /* this test runs in its own forked child */
    nn_conv_params p = make_params(1, 6, 6, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 2);
    CHECK(conv_case("FS_NN_REF", nn_select_conv, p, "conv2d_ref"));
    nn_fc_params f = {2, 9, 5, 0.0f, INFINITY};
    float w[45] = {0}, b[5] = {0};
    nn_fc_impl k;
    CHECK(nn_select_fc(&f, w, b, &k) == 0);
    int is_ref = !strcmp(k.name, "fc_ref");
    nn_fc_impl_free(&k);
    unsetenv("FS_NN_REF");
    CHECK_MSG(is_ref, "FS_NN_REF=1 did not select fc_ref");
}
