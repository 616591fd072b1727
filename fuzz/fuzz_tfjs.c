/* fuzz/fuzz_tfjs.c — the TF.js graph-model loader through the public path, fs_model_load(model.json):
 * JSON parse, weights manifest, shard reads (relative paths only), dequantization, graph build and the
 * load-time shape check. Input: model.json bytes, a NUL, then the weight bytes, written as
 * <tmp>/model.json and <tmp>/tiny.bin (the name the seeds' manifests use; other names read nothing). */
#include "facescore.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t jlen, wlen;
    const uint8_t *w;
    fz_split(data, size, &jlen, &w, &wlen);
    char jp[128], wp[128];
    snprintf(jp, sizeof jp, "%s/model.json", fz_tmpdir());
    snprintf(wp, sizeof wp, "%s/tiny.bin", fz_tmpdir());
    fz_write(jp, data, jlen);
    fz_write(wp, w, wlen);
    fs_model *m = NULL;
    if (fs_model_load(jp, &m) != FS_OK) {
        if (m || !fs_last_error()[0]) abort();
        return 0;
    }
    fs_tensor_info info;
    for (int i = 0; i < fs_model_num_inputs(m); i++)
        if (fs_model_input_info(m, i, &info) != FS_OK) abort();
    for (int i = 0; i < fs_model_num_outputs(m); i++)
        if (fs_model_output_info(m, i, &info) != FS_OK) abort();
    fs_model_free(m);
    return 0;
}
