/* nn/loaders/protobuf.c — bounds-checked protobuf wire-format reader (see protobuf.h). */
#include "nn/loaders/protobuf.h"

#include <string.h>

#include "core/error.h"

pb_reader pb_reader_init(const uint8_t *buf, size_t len) {
    pb_reader r;
    r.base = buf;
    r.p = buf;
    r.end = buf + len;
    r.depth = 0;
    return r;
}

int pb_read_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v) {
    const uint8_t *p = *pp;
    uint64_t x = 0;
    for (int i = 0; i < 10; i++) {
        if (p >= end) return -1;
        uint8_t b = *p++;
        if (i == 9 && b > 1) return -1; /* more than 64 bits */
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *pp = p;
            *v = x;
            return 0;
        }
    }
    return -1; /* continuation bit on the 10th byte */
}

static uint64_t load_le(const uint8_t *p, int n) {
    uint64_t x = 0;
    for (int i = n - 1; i >= 0; i--) x = (x << 8) | p[i];
    return x;
}

int pb_next(pb_reader *r, pb_field *f) {
    if (r->p >= r->end) return 0;
    size_t off = (size_t)(r->p - r->base);
    uint64_t key;
    if (pb_read_varint(&r->p, r->end, &key))
        return fs_error(FS_ERR_FORMAT, "protobuf: bad field key at byte %zu", off), -1;
    if ((key >> 3) == 0 || (key >> 3) > 0x1fffffffu)
        return fs_error(FS_ERR_FORMAT, "protobuf: invalid field number at byte %zu", off), -1;
    memset(f, 0, sizeof *f);
    f->num = (uint32_t)(key >> 3);
    f->wire = (int)(key & 7);
    size_t left;
    switch (f->wire) {
    case PB_VARINT:
        if (pb_read_varint(&r->p, r->end, &f->v))
            return fs_error(FS_ERR_FORMAT, "protobuf: truncated or overlong varint (field %u at byte %zu)",
                            f->num, off), -1;
        return 1;
    case PB_I64:
    case PB_I32: {
        int n = f->wire == PB_I64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < (size_t)n)
            return fs_error(FS_ERR_FORMAT, "protobuf: truncated fixed%d (field %u at byte %zu)", n * 8,
                            f->num, off), -1;
        f->v = load_le(r->p, n);
        r->p += n;
        return 1;
    }
    case PB_LEN: {
        uint64_t n;
        if (pb_read_varint(&r->p, r->end, &n))
            return fs_error(FS_ERR_FORMAT, "protobuf: bad length varint (field %u at byte %zu)", f->num,
                            off), -1;
        left = (size_t)(r->end - r->p);
        if (n > left)
            return fs_error(FS_ERR_FORMAT,
                            "protobuf: field %u at byte %zu has length %llu past the end (%zu bytes left)",
                            f->num, off, (unsigned long long)n, left), -1;
        f->data = r->p;
        f->len = (size_t)n;
        r->p += n;
        return 1;
    }
    default:
        return fs_error(FS_ERR_FORMAT, "protobuf: unsupported wire type %d (field %u at byte %zu)", f->wire,
                        f->num, off), -1;
    }
}

int pb_sub(const pb_reader *parent, const pb_field *f, pb_reader *sub) {
    if (f->wire != PB_LEN)
        return fs_error(FS_ERR_FORMAT, "protobuf: field %u should be a message (wire type %d)", f->num,
                        f->wire), -1;
    if (parent->depth + 1 > PB_MAX_DEPTH)
        return fs_error(FS_ERR_LIMIT, "protobuf: messages nested deeper than %d levels", PB_MAX_DEPTH), -1;
    sub->base = parent->base;
    sub->p = f->data;
    sub->end = f->data + f->len;
    sub->depth = parent->depth + 1;
    return 0;
}

float pb_as_float(const pb_field *f) {
    uint32_t u = (uint32_t)f->v;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

double pb_as_double(const pb_field *f) {
    double x;
    memcpy(&x, &f->v, 8);
    return x;
}

int64_t pb_count_varints(const pb_field *f) {
    if (f->wire == PB_VARINT) return 1;
    if (f->wire != PB_LEN) return -1;
    const uint8_t *p = f->data, *end = f->data + f->len;
    int64_t n = 0;
    uint64_t v;
    while (p < end) {
        if (pb_read_varint(&p, end, &v)) return -1;
        n++;
    }
    return n;
}

int64_t pb_count_fixed(const pb_field *f, int elem) {
    if ((elem == 4 && f->wire == PB_I32) || (elem == 8 && f->wire == PB_I64)) return 1;
    if (f->wire != PB_LEN || f->len % (size_t)elem) return -1;
    return (int64_t)(f->len / (size_t)elem);
}

int64_t pb_get_varints(const pb_field *f, int64_t *out, int64_t max) {
    if (f->wire == PB_VARINT) {
        if (max < 1) return -1;
        out[0] = (int64_t)f->v;
        return 1;
    }
    if (f->wire != PB_LEN) return -1;
    const uint8_t *p = f->data, *end = f->data + f->len;
    int64_t n = 0;
    uint64_t v;
    while (p < end) {
        if (n >= max || pb_read_varint(&p, end, &v)) return -1;
        out[n++] = (int64_t)v;
    }
    return n;
}

int pb_str_eq(const pb_field *f, const char *s) {
    size_t n = strlen(s);
    return f->wire == PB_LEN && f->len == n && memcmp(f->data, s, n) == 0;
}
