/* train/ft/loader.h — training batches for fine-tuning a backbone (issue 11).
 *
 * ld_open detects the face of every row once (YuNet by default, the largest face; none found: the
 * whole image is the box, as train/features.c does) in parallel, and caches the detections on disk:
 * <cache_dir>/faces/<settings key>/<image key>.face, the keys being FNV-1a 64 of the detector settings
 * string and of the image file's bytes (only a box, a score and 5 points are stored — no pixels). The
 * aligned crops (bb_crop_for: what the scorer feeds the backbone) are kept in RAM when they fit in
 * crop_mem bytes, else decoded again for every use (both give the same bytes).
 *
 * A stream is one pass over a list of rows, in batches of `batch` items [B][S][S][3] (S = the
 * backbone's input side), preprocessed as the backbone wants (bb_preprocess: faceres BGR - ImageNet
 * mean, MobileNetV2 RGB/127.5-1):
 *   ld_train(epoch): rows shuffled by (seed, epoch), floor(n / B) full batches (the tail is dropped;
 *       n < B gives one batch of n), each crop augmented as the original's ImageDataGenerator
 *       (train/augment.h: rotation +-20, flip, brightness 0.6-1.3, shear 0.15) with parameters drawn
 *       from (seed, row name, epoch) — so a batch's bytes depend only on (seed, epoch, batch index),
 *       never on the number of workers or on timing.
 *   ld_eval(flip): rows in the given order, ceil(n / B) batches (the last may be short), plain crops,
 *       mirrored when flip.
 * Worker threads fill up to LD_SLOTS batches ahead of the consumer (double buffering): ld_next hands
 * out batch t and recycles batch t-1's buffer. One consumer thread. */
#ifndef FS_TRAIN_FT_LOADER_H
#define FS_TRAIN_FT_LOADER_H
#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "score/backbone.h"

#define LD_SLOTS 3
#define LD_CLASSES 5

typedef struct {
    const char *backbone;      /* "faceres" (default), "mnv2", "mfn": crop side and preprocessing */
    bb_crop crop;              /* BB_CROP_ALIGN (default) */
    fs_detector_type detector; /* FS_DETECTOR_YUNET (default) */
    const char *cache_dir;     /* detection cache root, NULL = none */
    int batch;                 /* B, default 16 */
    int workers;               /* loader threads, default 1; detection uses max(workers, det_threads) */
    int det_threads;           /* threads for the one-off detection pass, <= 0: all cores */
    uint64_t seed;
    int augment;               /* 1 (default): augment training batches; 0: plain crops */
    float ldl_sigma;           /* spread of the label-distribution target, default 0.5 */
    size_t crop_mem;           /* keep the crops in RAM up to this many bytes (default 1 GiB; 0 = never) */
    int quiet;                 /* no progress bar */
} ld_options;

typedef struct {
    int n;                     /* rows in this batch (<= B) */
    int epoch, index;          /* stream's epoch (-1 for eval) and batch number in the stream */
    float *x;                  /* [B][S][S][3] network input; rows >= n are zero */
    float *score;              /* [B] mean rating 1..5 */
    int   *gender;             /* [B] DS_MALE / DS_FEMALE / DS_UNKNOWN */
    int   *cls;                /* [B] class 0..4 = round(score) - 1 */
    float *ldl;                /* [B][LD_CLASSES] discretised Gaussian around the score (gr_ldl_target) */
    int   *row;                /* [B] index into the dataset */
} ld_batch;

typedef struct ld_loader ld_loader;

void ld_options_default(ld_options *o);
/* Detects the faces of all ds rows (cache first). ds must outlive the loader. */
fs_status ld_open(const ld_options *o, const ds_set *ds, ld_loader **out);
void ld_close(ld_loader *l);

int ld_size(const ld_loader *l);          /* S */
int ld_batch_size(const ld_loader *l);    /* B */
int ld_faces_found(const ld_loader *l);   /* rows where a face was detected */
int ld_cached(const ld_loader *l);        /* rows whose detection came from the cache */
int ld_crops_in_memory(const ld_loader *l);
const fs_face *ld_face(const ld_loader *l, int row);

/* Batches of a training epoch over n rows. */
int ld_train_batches(int n_rows, int batch);
/* Starts the training stream of an epoch over rows[0..n) (indices into ds; copied), from batch
 * first_batch on (0 = the whole epoch; > 0 resumes inside it with the same bytes). */
fs_status ld_train(ld_loader *l, const int *rows, int n_rows, int epoch, int first_batch);
/* A plain pass over rows[0..n) in order. */
fs_status ld_eval(ld_loader *l, const int *rows, int n_rows, int flip);
int ld_stream_batches(const ld_loader *l);
/* Next batch of the stream (blocks until ready); NULL *out at the end. The batch stays valid until
 * the next ld_next / ld_train / ld_eval / ld_close. Errors (a file that no longer decodes) come here. */
fs_status ld_next(ld_loader *l, const ld_batch **out);
/* Milliseconds the consumer spent waiting in ld_next, and the workers' busy time, since ld_open. */
void ld_timing(const ld_loader *l, double *wait_ms, double *work_ms);

/* Fisher-Yates permutation of 0..n-1 from (seed, epoch): the training order. */
void ld_permutation(int *perm, int n, uint64_t seed, int epoch);
#endif
