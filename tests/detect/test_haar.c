/* tests/detect/test_haar.c — Haar cascade reader, pyramid arithmetic, detection vs OpenCV 4.6. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "core/cpu.h"
#include "detect/haar_internal.h"
#include "facescore.h"
#include "../test.h"

#define CASCADE "models/opencv/haarcascade_frontalface_default.xml"
#define DEBIAN_HAAR "/usr/share/opencv4/haarcascades/"

/* ------------------------------------------------------------------ cascade parsing */

/* A tiny valid cascade: 2 stages of stumps over 3 features in an 8x6 window. */
static const char *TINY =
    "<?xml version=\"1.0\"?>\n<!-- test -->\n<opencv_storage>\n"
    "<cascade type_id=\"opencv-cascade-classifier\"><stageType>BOOST</stageType>\n"
    "  <featureType>HAAR</featureType><height>6</height><width>8</width>\n"
    "  <stageParams><maxWeakCount>2</maxWeakCount></stageParams>\n"
    "  <featureParams><maxCatCount>0</maxCatCount></featureParams>\n"
    "  <stageNum>2</stageNum>\n"
    "  <stages>\n"
    "    <_><maxWeakCount>1</maxWeakCount><stageThreshold>-1.5</stageThreshold>\n"
    "      <weakClassifiers><_><internalNodes>0 -1 0 2.5e-01</internalNodes>\n"
    "          <leafValues>1.0 -1.0</leafValues></_></weakClassifiers></_>\n"
    "    <_><maxWeakCount>2</maxWeakCount><stageThreshold>0.25</stageThreshold>\n"
    "      <weakClassifiers><_><internalNodes>0 -1 1 -0.5</internalNodes>\n"
    "          <leafValues>0.5 -0.5</leafValues></_>\n"
    "        <_><internalNodes>0 -1 2 0.125</internalNodes>\n"
    "          <leafValues>-0.75 0.75</leafValues></_></weakClassifiers></_></stages>\n"
    "  <features>\n"
    "    <_><rects><_>0 0 8 6 -1.</_><_>0 0 4 6 2.</_></rects></_>\n"
    "    <_><rects><_>1 1 6 4 -1.</_><_>1 1 3 2 2.</_><_>4 3 3 2 2.</_></rects></_>\n"
    "    <_><rects><_>3 0 2 2 -1.</_><_>3 1 1 1 2.</_></rects><tilted>1</tilted></_></features>\n"
    "</cascade>\n</opencv_storage>\n";

