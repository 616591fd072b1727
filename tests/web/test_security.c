/* tests/web/test_security.c — issue 8 item 5: security headers on every response (CSP without inline
 * script, nosniff, Referrer-Policy, X-Frame-Options / frame-ancestors), no path traversal (no route
 * maps to a file: every encoding of ../../etc/passwd is a JSON 404), no reflected input as markup,
 * the access log not injectable, the admin token accepted only whole. Needs FS_BIN (set by
 * `make test`) and the models; skipped without them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "webt.h"

#define TOKEN "s3cret-admin-token-0123456789abcdef"

/* the server with --auth-token-file (the file is read once at start, then removed) */
static int start_with_token(webt_server *s) {
    char dir[] = "/tmp/fs_web_token_XXXXXX", tf[64];
    memset(s, 0, sizeof *s);
    if (!mkdtemp(dir)) return -1;
    snprintf(tf, sizeof tf, "%s/token", dir);
    FILE *f = fopen(tf, "w");
    if (f) { fprintf(f, "%s\n", TOKEN); fclose(f); }
    const char *extra[] = {"--threads", "1", "--auth-token-file", tf, NULL};
    int rc = f ? webt_start(s, extra) : -1;
    unlink(tf);
    rmdir(dir);
    return rc;
}

/* the headers every facescore response carries */
static void check_headers(const webt_resp *r, const char *what) {
    char v[512];
    CHECK_MSG(!webt_header(r, "X-Content-Type-Options", v, sizeof v) && !strcmp(v, "nosniff"), "%s: nosniff", what);
    CHECK_MSG(!webt_header(r, "Referrer-Policy", v, sizeof v) && !strcmp(v, "no-referrer"), "%s: Referrer-Policy", what);
    CHECK_MSG(!webt_header(r, "X-Frame-Options", v, sizeof v) && !strcmp(v, "DENY"), "%s: X-Frame-Options", what);
    CHECK_MSG(!webt_header(r, "Content-Security-Policy", v, sizeof v), "%s: no CSP", what);
    CHECK_MSG(!strncmp(v, "default-src 'self';", 19) && strstr(v, "frame-ancestors 'none'") &&
                  strstr(v, "object-src 'none'") && strstr(v, "base-uri 'none'") && strstr(v, "form-action 'self'") &&
                  strstr(v, "img-src 'self' blob: data:"),
              "%s: CSP %s", what, v);
    /* no inline or eval'd script, no script from anywhere but the page's origin */
    CHECK_MSG(!strstr(v, "unsafe-inline") && !strstr(v, "unsafe-eval") && !strstr(v, "script-src") && !strstr(v, "*"),
              "%s: CSP too wide: %s", what, v);
}

