/* tests/nn/test_protobuf.c — the bounds-checked protobuf wire reader and the TensorProto reader. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "facescore.h"
#include "nn/loaders/protobuf.h"
#include "nn/loaders/tensorproto.h"

static size_t put_varint(uint8_t *p, uint64_t v) {
    size_t n = 0;
    do {
        p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

TEST(varint_roundtrip) {
    uint64_t vals[] = {0, 1, 127, 128, 300, 0xffffffffull, 0x7fffffffffffffffull, UINT64_MAX};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        uint8_t b[16];
        size_t n = put_varint(b, vals[i]);
        const uint8_t *p = b;
        uint64_t v = 1234;
        CHECK(pb_read_varint(&p, b + n, &v) == 0);
        CHECK(v == vals[i]);
        CHECK(p == b + n);
        /* every strict prefix is truncated */
        for (size_t k = 0; k < n; k++) {
            p = b;
            CHECK(pb_read_varint(&p, b + k, &v) == -1);
        }
    }
}

TEST(varint_overflow) {
    uint8_t b[12];
    memset(b, 0xff, sizeof b); /* 11+ continuation bytes */
    const uint8_t *p = b;
    uint64_t v;
    CHECK(pb_read_varint(&p, b + sizeof b, &v) == -1);
    /* 10 bytes whose last carries bits beyond 64 */
    memset(b, 0x80, 9);
    b[9] = 0x02;
    p = b;
    CHECK(pb_read_varint(&p, b + 10, &v) == -1);
    b[9] = 0x01; /* exactly 1 << 63 */
    p = b;
    CHECK(pb_read_varint(&p, b + 10, &v) == 0 && v == (1ull << 63));
}

TEST(fields_and_errors) {
    /* field 1 varint 150, field 2 "hi", field 3 fixed32 1.5f, field 4 fixed64 */
    uint8_t b[] = {0x08, 0x96, 0x01, 0x12, 0x02, 'h', 'i', 0x1d, 0x00, 0x00, 0xc0, 0x3f,
                   0x21, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f};
    pb_reader r = pb_reader_init(b, sizeof b);
    pb_field f;
    CHECK(pb_next(&r, &f) == 1 && f.num == 1 && f.wire == PB_VARINT && f.v == 150);
    CHECK(pb_next(&r, &f) == 1 && f.num == 2 && pb_str_eq(&f, "hi"));
    CHECK(pb_next(&r, &f) == 1 && f.num == 3 && pb_as_float(&f) == 1.5f);
    CHECK(pb_next(&r, &f) == 1 && f.num == 4 && pb_as_double(&f) == 1.0);
    CHECK(pb_next(&r, &f) == 0);
    /* length past the end */
    uint8_t c[] = {0x12, 0x05, 'a', 'b'};
    r = pb_reader_init(c, sizeof c);
    CHECK(pb_next(&r, &f) == -1);
    CHECK(strstr(fs_last_error(), "past the end") != NULL);
    /* truncated fixed32 */
    uint8_t d[] = {0x1d, 0x00, 0x00};
    r = pb_reader_init(d, sizeof d);
    CHECK(pb_next(&r, &f) == -1);
    /* groups and wire type 7 are refused, field number 0 too */
    uint8_t e[] = {0x0b};
    r = pb_reader_init(e, 1);
    CHECK(pb_next(&r, &f) == -1);
    uint8_t z[] = {0x00, 0x00};
    r = pb_reader_init(z, 2);
    CHECK(pb_next(&r, &f) == -1);
    /* huge length varint does not wrap */
    uint8_t h[] = {0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    r = pb_reader_init(h, sizeof h);
    CHECK(pb_next(&r, &f) == -1);
}

/* recursive descent through field 1 messages, as a loader does */
static int descend(pb_reader *r, int *depth) {
    pb_field f;
    int rc;
    while ((rc = pb_next(r, &f)) > 0) {
        if (f.num != 1) continue;
        pb_reader sub;
        if (pb_sub(r, &f, &sub)) return -1;
        if (sub.depth > *depth) *depth = sub.depth;
        if (descend(&sub, depth)) return -1;
    }
    return rc < 0 ? -1 : 0;
}

TEST(depth_bomb) {
    /* 1000 nested messages: 1 { 1 { 1 { ... } } } built from the inside out */
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap), *tmp = malloc(cap);
    CHECK(buf && tmp);
    for (int i = 0; i < 1000; i++) {
        uint8_t hdr[12];
        size_t h = 0;
        hdr[h++] = 0x0a;
        h += put_varint(hdr + h, len);
        memcpy(tmp, hdr, h);
        memcpy(tmp + h, buf, len);
        len += h;
        memcpy(buf, tmp, len);
    }
    pb_reader r = pb_reader_init(buf, len);
    int depth = 0;
    CHECK(descend(&r, &depth) == -1);
    CHECK(depth == PB_MAX_DEPTH);
    CHECK(strstr(fs_last_error(), "nested deeper") != NULL);
    free(buf);
    free(tmp);
}

