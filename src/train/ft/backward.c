/* train/ft/backward.c — the reverse walk over the active nodes and the arena of activation
 * gradients.
 *
 * Gradient buffers: one per tensor that receives a gradient (the feature, and every input of an
 * active node whose producer is active). In backward order (step s = the s-th active node from the
 * end), a tensor's gradient is born at the step of its last consumer (the feature's before step 0,
 * written by the heads) and dies after the step of its producer; buffers are laid out greedily
 * (first fit, lowest offset) in one arena, like the forward planner. A tensor read by several active
 * nodes accumulates: the first writer overwrites (ginit), later writers go through gscratch and add.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/threadpool.h"
#include "nn/ops/ops.h"
#include "train/ft/ft_internal.h"
#include "train/grad/grad_internal.h" /* gr_conv_masks_in_pass, gr_conv_dx_can_add */

#define GALIGN 64

typedef struct { size_t off, size; int t; } gblock;

static size_t gplace(gblock *b, int *n, size_t *top, size_t size, int t) {
    size = (size + GALIGN - 1) & ~(size_t)(GALIGN - 1);
    size_t off = 0;
    int pos = 0;
    for (; pos < *n; pos++) {
        if (b[pos].off >= off + size) break;
        size_t end = b[pos].off + b[pos].size;
        if (end > off) off = end;
    }
    memmove(&b[pos + 1], &b[pos], (size_t)(*n - pos) * sizeof *b);
    b[pos] = (gblock){off, size, t};
    (*n)++;
    if (off + size > *top) *top = off + size;
    return off;
}

static size_t tbytes(const ft_engine *e, int t) { return nn_numel(&e->g->tensors[t]) * sizeof(float); }

/* A conv's dX is masked by its input's clamp while the input is in cache (gr_conv2d_backward_mx: the
 * depthwise pass and the fused pass of the narrow 1x1 convs), when that input is the clamped output
 * of an active conv and this conv is the only writer of its gradient: the producer then skips its
 * own clamp pass (same values). MobileNetV2 / faceres: the expansion conv's ReLU6 moves into the
 * depthwise conv, the depthwise conv's into the projection conv up to 28x28. Not under
 * FS_FT_UNFUSED (the separate-calls comparison). */
static void move_clamps(ft_engine *e, const int *writers) {
    if (e->unfused) return;
    for (int k = 0; k < e->n_bn; k++) {
        ft_bnode *b = &e->bn[k];
        if (b->kind != FTB_CONV || !b->dx || !b->dw || b->x == e->feat || writers[b->x] != 1 ||
            !gr_conv_masks_in_pass(&b->cs))
            continue;
        for (int q = 0; q < k; q++) {
            ft_bnode *p = &e->bn[q];
            if (p->y != b->x) continue;
            if (p->kind == FTB_CONV && p->clamp && !p->clamp_moved) {
                b->mask_dx = 1, b->mlo = p->lo, b->mhi = p->hi;
                p->clamp_moved = 1;
            }
            break;
        }
    }
}

