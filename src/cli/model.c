/* cli/model.c — `facescore model info FILE` and `facescore model run FILE --input X.f32 ...`. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "facescore.h"
#include "nn/loaders/tensorproto.h"
#include "nn/model.h"

static const char *dtype_name(int dt) {
    static const char *n[] = {"float32", "int64", "int32", "uint8", "int8", "bool", "float16"};
    return dt >= 0 && dt < 7 ? n[dt] : "?";
}

static void print_dims(const fs_tensor_info *ti) {
    printf("[");
    for (int d = 0; d < ti->ndim; d++) printf(d ? ",%lld" : "%lld", (long long)ti->dims[d]);
    printf("]");
}

static void print_io(fs_model *m, int is_input) {
    nn_graph *g = fs_model_graph(m);
    int n = is_input ? g->n_inputs : g->n_outputs;
    printf("%s:\n", is_input ? "inputs" : "outputs");
    for (int i = 0; i < n; i++) {
        fs_tensor_info ti;
        if (is_input) fs_model_input_info(m, i, &ti);
        else fs_model_output_info(m, i, &ti);
        printf("  %d: #%d %s ", i, is_input ? g->inputs[i] : g->outputs[i], ti.name);
        print_dims(&ti);
        printf(" %s\n", dtype_name(ti.dtype));
    }
}

/* "1,3,320,320" -> dims; -1 on error */
static int parse_shape(const char *s, int64_t *dims) {
    int n = 0;
    while (s && *s && n < FS_MODEL_MAX_DIMS) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 0 || v > (1 << 30)) return -1;
        dims[n++] = v;
        if (*end == 0) return n;
        if (*end != ',' && *end != 'x') return -1;
        s = end + 1;
    }
    return -1;
}

/* Fixes input 0's unknown dims: from --input-shape, or (one unknown dim) from numel_hint
 * (0 = take an unknown leading batch dim as 1). Returns 0, or -1 with a message. */
static int fix_input_shape(fs_model *m, const char *shape, size_t numel_hint) {
    fs_tensor_info ti;
    if (fs_model_input_info(m, 0, &ti)) return -1;
    int64_t dims[FS_MODEL_MAX_DIMS];
    if (shape) {
        int n = parse_shape(shape, dims);
        if (n < 0) { fprintf(stderr, "facescore: bad --input-shape '%s'\n", shape); return -1; }
        if (fs_model_set_input_shape(m, 0, n, dims)) { fprintf(stderr, "facescore: %s\n", fs_last_error()); return -1; }
        return 0;
    }
    int unknown = -1, n_unknown = 0;
    size_t known = 1;
    for (int d = 0; d < ti.ndim; d++) {
        dims[d] = ti.dims[d];
        if (ti.dims[d] < 0) { unknown = d; n_unknown++; }
        else known *= (size_t)ti.dims[d];
    }
    if (!n_unknown) return 0;
    if (n_unknown == 1 && numel_hint && known && numel_hint % known == 0) dims[unknown] = (int64_t)(numel_hint / known);
    else if (n_unknown == 1 && !numel_hint && unknown == 0) dims[0] = 1;
    else {
        fprintf(stderr, "facescore: input '%s' has %d dynamic dims: give --input-shape d0,d1,...\n", ti.name, n_unknown);
        return -1;
    }
    if (fs_model_set_input_shape(m, 0, ti.ndim, dims)) { fprintf(stderr, "facescore: %s\n", fs_last_error()); return -1; }
    return 0;
}

/* One line per tensor: index, name, dims, type, where it comes from (--tensors). */
static void print_tensors(nn_graph *g) {
    static const char *dt[] = {"float32", "int64", "int32", "uint8", "int8", "bool", "float16"};
    int *prod = malloc(sizeof(int) * ((size_t)g->n_tensors + 1));
    if (!prod) return;
    for (int i = 0; i < g->n_tensors; i++) prod[i] = -1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_out; k++)
            if (g->nodes[i].out[k] >= 0) prod[g->nodes[i].out[k]] = i;
    printf("tensors:\n");
    for (int i = 0; i < g->n_tensors; i++) {
        const nn_tensor *t = &g->tensors[i];
        int is_in = 0;
        for (int k = 0; k < g->n_inputs; k++) is_in |= g->inputs[k] == i;
        if (!t->is_const && prod[i] < 0 && !is_in) continue; /* unused by the graph */
        printf("  #%d %s [", i, t->name);
        for (int d = 0; d < t->ndim; d++) printf(d ? ",%lld" : "%lld", (long long)t->dims[d]);
        printf("] %s ", (unsigned)t->dtype < 7 ? dt[t->dtype] : "?");
        if (is_in) printf("input\n");
        else if (prod[i] >= 0) printf("%s%s\n", nn_op_name(g->nodes[prod[i]].type), t->folded ? " (folded)" : "");
        else printf("constant\n");
    }
    free(prod);
}

