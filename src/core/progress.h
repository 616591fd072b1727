/* core/progress.h — a one-line progress bar with rate and ETA for long work (batch detection,
 * feature extraction, training). Draws on stderr only when it is a terminal (or when forced), at
 * most ~10 times a second; thread-safe updates.
 *
 *   fs_progress p; fs_progress_start(&p, "detect", n_items);
 *   ... fs_progress_add(&p, 1); ...
 *   fs_progress_finish(&p);
 */
#ifndef FS_CORE_PROGRESS_H
#define FS_CORE_PROGRESS_H
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    const char *label;
    int64_t total, done;
    double t0_ms, last_draw_ms;
    int enabled;
    FILE *out;
    pthread_mutex_t mu;
} fs_progress;

void fs_progress_start(fs_progress *p, const char *label, int64_t total);
void fs_progress_add(fs_progress *p, int64_t n);
void fs_progress_finish(fs_progress *p);
/* Formats "[#####.....]  50%  123/246  41.0/s  ETA 0:03" into buf (for tests and drawing). */
void fs_progress_format(char *buf, size_t n, const char *label, int64_t done, int64_t total,
                        double elapsed_s);
#endif
