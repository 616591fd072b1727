/* score/model_file.c — reader/writer of the heads file (docs/model-format.md).
 *
 * Header (128 bytes, little-endian):
 *   0 magic "FSHEADS\0" | 8 u32 version | 12 u32 n_meta | 16 u32 n_tensors | 20 u32 0
 *   24 u64 meta_offset | 32 u64 meta_size | 40 u64 table_offset | 48 u64 table_size
 *   56 u64 file_size   | 64 u64 checksum  | 72..127 zero
 * Meta: n_meta x (u32 key_len, key, u32 value_len, value). Table: n_tensors x (u32 name_len, name,
 * u32 dtype (0 = f32), u32 ndim, ndim x u64 dim, u64 data_offset, u64 nbytes). Data 64-aligned. */
#include "score/model_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

#define MF_MAX_STR (1u << 20)
#define MF_MAX_COUNT 100000

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint32_t get32(const uint8_t *p) { uint32_t v = 0; for (int i = 3; i >= 0; i--) v = v << 8 | p[i]; return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v = 0; for (int i = 7; i >= 0; i--) v = v << 8 | p[i]; return v; }

static int host_le(void) { uint16_t x = 1; return *(uint8_t *)&x == 1; }

uint64_t mf_checksum(const uint8_t *p, size_t size) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < size; i++) {
        if (i == 64) { i = 71; continue; }
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static size_t align64(size_t x) { return (x + 63) & ~(size_t)63; }

fs_status mf_write(const char *path, const mf_meta *meta, int n_meta, const mf_tensor *t, int n_tensors) {
    size_t meta_size = 0, table_size = 0, data_size = 0;
    for (int i = 0; i < n_meta; i++) meta_size += 8 + strlen(meta[i].key) + strlen(meta[i].value);
    for (int i = 0; i < n_tensors; i++) {
        if (t[i].ndim < 1 || t[i].ndim > MF_MAX_DIMS) return fs_error(FS_ERR_ARG, "model file: tensor %s has %d dims", t[i].name, t[i].ndim);
        table_size += 4 + strlen(t[i].name) + 8 + 8 * (size_t)t[i].ndim + 16;
        data_size = align64(data_size) + t[i].numel * 4;
    }
    size_t meta_off = MF_HEADER_SIZE, table_off = meta_off + meta_size, data_off = align64(table_off + table_size);
    size_t total = data_off + align64(data_size);
    uint8_t *buf = calloc(total, 1);
    if (!buf) return fs_error(FS_ERR_NOMEM, "model file: out of memory");
    memcpy(buf, MF_MAGIC, 8);
    put32(buf + 8, MF_VERSION); put32(buf + 12, (uint32_t)n_meta); put32(buf + 16, (uint32_t)n_tensors);
    put64(buf + 24, meta_off); put64(buf + 32, meta_size); put64(buf + 40, table_off); put64(buf + 48, table_size);
    put64(buf + 56, total);
    uint8_t *p = buf + meta_off;
    for (int i = 0; i < n_meta; i++) {
        size_t kl = strlen(meta[i].key), vl = strlen(meta[i].value);
        put32(p, (uint32_t)kl); memcpy(p + 4, meta[i].key, kl); p += 4 + kl;
        put32(p, (uint32_t)vl); memcpy(p + 4, meta[i].value, vl); p += 4 + vl;
    }
    size_t d = data_off;
    for (int i = 0; i < n_tensors; i++) {
        size_t nl = strlen(t[i].name);
        put32(p, (uint32_t)nl); memcpy(p + 4, t[i].name, nl); p += 4 + nl;
        put32(p, 0); put32(p + 4, (uint32_t)t[i].ndim); p += 8;
        for (int k = 0; k < t[i].ndim; k++, p += 8) put64(p, (uint64_t)t[i].dims[k]);
        d = align64(d);
        put64(p, d); put64(p + 8, t[i].numel * 4); p += 16;
        for (size_t k = 0; k < t[i].numel; k++) {
            uint32_t u;
            memcpy(&u, &t[i].data[k], 4);
            put32(buf + d + 4 * k, u);
        }
        d += t[i].numel * 4;
    }
    put64(buf + 64, mf_checksum(buf, total));
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) { free(buf); return fs_error(FS_ERR_IO, "%s: %s", tmp, strerror(errno)); }
    int ok = fwrite(buf, 1, total, f) == total;
    ok = !fclose(f) && ok;
    free(buf);
    if (!ok || rename(tmp, path)) { remove(tmp); return fs_error(FS_ERR_IO, "%s: cannot write", path); }
    return FS_OK;
}

