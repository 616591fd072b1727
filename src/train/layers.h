/* train/layers.h — hand-written forward/backward of the head layers (llm.c style: plain loops,
 * caller-owned buffers, gradients accumulated with +=). Shapes in comments: B = batch rows.
 * One file per layer family: linear.c, act.c, loss.c, dropout.c, adam.c. */
#ifndef FS_TRAIN_LAYERS_H
#define FS_TRAIN_LAYERS_H
#include <stddef.h>
#include <stdint.h>

/* linear.c — y[B][out] = x[B][in] W[out][in]^T + b[out] */
void lin_forward(float *y, const float *x, const float *w, const float *b, int B, int in, int out);
/* dx[B][in] += dy W (dx may be NULL); dw[out][in] += dy^T x; db[out] += sum_B dy */
void lin_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                  int B, int in, int out);

/* act.c */
void relu_forward(float *y, const float *x, size_t n);
void relu_backward(float *dx, const float *dy, const float *x, size_t n); /* dx += dy * (x > 0) */
float sigmoidf_(float z);
/* p[B][k] = softmax of z[B][k] (max-subtracted) */
void softmax_rows(float *p, const float *z, int B, int k);

/* loss.c — mean over the batch; grad (may be NULL) receives dLoss/dinput (overwritten). */
double loss_mse(const float *pred, const float *target, int B, float *grad);
/* logits z[B], labels t[B] in {0,1} (or soft targets in [0,1]) */
double loss_bce_logits(const float *z, const float *t, int B, float *grad);
/* logits z[B][k], class labels c[B] in 0..k-1 */
double loss_softmax_ce(const float *z, const int *c, int B, int k, float *grad);

/* dropout.c — inverted dropout: y = x * mask / (1 - p); mask[n] drawn from *rng (splitmix64). */
void dropout_forward(float *y, uint8_t *mask, const float *x, size_t n, float p, uint64_t *rng);
void dropout_backward(float *dx, const float *dy, const uint8_t *mask, size_t n, float p); /* dx = */

/* adam.c — Adam with L2 regularisation added to the gradient (g + wd * w: ridge-like). */
typedef struct { float lr, beta1, beta2, eps, wd; int t; } adam_cfg;
void adam_init(adam_cfg *c, float lr, float wd);
/* One step over n parameters; m, v are the moment buffers (zeroed at start); decay: apply wd */
void adam_step(adam_cfg *c, float *w, const float *g, float *m, float *v, size_t n, int decay);
void adam_tick(adam_cfg *c); /* t++ once per step, before the adam_step calls of that step */
#endif
