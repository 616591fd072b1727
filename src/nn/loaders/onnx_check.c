/* nn/loaders/onnx_check.c — one ONNX backend test case through the loader and runtime (see
 * onnx_check.h). Status: unsupported = refused with a reason before running (load or plan: op,
 * attribute value, dtype, opset); error = the case's own files are unreadable/malformed;
 * fail = ran and disagreed with the expected outputs, or failed while running. */
#include "nn/loaders/onnx_check.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/loaders/loaders.h"
#include "nn/loaders/onnx.h"
#include "nn/loaders/tensorproto.h"

#define CK_MAX_IO 64
#define CK_MAX_SETS 16
#define CK_MAX_FILE ((long)1 << 30)

const char *nn_onnx_status_name(int s) {
    static const char *n[] = {"pass", "fail", "unsupported", "error"};
    return s >= 0 && s <= OXC_ERROR ? n[s] : "?";
}

static int set_result(nn_onnx_case_result *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int set_result(nn_onnx_case_result *r, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
    r->status = status;
    return status;
}

/* whole file; NULL (errno-ish message in why) on failure */
static unsigned char *read_all(const char *path, size_t *len, char *why, size_t wn) {
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(why, wn, "%s: %s", path, strerror(errno)); return NULL; }
    long sz = -1;
    if (fseek(f, 0, SEEK_END) == 0) sz = ftell(f);
    if (sz < 0 || sz > CK_MAX_FILE || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        snprintf(why, wn, "%s: cannot size (or larger than 1 GiB)", path);
        return NULL;
    }
    unsigned char *b = malloc((size_t)sz + 1);
    if (!b || fread(b, 1, (size_t)sz, f) != (size_t)sz) {
        free(b);
        fclose(f);
        snprintf(why, wn, "%s: cannot read", path);
        return NULL;
    }
    fclose(f);
    *len = (size_t)sz;
    return b;
}

typedef struct {
    int onnx_type;      /* TensorProto data_type as stored */
    nn_dtype dt;
    int ndim;
    int64_t dims[NN_MAX_DIMS];
    void *data;
    size_t nbytes;
} ck_tensor;

/* reads a .pb TensorProto; 0 or -1 with why */
static int read_pb(const char *path, ck_tensor *t, char *why, size_t wn) {
    size_t len;
    memset(t, 0, sizeof *t);
    unsigned char *b = read_all(path, &len, why, wn);
    if (!b) return -1;
    pb_reader r = pb_reader_init(b, len);
    tp_tensor tp;
    size_t nb = 0;
    fs_status st = tp_parse(&r, &tp);
    int dt = st ? -1 : tp_nn_dtype(tp.data_type);
    if (!st && dt < 0) st = FS_ERR_UNSUPPORTED;
    if (!st) st = tp_check(&tp);
    if (!st) st = tp_nbytes(&tp, &nb);
    if (!st) {
        t->data = malloc(nb ? nb : 1);
        if (!t->data) st = fs_error(FS_ERR_NOMEM, "out of memory (%zu bytes)", nb);
    }
    if (!st) st = tp_read(&tp, t->data, nb);
    free(b);
    if (st) {
        free(t->data);
        t->data = NULL;
        snprintf(why, wn, "%s: %s", path, fs_last_error());
        return -1;
    }
    t->onnx_type = tp.data_type;
    t->dt = (nn_dtype)dt;
    t->ndim = tp.ndim;
    memcpy(t->dims, tp.dims, sizeof t->dims);
    t->nbytes = nb;
    return 0;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* sorted test_data_set_* folder names; count or -1 */
static int list_sets(const char *dir, char **names, int max) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max)
        if (!strncmp(e->d_name, "test_data_set_", 14)) names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_names);
    return n;
}

/* ONNX data type of a runtime tensor (outputs are compared type for type) */
static int onnx_type_of(nn_dtype dt) {
    switch (dt) {
    case NN_F32: return TP_FLOAT;
    case NN_I64: return TP_INT64;
    case NN_I32: return TP_INT32;
    case NN_U8: return TP_UINT8;
    case NN_I8: return TP_INT8;
    case NN_BOOL: return TP_BOOL;
    case NN_F16: return TP_FLOAT16;
    }
    return TP_UNDEFINED;
}

static void fmt_dims(char *b, size_t n, int nd, const int64_t *d) {
    size_t k = (size_t)snprintf(b, n, "[");
    for (int i = 0; i < nd && k < n; i++) k += (size_t)snprintf(b + k, n - k, "%s%lld", i ? "," : "", (long long)d[i]);
    if (k < n) snprintf(b + k, n - k, "]");
}

