/* fuzz/fuzz_dataset_scut.c — the SCUT-FBP5500 layout (src/data/dataset.c): labels.csv and a split list
 * splits/<name>.txt. Input: labels.csv bytes, a NUL, then the split file; both written to a scratch
 * dataset folder, then ds_load_scut with the split, without it (every label), and ds_load_protocol
 * "60/40" (splits/train_60.txt + test_40.txt, both the fuzzed list). */
#include "data/dataset.h"
#include "fuzz_util.h"

#include <sys/stat.h>

static void scut_check(fs_status st, ds_set *s) {
    if (st != FS_OK) {
        if (!fs_last_error()[0]) abort();
        return;
    }
    for (int i = 0; i < s->n; i++)
        if (!s->items[i].path || !s->items[i].name || !(s->items[i].score >= 1 && s->items[i].score <= 5)) abort();
    ds_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t llen, slen;
    const uint8_t *split;
    fz_split(data, size, &llen, &split, &slen);
    const char *d = fz_tmpdir();
    char p[160];
    snprintf(p, sizeof p, "%s/splits", d);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/images", d);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/labels.csv", d);
    fz_write(p, data, llen);
    snprintf(p, sizeof p, "%s/splits/train_60.txt", d);
    fz_write(p, split, slen);
    snprintf(p, sizeof p, "%s/splits/test_40.txt", d);
    fz_write(p, split, slen);
    ds_set a, b;
    scut_check(ds_load_scut(d, "train_60", &a), &a);
    scut_check(ds_load_scut(d, NULL, &a), &a);
    fs_status st = ds_load_protocol(d, "60/40", 0, &a, &b);
    if (st == FS_OK) { scut_check(st, &a); scut_check(st, &b); }
    else scut_check(st, &a);
    return 0;
}