fs_status ft_backward_plan(ft_engine *e) {
    nn_graph *g = e->g;
    const int nt = g->n_tensors, K = e->n_bn;
    e->goff = malloc(sizeof(size_t) * (size_t)(nt + 1));
    e->ginit = calloc((size_t)nt + 1, 1);
    int *born = malloc(sizeof(int) * (size_t)(nt + 1)), *dies = malloc(sizeof(int) * (size_t)(nt + 1));
    int *writers = calloc((size_t)nt + 1, sizeof(int));
    gblock *blk = calloc((size_t)nt + 1, sizeof *blk);
    fs_status st = FS_OK;
    if (!e->goff || !e->ginit || !born || !dies || !writers || !blk) { st = fs_error(FS_ERR_NOMEM, "ft: out of memory"); goto done; }
    for (int t = 0; t < nt; t++) e->goff[t] = SIZE_MAX, born[t] = INT32_MAX, dies[t] = -2;
    /* step s handles bn[K-1-s] */
    for (int k = 0; k < K; k++) {
        const ft_bnode *b = &e->bn[k];
        int s = K - 1 - k;
        if (b->dx) { if (s < born[b->x]) born[b->x] = s; writers[b->x]++; }
        if (b->dx2) { if (s < born[b->x2]) born[b->x2] = s; writers[b->x2]++; }
        dies[b->y] = s;
    }
    int fp = -1;
    for (int k = 0; k < K; k++)
        if (e->bn[k].y == e->feat) fp = k;
    if (fp >= 0) born[e->feat] = -1;
    size_t top = 0, scratch = 0;
    int nb = 0;
    for (int s = -1; s < K; s++) {
        for (int t = 0; t < nt; t++)
            if (born[t] == s && dies[t] >= s) e->goff[t] = gplace(blk, &nb, &top, tbytes(e, t), t);
        int w = 0; /* release the gradients whose producer ran at step s */
        for (int j = 0; j < nb; j++)
            if (dies[blk[j].t] > s) blk[w++] = blk[j];
        nb = w;
    }
    move_clamps(e, writers);
    for (int t = 0; t < nt; t++) {
        if (born[t] != INT32_MAX && dies[t] < -1 && t != e->feat) {
            st = fs_error(FS_ERR_INTERNAL, "ft: gradient of '%s' has no producer step", g->tensors[t].name);
            goto done;
        }
        if (writers[t] > 1 && tbytes(e, t) > scratch) scratch = tbytes(e, t);
    }
    e->garena_size = top ? top : GALIGN;
    e->garena = aligned_alloc(GALIGN, e->garena_size);
    e->gscratch_floats = scratch / sizeof(float);
    e->gscratch = aligned_alloc(GALIGN, ((scratch ? scratch : GALIGN) + GALIGN - 1) & ~(size_t)(GALIGN - 1));
    size_t cs = 0;
    for (int k = 0; k < K; k++)
        if (e->bn[k].kind == FTB_CONV) {
            size_t c = gr_conv_scratch_size(&e->bn[k].cs, e->cfg.threads);
            if (c > cs) cs = c;
        }
    e->cscratch_size = cs;
    e->cscratch = cs ? aligned_alloc(GALIGN, (cs + GALIGN - 1) & ~(size_t)(GALIGN - 1)) : NULL;
    if (!e->garena || !e->gscratch || (cs && !e->cscratch)) st = fs_error(FS_ERR_NOMEM, "ft: out of memory for gradients");
    else memset(e->garena, 0, e->garena_size);
done:
    free(born); free(dies); free(writers); free(blk);
    return st;
}

float *ft_grad_of(ft_engine *e, int t) {
    if (t < 0 || !e->goff || e->goff[t] == SIZE_MAX) return NULL;
    return (float *)((char *)e->garena + e->goff[t]);
}

/* d (+)= src over the pool in fixed chunks (element-wise: same result for any split) */
#define FT_COPY_CHUNK 65536
typedef struct { float *d; const float *src; size_t n; int add; } copy_job;

static void copy_task(void *ctx, int t, int thread) {
    (void)thread;
    const copy_job *j = ctx;
    const size_t a = (size_t)t * FT_COPY_CHUNK, len = j->n - a < FT_COPY_CHUNK ? j->n - a : FT_COPY_CHUNK;
    float *d = j->d + a;
    const float *s = j->src + a;
    if (!j->add) memcpy(d, s, len * sizeof(float));
    else
        for (size_t i = 0; i < len; i++) d[i] += s[i];
}

static void copy_add(ft_engine *e, float *d, const float *src, size_t n, int add) {
    copy_job j = {d, src, n, add};
    if (!e->pool || n < 2 * FT_COPY_CHUNK) {
        for (size_t a = 0; a < n; a += FT_COPY_CHUNK) copy_task(&j, (int)(a / FT_COPY_CHUNK), 0);
        return;
    }
    fs_pool_run(e->pool, (int)((n + FT_COPY_CHUNK - 1) / FT_COPY_CHUNK), copy_task, &j);
}

