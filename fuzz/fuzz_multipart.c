/* fuzz/fuzz_multipart.c — multipart/form-data parsing of an upload (src/web/multipart.c).
 * Input: the Content-Type header value, a NUL, then the body. The boundary comes from the header (a
 * fixed one when the header has none, so the body is parsed either way); a found part must lie inside
 * the body, a malformed body must say why. */
#include "web/multipart.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t hlen, blen;
    const uint8_t *body;
    fz_split(data, size, &hlen, &body, &blen);
    char *ct = malloc(hlen + 1);
    if (!ct) return 0;
    memcpy(ct, data, hlen);
    ct[hlen] = 0;
    char boundary[80];
    if (mp_boundary(ct, boundary, sizeof boundary)) snprintf(boundary, sizeof boundary, "XyZzY");
    else if (!boundary[0] || strlen(boundary) > 70) abort();
    free(ct);
    /* the body in its own allocation, so reading past it is caught */
    uint8_t *b = malloc(blen ? blen : 1);
    if (!b) return 0;
    memcpy(b, body, blen);
    mp_part p;
    const char *why = NULL;
    int k = mp_find(b, blen, boundary, "image", &p, &why);
    if (k == 1) {
        if (p.data < b || p.len > blen || (size_t)(p.data - b) > blen - p.len) abort();
        if (memchr(p.content_type, 0, sizeof p.content_type) == NULL) abort();
    } else if (k == -1) {
        if (!why || !*why) abort();
    } else if (k != 0) {
        abort();
    }
    free(b);
    return 0;
}