static int model_info(const char *path, const char *shape, int tensors) {
    fs_model *m;
    if (fs_model_load(path, &m)) {
        fprintf(stderr, "facescore: %s\n", fs_last_error());
        return 1;
    }
    nn_graph *g = fs_model_graph(m);
    fs_tensor_info ti0;
    fs_model_input_info(m, 0, &ti0);
    int dynamic = 0;
    for (int d = 0; d < ti0.ndim; d++) dynamic |= ti0.dims[d] < 0;
    if ((dynamic || shape) && fix_input_shape(m, shape, 0)) { fs_model_free(m); return 1; }
    fs_status plan = fs_model_plan(m);
    char plan_err[512] = "";
    if (plan) snprintf(plan_err, sizeof plan_err, "%s", fs_last_error());
    printf("model: %s\nformat: %s\n", path, fs_model_format(m));
    if (dynamic && !plan) {
        printf("declared input: %s ", ti0.name);
        print_dims(&ti0);
        printf(" (planned below with the dynamic dims fixed)\n");
    }
    if (g->description[0]) printf("description: %s\n", g->description);
    print_io(m, 1);
    print_io(m, 0);
    int counts[NN_OP__COUNT] = {0};
    for (int i = 0; i < g->n_nodes; i++) counts[g->nodes[i].type]++;
    printf("ops: %d nodes\n", g->n_nodes);
    for (int t = 0; t < NN_OP__COUNT; t++)
        if (counts[t]) printf("  %-18s %d\n", nn_op_name((nn_op_type)t), counts[t]);
    /* parameters: float constants read by nodes (each counted once), before folding */
    char *seen = calloc((size_t)g->n_tensors + 1, 1);
    double params = 0, macs = 0;
    for (int i = 0; seen && i < g->n_nodes; i++) {
        nn_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            int t = n->in[k];
            if (t < 0 || seen[t]) continue;
            seen[t] = 1;
            nn_tensor *x = &g->tensors[t];
            if (x->is_const && !x->folded && x->dtype == NN_F32) params += (double)nn_tensor_numel(x);
        }
        if (!plan) macs += nn_node_macs(g, n);
    }
    free(seen);
    printf("parameters: %.0f\n", params);
    if (!plan) {
        printf("MACs: %.0f (%.1f M)\nFLOPs: %.0f (%.1f M, MACs x 2 for conv/fc/matmul)\n", macs, macs / 1e6,
               2 * macs, 2 * macs / 1e6);
        printf("activation arena: %zu bytes\n", g->arena_size);
        int kc = 0;
        const char *names[64];
        int kcounts[64];
        for (int i = 0; i < g->n_nodes; i++) {
            const char *kn = g->nodes[i].kname ? g->nodes[i].kname : "?";
            int j = 0;
            while (j < kc && strcmp(names[j], kn)) j++;
            if (j == kc && kc < 64) { names[kc] = kn; kcounts[kc++] = 0; }
            if (j < kc) kcounts[j]++;
        }
        printf("kernels:\n");
        for (int j = 0; j < kc; j++) printf("  %-22s %d\n", names[j], kcounts[j]);
    } else {
        printf("not planned (FLOPs unknown): %s\n", plan_err);
    }
    if (tensors) print_tensors(g);
    fs_model_free(m);
    return 0;
}

static int usage_run(void) {
    fprintf(stderr, "usage: facescore model run FILE --input X.f32 [--output NAME|#N] --save Y.f32 [--threads N]\n"
                    "                           [--input-shape d0,d1,...]\n"
                    "  X.f32: raw little-endian float32 in the model's own input layout (ONNX NCHW,\n"
                    "  TFLite/TF.js NHWC), or X.pb: an ONNX TensorProto (its dims set the input shape);\n"
                    "  the named output (default: the first) is saved as raw float32.\n"
                    "  One dynamic input dim is inferred from the file size; more need --input-shape.\n");
    return 2;
}