TEST(every_response_carries_the_security_headers) {
    if (!webt_bin()) SKIP("FS_BIN or samples/face.jpg missing");
    webt_server s;
    if (start_with_token(&s)) { webt_cleanup(&s); SKIP("server did not start (models missing?)"); }
    size_t jl;
    unsigned char *jpg = fs_test_read_file("samples/face.jpg", &jl);
    CHECK(jpg);
    webt_resp r;
    CHECK(webt_req(s.port, "POST", "/api/v1/score", "Content-Type: image/jpeg\r\n", jpg, jl, &r) == 0 && r.status == 200);
    check_headers(&r, "POST score 200");
    char id[33] = {0};
    const char *at = strstr(r.body, "\"id\":\"");
    CHECK(at);
    memcpy(id, at + 6, 32);
    webt_resp_free(&r);
    free(jpg);
    char res_path[64];
    snprintf(res_path, sizeof res_path, "/api/v1/results/%s", id);
    struct { const char *method, *path, *headers, *body; int status; } cases[] = {
        {"GET", "/", NULL, NULL, 200},
        {"GET", "/index.html", NULL, NULL, 200},
        {"GET", "/app.js", NULL, NULL, 200},
        {"GET", "/app.css", NULL, NULL, 200},
        {"HEAD", "/", NULL, NULL, 200},
        {"GET", "/healthz", NULL, NULL, 200},
        {"GET", "/metrics", NULL, NULL, 200},
        {"GET", res_path, NULL, NULL, 200},
        {"GET", "/api/v1/results", "Authorization: Bearer " TOKEN "\r\n", NULL, 200},
        {"GET", "/api/v1/results", NULL, NULL, 401},
        {"GET", "/nope", NULL, NULL, 404},
        {"GET", "/api/v1/score", NULL, NULL, 405},
        {"POST", "/api/v1/score", "Content-Type: text/plain\r\n", "x", 415},
        {"POST", "/api/v1/score", "Content-Type: image/jpeg\r\n", "not a jpeg", 422},
        {"POST", "/api/v1/score", "Content-Type: multipart/form-data\r\n", "x", 400},
        {"POST", "/api/v1/score", "Content-Type: image/jpeg\r\nContent-Length: 999999999\r\n", NULL, 413},
        {"DELETE", res_path, NULL, NULL, 200},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0] && !fs_test_failed(); i++) {
        char what[160];
        snprintf(what, sizeof what, "%s %s -> %d", cases[i].method, cases[i].path, cases[i].status);
        const char *b = cases[i].body;
        CHECK_MSG(webt_req(s.port, cases[i].method, cases[i].path, cases[i].headers, b, b ? strlen(b) : 0, &r) == 0,
                  "%s: no response", what);
        CHECK_MSG(r.status == cases[i].status, "%s: got %d %s", what, r.status, r.body);
        check_headers(&r, what);
        webt_resp_free(&r);
    }
    CHECK(webt_stop(&s) == 0);
    webt_cleanup(&s);
}

/* the page: script only from /app.js (no inline script, no on* handler attributes, no style attributes
 * or elements, which the CSP would block anyway), nothing from another origin */
TEST(page_has_no_inline_script_or_style) {
    if (!webt_bin()) SKIP("FS_BIN or samples/face.jpg missing");
    webt_server s;
    const char *extra[] = {"--threads", "1", NULL};
    if (webt_start(&s, extra)) { webt_cleanup(&s); SKIP("server did not start (models missing?)"); }
    webt_resp r;
    CHECK(webt_req(s.port, "GET", "/", NULL, NULL, 0, &r) == 0 && r.status == 200);
    int scripts = 0;
    for (const char *p = r.body; (p = strstr(p, "<script")); p += 7, scripts++) {
        const char *end = strchr(p, '>');
        CHECK(end);
        CHECK_MSG(memmem(p, (size_t)(end - p), " src=\"/", 7), "inline script: %.80s", p);
        CHECK_MSG(!strncmp(end + 1, "</script>", 9), "script element with a body: %.80s", p);
    }
    CHECK(scripts == 1);
    CHECK_MSG(!strstr(r.body, "<style") && !strstr(r.body, " style="), "inline style in the page");
    for (const char *p = r.body; (p = strstr(p, " on")); p += 3) {
        const char *q = p + 3;
        while (*q >= 'a' && *q <= 'z') q++;
        CHECK_MSG(!(q > p + 3 && *q == '='), "event handler attribute: %.40s", p);
    }
    CHECK_MSG(!strstr(r.body, "http://") && !strstr(r.body, "https://") && !strstr(r.body, "src=\"//"),
              "the page loads something from another origin");
    webt_resp_free(&r);
    CHECK(webt_req(s.port, "GET", "/app.js", NULL, NULL, 0, &r) == 0 && r.status == 200);
    /* no eval-like sinks, no HTML built from strings (result fields go to textContent) */
    CHECK(!strstr(r.body, "eval(") && !strstr(r.body, "new Function") && !strstr(r.body, "document.write") &&
          !strstr(r.body, "insertAdjacentHTML") && !strstr(r.body, "outerHTML"));
    for (const char *p = r.body; (p = strstr(p, "innerHTML")); p += 9)
        CHECK_MSG(!strncmp(p, "innerHTML=''", 12), "innerHTML set to something other than '': %.60s", p);
    webt_resp_free(&r);
    CHECK(webt_stop(&s) == 0);
    webt_cleanup(&s);
}

