/* nn/loaders/tflite.c — TFLite flatbuffer (schema v3, "TFL3") to nn_graph.
 *
 * A hand-written flatbuffer reader: every offset, vtable, vector length and string is checked
 * against the buffer before use (64-bit arithmetic, no pointer arithmetic on unchecked values),
 * so a truncated or hostile file gives a clear error. Only subgraph 0 is read.
 *
 * Weights: float32 copied; float16 converted; uint8/int8/int16/int32 with quantization parameters
 * dequantized to float32 per tensor or per channel, w = (float)scale * (float)(q - zero_point).
 * Quantized activations run in float32 (their scales are ignored), so QUANTIZE is an identity and
 * DEQUANTIZE of a constant (fp16 weights in BlazeFace / face mesh) becomes a constant.
 * Layout: TFLite is NHWC with OHWI conv weights, as nn/graph.h; DEPTHWISE_CONV_2D weights
 * [1][KH][KW][C*M] are rearranged to [C*M][KH][KW][1]. SAME padding is resolved by the planner
 * (auto_pad SAME_UPPER: pad_before = total/2, the TF rule).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/loaders/loaders.h"
#include "nn/passes.h"

/* ---------------------------------------------------------------- flatbuffer reader */

typedef struct {
    const uint8_t *b;
    uint64_t len;
} fb_buf;

typedef struct {
    uint64_t pos, vt;
    uint16_t vtsize, tsize;
    int present;
} fb_table;

static uint32_t rd_u32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t rd_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint64_t rd_u64(const uint8_t *p) { return (uint64_t)rd_u32(p) | (uint64_t)rd_u32(p + 4) << 32; }

#define FB_FAIL(...) fs_error(FS_ERR_FORMAT, "TFLite: " __VA_ARGS__)

static fs_status fb_table_at(const fb_buf *f, uint64_t pos, fb_table *t, const char *what) {
    memset(t, 0, sizeof *t);
    if (pos < 4 || pos + 4 > f->len) return FB_FAIL("%s table offset %llu outside the file", what, (unsigned long long)pos);
    int32_t so = (int32_t)rd_u32(f->b + pos);
    int64_t vt = (int64_t)pos - (int64_t)so;
    if (vt < 0 || (uint64_t)vt + 4 > f->len) return FB_FAIL("%s vtable outside the file", what);
    t->pos = pos;
    t->vt = (uint64_t)vt;
    t->vtsize = rd_u16(f->b + vt);
    t->tsize = rd_u16(f->b + vt + 2);
    if (t->vtsize < 4 || (t->vtsize & 1) || t->vt + t->vtsize > f->len || t->tsize < 4 || pos + t->tsize > f->len)
        return FB_FAIL("%s has a bad vtable", what);
    t->present = 1;
    return FS_OK;
}

/* Position of field idx with the given inline width, 0 if absent, (uint64)-1 if bad. */
static uint64_t fb_field_b(const fb_buf *f, const fb_table *t, int idx, unsigned width) {
    if (!t->present) return 0;
    unsigned o = 4 + 2 * (unsigned)idx;
    if (o + 2 > t->vtsize) return 0;
    uint16_t off = rd_u16(f->b + t->vt + o);
    if (!off) return 0;
    if ((uint64_t)off + width > t->tsize) return (uint64_t)-1;
    return t->pos + off;
}

static int64_t fb_int(const fb_buf *f, const fb_table *t, int idx, unsigned width, int is_signed, int64_t def) {
    uint64_t p = fb_field_b(f, t, idx, width);
    if (!p || p == (uint64_t)-1) return def;
    switch (width) {
    case 1: return is_signed ? (int64_t)(int8_t)f->b[p] : (int64_t)f->b[p];
    case 2: return is_signed ? (int64_t)(int16_t)rd_u16(f->b + p) : (int64_t)rd_u16(f->b + p);
    case 4: return is_signed ? (int64_t)(int32_t)rd_u32(f->b + p) : (int64_t)rd_u32(f->b + p);
    default: return (int64_t)rd_u64(f->b + p);
    }
}

static float fb_float(const fb_buf *f, const fb_table *t, int idx, float def) {
    uint64_t p = fb_field_b(f, t, idx, 4);
    if (!p || p == (uint64_t)-1) return def;
    uint32_t u = rd_u32(f->b + p);
    float v;
    memcpy(&v, &u, 4);
    return v;
}

/* Vector field: *vpos = first element, *count. Returns 0 absent, 1 present, -1 malformed. */
static int fb_vector(const fb_buf *f, const fb_table *t, int idx, unsigned esize, uint64_t *vpos, uint32_t *count) {
    *vpos = 0;
    *count = 0;
    uint64_t p = fb_field_b(f, t, idx, 4);
    if (!p) return 0;
    if (p == (uint64_t)-1) return -1;
    uint64_t v = p + rd_u32(f->b + p);
    if (v + 4 > f->len) return -1;
    uint32_t n = rd_u32(f->b + v);
    if ((uint64_t)n * esize > f->len - v - 4) return -1;
    *vpos = v + 4;
    *count = n;
    return 1;
}

static fs_status fb_vec_table(const fb_buf *f, uint64_t vpos, uint32_t i, fb_table *t, const char *what) {
    uint64_t ep = vpos + 4 * (uint64_t)i;
    return fb_table_at(f, ep + rd_u32(f->b + ep), t, what);
}

static fs_status fb_subtable(const fb_buf *f, const fb_table *t, int idx, fb_table *sub, const char *what) {
    memset(sub, 0, sizeof *sub);
    uint64_t p = fb_field_b(f, t, idx, 4);
    if (!p) return FS_OK;
    if (p == (uint64_t)-1) return FB_FAIL("%s: bad field", what);
    return fb_table_at(f, p + rd_u32(f->b + p), sub, what);
}

/* String field copied (truncated) into out; "" if absent. */
static fs_status fb_string(const fb_buf *f, const fb_table *t, int idx, char *out, size_t cap, const char *what) {
    uint64_t v;
    uint32_t n;
    out[0] = 0;
    int r = fb_vector(f, t, idx, 1, &v, &n);
    if (r < 0) return FB_FAIL("%s: bad string", what);
    if (!r) return FS_OK;
    size_t k = n < cap - 1 ? n : cap - 1;
    for (size_t i = 0; i < k; i++) {
        uint8_t c = f->b[v + i];
        out[i] = (char)(c >= 32 && c < 127 ? c : '?');
    }
    out[k] = 0;
    return FS_OK;
}

/* ---------------------------------------------------------------- schema constants */

enum { TF_FLOAT32 = 0, TF_FLOAT16, TF_INT32, TF_UINT8, TF_INT64, TF_STRING, TF_BOOL, TF_INT16,
       TF_COMPLEX64, TF_INT8, TF_FLOAT64 };

enum {
    OP_ADD = 0, OP_AVERAGE_POOL_2D = 1, OP_CONCATENATION = 2, OP_CONV_2D = 3, OP_DEPTHWISE_CONV_2D = 4,
    OP_DEQUANTIZE = 6, OP_FLOOR = 8, OP_FULLY_CONNECTED = 9, OP_L2_NORMALIZATION = 11, OP_LOGISTIC = 14,
    OP_MAX_POOL_2D = 17, OP_MUL = 18, OP_RELU = 19, OP_RELU_N1_TO_1 = 20, OP_RELU6 = 21, OP_RESHAPE = 22,
    OP_RESIZE_BILINEAR = 23, OP_SOFTMAX = 25, OP_TANH = 28, OP_PAD = 34, OP_GATHER = 36, OP_TRANSPOSE = 39,
    OP_MEAN = 40, OP_SUB = 41, OP_DIV = 42, OP_SQUEEZE = 43, OP_EXP = 47, OP_SPLIT = 49, OP_LOG_SOFTMAX = 50,
    OP_CAST = 53, OP_PRELU = 54, OP_MAXIMUM = 55, OP_MINIMUM = 57, OP_NEG = 59, OP_PADV2 = 60, OP_SLICE = 65,
    OP_SIN = 66, OP_TRANSPOSE_CONV = 67, OP_EXPAND_DIMS = 70, OP_LOG = 73, OP_SUM = 74, OP_SQRT = 75,
    OP_RSQRT = 76, OP_POW = 78, OP_REDUCE_MAX = 82, OP_REDUCE_MIN = 89, OP_RESIZE_NEAREST_NEIGHBOR = 97,
    OP_LEAKY_RELU = 98, OP_MIRROR_PAD = 100, OP_ABS = 101, OP_SPLIT_V = 102, OP_CEIL = 104, OP_COS = 108,
    OP_ELU = 111, OP_QUANTIZE = 114, OP_HARD_SWISH = 117, OP_BATCH_MATMUL = 126,
    OP_DEPTH_TO_SPACE = 5, OP_LRN = 13, OP_SPACE_TO_DEPTH = 26, OP_STRIDED_SLICE = 45, OP_TILE = 69,
    OP_PACK = 83, OP_UNPACK = 88, OP_SQUARE = 92, OP_SQUARED_DIFFERENCE = 99, OP_BROADCAST_TO = 130,
};

