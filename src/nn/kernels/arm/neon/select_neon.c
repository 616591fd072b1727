/* nn/kernels/arm/neon/select_neon.c — NEON fast-path selection: none yet, every shape falls back to
 * the portable reference (only compiled on aarch64). */
#include "nn/kernels/kernels_internal.h"

int nn_conv_select_neon(const nn_conv_params *p, const float *w, const float *bias, nn_conv_impl *k) {
    (void)p; (void)w; (void)bias; (void)k;
    return 1;
}

int nn_fc_select_neon(const nn_fc_params *p, const float *w, const float *bias, nn_fc_impl *k) {
    (void)p; (void)w; (void)bias; (void)k;
    return 1;
}
