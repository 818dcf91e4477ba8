"""Data lifetime (store/trash.h): the data of a replaced or deleted version outlives it by the
grace period, and by every read that began before the delete, however long that read runs.

Own server with a short --reclaim-grace. A GET of a 3-part multipart object (5 MiB parts) is
read slowly across an overwrite, a DELETE and a DeleteObjects on an unversioned bucket: the
reader gets the complete old bytes even when it reads on past the grace period, the old part
files stay while it reads, and are gone once it finished and the grace period is over.
Before the trash carried times and readers held leases, the part files were unlinked right
after the commit: IncompleteRead, and "multipart: reading version N at 10485760: No such
file or directory" in the log."""

import hashlib
import os
import http.client
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

import lib

MiB = 1024 * 1024
GRACE = 2  # seconds: --reclaim-grace of this file's server


def blob_files(data_dir):
    """Count of the store's blobs (files, or RADOS on the PostgreSQL + RADOS run)."""
    return lib.store_blobs(data_dir)[0]


class DataLifetimeTest(lib.E2ETestCase):
    @classmethod
    def setUpClass(cls):
        base = os.environ.get("E2E_TMP") or tempfile.gettempdir()
        cls.root = tempfile.mkdtemp(prefix="lifetime.", dir=base)
        cls.data = os.path.join(cls.root, "data")
        os.makedirs(cls.data)
        cls.srv = lib.Server(lib.env().bin, cls.data, log=os.path.join(cls.root, "log"),
                             args=["--reclaim-grace", str(GRACE)])
        cls.srv.start()
        acct = lib.create_account(lib.env().bin, cls.data, "lifetime")
        cls.ak, cls.sk = acct["access_key_id"], acct["secret_access_key"]
        cls.c = lib.client(ak=cls.ak, sk=cls.sk, endpoint=cls.srv.http)
        cls.bucket = "lifetime"
        cls.c.create_bucket(Bucket=cls.bucket)

    @classmethod
    def tearDownClass(cls):
        cls.srv.kill()
        report = cls.srv.sanitizer_report()
        shutil.rmtree(cls.root, ignore_errors=True)
        if report:
            raise AssertionError("sanitizer report in cofferd log:\n" + report)

    def put_multipart(self, key, parts):
        uid = self.c.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        done = []
        for i, body in enumerate(parts, 1):
            e = self.c.upload_part(Bucket=self.bucket, Key=key, UploadId=uid, PartNumber=i,
                                   Body=body)["ETag"]
            done.append({"PartNumber": i, "ETag": e})
        self.c.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=uid,
                                         MultipartUpload={"Parts": done})

    def wait_files(self, want, timeout):
        deadline = time.time() + timeout
        while blob_files(self.data) != want and time.time() < deadline:
            time.sleep(0.1)
        return blob_files(self.data)

    def open_get(self, key):
        """A presigned GET of key on a socket with a 64 KiB receive buffer. Loopback's
        autotuned buffers (tcp_rmem up to 32 MiB) would take the whole 15 MiB object while the
        test sleeps: the server's read would be over, and its lease with it, before the delete."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.settimeout(30)
        sock.connect(("127.0.0.1", self.srv.http_port))
        conn = http.client.HTTPConnection(self.srv.host)
        conn.sock = sock
        conn.request("GET", lib.presign("GET", "/%s/%s" % (self.bucket, key), host=self.srv.host,
                                        ak=self.ak, sk=self.sk))
        r = conn.getresponse()
        self.assertEqual(r.status, 200)
        return r

    def read_across(self, key, parts, replace):
        """Starts a GET of key, reads 1 MiB, runs replace(), waits past the grace period with
        the GET open, then reads the rest; checks bytes and file counts."""
        body = b"".join(parts)
        self.put_multipart(key, parts)
        n0 = blob_files(self.data)
        stream = self.open_get(key)
        got = [stream.read(MiB)]
        replace()
        # The reader began before the delete: its files stay, past the grace period too.
        time.sleep(GRACE + 1.5)
        self.assertEqual(blob_files(self.data), n0, "part files removed under an open GET")
        while True:
            chunk = stream.read(256 * 1024)
            if not chunk:
                break
            got.append(chunk)
            time.sleep(0.005)  # a slow reader
        stream.close()
        data = b"".join(got)
        self.assertEqual(len(data), len(body))
        self.assertEqual(hashlib.md5(data).hexdigest(), hashlib.md5(body).hexdigest())
        # The read is over and so is the grace period: the reaper takes the old parts.
        self.assertEqual(self.wait_files(n0 - len(parts), GRACE + 10), n0 - len(parts))

    def parts(self):
        return [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(5 * MiB)]

    def test_overwrite_during_get(self):
        def overwrite():
            self.c.put_object(Bucket=self.bucket, Key="ow", Body=b"small now")  # inline
        self.read_across("ow", self.parts(), overwrite)
        self.assertEqual(self.c.get_object(Bucket=self.bucket, Key="ow")["Body"].read(),
                         b"small now")

    def test_delete_during_get(self):
        def delete():
            self.c.delete_object(Bucket=self.bucket, Key="del")
        self.read_across("del", self.parts(), delete)
        self.assertStatus(404, self.c.head_object, Bucket=self.bucket, Key="del")

    def test_delete_objects_during_get(self):
        def delete_objects():
            r = self.c.delete_objects(Bucket=self.bucket,
                                      Delete={"Objects": [{"Key": "multi"}], "Quiet": True})
            self.assertEqual(r.get("Errors", []), [])
        self.read_across("multi", self.parts(), delete_objects)
        self.assertStatus(404, self.c.head_object, Bucket=self.bucket, Key="multi")

    def test_single_file_kept_for_grace_then_removed(self):
        """Without any reader, a replaced single-file version's data stays for the grace
        period and is gone after it."""
        self.c.put_object(Bucket=self.bucket, Key="one", Body=os.urandom(2 * MiB))
        n0 = blob_files(self.data)
        t0 = time.time()
        self.c.put_object(Bucket=self.bucket, Key="one", Body=b"tiny")
        self.assertEqual(blob_files(self.data), n0)
        left = self.wait_files(n0 - 1, GRACE + 10)
        self.assertEqual(left, n0 - 1)
        self.assertGreaterEqual(time.time() - t0, GRACE - 0.2, "removed before the grace")

    def test_aborted_parts_go_at_once(self):
        """An upload's parts are never read: an abort frees them without a grace period."""
        n0 = blob_files(self.data)
        uid = self.c.create_multipart_upload(Bucket=self.bucket, Key="ab")["UploadId"]
        self.c.upload_part(Bucket=self.bucket, Key="ab", UploadId=uid, PartNumber=1,
                           Body=os.urandom(MiB))
        self.assertEqual(blob_files(self.data), n0 + 1)
        self.c.abort_multipart_upload(Bucket=self.bucket, Key="ab", UploadId=uid)
        self.assertEqual(blob_files(self.data), n0)

    def test_bad_grace_option(self):
        for bad in ("abc", "-1", "1.5", ""):
            r = subprocess.run([os.path.join(lib.env().bin, "cofferd"), "--data", self.data,
                                "--listen", "127.0.0.1:1", "--reclaim-grace", bad],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, bad)
            self.assertIn("--reclaim-grace", r.stderr)


if __name__ == "__main__":
    unittest.main()