static const char *tfl_op_names[] = {
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE",
    "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP", "L2_NORMALIZATION",
    "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D",
    "MUL", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN", "SOFTMAX",
    "SPACE_TO_DEPTH", "SVDF", "TANH", "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM",
    "EMBEDDING_LOOKUP_SPARSE", "PAD", "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND",
    "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM",
    "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE",
    "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM", "ARG_MAX", "MINIMUM", "LESS", "NEG",
    "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT", "SLICE", "SIN", "TRANSPOSE_CONV",
    "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG", "SUM", "SQRT", "RSQRT",
    "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK", "LOGICAL_OR",
    "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY",
    "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU",
    "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N",
    "GATHER_ND", "COS", "WHERE", "RANK", "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE",
    "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4",
    "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL",
};

static const char *tfl_op_name(int code) {
    if (code >= 0 && code < (int)(sizeof tfl_op_names / sizeof *tfl_op_names)) return tfl_op_names[code];
    return "?";
}

/* ---------------------------------------------------------------- loader state */

typedef struct {
    uint64_t data;   /* file position of the bytes, 0 if none */
    uint64_t size;
} tf_buffer;

typedef struct {
    fb_buf f;
    nn_graph *g;
    int32_t *opcodes; uint32_t n_opcodes;
    char (*custom)[64];
    tf_buffer *bufs; uint32_t n_bufs;
    int n_tensors;          /* TFLite tensors (graph indices 0..n-1 are the same) */
    int8_t *ttype;          /* TFLite type per tensor */
    uint8_t *dw_done;       /* depthwise weights already rearranged */
    int cur_op;
    int cur_code;
} tf_ctx;

