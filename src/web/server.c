/* web/server.c — libmicrohttpd daemon (thread per connection), the scoring worker pool with a
 * bounded queue, Prometheus metrics and the access log. Handlers are in api.c. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "web/web_int.h"

#define WEB_CONN_LIMIT 1024   /* open connections; serve raises RLIMIT_NOFILE to fit */
#define WEB_CONN_TIMEOUT_S 30 /* idle seconds before a connection is closed */

double web_now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* ---------------------------------------------------------------- pool */

static void *worker_main(void *arg) {
    web_worker *w = arg;
    web_server *s = w->srv;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->stop) pthread_cond_wait(&s->cv, &s->mu);
        if (!s->head) break; /* stop and queue drained */
        web_job *j = s->head;
        s->head = j->next;
        if (!s->head) s->tail = NULL;
        s->queued--;
        s->running++;
        pthread_mutex_unlock(&s->mu);
        web_score_job(w, j);
        pthread_mutex_lock(&s->mu);
        s->running--;
        j->done = 1;
        pthread_cond_signal(&j->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int web_pool_run(web_server *s, web_job *j) {
    pthread_mutex_lock(&s->mu);
    /* full: queue_cap jobs waiting beyond those the idle workers are about to take */
    if (s->stop || s->queued >= s->cfg.queue_cap + (s->nworkers - s->running)) {
        pthread_mutex_unlock(&s->mu);
        pthread_mutex_lock(&s->m.mu);
        s->m.rejected++;
        pthread_mutex_unlock(&s->m.mu);
        return -1;
    }
    pthread_cond_init(&j->cv, NULL);
    j->done = 0;
    j->next = NULL;
    j->t_submit = web_now_ms();
    if (s->tail) s->tail->next = j; else s->head = j;
    s->tail = j;
    s->queued++;
    pthread_cond_signal(&s->cv);
    while (!j->done) pthread_cond_wait(&j->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    pthread_cond_destroy(&j->cv);
    return 0;
}

int web_running(web_server *s) {
    pthread_mutex_lock(&s->mu);
    int q = s->running;
    pthread_mutex_unlock(&s->mu);
    return q;
}

int web_queue_depth(web_server *s) {
    pthread_mutex_lock(&s->mu);
    int q = s->queued;
    pthread_mutex_unlock(&s->mu);
    return q;
}

/* ---------------------------------------------------------------- rate limit */

/* 32-bit key of a client address: the IPv4 address (also v4-mapped in IPv6), or a hash of an IPv6 address's
 * /64 prefix (one client usually holds a whole /64); 0 = unknown. */
static uint32_t client_key(const struct sockaddr *sa) {
    if (!sa) return 0;
    if (sa->sa_family == AF_INET) {
        uint32_t ip = ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
        return ip ? ip : 1;
    }
    if (sa->sa_family != AF_INET6) return 0;
    const unsigned char *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    uint32_t h;
    if (IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr)) {
        memcpy(&h, b + 12, 4);
    } else {
        h = 2166136261u; /* FNV-1a of the /64 prefix */
        for (int i = 0; i < 8; i++) h = (h ^ b[i]) * 16777619u;
    }
    return h ? h : 1;
}

/* client address as text: "1.2.3.4", "2001:db8::1" (v4-mapped IPv6 shown as IPv4), "-" if unknown */
static void client_text(const struct sockaddr *sa, char *out, size_t cap) {
    snprintf(out, cap, "-");
    if (sa && sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) inet_ntop(AF_INET, a6->s6_addr + 12, out, (socklen_t)cap);
        else inet_ntop(AF_INET6, a6, out, (socklen_t)cap);
    }
}

/* Token bucket per client address (client_key): rate_limit tokens per minute, burst rate_limit. Slots are
 * found by hash with a short linear probe; a full probe window evicts its stalest bucket. */
