/* tests/nn/test_tflite_loader.c — the TFLite loader on hand-built models (tests/data/nn/gen_tflite.py:
 * int8 per-channel / uint8 per-tensor / int32-bias / fp16+DEQUANTIZE weights, SAME stride-2
 * padding on odd sizes, mean, softmax, pad, max pool, concat, bilinear resize; NumPy references),
 * malformed and unsupported files (each a clear error), truncations and byte-flip fuzzing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "facescore.h"

#define D "tests/data/nn/"

static float *read_f32(const char *path, size_t *n) {
    size_t len;
    unsigned char *b = fs_test_read_file(path, &len);
    if (!b) return NULL;
    *n = len / 4;
    return (float *)b;
}

TEST(tiny_model_matches_numpy) {
    fs_model *m;
    CHECK(fs_model_load(D "tiny.tflite", &m) == FS_OK);
    CHECK(!strcmp(fs_model_format(m), "tflite"));
    CHECK(fs_model_num_inputs(m) == 1 && fs_model_num_outputs(m) == 3);
    fs_tensor_info ti;
    CHECK(fs_model_input_info(m, 0, &ti) == FS_OK);
    CHECK(!strcmp(ti.name, "x") && ti.ndim == 4 && ti.dims[1] == 6 && ti.dims[2] == 5 && ti.dims[3] == 3);
    size_t n, nx;
    float *x = read_f32(D "tiny_in.f32", &nx);
    CHECK(x);
    CHECK(fs_model_set_input(m, 0, x, nx) == FS_OK);
    CHECK(fs_model_run(m) == FS_OK);
    for (int o = 0; o < 3; o++) {
        char path[64];
        snprintf(path, sizeof path, D "tiny_out%d.f32", o);
        size_t nw;
        float *want = read_f32(path, &nw);
        CHECK(want);
        const float *y = fs_model_output(m, o, &n);
        CHECK(y && n == nw);
        for (size_t i = 0; i < n; i++) CHECK_NEAR(y[i], want[i], 2e-6);
        free(want);
    }
    free(x);
    fs_model_free(m);
}

TEST(lowered_ops_match_numpy) {
    /* DEPTH_TO_SPACE, SPACE_TO_DEPTH, SQUARED_DIFFERENCE, SQUARE, STRIDED_SLICE (masks, shrink), PACK,
     * UNPACK, TILE, BROADCAST_TO, LRN: lowered by the loader into several graph nodes each */
    fs_model *m;
    CHECK(fs_model_load(D "tiny2.tflite", &m) == FS_OK);
    size_t nx, nw, n;
    float *x = read_f32(D "tiny2_in.f32", &nx), *want = read_f32(D "tiny2_out.f32", &nw);
    CHECK(x && want);
    CHECK(fs_model_set_input(m, 0, x, nx) == FS_OK);
    CHECK(fs_model_run(m) == FS_OK);
    CHECK(fs_model_num_outputs(m) == 8);
    size_t off = 0;
    for (int o = 0; o < 8; o++) {
        const float *y = fs_model_output(m, o, &n);
        CHECK(y && off + n <= nw);
        for (size_t i = 0; i < n; i++) CHECK_MSG(fabsf(y[i] - want[off + i]) <= 2e-6f, "output %d elem %zu: %g vs %g", o, i, y[i], want[off + i]);
        off += n;
    }
    CHECK(off == nw);
    free(x);
    free(want);
    fs_model_free(m);
}

static void expect_error(const char *file, const char *substr, int at_plan) {
    fs_model *m = NULL;
    fs_status st = fs_model_load(file, &m);
    if (at_plan) {
        if (st != FS_OK) { fs_test_fail(__FILE__, __LINE__, "%s: load failed: %s", file, fs_last_error()); return; }
        st = fs_model_plan(m);
        fs_model_free(m);
    }
    if (st == FS_OK) { fs_test_fail(__FILE__, __LINE__, "%s: accepted", file); return; }
    if (!strstr(fs_last_error(), substr))
        fs_test_fail(__FILE__, __LINE__, "%s: error '%s' lacks '%s'", file, fs_last_error(), substr);
}

