"""Conformance bugs found by an S3 conformance suite and by hand (issue 14), each with the
request that showed it: SigV2-signed bucket-level requests, a retried
CompleteMultipartUpload, metadata values that must round-trip byte for byte, the 416 error
document."""

import unittest

import boto3
from botocore.config import Config

import lib
from lib import E2ETestCase, bucket_name, client, delete_bucket, env


def sigv2_client(addressing="path"):
    e = env()
    return boto3.session.Session().client(
        "s3", endpoint_url=e.http, aws_access_key_id=e.ak, aws_secret_access_key=e.sk,
        region_name=lib.REGION,
        config=Config(signature_version="s3", s3={"addressing_style": addressing},
                      retries={"max_attempts": 1}))


class SigV2Test(E2ETestCase):
    """botocore's SigV2 (HmacV1) signs a bucket-only path-style request as "/bucket/", the
    resource S3 computes; Coffer computed "/bucket" and answered SignatureDoesNotMatch."""

    def run_bucket_ops(self, c):
        b = bucket_name("v2")
        c.create_bucket(Bucket=b)
        try:
            c.head_bucket(Bucket=b)
            c.put_object(Bucket=b, Key="dir/k", Body=b"v2 body")
            self.assertEqual([o["Key"] for o in c.list_objects(Bucket=b)["Contents"]],
                             ["dir/k"])
            self.assertEqual(c.list_objects_v2(Bucket=b, Prefix="dir/")["KeyCount"], 1)
            self.assertEqual(c.get_object(Bucket=b, Key="dir/k")["Body"].read(), b"v2 body")
            self.assertEqual(c.get_bucket_location(Bucket=b).get("LocationConstraint"), None)
            c.delete_object(Bucket=b, Key="dir/k")
        finally:
            c.delete_bucket(Bucket=b)
        self.assertStatus(404, c.head_bucket, Bucket=b)

    def test_path_style(self):
        self.run_bucket_ops(sigv2_client("path"))

    def test_virtual_hosted(self):
        self.run_bucket_ops(sigv2_client("virtual"))

    def test_wrong_secret_still_refused(self):
        e = env()
        c = boto3.session.Session().client(
            "s3", endpoint_url=e.http, aws_access_key_id=e.ak, aws_secret_access_key="wrong",
            region_name=lib.REGION,
            config=Config(signature_version="s3", s3={"addressing_style": "path"},
                          retries={"max_attempts": 1}))
        self.assertS3Error("SignatureDoesNotMatch", 403, c.list_objects,
                           Bucket=bucket_name("nope"))


class ObjectBugsTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls.bucket = bucket_name("conf")
        cls.c.create_bucket(Bucket=cls.bucket)

    @classmethod
    def tearDownClass(cls):
        delete_bucket(cls.c, cls.bucket)

    def test_stored_header_values_round_trip_byte_for_byte(self):
        """Content-Encoding "deflate, gzip" came back as "deflate,gzip"."""
        self.c.put_object(Bucket=self.bucket, Key="enc", Body=b"x",
                          ContentEncoding="deflate, gzip", CacheControl="no-cache,  max-age=0",
                          ContentDisposition='attachment; filename="a, b.txt"',
                          Metadata={"list": "a, b,c"})
        for r in (self.c.head_object(Bucket=self.bucket, Key="enc"),
                  self.c.get_object(Bucket=self.bucket, Key="enc")):
            self.assertEqual(r["ContentEncoding"], "deflate, gzip")
            self.assertEqual(r["CacheControl"], "no-cache,  max-age=0")
            self.assertEqual(r["ContentDisposition"], 'attachment; filename="a, b.txt"')
            self.assertEqual(r["Metadata"], {"list": "a, b,c"})

    def test_aws_chunked_still_dropped(self):
        r = lib.signed_request("PUT", "/%s/chunked" % self.bucket, body=b"abc",
                               headers={"Content-Encoding": "aws-chunked, gzip"})
        self.assertEqual(r.status, 200, r.body)
        h = self.c.head_object(Bucket=self.bucket, Key="chunked")
        self.assertEqual(h["ContentEncoding"], "gzip")

    def test_416_names_the_range_requested(self):
        self.c.put_object(Bucket=self.bucket, Key="ten", Body=b"0123456789")
        r = lib.signed_request("GET", "/%s/ten" % self.bucket, headers={"Range": "bytes=20-30"})
        self.assertEqual(r.status, 416)
        self.assertIn(b"<Code>InvalidRange</Code>", r.body)
        self.assertIn(b"<RangeRequested>bytes=20-30</RangeRequested>", r.body)
        self.assertIn(b"<ActualObjectSize>10</ActualObjectSize>", r.body)
        self.assertEqual(r.header("Content-Range"), "bytes */10")


