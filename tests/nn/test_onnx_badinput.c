/* tests/nn/test_onnx_badinput.c — bad input to the ONNX reader, loader, runtime and `model check`:
 * truncated / bit-flipped TensorProto (.pb) and model.onnx files, absurd dims, dims x dtype
 * overflowing size_t, Gather indices out of range (constant and computed at run time), Reshape to an
 * impossible shape. Each must give a clear error (a non-empty fs_last_error) or load and run — never a
 * crash (tests run in a forked child: a crash fails the test). Files: tests/data/nn/onnx/
 * (make_bad_cases.py, make_cases.py). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../test.h"
#include "core/error.h"
#include "facescore.h"
#include "nn/loaders/loaders.h"
#include "nn/loaders/onnx.h"
#include "nn/loaders/onnx_check.h"
#include "nn/loaders/tensorproto.h"

#define DATA "tests/data/nn/onnx/"

static fs_status load_pb(const unsigned char *b, size_t n, nn_dtype *dt, int *nd, int64_t *dims, size_t *nb) {
    void *data = NULL;
    fs_error(FS_OK, "%s", "");
    fs_status st = tp_load_file_buffer(b, n, dt, nd, dims, &data, nb);
    free(data);
    return st;
}

TEST(tensorproto_bad_dims_and_sizes) {
    static const struct { const char *file; fs_status a, b; const char *words; } cases[] = {
        {"tp_absurd_dims.pb", FS_ERR_LIMIT, FS_ERR_FORMAT, "dims"},
        {"tp_size_overflow.pb", FS_ERR_LIMIT, FS_ERR_LIMIT, "overflow"},
        {"tp_short_raw.pb", FS_ERR_FORMAT, FS_ERR_FORMAT, "raw_data has 20 bytes"},
        {"tp_negative_dim.pb", FS_ERR_FORMAT, FS_ERR_FORMAT, "negative"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n;
        unsigned char *b;
        char path[256];
        snprintf(path, sizeof path, DATA "%s", cases[i].file);
        b = fs_test_read_file(path, &n);
        CHECK_MSG(b != NULL, "%s missing", path);
        nn_dtype dt;
        int nd;
        int64_t dims[NN_MAX_DIMS];
        size_t nb;
        fs_status st = load_pb(b, n, &dt, &nd, dims, &nb);
        free(b);
        CHECK_MSG(st == cases[i].a || st == cases[i].b, "%s: status %d (%s)", cases[i].file, st, fs_last_error());
        CHECK_MSG(strstr(fs_last_error(), cases[i].words), "%s: '%s' lacks '%s'", cases[i].file, fs_last_error(),
                  cases[i].words);
    }
}

TEST(tensorproto_truncated_and_flipped) {
    size_t n;
    unsigned char *b = fs_test_read_file(DATA "x34.pb", &n);
    CHECK(b && n > 48);
    nn_dtype dt;
    int nd;
    int64_t dims[NN_MAX_DIMS];
    size_t nb;
    CHECK(load_pb(b, n, &dt, &nd, dims, &nb) == FS_OK && dt == NN_F32 && nd == 2 && nb == 48);
    for (size_t k = 0; k < n; k++) { /* every proper prefix is refused, with a reason */
        fs_status st = load_pb(b, k, &dt, &nd, dims, &nb);
        CHECK_MSG(st != FS_OK && fs_last_error()[0], "prefix of %zu bytes: status %d", k, st);
    }
    unsigned char *c = malloc(n);
    CHECK(c);
    int refused = 0;
    for (size_t k = 0; k < n; k++)
        for (int bit = 0; bit < 8; bit++) { /* every single-bit flip: refused with a reason, or consistent */
            memcpy(c, b, n);
            c[k] ^= (unsigned char)(1 << bit);
            fs_status st = load_pb(c, n, &dt, &nd, dims, &nb);
            if (st) { refused++; CHECK(fs_last_error()[0]); continue; }
            size_t numel = 1;
            for (int d = 0; d < nd; d++) numel *= (size_t)dims[d];
            CHECK(nd <= NN_MAX_DIMS && nb == numel * nn_dtype_size(dt));
        }
    CHECK(refused > 0);
    free(c);
    free(b);
}

