#!/usr/bin/env bash
# fuzz/run.sh SECONDS NAME... — runs build-fuzz/fuzz_NAME for SECONDS each, one after the other, on a
# working copy of fuzz/corpus/NAME (build-fuzz/corpus/NAME) with fuzz/dict/NAME.dict when present.
# Prints one summary line per target ("fuzz NAME: N execs in S s, OK|FAILED (artifact)") and exits 1 if
# any target found a crash, timeout, leak or out-of-memory.
set -uo pipefail
cd "$(dirname "$0")/.."
B=${FUZZ_BUILD:-build-fuzz}
T=$1; shift
fail=0
summary=()
for n in "$@"; do
    bin=$B/fuzz_$n
    [ -x "$bin" ] || { echo "fuzz/run.sh: $bin missing (make fuzz-build)"; exit 2; }
    mkdir -p "$B/corpus/$n" "$B/artifacts/$n" "$B/logs"
    [ -d "fuzz/corpus/$n" ] && cp -n fuzz/corpus/"$n"/* "$B/corpus/$n/" 2>/dev/null
    args=(-max_total_time="$T" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
          -artifact_prefix="$B/artifacts/$n/")
    [ -f "fuzz/dict/$n.dict" ] && args+=(-dict="fuzz/dict/$n.dict")
    [ -f "fuzz/options/$n" ] && read -ra extra < "fuzz/options/$n" && args+=("${extra[@]}")
    log=$B/logs/$n.log
    t0=$(date +%s)
    "$bin" "${args[@]}" "$B/corpus/$n" > "$log" 2>&1
    rc=$?
    t1=$(date +%s)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ $rc -eq 0 ]; then
        line="fuzz $n: ${execs:-?} execs in $((t1 - t0)) s, OK"
    else
        fail=1
        art=$(grep -o "Test unit written to .*" "$log" | tail -1 | sed 's/Test unit written to //')
        line="fuzz $n: ${execs:-?} execs in $((t1 - t0)) s, FAILED rc=$rc ${art:+($art)} (log: $log)"
        grep -E "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY" "$log" | head -5
    fi
    echo "$line"
    summary+=("$line")
done
echo "---- fuzz summary (${T} s each)"
printf '%s\n' "${summary[@]}"
exit $fail