class CopyDestinationConditionTest(E2ETestCase):
    """CopyObject's own If-Match / If-None-Match: * are about the destination, checked in
    the writing transaction as for PutObject; they were accepted and ignored."""

    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls.bucket = bucket_name("copycond")
        cls.c.create_bucket(Bucket=cls.bucket)
        cls.c.put_object(Bucket=cls.bucket, Key="src", Body=b"source")

    @classmethod
    def tearDownClass(cls):
        delete_bucket(cls.c, cls.bucket)

    def copy(self, key, **kw):
        return self.c.copy_object(Bucket=self.bucket, Key=key,
                                  CopySource={"Bucket": self.bucket, "Key": "src"}, **kw)

    def body(self, key):
        return self.c.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def test_if_none_match_star(self):
        self.copy("new1", IfNoneMatch="*")
        self.assertEqual(self.body("new1"), b"source")
        self.c.put_object(Bucket=self.bucket, Key="taken", Body=b"mine")
        self.assertS3Error("PreconditionFailed", 412, self.copy, "taken", IfNoneMatch="*")
        self.assertEqual(self.body("taken"), b"mine")

    def test_if_match(self):
        e = self.c.put_object(Bucket=self.bucket, Key="dst", Body=b"old")["ETag"]
        self.assertS3Error("PreconditionFailed", 412, self.copy, "dst",
                           IfMatch='"0123456789abcdef0123456789abcdef"')
        self.assertEqual(self.body("dst"), b"old")
        self.copy("dst", IfMatch=e)
        self.assertEqual(self.body("dst"), b"source")
        self.assertS3Error("NoSuchKey", 404, self.copy, "absent", IfMatch=e)

    def test_if_none_match_etag_not_implemented(self):
        self.assertS3Error("NotImplemented", 501, self.copy, "x", IfNoneMatch='"abc"')


