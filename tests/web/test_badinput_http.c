/* tests/web/test_badinput_http.c — issue 8 item 3, server side: every file of the bad-input corpus
 * (badinput_corpus.c) POSTed to /api/v1/score as a raw image/jpeg body and as a multipart upload gets
 * its 4xx JSON error (or 200 for the two that decode); a Content-Length of 1 GB with a short body is
 * answered 413 at once, not after the connection timeout; malformed HTTP gets a 4xx or a closed
 * connection. After each one the process is alive and GET /healthz answers 200. Needs FS_BIN (set by
 * `make test`) and the models; skipped without them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "badinput_corpus.h"
#include "webt.h"

static void check_upload(int port, const bi_case *c, int multipart) {
    webt_resp r;
    int rc;
    if (multipart) {
        size_t ml;
        unsigned char *mp = webt_multipart("image", c->name, c->data, c->len, &ml);
        CHECK(mp);
        rc = webt_req(port, "POST", "/api/v1/score", WEBT_MP_CT, mp, ml, &r);
        free(mp);
    } else {
        rc = webt_req(port, "POST", "/api/v1/score", "Content-Type: image/jpeg\r\n", c->data, c->len, &r);
    }
    const char *how = multipart ? "multipart" : "raw";
    CHECK_MSG(rc == 0, "%s %s: no response", how, c->name);
    CHECK_MSG(r.status == c->http, "%s %s: status %d, want %d: %s", how, c->name, r.status, c->http, r.body);
    if (c->http_code) {
        CHECK_MSG(webt_json_error(&r, c->http_code), "%s %s: want error code %s: %s", how, c->name, c->http_code,
                  r.body);
        /* the reason is in the message (e.g. the decoder's), not just a bare code */
        if (c->cli_error && c->http == 422)
            CHECK_MSG(strstr(r.body, c->cli_error), "%s %s: message lacks '%s': %s", how, c->name, c->cli_error, r.body);
    } else {
        CHECK_MSG(strstr(r.body, "\"id\":\"") && strstr(r.body, "\"faces\":["), "%s %s: %s", how, c->name, r.body);
    }
    webt_resp_free(&r);
}

TEST(bad_uploads_get_4xx_json_and_the_server_stays_up) {
    if (!webt_bin()) SKIP("FS_BIN or samples/face.jpg missing");
    webt_server s;
    const char *extra[] = {"--threads", "1", NULL};
    if (webt_start(&s, extra)) { webt_cleanup(&s); SKIP("server did not start (models missing?)"); }
    bi_case *corpus;
    int n = bi_corpus(&corpus);
    CHECK_MSG(n >= 20, "corpus: %d inputs", n);
    for (int i = 0; i < n && !fs_test_failed(); i++) {
        for (int mp = 0; mp < 2 && !fs_test_failed(); mp++) {
            check_upload(s.port, &corpus[i], mp);
            CHECK_MSG(webt_alive(&s), "server died after %s (%s)", corpus[i].name, mp ? "multipart" : "raw");
            CHECK_MSG(webt_healthy(s.port), "no /healthz after %s", corpus[i].name);
        }
    }
    bi_corpus_free(corpus, n);
    CHECK(webt_stop(&s) == 0);
    webt_cleanup(&s);
}