TEST(packed_repeated) {
    uint8_t b[] = {0x0a, 0x04, 0x03, 0x8e, 0x02, 0x05}; /* packed [3, 270, 5] */
    pb_reader r = pb_reader_init(b, sizeof b);
    pb_field f;
    CHECK(pb_next(&r, &f) == 1);
    CHECK(pb_count_varints(&f) == 3);
    int64_t v[3];
    CHECK(pb_get_varints(&f, v, 3) == 3 && v[0] == 3 && v[1] == 270 && v[2] == 5);
    CHECK(pb_get_varints(&f, v, 2) == -1); /* does not overrun */
    uint8_t bad[] = {0x0a, 0x02, 0x03, 0x8e}; /* truncated varint inside the packed payload */
    r = pb_reader_init(bad, sizeof bad);
    CHECK(pb_next(&r, &f) == 1);
    CHECK(pb_count_varints(&f) == -1);
}

TEST(half_to_float) {
    CHECK(tp_half_to_float(0x3c00) == 1.0f);
    CHECK(tp_half_to_float(0xc000) == -2.0f);
    CHECK(tp_half_to_float(0x7bff) == 65504.0f);
    CHECK(tp_half_to_float(0x0001) == ldexpf(1.0f, -24)); /* smallest subnormal */
    CHECK(tp_half_to_float(0x03ff) == ldexpf(1023.0f, -24));
    CHECK(isinf(tp_half_to_float(0x7c00)));
    CHECK(isnan(tp_half_to_float(0x7e00)));
    CHECK(tp_half_to_float(0x8000) == 0.0f && signbit(tp_half_to_float(0x8000)));
}

TEST(tensorproto_pb_file) {
    size_t len;
    unsigned char *buf = fs_test_read_file("tests/data/nn/onnx/small_cnn_input.pb", &len);
    CHECK(buf != NULL);
    nn_dtype dt;
    int ndim;
    int64_t dims[8];
    void *data;
    size_t nb;
    CHECK(tp_load_file_buffer(buf, len, &dt, &ndim, dims, &data, &nb) == FS_OK);
    CHECK(dt == NN_F32 && ndim == 4 && dims[0] == 1 && dims[1] == 2 && dims[2] == 4 && dims[3] == 4);
    CHECK(nb == 32 * 4);
    free(data);
    /* every truncation fails cleanly */
    for (size_t k = 0; k < len; k++) {
        fs_status st = tp_load_file_buffer(buf, k, &dt, &ndim, dims, &data, &nb);
        if (st == FS_OK) free(data);
        CHECK(st != FS_OK);
    }
    free(buf);
}

TEST(tensorproto_typed_fields) {
    /* dims [2,2], data_type INT64 (7), int64_data packed [1, -1, 300, 0] */
    uint8_t b[64];
    size_t n = 0;
    b[n++] = 0x0a; b[n++] = 2; b[n++] = 2; b[n++] = 2;      /* dims packed */
    b[n++] = 0x10; b[n++] = 7;                              /* data_type */
    uint8_t vals[32];
    size_t vn = 0;
    vn += put_varint(vals + vn, 1);
    vn += put_varint(vals + vn, (uint64_t)-1);
    vn += put_varint(vals + vn, 300);
    vn += put_varint(vals + vn, 0);
    b[n++] = 0x3a; b[n++] = (uint8_t)vn;                    /* field 7, packed */
    memcpy(b + n, vals, vn);
    n += vn;
    nn_dtype dt;
    int ndim;
    int64_t dims[8];
    void *data;
    size_t nb;
    CHECK(tp_load_file_buffer(b, n, &dt, &ndim, dims, &data, &nb) == FS_OK);
    CHECK(dt == NN_I64 && ndim == 2 && nb == 32);
    int64_t *v = data;
    CHECK(v[0] == 1 && v[1] == -1 && v[2] == 300 && v[3] == 0);
    free(data);
    /* dims say 2x3 but only 4 values: refused */
    b[3] = 3;
    CHECK(tp_load_file_buffer(b, n, &dt, &ndim, dims, &data, &nb) == FS_ERR_FORMAT);
    CHECK(strstr(fs_last_error(), "holds 4 values") != NULL);
    /* more values than the dims */
    b[3] = 1;
    CHECK(tp_load_file_buffer(b, n, &dt, &ndim, dims, &data, &nb) == FS_ERR_FORMAT);
}
