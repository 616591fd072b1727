/* tests/score/test_score_draw.c — `facescore score --draw` puts a "score gender" label on a dark box
 * above each face: the label pixels of the written PNG must be exactly that text (white on the dark
 * box) and differ from the photo. Needs FS_BIN (set by `make test`) and the shipped model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "facescore.h"

static const uint8_t *px(const fs_image *im, int x, int y) {
    return im->data + (size_t)y * im->stride + (size_t)x * im->channels;
}

TEST(score_draw_writes_score_labels) {
    const char *bin = getenv("FS_BIN");
    if (!bin || !fs_test_exists(bin) || !fs_test_exists("models/facescore/scut60.fsh") ||
        !fs_test_exists("samples/face.jpg"))
        SKIP("FS_BIN or the shipped model missing");
    char out_png[64], cmd[512];
    snprintf(out_png, sizeof out_png, "/tmp/fs_score_draw_%d.png", (int)getpid());
    snprintf(cmd, sizeof cmd, "%s score --json --draw %s samples/face.jpg 2>&1", bin, out_png);
    int rc = -1;
    char *json = fs_test_run(cmd, &rc);
    CHECK_MSG(json && rc == 0, "rc %d: %s", rc, json ? json : "");
    fs_image photo, drawn;
    CHECK(fs_image_load("samples/face.jpg", 3, NULL, &photo) == FS_OK);
    CHECK_MSG(fs_image_load(out_png, 3, NULL, &drawn) == FS_OK, "%s", fs_last_error());
    unlink(out_png);
    CHECK(drawn.width == photo.width && drawn.height == photo.height);
    int faces = 0;
    for (const char *p = json; (p = strstr(p, "\"box\":[")); p += 7, faces++) {
        int bx, by, bw, bh;
        CHECK(sscanf(p + 7, "%d,%d,%d,%d", &bx, &by, &bw, &bh) == 4);
        const char *g = strstr(p, "\"gender\":\""), *sc = strstr(p, "\"score\":");
        CHECK(g && sc);
        char label[32];
        snprintf(label, sizeof label, "%.2f %c", atof(sc + 8), g[10] == 'm' ? 'M' : g[10] == 'f' ? 'F' : '?');
        CHECK_MSG(bw < 120 && by >= 9 && bx >= 0, "the sample's faces are small and below the top edge");
        /* scale 1: a (6*6 + 1) x 9 box ending at the face box's top edge; text at +1,+1 */
        int lw = fs_image_text_width(label, 1) + 1, lh = 9, ly = by - lh;
        fs_image want;
        CHECK(fs_image_alloc(&want, lw, lh, 3) == FS_OK);
        fs_image_fill_rect(&want, 0, 0, lw, lh, 24, 24, 24);
        fs_image_draw_text(&want, 1, 1, label, 1, 255, 255, 255);
        /* JSON boxes are truncated, the drawing rounds: the label may start one pixel right/lower */
        int same = 0, differ = 0;
        for (int o = 0; o < 4 && !same; o++) {
            int ox = bx + (o & 1), oy = ly + (o >> 1), ok = 1;
            differ = 0;
            for (int y = 0; y < lh; y++)
                for (int x = 0; x < lw; x++) {
                    ok &= !memcmp(px(&drawn, ox + x, oy + y), px(&want, x, y), 3);
                    differ += memcmp(px(&drawn, ox + x, oy + y), px(&photo, ox + x, oy + y), 3) != 0;
                }
            same = ok;
        }
        CHECK_MSG(same, "face %d: label '%s' at %d,%d is not drawn as expected", faces + 1, label, bx, ly);
        CHECK_MSG(differ > lw * lh / 2, "face %d: only %d of %d label pixels differ from the photo", faces + 1,
                  differ, lw * lh);
        fs_image_free(&want);
    }
    CHECK_MSG(faces == 4, "%d faces: %s", faces, json);
    fs_image_free(&photo);
    fs_image_free(&drawn);
    free(json);
}
