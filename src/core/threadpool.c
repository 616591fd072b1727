/* core/threadpool.c — see threadpool.h. Workers sleep on a condition variable between jobs. */
#include "core/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

struct fs_pool {
    int n;                 /* threads incl. caller */
    pthread_t *threads;    /* n-1 workers */
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    unsigned long gen;     /* job generation */
    int stop;
    int active;            /* workers still in the current job */
    /* current job */
    fs_pool_fn fn;
    void *ctx;
    int n_tasks;
    atomic_int next;
};

int fs_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

static void pool_work(fs_pool *p, int thread) {
    for (;;) {
        int t = atomic_fetch_add(&p->next, 1);
        if (t >= p->n_tasks) break;
        p->fn(p->ctx, t, thread);
    }
}

typedef struct { fs_pool *p; int id; } pool_arg;

static void *pool_main(void *arg) {
    fs_pool *p = ((pool_arg *)arg)->p;
    int id = ((pool_arg *)arg)->id;
    free(arg);
    unsigned long seen = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->stop && p->gen == seen) pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) { pthread_mutex_unlock(&p->mu); return NULL; }
        seen = p->gen;
        pthread_mutex_unlock(&p->mu);
        pool_work(p, id);
        pthread_mutex_lock(&p->mu);
        if (--p->active == 0) pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
}

fs_pool *fs_pool_create(int n_threads) {
    if (n_threads <= 0) n_threads = fs_cpu_count();
    fs_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    if (n_threads > 1) {
        p->threads = calloc((size_t)n_threads - 1, sizeof *p->threads);
        if (!p->threads) { p->n = 1; return p; }
        for (int i = 0; i < n_threads - 1; i++) {
            pool_arg *a = malloc(sizeof *a);
            if (!a || (a->p = p, a->id = i + 1, pthread_create(&p->threads[i], NULL, pool_main, a))) {
                free(a);
                p->n = i + 1; /* keep the workers that did start */
                break;
            }
        }
    }
    return p;
}

void fs_pool_free(fs_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n - 1; i++) pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p);
}

int fs_pool_size(const fs_pool *p) { return p ? p->n : 1; }

void fs_pool_run(fs_pool *p, int n_tasks, fs_pool_fn fn, void *ctx) {
    if (n_tasks <= 0) return;
    if (!p || p->n == 1 || n_tasks == 1) {
        for (int t = 0; t < n_tasks; t++) fn(ctx, t, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    atomic_store(&p->next, 0);
    p->active = p->n - 1;
    p->gen++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    pool_work(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->active > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
