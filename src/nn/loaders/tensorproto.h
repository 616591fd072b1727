/* nn/loaders/tensorproto.h — ONNX TensorProto reader (initializers, Constant values, and the
 * input_K.pb / output_K.pb files of ONNX test cases).
 *
 * Parsing keeps views into the caller's buffer; tp_read converts the values (raw_data or the typed
 * *_data fields, little-endian) to a runtime dtype: FLOAT/FLOAT16/DOUBLE -> NN_F32, INT64 -> NN_I64,
 * INT32/INT16/INT8/UINT16/UINT8 -> NN_I32 (or their own width when asked), BOOL -> NN_BOOL.
 * Sizes are checked: dims >= 0, at most NN_MAX_DIMS, element count x element size must not overflow,
 * and raw_data / typed fields must hold exactly that many values. */
#ifndef FS_NN_TENSORPROTO_H
#define FS_NN_TENSORPROTO_H
#include <stddef.h>
#include <stdint.h>

#include "nn/graph.h"
#include "nn/loaders/protobuf.h"

/* ONNX TensorProto.DataType values */
enum {
    TP_UNDEFINED = 0, TP_FLOAT = 1, TP_UINT8 = 2, TP_INT8 = 3, TP_UINT16 = 4, TP_INT16 = 5, TP_INT32 = 6,
    TP_INT64 = 7, TP_STRING = 8, TP_BOOL = 9, TP_FLOAT16 = 10, TP_DOUBLE = 11, TP_UINT32 = 12,
    TP_UINT64 = 13, TP_COMPLEX64 = 14, TP_COMPLEX128 = 15, TP_BFLOAT16 = 16
};

typedef struct {
    pb_reader msg;              /* the TensorProto message (re-read by tp_read) */
    const uint8_t *name; size_t name_len;
    int data_type;
    int ndim;
    int64_t dims[NN_MAX_DIMS];
    int64_t numel;
    const uint8_t *raw; size_t raw_len; int has_raw;
    int external;               /* data_location == EXTERNAL */
} tp_tensor;

/* Parses the message in r (a reader over exactly one TensorProto). fs_error set on failure. */
fs_status tp_parse(const pb_reader *r, tp_tensor *t);
/* Runtime dtype for an ONNX data type; returns -1 (and sets fs_error, FS_ERR_UNSUPPORTED) for types
 * the runtime does not hold (string, complex, uint32/64, bfloat16). */
int tp_nn_dtype(int data_type);
const char *tp_dtype_name(int data_type);
/* Checks the stored values can fill the dims before anything is allocated: raw_data must hold
 * exactly numel x element bytes; typed fields must have at least numel bytes in the message. */
fs_status tp_check(const tp_tensor *t);
/* Bytes tp_read will write for t into dtype tp_nn_dtype(t->data_type). Fails on overflow. */
fs_status tp_nbytes(const tp_tensor *t, size_t *nbytes);
/* Converts the values into dst (nbytes from tp_nbytes, dtype tp_nn_dtype). */
fs_status tp_read(const tp_tensor *t, void *dst, size_t nbytes);

/* Whole-file helper for .pb tensors: allocates *data (malloc; free()). */
fs_status tp_load_file_buffer(const uint8_t *buf, size_t len, nn_dtype *dt, int *ndim, int64_t *dims,
                              void **data, size_t *nbytes);

float tp_half_to_float(uint16_t h);

#endif
