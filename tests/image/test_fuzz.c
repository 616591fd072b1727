/* tests/image — mutation fuzzing: valid fixtures with random byte flips, overwritten runs,
 * inserted/removed bytes and truncations (deterministic PRNG). Every decode must return OK with a
 * sane image or an error with a message — never crash (run under `make asan TESTS=image`). */
#include "../test.h"
#include "imgt.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *seeds[] = {
    "exif_6.jpg", "jpeg_progressive.jpg", "jpeg_cmyk.jpg", "jpeg_gray.jpg", "png_interlaced.png",
    "png_palette_trns.png", "png_gray16.png", "png_graya.png", "png_exif_3_after.png", "bmp_8.bmp", "bmp_4.bmp",
    "bmp_32_v5_bitfields.bmp", "bmp_24_os2.bmp", "webp_lossy.webp", "webp_lossless.webp", "webp_alpha.webp",
    "webp_anim.webp",
};

/* Applies 1..4 random mutations to buf (len bytes, capacity cap); returns the new length. */
static size_t mutate(uint8_t *buf, size_t len, size_t cap, uint64_t *rng) {
    int n = 1 + (int)(imgt_rand(rng) % 4);
    for (int i = 0; i < n && len > 0; i++) {
        size_t pos = imgt_rand(rng) % len;
        switch (imgt_rand(rng) % 6) {
        case 0: buf[pos] ^= (uint8_t)(1u << (imgt_rand(rng) % 8)); break;   /* bit flip */
        case 1: buf[pos] = (uint8_t)imgt_rand(rng); break;                  /* random byte */
        case 2: {                                                            /* interesting values */
            static const uint8_t v[] = {0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE};
            buf[pos] = v[imgt_rand(rng) % sizeof v];
            break;
        }
        case 3: len = pos + 1; break;                                        /* truncate */
        case 4:                                                              /* insert a byte */
            if (len < cap) {
                memmove(buf + pos + 1, buf + pos, len - pos);
                buf[pos] = (uint8_t)imgt_rand(rng);
                len++;
            }
            break;
        default: {                                                           /* overwrite a run */
            size_t run = 1 + imgt_rand(rng) % 16;
            uint8_t b = (uint8_t)imgt_rand(rng);
            for (size_t k = pos; k < len && k < pos + run; k++) buf[k] = b;
        }
        }
    }
    return len;
}

static uint32_t crc32_png(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

/* Rewrites the CRC of every complete chunk of a PNG, so mutations reach libpng's decoders
 * instead of stopping at the CRC check. */
static void fix_png_crcs(uint8_t *b, size_t len) {
    size_t i = 8;
    while (i + 12 <= len) {
        uint32_t n = (uint32_t)b[i] << 24 | (uint32_t)b[i + 1] << 16 | (uint32_t)b[i + 2] << 8 | b[i + 3];
        if (n > len - i - 12) break;
        uint32_t c = crc32_png(b + i + 4, (size_t)n + 4);
        uint8_t *q = b + i + 8 + n;
        q[0] = (uint8_t)(c >> 24); q[1] = (uint8_t)(c >> 16); q[2] = (uint8_t)(c >> 8); q[3] = (uint8_t)c;
        i += 12 + (size_t)n;
    }
}

TEST(fuzz_mutated_fixtures_never_crash) {
    /* FS_IMAGE_FUZZ_ITERS / FS_IMAGE_FUZZ_SEED run longer or different campaigns by hand */
    const char *ev = getenv("FS_IMAGE_FUZZ_ITERS"), *sv = getenv("FS_IMAGE_FUZZ_SEED");
    const int iters = ev && atoi(ev) > 0 ? atoi(ev) : 1000;
    uint64_t rng = sv && *sv ? (strtoull(sv, NULL, 0) + 1) * 0x9E3779B97F4A7C15ull : 0x9E3779B97F4A7C15ull;
    int ok = 0, errs = 0;
    clock_t t0 = clock();
    for (size_t s = 0; s < sizeof seeds / sizeof *seeds; s++) {
        size_t len;
        unsigned char *orig = fs_test_read_file(imgt_path(seeds[s]), &len);
        CHECK_MSG(orig, "cannot read %s", seeds[s]);
        for (int it = 0; it < iters; it++) {
            size_t cap = len + 8;
            uint8_t *buf = malloc(cap);
            memcpy(buf, orig, len);
            size_t n = mutate(buf, len, cap, &rng);
            if (n > 8 && !memcmp(buf, "\x89PNG", 4) && (it & 1)) fix_png_crcs(buf, n);
            uint8_t *exact = malloc(n ? n : 1); /* exact-size copy so ASan catches over-reads */
            memcpy(exact, buf, n);
            fs_image img;
            fs_image_limits lim = {.max_pixels = 1u << 22, .max_bytes = 1u << 20};
            fs_status st = fs_image_decode(exact, n, (int)(it % 3 == 2 ? 3 : it % 3), &lim, &img);
            if (st == FS_OK) {
                ok++;
                CHECK(img.data && img.width > 0 && img.height > 0 && (uint64_t)img.width * img.height <= lim.max_pixels);
                CHECK(img.channels == 1 || img.channels == 3);
                volatile unsigned sum = 0; /* touch every pixel */
                for (int y = 0; y < img.height; y++) sum += img.data[(size_t)y * img.stride + (size_t)img.width * img.channels - 1];
                (void)sum;
                fs_image_free(&img);
            } else {
                errs++;
                CHECK_MSG(st == FS_ERR_FORMAT || st == FS_ERR_UNSUPPORTED || st == FS_ERR_LIMIT,
                          "%s iteration %d: status %d", seeds[s], it, st);
                CHECK_MSG(fs_last_error()[0] != 0, "%s iteration %d: no message", seeds[s], it);
                CHECK(img.data == NULL);
            }
            free(exact);
            free(buf);
        }
        free(orig);
    }
    /* both outcomes occur: the mutations neither always break nor never break the files */
    fprintf(stderr, "    fuzz: %d decoded, %d rejected\n", ok, errs);
    CHECK_MSG(ok > 100 && errs > 100, "ok %d, errors %d", ok, errs);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK_MSG(ev || secs < 10.0, "fuzz loop took %.1f s", secs);
}
