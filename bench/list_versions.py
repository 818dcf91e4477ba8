#!/usr/bin/env python3
"""ListObjectVersions / ListObjectsV2 page latency on a bucket with a million versions.

Not a test (nothing here is run by `make test`). For each shape NKEYSxNVERS:
  1. a fresh data dir, `coffer account create bench`;
  2. bench/list_versions.c (built here against build/libcoffer.a) writes the versions
     straight into the metadata store in batches of 10,000 rows;
  3. cofferd is started on that dir (loopback, free port, --access-log);
  4. pages of 1000 are timed over one keep-alive HTTP connection with SigV4 requests:
     ListObjectVersions first / middle (key-marker + version-id-marker) / last page, a walk of
     consecutive pages from the middle following NextKeyMarker/NextVersionIdMarker, and the
     same for ListObjectsV2 (start-after / continuation-token);
  5. client time (request sent -> whole body read, no XML parsing) and the server's own
     time (access log "ms", matched by x-amz-request-id) are reported as p50/p99/max.

    make                                      # bin/cofferd, bin/coffer, build/libcoffer.a
    python3 bench/list_versions.py            # both shapes, 50 samples per page kind
    python3 bench/list_versions.py --shapes 100000x10 --samples 20 --json out.json

BIN and BUILD (environment) point at other build dirs (default bin/ and build/).
"""

import argparse
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from lib import S3NS, connect, send, sign  # noqa: E402  (the e2e suite's SigV4 signer)

LIBS = ["-luv", "-lssl", "-lcrypto", "-lsqlite3", "-lexpat", "-ljansson", "-lqrencode", "-lz",
        "-lisal", "-lpthread", "-lm"]
BUCKET = "bench-versions"
PAGE = 1000