/* Where a gradient of t goes: its own buffer the first time, else the scratch (then added). */
static float *dx_begin(ft_engine *e, int t) { return e->ginit[t] ? e->gscratch : ft_grad_of(e, t); }

static void dx_end(ft_engine *e, int t, float *buf) {
    if (buf == e->gscratch) copy_add(e, ft_grad_of(e, t), buf, nn_numel(&e->g->tensors[t]), 1);
    e->ginit[t] = 1;
}

/* d(t) (+)= dy */
static void add_to(ft_engine *e, int t, const float *dy, size_t n) {
    copy_add(e, ft_grad_of(e, t), dy, n, e->ginit[t]);
    e->ginit[t] = 1;
}

/* PAD backward: dx = the interior of dy (channels and batch unpadded). */
static void pad_crop(const ft_bnode *b, float *dx, const float *dy) {
    const size_t row = (size_t)b->w_ * b->c;
    for (int n = 0; n < b->n; n++)
        for (int y = 0; y < b->h; y++) {
            const float *src = dy + (((size_t)n * b->oh + y + b->pad_t) * b->ow + b->pad_l) * b->c;
            memcpy(dx + ((size_t)n * b->h + y) * row, src, row * sizeof(float));
        }
}

double ft_now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static const char *const prof_names[FT_PROF_N] = {
    "clamp (non-conv)", "conv1x1", "conv KxK", "depthwise", "fc", "add/copy/pad/mean", "(update) optimiser",
    "(update) repack"};

static int conv_prof(const ft_bnode *b) {
    if (b->cs.groups > 1) return FT_PROF_DW;
    return b->cs.kh == 1 && b->cs.kw == 1 ? FT_PROF_1X1 : FT_PROF_KXK;
}

#define PROF_MARK(k)                                 \
    do {                                             \
        if (e->prof_ms) {                            \
            double t1_ = ft_now_ms();                   \
            e->prof_ms[(k)] += t1_ - t0;             \
            t0 = t1_;                                \
        }                                            \
    } while (0)

void ft_profile_print(const ft_engine *e, void *file) {
    FILE *f = file;
    if (!e->prof_ms || !e->prof_runs) return;
    double total = 0;
    for (int k = 0; k < FT_PROF_OPTIM; k++) total += e->prof_ms[k];
    fprintf(f, "backward profile over %d runs (ms per run):\n", e->prof_runs);
    for (int k = 0; k < FT_PROF_N; k++)
        if (k < FT_PROF_OPTIM)
            fprintf(f, "  %-18s %9.2f ms %5.1f%%\n", prof_names[k], e->prof_ms[k] / e->prof_runs,
                    total > 0 ? 100 * e->prof_ms[k] / total : 0);
    fprintf(f, "  total              %9.2f ms\n", total / e->prof_runs);
    for (int k = FT_PROF_OPTIM; k < FT_PROF_N; k++)
        fprintf(f, "  %-18s %9.2f ms\n", prof_names[k], e->prof_ms[k] / e->prof_runs);
}

/* The clamp mask is memory bound: split over the pool in fixed chunks (element-wise: any split gives
 * the same result). */
#define FT_CLAMP_CHUNK 65536
typedef struct { float *dy; const float *y; float lo, hi; size_t n; } clamp_job;

static void clamp_task(void *ctx, int t, int thread) {
    (void)thread;
    const clamp_job *j = ctx;
    size_t a = (size_t)t * FT_CLAMP_CHUNK, len = j->n - a < FT_CLAMP_CHUNK ? j->n - a : FT_CLAMP_CHUNK;
    gr_clamp_backward(j->dy + a, j->y + a, j->lo, j->hi, len);
}

static void clamp_mask(ft_engine *e, float *dy, const float *y, float lo, float hi, size_t n) {
    if (!e->pool || n < 2 * FT_CLAMP_CHUNK) {
        gr_clamp_backward(dy, y, lo, hi, n);
        return;
    }
    clamp_job j = {dy, y, lo, hi, n};
    fs_pool_run(e->pool, (int)((n + FT_CLAMP_CHUNK - 1) / FT_CLAMP_CHUNK), clamp_task, &j);
}

