"""Bucket operations: ListBuckets, CreateBucket (name rules, LocationConstraint, re-create),
HeadBucket, DeleteBucket, GetBucketLocation, over HTTP/HTTPS and path/virtual addressing."""

import datetime
import unittest

import boto3
from botocore.config import Config

from lib import (E2ETestCase, Server, bucket_name, client, delete_bucket, env, other_client,
                 signed_request, vhost_client)

CREATE_EU = (b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
             b'<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>')


class BucketTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls.made = []

    @classmethod
    def tearDownClass(cls):
        for b in cls.made:
            delete_bucket(cls.c, b)

    def new_bucket(self, tag="b", c=None):
        b = bucket_name(tag)
        (c or self.c).create_bucket(Bucket=b)
        self.made.append(b)
        return b

    # --- ListBuckets / CreateBucket

    def test_create_then_listed_with_creation_date_and_owner(self):
        before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
        b = bucket_name("list")
        r = self.c.create_bucket(Bucket=b)
        self.made.append(b)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        lst = self.c.list_buckets()
        names = {x["Name"]: x for x in lst["Buckets"]}
        self.assertIn(b, names)
        self.assertGreater(names[b]["CreationDate"], before)
        self.assertTrue(lst["Owner"]["ID"])
        # the same owner ID on every listing of this account, another one for another account
        self.assertEqual(self.c.list_buckets()["Owner"]["ID"], lst["Owner"]["ID"])
        self.assertNotEqual(other_client().list_buckets()["Owner"]["ID"], lst["Owner"]["ID"])

    def test_create_location_header_is_slash_bucket(self):
        b = bucket_name("loc")
        r = self.c.create_bucket(Bucket=b)
        self.made.append(b)
        self.assertEqual(r.get("Location"), "/" + b)

    def test_list_buckets_sorted_by_name(self):
        for _ in range(3):
            self.new_bucket("sort")
        names = [x["Name"] for x in self.c.list_buckets()["Buckets"]]
        self.assertEqual(names, sorted(names))

    def check_invalid_names(self, bad):
        for name in bad:
            with self.subTest(name=name):
                self.assertS3Error("InvalidBucketName", 400, self.c.create_bucket, Bucket=name)
        listed = {x["Name"] for x in self.c.list_buckets()["Buckets"]}
        self.assertFalse(listed & set(bad))

    def test_invalid_bucket_names_rejected(self):
        self.check_invalid_names(["AB", "a", "ab", "a..b", "192.168.1.1", "a" * 64, "-ab",
                                  "ab-", "Abc", "a_b", ".ab", "ab."])

    def test_reserved_bucket_prefix_suffix_rejected(self):
        # AWS naming rules: no xn-- / sthree- prefix, no -s3alias / --ol-s3 suffix
        self.check_invalid_names(["xn--abc", "sthree-abc", "abc-s3alias", "abc--ol-s3"])

    def test_valid_edge_bucket_names_accepted(self):
        for name in ["abc", "a" * 63, "a.b.c", "1-2-3", "0ab"]:
            with self.subTest(name=name):
                r = self.c.create_bucket(Bucket=name)
                self.made.append(name)
                self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)

    def test_create_with_eu_west_1_constraint_rejected(self):
        # AWS, us-east-1 endpoint: 400 IllegalLocationConstraintException.
        b = bucket_name("eu")
        self.assertS3Error("IllegalLocationConstraintException", 400, self.c.create_bucket,
                           Bucket=b, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        self.assertS3Error("404", 404, self.c.head_bucket, Bucket=b, head=True)

    def test_create_with_us_east_1_constraint_rejected(self):
        # AWS: an explicit us-east-1 LocationConstraint is InvalidLocationConstraint.
        b = bucket_name("use1")
        self.assertS3Error("InvalidLocationConstraint", 400, self.c.create_bucket, Bucket=b,
                           CreateBucketConfiguration={"LocationConstraint": "us-east-1"})

    def test_create_with_empty_configuration_body_ok(self):
        b = bucket_name("emptycfg")
        body = b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>'
        r = signed_request("PUT", "/" + b, body=body)
        self.made.append(b)
        self.assertRawOK(r)

    def test_create_malformed_xml_body(self):
        b = bucket_name("badxml")
        r = signed_request("PUT", "/" + b, body=b"<CreateBucketConfiguration><Location")
        self.assertRawError(r, 400, "MalformedXML")
        r = signed_request("HEAD", "/" + b)
        self.assertEqual(r.status, 404)

    def test_raw_eu_west_1_body(self):
        b = bucket_name("eu2")
        r = signed_request("PUT", "/" + b, body=CREATE_EU)
        self.assertRawError(r, 400, "IllegalLocationConstraintException")

    def test_recreate_same_account_us_east_1_answers_200_and_resets_acl(self):
        """us-east-1's legacy answer: 200, and the bucket's ACL back to private."""
        b = bucket_name("own")
        self.c.create_bucket(Bucket=b, ObjectOwnership="ObjectWriter")
        self.made.append(b)
        self.c.put_object(Bucket=b, Key="k", Body=b"kept")
        other = other_client().list_buckets()["Owner"]["ID"]
        self.c.put_bucket_acl(Bucket=b, GrantRead="id=" + other)
        self.assertEqual(len(self.c.get_bucket_acl(Bucket=b)["Grants"]), 2)
        r = self.c.create_bucket(Bucket=b)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        grants = self.c.get_bucket_acl(Bucket=b)["Grants"]
        self.assertEqual([g["Permission"] for g in grants], ["FULL_CONTROL"])
        # Nothing else changed: ownership, contents.
        self.assertEqual(self.c.get_bucket_ownership_controls(Bucket=b)["OwnershipControls"]
                         ["Rules"][0]["ObjectOwnership"], "ObjectWriter")
        self.assertEqual(self.c.get_object(Bucket=b, Key="k")["Body"].read(), b"kept")
        self.c.delete_object(Bucket=b, Key="k")

    def test_recreate_same_account_with_acl_already_owned_by_you(self):
        """[decision] a re-create asking for a non-private ACL does not go through."""
        b = bucket_name("ownacl")
        self.c.create_bucket(Bucket=b, ObjectOwnership="ObjectWriter")
        self.made.append(b)
        other = other_client().list_buckets()["Owner"]["ID"]
        self.assertS3Error("BucketAlreadyOwnedByYou", 409, self.c.create_bucket, Bucket=b,
                           ObjectOwnership="ObjectWriter", GrantRead="id=" + other)
        self.assertEqual(len(self.c.get_bucket_acl(Bucket=b)["Grants"]), 1)

    def test_recreate_other_account_already_exists(self):
        b = self.new_bucket("taken")
        o = other_client()
        self.assertS3Error("BucketAlreadyExists", 409, o.create_bucket, Bucket=b)
        # the owner is unchanged: the first account still owns and lists it
        self.assertIn(b, [x["Name"] for x in self.c.list_buckets()["Buckets"]])
        self.assertNotIn(b, [x["Name"] for x in o.list_buckets()["Buckets"]])

    # --- HeadBucket

    def test_head_bucket_existing(self):
        b = self.new_bucket("head")
        r = self.c.head_bucket(Bucket=b)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(r["ResponseMetadata"]["HTTPHeaders"].get("x-amz-bucket-region"),
                         "us-east-1")

    def test_head_bucket_missing_404(self):
        self.assertS3Error("404", 404, self.c.head_bucket, Bucket=bucket_name("nope"),
                           head=True)

    def test_head_bucket_other_account_403(self):
        b = self.new_bucket("head403")
        self.assertS3Error("403", 403, other_client().head_bucket, Bucket=b, head=True)

    # --- DeleteBucket

    def test_delete_empty_bucket_204_then_gone(self):
        b = bucket_name("del")
        self.c.create_bucket(Bucket=b)
        r = self.c.delete_bucket(Bucket=b)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertNotIn(b, [x["Name"] for x in self.c.list_buckets()["Buckets"]])
        self.assertS3Error("NoSuchBucket", 404, self.c.list_objects_v2, Bucket=b)

    def test_delete_nonempty_bucket_conflict(self):
        b = self.new_bucket("full")
        self.c.put_object(Bucket=b, Key="k", Body=b"x")
        self.assertS3Error("BucketNotEmpty", 409, self.c.delete_bucket, Bucket=b)
        self.c.delete_object(Bucket=b, Key="k")
        self.assertEqual(self.c.delete_bucket(Bucket=b)["ResponseMetadata"]["HTTPStatusCode"],
                         204)

    def test_delete_missing_bucket_no_such_bucket(self):
        self.assertS3Error("NoSuchBucket", 404, self.c.delete_bucket, Bucket=bucket_name("x"))

    def test_deleted_name_can_be_recreated_by_other_account(self):
        b = bucket_name("reuse")
        self.c.create_bucket(Bucket=b)
        self.c.delete_bucket(Bucket=b)
        o = other_client()
        o.create_bucket(Bucket=b)
        try:
            self.assertIn(b, [x["Name"] for x in o.list_buckets()["Buckets"]])
        finally:
            delete_bucket(o, b)

    # --- GetBucketLocation

    def test_get_bucket_location_us_east_1_is_empty(self):
        b = self.new_bucket("where")
        r = self.c.get_bucket_location(Bucket=b)
        self.assertIsNone(r.get("LocationConstraint"))

    def test_get_bucket_location_missing(self):
        self.assertS3Error("NoSuchBucket", 404, self.c.get_bucket_location,
                           Bucket=bucket_name("x"))

    # --- transports and addressing

    def test_https_path_style_roundtrip(self):
        c = client(https=True)
        b = bucket_name("tls")
        c.create_bucket(Bucket=b)
        self.made.append(b)
        c.put_object(Bucket=b, Key="k", Body=b"over tls")
        self.assertEqual(c.get_object(Bucket=b, Key="k")["Body"].read(), b"over tls")
        self.assertIn(b, [x["Name"] for x in c.list_buckets()["Buckets"]])

    def test_virtual_hosted_style_roundtrip(self):
        c = vhost_client()
        b = bucket_name("vh")
        seen = []
        c.meta.events.register("before-send.s3.*",
                               lambda request=None, **kw: seen.append(request.url))
        c.create_bucket(Bucket=b)
        self.made.append(b)
        c.put_object(Bucket=b, Key="dir/k", Body=b"vhost")
        self.assertEqual(c.get_object(Bucket=b, Key="dir/k")["Body"].read(), b"vhost")
        keys = [o["Key"] for o in c.list_objects_v2(Bucket=b)["Contents"]]
        self.assertEqual(keys, ["dir/k"])
        self.assertTrue(all(u.split("//", 1)[1].startswith(b + ".") for u in seen), seen)
        # and it is the same bucket through path style
        self.assertEqual(self.c.get_object(Bucket=b, Key="dir/k")["Body"].read(), b"vhost")

    def test_virtual_hosted_style_raw_host_header_with_and_without_port(self):
        b = self.new_bucket("vhraw")
        self.c.put_object(Bucket=b, Key="k", Body=b"v")
        e = env()
        for host in ("%s.%s:%d" % (b, e.domain, e.http_port), "%s.%s" % (b, e.domain)):
            with self.subTest(host=host):
                r = signed_request("GET", "/k", host=host)
                self.assertRawOK(r)
                self.assertEqual(r.body, b"v")

    def test_virtual_hosted_style_over_tls_raw(self):
        b = self.new_bucket("vhtls")
        self.c.put_object(Bucket=b, Key="k", Body=b"t")
        e = env()
        r = signed_request("GET", "/k", host="%s.%s:%d" % (b, e.domain, e.tls_port), https=True)
        self.assertRawOK(r)
        self.assertEqual(r.body, b"t")


if __name__ == "__main__":
    unittest.main()


class RegionalRecreateTest(E2ETestCase):
    """Outside us-east-1 a re-create by the owner answers 409 BucketAlreadyOwnedByYou."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(tag="region", args=["--region", "eu-west-2"])
        cls.srv.start()
        acct = cls.srv.account("regional")
        cls.c = boto3.session.Session().client(
            "s3", endpoint_url=cls.srv.http, aws_access_key_id=acct["access_key_id"],
            aws_secret_access_key=acct["secret_access_key"], region_name="eu-west-2",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                          retries={"max_attempts": 1}))

    @classmethod
    def tearDownClass(cls):
        report = cls.srv.close()
        if report:
            raise AssertionError("sanitizer report in cofferd log:\n" + report)

    def test_recreate_already_owned_by_you(self):
        cfg = {"LocationConstraint": "eu-west-2"}
        self.c.create_bucket(Bucket="regional", CreateBucketConfiguration=cfg)
        self.assertS3Error("BucketAlreadyOwnedByYou", 409, self.c.create_bucket,
                           Bucket="regional", CreateBucketConfiguration=cfg)
        self.c.delete_bucket(Bucket="regional")
