/* score/heads_io.h — hd_model <-> model file (tensor names and metadata keys in
 * docs/model-format.md). */
#ifndef FS_SCORE_HEADS_IO_H
#define FS_SCORE_HEADS_IO_H
#include "score/model_file.h"
#include "train/head.h"

/* meta: caller's key/value pairs (backbones, crop, ...); the tensors come from m. */
fs_status hio_save(const char *path, const hd_model *m, const mf_meta *meta, int n_meta);
/* Same, plus extra tensors after the heads' (fine-tuned backbone weights "backbone.NAME.TENSOR"). */
fs_status hio_save_with(const char *path, const hd_model *m, const mf_meta *meta, int n_meta,
                        const mf_tensor *extra, int n_extra);
/* Copies the tensors of an opened file into a new hd_model (checks every shape). */
fs_status hio_load(const mf_file *f, hd_model *m);
#endif