/* loads model bytes; if it loads with static dims, plans and runs it on zeros */
static fs_status try_model(const unsigned char *b, size_t n) {
    nn_graph *g = nn_graph_new();
    if (!g) return FS_ERR_NOMEM;
    fs_status st = nn_load_onnx(g, b, n);
    if (!st) st = nn_graph_plan(g);
    if (!st) st = nn_graph_run(g);
    nn_graph_free(g);
    return st;
}

TEST(model_truncated_and_flipped) {
    size_t n;
    unsigned char *b = fs_test_read_file(DATA "small_cnn.onnx", &n);
    CHECK(b && n > 100);
    CHECK(try_model(b, n) == FS_OK);
    int loaded = 0;
    for (size_t k = 0; k < n; k++) {
        fs_error(FS_OK, "%s", "");
        fs_status st = try_model(b, k);
        if (st) CHECK_MSG(fs_last_error()[0], "prefix %zu: status %d without a reason", k, st);
        else loaded++;
    }
    CHECK_MSG(loaded < 4, "%d truncated models loaded", loaded);
    unsigned char *c = malloc(n);
    CHECK(c);
    unsigned seed = 12345;
    for (int it = 0; it < 3000; it++) { /* random bytes changed: refused with a reason, or loads and runs */
        memcpy(c, b, n);
        for (int j = 0; j < 1 + it % 3; j++) {
            seed = seed * 1103515245u + 12345u;
            c[(seed >> 8) % n] = (unsigned char)(seed >> 20);
        }
        fs_error(FS_OK, "%s", "");
        fs_status st = try_model(c, n);
        if (st) CHECK_MSG(fs_last_error()[0], "iteration %d: status %d without a reason", it, st);
    }
    free(c);
    free(b);
}

static fs_status load_run(const char *file, const float *x, size_t nx, char *why, size_t wn) {
    fs_model *m;
    fs_status st = fs_model_load(file, &m);
    if (!st) st = fs_model_set_input(m, 0, x, nx);
    if (!st) st = fs_model_run(m);
    snprintf(why, wn, "%s", st ? fs_last_error() : "");
    fs_model_free(m);
    return st;
}

TEST(gather_index_and_reshape_errors) {
    float x[12];
    for (int i = 0; i < 12; i++) x[i] = (float)i;
    char why[512];
    CHECK(load_run(DATA "gather_oob.onnx", x, 12, why, sizeof why) != FS_OK);
    CHECK_MSG(strstr(why, "Gather") && strstr(why, "index 5 out of range"), "%s", why);
    CHECK(load_run(DATA "gather_neg_oob.onnx", x, 12, why, sizeof why) != FS_OK);
    CHECK_MSG(strstr(why, "index -4 out of range"), "%s", why);
    CHECK(load_run(DATA "reshape_impossible.onnx", x, 12, why, sizeof why) != FS_OK);
    CHECK_MSG(strstr(why, "Reshape") && strstr(why, "12"), "%s", why);
    CHECK(load_run(DATA "reshape_two_neg.onnx", x, 12, why, sizeof why) != FS_OK);
    CHECK_MSG(strstr(why, "more than one -1"), "%s", why);
    /* negative indices in range wrap: rows 2, 0, 0 */
    fs_model *m;
    CHECK(fs_model_load(DATA "gather_neg.onnx", &m) == FS_OK);
    CHECK(fs_model_set_input(m, 0, x, 12) == FS_OK && fs_model_run(m) == FS_OK);
    size_t k;
    const float *y = fs_model_output(m, 0, &k);
    CHECK(y && k == 12);
    CHECK(y[0] == 8 && y[3] == 11 && y[4] == 0 && y[8] == 0 && y[11] == 3);
    fs_model_free(m);
}