static char *replace(const char *s, const char *from, const char *to) {
    const char *p = strstr(s, from);
    if (!p) return NULL;
    size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
    char *r = malloc(n);
    snprintf(r, n, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
    return r;
}

/* loads TINY with one substitution; returns the status, message in fs_last_error() */
static fs_status load_variant(const char *from, const char *to) {
    char *x = replace(TINY, from, to);
    if (!x) return (fs_status)-1;
    fs_cascade *c = NULL;
    fs_status st = fs_cascade_load_memory(x, strlen(x), &c);
    fs_cascade_free(c);
    free(x);
    return st;
}

TEST(cascade_tiny_parses) {
    fs_cascade *c;
    CHECK(fs_cascade_load_memory(TINY, strlen(TINY), &c) == FS_OK);
    CHECK(c->win_w == 8 && c->win_h == 6);
    CHECK(c->nstages == 2 && c->ntrees == 3 && c->nfeatures == 3);
    CHECK(c->stumps != NULL && c->has_tilted == 1);
    CHECK(c->stages[0].threshold == -1.5f - 1e-5f);
    CHECK(c->stages[1].ntrees == 2 && c->stages[1].first_tree == 1);
    CHECK(c->stumps[2].feature == 2 && c->stumps[2].threshold == 0.125f);
    CHECK(c->stumps[1].left == 0.5f && c->stumps[1].right == -0.5f);
    CHECK(c->features[1].weight[2] == 2.0f && c->features[1].r[2].x == 4);
    CHECK(c->features[0].weight[2] == 0.0f);
    fs_cascade_free(c);
}

/* A tiny LBP cascade: one stage, one categorical stump, 9x9 window of 3x3 cells. */
TEST(cascade_lbp_tiny_and_malformed) {
    const char *lbp =
        "<opencv_storage><cascade type_id=\"opencv-cascade-classifier\"><stageType>BOOST</stageType>"
        "<featureType>LBP</featureType><height>9</height><width>9</width>"
        "<featureParams><maxCatCount>256</maxCatCount></featureParams><stages><_>"
        "<stageThreshold>-0.5</stageThreshold><weakClassifiers><_>"
        "<internalNodes>0 -1 0 -1 -1 -17409 -1 -1 -1 -2147483648 2147483647</internalNodes>"
        "<leafValues>-0.25 0.75</leafValues></_></weakClassifiers></_></stages>"
        "<features><_><rect>0 0 3 3</rect></_></features></cascade></opencv_storage>";
    fs_cascade *c;
    CHECK_MSG(fs_cascade_load_memory(lbp, strlen(lbp), &c) == FS_OK, "%s", fs_last_error());
    CHECK(c->lbp && c->nnodes == 1 && c->subsets[2] == -17409 && c->subsets[6] == INT32_MIN);
    CHECK(c->subsets[7] == INT32_MAX && c->leaves[1] == 0.75f && !c->stumps);
    fs_cascade_free(c);
    char *bad = replace(lbp, "<rect>0 0 3 3</rect>", "<rect>1 0 3 3</rect>");
    CHECK(fs_cascade_load_memory(bad, strlen(bad), &c) == FS_ERR_FORMAT && strstr(fs_last_error(), "outside"));
    free(bad);
    bad = replace(lbp, "-1 -1 -17409", "-1 -17409");
    CHECK(fs_cascade_load_memory(bad, strlen(bad), &c) == FS_ERR_FORMAT && strstr(fs_last_error(), "per node"));
    free(bad);
    bad = replace(lbp, "<maxCatCount>256", "<maxCatCount>0");
    CHECK(fs_cascade_load_memory(bad, strlen(bad), &c) == FS_ERR_UNSUPPORTED);
    free(bad);
}

TEST(cascade_real_file) {
    fs_cascade *c;
    CHECK_MSG(fs_cascade_load(CASCADE, &c) == FS_OK, "%s", fs_last_error());
    CHECK(c->win_w == 24 && c->win_h == 24 && c->nstages == 25);
    CHECK(c->nfeatures == 2913 && c->ntrees == 2913 && c->stumps && !c->has_tilted);
    CHECK(c->stages[0].ntrees == 9);
    CHECK(c->stages[0].threshold == (float)-5.0425500869750977e+00 - 1e-5f);
    CHECK(c->stumps[0].threshold == (float)-3.1511999666690826e-02);
    CHECK(c->stumps[0].left == (float)2.0875380039215088e+00);
    fs_cascade_free(c);
}

TEST(cascade_every_truncation_fails_cleanly) {
    size_t n = strlen(TINY);
    /* the document is complete only once "</opencv_storage>" is read */
    size_t complete = (size_t)(strstr(TINY, "</opencv_storage>") - TINY) + strlen("</opencv_storage>");
    for (size_t k = 0; k < complete; k++) {
        fs_cascade *c = NULL;
        fs_status st = fs_cascade_load_memory(TINY, k, &c);
        CHECK_MSG(st != FS_OK && c == NULL, "prefix of %zu bytes loaded", k);
        CHECK(fs_last_error()[0] != 0);
    }
    fs_cascade *c;
    CHECK(fs_cascade_load_memory(TINY, n, &c) == FS_OK);
    fs_cascade_free(c);
}

TEST(cascade_real_file_truncated) {
    size_t len;
    unsigned char *buf = fs_test_read_file(CASCADE, &len);
    CHECK(buf != NULL);
    size_t cuts[] = {0, 10, 100, 2000, 50000, len / 2, len - 200, len - 20};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        fs_cascade *c = NULL;
        CHECK_MSG(fs_cascade_load_memory((const char *)buf, cuts[i], &c) != FS_OK, "cut at %zu loaded", cuts[i]);
    }
    free(buf);
}

