"""Browser POST uploads ("POST Object", ../shared/spec/authorization.md section 8) end to end:
boto3's generate_presigned_post sent with requests and with curl -F, a SigV2 form signed
here, the success_action_status and redirect answers, every failure row of the section 8
table, content-length-range, starts-with and ${filename}, anonymous forms allowed or refused by
the bucket policy (with s3:authType = POST), an IAM user without s3:PutObject, and a 50 MiB file
streamed.
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import subprocess
import tempfile
import urllib.parse
import xml.etree.ElementTree as ET

import requests

import lib
from lib import REGION, E2ETestCase, bucket_name, rand_suffix
from mfa_lib import svc_client


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def v4_form(ak, sk, bucket, conditions, fields, expire_s=300, policy_doc=None, token=None):
    """A SigV4-signed form: fields plus the signature fields; the policy covers bucket and the
    x-amz-* signature fields besides the conditions given (policy_doc replaces it whole)."""
    now = utcnow()
    amz = now.strftime("%Y%m%dT%H%M%SZ")
    cred = "%s/%s/%s/s3/aws4_request" % (ak, amz[:8], REGION)
    f = dict(fields)
    f.update({"x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-credential": cred, "x-amz-date": amz})
    conds = list(conditions) + [{"bucket": bucket}, {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
                                {"x-amz-credential": cred}, {"x-amz-date": amz}]
    if token is not None:
        f["x-amz-security-token"] = token
        conds.append({"x-amz-security-token": token})
    if policy_doc is None:
        policy_doc = json.dumps({"expiration": iso(now + datetime.timedelta(seconds=expire_s)),
                                 "conditions": conds})
    b64 = base64.b64encode(policy_doc.encode()).decode() if isinstance(policy_doc, str) \
        else policy_doc.decode()
    f["policy"] = b64
    f["x-amz-signature"] = hmac.new(lib.signing_key(sk, amz[:8]), b64.encode(),
                                    hashlib.sha256).hexdigest()
    return f


def v2_form(ak, sk, bucket, conditions, fields, expire_s=300):
    policy = json.dumps({"expiration": iso(utcnow() + datetime.timedelta(seconds=expire_s)),
                         "conditions": list(conditions) + [{"bucket": bucket}]})
    b64 = base64.b64encode(policy.encode()).decode()
    f = dict(fields)
    f.update({"AWSAccessKeyId": ak, "policy": b64,
              "signature": base64.b64encode(hmac.new(sk.encode(), b64.encode(),
                                                     hashlib.sha1).digest()).decode()})
    return f


def url_for(bucket):
    return "%s/%s" % (lib.env().http, bucket)


def post(bucket, fields, data=b"hello", filename="hello.txt", **kw):
    """fields in order, then the file (requests puts data fields before files)."""
    return requests.post(url_for(bucket), data=list(fields.items()),
                         files={"file": (filename, data, "text/plain")},
                         allow_redirects=False, timeout=120, **kw)


def err(r):
    root = ET.fromstring(r.content)
    return root.findtext("Code"), root.findtext("Message")


class PostCase(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        e = lib.env()
        cls.ak, cls.sk = e.ak, e.sk
        cls.c = lib.client()
        cls.b = bucket_name("post")
        cls.c.create_bucket(Bucket=cls.b)

    @classmethod
    def tearDownClass(cls):
        lib.delete_bucket(cls.c, cls.b)

    def body(self, key, bucket=None):
        return self.c.get_object(Bucket=bucket or self.b, Key=key)["Body"].read()

    def assertPostError(self, r, status, code, msg=None):
        self.assertEqual(r.status_code, status, r.content)
        got = err(r)
        self.assertEqual(got[0], code, r.content)
        if msg is not None:
            self.assertEqual(got[1], msg)
        self.assertTrue(r.headers.get("x-amz-request-id"))


class TestPostUpload(PostCase):
    def test_presigned_post_requests_201(self):
        key = "up/${filename}"
        p = self.c.generate_presigned_post(
            Bucket=self.b, Key=key, Fields={"success_action_status": "201"},
            Conditions=[["starts-with", "$key", "up/"], {"success_action_status": "201"}],
            ExpiresIn=300)
        r = requests.post(p["url"], data=p["fields"],
                          files={"file": ("dir\\report.txt", b"payload-1")}, timeout=60)
        self.assertEqual(r.status_code, 201, r.content)
        root = ET.fromstring(r.content)
        self.assertEqual(root.tag, "PostResponse")
        self.assertEqual(root.findtext("Bucket"), self.b)
        self.assertEqual(root.findtext("Key"), "up/report.txt")
        self.assertEqual(root.findtext("ETag"), '"%s"' % hashlib.md5(b"payload-1").hexdigest())
        self.assertTrue(root.findtext("Location").endswith("/%s/up/report.txt" % self.b))
        self.assertEqual(self.body("up/report.txt"), b"payload-1")

    def test_presigned_post_curl_default_204(self):
        p = self.c.generate_presigned_post(Bucket=self.b, Key="curl/obj",
                                           Fields={"Content-Type": "text/csv"},
                                           Conditions=[{"Content-Type": "text/csv"}])
        with tempfile.NamedTemporaryFile() as tf:
            tf.write(b"a,b\n1,2\n")
            tf.flush()
            argv = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}"]
            for k, v in p["fields"].items():
                argv += ["-F", "%s=%s" % (k, v)]
            argv += ["-F", "file=@%s" % tf.name, p["url"]]
            out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.stdout, "204", out.stderr)
        h = self.c.head_object(Bucket=self.b, Key="curl/obj")
        self.assertEqual(h["ContentType"], "text/csv")
        self.assertEqual(self.body("curl/obj"), b"a,b\n1,2\n")

    def test_sigv2_form_and_metadata(self):
        f = v2_form(self.ak, self.sk, self.b,
                    [{"key": "v2/obj"}, ["starts-with", "$x-amz-meta-color", ""],
                     ["starts-with", "$Cache-Control", "max-age"],
                     {"success_action_status": "200"}],
                    {"key": "v2/obj", "x-amz-meta-color": "blue", "Cache-Control": "max-age=60",
                     "success_action_status": "200"})
        r = post(self.b, f, b"v2 data")
        self.assertEqual(r.status_code, 200, r.content)
        self.assertEqual(r.content, b"")
        self.assertEqual(r.headers["ETag"], '"%s"' % hashlib.md5(b"v2 data").hexdigest())
        h = self.c.head_object(Bucket=self.b, Key="v2/obj")
        self.assertEqual(h["Metadata"], {"color": "blue"})
        self.assertEqual(h["CacheControl"], "max-age=60")
        # A wrong SigV2 signature
        f["signature"] = base64.b64encode(b"x" * 20).decode()
        self.assertPostError(post(self.b, f), 403, "SignatureDoesNotMatch")

    def test_redirect(self):
        for name in ("success_action_redirect", "redirect"):
            target = "http://example.com/done?x=1"
            f = v4_form(self.ak, self.sk, self.b, [{"key": "redir"}, {name: target}],
                        {"key": "redir", name: target})
            r = post(self.b, f, b"r")
            self.assertEqual(r.status_code, 303, r.content)
            loc = urllib.parse.urlparse(r.headers["Location"])
            self.assertEqual(loc.netloc, "example.com")
            q = dict(urllib.parse.parse_qsl(loc.query))
            self.assertEqual(q, {"x": "1", "bucket": self.b, "key": "redir",
                                 "etag": '"%s"' % hashlib.md5(b"r").hexdigest()})

    def test_failures_never_redirect(self):
        target = "http://example.com/done"
        f = v4_form(self.ak, self.sk, self.b, [{"key": "exact"}, {"success_action_redirect": target}],
                    {"key": "other", "success_action_redirect": target})
        r = post(self.b, f)
        self.assertPostError(r, 403, "AccessDenied",
                             'Invalid according to Policy: Policy Condition failed: '
                             '["eq", "$key", "exact"]')
        self.assertNotIn("Location", r.headers)

    def test_invalid_status_is_204(self):
        f = v4_form(self.ak, self.sk, self.b, [{"key": "st"}, {"success_action_status": "404"}],
                    {"key": "st", "success_action_status": "404"})
        r = post(self.b, f)
        self.assertEqual((r.status_code, r.content), (204, b""))

    def test_starts_with_and_filename(self):
        conds = [["starts-with", "$key", "user/alice/"]]
        f = v4_form(self.ak, self.sk, self.b, conds, {"key": "user/alice/${filename}"})
        self.assertEqual(post(self.b, f, b"x", filename="photo.jpg").status_code, 204)
        self.assertEqual(self.body("user/alice/photo.jpg"), b"x")
        f = v4_form(self.ak, self.sk, self.b, conds, {"key": "user/bob/${filename}"})
        self.assertPostError(post(self.b, f), 403, "AccessDenied",
                             'Invalid according to Policy: Policy Condition failed: '
                             '["starts-with", "$key", "user/alice/"]')
        # The condition sees the expanded key: ${filename} cannot sneak past it.
        f = v4_form(self.ak, self.sk, self.b, [{"key": "fixed/a.txt"}],
                    {"key": "fixed/${filename}"})
        self.assertEqual(post(self.b, f, filename="a.txt").status_code, 204)
        self.assertPostError(post(self.b, f, filename="b.txt"), 403, "AccessDenied")
        # Expanded past 1,024 bytes: refused, not truncated.
        f = v4_form(self.ak, self.sk, self.b, [["starts-with", "$key", ""]],
                    {"key": "${filename}" * 100})
        self.assertPostError(post(self.b, f, filename="abcdefghijk"), 400, "KeyTooLongError")

    def test_content_length_range(self):
        conds = [{"key": "sized"}, ["content-length-range", 3, 10]]
        f = v4_form(self.ak, self.sk, self.b, conds, {"key": "sized"})
        self.assertEqual(post(self.b, f, b"12345").status_code, 204)
        self.assertPostError(post(self.b, f, b"12345678901"), 400, "EntityTooLarge")
        self.assertPostError(post(self.b, f, b"12"), 400, "EntityTooSmall")
        self.assertEqual(self.body("sized"), b"12345")

    def test_extra_field_refused(self):
        f = v4_form(self.ak, self.sk, self.b, [{"key": "extra"}],
                    {"key": "extra", "x-amz-meta-note": "hi"})
        self.assertPostError(post(self.b, f), 403, "AccessDenied",
                             "Invalid according to Policy: Extra input fields: x-amz-meta-note")
        # x-ignore-* needs no condition
        f = v4_form(self.ak, self.sk, self.b, [{"key": "extra"}],
                    {"key": "extra", "x-ignore-me": "1"})
        self.assertEqual(post(self.b, f).status_code, 204)

    def test_expired_policy(self):
        f = v4_form(self.ak, self.sk, self.b, [{"key": "late"}], {"key": "late"}, expire_s=-10)
        self.assertPostError(post(self.b, f), 403, "AccessDenied",
                             "Invalid according to Policy: Policy expired.")

    def test_malformed_policy(self):
        for doc in ('{"conditions": []}', "not json", '{"expiration": "tomorrow", '
                    '"conditions": []}', json.dumps({"expiration": iso(utcnow()), "conditions":
                                                     [["starts-with", "$bucket", ""]]})):
            f = v4_form(self.ak, self.sk, self.b, [], {"key": "bad"}, policy_doc=doc)
            self.assertPostError(post(self.b, f), 400, "InvalidPolicyDocument")

    def test_missing_key_and_bad_signature(self):
        f = v4_form(self.ak, self.sk, self.b, [], {})
        self.assertPostError(post(self.b, f), 400, "InvalidArgument")
        f = v4_form(self.ak, "wrong" + self.sk, self.b, [{"key": "k"}], {"key": "k"})
        self.assertPostError(post(self.b, f), 403, "SignatureDoesNotMatch")
        f = v4_form("AKIANOSUCHKEY0000000", self.sk, self.b, [{"key": "k"}], {"key": "k"})
        self.assertPostError(post(self.b, f), 403, "InvalidAccessKeyId")

    def test_unsupported_fields_refused(self):
        for name, value in (("x-amz-server-side-encryption", "AES256"),
                            ("x-amz-object-lock-mode", "GOVERNANCE")):
            f = v4_form(self.ak, self.sk, self.b, [{"key": "nope"}, [
                "starts-with", "$" + name, ""]], {"key": "nope", name: value})
            r = post(self.b, f)
            self.assertPostError(r, 501, "NotImplemented")
            self.assertIn(name, err(r)[1])
        # tagging is kept (test_tagging.py), so a document S3 would refuse is refused
        f = v4_form(self.ak, self.sk, self.b, [{"key": "nope"}, ["starts-with", "$tagging", ""]],
                    {"key": "nope", "tagging": "<Tagging/>"})
        self.assertPostError(post(self.b, f), 400, "MalformedXML")
        self.assertStatus(404, self.c.head_object, Bucket=self.b, Key="nope")

    def test_acl_field(self):
        f = v4_form(self.ak, self.sk, self.b, [{"key": "acl"}, {"acl": "public-read"}],
                    {"key": "acl", "acl": "public-read"})
        # BucketOwnerEnforced (the default): only the owner's full control.
        self.assertPostError(post(self.b, f), 400, "AccessControlListNotSupported")
        f = v4_form(self.ak, self.sk, self.b, [{"key": "acl"}, {"acl": "bucket-owner-full-control"}],
                    {"key": "acl", "acl": "bucket-owner-full-control"})
        self.assertEqual(post(self.b, f).status_code, 204)

    def test_form_errors(self):
        r = requests.post(url_for(self.b), data=b"key=x", timeout=30,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertPostError(r, 412, "PreconditionFailed")
        r = requests.post(url_for(self.b), data=b"--b\r\nnonsense", timeout=30,
                          headers={"Content-Type": "multipart/form-data; boundary=b"})
        self.assertPostError(r, 400, "MalformedPOSTRequest")
        f = v4_form(self.ak, self.sk, self.b, [{"key": "nofile"}], {"key": "nofile"})
        r = requests.post(url_for(self.b), files={k: (None, v) for k, v in f.items()}, timeout=30)
        self.assertPostError(r, 400, "IncorrectNumberOfFilesInPostRequest")
        big = {"key": "big", "x-ignore-pad": "p" * (21 * 1024)}
        f = v4_form(self.ak, self.sk, self.b, [{"key": "big"}], big)
        self.assertPostError(post(self.b, f), 400, "MaxPostPreDataLengthExceededError")
        r = requests.post(url_for(self.b) + "?uploads", data=b"", timeout=30)
        self.assertEqual(r.status_code, 501, r.content)

    def test_duplicate_and_case_insensitive_fields(self):
        f = v4_form(self.ak, self.sk, self.b, [{"key": "dup"}, {"x-amz-meta-tag": "a,b"}], {})
        fields = list(f.items()) + [("KEY", "dup"), ("X-Amz-Meta-Tag", "a"),
                                    ("x-amz-meta-tag", "b")]
        r = requests.post(url_for(self.b), data=fields,
                          files={"file": ("f", b"d")}, timeout=30)
        self.assertEqual(r.status_code, 204, r.content)
        self.assertEqual(self.c.head_object(Bucket=self.b, Key="dup")["Metadata"], {"tag": "a,b"})

    def test_large_file_streamed(self):
        data = os.urandom(50 * 1024 * 1024)
        f = v4_form(self.ak, self.sk, self.b,
                    [{"key": "large"}, ["content-length-range", 0, 100 * 1024 * 1024]],
                    {"key": "large"})
        r = post(self.b, f, data)
        self.assertEqual(r.status_code, 204, r.content)
        self.assertEqual(r.headers["ETag"], '"%s"' % hashlib.md5(data).hexdigest())
        h = self.c.head_object(Bucket=self.b, Key="large")
        self.assertEqual(h["ContentLength"], len(data))
        self.assertEqual(hashlib.md5(self.body("large")).hexdigest(), hashlib.md5(data).hexdigest())


class TestPostAuthorization(PostCase):
    def test_anonymous_needs_a_public_bucket_policy(self):
        form = {"key": "anon/obj"}
        self.assertPostError(post(self.b, form), 403, "AccessDenied")
        b = bucket_name("post-pub")
        self.c.create_bucket(Bucket=b)
        try:
            # New buckets block public policies: lift that first.
            self.c.delete_public_access_block(Bucket=b)
            pol = {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": "*", "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::%s/anon/*" % b,
                "Condition": {"StringEquals": {"s3:authType": "POST"}}}]}
            self.c.put_bucket_policy(Bucket=b, Policy=json.dumps(pol))
            r = post(b, form, b"from anyone")
            self.assertEqual(r.status_code, 204, r.content)
            self.assertEqual(self.body("anon/obj", b), b"from anyone")
            self.assertPostError(post(b, {"key": "other/obj"}), 403, "AccessDenied")
            # A signed PUT is REST-HEADER, not POST: anonymous PUT stays refused.
            r = requests.put("%s/%s/anon/put" % (lib.env().http, b), data=b"x", timeout=30)
            self.assertEqual(r.status_code, 403, r.content)
        finally:
            lib.delete_bucket(self.c, b)

    def test_iam_user_needs_put_object(self):
        iam = svc_client("iam", self.ak, self.sk)
        name = "post-" + rand_suffix(6)
        iam.create_user(UserName=name)
        k = iam.create_access_key(UserName=name)["AccessKey"]
        ak, sk = k["AccessKeyId"], k["SecretAccessKey"]
        res = "arn:aws:s3:::%s/*" % self.b
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": res}]}))
        f = v4_form(ak, sk, self.b, [{"key": "iam/obj"}], {"key": "iam/obj"})
        self.assertPostError(post(self.b, f), 403, "AccessDenied")
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": res,
                           "Condition": {"StringEquals": {"s3:authType": "POST"}}}]}))
        self.assertEqual(post(self.b, f, b"by user").status_code, 204)
        self.assertEqual(self.body("iam/obj"), b"by user")

    def iam_user(self, statements):
        iam = svc_client("iam", self.ak, self.sk)
        name = "post-" + rand_suffix(6)
        iam.create_user(UserName=name)
        k = iam.create_access_key(UserName=name)["AccessKey"]
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": statements}))
        return k["AccessKeyId"], k["SecretAccessKey"]

    def test_acl_field_is_the_x_amz_acl_key(self):
        ak, sk = self.iam_user([{
            "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::%s/*" % self.b,
            "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}])
        acl = "bucket-owner-full-control"
        f = v4_form(ak, sk, self.b, [{"key": "aclkey"}, {"acl": acl}], {"key": "aclkey", "acl": acl})
        self.assertEqual(post(self.b, f).status_code, 204)
        f = v4_form(ak, sk, self.b, [{"key": "aclkey"}], {"key": "aclkey"})
        self.assertPostError(post(self.b, f), 403, "AccessDenied")

    def test_session_credentials(self):
        ak, sk = self.iam_user([{"Effect": "Allow", "Action": "s3:PutObject",
                                 "Resource": "arn:aws:s3:::%s/*" % self.b}])
        cr = svc_client("sts", ak, sk).get_session_token(DurationSeconds=900)["Credentials"]
        sak, ssk, tok = cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"]
        f = v4_form(sak, ssk, self.b, [{"key": "sess"}], {"key": "sess"}, token=tok)
        self.assertEqual(post(self.b, f, b"s").status_code, 204)
        self.assertEqual(self.body("sess"), b"s")
        f = v4_form(sak, ssk, self.b, [{"key": "sess"}], {"key": "sess"}, token=tok[:-4] + "AAAA")
        self.assertPostError(post(self.b, f), 400, "InvalidToken")
        f = v4_form(sak, ssk, self.b, [{"key": "sess"}], {"key": "sess"})
        self.assertPostError(post(self.b, f), 403, "InvalidAccessKeyId")

    def test_acl_field_stored_with_acls_enabled(self):
        b = bucket_name("post-acl")
        self.c.create_bucket(Bucket=b, ObjectOwnership="ObjectWriter")
        try:
            self.c.delete_public_access_block(Bucket=b)
            f = v4_form(self.ak, self.sk, b, [{"key": "pub"}, {"acl": "public-read"}],
                        {"key": "pub", "acl": "public-read"})
            self.assertEqual(post(b, f, b"for all").status_code, 204)
            grants = {(g["Grantee"].get("URI") or g["Grantee"].get("ID"), g["Permission"])
                      for g in self.c.get_object_acl(Bucket=b, Key="pub")["Grants"]}
            self.assertIn(("http://acs.amazonaws.com/groups/global/AllUsers", "READ"), grants)
            r = requests.get("%s/%s/pub" % (lib.env().http, b), timeout=30)
            self.assertEqual((r.status_code, r.content), (200, b"for all"))
            # An unknown canned ACL: refused as x-amz-acl would be.
            f = v4_form(self.ak, self.sk, b, [{"key": "bad"}, {"acl": "everyone"}],
                        {"key": "bad", "acl": "everyone"})
            self.assertPostError(post(b, f), 400, "InvalidArgument")
        finally:
            lib.delete_bucket(self.c, b)

    def test_virtual_hosted(self):
        e = lib.env()
        url = "http://%s.%s:%d/" % (self.b, e.domain, e.http_port)
        f = v4_form(self.ak, self.sk, self.b, [{"key": "vh/obj"}, {"success_action_status": "201"}],
                    {"key": "vh/obj", "success_action_status": "201"})
        r = requests.post(url, data=list(f.items()), files={"file": ("f", b"vhost")}, timeout=30)
        self.assertEqual(r.status_code, 201, r.content)
        root = ET.fromstring(r.content)
        self.assertEqual(root.findtext("Location"),
                         "http://%s.%s:%d/vh/obj" % (self.b, e.domain, e.http_port))
        self.assertEqual(self.body("vh/obj"), b"vhost")
