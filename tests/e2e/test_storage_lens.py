"""S3 Storage Lens configurations over S3 Control on the S3 endpoint
(../shared/spec/lifecycle-and-storage-lens.md part B, B1, B2, B6): Put/Get/Delete/List
StorageLensConfiguration(s) and their tagging at /v20180820/storagelens with x-amz-account-id,
from boto3's s3control client, raw signed requests and the AWS CLI.

boto3 and the AWS CLI address S3 Control as ACCOUNT.localhost:PORT even with an endpoint URL;
lib.py maps *.localhost to 127.0.0.1 in-process and test_s3control's sitecustomize shim does the
same for the CLI, so the signed Host keeps its account label, as a real client's does.

Each class uses fresh accounts: every account has its own default dashboard and limit.
"""

import csv
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import unittest

import lib
from lib import E2ETestCase, bucket_name
from mfa_lib import REGION, MfaAccount, aws_env, ca_path, coffer, env
from test_authz import User, allow, doc
from test_s3control import _SITECUSTOMIZE, control_client

NS = "http://awss3control.amazonaws.com/doc/2018-08-20/"
DEFAULT = "default-account-dashboard"


def minimal(cid, **extra):
    cfg = {"Id": cid, "AccountLevel": {"BucketLevel": {}}, "IsEnabled": True}
    cfg.update(extra)
    return cfg


def body_xml(inner):
    return ('<PutStorageLensConfigurationRequest xmlns="%s">%s'
            '</PutStorageLensConfigurationRequest>' % (NS, inner)).encode()


def cfg_xml(cid, account_level="<BucketLevel/>", extra=""):
    return ("<StorageLensConfiguration><Id>%s</Id><AccountLevel>%s</AccountLevel>%s"
            "<IsEnabled>true</IsEnabled></StorageLensConfiguration>" % (cid, account_level, extra))


class LensCase(E2ETestCase):
    tag = "lens"

    @classmethod
    def setUpClass(cls):
        cls.a = MfaAccount(cls.tag + "a")
        cls.b = MfaAccount(cls.tag + "b")
        cls.a12 = "%012d" % int(cls.a.id)
        cls.b12 = "%012d" % int(cls.b.id)
        cls.ctl_a = control_client(cls.a.ak, cls.a.sk)
        cls.ctl_a_http = control_client(cls.a.ak, cls.a.sk, https=False)
        cls.ctl_b = control_client(cls.b.ak, cls.b.sk)

    def arn(self, cid, acct=None):
        return "arn:aws:s3:%s:%s:storage-lens/%s" % (REGION, acct or self.a12, cid)

    def put(self, cfg, ctl=None, acct=None, **kw):
        return (ctl or self.ctl_a).put_storage_lens_configuration(
            ConfigId=cfg["Id"], AccountId=acct or self.a12, StorageLensConfiguration=cfg, **kw)

    def get(self, cid, ctl=None, acct=None):
        return (ctl or self.ctl_a).get_storage_lens_configuration(
            ConfigId=cid, AccountId=acct or self.a12)["StorageLensConfiguration"]

    def err(self, code, status, cfg, **kw):
        return self.assertS3Error(code, status, self.put, cfg, **kw)

    def raw(self, method, path, body=b"", acct=None, host=None, ak=None, sk=None, hdrs=True):
        headers = {"x-amz-account-id": acct or self.a12} if hdrs else {}
        kw = {"host": host} if host else {}
        return lib.signed_request(method, path, headers=headers, body=body, ak=ak or self.a.ak,
                                  sk=sk or self.a.sk, **kw)

    def list_all(self, ctl=None, acct=None):
        pages, token = [], None
        while True:
            kw = {"AccountId": acct or self.a12}
            if token:
                kw["NextToken"] = token
            r = (ctl or self.ctl_a).list_storage_lens_configurations(**kw)
            pages.append(r.get("StorageLensConfigurationList", []))
            token = r.get("NextToken")
            if not token:
                return pages


