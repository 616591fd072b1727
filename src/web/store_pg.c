/* web/store_pg.c — the result store on PostgreSQL (libpq), for --db postgresql://... URLs.
 * Same schema as store_sqlite.c (schema_version + migrations; BIGINT/BYTEA where SQLite is untyped).
 * A small pool of connections (PG_POOL) guarded by a mutex + condvar; parameterised queries only; a call that
 * fails on a dropped connection resets it and retries once. Several serve processes may share one database:
 * migrations run under an advisory lock. */
#define WEB_STORE_AS_PG
#include "web/store_backend.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_POOL 4
#define PG_MIGRATE_LOCK 7160917 /* pg_advisory_xact_lock key for migrations */

struct web_store {
    PGconn *conn[PG_POOL];
    int busy[PG_POOL];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int broken;
};

/* migrations[i] takes the schema from version i to i + 1 */
static const char *const migrations[] = {
    "CREATE TABLE results ("
    " id TEXT PRIMARY KEY,"
    " created_ms BIGINT NOT NULL,"
    " image_sha256 TEXT NOT NULL,"
    " width INTEGER NOT NULL,"
    " height INTEGER NOT NULL,"
    " code INTEGER NOT NULL,"
    " largest INTEGER NOT NULL,"
    " detector TEXT NOT NULL,"
    " model TEXT NOT NULL,"
    " faces_json TEXT NOT NULL,"
    " timings_json TEXT NOT NULL,"
    " image BYTEA);"
    "CREATE INDEX results_created ON results(created_ms);",
};

static void log_pg(PGconn *c, const char *what, const PGresult *r) {
    const char *m = r ? PQresultErrorMessage(r) : "";
    if (!m || !*m) m = c ? PQerrorMessage(c) : "no connection";
    fprintf(stderr, "facescore serve: db error: %s: %.*s\n", what, (int)strcspn(m, "\n"), m);
}

static int ok(const PGresult *r) {
    ExecStatusType t = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    return t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK;
}

/* ---- pool ---- */

static int pool_take(web_store *s) {
    pthread_mutex_lock(&s->mu);
    for (;;) {
        for (int i = 0; i < PG_POOL; i++)
            if (!s->busy[i]) { s->busy[i] = 1; pthread_mutex_unlock(&s->mu); return i; }
        pthread_cond_wait(&s->cv, &s->mu);
    }
}

static void pool_give(web_store *s, int i) {
    pthread_mutex_lock(&s->mu);
    s->busy[i] = 0;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* A usable connection in slot i (connects lazily), or NULL with a log line. */
static PGconn *slot_conn(web_store *s, int i, const char *what) {
    if (s->conn[i] && PQstatus(s->conn[i]) != CONNECTION_OK) PQreset(s->conn[i]);
    if (!s->conn[i] || PQstatus(s->conn[i]) != CONNECTION_OK) {
        log_pg(s->conn[i], what, NULL);
        return NULL;
    }
    return s->conn[i];
}

/* Runs a parameterised statement on a pooled connection; on failure with a dropped connection, resets it and
 * retries once, with retry_sql when given (the statement may have committed before the connection dropped).
 * Returns the result (caller PQclear's) or NULL (logged). */
static PGresult *run_retry(web_store *s, const char *what, const char *sql, const char *retry_sql, int n,
                           const char *const *vals, const int *lens, const int *fmts) {
    if (s->broken) { fprintf(stderr, "facescore serve: db error: store marked broken\n"); return NULL; }
    int i = pool_take(s);
    PGresult *r = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        PGconn *c = slot_conn(s, i, what);
        if (!c) break;
        r = PQexecParams(c, attempt && retry_sql ? retry_sql : sql, n, NULL, vals, lens, fmts, 0);
        if (ok(r)) break;
        log_pg(c, what, r);
        PQclear(r);
        r = NULL;
        if (PQstatus(c) == CONNECTION_OK) break; /* a real SQL error: do not retry */
    }
    pool_give(s, i);
    return r;
}

