#!/usr/bin/env bash
# rclone (s3 backend, provider Other, path style, configured through the environment):
# mkdir, copy, ls, check (MD5 via ETag), sync with deletes, copy back, purge; HTTP and HTTPS.
# --s3-upload-cutoff 8M --s3-chunk-size 5M: the 12 MiB file goes up as a multipart upload.
CLI_NAME=rclone
. "$(dirname "$0")/common.sh"

export RCLONE_CONFIG=$WORK/rclone.conf
: >"$RCLONE_CONFIG"
export RCLONE_CONFIG_C_TYPE=s3 RCLONE_CONFIG_C_PROVIDER=Other
export RCLONE_CONFIG_C_ACCESS_KEY_ID=$E2E_AK RCLONE_CONFIG_C_SECRET_ACCESS_KEY=$E2E_SK
export RCLONE_CONFIG_C_REGION=us-east-1 RCLONE_CONFIG_C_FORCE_PATH_STYLE=true
export RCLONE_CONFIG_C_ENDPOINT=$HTTP_EP
export RCLONE_CONFIG_T_TYPE=s3 RCLONE_CONFIG_T_PROVIDER=Other
export RCLONE_CONFIG_T_ACCESS_KEY_ID=$E2E_AK RCLONE_CONFIG_T_SECRET_ACCESS_KEY=$E2E_SK
export RCLONE_CONFIG_T_REGION=us-east-1 RCLONE_CONFIG_T_FORCE_PATH_STYLE=true
export RCLONE_CONFIG_T_ENDPOINT=$HTTPS_EP
R() { rclone --s3-upload-cutoff 8M --s3-chunk-size 5M --retries 1 --low-level-retries 1 "$@"; }
RT() { R --ca-cert "$CA" "$@"; }

make_tree "$WORK/tree"
head -c $((12 * 1024 * 1024)) /dev/urandom >"$WORK/tree/sub/twelve.bin"

for mode in http https; do
    if [ $mode = http ]; then
        C=R; REM=c; P=""; RC="rclone"
    else
        C=RT; REM=t; P="tls_"; RC="rclone --ca-cert '$CA'"
    fi
    B=$(rand_bucket rclone$mode)
    check ${P}mkdir $C mkdir "$REM:$B"
    check ${P}lsd_shows_bucket sh -c "$RC lsd $REM: | grep -q ' $B\$'"
    check ${P}copy_up $C copy "$WORK/tree" "$REM:$B/tree"
    check ${P}ls_counts sh -c "test \"\$($RC ls '$REM:$B/tree' | wc -l)\" -eq 8"
    check ${P}check_md5 $C check "$WORK/tree" "$REM:$B/tree"
    check ${P}md5sum_matches sh -c "$RC md5sum '$REM:$B/tree' | sort -k2 >'$WORK/r.md5' && (cd '$WORK/tree' && find . -type f -printf '%P\n' | sort | while read -r f; do echo \"\$(md5sum \"\$f\" | cut -d' ' -f1)  \$f\"; done) | sort -k2 | diff - '$WORK/r.md5'"
    check ${P}copy_down_identical sh -c "$RC copy '$REM:$B/tree' '$WORK/back.$mode' && diff -r '$WORK/tree' '$WORK/back.$mode'"
    cp -r "$WORK/tree" "$WORK/tree2.$mode"
    rm "$WORK/tree2.$mode/hello.txt"
    echo "changed" >"$WORK/tree2.$mode/a+b.txt"
    echo "new" >"$WORK/tree2.$mode/sub/new.txt"
    check ${P}sync_changes $C sync "$WORK/tree2.$mode" "$REM:$B/tree"
    check ${P}check_after_sync $C check "$WORK/tree2.$mode" "$REM:$B/tree"
    check ${P}deleted_file_gone sh -c "! $RC ls '$REM:$B/tree/hello.txt' 2>/dev/null | grep -q hello"
    check ${P}cat_changed sh -c "test \"\$($RC cat '$REM:$B/tree/a+b.txt')\" = changed"
    check ${P}lsjson $C lsjson -R "$REM:$B"
    check ${P}purge $C purge "$REM:$B"
    check ${P}purge_gone sh -c "! $RC lsd $REM: | grep -q ' $B\$'"
done
exit 0
