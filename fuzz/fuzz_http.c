/* fuzz/fuzz_http.c — the HTTP API end to end: raw request bytes sent over loopback to an in-process
 * `facescore serve` (web_server_start: libmicrohttpd, the routes of src/web/api.c, upload/multipart
 * handling, the worker pool, the SQLite store in a scratch folder). The handlers need a live
 * MHD_Connection, hence the socket. Each input is written on a fresh connection, the write side is
 * shut, and the whole answer is read (5 s at most). A crash or sanitizer report in any server thread
 * ends the run like one in the target. Needs the shipped models (models/, cwd = repository root). */
#include "fuzz_util.h"
#include "web/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

static web_server *fz_srv;
static int fz_port;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    signal(SIGPIPE, SIG_IGN);
    static char db[128];
    snprintf(db, sizeof db, "%s/fuzz.db", fz_tmpdir());
    web_config c;
    memset(&c, 0, sizeof c);
    c.listen = "127.0.0.1:0";
    c.db_path = db;
    c.threads = 1;
    c.queue_cap = 2;
    c.max_upload = 1u << 20;
    c.token = "fuzz-token";
    c.model = "models/facescore/scut60.fsh";
    char err[512];
    if (!(fz_srv = web_server_start(&c, err, sizeof err))) {
        fprintf(stderr, "fuzz_http: cannot start the server: %s\n", err);
        exit(1);
    }
    fz_port = web_server_port(fz_srv);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) abort();
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)fz_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) { close(fd); return 0; }
    size_t off = 0;
    while (off < size) {
        ssize_t w = send(fd, data + off, size - off, MSG_NOSIGNAL);
        if (w <= 0) break;
        off += (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    char buf[65536];
    for (int waited = 0; waited < 5000;) {
        struct pollfd p = {fd, POLLIN, 0};
        int k = poll(&p, 1, 100);
        if (k == 0) { waited += 100; continue; }
        if (k < 0 || recv(fd, buf, sizeof buf, 0) <= 0) break;
    }
    close(fd);
    return 0;
}
