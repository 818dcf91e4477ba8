#!/usr/bin/env bash
# s3cmd (SigV4, path style): mb, put, ls, get, info, cp, sync, del, rb over HTTP and HTTPS.
# multipart_chunk_size_mb = 5: the 12 MiB file goes up as a multipart upload in 5 MiB parts.
CLI_NAME=s3cmd
. "$(dirname "$0")/common.sh"

cfg() { # file use_https port
    cat >"$1" <<EOF
[default]
access_key = $E2E_AK
secret_key = $E2E_SK
host_base = 127.0.0.1:$3
host_bucket = 127.0.0.1:$3
bucket_location = us-east-1
use_https = $2
ca_certs_file = $CA
check_ssl_certificate = True
check_ssl_hostname = True
signature_v2 = False
enable_multipart = True
multipart_chunk_size_mb = 5
progress_meter = False
EOF
}
cfg "$WORK/http.cfg" False "$E2E_HTTP_PORT"
cfg "$WORK/https.cfg" True "$E2E_TLS_PORT"
S() { s3cmd -c "$WORK/http.cfg" "$@"; }
SS() { s3cmd -c "$WORK/https.cfg" "$@"; }

make_tree "$WORK/tree"
echo "s3cmd small" >"$WORK/small.txt"
head -c $((12 * 1024 * 1024)) /dev/urandom >"$WORK/mid.bin"

for mode in http https; do
    if [ $mode = http ]; then C=S; P=""; else C=SS; P="tls_"; fi
    B=$(rand_bucket s3cmd$mode)
    cf=$WORK/$mode.cfg
    check ${P}mb $C mb "s3://$B"
    check ${P}ls_buckets sh -c "s3cmd -c '$cf' ls | grep -q 's3://$B\$'"
    check ${P}put_small $C put "$WORK/small.txt" "s3://$B/small.txt"
    check ${P}put_12MiB $C put "$WORK/mid.bin" "s3://$B/dir/mid.bin"
    check ${P}ls_prefix sh -c "s3cmd -c '$cf' ls 's3://$B/dir/' | grep -q 's3://$B/dir/mid.bin\$'"
    check ${P}get_identical sh -c "s3cmd -c '$cf' get --force 's3://$B/dir/mid.bin' '$WORK/mid.$mode' && cmp '$WORK/mid.bin' '$WORK/mid.$mode'"
    check ${P}info_md5 sh -c "s3cmd -c '$cf' info 's3://$B/dir/mid.bin' | grep -q '$(md5sum "$WORK/mid.bin" | cut -d' ' -f1)'"
    check ${P}cp_object $C cp "s3://$B/small.txt" "s3://$B/copy.txt"
    check ${P}get_copy sh -c "s3cmd -c '$cf' get --force 's3://$B/copy.txt' '$WORK/copy.$mode' && cmp '$WORK/small.txt' '$WORK/copy.$mode'"
    check ${P}sync_up $C sync "$WORK/tree/" "s3://$B/tree/"
    check ${P}sync_down_identical sh -c "s3cmd -c '$cf' sync 's3://$B/tree/' '$WORK/tree.$mode/' && diff -r '$WORK/tree' '$WORK/tree.$mode'"
    check ${P}du $C du "s3://$B"
    check ${P}del $C del "s3://$B/small.txt"
    check ${P}del_gone sh -c "! s3cmd -c '$cf' ls 's3://$B/small.txt' | grep -q small.txt"
    check_fails ${P}rb_nonempty_fails BucketNotEmpty $C rb "s3://$B"
    check ${P}del_recursive $C del --recursive --force "s3://$B"
    check ${P}rb $C rb "s3://$B"
    check ${P}rb_gone sh -c "! s3cmd -c '$cf' ls | grep -q 's3://$B\$'"
done
exit 0
