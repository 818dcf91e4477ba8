#!/usr/bin/env bash
# gateways.sh -- issue 17 on one machine: (a) two cofferd gateways of one shared store splitting a
# load against one gateway carrying all of it, and (b) what one operation costs the PostgreSQL
# metadata store: round trips, bytes on the wire and PostgreSQL's CPU. Nothing here is a test.
#
#   bash bench/gateways.sh [--rounds N] [--seconds S] [--conns C] [--blobs URL] [--save FILE]
#
# The store: a throw-away PostgreSQL 15 (scripts/pg.sh, fsync on), one shared blob directory
# (or --blobs URL, e.g. rados://coffer?conf=...), one --master-key; each gateway has its own
# --data dir and ports (as tests/e2e/test_gateways.py). 4 KiB objects live in PostgreSQL rows.
#
# (a) split: per round, `loadgen --conns C` (16) against gateway 1 alone, then the same C
#     connections spread over both gateways (loadgen --alt-port: connection i goes to port
#     i % 2), 4 KiB PUT (new keys) and GET; total ops/s, the ratio two/one per round (median,
#     min-max), and the transactions PostgreSQL aborted (serialization failures, deadlocks).
# (b) model: on gateway 1, 4 KiB PUT of new keys (put-new), PUT over existing keys of an
#     unversioned bucket (put), GET, HEAD and DELETE at 1 and C connections, without
#     warm-up, and around each run: coffer_md_round_trips_total{kind} from both gateways'
#     /metrics (admin listener), the bytes both ways of every TCP connection to PostgreSQL
#     (ss -ti: bytes_acked + bytes_received), and the utime+stime of PostgreSQL's processes
#     (the postmaster's own and its reaped children's, plus every live child's) from /proc;
#     each delta divided by the run's operations.
#
# Environment: BIN (bin), BUILD (build), as bench/compare.sh.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BIN=${BIN:-bin}
BUILD=${BUILD:-build}
ROUNDS=3
SECS=3
CONNS=16
BLOBS=
SAVE=
while [ $# -gt 0 ]; do
    case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --seconds) SECS=$2; shift ;;
    --conns) CONNS=$2; shift ;;
    --blobs) BLOBS=$2; shift ;;
    --save) SAVE=$2; shift ;;
    -h | --help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "gateways.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

log() { printf '[gateways %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ -x "$BIN/cofferd" ] && [ -x "$BIN/coffer" ] || die "build Coffer first (make BIN=$BIN)"
mkdir -p "$BUILD/bench"
LG=$BUILD/bench/loadgen
if [ ! -x "$LG" ] || [ bench/loadgen.c -nt "$LG" ]; then
    cc -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Werror -O2 -g -pthread bench/loadgen.c \
        -o "$LG" -lcrypto || die "cannot build loadgen"
fi

TMP=$(mktemp -d /tmp/coffer-gw-bench.XXXXXX)
PG_DIR=$TMP-pg # not under $TMP (mode 700): the server runs as the user postgres
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    COFFER_PG_DIR=$PG_DIR bash scripts/pg.sh purge >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

COFFER_PG_DIR=$PG_DIR bash scripts/pg.sh start >/dev/null 2>"$TMP/pg.log" ||
    die "scripts/pg.sh start failed: $(tail -3 "$TMP/pg.log")"
META=$(COFFER_PG_DIR=$PG_DIR bash scripts/pg.sh createdb coffer 2>>"$TMP/pg.log") || die "createdb failed"
PG_PORT=$(cat "$PG_DIR/port")
PG_PM=$(cat "$PG_DIR/postgres.pid")
mkdir -p "$TMP/blobs"
STORE=(--meta "$META" --blobs "${BLOBS:-file:$TMP/blobs}" --master-key "$TMP/master.key")

free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])
EOF
}
PORT=() APORT=() GPID=()
for g in 0 1; do
    read -r p tp ap < <(free_ports 3)
    "$BIN/cofferd" --data "$TMP/gw$g" "${STORE[@]}" --listen "127.0.0.1:$p" \
        --tls-listen "127.0.0.1:$tp" --admin-listen "127.0.0.1:$ap" --access-log /dev/null \
        >"$TMP/gw$g.log" 2>&1 </dev/null &
    PIDS+=($!) GPID+=($!) PORT+=("$p") APORT+=("$ap")
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
    # the first gateway made the store (and the master key) before the second starts
done
ACCT=$("$BIN/coffer" --data "$TMP/gw0" "${STORE[@]}" account create bench --json) ||
    die "account create failed"
AK=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["access_key_id"])' "$ACCT")
SK=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["secret_access_key"])' "$ACCT")

