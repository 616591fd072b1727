/* tests/train/test_train_mini.c — end to end on the committed mini dataset (tests/data/mini, not
 * SCUT): features through the real backbones, heads trained to a fixed loss, reproducible bytes;
 * augmentation geometry. Needs models/ (backbones are committed there). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "core/error.h"
#include "data/dataset.h"
#include "score/heads_io.h"
#include "train/augment.h"
#include "train/features.h"
#include "train/head.h"

static int have_backbones(void) {
    return fs_test_exists("models/human_faceres/faceres.json") &&
           fs_test_exists("models/mobilenet_v2_imagenet/mobilenet_v2_1.0_224_quant.tflite") &&
           fs_test_exists("models/mobilefacenet/MobileFaceNet.tflite") &&
           fs_test_exists("models/yunet/yunet_n_dynamic.onnx");
}

static fs_status train_mini(hd_model *m, hd_stats *hs, uint64_t seed) {
    ds_set ds;
    fs_status st = ds_load_folder("tests/data/mini", &ds);
    if (st != FS_OK) return st;
    fe_options o;
    fe_options_default(&o);
    o.models_dir = "models";
    o.cache_dir = NULL;
    o.threads = 2;
    o.quiet = 1;
    fe_matrix x;
    if ((st = fe_extract(&ds, &o, &x)) != FS_OK) { ds_free(&ds); return st; }
    float y[16];
    int g[16];
    const char *names[16];
    for (int i = 0; i < ds.n; i++) { y[i] = ds.items[i].score; g[i] = ds.items[i].gender; names[i] = ds.items[i].name; }
    hd_config c;
    hd_config_default(&c);
    c.seed = seed;
    c.max_epochs = 1000;
    c.lr = c.lr_class = c.lr_gender = 1e-3f;
    c.wd_score = c.wd_class = 0.01f;
    st = hd_train(m, &c, x.x, y, g, names, ds.n, x.dim, hs);
    /* predictions on the training faces */
    for (int i = 0; st == FS_OK && i < ds.n; i++) {
        hd_output out;
        hd_predict(m, x.x + (size_t)i * x.dim, &out);
        if ((out.p_female >= 0.5f) != (g[i] == DS_FEMALE)) st = fs_error(FS_ERR_INTERNAL, "gender of %s wrong", names[i]);
        if (out.cls != (int)y[i]) st = fs_error(FS_ERR_INTERNAL, "class of %s: %d, label %g", names[i], out.cls, y[i]);
    }
    fe_matrix_free(&x);
    ds_free(&ds);
    return st;
}

TEST(mini_dataset_trains_to_a_fixed_loss_reproducibly) {
    if (!have_backbones()) SKIP("backbone models not in models/");
    hd_model a, b;
    hd_stats sa, sb;
    CHECK_MSG(train_mini(&a, &sa, 3) == FS_OK, "%s", fs_last_error());
    /* fixed targets: training losses (no dropout) at the end of 1000 epochs */
    CHECK_MSG(sa.epochs[1] == 1000 && sa.n_val == 0, "epochs %d, val %d", sa.epochs[1], sa.n_val);
    CHECK_MSG(sa.train_loss[0] < 0.05, "gender BCE %g", sa.train_loss[0]);
    CHECK_MSG(sa.train_loss[1] < 0.05, "score MSE %g", sa.train_loss[1]);   /* 0.0405 measured */
    CHECK_MSG(sa.train_loss[2] < 0.10, "class CE %g", sa.train_loss[2]);
    /* same seed: same model bytes */
    CHECK(train_mini(&b, &sb, 3) == FS_OK);
    char p1[64], p2[64];
    snprintf(p1, sizeof p1, "/tmp/fs_mini_a_%d.fsh", (int)getpid());
    snprintf(p2, sizeof p2, "/tmp/fs_mini_b_%d.fsh", (int)getpid());
    mf_meta meta[1] = {{"format", "facescore-heads"}};
    CHECK(hio_save(p1, &a, meta, 1) == FS_OK && hio_save(p2, &b, meta, 1) == FS_OK);
    size_t l1, l2;
    unsigned char *b1 = fs_test_read_file(p1, &l1), *b2 = fs_test_read_file(p2, &l2);
    unlink(p1); unlink(p2);
    CHECK(b1 && b2 && l1 == l2 && !memcmp(b1, b2, l1));
    /* another seed: another model */
    hd_model c;
    hd_stats sc;
    CHECK(train_mini(&c, &sc, 4) == FS_OK);
    CHECK(memcmp(a.ws[0], c.ws[0], (size_t)a.dim * 4) != 0);
    free(b1); free(b2);
    hd_free(&a); hd_free(&b); hd_free(&c);
}