TEST(cascade_malformed_messages) {
    struct { const char *from, *to; fs_status want; const char *msg; } cases[] = {
        {"<stages>", "<stagez>", FS_ERR_FORMAT, "does not match"},                /* end tag mismatch */
        {"<featureType>HAAR</featureType>", "<featureType>LBP</featureType>", FS_ERR_UNSUPPORTED, "LBP"},
        {"<featureType>HAAR</featureType>", "<featureType>HOG</featureType>", FS_ERR_UNSUPPORTED, "neither"},
        {"opencv-cascade-classifier", "opencv-haar-classifier", FS_ERR_UNSUPPORTED, "old-format"},
        {"<stageType>BOOST", "<stageType>GAB", FS_ERR_UNSUPPORTED, "BOOST"},
        {"<width>8</width>", "<width>100000</width>", FS_ERR_FORMAT, "window"},
        {"<width>8</width>", "<width>eight</width>", FS_ERR_FORMAT, "width"},
        {"<stageThreshold>-1.5<", "<stageThreshold>-1.5x<", FS_ERR_FORMAT, "stageThreshold"},
        {"0 -1 0 2.5e-01", "0 -1 0 abc", FS_ERR_FORMAT, "internalNodes"},
        {"0 -1 0 2.5e-01", "0 -1 0", FS_ERR_FORMAT, "internalNodes"},
        {"0 -1 1 -0.5", "0 -1 99 -0.5", FS_ERR_FORMAT, "feature 99"},
        {"0 -1 1 -0.5", "0 -7 1 -0.5", FS_ERR_FORMAT, "child index"},
        {"0 -1 1 -0.5", "0.5 -1 1 -0.5", FS_ERR_FORMAT, "internalNodes"},
        {"<leafValues>1.0 -1.0</leafValues>", "<leafValues>1.0</leafValues>", FS_ERR_FORMAT, "leafValues"},
        {"<leafValues>0.5 -0.5</leafValues>", "<leafValues>0.5 nan</leafValues>", FS_ERR_FORMAT, "number"},
        {"0 0 8 6 -1.", "0 0 9 6 -1.", FS_ERR_FORMAT, "outside"},
        {"1 1 6 4 -1.", "-1 1 6 4 -1.", FS_ERR_FORMAT, "outside"},
        {"3 0 2 2 -1.", "1 0 2 2 -1.", FS_ERR_FORMAT, "outside"},                  /* tilted corner x-h < 0 */
        {"0 0 4 6 2.", "0 0 4 6", FS_ERR_FORMAT, "x y w h weight"},
        {"<_>4 3 3 2 2.</_>", "<_>4 3 3 2 2.</_><_>4 3 3 2 2.</_>", FS_ERR_FORMAT, "more than 3"},
        {"<stageNum>2</stageNum>", "<stageNum>2</stageNum><!-- unterminated", FS_ERR_FORMAT, "comment"},
        {"<features>", "<featurez>", FS_ERR_FORMAT, ""},
        {"<featureParams><maxCatCount>0", "<featureParams><maxCatCount>256", FS_ERR_UNSUPPORTED, "maxCatCount"},
        {"<weakClassifiers><_><internalNodes>0 -1 1", "<weakClassifiers></weakClassifiers><x><_><internalNodes>0 -1 1",
         FS_ERR_FORMAT, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fs_status st = load_variant(cases[i].from, cases[i].to);
        CHECK_MSG(st == cases[i].want, "case %zu (%s): status %d, want %d: %s", i, cases[i].to, (int)st,
                  (int)cases[i].want, fs_last_error());
        CHECK_MSG(strstr(fs_last_error(), cases[i].msg) != NULL, "case %zu: message '%s' lacks '%s'", i,
                  fs_last_error(), cases[i].msg);
    }
    /* missing pieces */
    char *x = replace(TINY, "<stages>", "<stagesX>");
    char *y = x ? replace(x, "</stages>", "</stagesX>") : NULL;
    fs_cascade *c = NULL;
    CHECK(y && fs_cascade_load_memory(y, strlen(y), &c) == FS_ERR_FORMAT && strstr(fs_last_error(), "missing <stages>"));
    free(x); free(y);
    x = replace(TINY, "<stages>", "<stages></stages><unused>");
    y = x ? replace(x, "</stages>\n  <features>", "</unused>\n  <features>") : NULL;
    CHECK(y && fs_cascade_load_memory(y, strlen(y), &c) == FS_ERR_FORMAT && strstr(fs_last_error(), "<stages> is empty"));
    free(x); free(y);
    CHECK(fs_cascade_load_memory("", 0, &c) == FS_ERR_FORMAT);
    CHECK(fs_cascade_load_memory("<a><b></a>", 10, &c) == FS_ERR_FORMAT);
    CHECK(fs_cascade_load("/nonexistent/cascade.xml", &c) == FS_ERR_IO && strstr(fs_last_error(), "/nonexistent"));
    /* deep nesting is capped, not recursed */
    size_t depth = 5000;
    char *deep = malloc(depth * 3 + 1);
    for (size_t i = 0; i < depth; i++) memcpy(deep + 3 * i, "<a>", 3);
    deep[depth * 3] = 0;
    CHECK(fs_cascade_load_memory(deep, depth * 3, &c) == FS_ERR_FORMAT && strstr(fs_last_error(), "deeper"));
    free(deep);
}

TEST(cascade_default_path_env) {
    setenv("FACESCORE_CASCADE", "/some/where.xml", 1);
    CHECK(!strcmp(fs_cascade_default_path(), "/some/where.xml"));
    unsetenv("FACESCORE_CASCADE");
    CHECK(strstr(fs_cascade_default_path(), "haarcascade_frontalface_default.xml") != NULL);
}

/* ------------------------------------------------------------------ integrals and resize */

static uint32_t rng_state = 12345;
static uint32_t rnd(void) { rng_state = rng_state * 1664525u + 1013904223u; return rng_state >> 8; }

TEST(integral_vs_naive) {
    int sizes[][2] = {{1, 1}, {1, 7}, {9, 1}, {5, 4}, {17, 13}, {40, 31}};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        int w = sizes[si][0], h = sizes[si][1], step = w + 1;
        uint8_t *img = malloc((size_t)w * h);
        for (int i = 0; i < w * h; i++) img[i] = (uint8_t)(si == 0 ? 255 : rnd());
        size_t plane = (size_t)step * (h + 1);
        int32_t *buf = malloc(sizeof(int32_t) * plane * 3);
        uint32_t *scr = malloc(sizeof(uint32_t) * 2 * (size_t)(w + h + 4));
        haar_integral(img, w, h, w, step, buf, buf + plane, buf + 2 * plane, scr);
        for (int Y = 0; Y <= h; Y++)
            for (int X = 0; X <= w; X++) {
                long long s = 0, q = 0, t = 0;
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) {
                        int v = img[y * w + x];
                        if (y < Y && x < X) { s += v; q += v * v; }
                        int d = x - X + 1;
                        if (y < Y && (d < 0 ? -d : d) <= Y - y - 1) t += v;
                    }
                CHECK_MSG(buf[Y * step + X] == (int32_t)s, "sum %dx%d at (%d,%d)", w, h, X, Y);
                CHECK_MSG(buf[plane + Y * step + X] == (int32_t)q, "sqsum %dx%d at (%d,%d)", w, h, X, Y);
                CHECK_MSG(buf[2 * plane + Y * step + X] == (int32_t)t, "tilted %dx%d at (%d,%d): %d vs %lld", w, h,
                          X, Y, buf[2 * plane + Y * step + X], t);
            }
        free(img); free(buf); free(scr);
    }
}

