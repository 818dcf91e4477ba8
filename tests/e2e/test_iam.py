"""IAM and STS query APIs on the S3 endpoint, over HTTPS with boto3 and the AWS CLI: virtual MFA
devices (the CLI's QR bootstrap decoded with zbarimg, codes from oathtool), users and access keys,
GetSessionToken with and without MFA, GetCallerIdentity, and the IAM error format.

Each class works in an account of its own, so root's MFA devices never meet another module's.
Under run.sh the shared server is used; run alone (python3 runner.py test_iam.py) the module
starts a private cofferd from $E2E_BIN (default bin/).
"""

import base64
import datetime
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import xml.etree.ElementTree as ET

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore.config import Config
from botocore.exceptions import ClientError

import lib
from lib import E2ETestCase, REGION, Server, create_account, env, rand_suffix

IAM_NS = "{https://iam.amazonaws.com/doc/2010-05-08/}"
STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

_private = None  # the Server when this module started its own cofferd

# AWS's documented self-service policies: a user manages its own keys and its own MFA device
# (named after it), nothing else; S3 only to list its buckets.
SELF_KEYS = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Resource": "arn:aws:iam::*:user/${aws:username}",
     "Action": ["iam:GetUser", "iam:ListAccessKeys", "iam:CreateAccessKey",
                "iam:DeleteAccessKey"]},
    {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]})
SELF_MFA = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Resource": "arn:aws:iam::*:mfa/${aws:username}",
     "Action": ["iam:CreateVirtualMFADevice", "iam:DeleteVirtualMFADevice"]},
    {"Effect": "Allow", "Resource": "arn:aws:iam::*:user/${aws:username}",
     "Action": ["iam:EnableMFADevice", "iam:ResyncMFADevice", "iam:DeactivateMFADevice",
                "iam:ListMFADevices"]}]})


def setUpModule():
    global _private
    if os.environ.get("E2E_DATA") and os.environ.get("E2E_TLS_PORT"):
        return
    bin_dir = os.environ.get("E2E_BIN") or os.path.join(ROOT, "bin")
    srv = Server(bin_dir, domain="localhost", tag="coffer-iam", admin_bin=bin_dir)
    data = srv.data
    srv.start()
    deadline = time.time() + 30
    while not os.path.exists(srv.ca) and time.time() < deadline:
        time.sleep(0.05)
    acct = srv.account("e2e-iam-main")
    os.environ.update(E2E_BIN=bin_dir, E2E_DATA=data, E2E_HTTP_PORT=str(srv.http_port),
                      E2E_TLS_PORT=str(srv.tls_port), E2E_DOMAIN="localhost",
                      E2E_AK=acct["access_key_id"], E2E_SK=acct["secret_access_key"],
                      E2E_ACCOUNT_ID=acct["account_id"])
    lib._env = None
    _private = srv


def tearDownModule():
    if _private is not None:
        _private.stop()
        _private.close()


# ---------------------------------------------------------------------------------------------
# helpers


def new_account(tag):
    e = env()
    a = create_account(e.bin, e.data, "e2e-iam-%s-%s" % (tag, rand_suffix(6)))
    a["number"] = "%012d" % int(a["account_id"])
    return a


def creds_of(c):
    """(ak, sk, token) from a Credentials dict, an account dict or an AccessKey dict."""
    if "SessionToken" in c:
        return c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]
    if "access_key_id" in c:
        return c["access_key_id"], c["secret_access_key"], None
    return c["AccessKeyId"], c["SecretAccessKey"], None


def make_client(service, c, validate=True):
    e = env()
    ak, sk, token = creds_of(c)
    return boto3.session.Session().client(
        service, endpoint_url=e.https, region_name=REGION, verify=e.ca,
        aws_access_key_id=ak, aws_secret_access_key=sk, aws_session_token=token,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=10,
                      read_timeout=30, parameter_validation=validate,
                      s3={"addressing_style": "path"}, signature_version="s3v4"
                      if service == "s3" else None))


