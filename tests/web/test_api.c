/* tests/web/test_api.c — `facescore serve` over real HTTP on loopback: the server is a child of
 * FS_BIN (set by `make test`) on a free port; a tiny HTTP/1.1 client below talks to it. Skipped when
 * FS_BIN or the models are absent. */
#include <arpa/inet.h>
#include <fcntl.h>
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
    char dir[64], db[96], log[96];
} server;

typedef struct {
    int status;
    char *head, *body; /* malloc'ed, NUL-terminated */
    size_t body_len;
} resp;

static const char *bin(void) {
    const char *b = getenv("FS_BIN");
    return b && fs_test_exists(b) && fs_test_exists("samples/face.jpg") ? b : NULL;
}

/* Starts `FS_BIN serve --listen 127.0.0.1:0 --db DIR/r.db EXTRA...`; 0 ok, -1 (skip) when it does not
 * come up (no models). queue: FS_SERVE_QUEUE, -1 = default. */
static int start(server *s, int queue, const char *const *extra) {
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/fs_web_api_XXXXXX");
    if (!mkdtemp(s->dir)) return -1;
    snprintf(s->db, sizeof s->db, "%s/r.db", s->dir);
    snprintf(s->log, sizeof s->log, "%s/log", s->dir);
    int fd[2];
    if (pipe(fd)) return -1;
    const char *argv[24] = {bin(), "serve", "--listen", "127.0.0.1:0", "--db", s->db};
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
    const char *at = strstr(line, "127.0.0.1:");
    if (!at) { kill(s->pid, SIGKILL); waitpid(s->pid, NULL, 0); s->pid = 0; return -1; }
    s->port = atoi(at + 10);
    return s->port > 0 ? 0 : -1;
}

/* SIGTERM, wait; returns the exit status (or -1) */
static int stop(server *s) {
    if (s->pid <= 0) return -1;
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
}

static void resp_free(resp *r) { free(r->head); free(r->body); memset(r, 0, sizeof *r); }

/* One request on a fresh connection (Connection: close). extra_headers: "Name: v\r\n..." or NULL. */
static int req(int port, const char *method, const char *path, const char *extra_headers, const void *body, size_t len,
               resp *out) {
    memset(out, 0, sizeof *out);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) { close(fd); return -1; }
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

TEST(errors_and_static_routes) {
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

/* number of rows of the results table whose image column satisfies cond (-1 on error) */
static int image_column(const char *db, const char *cond) {
    sqlite3 *h;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) { sqlite3_close(h); return -1; }
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM results WHERE %s", cond);
    sqlite3_stmt *st;
    int n = -1;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return n;
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

TEST(score_get_delete_history) {
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
    char cond[160];
    snprintf(cond, sizeof cond, "id='%s' AND hex(substr(image,1,3))='FFD8FF' AND instr(image,'Exif')=0", first);
    CHECK(image_column(s.db, cond) == 1);
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

TEST(queue_full_503) {
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
TEST(graceful_shutdown) {
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
    CHECK(image_column(s.db, "image IS NULL") == 1); /* no --keep-images: no photo stored */
    cleanup(&s);
}

/* a failing result store: 503 db_unavailable with a log line and a counter, never a crash */
TEST(db_failure_503) {
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
