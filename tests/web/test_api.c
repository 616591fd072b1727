/* tests/web/test_api.c — `facescore serve` over real HTTP on loopback: the server is a child of
 * FS_BIN (set by `make test`) on a free port; a tiny HTTP/1.1 client below talks to it. Skipped when
 * FS_BIN or the models are absent. The tests that touch the result store run twice: on SQLite (a temp
 * file) and, as pg_*, on PostgreSQL when FS_TEST_PG_URL is set (scripts/ci-postgres.sh prints one), each
 * in a fresh schema of its own (search_path), dropped at the end. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../test.h"
#include "facescore.h"

typedef struct {
    pid_t pid;
    int port;
    char dir[64], db[600], log[96]; /* db: SQLite file or postgresql:// URL (the --db value) */
} server;

/* --db of the test being run: NULL = a SQLite file in the server's temp dir (see BOTH_BACKENDS) */
static const char *g_db;
static pid_t g_live;     /* server started and not yet stopped: killed after a failed CHECK */
static char g_dir[64];   /* its temp dir, until cleanup() */

static int is_pg(const server *s) { return !strncmp(s->db, "postgresql://", 13); }

typedef struct {
    int status;
    char *head, *body; /* malloc'ed, NUL-terminated */
    size_t body_len;
} resp;

static const char *bin(void) {
    const char *b = getenv("FS_BIN");
    return b && fs_test_exists(b) && fs_test_exists("samples/face.jpg") ? b : NULL;
}

/* Starts `FS_BIN serve --listen LISTEN --db DB EXTRA...` (DB: g_db, else DIR/r.db); 0 ok, -1 (skip) when
 * it does not come up (no models). queue: FS_SERVE_QUEUE, -1 = default. */
static int start_at(server *s, const char *listen, int queue, const char *const *extra) {
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/fs_web_api_XXXXXX");
    if (!mkdtemp(s->dir)) return -1;
    snprintf(g_dir, sizeof g_dir, "%s", s->dir);
    if (g_db) snprintf(s->db, sizeof s->db, "%s", g_db);
    else snprintf(s->db, sizeof s->db, "%s/r.db", s->dir);
    snprintf(s->log, sizeof s->log, "%s/log", s->dir);
    int fd[2];
    if (pipe(fd)) return -1;
    const char *argv[24] = {bin(), "serve", "--listen", listen, "--db", s->db};
    int n = 6;
    for (int i = 0; extra && extra[i] && n < 22; i++) argv[n++] = extra[i];
    argv[n] = NULL;
    s->pid = fork();
    if (s->pid == 0) {
        dup2(fd[1], 1);
        int lf = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (lf >= 0) dup2(lf, 2);
        close(fd[0]);
        if (queue >= 0) { char q[16]; snprintf(q, sizeof q, "%d", queue); setenv("FS_SERVE_QUEUE", q, 1); }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fd[1]);
    char line[512];
    size_t len = 0;
    struct pollfd p = {fd[0], POLLIN, 0};
    while (len + 1 < sizeof line && poll(&p, 1, 60000) > 0) {
        ssize_t k = read(fd[0], line + len, 1);
        if (k <= 0) break;
        if (line[len++] == '\n') break;
    }
    line[len] = 0;
    close(fd[0]);
    /* "facescore serve: listening on http://127.0.0.1:41234/ ..." or "http://[::1]:41234/ ..." */
    const char *at = strstr(line, "http://"), *slash = at ? strchr(at + 7, '/') : NULL, *colon = NULL;
    for (const char *q = at; q && q < slash; q++)
        if (*q == ':' && q > at + 5) colon = q;
    if (!colon) { kill(s->pid, SIGKILL); waitpid(s->pid, NULL, 0); s->pid = 0; return -1; }
    s->port = atoi(colon + 1);
    g_live = s->pid;
    return s->port > 0 ? 0 : -1;
}

static int start(server *s, int queue, const char *const *extra) { return start_at(s, "127.0.0.1:0", queue, extra); }

/* SIGTERM, wait; returns the exit status (or -1) */
static int stop(server *s) {
    if (s->pid <= 0) return -1;
    g_live = 0;
    kill(s->pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 300; i++) {
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        usleep(20000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    return -1;
}

static void cleanup(server *s) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
    if (system(cmd)) { /* best effort */ }
    g_dir[0] = 0;
}

static void resp_free(resp *r) { free(r->head); free(r->body); memset(r, 0, sizeof *r); }

/* One request on a fresh connection (Connection: close) to 127.0.0.1 (AF_INET) or ::1 (AF_INET6).
 * extra_headers: "Name: v\r\n..." or NULL. */
static int req_at(int family, int port, const char *method, const char *path, const char *extra_headers,
                  const void *body, size_t len, resp *out) {
    memset(out, 0, sizeof *out);
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    if (family == AF_INET6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        a6->sin6_addr = in6addr_loopback;
        sl = sizeof *a6;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof *a;
    }
    struct timeval tv = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&ss, sl)) { close(fd); return -1; }
    char head[1024];
    int hl = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s", method, path,
                      extra_headers ? extra_headers : "", "");
    if (body || !strcmp(method, "POST")) hl += snprintf(head + hl, sizeof head - (size_t)hl, "Content-Length: %zu\r\n", len);
    hl += snprintf(head + hl, sizeof head - (size_t)hl, "\r\n");
    if (send(fd, head, (size_t)hl, MSG_NOSIGNAL) != hl) { close(fd); return -1; }
    for (size_t off = 0; off < len;) {
        ssize_t k = send(fd, (const char *)body + off, len - off, MSG_NOSIGNAL);
        if (k <= 0) break;
        off += (size_t)k;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n + 1 >= cap) { cap *= 2; buf = realloc(buf, cap); }
        ssize_t k = recv(fd, buf + n, cap - 1 - n, 0);
        if (k <= 0) break;
        n += (size_t)k;
    }
    close(fd);
    buf[n] = 0;
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1) { free(buf); return -1; }
    size_t hlen = (size_t)(sep - buf);
    out->head = strndup(buf, hlen);
    out->body_len = n - hlen - 4;
    out->body = malloc(out->body_len + 1);
    memcpy(out->body, sep + 4, out->body_len);
    out->body[out->body_len] = 0;
    free(buf);
    return 0;
}

