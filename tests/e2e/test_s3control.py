"""Account-level Block Public Access over the S3 Control API on the S3 endpoint
(../shared/spec/authorization.md sections 3.3 and 7): Get/Put/DeletePublicAccessBlock at
/v20180820/configuration/publicAccessBlock with x-amz-account-id, from boto3's s3control client,
the AWS CLI (`aws s3control ... --account-id`), and raw signed requests.

Clients address S3 Control virtual-host style: they put the account id in front of the endpoint's
host (http://localhost:PORT -> http://ACCOUNT.localhost:PORT), even with --endpoint-url, and
nothing turns that off. In-process, lib.py maps *.localhost to 127.0.0.1 for boto3; the AWS CLI
runs as a subprocess, so it gets the same mapping through a sitecustomize module on PYTHONPATH
(glibc here resolves localhost from /etc/hosts but not ACCOUNT.localhost).

Each class uses fresh accounts: an account's settings apply to all of its buckets.
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

import boto3
from botocore.config import Config

import lib
from lib import E2ETestCase, bucket_name, rand_suffix
from mfa_lib import REGION, MfaAccount, aws_env, ca_path, env
from test_authz import User, allow, anon, doc

PATH = "/v20180820/configuration/publicAccessBlock"
ALL_ON = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
          "RestrictPublicBuckets": True}


def control_client(ak, sk, https=True):
    """boto3's s3control client on our endpoint, named by host (ACCOUNT.localhost)."""
    e = env()
    endpoint = "%s://localhost:%d" % ("https" if https else "http",
                                      e.tls_port if https else e.http_port)
    return boto3.session.Session().client(
        "s3control", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk,
        region_name=REGION, verify=ca_path() if https else None,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=10,
                      read_timeout=20))


def public_read(b):
    return doc(allow("s3:GetObject", "arn:aws:s3:::%s/*" % b, Principal="*"))


def config(*on):
    return {k: k in on for k in ALL_ON}


class ControlCase(E2ETestCase):
    tag = "s3c"

    @classmethod
    def setUpClass(cls):
        cls.a = MfaAccount(cls.tag + "a")
        cls.b = MfaAccount(cls.tag + "b")
        cls.a12 = "%012d" % int(cls.a.id)
        cls.b12 = "%012d" % int(cls.b.id)
        cls.ctl_a = control_client(cls.a.ak, cls.a.sk)
        cls.ctl_b = control_client(cls.b.ak, cls.b.sk)

    def denied(self, fn, *args, **kwargs):
        return self.assertS3Error("AccessDenied", 403, fn, *args, **kwargs)

    def get(self, ctl=None, acct=None):
        r = (ctl or self.ctl_a).get_public_access_block(AccountId=acct or self.a12)
        return r["PublicAccessBlockConfiguration"]

    def public_bucket(self):
        """A bucket of A without its own Block Public Access, holding k."""
        b = bucket_name(self.tag)
        self.a.s3.create_bucket(Bucket=b)
        self.a.s3.put_object(Bucket=b, Key="k", Body=b"data")
        self.a.s3.delete_public_access_block(Bucket=b)
        return b