RES=$TMP/results.jsonl
: >"$RES"
# Transactions PostgreSQL aborted for a serialization failure or a deadlock so far (its log).
sfail() { grep -cE 'could not serialize|deadlock detected' "$PG_DIR/log/postgres.log"; }
# lg LABEL EXTRA-JSON LOADGEN-ARGS...: one run against gateway 1 (plus --alt-port), JSON to $RES.
lg() {
    local label=$1 extra=$2 f0
    shift 2
    f0=$(sfail)
    "$LG" --endpoint "http://127.0.0.1:${PORT[0]}" --access-key "$AK" --secret-key "$SK" \
        --server-pid "${GPID[0]},${GPID[1]}" --json --quiet --label "$label" "$@" \
        2>>"$TMP/lg.err" >"$TMP/lg.out"
    python3 -c 'import json,sys
for line in open(sys.argv[3]):
    j = json.loads(line); j.update(json.loads(sys.argv[1])); j["sfail"] = int(sys.argv[2])
    print(json.dumps(j))
    print("  %-24s %9.1f ops/s  p50 %6.2f  p99 %6.2f ms  srv %6.1f us/op  aborts %d%s" % (j["label"],
          j["ops_s"], j["p50_ms"], j["p99_ms"], j["srv_cpu_us_op"], j["sfail"],
          "  ERRORS %d" % (j["errors"] + j["failures"]) if j["errors"] + j["failures"] else ""),
          file=sys.stderr)' "$extra" $(($(sfail) - f0)) "$TMP/lg.out" >>"$RES"
}

# The counters around a model run: one JSON object.
snap() {
    local g tok
    for g in 0 1; do
        tok=$(cat "$TMP/gw$g/metrics.token")
        curl -sfk -H "Authorization: Bearer $tok" "https://127.0.0.1:${APORT[$g]}/metrics" |
            grep '^coffer_md_round_trips_total'
    done >"$TMP/metrics"
    ss -tinH "dport = :$PG_PORT" >"$TMP/ss"
    python3 - "$TMP/metrics" "$TMP/ss" "$PG_PM" <<'EOF'
import json, os, re, sys
trips = {}
for line in open(sys.argv[1]):
    m = re.match(r'coffer_md_round_trips_total\{kind="([^"]+)"\} (\d+)', line)
    if m:
        trips[m.group(1)] = trips.get(m.group(1), 0) + int(m.group(2))
sent = recv = 0
for line in open(sys.argv[2]):
    m = re.search(r"bytes_acked:(\d+)", line)
    sent += int(m.group(1)) if m else 0
    m = re.search(r"bytes_received:(\d+)", line)
    recv += int(m.group(1)) if m else 0
pm = int(sys.argv[3])
def ticks(pid, children):
    try:
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(f[11]) + int(f[12]) + (int(f[13]) + int(f[14]) if children else 0)
kids = [int(p) for p in os.popen("pgrep -P %d" % pm).read().split()]
cpu = ticks(pm, True) + sum(ticks(k, False) for k in kids)
print(json.dumps({"trips": trips, "sent": sent, "recv": recv,
                  "pg_cpu_s": cpu / os.sysconf("SC_CLK_TCK")}))
EOF
}

# --- (a) one gateway against two splitting the same connections
lg setup '{}' --bucket b4k --create-bucket --keys 2000 --prefill-size 4k --conns 16 --prefill-only
T=(--duration "$SECS" --warmup 0.5)
# PUTs make new keys (a prefix of their own per run), GETs read the 2000 prefilled ones.
for r in $(seq "$ROUNDS"); do
    for op in put get; do
        for n in one two; do
            args=(--bucket b4k --mix "$op" --size 4k --conns "$CONNS" "${T[@]}")
            [ $op = put ] && args+=(--prefix "$n$r") || args+=(--keys 2000)
            [ $n = two ] && args+=(--alt-port "${PORT[1]}")
            lg "${op^^} 4KiB c$CONNS $n" "{\"round\":$r}" "${args[@]}"
        done
    done
done

# --- (b) the model: counters around runs without warm-up, on gateway 1
MODEL=$TMP/model.jsonl
: >"$MODEL"
lg setup '{}' --bucket bdel --create-bucket --keys 20000 --prefill-size 4k --conns 16 --prefill-only
for c in 1 "$CONNS"; do
    for op in put-new put get head delete; do
        # put-new: new keys (a prefix no run used); put: overwrites of b4k's keys (unversioned)
        case $op in
        put-new) args=(--bucket b4k --prefix "new$c" --mix put) ;;
        put) args=(--bucket b4k --keys 2000 --random-puts --mix put) ;;
        delete) args=(--bucket bdel --keys 20000 --mix delete) ;;
        *) args=(--bucket b4k --keys 2000 --mix "$op") ;;
        esac
        before=$(snap)
        lg "model $op c$c" '{}' "${args[@]}" --size 4k --conns "$c" --duration "$SECS" --warmup 0
        after=$(snap)
        python3 -c 'import json,sys
