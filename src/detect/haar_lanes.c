/* detect/haar_lanes.c — the AVX2 scan's scheme in plain C: 8 windows of a row per step.
 *
 * Same lane layout, arithmetic order and skip handling as x86/avx2/haar_avx2.c, written with
 * fixed-size arrays so the compiler can vectorize it for whatever the baseline ISA is (SSE2,
 * NEON). Every lane does the scalar code's IEEE operations in the scalar code's order, so the
 * accepted windows are identical to haar_rows_portable's. Stump cascades without tilted features. */
#include <math.h>
#include <string.h>

#include "detect/haar_internal.h"

#define L 8

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize")
#endif
#define INLINE static inline __attribute__((always_inline))

INLINE void rsum8(const int32_t *pb, int st, const int *o, int32_t *out) {
    const uint32_t *u = (const uint32_t *)pb;
    for (int k = 0; k < L; k++) {
        size_t i = (size_t)k * st;
        out[k] = (int32_t)(u[o[0] + i] - u[o[1] + i] - u[o[2] + i] + u[o[3] + i]);
    }
}

/* returns the mask of lanes failing stage si */
INLINE unsigned stage8(const haar_scale_ctx *s, const int32_t *pb, int st, int si, const float *vnf) {
    const struct fs_cascade *c = s->c;
    const haar_stage *sg = &c->stages[si];
    const haar_stump *sp = c->stumps + sg->first_tree;
    double acc[L] = {0};
    int32_t r0[L], r1[L], r2[L];
    for (int i = 0; i < sg->ntrees; i++, sp++) {
        const int *o = s->fofs + HAAR_FOFS * sp->feature;
        const float *w = s->fw + 3 * sp->feature;
        rsum8(pb, st, o, r0);
        rsum8(pb, st, o + 4, r1);
        float v[L];
        for (int k = 0; k < L; k++) v[k] = w[0] * (float)r0[k] + w[1] * (float)r1[k];
        if (w[2] != 0.0f) {
            rsum8(pb, st, o + 8, r2);
            for (int k = 0; k < L; k++) v[k] = v[k] + w[2] * (float)r2[k];
        }
        for (int k = 0; k < L; k++) {
            float val = v[k] * vnf[k];
            acc[k] += (double)(val < sp->threshold ? sp->left : sp->right);
        }
    }
    unsigned fail = 0;
    for (int k = 0; k < L; k++) fail |= (unsigned)(acc[k] < sg->threshold) << k;
    return fail;
}

INLINE unsigned norm8(const haar_scale_ctx *s, const int32_t *pb, int st, float *vnf) {
    int32_t sm[L], sq[L];
    int q[4] = {s->nofs[0] + s->sqofs, s->nofs[1] + s->sqofs, s->nofs[2] + s->sqofs, s->nofs[3] + s->sqofs};
    rsum8(pb, st, s->nofs, sm);
    rsum8(pb, st, q, sq);
    unsigned ok = 0;
    for (int k = 0; k < L; k++) {
        double nf = s->area * (double)(uint32_t)sq[k] - (double)sm[k] * sm[k];
        vnf[k] = 1.f;
        if (nf > 0.) {
            vnf[k] = (float)(1. / sqrt(nf));
            ok |= (unsigned)(s->area * vnf[k] < 1e-1) << k;
        }
    }
    return ok;
}

/* ld (load stride) and st (window step) are compile-time constants in each instance, so the lane
 * loops have fixed strides; ld is 1 for ystep 2 with the split even/odd layout */
INLINE int rows_st(const haar_scale_ctx *s, int ld, int st, int y0, int y1, int **xs, int **ys, int *n, int *cap) {
    const struct fs_cascade *c = s->c;
    int nwin = (s->wx_end + st - 1) / st;
    float vnf[L];
    for (int y = y0; y < y1; y += st) {
        const int32_t *row = s->sum + (size_t)y * s->step;
        int skip = 0;
        for (int k0 = 0; k0 < nwin; k0 += L) {
            int nl = nwin - k0 < L ? nwin - k0 : L;
            const int32_t *pb = row + (size_t)k0 * ld;
            unsigned inr = nl == L ? 0xFFu : ((1u << nl) - 1);
            unsigned valid = norm8(s, pb, ld, vnf) & inr;
            unsigned fail0 = valid ? (stage8(s, pb, ld, 0, vnf) & valid) : 0;
            unsigned visited = 0;
            for (int k = 0; k < nl; k++) {
                if (skip) { skip = 0; continue; }
                visited |= 1u << k;
                if (fail0 >> k & 1) skip = 1;
            }
            unsigned alive = visited & valid & ~fail0;
            for (int si = 1; alive && si < c->nstages; si++) alive &= ~stage8(s, pb, ld, si, vnf);
            for (int k = 0; k < nl; k++)
                if ((alive >> k & 1) && haar_push((k0 + k) * st, y, xs, ys, n, cap)) return -1;
        }
    }
    return 0;
}

int haar_rows_lanes(const haar_scale_ctx *s, int y0, int y1, int **xs, int **ys, int *n, int *cap) {
    if (s->ystep == 1) return rows_st(s, 1, 1, y0, y1, xs, ys, n, cap);
    return s->deint ? rows_st(s, 1, 2, y0, y1, xs, ys, n, cap) : rows_st(s, 2, 2, y0, y1, xs, ys, n, cap);
}
