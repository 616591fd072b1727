/* fuzz/fuzz_model.h — shared body of fuzz_tflite.c and fuzz_onnx.c (same entry point, own corpora):
 * fs_model_load_memory, then every input/output/tensor query of a model that loaded. */
#ifndef FS_FUZZ_MODEL_H
#define FS_FUZZ_MODEL_H
#include "facescore.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline void fz_model_bytes(const uint8_t *data, size_t size) {
    fs_model *m = NULL;
    if (fs_model_load_memory(size ? (const void *)data : (const void *)"", size, &m) != FS_OK) {
        if (m || !fs_last_error()[0]) abort();
        return;
    }
    fs_tensor_info info;
    for (int i = 0; i < fs_model_num_inputs(m); i++)
        if (fs_model_input_info(m, i, &info) != FS_OK || info.ndim < 0 || info.ndim > FS_MODEL_MAX_DIMS) abort();
    for (int i = 0; i < fs_model_num_outputs(m); i++)
        if (fs_model_output_info(m, i, &info) != FS_OK || info.ndim < 0 || info.ndim > FS_MODEL_MAX_DIMS) abort();
    char name[16];
    for (int t = 0; t < 8; t++) {
        snprintf(name, sizeof name, "#%d", t);
        (void)fs_model_tensor_info(m, name, &info);
    }
    (void)fs_model_format(m);
    fs_model_free(m);
}
#endif
