/* web/api.c — routes and handlers of `facescore serve`: the JSON API, health, metrics, the page. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "web/multipart.h"
#include "web/sha256.h"
#include "web/web_int.h"

#define CSP                                                                                                     \
    "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; base-uri 'none'; form-action 'self'; " \
    "frame-ancestors 'none'"

enum MHD_Result web_send(struct MHD_Connection *c, web_req *r, unsigned status, const char *ctype, const char *body,
                         size_t len, const char *hname, const char *hval) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", ctype);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Content-Security-Policy", CSP);
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY"); /* frame-ancestors for old browsers */
    if (strncmp(ctype, "text/html", 9) && strncmp(ctype, "text/css", 8) && strncmp(ctype, "text/javascript", 15))
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (hname) MHD_add_response_header(resp, hname, hval);
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    r->status = (int)status;
    return rc;
}

/* JSON string (quoted, escaped) into f; <, > and & escaped too, so no markup ever appears in a response */
static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&') fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

static enum MHD_Result send_stream(struct MHD_Connection *c, web_req *r, unsigned status, char *buf, size_t len,
                                   const char *hname, const char *hval) {
    if (!buf) return web_send(c, r, 500, "application/json", "{}", 2, NULL, NULL);
    enum MHD_Result rc = web_send(c, r, status, "application/json; charset=utf-8", buf, len, hname, hval);
    free(buf);
    return rc;
}

static enum MHD_Result error_h(struct MHD_Connection *c, web_req *r, unsigned status, const char *code,
                               const char *msg, const char *hname, const char *hval) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return MHD_NO;
    fprintf(f, "{\"error\":{\"code\":");
    json_str(f, code);
    fprintf(f, ",\"message\":");
    json_str(f, msg);
    fprintf(f, "}}\n");
    fclose(f);
    return send_stream(c, r, status, buf, len, hname, hval);
}

enum MHD_Result web_error(struct MHD_Connection *c, web_req *r, unsigned status, const char *code, const char *msg) {
    return error_h(c, r, status, code, msg, NULL, NULL);
}

static enum MHD_Result not_allowed(struct MHD_Connection *c, web_req *r, const char *allow) {
    char msg[96];
    snprintf(msg, sizeof msg, "method %s not allowed here (allowed: %s)", r->method, allow);
    return error_h(c, r, 405, "method_not_allowed", msg, "Allow", allow);
}

/* ---------------------------------------------------------------- scoring (worker side) */

#define GENDER(f) ((f) < 0 ? "unknown" : (f) ? "female" : "male")

static char *faces_json(const fs_detections *d, const fs_face_score *res) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    fputc('[', f);
    for (int i = 0; i < d->n; i++) {
        const fs_face *fc = &d->faces[i];
        const fs_face_score *r = &res[i];
        fprintf(f, "%s{\"box\":[%d,%d,%d,%d],\"confidence\":%.4f", i ? "," : "", (int)fc->box.x, (int)fc->box.y,
                (int)fc->box.w, (int)fc->box.h, fc->confidence);
        if (fc->has_landmarks) {
            fprintf(f, ",\"landmarks\":[");
            for (int k = 0; k < 5; k++)
                fprintf(f, "%s[%.1f,%.1f]", k ? "," : "", fc->landmarks[k][0], fc->landmarks[k][1]);
            fputc(']', f);
        }
        fprintf(f, ",\"gender\":\"%s\",\"p_female\":%.4f,\"score\":%.2f,\"class\":%d,\"dist\":[", GENDER(r->female),
                r->p_female, r->score, r->cls);
        for (int k = 0; k < FS_SCORE_CLASSES; k++) fprintf(f, "%s%.4f", k ? "," : "", r->dist[k]);
        fprintf(f, "],\"rank_ko\":");
        json_str(f, r->rank_ko ? r->rank_ko : "");
        fprintf(f, ",\"rank_en\":");
        json_str(f, r->rank_en ? r->rank_en : "");
        fputc('}', f);
    }
    fputc(']', f);
    fclose(f);
    return buf;
}

static void job_fail(web_job *j, int http, const char *code, const char *msg) {
    j->http = http;
    snprintf(j->err_code, sizeof j->err_code, "%s", code);
    snprintf(j->err_msg, sizeof j->err_msg, "%s", msg);
}

