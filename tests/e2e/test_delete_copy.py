"""DeleteObjects (quiet/verbose, 1000 keys, >1000, malformed XML) and CopyObject (metadata
directives, same/cross bucket, copy onto itself, conditions, missing source)."""

import concurrent.futures
import datetime
import unittest
import xml.etree.ElementTree as ET

from lib import (S3NS, E2ETestCase, bucket_name, client, delete_bucket, md5_b64, md5_hex,
                 signed_request, uri_encode)


def delete_xml(keys, quiet=False):
    parts = ['<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">']
    if quiet:
        parts.append("<Quiet>true</Quiet>")
    for k in keys:
        parts.append("<Object><Key>%s</Key></Object>" % k)
    parts.append("</Delete>")
    return "".join(parts).encode()


class DeleteObjectsTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls.b = bucket_name("delobjs")
        cls.c.create_bucket(Bucket=cls.b)

    @classmethod
    def tearDownClass(cls):
        delete_bucket(cls.c, cls.b)

    def put_keys(self, keys):
        cs = [client() for _ in range(4)]
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            list(ex.map(lambda ik: cs[ik[0] % 4].put_object(Bucket=self.b, Key=ik[1], Body=b"d"),
                        enumerate(keys)))

    def remaining(self, prefix):
        keys = []
        for p in self.c.get_paginator("list_objects_v2").paginate(Bucket=self.b, Prefix=prefix):
            keys += [o["Key"] for o in p.get("Contents", [])]
        return keys

    def test_verbose_lists_every_deleted_key(self):
        keys = ["v/%d" % i for i in range(5)]
        self.put_keys(keys)
        objs = [{"Key": k} for k in keys] + [{"Key": "v/missing"}]
        r = self.c.delete_objects(Bucket=self.b, Delete={"Objects": objs})
        self.assertEqual(sorted(d["Key"] for d in r["Deleted"]), sorted(keys + ["v/missing"]))
        self.assertNotIn("Errors", r)
        self.assertEqual(self.remaining("v/"), [])

    def test_quiet_returns_no_deleted_entries(self):
        keys = ["q/%d" % i for i in range(5)]
        self.put_keys(keys)
        r = self.c.delete_objects(Bucket=self.b,
                                  Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
        self.assertNotIn("Deleted", r)
        self.assertNotIn("Errors", r)
        self.assertEqual(self.remaining("q/"), [])

    def test_1000_keys(self):
        real = ["t/%04d" % i for i in range(60)]
        self.put_keys(real)
        keys = real + ["t/none-%04d" % i for i in range(940)]
        r = self.c.delete_objects(Bucket=self.b, Delete={"Objects": [{"Key": k} for k in keys]})
        self.assertEqual(len(r["Deleted"]), 1000)
        self.assertEqual(self.remaining("t/"), [])

    def test_1001_keys_malformed_xml(self):
        self.c.put_object(Bucket=self.b, Key="m/keep", Body=b"k")
        keys = ["m/keep"] + ["m/x%04d" % i for i in range(1000)]
        self.assertS3Error("MalformedXML", 400, self.c.delete_objects, Bucket=self.b,
                           Delete={"Objects": [{"Key": k} for k in keys]})
        self.assertEqual(self.remaining("m/"), ["m/keep"])

    def test_odd_keys_in_xml(self):
        keys = ["o/a&b", "o/<x>", "o/ü", "o/sp ace", "o/q\"'"]
        self.put_keys(keys)
        r = self.c.delete_objects(Bucket=self.b, Delete={"Objects": [{"Key": k} for k in keys]})
        self.assertEqual(sorted(d["Key"] for d in r["Deleted"]), sorted(keys))
        self.assertEqual(self.remaining("o/"), [])

    def raw_delete(self, body, md5=True):
        h = {"Content-MD5": md5_b64(body)} if md5 else {}
        return signed_request("POST", "/" + self.b, query=[("delete", None)], headers=h,
                              body=body)

    def test_raw_verbose_response_xml(self):
        self.c.put_object(Bucket=self.b, Key="r/1", Body=b"x")
        r = self.raw_delete(delete_xml(["r/1"]))
        self.assertRawOK(r)
        root = ET.fromstring(r.body)
        self.assertEqual(root.tag, S3NS + "DeleteResult")
        self.assertEqual([d.findtext(S3NS + "Key") for d in root.iter(S3NS + "Deleted")],
                         ["r/1"])

    def test_malformed_xml_bodies(self):
        bodies = [b"<Delete><Object><Key>a</Key></Object>", b"not xml at all",
                  b"<Delete></Delete>", b"<Other><Object><Key>a</Key></Object></Other>",
                  b"<Delete><Object></Object></Delete>",
                  b"<Delete><Quiet>maybe</Quiet><Object><Key>a</Key></Object></Delete>"]
        for body in bodies:
            with self.subTest(body=body):
                self.assertRawError(self.raw_delete(body), 400, "MalformedXML")

    def test_doctype_entities_rejected(self):
        body = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "aaaaaaaaaa">]>'
                b"<Delete><Object><Key>&x;</Key></Object></Delete>")
        r = self.raw_delete(body)
        self.assertEqual(r.status, 400, repr(r))
        self.assertTrue(r.header("x-amz-request-id"))

    def test_missing_content_md5(self):
        # AWS requires Content-MD5 (or an x-amz-checksum-*) on DeleteObjects
        r = self.raw_delete(delete_xml(["x"]), md5=False)
        self.assertRawError(r, 400, "InvalidRequest")

    def test_wrong_content_md5(self):
        body = delete_xml(["x"])
        r = signed_request("POST", "/" + self.b, query=[("delete", None)],
                           headers={"Content-MD5": md5_b64(b"other")}, body=body)
        self.assertRawError(r, 400, "BadDigest")

    def test_missing_bucket(self):
        self.assertS3Error("NoSuchBucket", 404, self.c.delete_objects, Bucket=bucket_name("x"),
                           Delete={"Objects": [{"Key": "a"}]})


class CopyObjectTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls.b = bucket_name("copy")
        cls.b2 = bucket_name("copy2")
        cls.c.create_bucket(Bucket=cls.b)
        cls.c.create_bucket(Bucket=cls.b2)
        cls.data = b"copy me " * 1000
        cls.big = bytes(range(256)) * 1200  # 300 KiB: file-backed
        cls.c.put_object(Bucket=cls.b, Key="src", Body=cls.data, ContentType="text/x-src",
                         Metadata={"orig": "yes"}, CacheControl="no-store")
        cls.c.put_object(Bucket=cls.b, Key="big", Body=cls.big)

    @classmethod
    def tearDownClass(cls):
        delete_bucket(cls.c, cls.b)
        delete_bucket(cls.c, cls.b2)

    def test_copy_default_directive_copies_metadata(self):
        r = self.c.copy_object(Bucket=self.b, Key="dst1", CopySource={"Bucket": self.b,
                                                                      "Key": "src"})
        self.assertEqual(r["CopyObjectResult"]["ETag"], '"%s"' % md5_hex(self.data))
        self.assertIn("LastModified", r["CopyObjectResult"])
        g = self.c.get_object(Bucket=self.b, Key="dst1")
        self.assertEqual(g["Body"].read(), self.data)
        self.assertEqual(g["Metadata"], {"orig": "yes"})
        self.assertEqual(g["ContentType"], "text/x-src")
        self.assertEqual(g["CacheControl"], "no-store")

    def test_copy_directive_ignores_new_metadata(self):
        self.c.copy_object(Bucket=self.b, Key="dst2", CopySource={"Bucket": self.b,
                                                                  "Key": "src"},
                           MetadataDirective="COPY", Metadata={"new": "no"})
        self.assertEqual(self.c.head_object(Bucket=self.b, Key="dst2")["Metadata"],
                         {"orig": "yes"})

    def test_replace_directive(self):
        self.c.copy_object(Bucket=self.b, Key="dst3", CopySource={"Bucket": self.b,
                                                                  "Key": "src"},
                           MetadataDirective="REPLACE", Metadata={"new": "yes"},
                           ContentType="text/x-new")
        h = self.c.head_object(Bucket=self.b, Key="dst3")
        self.assertEqual(h["Metadata"], {"new": "yes"})
        self.assertEqual(h["ContentType"], "text/x-new")
        self.assertNotIn("CacheControl", h)
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="dst3")["Body"].read(),
                         self.data)

    def test_cross_bucket_copy(self):
        self.c.copy_object(Bucket=self.b2, Key="x/dst", CopySource={"Bucket": self.b,
                                                                    "Key": "big"})
        self.assertEqual(self.c.get_object(Bucket=self.b2, Key="x/dst")["Body"].read(),
                         self.big)
        # source untouched
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="big")["Body"].read(), self.big)

    def test_copy_then_overwrite_source_keeps_copy(self):
        self.c.put_object(Bucket=self.b, Key="s2", Body=self.big)
        self.c.copy_object(Bucket=self.b, Key="d2", CopySource={"Bucket": self.b, "Key": "s2"})
        self.c.put_object(Bucket=self.b, Key="s2", Body=b"changed")
        self.c.delete_object(Bucket=self.b, Key="s2")
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="d2")["Body"].read(), self.big)

    def test_copy_onto_itself_without_replace_invalid_request(self):
        self.assertS3Error("InvalidRequest", 400, self.c.copy_object, Bucket=self.b,
                           Key="src", CopySource={"Bucket": self.b, "Key": "src"})

    def test_copy_onto_itself_with_replace_updates_metadata(self):
        self.c.put_object(Bucket=self.b, Key="self", Body=b"same", Metadata={"v": "1"})
        self.c.copy_object(Bucket=self.b, Key="self", CopySource={"Bucket": self.b,
                                                                  "Key": "self"},
                           MetadataDirective="REPLACE", Metadata={"v": "2"})
        g = self.c.get_object(Bucket=self.b, Key="self")
        self.assertEqual((g["Body"].read(), g["Metadata"]), (b"same", {"v": "2"}))

    def test_copy_missing_source_key(self):
        self.assertS3Error("NoSuchKey", 404, self.c.copy_object, Bucket=self.b, Key="d",
                           CopySource={"Bucket": self.b, "Key": "does-not-exist"})

    def test_copy_missing_source_bucket(self):
        self.assertS3Error("NoSuchBucket", 404, self.c.copy_object, Bucket=self.b, Key="d",
                           CopySource={"Bucket": bucket_name("none"), "Key": "k"})

    def test_copy_odd_key_names(self):
        src = "sp ace/ü+%?#&"
        self.c.put_object(Bucket=self.b, Key=src, Body=b"odd")
        self.c.copy_object(Bucket=self.b, Key="odd-dst", CopySource={"Bucket": self.b,
                                                                     "Key": src})
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="odd-dst")["Body"].read(), b"odd")

    def test_copy_source_header_without_leading_slash(self):
        r = signed_request("PUT", "/%s/raw-dst" % self.b,
                           headers={"x-amz-copy-source": "%s/src" % self.b})
        self.assertRawOK(r)
        self.assertIn(b"<ETag>", r.body)

    def test_copy_source_invalid(self):
        r = signed_request("PUT", "/%s/raw-dst2" % self.b,
                           headers={"x-amz-copy-source": "/onlybucket"})
        self.assertEqual(r.status, 400, repr(r))
        self.assertTrue(r.header("x-amz-request-id"))

    def test_copy_source_empty_version_id(self):
        """An empty versionId in x-amz-copy-source is refused as UploadPartCopy refuses it:
        400 InvalidArgument naming the header, before the source bucket is looked up."""
        for src in ("/%s/src?versionId=" % self.b, "/%s/k?versionId=" % bucket_name("none")):
            r = signed_request("PUT", "/%s/empty-vid" % self.b,
                               headers={"x-amz-copy-source": src})
            self.assertRawError(r, 400, "InvalidArgument")
            self.assertEqual(ET.fromstring(r.body).findtext("ArgumentName"),
                             "x-amz-copy-source", repr(r))

    def test_copy_source_if_match(self):
        etag = '"%s"' % md5_hex(self.data)
        self.c.copy_object(Bucket=self.b, Key="cim", CopySource={"Bucket": self.b, "Key": "src"},
                           CopySourceIfMatch=etag)
        self.assertS3Error("PreconditionFailed", 412, self.c.copy_object, Bucket=self.b,
                           Key="cim2", CopySource={"Bucket": self.b, "Key": "src"},
                           CopySourceIfMatch='"nope"')
        self.assertS3Error("PreconditionFailed", 412, self.c.copy_object, Bucket=self.b,
                           Key="cim3", CopySource={"Bucket": self.b, "Key": "src"},
                           CopySourceIfNoneMatch=etag)
        self.assertS3Error("PreconditionFailed", 412, self.c.copy_object, Bucket=self.b,
                           Key="cim4", CopySource={"Bucket": self.b, "Key": "src"},
                           CopySourceIfUnmodifiedSince=datetime.datetime(2000, 1, 1))

    def test_invalid_metadata_directive(self):
        r = signed_request("PUT", "/%s/bad-dir" % self.b,
                           headers={"x-amz-copy-source": "/%s/src" % self.b,
                                    "x-amz-metadata-directive": "MERGE"})
        self.assertRawError(r, 400, "InvalidArgument")


if __name__ == "__main__":
    unittest.main()
