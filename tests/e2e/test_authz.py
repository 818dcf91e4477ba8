"""Authorization as AWS evaluates it, end to end over HTTPS: conformance cases of
../shared/spec/authorization.md section 10 with real clients (boto3, the AWS CLI, curl for
anonymous requests). Identity policies (inline, managed, group), bucket policies, default deny,
cross-account access, the root's bucket-policy lock-out recovery, MFA-protected API access
(aws:MultiFactorAuthPresent / aws:MultiFactorAuthAge from GetSessionToken with a code), Block
Public Access, Object Ownership, the expected bucket owner, and IAM actions authorized like S3's.

Two accounts per class: A owns the buckets, B is the other account. Users are made with
root's IAM client; policies take effect at once (no cache outlives a change).
"""

import json
import subprocess
import time
import urllib.parse

from botocore.exceptions import ClientError

import lib
from lib import E2ETestCase, bucket_name, rand_suffix
from mfa_lib import MfaAccount, aws, ca_path, env, s3_client, svc_client
from mfa_lib import coffer as lib_coffer


def doc(*statements, version="2012-10-17"):
    return json.dumps({"Version": version, "Statement": list(statements)})


def allow(action, resource, **kw):
    s = {"Effect": "Allow", "Action": action, "Resource": resource}
    s.update(kw)
    return s


def deny(action, resource, **kw):
    s = {"Effect": "Deny", "Action": action, "Resource": resource}
    s.update(kw)
    return s


class User:
    """An IAM user of acct with long-term keys and clients."""

    def __init__(self, acct, name):
        self.acct = acct
        self.name = name
        acct.iam.create_user(UserName=name)
        k = acct.iam.create_access_key(UserName=name)["AccessKey"]
        self.ak, self.sk = k["AccessKeyId"], k["SecretAccessKey"]
        self.s3 = s3_client(self.ak, self.sk)
        self.s3_http = s3_client(self.ak, self.sk, https=False)
        self.iam = svc_client("iam", self.ak, self.sk)
        self.sts = svc_client("sts", self.ak, self.sk)
        self.arn = "arn:aws:iam::%012d:user/%s" % (int(acct.id), name)

    def put_policy(self, document, name="p"):
        self.acct.iam.put_user_policy(UserName=self.name, PolicyName=name, PolicyDocument=document)

    def session(self, device=None):
        """GetSessionToken credentials (with an MFA code when device is given) as an S3 client."""
        kw = {"DurationSeconds": 900}
        if device is not None:
            kw.update(SerialNumber=device.serial, TokenCode=device.take_or_wait())
        cr = self.sts.get_session_token(**kw)["Credentials"]
        return s3_client(cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"])


def anon(method, bucket, key="", https=True, data=None):
    """An unsigned request with curl; returns (status, body)."""
    e = env()
    url = "%s/%s/%s" % (e.https if https else e.http, bucket, urllib.parse.quote(key))
    argv = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-X", method, "--cacert", ca_path(),
            url]
    if data is not None:
        argv += ["--data-binary", data]
    out = subprocess.run(argv, capture_output=True, timeout=30)
    body, _, code = out.stdout.rpartition(b"\n")
    return int(code), body


class AuthzCase(E2ETestCase):
    tag = "authz"

    @classmethod
    def setUpClass(cls):
        cls.a = MfaAccount(cls.tag + "a")
        cls.b = MfaAccount(cls.tag + "b")
        cls.a12 = "%012d" % int(cls.a.id)
        cls.b12 = "%012d" % int(cls.b.id)

    def bucket(self, key="k", body=b"data"):
        b = bucket_name(self.tag)
        self.a.s3.create_bucket(Bucket=b)
        if key:
            self.a.s3.put_object(Bucket=b, Key=key, Body=body)
        return b

    def user(self, acct=None, name=None):
        return User(acct or self.a, name or "u-" + rand_suffix(6))

    def denied(self, fn, *args, **kwargs):
        return self.assertS3Error("AccessDenied", 403, fn, *args, **kwargs)

    def set_bucket_policy(self, b, *statements):
        self.a.s3.put_bucket_policy(Bucket=b, Policy=doc(*statements))