void mf_close(mf_file *f) {
    if (f->map) munmap(f->map, f->size);
    if (f->tensors) for (int i = 0; i < f->n_tensors; i++) free((char *)f->tensors[i].name);
    free(f->tensors); free(f->meta); free(f->meta_buf);
    memset(f, 0, sizeof *f);
}

/* Reads a length-prefixed string at *off (bounds-checked) into dst (NUL-terminated, malloc'ed or
 * appended to a buffer). */
static fs_status read_str(const uint8_t *p, size_t end, size_t *off, const char *what, char **out) {
    if (*off > end || end - *off < 4) return fs_error(FS_ERR_FORMAT, "model file: %s length past the end", what);
    uint32_t n = get32(p + *off);
    *off += 4;
    if (n > MF_MAX_STR || n > end - *off) return fs_error(FS_ERR_FORMAT, "model file: %s of %u bytes past the end", what, n);
    if (memchr(p + *off, 0, n)) return fs_error(FS_ERR_FORMAT, "model file: %s holds a NUL byte", what);
    char *s = malloc(n + 1);
    if (!s) return fs_error(FS_ERR_NOMEM, "model file: out of memory");
    memcpy(s, p + *off, n);
    s[n] = 0;
    *off += n;
    *out = s;
    return FS_OK;
}

static fs_status parse(mf_file *f) {
    const uint8_t *p = f->map;
    size_t size = f->size;
    if (size < MF_HEADER_SIZE) return fs_error(FS_ERR_FORMAT, "model file: %zu bytes, shorter than the header", size);
    if (memcmp(p, MF_MAGIC, 8)) return fs_error(FS_ERR_FORMAT, "model file: bad magic (not a facescore heads file)");
    uint32_t ver = get32(p + 8);
    if (ver != MF_VERSION) return fs_error(FS_ERR_UNSUPPORTED, "model file: version %u (this build reads %d)", ver, MF_VERSION);
    if (get64(p + 56) != size) return fs_error(FS_ERR_FORMAT, "model file: header says %llu bytes, file has %zu (truncated?)", (unsigned long long)get64(p + 56), size);
    if (get64(p + 64) != mf_checksum(p, size)) return fs_error(FS_ERR_FORMAT, "model file: checksum mismatch (corrupt file)");
    if (!host_le()) return fs_error(FS_ERR_UNSUPPORTED, "model file: big-endian hosts are not supported");
    uint32_t nm = get32(p + 12), nt = get32(p + 16);
    uint64_t mo = get64(p + 24), ms = get64(p + 32), to = get64(p + 40), ts = get64(p + 48);
    if (nm > MF_MAX_COUNT || nt > MF_MAX_COUNT) return fs_error(FS_ERR_FORMAT, "model file: %u meta entries, %u tensors: too many", nm, nt);
    if (mo < MF_HEADER_SIZE || mo > size || ms > size - mo || to < MF_HEADER_SIZE || to > size || ts > size - to)
        return fs_error(FS_ERR_FORMAT, "model file: section offsets outside the file");
    f->meta = calloc(nm + 1, sizeof *f->meta);
    f->tensors = calloc(nt + 1, sizeof *f->tensors);
    char **strs = calloc(2 * (size_t)nm + 1, sizeof *strs);
    fs_status st = (f->meta && f->tensors && strs) ? FS_OK : fs_error(FS_ERR_NOMEM, "model file: out of memory");
    size_t off = mo, total = 0;
    for (uint32_t i = 0; i < 2 * nm && st == FS_OK; i++) {
        st = read_str(p, mo + ms, &off, i % 2 ? "meta value" : "meta key", &strs[i]);
        if (st == FS_OK) total += strlen(strs[i]) + 1;
    }
    if (st == FS_OK && off != mo + ms) st = fs_error(FS_ERR_FORMAT, "model file: meta section size mismatch");
    if (st == FS_OK && !(f->meta_buf = malloc(total + 1))) st = fs_error(FS_ERR_NOMEM, "model file: out of memory");
    if (st == FS_OK) {
        char *q = f->meta_buf;
        for (uint32_t i = 0; i < 2 * nm; i++) {
            size_t l = strlen(strs[i]) + 1;
            memcpy(q, strs[i], l);
            if (i % 2) f->meta[i / 2].value = q; else f->meta[i / 2].key = q;
            q += l;
        }
        f->n_meta = (int)nm;
    }
    for (uint32_t i = 0; i < 2 * nm; i++) free(strs ? strs[i] : NULL);
    free(strs);
    off = to;
    size_t end = to + ts;
    for (uint32_t i = 0; i < nt && st == FS_OK; i++) {
        mf_tensor *t = &f->tensors[i];
        char *name = NULL;
        if ((st = read_str(p, end, &off, "tensor name", &name)) != FS_OK) break;
        t->name = name;
        f->n_tensors = (int)i + 1;
        if (end - off < 8) { st = fs_error(FS_ERR_FORMAT, "model file: tensor %s: table truncated", name); break; }
        uint32_t dt = get32(p + off), nd = get32(p + off + 4);
        off += 8;
        if (dt != 0) { st = fs_error(FS_ERR_UNSUPPORTED, "model file: tensor %s: dtype %u (only 0 = float32)", name, dt); break; }
        if (nd < 1 || nd > MF_MAX_DIMS || end - off < 8 * (size_t)nd + 16) { st = fs_error(FS_ERR_FORMAT, "model file: tensor %s: bad rank %u or table truncated", name, nd); break; }
        t->ndim = (int)nd;
        uint64_t numel = 1;
        for (uint32_t k = 0; k < nd; k++, off += 8) {
            uint64_t dk = get64(p + off);
            if (dk == 0 || dk > ((uint64_t)1 << 32) || numel > (((uint64_t)1 << 40) / dk)) { st = fs_error(FS_ERR_FORMAT, "model file: tensor %s: dim %llu out of range", name, (unsigned long long)dk); break; }
            t->dims[k] = (int64_t)dk;
            numel *= dk;
        }
        if (st != FS_OK) break;
        uint64_t doff = get64(p + off), nb = get64(p + off + 8);
        off += 16;
        if (nb != numel * 4) { st = fs_error(FS_ERR_FORMAT, "model file: tensor %s: %llu bytes for %llu values", name, (unsigned long long)nb, (unsigned long long)numel); break; }
        if (doff % 64 || doff < to + ts || doff > size || nb > size - doff) { st = fs_error(FS_ERR_FORMAT, "model file: tensor %s: data offset %llu outside the file or unaligned", name, (unsigned long long)doff); break; }
        for (uint32_t k = 0; k < i; k++)
            if (!strcmp(f->tensors[k].name, name)) { st = fs_error(FS_ERR_FORMAT, "model file: tensor %s named twice", name); break; }
        t->numel = (size_t)numel;
        t->data = (const float *)(p + doff);
    }
    if (st == FS_OK && off != end) st = fs_error(FS_ERR_FORMAT, "model file: tensor table size mismatch");
    return st;
}

