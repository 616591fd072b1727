/* cli/score.c — `facescore score IMAGE...`: detect faces, then gender, 1-5 score, class and rank
 * message per face (text, JSON lines or CSV). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/progress.h"
#include "facescore.h"

typedef struct {
    int json, csv, largest, threads, detector_set, no_mirror;
    fs_detector_type detector;
    const char *draw, *model, *models;
} score_opts;

static void usage(FILE *f) {
    fprintf(f,
            "usage: facescore score [options] IMAGE|DIR...\n"
            "  --json              one JSON object per image per line\n"
            "  --csv               one CSV row per face (file,face,x,y,w,h,gender,p_female,score,class)\n"
            "  --largest           score only the largest face (the original's mode)\n"
            "  --detector D        yunet or haar (default: the one the model was trained with)\n"
            "  --draw OUT          write the photo with boxes, landmarks and score labels (OUT-2.jpg... for more files)\n"
            "  --model FILE        heads file (default: the shipped facescore/scut60.fsh)\n"
            "  --models DIR        folder of the backbone models\n"
            "  --threads N         runtime threads (default 1; 0 = all cores)\n"
            "  --no-mirror         skip the mirrored-crop average: ~35 %% faster, slightly less accurate\n"
            "\n%s\n", FS_SCORE_DISCLAIMER);
}

static int parse(int argc, char **argv, score_opts *o, int *first) {
    memset(o, 0, sizeof *o);
    o->threads = 1;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 1; }
        if (!strcmp(a, "--json")) { o->json = 1; continue; }
        if (!strcmp(a, "--csv")) { o->csv = 1; continue; }
        if (!strcmp(a, "--largest")) { o->largest = 1; continue; }
        if (!strcmp(a, "--no-mirror")) { o->no_mirror = 1; continue; }
        if (!v) { fprintf(stderr, "facescore score: %s needs a value (or unknown option)\n", a); return -1; }
        i++;
        if (!strcmp(a, "--detector")) {
            o->detector_set = 1;
            if (!strcmp(v, "yunet")) o->detector = FS_DETECTOR_YUNET;
            else if (!strcmp(v, "haar")) o->detector = FS_DETECTOR_HAAR;
            else { fprintf(stderr, "facescore score: unknown detector '%s' (have: yunet, haar)\n", v); return -1; }
        } else if (!strcmp(a, "--draw")) o->draw = v;
        else if (!strcmp(a, "--model")) o->model = v;
        else if (!strcmp(a, "--models")) o->models = v;
        else if (!strcmp(a, "--threads")) { if (fs_cli_parse_int(a, v, 0, 256, &o->threads)) return -1; }
        else { fprintf(stderr, "facescore score: unknown option '%s'\n", a); return -1; }
    }
    if (o->json && o->csv) { fprintf(stderr, "facescore score: --json and --csv exclude each other\n"); return -1; }
    if (i >= argc) { usage(stderr); return -1; }
    *first = i;
    return 0;
}

static int is_image(const char *n) {
    const char *d = strrchr(n, '.');
    return d && (!strcasecmp(d, ".jpg") || !strcasecmp(d, ".jpeg") || !strcasecmp(d, ".png") ||
                 !strcasecmp(d, ".bmp") || !strcasecmp(d, ".webp"));
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* arguments -> file list (a folder gives its images, sorted) */
static char **expand(int argc, char **argv, int first, int *n) {
    char **v = NULL;
    int cap = 0;
    *n = 0;
    for (int i = first; i < argc; i++) {
        struct stat st;
        int start = *n;
        if (!stat(argv[i], &st) && S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *e;
            while (d && (e = readdir(d))) {
                if (e->d_name[0] == '.' || !is_image(e->d_name)) continue;
                if (*n == cap) { cap = cap ? cap * 2 : 64; char **nv = realloc(v, (size_t)cap * sizeof *v); if (!nv) exit(3); v = nv; }
                size_t dl = strlen(argv[i]), l = dl + strlen(e->d_name) + 2;
                while (dl > 1 && argv[i][dl - 1] == '/') dl--;
                v[*n] = malloc(l);
                if (!v[*n]) exit(3);
                snprintf(v[*n], l, "%.*s/%s", (int)dl, argv[i], e->d_name);
                (*n)++;
            }
            if (d) closedir(d);
            if (*n > start) qsort(v + start, (size_t)(*n - start), sizeof *v, cmp);
        } else {
            if (*n == cap) { cap = cap ? cap * 2 : 64; char **nv = realloc(v, (size_t)cap * sizeof *v); if (!nv) exit(3); v = nv; }
            if (!(v[(*n)++] = strdup(argv[i]))) exit(3);
        }
    }
    return v;
}

