"""STS AssumeRole and role sessions, end to end over HTTPS with boto3 and the AWS CLI
(../shared/spec/authorization.md sections 4.3 and 5.2, conformance cases 26 and 27): who may
assume a role (identity policies and the trust policy, within and across accounts), MFA in the
trust policy, session policies that narrow, duration limits and role chaining, what a role
session is (GetCallerIdentity, aws:PrincipalArn, no MFA context unless inherited), expired and
deleted-role sessions refused, and the HTTPS rule.

Account A owns the buckets and most roles; B is the other account.
"""

import json
import os
import sqlite3
import subprocess
import time

from botocore.exceptions import ClientError

import lib
from lib import bucket_name, env, rand_suffix
from mfa_lib import aws, aws_env, ca_path, s3_client, svc_client
from test_authz import AuthzCase, allow, doc

TRUST_MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


def trust(principal, condition=None):
    s = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if condition:
        s["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [s]})


class Creds:
    """Role-session credentials from an AssumeRole reply, with clients."""

    def __init__(self, reply):
        cr = reply["Credentials"]
        self.reply = reply
        self.ak, self.sk, self.token = cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"]
        self.s3 = s3_client(self.ak, self.sk, self.token)
        self.sts = svc_client("sts", self.ak, self.sk, self.token)
        self.iam = svc_client("iam", self.ak, self.sk, self.token)


def sessions_of(role_id):
    """How many keys the store holds for the role (AROA id -> roles.id)."""
    db = sqlite3.connect(os.path.join(env().data, "meta.db"), timeout=10)
    try:
        return db.execute("SELECT count(*) FROM keys k JOIN roles r ON r.id = k.role_id "
                          "WHERE r.uid = ?", (role_id,)).fetchone()[0]
    finally:
        db.close()


class RoleCase(AuthzCase):
    tag = "roles"

    def role(self, trust_doc, acct=None, policy=None, max_s=None):
        acct = acct or self.a
        name = "r-" + rand_suffix(6)
        kw = {"RoleName": name, "AssumeRolePolicyDocument": trust_doc}
        if max_s:
            kw["MaxSessionDuration"] = max_s
        r = acct.iam.create_role(**kw)["Role"]
        if policy:
            acct.iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=policy)
        return r

    def denied_sts(self, fn, code="AccessDenied", status=403, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(**kw)
        r = cm.exception.response
        self.assertEqual((r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]),
                         (code, status), r)
        return r["Error"]["Message"]

    def user(self, acct=None, name=None):
        u = super().user(acct, name)
        u.sts_nv = svc_client("sts", u.ak, u.sk, validate=False)  # the server's own checks
        return u

    def mfa_user(self, acct):
        u = self.user(acct)
        serial, seed = acct.create_virtual("d-" + u.name)
        return u, acct.enable(serial, seed, user=u.name)