void web_score_job(web_worker *w, web_job *j) {
    double t0 = web_now_ms();
    fs_image_limits lim = {0, j->len + 1};
    fs_image img;
    fs_status st = fs_image_decode(j->buf, j->len, 3, &lim, &img);
    if (st != FS_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "cannot decode the image: %s", fs_last_error());
        job_fail(j, st == FS_ERR_LIMIT ? 413 : st == FS_ERR_NOMEM ? 503 : 422,
                 st == FS_ERR_LIMIT ? "too_large" : st == FS_ERR_NOMEM ? "unavailable" : "bad_image", msg);
        return;
    }
    double t1 = web_now_ms();
    fs_detections d;
    st = fs_detector_detect(w->det, &img, &d);
    double t2 = web_now_ms();
    fs_face_score *res = calloc((size_t)d.n + 1, sizeof *res);
    if (!res) st = FS_ERR_NOMEM;
    for (int i = 0; i < d.n && st == FS_OK; i++) st = fs_scorer_score(w->sc, &img, &d.faces[i], &res[i]);
    double t3 = web_now_ms();
    if (st != FS_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "scoring failed: %s", fs_last_error());
        job_fail(j, 500, "internal", msg);
    } else {
        j->http = 200;
        j->width = img.width;
        j->height = img.height;
        j->code = d.code;
        j->largest = d.largest;
        j->nfaces = d.n;
        j->faces_json = faces_json(&d, res);
        if (asprintf(&j->timings_json, "{\"queue\":%.2f,\"decode\":%.2f,\"detect\":%.2f,\"scoring\":%.2f,\"total\":%.2f}",
                     t0 - j->t_submit, t1 - t0, t2 - t1, t3 - t2, t3 - j->t_submit) < 0)
            j->timings_json = NULL;
        if (!j->faces_json || !j->timings_json) job_fail(j, 503, "unavailable", "out of memory");
        if (j->keep_image && j->http == 200 && fs_image_encode_jpeg(&img, 90, &j->jpeg, &j->jpeg_len) != FS_OK) {
            j->jpeg = NULL;
            j->jpeg_len = 0;
        }
    }
    free(res);
    fs_detections_free(&d);
    fs_image_free(&img);
}

/* ---------------------------------------------------------------- handlers */

static void result_json(FILE *f, const web_result *r) {
    fprintf(f, "{\"id\":\"%s\",\"created_ms\":%lld,\"image_sha256\":\"%s\",\"width\":%d,\"height\":%d,\"code\":%d,"
               "\"largest\":%d,\"detector\":",
            r->id, (long long)r->created_ms, r->sha256, r->width, r->height, r->code, r->largest);
    json_str(f, r->detector);
    fprintf(f, ",\"model\":");
    json_str(f, r->model);
    fprintf(f, ",\"timings_ms\":%s,\"faces\":%s}", r->timings_json ? r->timings_json : "{}",
            r->faces_json ? r->faces_json : "[]");
}

static enum MHD_Result send_result(struct MHD_Connection *c, web_req *r, const web_result *res) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return MHD_NO;
    result_json(f, res);
    fputc('\n', f);
    fclose(f);
    return send_stream(c, r, 200, buf, len, NULL, NULL);
}

static int64_t wall_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int new_id(char out[33]) {
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) return -1;
    for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

/* the photo bytes of a POST /api/v1/score body: a raw image body or the multipart field "image" */
static enum MHD_Result upload_bytes(web_server *s, struct MHD_Connection *c, web_req *r, const unsigned char **buf,
                                    size_t *len, int *handled) {
    *handled = 1;
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    if (!ct) ct = "";
    if (!strncasecmp(ct, "multipart/form-data", 19)) {
        char boundary[80];
        if (mp_boundary(ct, boundary, sizeof boundary))
            return web_error(c, r, 400, "bad_multipart", "multipart/form-data without a valid boundary parameter");
        mp_part p;
        const char *why;
        int k = mp_find(r->body ? r->body : (const unsigned char *)"", r->len, boundary, "image", &p, &why);
        if (k < 0) {
            char msg[128];
            snprintf(msg, sizeof msg, "malformed multipart body: %s", why);
            return web_error(c, r, 400, "bad_multipart", msg);
        }
        if (k == 0) return web_error(c, r, 400, "missing_image", "multipart body has no field named 'image'");
        *buf = p.data;
        *len = p.len;
    } else if (!strncasecmp(ct, "image/jpeg", 10) || !strncasecmp(ct, "image/png", 9) ||
               !strncasecmp(ct, "image/webp", 10)) {
        *buf = r->body;
        *len = r->len;
    } else {
        return web_error(c, r, 415, "unsupported_media_type",
                         "send multipart/form-data with a field 'image', or an image/jpeg, image/png or image/webp body");
    }
    if (*len == 0) return web_error(c, r, 400, "empty_image", "the uploaded image is empty (0 bytes)");
    (void)s;
    *handled = 0;
    return MHD_YES;
}

