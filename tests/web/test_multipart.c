/* tests/web/test_multipart.c — the multipart/form-data parser (incl. hostile bodies), SHA-256 vectors,
 * and the SQLite result store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "web/multipart.h"
#include "web/sha256.h"
#include "web/store.h"

static int find(const char *body, const char *field, mp_part *p) {
    const char *why;
    return mp_find((const unsigned char *)body, strlen(body), "XyZ", field, p, &why);
}

TEST(boundary_param) {
    char b[80];
    CHECK(mp_boundary("multipart/form-data; boundary=abc", b, sizeof b) == 0 && !strcmp(b, "abc"));
    CHECK(mp_boundary("multipart/form-data; charset=utf-8; boundary=\"a b;c\"", b, sizeof b) == 0 && !strcmp(b, "a b;c"));
    CHECK(mp_boundary("Multipart/Form-Data;boundary=----WebKit123", b, sizeof b) == 0 && !strcmp(b, "----WebKit123"));
    CHECK(mp_boundary("multipart/form-data", b, sizeof b) == -1);           /* missing */
    CHECK(mp_boundary("multipart/form-data; boundary=", b, sizeof b) == -1);  /* empty */
    CHECK(mp_boundary("multipart/form-data; boundary=\"abc", b, sizeof b) == -1); /* unclosed quote */
    CHECK(mp_boundary("text/plain; boundary=abc", b, sizeof b) == -1);
    char longb[200] = "multipart/form-data; boundary=";
    memset(longb + strlen(longb), 'a', 71);
    CHECK(mp_boundary(longb, b, sizeof b) == -1); /* > 70 chars (RFC 2046) */
    CHECK(mp_boundary(NULL, b, sizeof b) == -1);
}

TEST(finds_field) {
    const char *body = "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nhello\r\n"
                       "--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n"
                       "Content-Type: Image/JPEG\r\n\r\n\xff\xd8\n--XyZ\r\n-XyZ\r\n--XyZ--\r\n";
    mp_part p;
    CHECK(find(body, "image", &p) == 1);
    CHECK(p.len == 14 && !memcmp(p.data, "\xff\xd8\n--XyZ\r\n-XyZ", 14)); /* near-boundary bytes kept */
    CHECK(!strcmp(p.content_type, "image/jpeg"));
    CHECK(find(body, "other", &p) == 1 && p.len == 5 && !memcmp(p.data, "hello", 5));
    CHECK(find(body, "imag", &p) == 0);
    CHECK(find(body, "a.jpg", &p) == 0); /* filename= is not name= */
    /* empty part, unquoted name */
    CHECK(find("--XyZ\r\nContent-Disposition: form-data; name=image\r\n\r\n\r\n--XyZ--", "image", &p) == 1 && p.len == 0);
}

TEST(malformed_bodies) {
    mp_part p;
    CHECK(find("", "image", &p) == -1);
    CHECK(find("no delimiter at all", "image", &p) == -1);
    CHECK(find("--XyZ", "image", &p) == -1);                                        /* ends after delimiter */
    CHECK(find("--XyZ\r\nContent-Disposition: form-data; name=\"image\"", "image", &p) == -1); /* headers open */
    CHECK(find("--XyZ\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nabc", "image", &p) == -1); /* no close */
    CHECK(find("--XyZjunk\r\n\r\n\r\n--XyZ--", "image", &p) == -1);                  /* delimiter + junk */
    CHECK(find("--XyZ--", "image", &p) == 0);                                        /* empty form */
}