static PGresult *run(web_store *s, const char *what, const char *sql, int n, const char *const *vals,
                     const int *lens, const int *fmts) {
    return run_retry(s, what, sql, NULL, n, vals, lens, fmts);
}

static int exec0(PGconn *c, const char *sql) {
    PGresult *r = PQexec(c, sql);
    int good = ok(r);
    if (!good) log_pg(c, "migrate", r);
    PQclear(r);
    return good ? 0 : -1;
}

static int version_on(PGconn *c) {
    PGresult *r = PQexec(c, "SELECT version FROM schema_version");
    int v = -1;
    if (ok(r)) v = PQntuples(r) > 0 ? atoi(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return v;
}

static int migrate(PGconn *c) {
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%d)", PG_MIGRATE_LOCK);
    if (exec0(c, "BEGIN") || exec0(c, sql) ||
        exec0(c, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)"))
        goto fail;
    int v = version_on(c);
    if (v < 0 || v > WEB_STORE_SCHEMA_VERSION) {
        fprintf(stderr, "facescore serve: db schema version %d not supported (max %d)\n", v, WEB_STORE_SCHEMA_VERSION);
        goto fail;
    }
    for (; v < WEB_STORE_SCHEMA_VERSION; v++)
        if (exec0(c, migrations[v])) goto fail;
    snprintf(sql, sizeof sql, "DELETE FROM schema_version; INSERT INTO schema_version VALUES(%d)", v);
    if (exec0(c, sql) || exec0(c, "COMMIT")) goto fail;
    return 0;
fail:
    PQclear(PQexec(c, "ROLLBACK"));
    return -1;
}

web_store *web_store_open(const char *url, char *err, size_t errcap) {
    web_store *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errcap, "out of memory"); return NULL; }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    for (int i = 0; i < PG_POOL; i++) {
        s->conn[i] = PQconnectdb(url);
        if (!s->conn[i] || PQstatus(s->conn[i]) != CONNECTION_OK) {
            const char *m = s->conn[i] ? PQerrorMessage(s->conn[i]) : "out of memory";
            snprintf(err, errcap, "cannot connect to PostgreSQL: %.*s", (int)strcspn(m, "\n"), m);
            web_store_close(s);
            return NULL;
        }
        PQclear(PQexec(s->conn[i], "SET client_min_messages TO warning"));
    }
    if (migrate(s->conn[0])) {
        const char *m = PQerrorMessage(s->conn[0]);
        snprintf(err, errcap, "cannot initialise the PostgreSQL schema: %.*s", (int)strcspn(m, "\n"), m);
        web_store_close(s);
        return NULL;
    }
    return s;
}

