/* tests/cli/test_badinput_cli.c — issue 8 item 3, CLI side: every file of the bad-input corpus
 * (tests/web/badinput_corpus.c: truncated, zero-byte, a JPEG claiming 60000x60000, PNG decompression
 * bombs, GIF/SVG/HEIC/AVIF/TIFF/text named .jpg) given to `facescore score` and `facescore detect` gives
 * exit status 1 (never a signal) and one clear error line naming the file and the reason; the files
 * that do decode (a bomb within the pixel limit, a BMP named .jpg) exit 0 within bounded time and
 * memory. Needs FS_BIN (set by `make test`) and the models; skipped without them. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../test.h"
#include "../web/badinput_corpus.h"
#include "facescore.h"

static const char *bin(void) {
    const char *b = getenv("FS_BIN");
    return b && fs_test_exists(b) && fs_test_exists("samples/face.jpg") ? b : NULL;
}

/* the detector and the scorer `score` would load are there (else the tests skip) */
static int models_ok(void) {
    if (!fs_yunet_default_path()) return 0;
    fs_scorer_options o;
    fs_scorer_options_default(&o);
    fs_scorer *sc;
    if (fs_scorer_open(&o, &sc) != FS_OK) return 0;
    fs_scorer_free(sc);
    return 1;
}

static int sanitized(void) {
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 1;
#endif
#endif
    return 0;
}

typedef struct {
    int exited, rc, sig;
    long maxrss_kb;
    double secs;
    char *out, *err; /* malloc'ed */
} run_result;

static void run_free(run_result *r) { free(r->out); free(r->err); }

/* runs argv with stdout / stderr into files of dir; exit status, peak RSS (wait4) and wall time */
static int run(const char *dir, const char *const *argv, run_result *r) {
    memset(r, 0, sizeof *r);
    char op[256], ep[256];
    snprintf(op, sizeof op, "%s/stdout", dir);
    snprintf(ep, sizeof ep, "%s/stderr", dir);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int o = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0644), e = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0) _exit(126);
        dup2(o, 1);
        dup2(e, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) != pid) return -1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    r->exited = WIFEXITED(st);
    r->rc = r->exited ? WEXITSTATUS(st) : -1;
    r->sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    r->maxrss_kb = ru.ru_maxrss;
    size_t n;
    r->out = (char *)fs_test_read_file(op, &n);
    r->err = (char *)fs_test_read_file(ep, &n);
    return r->out && r->err ? 0 : -1;
}

static int write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t k = n ? fwrite(p, 1, n, f) : 0;
    return fclose(f) == 0 && k == n ? 0 : -1;
}

static void rm_tree(const char *dir) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) fprintf(stderr, "cannot remove %s\n", dir);
}

static int lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* stderr has a line "facescore...: PATH: ...WANT..." */
static void check_error_line(const char *err, const char *path, const char *cmd, const char *want) {
    char prefix[300];
    snprintf(prefix, sizeof prefix, " %s: ", path);
    const char *line = strstr(err, prefix);
    CHECK_MSG(line, "%s: no 'facescore...:%s' line on stderr:\n%s", cmd, prefix, err);
    const char *bol = line;
    while (bol > err && bol[-1] != '\n') bol--;
    CHECK_MSG(!strncmp(bol, "facescore", 9), "%s: error line does not start with facescore: %s", cmd, bol);
    const char *eol = strchr(line, '\n');
    CHECK_MSG(eol && memmem(line, (size_t)(eol - line), want, strlen(want)), "%s %s: error line lacks '%s': %.300s", cmd,
              path, want, bol);
}

