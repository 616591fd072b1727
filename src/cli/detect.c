/* cli/detect.c — `facescore detect` and `facescore bench detect` (YuNet or Haar, through the
 * fs_detector API; aligned crops with fs_face_align). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "facescore.h"

typedef struct {
    fs_detector_options det;
    fs_align_params align;
    int json;
    const char *draw;   /* --draw OUT */
    const char *crops;  /* --crops DIR */
    int crop_size;      /* --crop-size, 0 = default 224 */
    float crop_margin;  /* --crop-margin, < 0 = the size's default */
    int reps;
} detect_opts;

static void detect_usage(FILE *f) {
    fprintf(f,
            "usage: facescore detect [options] IMAGE...\n"
            "  --detector yunet|haar detector (default yunet)\n"
            "  --model FILE          YuNet ONNX model (default: $FACESCORE_MODELS/yunet/, models/yunet/, ...)\n"
            "  --threshold F         YuNet: minimum confidence (default 0.6)\n"
            "  --nms F               YuNet: NMS IoU threshold (default 0.3)\n"
            "  --input-size N        YuNet: longer side of the network input (default 640)\n"
            "  --cascade FILE        Haar: OpenCV cascade XML (default: $FACESCORE_CASCADE, models/opencv/,\n"
            "                        /usr/share/opencv4/haarcascades/)\n"
            "  --scale-factor F      Haar: pyramid step (default 1.03)\n"
            "  --min-neighbors N     Haar: grouping threshold (default 6)\n"
            "  --max-size N          Haar: largest face, pixels (default none)\n"
            "  --haar-landmarks      Haar: add landmarks with YuNet inside each box\n"
            "  --min-size N          smallest face, pixels (default none)\n"
            "  --max-faces N         keep at most N faces (default all)\n"
            "  --sort score|area|x   face order (default: yunet by score, haar largest first)\n"
            "  --threads N           worker threads (default: all cores)\n"
            "  --json                one JSON object per image per line\n"
            "  --draw OUT.jpg        write the image with boxes and landmarks (several images: OUT-1.jpg, ...)\n"
            "  --crops DIR           write aligned face crops DIR/<image stem>_<i>.jpg (i from 1)\n"
            "  --crop-size N         crop side (default 224; 112 = ArcFace template, margin 0)\n"
            "  --crop-margin F       crop margin around the template (default 0.3 at 224)\n"
            "Per image: result code (0 no face, 1 more than one, 2 exactly one) and the faces.\n"
            "Exit status 1 if any image failed, 2 for bad options or a model that cannot be loaded.\n");
}

static int parse_detector(const char *v, fs_detector_type *t) {
    if (!strcmp(v, "yunet")) *t = FS_DETECTOR_YUNET;
    else if (!strcmp(v, "haar")) *t = FS_DETECTOR_HAAR;
    else { fprintf(stderr, "facescore: unknown detector '%s' (have: yunet, haar)\n", v); return -1; }
    return 0;
}

static int parse_sort(const char *v, fs_face_sort *s) {
    if (!strcmp(v, "score")) *s = FS_SORT_SCORE;
    else if (!strcmp(v, "area")) *s = FS_SORT_AREA;
    else if (!strcmp(v, "x")) *s = FS_SORT_LEFT_TO_RIGHT;
    else if (!strcmp(v, "default")) *s = FS_SORT_DEFAULT;
    else { fprintf(stderr, "facescore: --sort expects score, area or x, got '%s'\n", v); return -1; }
    return 0;
}

static int parse_float(const char *a, const char *v, double lo, double hi, float *out) {
    double d;
    if (fs_cli_parse_double(a, v, lo, hi, &d)) return -1;
    *out = (float)d;
    return 0;
}