/* compares output o; OXC_PASS or OXC_FAIL with r->detail */
static int compare(const nn_tensor *got, const ck_tensor *want, int o, double rtol, double atol,
                   nn_onnx_case_result *r) {
    if (onnx_type_of(got->dtype) != want->onnx_type)
        return set_result(r, OXC_FAIL, "output %d ('%s') is %s, expected %s", o, got->name,
                          tp_dtype_name(onnx_type_of(got->dtype)), tp_dtype_name(want->onnx_type));
    int same = got->ndim == want->ndim;
    for (int d = 0; same && d < got->ndim; d++) same = got->dims[d] == want->dims[d];
    if (!same) {
        char a[128], b[128];
        fmt_dims(a, sizeof a, got->ndim, got->dims);
        fmt_dims(b, sizeof b, want->ndim, want->dims);
        return set_result(r, OXC_FAIL, "output %d ('%s') has shape %s, expected %s", o, got->name, a, b);
    }
    if (got->nbytes < want->nbytes || (want->nbytes && !got->data))
        return set_result(r, OXC_FAIL, "output %d ('%s') has no data", o, got->name);
    if (got->dtype != NN_F32) {
        if (memcmp(got->data, want->data, want->nbytes)) {
            size_t es = nn_dtype_size(got->dtype), i = 0;
            while (i * es < want->nbytes && !memcmp((char *)got->data + i * es, (char *)want->data + i * es, es)) i++;
            return set_result(r, OXC_FAIL, "output %d ('%s', %s) differs at element %zu", o, got->name,
                              tp_dtype_name(want->onnx_type), i);
        }
        return OXC_PASS;
    }
    const float *g = got->data, *w = want->data;
    size_t n = want->nbytes / sizeof(float), bad = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        double gv = g[i], wv = w[i];
        if (isnan(wv) || isnan(gv)) {
            if (!(isnan(wv) && isnan(gv)) && bad == (size_t)-1) bad = i;
            continue;
        }
        if (isinf(wv) || isinf(gv)) {
            if (gv != wv && bad == (size_t)-1) bad = i;
            continue;
        }
        double d = fabs(gv - wv);
        if (d > r->max_abs_diff) r->max_abs_diff = d;
        if (!(d <= atol + rtol * fabs(wv)) && bad == (size_t)-1) bad = i;
    }
    if (bad != (size_t)-1)
        return set_result(r, OXC_FAIL, "output %d ('%s') element %zu: got %.9g, expected %.9g", o, got->name, bad,
                          (double)g[bad], (double)w[bad]);
    return OXC_PASS;
}

static int refused(nn_onnx_case_result *r, fs_status st, const char *stage) {
    int s = (st == FS_ERR_UNSUPPORTED || st == FS_ERR_LIMIT) ? OXC_UNSUPPORTED : OXC_FAIL;
    if (s == OXC_UNSUPPORTED) return set_result(r, s, "%s", fs_last_error());
    return set_result(r, s, "%s: %s", stage, fs_last_error());
}

/* An input file we cannot read (a type the runtime lacks: STRING, UINT64..., or not a TensorProto
 * at all: a sequence / optional value). If the model itself is refused, that is the precise reason
 * (unsupported); otherwise the input is at fault (error). */
static int unreadable_input(nn_onnx_case_result *r, const unsigned char *model, size_t mlen, const char *why) {
    nn_graph *g = nn_graph_new();
    fs_status st = g ? nn_load_onnx(g, model, mlen) : FS_ERR_NOMEM;
    nn_graph_free(g);
    if (st == FS_ERR_UNSUPPORTED || st == FS_ERR_LIMIT) return set_result(r, OXC_UNSUPPORTED, "%s", fs_last_error());
    return set_result(r, OXC_ERROR, "%s", why);
}