int web_rate_check(web_server *s, struct MHD_Connection *c) {
    if (s->cfg.rate_limit <= 0 || !s->rate) return 0;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    uint32_t ip = ci ? client_key(ci->client_addr) : 0;
    if (!ip) return 0;
    double now = web_now_ms(), cap = s->cfg.rate_limit, per_ms = cap / 60000.0;
    uint32_t h = (ip * 2654435761u) % WEB_RATE_SLOTS;
    pthread_mutex_lock(&s->rate_mu);
    web_rate_slot *slot = NULL, *stale = NULL;
    for (int k = 0; k < 8 && !slot; k++) {
        web_rate_slot *e = &s->rate[(h + (uint32_t)k) % WEB_RATE_SLOTS];
        if (e->ip == ip) slot = e;
        else if (!stale || e->ip == 0 || (stale->ip != 0 && e->t < stale->t)) stale = e;
    }
    if (!slot) { slot = stale; slot->ip = ip; slot->tokens = cap; slot->t = now; }
    slot->tokens += (now - slot->t) * per_ms;
    if (slot->tokens > cap) slot->tokens = cap;
    slot->t = now;
    int wait = 0;
    if (slot->tokens >= 1) slot->tokens -= 1;
    else wait = (int)((1 - slot->tokens) / per_ms / 1000.0) + 1;
    pthread_mutex_unlock(&s->rate_mu);
    return wait;
}

/* ---------------------------------------------------------------- metrics */

static const double lat_le[WEB_LAT_BUCKETS] = {5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};

static void metrics_request(web_server *s, int status, double ms) {
    pthread_mutex_lock(&s->m.mu);
    if (status >= 100 && status < 600) s->m.by_status[status]++;
    int b = 0;
    while (b < WEB_LAT_BUCKETS && ms > lat_le[b]) b++;
    s->m.lat_bucket[b]++;
    s->m.lat_sum += ms;
    s->m.lat_count++;
    pthread_mutex_unlock(&s->m.mu);
}

void web_metrics_db_error(web_server *s) {
    pthread_mutex_lock(&s->m.mu);
    s->m.db_errors++;
    pthread_mutex_unlock(&s->m.mu);
}

void web_metrics_faces(web_server *s, int n) {
    pthread_mutex_lock(&s->m.mu);
    s->m.faces += (uint64_t)n;
    s->m.images++;
    pthread_mutex_unlock(&s->m.mu);
}

void web_metrics_text(web_server *s, char **out, size_t *len) {
    FILE *f = open_memstream(out, len);
    if (!f) { *out = NULL; *len = 0; return; }
    int q = web_queue_depth(s);
    pthread_mutex_lock(&s->m.mu);
    fprintf(f, "# HELP facescore_http_requests_total HTTP requests answered, by status code.\n"
               "# TYPE facescore_http_requests_total counter\n");
    for (int i = 100; i < 600; i++)
        if (s->m.by_status[i]) fprintf(f, "facescore_http_requests_total{code=\"%d\"} %llu\n", i,
                                       (unsigned long long)s->m.by_status[i]);
    fprintf(f, "# HELP facescore_http_request_duration_seconds Time from request start to response.\n"
               "# TYPE facescore_http_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (int b = 0; b < WEB_LAT_BUCKETS; b++) {
        cum += s->m.lat_bucket[b];
        fprintf(f, "facescore_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n", lat_le[b] / 1e3,
                (unsigned long long)cum);
    }
    cum += s->m.lat_bucket[WEB_LAT_BUCKETS];
    fprintf(f, "facescore_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    fprintf(f, "facescore_http_request_duration_seconds_sum %.6f\n", s->m.lat_sum / 1e3);
    fprintf(f, "facescore_http_request_duration_seconds_count %llu\n", (unsigned long long)s->m.lat_count);
    fprintf(f, "# HELP facescore_images_scored_total Photos decoded, detected and scored.\n"
               "# TYPE facescore_images_scored_total counter\nfacescore_images_scored_total %llu\n",
            (unsigned long long)s->m.images);
    fprintf(f, "# HELP facescore_faces_scored_total Faces scored.\n"
               "# TYPE facescore_faces_scored_total counter\nfacescore_faces_scored_total %llu\n",
            (unsigned long long)s->m.faces);
    fprintf(f, "# HELP facescore_queue_depth Scoring jobs waiting for a worker.\n"
               "# TYPE facescore_queue_depth gauge\nfacescore_queue_depth %d\n", q);
    fprintf(f, "# HELP facescore_queue_rejected_total Scoring requests refused with 503 (queue full).\n"
               "# TYPE facescore_queue_rejected_total counter\nfacescore_queue_rejected_total %llu\n",
            (unsigned long long)s->m.rejected);
    fprintf(f, "# HELP facescore_db_errors_total Result store failures.\n"
               "# TYPE facescore_db_errors_total counter\nfacescore_db_errors_total %llu\n",
            (unsigned long long)s->m.db_errors);
    pthread_mutex_unlock(&s->m.mu);
    fclose(f);
}

/* ---------------------------------------------------------------- MHD glue */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *data, size_t *size, void **con_cls) {
    web_server *s = cls;
    web_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->t0 = web_now_ms();
        snprintf(r->method, sizeof r->method, "%s", method);
        snprintf(r->path, sizeof r->path, "%s", url);
        *con_cls = r;
        pthread_mutex_lock(&s->mu);
        s->active++;
        pthread_mutex_unlock(&s->mu);
        /* a declared body over the limit: 413 now, without reading (and waiting for) any of it */
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > s->cfg.max_upload) {
            char msg[96];
            snprintf(msg, sizeof msg, "upload larger than the limit of %zu bytes", s->cfg.max_upload);
            r->too_large = 1;
            return web_error(c, r, 413, "too_large", msg);
        }
        return MHD_YES;
    }
    if (*size) { /* body chunk: keep up to max_upload bytes, count (and drop) the rest */
        size_t n = *size;
        r->seen += n;
        if (r->seen > s->cfg.max_upload) {
            r->too_large = 1;
        } else {
            if (r->len + n > r->cap) {
                size_t nc = r->cap ? r->cap : 65536;
                while (nc < r->len + n) nc *= 2;
                unsigned char *nb = realloc(r->body, nc);
                if (!nb) return MHD_NO;
                r->body = nb;
                r->cap = nc;
            }
            memcpy(r->body + r->len, data, n);
            r->len += n;
        }
        *size = 0;
        return MHD_YES;
    }
    return web_route(s, c, r);
}

