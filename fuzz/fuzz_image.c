/* fuzz/fuzz_image.c — fs_image_decode on arbitrary bytes: JPEG (with EXIF orientation in APP1), PNG (eXIf),
 * WebP and BMP, picked by magic bytes like every caller. Each input is decoded as native and, when that
 * works, again as gray; a success must be a sane image. Pixel limit 4 Mpx (the default 40 Mpx would only make
 * each run slower; the limit check is the same code). */
#include "facescore.h"

#include <stdint.h>
#include <stdlib.h>

static void image_check(const fs_image *im) {
    if (im->width <= 0 || im->height <= 0 || (im->channels != 1 && im->channels != 3) || !im->data ||
        (uint64_t)im->width * (uint64_t)im->height > (4u << 20))
        abort();
    volatile uint8_t sink = im->data[(size_t)im->stride * (size_t)(im->height - 1) + (size_t)im->width * (size_t)im->channels - 1];
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fs_image_limits lim = {4u << 20, 0};
    (void)fs_image_sniff(data, size);
    fs_image im;
    if (fs_image_decode(data, size, 0, &lim, &im) == FS_OK) {
        image_check(&im);
        fs_image_free(&im);
        if (fs_image_decode(data, size, 1, &lim, &im) != FS_OK) abort(); /* decoded once, decodes again */
        if (im.channels != 1) abort();
        image_check(&im);
        fs_image_free(&im);
    } else if (im.data || !fs_last_error()[0]) {
        abort(); /* a failure zeroes *out and says why */
    }
    return 0;
}
