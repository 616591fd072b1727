#!/bin/sh
# MobileNetV2 1.0/224 float32, facescore vs ONNX Runtime 1.30 (onnxruntime-node), back to back in
# one run, 1 and 2 threads. Prints each tool's median latency, the ratio ours/ORT per thread count,
# the same for the minimum and for the 1-thread CPU time per run (both far less sensitive to other
# processes than the median), and the load (uptime) before and after: compare within one run only.
#
#   sh bench/mobilenetv2_vs_ort.sh [REPS]        (default 200 timed runs per row, 20 warm-up)
#
# Ours runs the TFLite file the issue names (uint8 weights dequantized to float32 at load) and the
# ONNX conversion ORT runs ($BENCH_WORK/mobilenetv2_ref/mobilenetv2.onnx, made by the peers'
# setup_peers.sh from the same TFLite file).
set -e
cd "$(dirname "$0")/.."
REPS=${1:-200}
W=${BENCH_WORK:-/tmp/facescore-bench}
PEERS=../shared/bench/peers
TFL=../shared/models/mobilenet_v2_imagenet/mobilenet_v2_1.0_224_quant.tflite
ONNX=$W/mobilenetv2_ref/mobilenetv2.onnx
[ -x build/facescore ] || make -j2 >/dev/null
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

ours() { # FILE THREADS -> median_ms (full report in $OUT)
    ./build/facescore bench model "$1" --threads "$2" --reps "$REPS" --warmup 20 > "$OUT/ours_$3_$2.txt"
    awk '/^median_ms/ {print $2}' "$OUT/ours_$3_$2.txt"
}

echo "# uptime before: $(uptime)"
echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) CPUs"
T1=$(ours "$TFL" 1 tflite)
T2=$(ours "$TFL" 2 tflite)
O1=""; O2=""
if [ -f "$ONNX" ]; then O1=$(ours "$ONNX" 1 onnx); O2=$(ours "$ONNX" 2 onnx); fi
if [ -f "$W/ort/node_modules/onnxruntime-node/package.json" ] || node -e "require('onnxruntime-node')" 2>/dev/null; then
    node "$PEERS/ort/mobilenetv2.js" --threads 1,2 --runs "$REPS" --warmup 20 > "$OUT/ort.txt"
    R1=$(awk '$1 == 1 && NF >= 8 {print $3}' "$OUT/ort.txt")
    R2=$(awk '$1 == 2 && NF >= 8 {print $3}' "$OUT/ort.txt")
    RMIN1=$(awk '$1 == 1 && NF >= 8 {print $4}' "$OUT/ort.txt")
    RMIN2=$(awk '$1 == 2 && NF >= 8 {print $4}' "$OUT/ort.txt")
    RCPU1=$(awk '$1 == 1 && NF >= 8 {print $7}' "$OUT/ort.txt")
else
    echo "# ONNX Runtime not set up (sh ../shared/bench/setup_peers.sh)"; R1=""; R2=""
fi
echo "# uptime after:  $(uptime)"
echo "# ORT table:"; sed 's/^/#   /' "$OUT/ort.txt" 2>/dev/null || true
for f in "$OUT"/ours_tflite_1.txt "$OUT"/ours_tflite_2.txt; do
    echo "# $(basename "$f" .txt): $(awk '/^(min_ms|cpu_ms|peak_rss_kib)/ {printf "%s %s  ", $1, $2}' "$f")"
done
printf '%-26s %10s %10s\n' "" "1 thread" "2 threads"
printf '%-26s %10s %10s\n' "facescore tflite (ms)" "$T1" "$T2"
[ -n "$O1" ] && printf '%-26s %10s %10s\n' "facescore onnx (ms)" "$O1" "$O2"
printf '%-26s %10s %10s\n' "onnxruntime 1.30 (ms)" "$R1" "$R2"
if [ -n "$R1" ]; then
    printf '%-26s %10s %10s\n' "ratio tflite/ORT" "$(echo "$T1 $R1" | awk '{printf "%.3f", $1/$2}')" \
        "$(echo "$T2 $R2" | awk '{printf "%.3f", $1/$2}')"
    [ -n "$O1" ] && printf '%-26s %10s %10s\n' "ratio onnx/ORT" "$(echo "$O1 $R1" | awk '{printf "%.3f", $1/$2}')" \
        "$(echo "$O2 $R2" | awk '{printf "%.3f", $1/$2}')"
fi
# min and (1 thread) CPU time per run are far less sensitive to other load than the median
TMIN1=$(awk '/^min_ms/ {print $2}' "$OUT/ours_tflite_1.txt"); TMIN2=$(awk '/^min_ms/ {print $2}' "$OUT/ours_tflite_2.txt")
TCPU1=$(awk '/^cpu_ms/ {print $2}' "$OUT/ours_tflite_1.txt")
if [ -n "$R1" ]; then
    printf '%-26s %10s %10s\n' "min: tflite / ORT (ms)" "$TMIN1/$RMIN1" "$TMIN2/$RMIN2"
    printf '%-26s %10s %10s\n' "ratio of mins" "$(echo "$TMIN1 $RMIN1" | awk '{printf "%.3f", $1/$2}')" \
        "$(echo "$TMIN2 $RMIN2" | awk '{printf "%.3f", $1/$2}')"
    printf '%-26s %10s\n' "1-thread cpu_ms tflite/ORT" "$TCPU1/$RCPU1 = $(echo "$TCPU1 $RCPU1" | awk '{printf "%.3f", $1/$2}')"
fi
printf '%-26s %10s\n' "facescore 2-thread speed-up" "$(echo "$T1 $T2" | awk '{printf "%.2fx", $1/$2}')"
