/* tests/core — error reporting, thread pool, CPU detection. */
#include "../test.h"

#include <stdatomic.h>
#include <string.h>

#include "core/cpu.h"
#include "core/error.h"
#include "core/threadpool.h"

TEST(error_message_and_prefix) {
    CHECK(fs_error(FS_ERR_FORMAT, "bad %s %d", "chunk", 7) == FS_ERR_FORMAT);
    CHECK(strcmp(fs_last_error(), "bad chunk 7") == 0);
    fs_error_prefix("%s: ", "a.png");
    CHECK(strcmp(fs_last_error(), "a.png: bad chunk 7") == 0);
    CHECK(strcmp(fs_strerror(FS_ERR_LIMIT), "size limit exceeded") == 0);
    fs_error_clear();
    CHECK(fs_last_error()[0] == 0);
}

typedef struct { atomic_int hits[1000]; atomic_int threads_seen[8]; } pool_ctx;

static void pool_task(void *ctx, int task, int thread) {
    pool_ctx *c = ctx;
    atomic_fetch_add(&c->hits[task], 1);
    if (thread >= 0 && thread < 8) atomic_fetch_add(&c->threads_seen[thread], 1);
}

TEST(threadpool_runs_every_task_once) {
    for (int nt = 1; nt <= 4; nt++) {
        fs_pool *p = fs_pool_create(nt);
        CHECK(p != NULL);
        CHECK(fs_pool_size(p) == nt);
        for (int rep = 0; rep < 20; rep++) {
            static pool_ctx c;
            memset(&c, 0, sizeof c);
            int n = 1 + rep * 37;
            fs_pool_run(p, n, pool_task, &c);
            for (int i = 0; i < 1000; i++) CHECK(atomic_load(&c.hits[i]) == (i < n ? 1 : 0));
        }
        fs_pool_free(p);
    }
}

TEST(cpu_level_is_named) {
    const char *n = fs_cpu_level_name();
    CHECK(!strcmp(n, "avx512") || !strcmp(n, "avx2") || !strcmp(n, "neon") || !strcmp(n, "portable"));
}

#include "core/progress.h"

TEST(progress_format_shows_rate_and_eta) {
    char buf[256];
    fs_progress_format(buf, sizeof buf, "detect", 50, 200, 10.0);
    /* 50 items in 10 s = 5/s; 150 left = 30 s */
    CHECK_MSG(strstr(buf, " 25% 50/200 5.0/s") != NULL, "got '%s'", buf);
    CHECK_MSG(strstr(buf, "ETA 0:30") != NULL, "got '%s'", buf);
    CHECK_MSG(strstr(buf, "[######..................]") != NULL, "got '%s'", buf);
    fs_progress_format(buf, sizeof buf, "x", 0, 10, 0.0);
    CHECK_MSG(strstr(buf, "ETA --:--") != NULL, "got '%s'", buf);
    fs_progress_format(buf, sizeof buf, "x", 7200, 7200, 3725.0);
    CHECK_MSG(strstr(buf, "100%") && strstr(buf, "elapsed 1:02:05"), "got '%s'", buf);
}
