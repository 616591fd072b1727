/* train/grad/fc.c — fully connected backward, x [rows][cin], w [cout][cin], y = x w^T + b.
 * Reference: plain loops, double accumulators. The dispatcher gr_fc_backward runs the GEMM fast path
 * (gemm.inc through train/grad/dispatch.c) — an FC is a 1x1 conv over rows "pixels". */
#include "train/grad/grad.h"

/* dx[r][i] = sum_o dy[r][o] w[o][i] (OVERWRITES, dx may be NULL);
 * dw[o][i] += sum_r dy[r][o] x[r][i]; db[o] += sum_r dy[r][o] (db may be NULL). */
void gr_fc_backward_ref(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                        int rows, int cin, int cout) {
    if (dx)
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < cin; i++) {
                double acc = 0.0;
                for (int o = 0; o < cout; o++) acc += (double)dy[(size_t)r * cout + o] * w[(size_t)o * cin + i];
                dx[(size_t)r * cin + i] = (float)acc;
            }
    if (dw)
        for (int o = 0; o < cout; o++)
            for (int i = 0; i < cin; i++) {
                double acc = 0.0;
                for (int r = 0; r < rows; r++) acc += (double)dy[(size_t)r * cout + o] * x[(size_t)r * cin + i];
                dw[(size_t)o * cin + i] += (float)acc;
            }
    if (db)
        for (int o = 0; o < cout; o++) {
            double acc = 0.0;
            for (int r = 0; r < rows; r++) acc += dy[(size_t)r * cout + o];
            db[o] += (float)acc;
        }
}