class TestAssumeRole(RoleCase):
    tag = "roles-a"

    def test_trust_requires_mfa_with_cli(self):
        # case 27: carol of B assumes A's role whose trust demands MFA
        b = self.bucket()
        carol, dev = self.mfa_user(self.b)
        r = self.role(trust(self.b12, TRUST_MFA),
                      policy=doc(allow("s3:GetObject", "arn:aws:s3:::%s/*" % b)))
        carol.put_policy(doc(allow("sts:AssumeRole", r["Arn"])))
        msg = self.denied_sts(carol.sts.assume_role, RoleArn=r["Arn"], RoleSessionName="s1")
        self.assertEqual(msg, "User: %s is not authorized to perform: sts:AssumeRole on "
                              "resource: %s" % (carol.arn, r["Arn"]))
        out = aws(carol.ak, carol.sk, "sts", "assume-role", "--role-arn", r["Arn"],
                  "--role-session-name", "s1", "--serial-number", dev.serial, "--token-code",
                  dev.take_or_wait())
        self.assertEqual(out.returncode, 0, out.stderr)
        j = json.loads(out.stdout)
        arn = "arn:aws:sts::%s:assumed-role/%s/s1" % (self.a12, r["RoleName"])
        self.assertEqual(j["AssumedRoleUser"]["Arn"], arn)
        self.assertEqual(j["AssumedRoleUser"]["AssumedRoleId"], r["RoleId"] + ":s1")
        self.assertNotIn("PackedPolicySize", j)
        s = Creds(j)
        self.assertEqual(s.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"data")
        self.denied(s.s3.put_object, Bucket=b, Key="k", Body=b"x")
        ident = s.sts.get_caller_identity()
        self.assertEqual((ident["Arn"], ident["UserId"], ident["Account"]),
                         (arn, r["RoleId"] + ":s1", self.a12))
        # the AWS CLI with the session's own credentials
        env_ = aws_env(s.ak, s.sk, s.token)
        out = subprocess.run(["aws", "sts", "get-caller-identity", "--endpoint-url",
                              env().https, "--ca-bundle", ca_path()], env=env_,
                             capture_output=True, text=True, timeout=90)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["Arn"], arn)

    def test_cross_account_needs_both_sides(self):
        b = self.bucket()
        carol = self.user(self.b)
        r = self.role(trust("arn:aws:iam::%s:root" % self.b12),
                      policy=doc(allow("s3:GetObject", "*")))
        self.denied_sts(carol.sts.assume_role, RoleArn=r["Arn"], RoleSessionName="s1")
        carol.put_policy(doc(allow("sts:AssumeRole", "*")))
        s = Creds(carol.sts.assume_role(RoleArn=r["Arn"], RoleSessionName="carol@b"))
        self.assertEqual(s.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"data")
        # a role's trust policy must let the caller in, even within the role's own account:
        # an identity Allow does not get alice in while the trust policy names only B
        alice = self.user()
        alice.put_policy(doc(allow("sts:AssumeRole", r["Arn"])))
        self.denied_sts(alice.sts.assume_role, RoleArn=r["Arn"], RoleSessionName="s1")

    def test_same_account_trust_alone_suffices(self):
        u = self.user()
        r = self.role(trust(u.arn), policy=doc(allow("s3:ListAllMyBuckets", "*")))
        s = Creds(u.sts.assume_role(RoleArn=r["Arn"], RoleSessionName="only-trust"))
        s.s3.list_buckets()
        # naming the account is delegation: the user needs its own Allow
        r2 = self.role(trust(self.a12))
        self.denied_sts(u.sts.assume_role, RoleArn=r2["Arn"], RoleSessionName="s1")
        u.put_policy(doc(allow("sts:AssumeRole", r2["Arn"])))
        u.sts.assume_role(RoleArn=r2["Arn"], RoleSessionName="s1")
        # a role that does not exist is refused as one the caller may not assume
        ghost = "arn:aws:iam::%s:role/ghost-%s" % (self.a12, rand_suffix(4))
        msg = self.denied_sts(u.sts.assume_role, RoleArn=ghost, RoleSessionName="s1")
        self.assertIn(ghost, msg)
        # root credentials cannot assume roles
        self.denied_sts(self.a.sts.assume_role, RoleArn=r["Arn"], RoleSessionName="s1")

    def test_session_policy_narrows(self):
        b = self.bucket()
        u = self.user()
        r = self.role(trust(u.arn), policy=doc(allow("s3:*", "*")))
        full = Creds(u.sts.assume_role(RoleArn=r["Arn"], RoleSessionName="full"))
        full.s3.put_object(Bucket=b, Key="w", Body=b"w")
        reply = u.sts.assume_role(RoleArn=r["Arn"], RoleSessionName="narrow",
                                  Policy=doc(allow("s3:GetObject", "*")))
        self.assertGreater(reply["PackedPolicySize"], 0)
        narrow = Creds(reply)
        self.assertEqual(narrow.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"data")
        self.denied(narrow.s3.put_object, Bucket=b, Key="k", Body=b"x")
        ro = Creds(u.sts.assume_role(
            RoleArn=r["Arn"], RoleSessionName="ro",
            PolicyArns=[{"arn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}]))
        ro.s3.get_object(Bucket=b, Key="k")
        self.denied(ro.s3.put_object, Bucket=b, Key="k", Body=b"x")
        # a session policy never widens the role's
        r2 = self.role(trust(u.arn), policy=doc(allow("s3:GetObject", "*")))
        wide = Creds(u.sts.assume_role(RoleArn=r2["Arn"], RoleSessionName="w1",
                                       Policy=doc(allow("s3:*", "*"))))
        self.denied(wide.s3.put_object, Bucket=b, Key="k", Body=b"x")
        # bad and oversized session policies
        self.denied_sts(u.sts_nv.assume_role, "MalformedPolicyDocument", 400, RoleArn=r["Arn"],
                        RoleSessionName="s1", Policy='{"Version": "2012-10-17"}')
        big = doc(*[allow("s3:GetObject", "arn:aws:s3:::%s/p%04d/*" % (b, i))
                    for i in range(60)])
        self.denied_sts(u.sts_nv.assume_role, "PackedPolicyTooLarge", 400, RoleArn=r["Arn"],
                        RoleSessionName="s1", Policy=big)
        arns = [{"arn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}] * 11
        self.denied_sts(u.sts_nv.assume_role, "ValidationError", 400, RoleArn=r["Arn"],
                        RoleSessionName="s1", PolicyArns=arns)

    def test_duration_and_names(self):
        u = self.user()
        r = self.role(trust(u.arn), policy=doc(allow("sts:AssumeRole", "*")))
        long_role = self.role(trust([u.arn, r["Arn"]]), max_s=7200)
        v = dict(RoleArn=r["Arn"], RoleSessionName="s1")
        self.denied_sts(u.sts_nv.assume_role, "ValidationError", 400, DurationSeconds=899, **v)
        self.denied_sts(u.sts_nv.assume_role, "ValidationError", 400, DurationSeconds=7200, **v)
        for bad in ("a", "x" * 65, "bad name"):
            self.denied_sts(u.sts_nv.assume_role, "ValidationError", 400, RoleArn=r["Arn"],
                            RoleSessionName=bad)
        cr = u.sts.assume_role(RoleArn=long_role["Arn"], RoleSessionName="s1",
                               DurationSeconds=7200)["Credentials"]
        left = cr["Expiration"].timestamp() - time.time()
        self.assertTrue(7100 < left <= 7200, left)
        # role chaining: the role session may assume a role, for an hour at most
        chain = Creds(u.sts.assume_role(**v))
        self.denied_sts(chain.sts.assume_role, "ValidationError", 400,
                        RoleArn=long_role["Arn"], RoleSessionName="c1", DurationSeconds=7200)
        r3 = self.role(trust(r["Arn"]))
        c2 = Creds(chain.sts.assume_role(RoleArn=r3["Arn"], RoleSessionName="c1",
                                         DurationSeconds=900))
        self.assertEqual(c2.sts.get_caller_identity()["Arn"],
                         "arn:aws:sts::%s:assumed-role/%s/c1" % (self.a12, r3["RoleName"]))

    @lib.sqlite_only
    def test_expired_and_deleted_role_sessions(self):
        b = self.bucket()
        u = self.user()
        r = self.role(trust(u.arn), policy=doc(allow("s3:GetObject", "*")))
        s = Creds(u.sts.assume_role(RoleArn=r["Arn"], RoleSessionName="s1"))
        s.s3.get_object(Bucket=b, Key="k")
        db = sqlite3.connect(os.path.join(env().data, "meta.db"), timeout=10)
        with db:
            db.execute("UPDATE keys SET expires_ms = 1000 WHERE access_key_id = ?", (s.ak,))
        db.close()
        self.assertS3Error("ExpiredToken", 400, s.s3.get_object, Bucket=b, Key="k")
        s2 = Creds(u.sts.assume_role(RoleArn=r["Arn"], RoleSessionName="s2"))
        s2.s3.get_object(Bucket=b, Key="k")
        self.assertEqual(sessions_of(r["RoleId"]), 1)
        self.a.iam.delete_role_policy(RoleName=r["RoleName"], PolicyName="p")
        self.denied(s2.s3.get_object, Bucket=b, Key="k")
        self.a.iam.delete_role(RoleName=r["RoleName"])
        self.assertEqual(sessions_of(r["RoleId"]), 0)
        self.assertS3Error("InvalidAccessKeyId", 403, s2.s3.get_object, Bucket=b, Key="k")
        self.denied_sts(s2.sts.get_caller_identity, "InvalidClientTokenId", 403)

    @lib.sqlite_only
    def test_https_only(self):
        u = self.user()
        r = self.role(trust(u.arn))
        sts = svc_client("sts", u.ak, u.sk, https=False)
        self.denied_sts(sts.assume_role, "InvalidRequest", 400, RoleArn=r["Arn"],
                        RoleSessionName="s1")
        self.assertEqual(sessions_of(r["RoleId"]), 0)
        out = aws(u.ak, u.sk, "sts", "assume-role", "--role-arn", r["Arn"],
                  "--role-session-name", "s1", https=False)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("InvalidRequest", out.stderr)
        self.assertEqual(sessions_of(r["RoleId"]), 0)

    def test_iam_with_role_credentials(self):
        # AWS lets role sessions call IAM as their policies allow, no MFA needed
        u = self.user()
        r = self.role(trust(u.arn), policy=doc(allow(
            ["iam:ListUsers", "iam:GetUser", "iam:CreateVirtualMFADevice"], "*")))
        s = Creds(u.sts.assume_role(RoleArn=r["Arn"], RoleSessionName="s1"))
        self.assertIn(u.name, [x["UserName"] for x in s.iam.list_users()["Users"]])
        self.assertEqual(s.iam.get_user(UserName=u.name)["User"]["UserName"], u.name)
        self.denied_sts(s.iam.list_roles)
        self.denied_sts(s.sts.get_session_token, DurationSeconds=900)
        # a role session is no user: it has no user of its own and owns no MFA device
        self.denied_sts(s.iam.get_user, "ValidationError", 400)
        self.denied_sts(s.iam.create_virtual_mfa_device,
                        VirtualMFADeviceName="rd-" + rand_suffix(4))


class TestRoleSessionMfa(RoleCase):
    """Case 26 and the [decision] of 4.3: a role session carries no MFA context of its own."""

    tag = "roles-m"

    def test_bucket_policy_requiring_mfa(self):
        # case 26
        b = self.bucket(key=None)
        self.set_bucket_policy(b, allow("s3:PutObject", "arn:aws:s3:::%s/*" % b,
                                        Principal={"AWS": [self.a12, self.b12]},
                                        Condition=TRUST_MFA))
        carol, dev = self.mfa_user(self.b)
        carol.put_policy(doc(allow("s3:PutObject", "*"), allow("sts:AssumeRole", "*")))
        carol.session(dev).put_object(Bucket=b, Key="gst", Body=b"x")
        r = self.role(trust(carol.arn, TRUST_MFA), acct=self.b,
                      policy=doc(allow("s3:PutObject", "*")))
        s = Creds(carol.sts.assume_role(RoleArn=r["Arn"], RoleSessionName="s1",
                                        SerialNumber=dev.serial, TokenCode=dev.take_or_wait()))
        self.denied(s.s3.put_object, Bucket=b, Key="role", Body=b"x")

    def test_mfa_context_inherited_from_session_credentials(self):
        b = self.bucket(key=None)
        u, dev = self.mfa_user(self.a)
        u.put_policy(doc(allow("sts:AssumeRole", "*")))
        r = self.role(trust(u.arn),
                      policy=doc(allow("s3:PutObject", "*", Condition=TRUST_MFA)))
        plain = Creds(u.sts.assume_role(RoleArn=r["Arn"], RoleSessionName="plain"))
        self.denied(plain.s3.put_object, Bucket=b, Key="k", Body=b"x")
        cr = u.sts.get_session_token(DurationSeconds=900, SerialNumber=dev.serial,
                                     TokenCode=dev.take_or_wait())["Credentials"]
        gst = svc_client("sts", cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"])
        inherited = Creds(gst.assume_role(RoleArn=r["Arn"], RoleSessionName="mfa"))
        inherited.s3.put_object(Bucket=b, Key="k", Body=b"x")
        # a wrong code fails the call even where the trust policy does not ask for MFA
        self.denied_sts(u.sts.assume_role, RoleArn=r["Arn"], RoleSessionName="bad",
                        SerialNumber=dev.serial, TokenCode=dev.wrong())
