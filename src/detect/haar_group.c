/* detect/haar_group.c — cv::groupRectangles(rects, groupThreshold, eps) as in OpenCV 4.6
 * (objdetect/src/cascadedetect.cpp), with cv::partition's union-find and SimilarRects(eps):
 *   delta = eps * (min(w1,w2) + min(h1,h2)) * 0.5, all four edges within delta.
 * Clusters are averaged with float 1/n and rounded half-to-even (saturate_cast<int>(float)),
 * clusters of size <= groupThreshold are dropped, and a cluster lying inside a larger-support
 * cluster (with eps margins, rounded) is dropped. The result set does not depend on the input
 * order; only the output order does (callers sort). */
#include <math.h>
#include <stdlib.h>

#include "detect/haar_internal.h"

static int similar(const haar_box *a, const haar_box *b, double eps) {
    int mw = a->w < b->w ? a->w : b->w, mh = a->h < b->h ? a->h : b->h;
    double delta = eps * (mw + mh) * 0.5;
    return abs(a->x - b->x) <= delta && abs(a->y - b->y) <= delta &&
           abs(a->x + a->w - b->x - b->w) <= delta && abs(a->y + a->h - b->y - b->h) <= delta;
}

static int find_root(int *parent, int i) {
    int r = i;
    while (parent[r] >= 0) r = parent[r];
    while (parent[i] >= 0) { int p = parent[i]; if (p != r) parent[i] = r; i = p; }
    return r;
}

static int cmp_w(const void *a, const void *b) {
    const haar_box *p = *(const haar_box *const *)a, *q = *(const haar_box *const *)b;
    return (p->w > q->w) - (p->w < q->w);
}

/* Connected components of the similarity graph (the same components as cv::partition, whose
 * O(n^2) all-pairs loop is pruned here by sorting on width). */
static int partition(haar_box *r, int n, double eps, int *labels) {
    int *parent = malloc(sizeof *parent * (size_t)n);
    const haar_box **by_w = malloc(sizeof *by_w * (size_t)n);
    if (!parent || !by_w) { free(parent); free(by_w); return -1; }
    for (int i = 0; i < n; i++) { parent[i] = -1; by_w[i] = &r[i]; }
    qsort(by_w, (size_t)n, sizeof *by_w, cmp_w);
    for (int a = 0; a < n; a++) {
        const haar_box *p = by_w[a];
        for (int b = a + 1; b < n; b++) {
            const haar_box *q = by_w[b];
            /* q->w >= p->w. similar() implies |w1 - w2| <= 2*delta <= eps*(p->w + p->h), a bound that
             * does not depend on q, so once the width gap exceeds it no later q can match */
            if ((double)(q->w - p->w) > eps * (p->w + p->h) + 1.0) break;
            if (similar(p, q, eps)) {
                int ra = find_root(parent, (int)(p - r)), rb = find_root(parent, (int)(q - r));
                if (ra != rb) parent[ra] = rb;
            }
        }
    }
    int ncls = 0;
    int *cls_of_root = malloc(sizeof *cls_of_root * (size_t)n);
    if (!cls_of_root) { free(parent); free(by_w); return -1; }
    for (int i = 0; i < n; i++) cls_of_root[i] = -1;
    for (int i = 0; i < n; i++) {
        int rt = find_root(parent, i);
        if (cls_of_root[rt] < 0) cls_of_root[rt] = ncls++;
        labels[i] = cls_of_root[rt];
    }
    free(cls_of_root);
    free(parent);
    free(by_w);
    return ncls;
}

static int sat_round_f(float v) { return (int)lrintf(v); }
static int sat_round_d(double v) { return (int)lrint(v); }

int haar_group_rectangles(haar_box *rects, int n, int group_threshold, double eps, int *weights_out) {
    if (group_threshold <= 0 || n == 0) {
        if (weights_out) for (int i = 0; i < n; i++) weights_out[i] = 1;
        return n;
    }
    int *labels = malloc(sizeof *labels * (size_t)n);
    if (!labels) return -1;
    int ncls = partition(rects, n, eps, labels);
    if (ncls < 0) { free(labels); return -1; }
    long long (*acc)[4] = calloc((size_t)ncls, sizeof *acc);
    int *cnt = calloc((size_t)ncls, sizeof *cnt);
    haar_box *avg = malloc(sizeof *avg * (size_t)ncls);
    if (!acc || !cnt || !avg) { free(labels); free(acc); free(cnt); free(avg); return -1; }
    for (int i = 0; i < n; i++) {
        int c = labels[i];
        acc[c][0] += rects[i].x; acc[c][1] += rects[i].y;
        acc[c][2] += rects[i].w; acc[c][3] += rects[i].h;
        cnt[c]++;
    }
    for (int c = 0; c < ncls; c++) {
        float s = 1.f / (float)cnt[c];
        /* OpenCV sums into int fields, then r.x*s is int*float -> float */
        avg[c].x = sat_round_f((float)(int)acc[c][0] * s);
        avg[c].y = sat_round_f((float)(int)acc[c][1] * s);
        avg[c].w = sat_round_f((float)(int)acc[c][2] * s);
        avg[c].h = sat_round_f((float)(int)acc[c][3] * s);
    }
    int out = 0;
    for (int i = 0; i < ncls; i++) {
        haar_box r1 = avg[i];
        int n1 = cnt[i];
        if (n1 <= group_threshold) continue;
        int j;
        for (j = 0; j < ncls; j++) {
            int n2 = cnt[j];
            if (j == i || n2 <= group_threshold) continue;
            haar_box r2 = avg[j];
            int dx = sat_round_d(r2.w * eps), dy = sat_round_d(r2.h * eps);
            int mx = n1 > 3 ? n1 : 3;
            if (r1.x >= r2.x - dx && r1.y >= r2.y - dy && r1.x + r1.w <= r2.x + r2.w + dx &&
                r1.y + r1.h <= r2.y + r2.h + dy && (n2 > mx || n1 < 3))
                break;
        }
        if (j == ncls) {
            if (weights_out) weights_out[out] = n1;
            rects[out++] = r1; /* out <= i < ncls, and avg is separate, so this is safe */
        }
    }
    free(labels); free(acc); free(cnt); free(avg);
    return out;
}
