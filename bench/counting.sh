#!/usr/bin/env bash
# counting.sh -- what request counting (issue 16's /metrics: per-thread counters, the duration
# histogram, the byte counters; util/metrics.c, s3/s3_metrics.c) costs the request path: two
# builds of cofferd, one without counting (BEFORE) and one with it (AFTER), each on its own
# data dir and port, 4 KiB GETs and PUTs at 16 connections with bench/loadgen.c, the two
# builds alternated in every round (order swapped each round). Prints, per workload and build,
# the median ops/s, p50/p99 and server CPU us/op, and the ratios AFTER/BEFORE.
# Nothing here is a test; the issue's target is "not measurably slower".
#
#   BEFORE=DIR AFTER=DIR bash bench/counting.sh [--duration S] [--rounds N] [--save FILE]
#
# BEFORE and AFTER are directories with cofferd and coffer (e.g. two worktrees' bin/); BUILD
# (default build) is where loadgen is built. Starts its own cofferds on free ports with temp
# data dirs; removes them at the end.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
DUR=4
ROUNDS=6
SAVE=
while [ $# -gt 0 ]; do
    case $1 in
    --duration) DUR=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --save) SAVE=$2; shift ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "counting.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

log() { printf '[counting %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for d in "${BEFORE:-}" "${AFTER:-}"; do
    [ -n "$d" ] && [ -x "$d/cofferd" ] && [ -x "$d/coffer" ] || die "set BEFORE and AFTER to two bin dirs"
done
mkdir -p "$BUILD/bench"
LG=$BUILD/bench/loadgen
if [ ! -x "$LG" ] || [ bench/loadgen.c -nt "$LG" ]; then
    cc -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Werror -O2 -g -pthread bench/loadgen.c \
        -o "$LG" -lcrypto || die "cannot build loadgen"
fi

TMP=$(mktemp -d /tmp/coffer-counting-bench.XXXXXX)
RES=$TMP/results.jsonl
: >"$RES"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

declare -A PID EP AK SK
jfield() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
for b in before after; do
    dir=$BEFORE
    [ $b = after ] && dir=$AFTER
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$dir/cofferd" --data "$TMP/$b" --listen "127.0.0.1:$port" --access-log /dev/null \
        >"$TMP/$b.log" 2>&1 </dev/null &
    PID[$b]=$!
    PIDS+=("${PID[$b]}")
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || die "cofferd ($b) did not start"
    a=$("$dir/coffer" --data "$TMP/$b" account create bench --json) || die "account create failed"
    EP[$b]=http://127.0.0.1:$port AK[$b]=$(jfield "$a" access_key_id) SK[$b]=$(jfield "$a" secret_access_key)
    "$LG" --endpoint "${EP[$b]}" --access-key "${AK[$b]}" --secret-key "${SK[$b]}" --bucket bench \
        --create-bucket --keys 1000 --prefill-size 4k --prefill-only --quiet >/dev/null 2>&1 ||
        die "prefill ($b) failed"
done

lg() {
    local b=$1 mix=$2 out
    out=$("$LG" --endpoint "${EP[$b]}" --access-key "${AK[$b]}" --secret-key "${SK[$b]}" \
        --bucket bench --keys 1000 --mix "$mix" --size 4k --conns 16 --duration "$DUR" \
        --warmup 1 --server-pid "${PID[$b]}" --json --quiet --label "$mix" 2>"$TMP/lg.err") ||
        die "loadgen failed: $(tail -2 "$TMP/lg.err")"
    printf '%s\n' "$out" | python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
j["build"] = sys.argv[1]
print(json.dumps(j))
print("  %-6s %-4s %9.1f ops/s  p50 %6.3f  p99 %6.3f ms  srv %6.1f us/op" % (
    j["build"], j["label"], j["ops_s"], j["p50_ms"], j["p99_ms"], j["srv_cpu_us_op"]),
    file=sys.stderr)' "$b" >>"$RES"
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
log "${DUR}s runs, $ROUNDS rounds; load $LOAD0"
for r in $(seq "$ROUNDS"); do
    order="before after"
    [ $((r % 2)) -eq 0 ] && order="after before"
    for mix in get put; do
        for b in $order; do
            lg "$b" "$mix"
        done
    done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$RES" "$DUR" "$ROUNDS" "$LOAD0" "$LOAD1" "${SAVE:-}" <<'PY'
import json, os, platform, statistics as st, sys
path, dur, rounds, load0, load1, save = sys.argv[1:]
rows = [json.loads(l) for l in open(path) if l.strip()]
out = []
p = out.append
p("# Request counting cost (bench/counting.sh)")
p("")
p("%s, %d CPUs; %s s runs, %s rounds alternating the builds, medians; 4 KiB objects, 16 "
  "keep-alive connections; load average %s before, %s after" %
  (platform.node(), os.cpu_count(), dur, rounds, load0, load1))
p("")
p("| workload | build | ops/s | ops/s min-max | p50 ms | p99 ms | server CPU us/op |")
p("|---|---|---:|---:|---:|---:|---:|")
ratios = []
for mix in ("get", "put"):
    m = {}
    for b in ("before", "after"):
        rs = [r for r in rows if r["label"] == mix and r["build"] == b]
        ops = [r["ops_s"] for r in rs]
        m[b] = {k: st.median([r[k] for r in rs]) for k in ("ops_s", "p50_ms", "p99_ms", "srv_cpu_us_op")}
        p("| %s 4 KiB | %s | %.0f | %.0f-%.0f | %.3f | %.3f | %.1f |" % (
            mix.upper(), b, m[b]["ops_s"], min(ops), max(ops), m[b]["p50_ms"], m[b]["p99_ms"],
            m[b]["srv_cpu_us_op"]))
    ratios.append("%s: ops/s after/before %.3f, server CPU/op after/before %.3f" % (
        mix.upper(), m["after"]["ops_s"] / m["before"]["ops_s"],
        m["after"]["srv_cpu_us_op"] / m["before"]["srv_cpu_us_op"]))
p("")
for r in ratios:
    p("- " + r)
text = "\n".join(out) + "\n"
print(text)
if save:
    open(save, "w").write(text)
PY
