"""GetObjectAttributes with boto3 and raw requests: each attribute alone and together, the bare
ETag, checksums of single PUTs (FULL_OBJECT) and multipart uploads (COMPOSITE, FULL_OBJECT),
ObjectParts with part checksums and paging (MaxParts, PartNumberMarker), versions, delete markers
(404 with x-amz-delete-marker for a current one, 405 by version id), a missing key (404 only for
a caller who may list the bucket, else 403), and the header's errors."""

import json

from lib import E2ETestCase, bucket_name, checksum_b64, client, delete_bucket, rand_suffix
from test_authz import User, allow, doc
from mfa_lib import MfaAccount

ALL = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]
PART = 5 * 1024 * 1024


class AttributesTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls.b = bucket_name("attrs")
        cls.c.create_bucket(Bucket=cls.b)
        cls.vb = bucket_name("attrsv")
        cls.c.create_bucket(Bucket=cls.vb)
        cls.c.put_bucket_versioning(Bucket=cls.vb,
                                    VersioningConfiguration={"Status": "Enabled"})

    @classmethod
    def tearDownClass(cls):
        delete_bucket(cls.c, cls.b)
        delete_bucket(cls.c, cls.vb)

    def attrs(self, key, want=ALL, bucket=None, **kw):
        return self.c.get_object_attributes(Bucket=bucket or self.b, Key=key,
                                            ObjectAttributes=want, **kw)

    def test_simple_object(self):
        body = b"hello attributes"
        p = self.c.put_object(Bucket=self.b, Key="s/obj", Body=body, ChecksumAlgorithm="SHA256",
                              StorageClass="STANDARD_IA")
        r = self.attrs("s/obj")
        self.assertEqual(r["ETag"], p["ETag"].strip('"'))  # bare, as AWS sends it
        self.assertEqual(r["ObjectSize"], len(body))
        self.assertEqual(r["StorageClass"], "STANDARD_IA")
        self.assertEqual(r["Checksum"]["ChecksumSHA256"], checksum_b64("SHA256", body))
        self.assertEqual(r["Checksum"]["ChecksumType"], "FULL_OBJECT")
        self.assertNotIn("ObjectParts", r)  # not multipart
        self.assertIn("LastModified", r)
        self.assertNotIn("VersionId", r)  # unversioned bucket
        # One at a time: only what was asked for.
        for a in ["ETag", "StorageClass", "ObjectSize", "Checksum"]:
            r = self.attrs("s/obj", [a])
            got = [k for k in ALL if k in r]
            self.assertEqual(got, [a])
        # STANDARD is named, and no checksum means no Checksum element.
        self.c.put_object(Bucket=self.b, Key="s/plain", Body=b"x")
        r = self.c.get_object_attributes(Bucket=self.b, Key="s/plain",
                                         ObjectAttributes=["StorageClass", "Checksum"])
        self.assertEqual(r["StorageClass"], "STANDARD")
        h = self.c.head_object(Bucket=self.b, Key="s/plain", ChecksumMode="ENABLED")
        if "ChecksumCRC32" in h:  # botocore added a default checksum
            self.assertIn("Checksum", r)
        else:
            self.assertNotIn("Checksum", r)

    def mpu(self, key, n, algo=None, ctype=None, bucket=None):
        bucket = bucket or self.b
        kw = {}
        if algo:
            kw["ChecksumAlgorithm"] = algo
        if ctype:
            kw["ChecksumType"] = ctype
        uid = self.c.create_multipart_upload(Bucket=bucket, Key=key, **kw)["UploadId"]
        parts, sizes = [], []
        for i in range(1, n + 1):
            size = PART if i < n else 1000 + i
            pkw = {"ChecksumAlgorithm": algo} if algo else {}
            r = self.c.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=i,
                                   Body=bytes([i]) * size, **pkw)
            p = {"PartNumber": i, "ETag": r["ETag"]}
            if algo:
                p["Checksum" + algo] = r["Checksum" + algo]
            parts.append(p)
            sizes.append(size)
        r = self.c.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid,
                                             MultipartUpload={"Parts": parts})
        return r, parts, sizes

    def test_multipart_with_checksums(self):
        r, parts, sizes = self.mpu("m/ck", 3, algo="CRC32")
        a = self.attrs("m/ck")
        self.assertEqual(a["ETag"], r["ETag"].strip('"'))
        self.assertTrue(a["ETag"].endswith("-3"))
        self.assertEqual(a["ObjectSize"], sum(sizes))
        self.assertEqual(a["Checksum"]["ChecksumType"], "COMPOSITE")
        self.assertEqual(a["Checksum"]["ChecksumCRC32"], r["ChecksumCRC32"])
        op = a["ObjectParts"]
        self.assertEqual(op["TotalPartsCount"], 3)
        self.assertFalse(op["IsTruncated"])
        self.assertEqual([p["PartNumber"] for p in op["Parts"]], [1, 2, 3])
        self.assertEqual([p["Size"] for p in op["Parts"]], sizes)
        self.assertEqual([p["ChecksumCRC32"] for p in op["Parts"]],
                         [p["ChecksumCRC32"] for p in parts])
        # Paging.
        a = self.attrs("m/ck", ["ObjectParts"], MaxParts=2)
        op = a["ObjectParts"]
        self.assertTrue(op["IsTruncated"])
        self.assertEqual(op["MaxParts"], 2)
        self.assertEqual([p["PartNumber"] for p in op["Parts"]], [1, 2])
        self.assertEqual(op["NextPartNumberMarker"], 2)
        a = self.attrs("m/ck", ["ObjectParts"], MaxParts=2, PartNumberMarker=2)
        op = a["ObjectParts"]
        self.assertFalse(op["IsTruncated"])
        self.assertEqual(op["PartNumberMarker"], 2)
        self.assertEqual([p["PartNumber"] for p in op["Parts"]], [3])
        self.assertEqual(op["NextPartNumberMarker"], 3)

    def test_multipart_full_object(self):
        r, parts, sizes = self.mpu("m/full", 2, algo="CRC64NVME", ctype="FULL_OBJECT")
        a = self.attrs("m/full", ["Checksum", "ObjectParts"])
        self.assertEqual(a["Checksum"]["ChecksumType"], "FULL_OBJECT")
        self.assertEqual(a["Checksum"]["ChecksumCRC64NVME"], r["ChecksumCRC64NVME"])
        self.assertEqual(a["ObjectParts"]["TotalPartsCount"], 2)

    def test_multipart_without_checksums(self):
        self.mpu("m/plain", 2)
        a = self.attrs("m/plain")
        # AWS: the part count, but no part list without checksums.
        self.assertEqual(a["ObjectParts"]["TotalPartsCount"], 2)
        self.assertNotIn("Parts", a["ObjectParts"])
        self.assertNotIn("Checksum", a)

    def test_versions_and_markers(self):
        v1 = self.c.put_object(Bucket=self.vb, Key="v", Body=b"one")
        v2 = self.c.put_object(Bucket=self.vb, Key="v", Body=b"two!", StorageClass="ONEZONE_IA")
        a = self.attrs("v", bucket=self.vb)
        self.assertEqual(a["VersionId"], v2["VersionId"])
        self.assertEqual(a["ObjectSize"], 4)
        a = self.attrs("v", bucket=self.vb, VersionId=v1["VersionId"])
        self.assertEqual(a["VersionId"], v1["VersionId"])
        self.assertEqual(a["ObjectSize"], 3)
        self.assertEqual(a["StorageClass"], "STANDARD")
        dm = self.c.delete_object(Bucket=self.vb, Key="v")
        r = self.assertS3Error("NoSuchKey", 404, self.attrs, "v", bucket=self.vb)
        h = r["ResponseMetadata"]["HTTPHeaders"]
        self.assertEqual(h.get("x-amz-delete-marker"), "true")
        r = self.assertS3Error("MethodNotAllowed", 405, self.attrs, "v", bucket=self.vb,
                               VersionId=dm["VersionId"])
        self.assertEqual(r["ResponseMetadata"]["HTTPHeaders"].get("x-amz-delete-marker"),
                         "true")
        self.assertS3Error("NoSuchVersion", 404, self.attrs, "v", bucket=self.vb,
                           VersionId="null")

    def test_errors(self):
        self.c.put_object(Bucket=self.b, Key="e/obj", Body=b"x")
        self.assertS3Error("NoSuchKey", 404, self.attrs, "e/missing")
        r = self.assertS3Error("InvalidArgument", 400, self.attrs, "e/obj", ["ETag", "Bogus"])
        self.assertEqual(r["Error"].get("ArgumentValue"), "Bogus")
        self.assertS3Error("InvalidArgument", 400, self.attrs, "e/obj", ["etag"])
        # No header at all: botocore insists on it, so strip it on the way out.
        def drop(request, **kw):
            del request.headers["x-amz-object-attributes"]
        self.c.meta.events.register("before-sign.s3.GetObjectAttributes", drop)
        try:
            self.assertS3Error("InvalidRequest", 400, self.attrs, "e/obj")
        finally:
            self.c.meta.events.unregister("before-sign.s3.GetObjectAttributes", drop)
        self.assertS3Error("NoSuchBucket", 404, self.c.get_object_attributes,
                           Bucket=bucket_name("nope"), Key="k", ObjectAttributes=["ETag"])


