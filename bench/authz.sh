#!/usr/bin/env bash
# authz.sh -- what authorization costs a small GET (issue 13, "Speed"): 4 KiB GETs of one object
# by an IAM user under a 10-statement identity policy and a 10-statement bucket policy, both
# with conditions, against the account root's GETs in the same run, with bench/loadgen.c.
# Three targets, alternated in every round (root-plain, root, user, root-plain, ...):
#
#   root-plain  the root, a bucket without a policy: no evaluation at all (the fast path;
#               compare.sh's 4 KiB GET)
#   root        the root, the object under the bucket policy: the bucket policy is evaluated
#   user        the IAM user, same object: identity policies and bucket policy evaluated
#
# Prints medians per target and connection count (ops/s, p50/p99, server CPU us/op), the ratios
# user/root and user/root-plain, and the evaluator's cost per request as server CPU us/op:
# user - root-plain (identity + bucket policy), root - root-plain (bucket policy alone).
# Nothing here is a test; the target (user >= 90 % of root) is information only.
#
#   bash bench/authz.sh [--duration S] [--rounds N] [--conns "1 16"] [--save FILE]
#
# Environment: BIN (bin), BUILD (build): where cofferd/coffer are and where loadgen is built;
# COMMIT: the commit the binaries were built from, for the report (default: HEAD).
# Starts its own cofferd on a free port with a temp data dir; removes both at the end.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BIN=${BIN:-bin}
BUILD=${BUILD:-build}
DUR=2
ROUNDS=9
CONNS="1 16"
SAVE=
while [ $# -gt 0 ]; do
    case $1 in
    --duration) DUR=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --conns) CONNS=$2; shift ;;
    --save) SAVE=$2; shift ;;
    -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "authz.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