TEST(no_path_traversal) {
    if (!webt_bin()) SKIP("FS_BIN or samples/face.jpg missing");
    webt_server s;
    const char *extra[] = {"--threads", "1", NULL};
    if (webt_start(&s, extra)) { webt_cleanup(&s); SKIP("server did not start (models missing?)"); }
    static const char *paths[] = {
        "/../../etc/passwd",
        "/../../../../../../../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%2E%2E/%2E%2E/etc/passwd",
        "/..%2f..%2fetc%2fpasswd",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/..%252f..%252fetc%252fpasswd",
        "/%252e%252e/%252e%252e/etc/passwd",
        "/..\\..\\etc\\passwd",
        "/..%5c..%5cetc%5cpasswd",
        "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
        "/.%2e/.%2e/etc/passwd",
        "//etc/passwd",
        "/etc/passwd",
        "/app.js/../../../etc/passwd",
        "/static/../../etc/passwd",
        "/api/v1/results/../../../../etc/passwd",
        "/api/v1/results/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/./././etc/passwd",
        "/index.html/../../etc/passwd",
        "/facescore.db",
        "/r.db",
        "/proc/self/environ",
        "/.git/config",
        "/src/web/api.c",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        webt_resp r;
        CHECK_MSG(webt_req(s.port, "GET", paths[i], NULL, NULL, 0, &r) == 0, "%s: no response", paths[i]);
        CHECK_MSG((r.status == 404 && webt_json_error(&r, "not_found")) || (r.status == 400 && r.closed),
                  "%s: %d %s", paths[i], r.status, r.body);
        CHECK_MSG(!r.body || (!strstr(r.body, "root:") && !strstr(r.body, "SQLite") && !strstr(r.body, "PATH=") &&
                              !strstr(r.body, "[core]") && !strstr(r.body, "#include")),
                  "%s leaked a file: %.200s", paths[i], r.body);
        webt_resp_free(&r);
    }
    CHECK(webt_stop(&s) == 0);
    webt_cleanup(&s);
}

/* nothing a client sends comes back as markup: error bodies are JSON with fixed messages, and any
 * echoed text (the method in a 405) has < > & escaped */
