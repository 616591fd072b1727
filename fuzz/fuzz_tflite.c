/* fuzz/fuzz_tflite.c — the TFLite flatbuffer loader through fs_model_load_memory (parse, graph
 * build, the static shape check done at load), then the I/O queries on a model that loaded. */
#include "fuzz_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_model_bytes(data, size);
    return 0;
}
