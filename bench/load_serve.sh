#!/bin/bash
# bench/load_serve.sh — load test of `facescore serve` (issue 6 "Load"): wrk against POST /api/v1/score with
# one 640x480 photo holding exactly one face, sent as a raw image/jpeg body.
#
#   bench/load_serve.sh                  build, then run the four phases below (about 2 minutes)
#   FS_BENCH_DURATION=10 bench/load_serve.sh     shorter phases (seconds each, default 20)
#   FS_BENCH_THREADS=2 (scoring workers, default: the number of cores)   FS_BIN=build/facescore
#   FS_BENCH_PHOTO=x.jpg   use this photo instead of the one made below (must hold exactly one face)
#   FS_BENCH_SERVE_ARGS="--db postgresql://..."  extra `serve` options (e.g. another store)
#
# The photo: ../shared/models/test_images/grace_hopper.bmp (Apache-2.0, see its SOURCES.md), letterboxed to
# 640x480 and JPEG-encoded at run time with Debian's /usr/bin/python3 cv2, into a temp folder (nothing committed).
# `facescore score` must find exactly one face in it (result code 2), else the script stops.
#
# Phases (each FS_BENCH_DURATION seconds; the server is a fresh process on a random loopback port with a fresh
# SQLite DB in a temp folder, warmed up first):
#   capacity  closed loop, wrk -t2 -c4 and -c8: the larger images/s (200s per second) is the capacity
#   50 %      open-loop-ish: Poisson arrivals at 0.5 x capacity (bench/wrk/score.lua paces every wrk thread),
#             16 connections so that a slow answer does not hold back the next arrival
#   200 %     Poisson arrivals at 2 x capacity, 64 connections: the bounded queue must answer 503 (Retry-After),
#             no other status, no socket errors, no crash
# Reported per phase: 200/s, counts of 200 / 503 / other statuses and socket errors, latency p50/p99 as wrk saw
# it (all answers), server-side p50/p99 of the 200s (access log "ms="), the server's CPU time per scored image
# (/proc/PID/stat, so a busy machine shows up as lower images/s but similar CPU ms), late sends (arrivals the
# client could not send on time), `uptime` load. At the end: peak RSS of the server (VmHWM).
set -eu
cd "$(dirname "$0")/.."
BIN=${FS_BIN:-build/facescore}
DUR=${FS_BENCH_DURATION:-20}
WORKERS=${FS_BENCH_THREADS:-$(nproc)}
command -v wrk >/dev/null || { echo "load_serve: wrk missing (apt-get install wrk)" >&2; exit 1; }
if [ -z "${FS_BIN:-}" ]; then make -s -j"$(nproc)" build/facescore >&2; fi

tmp=$(mktemp -d /tmp/fs_load_XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# ---- the photo
photo=${FS_BENCH_PHOTO:-}
if [ -z "$photo" ]; then
  src=${FS_SHARED_DIR:-../shared}/models/test_images/grace_hopper.bmp
  [ -f "$src" ] || { echo "load_serve: $src missing (set FS_BENCH_PHOTO)" >&2; exit 1; }
  photo=$tmp/face640.jpg
  /usr/bin/python3 - "$src" "$photo" <<'EOF'
import sys, cv2, numpy as np
im = cv2.imread(sys.argv[1])
h, w = im.shape[:2]
s = min(640 / w, 480 / h)
nw, nh = round(w * s), round(h * s)
out = np.zeros((480, 640, 3), np.uint8)
x, y = (640 - nw) // 2, (480 - nh) // 2
out[y:y + nh, x:x + nw] = cv2.resize(im, (nw, nh), interpolation=cv2.INTER_AREA)
cv2.imwrite(sys.argv[2], out, [cv2.IMWRITE_JPEG_QUALITY, 90])
EOF
fi
check=$("$BIN" score --json "$photo" 2>/dev/null)
case "$check" in
  *'"width":640,"height":480,"code":2,'*) ;;
  *) echo "load_serve: the photo must be 640x480 with exactly one face; facescore score says: $check" >&2; exit 1 ;;
esac
echo "photo: $photo ($(stat -c %s "$photo") bytes, 640x480, one face)"

# ---- the server
# shellcheck disable=SC2086
"$BIN" serve --listen 127.0.0.1:0 --db "$tmp/r.db" --threads "$WORKERS" ${FS_BENCH_SERVE_ARGS:-} \
  >"$tmp/out" 2>"$tmp/log" &
pid=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' "$tmp/out")
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "load_serve: server did not start" >&2; cat "$tmp/log" >&2; exit 1; }
url=http://127.0.0.1:$port/
echo "server: pid $pid, $url, $(head -1 "$tmp/out" | sed 's/.*(\(.*\))/\1/')"
echo "cpu: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
lua=bench/wrk/score.lua
export FS_BENCH_IMAGE=$photo FS_BENCH_THREADS=2

