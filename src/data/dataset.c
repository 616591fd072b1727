/* data/dataset.c — SCUT-FBP5500, folder and CSV readers (see dataset.h). */
#include "data/dataset.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"

#define DS_MAX_LINE 4096

void ds_free(ds_set *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) { free(s->items[i].path); free(s->items[i].name); }
    free(s->items);
    memset(s, 0, sizeof *s);
}

fs_status ds_push(ds_set *s, const char *path, const char *name, float score, int gender, const char *group) {
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 256;
        ds_item *it = realloc(s->items, (size_t)cap * sizeof *it);
        if (!it) return fs_error(FS_ERR_NOMEM, "dataset: out of memory");
        s->items = it;
        s->cap = cap;
    }
    ds_item *it = &s->items[s->n];
    memset(it, 0, sizeof *it);
    it->path = strdup(path);
    it->name = strdup(name);
    if (!it->path || !it->name) { free(it->path); free(it->name); return fs_error(FS_ERR_NOMEM, "dataset: out of memory"); }
    it->score = score;
    it->gender = gender;
    snprintf(it->group, sizeof it->group, "%s", group ? group : "");
    s->n++;
    return FS_OK;
}

uint64_t ds_fnv1a(uint64_t h, const void *buf, size_t len) {
    const unsigned char *p = buf;
    for (size_t i = 0; i < len; i++) { h ^= p[i]; h *= 0x100000001b3ULL; }
    return h;
}

uint64_t ds_rows_hash(const ds_set *ds) {
    uint64_t h = DS_FNV_INIT;
    for (int i = 0; i < ds->n; i++) {
        char line[600];
        int l = snprintf(line, sizeof line, "%s\t%.6f\t%d\n", ds->items[i].name, ds->items[i].score, ds->items[i].gender);
        h = ds_fnv1a(h, line, (size_t)(l < (int)sizeof line ? l : (int)sizeof line - 1));
    }
    return h;
}

fs_status ds_hash_file(const char *path, uint64_t *out) {
    FILE *f = fopen(path, "rb");
    if (!f) return fs_error(FS_ERR_IO, "%s: %s", path, strerror(errno));
    unsigned char buf[65536];
    uint64_t h = DS_FNV_INIT;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) h = ds_fnv1a(h, buf, n);
    int err = ferror(f);
    fclose(f);
    if (err) return fs_error(FS_ERR_IO, "%s: read error", path);
    *out = h;
    return FS_OK;
}

static int is_dir(const char *p) { struct stat st; return !stat(p, &st) && S_ISDIR(st.st_mode); }
static int is_file(const char *p) { struct stat st; return !stat(p, &st) && S_ISREG(st.st_mode); }

fs_status ds_detect_kind(const char *dir, ds_kind *kind) {
    char p[4096];
    if (is_file(dir)) { *kind = DS_KIND_CSV; return FS_OK; }
    if (!is_dir(dir)) return fs_error(FS_ERR_IO, "dataset %s: no such file or folder", dir);
    snprintf(p, sizeof p, "%s/labels.csv", dir);
    char q[4096];
    snprintf(q, sizeof q, "%s/splits", dir);
    if (is_file(p) && is_dir(q)) { *kind = DS_KIND_SCUT; return FS_OK; }
    char m[4096], w[4096];
    snprintf(m, sizeof m, "%s/man", dir);
    snprintf(w, sizeof w, "%s/woman", dir);
    if (is_dir(m) || is_dir(w)) { *kind = DS_KIND_FOLDER; return FS_OK; }
    return fs_error(FS_ERR_ARG, "dataset %s: not SCUT-FBP5500 (labels.csv + splits/), not a man/ woman/ "
                    "folder layout, not a CSV file", dir);
}

/* Strips trailing CR/LF/space; returns the line. */
static char *chomp(char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = 0;
    return s;
}

static int parse_score(const char *s, float *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (errno || end == s || *end || !(v >= 1.0 && v <= 5.0)) return -1;
    *out = (float)v;
    return 0;
}