static enum MHD_Result handle_score(web_server *s, struct MHD_Connection *c, web_req *r) {
    int wait = web_rate_check(s, c);
    if (wait) {
        char ra[16], msg[96];
        snprintf(ra, sizeof ra, "%d", wait);
        snprintf(msg, sizeof msg, "too many photos from this address; retry in %d s", wait);
        return error_h(c, r, 429, "rate_limited", msg, "Retry-After", ra);
    }
    if (r->too_large) {
        char msg[96];
        snprintf(msg, sizeof msg, "upload larger than the limit of %zu bytes", s->cfg.max_upload);
        return web_error(c, r, 413, "too_large", msg);
    }
    const unsigned char *buf = NULL;
    size_t len = 0;
    int handled;
    enum MHD_Result rc = upload_bytes(s, c, r, &buf, &len, &handled);
    if (handled) return rc;
    web_job j;
    memset(&j, 0, sizeof j);
    j.buf = buf;
    j.len = len;
    j.keep_image = s->cfg.keep_images;
    if (web_pool_run(s, &j))
        return error_h(c, r, 503, "busy", "all scoring workers are busy; retry shortly", "Retry-After", "1");
    if (j.http != 200) {
        rc = web_error(c, r, (unsigned)j.http, j.err_code, j.err_msg);
        goto out;
    }
    web_metrics_faces(s, j.nfaces);
    web_result res;
    memset(&res, 0, sizeof res);
    if (new_id(res.id)) { rc = web_error(c, r, 503, "unavailable", "no randomness for a result id"); goto out; }
    res.created_ms = wall_ms();
    web_sha256_hex(buf, len, res.sha256);
    res.width = j.width;
    res.height = j.height;
    res.code = j.code;
    res.largest = j.largest;
    snprintf(res.detector, sizeof res.detector, "%s", s->detector);
    snprintf(res.model, sizeof res.model, "%s", s->model);
    res.faces_json = j.faces_json;
    res.timings_json = j.timings_json;
    if (web_store_put(s->store, &res, j.jpeg, j.jpeg_len)) {
        web_metrics_db_error(s);
        rc = error_h(c, r, 503, "db_unavailable", "the result store failed; nothing was saved", "Retry-After", "5");
        goto out;
    }
    rc = send_result(c, r, &res);
out:
    free(j.faces_json);
    free(j.timings_json);
    free(j.jpeg);
    return rc;
}

static int valid_id(const char *id) {
    if (strlen(id) != 32) return 0;
    for (int i = 0; i < 32; i++)
        if (!isxdigit((unsigned char)id[i]) || isupper((unsigned char)id[i])) return 0;
    return 1;
}

static enum MHD_Result handle_result(web_server *s, struct MHD_Connection *c, web_req *r, const char *id) {
    int is_get = !strcmp(r->method, "GET"), is_del = !strcmp(r->method, "DELETE");
    if (!is_get && !is_del) return not_allowed(c, r, "GET, DELETE");
    if (!valid_id(id)) return web_error(c, r, 404, "not_found", "no such result");
    if (is_del) {
        int k = web_store_delete(s->store, id);
        if (k < 0) { web_metrics_db_error(s); return web_error(c, r, 503, "db_unavailable", "the result store failed"); }
        if (!k) return web_error(c, r, 404, "not_found", "no such result");
        char body[80];
        int n = snprintf(body, sizeof body, "{\"deleted\":\"%s\"}\n", id);
        return web_send(c, r, 200, "application/json; charset=utf-8", body, (size_t)n, NULL, NULL);
    }
    web_result res;
    int k = web_store_get(s->store, id, &res);
    if (k < 0) { web_metrics_db_error(s); return web_error(c, r, 503, "db_unavailable", "the result store failed"); }
    if (!k) return web_error(c, r, 404, "not_found", "no such result");
    enum MHD_Result rc = send_result(c, r, &res);
    web_result_clear(&res);
    return rc;
}

