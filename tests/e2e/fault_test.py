"""Fault injection: system calls on the data and metadata paths fail on purpose.

Runs the FAULT build of cofferd ($E2E_FAULT_BIN/cofferd, made by `make fault`; skipped with a
message when it is missing) on its own data dir and ports, and kills only that PID. Faults are
armed at run time through the rules file named by COFFER_FAULT_FILE (src/util/fault.h):
`SITE:N:KIND[:COUNT]`, re-read whenever it changes, so one server goes through every case.

For each site (blob.open, blob.write, blob.fsync, blob.dirsync, blob.rename, blob.unlink,
md.write, md.sync, md.truncate) and kind, boto3 requests must get a clean S3 error -- 507
StorageFull for ENOSPC, 500 InternalError for EIO -- or, for EINTR and short writes, succeed as
if nothing happened; the server logs each injection, so a case whose fault never fired fails.
After every case the fault is cleared and the server must work again at once, and the whole
store is checked against a model: every acknowledged version is listed and reads back its exact
bytes, a failed write is either absent or (outcome unknown after a failed fsync of the log)
complete, and no listed version lacks its data. A kill -9 and restart follow the riskiest cases.

Also here, because they need the FAULT build too: the MFA check answering 507 when the metadata
store is full (it was a bare 500), and DELETE ?versionId working right after SQLite said full.
"""

import hashlib
import os
import re
import subprocess
import time
import unittest

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

import lib
import mfa_lib
from lib import Server

BIG = 100 * 1024  # past the 64 KiB inline limit: a blob file
SMALL = 1000      # inline in the metadata row


def fault_bin():
    return os.environ.get("E2E_FAULT_BIN") or (lib.env().bin.rstrip("/") + "-fault")


def client(srv, ak, sk, https=False):
    """No retries (every error is seen), no Expect: 100-continue wait."""
    c = boto3.session.Session().client(
        "s3", endpoint_url=srv.https if https else srv.http, aws_access_key_id=ak,
        aws_secret_access_key=sk, region_name=lib.REGION,
        verify=os.path.join(srv.data, "tls", "ca.pem") if https else None,
        config=Config(signature_version="s3v4", region_name=lib.REGION,
                      s3={"addressing_style": "path"},
                      retries={"total_max_attempts": 1, "mode": "standard"},
                      connect_timeout=5, read_timeout=30))
    c.meta.events.register("before-parse.s3.*", lib._check_request_id)
    return c


def err_of(e):
    r = e.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"].get("Code"), r["Error"].get(
        "Message")


@unittest.skipUnless(os.path.exists(os.path.join(fault_bin(), "cofferd")),
                     "no FAULT build at %s (make fault)" % fault_bin())