static void scut_attrs(const char *name, int *gender, char group[3]) {
    group[0] = 0;
    *gender = DS_UNKNOWN;
    if ((name[0] == 'A' || name[0] == 'C') && (name[1] == 'F' || name[1] == 'M')) {
        group[0] = name[0]; group[1] = name[1]; group[2] = 0;
        *gender = name[1] == 'F' ? DS_FEMALE : DS_MALE;
    }
}

/* labels.csv -> parallel arrays of names and scores. */
typedef struct { char **name; float *score; int n; } scut_labels;

static void labels_free(scut_labels *l) {
    for (int i = 0; i < l->n; i++) free(l->name[i]);
    free(l->name); free(l->score);
}

static fs_status labels_read(const char *dir, scut_labels *l) {
    char p[4096], line[DS_MAX_LINE];
    snprintf(p, sizeof p, "%s/labels.csv", dir);
    memset(l, 0, sizeof *l);
    FILE *f = fopen(p, "r");
    if (!f) return fs_error(FS_ERR_IO, "%s: %s", p, strerror(errno));
    int cap = 0, ln = 0;
    fs_status st = FS_OK;
    while (fgets(line, sizeof line, f)) {
        ln++;
        chomp(line);
        if (!line[0] || (ln == 1 && !strncmp(line, "filename", 8))) continue;
        char *comma = strchr(line, ',');
        float v;
        if (!comma || comma == line) { st = fs_error(FS_ERR_FORMAT, "%s:%d: expected 'filename,score'", p, ln); break; }
        *comma = 0;
        if (parse_score(comma + 1, &v)) { st = fs_error(FS_ERR_FORMAT, "%s:%d: score '%s' is not a number in 1..5", p, ln, comma + 1); break; }
        if (l->n == cap) {
            cap = cap ? cap * 2 : 1024;
            char **nn = realloc(l->name, (size_t)cap * sizeof *nn);
            if (nn) l->name = nn;
            float *ns = realloc(l->score, (size_t)cap * sizeof *ns);
            if (ns) l->score = ns;
            if (!nn || !ns) { st = fs_error(FS_ERR_NOMEM, "dataset: out of memory"); break; }
        }
        l->name[l->n] = strdup(line);
        l->score[l->n] = v;
        if (!l->name[l->n]) { st = fs_error(FS_ERR_NOMEM, "dataset: out of memory"); break; }
        l->n++;
    }
    fclose(f);
    if (st != FS_OK) labels_free(l);
    return st;
}

static int labels_find(const scut_labels *l, const char *name) {
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->name[i], name)) return i;
    return -1;
}

fs_status ds_load_scut(const char *dir, const char *split, ds_set *out) {
    memset(out, 0, sizeof *out);
    scut_labels l;
    fs_status st = labels_read(dir, &l);
    if (st != FS_OK) return st;
    char p[4096], img[8400], line[DS_MAX_LINE];
    char group[3];
    int gender;
    if (!split) {
        for (int i = 0; i < l.n && st == FS_OK; i++) {
            snprintf(img, sizeof img, "%s/images/%s", dir, l.name[i]);
            scut_attrs(l.name[i], &gender, group);
            st = ds_push(out, img, l.name[i], l.score[i], gender, group);
        }
        labels_free(&l);
        if (st != FS_OK) ds_free(out);
        return st;
    }
    snprintf(p, sizeof p, "%s/splits/%s.txt", dir, split);
    FILE *f = fopen(p, "r");
    if (!f) { labels_free(&l); return fs_error(FS_ERR_IO, "%s: %s", p, strerror(errno)); }
    int ln = 0, hint = 0;
    while (st == FS_OK && fgets(line, sizeof line, f)) {
        ln++;
        chomp(line);
        if (!line[0]) continue;
        char *sp = strchr(line, ' ');
        if (sp) *sp = 0;
        int k = -1;
        if (hint < l.n && !strcmp(l.name[hint], line)) k = hint;
        else k = labels_find(&l, line);
        if (k < 0) { st = fs_error(FS_ERR_FORMAT, "%s:%d: '%s' is not in labels.csv", p, ln, line); break; }
        hint = k + 1;
        snprintf(img, sizeof img, "%s/images/%s", dir, line);
        scut_attrs(line, &gender, group);
        st = ds_push(out, img, line, l.score[k], gender, group);
    }
    fclose(f);
    labels_free(&l);
    if (st == FS_OK && out->n == 0) st = fs_error(FS_ERR_FORMAT, "%s: no images listed", p);
    if (st != FS_OK) ds_free(out);
    return st;
}

