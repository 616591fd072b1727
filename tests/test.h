/* tests/test.h — the suite's tiny test framework.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_NEAR(a, b, 1e-4); if (!have) SKIP("no data"); }
 *
 * Tests register themselves (constructor); tests/main.c runs each in a forked child (a crash fails
 * only that test), prints one line per failure and ends with "N passed, N failed, N skipped".
 * ./build/facescore_tests [SUBSTRING...] runs only tests whose "file:name" contains a substring.
 * FS_TEST_NOFORK=1 runs in-process (for gdb). */
#ifndef FS_TEST_H
#define FS_TEST_H
#include <math.h>
#include <stdio.h>

typedef void (*fs_test_fn)(void);
void fs_test_register(const char *file, const char *name, fs_test_fn fn);
void fs_test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void fs_test_skip(const char *reason);
int  fs_test_failed(void); /* has the current test failed so far */

/* Path of a file under ../shared (or $FS_SHARED_DIR); NULL-safe static buffer per call site is not
 * needed: returns a malloc'ed string the test may leak. */
char *fs_test_shared(const char *rel);
/* 1 if the path exists. */
int fs_test_exists(const char *path);
/* Reads a whole file; returns malloc'ed bytes (NUL-terminated) or NULL. */
unsigned char *fs_test_read_file(const char *path, size_t *len);
/* Runs a shell command (popen); returns its stdout (first 64 KiB, malloc'ed, NUL-terminated) or NULL,
 * *status = pclose's raw wait status (0 = exit 0; WEXITSTATUS for the code). */
char *fs_test_run(const char *cmd, int *status);

#define TEST(name)                                                                  \
    static void test_##name(void);                                                  \
    __attribute__((constructor)) static void test_register_##name(void) {           \
        fs_test_register(__FILE__, #name, test_##name);                             \
    }                                                                               \
    static void test_##name(void)

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) { fs_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); return; } \
    } while (0)

#define CHECK_MSG(cond, ...)                                                        \
    do {                                                                            \
        if (!(cond)) { fs_test_fail(__FILE__, __LINE__, __VA_ARGS__); return; }     \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                       \
    do {                                                                            \
        double a_ = (double)(a), b_ = (double)(b);                                  \
        if (!(fabs(a_ - b_) <= (tol))) {                                            \
            fs_test_fail(__FILE__, __LINE__, "%s = %.9g, %s = %.9g, |diff| > %g",    \
                         #a, a_, #b, b_, (double)(tol));                            \
            return;                                                                 \
        }                                                                           \
    } while (0)

#define SKIP(reason) do { fs_test_skip(reason); return; } while (0)

#endif