/* one logfmt line per request on stderr */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    web_server *s = cls;
    web_req *r = *con_cls;
    if (!r) return;
    double ms = web_now_ms() - r->t0;
    char path[128];
    size_t i = 0;
    for (; r->path[i] && i + 1 < sizeof path; i++) {
        unsigned char ch = (unsigned char)r->path[i];
        path[i] = isgraph(ch) && ch != '"' ? (char)ch : '?';
    }
    path[i] = 0;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char ip[INET6_ADDRSTRLEN] = "-";
    if (ci) client_text(ci->client_addr, ip, sizeof ip);
    time_t now = time(NULL);
    struct tm tm;
    char ts[32];
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int status = r->status ? r->status : 0;
    fprintf(stderr, "ts=%s ip=%s method=%.16s path=\"%s\" status=%d bytes_in=%zu ms=%.1f%s\n", ts, ip, r->method, path,
            status, r->seen, ms, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
    if (status) metrics_request(s, status, ms);
    free(r->body);
    free(r);
    *con_cls = NULL;
    pthread_mutex_lock(&s->mu);
    s->active--;
    pthread_mutex_unlock(&s->mu);
}

/* "IPv4:PORT", "localhost:PORT" or "[IPv6]:PORT" -> address; port 0 = any free port. */
static int parse_listen(const char *l, struct sockaddr_storage *a, char *err, size_t cap) {
    const char *colon = strrchr(l, ':');
    char host[64];
    memset(a, 0, sizeof *a);
    if (!colon || (size_t)(colon - l) >= sizeof host) {
        snprintf(err, cap, "--listen %s: want IPV4:PORT or [IPV6]:PORT", l);
        return -1;
    }
    memcpy(host, l, (size_t)(colon - l));
    host[colon - l] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535) { snprintf(err, cap, "--listen %s: bad port", l); return -1; }
    if (host[0] == '[') { /* [IPv6] */
        size_t hl = strlen(host);
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)a;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        if (hl < 3 || host[hl - 1] != ']') { snprintf(err, cap, "--listen %s: want [IPV6]:PORT", l); return -1; }
        host[hl - 1] = 0;
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1) {
            snprintf(err, cap, "--listen %s: '%s' is not an IPv6 address", l, host + 1);
            return -1;
        }
        return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)a;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    if (!strcmp(host, "localhost")) snprintf(host, sizeof host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
        snprintf(err, cap, "--listen %s: '%s' is not an IPv4 address (IPv6: [ADDR]:PORT)", l, host);
        return -1;
    }
    return 0;
}

static void stop_workers(web_server *s) {
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->nworkers; i++) {
        if (s->workers[i].th) pthread_join(s->workers[i].th, NULL);
        fs_detector_free(s->workers[i].det);
        fs_scorer_free(s->workers[i].sc);
    }
    free(s->workers);
    s->workers = NULL;
    s->nworkers = 0;
}

