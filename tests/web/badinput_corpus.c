/* tests/web/badinput_corpus.c — see badinput_corpus.h. Nothing here is committed as a file: every
 * input is derived at run time from samples/face.jpg, tests/data/image fixtures or literal bytes. */
#include "badinput_corpus.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"

/* ---------------------------------------------------------------- bit writer (deflate order) */

typedef struct {
    unsigned char *p;
    size_t n, cap;
    uint32_t acc;
    int nb;
} bw;

static int bw_byte(bw *w, unsigned char b) {
    if (w->n == w->cap) {
        size_t nc = w->cap ? 2 * w->cap : 4096;
        unsigned char *np = realloc(w->p, nc);
        if (!np) return -1;
        w->p = np;
        w->cap = nc;
    }
    w->p[w->n++] = b;
    return 0;
}

/* the low n bits of v, least significant first (header fields, extra bits) */
static void bw_bits(bw *w, uint32_t v, int n) {
    for (int i = 0; i < n; i++) {
        w->acc |= ((v >> i) & 1u) << w->nb;
        if (++w->nb == 8) { bw_byte(w, (unsigned char)w->acc); w->acc = 0; w->nb = 0; }
    }
}

/* a Huffman code of len bits, most significant bit first (RFC 1951 3.1.1) */
static void bw_code(bw *w, uint32_t code, int len) {
    for (int i = len - 1; i >= 0; i--) bw_bits(w, (code >> i) & 1u, 1);
}

static void bw_flush(bw *w) {
    if (w->nb) bw_byte(w, (unsigned char)w->acc);
    w->acc = 0;
    w->nb = 0;
}

static void be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16); p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}

/* zlib stream of n zero bytes (n >= 1), one dynamic-Huffman block:
 *   literal/length code: 0 -> "0", 256 (end) -> "10", 285 (length 258) -> "11"; distance code 0 -> "0";
 *   code-length code: 18 -> "0", 1 -> "10", 2 -> "11". */
static unsigned char *zeros_zlib(uint64_t n, size_t *len) {
    bw w = {0};
    bw_byte(&w, 0x78);
    bw_byte(&w, 0x01);
    bw_bits(&w, 1, 1);  /* BFINAL */
    bw_bits(&w, 2, 2);  /* BTYPE dynamic */
    bw_bits(&w, 29, 5); /* HLIT: 286 literal/length codes */
    bw_bits(&w, 0, 5);  /* HDIST: 1 distance code */
    bw_bits(&w, 14, 4); /* HCLEN: 18 code-length code lengths */
    static const int order[18] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1};
    for (int i = 0; i < 18; i++) bw_bits(&w, order[i] == 18 ? 1 : order[i] == 1 || order[i] == 2 ? 2 : 0, 3);
    /* lengths: lit 0 = 1, 1..255 = 0, 256 = 2, 257..284 = 0, 285 = 2, dist 0 = 1 */
    bw_code(&w, 2, 2);                       /* 1 */
    bw_code(&w, 0, 1); bw_bits(&w, 127, 7);  /* 138 zeros */
    bw_code(&w, 0, 1); bw_bits(&w, 106, 7);  /* 117 zeros */
    bw_code(&w, 3, 2);                       /* 2 */
    bw_code(&w, 0, 1); bw_bits(&w, 17, 7);   /* 28 zeros */
    bw_code(&w, 3, 2);                       /* 2 */
    bw_code(&w, 2, 2);                       /* 1 */
    bw_code(&w, 0, 1);                       /* literal 0 */
    uint64_t left = n - 1;
    for (; left >= 258; left -= 258) { bw_code(&w, 3, 2); bw_code(&w, 0, 1); }
    for (; left; left--) bw_code(&w, 0, 1);
    bw_code(&w, 2, 2); /* end of block */
    bw_flush(&w);
    unsigned char a[4];
    be32(a, (uint32_t)((n % 65521u) << 16 | 1u)); /* Adler-32 of zeros: s1 = 1, s2 = n */
    for (int i = 0; i < 4; i++) bw_byte(&w, a[i]);
    *len = w.n;
    return w.p;
}

