/* placeholder while the SIMD scan is written: forwards to the portable scan */
#include "detect/haar_internal.h"
int haar_rows_avx512(const haar_scale_ctx *s, int y0, int y1, int **xs, int **ys, int *n, int *cap) {
    return haar_rows_portable(s, y0, y1, xs, ys, n, cap);
}
