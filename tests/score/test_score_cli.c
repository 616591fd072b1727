/* tests/score/test_score_cli.c — `facescore score` on samples/face.jpg with the shipped model
 * (needs FS_BIN, set by `make test`, and models/facescore/scut60.fsh). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "facescore.h"

static int count(const char *s, const char *sub) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, sub)); p += strlen(sub)) n++;
    return n;
}

static int ready(void) {
    const char *bin = getenv("FS_BIN");
    return bin && fs_test_exists(bin) && fs_test_exists("models/facescore/scut60.fsh") &&
           fs_test_exists("samples/face.jpg");
}

TEST(score_json_on_the_sample_photo) {
    if (!ready()) SKIP("FS_BIN or the shipped model missing");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s score --json samples/face.jpg 2>&1", getenv("FS_BIN"));
    int rc;
    char *out = fs_test_run(cmd, &rc);
    CHECK(out);
    CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
    CHECK_MSG(count(out, "\n") == 1, "one line: %s", out);
    CHECK(strstr(out, "{\"file\":\"samples/face.jpg\",\"width\":512,\"height\":355,\"code\":1,\"largest\":"));
    CHECK(strstr(out, "\"detector\":\"yunet\",\"model\":\"scut60.fsh\",\"timings_ms\":{\"decode\":"));
    CHECK_MSG(count(out, "\"box\":[") == 4, "%s", out);
    CHECK(count(out, "\"landmarks\":[[") == 4);
    CHECK(count(out, "\"p_female\":") == 4 && count(out, "\"dist\":[") == 4);
    CHECK(count(out, "\"rank_ko\":\"") == 4 && count(out, "\"rank_en\":\"") == 4);
    /* the three men of the photo (faces 1, 2 and 4 by confidence) are male; scores within 1..5 */
    CHECK_MSG(count(out, "\"gender\":\"male\"") >= 3, "%s", out);
    for (const char *p = out; (p = strstr(p, "\"score\":")); p += 8) {
        double s = atof(p + 8);
        CHECK(s >= 1.0 && s <= 5.0);
    }
    for (const char *p = out; (p = strstr(p, "\"class\":")); p += 8) {
        int k = atoi(p + 8);
        CHECK(k >= 1 && k <= 5);
        /* the rank message is the class's */
        const char *ko = strstr(p, "\"rank_ko\":\"");
        CHECK(ko && !strncmp(ko + 11, fs_rank_message(k, 1), strlen(fs_rank_message(k, 1))));
    }
    free(out);
}

TEST(score_text_largest_disclaimer_once_and_errors) {
    if (!ready()) SKIP("FS_BIN or the shipped model missing");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s score --largest samples/face.jpg samples/face.jpg 2>&1", getenv("FS_BIN"));
    int rc;
    char *out = fs_test_run(cmd, &rc);
    CHECK(out && rc == 0);
    CHECK_MSG(count(out, FS_SCORE_DISCLAIMER) == 1, "%s", out);
    CHECK(count(out, "  face ") == 2);          /* one (the largest) per photo */
    CHECK(count(out, "(largest)") == 2);
    free(out);
    snprintf(cmd, sizeof cmd, "%s score --model /nonexistent.fsh samples/face.jpg 2>&1", getenv("FS_BIN"));
    out = fs_test_run(cmd, &rc);
    CHECK(out && rc != 0 && strstr(out, "/nonexistent.fsh"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s score --model samples/face.jpg samples/face.jpg 2>&1", getenv("FS_BIN"));
    out = fs_test_run(cmd, &rc);
    CHECK(out && rc != 0 && strstr(out, "model file"));
    free(out);
}

TEST(scorer_api_on_a_face) {
    if (!fs_test_exists("models/facescore/scut60.fsh")) SKIP("shipped model missing");
    fs_scorer_options o;
    fs_scorer_options_default(&o);
    o.model_path = "models/facescore/scut60.fsh";
    fs_scorer *s;
    CHECK_MSG(fs_scorer_open(&o, &s) == FS_OK, "%s", fs_last_error());
    CHECK(!strcmp(fs_scorer_meta(s, "backbones"), "faceres+mnv2+mfn"));
    CHECK(fs_scorer_meta(s, "metrics.test") != NULL);
    fs_image img;
    CHECK(fs_image_load("samples/face.jpg", 3, NULL, &img) == FS_OK);
    fs_face f;
    memset(&f, 0, sizeof f);
    f.box = (fs_rect){129, 74, 91, 130};   /* the man in the centre, no landmarks: box crop */
    fs_face_score r;
    CHECK(fs_scorer_score(s, &img, &f, &r) == FS_OK);
    CHECK(!r.female && r.p_female < 0.2f);
    double sum = 0;
    for (int k = 0; k < 5; k++) sum += r.dist[k];
    CHECK_NEAR(sum, 1.0, 1e-5);
    CHECK(r.score >= 1 && r.score <= 5 && r.cls >= 1 && r.cls <= 5);
    CHECK(!strcmp(r.rank_en, fs_rank_message(r.cls, 0)));
    CHECK(fs_rank_message(0, 1) == NULL && fs_rank_message(6, 0) == NULL);
    CHECK(!strcmp(fs_rank_message(1, 1), "ㅆㅎㅌㅊ 입니다..힘내세요.."));
    CHECK(!strcmp(fs_rank_message(5, 1), "ㅆㅅㅌㅊ 입니다. 축하합니다!"));
    fs_image_free(&img);
    fs_scorer_free(s);
}

/* no_mirror: one pass per backbone instead of the crop + mirror average: a different but close score
 * (the heads were trained on the average), and mirror-symmetric input gives exactly the same one. */
TEST(scorer_no_mirror_close_to_the_average) {
    if (!fs_test_exists("models/facescore/scut60.fsh")) SKIP("shipped model missing");
    fs_image img;
    CHECK(fs_image_load("samples/face.jpg", 3, NULL, &img) == FS_OK);
    fs_face f;
    memset(&f, 0, sizeof f);
    f.box = (fs_rect){129, 74, 91, 130};
    fs_face_score r[2];
    for (int m = 0; m < 2; m++) {
        fs_scorer_options o;
        fs_scorer_options_default(&o);
        CHECK(o.no_mirror == 0);
        o.model_path = "models/facescore/scut60.fsh";
        o.no_mirror = m;
        fs_scorer *s;
        CHECK_MSG(fs_scorer_open(&o, &s) == FS_OK, "%s", fs_last_error());
        CHECK(fs_scorer_score(s, &img, &f, &r[m]) == FS_OK);
        fs_scorer_free(s);
    }
    CHECK(r[0].score != r[1].score);            /* the mirror pass did something */
    CHECK(fabsf(r[0].score - r[1].score) < 0.5f);
    CHECK(r[0].female == r[1].female);
    fs_image_free(&img);
}