static uint32_t rd32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

TEST(integral_vs_cv2_integral3) {
    size_t len;
    unsigned char *g = fs_test_read_file("tests/data/detect/integral3_golden.bin", &len);
    CHECK(g != NULL && len > 8);
    int w = (int)rd32(g), h = (int)rd32(g + 4), step = w + 1;
    size_t plane = (size_t)step * (h + 1);
    CHECK(len == 8 + (size_t)w * h + 3 * plane * 4);
    int32_t *buf = malloc(sizeof(int32_t) * plane * 3);
    uint32_t *scr = malloc(sizeof(uint32_t) * 2 * (size_t)(w + h + 4));
    haar_integral(g + 8, w, h, w, step, buf, buf + plane, buf + 2 * plane, scr);
    const unsigned char *ref = g + 8 + (size_t)w * h;
    for (size_t i = 0; i < 3 * plane; i++)
        CHECK_MSG(buf[i] == (int32_t)rd32(ref + 4 * i), "plane %zu index %zu: %d vs %d", i / plane, i % plane, buf[i],
                  (int32_t)rd32(ref + 4 * i));
    free(buf); free(scr); free(g);
}

TEST(resize_linear_exact_vs_cv2) {
    size_t len;
    unsigned char *g = fs_test_read_file("tests/data/detect/resize_golden.bin", &len);
    CHECK(g != NULL && len > 8);
    int sw = (int)rd32(g), sh = (int)rd32(g + 4);
    const unsigned char *src = g + len - (size_t)sw * sh, *p = g + 8;
    int cases = 0;
    while (p + 8 <= src) {
        int dw = (int)rd32(p), dh = (int)rd32(p + 4);
        p += 8;
        uint8_t *out = malloc((size_t)dw * dh);
        CHECK(haar_resize_linear_exact(src, sw, sh, sw, out, dw, dh) == 0);
        for (int i = 0; i < dw * dh; i++)
            CHECK_MSG(out[i] == p[i], "%dx%d -> %dx%d: pixel (%d,%d) %d vs cv2 %d", sw, sh, dw, dh, i % dw, i / dw,
                      out[i], p[i]);
        /* the same rows computed band by band (as the detector's tasks do) */
        for (int r0 = 0; r0 < dh; r0 += 4) {
            int r1 = r0 + 5 < dh ? r0 + 5 : dh;
            memset(out, 0, (size_t)dw * dh);
            CHECK(haar_resize_linear_exact_rows(src, sw, sh, sw, out, dw, dh, r0, r1) == 0);
            CHECK_MSG(!memcmp(out, p + (size_t)r0 * dw, (size_t)(r1 - r0) * dw), "rows [%d,%d) of %dx%d", r0, r1, dw, dh);
        }
        p += (size_t)dw * dh;
        free(out);
        cases++;
    }
    CHECK(cases == 8);
    free(g);
}

