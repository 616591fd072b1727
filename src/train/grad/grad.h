/* train/grad/grad.h — backward passes of the backbone ops (issue 11), llm.c style.
 *
 * Contract between the backward kernels (train/grad/ .c files, owned by the "grad ops" work) and the
 * fine-tuning engine (train/ft/ .c files), which walks the planned nn_graph in reverse and calls these.
 *
 * Conventions (same as nn/graph.h):
 * - Activations NHWC float32, row-major. Conv weights OHWI [Cout][KH][KW][Cin/groups];
 *   depthwise = groups == Cin == Cout (weights [C][KH][KW][1]). FC weights [Cout][Cin], y = x W^T + b.
 * - Batch norm is folded into the preceding conv by the loaders (frozen statistics): the trainable
 *   parameters are the conv/FC weights and biases only.
 * - Fused activation clamp [lo, hi] on conv/fc/add outputs: its backward uses the OUTPUT y (so the
 *   pre-activation need not be kept): dz = dy where lo < y < hi, else 0 (at the boundary: 0).
 * - Gradient outputs: functions named *_data / dx OVERWRITE dx (=); weight/bias gradients ACCUMULATE (+=)
 *   so a batch can be split over calls. Every function documents which.
 * - pool may be NULL (single thread). With a pool, work is split in a FIXED partition that depends only
 *   on the shapes and the pool's thread count, and every reduction is summed in a fixed order:
 *   same inputs + same thread count -> bit-identical outputs (the finetune determinism promise).
 * - Each public gr_X has a portable C reference gr_X_ref (plain loops, double accumulators where cheap)
 *   used by the tests as the oracle; gr_X dispatches at run time (fs_cpu_features: avx512 > avx2 >
 *   the generic vector-C path; FS_CPU=portable -> the generic path; FS_GRAD_REF=1 -> the references)
 *   to a fast path (GEMM form, SIMD in x86/avx2/, x86/avx512/, generic/; see dispatch.c) that the tests
 *   compare with the reference (tests/train/test_grad_fast.c).
 * - Determinism in detail: 1x1 stride-1 convs and FC give the same bits for ANY thread count (the
 *   narrow 1x1 convs' fused pass of gr_conv2d_backward: see there); depthwise convs too when there are
 *   fewer images than threads (split by channels), else each thread sums the dW/db of its images and
 *   the partials are added in thread order (dX: same bits for any count); other dense convs (the first
 *   3x3 conv, strided or padded 1x1: the "im2col" path) sum per-thread dW partials in thread order:
 *   same bits for the same thread count.
 * - No allocation inside these functions: scratch, if a fast path needs it, comes from
 *   gr_conv_scratch_size(s, threads) bytes (threads >= fs_pool_size(pool) of every call) that the
 *   caller allocates once at plan time and passes in (any malloc alignment). scratch == NULL where the
 *   size is nonzero falls back to the (slow, single-threaded) reference.
 * - The first conv's dx (the image) is never needed: the engine simply does not call
 *   gr_conv2d_backward_data for it (the data and weight gradients are separate calls).
 */
#ifndef FS_TRAIN_GRAD_H
#define FS_TRAIN_GRAD_H
#include <stddef.h>
#include <stdint.h>

struct fs_pool;

/* Geometry of one conv2d (after padding resolution). */
typedef struct {
    int n, h, w, cin;          /* input  [n][h][w][cin] */
    int oh, ow, cout;          /* output [n][oh][ow][cout] */
    int kh, kw, sh, sw, dh, dw;/* kernel, strides, dilations */
    int pt, pl;                /* top/left padding (bottom/right follow from the output size) */
    int groups;                /* 1 = dense, cin = depthwise (cout = cin * multiplier) */
} gr_conv_shape;

/* Bytes of scratch the fast paths need for this conv (0 if none); the engine allocates the max once.
 * threads: the largest fs_pool_size(pool) the calls will use (<= 0: fs_cpu_count(), like
 * fs_pool_create). Alongside, the GEMM keeps a 32 KiB packed panel on the caller's/worker's stack. */
size_t gr_conv_scratch_size(const gr_conv_shape *s, int threads);

/* conv2d forward, reference only (tests + gradient checks): y[n][oh][ow][cout] = conv(x, w) + b
 * (b may be NULL), no activation. */
void gr_conv2d_forward_ref(float *y, const float *x, const float *w, const float *b, const gr_conv_shape *s);

/* dx[n][h][w][cin] = d(loss)/dx given dy[n][oh][ow][cout] (OVERWRITES dx). */
void gr_conv2d_backward_data(float *dx, const float *dy, const float *w, const gr_conv_shape *s,
                             void *scratch, struct fs_pool *pool);
void gr_conv2d_backward_data_ref(float *dx, const float *dy, const float *w, const gr_conv_shape *s);

/* dw[cout][kh][kw][cin/groups] += sum over batch and positions; db[cout] += sum dy (db may be NULL). */
void gr_conv2d_backward_weight(float *dw, float *db, const float *dy, const float *x, const gr_conv_shape *s,
                               void *scratch, struct fs_pool *pool);
void gr_conv2d_backward_weight_ref(float *dw, float *db, const float *dy, const float *x, const gr_conv_shape *s);