static int count_lines_with(const char *s, const char *prefix) {
    int n = 0;
    for (const char *p = s; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
        n += !strncmp(p, prefix, strlen(prefix));
    return n;
}

/* one corpus file through one command: a failure is exit 1 with "facescore CMD: PATH: ...reason..." on
 * stderr and nothing on stdout but the disclaimer; a success is exit 0 with a result line */
static void check_one(const char *dir, const bi_case *c, const char *cmd, int json) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, c->name);
    const char *argv[6] = {bin(), cmd, path, NULL, NULL, NULL};
    if (json) { argv[2] = "--json"; argv[3] = path; }
    run_result r;
    CHECK_MSG(run(dir, argv, &r) == 0, "%s %s: cannot run", cmd, c->name);
    CHECK_MSG(r.exited, "%s %s: killed by signal %d\n%s", cmd, c->name, r.sig, r.err);
    double limit = sanitized() ? 120 : 30;
    CHECK_MSG(r.secs < limit, "%s %s: %.1f s", cmd, c->name, r.secs);
    if (c->cli_error) {
        CHECK_MSG(r.rc == 1, "%s %s: exit %d (want 1)\nstdout: %s\nstderr: %s", cmd, c->name, r.rc, r.out, r.err);
        check_error_line(r.err, path, cmd, c->cli_error);
        if (fs_test_failed()) return;
        CHECK_MSG(!strstr(r.out, path), "%s %s: a result was printed for a bad file: %s", cmd, c->name, r.out);
        CHECK_MSG(!strstr(r.err, "Sanitizer") && !strstr(r.err, "runtime error"), "%s", r.err);
    } else {
        CHECK_MSG(r.rc == 0 && strstr(r.out, path), "%s %s: exit %d\nstdout: %s\nstderr: %s", cmd, c->name, r.rc, r.out,
                  r.err);
        if (json) CHECK_MSG(lines(r.out) == 1 && strstr(r.out, "\"faces\":["), "%s", r.out);
    }
    run_free(&r);
}

static char *make_corpus_dir(bi_case **corpus, int *n) {
    static char dir[64];
    *n = bi_corpus(corpus);
    if (*n <= 0) return NULL;
    snprintf(dir, sizeof dir, "/tmp/fs_badinput_cli_XXXXXX");
    if (!mkdtemp(dir)) return NULL;
    for (int i = 0; i < *n; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, (*corpus)[i].name);
        if (write_file(path, (*corpus)[i].data, (*corpus)[i].len)) return NULL;
    }
    return dir;
}

/* all bad files in one `score` / `score --json` / `detect` run (one process each: the suite stays fast),
 * then one file alone, which must give exit status 1 by itself */
static void check_all(const char *dir, bi_case *corpus, int n, const char *cmd, int json) {
    const char *argv[48] = {bin(), cmd};
    char paths[40][256];
    int k = 2, nbad = 0;
    if (json) argv[k++] = "--json";
    for (int i = 0; i < n && k < 46 && nbad < 40; i++) {
        if (!corpus[i].cli_error) continue;
        snprintf(paths[nbad], sizeof paths[nbad], "%s/%s", dir, corpus[i].name);
        argv[k++] = paths[nbad++];
    }
    argv[k] = NULL;
    run_result r;
    CHECK_MSG(run(dir, argv, &r) == 0, "%s: cannot run", cmd);
    CHECK_MSG(r.exited, "%s: killed by signal %d\n%s", cmd, r.sig, r.err);
    CHECK_MSG(r.rc == 1, "%s: exit %d (want 1)\nstdout: %s\nstderr: %s", cmd, r.rc, r.out, r.err);
    CHECK_MSG(r.secs < (sanitized() ? 300 : 60), "%s: %.1f s", cmd, r.secs);
    CHECK_MSG(!strstr(r.err, "Sanitizer") && !strstr(r.err, "runtime error"), "%s", r.err);
    for (int i = 0, b = 0; i < n; i++) {
        if (!corpus[i].cli_error) continue;
        const char *path = paths[b++];
        check_error_line(r.err, path, cmd, corpus[i].cli_error);
        if (fs_test_failed()) break;
        CHECK_MSG(!strstr(r.out, path), "%s: a result was printed for %s: %s", cmd, path, r.out);
    }
    CHECK_MSG(count_lines_with(r.err, "facescore") == nbad, "%s: %d error lines for %d bad files:\n%s", cmd,
              count_lines_with(r.err, "facescore"), nbad, r.err);
    run_free(&r);
}

TEST(score_and_detect_give_a_clear_error_for_every_bad_file) {
    if (!bin()) SKIP("FS_BIN or samples/face.jpg missing");
    if (!models_ok()) SKIP("YuNet or the scorer's models missing");
    bi_case *corpus;
    int n;
    char *dir = make_corpus_dir(&corpus, &n);
    CHECK_MSG(dir && n >= 20, "cannot build the corpus (%d files)", n);
    check_all(dir, corpus, n, "score", 0);
    if (!fs_test_failed()) check_all(dir, corpus, n, "score", 1);
    if (!fs_test_failed()) check_all(dir, corpus, n, "detect", 0);
    /* alone: the exit status is that file's */
    for (int i = 0; i < n && !fs_test_failed(); i++)
        if (corpus[i].cli_error && (!strcmp(corpus[i].name, "empty.jpg") || !strncmp(corpus[i].name, "jpeg_claims", 11) ||
                                    !strcmp(corpus[i].name, "heic_named.jpg")))
            check_one(dir, &corpus[i], "score", 0);
    rm_tree(dir);
    bi_corpus_free(corpus, n);
}

