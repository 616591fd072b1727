#!/bin/sh
# scripts/test-qemu.sh — the aarch64 build (make cross-aarch64, build-aarch64/) under qemu-user on an
# x86-64 machine: the test suite, then parity of `facescore score --json samples/face.jpg` with the
# x86 build (same faces/boxes, genders; scores, p_female, class distribution within 1e-3).
#   make cross-aarch64 && scripts/test-qemu.sh            (CI)
#   scripts/test-qemu.sh --all                            the whole suite, NEON and FS_CPU=portable
#   scripts/test-qemu.sh test_kernels_simd ...            only tests matching these filters (NEON)
# Exit status 0 only if every test run passed and both parity checks hold.
#
# qemu: `qemu-aarch64 -L /`, i.e. the arm64 dynamic loader and libc of Debian's multiarch libc6:arm64
# (installed with the :arm64 -dev packages). Not `-L /usr/aarch64-linux-gnu`: that prefix takes
# ld-linux-aarch64.so.1 from libc6-arm64-cross (2.36-8cross1) while libc.so.6 still comes from
# /lib/aarch64-linux-gnu (2.36-9+debXuY); with that mismatched pair every fork() hangs in the child.
# No binfmt_misc registration is needed: tests that exec the CLI get FS_BIN = a wrapper script that
# runs the arm64 binary through qemu (exec, so signals sent to it reach the guest).
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
B=${FS_AARCH64_BUILD:-build-aarch64}
QEMU=${QEMU_AARCH64:-qemu-aarch64}
ALL=0
if [ "${1:-}" = "--all" ]; then ALL=1; shift; fi

for f in "$B/facescore" "$B/facescore_tests"; do
  [ -x "$f" ] || { echo "test-qemu: $f missing (make cross-aarch64)"; exit 2; }
done
command -v "$QEMU" >/dev/null || { echo "test-qemu: $QEMU missing (apt-get install qemu-user)"; exit 2; }
[ -e /lib/ld-linux-aarch64.so.1 ] || { echo "test-qemu: no arm64 libc (scripts/setup-debian.sh)"; exit 2; }
if ls /proc/sys/fs/binfmt_misc 2>/dev/null | grep -q aarch64; then binfmt=registered; else binfmt=none; fi

LOGS=${FS_QEMU_LOGS:-out/test-qemu}
mkdir -p "$LOGS"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
cat > "$TMP/facescore" <<EOF
#!/bin/sh
exec $QEMU -L / "$ROOT/$B/facescore" "\$@"
EOF
chmod +x "$TMP/facescore"
# the arm64 runner needs the wrapper's path to exist (tests check FS_BIN with stat first)
echo "test-qemu: $($QEMU --version | head -1); binfmt_misc aarch64: $binfmt; FS_BIN=wrapper over $B/facescore"

fail=0
t0=$(date +%s)

# run_tests LABEL ENV FILTERS...: the arm64 test binary on FILTERS ("file:name" substrings) with ENV
# (e.g. FS_CPU=portable), in two shards (2 cores) taking every other filter.
run_tests() {
  label=$1 envs=$2
  shift 2
  : > "$TMP/all.txt"
  for flt in "$@"; do echo "$flt" >> "$TMP/all.txt"; done
  awk 'NR % 2 == 1' "$TMP/all.txt" > "$TMP/s1.txt"
  awk 'NR % 2 == 0' "$TMP/all.txt" > "$TMP/s2.txt"
  s=$(date +%s)
  for k in 1 2; do
    if [ ! -s "$TMP/s$k.txt" ]; then  # an empty filter list would run the whole suite
      echo "0 passed, 0 failed, 0 skipped" > "$TMP/$label.$k.log"
      eval "pid$k="
      continue
    fi
    # shellcheck disable=SC2046
    env $envs FS_BIN="$TMP/facescore" "$QEMU" -L / "$B/facescore_tests" $(cat "$TMP/s$k.txt") \
      > "$TMP/$label.$k.log" 2>&1 &
    eval "pid$k=\$!"
  done
  rc=0
  for pid in $pid1 $pid2; do wait "$pid" || rc=1; done
  # failures with the messages printed before them (the logs stay in $LOGS)
  cat "$TMP/$label.1.log" "$TMP/$label.2.log" | tee "$LOGS/$label.log" |
    awk '/^(ok  |skip) / {buf = ""; next} /^FAIL / {printf "%s%s\n", buf, $0; buf = ""; next} {buf = buf $0 "\n"}'
  p=0 f=0 sk=0
  for k in 1 2; do
    line=$(tail -1 "$TMP/$label.$k.log")
    case "$line" in
      *" passed, "*" failed, "*" skipped") ;;
      *) echo "test-qemu: shard $k of $label did not finish: $line"; rc=1; line="0 passed, 1 failed, 0 skipped" ;;
    esac
    set -- $line
    p=$((p + $1)) f=$((f + $3)) sk=$((sk + $5))
  done
  echo "test-qemu: $label: $p passed, $f failed, $sk skipped ($(( $(date +%s) - s )) s)"
  [ "$rc" = 0 ] && [ "$f" = 0 ] || fail=1
}

