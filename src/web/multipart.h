/* web/multipart.h — bounds-checked multipart/form-data parsing (RFC 7578) of a whole body in memory. */
#ifndef FS_WEB_MULTIPART_H
#define FS_WEB_MULTIPART_H
#include <stddef.h>

typedef struct {
    const unsigned char *data;   /* points into the body */
    size_t len;
    char content_type[96];       /* the part's Content-Type ("" if none), lower-cased */
} mp_part;

/* Extracts the boundary parameter of a "multipart/form-data; boundary=..." header value into
 * out (1..70 chars, quotes removed). Returns 0 on success, -1 if missing or invalid. */
int mp_boundary(const char *content_type, char *out, size_t cap);

/* Finds the part whose Content-Disposition is form-data with name="<field>". Returns 1 if found
 * (*part filled), 0 if the body is well-formed but has no such field, -1 if the body is malformed
 * (no opening delimiter, header block without end, part without closing delimiter, ...); *why then
 * names the problem. */
int mp_find(const unsigned char *body, size_t len, const char *boundary, const char *field, mp_part *part,
            const char **why);
#endif