/* ------------------------------------------------------------------ grouping */

TEST(group_rectangles_rules) {
    /* 3 near-identical boxes -> one averaged box when threshold < 3; a lone box is dropped */
    haar_box r[5] = {{10, 10, 20, 20}, {11, 10, 20, 20}, {10, 11, 21, 21}, {100, 100, 20, 20}, {12, 12, 20, 20}};
    int w[5];
    int n = haar_group_rectangles(r, 5, 2, 0.2, w);
    CHECK(n == 1 && w[0] == 4);
    /* sums 43,43,81,81 over 4 -> 10.75 -> 11, 20.25 -> 20 */
    CHECK(r[0].x == 11 && r[0].y == 11 && r[0].w == 20 && r[0].h == 20);
    haar_box q[2] = {{0, 0, 10, 10}, {50, 50, 10, 10}};
    CHECK(haar_group_rectangles(q, 2, 0, 0.2, w) == 2); /* threshold 0: unchanged */
}

/* ------------------------------------------------------------------ detection vs OpenCV */

static void make_texture(fs_image *g) {
    fs_image_alloc(g, 160, 120, 1);
    for (int y = 0; y < 120; y++)
        for (int x = 0; x < 160; x++) g->data[y * g->stride + x] = (uint8_t)(((x * x + 3 * y * y + 5 * x * y) >> 3) & 255);
}

