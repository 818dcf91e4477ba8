#!/usr/bin/env bash
# End-to-end tests: start cofferd on free loopback ports with a temp data dir, create an
# account, run the Python (boto3/raw HTTP) modules, the CLI scripts (aws, s3cmd, rclone), the
# crash and drain tests (each with its own server), then SIGTERM our cofferd and check that it
# exits 0. The last line is `N passed, N failed`.
#
#   BIN=bin bash tests/e2e/run.sh            # everything
#   E2E_ONLY=Range BIN=bin bash tests/e2e/run.sh    # python tests whose id contains "Range"
#   E2E_SKIP_SLOW=1 ...                      # skip crash/drain tests
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${BIN:-bin}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
PY=${PYTHON:-python3}
MODULE_TIMEOUT=${E2E_MODULE_TIMEOUT:-180} # seconds per python module
# The machine's own AWS settings (e.g. AWS_CA_BUNDLE) must not leak into the clients under test.
for v in $(env | sed -n 's/^\(AWS_[A-Z_]*\)=.*/\1/p; s/^\(RCLONE_[A-Z_]*\)=.*/\1/p'); do
    unset "$v"
done
export E2E_BIN=$BIN
# The FAULT build (make fault) for fault_test.py, which skips with a message without it.
FAULT_BIN=${FAULT_BIN:-$BIN-fault}
case $FAULT_BIN in /*) ;; *) FAULT_BIN=$ROOT/$FAULT_BIN ;; esac
export E2E_FAULT_BIN=$FAULT_BIN

TMP=$(mktemp -d /tmp/coffer-e2e.XXXXXX)
RESULTS=$TMP/results
: >"$RESULTS"
export E2E_RESULTS=$RESULTS
SERVER_PID=
SERVER2_PID=
LB_PID=
CLI_PORTS=() # the CLI scripts' E2E_HTTP_PORT and E2E_TLS_PORT: haproxy's, with two gateways
T0=$(date +%s)

section_t0=$(date +%s)
section() { # name: print how long the previous section took, start the next
    local now
    now=$(date +%s)
    echo "==== $1   (previous section $((now - section_t0))s, total $((now - T0))s)"
    section_t0=$now
}

result() { # PASS|FAIL name
    echo "$1 $2" >>"$RESULTS"
    echo "$1 $2"
}

finish() {
    local pass fail skip
    pass=$(grep -c '^PASS ' "$RESULTS")
    fail=$(grep -c '^FAIL ' "$RESULTS")
    skip=$(grep -c '^SKIP ' "$RESULTS")
    if [ "$fail" -gt 0 ]; then
        echo "---- failed:"
        grep '^FAIL ' "$RESULTS" | sed 's/^/  /'
    fi
    echo "---- e2e took $(($(date +%s) - T0))s"
    for pid in $SERVER_PID $SERVER2_PID $LB_PID; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
    done
    rm -rf "$TMP"
    [ "$skip" -gt 0 ] && echo "($skip skipped)"
    echo "$pass passed, $fail failed"
    # An explicit status: a bare `exit` in an EXIT trap keeps the status the script had
    # before the trap (0 after a normal end), so failures would never fail the run.
    [ "$fail" -eq 0 ] && exit 0
    exit 1
}
trap 'finish' EXIT
trap 'exit 130' INT TERM

for b in cofferd coffer; do
    if [ ! -x "$BIN/$b" ]; then
        echo "missing $BIN/$b (run make first)"
        result FAIL "setup.binaries"
        exit 1
    fi
done

free_ports() { # two free loopback ports, on one line
    $PY -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])'
}
read -r HTTP_PORT TLS_PORT < <(free_ports)
DATA=$TMP/data
mkdir -p "$DATA"
LOG=$TMP/cofferd.log
export E2E_DATA=$DATA E2E_HTTP_PORT=$HTTP_PORT E2E_TLS_PORT=$TLS_PORT E2E_DOMAIN=localhost

# E2E_META_PG=postgresql://USER@HOST:PORT/ (scripts/pg.sh env): the metadata of every store the
# suite makes is in a fresh PostgreSQL database, named in DIR/cofferd.conf (lib.use_pg_meta);
# with E2E_BLOBS_RADOS=rados://POOL?conf=FILE too, its object data in a namespace of that pool.
META_ARGS=()
if [ -n "${E2E_META_PG:-}" ]; then
    read -ra META_ARGS < <(cd "$HERE" && $PY -c 'import lib, sys; print(*lib.use_pg_meta(sys.argv[1]))' "$DATA") ||
        { result FAIL "setup.pg_database"; exit 1; }
    echo "metadata in PostgreSQL: $(grep '^meta' "$DATA/cofferd.conf")"
    grep '^blobs' "$DATA/cofferd.conf" | sed 's/^blobs = /object data in /'
fi

"$BIN/cofferd" --data "$DATA" --listen "127.0.0.1:$HTTP_PORT" \
    --tls-listen "127.0.0.1:$TLS_PORT" --domain localhost --reclaim-grace 0 "${META_ARGS[@]}" >"$LOG" 2>&1 </dev/null &
SERVER_PID=$!

port_up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ready=0
for _ in $(seq 1 300); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    if port_up "$HTTP_PORT" && port_up "$TLS_PORT" && [ -s "$DATA/tls/cert.pem" ]; then
        ready=1
        break
    fi
    sleep 0.1
done
if [ $ready -ne 1 ]; then
    echo "cofferd did not become ready; log:"
    tail -n 40 "$LOG"
    result FAIL "setup.server_ready"
    exit 1
fi
result PASS "setup.server_ready"

# The PostgreSQL run adds a second gateway on the same store (the same database, object data in
# the first one's DIR/blobs or the same RADOS namespace, its master key and TLS certificate, a
# data directory of its own):
# lib.client() then sends every other boto3 request to it (E2E_HTTP_PORT2, E2E_TLS_PORT2).
if [ -n "${E2E_META_PG:-}" ] && [ "${E2E_GATEWAYS:-2}" = 2 ]; then
    read -r HTTP_PORT2 TLS_PORT2 < <(free_ports)
    mkdir -p "$TMP/data2"
    BLOBS2=(--blobs "file:$DATA/blobs") # unless the store's data is in RADOS (lib.use_pg_meta)
    grep -q '^blobs' "$DATA/cofferd.conf" && BLOBS2=()
    "$BIN/cofferd" --data "$TMP/data2" --config "$DATA/cofferd.conf" "${BLOBS2[@]}" \
        --master-key "$DATA/master.key" --tls-cert "$DATA/tls/cert.pem" --tls-key "$DATA/tls/key.pem" \
        --listen "127.0.0.1:$HTTP_PORT2" --tls-listen "127.0.0.1:$TLS_PORT2" --domain localhost \
        --reclaim-grace 0 >"$TMP/cofferd2.log" 2>&1 </dev/null &
    SERVER2_PID=$!
    ready=0
    for _ in $(seq 1 300); do
        if ! kill -0 "$SERVER2_PID" 2>/dev/null; then break; fi
        if port_up "$HTTP_PORT2" && port_up "$TLS_PORT2"; then
            ready=1
            break
        fi
        sleep 0.1
    done
    if [ $ready -ne 1 ]; then
        echo "the second gateway did not become ready; log:"
        tail -n 40 "$TMP/cofferd2.log"
        result FAIL "setup.second_gateway_ready"
        exit 1
    fi
    export E2E_HTTP_PORT2=$HTTP_PORT2 E2E_TLS_PORT2=$TLS_PORT2
    result PASS "setup.second_gateway_ready"
fi

if ! ACCT=$("$BIN/coffer" --data "$DATA" account create e2e-main --json 2>"$TMP/coffer.err"); then
    echo "coffer account create failed:"; cat "$TMP/coffer.err"
    result FAIL "setup.account_create"
    exit 1
fi
eval "$($PY -c '
import json, shlex, sys
j = json.loads(sys.argv[1])
for k, n in (("account_id", "E2E_ACCOUNT_ID"), ("access_key_id", "E2E_AK"),
             ("secret_access_key", "E2E_SK")):
    if j.get(k) in (None, ""):
        sys.exit("account create: no %s in %r" % (k, j))
    print("export %s=%s" % (n, shlex.quote(str(j[k]))))
' "$ACCT")" || { result FAIL "setup.account_json"; exit 1; }
result PASS "setup.account_create"

# Python modules, one process each (a hang or crash costs one module, not the run).
for m in "$HERE"/test_*.py; do
    section "$(basename "$m")"
    (cd "$HERE" && E2E_STACK_DUMP_AFTER=$((MODULE_TIMEOUT - 10)) timeout -k 10 $MODULE_TIMEOUT $PY runner.py "$(basename "$m")")
    rc=$?
    if [ $rc -ge 124 ]; then
        result FAIL "$(basename "$m" .py).timeout_or_crash_rc$rc"
    fi
done

# With the second gateway, the CLI clients go through haproxy (Debian package haproxy), which
# alternates between the two gateways: plain HTTP request by request, HTTPS (passed through,
# so each gateway still sees TLS) connection by connection, and every CLI command makes its
# own. Its configuration and log are in $TMP.
if [ -z "${E2E_ONLY:-}" ] && [ -n "$SERVER2_PID" ] && command -v haproxy >/dev/null; then
    read -r LB_HTTP LB_TLS < <(free_ports)
    cat >"$TMP/haproxy.cfg" <<EOF
defaults
    timeout connect 5s
    timeout client 300s
    timeout server 300s
frontend plain
    mode http
    option http-server-close
    bind 127.0.0.1:$LB_HTTP
    default_backend plain
backend plain
    mode http
    balance roundrobin
    server gw1 127.0.0.1:$HTTP_PORT
    server gw2 127.0.0.1:$HTTP_PORT2
frontend tls
    mode tcp
    bind 127.0.0.1:$LB_TLS
    default_backend tls
backend tls
    mode tcp
    balance roundrobin
    server gw1 127.0.0.1:$TLS_PORT
    server gw2 127.0.0.1:$TLS_PORT2
EOF
    cli_served0=$(grep -c '"status":' "$TMP/cofferd2.log")
    haproxy -db -f "$TMP/haproxy.cfg" </dev/null >"$TMP/haproxy.log" 2>&1 &
    LB_PID=$!
    for _ in $(seq 1 100); do port_up "$LB_HTTP" && port_up "$LB_TLS" && break; sleep 0.1; done
    if port_up "$LB_HTTP" && port_up "$LB_TLS"; then
        result PASS "setup.haproxy_for_cli"
        CLI_PORTS=(E2E_HTTP_PORT="$LB_HTTP" E2E_TLS_PORT="$LB_TLS")
    else
        cat "$TMP/haproxy.log"
        result FAIL "setup.haproxy_for_cli"
    fi
fi

# CLI clients
if [ -z "${E2E_ONLY:-}" ]; then
    for s in "$HERE"/cli/*.sh; do
        [ "$(basename "$s")" = common.sh ] && continue
        section "cli/$(basename "$s")"
        env "${CLI_PORTS[@]}" timeout -k 10 240 bash "$s"
        rc=$?
        if [ $rc -ge 124 ]; then
            result FAIL "cli.$(basename "$s" .sh).timeout_rc$rc"
        fi
    done
fi

section "stop"
if [ -n "$LB_PID" ]; then
    n2=$(($(grep -c '"status":' "$TMP/cofferd2.log") - cli_served0))
    echo "through haproxy, the second gateway served $n2 CLI requests"
    [ "$n2" -gt 0 ] && result PASS "server2.served_cli_requests" || result FAIL "server2.served_cli_requests"
    kill -TERM "$LB_PID"
    wait "$LB_PID" 2>/dev/null
    LB_PID=
fi
if [ -n "$SERVER2_PID" ]; then
    # Half of the boto3 requests went to it (its access log: one JSON line a request).
    n2=$(grep -c '"status":' "$TMP/cofferd2.log")
    echo "the second gateway served $n2 requests"
    if [ -z "${E2E_ONLY:-}" ]; then
        [ "$n2" -gt 0 ] && result PASS "server2.served_requests" || result FAIL "server2.served_requests"
    fi
    if kill -0 "$SERVER2_PID" 2>/dev/null; then
        result PASS "server2.alive_after_suite"
        kill -TERM "$SERVER2_PID"
        wait "$SERVER2_PID"
        rc=$?
        [ "$rc" = 0 ] && result PASS "server2.sigterm_exit_0" || result FAIL "server2.sigterm_exit_0"
    else
        wait "$SERVER2_PID"
        echo "the second gateway died during the suite (status $?); log tail:"
        tail -n 40 "$TMP/cofferd2.log"
        result FAIL "server2.alive_after_suite"
    fi
    SERVER2_PID=
fi
# Our server must still be alive, then drain cleanly on SIGTERM.
if kill -0 "$SERVER_PID" 2>/dev/null; then
    result PASS "server.alive_after_suite"
else
    wait "$SERVER_PID"
    echo "cofferd died during the suite (status $?); log tail:"
    tail -n 40 "$LOG"
    result FAIL "server.alive_after_suite"
    SERVER_PID=
fi
if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID"
    rc=
    for _ in $(seq 1 300); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            wait "$SERVER_PID"
            rc=$?
            break
        fi
        sleep 0.1
    done
    if [ "$rc" = "0" ]; then
        result PASS "server.sigterm_exit_0"
    else
        echo "cofferd after SIGTERM: status '${rc:-still running after 30s}'; log tail:"
        tail -n 20 "$LOG"
        result FAIL "server.sigterm_exit_0"
    fi
    SERVER_PID=
fi
if grep -q 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer' "$LOG"; then
    echo "sanitizer report in cofferd log:"
    grep -A 30 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer' "$LOG" | head -80
    result FAIL "server.sanitizer_clean"
fi

# Tests with their own servers, short ones first: injected faults (the FAULT build) and a real
# full disk (root and a loop device); each skips with a message when it cannot run.
if [ -z "${E2E_ONLY:-}" ]; then
    for t in fault_test.py diskfull_test.py; do
        section "$t"
        if [ -n "${E2E_META_PG:-}" ]; then
            # Their faults and full disks hit SQLite's files (the FAULT build's md.* sites).
            result SKIP "$(basename "$t" .py) (the embedded store's faults)"
            continue
        fi
        (cd "$HERE" && E2E_TMP=$TMP timeout -k 10 120 $PY runner.py "$t")
        rc=$?
        if [ $rc -ge 124 ]; then
            result FAIL "$(basename "$t" .py).timeout_or_crash_rc$rc"
        fi
    done
fi

# Tests with their own servers
if [ -z "${E2E_ONLY:-}" ] && [ -z "${E2E_SKIP_SLOW:-}" ]; then
    for t in drain_test.py crash_test.py crash_multipart_test.py crash_mfa_test.py \
        crash_delete_objects_test.py crash_lifecycle_test.py; do
        section "$t"
        (cd "$HERE" && E2E_TMP=$TMP E2E_STACK_DUMP_AFTER=225 timeout -k 10 240 $PY runner.py "$t")
        rc=$?
        if [ $rc -ge 124 ]; then
            result FAIL "$(basename "$t" .py).timeout_or_crash_rc$rc"
        fi
    done
fi
exit 0
