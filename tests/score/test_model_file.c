/* tests/score/test_model_file.c — heads file round trip, and every kind of damage refused. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "score/heads_io.h"
#include "score/model_file.h"

static void tmpname(char *buf, size_t n, const char *tag) {
    snprintf(buf, n, "/tmp/fs_mf_%s_%d.fsh", tag, (int)getpid());
}

static void fill(hd_model *m, int per_gender) {
    hd_alloc(m, 7, per_gender);
    for (int d = 0; d < 7; d++) {
        m->mean[d] = d * 0.5f; m->inv_std[d] = 1.0f / (d + 1); m->wg[d] = -0.1f * d;
        for (int p = 0; p <= per_gender; p++) {
            m->ws[p][d] = 0.01f * d + p;
            for (int k = 0; k < 5; k++) m->wc[p][k * 7 + d] = 0.001f * (k * 7 + d) - p;
        }
    }
    m->bg = 0.25f;
    for (int p = 0; p <= per_gender; p++) { m->bs[p] = 0.125f + p; for (int k = 0; k < 5; k++) m->bc[p][k] = (float)k - p; }
}

static int same(const hd_model *a, const hd_model *b) {
    int D = a->dim;
    if (a->dim != b->dim || a->per_gender != b->per_gender || a->bg != b->bg) return 0;
    if (memcmp(a->mean, b->mean, D * 4) || memcmp(a->inv_std, b->inv_std, D * 4) || memcmp(a->wg, b->wg, D * 4)) return 0;
    for (int p = 0; p <= a->per_gender; p++)
        if (a->bs[p] != b->bs[p] || memcmp(a->ws[p], b->ws[p], D * 4) || memcmp(a->wc[p], b->wc[p], 5 * D * 4) ||
            memcmp(a->bc[p], b->bc[p], 20))
            return 0;
    return 1;
}

TEST(round_trip_keeps_tensors_and_metadata) {
    for (int pg = 0; pg <= 1; pg++) {
        hd_model m, back;
        fill(&m, pg);
        char path[128];
        tmpname(path, sizeof path, "rt");
        mf_meta meta[2] = {{"format", "facescore-heads"}, {"note", "ünïcode ok, 한국어"}};
        CHECK_MSG(hio_save(path, &m, meta, 2) == FS_OK, "%s", fs_last_error());
        mf_file f;
        CHECK_MSG(mf_open(path, &f) == FS_OK, "%s", fs_last_error());
        CHECK(!strcmp(mf_get(&f, "note"), "ünïcode ok, 한국어"));
        CHECK(mf_get(&f, "missing") == NULL);
        const mf_tensor *t = mf_tensor_get(&f, "class.w");
        CHECK(t && t->ndim == 3 && t->dims[0] == pg + 1 && t->dims[1] == 5 && t->dims[2] == 7);
        CHECK(((uintptr_t)t->data % 64) == 0); /* aligned in the mapping */
        CHECK(hio_load(&f, &back) == FS_OK);
        CHECK(same(&m, &back));
        mf_close(&f);
        unlink(path);
        hd_free(&m); hd_free(&back);
    }
}

TEST(damaged_files_are_refused_with_a_reason) {
    hd_model m;
    fill(&m, 0);
    char path[128];
    tmpname(path, sizeof path, "bad");
    mf_meta meta[1] = {{"format", "facescore-heads"}};
    CHECK(hio_save(path, &m, meta, 1) == FS_OK);
    size_t len;
    unsigned char *buf = fs_test_read_file(path, &len);
    unlink(path);
    CHECK(buf && len > 128);
    mf_file f;
    CHECK(mf_open_memory(buf, len, &f) == FS_OK);
    mf_close(&f);
    /* every single byte changed: refused (checksum, magic, version or size) */
    for (size_t i = 0; i < len; i++) {
        buf[i] ^= 0x5a;
        fs_status st = mf_open_memory(buf, len, &f);
        buf[i] ^= 0x5a;
        CHECK_MSG(st != FS_OK, "byte %zu flipped was accepted", i);
        CHECK(fs_last_error()[0]);
    }
    /* every truncation */
    for (size_t n = 0; n < len; n += 7) {
        fs_status st = mf_open_memory(buf, n, &f);
        CHECK_MSG(st != FS_OK, "truncated to %zu accepted", n);
    }
    /* reasons */
    buf[0] = 'X';
    CHECK(mf_open_memory(buf, len, &f) == FS_ERR_FORMAT && strstr(fs_last_error(), "magic"));
    buf[0] = 'F';
    buf[200] ^= 1;
    CHECK(mf_open_memory(buf, len, &f) == FS_ERR_FORMAT && strstr(fs_last_error(), "checksum"));
    buf[200] ^= 1;
    CHECK(mf_open("/nonexistent/x.fsh", &f) == FS_ERR_IO);
    free(buf);
    hd_free(&m);
}

/* a structurally bad file with a correct checksum (as a buggy writer would make): still refused */
TEST(bad_offsets_with_valid_checksum_are_refused) {
    hd_model m;
    fill(&m, 0);
    char path[128];
    tmpname(path, sizeof path, "off");
    CHECK(hio_save(path, &m, NULL, 0) == FS_OK);
    size_t len;
    unsigned char *buf = fs_test_read_file(path, &len);
    unlink(path);
    CHECK(buf);
    /* tensor count larger than the table holds */
    buf[16] = 9;
    uint64_t h = mf_checksum(buf, len);
    for (int i = 0; i < 8; i++) buf[64 + i] = (uint8_t)(h >> (8 * i));
    mf_file f;
    CHECK(mf_open_memory(buf, len, &f) == FS_ERR_FORMAT);
    free(buf);
    hd_free(&m);
}
