"""Usage accounting (issue 16, spec B3-B5): the per-bucket, per-day figures Storage Lens exports.
Objects are put, overwritten and deleted with boto3 on a versioned, a suspended and an unversioned
bucket, with incomplete multipart uploads; `coffer usage refresh` then `coffer usage show --json`
must give every figure exactly. A second server runs with --usage-interval 1 and the figures must
appear without any refresh command. Each test starts its own cofferd (exact figures need a data
directory of their own)."""

import datetime
import json
import os
import subprocess
import time
import unittest

import lib
from lib import Server

METRICS = ("StorageBytes", "ObjectCount", "CurrentVersionStorageBytes",
           "CurrentVersionObjectCount", "NonCurrentVersionStorageBytes",
           "NonCurrentVersionObjectCount", "DeleteMarkerStorageBytes", "DeleteMarkerObjectCount",
           "IncompleteMultipartUploadStorageBytes", "IncompleteMultipartUploadObjectCount",
           "IncompleteMPUStorageBytesOlderThan7Days", "IncompleteMPUObjectCountOlderThan7Days")


def expect(cur=(0, 0), nc=(0, 0), dm=(0, 0), mpu=(0, 0)):
    """The metrics dict for (count, bytes) pairs; StorageBytes / ObjectCount as B4 decides."""
    return {
        "StorageBytes": cur[1] + nc[1] + dm[1] + mpu[1],
        "ObjectCount": cur[0] + nc[0] + dm[0] + mpu[0],
        "CurrentVersionStorageBytes": cur[1], "CurrentVersionObjectCount": cur[0],
        "NonCurrentVersionStorageBytes": nc[1], "NonCurrentVersionObjectCount": nc[0],
        "DeleteMarkerStorageBytes": dm[1], "DeleteMarkerObjectCount": dm[0],
        "IncompleteMultipartUploadStorageBytes": mpu[1],
        "IncompleteMultipartUploadObjectCount": mpu[0],
        "IncompleteMPUStorageBytesOlderThan7Days": 0,
        "IncompleteMPUObjectCountOlderThan7Days": 0,
    }