static int cmp_box(const void *a, const void *b) { return memcmp(a, b, sizeof(int) * 4); }
static int cmp_box_sorted(const void *a, const void *b) {
    const int *p = a, *q = b;
    for (int i = 0; i < 4; i++) if (p[i] != q[i]) return p[i] < q[i] ? -1 : 1;
    return 0;
}

/* Runs every expected_boxes.txt line whose cascade name contains `casc_filter`. */
static void check_expected(const char *casc_filter, int *ncases) {
    FILE *f = fopen("tests/data/detect/expected_boxes.txt", "r");
    if (!f) { fs_test_fail(__FILE__, __LINE__, "no expected_boxes.txt"); return; }
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        char img_name[256], casc[256];
        double sf;
        int mn, mins, maxs, cnt, pos;
        if (sscanf(line, "%255s %255s %lf %d %d %d %d%n", img_name, casc, &sf, &mn, &mins, &maxs, &cnt, &pos) != 7) continue;
        if (!strstr(casc, casc_filter)) continue;
        char path[512];
        snprintf(path, sizeof path, "models/opencv/%s", casc);
        if (!fs_test_exists(path)) snprintf(path, sizeof path, DEBIAN_HAAR "%s", casc);
        fs_cascade *c;
        if (fs_cascade_load(path, &c) != FS_OK) { fclose(f); SKIP("cascade not installed"); }
        fs_image img = {0};
        if (!strcmp(img_name, "texture")) make_texture(&img);
        else CHECK_MSG(fs_image_load(img_name, 3, NULL, &img) == FS_OK, "%s: %s", img_name, fs_last_error());
        fs_haar_params p;
        fs_haar_params_default(&p);
        p.scale_factor = sf; p.min_neighbors = mn;
        p.min_w = p.min_h = mins; p.max_w = p.max_h = maxs;
        p.threads = 2;
        fs_detections d;
        CHECK(fs_haar_detect(c, &img, &p, &d) == FS_OK);
        int (*want)[4] = calloc((size_t)cnt + 1, sizeof *want), (*got)[4] = calloc((size_t)d.n + 1, sizeof *got);
        const char *q = line + pos;
        for (int i = 0; i < cnt; i++) {
            int used;
            CHECK(sscanf(q, "%d %d %d %d%n", &want[i][0], &want[i][1], &want[i][2], &want[i][3], &used) == 4);
            q += used;
        }
        for (int i = 0; i < d.n; i++) {
            got[i][0] = (int)d.faces[i].box.x; got[i][1] = (int)d.faces[i].box.y;
            got[i][2] = (int)d.faces[i].box.w; got[i][3] = (int)d.faces[i].box.h;
        }
        CHECK_MSG(d.n == cnt, "%s %s %g/%d: %d boxes, OpenCV %d", img_name, casc, sf, mn, d.n, cnt);
        qsort(got, (size_t)d.n, sizeof *got, cmp_box_sorted);
        for (int i = 0; i < cnt; i++)
            CHECK_MSG(!cmp_box(got[i], want[i]), "%s %g/%d box %d: %d %d %d %d vs OpenCV %d %d %d %d", img_name, sf, mn, i,
                      got[i][0], got[i][1], got[i][2], got[i][3], want[i][0], want[i][1], want[i][2], want[i][3]);
        /* result code, largest first */
        CHECK(d.code == (cnt == 0 ? FS_CODE_NO_FACE : cnt == 1 ? FS_CODE_ONE_FACE : FS_CODE_MANY_FACES));
        CHECK(d.largest == (cnt ? 0 : -1));
        for (int i = 1; i < d.n; i++) CHECK(d.faces[i].box.w * d.faces[i].box.h <= d.faces[0].box.w * d.faces[0].box.h);
        free(want); free(got);
        fs_detections_free(&d);
        fs_image_free(&img);
        fs_cascade_free(c);
        (*ncases)++;
    }
    fclose(f);
}

TEST(detect_matches_opencv_default_cascade) {
    int n = 0;
    check_expected("frontalface_default", &n);
    CHECK(n == 8);
}