/* multipart bodies that are broken in every way the parser must refuse */
TEST(broken_multipart_gets_400_json) {
    if (!webt_bin()) SKIP("FS_BIN or samples/face.jpg missing");
    webt_server s;
    const char *extra[] = {"--threads", "1", NULL};
    if (webt_start(&s, extra)) { webt_cleanup(&s); SKIP("server did not start (models missing?)"); }
    size_t ml;
    unsigned char *mp = webt_multipart("image", "a.jpg", "\xff\xd8\xff\xe0", 4, &ml);
    CHECK(mp);
    char long_b[160] = "Content-Type: multipart/form-data; boundary=";
    size_t at = strlen(long_b);
    memset(long_b + at, 'b', 80); /* RFC 2046: at most 70 characters */
    memcpy(long_b + at + 80, "\r\n", 3);
    static const char no_end[] = "--XbOuNdArY\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\n\xff\xd8\xff";
    static const char no_hdr_end[] = "--XbOuNdArY\r\nContent-Disposition: form-data; name=\"image\"";
    struct {
        const char *what, *ct;
        const void *body;
        size_t len;
        const char *code;
    } cases[] = {
        {"missing boundary parameter", "Content-Type: multipart/form-data\r\n", mp, ml, "bad_multipart"},
        {"empty boundary", "Content-Type: multipart/form-data; boundary=\r\n", mp, ml, "bad_multipart"},
        {"unterminated quoted boundary", "Content-Type: multipart/form-data; boundary=\"XbOuNdArY\r\n", mp, ml,
         "bad_multipart"},
        {"81-character boundary", long_b, mp, ml, "bad_multipart"},
        {"boundary absent from the body", "Content-Type: multipart/form-data; boundary=other\r\n", mp, ml,
         "bad_multipart"},
        {"no closing delimiter", WEBT_MP_CT, no_end, sizeof no_end - 1, "bad_multipart"},
        {"part headers never end", WEBT_MP_CT, no_hdr_end, sizeof no_hdr_end - 1, "bad_multipart"},
        {"not multipart at all", WEBT_MP_CT, "just some text", 14, "bad_multipart"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        webt_resp r;
        CHECK_MSG(webt_req(s.port, "POST", "/api/v1/score", cases[i].ct, cases[i].body, cases[i].len, &r) == 0,
                  "%s: no response", cases[i].what);
        CHECK_MSG(r.status == 400 && webt_json_error(&r, cases[i].code), "%s: %d %s", cases[i].what, r.status, r.body);
        webt_resp_free(&r);
        CHECK_MSG(webt_alive(&s) && webt_healthy(s.port), "server gone after: %s", cases[i].what);
    }
    free(mp);
    CHECK(webt_stop(&s) == 0);
    webt_cleanup(&s);
}

/* "Content-Length: 1000000000" then a few KB and silence: the server must not wait for the missing
 * gigabyte (its connection timeout is 30 s) but answer 413 JSON from the header alone */
TEST(gigabyte_content_length_with_short_body_gets_413_at_once) {
    if (!webt_bin()) SKIP("FS_BIN or samples/face.jpg missing");
    webt_server s;
    const char *extra[] = {"--threads", "1", NULL};
    if (webt_start(&s, extra)) { webt_cleanup(&s); SKIP("server did not start (models missing?)"); }
    size_t jl;
    unsigned char *jpg = fs_test_read_file("samples/face.jpg", &jl);
    CHECK(jpg && jl > 4096);
    static const char *types[] = {"image/jpeg", "multipart/form-data; boundary=XbOuNdArY"};
    static const char *lengths[] = {"1000000000", "10485761"}; /* 1 GB; the 10 MB default limit + 1 */
    for (int t = 0; t < 2 && !fs_test_failed(); t++) {
        for (int k = 0; k < 2 && !fs_test_failed(); k++) {
            char req[4096 + 256];
            int hl = snprintf(req, 256, "POST /api/v1/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n"
                                        "Content-Length: %s\r\n\r\n", types[t], lengths[k]);
            memcpy(req + hl, jpg, 4096);
            webt_resp r;
            CHECK_MSG(webt_raw(s.port, req, (size_t)hl + 4096, 10000, &r) == 0, "%s, %s bytes: no response in 10 s",
                      types[t], lengths[k]);
            CHECK_MSG(r.status == 413 && webt_json_error(&r, "too_large"), "%s: %d %s", types[t], r.status, r.body);
            CHECK_MSG(r.ms < 5000, "413 after %.0f ms", r.ms);
            webt_resp_free(&r);
            CHECK(webt_alive(&s) && webt_healthy(s.port));
        }
    }
    free(jpg);
    CHECK(webt_stop(&s) == 0);
    webt_cleanup(&s);
}

/* requests no browser sends: libmicrohttpd answers them 4xx itself (or drops the connection) */
TEST(malformed_http_gets_4xx_or_a_closed_connection) {
    if (!webt_bin()) SKIP("FS_BIN or samples/face.jpg missing");
    webt_server s;
    const char *extra[] = {"--threads", "1", NULL};
    if (webt_start(&s, extra)) { webt_cleanup(&s); SKIP("server did not start (models missing?)"); }
    size_t big = 100000;
    char *huge_hdr = malloc(big + 128), *huge_url = malloc(big + 128);
    CHECK(huge_hdr && huge_url);
    int n = snprintf(huge_hdr, 64, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(huge_hdr + n, 'A', big);
    strcpy(huge_hdr + n + big, "\r\n\r\n");
    n = snprintf(huge_url, 64, "GET /");
    memset(huge_url + n, 'a', big);
    strcpy(huge_url + n + big, " HTTP/1.1\r\nHost: x\r\n\r\n");
    struct { const char *what, *bytes; size_t len; } cases[] = {
        {"bad Content-Length", "POST /api/v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                               "Content-Length: abc\r\n\r\n", 0},
        {"negative Content-Length", "POST /api/v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                                    "Content-Length: -5\r\n\r\n", 0},
        {"overflowing Content-Length", "POST /api/v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                                       "Content-Length: 99999999999999999999999\r\n\r\n", 0},
        {"two Content-Lengths", "POST /api/v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                                "Content-Length: 5\r\nContent-Length: 7\r\n\r\nabcde", 0},
        {"header line without a colon", "GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n", 0},
        {"unknown HTTP version", "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 0},
        {"100 KB header", huge_hdr, 0},
        {"100 KB URL", huge_url, 0},
        {"garbage request line", "\x01\x02\x03 \xff\xfe / HTTP/1.1\r\n\r\n", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        webt_resp r;
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].bytes);
        webt_raw(s.port, cases[i].bytes, len, 10000, &r);
        int ok = (r.status >= 400 && r.status < 500) || r.status == 505 || (r.status == 0 && r.closed);
        CHECK_MSG(ok, "%s: status %d closed %d after %.0f ms", cases[i].what, r.status, r.closed, r.ms);
        CHECK_MSG(r.ms < 5000, "%s: %.0f ms", cases[i].what, r.ms);
        if (getenv("FS_TEST_VERBOSE")) fprintf(stderr, "    %s -> %d%s\n", cases[i].what, r.status, r.closed ? " closed" : "");
        webt_resp_free(&r);
        CHECK_MSG(webt_alive(&s) && webt_healthy(s.port), "server gone after: %s", cases[i].what);
    }
    free(huge_hdr);
    free(huge_url);
    CHECK(webt_stop(&s) == 0);
    webt_cleanup(&s);
}
