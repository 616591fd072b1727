/* train/ft/checkpoint.c — see checkpoint.h. */
#include "train/ft/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "data/dataset.h"
#include "score/model_file.h"

#define CK_FORMAT "facescore-finetune-checkpoint"
#define CK_VERSION 1

uint64_t ck_layout_hash(const ft_state *s) {
    uint64_t h = DS_FNV_INIT;
    for (int i = 0; i < s->n_info; i++) {
        const ft_param_info *p = &s->info[i];
        char line[512];
        int l = snprintf(line, sizeof line, "%s|%zu|%zu|%d|%d\n", p->name, p->offset, p->count, p->block, p->decay);
        h = ds_fnv1a(h, line, (size_t)(l < (int)sizeof line ? l : (int)sizeof line - 1));
    }
    char tail[96];
    int l = snprintf(tail, sizeof tail, "n%zu|m%zu|v%d|d%d", s->n_params, s->n_moments, s->v != NULL, s->dim);
    return ds_fnv1a(h, tail, (size_t)l);
}

/* fsync of a file or folder by path */
static int sync_path(const char *path, int dir) {
    int fd = open(path, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0) return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

fs_status ck_save(const char *path, const ck_info *info, const ft_state *s, const float *best) {
    char v[10][64];
    mf_meta meta[16];
    int k = 0;
#define KV(KEY, VAL) do { meta[k].key = KEY; meta[k].value = VAL; k++; } while (0)
    KV("format", CK_FORMAT);
    snprintf(v[0], 64, "%d", CK_VERSION); KV("ckpt.version", v[0]);
    KV("config", info->config);
    snprintf(v[1], 64, "%016" PRIx64, info->data_hash); KV("data.fnv1a64", v[1]);
    snprintf(v[2], 64, "%016" PRIx64, info->backbone_hash); KV("backbone.fnv1a64", v[2]);
    snprintf(v[3], 64, "%016" PRIx64, ck_layout_hash(s)); KV("layout.fnv1a64", v[3]);
    snprintf(v[4], 64, "%d", info->epoch); KV("epoch", v[4]);
    snprintf(v[5], 64, "%" PRId64, *s->step); KV("step", v[5]);
    snprintf(v[6], 64, "%016" PRIx64, *s->rng); KV("rng", v[6]);
    snprintf(v[7], 64, "%d", info->best_epoch); KV("best.epoch", v[7]);
    snprintf(v[8], 64, "%.17g", info->best_val); KV("best.val", v[8]);
    KV("history", info->history);
#undef KV
    size_t n = s->n_params;
    mf_tensor t[6] = {
        {"params", 1, {(int64_t)n}, n, s->params},
        {"m", 1, {(int64_t)n}, n, s->m},
        {"feat_mean", 1, {s->dim}, (size_t)s->dim, s->feat_mean},
        {"feat_inv_std", 1, {s->dim}, (size_t)s->dim, s->feat_inv_std},
    };
    int nt = 4;
    if (s->v) t[nt++] = (mf_tensor){"v", 1, {(int64_t)n}, n, s->v};
    if (best) t[nt++] = (mf_tensor){"best", 1, {(int64_t)n}, n, best};
    char tmp[4300];
    if (snprintf(tmp, sizeof tmp, "%s.part%d", path, (int)getpid()) >= (int)sizeof tmp)
        return fs_error(FS_ERR_ARG, "checkpoint path too long");
    fs_status st = mf_write(tmp, meta, k, t, nt);
    if (st != FS_OK) return st;
    if (sync_path(tmp, 0)) { remove(tmp); return fs_error(FS_ERR_IO, "%s: fsync: %s", tmp, strerror(errno)); }
    if (rename(tmp, path)) { int e = errno; remove(tmp); return fs_error(FS_ERR_IO, "%s: rename: %s", path, strerror(e)); }
    char dir[4300];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *(slash == dir ? slash + 1 : slash) = 0; else snprintf(dir, sizeof dir, ".");
    sync_path(dir, 1);   /* best effort: the rename reaches the disk */
    return FS_OK;
}

/* first differing "key=value" word of two configs */
static void config_diff(const char *a0, const char *b0, char *out, size_t n) {
    size_t i = 0;
    while (a0[i] && a0[i] == b0[i]) i++;
    while (i > 0 && a0[i - 1] != ' ') i--;   /* a0 and b0 agree before i */
    const char *a = a0 + i, *b = b0 + i;
    int la = (int)strcspn(a, " "), lb = (int)strcspn(b, " ");
    snprintf(out, n, "checkpoint '%.*s', this run '%.*s'", la, a, lb, b);
}

static fs_status get_u64(const mf_file *f, const char *key, int hex, uint64_t *out) {
    const char *v = mf_get(f, key);
    char *end;
    if (!v || !*v) return fs_error(FS_ERR_FORMAT, "no '%s'", key);
    errno = 0;
    unsigned long long x = strtoull(v, &end, hex ? 16 : 10);
    if (*end || errno) return fs_error(FS_ERR_FORMAT, "'%s' = '%s' is not a number", key, v);
    *out = x;
    return FS_OK;
}

static fs_status copy_tensor(const mf_file *f, const char *name, float *dst, size_t n) {
    const mf_tensor *t = mf_tensor_get(f, name);
    if (!t) return fs_error(FS_ERR_FORMAT, "no tensor '%s'", name);
    if (t->ndim != 1 || t->numel != n) return fs_error(FS_ERR_FORMAT, "tensor '%s' has %zu values, this run needs %zu", name, t->numel, n);
    memcpy(dst, t->data, n * sizeof(float));
    return FS_OK;
}

static fs_status check_and_read(const mf_file *f, const ck_info *expect, ft_state *s, float *best, int *has_best, ck_info *out) {
    const char *fmt = mf_get(f, "format"), *ver = mf_get(f, "ckpt.version"), *cfg = mf_get(f, "config"), *hist = mf_get(f, "history");
    if (!fmt || strcmp(fmt, CK_FORMAT)) return fs_error(FS_ERR_FORMAT, "not a fine-tuning checkpoint (format '%s')", fmt ? fmt : "");
    if (!ver || strcmp(ver, "1")) return fs_error(FS_ERR_UNSUPPORTED, "checkpoint version '%s' (this build reads 1)", ver ? ver : "");
    if (!cfg || strlen(cfg) >= sizeof out->config) return fs_error(FS_ERR_FORMAT, "no or too long 'config'");
    if (!hist || strlen(hist) >= sizeof out->history) return fs_error(FS_ERR_FORMAT, "no or too long 'history'");
    memset(out, 0, sizeof *out);
    snprintf(out->config, sizeof out->config, "%s", cfg);
    snprintf(out->history, sizeof out->history, "%s", hist);
    uint64_t layout, ep, step, rng, be;
    fs_status st;
    if ((st = get_u64(f, "data.fnv1a64", 1, &out->data_hash)) || (st = get_u64(f, "backbone.fnv1a64", 1, &out->backbone_hash)) ||
        (st = get_u64(f, "layout.fnv1a64", 1, &layout)) || (st = get_u64(f, "epoch", 0, &ep)) || (st = get_u64(f, "step", 0, &step)) ||
        (st = get_u64(f, "rng", 1, &rng)) || (st = get_u64(f, "best.epoch", 0, &be)))
        return st;
    const char *bv = mf_get(f, "best.val");
    char *end;
    out->best_val = bv ? strtod(bv, &end) : 0;
    if (!bv || *end) return fs_error(FS_ERR_FORMAT, "'best.val' is not a number");
    if (ep > 1000000 || be > ep) return fs_error(FS_ERR_FORMAT, "epoch %llu / best epoch %llu out of range", (unsigned long long)ep, (unsigned long long)be);
    out->epoch = (int)ep;
    out->best_epoch = (int)be;
    if (expect) {
        char d[600];
        if (strcmp(cfg, expect->config)) { config_diff(cfg, expect->config, d, sizeof d); return fs_error(FS_ERR_ARG, "made with other settings: %s", d); }
        if (out->data_hash != expect->data_hash) return fs_error(FS_ERR_ARG, "made on other training data (rows hash %016" PRIx64 ", this run %016" PRIx64 ")", out->data_hash, expect->data_hash);
        if (out->backbone_hash != expect->backbone_hash) return fs_error(FS_ERR_ARG, "made with other backbone weights (%016" PRIx64 ", this run %016" PRIx64 ")", out->backbone_hash, expect->backbone_hash);
    }
    if (layout != ck_layout_hash(s)) return fs_error(FS_ERR_ARG, "its trainable tensors differ from this run's (other --train-from or backbone?)");
    size_t n = s->n_params;
    if ((st = copy_tensor(f, "params", s->params, n)) || (st = copy_tensor(f, "m", s->m, n)) ||
        (s->v && (st = copy_tensor(f, "v", s->v, n))) || (st = copy_tensor(f, "feat_mean", s->feat_mean, (size_t)s->dim)) ||
        (st = copy_tensor(f, "feat_inv_std", s->feat_inv_std, (size_t)s->dim)))
        return st;
    *has_best = 0;
    if (best && mf_tensor_get(f, "best")) {
        if ((st = copy_tensor(f, "best", best, n))) return st;
        *has_best = 1;
    }
    if (out->best_epoch && !mf_tensor_get(f, "best")) return fs_error(FS_ERR_FORMAT, "best epoch %d but no 'best' tensor", out->best_epoch);
    *s->step = (int64_t)step;
    *s->rng = rng;
    return FS_OK;
}

fs_status ck_load(const char *path, const ck_info *expect, ft_state *s, float *best, int *has_best, ck_info *out) {
    mf_file f;
    fs_status st = mf_open(path, &f);
    if (st != FS_OK) {
        char why[600];
        snprintf(why, sizeof why, "%s", fs_last_error());
        return fs_error(st, "checkpoint %s is damaged, truncated or not a checkpoint: %s", path, why);
    }
    /* read into scratch first: a refused checkpoint leaves the state untouched */
    size_t n = s->n_params, d = (size_t)s->dim;
    ft_state tmp = *s;
    int64_t step;
    uint64_t rng;
    float *buf = malloc((3 * n + 2 * d + 1) * sizeof(float));
    float *bb = best ? malloc((n + 1) * sizeof(float)) : NULL;
    int hb = 0;
    if (!buf || (best && !bb)) st = fs_error(FS_ERR_NOMEM, "checkpoint: out of memory");
    else {
        tmp.params = buf; tmp.m = buf + n; tmp.v = s->v ? buf + 2 * n : NULL;
        tmp.feat_mean = buf + 3 * n; tmp.feat_inv_std = buf + 3 * n + d;
        tmp.step = &step; tmp.rng = &rng;
        st = check_and_read(&f, expect, &tmp, bb, &hb, out);
    }
    if (st == FS_OK) {
        memcpy(s->params, tmp.params, n * sizeof(float));
        memcpy(s->m, tmp.m, n * sizeof(float));
        if (s->v) memcpy(s->v, tmp.v, n * sizeof(float));
        memcpy(s->feat_mean, tmp.feat_mean, d * sizeof(float));
        memcpy(s->feat_inv_std, tmp.feat_inv_std, d * sizeof(float));
        *s->step = step;
        *s->rng = rng;
        if (best && hb) memcpy(best, bb, n * sizeof(float));
        if (has_best) *has_best = hb;
    }
    free(buf); free(bb);
    mf_close(&f);
    if (st != FS_OK) {
        char why[700];
        snprintf(why, sizeof why, "%s", fs_last_error());
        return fs_error(st, "checkpoint %s: %s", path, why);
    }
    return FS_OK;
}