static int is_image_name(const char *n) {
    const char *dot = strrchr(n, '.');
    if (!dot || n[0] == '.') return 0;
    return !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png") ||
           !strcasecmp(dot, ".bmp") || !strcasecmp(dot, ".webp");
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted image names of one folder (so the order does not depend on the file system). */
static fs_status list_images(const char *dir, char ***names, int *n) {
    *names = NULL; *n = 0;
    DIR *d = opendir(dir);
    if (!d) return FS_OK; /* a missing class folder is allowed */
    struct dirent *e;
    int cap = 0;
    fs_status st = FS_OK;
    while ((e = readdir(d))) {
        if (!is_image_name(e->d_name)) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(*names, (size_t)cap * sizeof *nn);
            if (!nn) { st = fs_error(FS_ERR_NOMEM, "dataset: out of memory"); break; }
            *names = nn;
        }
        if (!((*names)[*n] = strdup(e->d_name))) { st = fs_error(FS_ERR_NOMEM, "dataset: out of memory"); break; }
        (*n)++;
    }
    closedir(d);
    if (*n) qsort(*names, (size_t)*n, sizeof **names, cmp_str);
    return st;
}

fs_status ds_load_folder(const char *dir, ds_set *out) {
    static const char *sexes[2] = {"man", "woman"};
    memset(out, 0, sizeof *out);
    fs_status st = FS_OK;
    for (int s = 0; s < 2 && st == FS_OK; s++)
        for (int c = 1; c <= 5 && st == FS_OK; c++) {
            char sub[4096], path[8400], name[4400];
            snprintf(sub, sizeof sub, "%s/%s/%d", dir, sexes[s], c);
            char **names; int n;
            st = list_images(sub, &names, &n);
            for (int i = 0; i < n; i++) {
                if (st == FS_OK) {
                    snprintf(path, sizeof path, "%s/%s", sub, names[i]);
                    snprintf(name, sizeof name, "%s/%d/%s", sexes[s], c, names[i]);
                    st = ds_push(out, path, name, (float)c, s ? DS_FEMALE : DS_MALE, s ? "F" : "M");
                }
                free(names[i]);
            }
            free(names);
        }
    if (st == FS_OK && out->n == 0) st = fs_error(FS_ERR_FORMAT, "dataset %s: no images in man/1..5 or woman/1..5", dir);
    if (st != FS_OK) ds_free(out);
    return st;
}

static int parse_gender(const char *s, int *g) {
    if (!*s) { *g = DS_UNKNOWN; return 0; }
    if (!strcasecmp(s, "female") || !strcasecmp(s, "f") || !strcasecmp(s, "woman") || !strcmp(s, "1")) { *g = DS_FEMALE; return 0; }
    if (!strcasecmp(s, "male") || !strcasecmp(s, "m") || !strcasecmp(s, "man") || !strcmp(s, "0")) { *g = DS_MALE; return 0; }
    return -1;
}

