/* score/paths.c — see paths.h. */
#include "score/paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int exists(const char *dir, const char *rel) {
    char p[PATH_MAX + 256];
    if (snprintf(p, sizeof p, "%s/%s", dir, rel) >= (int)sizeof p) return 0;
    struct stat st;
    return !stat(p, &st) && S_ISREG(st.st_mode);
}

void sc_dirname(const char *path, char *out, size_t n) {
    const char *s = strrchr(path, '/');
    if (!s) snprintf(out, n, ".");
    else if (s == path) snprintf(out, n, "/");
    else snprintf(out, n, "%.*s", (int)(s - path), path);
}

int sc_models_dir_for(const char *rel, char *out, size_t n) {
    char cand[6][PATH_MAX];
    int k = 0;
    const char *e = getenv("FACESCORE_MODELS");
    if (e && *e) snprintf(cand[k++], PATH_MAX, "%s", e);
    snprintf(cand[k++], PATH_MAX, "models");
    char exe[PATH_MAX];
    ssize_t r = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (r > 0) {
        exe[r] = 0;
        char *sl = strrchr(exe, '/');
        if (sl) {
            *sl = 0;
            snprintf(cand[k++], PATH_MAX, "%.*s/../models", PATH_MAX - 16, exe);
            snprintf(cand[k++], PATH_MAX, "%.*s/../share/facescore/models", PATH_MAX - 32, exe);
        }
    }
    snprintf(cand[k++], PATH_MAX, "/usr/local/share/facescore/models");
    snprintf(cand[k++], PATH_MAX, "/usr/share/facescore/models");
    for (int i = 0; i < k; i++)
        if (exists(cand[i], rel)) { snprintf(out, n, "%s", cand[i]); return 0; }
    return -1;
}