class TestConfigurations(LensCase):
    tag = "lens-cfg"

    def test_put_get_delete(self):
        # L1: the smallest configuration comes back with its ARN.
        r = self.put(minimal("a.b-c_1"))
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        got = self.get("a.b-c_1")
        self.assertEqual(got, dict(minimal("a.b-c_1"), StorageLensArn=self.arn("a.b-c_1")))
        r = self.raw("GET", "/v20180820/storagelens/a.b-c_1")
        self.assertEqual(r.status, 200, r.body)
        self.assertIn(('<StorageLensConfiguration xmlns="%s">' % NS).encode(), r.body)
        # A full configuration (every container Coffer honours; the advanced groups present but
        # off, as Coffer exports only the free metrics) round-trips.
        dest = bucket_name("lens-dst")
        self.a.s3.create_bucket(Bucket=dest)
        full = {
            "Id": "full",
            "AccountLevel": {
                "ActivityMetrics": {"IsEnabled": False},
                "AdvancedCostOptimizationMetrics": {"IsEnabled": False},
                "AdvancedDataProtectionMetrics": {"IsEnabled": False},
                "DetailedStatusCodesMetrics": {"IsEnabled": False},
                "BucketLevel": {
                    "ActivityMetrics": {"IsEnabled": False},
                    "PrefixLevel": {"StorageMetrics": {"IsEnabled": False, "SelectionCriteria": {
                        "Delimiter": "/", "MaxDepth": 5, "MinStorageBytesPercentage": 10.5}}},
                    "DetailedStatusCodesMetrics": {"IsEnabled": False},
                },
            },
            "Include": {"Buckets": ["arn:aws:s3:::%s" % dest, "arn:aws:s3:::other-bucket"]},
            "DataExport": {
                "S3BucketDestination": {"Format": "CSV", "OutputSchemaVersion": "V_1",
                                        "AccountId": self.a12, "Arn": "arn:aws:s3:::%s" % dest,
                                        "Prefix": "lens/out"},
                "CloudWatchMetrics": {"IsEnabled": False},
            },
            "IsEnabled": False,
        }
        self.put(full)
        self.assertEqual(self.get("full"), dict(full, StorageLensArn=self.arn("full")))
        # Put replaces the whole configuration.
        self.put(minimal("full", IsEnabled=True))
        self.assertEqual(self.get("full"), dict(minimal("full"), StorageLensArn=self.arn("full")))
        r = self.ctl_a.delete_storage_lens_configuration(ConfigId="full", AccountId=self.a12)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        # L6: gone, and unknown ids are NoSuchConfiguration everywhere.
        for fn in (self.ctl_a.get_storage_lens_configuration,
                   self.ctl_a.delete_storage_lens_configuration,
                   self.ctl_a.get_storage_lens_configuration_tagging,
                   self.ctl_a.delete_storage_lens_configuration_tagging):
            self.assertS3Error("NoSuchConfiguration", 404, fn, ConfigId="full",
                               AccountId=self.a12)
        self.assertS3Error("NoSuchConfiguration", 404,
                           self.ctl_a.put_storage_lens_configuration_tagging, ConfigId="full",
                           AccountId=self.a12, Tags=[{"Key": "k", "Value": "v"}])

    def test_default_dashboard(self):
        # Every account has it, listed, enabled, with the free metrics.
        c = MfaAccount(self.tag + "c")
        c12 = "%012d" % int(c.id)
        ctl_c = control_client(c.ak, c.sk)
        r = ctl_c.list_storage_lens_configurations(AccountId=c12)
        self.assertNotIn("NextToken", r)
        self.assertEqual(r["StorageLensConfigurationList"], [{
            "Id": DEFAULT, "StorageLensArn": self.arn(DEFAULT, c12), "HomeRegion": REGION,
            "IsEnabled": True}])
        self.assertEqual(self.get(DEFAULT, ctl_c, c12), dict(minimal(DEFAULT),
                                                              StorageLensArn=self.arn(DEFAULT,
                                                                                      c12)))
        # L5: it cannot be deleted.
        r = self.assertS3Error("DefaultConfigurationDeleteForbidden", 403,
                               ctl_c.delete_storage_lens_configuration, ConfigId=DEFAULT,
                               AccountId=c12)
        self.assertEqual(r["Error"]["Message"], "The Default configuration cannot be deleted.")
        # Its metric selections (off: Coffer has only the free tier), export and state can
        # change; its scope cannot.
        dest = bucket_name("lens-ddst")
        c.s3.create_bucket(Bucket=dest)
        upd = minimal(DEFAULT, IsEnabled=False, AccountLevel={
            "AdvancedCostOptimizationMetrics": {"IsEnabled": False}, "BucketLevel": {}},
            DataExport={"S3BucketDestination": {
                "Format": "CSV", "OutputSchemaVersion": "V_1", "AccountId": c12,
                "Arn": "arn:aws:s3:::%s" % dest}})
        self.put(upd, ctl_c, c12)
        self.assertEqual(self.get(DEFAULT, ctl_c, c12),
                         dict(upd, StorageLensArn=self.arn(DEFAULT, c12)))
        r = ctl_c.list_storage_lens_configurations(AccountId=c12)
        self.assertEqual([x["IsEnabled"] for x in r["StorageLensConfigurationList"]], [False])
        self.assertS3Error("InvalidFilterForDefaultConfiguration", 400, self.put,
                           minimal(DEFAULT, Exclude={"Regions": ["us-west-2"]}), ctl=ctl_c,
                           acct=c12)
        self.assertS3Error("InvalidOrganizationForDefaultConfiguration", 400, self.put,
                           minimal(DEFAULT, AwsOrg={
                               "Arn": "arn:aws:organizations::123456789012:organization/"
                                      "o-abcdefghij"}), ctl=ctl_c, acct=c12)
        self.assertS3Error("DefaultConfigurationDeleteForbidden", 403,
                           ctl_c.delete_storage_lens_configuration, ConfigId=DEFAULT,
                           AccountId=c12)

    def test_validation(self):
        self.err("InvalidConfigId", 400, minimal("x" * 65))
        self.err("InvalidConfigId", 400, minimal("bad id"))
        # L2: an id with "/" (botocore sends it as %2F: one path segment).
        r = self.assertS3Error("InvalidConfigId", 400, self.put, minimal("bad/id"))
        self.assertEqual(r["Error"]["Message"], "The configuration ID is not valid.")
        # L3 and its mirror.
        self.err("MissingBucketLevelActivityMetrics", 400, minimal("act", AccountLevel={
            "ActivityMetrics": {"IsEnabled": True}, "BucketLevel": {}}))
        self.err("MissingAccountLevelActivityMetrics", 400, minimal("act", AccountLevel={
            "BucketLevel": {"ActivityMetrics": {"IsEnabled": True}}}))
        # L4 and the filters.
        self.err("InvalidIncludeExcludeContainers", 400, minimal(
            "flt", Include={"Regions": ["us-east-1"]}, Exclude={"Regions": ["us-west-2"]}))
        self.err("EmptyIncludeContainer", 400, minimal("flt", Include={}))
        self.err("EmptyExcludeContainer", 400, minimal("flt", Exclude={"Buckets": []}))
        r = self.err("TooManyBuckets", 400, minimal("flt", Include={
            "Buckets": ["arn:aws:s3:::bucket-%d" % i for i in range(51)]}))
        self.assertEqual(r["Error"]["Message"],
                         "The buckets container cannot have more than 50 buckets.")
        self.err("TooManyRegions", 400, minimal("flt", Include={
            "Regions": ["region-%d" % i for i in range(51)]}))
        self.err("InvalidRegionName", 400, minimal("flt", Exclude={"Regions": ["US_EAST"]}))
        self.err("InvalidBucketFilter", 400, minimal("flt", Include={"Buckets": ["nope"]}))
        prefix = lambda sel: minimal("pfx", AccountLevel={"BucketLevel": {"PrefixLevel": {
            "StorageMetrics": {"IsEnabled": True, "SelectionCriteria": sel}}}})
        self.err("InvalidMaximumPrefixDepth", 400, prefix({"MaxDepth": 11}))
        self.err("InvalidMinimumStorageBytesPercentage", 400,
                 prefix({"MinStorageBytesPercentage": 100.5}))
        self.err("InvalidStorageLensArn", 400, minimal("arn", StorageLensArn=self.arn("arn")))
        self.err("OrganizationAccessDenied", 403, minimal("org", AwsOrg={
            "Arn": "arn:aws:organizations::123456789012:organization/o-abcdefghij"}))
        # What Coffer cannot do is refused, never accepted and ignored.
        # Coffer exports only the free metrics: every advanced group, at either level, and
        # prefix-level storage metrics are refused when enabled.
        for g in ("ActivityMetrics", "AdvancedCostOptimizationMetrics",
                  "AdvancedDataProtectionMetrics", "DetailedStatusCodesMetrics",
                  "AdvancedPerformanceMetrics"):
            both = {g: {"IsEnabled": True}} if g == "ActivityMetrics" else {}
            r = self.err("InvalidRequest", 400, minimal("adv", AccountLevel=dict(
                {g: {"IsEnabled": True}}, BucketLevel=both)))
            self.assertIn(g, r["Error"]["Message"])
            if g != "ActivityMetrics":
                r = self.err("InvalidRequest", 400, minimal("adv", AccountLevel={
                    "BucketLevel": {g: {"IsEnabled": True}}}))
                self.assertIn(g, r["Error"]["Message"])
        r = self.err("InvalidRequest", 400, minimal("adv", AccountLevel={"BucketLevel": {
            "PrefixLevel": {"StorageMetrics": {"IsEnabled": True}}}}))
        self.assertIn("prefix-level", r["Error"]["Message"])
        self.err("InvalidRequest", 400, minimal("cw", DataExport={
            "CloudWatchMetrics": {"IsEnabled": True}}))
        for cid in ("flt", "pfx", "adv", "cw", "org", "arn", "act"):
            self.assertS3Error("NoSuchConfiguration", 404, self.get, cid)

    def test_destination(self):
        mine = bucket_name("lens-dst")
        self.a.s3.create_bucket(Bucket=mine)
        theirs = bucket_name("lens-oth")
        self.b.s3.create_bucket(Bucket=theirs)

        def dest(**kw):
            d = {"Format": "CSV", "OutputSchemaVersion": "V_1", "AccountId": self.a12,
                 "Arn": "arn:aws:s3:::%s" % mine}
            d.update(kw)
            return minimal("exp", DataExport={"S3BucketDestination": d})

        r = self.err("InvalidDestination", 400, dest(Arn="arn:aws:s3:::"))
        self.assertEqual(r["Error"]["Message"], "The S3 bucket ARN is malformed.")
        self.err("InvalidDestination", 400, dest(Arn="arn:aws:s3:::%s-gone" % mine))
        self.err("InvalidDestination", 400, dest(Arn="arn:aws:s3:::%s" % theirs))
        self.err("InvalidDestination", 400, dest(AccountId=self.b12))
        r = self.err("InvalidRequest", 400, dest(Format="Parquet"))
        self.assertIn("Parquet", r["Error"]["Message"])
        r = self.err("InvalidEncryptionMethod", 400, dest(Encryption={"SSES3": {}}))
        self.assertIn("does not encrypt", r["Error"]["Message"])
        self.err("InvalidEncryptionMethod", 400, dest(Encryption={"SSEKMS": {
            "KeyId": "arn:aws:kms:us-east-1:123456789012:key/k"}}))
        # Raw: no method, and both methods.
        dx = ("<DataExport><S3BucketDestination><Format>CSV</Format><OutputSchemaVersion>V_1"
              "</OutputSchemaVersion><AccountId>%s</AccountId><Arn>arn:aws:s3:::%s</Arn>"
              "<Encryption>%%s</Encryption></S3BucketDestination></DataExport>" % (self.a12, mine))
        for enc, code in (("", "MissingEncryptionMethod"),
                          ("<SSE-S3/><SSE-KMS><KeyId>k</KeyId></SSE-KMS>",
                           "InvalidEncryptionMethod")):
            r = self.raw("PUT", "/v20180820/storagelens/exp",
                         body_xml(cfg_xml("exp", extra=dx % enc)))
            self.assertEqual((r.status, r.error()[0]), (400, code), r.body)
        self.put(dest(Prefix="reports"))
        self.assertEqual(self.get("exp")["DataExport"]["S3BucketDestination"]["Prefix"],
                         "reports")

    def test_raw_documents(self):
        path = "/v20180820/storagelens/raw1"
        cases = [
            (b"<x", "MalformedXML"),
            (body_xml("<Other/>"), "MalformedXML"),
            (body_xml(cfg_xml("raw1", account_level="")), "MalformedXML"),  # no BucketLevel
            (body_xml(cfg_xml("raw1", extra="<Unknown/>")), "MalformedXML"),
            (body_xml(cfg_xml("raw1").replace("true", "yes")), "MalformedXML"),
            (body_xml(cfg_xml("other")), "InvalidConfigId"),  # body Id != path id
            (body_xml(cfg_xml("raw1", account_level="<BucketLevel><PrefixLevel/></BucketLevel>")),
             "MissingPrefixLevelStorageMetrics"),
            (body_xml(cfg_xml("raw1", account_level="<BucketLevel/><StorageLensGroupLevel>"
                                                    "<SelectionCriteria/></StorageLensGroupLevel>")),
             "InvalidRequest"),
        ]
        for body, code in cases:
            r = self.raw("PUT", path, body)
            self.assertEqual((r.status, r.error()[0]), (400, code), (body, r.body))
        r = self.raw("PUT", path, b"")
        self.assertEqual((r.status, r.error()[0]), (400, "MissingRequestBodyError"), r.body)
        r = self.raw("PUT", path, body_xml(cfg_xml("raw1")))
        self.assertEqual(r.status, 200, r.body)
        # No account header: InvalidRequest (S3 Control selected by the host label).
        r = self.raw("GET", path, host="%s.localhost:%d" % (self.a12, env().http_port),
                     hdrs=False)
        self.assertEqual((r.status, r.error()[0]), (400, "InvalidRequest"), r.body)
        r = self.raw("GET", "/v20180820/storagelens/raw1/other")
        self.assertEqual((r.status, r.error()[0]), (501, "NotImplemented"), r.body)


