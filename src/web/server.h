/* web/server.h — `facescore serve`: HTTP server (libmicrohttpd), scoring worker pool, result store. */
#ifndef FS_WEB_SERVER_H
#define FS_WEB_SERVER_H
#include <stddef.h>

typedef struct {
    const char *listen;      /* "IPv4:port" or "[IPv6]:port" (dual stack), port 0 = any free port; default 127.0.0.1:8080 */
    const char *db_path;     /* SQLite file; default facescore.db */
    int threads;             /* scoring workers (each its own detector + scorer); default 2 */
    int queue_cap;           /* waiting jobs before 503; default 4 * threads (FS_SERVE_QUEUE env) */
    size_t max_upload;       /* bytes; default 10 MiB */
    int keep_images;         /* store a re-encoded JPEG (no EXIF) of each photo */
    const char *token;       /* admin bearer token (history); NULL = history disabled */
    const char *model, *models; /* scorer model file / backbone folder; NULL = defaults */
    int no_mirror;           /* scorers skip the mirrored-crop average (fs_scorer_options.no_mirror) */
    int rate_limit;          /* POST /api/v1/score per client address (IPv6: /64) per minute (token bucket); 0 = off */
} web_config;

typedef struct web_server web_server;

/* Loads the models, opens the DB, binds and starts serving. NULL + reason in err on failure. */
web_server *web_server_start(const web_config *c, char *err, size_t errcap);
int  web_server_port(const web_server *s);
/* Stops accepting, finishes in-flight requests, stops the workers, closes the DB. */
void web_server_stop(web_server *s);
#endif
