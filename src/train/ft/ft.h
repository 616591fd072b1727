/* train/ft/ft.h — the fine-tuning engine (issue 11): forward and backward through a backbone's
 * planned nn_graph, the heads on its feature, the optimiser and schedule, llm.c style.
 *
 *   ft_config c; ft_config_default(&c);
 *   c.batch = 32; c.threads = 2; c.feature = "global_pooling/Mean"; c.train_from = 8;
 *   ft_engine *e; ft_open(&e, model, &c);          // model: fs_model_load(...), borrowed
 *   for each step:
 *       float *x = ft_input(e);                     // [B][S][S][3], preprocessed as the backbone wants
 *       ... write n <= B rows ...
 *       ft_train_step(e, n, y, gender, &stats);     // forward + backward + clip + update + repack
 *   ft_predict(e, n, pred);                         // evaluation forward (no dropout, no update)
 *   ft_close(e);                                    // trained weights written back into the model
 *
 * WHAT IS TRAINED
 * - The backbone subgraph = every node the feature tensor depends on (the model's other outputs,
 *   e.g. MobileNetV2's logits, still run in the forward but get no gradient). Supported ops in that
 *   subgraph: CONV2D (dense, depthwise, grouped; any stride/pad/dilation; fused clamp), FULLY_CONNECTED,
 *   ADD of two same-shape activations (residuals) or of an activation and a constant, REDUCE_MEAN over
 *   H,W of an NHWC map, AVG_POOL2D covering the whole map (global pool), RESHAPE / SQUEEZE / FLATTEN /
 *   UNSQUEEZE / IDENTITY, CLAMP (ReLU/ReLU6/Clip), PAD (constant, backward = crop). Any other op in the
 *   part the backward runs through (from the first trainable node up to the feature) makes ft_open
 *   fail with FS_ERR_UNSUPPORTED naming the node and op; frozen nodes below it may be anything.
 * - Batch norm: the loaders fold BN into the conv weights/bias, so we fine-tune the folded conv;
 *   the BN statistics are frozen (no batch statistics: rows are independent, any batch size works).
 * - Parameters: the constant weight and bias tensors of the CONV2D / FULLY_CONNECTED nodes of the
 *   trainable blocks (each tensor once, even if two nodes share it), then the heads.
 * - Blocks: block 0 holds everything before the first depthwise conv (the stem); each depthwise conv
 *   starts a new block, and a 1x1 dense conv whose output only feeds that depthwise conv and whose
 *   input does not come from a depthwise conv (MobileNetV2's expansion) belongs to it too; nodes
 *   after the last depthwise conv (MobileNetV2's Conv_1) belong to the last block. faceres (MobileNet v1 style): 14 blocks (stem + 13 dw/pw pairs);
 *   MobileNetV2: 18 blocks (stem + 17 inverted residuals, the last with Conv_1). A graph without
 *   depthwise convs: one block per conv/FC node. train_from = k trains blocks k..n-1 (0 = all;
 *   n = heads only: the backbone is frozen, no backward through it).
 *   The backward stops at the first trainable node: no gradient is computed below it.
 *
 * HEADS (on the feature f[B][D]; same parametrisation as train/head.h's shared heads, so a trained
 * engine exports to an hd_model directly):
 *   z = (f - mean) * inv_std               mean/inv_std frozen (ft_get_heads: set them; default 0 / 1)
 *   zd = dropout(z, p)                      inverted dropout, training forward only
 *   out[B][7] = zd Wh^T + bh                Wh [7][D], bh [7]:
 *     row 0      score  s = 3 + out[0]      (regression, clamp to 1..5 at prediction only)
 *     rows 1..5  class logits (classes 1..5)
 *     row 6      gender logit (p_female = sigmoid)
 *   loss = w_reg * (MSE | L1)(s, y) + w_cls * (CE(logits, round(y)) | KL(ldl_target(y, sigma) || softmax))
 *        + w_gender * BCE(gender logit, g)  (rows with g < 0 unknown: skipped)
 *   Each part is the mean over the n valid rows; a weight of 0 switches the part off.
 *   Prediction: score = clamp(s, 1, 5) (or the expectation of the class distribution when
 *   w_reg == 0), dist = softmax(logits), p_female = sigmoid(gender logit).
 *
 * OPTIMISER (train/ft/optim.c): SGD with momentum (m = mu m + g + wd w; w -= lr m) or AdamW
 * (decoupled: w -= lr (mhat / (sqrt(vhat) + eps) + wd w)). Weight decay only on tensors with more
 * than one dimension (never biases). Learning rate at step s (0-based): linear warm-up over
 * warmup_steps ((s+1)/warmup), then cosine from lr to lr*lr_min_frac at total_steps. Per-tensor
 * multiplier: backbone block k gets block_lr_decay^(n_blocks-1-k), heads head_lr_mult. Gradients are
 * clipped to a global L2 norm of clip_norm (0 = off) before the update.
 *
 * MEMORY AND THREADS
 * - ft_open plans the graph once for [B][S][S][3] with keep flags on what the backward reads (each
 *   trainable conv/FC's input, each clamped output used for a mask), and allocates: one block for
 *   all parameters, one for their gradients, one for the optimiser moments (2 x params for AdamW,
 *   1 x for SGD), one arena for the activation gradients (planned by liveness over the reverse
 *   order, as the forward arena), conv scratch, head buffers. Steps allocate nothing.
 * - The graph's constant weight tensors of trainable nodes are re-pointed into the parameter block
 *   (copied there first: the model's own storage is not written while training); after each update
 *   the kernels' packed weights are refreshed in place by nn_graph_repack. ft_close copies the
 *   trained values back into the model's own storage (the loaders keep weights in writable heap
 *   memory), restores the pointers and unplans: the model then runs the fine-tuned network. The model must outlive the engine and must not be replanned or run by
 *   anyone else meanwhile (no fs_model_set_input_shape / keep / plan / run_batch calls).
 * - Threads: the graph's pool (nn_graph_set_threads(threads)) runs the forward kernels, the gr_*
 *   backward kernels and the optimiser. An engine is used from one thread at a time.
 * - Determinism: the same model, config (seed included), thread count and inputs give bit-identical
 *   parameters, moments and outputs, step after step (fixed work partitions, fixed summation order;
 *   dropout from a splitmix64 stream seeded by config.seed). Restoring params, moments, step and rng
 *   from ft_state continues bit-identically (call ft_state_changed after writing them).
 */
