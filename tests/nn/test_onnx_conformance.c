/* tests/nn/test_onnx_conformance.c — the ONNX backend test cases packaged by Debian
 * (libonnx-testdata: /usr/share/libonnx-testdata/data/{node,pytorch-converted,pytorch-operator,simple},
 * or $FS_ONNX_TESTDATA) through the loader and runtime: every case loads-and-runs or is refused with a
 * reason, nothing crashes, and every case listed in tests/data/nn/onnx/conformance_pass.txt matches its
 * expected outputs (|got - want| <= 1e-7 + 1e-3 |want|, ONNX's backend defaults; shapes equal).
 * Cases with non-float inputs are skipped here (the public run API feeds float32). */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "facescore.h"
#include "nn/loaders/tensorproto.h"

enum { C_PASS, C_FAIL, C_REFUSED, C_SKIP };

static const char *root(void) {
    const char *r = getenv("FS_ONNX_TESTDATA");
    return r && *r ? r : "/usr/share/libonnx-testdata/data";
}

static int load_pb(const char *path, nn_dtype *dt, int *nd, int64_t *dims, void **data, size_t *nb) {
    size_t len;
    unsigned char *b = fs_test_read_file(path, &len);
    if (!b) return -1;
    fs_status st = tp_load_file_buffer(b, len, dt, nd, dims, data, nb);
    free(b);
    return st ? -1 : 0;
}

/* runs one case directory; why gets a reason for anything but a pass */
static int run_case(const char *dir, char *why, size_t wn) {
    char p[2048];
    snprintf(p, sizeof p, "%s/model.onnx", dir);
    fs_model *m;
    fs_status st = fs_model_load(p, &m);
    if (st) {
        snprintf(why, wn, "%s", fs_last_error());
        return C_REFUSED;
    }
    int res = C_PASS, nin = fs_model_num_inputs(m);
    void *ins[16] = {0};
    size_t inb[16] = {0};
    for (int i = 0; i < nin && res == C_PASS; i++) {
        nn_dtype dt;
        int nd;
        int64_t dims[8];
        snprintf(p, sizeof p, "%s/test_data_set_0/input_%d.pb", dir, i);
        if (i >= 16 || load_pb(p, &dt, &nd, dims, &ins[i], &inb[i])) { snprintf(why, wn, "input %d unreadable", i); res = C_FAIL; break; }
        if (dt != NN_F32) { snprintf(why, wn, "non-float input"); res = C_SKIP; break; }
        if (fs_model_set_input_shape(m, i, nd, dims)) { snprintf(why, wn, "%s", fs_last_error()); res = C_REFUSED; }
    }
    for (int i = 0; i < nin && i < 16 && res == C_PASS; i++)
        if (fs_model_set_input(m, i, ins[i], inb[i] / 4)) { snprintf(why, wn, "%s", fs_last_error()); res = C_REFUSED; }
    for (int i = 0; i < 16; i++) free(ins[i]);
    if (res == C_PASS && fs_model_run(m)) { snprintf(why, wn, "%s", fs_last_error()); res = C_REFUSED; }
    for (int o = 0; res == C_PASS && o < fs_model_num_outputs(m); o++) {
        nn_dtype dt;
        int nd;
        int64_t dims[8];
        void *want;
        size_t nb, k;
        snprintf(p, sizeof p, "%s/test_data_set_0/output_%d.pb", dir, o);
        if (load_pb(p, &dt, &nd, dims, &want, &nb)) { snprintf(why, wn, "output %d unreadable", o); res = C_FAIL; break; }
        const float *got = fs_model_output(m, o, &k);
        fs_tensor_info info;
        if (!got || fs_model_output_info(m, o, &info) || dt != NN_F32) {
            snprintf(why, wn, "output %d: %s", o, got ? "not float" : fs_last_error());
            res = dt != NN_F32 ? C_SKIP : C_REFUSED;
            free(want);
            break;
        }
        int same = k == nb / 4 && info.ndim == nd;
        for (int d = 0; same && d < nd; d++) same = info.dims[d] == dims[d];
        if (!same) { snprintf(why, wn, "output %d shape differs", o); res = C_FAIL; }
        for (size_t i = 0; res == C_PASS && i < k; i++) {
            float w = ((float *)want)[i], g = got[i];
            if ((isnan(w) && isnan(g)) || (isinf(w) && w == g)) continue;
            if (!(fabs((double)g - w) <= 1e-7 + 1e-3 * fabs(w))) {
                snprintf(why, wn, "output %d [%zu]: %g, expected %g", o, i, g, w);
                res = C_FAIL;
            }
        }
        free(want);
    }
    fs_model_free(m);
    return res;
}

TEST(backend_suite) {
    const char *r = root();
    static const char *groups[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/node", r);
    DIR *probe = opendir(dir);
    if (!probe) SKIP("libonnx-testdata not installed");
    closedir(probe);
    size_t llen;
    char *raw = (char *)fs_test_read_file("tests/data/nn/onnx/conformance_pass.txt", &llen);
    CHECK(raw != NULL);
    char *list = malloc(llen + 3); /* "\n" + file + "\n": every name is then "\nNAME\n" */
    CHECK(list != NULL);
    list[0] = '\n';
    memcpy(list + 1, raw, llen);
    list[llen + 1] = '\n';
    list[llen + 2] = 0;
    free(raw);
    int counts[4] = {0}, listed_ok = 0, listed = 0, refused_silent = 0;
    for (size_t g = 0; g < sizeof groups / sizeof *groups; g++) {
        snprintf(dir, sizeof dir, "%s/%s", r, groups[g]);
        DIR *d = opendir(dir);
        if (!d) continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char cdir[1400], why[512] = "", key[400];
            snprintf(cdir, sizeof cdir, "%s/%s", dir, e->d_name);
            snprintf(key, sizeof key, "\n%s/%s\n", groups[g], e->d_name);
            int res = run_case(cdir, why, sizeof why);
            counts[res]++;
            if (res == C_REFUSED && !why[0]) refused_silent++;
            int in_list = strstr(list, key) != NULL; /* listed = must pass */
            if (in_list) {
                listed++;
                if (res == C_PASS) listed_ok++;
                else fs_test_fail(__FILE__, __LINE__, "%s/%s: %s", groups[g], e->d_name, why);
            }
        }
        closedir(d);
    }
    free(list);
    printf("    ONNX backend cases: %d pass, %d fail, %d refused (unsupported/error), %d skipped (non-float I/O)\n",
           counts[C_PASS], counts[C_FAIL], counts[C_REFUSED], counts[C_SKIP]);
    CHECK(refused_silent == 0);
    CHECK_MSG(listed_ok == listed && listed > 250, "%d of %d listed cases pass", listed_ok, listed);
}
