#!/usr/bin/env bash
# deps.sh -- installs the Debian 12 packages Coffer builds and tests with,
# only those missing. Needs root (or sudo).
#
#   bash scripts/deps.sh          build and test on the embedded backends
#   bash scripts/deps.sh --ceph   also a single-node Ceph for the RADOS tests (scripts/ceph.sh)
#   bash scripts/deps.sh --pg     also a PostgreSQL 15 server for the PostgreSQL metadata tests
#                                 (scripts/pg.sh); options combine
set -euo pipefail

pkgs=(build-essential pkg-config libuv1-dev node-llhttp libssl-dev libsqlite3-dev
      libexpat1-dev libjansson-dev libqrencode-dev libcmocka-dev libisal-dev zlib1g-dev librados-dev
      libpq-dev
      s3cmd rclone oathtool zbar-tools curl openssl clang libfuzzer-14-dev libclang-rt-14-dev cppcheck
      chromium)
# librados-dev, libpq-dev: headers only; librados2 and libpq5 are loaded when a rados:// or
# postgresql:// store is opened.
# chromium: headless, for the browser CORS test (tests/e2e/test_cors.py): a page on another
# origin uploads with a presigned PUT and reads the object back with fetch.
for opt in "$@"; do
    case $opt in
    --ceph) pkgs+=(ceph-mon ceph-osd ceph-common uuid-runtime) ;;
    --pg) pkgs+=(postgresql-15 postgresql-contrib haproxy) ;;
    esac
done
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    echo "deps: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The end-to-end tests drive the server with boto3 and the AWS CLI.
if ! python3 -c 'import boto3' 2>/dev/null || ! command -v aws >/dev/null; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    echo "deps: installing python3-boto3 and awscli from Debian"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-boto3 awscli >/dev/null
fi
