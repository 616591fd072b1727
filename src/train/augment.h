/* train/augment.h — the original's ImageDataGenerator augmentation on a face crop:
 * rotation U(-20, 20) degrees, shear angle U(-0.15, 0.15) degrees (Keras reads shear_range in
 * degrees), horizontal flip with p 0.5, brightness factor U(0.6, 1.3); all about the crop centre,
 * border black. Deterministic: parameters come from aug_rng seeded by (seed, item, copy). */
#ifndef FS_TRAIN_AUGMENT_H
#define FS_TRAIN_AUGMENT_H
#include <stdint.h>
#include "facescore.h"

typedef struct { double angle_deg, shear_deg, brightness; int flip; } aug_params;

/* splitmix64 stream */
typedef struct { uint64_t s; } aug_rng;
void     aug_rng_seed(aug_rng *r, uint64_t a, uint64_t b, uint64_t c);
uint64_t aug_rng_next(aug_rng *r);
double   aug_rng_uniform(aug_rng *r); /* [0,1) */

void aug_params_draw(aug_rng *r, aug_params *p);
/* Inverse 2x3 map (output pixel -> source pixel) of p for a w x h crop. */
void aug_matrix(const aug_params *p, int w, int h, double inv[6]);
/* dst = augmented copy of src (same size; RGB or gray). */
fs_status aug_apply(const fs_image *src, const aug_params *p, fs_image *dst);
#endif
