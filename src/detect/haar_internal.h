/* detect/haar_internal.h — the Haar cascade detector's internal types (not public API).
 *
 * The cascade mirrors OpenCV 4.6's CascadeClassifierImpl::Data after loading a "new format" XML:
 * stages -> weak trees -> nodes/leaves, plus a flat stump table when every tree has one node, and
 * HAAR features of up to 3 weighted rectangles (optionally tilted by 45 degrees).
 * Floating-point values are stored as OpenCV stores them (float), so that detection arithmetic
 * can follow OpenCV's operation by operation. */
#ifndef FS_DETECT_HAAR_INTERNAL_H
#define FS_DETECT_HAAR_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

#include "facescore.h"

typedef struct { int x, y, w, h; } haar_irect;

typedef struct {
    haar_irect r[3];
    float weight[3]; /* 0 for an absent third rectangle */
    int tilted;
} haar_feature;

typedef struct { int left, right, feature; float threshold; } haar_node; /* OpenCV DTreeNode */
#define HAAR_FOFS 16 /* integral offsets per feature: HAAR 3 rects x 4 corners, LBP a 4x4 grid */
typedef struct { int node_count, first_node, first_leaf; } haar_tree;
typedef struct { float threshold; int ntrees, first_tree; } haar_stage; /* threshold - 1e-5f */
typedef struct { int feature; float threshold, left, right; } haar_stump;

struct fs_cascade {
    int win_w, win_h;
    int nstages, ntrees, nnodes, nleaves, nfeatures;
    haar_stage *stages;
    haar_tree *trees;
    haar_node *nodes;
    float *leaves;
    haar_feature *features;
    haar_stump *stumps; /* non-NULL when max nodes per tree == 1 (ntrees entries, stage order) */
    int has_tilted;
    int lbp;            /* featureType LBP: features are r[0] (a 3x3 grid of r[0]-sized cells),
                         * nodes are categorical with 8 x 32-bit subsets each */
    int32_t *subsets;   /* LBP: 8 per node */
};

/* ---- tiny XML reader (haar_xml.c) ---- */
typedef struct haar_xnode {
    const char *name; size_t name_len;
    const char *text; size_t text_len;   /* concatenated direct character data (first run only) */
    const char *type_id; size_t type_id_len; /* type_id attribute, if any */
    int first_child, next_sibling;       /* indices into the node array, -1 = none */
    int line;
} haar_xnode;

typedef struct {
    haar_xnode *nodes;
    int n, cap;
} haar_xdoc;

/* Parses buf (not necessarily NUL-terminated). Returns FS_OK or FS_ERR_FORMAT with a reason. */
fs_status haar_xml_parse(const char *buf, size_t len, haar_xdoc *doc);
void haar_xml_free(haar_xdoc *doc);
/* First child of node `parent` named `name`, or -1. */
int haar_xml_child(const haar_xdoc *d, int parent, const char *name);
int haar_xml_count_children(const haar_xdoc *d, int parent);

/* ---- pyramid level (haar_image.c) ---- */
/* OpenCV cv::resize(..., INTER_LINEAR_EXACT) for 8-bit gray, bit-exact. dst is dw x dh, stride dw.
 * Returns 0, or -1 when its small scratch allocation fails. */
int haar_resize_linear_exact(const uint8_t *src, int sw, int sh, int sstride,
                             uint8_t *dst, int dw, int dh);
/* Only rows [r0, r1) of that dw x dh result, written from dst's first row. */
int haar_resize_linear_exact_rows(const uint8_t *src, int sw, int sh, int sstride,
                                  uint8_t *dst, int dw, int dh, int r0, int r1);
/* Integral images of a w x h 8-bit image into (w+1) x (h+1) arrays with row stride `step` (ints):
 * sum and squared sum (32-bit, wrapping like OpenCV's CV_32S sqsum); tilted if non-NULL
 * (OpenCV's rotated-sum definition, needs scratch of 2*(w+h+4) uint32). */
void haar_integral(const uint8_t *img, int w, int h, int istride, int step,
                   int32_t *sum, int32_t *sqsum, int32_t *tilted, uint32_t *scratch);

/* ---- grouping (haar_group.c) ---- */
typedef struct { int x, y, w, h; } haar_box;
/* cv::groupRectangles(rects, groupThreshold, eps) without weights. rects is rewritten in place,
 * returns the new count; weights_out (may be NULL) gets each kept cluster's size. */
int haar_group_rectangles(haar_box *rects, int n, int group_threshold, double eps, int *weights_out);

/* ---- per-scale evaluation (haar_detect.c, x86/avx2/haar_avx2.c) ---- */
typedef struct {
    const struct fs_cascade *c;
    const int32_t *sum;   /* integral base of this scale */
    int sqofs, tofs;      /* element offsets from sum to sqsum / tilted */
    int step;             /* row stride in ints */
    const int *fofs;      /* per feature: HAAR_FOFS offsets (3 rects x 4 corners, or LBP's 4x4 grid) */
    const float *fw;      /* per feature: 3 weights */
    int nofs[4];          /* normrect corners */
    double area;          /* normrect area */
    int ystep, wx_end, wy_end; /* window grid: x < wx_end, y < wy_end, step ystep */
    int deint;            /* ystep 2 only: each integral row holds its even columns, then its odd
                           * ones (ceil(step/2) even), and fofs/nofs address that layout, so window
                           * k of a row (x = 2k) starts at row + k. Lane scans only. */
} haar_scale_ctx;

/* Evaluates the windows of rows [y0, y1) (multiples of ystep) with OpenCV's scan order and skip
 * rule; appends the top-left corners (in scaled pixels) of accepted windows to xs/ys (growing them).
 * Returns 0 or -1 on allocation failure. */
typedef int (*haar_rows_fn)(const haar_scale_ctx *s, int y0, int y1, int **xs, int **ys, int *n, int *cap);
int haar_rows_portable(const haar_scale_ctx *s, int y0, int y1, int **xs, int **ys, int *n, int *cap);
int haar_rows_lanes(const haar_scale_ctx *s, int y0, int y1, int **xs, int **ys, int *n, int *cap);
int haar_rows_avx2(const haar_scale_ctx *s, int y0, int y1, int **xs, int **ys, int *n, int *cap);
/* Single window (portable): 1 accepted, 0 rejected at stage 0, -k rejected at stage k, -1 also
 * for a flat window (OpenCV's setWindow() failure). */
int haar_eval_window(const haar_scale_ctx *s, int x, int y);
int haar_push(int x, int y, int **xs, int **ys, int *n, int *cap);
/* Stages [first, nstages) of the window at integral pointer p with norm factor vnf (portable);
 * 1 accepted, -k rejected at stage k. */
int haar_eval_stages(const haar_scale_ctx *s, const int32_t *p, float vnf, int first);

/* All candidate windows (before grouping) of a gray image, in image pixels, scanning with `rows`
 * (NULL: haar_select_rows). *boxes is malloc'ed. Order is unspecified. */
fs_status haar_detect_raw(const struct fs_cascade *c, const fs_image *gray, const fs_haar_params *p,
                          haar_rows_fn rows, haar_box **boxes, int *nboxes);

/* Which row evaluator fs_haar_detect uses (after fs_cpu_features() and FS_CPU). */
haar_rows_fn haar_select_rows(const struct fs_cascade *c, const char **name);
#endif
