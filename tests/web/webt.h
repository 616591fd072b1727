/* tests/web/webt.h — helpers for the hardening tests of `facescore serve` (test_badinput_http.c,
 * test_security.c): the server as a child of FS_BIN on a free loopback port, a one-shot HTTP/1.1
 * client, and a raw-bytes client for requests no well-behaved client sends. */
#ifndef FS_TESTS_WEBT_H
#define FS_TESTS_WEBT_H
#include <stddef.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    int port;
    char dir[64], db[96], log[96];
} webt_server;

typedef struct {
    int status;        /* 0 = no (complete) response */
    char *head, *body; /* malloc'ed, NUL-terminated */
    size_t body_len;
    int closed;        /* the server closed the connection */
    double ms;         /* from the first byte sent to the end of the response */
} webt_resp;

/* FS_BIN when it and samples/face.jpg exist, else NULL (skip) */
const char *webt_bin(void);
/* `FS_BIN serve --listen 127.0.0.1:0 --db DIR/r.db EXTRA...`; 0 ok, -1 when it does not come up */
int  webt_start(webt_server *s, const char *const *extra);
/* still running (not exited, not killed) */
int  webt_alive(webt_server *s);
/* SIGTERM, wait; the exit status (or -1) */
int  webt_stop(webt_server *s);
/* removes the temp dir */
void webt_cleanup(webt_server *s);

/* one request on a fresh connection (Connection: close); headers: "Name: v\r\n..." or NULL; a
 * Content-Length of len is added for a body or a POST unless headers has one */
int  webt_req(int port, const char *method, const char *path, const char *headers, const void *body, size_t len,
              webt_resp *out);
/* sends raw bytes and keeps the socket open for writing; reads until a complete response (by its
 * Content-Length), the server closes, or timeout_ms passes */
int  webt_raw(int port, const void *bytes, size_t len, int timeout_ms, webt_resp *out);
void webt_resp_free(webt_resp *r);
/* value of a response header (case-insensitive name) copied into out; 0 if present */
int  webt_header(const webt_resp *r, const char *name, char *out, size_t cap);
/* the body is {"error":{"code":"<code>",...}} and the type JSON */
int  webt_json_error(const webt_resp *r, const char *code);
/* GET /healthz answers 200 {"status":"ok"...} */
int  webt_healthy(int port);
/* multipart/form-data body with one file field (boundary "XbOuNdArY"); malloc'ed */
unsigned char *webt_multipart(const char *field, const char *filename, const void *data, size_t len, size_t *out_len);
#define WEBT_MP_CT "Content-Type: multipart/form-data; boundary=XbOuNdArY\r\n"
#endif