TEST(malformed_and_unsupported_files_give_clear_errors) {
    expect_error(D "bad_opcode_index.tflite", "opcode index 12 of 10", 0);
    expect_error(D "bad_tensor_index.tflite", "tensor index 99", 0);
    expect_error(D "absurd_dims.tflite", "absurdly large", 0);
    expect_error(D "dims_overflow.tflite", "absurdly large", 0);
    expect_error(D "negative_dim.tflite", "dim 2 is -5", 0);
    expect_error(D "buffer_size_mismatch.tflite", "buffer has 6 bytes, shape needs 8", 0);
    expect_error(D "unsupported_op.tflite", "TOPK_V2", 0);
    expect_error(D "custom_op.tflite", "custom op 'MyFancyOp'", 0);
    expect_error(D "fused_tanh.tflite", "fused activation TANH", 0);
    expect_error(D "bad_version.tflite", "schema version 7", 0);
    expect_error(D "bad_buffer_index.tflite", "buffer 1000", 0);
    expect_error(D "channel_mismatch.tflite", "do not broadcast", 0); /* checked at load: static shapes */
    expect_error(D "does_not_exist.tflite", "does_not_exist", 0);
}

TEST(memory_garbage_and_empty) {
    fs_model *m;
    unsigned char junk[64];
    for (int i = 0; i < 64; i++) junk[i] = (unsigned char)(i * 37 + 11);
    CHECK(fs_model_load_memory(junk, 0, &m) != FS_OK);
    CHECK(fs_model_load_memory(junk, sizeof junk, &m) != FS_OK);
    memcpy(junk + 4, "TFL3", 4);
    CHECK(fs_model_load_memory(junk, sizeof junk, &m) != FS_OK);
    CHECK(strstr(fs_last_error(), "TFLite"));
}

TEST(wrong_offsets_fail_cleanly) {
    size_t len;
    unsigned char *b = fs_test_read_file(D "tiny.tflite", &len);
    CHECK(b && len > 64);
    fs_model *m;
    unsigned char *c = malloc(len);
    CHECK(c);
    /* root offset past the end */
    memcpy(c, b, len);
    uint32_t v = (uint32_t)len + 100;
    memcpy(c, &v, 4);
    CHECK(fs_model_load_memory(c, len, &m) != FS_OK);
    CHECK(strstr(fs_last_error(), "model table offset"));
    /* root table whose vtable offset points before the file */
    memcpy(c, b, len);
    uint32_t root;
    memcpy(&root, b, 4);
    int32_t so = (int32_t)root + 1000;
    memcpy(c + root, &so, 4);
    CHECK(fs_model_load_memory(c, len, &m) != FS_OK);
    CHECK(strstr(fs_last_error(), "vtable"));
    /* every 4-byte word of the file set to 0xFFFFFFF0 in turn: never a crash */
    int accepted = 0;
    for (size_t i = 0; i + 4 <= len; i += 4) {
        memcpy(c, b, len);
        uint32_t big = 0xFFFFFFF0u;
        memcpy(c + i, &big, 4);
        if (fs_model_load_memory(c, len, &m) == FS_OK) {
            accepted++;
            fs_model_free(m);
        }
    }
    fprintf(stderr, "    %zu corrupted words: %d still loadable (data bytes)\n", len / 4, accepted);
    free(c);
    free(b);
}

