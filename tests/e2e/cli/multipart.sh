#!/usr/bin/env bash
# Multipart uploads with real clients: `aws s3 cp` at its default 8 MiB threshold (0 B, 1 B,
# 8 MiB+1, 100 MiB up and down, MD5-compared; the ETag of a multipart object is md5-of-md5s-N),
# s3api list-multipart-uploads/abort, rclone and s3cmd uploads of a 200 MiB file in parts (and
# back down). 1 GiB transfers and timings live in bench/multipart.sh.
CLI_NAME=multipart
. "$(dirname "$0")/common.sh"

export AWS_CONFIG_FILE=$WORK/aws-config
export AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
export AWS_ACCESS_KEY_ID=$E2E_AK AWS_SECRET_ACCESS_KEY=$E2E_SK AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_CA_BUNDLE
: >"$AWS_SHARED_CREDENTIALS_FILE"
# No multipart_threshold: the CLI's default (8 MiB) applies.
cat >"$AWS_CONFIG_FILE" <<'EOF'
[default]
region = us-east-1
retry_mode = standard
max_attempts = 1
s3 =
    signature_version = s3v4
    addressing_style = path
EOF
A() { aws --endpoint-url "$HTTP_EP" "$@"; }

B=$(rand_bucket mpu)
MiB=$((1024 * 1024))
: >"$WORK/f0"
head -c 1 /dev/urandom >"$WORK/f1"
head -c $((8 * MiB + 1)) /dev/urandom >"$WORK/f8m1"
head -c $((100 * MiB)) /dev/urandom >"$WORK/f100m"
head -c $((200 * MiB)) /dev/urandom >"$WORK/f200m"

# The ETag S3 gives a file uploaded in parts of $2 bytes.
mp_etag() { # file chunk
    python3 - "$1" "$2" <<'EOF'
import hashlib, sys
path, chunk = sys.argv[1], int(sys.argv[2])
md5s, n = b"", 0
with open(path, "rb") as f:
    while True:
        b = f.read(chunk)
        if not b:
            break
        md5s += hashlib.md5(b).digest()
        n += 1
print('"%s-%d"' % (hashlib.md5(md5s).hexdigest(), n))
EOF
}
etag_of() { A s3api head-object --bucket "$B" --key "$1" --query ETag --output text; }

check mb A s3 mb "s3://$B"
for f in f0 f1 f8m1 f100m; do
    check "aws_cp_up_$f" A s3 cp --only-show-errors "$WORK/$f" "s3://$B/$f"
    check "aws_cp_down_${f}_md5" sh -c "aws --endpoint-url '$HTTP_EP' s3 cp --only-show-errors 's3://$B/$f' '$WORK/$f.back' && test \"\$(md5sum <'$WORK/$f')\" = \"\$(md5sum <'$WORK/$f.back')\""
    rm -f "$WORK/$f.back"
done
check aws_small_is_single_put sh -c "test \"\$(aws --endpoint-url '$HTTP_EP' s3api head-object --bucket '$B' --key f1 --query ETag --output text)\" = '\"$(md5sum <"$WORK/f1" | cut -d' ' -f1)\"'"
check aws_8MiB1_etag_is_multipart sh -c "test '$(mp_etag "$WORK/f8m1" $((8 * MiB)))' = \"\$(aws --endpoint-url '$HTTP_EP' s3api head-object --bucket '$B' --key f8m1 --query ETag --output text)\""
check aws_100MiB_etag_is_multipart sh -c "test '$(mp_etag "$WORK/f100m" $((8 * MiB)))' = \"\$(aws --endpoint-url '$HTTP_EP' s3api head-object --bucket '$B' --key f100m --query ETag --output text)\""
check aws_part_count sh -c "test \"\$(aws --endpoint-url '$HTTP_EP' s3api head-object --bucket '$B' --key f100m --part-number 13 --query '[PartsCount,ContentLength]' --output text | tr -s '\t ' ' ')\" = '13 4194304'"
check aws_get_range_across_parts bash -c "aws --endpoint-url '$HTTP_EP' s3api get-object --bucket '$B' --key f100m --range bytes=8388000-8389000 '$WORK/r.out' >/dev/null && cmp '$WORK/r.out' <(tail -c +8388001 '$WORK/f100m' | head -c 1001)"
check aws_s3_to_s3_copy_of_multipart sh -c "aws --endpoint-url '$HTTP_EP' s3 cp --only-show-errors 's3://$B/f100m' 's3://$B/f100m.copy' && aws --endpoint-url '$HTTP_EP' s3 cp --only-show-errors 's3://$B/f100m.copy' - | md5sum | cut -d' ' -f1 | grep -qx \"\$(md5sum <'$WORK/f100m' | cut -d' ' -f1)\""
A s3 rm --only-show-errors "s3://$B/f100m.copy" >/dev/null 2>&1

