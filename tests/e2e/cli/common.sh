# Sourced by the cli/*.sh scripts. Needs E2E_HTTP_PORT, E2E_TLS_PORT, E2E_DATA, E2E_AK, E2E_SK,
# E2E_RESULTS from run.sh. Each check is one `check NAME CMD...`: PASS/FAIL line, output of a
# failing command shown indented.
set -u
for v in $(env | sed -n 's/^\(AWS_[A-Z_]*\)=.*/\1/p; s/^\(RCLONE_[A-Z_]*\)=.*/\1/p'); do
    unset "$v"
done
CLI_NAME=${CLI_NAME:-cli}
HTTP_EP=http://127.0.0.1:$E2E_HTTP_PORT
HTTPS_EP=https://127.0.0.1:$E2E_TLS_PORT
CA=$E2E_DATA/tls/cert.pem
WORK=$(mktemp -d /tmp/coffer-cli.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

record() { # PASS|FAIL name
    echo "$1 $CLI_NAME.$2"
    echo "$1 $CLI_NAME.$2" >>"$E2E_RESULTS"
}

check() { # name cmd...
    local name=$1
    shift
    local out
    if out=$("$@" 2>&1); then
        record PASS "$name"
    else
        record FAIL "$name"
        echo "    \$ $*"
        printf '%s\n' "$out" | tail -n 15 | sed 's/^/    /'
    fi
}

check_fails() { # name expected-substring cmd...: cmd must fail and print the substring
    local name=$1 want=$2
    shift 2
    local out
    if out=$("$@" 2>&1); then
        record FAIL "$name"
        echo "    unexpected success: \$ $*"
        printf '%s\n' "$out" | tail -n 5 | sed 's/^/    /'
    elif printf '%s' "$out" | grep -q -- "$want"; then
        record PASS "$name"
    else
        record FAIL "$name"
        echo "    expected '$want' in output of: \$ $*"
        printf '%s\n' "$out" | tail -n 10 | sed 's/^/    /'
    fi
}

same_file() { cmp "$1" "$2"; }

same_tree() { diff -r "$1" "$2"; }

rand_bucket() { echo "e2e-$1-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"; }

# A small tree of files: empty, small, odd names, nested dirs, one 300 KiB file.
make_tree() {
    local d=$1
    mkdir -p "$d/sub/deeper" "$d/with space"
    : >"$d/empty.txt"
    echo "hello" >"$d/hello.txt"
    printf 'unicode\n' >"$d/ünïcødé.txt"
    printf 'plus\n' >"$d/a+b.txt"
    head -c 307200 /dev/urandom >"$d/sub/blob.bin"
    head -c 5000 /dev/urandom >"$d/sub/deeper/five.bin"
    echo "spaced" >"$d/with space/file name.txt"
}
