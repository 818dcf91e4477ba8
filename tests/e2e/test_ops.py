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


class SigtermAtStartTest(lib.E2ETestCase):
    def test_sigterm_as_soon_as_the_port_answers_exits_0(self):
        """The listeners accept before the loop's signal handlers exist: a SIGTERM then waits
        for them (blocked meanwhile) and drains, exit 0, instead of killing the process."""
        for i in range(8):
            srv = Server(tag="sigterm-start")
            try:
                srv.spawn()
                deadline = time.time() + 30
                while not lib.port_open(srv.http_port) and time.time() < deadline:
                    self.assertIsNone(srv.proc.poll(), srv.log_tail())
                    time.sleep(0.002)
                srv.proc.send_signal(signal.SIGTERM)
                self.assertEqual(srv.proc.wait(30), 0, "run %d: %s" % (i, srv.log_tail()))
            finally:
                srv.close()


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


def coffer(data, *args):
    return subprocess.run([os.path.join(lib.env().bin, "coffer"), "--data", data] + list(args),
                          capture_output=True, text=True, timeout=300)


@lib.sqlite_only
class BackupTest(lib.E2ETestCase):
    """A backup taken under a concurrent PUT/overwrite/delete load restores into a second
    cofferd where every listed version reads back with its ETag."""

    def setUp(self):
        super().setUp()
        # A grace period longer than the backup: the consistency argument's premise.
        self.srv = Server(tag="backup", args=["--reclaim-grace", "120"])
        self.srv.start()
        self.acct = self.srv.account("backup")
        self.c = self.client(self.srv)
        self.srv2 = None

    def tearDown(self):
        reports = []
        if self.srv2 is not None:
            reports.append(self.srv2.close())
        reports.append(self.srv.close())
        self.assertEqual([r for r in reports if r], [])
        super().tearDown()

    def client(self, srv):
        return lib.client(self.acct["access_key_id"], self.acct["secret_access_key"],
                          endpoint=srv.http)

    def body(self, i, n):
        return (b"%08d" % i) * (n // 8)

    def test_backup_under_load_restores(self):
        plain, versioned = lib.bucket_name("bk"), lib.bucket_name("bkv")
        self.c.create_bucket(Bucket=plain)
        self.c.create_bucket(Bucket=versioned)
        self.c.put_bucket_versioning(Bucket=versioned,
                                     VersioningConfiguration={"Status": "Enabled"})
        sizes = (100, 70 * 1024, 300 * 1024)  # inline and data files
        for i in range(30):
            for b in (plain, versioned):
                self.c.put_object(Bucket=b, Key="k%02d" % i, Body=self.body(i, sizes[i % 3]))
        stop = threading.Event()
        errors = []
        counts = {"put": 0, "delete": 0}

        def load():
            c = self.client(self.srv)
            i = 0
            while not stop.is_set():
                b = (plain, versioned)[i % 2]
                key = "k%02d" % (i % 40)
                try:
                    if i % 5 == 4:
                        c.delete_object(Bucket=b, Key=key)
                        counts["delete"] += 1
                    else:
                        c.put_object(Bucket=b, Key=key, Body=self.body(i, sizes[i % 3]))
                        counts["put"] += 1
                except Exception as e:  # noqa: BLE001
                    errors.append(repr(e))
                i += 1

        threads = [threading.Thread(target=load) for _ in range(2)]
        for t in threads:
            t.start()
        dest = os.path.join(self.srv.root, "backup")
        try:
            time.sleep(0.5)
            out = coffer(self.srv.data, "backup", "--to", dest)
            time.sleep(0.3)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("data file(s)", out.stdout)
        self.assertEqual(errors, [])
        self.assertGreater(counts["put"], 10)
        self.assertGreater(counts["delete"], 2)
        st = os.stat(os.path.join(dest, "master.key"))
        self.assertEqual(st.st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(dest).st_mode & 0o777, 0o700)
        self.assertTrue(os.path.exists(os.path.join(dest, "tls", "ca.pem")))
        # Restore: a second cofferd on the copy (the first keeps running elsewhere).
        self.srv2 = Server(tag="restored", data=dest, args=["--reclaim-grace", "120"])
        self.srv2.start()
        c2 = self.client(self.srv2)
        n_read = 0
        for b in (plain, versioned):
            pages = c2.get_paginator("list_object_versions").paginate(Bucket=b)
            for page in pages:
                for v in page.get("Versions", []):
                    r = c2.get_object(Bucket=b, Key=v["Key"], VersionId=v["VersionId"])
                    data = r["Body"].read()
                    self.assertEqual(len(data), v["Size"], (b, v["Key"]))
                    self.assertEqual('"%s"' % lib.md5_hex(data), v["ETag"], (b, v["Key"]))
                    self.assertEqual(r["ETag"], v["ETag"])
                    n_read += 1
        self.assertGreater(n_read, 30)
        self.assertEqual(self.srv2.stop(), 0)
        self.assertEqual(self.srv.stop(), 0)

    def test_backup_refuses_a_reclaimed_blob(self):
        """A data file the snapshot names but that is gone by copy time (what a backup slower
        than --reclaim-grace meets): the backup fails and leaves no usable meta.db."""
        b = lib.bucket_name("bkgone")
        self.c.create_bucket(Bucket=b)
        self.c.put_object(Bucket=b, Key="big", Body=b"z" * (200 * 1024))
        blobs = []
        for root, _dirs, files in os.walk(os.path.join(self.srv.data, "blobs")):
            blobs += [os.path.join(root, f) for f in files]
        self.assertEqual(len(blobs), 1, blobs)
        os.unlink(blobs[0])
        dest = os.path.join(self.srv.root, "backup-bad")
        out = coffer(self.srv.data, "backup", "--to", dest)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("--reclaim-grace", out.stderr)
        self.assertIn(os.path.basename(blobs[0]), out.stderr)
        self.assertFalse(os.path.exists(os.path.join(dest, "meta.db")))
        # Into a directory that is not empty: refused before anything is written.
        out = coffer(self.srv.data, "backup", "--to", self.srv.data)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("not empty", out.stderr)

    def test_backup_leaves_out_an_aborted_upload(self):
        """A part whose file is gone belongs to an upload aborted after the snapshot: the
        backup succeeds without that upload, and keeps the uploads whose parts are there."""
        b = lib.bucket_name("bkmpu")
        self.c.create_bucket(Bucket=b)
        gone = self.c.create_multipart_upload(Bucket=b, Key="gone")["UploadId"]
        kept = self.c.create_multipart_upload(Bucket=b, Key="kept")["UploadId"]
        self.c.upload_part(Bucket=b, Key="gone", UploadId=gone, PartNumber=1,
                           Body=b"g" * (100 * 1024))
        before = set()
        for root, _dirs, files in os.walk(os.path.join(self.srv.data, "blobs")):
            before |= {os.path.join(root, f) for f in files}
        self.c.upload_part(Bucket=b, Key="kept", UploadId=kept, PartNumber=1,
                           Body=b"k" * (100 * 1024))
        self.assertEqual(len(before), 1, before)
        os.unlink(before.pop())
        dest = os.path.join(self.srv.root, "backup-mpu")
        out = coffer(self.srv.data, "backup", "--to", dest)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("1 multipart upload(s)", out.stdout)
        self.srv2 = Server(tag="restored-mpu", data=dest)
        self.srv2.start()
        ups = self.client(self.srv2).list_multipart_uploads(Bucket=b).get("Uploads", [])
        self.assertEqual([u["UploadId"] for u in ups], [kept])
        parts = self.client(self.srv2).list_parts(Bucket=b, Key="kept", UploadId=kept)["Parts"]
        self.assertEqual([p["Size"] for p in parts], [100 * 1024])


if __name__ == "__main__":
    unittest.main()