class CompleteRetryTest(E2ETestCase):
    """A CompleteMultipartUpload sent again after it succeeded (the client never saw the
    answer) gets the same success, as on S3; it was 404 NoSuchUpload."""

    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls.bucket = bucket_name("retry")
        cls.c.create_bucket(Bucket=cls.bucket)

    @classmethod
    def tearDownClass(cls):
        delete_bucket(cls.c, cls.bucket)

    def upload(self, key, n=2):
        uid = self.c.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        parts = []
        for i in range(1, n + 1):
            body = bytes([i]) * (5 * 1024 * 1024 if i < n else 10)
            e = self.c.upload_part(Bucket=self.bucket, Key=key, UploadId=uid, PartNumber=i,
                                   Body=body)["ETag"]
            parts.append({"PartNumber": i, "ETag": e})
        return uid, parts

    def complete(self, key, uid, parts):
        return self.c.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=uid,
                                                MultipartUpload={"Parts": parts})

    def test_retry_answers_the_same_success(self):
        uid, parts = self.upload("k")
        first = self.complete("k", uid, parts)
        again = self.complete("k", uid, parts)
        for f in ("ETag", "Bucket", "Key", "Location"):
            self.assertEqual(again[f], first[f])
        self.assertNotIn("VersionId", again)
        self.assertEqual(self.c.head_object(Bucket=self.bucket, Key="k")["ETag"], first["ETag"])

    def test_retry_on_versioned_bucket_names_the_version(self):
        b = bucket_name("retryv")
        self.c.create_bucket(Bucket=b)
        self.c.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        try:
            uid = self.c.create_multipart_upload(Bucket=b, Key="v")["UploadId"]
            e = self.c.upload_part(Bucket=b, Key="v", UploadId=uid, PartNumber=1,
                                   Body=b"one")["ETag"]
            mpu = {"Parts": [{"PartNumber": 1, "ETag": e}]}
            first = self.c.complete_multipart_upload(Bucket=b, Key="v", UploadId=uid,
                                                     MultipartUpload=mpu)
            self.c.put_object(Bucket=b, Key="v", Body=b"newer")
            again = self.c.complete_multipart_upload(Bucket=b, Key="v", UploadId=uid,
                                                     MultipartUpload=mpu)
            self.assertEqual(again["VersionId"], first["VersionId"])
            self.assertEqual(again["ETag"], first["ETag"])
        finally:
            delete_bucket(self.c, b)

    def test_other_parts_or_key_or_deleted_version_no_such_upload(self):
        uid, parts = self.upload("k2", 3)
        self.complete("k2", uid, parts[:1] + parts[2:])
        self.assertS3Error("NoSuchUpload", 404, self.complete, "k2", uid, parts)
        self.assertS3Error("NoSuchUpload", 404, self.complete, "other", uid,
                           parts[:1] + parts[2:])
        self.assertEqual(self.complete("k2", uid, parts[:1] + parts[2:])["Key"], "k2")
        self.c.delete_object(Bucket=self.bucket, Key="k2")
        self.assertS3Error("NoSuchUpload", 404, self.complete, "k2", uid, parts[:1] + parts[2:])

    def test_aborted_upload_stays_no_such_upload(self):
        uid, parts = self.upload("k3", 1)
        self.c.abort_multipart_upload(Bucket=self.bucket, Key="k3", UploadId=uid)
        self.assertS3Error("NoSuchUpload", 404, self.complete, "k3", uid, parts)


class LifecycleIdTest(E2ETestCase):
    """A rule sent without an ID is stored with one that S3 generated; IDs sent are kept."""

    def test_generated_rule_id(self):
        c = client()
        b = bucket_name("lcid")
        c.create_bucket(Bucket=b)
        try:
            c.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
                {"Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 1}},
                {"ID": "mine", "Filter": {"Prefix": "old/"}, "Status": "Enabled",
                 "Expiration": {"Days": 30}}]})
            rules = c.get_bucket_lifecycle_configuration(Bucket=b)["Rules"]
            self.assertEqual(len(rules), 2)
            gen = rules[0]["ID"]
            self.assertTrue(gen and len(gen) <= 255, gen)
            self.assertEqual(rules[0]["Filter"], {"Prefix": "tmp/"})
            self.assertEqual(rules[0]["Expiration"], {"Days": 1})
            self.assertEqual(rules[1]["ID"], "mine")
            # Stored, not made up per read.
            self.assertEqual(c.get_bucket_lifecycle_configuration(Bucket=b)["Rules"][0]["ID"],
                             gen)
            # Each rule without an ID gets its own.
            c.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
                {"Filter": {"Prefix": p}, "Status": "Enabled", "Expiration": {"Days": 1}}
                for p in ("a/", "b/")]})
            ids = [r["ID"] for r in c.get_bucket_lifecycle_configuration(Bucket=b)["Rules"]]
            self.assertEqual(len(set(ids)), 2)
            self.assertNotIn(gen, ids)
        finally:
            c.delete_bucket_lifecycle(Bucket=b)
            c.delete_bucket(Bucket=b)


if __name__ == "__main__":
    unittest.main()
