/* tests/train/test_finetune_loader.c — the fine-tuning batch loader (train/ft/loader.h) on the
 * committed mini dataset: bytes independent of worker count and crop memory, deterministic shuffle
 * and augmentation per (seed, epoch), resume inside an epoch, eval batches = the scorer's input,
 * detection cache. Needs models/yunet (committed). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "core/error.h"
#include "data/dataset.h"
#include "score/backbone.h"
#include "train/ft/loader.h"

static int have_yunet(void) { return fs_test_exists("models/yunet/yunet_n_dynamic.onnx"); }

/* every batch of one training epoch, concatenated: x then labels */
static float *epoch_bytes(ld_loader *l, const int *rows, int n, int epoch, int first, size_t *len) {
    int B = ld_batch_size(l), S = ld_size(l);
    size_t per = (size_t)B * S * S * 3 + (size_t)B * (2 + LD_CLASSES);
    int nb = ld_train_batches(n, B);
    float *out = calloc((size_t)nb * per, sizeof(float));
    if (!out || ld_train(l, rows, n, epoch, first) != FS_OK) { free(out); return NULL; }
    size_t k = 0;
    const ld_batch *b;
    while (ld_next(l, &b) == FS_OK && b) {
        memcpy(out + k, b->x, (size_t)B * S * S * 3 * sizeof(float)); k += (size_t)B * S * S * 3;
        memcpy(out + k, b->score, (size_t)B * sizeof(float)); k += B;
        for (int i = 0; i < B; i++) out[k++] = (float)(b->row[i] * 8 + b->cls[i]);
        memcpy(out + k, b->ldl, (size_t)B * LD_CLASSES * sizeof(float)); k += (size_t)B * LD_CLASSES;
    }
    *len = k;
    return out;
}

TEST(loader_batches_are_deterministic_and_thread_independent) {
    if (!have_yunet()) SKIP("models/yunet not present");
    ds_set ds;
    CHECK(ds_load_folder("tests/data/mini", &ds) == FS_OK && ds.n == 10);
    int rows[10];
    for (int i = 0; i < 10; i++) rows[i] = i;
    ld_options o;
    ld_options_default(&o);
    o.batch = 4; o.workers = 1; o.det_threads = 2; o.quiet = 1; o.seed = 7;
    ld_loader *a, *b;
    CHECK_MSG(ld_open(&o, &ds, &a) == FS_OK, "%s", fs_last_error());
    CHECK(ld_faces_found(a) == 10 && ld_crops_in_memory(a) && ld_size(a) == 224);
    o.workers = 3; o.crop_mem = 0;   /* decode every time, 3 threads */
    CHECK_MSG(ld_open(&o, &ds, &b) == FS_OK, "%s", fs_last_error());
    CHECK(!ld_crops_in_memory(b));
    CHECK(ld_train_batches(10, 4) == 2 && ld_train_batches(3, 4) == 1);
    size_t la, lb, l1, lr;
    float *ea = epoch_bytes(a, rows, 10, 0, 0, &la), *eb = epoch_bytes(b, rows, 10, 0, 0, &lb);
    CHECK(ea && eb && la == lb && la > 0);
    CHECK(!memcmp(ea, eb, la * sizeof(float)));
    /* another epoch: another order / augmentation */
    float *e1 = epoch_bytes(a, rows, 10, 1, 0, &l1);
    CHECK(e1 && l1 == la && memcmp(ea, e1, la * sizeof(float)));
    /* resume at batch 1 = the second half of the full epoch */
    float *er = epoch_bytes(b, rows, 10, 1, 1, &lr);
    CHECK(er && lr == la / 2 && !memcmp(er, e1 + la / 2, lr * sizeof(float)));
    /* labels: the batch's score and class match its row */
    CHECK(ld_train(a, rows, 10, 0, 0) == FS_OK);
    const ld_batch *bt;
    CHECK(ld_next(a, &bt) == FS_OK && bt && bt->n == 4 && bt->epoch == 0 && bt->index == 0);
    int seen[10] = {0};
    for (int i = 0; i < 4; i++) {
        const ds_item *it = &ds.items[bt->row[i]];
        CHECK(bt->score[i] == it->score && bt->gender[i] == it->gender && bt->cls[i] == (int)it->score - 1);
        float s = 0, best = -1; int arg = -1;
        for (int k = 0; k < LD_CLASSES; k++) { s += bt->ldl[i * LD_CLASSES + k]; if (bt->ldl[i * LD_CLASSES + k] > best) { best = bt->ldl[i * LD_CLASSES + k]; arg = k; } }
        CHECK_NEAR(s, 1.0, 1e-5);
        CHECK(arg == bt->cls[i]);
        seen[bt->row[i]]++;
    }
    CHECK(ld_next(a, &bt) == FS_OK && bt && bt->index == 1);
    for (int i = 0; i < 4; i++) CHECK(seen[bt->row[i]] == 0);   /* a permutation: no row twice */
    CHECK(ld_next(a, &bt) == FS_OK && !bt);
    free(ea); free(eb); free(e1); free(er);
    ld_close(a); ld_close(b);
    ds_free(&ds);
}

