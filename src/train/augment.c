/* train/augment.c — see augment.h. */
#include "train/augment.h"

#include <math.h>

void aug_rng_seed(aug_rng *r, uint64_t a, uint64_t b, uint64_t c) {
    r->s = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL) * 0xbf58476d1ce4e5b9ULL ^ c * 0x94d049bb133111ebULL;
    aug_rng_next(r);
}

uint64_t aug_rng_next(aug_rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double aug_rng_uniform(aug_rng *r) { return (double)(aug_rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

void aug_params_draw(aug_rng *r, aug_params *p) {
    p->angle_deg = -20.0 + 40.0 * aug_rng_uniform(r);
    p->shear_deg = -0.15 + 0.30 * aug_rng_uniform(r);
    p->flip = aug_rng_uniform(r) < 0.5;
    p->brightness = 0.6 + 0.7 * aug_rng_uniform(r);
}

/* Forward map about the centre c: x' = R S F (x - c) + c, with F the flip, S the shear
 * [1 -sin(s); 0 cos(s)] (Keras' shear matrix) and R the rotation; the inverse is what warp needs. */
void aug_matrix(const aug_params *p, int w, int h, double inv[6]) {
    double t = p->angle_deg * M_PI / 180.0, s = p->shear_deg * M_PI / 180.0;
    double f = p->flip ? -1.0 : 1.0;
    /* A = R * S * F */
    double r00 = cos(t), r01 = -sin(t), r10 = sin(t), r11 = cos(t);
    double s00 = 1, s01 = -sin(s), s10 = 0, s11 = cos(s);
    double a00 = (r00 * s00 + r01 * s10) * f, a01 = r00 * s01 + r01 * s11;
    double a10 = (r10 * s00 + r11 * s10) * f, a11 = r10 * s01 + r11 * s11;
    double det = a00 * a11 - a01 * a10;
    double i00 = a11 / det, i01 = -a01 / det, i10 = -a10 / det, i11 = a00 / det;
    double cx = (w - 1) * 0.5, cy = (h - 1) * 0.5;
    inv[0] = i00; inv[1] = i01; inv[2] = cx - i00 * cx - i01 * cy;
    inv[3] = i10; inv[4] = i11; inv[5] = cy - i10 * cx - i11 * cy;
}

fs_status aug_apply(const fs_image *src, const aug_params *p, fs_image *dst) {
    double inv[6];
    aug_matrix(p, src->width, src->height, inv);
    fs_status st = fs_image_warp_affine(src, inv, src->width, src->height, dst);
    if (st != FS_OK) return st;
    int bscale = (int)lrint(p->brightness * 256.0);
    for (int y = 0; y < dst->height; y++) {
        uint8_t *row = dst->data + (size_t)y * dst->stride;
        for (int i = 0; i < dst->width * dst->channels; i++) {
            int v = (row[i] * bscale + 128) >> 8;
            row[i] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
    return FS_OK;
}
