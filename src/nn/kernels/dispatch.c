/* nn/kernels/dispatch.c — picks the implementation of a conv / FC at plan time from the CPU's
 * features (fs_cpu_features(), capped by FS_CPU=portable|avx2): AVX-512 > AVX2 > NEON > the
 * generic-vector portable C path (generic/) > the plain reference, which is always available and
 * takes the shapes no fast path handles (FS_NN_REF=1 forces it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/threadpool.h"
#include "nn/kernels/kernels.h"
#include "nn/kernels/kernels_internal.h"

void *nn_alloc_aligned(size_t n) {
    if (n > SIZE_MAX - 64) return NULL;
    n = (n + 63) & ~(size_t)63;
    return aligned_alloc(64, n ? n : 64);
}

float *nn_copy_padded(const float *src, size_t n, size_t pad) {
    if (pad < n) pad = n;
    if (pad > SIZE_MAX / sizeof(float)) return NULL;
    float *d = nn_alloc_aligned(pad * sizeof(float));
    if (!d) return NULL;
    memset(d, 0, pad * sizeof(float));
    if (src && n) memcpy(d, src, n * sizeof(float));
    return d;
}

/* ---- reference-backed conv: weights + bias copied, rows split over the pool ---- */

typedef struct { float *w, *bias; } ref_conv_state;

static void ref_conv_free(void *s) {
    ref_conv_state *st = s;
    if (!st) return;
    free(st->w);
    free(st->bias);
    free(st);
}

typedef struct {
    const nn_conv_params *p;
    const ref_conv_state *st;
    const float *in;
    float *out;
    int rows, per;
} ref_conv_job;

static void ref_conv_task(void *ctx, int t, int thread) {
    (void)thread;
    ref_conv_job *j = ctx;
    int r0 = t * j->per, r1 = r0 + j->per < j->rows ? r0 + j->per : j->rows;
    nn_conv2d_ref_rows(j->p, j->in, j->st->w, j->st->bias, j->out, r0, r1);
}

static void ref_conv_run(const nn_conv_impl *k, const nn_conv_params *p, const float *in, float *out,
                         fs_pool *pool) {
    ref_conv_job j = {p, k->packed, in, out, p->n * p->oh, 1};
    int nt = fs_pool_size(pool) * 4;
    j.per = (j.rows + nt - 1) / nt;
    if (j.per < 1) j.per = 1;
    fs_pool_run(pool, (j.rows + j.per - 1) / j.per, ref_conv_task, &j);
}

static void ref_conv_repack(const nn_conv_impl *k, const nn_conv_params *p, const float *w, const float *bias) {
    ref_conv_state *st = k->packed;
    memcpy(st->w, w, (size_t)p->oc * p->kh * p->kw * (p->ic / p->groups) * sizeof(float));
    if (bias && st->bias) memcpy(st->bias, bias, (size_t)p->oc * sizeof(float));
}

int nn_conv_select_ref(const nn_conv_params *p, const float *w, const float *bias, nn_conv_impl *k) {
    size_t nw = (size_t)p->oc * p->kh * p->kw * (p->ic / p->groups);
    ref_conv_state *st = calloc(1, sizeof *st);
    if (!st) return -1;
    st->w = nn_copy_padded(w, nw, nw);
    st->bias = bias ? nn_copy_padded(bias, (size_t)p->oc, (size_t)p->oc) : NULL;
    if (!st->w || (bias && !st->bias)) { ref_conv_free(st); return -1; }
    k->name = "conv2d_ref";
    k->packed = st;
    k->run = ref_conv_run;
    k->free_fn = ref_conv_free;
    k->repack = ref_conv_repack;
    return 0;
}

/* ---- reference-backed FC: output columns split over the pool ---- */

typedef struct {
    const nn_fc_params *p;
    const ref_conv_state *st;
    const float *in;
    float *out;
    int per;
} ref_fc_job;

static void ref_fc_task(void *ctx, int t, int thread) {
    (void)thread;
    ref_fc_job *j = ctx;
    int n0 = t * j->per, n1 = n0 + j->per < j->p->n ? n0 + j->per : j->p->n;
    nn_fc_ref_cols(j->p, j->in, j->st->w, j->st->bias, j->out, n0, n1);
}

