/* web/store_sqlite.c — the result store on SQLite. */
#define WEB_STORE_AS_SQLITE
#include "web/store_backend.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct web_store {
    sqlite3 *db;
    pthread_mutex_t mu;
    int broken;
};

/* migrations[i] takes the schema from version i to i + 1 */
static const char *const migrations[] = {
    "CREATE TABLE results ("
    " id TEXT PRIMARY KEY,"
    " created_ms INTEGER NOT NULL,"
    " image_sha256 TEXT NOT NULL,"
    " width INTEGER NOT NULL,"
    " height INTEGER NOT NULL,"
    " code INTEGER NOT NULL,"
    " largest INTEGER NOT NULL,"
    " detector TEXT NOT NULL,"
    " model TEXT NOT NULL,"
    " faces_json TEXT NOT NULL,"
    " timings_json TEXT NOT NULL,"
    " image BLOB);"
    "CREATE INDEX results_created ON results(created_ms);",
};

static void log_db(web_store *s, const char *what) {
    fprintf(stderr, "facescore serve: db error: %s: %s\n", what, s->db ? sqlite3_errmsg(s->db) : "no db");
}

static int exec(web_store *s, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "facescore serve: db error: %s\n", msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int version_locked(web_store *s) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT version FROM schema_version", -1, &st, NULL) != SQLITE_OK) return -1;
    int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return v;
}

static int migrate(web_store *s) {
    if (exec(s, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)")) return -1;
    if (exec(s, "BEGIN IMMEDIATE")) return -1;
    int v = version_locked(s);
    if (v < 0 || v > WEB_STORE_SCHEMA_VERSION) {
        fprintf(stderr, "facescore serve: db schema version %d not supported (max %d)\n", v, WEB_STORE_SCHEMA_VERSION);
        exec(s, "ROLLBACK");
        return -1;
    }
    for (; v < WEB_STORE_SCHEMA_VERSION; v++)
        if (exec(s, migrations[v])) { exec(s, "ROLLBACK"); return -1; }
    char sql[96];
    snprintf(sql, sizeof sql, "DELETE FROM schema_version; INSERT INTO schema_version VALUES(%d)", v);
    if (exec(s, sql) || exec(s, "COMMIT")) { exec(s, "ROLLBACK"); return -1; }
    return 0;
}

web_store *web_store_open(const char *path, char *err, size_t errcap) {
    web_store *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errcap, "out of memory"); return NULL; }
    pthread_mutex_init(&s->mu, NULL);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(err, errcap, "cannot open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
        web_store_close(s);
        return NULL;
    }
    sqlite3_busy_timeout(s->db, 2000);
    if (exec(s, "PRAGMA journal_mode=WAL") || exec(s, "PRAGMA synchronous=NORMAL") || migrate(s)) {
        snprintf(err, errcap, "cannot initialise %s: %s", path, sqlite3_errmsg(s->db));
        web_store_close(s);
        return NULL;
    }
    return s;
}

void web_store_close(web_store *s) {
    if (!s) return;
    if (s->db) sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void web_store_break(web_store *s) { s->broken = 1; }

int web_store_schema_version(web_store *s) {
    pthread_mutex_lock(&s->mu);
    int v = version_locked(s);
    pthread_mutex_unlock(&s->mu);
    return v;
}

int web_store_put(web_store *s, const web_result *r, const void *image, size_t image_len) {
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st = NULL;
    if (s->broken) { fprintf(stderr, "facescore serve: db error: store marked broken\n"); goto out; }
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO results(id,created_ms,image_sha256,width,height,detector,model,faces_json,"
                           "timings_json,image,code,largest) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK) { log_db(s, "insert"); goto out; }
    sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->created_ms);
    sqlite3_bind_text(st, 3, r->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, r->width);
    sqlite3_bind_int(st, 5, r->height);
    sqlite3_bind_text(st, 6, r->detector, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, r->model, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, r->faces_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, r->timings_json, -1, SQLITE_STATIC);
    if (image) sqlite3_bind_blob64(st, 10, image, image_len, SQLITE_STATIC);
    else sqlite3_bind_null(st, 10);
    sqlite3_bind_int(st, 11, r->code);
    sqlite3_bind_int(st, 12, r->largest);
    if (sqlite3_step(st) != SQLITE_DONE) { log_db(s, "insert"); goto out; }
    rc = 0;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static char *col_dup(sqlite3_stmt *st, int i) {
    const unsigned char *t = sqlite3_column_text(st, i);
    return strdup(t ? (const char *)t : "");
}

static void row(sqlite3_stmt *st, web_result *r) {
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", (const char *)sqlite3_column_text(st, 0));
    r->created_ms = sqlite3_column_int64(st, 1);
    snprintf(r->sha256, sizeof r->sha256, "%s", (const char *)sqlite3_column_text(st, 2));
    r->width = sqlite3_column_int(st, 3);
    r->height = sqlite3_column_int(st, 4);
    snprintf(r->detector, sizeof r->detector, "%s", (const char *)sqlite3_column_text(st, 5));
    snprintf(r->model, sizeof r->model, "%s", (const char *)sqlite3_column_text(st, 6));
    r->faces_json = col_dup(st, 7);
    r->timings_json = col_dup(st, 8);
    r->code = sqlite3_column_int(st, 9);
    r->largest = sqlite3_column_int(st, 10);
}

#define COLS "id,created_ms,image_sha256,width,height,detector,model,faces_json,timings_json,code,largest"

int web_store_get(web_store *s, const char *id, web_result *out) {
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st = NULL;
    if (s->broken) { fprintf(stderr, "facescore serve: db error: store marked broken\n"); goto out; }
    if (sqlite3_prepare_v2(s->db, "SELECT " COLS " FROM results WHERE id=?", -1, &st, NULL) != SQLITE_OK) {
        log_db(s, "select"); goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int k = sqlite3_step(st);
    if (k == SQLITE_ROW) { row(st, out); rc = 1; }
    else if (k == SQLITE_DONE) rc = 0;
    else log_db(s, "select");
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int web_store_delete(web_store *s, const char *id) {
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st = NULL;
    if (s->broken) { fprintf(stderr, "facescore serve: db error: store marked broken\n"); goto out; }
    if (sqlite3_prepare_v2(s->db, "DELETE FROM results WHERE id=?", -1, &st, NULL) != SQLITE_OK) {
        log_db(s, "delete"); goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) { log_db(s, "delete"); goto out; }
    rc = sqlite3_changes(s->db) > 0;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int web_store_list(web_store *s, int64_t before, int limit, web_result **out) {
    *out = NULL;
    pthread_mutex_lock(&s->mu);
    int n = -1, cap = limit > 0 ? limit : 1;
    sqlite3_stmt *st = NULL;
    if (s->broken) { fprintf(stderr, "facescore serve: db error: store marked broken\n"); goto out; }
    if (sqlite3_prepare_v2(s->db, "SELECT " COLS " FROM results WHERE created_ms < ? ORDER BY created_ms DESC LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK) { log_db(s, "list"); goto out; }
    sqlite3_bind_int64(st, 1, before > 0 ? before : INT64_MAX);
    sqlite3_bind_int(st, 2, limit);
    web_result *v = calloc((size_t)cap, sizeof *v);
    if (!v) goto out;
    int k;
    n = 0;
    while (n < cap && (k = sqlite3_step(st)) == SQLITE_ROW) row(st, &v[n++]);
    *out = v;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return n;
}

void web_result_clear(web_result *r) {
    free(r->faces_json);
    free(r->timings_json);
    r->faces_json = r->timings_json = NULL;
}