TEST(detect_matches_opencv_lbp_cascade) {
    int n = 0;
    check_expected("lbpcascade", &n);
    CHECK(n == 2);
}

TEST(detect_matches_opencv_tilted_and_tree_cascades) {
    if (!fs_test_exists(DEBIAN_HAAR "haarcascade_smile.xml")) SKIP("Debian opencv-data not installed");
    int n = 0;
    check_expected("eye_tree_eyeglasses", &n);
    check_expected("smile", &n);
    CHECK(n == 2);
}

TEST(detect_result_codes_and_gray_input) {
    fs_cascade *c;
    CHECK(fs_cascade_load(CASCADE, &c) == FS_OK);
    fs_haar_params p;
    fs_haar_params_default(&p);
    p.scale_factor = 1.1; p.min_neighbors = 5;
    fs_image rgb = {0}, gray = {0};
    CHECK(fs_image_load("tests/data/detect/grace_hopper.jpg", 3, NULL, &rgb) == FS_OK);
    CHECK(fs_image_to_gray(&rgb, &gray) == FS_OK);
    fs_detections a, b;
    CHECK(fs_haar_detect(c, &rgb, &p, &a) == FS_OK && fs_haar_detect(c, &gray, &p, &b) == FS_OK);
    CHECK(a.n == 1 && a.code == FS_CODE_ONE_FACE && a.largest == 0 && a.faces[0].confidence > 5);
    CHECK(b.n == 1 && !memcmp(&a.faces[0].box, &b.faces[0].box, sizeof a.faces[0].box));
    fs_detections_free(&a); fs_detections_free(&b);
    /* flat image, image smaller than the window: no faces, no error */
    fs_image flat = {0}, tiny = {0};
    fs_image_alloc(&flat, 64, 48, 1);
    memset(flat.data, 128, (size_t)flat.stride * 48);
    CHECK(fs_haar_detect(c, &flat, &p, &a) == FS_OK && a.n == 0 && a.code == FS_CODE_NO_FACE && a.largest == -1);
    fs_detections_free(&a);
    fs_image_alloc(&tiny, 20, 30, 1);
    memset(tiny.data, 7, (size_t)tiny.stride * 30);
    CHECK(fs_haar_detect(c, &tiny, &p, &a) == FS_OK && a.n == 0);
    fs_detections_free(&a);
    /* bad arguments */
    p.scale_factor = 1.0;
    CHECK(fs_haar_detect(c, &gray, &p, &a) == FS_ERR_ARG);
    p.scale_factor = 1.1; p.min_neighbors = -1;
    CHECK(fs_haar_detect(c, &gray, &p, &a) == FS_ERR_ARG);
    fs_image_free(&rgb); fs_image_free(&gray); fs_image_free(&flat); fs_image_free(&tiny);
    fs_cascade_free(c);
}

/* Raw candidates (before grouping) from the scalar portable scan and another scan. */
static void compare_scans(const fs_cascade *c, const fs_image *g, double sf, haar_rows_fn other) {
    fs_haar_params p;
    fs_haar_params_default(&p);
    p.scale_factor = sf;
    p.threads = 1;
    haar_box *a, *b;
    int na, nb;
    CHECK(haar_detect_raw(c, g, &p, haar_rows_portable, &a, &na) == FS_OK);
    CHECK(haar_detect_raw(c, g, &p, other, &b, &nb) == FS_OK);
    CHECK_MSG(na == nb, "scalar %d candidates, other scan %d", na, nb);
    qsort(a, (size_t)na, sizeof *a, cmp_box_sorted);
    qsort(b, (size_t)nb, sizeof *b, cmp_box_sorted);
    CHECK(na > 50 && !memcmp(a, b, sizeof *a * (size_t)na));
    free(a); free(b);
}