static void backward_node(ft_engine *e, const ft_bnode *b) {
    nn_graph *g = e->g;
    float *dy = ft_grad_of(e, b->y);
    const float *x = g->tensors[b->x].data, *y = g->tensors[b->y].data;
    double t0 = e->prof_ms ? ft_now_ms() : 0;
    float *buf;
    if (b->kind == FTB_CONV && !e->unfused) { /* mask, dW, dX in one call (fused passes where it pays) */
        if (b->dx && e->ginit[b->x] && gr_conv_dx_can_add(&b->cs)) { /* a second writer: accumulate in place */
            gr_conv2d_backward_add(ft_grad_of(e, b->x), b->dw, b->db, dy, b->clamp && !b->clamp_moved ? y : NULL, b->lo,
                                   b->hi, x, b->w, &b->cs, e->cscratch, e->pool);
            PROF_MARK(conv_prof(b));
            return;
        }
        buf = b->dx ? dx_begin(e, b->x) : NULL;
        gr_conv2d_backward_mx(buf, b->dw, b->db, dy, b->clamp && !b->clamp_moved ? y : NULL, b->lo, b->hi, x, b->w,
                              &b->cs, e->cscratch, e->pool, b->mask_dx ? b->mlo : -INFINITY,
                              b->mask_dx ? b->mhi : INFINITY);
        if (buf) dx_end(e, b->x, buf);
        PROF_MARK(conv_prof(b));
        return;
    }
    if (b->clamp) clamp_mask(e, dy, y, b->lo, b->hi, b->numel);
    PROF_MARK(b->kind == FTB_CONV ? conv_prof(b) : FT_PROF_CLAMP);
    switch (b->kind) {
    case FTB_CONV:
        if (b->dw) gr_conv2d_backward_weight(b->dw, b->db, dy, x, &b->cs, e->cscratch, e->pool);
        if (b->dx) {
            buf = dx_begin(e, b->x);
            gr_conv2d_backward_data(buf, dy, b->w, &b->cs, e->cscratch, e->pool);
            dx_end(e, b->x, buf);
        }
        PROF_MARK(conv_prof(b));
        break;
    case FTB_FC:
        buf = b->dx ? dx_begin(e, b->x) : NULL;
        if (b->dw) gr_fc_backward(buf, b->dw, b->db, dy, x, b->w, b->rows, b->cin, b->cout, e->pool);
        else if (buf) gr_fc_backward_ref(buf, NULL, NULL, dy, x, b->w, b->rows, b->cin, b->cout);
        if (buf) dx_end(e, b->x, buf);
        PROF_MARK(FT_PROF_FC);
        break;
    case FTB_ADD:
        if (b->dx) add_to(e, b->x, dy, b->numel);
        if (b->dx2) add_to(e, b->x2, dy, b->numel);
        break;
    case FTB_MEAN:
        if (b->dx) {
            buf = dx_begin(e, b->x);
            gr_mean_hw_backward(buf, dy, b->n, b->h, b->c);
            dx_end(e, b->x, buf);
        }
        break;
    case FTB_PAD:
        if (b->dx) {
            buf = dx_begin(e, b->x);
            pad_crop(b, buf, dy);
            dx_end(e, b->x, buf);
        }
        break;
    case FTB_CLAMP:
    case FTB_COPY:
        if (b->dx) add_to(e, b->x, dy, b->numel);
        break;
    }
    if (b->kind != FTB_CONV && b->kind != FTB_FC) PROF_MARK(FT_PROF_OTHER);
}

void ft_backward_graph(ft_engine *e) {
    memset(e->ginit, 0, (size_t)e->g->n_tensors);
    e->ginit[e->feat] = 1;
    for (int k = e->n_bn - 1; k >= 0; k--) {
        const ft_bnode *b = &e->bn[k];
        if (!e->ginit[b->y]) continue; /* no gradient reached this output: contributes nothing */
        backward_node(e, b);
    }
    e->prof_runs += e->prof_ms != NULL;
}