/* Options that take a value; returns 0, or -1 after printing why. */
static int parse_value(detect_opts *o, const char *a, const char *v, int bench) {
    fs_detector_options *d = &o->det;
    int n;
    if (!strcmp(a, "--detector")) return parse_detector(v, &d->type);
    if (!strcmp(a, "--model")) { d->model_path = v; return 0; }
    if (!strcmp(a, "--cascade")) { d->cascade_path = v; return 0; }
    if (!strcmp(a, "--threshold")) return parse_float(a, v, 0.0, 1.0, &d->score_threshold);
    if (!strcmp(a, "--nms")) return parse_float(a, v, 0.0, 1.0, &d->nms_iou);
    if (!strcmp(a, "--input-size")) return fs_cli_parse_int(a, v, 32, 8192, &d->input_size);
    if (!strcmp(a, "--max-faces")) return fs_cli_parse_int(a, v, 0, 1000000, &d->max_faces);
    if (!strcmp(a, "--sort")) return parse_sort(v, &d->sort);
    if (!strcmp(a, "--threads")) return fs_cli_parse_int(a, v, 0, 256, &d->threads);
    if (!strcmp(a, "--scale-factor")) return fs_cli_parse_double(a, v, 1.0001, 10.0, &d->haar.scale_factor);
    if (!strcmp(a, "--min-neighbors")) return fs_cli_parse_int(a, v, 0, 1000, &d->haar.min_neighbors);
    if (!strcmp(a, "--min-size")) {
        if (fs_cli_parse_int(a, v, 0, 100000, &n)) return -1;
        d->min_face = (float)n;
        d->haar.min_w = d->haar.min_h = n;
        return 0;
    }
    if (!strcmp(a, "--max-size")) {
        if (fs_cli_parse_int(a, v, 0, 100000, &n)) return -1;
        d->haar.max_w = d->haar.max_h = n;
        return 0;
    }
    if (bench) {
        if (!strcmp(a, "--reps")) return fs_cli_parse_int(a, v, 1, 100000, &o->reps);
    } else {
        if (!strcmp(a, "--draw")) { o->draw = v; return 0; }
        if (!strcmp(a, "--crops")) { o->crops = v; return 0; }
        if (!strcmp(a, "--crop-size")) return fs_cli_parse_int(a, v, 8, 4096, &o->crop_size);
        if (!strcmp(a, "--crop-margin")) return parse_float(a, v, 0.0, 10.0, &o->crop_margin);
    }
    fprintf(stderr, "facescore: unknown option '%s'\n", a);
    return -1;
}

/* Parses the options; returns the index of the first positional argument, or -1. */
static int parse_opts(int argc, char **argv, detect_opts *o, int bench) {
    memset(o, 0, sizeof *o);
    fs_detector_options_default(&o->det);
    o->det.threads = bench ? 1 : 0; /* detect: all cores; bench: one thread unless told */
    o->crop_margin = -1;
    o->reps = 10;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--")) { i++; break; }
        if (a[0] != '-' || !a[1]) break;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { detect_usage(stdout); exit(0); }
        if (!strcmp(a, "--json") && !bench) { o->json = 1; continue; }
        if (!strcmp(a, "--haar-landmarks")) { o->det.haar_landmarks = 1; continue; }
        if (!v) { fprintf(stderr, "facescore: %s needs a value\n", a); return -1; }
        if (parse_value(o, a, v, bench)) return -1;
        i++;
    }
    /* crops: 112 = the ArcFace template (margin 0), other sizes the 224 framing */
    if (o->crop_size == 112) fs_align_params_arcface(&o->align);
    else fs_align_params_default(&o->align);
    if (o->crop_size) o->align.size = o->crop_size;
    if (o->crop_margin >= 0) o->align.margin = o->crop_margin;
    return i;
}

static fs_detector *open_detector(const fs_detector_options *o) {
    fs_detector *det;
    if (fs_detector_open(o, &det) != FS_OK) {
        fprintf(stderr, "facescore: %s\n", fs_last_error());
        return NULL;
    }
    return det;
}

/* OUT for one image, OUT-1.ext, OUT-2.ext... for several. */
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

static void print_face_json(const fs_face *f, int first) {
    const fs_rect *b = &f->box;
    printf("%s{\"box\":[%d,%d,%d,%d],\"confidence\":%.4f", first ? "" : ",", (int)b->x, (int)b->y, (int)b->w,
           (int)b->h, f->confidence);
    if (f->has_landmarks) {
        printf(",\"landmarks\":[");
        for (int k = 0; k < 5; k++) printf("%s[%.1f,%.1f]", k ? "," : "", f->landmarks[k][0], f->landmarks[k][1]);
        printf("]");
    }
    printf("}");
}

static void print_result(const char *file, const char *detector, const fs_image *img, const fs_detections *d,
                         int json) {
    if (json) {
        printf("{\"file\":");
        fs_cli_json_string(stdout, file);
        printf(",\"width\":%d,\"height\":%d,\"code\":%d,\"largest\":%d,\"detector\":\"%s\",\"faces\":[",
               img->width, img->height, d->code, d->largest, detector);
        for (int i = 0; i < d->n; i++) print_face_json(&d->faces[i], i == 0);
        printf("]}\n");
    } else {
        printf("%s: code %d, %d face%s (%dx%d), detector %s\n", file, d->code, d->n, d->n == 1 ? "" : "s",
               img->width, img->height, detector);
        for (int i = 0; i < d->n; i++) {
            const fs_face *f = &d->faces[i];
            const fs_rect *b = &f->box;
            printf("  box %d %d %d %d  confidence %.3f", (int)b->x, (int)b->y, (int)b->w, (int)b->h, f->confidence);
            if (f->has_landmarks) {
                printf("  landmarks");
                for (int k = 0; k < 5; k++) printf(" %.0f,%.0f", f->landmarks[k][0], f->landmarks[k][1]);
            }
            printf("%s\n", i == d->largest ? "  (largest)" : "");
        }
    }
    fflush(stdout);
}