def oathtool(secret, t):
    out = subprocess.run(["oathtool", "--totp", "-b", secret, "-N", "@%d" % t],
                         check=True, capture_output=True, text=True, timeout=30)
    code = out.stdout.strip()
    assert len(code) == 6 and code.isdigit(), out.stdout
    return code


def step_now():
    return int(time.time()) // 30


class Device:
    """A TOTP device as the test sees it: remembers the last step the server burned, so each
    code it hands out is one the server will still accept (window +-1 step, single use)."""

    def __init__(self, serial, secret):
        self.serial = serial
        self.secret = secret
        self.last = 0

    def enable_codes(self, consecutive=True):
        cur = step_now()
        first = cur - 1 if consecutive else cur - 3
        self.pending = cur
        return oathtool(self.secret, first * 30), oathtool(self.secret, cur * 30)

    def enabled(self):
        self.last = self.pending

    def code(self):
        while True:
            cur = step_now()
            step = max(cur, self.last + 1)
            if step <= cur + 1:
                break
            time.sleep(30 - time.time() % 30 + 0.2)
        self.last = step
        return oathtool(self.secret, step * 30)


def decode_qr(path):
    out = subprocess.run(["zbarimg", "--raw", "-q", path], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, "zbarimg failed: %r" % (out,)
    return out.stdout.strip()


def parse_otpauth(uri):
    u = urllib.parse.urlsplit(uri)
    q = urllib.parse.parse_qs(u.query)
    return u.scheme, u.netloc, urllib.parse.unquote(u.path[1:]), q


def aws_cli(args, c, tmpdir):
    """Runs the AWS CLI against the HTTPS listener with c's credentials; returns the
    CompletedProcess."""
    e = env()
    ak, sk, token = creds_of(c)
    cfg = os.path.join(tmpdir, "aws-config")
    with open(cfg, "w") as f:
        f.write("[default]\nregion = %s\nretry_mode = standard\nmax_attempts = 1\n" % REGION)
    envv = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    envv.update(AWS_CONFIG_FILE=cfg, AWS_SHARED_CREDENTIALS_FILE=os.path.join(tmpdir, "none"),
                AWS_ACCESS_KEY_ID=ak, AWS_SECRET_ACCESS_KEY=sk, AWS_DEFAULT_REGION=REGION)
    if token:
        envv["AWS_SESSION_TOKEN"] = token
    return subprocess.run(["aws"] + list(args) + ["--endpoint-url", e.https, "--ca-bundle", e.ca,
                                                  "--output", "json"],
                          capture_output=True, text=True, timeout=120, env=envv, cwd=tmpdir)


def raw_query(service, params, c, method="POST", secret=None, version=True):
    """A hand-made IAM/STS query request signed with botocore's SigV4 signer (no
    x-amz-content-sha256 header, as botocore sends them). Returns lib.Response."""
    e = env()
    ak, sk, token = creds_of(c)
    params = dict(params)
    if version:
        params.setdefault("Version", "2011-06-15" if service == "sts" else "2010-05-08")
    host = "127.0.0.1:%d" % e.tls_port
    form = urllib.parse.urlencode(params)
    if method == "POST":
        req = botocore.awsrequest.AWSRequest(
            method="POST", url="https://%s/" % host, data=form.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    else:
        req = botocore.awsrequest.AWSRequest(method="GET", url="https://%s/?%s" % (host, form))
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(ak, secret or sk, token), service,
                            REGION).add_auth(req)
    p = req.prepare()
    target = p.url[len("https://%s" % host):]
    return lib.send(method, target, dict(p.headers), p.body or b"", https=True)


def error_of(resp, ns):
    root = ET.fromstring(resp.body)
    assert root.tag == ns + "ErrorResponse", resp
    err = root.find(ns + "Error")
    return (err.findtext(ns + "Type"), err.findtext(ns + "Code"), err.findtext(ns + "Message"),
            root.findtext(ns + "RequestId"))


class IamTestCase(E2ETestCase):
    def assertIamError(self, code, status, fn, *args, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kwargs)
        r = cm.exception.response
        got = (r["Error"].get("Code"), r["ResponseMetadata"]["HTTPStatusCode"])
        self.assertEqual(got, (code, status), "error response: %r" % (r,))
        self.assertTrue(r["Error"].get("Message"), "empty error Message: %r" % (r,))
        self.assertTrue(r["ResponseMetadata"].get("RequestId"), "no RequestId: %r" % (r,))
        return r

    def recent(self, when, slack=120):
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - when).total_seconds()), slack, when)


