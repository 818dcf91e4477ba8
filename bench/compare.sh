#!/usr/bin/env bash
# compare.sh -- Coffer against the reference radosgw (Ceph 16.2, ../shared/reference/ceph-ref.sh)
# on this machine, with the same client (bench/loadgen.c) and the same requests, run in
# alternation (Coffer, radosgw, Coffer, radosgw, ...), plus the machine's ceilings (a bare
# epoll+llhttp server, Coffer's HTTP layer with a trivial handler, one fsync stream). Prints a
# table with the ratios Coffer/radosgw and how the issue-6 targets fare. Nothing here is a test.
#
#   bash bench/compare.sh [--quick|--full] [--rounds N] [--no-ceph] [--only REGEX] [--save FILE]
#                         [--backend files|rados]
#
#   --backend rados  Coffer on the shared backends of issue 17: metadata in a throw-away
#                PostgreSQL 15 (scripts/pg.sh, fsync on) and data in a pool "coffer-bench"
#                (made fresh, removed at the end) of the radosgw's own Ceph cluster, against
#                that radosgw; 4 KiB GET/PUT at 16
#                connections, 1 MiB, 256 MiB, `rados bench` on the pool as the cluster's
#                ceilings (no other ceilings, no listings), issue 17's targets.
#                The default, files, is Coffer's embedded store (SQLite + files).
#   --quick      1.5 s per run, 2 rounds, 5,000-entry listing buckets (make bench; < 5 min)
#   --full       5 s per run, 3 rounds, 100,000-entry listing buckets (~15 min)
#   --no-ceph    Coffer and the ceilings only (no radosgw column)
#   --only RE    only workloads whose name matches RE (e.g. 'get|ceiling')
#   --save FILE  also write the report (machine, commit, table) to FILE
#
# Environment: BIN (bin), BUILD (build): where cofferd/coffer and libcoffer.a are. The radosgw
# runs from its own state dir and ports (CEPH_REF_DIR=/tmp/coffer-bench-ceph, RGW 17480, mon
# 13300/16789), so a reference instance someone else started is left alone; it is stopped at
# the end only if this script started it. The first start installs the Ceph packages.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
COMMAND="bench/compare.sh $*"
BIN=${BIN:-bin}
BUILD=${BUILD:-build}
MODE=quick
ROUNDS=
ONLY=
SAVE=
WITH_CEPH=1
BACKEND=files
while [ $# -gt 0 ]; do
    case $1 in
    --quick) MODE=quick ;;
    --full) MODE=full ;;
    --rounds) ROUNDS=$2; shift ;;
    --no-ceph) WITH_CEPH=0 ;;
    --only) ONLY=$2; shift ;;
    --save) SAVE=$2; shift ;;
    --backend) BACKEND=$2; shift ;;
    -h | --help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
case $BACKEND in
files) ;;
rados) [ "$WITH_CEPH" = 1 ] || { echo "compare.sh: --backend rados needs the Ceph cluster" >&2; exit 2; } ;;
*) echo "compare.sh: --backend files|rados" >&2; exit 2 ;;
esac
if [ "$MODE" = full ]; then
    DUR=5 WARM=1 ROUNDS=${ROUNDS:-3} LIST_N=100000 BIG_COUNT=4
else
    DUR=1.5 WARM=0.3 ROUNDS=${ROUNDS:-2} LIST_N=5000 BIG_COUNT=2
fi