class TestListAndLimits(LensCase):
    tag = "lens-list"

    def test_limit(self):
        c = MfaAccount(self.tag + "c")
        c12 = "%012d" % int(c.id)
        ctl = control_client(c.ak, c.sk, https=False)
        # 49 and the default make 50, AWS's limit per home Region.
        for i in range(49):
            self.put(minimal("cfg-%02d" % i), ctl, c12)
        r = self.assertS3Error("TooManyConfigurations", 400, self.put, minimal("one-more"),
                               ctl=ctl, acct=c12)
        self.assertIn("50", r["Error"]["Message"])
        self.put(minimal("cfg-07", IsEnabled=False), ctl, c12)  # updates still go
        pages = self.list_all(ctl, c12)
        self.assertEqual(len(pages), 1)
        ids = [x["Id"] for x in pages[0]]
        self.assertEqual(ids, sorted(["cfg-%02d" % i for i in range(49)] + [DEFAULT]))
        self.assertFalse([x for x in pages[0] if x["Id"] == "cfg-07"][0]["IsEnabled"])
        ctl.delete_storage_lens_configuration(ConfigId="cfg-00", AccountId=c12)
        self.put(minimal("one-more"), ctl, c12)

    @lib.sqlite_only
    def test_pages(self):
        # L7: 150 configurations, 100 a page. The API stops an account at 50, so the
        # rows beyond are written straight into meta.db (as an older limit could have left
        # them), in the canonical form the server stores.
        c = MfaAccount(self.tag + "p")
        c12 = "%012d" % int(c.id)
        ctl = control_client(c.ak, c.sk, https=False)
        self.put(minimal("seed"), ctl, c12)
        db = sqlite3.connect(os.path.join(env().data, "meta.db"), timeout=30)
        try:
            (cfg,) = db.execute("SELECT config FROM lens_configs WHERE account_id = ? AND "
                                "config_id = 'seed'", (int(c.id),)).fetchone()
            now = int(time.time() * 1000)
            with db:
                db.executemany(
                    "INSERT INTO lens_configs (account_id, config_id, is_enabled, config, "
                    "created_ms, updated_ms) VALUES (?, ?, 1, ?, ?, ?)",
                    [(int(c.id), "p-%03d" % i, cfg.replace("<Id>seed</Id>", "<Id>p-%03d</Id>" % i),
                      now, now) for i in range(148)])
        finally:
            db.close()
        r1 = ctl.list_storage_lens_configurations(AccountId=c12)
        self.assertEqual(len(r1["StorageLensConfigurationList"]), 100)
        self.assertIn("NextToken", r1)
        r2 = ctl.list_storage_lens_configurations(AccountId=c12, NextToken=r1["NextToken"])
        self.assertEqual(len(r2["StorageLensConfigurationList"]), 50)
        self.assertNotIn("NextToken", r2)
        ids = [x["Id"] for x in r1["StorageLensConfigurationList"] +
               r2["StorageLensConfigurationList"]]
        self.assertEqual(ids, sorted(["p-%03d" % i for i in range(148)] + ["seed", DEFAULT]))
        self.assertEqual(self.get("p-120", ctl, c12)["Id"], "p-120")
        self.assertS3Error("InvalidArgument", 400, ctl.list_storage_lens_configurations,
                           AccountId=c12, NextToken="not-a-token")
        # Past the limit, a new one is refused.
        self.assertS3Error("TooManyConfigurations", 400, self.put, minimal("new"), ctl=ctl,
                           acct=c12)