# run_phase NAME CONNS RATE(0 = closed loop) -> one table row in $tmp/rows, wrk output in $tmp/NAME.txt
run_phase() {
  local name=$1 conns=$2 rate=$3
  local l0 t0 t1 l1
  sleep 2 # the previous phase's requests in flight when its wrk stopped finish (and get logged) first
  l0=$(wc -l <"$tmp/log")
  t0=$(cpu_ticks)
  FS_BENCH_RATE=$rate wrk -t2 -c"$conns" -d"${DUR}s" --timeout 10s --latency -s "$lua" "$url" >"$tmp/$name.txt" 2>&1 ||
    { echo "load_serve: wrk failed:" >&2; cat "$tmp/$name.txt" >&2; exit 1; }
  t1=$(cpu_ticks)
  l1=$(wc -l <"$tmp/log")
  kill -0 "$pid" 2>/dev/null || { echo "load_serve: the server died during $name" >&2; tail "$tmp/log" >&2; exit 1; }
  local load
  load=$(awk '{print $1}' /proc/loadavg)
  # server-side latency of the 200s of this phase (access log lines l0+1..l1)
  local srv
  srv=$(sed -n "$((l0 + 1)),${l1}p" "$tmp/log" | awk '/path="\/api\/v1\/score" status=200 / && !/aborted=1/ {
          for (i = 1; i <= NF; i++) if ($i ~ /^ms=/) print substr($i, 4) }' | sort -n |
        awk '{v[NR] = $1} END { if (NR == 0) { print "- -"; exit }
             p50 = v[int(0.5 * (NR - 1)) + 1]; p99 = v[int(0.99 * (NR - 1)) + 1]; printf "%.1f %.1f\n", p50, p99 }')
  awk -v name="$name" -v conns="$conns" -v rate="$rate" -v srv="$srv" -v dt="$((t1 - t0))" -v tck="$tck" -v load="$load" '
    / requests in / { secs = $4; sub(/s,?$/, "", secs) }
    /^status / { st = $2; sub(/:$/, "", st); n[st] = $3; total += $3 }
    /^socket errors:/ { err = $4 + $6 + $8 + $10 }
    /^late sends:/ { late = $3 }
    /^latency_ms / { p50 = $3; p99 = $7 }
    END {
      ok = n["200"] + 0; busy = n["503"] + 0; other = total - ok - busy
      split(srv, s, " ")
      cpu = ok ? dt * 1000.0 / tck / ok : 0
      off = "max"
      if (rate > 0) off = sprintf("%.1f", rate)
      printf "%-9s %5d %8s %8.1f %7d %6d %6d %6d %8.1f %8.1f %8s %8s %8.1f %6d %6s\n", name, conns, off, ok / secs,
             ok, busy, other, err, p50, p99, s[1], s[2], cpu, late, load
    }' "$tmp/$name.txt" >>"$tmp/rows"
  tail -1 "$tmp/rows" >&2
}

# warm-up (first inferences are slower), not reported
FS_BENCH_RATE=0 wrk -t2 -c2 -d3s -s "$lua" "$url" >/dev/null 2>&1 || true

: >"$tmp/rows"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
run_phase cap-c4 4 0
run_phase cap-c8 8 0
cap=$(awk '$1 ~ /^cap-/ && $4 > m { m = $4 } END { printf "%.1f", m }' "$tmp/rows")
run_phase "50%" 16 "$(awk -v c="$cap" 'BEGIN { printf "%.1f", 0.5 * c }')"
run_phase "200%" 64 "$(awk -v c="$cap" 'BEGIN { printf "%.1f", 2 * c }')"
hwm=$(awk '/^VmHWM/ {print $2, $3}' "/proc/$pid/status")

kill -TERM "$pid"
wait "$pid" || { echo "load_serve: server exit status $?" >&2; exit 1; }
pid=""
dberr=$(grep -c 'db error' "$tmp/log" || true)

echo
echo "facescore serve load test: $WORKERS workers, ${DUR}s per phase, photo 640x480 one face, raw image/jpeg"
printf "%-9s %5s %8s %8s %7s %6s %6s %6s %8s %8s %8s %8s %8s %6s %6s\n" phase conns offered "200/s" n200 n503 other \
  sockerr "p50ms" "p99ms" "srv_p50" "srv_p99" "cpu_ms" late load1
cat "$tmp/rows"
echo "capacity (best closed-loop 200/s): $cap images/s"
awk -v n="$(nproc)" '$1 ~ /^cap-/ { s += $13; k++ } END { if (k) printf "CPU-bound capacity with %d idle cores: %d x 1000 / %.1f cpu_ms = %.1f images/s (upper bound with the cores to itself)\n", n, n, s / k, n * 1000 * k / s }' "$tmp/rows"
echo "peak RSS (VmHWM): $hwm; the server answered through every phase and exited 0 after SIGTERM; db errors: $dberr"
echo "columns: offered = paced arrivals/s (max = closed loop); p50/p99 = wrk, all answers; srv_* = access log, 200s only;"
echo "         cpu_ms = server CPU time per 200 answer; late = arrivals sent >1 ms after their slot; load1 = uptime"