log() { printf '[authz %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ -x "$BIN/cofferd" ] && [ -x "$BIN/coffer" ] || die "build Coffer first (make)"
mkdir -p "$BUILD/bench"
LG=$BUILD/bench/loadgen
if [ ! -x "$LG" ] || [ bench/loadgen.c -nt "$LG" ]; then
    cc -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Werror -O2 -g -pthread bench/loadgen.c \
        -o "$LG" -lcrypto || die "cannot build loadgen"
fi

TMP=$(mktemp -d /tmp/coffer-authz-bench.XXXXXX)
RES=$TMP/results.jsonl
: >"$RES"
C_PID=
cleanup() {
    if [ -n "$C_PID" ]; then
        kill -TERM "$C_PID" 2>/dev/null
        wait "$C_PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN/cofferd" --data "$TMP/data" --listen "127.0.0.1:$PORT" >"$TMP/cofferd.log" 2>&1 </dev/null &
C_PID=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || die "cofferd did not start"

jfield() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
A=$("$BIN/coffer" --data "$TMP/data" account create bench --json) || die "account create failed"
ACCT=$(jfield "$A" account_id) R_AK=$(jfield "$A" access_key_id) R_SK=$(jfield "$A" secret_access_key)
"$BIN/coffer" --data "$TMP/data" user create --account bench reader --json >/dev/null ||
    die "user create failed"
U=$("$BIN/coffer" --data "$TMP/data" key create --account bench --user reader --json) ||
    die "key create failed"
U_AK=$(jfield "$U" access_key_id) U_SK=$(jfield "$U" secret_access_key)
EP=http://127.0.0.1:$PORT

for b in bplain bpol; do
    "$LG" --endpoint "$EP" --access-key "$R_AK" --secret-key "$R_SK" --bucket "$b" --create-bucket \
        --keys 1 --prefill-size 4k --prefill-only --quiet >/dev/null 2>&1 || die "prefill of $b failed"
done

# The policies: realistic conditions (source address, time window, prefixes, user agent, the
# principal's account, MFA for deletes, TLS for writes). Statements whose action and resource
# match a GET of bpol/k/00000000 have their conditions evaluated on every request; the others
# are skipped by action or resource, as AWS's evaluation does.
python3 - "$EP" "$ACCT" "$R_AK" "$R_SK" "$U_AK" "$U_SK" <<'EOF' || die "policy setup failed"
import json, sys
import boto3
from botocore.config import Config

ep, acct, rak, rsk, uak, usk = sys.argv[1:]
acct12 = "%012d" % int(acct)
user_arn = "arn:aws:iam::%s:user/reader" % acct12
cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
kw = dict(endpoint_url=ep, region_name="us-east-1", config=cfg)
iam = boto3.client("iam", aws_access_key_id=rak, aws_secret_access_key=rsk, **kw)
s3 = boto3.client("s3", aws_access_key_id=rak, aws_secret_access_key=rsk, **kw)
us3 = boto3.client("s3", aws_access_key_id=uak, aws_secret_access_key=usk, **kw)
B = "arn:aws:s3:::bpol"
nets = ["127.0.0.0/8", "10.0.0.0/8", "192.168.0.0/16"]
window = {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
          "DateLessThan": {"aws:CurrentTime": "2035-01-01T00:00:00Z"}}


def st(effect, action, resource, cond=None, principal=None, sid=None):
    s = {"Sid": sid, "Effect": effect, "Action": action, "Resource": resource}
    if principal is not None:
        s["Principal"] = principal
    if cond:
        s["Condition"] = cond
    return s


identity = [
    st("Allow", "s3:GetObject", B + "/*", dict(window, IpAddress={"aws:SourceIp": nets}), sid="Read"),
    st("Allow", "s3:ListBucket", B, {"StringLike": {"s3:prefix": ["k/*", "home/${aws:username}/*"]}},
       sid="List"),
    st("Allow", "s3:PutObject", B + "/home/${aws:username}/*",
       {"StringEqualsIfExists": {"s3:x-amz-acl": "private"}}, sid="WriteHome"),
    st("Deny", "s3:*", [B, B + "/*"], {"NotIpAddress": {"aws:SourceIp": nets}}, sid="Network"),
    st("Deny", ["s3:DeleteObject", "s3:DeleteObjectVersion"], "*",
       {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}, sid="MfaDelete"),
    st("Allow", "s3:GetObjectVersion", B + "/*", {"StringLike": {"aws:UserAgent": "*"}},
       sid="Versions"),
    st("Deny", "s3:GetObject", B + "/private/*", sid="Private"),
    st("Allow", ["s3:GetBucketLocation", "s3:ListAllMyBuckets"], "*", sid="Browse"),
    st("Deny", ["s3:PutObject", "s3:PutObjectAcl"], "*",
       {"Bool": {"aws:SecureTransport": "false"}}, sid="TlsWrites"),
    st("Deny", "s3:*", "*", {"DateGreaterThan": {"aws:CurrentTime": "2035-01-01T00:00:00Z"}},
       sid="Expiry"),
]
bucket = [
    st("Allow", "s3:GetObject", B + "/*", dict(window, IpAddress={"aws:SourceIp": nets}),
       {"AWS": user_arn}, "UserRead"),
    st("Allow", "s3:ListBucket", B, {"StringLike": {"s3:prefix": ["k/*"]}}, {"AWS": user_arn},
       "UserList"),
    st("Deny", "s3:*", [B, B + "/*"], {"NotIpAddress": {"aws:SourceIp": nets}}, "*", "Network"),
    st("Deny", "s3:PutObject", B + "/*", {"Bool": {"aws:SecureTransport": "false"}}, "*",
       "TlsWrites"),
    st("Deny", ["s3:DeleteObject", "s3:DeleteObjectVersion"], B + "/*",
       {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}, "*", "MfaDelete"),
    st("Allow", "s3:*", [B, B + "/*"], None, {"AWS": "arn:aws:iam::%s:root" % acct12}, "Owner"),
    st("Deny", "s3:GetObject", B + "/private/*", None, "*", "Private"),
    st("Allow", "s3:GetObjectVersion", B + "/*", {"StringLike": {"aws:UserAgent": "*"}},
       {"AWS": user_arn}, "UserVersions"),
    st("Deny", "s3:*", [B, B + "/*"],
       {"StringNotEqualsIfExists": {"aws:PrincipalAccount": acct12}}, "*", "OwnAccountOnly"),
    st("Deny", "s3:*", [B, B + "/*"],
       {"DateGreaterThan": {"aws:CurrentTime": "2035-01-01T00:00:00Z"}}, "*", "Expiry"),
]
iam.put_user_policy(UserName="reader", PolicyName="bench",
                    PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": identity}))
s3.put_bucket_policy(Bucket="bpol",
                     Policy=json.dumps({"Version": "2012-10-17", "Statement": bucket}))
# Both must read the object, and the user nothing else.
assert us3.get_object(Bucket="bpol", Key="k/00000000")["ContentLength"] == 4096
assert s3.get_object(Bucket="bpol", Key="k/00000000")["ContentLength"] == 4096
try:
    us3.get_object(Bucket="bplain", Key="k/00000000")
    sys.exit("the user reads bplain: the policies are not in force")
except us3.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "AccessDenied", e.response
print("policies: %d + %d statements" % (len(identity), len(bucket)), file=sys.stderr)
EOF

# lg TARGET CONNS: one measured run, its JSON line appended to $RES.
lg() {
    local t=$1 c=$2 ak=$R_AK sk=$R_SK b=bpol out
    case $t in
    root-plain) b=bplain ;;
    user) ak=$U_AK sk=$U_SK ;;
    esac
    out=$("$LG" --endpoint "$EP" --access-key "$ak" --secret-key "$sk" --bucket "$b" --keys 1 \
        --mix get --conns "$c" --duration "$DUR" --warmup 0.5 --server-pid "$C_PID" --json \
        --quiet --label "GET 4KiB c$c" 2>"$TMP/lg.err") || die "loadgen failed: $(tail -2 "$TMP/lg.err")"
    printf '%s\n' "$out" | python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
j["target"] = sys.argv[1]
print(json.dumps(j))
bad = j["errors"] + j["failures"]
print("  %-10s %-14s %9.1f ops/s  p50 %6.3f  p99 %6.3f ms  srv %6.1f us/op%s" % (
    j["target"], j["label"], j["ops_s"], j["p50_ms"], j["p99_ms"], j["srv_cpu_us_op"],
    "  ERRORS %d" % bad if bad else ""), file=sys.stderr)
' "$t" >>"$RES"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "${DUR}s runs, $ROUNDS rounds, conns: $CONNS; cofferd pid $C_PID; load $LOAD_BEFORE"
for c in $CONNS; do
    for r in $(seq "$ROUNDS"); do
        for t in root-plain root user; do
            lg "$t" "$c"
        done
    done
done

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$RES" "$DUR" "$ROUNDS" "${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null)}" "${SAVE:-}" \
    "$LOAD_BEFORE" "$LOAD" <<'EOF'
import json, os, platform, statistics as st, sys
path, dur, rounds, commit, save, load0, load1 = sys.argv[1:]
rows = [json.loads(l) for l in open(path) if l.strip()]
by = {}
for j in rows:
    by.setdefault((j["label"], j["target"]), []).append(j)
med = lambda xs: st.median(xs)
out = []
p = out.append
p("# Authorization cost on 4 KiB GET (bench/authz.sh)")
p("")
p("commit %s; %s, %d CPUs; %s s runs, %s rounds, medians; one object, keep-alive connections;"
  % (commit, platform.node(), os.cpu_count(), dur, rounds))
p("load average %s before, %s after (the machine is shared)" % (load0, load1))
p("")
p("| workload | target | ops/s | ops/s min-max | p50 ms | p99 ms | server CPU us/op |")
p("|---|---|---:|---:|---:|---:|---:|")
labels = sorted({j["label"] for j in rows}, key=lambda l: int(l.rsplit("c", 1)[1]))
summary = []
for l in labels:
    m = {}
    for t in ("root-plain", "root", "user"):
        rs = by.get((l, t), [])
        if not rs:
            continue
        ops = [r["ops_s"] for r in rs]
        m[t] = {k: med([r[k] for r in rs]) for k in ("ops_s", "p50_ms", "p99_ms", "srv_cpu_us_op")}
        bad = sum(r["errors"] + r["failures"] for r in rs)
        p("| %s | %s | %.0f | %.0f-%.0f | %.3f | %.3f | %.1f |%s" % (
            l, t, m[t]["ops_s"], min(ops), max(ops), m[t]["p50_ms"], m[t]["p99_ms"],
            m[t]["srv_cpu_us_op"], " ERRORS %d" % bad if bad else ""))
    summary.append((l, m, None, None))
p("")
p("Ratios and differences are medians over the rounds of the per-round values (the three runs of")
p("a round are seconds apart, so pairing them cancels most of the machine's drift); the spread")
p("is the lowest and highest per-round value.")
p("")
p("| workload | user/root | user/root-plain | evaluator us/op (user - root-plain) | bucket policy alone us/op (root - root-plain) |")
p("|---|---:|---:|---:|---:|")
for l, m, rr, rp in summary:
    if len(m) < 3:
        continue
    U, R, P = (by[(l, t)] for t in ("user", "root", "root-plain"))
    rr = [u["ops_s"] / r["ops_s"] for u, r in zip(U, R)]
    rp = [u["ops_s"] / r["ops_s"] for u, r in zip(U, P)]
    du = [u["srv_cpu_us_op"] - r["srv_cpu_us_op"] for u, r in zip(U, P)]
    db = [u["srv_cpu_us_op"] - r["srv_cpu_us_op"] for u, r in zip(R, P)]
    p("| %s | %.0f %% (%.0f-%.0f) | %.0f %% (%.0f-%.0f) | %.1f (%.1f to %.1f) | %.1f (%.1f to %.1f) |" % (
        l, 100 * med(rr), 100 * min(rr), 100 * max(rr), 100 * med(rp), 100 * min(rp),
        100 * max(rp), med(du), min(du), max(du), med(db), min(db), max(db)))
p("")
p("Target (issue 13): user >= 90 % of root in the same run; information only.")
text = "\n".join(out) + "\n"
sys.stdout.write(text)
if save:
    with open(save, "w") as f:
        f.write(text)
EOF
