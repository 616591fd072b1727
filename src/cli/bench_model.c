/* cli/bench_model.c — `facescore bench model` (being written: issue 3). */
#include "cli/cli.h"

int fs_cli_bench_model(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "facescore bench model: not built yet\n");
    return 2;
}
