/* tests/nn/test_graph_cli.c — `facescore model info` and `facescore model run` end to end on the
 * hand-built tests/data/nn/tiny.tflite (needs FS_BIN, set by `make test`). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"

TEST(model_info_prints_io_ops_params_flops) {
    const char *bin = getenv("FS_BIN");
    if (!bin || !fs_test_exists(bin)) SKIP("FS_BIN not built");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s model info tests/data/nn/tiny.tflite 2>&1", bin);
    int rc;
    char *out = fs_test_run(cmd, &rc);
    CHECK(out);
    CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
    CHECK(strstr(out, "format: tflite"));
    CHECK(strstr(out, "x [1,6,5,3] float32"));
    CHECK(strstr(out, "out [1,2] float32"));
    CHECK(strstr(out, "Conv2D             2"));
    CHECK(strstr(out, "parameters: 30"));
    /* conv 1x1: 6*5*2 outputs x 3 MACs = 180; depthwise 3x3: 3*3*2 outputs x 9 = 162 */
    CHECK(strstr(out, "MACs: 342"));
    CHECK(strstr(out, "FLOPs: 684"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s model info tests/data/nn/tiny.tflite --tensors 2>&1", bin);
    out = fs_test_run(cmd, &rc);
    CHECK(out && rc == 0);
    CHECK(strstr(out, "#9 y3 [1,3,3,2] float32 Conv2D"));
    CHECK(strstr(out, "#5 c32 [2] float32 constant")); /* DEQUANTIZE of fp16, folded at load */
    free(out);
    snprintf(cmd, sizeof cmd, "%s model info tests/data/nn/unsupported_op.tflite 2>&1", bin);
    out = fs_test_run(cmd, &rc);
    CHECK(out && rc != 0 && strstr(out, "TOPK_V2"));
    free(out);
}

TEST(model_run_saves_named_output) {
    const char *bin = getenv("FS_BIN");
    if (!bin || !fs_test_exists(bin)) SKIP("FS_BIN not built");
    char cmd[512], tmp[64];
    snprintf(tmp, sizeof tmp, "/tmp/fs_model_run_%d.f32", (int)getpid());
    snprintf(cmd, sizeof cmd, "%s model run tests/data/nn/tiny.tflite --input tests/data/nn/tiny_in.f32 --output y3 --save %s 2>&1",
             bin, tmp);
    int rc;
    char *out = fs_test_run(cmd, &rc);
    CHECK(out);
    CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
    free(out);
    size_t n1, n2;
    unsigned char *got = fs_test_read_file(tmp, &n1), *want = fs_test_read_file("tests/data/nn/tiny_out1.f32", &n2);
    remove(tmp);
    CHECK(got && want && n1 == n2 && n1 == 18 * 4);
    for (size_t i = 0; i < n1 / 4; i++) CHECK_NEAR(((float *)got)[i], ((float *)want)[i], 2e-6);
    free(got);
    free(want);
    /* wrong input size: a clear error */
    snprintf(cmd, sizeof cmd, "%s model run tests/data/nn/tiny.tflite --input tests/data/nn/tiny_out0.f32 --save %s 2>&1", bin, tmp);
    out = fs_test_run(cmd, &rc);
    CHECK(out && rc != 0 && strstr(out, "takes 90 float32"));
    free(out);
}
