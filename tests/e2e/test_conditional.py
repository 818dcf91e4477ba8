"""Conditional requests as S3 defines them, with boto3: If-None-Match: * and If-Match on PutObject
and CompleteMultipartUpload (an ETag in If-None-Match: 501 NotImplemented, as AWS), If-Match on
DeleteObject (412, 404 without a current object, s3:GetObject needed for an ETag) and per Object
in DeleteObjects (<ETag>: that object's PreconditionFailed), the directory-bucket-only delete
conditions refused, and the x-amz-copy-source-if-* conditions of CopyObject and UploadPartCopy."""

import datetime

from lib import E2ETestCase, bucket_name, client, delete_bucket, rand_suffix
from mfa_lib import MfaAccount
from test_authz import User, allow, doc

PART = 5 * 1024 * 1024


class ConditionalTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls.b = bucket_name("cond")
        cls.c.create_bucket(Bucket=cls.b)
        cls.vb = bucket_name("condv")
        cls.c.create_bucket(Bucket=cls.vb)
        cls.c.put_bucket_versioning(Bucket=cls.vb,
                                    VersioningConfiguration={"Status": "Enabled"})

    @classmethod
    def tearDownClass(cls):
        delete_bucket(cls.c, cls.b)
        delete_bucket(cls.c, cls.vb)

    def body(self, key, bucket=None):
        return self.c.get_object(Bucket=bucket or self.b, Key=key)["Body"].read()

    def test_put_if_none_match(self):
        self.c.put_object(Bucket=self.b, Key="p/new", Body=b"1", IfNoneMatch="*")
        self.assertS3Error("PreconditionFailed", 412, self.c.put_object, Bucket=self.b,
                           Key="p/new", Body=b"2", IfNoneMatch="*")
        self.assertEqual(self.body("p/new"), b"1")
        etag = self.c.head_object(Bucket=self.b, Key="p/new")["ETag"]
        # AWS: only * is supported here.
        self.assertS3Error("NotImplemented", 501, self.c.put_object, Bucket=self.b,
                           Key="p/new", Body=b"3", IfNoneMatch=etag)
        # A delete marker is no object.
        self.c.put_object(Bucket=self.vb, Key="p/dm", Body=b"1")
        self.c.delete_object(Bucket=self.vb, Key="p/dm")
        self.c.put_object(Bucket=self.vb, Key="p/dm", Body=b"2", IfNoneMatch="*")

    def test_put_if_match(self):
        e1 = self.c.put_object(Bucket=self.b, Key="p/m", Body=b"1")["ETag"]
        e2 = self.c.put_object(Bucket=self.b, Key="p/m", Body=b"2", IfMatch=e1)["ETag"]
        self.assertS3Error("PreconditionFailed", 412, self.c.put_object, Bucket=self.b,
                           Key="p/m", Body=b"3", IfMatch=e1)
        self.assertEqual(self.body("p/m"), b"2")
        self.c.put_object(Bucket=self.b, Key="p/m", Body=b"4", IfMatch=e2.strip('"'))
        self.assertS3Error("NoSuchKey", 404, self.c.put_object, Bucket=self.b, Key="p/none",
                           Body=b"x", IfMatch=e2)

    def mpu(self, key, **kw):
        uid = self.c.create_multipart_upload(Bucket=self.b, Key=key)["UploadId"]
        e = self.c.upload_part(Bucket=self.b, Key=key, UploadId=uid, PartNumber=1,
                               Body=b"part")["ETag"]
        return lambda **ckw: self.c.complete_multipart_upload(
            Bucket=self.b, Key=key, UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]}, **ckw)

    def test_complete_conditions(self):
        done = self.mpu("m/a")
        done(IfNoneMatch="*")
        done = self.mpu("m/a")
        self.assertS3Error("PreconditionFailed", 412, done, IfNoneMatch="*")
        cur = self.c.head_object(Bucket=self.b, Key="m/a")["ETag"]
        self.assertS3Error("PreconditionFailed", 412, done, IfMatch='"0123"')
        self.assertS3Error("NotImplemented", 501, done, IfNoneMatch=cur)
        r = done(IfMatch=cur)
        self.assertEqual(self.c.head_object(Bucket=self.b, Key="m/a")["ETag"], r["ETag"])
        done = self.mpu("m/none")
        self.assertS3Error("NoSuchKey", 404, done, IfMatch=cur)

    def test_delete_if_match(self):
        e = self.c.put_object(Bucket=self.b, Key="d/obj", Body=b"x")["ETag"]
        self.assertS3Error("PreconditionFailed", 412, self.c.delete_object, Bucket=self.b,
                           Key="d/obj", IfMatch='"ffff"')
        self.assertEqual(self.body("d/obj"), b"x")
        self.c.delete_object(Bucket=self.b, Key="d/obj", IfMatch=e)
        self.assertS3Error("NoSuchKey", 404, self.c.get_object, Bucket=self.b, Key="d/obj")
        # Nothing there: 404, whatever the condition.
        self.assertS3Error("NoSuchKey", 404, self.c.delete_object, Bucket=self.b, Key="d/obj",
                           IfMatch=e)
        self.assertS3Error("NoSuchKey", 404, self.c.delete_object, Bucket=self.b, Key="d/obj",
                           IfMatch="*")
        self.c.put_object(Bucket=self.b, Key="d/star", Body=b"y")
        self.c.delete_object(Bucket=self.b, Key="d/star", IfMatch="*")
        self.assertEqual(self.c.list_objects_v2(Bucket=self.b, Prefix="d/star")["KeyCount"], 0)
        # Without the header, deletes stay unconditional.
        self.c.delete_object(Bucket=self.b, Key="d/star")

    def test_delete_if_match_versioned(self):
        v1 = self.c.put_object(Bucket=self.vb, Key="d/v", Body=b"1")
        v2 = self.c.put_object(Bucket=self.vb, Key="d/v", Body=b"2")
        # The condition is on the current version, a versionId or not.
        self.assertS3Error("PreconditionFailed", 412, self.c.delete_object, Bucket=self.vb,
                           Key="d/v", IfMatch=v1["ETag"])
        self.assertS3Error("PreconditionFailed", 412, self.c.delete_object, Bucket=self.vb,
                           Key="d/v", VersionId=v1["VersionId"], IfMatch=v1["ETag"])
        r = self.c.delete_object(Bucket=self.vb, Key="d/v", IfMatch=v2["ETag"])
        self.assertTrue(r["DeleteMarker"])
        # Current version is a marker: no object.
        self.assertS3Error("NoSuchKey", 404, self.c.delete_object, Bucket=self.vb, Key="d/v",
                           IfMatch="*")

    def test_delete_directory_bucket_conditions(self):
        self.c.put_object(Bucket=self.b, Key="d/dir", Body=b"x")
        self.assertS3Error("NotImplemented", 501, self.c.delete_object, Bucket=self.b,
                           Key="d/dir", IfMatchSize=1)
        self.assertS3Error("NotImplemented", 501, self.c.delete_object, Bucket=self.b,
                           Key="d/dir", IfMatchLastModifiedTime=datetime.datetime.now())
        self.assertS3Error("NotImplemented", 501, self.c.delete_objects, Bucket=self.b,
                           Delete={"Objects": [{"Key": "d/dir", "Size": 1}]})
        self.assertEqual(self.body("d/dir"), b"x")

    def test_delete_objects_etag(self):
        ea = self.c.put_object(Bucket=self.b, Key="m/a", Body=b"a")["ETag"]
        self.c.put_object(Bucket=self.b, Key="m/b", Body=b"b")
        self.c.put_object(Bucket=self.b, Key="m/c", Body=b"c")
        r = self.c.delete_objects(Bucket=self.b, Delete={"Objects": [
            {"Key": "m/a", "ETag": ea},
            {"Key": "m/b", "ETag": '"00000000000000000000000000000000"'},
            {"Key": "m/c"},
            {"Key": "m/gone", "ETag": ea},
        ]})
        deleted = sorted(d["Key"] for d in r.get("Deleted", []))
        errors = {e["Key"]: e["Code"] for e in r.get("Errors", [])}
        self.assertEqual(deleted, ["m/a", "m/c"])
        self.assertEqual(errors, {"m/b": "PreconditionFailed", "m/gone": "NoSuchKey"})
        self.assertEqual(self.body("m/b"), b"b")

    def test_copy_source_conditions(self):
        src = self.c.put_object(Bucket=self.b, Key="c/src", Body=b"source")
        etag = src["ETag"]
        cs = {"Bucket": self.b, "Key": "c/src"}
        past = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
        future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
        ok = [{"CopySourceIfMatch": etag}, {"CopySourceIfNoneMatch": '"abc"'},
              {"CopySourceIfModifiedSince": past}, {"CopySourceIfUnmodifiedSince": future}]
        bad = [{"CopySourceIfMatch": '"abc"'}, {"CopySourceIfNoneMatch": etag},
               {"CopySourceIfModifiedSince": future}, {"CopySourceIfUnmodifiedSince": past}]
        for kw in ok:
            self.c.copy_object(Bucket=self.b, Key="c/dst", CopySource=cs, **kw)
        for kw in bad:
            self.assertS3Error("PreconditionFailed", 412, self.c.copy_object, Bucket=self.b,
                               Key="c/dst2", CopySource=cs, **kw)
        self.assertS3Error("NoSuchKey", 404, self.c.get_object, Bucket=self.b, Key="c/dst2")
        # UploadPartCopy takes the same conditions.
        uid = self.c.create_multipart_upload(Bucket=self.b, Key="c/mpu")["UploadId"]
        for kw in ok:
            self.c.upload_part_copy(Bucket=self.b, Key="c/mpu", UploadId=uid, PartNumber=1,
                                    CopySource=cs, **kw)
        for kw in bad:
            self.assertS3Error("PreconditionFailed", 412, self.c.upload_part_copy,
                               Bucket=self.b, Key="c/mpu", UploadId=uid, PartNumber=2,
                               CopySource=cs, **kw)
        parts = self.c.list_parts(Bucket=self.b, Key="c/mpu", UploadId=uid).get("Parts", [])
        self.assertEqual([p["PartNumber"] for p in parts], [1])
        self.c.abort_multipart_upload(Bucket=self.b, Key="c/mpu", UploadId=uid)


