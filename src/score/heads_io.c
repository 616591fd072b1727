/* score/heads_io.c — see heads_io.h. */
#include "score/heads_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

fs_status hio_save(const char *path, const hd_model *m, const mf_meta *meta, int n_meta) {
    return hio_save_with(path, m, meta, n_meta, NULL, 0);
}

fs_status hio_save_with(const char *path, const hd_model *m, const mf_meta *meta, int n_meta,
                        const mf_tensor *extra, int n_extra) {
    int D = m->dim, P = m->per_gender + 1;
    float sb[2] = {m->bs[0], m->bs[1]}, cb[2 * HD_CLASSES], gb = m->bg;
    float *sw = NULL, *cw = NULL;
    fs_status st = FS_OK;
    /* [P][D] and [P][5][D] contiguous copies */
    sw = malloc((size_t)P * D * 4);
    cw = malloc((size_t)P * HD_CLASSES * D * 4);
    if (!sw || !cw) { free(sw); free(cw); return fs_error(FS_ERR_NOMEM, "heads: out of memory"); }
    for (int p = 0; p < P; p++) {
        memcpy(sw + (size_t)p * D, m->ws[p], (size_t)D * 4);
        memcpy(cw + (size_t)p * HD_CLASSES * D, m->wc[p], (size_t)HD_CLASSES * D * 4);
        memcpy(cb + p * HD_CLASSES, m->bc[p], HD_CLASSES * 4);
    }
    mf_tensor t[8] = {
        {"norm.mean", 1, {D}, (size_t)D, m->mean},
        {"norm.inv_std", 1, {D}, (size_t)D, m->inv_std},
        {"gender.w", 2, {1, D}, (size_t)D, m->wg},
        {"gender.b", 1, {1}, 1, &gb},
        {"score.w", 2, {P, D}, (size_t)P * D, sw},
        {"score.b", 1, {P}, (size_t)P, sb},
        {"class.w", 3, {P, HD_CLASSES, D}, (size_t)P * HD_CLASSES * D, cw},
        {"class.b", 2, {P, HD_CLASSES}, (size_t)P * HD_CLASSES, cb},
    };
    mf_tensor *all = malloc((8 + (size_t)(n_extra > 0 ? n_extra : 0)) * sizeof *all);
    if (!all) st = fs_error(FS_ERR_NOMEM, "heads: out of memory");
    else {
        memcpy(all, t, sizeof t);
        if (n_extra > 0) memcpy(all + 8, extra, (size_t)n_extra * sizeof *extra);
        st = mf_write(path, meta, n_meta, all, 8 + (n_extra > 0 ? n_extra : 0));
        free(all);
    }
    free(sw); free(cw);
    return st;
}

static const mf_tensor *need(const mf_file *f, const char *name, int ndim, const int64_t *dims) {
    const mf_tensor *t = mf_tensor_get(f, name);
    if (!t) { fs_error(FS_ERR_FORMAT, "model file: no tensor '%s'", name); return NULL; }
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->dims[i] == dims[i];
    if (!ok) { fs_error(FS_ERR_FORMAT, "model file: tensor '%s' has the wrong shape", name); return NULL; }
    return t;
}

fs_status hio_load(const mf_file *f, hd_model *m) {
    const mf_tensor *mean = mf_tensor_get(f, "norm.mean"), *sw = mf_tensor_get(f, "score.w");
    if (!mean || mean->ndim != 1) return fs_error(FS_ERR_FORMAT, "model file: no 1-D tensor 'norm.mean'");
    if (!sw || sw->ndim != 2 || sw->dims[0] < 1 || sw->dims[0] > 2) return fs_error(FS_ERR_FORMAT, "model file: tensor 'score.w' must be [1 or 2, dim]");
    int64_t D = mean->dims[0], P = sw->dims[0];
    int64_t d1[1] = {D}, d2[2] = {1, D}, d3[1] = {1}, d4[2] = {P, D}, d5[1] = {P}, d6[3] = {P, HD_CLASSES, D}, d7[2] = {P, HD_CLASSES};
    const mf_tensor *istd = need(f, "norm.inv_std", 1, d1), *gw = need(f, "gender.w", 2, d2), *gb = need(f, "gender.b", 1, d3);
    const mf_tensor *sw2 = need(f, "score.w", 2, d4), *sb = need(f, "score.b", 1, d5), *cw = need(f, "class.w", 3, d6), *cb = need(f, "class.b", 2, d7);
    if (!istd || !gw || !gb || !sw2 || !sb || !cw || !cb) return FS_ERR_FORMAT;
    fs_status st = hd_alloc(m, (int)D, P == 2);
    if (st != FS_OK) return st;
    memcpy(m->mean, mean->data, (size_t)D * 4);
    memcpy(m->inv_std, istd->data, (size_t)D * 4);
    memcpy(m->wg, gw->data, (size_t)D * 4);
    m->bg = gb->data[0];
    for (int p = 0; p < P; p++) {
        memcpy(m->ws[p], sw2->data + (size_t)p * D, (size_t)D * 4);
        m->bs[p] = sb->data[p];
        memcpy(m->wc[p], cw->data + (size_t)p * HD_CLASSES * D, (size_t)HD_CLASSES * D * 4);
        memcpy(m->bc[p], cb->data + p * HD_CLASSES, HD_CLASSES * 4);
    }
    return FS_OK;
}