class TestAccountPublicAccessBlock(ControlCase):
    tag = "s3c-api"

    def test_put_get_delete(self):
        self.assertS3Error("NoSuchPublicAccessBlockConfiguration", 404,
                           self.ctl_a.get_public_access_block, AccountId=self.a12)
        cfg = config("BlockPublicAcls", "RestrictPublicBuckets")
        r = self.ctl_a.put_public_access_block(AccountId=self.a12,
                                               PublicAccessBlockConfiguration=cfg)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(self.get(), cfg)
        # A setting left out is false, as S3 stores it.
        self.ctl_a.put_public_access_block(AccountId=self.a12, PublicAccessBlockConfiguration={
            "BlockPublicPolicy": True})
        self.assertEqual(self.get(), config("BlockPublicPolicy"))
        r = self.ctl_a.delete_public_access_block(AccountId=self.a12)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertS3Error("NoSuchPublicAccessBlockConfiguration", 404,
                           self.ctl_a.get_public_access_block, AccountId=self.a12)
        self.ctl_a.delete_public_access_block(AccountId=self.a12)  # none: still 204

    def test_raw_requests(self):
        # Path-style, no account in the host: the header alone selects S3 Control.
        r = lib.signed_request("PUT", PATH, headers={"x-amz-account-id": self.a12},
                               body=b"<PublicAccessBlockConfiguration><IgnorePublicAcls>true"
                                    b"</IgnorePublicAcls></PublicAccessBlockConfiguration>",
                               ak=self.a.ak, sk=self.a.sk)
        self.assertEqual(r.status, 200, r.body)
        r = lib.signed_request("GET", PATH, headers={"x-amz-account-id": self.a12},
                               ak=self.a.ak, sk=self.a.sk)
        self.assertEqual(r.status, 200, r.body)
        self.assertIn(b'xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/"', r.body)
        self.assertIn(b"<IgnorePublicAcls>true</IgnorePublicAcls>", r.body)
        self.assertEqual(self.get(), config("IgnorePublicAcls"))
        for bad in (b"<PublicAccessBlockConfiguration><BlockPublicAcls>yes</BlockPublicAcls>"
                    b"</PublicAccessBlockConfiguration>", b"<Other/>", b"<x"):
            r = lib.signed_request("PUT", PATH, headers={"x-amz-account-id": self.a12}, body=bad,
                                   ak=self.a.ak, sk=self.a.sk)
            self.assertEqual((r.status, r.error()[0]), (400, "MalformedXML"), r.body)
        self.assertEqual(self.get(), config("IgnorePublicAcls"))
        r = lib.signed_request("GET", PATH, headers={"x-amz-account-id": "12345"},
                               ak=self.a.ak, sk=self.a.sk)
        self.assertEqual((r.status, r.error()[0]), (400, "InvalidArgument"), r.body)
        r = lib.signed_request("GET", "/v20180820/configuration/other",
                               headers={"x-amz-account-id": self.a12}, ak=self.a.ak, sk=self.a.sk)
        self.assertEqual((r.status, r.error()[0]), (501, "NotImplemented"), r.body)
        # Anonymous: refused before anything is read.
        out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                              "x-amz-account-id: " + self.a12, env().http + PATH],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.stdout, "403")
        self.ctl_a.delete_public_access_block(AccountId=self.a12)

    def test_other_account_refused(self):
        cfg = config("BlockPublicPolicy")
        self.ctl_b.put_public_access_block(AccountId=self.b12, PublicAccessBlockConfiguration=cfg)
        self.denied(self.ctl_a.get_public_access_block, AccountId=self.b12)
        self.denied(self.ctl_a.put_public_access_block, AccountId=self.b12,
                    PublicAccessBlockConfiguration=ALL_ON)
        self.denied(self.ctl_a.delete_public_access_block, AccountId=self.b12)
        self.assertEqual(self.get(self.ctl_b, self.b12), cfg)
        # An account id no account holds: refused the same way.
        self.denied(self.ctl_a.get_public_access_block, AccountId="999999999999")
        self.ctl_b.delete_public_access_block(AccountId=self.b12)

    def test_audit_log(self):
        self.ctl_a.put_public_access_block(AccountId=self.a12,
                                           PublicAccessBlockConfiguration=config("BlockPublicAcls"))
        self.ctl_a.delete_public_access_block(AccountId=self.a12)
        out = subprocess.run([os.path.join(env().bin, "coffer"), "--data", env().data, "audit",
                              "--json"], capture_output=True, text=True, timeout=60, check=True)
        mine = [e for e in json.loads(out.stdout)
                if e.get("event") == "account.public_access_block"
                and self.a.name in e.get("principal", "")]
        self.assertEqual([e.get("detail") for e in mine][-2:], [
            "BlockPublicAcls=1 IgnorePublicAcls=0 BlockPublicPolicy=0 RestrictPublicBuckets=0",
            "deleted"], mine)

    def test_iam_user_needs_the_actions(self):
        u = User(self.a, "u-" + rand_suffix(6))
        ctl = control_client(u.ak, u.sk)
        self.denied(ctl.get_public_access_block, AccountId=self.a12)
        self.denied(ctl.put_public_access_block, AccountId=self.a12,
                    PublicAccessBlockConfiguration=ALL_ON)
        self.denied(ctl.delete_public_access_block, AccountId=self.a12)
        # Allowed only on a bucket ARN: the account actions take "*".
        u.put_policy(doc(allow("s3:*AccountPublicAccessBlock", "arn:aws:s3:::somebucket")))
        self.denied(ctl.get_public_access_block, AccountId=self.a12)
        u.put_policy(doc(allow("s3:GetAccountPublicAccessBlock", "*")))
        self.assertS3Error("NoSuchPublicAccessBlockConfiguration", 404,
                           ctl.get_public_access_block, AccountId=self.a12)
        self.denied(ctl.put_public_access_block, AccountId=self.a12,
                    PublicAccessBlockConfiguration=ALL_ON)
        self.denied(ctl.delete_public_access_block, AccountId=self.a12)
        u.put_policy(doc(allow(["s3:GetAccountPublicAccessBlock",
                                "s3:PutAccountPublicAccessBlock"], "*")))
        ctl.put_public_access_block(AccountId=self.a12, PublicAccessBlockConfiguration=ALL_ON)
        self.assertEqual(self.get(ctl), ALL_ON)
        ctl.delete_public_access_block(AccountId=self.a12)
        # Even allowed, another account's id is refused.
        self.denied(ctl.get_public_access_block, AccountId=self.b12)