class ConditionalDeleteAuthzTest(E2ETestCase):
    """AWS: a delete conditioned on an ETag needs s3:GetObject too; If-Match: * does not."""

    def test_if_match_needs_get_object(self):
        a = MfaAccount("cond-" + rand_suffix(6))
        b = bucket_name("condz")
        a.s3.create_bucket(Bucket=b)
        try:
            u = User(a, "cond-u-" + rand_suffix(4))
            u.put_policy(doc(allow("s3:DeleteObject", "arn:aws:s3:::%s/*" % b)))
            e = a.s3.put_object(Bucket=b, Key="k", Body=b"x")["ETag"]
            self.assertS3Error("AccessDenied", 403, u.s3.delete_object, Bucket=b, Key="k",
                               IfMatch=e)
            r = u.s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "k", "ETag": e}]})
            self.assertEqual([x["Code"] for x in r.get("Errors", [])], ["AccessDenied"])
            u.s3.delete_object(Bucket=b, Key="k", IfMatch="*")
            a.s3.put_object(Bucket=b, Key="k", Body=b"y")
            u.put_policy(doc(allow(["s3:DeleteObject", "s3:GetObject"],
                                   "arn:aws:s3:::%s/*" % b)))
            e = a.s3.head_object(Bucket=b, Key="k")["ETag"]
            u.s3.delete_object(Bucket=b, Key="k", IfMatch=e)
        finally:
            a.s3.delete_object(Bucket=b, Key="k")
            a.s3.delete_bucket(Bucket=b)