# s3api: an upload left behind shows in the listing until aborted.
UID_=$(A s3api create-multipart-upload --bucket "$B" --key left/behind --query UploadId --output text 2>/dev/null)
check s3api_upload_part A s3api upload-part --bucket "$B" --key left/behind --upload-id "$UID_" --part-number 1 --body "$WORK/f1"
check s3api_list_uploads sh -c "aws --endpoint-url '$HTTP_EP' s3api list-multipart-uploads --bucket '$B' --query 'Uploads[].UploadId' --output text | grep -qx '$UID_'"
check s3api_list_parts sh -c "test \"\$(aws --endpoint-url '$HTTP_EP' s3api list-parts --bucket '$B' --key left/behind --upload-id '$UID_' --query 'Parts[].Size' --output text)\" = 1"
check s3api_abort A s3api abort-multipart-upload --bucket "$B" --key left/behind --upload-id "$UID_"
check_fails s3api_abort_again NoSuchUpload A s3api abort-multipart-upload --bucket "$B" --key left/behind --upload-id "$UID_"

# rclone: multipart above a 32 MiB cutoff, 16 MiB chunks, 4 at a time.
export RCLONE_CONFIG=$WORK/rclone.conf
: >"$RCLONE_CONFIG"
export RCLONE_CONFIG_C_TYPE=s3 RCLONE_CONFIG_C_PROVIDER=Other
export RCLONE_CONFIG_C_ACCESS_KEY_ID=$E2E_AK RCLONE_CONFIG_C_SECRET_ACCESS_KEY=$E2E_SK
export RCLONE_CONFIG_C_REGION=us-east-1 RCLONE_CONFIG_C_FORCE_PATH_STYLE=true
export RCLONE_CONFIG_C_ENDPOINT=$HTTP_EP
R() { rclone --retries 1 --low-level-retries 1 --s3-upload-cutoff 32M --s3-chunk-size 16M --s3-upload-concurrency 4 "$@"; }
check rclone_copyto_200MiB R copyto "$WORK/f200m" "c:$B/rclone/f200m"
check rclone_etag_is_multipart sh -c "test '$(mp_etag "$WORK/f200m" $((16 * MiB)))' = \"\$(aws --endpoint-url '$HTTP_EP' s3api head-object --bucket '$B' --key rclone/f200m --query ETag --output text)\""
check rclone_down_200MiB_md5 sh -c "rclone copyto 'c:$B/rclone/f200m' '$WORK/r200.back' && cmp '$WORK/f200m' '$WORK/r200.back'"
rm -f "$WORK/r200.back"

# s3cmd: multipart with 15 MiB chunks (its default), over HTTP.
cat >"$WORK/s3cmd.cfg" <<EOF
[default]
access_key = $E2E_AK
secret_key = $E2E_SK
host_base = 127.0.0.1:$E2E_HTTP_PORT
host_bucket = 127.0.0.1:$E2E_HTTP_PORT
bucket_location = us-east-1
use_https = False
signature_v2 = False
enable_multipart = True
multipart_chunk_size_mb = 15
progress_meter = False
EOF
S() { s3cmd -c "$WORK/s3cmd.cfg" "$@"; }
check s3cmd_put_200MiB S put "$WORK/f200m" "s3://$B/s3cmd/f200m"
check s3cmd_etag_is_multipart sh -c "test '$(mp_etag "$WORK/f200m" $((15 * MiB)))' = \"\$(aws --endpoint-url '$HTTP_EP' s3api head-object --bucket '$B' --key s3cmd/f200m --query ETag --output text)\""
check s3cmd_get_200MiB_md5 sh -c "s3cmd -c '$WORK/s3cmd.cfg' get --force 's3://$B/s3cmd/f200m' '$WORK/s200.back' >/dev/null && cmp '$WORK/f200m' '$WORK/s200.back'"
rm -f "$WORK/s200.back"
check s3cmd_multipart_list S multipart "s3://$B"

check cleanup sh -c "aws --endpoint-url '$HTTP_EP' s3 rm --only-show-errors --recursive 's3://$B' && aws --endpoint-url '$HTTP_EP' s3 rb 's3://$B'"
