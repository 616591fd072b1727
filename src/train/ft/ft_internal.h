/* train/ft/ft_internal.h — the engine's state, shared by engine.c (open/close, subgraph, blocks,
 * parameters), backward.c (the reverse walk and its gradient arena), heads.c (heads, losses,
 * prediction) and optim.c (clipping, optimiser, schedule). Not part of the ft.h contract. */
#ifndef FS_TRAIN_FT_INTERNAL_H
#define FS_TRAIN_FT_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

#include "nn/graph.h"
#include "train/ft/ft.h"
#include "train/grad/grad.h"

/* Backward time per kind (FS_FT_PROFILE=1 at open). */
enum { FT_PROF_CLAMP, FT_PROF_1X1, FT_PROF_KXK, FT_PROF_DW, FT_PROF_FC, FT_PROF_OTHER, FT_PROF_OPTIM,
       FT_PROF_REPACK, FT_PROF_N };

/* Backward kinds of the supported ops. */
typedef enum { FTB_CONV, FTB_FC, FTB_ADD, FTB_MEAN, FTB_COPY, FTB_CLAMP, FTB_PAD } ftb_kind;

/* One node whose backward runs (an "active" node: trainable itself or above a trainable one). */
typedef struct {
    int node;
    ftb_kind kind;
    int x, y;                /* input 0 and output tensors */
    int x2;                  /* ADD: the second activation input (-1 if const) */
    int dx, dx2;             /* compute the gradient of x / x2 */
    int clamp;               /* fused / standalone clamp: mask dy by y first */
    float lo, hi;
    gr_conv_shape cs;        /* CONV */
    int rows, cin, cout;     /* FC */
    const float *w;          /* CONV/FC weights (parameter block or graph storage) */
    float *dw, *db;          /* weight / bias gradients (NULL: frozen) */
    int n, h, w_, c;         /* MEAN: n, h*w in h, c;  PAD: input dims n,h,w,c */
    int pad_t, pad_l, oh, ow;/* PAD: begins and output spatial dims (4-D NHWC, channels unpadded) */
    size_t numel;            /* elements of y */
    int mask_dx;             /* CONV: mask dx by x in [mlo, mhi] (the producer's clamp, moved here) */
    float mlo, mhi;
    int clamp_moved;         /* the clamp of y is applied by its only consumer's mask_dx (skip it) */
} ft_bnode;

typedef struct {
    size_t off, count;
    float lr_mult;
    int decay;
} ft_seg;

struct ft_engine {
    ft_config cfg;
    nn_graph *g;
    struct fs_pool *pool;
    int B, S, D;
    int feat;                /* feature tensor */
    int in_t;                /* input tensor */
    int n_blocks;
    int *node_block;         /* [n_nodes]: block of conv/FC nodes of the subgraph, -1 otherwise */
    /* parameters */
    float *params, *grads, *m, *v;
    size_t n_params;
    ft_param_info *info; int n_info;
    void **orig_data;        /* [n_info]: the tensors' own storage before re-pointing */
    unsigned char *repack_mask; /* [n_nodes] */
    unsigned char *keep_set; /* [n_tensors]: keep flags this engine set */
    ft_seg *segs; int n_segs;
    double *seg_sq;          /* [n_segs] */
    int64_t step;
    uint64_t rng;
    /* backward */
    ft_bnode *bn; int n_bn;
    size_t *goff;            /* [n_tensors]: offset of the gradient in garena, SIZE_MAX = none */
    unsigned char *ginit;    /* [n_tensors]: written this step */
    float *garena; size_t garena_size;
    float *gscratch; size_t gscratch_floats; /* accumulation scratch */
    void *cscratch; size_t cscratch_size;    /* gr_conv scratch */
    /* heads */
    float *mean, *inv_std;   /* [D] */
    float *hw, *hb;          /* into params: [7][D], [7] */
    float *ghw, *ghb;        /* into grads */
    float *z, *zd, *dzd;     /* [B][D] */
    uint8_t *mask;           /* [B][D] */
    float *out, *dout;       /* [B][7] */
    float *col, *gcol, *q, *t; /* [B], [B], [B][5], [B] */
    float *cls_z, *cls_g;    /* [B][5] */
    int *cls;                /* [B] */
    int trained_forward;     /* last forward was a training forward */
    int unfused;             /* FS_FT_UNFUSED=1 at open: clamp, dW, dX as separate calls (comparison) */
    double *prof_ms;         /* [FT_PROF_N] when FS_FT_PROFILE is set at open */
    int prof_runs;
};

/* backward.c */
fs_status ft_backward_plan(ft_engine *e);       /* after the graph is planned and bn[] filled */
void ft_backward_graph(ft_engine *e);           /* G(feature) written -> parameter gradients */
double ft_now_ms(void);
float *ft_grad_of(ft_engine *e, int t);         /* gradient buffer of tensor t (NULL if none) */

/* heads.c */
void ft_heads_init(ft_engine *e);
void ft_heads_forward(ft_engine *e, int train);
/* losses over n rows -> head gradients + dL/dfeature into gfeat [B][D]; fills the loss parts */
void ft_heads_backward(ft_engine *e, int n, const float *y, const float *g, float *gfeat, ft_step_stats *st);

/* optim.c */
fs_status ft_optim_build(ft_engine *e);         /* segments for the parallel update */
double ft_grad_norm(ft_engine *e);
void ft_optim_apply(ft_engine *e, float lr, float clip_scale);

#endif