static fs_status op_fail(tf_ctx *c, fs_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static fs_status op_fail(tf_ctx *c, fs_status code, const char *fmt, ...) {
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fs_error(code, "TFLite: operator %d (%s): %s", c->cur_op, tfl_op_name(c->cur_code), msg);
}

static float half_to_float(uint16_t h) {
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023, u;
    if (e == 0) {
        if (!m) u = s;
        else { /* subnormal */
            float v = ldexpf((float)m, -24);
            return s ? -v : v;
        }
    } else if (e == 31) u = s | 0x7f800000u | (m << 13);
    else u = s | ((e + 112) << 23) | (m << 13);
    float v;
    memcpy(&v, &u, 4);
    return v;
}

static unsigned tf_type_size(int t) {
    switch (t) {
    case TF_FLOAT32: case TF_INT32: return 4;
    case TF_FLOAT16: case TF_INT16: return 2;
    case TF_UINT8: case TF_INT8: case TF_BOOL: return 1;
    case TF_INT64: case TF_FLOAT64: return 8;
    default: return 0;
    }
}

static const char *tf_type_name(int t) {
    static const char *n[] = {"FLOAT32", "FLOAT16", "INT32", "UINT8", "INT64", "STRING", "BOOL", "INT16",
                              "COMPLEX64", "INT8", "FLOAT64"};
    return t >= 0 && t <= 10 ? n[t] : "unknown type";
}

/* Reads one quantized/raw element as double (before scaling). */
static double raw_elem(const uint8_t *p, int type, uint64_t i) {
    switch (type) {
    case TF_UINT8: return p[i];
    case TF_INT8: return (int8_t)p[i];
    case TF_INT16: return (int16_t)rd_u16(p + 2 * i);
    case TF_INT32: return (int32_t)rd_u32(p + 4 * i);
    case TF_INT64: return (double)(int64_t)rd_u64(p + 8 * i);
    default: return 0;
    }
}

/* Builds graph tensor ti from TFLite tensor table tt. */
static fs_status load_tensor(tf_ctx *c, int ti, const fb_table *tt) {
    const fb_buf *f = &c->f;
    char name[256];
    fs_status st = fb_string(f, tt, 3, name, sizeof name, "tensor name");
    if (st) return st;
    uint64_t sv;
    uint32_t nd;
    if (fb_vector(f, tt, 0, 4, &sv, &nd) < 0) return FB_FAIL("tensor %d: bad shape vector", ti);
    if (nd > NN_MAX_DIMS) return fs_error(FS_ERR_UNSUPPORTED, "TFLite: tensor %d '%s' has %u dims (max %d)", ti, name, nd, NN_MAX_DIMS);
    int64_t dims[NN_MAX_DIMS];
    uint64_t numel = 1;
    for (uint32_t i = 0; i < nd; i++) {
        int32_t d = (int32_t)rd_u32(f->b + sv + 4 * i);
        if (d < 0 || d > (1 << 30)) return FB_FAIL("tensor %d '%s': dim %u is %d", ti, name, i, d);
        dims[i] = d;
        numel *= (uint64_t)d;
        if (numel > ((uint64_t)1 << 34)) return fs_error(FS_ERR_LIMIT, "TFLite: tensor %d '%s' is absurdly large", ti, name);
    }
    int type = (int)fb_int(f, tt, 1, 1, 1, 0);
    uint32_t bi = (uint32_t)fb_int(f, tt, 2, 4, 0, 0);
    if (bi >= c->n_bufs && bi) return FB_FAIL("tensor %d '%s': buffer %u of %u", ti, name, bi, c->n_bufs);
    c->ttype[ti] = (int8_t)type;
    /* quantization */
    fb_table q;
    if ((st = fb_subtable(f, tt, 4, &q, "quantization"))) return st;
    uint64_t scv = 0, zpv = 0;
    uint32_t nsc = 0, nzp = 0;
    int qdim = 0;
    if (q.present) {
        if (fb_vector(f, &q, 2, 4, &scv, &nsc) < 0 || fb_vector(f, &q, 3, 8, &zpv, &nzp) < 0)
            return FB_FAIL("tensor %d '%s': bad quantization vectors", ti, name);
        if (fb_int(f, &q, 4, 1, 0, 0) != 0 && nsc == 0)
            return fs_error(FS_ERR_UNSUPPORTED, "TFLite: tensor %d '%s' uses custom quantization", ti, name);
        qdim = (int)fb_int(f, &q, 6, 4, 1, 0);
    }
    int quantized = nsc > 0 && (type == TF_UINT8 || type == TF_INT8 || type == TF_INT16 || type == TF_INT32 || type == TF_INT64);
    nn_dtype dt;
    switch (type) {
    case TF_FLOAT32: case TF_FLOAT16: case TF_UINT8: case TF_INT8: case TF_INT16: dt = NN_F32; break;
    case TF_INT32: dt = quantized ? NN_F32 : NN_I32; break;
    case TF_INT64: dt = quantized ? NN_F32 : NN_I64; break;
    case TF_BOOL: dt = NN_BOOL; break;
    default: dt = NN_F32; break; /* refused below if it holds data or an op uses it */
    }
    int gi = nn_graph_add_tensor(c->g, name, dt, (int)nd, dims);
    if (gi < 0) return FS_ERR_NOMEM;
    if (gi != ti) return fs_error(FS_ERR_INTERNAL, "TFLite: tensor index mismatch");
    if (!bi || !c->bufs[bi].data || !c->bufs[bi].size) return FS_OK; /* activation */
    /* constant */
    unsigned es = tf_type_size(type);
    if (!es) return fs_error(FS_ERR_UNSUPPORTED, "TFLite: tensor %d '%s' holds %s data", ti, name, tf_type_name(type));
    if (c->bufs[bi].size != numel * es)
        return FB_FAIL("tensor %d '%s': buffer has %llu bytes, shape needs %llu", ti, name,
                       (unsigned long long)c->bufs[bi].size, (unsigned long long)(numel * es));
    const uint8_t *src = f->b + c->bufs[bi].data;
    void *dst = nn_graph_alloc_const(c->g, gi);
    if (!dst) return FS_ERR_NOMEM;
    if (quantized) {
        if (nsc != 1) {
            if (qdim < 0 || qdim >= (int)nd || dims[qdim] != nsc)
                return FB_FAIL("tensor %d '%s': %u scales for quantized_dimension %d", ti, name, nsc, qdim);
        }
        if (nzp && nzp != 1 && nzp != nsc) return FB_FAIL("tensor %d '%s': %u zero points for %u scales", ti, name, nzp, nsc);
        uint64_t inner = 1;
        for (int d = qdim + 1; d < (int)nd; d++) inner *= (uint64_t)dims[d];
        float *o = dst;
        for (uint32_t ch = 0; ch < nsc; ch++) { /* per channel: a run of `inner` values every nsc*inner */
            uint32_t su = rd_u32(f->b + scv + 4 * (uint64_t)ch);
            float scale;
            memcpy(&scale, &su, 4);
            int64_t zp = nzp ? (int64_t)rd_u64(f->b + zpv + 8 * (uint64_t)(nzp == 1 ? 0 : ch)) : 0;
            uint64_t step = nsc == 1 ? numel : inner, stride = nsc == 1 ? numel : inner * nsc;
            for (uint64_t base = (uint64_t)ch * step; base < numel; base += stride)
                for (uint64_t i = base; i < base + step && i < numel; i++) {
                    int64_t q;
                    switch (type) {
                    case TF_UINT8: q = src[i]; break;
                    case TF_INT8: q = (int8_t)src[i]; break;
                    case TF_INT16: q = (int16_t)rd_u16(src + 2 * i); break;
                    case TF_INT32: q = (int32_t)rd_u32(src + 4 * i); break;
                    default: q = (int64_t)rd_u64(src + 8 * i); break;
                    }
                    o[i] = scale * (float)((double)q - (double)zp); /* exact for real zero points; no int64 overflow */
                }
        }
        return FS_OK;
    }
    switch (type) {
    case TF_FLOAT32: memcpy(dst, src, numel * 4); break;
    case TF_FLOAT16:
        for (uint64_t i = 0; i < numel; i++) ((float *)dst)[i] = half_to_float(rd_u16(src + 2 * i));
        break;
    case TF_UINT8: case TF_INT8: case TF_INT16: /* unquantized small ints used as float */
        for (uint64_t i = 0; i < numel; i++) ((float *)dst)[i] = (float)raw_elem(src, type, i);
        break;
    case TF_INT32: memcpy(dst, src, numel * 4); break;
    case TF_INT64: memcpy(dst, src, numel * 8); break;
    case TF_BOOL: memcpy(dst, src, numel); break;
    default: return fs_error(FS_ERR_UNSUPPORTED, "TFLite: tensor %d '%s' holds %s data", ti, name, tf_type_name(type));
    }
    return FS_OK;
}

/* ---------------------------------------------------------------- operators */

static fs_status set_act(tf_ctx *c, nn_attr *a, int act) {
    switch (act) {
    case 0: return FS_OK;
    case 1: a->act_min = 0; return FS_OK;
    case 2: a->act_min = -1; a->act_max = 1; return FS_OK;
    case 3: a->act_min = 0; a->act_max = 6; return FS_OK;
    default: return op_fail(c, FS_ERR_UNSUPPORTED, "fused activation %s", act == 4 ? "TANH" : act == 5 ? "SIGN_BIT" : "unknown");
    }
}

static nn_tensor *T(tf_ctx *c, int i) { return i >= 0 ? &c->g->tensors[i] : NULL; }

/* Const int vector of input k. */
static int in_ints(tf_ctx *c, const int *in, int nin, int k, int64_t *out, int max) {
    if (k >= nin || in[k] < 0) return -1;
    nn_tensor *t = T(c, in[k]);
    if (!t->is_const || t->ndim > 2) return -1;
    int64_t n = nn_tensor_numel(t);
    if (n < 0 || n > max) return -1;
    for (int64_t i = 0; i < n; i++) {
        /* a float value must fit an int64 (NaN, inf, |x| >= 2^63 are refused: the cast is UB) */
        float f = t->dtype == NN_I64 || t->dtype == NN_I32 ? 0.0f : ((float *)t->data)[i];
        if (!(f > -9.2e18f && f < 9.2e18f)) return -1;
        out[i] = t->dtype == NN_I64 ? ((int64_t *)t->data)[i] : t->dtype == NN_I32 ? ((int32_t *)t->data)[i]
                                                                                  : (int64_t)f;
    }
    return (int)n;
}

static int add(tf_ctx *c, nn_op_type type, const int *in, int nin, const int *out, int nout) {
    char name[64];
    const nn_tensor *o = nout > 0 && out[0] >= 0 ? T(c, out[0]) : NULL;
    if (o) snprintf(name, sizeof name, "%s", o->name);
    else snprintf(name, sizeof name, "op%d", c->cur_op);
    return nn_graph_add_node(c->g, type, name, nin, in, nout, out);
}

/* An intermediate tensor of a multi-node lowering (dims found by shape inference). */
static int tmp_tensor(tf_ctx *c, const char *tag) {
    char name[300];
    snprintf(name, sizeof name, "op%d/%s", c->cur_op, tag);
    return nn_graph_add_tensor(c->g, name, NN_F32, 0, NULL);
}

/* RESHAPE x -> y with a constant ONNX-style target (0 copies the input dim, -1 is inferred). */
static int add_reshape(tf_ctx *c, int x, int y, int nd, const int64_t *target) {
    char name[300];
    snprintf(name, sizeof name, "op%d/shape%d", c->cur_op, y);
    int64_t sd[1] = {nd};
    int st = nn_graph_add_const(c->g, name, NN_I64, 1, sd, target);
    if (st < 0) return -1;
    int in[2] = {x, st};
    return add(c, NN_OP_RESHAPE, in, 2, &y, 1);
}

/* DEPTH_TO_SPACE / SPACE_TO_DEPTH (NHWC, TF's DCR order) as reshape -> transpose -> reshape. */
static fs_status depth_space(tf_ctx *c, int to_space, int x, int y, int bs) {
    nn_tensor *xt = T(c, x);
    if (xt->ndim != 4 || bs < 1 || bs > 4096) return op_fail(c, FS_ERR_UNSUPPORTED, "block_size %d on rank %d", bs, xt->ndim);
    int64_t H = xt->dims[1], W = xt->dims[2], C = xt->dims[3], b = bs;
    if (to_space ? C % (b * b) : (H % b || W % b)) return op_fail(c, FS_ERR_FORMAT, "dims do not divide by block_size %d", bs);
    int t1 = tmp_tensor(c, "blocks"), t2 = tmp_tensor(c, "moved");
    if (t1 < 0 || t2 < 0) return FS_ERR_NOMEM;
    nn_node *nd;
    int ni;
    if (to_space) { /* [N,H,W,b,b,C'] -> [N,H,b,W,b,C'] -> [N,H*b,W*b,C'] */
        int64_t r1[6] = {0, H, W, b, b, C / (b * b)}, r2[4] = {0, H * b, W * b, C / (b * b)};
        if (add_reshape(c, x, t1, 6, r1) < 0 || (ni = add(c, NN_OP_TRANSPOSE, &t1, 1, &t2, 1)) < 0 ||
            add_reshape(c, t2, y, 4, r2) < 0)
            return FS_ERR_NOMEM;
    } else { /* [N,H/b,b,W/b,b,C] -> [N,H/b,W/b,b,b,C] -> [N,H/b,W/b,b*b*C] */
        int64_t r1[6] = {0, H / b, b, W / b, b, C}, r2[4] = {0, H / b, W / b, b * b * C};
        if (add_reshape(c, x, t1, 6, r1) < 0 || (ni = add(c, NN_OP_TRANSPOSE, &t1, 1, &t2, 1)) < 0 ||
            add_reshape(c, t2, y, 4, r2) < 0)
            return FS_ERR_NOMEM;
    }
    nd = &c->g->nodes[ni];
    int perm[6] = {0, 1, 3, 2, 4, 5};
    for (int i = 0; i < 6; i++) nd->attr.perm[i] = perm[i];
    return FS_OK;
}

static fs_status dw_weights(tf_ctx *c, int wi) {
    nn_tensor *w = T(c, wi);
    if (!w->is_const || w->ndim != 4) return op_fail(c, FS_ERR_UNSUPPORTED, "depthwise weights must be a constant [1,KH,KW,C]");
    if (c->dw_done[wi]) return FS_OK;
    if (w->dims[0] != 1) return op_fail(c, FS_ERR_FORMAT, "depthwise weights dim 0 is %lld", (long long)w->dims[0]);
    int64_t kh = w->dims[1], kw = w->dims[2], cm = w->dims[3];
    size_t n = (size_t)(kh * kw * cm);
    float *tmp = malloc(n * sizeof(float) + 1);
    if (!tmp) return fs_error(FS_ERR_NOMEM, "TFLite: out of memory");
    const float *src = w->data;
    for (int64_t y = 0; y < kh; y++)
        for (int64_t x = 0; x < kw; x++)
            for (int64_t o = 0; o < cm; o++) tmp[(o * kh + y) * kw + x] = src[(y * kw + x) * cm + o];
    memcpy(w->data, tmp, n * sizeof(float));
    free(tmp);
    w->dims[0] = cm;
    w->dims[3] = 1;
    c->dw_done[wi] = 1;
    return FS_OK;
}

static fs_status padding_mode(tf_ctx *c, nn_attr *a, int pad) {
    if (pad == 0) a->auto_pad = 1;       /* SAME */
    else if (pad == 1) a->auto_pad = 3;  /* VALID */
    else return op_fail(c, FS_ERR_UNSUPPORTED, "padding mode %d", pad);
    return FS_OK;
}

static fs_status convert_op(tf_ctx *c, int code, const fb_table *opt, int *in, int nin, int *out, int nout) {
    const fb_buf *f = &c->f;
    nn_graph *g = c->g;
    int ni;
    nn_op_type simple = NN_OP__COUNT;
#define NODE(type, nI) do { ni = add(c, (type), in, (nI), out, nout); if (ni < 0) return FS_ERR_NOMEM; } while (0)
#define A (g->nodes[ni].attr)
#define NEED(k) do { if (nin < (k) || nout < 1) return op_fail(c, FS_ERR_FORMAT, "needs %d inputs and an output", (k)); \
                     for (int q_ = 0; q_ < (k); q_++) if (in[q_] < 0) return op_fail(c, FS_ERR_FORMAT, "input %d missing", q_); } while (0)
    switch (code) {
    case OP_CONV_2D:
    case OP_DEPTHWISE_CONV_2D: {
        NEED(2);
        int dw = code == OP_DEPTHWISE_CONV_2D;
        nn_tensor *x = T(c, in[0]);
        if (x->ndim != 4) return op_fail(c, FS_ERR_FORMAT, "input is not 4-D");
        if (dw) {
            fs_status st = dw_weights(c, in[1]);
            if (st) return st;
            int mult = (int)fb_int(f, opt, 3, 4, 1, 1);
            if (mult > 0 && T(c, in[1])->dims[0] != x->dims[3] * mult)
                return op_fail(c, FS_ERR_FORMAT, "depth_multiplier %d does not match weights", mult);
        } else if (c->dw_done[in[1]]) return op_fail(c, FS_ERR_FORMAT, "weights shared with a depthwise conv");
        NODE(NN_OP_CONV2D, nin > 2 ? 3 : 2);
        fs_status st = padding_mode(c, &A, (int)fb_int(f, opt, 0, 1, 1, 0));
        if (st) return st;
        A.stride_w = (int)fb_int(f, opt, 1, 4, 1, 1);
        A.stride_h = (int)fb_int(f, opt, 2, 4, 1, 1);
        if ((st = set_act(c, &A, (int)fb_int(f, opt, dw ? 4 : 3, 1, 1, 0)))) return st;
        A.dil_w = (int)fb_int(f, opt, dw ? 5 : 4, 4, 1, 1);
        A.dil_h = (int)fb_int(f, opt, dw ? 6 : 5, 4, 1, 1);
        nn_tensor *w = T(c, in[1]);
        if (w->ndim != 4 || w->dims[3] <= 0) return op_fail(c, FS_ERR_FORMAT, "weights are not 4-D");
        A.groups = dw ? (int)x->dims[3] : (int)(x->dims[3] / w->dims[3]);
        if (A.groups < 1) A.groups = 1;
        return FS_OK;
    }
    case OP_TRANSPOSE_CONV: {
        NEED(3);
        int64_t os[4];
        if (in_ints(c, in, nin, 0, os, 4) != 4) return op_fail(c, FS_ERR_UNSUPPORTED, "output_shape must be a constant of 4 ints");
        nn_tensor *x = T(c, in[2]), *w = T(c, in[1]);
        if (x->ndim != 4 || w->ndim != 4) return op_fail(c, FS_ERR_FORMAT, "input/weights are not 4-D");
        int nin2 = nin > 3 && in[3] >= 0 ? 3 : 2;
        int tin[3] = {in[2], in[1], nin2 == 3 ? in[3] : -1};
        ni = add(c, NN_OP_CONV2D_TRANSPOSE, tin, nin2, out, nout);
        if (ni < 0) return FS_ERR_NOMEM;
        int pad = (int)fb_int(f, opt, 0, 1, 1, 0);
        A.stride_w = (int)fb_int(f, opt, 1, 4, 1, 1);
        A.stride_h = (int)fb_int(f, opt, 2, 4, 1, 1);
        fs_status st = set_act(c, &A, (int)fb_int(f, opt, 3, 1, 1, 0));
        if (st) return st;
        if (A.stride_h < 1 || A.stride_w < 1 || A.stride_h > 1 << 16 || A.stride_w > 1 << 16)
            return op_fail(c, FS_ERR_FORMAT, "bad strides");
        int64_t th = (x->dims[1] - 1) * A.stride_h + w->dims[1] - os[1];
        int64_t tw = (x->dims[2] - 1) * A.stride_w + w->dims[2] - os[2];
        if (th < 0) { A.out_pad_h = (int)-th; th = 0; }
        if (tw < 0) { A.out_pad_w = (int)-tw; tw = 0; }
        A.pad_t = pad == 0 ? (int)(th / 2) : 0;
        A.pad_b = (int)(th - A.pad_t);
        A.pad_l = pad == 0 ? (int)(tw / 2) : 0;
        A.pad_r = (int)(tw - A.pad_l);
        return FS_OK;
    }
    case OP_FULLY_CONNECTED: {
        NEED(2);
        if (!T(c, in[1])->is_const) return op_fail(c, FS_ERR_UNSUPPORTED, "non-constant weights");
        if (fb_int(f, opt, 1, 1, 1, 0) != 0) return op_fail(c, FS_ERR_UNSUPPORTED, "shuffled weights format");
        NODE(NN_OP_FULLY_CONNECTED, nin > 2 && in[2] >= 0 ? 3 : 2);
        A.keepdims = (int)fb_int(f, opt, 2, 1, 0, 0);
        return set_act(c, &A, (int)fb_int(f, opt, 0, 1, 1, 0));
    }
    case OP_BATCH_MATMUL:
        NEED(2);
        if (fb_int(f, opt, 0, 1, 0, 0) || fb_int(f, opt, 1, 1, 0, 0)) return op_fail(c, FS_ERR_UNSUPPORTED, "adj_x/adj_y");
        NODE(NN_OP_MATMUL, 2);
        return FS_OK;
    case OP_MAX_POOL_2D:
    case OP_AVERAGE_POOL_2D: {
        NEED(1);
        NODE(code == OP_MAX_POOL_2D ? NN_OP_MAX_POOL2D : NN_OP_AVG_POOL2D, 1);
        fs_status st = padding_mode(c, &A, (int)fb_int(f, opt, 0, 1, 1, 0));
        if (st) return st;
        A.stride_w = (int)fb_int(f, opt, 1, 4, 1, 1);
        A.stride_h = (int)fb_int(f, opt, 2, 4, 1, 1);
        A.kw = (int)fb_int(f, opt, 3, 4, 1, 0);
        A.kh = (int)fb_int(f, opt, 4, 4, 1, 0);
        A.count_include_pad = 0;
        return set_act(c, &A, (int)fb_int(f, opt, 5, 1, 1, 0));
    }
    case OP_ADD: simple = NN_OP_ADD; break;
    case OP_SUB: simple = NN_OP_SUB; break;
    case OP_MUL: simple = NN_OP_MUL; break;
    case OP_DIV: simple = NN_OP_DIV; break;
    case OP_MAXIMUM: case OP_MINIMUM: case OP_POW: case OP_PRELU:
        NEED(2);
        NODE(code == OP_MAXIMUM ? NN_OP_MAXIMUM : code == OP_MINIMUM ? NN_OP_MINIMUM : code == OP_POW ? NN_OP_POW : NN_OP_PRELU, 2);
        return FS_OK;
    case OP_RELU: case OP_RELU6: case OP_RELU_N1_TO_1:
        NEED(1);
        NODE(NN_OP_CLAMP, 1);
        return set_act(c, &A, code == OP_RELU ? 1 : code == OP_RELU6 ? 3 : 2);
    case OP_LEAKY_RELU:
        NEED(1);
        NODE(NN_OP_LEAKY_RELU, 1);
        A.alpha = fb_float(f, opt, 0, 0.0f);
        return FS_OK;
    case OP_ELU:
        NEED(1);
        NODE(NN_OP_ELU, 1);
        A.alpha = 1.0f;
        return FS_OK;
    case OP_LOGISTIC: case OP_TANH: case OP_EXP: case OP_LOG: case OP_SQRT: case OP_RSQRT: case OP_ABS:
    case OP_NEG: case OP_HARD_SWISH: case OP_FLOOR: case OP_CEIL: case OP_SIN: case OP_COS: {
        NEED(1);
        nn_op_type t = code == OP_LOGISTIC ? NN_OP_SIGMOID : code == OP_TANH ? NN_OP_TANH : code == OP_EXP ? NN_OP_EXP
                     : code == OP_LOG ? NN_OP_LOG : code == OP_SQRT ? NN_OP_SQRT : code == OP_RSQRT ? NN_OP_RSQRT
                     : code == OP_ABS ? NN_OP_ABS : code == OP_NEG ? NN_OP_NEG : code == OP_HARD_SWISH ? NN_OP_HARD_SWISH
                     : code == OP_FLOOR ? NN_OP_FLOOR : code == OP_CEIL ? NN_OP_CEIL : code == OP_SIN ? NN_OP_SIN : NN_OP_COS;
        NODE(t, 1);
        return FS_OK;
    }
    case OP_QUANTIZE:
        NEED(1);
        NODE(NN_OP_IDENTITY, 1);
        return FS_OK;
    case OP_DEQUANTIZE: {
        NEED(1);
        nn_tensor *x = T(c, in[0]), *y = T(c, out[0]);
        if (!x->is_const) { NODE(NN_OP_IDENTITY, 1); return FS_OK; }
        if (y->is_const) return op_fail(c, FS_ERR_FORMAT, "output is a constant");
        if (nn_tensor_numel(x) != nn_tensor_numel(y) || x->dtype != NN_F32 || y->dtype != NN_F32)
            return op_fail(c, FS_ERR_FORMAT, "input and output sizes differ");
        void *d = nn_graph_alloc_const(g, out[0]);
        if (!d) return FS_ERR_NOMEM;
        memcpy(d, x->data, y->nbytes);
        return FS_OK; /* folded at load: no node */
    }
    case OP_RESHAPE: {
        /* target = the output's declared shape, except that a leading (batch) dim equal to the
         * input's is copied from the input at plan time (0 in ONNX-style shape), so the model also
         * runs with another batch size (fs_model_set_input_shape) */
        NEED(1);
        nn_tensor *x = T(c, in[0]), *y = T(c, out[0]);
        if (y->ndim >= 1 && x->ndim >= 1 && y->dims[0] == x->dims[0] && y->dims[0] > 0) {
            int64_t sd[1] = {y->ndim}, tv[NN_MAX_DIMS];
            for (int d = 0; d < y->ndim; d++) tv[d] = d ? y->dims[d] : 0;
            char nm[300];
            snprintf(nm, sizeof nm, "%s/shape", y->name);
            int st_ = nn_graph_add_const(g, nm, NN_I64, 1, sd, tv);
            if (st_ < 0) return FS_ERR_NOMEM;
            int rin[2] = {in[0], st_};
            ni = add(c, NN_OP_RESHAPE, rin, 2, out, nout);
            if (ni < 0) return FS_ERR_NOMEM;
            return FS_OK;
        }
        NODE(NN_OP_RESHAPE, 1);
        return FS_OK;
    }
    case OP_SQUEEZE: {
        NEED(1);
        NODE(NN_OP_SQUEEZE, 1);
        uint64_t v;
        uint32_t k;
        if (fb_vector(f, opt, 0, 4, &v, &k) < 0 || k > NN_MAX_DIMS) return op_fail(c, FS_ERR_FORMAT, "bad squeeze_dims");
        for (uint32_t i = 0; i < k; i++) A.axes[i] = (int32_t)rd_u32(f->b + v + 4 * i);
        A.n_axes = (int)k;
        return FS_OK;
    }
    case OP_EXPAND_DIMS: {
        NEED(2);
        int64_t ax;
        if (in_ints(c, in, nin, 1, &ax, 1) != 1) return op_fail(c, FS_ERR_UNSUPPORTED, "axis must be a constant");
        NODE(NN_OP_UNSQUEEZE, 1);
        A.axes[0] = (int)ax;
        A.n_axes = 1;
        return FS_OK;
    }
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX:
        NEED(1);
        if (code == OP_SOFTMAX && fb_float(f, opt, 0, 0.0f) != 1.0f)
            return op_fail(c, FS_ERR_UNSUPPORTED, "beta %g (only 1)", (double)fb_float(f, opt, 0, 0.0f));
        NODE(code == OP_SOFTMAX ? NN_OP_SOFTMAX : NN_OP_LOG_SOFTMAX, 1);
        A.axis = -1;
        return FS_OK;
    case OP_L2_NORMALIZATION: {
        NEED(1);
        NODE(NN_OP_L2_NORMALIZE, 1);
        A.axis = -1;
        A.alpha = 1e-12f;
        if (fb_int(f, opt, 0, 1, 1, 0)) return op_fail(c, FS_ERR_UNSUPPORTED, "fused activation");
        return FS_OK;
    }
    case OP_CONCATENATION:
        if (nin < 1 || nout < 1) return op_fail(c, FS_ERR_FORMAT, "no inputs");
        NODE(NN_OP_CONCAT, nin);
        A.axis = (int)fb_int(f, opt, 0, 4, 1, 0);
        if (fb_int(f, opt, 1, 1, 1, 0)) return op_fail(c, FS_ERR_UNSUPPORTED, "fused activation");
        return FS_OK;
    case OP_PAD: case OP_PADV2: case OP_MIRROR_PAD: {
        NEED(2);
        int64_t p[2 * NN_MAX_DIMS];
        nn_tensor *x = T(c, in[0]);
        int np = in_ints(c, in, nin, 1, p, 2 * NN_MAX_DIMS);
        if (np != 2 * x->ndim) return op_fail(c, FS_ERR_UNSUPPORTED, "paddings must be a constant [%d,2]", x->ndim);
        NODE(NN_OP_PAD, 1);
        for (int d = 0; d < x->ndim; d++) {
            A.pads[d] = p[2 * d];
            A.pads[x->ndim + d] = p[2 * d + 1];
        }
        if (code == OP_PADV2 && nin > 2 && in[2] >= 0) {
            nn_tensor *v = T(c, in[2]);
            if (!v->is_const || v->dtype != NN_F32 || nn_tensor_numel(v) != 1)
                return op_fail(c, FS_ERR_UNSUPPORTED, "constant value must be a float scalar");
            A.pad_value = ((float *)v->data)[0];
        }
        if (code == OP_MIRROR_PAD) {
            if (fb_int(f, opt, 0, 1, 1, 0) != 0) return op_fail(c, FS_ERR_UNSUPPORTED, "SYMMETRIC mirror padding");
            A.pad_mode = NN_PAD_REFLECT;
        }
        return FS_OK;
    }
    case OP_MEAN: case OP_SUM: case OP_REDUCE_MAX: case OP_REDUCE_MIN: {
        NEED(2);
        int64_t ax[NN_MAX_DIMS];
        int na = in_ints(c, in, nin, 1, ax, NN_MAX_DIMS);
        if (na < 0) return op_fail(c, FS_ERR_UNSUPPORTED, "axes must be a constant");
        NODE(code == OP_MEAN ? NN_OP_REDUCE_MEAN : code == OP_SUM ? NN_OP_REDUCE_SUM
             : code == OP_REDUCE_MAX ? NN_OP_REDUCE_MAX : NN_OP_REDUCE_MIN, 1);
        for (int i = 0; i < na; i++) A.axes[i] = (int)ax[i];
        A.n_axes = na;
        A.keepdims = (int)fb_int(f, opt, 0, 1, 0, 0);
        if (na == 0) A.noop_with_empty_axes = 1;
        return FS_OK;
    }
    case OP_RESIZE_BILINEAR:
    case OP_RESIZE_NEAREST_NEIGHBOR: {
        NEED(2);
        int64_t sz[2];
        if (in_ints(c, in, nin, 1, sz, 2) != 2) return op_fail(c, FS_ERR_UNSUPPORTED, "size must be a constant of 2 ints");
        NODE(NN_OP_RESIZE, 2);
        int bil = code == OP_RESIZE_BILINEAR;
        int align = (int)fb_int(f, opt, bil ? 2 : 0, 1, 0, 0), half = (int)fb_int(f, opt, bil ? 3 : 1, 1, 0, 0);
        if (align && half) return op_fail(c, FS_ERR_UNSUPPORTED, "align_corners with half_pixel_centers");
        A.resize_mode = bil ? NN_RESIZE_LINEAR : NN_RESIZE_NEAREST;
        if (bil) A.coord_mode = align ? NN_COORD_ALIGN_CORNERS : half ? NN_COORD_HALF_PIXEL : NN_COORD_ASYMMETRIC;
        else {
            A.coord_mode = align ? NN_COORD_ALIGN_CORNERS : half ? NN_COORD_TF_HALF_PIXEL_FOR_NN : NN_COORD_ASYMMETRIC;
            A.nearest_mode = align ? NN_NEAREST_ROUND_PREFER_CEIL : NN_NEAREST_FLOOR;
        }
        return FS_OK;
    }
    case OP_TRANSPOSE: {
        NEED(2);
        int64_t p[NN_MAX_DIMS];
        int np = in_ints(c, in, nin, 1, p, NN_MAX_DIMS);
        if (np != T(c, in[0])->ndim) return op_fail(c, FS_ERR_UNSUPPORTED, "perm must be a constant of rank length");
        NODE(NN_OP_TRANSPOSE, 1);
        for (int i = 0; i < np; i++) A.perm[i] = (int)p[i];
        return FS_OK;
    }
    case OP_GATHER:
        NEED(2);
        if (fb_int(f, opt, 1, 4, 1, 0)) return op_fail(c, FS_ERR_UNSUPPORTED, "batch_dims");
        NODE(NN_OP_GATHER, 2);
        A.axis = (int)fb_int(f, opt, 0, 4, 1, 0);
        return FS_OK;
    case OP_SLICE: {
        NEED(3);
        int64_t b[NN_MAX_DIMS], s[NN_MAX_DIMS];
        int nb = in_ints(c, in, nin, 1, b, NN_MAX_DIMS), ns = in_ints(c, in, nin, 2, s, NN_MAX_DIMS);
        if (nb < 0 || nb != ns || nb != T(c, in[0])->ndim) return op_fail(c, FS_ERR_UNSUPPORTED, "begin/size must be constants");
        NODE(NN_OP_SLICE, 1);
        for (int i = 0; i < nb; i++) {
            A.axes[i] = i;
            A.starts[i] = b[i];
            A.ends[i] = s[i] < 0 ? INT64_MAX : b[i] + s[i];
            A.steps[i] = 1;
        }
        A.n_axes = nb;
        return FS_OK;
    }
    case OP_SPLIT: case OP_SPLIT_V: {
        int xi = code == OP_SPLIT ? 1 : 0, ai = code == OP_SPLIT ? 0 : 2;
        NEED(code == OP_SPLIT ? 2 : 3);
        int64_t ax;
        if (in_ints(c, in, nin, ai, &ax, 1) != 1) return op_fail(c, FS_ERR_UNSUPPORTED, "axis must be a constant");
        int sin[1] = {in[xi]};
        ni = add(c, NN_OP_SPLIT, sin, 1, out, nout);
        if (ni < 0) return FS_ERR_NOMEM;
        A.axis = (int)ax;
        if (code == OP_SPLIT_V) {
            int64_t sz[NN_MAX_IO];
            int k = in_ints(c, in, nin, 1, sz, NN_MAX_IO);
            if (k != nout) return op_fail(c, FS_ERR_UNSUPPORTED, "size_splits must be a constant of %d ints", nout);
            int neg = -1;
            int64_t sum = 0;
            for (int i = 0; i < k; i++) {
                if (sz[i] < 0) { if (neg >= 0) return op_fail(c, FS_ERR_FORMAT, "two -1 sizes"); neg = i; }
                else sum += sz[i];
            }
            nn_tensor *x = T(c, in[xi]);
            int a2 = ax < 0 ? (int)ax + x->ndim : (int)ax;
            if (a2 < 0 || a2 >= x->ndim) return op_fail(c, FS_ERR_FORMAT, "axis out of range");
            if (neg >= 0) sz[neg] = x->dims[a2] - sum;
            for (int i = 0; i < k; i++) A.split[i] = sz[i];
            A.n_split = k;
        }
        return FS_OK;
    }
    case OP_SQUARE:
    case OP_SQUARED_DIFFERENCE: {
        NEED(code == OP_SQUARE ? 1 : 2);
        int d = in[0];
        if (code == OP_SQUARED_DIFFERENCE) {
            d = tmp_tensor(c, "diff");
            if (d < 0 || add(c, NN_OP_SUB, in, 2, &d, 1) < 0) return FS_ERR_NOMEM;
        }
        int mi[2] = {d, d};
        if (add(c, NN_OP_MUL, mi, 2, out, 1) < 0) return FS_ERR_NOMEM;
        return FS_OK;
    }
    case OP_TILE:
    case OP_BROADCAST_TO:
        NEED(2);
        if (!T(c, in[1])->is_const) return op_fail(c, FS_ERR_UNSUPPORTED, "%s must be a constant", code == OP_TILE ? "multiples" : "shape");
        NODE(code == OP_TILE ? NN_OP_TILE : NN_OP_EXPAND, 2);
        return FS_OK;
    case OP_LRN: {
        NEED(1);
        int radius = (int)fb_int(f, opt, 0, 4, 1, 5);
        if (radius < 0 || radius > 1 << 16) return op_fail(c, FS_ERR_FORMAT, "radius %d", radius);
        NODE(NN_OP_LRN, 1);
        A.axis = -1;
        A.lrn_size = 2 * radius + 1;
        A.lrn_bias = fb_float(f, opt, 1, 1.0f);
        A.alpha = fb_float(f, opt, 2, 1.0f) * (float)A.lrn_size; /* TF's alpha is not divided by size */
        A.beta = fb_float(f, opt, 3, 0.5f);
        return FS_OK;
    }
    case OP_DEPTH_TO_SPACE:
    case OP_SPACE_TO_DEPTH:
        NEED(1);
        return depth_space(c, code == OP_DEPTH_TO_SPACE, in[0], out[0], (int)fb_int(f, opt, 0, 4, 1, 0));
    case OP_PACK: {
        if (nin < 1 || nout < 1) return op_fail(c, FS_ERR_FORMAT, "no inputs");
        int axis = (int)fb_int(f, opt, 1, 4, 1, 0), rank = T(c, in[0])->ndim + 1;
        if (axis < -rank || axis >= rank) return op_fail(c, FS_ERR_FORMAT, "axis %d", axis);
        int parts[NN_MAX_IO];
        for (int i = 0; i < nin; i++) {
            if (in[i] < 0) return op_fail(c, FS_ERR_FORMAT, "input %d missing", i);
            parts[i] = tmp_tensor(c, "unsqueezed");
            if (parts[i] < 0) return FS_ERR_NOMEM;
            int u = add(c, NN_OP_UNSQUEEZE, &in[i], 1, &parts[i], 1);
            if (u < 0) return FS_ERR_NOMEM;
            g->nodes[u].attr.axes[0] = axis;
            g->nodes[u].attr.n_axes = 1;
        }
        ni = add(c, NN_OP_CONCAT, parts, nin, out, 1);
        if (ni < 0) return FS_ERR_NOMEM;
        A.axis = axis;
        return FS_OK;
    }
    case OP_UNPACK: {
        NEED(1);
        int axis = (int)fb_int(f, opt, 1, 4, 1, 0), rank = T(c, in[0])->ndim;
        if (axis < -rank || axis >= rank) return op_fail(c, FS_ERR_FORMAT, "axis %d", axis);
        int parts[NN_MAX_IO];
        for (int i = 0; i < nout; i++) {
            parts[i] = tmp_tensor(c, "slice");
            if (parts[i] < 0) return FS_ERR_NOMEM;
        }
        ni = add(c, NN_OP_SPLIT, in, 1, parts, nout);
        if (ni < 0) return FS_ERR_NOMEM;
        A.axis = axis;
        for (int i = 0; i < nout; i++) {
            int q = add(c, NN_OP_SQUEEZE, &parts[i], 1, &out[i], 1);
            if (q < 0) return FS_ERR_NOMEM;
            g->nodes[q].attr.axes[0] = axis;
            g->nodes[q].attr.n_axes = 1;
        }
        return FS_OK;
    }
    case OP_STRIDED_SLICE: {
        NEED(4);
        nn_tensor *x = T(c, in[0]);
        int64_t b[NN_MAX_DIMS], e[NN_MAX_DIMS], st[NN_MAX_DIMS];
        int nb = in_ints(c, in, nin, 1, b, NN_MAX_DIMS), ne = in_ints(c, in, nin, 2, e, NN_MAX_DIMS);
        int ns = in_ints(c, in, nin, 3, st, NN_MAX_DIMS);
        if (nb < 0 || nb != ne || nb != ns || nb > x->ndim)
            return op_fail(c, FS_ERR_UNSUPPORTED, "begin/end/strides must be constants of one length");
        int bm = (int)fb_int(f, opt, 0, 4, 1, 0), em = (int)fb_int(f, opt, 1, 4, 1, 0);
        int ellipsis = (int)fb_int(f, opt, 2, 4, 1, 0), newax = (int)fb_int(f, opt, 3, 4, 1, 0);
        int shrink = (int)fb_int(f, opt, 4, 4, 1, 0);
        if (ellipsis || newax) return op_fail(c, FS_ERR_UNSUPPORTED, "ellipsis_mask / new_axis_mask");
        if (fb_int(f, opt, 5, 1, 0, 0)) return op_fail(c, FS_ERR_UNSUPPORTED, "offset");
        int sliced = shrink ? tmp_tensor(c, "sliced") : out[0];
        if (sliced < 0) return FS_ERR_NOMEM;
        ni = add(c, NN_OP_SLICE, in, 1, &sliced, 1);
        if (ni < 0) return FS_ERR_NOMEM;
        for (int i = 0; i < nb; i++) {
            if (st[i] == 0) return op_fail(c, FS_ERR_FORMAT, "stride 0");
            A.axes[i] = i;
            A.steps[i] = st[i];
            A.starts[i] = (bm >> i) & 1 ? (st[i] > 0 ? 0 : INT64_MAX) : b[i];
            A.ends[i] = (em >> i) & 1 ? (st[i] > 0 ? INT64_MAX : INT64_MIN) : e[i];
            if ((shrink >> i) & 1) { /* one element at begin */
                A.ends[i] = b[i] == -1 ? INT64_MAX : b[i] + 1;
                A.steps[i] = 1;
                A.starts[i] = b[i];
            }
        }
        A.n_axes = nb;
        if (shrink) {
            int q = add(c, NN_OP_SQUEEZE, &sliced, 1, out, 1);
            if (q < 0) return FS_ERR_NOMEM;
            int k = 0;
            for (int i = 0; i < nb; i++)
                if ((shrink >> i) & 1) g->nodes[q].attr.axes[k++] = i;
            g->nodes[q].attr.n_axes = k;
        }
        return FS_OK;
    }
    case OP_CAST: {
        NEED(1);
        int to = c->ttype[out[0]];
        nn_dtype dt = to == TF_FLOAT32 ? NN_F32 : to == TF_INT32 ? NN_I32 : to == TF_INT64 ? NN_I64
                    : to == TF_UINT8 ? NN_U8 : to == TF_INT8 ? NN_I8 : to == TF_BOOL ? NN_BOOL : NN_F16;
        if (dt == NN_F16) return op_fail(c, FS_ERR_UNSUPPORTED, "cast to %s", tf_type_name(to));
        NODE(NN_OP_CAST, 1);
        A.to = dt;
        return FS_OK;
    }
    default:
        return op_fail(c, FS_ERR_UNSUPPORTED, "op not supported (builtin code %d)", code);
    }
    /* binary with fused activation */
    NEED(2);
    NODE(simple, 2);
    return set_act(c, &A, (int)fb_int(f, opt, 0, 1, 1, 0));
#undef NODE
#undef A
#undef NEED
}