# The tests: every TEST() of tests/**/*.c as "file:name" filters, less HEAVY (measured under qemu:
# each 20-200 s there, together most of the suite's emulated time; they are integration runs whose
# code paths the kept tests cover: more YuNet photo variants, steady-state allocation, fuzzing loops,
# training runs, a folder of photos; the security-headers test waits at most 60 s for a score through
# `serve`, which emulation on a loaded machine can exceed). They run on x86 in `make test` and here with --all. The golden-model tests
# (MobileNetV2, MobileFaceNet, faceres, YuNet, BlazeFace) and the end-to-end score tests
# (tests/score) are kept. FS_CPU=portable then reruns the kernel and golden-model tests.
HEAVY="
tests/detect/test_yunet.c:haar_through_the_same_api
tests/detect/test_yunet.c:options_min_size_max_faces_sort
tests/detect/test_yunet.c:dynamic_model_matches_fixed
tests/detect/test_yunet.c:no_face_photos_give_code_0
tests/detect/test_yunet.c:extreme_aspect_ratios_run
tests/detect/test_yunet.c:large_photo_maps_back
tests/detect/test_yunet.c:threads_give_the_same_faces
tests/detect/test_yunet.c:rotation_30_degrees_still_finds_faces
tests/nn/test_graph_noalloc.c:steady_state_runs_allocate_nothing_mobilenetv2
tests/nn/test_graph_noalloc.c:steady_state_runs_allocate_nothing_blazeface
tests/nn/test_tfjs_golden.c:gear_runs_gender
tests/nn/test_tfjs_golden.c:faceres_face2_bgrmean
tests/nn/test_tfjs_golden.c:faceres_grace_raw
tests/nn/test_tflite_loader.c:fuzzed_blazeface_never_crashes
tests/nn/test_tflite_golden.c:batch_dim_can_change
tests/cli/test_detect_cli.c:bench_detect_yunet_reports_align_time_and_median
tests/train/test_train_mini.c:mini_dataset_trains_to_a_fixed_loss_reproducibly
tests/train/test_train_mini.c:feature_cache_is_per_backbone_and_exact
tests/cli/test_badinput_cli.c:folder_with_bad_files_scores_the_good_ones
tests/web/test_security.c:every_response_carries_the_security_headers
"
HEAVY_FILES="tests/train/test_finetune tests/train/test_ft_models tests/train/test_ft_bench_cli"
PORTABLE="test_kernels_ tests/nn/test_tflite_golden.c:mobile tests/nn/test_onnx_golden.c:yunet_640_golden
tests/nn/test_tfjs_golden.c:faceres_face2_raw"

test_list() {  # $1 = 1: all, else less HEAVY
  grep -rHo '^TEST([A-Za-z0-9_]*)' tests --include='*.c' | sed 's/\.c:TEST(\(.*\))$/.c:\1/' | sort |
    while read -r t; do
      if [ "$1" != 1 ]; then
        case "$HEAVY" in *"
$t
"*) continue ;; esac
        skip=0
        for f in $HEAVY_FILES; do case "$t" in "$f"*) skip=1 ;; esac; done
        [ "$skip" = 1 ] && continue
      fi
      echo "$t"
    done
}

if [ $# -gt 0 ]; then
  run_tests neon "" "$@"
else
  run_tests neon "" $(test_list "$ALL")
  if [ "$ALL" = 1 ]; then run_tests portable "FS_CPU=portable" $(test_list 1)
  else run_tests portable "FS_CPU=portable" $PORTABLE; fi
fi

# Parity with the x86 build: NEON vs the x86 default level, and FS_CPU=portable on both.
[ -x build/facescore ] || make -s build/facescore
parity() {
  label=$1 envs=$2
  env $envs build/facescore score --json samples/face.jpg > "$TMP/x86.$label.json"
  env $envs "$TMP/facescore" score --json samples/face.jpg > "$TMP/arm.$label.json"
  if /usr/bin/python3 - "$TMP/x86.$label.json" "$TMP/arm.$label.json" "$label" <<'EOF'
import json, sys
x, a, label = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
bad = []
def near(what, u, v, tol):
    if abs(u - v) > tol + 1e-9: bad.append(f"{what}: x86 {u} arm64 {v} (tol {tol})")
if x["code"] != a["code"] or len(x["faces"]) != len(a["faces"]):
    bad.append(f"code/faces: x86 {x['code']}/{len(x['faces'])} arm64 {a['code']}/{len(a['faces'])}")
else:
    for i, (f, g) in enumerate(zip(x["faces"], a["faces"])):
        if f["box"] != g["box"]: bad.append(f"face {i} box: x86 {f['box']} arm64 {g['box']}")
        if f["gender"] != g["gender"]: bad.append(f"face {i} gender: x86 {f['gender']} arm64 {g['gender']}")
        if f["class"] != g["class"]: bad.append(f"face {i} class: x86 {f['class']} arm64 {g['class']}")
        # score is printed with 2 decimals: within 1e-3 means the same printed value
        near(f"face {i} score", f["score"], g["score"], 1e-3)
        near(f"face {i} p_female", f["p_female"], g["p_female"], 1e-3)
        near(f"face {i} confidence", f["confidence"], g["confidence"], 1e-3)
        for k in range(5):
            near(f"face {i} dist[{k}]", f["dist"][k], g["dist"][k], 1e-3)
            for c in range(2):  # landmarks are printed with 1 decimal
                near(f"face {i} landmark {k}", f["landmarks"][k][c], g["landmarks"][k][c], 0.1)
for b in bad: print("  MISMATCH", label, b)
s = "; ".join(f"{f['box']} {f['gender']} {f['score']}" for f in a["faces"])
print(f"test-qemu: parity {label}: {len(a['faces'])} faces, {'OK' if not bad else 'FAILED'}: {s}")
sys.exit(1 if bad else 0)
EOF
  then :; else return 1; fi
}
s=$(date +%s)
# both levels at once (2 cores); each prints its own result line
parity neon "" & pn=$!
parity portable "FS_CPU=portable" & pp=$!
wait "$pn" || fail=1
wait "$pp" || fail=1
echo "test-qemu: parity ($(( $(date +%s) - s )) s)"

echo "test-qemu: total $(( $(date +%s) - t0 )) s, $([ $fail = 0 ] && echo PASSED || echo FAILED)"
exit $fail
