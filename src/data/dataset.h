/* data/dataset.h — labelled face datasets for training and evaluation.
 *
 * Three layouts, picked from what DIR holds:
 *   SCUT-FBP5500   DIR/labels.csv + DIR/splits/NAME.txt + DIR/images/ (gender/ethnicity from the
 *                  filename prefix AF/AM/CF/CM)
 *   folder         DIR/man/1..5/FILE.jpg, DIR/woman/1..5/FILE.jpg (the original system: class = folder)
 *   CSV            a file `path,score[,gender]` (paths relative to the CSV's folder; gender
 *                  female|male|f|m|1|0 (1 = female) or empty; a first line `path,...` is a header)
 * Bad rows are refused with "FILE:LINE: reason". */
#ifndef FS_DATA_DATASET_H
#define FS_DATA_DATASET_H
#include "facescore.h"

enum { DS_MALE = 0, DS_FEMALE = 1, DS_UNKNOWN = -1 };

typedef struct {
    char  *path;     /* image file */
    char  *name;     /* short name (file name for SCUT, relative path otherwise) */
    float  score;    /* 1..5 */
    int    gender;   /* DS_MALE / DS_FEMALE / DS_UNKNOWN */
    char   group[3]; /* "AF", "AM", "CF", "CM" for SCUT; "F"/"M"/"" otherwise */
} ds_item;

typedef struct {
    ds_item *items;
    int      n, cap;
} ds_set;

typedef enum { DS_KIND_SCUT = 1, DS_KIND_FOLDER, DS_KIND_CSV } ds_kind;

void ds_free(ds_set *s);
fs_status ds_push(ds_set *s, const char *path, const char *name, float score, int gender, const char *group);

/* What DIR is (FS_ERR_ARG with a reason if none). */
fs_status ds_detect_kind(const char *dir, ds_kind *kind);

/* SCUT: the items listed in DIR/splits/<split>.txt ("train_60", "cv3_test", ...) or every row of
 * labels.csv when split is NULL. Scores come from labels.csv; every listed name must be in it. */
fs_status ds_load_scut(const char *dir, const char *split, ds_set *out);
fs_status ds_load_folder(const char *dir, ds_set *out);
fs_status ds_load_csv(const char *csv_path, ds_set *out);

/* Train/test parts for a protocol: "60/40" (SCUT: official split; others: a fixed hash split of
 * 60/40), "5fold" with fold 1..5 (SCUT: official cvK files; others: hash buckets), "all" (train =
 * everything, test empty). */
fs_status ds_load_protocol(const char *dir, const char *protocol, int fold, ds_set *train, ds_set *test);

/* 64-bit FNV-1a; chain with h = previous (start: DS_FNV_INIT). */
#define DS_FNV_INIT 0xcbf29ce484222325ULL
uint64_t ds_fnv1a(uint64_t h, const void *buf, size_t len);
/* FNV-1a of a whole file's bytes (FS_ERR_IO if unreadable). */
fs_status ds_hash_file(const char *path, uint64_t *out);
/* FNV-1a of a set's rows ("name\tscore\tgender\n" each): a model file's train.fnv1a64. */
uint64_t ds_rows_hash(const ds_set *ds);
#endif
