/* cli/model.c — `facescore model info|run` and `facescore bench model` (being written: issue 3). */
#include "cli/cli.h"

int fs_cli_model(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "facescore model: not built yet\n");
    return 2;
}