static int draw_faces(const char *file, fs_image *img, const fs_detections *d, const char *out) {
    fs_detections_draw(img, d);
    if (fs_image_save(img, out)) {
        fprintf(stderr, "facescore: %s: cannot write %s: %s\n", file, out, fs_last_error());
        return -1;
    }
    return 0;
}

/* mkdir -p DIR; 0 or -1 after printing why. */
static int make_dir(const char *dir) {
    char *p = strdup(dir);
    if (!p) return -1;
    for (char *s = p + 1;; s++) {
        int end = *s == 0;
        if (*s == '/' || end) {
            *s = 0;
            if (mkdir(p, 0777) && errno != EEXIST) {
                fprintf(stderr, "facescore: --crops: cannot create directory %s: %s\n", p, strerror(errno));
                free(p);
                return -1;
            }
            if (end) break;
            *s = '/';
        }
    }
    free(p);
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "facescore: --crops: %s is not a directory\n", dir);
        return -1;
    }
    return 0;
}

/* Writes DIR/<stem>_<i>.jpg for every face (i from 1); returns the number of failures. */
static int write_crops(const char *file, const fs_image *img, const fs_detections *d, const char *dir,
                       const fs_align_params *p) {
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    const char *dot = strrchr(base, '.');
    int stem = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
    size_t len = strlen(dir) + strlen(base) + 32;
    char *path = malloc(len);
    if (!path) return 1;
    int failed = 0;
    for (int i = 0; i < d->n; i++) {
        fs_image crop = {0};
        snprintf(path, len, "%s/%.*s_%d.jpg", dir, stem, base, i + 1);
        if (fs_face_align(img, &d->faces[i], p, &crop) || fs_image_save(&crop, path)) {
            fprintf(stderr, "facescore: %s: cannot write crop %s: %s\n", file, path, fs_last_error());
            failed++;
        }
        fs_image_free(&crop);
    }
    free(path);
    return failed;
}

/* One image: load, detect, print, draw, crops. 0 or 1 (failed). */
static int detect_one(fs_detector *det, const detect_opts *o, const char *file, int k, int nimg) {
    fs_image img = {0};
    fs_detections d;
    if (fs_image_load(file, 3, NULL, &img)) {
        fprintf(stderr, "facescore: %s: %s\n", file, fs_last_error());
        return 1;
    }
    if (fs_detector_detect(det, &img, &d)) {
        fprintf(stderr, "facescore: %s: %s\n", file, fs_last_error());
        fs_image_free(&img);
        return 1;
    }
    int failed = 0;
    print_result(file, fs_detector_name(det), &img, &d, o->json);
    if (o->crops && write_crops(file, &img, &d, o->crops, &o->align)) failed = 1;
    if (o->draw) { /* last: drawing changes the pixels */
        char *out = draw_name(o->draw, k, nimg);
        if (!out || draw_faces(file, &img, &d, out)) failed = 1;
        free(out);
    }
    fs_detections_free(&d);
    fs_image_free(&img);
    return failed;
}

int fs_cli_detect(int argc, char **argv) {
    detect_opts o;
    int first = parse_opts(argc, argv, &o, 0);
    if (first < 0) return 2;
    if (first >= argc) { detect_usage(stderr); return 2; }
    if (o.crops && make_dir(o.crops)) return 2;
    fs_detector *det = open_detector(&o.det);
    if (!det) return 2;
    int nimg = argc - first, failed = 0;
    for (int k = 0; k < nimg; k++) failed += detect_one(det, &o, argv[first + k], k, nimg);
    fs_detector_free(det);
    return failed ? 1 : 0;
}

/* ------------------------------------------------------------------ bench detect */