/* indices computed at run time (a float input cast to int64): checked by the kernel on every run */
TEST(gather_runtime_index_out_of_range) {
    size_t n;
    unsigned char *b = fs_test_read_file(DATA "gather_runtime_idx.onnx", &n);
    CHECK(b);
    nn_graph *g = nn_graph_new();
    CHECK(g && nn_load_onnx(g, b, n) == FS_OK);
    free(b);
    CHECK(g->n_inputs == 2);
    CHECK(nn_graph_plan(g) == FS_OK);
    float *x = g->tensors[g->inputs[0]].data, *idx = g->tensors[g->inputs[1]].data;
    for (int i = 0; i < 12; i++) x[i] = (float)i;
    idx[0] = -1;
    idx[1] = 1;
    CHECK(nn_graph_run(g) == FS_OK);
    const float *y = g->tensors[g->outputs[0]].data;
    CHECK(y[0] == 8 && y[4] == 4);
    idx[1] = 7;
    fs_status st = nn_graph_run(g);
    CHECK_MSG(st != FS_OK && strstr(fs_last_error(), "out of range"), "status %d: %s", st, fs_last_error());
    idx[1] = -1e30f; /* cast of a huge float: still a clear error */
    st = nn_graph_run(g);
    CHECK(st != FS_OK);
    nn_graph_free(g);
}

/* ------------------------------------------------------------------ model check on made-up cases */