class TestTags(LensCase):
    tag = "lens-tags"

    def tags(self, cid):
        return self.ctl_a.get_storage_lens_configuration_tagging(
            ConfigId=cid, AccountId=self.a12)["Tags"]

    def test_tags(self):
        self.put(minimal("t1"), Tags=[{"Key": "team", "Value": "ops"},
                                      {"Key": "cost center", "Value": ""}])
        self.assertEqual(self.tags("t1"), [{"Key": "team", "Value": "ops"},
                                           {"Key": "cost center", "Value": ""}])
        # A Put without Tags keeps them; with Tags it replaces them.
        self.put(minimal("t1", IsEnabled=False))
        self.assertEqual(len(self.tags("t1")), 2)
        self.ctl_a.put_storage_lens_configuration_tagging(
            ConfigId="t1", AccountId=self.a12, Tags=[{"Key": "k:1/a=b+c-d@e.f_g", "Value": "v"}])
        self.assertEqual(self.tags("t1"), [{"Key": "k:1/a=b+c-d@e.f_g", "Value": "v"}])
        r = self.ctl_a.delete_storage_lens_configuration_tagging(ConfigId="t1",
                                                                 AccountId=self.a12)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(self.tags("t1"), [])
        # Rules.
        put_tags = self.ctl_a.put_storage_lens_configuration_tagging
        self.assertS3Error("InvalidTag", 400, put_tags, ConfigId="t1", AccountId=self.a12,
                           Tags=[{"Key": "aws:x", "Value": "v"}])
        self.assertS3Error("InvalidTag", 400, put_tags, ConfigId="t1", AccountId=self.a12,
                           Tags=[{"Key": "k", "Value": "a"}, {"Key": "k", "Value": "b"}])
        self.assertS3Error("InvalidTag", 400, put_tags, ConfigId="t1", AccountId=self.a12,
                           Tags=[{"Key": "k" * 129, "Value": "v"}])
        self.assertS3Error("InvalidTag", 400, put_tags, ConfigId="t1", AccountId=self.a12,
                           Tags=[{"Key": "k", "Value": "v" * 257}])
        self.assertS3Error("InvalidTag", 400, put_tags, ConfigId="t1", AccountId=self.a12,
                           Tags=[{"Key": "k", "Value": "semi;colon"}])
        self.assertS3Error("BadRequest", 400, put_tags, ConfigId="t1", AccountId=self.a12,
                           Tags=[{"Key": "k%d" % i, "Value": "v"} for i in range(51)])
        put_tags(ConfigId="t1", AccountId=self.a12,
                 Tags=[{"Key": "k%d" % i, "Value": "v"} for i in range(50)])
        self.assertEqual(len(self.tags("t1")), 50)
        # The default dashboard takes tags too.
        put_tags(ConfigId=DEFAULT, AccountId=self.a12, Tags=[{"Key": "d", "Value": "1"}])
        self.assertEqual(self.tags(DEFAULT), [{"Key": "d", "Value": "1"}])
        # Deleting a configuration drops its tags: the same id comes back with none.
        self.ctl_a.delete_storage_lens_configuration(ConfigId="t1", AccountId=self.a12)
        self.put(minimal("t1"))
        self.assertEqual(self.tags("t1"), [])


