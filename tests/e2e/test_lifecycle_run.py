"""The lifecycle executor (s3/s3_lifecycle_run.c) on a server of its own with 4-second days
(--lifecycle-day 4 --lifecycle-interval 1) [spec lifecycle A3, A7]: expiration on unversioned,
versioned and suspended buckets, noncurrent expiration with NewerNoncurrentVersions, expired
object delete markers, aborted uploads, transitions, filters and Disabled rules, the audit
records and `coffer lifecycle run --dry-run` (the MFA-delete interlock: test_mfa.py cases 18,
19, and unit test_lifecycle_act). A rule with Days N acts
at floor_day(t) + (N + 1) days: 4 to 8 s after the write for N = 1."""

import json
import os
import subprocess
import time
import unittest

import boto3
from botocore.config import Config

import lib
from lib import E2ETestCase

DAY_S = 4


def rule(rid, prefix, **actions):
    r = {"ID": rid, "Status": actions.pop("status", "Enabled"), "Filter": {"Prefix": prefix}}
    r.update(actions)
    return r


class LifecycleRunTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = lib.Server(tag="lcrun", args=["--lifecycle-day", str(DAY_S),
                                                "--lifecycle-interval", "1"])
        cls.srv.start()
        acct = cls.srv.account("lcrun")
        cls.c = boto3.session.Session().client(
            "s3", endpoint_url=cls.srv.http, aws_access_key_id=acct["access_key_id"],
            aws_secret_access_key=acct["secret_access_key"], region_name=lib.REGION,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                          retries={"max_attempts": 1}))
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        report = cls.srv.close()
        if report:
            raise AssertionError("sanitizer report in cofferd log:\n" + report)

    def bucket(self, rules, versioning=None):
        LifecycleRunTest.n += 1
        b = "lc%d" % self.n
        self.c.create_bucket(Bucket=b)
        if versioning:
            self.c.put_bucket_versioning(Bucket=b,
                                         VersioningConfiguration={"Status": versioning})
        if rules:
            self.c.put_bucket_lifecycle_configuration(Bucket=b,
                                                      LifecycleConfiguration={"Rules": rules})
        return b

    def wait(self, cond, days=3):
        """Polls cond() until true or `days` lifecycle days (plus a pass) went by."""
        deadline = time.time() + days * DAY_S + 3
        while time.time() < deadline:
            if cond():
                return True
            time.sleep(0.25)
        return cond()

    def keys(self, b):
        return sorted(o["Key"] for o in self.c.list_objects_v2(Bucket=b).get("Contents", []))

    def versions(self, b, key):
        r = self.c.list_object_versions(Bucket=b, Prefix=key)
        vs = [(v["VersionId"], False, v["IsLatest"]) for v in r.get("Versions", [])]
        dms = [(m["VersionId"], True, m["IsLatest"]) for m in r.get("DeleteMarkers", [])]
        return vs + dms

    def coffer(self):
        return os.path.join(self.srv.admin_bin, "coffer")

    def audit(self):
        out = subprocess.run([self.coffer(), "--data", self.srv.data, "audit", "--json"],
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    # --- expiration by versioning state (cases 15, 16, 19-22)

    def test_unversioned_expiration_and_filter(self):
        b = self.bucket([rule("R1", "logs/", Expiration={"Days": 1})])
        for k in ("logs/a", "logs/b", "Logs/a", "logsx", "keep"):
            self.c.put_object(Bucket=b, Key=k, Body=b"data")
        self.assertTrue(self.wait(lambda: self.keys(b) == ["Logs/a", "keep", "logsx"]),
                        self.keys(b))
        self.assertStatus(404, self.c.head_object, Bucket=b, Key="logs/a")
        events = [e for e in self.audit() if e.get("bucket") == b]
        self.assertEqual(sorted(e["key"] for e in events if e["event"] == "S3.EXPIRE.OBJECT"),
                         ["logs/a", "logs/b"])
        self.assertTrue(all(e["principal"] == "lifecycle" for e in events
                            if e["event"].startswith("S3.")))

    def test_versioned_expiration_adds_one_marker(self):
        b = self.bucket([rule("R", "", Expiration={"Days": 1})], versioning="Enabled")
        v1 = self.c.put_object(Bucket=b, Key="k", Body=b"v1")["VersionId"]
        self.assertTrue(self.wait(lambda: any(dm for _, dm, _ in self.versions(b, "k"))))
        vs = self.versions(b, "k")
        self.assertIn((v1, False, False), vs)
        self.assertEqual(len([1 for _, dm, latest in vs if dm and latest]), 1)
        # The marker is dated the midnight (day boundary) of the pass that made it.
        dm = self.c.list_object_versions(Bucket=b, Prefix="k")["DeleteMarkers"][0]
        self.assertEqual(int(dm["LastModified"].timestamp()) % DAY_S, 0)
        # No second marker however many passes go by (case 20).
        time.sleep(2 * DAY_S)
        self.assertEqual(len([1 for _, dm, _ in self.versions(b, "k") if dm]), 1)
        self.assertEqual(self.c.get_object(Bucket=b, Key="k", VersionId=v1)["Body"].read(),
                         b"v1")

    def test_suspended_expiration_null_marker(self):
        b = self.bucket([rule("R", "", Expiration={"Days": 1})], versioning="Enabled")
        v1 = self.c.put_object(Bucket=b, Key="kept", Body=b"v1")["VersionId"]
        self.c.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
        self.c.put_object(Bucket=b, Key="null", Body=b"n")
        self.assertTrue(self.wait(lambda: len(self.versions(b, "null")) == 1 and
                                  self.versions(b, "null")[0][1] and
                                  any(dm for _, dm, _ in self.versions(b, "kept"))))
        self.assertEqual(self.versions(b, "null"), [("null", True, True)])
        self.assertIn((v1, False, False), self.versions(b, "kept"))
        self.assertIn(("null", True, True), self.versions(b, "kept"))

    # --- noncurrent versions, markers, uploads (cases 23, 24, 26, 27, 30)

    def test_noncurrent_expiration_keeps_newer_versions(self):
        b = self.bucket([rule("NC", "", NoncurrentVersionExpiration={
            "NoncurrentDays": 1, "NewerNoncurrentVersions": 2})], versioning="Enabled")
        ids = [self.c.put_object(Bucket=b, Key="k", Body=b"%d" % i)["VersionId"]
               for i in range(6)]
        self.assertTrue(self.wait(lambda: len(self.versions(b, "k")) == 3))
        self.assertEqual(sorted(v for v, _, _ in self.versions(b, "k")), sorted(ids[3:]))

    def test_expired_delete_marker_removed(self):
        b = self.bucket([rule("DM", "", Expiration={"ExpiredObjectDeleteMarker": True})],
                        versioning="Enabled")
        v1 = self.c.put_object(Bucket=b, Key="gone", Body=b"x")["VersionId"]
        self.c.delete_object(Bucket=b, Key="gone")
        self.c.delete_object(Bucket=b, Key="gone", VersionId=v1)
        v2 = self.c.put_object(Bucket=b, Key="kept", Body=b"x")["VersionId"]
        self.c.delete_object(Bucket=b, Key="kept")
        self.assertTrue(self.wait(lambda: self.versions(b, "gone") == []))
        kept = self.versions(b, "kept")
        self.assertEqual(len(kept), 2)
        self.assertIn((v2, False, False), kept)

    def test_incomplete_upload_aborted(self):
        b = self.bucket([rule("A7", "up/", AbortIncompleteMultipartUpload={
            "DaysAfterInitiation": 1})])
        uid = self.c.create_multipart_upload(Bucket=b, Key="up/big")["UploadId"]
        other = self.c.create_multipart_upload(Bucket=b, Key="down/big")["UploadId"]
        self.c.upload_part(Bucket=b, Key="up/big", UploadId=uid, PartNumber=1, Body=b"p")
        self.assertTrue(self.wait(lambda: [u["UploadId"] for u in self.c.list_multipart_uploads(
            Bucket=b).get("Uploads", [])] == [other]))
        self.assertS3Error("NoSuchUpload", 404, self.c.upload_part, Bucket=b, Key="up/big",
                           UploadId=uid, PartNumber=2, Body=b"p")

    def test_transition_relabels(self):
        b = self.bucket([rule("T", "cold/", Transitions=[{"Days": 1,
                                                         "StorageClass": "GLACIER_IR"}])])
        # Nothing under 128 KiB transitions by default (all_storage_classes_128K).
        body = os.urandom(200 * 1024)
        self.c.put_object(Bucket=b, Key="cold/a", Body=body)
        self.c.put_object(Bucket=b, Key="cold/small", Body=b"data")
        self.c.put_object(Bucket=b, Key="hot/a", Body=body)
        self.assertTrue(self.wait(lambda: self.c.head_object(Bucket=b, Key="cold/a").get(
            "StorageClass") == "GLACIER_IR"))
        self.assertEqual(self.c.get_object(Bucket=b, Key="cold/a")["Body"].read(), body)
        self.assertNotIn("StorageClass", self.c.head_object(Bucket=b, Key="hot/a"))
        self.assertNotIn("StorageClass", self.c.head_object(Bucket=b, Key="cold/small"))
        events = [e["event"] for e in self.audit() if e.get("bucket") == b]
        self.assertEqual(events.count("S3.TRANSITION_GIR.OBJECT"), 1)

    def test_disabled_rule_and_tag_filter(self):
        b = self.bucket([rule("off", "", status="Disabled", Expiration={"Days": 1}),
                         {"ID": "tag", "Status": "Enabled",
                          "Filter": {"Tag": {"Key": "tmp", "Value": "yes"}},
                          "Expiration": {"Days": 1}}])
        self.c.put_object(Bucket=b, Key="tagged", Body=b"x", Tagging="tmp=yes&other=1")
        self.c.put_object(Bucket=b, Key="other", Body=b"x", Tagging="tmp=no")
        self.c.put_object(Bucket=b, Key="plain", Body=b"x")
        self.assertTrue(self.wait(lambda: self.keys(b) == ["other", "plain"]))
        time.sleep(DAY_S)
        self.assertEqual(self.keys(b), ["other", "plain"])

    # --- the CLI and the MFA-delete interlock

    def test_cli_dry_run_then_run(self):
        b = self.bucket([rule("later", "", Expiration={"Days": 1000})])
        self.c.put_object(Bucket=b, Key="k", Body=b"x")
        cmd = [self.coffer(), "--data", self.srv.data, "lifecycle", "run", "--bucket", b,
               "--json"]
        # With 1-second days, 1000 days pass in under 20 minutes: not yet.
        r = json.loads(subprocess.run(cmd + ["--dry-run", "--day", "1"], capture_output=True,
                                      text=True, check=True).stdout)
        self.assertEqual(r["due"], 0)
        self.assertEqual(r["buckets"], 1)
        self.assertEqual(r["versions"], 1)
        self.assertEqual(self.keys(b), ["k"])
        # Days 1 with the CLI's 1-second days is due within 2 s; cofferd's 4-second days
        # make it due no sooner than 4 s after the write, so the CLI acts first.
        b2 = self.bucket([rule("soon", "", Expiration={"Days": 1})])
        self.c.put_object(Bucket=b2, Key="k", Body=b"x")
        time.sleep(2.1)
        cmd[cmd.index(b)] = b2
        r = json.loads(subprocess.run(cmd + ["--dry-run", "--day", "1"], capture_output=True,
                                      text=True, check=True).stdout)
        self.assertEqual((r["due"], r["done"]), (1, 0))
        self.assertEqual([(a["key"], a["action"], a["rule_id"], a["result"])
                          for a in r["actions"]], [("k", "expire", "soon", "due")])
        self.assertEqual(self.keys(b2), ["k"])
        r = json.loads(subprocess.run(cmd + ["--day", "1"], capture_output=True, text=True,
                                      check=True).stdout)
        self.assertEqual((r["due"], r["done"]), (1, 1))
        self.assertEqual(r["actions"][0]["result"], "done")
        self.assertEqual(self.keys(b2), [])


if __name__ == "__main__":
    unittest.main()
