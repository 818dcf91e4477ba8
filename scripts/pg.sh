#!/usr/bin/env bash
# pg.sh -- a throw-away PostgreSQL 15 server on loopback, for Coffer's
# PostgreSQL metadata tests (--meta postgresql://...) and the README.
#
#   scripts/pg.sh start          initdb a FRESH cluster under $COFFER_PG_DIR (default
#                                /tmp/coffer-pg), start it on a free port of 127.0.0.1
#                                (and a unix socket in that directory), print the base
#                                URI postgresql://postgres@127.0.0.1:PORT/ on stdout
#   scripts/pg.sh createdb NAME  create database NAME ([A-Za-z0-9_]), print its URI
#   scripts/pg.sh stop           stop only the server whose PID start recorded (and
#                                only if its command line still names our data
#                                directory); the directory stays for post-mortems
#   scripts/pg.sh restart        stop as above (if it runs), then start the same
#                                cluster again: its data, port and socket, no
#                                initdb (a database outage for the fault tests)
#   scripts/pg.sh env            shell exports for eval: COFFER_TEST_PG (the base URI),
#                                COFFER_TEST_PG_DIR
#   scripts/pg.sh purge          stop, then remove the directory
#
# Needs the Debian packages postgresql-15 and postgresql-contrib (citext)
# (bash scripts/deps.sh --pg). Authentication is trust, for the superuser
# postgres, on loopback only. fsync stays on unless COFFER_PG_FAST=1 (then
# fsync, synchronous_commit and full_page_writes are off: a crash loses the
# data, which a test cluster can afford). As root, the server runs as the
# Debian user postgres (PostgreSQL refuses root); otherwise as the calling
# user. Either way in its own session.
set -euo pipefail

DIR=${COFFER_PG_DIR:-/tmp/coffer-pg}
BIN=${COFFER_PG_BIN:-/usr/lib/postgresql/15/bin}
DATA=$DIR/data
LOG=$DIR/log
PIDF=$DIR/postgres.pid
PORTF=$DIR/port

say() { printf '[pg.sh %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# As root, run the server's programs as postgres; setpriv execs (no extra
# process), so the PID recorded is the server's own.
AS=()
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root needs the user postgres (apt-get install postgresql-15)"
    AS=(setpriv --reuid=postgres --regid=postgres --init-groups --)
fi

# A recorded PID is ours while its command line names our data directory
# (a reused PID never does).
ours() {
    [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "-D $DATA "
}

running() { # not gone and not a zombie
    local st
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

port() {
    [ -s "$PORTF" ] || die "no server in $DIR (scripts/pg.sh start)"
    cat "$PORTF"
}

cmd_stop() {
    local pid i
    [ -f "$PIDF" ] || return 0
    pid=$(cat "$PIDF")
    if ours "$pid"; then
        # SIGINT: fast shutdown (clients are disconnected, a checkpoint is
        # written); SIGQUIT: immediate, should that hang.
        kill -INT "$pid" 2>/dev/null || true
        for i in $(seq 150); do running "$pid" || break; sleep 0.1; done
        if running "$pid" && ours "$pid"; then
            kill -QUIT "$pid" 2>/dev/null || true
            for i in $(seq 50); do running "$pid" || break; sleep 0.1; done
        fi
        if running "$pid" && ours "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
        say "stopped postgres (pid $pid)"
    fi
    rm -f "$PIDF"
}

# Starts the server of $DATA on port $1 in its own session, records its
# PID and waits until it accepts connections.
launch() {
    local p=$1 pid i
    local fast=()
    if [ "${COFFER_PG_FAST:-0}" = 1 ]; then
        fast=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
    fi
    rm -f "$PIDF"
    # shellcheck disable=SC2016 # $$, $0 and $@ are the inner shell's
    setsid -f bash -c 'echo $$ >"$0"; exec "$@"' "$PIDF" "${AS[@]}" "$BIN/postgres" -D "$DATA" \
        -c listen_addresses=127.0.0.1 -p "$p" -c unix_socket_directories="$DIR" \
        -c max_connections=300 -c fsync=on "${fast[@]}" \
        </dev/null >>"$LOG/postgres.log" 2>&1
    for i in $(seq 50); do [ -s "$PIDF" ] && break; sleep 0.1; done
    pid=$(cat "$PIDF" 2>/dev/null || true)
    for i in $(seq 600); do
        ours "$pid" || die "postgres did not start (see $LOG/postgres.log)"
        "$BIN/pg_isready" -q -h 127.0.0.1 -p "$p" -U postgres -t 1 && break
        [ "$i" -lt 600 ] || die "timed out waiting for postgres (see $LOG/postgres.log)"
        sleep 0.1
    done
}

cmd_start() {
    local t0 b p
    t0=$(date +%s.%N)
    for b in "$BIN/initdb" "$BIN/postgres" "$BIN/pg_isready" "$BIN/psql" python3 setsid; do
        command -v "$b" >/dev/null || die "'$b' is missing (bash scripts/deps.sh --pg)"
    done
    [ -f "$("$BIN/pg_config" --sharedir)/extension/citext.control" ] ||
        die "the citext extension is missing (apt-get install postgresql-contrib)"
    cmd_stop
    rm -rf "$DIR"
    mkdir -p "$DIR" "$LOG"
    [ ${#AS[@]} -eq 0 ] || chown -R postgres: "$DIR"
    "${AS[@]}" "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C \
        >"$LOG/initdb.log" 2>&1 || die "initdb failed (see $LOG/initdb.log; as root, $DIR must be reachable by postgres)"
    p=$(free_port)
    launch "$p"
    echo "$p" >"$PORTF"
    python3 -c "import sys; print(round($(date +%s.%N) - $t0, 1))" >"$DIR/start-seconds"
    say "ready in $(cat "$DIR/start-seconds") s: pid $(cat "$PIDF"), port $p$([ "${COFFER_PG_FAST:-0}" = 1 ] && echo ', fsync off')"
    echo "postgresql://postgres@127.0.0.1:$p/"
}

cmd_restart() {
    local p
    p=$(port)
    [ -d "$DATA" ] || die "no cluster in $DATA (scripts/pg.sh start)"
    cmd_stop
    launch "$p"
    say "restarted: pid $(cat "$PIDF"), port $p"
}

cmd_createdb() {
    local name=${1:-} p
    [[ "$name" =~ ^[A-Za-z0-9_]{1,63}$ ]] || die "usage: scripts/pg.sh createdb NAME (letters, digits, _)"
    p=$(port)
    "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$p" -U postgres -d postgres \
        -c "CREATE DATABASE \"$name\"" >&2 || die "CREATE DATABASE $name failed"
    echo "postgresql://postgres@127.0.0.1:$p/$name"
}

cmd_env() {
    local p
    p=$(port)
    echo "export COFFER_TEST_PG=postgresql://postgres@127.0.0.1:$p/"
    echo "export COFFER_TEST_PG_DIR=$DIR"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
restart) cmd_restart ;;
createdb) cmd_createdb "${2:-}" ;;
env) cmd_env ;;
purge) cmd_stop; rm -rf "$DIR" ;;
*) sed -n '2,26p' "$0"; exit 2 ;;
esac
