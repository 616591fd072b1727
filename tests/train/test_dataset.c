/* tests/train/test_dataset.c — dataset readers: SCUT layout (made-up miniature), folder layout
 * (tests/data/mini), CSV with bad rows reported by line number. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../test.h"
#include "data/dataset.h"

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) { fputs(text, f); fclose(f); }
}

TEST(csv_reader_and_bad_rows_with_line_numbers) {
    char dir[] = "/tmp/fs_ds_csvXXXXXX";
    CHECK(mkdtemp(dir));
    char p[256];
    snprintf(p, sizeof p, "%s/a.csv", dir);
    write_file(p, "path,score,gender\nx/a.jpg,3.5,female\n/abs/b.png,1,m\nc.jpg,4.25,\n");
    ds_set s;
    CHECK_MSG(ds_load_csv(p, &s) == FS_OK, "%s", fs_last_error());
    CHECK(s.n == 3);
    CHECK(!strcmp(s.items[1].path, "/abs/b.png") && s.items[1].gender == DS_MALE);
    CHECK(strstr(s.items[0].path, "/x/a.jpg") && s.items[0].gender == DS_FEMALE && s.items[0].score == 3.5f);
    CHECK(s.items[2].gender == DS_UNKNOWN);
    ds_free(&s);
    const char *bad[] = {"a.jpg,3\nb.jpg,7\n", "a.jpg,3\nb.jpg,x\n", "a.jpg,3\nb.jpg\n", "a.jpg,3\nb.jpg,2,robot\n",
                         "a.jpg,3\n,2\n", "a.jpg,3\nb.jpg,2,f,extra\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(p, bad[i]);
        CHECK(ds_load_csv(p, &s) == FS_ERR_FORMAT);
        CHECK_MSG(strstr(fs_last_error(), "a.csv:2:"), "case %zu: %s", i, fs_last_error());
    }
    unlink(p);
    rmdir(dir);
}

TEST(scut_layout_splits_and_attributes) {
    char dir[] = "/tmp/fs_ds_scutXXXXXX";
    CHECK(mkdtemp(dir));
    char p[256];
    snprintf(p, sizeof p, "%s/labels.csv", dir);
    write_file(p, "filename,mean_score\nAF1.jpg,2.5\nAM2.jpg,3.0\nCF3.jpg,4.1\nCM4.jpg,1.2\n");
    snprintf(p, sizeof p, "%s/splits", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/splits/train_60.txt", dir);
    write_file(p, "CM4.jpg 1.2\nAF1.jpg 2.5\n");
    snprintf(p, sizeof p, "%s/splits/test_40.txt", dir);
    write_file(p, "AM2.jpg 3.0\nCF3.jpg 4.1\n");
    ds_set tr, te;
    CHECK_MSG(ds_load_protocol(dir, "60/40", 0, &tr, &te) == FS_OK, "%s", fs_last_error());
    CHECK(tr.n == 2 && te.n == 2);
    CHECK(!strcmp(tr.items[0].name, "CM4.jpg") && !strcmp(tr.items[0].group, "CM") && tr.items[0].gender == DS_MALE);
    CHECK(te.items[1].gender == DS_FEMALE && te.items[1].score == 4.1f && strstr(te.items[1].path, "/images/CF3.jpg"));
    ds_free(&tr); ds_free(&te);
    CHECK(ds_load_protocol(dir, "all", 0, &tr, &te) == FS_OK && tr.n == 4 && te.n == 0);
    ds_free(&tr); ds_free(&te);
    /* a split naming an unknown image */
    snprintf(p, sizeof p, "%s/splits/test_40.txt", dir);
    write_file(p, "AM2.jpg 3.0\nXX9.jpg 4.1\n");
    CHECK(ds_load_protocol(dir, "60/40", 0, &tr, &te) == FS_ERR_FORMAT);
    CHECK_MSG(strstr(fs_last_error(), "test_40.txt:2:"), "%s", fs_last_error());
    CHECK(ds_load_protocol(dir, "70/30", 0, &tr, &te) == FS_ERR_ARG);
    CHECK(ds_load_protocol(dir, "5fold", 9, &tr, &te) == FS_ERR_ARG);
}

TEST(folder_layout_of_the_mini_dataset) {
    ds_set s;
    CHECK_MSG(ds_load_folder("tests/data/mini", &s) == FS_OK, "%s", fs_last_error());
    CHECK(s.n == 10);
    int women = 0;
    for (int i = 0; i < s.n; i++) women += s.items[i].gender == DS_FEMALE;
    CHECK(women == 4);
    CHECK(!strcmp(s.items[0].name, "man/2/face_d.jpg") && s.items[0].score == 2.0f);
    ds_kind k;
    CHECK(ds_detect_kind("tests/data/mini", &k) == FS_OK && k == DS_KIND_FOLDER);
    CHECK(ds_detect_kind("/nonexistent", &k) == FS_ERR_IO);
    ds_free(&s);
}
