"""Faults of a store shared by two cofferd gateways (issue 17): metadata in one PostgreSQL
database, object data in one directory, one master key, a data directory each (as
test_gateways.py). Runs on the PostgreSQL run only (E2E_META_PG, scripts/pg.sh).

A gateway killed (kill -9) mid-upload: the client retries on the other one and completes.
- a multipart upload whose parts and completion go to different gateways;
- a 20 MiB PutObject killed mid-body on one gateway, the same PUT retried on the other: the
  object reads back whole, and every version listed has its data;
- a multipart upload with parts on one gateway, that gateway killed mid-part, the remaining
  parts and the completion on the other.

PostgreSQL restarted (its own throw-away server, scripts/pg.sh under the test's directory, so
the suite's is never stopped):
- while it is down both gateways answer writes and reads that need metadata with 503 SlowDown
  within a bounded time (never 500, never a hang), and /health/ready answers 503;
- once it is back both recover without a restart of cofferd, and every write acknowledged
  before or during the outage is there;
- the same with a server that accepts connections and never answers: connection attempts
  give up in time.
"""

import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

import lib
from lib import REGION

PG = os.environ.get("E2E_META_PG")
PG_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "pg.sh")
MIB = 1 << 20
BOUND = 15  # seconds: an answer during an outage comes within this, or it is a hang


def _client(srv, ak, sk, timeout=30):
    return boto3.session.Session().client(
        "s3", endpoint_url=srv.http, aws_access_key_id=ak, aws_secret_access_key=sk,
        region_name=REGION,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      connect_timeout=5, read_timeout=timeout,
                      retries={"max_attempts": 1, "mode": "standard"}))


