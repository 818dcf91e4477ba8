"""The admin listener (issue 16): cofferd --admin-listen serves /health/live, /health/ready and
/metrics (Prometheus text, Authorization: Bearer with the token of DIR/metrics.token), and
nothing else; the S3 listeners never serve them. Counters are checked after real boto3 requests
(op and code labels, bytes, the duration histogram), the token is rotated with `coffer metrics
token --rotate`, readiness turns 503 while the server drains and when the data directory is
unusable. Each test starts its own cofferd (counters start at zero)."""

import http.client
import os
import re
import socket
import ssl
import stat
import subprocess
import tempfile
import time
import unittest

import botocore.exceptions

import lib
from lib import Server

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text format 0.0.4 -> ({(name, frozenset(labels)): float}, {name: type}),
    failing on any line that is not a comment or a well-formed sample."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
            continue
        if line.startswith("# HELP ") or line == "":
            continue
        m = SAMPLE.match(line)
        if m is None:
            raise AssertionError("not a sample line: %r" % line)
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        key = (m.group(1), labels)
        if key in samples:
            raise AssertionError("duplicate series: %r" % line)
        samples[key] = float(m.group(4))
    return samples, types


class AdminTest(lib.E2ETestCase):
    def start(self, *args):
        self.admin_port = lib.free_port()
        self.srv = Server(tag="admin", args=["--admin-listen", "127.0.0.1:%d" % self.admin_port]
                          + list(args))
        self.srv.start()
        self.wait_admin()
        self.acct = self.srv.account("admin")
        self.c = lib.client(self.acct["access_key_id"], self.acct["secret_access_key"],
                            endpoint=self.srv.http)

    def wait_admin(self):
        deadline = time.time() + 10
        while not lib.port_open(self.admin_port):
            self.assertLess(time.time(), deadline, "admin port never opened")
            time.sleep(0.05)

    def tearDown(self):
        if getattr(self, "srv", None) is not None:
            report = self.srv.close()
            self.assertEqual(report, "")
        super().tearDown()

    def admin(self, path, method="GET", headers=None, port=None):
        """A request to the admin listener: HTTPS only, with the server's certificate."""
        ctx = ssl.create_default_context(cafile=os.path.join(self.srv.data, "tls", "ca.pem"))
        ctx.check_hostname = False
        conn = http.client.HTTPSConnection("127.0.0.1", port or self.admin_port, timeout=30,
                                           context=ctx)
        try:
            conn.request(method, path, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def token(self):
        with open(os.path.join(self.srv.data, "metrics.token")) as f:
            return f.read().strip()

    def scrape(self, token=None):
        status, h, body = self.admin("/metrics", headers={
            "Authorization": "Bearer " + (token or self.token())})
        self.assertEqual(status, 200, body)
        self.assertEqual(h["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        return parse_metrics(body.decode())

    def coffer(self, *args):
        out = subprocess.run([os.path.join(self.srv.admin_bin, "coffer"), "--data", self.srv.data]
                             + list(args), capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    # ---- probes and refusals ----------------------------------------------------------------

    def test_probes_and_refusals(self):
        self.start()
        self.assertEqual(self.admin("/health/live")[0], 200)
        status, _, body = self.admin("/health/ready")
        self.assertEqual((status, body), (200, b"ready\n"))
        self.assertEqual(self.admin("/health/live", method="HEAD")[0], 200)
        # HTTPS only: the listener carries the metrics token and the dashboard's login links.
        # A plain-HTTP request gets no HTTP answer (the TLS handshake fails).
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=10)
        with self.assertRaises((http.client.HTTPException, ConnectionError, OSError)):
            conn.request("GET", "/health/live")
            conn.getresponse()
        conn.close()
        # Other paths and methods; / is the web dashboard (test_dashboard.py): 401 without a
        # session.
        for path in ("/health", "/metrics/x", "/health/live/", "/index.html"):
            self.assertEqual(self.admin(path)[0], 404, path)
        self.assertEqual(self.admin("/")[0], 401)
        for path in ("/health/live", "/health/ready", "/metrics"):
            status, h, _ = self.admin(path, method="POST")
            self.assertEqual(status, 405, path)
            self.assertIn("GET", h["allow"])
        # /metrics needs the token.
        for headers in ({}, {"Authorization": "Bearer wrong"},
                        {"Authorization": "Bearer " + self.token() + "x"},
                        {"Authorization": "Bearer " + self.token()[:-1]},
                        {"Authorization": "Basic " + self.token()}):
            status, h, body = self.admin("/metrics", headers=headers)
            self.assertEqual(status, 401, headers)
            self.assertTrue(h["www-authenticate"].startswith("Bearer"))
            self.assertNotIn(b"coffer_", body)
        self.scrape()
        # The token file: mode 0600, one line of 40 characters.
        st = os.stat(os.path.join(self.srv.data, "metrics.token"))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertRegex(self.token(), r"^[A-Za-z0-9]{40}$")
        # The S3 listeners never serve the admin paths, token or not.
        for path in ("/metrics", "/health/live", "/health/ready"):
            conn = http.client.HTTPConnection("127.0.0.1", self.srv.http_port, timeout=30)
            conn.request("GET", path, headers={"Authorization": "Bearer " + self.token()})
            r = conn.getresponse()
            body = r.read()
            conn.close()
            self.assertNotEqual(r.status, 200, path)
            self.assertNotIn(b"coffer_requests_total", body)
            self.assertIn(b"<Code>", body)  # an S3 error document
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.http_port, timeout=30)
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        self.assertEqual((r.status, lib.parse_error(r.read())[0]), (404, "NoSuchBucket"))
        conn.close()

    # ---- counters ---------------------------------------------------------------------------

    def test_counters_follow_requests(self):
        self.start()
        before, types = self.scrape()
        self.assertEqual(types["coffer_requests_total"], "counter")
        self.assertEqual(types["coffer_request_duration_seconds"], "histogram")
        self.assertEqual(before.get(("coffer_buckets", frozenset())), 0)
        b = lib.bucket_name("adm")
        self.c.create_bucket(Bucket=b)
        for i in range(3):
            self.c.put_object(Bucket=b, Key="k%d" % i, Body=b"x" * 1000)
        self.assertEqual(self.c.get_object(Bucket=b, Key="k0")["Body"].read(), b"x" * 1000)
        with self.assertRaises(botocore.exceptions.ClientError):
            self.c.get_object(Bucket=b, Key="missing")
        self.c.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        # x-amz-mfa over plain HTTP is refused before anything else: a counted MFA check.
        with self.assertRaises(botocore.exceptions.ClientError):
            self.c.put_bucket_versioning(Bucket=b, MFA="arn:aws:iam::000000000001:mfa/x 123456",
                                         VersioningConfiguration={"Status": "Enabled",
                                                                  "MFADelete": "Enabled"})
        m, _ = self.scrape()

        def req(op, code):
            return m.get(("coffer_requests_total", frozenset({("op", op), ("code", code)})), 0)

        self.assertEqual(req("CreateBucket", "200"), 1)
        self.assertEqual(req("PutObject", "200"), 3)
        self.assertEqual(req("GetObject", "200"), 1)
        self.assertEqual(req("GetObject", "404"), 1)
        self.assertEqual(req("PutBucketVersioning", "200"), 1)
        # Refused before routing (x-amz-mfa over plain HTTP goes first): no operation yet.
        self.assertEqual(req("unknown", "400"), 1)
        hist = {k: v for k, v in m.items() if k[0].startswith("coffer_request_duration_seconds")
                and ("op", "PutObject") in k[1]}
        count = hist[("coffer_request_duration_seconds_count", frozenset({("op", "PutObject")}))]
        inf = hist[("coffer_request_duration_seconds_bucket",
                    frozenset({("op", "PutObject"), ("le", "+Inf")}))]
        self.assertEqual((count, inf), (3, 3))
        self.assertGreater(hist[("coffer_request_duration_seconds_sum",
                                 frozenset({("op", "PutObject")}))], 0)
        buckets = sorted((float(dict(k[1])["le"]), v) for k, v in hist.items()
                         if k[0].endswith("_bucket") and dict(k[1])["le"] != "+Inf")
        self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets))  # cumulative
        # Bytes: three 1000-byte bodies in, one out (plus error and XML bodies).
        self.assertGreaterEqual(m[("coffer_bytes_received_total", frozenset())], 3000)
        self.assertLess(m[("coffer_bytes_received_total", frozenset())], 3000 + 2000)
        self.assertGreaterEqual(m[("coffer_bytes_sent_total", frozenset())], 1000)
        self.assertEqual(m[("coffer_buckets", frozenset())], 1)
        self.assertEqual(m[("coffer_versioning_enabled_buckets", frozenset())], 1)
        self.assertEqual(m[("coffer_mfa_delete_enabled_buckets", frozenset())], 0)
        self.assertEqual(m[("coffer_mfa_checks_total", frozenset({("result", "insecure")}))], 1)
        self.assertGreater(m[("coffer_workers", frozenset())], 0)
        self.assertGreaterEqual(m[("coffer_md_writes_total", frozenset())], 5)
        self.assertGreaterEqual(m[("coffer_md_group_jobs_count", frozenset())],
                                m[("coffer_md_groups_total", frozenset())] - 1)
        self.assertIn(("coffer_connections_open", frozenset()), m)
        # The admin listener's own requests are not counted as S3 requests.
        self.assertFalse(any(dict(k[1]).get("op") in ("unknown",) and dict(k[1]).get("code")
                             == "401" for k in m if k[0] == "coffer_requests_total"))

    @unittest.skipUnless(os.environ.get("E2E_META_PG"), "round trips to PostgreSQL")
    def test_pg_round_trips_of_small_requests(self):
        # One worker, so that every request meets the same PostgreSQL connection and its row
        # cache. Once warm, a GET or HEAD of an inline object is one round trip that carries the
        # policy generation and the version row (md_version_prefetch), in one implicit
        # transaction: no transaction round trip of its own.
        self.start("--workers", "1", "--max-workers", "1")
        b = lib.bucket_name("rt")
        self.c.create_bucket(Bucket=b)
        self.c.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        v1 = self.c.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
        self.c.put_object(Bucket=b, Key="k", Body=b"two")
        self.c.put_object(Bucket=b, Key="j", Body=b"jay")

        def scrape():
            m, _ = self.scrape()
            return {dict(k[1])["kind"]: v for k, v in m.items()
                    if k[0] == "coffer_md_round_trips_total"}

        def trips(fn):
            """The round trips fn's requests cost, by kind. Each scrape reads the store too, and
            background work may run at any time, but neither takes any away: the least of a few
            tries, less the least of a few scrapes alone."""
            def least(f, tries):
                out = None
                for _ in range(tries):
                    a = scrape()
                    f()
                    b = scrape()
                    d = {k: b.get(k, 0) - a.get(k, 0) for k in set(a) | set(b) if k != "lease"}
                    if out is None or sum(d.values()) < sum(out.values()):
                        out = d
                return out
            scrape()  # the scrape's own statements prepared
            alone = least(lambda: None, 5)
            d = least(fn, 3)
            return {k: v - alone.get(k, 0) for k, v in d.items() if v != alone.get(k, 0)}

        def reads():
            got = [self.c.get_object(Bucket=b, Key="k")["Body"].read(),
                   self.c.get_object(Bucket=b, Key="j")["Body"].read(),
                   self.c.get_object(Bucket=b, Key="k", VersionId=v1)["Body"].read(),
                   self.c.head_object(Bucket=b, Key="j")["ContentLength"]]
            with self.assertRaises(botocore.exceptions.ClientError) as e:
                self.c.head_object(Bucket=b, Key="missing")
            self.assertEqual(e.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)
            return got

        want = [b"two", b"jay", b"one", 3]
        self.assertEqual(reads(), want)  # statements prepared, rows cached
        delta = trips(lambda: self.assertEqual(reads(), want))
        self.assertEqual(delta, {"statement": 5}, delta)

        # A change to the bucket's row moves the policy generation: the guess is dropped and the
        # request reads everything again in a snapshot of its own; then one round trip again.
        self.c.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "t", "Value": "1"}]})
        self.c.put_object(Bucket=b, Key="k", Body=b"three")
        self.assertEqual(self.c.get_object(Bucket=b, Key="k")["Body"].read(), b"three")
        delta = trips(lambda: self.assertEqual(
            self.c.get_object(Bucket=b, Key="k")["Body"].read(), b"three"))
        self.assertEqual(delta, {"statement": 1}, delta)

        # A PUT over a key of an unversioned bucket: the snapshot's policy_gen read (its COMMIT
        # not waited for), then in the writer's group the bucket's row with the key's null
        # version read sent along, and the group's version seq reservation; the null
        # version's removal, the insert and the demotion go without waiting, then the COMMIT.
        u = lib.bucket_name("rt-put")
        self.c.create_bucket(Bucket=u)
        self.c.put_object(Bucket=u, Key="p", Body=b"0")
        self.c.put_object(Bucket=u, Key="p", Body=b"0")  # statements prepared
        delta = trips(lambda: self.c.put_object(Bucket=u, Key="p", Body=b"1"))
        self.assertEqual(delta, {"statement": 3, "deferred": 3, "transaction": 2}, delta)
        self.assertEqual(self.c.get_object(Bucket=u, Key="p")["Body"].read(), b"1")

    def test_usage_gauges(self):
        """The store-usage gauges come from the latest usage refresh (coffer usage refresh
        here), not from a scan at scrape time."""
        self.start()
        m, _ = self.scrape()
        self.assertEqual(m[("coffer_usage_refreshed_seconds", frozenset())], 0)
        self.assertEqual(m[("coffer_objects", frozenset())], 0)
        b = lib.bucket_name("admu")
        self.c.create_bucket(Bucket=b)
        self.c.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        self.c.put_object(Bucket=b, Key="a", Body=b"x" * 100)
        self.c.put_object(Bucket=b, Key="a", Body=b"y" * 300)   # the 100 bytes: noncurrent
        self.c.put_object(Bucket=b, Key="b", Body=b"z" * 50)
        self.c.delete_object(Bucket=b, Key="b")                  # a marker; b's 50: noncurrent
        up = self.c.create_multipart_upload(Bucket=b, Key="big")["UploadId"]
        self.c.upload_part(Bucket=b, Key="big", UploadId=up, PartNumber=1, Body=b"p" * 700)
        m, _ = self.scrape()
        self.assertEqual(m[("coffer_objects", frozenset())], 0)  # no refresh yet
        self.coffer("usage", "refresh")
        m, _ = self.scrape()
        self.assertEqual(m[("coffer_objects", frozenset())], 1)
        self.assertEqual(m[("coffer_noncurrent_versions", frozenset())], 2)
        self.assertEqual(m[("coffer_delete_markers", frozenset())], 1)
        self.assertEqual(m[("coffer_incomplete_upload_bytes", frozenset())], 700)
        # current 300 + noncurrent 150 + the marker's key ("b": 1 byte) + the upload's 700
        self.assertEqual(m[("coffer_stored_bytes", frozenset())], 300 + 150 + 1 + 700)
        self.assertGreater(m[("coffer_usage_refreshed_seconds", frozenset())], time.time() - 600)

    def test_lifecycle_actions_counted(self):
        self.start("--lifecycle-day", "4", "--lifecycle-interval", "1")
        b = lib.bucket_name("admlc")
        self.c.create_bucket(Bucket=b)
        self.c.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        self.c.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
            {"ID": "dm", "Status": "Enabled", "Filter": {"Prefix": ""},
             "Expiration": {"ExpiredObjectDeleteMarker": True}}]})
        v1 = self.c.put_object(Bucket=b, Key="gone", Body=b"x")["VersionId"]
        self.c.delete_object(Bucket=b, Key="gone")
        self.c.delete_object(Bucket=b, Key="gone", VersionId=v1)
        key = ("coffer_lifecycle_actions_total", frozenset({("action", "expire-delete-marker")}))
        deadline = time.time() + 30
        while self.scrape()[0].get(key, 0) < 1:
            self.assertLess(time.time(), deadline, "the lone delete marker was never expired")
            time.sleep(0.2)
        self.assertEqual(self.c.list_object_versions(Bucket=b).get("DeleteMarkers", []), [])
        self.assertEqual(self.scrape()[0][key], 1)

    # ---- token ------------------------------------------------------------------------------

    def test_token_rotation(self):
        self.start()
        old = self.token()
        self.assertEqual(self.coffer("metrics", "token").strip(), old)
        self.scrape(old)
        new = self.coffer("metrics", "token", "--rotate").strip()
        self.assertRegex(new, r"^[A-Za-z0-9]{40}$")
        self.assertNotEqual(new, old)
        self.assertEqual(self.token(), new)
        st = os.stat(os.path.join(self.srv.data, "metrics.token"))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        status, _, _ = self.admin("/metrics", headers={"Authorization": "Bearer " + old})
        self.assertEqual(status, 401)
        self.scrape(new)
        # No temp file left behind.
        self.assertEqual([f for f in os.listdir(self.srv.data) if "metrics.token." in f], [])

    def test_config_file_key(self):
        port = lib.free_port()
        fd, path = tempfile.mkstemp(suffix=".conf")
        with os.fdopen(fd, "w") as f:
            f.write("admin-listen = 127.0.0.1:%d\n" % port)
        try:
            self.srv = Server(tag="admincfg", args=["--config", path])
            self.srv.start()
            self.admin_port = port
            self.wait_admin()
            self.assertEqual(self.admin("/health/live")[0], 200)
        finally:
            os.unlink(path)

    # ---- readiness --------------------------------------------------------------------------

    def test_ready_503_while_draining(self):
        self.start()
        b = lib.bucket_name("adm")
        self.c.create_bucket(Bucket=b)
        # A PUT in flight (half its body sent) keeps the drain going.
        body = b"y" * 100000
        s = lib.sign("PUT", "/%s/slow" % b, body=body, host=self.srv.host,
                     ak=self.acct["access_key_id"], sk=self.acct["secret_access_key"])
        sock = socket.create_connection(("127.0.0.1", self.srv.http_port), timeout=30)
        head = "PUT %s HTTP/1.1\r\n" % s.target
        for k, v in s.headers.items():
            head += "%s: %s\r\n" % (k, v)
        head += "Content-Length: %d\r\n\r\n" % len(body)
        sock.sendall(head.encode() + body[:1000])
        time.sleep(0.3)
        self.srv.signal(15)
        deadline = time.time() + 10
        while True:
            status, _, text = self.admin("/health/ready")
            if status == 503:
                break
            self.assertLess(time.time(), deadline, "ready never turned 503")
            time.sleep(0.05)
        self.assertIn(b"draining", text)
        self.assertEqual(self.admin("/health/live")[0], 200)
        m, _ = self.scrape()
        self.assertEqual(m[("coffer_draining", frozenset())], 1)
        sock.sendall(body[1000:])
        resp = sock.recv(65536)
        self.assertTrue(resp.startswith(b"HTTP/1.1 200"), resp[:200])
        sock.close()
        self.assertEqual(self.srv.proc.wait(30), 0)

    def test_ready_503_when_data_store_unusable(self):
        self.start()
        if lib.data_in_rados(self.srv.data):
            self.skipTest("breaks the files backend's directory; test_rados.py stops the OSD")
        self.assertEqual(self.admin("/health/ready")[0], 200)
        tmp = os.path.join(self.srv.data, "tmp")
        # The directory new data files are written in goes away (cofferd keeps its fd).
        os.rename(tmp, tmp + ".gone")
        os.rmdir(tmp + ".gone")
        status, _, text = self.admin("/health/ready")
        self.assertEqual(status, 503)
        self.assertIn(b"data store", text)
        self.assertEqual(self.admin("/health/live")[0], 200)


if __name__ == "__main__":
    unittest.main()
