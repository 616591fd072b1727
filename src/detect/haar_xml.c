/* detect/haar_xml.c — a small, bounds-checked XML reader for OpenCV cascade files.
 *
 * Enough XML for FileStorage output: the <?xml?> declaration, comments, elements with attributes,
 * character data and end tags. No entities beyond skipping them, no CDATA, no DTD. Builds a flat
 * node array (first_child / next_sibling links). Every read is checked against the buffer end;
 * nesting depth and node count are capped, so hostile input fails with a message, never a crash. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "detect/haar_internal.h"

#define XML_MAX_DEPTH 64

typedef struct {
    const char *p, *end, *start;
} xcur;

static int line_of(const xcur *c, const char *at) {
    int line = 1;
    for (const char *q = c->start; q < at && q < c->end; q++) line += (*q == '\n');
    return line;
}

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }
static int is_name(char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-' || ch == ':' || ch == '.';
}

static int starts(const xcur *c, const char *s) {
    size_t n = strlen(s);
    return (size_t)(c->end - c->p) >= n && !memcmp(c->p, s, n);
}

/* Skips to just after `term`; error if absent. */
static fs_status skip_past(xcur *c, const char *term, const char *what) {
    size_t n = strlen(term);
    const char *open = c->p;
    while ((size_t)(c->end - c->p) >= n) {
        if (!memcmp(c->p, term, n)) { c->p += n; return FS_OK; }
        c->p++;
    }
    return fs_error(FS_ERR_FORMAT, "cascade XML: unterminated %s starting at line %d", what,
                    line_of(c, open));
}

static int new_node(haar_xdoc *d) {
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 256;
        haar_xnode *nn = realloc(d->nodes, (size_t)cap * sizeof *nn);
        if (!nn) return -1;
        d->nodes = nn;
        d->cap = cap;
    }
    haar_xnode *x = &d->nodes[d->n];
    memset(x, 0, sizeof *x);
    x->first_child = x->next_sibling = -1;
    return d->n++;
}

/* Parses attributes up to '>' or '/>'; records type_id. Sets *self_close. */
static fs_status parse_attrs(xcur *c, haar_xnode *x, int *self_close) {
    for (;;) {
        while (c->p < c->end && is_space(*c->p)) c->p++;
        if (c->p >= c->end) break;
        if (*c->p == '>') { c->p++; *self_close = 0; return FS_OK; }
        if (starts(c, "/>")) { c->p += 2; *self_close = 1; return FS_OK; }
        const char *an = c->p;
        while (c->p < c->end && is_name(*c->p)) c->p++;
        size_t alen = (size_t)(c->p - an);
        if (!alen || c->p >= c->end || *c->p != '=')
            return fs_error(FS_ERR_FORMAT, "cascade XML: bad attribute at line %d", line_of(c, an));
        c->p++;
        if (c->p >= c->end || (*c->p != '"' && *c->p != '\''))
            return fs_error(FS_ERR_FORMAT, "cascade XML: unquoted attribute at line %d", line_of(c, an));
        char q = *c->p++;
        const char *v = c->p;
        while (c->p < c->end && *c->p != q) c->p++;
        if (c->p >= c->end)
            return fs_error(FS_ERR_FORMAT, "cascade XML: unterminated attribute at line %d", line_of(c, an));
        if (alen == 7 && !memcmp(an, "type_id", 7)) { x->type_id = v; x->type_id_len = (size_t)(c->p - v); }
        c->p++;
    }
    return fs_error(FS_ERR_FORMAT, "cascade XML: truncated tag at end of file");
}