TEST(truncated_files_fail_cleanly) {
    size_t len;
    unsigned char *b = fs_test_read_file(D "tiny.tflite", &len);
    CHECK(b);
    int accepted = 0;
    for (size_t n = 0; n < len; n++) {
        fs_model *m;
        if (fs_model_load_memory(b, n, &m) == FS_OK) {
            accepted++;
            fs_model_free(m);
        }
    }
    CHECK_MSG(accepted == 0, "%d truncations accepted", accepted);
    free(b);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* Random byte flips: any outcome but a crash/hang (ASan build checks memory safety). */
static int fuzz(const unsigned char *orig, size_t len, int iters, int flips) {
    unsigned char *b = malloc(len);
    int loaded = 0;
    for (int it = 0; it < iters; it++) {
        memcpy(b, orig, len);
        int k = 1 + (int)(rnd() % (unsigned)flips);
        for (int j = 0; j < k; j++) b[rnd() % len] = (unsigned char)rnd();
        fs_model *m;
        if (fs_model_load_memory(b, len, &m) != FS_OK) continue;
        loaded++;
        if (fs_model_plan(m) == FS_OK) {
            size_t n;
            float *x = fs_model_input(m, 0, &n);
            if (x) for (size_t i = 0; i < n; i++) x[i] = 0.5f;
            fs_model_run(m);
        }
        fs_model_free(m);
    }
    free(b);
    return loaded;
}

TEST(fuzzed_tiny_model_never_crashes) {
    size_t len;
    unsigned char *b = fs_test_read_file(D "tiny.tflite", &len);
    CHECK(b);
    int loaded = fuzz(b, len, 3000, 4);
    fprintf(stderr, "    3000 mutants: %d loaded\n", loaded);
    free(b);
}

TEST(fuzzed_blazeface_never_crashes) {
    size_t len;
    char *p = fs_test_shared("models/mediapipe_blazeface/face_detection_short_range.tflite");
    unsigned char *b = fs_test_read_file(p, &len);
    if (!b) SKIP("no ../shared BlazeFace");
    /* flips in the first 64 KiB hit the flatbuffer structure rather than weight bytes */
    size_t region = len < 65536 ? len : 65536;
    unsigned char *c = malloc(len);
    CHECK(c);
    int loaded = 0;
    for (int it = 0; it < 60; it++) {
        memcpy(c, b, len);
        for (int j = 0; j < 3; j++) c[rnd() % region] = (unsigned char)rnd();
        fs_model *m;
        if (fs_model_load_memory(c, len, &m) != FS_OK) continue;
        loaded++;
        if (fs_model_plan(m) == FS_OK) fs_model_run(m);
        fs_model_free(m);
    }
    fprintf(stderr, "    60 mutants: %d loaded\n", loaded);
    free(c);
    free(b);
}

TEST(input_shape_and_keep_api) {
    fs_model *m;
    CHECK(fs_model_load(D "tiny.tflite", &m) == FS_OK);
    /* unknown tensor names / indices are errors */
    CHECK(fs_model_keep_tensor(m, "nope") != FS_OK);
    CHECK(fs_model_keep_tensor(m, "#999") != FS_OK);
    /* an intermediate that is not kept cannot be read */
    size_t n;
    CHECK(fs_model_run(m) == FS_OK);
    CHECK(fs_model_tensor(m, "y2", &n) == NULL);
    CHECK(strstr(fs_last_error(), "not kept"));
    CHECK(fs_model_keep_tensor(m, "y2") == FS_OK);
    CHECK(fs_model_run(m) == FS_OK);
    CHECK(fs_model_tensor(m, "y2", &n) != NULL && n == 6 * 5 * 2);
    /* bigger input: planner re-infers every shape (SAME padding, pools, resize size is fixed) */
    int64_t dims[4] = {2, 10, 9, 3};
    CHECK(fs_model_set_input_shape(m, 0, 4, dims) == FS_OK);
    CHECK(fs_model_plan(m) == FS_OK);
    fs_tensor_info ti;
    CHECK(fs_model_tensor_info(m, "y3", &ti) == FS_OK);
    CHECK(ti.ndim == 4 && ti.dims[0] == 2 && ti.dims[1] == 5 && ti.dims[2] == 5);
    CHECK(fs_model_output_info(m, 0, &ti) == FS_OK);
    CHECK(ti.ndim == 2 && ti.dims[0] == 2 && ti.dims[1] == 2);
    CHECK(fs_model_run(m) == FS_OK);
    const float *y = fs_model_output(m, 0, &n);
    CHECK(y && n == 4);
    CHECK_NEAR(y[0] + y[1], 1.0, 1e-6); /* softmax rows */
    CHECK_NEAR(y[2] + y[3], 1.0, 1e-6);
    int64_t bad[1] = {-3};
    CHECK(fs_model_set_input_shape(m, 0, 1, bad) != FS_OK);
    /* absurd but representable dims: refused with a limit error, no huge allocation */
    int64_t huge[4] = {1, 40000, 40000, 3};
    CHECK(fs_model_set_input_shape(m, 0, 4, huge) == FS_OK);
    CHECK(fs_model_plan(m) == FS_ERR_LIMIT);
    CHECK(strstr(fs_last_error(), "2^31"));
    int64_t wide[4] = {16, 9000, 9000, 3}; /* 3.9e9 elements: also over the limit */
    CHECK(fs_model_set_input_shape(m, 0, 4, wide) == FS_OK);
    CHECK(fs_model_plan(m) == FS_ERR_LIMIT);
    fs_model_free(m);
}
