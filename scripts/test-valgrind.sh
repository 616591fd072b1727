#!/usr/bin/env bash
# scripts/test-valgrind.sh — the CLI's scoring path under valgrind memcheck (the normal -O2 -g build in
# build/): `facescore score --json --largest` (decode, YuNet, alignment, the three backbones with flip
# averaging, heads, JSON) and `facescore detect --detector haar` on samples/face.jpg. --largest scores one of
# the photo's four faces: the same code, a quarter of the time (all four: FS_VALGRIND_ALL=1, ~20 min). Fails on any memcheck error (invalid read/write, uninitialised
# value used, invalid free) and on definitely lost blocks; prints the time of each run.
# Suppressions: scripts/valgrind.supp (third-party noise only, each one explained there).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${FS_BIN:-}" ] || make -j2 build/facescore >/dev/null   # FS_BIN=path: test that binary as it is
BIN=${FS_BIN:-build/facescore}
VG=(valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --suppressions=scripts/valgrind.supp ${FS_VALGRIND_OPTS:-})  # e.g. --track-origins=yes
fail=0
run() {
    local name=$1; shift
    local t0 t1 rc=0
    t0=$(date +%s.%N)
    "${VG[@]}" "$BIN" "$@" > /tmp/fs_valgrind_$$.out 2> /tmp/fs_valgrind_$$.err || rc=$?
    t1=$(date +%s.%N)
    if [ $rc -eq 0 ]; then
        printf 'valgrind %-22s OK   (%.1f s)\n' "$name" "$(echo "$t1 - $t0" | bc)"
    else
        printf 'valgrind %-22s FAIL rc=%d (%.1f s)\n' "$name" $rc "$(echo "$t1 - $t0" | bc)"
        cat /tmp/fs_valgrind_$$.err
        fail=1
    fi
    rm -f /tmp/fs_valgrind_$$.out /tmp/fs_valgrind_$$.err
}
if [ -n "${FS_VALGRIND_ALL:-}" ]; then run "score --json" score --json samples/face.jpg
else run "score --json --largest" score --json --largest samples/face.jpg; fi
run "detect --detector haar" detect --detector haar samples/face.jpg
exit $fail
