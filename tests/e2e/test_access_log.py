"""The access log (issue 16): each line names the principal (12-digit account ARN), the
operation, the IAM action, the sub-resource and the error code; it never holds a secret, a
signature, an MFA code or a query string. Runs its own cofferd with --access-log."""

import json
import os
import time
import urllib.request

import botocore.exceptions

import lib
from lib import Server


class AccessLogTest(lib.E2ETestCase):
    def setUp(self):
        super().setUp()
        self.srv = Server(tag="alog")
        self.access = os.path.join(self.srv.root, "access.log")
        self.srv.args += ["--access-log", self.access]
        self.srv.start()
        self.acct = self.srv.account("alog")
        self.c = lib.client(self.acct["access_key_id"], self.acct["secret_access_key"],
                            endpoint=self.srv.http)

    def tearDown(self):
        report = self.srv.close()
        self.assertEqual(report, "")
        super().tearDown()

    def lines(self, want):
        """The log's lines once it holds at least want of them (written per loop turn)."""
        deadline = time.time() + 10
        while True:
            try:
                with open(self.access, "rb") as f:
                    got = [json.loads(x) for x in f.read().splitlines() if x.strip()]
            except FileNotFoundError:
                got = []
            if len(got) >= want or time.time() > deadline:
                return got
            time.sleep(0.05)

    def test_fields_and_no_secrets(self):
        b = lib.bucket_name("alog")
        self.c.create_bucket(Bucket=b)
        self.c.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        with self.assertRaises(botocore.exceptions.ClientError):
            self.c.get_object(Bucket=b, Key="absent")
        url = self.c.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "absent"})
        with self.assertRaises(urllib.error.HTTPError):
            urllib.request.urlopen(url, timeout=10)
        with self.assertRaises(botocore.exceptions.ClientError):
            self.c.delete_object(Bucket=b, Key="k", MFA="serial-x 864209")
        got = self.lines(5)
        self.assertGreaterEqual(len(got), 5, got)
        root = "arn:aws:iam::%012d:root" % int(self.acct["account_id"])

        vers = [x for x in got if x.get("op") == "PUT_BUCKET_VERSIONING"]
        self.assertEqual(len(vers), 1, got)
        self.assertEqual(vers[0]["principal"], root)
        self.assertEqual(vers[0]["action"], "s3:PutBucketVersioning")
        self.assertEqual(vers[0]["sub"], "versioning")
        self.assertEqual(vers[0]["error"], "")

        miss = [x for x in got if x.get("op") == "GET_OBJECT"]
        self.assertEqual(len(miss), 2, got)
        for x in miss:
            self.assertEqual(x["principal"], root)
            self.assertEqual(x["action"], "s3:GetObject")
            self.assertEqual(x["sub"], "")
            self.assertEqual(x["error"], "NoSuchKey")

        mfa = [x for x in got if x.get("method") == "DELETE"]
        self.assertEqual(len(mfa), 1, got)
        self.assertEqual(mfa[0]["error"], "InvalidRequest")  # x-amz-mfa over plain HTTP

        with open(self.access, "rb") as f:
            text = f.read().decode()
        for secret in (self.acct["secret_access_key"], "864209", "Signature", "X-Amz-Credential",
                       "?", "serial-x"):
            self.assertNotIn(secret, text)