log() { printf '[compare %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- build
[ -x "$BIN/cofferd" ] && [ -x "$BIN/coffer" ] && [ -f "$BUILD/libcoffer.a" ] ||
    die "build Coffer first (make)"
mkdir -p "$BUILD/bench"
CFLAGS="-std=c17 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Werror -O2 -g -pthread"
LG=$BUILD/bench/loadgen
CEIL=$BUILD/bench/ceiling
if [ ! -x "$LG" ] || [ bench/loadgen.c -nt "$LG" ]; then
    cc $CFLAGS bench/loadgen.c -o "$LG" -lcrypto || die "cannot build loadgen"
fi
if [ ! -x "$CEIL" ] || [ bench/ceiling.c -nt "$CEIL" ] || [ "$BUILD/libcoffer.a" -nt "$CEIL" ]; then
    cc $CFLAGS -Isrc -I/usr/share/include/llhttp bench/ceiling.c "$BUILD/libcoffer.a" -o "$CEIL" \
        -luv -lssl -lcrypto -lsqlite3 -lexpat -ljansson -lqrencode -lz -lisal -lm ||
        die "cannot build ceiling"
fi

# ---------------------------------------------------------------- servers
TMP=$(mktemp -d /tmp/coffer-bench.XXXXXX)
RES=$TMP/results.jsonl
: >"$RES"
PIDS=()
CEPH_STARTED=0
PG_DIR=
POOL=
export CEPH_REF_DIR=${CEPH_REF_DIR:-/tmp/coffer-bench-ceph} RGW_PORT=${RGW_PORT:-17480}
export RGW_SSL_PORT=0 MON_V2_PORT=${MON_V2_PORT:-13300} MON_V1_PORT=${MON_V1_PORT:-16789}
CEPH_REF=${CEPH_REF:-$ROOT/../shared/reference/ceph-ref.sh}

cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    [ -n "$PG_DIR" ] && COFFER_PG_DIR=$PG_DIR bash scripts/pg.sh purge >/dev/null 2>&1
    # Coffer's pool goes with its data: a reused 20 GB OSD fills up after a few full runs.
    [ -n "$POOL" ] && drop_pool
    if [ "$CEPH_STARTED" = 1 ]; then
        log "stopping radosgw"
        bash "$CEPH_REF" stop >/dev/null 2>&1
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])
EOF
}
port_up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
    local i
    for i in $(seq 100); do port_up "$1" && return 0; sleep 0.1; done
    return 1
}

