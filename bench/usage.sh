#!/usr/bin/env bash
# usage.sh -- the cost of a usage-accounting refresh (issue 16, spec B3-B5): wall and CPU
# (user+sys, /usr/bin/time) of `coffer usage refresh --bucket big` over a bucket of BIG objects
# (default 1,000,000), the same code as cofferd's thread (md_usage_refresh), and of
# `coffer usage show --json` afterwards; beside them, sqlite3 counting the bucket's rows (the
# floor: SQLite reading every row once). Objects are fixtures inserted by bench/lc_fill.c
# through md.h (as bench/lifecycle.sh does). Nothing here is a test.
#
#   bash bench/usage.sh [--rounds N] [--big N]
#
# Environment: BIN (bin), BUILD (build): where cofferd/coffer are and where libcoffer.a is.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BIN=${BIN:-bin}
BUILD=${BUILD:-build}
ROUNDS=3
BIG=1000000
while [ $# -gt 0 ]; do
    case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --big) BIG=$2; shift ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "usage.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

log() { printf '[usage %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ -x "$BIN/cofferd" ] && [ -x "$BIN/coffer" ] && [ -f "$BUILD/libcoffer.a" ] ||
    die "build Coffer first (make BUILD=$BUILD BIN=$BIN)"
mkdir -p "$BUILD/bench"
FILL=$BUILD/bench/lc_fill
cc -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Werror -O2 -g -Isrc -pthread bench/lc_fill.c \
    "$BUILD/libcoffer.a" -luv -lssl -lcrypto -lsqlite3 -lexpat -ljansson -lqrencode -lz -lisal \
    -lm -o "$FILL" || die "cannot build lc_fill"

TMP=$(mktemp -d /tmp/coffer-usage-bench.XXXXXX)
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
D=$TMP/data
mkdir -p "$D"
A=$("$BIN/coffer" --data "$D" account create bench --json) || die "account create failed"
AK=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["access_key_id"])' "$A")
SK=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["secret_access_key"])' "$A")
"$BIN/cofferd" --data "$D" --listen "127.0.0.1:$PORT" >>"$TMP/cofferd.log" 2>&1 </dev/null &
C_PID=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
python3 - "http://127.0.0.1:$PORT" "$AK" "$SK" <<'EOF' || die "create bucket failed"
import sys
import boto3
from botocore.config import Config
ep, ak, sk = sys.argv[1:]
boto3.client("s3", endpoint_url=ep, aws_access_key_id=ak, aws_secret_access_key=sk,
             region_name="us-east-1",
             config=Config(s3={"addressing_style": "path"})).create_bucket(Bucket="big")
EOF
kill -TERM "$C_PID"
wait "$C_PID"
C_PID=
"$FILL" "$D" big "$BIG" 1 || die "fill failed"
log "$BIG objects filled"
echo "commit $(git rev-parse --short HEAD 2>/dev/null), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "round refresh_wall refresh_user refresh_sys refresh_maxrss_kb | show_wall show_cpu | sqlite3_count_wall sqlite3_cpu"
for r in $(seq "$ROUNDS"); do
    /usr/bin/time -f "%e %U %S %M" -o "$TMP/t1" "$BIN/coffer" --data "$D" usage refresh \
        --bucket big --json >"$TMP/r.json" || die "refresh failed"
    n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["versions"])' "$TMP/r.json")
    [ "$n" = "$BIG" ] || die "refresh read $n versions, not $BIG"
    /usr/bin/time -f "%e %U %S" -o "$TMP/t2" "$BIN/coffer" --data "$D" usage show --json \
        >/dev/null || die "show failed"
    /usr/bin/time -f "%e %U %S" -o "$TMP/t3" sqlite3 "$D/meta.db" \
        "SELECT count(*), sum(size) FROM versions INDEXED BY versions_key_seq WHERE bucket_id = (SELECT id FROM buckets WHERE name = 'big')" >/dev/null
    read -r w u s m <"$TMP/t1"
    read -r w2 u2 s2 <"$TMP/t2"
    read -r w3 u3 s3 <"$TMP/t3"
    python3 -c 'import sys; a = sys.argv[1:]; f = float
print("%s %s %s %s %s | %s %.2f | %s %.2f" % (a[0], a[1], a[2], a[3], a[4], a[5], f(a[6]) + f(a[7]), a[8], f(a[9]) + f(a[10])))' \
        "$r" "$w" "$u" "$s" "$m" "$w2" "$u2" "$s2" "$w3" "$u3" "$s3"
done
