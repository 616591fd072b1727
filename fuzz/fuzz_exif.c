/* fuzz/fuzz_exif.c — the EXIF orientation reader alone: the APP1 form ("Exif\0\0" + TIFF) and the bare
 * TIFF form (PNG eXIf), then the orientation applied to a small image. */
#include "image/img_internal.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int o = img_exif_orientation(data, size);
    int t = img_tiff_orientation(data, size);
    if (o < 1 || o > 8 || t < 1 || t > 8) abort();
    fs_image im;
    if (fs_image_alloc(&im, 3, 2, 3) != FS_OK) abort();
    for (int i = 0; i < 18; i++) im.data[i] = (uint8_t)i;
    if (img_apply_orientation(&im, t) != FS_OK) abort();
    if (im.width * im.height != 6) abort();
    fs_image_free(&im);
    return 0;
}
