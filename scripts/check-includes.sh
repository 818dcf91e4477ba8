#!/usr/bin/env bash
# check-includes.sh -- the #include arrows of STYLE.md section 1, checked.
#
# Layers, lowest first; a directory may include its own files, the top-level
# headers (common.h, bounds.h) and any directory of a lower tier:
#   util -> crypto net -> http xml -> store -> core auth iam -> s3 -> admin
# One edge inside a tier is allowed: iam -> auth (IAM's MFA device actions
# use TOTP and the enrolment QR code). src/main.c may include anything.
#
# Also detects include cycles between modules: src/DIR/NAME.c and
# src/DIR/NAME.h are one node (a header stands for the file that implements
# it), so "a.c includes b.h while b.c includes a.h" is a cycle too. A
# directory's private header (*_int.h, STYLE.md 5.3) is the hub its files
# share: what it includes is not followed, as btreeInt.h including btree.h
# is no cycle.
#
# Usage: scripts/check-includes.sh [SRC_DIR]   (default: src beside this script)
# Prints one line per violation; exit status 1 if there is any, else 0.
set -u

src=${1:-$(cd "$(dirname "$0")/.." && pwd)/src}
cd "$src" || exit 2

tier() {
    case $1 in
    util) echo 0 ;;
    crypto | net) echo 1 ;;
    http | xml) echo 2 ;;
    store) echo 3 ;;
    core | auth | iam) echo 4 ;;
    s3) echo 5 ;;
    admin) echo 6 ;;
    *) echo -1 ;;
    esac
}

# Allowed edges inside one tier, "from:to".
peers=" iam:auth "

bad=0
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT

for f in */*.c */*.h */*.def; do
    [ -e "$f" ] || continue
    dir=${f%%/*}
    from_tier=$(tier "$dir")
    node=${f%.*}
    while IFS=: read -r line inc; do
        case $inc in
        */*) to_dir=${inc%%/*} ;;
        *) # no directory: a top-level header, or a sibling
            [ -e "$inc" ] && continue
            to_dir=$dir
            inc=$dir/$inc
            ;;
        esac
        case $f in
        *_int.h) ;;
        *) echo "$node ${inc%.*}" >>"$edges" ;;
        esac
        [ "$to_dir" = "$dir" ] && continue
        to_tier=$(tier "$to_dir")
        if [ "$from_tier" -lt 0 ] || [ "$to_tier" -lt 0 ]; then
            echo "src/$f:$line: includes \"$inc\": unknown layer"
            bad=1
        elif [ "$to_tier" -gt "$from_tier" ]; then
            echo "src/$f:$line: includes \"$inc\": $dir/ may not include $to_dir/ (upward)"
            bad=1
        elif [ "$to_tier" -eq "$from_tier" ] && [[ $peers != *" $dir:$to_dir "* ]]; then
            echo "src/$f:$line: includes \"$inc\": $dir/ may not include $to_dir/ (same layer)"
            bad=1
        fi
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
        sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1:\2/')
done

# Cycles: tsort names every loop it has to break. A self-edge (NAME.c
# including NAME.h) is no cycle.
loops=$(awk '$1 != $2' "$edges" | sort -u | tsort 2>&1 >/dev/null | sed -n 's/^tsort: //p' |
    sed 's/^-: input contains a loop:/loop:/')
if [ -n "$loops" ]; then
    echo "include cycle(s) between modules (src/DIR/NAME, .c and .h together):"
    echo "$loops" | sed 's/^/  /'
    bad=1
fi

if [ "$bad" -eq 0 ]; then
    echo "check-includes: $(sort -u "$edges" | wc -l) include edges, layering and cycles ok"
fi
exit "$bad"
