#!/usr/bin/env bash
# run.sh DIR -- runs every libFuzzer target in DIR (built by `make fuzz`) for
# FUZZ_SECONDS each, FUZZ_JOBS at a time, seeded from tests/fuzz/corpus/NAME/
# (read-only: new inputs go to a temp corpus). Prints one line per target
# with the executions run and the coverage reached; exits 1 if any target
# found a crash, a leak or a timeout (the reproducer is kept and named).
#
#   FUZZ_SECONDS=10 FUZZ_ONLY=range bash tests/fuzz/run.sh build-fuzz/fuzz
set -u

DIR=${1:?usage: run.sh DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
SECONDS_EACH=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-2}
ONLY=${FUZZ_ONLY:-}
OUT=$(mktemp -d /tmp/coffer-fuzz.XXXXXX)

run_one() { # target binary
    local bin=$1 name work rc
    name=$(basename "$bin")
    name=${name#fuzz_}
    work=$OUT/$name
    mkdir -p "$work/corpus" "$work/crash"
    "$bin" -max_total_time="$SECONDS_EACH" -print_final_stats=1 -timeout=30 \
        -rss_limit_mb=4096 -artifact_prefix="$work/crash/" \
        "$work/corpus" "$HERE/corpus/$name" >"$work/log" 2>&1
    rc=$?
    echo "$rc" >"$work/rc"
}
export -f run_one
export OUT HERE SECONDS_EACH

targets=()
for b in "$DIR"/fuzz_*; do
    [ -x "$b" ] || continue
    case $(basename "$b") in *"$ONLY"*) targets+=("$b") ;; esac
done
if [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz: no targets in $DIR" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${SECONDS_EACH}s each, $JOBS at a time (logs in $OUT)"
printf '%s\n' "${targets[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_one "$1"' _ {}

failed=0
printf '%-16s %12s %8s %8s %8s  %s\n' target executions exec/s cov ft result
for b in "${targets[@]}"; do
    name=$(basename "$b")
    name=${name#fuzz_}
    log=$OUT/$name/log
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    rc=$(cat "$OUT/$name/rc" 2>/dev/null || echo 1)
    result=clean
    if [ "$rc" != 0 ]; then
        result="FOUND (rc $rc): $(ls "$OUT/$name/crash" 2>/dev/null | head -1)"
        failed=1
        grep -m1 -A30 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$log" | head -40
    fi
    printf '%-16s %12s %8s %8s %8s  %s\n' "$name" "${execs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "$result"
done
[ $failed -eq 0 ] || echo "fuzz: findings kept under $OUT"
exit $failed