class TestAuthorization(LensCase):
    tag = "lens-authz"

    def test_other_account(self):
        self.put(minimal("mine"), self.ctl_b, self.b12)
        denied = lambda fn, **kw: self.assertS3Error("AccessDenied", 403, fn, AccountId=self.b12,
                                                     **kw)
        denied(self.ctl_a.get_storage_lens_configuration, ConfigId="mine")
        denied(self.ctl_a.list_storage_lens_configurations)
        denied(self.ctl_a.delete_storage_lens_configuration, ConfigId="mine")
        denied(self.ctl_a.get_storage_lens_configuration_tagging, ConfigId="mine")
        denied(self.ctl_a.put_storage_lens_configuration, ConfigId="mine",
               StorageLensConfiguration=minimal("mine"))
        self.assertEqual(self.get("mine", self.ctl_b, self.b12)["Id"], "mine")

    def test_iam_user(self):
        self.put(minimal("x"))
        self.put(minimal("y"))
        u = User(self.a, "lens-u-" + lib.rand_suffix(6))
        ctl_u = control_client(u.ak, u.sk)
        denied = lambda fn, **kw: self.assertS3Error("AccessDenied", 403, fn, AccountId=self.a12,
                                                     **kw)
        # No policy: nothing.
        denied(ctl_u.get_storage_lens_configuration, ConfigId="x")
        denied(ctl_u.list_storage_lens_configurations)
        denied(ctl_u.put_storage_lens_configuration, ConfigId="z",
               StorageLensConfiguration=minimal("z"))
        # Get on x alone (the resource is the configuration's ARN), and List.
        u.put_policy(doc(allow("s3:GetStorageLensConfiguration", self.arn("x")),
                         allow("s3:ListStorageLensConfigurations", "*"),
                         allow("s3:PutStorageLensConfigurationTagging",
                               "arn:aws:s3:*:*:storage-lens/y")))
        deadline = time.time() + 10
        while True:  # policies are re-read once they change
            try:
                got = ctl_u.get_storage_lens_configuration(ConfigId="x", AccountId=self.a12)
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        self.assertEqual(got["StorageLensConfiguration"]["Id"], "x")
        denied(ctl_u.get_storage_lens_configuration, ConfigId="y")
        denied(ctl_u.delete_storage_lens_configuration, ConfigId="x")
        self.assertIn("x", [c["Id"] for c in ctl_u.list_storage_lens_configurations(
            AccountId=self.a12)["StorageLensConfigurationList"]])
        ctl_u.put_storage_lens_configuration_tagging(ConfigId="y", AccountId=self.a12,
                                                     Tags=[{"Key": "a", "Value": "b"}])
        denied(ctl_u.put_storage_lens_configuration_tagging, ConfigId="x",
               Tags=[{"Key": "a", "Value": "b"}])

    def test_anonymous(self):
        out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                              "x-amz-account-id: " + self.a12,
                              env().http + "/v20180820/storagelens"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.stdout, "403")


