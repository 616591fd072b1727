/* detect/haar_cascade.c — loading OpenCV cascade XML files (new "opencv-cascade-classifier" format).
 *
 * Reads what CascadeClassifierImpl::Data::read and HaarEvaluator::read read, converting numbers
 * the same way (text -> double -> float, stage threshold minus 1e-5f), and validates everything a
 * detector later indexes with: feature indices, child/leaf indices, rectangles inside the window,
 * counts within sane limits. HAAR (stumps or trees, tilted features) and LBP (stumps with 256
 * categories) are read; the old "opencv-haar-classifier" format is refused with a clear message. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "detect/haar_internal.h"

#define MAX_WIN 1024
#define MAX_STAGES 10000
#define MAX_NODES (1 << 22)
#define MAX_FEATURES (1 << 22)

typedef struct {
    const char *p, *end; /* text span; the whole buffer is NUL-terminated */
} numcur;

static numcur span_of(const haar_xdoc *d, int node) {
    numcur c = {"", ""};
    if (node >= 0 && d->nodes[node].text) {
        c.p = d->nodes[node].text;
        c.end = c.p + d->nodes[node].text_len;
    }
    return c;
}

static int next_double(numcur *c, double *v) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t')) c->p++;
    if (c->p >= c->end) return 0;
    char *e;
    double x = strtod(c->p, &e);
    if (e == c->p || e > c->end || !isfinite(x)) return -1;
    c->p = e;
    *v = x;
    return 1;
}

static int next_int(numcur *c, int *v) {
    double x;
    int r = next_double(c, &x);
    if (r <= 0) return r;
    if (x != floor(x) || x < -2147483648.0 || x > 2147483647.0) return -1;
    *v = (int)x;
    return 1;
}

static int at_end(numcur *c) {
    double x;
    return next_double(c, &x) == 0;
}

static int count_numbers(numcur c) {
    double x;
    int n = 0, r;
    while ((r = next_double(&c, &x)) > 0) n++;
    return r < 0 ? -1 : n;
}

/* Integer value of a scalar element, e.g. <width>24</width>. */
static fs_status scalar_int(const haar_xdoc *d, int parent, const char *name, int *out) {
    int n = haar_xml_child(d, parent, name);
    if (n < 0) return fs_error(FS_ERR_FORMAT, "cascade: missing <%s>", name);
    numcur c = span_of(d, n);
    if (next_int(&c, out) <= 0 || !at_end(&c))
        return fs_error(FS_ERR_FORMAT, "cascade: <%s> is not an integer", name);
    return FS_OK;
}

static int text_is(const haar_xdoc *d, int node, const char *s) {
    if (node < 0 || !d->nodes[node].text) return 0;
    const char *p = d->nodes[node].text, *e = p + d->nodes[node].text_len;
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\r' || e[-1] == '\t')) e--;
    return (size_t)(e - p) == strlen(s) && !memcmp(p, s, (size_t)(e - p));
}

void fs_cascade_free(fs_cascade *c) {
    if (!c) return;
    free(c->stages); free(c->trees); free(c->nodes); free(c->leaves);
    free(c->features); free(c->stumps); free(c->subsets);
    free(c);
}

/* First pass: counts, so the arrays are allocated once. */
static fs_status count_stages(const haar_xdoc *d, int stages, fs_cascade *c) {
    int step = c->lbp ? 11 : 4; /* numbers per node: left right feature + threshold | 8 subset words */
    int si = 0;
    for (int s = d->nodes[stages].first_child; s >= 0; s = d->nodes[s].next_sibling, si++) {
        if (si >= MAX_STAGES) return fs_error(FS_ERR_LIMIT, "cascade: more than %d stages", MAX_STAGES);
        int weak = haar_xml_child(d, s, "weakClassifiers");
        if (weak < 0 || d->nodes[weak].first_child < 0)
            return fs_error(FS_ERR_FORMAT, "cascade: stage %d has no weakClassifiers", si);
        for (int w = d->nodes[weak].first_child; w >= 0; w = d->nodes[w].next_sibling) {
            int in = haar_xml_child(d, w, "internalNodes"), lv = haar_xml_child(d, w, "leafValues");
            if (in < 0 || lv < 0)
                return fs_error(FS_ERR_FORMAT, "cascade: stage %d: weak classifier without %s", si,
                                in < 0 ? "internalNodes" : "leafValues");
            int ni = count_numbers(span_of(d, in)), nl = count_numbers(span_of(d, lv));
            if (ni < 0 || nl < 0)
                return fs_error(FS_ERR_FORMAT, "cascade: stage %d: bad number in %s", si,
                                ni < 0 ? "internalNodes" : "leafValues");
            if (ni == 0 || ni % step)
                return fs_error(FS_ERR_FORMAT, "cascade: stage %d: internalNodes has %d numbers (want %d per node)",
                                si, ni, step);
            if (nl != ni / step + 1)
                return fs_error(FS_ERR_FORMAT, "cascade: stage %d: %d leafValues for %d nodes", si, nl, ni / step);
            if (c->lbp && ni != step)
                return fs_error(FS_ERR_UNSUPPORTED, "cascade: stage %d: LBP trees with more than one node are not supported", si);
            c->ntrees++;
            c->nnodes += ni / step;
            c->nleaves += nl;
            if (c->nnodes > MAX_NODES) return fs_error(FS_ERR_LIMIT, "cascade: more than %d nodes", MAX_NODES);
        }
    }
    c->nstages = si;
    if (si == 0) return fs_error(FS_ERR_FORMAT, "cascade: <stages> is empty");
    return FS_OK;
}

