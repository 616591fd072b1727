/* train/ft/checkpoint.h — fine-tuning checkpoints (`facescore finetune`, written after each epoch).
 *
 * One file in the model-file container (docs/model-format.md: magic, sizes, FNV-1a checksum over the
 * whole file, so any flipped byte or truncation is refused) with metadata
 *   format = facescore-finetune-checkpoint, ckpt.version = 1,
 *   config (canonical string of every setting that shapes the run), data.fnv1a64 (training rows),
 *   backbone.fnv1a64 (the backbone files), layout.fnv1a64 (names, offsets and sizes of the
 *   trainable tensors), epoch (completed), step, rng (dropout stream), best.epoch, best.val, history
 * and tensors params, m, [v], feat_mean, feat_inv_std, [best] (the parameters of the best epoch so
 * far). The loader has no state of its own: batches are a function of (seed, epoch, batch index).
 * Written atomically: temp file, fsync, rename, fsync of the folder. A checkpoint is only resumed
 * into the same config, data, backbone and layout — anything else is refused with what differs. */
#ifndef FS_TRAIN_FT_CHECKPOINT_H
#define FS_TRAIN_FT_CHECKPOINT_H
#include <stdint.h>

#include "facescore.h"
#include "train/ft/ft.h"

#define CK_HISTORY_MAX 16384

typedef struct {
    char config[2048];          /* canonical settings */
    uint64_t data_hash, backbone_hash;
    int epoch;                  /* epochs completed */
    int best_epoch;             /* 1-based epoch of best, 0 = none yet */
    double best_val;            /* validation PC of best_epoch */
    char history[CK_HISTORY_MAX]; /* one line per epoch (deterministic values only) */
} ck_info;

/* FNV-1a 64 of the state's layout (names, offsets, counts, blocks, decay flags). */
uint64_t ck_layout_hash(const ft_state *s);
/* Writes info + state (+ best[n_params] if not NULL) to path atomically. */
fs_status ck_save(const char *path, const ck_info *info, const ft_state *s, const float *best);
/* Reads path into the state's arrays (and best, if not NULL and the file has one: *has_best = 1),
 * after checking format, version, checksum, and that config / data / backbone / layout equal
 * `expect`'s and s's. out receives the file's info. The caller then calls ft_state_changed. */
fs_status ck_load(const char *path, const ck_info *expect, ft_state *s, float *best, int *has_best, ck_info *out);
#endif
