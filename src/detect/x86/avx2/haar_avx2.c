/* detect/x86/avx2/haar_avx2.c — the window scan, 8 windows of a row at once (AVX2).
 *
 * Lanes are the windows x = x0 + k*ystep, k = 0..7, of one row. Integral corners of the 8 windows
 * are one unaligned load (ystep 1) or two loads, in-lane permutes and a 128-bit merge (ystep 2),
 * so no gathers. Every lane does exactly the scalar code's IEEE operations in the same order
 * (float feature sums and products, double stage sums, double norm factor), so the accepted
 * windows are identical to the portable scan's. OpenCV's skip rule (a window rejected by stage 0
 * hides the next x position) is applied after stage 0 by a short scan of the lane masks; later
 * stages run on all 8 lanes while any survives (measured faster than finishing sparse lanes with
 * the scalar code). Stump cascades without tilted features only; the portable scan does the rest. */
#include <immintrin.h>
#include <string.h>

#include "detect/haar_internal.h"

#define LANES 8

typedef struct {
    const int32_t *pb;
    int st;
    __m256i even; /* 0,2,4,6,1,3,5,7 */
} blk;

static inline __m256i corner(const blk *b, int o) {
    const int32_t *p = b->pb + o;
    if (b->st == 1) return _mm256_loadu_si256((const __m256i *)p);
    __m256i lo = _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)p), b->even);
    __m256i hi = _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)(p + 8)), b->even);
    return _mm256_permute2x128_si256(lo, hi, 0x20);
}

static inline __m256i rsum(const blk *b, const int *o) {
    __m256i a = corner(b, o[0]), c1 = corner(b, o[1]), c2 = corner(b, o[2]), d = corner(b, o[3]);
    return _mm256_add_epi32(_mm256_sub_epi32(_mm256_sub_epi32(a, c1), c2), d);
}

static inline __m256 feature8(const haar_scale_ctx *s, const blk *b, int f, __m256 vnf) {
    const int *o = s->fofs + HAAR_FOFS * f;
    const float *w = s->fw + 3 * f;
    __m256 r = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(w[0]), _mm256_cvtepi32_ps(rsum(b, o))),
                             _mm256_mul_ps(_mm256_set1_ps(w[1]), _mm256_cvtepi32_ps(rsum(b, o + 4))));
    if (w[2] != 0.0f)
        r = _mm256_add_ps(r, _mm256_mul_ps(_mm256_set1_ps(w[2]), _mm256_cvtepi32_ps(rsum(b, o + 8))));
    return _mm256_mul_ps(r, vnf);
}

static inline unsigned stage8(const haar_scale_ctx *s, const blk *b, int si, __m256 vnf) {
    const struct fs_cascade *c = s->c;
    const haar_stage *sg = &c->stages[si];
    const haar_stump *st = c->stumps + sg->first_tree;
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    for (int i = 0; i < sg->ntrees; i++, st++) {
        __m256 v = feature8(s, b, st->feature, vnf);
        __m256 lt = _mm256_cmp_ps(v, _mm256_set1_ps(st->threshold), _CMP_LT_OQ);
        __m256 leaf = _mm256_blendv_ps(_mm256_set1_ps(st->right), _mm256_set1_ps(st->left), lt);
        lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(leaf)));
        hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(leaf, 1)));
    }
    __m256d th = _mm256_set1_pd((double)sg->threshold);
    unsigned flo = (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(lo, th, _CMP_LT_OQ));
    unsigned fhi = (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(hi, th, _CMP_LT_OQ));
    return flo | (fhi << 4);
}

static inline __m256d u32_to_pd(__m128i v) { /* exact unsigned -> double */
    __m128i flipped = _mm_xor_si128(v, _mm_set1_epi32((int)0x80000000u));
    return _mm256_add_pd(_mm256_cvtepi32_pd(flipped), _mm256_set1_pd(2147483648.0));
}

static inline unsigned norm8(const haar_scale_ctx *s, const blk *b, __m256 *vnf_out) {
    __m256i sm = rsum(b, s->nofs);
    int q[4] = {s->nofs[0] + s->sqofs, s->nofs[1] + s->sqofs, s->nofs[2] + s->sqofs, s->nofs[3] + s->sqofs};
    __m256i sq = rsum(b, q);
    __m256d area = _mm256_set1_pd(s->area);
    __m128 f[2];
    unsigned ok[2];
    for (int h = 0; h < 2; h++) {
        __m128i sm4 = h ? _mm256_extracti128_si256(sm, 1) : _mm256_castsi256_si128(sm);
        __m128i sq4 = h ? _mm256_extracti128_si256(sq, 1) : _mm256_castsi256_si128(sq);
        __m256d vs = _mm256_cvtepi32_pd(sm4), vq = u32_to_pd(sq4);
        __m256d nf = _mm256_sub_pd(_mm256_mul_pd(area, vq), _mm256_mul_pd(vs, vs));
        unsigned pos = (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(nf, _mm256_setzero_pd(), _CMP_GT_OQ));
        __m256d inv = _mm256_div_pd(_mm256_set1_pd(1.0), _mm256_sqrt_pd(nf));
        f[h] = _mm256_cvtpd_ps(inv);
        __m256d back = _mm256_cvtps_pd(f[h]);
        unsigned small = (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(_mm256_mul_pd(area, back), _mm256_set1_pd(1e-1), _CMP_LT_OQ));
        ok[h] = pos & small;
    }
    *vnf_out = _mm256_insertf128_ps(_mm256_castps128_ps256(f[0]), f[1], 1);
    return ok[0] | (ok[1] << 4);
}

int haar_rows_avx2(const haar_scale_ctx *s, int y0, int y1, int **xs, int **ys, int *n, int *cap) {
    const struct fs_cascade *c = s->c;
    const int st = s->ystep;
    int nwin = (s->wx_end + st - 1) / st;
    blk b;
    b.st = s->deint ? 1 : st; /* load stride: the split layout makes ystep-2 windows contiguous */
    b.even = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    for (int y = y0; y < y1; y += st) {
        const int32_t *row = s->sum + (size_t)y * s->step;
        int skip = 0;
        for (int k0 = 0; k0 < nwin; k0 += LANES) {
            int nl = nwin - k0 < LANES ? nwin - k0 : LANES;
            b.pb = row + (size_t)k0 * b.st;
            __m256 vnf;
            unsigned inr = nl == LANES ? 0xFFu : ((1u << nl) - 1);
            unsigned valid = norm8(s, &b, &vnf) & inr;
            unsigned fail0 = valid ? (stage8(s, &b, 0, vnf) & valid) : 0;
            unsigned visited = 0;
            for (int k = 0; k < nl; k++) {
                if (skip) { skip = 0; continue; }
                visited |= 1u << k;
                if (fail0 >> k & 1) skip = 1;
            }
            unsigned alive = visited & valid & ~fail0;
            for (int si = 1; alive && si < c->nstages; si++)
                alive &= ~stage8(s, &b, si, vnf);
            for (int k = 0; k < nl; k++)
                if ((alive >> k & 1) && haar_push((k0 + k) * st, y, xs, ys, n, cap)) return -1;
        }
    }
    return 0;
}
