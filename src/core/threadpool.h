/* core/threadpool.h — a fixed pool of workers running parallel-for jobs.
 *
 *   fs_pool *p = fs_pool_create(4);          // 4 threads in all, the caller counts as one
 *   fs_pool_run(p, n_tasks, fn, ctx);        // fn(ctx, task, thread) for task in [0,n_tasks)
 *   fs_pool_free(p);
 *
 * fs_pool_run blocks until every task is done; tasks are handed out dynamically (atomic counter).
 * A NULL pool or 1 thread runs everything on the caller. Not reentrant: one run at a time per pool.
 * Steady-state runs allocate nothing. */
#ifndef FS_CORE_THREADPOOL_H
#define FS_CORE_THREADPOOL_H

typedef struct fs_pool fs_pool;
typedef void (*fs_pool_fn)(void *ctx, int task, int thread);

fs_pool *fs_pool_create(int n_threads); /* n_threads <= 0: number of online CPUs */
void     fs_pool_free(fs_pool *p);
int      fs_pool_size(const fs_pool *p); /* threads incl. the caller; 1 for NULL */
void     fs_pool_run(fs_pool *p, int n_tasks, fs_pool_fn fn, void *ctx);
int      fs_cpu_count(void);
#endif
