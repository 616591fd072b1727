/* nn/kernels/kernels.h — raw-pointer kernels for the hot ops, shared by the portable reference
 * (nn/kernels/ref_*.c, always built) and the per-ISA fast paths (nn/kernels/x86/avx2/, x86/avx512/,
 * arm/neon/). The executor picks one at plan time with nn_select_*(); every fast path is tested
 * against the reference (tests/nn/test_kernels_*.c).
 *
 * Layouts: activations NHWC float32; conv weights OHWI [Cout][KH][KW][Cin/groups]; FC weights
 * [Cout][Cin]. Fused activation = clamp to [act_min, act_max].
 *
 * What nn_select_conv / nn_select_fc return (kernel names as shown by `facescore model info`):
 *   conv1x1_<isa>     1x1 stride-1 unpadded dense conv = GEMM, register-tiled microkernels over
 *                     weights packed into panels (nn/kernels/conv_simd.inc)
 *   conv_igemm_<isa>  any other dense conv (groups 1): indirect GEMM over per-tap row pointers
 *   dwconv_<isa>      depthwise (groups == Cin == Cout), channel-vectorised, 3x3 specialised
 *   fc_<isa>          fully connected = the GEMM path (one-row microkernels for batch 1)
 *   conv2d_ref/fc_ref the portable reference (grouped non-depthwise convs, depth multipliers > 1,
 *                     kernels over 64 taps, and everything under FS_CPU=portable)
 * <isa> is avx512 or avx2 on x86-64, neon on aarch64. Results do not depend on the thread count.
 */
#ifndef FS_NN_KERNELS_H
#define FS_NN_KERNELS_H

#include <stddef.h>

struct fs_pool;

typedef struct {
    int n, ih, iw, ic;       /* input  [n][ih][iw][ic] */
    int oh, ow, oc;          /* output [n][oh][ow][oc] */
    int kh, kw, sh, sw, dh, dw;
    int pad_t, pad_l;        /* bottom/right padding is implied by oh/ow */
    int groups;              /* 1 = dense, ic = depthwise */
    float act_min, act_max;
} nn_conv_params;

typedef struct {
    int m, k, n;             /* y[m][n] = x[m][k] * w[n][k]^T + b[n] */
    float act_min, act_max;
} nn_fc_params;

typedef struct {
    int n, ih, iw, c, oh, ow;
    int kh, kw, sh, sw;
    int pad_t, pad_l;
    int count_include_pad;   /* average pool only */
} nn_pool_params;

/* A prepared kernel: weights packed once at plan time, then run with no allocation. */
typedef struct nn_conv_impl {
    const char *name;
    void *packed;            /* owned; freed with free_fn */
    void (*run)(const struct nn_conv_impl *k, const nn_conv_params *p, const float *in, float *out,
                struct fs_pool *pool);
    void (*free_fn)(void *packed);
    /* optional: refills the packed weights in place from new w / bias of the same shapes (fine-tuning
     * updates them every step), allocating nothing; NULL = prepare again */
    void (*repack)(const struct nn_conv_impl *k, const nn_conv_params *p, const float *w, const float *bias);
} nn_conv_impl;

typedef struct nn_fc_impl {
    const char *name;
    void *packed;
    void (*run)(const struct nn_fc_impl *k, const nn_fc_params *p, const float *in, float *out,
                struct fs_pool *pool);
    void (*free_fn)(void *packed);
    void (*repack)(const struct nn_fc_impl *k, const nn_fc_params *p, const float *w, const float *bias);
} nn_fc_impl;

/* Portable references (plain C, single-threaded). */
void nn_conv2d_ref(const nn_conv_params *p, const float *in, const float *w, const float *bias,
                   float *out);
void nn_fc_ref(const nn_fc_params *p, const float *in, const float *w, const float *bias, float *out);
void nn_maxpool_ref(const nn_pool_params *p, const float *in, float *out);
void nn_avgpool_ref(const nn_pool_params *p, const float *in, float *out);

/* Max / average pooling with the best ISA path, rows split over pool (NULL = caller only); results
 * identical to nn_maxpool_ref / nn_avgpool_ref bit for bit. */
void nn_pool2d(const nn_pool_params *p, const float *in, float *out, int is_max, struct fs_pool *pool);
const char *nn_pool2d_name(int is_max); /* "maxpool_avx512", "avgpool_generic", ... */

/* Element-wise binary op over a contiguous run, the inner loop of the broadcasting binary ops:
 *   y[i] = op(a[i * sa], b[i * sb]) for i < n, sa and sb each 0 (one value broadcast) or 1;
 *   then, if clamp, y[i] = min(hi, max(lo, y[i])) in the form `v = lo > v ? lo : v; hi < v ? hi : v`.
 * MAX is `a > b || isnan(a) ? a : b`, MIN `a < b || isnan(a) ? a : b`, PRELU `a < 0 ? a * b : a`.
 * Every ISA path gives exactly the scalar expression's result (no FMA, NaN handling as written).
 * y may alias a or b (same index). Dispatches on fs_cpu_features() per call. */
typedef enum { NN_EW_ADD = 0, NN_EW_SUB, NN_EW_MUL, NN_EW_DIV, NN_EW_MAX, NN_EW_MIN, NN_EW_PRELU } nn_ew_op;
void nn_eltwise_f32(nn_ew_op op, const float *a, int sa, const float *b, int sb, float *y, size_t n,
                    int clamp, float lo, float hi);
void nn_eltwise_f32_ref(nn_ew_op op, const float *a, int sa, const float *b, int sb, float *y, size_t n,
                        int clamp, float lo, float hi);

/* Dispatch: the best implementation for these parameters on this CPU (honours FS_CPU=portable|avx2).
 * Returns 0 and fills *k, or -1 on allocation failure. w/bias are copied/packed: the caller may free
 * them afterwards. */
int  nn_select_conv(const nn_conv_params *p, const float *w, const float *bias, nn_conv_impl *k);
int  nn_select_fc(const nn_fc_params *p, const float *w, const float *bias, nn_fc_impl *k);
void nn_conv_impl_free(nn_conv_impl *k);
void nn_fc_impl_free(nn_fc_impl *k);

#endif