fs_status ds_load_csv(const char *csv_path, ds_set *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(csv_path, "r");
    if (!f) return fs_error(FS_ERR_IO, "%s: %s", csv_path, strerror(errno));
    char base[4096];
    snprintf(base, sizeof base, "%s", csv_path);
    char *slash = strrchr(base, '/');
    if (slash) *slash = 0; else snprintf(base, sizeof base, ".");
    char line[DS_MAX_LINE], path[8192];
    int ln = 0;
    fs_status st = FS_OK;
    while (st == FS_OK && fgets(line, sizeof line, f)) {
        ln++;
        if (!strchr(line, '\n') && !feof(f)) { st = fs_error(FS_ERR_FORMAT, "%s:%d: line longer than %d bytes", csv_path, ln, DS_MAX_LINE - 2); break; }
        chomp(line);
        if (!line[0] || line[0] == '#') continue;
        if (ln == 1 && !strncasecmp(line, "path,", 5)) continue;
        char *f1 = line, *f2 = strchr(f1, ','), *f3 = NULL;
        if (!f2) { st = fs_error(FS_ERR_FORMAT, "%s:%d: expected 'path,score[,gender]'", csv_path, ln); break; }
        *f2++ = 0;
        if ((f3 = strchr(f2, ','))) *f3++ = 0;
        if (f3 && strchr(f3, ',')) { st = fs_error(FS_ERR_FORMAT, "%s:%d: more than 3 fields", csv_path, ln); break; }
        float v; int g;
        if (!*f1) { st = fs_error(FS_ERR_FORMAT, "%s:%d: empty path", csv_path, ln); break; }
        if (parse_score(f2, &v)) { st = fs_error(FS_ERR_FORMAT, "%s:%d: score '%s' is not a number in 1..5", csv_path, ln, f2); break; }
        if (parse_gender(f3 ? f3 : "", &g)) { st = fs_error(FS_ERR_FORMAT, "%s:%d: gender '%s' is not female/male/f/m/1/0", csv_path, ln, f3); break; }
        if (f1[0] == '/') snprintf(path, sizeof path, "%s", f1);
        else snprintf(path, sizeof path, "%s/%s", base, f1);
        st = ds_push(out, path, f1, v, g, g == DS_FEMALE ? "F" : g == DS_MALE ? "M" : "");
    }
    fclose(f);
    if (st == FS_OK && out->n == 0) st = fs_error(FS_ERR_FORMAT, "%s: no rows", csv_path);
    if (st != FS_OK) ds_free(out);
    return st;
}

static fs_status copy_item(ds_set *dst, const ds_item *it) {
    return ds_push(dst, it->path, it->name, it->score, it->gender, it->group);
}

/* Non-SCUT data: a fixed split by the hash of the item name (bucket 0..99). */
static int name_bucket(const char *name) { return (int)(ds_fnv1a(DS_FNV_INIT, name, strlen(name)) % 100); }

fs_status ds_load_protocol(const char *dir, const char *protocol, int fold, ds_set *train, ds_set *test) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    ds_kind kind;
    fs_status st = ds_detect_kind(dir, &kind);
    if (st != FS_OK) return st;
    int p6040 = !strcmp(protocol, "60/40"), p5 = !strcmp(protocol, "5fold"), pall = !strcmp(protocol, "all");
    if (!p6040 && !p5 && !pall) return fs_error(FS_ERR_ARG, "protocol '%s': expected 60/40, 5fold or all", protocol);
    if (p5 && (fold < 1 || fold > 5)) return fs_error(FS_ERR_ARG, "5fold: fold %d outside 1..5", fold);
    if (kind == DS_KIND_SCUT) {
        if (pall) return ds_load_scut(dir, NULL, train);
        char a[32], b[32];
        if (p6040) { snprintf(a, sizeof a, "train_60"); snprintf(b, sizeof b, "test_40"); }
        else { snprintf(a, sizeof a, "cv%d_train", fold); snprintf(b, sizeof b, "cv%d_test", fold); }
        if ((st = ds_load_scut(dir, a, train)) != FS_OK) return st;
        if ((st = ds_load_scut(dir, b, test)) != FS_OK) ds_free(train);
        return st;
    }
    ds_set all;
    st = kind == DS_KIND_CSV ? ds_load_csv(dir, &all) : ds_load_folder(dir, &all);
    if (st != FS_OK) return st;
    for (int i = 0; i < all.n && st == FS_OK; i++) {
        int b = name_bucket(all.items[i].name), is_test;
        if (pall) is_test = 0;
        else if (p6040) is_test = b >= 60;
        else is_test = b / 20 == fold - 1;
        st = copy_item(is_test ? test : train, &all.items[i]);
    }
    ds_free(&all);
    if (st != FS_OK) { ds_free(train); ds_free(test); }
    return st;
}