/* The whole backward of one conv whose output y was clamped to [lo, hi] (fused activation):
 *   if y: dy is clamped in place (as gr_clamp_backward; y NULL: no clamp, dy only read);
 *   if dw: dw += ..., db += ... (as gr_conv2d_backward_weight; db may be NULL);
 *   if dx: dx = ... (as gr_conv2d_backward_data, OVERWRITES).
 * Same values as those separate calls up to float summation order. For the narrow 1x1 stride-1
 * convs (cout*cin <= 128*128: the memory-bound early layers) with dx and dw both wanted, one pass
 * over pixel chunks (dY read once while in cache; 15-20 % faster): per-thread dW partials in the
 * scratch summed in thread order, so the bits depend on the thread count (reproducible for a fixed
 * one). Other geometries: exactly the separate calls. The scratch is gr_conv_scratch_size's. */
void gr_conv2d_backward(float *dx, float *dw, float *db, float *dy, const float *y, float lo, float hi,
                        const float *x, const float *w, const gr_conv_shape *s, void *scratch,
                        struct fs_pool *pool);

/* gr_conv2d_backward, then dx (not NULL) masked by the conv's input x like the clamp backward of x's
 * producer (a conv whose output, clamped to [xlo, xhi], is x): dx[i] = (xlo < x[i] < xhi) ? dx[i] : 0.
 * The producer's own backward then takes y = NULL (its dy, this dx, is already masked): same values
 * as masking there. The depthwise path masks each dx row while x's rows are in cache from the dW sums,
 * the fused 1x1 pass each pixel chunk before its dW reads x (both save the producer's pass over its
 * output, and the write-back of its clamped dy); other paths mask in a separate pass. */
void gr_conv2d_backward_mx(float *dx, float *dw, float *db, float *dy, const float *y, float lo, float hi,
                           const float *x, const float *w, const gr_conv_shape *s, void *scratch, struct fs_pool *pool,
                           float xlo, float xhi);

/* gr_conv2d_backward with dx ACCUMULATED (dx += ...) instead of overwritten: a tensor read by several
 * convs sums their gradients without a scratch pass. Only for the 1x1 stride-1 GEMM geometry with the
 * fast kernels (gr_conv_dx_can_add in grad_internal.h); returns -1 (nothing done) otherwise. */
int gr_conv2d_backward_add(float *dx, float *dw, float *db, float *dy, const float *y, float lo, float hi,
                           const float *x, const float *w, const gr_conv_shape *s, void *scratch, struct fs_pool *pool);

/* Fully connected, x [rows][cin], w [cout][cin]:
 * dx[rows][cin] = dy w (OVERWRITES; dx may be NULL); dw[cout][cin] += dy^T x (dw may be NULL: frozen
 * weights, dx only); db[cout] += sum dy (may be NULL). */
void gr_fc_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                    int rows, int cin, int cout, struct fs_pool *pool);
void gr_fc_backward_ref(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                        int rows, int cin, int cout);

/* Clamp (fused ReLU / ReLU6 / none) backward in place on dy, from the op's OUTPUT y:
 * dy[i] = (lo < y[i] && y[i] < hi) ? dy[i] : 0. lo = -INFINITY / hi = INFINITY leave dy unchanged. */
void gr_clamp_backward(float *dy, const float *y, float lo, float hi, size_t n);

/* Global average pool over H, W (ReduceMean axes {1,2} / Mean / AvgPool covering the whole map):
 * x [n][hw][c] -> y [n][c]; dx[n][hw][c] = dy[n][c] / hw (OVERWRITES). */
void gr_mean_hw_backward(float *dx, const float *dy, int n, int hw, int c);

/* Element-wise add y = a + b (same shape) backward is the identity for both inputs; with numpy
 * broadcasting, the smaller operand's gradient is the sum over the broadcast dims:
 * dsmall[m] += sum over i with i % m == ... : here only the trailing-dims case (b of shape [c] added
 * to a of shape [rows][c]): db[c] += sum_rows dy[rows][c]. */
void gr_sum_rows(float *db, const float *dy, int rows, int c);

/* Concat along the last axis of parts [rows][c_k] into [rows][sum c_k]: the backward splits
 * dy back (OVERWRITES each dpart). */
void gr_concat_last_backward(float *const *dparts, const int *c, int nparts, const float *dy, int rows);

/* ----------------------------------------------------------------- losses
 * All losses are the MEAN over the B rows; grad (may be NULL) receives dLoss/dinput (OVERWRITES).
 * The return value is the loss (double). */

/* MSE / L1 on a scalar prediction per row. L1's gradient at 0 is 0. */
double gr_loss_mse(const float *pred, const float *target, int B, float *grad);
double gr_loss_l1(const float *pred, const float *target, int B, float *grad);
/* Softmax cross-entropy of logits z[B][k] against hard classes c[B] in 0..k-1 (a class outside:
 * NaN returned, grad untouched). k <= 256 for this and the KL / LDL functions (else NaN / no-op). */
double gr_loss_softmax_ce(const float *z, const int *c, int B, int k, float *grad);
/* Label-distribution learning: KL(q || softmax(z)) with q[B][k] a target distribution (rows sum to 1;
 * q log q terms with q = 0 are 0). Gradient wrt z: softmax(z) - q, over B. */
double gr_loss_kl(const float *z, const float *q, int B, int k, float *grad);
/* The DLD target: discretised Gaussian over the classes 1..k centred on the mean rating y with
 * standard deviation sigma (the rating's spread; SCUT gives the mean only, so a fixed sigma, e.g. 0.5):
 * q[j] proportional to exp(-(j+1 - y)^2 / (2 sigma^2)), normalised. */
void gr_ldl_target(float *q, float y, float sigma, int k);
/* Binary cross-entropy on logits z[B] against t[B] in [0,1]; rows with t < 0 (unknown) are skipped
 * (they count neither in the mean nor in the gradient, grad = 0 there). */
double gr_loss_bce_logits(const float *z, const float *t, int B, float *grad);

#endif
