/* web/web_int.h — internals shared by server.c (daemon, pool, metrics), api.c (handlers), page.c. */
#ifndef FS_WEB_INT_H
#define FS_WEB_INT_H
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>

#include "facescore.h"
#include "web/server.h"
#include "web/store.h"

/* one scoring job, handed from a connection thread to a worker */
typedef struct web_job {
    const unsigned char *buf;
    size_t len;
    int keep_image;
    /* results */
    int done, http;
    char err_code[32], err_msg[256];
    int width, height, code, largest, nfaces;
    char *faces_json, *timings_json;  /* malloc'ed */
    unsigned char *jpeg;              /* re-encoded photo (keep_images), malloc'ed */
    size_t jpeg_len;
    double t_submit;
    pthread_cond_t cv;
    struct web_job *next;
} web_job;

#define WEB_LAT_BUCKETS 11
typedef struct {
    pthread_mutex_t mu;
    uint64_t by_status[600];
    uint64_t lat_bucket[WEB_LAT_BUCKETS + 1]; /* cumulative at output time; +Inf last */
    double lat_sum;
    uint64_t lat_count, faces, images, db_errors, rejected;
} web_metrics;

#define WEB_RATE_SLOTS 4096
typedef struct {
    uint32_t ip;      /* 0 = empty */
    double tokens, t; /* bucket level, last refill (ms) */
} web_rate_slot;

typedef struct web_worker {
    struct web_server *srv;
    pthread_t th;
    fs_detector *det;
    fs_scorer *sc;
} web_worker;

struct web_server {
    web_config cfg;
    struct MHD_Daemon *d;
    web_store *store;
    int port;
    char detector[16], model[64];
    /* pool */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    web_job *head, *tail;
    int queued, running, stop;
    int active;              /* requests between their first handler call and completion */
    web_worker *workers;
    int nworkers;
    web_metrics m;
    pthread_mutex_t rate_mu;
    web_rate_slot *rate;     /* WEB_RATE_SLOTS, when rate_limit > 0 */
};

/* request context (per MHD request) */
typedef struct {
    double t0;
    char method[16];
    char path[256];
    unsigned char *body;
    size_t len, cap, seen;
    int too_large, status;
} web_req;

/* server.c */
double web_now_ms(void);
/* 0 queued and finished (job filled), -1 queue full */
int  web_pool_run(struct web_server *s, web_job *j);
int  web_queue_depth(struct web_server *s);
int  web_running(struct web_server *s);
/* 0 = allowed, else seconds until the client may try again (429) */
int  web_rate_check(struct web_server *s, struct MHD_Connection *c);
void web_metrics_db_error(struct web_server *s);
void web_metrics_faces(struct web_server *s, int n);
void web_metrics_text(struct web_server *s, char **out, size_t *len);

/* api.c */
enum MHD_Result web_route(struct web_server *s, struct MHD_Connection *c, web_req *r);
/* sends a response (copies body); adds the common security headers */
enum MHD_Result web_send(struct MHD_Connection *c, web_req *r, unsigned status, const char *ctype,
                         const char *body, size_t len, const char *hname, const char *hval);
enum MHD_Result web_error(struct MHD_Connection *c, web_req *r, unsigned status, const char *code,
                          const char *msg);
/* worker side: decode + detect + score one photo into j */
void web_score_job(web_worker *w, web_job *j);

/* page.c */
typedef struct { const char *path, *ctype, *body; } web_asset;
const web_asset *web_find_asset(const char *path);
#endif
