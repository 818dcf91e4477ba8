#!/usr/bin/env bash
# The admin CLI `coffer`: IAM users, keys for users, MFA devices (virtual enrolment with codes on
# stdin, hardware tokens, list, resync, deactivate, delete), the audit log, the bucket list's
# MFADeleteEnabledBucketCount line, listing and aborting stale multipart uploads, help texts and
# exit statuses (0 ok, 1 user error, 2 internal).
# It runs its own cofferd on a fresh data dir so that counts are exact; the server is only used to
# create buckets, to turn MFA delete on with a CLI-enrolled device and to start multipart uploads
# (aws s3api over HTTPS).
# Codes come from oathtool. Standalone: BIN=bin bash tests/e2e/cli/coffer_cli.sh
CLI_NAME=coffer
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
if [ -z "${E2E_RESULTS:-}" ]; then # standalone: the variables run.sh would export
    export E2E_RESULTS=$(mktemp /tmp/coffer-cli-results.XXXXXX)
    export E2E_HTTP_PORT=0 E2E_TLS_PORT=0 E2E_DATA=/nonexistent E2E_AK=- E2E_SK=-
    STANDALONE=1
fi
BIN=${E2E_BIN:-${BIN:-$ROOT/bin}}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
. "$HERE/common.sh"

D=$WORK/data
PID=
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
    fi
    rm -rf "$WORK"
    if [ -n "${STANDALONE:-}" ]; then
        echo "$(grep -c '^PASS ' "$E2E_RESULTS") passed, $(grep -c '^FAIL ' "$E2E_RESULTS") failed"
        rm -f "$E2E_RESULTS"
    fi
}
trap cleanup EXIT

C() { "$BIN/coffer" --data "$D" "$@"; }

# expect NAME WANT_RC [<FILE] CMD...: runs CMD with stdin from FILE (or /dev/null), stdout in
# $WORK/out, stderr in $WORK/err, and checks its exit status.
expect() {
    local name=$1 want=$2 in=/dev/null
    shift 2
    case $1 in "<"*) in=${1#<}; shift ;; esac
    "$@" <"$in" >"$WORK/out" 2>"$WORK/err"
    local rc=$?
    if [ "$rc" = "$want" ]; then
        record PASS "$name"
        return 0
    fi
    record FAIL "$name"
    echo "    exit $rc, wanted $want: \$ $*"
    tail -n 8 "$WORK/out" "$WORK/err" 2>/dev/null | sed 's/^/    /'
    return 1
}

# has NAME TEXT [FILE]: FILE (default: the last stdout + stderr) contains TEXT.
has() {
    local f=${3:-}
    if [ -z "$f" ]; then
        cat "$WORK/out" "$WORK/err" >"$WORK/both"
        f=$WORK/both
    fi
    if grep -qF -- "$2" "$f"; then
        record PASS "$1"
    else
        record FAIL "$1"
        echo "    '$2' not in:"
        tail -n 12 "$f" | sed 's/^/    /'
    fi
}

# lacks NAME TEXT FILE...: none of the files contains TEXT.
lacks() {
    local name=$1 text=$2
    shift 2
    if grep -qF -- "$text" "$@"; then
        record FAIL "$name"
        echo "    '$text' found in: $(grep -lF -- "$text" "$@" | tr '\n' ' ')"
    else
        record PASS "$name"
    fi
}

# pycheck NAME FILE PYTHON-EXPR: the JSON document in FILE, as j, makes EXPR true.
pycheck() {
    if "$PY" -c '
import json, re, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$2" "$3" 2>"$WORK/pyerr"; then
        record PASS "$1"
    else
        record FAIL "$1"
        echo "    not true: $3"
        head -c 1500 "$2" | sed 's/^/    /'
        cat "$WORK/pyerr" | tail -n 3 | sed 's/^/    /'
    fi
}

# TOTP: codes of the step containing time T, and a margin so that two codes computed now are
# still inside the server's window (one step either side) when the command runs.
code_at() { oathtool --totp -b "$1" -N "@$2"; }
CODES=$WORK/codes_sent # every code this script hands to coffer or the server
: >"$CODES"
fresh_step() {
    local left=$((30 - $(date +%s) % 30))
    if [ "$left" -lt 5 ]; then sleep "$left"; fi
}
pair() { # SEED FILE: two consecutive codes (previous step, current step) into FILE, one per line
    local now
    now=$(date +%s)
    code_at "$1" $((now - 30)) >"$2"
    code_at "$1" "$now" >>"$2"
    cat "$2" >>"$CODES"
}
new_seed() { head -c 20 /dev/urandom | base32 | tr -d '=\n'; }

for tool in oathtool python3 aws; do
    if ! command -v $tool >/dev/null; then
        record FAIL "setup.needs_$tool"
        exit 0
    fi
done
# The interpreters themselves, not version-manager shims (a shim costs a second per call here).
PY=$(python3 -c 'import sys; print(sys.executable)')
AWS=$(pyenv which aws 2>/dev/null || command -v aws)

# ---- help and argument errors (no store needed)
expect help.top 0 C --help && has help.top_lists_mfa "coffer mfa enroll"
has help.top_lists_audit "coffer audit"
has help.top_lists_user "coffer user create"
has help.top_lists_upload "coffer upload list"
expect help.noun 0 C mfa --help && has help.noun_lists_resync "mfa resync"
for c in "account create" "account list" "account delete" "user create" "user list" \
    "user delete" "key create" "key list" "key delete" "bucket list" "mfa enroll" \
    "mfa add-hardware" "mfa list" "mfa resync" "mfa deactivate" "mfa delete" "audit" \
    "upload list" "upload abort"; do
    # shellcheck disable=SC2086
    expect "help.${c// /_}" 0 C $c --help && has "help.${c// /_}_usage" "usage: coffer"