def _body(n, seed):
    """n bytes that differ at every MiB and between seeds (a misplaced part shows)."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += (b"%s-%08d-" % (seed, i)) * 4096
        i += 1
    return bytes(out[:n])


def _gateways(root, meta, n=2, admin_port=None):
    """n gateways on one store: meta (a PostgreSQL URI), lib.shared_blobs(root), root/master.key."""
    blobs = lib.shared_blobs(root)
    key = os.path.join(root, "master.key")
    gw = []
    for i in range(n):
        data = os.path.join(root, "gw%d" % i)
        os.makedirs(data)
        conf = os.path.join(data, "cofferd.conf")
        with open(conf, "w") as f:
            f.write("meta = %s\nblobs = %s\nmaster-key = %s\n" % (meta, blobs, key))
        args = ["--config", conf]
        if admin_port is not None and i == 0:
            args += ["--admin-listen", "127.0.0.1:%d" % admin_port]
        srv = lib.Server(data=data, log=os.path.join(root, "gw%d.log" % i), args=args)
        srv.start()
        gw.append(srv)
    return gw


def _slow_put_killed(test, srv, ak, sk, path, body, kill_after, query=()):
    """Streams a PUT of body to srv in 256 KiB pieces with short pauses, kills srv (SIGKILL)
    once kill_after bytes are sent, and checks that the client saw the connection end without
    a success."""
    s = lib.sign("PUT", path, query=query, headers={"Content-Length": str(len(body))},
                 host=srv.host, ak=ak, sk=sk, payload_hash="UNSIGNED-PAYLOAD")
    sock = socket.create_connection(("127.0.0.1", srv.http_port), timeout=10)
    try:
        head = "PUT %s HTTP/1.1\r\n" % s.target
        head += "".join("%s: %s\r\n" % kv for kv in s.headers.items())
        head += "Content-Length: %d\r\n\r\n" % len(body)
        sock.sendall(head.encode())
        sent = 0
        while sent < kill_after:
            sock.sendall(body[sent:sent + 256 * 1024])
            sent += 256 * 1024
            time.sleep(0.01)
        test.assertEqual(srv.kill(), -signal.SIGKILL)
        got = b""
        try:
            while True:
                d = sock.recv(65536)
                if not d:
                    break
                got += d
        except OSError:
            pass
        test.assertFalse(got.startswith(b"HTTP/1.1 200"), got[:200])
    finally:
        sock.close()


@unittest.skipUnless(PG, "needs the PostgreSQL run (E2E_META_PG, scripts/pg.sh)")
class GatewayKilledTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        base = os.environ.get("E2E_TMP") or tempfile.gettempdir()
        cls.root = tempfile.mkdtemp(prefix="gwkill.", dir=base)
        cls.gw = _gateways(cls.root, lib.pg_meta())
        cls.acct = cls.gw[0].account("gwk-" + lib.rand_suffix(6))
        cls.ak, cls.sk = cls.acct["access_key_id"], cls.acct["secret_access_key"]
        cls.s3 = [_client(g, cls.ak, cls.sk) for g in cls.gw]

    @classmethod
    def tearDownClass(cls):
        for g in cls.gw:
            g.close()
        shutil.rmtree(cls.root, ignore_errors=True)

    def setUp(self):
        for g in self.gw:  # a test that failed half way may have left one killed
            if not g.running():
                g.start(keep_ports=True)

    def _versioned_bucket(self, tag):
        b = lib.bucket_name(tag)
        self.s3[0].create_bucket(Bucket=b)
        self.s3[1].put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        return b

    def _every_version_whole(self, b, key, want):
        """Every version of key listed has its data (read through gateway 1: 0 may be
        down); returns the bodies, newest first."""
        vs = self.s3[1].list_object_versions(Bucket=b, Prefix=key).get("Versions", [])
        bodies = []
        for v in vs:
            self.assertEqual(v["Key"], key)
            got = self.s3[1].get_object(Bucket=b, Key=key, VersionId=v["VersionId"])
            data = got["Body"].read()
            self.assertEqual(len(data), v["Size"])
            bodies.append(data)
        self.assertEqual(sorted(bodies), sorted(want))
        return bodies

    def test_multipart_parts_on_both_gateways(self):
        b = self._versioned_bucket("gwk-mp")
        p1, p2 = _body(5 * MIB, b"one"), _body(MIB + 17, b"two")
        up = self.s3[0].create_multipart_upload(Bucket=b, Key="m")["UploadId"]
        e1 = self.s3[0].upload_part(Bucket=b, Key="m", UploadId=up, PartNumber=1, Body=p1)
        e2 = self.s3[1].upload_part(Bucket=b, Key="m", UploadId=up, PartNumber=2, Body=p2)
        parts = self.s3[0].list_parts(Bucket=b, Key="m", UploadId=up)["Parts"]
        self.assertEqual([p["PartNumber"] for p in parts], [1, 2])
        self.s3[0].complete_multipart_upload(
            Bucket=b, Key="m", UploadId=up, MultipartUpload={"Parts": [
                {"PartNumber": 1, "ETag": e1["ETag"]}, {"PartNumber": 2, "ETag": e2["ETag"]}]})
        self.assertEqual(self.s3[1].get_object(Bucket=b, Key="m")["Body"].read(), p1 + p2)
        self._every_version_whole(b, "m", [p1 + p2])

    def test_put_killed_mid_body_retried_on_other_gateway(self):
        b = self._versioned_bucket("gwk-put")
        old = b"the version before"
        self.s3[0].put_object(Bucket=b, Key="big", Body=old)
        body = _body(20 * MIB, b"big")
        t0 = time.time()
        _slow_put_killed(self, self.gw[0], self.ak, self.sk, "/%s/big" % b, body, 6 * MIB)
        try:
            r = self.s3[1].put_object(Bucket=b, Key="big", Body=body)
            took = time.time() - t0
            got = self.s3[1].get_object(Bucket=b, Key="big")
            self.assertEqual(got["VersionId"], r["VersionId"])
            self.assertEqual(got["Body"].read(), body)
            # The killed PUT left no version: the one before and the retried one, both whole.
            bodies = self._every_version_whole(b, "big", [body, old])
            self.assertEqual(bodies[0], body)
            print("  PUT killed at 6 of 20 MiB on gateway 0, retried on 1: %.1f s" % took)
        finally:
            self.gw[0].start(keep_ports=True)
        self.assertEqual(self.s3[0].get_object(Bucket=b, Key="big")["Body"].read(), body)

    def test_multipart_gateway_killed_mid_part(self):
        b = self._versioned_bucket("gwk-mpk")
        p = [_body(5 * MIB, b"p1"), _body(8 * MIB, b"p2"), _body(3 * MIB, b"p3")]
        up = self.s3[0].create_multipart_upload(Bucket=b, Key="m")["UploadId"]
        etags = {1: self.s3[0].upload_part(Bucket=b, Key="m", UploadId=up, PartNumber=1,
                                           Body=p[0])["ETag"]}
        _slow_put_killed(self, self.gw[0], self.ak, self.sk, "/%s/m" % b, p[1], 3 * MIB,
                         query=[("partNumber", "2"), ("uploadId", up)])
        try:
            for n in (2, 3):
                etags[n] = self.s3[1].upload_part(Bucket=b, Key="m", UploadId=up, PartNumber=n,
                                                  Body=p[n - 1])["ETag"]
            parts = self.s3[1].list_parts(Bucket=b, Key="m", UploadId=up)["Parts"]
            self.assertEqual([(x["PartNumber"], x["Size"]) for x in parts],
                             [(n, len(p[n - 1])) for n in (1, 2, 3)])
            self.s3[1].complete_multipart_upload(
                Bucket=b, Key="m", UploadId=up, MultipartUpload={"Parts": [
                    {"PartNumber": n, "ETag": etags[n]} for n in (1, 2, 3)]})
            whole = b"".join(p)
            self.assertEqual(self.s3[1].get_object(Bucket=b, Key="m")["Body"].read(), whole)
            self._every_version_whole(b, "m", [whole])
            self.assertEqual(self.s3[1].list_multipart_uploads(Bucket=b).get("Uploads", []), [])
        finally:
            self.gw[0].start(keep_ports=True)


def _pg_sh(pgdir, *args):
    env = dict(os.environ, COFFER_PG_DIR=pgdir)
    r = subprocess.run(["bash", PG_SH] + list(args), env=env, capture_output=True, text=True,
                       timeout=90)
    if r.returncode != 0:
        raise RuntimeError("scripts/pg.sh %s: %s" % (" ".join(args), r.stderr))
    return r.stdout.strip()


def _outcome(fn):
    """Runs fn: ('ok', seconds) or (HTTP status and S3 code, or the exception's name, seconds)."""
    t0 = time.time()
    try:
        fn()
        what = "ok"
    except ClientError as e:
        what = "%s %s" % (e.response["ResponseMetadata"]["HTTPStatusCode"],
                          e.response["Error"]["Code"])
        if what == "503 503":  # HEAD: no body, so no code
            what = "503 SlowDown"
    except Exception as e:  # a timeout or a dropped connection: reported by the test
        what = type(e).__name__
    return what, time.time() - t0


@unittest.skipUnless(PG, "needs the PostgreSQL run (E2E_META_PG, scripts/pg.sh)")
class PostgresRestartTest(unittest.TestCase):
    """Its own PostgreSQL, stopped and started again with its data (scripts/pg.sh restart)."""

    @classmethod
    def setUpClass(cls):
        # As root, scripts/pg.sh runs PostgreSQL as the user postgres, who must reach the
        # cluster's directory: a root others may pass through.
        base = os.environ.get("E2E_TMP") or tempfile.gettempdir()
        if not os.stat(base).st_mode & 0o001:
            base = tempfile.gettempdir()
        cls.root = tempfile.mkdtemp(prefix="gwpg.", dir=base)
        os.chmod(cls.root, 0o711)
        cls.pgdir = os.path.join(cls.root, "pg")
        cls.gw = []
        try:
            uri = _pg_sh(cls.pgdir, "start")
            meta = _pg_sh(cls.pgdir, "createdb", "coffer")
            assert meta == uri + "coffer", (meta, uri)
            cls.admin_port = lib.free_port()
            cls.gw = _gateways(cls.root, meta, admin_port=cls.admin_port)
        except Exception:
            cls.tearDownClass()
            raise
        acct = cls.gw[0].account("gwpg-" + lib.rand_suffix(6))
        cls.ak, cls.sk = acct["access_key_id"], acct["secret_access_key"]
        cls.s3 = [_client(g, cls.ak, cls.sk, timeout=BOUND + 5) for g in cls.gw]

    @classmethod
    def tearDownClass(cls):
        for g in cls.gw:
            g.close()
        try:
            _pg_sh(cls.pgdir, "purge")
        finally:
            shutil.rmtree(cls.root, ignore_errors=True)

    def _ready(self):
        ctx = ssl.create_default_context(cafile=os.path.join(self.gw[0].data, "tls", "ca.pem"))
        ctx.check_hostname = False
        conn = http.client.HTTPSConnection("127.0.0.1", self.admin_port, timeout=BOUND + 5,
                                           context=ctx)
        t0 = time.time()
        try:
            conn.request("GET", "/health/ready")
            r = conn.getresponse()
            return r.status, r.read().decode(errors="replace").strip(), time.time() - t0
        except OSError as e:  # a timeout: the probe hangs
            return 0, "no answer: %r" % e, time.time() - t0
        finally:
            conn.close()

    def _ops(self, b, i, tag):
        """The requests tried on gateway i during and after the outage: name -> callable."""
        c = self.s3[i]
        return {
            "PutObject": lambda: c.put_object(Bucket=b, Key="%s-%d" % (tag, i), Body=b"x"),
            "GetObject": lambda: c.get_object(Bucket=b, Key="before-0")["Body"].read(),
            "HeadObject": lambda: c.head_object(Bucket=b, Key="before-1"),
            "ListObjectsV2": lambda: c.list_objects_v2(Bucket=b),
            "CreateMultipartUpload": lambda: c.create_multipart_upload(Bucket=b, Key="mp"),
        }

    def test_restart_gives_503_then_recovers(self):
        b = lib.bucket_name("gwpg")
        self.s3[0].create_bucket(Bucket=b)
        acked = {}
        for n in range(20):
            k = "before-%d" % n
            self.s3[n % 2].put_object(Bucket=b, Key=k, Body=k.encode())
            acked[k] = k.encode()
        self.assertEqual(self._ready()[0], 200)

        # A writer on each gateway throughout: what it gets acknowledged must survive.
        stop = threading.Event()
        seen = []
        lock = threading.Lock()

        def writer(i):
            c = _client(self.gw[i], self.ak, self.sk, timeout=BOUND + 5)
            n = 0
            while not stop.is_set():
                k = "w%d-%d" % (i, n)
                n += 1
                what, took = _outcome(lambda: c.put_object(Bucket=b, Key=k, Body=k.encode()))
                with lock:
                    seen.append((what, took))
                    if what == "ok":
                        acked[k] = k.encode()
                time.sleep(0.05)

        th = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
        for t in th:
            t.start()
        try:
            time.sleep(0.5)
            t_down = time.time()
            _pg_sh(self.pgdir, "stop")
            down = {}
            # Two rounds: the first finds the connections gone, the second tries to connect.
            for rnd in range(2):
                for i in range(2):
                    for name, fn in self._ops(b, i, "down%d" % rnd).items():
                        down["%s gw%d #%d" % (name, i, rnd)] = _outcome(fn)
            ready_down = self._ready()
            down_for = time.time() - t_down
            t_up = time.time()
            _pg_sh(self.pgdir, "restart")
            restart_took = time.time() - t_up
            # Back: every request succeeds again on both gateways, without restarting them.
            recovered = {}
            deadline = time.time() + BOUND
            for i in range(2):
                for name, fn in self._ops(b, i, "up").items():
                    failed = []
                    while True:
                        what, took = _outcome(fn)
                        if what == "ok" or time.time() > deadline:
                            break
                        failed.append(what)
                        time.sleep(0.2)
                    recovered["%s gw%d" % (name, i)] = (what, time.time() - t_up, failed)
            time.sleep(0.5)
        finally:
            stop.set()
            for t in th:
                t.join()

        print("\n  PostgreSQL down %.1f s; restart took %.1f s" % (down_for, restart_took))
        for k, (what, took) in sorted(down.items()):
            print("  down: %-32s %-16s %.2f s" % (k, what, took))
        print("  down: /health/ready %d %r %.2f s" % ready_down)
        for k, (what, took, failed) in sorted(recovered.items()):
            print("  up:   %-32s %-16s at %.2f s, after %r" % (k, what, took, failed))
        outcomes = {}
        for what, took in seen:
            outcomes.setdefault(what, []).append(took)
        for what, t in sorted(outcomes.items()):
            print("  writers: %-16s x%-4d longest %.2f s" % (what, len(t), max(t)))

        # Recovered, nothing lost; then what was answered meanwhile.
        for k, (what, took, failed) in recovered.items():
            self.assertEqual(what, "ok", k)
        self.assertEqual(self._ready()[0], 200)
        # Nothing acknowledged is lost, on either gateway.
        keys = set()
        for page in self.s3[1].get_paginator("list_objects_v2").paginate(Bucket=b):
            keys |= {o["Key"] for o in page.get("Contents", [])}
        self.assertLessEqual(set(acked), keys)
        for n, (k, v) in enumerate(sorted(acked.items())):
            self.assertEqual(self.s3[n % 2].get_object(Bucket=b, Key=k)["Body"].read(), v, k)
        for what, took in seen:
            self.assertIn(what, ("ok", "503 SlowDown"))
            self.assertLess(took, BOUND)
        for k, (what, took) in down.items():
            self.assertEqual(what, "503 SlowDown", k)
            self.assertLess(took, BOUND, k)
        self.assertEqual(ready_down[0], 503, ready_down)
        self.assertIn("metadata store", ready_down[1])
        self.assertLess(ready_down[2], BOUND)

    def test_server_that_does_not_answer(self):
        """PostgreSQL's port accepts connections and never answers (a hung or overloaded
        server; here a listener of the test's own in its place): every connection attempt
        must give up, so requests still end with 503 within the bound."""
        b = lib.bucket_name("gwpg-mute")
        self.s3[1].create_bucket(Bucket=b)
        for n in range(2):
            self.s3[n].put_object(Bucket=b, Key="before-%d" % n, Body=b"x")
        with open(os.path.join(self.pgdir, "port")) as f:
            port = int(f.read())
        _pg_sh(self.pgdir, "stop")
        mute = socket.socket()
        conns = []
        try:
            mute.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            mute.bind(("127.0.0.1", port))
            mute.listen(512)
            mute.settimeout(0.1)
            stop = threading.Event()

            def accept():  # hold every connection open, read nothing, answer nothing
                while not stop.is_set():
                    try:
                        conns.append(mute.accept()[0])
                    except OSError:
                        pass

            th = threading.Thread(target=accept)
            th.start()
            try:
                # All at once (each attempt to connect waits): many workers of each gateway
                # meet the mute server together.
                res = {}

                def run(key, fn):
                    res[key] = _outcome(fn)

                calls = [threading.Thread(target=run, args=("%s gw%d" % (name, i), fn))
                         for i in range(2) for name, fn in self._ops(b, i, "mute").items()]
                for t in calls:
                    t.start()
                ready = self._ready()
                for t in calls:
                    t.join()
            finally:
                stop.set()
                th.join()
        finally:
            for c in conns:
                c.close()
            mute.close()
        t_up = time.time()
        _pg_sh(self.pgdir, "restart")
        for k, (what, took) in sorted(res.items()):
            print("  mute: %-32s %-16s %.2f s" % (k, what, took))
        print("  mute: /health/ready %d %r %.2f s" % ready)
        for k, (what, took) in res.items():
            self.assertEqual(what, "503 SlowDown", k)
            self.assertLess(took, BOUND, k)
        self.assertEqual(ready[0], 503, ready)
        deadline = time.time() + BOUND
        for i in range(2):
            while True:
                what, took = _outcome(self._ops(b, i, "up")["PutObject"])
                if what == "ok" or time.time() > deadline:
                    break
                time.sleep(0.2)
            self.assertEqual(what, "ok", "gateway %d after the restart" % i)
        print("  mute: both gateways write again %.2f s after the restart began"
              % (time.time() - t_up))


if __name__ == "__main__":
    unittest.main()
