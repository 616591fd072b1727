/* train/grad/grad_internal.h — the per-ISA kernel table behind the gr_* dispatchers (not part of the
 * grad.h contract; the tests use it to run every fast path against the reference).
 *
 * Each ISA instantiates train/grad/grad_simd.inc (x86/avx512/, x86/avx2/, generic/ = GNU C vector
 * extensions for any target) and exposes:
 *   gemm     C[i][j] (add ? += : =) sum_k A[i*ars + k*aks] * B[k*ldb + j], i < M, j < N, k < K.
 *            ars/aks let one kernel serve dY.W (A row-major) and dY^T.X (A transposed). Each C element
 *            is computed by the same instruction sequence wherever it lies in the tiling (packed
 *            panel, 8-/6-/4-row or 1-row kernel): k runs in chunks of GR_KC, each chunk summed from
 *            zero in a register lane, then added to C. So any split of (i, j) over threads gives the
 *            same bits.
 *   dw_data_rows     depthwise dx for input rows [r0, r1) (r = n*h + iy), weights transposed [kh*kw][C].
 *   colsum           db[c] += sum_r dy[r][c] for c in [c0, c1).
 *   clamp            gr_clamp_backward, vectorised.
 *   dw_fused_chans   the whole depthwise backward for channels [c0, c1), one pass over the rows:
 *                    dy clamped in place against y (y NULL: no clamp), dbacc[c] += its sums,
 *                    accT[kh*kw][C] += the dW sums of these channels (per output row, in row
 *                    order), dx as dw_data_rows (same bits, OVERWRITES; NULL: weights only), then
 *                    if mx: dx = (xlo < x < xhi) ? dx : 0 (gr_conv2d_backward_mx). zrow: w*C zeros
 *                    (read for kernel rows outside the image). Every depthwise dW/db goes through it, so db's bits do not
 *                    depend on whether dx is wanted.
 */
#ifndef FS_TRAIN_GRAD_INTERNAL_H
#define FS_TRAIN_GRAD_INTERNAL_H
#include <stddef.h>

#include "train/grad/grad.h"

#define GR_KC 256     /* k chunk of the GEMMs (rows of the panel kept in L1/L2) */
#define GR_MAXTAP 64  /* kernel positions handled by the depthwise fast path */

typedef struct {
    const char *name; /* "avx512", "avx2", "generic" */
    void (*gemm)(int M, int N, int K, const float *A, ptrdiff_t ars, ptrdiff_t aks, const float *B,
                 ptrdiff_t ldb, float *C, ptrdiff_t ldc, int add);
    void (*dw_data_rows)(float *dx, const float *dy, const float *wT, const gr_conv_shape *s, int r0, int r1);
    void (*colsum)(float *db, const float *dy, size_t rows, int ld, int c0, int c1);
    void (*clamp)(float *dy, const float *y, float lo, float hi, size_t n); /* gr_clamp_backward */
    void (*dw_fused_chans)(float *dx, float *accT, float *dbacc, float *dy, const float *y, float lo, float hi,
                           const float *x, const float *wT, const float *zrow, const gr_conv_shape *s, int c0,
                           int c1, int mx, float xlo, float xhi);
} gr_kernels;

extern const gr_kernels gr_kernels_generic;
#if defined(__x86_64__)
extern const gr_kernels gr_kernels_avx2;
extern const gr_kernels gr_kernels_avx512;
#endif

/* The table gr_* uses on this CPU (FS_CPU caps it; FS_GRAD_REF=1 -> NULL = the references). */
const gr_kernels *gr_kernels_best(void);
/* Kernel table by name ("avx512", "avx2", "generic") if this build and CPU can run it, else NULL. */
const gr_kernels *gr_kernels_by_name(const char *name);

/* The dispatchers with an explicit table (NULL = reference); gr_* call these with gr_kernels_best(). */
void gr_conv2d_backward_data_k(const gr_kernels *k, float *dx, const float *dy, const float *w,
                               const gr_conv_shape *s, void *scratch, struct fs_pool *pool);
void gr_conv2d_backward_weight_k(const gr_kernels *k, float *dw, float *db, const float *dy, const float *x,
                                 const gr_conv_shape *s, void *scratch, struct fs_pool *pool);
void gr_conv2d_backward_k(const gr_kernels *k, float *dx, float *dw, float *db, float *dy, const float *y, float lo,
                          float hi, const float *x, const float *w, const gr_conv_shape *s, void *scratch,
                          struct fs_pool *pool);
void gr_conv2d_backward_mx_k(const gr_kernels *k, float *dx, float *dw, float *db, float *dy, const float *y, float lo,
                             float hi, const float *x, const float *w, const gr_conv_shape *s, void *scratch,
                             struct fs_pool *pool, float xlo, float xhi);
void gr_fc_backward_k(const gr_kernels *k, float *dx, float *dw, float *db, const float *dy, const float *x,
                      const float *w, int rows, int cin, int cout, struct fs_pool *pool);
/* 1 if gr_conv2d_backward_mx applies its input mask inside its own pass over the pixels (x in cache:
 * the depthwise pass, the fused 1x1 pass when dx and dw are both wanted), else 0 (a separate pass). */
int gr_conv_masks_in_pass(const gr_conv_shape *s);
/* 1 if gr_conv2d_backward_add can accumulate this conv's dx (1x1 stride-1 GEMM geometry, fast kernels). */
int gr_conv_dx_can_add(const gr_conv_shape *s);
int gr_conv2d_backward_add_k(const gr_kernels *k, float *dx, float *dw, float *db, float *dy, const float *y, float lo,
                             float hi, const float *x, const float *w, const gr_conv_shape *s, void *scratch,
                             struct fs_pool *pool);
/* Which path a conv takes: "gemm1x1", "im2col", "depthwise" or "ref". */
const char *gr_conv_path(const gr_conv_shape *s);
#endif
