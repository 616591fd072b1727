/* tests/train/test_ft_bench_cli.c — `facescore bench train`: the report (last line `images_per_s N`,
 * per-image times, ratio, peak RSS) on a cheap setting, and errors (model file without --feature,
 * unknown feature, bad option). Needs FS_BIN (make test sets it) and ../shared models; skips
 * otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../test.h"

TEST(bench_train_cli_report_and_errors) {
    const char *bin = getenv("FS_BIN");
    if (!bin || !fs_test_exists(bin)) SKIP("FS_BIN not built");
    char *models = fs_test_shared("models");
    char *mnv2 = fs_test_shared("models/mobilenet_v2_imagenet/mobilenet_v2_1.0_224_quant.tflite");
    if (!fs_test_exists(mnv2)) SKIP("no ../shared MobileNetV2");
    char cmd[4096];
    int st;
    snprintf(cmd, sizeof cmd, "FACESCORE_MODELS=%s %s bench train --backbone mnv2 --batch 2 --steps 2 --warmup 0 "
             "--train-from 16 --threads 2 2>/dev/null", models, bin);
    char *out = fs_test_run(cmd, &st);
    CHECK(out && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char *last = out + strlen(out) - 1;
    while (last > out && last[-1] != '\n') last--;
    CHECK_MSG(!strncmp(last, "images_per_s ", 13) && atof(last + 13) > 0, "got: %s", out);
    CHECK_MSG(strstr(out, "blocks 18  train-from 16") && strstr(out, "backward/forward ratio ") &&
              strstr(out, "peak RSS ") && strstr(out, "per image: forward "), "got: %s", out);
    free(out);
    /* a model file without --feature, an unknown feature, a bad option */
    snprintf(cmd, sizeof cmd, "%s bench train --backbone %s 2>&1", bin, mnv2);
    out = fs_test_run(cmd, &st);
    CHECK(out && WIFEXITED(st) && WEXITSTATUS(st) == 1 && strstr(out, "--feature"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s bench train --backbone %s --feature nosuch --batch 1 2>&1", bin, mnv2);
    out = fs_test_run(cmd, &st);
    CHECK_MSG(out && WIFEXITED(st) && WEXITSTATUS(st) == 1 && strstr(out, "nosuch"), "got: %s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s bench train --batch 0 2>&1", bin);
    out = fs_test_run(cmd, &st);
    CHECK(out && WIFEXITED(st) && WEXITSTATUS(st) == 2 && strstr(out, "usage"));
    free(out);
    free(models);
    free(mnv2);
}