done
expect help.enroll_explains_uri 0 C mfa enroll --help && has help.enroll_otpauth "otpauth"
expect help.add_hardware_vendor 0 C mfa add-hardware --help && has help.add_hardware_vendor_file "vendor"
expect help.upload_noun 0 C upload --help && has help.upload_noun_lists_abort "upload abort"
expect help.upload_list_duration 0 C upload list --help && has help.upload_list_duration_units "7d"
expect args.unknown_command 1 C frobnicate
expect args.unknown_option 1 C mfa list --frob
expect args.missing_account 1 C user list
expect args.missing_serial 1 C mfa deactivate
expect args.extra_positional 1 C audit now
expect args.option_not_for_command 1 C user list --account x --serial y
expect args.no_data_dir 1 "$BIN/coffer" --data "$WORK/nonexistent" mfa list

# ---- a server on a fresh data dir
read -r HP TP < <("$PY" - <<'EOF'
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])
EOF
)
mkdir -p "$D"
"$BIN/cofferd" --data "$D" --listen "127.0.0.1:$HP" --tls-listen "127.0.0.1:$TP" \
    --domain localhost >"$WORK/cofferd.log" 2>&1 </dev/null &
PID=$!
up=0
for _ in $(seq 1 300); do
    kill -0 "$PID" 2>/dev/null || break
    if (exec 3<>"/dev/tcp/127.0.0.1/$TP") 2>/dev/null && [ -s "$D/tls/cert.pem" ]; then
        up=1
        break
    fi
    sleep 0.1
done
if [ $up -ne 1 ]; then
    record FAIL setup.server
    tail -n 20 "$WORK/cofferd.log"
    exit 0
fi
record PASS setup.server
MYCA=$D/tls/ca.pem
[ -s "$MYCA" ] || MYCA=$D/tls/cert.pem

expect setup.account 0 C account create alice --json || exit 0
cp "$WORK/out" "$WORK/alice.json"
J() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }
ACCT_ID=$(J "$WORK/alice.json" account_id)
ROOT_AK=$(J "$WORK/alice.json" access_key_id)
ROOT_SK=$(J "$WORK/alice.json" secret_access_key)
# Account ids are the 12-digit form of ARNs and serials in every output (issue 16; this
# script used to pad the bare "1" itself, which hid the bug).
PADDED=$ACCT_ID
pycheck account.create_json_id12 "$WORK/alice.json" 're.fullmatch(r"\d{12}", j["account_id"]) is not None and int(j["account_id"]) > 0'
expect setup.account2 0 C account create zed
has account.create_text_id12 "account_id:        0000000000"
expect account.list_text 0 C account list && has account.list_text_id12 "$ACCT_ID alice"
expect account.list_json 0 C account list --json
pycheck account.list_json_id12 "$WORK/out" 'all(re.fullmatch(r"\d{12}", a["account_id"]) for a in j)'
expect key.list_json 0 C key list --account alice --json
pycheck key.list_json_id12 "$WORK/out" 'all(k["account_id"] == "'"$ACCT_ID"'" for k in j)'

export AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-creds
export AWS_DEFAULT_REGION=us-east-1 AWS_MAX_ATTEMPTS=1 AWS_PAGER=
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_CA_BUNDLE
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
AWSS() { # AK SK args...: aws over HTTPS against our server
    AWS_ACCESS_KEY_ID=$1 AWS_SECRET_ACCESS_KEY=$2 "$AWS" --endpoint-url "https://127.0.0.1:$TP" \
        --ca-bundle "$MYCA" "${@:3}"
}

# ---- IAM users
expect user.create 0 C user create --account alice bob --json
pycheck user.create_json "$WORK/out" 'j["name"] == "bob" and j["user_id"] > 0 and j["account"] == "alice"'
pycheck user.create_json_id12 "$WORK/out" 'j["account_id"] == "'"$ACCT_ID"'"'
expect user.create_text 0 C user create --account alice carol && has user.create_text_name "name:     carol"
expect user.create_duplicate 1 C user create --account alice bob && has user.create_duplicate_msg "already exists"
expect user.create_duplicate_case 1 C user create --account alice BOB
expect user.create_bad_name 1 C user create --account alice 'bad/name'
expect user.create_too_long 1 C user create --account alice "$(printf 'u%.0s' $(seq 1 65))"
expect user.create_no_account 1 C user create --account nobody dave && has user.create_no_account_msg "no such account"
expect user.list 0 C user list --account alice && has user.list_bob " bob "
has user.list_carol "carol"
expect user.list_json 0 C user list --account alice --json
pycheck user.list_json_names "$WORK/out" 'sorted(u["name"] for u in j) == ["bob", "carol"]'
expect user.list_other_account_empty 0 C user list --account zed --json
pycheck user.list_other_account_json "$WORK/out" 'j == []'
expect user.delete 0 C user delete --account alice carol
expect user.delete_again 1 C user delete --account alice carol && has user.delete_again_msg "no such user"
expect user.list_after_delete 0 C user list --account alice --json
pycheck user.list_after_delete_json "$WORK/out" '[u["name"] for u in j] == ["bob"]'

