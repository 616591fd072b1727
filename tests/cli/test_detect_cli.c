/* tests/cli/test_detect_cli.c — `facescore detect` / `bench detect` with YuNet and Haar (needs FS_BIN,
 * set by `make test`, the YuNet model and the Haar cascade; skipped when absent). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../test.h"
#include "facescore.h"

/* the command's stdout; *rc = its exit code (-1: killed) */
static char *run_capture(const char *cmd, int *rc) {
    int st = 0;
    char *out = fs_test_run(cmd, &st);
    *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

static int count(const char *s, const char *sub) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, sub)); p += strlen(sub)) n++;
    return n;
}

static const char *bin(void) {
    const char *b = getenv("FS_BIN");
    return b && fs_test_exists(b) && fs_test_exists("samples/face.jpg") ? b : NULL;
}

/* A fresh directory under /tmp (the caller removes it with rm_tree). */
static char *temp_dir(void) {
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/fs_detect_cli_XXXXXX");
    return mkdtemp(dir);
}

static void rm_tree(const char *dir) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) fprintf(stderr, "cannot remove %s\n", dir);
}

/* width x height of an image file, or -1. */
static int image_size(const char *path, int *w, int *h) {
    fs_image img = {0};
    if (fs_image_load(path, 3, NULL, &img)) return -1;
    *w = img.width;
    *h = img.height;
    fs_image_free(&img);
    return 0;
}

TEST(detect_json_yunet_default_on_the_sample_photo) {
    if (!bin()) SKIP("FS_BIN not built");
    if (!fs_yunet_default_path()) SKIP("YuNet model missing");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s detect --json samples/face.jpg", bin());
    int rc;
    char *out = run_capture(cmd, &rc);
    CHECK(out);
    CHECK_MSG(rc == 0 && count(out, "\n") == 1, "rc %d: %s", rc, out);
    CHECK_MSG(!strncmp(out, "{\"file\":\"samples/face.jpg\",\"width\":512,\"height\":355,\"code\":1,\"largest\":",
                       71), "%s", out);
    CHECK(strstr(out, ",\"detector\":\"yunet\",\"faces\":[{\"box\":["));
    CHECK_MSG(count(out, "\"box\":[") == 4, "%s", out);
    CHECK(count(out, "\"landmarks\":[[") == 4);
    int nconf = 0;
    for (const char *p = out; (p = strstr(p, "\"confidence\":")); p += 13, nconf++) {
        double c = atof(p + 13);
        CHECK_MSG(c > 0 && c <= 1, "confidence %g", c);
    }
    CHECK(nconf == 4);
    /* each landmark list: 5 [x,y] pairs inside the photo */
    for (const char *p = out; (p = strstr(p, "\"landmarks\":[")); p += 13) {
        const char *q = p + 13;
        for (int k = 0; k < 5; k++) {
            double x, y;
            int used = 0;
            CHECK_MSG(sscanf(q, "[%lf,%lf]%n", &x, &y, &used) == 2 && used > 0, "%.60s", q);
            CHECK(x >= 0 && x < 512 && y >= 0 && y < 355);
            q += used + (k < 4);
        }
        CHECK(*q == ']');
    }
    free(out);
}

TEST(detect_json_haar_gives_the_opencv_boxes) {
    if (!bin()) SKIP("FS_BIN not built");
    if (!fs_cascade_default_path()) SKIP("Haar cascade missing");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s detect --detector haar --json samples/face.jpg", bin());
    int rc;
    char *out = run_capture(cmd, &rc);
    CHECK(out && rc == 0);
    /* tests/data/detect/expected_boxes.txt, seed parameters 1.03 / 6, largest first */
    CHECK_MSG(strstr(out, "\"code\":1,\"largest\":0,\"detector\":\"haar\",\"faces\":["
                          "{\"box\":[243,54,116,116],\"confidence\":"),
              "%s", out);
    CHECK(strstr(out, "{\"box\":[116,87,114,114],\"confidence\":"));
    CHECK(strstr(out, "{\"box\":[437,122,57,57],\"confidence\":"));
    CHECK(strstr(out, "{\"box\":[1,109,49,49],\"confidence\":"));
    CHECK(count(out, "\"box\":[") == 4 && !strstr(out, "landmarks"));
    free(out);
}

TEST(detect_no_face_photo_gives_code_0) {
    if (!bin()) SKIP("FS_BIN not built");
    if (!fs_yunet_default_path()) SKIP("YuNet model missing");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s detect --json tests/data/yunet/cat.jpg", bin());
    int rc;
    char *out = run_capture(cmd, &rc);
    CHECK(out && rc == 0);
    CHECK_MSG(!strcmp(out, "{\"file\":\"tests/data/yunet/cat.jpg\",\"width\":512,\"height\":341,\"code\":0,"
                           "\"largest\":-1,\"detector\":\"yunet\",\"faces\":[]}\n"),
              "%s", out);
    free(out);
}

static void check_crops(const char *extra, int size) {
    char *dir = temp_dir();
    CHECK(dir);
    if (!dir) return;
    char cmd[512], path[256];
    /* a directory that does not exist yet (two levels) */
    snprintf(cmd, sizeof cmd, "%s detect %s --crops %s/c/d samples/face.jpg", bin(), extra, dir);
    int rc;
    char *out = run_capture(cmd, &rc);
    CHECK_MSG(out && rc == 0, "rc %d", rc);
    for (int i = 1; i <= 5; i++) {
        snprintf(path, sizeof path, "%s/c/d/face_%d.jpg", dir, i);
        int w = 0, h = 0;
        if (i <= 4) CHECK_MSG(image_size(path, &w, &h) == 0 && w == size && h == size, "%s: %dx%d", path, w, h);
        else CHECK(!fs_test_exists(path));
    }
    free(out);
    rm_tree(dir);
}