def build_loader(build, out):
    src = os.path.join(ROOT, "bench", "list_versions.c")
    lib = os.path.join(build, "libcoffer.a")
    if not os.path.exists(lib):
        sys.exit("missing %s: run make first (or set BUILD)" % lib)
    cmd = ["cc", "-std=c17", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Wshadow", "-Werror", "-O2",
           "-g", "-I" + os.path.join(ROOT, "src"), "-pthread", src, lib, "-o", out] + LIBS
    subprocess.run(cmd, check=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    # nearest rank: the smallest sample with at least p% of the samples at or below it
    return xs[min(len(xs), max(1, math.ceil(p / 100.0 * len(xs)))) - 1]


class Server:
    def __init__(self, bin_dir, data, log):
        self.http_port = free_port()
        self.tls_port = free_port()
        self.access = log + ".access"
        self.logf = open(log, "wb")
        self.proc = subprocess.Popen(
            [os.path.join(bin_dir, "cofferd"), "--data", data,
             "--listen", "127.0.0.1:%d" % self.http_port,
             "--tls-listen", "127.0.0.1:%d" % self.tls_port, "--access-log", self.access],
            stdout=self.logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                sys.exit("cofferd exited with %s; see %s" % (self.proc.returncode, log))
            try:
                socket.create_connection(("127.0.0.1", self.http_port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        sys.exit("cofferd did not start")

    def server_ms(self):
        """request id -> ms from the access log."""
        out = {}
        with open(self.access, "rb") as f:
            for line in f:
                try:
                    j = json.loads(line)
                except ValueError:
                    continue
                out[j.get("request_id")] = j.get("ms")
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


class Client:
    def __init__(self, port, ak, sk):
        self.port, self.ak, self.sk = port, ak, sk
        self.host = "127.0.0.1:%d" % port
        self.conn = connect(port=port, timeout=120)

    def get(self, query):
        s = sign("GET", "/" + BUCKET, query, host=self.host, ak=self.ak, sk=self.sk)
        t0 = time.perf_counter()
        r = send(s.method, s.target, dict(s.headers), conn=self.conn, port=self.port)
        dt = (time.perf_counter() - t0) * 1000.0
        if r.status != 200:
            sys.exit("GET ?%s -> %d %r" % (s.query, r.status, r.body[:300]))
        return r, dt


def parse(body):
    root = ET.fromstring(body)
    n = sum(1 for c in root if c.tag in (S3NS + "Version", S3NS + "DeleteMarker",
                                          S3NS + "Contents"))
    return root, n


def run_shape(args, nkeys, nvers, loader, coffer_bin, tmp):
    total = nkeys * nvers
    data = os.path.join(tmp, "data-%dx%d" % (nkeys, nvers))
    os.makedirs(data)
    acct = json.loads(subprocess.run(
        [os.path.join(coffer_bin, "coffer"), "--data", data, "account", "create", "bench",
         "--json"], check=True, capture_output=True, text=True).stdout)
    mid_pos = total // 2 - 1
    last_pos = total - PAGE - 1
    t0 = time.time()
    out = subprocess.run([loader, data, "bench", BUCKET, str(nkeys), str(nvers),
                          str(mid_pos), str(last_pos)], check=True, capture_output=True,
                         text=True)
    load_s = time.time() - t0
    marks = {}
    for line in out.stdout.split("\n"):
        if line.strip():
            pos, key, vid = line.split()
            marks[int(pos)] = (key, vid)
    db_mb = os.path.getsize(os.path.join(data, "meta.db")) / 1e6
    print("shape %d keys x %d versions: loaded %d rows in %.1fs (%.0f rows/s), meta.db %.0f MB"
          % (nkeys, nvers, total, load_s, total / load_s, db_mb), flush=True)

    srv = Server(coffer_bin, data, os.path.join(tmp, "cofferd-%dx%d.log" % (nkeys, nvers)))
    res = {"shape": "%dx%d" % (nkeys, nvers), "rows": total, "load_s": round(load_s, 2),
           "meta_db_mb": round(db_mb, 1), "pages": {}}
    try:
        cl = Client(srv.http_port, acct["access_key_id"], acct["secret_access_key"])
        mk = ("max-keys", str(PAGE))
        mid_key, mid_vid = marks[mid_pos]
        last_key, last_vid = marks[last_pos]
        mid_obj = "k/%08d" % (nkeys // 2 - 1)
        v2_last = ([("start-after", "k/%08d" % (nkeys - PAGE - 1))] if nkeys > PAGE else [])
        kinds = [
            ("versions first", [("versions", ""), mk], PAGE, True),
            ("versions middle", [("versions", ""), mk, ("key-marker", mid_key),
                                 ("version-id-marker", mid_vid)], PAGE, True),
            ("versions last", [("versions", ""), mk, ("key-marker", last_key),
                               ("version-id-marker", last_vid)], PAGE, False),
            ("v2 first", [("list-type", "2"), mk], min(PAGE, nkeys), nkeys > PAGE),
            ("v2 middle", [("list-type", "2"), mk, ("start-after", mid_obj)],
             min(PAGE, nkeys - nkeys // 2), nkeys - nkeys // 2 > PAGE),
            ("v2 last", [("list-type", "2"), mk] + v2_last, min(PAGE, nkeys), False),
        ]
        samples = {}
        # warm-up: one of each (first touch of the pages of the db file)
        for name, q, want_n, want_trunc in kinds:
            r, _ = cl.get(q)
            root, n = parse(r.body)
            trunc = root.findtext(S3NS + "IsTruncated") == "true"
            if (n, trunc) != (want_n, want_trunc):
                sys.exit("%s: got %d entries truncated=%s, expected %d/%s"
                         % (name, n, trunc, want_n, want_trunc))
            samples[name] = {"client": [], "rid": [], "bytes": len(r.body), "entries": n}
        for _ in range(args.samples):
            for name, q, _, _ in kinds:
                r, dt = cl.get(q)
                samples[name]["client"].append(dt)
                samples[name]["rid"].append(r.header("x-amz-request-id"))
        # walks: consecutive pages from the middle, following the markers the server returns
        for name, q0 in (("versions walk", [("versions", ""), mk, ("key-marker", mid_key),
                                            ("version-id-marker", mid_vid)]),
                         ("v2 walk", [("list-type", "2"), mk, ("start-after", mid_obj)])):
            s = samples[name] = {"client": [], "rid": [], "bytes": 0, "entries": 0}
            q = q0
            for _ in range(args.samples):
                r, dt = cl.get(q)
                s["client"].append(dt)
                s["rid"].append(r.header("x-amz-request-id"))
                root, n = parse(r.body)
                s["bytes"] = max(s["bytes"], len(r.body))
                s["entries"] += n
                if root.findtext(S3NS + "IsTruncated") != "true":
                    break
                if name.startswith("versions"):
                    q = [("versions", ""), mk,
                         ("key-marker", root.findtext(S3NS + "NextKeyMarker")),
                         ("version-id-marker", root.findtext(S3NS + "NextVersionIdMarker"))]
                else:
                    q = [("list-type", "2"), mk, ("continuation-token",
                                                  root.findtext(S3NS + "NextContinuationToken"))]
        cl.conn.close()
        time.sleep(0.2)  # let the access log line of the last request land
        sms = srv.server_ms()
        print("  %-16s %6s %8s | %8s %8s %8s | %6s %6s %6s"
              % ("page", "n", "KiB", "cli p50", "cli p99", "cli max", "srv50", "srv99",
                 "srvmax"))
        for name, s in samples.items():
            srv_ms = [sms[r] for r in s["rid"] if r in sms and sms[r] is not None]
            row = {"samples": len(s["client"]), "entries_per_page": s["entries"]
                   if not name.endswith("walk") else round(s["entries"] / len(s["client"])),
                   "bytes": s["bytes"],
                   "client_ms": {"p50": round(pct(s["client"], 50), 2),
                                 "p99": round(pct(s["client"], 99), 2),
                                 "max": round(max(s["client"]), 2)},
                   "server_ms": {"p50": pct(srv_ms, 50), "p99": pct(srv_ms, 99),
                                 "max": max(srv_ms) if srv_ms else None,
                                 "matched": len(srv_ms)}}
            res["pages"][name] = row
            print("  %-16s %6d %8.0f | %8.2f %8.2f %8.2f | %6s %6s %6s"
                  % (name, row["entries_per_page"], s["bytes"] / 1024.0,
                     row["client_ms"]["p50"], row["client_ms"]["p99"], row["client_ms"]["max"],
                     row["server_ms"]["p50"], row["server_ms"]["p99"], row["server_ms"]["max"]),
                  flush=True)
    finally:
        srv.stop()
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", default="100000x10,1000x1000",
                    help="comma-separated NKEYSxNVERS (default: %(default)s)")
    ap.add_argument("--samples", type=int, default=50, help="requests per page kind")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--keep", action="store_true", help="keep the data dirs (printed)")
    ap.add_argument("--tmp", help="work dir (default: a new one under $TMPDIR)")
    args = ap.parse_args()
    bin_dir = os.path.abspath(os.environ.get("BIN", os.path.join(ROOT, "bin")))
    build = os.path.abspath(os.environ.get("BUILD", os.path.join(ROOT, "build")))
    for b in ("cofferd", "coffer"):
        if not os.access(os.path.join(bin_dir, b), os.X_OK):
            sys.exit("missing %s/%s: run make first (or set BIN)" % (bin_dir, b))
    tmp = args.tmp or tempfile.mkdtemp(prefix="coffer-bench.")
    os.makedirs(tmp, exist_ok=True)
    loader = os.path.join(tmp, "list_versions")
    build_loader(build, loader)
    results = []
    t0 = time.time()
    try:
        for shape in args.shapes.split(","):
            nk, nv = (int(x) for x in shape.lower().split("x"))
            if nk * nv < 2 * PAGE + 2:
                sys.exit("shape %s: need at least %d versions" % (shape, 2 * PAGE + 2))
            results.append(run_shape(args, nk, nv, loader, bin_dir, tmp))
    finally:
        if args.keep:
            print("data kept under", tmp)
        elif not args.tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print("total %.0fs" % (time.time() - t0))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"page_size": PAGE, "samples": args.samples, "results": results}, f,
                      indent=2)


if __name__ == "__main__":
    main()
