/* web/store.h — result store: SQLite (one file, WAL) or PostgreSQL for a postgresql:// URL (store_pg.c),
 * same schema, schema_version + migrations. Calls are thread-safe (a mutex; a small connection pool on
 * PostgreSQL); failures return -1 with a reason in the log (never abort). */
#ifndef FS_WEB_STORE_H
#define FS_WEB_STORE_H
#include <stddef.h>
#include <stdint.h>

typedef struct web_store web_store;

typedef struct {
    char id[33];
    int64_t created_ms;     /* unix time in ms */
    char sha256[65];
    int width, height;
    int code, largest;      /* FS_CODE_*, index of the largest face (-1 none) */
    char detector[16];
    char model[64];
    char *faces_json;       /* malloc'ed by get/list */
    char *timings_json;
} web_result;

#define WEB_STORE_SCHEMA_VERSION 1

/* Opens/creates the DB and migrates it to WEB_STORE_SCHEMA_VERSION. NULL + message in err on failure. */
web_store *web_store_open(const char *path, char *err, size_t errcap);
void web_store_close(web_store *s);
/* image may be NULL (not kept). 0 ok, -1 error. */
int web_store_put(web_store *s, const web_result *r, const void *image, size_t image_len);
/* 1 found, 0 not found, -1 error. */
int web_store_get(web_store *s, const char *id, web_result *out);
/* 1 deleted, 0 not found, -1 error. */
int web_store_delete(web_store *s, const char *id);
/* Newest first, created_ms < before (0 = no bound), at most limit. Returns count or -1. *out malloc'ed. */
int web_store_list(web_store *s, int64_t before, int limit, web_result **out);
void web_result_clear(web_result *r);
/* Schema version recorded in the DB (for tests), -1 on error. */
int web_store_schema_version(web_store *s);
/* Test hook: make every following call fail as if the DB were broken. */
void web_store_break(web_store *s);
/* 1 when db is a postgresql:// or postgres:// URL (the PostgreSQL backend, store_pg.c). */
int web_store_is_url(const char *db);
#endif
