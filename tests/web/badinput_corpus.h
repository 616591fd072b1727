/* tests/web/badinput_corpus.h — the bad-input corpus of issue 8 item 3, generated in memory at run time
 * (shared by tests/web/test_badinput_http.c and tests/cli/test_badinput_cli.c): truncated and zero-byte
 * files, a JPEG whose frame header claims 60000x60000, PNG decompression bombs (a valid deflate stream
 * that inflates ~690:1), GIF / SVG / HEIC / AVIF / TIFF / text bytes named .jpg, and a BMP named .jpg
 * (a format facescore reads: it is sniffed from the bytes, so that one must succeed). */
#ifndef FS_TESTS_BADINPUT_CORPUS_H
#define FS_TESTS_BADINPUT_CORPUS_H
#include <stddef.h>

typedef struct {
    const char *name;      /* file name, e.g. "gif_named.jpg" */
    unsigned char *data;   /* malloc'ed */
    size_t len;
    const char *cli_error; /* substring of the CLI's error line; NULL = the file decodes (exit 0) */
    int http;              /* expected status of POST /api/v1/score with it as a raw image/jpeg body */
    const char *http_code; /* expected error.code (NULL for 200) */
} bi_case;

/* Builds the corpus from samples/face.jpg and tests/data/image fixtures; returns the count (0 when
 * the inputs are missing). Free with bi_corpus_free. */
int  bi_corpus(bi_case **out);
void bi_corpus_free(bi_case *c, int n);

/* A valid PNG (8-bit, colour type 0 gray or 2 RGB) of w x h black pixels whose single IDAT is a
 * hand-made dynamic-Huffman deflate stream: one literal 0 then (258-byte, distance 1) matches of 3
 * bits each, i.e. ~688:1. malloc'ed, *len bytes. */
unsigned char *bi_png_bomb(unsigned w, unsigned h, int channels, size_t *len);
/* face.jpg with its SOF frame header patched to claim w x h (malloc'ed), NULL if no SOF */
unsigned char *bi_jpeg_claiming(const unsigned char *jpg, size_t n, unsigned w, unsigned h);
#endif