b, a, r = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(open(sys.argv[3]).readlines()[-1])
print(json.dumps({"label": r["label"], "ops": r["ops"], "ops_s": r["ops_s"],
    "trips": {k: a["trips"].get(k, 0) - b["trips"].get(k, 0) for k in set(a["trips"]) | set(b["trips"])},
    "sent": a["sent"] - b["sent"], "recv": a["recv"] - b["recv"], "pg_cpu_s": a["pg_cpu_s"] - b["pg_cpu_s"],
    "srv_cpu_us_op": r["srv_cpu_us_op"], "sfail": r["sfail"]}))' "$before" "$after" "$RES" >>"$MODEL"
    done
done

# ---------------------------------------------------------------- report
TABLE=$(python3 - "$RES" "$MODEL" "$ROUNDS" "$SECS" "$CONNS" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
model = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
rounds, secs, conns = sys.argv[3], sys.argv[4], sys.argv[5]
out = ["(a) Two gateways splitting one load: %s rounds of %s s runs in alternation (one, two, ...); "
       "%s connections either all on gateway 1 or spread over both (loadgen --alt-port). "
       "CPU is both cofferds' utime+stime per operation (PostgreSQL not counted)." % (rounds, secs, conns), "",
       "| workload | one gateway ops/s | p99 ms | CPU us/op | two gateways ops/s | p99 ms | CPU us/op "
       "| two/one (median) | per-round two/one | aborted txns one / two | errors |",
       "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
for op in ("PUT", "GET"):
    one = [r for r in rows if r["label"] == "%s 4KiB c%s one" % (op, conns)]
    two = [r for r in rows if r["label"] == "%s 4KiB c%s two" % (op, conns)]
    if not one or not two:
        continue
    m = lambda v, k: statistics.median(x[k] for x in v)
    per = [t["ops_s"] / o["ops_s"] for o, t in zip(one, two) if o["ops_s"]]
    err = sum(x["errors"] + x["failures"] for x in one + two)
    out.append("| %s 4KiB c%s | %.0f | %.2f | %.1f | %.0f | %.2f | %.1f | %.0f %% | %s | %d / %d | %d |" % (
        op, conns, m(one, "ops_s"), m(one, "p99_ms"), m(one, "srv_cpu_us_op"), m(two, "ops_s"),
        m(two, "p99_ms"), m(two, "srv_cpu_us_op"), 100 * statistics.median(per),
        ", ".join("%.0f %%" % (100 * p) for p in per), sum(x["sfail"] for x in one),
        sum(x["sfail"] for x in two), err))
out += ["", "Target (issue 17): two gateways keep >= 90 % of one gateway's total. Aborted txns: "
        "transactions PostgreSQL aborted during the runs (serialization failures and deadlocks in "
        "its log; cofferd retries them), summed over the rounds.", "",
        "(b) PostgreSQL cost per operation (gateway 1; %s s runs, no warm-up; counters of both "
        "gateways, the PostgreSQL TCP connections' bytes (ss) and PostgreSQL's CPU from /proc, "
        "divided by the run's operations; statements and transactions are round trips, deferred "
        "are statements the writer sent without waiting, read with the next one):" % secs, "",
        "| run | ops/s | statements | deferred | transactions | prepares | leases | bytes to PG "
        "| bytes from PG | PG CPU us/op | cofferd CPU us/op | aborted txns |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
for r in model:
    n = max(r["ops"], 1)
    t = r["trips"]
    out.append("| %s | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f | %.0f | %.1f | %d |" % (
        r["label"][6:], r["ops_s"], t.get("statement", 0) / n, t.get("deferred", 0) / n,
        t.get("transaction", 0) / n, t.get("prepare", 0) / n, t.get("lease", 0) / n,
        r["sent"] / n, r["recv"] / n, 1e6 * r["pg_cpu_s"] / n, r["srv_cpu_us_op"], r["sfail"]))
print("\n".join(out))
EOF
)
echo
echo "$TABLE"
if [ -n "$SAVE" ]; then
    {
        echo "# Two gateways on one store, and PostgreSQL's cost per operation: bench/gateways.sh"
        echo
        echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
        echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo none)$(git diff --quiet HEAD -- src 2>/dev/null || echo ' + uncommitted changes in src/')"
        echo "- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/{print $2}') GiB RAM, $(uname -sr), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "- command: BIN=$BIN BUILD=$BUILD bash bench/gateways.sh --rounds $ROUNDS --seconds $SECS --conns $CONNS${BLOBS:+ --blobs $BLOBS}"
        echo "- store: $(/usr/lib/postgresql/15/bin/postgres --version) on loopback (scripts/pg.sh, fsync on, synchronous_commit on), blobs ${BLOBS:-in one shared directory}; each gateway with default --workers/--loops"
        echo "- client: bench/loadgen.c, one thread, SigV4 UNSIGNED-PAYLOAD; client, gateways and PostgreSQL share the 2 cores"
        echo
        echo "$TABLE"
    } >"$SAVE"
    log "report written to $SAVE"
fi
