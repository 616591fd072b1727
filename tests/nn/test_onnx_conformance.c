/* tests/nn/test_onnx_conformance.c — the ONNX backend test cases packaged by Debian
 * (libonnx-testdata: /usr/share/libonnx-testdata/data/{node,pytorch-converted,pytorch-operator,simple},
 * or $FS_ONNX_TESTDATA) through nn_onnx_check_case (the code behind `facescore model check`):
 *   - no case fails (a wrong answer, a crash — which kills this test — or a run-time error);
 *   - no case is an `error` (the official files are well formed) and every unsupported one says why;
 *   - every case in tests/data/nn/onnx/conformance_pass.txt passes;
 *   - of the in-scope cases (tests/data/nn/onnx/in_scope.txt, made by tools/onnx_scope.py), at least
 *     the number recorded in tests/data/nn/onnx/in_scope_min_pass.txt pass.
 * Comparison: |got - want| <= 1e-7 + 1e-3 |want| (ONNX's backend defaults), same shapes and dtypes.
 * A case that runs longer than CASE_TIMEOUT_S seconds ends the test (a failure naming the case); a
 * crash ends it too (tests run in a forked child). */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "nn/loaders/onnx_check.h"

static const char *root(void) {
    const char *r = getenv("FS_ONNX_TESTDATA");
    return r && *r ? r : "/usr/share/libonnx-testdata/data";
}

/* "\nline1\nline2\n...\n" so that every name can be found as "\nNAME\n" */
static char *read_list(const char *path) {
    size_t n;
    char *raw = (char *)fs_test_read_file(path, &n);
    if (!raw) return NULL;
    char *l = malloc(n + 3);
    if (!l) { free(raw); return NULL; }
    l[0] = '\n';
    memcpy(l + 1, raw, n);
    l[n + 1] = '\n';
    l[n + 2] = 0;
    free(raw);
    return l;
}

static int listed(const char *list, const char *key) { return strstr(list, key) != NULL; }

#define CASE_TIMEOUT_S 30
static char current_case[512];

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "\n    FAIL: ONNX case timed out: ";
    ssize_t w = write(2, msg, sizeof msg - 1);
    w = write(2, current_case, strlen(current_case));
    w = write(2, "\n", 1);
    (void)w;
    _exit(3);
}

TEST(backend_suite) {
    const char *r = root();
    static const char *groups[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/node", r);
    DIR *probe = opendir(dir);
    if (!probe) SKIP("libonnx-testdata not installed");
    closedir(probe);
    char *pass_list = read_list("tests/data/nn/onnx/conformance_pass.txt");
    char *scope = read_list("tests/data/nn/onnx/in_scope.txt");
    char *minf = read_list("tests/data/nn/onnx/in_scope_min_pass.txt");
    CHECK(pass_list && scope && minf);
    int min_pass = atoi(minf + 1);
    signal(SIGALRM, on_alarm);
    free(minf);
    int counts[4] = {0}, n_listed = 0, n_scope = 0, scope_pass = 0, silent = 0;
    for (size_t g = 0; g < sizeof groups / sizeof *groups; g++) {
        snprintf(dir, sizeof dir, "%s/%s", r, groups[g]);
        DIR *d = opendir(dir);
        if (!d) continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char cdir[1400], key[400];
            snprintf(cdir, sizeof cdir, "%s/%s", dir, e->d_name);
            snprintf(key, sizeof key, "\n%s/%s\n", groups[g], e->d_name);
            nn_onnx_case_result res;
            snprintf(current_case, sizeof current_case, "%s/%s", groups[g], e->d_name);
            alarm(CASE_TIMEOUT_S);
            nn_onnx_check_case(cdir, 1e-3, 1e-7, &res);
            alarm(0);
            counts[res.status]++;
            if (res.status != OXC_PASS && !res.detail[0]) silent++;
            if (res.status == OXC_FAIL || res.status == OXC_ERROR)
                fs_test_fail(__FILE__, __LINE__, "%s/%s: %s %s", groups[g], e->d_name, nn_onnx_status_name(res.status),
                             res.detail);
            if (listed(pass_list, key)) {
                n_listed++;
                if (res.status != OXC_PASS)
                    fs_test_fail(__FILE__, __LINE__, "%s/%s (listed as passing): %s", groups[g], e->d_name, res.detail);
            }
            if (listed(scope, key)) {
                n_scope++;
                scope_pass += res.status == OXC_PASS;
            }
        }
        closedir(d);
    }
    free(pass_list);
    free(scope);
    printf("    ONNX backend cases: %d pass, %d fail, %d unsupported, %d error; in scope %d of %d pass (recorded minimum %d)\n",
           counts[OXC_PASS], counts[OXC_FAIL], counts[OXC_UNSUPPORTED], counts[OXC_ERROR], scope_pass, n_scope, min_pass);
    CHECK(silent == 0);
    CHECK(counts[OXC_FAIL] == 0 && counts[OXC_ERROR] == 0);
    CHECK_MSG(n_listed > 400, "only %d cases listed as passing", n_listed);
    CHECK_MSG(n_scope > 400 && scope_pass >= min_pass, "in scope: %d of %d pass, recorded minimum %d", scope_pass, n_scope,
              min_pass);
}

/* The general-case N-D kernels (nn/ops/spatial_nd.c) on attribute combinations the official suite
 * lacks (groups, per-axis dilation/stride, asymmetric pads, ceil_mode, count_include_pad, SAME_*,
 * output_padding, output_shape), and Resize tf_crop_and_resize (nn/ops/resize_crop.c: roi partly
 * outside the input, extrapolation), against numpy: tests/data/nn/onnx/make_nd_cases.py. */
TEST(nd_kernel_cases) {
    static const char *cases[] = {"avgpool3d_ceil", "avgpool3d_count_include_pad", "conv3d_groups_dil_stride_pads",
                                  "conv3d_same_lower", "convtranspose3d_groups_opad", "convtranspose3d_output_shape",
                                  "maxpool1d_dil", "maxpool2d_dil_pads_ceil", "maxpool3d_same_upper",
                                  "resize_crop_linear_4d", "resize_crop_nearest_floor_3d"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char dir[256];
        snprintf(dir, sizeof dir, "tests/data/nn/onnx/nd_cases/%s", cases[i]);
        nn_onnx_case_result r;
        nn_onnx_check_case(dir, 1e-4, 1e-5, &r);
        CHECK_MSG(r.status == OXC_PASS, "%s: %s %s", cases[i], nn_onnx_status_name(r.status), r.detail);
    }
}