/* ---------------------------------------------------------------- graph clean-ups */

/* Readers of tensor t (graph outputs count as one more). */
static int n_uses(const nn_graph *g, int t) {
    int u = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) u += g->nodes[i].in[k] == t;
    for (int i = 0; i < g->n_outputs; i++) u += g->outputs[i] == t;
    return u;
}

static int producer(const nn_graph *g, int t) {
    if (t < 0) return -1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_out; k++)
            if (g->nodes[i].out[k] == t) return i;
    return -1;
}

static void kill(nn_node *n) {
    n->n_in = 0;
    n->n_out = 0;
}

/* TOCO writes PReLU as relu(x) + k * (x - |x|), i.e. x >= 0 ? x : 2k * x (exact in float: the factor
 * 2 is a power of two). Rewrites the five ops into one PRELU with slope 2k. Returns rewrites or -1. */
static int fuse_prelu(nn_graph *g) {
    int changes = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        nn_node *add = &g->nodes[i];
        if (add->type != NN_OP_ADD || add->n_in != 2 || add->n_out != 1) continue;
        for (int side = 0; side < 2; side++) {
            int pr = producer(g, add->in[side]), pm = producer(g, add->in[1 - side]);
            if (pr < 0 || pm < 0) continue;
            nn_node *relu = &g->nodes[pr], *mul = &g->nodes[pm];
            if (relu->type != NN_OP_CLAMP || relu->n_in != 1 || relu->attr.act_min != 0 || !isinf(relu->attr.act_max))
                continue;
            if (mul->type != NN_OP_MUL || mul->n_in != 2 || mul->attr.act_min > -INFINITY || mul->attr.act_max < INFINITY)
                continue;
            int x = relu->in[0], ks = g->tensors[mul->in[0]].is_const ? 0 : 1;
            nn_tensor *k = &g->tensors[mul->in[ks]];
            int ps = producer(g, mul->in[1 - ks]);
            if (!k->is_const || k->dtype != NN_F32 || ps < 0) continue;
            nn_node *sub = &g->nodes[ps];
            if (sub->type != NN_OP_SUB || sub->n_in != 2 || sub->in[0] != x || sub->attr.act_min > -INFINITY ||
                sub->attr.act_max < INFINITY)
                continue;
            int pa = producer(g, sub->in[1]);
            if (pa < 0 || g->nodes[pa].type != NN_OP_ABS || g->nodes[pa].in[0] != x) continue;
            if (n_uses(g, relu->out[0]) != 1 || n_uses(g, mul->out[0]) != 1 || n_uses(g, sub->out[0]) != 1 ||
                n_uses(g, g->nodes[pa].out[0]) != 1)
                continue;
            char name[300];
            snprintf(name, sizeof name, "%s/prelu_slope", k->name);
            int kt = nn_graph_add_const(g, name, NN_F32, k->ndim, k->dims, NULL);
            if (kt < 0) return -1;
            add = &g->nodes[i]; /* tensors may have moved, nodes not */
            k = &g->tensors[g->nodes[pm].in[ks]];
            const float *src = k->data;
            float *dst = g->tensors[kt].data;
            for (int64_t e = 0; e < nn_tensor_numel(k); e++) dst[e] = 2.0f * src[e];
            add->type = NN_OP_PRELU;
            add->in[0] = x;
            add->in[1] = kt;
            kill(&g->nodes[pr]);
            kill(&g->nodes[pm]);
            kill(&g->nodes[ps]);
            kill(&g->nodes[pa]);
            changes++;
            break;
        }
    }
    return changes;
}