class AttributesAuthzTest(E2ETestCase):
    """s3:GetObjectAttributes / s3:GetObjectVersionAttributes, and the 404/403 of a missing key
    decided by s3:ListBucket, for an IAM user."""

    @classmethod
    def setUpClass(cls):
        cls.a = MfaAccount("attrs-" + rand_suffix(6))
        cls.b = bucket_name("attrsz")
        cls.a.s3.create_bucket(Bucket=cls.b)
        cls.a.s3.put_bucket_versioning(Bucket=cls.b,
                                       VersioningConfiguration={"Status": "Enabled"})
        cls.vid = cls.a.s3.put_object(Bucket=cls.b, Key="k", Body=b"x")["VersionId"]

    @classmethod
    def tearDownClass(cls):
        delete_bucket(cls.a.s3, cls.b)

    def test_actions(self):
        u = User(self.a, "attrs-u-" + rand_suffix(4))
        arn = "arn:aws:s3:::%s/*" % self.b
        call = lambda **kw: u.s3.get_object_attributes(Bucket=self.b, ObjectAttributes=["ETag"],
                                                       **kw)
        self.assertS3Error("AccessDenied", 403, call, Key="k")
        # s3:GetObject is not enough: the action is its own.
        u.put_policy(doc(allow("s3:GetObject", arn)))
        self.assertS3Error("AccessDenied", 403, call, Key="k")
        u.put_policy(doc(allow("s3:GetObjectAttributes", arn)))
        call(Key="k")
        self.assertS3Error("AccessDenied", 403, call, Key="k", VersionId=self.vid)
        # A missing key without s3:ListBucket: 403, not 404.
        self.assertS3Error("AccessDenied", 403, call, Key="missing")
        u.put_policy(doc(allow(["s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"], arn),
                         allow("s3:ListBucket", "arn:aws:s3:::%s" % self.b)))
        call(Key="k", VersionId=self.vid)
        self.assertS3Error("NoSuchKey", 404, call, Key="missing")
