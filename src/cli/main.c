/* cli/main.c — `facescore <command> ...`: dispatch to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/cpu.h"
#include "facescore.h"

static void usage(FILE *f) {
    fprintf(f,
            "facescore " FS_VERSION_STRING " — find faces in photos and score them (a toy: see README)\n"
            "\n"
            "usage: facescore <command> [options]\n"
            "\n"
            "commands:\n"
            "  detect IMAGE...            find faces (YuNet or Haar): result code, boxes, landmarks, crops\n"
            "  score IMAGE...             detect faces and score them: gender, 1-5 score, class, rank\n"
            "  train --data DIR           train the gender and score heads (SCUT-FBP5500, folders or CSV)\n"
            "  finetune --data DIR        fine-tune a backbone (backpropagation in C), write a model file\n"
            "  eval --data DIR            evaluate a heads model: PC, MAE, RMSE, 5-class and gender accuracy\n"
            "  model info FILE            inputs, outputs, ops, parameters, FLOPs of a TFLite/ONNX/TF.js model\n"
            "  model run FILE --input X.f32 --save Y.f32\n"
            "                             run a model on a raw float32 tensor\n"
            "  serve                      web page + JSON API + result store (docs/api.md)\n"
            "  bench detect IMAGE         time face detection (median_ms on the last line)\n"
            "  bench model FILE           time one model inference (median_ms on the last line)\n"
            "  bench train                time fine-tuning steps (images_per_s on the last line)\n"
            "  version                    version and CPU kernels in use\n"
            "\n"
            "Run `facescore <command> --help` for the options of a command.\n");
}

static int bench(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "detect")) return fs_cli_bench_detect(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "model")) return fs_cli_bench_model(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "train")) return fs_cli_bench_train(argc - 1, argv + 1);
    fprintf(stderr, "usage: facescore bench detect|model|train ...\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 2) { usage(stderr); return 2; }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) { usage(stdout); return 0; }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("facescore %s (kernels: %s)\n", FS_VERSION_STRING, fs_cpu_level_name());
        return 0;
    }
    if (!strcmp(cmd, "detect")) return fs_cli_detect(argc - 1, argv + 1);
    if (!strcmp(cmd, "score")) return fs_cli_score(argc - 1, argv + 1);
    if (!strcmp(cmd, "train")) return fs_cli_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval")) return fs_cli_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "finetune")) return fs_cli_finetune(argc - 1, argv + 1);
    if (!strcmp(cmd, "model")) return fs_cli_model(argc - 1, argv + 1);
    if (!strcmp(cmd, "serve")) return fs_cli_serve(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench")) return bench(argc - 1, argv + 1);
    fprintf(stderr, "facescore: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