# ---------------------------------------------------------------------------------------------


class VirtualMfaTest(IamTestCase):
    """Root's virtual MFA device from QR bootstrap to deletion."""

    @classmethod
    def setUpClass(cls):
        cls.acct = new_account("mfa")
        cls.iam = make_client("iam", cls.acct)
        cls.iam_nv = make_client("iam", cls.acct, validate=False)
        cls.sts = make_client("sts", cls.acct)
        cls.tmp = tempfile.mkdtemp(prefix="coffer-iam-cli.")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_cli_qr_bootstrap_enable_session_deactivate_delete(self):
        a = self.acct
        serial = "arn:aws:iam::%s:mfa/root-mfa" % a["number"]
        png = os.path.join(self.tmp, "qr.png")
        r = aws_cli(["iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", "root-mfa",
                     "--outfile", png, "--bootstrap-method", "QRCodePNG"], a, self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["VirtualMFADevice"]["SerialNumber"], serial)
        with open(png, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        uri = decode_qr(png)
        scheme, kind, label, q = parse_otpauth(uri)
        self.assertEqual((scheme, kind, label), ("otpauth", "totp", "root-mfa@" + a["name"]), uri)
        self.assertEqual(q.get("issuer"), ["Coffer"], uri)
        secret = q["secret"][0]
        self.assertRegex(secret, r"^[A-Z2-7]{32}$")  # 160-bit seed
        dev = Device(serial, secret)

        # Two codes that are not consecutive, then malformed ones, then the real thing.
        c1, c2 = dev.enable_codes(consecutive=False)
        r = self.assertIamError("InvalidAuthenticationCode", 403, self.iam.enable_mfa_device,
                                UserName=a["name"], SerialNumber=serial, AuthenticationCode1=c1,
                                AuthenticationCode2=c2)
        self.assertEqual(r["Error"]["Message"], "Authentication code for device is not valid.")
        self.assertIamError("ValidationError", 400, self.iam_nv.enable_mfa_device,
                            UserName="root", SerialNumber=serial, AuthenticationCode1="12a456",
                            AuthenticationCode2="123456")
        self.assertIamError("NoSuchEntity", 404, self.iam.enable_mfa_device, UserName="root",
                            SerialNumber=serial + "-nope", AuthenticationCode1="123456",
                            AuthenticationCode2="123456")
        self.assertIamError("NoSuchEntity", 404, self.iam.enable_mfa_device, UserName="nobody",
                            SerialNumber=serial, AuthenticationCode1="123456",
                            AuthenticationCode2="123456")
        c1, c2 = dev.enable_codes()
        self.iam.enable_mfa_device(UserName=a["name"], SerialNumber=serial,
                                   AuthenticationCode1=c1, AuthenticationCode2=c2)
        dev.enabled()
        c1, c2 = dev.enable_codes()
        self.assertIamError("EntityAlreadyExists", 409, self.iam.enable_mfa_device,
                            UserName="root", SerialNumber=serial, AuthenticationCode1=c1,
                            AuthenticationCode2=c2)

        # Listings: root's device under the account name; never a seed.
        r = self.iam.list_mfa_devices()
        self.assertEqual(len(r["MFADevices"]), 1, r)
        m = r["MFADevices"][0]
        self.assertEqual((m["UserName"], m["SerialNumber"]), (a["name"], serial))
        self.recent(m["EnableDate"])
        self.assertFalse(r["IsTruncated"])
        r = self.iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")
        v = [d for d in r["VirtualMFADevices"] if d["SerialNumber"] == serial]
        self.assertEqual(len(v), 1, r)
        self.assertEqual(v[0]["User"]["Arn"], "arn:aws:iam::%s:root" % a["number"])
        self.assertEqual(v[0]["User"]["UserId"], a["number"])
        self.assertNotIn("Base32StringSeed", v[0])
        self.assertNotIn("QRCodePNG", v[0])
        self.assertNotIn(serial, [d["SerialNumber"] for d in self.iam.list_virtual_mfa_devices(
            AssignmentStatus="Unassigned")["VirtualMFADevices"]])
        out = aws_cli(["iam", "list-mfa-devices"], a, self.tmp)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["MFADevices"][0]["SerialNumber"], serial)

        # Resync: wrong codes refused, two consecutive current codes accepted.
        self.assertIamError("InvalidAuthenticationCode", 403, self.iam.resync_mfa_device,
                            UserName="root", SerialNumber=serial, AuthenticationCode1="000000",
                            AuthenticationCode2="000000")
        c1, c2 = dev.enable_codes()
        self.iam.resync_mfa_device(UserName="root", SerialNumber=serial, AuthenticationCode1=c1,
                                   AuthenticationCode2=c2)
        dev.enabled()

        # GetSessionToken: unknown serial, wrong code, a valid code, the same code again.
        r = self.assertIamError("AccessDenied", 403, self.sts.get_session_token,
                                SerialNumber=serial + "x", TokenCode="123456")
        self.assertIn("unable to validate MFA code", r["Error"]["Message"])
        good = dev.code()
        wrong = "%06d" % ((int(good) + 1) % 1000000)
        r = self.assertIamError("AccessDenied", 403, self.sts.get_session_token,
                                SerialNumber=serial, TokenCode=wrong)
        self.assertEqual(r["Error"]["Message"],
                         "MultiFactorAuthentication failed with invalid MFA one time pass code.")
        sess = self.sts.get_session_token(SerialNumber=serial, TokenCode=good)["Credentials"]
        self.assertTrue(sess["AccessKeyId"].startswith("CS"), sess)
        self.assertGreaterEqual(len(sess["SessionToken"]), 64)
        r = self.assertIamError("AccessDenied", 403, self.sts.get_session_token,
                                SerialNumber=serial, TokenCode=good)
        self.assertIn("invalid MFA one time pass code", r["Error"]["Message"])

        # Long-term keys may not remove the device (Coffer's decision), and an enabled device
        # cannot be deleted.
        r = self.assertIamError("AccessDenied", 403, self.iam.deactivate_mfa_device,
                                UserName="root", SerialNumber=serial)
        self.assertIn("GetSessionToken", r["Error"]["Message"])
        self.assertIamError("DeleteConflict", 409, self.iam.delete_virtual_mfa_device,
                            SerialNumber=serial)

        # The MFA session can, and it still says who it is.
        iam_s = make_client("iam", sess)
        ident = make_client("sts", sess).get_caller_identity()
        self.assertEqual((ident["Account"], ident["Arn"]),
                         (a["number"], "arn:aws:iam::%s:root" % a["number"]))
        iam_s.deactivate_mfa_device(UserName="root", SerialNumber=serial)
        self.assertEqual(self.iam.list_mfa_devices()["MFADevices"], [])
        self.assertIn(serial, [d["SerialNumber"] for d in self.iam.list_virtual_mfa_devices(
            AssignmentStatus="Unassigned")["VirtualMFADevices"]])
        self.assertIamError("NoSuchEntity", 404, iam_s.deactivate_mfa_device, UserName="root",
                            SerialNumber=serial)
        self.iam.delete_virtual_mfa_device(SerialNumber=serial)
        self.assertIamError("NoSuchEntity", 404, self.iam.delete_virtual_mfa_device,
                            SerialNumber=serial)
        self.assertNotIn(serial, [d["SerialNumber"] for d in
                                  self.iam.list_virtual_mfa_devices()["VirtualMFADevices"]])

    def test_boto3_seed_matches_qr_and_paths(self):
        a = self.acct
        r = self.iam.create_virtual_mfa_device(VirtualMFADeviceName="boto-dev", Path="/team/")
        d = r["VirtualMFADevice"]
        serial = "arn:aws:iam::%s:mfa/team/boto-dev" % a["number"]
        self.assertEqual(d["SerialNumber"], serial)
        seed = d["Base32StringSeed"].decode()  # botocore has undone the wire's base64
        self.assertRegex(seed, r"^[A-Z2-7]{32}$")
        self.assertEqual(len(base64.b32decode(seed)), 20)
        png = os.path.join(self.tmp, "boto.png")
        with open(png, "wb") as f:
            f.write(d["QRCodePNG"])
        scheme, kind, label, q = parse_otpauth(decode_qr(png))
        self.assertEqual(label, "boto-dev@" + a["name"])
        self.assertEqual(q["secret"], [seed])
        # Same name on another path is another device; same path and name is a conflict.
        self.iam.create_virtual_mfa_device(VirtualMFADeviceName="boto-dev")
        self.assertIamError("EntityAlreadyExists", 409, self.iam.create_virtual_mfa_device,
                            VirtualMFADeviceName="boto-dev", Path="/team/")
        listed = [v["SerialNumber"] for v in self.iam.list_virtual_mfa_devices(
            AssignmentStatus="Unassigned")["VirtualMFADevices"]]
        self.assertIn(serial, listed)
        # Paging: one at a time.
        p1 = self.iam.list_virtual_mfa_devices(MaxItems=1)
        self.assertTrue(p1["IsTruncated"])
        p2 = self.iam.list_virtual_mfa_devices(MaxItems=1, Marker=p1["Marker"])
        self.assertNotEqual(p1["VirtualMFADevices"], p2["VirtualMFADevices"])
        for s in (serial, "arn:aws:iam::%s:mfa/boto-dev" % a["number"]):
            self.iam.delete_virtual_mfa_device(SerialNumber=s)

    def test_create_validation(self):
        self.assertIamError("ValidationError", 400, self.iam.create_virtual_mfa_device,
                            VirtualMFADeviceName="bad name!")
        self.assertIamError("ValidationError", 400, self.iam.create_virtual_mfa_device,
                            VirtualMFADeviceName="ok", Path="noslash")
        tags = [{"Key": "k%d" % i, "Value": "v"} for i in range(51)]
        self.assertIamError("ValidationError", 400, self.iam_nv.create_virtual_mfa_device,
                            VirtualMFADeviceName="tagged", Tags=tags)
        self.assertIamError("ValidationError", 400, self.iam_nv.list_virtual_mfa_devices,
                            AssignmentStatus="Maybe")
        self.assertIamError("ValidationError", 400, self.iam_nv.list_mfa_devices, MaxItems=0)
        names = [d["SerialNumber"]
                 for d in self.iam.list_virtual_mfa_devices()["VirtualMFADevices"]]
        self.assertFalse([n for n in names if n.endswith(("/ok", "/tagged"))], names)


