/* train/grad/generic/grad_generic.c — the backward fast paths (train/grad/grad_simd.inc) with GNU C
 * vector extensions of 4 floats: portable blocked C for any GCC/Clang target (SSE2 on plain x86-64,
 * NEON on ARM). Used under FS_CPU=portable and where no ISA-specific path exists. No FMA contraction:
 * a*b + c is a multiply then an add. */
#include <string.h>

typedef float gr_g4 __attribute__((vector_size(16)));

static inline gr_g4 gr_g_load(const float *p) {
    gr_g4 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void gr_g_store(float *p, gr_g4 v) { memcpy(p, &v, sizeof v); }
static inline gr_g4 gr_g_load_n(const float *p, int n) {
    float t[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; i++) t[i] = p[i];
    return gr_g_load(t);
}
static inline void gr_g_store_n(float *p, gr_g4 v, int n) {
    float t[4];
    gr_g_store(t, v);
    for (int i = 0; i < n; i++) p[i] = t[i];
}
static inline gr_g4 gr_g_set1(float x) { return (gr_g4){x, x, x, x}; }

#define GR_ISA generic
#define GR_NAME "generic"
#define VL 4
#define GR_MR 4
#define V gr_g4
#define VLOAD(p) gr_g_load(p)
#define VSTORE(p, v) gr_g_store(p, v)
#define VLOAD_N(p, n) gr_g_load_n(p, n)
#define VSTORE_N(p, v, n) gr_g_store_n(p, v, n)
#define VSET1(x) gr_g_set1(x)
#define VZERO() gr_g_set1(0.0f)
#define VADD(a, b) ((a) + (b))
#define VFMA(a, b, c) ((a) * (b) + (c))

#include "train/grad/grad_simd.inc"
