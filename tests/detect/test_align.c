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
