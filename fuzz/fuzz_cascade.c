/* fuzz/fuzz_cascade.c — OpenCV cascade XML (Haar and LBP; src/detect/haar_xml.c + haar_cascade.c):
 * fs_cascade_load_memory, then, when it loads, one detectMultiScale pass over a fixed 40x32 gray image
 * (single thread), so features and stages that passed the loader's checks are also evaluated. */
#include "facescore.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fs_cascade *c = NULL;
    if (fs_cascade_load_memory((const char *)data, size, &c) != FS_OK) {
        if (c || !fs_last_error()[0]) abort();
        return 0;
    }
    fs_image im;
    if (fs_image_alloc(&im, 40, 32, 1) != FS_OK) abort();
    for (int i = 0; i < 40 * 32; i++) im.data[i] = (uint8_t)(i * 37 + (i >> 3) * 11);
    fs_haar_params p;
    fs_haar_params_default(&p);
    p.threads = 1;
    p.scale_factor = 1.25;
    p.min_neighbors = 0;
    fs_detections d;
    if (fs_haar_detect(c, &im, &p, &d) == FS_OK) fs_detections_free(&d);
    fs_image_free(&im);
    fs_cascade_free(c);
    return 0;
}
