/* tests/image/imgt.c — helpers for the image tests (see imgt.h). */
#include "imgt.h"

#include "../test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

imgt_ref *imgt_refs(int *n) {
    *n = 0;
    FILE *f = fopen(IMGT_DIR "refs.txt", "r");
    if (!f) return NULL;
    imgt_ref *r = NULL;
    int cap = 0;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        imgt_ref e;
        unsigned long long h;
        if (sscanf(line, "%15s %127s %d %d %d %llx", e.kind, e.file, &e.w, &e.h, &e.c, &h) != 6) continue;
        e.hash = h;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            imgt_ref *nr = realloc(r, (size_t)cap * sizeof *r);
            if (!nr) break;
            r = nr;
        }
        r[(*n)++] = e;
    }
    fclose(f);
    return r;
}

int imgt_warp_matrix(const char *name, double m[6]) {
    FILE *f = fopen(IMGT_DIR "refs.txt", "r");
    if (!f) return 0;
    char line[512], kind[16], nm[64];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        if (sscanf(line, "%15s %63s %lf %lf %lf %lf %lf %lf", kind, nm, &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) == 8 &&
            !strcmp(kind, "warpm") && !strcmp(nm, name))
            found = 1;
    fclose(f);
    return found;
}

char *imgt_ref_path(const char *file) {
    if (!strncmp(file, "shared:", 7)) return fs_test_shared(file + 7);
    size_t n = strlen(file) + sizeof IMGT_DIR + 1;
    char *p = malloc(n);
    if (!p) return NULL;
    if (!strncmp(file, "repo:", 5)) snprintf(p, n, "%s", file + 5);
    else snprintf(p, n, "%s%s", IMGT_DIR, file);
    return p;
}

const char *imgt_path(const char *name) {
    static char buf[512];
    snprintf(buf, sizeof buf, "%s%s", IMGT_DIR, name);
    return buf;
}

uint64_t imgt_hash(const fs_image *img) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (int y = 0; y < img->height; y++) {
        const uint8_t *p = img->data + (size_t)y * img->stride;
        for (int x = 0; x < img->width * img->channels; x++) {
            h ^= p[x];
            h *= 0x100000001b3ull;
        }
    }
    return h;
}

int imgt_read_pnm(const char *path, fs_image *img) {
    size_t len;
    unsigned char *d = fs_test_read_file(path, &len);
    if (!d) return -1;
    int w, h, maxv, pos = 0;
    char t;
    int rc = -1;
    if (sscanf((char *)d, "P%c %d %d %d%n", &t, &w, &h, &maxv, &pos) == 4 && (t == '5' || t == '6') && maxv == 255) {
        int c = t == '6' ? 3 : 1;
        pos++; /* one whitespace byte after maxval */
        if ((size_t)pos + (size_t)w * h * c <= len && fs_image_alloc(img, w, h, c) == FS_OK) {
            for (int y = 0; y < h; y++)
                memcpy(img->data + (size_t)y * img->stride, d + pos + (size_t)y * w * c, (size_t)w * c);
            rc = 0;
        }
    }
    free(d);
    return rc;
}

int imgt_max_diff(const fs_image *a, const fs_image *b) {
    if (a->width != b->width || a->height != b->height || a->channels != b->channels) return -1;
    int m = 0;
    for (int y = 0; y < a->height; y++)
        for (int x = 0; x < a->width * a->channels; x++) {
            int d = a->data[(size_t)y * a->stride + x] - b->data[(size_t)y * b->stride + x];
            if (d < 0) d = -d;
            if (d > m) m = d;
        }
    return m;
}

const uint8_t *imgt_px(const fs_image *img, int x, int y) {
    return img->data + (size_t)y * img->stride + (size_t)x * img->channels;
}

uint64_t imgt_rand(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}