TEST(no_reflected_input) {
    if (!webt_bin()) SKIP("FS_BIN or samples/face.jpg missing");
    webt_server s;
    if (start_with_token(&s)) { webt_cleanup(&s); SKIP("server did not start (models missing?)"); }
    size_t ml;
    unsigned char *mp = webt_multipart("image", "<script>alert(1)</script>.jpg", "GIF89a<script>", 14, &ml);
    CHECK(mp);
    struct { const char *method, *path, *headers; const void *body; size_t len; } cases[] = {
        {"GET", "/<script>alert(1)</script>", "Accept: text/html\r\n", NULL, 0},
        {"GET", "/%3Cscript%3Ealert(1)%3C/script%3E", "Accept: text/html\r\n", NULL, 0},
        {"GET", "/api/v1/results/%3Cimg%20src=x%20onerror=alert(1)%3E", NULL, NULL, 0},
        {"GET", "/api/v1/results?limit=%3Cscript%3E", "Authorization: Bearer " TOKEN "\r\n", NULL, 0},
        {"GET", "/api/v1/results?before=<b>1</b>", "Authorization: Bearer " TOKEN "\r\n", NULL, 0},
        {"GET", "/api/v1/results", "Authorization: Bearer <script>alert(1)</script>\r\n", NULL, 0},
        {"POST", "/api/v1/score", "Content-Type: text/html<script>\r\n", "<script>", 8},
        {"POST", "/api/v1/score", "Content-Type: image/jpeg\r\n", "<html><script>alert(1)</script>", 31},
        {"POST", "/api/v1/score", WEBT_MP_CT, mp, ml},
        {"DELETE", "/<script>", NULL, NULL, 0},
        {"X<b>Y</b>", "/api/v1/score", NULL, NULL, 0},
        {"PUT<script>", "/healthz", NULL, NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        webt_resp r;
        int rc = webt_req(s.port, cases[i].method, cases[i].path, cases[i].headers, cases[i].body, cases[i].len, &r);
        CHECK_MSG(rc == 0 || r.closed, "%s %s: no response", cases[i].method, cases[i].path);
        if (rc == 0) {
            char ct[128] = "";
            webt_header(&r, "Content-Type", ct, sizeof ct);
            CHECK_MSG(r.status >= 400, "%s %s: %d", cases[i].method, cases[i].path, r.status);
            if (r.status != 400 || !strncmp(ct, "application/json", 16)) /* MHD's own 400 for a bad method */
                CHECK_MSG(!strncmp(ct, "application/json", 16), "%s %s: %s", cases[i].method, cases[i].path, ct);
            CHECK_MSG(!strpbrk(r.body, "<>"), "%s %s: markup in the response: %s", cases[i].method, cases[i].path,
                      r.body);
            CHECK_MSG(!strstr(r.body, "alert") && !strstr(r.body, "onerror"), "%s %s reflected: %s", cases[i].method,
                      cases[i].path, r.body);
        }
        webt_resp_free(&r);
    }
    free(mp);
    CHECK(webt_alive(&s) && webt_healthy(s.port));
    /* the access log: one line per request whatever the path holds (no forged lines from CR/LF) */
    webt_resp r;
    CHECK(webt_req(s.port, "GET", "/x%0d%0ats=forged%20status=200%0a", NULL, NULL, 0, &r) == 0 && r.status == 404);
    webt_resp_free(&r);
    CHECK(webt_stop(&s) == 0);
    size_t ll;
    char *log = (char *)fs_test_read_file(s.log, &ll);
    CHECK(log);
    CHECK_MSG(!strstr(log, "\nts=forged"), "log line injected:\n%s", log);
    CHECK(strstr(log, "path=\"/x??ts=forged"));
    free(log);
    webt_cleanup(&s);
}

/* the admin token: only the exact token opens the history (the comparison is constant-time, by
 * SHA-256 digests; this checks the accept/refuse side) */
TEST(admin_token_accepted_only_whole) {
    if (!webt_bin()) SKIP("FS_BIN or samples/face.jpg missing");
    webt_server s;
    if (start_with_token(&s)) { webt_cleanup(&s); SKIP("server did not start (models missing?)"); }
    static const char *bad[] = {
        "Authorization: Bearer s3cret-admin-token-0123456789abcdeX\r\n", /* last byte differs */
        "Authorization: Bearer X3cret-admin-token-0123456789abcdef\r\n", /* first byte differs */
        "Authorization: Bearer s3cret-admin-token-0123456789abcde\r\n",  /* prefix */
        "Authorization: Bearer s3cret-admin-token-0123456789abcdef0\r\n", /* longer */
        "Authorization: Bearer \r\n",
        "Authorization: Bearer\r\n",
        "Authorization: Basic czNjcmV0LWFkbWluLXRva2VuLTAxMjM0NTY3ODlhYmNkZWY=\r\n",
        "Authorization: s3cret-admin-token-0123456789abcdef\r\n",
        "X-Token: s3cret-admin-token-0123456789abcdef\r\n",
        NULL,
    };
    webt_resp r;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(webt_req(s.port, "GET", "/api/v1/results", bad[i], NULL, 0, &r) == 0);
        CHECK_MSG(r.status == 401 && webt_json_error(&r, "unauthorized"), "%s: %d", bad[i] ? bad[i] : "(none)", r.status);
        char v[128];
        CHECK(!webt_header(&r, "WWW-Authenticate", v, sizeof v) && !strncmp(v, "Bearer", 6));
        webt_resp_free(&r);
    }
    CHECK(webt_req(s.port, "GET", "/api/v1/results", "Authorization: Bearer " TOKEN "\r\n", NULL, 0, &r) == 0);
    CHECK_MSG(r.status == 200 && strstr(r.body, "{\"results\":["), "%d %s", r.status, r.body);
    webt_resp_free(&r);
    CHECK(webt_stop(&s) == 0);
    webt_cleanup(&s);
}
