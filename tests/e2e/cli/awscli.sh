#!/usr/bin/env bash
# AWS CLI v1: `aws s3` (mb, cp, ls, sync, rm, rb) and `aws s3api` over HTTP and HTTPS.
# The CLI's default 8 MiB multipart threshold applies: the 20 MiB file goes up in parts and
# comes down with ranged parallel GETs.
CLI_NAME=aws
. "$(dirname "$0")/common.sh"

export AWS_CONFIG_FILE=$WORK/aws-config
export AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
export AWS_ACCESS_KEY_ID=$E2E_AK AWS_SECRET_ACCESS_KEY=$E2E_SK AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_CA_BUNDLE
: >"$AWS_SHARED_CREDENTIALS_FILE"
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
AS() { aws --endpoint-url "$HTTPS_EP" --ca-bundle "$CA" "$@"; }

B=$(rand_bucket aws)
BS=$(rand_bucket awstls)
make_tree "$WORK/tree"
head -c $((20 * 1024 * 1024)) /dev/urandom >"$WORK/big.bin"
echo "small file" >"$WORK/small.txt"

# --- aws s3 over HTTP
check mb A s3 mb "s3://$B"
check ls_buckets_shows_new sh -c "aws --endpoint-url '$HTTP_EP' s3 ls | grep -q ' $B\$'"
check cp_up_small A s3 cp "$WORK/small.txt" "s3://$B/dir/small.txt"
check cp_down_small_identical sh -c "aws --endpoint-url '$HTTP_EP' s3 cp 's3://$B/dir/small.txt' '$WORK/small.back' && cmp '$WORK/small.txt' '$WORK/small.back'"
check ls_prefix sh -c "aws --endpoint-url '$HTTP_EP' s3 ls 's3://$B/dir/' | grep -q ' small.txt\$'"
check cp_up_20MiB_multipart A s3 cp "$WORK/big.bin" "s3://$B/big.bin" --expected-size $((20 * 1024 * 1024))
# 8 MiB parts (the CLI's default chunk size): ETag = md5(md5(part1) .. md5(part3)) + "-3"
MPU_ETAG=$(python3 -c '
import hashlib, sys
d = open(sys.argv[1], "rb").read()
p = [d[i:i + (8 << 20)] for i in range(0, len(d), 8 << 20)]
print("\"%s-%d\"" % (hashlib.md5(b"".join(hashlib.md5(x).digest() for x in p)).hexdigest(), len(p)))
' "$WORK/big.bin")
check cp_20MiB_etag_is_md5_of_part_md5s sh -c "test \"\$(aws --endpoint-url '$HTTP_EP' s3api head-object --bucket '$B' --key big.bin --query ETag --output text)\" = '$MPU_ETAG'"
check cp_down_20MiB_identical sh -c "aws --endpoint-url '$HTTP_EP' s3 cp 's3://$B/big.bin' '$WORK/big.back' && cmp '$WORK/big.bin' '$WORK/big.back'"
check cp_stdin_stdout sh -c "echo piped | aws --endpoint-url '$HTTP_EP' s3 cp - 's3://$B/piped' && test \"\$(aws --endpoint-url '$HTTP_EP' s3 cp 's3://$B/piped' -)\" = piped"
check sync_up A s3 sync "$WORK/tree" "s3://$B/tree"
check sync_down_identical sh -c "aws --endpoint-url '$HTTP_EP' s3 sync 's3://$B/tree' '$WORK/tree.back' && diff -r '$WORK/tree' '$WORK/tree.back'"
check sync_again_uploads_nothing sh -c "test -z \"\$(aws --endpoint-url '$HTTP_EP' s3 sync '$WORK/tree' 's3://$B/tree')\""
check ls_recursive_counts sh -c "test \"\$(aws --endpoint-url '$HTTP_EP' s3 ls --recursive 's3://$B/tree/' | wc -l)\" -eq 7"
rm -f "$WORK/tree/hello.txt"
check sync_delete_removes_remote sh -c "aws --endpoint-url '$HTTP_EP' s3 sync --delete '$WORK/tree' 's3://$B/tree' && ! aws --endpoint-url '$HTTP_EP' s3 ls 's3://$B/tree/hello.txt'"
check cp_s3_to_s3 sh -c "aws --endpoint-url '$HTTP_EP' s3 cp 's3://$B/dir/small.txt' 's3://$B/copied.txt' && aws --endpoint-url '$HTTP_EP' s3 cp 's3://$B/copied.txt' - | grep -q 'small file'"
check rm_single sh -c "aws --endpoint-url '$HTTP_EP' s3 rm 's3://$B/piped' && ! aws --endpoint-url '$HTTP_EP' s3 ls 's3://$B/piped'"
check_fails rb_nonempty_fails BucketNotEmpty A s3 rb "s3://$B"

# --- aws s3api over HTTP
check s3api_put_object_metadata A s3api put-object --bucket "$B" --key api/obj --body "$WORK/small.txt" --metadata color=blue --content-type text/plain
check s3api_head_object_metadata sh -c "aws --endpoint-url '$HTTP_EP' s3api head-object --bucket '$B' --key api/obj --query 'Metadata.color' --output text | grep -qx blue"
check s3api_get_object_range sh -c "aws --endpoint-url '$HTTP_EP' s3api get-object --bucket '$B' --key api/obj --range bytes=0-4 '$WORK/range.out' >/dev/null && test \"\$(cat '$WORK/range.out')\" = small"
check s3api_list_objects_v2_prefix sh -c "test \"\$(aws --endpoint-url '$HTTP_EP' s3api list-objects-v2 --bucket '$B' --prefix api/ --query 'Contents[].Key' --output text)\" = api/obj"
check s3api_list_objects_v1 sh -c "aws --endpoint-url '$HTTP_EP' s3api list-objects --bucket '$B' --prefix api/ --query 'Contents[].Key' --output text | grep -qx api/obj"
check s3api_copy_object A s3api copy-object --bucket "$B" --key api/copy --copy-source "$B/api/obj"
check s3api_get_bucket_location A s3api get-bucket-location --bucket "$B"
check s3api_head_bucket A s3api head-bucket --bucket "$B"
check s3api_delete_objects A s3api delete-objects --bucket "$B" --delete 'Objects=[{Key=api/obj},{Key=api/copy}]'
check_fails s3api_get_missing_key NoSuchKey A s3api get-object --bucket "$B" --key api/obj "$WORK/x.out"
check_fails s3api_invalid_bucket_name InvalidBucketName A s3api create-bucket --bucket "a..b"
check_fails s3api_wrong_secret SignatureDoesNotMatch env AWS_SECRET_ACCESS_KEY=wrongwrongwrong aws --endpoint-url "$HTTP_EP" s3api list-buckets
check_fails s3api_unknown_key InvalidAccessKeyId env AWS_ACCESS_KEY_ID=AKIANOSUCHKEY0000000 aws --endpoint-url "$HTTP_EP" s3api list-buckets
check presign_url_fetch sh -c "curl -sf \"\$(aws --endpoint-url '$HTTP_EP' s3 presign 's3://$B/dir/small.txt' --expires-in 60)\" | grep -q 'small file'"
check rm_recursive_then_rb sh -c "aws --endpoint-url '$HTTP_EP' s3 rm --recursive 's3://$B' >/dev/null && aws --endpoint-url '$HTTP_EP' s3 rb 's3://$B'"
check rb_gone sh -c "! aws --endpoint-url '$HTTP_EP' s3api head-bucket --bucket '$B' 2>/dev/null"

# --- HTTPS (aws-chunked + CRC32 trailer uploads)
check tls_mb AS s3 mb "s3://$BS"
check tls_cp_up_small AS s3 cp "$WORK/small.txt" "s3://$BS/small.txt"
check tls_cp_up_20MiB AS s3 cp "$WORK/big.bin" "s3://$BS/big.bin"
check tls_cp_down_20MiB_identical sh -c "aws --endpoint-url '$HTTPS_EP' --ca-bundle '$CA' s3 cp 's3://$BS/big.bin' '$WORK/big.tls' && cmp '$WORK/big.bin' '$WORK/big.tls'"
check tls_sync_roundtrip sh -c "aws --endpoint-url '$HTTPS_EP' --ca-bundle '$CA' s3 sync '$WORK/tree' 's3://$BS/t' >/dev/null && aws --endpoint-url '$HTTPS_EP' --ca-bundle '$CA' s3 sync 's3://$BS/t' '$WORK/tree.tls' >/dev/null && diff -r '$WORK/tree' '$WORK/tree.tls'"
check tls_ls AS s3 ls "s3://$BS/"
check tls_s3api_put_checksum_sha256 AS s3api put-object --bucket "$BS" --key ck --body "$WORK/small.txt" --checksum-algorithm SHA256
check tls_s3api_get_checksum sh -c "aws --endpoint-url '$HTTPS_EP' --ca-bundle '$CA' s3api get-object --bucket '$BS' --key ck --checksum-mode ENABLED '$WORK/ck.out' --query ChecksumSHA256 --output text | grep -qx '$(openssl dgst -sha256 -binary "$WORK/small.txt" | base64)'"
check_fails tls_without_ca_bundle_fails SSL aws --endpoint-url "$HTTPS_EP" s3 ls
check tls_rm_rb sh -c "aws --endpoint-url '$HTTPS_EP' --ca-bundle '$CA' s3 rb --force 's3://$BS' >/dev/null"
exit 0
