#!/usr/bin/env bash
# Tags from everyday clients, over HTTPS: the AWS CLI's s3api tagging calls (objects and
# buckets, x-amz-tagging on put-object) and its `s3 cp` server-side copy, which carries the
# source's tags; s3cmd and rclone uploads with an x-amz-tagging header added
# (--add-header, --header-upload) and an rclone server-side copy, which keeps the source's tags
# (x-amz-tagging-directive COPY, the default); errors AWS gives for a bad tag.
CLI_NAME=tagging
. "$(dirname "$0")/common.sh"

A() { AWS_ACCESS_KEY_ID=$E2E_AK AWS_SECRET_ACCESS_KEY=$E2E_SK AWS_DEFAULT_REGION=us-east-1 \
    AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_PAGER= \
    aws --endpoint-url "$HTTPS_EP" --ca-bundle "$CA" "$@"; }
tags_are() { # bucket key expected-json: the object's TagSet as compact JSON
    local got
    got=$(A s3api get-object-tagging --bucket "$1" --key "$2" --output json | python3 -c \
        'import json,sys; print(json.dumps([[t["Key"], t["Value"]] for t in json.load(sys.stdin)["TagSet"]]))')
    [ "$got" = "$3" ] || { echo "tags of $2: $got, want $3"; return 1; }
}

B=$(rand_bucket tag)
echo "tagged" >"$WORK/f.txt"
check mb A s3api create-bucket --bucket "$B"

# AWS CLI
check aws_put_object_tagging_header A s3api put-object --bucket "$B" --key aws/hdr \
    --body "$WORK/f.txt" --tagging "team=aws&stage=a%20b"
check aws_tags_from_header tags_are "$B" aws/hdr '[["team", "aws"], ["stage", "a b"]]'
get_tag_count() { A s3api get-object --bucket "$B" --key aws/hdr "$WORK/out" | grep -q '"TagCount": 2'; }
check aws_get_tag_count get_tag_count
check aws_put_object_tagging A s3api put-object-tagging --bucket "$B" --key aws/hdr \
    --tagging '{"TagSet": [{"Key": "replaced", "Value": "yes"}]}'
check aws_tags_replaced tags_are "$B" aws/hdr '[["replaced", "yes"]]'
check aws_s3_cp_copy_keeps_tags A s3 cp "s3://$B/aws/hdr" "s3://$B/aws/copied" --quiet
check aws_copied_tags tags_are "$B" aws/copied '[["replaced", "yes"]]'
check aws_delete_object_tagging A s3api delete-object-tagging --bucket "$B" --key aws/hdr
check aws_tags_deleted tags_are "$B" aws/hdr '[]'
check_fails aws_invalid_tag InvalidTag A s3api put-object-tagging --bucket "$B" --key aws/hdr \
    --tagging '{"TagSet": [{"Key": "no#hash", "Value": "v"}]}'
check_fails aws_eleven_tags BadRequest A s3api put-object-tagging --bucket "$B" --key aws/hdr \
    --tagging "{\"TagSet\": [$(for i in $(seq 0 10); do printf '{"Key": "k%d", "Value": "v"},' "$i"; done | sed 's/,$//')]}"
check aws_put_bucket_tagging A s3api put-bucket-tagging --bucket "$B" \
    --tagging '{"TagSet": [{"Key": "cost", "Value": "42"}]}'
bucket_tags() { A s3api get-bucket-tagging --bucket "$B" | grep -q '"cost"'; }
check aws_get_bucket_tagging bucket_tags
check aws_delete_bucket_tagging A s3api delete-bucket-tagging --bucket "$B"
check_fails aws_no_tag_set NoSuchTagSet A s3api get-bucket-tagging --bucket "$B"

# s3cmd: no tagging option, but any header can be added
cat >"$WORK/s3cmd.cfg" <<EOF2
[default]
access_key = $E2E_AK
secret_key = $E2E_SK
host_base = 127.0.0.1:$E2E_TLS_PORT
host_bucket = 127.0.0.1:$E2E_TLS_PORT
bucket_location = us-east-1
use_https = True
ca_certs_file = $CA
check_ssl_certificate = True
check_ssl_hostname = True
signature_v2 = False
progress_meter = False
EOF2
S() { s3cmd -c "$WORK/s3cmd.cfg" "$@"; }
check s3cmd_put_tagged S put --add-header=x-amz-tagging:tool=s3cmd "$WORK/f.txt" "s3://$B/s3cmd/f.txt"
check s3cmd_tags tags_are "$B" s3cmd/f.txt '[["tool", "s3cmd"]]'
check_fails s3cmd_bad_tag 400 S put --add-header=x-amz-tagging:bad%21=1 "$WORK/f.txt" "s3://$B/s3cmd/bad.txt"

# rclone: --header-upload for the header; a server-side copy keeps the source's tags
export RCLONE_CONFIG=$WORK/rclone.conf
: >"$RCLONE_CONFIG"
export RCLONE_CONFIG_C_TYPE=s3 RCLONE_CONFIG_C_PROVIDER=Other
export RCLONE_CONFIG_C_ACCESS_KEY_ID=$E2E_AK RCLONE_CONFIG_C_SECRET_ACCESS_KEY=$E2E_SK
export RCLONE_CONFIG_C_REGION=us-east-1 RCLONE_CONFIG_C_FORCE_PATH_STYLE=true
export RCLONE_CONFIG_C_ENDPOINT=$HTTPS_EP
R() { rclone --ca-cert "$CA" --retries 1 --low-level-retries 1 --s3-no-check-bucket "$@"; }
check rclone_upload_tagged R copyto --header-upload "x-amz-tagging: tool=rclone&n=1" \
    "$WORK/f.txt" "c:$B/rclone/f.txt"
check rclone_tags tags_are "$B" rclone/f.txt '[["tool", "rclone"], ["n", "1"]]'
check rclone_server_side_copy R copyto "c:$B/rclone/f.txt" "c:$B/rclone/copy.txt"
check rclone_copy_tags tags_are "$B" rclone/copy.txt '[["tool", "rclone"], ["n", "1"]]'
check rclone_copy_data sh -c "rclone --ca-cert '$CA' cat 'c:$B/rclone/copy.txt' | grep -q tagged"

check rb_cleanup A s3 rb "s3://$B" --force