fs_status mf_open(const char *path, mf_file *f) {
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fs_error(FS_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) { close(fd); return fs_error(FS_ERR_IO, "%s: not a regular file", path); }
    if (st.st_size < MF_HEADER_SIZE) { close(fd); return fs_error(FS_ERR_FORMAT, "%s: model file: %lld bytes, shorter than the header", path, (long long)st.st_size); }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return fs_error(FS_ERR_IO, "%s: mmap: %s", path, strerror(errno));
    f->map = m;
    f->size = (size_t)st.st_size;
    fs_status s = parse(f);
    if (s != FS_OK) { char why[512]; snprintf(why, sizeof why, "%s", fs_last_error()); mf_close(f); return fs_error(s, "%s: %s", path, why); }
    return FS_OK;
}

fs_status mf_open_memory(const void *buf, size_t len, mf_file *f) {
    memset(f, 0, sizeof *f);
    if (len < MF_HEADER_SIZE) return fs_error(FS_ERR_FORMAT, "model file: %zu bytes, shorter than the header", len);
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return fs_error(FS_ERR_NOMEM, "model file: out of memory");
    memcpy(m, buf, len);
    f->map = m;
    f->size = len;
    fs_status s = parse(f);
    if (s != FS_OK) mf_close(f);
    return s;
}

const char *mf_get(const mf_file *f, const char *key) {
    for (int i = 0; i < f->n_meta; i++) if (!strcmp(f->meta[i].key, key)) return f->meta[i].value;
    return NULL;
}

const mf_tensor *mf_tensor_get(const mf_file *f, const char *name) {
    for (int i = 0; i < f->n_tensors; i++) if (!strcmp(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}
