/* cli/detect.c — `facescore detect` and `facescore bench detect`. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "facescore.h"

typedef struct {
    const char *cascade;
    fs_haar_params hp;
    int json;
    const char *draw;
    int reps;
} detect_opts;

static void detect_usage(FILE *f) {
    fprintf(f,
            "usage: facescore detect [options] IMAGE...\n"
            "  --detector haar       detector (only haar for now)\n"
            "  --cascade FILE        OpenCV cascade XML (default: $FACESCORE_CASCADE, models/opencv/,\n"
            "                        /usr/share/opencv4/haarcascades/)\n"
            "  --scale-factor F      pyramid step (default 1.03)\n"
            "  --min-neighbors N     grouping threshold (default 6)\n"
            "  --min-size N          smallest face, pixels (default none)\n"
            "  --max-size N          largest face, pixels (default none)\n"
            "  --threads N           worker threads (default: all cores)\n"
            "  --json                one JSON object per image per line\n"
            "  --draw OUT.jpg        write the image with the boxes drawn (several images: OUT-1.jpg, ...)\n"
            "Per image: result code (0 no face, 1 more than one, 2 exactly one) and boxes x y w h, largest first.\n"
            "Exit status 1 if any image failed.\n");
}

/* Parses the shared options; returns the index of the first positional argument, or -1. */
static int parse_opts(int argc, char **argv, detect_opts *o, int bench) {
    memset(o, 0, sizeof *o);
    fs_haar_params_default(&o->hp);
    o->reps = 10;
    if (bench) o->hp.threads = 1;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int sz;
        if (!strcmp(a, "--")) { i++; break; }
        if (a[0] != '-' || !a[1]) break;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { detect_usage(stdout); exit(0); }
        if (!strcmp(a, "--json") && !bench) { o->json = 1; continue; }
        if (!v) { fprintf(stderr, "facescore: %s needs a value\n", a); return -1; }
        if (!strcmp(a, "--detector")) {
            if (strcmp(v, "haar")) { fprintf(stderr, "facescore: unknown detector '%s' (have: haar)\n", v); return -1; }
        } else if (!strcmp(a, "--cascade")) {
            o->cascade = v;
        } else if (!strcmp(a, "--scale-factor")) {
            if (fs_cli_parse_double(a, v, 1.0001, 10.0, &o->hp.scale_factor)) return -1;
        } else if (!strcmp(a, "--min-neighbors")) {
            if (fs_cli_parse_int(a, v, 0, 1000, &o->hp.min_neighbors)) return -1;
        } else if (!strcmp(a, "--min-size")) {
            if (fs_cli_parse_int(a, v, 0, 100000, &sz)) return -1;
            o->hp.min_w = o->hp.min_h = sz;
        } else if (!strcmp(a, "--max-size")) {
            if (fs_cli_parse_int(a, v, 0, 100000, &sz)) return -1;
            o->hp.max_w = o->hp.max_h = sz;
        } else if (!strcmp(a, "--threads")) {
            if (fs_cli_parse_int(a, v, 0, 256, &o->hp.threads)) return -1;
        } else if (!strcmp(a, "--draw") && !bench) {
            o->draw = v;
        } else if (!strcmp(a, "--reps") && bench) {
            if (fs_cli_parse_int(a, v, 1, 100000, &o->reps)) return -1;
        } else {
            fprintf(stderr, "facescore: unknown option '%s'\n", a);
            return -1;
        }
        i++;
    }
    return i;
}

static fs_cascade *load_cascade(const char *path) {
    if (!path) path = fs_cascade_default_path();
    fs_cascade *c;
    if (fs_cascade_load(path, &c)) {
        fprintf(stderr, "facescore: %s\n", fs_last_error());
        return NULL;
    }
    return c;
}

static char *draw_name(const char *out, int idx, int n) {
    size_t len = strlen(out) + 16;
    char *s = malloc(len);
    if (!s) return NULL;
    if (n == 1) { snprintf(s, len, "%s", out); return s; }
    const char *dot = strrchr(out, '.');
    if (!dot || strchr(dot, '/')) dot = out + strlen(out);
    snprintf(s, len, "%.*s-%d%s", (int)(dot - out), out, idx + 1, dot);
    return s;
}

static void print_result(const char *file, const fs_image *img, const fs_detections *d, int json) {
    if (json) {
        printf("{\"file\":");
        fs_cli_json_string(stdout, file);
        printf(",\"width\":%d,\"height\":%d,\"code\":%d,\"largest\":%d,\"detector\":\"haar\",\"faces\":[",
               img->width, img->height, d->code, d->largest);
        for (int i = 0; i < d->n; i++) {
            const fs_rect *b = &d->faces[i].box;
            printf("%s{\"box\":[%d,%d,%d,%d]}", i ? "," : "", (int)b->x, (int)b->y, (int)b->w, (int)b->h);
        }
        printf("]}\n");
    } else {
        printf("%s: code %d, %d face%s (%dx%d)\n", file, d->code, d->n, d->n == 1 ? "" : "s", img->width, img->height);
        for (int i = 0; i < d->n; i++) {
            const fs_rect *b = &d->faces[i].box;
            printf("  box %d %d %d %d%s\n", (int)b->x, (int)b->y, (int)b->w, (int)b->h, i == d->largest ? "  (largest)" : "");
        }
    }
    fflush(stdout);
}

