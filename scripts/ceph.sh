#!/usr/bin/env bash
# ceph.sh -- a throw-away single-node Ceph cluster (one monitor, one OSD on
# memstore, no manager, no radosgw) on loopback, for Coffer's RADOS tests.
#
#   scripts/ceph.sh start   build a FRESH cluster under $COFFER_CEPH_DIR (default
#                           /tmp/coffer-ceph), create the pool $COFFER_CEPH_POOL
#                           (default coffer), print the ceph.conf path on stdout
#   scripts/ceph.sh stop    stop only the daemons whose PIDs start recorded
#                           (and only if their command line still names our
#                           ceph.conf); the directory stays for post-mortems
#   scripts/ceph.sh env     shell exports for eval: COFFER_TEST_RADOS_CONF,
#                           COFFER_TEST_RADOS_POOL, COFFER_TEST_BLOBS (the --blobs URL)
#   scripts/ceph.sh purge   stop, then remove the directory
#
# Needs the Debian packages ceph-mon, ceph-osd, ceph-common and uuid-runtime (the `ceph`,
# `rados`, `ceph-authtool` and `monmaptool` commands). Monitor ports are
# picked free on 127.0.0.1 at start. Everything runs as the calling user in
# its own session; memstore keeps the data in the OSD's memory (capped by
# COFFER_CEPH_MEM_MB, default 2048), so a stop loses it.
# Same approach as ../shared/reference/ceph-ref.sh, reduced to what librados
# clients need.
set -euo pipefail

DIR=${COFFER_CEPH_DIR:-/tmp/coffer-ceph}
POOL=${COFFER_CEPH_POOL:-coffer}
MEM_MB=${COFFER_CEPH_MEM_MB:-2048}
CONF=$DIR/ceph.conf
PIDS=$DIR/pids
LOG=$DIR/log

say() { printf '[ceph.sh %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
C() { timeout 30 ceph -c "$CONF" --connect-timeout 20 "$@"; }

# A recorded PID is ours while its command line names our ceph.conf (a
# reused PID never does).
ours() {
    [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "-c $CONF "
}

running() { # not gone and not a zombie
    local st
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# daemon NAME CMD... : runs CMD (in the foreground, -f) in its own session;
# the recorded PID is the daemon's own (the shell execs it).
daemon() {
    local name=$1 pid i; shift
    rm -f "$PIDS/$name.pid"
    setsid -f bash -c 'echo $$ >"$0"; exec "$@"' "$PIDS/$name.pid" "$@" \
        </dev/null >>"$LOG/$name.stdout" 2>&1
    for i in $(seq 50); do [ -s "$PIDS/$name.pid" ] && break; sleep 0.1; done
    pid=$(cat "$PIDS/$name.pid" 2>/dev/null || true)
    sleep 0.3
    ours "$pid" || die "$name did not start (see $LOG/)"
    say "$name pid $pid"
}

until_ok() { # until_ok SECONDS WHAT CMD...
    local end=$((SECONDS + $1)) what=$2; shift 2
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || die "timed out waiting for $what (see $LOG/)"
        sleep 0.5
    done
}

stop_one() {
    local f=$PIDS/$1.pid pid i
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    if ours "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 100); do running "$pid" || break; sleep 0.1; done
        if running "$pid" && ours "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
        say "stopped $1 (pid $pid)"
    fi
    rm -f "$f"
}

cmd_stop() {
    [ -d "$PIDS" ] || return 0
    stop_one osd.0
    stop_one mon.a
}

cmd_start() {
    local t0 b fsid ouuid id p1 p2 K
    t0=$(date +%s.%N)
    for b in ceph-mon ceph-osd ceph rados ceph-authtool monmaptool uuidgen python3; do
        command -v "$b" >/dev/null || die "'$b' is missing (apt-get install ceph-mon ceph-osd ceph-common uuid-runtime)"
    done
    cmd_stop
    rm -rf "$DIR"
    mkdir -p "$DIR"/{mon,osd/ceph-0,run,log,pids}
    p2=$(free_port)
    p1=$(free_port)
    fsid=$(uuidgen)
    cat >"$CONF" <<EOF
# scripts/ceph.sh: one monitor, one memstore OSD, loopback only
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$p2,v1:127.0.0.1:$p1]
mon_initial_members = a
public_addr = 127.0.0.1
ms_bind_ipv6 = false
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
keyring = $DIR/keyring
run_dir = $DIR/run
admin_socket = $DIR/run/\$cluster-\$name.\$pid.asok
log_file = $DIR/log/\$name.log
mon_cluster_log_file = $DIR/log/\$cluster.log
log_to_stderr = false
err_to_stderr = false
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
mon_data_avail_warn = 2
mon_data_avail_crit = 1

[mon]
mon_data = $DIR/mon/\$cluster-\$id

[osd]
osd_data = $DIR/osd/\$cluster-\$id
osd_objectstore = memstore
memstore_device_bytes = $((MEM_MB * 1024 * 1024))
osd_memory_target = 1073741824
EOF
    # One keyring for the monitor, the OSD and client.admin.
    K=$DIR/keyring
    ceph-authtool --create-keyring "$K" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    ceph-authtool "$K" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
        --cap mgr 'allow *' >/dev/null
    ceph-authtool "$K" --gen-key -n osd.0 --cap mon 'allow profile osd' --cap osd 'allow *' >/dev/null
    monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$p2,v1:127.0.0.1:$p1]" \
        "$DIR/monmap" >/dev/null
    ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$K" >>"$LOG/mkfs.log" 2>&1 ||
        die "ceph-mon --mkfs failed (see $LOG/mkfs.log)"
    daemon mon.a ceph-mon -c "$CONF" -i a -f
    until_ok 60 "the monitor" C mon stat

    ouuid=$(uuidgen)
    id=$(C osd new "$ouuid")
    [ "$id" = 0 ] || die "unexpected OSD id '$id'"
    ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$ouuid" >>"$LOG/mkfs.log" 2>&1 ||
        die "ceph-osd --mkfs failed (see $LOG/mkfs.log)"
    daemon osd.0 ceph-osd -c "$CONF" -i 0 -f
    until_ok 120 "osd.0 up" bash -c "timeout 20 ceph -c '$CONF' osd dump 2>/dev/null | grep -q '^osd.0 up'"

    C osd pool create "$POOL" 8 8 >/dev/null
    C osd pool application enable "$POOL" coffer >/dev/null 2>&1 || true
    # Ready when an object can be written and removed.
    until_ok 120 "pool $POOL writable" bash -c \
        "echo probe | timeout 10 rados -c '$CONF' -p '$POOL' put ceph-sh-probe - && timeout 10 rados -c '$CONF' -p '$POOL' rm ceph-sh-probe"
    python3 -c "import sys; print(round($(date +%s.%N) - $t0, 1))" >"$DIR/start-seconds"
    say "ready in $(cat "$DIR/start-seconds") s: pool $POOL, conf $CONF"
    echo "$CONF"
}

cmd_env() {
    [ -f "$CONF" ] || die "no cluster in $DIR (scripts/ceph.sh start)"
    echo "export COFFER_TEST_RADOS_CONF=$CONF"
    echo "export COFFER_TEST_RADOS_POOL=$POOL"
    echo "export COFFER_TEST_BLOBS='rados://$POOL?conf=$CONF'"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
env) cmd_env ;;
purge) cmd_stop; rm -rf "$DIR" ;;
*) sed -n '2,24p' "$0"; exit 2 ;;
esac