class FaultTest(lib.E2ETestCase):
    @classmethod
    def setUpClass(cls):
        # The FAULT build's cofferd; the admin CLI is the normal one.
        cls.srv = Server(fault_bin(), tag="fault")
        cls.data = cls.srv.data
        cls.rules = os.path.join(cls.srv.root, "fault.rules")
        os.environ["COFFER_FAULT_FILE"] = cls.rules
        os.environ.pop("COFFER_FAULT", None)
        cls.srv.start()
        cls.acct = cls.srv.account("fault")
        cls.c = client(cls.srv, cls.acct["access_key_id"], cls.acct["secret_access_key"])
        cls.bucket = lib.bucket_name("fault")
        cls.c.create_bucket(Bucket=cls.bucket)
        cls.c.put_bucket_versioning(Bucket=cls.bucket,
                                    VersioningConfiguration={"Status": "Enabled"})
        cls.acked = {}   # (key, version id) -> md5 of an acknowledged version
        cls.deleted = set()  # (key, version id) acknowledged as deleted
        cls.maybe = {}   # key -> md5 of a failed PUT that may have committed anyway
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        report = cls.srv.close()
        os.environ.pop("COFFER_FAULT_FILE", None)
        if report:
            raise AssertionError("sanitizer report in cofferd log:\n" + report)

    def setUp(self):
        super().setUp()
        self.arm("")
        if self.srv.proc.poll() is not None:  # a failed test left it down
            self.srv.start(keep_ports=True)

    def tearDown(self):
        self.arm("")
        super().tearDown()

    # --- faults

    def arm(self, rules):
        """Replaces the rules (a new inode, so the server sees the change at its next hook)."""
        tmp = self.rules + ".tmp"
        with open(tmp, "w") as f:
            f.write(rules + "\n")
        os.rename(tmp, self.rules)

    def injected(self, site, kind):
        """How many injections of kind at site the server has logged so far."""
        with open(self.srv.log, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        return len(re.findall(r"fault: %s call \d+: %s injected" % (re.escape(site), kind), text))

    # --- operations, recorded in the model

    def key(self, tag):
        type(self).n += 1
        return "%s-%04d" % (tag, self.n)

    def put(self, size, tag="k", c=None):
        """PUT a fresh key; returns (key, version id, body) or raises ClientError (the body is
        then recorded as possibly present)."""
        k = self.key(tag)
        body = os.urandom(size)
        try:
            r = (c or self.c).put_object(Bucket=self.bucket, Key=k, Body=body)
        except ClientError:
            self.maybe[k] = hashlib.md5(body).hexdigest()
            raise
        self.assertEqual(r["ETag"], '"%s"' % hashlib.md5(body).hexdigest())
        self.acked[(k, r["VersionId"])] = hashlib.md5(body).hexdigest()
        return k, r["VersionId"], body

    def delete_version(self, k, vid):
        self.c.delete_object(Bucket=self.bucket, Key=k, VersionId=vid)
        self.deleted.add((k, vid))
        self.acked.pop((k, vid), None)

    def expect_error(self, status, code, fn, *args, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kw)
        got = err_of(cm.exception)
        self.assertEqual(got[:2], (status, code), repr(cm.exception.response))
        self.assertTrue(got[2], "empty Message")
        return got

    # --- the model

    def verify(self):
        """Every acknowledged version is listed and reads back exactly; every listed version
        has its data; nothing acknowledged as deleted is back."""
        listed = {}
        kw = {}
        while True:
            r = self.c.list_object_versions(Bucket=self.bucket, **kw)
            for v in r.get("Versions", []):
                listed[(v["Key"], v["VersionId"])] = v
            if not r.get("IsTruncated"):
                break
            kw = {"KeyMarker": r["NextKeyMarker"], "VersionIdMarker": r["NextVersionIdMarker"]}
        for kv, md5 in self.acked.items():
            self.assertIn(kv, listed, "acknowledged version %r lost" % (kv,))
        for kv in self.deleted:
            self.assertNotIn(kv, listed, "deleted version %r is back" % (kv,))
        for (k, vid) in listed:
            want = self.acked.get((k, vid)) or self.maybe.get(k)
            self.assertIsNotNone(want, "version %r was never written" % ((k, vid),))
            got = self.c.get_object(Bucket=self.bucket, Key=k, VersionId=vid)["Body"].read()
            self.assertEqual(hashlib.md5(got).hexdigest(), want, "%r: wrong bytes" % ((k, vid),))

    def recovers(self):
        """With the fault cleared, writes work again at once."""
        self.arm("")
        self.put(BIG, "after")
        self.put(SMALL, "after")
        self.verify()

    def restart(self):
        self.srv.kill()
        self.srv.start(keep_ports=True)

    def blob_files(self):
        n = 0
        for _, _, files in os.walk(os.path.join(self.data, "blobs")):
            n += len(files)
        return n

    # --- data path

    def test_blob_errors_are_clean(self):
        cases = [("blob.open", "ENOSPC", 507, "StorageFull"),
                 ("blob.write", "ENOSPC", 507, "StorageFull"),
                 ("blob.write", "EDQUOT", 507, "StorageFull"),
                 ("blob.write", "EIO", 500, "InternalError"),
                 ("blob.fsync", "EIO", 500, "InternalError"),
                 ("blob.fsync", "ENOSPC", 507, "StorageFull"),
                 ("blob.rename", "EIO", 500, "InternalError"),
                 ("blob.rename", "ENOSPC", 507, "StorageFull"),
                 ("blob.dirsync", "EIO", 500, "InternalError")]
        for site, kind, status, code in cases:
            with self.subTest(site=site, kind=kind):
                before, files = self.injected(site, kind), self.blob_files()
                self.arm("%s:1:%s" % (site, kind))
                self.expect_error(status, code, self.put, BIG)
                self.assertEqual(self.injected(site, kind), before + 1, "fault did not fire")
                self.assertEqual(self.blob_files(), files, "a failed PUT left its data file")
                self.recovers()

    def test_blob_eintr_and_short_writes_are_retried(self):
        for site, kind, count in [("blob.write", "EINTR", 3), ("blob.write", "SHORT", 5),
                                  ("blob.fsync", "EINTR", 2), ("blob.rename", "EINTR", 2),
                                  ("blob.dirsync", "EINTR", 2), ("blob.unlink", "EINTR", 2),
                                  ("blob.open", "EINTR", 2)]:
            with self.subTest(site=site, kind=kind):
                before = self.injected(site, kind)
                k, vid, body = self.put(BIG)
                self.arm("%s:1:%s:%d" % (site, kind, count))
                if site == "blob.unlink":
                    self.delete_version(k, vid)
                else:
                    k, vid, body = self.put(3 * BIG + 7)
                self.assertEqual(self.injected(site, kind), before + count, "fault did not fire")
                self.arm("")
                if site != "blob.unlink":
                    got = self.c.get_object(Bucket=self.bucket, Key=k, VersionId=vid)
                    self.assertEqual(got["Body"].read(), body)
                self.verify()

    def test_blob_unlink_failure_after_delete_leaves_orphan_for_restart(self):
        k, vid, _ = self.put(BIG)
        files = self.blob_files()
        before = self.injected("blob.unlink", "EIO")
        self.arm("blob.unlink:1:EIO")
        self.delete_version(k, vid)  # the metadata commit decides: 204
        self.assertEqual(self.injected("blob.unlink", "EIO"), before + 1)
        self.assertEqual(self.blob_files(), files, "the data file should be left behind")
        self.recovers()
        files = self.blob_files()
        self.restart()  # start-up removes the orphan
        self.assertEqual(self.blob_files(), files - 1)
        self.verify()

    def test_multipart_upload_part_and_complete_under_faults(self):
        k = self.key("mpu")
        u = self.c.create_multipart_upload(Bucket=self.bucket, Key=k)["UploadId"]
        part = os.urandom(5 * 1024 * 1024)
        self.arm("blob.write:1:ENOSPC")
        self.expect_error(507, "StorageFull", self.c.upload_part, Bucket=self.bucket, Key=k,
                          UploadId=u, PartNumber=1, Body=part)
        self.arm("")
        e1 = self.c.upload_part(Bucket=self.bucket, Key=k, UploadId=u, PartNumber=1,
                                Body=part)["ETag"]
        e2 = self.c.upload_part(Bucket=self.bucket, Key=k, UploadId=u, PartNumber=2,
                                Body=b"tail")["ETag"]
        parts = {"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]}
        self.arm("md.write:1:ENOSPC")
        self.expect_error(507, "StorageFull", self.c.complete_multipart_upload,
                          Bucket=self.bucket, Key=k, UploadId=u, MultipartUpload=parts)
        self.arm("md.write:1:EIO")
        self.expect_error(500, "InternalError", self.c.complete_multipart_upload,
                          Bucket=self.bucket, Key=k, UploadId=u, MultipartUpload=parts)
        self.arm("md.write:1:ENOSPC")
        self.expect_error(507, "StorageFull", self.c.create_multipart_upload, Bucket=self.bucket,
                          Key=self.key("mpu"))
        self.arm("")
        r = self.c.complete_multipart_upload(Bucket=self.bucket, Key=k, UploadId=u,
                                             MultipartUpload=parts)
        self.acked[(k, r["VersionId"])] = hashlib.md5(part + b"tail").hexdigest()
        self.verify()

    # --- metadata path

    def test_metadata_errors_are_clean(self):
        cases = [("md.write", "ENOSPC", 507, "StorageFull"),
                 # SQLite turns only ENOSPC into SQLITE_FULL; any other errno of a write is
                 # SQLITE_IOERR_WRITE, and the errno itself is not kept reliably.
                 ("md.write", "EDQUOT", 500, "InternalError"),
                 ("md.write", "EIO", 500, "InternalError"),
                 ("md.sync", "EIO", 500, "InternalError"),
                 # A failed fsync of the log leaves the commit's fate unknown: 500 even for
                 # ENOSPC, and the new data file is kept for the start-up sweep.
                 ("md.sync", "ENOSPC", 500, "InternalError")]
        for site, kind, status, code in cases:
            for size in (SMALL, BIG):
                with self.subTest(site=site, kind=kind, size=size):
                    before = self.injected(site, kind)
                    self.arm("%s:1:%s" % (site, kind))
                    self.expect_error(status, code, self.put, size)
                    self.assertEqual(self.injected(site, kind), before + 1, "fault did not fire")
                    self.recovers()
            with self.subTest(site=site, kind=kind, op="delete"):
                k, vid, _ = self.put(BIG)
                self.arm("%s:1:%s" % (site, kind))
                self.expect_error(status, code, self.c.delete_object, Bucket=self.bucket, Key=k,
                                  VersionId=vid)
                self.arm("")
                self.delete_version(k, vid)
                self.verify()

    def test_metadata_eintr_and_short_writes_are_retried(self):
        for kind, count in (("EINTR", 4), ("SHORT", 6)):
            with self.subTest(kind=kind):
                before = self.injected("md.write", kind)
                self.arm("md.write:1:%s:%d" % (kind, count))
                k, vid, body = self.put(SMALL)
                k2, vid2, _ = self.put(BIG)
                self.delete_version(k2, vid2)
                self.assertEqual(self.injected("md.write", kind), before + count)
                self.arm("")
                self.verify()

    def test_metadata_truncate_fault_at_start_up_loses_nothing(self):
        # SQLite truncates meta.db-shm when the first connection opens it (and a file when a
        # checkpoint shrinks it): cofferd must refuse to start cleanly, then start and have
        # everything once the fault is gone.
        self.put(SMALL)
        self.srv.kill()
        before = self.injected("md.truncate", "EIO")
        self.arm("md.truncate:1:EIO")
        with self.assertRaises(RuntimeError):
            self.srv.start(keep_ports=True, timeout=10)
        self.assertEqual(self.srv.proc.returncode, 1)
        self.assertEqual(self.injected("md.truncate", "EIO"), before + 1)
        self.arm("")
        self.srv.start(keep_ports=True)
        self.verify()
        self.recovers()

    def test_kill_after_failed_log_fsync_keeps_no_version_without_data(self):
        # The frames of the failed commit are in the log; with no write after them a crash
        # may bring the version back on restart, and its data file must still be there.
        self.arm("md.sync:1:EIO")
        self.expect_error(500, "InternalError", self.put, BIG, "unsynced")
        self.restart()
        self.arm("")
        self.verify()
        self.recovers()

    def test_r0011_delete_version_works_right_after_sqlite_full(self):
        # SQLite says full at the first write; the reserve is released before anyone is told,
        # so the next request, a permanent delete, commits.
        keep, kvid, _ = self.put(BIG)
        self.arm("md.write:1:ENOSPC")
        self.expect_error(507, "StorageFull", self.put, SMALL)
        self.delete_version(keep, kvid)
        self.recovers()

    def test_r0011_mfa_check_on_full_metadata_answers_507(self):
        seeds = [mfa_lib.b32_seed() for _ in range(2)]
        serials = ["FAULT%d%s" % (i, lib.rand_suffix(6).upper()) for i in range(2)]
        mfa_lib.ensure_margin(4)
        s = mfa_lib.cur_step()
        for serial, seed in zip(serials, seeds):
            subprocess.run([os.path.join(lib.env().bin, "coffer"), "--data", self.data, "mfa",
                            "add-hardware", "--account", "fault", "--serial", serial,
                            "--seed-base32", seed, "--code1", mfa_lib.totp(seed, s - 1),
                            "--code2", mfa_lib.totp(seed, s)],
                           check=True, capture_output=True, text=True, timeout=60)
        https = client(self.srv, self.acct["access_key_id"], self.acct["secret_access_key"],
                       https=True)
        bucket = lib.bucket_name("fault-mfa")
        https.create_bucket(Bucket=bucket)
        https.put_bucket_versioning(
            Bucket=bucket, MFA="%s %s" % (serials[0], mfa_lib.totp(seeds[0], s + 1)),
            VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"})
        vid = https.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
        hdr = "%s %s" % (serials[1], mfa_lib.totp(seeds[1], s + 1))
        self.arm("md.write:1:ENOSPC")
        self.expect_error(507, "StorageFull", https.delete_object, Bucket=bucket, Key="k",
                          VersionId=vid, MFA=hdr)
        self.assertEqual(self.injected("md.write", "ENOSPC") > 0, True)
        self.arm("")
        # Nothing was committed, so the same code is still good.
        https.delete_object(Bucket=bucket, Key="k", VersionId=vid, MFA=hdr)
        self.assertEqual(https.list_object_versions(Bucket=bucket).get("Versions", []), [])


if __name__ == "__main__":
    unittest.main()
