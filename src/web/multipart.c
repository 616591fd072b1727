/* web/multipart.c — multipart/form-data parser: every read is checked against the body length. */
#include "web/multipart.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

int mp_boundary(const char *ct, char *out, size_t cap) {
    if (!ct || strncasecmp(ct, "multipart/form-data", 19)) return -1;
    const char *p = ct + 19;
    while (*p) {
        while (*p == ';' || *p == ' ' || *p == '\t') p++;
        if (!strncasecmp(p, "boundary=", 9)) {
            p += 9;
            size_t n = 0;
            int quoted = *p == '"';
            if (quoted) p++;
            while (p[n] && (quoted ? p[n] != '"' : (p[n] != ';' && p[n] != ' ' && p[n] != '\t'))) n++;
            if (quoted && p[n] != '"') return -1;
            if (n < 1 || n > 70 || n + 1 > cap) return -1;
            memcpy(out, p, n);
            out[n] = 0;
            return 0;
        }
        while (*p && *p != ';') p++;
    }
    return -1;
}

/* first occurrence of needle in [h, h+hl), NULL if none */
static const unsigned char *find(const unsigned char *h, size_t hl, const char *needle, size_t nl) {
    if (nl == 0 || hl < nl) return NULL;
    return memmem(h, hl, needle, nl);
}

/* value of header `name` in the header block [h, h+hl) (lines end in CRLF); copies into out */
static int header(const unsigned char *h, size_t hl, const char *name, char *out, size_t cap) {
    size_t nl = strlen(name);
    const unsigned char *p = h, *end = h + hl;
    while (p < end) {
        const unsigned char *eol = find(p, (size_t)(end - p), "\r\n", 2);
        if (!eol) eol = end;
        size_t ll = (size_t)(eol - p);
        if (ll > nl && !strncasecmp((const char *)p, name, nl) && p[nl] == ':') {
            const unsigned char *v = p + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) v++;
            size_t vl = (size_t)(eol - v);
            if (vl + 1 > cap) vl = cap - 1;
            memcpy(out, v, vl);
            out[vl] = 0;
            return 1;
        }
        p = eol + 2;
    }
    return 0;
}

/* does a Content-Disposition value name the field (name="field" or name=field)? */
static int names_field(const char *cd, const char *field) {
    if (strncasecmp(cd, "form-data", 9)) return 0;
    size_t fl = strlen(field);
    for (const char *p = cd; (p = strcasestr(p, "name=")); p += 5) {
        if (p > cd && p[-1] != ';' && p[-1] != ' ' && p[-1] != '\t') continue; /* skip filename= */
        const char *v = p + 5;
        if (*v == '"') {
            if (!strncmp(v + 1, field, fl) && v[1 + fl] == '"') return 1;
        } else if (!strncmp(v, field, fl) && (v[fl] == 0 || v[fl] == ';' || v[fl] == ' ')) {
            return 1;
        }
    }
    return 0;
}

int mp_find(const unsigned char *body, size_t len, const char *boundary, const char *field, mp_part *part,
            const char **why) {
    char delim[80];
    size_t bl = strlen(boundary);
    *why = "";
    if (bl < 1 || bl > 70) { *why = "bad boundary"; return -1; }
    delim[0] = '\r'; delim[1] = '\n'; delim[2] = '-'; delim[3] = '-';
    memcpy(delim + 4, boundary, bl);
    size_t dl = bl + 4;
    /* opening delimiter: "--boundary" at the start, or after a preamble ending in CRLF */
    const unsigned char *p;
    if (len >= dl - 2 && !memcmp(body, delim + 2, dl - 2)) p = body + dl - 2;
    else if ((p = find(body, len, delim, dl))) p += dl;
    else { *why = "no opening boundary"; return -1; }
    const unsigned char *end = body + len;
    for (;;) {
        /* after a delimiter: "--" closes, CRLF starts a part (transport padding allowed) */
        while (p < end && (*p == ' ' || *p == '\t')) p++;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') return 0;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') { *why = "boundary not followed by CRLF"; return -1; }
        p += 2;
        const unsigned char *hend = find(p, (size_t)(end - p), "\r\n\r\n", 4);
        const unsigned char *data;
        size_t hl;
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') { hl = 0; data = p + 2; } /* no headers */
        else if (!hend) { *why = "part headers not terminated"; return -1; }
        else { hl = (size_t)(hend - p); data = hend + 4; }
        if (hl > 8192) { *why = "part headers too long"; return -1; }
        const unsigned char *next = find(data, (size_t)(end - data), delim, dl);
        if (!next) { *why = "part not terminated by a boundary"; return -1; }
        char cd[512];
        if (header(p, hl, "Content-Disposition", cd, sizeof cd) && names_field(cd, field)) {
            part->data = data;
            part->len = (size_t)(next - data);
            part->content_type[0] = 0;
            header(p, hl, "Content-Type", part->content_type, sizeof part->content_type);
            for (char *c = part->content_type; *c; c++) *c = (char)tolower((unsigned char)*c);
            return 1;
        }
        p = next + dl;
    }
}