TEST(loader_eval_batches_are_the_scorers_input) {
    if (!have_yunet()) SKIP("models/yunet not present");
    ds_set ds;
    CHECK(ds_load_folder("tests/data/mini", &ds) == FS_OK);
    int rows[10];
    for (int i = 0; i < 10; i++) rows[i] = 9 - i;
    ld_options o;
    ld_options_default(&o);
    o.batch = 4; o.workers = 2; o.quiet = 1;
    ld_loader *l;
    CHECK(ld_open(&o, &ds, &l) == FS_OK);
    const bb_spec *sp = bb_find("faceres");
    size_t item = 224 * 224 * 3;
    float *ref = malloc(item * sizeof(float));
    CHECK(ref);
    for (int flip = 0; flip <= 1; flip++) {
        CHECK(ld_eval(l, rows, 10, flip) == FS_OK && ld_stream_batches(l) == 3);
        const ld_batch *b;
        int k = 0;
        while (ld_next(l, &b) == FS_OK && b) {
            CHECK(b->n == (k < 8 ? 4 : 2) && b->epoch == -1);
            for (int i = 0; i < b->n; i++, k++) {
                CHECK(b->row[i] == rows[k]);
                fs_image img, crop;
                CHECK(fs_image_load(ds.items[rows[k]].path, 3, NULL, &img) == FS_OK);
                CHECK(bb_crop_for(sp, BB_CROP_ALIGN, &img, ld_face(l, rows[k]), &crop) == FS_OK);
                bb_preprocess(sp, &crop, flip, ref);
                CHECK(!memcmp(ref, b->x + i * item, item * sizeof(float)));
                fs_image_free(&img); fs_image_free(&crop);
            }
            for (int i = b->n; i < 4; i++) CHECK(b->row[i] == -1 && b->x[i * item + 100] == 0.0f);
        }
        CHECK(k == 10);
    }
    /* faceres input is BGR - mean: the first value of a pixel is its blue channel minus 103.939 */
    free(ref);
    ld_close(l);
    ds_free(&ds);
}

TEST(loader_detection_cache_and_bad_files) {
    if (!have_yunet()) SKIP("models/yunet not present");
    ds_set ds;
    CHECK(ds_load_folder("tests/data/mini", &ds) == FS_OK);
    char dir[] = "/tmp/fs_ld_cacheXXXXXX";
    CHECK(mkdtemp(dir));
    ld_options o;
    ld_options_default(&o);
    o.batch = 2; o.quiet = 1; o.cache_dir = dir; o.crop_mem = 0;
    ld_loader *a, *b;
    CHECK(ld_open(&o, &ds, &a) == FS_OK && ld_cached(a) == 0);
    CHECK(ld_open(&o, &ds, &b) == FS_OK && ld_cached(b) == 10 && ld_faces_found(b) == 10);
    for (int i = 0; i < 10; i++) CHECK(!memcmp(ld_face(a, i), ld_face(b, i), sizeof(fs_face)));
    ld_close(a); ld_close(b);
    /* a row whose file became unreadable after opening: ld_next reports it, no crash */
    char bad[64];
    snprintf(bad, sizeof bad, "/tmp/fs_ld_bad_%d.jpg", (int)getpid());
    size_t len;
    unsigned char *jpg = fs_test_read_file(ds.items[0].path, &len);
    FILE *f = fopen(bad, "wb");
    CHECK(jpg && f && fwrite(jpg, 1, len, f) == len);
    fclose(f);
    free(ds.items[0].path);
    ds.items[0].path = strdup(bad);
    o.cache_dir = NULL;
    CHECK(ld_open(&o, &ds, &a) == FS_OK);
    f = fopen(bad, "wb");
    CHECK(f && fwrite(jpg, 1, 40, f) == 40);   /* truncated JPEG */
    fclose(f);
    int rows[1] = {0};
    CHECK(ld_eval(a, rows, 1, 0) == FS_OK);
    const ld_batch *bt;
    fs_status st = ld_next(a, &bt);
    CHECK(st != FS_OK && !bt && strstr(fs_last_error(), bad));
    int bogus[1] = {10};
    CHECK(ld_eval(a, bogus, 1, 0) == FS_ERR_ARG);
    ld_close(a);
    unlink(bad);
    free(jpg);
    ds_free(&ds);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}
