/* nn/kernels/kernels_internal.h — shared between the reference, the dispatcher and the ISA fast
 * paths inside nn/kernels/ (not part of the kernels.h contract). */
#ifndef FS_NN_KERNELS_INTERNAL_H
#define FS_NN_KERNELS_INTERNAL_H

#include <stddef.h>

#include "nn/kernels/kernels.h"

static inline float nn_clampf(float v, float lo, float hi) {
    /* NaN propagates like the ISA paths (max/min with the NaN as first operand keep it) */
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
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
int nn_fc_select_neon(const nn_fc_params *p, const float *w, const float *bias, nn_fc_impl *k);

/* Element-wise fast paths (same contract as nn_eltwise_f32). */
void nn_eltwise_f32_avx2(nn_ew_op op, const float *a, int sa, const float *b, int sb, float *y, size_t n,
                         int clamp, float lo, float hi);
void nn_eltwise_f32_avx512(nn_ew_op op, const float *a, int sa, const float *b, int sb, float *y,
                           size_t n, int clamp, float lo, float hi);
void nn_eltwise_f32_neon(nn_ew_op op, const float *a, int sa, const float *b, int sb, float *y, size_t n,
                         int clamp, float lo, float hi);

/* The reference-backed implementations (always available). */
int nn_conv_select_ref(const nn_conv_params *p, const float *w, const float *bias, nn_conv_impl *k);
int nn_fc_select_ref(const nn_fc_params *p, const float *w, const float *bias, nn_fc_impl *k);

#endif
