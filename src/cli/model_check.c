/* cli/model_check.c — `facescore model check [--json] [--rtol R] [--atol A] [--timeout S] CASE_DIR...`:
 * runs ONNX backend test cases (model.onnx + test_data_set_N/{input,output}_K.pb) through the
 * runtime (nn/loaders/onnx_check.c) and prints one line per case, then "N passed, N failed,
 * N skipped" (skipped = unsupported + error). Each case runs in a forked child with a time limit,
 * so a crash or a hang becomes that case's `fail` line and the run goes on. Exit status 1 if any
 * case failed (or crashed / timed out), 0 otherwise, 2 on bad usage. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "nn/loaders/onnx_check.h"

static int usage(void) {
    fprintf(stderr,
            "usage: facescore model check [--json] [--rtol R] [--atol A] [--timeout S] CASE_DIR...\n"
            "  CASE_DIR: an ONNX backend test case (model.onnx, test_data_set_N/input_K.pb, output_K.pb)\n"
            "  pass: |got - want| <= atol + rtol |want| for every output (defaults rtol 1e-3, atol 1e-7),\n"
            "  same shapes and dtypes. Each case runs in a child process limited to S seconds (default 60).\n");
    return 2;
}

/* runs the case in a child; a crash or timeout is a fail */
static void run_isolated(const char *dir, double rtol, double atol, int timeout_s, nn_onnx_case_result *r) {
    int fd[2];
    memset(r, 0, sizeof *r);
    fflush(stdout);
    if (pipe(fd)) { nn_onnx_check_case(dir, rtol, atol, r); return; }
    pid_t pid = fork();
    if (pid < 0) { close(fd[0]); close(fd[1]); nn_onnx_check_case(dir, rtol, atol, r); return; }
    if (pid == 0) {
        close(fd[0]);
        nn_onnx_case_result cr;
        nn_onnx_check_case(dir, rtol, atol, &cr);
        const char *p = (const char *)&cr;
        size_t left = sizeof cr;
        while (left) {
            ssize_t w = write(fd[1], p, left);
            if (w <= 0) _exit(3);
            p += w;
            left -= (size_t)w;
        }
        _exit(0);
    }
    close(fd[1]);
    size_t got = 0;
    char *buf = (char *)r;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int timed_out = 0;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long left_ms = (long)timeout_s * 1000 - ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
        if (left_ms <= 0) { timed_out = 1; break; }
        struct pollfd pf = {fd[0], POLLIN, 0};
        int pr = poll(&pf, 1, (int)(left_ms > 1000 ? 1000 : left_ms));
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) continue;
        ssize_t n = read(fd[0], buf + got, sizeof *r - got);
        if (n <= 0) break;
        got += (size_t)n;
        if (got == sizeof *r) break;
    }
    close(fd[0]);
    if (timed_out) kill(pid, SIGKILL);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
    if (timed_out) {
        memset(r, 0, sizeof *r);
        r->status = OXC_FAIL;
        snprintf(r->detail, sizeof r->detail, "timed out after %d s", timeout_s);
    } else if (got != sizeof *r || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
        memset(r, 0, sizeof *r);
        r->status = OXC_FAIL;
        if (WIFSIGNALED(ws)) snprintf(r->detail, sizeof r->detail, "crashed (signal %d: %s)", WTERMSIG(ws), strsignal(WTERMSIG(ws)));
        else snprintf(r->detail, sizeof r->detail, "checker process ended without a result (status %d)", ws);
    }
    r->detail[sizeof r->detail - 1] = 0;
}

static const char *case_name(const char *dir, char *buf, size_t n) {
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') len--;
    size_t s = len;
    while (s > 0 && dir[s - 1] != '/') s--;
    snprintf(buf, n, "%.*s", (int)(len - s), dir + s);
    return buf;
}

int fs_cli_model_check(int argc, char **argv) {
    int json = 0, timeout_s = 60, first = -1;
    double rtol = 1e-3, atol = 1e-7;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--rtol") && i + 1 < argc) {
            if (fs_cli_parse_double("--rtol", argv[++i], 0, 1e9, &rtol)) return 2;
        } else if (!strcmp(argv[i], "--atol") && i + 1 < argc) {
            if (fs_cli_parse_double("--atol", argv[++i], 0, 1e9, &atol)) return 2;
        } else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
            if (fs_cli_parse_int("--timeout", argv[++i], 1, 86400, &timeout_s)) return 2;
        } else if (!strcmp(argv[i], "--")) { first = i + 1; break; }
        else if (argv[i][0] == '-') return usage();
        else { first = i; break; }
    }
    if (first < 0 || first >= argc) return usage();
    int counts[4] = {0};
    for (int i = first; i < argc; i++) {
        nn_onnx_case_result r;
        char name[512];
        run_isolated(argv[i], rtol, atol, timeout_s, &r);
        counts[r.status]++;
        case_name(argv[i], name, sizeof name);
        if (json) {
            printf("{\"case\":");
            fs_cli_json_string(stdout, name);
            printf(",\"status\":\"%s\",\"detail\":", nn_onnx_status_name(r.status));
            fs_cli_json_string(stdout, r.detail);
            printf(",\"max_abs_diff\":%.9g}\n", r.max_abs_diff);
        } else {
            static const char *up[] = {"PASS", "FAIL", "UNSUPPORTED", "ERROR"};
            printf("%s %s%s%s\n", up[r.status], name, r.detail[0] ? " " : "", r.detail);
        }
    }
    printf("%d passed, %d failed, %d skipped\n", counts[OXC_PASS], counts[OXC_FAIL],
           counts[OXC_UNSUPPORTED] + counts[OXC_ERROR]);
    return counts[OXC_FAIL] ? 1 : 0;
}
