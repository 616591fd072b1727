#!/bin/sh
# Builds and runs bench/kernels_mnv2.c (MobileNetV2 conv layers through nn_select_conv) against the
# kernel objects in build/ (run `make` first, or at least the nn/kernels + core objects).
set -e
cd "$(dirname "$0")/.."
OBJS="$(find build/src/nn/kernels build/src/core -name '*.o' | sort)"
${CC:-cc} -std=c11 -O2 -D_GNU_SOURCE -pthread -Isrc -Iinclude -o build/kernels_mnv2 bench/kernels_mnv2.c $OBJS -lm
exec ./build/kernels_mnv2 "$@"
