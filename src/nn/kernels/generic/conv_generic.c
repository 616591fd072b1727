/* nn/kernels/generic/conv_generic.c — the SIMD conv / FC / element-wise fast paths
 * (nn/kernels/conv_simd.inc, eltwise_simd.inc) instantiated with GNU C vector extensions of 4
 * floats: portable C that any GCC/Clang target compiles (SSE2 on plain x86-64, NEON or VFP on 32-bit
 * ARM, scalar code elsewhere). It is what the dispatcher uses when no ISA-specific path applies
 * (other architectures, or FS_CPU=portable); the plain reference stays the oracle for the tests
 * (FS_NN_REF=1 forces it at plan time). No FMA contraction: a*b+c is a multiply then an add. */
#include <string.h>

typedef float kx_g4 __attribute__((vector_size(16)));
typedef int kx_gi4 __attribute__((vector_size(16)));

static inline kx_g4 kx_g_load(const float *p) {
    kx_g4 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void kx_g_store(float *p, kx_g4 v) { memcpy(p, &v, sizeof v); }
static inline kx_g4 kx_g_load_n(const float *p, int n) {
    float t[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; i++) t[i] = p[i];
    return kx_g_load(t);
}
static inline void kx_g_store_n(float *p, kx_g4 v, int n) {
    float t[4];
    kx_g_store(t, v);
    for (int i = 0; i < n; i++) p[i] = t[i];
}
static inline kx_g4 kx_g_set1(float x) { return (kx_g4){x, x, x, x}; }
/* m ? x : y lane-wise, m all-ones / all-zeros per lane (a vector comparison's result) */
static inline kx_g4 kx_g_sel(kx_gi4 m, kx_g4 x, kx_g4 y) {
    return (kx_g4)(((kx_gi4)x & m) | ((kx_gi4)y & ~m));
}

#define KX_ISA generic
#define KX_NAME(s) s "generic"
#define VL 4
#define V kx_g4
#define VLOAD(p) kx_g_load(p)
#define VSTORE(p, v) kx_g_store(p, v)
#define VLOAD_N(p, n) kx_g_load_n(p, n)
#define VSTORE_N(p, v, n) kx_g_store_n(p, v, n)
#define VSET1(x) kx_g_set1(x)
#define VZERO() kx_g_set1(0.0f)
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VMAX(a, b) kx_g_sel((a) > (b), a, b)
#define VMIN(a, b) kx_g_sel((a) < (b), a, b)
#define MR_NV1 8
#define MR_NV2 6
#define MR_NV3 4
#define MR_NV4 3

#include "nn/kernels/conv_simd.inc"

#define VADD(a, b) ((a) + (b))
#define VSUB(a, b) ((a) - (b))
#define VMUL(a, b) ((a) * (b))
#define VDIV(a, b) ((a) / (b))
#define VSEL_GT(a, b, x, y) kx_g_sel((a) > (b), x, y)
#define VSEL_LT(a, b, x, y) kx_g_sel((a) < (b), x, y)
#define VSEL_NAN(a, x, y) kx_g_sel((a) != (a), x, y)
#include "nn/kernels/eltwise_simd.inc"
#include "nn/kernels/pool_simd.inc"