# ---- keys for users
expect key.create_user 0 C key create --account alice --user bob --json
cp "$WORK/out" "$WORK/bobkey.json"
pycheck key.create_user_json "$WORK/bobkey.json" 'j["user"] == "bob" and len(j["secret_access_key"]) == 40'
BOB_AK=$(J "$WORK/bobkey.json" access_key_id)
BOB_SK=$(J "$WORK/bobkey.json" secret_access_key)
expect key.create_no_user 1 C key create --account alice --user nobody && has key.create_no_user_msg "no such user"
expect key.create_root 0 C key create --account alice --json
pycheck key.create_root_json "$WORK/out" 'j["user"] is None'
expect key.list 0 C key list --account alice
has key.list_user_column "USER"
grep -F "$BOB_AK" "$WORK/out" >"$WORK/bobline"
has key.list_bob_row " bob " "$WORK/bobline"
grep -F "$ROOT_AK" "$WORK/out" >"$WORK/rootline"
has key.list_root_row "(root)" "$WORK/rootline"
lacks key.list_no_secret "$BOB_SK" "$WORK/out"
expect key.list_json 0 C key list --account alice --json
pycheck key.list_json_users "$WORK/out" \
    'sorted((k["user"] or "") for k in j) == ["", "", "bob"] and all("secret" not in str(k) for k in j)'
# A user may do nothing until a policy allows it (default deny).
expect key.user_key_denied 255 AWSS "$BOB_AK" "$BOB_SK" s3api list-buckets
has key.user_key_denied_code "AccessDenied" "$WORK/err"
expect key.user_policy 0 AWSS "$ROOT_AK" "$ROOT_SK" iam attach-user-policy --user-name bob \
    --policy-arn arn:aws:iam::aws:policy/AmazonS3FullAccess
expect key.user_key_signs 0 AWSS "$BOB_AK" "$BOB_SK" s3api list-buckets

# ---- virtual MFA device for root
SEED=$(new_seed)
SERIAL="arn:aws:iam::$PADDED:mfa/root-mfa"
fresh_step
pair "$SEED" "$WORK/c"
expect mfa.enroll_root 0 "<$WORK/c" C mfa enroll --account alice --seed-base32 "$SEED" --no-qr root-mfa
has mfa.enroll_uri "otpauth://totp/root-mfa@alice?secret=$SEED&issuer=Coffer"
has mfa.enroll_serial "$SERIAL"
has mfa.enroll_enabled "enabled"
# both codes are burned: the CLI says when the next usable one shows (issue 16)
has mfa.enroll_next_code "the next code works, the one the app shows in "
lacks mfa.enroll_no_qr "█" "$WORK/out"
expect mfa.enroll_same_name 1 "<$WORK/c" C mfa enroll --account alice --no-qr root-mfa
has mfa.enroll_same_name_msg "already exists"

# Wrong codes: nothing stored, the name can be used again.
BADSEED=$(new_seed)
now=$(date +%s)
{ code_at "$BADSEED" $((now - 3600)); code_at "$BADSEED" $((now - 3570)); } >"$WORK/old"
cat "$WORK/old" >>"$CODES"
expect mfa.enroll_wrong_codes 1 "<$WORK/old" C mfa enroll --account alice --seed-base32 "$BADSEED" --no-qr retry-mfa
has mfa.enroll_wrong_codes_msg "nothing was stored"
expect mfa.list_after_wrong 0 C mfa list --account alice
lacks mfa.enroll_wrong_not_listed "mfa/retry-mfa" "$WORK/out"
fresh_step
pair "$BADSEED" "$WORK/c"
expect mfa.enroll_name_reusable 0 "<$WORK/c" C mfa enroll --account alice --seed-base32 "$BADSEED" --no-qr retry-mfa
printf '12345\n123456\n' >"$WORK/short"
expect mfa.enroll_code_format 1 "<$WORK/short" C mfa enroll --account alice --no-qr fmt-mfa
expect mfa.enroll_no_codes 1 C mfa enroll --account alice --no-qr eof-mfa
expect mfa.enroll_bad_name 1 C mfa enroll --account alice --no-qr 'bad/name'
expect mfa.enroll_short_seed 1 C mfa enroll --account alice --seed-base32 "$(head -c 8 /dev/urandom | base32 | tr -d '=')" x-mfa
expect mfa.enroll_bad_seed 1 C mfa enroll --account alice --seed-base32 'not!base32' x-mfa
expect mfa.enroll_no_user 1 C mfa enroll --account alice --user nobody x-mfa
expect mfa.list_after_failures 0 C mfa list --account alice
for n in fmt-mfa eof-mfa x-mfa; do lacks "mfa.failed_${n}_not_stored" "mfa/$n" "$WORK/out"; done

# QR code in the terminal, a random seed, and a device for an IAM user.
QSEED=$(new_seed)
fresh_step
pair "$QSEED" "$WORK/c"
expect mfa.enroll_qr 0 "<$WORK/c" C mfa enroll --account alice --seed-base32 "$QSEED" qr-mfa
has mfa.enroll_qr_blocks "█" "$WORK/out"
expect mfa.enroll_random_seed_wrong 1 "<$WORK/old" C mfa enroll --account alice --no-qr rnd-mfa
has mfa.enroll_random_seed_uri "otpauth://totp/rnd-mfa@alice?secret="
USEED=$(new_seed)
USERIAL="arn:aws:iam::$PADDED:mfa/bob-mfa"
fresh_step
pair "$USEED" "$WORK/c"
expect mfa.enroll_user 0 "<$WORK/c" C mfa enroll --account alice --user bob --seed-base32 "$USEED" --no-qr bob-mfa
has mfa.enroll_user_label "account:alice/user:bob"

