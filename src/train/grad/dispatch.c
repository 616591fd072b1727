/* train/grad/dispatch.c — the public gr_conv2d_backward_* / gr_fc_backward entry points.
 * Step 1: they call the portable references (single-threaded). */
#include "train/grad/grad.h"

size_t gr_conv_scratch_size(const gr_conv_shape *s, int threads) {
    (void)s, (void)threads;
    return 0;
}

void gr_conv2d_backward_data(float *dx, const float *dy, const float *w, const gr_conv_shape *s, void *scratch,
                             struct fs_pool *pool) {
    (void)scratch, (void)pool;
    gr_conv2d_backward_data_ref(dx, dy, w, s);
}

void gr_conv2d_backward_weight(float *dw, float *db, const float *dy, const float *x, const gr_conv_shape *s,
                               void *scratch, struct fs_pool *pool) {
    (void)scratch, (void)pool;
    gr_conv2d_backward_weight_ref(dw, db, dy, x, s);
}

void gr_fc_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int rows,
                    int cin, int cout, struct fs_pool *pool) {
    (void)pool;
    gr_fc_backward_ref(dx, dw, db, dy, x, w, rows, cin, cout);
}