/* Drops killed nodes (n_out 0), keeping the order and the tensor table (TFLite tensor numbers stay). */
static void drop_dead_nodes(nn_graph *g) {
    int k = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].n_out == 0) { free(g->nodes[i].name); continue; }
        g->nodes[k++] = g->nodes[i];
    }
    g->n_nodes = k;
}

static fs_status optimize(nn_graph *g) {
    if (fuse_prelu(g) < 0 || nn_pass_fuse_activations(g) < 0)
        return fs_error(FS_ERR_NOMEM, "TFLite: out of memory optimizing the graph");
    drop_dead_nodes(g);
    return FS_OK;
}

/* ---------------------------------------------------------------- model */

static fs_status int_vector(tf_ctx *c, const fb_table *t, int idx, int **out, int *n, int allow_neg, const char *what) {
    uint64_t v;
    uint32_t k;
    *out = NULL;
    *n = 0;
    if (fb_vector(&c->f, t, idx, 4, &v, &k) < 0) return FB_FAIL("%s: bad vector", what);
    if (k > NN_MAX_IO * 64) return FB_FAIL("%s: %u entries", what, k);
    int *a = malloc(sizeof(int) * (k + 1));
    if (!a) return fs_error(FS_ERR_NOMEM, "TFLite: out of memory");
    for (uint32_t i = 0; i < k; i++) {
        int32_t x = (int32_t)rd_u32(c->f.b + v + 4 * i);
        if (x < (allow_neg ? -1 : 0) || x >= c->n_tensors) {
            free(a);
            return FB_FAIL("%s: tensor index %d of %d", what, x, c->n_tensors);
        }
        a[i] = x;
    }
    *out = a;
    *n = (int)k;
    return FS_OK;
}