# ---- hardware tokens
HSEED=$(new_seed)
HSER=GAHT$(printf '%08d' $((RANDOM * RANDOM % 100000000)))
fresh_step
pair "$HSEED" "$WORK/h"
expect mfa.hw_add_verified 0 C mfa add-hardware --account alice --serial "$HSER" --seed-base32 "$HSEED" \
    --code1 "$(sed -n 1p "$WORK/h")" --code2 "$(sed -n 2p "$WORK/h")"
has mfa.hw_add_verified_msg "enabled"
H2SEED=$(new_seed)
expect mfa.hw_add_unverified 0 C mfa add-hardware --account alice --serial GAHT00000002 --seed-base32 "$H2SEED"
has mfa.hw_add_unverified_msg "not verified"
expect mfa.hw_add_duplicate 1 C mfa add-hardware --account alice --serial GAHT00000002 --seed-base32 "$H2SEED"
expect mfa.hw_add_wrong_codes 1 C mfa add-hardware --account alice --serial GAHT00000003 --seed-base32 "$H2SEED" \
    --code1 "$(sed -n 1p "$WORK/old")" --code2 "$(sed -n 2p "$WORK/old")"
expect mfa.hw_add_one_code 1 C mfa add-hardware --account alice --serial GAHT00000004 --seed-base32 "$H2SEED" --code1 123456
expect mfa.hw_add_arn_serial 1 C mfa add-hardware --account alice --serial "arn:aws:iam::$PADDED:mfa/hw" --seed-base32 "$H2SEED"
expect mfa.hw_add_bad_serial 1 C mfa add-hardware --account alice --serial 'GA HT' --seed-base32 "$H2SEED"
expect mfa.hw_add_no_seed 1 C mfa add-hardware --account alice --serial GAHT00000005
expect mfa.hw_add_for_user 0 C mfa add-hardware --account alice --user bob --serial GAHT00000006 --seed-base32 "$H2SEED"
F7SEED=$(new_seed)
printf '%s\n' "$F7SEED" >"$WORK/seedfile"
fresh_step
pair "$F7SEED" "$WORK/h7"
expect mfa.hw_add_seed_file 0 C mfa add-hardware --account alice --serial GAHT00000007 \
    --seed-base32 "@$WORK/seedfile" --code1 "$(sed -n 1p "$WORK/h7")" --code2 "$(sed -n 2p "$WORK/h7")"
expect mfa.hw_add_seed_file_missing 1 C mfa add-hardware --account alice --serial GAHT00000008 \
    --seed-base32 "@$WORK/nonexistent"
expect mfa.hw_seed_file_deactivate 0 C mfa deactivate --serial GAHT00000007
expect mfa.hw_seed_file_delete 0 C mfa delete --serial GAHT00000007

# ---- listing: every device once, principals, never a seed
expect mfa.list 0 C mfa list --account alice
cp "$WORK/out" "$WORK/list.txt"
for s in "$SERIAL" "arn:aws:iam::$PADDED:mfa/retry-mfa" "arn:aws:iam::$PADDED:mfa/qr-mfa" \
    "$USERIAL" "$HSER" GAHT00000002 GAHT00000006; do
    has "mfa.list_has_${s##*/}" "$s" "$WORK/list.txt"
done
lacks mfa.list_no_GAHT00000003 GAHT00000003 "$WORK/list.txt"
grep -F "$HSER" "$WORK/list.txt" >"$WORK/hwline"
has mfa.list_hw_type "hardware" "$WORK/hwline"
grep -F "$USERIAL" "$WORK/list.txt" >"$WORK/userline"
has mfa.list_user_principal "account:alice/user:bob" "$WORK/userline"
expect mfa.list_json 0 C mfa list --json
cp "$WORK/out" "$WORK/list.json"
pycheck mfa.list_json_shape "$WORK/list.json" \
    'len(j) == 7 and all(set(d) >= {"serial","principal","type","enabled","enable_date"} for d in j)'
pycheck mfa.list_json_id12 "$WORK/list.json" 'all(re.fullmatch(r"\d{12}", d["account_id"]) for d in j)'
pycheck mfa.list_json_root "$WORK/list.json" \
    '[d for d in j if d["serial"] == "'"$SERIAL"'"][0]["principal"] == "account:alice" and all(d["enabled"] for d in j)'
pycheck mfa.list_json_no_seed_field "$WORK/list.json" 'all("seed" not in k.lower() for d in j for k in d)'
expect mfa.list_other_account 0 C mfa list --account zed --json
pycheck mfa.list_other_account_empty "$WORK/out" 'j == []'
expect mfa.list_no_account 1 C mfa list --account nobody
for s in "$SEED" "$BADSEED" "$QSEED" "$USEED" "$HSEED" "$H2SEED"; do
    lacks "mfa.list_no_seed_${s:0:6}" "$s" "$WORK/list.txt" "$WORK/list.json"
done

# ---- resync (the verified hardware token, 10 steps fast)
now=$(date +%s)
code_at "$HSEED" $((now + 300)) >"$WORK/r"
code_at "$HSEED" $((now + 330)) >>"$WORK/r"
cat "$WORK/r" >>"$CODES"
expect mfa.resync 0 C mfa resync --serial "$HSER" $(cat "$WORK/r") && has mfa.resync_msg "resynchronized"
expect mfa.resync_wrong 1 C mfa resync --serial "$HSER" $(cat "$WORK/old")
expect mfa.resync_bad_format 1 C mfa resync --serial "$HSER" 12345 abcdef
expect mfa.resync_unknown_serial 1 C mfa resync --serial GAHT99999999 123456 234567
expect mfa.resync_missing_code 1 C mfa resync --serial "$HSER" 123456