class TestIdentityPolicies(AuthzCase):
    tag = "authz-id"

    def test_default_deny_and_allow(self):
        # cases 1, 2, 4
        b = self.bucket()
        alice = self.user()
        self.denied(alice.s3.get_object, Bucket=b, Key="k")
        self.denied(alice.s3.create_bucket, Bucket=bucket_name("deny"))
        self.denied(alice.s3.delete_object, Bucket=b, Key="k")
        self.denied(alice.s3.list_buckets)
        self.assertEqual(self.a.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"data")
        alice.put_policy(doc(allow("s3:GetObject", "arn:aws:s3:::%s/*" % b)))
        self.assertEqual(alice.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"data")
        self.denied(alice.s3.put_object, Bucket=b, Key="k", Body=b"x")
        # deleting the policy takes effect at once
        self.a.iam.delete_user_policy(UserName=alice.name, PolicyName="p")
        self.denied(alice.s3.get_object, Bucket=b, Key="k")

    def test_explicit_deny_wins(self):
        # case 8
        logs = bucket_name("authz-x") + "-logs"
        plain = bucket_name("authz-x")
        for b in (logs, plain):
            self.a.s3.create_bucket(Bucket=b)
        u = self.user()
        u.put_policy(doc(allow("s3:*", ["arn:aws:s3:::%s" % plain, "arn:aws:s3:::%s/*" % plain,
                                        "arn:aws:s3:::%s" % logs, "arn:aws:s3:::%s/*" % logs]),
                         deny("s3:*", "arn:aws:s3:::*log*")))
        self.denied(u.s3.put_object, Bucket=logs, Key="a", Body=b"x")
        u.s3.put_object(Bucket=plain, Key="a", Body=b"x")

    def test_missing_key_403_or_404(self):
        # cases 17, 18: 404 only for a caller allowed s3:ListBucket
        b = self.bucket()
        u = self.user()
        u.put_policy(doc(allow("s3:GetObject", "arn:aws:s3:::%s/*" % b)))
        self.denied(u.s3.get_object, Bucket=b, Key="missing")
        self.assertStatus(403, u.s3.head_object, Bucket=b, Key="missing")
        u.put_policy(doc(allow("s3:GetObject", "arn:aws:s3:::%s/*" % b),
                         allow("s3:ListBucket", "arn:aws:s3:::%s" % b)))
        self.assertS3Error("NoSuchKey", 404, u.s3.get_object, Bucket=b, Key="missing")
        self.assertStatus(404, u.s3.head_object, Bucket=b, Key="missing")
        self.assertEqual(u.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"data")

    def test_version_actions(self):
        # case 19: GET ?versionId needs s3:GetObjectVersion
        b = self.bucket(key=None)
        self.a.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        vid = self.a.s3.put_object(Bucket=b, Key="v", Body=b"v1")["VersionId"]
        u = self.user()
        u.put_policy(doc(allow("s3:GetObject", "arn:aws:s3:::%s/*" % b)))
        self.assertEqual(u.s3.get_object(Bucket=b, Key="v")["Body"].read(), b"v1")
        self.denied(u.s3.get_object, Bucket=b, Key="v", VersionId=vid)
        u.put_policy(doc(allow("s3:GetObjectVersion", "arn:aws:s3:::%s/*" % b)))
        self.assertEqual(u.s3.get_object(Bucket=b, Key="v", VersionId=vid)["Body"].read(), b"v1")
        self.denied(u.s3.get_object, Bucket=b, Key="v")

    def test_managed_policy_with_cli_and_group_variables(self):
        # create-policy / attach-user-policy with the AWS CLI; case 47 through a group
        b = self.bucket(key=None)
        u = self.user()
        pol = doc(allow("s3:*", "arn:aws:s3:::%s/home/${aws:username}/*" % b))
        r = aws(self.a.ak, self.a.sk, "iam", "create-policy", "--policy-name",
                "home-" + rand_suffix(4), "--policy-document", pol)
        self.assertEqual(r.returncode, 0, r.stderr)
        arn = json.loads(r.stdout)["Policy"]["Arn"]
        g = "g-" + rand_suffix(5)
        self.a.iam.create_group(GroupName=g)
        self.a.iam.add_user_to_group(GroupName=g, UserName=u.name)
        r = aws(self.a.ak, self.a.sk, "iam", "attach-group-policy", "--group-name", g,
                "--policy-arn", arn)
        self.assertEqual(r.returncode, 0, r.stderr)
        u.s3.put_object(Bucket=b, Key="home/%s/x" % u.name, Body=b"mine")
        self.denied(u.s3.put_object, Bucket=b, Key="home/bob/x", Body=b"theirs")
        # with Version 2008-10-17 the variable is literal text
        u.put_policy(doc(allow("s3:*", "arn:aws:s3:::%s/lit/${aws:username}/*" % b),
                         version="2008-10-17"))
        self.denied(u.s3.put_object, Bucket=b, Key="lit/%s/x" % u.name, Body=b"x")

    def test_aws_managed_policy(self):
        b = self.bucket()
        u = self.user()
        self.a.iam.attach_user_policy(UserName=u.name,
                                      PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
        self.assertEqual(u.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"data")
        self.denied(u.s3.put_object, Bucket=b, Key="k", Body=b"x")

    def test_list_all_my_buckets_resource(self):
        # case 48
        u = self.user()
        u.put_policy(doc(allow("s3:ListAllMyBuckets", "arn:aws:s3:::bkt")))
        self.denied(u.s3.list_buckets)
        u.put_policy(doc(allow("s3:ListAllMyBuckets", "*")))
        u.s3.list_buckets()

    def test_list_condition_keys(self):
        # cases 34, 35
        b = self.bucket()
        u = self.user()
        u.put_policy(doc(allow("s3:ListBucket", "arn:aws:s3:::%s" % b,
                               Condition={"StringEquals": {"s3:prefix": "projects"},
                                          "NumericLessThanEquals": {"s3:max-keys": "10"}})))
        u.s3.list_objects_v2(Bucket=b, Prefix="projects", MaxKeys=5)
        self.denied(u.s3.list_objects_v2, Bucket=b, Prefix="other", MaxKeys=5)
        self.denied(u.s3.list_objects_v2, Bucket=b, Prefix="projects", MaxKeys=100)
        self.denied(u.s3.list_objects_v2, Bucket=b, Prefix="projects")

    def test_secure_transport(self):
        # case 50: action names are case-insensitive; Deny over plain HTTP
        b = self.bucket()
        u = self.user()
        u.put_policy(doc(allow("S3:getobject", "arn:aws:s3:::%s/*" % b),
                         deny("s3:*", "*", Condition={"Bool": {"aws:SecureTransport": "false"}})))
        u.s3.get_object(Bucket=b, Key="k")
        self.denied(u.s3_http.get_object, Bucket=b, Key="k")

    def test_delete_objects_per_key(self):
        # case 43
        b = self.bucket(key="a/1")
        self.a.s3.put_object(Bucket=b, Key="b/2", Body=b"x")
        u = self.user()
        u.put_policy(doc(allow("s3:DeleteObject", "arn:aws:s3:::%s/a/*" % b)))
        r = u.s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "a/1"}, {"Key": "b/2"}]})
        self.assertEqual([d["Key"] for d in r.get("Deleted", [])], ["a/1"])
        self.assertEqual([(e["Key"], e["Code"]) for e in r.get("Errors", [])],
                         [("b/2", "AccessDenied")])
        keys = [o["Key"] for o in self.a.s3.list_objects_v2(Bucket=b).get("Contents", [])]
        self.assertEqual(keys, ["b/2"])

    def test_copy_needs_both_sides(self):
        # case 42
        b = self.bucket(key="src/o")
        u = self.user()
        u.put_policy(doc(allow("s3:GetObject", "arn:aws:s3:::%s/src/*" % b),
                         allow("s3:PutObject", "arn:aws:s3:::%s/dst/*" % b)))
        u.s3.copy_object(Bucket=b, Key="dst/o", CopySource={"Bucket": b, "Key": "src/o"})
        self.denied(u.s3.copy_object, Bucket=b, Key="other/o",
                    CopySource={"Bucket": b, "Key": "src/o"})
        self.a.s3.put_object(Bucket=b, Key="nosrc/o", Body=b"x")
        self.denied(u.s3.copy_object, Bucket=b, Key="dst/o2",
                    CopySource={"Bucket": b, "Key": "nosrc/o"})


