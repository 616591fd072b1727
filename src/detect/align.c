/* detect/align.c — 5-point similarity alignment and plain box crops.
 *
 * The similarity z -> a*z + b (a, b complex: rotation + uniform scale + translation, no reflection)
 * minimising sum |a*src_i + b - dst_i|^2 has the closed form (Umeyama 1991 in 2-D)
 *   a = sum conj(s_i - s_mean) * (d_i - d_mean) / sum |s_i - s_mean|^2,   b = d_mean - a * s_mean.
 * As a 2x3 matrix [p -q tx; q p ty] with a = p + i q. */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "facescore.h"

/* ArcFace / insightface 112x112 template: right eye, left eye, nose, right and left mouth corner
 * (image-left first), the same order as YuNet's landmarks. */
static const float arcface112[5][2] = {
    {38.2946f, 51.6963f}, {73.5318f, 51.5014f}, {56.0252f, 71.7366f},
    {41.5493f, 92.3655f}, {70.7299f, 92.2041f},
};

fs_status fs_similarity_estimate(const float (*src)[2], const float (*dst)[2], int n, double m[6]) {
    if (!src || !dst || !m || n < 2) return fs_error(FS_ERR_ARG, "similarity: need >= 2 point pairs");
    double sx = 0, sy = 0, dx = 0, dy = 0;
    for (int i = 0; i < n; i++) {
        sx += src[i][0]; sy += src[i][1];
        dx += dst[i][0]; dy += dst[i][1];
    }
    sx /= n; sy /= n; dx /= n; dy /= n;
    double num_re = 0, num_im = 0, den = 0;
    for (int i = 0; i < n; i++) {
        double ax = src[i][0] - sx, ay = src[i][1] - sy;
        double bx = dst[i][0] - dx, by = dst[i][1] - dy;
        /* conj(ax + i ay) * (bx + i by) */
        num_re += ax * bx + ay * by;
        num_im += ax * by - ay * bx;
        den += ax * ax + ay * ay;
    }
    if (!(den > 1e-12) || !isfinite(num_re) || !isfinite(num_im))
        return fs_error(FS_ERR_ARG, "similarity: source points coincide or are not finite");
    double p = num_re / den, q = num_im / den;
    m[0] = p; m[1] = -q; m[2] = dx - (p * sx - q * sy);
    m[3] = q; m[4] = p;  m[5] = dy - (q * sx + p * sy);
    return FS_OK;
}

fs_status fs_affine_invert(const double m[6], double inv[6]) {
    double det = m[0] * m[4] - m[1] * m[3];
    if (!(fabs(det) > 1e-12) || !isfinite(det))
        return fs_error(FS_ERR_ARG, "affine: matrix is singular");
    double a = m[4] / det, b = -m[1] / det, c = -m[3] / det, d = m[0] / det;
    inv[0] = a; inv[1] = b; inv[2] = -(a * m[2] + b * m[5]);
    inv[3] = c; inv[4] = d; inv[5] = -(c * m[2] + d * m[5]);
    return FS_OK;
}

void fs_align_template(int size, float margin, float out[5][2]) {
    double k = (double)size / 112.0 / (1.0 + (margin > -0.9f ? margin : -0.9f));
    double c = size / 2.0;
    for (int i = 0; i < 5; i++) {
        out[i][0] = (float)(c + (arcface112[i][0] - 56.0) * k);
        out[i][1] = (float)(c + (arcface112[i][1] - 56.0) * k);
    }
}

void fs_align_params_default(fs_align_params *p) {
    p->size = 224;
    p->margin = FS_ALIGN_MARGIN_224;
    p->box_scale = 1.0f;
}

void fs_align_params_arcface(fs_align_params *p) {
    p->size = 112;
    p->margin = 0.f;
    p->box_scale = 1.0f;
}

/* Square box crop: the box's centre, side max(w, h) * scale, mapped onto size x size. Inverse map
 * for fs_image_warp_affine with pixel-centre alignment (the same sampling as a crop + bilinear
 * resize): src = x0 + (dst + 0.5) * side / size - 0.5. */
static void box_crop_matrix(const fs_rect *b, float scale, int size, double inv[6]) {
    double side = (b->w > b->h ? b->w : b->h) * (double)scale;
    double x0 = b->x + b->w / 2.0 - side / 2.0, y0 = b->y + b->h / 2.0 - side / 2.0;
    double k = side / size;
    inv[0] = k; inv[1] = 0; inv[2] = x0 + 0.5 * k - 0.5;
    inv[3] = 0; inv[4] = k; inv[5] = y0 + 0.5 * k - 0.5;
}

fs_status fs_face_align_matrix(const fs_face *face, const fs_align_params *p, double m[6]) {
    if (!face || !p || !m) return fs_error(FS_ERR_ARG, "align: NULL argument");
    if (p->size < 8 || p->size > 4096) return fs_error(FS_ERR_ARG, "align: size %d outside 8..4096", p->size);
    if (face->has_landmarks) {
        float tpl[5][2];
        fs_align_template(p->size, p->margin, tpl);
        return fs_similarity_estimate((const float (*)[2])face->landmarks,
                                      (const float (*)[2])tpl, 5, m);
    }
    if (!(face->box.w > 0 && face->box.h > 0) || !(p->box_scale > 0))
        return fs_error(FS_ERR_ARG, "align: empty face box and no landmarks");
    double inv[6];
    box_crop_matrix(&face->box, p->box_scale, p->size, inv);
    return fs_affine_invert(inv, m);
}
/* The original system's crop: the box itself, resized. Used when the box is inside the image. */
static int box_inside(const fs_rect *b, const fs_image *img) {
    return b->x >= 0 && b->y >= 0 && b->x + b->w <= img->width && b->y + b->h <= img->height;
}

fs_status fs_face_align(const fs_image *img, const fs_face *face, const fs_align_params *p,
                        fs_image *out) {
    if (!img || !img->data || !face || !out) return fs_error(FS_ERR_ARG, "align: NULL argument");
    fs_align_params def;
    if (!p) { fs_align_params_default(&def); p = &def; }
    double fwd[6], inv[6];
    fs_status st = fs_face_align_matrix(face, p, fwd);
    if (st != FS_OK) return st;
    if (!face->has_landmarks && p->box_scale == 1.0f && box_inside(&face->box, img) &&
        fabsf(face->box.w - face->box.h) < 0.5f) {
        /* exactly the original: crop the (integer) box, bilinear resize */
        int x = (int)lrintf(face->box.x), y = (int)lrintf(face->box.y);
        int w = (int)lrintf(face->box.w), h = (int)lrintf(face->box.h);
        if (w > 0 && h > 0 && x + w <= img->width && y + h <= img->height) {
            fs_image crop;
            memset(&crop, 0, sizeof crop);
            st = fs_image_crop(img, x, y, w, h, &crop);
            if (st != FS_OK) return st;
            st = fs_image_resize(&crop, p->size, p->size, FS_RESIZE_BILINEAR, out);
            fs_image_free(&crop);
            return st;
        }
    }
    st = fs_affine_invert(fwd, inv);
    if (st != FS_OK) return st;
    return fs_image_warp_affine(img, inv, p->size, p->size, out);
}
