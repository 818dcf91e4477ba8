#!/usr/bin/env bash
# Storage classes and website redirects as the clients send them: aws s3 cp --storage-class and
# --website-redirect (and s3api head-object / get-object-attributes / list-objects-v2 reading
# them back), s3cmd put --storage-class, rclone --s3-storage-class; GLACIER refused by each.
CLI_NAME=storage_class
. "$(dirname "$0")/common.sh"

export AWS_CONFIG_FILE=$WORK/aws-config
export AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
export AWS_ACCESS_KEY_ID=$E2E_AK AWS_SECRET_ACCESS_KEY=$E2E_SK AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_CA_BUNDLE
: >"$AWS_SHARED_CREDENTIALS_FILE"
printf '[default]\nregion = us-east-1\nretry_mode = standard\nmax_attempts = 1\ns3 =\n    addressing_style = path\n' >"$AWS_CONFIG_FILE"
A() { aws --endpoint-url "$HTTP_EP" "$@"; }

cat >"$WORK/s3cmd.cfg" <<CFG
[default]
access_key = $E2E_AK
secret_key = $E2E_SK
host_base = 127.0.0.1:$E2E_HTTP_PORT
host_bucket = 127.0.0.1:$E2E_HTTP_PORT
bucket_location = us-east-1
use_https = False
signature_v2 = False
progress_meter = False
CFG
S() { s3cmd -c "$WORK/s3cmd.cfg" "$@"; }

export RCLONE_CONFIG=$WORK/rclone.conf
: >"$RCLONE_CONFIG"
export RCLONE_CONFIG_C_TYPE=s3 RCLONE_CONFIG_C_PROVIDER=Other
export RCLONE_CONFIG_C_ACCESS_KEY_ID=$E2E_AK RCLONE_CONFIG_C_SECRET_ACCESS_KEY=$E2E_SK
export RCLONE_CONFIG_C_REGION=us-east-1 RCLONE_CONFIG_C_FORCE_PATH_STYLE=true
export RCLONE_CONFIG_C_ENDPOINT=$HTTP_EP
R() { rclone --retries 1 --low-level-retries 1 "$@"; }

is() { [ "$1" = "$2" ] || { echo "got '$1', want '$2'"; return 1; }; }
class_is() { # key want: the StorageClass head-object reports ("None" for STANDARD)
    is "$(A s3api head-object --bucket "$B" --key "$1" --query StorageClass --output text)" "$2"
}
listed_is() { # key want
    is "$(A s3api list-objects-v2 --bucket "$B" --prefix "$1" \
        --query 'Contents[0].StorageClass' --output text)" "$2"
}
attrs_is() { # key want: GetObjectAttributes' StorageClass
    is "$(A s3api get-object-attributes --bucket "$B" --key "$1" \
        --object-attributes StorageClass ObjectSize --query StorageClass --output text)" "$2"
}
redirect_is() { # key want
    is "$(A s3api head-object --bucket "$B" --key "$1" --query WebsiteRedirectLocation \
        --output text)" "$2"
}

echo "storage class" >"$WORK/f.txt"
B=$(rand_bucket sclass)
check mb A s3 mb "s3://$B"

check aws_cp_ia A s3 cp --storage-class STANDARD_IA "$WORK/f.txt" "s3://$B/aws/ia.txt"
check aws_head_ia class_is aws/ia.txt STANDARD_IA
check aws_list_ia listed_is aws/ia.txt STANDARD_IA
check aws_attrs_ia attrs_is aws/ia.txt STANDARD_IA
check aws_cp_plain A s3 cp "$WORK/f.txt" "s3://$B/aws/plain.txt"
check aws_head_standard class_is aws/plain.txt None
check aws_list_standard listed_is aws/plain.txt STANDARD
# In place: aws s3 cp onto itself with only a new class.
check aws_cp_inplace A s3 cp --storage-class ONEZONE_IA "s3://$B/aws/plain.txt" "s3://$B/aws/plain.txt"
check aws_head_inplace class_is aws/plain.txt ONEZONE_IA
check_fails aws_cp_glacier InvalidStorageClass A s3 cp --storage-class GLACIER "$WORK/f.txt" "s3://$B/aws/g.txt"
check_fails aws_restore InvalidObjectState A s3api restore-object --bucket "$B" --key aws/ia.txt --restore-request Days=1
check aws_redirect A s3 cp --website-redirect /target.html "$WORK/f.txt" "s3://$B/aws/r.txt"
check aws_redirect_read redirect_is aws/r.txt /target.html
check_fails aws_redirect_bad InvalidRedirectLocation A s3 cp --website-redirect target.html "$WORK/f.txt" "s3://$B/aws/r2.txt"

check s3cmd_put_ia S put --storage-class=STANDARD_IA "$WORK/f.txt" "s3://$B/s3cmd/ia.txt"
check s3cmd_head_ia class_is s3cmd/ia.txt STANDARD_IA
check s3cmd_info sh -c "s3cmd -c '$WORK/s3cmd.cfg' info 's3://$B/s3cmd/ia.txt' | grep -q STANDARD_IA"
check_fails s3cmd_put_glacier InvalidStorageClass S put --storage-class=GLACIER "$WORK/f.txt" "s3://$B/s3cmd/g.txt"

check rclone_copy_ia R copy --s3-storage-class INTELLIGENT_TIERING "$WORK/f.txt" "c:$B/rclone/"
check rclone_head_ia class_is rclone/f.txt INTELLIGENT_TIERING
check_fails rclone_copy_glacier InvalidStorageClass R copy --s3-storage-class DEEP_ARCHIVE "$WORK/f.txt" "c:$B/rclone-g/"

check cleanup A s3 rb --force "s3://$B"
