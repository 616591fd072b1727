/* core/progress.c — see progress.h. */
#include "core/progress.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double prog_now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void prog_hms(char *buf, size_t n, double s) {
    if (!(s >= 0) || s > 1e7) { snprintf(buf, n, "--:--"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

void fs_progress_format(char *buf, size_t n, const char *label, int64_t done, int64_t total,
                        double elapsed_s) {
    enum { W = 24 };
    double frac = total > 0 ? (double)done / (double)total : 0;
    if (frac > 1) frac = 1;
    char bar[W + 1];
    int fill = (int)(frac * W);
    for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '.';
    bar[W] = 0;
    double rate = elapsed_s > 0 ? (double)done / elapsed_s : 0;
    char eta[32], el[32];
    prog_hms(eta, sizeof eta, rate > 0 ? (double)(total - done) / rate : -1);
    prog_hms(el, sizeof el, elapsed_s);
    snprintf(buf, n, "%s [%s] %3d%% %lld/%lld %.1f/s elapsed %s ETA %s", label ? label : "", bar,
             (int)(frac * 100), (long long)done, (long long)total, rate, el, eta);
}

static void prog_draw(fs_progress *p, int final) {
    char line[256];
    fs_progress_format(line, sizeof line, p->label, p->done, p->total,
                       (prog_now_ms() - p->t0_ms) / 1e3);
    fprintf(p->out, "\r%s\033[K%s", line, final ? "\n" : "");
    fflush(p->out);
}

void fs_progress_start(fs_progress *p, const char *label, int64_t total) {
    memset(p, 0, sizeof *p);
    p->label = label;
    p->total = total;
    p->out = stderr;
    const char *force = getenv("FS_PROGRESS");
    p->enabled = force ? atoi(force) != 0 : isatty(fileno(stderr));
    p->t0_ms = p->last_draw_ms = prog_now_ms();
    pthread_mutex_init(&p->mu, NULL);
}

void fs_progress_add(fs_progress *p, int64_t n) {
    pthread_mutex_lock(&p->mu);
    p->done += n;
    if (p->enabled) {
        double t = prog_now_ms();
        if (t - p->last_draw_ms >= 100 || p->done >= p->total) {
            p->last_draw_ms = t;
            prog_draw(p, 0);
        }
    }
    pthread_mutex_unlock(&p->mu);
}

void fs_progress_finish(fs_progress *p) {
    pthread_mutex_lock(&p->mu);
    if (p->enabled) prog_draw(p, 1);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_destroy(&p->mu);
}
