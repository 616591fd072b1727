/* fuzz/fuzz_util.h — helpers shared by the libFuzzer targets (fuzz/fuzz_<name>.c). */
#ifndef FS_FUZZ_UTIL_H
#define FS_FUZZ_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <unistd.h>

static char fz_dir[64];

static inline int fz_rm(const char *p, const struct stat *st, int flag, struct FTW *f) {
    (void)st; (void)flag; (void)f;
    return remove(p);
}
/* Removes the scratch folder (at exit; the regression test also calls it). */
static inline void fz_tmpdir_cleanup(void) {
    if (fz_dir[0]) nftw(fz_dir, fz_rm, 8, FTW_DEPTH | FTW_PHYS);
    fz_dir[0] = 0;
}

/* A per-process scratch folder (for parsers that only read from paths), made once, removed at exit. */
static inline const char *fz_tmpdir(void) {
    if (!fz_dir[0]) {
        snprintf(fz_dir, sizeof fz_dir, "%s/fsfuzz.XXXXXX", access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
        if (!mkdtemp(fz_dir)) abort();
        atexit(fz_tmpdir_cleanup);
    }
    return fz_dir;
}

/* Writes len bytes to path (whole file); aborts on I/O failure (not a finding of the target). */
static inline void fz_write(const char *path, const void *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(buf, 1, len, f) != len) || fclose(f)) abort();
}

/* Splits data at the first NUL: part a = before it, part b = after it (b empty and has_b 0 if none). */
static inline void fz_split(const uint8_t *data, size_t size, size_t *alen, const uint8_t **b, size_t *blen) {
    const uint8_t *z = memchr(data, 0, size);
    *alen = z ? (size_t)(z - data) : size;
    *b = z ? z + 1 : data + size;
    *blen = z ? size - *alen - 1 : 0;
}
#endif