static int req(int port, const char *method, const char *path, const char *extra_headers, const void *body, size_t len,
               resp *out) {
    return req_at(AF_INET, port, method, path, extra_headers, body, len, out);
}

static int count(const char *s, const char *sub) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, sub)); p += strlen(sub)) n++;
    return n;
}

/* "code" of {"error":{"code":"..."}} equals want */
static int err_is(const resp *r, const char *want) {
    char pat[64];
    snprintf(pat, sizeof pat, "{\"error\":{\"code\":\"%s\",\"message\":\"", want);
    return r->body && strstr(r->body, pat) != NULL;
}

/* multipart body with one field */
static unsigned char *multipart(const char *field, const void *data, size_t len, size_t *out_len) {
    const char *pre = "--BOUNDARYx7\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"p.jpg\"\r\n"
                      "Content-Type: image/jpeg\r\n\r\n";
    char head[256];
    int hl = snprintf(head, sizeof head, pre, field);
    const char *tail = "\r\n--BOUNDARYx7--\r\n";
    *out_len = (size_t)hl + len + strlen(tail);
    unsigned char *b = malloc(*out_len);
    memcpy(b, head, (size_t)hl);
    memcpy(b + hl, data, len);
    memcpy(b + hl + len, tail, strlen(tail));
    return b;
}

#define MP_CT "Content-Type: multipart/form-data; boundary=BOUNDARYx7\r\n"

/* value of a Prometheus sample line "name value" (-1 if absent) */
static double metric(const char *text, const char *name) {
    size_t nl = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, name, nl) && p[nl] == ' ') return atof(p + nl + 1);
    return -1;
}

/* ---------------------------------------------------------------- the result store, both backends */

static const char *pg_url(void) {
    const char *u = getenv("FS_TEST_PG_URL");
    return u && *u ? u : NULL;
}

