/* fuzz/tools/make_fsh_seed.c — writes the .fsh seeds of fuzz_fsh with the library's own writer (hio_save):
 * heads of width 8 (shared and per-gender pairs) with the shipped model's metadata keys.
 *   cc -std=c11 -D_GNU_SOURCE -Iinclude -Isrc fuzz/tools/make_fsh_seed.c build/libfacescore.a \
 *      $(pkg-config --libs libjpeg libpng libwebp jansson libmicrohttpd sqlite3 libpq) -lm -pthread -o /tmp/mk
 *   /tmp/mk fuzz/corpus/fsh */
#include "score/heads_io.h"

#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: make_fsh_seed DIR\n"); return 2; }
    static const mf_meta meta[] = {
        {"format", "facescore-heads"}, {"backbones", "mfn"}, {"crop", "align"}, {"detector", "yunet"},
        {"labels", "1,2,3,4,5"}, {"backbone.mfn.file", "mobilefacenet/MobileFaceNet.tflite"},
        {"backbone.mfn.fnv1a64", "e22713a740ba856b"}, {"backbone.mfn.input", "112x112 (RGB-127.5)/128, feature embeddings [192]"},
    };
    for (int pg = 0; pg < 2; pg++) {
        hd_model m;
        if (hd_alloc(&m, 8, pg) != FS_OK) { fprintf(stderr, "%s\n", fs_last_error()); return 1; }
        for (int i = 0; i < 8; i++) {
            m.mean[i] = 0.1f * (float)i; m.inv_std[i] = 1.0f + (float)i; m.wg[i] = -0.5f + 0.125f * (float)i;
            for (int g = 0; g <= pg; g++) {
                m.ws[g][i] = 0.01f * (float)(i + g);
                for (int c = 0; c < 5; c++) m.wc[g][c * 8 + i] = 0.001f * (float)(c + i + g);
            }
        }
        char path[512];
        snprintf(path, sizeof path, "%s/heads_dim8_%s.fsh", argv[1], pg ? "per_gender" : "shared");
        if (hio_save(path, &m, meta, pg ? 8 : 5) != FS_OK) { fprintf(stderr, "%s\n", fs_last_error()); return 1; }
        hd_free(&m);
    }
    return 0;
}