class TestBucketPolicies(AuthzCase):
    tag = "authz-bp"

    def test_bucket_policy_names_user(self):
        # case 3; put/get/delete with the AWS CLI
        b = self.bucket()
        u = self.user()
        pol = doc(allow("s3:GetObject", "arn:aws:s3:::%s/*" % b, Principal={"AWS": u.arn}))
        r = aws(self.a.ak, self.a.sk, "s3api", "put-bucket-policy", "--bucket", b, "--policy", pol)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = aws(self.a.ak, self.a.sk, "s3api", "get-bucket-policy", "--bucket", b)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["Policy"], pol)
        self.assertEqual(u.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"data")
        self.assertFalse(self.a.s3.get_bucket_policy_status(Bucket=b)["PolicyStatus"]["IsPublic"])
        r = aws(self.a.ak, self.a.sk, "s3api", "delete-bucket-policy", "--bucket", b)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.denied(u.s3.get_object, Bucket=b, Key="k")
        self.assertS3Error("NoSuchBucketPolicy", 404, self.a.s3.get_bucket_policy, Bucket=b)

    def test_cross_account(self):
        # cases 5, 6, 7, 11
        b = self.bucket()
        carol = self.user(self.b)
        carol.put_policy(doc(allow("s3:GetObject", "*"), allow("s3:GetBucketPolicy", "*")))
        self.denied(carol.s3.get_object, Bucket=b, Key="k")
        self.set_bucket_policy(b, allow(["s3:GetObject", "s3:GetBucketPolicy"],
                                        ["arn:aws:s3:::%s/*" % b, "arn:aws:s3:::%s" % b],
                                        Principal={"AWS": self.b12}))
        self.assertEqual(carol.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"data")
        self.assertS3Error("MethodNotAllowed", 405, carol.s3.get_bucket_policy, Bucket=b)
        carol.put_policy(doc(allow("s3:ListBucket", "*")))
        self.denied(carol.s3.get_object, Bucket=b, Key="k")
        # B's root needs no identity policy: the bucket policy naming its account suffices
        self.assertEqual(self.b.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"data")
        # writes across accounts, both sides allowing: PUT, multipart, DELETE
        self.set_bucket_policy(b, allow(["s3:PutObject", "s3:DeleteObject"],
                                        "arn:aws:s3:::%s/in/*" % b, Principal={"AWS": self.b12}))
        carol.put_policy(doc(allow(["s3:PutObject", "s3:DeleteObject"], "*")))
        carol.s3.put_object(Bucket=b, Key="in/x", Body=b"from B")
        self.assertEqual(self.a.s3.get_object(Bucket=b, Key="in/x")["Body"].read(), b"from B")
        up = carol.s3.create_multipart_upload(Bucket=b, Key="in/m")["UploadId"]
        e = carol.s3.upload_part(Bucket=b, Key="in/m", UploadId=up, PartNumber=1,
                                 Body=b"m")["ETag"]
        carol.s3.complete_multipart_upload(Bucket=b, Key="in/m", UploadId=up, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e}]})
        carol.s3.delete_object(Bucket=b, Key="in/x")
        self.denied(carol.s3.put_object, Bucket=b, Key="out/x", Body=b"x")

    def test_root_lockout_recovery(self):
        # cases 9, 10
        b = self.bucket()
        alice = self.user()
        alice.put_policy(doc(allow("*", "*")))
        self.set_bucket_policy(b, deny("s3:*", ["arn:aws:s3:::%s" % b, "arn:aws:s3:::%s/*" % b],
                                       Principal="*"))
        self.denied(self.a.s3.get_object, Bucket=b, Key="k")
        self.denied(alice.s3.put_bucket_policy, Bucket=b, Policy=doc(
            allow("s3:GetObject", "arn:aws:s3:::%s/*" % b, Principal={"AWS": alice.arn})))
        self.a.s3.get_bucket_policy(Bucket=b)
        self.a.s3.delete_bucket_policy(Bucket=b)
        self.assertEqual(self.a.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"data")

    def test_malformed_policies_store_nothing(self):
        b = self.bucket()
        cases = [
            ("abc", "Policies must be valid JSON and the first byte must be '{'"),
            ("{\"Version\": ", "This policy contains invalid Json"),
            (doc(allow("s3:GetObjectz", "arn:aws:s3:::%s/*" % b, Principal="*")),
             "Policy has invalid action"),
            (doc(allow("s3:GetObject", "*", Principal="*")), "Policy has invalid resource"),
            (doc(allow("s3:PutObject", "arn:aws:s3:::%s" % b, Principal="*")),
             "Action does not apply to any resource(s) in statement"),
            (doc(allow("s3:GetObject", "arn:aws:s3:::%s/*" % b,
                       Principal={"AWS": "arn:aws:iam::%s:user/nobody-here" % self.a12})),
             "Invalid principal in policy"),
        ]
        for body, msg in cases:
            with self.subTest(msg=msg):
                r = self.assertS3Error("MalformedPolicy", 400, self.a.s3.put_bucket_policy,
                                       Bucket=b, Policy=body)
                self.assertEqual(r["Error"]["Message"], msg)
                self.assertS3Error("NoSuchBucketPolicy", 404, self.a.s3.get_bucket_policy,
                                   Bucket=b)

    def test_block_public_access(self):
        # cases 12-16: new buckets block public policies; anonymous access once allowed
        b = self.bucket()
        pab = self.a.s3.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"]
        self.assertEqual(set(pab.values()), {True})
        self.assertEqual(self.a.s3.get_bucket_ownership_controls(Bucket=b)
                         ["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
                         "BucketOwnerEnforced")
        public = allow("s3:GetObject", "arn:aws:s3:::%s/*" % b, Principal="*")
        self.denied(self.a.s3.put_bucket_policy, Bucket=b, Policy=doc(public))
        vpce = dict(public, Condition={"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}})
        self.a.s3.put_bucket_policy(Bucket=b, Policy=doc(vpce))
        for cond in ({"StringLike": {"aws:SourceVpc": "vpc-*"}},
                     {"IpAddress": {"aws:SourceIp": "0.0.0.0/1"}}):
            self.denied(self.a.s3.put_bucket_policy, Bucket=b,
                        Policy=doc(dict(public, Condition=cond)))
        self.assertEqual(anon("GET", b, "k")[0], 403)
        self.a.s3.delete_public_access_block(Bucket=b)
        self.a.s3.put_bucket_policy(Bucket=b, Policy=doc(public))
        self.assertTrue(self.a.s3.get_bucket_policy_status(Bucket=b)["PolicyStatus"]["IsPublic"])
        self.assertEqual(anon("GET", b, "k"), (200, b"data"))
        self.assertEqual(anon("PUT", b, "k2", data=b"x")[0], 403)
        self.assertEqual(anon("GET", b + "-missing", "k")[0], 404)
        # RestrictPublicBuckets: anonymous and other accounts are cut off
        carol = self.user(self.b)
        carol.put_policy(doc(allow("s3:GetObject", "*")))
        self.assertEqual(carol.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"data")
        self.a.s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={
            "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
            "RestrictPublicBuckets": True})
        self.assertEqual(anon("GET", b, "k")[0], 403)
        self.denied(carol.s3.get_object, Bucket=b, Key="k")

    def test_expected_bucket_owner(self):
        # case 44
        b = self.bucket()
        self.a.s3.get_object(Bucket=b, Key="k", ExpectedBucketOwner=self.a12)
        self.denied(self.a.s3.get_object, Bucket=b, Key="k", ExpectedBucketOwner=self.b12)
        self.denied(self.a.s3.put_object, Bucket=b, Key="k", Body=b"x",
                    ExpectedBucketOwner="999999999999")
        self.assertEqual(self.a.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"data")
        self.denied(self.a.s3.copy_object, Bucket=b, Key="c", CopySource={"Bucket": b, "Key": "k"},
                    ExpectedSourceBucketOwner=self.b12)
        self.a.s3.copy_object(Bucket=b, Key="c", CopySource={"Bucket": b, "Key": "k"},
                              ExpectedSourceBucketOwner=self.a12)
        self.assertS3Error("InvalidArgument", 400, self.a.s3.get_object, Bucket=b, Key="k",
                           ExpectedBucketOwner="12345")


class TestObjectOwnership(AuthzCase):
    tag = "authz-own"

    def test_acl_headers_under_bucket_owner_enforced(self):
        # case 37 (writes): ACLs are off by default; nothing is accepted and ignored
        b = self.bucket(key=None)
        self.assertS3Error("AccessControlListNotSupported", 400, self.a.s3.put_object, Bucket=b,
                           Key="k", Body=b"x", ACL="public-read")
        self.assertS3Error("AccessControlListNotSupported", 400, self.a.s3.put_object, Bucket=b,
                           Key="k", Body=b"x", GrantRead='uri="http://acs.amazonaws.com/groups/'
                                                          'global/AllUsers"')
        self.assertS3Error("InvalidArgument", 400, self.a.s3.put_object, Bucket=b, Key="k",
                           Body=b"x", ACL="bogus-acl")
        self.assertS3Error("NoSuchKey", 404, self.a.s3.get_object, Bucket=b, Key="k")
        self.a.s3.put_object(Bucket=b, Key="k", Body=b"x", ACL="bucket-owner-full-control")
        self.assertS3Error("AccessControlListNotSupported", 400,
                           self.a.s3.create_multipart_upload, Bucket=b, Key="m",
                           ACL="public-read")
        self.assertS3Error("AccessControlListNotSupported", 400, self.a.s3.copy_object,
                           Bucket=b, Key="c", CopySource={"Bucket": b, "Key": "k"},
                           ACL="authenticated-read")
        self.assertEqual(anon("GET", b, "k")[0], 403)

    def test_acl_header_needs_put_object_acl(self):
        # case 41 in part: an ACL header adds s3:PutObjectAcl, except bucket-owner-full-control
        # under BucketOwnerEnforced [decision]
        b = self.bucket(key=None)
        u = self.user()
        u.put_policy(doc(allow("s3:PutObject", "arn:aws:s3:::%s/*" % b)))
        self.denied(u.s3.put_object, Bucket=b, Key="k", Body=b"x", ACL="private")
        u.s3.put_object(Bucket=b, Key="k", Body=b"x", ACL="bucket-owner-full-control")
        u.put_policy(doc(allow(["s3:PutObject", "s3:PutObjectAcl"], "arn:aws:s3:::%s/*" % b)))
        u.s3.put_object(Bucket=b, Key="k", Body=b"x", ACL="private")

    def test_ownership_controls_api(self):
        b = self.bucket(key=None)
        own = lambda: self.a.s3.get_bucket_ownership_controls(Bucket=b)[
            "OwnershipControls"]["Rules"][0]["ObjectOwnership"]
        self.assertEqual(own(), "BucketOwnerEnforced")
        self.a.s3.put_bucket_ownership_controls(Bucket=b, OwnershipControls={
            "Rules": [{"ObjectOwnership": "ObjectWriter"}]})
        self.assertEqual(own(), "ObjectWriter")
        self.a.s3.delete_bucket_ownership_controls(Bucket=b)
        self.assertS3Error("OwnershipControlsNotFoundError", 404,
                           self.a.s3.get_bucket_ownership_controls, Bucket=b)
        b2 = bucket_name(self.tag)
        self.a.s3.create_bucket(Bucket=b2, ObjectOwnership="BucketOwnerPreferred")
        self.assertEqual(self.a.s3.get_bucket_ownership_controls(Bucket=b2)[
            "OwnershipControls"]["Rules"][0]["ObjectOwnership"], "BucketOwnerPreferred")
        u = self.user()
        u.put_policy(doc(allow("s3:CreateBucket", "*")))
        self.denied(u.s3.create_bucket, Bucket=bucket_name(self.tag), ObjectOwnership="ObjectWriter")
        u.s3.create_bucket(Bucket=bucket_name(self.tag))


class TestMfaProtectedAccess(AuthzCase):
    """Cases 21-25: MFA-protected API access with GetSessionToken sessions."""

    tag = "authz-mfa"

    def mfa_user(self):
        u = self.user()
        serial, seed = self.a.create_virtual("d-" + u.name)
        dev = self.a.enable(serial, seed, user=u.name)
        return u, dev

    def test_allow_requires_mfa(self):
        # case 23, with the AWS CLI's get-session-token --serial-number --token-code
        b = self.bucket(key=None)
        u, dev = self.mfa_user()
        u.put_policy(doc(allow("s3:PutObject", "arn:aws:s3:::%s/*" % b,
                               Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})))
        self.denied(u.s3.put_object, Bucket=b, Key="k", Body=b"x")
        self.denied(u.session().put_object, Bucket=b, Key="k", Body=b"x")
        r = aws(u.ak, u.sk, "sts", "get-session-token", "--duration-seconds", "900",
                "--serial-number", dev.serial, "--token-code", dev.take_or_wait())
        self.assertEqual(r.returncode, 0, r.stderr)
        cr = json.loads(r.stdout)["Credentials"]
        s = s3_client(cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"])
        s.put_object(Bucket=b, Key="k", Body=b"x")

    def test_deny_without_mfa_and_the_bool_pitfall(self):
        # cases 24, 25
        b = self.bucket()
        u, dev = self.mfa_user()
        u.put_policy(doc(allow("s3:*", "*"),
                         deny("s3:DeleteObject", "*",
                              Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}})))
        self.denied(u.s3.delete_object, Bucket=b, Key="k")
        self.denied(u.session().delete_object, Bucket=b, Key="k")
        u.session(dev).delete_object(Bucket=b, Key="k")
        self.a.s3.put_object(Bucket=b, Key="k", Body=b"again")
        u.put_policy(doc(allow("s3:*", "*"),
                         deny("s3:DeleteObject", "*",
                              Condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}})))
        u.s3.delete_object(Bucket=b, Key="k")  # long-term keys carry no MFA key at all

    def test_bucket_policy_mfa_age(self):
        # cases 21, 22: AWS's "Requiring MFA" bucket policy example, unchanged
        b = self.bucket(key="docs/x")
        self.a.s3.put_object(Bucket=b, Key="taxdocuments/x", Body=b"tax")
        self.a.s3.delete_public_access_block(Bucket=b)
        u, dev = self.mfa_user()
        u.put_policy(doc(allow("s3:GetObject", "*")))
        self.set_bucket_policy(
            b,
            deny("s3:*", "arn:aws:s3:::%s/taxdocuments/*" % b, Principal="*",
                 Condition={"Null": {"aws:MultiFactorAuthAge": "true"}}),
            deny("s3:*", "arn:aws:s3:::%s/taxdocuments/*" % b, Principal="*",
                 Condition={"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}}),
            allow("s3:GetObject", "arn:aws:s3:::%s/*" % b, Principal="*"))
        self.assertEqual(anon("GET", b, "docs/x")[0], 200)
        self.assertEqual(anon("GET", b, "taxdocuments/x")[0], 403)
        self.denied(u.s3.get_object, Bucket=b, Key="taxdocuments/x")
        self.assertEqual(u.session(dev).get_object(Bucket=b, Key="taxdocuments/x")["Body"].read(),
                         b"tax")

    def test_mfa_delete_stricter_than_policy(self):
        # no Allow skips MFA delete; toggling MfaDelete stays the owner root's
        b = self.bucket()
        u = self.user()
        u.put_policy(doc(allow("s3:*", "*")))
        u.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        self.assertEqual(self.a.s3.get_bucket_versioning(Bucket=b)["Status"], "Enabled")
        self.assertS3Error("AccessDenied", 403, u.s3.put_bucket_versioning, Bucket=b,
                           VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"},
                           MFA="arn:aws:iam::%s:mfa/x 123456" % self.a12)


class TestIamActions(AuthzCase):
    tag = "authz-iam"

    def test_iam_actions_need_policies(self):
        u = self.user()
        other = self.user()
        for name in ("ghost-" + rand_suffix(4), other.name):
            with self.subTest(name=name):
                with self.assertRaises(ClientError) as cm:
                    u.iam.create_access_key(UserName=name)
                self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")
        with self.assertRaises(ClientError) as cm:
            u.iam.list_users()
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")
        # GetCallerIdentity and GetSessionToken need no permission
        self.assertEqual(u.sts.get_caller_identity()["Arn"], u.arn)
        u.sts.get_session_token(DurationSeconds=900)
        u.put_policy(doc(allow("iam:ListUsers", "*")))
        names = [x["UserName"] for x in u.iam.list_users()["Users"]]
        self.assertIn(u.name, names)


class TestSimulation(AuthzCase):
    """IAM's policy simulator and `coffer policy simulate`: the same policies and the same
    decision as real requests."""

    tag = "authz-sim"

    def test_simulate_principal_policy(self):
        b = self.bucket()
        u = self.user()
        u.put_policy(doc(dict(allow("s3:GetObject", "arn:aws:s3:::%s/*" % b), Sid="Read"),
                         deny("s3:DeleteObjectVersion", "*"),
                         allow("s3:PutObject", "arn:aws:s3:::%s/*" % b,
                               Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})))
        r = self.a.iam.simulate_principal_policy(
            PolicySourceArn=u.arn,
            ActionNames=["s3:GetObject", "s3:DeleteObjectVersion", "s3:ListBucket",
                         "s3:PutObject"],
            ResourceArns=["arn:aws:s3:::%s/k" % b])
        got = {e["EvalActionName"]: e for e in r["EvaluationResults"]}
        self.assertEqual({k: e["EvalDecision"] for k, e in got.items()},
                         {"s3:GetObject": "allowed", "s3:DeleteObjectVersion": "explicitDeny",
                          "s3:ListBucket": "implicitDeny", "s3:PutObject": "implicitDeny"})
        self.assertEqual([(m["SourcePolicyId"], m["SourcePolicyType"])
                          for m in got["s3:GetObject"]["MatchedStatements"]], [("p", "user")])
        self.assertEqual(got["s3:PutObject"]["MissingContextValues"],
                         ["aws:MultiFactorAuthPresent"])
        # the context the request would carry
        r = self.a.iam.simulate_principal_policy(
            PolicySourceArn=u.arn, ActionNames=["s3:PutObject"],
            ResourceArns=["arn:aws:s3:::%s/k" % b],
            ContextEntries=[{"ContextKeyName": "aws:MultiFactorAuthPresent",
                             "ContextKeyValues": ["true"], "ContextKeyType": "boolean"}])
        self.assertEqual(r["EvaluationResults"][0]["EvalDecision"], "allowed")
        # the AWS CLI, and a managed policy attached to a group
        g = "sim-" + rand_suffix(5)
        self.a.iam.create_group(GroupName=g)
        self.a.iam.add_user_to_group(GroupName=g, UserName=u.name)
        self.a.iam.attach_group_policy(GroupName=g,
                                       PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
        r = aws(self.a.ak, self.a.sk, "iam", "simulate-principal-policy", "--policy-source-arn",
                u.arn, "--action-names", "s3:ListBucket", "--resource-arns",
                "arn:aws:s3:::%s" % b)
        self.assertEqual(r.returncode, 0, r.stderr)
        e = json.loads(r.stdout)["EvaluationResults"][0]
        self.assertEqual(e["EvalDecision"], "allowed")
        self.assertEqual(e["MatchedStatements"][0]["SourcePolicyType"], "aws-managed")
        # the real request agrees
        u.s3.list_objects_v2(Bucket=b)

    def test_simulate_custom_policy_and_permission(self):
        r = self.a.iam.simulate_custom_policy(
            PolicyInputList=[doc(allow("s3:*", "*")), doc(deny("s3:DeleteBucket", "*"))],
            ActionNames=["s3:GetObject", "s3:DeleteBucket"])
        self.assertEqual([e["EvalDecision"] for e in r["EvaluationResults"]],
                         ["allowed", "explicitDeny"])
        self.assertEqual(r["EvaluationResults"][1]["MatchedStatements"][0]["SourcePolicyId"],
                         "PolicyInputList.2")
        r = self.a.iam.simulate_custom_policy(PolicyInputList=[doc(allow("s3:GetObject", "*"))],
                                              ActionNames=["iam:CreateUser"])
        self.assertEqual(r["EvaluationResults"][0]["EvalDecision"], "implicitDeny")
        with self.assertRaises(ClientError) as cm:
            self.a.iam.simulate_custom_policy(PolicyInputList=["{nope"], ActionNames=["s3:*"])
        self.assertEqual(cm.exception.response["Error"]["Code"], "MalformedPolicyDocument")
        u = self.user()
        with self.assertRaises(ClientError) as cm:
            u.iam.simulate_principal_policy(PolicySourceArn=u.arn, ActionNames=["s3:GetObject"])
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")

    def test_coffer_policy_simulate(self):
        b = self.bucket()
        u = self.user()
        u.put_policy(doc(dict(deny("s3:DeleteObjectVersion", "arn:aws:s3:::%s/*" % b),
                              Sid="NoPermanentDeletes"), allow("s3:*", "*")))
        arn = "arn:aws:s3:::%s/k" % b
        out = lib_coffer("policy", "simulate", "--account", self.a.name, "--user", u.name,
                         "--action", "s3:DeleteObjectVersion", "--resource", arn)
        self.assertIn("decision:  explicitDeny", out.stdout)
        self.assertIn("statement: 1 (Sid NoPermanentDeletes) of inline policy p of user %s"
                      % u.name, out.stdout)
        out = lib_coffer("policy", "simulate", "--account", self.a.name, "--user", u.name,
                         "--action", "s3:GetObject", "--resource", arn, "--json")
        j = json.loads(out.stdout)
        self.assertEqual((j["decision"], j["statement"]), ("allowed", 1))
        # the bucket policy counts, as for a request
        self.set_bucket_policy(b, deny("s3:GetObject", "arn:aws:s3:::%s/*" % b,
                                       Principal={"AWS": u.arn}))
        out = lib_coffer("policy", "simulate", "--account", self.a.name, "--user", u.name,
                         "--action", "s3:GetObject", "--resource", arn)
        self.assertIn("decision:  explicitDeny", out.stdout)
        self.assertIn("of the bucket policy", out.stdout)
        self.denied(u.s3.get_object, Bucket=b, Key="k")