static int model_run(int argc, char **argv) {
    const char *path = NULL, *in = NULL, *outname = NULL, *save = NULL, *shape = NULL;
    int threads = 1;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--input") && i + 1 < argc) in = argv[++i];
        else if (!strcmp(argv[i], "--output") && i + 1 < argc) outname = argv[++i];
        else if (!strcmp(argv[i], "--save") && i + 1 < argc) save = argv[++i];
        else if (!strcmp(argv[i], "--input-shape") && i + 1 < argc) shape = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            if (fs_cli_parse_int("--threads", argv[++i], 0, 256, &threads)) return 2;
        } else if (argv[i][0] == '-') return usage_run();
        else if (!path) path = argv[i];
        else return usage_run();
    }
    if (!path || !in || !save) return usage_run();
    fs_model *m;
    if (fs_model_load(path, &m)) {
        fprintf(stderr, "facescore: %s\n", fs_last_error());
        return 1;
    }
    int rc = 1;
    FILE *f = NULL;
    float *buf = NULL;
    size_t numel;
    if (outname && fs_model_keep_tensor(m, outname)) goto fail;
    if (fs_model_set_threads(m, threads)) goto fail;
    size_t ilen = strlen(in);
    if (ilen > 3 && !strcmp(in + ilen - 3, ".pb")) { /* ONNX TensorProto (test-case input_K.pb) */
        f = fopen(in, "rb");
        if (!f) { fprintf(stderr, "facescore: cannot open %s\n", in); goto out; }
        fseek(f, 0, SEEK_END);
        long psz = ftell(f);
        rewind(f);
        unsigned char *pb = psz > 0 ? malloc((size_t)psz) : NULL;
        if (!pb || fread(pb, 1, (size_t)psz, f) != (size_t)psz) { free(pb); fprintf(stderr, "facescore: cannot read %s\n", in); goto out; }
        fclose(f);
        f = NULL;
        nn_dtype dt;
        int nd;
        int64_t dims[NN_MAX_DIMS];
        void *data = NULL;
        size_t nbytes;
        fs_status st = tp_load_file_buffer(pb, (size_t)psz, &dt, &nd, dims, &data, &nbytes);
        free(pb);
        if (st) goto fail;
        if (dt != NN_F32) { free(data); fprintf(stderr, "facescore: %s is not a float tensor\n", in); goto out; }
        if (shape == NULL && fs_model_set_input_shape(m, 0, nd, dims)) { free(data); goto fail; }
        if (shape && fix_input_shape(m, shape, 0)) { free(data); goto out; }
        float *x = fs_model_input(m, 0, &numel);
        if (!x) { free(data); goto fail; }
        if (numel * sizeof(float) != nbytes) {
            free(data);
            fprintf(stderr, "facescore: %s holds %zu bytes, the model input takes %zu\n", in, nbytes, numel * 4);
            goto out;
        }
        memcpy(x, data, nbytes);
        free(data);
    } else {
    f = fopen(in, "rb");
    if (!f) { fprintf(stderr, "facescore: cannot open %s\n", in); goto out; }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    rewind(f);
    if (sz < 0 || fix_input_shape(m, shape, (size_t)sz / sizeof(float))) goto out;
    float *x = fs_model_input(m, 0, &numel);
    if (!x) goto fail;
    if (sz < 0 || (size_t)sz != numel * sizeof(float)) {
        fprintf(stderr, "facescore: %s has %ld bytes, the model input takes %zu float32 (%zu bytes)\n", in, sz,
                numel, numel * sizeof(float));
        goto out;
    }
    buf = malloc(numel * sizeof(float) + 1);
    if (!buf || fread(buf, sizeof(float), numel, f) != numel) { fprintf(stderr, "facescore: cannot read %s\n", in); goto out; }
    fclose(f);
    f = NULL;
    memcpy(x, buf, numel * sizeof(float));
    }
    if (fs_model_run(m)) goto fail;
    size_t n;
    const float *y = outname ? fs_model_tensor(m, outname, &n) : fs_model_output(m, 0, &n);
    if (!y) goto fail;
    f = fopen(save, "wb");
    if (!f || fwrite(y, sizeof(float), n, f) != n || fclose(f) != 0) {
        f = NULL;
        fprintf(stderr, "facescore: cannot write %s\n", save);
        goto out;
    }
    f = NULL;
    fprintf(stderr, "saved %zu float32 to %s\n", n, save);
    nn_graph_profile_print(fs_model_graph(m), stderr);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "facescore: %s\n", fs_last_error());
out:
    if (f) fclose(f);
    free(buf);
    fs_model_free(m);
    return rc;
}

int fs_cli_model(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "info")) {
        const char *shape = NULL, *path = NULL;
        int tensors = 0;
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "--input-shape") && i + 1 < argc) shape = argv[++i];
            else if (!strcmp(argv[i], "--tensors")) tensors = 1;
            else if (argv[i][0] != '-' && !path) path = argv[i];
            else { fprintf(stderr, "usage: facescore model info FILE [--input-shape d0,d1,...] [--tensors]\n"); return 2; }
        }
        if (!path) { fprintf(stderr, "usage: facescore model info FILE [--input-shape d0,d1,...] [--tensors]\n"); return 2; }
        return model_info(path, shape, tensors);
    }
    if (argc >= 2 && !strcmp(argv[1], "run")) return model_run(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "check")) return fs_cli_model_check(argc - 2, argv + 2);
    fprintf(stderr, "usage: facescore model info FILE [--input-shape d0,d1,...] [--tensors]\n"
                    "       facescore model run FILE --input X.f32 [--output NAME] --save Y.f32\n"
                    "       facescore model check [--json] [--rtol R] [--atol A] CASE_DIR...\n");
    return 2;
}
