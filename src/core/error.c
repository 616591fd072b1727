/* core/error.c — status texts and the per-thread last-error buffer. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char fs_err_buf[512];

const char *fs_strerror(fs_status s) {
    switch (s) {
    case FS_OK: return "success";
    case FS_ERR_IO: return "input/output error";
    case FS_ERR_FORMAT: return "malformed input";
    case FS_ERR_UNSUPPORTED: return "unsupported feature";
    case FS_ERR_LIMIT: return "size limit exceeded";
    case FS_ERR_NOMEM: return "out of memory";
    case FS_ERR_ARG: return "invalid argument";
    case FS_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}

const char *fs_last_error(void) { return fs_err_buf; }

void fs_error_clear(void) { fs_err_buf[0] = 0; }

fs_status fs_error(fs_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fs_err_buf, sizeof fs_err_buf, fmt, ap);
    va_end(ap);
    return code;
}

void fs_error_prefix(const char *fmt, ...) {
    char pre[256], old[sizeof fs_err_buf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, fs_err_buf, sizeof old);
    size_t np = strlen(pre), no = strlen(old); /* both NUL-terminated above */
    if (np > sizeof fs_err_buf - 1) np = sizeof fs_err_buf - 1;
    if (no > sizeof fs_err_buf - 1 - np) no = sizeof fs_err_buf - 1 - np;
    memcpy(fs_err_buf, pre, np);
    memcpy(fs_err_buf + np, old, no);
    fs_err_buf[np + no] = 0;
}
