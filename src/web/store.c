/* web/store.c — picks the result-store backend: PostgreSQL (libpq) when the --db value is a
 * postgresql:// or postgres:// URL, SQLite (a file path) otherwise. Same schema on both. */
#include "web/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKEND_DECLS(p)                                                                   \
    typedef struct p##_store p##_store;                                                    \
    p##_store *p##_open(const char *path, char *err, size_t errcap);                       \
    void p##_close(p##_store *s);                                                          \
    int p##_put(p##_store *s, const web_result *r, const void *image, size_t image_len);   \
    int p##_get(p##_store *s, const char *id, web_result *out);                            \
    int p##_delete(p##_store *s, const char *id);                                          \
    int p##_list(p##_store *s, int64_t before, int limit, web_result **out);               \
    int p##_schema_version(p##_store *s);                                                  \
    void p##_break(p##_store *s);
BACKEND_DECLS(web_sqlite)
BACKEND_DECLS(web_pg)

struct web_store {
    web_sqlite_store *lite; /* exactly one of the two is set */
    web_pg_store *pg;
};

int web_store_is_url(const char *db) {
    return !strncmp(db, "postgresql://", 13) || !strncmp(db, "postgres://", 11);
}

web_store *web_store_open(const char *path, char *err, size_t errcap) {
    web_store *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errcap, "out of memory"); return NULL; }
    if (web_store_is_url(path)) s->pg = web_pg_open(path, err, errcap);
    else s->lite = web_sqlite_open(path, err, errcap);
    if (!s->pg && !s->lite) { free(s); return NULL; }
    return s;
}

void web_store_close(web_store *s) {
    if (!s) return;
    if (s->pg) web_pg_close(s->pg);
    else web_sqlite_close(s->lite);
    free(s);
}

int web_store_put(web_store *s, const web_result *r, const void *image, size_t image_len) {
    return s->pg ? web_pg_put(s->pg, r, image, image_len) : web_sqlite_put(s->lite, r, image, image_len);
}
int web_store_get(web_store *s, const char *id, web_result *out) {
    return s->pg ? web_pg_get(s->pg, id, out) : web_sqlite_get(s->lite, id, out);
}
int web_store_delete(web_store *s, const char *id) {
    return s->pg ? web_pg_delete(s->pg, id) : web_sqlite_delete(s->lite, id);
}
int web_store_list(web_store *s, int64_t before, int limit, web_result **out) {
    return s->pg ? web_pg_list(s->pg, before, limit, out) : web_sqlite_list(s->lite, before, limit, out);
}
int web_store_schema_version(web_store *s) {
    return s->pg ? web_pg_schema_version(s->pg) : web_sqlite_schema_version(s->lite);
}
void web_store_break(web_store *s) {
    if (s->pg) web_pg_break(s->pg);
    else web_sqlite_break(s->lite);
}