static const char *draw_name(const char *out, int idx, int n, char *s, size_t len) {
    const char *dot = strrchr(out, '.');
    if (n == 1 || !dot) { snprintf(s, len, "%s", out); return s; }
    snprintf(s, len, "%.*s-%d%s", (int)(dot - out), out, idx + 1, dot);
    return s;
}

typedef struct { double decode, detect, score, total; } timings;

/* "3.12 M" (score, gender letter; '?' when the model has no gender) on a dark box above each scored
 * face's box, or inside it at the top edge of the photo; scale 1 for boxes under 120 px, then
 * box width / 60 (2 from 120 px, up to 8) so that big photos get readable labels. */
static void draw_labels(fs_image *img, const fs_detections *d, const fs_face_score *r, const int *scored) {
    for (int i = 0; i < d->n; i++) {
        if (!scored[i]) continue;
        const fs_rect *b = &d->faces[i].box;
        char label[32];
        snprintf(label, sizeof label, "%.2f %c", r[i].score, r[i].female < 0 ? '?' : r[i].female ? 'F' : 'M');
        int s = b->w >= 480.f ? 8 : b->w >= 120.f ? (int)(b->w / 60.f) : 1, pad = s; /* label <= 60% of box */
        int bw = fs_image_text_width(label, s) + pad, bh = 8 * s + pad; /* cells end in a blank column/row */
        int bx = (int)lrintf(b->x), by = (int)lrintf(b->y) - bh;
        if (by < 0) by = (int)lrintf(b->y) < 0 ? 0 : (int)lrintf(b->y);
        if (bx + bw > img->width) bx = img->width - bw;
        if (bx < 0) bx = 0;
        fs_image_fill_rect(img, bx, by, bw, bh, 24, 24, 24);
        fs_image_draw_text(img, bx + pad, by + pad, label, s, 255, 255, 255);
    }
}

/* "unknown" when the model had no gender labels to learn from */
#define GENDER(f) ((f) < 0 ? "unknown" : (f) ? "female" : "male")

static void print_json(const char *file, const fs_image *img, const fs_detections *d, const fs_face_score *r,
                       const int *scored, const char *det, const char *model, const timings *t) {
    printf("{\"file\":");
    fs_cli_json_string(stdout, file);
    printf(",\"width\":%d,\"height\":%d,\"code\":%d,\"largest\":%d,\"detector\":\"%s\",\"model\":", img->width,
           img->height, d->code, d->largest, det);
    fs_cli_json_string(stdout, model);
    printf(",\"timings_ms\":{\"decode\":%.2f,\"detect\":%.2f,\"scoring\":%.2f,\"total\":%.2f},\"faces\":[", t->decode,
           t->detect, t->score, t->total);
    int first = 1;
    for (int i = 0; i < d->n; i++) {
        if (!scored[i]) continue;
        const fs_face *f = &d->faces[i];
        printf("%s{\"box\":[%d,%d,%d,%d],\"confidence\":%.4f", first ? "" : ",", (int)f->box.x, (int)f->box.y,
               (int)f->box.w, (int)f->box.h, f->confidence);
        first = 0;
        if (f->has_landmarks) {
            printf(",\"landmarks\":[");
            for (int k = 0; k < 5; k++) printf("%s[%.1f,%.1f]", k ? "," : "", f->landmarks[k][0], f->landmarks[k][1]);
            printf("]");
        }
        printf(",\"gender\":\"%s\",\"p_female\":%.4f,\"score\":%.2f,\"class\":%d,\"dist\":[", GENDER(r[i].female),
               r[i].p_female, r[i].score, r[i].cls);
        for (int k = 0; k < 5; k++) printf("%s%.4f", k ? "," : "", r[i].dist[k]);
        printf("],\"rank_ko\":");
        fs_cli_json_string(stdout, r[i].rank_ko);
        printf(",\"rank_en\":");
        fs_cli_json_string(stdout, r[i].rank_en);
        printf("}");
    }
    printf("]}\n");
}

static void print_text(const char *file, const fs_image *img, const fs_detections *d, const fs_face_score *r,
                       const int *scored, const char *det, const char *model, const timings *t) {
    printf("%s: code %d, %d face%s (%dx%d), detector %s, model %s, %.1f ms\n", file, d->code, d->n, d->n == 1 ? "" : "s",
           img->width, img->height, det, model, t->total);
    for (int i = 0; i < d->n; i++) {
        if (!scored[i]) continue;
        const fs_rect *b = &d->faces[i].box;
        printf("  face %d box %d %d %d %d%s: %s (p_female %.2f), score %.2f, class %d [", i + 1, (int)b->x, (int)b->y,
               (int)b->w, (int)b->h, i == d->largest ? " (largest)" : "", GENDER(r[i].female), r[i].p_female,
               r[i].score, r[i].cls);
        for (int k = 0; k < 5; k++) printf("%s%.2f", k ? " " : "", r[i].dist[k]);
        printf("]  %s / %s\n", r[i].rank_ko, r[i].rank_en);
    }
}

