/* nn/loaders/tensorproto.c — ONNX TensorProto reader (see tensorproto.h). */
#include "nn/loaders/tensorproto.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

float tp_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do { man <<= 1; e++; } while (!(man & 0x400));
            bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | man << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

const char *tp_dtype_name(int dt) {
    static const char *names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64",
                                  "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64",
                                  "COMPLEX128", "BFLOAT16"};
    return dt >= 0 && dt <= 16 ? names[dt] : "unknown";
}

int tp_nn_dtype(int dt) {
    switch (dt) {
    case TP_FLOAT: case TP_FLOAT16: case TP_DOUBLE: return NN_F32;
    case TP_INT64: return NN_I64;
    case TP_INT32: case TP_INT16: case TP_UINT16: return NN_I32;
    case TP_UINT8: return NN_U8;
    case TP_INT8: return NN_I8;
    case TP_BOOL: return NN_BOOL;
    default:
        fs_error(FS_ERR_UNSUPPORTED, "ONNX: tensor data type %s (%d) is not supported", tp_dtype_name(dt), dt);
        return -1;
    }
}

/* bytes per element in raw_data */
static size_t raw_elem(int dt) {
    switch (dt) {
    case TP_FLOAT: case TP_INT32: case TP_UINT32: return 4;
    case TP_UINT8: case TP_INT8: case TP_BOOL: return 1;
    case TP_UINT16: case TP_INT16: case TP_FLOAT16: case TP_BFLOAT16: return 2;
    case TP_INT64: case TP_DOUBLE: case TP_UINT64: return 8;
    default: return 0;
    }
}

fs_status tp_parse(const pb_reader *r0, tp_tensor *t) {
    memset(t, 0, sizeof *t);
    t->msg = *r0;
    pb_reader r = *r0;
    pb_field f;
    int rc;
    while ((rc = pb_next(&r, &f)) > 0) {
        switch (f.num) {
        case 1: { /* dims */
            int64_t n = pb_count_varints(&f);
            if (n < 0) return fs_error(FS_ERR_FORMAT, "ONNX: tensor dims malformed");
            if (t->ndim + n > NN_MAX_DIMS)
                return fs_error(FS_ERR_UNSUPPORTED, "ONNX: tensor has more than %d dims", NN_MAX_DIMS);
            pb_get_varints(&f, t->dims + t->ndim, NN_MAX_DIMS - t->ndim);
            t->ndim += (int)n;
            break;
        }
        case 2: t->data_type = (int)f.v; break;
        case 3: return fs_error(FS_ERR_UNSUPPORTED, "ONNX: segmented tensors are not supported");
        case 8: if (f.wire == PB_LEN) { t->name = f.data; t->name_len = f.len; } break;
        case 9:
            if (f.wire != PB_LEN) return fs_error(FS_ERR_FORMAT, "ONNX: tensor raw_data has wire type %d", f.wire);
            t->raw = f.data; t->raw_len = f.len; t->has_raw = 1;
            break;
        case 14: if (f.v == 1) t->external = 1; break;
        default: break;
        }
    }
    if (rc < 0) return FS_ERR_FORMAT;
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (t->dims[i] < 0) return fs_error(FS_ERR_FORMAT, "ONNX: tensor dim %d is negative (%lld)", i,
                                            (long long)t->dims[i]);
        if (t->dims[i] > 0 && n > INT64_MAX / 16 / t->dims[i])
            return fs_error(FS_ERR_LIMIT, "ONNX: tensor dims overflow (dim %d = %lld)", i, (long long)t->dims[i]);
        n *= t->dims[i];
    }
    t->numel = n;
    if (t->external)
        return fs_error(FS_ERR_UNSUPPORTED, "ONNX: tensor '%.*s' uses external data", (int)t->name_len,
                        t->name ? (const char *)t->name : "");
    return FS_OK;
}

fs_status tp_nbytes(const tp_tensor *t, size_t *nbytes) {
    int dt = tp_nn_dtype(t->data_type);
    if (dt < 0) return FS_ERR_UNSUPPORTED;
    size_t es = nn_dtype_size((nn_dtype)dt);
    if ((uint64_t)t->numel > SIZE_MAX / es)
        return fs_error(FS_ERR_LIMIT, "ONNX: tensor of %lld elements overflows memory", (long long)t->numel);
    *nbytes = (size_t)t->numel * es;
    return FS_OK;
}

