/* tests/web/webt.c — see webt.h. */
#include "webt.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../test.h"

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

const char *webt_bin(void) {
    const char *b = getenv("FS_BIN");
    return b && fs_test_exists(b) && fs_test_exists("samples/face.jpg") ? b : NULL;
}

int webt_start(webt_server *s, const char *const *extra) {
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/fs_web_hard_XXXXXX");
    if (!mkdtemp(s->dir)) return -1;
    snprintf(s->db, sizeof s->db, "%s/r.db", s->dir);
    snprintf(s->log, sizeof s->log, "%s/log", s->dir);
    int fd[2];
    if (pipe(fd)) return -1;
    const char *argv[24] = {webt_bin(), "serve", "--listen", "127.0.0.1:0", "--db", s->db};
    int n = 6;
    for (int i = 0; extra && extra[i] && n < 22; i++) argv[n++] = extra[i];
    argv[n] = NULL;
    s->pid = fork();
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a test that fails half-way leaves no server behind */
        dup2(fd[1], 1);
        int lf = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (lf >= 0) dup2(lf, 2);
        close(fd[0]);
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

int webt_alive(webt_server *s) {
    if (s->pid <= 0) return 0;
    int st;
    return waitpid(s->pid, &st, WNOHANG) == 0;
}

int webt_stop(webt_server *s) {
    if (s->pid <= 0) return -1;
    kill(s->pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 1500; i++) {
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) { s->pid = 0; return WIFEXITED(st) ? WEXITSTATUS(st) : -1; }
        usleep(20000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    s->pid = 0;
    return -1;
}

void webt_cleanup(webt_server *s) {
    if (s->pid > 0) { kill(s->pid, SIGKILL); waitpid(s->pid, NULL, 0); s->pid = 0; }
    if (!s->dir[0]) return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
    if (system(cmd)) { /* best effort */ }
}

void webt_resp_free(webt_resp *r) {
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof *r);
}

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) { close(fd); return -1; }
    return fd;
}

/* splits buf (n bytes) into status, head and body; 0 when a status line and the header end are there */
static int parse(char *buf, size_t n, webt_resp *out) {
    buf[n] = 0;
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1) { out->status = 0; return -1; }
    size_t hlen = (size_t)(sep - buf);
    out->head = strndup(buf, hlen);
    out->body_len = n - hlen - 4;
    out->body = malloc(out->body_len + 1);
    if (!out->head || !out->body) return -1;
    memcpy(out->body, sep + 4, out->body_len);
    out->body[out->body_len] = 0;
    return 0;
}

/* Content-Length of a (partial) response in buf, -1 if none yet */
static long want_body(const char *buf) {
    const char *sep = strstr(buf, "\r\n\r\n");
    if (!sep) return -1;
    for (const char *p = buf; p && p < sep; p = strstr(p, "\r\n"), p = p ? p + 2 : NULL)
        if (!strncasecmp(p, "Content-Length:", 15)) return atol(p + 15);
    return -1;
}

/* reads into a growing buffer until close, a complete response, or the deadline */
static int read_resp(int fd, double t0, int timeout_ms, webt_resp *out) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf) return -1;
    buf[0] = 0;
    for (;;) {
        int left = timeout_ms - (int)(now_ms() - t0);
        if (left <= 0) break;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, left) <= 0) break;
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) break;
            buf = nb;
            cap *= 2;
        }
        ssize_t k = recv(fd, buf + n, cap - 1 - n, 0);
        if (k <= 0) { out->closed = 1; break; }
        n += (size_t)k;
        buf[n] = 0;
        long cl = want_body(buf);
        const char *sep = strstr(buf, "\r\n\r\n");
        if (cl >= 0 && sep && n - (size_t)(sep + 4 - buf) >= (size_t)cl) break;
    }
    out->ms = now_ms() - t0;
    int rc = parse(buf, n, out);
    free(buf);
    return rc;
}

static int send_all(int fd, const void *p, size_t len) {
    for (size_t off = 0; off < len;) {
        ssize_t k = send(fd, (const char *)p + off, len - off, MSG_NOSIGNAL);
        if (k <= 0) return -1;
        off += (size_t)k;
    }
    return 0;
}

int webt_req(int port, const char *method, const char *path, const char *headers, const void *body, size_t len,
             webt_resp *out) {
    memset(out, 0, sizeof *out);
    int fd = connect_to(port);
    if (fd < 0) return -1;
    double t0 = now_ms();
    char head[2048];
    int hl = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s", method, path,
                      headers ? headers : "");
    int has_cl = headers && strcasestr(headers, "Content-Length:");
    if (!has_cl && (body || !strcmp(method, "POST"))) hl += snprintf(head + hl, sizeof head - (size_t)hl, "Content-Length: %zu\r\n", len);
    hl += snprintf(head + hl, sizeof head - (size_t)hl, "\r\n");
    /* a server may answer (413) and close before the whole body is sent: still read its answer */
    if (send_all(fd, head, (size_t)hl) == 0 && len) send_all(fd, body, len);
    int rc = read_resp(fd, t0, 60000, out);
    close(fd);
    return rc;
}

int webt_raw(int port, const void *bytes, size_t len, int timeout_ms, webt_resp *out) {
    memset(out, 0, sizeof *out);
    int fd = connect_to(port);
    if (fd < 0) return -1;
    double t0 = now_ms();
    send_all(fd, bytes, len);
    int rc = read_resp(fd, t0, timeout_ms, out);
    close(fd);
    return rc;
}

int webt_header(const webt_resp *r, const char *name, char *out, size_t cap) {
    if (!r->head) return -1;
    size_t nl = strlen(name);
    for (const char *p = r->head; p; p = strstr(p, "\r\n"), p = p ? p + 2 : NULL) {
        if (!strncasecmp(p, name, nl) && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ') v++;
            size_t vl = strcspn(v, "\r\n");
            if (vl + 1 > cap) vl = cap - 1;
            memcpy(out, v, vl);
            out[vl] = 0;
            return 0;
        }
    }
    return -1;
}

int webt_json_error(const webt_resp *r, const char *code) {
    char ct[128], want[96];
    if (!r->body || webt_header(r, "Content-Type", ct, sizeof ct) || strncmp(ct, "application/json", 16)) return 0;
    snprintf(want, sizeof want, "{\"error\":{\"code\":\"%s\",\"message\":\"", code);
    return !strncmp(r->body, want, strlen(want));
}

int webt_healthy(int port) {
    webt_resp r;
    int ok = webt_req(port, "GET", "/healthz", NULL, NULL, 0, &r) == 0 && r.status == 200 && r.body &&
             strstr(r.body, "\"status\":\"ok\"");
    webt_resp_free(&r);
    return ok;
}

unsigned char *webt_multipart(const char *field, const char *filename, const void *data, size_t len, size_t *out_len) {
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "--XbOuNdArY\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                      "Content-Type: image/jpeg\r\n\r\n", field, filename);
    const char *tail = "\r\n--XbOuNdArY--\r\n";
    size_t tl = strlen(tail);
    unsigned char *b = malloc((size_t)hl + len + tl);
    if (!b) return NULL;
    memcpy(b, head, (size_t)hl);
    if (len) memcpy(b + hl, data, len);
    memcpy(b + hl + len, tail, tl);
    *out_len = (size_t)hl + len + tl;
    return b;
}