static int open_workers(web_server *s, char *err, size_t cap) {
    s->workers = calloc((size_t)s->cfg.threads, sizeof *s->workers);
    if (!s->workers) { snprintf(err, cap, "out of memory"); return -1; }
    for (int i = 0; i < s->cfg.threads; i++) {
        web_worker *w = &s->workers[i];
        w->srv = s;
        s->nworkers = i + 1;
        fs_scorer_options so;
        fs_scorer_options_default(&so);
        so.model_path = s->cfg.model;
        so.models_dir = s->cfg.models;
        so.no_mirror = s->cfg.no_mirror;
        if (fs_scorer_open(&so, &w->sc) != FS_OK) { snprintf(err, cap, "%s", fs_last_error()); return -1; }
        fs_detector_options dopt;
        fs_detector_options_default(&dopt);
        dopt.type = fs_scorer_detector(w->sc);
        if (fs_detector_open(&dopt, &w->det) != FS_OK) { snprintf(err, cap, "%s", fs_last_error()); return -1; }
        if (pthread_create(&w->th, NULL, worker_main, w)) { w->th = 0; snprintf(err, cap, "cannot start worker"); return -1; }
    }
    snprintf(s->detector, sizeof s->detector, "%s", fs_detector_name(s->workers[0].det));
    snprintf(s->model, sizeof s->model, "%s%s", fs_scorer_model_name(s->workers[0].sc),
             s->cfg.no_mirror ? " (no mirror)" : "");
    return 0;
}

web_server *web_server_start(const web_config *c, char *err, size_t cap) {
    web_server *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, cap, "out of memory"); return NULL; }
    s->cfg = *c;
    if (!s->cfg.listen) s->cfg.listen = "127.0.0.1:8080";
    if (!s->cfg.db_path) s->cfg.db_path = "facescore.db";
    if (s->cfg.threads <= 0) s->cfg.threads = 2;
    if (s->cfg.queue_cap < 0) s->cfg.queue_cap = 0;
    if (!s->cfg.max_upload) s->cfg.max_upload = 10u << 20;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->m.mu, NULL);
    pthread_mutex_init(&s->rate_mu, NULL);
    if (s->cfg.rate_limit > 0 && !(s->rate = calloc(WEB_RATE_SLOTS, sizeof *s->rate))) {
        snprintf(err, cap, "out of memory");
        goto fail;
    }
    struct sockaddr_storage addr;
    if (parse_listen(s->cfg.listen, &addr, err, cap)) goto fail;
    /* IPv6: dual stack, so that [::] also takes IPv4 clients (as v4-mapped addresses) */
    unsigned v6 = addr.ss_family == AF_INET6 ? MHD_USE_DUAL_STACK : 0;
    if (!(s->store = web_store_open(s->cfg.db_path, err, cap))) goto fail;
    if (open_workers(s, err, cap)) goto fail;
    /* Connections: a thread each (scoring itself is in the pool), at most WEB_CONN_LIMIT at once, each closed
     * after WEB_CONN_TIMEOUT_S without a byte; poll() so descriptors past FD_SETSIZE work. Idle or slow
     * clients thus hold a thread, not a worker: 500 silent connections leave the site serving. */
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                                MHD_USE_ITC | MHD_USE_ERROR_LOG | v6, 0,
                            NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)WEB_CONN_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT, (unsigned)WEB_CONN_LIMIT,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_END);
    if (!s->d) { snprintf(err, cap, "cannot listen on %s: %s", s->cfg.listen, strerror(errno)); goto fail; }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : ntohs(((struct sockaddr_in *)&addr)->sin_port); /* same offset in sockaddr_in6 */
    if (getenv("FS_SERVE_TEST_DB_FAIL")) web_store_break(s->store); /* test hook: a broken DB */
    return s;
fail:
    stop_workers(s);
    web_store_close(s->store);
    free(s->rate);
    free(s);
    return NULL;
}

int web_server_port(const web_server *s) { return s->port; }

void web_server_stop(web_server *s) {
    if (!s) return;
    /* stop accepting, let the requests in flight finish (at most 30 s), then close everything */
    MHD_socket lfd = MHD_quiesce_daemon(s->d);
    for (int i = 0; i < 3000; i++) {
        pthread_mutex_lock(&s->mu);
        int a = s->active;
        pthread_mutex_unlock(&s->mu);
        if (a <= 0) break;
        struct timespec t = {0, 10 * 1000 * 1000};
        nanosleep(&t, NULL);
    }
    MHD_stop_daemon(s->d);
    if (lfd != MHD_INVALID_SOCKET) close(lfd);
    stop_workers(s);
    web_store_close(s->store);
    pthread_mutex_destroy(&s->m.mu);
    pthread_mutex_destroy(&s->rate_mu);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->rate);
    free(s);
}