# ---- deactivate / delete
expect mfa.delete_enabled_refused 1 C mfa delete --serial GAHT00000002 && has mfa.delete_enabled_msg "deactivate it first"
expect mfa.deactivate 0 C mfa deactivate --serial GAHT00000002
expect mfa.deactivate_again 1 C mfa deactivate --serial GAHT00000002
expect mfa.deactivate_unknown 1 C mfa deactivate --serial GAHT99999999
expect mfa.list_deactivated 0 C mfa list --account alice --json
pycheck mfa.list_deactivated_json "$WORK/out" \
    '[(d["enabled"], d["principal"], d["enable_date"]) for d in j if d["serial"] == "GAHT00000002"] == [(False, None, None)]'
expect mfa.resync_deactivated 1 C mfa resync --serial GAHT00000002 123456 234567
expect mfa.delete 0 C mfa delete --serial GAHT00000002
expect mfa.delete_again 1 C mfa delete --serial GAHT00000002
expect mfa.list_after_delete 0 C mfa list --account alice
lacks mfa.deleted_not_listed GAHT00000002 "$WORK/out"
expect user.delete_with_device 1 C user delete --account alice bob && has user.delete_with_device_msg "MFA device"
expect mfa.deactivate_user_devices 0 C mfa deactivate --serial "$USERIAL"
expect mfa.deactivate_user_hw 0 C mfa deactivate --serial GAHT00000006

# ---- buckets through the server; MFA delete on with the CLI-enrolled root device
B1=coffer-cli-mfa-$RANDOM
B2=coffer-cli-plain-$RANDOM
expect bucket.create_1 0 AWSS "$ROOT_AK" "$ROOT_SK" s3api create-bucket --bucket "$B1"
expect bucket.create_2 0 AWSS "$BOB_AK" "$BOB_SK" s3api create-bucket --bucket "$B2"
expect bucket.list_count_zero 0 C bucket list
has bucket.list_count_zero_line "MFADeleteEnabledBucketCount: 0 of DistinctNumberOfBuckets: 2 (0%)"
fresh_step
MCODE=$(code_at "$SEED" $(($(date +%s) + 30))) # the step after the one burned at enrolment
echo "$MCODE" >>"$CODES"
expect bucket.mfa_delete_on 0 AWSS "$ROOT_AK" "$ROOT_SK" s3api put-bucket-versioning --bucket "$B1" \
    --versioning-configuration Status=Enabled,MFADelete=Enabled --mfa "$SERIAL $MCODE"
expect bucket.list 0 C bucket list
has bucket.list_count_line "MFADeleteEnabledBucketCount: 1 of DistinctNumberOfBuckets: 2 (50%)"
grep -F "$B1" "$WORK/out" >"$WORK/b1line"
has bucket.list_b1_enabled "Enabled    Enabled" "$WORK/b1line"
expect bucket.list_json 0 C bucket list --json
pycheck bucket.list_json_id12 "$WORK/out" 'all(re.fullmatch(r"\d{12}", b["owner_account_id"]) for b in j["buckets"])'
pycheck bucket.list_json_counts "$WORK/out" \
    'j["mfa_delete_enabled_bucket_count"] == 1 and j["distinct_number_of_buckets"] == 2 and len(j["buckets"]) == 2'
pycheck bucket.list_json_b1 "$WORK/out" \
    '[(b["versioning"], b["mfa_delete"]) for b in j["buckets"] if b["name"] == "'"$B1"'"] == [("Enabled", "Enabled")]'

# Deactivating the last enabled root device of an account with an MFA-delete bucket warns.
expect mfa.deactivate_other_root 0 C mfa deactivate --serial "arn:aws:iam::$PADDED:mfa/retry-mfa"
lacks mfa.deactivate_warns_not_yet "warning" "$WORK/err"
expect mfa.deactivate_hw 0 C mfa deactivate --serial "$HSER"
expect mfa.deactivate_qr 0 C mfa deactivate --serial "arn:aws:iam::$PADDED:mfa/qr-mfa"
expect mfa.deactivate_last_root 0 C mfa deactivate --serial "$SERIAL"
has mfa.deactivate_last_root_warns "warning: account:alice has 1 bucket(s) with MFA delete enabled"
expect user.delete_after_deactivate 0 C user delete --account alice bob

# ---- the audit log
expect audit.text 0 C audit
cp "$WORK/out" "$WORK/audit.txt"
has audit.header "PRINCIPAL" "$WORK/audit.txt"
grep -F "mfa.enrolled" "$WORK/audit.txt" | grep -F "$SERIAL" >"$WORK/a_enr"
has audit.enrolled_root "account:alice" "$WORK/a_enr"
has audit.enrolled_source_cli " cli " "$WORK/a_enr"
grep -F "mfa.enrolled" "$WORK/audit.txt" | grep -F "$USERIAL" >"$WORK/a_enr_u"
has audit.enrolled_user "account:alice/user:bob" "$WORK/a_enr_u"
grep -F "mfa.deactivated" "$WORK/audit.txt" | grep -F "$SERIAL" >"$WORK/a_deact"
has audit.deactivated_root "account:alice" "$WORK/a_deact"
has audit.enroll_failed "mfa.enroll_failed" "$WORK/audit.txt"
has audit.resynced "mfa.resynced" "$WORK/audit.txt"
has audit.resync_failed "mfa.resync_failed" "$WORK/audit.txt"
has audit.deleted "mfa.deleted" "$WORK/audit.txt"
grep -F "$B1" "$WORK/audit.txt" >"$WORK/a_b1"
has audit.server_toggle_source "127.0.0.1" "$WORK/a_b1"
expect audit.json 0 C audit --json
cp "$WORK/out" "$WORK/audit.json"
pycheck audit.json_ordered "$WORK/audit.json" \
    'len(j) >= 10 and [e["id"] for e in j] == sorted(e["id"] for e in j) and all(e["time"].endswith("Z") for e in j)'
