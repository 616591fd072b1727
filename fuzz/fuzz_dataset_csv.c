/* fuzz/fuzz_dataset_csv.c — the CSV dataset list `path,score[,gender]` (src/data/dataset.c,
 * ds_load_csv, which reads from a path: the input is written to a scratch file first). */
#include "data/dataset.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char p[128];
    snprintf(p, sizeof p, "%s/list.csv", fz_tmpdir());
    fz_write(p, data, size);
    ds_set s;
    if (ds_load_csv(p, &s) == FS_OK) {
        if (s.n <= 0) abort();
        for (int i = 0; i < s.n; i++)
            if (!s.items[i].path || !s.items[i].name || !(s.items[i].score >= 1 && s.items[i].score <= 5)) abort();
        ds_free(&s);
    } else if (!fs_last_error()[0]) {
        abort();
    }
    return 0;
}