/* random and truncated bodies: never reads out of bounds (ASan build), answers -1, 0 or 1 */
TEST(hostile_fuzz) {
    const char *good = "--XyZ\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nDATA\r\n--XyZ--\r\n";
    size_t gl = strlen(good);
    mp_part p;
    const char *why;
    for (size_t n = 0; n <= gl; n++) { /* every truncation, in an exact-size heap buffer */
        unsigned char *b = malloc(n + 1);
        memcpy(b, good, n);
        int k = mp_find(b, n, "XyZ", "image", &p, &why);
        CHECK(k >= -1 && k <= 1);
        if (k == 1) CHECK(p.data >= b && p.data + p.len <= b + n);
        free(b);
    }
    srand(7);
    const char alphabet[] = "-XyZ\r\n:;=\" image";
    for (int it = 0; it < 3000; it++) {
        size_t n = (size_t)(rand() % 96);
        unsigned char *b = malloc(n + 1);
        for (size_t i = 0; i < n; i++) b[i] = (unsigned char)alphabet[rand() % (int)(sizeof alphabet - 1)];
        if (n > 7 && rand() % 2) memcpy(b, "--XyZ\r\n", 7);
        int k = mp_find(b, n, "XyZ", "image", &p, &why);
        CHECK(k >= -1 && k <= 1);
        if (k == 1) CHECK(p.data >= b && p.data + p.len <= b + n);
        if (k == -1) CHECK(why && *why);
        free(b);
    }
}

static void hex(const char *s, char out[65]) { web_sha256_hex(s, strlen(s), out); }

TEST(sha256_vectors) {
    char h[65];
    hex("", h);
    CHECK(!strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    hex("abc", h);
    CHECK(!strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", h); /* 56 bytes: two padding blocks */
    CHECK(!strcmp(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
}

TEST(store_roundtrip) {
    char dir[] = "/tmp/fs_web_store_XXXXXX";
    CHECK(mkdtemp(dir));
    char path[96], err[256];
    snprintf(path, sizeof path, "%s/r.db", dir);
    web_store *s = web_store_open(path, err, sizeof err);
    CHECK_MSG(s, "%s", err);
    CHECK(web_store_schema_version(s) == WEB_STORE_SCHEMA_VERSION);
    for (int i = 0; i < 3; i++) {
        web_result r = {0};
        snprintf(r.id, sizeof r.id, "%032x", i + 1);
        r.created_ms = 1000 + i;
        snprintf(r.sha256, sizeof r.sha256, "%064d", i);
        r.width = 10 + i; r.height = 20; r.code = 2; r.largest = 0;
        snprintf(r.detector, sizeof r.detector, "yunet");
        snprintf(r.model, sizeof r.model, "m.fsh");
        r.faces_json = "[]";
        r.timings_json = "{\"total\":1}";
        CHECK(web_store_put(s, &r, i == 0 ? "JPEG" : NULL, 4) == 0);
        CHECK(web_store_put(s, &r, NULL, 0) == -1); /* duplicate id */
    }
    web_result g;
    char id[33];
    snprintf(id, sizeof id, "%032x", 2);
    CHECK(web_store_get(s, id, &g) == 1);
    CHECK(g.width == 11 && g.created_ms == 1001 && g.code == 2 && !strcmp(g.faces_json, "[]") && !strcmp(g.detector, "yunet"));
    web_result_clear(&g);
    web_result *v;
    int n = web_store_list(s, 0, 2, &v);
    CHECK(n == 2 && v[0].created_ms == 1002 && v[1].created_ms == 1001); /* newest first */
    for (int i = 0; i < n; i++) web_result_clear(&v[i]);
    free(v);
    n = web_store_list(s, 1001, 10, &v);
    CHECK(n == 1 && v[0].created_ms == 1000);
    web_result_clear(&v[0]);
    free(v);
    CHECK(web_store_delete(s, id) == 1);
    CHECK(web_store_delete(s, id) == 0);
    CHECK(web_store_get(s, id, &g) == 0);
    web_store_close(s);
    /* reopen: data persisted, migration is a no-op; a broken store fails cleanly */
    s = web_store_open(path, err, sizeof err);
    CHECK_MSG(s, "%s", err);
    snprintf(id, sizeof id, "%032x", 1);
    CHECK(web_store_get(s, id, &g) == 1);
    web_result_clear(&g);
    web_store_break(s);
    CHECK(web_store_get(s, id, &g) == -1);
    CHECK(web_store_list(s, 0, 5, &v) == -1);
    web_store_close(s);
    CHECK(web_store_open("/nonexistent-dir/x.db", err, sizeof err) == NULL && strstr(err, "/nonexistent-dir/x.db"));
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}
