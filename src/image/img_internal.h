/* image/img_internal.h — shared internals of the image module (decoders, EXIF, helpers).
 *
 * Decoders return the file's "native" layout: 1 channel for gray files, 3 (RGB) otherwise;
 * fs_image_decode converts to what the caller asked for afterwards. Every decoder checks
 * width*height against max_pixels from the header, before it allocates the pixel buffer. */
#ifndef FS_IMAGE_INTERNAL_H
#define FS_IMAGE_INTERNAL_H
#include "facescore.h"
#include "core/error.h"

#include <stdint.h>
#include <stddef.h>

#define IMG_DEFAULT_MAX_PIXELS 40000000ull
#define IMG_DEFAULT_MAX_BYTES  (64ull << 20)

/* FS_ERR_LIMIT (with fmt in the message) when w*h > max_pixels, FS_ERR_FORMAT when w or h is 0. */
fs_status img_check_dims(const char *fmt, uint64_t w, uint64_t h, uint64_t max_pixels);

fs_status img_decode_jpeg(const uint8_t *buf, size_t len, uint64_t max_pixels, fs_image *out);
fs_status img_decode_png(const uint8_t *buf, size_t len, uint64_t max_pixels, fs_image *out);
fs_status img_decode_webp(const uint8_t *buf, size_t len, uint64_t max_pixels, fs_image *out);
fs_status img_decode_bmp(const uint8_t *buf, size_t len, uint64_t max_pixels, fs_image *out);

/* EXIF: orientation (1..8) from an APP1 payload ("Exif\0\0" + TIFF) or from a bare TIFF
 * structure (PNG eXIf chunk); 1 when absent or invalid. */
int img_exif_orientation(const uint8_t *app1, size_t len);
int img_tiff_orientation(const uint8_t *tiff, size_t len);
/* Replaces *img by its upright version for EXIF orientation o (1..8; others leave it as is). */
fs_status img_apply_orientation(fs_image *img, int o);

/* Gray -> RGB by replication (what libjpeg/libpng/OpenCV do). */
fs_status img_gray_to_rgb(const fs_image *src, fs_image *dst);

#endif