static int write_file(const char *path, const void *d, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(d, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* case dir: model bytes + input_0 + output_0 (output optionally corrupted) */
static int make_case(const char *dir, const unsigned char *model, size_t mlen, int corrupt_output) {
    char p[512];
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/test_data_set_0", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/model.onnx", dir);
    if (write_file(p, model, mlen)) return -1;
    size_t n;
    unsigned char *in = fs_test_read_file(DATA "small_cnn_input.pb", &n);
    snprintf(p, sizeof p, "%s/test_data_set_0/input_0.pb", dir);
    if (!in || write_file(p, in, n)) { free(in); return -1; }
    free(in);
    unsigned char *out = fs_test_read_file(DATA "small_cnn_output.pb", &n);
    if (!out) return -1;
    if (corrupt_output) out[n - 2] ^= 0x40; /* a float's exponent bits: a far-off expected value */
    snprintf(p, sizeof p, "%s/test_data_set_0/output_0.pb", dir);
    int rc = write_file(p, out, n);
    free(out);
    return rc;
}

TEST(check_case_statuses) {
    char tmp[] = "/tmp/fs_oxcheck_XXXXXX";
    CHECK(mkdtemp(tmp));
    size_t mlen;
    unsigned char *model = fs_test_read_file(DATA "small_cnn.onnx", &mlen);
    CHECK(model);
    char good[256], bad[256], trunc[256], nodir[256];
    snprintf(good, sizeof good, "%s/good", tmp);
    snprintf(bad, sizeof bad, "%s/wrong_output", tmp);
    snprintf(trunc, sizeof trunc, "%s/truncated_model", tmp);
    snprintf(nodir, sizeof nodir, "%s/absent", tmp);
    CHECK(make_case(good, model, mlen, 0) == 0);
    CHECK(make_case(bad, model, mlen, 1) == 0);
    CHECK(make_case(trunc, model, mlen / 2, 0) == 0);
    free(model);
    nn_onnx_case_result r;
    nn_onnx_check_case(good, 1e-3, 1e-7, &r);
    CHECK_MSG(r.status == OXC_PASS && r.max_abs_diff < 1e-4, "%s %s", nn_onnx_status_name(r.status), r.detail);
    nn_onnx_check_case(bad, 1e-3, 1e-7, &r);
    CHECK_MSG(r.status == OXC_FAIL && strstr(r.detail, "expected"), "%s %s", nn_onnx_status_name(r.status), r.detail);
    nn_onnx_check_case(trunc, 1e-3, 1e-7, &r);
    CHECK_MSG(r.status == OXC_ERROR && r.detail[0], "%s %s", nn_onnx_status_name(r.status), r.detail);
    nn_onnx_check_case(nodir, 1e-3, 1e-7, &r);
    CHECK(r.status == OXC_ERROR && r.detail[0]);
    /* the CLI: one line per case, the summary, exit 1 on a fail; --json lines */
    const char *bin = getenv("FS_BIN");
    if (bin && fs_test_exists(bin)) {
        char cmd[2048], out[8192] = "";
        snprintf(cmd, sizeof cmd, "%s model check %s %s %s %s 2>&1", bin, good, bad, trunc, nodir);
        FILE *p = popen(cmd, "r");
        CHECK(p);
        size_t k = fread(out, 1, sizeof out - 1, p);
        out[k] = 0;
        int rc = pclose(p);
        CHECK_MSG(WEXITSTATUS(rc) == 1, "rc %d: %s", rc, out);
        CHECK_MSG(strstr(out, "PASS good\n") && strstr(out, "FAIL wrong_output output 0") &&
                      strstr(out, "ERROR truncated_model ") && strstr(out, "ERROR absent ") &&
                      strstr(out, "\n1 passed, 1 failed, 2 skipped\n"),
                  "%s", out);
        snprintf(cmd, sizeof cmd, "%s model check --json --rtol 1e-2 %s 2>&1", bin, good);
        p = popen(cmd, "r");
        CHECK(p);
        k = fread(out, 1, sizeof out - 1, p);
        out[k] = 0;
        rc = pclose(p);
        static const char *want = "{\"case\":\"good\",\"status\":\"pass\",\"detail\":\"\",\"max_abs_diff\":";
        CHECK_MSG(rc == 0 && !strncmp(out, want, strlen(want)) &&
                      strstr(out, "}\n1 passed, 0 failed, 0 skipped\n"),
                  "rc %d: %s", rc, out);
    }
    char rm[512];
    snprintf(rm, sizeof rm, "rm -rf '%s'", tmp);
    CHECK(system(rm) == 0);
}

/* binding: a Conv whose W is a graph input loads only with W bound; the bound input stops being a
 * runtime input, the other stays */
TEST(bind_graph_input_as_weight) {
    size_t n;
    unsigned char *b = fs_test_read_file(DATA "conv_w_input.onnx", &n);
    CHECK(b);
    nn_graph *g = nn_graph_new();
    CHECK(g);
    fs_status st = nn_load_onnx(g, b, n);
    CHECK_MSG(st == FS_ERR_UNSUPPORTED && strstr(fs_last_error(), "Conv weights must be a constant"), "%s", fs_last_error());
    nn_graph_free(g);
    float w[2 * 1 * 1 * 1] = {2.0f, -1.0f};
    nn_onnx_bind binds[2];
    memset(binds, 0, sizeof binds);
    binds[1].dtype = NN_F32;
    binds[1].ndim = 4;
    binds[1].dims[0] = 2; binds[1].dims[1] = binds[1].dims[2] = binds[1].dims[3] = 1;
    binds[1].data = w;
    binds[1].nbytes = sizeof w;
    binds[0].dtype = NN_F32; /* input 0 offered too but not needed as a constant: stays a runtime input */
    binds[0].ndim = 4;
    binds[0].dims[0] = 1; binds[0].dims[1] = 1; binds[0].dims[2] = 2; binds[0].dims[3] = 2;
    float x0[4] = {1, 2, 3, 4};
    binds[0].data = x0;
    binds[0].nbytes = sizeof x0;
    g = nn_graph_new();
    CHECK(g && nn_load_onnx_bound(g, b, n, binds, 2) == FS_OK);
    free(b);
    CHECK(binds[1].bound == 1 && binds[0].bound == 0 && g->n_inputs == 1);
    CHECK(nn_graph_plan(g) == FS_OK);
    float *x = g->tensors[g->inputs[0]].data;
    for (int i = 0; i < 4; i++) x[i] = (float)(i + 1);
    CHECK(nn_graph_run(g) == FS_OK);
    const float *y = g->tensors[g->outputs[0]].data; /* [1][2][2][2]: 2x, then -x */
    CHECK(y[0] == 2 && y[3] == 8 && y[4] == -1 && y[7] == -4);
    nn_graph_free(g);
    /* a bound value of the wrong size is refused */
    binds[1].nbytes = 4;
    b = fs_test_read_file(DATA "conv_w_input.onnx", &n);
    g = nn_graph_new();
    CHECK(b && g);
    CHECK(nn_load_onnx_bound(g, b, n, binds, 2) != FS_OK);
    free(b);
    nn_graph_free(g);
}