class TestAccountEnforcement(ControlCase):
    tag = "s3c-enf"

    def tearDown(self):
        self.ctl_a.delete_public_access_block(AccountId=self.a12)

    def test_block_public_policy(self):
        b = self.public_bucket()
        self.ctl_a.put_public_access_block(AccountId=self.a12,
                                           PublicAccessBlockConfiguration=config("BlockPublicPolicy"))
        self.denied(self.a.s3.put_bucket_policy, Bucket=b, Policy=public_read(b))
        with self.assertRaises(Exception):
            self.a.s3.get_bucket_policy(Bucket=b)
        # A policy pinned to one account is not public: accepted.
        self.a.s3.put_bucket_policy(Bucket=b, Policy=doc(allow(
            "s3:GetObject", "arn:aws:s3:::%s/*" % b,
            Principal={"AWS": "arn:aws:iam::%s:root" % self.b12})))
        self.ctl_a.delete_public_access_block(AccountId=self.a12)
        self.a.s3.put_bucket_policy(Bucket=b, Policy=public_read(b))
        self.assertEqual(anon("GET", b, "k"), (200, b"data"))

    def test_restrict_public_buckets(self):
        b = self.public_bucket()
        self.a.s3.put_bucket_policy(Bucket=b, Policy=public_read(b))
        self.assertEqual(anon("GET", b, "k"), (200, b"data"))
        self.assertEqual(self.b.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"data")
        self.ctl_a.put_public_access_block(
            AccountId=self.a12, PublicAccessBlockConfiguration=config("RestrictPublicBuckets"))
        self.assertEqual(anon("GET", b, "k")[0], 403)
        self.assertEqual(anon("GET", b, "k", https=False)[0], 403)
        self.denied(self.b.s3.get_object, Bucket=b, Key="k")
        self.assertEqual(self.a.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"data")
        self.ctl_a.delete_public_access_block(AccountId=self.a12)
        self.assertEqual(anon("GET", b, "k"), (200, b"data"))

    def test_callers_account_does_not_matter(self):
        # B blocks everything for its own account; A's public bucket stays public to B and to
        # anonymous callers: only the owner's settings count.
        b = self.public_bucket()
        self.a.s3.put_bucket_policy(Bucket=b, Policy=public_read(b))
        self.ctl_b.put_public_access_block(AccountId=self.b12, PublicAccessBlockConfiguration=ALL_ON)
        try:
            self.assertEqual(self.b.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"data")
            self.assertEqual(anon("GET", b, "k"), (200, b"data"))
        finally:
            self.ctl_b.delete_public_access_block(AccountId=self.b12)


_SITECUSTOMIZE = '''
import socket
_real = socket.getaddrinfo
def _gai(host, *a, **kw):
    if isinstance(host, str) and (host == "localhost" or host.endswith(".localhost")):
        host = "127.0.0.1"
    return _real(host, *a, **kw)
socket.getaddrinfo = _gai
'''


@unittest.skipUnless(shutil.which("aws"), "aws CLI not installed")
class TestAwsCli(ControlCase):
    tag = "s3c-cli"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shim = tempfile.mkdtemp(prefix="coffer-s3c-")
        with open(os.path.join(cls.shim, "sitecustomize.py"), "w") as f:
            f.write(_SITECUSTOMIZE)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.shim, ignore_errors=True)
        super().tearDownClass()

    def cli(self, *args, acct=None):
        acct = acct or self.a
        e = env()
        environ = aws_env(acct.ak, acct.sk)
        environ["PYTHONPATH"] = self.shim + os.pathsep + environ.get("PYTHONPATH", "")
        argv = ["aws", "s3control"] + list(args) + [
            "--endpoint-url", "https://localhost:%d" % e.tls_port, "--ca-bundle", ca_path(),
            "--output", "json"]
        return subprocess.run(argv, env=environ, capture_output=True, text=True, timeout=90)

    def test_cli(self):
        p = self.cli("get-public-access-block", "--account-id", self.a12)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("NoSuchPublicAccessBlockConfiguration", p.stderr)
        p = self.cli("put-public-access-block", "--account-id", self.a12,
                     "--public-access-block-configuration",
                     "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,"
                     "RestrictPublicBuckets=false")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.cli("get-public-access-block", "--account-id", self.a12)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["PublicAccessBlockConfiguration"], {
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": False})
        self.assertEqual(self.get()["BlockPublicPolicy"], True)
        p = self.cli("get-public-access-block", "--account-id", self.b12)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("AccessDenied", p.stderr)
        p = self.cli("delete-public-access-block", "--account-id", self.a12)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertS3Error("NoSuchPublicAccessBlockConfiguration", 404,
                           self.ctl_a.get_public_access_block, AccountId=self.a12)


if __name__ == "__main__":
    unittest.main()