static void ref_fc_run(const nn_fc_impl *k, const nn_fc_params *p, const float *in, float *out,
                       fs_pool *pool) {
    ref_fc_job j = {p, k->packed, in, out, 1};
    int nt = fs_pool_size(pool) * 4;
    j.per = (p->n + nt - 1) / nt;
    if (j.per < 1) j.per = 1;
    fs_pool_run(pool, (p->n + j.per - 1) / j.per, ref_fc_task, &j);
}

static void ref_fc_repack(const nn_fc_impl *k, const nn_fc_params *p, const float *w, const float *bias) {
    ref_conv_state *st = k->packed;
    memcpy(st->w, w, (size_t)p->n * p->k * sizeof(float));
    if (bias && st->bias) memcpy(st->bias, bias, (size_t)p->n * sizeof(float));
}

int nn_fc_select_ref(const nn_fc_params *p, const float *w, const float *bias, nn_fc_impl *k) {
    ref_conv_state *st = calloc(1, sizeof *st);
    if (!st) return -1;
    st->w = nn_copy_padded(w, (size_t)p->n * p->k, (size_t)p->n * p->k);
    st->bias = bias ? nn_copy_padded(bias, (size_t)p->n, (size_t)p->n) : NULL;
    if (!st->w || (bias && !st->bias)) { ref_conv_free(st); return -1; }
    k->name = "fc_ref";
    k->packed = st;
    k->run = ref_fc_run;
    k->free_fn = ref_conv_free;
    k->repack = ref_fc_repack;
    return 0;
}

/* ---- dispatch ---- */

/* FS_NN_REF=1 (read at plan time) forces the plain reference, for debugging a fast path. */
static int nn_force_ref(void) {
    const char *e = getenv("FS_NN_REF");
    return e && *e && strcmp(e, "0");
}

int nn_select_conv(const nn_conv_params *p, const float *w, const float *bias, nn_conv_impl *k) {
    memset(k, 0, sizeof *k);
    int f = fs_cpu_features(), r = nn_force_ref() ? 2 : 1;
    (void)f;
#if defined(__x86_64__)
    if (r == 1 && (f & FS_CPU_AVX512)) r = nn_conv_select_avx512(p, w, bias, k);
    if (r == 1 && (f & FS_CPU_AVX2)) r = nn_conv_select_avx2(p, w, bias, k);
#elif defined(__aarch64__)
    if (r == 1 && (f & FS_CPU_NEON)) r = nn_conv_select_neon(p, w, bias, k);
#endif
    if (r == 1) r = nn_conv_select_generic(p, w, bias, k);
    if (r < 0) return -1;
    if (r > 0) return nn_conv_select_ref(p, w, bias, k);
    return 0;
}

int nn_select_fc(const nn_fc_params *p, const float *w, const float *bias, nn_fc_impl *k) {
    memset(k, 0, sizeof *k);
    int f = fs_cpu_features(), r = nn_force_ref() ? 2 : 1;
    (void)f;
#if defined(__x86_64__)
    if (r == 1 && (f & FS_CPU_AVX512)) r = nn_fc_select_avx512(p, w, bias, k);
    if (r == 1 && (f & FS_CPU_AVX2)) r = nn_fc_select_avx2(p, w, bias, k);
#elif defined(__aarch64__)
    if (r == 1 && (f & FS_CPU_NEON)) r = nn_fc_select_neon(p, w, bias, k);
#endif
    if (r == 1) r = nn_fc_select_generic(p, w, bias, k);
    if (r < 0) return -1;
    if (r > 0) return nn_fc_select_ref(p, w, bias, k);
    return 0;
}

void nn_conv_impl_free(nn_conv_impl *k) {
    if (!k) return;
    if (k->free_fn) k->free_fn(k->packed);
    memset(k, 0, sizeof *k);
}

void nn_fc_impl_free(nn_fc_impl *k) {
    if (!k) return;
    if (k->free_fn) k->free_fn(k->packed);
    memset(k, 0, sizeof *k);
}
