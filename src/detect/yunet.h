/* detect/yunet.h — YuNet post-processing (decode, NMS, coordinate mapping) and alignment
 * internals, separated from the runtime so they can be tested on hand-built tensors.
 *
 * YuNet (libfacedetection.train, 2023 head) has 12 outputs, for stride s in {8,16,32} over a
 * grid of rows = H/s, cols = W/s cells (one anchor per cell, row-major):
 *   cls_s [rows*cols]      sigmoid class score
 *   obj_s [rows*cols]      sigmoid objectness
 *   bbox_s[rows*cols][4]   (dx, dy, log w, log h) in stride units
 *   kps_s [rows*cols][10]  5 x (dx, dy) in stride units
 * Decoding (OpenCV FaceDetectorYN): score = sqrt(clamp01(cls) * clamp01(obj));
 *   cx = (col + bbox0)*s, cy = (row + bbox1)*s, w = exp(bbox2)*s, h = exp(bbox3)*s,
 *   landmark k = ((kps[2k] + col)*s, (kps[2k+1] + row)*s). */
#ifndef FS_DETECT_YUNET_H
#define FS_DETECT_YUNET_H

#include "facescore.h"

typedef struct {
    int stride, rows, cols;
    const float *cls, *obj, *bbox, *kps;
} yunet_level;

/* Growable list of faces. */
typedef struct {
    fs_face *v;
    int n, cap;
} det_faces;

/* Appends every anchor with score >= thresh, in model-input pixels (box = top-left x,y,w,h).
 * Returns FS_OK or FS_ERR_NOMEM. */
fs_status yunet_decode(const yunet_level *lv, int n_levels, float thresh, det_faces *out);

/* IoU of two boxes (x, y, w, h); 0 when either is empty. */
float det_iou(const fs_rect *a, const fs_rect *b);

/* Greedy NMS as cv::dnn::NMSBoxes: sorts by confidence (descending, stable for ties), keeps a face
 * unless its IoU with an already kept face exceeds iou_thresh; at most top_k kept (<= 0: all).
 * Compacts f in place (kept faces in descending confidence) and returns the kept count. */
int det_nms(fs_face *f, int n, float iou_thresh, int top_k);

/* Letterbox geometry: the photo (img_w x img_h) is scaled by `scale` to (rw x rh) = the sides
 * times scale, truncated (the longer side exactly the target), and pasted at the top-left of a
 * zero canvas of (in_w x in_h). Coordinates map back by dividing by `scale` (this reproduces
 * ../shared/models/yunet/golden exactly). */
typedef struct {
    int img_w, img_h;
    int rw, rh;        /* resized photo size */
    int in_w, in_h;    /* network input size */
    double scale;      /* target / longer side */
} yunet_geom;

/* fixed_w/fixed_h > 0: fixed model input (the longer side is scaled to fit, aspect kept).
 * Otherwise (dynamic model): longer side scaled to target (> 0) and the canvas padded to a
 * multiple of 32. Returns FS_ERR_ARG for empty images or sizes beyond 8192. */
fs_status yunet_geometry(int img_w, int img_h, int fixed_w, int fixed_h, int target,
                         yunet_geom *g);

/* Maps faces from network-input pixels back to the photo and clips boxes to it. */
void yunet_map_back(const yunet_geom *g, fs_face *f, int n);

/* Final ordering + code/largest for a detections list. */
typedef enum { DET_SORT_SCORE = 0, DET_SORT_AREA, DET_SORT_X } det_sort_key;
void det_sort(fs_face *f, int n, det_sort_key key);
/* code = FS_CODE_NO_FACE / ONE_FACE / MANY_FACES, largest = argmax box area (first on ties). */
void det_finish(fs_detections *d);

/* Drops faces whose box side min(w, h) < min_size; returns the new count. */
int det_drop_small(fs_face *f, int n, float min_size);

/* Packs an RGB/gray image into a zeroed NCHW float canvas [3][in_h][in_w] in BGR order,
 * the image (already resized to rw x rh) at the top-left. */
void yunet_pack_bgr(const fs_image *resized, float *canvas, int in_w, int in_h);

/* The network (detect/yunet.c, on the fs_model runtime). */
typedef struct yunet yunet;
typedef struct {
    float score_threshold; /* 0.6 */
    float nms_iou;         /* 0.3 */
    int   input_size;      /* dynamic model: longer side target (<= 0: 640); ignored by fixed models */
    int   top_k;           /* max faces after NMS, <= 0: all */
} yunet_params;

fs_status yunet_open(const char *path, int threads, yunet **out);
void      yunet_free(yunet *y);
/* Model input side for fixed-size models, 0 for the dynamic one. */
int       yunet_fixed_size(const yunet *y);
/* Faces in photo pixels, after threshold and NMS (descending score); out->n reset first. */
fs_status yunet_detect(yunet *y, const fs_image *img, const yunet_params *p, det_faces *out);

#endif
