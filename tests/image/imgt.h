/* tests/image/imgt.h — helpers shared by the image tests (fixtures in tests/data/image/, made by
 * tests/data/image/gen.py with OpenCV 4.6). */
#ifndef FS_TESTS_IMGT_H
#define FS_TESTS_IMGT_H
#include "facescore.h"

#include <stddef.h>
#include <stdint.h>

#define IMGT_DIR "tests/data/image/"

/* CHECK for helpers that return a value: fails the test and returns ret. */
#define IMGT_REQ(ret, cond, ...)                                                    \
    do {                                                                            \
        if (!(cond)) { fs_test_fail(__FILE__, __LINE__, __VA_ARGS__); return ret; } \
    } while (0)

/* One line of refs.txt: "<kind> <file> <w> <h> <c> <fnv1a64 hex>". */
typedef struct {
    char kind[16], file[128];
    int w, h, c;
    uint64_t hash;
} imgt_ref;

/* All references of refs.txt (malloc'ed, *n entries) or NULL. */
imgt_ref *imgt_refs(int *n);
/* Affine matrix stored in refs.txt as "warpm <name> m0..m5"; 1 if found. */
int imgt_warp_matrix(const char *name, double m[6]);
/* Path of a reference's file: fixture, repo:... or shared:... (malloc'ed). */
char *imgt_ref_path(const char *file);
/* Path of a fixture in tests/data/image (static buffer, valid until the next call). */
const char *imgt_path(const char *name);
/* FNV-1a 64 of the tight rows (width*channels bytes each). */
uint64_t imgt_hash(const fs_image *img);
/* Reads a binary P5/P6 file into img (1 or 3 channels); 0 on success. */
int imgt_read_pnm(const char *path, fs_image *img);
/* Largest |a-b| over all samples, or -1 when the shapes differ. */
int imgt_max_diff(const fs_image *a, const fs_image *b);
/* Pointer to pixel (x, y). */
const uint8_t *imgt_px(const fs_image *img, int x, int y);
/* Deterministic xorshift64* PRNG. */
uint64_t imgt_rand(uint64_t *state);

#endif
