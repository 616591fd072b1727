/* nn/loaders/protobuf.h — a small bounds-checked reader of the protobuf wire format.
 *
 * No schema, no allocation: a pb_reader walks the fields of one message held in memory;
 * length-delimited fields (sub-messages, strings, bytes, packed repeated scalars) are returned
 * as (pointer, length) views into the caller's buffer. Every read is checked against the end of
 * the enclosing message; sub-messages carry a nesting depth limited to PB_MAX_DEPTH.
 *
 *   pb_reader r = pb_reader_init(buf, len);
 *   pb_field f;
 *   int rc;
 *   while ((rc = pb_next(&r, &f)) > 0) {
 *       if (f.num == 7 && f.wire == PB_LEN) { pb_reader sub; if (pb_sub(&r, &f, &sub)) ...; }
 *   }
 *   if (rc < 0) ... fs_error() was set ("protobuf: truncated varint at byte 12")
 */
#ifndef FS_NN_PROTOBUF_H
#define FS_NN_PROTOBUF_H
#include <stddef.h>
#include <stdint.h>

#define PB_MAX_DEPTH 32

enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_SGROUP = 3, PB_EGROUP = 4, PB_I32 = 5 };

typedef struct {
    const uint8_t *base; /* start of the whole buffer (for byte offsets in messages) */
    const uint8_t *p, *end;
    int depth;
} pb_reader;

typedef struct {
    uint32_t num;        /* field number */
    int wire;            /* PB_VARINT / PB_I64 / PB_LEN / PB_I32 */
    uint64_t v;          /* varint value, or the raw bits of fixed32 / fixed64 */
    const uint8_t *data; /* PB_LEN: payload */
    size_t len;
} pb_field;

pb_reader pb_reader_init(const uint8_t *buf, size_t len);
/* 1: a field was read into *f; 0: end of message; -1: malformed (fs_error set, FS_ERR_FORMAT). */
int pb_next(pb_reader *r, pb_field *f);
/* Reader over the payload of a PB_LEN field, one level deeper. 0 ok, -1 (fs_error) if the
 * field is not length-delimited or the depth limit is exceeded. */
int pb_sub(const pb_reader *parent, const pb_field *f, pb_reader *sub);

/* Decodes one varint from [*p, end); advances *p. 0 ok, -1 truncated / longer than 10 bytes /
 * overflowing 64 bits (no fs_error: callers word the message). */
int pb_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* Scalar conversions of a field's value. */
float  pb_as_float(const pb_field *f);   /* PB_I32 bits */
double pb_as_double(const pb_field *f);  /* PB_I64 bits */

/* Repeated scalar fields appear either one value per field occurrence or "packed" in a PB_LEN
 * payload. These count / fetch the values of one occurrence f:
 *   varint-typed (int32/int64/uint64/bool/enum): pb_count_varints, pb_get_varints
 *   fixed32 (float): elem 4; fixed64 (double): elem 8 — pb_count_fixed. */
int64_t pb_count_varints(const pb_field *f);            /* -1 if malformed */
int64_t pb_count_fixed(const pb_field *f, int elem);    /* -1 if the wire type / size is wrong */
/* Appends up to max values of f to out; returns the number written or -1 if malformed. */
int64_t pb_get_varints(const pb_field *f, int64_t *out, int64_t max);

/* Compares a PB_LEN payload with a NUL-terminated string. */
int pb_str_eq(const pb_field *f, const char *s);

#endif