TEST(augment_identity_and_mirror_are_exact) {
    fs_image img;
    CHECK(fs_image_alloc(&img, 9, 7, 3) == FS_OK);
    for (int i = 0; i < 9 * 7 * 3; i++) img.data[i] = (uint8_t)(i * 37 % 251);
    aug_params p = {0, 0, 1.0, 0};
    fs_image out;
    CHECK(aug_apply(&img, &p, &out) == FS_OK);
    CHECK(!memcmp(out.data, img.data, 9 * 7 * 3));
    fs_image_free(&out);
    p.flip = 1;
    CHECK(aug_apply(&img, &p, &out) == FS_OK);
    for (int y = 0; y < 7; y++)
        for (int x = 0; x < 9; x++)
            for (int c = 0; c < 3; c++) CHECK(out.data[(y * 9 + x) * 3 + c] == img.data[(y * 9 + 8 - x) * 3 + c]);
    fs_image_free(&out);
    p.flip = 0;
    p.brightness = 0.5;
    CHECK(aug_apply(&img, &p, &out) == FS_OK);
    for (int i = 0; i < 9 * 7 * 3; i++) CHECK(abs((int)out.data[i] - (img.data[i] + 1) / 2) <= 1);
    fs_image_free(&out);
    /* parameters within the original's ranges, reproducible from the seed */
    aug_rng r1, r2;
    aug_rng_seed(&r1, 1, 2, 3);
    aug_rng_seed(&r2, 1, 2, 3);
    for (int i = 0; i < 1000; i++) {
        aug_params a, b;
        aug_params_draw(&r1, &a);
        aug_params_draw(&r2, &b);
        CHECK(a.angle_deg == b.angle_deg && a.shear_deg == b.shear_deg && a.brightness == b.brightness && a.flip == b.flip);
        CHECK(a.angle_deg >= -20 && a.angle_deg <= 20 && a.shear_deg >= -0.15 && a.shear_deg <= 0.15);
        CHECK(a.brightness >= 0.6 && a.brightness <= 1.3);
    }
    fs_image_free(&img);
}

/* per-backbone cache: a combination reuses features computed alone, values bit-identical */
TEST(feature_cache_is_per_backbone_and_exact) {
    if (!have_backbones()) SKIP("backbone models not in models/");
    ds_set ds;
    CHECK(ds_load_folder("tests/data/mini", &ds) == FS_OK);
    ds.n = 4;
    char dir[] = "/tmp/fs_fe_cacheXXXXXX";
    CHECK(mkdtemp(dir));
    fe_options o;
    fe_options_default(&o);
    o.models_dir = "models";
    o.threads = 2;
    o.quiet = 1;
    o.cache_dir = NULL;
    o.backbones = "faceres+mnv2";
    fe_matrix ref, a, b, c;
    CHECK(fe_extract(&ds, &o, &ref) == FS_OK);          /* faceres+mnv2, no cache */
    CHECK(ref.n == 4 && ref.dim == 2304 && ref.n_cached == 0 && ref.n_noface == 0);
    o.cache_dir = dir;
    o.backbones = "mnv2";
    CHECK(fe_extract(&ds, &o, &a) == FS_OK && a.n_cached == 0 && a.dim == 1280);
    o.backbones = "faceres+mnv2";
    CHECK(fe_extract(&ds, &o, &b) == FS_OK && b.n_cached == 0);   /* faceres was missing */
    CHECK(fe_extract(&ds, &o, &c) == FS_OK && c.n_cached == 4);   /* now all from the cache */
    CHECK(!memcmp(ref.x, b.x, (size_t)4 * 2304 * 4));
    CHECK(!memcmp(ref.x, c.x, (size_t)4 * 2304 * 4));
    for (int i = 0; i < 4; i++) CHECK(!memcmp(a.x + (size_t)i * 1280, ref.x + (size_t)i * 2304 + 1024, 1280 * 4));
    fe_matrix_free(&ref); fe_matrix_free(&a); fe_matrix_free(&b); fe_matrix_free(&c);
    ds.n = 10;
    ds_free(&ds);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}
