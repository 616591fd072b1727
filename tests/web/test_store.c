/* Result store tests, run against both backends: SQLite (a temp file) and PostgreSQL (FS_TEST_PG_URL, e.g.
 * from scripts/ci-postgres.sh; those tests SKIP when it is unset). */
#include "../test.h"
#include "web/store.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void fill(web_result *r, const char *id, int64_t t) {
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", id);
    r->created_ms = t;
    memset(r->sha256, 'a', 64);
    r->width = 640; r->height = 480; r->code = 0; r->largest = 1;
    snprintf(r->detector, sizeof r->detector, "yunet");
    snprintf(r->model, sizeof r->model, "model-v1 'quoted'; DROP TABLE results; --");
    r->faces_json = (char *)"[{\"score\":3.25,\"msg\":\"\xea\xb0\x80 it's\"}]";
    r->timings_json = (char *)"{\"total_ms\":12.5}";
}

/* random 32-hex id prefix + suffix, so parallel/earlier runs on one PostgreSQL never collide */
static void mkid(char *id, unsigned tag, int k) {
    snprintf(id, 33, "%08x%08x%08x%08x", tag, (unsigned)getpid(), (unsigned)time(NULL), (unsigned)k);
}

static void roundtrip(const char *db) {
    char err[256] = "";
    web_store *s = web_store_open(db, err, sizeof err);
    CHECK_MSG(s, "open %s: %s", db, err);
    if (!s) return;
    CHECK(web_store_schema_version(s) == WEB_STORE_SCHEMA_VERSION);
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    unsigned tag = (unsigned)rand();
    /* a far-future time band of our own, so list() sees only our rows */
    int64_t base = 4000000000000LL + (int64_t)(rand() % 1000000) * 1000;
    char ids[3][33];
    static const unsigned char photo[] = {0xff, 0xd8, 0x00, 0x01, 0x00, 0xff, 0xd9};
    for (int k = 0; k < 3; k++) {
        web_result r;
        mkid(ids[k], tag, k);
        fill(&r, ids[k], base + k);
        CHECK(web_store_put(s, &r, k == 0 ? photo : NULL, k == 0 ? sizeof photo : 0) == 0);
    }
    web_result dup;
    fill(&dup, ids[0], base);
    CHECK(web_store_put(s, &dup, NULL, 0) == -1); /* primary key: a duplicate id is an error, not a crash */
    web_result g;
    CHECK(web_store_get(s, ids[1], &g) == 1);
    CHECK(!strcmp(g.id, ids[1]) && g.created_ms == base + 1 && g.width == 640 && g.height == 480);
    CHECK(g.largest == 1 && g.code == 0 && !strcmp(g.detector, "yunet"));
    CHECK(!strcmp(g.model, "model-v1 'quoted'; DROP TABLE results; --"));
    CHECK(g.faces_json && strstr(g.faces_json, "\xea\xb0\x80 it's") && !strcmp(g.timings_json, "{\"total_ms\":12.5}"));
    CHECK(strlen(g.sha256) == 64);
    web_result_clear(&g);
    CHECK(web_store_get(s, "00000000000000000000000000000000", &g) == 0);
    web_result *v = NULL;
    int n = web_store_list(s, base + 3, 2, &v);
    CHECK(n == 2 && v && !strcmp(v[0].id, ids[2]) && !strcmp(v[1].id, ids[1])); /* newest first, limit */
    for (int i = 0; i < n; i++) web_result_clear(&v[i]);
    free(v);
    n = web_store_list(s, base + 2, 10, &v);
    CHECK(n >= 2 && !strcmp(v[0].id, ids[1]) && !strcmp(v[1].id, ids[0])); /* before bound */
    for (int i = 0; i < n; i++) web_result_clear(&v[i]);
    free(v);
    for (int k = 0; k < 3; k++) CHECK(web_store_delete(s, ids[k]) == 1);
    CHECK(web_store_delete(s, ids[0]) == 0);
    CHECK(web_store_get(s, ids[0], &g) == 0);
    web_store_break(s); /* the failure path: -1, no crash */
    CHECK(web_store_get(s, ids[1], &g) == -1);
    CHECK(web_store_put(s, &dup, NULL, 0) == -1);
    CHECK(web_store_list(s, 0, 5, &v) == -1 && v == NULL);
    web_store_close(s);
    /* reopening an existing store: no re-migration, same version */
    s = web_store_open(db, err, sizeof err);
    CHECK_MSG(s, "reopen: %s", err);
    if (s) CHECK(web_store_schema_version(s) == WEB_STORE_SCHEMA_VERSION);
    web_store_close(s);
}

TEST(sqlite_roundtrip) {
    char path[] = "/tmp/fs_store_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    unlink(path);
    roundtrip(path);
    char p2[64];
    unlink(path);
    snprintf(p2, sizeof p2, "%s-wal", path); unlink(p2);
    snprintf(p2, sizeof p2, "%s-shm", path); unlink(p2);
}

static const char *pg_url(void) {
    const char *u = getenv("FS_TEST_PG_URL");
    return u && *u ? u : NULL;
}

TEST(pg_roundtrip) {
    if (!pg_url()) SKIP("FS_TEST_PG_URL not set (scripts/ci-postgres.sh prints one)");
    CHECK(web_store_is_url(pg_url()));
    roundtrip(pg_url());
}

TEST(url_detection) {
    CHECK(web_store_is_url("postgresql://u@127.0.0.1/db") && web_store_is_url("postgres://h/db"));
    CHECK(!web_store_is_url("facescore.db") && !web_store_is_url("/var/lib/x/postgresql://"));
}

/* an unreachable server: NULL with a message, never a crash */
TEST(pg_unreachable) {
    char err[256] = "";
    web_store *s = web_store_open("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", err, sizeof err);
    CHECK(s == NULL);
    CHECK_MSG(strstr(err, "PostgreSQL") != NULL, "%s", err);
}

/* the server drops every connection of ours: the next call reconnects once and succeeds */
TEST(pg_reconnect) {
    if (!pg_url()) SKIP("FS_TEST_PG_URL not set");
    char err[256] = "";
    web_store *s = web_store_open(pg_url(), err, sizeof err);
    CHECK_MSG(s, "%s", err);
    if (!s) return;
    char id[33];
    mkid(id, 0xfeed, 1);
    web_result r;
    fill(&r, id, 4500000000000LL);
    CHECK(web_store_put(s, &r, NULL, 0) == 0);
    PGconn *c = PQconnectdb(pg_url());
    CHECK(PQstatus(c) == CONNECTION_OK);
    PGresult *k = PQexec(c, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                            "usename = current_user AND pid <> pg_backend_pid() AND application_name = ''");
    CHECK(PQresultStatus(k) == PGRES_TUPLES_OK && atoi(PQgetvalue(k, 0, 0)) >= 1);
    PQclear(k);
    PQfinish(c);
    usleep(100000);
    web_result g;
    CHECK(web_store_get(s, id, &g) == 1 && g.created_ms == 4500000000000LL);
    web_result_clear(&g);
    CHECK(web_store_delete(s, id) == 1);
    web_store_close(s);
}
