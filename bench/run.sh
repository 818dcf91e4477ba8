#!/usr/bin/env bash
# run.sh -- what `make bench` runs: the quick Coffer-vs-radosgw comparison (bench/compare.sh
# --quick, under 5 minutes once the Ceph packages are installed), its report kept in
# build/bench/. Benchmarks are never part of `make test`. See bench/README.md.
#
#   bash bench/run.sh [compare.sh options]     e.g. --no-ceph, --only 'GET|ceiling'
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
mkdir -p "$ROOT/$BUILD/bench"
OUT=$ROOT/$BUILD/bench/compare-$(date -u +%Y%m%dT%H%M%SZ).md
T0=$(date +%s)
bash "$ROOT/bench/compare.sh" --quick --save "$OUT" "$@"
rc=$?
echo
echo "make bench: $(($(date +%s) - T0)) s; report in ${OUT#"$ROOT"/}"
exit $rc
