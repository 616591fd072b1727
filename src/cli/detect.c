/* cli/detect.c — `facescore detect` and `facescore bench detect` (being written: issue 2). */
#include "cli/cli.h"

int fs_cli_detect(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "facescore detect: not built yet\n");
    return 2;
}

int fs_cli_bench_detect(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "facescore bench detect: not built yet\n");
    return 2;
}