static int draw_boxes(const char *file, fs_image *img, const fs_detections *d, const char *out) {
    for (int i = 0; i < d->n; i++) {
        const fs_rect *b = &d->faces[i].box;
        int th = img->width > 800 ? 3 : 2;
        fs_image_draw_rect(img, (int)b->x, (int)b->y, (int)b->w, (int)b->h, th,
                           i == d->largest ? 0 : 255, i == d->largest ? 255 : 160, 0);
    }
    if (fs_image_save(img, out)) {
        fprintf(stderr, "facescore: %s: cannot write %s: %s\n", file, out, fs_last_error());
        return -1;
    }
    return 0;
}

int fs_cli_detect(int argc, char **argv) {
    detect_opts o;
    int first = parse_opts(argc, argv, &o, 0);
    if (first < 0) return 2;
    if (first >= argc) { detect_usage(stderr); return 2; }
    fs_cascade *c = load_cascade(o.cascade);
    if (!c) return 2;
    int nimg = argc - first, failed = 0;
    for (int k = 0; k < nimg; k++) {
        const char *file = argv[first + k];
        fs_image img = {0};
        fs_detections d;
        if (fs_image_load(file, 3, NULL, &img)) {
            fprintf(stderr, "facescore: %s: %s\n", file, fs_last_error());
            failed++;
            continue;
        }
        if (fs_haar_detect(c, &img, &o.hp, &d)) {
            fprintf(stderr, "facescore: %s: %s\n", file, fs_last_error());
            fs_image_free(&img);
            failed++;
            continue;
        }
        print_result(file, &img, &d, o.json);
        if (o.draw) {
            char *out = draw_name(o.draw, k, nimg);
            if (!out || draw_boxes(file, &img, &d, out)) failed++;
            free(out);
        }
        fs_detections_free(&d);
        fs_image_free(&img);
    }
    fs_cascade_free(c);
    return failed ? 1 : 0;
}

int fs_cli_bench_detect(int argc, char **argv) {
    detect_opts o;
    int first = parse_opts(argc, argv, &o, 1);
    if (first < 0) return 2;
    if (first != argc - 1) {
        fprintf(stderr, "usage: facescore bench detect [--threads N] [--reps N] [--scale-factor F] "
                        "[--min-neighbors N] [--min-size N] [--max-size N] [--cascade FILE] IMAGE\n");
        return 2;
    }
    const char *file = argv[first];
    fs_cascade *c = load_cascade(o.cascade);
    if (!c) return 2;
    fs_image img = {0}, gray = {0};
    if (fs_image_load(file, 3, NULL, &img) || fs_image_to_gray(&img, &gray)) {
        fprintf(stderr, "facescore: %s: %s\n", file, fs_last_error());
        fs_image_free(&img);
        fs_cascade_free(c);
        return 1;
    }
    double *t = malloc(sizeof *t * (size_t)o.reps);
    fs_detections d = {0};
    int rc = 0;
    if (!t || fs_haar_detect(c, &gray, &o.hp, &d)) { /* warm-up run */
        fprintf(stderr, "facescore: %s: %s\n", file, t ? fs_last_error() : "out of memory");
        rc = 1;
        goto done;
    }
    int nfaces = d.n;
    fs_detections_free(&d);
    for (int r = 0; r < o.reps; r++) {
        double t0 = fs_cli_now_ms();
        if (fs_haar_detect(c, &gray, &o.hp, &d)) { rc = 1; goto done; }
        t[r] = fs_cli_now_ms() - t0;
        fs_detections_free(&d);
    }
    double mn = t[0], mx = t[0];
    for (int r = 1; r < o.reps; r++) { if (t[r] < mn) mn = t[r]; if (t[r] > mx) mx = t[r]; }
    double med = fs_cli_median(t, o.reps);
    printf("image %s %dx%d, scale_factor %g, min_neighbors %d, threads %d, kernels %s\n", file, img.width,
           img.height, o.hp.scale_factor, o.hp.min_neighbors, o.hp.threads, fs_haar_kernel_name(c));
    printf("faces %d\n", nfaces);
    printf("reps %d: min_ms %.3f max_ms %.3f\n", o.reps, mn, mx);
    printf("median_ms %.3f\n", med);
done:
    free(t);
    fs_image_free(&img);
    fs_image_free(&gray);
    fs_cascade_free(c);
    return rc;
}
