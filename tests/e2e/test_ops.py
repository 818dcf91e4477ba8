"""Operator habits: --version on both binaries, SIGHUP reopening the access log after a
logrotate-style rename while requests keep flowing, and `coffer backup --to DIR` of a server
under write load restored into a second cofferd. Each test starts its own cofferd."""

import json
import os
import signal
import subprocess
import threading
import time
import unittest

import lib
from lib import Server


def read_lines(path):
    with open(path, "rb") as f:
        return [json.loads(line) for line in f.read().splitlines() if line.strip()]


class VersionTest(lib.E2ETestCase):
    def test_version(self):
        for prog in ("cofferd", "coffer"):
            out = subprocess.run([os.path.join(lib.env().bin, prog), "--version"],
                                 capture_output=True, text=True, timeout=10)
            self.assertEqual(out.returncode, 0, out.stderr)
            words = out.stdout.split()
            self.assertEqual(len(words), 2, out.stdout)
            self.assertEqual(words[0], prog)
            self.assertRegex(words[1], r"^\d+\.\d+\.\d+")
        # One version string for both.
        outs = {subprocess.run([os.path.join(lib.env().bin, p), "--version"],
                               capture_output=True, text=True).stdout.split()[1]
                for p in ("cofferd", "coffer")}
        self.assertEqual(len(outs), 1, outs)


class SighupTest(lib.E2ETestCase):
    def setUp(self):
        super().setUp()
        self.srv = Server(tag="hup")
        self.access = os.path.join(self.srv.root, "access.log")
        self.srv.args += ["--access-log", self.access]
        self.srv.start()
        acct = self.srv.account("hup")
        self.c = lib.client(acct["access_key_id"], acct["secret_access_key"],
                            endpoint=self.srv.http)

    def tearDown(self):
        report = self.srv.close()
        self.assertEqual(report, "")
        super().tearDown()

    def test_rotate(self):
        bucket = lib.bucket_name("hup")
        self.c.create_bucket(Bucket=bucket)
        stop = threading.Event()
        errors = []
        n_done = [0]

        # A client writing all along: every request is answered, before, during and after.
        def load():
            i = 0
            while not stop.is_set():
                try:
                    self.c.put_object(Bucket=bucket, Key="k%d" % (i % 20), Body=b"x" * 100)
                    n_done[0] += 1
                except Exception as e:  # noqa: BLE001
                    errors.append(repr(e))
                i += 1

        t = threading.Thread(target=load)
        t.start()
        try:
            time.sleep(0.5)
            rotated = self.access + ".1"
            os.rename(self.access, rotated)
            time.sleep(0.2)
            for _ in range(3):
                self.srv.signal(signal.SIGHUP)
                time.sleep(0.3)
            self.assertTrue(self.srv.running(), self.srv.log_tail())
            before = n_done[0]
            deadline = time.time() + 10
            while n_done[0] < before + 20 and time.time() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            t.join(30)
        self.assertEqual(errors, [])
        self.c.head_bucket(Bucket=bucket)  # marker request, lands in the new file
        self.assertTrue(self.srv.running(), self.srv.log_tail())
        # A line is written just after its response: drain first, then count.
        self.assertEqual(self.srv.stop(), 0)
        old = read_lines(rotated)
        new = read_lines(self.access)
        self.assertGreater(len(old), 0)
        self.assertGreater(len(new), 20)
        # Every line whole and in exactly one file: the old one has the earlier requests.
        self.assertGreaterEqual(len(old) + len(new), n_done[0] + 2)


if __name__ == "__main__":
    unittest.main()
