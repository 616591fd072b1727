/* tests/detect — 5-point similarity alignment (detect/align.c): hand-computed transforms and
 * OpenCV's estimateAffinePartial2D on noisy point sets (tests/data/yunet/similarity_cv2.txt,
 * made by tests/data/yunet/gen_similarity_cv2.py). */
#include "../test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "facescore.h"

static const float arc[5][2] = {{38.2946f, 51.6963f}, {73.5318f, 51.5014f}, {56.0252f, 71.7366f},
                                {41.5493f, 92.3655f}, {70.7299f, 92.2041f}};

static void apply(const double m[6], double x, double y, double *ox, double *oy) {
    *ox = m[0] * x + m[1] * y + m[2];
    *oy = m[3] * x + m[4] * y + m[5];
}

TEST(template_arcface_and_scaled) {
    float t[5][2];
    fs_align_template(112, 0.f, t);
    for (int i = 0; i < 5; i++) {
        CHECK_NEAR(t[i][0], arc[i][0], 1e-4);
        CHECK_NEAR(t[i][1], arc[i][1], 1e-4);
    }
    /* 224 with margin 1: (p - 56) * 2 / 2 + 112 = p + 56 */
    fs_align_template(224, 1.f, t);
    for (int i = 0; i < 5; i++) {
        CHECK_NEAR(t[i][0], arc[i][0] + 56, 1e-4);
        CHECK_NEAR(t[i][1], arc[i][1] + 56, 1e-4);
    }
    fs_align_params p;
    fs_align_params_default(&p);
    CHECK(p.size == 224 && p.margin == FS_ALIGN_MARGIN_224 && p.box_scale == 1.f);
    fs_align_params_arcface(&p);
    CHECK(p.size == 112 && p.margin == 0.f);
}

TEST(similarity_recovers_hand_computed_transform) {
    /* landmarks = template rotated by 30 deg, scaled by 2.5, shifted by (300, 120): the estimate
     * must be the exact inverse, i.e. scale 0.4, rotation -30 deg. */
    double a = 30.0 * M_PI / 180.0, s = 2.5, tx = 300, ty = 120;
    float lm[5][2];
    for (int i = 0; i < 5; i++) {
        lm[i][0] = (float)(s * (cos(a) * arc[i][0] - sin(a) * arc[i][1]) + tx);
        lm[i][1] = (float)(s * (sin(a) * arc[i][0] + cos(a) * arc[i][1]) + ty);
    }
    double m[6];
    CHECK(fs_similarity_estimate((const float (*)[2])lm, arc, 5, m) == FS_OK);
    CHECK_NEAR(m[0], cos(a) / s, 1e-5);
    CHECK_NEAR(m[3], -sin(a) / s, 1e-5);
    CHECK_NEAR(m[1], -m[3], 1e-12);
    CHECK_NEAR(m[4], m[0], 1e-12);
    /* hand-computed translation: -R^-1 t / s */
    CHECK_NEAR(m[2], -(cos(a) * tx + sin(a) * ty) / s, 1e-3);
    CHECK_NEAR(m[5], -(-sin(a) * tx + cos(a) * ty) / s, 1e-3);
    for (int i = 0; i < 5; i++) {
        double x, y;
        apply(m, lm[i][0], lm[i][1], &x, &y);
        CHECK(fabs(x - arc[i][0]) < 0.5 && fabs(y - arc[i][1]) < 0.5);
        CHECK_NEAR(x, arc[i][0], 1e-3);
        CHECK_NEAR(y, arc[i][1], 1e-3);
    }
    /* the alignment matrix of a face with these landmarks is the same transform */
    fs_face f;
    memset(&f, 0, sizeof f);
    f.has_landmarks = 1;
    memcpy(f.landmarks, lm, sizeof lm);
    fs_align_params p;
    fs_align_params_arcface(&p);
    double am[6];
    CHECK(fs_face_align_matrix(&f, &p, am) == FS_OK);
    for (int k = 0; k < 6; k++) CHECK_NEAR(am[k], m[k], 1e-9);
}

