#!/usr/bin/env bash
# blobs.sh -- Coffer on its two data backends in one run: --blobs file (DIR/blobs, the default)
# against --blobs rados:// (a pool of the single-node memstore cluster scripts/ceph.sh starts),
# same binary, same client (bench/loadgen.c), workloads in alternation (file, rados, file, ...).
# 4 KiB objects are inline in meta.db on both (the data backend is not touched: this row checks
# that nothing else changed); 256 KiB and 1 MiB go to the backend. Prints a Markdown table of
# medians; nothing here is a test.
#
#   bash bench/blobs.sh [--rounds N] [--seconds S] [--save FILE]
#
# Environment: BIN (bin), BUILD (build): where cofferd/coffer are and where loadgen is built.
# Needs ceph-mon, ceph-osd, ceph-common (scripts/ceph.sh).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BIN=${BIN:-bin}
BUILD=${BUILD:-build}
ROUNDS=3
SECS=3
SAVE=
while [ $# -gt 0 ]; do
    case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --seconds) SECS=$2; shift ;;
    --save) SAVE=$2; shift ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "blobs.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

log() { printf '[blobs %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ -x "$BIN/cofferd" ] && [ -x "$BIN/coffer" ] || die "build Coffer first (make BIN=$BIN)"
mkdir -p "$BUILD/bench"
LG=$BUILD/bench/loadgen
if [ ! -x "$LG" ] || [ bench/loadgen.c -nt "$LG" ]; then
    cc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -pthread bench/loadgen.c -o "$LG" -lcrypto ||
        die "cannot build loadgen"
fi

TMP=$(mktemp -d /tmp/coffer-blobs-bench.XXXXXX)
export COFFER_CEPH_DIR=$TMP/ceph
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    bash scripts/ceph.sh stop >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T0=$(date +%s.%N)
CONF=$(bash scripts/ceph.sh start 2>"$TMP/ceph.log" | tail -1) || die "ceph.sh start failed: $(tail -3 "$TMP/ceph.log")"
log "cluster up in $(python3 -c "print(round($(date +%s.%N) - $T0, 1))") s"
RADOS_URL="rados://coffer?conf=$CONF"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start NAME [--blobs URL]: a cofferd on a fresh data dir; sets PORT_NAME, AK_NAME, SK_NAME, PID_NAME.
start() {
    local name=$1 d=$TMP/$1 port a
    shift
    mkdir -p "$d"
    a=$("$BIN/coffer" --data "$d" account create bench --json) || die "account create failed"
    port=$(free_port)
    "$BIN/cofferd" --data "$d" --listen "127.0.0.1:$port" --access-log /dev/null "$@" \
        >>"$TMP/$name.log" 2>&1 </dev/null &
    PIDS+=($!)
    eval "PID_$name=$!"
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    eval "PORT_$name=$port"
    eval "AK_$name=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["access_key_id"])' "$a")"
    eval "SK_$name=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["secret_access_key"])' "$a")"
}
start file
start rados --blobs "$RADOS_URL"

RES=$TMP/results.jsonl
lg() { # lg TARGET LABEL ARGS...
    local t=$1 label=$2 port ak sk pid
    shift 2
    eval "port=\$PORT_$t ak=\$AK_$t sk=\$SK_$t pid=\$PID_$t"
    "$LG" --endpoint "http://127.0.0.1:$port" --access-key "$ak" --secret-key "$sk" \
        --server-pid "$pid" --json --quiet --label "$label" "$@" 2>>"$TMP/lg.err" |
        python3 -c 'import json,sys
for line in sys.stdin:
    j = json.loads(line); j["target"] = sys.argv[1]; print(json.dumps(j))' "$t" >>"$RES"
}
for t in file rados; do
    lg "$t" setup --bucket b4k --create-bucket --keys 1000 --prefill-size 4k --conns 8 --prefill-only
    lg "$t" setup --bucket b256k --create-bucket --keys 64 --prefill-size 256k --conns 8 --prefill-only
    lg "$t" setup --bucket b1m --create-bucket --keys 32 --prefill-size 1m --conns 8 --prefill-only
done
: >"$RES"
W=(
    "PUT 4KiB c16|--bucket b4k --mix put --size 4k --conns 16"
    "GET 4KiB c16|--bucket b4k --keys 1000 --mix get --conns 16"
    "PUT 256KiB c8|--bucket b256k --mix put --size 256k --conns 8"
    "GET 256KiB c8|--bucket b256k --keys 64 --mix get --conns 8"
    "PUT 1MiB c8|--bucket b1m --mix put --size 1m --conns 8"
    "GET 1MiB c8|--bucket b1m --keys 32 --mix get --conns 8"
)
for w in "${W[@]}"; do
    label=${w%%|*}
    # shellcheck disable=SC2206
    args=(${w#*|})
    for r in $(seq "$ROUNDS"); do
        for t in file rados; do
            lg "$t" "$label" "${args[@]}" --duration "$SECS" --warmup 0.5
        done
    done
    log "$label done"
done

python3 - "$RES" "$ROUNDS" "$SECS" "$(git rev-parse --short HEAD 2>/dev/null)" >"$TMP/table.md" <<'EOF'
import json, statistics, sys
res, rounds, secs, commit = sys.argv[1:]
rows = {}
for line in open(res):
    j = json.loads(line)
    rows.setdefault(j["label"], {}).setdefault(j["target"], []).append(j)
print("Coffer, --blobs file vs --blobs rados (single-node memstore Ceph on loopback), commit %s;"
      " medians of %s rounds of %s s, alternating." % (commit, rounds, secs))
print()
print("| workload | file ops/s | rados ops/s | rados/file | file p99 ms | rados p99 ms |"
      " file srv us/op | rados srv us/op | errors |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for label, t in rows.items():
    def med(target, key):
        return statistics.median(x[key] for x in t.get(target, [])) if t.get(target) else float("nan")
    errs = sum(x["errors"] + x["failures"] for v in t.values() for x in v)
    f, r = med("file", "ops_s"), med("rados", "ops_s")
    print("| %s | %.0f | %.0f | %.2f | %.2f | %.2f | %.0f | %.0f | %d |" % (
        label, f, r, r / f if f else 0, med("file", "p99_ms"), med("rados", "p99_ms"),
        med("file", "srv_cpu_us_op"), med("rados", "srv_cpu_us_op"), errs))
print()
print("srv us/op is cofferd's CPU only (for rados the OSD and monitor work on the same 2 cores"
      " and is not counted).")
EOF
cat "$TMP/table.md"
[ -n "$SAVE" ] && cp "$TMP/table.md" "$SAVE" && log "saved $SAVE"
exit 0
