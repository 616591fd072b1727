/* nn/kernels/kernels_internal.h — shared between the reference, the dispatcher and the ISA fast
 * paths inside nn/kernels/ (not part of the kernels.h contract). */
#ifndef FS_NN_KERNELS_INTERNAL_H
#define FS_NN_KERNELS_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>

#include "nn/kernels/kernels.h"

static inline float nn_clampf(float v, float lo, float hi) {
    /* NaN propagates like the ISA paths (max/min with the NaN as first operand keep it) */
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* Static ranges with stealing, for one parallel job over `units` work units (tiles, rows...): range
 * r (one per thread, contiguous, the same from one layer to the next: cache locality) is cut into
 * `chunks` pieces claimed in order with an atomic counter; a thread that has finished its own range
 * claims what is left of the others, so a preempted thread (a loaded machine) holds up only the
 * piece it is in. Which thread runs a piece never changes the results. */
#define NN_STEAL_MAX 64
typedef struct {
    atomic_int next[NN_STEAL_MAX];
    int ranges, chunks, units;
} nn_steal;

static inline void nn_steal_init(nn_steal *s, int units, int ranges, int chunks) {
    if (ranges > NN_STEAL_MAX) ranges = NN_STEAL_MAX;
    if (ranges > units) ranges = units;
    if (ranges < 1) ranges = 1;
    s->ranges = ranges, s->units = units, s->chunks = chunks < 1 ? 1 : chunks;
    for (int r = 0; r < ranges; r++) atomic_init(&s->next[r], 0);
}

/* Task t of s->ranges: fn(ctx, u0, u1) on its own pieces, then on pieces left in the others. */
static inline void nn_steal_run(nn_steal *s, int t, void (*fn)(void *ctx, int u0, int u1), void *ctx) {
    for (int k = 0; k < s->ranges; k++) {
        const int r = (t + k) % s->ranges;
        const int lo = (int)((long)s->units * r / s->ranges), hi = (int)((long)s->units * (r + 1) / s->ranges);
        for (;;) {
            const int c = atomic_fetch_add(&s->next[r], 1);
            if (c >= s->chunks) break;
            const int u0 = lo + (int)((long)(hi - lo) * c / s->chunks);
            const int u1 = lo + (int)((long)(hi - lo) * (c + 1) / s->chunks);
            if (u0 < u1) fn(ctx, u0, u1);
        }
    }
}

/* Row ranges of the references (a row = one (batch, output y) pair), for threading. */
void nn_conv2d_ref_rows(const nn_conv_params *p, const float *in, const float *w, const float *bias,
                        float *out, int r0, int r1);
void nn_fc_ref_cols(const nn_fc_params *p, const float *in, const float *w, const float *bias,
                    float *out, int n0, int n1);
void nn_pool_ref_rows(const nn_pool_params *p, const float *in, float *out, int is_max, int r0,
                      int r1);

/* 64-byte aligned allocation (free with free()); NULL on overflow / failure. */
void *nn_alloc_aligned(size_t n);
/* Copies n floats (or zeros if src is NULL) into a new aligned buffer padded to pad floats. */
float *nn_copy_padded(const float *src, size_t n, size_t pad);

/* Per-ISA selectors: 0 = filled *k, 1 = no fast path for these params, -1 = allocation failure. */
int nn_conv_select_avx2(const nn_conv_params *p, const float *w, const float *bias, nn_conv_impl *k);
int nn_conv_select_avx512(const nn_conv_params *p, const float *w, const float *bias,
                          nn_conv_impl *k);
int nn_fc_select_avx2(const nn_fc_params *p, const float *w, const float *bias, nn_fc_impl *k);
int nn_fc_select_avx512(const nn_fc_params *p, const float *w, const float *bias, nn_fc_impl *k);
int nn_conv_select_neon(const nn_conv_params *p, const float *w, const float *bias, nn_conv_impl *k);
int nn_conv_select_generic(const nn_conv_params *p, const float *w, const float *bias, nn_conv_impl *k);
int nn_fc_select_generic(const nn_fc_params *p, const float *w, const float *bias, nn_fc_impl *k);
void nn_eltwise_f32_generic(nn_ew_op op, const float *a, int sa, const float *b, int sb, float *y,
                            size_t n, int clamp, float lo, float hi);
int nn_fc_select_neon(const nn_fc_params *p, const float *w, const float *bias, nn_fc_impl *k);

/* Element-wise fast paths (same contract as nn_eltwise_f32). */
void nn_eltwise_f32_avx2(nn_ew_op op, const float *a, int sa, const float *b, int sb, float *y, size_t n,
                         int clamp, float lo, float hi);
void nn_eltwise_f32_avx512(nn_ew_op op, const float *a, int sa, const float *b, int sb, float *y,
                           size_t n, int clamp, float lo, float hi);
void nn_eltwise_f32_neon(nn_ew_op op, const float *a, int sa, const float *b, int sb, float *y, size_t n,
                         int clamp, float lo, float hi);

/* Pooling fast paths (same contract as nn_pool2d). */
void nn_pool2d_avx2(const nn_pool_params *p, const float *in, float *out, int is_max, struct fs_pool *pool);
void nn_pool2d_avx512(const nn_pool_params *p, const float *in, float *out, int is_max, struct fs_pool *pool);
void nn_pool2d_neon(const nn_pool_params *p, const float *in, float *out, int is_max, struct fs_pool *pool);
void nn_pool2d_generic(const nn_pool_params *p, const float *in, float *out, int is_max, struct fs_pool *pool);

/* The reference-backed implementations (always available). */
int nn_conv_select_ref(const nn_conv_params *p, const float *w, const float *bias, nn_conv_impl *k);
int nn_fc_select_ref(const nn_fc_params *p, const float *w, const float *bias, nn_fc_impl *k);

#endif