static fs_status read_tree(const haar_xdoc *d, int w, int si, fs_cascade *c, int *node_i, int *leaf_i) {
    numcur in = span_of(d, haar_xml_child(d, w, "internalNodes"));
    numcur lv = span_of(d, haar_xml_child(d, w, "leafValues"));
    haar_tree *t = &c->trees[c->ntrees];
    t->first_node = *node_i;
    t->first_leaf = *leaf_i;
    t->node_count = 0;
    double th;
    for (;;) {
        haar_node nd;
        int r = next_int(&in, &nd.left);
        if (r == 0) break;
        if (r < 0 || next_int(&in, &nd.right) <= 0 || next_int(&in, &nd.feature) <= 0)
            return fs_error(FS_ERR_FORMAT, "cascade: stage %d: bad internalNodes (want integers left right "
                            "featureIdx first)", si);
        if (c->lbp) {
            nd.threshold = 0.f;
            for (int k = 0; k < 8; k++)
                if (next_int(&in, &c->subsets[8 * (size_t)*node_i + k]) <= 0)
                    return fs_error(FS_ERR_FORMAT, "cascade: stage %d: bad LBP subset word", si);
        } else {
            if (next_double(&in, &th) <= 0)
                return fs_error(FS_ERR_FORMAT, "cascade: stage %d: bad internalNodes threshold", si);
            nd.threshold = (float)th;
        }
        c->nodes[(*node_i)++] = nd;
        t->node_count++;
    }
    double v;
    while (next_double(&lv, &v) > 0) c->leaves[(*leaf_i)++] = (float)v;
    /* child indices: a positive child must come later in the same tree (so evaluation ends);
     * a leaf index -k must exist (node_count + 1 leaves) */
    for (int k = 0; k < t->node_count; k++) {
        const haar_node *nd = &c->nodes[t->first_node + k];
        int ch[2] = {nd->left, nd->right};
        for (int j = 0; j < 2; j++) {
            if (ch[j] > 0 ? (ch[j] <= k || ch[j] >= t->node_count) : (-ch[j] > t->node_count))
                return fs_error(FS_ERR_FORMAT, "cascade: stage %d: node child index %d out of range", si, ch[j]);
        }
    }
    return FS_OK;
}

static fs_status read_stages(const haar_xdoc *d, int stages, fs_cascade *c) {
    fs_status st = count_stages(d, stages, c);
    if (st) return st;
    c->stages = calloc((size_t)c->nstages, sizeof *c->stages);
    c->trees = calloc((size_t)c->ntrees, sizeof *c->trees);
    c->nodes = calloc((size_t)c->nnodes, sizeof *c->nodes);
    c->leaves = calloc((size_t)c->nleaves, sizeof *c->leaves);
    if (c->lbp) c->subsets = calloc((size_t)c->nnodes * 8, sizeof *c->subsets);
    if (!c->stages || !c->trees || !c->nodes || !c->leaves || (c->lbp && !c->subsets))
        return fs_error(FS_ERR_NOMEM, "cascade: out of memory");
    int si = 0, node_i = 0, leaf_i = 0;
    c->ntrees = 0;
    for (int s = d->nodes[stages].first_child; s >= 0; s = d->nodes[s].next_sibling, si++) {
        numcur tc = span_of(d, haar_xml_child(d, s, "stageThreshold"));
        double th;
        if (next_double(&tc, &th) <= 0 || !at_end(&tc))
            return fs_error(FS_ERR_FORMAT, "cascade: stage %d: missing or bad stageThreshold", si);
        haar_stage *sg = &c->stages[si];
        sg->threshold = (float)th - 1e-5f; /* THRESHOLD_EPS, as OpenCV */
        sg->first_tree = c->ntrees;
        int weak = haar_xml_child(d, s, "weakClassifiers");
        for (int w = d->nodes[weak].first_child; w >= 0; w = d->nodes[w].next_sibling) {
            if ((st = read_tree(d, w, si, c, &node_i, &leaf_i))) return st;
            c->ntrees++;
        }
        sg->ntrees = c->ntrees - sg->first_tree;
    }
    return FS_OK;
}