class TestHostLabel(LensCase):
    tag = "lens-host"

    def test_label(self):
        port = env().http_port
        path = "/v20180820/storagelens"
        # boto3 itself signs ACCOUNT.localhost:PORT (the http client here).
        r = self.ctl_a_http.list_storage_lens_configurations(AccountId=self.a12)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        for host in ("%s.localhost:%d" % (self.a12, port), "localhost:%d" % port,
                     "127.0.0.1:%d" % port):
            r = self.raw("GET", path, host=host)
            self.assertEqual(r.status, 200, (host, r.body))
        # The label must name the header's account.
        r = self.raw("GET", path, host="%s.localhost:%d" % (self.b12, port))
        self.assertEqual((r.status, r.error()[0]), (400, "InvalidRequest"), r.body)
        # A label is never a bucket: a virtual-hosted request to it is S3 Control.
        r = self.raw("GET", path + "/" + DEFAULT, host="%s.localhost:%d" % (self.a12, port))
        self.assertEqual(r.status, 200, r.body)
        self.assertIn(b"<Id>default-account-dashboard</Id>", r.body)
        # The signature covers the Host as sent: another Host fails it.
        s = lib.sign("GET", path, (), {"x-amz-account-id": self.a12}, b"", ak=self.a.ak,
                     sk=self.a.sk, host="%s.localhost:%d" % (self.a12, port))
        h = dict(s.headers)
        h["Host"] = "localhost:%d" % port
        r = lib.send("GET", s.target, h, b"")
        self.assertEqual((r.status, r.error()[0]), (403, "SignatureDoesNotMatch"), r.body)


