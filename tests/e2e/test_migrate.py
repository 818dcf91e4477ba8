"""`coffer migrate` (issue 17): an embedded store moved to PostgreSQL, read back through cofferd.

A cofferd on SQLite gets buckets, versioned objects with a delete marker, inline and file-backed
bodies, a multipart object and an upload still in progress, tags, a lifecycle configuration, an
IAM user with an inline policy, an access key and an enabled MFA device. It is stopped, then
`coffer migrate` copies the store into a fresh PostgreSQL database (--blobs-to: the data into a
new directory), and a cofferd on that database (same --master-key, --blobs at the copy) must
answer the same: listings, version ids, bodies, tags, lifecycle, the user's key signs, its MFA
device lists and its code is accepted, the upload completes; new writes get fresh ids. Without
--blobs-to the copy names the data where it was. Refused (exit 1, nothing written): a database
that holds Coffer rows or another master key's check value, a destination that is not
postgresql://, a source that is not SQLite. Data gone from the source: an upload whose part
vanished is left out; a version whose data vanished fails the migration with nothing committed.

Runs on the PostgreSQL run only (E2E_META_PG, tests/e2e/run-pg.sh).
"""

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import unittest
import urllib.parse

import boto3
from botocore.config import Config

import lib
import mfa_lib
from lib import REGION

PG = os.environ.get("E2E_META_PG")
MIB = 1024 * 1024


def _client(service, srv, ak, sk, https=False, token=None):
    return boto3.session.Session().client(
        service, endpoint_url=srv.https if https else srv.http, aws_access_key_id=ak,
        aws_secret_access_key=sk, aws_session_token=token, region_name=REGION,
        verify=srv.ca if https else None,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"max_attempts": 1, "mode": "standard"}))


def _coffer(data, *args):
    return subprocess.run([os.path.join(lib.env().bin, "coffer"), "--data", data] + list(args),
                          capture_output=True, text=True, timeout=300)


def _versions(s3, bucket):
    out = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for v in page.get("Versions", []):
            out.append(("v", v["Key"], v["VersionId"], v["IsLatest"], v["ETag"], v["Size"]))
        for d in page.get("DeleteMarkers", []):
            out.append(("dm", d["Key"], d["VersionId"], d["IsLatest"]))
    return sorted(out)