if [ "$WITH_CEPH" = 1 ]; then
    if bash "$CEPH_REF" status >/dev/null 2>&1; then
        log "radosgw already running in $CEPH_REF_DIR: using it"
    else
        log "starting radosgw (first use installs the Ceph packages)"
        CEPH_STARTED=1
        bash "$CEPH_REF" start >"$TMP/ceph-start.log" 2>&1 ||
            { tail -20 "$TMP/ceph-start.log"; die "ceph-ref.sh start failed"; }
    fi
    eval "$(bash "$CEPH_REF" env)"
    R_AK=$AWS_ACCESS_KEY_ID R_SK=$AWS_SECRET_ACCESS_KEY
    R_PIDS=$(cat "$CEPH_REF_DIR"/pids/*.pid 2>/dev/null | paste -sd, -)
    unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
fi

# The store: embedded (SQLite + files in the data dir), or PostgreSQL + a RADOS
# pool of the radosgw's cluster (--backend rados).
STORE=()
drop_pool() {
    timeout 60 ceph -c "$CEPH_CONF" osd pool rm "$POOL" "$POOL" --yes-i-really-really-mean-it \
        >/dev/null 2>&1
}
if [ "$BACKEND" = rados ]; then
    # A pool of its own, made fresh (a run that was killed may have left one).
    POOL=coffer-bench
    drop_pool
    timeout 60 ceph -c "$CEPH_CONF" osd pool create "$POOL" 32 >/dev/null 2>&1 ||
        die "cannot create the pool $POOL"
    # Not under $TMP (mode 700): the server runs as the user postgres.
    PG_DIR=$TMP-pg
    COFFER_PG_DIR=$PG_DIR bash scripts/pg.sh start >/dev/null 2>"$TMP/pg.log" ||
        { tail -5 "$TMP/pg.log"; die "scripts/pg.sh start failed"; }
    META=$(COFFER_PG_DIR=$PG_DIR bash scripts/pg.sh createdb coffer 2>>"$TMP/pg.log") ||
        die "createdb failed"
    STORE=(--meta "$META" --blobs "rados://$POOL?conf=$CEPH_CONF")
fi
# Coffer's server processes: cofferd, and with --backend rados also PostgreSQL
# (the postmaster and its children, listed again before each run since
# backends come and go) and the Ceph daemons it uses (osd, mon), as radosgw's
# column counts rgw + osd + mon.
coffer_pids() {
    local p=$C_PID pm
    if [ "$BACKEND" = rados ]; then
        pm=$(cat "$PG_DIR/postgres.pid")
        p="$p,$pm,$(pgrep -P "$pm" | paste -sd, -),$(cat "$CEPH_REF_DIR"/pids/{osd.0,mon.a}.pid | paste -sd, -)"
    fi
    echo "$p"
}

read -r C_PORT RAW_PORT HTTP_PORT < <(free_ports 3)
"$BIN/cofferd" --data "$TMP/data" "${STORE[@]}" --listen "127.0.0.1:$C_PORT" \
    --access-log "$TMP/access.log" >"$TMP/cofferd.log" 2>&1 </dev/null &
C_PID=$!
PIDS+=("$C_PID")
mkdir -p "$TMP/sink"
"$CEIL" raw "$RAW_PORT" "$TMP/sink" >/dev/null 2>&1 </dev/null &
RAW_PID=$!
PIDS+=("$RAW_PID")
"$CEIL" http "$HTTP_PORT" >/dev/null 2>&1 </dev/null &
HTTP_PID=$!
PIDS+=("$HTTP_PID")
wait_port "$C_PORT" && wait_port "$RAW_PORT" && wait_port "$HTTP_PORT" || die "servers did not start"
ACCT=$("$BIN/coffer" --data "$TMP/data" "${STORE[@]}" account create bench --json) || die "account create failed"
C_AK=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["access_key_id"])' "$ACCT")
C_SK=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["secret_access_key"])' "$ACCT")


# ---------------------------------------------------------------- running
# lg TARGET WORKLOAD LOADGEN-ARGS...: one loadgen run, its JSON line appended to $RES.
lg() {
    local target=$1 wl=$2
    shift 2
    local args=()
    case $target in
    coffer) args=(--endpoint "http://127.0.0.1:$C_PORT" --access-key "$C_AK" --secret-key "$C_SK"
        --server-pid "$(coffer_pids)") ;;
    radosgw) args=(--endpoint "http://127.0.0.1:$RGW_PORT" --access-key "$R_AK" --secret-key "$R_SK"
        --server-pid "$R_PIDS") ;;
    raw) args=(--endpoint "http://127.0.0.1:$RAW_PORT" --server-pid "$RAW_PID") ;;
    http) args=(--endpoint "http://127.0.0.1:$HTTP_PORT" --server-pid "$HTTP_PID") ;;
    esac
    local out
    out=$("$LG" "${args[@]}" --json --quiet --label "$wl" "$@" 2>"$TMP/lg.err") || {
        log "loadgen failed: $target $wl: $(tail -2 "$TMP/lg.err")"
        return 1
    }
    [ -n "$out" ] || return 0
    printf '%s\n' "$out" | python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
j["target"] = sys.argv[1]
print(json.dumps(j))
print("  %-8s %-24s %9.1f ops/s %8.1f MB/s  p50 %7.2f  p99 %7.2f ms  srv %7.1f us/op  rss %6.1f MiB%s" % (
    j["target"], j["label"], j["ops_s"], j["mb_s"], j["p50_ms"], j["p99_ms"], j["srv_cpu_us_op"],
    j["srv_hwm_kb"] / 1024, "  ERRORS %d" % (j["errors"] + j["failures"]) if j["errors"] + j["failures"] else ""),
    file=sys.stderr)
' "$target" >>"$RES"
}

# setup TARGET LOADGEN-ARGS...: prefill, not measured.
setup() {
    local target=$1
    shift
    lg "$target" setup --prefill-only "$@" >/dev/null 2>&1 || die "setup on $target failed: $*"
}

# --backend rados runs only what issue 17 sets targets for (4 KiB at 16
# connections, 1 MiB, 256 MiB) and the cluster's own ceilings: no other
# ceilings, listings, c1 or c32.
RADOS_SKIP='ceiling (raw|http|fsync)|List|HEAD|4KiB c(1|32)$'
want() {
    [ "$BACKEND" = rados ] && [[ $1 =~ $RADOS_SKIP ]] && return 1
    [ -z "$ONLY" ] || [[ $1 =~ $ONLY ]]
}

TARGETS=(coffer)
[ "$WITH_CEPH" = 1 ] && TARGETS+=(radosgw)

# ab WORKLOAD LOADGEN-ARGS...: ROUNDS x (Coffer, radosgw).
ab() {
    local wl=$1 r t
    shift
    want "$wl" || return 0
    for r in $(seq "$ROUNDS"); do
        for t in "${TARGETS[@]}"; do
            lg "$t" "$wl" "$@"
        done
    done
}

# ceil NAME TARGET LOADGEN-ARGS...: the ceiling servers, ROUNDS times.
ceil() {
    local wl=$1 t=$2 r
    shift 2
    want "$wl" || return 0
    for r in $(seq "$ROUNDS"); do
        lg "$t" "$wl" "$@"
    done
}

T="--duration $DUR --warmup $WARM"
log "backend $BACKEND, mode $MODE: ${DUR}s runs, $ROUNDS rounds, Coffer pid $C_PID${R_PIDS:+, radosgw pids $R_PIDS}"

# --- ceilings (those of the 4 KiB GET run within its rounds, below)
B="--conns 1 --count $BIG_COUNT --warmup 0"
ceil "ceiling raw PUT 256MiB" raw --raw PUT /0 --raw-size 256m $B
ceil "ceiling raw PUT 256MiB +fsync" raw --raw PUT /fsync --raw-size 256m $B
ceil "ceiling raw PUT 256MiB +md5+fsync" raw --raw PUT /md5fsync --raw-size 256m $B
ceil "ceiling raw GET 256MiB" raw --raw GET /268435456 $B
ceil "ceiling http PUT 256MiB" http --raw PUT /0 --raw-size 256m $B
ceil "ceiling http GET 256MiB" http --raw GET /268435456 $B
if want "ceiling fsync"; then
    mkdir -p "$TMP/fsync"
    for r in $(seq "$ROUNDS"); do
        "$CEIL" fsync "$TMP/fsync" "$DUR" | python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
for k, name in (("fsync_rename_per_s", "ceiling fsync+rename"),
                ("fsync_rename_dirsync_per_s", "ceiling fsync+rename+dirsync")):
    print(json.dumps({"target": "fsync", "label": name, "ops_s": j[k], "mb_s": j[k] * 4096 / 1048576,
                      "p50_ms": 0, "p99_ms": 0, "p999_ms": 0, "srv_cpu_us_op": 0, "srv_hwm_kb": 0,
                      "errors": 0, "failures": 0}))
    print("  fsync    %-24s %9.1f files/s" % (name, j[k]), file=sys.stderr)
' >>"$RES"
    done
fi

# --- the cluster's own ceilings (--backend rados): `rados bench` on Coffer's
# pool, librados straight to the OSD, no HTTP, no metadata. What a gateway
# could at best move through this cluster, measured as the ratios are.
# rados_ceil NAME SECONDS-ARGS...: one `rados bench` run as a JSON line.
rados_ceil() {
    local wl=$1
    shift
    timeout 120 rados -c "$CEPH_CONF" -p "$POOL" bench "$@" 2>&1 | python3 -c '
import json, re, sys
t = sys.stdin.read()
bw = re.search(r"Bandwidth \(MB/sec\):\s*([0-9.]+)", t)
iops = re.search(r"Average IOPS:\s*([0-9.]+)", t)
lat = re.search(r"Average Latency\(s\):\s*([0-9.]+)", t)
if not bw or not iops:
    sys.exit("rados bench: " + t[-300:])
print(json.dumps({"target": "rados", "label": sys.argv[1], "ops_s": float(iops.group(1)),
                  "mb_s": float(bw.group(1)), "p50_ms": 1000 * float(lat.group(1)) if lat else 0,
                  "p99_ms": 0, "p999_ms": 0, "srv_cpu_us_op": 0, "srv_hwm_kb": 0, "errors": 0,
                  "failures": 0}))
print("  rados    %-24s %9.1f ops/s %8.1f MB/s" % (sys.argv[1], float(iops.group(1)),
      float(bw.group(1))), file=sys.stderr)
' "$wl" >>"$RES" || log "rados bench failed: $wl"
}
if [ "$BACKEND" = rados ] && want "ceiling rados"; then
    RSECS=${DUR%.*} # whole seconds, rounded up
    [ "$RSECS" = "$DUR" ] || RSECS=$((RSECS + 1))
    for r in $(seq "$ROUNDS"); do
        rados_ceil "ceiling rados write 1MiB t8" "$RSECS" write -b 1M -t 8 --no-cleanup \
            --run-name c1m >/dev/null
        rados_ceil "ceiling rados read 1MiB t8" "$RSECS" seq -t 8 --run-name c1m
        rados_ceil "ceiling rados write 4MiB t4" "$RSECS" write -b 4M -t 4 --no-cleanup \
            --run-name c4m >/dev/null
        rados_ceil "ceiling rados read 4MiB t4" "$RSECS" seq -t 4 --run-name c4m
        for n in c1m c4m; do
            timeout 120 rados -c "$CEPH_CONF" -p "$POOL" cleanup --run-name "$n" >/dev/null 2>&1
        done
    done
fi

# --- small objects
for t in "${TARGETS[@]}"; do
    setup "$t" --bucket b4k --create-bucket --keys 1000 --prefill-size 4k --conns 16
done
# The GET ceilings run in the same rounds as the GETs (raw, http, Coffer,
# radosgw, raw, ...): the machine's speed drifts (other guests, radosgw's
# background work), and a ratio should compare runs seconds apart.
for c in 1 16 32; do
    for r in $(seq "$ROUNDS"); do
        want "ceiling raw GET 4KiB c$c" && lg raw "ceiling raw GET 4KiB c$c" --raw GET /4096 --conns $c $T
        want "ceiling http GET 4KiB c$c" && lg http "ceiling http GET 4KiB c$c" --raw GET /4096 --conns $c $T
        if want "GET 4KiB c$c"; then
            for t in "${TARGETS[@]}"; do
                lg "$t" "GET 4KiB c$c" --bucket b4k --keys 1000 --mix get --conns $c $T
            done
        fi
    done
done
for c in 1 16 32; do
    ab "PUT 4KiB c$c" --bucket b4k --mix put --size 4k --conns $c $T
done
[ "$MODE" = full ] && ab "HEAD 4KiB c16" --bucket b4k --keys 1000 --mix head --conns 16 $T

# --- 1 MiB
if want "1MiB"; then
    for t in "${TARGETS[@]}"; do
        setup "$t" --bucket b1m --create-bucket --keys 32 --prefill-size 1m --conns 8
    done
fi
ab "GET 1MiB c8" --bucket b1m --keys 32 --mix get --conns 8 $T
ab "PUT 1MiB c8" --bucket b1m --mix put --size 1m --conns 8 $T

# --- 256 MiB, one stream; --reset-hwm so peak RSS is this workload's
if want "256MiB"; then
    for t in "${TARGETS[@]}"; do
        setup "$t" --bucket bbig --create-bucket --keys 1 --prefill-size 256m --conns 1
    done
fi
ab "PUT 256MiB c1" --bucket bbig --mix put --size 256m --conns 1 --count $BIG_COUNT --warmup 0 \
    --reset-hwm
ab "GET 256MiB c1" --bucket bbig --keys 1 --mix get --conns 1 --count $BIG_COUNT --warmup 0 \
    --reset-hwm

# --- ListObjectVersions pages of 1000 entries
if want "ListObjectVersions"; then
    for t in "${TARGETS[@]}"; do
        setup "$t" --bucket blv --create-bucket --keys "$LIST_N" --prefill-size 0 --conns 32
        setup "$t" --bucket blvv --create-bucket --versioning --keys $((LIST_N / 10)) --versions 10 \
            --prefill-size 0 --conns 32
    done
fi
ab "ListObjectVersions ${LIST_N} objects" --bucket blv --keys "$LIST_N" --mix lv --conns 1 $T
ab "ListObjectVersions ${LIST_N} versions" --bucket blvv --keys $((LIST_N / 10)) --versions 10 \
    --mix lv --conns 1 $T
[ "$MODE" = full ] &&
    ab "ListObjectsV2 ${LIST_N} objects" --bucket blv --keys "$LIST_N" --mix list --conns 1 $T

# ---------------------------------------------------------------- report
report() {
    python3 - "$RES" "$MODE" "$ROUNDS" "$DUR" "$BACKEND" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
mode, rounds, dur, backend = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
by = {}
order = []
for r in rows:
    if r["label"] == "setup":
        continue
    k = (r["label"], r["target"])
    if r["label"] not in order:
        order.append(r["label"])
    by.setdefault(k, []).append(r)

def med(label, target, field):
    v = by.get((label, target))
    if not v:
        return None
    return statistics.median(x[field] for x in v)

def maxf(label, target, field):
    v = by.get((label, target))
    return max(x[field] for x in v) if v else None

def errs(label, target):
    v = by.get((label, target), [])
    return sum(x["errors"] + x["failures"] for x in v)

def f(v, fmt="%.0f"):
    return "-" if v is None else fmt % v

def spread(label, target):
    # min-max of the per-round ratios Coffer/radosgw (runs seconds apart)
    c, r = by.get((label, "coffer"), []), by.get((label, target), [])
    rs = [a["ops_s"] / b["ops_s"] for a, b in zip(c, r) if b["ops_s"]]
    return "%.1f-%.1fx" % (min(rs), max(rs)) if rs else "-"

out = []
out.append("Medians of %s alternating runs (%s mode, %s s each unless a count is given). "
           "ops/s and MB/s are client-side; CPU is the server's utime+stime per operation "
           "(radosgw: rgw + osd + mon); RSS is the server's peak (VmHWM)." % (rounds, mode, dur))
if backend == "rados":
    out.append("Coffer runs on the shared backends (issue 17): metadata in PostgreSQL 15 "
               "(scripts/pg.sh, fsync on, synchronous_commit on: the fair durability setting), "
               "object data in the pool `coffer-bench` of the same single-OSD Ceph cluster radosgw "
               "uses. Coffer's CPU counts cofferd + PostgreSQL (postmaster and children) + "
               "osd + mon; its RSS column is left out (it would sum the OSD's). "
               "`rounds` is the min-max of the per-round ratios.")
out.append("")
out.append("| workload | Coffer ops/s | MB/s | p50 ms | p99 ms | CPU us/op | RSS MiB "
           "| radosgw ops/s | MB/s | p50 ms | p99 ms | CPU us/op | Coffer/radosgw | rounds |")
out.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
for label in order:
    if label.startswith("ceiling"):
        continue
    c = [med(label, "coffer", k) for k in ("ops_s", "mb_s", "p50_ms", "p99_ms", "srv_cpu_us_op")]
    rr = [med(label, "radosgw", k) for k in ("ops_s", "mb_s", "p50_ms", "p99_ms", "srv_cpu_us_op")]
    rss = maxf(label, "coffer", "srv_hwm_kb") if backend == "files" else None
    ratio = c[0] / rr[0] if c[0] and rr[0] else None
    note = ""
    if errs(label, "coffer") or errs(label, "radosgw"):
        note = " (errors: Coffer %d, radosgw %d)" % (errs(label, "coffer"), errs(label, "radosgw"))
    out.append("| %s%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        label, note, f(c[0]), f(c[1], "%.1f"), f(c[2], "%.2f"), f(c[3], "%.2f"), f(c[4], "%.1f"),
        f(rss and rss / 1024, "%.0f"), f(rr[0]), f(rr[1], "%.1f"), f(rr[2], "%.2f"),
        f(rr[3], "%.2f"), f(rr[4], "%.0f"), f(ratio, "%.1fx"), spread(label, "radosgw")))
out.append("")

def ratio(a, b):
    return a / b if a is not None and b else None

def tgt(name, ok, detail):
    if ok is None:
        out.append("- %s: not measured" % name)
    else:
        out.append("- %s: %s (%s)" % (name, "holds" if ok else "DOES NOT HOLD", detail))

if backend == "rados":
    ceil = [l for l in order if l.startswith("ceiling rados")]
    if ceil:
        out.append("The cluster's own ceilings (same run): `rados bench` on Coffer's pool, librados "
                   "to the OSD with no HTTP and no metadata; p50 ms is its average latency.")
        out.append("")
        out.append("| ceiling | ops/s | MB/s | avg ms |")
        out.append("|---|--:|--:|--:|")
        for label in ceil:
            out.append("| %s | %s | %s | %s |" % (label[8:], f(med(label, "rados", "ops_s")),
                       f(med(label, "rados", "mb_s"), "%.1f"), f(med(label, "rados", "p50_ms"), "%.1f")))
        out.append("")
        for label, cl in (("PUT 1MiB c8", "ceiling rados write 1MiB t8"),
                          ("GET 1MiB c8", "ceiling rados read 1MiB t8"),
                          ("PUT 256MiB c1", "ceiling rados write 4MiB t4"),
                          ("GET 256MiB c1", "ceiling rados read 4MiB t4")):
            co, ro, ce = (med(label, "coffer", "mb_s"), med(label, "radosgw", "mb_s"),
                          med(cl, "rados", "mb_s"))
            if ce:
                out.append("- %s: Coffer %s, radosgw %s of `%s`" % (
                    label, f(ratio(co, ce) and 100 * ratio(co, ce), "%.0f%%"),
                    f(ratio(ro, ce) and 100 * ratio(ro, ce), "%.0f%%"), cl[8:]))
        out.append("")
    # Issue 17 targets, checked against this run (information, not a test).
    out.append("Targets (issue 17, Coffer on PostgreSQL + RADOS against radosgw on the same cluster):")
    for label, want_x, field in (("PUT 4KiB c16", 3, "ops_s"), ("GET 4KiB c16", 5, "ops_s"),
                                 ("PUT 1MiB c8", 1.5, "mb_s"), ("GET 1MiB c8", 1.5, "mb_s"),
                                 ("GET 256MiB c1", 2, "mb_s")):
        x = ratio(med(label, "coffer", field), med(label, "radosgw", field))
        tgt("%s >= %gx radosgw" % (label, want_x), None if x is None else x >= want_x,
            "%s, rounds %s" % (f(x, "%.2fx"), spread(label, "radosgw")))
    print("\n".join(out))
    sys.exit(0)

out.append("Ceilings (same run): `raw` is a bare single-threaded epoll+llhttp server (its "
           "`+fsync` PUT writes the body to a file and fsyncs it, `+md5+fsync` also computes the "
           "MD5 an S3 ETag needs, on the same single thread), `http` is Coffer's HTTP layer "
           "(src/http/http_server.c) with a trivial handler, `fsync` is one stream of "
           "create+write 4 KiB+fsync+rename (+ fsync of the directory).")
out.append("")
out.append("| ceiling | ops/s | MB/s | p50 ms | p99 ms | CPU us/op | RSS MiB |")
out.append("|---|--:|--:|--:|--:|--:|--:|")
for label in order:
    if not label.startswith("ceiling"):
        continue
    t = next(t for (l, t) in by if l == label)
    out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
        label[8:], f(med(label, t, "ops_s")), f(med(label, t, "mb_s"), "%.1f"),
        f(med(label, t, "p50_ms"), "%.2f"), f(med(label, t, "p99_ms"), "%.2f"),
        f(med(label, t, "srv_cpu_us_op"), "%.1f"), f(maxf(label, t, "srv_hwm_kb") and
                                                   maxf(label, t, "srv_hwm_kb") / 1024, "%.0f")))
out.append("")

# Issue 6 targets, checked against this run (information, not a test).
out.append("Targets (issue 6):")
for c in (16, 32):
    l = "GET 4KiB c%d" % c
    co, ro = med(l, "coffer", "ops_s"), med(l, "radosgw", "ops_s")
    cp, rp = med(l, "coffer", "p99_ms"), med(l, "radosgw", "p99_ms")
    raw = med("ceiling raw GET 4KiB c%d" % c, "raw", "ops_s")
    own = med("ceiling http GET 4KiB c%d" % c, "http", "ops_s")
    r1, r2, r3 = ratio(co, ro), ratio(co, raw), ratio(co, own)
    tgt("4 KiB GET c%d >= 10x radosgw" % c, r1 and r1 >= 10, "%s" % f(r1, "%.1fx"))
    tgt("4 KiB GET c%d >= 40%% of the bare epoll+llhttp ceiling" % c, r2 and r2 >= 0.4,
        "%s of %s ops/s" % (f(r2 and 100 * r2, "%.0f%%"), f(raw)))
    tgt("4 KiB GET c%d >= 40%% of Coffer's own HTTP layer, trivial handler" % c,
        r3 and r3 >= 0.4, "%s of %s ops/s" % (f(r3 and 100 * r3, "%.0f%%"), f(own)))
    tgt("4 KiB GET c%d p99 below radosgw's" % c, cp is not None and rp is not None and cp < rp,
        "%s vs %s ms" % (f(cp, "%.2f"), f(rp, "%.2f")))
l = "PUT 4KiB c32"
co, ro = med(l, "coffer", "ops_s"), med(l, "radosgw", "ops_s")
fs = med("ceiling fsync+rename", "fsync", "ops_s")
tgt("4 KiB PUT c32 >= 10x radosgw", ratio(co, ro) and ratio(co, ro) >= 10, f(ratio(co, ro), "%.1fx"))
tgt("4 KiB PUT c32 >= 1.5x one fsync+rename stream", ratio(co, fs) and ratio(co, fs) >= 1.5,
    "%s; %s files/s" % (f(ratio(co, fs), "%.1fx"), f(fs)))
# A durable PUT cannot outrun the disk: its ceiling is the raw server
# writing the body to a file and fsyncing it (socket to disk, nothing else).
# A GET of cached data is judged against the raw socket ceiling.
for op in ("PUT", "GET"):
    l = "%s 256MiB c1" % op
    co, ro = med(l, "coffer", "mb_s"), med(l, "radosgw", "mb_s")
    cl, what = (("ceiling raw PUT 256MiB +fsync", "raw socket-to-disk (+fsync) ceiling")
                if op == "PUT" else ("ceiling raw GET 256MiB", "raw socket ceiling"))
    ce = med(cl, "raw", "mb_s")
    rss = maxf(l, "coffer", "srv_hwm_kb")
    tgt("256 MiB %s >= 2x radosgw MB/s" % op, ratio(co, ro) and ratio(co, ro) >= 2,
        f(ratio(co, ro), "%.1fx"))
    tgt("256 MiB %s >= 50%% of the %s MB/s" % (op, what),
        ratio(co, ce) and ratio(co, ce) >= 0.5,
        "%s of %s MB/s" % (f(ratio(co, ce) and 100 * ratio(co, ce), "%.0f%%"), f(ce)))
    if op == "PUT":
        for v in ("", " +md5+fsync"):
            cv = med("ceiling raw PUT 256MiB%s" % v, "raw", "mb_s")
            out.append("  - against the raw%s PUT ceiling (%s MB/s%s): %s" % (
                v or " socket-only", f(cv), ", nothing stored" if not v else "",
                f(ratio(co, cv) and 100 * ratio(co, cv), "%.0f%%")))
    tgt("256 MiB %s peak RSS < 128 MiB" % op, rss and rss < 128 * 1024,
        "%s MiB" % f(rss and rss / 1024, "%.0f"))
out.append("- ListObjectVersions p50 < 10 ms at 1,000,000 versions: see bench/list_versions.py "
           "(this script lists %s-entry buckets)" % ("100,000" if mode == "full" else "5,000"))
print("\n".join(out))
EOF
}

TABLE=$(report)
echo
echo "$TABLE"
if [ -n "$SAVE" ]; then
    {
        echo "# Coffer vs radosgw: bench/compare.sh --$MODE --backend $BACKEND"
        echo
        echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
        echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo none)$(git diff --quiet HEAD -- src 2>/dev/null || echo ' + uncommitted changes in src/')"
        echo "- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/{print $2}') GiB RAM, $(uname -sr), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "- command: BIN=$BIN BUILD=$BUILD bash $COMMAND"
        echo "- disk: $(df -h "$TMP" | awk 'NR==2{print $1" ("$2")"}'), $(findmnt -no FSTYPE -T "$TMP" 2>/dev/null || stat -f -c %T "$TMP")"
        [ "$BACKEND" = rados ] &&
            echo "- Coffer store: $(/usr/lib/postgresql/15/bin/postgres --version 2>/dev/null || echo PostgreSQL 15) (fsync on) + RADOS pool coffer-bench (32 PGs, size 1) on radosgw's cluster"
        echo "- radosgw: $(command -v radosgw >/dev/null && radosgw --version 2>/dev/null | head -1 || echo 'not run'), bluestore OSD on a file, beast frontend"
        echo "- client: bench/loadgen.c (epoll, keep-alive, SigV4 header auth, UNSIGNED-PAYLOAD), one thread"
        echo
        echo "$TABLE"
    } >"$SAVE"
    log "report written to $SAVE"
fi
