/* score/model_file.h — facescore's own model file: metadata + named float32 tensors,
 * little-endian, tensors 64-byte aligned so the file can be used in place through mmap.
 * Layout and rules: docs/model-format.md. */
#ifndef FS_SCORE_MODEL_FILE_H
#define FS_SCORE_MODEL_FILE_H
#include <stddef.h>
#include <stdint.h>
#include "facescore.h"

#define MF_MAGIC "FSHEADS\0"
#define MF_VERSION 1
#define MF_HEADER_SIZE 128
#define MF_MAX_DIMS 4

typedef struct {
    const char *name;
    int ndim;
    int64_t dims[MF_MAX_DIMS];
    size_t numel;
    const float *data;     /* into the mapping (reader) or the caller's buffer (writer) */
} mf_tensor;

typedef struct {
    const char *key, *value;
} mf_meta;

typedef struct {
    void *map;             /* mmap of the whole file */
    size_t size;
    int n_meta, n_tensors;
    mf_meta *meta;         /* strings point into meta_buf */
    mf_tensor *tensors;
    char *meta_buf;
} mf_file;

/* Writes atomically (temp file + rename). */
fs_status mf_write(const char *path, const mf_meta *meta, int n_meta, const mf_tensor *t, int n_tensors);
/* Maps and validates everything (magic, version, sizes, offsets, alignment, checksum, UTF-8-free
 * but NUL-free strings, unique names); any problem is FS_ERR_FORMAT with the reason. */
fs_status mf_open(const char *path, mf_file *f);
/* Same checks on bytes in memory (copied). */
fs_status mf_open_memory(const void *buf, size_t len, mf_file *f);
void mf_close(mf_file *f);
const char *mf_get(const mf_file *f, const char *key);       /* NULL if absent */
const mf_tensor *mf_tensor_get(const mf_file *f, const char *name);
/* checksum used in the header: FNV-1a 64 over bytes [0,64) and [72,size) */
uint64_t mf_checksum(const uint8_t *p, size_t size);
#endif