#ifndef FS_TRAIN_FT_H
#define FS_TRAIN_FT_H
#include <stddef.h>
#include <stdint.h>

#include "facescore.h"

#define FT_CLASSES 5
#define FT_HEAD_ROWS 7 /* score, 5 class logits, gender */

typedef enum { FT_LOSS_MSE = 0, FT_LOSS_L1 = 1, FT_LOSS_CE = 2, FT_LOSS_LDL = 3 } ft_loss;
typedef enum { FT_OPT_SGD = 0, FT_OPT_ADAMW = 1 } ft_optim;

typedef struct {
    /* graph */
    int batch;              /* B rows per step (the input is planned as [B][S][S][3]) */
    int threads;            /* pool size (1 = caller only) */
    const char *feature;    /* feature tensor, name or "#N": "global_pooling/Mean", "#169" */
    int train_from;         /* first trainable block (0 = all; >= ft_num_blocks = heads only) */
    /* heads and losses */
    float dropout;          /* p on the normalised feature (0.2) */
    ft_loss reg_loss;       /* FT_LOSS_MSE or FT_LOSS_L1, weight w_reg */
    ft_loss cls_loss;       /* FT_LOSS_CE or FT_LOSS_LDL, weight w_cls */
    float w_reg, w_cls, w_gender;
    float ldl_sigma;        /* LDL target spread (0.5) */
    /* optimiser and schedule */
    ft_optim optim;
    float lr;               /* peak learning rate */
    float momentum;         /* SGD */
    float beta1, beta2, eps;/* AdamW */
    float weight_decay;
    float clip_norm;        /* global gradient L2 norm limit, 0 = off */
    long warmup_steps, total_steps;
    float lr_min_frac;      /* cosine floor as a fraction of lr */
    float block_lr_decay;   /* multiplier per block toward the input (1 = none) */
    float head_lr_mult;
    uint64_t seed;          /* dropout stream and head initialisation */
} ft_config;

/* batch 32, threads 1, train_from 0, dropout 0.2, MSE (w 1) + LDL (w 0.5, sigma 0.5), gender w 0.2,
 * AdamW lr 3e-4 b1 .9 b2 .999 eps 1e-8 wd 1e-4, clip 5, warm-up 100, total 1000, floor 0.01,
 * block decay 0.9, head x10, seed 1, feature NULL (required). */
void ft_config_default(ft_config *c);

typedef struct ft_engine ft_engine;

/* Opens an engine on a loaded model (borrowed): resolves the feature, checks every op of the
 * subgraph, plans for c->batch, allocates everything. Heads start with small random weights
 * (seeded), mean 0 / inv_std 1. Errors: FS_ERR_ARG (bad config, unknown feature, input not
 * [?][S][S][3]), FS_ERR_UNSUPPORTED (an op without backward, naming it), FS_ERR_NOMEM. */