/* one data set: OXC_* */
static int run_set(const unsigned char *model, size_t mlen, const char *sdir, double rtol, double atol,
                   nn_onnx_case_result *r) {
    ck_tensor in[CK_MAX_IO];
    nn_onnx_bind binds[CK_MAX_IO];
    int n_in = 0, res = OXC_PASS;
    char p[4096], why[480];
    nn_graph *g = NULL;
    memset(binds, 0, sizeof binds);
    for (; n_in < CK_MAX_IO; n_in++) {
        if (snprintf(p, sizeof p, "%s/input_%d.pb", sdir, n_in) >= (int)sizeof p) break;
        FILE *f = fopen(p, "rb");
        if (!f) break;
        fclose(f);
        if (read_pb(p, &in[n_in], why, sizeof why)) { res = unreadable_input(r, model, mlen, why); goto out; }
        nn_onnx_bind *b = &binds[n_in];
        b->dtype = in[n_in].dt;
        b->ndim = in[n_in].ndim;
        memcpy(b->dims, in[n_in].dims, sizeof b->dims);
        b->data = in[n_in].data;
        b->nbytes = in[n_in].nbytes;
        b->force = in[n_in].dt != NN_F32 || in[n_in].onnx_type != TP_FLOAT;
    }
    g = nn_graph_new();
    if (!g) { res = set_result(r, OXC_ERROR, "out of memory"); goto out; }
    fs_status st = nn_load_onnx_bound(g, model, mlen, binds, n_in);
    if (st) { res = refused(r, st, "load"); if (res == OXC_FAIL) res = set_result(r, OXC_ERROR, "load: %s", fs_last_error()); goto out; }
    int runtime[CK_MAX_IO], n_rt = 0;
    for (int k = 0; k < n_in; k++)
        if (!binds[k].bound) runtime[n_rt++] = k;
    if (n_rt != g->n_inputs) {
        res = set_result(r, OXC_ERROR, "the model has %d runtime inputs, the data set %d", g->n_inputs, n_rt);
        goto out;
    }
    for (int j = 0; j < n_rt; j++) {
        const ck_tensor *x = &in[runtime[j]];
        if (g->tensors[g->inputs[j]].dtype != x->dt || x->onnx_type != TP_FLOAT) {
            res = set_result(r, OXC_ERROR, "input %d is %s, the model's input '%s' differs", runtime[j],
                             tp_dtype_name(x->onnx_type), g->tensors[g->inputs[j]].name);
            goto out;
        }
        if ((st = nn_graph_set_input_dims(g, j, x->ndim, x->dims))) { res = refused(r, st, "input shape"); goto out; }
    }
    if ((st = nn_graph_plan(g))) { res = refused(r, st, "plan"); goto out; }
    for (int j = 0; j < n_rt; j++) {
        nn_tensor *t = &g->tensors[g->inputs[j]];
        const ck_tensor *x = &in[runtime[j]];
        if (t->nbytes != x->nbytes) {
            res = set_result(r, OXC_FAIL, "input %d takes %zu bytes, the data set has %zu", j, t->nbytes, x->nbytes);
            goto out;
        }
        if (x->nbytes) memcpy(t->data, x->data, x->nbytes);
    }
    if ((st = nn_graph_run(g))) { res = set_result(r, OXC_FAIL, "run: %s", fs_last_error()); goto out; }
    for (int o = 0; o < g->n_outputs && res == OXC_PASS; o++) {
        ck_tensor want;
        if (snprintf(p, sizeof p, "%s/output_%d.pb", sdir, o) >= (int)sizeof p) p[0] = 0;
        if (read_pb(p, &want, why, sizeof why)) { res = set_result(r, OXC_ERROR, "%s", why); break; }
        res = compare(&g->tensors[g->outputs[o]], &want, o, rtol, atol, r);
        free(want.data);
    }
    if (res == OXC_PASS) {
        FILE *f = snprintf(p, sizeof p, "%s/output_%d.pb", sdir, g->n_outputs) < (int)sizeof p ? fopen(p, "rb") : NULL;
        if (f) { fclose(f); res = set_result(r, OXC_ERROR, "the data set has more outputs than the model (%d)", g->n_outputs); }
    }
out:
    nn_graph_free(g);
    for (int k = 0; k < n_in; k++) free(in[k].data);
    return res;
}

void nn_onnx_check_case(const char *dir, double rtol, double atol, nn_onnx_case_result *r) {
    memset(r, 0, sizeof *r);
    char p[4096], *sets[CK_MAX_SETS];
    size_t mlen;
    if (snprintf(p, sizeof p, "%s/model.onnx", dir) >= (int)sizeof p) p[0] = 0;
    unsigned char *model = read_all(p, &mlen, r->detail, sizeof r->detail);
    if (!model) { r->status = OXC_ERROR; return; }
    int n = list_sets(dir, sets, CK_MAX_SETS);
    if (n <= 0) {
        set_result(r, OXC_ERROR, "%s: no test_data_set_* folder", dir);
        free(model);
        return;
    }
    int res = OXC_PASS;
    for (int i = 0; i < n && res == OXC_PASS; i++) {
        if (snprintf(p, sizeof p, "%s/%s", dir, sets[i]) >= (int)sizeof p) p[0] = 0;
        res = run_set(model, mlen, p, rtol, atol, r);
        if (res == OXC_PASS) r->n_sets++;
        else if (n > 1) {
            char d[sizeof r->detail];
            if (snprintf(d, sizeof d, "%s: %s", sets[i], r->detail) >= 0) memcpy(r->detail, d, sizeof d);
        }
    }
    for (int i = 0; i < n; i++) free(sets[i]);
    free(model);
    r->status = res;
    if (res == OXC_PASS) r->detail[0] = 0;
}
