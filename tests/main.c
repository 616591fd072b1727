/* tests/main.c — runner for the tests registered with TEST() (see test.h). */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct { const char *file, *name; fs_test_fn fn; } test_entry;
static test_entry *tests;
static int n_tests, cap_tests;
static int cur_failed, cur_skipped;

void fs_test_register(const char *file, const char *name, fs_test_fn fn) {
    if (n_tests == cap_tests) {
        cap_tests = cap_tests ? 2 * cap_tests : 64;
        tests = realloc(tests, (size_t)cap_tests * sizeof *tests);
        if (!tests) abort();
    }
    tests[n_tests++] = (test_entry){file, name, fn};
}

void fs_test_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "    %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    cur_failed = 1;
}

void fs_test_skip(const char *reason) {
    fprintf(stderr, "    skipped: %s\n", reason);
    cur_skipped = 1;
}

int fs_test_failed(void) { return cur_failed; }

/* Every string handed out stays listed here (reachable), so tests that do not free it are not leaks
 * for LeakSanitizer; tests that free it leave a stale entry that is never read. */
static char **shared_kept;
static size_t n_shared_kept;

char *fs_test_shared(const char *rel) {
    const char *base = getenv("FS_SHARED_DIR");
    if (!base || !*base) base = "../shared";
    size_t n = strlen(base) + strlen(rel) + 2;
    char *p = malloc(n);
    char **nk = realloc(shared_kept, (n_shared_kept + 1) * sizeof *nk);
    if (!p || !nk) { free(p); if (nk) shared_kept = nk; return NULL; }
    shared_kept = nk;
    shared_kept[n_shared_kept++] = p;
    snprintf(p, n, "%s/%s", base, rel);
    return p;
}

int fs_test_exists(const char *path) {
    struct stat st;
    return path && stat(path, &st) == 0;
}

char *fs_test_run(const char *cmd, int *status) {
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t cap = 1 << 16, n = 0, k;
    char *buf = malloc(cap);
    while (buf && (k = fread(buf + n, 1, cap - 1 - n, p)) > 0) n += k;
    if (buf) buf[n] = 0;
    *status = pclose(p);
    return buf;
}

unsigned char *fs_test_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            cap = (n + 65536 + 1) * 2;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) { free(buf); fclose(f); return NULL; }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, 65536, f);
        n += r;
        if (r == 0) break;
    }
    fclose(f);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

static int cmp_entry(const void *a, const void *b) {
    const test_entry *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : strcmp(x->name, y->name);
}

static int selected(const test_entry *t, int argc, char **argv) {
    if (argc < 2) return 1;
    char full[512];
    snprintf(full, sizeof full, "%s:%s", t->file, t->name);
    for (int i = 1; i < argc; i++)
        if (strstr(full, argv[i])) return 1;
    return 0;
}

/* Under LeakSanitizer (make asan): the forked child ends with _exit, which skips LSan's at-exit
 * check, so the child asks for it explicitly (weak: NULL in a build without sanitizers). */
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static void check_leaks(const test_entry *t) {
    if (cur_failed || !__lsan_do_recoverable_leak_check) return;
    if (__lsan_do_recoverable_leak_check()) {
        fprintf(stderr, "    %s:%s: memory leaked (LeakSanitizer report above)\n", t->file, t->name);
        cur_failed = 1;
    }
}

/* 0 pass, 1 fail, 2 skip */
static int run_one(const test_entry *t) {
    if (getenv("FS_TEST_NOFORK")) {
        cur_failed = cur_skipped = 0;
        t->fn();
        return cur_failed ? 1 : cur_skipped ? 2 : 0;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        cur_failed = cur_skipped = 0;
        t->fn();
        check_leaks(t);
        fflush(NULL);
        _exit(cur_failed ? 1 : cur_skipped ? 2 : 0);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0) return 1;
    if (WIFSIGNALED(st)) {
        fprintf(stderr, "    crashed with signal %d\n", WTERMSIG(st));
        return 1;
    }
    int rc = WEXITSTATUS(st);
    return rc == 0 ? 0 : rc == 2 ? 2 : 1;
}

int main(int argc, char **argv) {
    qsort(tests, (size_t)n_tests, sizeof *tests, cmp_entry);
    int passed = 0, failed = 0, skipped = 0;
    for (int i = 0; i < n_tests; i++) {
        const test_entry *t = &tests[i];
        if (!selected(t, argc, argv)) continue;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        int r = run_one(t);
        clock_gettime(CLOCK_MONOTONIC, &b);
        double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
        const char *tag = r == 0 ? "ok  " : r == 1 ? "FAIL" : "skip";
        printf("%s %s:%s (%.0f ms)\n", tag, t->file, t->name, ms);
        fflush(stdout);
        if (r == 0) passed++; else if (r == 1) failed++; else skipped++;
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
