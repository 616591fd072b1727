/* train/features.h — backbone features of every image of a dataset, multi-threaded, with a
 * progress bar and an on-disk cache.
 *
 * Each image: decode -> detect (YuNet default, or Haar) -> keep the largest face (none found: the
 * whole image is the box) -> per backbone crop -> [augment] -> features (mirror-averaged).
 * Cache, one folder per backbone so that any combination reuses what was computed:
 * <cache_dir>/features/<settings key>/<image key>.f32, the keys being FNV-1a 64 of the settings string
 * "v2|backbone|crop|detector|flip1|augK|seedS" and of the image file's bytes. A file holds the
 * backbone's dim float32 values then one float (1 = a face was found, 0 = whole image). Nothing of
 * the images themselves is stored. */
#ifndef FS_TRAIN_FEATURES_H
#define FS_TRAIN_FEATURES_H
#include "data/dataset.h"
#include "score/backbone.h"

typedef struct {
    const char *backbones;   /* "faceres+mnv2+mfn" (default) */
    bb_crop crop;
    fs_detector_type detector;
    const char *models_dir;  /* folder with the backbone folders */
    const char *cache_dir;   /* NULL = no cache */
    int threads;             /* <= 0: all cores */
    int augment;             /* 0 = plain; k >= 1 = augmented copy number k */
    uint64_t seed;           /* augmentation seed */
    int quiet;               /* no progress bar */
    const mf_file *weights;  /* backbone weight overrides (a fine-tuned model file), NULL = stock;
                                their FNV-1a joins the cache key of the backbones they change */
} fe_options;

typedef struct {
    int n, dim;
    float *x;        /* n x dim */
    int n_noface;    /* images where no face was found */
    int n_cached;    /* read from the cache */
    double ms;       /* wall time */
} fe_matrix;

void fe_options_default(fe_options *o);
/* Default cache folder: $FACESCORE_CACHE, else $HOME/.cache/facescore (NULL if neither). */
const char *fe_default_cache_dir(void);
fs_status fe_extract(const ds_set *ds, const fe_options *o, fe_matrix *out);
void fe_matrix_free(fe_matrix *m);
#endif