fs_status tp_check(const tp_tensor *t) {
    if (tp_nn_dtype(t->data_type) < 0) return FS_ERR_UNSUPPORTED;
    size_t es = raw_elem(t->data_type);
    if (t->has_raw) {
        if (t->raw_len % es || t->raw_len / es != (uint64_t)t->numel)
            return fs_error(FS_ERR_FORMAT, "ONNX: tensor '%.*s' raw_data has %zu bytes, expected %lld x %zu",
                            (int)t->name_len, t->name ? (const char *)t->name : "", t->raw_len,
                            (long long)t->numel, es);
        return FS_OK;
    }
    if ((uint64_t)t->numel > (uint64_t)(t->msg.end - t->msg.p))
        return fs_error(FS_ERR_FORMAT, "ONNX: tensor '%.*s' dims (%lld values) exceed its stored data",
                        (int)t->name_len, t->name ? (const char *)t->name : "", (long long)t->numel);
    return FS_OK;
}

/* one element of raw little-endian storage -> dst[i] in the runtime dtype */
static void store_raw(int dt, const uint8_t *p, void *dst, int64_t i) {
    uint64_t u = 0;
    size_t n = raw_elem(dt);
    for (size_t k = n; k-- > 0;) u = (u << 8) | p[k];
    switch (dt) {
    case TP_FLOAT: { uint32_t b = (uint32_t)u; float x; memcpy(&x, &b, 4); ((float *)dst)[i] = x; break; }
    case TP_FLOAT16: ((float *)dst)[i] = tp_half_to_float((uint16_t)u); break;
    case TP_DOUBLE: { double x; memcpy(&x, &u, 8); ((float *)dst)[i] = (float)x; break; }
    case TP_INT64: ((int64_t *)dst)[i] = (int64_t)u; break;
    case TP_INT32: ((int32_t *)dst)[i] = (int32_t)(uint32_t)u; break;
    case TP_INT16: ((int32_t *)dst)[i] = (int16_t)(uint16_t)u; break;
    case TP_UINT16: ((int32_t *)dst)[i] = (int32_t)u; break;
    case TP_UINT8: case TP_BOOL: ((uint8_t *)dst)[i] = (uint8_t)u; break;
    case TP_INT8: ((int8_t *)dst)[i] = (int8_t)(uint8_t)u; break;
    default: break;
    }
}

/* one value from a typed field (varint or fixed bits) -> dst[i] */
static void store_typed(int dt, uint64_t v, void *dst, int64_t i) {
    switch (dt) {
    case TP_FLOAT: { uint32_t b = (uint32_t)v; float x; memcpy(&x, &b, 4); ((float *)dst)[i] = x; break; }
    case TP_FLOAT16: ((float *)dst)[i] = tp_half_to_float((uint16_t)v); break;
    case TP_DOUBLE: { double x; memcpy(&x, &v, 8); ((float *)dst)[i] = (float)x; break; }
    case TP_INT64: ((int64_t *)dst)[i] = (int64_t)v; break;
    case TP_INT32: ((int32_t *)dst)[i] = (int32_t)v; break;
    case TP_INT16: ((int32_t *)dst)[i] = (int16_t)v; break;
    case TP_UINT16: ((int32_t *)dst)[i] = (int32_t)(uint16_t)v; break;
    case TP_UINT8: case TP_BOOL: ((uint8_t *)dst)[i] = (uint8_t)v; break;
    case TP_INT8: ((int8_t *)dst)[i] = (int8_t)v; break;
    default: break;
    }
}

/* which typed field holds values of a data type, and its element kind (0 varint, 4 fixed32, 8 fixed64) */
static int typed_field(int dt, int *kind) {
    switch (dt) {
    case TP_FLOAT: *kind = 4; return 4;
    case TP_DOUBLE: *kind = 8; return 10;
    case TP_INT64: *kind = 0; return 7;
    default: *kind = 0; return 5; /* int32_data: INT32, INT16, INT8, UINT16, UINT8, BOOL, FLOAT16 */
    }
}