static void scans_equal(haar_rows_fn other) {
    fs_cascade *c;
    CHECK(fs_cascade_load(CASCADE, &c) == FS_OK);
    fs_image rgb = {0}, g = {0};
    CHECK(fs_image_load("samples/face.jpg", 3, NULL, &rgb) == FS_OK && fs_image_to_gray(&rgb, &g) == FS_OK);
    compare_scans(c, &g, 1.1, other);
    /* odd sizes exercise partial lane blocks and both window steps */
    fs_image crop = {0};
    CHECK(fs_image_crop(&g, 3, 5, 301, 203, &crop) == FS_OK);
    compare_scans(c, &crop, 1.05, other);
    fs_image_free(&rgb); fs_image_free(&g); fs_image_free(&crop);
    fs_cascade_free(c);
}

TEST(simd_scan_equals_portable) {
    fs_cascade *c;
    CHECK(fs_cascade_load(CASCADE, &c) == FS_OK);
    const char *name;
    haar_rows_fn sel = haar_select_rows(c, &name);
    fs_cascade_free(c);
    if (!strcmp(name, "portable")) SKIP("no SIMD scan on this CPU");
    scans_equal(sel);
}

TEST(lane_scan_equals_scalar) {
    scans_equal(haar_rows_lanes);
}

TEST(threads_do_not_change_boxes) {
    fs_cascade *c;
    CHECK(fs_cascade_load(CASCADE, &c) == FS_OK);
    fs_image img = {0};
    CHECK(fs_image_load("samples/face.jpg", 3, NULL, &img) == FS_OK);
    fs_haar_params p;
    fs_haar_params_default(&p);
    p.scale_factor = 1.1; p.min_neighbors = 3;
    fs_detections a, b;
    p.threads = 1;
    CHECK(fs_haar_detect(c, &img, &p, &a) == FS_OK);
    p.threads = 3;
    CHECK(fs_haar_detect(c, &img, &p, &b) == FS_OK);
    CHECK(a.n == b.n && a.n > 0);
    for (int i = 0; i < a.n; i++) CHECK(!memcmp(&a.faces[i].box, &b.faces[i].box, sizeof a.faces[i].box));
    fs_detections_free(&a); fs_detections_free(&b);
    fs_image_free(&img);
    fs_cascade_free(c);
}

/* ------------------------------------------------------------------ CLI */

static char *run_cmd(const char *cmd, int *status) {
    FILE *f = popen(cmd, "r");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *out = calloc(cap, 1);
    size_t got;
    while ((got = fread(out + n, 1, cap - 1 - n, f)) > 0) n += got;
    *status = pclose(f);
    return out;
}

TEST(cli_detect_json_and_errors) {
    const char *bin = getenv("FS_BIN");
    if (!bin || !fs_test_exists(bin)) SKIP("FS_BIN not built");
    char cmd[1024];
    int st;
    snprintf(cmd, sizeof cmd, "%s detect --detector haar --json --scale-factor 1.1 --min-neighbors 5 tests/data/detect/grace_hopper.jpg", bin);
    char *out = run_cmd(cmd, &st);
    CHECK(out && st == 0);
    CHECK_MSG(!strcmp(out, "{\"file\":\"tests/data/detect/grace_hopper.jpg\",\"width\":512,\"height\":600,"
                           "\"code\":2,\"largest\":0,\"detector\":\"haar\",\"faces\":[{\"box\":[155,103,223,223],\"confidence\":28.0000}]}\n"),
              "got: %s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s detect --detector haar --scale-factor 1.1 /nonexistent.jpg samples/face.jpg 2>&1", bin);
    out = run_cmd(cmd, &st);
    CHECK(out && WEXITSTATUS(st) == 1);
    CHECK_MSG(strstr(out, "/nonexistent.jpg") && strstr(out, "samples/face.jpg: code 1, 4 faces"), "got: %s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s bench detect --detector haar --reps 2 --scale-factor 1.2 tests/data/detect/grace_hopper.jpg", bin);
    out = run_cmd(cmd, &st);
    CHECK(out && st == 0);
    char *last = out + strlen(out) - 1;
    while (last > out && last[-1] != '\n') last--;
    CHECK_MSG(!strncmp(last, "median_ms ", 10) && atof(last + 10) > 0, "got: %s", out);
    free(out);
}