pycheck audit.json_fields "$WORK/audit.json" \
    'all(set(e) >= {"time","event","principal","bucket","key","version_id","source","detail"} for e in j)'
# Never a code this script sent, nor a seed (a code as a whole 6-digit token: serials hold longer
# digit runs, and those are not codes).
sort -u "$CODES" >"$WORK/codes_u"
leak=
while read -r code; do
    if grep -Eq "(^|[^0-9])$code([^0-9]|\$)" "$WORK/audit.txt" "$WORK/audit.json"; then leak="$leak $code"; fi
done <"$WORK/codes_u"
if [ -z "$leak" ] && [ "$(wc -l <"$WORK/codes_u")" -ge 10 ]; then
    record PASS audit.no_codes
else
    record FAIL audit.no_codes
    echo "    codes found in the audit log:$leak ($(wc -l <"$WORK/codes_u") codes sent)"
fi
for s in "$SEED" "$BADSEED" "$QSEED" "$USEED" "$HSEED" "$H2SEED" "$F7SEED"; do
    lacks "audit.no_seed_${s:0:6}" "$s" "$WORK/audit.txt" "$WORK/audit.json"
done
FIRST=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["id"])' "$WORK/audit.json")
LAST=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[-1]["id"])' "$WORK/audit.json")
expect audit.limit 0 C audit --limit 2 --json
pycheck audit.limit_two_oldest "$WORK/out" '[e["id"] for e in j] == [e["id"] for e in json.load(open("'"$WORK/audit.json"'"))][:2]'
expect audit.since 0 C audit --since "$FIRST" --json
pycheck audit.since_skips_first "$WORK/out" 'len(j) >= 1 and j[0]["id"] > '"$FIRST"
expect audit.since_last 0 C audit --since "$LAST" --json
pycheck audit.since_last_empty "$WORK/out" 'j == []'
expect audit.since_last_text 0 C audit --since "$LAST"
[ "$(wc -l <"$WORK/out")" = 1 ] && record PASS audit.since_last_header_only || record FAIL audit.since_last_header_only
expect audit.bad_since 1 C audit --since abc
expect audit.bad_limit 1 C audit --limit 0

# ---- stale multipart uploads: list (text, JSON, filters) and abort (by id, by age and bucket)
# Parts are blob files DIR/blobs/XX/ID (store/blob.c); this server holds no other data, so the
# count of those files tells whether an abort deleted the parts.
nblobs() { find "$D/blobs" -type f | wc -l; }
# numis NAME ACTUAL OP WANT: a numeric comparison as a check.
numis() {
    if [ "$2" "$3" "$4" ] 2>/dev/null; then
        record PASS "$1"
    else
        record FAIL "$1"
        echo "    not true: $2 $3 $4"
    fi
}
UB1=coffer-cli-mpu-$RANDOM
UB2=coffer-cli-mpu2-$RANDOM
UKEY=$'stale/tab\tkey' # a control character: listed escaped, as object keys elsewhere
P5=$((5 * 1024 * 1024))
P1=$((1024 * 1024 + 7))
head -c $P5 /dev/urandom >"$WORK/part5"
head -c $P1 /dev/urandom >"$WORK/part1"
expect upload.create_bucket_1 0 AWSS "$ROOT_AK" "$ROOT_SK" s3api create-bucket --bucket "$UB1"
expect upload.create_bucket_2 0 AWSS "$ROOT_AK" "$ROOT_SK" s3api create-bucket --bucket "$UB2"
expect upload.list_empty 0 C upload list --json && pycheck upload.list_empty_json "$WORK/out" 'j == []'
BLOBS0=$(nblobs)
expect upload.mpu1_create 0 AWSS "$ROOT_AK" "$ROOT_SK" s3api create-multipart-upload --bucket "$UB1" \
    --key "$UKEY" --output json
UID1=$(J "$WORK/out" UploadId)
expect upload.mpu1_part1 0 AWSS "$ROOT_AK" "$ROOT_SK" s3api upload-part --bucket "$UB1" --key "$UKEY" \
    --upload-id "$UID1" --part-number 1 --body "$WORK/part5"
expect upload.mpu1_part2 0 AWSS "$ROOT_AK" "$ROOT_SK" s3api upload-part --bucket "$UB1" --key "$UKEY" \
    --upload-id "$UID1" --part-number 2 --body "$WORK/part1"
numis upload.mpu1_two_part_files "$(nblobs)" -eq $((BLOBS0 + 2))

expect upload.list 0 C upload list
cp "$WORK/out" "$WORK/up.txt"
has upload.list_header "UPLOAD_ID" "$WORK/up.txt"
grep -F "$UID1" "$WORK/up.txt" >"$WORK/up1line"
has upload.list_bucket "$UB1 " "$WORK/up1line"
has upload.list_key_escaped 'stale/tab\x09key' "$WORK/up1line"
lacks upload.list_no_raw_tab $'\t' "$WORK/up.txt"
has upload.list_account " alice " "$WORK/up1line"
has upload.list_parts_bytes " 2 $((P5 + P1))" "$WORK/up1line"
if grep -Eq ' [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z +[0-9]+s ' "$WORK/up1line"; then
    record PASS upload.list_initiated_and_age