SCHEMA = ("version_number,configuration_id,report_date,aws_account_number,aws_region,"
          "storage_class,record_type,record_value,bucket_name,metric_name,metric_value")


class TestExport(LensCase):
    """L8: `coffer lens export` writes the CSV report, then manifest.json, into the destination
    bucket; read back with boto3 and checked row by row against the buckets' contents."""
    tag = "lens-exp"

    def expected(self, bucket):
        """The free metrics of bucket, from its listings."""
        s3 = self.a.s3
        m = dict.fromkeys(["CurrentVersionObjectCount", "CurrentVersionStorageBytes",
                           "NonCurrentVersionObjectCount", "NonCurrentVersionStorageBytes",
                           "DeleteMarkerObjectCount", "DeleteMarkerStorageBytes",
                           "IncompleteMultipartUploadObjectCount",
                           "IncompleteMultipartUploadStorageBytes",
                           "IncompleteMPUObjectCountOlderThan7Days",
                           "IncompleteMPUStorageBytesOlderThan7Days"], 0)
        r = s3.list_object_versions(Bucket=bucket)
        for v in r.get("Versions", []):
            kind = "CurrentVersion" if v["IsLatest"] else "NonCurrentVersion"
            m[kind + "ObjectCount"] += 1
            m[kind + "StorageBytes"] += v["Size"]
        for d in r.get("DeleteMarkers", []):
            m["DeleteMarkerObjectCount"] += 1
            m["DeleteMarkerStorageBytes"] += len(d["Key"].encode())
        for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            m["IncompleteMultipartUploadObjectCount"] += 1
            parts = s3.list_parts(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
            m["IncompleteMultipartUploadStorageBytes"] += sum(p["Size"] for p in
                                                              parts.get("Parts", []))
        m["StorageBytes"] = sum(v for k, v in m.items() if k.endswith("StorageBytes") and
                                "OlderThan" not in k)
        m["ObjectCount"] = sum(v for k, v in m.items() if k.endswith("ObjectCount") and
                               "OlderThan" not in k)
        ver = s3.get_bucket_versioning(Bucket=bucket)
        m["VersioningEnabledBucketCount"] = int(ver.get("Status") == "Enabled")
        m["MFADeleteEnabledBucketCount"] = int(ver.get("MFADelete") == "Enabled")
        return m

    def test_export(self):
        s3 = self.a.s3
        ver, plain, dest = (bucket_name("lens-v"), bucket_name("lens-p"), bucket_name("lens-d"))
        for b in (ver, plain, dest):
            s3.create_bucket(Bucket=b)
        s3.put_bucket_versioning(Bucket=ver, VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket=ver, Key="a", Body=b"x" * 10)
        s3.put_object(Bucket=ver, Key="a", Body=b"y" * 25)
        s3.put_object(Bucket=ver, Key="gone-key", Body=b"z" * 7)
        s3.delete_object(Bucket=ver, Key="gone-key")
        s3.put_object(Bucket=plain, Key="big", Body=b"b" * 100000)
        s3.put_object(Bucket=plain, Key="small", Body=b"s")
        up = s3.create_multipart_upload(Bucket=plain, Key="mpu")["UploadId"]
        s3.upload_part(Bucket=plain, Key="mpu", UploadId=up, PartNumber=1, Body=b"p" * 5000)
        dx = {"S3BucketDestination": {"Format": "CSV", "OutputSchemaVersion": "V_1",
                                      "AccountId": self.a12, "Arn": "arn:aws:s3:::" + dest,
                                      "Prefix": "lens"}}
        self.put(minimal("exp", DataExport=dx))
        self.put(minimal("only-v", DataExport=dict(dx, S3BucketDestination=dict(
            dx["S3BucketDestination"], Prefix="")), Include={"Buckets": ["arn:aws:s3:::" + ver]}))
        self.put(minimal("off", DataExport=dx, IsEnabled=False))
        coffer("usage", "refresh")
        day = time.strftime("%Y-%m-%d", time.gmtime())
        out = coffer("lens", "export", "--account", self.a12, "--config-id", "exp", "--day", day,
                     "--json")
        res = json.loads(out.stdout)
        base = "lens/StorageLens/%s/exp/V_1/" % self.a12
        self.assertEqual(res["manifest"], base + "manifests/dt=%s/manifest.json" % day)
        self.assertRegex(res["report"], r"^%sreports/dt=%s/[0-9a-f-]{36}\.csv$" % (base, day))
        man = json.loads(s3.get_object(Bucket=dest, Key=res["manifest"])["Body"].read())
        self.assertEqual({k: man[k] for k in man if k != "reportFiles"}, {
            "sourceAccountId": self.a12, "configId": "exp",
            "destinationBucket": "arn:aws:s3:::" + dest, "reportVersion": "V_1",
            "reportDate": day, "reportFormat": "CSV", "reportSchema": SCHEMA})
        (f,) = man["reportFiles"]
        body = s3.get_object(Bucket=dest, Key=f["key"])["Body"].read()
        self.assertEqual(f["key"], res["report"])
        self.assertEqual(f["size"], len(body))
        self.assertEqual(f["md5Checksum"], hashlib.md5(body).hexdigest())
        rows = list(csv.reader(io.StringIO(body.decode())))
        self.assertEqual(",".join(rows[0]), SCHEMA)
        got = {}
        for r in rows[1:]:
            self.assertEqual(r[:6], ["V_1", "exp", day, self.a12, REGION, "-"])
            self.assertEqual(r[7], "")
            got.setdefault((r[6], r[8]), {})[r[9]] = int(r[10])
        want_total = {}
        for b in (ver, plain, dest):
            want = self.expected(b) if b != dest else dict.fromkeys(self.expected(ver), 0)
            self.assertEqual(got[("BUCKET", b)], want, b)
            for k, v in want.items():
                want_total[k] = want_total.get(k, 0) + v
        want_total["DistinctNumberOfBuckets"] = 3
        self.assertEqual(got[("ACCOUNT", "")], want_total)
        self.assertEqual(set(got), {("BUCKET", ver), ("BUCKET", plain), ("BUCKET", dest),
                                    ("ACCOUNT", "")})
        self.assertEqual(got[("BUCKET", ver)]["NonCurrentVersionObjectCount"], 2)
        self.assertEqual(got[("BUCKET", plain)]["IncompleteMultipartUploadStorageBytes"], 5000)
        # A delivered day is not written again.
        out = coffer("lens", "export", "--account", self.a12, "--config-id", "exp", "--day", day,
                     check=False)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("delivered already", out.stderr)
        # Include: only that bucket; no prefix: keys start at StorageLens/.
        res = json.loads(coffer("lens", "export", "--account", self.a12, "--config-id", "only-v",
                                "--day", day, "--json").stdout)
        self.assertTrue(res["report"].startswith("StorageLens/%s/only-v/V_1/reports/" % self.a12))
        body = s3.get_object(Bucket=dest, Key=res["report"])["Body"].read().decode()
        buckets = {r[8] for r in csv.reader(io.StringIO(body)) if r[6] == "BUCKET"}
        self.assertEqual(buckets, {ver})
        # Disabled, unknown, or without an export: refused.
        for cid, msg in (("off", "disabled"), ("nope", "no Storage Lens configuration"),
                         (DEFAULT, "no export")):
            out = coffer("lens", "export", "--account", self.a12, "--config-id", cid,
                         check=False)
            self.assertEqual(out.returncode, 1, out.stderr)
            self.assertIn(msg, out.stderr)


@unittest.skipUnless(shutil.which("aws"), "aws CLI not installed")
class TestAwsCli(LensCase):
    tag = "lens-cli"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shim = tempfile.mkdtemp(prefix="coffer-lens-")
        with open(os.path.join(cls.shim, "sitecustomize.py"), "w") as f:
            f.write(_SITECUSTOMIZE)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.shim, ignore_errors=True)
        super().tearDownClass()

    def cli(self, *args):
        environ = aws_env(self.a.ak, self.a.sk)
        environ["PYTHONPATH"] = self.shim + os.pathsep + environ.get("PYTHONPATH", "")
        argv = ["aws", "s3control"] + list(args) + [
            "--account-id", self.a12, "--endpoint-url", "https://localhost:%d" % env().tls_port,
            "--ca-bundle", ca_path(), "--output", "json"]
        return subprocess.run(argv, env=environ, capture_output=True, text=True, timeout=90)

    def test_cli(self):
        cfg = minimal("cli-1", AccountLevel={"DetailedStatusCodesMetrics": {"IsEnabled": False},
                                             "BucketLevel": {}})
        p = self.cli("put-storage-lens-configuration", "--config-id", "cli-1",
                     "--storage-lens-configuration", json.dumps(cfg),
                     "--tags", json.dumps([{"Key": "via", "Value": "cli"}]))
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.cli("get-storage-lens-configuration", "--config-id", "cli-1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["StorageLensConfiguration"],
                         dict(cfg, StorageLensArn=self.arn("cli-1")))
        p = self.cli("list-storage-lens-configurations")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(c["Id"] for c in json.loads(p.stdout)[
            "StorageLensConfigurationList"]), ["cli-1", DEFAULT])
        p = self.cli("get-storage-lens-configuration-tagging", "--config-id", "cli-1")
        self.assertEqual(json.loads(p.stdout)["Tags"], [{"Key": "via", "Value": "cli"}])
        p = self.cli("delete-storage-lens-configuration", "--config-id", DEFAULT)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("DefaultConfigurationDeleteForbidden", p.stderr)


if __name__ == "__main__":
    unittest.main()
