/* core/error.h — per-thread failure reasons behind fs_last_error(). */
#ifndef FS_CORE_ERROR_H
#define FS_CORE_ERROR_H
#include "facescore.h"

/* Records "reason" for this thread and returns code, so callers write
 *   return fs_error(FS_ERR_FORMAT, "PNG: bad IHDR width %u", w); */
fs_status fs_error(fs_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the current reason: "a.jpg: " + reason. */
void fs_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fs_error_clear(void);
#endif