fs_status haar_xml_parse(const char *buf, size_t len, haar_xdoc *doc) {
    memset(doc, 0, sizeof *doc);
    xcur c = {buf, buf + len, buf};
    int stack[XML_MAX_DEPTH], last_child[XML_MAX_DEPTH], depth = 0, root = -1;
    fs_status st;
    while (c.p < c.end) {
        if (*c.p != '<') { /* character data */
            const char *t = c.p;
            while (c.p < c.end && *c.p != '<') c.p++;
            if (depth > 0) {
                haar_xnode *x = &doc->nodes[stack[depth - 1]];
                int blank = 1;
                for (const char *q = t; q < c.p && blank; q++) blank = is_space(*q);
                if (!x->text && !blank) { x->text = t; x->text_len = (size_t)(c.p - t); }
            } else {
                for (const char *q = t; q < c.p; q++)
                    if (!is_space(*q)) {
                        st = fs_error(FS_ERR_FORMAT, "cascade XML: text outside the root element at line %d",
                                      line_of(&c, q));
                        goto fail;
                    }
            }
            continue;
        }
        if (starts(&c, "<!--")) { if ((st = skip_past(&c, "-->", "comment"))) goto fail; continue; }
        if (starts(&c, "<?")) { if ((st = skip_past(&c, "?>", "declaration"))) goto fail; continue; }
        if (starts(&c, "<!")) { if ((st = skip_past(&c, ">", "declaration"))) goto fail; continue; }
        if (starts(&c, "</")) {
            const char *nm = c.p + 2, *q = nm;
            while (q < c.end && is_name(*q)) q++;
            if (depth == 0) {
                st = fs_error(FS_ERR_FORMAT, "cascade XML: unexpected end tag at line %d", line_of(&c, nm));
                goto fail;
            }
            haar_xnode *x = &doc->nodes[stack[depth - 1]];
            if ((size_t)(q - nm) != x->name_len || memcmp(nm, x->name, x->name_len)) {
                st = fs_error(FS_ERR_FORMAT, "cascade XML: end tag </%.*s> does not match <%.*s> at line %d",
                              (int)(q - nm) > 40 ? 40 : (int)(q - nm), nm, (int)x->name_len, x->name,
                              line_of(&c, nm));
                goto fail;
            }
            c.p = q;
            while (c.p < c.end && is_space(*c.p)) c.p++;
            if (c.p >= c.end || *c.p != '>') {
                st = fs_error(FS_ERR_FORMAT, "cascade XML: truncated end tag at line %d", line_of(&c, nm));
                goto fail;
            }
            c.p++;
            depth--;
            continue;
        }
        /* start tag */
        const char *nm = c.p + 1, *q = nm;
        while (q < c.end && is_name(*q)) q++;
        if (q == nm) {
            st = fs_error(FS_ERR_FORMAT, "cascade XML: bad tag at line %d", line_of(&c, c.p));
            goto fail;
        }
        if (depth == 0 && root >= 0) {
            st = fs_error(FS_ERR_FORMAT, "cascade XML: more than one root element (line %d)", line_of(&c, nm));
            goto fail;
        }
        if (depth == XML_MAX_DEPTH) {
            st = fs_error(FS_ERR_FORMAT, "cascade XML: nesting deeper than %d at line %d", XML_MAX_DEPTH,
                          line_of(&c, nm));
            goto fail;
        }
        int id = new_node(doc);
        if (id < 0) { st = fs_error(FS_ERR_NOMEM, "cascade XML: out of memory"); goto fail; }
        haar_xnode *x = &doc->nodes[id];
        x->name = nm;
        x->name_len = (size_t)(q - nm);
        x->line = 0;
        c.p = q;
        int self_close = 0;
        if ((st = parse_attrs(&c, x, &self_close))) goto fail;
        if (depth > 0) {
            int parent = stack[depth - 1];
            if (last_child[depth - 1] < 0) doc->nodes[parent].first_child = id;
            else doc->nodes[last_child[depth - 1]].next_sibling = id;
            last_child[depth - 1] = id;
        } else {
            root = id;
        }
        if (!self_close) { stack[depth] = id; last_child[depth] = -1; depth++; }
    }
    if (depth > 0) {
        st = fs_error(FS_ERR_FORMAT, "cascade XML: truncated: <%.*s> is never closed",
                      (int)doc->nodes[stack[depth - 1]].name_len, doc->nodes[stack[depth - 1]].name);
        goto fail;
    }
    if (root < 0) { st = fs_error(FS_ERR_FORMAT, "cascade XML: no root element"); goto fail; }
    return FS_OK;
fail:
    haar_xml_free(doc);
    return st;
}

void haar_xml_free(haar_xdoc *doc) {
    free(doc->nodes);
    memset(doc, 0, sizeof *doc);
}

int haar_xml_child(const haar_xdoc *d, int parent, const char *name) {
    size_t n = strlen(name);
    for (int i = d->nodes[parent].first_child; i >= 0; i = d->nodes[i].next_sibling)
        if (d->nodes[i].name_len == n && !memcmp(d->nodes[i].name, name, n)) return i;
    return -1;
}

int haar_xml_count_children(const haar_xdoc *d, int parent) {
    int k = 0;
    for (int i = d->nodes[parent].first_child; i >= 0; i = d->nodes[i].next_sibling) k++;
    return k;
}