/* One SQL statement (no result rows) on the server's store, from a connection of the test's own. 0 ok. */
static int db_exec(const server *s, const char *sql) {
    if (is_pg(s)) {
        PGconn *c = PQconnectdb(s->db);
        PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
        int ok = r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
        if (!ok) fprintf(stderr, "db_exec %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        return ok ? 0 : -1;
    }
    sqlite3 *h;
    int rc = sqlite3_open_v2(s->db, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
             sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK;
    if (!rc) fprintf(stderr, "db_exec %s: %s\n", sql, sqlite3_errmsg(h));
    sqlite3_close(h);
    return rc ? 0 : -1;
}

/* Number of rows of the results table with this id that satisfy cond (SQLite or PostgreSQL syntax), -1 on error. */
static int db_count(const server *s, const char *id, const char *lite_cond, const char *pg_cond) {
    char sql[512];
    int n = -1;
    if (is_pg(s)) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM results WHERE id = $1 AND (%s)", pg_cond);
        PGconn *c = PQconnectdb(s->db);
        const char *v[1] = {id};
        PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexecParams(c, sql, 1, NULL, v, NULL, NULL, 0) : NULL;
        if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) n = atoi(PQgetvalue(r, 0, 0));
        else fprintf(stderr, "db_count: %s", PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        return n;
    }
    sqlite3 *h;
    if (sqlite3_open_v2(s->db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) { sqlite3_close(h); return -1; }
    snprintf(sql, sizeof sql, "SELECT count(*) FROM results WHERE id = ? AND (%s)", lite_cond);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return n;
}

/* A fresh schema for one PostgreSQL test: url = FS_TEST_PG_URL with search_path set to it and the schema's
 * name as application_name (so that dropping "our" connections never touches another run's). 0 ok; -1 (test
 * failed) when PostgreSQL does not answer. */
static int pg_schema_create(char *url, size_t cap, char *schema, size_t scap) {
    snprintf(schema, scap, "fs_api_%d_%ld", (int)getpid(), (long)(time(NULL) % 1000000));
    PGconn *c = PQconnectdb(pg_url());
    char sql[200];
    snprintf(sql, sizeof sql, "SET client_min_messages TO warning; DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s",
             schema, schema);
    PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) fs_test_fail(__FILE__, __LINE__, "PostgreSQL %s: %s", pg_url(), PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    snprintf(url, cap, "%s%coptions=-csearch_path%%3D%s&application_name=%s", pg_url(), strchr(pg_url(), '?') ? '&' : '?',
             schema, schema);
    return ok ? 0 : -1;
}

static void pg_schema_drop(const char *schema) {
    PGconn *c = PQconnectdb(pg_url());
    char sql[160];
    snprintf(sql, sizeof sql, "SET client_min_messages TO warning; DROP SCHEMA IF EXISTS %s CASCADE", schema);
    if (PQstatus(c) == CONNECTION_OK) PQclear(PQexec(c, sql));
    PQfinish(c);
}

/* after a test body: the server a failed CHECK left running, and its temp dir */
static void after_test(void) {
    if (g_live > 0) { kill(g_live, SIGKILL); waitpid(g_live, NULL, 0); g_live = 0; }
    if (g_dir[0]) { server t; snprintf(t.dir, sizeof t.dir, "%s", g_dir); cleanup(&t); }
}

/* BOTH_BACKENDS(name) { body }: TEST(name) runs the body on SQLite, TEST(pg_name) on PostgreSQL (a fresh
 * schema; skipped without FS_TEST_PG_URL). start() picks the store from g_db. */
#define BOTH_BACKENDS(name)                                                                  \
    static void name##_on(void);                                                             \
    TEST(name) {                                                                             \
        g_db = NULL;                                                                         \
        name##_on();                                                                         \
        after_test();                                                                        \
    }                                                                                        \
    TEST(pg_##name) {                                                                        \
        char url_[600], schema_[64];                                                         \
        if (!pg_url()) SKIP("FS_TEST_PG_URL not set (scripts/ci-postgres.sh prints one)");   \
        if (pg_schema_create(url_, sizeof url_, schema_, sizeof schema_)) return;            \
        g_db = url_;                                                                         \
        name##_on();                                                                         \
        after_test();                                                                        \
        pg_schema_drop(schema_);                                                             \
    }                                                                                        \
    static void name##_on(void)

BOTH_BACKENDS(errors_and_static_routes) {
    if (!bin()) SKIP("FS_BIN or samples/face.jpg missing");
    server s;
    const char *extra[] = {"--threads", "1", "--max-upload", "64KB", NULL};
    if (start(&s, -1, extra)) { cleanup(&s); SKIP("server did not start (models missing?)"); }
    resp r;
    CHECK(req(s.port, "GET", "/healthz", NULL, NULL, 0, &r) == 0 && r.status == 200 && strstr(r.body, "\"ok\""));
    resp_free(&r);
    CHECK(req(s.port, "GET", "/", NULL, NULL, 0, &r) == 0 && r.status == 200);
    CHECK(strstr(r.head, "Content-Security-Policy: default-src 'self'") && strstr(r.head, "X-Content-Type-Options: nosniff"));
    CHECK(strstr(r.body, "capture=\"user\"") && strstr(r.body, "accept=\"image/*\"") && strstr(r.body, "/app.js") &&
          !strstr(r.body, "<script>") && !strstr(r.body, "<style"));
    resp_free(&r);
    CHECK(req(s.port, "GET", "/app.js", NULL, NULL, 0, &r) == 0 && r.status == 200 && strstr(r.head, "text/javascript") &&
          strstr(r.body, "/api/v1/score"));
    resp_free(&r);
    CHECK(req(s.port, "GET", "/app.css", NULL, NULL, 0, &r) == 0 && r.status == 200 && strstr(r.head, "text/css"));
    resp_free(&r);
    CHECK(req(s.port, "GET", "/nope", NULL, NULL, 0, &r) == 0 && r.status == 404 && err_is(&r, "not_found"));
    resp_free(&r);
    CHECK(req(s.port, "GET", "/api/v1/score", NULL, NULL, 0, &r) == 0 && r.status == 405 && strstr(r.head, "Allow: POST") &&
          err_is(&r, "method_not_allowed"));
    resp_free(&r);
    CHECK(req(s.port, "POST", "/healthz", NULL, "x", 1, &r) == 0 && r.status == 405 && strstr(r.head, "Allow: GET"));
    resp_free(&r);
    size_t jl;
    unsigned char *jpg = fs_test_read_file("samples/face.jpg", &jl);
    CHECK(jpg && jl > 20000);
    /* wrong content type */
    CHECK(req(s.port, "POST", "/api/v1/score", "Content-Type: text/plain\r\n", jpg, 100, &r) == 0 && r.status == 415 &&
          err_is(&r, "unsupported_media_type"));
    resp_free(&r);
    CHECK(req(s.port, "POST", "/api/v1/score", NULL, jpg, 100, &r) == 0 && r.status == 415); /* no content type */
    resp_free(&r);
    /* 0-byte upload, raw and multipart */
    CHECK(req(s.port, "POST", "/api/v1/score", "Content-Type: image/jpeg\r\n", "", 0, &r) == 0 && r.status == 400 &&
          err_is(&r, "empty_image"));
    resp_free(&r);
    size_t ml;
    unsigned char *mp = multipart("image", "", 0, &ml);
    CHECK(req(s.port, "POST", "/api/v1/score", MP_CT, mp, ml, &r) == 0 && r.status == 400 && err_is(&r, "empty_image"));
    resp_free(&r);
    free(mp);
    /* truncated JPEG (20000 of its bytes), raw and multipart */
    CHECK(req(s.port, "POST", "/api/v1/score", "Content-Type: image/jpeg\r\n", jpg, 20000, &r) == 0 && r.status == 422 &&
          err_is(&r, "bad_image"));
    resp_free(&r);
    mp = multipart("image", jpg, 20000, &ml);
    CHECK(req(s.port, "POST", "/api/v1/score", MP_CT, mp, ml, &r) == 0 && r.status == 422 && err_is(&r, "bad_image"));
    resp_free(&r);
    free(mp);
    /* not an image at all */
    CHECK(req(s.port, "POST", "/api/v1/score", "Content-Type: image/png\r\n", "hello world", 11, &r) == 0 && r.status == 422);
    resp_free(&r);
    /* over the 64 KB limit (face.jpg is 70 KB), raw and multipart */
    CHECK(req(s.port, "POST", "/api/v1/score", "Content-Type: image/jpeg\r\n", jpg, jl, &r) == 0 && r.status == 413 &&
          err_is(&r, "too_large"));
    resp_free(&r);
    mp = multipart("image", jpg, jl, &ml);
    CHECK(req(s.port, "POST", "/api/v1/score", MP_CT, mp, ml, &r) == 0 && r.status == 413);
    resp_free(&r);
    free(mp);
    /* malformed multipart: no boundary parameter, body without closing delimiter, wrong field */
    mp = multipart("image", jpg, 1000, &ml);
    CHECK(req(s.port, "POST", "/api/v1/score", "Content-Type: multipart/form-data\r\n", mp, ml, &r) == 0 &&
          r.status == 400 && err_is(&r, "bad_multipart"));
    resp_free(&r);
    CHECK(req(s.port, "POST", "/api/v1/score", MP_CT, mp, ml - 18, &r) == 0 && r.status == 400 && err_is(&r, "bad_multipart"));
    resp_free(&r);
    CHECK(req(s.port, "POST", "/api/v1/score", MP_CT, "garbage", 7, &r) == 0 && r.status == 400);
    resp_free(&r);
    free(mp);
    mp = multipart("photo", jpg, 1000, &ml);
    CHECK(req(s.port, "POST", "/api/v1/score", MP_CT, mp, ml, &r) == 0 && r.status == 400 && err_is(&r, "missing_image"));
    resp_free(&r);
    free(mp);
    free(jpg);
    /* results: bad id, unknown id, wrong method; history disabled without a token file */
    CHECK(req(s.port, "GET", "/api/v1/results/xyz", NULL, NULL, 0, &r) == 0 && r.status == 404);
    resp_free(&r);
    CHECK(req(s.port, "GET", "/api/v1/results/0123456789abcdef0123456789abcdef", NULL, NULL, 0, &r) == 0 && r.status == 404);
    resp_free(&r);
    CHECK(req(s.port, "PUT", "/api/v1/results/0123456789abcdef0123456789abcdef", NULL, "x", 1, &r) == 0 &&
          r.status == 405 && strstr(r.head, "Allow: GET, DELETE"));
    resp_free(&r);
    CHECK(req(s.port, "GET", "/api/v1/results", NULL, NULL, 0, &r) == 0 && r.status == 403);
    resp_free(&r);
    /* metrics counted the errors; one access-log line per request */
    CHECK(req(s.port, "GET", "/metrics", NULL, NULL, 0, &r) == 0 && r.status == 200);
    CHECK(metric(r.body, "facescore_http_requests_total{code=\"413\"}") == 2);
    CHECK(metric(r.body, "facescore_http_requests_total{code=\"422\"}") == 3);
    CHECK(metric(r.body, "facescore_http_requests_total{code=\"400\"}") == 6);
    CHECK(metric(r.body, "facescore_images_scored_total") == 0 && metric(r.body, "facescore_queue_depth") == 0);
    resp_free(&r);
    CHECK(stop(&s) == 0);
    size_t ll;
    char *log = (char *)fs_test_read_file(s.log, &ll);
    if (log && getenv("FS_TEST_VERBOSE")) fputs(log, stderr);
    CHECK(log && count(log, "path=\"/api/v1/score\" status=413") == 2 && count(log, " status=") == 25);
    free(log);
    cleanup(&s);
}

static unsigned char *gray_png(size_t *len) {
    fs_image img;
    if (fs_image_alloc(&img, 64, 48, 3) != FS_OK) return NULL;
    memset(img.data, 128, (size_t)img.stride * 48);
    uint8_t *out = NULL;
    fs_image_encode_png(&img, &out, len);
    fs_image_free(&img);
    return out;
}

BOTH_BACKENDS(score_get_delete_history) {
    if (!bin()) SKIP("FS_BIN or samples/face.jpg missing");
    char tok[64];
    snprintf(tok, sizeof tok, "/tmp/fs_web_tok_%d", (int)getpid());
    FILE *tf = fopen(tok, "w");
    CHECK(tf);
    fputs("s3cret-admin-token-0123456789\n", tf);
    fclose(tf);
    server s;
    const char *extra[] = {"--threads", "1", "--auth-token-file", tok, "--keep-images", NULL};
    if (start(&s, -1, extra)) { unlink(tok); cleanup(&s); SKIP("server did not start (models missing?)"); }
    unlink(tok);
    size_t jl, ml;
    unsigned char *jpg = fs_test_read_file("samples/face.jpg", &jl);
    unsigned char *mp = multipart("image", jpg, jl, &ml);
    resp r;
    CHECK(req(s.port, "POST", "/api/v1/score", MP_CT, mp, ml, &r) == 0 && r.status == 200);
    free(mp);
    CHECK_MSG(count(r.body, "\"box\":[") == 4, "%s", r.body);
    CHECK(strstr(r.body, "\"width\":512,\"height\":355,\"code\":1,") && strstr(r.body, "\"rank_ko\":\"") &&
          strstr(r.body, "\"rank_en\":\"") && strstr(r.body, "\"p_female\":") && strstr(r.body, "\"dist\":[") &&
          strstr(r.body, "\"landmarks\":[[") && strstr(r.body, "\"timings_ms\":{\"queue\":"));
    char id[33] = "";
    const char *ip = strstr(r.body, "\"id\":\"");
    CHECK(ip && sscanf(ip, "\"id\":\"%32[0-9a-f]\"", id) == 1 && strlen(id) == 32);
    char first[33];
    memcpy(first, id, 33);
    resp_free(&r);
    /* a photo without a face (raw PNG body): 200, code 0, [], another id */
    size_t pl;
    unsigned char *png = gray_png(&pl);
    CHECK(png);
    CHECK(req(s.port, "POST", "/api/v1/score", "Content-Type: image/png\r\n", png, pl, &r) == 0 && r.status == 200 &&
          strstr(r.body, "\"code\":0,\"largest\":-1") && strstr(r.body, "\"faces\":[]") && !strstr(r.body, first) &&
          strstr(r.body, "\"id\":\""));
    resp_free(&r);
    free(png);
    free(jpg);
    char path[80];
    snprintf(path, sizeof path, "/api/v1/results/%s", first);
    CHECK(req(s.port, "GET", path, NULL, NULL, 0, &r) == 0 && r.status == 200 && strstr(r.body, first) &&
          count(r.body, "\"box\":[") == 4 && strstr(r.body, "\"image_sha256\":\""));
    resp_free(&r);
    /* history: no token, wrong token, right token; limit and bad query */
    CHECK(req(s.port, "GET", "/api/v1/results", NULL, NULL, 0, &r) == 0 && r.status == 401 && err_is(&r, "unauthorized"));
    resp_free(&r);
    CHECK(req(s.port, "GET", "/api/v1/results", "Authorization: Bearer s3cret-admin-token-012345678\r\n", NULL, 0, &r) == 0 &&
          r.status == 401);
    resp_free(&r);
    const char *auth = "Authorization: Bearer s3cret-admin-token-0123456789\r\n";
    CHECK(req(s.port, "GET", "/api/v1/results?limit=10", auth, NULL, 0, &r) == 0 && r.status == 200 &&
          count(r.body, "\"id\":") == 2 && strstr(r.body, first));
    resp_free(&r);
    CHECK(req(s.port, "GET", "/api/v1/results?limit=1", auth, NULL, 0, &r) == 0 && r.status == 200 &&
          count(r.body, "\"id\":") == 1 && strstr(r.body, "\"next_before\":"));
    resp_free(&r);
    CHECK(req(s.port, "GET", "/api/v1/results?limit=0", auth, NULL, 0, &r) == 0 && r.status == 400);
    resp_free(&r);
    /* --keep-images: face.jpg (which carries an Exif APP1) is stored re-encoded, without it */
    CHECK(db_count(&s, first, "hex(substr(image,1,3))='FFD8FF' AND instr(image,'Exif')=0",
                   "substring(image from 1 for 3) = decode('ffd8ff','hex') AND "
                   "position(convert_to('Exif','UTF8') in image) = 0") == 1);
    /* delete, then 404 */
    CHECK(req(s.port, "DELETE", path, NULL, NULL, 0, &r) == 0 && r.status == 200 && strstr(r.body, first));
    resp_free(&r);
    CHECK(req(s.port, "GET", path, NULL, NULL, 0, &r) == 0 && r.status == 404);
    resp_free(&r);
    CHECK(req(s.port, "DELETE", path, NULL, NULL, 0, &r) == 0 && r.status == 404);
    resp_free(&r);
    CHECK(req(s.port, "GET", "/metrics", NULL, NULL, 0, &r) == 0 && r.status == 200);
    CHECK(metric(r.body, "facescore_faces_scored_total") == 4 && metric(r.body, "facescore_images_scored_total") == 2);
    CHECK(metric(r.body, "facescore_http_requests_total{code=\"200\"}") == 6);
    CHECK(metric(r.body, "facescore_http_request_duration_seconds_count") == 11);
    CHECK(metric(r.body, "facescore_db_errors_total") == 0);
    resp_free(&r);
    CHECK(stop(&s) == 0); /* SIGTERM: clean exit */
    cleanup(&s);
}

typedef struct {
    int port, status, retry_after;
    const unsigned char *body;
    size_t len;
} shot;

static void *fire(void *arg) {
    shot *a = arg;
    resp r;
    if (req(a->port, "POST", "/api/v1/score", "Content-Type: image/jpeg\r\n", a->body, a->len, &r) == 0) {
        a->status = r.status;
        a->retry_after = strstr(r.head, "Retry-After: 1") != NULL;
        resp_free(&r);
    }
    return NULL;
}

BOTH_BACKENDS(queue_full_503) {
    if (!bin()) SKIP("FS_BIN or samples/face.jpg missing");
    server s;
    const char *extra[] = {"--threads", "1", NULL};
    if (start(&s, 0, extra)) { cleanup(&s); SKIP("server did not start (models missing?)"); }
    size_t jl;
    unsigned char *jpg = fs_test_read_file("samples/face.jpg", &jl);
    enum { N = 6 };
    shot a[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        a[i] = (shot){s.port, 0, 0, jpg, jl};
        pthread_create(&th[i], NULL, fire, &a[i]);
    }
    int ok = 0, busy = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        if (a[i].status == 200) ok++;
        if (a[i].status == 503 && a[i].retry_after) busy++;
    }
    free(jpg);
    CHECK_MSG(ok >= 1 && busy >= 1 && ok + busy == N, "%d ok, %d busy of %d", ok, busy, N);
    resp r;
    CHECK(req(s.port, "GET", "/metrics", NULL, NULL, 0, &r) == 0 && r.status == 200);
    CHECK(metric(r.body, "facescore_queue_rejected_total") == busy);
    CHECK(metric(r.body, "facescore_http_requests_total{code=\"503\"}") == busy);
    resp_free(&r);
    CHECK(stop(&s) == 0);
    cleanup(&s);
}

typedef struct {
    int port, status;
    char id[33];
    const unsigned char *body;
    size_t len;
} inflight;

static void *fire_id(void *arg) {
    inflight *a = arg;
    resp r;
    if (req(a->port, "POST", "/api/v1/score", "Content-Type: image/jpeg\r\n", a->body, a->len, &r) == 0) {
        a->status = r.status;
        const char *ip = strstr(r.body, "\"id\":\"");
        if (ip && sscanf(ip, "\"id\":\"%32[0-9a-f]\"", a->id) != 1) a->id[0] = 0;
        resp_free(&r);
    }
    return NULL;
}

#include "web/store.h"

/* SIGTERM while a photo is being scored: the request still gets its 200, the result is in the DB,
 * the process exits 0; afterwards the port is closed */
BOTH_BACKENDS(graceful_shutdown) {
    if (!bin()) SKIP("FS_BIN or samples/face.jpg missing");
    server s;
    const char *extra[] = {"--threads", "1", NULL};
    if (start(&s, -1, extra)) { cleanup(&s); SKIP("server did not start (models missing?)"); }
    size_t jl;
    unsigned char *jpg = fs_test_read_file("samples/face.jpg", &jl);
    inflight a = {s.port, 0, "", jpg, jl};
    pthread_t th;
    pthread_create(&th, NULL, fire_id, &a);
    int busy = 0;
    for (int i = 0; i < 2000 && !busy; i++) { /* until the worker runs it */
        resp r;
        if (req(s.port, "GET", "/healthz", NULL, NULL, 0, &r) == 0) busy = strstr(r.body, "\"running\":1") != NULL;
        resp_free(&r);
        if (!busy) usleep(1000);
    }
    kill(s.pid, SIGTERM);
    pthread_join(th, NULL);
    free(jpg);
    int st = 0;
    CHECK(waitpid(s.pid, &st, 0) == s.pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    s.pid = 0;
    g_live = 0;
    CHECK_MSG(busy && a.status == 200 && strlen(a.id) == 32, "in-flight request: status %d (saw it running: %d)", a.status, busy);
    resp r;
    CHECK(req(s.port, "GET", "/healthz", NULL, NULL, 0, &r) == -1); /* nobody listens any more */
    char err[256];
    web_store *db = web_store_open(s.db, err, sizeof err);
    CHECK_MSG(db, "%s", err);
    web_result g;
    CHECK(web_store_get(db, a.id, &g) == 1 && g.width == 512 && strlen(g.sha256) == 64);
    web_result_clear(&g);
    web_store_close(db);
    CHECK(db_count(&s, a.id, "image IS NULL", "image IS NULL") == 1); /* no --keep-images: no photo stored */
    cleanup(&s);
}

/* a failing result store: 503 db_unavailable with a log line and a counter, never a crash */
BOTH_BACKENDS(db_failure_503) {
    if (!bin()) SKIP("FS_BIN or samples/face.jpg missing");
    setenv("FS_SERVE_TEST_DB_FAIL", "1", 1);
    server s;
    const char *extra[] = {"--threads", "1", NULL};
    int rc = start(&s, -1, extra);
    unsetenv("FS_SERVE_TEST_DB_FAIL");
    if (rc) { cleanup(&s); SKIP("server did not start (models missing?)"); }
    size_t pl;
    unsigned char *png = gray_png(&pl); /* no face: quick to score, still stored */
    resp r;
    CHECK(req(s.port, "POST", "/api/v1/score", "Content-Type: image/png\r\n", png, pl, &r) == 0 && r.status == 503 &&
          err_is(&r, "db_unavailable") && strstr(r.head, "Retry-After:"));
    resp_free(&r);
    free(png);
    CHECK(req(s.port, "GET", "/api/v1/results/0123456789abcdef0123456789abcdef", NULL, NULL, 0, &r) == 0 &&
          r.status == 503 && err_is(&r, "db_unavailable"));
    resp_free(&r);
    CHECK(req(s.port, "DELETE", "/api/v1/results/0123456789abcdef0123456789abcdef", NULL, NULL, 0, &r) == 0 &&
          r.status == 503);
    resp_free(&r);
    CHECK(req(s.port, "GET", "/metrics", NULL, NULL, 0, &r) == 0 && metric(r.body, "facescore_db_errors_total") == 3);
    resp_free(&r);
    CHECK(req(s.port, "GET", "/healthz", NULL, NULL, 0, &r) == 0 && r.status == 200);
    resp_free(&r);
    CHECK(stop(&s) == 0);
    size_t ll;
    char *log = (char *)fs_test_read_file(s.log, &ll);
    CHECK(log && count(log, "db error") == 3);
    free(log);
    cleanup(&s);
}

/* --rate-limit 2: the third photo within a minute from one address gets 429 with Retry-After */
TEST(rate_limit_429) {
    if (!bin()) SKIP("FS_BIN or samples/face.jpg missing");
    server s;
    const char *extra[] = {"--threads", "1", "--rate-limit", "2", NULL};
    if (start(&s, -1, extra)) { cleanup(&s); SKIP("server did not start (models missing?)"); }
    resp r;
    for (int i = 0; i < 2; i++) {
        CHECK(req(s.port, "POST", "/api/v1/score", "Content-Type: text/plain\r\n", "x", 1, &r) == 0 && r.status == 415);
        resp_free(&r);
    }
    CHECK(req(s.port, "POST", "/api/v1/score", "Content-Type: text/plain\r\n", "x", 1, &r) == 0 && r.status == 429 &&
          err_is(&r, "rate_limited"));
    int ra = 0;
    const char *h = strstr(r.head, "Retry-After: ");
    CHECK(h && sscanf(h, "Retry-After: %d", &ra) == 1 && ra >= 1 && ra <= 31); /* one token per 30 s */
    resp_free(&r);
    CHECK(req(s.port, "GET", "/healthz", NULL, NULL, 0, &r) == 0 && r.status == 200); /* other routes unaffected */
    resp_free(&r);
    CHECK(req(s.port, "GET", "/metrics", NULL, NULL, 0, &r) == 0 &&
          metric(r.body, "facescore_http_requests_total{code=\"429\"}") == 1);
    resp_free(&r);
    CHECK(stop(&s) == 0);
    cleanup(&s);
}

/* A transient store failure after the photo was scored (the results table renamed away under the server):
 * 503 db_unavailable with Retry-After and a log line; once the table is back, the same POST again gets a
 * 200 with a fresh id that reads back. On PostgreSQL also: every connection of the server dropped, and the
 * next POST still gets its 200 (the store reconnects). */
BOTH_BACKENDS(db_transient_retry) {
    if (!bin()) SKIP("FS_BIN or samples/face.jpg missing");
    server s;
    const char *extra[] = {"--threads", "1", NULL};
    if (start(&s, -1, extra)) { cleanup(&s); SKIP("server did not start (models missing?)"); }
    size_t pl;
    unsigned char *png = gray_png(&pl);
    CHECK(png);
    resp r;
    CHECK(db_exec(&s, "ALTER TABLE results RENAME TO results_away") == 0);
    CHECK(req(s.port, "POST", "/api/v1/score", "Content-Type: image/png\r\n", png, pl, &r) == 0 && r.status == 503 &&
          err_is(&r, "db_unavailable") && strstr(r.head, "Retry-After:"));
    resp_free(&r);
    CHECK(db_exec(&s, "ALTER TABLE results_away RENAME TO results") == 0);
    char id[33] = "";
    for (int k = 0; k < 2; k++) { /* the retry; on PostgreSQL once more after its connections were dropped */
        if (k == 1) {
            if (!is_pg(&s)) break;
            CHECK(db_exec(&s, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                              "application_name = current_setting('application_name') AND pid <> pg_backend_pid()") == 0);
            usleep(100000);
        }
        CHECK(req(s.port, "POST", "/api/v1/score", "Content-Type: image/png\r\n", png, pl, &r) == 0 && r.status == 200);
        const char *ip = strstr(r.body, "\"id\":\"");
        char prev[33];
        memcpy(prev, id, sizeof id);
        CHECK(ip && sscanf(ip, "\"id\":\"%32[0-9a-f]\"", id) == 1 && strlen(id) == 32 && strcmp(id, prev));
        resp_free(&r);
        char path[80];
        snprintf(path, sizeof path, "/api/v1/results/%s", id);
        CHECK(req(s.port, "GET", path, NULL, NULL, 0, &r) == 0 && r.status == 200 && strstr(r.body, id));
        resp_free(&r);
        CHECK(db_count(&s, id, "code = 0", "code = 0") == 1);
    }
    free(png);
    CHECK(req(s.port, "GET", "/metrics", NULL, NULL, 0, &r) == 0 && metric(r.body, "facescore_db_errors_total") == 1 &&
          metric(r.body, "facescore_http_requests_total{code=\"503\"}") == 1);
    resp_free(&r);
    CHECK(stop(&s) == 0);
    size_t ll;
    char *log = (char *)fs_test_read_file(s.log, &ll);
    CHECK_MSG(log && count(log, "db error: insert") >= 1, "%s", log ? log : "(no log)");
    free(log);
    cleanup(&s);
}

/* 1 if this host can bind the IPv6 loopback */
static int have_ipv6_loopback(void) {
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* `FS_BIN serve --listen L --db DIR/x.db`, which must refuse L: its exit status, stderr in err */
static int serve_refuses(const char *listen, char *err, size_t cap) {
    char dir[] = "/tmp/fs_web_l6_XXXXXX", db[64], log[64];
    if (!mkdtemp(dir)) return -1;
    snprintf(db, sizeof db, "%s/x.db", dir);
    snprintf(log, sizeof log, "%s/err", dir);
    pid_t pid = fork();
    if (pid == 0) {
        int lf = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (lf >= 0) { dup2(lf, 2); dup2(lf, 1); }
        execl(bin(), bin(), "serve", "--listen", listen, "--db", db, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    size_t n;
    char *e = (char *)fs_test_read_file(log, &n);
    snprintf(err, cap, "%s", e ? e : "");
    free(e);
    server t;
    snprintf(t.dir, sizeof t.dir, "%s", dir);
    cleanup(&t);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* --listen [::1]:0 serves over IPv6 only; [::]:0 is dual stack (IPv4 clients too, logged as IPv4);
 * the rate limit applies to IPv6 clients; malformed addresses are refused with a message */
TEST(ipv6_listen) {
    if (!bin()) SKIP("FS_BIN or samples/face.jpg missing");
    if (!have_ipv6_loopback()) SKIP("no IPv6 loopback on this host");
    char err[512];
    CHECK(serve_refuses("[::1:0", err, sizeof err) == 1 && strstr(err, "[IPV6]:PORT"));
    CHECK(serve_refuses("::1:0", err, sizeof err) == 1 && strstr(err, "not an IPv4 address (IPv6: [ADDR]:PORT)"));
    CHECK(serve_refuses("[::g]:0", err, sizeof err) == 1 && strstr(err, "not an IPv6 address"));
    g_db = NULL;
    server s;
    const char *extra[] = {"--threads", "1", "--rate-limit", "3", NULL};
    if (start_at(&s, "[::1]:0", -1, extra)) { cleanup(&s); SKIP("server did not start (models missing?)"); }
    resp r;
    CHECK(req_at(AF_INET6, s.port, "GET", "/healthz", NULL, NULL, 0, &r) == 0 && r.status == 200);
    resp_free(&r);
    CHECK(req_at(AF_INET, s.port, "GET", "/healthz", NULL, NULL, 0, &r) == -1); /* not on 127.0.0.1 */
    size_t pl;
    unsigned char *png = gray_png(&pl);
    CHECK(png);
    CHECK(req_at(AF_INET6, s.port, "POST", "/api/v1/score", "Content-Type: image/png\r\n", png, pl, &r) == 0 &&
          r.status == 200);
    free(png);
    char id[33] = "", path[80];
    const char *ip = strstr(r.body, "\"id\":\"");
    CHECK(ip && sscanf(ip, "\"id\":\"%32[0-9a-f]\"", id) == 1);
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/results/%s", id);
    CHECK(req_at(AF_INET6, s.port, "GET", path, NULL, NULL, 0, &r) == 0 && r.status == 200 && strstr(r.body, id));
    resp_free(&r);
    for (int i = 0; i < 2; i++) { /* photos 2 and 3 of the minute (refused for their type, still counted) */
        CHECK(req_at(AF_INET6, s.port, "POST", "/api/v1/score", "Content-Type: text/plain\r\n", "x", 1, &r) == 0 &&
              r.status == 415);
        resp_free(&r);
    }
    CHECK(req_at(AF_INET6, s.port, "POST", "/api/v1/score", "Content-Type: text/plain\r\n", "x", 1, &r) == 0 &&
          r.status == 429 && err_is(&r, "rate_limited"));
    resp_free(&r);
    CHECK(stop(&s) == 0);
    size_t ll;
    char *log = (char *)fs_test_read_file(s.log, &ll);
    CHECK_MSG(log && count(log, "ip=::1 method=POST path=\"/api/v1/score\" status=200") == 1 &&
              count(log, "status=429") == 1, "%s", log ? log : "(no log)");
    free(log);
    cleanup(&s);
    /* dual stack */
    const char *one[] = {"--threads", "1", NULL};
    if (start_at(&s, "[::]:0", -1, one)) { cleanup(&s); CHECK_MSG(0, "serve --listen [::]:0 did not start"); }
    CHECK(req_at(AF_INET6, s.port, "GET", "/healthz", NULL, NULL, 0, &r) == 0 && r.status == 200);
    resp_free(&r);
    CHECK(req_at(AF_INET, s.port, "GET", "/healthz", NULL, NULL, 0, &r) == 0 && r.status == 200);
    resp_free(&r);
    CHECK(stop(&s) == 0);
    log = (char *)fs_test_read_file(s.log, &ll);
    CHECK_MSG(log && count(log, "ip=::1 method=GET") == 1 && count(log, "ip=127.0.0.1 method=GET") == 1, "%s",
              log ? log : "(no log)");
    free(log);
    cleanup(&s);
}

/* PostgreSQL store: a statement whose connection dropped is retried once. When the INSERT had in fact
 * committed before the drop (simulated: the same row written from another connection just before), the
 * retry finds that row and succeeds instead of failing on the taken id; a different result under the id
 * is still an error, and so is a plain duplicate on a live connection. */
TEST(pg_store_insert_retry_finds_its_row) {
    if (!pg_url()) SKIP("FS_TEST_PG_URL not set (scripts/ci-postgres.sh prints one)");
    char url[600], schema[64], err[256] = "";
    if (pg_schema_create(url, sizeof url, schema, sizeof schema)) return;
    web_store *st = web_store_open(url, err, sizeof err);
    CHECK_MSG(st, "%s", err);
    server t; /* for db_exec on the same schema */
    memset(&t, 0, sizeof t);
    snprintf(t.db, sizeof t.db, "%s", url);
    web_result r;
    memset(&r, 0, sizeof r);
    memset(r.id, 'a', 32);
    r.created_ms = 1795975973968LL;
    memset(r.sha256, 'c', 64);
    r.width = 640; r.height = 480; r.code = 2; r.largest = 0;
    snprintf(r.detector, sizeof r.detector, "yunet");
    snprintf(r.model, sizeof r.model, "scut60.fsh");
    r.faces_json = (char *)"[]";
    r.timings_json = (char *)"{}";
    const char *kill_all = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                           "application_name = current_setting('application_name') AND pid <> pg_backend_pid()";
    char sql[600];
    snprintf(sql, sizeof sql, "INSERT INTO results(id,created_ms,image_sha256,width,height,code,largest,detector,model,"
             "faces_json,timings_json) VALUES('%s',%lld,'%s',640,480,2,0,'yunet','scut60.fsh','[]','{}')",
             r.id, (long long)r.created_ms, r.sha256);
    CHECK(db_exec(&t, sql) == 0 && db_exec(&t, kill_all) == 0);
    usleep(100000);
    CHECK(web_store_put(st, &r, NULL, 0) == 0); /* dropped connection, retry finds its own row */
    web_result g;
    CHECK(web_store_get(st, r.id, &g) == 1 && g.created_ms == r.created_ms && g.width == 640);
    web_result_clear(&g);
    CHECK(web_store_put(st, &r, NULL, 0) == -1); /* live connection: a duplicate id is an error */
    web_result other = r;
    memset(other.sha256, 'd', 64);
    CHECK(db_exec(&t, kill_all) == 0);
    usleep(100000);
    CHECK(web_store_put(st, &other, NULL, 0) == -1); /* dropped connection, but the id holds another result */
    CHECK(db_count(&t, r.id, "1", "image_sha256 LIKE 'c%'") == 1);
    web_store_close(st);
    pg_schema_drop(schema);
}