@unittest.skipUnless(PG, "needs the PostgreSQL run (E2E_META_PG, tests/e2e/run-pg.sh)")
class MigrateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        base = os.environ.get("E2E_TMP") or tempfile.gettempdir()
        cls.root = tempfile.mkdtemp(prefix="migrate.", dir=base)
        cls.src = os.path.join(cls.root, "src")
        os.makedirs(cls.src)
        cls.key = os.path.join(cls.src, "master.key")
        srv = lib.Server(data=cls.src, log=os.path.join(cls.root, "src.log"),
                         args=["--meta", "sqlite:" + os.path.join(cls.src, "meta.db")])
        srv.start()
        try:
            cls._fill(srv)
        finally:
            srv.stop()

    @classmethod
    def _fill(cls, srv):
        cls.acct_name = "mig-" + lib.rand_suffix(6)
        acct = cls.acct = srv.account(cls.acct_name)
        s3 = _client("s3", srv, acct["access_key_id"], acct["secret_access_key"])
        iam = _client("iam", srv, acct["access_key_id"], acct["secret_access_key"], https=True)
        cls.b1, cls.b2 = lib.bucket_name("mig-v"), lib.bucket_name("mig-p")
        s3.create_bucket(Bucket=cls.b1)
        s3.create_bucket(Bucket=cls.b2)
        s3.put_bucket_versioning(Bucket=cls.b1, VersioningConfiguration={"Status": "Enabled"})
        cls.bodies = {}
        for key, body in (("k1", b"small inline body"), ("k1", os.urandom(200 * 1024)),
                          ("k2", b"tagged"), ("logs/a", os.urandom(70 * 1024))):
            r = s3.put_object(Bucket=cls.b1, Key=key, Body=body,
                              Tagging="team=blue&n=1" if key == "k2" else "")
            cls.bodies[(key, r["VersionId"])] = body
        s3.delete_object(Bucket=cls.b1, Key="k1")  # a delete marker over two versions
        s3.put_object(Bucket=cls.b2, Key="plain", Body=b"unversioned")
        # A multipart object (two parts: 5 MiB and 1 MiB) and one upload left in progress.
        mp = s3.create_multipart_upload(Bucket=cls.b1, Key="mp")
        p1, p2 = os.urandom(5 * MIB), os.urandom(MIB)
        e1 = s3.upload_part(Bucket=cls.b1, Key="mp", UploadId=mp["UploadId"], PartNumber=1,
                            Body=p1)["ETag"]
        e2 = s3.upload_part(Bucket=cls.b1, Key="mp", UploadId=mp["UploadId"], PartNumber=2,
                            Body=p2)["ETag"]
        r = s3.complete_multipart_upload(
            Bucket=cls.b1, Key="mp", UploadId=mp["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                       {"PartNumber": 2, "ETag": e2}]})
        cls.bodies[("mp", r["VersionId"])] = p1 + p2
        cls.open_upload = s3.create_multipart_upload(Bucket=cls.b1, Key="open")["UploadId"]
        cls.open_part = os.urandom(300 * 1024)
        cls.open_etag = s3.upload_part(Bucket=cls.b1, Key="open", UploadId=cls.open_upload,
                                       PartNumber=1, Body=cls.open_part)["ETag"]
        s3.put_bucket_tagging(Bucket=cls.b1, Tagging={"TagSet": [{"Key": "env", "Value": "t"}]})
        cls.lifecycle = {"Rules": [{"ID": "old-logs", "Status": "Enabled",
                                    "Filter": {"Prefix": "logs/"},
                                    "Expiration": {"Days": 30}}]}
        s3.put_bucket_lifecycle_configuration(Bucket=cls.b1,
                                              LifecycleConfiguration=cls.lifecycle)
        # An IAM user with an inline policy, an access key and an MFA device.
        cls.user = "mig-user"
        iam.create_user(UserName=cls.user)
        cls.policy = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*",
             "Resource": ["arn:aws:s3:::%s" % cls.b1, "arn:aws:s3:::%s/*" % cls.b1]},
            {"Effect": "Allow", "Action": "sts:GetSessionToken", "Resource": "*"}]})
        iam.put_user_policy(UserName=cls.user, PolicyName="b1", PolicyDocument=cls.policy)
        k = iam.create_access_key(UserName=cls.user)["AccessKey"]
        cls.user_key = (k["AccessKeyId"], k["SecretAccessKey"])
        cls.seed = mfa_lib.b32_seed()
        cls.serial = "MIG" + lib.rand_suffix(8).upper()
        r = _coffer(cls.src, "mfa", "add-hardware", "--account", cls.acct_name, "--user",
                    cls.user, "--serial", cls.serial, "--seed-base32", cls.seed)
        if r.returncode != 0:
            raise RuntimeError("mfa add-hardware: %s" % r.stderr)
        cls.before = {
            "versions": _versions(s3, cls.b1),
            "plain": _versions(s3, cls.b2),
            "buckets": sorted(b["Name"] for b in s3.list_buckets()["Buckets"]),
            "tags": s3.get_object_tagging(Bucket=cls.b1, Key="k2")["TagSet"],
        }

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)

    def _start(self, name, meta, blobs):
        data = os.path.join(self.root, name)
        os.makedirs(data)
        srv = lib.Server(data=data, log=os.path.join(self.root, name + ".log"),
                         args=["--meta", meta, "--blobs", blobs, "--master-key", self.key])
        srv.start()
        self.addCleanup(srv.close)
        return srv

    def test_migrate_with_data_reads_back_the_same(self):
        dst, blobs = lib.pg_meta(), os.path.join(self.root, "blobs2")
        r = _coffer(self.src, "migrate", "--to", dst, "--blobs-to", "file:" + blobs, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        n_versions = len(self.before["versions"]) + len(self.before["plain"])
        self.assertEqual(out["tables"]["versions"], n_versions)
        self.assertEqual(out["tables"]["uploads"], 1)
        self.assertEqual(out["tables"]["upload_parts"], 1)
        self.assertEqual(out["tables"]["mfa_devices"], 1)
        self.assertEqual(out["tables"]["store_info"], 1)
        # k1 (file-backed), logs/a, plain is inline; mp's two parts; the open upload's part.
        self.assertGreaterEqual(out["blobs"], 5)
        self.assertEqual(out["uploads_left_out"], 0)

        # Again into the same database: refused, nothing changed.
        again = _coffer(self.src, "migrate", "--to", dst)
        self.assertEqual(again.returncode, 1, again.stderr)
        self.assertIn("already holds Coffer data", again.stderr)

        srv = self._start("dst", dst, "file:" + blobs)
        s3 = _client("s3", srv, self.acct["access_key_id"], self.acct["secret_access_key"])
        self.assertEqual(_versions(s3, self.b1), self.before["versions"])
        self.assertEqual(_versions(s3, self.b2), self.before["plain"])
        self.assertEqual(sorted(b["Name"] for b in s3.list_buckets()["Buckets"]),
                         self.before["buckets"])
        for (key, vid), body in self.bodies.items():
            got = s3.get_object(Bucket=self.b1, Key=key, VersionId=vid)["Body"].read()
            self.assertEqual(got, body, "%s %s" % (key, vid))
        self.assertEqual(s3.get_object(Bucket=self.b2, Key="plain")["Body"].read(),
                         b"unversioned")
        self.assertEqual(s3.get_object_tagging(Bucket=self.b1, Key="k2")["TagSet"],
                         self.before["tags"])
        self.assertEqual(s3.get_bucket_tagging(Bucket=self.b1)["TagSet"],
                         [{"Key": "env", "Value": "t"}])
        lc = s3.get_bucket_lifecycle_configuration(Bucket=self.b1)["Rules"]
        self.assertEqual([(x["ID"], x["Filter"], x["Expiration"]) for x in lc],
                         [("old-logs", {"Prefix": "logs/"}, {"Days": 30})])

        # The user's key still signs (its secret is sealed with the same master key), its
        # policy still applies, its MFA device is there and its seed still checks codes.
        us3 = _client("s3", srv, *self.user_key)
        self.assertEqual(us3.get_object(Bucket=self.b1, Key="k2")["Body"].read(), b"tagged")
        with self.assertRaises(Exception):
            us3.get_object(Bucket=self.b2, Key="plain")
        iam = _client("iam", srv, self.acct["access_key_id"], self.acct["secret_access_key"],
                      https=True)
        doc = iam.get_user_policy(UserName=self.user, PolicyName="b1")["PolicyDocument"]
        if isinstance(doc, str):
            doc = json.loads(urllib.parse.unquote(doc))
        self.assertEqual(doc, json.loads(self.policy))
        devs = iam.list_mfa_devices(UserName=self.user)["MFADevices"]
        self.assertEqual([d["SerialNumber"] for d in devs], [self.serial])
        mfa_lib.ensure_margin()
        sts = _client("sts", srv, *self.user_key, https=True)
        cred = sts.get_session_token(SerialNumber=self.serial, TokenCode=mfa_lib.totp(
            self.seed, mfa_lib.cur_step()))["Credentials"]
        self.assertTrue(cred["SessionToken"])

        # The upload in progress goes on: its part's data came along.
        ups = s3.list_multipart_uploads(Bucket=self.b1).get("Uploads", [])
        self.assertEqual([u["UploadId"] for u in ups], [self.open_upload])
        r = s3.complete_multipart_upload(
            Bucket=self.b1, Key="open", UploadId=self.open_upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": self.open_etag}]})
        self.assertEqual(s3.get_object(Bucket=self.b1, Key="open", VersionId=r["VersionId"])
                         ["Body"].read(), self.open_part)

        # New rows get ids past the copied ones (identity sequences, version_seq moved on).
        old_ids = {v[2] for v in self.before["versions"]}
        r = s3.put_object(Bucket=self.b1, Key="k3", Body=b"new")
        self.assertNotIn(r["VersionId"], old_ids)
        b3 = lib.bucket_name("mig-new")
        s3.create_bucket(Bucket=b3)
        s3.put_object(Bucket=b3, Key="x", Body=b"y")
        self.assertEqual(s3.get_object(Bucket=b3, Key="x")["Body"].read(), b"y")
        iam.create_user(UserName="mig-user2")
        self.assertEqual(sorted(u["UserName"] for u in iam.list_users()["Users"]),
                         ["mig-user", "mig-user2"])
        self.assertEqual(srv.stop(), 0)

    def test_migrate_without_data_names_it_where_it_is(self):
        dst = lib.pg_meta()
        r = _coffer(self.src, "--from", "sqlite:" + os.path.join(self.src, "meta.db"),
                    "migrate", "--to", dst)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("versions", r.stdout)
        self.assertIn("to PostgreSQL in", r.stdout)
        srv = self._start("dst-same-data", dst, "file:" + os.path.join(self.src, "blobs"))
        s3 = _client("s3", srv, self.acct["access_key_id"], self.acct["secret_access_key"])
        self.assertEqual(_versions(s3, self.b1), self.before["versions"])
        for (key, vid), body in self.bodies.items():
            got = s3.get_object(Bucket=self.b1, Key=key, VersionId=vid)["Body"].read()
            self.assertEqual(got, body, "%s %s" % (key, vid))
        self.assertEqual(srv.stop(), 0)

    def test_migrate_into_a_database_a_cofferd_opened(self):
        # A fresh database one cofferd (same master key, no clients) already set up is empty.
        dst = lib.pg_meta()
        srv = self._start("dst-opened", dst, "file:" + os.path.join(self.root, "blobs3"))
        self.assertEqual(srv.stop(), 0)
        r = _coffer(self.src, "migrate", "--to", dst, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["blobs"], None)

    def _copy_without(self, name, sql):
        """A copy of the stopped source with the data files the query's blob ids name removed."""
        copy = os.path.join(self.root, name)
        shutil.copytree(self.src, copy)
        db = sqlite3.connect(os.path.join(copy, "meta.db"))
        ids = {r[0] for r in db.execute(sql)}
        db.close()
        self.assertTrue(ids)
        gone = 0
        for d, _, files in os.walk(os.path.join(copy, "blobs")):
            for f in files:
                if f in ids:
                    os.unlink(os.path.join(d, f))
                    gone += 1
        self.assertEqual(gone, len(ids))
        return copy

    def test_vanished_data(self):
        # A part of the upload in progress gone (aborted after the snapshot): that upload is
        # left out, the rest copied.
        src = self._copy_without("src-nopart", "SELECT blob_id FROM upload_parts")
        dst = lib.pg_meta()
        r = _coffer(src, "migrate", "--to", dst, "--blobs-to",
                    "file:" + os.path.join(self.root, "blobs-nopart"), "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["uploads_left_out"], 1)
        self.assertEqual((out["tables"]["uploads"], out["tables"]["upload_parts"]), (0, 0))
        self.assertEqual(out["tables"]["versions"],
                         len(self.before["versions"]) + len(self.before["plain"]))
        # A version's data gone: nothing is committed, the database stays empty and takes a
        # later migration.
        src = self._copy_without("src-noversion",
                                 "SELECT blob_id FROM versions WHERE blob_id IS NOT NULL")
        dst = lib.pg_meta()
        r = _coffer(src, "migrate", "--to", dst, "--blobs-to",
                    "file:" + os.path.join(self.root, "blobs-noversion"))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("was removed by cofferd before it could be copied", r.stderr)
        r = _coffer(self.src, "migrate", "--to", dst)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_refusals(self):
        dst = lib.pg_meta()
        cases = [
            (["migrate", "--to", "sqlite:" + os.path.join(self.root, "x.db")], "postgresql://"),
            (["migrate", "--to", "file:" + self.root], "postgresql://"),
            (["--from", dst, "migrate", "--to", dst], "--from must be sqlite:"),
            (["--meta", dst, "migrate", "--to", lib.pg_meta()], "not in SQLite"),
        ]
        for args, msg in cases:
            r = _coffer(self.src, *args)
            self.assertEqual(r.returncode, 1, (args, r.stderr))
            self.assertIn(msg, r.stderr, args)
        # A database with rows (an account made there) is refused, and left as it was.
        other = os.path.join(self.root, "other")
        os.makedirs(other)
        made = _coffer(other, "--meta", dst, "--master-key", self.key, "account", "create",
                       "someone")
        self.assertEqual(made.returncode, 0, made.stderr)
        r = _coffer(self.src, "migrate", "--to", dst)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("table accounts has rows", r.stderr)
        listed = _coffer(other, "--meta", dst, "--master-key", self.key, "account", "list",
                         "--json")
        self.assertEqual([a["name"] for a in json.loads(listed.stdout)], ["someone"])
        # A database opened with another master key: refused too.
        dst2 = lib.pg_meta()
        key2 = os.path.join(self.root, "other.key")
        with open(key2, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(key2, 0o600)
        r = _coffer(other, "--meta", dst2, "--master-key", key2, "account", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = _coffer(self.src, "migrate", "--to", dst2)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("another master key", r.stderr)


if __name__ == "__main__":
    unittest.main()