/* the 157 KB PNG that inflates to 108 MB (6000x6000, within the 40 MP limit) and a BMP named .jpg:
 * both decode; the bomb in bounded memory (one RGB buffer and its working copies) */
TEST(decodable_odd_files_succeed_in_bounded_memory) {
    if (!bin()) SKIP("FS_BIN or samples/face.jpg missing");
    if (!models_ok()) SKIP("YuNet or the scorer's models missing");
    bi_case *corpus;
    int n;
    char *dir = make_corpus_dir(&corpus, &n);
    CHECK(dir && n > 0);
    for (int i = 0; i < n && !fs_test_failed(); i++) {
        if (corpus[i].cli_error) continue;
        if (strncmp(corpus[i].name, "png_bomb", 8)) { check_one(dir, &corpus[i], "score", 1); continue; }
        CHECK_MSG(corpus[i].len < 200000, "bomb is %zu bytes", corpus[i].len);
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, corpus[i].name);
        const char *argv[] = {bin(), "score", path, NULL};
        run_result r;
        CHECK(run(dir, argv, &r) == 0 && r.rc == 0);
        CHECK_MSG(strstr(r.out, "0 faces (6000x6000)"), "%s", r.out);
        /* 6000*6000*3 = 108 MB of pixels; allow the models plus two such buffers and slack */
        long bound_kb = sanitized() ? 2L << 20 : 600L << 10;
        CHECK_MSG(r.maxrss_kb < bound_kb, "peak RSS %ld KB over %ld KB", r.maxrss_kb, bound_kb);
        if (getenv("FS_TEST_VERBOSE"))
            fprintf(stderr, "    %s: %.2f s, peak RSS %ld KB\n", corpus[i].name, r.secs, r.maxrss_kb);
        run_free(&r);
    }
    rm_tree(dir);
    bi_corpus_free(corpus, n);
}

/* a folder mixing good and bad files: the good one is scored, each bad one named on stderr, exit 1 */
TEST(folder_with_bad_files_scores_the_good_ones) {
    if (!bin()) SKIP("FS_BIN or samples/face.jpg missing");
    if (!models_ok()) SKIP("YuNet or the scorer's models missing");
    char dir[] = "/tmp/fs_badinput_dir_XXXXXX";
    CHECK(mkdtemp(dir));
    char sub[96], p[160];
    snprintf(sub, sizeof sub, "%s/photos", dir);
    CHECK(mkdir(sub, 0755) == 0);
    size_t jl;
    unsigned char *jpg = fs_test_read_file("samples/face.jpg", &jl);
    CHECK(jpg);
    snprintf(p, sizeof p, "%s/a_good.jpg", sub);
    CHECK(write_file(p, jpg, jl) == 0);
    snprintf(p, sizeof p, "%s/b_empty.jpg", sub);
    CHECK(write_file(p, "", 0) == 0);
    snprintf(p, sizeof p, "%s/c_half.jpg", sub);
    CHECK(write_file(p, jpg, jl / 2) == 0);
    free(jpg);
    const char *argv[] = {bin(), "score", "--csv", sub, "/nonexistent/photo.jpg", NULL};
    run_result r;
    CHECK(run(dir, argv, &r) == 0);
    CHECK_MSG(r.exited && r.rc == 1, "exit %d sig %d: %s", r.rc, r.sig, r.err);
    CHECK_MSG(strstr(r.out, "a_good.jpg\",1,") && strstr(r.out, "a_good.jpg\",4,"), "%s", r.out);
    CHECK_MSG(strstr(r.err, "b_empty.jpg: ") && strstr(r.err, "empty") && strstr(r.err, "c_half.jpg: ") &&
                  strstr(r.err, "truncated") && strstr(r.err, "/nonexistent/photo.jpg: "),
              "%s", r.err);
    run_free(&r);
    rm_tree(dir);
}