/* CSV field: quoted, inner quotes doubled */
static void csv_field(const char *s) {
    putchar('"');
    for (; *s; s++) { if (*s == '"') putchar('"'); putchar(*s); }
    putchar('"');
}

static void print_csv(const char *file, const fs_detections *d, const fs_face_score *r, const int *scored) {
    for (int i = 0; i < d->n; i++) {
        if (!scored[i]) continue;
        const fs_rect *b = &d->faces[i].box;
        csv_field(file);
        printf(",%d,%d,%d,%d,%d,%s,%.4f,%.2f,%d\n", i + 1, (int)b->x, (int)b->y, (int)b->w, (int)b->h,
               GENDER(r[i].female), r[i].p_female, r[i].score, r[i].cls);
    }
}

int fs_cli_score(int argc, char **argv) {
    score_opts o;
    int first = 0, pr = parse(argc, argv, &o, &first);
    if (pr) return pr > 0 ? 0 : 2;
    fs_scorer_options so;
    fs_scorer_options_default(&so);
    so.model_path = o.model;
    so.models_dir = o.models;
    so.threads = o.threads;
    so.no_mirror = o.no_mirror;
    fs_scorer *sc;
    if (fs_scorer_open(&so, &sc) != FS_OK) { fprintf(stderr, "facescore score: %s\n", fs_last_error()); return 1; }
    fs_detector_options dopt;
    fs_detector_options_default(&dopt);
    dopt.type = o.detector_set ? o.detector : fs_scorer_detector(sc);
    dopt.threads = o.threads;
    fs_detector *det;
    if (fs_detector_open(&dopt, &det) != FS_OK) {
        fprintf(stderr, "facescore score: %s\n", fs_last_error());
        fs_scorer_free(sc);
        return 1;
    }
    int n;
    char **files = expand(argc, argv, first, &n);
    if (!o.json && !o.csv) printf("Note: %s\n", FS_SCORE_DISCLAIMER);
    if (o.csv) printf("file,face,x,y,w,h,gender,p_female,score,class\n");
    fs_progress prog;
    fs_progress_start(&prog, "score", n);
    if (n < 2) prog.enabled = 0;
    int rc = 0;
    for (int fi = 0; fi < n; fi++) {
        const char *file = files[fi];
        timings t = {0};
        double t0 = fs_cli_now_ms();
        fs_image img;
        if (fs_image_load(file, 3, NULL, &img) != FS_OK) {
            fprintf(stderr, "facescore score: %s: %s\n", file, fs_last_error());
            rc = 1;
            fs_progress_add(&prog, 1);
            continue;
        }
        double t1 = fs_cli_now_ms();
        fs_detections d;
        fs_status st = fs_detector_detect(det, &img, &d);
        double t2 = fs_cli_now_ms();
        fs_face_score *r = calloc((size_t)d.n + 1, sizeof *r);
        int *scored = calloc((size_t)d.n + 1, sizeof(int));
        if (!r || !scored) st = FS_ERR_NOMEM;
        for (int i = 0; i < d.n && st == FS_OK; i++) {
            if (o.largest && i != d.largest) continue;
            st = fs_scorer_score(sc, &img, &d.faces[i], &r[i]);
            scored[i] = st == FS_OK;
        }
        double t3 = fs_cli_now_ms();
        t.decode = t1 - t0; t.detect = t2 - t1; t.score = t3 - t2; t.total = t3 - t0;
        if (st != FS_OK) {
            fprintf(stderr, "facescore score: %s: %s\n", file, fs_last_error());
            rc = 1;
        } else {
            const char *dn = fs_detector_name(det), *mn = fs_scorer_model_name(sc);
            if (o.json) print_json(file, &img, &d, r, scored, dn, mn, &t);
            else if (o.csv) print_csv(file, &d, r, scored);
            else print_text(file, &img, &d, r, scored, dn, mn, &t);
            if (o.draw) {
                char out[4200];
                draw_name(o.draw, fi, n, out, sizeof out);
                fs_detections_draw(&img, &d);
                draw_labels(&img, &d, r, scored);
                if (fs_image_save(&img, out) != FS_OK) {
                    fprintf(stderr, "facescore score: %s: cannot write %s: %s\n", file, out, fs_last_error());
                    rc = 1;
                }
            }
        }
        fflush(stdout);
        free(r); free(scored);
        fs_detections_free(&d);
        fs_image_free(&img);
        fs_progress_add(&prog, 1);
    }
    fs_progress_finish(&prog);
    for (int i = 0; i < n; i++) free(files[i]);
    free(files);
    fs_detector_free(det);
    fs_scorer_free(sc);
    return rc;
}
