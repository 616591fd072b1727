/* tests/nn/test_graph_noalloc.c — steady-state runs allocate nothing.
 *
 * How: this file interposes malloc/calloc/realloc/free/aligned_alloc/posix_memalign/memalign for the
 * test binary, forwarding to glibc's __libc_* entry points and counting calls (all threads) while
 * `counting` is set. A model is planned and run once (warm-up), then counted over several runs
 * (1 and 2 threads). Skipped under sanitizers (which own malloc) and off glibc. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "facescore.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define FS_NO_MALLOC_SHIM 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || !defined(__GLIBC__)
#define FS_NO_MALLOC_SHIM 1
#endif

static atomic_int counting;
static atomic_long n_allocs;

#ifndef FS_NO_MALLOC_SHIM
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static void count(void) {
    if (atomic_load_explicit(&counting, memory_order_relaxed)) atomic_fetch_add(&n_allocs, 1);
}
void *malloc(size_t n) { count(); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { count(); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { count(); return __libc_realloc(p, n); }
void free(void *p) { if (p) count(); __libc_free(p); }
void *aligned_alloc(size_t al, size_t n) { count(); return __libc_memalign(al, n); }
void *memalign(size_t al, size_t n) { count(); return __libc_memalign(al, n); }
int posix_memalign(void **p, size_t al, size_t n) {
    count();
    *p = __libc_memalign(al, n);
    return *p ? 0 : 12;
}
#endif

/* Shared with other tests in this binary (tests/train/test_ft_noalloc.c): count allocations of all
 * threads between start and stop; returns -1 when the shim is disabled. */
void fs_test_alloc_count_start(void) {
    atomic_store(&n_allocs, 0);
    atomic_store(&counting, 1);
}
long fs_test_alloc_count_stop(void) {
    atomic_store(&counting, 0);
#ifdef FS_NO_MALLOC_SHIM
    return -1;
#else
    return atomic_load(&n_allocs);
#endif
}

static long counted_runs(fs_model *m, int runs) {
    atomic_store(&n_allocs, 0);
    atomic_store(&counting, 1);
    for (int i = 0; i < runs; i++)
        if (fs_model_run(m) != FS_OK) { atomic_store(&counting, 0); return -1; }
    atomic_store(&counting, 0);
    return atomic_load(&n_allocs);
}

static void check_model(const char *rel, const char *keep) {
    char *p = fs_test_shared(rel);
    fs_model *m;
    if (!fs_test_exists(p)) { fs_test_skip("no ../shared model"); return; }
    if (fs_model_load(p, &m)) { fs_test_fail(__FILE__, __LINE__, "%s", fs_last_error()); return; }
    if (keep && fs_model_keep_tensor(m, keep)) { fs_test_fail(__FILE__, __LINE__, "keep"); return; }
    size_t n;
    float *x = fs_model_input(m, 0, &n);
    if (!x) { fs_test_fail(__FILE__, __LINE__, "%s", fs_last_error()); return; }
    for (size_t i = 0; i < n; i++) x[i] = (float)(i % 255) / 127.5f - 1.0f;
    /* the shim must see allocations at all: planning allocates */
    atomic_store(&n_allocs, 0);
    atomic_store(&counting, 1);
    fs_model *m2;
    fs_status st = fs_model_load(p, &m2);
    atomic_store(&counting, 0);
    if (st == FS_OK) fs_model_free(m2);
    long load_allocs = atomic_load(&n_allocs);
    if (fs_model_run(m) != FS_OK) { fs_test_fail(__FILE__, __LINE__, "%s", fs_last_error()); return; }
    long a1 = counted_runs(m, 5);
    fs_model_set_threads(m, 2);
    fs_model_run(m); /* warm-up: the pool's threads start */
    long a2 = counted_runs(m, 5);
    fs_model_free(m);
    fprintf(stderr, "    %s: load %ld allocations; 5 runs: %ld (1 thread), %ld (2 threads)\n", rel, load_allocs, a1, a2);
    if (load_allocs <= 0) { fs_test_fail(__FILE__, __LINE__, "malloc shim saw no allocation while loading"); return; }
    if (a1 != 0 || a2 != 0) fs_test_fail(__FILE__, __LINE__, "runs allocated (%ld, %ld)", a1, a2);
}

TEST(steady_state_runs_allocate_nothing_mobilenetv2) {
#ifdef FS_NO_MALLOC_SHIM
    SKIP("malloc shim disabled (sanitizer or not glibc)");
#endif
    check_model("models/mobilenet_v2_imagenet/mobilenet_v2_1.0_224_quant.tflite", "#169");
}

TEST(steady_state_runs_allocate_nothing_blazeface) {
#ifdef FS_NO_MALLOC_SHIM
    SKIP("malloc shim disabled (sanitizer or not glibc)");
#endif
    check_model("models/mediapipe_blazeface/face_detection_full_range.tflite", NULL);
}

TEST(steady_state_batch_allocates_nothing) {
#ifdef FS_NO_MALLOC_SHIM
    SKIP("malloc shim disabled (sanitizer or not glibc)");
#endif
    char *p = fs_test_shared("models/mediapipe_blazeface/face_detection_short_range.tflite");
    fs_model *m;
    if (!fs_test_exists(p)) SKIP("no ../shared model");
    CHECK(fs_model_load(p, &m) == FS_OK);
    size_t nin = 128 * 128 * 3, nout = 896 * 16;
    float *in = calloc(4 * nin, sizeof(float)), *out = calloc(4 * nout, sizeof(float));
    CHECK(in && out);
    for (size_t i = 0; i < 4 * nin; i++) in[i] = (float)((i * 7) % 255) / 127.5f - 1.0f;
    CHECK(fs_model_run_batch(m, 1, in, nin, "regressors", out, nout) == FS_OK); /* plans */
    atomic_store(&n_allocs, 0);
    atomic_store(&counting, 1);
    fs_status st = fs_model_run_batch(m, 4, in, nin, "regressors", out, nout);
    atomic_store(&counting, 0);
    CHECK(st == FS_OK);
    CHECK(atomic_load(&n_allocs) == 0);
    /* each batch item equals a single run on that item */
    float *x = fs_model_input(m, 0, NULL);
    memcpy(x, in + 3 * nin, nin * sizeof(float));
    CHECK(fs_model_run(m) == FS_OK);
    size_t n;
    const float *y = fs_model_output(m, 0, &n);
    CHECK(y && n == nout);
    CHECK(!memcmp(y, out + 3 * nout, nout * sizeof(float)));
    free(in);
    free(out);
    fs_model_free(m);
}
