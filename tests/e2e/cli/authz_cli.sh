#!/usr/bin/env bash
# Policies from everyday clients: the AWS CLI makes an IAM user and gives it an inline policy
# limited to one prefix of one bucket; rclone and s3cmd then work as that user inside the prefix
# and are refused outside it; s3cmd setpolicy/delpolicy put a public-read bucket policy (after
# the AWS CLI lifts Block Public Access) that curl reads anonymously. All over HTTPS.
CLI_NAME=authz
. "$(dirname "$0")/common.sh"

A() { AWS_ACCESS_KEY_ID=$1 AWS_SECRET_ACCESS_KEY=$2 AWS_DEFAULT_REGION=us-east-1 \
    AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_PAGER= \
    aws --endpoint-url "$HTTPS_EP" --ca-bundle "$CA" "${@:3}"; }
ROOT() { A "$E2E_AK" "$E2E_SK" "$@"; }
s3cmd_cfg() { # file ak sk: s3cmd over HTTPS, path style
    cat >"$1" <<EOF
[default]
access_key = $2
secret_key = $3
host_base = 127.0.0.1:$E2E_TLS_PORT
host_bucket = 127.0.0.1:$E2E_TLS_PORT
bucket_location = us-east-1
use_https = True
ca_certs_file = $CA
check_ssl_certificate = True
check_ssl_hostname = True
signature_v2 = False
progress_meter = False
EOF
}

B=$(rand_bucket authz)
U=team-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
check mb ROOT s3api create-bucket --bucket "$B"
check create_user ROOT iam create-user --user-name "$U"
ROOT iam create-access-key --user-name "$U" >"$WORK/key.json" 2>&1
UAK=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["AccessKey"]["AccessKeyId"])' "$WORK/key.json")
USK=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["AccessKey"]["SecretAccessKey"])' "$WORK/key.json")
cat >"$WORK/team.json" <<EOF
{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::$B",
   "Condition": {"StringLike": {"s3:prefix": ["team/*", "team/"]}}},
  {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"],
   "Resource": "arn:aws:s3:::$B/team/*"}]}
EOF
check put_user_policy ROOT iam put-user-policy --user-name "$U" --policy-name team \
    --policy-document "file://$WORK/team.json"

# rclone as the user (it sends x-amz-acl: private with each upload, which needs
# s3:PutObjectAcl as on AWS; rclone's documentation lists it among the permissions it needs)
export RCLONE_CONFIG=$WORK/rclone.conf
: >"$RCLONE_CONFIG"
export RCLONE_CONFIG_U_TYPE=s3 RCLONE_CONFIG_U_PROVIDER=Other
export RCLONE_CONFIG_U_ACCESS_KEY_ID=$UAK RCLONE_CONFIG_U_SECRET_ACCESS_KEY=$USK
export RCLONE_CONFIG_U_REGION=us-east-1 RCLONE_CONFIG_U_FORCE_PATH_STYLE=true
export RCLONE_CONFIG_U_ENDPOINT=$HTTPS_EP
R() { rclone --ca-cert "$CA" --retries 1 --low-level-retries 1 --s3-no-check-bucket "$@"; }
make_tree "$WORK/tree"
check rclone_copy_in_prefix R copy "$WORK/tree" "u:$B/team/tree"
check rclone_ls_prefix sh -c "rclone --ca-cert '$CA' ls 'u:$B/team/tree' | grep -q hello.txt"
check rclone_copy_back sh -c "rclone --ca-cert '$CA' copy 'u:$B/team/tree' '$WORK/back' && diff -r '$WORK/tree' '$WORK/back'"
check_fails rclone_copy_outside 403 R copy "$WORK/tree/hello.txt" "u:$B/other/"
check_fails rclone_delete_refused "" R delete "u:$B/team/tree" --include hello.txt
check rclone_delete_left_it ROOT s3api head-object --bucket "$B" --key team/tree/hello.txt
check_fails rclone_ls_outside AccessDenied R ls "u:$B/other"

# s3cmd as the user
s3cmd_cfg "$WORK/s3cmd.cfg" "$UAK" "$USK"
S() { s3cmd -c "$WORK/s3cmd.cfg" "$@"; }
echo "s3cmd as a team member" >"$WORK/note.txt"
check s3cmd_put_in_prefix S put "$WORK/note.txt" "s3://$B/team/note.txt"
check_fails s3cmd_put_outside 403 S put "$WORK/note.txt" "s3://$B/note.txt"
check_fails s3cmd_mb_refused 403 S mb "s3://$(rand_bucket authzmb)"

# s3cmd setpolicy as the owner: a public-read policy on public/, once Block Public Access allows
s3cmd_cfg "$WORK/root.cfg" "$E2E_AK" "$E2E_SK"
SR() { s3cmd -c "$WORK/root.cfg" "$@"; }
cat >"$WORK/public.json" <<EOF
{"Version": "2012-10-17", "Statement": [{"Sid": "PublicRead", "Effect": "Allow",
  "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::$B/public/*"}]}
EOF
check root_put_public SR put "$WORK/note.txt" "s3://$B/public/note.txt"
check_fails setpolicy_blocked 403 SR setpolicy "$WORK/public.json" "s3://$B"
check delete_public_access_block ROOT s3api delete-public-access-block --bucket "$B"
check setpolicy SR setpolicy "$WORK/public.json" "s3://$B"
ROOT s3api get-bucket-policy-status --bucket "$B" >"$WORK/status.json" 2>&1
check policy_status grep -q '"IsPublic": true' "$WORK/status.json"
check anon_get_public sh -c "curl -sf --cacert '$CA' '$HTTPS_EP/$B/public/note.txt' | cmp - '$WORK/note.txt'"
check anon_get_private_403 sh -c "test \"\$(curl -s -o /dev/null -w '%{http_code}' --cacert '$CA' '$HTTPS_EP/$B/team/note.txt')\" = 403"
check delpolicy SR delpolicy "s3://$B"
check anon_get_after_delpolicy_403 sh -c "test \"\$(curl -s -o /dev/null -w '%{http_code}' --cacert '$CA' '$HTTPS_EP/$B/public/note.txt')\" = 403"

# clean up as the owner
check cleanup_objects SR del --recursive --force "s3://$B"
check cleanup_rb SR rb "s3://$B"
check cleanup_policy ROOT iam delete-user-policy --user-name "$U" --policy-name team
exit 0
