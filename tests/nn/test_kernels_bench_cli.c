/* tests/nn/test_kernels_bench_cli.c — `facescore bench model`: report format (last line
 * `median_ms <number>`), steady-state heap, and errors (missing file, bad options). Needs FS_BIN
 * (make test sets it) and a model from ../shared; skips otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../test.h"

TEST(bench_model_cli_report_and_errors) {
    const char *bin = getenv("FS_BIN");
    if (!bin || !fs_test_exists(bin)) SKIP("FS_BIN not built");
    char *model = fs_test_shared("models/mediapipe_blazeface/face_detection_short_range.tflite");
    if (!fs_test_exists(model)) SKIP("no ../shared model");
    char cmd[2048];
    int st;
    snprintf(cmd, sizeof cmd, "%s bench model %s --reps 5 --warmup 2 --threads 2", bin, model);
    char *out = fs_test_run(cmd, &st);
    CHECK(out && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char *last = out + strlen(out) - 1;
    while (last > out && last[-1] != '\n') last--;
    CHECK_MSG(!strncmp(last, "median_ms ", 10) && atof(last + 10) > 0, "got: %s", out);
    CHECK_MSG(strstr(out, "peak_rss_kib ") && strstr(out, "min_ms ") && strstr(out, "max_ms "), "got: %s", out);
    CHECK_MSG(strstr(out, "threads 2") && strstr(out, "2 warm-up + 5 timed"), "got: %s", out);
    CHECK_MSG(strstr(out, "(timed runs: +0)"), "heap grew during timed runs: %s", out);
    free(out);

    snprintf(cmd, sizeof cmd, "%s bench model /nonexistent/model.tflite 2>&1", bin);
    out = fs_test_run(cmd, &st);
    CHECK(out && WIFEXITED(st) && WEXITSTATUS(st) == 1);
    CHECK_MSG(strstr(out, "/nonexistent/model.tflite"), "got: %s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s bench model %s --reps 0 2>&1", bin, model);
    out = fs_test_run(cmd, &st);
    CHECK(out && WIFEXITED(st) && WEXITSTATUS(st) == 2);
    CHECK_MSG(strstr(out, "--reps"), "got: %s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s bench model %s --bogus 2>&1", bin, model);
    out = fs_test_run(cmd, &st);
    CHECK(out && WIFEXITED(st) && WEXITSTATUS(st) == 2);
    free(out);
    snprintf(cmd, sizeof cmd, "%s bench model %s --shape 1,x 2>&1", bin, model);
    out = fs_test_run(cmd, &st);
    CHECK(out && WIFEXITED(st) && WEXITSTATUS(st) == 2);
    free(out);
}

/* A model with a dynamic input (YuNet [-1,3,-1,-1]): --shape fixes it. */
TEST(bench_model_cli_dynamic_shape) {
    const char *bin = getenv("FS_BIN");
    if (!bin || !fs_test_exists(bin)) SKIP("FS_BIN not built");
    char *model = fs_test_shared("models/yunet/yunet_n_dynamic.onnx");
    if (!fs_test_exists(model)) SKIP("no ../shared model");
    char cmd[2048];
    int st;
    snprintf(cmd, sizeof cmd, "%s bench model %s --shape 1,3,64,96 --reps 2 --warmup 1", bin, model);
    char *out = fs_test_run(cmd, &st);
    CHECK(out && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_MSG(strstr(out, "[1,3,64,96]") && strstr(out, "median_ms "), "got: %s", out);
    free(out);
}