class UsageTest(lib.E2ETestCase):
    def start(self, *args):
        self.srv = Server(tag="usage", args=args)
        self.srv.start()
        self.acct = self.srv.account("usage")
        self.c = lib.client(self.acct["access_key_id"], self.acct["secret_access_key"],
                            endpoint=self.srv.http)

    def tearDown(self):
        report = self.srv.close()
        self.assertEqual(report, "")
        super().tearDown()

    def coffer(self, *args):
        out = subprocess.run([os.path.join(self.srv.admin_bin, "coffer"), "--data", self.srv.data]
                             + list(args), capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def show(self, *args):
        return json.loads(self.coffer("usage", "show", "--json", *args))

    def test_refresh_figures(self):
        self.start()
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        ver, sus, plain = (lib.bucket_name("usev"), lib.bucket_name("uses"),
                           lib.bucket_name("usep"))
        for b in (ver, sus, plain):
            self.c.create_bucket(Bucket=b)

        # Versioned: k1 overwritten (20 current, 10 noncurrent); k2 deleted (a marker of
        # len("k2") = 2 bytes over a noncurrent 5).
        self.c.put_bucket_versioning(Bucket=ver, VersioningConfiguration={"Status": "Enabled"})
        self.c.put_object(Bucket=ver, Key="k1", Body=b"x" * 10)
        self.c.put_object(Bucket=ver, Key="k1", Body=b"y" * 20)
        self.c.put_object(Bucket=ver, Key="k2", Body=b"z" * 5)
        self.c.delete_object(Bucket=ver, Key="k2")

        # Suspended: a (7, versioned) then a null version of 3 on top; b written then deleted
        # while suspended: its null version is replaced by a null marker (1 byte).
        self.c.put_bucket_versioning(Bucket=sus, VersioningConfiguration={"Status": "Enabled"})
        self.c.put_object(Bucket=sus, Key="a", Body=b"a" * 7)
        self.c.put_bucket_versioning(Bucket=sus, VersioningConfiguration={"Status": "Suspended"})
        self.c.put_object(Bucket=sus, Key="a", Body=b"a" * 3)
        self.c.put_object(Bucket=sus, Key="b", Body=b"b" * 4)
        self.c.delete_object(Bucket=sus, Key="b")

        # Unversioned: x overwritten (50 current, nothing kept), y deleted (nothing), and two
        # incomplete uploads, one with parts of 1000 and 234 bytes.
        self.c.put_object(Bucket=plain, Key="x", Body=b"x" * 100)
        self.c.put_object(Bucket=plain, Key="x", Body=b"x" * 50)
        self.c.put_object(Bucket=plain, Key="y", Body=b"y")
        self.c.delete_object(Bucket=plain, Key="y")
        up = self.c.create_multipart_upload(Bucket=plain, Key="big")["UploadId"]
        self.c.upload_part(Bucket=plain, Key="big", UploadId=up, PartNumber=1, Body=b"p" * 1000)
        self.c.upload_part(Bucket=plain, Key="big", UploadId=up, PartNumber=2, Body=b"q" * 234)
        self.c.create_multipart_upload(Bucket=plain, Key="empty")

        out = self.coffer("usage", "refresh")
        self.assertIn("refreshed 3 buckets", out)
        doc = self.show("--account", "usage")
        rows = {r["bucket"]: r for r in doc["buckets"]}
        self.assertEqual(sorted(rows), sorted([ver, sus, plain]))
        for r in rows.values():
            self.assertEqual(r["account"], self.acct["account_id"].rjust(12, "0"))
            self.assertEqual(r["date"], today)
            self.assertEqual(r["mfa_delete"], "None")
            self.assertEqual(sorted(r["metrics"]), sorted(METRICS))
        self.assertEqual(rows[ver]["versioning"], "Enabled")
        self.assertEqual(rows[sus]["versioning"], "Suspended")
        self.assertEqual(rows[plain]["versioning"], "None")
        want = {
            ver: expect(cur=(1, 20), nc=(2, 15), dm=(1, 2)),
            sus: expect(cur=(1, 3), nc=(1, 7), dm=(1, 1)),
            plain: expect(cur=(1, 50), mpu=(2, 1234)),
        }
        for b, m in want.items():
            self.assertEqual(rows[b]["metrics"], m, b)
        total = doc["total"]
        self.assertEqual(total["buckets"], 3)
        self.assertEqual(total["VersioningEnabledBucketCount"], 1)
        self.assertEqual(total["MFADeleteEnabledBucketCount"], 0)
        self.assertEqual(total["metrics"], expect(cur=(3, 73), nc=(3, 22), dm=(2, 3),
                                                  mpu=(2, 1234)))

        # A refresh of one bucket after a change moves only that bucket's figures.
        self.c.put_object(Bucket=ver, Key="k3", Body=b"w" * 9)
        self.coffer("usage", "refresh", "--bucket", ver)
        rows = {r["bucket"]: r for r in self.show()["buckets"]}
        self.assertEqual(rows[ver]["metrics"], expect(cur=(2, 29), nc=(2, 15), dm=(1, 2)))
        self.assertEqual(rows[plain]["metrics"], want[plain])

        # A deleted bucket leaves today's figures at the next full refresh; the trend's last
        # day (today) matches the total.
        self.c.abort_multipart_upload(Bucket=plain, Key="big", UploadId=up)
        self.c.delete_object(Bucket=plain, Key="x")
        self.c.delete_bucket(Bucket=plain)
        self.coffer("usage", "refresh")
        doc = self.show("--days", "3")
        self.assertEqual(sorted(r["bucket"] for r in doc["buckets"]), sorted([ver, sus]))
        self.assertEqual(doc["total"]["buckets"], 2)
        self.assertEqual(len(doc["daily"]), 3)
        self.assertEqual(doc["daily"][-1]["date"], today)
        self.assertEqual(doc["daily"][-1]["metrics"], doc["total"]["metrics"])
        self.assertEqual(doc["daily"][-1]["buckets"], 2)
        self.assertEqual(doc["daily"][0]["buckets"], 0)  # two days ago: no refresh yet
        # Unknown bucket or account: a user error, not an empty success.
        for args in (["refresh", "--bucket", "no-such-bucket-here"],
                     ["show", "--account", "nobody"], ["show", "--days", "0"]):
            out = subprocess.run([os.path.join(self.srv.admin_bin, "coffer"), "--data",
                                  self.srv.data, "usage"] + args, capture_output=True, text=True)
            self.assertEqual(out.returncode, 1, args)
            self.assertTrue(out.stderr.startswith("coffer: "), out.stderr)

    def test_interval(self):
        """cofferd refreshes by itself every --usage-interval seconds."""
        self.start("--usage-interval", "1")
        b = lib.bucket_name("usei")
        self.c.create_bucket(Bucket=b)
        for i in range(3):
            self.c.put_object(Bucket=b, Key="o%d" % i, Body=b"v" * (i + 1))
        deadline = time.time() + 20
        rows = []
        while time.time() < deadline:
            rows = self.show()["buckets"]
            if rows and rows[0]["metrics"]["CurrentVersionObjectCount"] == 3:
                break
            time.sleep(0.2)
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0]["bucket"], b)
        self.assertEqual(rows[0]["metrics"], expect(cur=(3, 6)))
        # And again after a change, still without a refresh command.
        self.c.delete_object(Bucket=b, Key="o0")
        deadline = time.time() + 20
        while time.time() < deadline:
            rows = self.show()["buckets"]
            if rows[0]["metrics"]["CurrentVersionObjectCount"] == 2:
                break
            time.sleep(0.2)
        self.assertEqual(rows[0]["metrics"], expect(cur=(2, 5)))
        self.assertEqual(self.srv.stop(), 0)


if __name__ == "__main__":
    unittest.main()