static uint32_t crc32_of(const unsigned char *p, size_t n, uint32_t c) {
    c = ~c;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return ~c;
}

/* appends a PNG chunk at out+*at */
static void png_chunk(unsigned char *out, size_t *at, const char *type, const unsigned char *data, size_t n) {
    unsigned char *p = out + *at;
    be32(p, (uint32_t)n);
    memcpy(p + 4, type, 4);
    if (n) memcpy(p + 8, data, n);
    be32(p + 8 + n, crc32_of(p + 4, n + 4, 0));
    *at += 12 + n;
}

unsigned char *bi_png_bomb(unsigned w, unsigned h, int channels, size_t *len) {
    size_t zl;
    unsigned char *z = zeros_zlib((uint64_t)h * (1 + (uint64_t)w * (unsigned)channels), &zl);
    if (!z) return NULL;
    unsigned char *out = malloc(8 + 25 + 12 + zl + 12);
    if (!out) { free(z); return NULL; }
    memcpy(out, "\x89PNG\r\n\x1a\n", 8);
    size_t at = 8;
    unsigned char ihdr[13] = {0};
    be32(ihdr, w);
    be32(ihdr + 4, h);
    ihdr[8] = 8;
    ihdr[9] = channels == 3 ? 2 : 0;
    png_chunk(out, &at, "IHDR", ihdr, 13);
    png_chunk(out, &at, "IDAT", z, zl);
    png_chunk(out, &at, "IEND", NULL, 0);
    free(z);
    *len = at;
    return out;
}

unsigned char *bi_jpeg_claiming(const unsigned char *jpg, size_t n, unsigned w, unsigned h) {
    for (size_t p = 2; p + 9 <= n && jpg[p] == 0xff;) {
        unsigned m = jpg[p + 1], l = (unsigned)jpg[p + 2] << 8 | jpg[p + 3];
        if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
            unsigned char *out = malloc(n);
            if (!out) return NULL;
            memcpy(out, jpg, n);
            out[p + 5] = (unsigned char)(h >> 8); out[p + 6] = (unsigned char)h;
            out[p + 7] = (unsigned char)(w >> 8); out[p + 8] = (unsigned char)w;
            return out;
        }
        p += 2 + l;
    }
    return NULL;
}

/* ---------------------------------------------------------------- the corpus */

static unsigned char *dup_bytes(const void *p, size_t n) {
    unsigned char *d = malloc(n ? n : 1);
    if (d && n) memcpy(d, p, n);
    return d;
}

static int add(bi_case *v, int *n, const char *name, unsigned char *data, size_t len, const char *cli, int http,
               const char *code) {
    if (!data) return -1;
    v[*n] = (bi_case){name, data, len, cli, http, code};
    (*n)++;
    return 0;
}

/* first bytes of a fixture (or all of it when keep >= its size) */
static unsigned char *fixture_prefix(const char *path, size_t keep, size_t *len) {
    size_t n;
    unsigned char *d = fs_test_read_file(path, &n);
    if (!d) return NULL;
    *len = keep < n ? keep : n;
    return d;
}

#define LIT(s) dup_bytes(s, sizeof s - 1), sizeof s - 1