else
    record FAIL upload.list_initiated_and_age
    sed 's/^/    /' "$WORK/up1line"
fi
expect upload.list_json 0 C upload list --json
pycheck upload.list_json_row "$WORK/out" \
    '[(u["bucket"], u["key"], u["parts"], u["bytes"], u["account"]) for u in j if u["upload_id"] == "'"$UID1"'"] == [("'"$UB1"'", "stale/tab\tkey", 2, '$((P5 + P1))', "alice")]'
pycheck upload.list_json_keys "$WORK/out" \
    'len(j) == 1 and set(j[0]) == {"bucket", "key", "upload_id", "initiated", "parts", "bytes", "account"} and j[0]["initiated"].endswith("Z")'
expect upload.list_older_1h 0 C upload list --older-than 1h --json
pycheck upload.list_older_1h_hides "$WORK/out" 'j == []'
expect upload.list_older_3600 0 C upload list --older-than 3600 --json
pycheck upload.list_older_plain_seconds_hides "$WORK/out" 'j == []'
expect upload.list_older_0s 0 C upload list --older-than 0s --json
pycheck upload.list_older_0s_shows "$WORK/out" '[u["upload_id"] for u in j] == ["'"$UID1"'"]'
sleep 2
expect upload.list_older_1s 0 C upload list --older-than 1s && has upload.list_older_1s_shows "$UID1"
expect upload.list_other_bucket 0 C upload list --bucket "$UB2" --json
pycheck upload.list_other_bucket_empty "$WORK/out" 'j == []'
expect upload.list_this_bucket 0 C upload list --bucket "$UB1" --json
pycheck upload.list_this_bucket_shows "$WORK/out" '[u["upload_id"] for u in j] == ["'"$UID1"'"]'
expect upload.list_no_bucket 1 C upload list --bucket no-such-bucket-here && has upload.list_no_bucket_msg "no such bucket"
for d in 1.5h -1s 5x 1w h "" " 5s" 5S 99999999999999999999d 200000000000000d; do
    n=${d:-empty}
    n=${n// /_}
    expect "upload.bad_duration_$n" 1 C upload list --older-than "$d" &&
        has "upload.bad_duration_${n}_msg" "--older-than needs a duration"
done
expect upload.abort_bad_duration 1 C upload abort --older-than 7days

# A second upload in each bucket, one part each.
expect upload.mpu2_create 0 AWSS "$ROOT_AK" "$ROOT_SK" s3api create-multipart-upload --bucket "$UB2" \
    --key other --output json
UID2=$(J "$WORK/out" UploadId)
expect upload.mpu2_part 0 AWSS "$ROOT_AK" "$ROOT_SK" s3api upload-part --bucket "$UB2" --key other \
    --upload-id "$UID2" --part-number 1 --body "$WORK/part1"
expect upload.mpu3_create 0 AWSS "$ROOT_AK" "$ROOT_SK" s3api create-multipart-upload --bucket "$UB1" \
    --key third --output json
UID3=$(J "$WORK/out" UploadId)
expect upload.mpu3_part 0 AWSS "$ROOT_AK" "$ROOT_SK" s3api upload-part --bucket "$UB1" --key third \
    --upload-id "$UID3" --part-number 1 --body "$WORK/part5"
numis upload.four_part_files "$(nblobs)" -eq $((BLOBS0 + 4))
expect upload.list_three 0 C upload list --json
pycheck upload.list_three_oldest_first "$WORK/out" \
    '[u["upload_id"] for u in j] == ["'"$UID1"'", "'"$UID2"'", "'"$UID3"'"]'

# Argument errors: exactly one of --upload-id / --older-than; unknown ids.
expect upload.abort_neither 1 C upload abort && has upload.abort_neither_msg "exactly one of"
expect upload.abort_both 1 C upload abort --upload-id "$UID1" --older-than 0s &&
    has upload.abort_both_msg "exactly one of"
expect upload.abort_only_bucket 1 C upload abort --bucket "$UB1"
expect upload.abort_unknown_id 1 C upload abort --upload-id no-such-upload-id && has upload.abort_unknown_id_msg "no such upload"
expect upload.abort_empty_id 1 C upload abort --upload-id ""
expect upload.abort_long_id 1 C upload abort --upload-id "$(printf 'x%.0s' $(seq 1 100))"
expect upload.abort_id_wrong_bucket 1 C upload abort --upload-id "$UID1" --bucket "$UB2" &&
    has upload.abort_id_wrong_bucket_msg "not in bucket"
expect upload.abort_no_bucket 1 C upload abort --older-than 0s --bucket no-such-bucket-here
expect upload.after_errors_all_there 0 C upload list --json
pycheck upload.after_errors_all_there_json "$WORK/out" 'len(j) == 3'
numis upload.after_errors_files_kept "$(nblobs)" -eq $((BLOBS0 + 4))

# By age and bucket: too young, then UB2's only.
expect upload.abort_older_1h 0 C upload abort --older-than 1h --bucket "$UB2" &&
    has upload.abort_older_1h_none "aborted 0 uploads, freed 0 bytes"
expect upload.abort_older_bucket 0 C upload abort --older-than 0s --bucket "$UB2" &&
    has upload.abort_older_bucket_msg "aborted 1 upload, freed $P1 bytes"
expect upload.list_after_bucket_abort 0 C upload list --json
pycheck upload.bucket_abort_kept_others "$WORK/out" \
    'sorted(u["upload_id"] for u in j) == sorted(["'"$UID1"'", "'"$UID3"'"])'
numis upload.bucket_abort_part_file_gone "$(nblobs)" -le $((BLOBS0 + 3))
expect upload.server_list_ub2 0 AWSS "$ROOT_AK" "$ROOT_SK" s3api list-multipart-uploads --bucket "$UB2" --output json
lacks upload.server_ub2_gone "$UID2" "$WORK/out"

# By id: the server no longer knows it, its part files are gone.
expect upload.abort_id 0 C upload abort --upload-id "$UID1" &&
    has upload.abort_id_msg "aborted 1 upload, freed $((P5 + P1)) bytes"
expect upload.server_list_ub1 0 AWSS "$ROOT_AK" "$ROOT_SK" s3api list-multipart-uploads --bucket "$UB1" --output json
lacks upload.server_ub1_id_gone "$UID1" "$WORK/out"
has upload.server_ub1_other_kept "$UID3" "$WORK/out"
check_fails upload.server_list_parts_nosuchupload NoSuchUpload AWSS "$ROOT_AK" "$ROOT_SK" s3api list-parts \
    --bucket "$UB1" --key "$UKEY" --upload-id "$UID1"
numis upload.abort_id_part_files_gone "$(nblobs)" -le $((BLOBS0 + 1))
expect upload.abort_id_again 1 C upload abort --upload-id "$UID1" && has upload.abort_id_again_msg "no such upload"

# Everything left, any bucket: back to the file count before the first upload.
expect upload.abort_all 0 C upload abort --older-than 0 && has upload.abort_all_msg "aborted 1 upload, freed $P5 bytes"
numis upload.abort_all_files_gone "$(nblobs)" -le "$BLOBS0"
expect upload.list_after_all 0 C upload list --json && pycheck upload.list_after_all_empty "$WORK/out" 'j == []'
expect upload.server_list_after_all 0 AWSS "$ROOT_AK" "$ROOT_SK" s3api list-multipart-uploads --bucket "$UB1" --output json
lacks upload.server_after_all_gone "$UID3" "$WORK/out"
expect upload.server_still_writes 0 AWSS "$ROOT_AK" "$ROOT_SK" s3api put-object --bucket "$UB1" --key after \
    --body "$WORK/part1"

# Many parts and many uploads (boto3: the aws CLI would take minutes): the parts are counted
# across pages, 2100 part files leave the trash in three batches, 1001 uploads are read in two
# pages and aborted in many writes.
BLOBS1=$(nblobs)
if "$PY" - "$ROOT_AK" "$ROOT_SK" "$TP" "$MYCA" "$UB2" >"$WORK/many.out" 2>&1 <<'EOF'
import sys
import boto3
from botocore.config import Config
ak, sk, port, ca, bucket = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url="https://127.0.0.1:" + port, verify=ca, aws_access_key_id=ak,
                  aws_secret_access_key=sk, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
u = s3.create_multipart_upload(Bucket=bucket, Key="many-parts")["UploadId"]
for i in range(1, 2101):
    s3.upload_part(Bucket=bucket, Key="many-parts", UploadId=u, PartNumber=i, Body=b"x" * 100)
for i in range(1001):
    s3.create_multipart_upload(Bucket=bucket, Key="empty/%04d" % i)
print(u)
EOF
then
    record PASS upload.many_setup
else
    record FAIL upload.many_setup
    tail -n 5 "$WORK/many.out" | sed 's/^/    /'
fi
UIDM=$(tail -n 1 "$WORK/many.out")
numis upload.many_part_files "$(nblobs)" -eq $((BLOBS1 + 2100))
expect upload.many_list_json 0 C upload list --bucket "$UB2" --json
pycheck upload.many_list_json_rows "$WORK/out" \
    'len(j) == 1002 and [(u["parts"], u["bytes"]) for u in j if u["upload_id"] == "'"$UIDM"'"] == [(2100, 210000)]'
expect upload.many_list_text 0 C upload list
numis upload.many_list_text_lines "$(wc -l <"$WORK/out")" -eq 1003
# Alone, so that no later write takes the rest of the trash on the way.
expect upload.many_parts_abort 0 C upload abort --upload-id "$UIDM" &&
    has upload.many_parts_abort_msg "aborted 1 upload, freed 210000 bytes"
# cofferd's reaper may have taken part of the trash first and still be unlinking its batch.
for _ in $(seq 1 100); do [ "$(nblobs)" -le "$BLOBS1" ] && break; sleep 0.1; done
numis upload.many_part_files_gone "$(nblobs)" -le "$BLOBS1"
expect upload.many_abort 0 C upload abort --older-than 0s --bucket "$UB2" &&
    has upload.many_abort_msg "aborted 1001 uploads, freed 0 bytes"
expect upload.many_list_after 0 C upload list --json && pycheck upload.many_list_after_empty "$WORK/out" 'j == []'

# ---- internal errors exit 2: a data dir whose meta.db is not a database
mkdir -p "$WORK/junk"
head -c 8192 /dev/urandom >"$WORK/junk/meta.db"
expect exit.internal_error 2 "$BIN/coffer" --data "$WORK/junk" mfa list

if grep -q 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer' "$WORK/cofferd.log"; then
    record FAIL server.sanitizer_clean
fi
exit 0
