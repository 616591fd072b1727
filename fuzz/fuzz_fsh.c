/* fuzz/fuzz_fsh.c — facescore's own heads model file (.fsh, src/score/model_file.c): mf_open_memory
 * (magic, version, offsets, alignment, checksum, strings, names) and, when it opens, hio_load (the
 * shapes the scorer needs) and every metadata / tensor lookup. The checksum is recomputed over the
 * input first (a mutated file would otherwise almost always stop there); an input starting with "!"
 * keeps its own checksum, so the check itself is fuzzed too. */
#include "score/heads_io.h"
#include "score/model_file.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int keep = size > 0 && data[0] == '!';
    if (keep) { data++; size--; }
    uint8_t *b = malloc(size ? size : 1);
    if (!b) return 0;
    memcpy(b, data, size);
    if (!keep && size >= MF_HEADER_SIZE) { /* the checksum field: bytes [64,72), little-endian */
        uint64_t c = mf_checksum(b, size);
        for (int i = 0; i < 8; i++) b[64 + i] = (uint8_t)(c >> (8 * i));
    }
    mf_file f;
    if (mf_open_memory(b, size, &f) == FS_OK) {
        for (int i = 0; i < f.n_meta; i++)
            if (mf_get(&f, f.meta[i].key) == NULL) abort();
        for (int i = 0; i < f.n_tensors; i++) {
            const mf_tensor *t = mf_tensor_get(&f, f.tensors[i].name);
            if (!t) abort();
            volatile float s = 0;
            for (size_t k = 0; k < t->numel; k += 97) s += t->data[k];
            if (t->numel) s += t->data[t->numel - 1];
            (void)s;
        }
        hd_model m;
        memset(&m, 0, sizeof m);
        if (hio_load(&f, &m) == FS_OK) hd_free(&m);
        mf_close(&f);
    }
    free(b);
    return 0;
}
