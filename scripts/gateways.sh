#!/usr/bin/env bash
# gateways.sh -- several cofferd gateways on one shared store behind haproxy: the README's
# "Many gateways" example, runnable, and what tests/e2e/test_haproxy.py drives.
#
#   scripts/gateways.sh start N CONF  start N gateways (1-9) with cofferd's config file CONF
#                                     (its meta = postgresql://..., blobs = and master-key =
#                                     lines name the shared store), each with its own data
#                                     directory $COFFER_GW_DIR/gwI (default /tmp/coffer-gw) and
#                                     free loopback ports, then haproxy in front; prints the
#                                     S3 endpoint http://127.0.0.1:PORT
#   scripts/gateways.sh stop          stop only the processes start recorded (each checked
#                                     against its command line first)
#   scripts/gateways.sh env           shell exports for eval: COFFER_GW_URL (the endpoint),
#                                     COFFER_GW_PIDS (the gateways' PIDs, in order), COFFER_GW_DIR
#   scripts/gateways.sh kill I        kill -9 gateway I (1-based), as a crash would
#
# haproxy (Debian package haproxy) balances each request round-robin over the gateways' plain
# HTTP listeners and asks each gateway's /health/ready on its admin listener (HTTPS, the
# gateway's own certificate) every second: a gateway that is down, draining or cut off from
# PostgreSQL gets no requests until it answers 200 again. The configuration it runs with is
# $COFFER_GW_DIR/haproxy.cfg. Needs cofferd in $BIN (default bin).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/bin}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
DIR=${COFFER_GW_DIR:-/tmp/coffer-gw}

say() { printf '[gateways.sh %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A recorded PID is ours while its command line still names our directory.
ours() {
    [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$DIR/"
}

port_up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cmd_stop() {
    local f pid
    for f in "$DIR"/haproxy.pid "$DIR"/gw*/pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        if ours "$pid"; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$f"
    done
}

cmd_start() {
    local n=${1:-} conf=${2:-} i port admin lb pid servers=""
    [[ "$n" =~ ^[1-9]$ ]] && [ -r "$conf" ] || die "usage: scripts/gateways.sh start N CONF"
    command -v haproxy >/dev/null || die "haproxy is missing (apt-get install haproxy)"
    [ -x "$BIN/cofferd" ] || die "no $BIN/cofferd (make)"
    conf=$(cd "$(dirname "$conf")" && pwd)/$(basename "$conf")
    cmd_stop
    rm -rf "$DIR"
    mkdir -p "$DIR"
    for i in $(seq "$n"); do
        mkdir -p "$DIR/gw$i"
        port=$(free_port)
        admin=$(free_port)
        # shellcheck disable=SC2016 # $$ and $@ are the inner shell's
        setsid -f bash -c 'echo $$ >"$0"; exec "$@"' "$DIR/gw$i/pid" "$BIN/cofferd" \
            --config "$conf" --data "$DIR/gw$i" --listen "127.0.0.1:$port" \
            --admin-listen "127.0.0.1:$admin" </dev/null >"$DIR/gw$i/cofferd.log" 2>&1
        for _ in $(seq 300); do
            port_up "$port" && port_up "$admin" && break
            sleep 0.1
        done
        port_up "$port" || die "gateway $i did not start (see $DIR/gw$i/cofferd.log)"
        servers+="    server gw$i 127.0.0.1:$port check port $admin check-ssl verify none"
        servers+=" inter 1s fall 2 rise 1"$'\n'
    done
    lb=$(free_port)
    cat >"$DIR/haproxy.cfg" <<EOF
global
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    option http-server-close
    retries 2
    option redispatch
frontend s3
    bind 127.0.0.1:$lb
    default_backend gateways
backend gateways
    balance roundrobin
    option httpchk GET /health/ready
    http-check expect status 200
$servers
EOF
    haproxy -c -q -f "$DIR/haproxy.cfg" || die "haproxy refused $DIR/haproxy.cfg"
    # shellcheck disable=SC2016
    setsid -f bash -c 'echo $$ >"$0"; exec "$@"' "$DIR/haproxy.pid" haproxy -db \
        -f "$DIR/haproxy.cfg" </dev/null >"$DIR/haproxy.log" 2>&1
    for _ in $(seq 100); do port_up "$lb" && break; sleep 0.1; done
    port_up "$lb" || die "haproxy did not start (see $DIR/haproxy.log)"
    echo "$lb" >"$DIR/port"
    say "$n gateway(s) behind haproxy on 127.0.0.1:$lb"
    echo "http://127.0.0.1:$lb"
}

cmd_env() {
    local pids=() f
    [ -s "$DIR/port" ] || die "nothing started in $DIR"
    for f in "$DIR"/gw*/pid; do pids+=("$(cat "$f")"); done
    echo "export COFFER_GW_URL=http://127.0.0.1:$(cat "$DIR/port")"
    echo "export COFFER_GW_PIDS='${pids[*]}'"
    echo "export COFFER_GW_DIR=$DIR"
}

cmd_kill() {
    local i=${1:-} pid
    [ -f "$DIR/gw$i/pid" ] || die "no gateway $i"
    pid=$(cat "$DIR/gw$i/pid")
    ours "$pid" && kill -KILL "$pid"
    say "killed gateway $i (pid $pid)"
}

case "${1:-}" in
start) shift; cmd_start "$@" ;;
stop) cmd_stop ;;
env) cmd_env ;;
kill) shift; cmd_kill "$@" ;;
*) sed -n '2,22p' "$0"; exit 2 ;;
esac
