/* detect/nms.c — IoU, greedy non-maximum suppression, ordering and result codes shared by the
 * detectors (see detect/yunet.h). */
#include <stdlib.h>
#include <string.h>

#include "detect/yunet.h"

float det_iou(const fs_rect *a, const fs_rect *b) {
    if (!(a->w > 0 && a->h > 0 && b->w > 0 && b->h > 0)) return 0.f;
    float x0 = a->x > b->x ? a->x : b->x;
    float y0 = a->y > b->y ? a->y : b->y;
    float x1 = a->x + a->w < b->x + b->w ? a->x + a->w : b->x + b->w;
    float y1 = a->y + a->h < b->y + b->h ? a->y + a->h : b->y + b->h;
    if (x1 <= x0 || y1 <= y0) return 0.f;
    float inter = (x1 - x0) * (y1 - y0);
    float uni = a->w * a->h + b->w * b->h - inter;
    return uni > 0 ? inter / uni : 0.f;
}

/* Stable sorts: "before(a, b)" is true when a must come before b. Candidate lists are short after
 * the score threshold (tens); a merge sort with a temporary buffer handles a threshold of 0
 * (thousands of anchors), falling back to insertion sort if the buffer cannot be allocated. */
typedef int (*det_before_fn)(const fs_face *a, const fs_face *b);

static int before_score(const fs_face *a, const fs_face *b) { return a->confidence > b->confidence; }
static int before_area(const fs_face *a, const fs_face *b) {
    return a->box.w * a->box.h > b->box.w * b->box.h;
}
static int before_x(const fs_face *a, const fs_face *b) { return a->box.x < b->box.x; }

static void det_insertion_sort(fs_face *f, int n, det_before_fn before) {
    for (int i = 1; i < n; i++) {
        fs_face cur = f[i];
        int j = i - 1;
        while (j >= 0 && before(&cur, &f[j])) {
            f[j + 1] = f[j];
            j--;
        }
        f[j + 1] = cur;
    }
}

static void det_stable_sort(fs_face *f, int n, det_before_fn before) {
    if (n <= 32) { det_insertion_sort(f, n, before); return; }
    fs_face *tmp = malloc((size_t)n * sizeof *tmp);
    if (!tmp) { det_insertion_sort(f, n, before); return; }
    for (int i = 0; i < n; i += 16) det_insertion_sort(f + i, n - i < 16 ? n - i : 16, before);
    fs_face *src = f, *dst = tmp;
    for (int width = 16; width < n; width *= 2) {
        for (int lo = 0; lo < n; lo += 2 * width) {
            int mid = lo + width < n ? lo + width : n;
            int hi = lo + 2 * width < n ? lo + 2 * width : n;
            int a = lo, b = mid, k = lo;
            while (a < mid && b < hi) dst[k++] = before(&src[b], &src[a]) ? src[b++] : src[a++];
            while (a < mid) dst[k++] = src[a++];
            while (b < hi) dst[k++] = src[b++];
        }
        fs_face *t = src; src = dst; dst = t;
    }
    if (src != f) memcpy(f, src, (size_t)n * sizeof *f);
    free(tmp);
}

int det_nms(fs_face *f, int n, float iou_thresh, int top_k) {
    if (n <= 0) return 0;
    det_stable_sort(f, n, before_score);
    int kept = 0;
    for (int i = 0; i < n; i++) {
        if (top_k > 0 && kept >= top_k) break;
        int keep = 1;
        for (int j = 0; j < kept && keep; j++)
            if (det_iou(&f[i].box, &f[j].box) > iou_thresh) keep = 0;
        if (keep) f[kept++] = f[i];
    }
    return kept;
}

void det_sort(fs_face *f, int n, det_sort_key key) {
    det_before_fn fn = key == DET_SORT_AREA ? before_area : key == DET_SORT_X ? before_x : before_score;
    det_stable_sort(f, n, fn);
}

void det_finish(fs_detections *d) {
    d->code = d->n == 0 ? FS_CODE_NO_FACE : d->n == 1 ? FS_CODE_ONE_FACE : FS_CODE_MANY_FACES;
    d->largest = -1;
    float best = -1.f;
    for (int i = 0; i < d->n; i++) {
        float a = d->faces[i].box.w * d->faces[i].box.h;
        if (a > best) { best = a; d->largest = i; }
    }
}

int det_drop_small(fs_face *f, int n, float min_size) {
    if (min_size <= 0) return n;
    int k = 0;
    for (int i = 0; i < n; i++) {
        float side = f[i].box.w < f[i].box.h ? f[i].box.w : f[i].box.h;
        if (side >= min_size) f[k++] = f[i];
    }
    return k;
}