static fs_status read_opcodes(tf_ctx *c, const fb_table *model) {
    uint64_t v;
    if (fb_vector(&c->f, model, 1, 4, &v, &c->n_opcodes) < 0) return FB_FAIL("bad operator_codes");
    c->opcodes = calloc(c->n_opcodes + 1, sizeof *c->opcodes);
    c->custom = calloc(c->n_opcodes + 1, sizeof *c->custom);
    if (!c->opcodes || !c->custom) return fs_error(FS_ERR_NOMEM, "TFLite: out of memory");
    for (uint32_t i = 0; i < c->n_opcodes; i++) {
        fb_table t;
        fs_status st = fb_vec_table(&c->f, v, i, &t, "operator code");
        if (st) return st;
        int32_t dep = (int32_t)fb_int(&c->f, &t, 0, 1, 1, 0), bc = (int32_t)fb_int(&c->f, &t, 3, 4, 1, 0);
        c->opcodes[i] = dep > bc ? dep : bc;
        if ((st = fb_string(&c->f, &t, 1, c->custom[i], sizeof c->custom[i], "custom_code"))) return st;
    }
    return FS_OK;
}

static fs_status read_buffers(tf_ctx *c, const fb_table *model) {
    uint64_t v;
    if (fb_vector(&c->f, model, 4, 4, &v, &c->n_bufs) < 0) return FB_FAIL("bad buffers vector");
    c->bufs = calloc(c->n_bufs + 1, sizeof *c->bufs);
    if (!c->bufs) return fs_error(FS_ERR_NOMEM, "TFLite: out of memory");
    for (uint32_t i = 0; i < c->n_bufs; i++) {
        fb_table t;
        fs_status st = fb_vec_table(&c->f, v, i, &t, "buffer");
        if (st) return st;
        uint64_t dp;
        uint32_t dn;
        if (fb_vector(&c->f, &t, 0, 1, &dp, &dn) < 0) return FB_FAIL("buffer %u: bad data vector", i);
        c->bufs[i].data = dn ? dp : 0;
        c->bufs[i].size = dn;
        uint64_t off = (uint64_t)fb_int(&c->f, &t, 1, 8, 0, 0), size = (uint64_t)fb_int(&c->f, &t, 2, 8, 0, 0);
        if (!dn && off > 1 && size) { /* external data after the flatbuffer (models > 2 GB) */
            if (off > c->f.len || size > c->f.len - off) return FB_FAIL("buffer %u: offset/size outside the file", i);
            c->bufs[i].data = off;
            c->bufs[i].size = size;
        }
    }
    return FS_OK;
}