/* constant time: the SHA-256 digests of both are compared, all 32 bytes, so neither the position of the
 * first differing byte nor the secret's length shows in the time taken */
static int token_ok(const char *given, const char *secret) {
    unsigned char a[32], b[32];
    web_sha256(given, strlen(given), a);
    web_sha256(secret, strlen(secret), b);
    volatile unsigned char d = 0;
    for (int i = 0; i < 32; i++) d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static enum MHD_Result handle_history(web_server *s, struct MHD_Connection *c, web_req *r) {
    if (strcmp(r->method, "GET")) return not_allowed(c, r, "GET");
    if (!s->cfg.token) return web_error(c, r, 403, "forbidden", "history is disabled (no --auth-token-file)");
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) || !token_ok(auth + 7, s->cfg.token))
        return error_h(c, r, 401, "unauthorized", "history needs the admin bearer token", "WWW-Authenticate",
                       "Bearer realm=\"facescore\"");
    const char *ls = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    const char *bs = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "before");
    char *end;
    long limit = 50;
    long long before = 0;
    if (ls) { limit = strtol(ls, &end, 10); if (!*ls || *end || limit < 1 || limit > 1000) goto bad; }
    if (bs) { before = strtoll(bs, &end, 10); if (!*bs || *end || before < 0) goto bad; }
    web_result *v;
    int n = web_store_list(s->store, before, (int)limit, &v);
    if (n < 0) { web_metrics_db_error(s); return web_error(c, r, 503, "db_unavailable", "the result store failed"); }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f) {
        fprintf(f, "{\"results\":[");
        for (int i = 0; i < n; i++) { if (i) fputc(',', f); result_json(f, &v[i]); }
        fprintf(f, "]");
        if (n == limit && n > 0) fprintf(f, ",\"next_before\":%lld", (long long)v[n - 1].created_ms);
        fprintf(f, "}\n");
        fclose(f);
    }
    for (int i = 0; i < n; i++) web_result_clear(&v[i]);
    free(v);
    return send_stream(c, r, 200, buf, len, NULL, NULL);
bad:
    return web_error(c, r, 400, "bad_query", "limit must be 1..1000 and before a non-negative time in ms");
}

enum MHD_Result web_route(web_server *s, struct MHD_Connection *c, web_req *r) {
    const char *p = r->path;
    int get = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD");
    if (!strcmp(p, "/api/v1/score")) {
        if (strcmp(r->method, "POST")) return not_allowed(c, r, "POST");
        return handle_score(s, c, r);
    }
    if (!strncmp(p, "/api/v1/results/", 16)) return handle_result(s, c, r, p + 16);
    if (!strcmp(p, "/api/v1/results")) return handle_history(s, c, r);
    if (!strcmp(p, "/healthz")) {
        if (!get) return not_allowed(c, r, "GET, HEAD");
        char body[128];
        int n = snprintf(body, sizeof body, "{\"status\":\"ok\",\"queue_depth\":%d,\"running\":%d,\"workers\":%d}\n",
                         web_queue_depth(s), web_running(s), s->nworkers);
        return web_send(c, r, 200, "application/json; charset=utf-8", body, (size_t)n, NULL, NULL);
    }
    if (!strcmp(p, "/metrics")) {
        if (!get) return not_allowed(c, r, "GET, HEAD");
        char *buf;
        size_t len;
        web_metrics_text(s, &buf, &len);
        if (!buf) return MHD_NO;
        enum MHD_Result rc = web_send(c, r, 200, "text/plain; version=0.0.4", buf, len, NULL, NULL);
        free(buf);
        return rc;
    }
    const web_asset *a = web_find_asset(p);
    if (a) {
        if (!get) return not_allowed(c, r, "GET, HEAD");
        return web_send(c, r, 200, a->ctype, a->body, strlen(a->body), NULL, NULL);
    }
    return web_error(c, r, 404, "not_found", "no such route");
}
