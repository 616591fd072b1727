/* tests/fuzz — replays the fuzzing inputs through the fuzz targets' own code (fuzz/fuzz_<name>.c, included
 * here with LLVMFuzzerTestOneInput renamed; no libFuzzer): every crash input kept under
 * fuzz/regress/<name>/ (one folder per target; each file once crashed, timed out or ran out of memory,
 * and was fixed) and every seed of fuzz/corpus/<name>/. Each must end in a clean error or success: the
 * targets abort() on any inconsistency, ASan/UBSan/LSan catch the rest under `make asan`. */
#include "../test.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LLVMFuzzerTestOneInput fz_one_image
#include "../../fuzz/fuzz_image.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_exif
#include "../../fuzz/fuzz_exif.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_multipart
#include "../../fuzz/fuzz_multipart.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_tflite
#include "../../fuzz/fuzz_tflite.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_onnx
#include "../../fuzz/fuzz_onnx.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_tfjs
#include "../../fuzz/fuzz_tfjs.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_fsh
#include "../../fuzz/fuzz_fsh.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_cascade
#include "../../fuzz/fuzz_cascade.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_dataset_csv
#include "../../fuzz/fuzz_dataset_csv.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_dataset_scut
#include "../../fuzz/fuzz_dataset_scut.c"
#undef LLVMFuzzerTestOneInput

/* fuzz_http needs the server running with the shipped models: replay its inputs with
 * `build-fuzz/fuzz_http FILE...` (tests/web covers the API itself). */
#define FZ_NOT_HERE "http"

typedef int (*fz_fn)(const uint8_t *, size_t);
static const struct { const char *name; fz_fn fn; } fz_targets[] = {
    {"image", fz_one_image},     {"exif", fz_one_exif}, {"multipart", fz_one_multipart},
    {"tflite", fz_one_tflite},   {"onnx", fz_one_onnx}, {"tfjs", fz_one_tfjs},
    {"fsh", fz_one_fsh},         {"cascade", fz_one_cascade}, {"dataset_csv", fz_one_dataset_csv},
    {"dataset_scut", fz_one_dataset_scut},
};

static fz_fn fz_lookup(const char *name) {
    for (size_t i = 0; i < sizeof fz_targets / sizeof *fz_targets; i++)
        if (!strcmp(fz_targets[i].name, name)) return fz_targets[i].fn;
    return NULL;
}

/* Replays every file of root/<target>/ (except the target named skip); *n_files counts
 * them. Returns the name of a folder no target knows, or NULL. */
static const char *replay_tree(const char *root, const char *skip, int *n_files) {
    static char unknown[512];
    DIR *d = opendir(root);
    if (!d) return NULL;
    struct dirent *e;
    const char *bad = NULL;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (!strcmp(e->d_name, skip)) continue;
        fz_fn fn = fz_lookup(e->d_name);
        if (!fn) { snprintf(unknown, sizeof unknown, "%s/%s", root, e->d_name); bad = unknown; continue; }
        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
        DIR *sd = opendir(dir);
        if (!sd) continue;
        struct dirent *f;
        while ((f = readdir(sd))) {
            if (f->d_name[0] == '.') continue;
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", dir, f->d_name);
            size_t len;
            unsigned char *b = fs_test_read_file(p, &len);
            if (!b) continue;
            fprintf(stderr, "%s\n", p); /* the last line names the input if it crashes */
            fn(b, len);
            free(b);
            (*n_files)++;
        }
        closedir(sd);
    }
    closedir(d);
    fz_tmpdir_cleanup();
    return bad;
}

TEST(regress_inputs_fail_cleanly) {
    int n = 0;
    const char *bad = replay_tree("fuzz/regress", FZ_NOT_HERE, &n);
    CHECK_MSG(!bad, "%s: no fuzz target of that name in tests/fuzz/test_fuzz_regress.c", bad);
    if (!fs_test_exists("fuzz/regress")) SKIP("no fuzz/regress folder");
    fprintf(stderr, "    %d regression inputs replayed\n", n);
}

TEST(seed_corpora_run_cleanly) {
    int n = 0;
    const char *bad = replay_tree("fuzz/corpus", FZ_NOT_HERE, &n);
    CHECK_MSG(!bad, "%s: no fuzz target of that name in tests/fuzz/test_fuzz_regress.c", bad);
    CHECK_MSG(n >= 100, "only %d seed files replayed (fuzz/corpus missing?)", n);
}

/* the seeds are meant to be valid: the harness must accept them, or the fuzzer starts from nothing */
TEST(seeds_are_valid_inputs) {
    size_t len;
    unsigned char *b = fs_test_read_file("fuzz/corpus/cascade/haar_2stages.xml", &len);
    CHECK(b);
    fs_cascade *c = NULL;
    CHECK_MSG(fs_cascade_load_memory((const char *)b, len, &c) == FS_OK, "%s", fs_last_error());
    fs_cascade_free(c);
    free(b);
    b = fs_test_read_file("fuzz/corpus/fsh/heads_dim8_shared.fsh", &len);
    CHECK(b);
    mf_file f;
    CHECK_MSG(mf_open_memory(b, len, &f) == FS_OK, "%s", fs_last_error());
    mf_close(&f);
    free(b);
    b = fs_test_read_file("fuzz/corpus/image/exif_6.jpg", &len);
    CHECK(b);
    fs_image im;
    CHECK(fs_image_decode(b, len, 0, NULL, &im) == FS_OK);
    fs_image_free(&im);
    free(b);
}