fs_status ft_open(ft_engine **out, fs_model *m, const ft_config *c);
/* The same on a bare runtime graph (tests build small graphs by hand; nn/graph.h). */
struct nn_graph;
fs_status ft_open_graph(ft_engine **out, struct nn_graph *g, const ft_config *c);
/* Writes the trained backbone weights back into the model's own storage, restores its pointers and
 * keep flags, unplans it (the next fs_model_run replans; the input dims stay [B][S][S][3] until
 * fs_model_set_input_shape), frees the engine. To start again from the pretrained weights (another
 * fold), load the model again. */
void ft_close(ft_engine *e);

int ft_num_blocks(const ft_engine *e);
int ft_feature_dim(const ft_engine *e);            /* D */
int ft_batch(const ft_engine *e);                  /* B */
int ft_input_size(const ft_engine *e);             /* S (input is [B][S][S][3]) */
/* The graph's input buffer [B][S][S][3] (in the arena, valid until ft_close): write rows here. */
float *ft_input(ft_engine *e);

/* Heads, owned by the engine (Wh/bh point into the parameter block). */
typedef struct {
    int dim;                /* D */
    float *mean, *inv_std;  /* [D] frozen normalisation; write them before training (e.g. from
                               ft_features over a pass of the training data) */
    float *w;               /* [7][D]: row 0 score, 1..5 class logits, 6 gender */
    float *b;               /* [7] */
} ft_heads;
void ft_get_heads(ft_engine *e, ft_heads *h);

/* ---- steps. n = valid rows (1..B) at the start of the input; rows >= n are computed but get no
 * gradient and do not count in the means (ft_train_step zeroes them first; the input starts zeroed). y[n] scores 1..5; g[n] 1 female / 0 male / -1 unknown
 * (g may be NULL: all unknown). */
typedef struct {
    double loss;            /* weighted total */
    double loss_reg, loss_cls, loss_gender;
    double grad_norm;       /* global norm before clipping */
    float lr;               /* base rate used for this update */
    long step;              /* updates done after this one */
} ft_step_stats;

fs_status ft_train_step(ft_engine *e, int n, const float *y, const float *g, ft_step_stats *st);

/* The pieces of ft_train_step, for benchmarks and tests (call in this order):
 * forward (train: dropout on), backward (losses -> gradients of every trainable tensor, overwritten),
 * update (clip, optimiser step, schedule, repack). */
fs_status ft_forward(ft_engine *e, int train);
fs_status ft_backward(ft_engine *e, int n, const float *y, const float *g, ft_step_stats *st);
fs_status ft_update(ft_engine *e, ft_step_stats *st);

/* Evaluation: forward without dropout; prediction of the first n rows. */
typedef struct {
    float score;            /* 1..5 */
    float dist[FT_CLASSES];
    float p_female;
} ft_pred;
fs_status ft_predict(ft_engine *e, int n, ft_pred *out);
/* The feature of the last forward: [B][D] (raw, before normalisation). */
const float *ft_features(const ft_engine *e);

/* ---- state for checkpoints: everything a bit-identical resume needs lives in these arrays. */
typedef struct {
    const char *name;       /* graph tensor name, or "head.w" / "head.b" */
    size_t offset, count;   /* in floats, into params / grads / moments */
    int tensor;             /* graph tensor index, -1 for the heads */
    int block;              /* backbone block, -1 for the heads */
    int decay;              /* weight decay applies (ndim > 1) */
    float lr_mult;
} ft_param_info;

typedef struct {
    float *params;   size_t n_params;    /* all trainable floats, layout of ft_param_info */
    float *grads;                        /* [n_params], valid after ft_backward */
    float *m, *v;    size_t n_moments;   /* [n_params] each (v = m + n_params, one block); v NULL for SGD */
    float *feat_mean, *feat_inv_std; int dim; /* frozen head normalisation [D] (also save these) */
    int64_t *step;                       /* updates done */
    uint64_t *rng;                       /* dropout stream state */
    const ft_param_info *info; int n_info;
} ft_state;
void ft_get_state(ft_engine *e, ft_state *s);
/* After writing params / moments / step / rng (checkpoint restore): refreshes the packed weights. */
fs_status ft_state_changed(ft_engine *e);

/* With FS_FT_PROFILE=1 in the environment at ft_open: backward time per kernel kind so far
 * (FILE *), for `facescore bench train`. */
void ft_profile_print(const ft_engine *e, void *file);

/* Current learning rate multiplier of the schedule at step s (for progress output and tests). */
float ft_schedule(const ft_config *c, long s);

#endif