class UsersAndKeysTest(IamTestCase):
    @classmethod
    def setUpClass(cls):
        cls.acct = new_account("users")
        cls.iam = make_client("iam", cls.acct)
        cls.sts = make_client("sts", cls.acct)

    def test_users_and_access_keys(self):
        a = self.acct
        name = "bob-" + rand_suffix(4)
        u = self.iam.create_user(UserName=name)["User"]
        self.assertEqual((u["UserName"], u["Path"]), (name, "/"))
        self.assertEqual(u["Arn"], "arn:aws:iam::%s:user/%s" % (a["number"], name))
        self.assertTrue(u["UserId"].startswith("AIDA"))
        self.recent(u["CreateDate"])
        self.assertEqual(self.iam.get_user(UserName=name)["User"]["UserId"], u["UserId"])
        self.assertIn(name, [x["UserName"] for x in self.iam.list_users()["Users"]])
        self.assertIamError("EntityAlreadyExists", 409, self.iam.create_user, UserName=name)
        self.assertIamError("EntityAlreadyExists", 409, self.iam.create_user,
                            UserName=name.upper())  # IAM names ignore case
        self.assertIamError("InvalidInput", 400, self.iam.create_user, UserName="pathy",
                            Path="/team/")
        me = self.iam.get_user()["User"]
        self.assertEqual(me["Arn"], "arn:aws:iam::%s:root" % a["number"])

        # What the user may do itself comes from a policy (AWS: default deny).
        self.iam.put_user_policy(UserName=name, PolicyName="self", PolicyDocument=SELF_KEYS)
        k = self.iam.create_access_key(UserName=name)["AccessKey"]
        self.assertEqual((k["UserName"], k["Status"]), (name, "Active"))
        self.assertEqual(len(k["SecretAccessKey"]), 40)
        keys = self.iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        self.assertEqual([x["AccessKeyId"] for x in keys], [k["AccessKeyId"]])
        self.assertNotIn("SecretAccessKey", keys[0])

        # The user's own view: who it is, its S3 access, and what it may not do.
        ident = make_client("sts", k).get_caller_identity()
        self.assertEqual((ident["Arn"], ident["UserId"], ident["Account"]),
                         (u["Arn"], u["UserId"], a["number"]))
        make_client("s3", k).list_buckets()
        iam_u = make_client("iam", k)
        self.assertEqual(iam_u.get_user()["User"]["UserName"], name)
        self.assertEqual(len(iam_u.list_access_keys()["AccessKeyMetadata"]), 1)
        r = self.assertIamError("AccessDenied", 403, iam_u.create_user, UserName="eve")
        self.assertIn("iam:CreateUser", r["Error"]["Message"])
        self.assertIamError("AccessDenied", 403, iam_u.list_users)
        self.assertIamError("AccessDenied", 403, iam_u.list_access_keys, UserName="root")
        self.assertIamError("AccessDenied", 403, iam_u.delete_user, UserName=name)

        k2 = self.iam.create_access_key(UserName=name)["AccessKey"]
        self.assertIamError("LimitExceeded", 409, self.iam.create_access_key, UserName=name)
        self.iam.delete_access_key(UserName=name, AccessKeyId=k2["AccessKeyId"])
        self.assertIamError("NoSuchEntity", 404, self.iam.delete_access_key, UserName=name,
                            AccessKeyId=k2["AccessKeyId"])
        # Root's own key is not the user's to name.
        self.assertIamError("NoSuchEntity", 404, self.iam.delete_access_key, UserName=name,
                            AccessKeyId=a["access_key_id"])

        self.iam.delete_user_policy(UserName=name, PolicyName="self")
        self.iam.delete_user(UserName=name)
        self.assertIamError("NoSuchEntity", 404, self.iam.get_user, UserName=name)
        self.assertIamError("NoSuchEntity", 404, self.iam.delete_user, UserName=name)
        self.assertIamError("InvalidClientTokenId", 403, make_client("sts", k).get_caller_identity)

    def test_user_mfa_device_blocks_delete_user(self):
        name = "carol-" + rand_suffix(4)
        self.iam.create_user(UserName=name)
        self.iam.put_user_policy(UserName=name, PolicyName="self-mfa", PolicyDocument=SELF_MFA)
        k = self.iam.create_access_key(UserName=name)["AccessKey"]
        iam_u = make_client("iam", k)
        d = iam_u.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
        dev = Device(d["SerialNumber"], d["Base32StringSeed"].decode())
        c1, c2 = dev.enable_codes()
        # A user may not attach a device to root.
        self.assertIamError("AccessDenied", 403, iam_u.enable_mfa_device, UserName="root",
                            SerialNumber=dev.serial, AuthenticationCode1=c1,
                            AuthenticationCode2=c2)
        iam_u.enable_mfa_device(UserName=name, SerialNumber=dev.serial, AuthenticationCode1=c1,
                                AuthenticationCode2=c2)
        dev.enabled()
        r = self.iam.list_mfa_devices(UserName=name)["MFADevices"]
        self.assertEqual([(x["UserName"], x["SerialNumber"]) for x in r], [(name, dev.serial)])
        self.assertEqual(self.iam.list_mfa_devices()["MFADevices"], [])  # root has none
        v = [x for x in self.iam.list_virtual_mfa_devices()["VirtualMFADevices"]
             if x["SerialNumber"] == dev.serial]
        self.assertEqual(v[0]["User"]["UserName"], name)
        self.assertIamError("DeleteConflict", 409, self.iam.delete_user, UserName=name)

        sess = make_client("sts", k).get_session_token(SerialNumber=dev.serial,
                                                        TokenCode=dev.code())["Credentials"]
        ident = make_client("sts", sess).get_caller_identity()
        self.assertTrue(ident["Arn"].endswith(":user/" + name), ident)
        make_client("iam", sess).deactivate_mfa_device(SerialNumber=dev.serial)
        iam_u.delete_virtual_mfa_device(SerialNumber=dev.serial)
        self.iam.delete_user_policy(UserName=name, PolicyName="self-mfa")
        self.iam.delete_user(UserName=name)

    def test_session_tokens_without_mfa(self):
        a = self.acct
        before = time.time()
        c = self.sts.get_session_token(DurationSeconds=7200)["Credentials"]
        # Root sessions are cut to one hour.
        left = c["Expiration"].timestamp() - before
        self.assertTrue(3500 < left <= 3660, left)
        make_client("s3", c).list_buckets()
        ident = make_client("sts", c).get_caller_identity()
        self.assertEqual(ident["Arn"], "arn:aws:iam::%s:root" % a["number"])
        # Without MFA a session may not call IAM, and no session may mint another.
        self.assertIamError("InvalidClientTokenId", 403, make_client("iam", c).list_users)
        r = self.assertIamError("AccessDenied", 403, make_client("sts", c).get_session_token)
        self.assertEqual(r["Error"]["Message"],
                         "Cannot call GetSessionToken with session credentials")
        nv = make_client("sts", self.acct, validate=False)
        self.assertIamError("ValidationError", 400, nv.get_session_token, DurationSeconds=100)
        self.assertIamError("ValidationError", 400, nv.get_session_token,
                            SerialNumber="arn:aws:iam::%s:mfa/x" % a["number"], TokenCode="12")
        # A token that is not the session's is refused.
        bad = dict(c, SessionToken=c["SessionToken"][:-4] + "AAAA")
        self.assertIamError("InvalidClientTokenId", 403,
                            make_client("sts", bad).get_caller_identity)


