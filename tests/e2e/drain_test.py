"""Server lifecycle. Graceful drain: SIGTERM while an upload is in flight. The upload completes,
new connections are refused, idle keep-alive connections are closed, and cofferd exits 0. A
second cofferd on the same data directory refuses to start. Slow uploads holding every worker do
not stall other requests. Each test starts its own cofferd on its own ports and data dir and
signals only that PID."""

import hashlib
import os
import signal
import time
import unittest

import lib
from lib import RawConn, Server, port_open, sign, signed_bytes


class DrainTest(lib.E2ETestCase):
    def setUp(self):
        super().setUp()
        self.srv = Server(tag="drain")
        self.srv.start()
        self.acct = self.srv.account("drain")
        self.ak = self.acct["access_key_id"]
        self.sk = self.acct["secret_access_key"]
        self.bucket = lib.bucket_name("drain")
        r = self.raw("PUT", "/" + self.bucket)
        self.assertEqual(r.status, 200, repr(r))

    def tearDown(self):
        report = self.srv.close()
        super().tearDown()
        self.assertEqual(report, "", "sanitizer report in cofferd log")

    def host(self):
        return self.srv.host

    def raw(self, method, path, body=b""):
        s = sign(method, path, body=body, host=self.host(), ak=self.ak, sk=self.sk)
        rc = RawConn(port=self.srv.http_port)
        try:
            rc.sendall(signed_bytes(s))
            return rc.read_response(head=(method == "HEAD"))
        finally:
            rc.close()

    def wait_exit(self, timeout):
        try:
            return self.srv.proc.wait(timeout)
        except Exception:
            self.fail("cofferd still running %ss after SIGTERM; log:\n%s"
                      % (timeout, self.srv.log_tail()))

    def threads(self):
        with open("/proc/%d/status" % self.srv.proc.pid) as f:
            return int(next(l for l in f if l.startswith("Threads:")).split()[1])

    def hold_workers_and_serve(self, n_slow, big):
        """n_slow uploads stall mid-body, each holding a worker (a body over 64 KiB streams to
        a worker as it arrives); meanwhile a PUT and a GET of a file-backed object must be
        answered at once. Then the uploads complete. Returns the peak thread count."""
        slow, bodies = [], []
        try:
            for i in range(n_slow):
                body = os.urandom(1024 * 1024)
                req = signed_bytes(sign("PUT", "/%s/slow%d" % (self.bucket, i), body=body,
                                        host=self.host(), ak=self.ak, sk=self.sk))
                head_len = len(req) - len(body)
                rc = RawConn(port=self.srv.http_port)
                rc.sendall(req[:head_len + 100 * 1024])
                slow.append((rc, req[head_len + 100 * 1024:]))
                bodies.append(body)
            time.sleep(0.5)
            t0 = time.time()
            for method, path, body in (("PUT", "/%s/during" % self.bucket, os.urandom(100 * 1024)),
                                       ("GET", "/%s/big" % self.bucket, b"")):
                rc = RawConn(port=self.srv.http_port, timeout=10)
                try:
                    rc.sendall(signed_bytes(sign(method, path, body=body, host=self.host(),
                                                 ak=self.ak, sk=self.sk)))
                    r = rc.read_response()
                finally:
                    rc.close()
                self.assertEqual(r.status, 200, repr(r))
                if method == "GET":
                    self.assertEqual(r.body, big)
            self.assertLess(time.time() - t0, 10)
            peak = self.threads()
            # The stalled uploads then complete normally.
            for (rc, rest), body in zip(slow, bodies):
                rc.sendall(rest)
                r = rc.read_response()
                self.assertEqual(r.status, 200, repr(r))
                self.assertEqual(r.header("etag"), '"%s"' % hashlib.md5(body).hexdigest())
        finally:
            for rc, _ in slow:
                rc.close()
        for i, body in enumerate(bodies):
            r = self.raw("GET", "/%s/slow%d" % (self.bucket, i))
            self.assertEqual(hashlib.md5(r.body).hexdigest(), hashlib.md5(body).hexdigest())
        return peak

    def test_slow_uploads_holding_every_worker_do_not_stall_others(self):
        # Two workers always run. Without extra workers the PUT and GET
        # below would wait for the uploads' 60 s stall timeout.
        self.srv.args += ["--workers", "2", "--max-workers", "8"]
        self.srv.restart(kill=True)
        big = os.urandom(100 * 1024)
        self.assertEqual(self.raw("PUT", "/%s/big" % self.bucket, body=big).status, 200)
        base = self.threads()
        peak = self.hold_workers_and_serve(4, big)
        self.assertGreaterEqual(peak, base + 3, "extra workers were not started")
        self.assertLessEqual(peak, base + 6, "more workers than --max-workers")
        # Extra workers leave after 30 s without work...
        deadline = time.time() + 50
        while time.time() < deadline and self.threads() > base:
            time.sleep(1)
        self.assertEqual(self.threads(), base, "idle extra workers did not exit")
        # ...and their slots serve again (each exited thread joined first).
        self.hold_workers_and_serve(3, big)
        self.assertEqual(self.srv.stop(), 0, self.srv.log_tail())

    def test_second_cofferd_on_same_data_dir_refused(self):
        second = Server(data=self.srv.data, log=os.path.join(self.srv.root, "second.log"))
        with self.assertRaises(RuntimeError):
            second.start(timeout=20)
        log = second.log_tail()
        self.assertEqual(second.proc.returncode, 1, log)
        self.assertIn("another cofferd is running on this data directory", log)
        self.assertFalse(port_open(second.http_port), "the refused cofferd must not listen")
        # The first one is untouched and still serves.
        r = self.raw("PUT", "/%s/after" % self.bucket, body=b"still here")
        self.assertEqual(r.status, 200, repr(r))
        self.assertEqual(self.raw("GET", "/%s/after" % self.bucket).body, b"still here")

    def test_inflight_upload_completes_after_sigterm(self):
        body = os.urandom(2 * 1024 * 1024)
        s = sign("PUT", "/%s/slow" % self.bucket, body=body, host=self.host(), ak=self.ak,
                 sk=self.sk)
        req = signed_bytes(s)
        head_len = len(req) - len(body)
        rc = RawConn(port=self.srv.http_port)
        try:
            rc.sendall(req[:head_len + len(body) // 2])
            time.sleep(0.3)
            self.srv.signal(signal.SIGTERM)
            # the listener goes away while our upload is still open
            deadline = time.time() + 5
            while time.time() < deadline and port_open(self.srv.http_port):
                time.sleep(0.05)
            self.assertFalse(port_open(self.srv.http_port),
                             "new HTTP connections still accepted 5 s after SIGTERM")
            self.assertFalse(port_open(self.srv.tls_port),
                             "new TLS connections still accepted after SIGTERM")
            self.assertIsNone(self.srv.proc.poll(), "exited before the upload finished")
            rest = req[head_len + len(body) // 2:]
            for i in range(0, len(rest), len(rest) // 8 + 1):
                rc.sendall(rest[i:i + len(rest) // 8 + 1])
                time.sleep(0.1)
            r = rc.read_response()
            self.assertEqual(r.status, 200, repr(r))
            self.assertEqual(r.header("etag"), '"%s"' % hashlib.md5(body).hexdigest())
        finally:
            rc.close()
        self.assertEqual(self.wait_exit(20), 0, self.srv.log_tail())
        # the acknowledged upload is durable
        self.srv.start()
        r = self.raw("GET", "/%s/slow" % self.bucket)
        self.assertEqual(r.status, 200)
        self.assertEqual(hashlib.md5(r.body).hexdigest(), hashlib.md5(body).hexdigest())
        self.assertEqual(self.srv.stop(), 0)

    def test_idle_keepalive_connection_does_not_block_exit(self):
        rc = RawConn(port=self.srv.http_port)
        try:
            s = sign("GET", "/", host=self.host(), ak=self.ak, sk=self.sk)
            rc.sendall(signed_bytes(s))
            self.assertEqual(rc.read_response().status, 200)
            t0 = time.time()
            self.srv.signal(signal.SIGTERM)
            self.assertEqual(self.wait_exit(15), 0, self.srv.log_tail())
            self.assertLess(time.time() - t0, 15)
            rc.sock.settimeout(5)
            try:
                self.assertEqual(rc.sock.recv(1), b"")
            except ConnectionResetError:
                pass
        finally:
            rc.close()

    def test_idle_server_sigterm_exit_0(self):
        t0 = time.time()
        self.assertEqual(self.srv.stop(timeout=15), 0, self.srv.log_tail())
        self.assertLess(time.time() - t0, 10)


if __name__ == "__main__":
    unittest.main()