static int corner_ok(const fs_cascade *c, int x, int y) { return x >= 0 && y >= 0 && x <= c->win_w && y <= c->win_h; }

static fs_status read_features(const haar_xdoc *d, int feats, fs_cascade *c) {
    int n = haar_xml_count_children(d, feats);
    if (n <= 0) return fs_error(FS_ERR_FORMAT, "cascade: <features> is empty");
    if (n > MAX_FEATURES) return fs_error(FS_ERR_LIMIT, "cascade: more than %d features", MAX_FEATURES);
    c->nfeatures = n;
    c->features = calloc((size_t)n, sizeof *c->features);
    if (!c->features) return fs_error(FS_ERR_NOMEM, "cascade: out of memory");
    int fi = 0;
    for (int f = d->nodes[feats].first_child; f >= 0; f = d->nodes[f].next_sibling, fi++) {
        haar_feature *hf = &c->features[fi];
        if (c->lbp) {
            numcur rc = span_of(d, haar_xml_child(d, f, "rect"));
            haar_irect *q = &hf->r[0];
            if (next_int(&rc, &q->x) <= 0 || next_int(&rc, &q->y) <= 0 || next_int(&rc, &q->w) <= 0 ||
                next_int(&rc, &q->h) <= 0 || !at_end(&rc))
                return fs_error(FS_ERR_FORMAT, "cascade: LBP feature %d: want <rect>x y w h</rect>", fi);
            if (q->w <= 0 || q->h <= 0 || q->w > MAX_WIN || q->h > MAX_WIN || !corner_ok(c, q->x, q->y) ||
                !corner_ok(c, q->x + 3 * q->w, q->y + 3 * q->h))
                return fs_error(FS_ERR_FORMAT, "cascade: LBP feature %d (%d,%d %dx%d cells) lies outside the %dx%d window",
                                fi, q->x, q->y, q->w, q->h, c->win_w, c->win_h);
            continue;
        }
        int rects = haar_xml_child(d, f, "rects");
        if (rects < 0) {
            if (haar_xml_child(d, f, "rect") >= 0)
                return fs_error(FS_ERR_UNSUPPORTED, "cascade: feature %d is an LBP/HOG feature, not HAAR", fi);
            return fs_error(FS_ERR_FORMAT, "cascade: feature %d has no <rects>", fi);
        }
        int tn = haar_xml_child(d, f, "tilted");
        if (tn >= 0) {
            numcur tcur = span_of(d, tn);
            int tv;
            if (next_int(&tcur, &tv) <= 0) return fs_error(FS_ERR_FORMAT, "cascade: feature %d: bad <tilted>", fi);
            hf->tilted = tv != 0;
        }
        int ri = 0;
        for (int r = d->nodes[rects].first_child; r >= 0; r = d->nodes[r].next_sibling, ri++) {
            if (ri >= 3) return fs_error(FS_ERR_FORMAT, "cascade: feature %d has more than 3 rectangles", fi);
            numcur rc = span_of(d, r);
            haar_irect *q = &hf->r[ri];
            double w;
            if (next_int(&rc, &q->x) <= 0 || next_int(&rc, &q->y) <= 0 || next_int(&rc, &q->w) <= 0 ||
                next_int(&rc, &q->h) <= 0 || next_double(&rc, &w) <= 0 || !at_end(&rc))
                return fs_error(FS_ERR_FORMAT, "cascade: feature %d rectangle %d: want \"x y w h weight\"", fi, ri);
            hf->weight[ri] = (float)w;
            int ok = q->w > 0 && q->h > 0 && q->w <= MAX_WIN && q->h <= MAX_WIN;
            if (ok && !hf->tilted)
                ok = corner_ok(c, q->x, q->y) && corner_ok(c, q->x + q->w, q->y + q->h);
            else if (ok)
                ok = corner_ok(c, q->x, q->y) && corner_ok(c, q->x - q->h, q->y + q->h) &&
                     corner_ok(c, q->x + q->w, q->y + q->w) && corner_ok(c, q->x + q->w - q->h, q->y + q->w + q->h);
            if (!ok)
                return fs_error(FS_ERR_FORMAT, "cascade: feature %d rectangle %d (%d,%d %dx%d%s) lies outside the %dx%d window",
                                fi, ri, q->x, q->y, q->w, q->h, hf->tilted ? ", tilted" : "", c->win_w, c->win_h);
        }
        if (ri < 2) return fs_error(FS_ERR_FORMAT, "cascade: feature %d has %d rectangle(s), want 2 or 3", fi, ri);
        c->has_tilted |= hf->tilted;
    }
    return FS_OK;
}

