/* cli/cli.h — subcommands of the facescore CLI; each lives in its own file. */
#ifndef FS_CLI_H
#define FS_CLI_H
#include <stdio.h>

int fs_cli_detect(int argc, char **argv);       /* cli/detect.c */
int fs_cli_bench_detect(int argc, char **argv); /* cli/detect.c */
int fs_cli_model(int argc, char **argv);        /* cli/model.c: model info|run */
int fs_cli_bench_model(int argc, char **argv);  /* cli/bench_model.c */
int fs_cli_bench_train(int argc, char **argv);  /* cli/bench_train.c: fine-tuning step timings */
int fs_cli_model_check(int argc, char **argv);  /* cli/model_check.c: model check CASE_DIR... */
int fs_cli_train(int argc, char **argv);        /* cli/train.c */
int fs_cli_eval(int argc, char **argv);         /* cli/eval.c */
int fs_cli_finetune(int argc, char **argv);     /* cli/finetune.c */
int fs_cli_score(int argc, char **argv);        /* cli/score.c */
int fs_cli_serve(int argc, char **argv);        /* cli/serve.c: web server (src/web) */

/* helpers (cli/util.c) */
int  fs_cli_parse_int(const char *opt, const char *val, int lo, int hi, int *out);
int  fs_cli_parse_double(const char *opt, const char *val, double lo, double hi, double *out);
void fs_cli_json_string(FILE *f, const char *s); /* writes a quoted, escaped JSON string */
double fs_cli_now_ms(void);                      /* monotonic clock */
/* Sorts v in place and returns the median. */
double fs_cli_median(double *v, int n);
/* Peak resident set size of this process, in KiB (from /proc/self/status VmHWM), 0 if unknown. */
long fs_cli_peak_rss_kib(void);
#endif
