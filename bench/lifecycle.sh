#!/usr/bin/env bash
# lifecycle.sh -- the lifecycle executor's speed (issue 15, spec lifecycle part A):
#
#   (a) one pass over a bucket of 1,000,000 objects that no rule matches: wall and CPU
#       (user+sys, /usr/bin/time) of `coffer lifecycle run --bucket big`, the same executor
#       code as cofferd's thread (s3_lc_pass), unpaced; beside it, in the same run, sqlite3
#       counting the bucket's rows (the floor: SQLite reading every row once). Target: <= 10 s CPU.
#   (b) expiring 100,000 objects (Expiration Days 1, objects 10 days old, unversioned) by
#       cofferd's own executor thread (--lifecycle-interval 1; paced, max_rate in runner_main) while
#       bench/loadgen.c runs 4 KiB GETs against another bucket: actions/s from cofferd's log
#       line for the pass, and GET ops/s during the pass against GET ops/s without it, measured
#       just before and just after in the same round. Targets: >= 5,000 actions/s, GETs >= 80 %.
#
# The objects are fixtures, not PUTs: bench/lc_fill.c inserts the rows through md.h into
# buckets made over S3 (1M PUTs would take most of an hour here; the fill takes ~12 s). Rows
# name data files that do not exist: the executor's work (scan, evaluate, delete, trash row,
# audit row, commit) is the same; the reaper later unlinks nothing. Nothing here is a test.
#
#   bash bench/lifecycle.sh [--rounds N] [--big N] [--expire N] [--conns C] [--save FILE]
#
# Environment: BIN (bin), BUILD (build): where cofferd/coffer are and where libcoffer.a is and
# the helpers are built; COMMIT for the report (default: HEAD).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BIN=${BIN:-bin}
BUILD=${BUILD:-build}
ROUNDS=3
BIG=1000000
EXPIRE=100000
CONNS=16
DUR=3
SAVE=
while [ $# -gt 0 ]; do
    case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --big) BIG=$2; shift ;;
    --expire) EXPIRE=$2; shift ;;
    --conns) CONNS=$2; shift ;;
    --save) SAVE=$2; shift ;;
    -h | --help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "lifecycle.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

log() { printf '[lifecycle %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ -x "$BIN/cofferd" ] && [ -x "$BIN/coffer" ] && [ -f "$BUILD/libcoffer.a" ] ||
    die "build Coffer first (make BUILD=$BUILD BIN=$BIN)"
mkdir -p "$BUILD/bench"
LG=$BUILD/bench/loadgen
FILL=$BUILD/bench/lc_fill
if [ ! -x "$LG" ] || [ bench/loadgen.c -nt "$LG" ]; then
    cc -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Werror -O2 -g -pthread bench/loadgen.c \
        -o "$LG" -lcrypto || die "cannot build loadgen"
fi
cc -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Werror -O2 -g -Isrc -pthread bench/lc_fill.c \
    "$BUILD/libcoffer.a" -luv -lssl -lcrypto -lsqlite3 -lexpat -ljansson -lqrencode -lz -lisal \
    -lm -o "$FILL" || die "cannot build lc_fill"

TMP=$(mktemp -d /tmp/coffer-lc-bench.XXXXXX)
C_PID=
cleanup() {
    if [ -n "$C_PID" ]; then
        kill -TERM "$C_PID" 2>/dev/null
        wait "$C_PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
EP=http://127.0.0.1:$PORT
# start DATA ARGS...: cofferd on $PORT, its log in DATA.log
start() {
    local d=$1
    shift
    "$BIN/cofferd" --data "$d" --listen "127.0.0.1:$PORT" "$@" >>"$d.log" 2>&1 </dev/null &
    C_PID=$!
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return; sleep 0.1; done
    die "cofferd did not start"
}
stop() {
    kill -TERM "$C_PID"
    wait "$C_PID"
    C_PID=
}
jfield() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
account() {
    local a
    a=$("$BIN/coffer" --data "$1" account create bench --json) || die "account create failed"
    AK=$(jfield "$a" access_key_id) SK=$(jfield "$a" secret_access_key)
}
# s3 OP BUCKET: create | lifecycle-none (a rule matching nothing) | lifecycle-expire (Days 1)
s3() {
    python3 - "$EP" "$AK" "$SK" "$1" "$2" <<'EOF' || die "S3 $1 $2 failed"
import sys
import boto3
from botocore.config import Config
ep, ak, sk, op, b = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"},
                                                         retries={"max_attempts": 1}))
if op == "create":
    s3.create_bucket(Bucket=b)
else:
    prefix = "nomatch/" if op == "lifecycle-none" else ""
    s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
        {"ID": op, "Status": "Enabled", "Filter": {"Prefix": prefix},
         "Expiration": {"Days": 1}}]})
