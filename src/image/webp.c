/* image/webp.c — WebP decode with libwebp (still images; alpha is dropped, as OpenCV's
 * imread(IMREAD_COLOR) does). Animated files are refused with a clear message. */
#include "image/img_internal.h"

#include <webp/decode.h>

static const char *vp8_status_text(VP8StatusCode s) {
    switch (s) {
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "corrupt bitstream";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "suspended";
    case VP8_STATUS_USER_ABORT: return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "truncated file (not enough data)";
    default: return "error";
    }
}

fs_status img_decode_webp(const uint8_t *buf, size_t len, uint64_t max_pixels, fs_image *out) {
    WebPBitstreamFeatures f;
    VP8StatusCode vs = WebPGetFeatures(buf, len, &f);
    if (vs != VP8_STATUS_OK) return fs_error(FS_ERR_FORMAT, "WebP: %s", vp8_status_text(vs));
    if (f.has_animation) return fs_error(FS_ERR_UNSUPPORTED, "WebP: animated images are not supported");
    fs_status st = img_check_dims("WebP", (uint64_t)(f.width > 0 ? f.width : 0),
                                  (uint64_t)(f.height > 0 ? f.height : 0), max_pixels);
    if (st) return st;
    st = fs_image_alloc(out, f.width, f.height, 3);
    if (st) return st;
    size_t size = (size_t)out->stride * (size_t)out->height;
    if (!WebPDecodeRGBInto(buf, len, out->data, size, out->stride)) {
        fs_image_free(out);
        return fs_error(FS_ERR_FORMAT, "WebP: cannot decode (truncated or corrupt data)");
    }
    return FS_OK;
}