class ProtocolTest(IamTestCase):
    """The query protocol itself: raw requests, GET form, errors, and the AWS CLI."""

    @classmethod
    def setUpClass(cls):
        cls.acct = new_account("proto")
        cls.tmp = tempfile.mkdtemp(prefix="coffer-iam-cli.")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_success_envelope(self):
        r = raw_query("sts", {"Action": "GetCallerIdentity"}, self.acct)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("content-type"), "text/xml")
        root = ET.fromstring(r.body)
        self.assertEqual(root.tag, STS_NS + "GetCallerIdentityResponse")
        res = root.find(STS_NS + "GetCallerIdentityResult")
        self.assertEqual(res.findtext(STS_NS + "Account"), self.acct["number"])
        rid = root.find(STS_NS + "ResponseMetadata").findtext(STS_NS + "RequestId")
        self.assertEqual(rid, r.header("x-amz-request-id"))
        # IAM actions without a result have no Result element.
        r = raw_query("iam", {"Action": "CreateUser", "UserName": "env-u"}, self.acct)
        self.assertEqual(r.status, 200, r)
        r = raw_query("iam", {"Action": "DeleteUser", "UserName": "env-u"}, self.acct)
        self.assertEqual(r.status, 200, r)
        root = ET.fromstring(r.body)
        self.assertEqual(root.tag, IAM_NS + "DeleteUserResponse")
        self.assertIsNone(root.find(IAM_NS + "DeleteUserResult"))

    def test_get_with_query_parameters(self):
        r = raw_query("sts", {"Action": "GetCallerIdentity"}, self.acct, method="GET")
        self.assertEqual(r.status, 200, r)
        self.assertIn(b"<Account>%s</Account>" % self.acct["number"].encode(), r.body)

    def test_errors(self):
        r = raw_query("iam", {"Action": "NoSuchAction"}, self.acct)
        self.assertEqual(r.status, 400, r)
        t, code, msg, rid = error_of(r, IAM_NS)
        self.assertEqual((t, code), ("Sender", "InvalidAction"))
        self.assertIn("NoSuchAction", msg)
        self.assertEqual(rid, r.header("x-amz-request-id"))
        r = raw_query("iam", {"Action": "ListUsers", "Version": "2011-06-15"}, self.acct)
        self.assertEqual((r.status, error_of(r, IAM_NS)[1]), (400, "InvalidAction"))
        r = raw_query("sts", {"Action": "ListUsers"}, self.acct)  # an IAM action sent to STS
        self.assertEqual((r.status, error_of(r, STS_NS)[1]), (400, "InvalidAction"))
        r = raw_query("iam", {"Version": "2010-05-08"}, self.acct)
        self.assertEqual(r.status, 400, r)
        r = raw_query("sts", {"Action": "GetCallerIdentity"}, self.acct, secret="x" * 40)
        self.assertEqual((r.status, error_of(r, STS_NS)[1]), (403, "SignatureDoesNotMatch"))
        other = dict(self.acct, access_key_id="CKNOSUCHKEY000000000")
        r = raw_query("sts", {"Action": "GetCallerIdentity"}, other)
        self.assertEqual((r.status, error_of(r, STS_NS)[1]), (403, "InvalidClientTokenId"))
        r = raw_query("iam", {"Action": "GetUser", "UserName": "ghost"}, self.acct)
        self.assertEqual((r.status, error_of(r, IAM_NS)[:2]), (404, ("Sender", "NoSuchEntity")))
        self.assertTrue(error_of(r, IAM_NS)[2])

    def test_oversized_body(self):
        params = {"Action": "GetCallerIdentity", "Pad": "x" * (70 * 1024)}
        r = raw_query("sts", params, self.acct)
        self.assertEqual(r.status, 413, r)

    def test_aws_cli_get_caller_identity(self):
        out = aws_cli(["sts", "get-caller-identity"], self.acct, self.tmp)
        self.assertEqual(out.returncode, 0, out.stderr)
        j = json.loads(out.stdout)
        self.assertEqual((j["Account"], j["UserId"]), (self.acct["number"], self.acct["number"]))
        self.assertEqual(j["Arn"], "arn:aws:iam::%s:root" % self.acct["number"])
        out = aws_cli(["iam", "get-user", "--user-name", "ghost"], self.acct, self.tmp)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("NoSuchEntity", out.stderr)


if __name__ == "__main__":
    import unittest
    unittest.main()
