"""S3 Storage Lens daily exports by cofferd itself (issue 16; spec
lifecycle-and-storage-lens B3): a private cofferd with --lens-export-interval 1 writes, for an
enabled configuration with an export, each day's CSV report and manifest.json into the
destination bucket, from the configuration's creation day up to yesterday (UTC), each day once;
a disabled configuration gets nothing, and one whose destination bucket is gone is refused and
logged once a wake. /metrics counts them (coffer_lens_exports_total{result}).

A fresh store has no usage row for yesterday and no configuration created before today, so the
test writes both into meta.db with sqlite3 while cofferd runs, in one transaction: the
configuration's created_ms moved two days back (so the days due are the day before yesterday and
yesterday) and a usage_daily row for yesterday with figures no refresh would make. cofferd's
exporter reads them as it reads its own rows.
"""

import csv
import hashlib
import io
import json
import http.client
import os
import sqlite3
import ssl
import time
import unittest

import boto3
from botocore.config import Config

import lib
from lib import E2ETestCase
from test_admin import parse_metrics

DAY_MS = 86400000


def ymd(day):
    return time.strftime("%Y-%m-%d", time.gmtime(day * 86400))


@lib.sqlite_only
class LensExportRunTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.admin_port = lib.free_port()
        cls.srv = lib.Server(tag="lensrun", args=["--usage-interval", "1",
                                                  "--lens-export-interval", "1",
                                                  "--admin-listen",
                                                  "127.0.0.1:%d" % cls.admin_port])
        cls.srv.start()
        acct = cls.srv.account("lensrun")
        cls.acct = int(acct["account_id"])
        cls.a12 = "%012d" % cls.acct
        kw = dict(aws_access_key_id=acct["access_key_id"],
                  aws_secret_access_key=acct["secret_access_key"], region_name=lib.REGION)
        cfg = Config(signature_version="s3v4", s3={"addressing_style": "path"},
                     retries={"max_attempts": 1})
        cls.s3 = boto3.session.Session().client("s3", endpoint_url=cls.srv.http, config=cfg,
                                                **kw)
        # S3 Control: botocore puts the account id in front of the host (lib maps *.localhost).
        cls.ctl = boto3.session.Session().client(
            "s3control", endpoint_url="http://localhost:%d" % cls.srv.http_port,
            config=Config(retries={"max_attempts": 1}), **kw)

    @classmethod
    def tearDownClass(cls):
        report = cls.srv.close()
        if report:
            raise AssertionError("sanitizer report in cofferd log:\n" + report)

    def put(self, cid, dest, prefix, enabled=True):
        self.ctl.put_storage_lens_configuration(
            ConfigId=cid, AccountId=self.a12, StorageLensConfiguration={
                "Id": cid, "AccountLevel": {"BucketLevel": {}}, "IsEnabled": enabled,
                "DataExport": {"S3BucketDestination": {
                    "Format": "CSV", "OutputSchemaVersion": "V_1", "AccountId": self.a12,
                    "Arn": "arn:aws:s3:::" + dest, "Prefix": prefix}}})

    def metrics(self):
        """/metrics of the admin listener (HTTPS, the server's certificate, the bearer token)."""
        with open(os.path.join(self.srv.data, "metrics.token")) as f:
            token = f.read().strip()
        ctx = ssl.create_default_context(cafile=os.path.join(self.srv.data, "tls", "ca.pem"))
        ctx.check_hostname = False
        conn = http.client.HTTPSConnection("127.0.0.1", self.admin_port, timeout=30, context=ctx)
        try:
            conn.request("GET", "/metrics", headers={"Authorization": "Bearer " + token})
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            return parse_metrics(r.read().decode())[0]
        finally:
            conn.close()

    def keys(self, bucket, prefix):
        r = self.s3.list_object_versions(Bucket=bucket, Prefix=prefix)
        return sorted((v["Key"], v["VersionId"], v["ETag"]) for v in r.get("Versions", []))

    def test_daily_export(self):
        dest, data, lost = "lensrun-dest", "lensrun-data", "lensrun-lost"
        for b in (dest, data, lost):
            self.s3.create_bucket(Bucket=b)
        self.put("daily", dest, "daily")
        self.put("off", dest, "off", enabled=False)
        self.put("lost", lost, "lost")
        self.s3.delete_bucket(Bucket=lost)
        today = int(time.time() * 1000) // DAY_MS
        yesterday = today - 1
        db = sqlite3.connect(os.path.join(self.srv.data, "meta.db"), timeout=30)
        with db:
            bid = db.execute("SELECT id FROM buckets WHERE name = ?", (data,)).fetchone()[0]
            db.execute("UPDATE lens_configs SET created_ms = created_ms - ? WHERE account_id = ?",
                       (2 * DAY_MS, self.acct))
            db.execute("INSERT INTO usage_daily (bucket_id, day, account_id, bucket, versioning,"
                       " mfa_delete, cur_count, cur_bytes, nc_count, nc_bytes, dm_count,"
                       " dm_bytes, mpu_count, mpu_bytes, mpu_old_count, mpu_old_bytes,"
                       " refreshed_ms) VALUES (?, ?, ?, ?, 0, 0, 3, 12345, 2, 700, 1, 4, 1, 5000,"
                       " 0, 0, ?)", (bid, yesterday, self.acct, data, yesterday * DAY_MS + 1000))
        db.close()

        base = "daily/StorageLens/%s/daily/V_1/" % self.a12
        days = (yesterday - 1, yesterday)
        manifests = [base + "manifests/dt=%s/manifest.json" % ymd(d) for d in days]
        deadline = time.time() + 30
        while time.time() < deadline:
            have = {k for k, _, _ in self.keys(dest, base + "manifests/")}
            if set(manifests) <= have:
                break
            time.sleep(0.2)
        self.assertEqual({k for k, _, _ in self.keys(dest, base + "manifests/")}, set(manifests),
                         self.srv.log_tail())

        # Yesterday's report holds the usage row written for yesterday.
        man = json.loads(self.s3.get_object(Bucket=dest, Key=manifests[1])["Body"].read())
        self.assertEqual(man["reportDate"], ymd(yesterday))
        self.assertEqual(man["configId"], "daily")
        self.assertEqual(man["sourceAccountId"], self.a12)
        (f,) = man["reportFiles"]
        body = self.s3.get_object(Bucket=dest, Key=f["key"])["Body"].read()
        self.assertEqual(f["size"], len(body))
        self.assertEqual(f["md5Checksum"], hashlib.md5(body).hexdigest())
        got = {}
        for r in list(csv.reader(io.StringIO(body.decode())))[1:]:
            self.assertEqual(r[:4], ["V_1", "daily", ymd(yesterday), self.a12])
            got.setdefault((r[6], r[8]), {})[r[9]] = int(r[10])
        self.assertEqual(set(got), {("BUCKET", data), ("ACCOUNT", "")})
        b = got[("BUCKET", data)]
        self.assertEqual((b["CurrentVersionObjectCount"], b["CurrentVersionStorageBytes"],
                          b["NonCurrentVersionObjectCount"], b["DeleteMarkerStorageBytes"],
                          b["IncompleteMultipartUploadStorageBytes"], b["StorageBytes"],
                          b["ObjectCount"]), (3, 12345, 2, 4, 5000, 12345 + 700 + 4 + 5000, 7))
        self.assertEqual(got[("ACCOUNT", "")]["DistinctNumberOfBuckets"], 1)
        # The day before yesterday had no usage row: a report of no bucket.
        man0 = json.loads(self.s3.get_object(Bucket=dest, Key=manifests[0])["Body"].read())
        self.assertEqual(man0["reportDate"], ymd(yesterday - 1))
        body0 = self.s3.get_object(Bucket=dest, Key=man0["reportFiles"][0]["key"])["Body"].read()
        rows0 = list(csv.reader(io.StringIO(body0.decode())))[1:]
        self.assertEqual({r[6] for r in rows0}, {"ACCOUNT"})

        # One report and one manifest a day, and nothing more after further wakes (creation
        # day: nothing for the day before it; today's report comes tomorrow).
        reports = self.keys(dest, base + "reports/")
        self.assertEqual(sorted(k.split("/")[-2] for k, _, _ in reports),
                         ["dt=" + ymd(d) for d in days])
        before = self.keys(dest, "")
        with open(self.srv.log, "rb") as fh:
            gone0 = fh.read().decode("utf-8", "replace").count("'%s' is gone" % lost)
        t0 = time.time()
        time.sleep(3.5)
        self.assertEqual(self.keys(dest, ""), before)
        # The disabled configuration got nothing.
        self.assertEqual(self.keys(dest, "off/"), [])
        with open(self.srv.log, "rb") as fh:
            log = fh.read().decode("utf-8", "replace")
        self.assertEqual(log.count("lens export: account %s configuration 'daily'" % self.a12),
                         2, log)
        # The gone destination: logged (once a wake, not once a due day: two days are due).
        gone = log.count("'%s' is gone" % lost) - gone0
        self.assertGreaterEqual(gone, 1, log)
        self.assertLessEqual(gone, int(time.time() - t0) + 2, log)
        m = self.metrics()
        self.assertEqual(m[("coffer_lens_exports_total", frozenset({("result", "delivered")}))],
                         2)
        self.assertGreaterEqual(
            m[("coffer_lens_exports_total", frozenset({("result", "refused")}))], gone)
        self.assertNotIn(("coffer_lens_exports_total", frozenset({("result", "failed")})), m)


if __name__ == "__main__":
    unittest.main()
