#!/usr/bin/env bash
# Multipart upload of a 1 GiB object over loopback: upload and download throughput with the AWS
# CLI (its defaults: 8 MiB parts, 10 at a time) and with boto3's TransferManager (64 MiB parts,
# 8 threads), peak RSS of cofferd (VmHWM), the time CompleteMultipartUpload takes, and a kill -9
# in the middle of a 1 GiB upload: after restart no object is visible, the upload is listed, and
# aborting it frees every byte. Not a pass/fail test; prints one line per measurement.
#
#   make && bash bench/multipart.sh            # about 1-2 minutes on the 2-core machine
#   SIZE_MIB=256 BIN=bin-san bash bench/multipart.sh
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/bin}
SIZE_MIB=${SIZE_MIB:-1024}
TMP=$(mktemp -d /tmp/coffer-bench-mp.XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
for v in $(env | sed -n 's/^\(AWS_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done

DATA=$TMP/data
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
EP=http://127.0.0.1:$PORT
start() {
    "$BIN/cofferd" --data "$DATA" --listen "127.0.0.1:$PORT" >>"$TMP/log" 2>&1 </dev/null &
    PID=$!
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "cofferd did not start"; tail "$TMP/log"; exit 1
}
hwm() { awk '/VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$PID/status"; }
restart() { # a fresh process, so that each VmHWM below belongs to one phase
    kill -TERM "$PID"
    wait "$PID" || true
    start
}
blobs() { find "$DATA/blobs" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
secs() { python3 -c "import time; print(time.monotonic())"; }
rate() { python3 -c "print('%.0f MiB/s (%.2f s)' % ($SIZE_MIB / ($2 - $1), $2 - $1))"; }

mkdir -p "$DATA"
start
eval "$("$BIN/coffer" --data "$DATA" account create bench --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
print("export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s" % (j["access_key_id"], j["secret_access_key"]))')"
export AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=$TMP/aws-config
printf '[default]\ns3 =\n    addressing_style = path\n' >"$AWS_CONFIG_FILE"
A() { aws --endpoint-url "$EP" "$@"; }

head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$TMP/big"
SUM=$(md5sum <"$TMP/big" | cut -d' ' -f1)
A s3 mb s3://bench >/dev/null
echo "object: $SIZE_MIB MiB, machine: $(nproc) cores, $(uname -r)"

# --- AWS CLI
t0=$(secs); A s3 cp --only-show-errors "$TMP/big" s3://bench/big; t1=$(secs)
echo "aws s3 cp upload:   $(rate "$t0" "$t1"), cofferd VmHWM $(hwm)"
restart
t0=$(secs); A s3 cp --only-show-errors s3://bench/big "$TMP/back"; t1=$(secs)
echo "aws s3 cp download: $(rate "$t0" "$t1"), cofferd VmHWM $(hwm)"
[ "$(md5sum <"$TMP/back" | cut -d' ' -f1)" = "$SUM" ] || { echo "DOWNLOAD DIFFERS"; exit 1; }
rm -f "$TMP/back"
echo "ETag: $(A s3api head-object --bucket bench --key big --query ETag --output text)"
restart

# --- boto3, big parts, and the completion time seen from the access log
python3 - "$EP" "$TMP/big" "$SUM" "$SIZE_MIB" <<'EOF'
import hashlib, sys, time
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
ep, path, want, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = boto3.client("s3", endpoint_url=ep, config=Config(s3={"addressing_style": "path"},
                                                      max_pool_connections=16))
cfg = TransferConfig(multipart_threshold=64 << 20, multipart_chunksize=64 << 20,
                     max_concurrency=8)
t0 = time.monotonic()
c.upload_file(path, "bench", "big2", Config=cfg)
t1 = time.monotonic()
print("boto3 upload (64 MiB x 8):   %.0f MiB/s (%.2f s)" % (size / (t1 - t0), t1 - t0))

t0 = time.monotonic()
c.download_file("bench", "big2", path + ".2", Config=cfg)
t1 = time.monotonic()
print("boto3 download (64 MiB x 8): %.0f MiB/s (%.2f s)" % (size / (t1 - t0), t1 - t0))
h = hashlib.md5()
with open(path + ".2", "rb") as f:
    for b in iter(lambda: f.read(1 << 20), b""):
        h.update(b)
assert h.hexdigest() == want, "boto3 download differs"
# Completion time: a fresh upload of 16 parts, then time only CompleteMultipartUpload.
uid = c.create_multipart_upload(Bucket="bench", Key="big3")["UploadId"]
parts = []
with open(path, "rb") as f:
    for i in range(1, 17):
        body = f.read(max(5 << 20, (size << 20) // 16))
        if not body:
            break
        r = c.upload_part(Bucket="bench", Key="big3", UploadId=uid, PartNumber=i, Body=body)
        parts.append({"PartNumber": i, "ETag": r["ETag"]})
t0 = time.monotonic()
c.complete_multipart_upload(Bucket="bench", Key="big3", UploadId=uid,
                            MultipartUpload={"Parts": parts})
print("CompleteMultipartUpload of %d parts: %.1f ms" % (len(parts), (time.monotonic() - t0) * 1e3))
EOF
rm -f "$TMP/big.2"
echo "cofferd VmHWM over the boto3 upload and download: $(hwm)"

# --- kill -9 during a 1 GiB upload, restart, abort
A s3 rm --only-show-errors --recursive s3://bench
before=$(blobs)
# aws itself (not a subshell) in the background, so it can be killed before the server returns:
# a surviving client would abort its own upload once the server is back.
AWS_MAX_ATTEMPTS=1 aws --endpoint-url "$EP" s3 cp --only-show-errors "$TMP/big" s3://bench/killed \
    >/dev/null 2>&1 &
CP=$!
for _ in $(seq 1 600); do
    [ "$(blobs)" -gt $((before + SIZE_MIB * 1024 * 1024 / 3)) ] && break
    sleep 0.05
done
kill -KILL "$PID"; wait "$PID" 2>/dev/null || true
kill -KILL "$CP" 2>/dev/null; wait "$CP" 2>/dev/null || true
echo "killed cofferd with $(($(blobs) - before)) bytes of parts on disk"
start
if A s3api head-object --bucket bench --key killed >/dev/null 2>&1; then
    echo "FAIL: object visible after kill -9"; exit 1
fi
UPLOADS=$(A s3api list-multipart-uploads --bucket bench --query 'Uploads[].[Key,UploadId]' --output text)
echo "after restart: no object; uploads: $(echo "$UPLOADS" | wc -l) ($(echo "$UPLOADS" | cut -f1 | sort -u | tr '\n' ' '))"
echo "$UPLOADS" | while read -r k u; do A s3api abort-multipart-upload --bucket bench --key "$k" --upload-id "$u"; done
echo "after abort: $(($(blobs) - before)) bytes of parts on disk, $(ls "$DATA/tmp" | wc -l) temp files"
echo "cofferd VmHWM (restarted process): $(hwm)"