static fs_status build_stumps(fs_cascade *c) {
    if (c->lbp) return FS_OK; /* LBP nodes are evaluated from nodes/subsets */
    for (int t = 0; t < c->ntrees; t++)
        if (c->trees[t].node_count != 1) return FS_OK;
    c->stumps = malloc((size_t)c->ntrees * sizeof *c->stumps);
    if (!c->stumps) return fs_error(FS_ERR_NOMEM, "cascade: out of memory");
    for (int t = 0; t < c->ntrees; t++) {
        const haar_node *nd = &c->nodes[c->trees[t].first_node];
        const float *lv = &c->leaves[c->trees[t].first_leaf];
        /* OpenCV's stump table takes leaves[0] as "left" and leaves[1] as "right" */
        c->stumps[t] = (haar_stump){nd->feature, nd->threshold, lv[0], lv[1]};
    }
    return FS_OK;
}

static fs_status read_cascade(const haar_xdoc *d, fs_cascade *c) {
    int top = 0; /* <opencv_storage> */
    if (d->nodes[top].name_len != 14 || memcmp(d->nodes[top].name, "opencv_storage", 14))
        return fs_error(FS_ERR_FORMAT, "cascade: root element is <%.*s>, not <opencv_storage>",
                        (int)(d->nodes[top].name_len > 40 ? 40 : d->nodes[top].name_len), d->nodes[top].name);
    int root = d->nodes[top].first_child;
    if (root < 0) return fs_error(FS_ERR_FORMAT, "cascade: <opencv_storage> is empty");
    const haar_xnode *r = &d->nodes[root];
    if (r->type_id && r->type_id_len == 22 && !memcmp(r->type_id, "opencv-haar-classifier", 22))
        return fs_error(FS_ERR_UNSUPPORTED, "cascade: old-format cascade (type_id opencv-haar-classifier) is not "
                        "supported; use a file in the new format, e.g. OpenCV 4's haarcascades/*.xml");
    int st_node = haar_xml_child(d, root, "stageType");
    if (st_node < 0) return fs_error(FS_ERR_FORMAT, "cascade: missing <stageType> (not an OpenCV cascade?)");
    if (!text_is(d, st_node, "BOOST")) return fs_error(FS_ERR_UNSUPPORTED, "cascade: stageType is not BOOST");
    int ft = haar_xml_child(d, root, "featureType");
    if (ft < 0) return fs_error(FS_ERR_FORMAT, "cascade: missing <featureType>");
    c->lbp = text_is(d, ft, "LBP");
    if (!c->lbp && !text_is(d, ft, "HAAR"))
        return fs_error(FS_ERR_UNSUPPORTED, "cascade: featureType is neither HAAR nor LBP");
    fs_status st;
    if ((st = scalar_int(d, root, "width", &c->win_w)) || (st = scalar_int(d, root, "height", &c->win_h))) return st;
    if (c->win_w < 3 || c->win_h < 3 || c->win_w > MAX_WIN || c->win_h > MAX_WIN)
        return fs_error(FS_ERR_FORMAT, "cascade: window %dx%d out of range [3, %d]", c->win_w, c->win_h, MAX_WIN);
    int fp = haar_xml_child(d, root, "featureParams");
    if (fp < 0) return fs_error(FS_ERR_FORMAT, "cascade: missing <featureParams>");
    int mcc = 0;
    if (haar_xml_child(d, fp, "maxCatCount") >= 0 && (st = scalar_int(d, fp, "maxCatCount", &mcc))) return st;
    if (mcc != (c->lbp ? 256 : 0))
        return fs_error(FS_ERR_UNSUPPORTED, "cascade: maxCatCount %d is not supported for %s (want %d)", mcc,
                        c->lbp ? "LBP" : "HAAR", c->lbp ? 256 : 0);
    int stages = haar_xml_child(d, root, "stages");
    if (stages < 0) return fs_error(FS_ERR_FORMAT, "cascade: missing <stages>");
    if ((st = read_stages(d, stages, c))) return st;
    int feats = haar_xml_child(d, root, "features");
    if (feats < 0) return fs_error(FS_ERR_FORMAT, "cascade: missing <features>");
    if ((st = read_features(d, feats, c))) return st;
    for (int i = 0; i < c->nnodes; i++)
        if (c->nodes[i].feature < 0 || c->nodes[i].feature >= c->nfeatures)
            return fs_error(FS_ERR_FORMAT, "cascade: node refers to feature %d, but there are %d features",
                            c->nodes[i].feature, c->nfeatures);
    return build_stumps(c);
}

