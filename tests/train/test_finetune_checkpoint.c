/* tests/train/test_finetune_checkpoint.c — checkpoint files (train/ft/checkpoint.h) on a synthetic
 * engine state: exact round trip, refusals (other settings / data / layout), every truncation and
 * flipped bytes rejected with a clear error and the state left untouched. No models needed. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "core/error.h"
#include "train/ft/checkpoint.h"

typedef struct {
    float p[300], m[300], v[300], mean[8], istd[8];
    int64_t step;
    uint64_t rng;
    ft_param_info info[3];
    ft_state s;
} fake;

static void fake_init(fake *f, unsigned seed) {
    memset(f, 0, sizeof *f);
    for (int i = 0; i < 300; i++) {
        f->p[i] = (float)((i * 7919u + seed) % 1000) / 997.0f - 0.5f;
        f->m[i] = (float)i * 1e-3f + (float)seed;
        f->v[i] = (float)(i % 17) * 1e-6f;
    }
    for (int i = 0; i < 8; i++) { f->mean[i] = (float)i; f->istd[i] = 1.0f / (float)(i + 1); }
    f->step = 12345 + seed;
    f->rng = 0x9e3779b97f4a7c15ULL ^ seed;
    f->info[0] = (ft_param_info){"conv_a#ohwi", 0, 200, 3, 12, 1, 1.0f};
    f->info[1] = (ft_param_info){"conv_a#ohwi#bias", 200, 30, 4, 12, 0, 1.0f};
    f->info[2] = (ft_param_info){"head.w", 230, 70, -1, -1, 1, 10.0f};
    f->s = (ft_state){.params = f->p, .n_params = 300, .grads = NULL, .m = f->m, .v = f->v, .n_moments = 300,
                      .feat_mean = f->mean, .feat_inv_std = f->istd, .dim = 8, .step = &f->step, .rng = &f->rng,
                      .info = f->info, .n_info = 3};
}

static void info_init(ck_info *ci) {
    memset(ci, 0, sizeof *ci);
    snprintf(ci->config, sizeof ci->config, "backbone=faceres train_from=10 batch=16 lr=0.0003 seed=1");
    ci->data_hash = 0x1234; ci->backbone_hash = 0xabcd;
    ci->epoch = 3; ci->best_epoch = 2; ci->best_val = 0.912345678901234;
    snprintf(ci->history, sizeof ci->history, "1 0.9 0.2\n2 0.91 0.19\n3 0.905 0.2\n");
}

TEST(checkpoint_round_trip_is_exact_and_checks_settings) {
    fake a, b;
    fake_init(&a, 1);
    fake_init(&b, 2);
    ck_info ci, got;
    info_init(&ci);
    char path[64];
    snprintf(path, sizeof path, "/tmp/fs_ck_%d.ckpt", (int)getpid());
    float best[300], best2[300];
    for (int i = 0; i < 300; i++) best[i] = (float)i * 0.25f;
    CHECK_MSG(ck_save(path, &ci, &a.s, best) == FS_OK, "%s", fs_last_error());
    /* no leftover temp file */
    char tmp[96];
    snprintf(tmp, sizeof tmp, "%s.part%d", path, (int)getpid());
    CHECK(!fs_test_exists(tmp));
    int hb = 0;
    CHECK_MSG(ck_load(path, &ci, &b.s, best2, &hb, &got) == FS_OK, "%s", fs_last_error());
    CHECK(hb == 1 && !memcmp(best, best2, sizeof best));
    CHECK(!memcmp(a.p, b.p, sizeof a.p) && !memcmp(a.m, b.m, sizeof a.m) && !memcmp(a.v, b.v, sizeof a.v));
    CHECK(!memcmp(a.mean, b.mean, sizeof a.mean) && !memcmp(a.istd, b.istd, sizeof a.istd));
    CHECK(b.step == a.step && b.rng == a.rng);
    CHECK(got.epoch == 3 && got.best_epoch == 2 && got.best_val == ci.best_val && !strcmp(got.history, ci.history));
    /* saving the restored state gives the same bytes */
    char path2[64];
    snprintf(path2, sizeof path2, "/tmp/fs_ck2_%d.ckpt", (int)getpid());
    CHECK(ck_save(path2, &ci, &b.s, best2) == FS_OK);
    size_t l1, l2;
    unsigned char *f1 = fs_test_read_file(path, &l1), *f2 = fs_test_read_file(path2, &l2);
    CHECK(f1 && f2 && l1 == l2 && !memcmp(f1, f2, l1));
    free(f2);
    /* other settings, data, backbone, layout: refused with what differs, state untouched */
    fake c;
    fake_init(&c, 3);
    ck_info other = ci;
    snprintf(other.config, sizeof other.config, "backbone=faceres train_from=10 batch=16 lr=0.001 seed=1");
    CHECK(ck_load(path, &other, &c.s, NULL, &hb, &got) == FS_ERR_ARG);
    CHECK_MSG(strstr(fs_last_error(), "lr=0.0003") && strstr(fs_last_error(), "lr=0.001"), "%s", fs_last_error());
    other = ci; other.data_hash = 0x999;
    CHECK(ck_load(path, &other, &c.s, NULL, &hb, &got) == FS_ERR_ARG && strstr(fs_last_error(), "training data"));
    other = ci; other.backbone_hash = 0x999;
    CHECK(ck_load(path, &other, &c.s, NULL, &hb, &got) == FS_ERR_ARG && strstr(fs_last_error(), "backbone"));
    c.info[1].count = 31; c.info[2].offset = 231; c.info[2].count = 69;
    CHECK(ck_load(path, &ci, &c.s, NULL, &hb, &got) == FS_ERR_ARG && strstr(fs_last_error(), "trainable tensors"));
    fake_init(&b, 3);
    CHECK(!memcmp(c.p, b.p, sizeof c.p) && c.step == b.step);
    /* SGD state (no v) is not confused with AdamW's */
    fake_init(&c, 3);
    c.s.v = NULL;
    CHECK(ck_load(path, &ci, &c.s, NULL, &hb, &got) == FS_ERR_ARG);
    unlink(path); unlink(path2);
    free(f1);
}