TEST(similarity_matches_opencv_estimateAffinePartial2D) {
    size_t len;
    unsigned char *txt = fs_test_read_file("tests/data/yunet/similarity_cv2.txt", &len);
    CHECK(txt != NULL);
    int sets = 0;
    char *save = NULL;
    for (char *ln = strtok_r((char *)txt, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        if (ln[0] == '#') continue;
        float src[5][2];
        double ref[6];
        char *p = ln, *end;
        for (int i = 0; i < 10; i++) { ((float *)src)[i] = strtof(p, &end); CHECK(end != p); p = end; }
        p = strchr(p, '|');
        CHECK(p != NULL);
        p++;
        for (int i = 0; i < 6; i++) { ref[i] = strtod(p, &end); CHECK(end != p); p = end; }
        double m[6];
        CHECK(fs_similarity_estimate((const float (*)[2])src, arc, 5, m) == FS_OK);
        for (int k = 0; k < 6; k++) CHECK_NEAR(m[k], ref[k], (k == 2 || k == 5) ? 2e-3 : 1e-5);
        /* same mapped points to 0.01 px */
        for (int i = 0; i < 5; i++) {
            double x1, y1, x2, y2;
            apply(m, src[i][0], src[i][1], &x1, &y1);
            apply(ref, src[i][0], src[i][1], &x2, &y2);
            CHECK(fabs(x1 - x2) < 0.01 && fabs(y1 - y2) < 0.01);
        }
        sets++;
    }
    CHECK(sets == 6);
    free(txt);
}

TEST(similarity_and_invert_errors) {
    float same[3][2] = {{5, 5}, {5, 5}, {5, 5}};
    double m[6];
    CHECK(fs_similarity_estimate((const float (*)[2])same, (const float (*)[2])same, 3, m) == FS_ERR_ARG);
    CHECK(fs_last_error()[0] != 0);
    CHECK(fs_similarity_estimate((const float (*)[2])same, (const float (*)[2])same, 1, m) == FS_ERR_ARG);
    float nanp[2][2] = {{NAN, 0}, {1, 1}};
    CHECK(fs_similarity_estimate((const float (*)[2])nanp, (const float (*)[2])same, 2, m) == FS_ERR_ARG);
    double sing[6] = {1, 2, 3, 2, 4, 6}, inv[6];
    CHECK(fs_affine_invert(sing, inv) == FS_ERR_ARG);
    double r[6] = {0.8, -0.6, 10, 0.6, 0.8, -4}, back[6];
    CHECK(fs_affine_invert(r, inv) == FS_OK);
    CHECK(fs_affine_invert(inv, back) == FS_OK);
    for (int k = 0; k < 6; k++) CHECK_NEAR(back[k], r[k], 1e-12);
    double x, y, x2, y2;
    apply(r, 3, 7, &x, &y);
    apply(inv, x, y, &x2, &y2);
    CHECK_NEAR(x2, 3, 1e-12);
    CHECK_NEAR(y2, 7, 1e-12);
}

TEST(box_crop_matrix_for_faces_without_landmarks) {
    fs_face f;
    memset(&f, 0, sizeof f);
    f.box = (fs_rect){10, 20, 100, 100};
    fs_align_params p;
    fs_align_params_default(&p);
    double m[6];
    CHECK(fs_face_align_matrix(&f, &p, m) == FS_OK);
    double x, y;
    apply(m, 59.5, 69.5, &x, &y); /* box centre (pixels 10..109) -> crop centre (pixels 0..223) */
    CHECK_NEAR(x, 111.5, 1e-9);
    CHECK_NEAR(y, 111.5, 1e-9);
    apply(m, 9.5, 19.5, &x, &y); /* box corner (pixel edge) -> crop edge */
    CHECK_NEAR(x, -0.5, 1e-9);
    CHECK_NEAR(y, -0.5, 1e-9);
    p.box_scale = 2.f; /* twice the side around the same centre */
    CHECK(fs_face_align_matrix(&f, &p, m) == FS_OK);
    CHECK_NEAR(m[0], 224.0 / 200.0, 1e-12);
    apply(m, 59.5, 69.5, &x, &y);
    CHECK_NEAR(x, 111.5, 1e-9);
    f.box.w = 0;
    CHECK(fs_face_align_matrix(&f, &p, m) == FS_ERR_ARG);
    p.size = 4;
    CHECK(fs_face_align_matrix(&f, &p, m) == FS_ERR_ARG);
}

/* A photo of 5 Gaussian dots at the landmarks of a face rotated by 25 deg and scaled by 1.7:
 * in the 112x112 aligned crop the dot centroids land on the ArcFace template (< 0.5 px). */
TEST(aligned_crop_puts_landmarks_on_template) {
    double a = 25.0 * M_PI / 180.0, s = 1.7, tx = 140, ty = 60;
    fs_face f;
    memset(&f, 0, sizeof f);
    f.has_landmarks = 1;
    for (int i = 0; i < 5; i++) {
        f.landmarks[i][0] = (float)(s * (cos(a) * arc[i][0] - sin(a) * arc[i][1]) + tx);
        f.landmarks[i][1] = (float)(s * (sin(a) * arc[i][0] + cos(a) * arc[i][1]) + ty);
    }
    fs_image img;
    CHECK(fs_image_alloc(&img, 400, 320, 3) == FS_OK);
    double sig = 2.0 * s;
    for (int y = 0; y < img.height; y++)
        for (int x = 0; x < img.width; x++) {
            double v = 0;
            for (int i = 0; i < 5; i++) {
                double dx = x - f.landmarks[i][0], dy = y - f.landmarks[i][1];
                v += 250.0 * exp(-(dx * dx + dy * dy) / (2 * sig * sig));
            }
            uint8_t *p = img.data + (size_t)y * img.stride + 3 * x;
            p[0] = p[1] = p[2] = (uint8_t)(v > 255 ? 255 : v + 0.5);
        }
    fs_align_params p;
    fs_align_params_arcface(&p);
    fs_image crop;
    CHECK(fs_face_align(&img, &f, &p, &crop) == FS_OK);
    CHECK(crop.width == 112 && crop.height == 112 && crop.channels == 3);
    for (int i = 0; i < 5; i++) {
        double sx = 0, sy = 0, sw = 0;
        int cx = (int)arc[i][0], cy = (int)arc[i][1];
        for (int y = cy - 7; y <= cy + 7; y++)
            for (int x = cx - 7; x <= cx + 7; x++) {
                double w = crop.data[(size_t)y * crop.stride + 3 * x + 1];
                sx += w * x; sy += w * y; sw += w;
            }
        CHECK(sw > 1000);
        CHECK_NEAR(sx / sw, arc[i][0], 0.5);
        CHECK_NEAR(sy / sw, arc[i][1], 0.5);
    }
    fs_image_free(&crop);
    /* 224 with the default margin: the same dots on the scaled template */
    fs_align_params_default(&p);
    CHECK(fs_face_align(&img, &f, NULL, &crop) == FS_OK);
    CHECK(crop.width == 224 && crop.height == 224);
    float t[5][2];
    fs_align_template(224, p.margin, t);
    for (int i = 0; i < 5; i++) {
        double sx = 0, sy = 0, sw = 0;
        int cx = (int)t[i][0], cy = (int)t[i][1];
        for (int y = cy - 8; y <= cy + 8; y++)
            for (int x = cx - 8; x <= cx + 8; x++) {
                double w = crop.data[(size_t)y * crop.stride + 3 * x];
                sx += w * x; sy += w * y; sw += w;
            }
        CHECK(sw > 1000);
        CHECK_NEAR(sx / sw, t[i][0], 0.5);
        CHECK_NEAR(sy / sw, t[i][1], 0.5);
    }
    fs_image_free(&crop);
    fs_image_free(&img);
}

/* Faces without landmarks: the original's square crop. On a horizontal ramp (value = x / 2) the
 * crop's columns sample the box linearly; a 1.5x box crossing the border is black outside. */
TEST(box_crop_samples_the_box) {
    fs_image img;
    CHECK(fs_image_alloc(&img, 300, 200, 1) == FS_OK);
    for (int y = 0; y < 200; y++)
        for (int x = 0; x < 300; x++) img.data[(size_t)y * img.stride + x] = (uint8_t)(x / 2 + 50);
    fs_face f;
    memset(&f, 0, sizeof f);
    f.box = (fs_rect){100, 40, 112, 112};
    fs_align_params p = {224, 0.f, 1.f};
    fs_image crop;
    CHECK(fs_face_align(&img, &f, &p, &crop) == FS_OK);
    CHECK(crop.width == 224 && crop.height == 224 && crop.channels == 1);
    for (int x = 2; x < 222; x += 11) {
        double sx = 100 + (x + 0.5) * 0.5 - 0.5; /* source column */
        CHECK_NEAR(crop.data[100 * crop.stride + x], sx / 2 + 50, 1.01);
    }
    fs_image_free(&crop);
    f.box = (fs_rect){10, 40, 100, 100}; /* 1.5x: side 150 from x = -15 */
    p.box_scale = 1.5f;
    CHECK(fs_face_align(&img, &f, &p, &crop) == FS_OK);
    CHECK(crop.data[100 * crop.stride + 5] == 0);     /* x = -15 + 5.5*150/224 < 0: outside */
    CHECK(crop.data[100 * crop.stride + 112] > 50);   /* centre: inside */
    fs_image_free(&crop);
    fs_image_free(&img);
    CHECK(fs_face_align(NULL, &f, &p, &crop) == FS_ERR_ARG);
}