int bi_corpus(bi_case **out) {
    *out = NULL;
    size_t jl;
    unsigned char *jpg = fs_test_read_file("samples/face.jpg", &jl);
    if (!jpg) return 0;
    bi_case *v = calloc(32, sizeof *v);
    if (!v) { free(jpg); return 0; }
    int n = 0, bad = 0;
    size_t l;
    unsigned char *d;
    /* empty and truncated */
    bad |= add(v, &n, "empty.jpg", dup_bytes("", 0), 0, "empty input", 400, "empty_image");
    bad |= add(v, &n, "jpeg_3_bytes.jpg", dup_bytes(jpg, 3), 3, "truncated", 422, "bad_image");
    bad |= add(v, &n, "jpeg_first_600_bytes.jpg", dup_bytes(jpg, 600), 600, "truncated", 422, "bad_image");
    bad |= add(v, &n, "jpeg_half.jpg", dup_bytes(jpg, jl / 2), jl / 2, "truncated", 422, "bad_image");
    bad |= add(v, &n, "jpeg_no_eoi_cut_at_99pc.jpg", dup_bytes(jpg, jl - jl / 100), jl - jl / 100, "truncated", 422,
               "bad_image");
    d = fixture_prefix("tests/data/image/noise_rgb.png", 8, &l);
    bad |= add(v, &n, "png_signature_only.png", d, l, "PNG", 422, "bad_image");
    d = fixture_prefix("tests/data/image/noise_rgb.png", 60, &l);
    bad |= add(v, &n, "png_cut_in_idat.png", d, l, "PNG", 422, "bad_image");
    d = fixture_prefix("tests/data/image/webp_lossy.webp", 40, &l);
    bad |= add(v, &n, "webp_cut.webp", d, l, "WebP", 422, "bad_image");
    d = fixture_prefix("tests/data/image/bmp_24.bmp", 100, &l);
    bad |= add(v, &n, "bmp_cut.bmp", d, l, "truncated", 422, "bad_image");
    /* claims far more pixels than allowed: refused from the header, before any pixel buffer */
    bad |= add(v, &n, "jpeg_claims_60000x60000.jpg", bi_jpeg_claiming(jpg, jl, 60000, 60000), jl,
               "60000x60000 exceeds the limit", 413, "too_large");
    /* decompression bombs: 580 KB that inflate to 400 MB (over the 40 MP limit), 157 KB to 108 MB (within) */
    d = bi_png_bomb(20000, 20000, 1, &l);
    bad |= add(v, &n, "png_bomb_20000x20000.png", d, l, "20000x20000 exceeds the limit", 413, "too_large");
    d = bi_png_bomb(6000, 6000, 3, &l);
    bad |= add(v, &n, "png_bomb_6000x6000.png", d, l, NULL, 200, NULL);
    /* other formats named .jpg (the name never matters: the format is sniffed from the bytes) */
    bad |= add(v, &n, "gif_named.jpg",
               LIT("GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff!\xf9\x04\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;"),
               "GIF", 422, "bad_image");
    bad |= add(v, &n, "svg_named.jpg",
               LIT("<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\">"
                   "<script>alert(1)</script></svg>\n"),
               "SVG", 422, "bad_image");
    bad |= add(v, &n, "heic_named.jpg", LIT("\0\0\0\x18" "ftypheic\0\0\0\0mif1heic\0\0\0\x08mdat"), "HEIC", 422,
               "bad_image");
    bad |= add(v, &n, "avif_named.jpg", LIT("\0\0\0\x1c" "ftypavif\0\0\0\0avifmif1miaf\0\0\0\x08mdat"), "AVIF", 422,
               "bad_image");
    bad |= add(v, &n, "tiff_named.jpg", LIT("II*\0\x08\0\0\0\0\0\0\0"), "TIFF", 422, "bad_image");
    bad |= add(v, &n, "text_named.jpg", LIT("this is not an image, just a line of text\n"), "unknown format", 422,
               "bad_image");
    bad |= add(v, &n, "html_named.jpg", LIT("<html><body><script>alert(document.cookie)</script></body></html>\n"),
               "HTML", 422, "bad_image");
    bad |= add(v, &n, "jpeg_soi_then_garbage.jpg",
               LIT("\xff\xd8\xff\xe0garbage garbage garbage garbage garbage garbage garbage"), "JPEG", 422, "bad_image");
    d = fixture_prefix("tests/data/image/bmp_24.bmp", 1u << 20, &l);
    bad |= add(v, &n, "bmp_named.jpg", d, l, NULL, 200, NULL);
    free(jpg);
    if (bad) { bi_corpus_free(v, n); return 0; }
    *out = v;
    return n;
}

void bi_corpus_free(bi_case *c, int n) {
    for (int i = 0; c && i < n; i++) free(c[i].data);
    free(c);
}