fs_status fs_cascade_load_memory(const char *xml, size_t len, fs_cascade **out) {
    *out = NULL;
    if (!xml && len) return fs_error(FS_ERR_ARG, "cascade: NULL buffer");
    if (len > ((size_t)256 << 20)) return fs_error(FS_ERR_LIMIT, "cascade: %zu bytes is more than 256 MiB", len);
    char *buf = malloc(len + 1); /* NUL-terminated copy: number parsing never runs off the end */
    if (!buf) return fs_error(FS_ERR_NOMEM, "cascade: out of memory");
    if (len) memcpy(buf, xml, len);
    buf[len] = 0;
    haar_xdoc doc;
    fs_status st = haar_xml_parse(buf, len, &doc);
    if (st) { free(buf); return st; }
    fs_cascade *c = calloc(1, sizeof *c);
    if (!c) st = fs_error(FS_ERR_NOMEM, "cascade: out of memory");
    else st = read_cascade(&doc, c);
    haar_xml_free(&doc);
    free(buf);
    if (st) { fs_cascade_free(c); return st; }
    *out = c;
    return FS_OK;
}

fs_status fs_cascade_load(const char *path, fs_cascade **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return fs_error(FS_ERR_IO, "cannot open cascade %s", path);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : (1 << 20);
            if (cap > ((size_t)256 << 20)) { fclose(f); free(buf); return fs_error(FS_ERR_LIMIT, "cascade %s: larger than 256 MiB", path); }
            char *nb = realloc(buf, cap);
            if (!nb) { fclose(f); free(buf); return fs_error(FS_ERR_NOMEM, "cascade: out of memory"); }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) { free(buf); return fs_error(FS_ERR_IO, "cannot read cascade %s", path); }
    fs_status st = fs_cascade_load_memory(buf, len, out);
    free(buf);
    if (st) fs_error_prefix("%s: ", path);
    return st;
}

static int is_file(const char *p) {
    struct stat sb;
    return p && *p && stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* <directory of the running executable>/../models/opencv/<name> (build/facescore -> repo models/), else
 * .../../share/facescore/models/opencv/<name> (installed: <prefix>/bin/facescore) */
static const char *exe_relative(const char *name) {
    static char buf[4096];
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return NULL;
    *slash = 0;
    if ((size_t)snprintf(buf, sizeof buf, "%s/../models/opencv/%s", exe, name) >= sizeof buf) return NULL;
    if (!is_file(buf) &&
        (size_t)snprintf(buf, sizeof buf, "%s/../share/facescore/models/opencv/%s", exe, name) >= sizeof buf)
        return NULL;
    return buf;
}

const char *fs_cascade_default_path(void) {
    static const char *const cands[] = {
        "models/opencv/haarcascade_frontalface_default.xml",
        "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml",
        "/usr/share/opencv/haarcascades/haarcascade_frontalface_default.xml",
        "/usr/local/share/opencv4/haarcascades/haarcascade_frontalface_default.xml",
    };
    const char *env = getenv("FACESCORE_CASCADE");
    if (env && *env) return env;
    if (is_file(cands[0])) return cands[0];
    const char *rel = exe_relative("haarcascade_frontalface_default.xml");
    if (is_file(rel)) return rel;
    for (size_t i = 1; i < sizeof cands / sizeof cands[0]; i++)
        if (is_file(cands[i])) return cands[i];
    return cands[0];
}