TEST(detect_crops_224_and_112) {
    if (!bin()) SKIP("FS_BIN not built");
    if (!fs_yunet_default_path()) SKIP("YuNet model missing");
    check_crops("", 224);
    check_crops("--crop-size 112", 112);
    check_crops("--crop-size 112 --crop-margin 0.5", 112);
}

TEST(detect_crops_dir_that_is_a_file_is_a_clear_error) {
    if (!bin()) SKIP("FS_BIN not built");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s detect --crops samples/face.jpg samples/face.jpg 2>&1", bin());
    int rc;
    char *out = run_capture(cmd, &rc);
    CHECK(out && rc == 2);
    CHECK_MSG(strstr(out, "--crops") && strstr(out, "samples/face.jpg"), "%s", out);
    free(out);
}

TEST(detect_draw_writes_a_readable_image) {
    if (!bin()) SKIP("FS_BIN not built");
    if (!fs_yunet_default_path()) SKIP("YuNet model missing");
    char *dir = temp_dir();
    CHECK(dir);
    if (!dir) return;
    char cmd[512], path[256];
    snprintf(path, sizeof path, "%s/drawn.jpg", dir);
    snprintf(cmd, sizeof cmd, "%s detect --draw %s samples/face.jpg", bin(), path);
    int rc, w = 0, h = 0;
    char *out = run_capture(cmd, &rc);
    CHECK(out && rc == 0);
    CHECK(strstr(out, "samples/face.jpg: code 1, 4 faces (512x355), detector yunet\n"));
    CHECK(count(out, "  landmarks ") == 4 && count(out, "(largest)") == 1);
    CHECK(image_size(path, &w, &h) == 0 && w == 512 && h == 355);
    /* the drawing changed pixels of the photo */
    fs_image a = {0}, b = {0};
    CHECK(fs_image_load("samples/face.jpg", 3, NULL, &a) == FS_OK && fs_image_load(path, 3, NULL, &b) == FS_OK);
    long diff = 0;
    for (int y = 0; a.data && b.data && y < 355; y++)
        for (int x = 0; x < 512 * 3; x++) diff += abs(a.data[y * a.stride + x] - b.data[y * b.stride + x]) > 60;
    CHECK_MSG(diff > 500, "diff %ld", diff);
    fs_image_free(&a);
    fs_image_free(&b);
    free(out);
    rm_tree(dir);
}

TEST(detect_errors_missing_model_corrupt_image_bad_option) {
    if (!bin()) SKIP("FS_BIN not built");
    char cmd[512];
    int rc;
    snprintf(cmd, sizeof cmd, "%s detect --model no/such.onnx samples/face.jpg 2>&1", bin());
    char *out = run_capture(cmd, &rc);
    CHECK(out && rc == 2);
    CHECK_MSG(strstr(out, "no/such.onnx: No such file or directory"), "%s", out);
    free(out);

    char *dir = temp_dir();
    CHECK(dir);
    if (!dir) return;
    char bad[256];
    snprintf(bad, sizeof bad, "%s/bad.jpg", dir);
    FILE *f = fopen(bad, "wb");
    CHECK(f);
    if (f) { fputs("\xff\xd8\xff\xe0 not really a jpeg", f); fclose(f); }
    if (fs_yunet_default_path()) {
        /* a corrupt file among good ones: named on stderr, the others still done, exit 1 */
        snprintf(cmd, sizeof cmd, "%s detect --json %s samples/face.jpg 2>&1", bin(), bad);
        out = run_capture(cmd, &rc);
        CHECK(out && rc == 1);
        CHECK_MSG(strstr(out, "facescore: ") && strstr(out, "bad.jpg: ") && strstr(out, "\"file\":\"samples/face.jpg\""),
                  "%s", out);
        free(out);
    }
    rm_tree(dir);

    snprintf(cmd, sizeof cmd, "%s detect --detector dlib samples/face.jpg 2>&1", bin());
    out = run_capture(cmd, &rc);
    CHECK(out && rc == 2 && strstr(out, "unknown detector 'dlib'"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s detect --threshold 2 samples/face.jpg 2>&1", bin());
    out = run_capture(cmd, &rc);
    CHECK(out && rc == 2 && strstr(out, "--threshold"));
    free(out);
}

TEST(bench_detect_yunet_reports_align_time_and_median) {
    if (!bin()) SKIP("FS_BIN not built");
    if (!fs_yunet_default_path()) SKIP("YuNet model missing");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s bench detect --detector yunet --reps 2 samples/face.jpg", bin());
    int rc;
    char *out = run_capture(cmd, &rc);
    CHECK(out && rc == 0);
    CHECK_MSG(strstr(out, "detector yunet") && strstr(out, "faces 4\n"), "%s", out);
    char *last = out + strlen(out) - 1;
    while (last > out && last[-1] != '\n') last--;
    CHECK_MSG(!strncmp(last, "median_ms ", 10) && atof(last + 10) > 0, "%s", out);
    const char *al = strstr(out, "\nalign_ms_per_face ");
    CHECK_MSG(al && al + 1 < last && atof(al + 19) > 0, "%s", out);
    free(out);
}