EOF
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
RES=$TMP/results.txt
: >"$RES"

# ---- (a) a pass over BIG objects, nothing due
A=$TMP/a
account "$A"
start "$A" --lifecycle-interval 3600
s3 create big
t0=$(date +%s.%N)
"$FILL" "$A" big "$BIG" 10 || die "fill failed"
FILL_S=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)")
log "(a) $BIG objects filled in ${FILL_S}s"
s3 lifecycle-none big
stop # nothing else touches the store while the passes are timed
echo "fill $BIG $FILL_S" >>"$RES"
for r in $(seq "$ROUNDS"); do
    /usr/bin/time -f "%e %U %S %M" -o "$TMP/time" "$BIN/coffer" --data "$A" lifecycle run \
        --bucket big --json >"$TMP/pass.json" || die "lifecycle run failed"
    read -r wall user sys rss <"$TMP/time"
    v=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["versions"], j["due"])' "$TMP/pass.json")
    echo "pass $wall $user $sys $rss $v" >>"$RES"
    /usr/bin/time -f "%e %U %S %M" -o "$TMP/time" sqlite3 "$A/meta.db" \
        "SELECT count(*), sum(length(key)) FROM versions WHERE bucket_id = (SELECT id FROM buckets WHERE name = 'big')" >/dev/null ||
        die "sqlite3 failed"
    read -r wall user sys rss <"$TMP/time"
    echo "sqlite $wall $user $sys $rss" >>"$RES"
    log "(a) round $r: $(tail -2 "$RES" | tr '\n' ' ')"
done
rm -rf "$A"

# ---- (b) expiring EXPIRE objects under a 4 KiB GET load
B=$TMP/b
account "$B"
start "$B" --lifecycle-interval 1
"$LG" --endpoint "$EP" --access-key "$AK" --secret-key "$SK" --bucket hot --create-bucket \
    --keys 1000 --prefill-size 4k --prefill-only --quiet >/dev/null 2>&1 || die "prefill failed"
for r in $(seq "$ROUNDS"); do
    s3 create "exp$r"
    "$FILL" "$B" "exp$r" "$EXPIRE" 10 || die "fill failed"
done
# get LABEL: one GET run, "get LABEL ops_s srv_us_op errors" appended to $RES
get() {
    local out
    out=$("$LG" --endpoint "$EP" --access-key "$AK" --secret-key "$SK" --bucket hot --keys 1000 \
        --mix get --conns "$CONNS" --duration "$DUR" --warmup 0.5 --server-pid "$C_PID" --json \
        --quiet --label "$1" 2>"$TMP/lg.err") || die "loadgen failed: $(tail -2 "$TMP/lg.err")"
    python3 -c '
import json, sys
j = json.loads(sys.argv[1])
print("get %s %.1f %.1f %d" % (j["label"], j["ops_s"], j["srv_cpu_us_op"], j["errors"] + j["failures"]))
' "$out" >>"$RES"
}
for r in $(seq "$ROUNDS"); do
    get before
    lines=$(grep -c 'lifecycle: .* due actions done' "$B.log")
    s3 lifecycle-expire "exp$r"
    # the pass has begun once its first batch committed the progress row
    python3 - "$B/meta.db" <<'EOF' || die "no pass started"
import sqlite3, sys, time
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
t = time.time()
while time.time() < t + 10:
    if db.execute("SELECT count(*) FROM lifecycle_state").fetchone()[0]:
        sys.exit(0)
    time.sleep(0.002)
sys.exit(1)
EOF
    get during
    for _ in $(seq 300); do
        [ "$(grep -c 'lifecycle: .* due actions done' "$B.log")" -gt "$lines" ] && break
        sleep 0.1
    done
    grep 'lifecycle: .* due actions done' "$B.log" | tail -1 |
        sed -E 's/.*lifecycle: ([0-9]+) of ([0-9]+) due.* in ([0-9]+) ms$/pass \1 \2 \3/' >>"$RES"
    get after
    log "(b) round $r: $(tail -4 "$RES" | tr '\n' ' ')"
