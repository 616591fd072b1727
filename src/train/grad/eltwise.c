/* train/grad/eltwise.c — backward of the element-wise / shape ops: fused clamp, global mean over
 * H x W, broadcast-add reduction, concat along the last axis. Plain loops (memory bound), the
 * references and the production code at once, except the clamp, which runs the ISA table's
 * vectorised copy (grad_simd.inc) unless FS_GRAD_REF=1. */
#include "train/grad/grad.h"
#include "train/grad/grad_internal.h"

#include <string.h>

/* dy[i] = (lo < y[i] < hi) ? dy[i] : 0, in place; y is the clamped OUTPUT. Branch-free (ReLU outputs
 * are zero at random: a branch per element mispredicts) and restrict-qualified so it vectorises. */
void gr_clamp_backward(float *restrict dy, const float *restrict y, float lo, float hi, size_t n) {
    const gr_kernels *k = gr_kernels_best();
    if (k) {
        k->clamp(dy, y, lo, hi, n); /* the same function, GNU C vectors (grad_simd.inc) */
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const int keep = (lo < y[i]) & (y[i] < hi);
        dy[i] = keep ? dy[i] : 0.0f;
    }
}

/* x [n][hw][c] -> y [n][c] = mean over hw; dx[b][p][c] = dy[b][c] / hw (OVERWRITES). */
void gr_mean_hw_backward(float *dx, const float *dy, int n, int hw, int c) {
    const float inv = 1.0f / (float)hw;
    for (int b = 0; b < n; b++) {
        const float *d = dy + (size_t)b * c;
        for (int p = 0; p < hw; p++) {
            float *o = dx + ((size_t)b * hw + p) * c;
            for (int k = 0; k < c; k++) o[k] = d[k] * inv;
        }
    }
}

/* db[c] += sum_r dy[r][c] (ACCUMULATES); summed per column in row order in double. */
void gr_sum_rows(float *db, const float *dy, int rows, int c) {
    for (int k = 0; k < c; k++) {
        double acc = 0.0;
        for (int r = 0; r < rows; r++) acc += dy[(size_t)r * c + k];
        db[k] += (float)acc;
    }
}

/* dy [rows][sum_k c[k]] -> dparts[k] [rows][c[k]] (OVERWRITES; a NULL dpart is skipped). */
void gr_concat_last_backward(float *const *dparts, const int *c, int nparts, const float *dy, int rows) {
    int total = 0;
    for (int k = 0; k < nparts; k++) total += c[k];
    for (int r = 0; r < rows; r++) {
        int off = 0;
        for (int k = 0; k < nparts; k++) {
            if (dparts[k])
                memcpy(dparts[k] + (size_t)r * c[k], dy + (size_t)r * total + off, (size_t)c[k] * sizeof(float));
            off += c[k];
        }
    }
}
