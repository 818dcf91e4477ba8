"""Authentication and ownership: SigV4 header and query auth failures, anonymous requests,
clock skew, payload hash mismatch, and a second account's view of the first's resources."""

import hashlib
import unittest
import urllib.error
import urllib.request

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from lib import (E2ETestCase, amz_now, bucket_name, client, delete_bucket, env, other_client,
                 presign, send, sign, signed_request)


class SignerSelfTest(E2ETestCase):
    """The raw-request signer in lib.py agrees with botocore's (so raw tests test the server)."""

    def test_lib_signer_matches_botocore(self):
        e = env()
        amz_date = "20240102T030405Z"
        body = b"hello"
        host = "127.0.0.1:%d" % e.http_port
        path = "/bkt/some key/ü+x"
        ours = sign("PUT", path, [("a", "1"), ("b", None)], {"Content-Type": "text/plain"},
                    body, host=host, amz_date=amz_date, ak="AKIDEXAMPLE", sk="secret")
        req = AWSRequest(method="PUT", url="http://%s%s?a=1&b=" % (
            host, "/bkt/some%20key/%C3%BC%2Bx"), data=body,
            headers={"Content-Type": "text/plain", "X-Amz-Date": amz_date, "Host": host,
                     "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
        req.context["timestamp"] = amz_date
        auth = S3SigV4Auth(Credentials("AKIDEXAMPLE", "secret"), "s3", "us-east-1")
        canonical = auth.canonical_request(req)
        theirs = auth.signature(auth.string_to_sign(req, canonical), req)
        self.assertEqual(ours.signature, theirs, canonical)
        self.assertIn("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date",
                      ours.headers["Authorization"])

class SigV4FailureTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls.b = bucket_name("auth")
        cls.c.create_bucket(Bucket=cls.b)
        cls.c.put_object(Bucket=cls.b, Key="obj", Body=b"secret data")

    @classmethod
    def tearDownClass(cls):
        delete_bucket(cls.c, cls.b)

    def test_wrong_secret_signature_does_not_match(self):
        c = client(sk="x" * 40)
        self.assertS3Error("SignatureDoesNotMatch", 403, c.get_object, Bucket=self.b, Key="obj")
        self.assertS3Error("SignatureDoesNotMatch", 403, c.list_buckets)
        self.assertS3Error("SignatureDoesNotMatch", 403, c.put_object, Bucket=self.b,
                           Key="obj", Body=b"overwrite")
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="obj")["Body"].read(),
                         b"secret data")

    def test_wrong_secret_over_https(self):
        c = client(sk="x" * 40, https=True)
        self.assertS3Error("SignatureDoesNotMatch", 403, c.put_object, Bucket=self.b,
                           Key="obj", Body=b"overwrite")

    def test_unknown_access_key(self):
        c = client(ak="AKIAUNKNOWNUNKNOWN00", sk="x" * 40)
        self.assertS3Error("InvalidAccessKeyId", 403, c.get_object, Bucket=self.b, Key="obj")
        self.assertS3Error("InvalidAccessKeyId", 403, c.list_buckets)

    def test_anonymous_get_access_denied(self):
        r = send("GET", "/%s/obj" % self.b)
        self.assertRawError(r, 403, "AccessDenied")
        self.assertNotIn(b"secret data", r.body)

    def test_anonymous_list_and_put_access_denied(self):
        self.assertRawError(send("GET", "/%s" % self.b), 403, "AccessDenied")
        self.assertRawError(send("GET", "/"), 403, "AccessDenied")
        self.assertRawError(send("PUT", "/%s/anon" % self.b, body=b"x"), 403, "AccessDenied")
        self.assertS3Error("NoSuchKey", 404, self.c.get_object, Bucket=self.b, Key="anon")

    def test_tampered_signature_header(self):
        s = sign("GET", "/%s/obj" % self.b)
        sig = s.headers["Authorization"]
        s.headers["Authorization"] = sig[:-1] + ("0" if sig[-1] != "0" else "1")
        from lib import send_signed
        self.assertRawError(send_signed(s), 403, "SignatureDoesNotMatch")

    def test_signed_header_changed_after_signing(self):
        s = sign("PUT", "/%s/t" % self.b, headers={"Content-Type": "text/plain"}, body=b"b")
        s.headers["Content-Type"] = "text/html"
        from lib import send_signed
        self.assertRawError(send_signed(s), 403, "SignatureDoesNotMatch")

    def test_path_changed_after_signing(self):
        s = sign("GET", "/%s/obj" % self.b)
        from lib import send
        r = send("GET", "/%s/obj2" % self.b, s.headers)
        self.assertRawError(r, 403, "SignatureDoesNotMatch")

    def test_payload_hash_mismatch(self):
        s = sign("PUT", "/%s/ph" % self.b, body=b"the body",
                 payload_hash=hashlib.sha256(b"other body").hexdigest())
        from lib import send_signed
        self.assertRawError(send_signed(s), 400, "XAmzContentSHA256Mismatch")
        self.assertS3Error("NoSuchKey", 404, self.c.get_object, Bucket=self.b, Key="ph")

    def test_invalid_payload_hash_value(self):
        r = signed_request("PUT", "/%s/ph2" % self.b, body=b"x", payload_hash="not-a-hash")
        self.assertRawError(r, 400, "InvalidArgument")

    def test_missing_content_sha256(self):
        s = sign("GET", "/%s/obj" % self.b)
        # drop the header after signing: the signature covers it, and S3 requires it
        h = {k: v for k, v in s.headers.items() if k.lower() != "x-amz-content-sha256"}
        r = send("GET", s.target, h)
        self.assertEqual(r.status, 400 if r.error()[0] != "SignatureDoesNotMatch" else 403,
                         repr(r))
        self.assertTrue(r.error()[0], repr(r))

    def test_clock_skew(self):
        r = signed_request("GET", "/%s/obj" % self.b, amz_date=amz_now(-3600))
        self.assertRawError(r, 403, "RequestTimeTooSkewed")
        r = signed_request("GET", "/%s/obj" % self.b, amz_date=amz_now(+3600))
        self.assertRawError(r, 403, "RequestTimeTooSkewed")

    def test_small_skew_accepted(self):
        r = signed_request("GET", "/%s/obj" % self.b, amz_date=amz_now(-300))
        self.assertRawOK(r)

    def test_wrong_region_in_scope(self):
        r = signed_request("GET", "/%s/obj" % self.b, region="eu-west-1")
        self.assertRawError(r, 400, "AuthorizationHeaderMalformed")

    def test_garbage_authorization_header(self):
        for auth in ("AWS4-HMAC-SHA256 garbage", "AWS4-HMAC-SHA256 Credential=x",
                     "Bearer abc", "AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, "
                     "Signature=zz"):
            with self.subTest(auth=auth):
                r = send("GET", "/%s/obj" % self.b, {"Authorization": auth,
                                                    "x-amz-date": amz_now(),
                                                    "x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
                self.assertIn(r.status, (400, 403), repr(r))
                self.assertTrue(r.error()[0], repr(r))
                self.assertTrue(r.header("x-amz-request-id"))
                self.assertNotIn(b"secret data", r.body)

    # --- presigned URLs

    def fetch(self, path_and_query, method="GET", data=None):
        req = urllib.request.Request(env().http + path_and_query, method=method, data=data)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read(), dict(r.getheaders())
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers.items())

    def test_presigned_valid(self):
        st, body, _ = self.fetch(presign("GET", "/%s/obj" % self.b))
        self.assertEqual((st, body), (200, b"secret data"))

    def test_presigned_expired_access_denied(self):
        # signed an hour ago, valid for 60 s
        path = presign("GET", "/%s/obj" % self.b, expires=60, amz_date=amz_now(-3600))
        st, body, h = self.fetch(path)
        from lib import parse_error
        self.assertEqual((st, parse_error(body)[0]), (403, "AccessDenied"), body)
        self.assertTrue(parse_error(body)[1])
        self.assertNotIn(b"secret data", body)

    def test_presigned_boto3_expired(self):
        import time
        url = self.c.generate_presigned_url("get_object", Params={"Bucket": self.b,
                                                                  "Key": "obj"}, ExpiresIn=1)
        time.sleep(2.1)
        try:
            urllib.request.urlopen(url, timeout=30)
            self.fail("expired URL accepted")
        except urllib.error.HTTPError as e:
            from lib import parse_error
            self.assertEqual((e.code, parse_error(e.read())[0]), (403, "AccessDenied"))

    def test_presigned_tampered_signature(self):
        path = presign("GET", "/%s/obj" % self.b)
        sig = path[-64:]
        bad = path[:-64] + ("0" if sig[0] != "0" else "1") + sig[1:]
        st, body, _ = self.fetch(bad)
        from lib import parse_error
        self.assertEqual((st, parse_error(body)[0]), (403, "SignatureDoesNotMatch"), body)

    def test_presigned_tampered_key(self):
        path = presign("GET", "/%s/obj" % self.b)
        st, body, _ = self.fetch(path.replace("/obj?", "/ob2?"))
        from lib import parse_error
        self.assertEqual((st, parse_error(body)[0]), (403, "SignatureDoesNotMatch"), body)

    def test_presigned_tampered_expires(self):
        path = presign("GET", "/%s/obj" % self.b, expires=60)
        st, body, _ = self.fetch(path.replace("X-Amz-Expires=60", "X-Amz-Expires=600"))
        from lib import parse_error
        self.assertEqual((st, parse_error(body)[0]), (403, "SignatureDoesNotMatch"), body)

    def test_presigned_expires_too_large(self):
        path = presign("GET", "/%s/obj" % self.b, expires=604801)
        st, body, _ = self.fetch(path)
        from lib import parse_error
        self.assertEqual((st, parse_error(body)[0]), (400, "AuthorizationQueryParametersError"),
                         body)

    def test_presigned_wrong_secret(self):
        path = presign("GET", "/%s/obj" % self.b, sk="y" * 40)
        st, body, _ = self.fetch(path)
        from lib import parse_error
        self.assertEqual((st, parse_error(body)[0]), (403, "SignatureDoesNotMatch"), body)

    def test_presigned_unknown_key(self):
        path = presign("GET", "/%s/obj" % self.b, ak="AKIAUNKNOWNUNKNOWN00")
        st, body, _ = self.fetch(path)
        from lib import parse_error
        self.assertEqual((st, parse_error(body)[0]), (403, "InvalidAccessKeyId"), body)


class OwnershipTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls.o = other_client()
        cls.b = bucket_name("mine")
        cls.c.create_bucket(Bucket=cls.b)
        cls.c.put_object(Bucket=cls.b, Key="private", Body=b"mine")

    @classmethod
    def tearDownClass(cls):
        delete_bucket(cls.c, cls.b)

    def test_new_account_works_without_restart(self):
        b = bucket_name("other")
        self.o.create_bucket(Bucket=b)
        try:
            self.o.put_object(Bucket=b, Key="k", Body=b"theirs")
            self.assertEqual(self.o.get_object(Bucket=b, Key="k")["Body"].read(), b"theirs")
            # and the first account cannot read it
            self.assertS3Error("AccessDenied", 403, self.c.get_object, Bucket=b, Key="k")
        finally:
            delete_bucket(self.o, b)

    def test_other_list_buckets_hides_mine(self):
        names = [x["Name"] for x in self.o.list_buckets()["Buckets"]]
        self.assertNotIn(self.b, names)

    def test_other_get_object_denied(self):
        self.assertS3Error("AccessDenied", 403, self.o.get_object, Bucket=self.b, Key="private")
        self.assertS3Error("403", 403, self.o.head_object, Bucket=self.b, Key="private",
                           head=True)

    def test_other_get_missing_object_denied_not_404(self):
        # no existence oracle for other accounts' buckets
        self.assertS3Error("AccessDenied", 403, self.o.get_object, Bucket=self.b, Key="nope")

    def test_other_put_object_denied(self):
        self.assertS3Error("AccessDenied", 403, self.o.put_object, Bucket=self.b,
                           Key="private", Body=b"overwrite")
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="private")["Body"].read(), b"mine")

    def test_other_delete_object_denied(self):
        self.assertS3Error("AccessDenied", 403, self.o.delete_object, Bucket=self.b,
                           Key="private")
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="private")["Body"].read(), b"mine")

    def test_other_delete_objects_denied(self):
        # Each key is authorized as its own DeleteObject [spec-authorization §3.2, decision]:
        # 200 with the key refused.
        r = self.o.delete_objects(Bucket=self.b, Delete={"Objects": [{"Key": "private"}]})
        self.assertEqual([(e["Key"], e["Code"]) for e in r.get("Errors", [])],
                         [("private", "AccessDenied")])
        self.assertNotIn("Deleted", r)
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="private")["Body"].read(), b"mine")

    def test_other_list_objects_denied(self):
        self.assertS3Error("AccessDenied", 403, self.o.list_objects_v2, Bucket=self.b)
        self.assertS3Error("AccessDenied", 403, self.o.list_objects, Bucket=self.b)

    def test_other_delete_bucket_denied(self):
        self.assertS3Error("AccessDenied", 403, self.o.delete_bucket, Bucket=self.b)
        self.c.head_bucket(Bucket=self.b)

    def test_other_get_bucket_location_denied(self):
        self.assertS3Error("AccessDenied", 403, self.o.get_bucket_location, Bucket=self.b)

    def test_other_copy_from_my_bucket_denied(self):
        b = bucket_name("othercp")
        self.o.create_bucket(Bucket=b)
        try:
            self.assertS3Error("AccessDenied", 403, self.o.copy_object, Bucket=b, Key="stolen",
                               CopySource={"Bucket": self.b, "Key": "private"})
            self.assertS3Error("NoSuchKey", 404, self.o.get_object, Bucket=b, Key="stolen")
        finally:
            delete_bucket(self.o, b)

    def test_other_copy_into_my_bucket_denied(self):
        b = bucket_name("othercp2")
        self.o.create_bucket(Bucket=b)
        try:
            self.o.put_object(Bucket=b, Key="x", Body=b"x")
            self.assertS3Error("AccessDenied", 403, self.o.copy_object, Bucket=self.b,
                               Key="private", CopySource={"Bucket": b, "Key": "x"})
            self.assertEqual(self.c.get_object(Bucket=self.b, Key="private")["Body"].read(),
                             b"mine")
        finally:
            delete_bucket(self.o, b)

    def test_other_presigned_url_denied(self):
        o = env().second_account()
        path = presign("GET", "/%s/private" % self.b, ak=o["access_key_id"],
                       sk=o["secret_access_key"])
        try:
            urllib.request.urlopen(env().http + path, timeout=30)
            self.fail("other account's presigned URL read my object")
        except urllib.error.HTTPError as e:
            from lib import parse_error
            self.assertEqual((e.code, parse_error(e.read())[0]), (403, "AccessDenied"))


if __name__ == "__main__":
    unittest.main()