done
stop

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$RES" "${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null)}" "$LOAD_BEFORE" "$LOAD" \
    "$ROUNDS" "$BIG" "$EXPIRE" "$CONNS" "$DUR" "${SAVE:-}" <<'EOF'
import os, platform, statistics as st, sys
path, commit, load0, load1, rounds, big, expire, conns, dur, save = sys.argv[1:]
rows = [l.split() for l in open(path) if l.strip()]
med = st.median
out = []
p = out.append
p("# Lifecycle executor (bench/lifecycle.sh)")
p("")
p("commit %s; %s, %d CPUs; %s rounds, medians; load average %s before, %s after"
  % (commit, platform.node(), os.cpu_count(), rounds, load0, load1))
p("")
fill = [r for r in rows if r[0] == "fill"][0]
passes = [r for r in rows if r[0] == "pass" and len(r) == 7]
sq = [r for r in rows if r[0] == "sqlite"]
cpu = [float(r[2]) + float(r[3]) for r in passes]
sqcpu = [float(r[2]) + float(r[3]) for r in sq]
p("## (a) one pass, %s objects, no rule matches (`coffer lifecycle run --bucket big`)" % big)
p("")
p("Fixture: %s rows through md.h (bench/lc_fill.c) in %s s." % (fill[1], fill[2]))
p("")
p("| | wall s | user+sys s | min-max user+sys | peak RSS MiB | us CPU/version |")
p("|---|---:|---:|---:|---:|---:|")
p("| lifecycle pass (%s versions read, %s due) | %.2f | %.2f | %.2f-%.2f | %.0f | %.2f |" % (
    passes[0][5], passes[0][6], med([float(r[1]) for r in passes]), med(cpu), min(cpu),
    max(cpu), med([float(r[4]) for r in passes]) / 1024, med(cpu) / int(big) * 1e6))
p("| baseline: sqlite3 count(*), sum(length(key)) over the bucket's rows | %.2f | %.2f | %.2f-%.2f | %.0f | %.2f |" % (
    med([float(r[1]) for r in sq]), med(sqcpu), min(sqcpu), max(sqcpu),
    med([float(r[4]) for r in sq]) / 1024, med(sqcpu) / int(big) * 1e6))
p("")
p("Pass / baseline CPU: %.2f. Target: <= 10 s CPU: %s." % (
    med(cpu) / med(sqcpu) if med(sqcpu) > 0 else float("nan"),
    "met" if med(cpu) <= 10 else "MISSED"))
p("")
p("## (b) expiring %s objects by cofferd's executor under a 4 KiB GET load (c%s, %s s runs)"
  % (expire, conns, dur))
p("")
p("| round | actions done | pass ms | actions/s | GET ops/s before | during | after | during / mean(before, after) | cofferd CPU us per GET before / during (executor included) |")
p("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
gets = [r for r in rows if r[0] == "get"]
lc = [r for r in rows if r[0] == "pass" and len(r) == 4]
rates, ratios = [], []
for i, pr in enumerate(lc):
    b, d, a = gets[3 * i:3 * i + 3]
    rate = int(pr[1]) / (int(pr[3]) / 1000)
    ratio = float(d[2]) / ((float(b[2]) + float(a[2])) / 2)
    rates.append(rate)
    ratios.append(ratio)
    err = sum(int(g[4]) for g in (b, d, a))
    p("| %d | %s of %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f %% | %.1f / %.1f |%s" % (
        i + 1, pr[1], pr[2], pr[3], rate, float(b[2]), float(d[2]), float(a[2]), 100 * ratio,
        float(b[3]), float(d[3]), " ERRORS %d" % err if err else ""))
if rates:
    p("")
    p("Median: %.0f actions/s (target >= 5,000: %s); GETs during the pass at %.0f %% of "
      "without it (target >= 80 %%: %s)." % (
          med(rates), "met" if med(rates) >= 5000 else "MISSED", 100 * med(ratios),
          "met" if med(ratios) >= 0.8 else "MISSED"))
text = "\n".join(out) + "\n"
sys.stdout.write(text)
if save:
    with open(save, "w") as f:
        f.write(text)
EOF