static fs_status load(tf_ctx *c) {
    const fb_buf *f = &c->f;
    if (f->len < 8) return FB_FAIL("file too short (%llu bytes)", (unsigned long long)f->len);
    if (memcmp(f->b + 4, "TFL3", 4)) return FB_FAIL("no TFL3 identifier (not a TFLite file?)");
    fb_table model;
    fs_status st = fb_table_at(f, rd_u32(f->b), &model, "model");
    if (st) return st;
    int64_t ver = fb_int(f, &model, 0, 4, 0, 0);
    if (ver != 3) return fs_error(FS_ERR_UNSUPPORTED, "TFLite: schema version %lld (only 3)", (long long)ver);
    if ((st = fb_string(f, &model, 3, c->g->description, sizeof c->g->description, "description"))) return st;
    if ((st = read_opcodes(c, &model)) || (st = read_buffers(c, &model))) return st;
    uint64_t sgv;
    uint32_t nsg;
    if (fb_vector(f, &model, 2, 4, &sgv, &nsg) < 0) return FB_FAIL("bad subgraphs vector");
    if (nsg < 1) return FB_FAIL("no subgraph");
    fb_table sg;
    if ((st = fb_vec_table(f, sgv, 0, &sg, "subgraph"))) return st;
    uint64_t tv;
    uint32_t nt;
    if (fb_vector(f, &sg, 0, 4, &tv, &nt) < 0) return FB_FAIL("bad tensors vector");
    if (nt > 1000000) return fs_error(FS_ERR_LIMIT, "TFLite: %u tensors", nt);
    c->n_tensors = (int)nt;
    c->ttype = calloc(nt + 1, 1);
    c->dw_done = calloc(nt + 1, 1);
    if (!c->ttype || !c->dw_done) return fs_error(FS_ERR_NOMEM, "TFLite: out of memory");
    for (uint32_t i = 0; i < nt; i++) {
        fb_table tt;
        if ((st = fb_vec_table(f, tv, i, &tt, "tensor")) || (st = load_tensor(c, (int)i, &tt))) return st;
    }
    int *ins, nins, *outs, nouts;
    if ((st = int_vector(c, &sg, 1, &ins, &nins, 0, "subgraph inputs"))) return st;
    c->g->inputs = ins;
    c->g->n_inputs = nins;
    if ((st = int_vector(c, &sg, 2, &outs, &nouts, 0, "subgraph outputs"))) return st;
    c->g->outputs = outs;
    c->g->n_outputs = nouts;
    for (int i = 0; i < nins; i++)
        if (c->g->tensors[ins[i]].is_const) return FB_FAIL("input %d is a constant", i);
    uint64_t ov;
    uint32_t nops;
    if (fb_vector(f, &sg, 3, 4, &ov, &nops) < 0) return FB_FAIL("bad operators vector");
    for (uint32_t i = 0; i < nops; i++) {
        fb_table ot, opt;
        c->cur_op = (int)i;
        c->cur_code = -1;
        if ((st = fb_vec_table(f, ov, i, &ot, "operator"))) return st;
        uint32_t oc = (uint32_t)fb_int(f, &ot, 0, 4, 0, 0);
        if (oc >= c->n_opcodes) return FB_FAIL("operator %u: opcode index %u of %u", i, oc, c->n_opcodes);
        c->cur_code = c->opcodes[oc];
        if (c->cur_code == 32)
            return fs_error(FS_ERR_UNSUPPORTED, "TFLite: operator %u: custom op '%s' is not supported", i, c->custom[oc]);
        int *in = NULL, nin, *out = NULL, nout;
        if ((st = int_vector(c, &ot, 1, &in, &nin, 1, "operator inputs"))) return st;
        if ((st = int_vector(c, &ot, 2, &out, &nout, 0, "operator outputs"))) { free(in); return st; }
        if (nin > NN_MAX_IO || nout > NN_MAX_IO) st = op_fail(c, FS_ERR_UNSUPPORTED, "%d inputs / %d outputs", nin, nout);
        if (!st) st = fb_subtable(f, &ot, 4, &opt, "builtin_options");
        if (!st) st = convert_op(c, c->cur_code, &opt, in, nin, out, nout);
        free(in);
        free(out);
        if (st) return st;
    }
    return FS_OK;
}

fs_status nn_load_tflite(nn_graph *g, const uint8_t *buf, size_t len) {
    tf_ctx c;
    memset(&c, 0, sizeof c);
    c.f.b = buf;
    c.f.len = len;
    c.g = g;
    snprintf(g->format, sizeof g->format, "tflite");
    fs_status st = load(&c);
    if (!st) st = optimize(g);
    free(c.opcodes);
    free(c.custom);
    free(c.bufs);
    free(c.ttype);
    free(c.dw_done);
    return st;
}
