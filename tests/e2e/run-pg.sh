#!/usr/bin/env bash
# The end-to-end suite on the shared backends: starts a throw-away PostgreSQL 15 (scripts/pg.sh,
# in its own temp directory, fsync off: it is thrown away), runs tests/e2e/run.sh with
# E2E_META_PG so each cofferd and coffer command of the suite uses a fresh database
# (lib.use_pg_meta), with a second gateway on the suite's store that lib.client() alternates
# with, then stops and removes only that server. With a Ceph cluster named
# (COFFER_TEST_BLOBS=rados://POOL?conf=FILE, from `scripts/ceph.sh env`, as .ci/run does) every
# store keeps its object data in a RADOS namespace of its own in that pool; without one, in
# files. The crash and drain tests (E2E_SKIP_SLOW) test SQLite's own durability and are left
# to the embedded run. Same variables as run.sh (BIN, FAULT_BIN, E2E_ONLY).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
COFFER_PG_DIR=$(mktemp -d /tmp/coffer-e2e-pg.XXXXXX)
export COFFER_PG_DIR COFFER_PG_FAST=1
trap '"$ROOT/scripts/pg.sh" purge' EXIT
"$ROOT/scripts/pg.sh" start >/dev/null || { echo "FAIL setup.postgresql_start"; exit 1; }
eval "$("$ROOT/scripts/pg.sh" env)"
export E2E_BLOBS_RADOS=${COFFER_TEST_BLOBS:-}
echo "==== PostgreSQL run: metadata in $COFFER_TEST_PG${E2E_BLOBS_RADOS:+, object data in $E2E_BLOBS_RADOS}"
E2E_META_PG=$COFFER_TEST_PG E2E_SKIP_SLOW=1 bash "$HERE/run.sh"
