/* cli/serve.c — `facescore serve`: the web page, JSON API and result store (src/web/). Runs until
 * SIGTERM or SIGINT, then finishes in-flight requests and closes the DB. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli/cli.h"
#include "facescore.h"
#include "web/server.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: facescore serve [options]\n"
            "  --listen ADDR:PORT     IPv4 or [IPv6] address to bind (default 127.0.0.1:8080; [::1]:8080 IPv6\n"
            "                         loopback; [::]:8080 every address, IPv4 too; port 0 = any free port)\n"
            "  --db PATH|URL          SQLite result store file (default facescore.db), or a postgresql:// URL\n"
            "  --threads N            scoring workers, each with its own models (default 2)\n"
            "  --max-upload SIZE      largest accepted upload, e.g. 10MB, 512KB, 100000 (default 10MB)\n"
            "  --keep-images          also store each photo (re-encoded JPEG, no EXIF)\n"
            "  --no-mirror            score without the mirrored-crop average (~35 %% less CPU, PC 0.902 vs 0.905)\n"
            "  --auth-token-file F    admin bearer token for GET /api/v1/results (history)\n"
            "  --rate-limit N         photos per client address (IPv6: per /64) per minute (default 0 = no limit)\n"
            "  --model FILE           heads file (default: the shipped facescore/scut60.fsh)\n"
            "  --models DIR           folder of the backbone models\n"
            "API: docs/api.md\n\n%s\n", FS_SCORE_DISCLAIMER);
}

/* "10MB" / "512KB" / "100000" -> bytes (1 KB = 1024) */
static int parse_size(const char *v, size_t *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || errno || x <= 0) return -1;
    double mul = 1;
    if (!*end || !strcasecmp(end, "B")) mul = 1;
    else if (!strcasecmp(end, "K") || !strcasecmp(end, "KB")) mul = 1024.0;
    else if (!strcasecmp(end, "M") || !strcasecmp(end, "MB")) mul = 1024.0 * 1024;
    else if (!strcasecmp(end, "G") || !strcasecmp(end, "GB")) mul = 1024.0 * 1024 * 1024;
    else return -1;
    x *= mul;
    if (x < 1 || x > 4.0 * 1024 * 1024 * 1024) return -1;
    *out = (size_t)x;
    return 0;
}

static char *read_token(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "facescore serve: cannot open %s: %s\n", path, strerror(errno)); return NULL; }
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t')) buf[--n] = 0;
    if (n < 16 || strpbrk(buf, " \t\r\n")) {
        fprintf(stderr, "facescore serve: %s: token must be one line of at least 16 characters\n", path);
        return NULL;
    }
    return strdup(buf);
}

int fs_cli_serve(int argc, char **argv) {
    web_config c;
    memset(&c, 0, sizeof c);
    c.threads = 2;
    const char *token_file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!strcmp(a, "--keep-images")) { c.keep_images = 1; continue; }
        if (!strcmp(a, "--no-mirror")) { c.no_mirror = 1; continue; }
        if (!v) { fprintf(stderr, "facescore serve: %s needs a value (or unknown option)\n", a); return 2; }
        i++;
        if (!strcmp(a, "--listen")) c.listen = v;
        else if (!strcmp(a, "--db")) c.db_path = v;
        else if (!strcmp(a, "--threads")) { if (fs_cli_parse_int(a, v, 1, 256, &c.threads)) return 2; }
        else if (!strcmp(a, "--max-upload")) {
            if (parse_size(v, &c.max_upload)) { fprintf(stderr, "facescore serve: bad --max-upload '%s'\n", v); return 2; }
        } else if (!strcmp(a, "--auth-token-file")) token_file = v;
        else if (!strcmp(a, "--rate-limit")) { if (fs_cli_parse_int(a, v, 0, 1000000, &c.rate_limit)) return 2; }
        else if (!strcmp(a, "--model")) c.model = v;
        else if (!strcmp(a, "--models")) c.models = v;
        else { fprintf(stderr, "facescore serve: unknown option '%s'\n", a); return 2; }
    }
    c.queue_cap = 4 * c.threads;
    const char *q = getenv("FS_SERVE_QUEUE"); /* hidden: queue length (tests) */
    if (q && *q) c.queue_cap = atoi(q);
    char *token = NULL;
    if (token_file && !(token = read_token(token_file))) return 2;
    c.token = token;
    /* block the stop signals in every thread; this one waits for them */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* descriptors for the connection limit (1024) plus the DB: lift a low soft limit (1024 under systemd) */
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < 4096) {
        rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 4096 ? rl.rlim_max : 4096;
        if (setrlimit(RLIMIT_NOFILE, &rl)) fprintf(stderr, "facescore serve: cannot raise the descriptor limit\n");
    }
    char err[512];
    web_server *s = web_server_start(&c, err, sizeof err);
    if (!s) {
        fprintf(stderr, "facescore serve: %s\n", err);
        free(token);
        return 1;
    }
    printf("facescore serve: listening on http://%.*s:%d/ (db %s, %d workers, queue %d)\n",
           (int)(strrchr(c.listen ? c.listen : "127.0.0.1:8080", ':') - (c.listen ? c.listen : "127.0.0.1:8080")),
           c.listen ? c.listen : "127.0.0.1:8080", web_server_port(s), c.db_path ? c.db_path : "facescore.db", c.threads,
           c.queue_cap);
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "facescore serve: signal %d, finishing in-flight requests\n", sig);
    web_server_stop(s);
    fprintf(stderr, "facescore serve: stopped\n");
    free(token);
    return 0;
}
