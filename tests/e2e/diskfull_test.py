"""A real full disk: a 32 MiB ext4 image loop-mounted as cofferd's data directory.

Needs root, mkfs.ext4 and a loop device; skipped with a message otherwise. The server (the
normal build, its own PID only) is filled with PUTs until it answers 507 StorageFull, first
through the metadata store (small objects stored inline in SQLite: SQLITE_FULL), then through
data files (ENOSPC). On the full disk reads, listings, DELETE ?versionId, DeleteObject and
DeleteObjects must keep working; deleting data files must give the space back so that PUTs work
again without a restart; and nothing acknowledged may be lost, also across a kill -9 and a
restart on the full disk. The image is always unmounted and its loop device detached.
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

import lib
from lib import Server

IMAGE_MIB = 32
INLINE = 60 * 1000   # stored in the metadata row (inline limit 64 KiB)
BIG = 512 * 1024     # a data file


def run(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=60)


def client(srv, ak, sk):
    c = boto3.session.Session().client(
        "s3", endpoint_url=srv.http, aws_access_key_id=ak, aws_secret_access_key=sk,
        region_name=lib.REGION,
        config=Config(signature_version="s3v4", region_name=lib.REGION,
                      s3={"addressing_style": "path"},
                      retries={"total_max_attempts": 1, "mode": "standard"},
                      connect_timeout=5, read_timeout=30))
    c.meta.events.register("before-parse.s3.*", lib._check_request_id)
    return c


class DiskFullTest(lib.E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = cls.image = cls.mnt = None
        cls.mounted = False
        if os.geteuid() != 0:
            raise unittest.SkipTest("not root: cannot loop-mount a small ext4")
        if shutil.which("mkfs.ext4") is None or shutil.which("mount") is None:
            raise unittest.SkipTest("mkfs.ext4 or mount not installed")
        base = os.environ.get("E2E_TMP") or tempfile.gettempdir()
        cls.root = tempfile.mkdtemp(prefix="diskfull.", dir=base)
        cls.image = os.path.join(cls.root, "fs.img")
        cls.mnt = os.path.join(cls.root, "mnt")
        os.makedirs(cls.mnt)
        with open(cls.image, "wb") as f:
            f.truncate(IMAGE_MIB * 1024 * 1024)
        p = run("mkfs.ext4", "-q", "-F", "-m", "0", cls.image)
        if p.returncode != 0:
            cls.cleanup()
            raise unittest.SkipTest("mkfs.ext4 failed: %s" % p.stderr.strip())
        p = run("mount", "-o", "loop", cls.image, cls.mnt)
        if p.returncode != 0:
            cls.cleanup()
            raise unittest.SkipTest("no loop device (mount -o loop: %s)" % p.stderr.strip())
        cls.mounted = True

    @classmethod
    def cleanup(cls):
        if cls.mounted:
            for _ in range(50):
                if run("umount", cls.mnt).returncode == 0:
                    break
                time.sleep(0.1)
            else:
                run("umount", "-l", cls.mnt)
            cls.mounted = False
        if cls.image:
            # mount -o loop detaches on umount; make sure, without touching other devices.
            p = run("losetup", "-j", cls.image)
            for line in p.stdout.splitlines():
                run("losetup", "-d", line.split(":")[0])
        if cls.root:
            shutil.rmtree(cls.root, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls.cleanup()

    def setUp(self):
        super().setUp()
        self.data = os.path.join(self.mnt, "data")
        # Data dir on the small file system, the log beside the image.
        self.srv = Server(data=self.data, log=os.path.join(self.root, "cofferd.log"))
        self.acked = {}  # (key, version id) -> (md5, size)
        self.n = 0

    def tearDown(self):
        report = self.srv.close()
        super().tearDown()
        self.assertEqual(report, "", "sanitizer report in cofferd log")

    # --- helpers

    def free_kib(self):
        st = os.statvfs(self.mnt)
        return st.f_bavail * st.f_frsize // 1024

    def put(self, size):
        self.n += 1
        k = "k%05d" % self.n
        body = os.urandom(size)
        r = self.c.put_object(Bucket=self.bucket, Key=k, Body=body)
        self.acked[(k, r["VersionId"])] = (hashlib.md5(body).hexdigest(), size)
        return k, r["VersionId"]

    def fill(self, size, limit=2000):
        """PUTs until one fails; that failure must be 507 StorageFull. Returns the count."""
        for i in range(limit):
            try:
                self.put(size)
            except ClientError as e:
                self.assertFull(e, "filling with %d-byte objects after %d PUTs" % (size, i))
                return i
        self.fail("%d PUTs of %d bytes and the disk is not full" % (limit, size))

    def assertFull(self, e, what=""):
        r = e.response
        got = (r["ResponseMetadata"]["HTTPStatusCode"], r["Error"].get("Code"))
        self.assertEqual(got, (507, "StorageFull"), "%s: %r" % (what, r))
        self.assertIn("full", r["Error"].get("Message", ""))

    def expect_full(self, fn, *args, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kw)
        self.assertFull(cm.exception, fn.__name__)

    def delete_version(self, k, vid):
        self.c.delete_object(Bucket=self.bucket, Key=k, VersionId=vid)
        del self.acked[(k, vid)]

    def verify(self):
        """Every acknowledged version is listed and reads back exactly; nothing else is."""
        listed = set()
        kw = {}
        while True:
            r = self.c.list_object_versions(Bucket=self.bucket, **kw)
            listed.update((v["Key"], v["VersionId"]) for v in r.get("Versions", []))
            if not r.get("IsTruncated"):
                break
            kw = {"KeyMarker": r["NextKeyMarker"], "VersionIdMarker": r["NextVersionIdMarker"]}
        self.assertEqual(listed, set(self.acked), "listed versions differ from acknowledged")
        for (k, vid), (md5, _) in sorted(self.acked.items()):
            got = self.c.get_object(Bucket=self.bucket, Key=k, VersionId=vid)["Body"].read()
            self.assertEqual(hashlib.md5(got).hexdigest(), md5, "%s %s: wrong bytes" % (k, vid))

    def versions(self, big):
        """Acknowledged versions with data files (big) or inline ones, oldest first."""
        return [kv for kv in sorted(self.acked) if (self.acked[kv][1] >= BIG) == big]

    # --- the test

    def test_full_disk_keeps_reads_and_deletes_and_recovers(self):
        os.makedirs(self.data)
        self.srv.start()
        acct = self.srv.account("full")
        self.c = client(self.srv, acct["access_key_id"], acct["secret_access_key"])
        self.bucket = lib.bucket_name("full")
        self.c.create_bucket(Bucket=self.bucket)
        self.c.put_bucket_versioning(Bucket=self.bucket,
                                     VersioningConfiguration={"Status": "Enabled"})
        for _ in range(12):
            self.put(BIG)

        # 1. The metadata store fills up (SQLITE_FULL): 507, not 500.
        n = self.fill(INLINE)
        self.assertGreater(n, 20)
        self.expect_full(self.c.put_object, Bucket=self.bucket, Key="small", Body=b"x" * 100)
        self.expect_full(self.c.put_object, Bucket=self.bucket, Key="big", Body=b"x" * BIG)
        self.expect_full(self.c.create_multipart_upload, Bucket=self.bucket, Key="mpu")
        self.expect_full(self.c.copy_object, Bucket=self.bucket, Key="copy",
                         CopySource={"Bucket": self.bucket, "Key": self.versions(True)[0][0]})

        # Reads and listings work on the full disk.
        k, vid = self.versions(False)[-1]
        self.assertEqual(hashlib.md5(self.c.get_object(Bucket=self.bucket, Key=k)["Body"]
                                     .read()).hexdigest(), self.acked[(k, vid)][0])
        self.assertEqual(self.c.list_objects_v2(Bucket=self.bucket, MaxKeys=5)["KeyCount"], 5)
        self.c.head_bucket(Bucket=self.bucket)

        # Deletes work: DELETE ?versionId, DeleteObject (a delete marker), DeleteObjects.
        for k, vid in self.versions(False)[:5]:
            self.delete_version(k, vid)
        k, vid = self.versions(False)[0]
        r = self.c.delete_object(Bucket=self.bucket, Key=k)
        self.assertTrue(r.get("DeleteMarker"))
        self.c.delete_object(Bucket=self.bucket, Key=k, VersionId=r["VersionId"])
        batch = self.versions(False)[1:4]
        r = self.c.delete_objects(Bucket=self.bucket, Delete={"Objects": [
            {"Key": k, "VersionId": vid} for k, vid in batch]})
        self.assertEqual(len(r.get("Deleted", [])), 3, repr(r))
        for kv in batch:
            del self.acked[kv]

        # 2. Deleting data files gives space back: writes work again, no restart.
        free0 = self.free_kib()
        for k, vid in self.versions(True)[:8]:
            self.delete_version(k, vid)
        self.assertGreater(self.free_kib(), free0 + 3 * 1024, "deletes freed no space")
        self.put(BIG)
        self.put(100)
        self.verify()

        # 3. Data files fill the disk (ENOSPC): 507 again, deletes still work.
        self.fill(BIG)
        self.expect_full(self.c.put_object, Bucket=self.bucket, Key="small2", Body=b"y")
        k, vid = self.versions(False)[0]
        self.delete_version(k, vid)
        self.verify()

        # 4. kill -9 on the full disk, restart there: nothing lost, still full, deletes work.
        self.srv.kill()
        self.srv.start(keep_ports=True)
        self.verify()
        self.expect_full(self.c.put_object, Bucket=self.bucket, Key="small3", Body=b"z")
        for k, vid in self.versions(False)[:40] + self.versions(True):
            self.delete_version(k, vid)
        self.put(BIG)
        self.verify()
        self.assertEqual(self.srv.stop(), 0, self.srv.log_tail())


if __name__ == "__main__":
    unittest.main()
