/* web/store_backend.h — the two result-store backends behind the web/store.h dispatcher (store.c).
 * A backend file defines WEB_STORE_AS_SQLITE or WEB_STORE_AS_PG and includes this instead of store.h:
 * its web_store_* functions are then compiled as web_sqlite_* / web_pg_*. web_result_clear stays shared
 * (defined once, in store_sqlite.c). */
#ifndef FS_WEB_STORE_BACKEND_H
#define FS_WEB_STORE_BACKEND_H
#if defined(WEB_STORE_AS_SQLITE)
#define web_store web_sqlite_store
#define web_store_open web_sqlite_open
#define web_store_close web_sqlite_close
#define web_store_put web_sqlite_put
#define web_store_get web_sqlite_get
#define web_store_delete web_sqlite_delete
#define web_store_list web_sqlite_list
#define web_store_schema_version web_sqlite_schema_version
#define web_store_break web_sqlite_break
#elif defined(WEB_STORE_AS_PG)
#define web_store web_pg_store
#define web_store_open web_pg_open
#define web_store_close web_pg_close
#define web_store_put web_pg_put
#define web_store_get web_pg_get
#define web_store_delete web_pg_delete
#define web_store_list web_pg_list
#define web_store_schema_version web_pg_schema_version
#define web_store_break web_pg_break
#endif
#include "web/store.h"
#endif