fs_status tp_read(const tp_tensor *t, void *dst, size_t nbytes) {
    size_t need = 0;
    fs_status st = tp_nbytes(t, &need);
    if (st) return st;
    if (nbytes < need) return fs_error(FS_ERR_INTERNAL, "ONNX: tensor buffer too small");
    size_t es = raw_elem(t->data_type);
    if (t->has_raw) {
        if (t->raw_len / es != (uint64_t)t->numel || t->raw_len % es)
            return fs_error(FS_ERR_FORMAT, "ONNX: tensor '%.*s' raw_data has %zu bytes, expected %lld x %zu",
                            (int)t->name_len, t->name ? (const char *)t->name : "", t->raw_len,
                            (long long)t->numel, es);
        for (int64_t i = 0; i < t->numel; i++) store_raw(t->data_type, t->raw + (size_t)i * es, dst, i);
        return FS_OK;
    }
    int kind, fnum = typed_field(t->data_type, &kind);
    pb_reader r = t->msg;
    pb_field f;
    int rc;
    int64_t n = 0;
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.num != (uint32_t)fnum) continue;
        if (kind == 0) {
            const uint8_t *p = f.data, *end = f.data ? f.data + f.len : p; /* no data (varint field): no arithmetic on NULL */
            if (f.wire == PB_VARINT) {
                if (n >= t->numel) goto too_many;
                store_typed(t->data_type, f.v, dst, n++);
                continue;
            }
            if (f.wire != PB_LEN) return fs_error(FS_ERR_FORMAT, "ONNX: tensor field %d has wire type %d", fnum, f.wire);
            while (p < end) {
                uint64_t v;
                if (pb_read_varint(&p, end, &v)) return fs_error(FS_ERR_FORMAT, "ONNX: bad packed varint in tensor");
                if (n >= t->numel) goto too_many;
                store_typed(t->data_type, v, dst, n++);
            }
        } else {
            int64_t c = pb_count_fixed(&f, kind);
            if (c < 0) return fs_error(FS_ERR_FORMAT, "ONNX: tensor field %d malformed", fnum);
            if (c > t->numel - n) goto too_many;
            if (f.wire != PB_LEN) {
                store_typed(t->data_type, f.v, dst, n++);
                continue;
            }
            for (int64_t i = 0; i < c; i++) {
                uint64_t v = 0;
                for (int k = kind - 1; k >= 0; k--) v = (v << 8) | f.data[i * kind + k];
                store_typed(t->data_type, v, dst, n++);
            }
        }
    }
    if (rc < 0) return FS_ERR_FORMAT;
    if (n != t->numel)
        return fs_error(FS_ERR_FORMAT, "ONNX: tensor '%.*s' holds %lld values, dims say %lld", (int)t->name_len,
                        t->name ? (const char *)t->name : "", (long long)n, (long long)t->numel);
    return FS_OK;
too_many:
    return fs_error(FS_ERR_FORMAT, "ONNX: tensor '%.*s' holds more values than its dims (%lld)", (int)t->name_len,
                    t->name ? (const char *)t->name : "", (long long)t->numel);
}

fs_status tp_load_file_buffer(const uint8_t *buf, size_t len, nn_dtype *dt, int *ndim, int64_t *dims,
                              void **data, size_t *nbytes) {
    pb_reader r = pb_reader_init(buf, len);
    tp_tensor t;
    fs_status st = tp_parse(&r, &t);
    if (st) return st;
    int d = tp_nn_dtype(t.data_type);
    if (d < 0) return FS_ERR_UNSUPPORTED;
    size_t nb;
    if ((st = tp_check(&t)) || (st = tp_nbytes(&t, &nb))) return st;
    void *p = malloc(nb ? nb : 1);
    if (!p) return fs_error(FS_ERR_NOMEM, "ONNX: cannot allocate %zu bytes for a tensor", nb);
    if ((st = tp_read(&t, p, nb))) { free(p); return st; }
    *dt = (nn_dtype)d;
    *ndim = t.ndim;
    memcpy(dims, t.dims, sizeof(int64_t) * (size_t)t.ndim);
    *data = p;
    *nbytes = nb;
    return FS_OK;
}