static void bench_header(const char *file, const fs_image *img, const detect_opts *o) {
    const fs_detector_options *d = &o->det;
    if (d->type == FS_DETECTOR_HAAR) {
        /* kernel name: the cascade the detector uses, loaded once more just to ask */
        const char *path = d->cascade_path ? d->cascade_path : fs_cascade_default_path();
        fs_cascade *c = NULL;
        const char *kern = path && !fs_cascade_load(path, &c) ? fs_haar_kernel_name(c) : "?";
        printf("image %s %dx%d, detector haar, scale_factor %g, min_neighbors %d, threads %d, kernels %s\n", file,
               img->width, img->height, d->haar.scale_factor, d->haar.min_neighbors, d->threads, kern);
        fs_cascade_free(c);
    } else {
        printf("image %s %dx%d, detector yunet, input_size %d, threshold %g, nms %g, threads %d\n", file,
               img->width, img->height, d->input_size, d->score_threshold, d->nms_iou, d->threads);
    }
}

/* Times aligning every face of d (224 crops), ms; -1 on failure. */
static double time_align(const fs_image *img, const fs_detections *d) {
    fs_align_params p;
    fs_align_params_default(&p);
    double t0 = fs_cli_now_ms();
    for (int i = 0; i < d->n; i++) {
        fs_image crop = {0};
        if (fs_face_align(img, &d->faces[i], &p, &crop)) return -1;
        fs_image_free(&crop);
    }
    return fs_cli_now_ms() - t0;
}

/* Runs the timed repetitions: t[r] detect ms, ta[r] detect + align ms per face (YuNet). */
static int bench_reps(fs_detector *det, const fs_image *in, const fs_image *rgb, int reps, int align, double *t,
                      double *ta) {
    for (int r = 0; r < reps; r++) {
        fs_detections d;
        double t0 = fs_cli_now_ms();
        if (fs_detector_detect(det, in, &d)) return -1;
        t[r] = fs_cli_now_ms() - t0;
        if (align && d.n > 0) {
            double a = time_align(rgb, &d);
            if (a < 0) { fs_detections_free(&d); return -1; }
            ta[r] = (t[r] + a) / d.n;
            ta[reps + r] = a / d.n;
        }
        fs_detections_free(&d);
    }
    return 0;
}

int fs_cli_bench_detect(int argc, char **argv) {
    detect_opts o;
    int first = parse_opts(argc, argv, &o, 1);
    if (first < 0) return 2;
    if (first != argc - 1) {
        fprintf(stderr, "usage: facescore bench detect [--detector yunet|haar] [--threads N] [--reps N] "
                        "[--model FILE] [--threshold F] [--nms F] [--input-size N] [--scale-factor F] "
                        "[--min-neighbors N] [--min-size N] [--max-size N] [--cascade FILE] IMAGE\n");
        return 2;
    }
    const char *file = argv[first];
    fs_detector *det = open_detector(&o.det);
    if (!det) return 2;
    int haar = o.det.type == FS_DETECTOR_HAAR, rc = 0;
    fs_image img = {0}, gray = {0};
    /* Haar is timed on the gray image (as before: conversion excluded) */
    if (fs_image_load(file, 3, NULL, &img) || (haar && fs_image_to_gray(&img, &gray))) {
        fprintf(stderr, "facescore: %s: %s\n", file, fs_last_error());
        fs_image_free(&img);
        fs_detector_free(det);
        return 1;
    }
    const fs_image *in = haar ? &gray : &img;
    double *t = calloc((size_t)o.reps * 3, sizeof *t);
    fs_detections d = {0};
    if (!t || fs_detector_detect(det, in, &d)) { /* warm-up run */
        fprintf(stderr, "facescore: %s: %s\n", file, t ? fs_last_error() : "out of memory");
        rc = 1;
        goto done;
    }
    int nfaces = d.n;
    fs_detections_free(&d);
    double *ta = t + o.reps; /* [0, reps): detect+align per face, [reps, 2 reps): align per face */
    if (bench_reps(det, in, &img, o.reps, !haar, t, ta)) {
        fprintf(stderr, "facescore: %s: %s\n", file, fs_last_error());
        rc = 1;
        goto done;
    }
    double mn = t[0], mx = t[0];
    for (int r = 1; r < o.reps; r++) { if (t[r] < mn) mn = t[r]; if (t[r] > mx) mx = t[r]; }
    bench_header(file, &img, &o);
    printf("faces %d\n", nfaces);
    printf("reps %d: min_ms %.3f max_ms %.3f\n", o.reps, mn, mx);
    if (!haar && nfaces > 0)
        printf("align_ms_per_face %.3f detect_align_ms_per_face %.3f\n", fs_cli_median(ta + o.reps, o.reps),
               fs_cli_median(ta, o.reps));
    printf("median_ms %.3f\n", fs_cli_median(t, o.reps));
done:
    free(t);
    fs_image_free(&img);
    fs_image_free(&gray);
    fs_detector_free(det);
    return rc;
}