void web_store_close(web_store *s) {
    if (!s) return;
    for (int i = 0; i < PG_POOL; i++)
        if (s->conn[i]) PQfinish(s->conn[i]);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void web_store_break(web_store *s) { s->broken = 1; }

int web_store_schema_version(web_store *s) {
    PGresult *r = run(s, "version", "SELECT version FROM schema_version", 0, NULL, NULL, NULL);
    int v = r ? (PQntuples(r) > 0 ? atoi(PQgetvalue(r, 0, 0)) : 0) : -1;
    PQclear(r);
    return v;
}

int web_store_put(web_store *s, const web_result *r, const void *image, size_t image_len) {
    if (image && image_len > 0x7fffffff) { fprintf(stderr, "facescore serve: db error: image too large\n"); return -1; }
    char created[24], w[16], h[16], code[16], largest[16];
    snprintf(created, sizeof created, "%lld", (long long)r->created_ms);
    snprintf(w, sizeof w, "%d", r->width);
    snprintf(h, sizeof h, "%d", r->height);
    snprintf(code, sizeof code, "%d", r->code);
    snprintf(largest, sizeof largest, "%d", r->largest);
    const char *vals[12] = {r->id, created, r->sha256, w, h, r->detector, r->model,
                            r->faces_json ? r->faces_json : "[]", r->timings_json ? r->timings_json : "{}",
                            image ? (const char *)image : NULL, code, largest};
    int lens[12] = {0}, fmts[12] = {0};
    lens[9] = (int)image_len;
    fmts[9] = 1; /* the photo as binary BYTEA */
#define PG_INSERT                                                                                     \
    "INSERT INTO results(id,created_ms,image_sha256,width,height,detector,model,faces_json,timings_json,image," \
    "code,largest) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)"
    /* A retry after a dropped connection may find the row of its own first attempt (committed, answer lost):
     * that row (same id, time and photo hash) counts as inserted; any other row with the id is still an error. */
    PGresult *res = run_retry(s, "insert", PG_INSERT,
                              PG_INSERT " ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id WHERE results.created_ms = "
                              "EXCLUDED.created_ms AND results.image_sha256 = EXCLUDED.image_sha256",
                              12, vals, lens, fmts);
#undef PG_INSERT
    int rc = res && atoi(PQcmdTuples(res)) == 1 ? 0 : -1;
    if (res && rc) fprintf(stderr, "facescore serve: db error: insert: id %s already taken\n", r->id);
    PQclear(res);
    return rc;
}

#define COLS "id,created_ms,image_sha256,width,height,detector,model,faces_json,timings_json,code,largest"

static void row(const PGresult *res, int k, web_result *r) {
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", PQgetvalue(res, k, 0));
    r->created_ms = strtoll(PQgetvalue(res, k, 1), NULL, 10);
    snprintf(r->sha256, sizeof r->sha256, "%s", PQgetvalue(res, k, 2));
    r->width = atoi(PQgetvalue(res, k, 3));
    r->height = atoi(PQgetvalue(res, k, 4));
    snprintf(r->detector, sizeof r->detector, "%s", PQgetvalue(res, k, 5));
    snprintf(r->model, sizeof r->model, "%s", PQgetvalue(res, k, 6));
    r->faces_json = strdup(PQgetvalue(res, k, 7));
    r->timings_json = strdup(PQgetvalue(res, k, 8));
    r->code = atoi(PQgetvalue(res, k, 9));
    r->largest = atoi(PQgetvalue(res, k, 10));
}

int web_store_get(web_store *s, const char *id, web_result *out) {
    const char *vals[1] = {id};
    PGresult *res = run(s, "select", "SELECT " COLS " FROM results WHERE id=$1", 1, vals, NULL, NULL);
    if (!res) return -1;
    int rc = PQntuples(res) > 0;
    if (rc) row(res, 0, out);
    PQclear(res);
    return rc;
}

int web_store_delete(web_store *s, const char *id) {
    const char *vals[1] = {id};
    PGresult *res = run(s, "delete", "DELETE FROM results WHERE id=$1", 1, vals, NULL, NULL);
    if (!res) return -1;
    int rc = atoi(PQcmdTuples(res)) > 0;
    PQclear(res);
    return rc;
}

int web_store_list(web_store *s, int64_t before, int limit, web_result **out) {
    *out = NULL;
    char b[24], l[16];
    snprintf(b, sizeof b, "%lld", (long long)(before > 0 ? before : INT64_MAX));
    snprintf(l, sizeof l, "%d", limit > 0 ? limit : 0);
    const char *vals[2] = {b, l};
    PGresult *res = run(s, "list", "SELECT " COLS " FROM results WHERE created_ms < $1 ORDER BY created_ms DESC LIMIT $2",
                        2, vals, NULL, NULL);
    if (!res) return -1;
    int n = PQntuples(res), cap = limit > 0 ? limit : 1;
    if (n > cap) n = cap;
    web_result *v = calloc((size_t)cap, sizeof *v);
    if (!v) { PQclear(res); return -1; }
    for (int k = 0; k < n; k++) row(res, k, &v[k]);
    PQclear(res);
    *out = v;
    return n;
}