TEST(checkpoint_corrupt_or_truncated_is_rejected) {
    fake a, b;
    fake_init(&a, 5);
    ck_info ci, got;
    info_init(&ci);
    char path[64], bad[64];
    snprintf(path, sizeof path, "/tmp/fs_ckc_%d.ckpt", (int)getpid());
    snprintf(bad, sizeof bad, "/tmp/fs_ckc_bad_%d.ckpt", (int)getpid());
    CHECK(ck_save(path, &ci, &a.s, NULL) == FS_OK);
    size_t len;
    unsigned char *buf = fs_test_read_file(path, &len);
    CHECK(buf && len > 1000);
    int hb;
    /* every truncation (sampled every 7 bytes, and the last byte) */
    for (size_t cut = 0; cut < len; cut += (cut + 7 < len ? 7 : (len - 1 - cut > 0 ? len - 1 - cut : 1))) {
        FILE *f = fopen(bad, "wb");
        CHECK(f && fwrite(buf, 1, cut, f) == cut);
        fclose(f);
        fake_init(&b, 6);
        fs_status st = ck_load(bad, &ci, &b.s, NULL, &hb, &got);
        CHECK_MSG(st == FS_ERR_FORMAT && strstr(fs_last_error(), "damaged, truncated"), "cut %zu: %d %s", cut, (int)st, fs_last_error());
        CHECK(b.step == 12345 + 6);   /* untouched */
    }
    /* a flipped byte anywhere: header, metadata, tensor data */
    size_t at[] = {0, 9, 60, 70, 130, len / 2, len - 5};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        buf[at[i]] ^= 0x10;
        FILE *f = fopen(bad, "wb");
        CHECK(f && fwrite(buf, 1, len, f) == len);
        fclose(f);
        buf[at[i]] ^= 0x10;
        fake_init(&b, 6);
        fs_status st = ck_load(bad, &ci, &b.s, NULL, &hb, &got);
        CHECK_MSG(st != FS_OK && strstr(fs_last_error(), bad), "byte %zu: accepted", at[i]);
        CHECK(b.p[0] != a.p[0] || b.step != a.step);
    }
    /* a model file that is no checkpoint */
    if (fs_test_exists("models/facescore/scut60.fsh")) {
        CHECK(ck_load("models/facescore/scut60.fsh", &ci, &b.s, NULL, &hb, &got) == FS_ERR_FORMAT);
        CHECK(strstr(fs_last_error(), "not a fine-tuning checkpoint"));
    }
    CHECK(ck_load("/nonexistent/x.ckpt", &ci, &b.s, NULL, &hb, &got) == FS_ERR_IO);
    unlink(path); unlink(bad);
    free(buf);
}
