#!/bin/sh
# Cross-builds the nn kernels (reference + NEON fast paths) and their tests for aarch64 and runs them
# under qemu-user, so the NEON path is tested on an x86 machine.
#   needs: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
#   sh tests/nn/run_neon_qemu.sh            (last line: "N passed, N failed, N skipped")
# A quick static build of the kernels alone (no arm64 -dev libraries needed). The whole aarch64 build
# and its test suite: make cross-aarch64 && scripts/test-qemu.sh (see docs/raspberry-pi.md).
set -e
cd "$(dirname "$0")/../.."
CC=${CROSS_CC:-aarch64-linux-gnu-gcc}
OUT=${OUT:-/tmp/facescore-neon}
mkdir -p "$OUT"
$CC -std=c11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -pthread -Iinclude -Isrc \
    -ffp-contract=off -static -o "$OUT/kernel_tests" tests/main.c tests/nn/test_kernels_ref.c \
    tests/nn/test_kernels_simd.c tests/nn/test_kernels_eltwise.c src/nn/kernels/*.c \
    src/nn/kernels/generic/*.c src/nn/kernels/arm/neon/*.c src/core/cpu.c \
    src/core/threadpool.c src/core/error.c -lm
qemu-aarch64 -L /usr/aarch64-linux-gnu "$OUT/kernel_tests" kernels
