"""Object and bucket tagging end to end, as AWS documents them: Put/Get/DeleteObjectTagging per
version (delete markers refused with 405), Put/Get/DeleteBucketTagging (404 NoSuchTagSet), the
limits and their errors (10 and 50 tags, 128/256 Unicode characters, the alphabet, aws:,
duplicates), x-amz-tagging on PutObject, CreateMultipartUpload and CopyObject (both
x-amz-tagging-directive values), a browser POST's tagging field, x-amz-tagging-count on GET and
HEAD, the actions each call needs, and the condition keys s3:ExistingObjectTag,
s3:RequestObjectTag and s3:RequestObjectTagKeys (cases 32, 33 of
../shared/spec/authorization.md section 10); with boto3, raw requests and the AWS CLI.
"""

import hashlib
import base64
import json
import tempfile

import requests

import lib
from lib import bucket_name, signed_request
from mfa_lib import aws
from test_authz import AuthzCase, allow, deny, doc
from test_post_upload import v4_form, url_for


def tagset(d):
    return [{"Key": k, "Value": v} for k, v in d]


def tags_of(resp):
    return [(t["Key"], t["Value"]) for t in resp["TagSet"]]


def tagging_xml(pairs):
    body = "".join("<Tag><Key>%s</Key><Value>%s</Value></Tag>" % kv for kv in pairs)
    return '<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>%s</TagSet>' \
           '</Tagging>' % body


class TaggingCase(AuthzCase):
    tag = "tagging"

    def versioned(self):
        b = self.bucket(key=None)
        self.a.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        return b

    def get_tags(self, b, k, **kw):
        return tags_of(self.a.s3.get_object_tagging(Bucket=b, Key=k, **kw))

    def put_tags(self, b, k, pairs, client=None, **kw):
        return (client or self.a.s3).put_object_tagging(Bucket=b, Key=k,
                                                         Tagging={"TagSet": tagset(pairs)}, **kw)

    def raw(self, method, b, key, body=b"", query=(("tagging", None),), headers=None):
        h = {"content-md5": base64.b64encode(hashlib.md5(body).digest()).decode()}
        h.update(headers or {})
        return signed_request(method, "/%s/%s" % (b, key), query=list(query), headers=h,
                              body=body, ak=self.a.ak, sk=self.a.sk)


class TestObjectTagging(TaggingCase):
    tag = "tag-obj"

    def test_round_trip_and_count(self):
        b = self.bucket()
        self.assertEqual(self.get_tags(b, "k"), [])
        self.assertNotIn("x-amz-tagging-count",
                         self.a.s3.head_object(Bucket=b, Key="k")["ResponseMetadata"]["HTTPHeaders"])
        pairs = [("project", "coffer"), ("owner", "ops team"), ("empty", "")]
        r = self.put_tags(b, "k", pairs)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(self.get_tags(b, "k"), pairs)
        self.assertEqual(self.a.s3.head_object(Bucket=b, Key="k")["ResponseMetadata"]
                         ["HTTPHeaders"]["x-amz-tagging-count"], "3")
        self.assertEqual(self.a.s3.get_object(Bucket=b, Key="k")["TagCount"], 3)
        # a new PutObjectTagging replaces the whole set
        self.put_tags(b, "k", [("one", "1")])
        self.assertEqual(self.get_tags(b, "k"), [("one", "1")])
        r = self.a.s3.delete_object_tagging(Bucket=b, Key="k")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual(self.get_tags(b, "k"), [])
        self.assertNotIn("TagCount", self.a.s3.get_object(Bucket=b, Key="k"))
        # the object is untouched
        self.assertEqual(self.a.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"data")

    def test_missing(self):
        b = self.bucket()
        self.assertS3Error("NoSuchKey", 404, self.a.s3.get_object_tagging, Bucket=b, Key="none")
        self.assertS3Error("NoSuchKey", 404, self.put_tags, b, "none", [("a", "b")])
        self.assertS3Error("NoSuchKey", 404, self.a.s3.delete_object_tagging, Bucket=b, Key="none")
        self.assertS3Error("NoSuchBucket", 404, self.a.s3.get_object_tagging,
                           Bucket=bucket_name("none"), Key="k")

    def test_versions_and_markers(self):
        b = self.versioned()
        v1 = self.a.s3.put_object(Bucket=b, Key="v", Body=b"1", Tagging="gen=1")["VersionId"]
        v2 = self.a.s3.put_object(Bucket=b, Key="v", Body=b"2")["VersionId"]
        self.assertEqual(self.get_tags(b, "v"), [])
        r = self.a.s3.get_object_tagging(Bucket=b, Key="v", VersionId=v1)
        self.assertEqual((tags_of(r), r["VersionId"]), ([("gen", "1")], v1))
        r = self.put_tags(b, "v", [("gen", "2")], VersionId=v2)
        self.assertEqual(r["VersionId"], v2)
        self.assertEqual(self.get_tags(b, "v"), [("gen", "2")])
        self.assertEqual(self.get_tags(b, "v", VersionId=v1), [("gen", "1")])
        self.a.s3.delete_object_tagging(Bucket=b, Key="v", VersionId=v1)
        self.assertEqual(self.get_tags(b, "v", VersionId=v1), [])
        self.assertEqual(self.get_tags(b, "v"), [("gen", "2")])
        self.assertEqual(self.a.s3.head_object(Bucket=b, Key="v", VersionId=v2)["ResponseMetadata"]
                         ["HTTPHeaders"]["x-amz-tagging-count"], "1")
        # a delete marker: current -> 404, named -> 405
        dm = self.a.s3.delete_object(Bucket=b, Key="v")["VersionId"]
        self.assertS3Error("NoSuchKey", 404, self.a.s3.get_object_tagging, Bucket=b, Key="v")
        self.assertS3Error("MethodNotAllowed", 405, self.a.s3.get_object_tagging, Bucket=b,
                           Key="v", VersionId=dm)
        self.assertS3Error("MethodNotAllowed", 405, self.put_tags, b, "v", [("a", "b")],
                           VersionId=dm)
        gone = self.a.s3.put_object(Bucket=b, Key="v", Body=b"3")["VersionId"]
        self.a.s3.delete_object(Bucket=b, Key="v", VersionId=gone)
        self.assertS3Error("NoSuchVersion", 404, self.a.s3.get_object_tagging, Bucket=b, Key="v",
                           VersionId=gone)
        self.assertEqual(self.get_tags(b, "v", VersionId=v2), [("gen", "2")])

    def test_limits(self):
        b = self.bucket()
        ten = [("k%d" % i, "v") for i in range(10)]
        self.put_tags(b, "k", ten)
        self.assertEqual(len(self.get_tags(b, "k")), 10)
        r = self.assertS3Error("BadRequest", 400, self.put_tags, b, "k", ten + [("k10", "v")])
        # characters, not bytes: 128 two-byte and 256 three-byte characters fit
        self.put_tags(b, "k", [("é" * 128, "日" * 256)])
        self.assertEqual(self.get_tags(b, "k"), [("é" * 128, "日" * 256)])
        self.put_tags(b, "k", [("a" * 128, "b" * 256), ("x y_z.:/=+-@", "Ünïcødé 1 2")])
        for bad in [("é" * 129, "v"), ("a#b", "v"), ("a!", "v"), ("tab\tkey", "v")]:
            self.assertS3Error("InvalidTag", 400, self.put_tags, b, "k", [bad])
        for bad in [("k", "日" * 257), ("k", "semi;colon"), ("k", "a*")]:
            self.assertS3Error("InvalidTag", 400, self.put_tags, b, "k", [bad])
        with self.assertRaises(lib.ClientError) as cm:
            self.put_tags(b, "k", [("aws:created", "x")])
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidTag")
        self.assertIn("aws:", cm.exception.response["Error"]["Message"])
        with self.assertRaises(lib.ClientError) as cm:
            self.put_tags(b, "k", [("dup", "1"), ("dup", "2")])
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidTag")
        self.assertIn("same key", cm.exception.response["Error"]["Message"])
        # what was stored before the refusals is still there
        self.assertEqual(self.get_tags(b, "k")[1], ("x y_z.:/=+-@", "Ünïcødé 1 2"))

    def test_raw_documents(self):
        b = self.bucket()
        self.assertRawError(self.raw("PUT", b, "k", b"<Tagging><TagSet>"), 400, "MalformedXML")
        self.assertRawError(self.raw("PUT", b, "k", b"<Tagging/>"), 400, "MalformedXML")
        self.assertRawError(self.raw("PUT", b, "k", b"<Tagging><TagSet><Tag><Key>a</Key></Tag>"
                                                    b"</TagSet></Tagging>"), 400, "MalformedXML")
        self.assertRawError(self.raw("PUT", b, "k", tagging_xml([("", "v")]).encode()), 400,
                            "InvalidTag")
        self.assertRawError(self.raw("PUT", b, "k", b""), 400, "MissingRequestBodyError")
        self.assertRawOK(self.raw("PUT", b, "k", tagging_xml([(" sp ", " v ")]).encode()))
        self.assertEqual(self.get_tags(b, "k"), [(" sp ", " v ")])
        self.assertRawError(self.raw("POST", b, "k"), 405, "MethodNotAllowed")

    def test_x_amz_tagging_on_put(self):
        b = self.bucket(key=None)
        self.a.s3.put_object(Bucket=b, Key="p", Body=b"x", Tagging="a=1&b=x%20y&c=p%2Bq&d")
        self.assertEqual(self.get_tags(b, "p"), [("a", "1"), ("b", "x y"), ("c", "p+q"),
                                                  ("d", "")])
        self.assertEqual(self.a.s3.get_object(Bucket=b, Key="p")["TagCount"], 4)
        self.a.s3.put_object(Bucket=b, Key="p", Body=b"y")  # an overwrite has no tags
        self.assertEqual(self.get_tags(b, "p"), [])
        self.a.s3.put_object(Bucket=b, Key="u", Body=b"x",
                             Tagging="%C3%A9t%C3%A9=%E6%97%A5")
        self.assertEqual(self.get_tags(b, "u"), [("été", "日")])
        self.assertS3Error("InvalidArgument", 400, self.a.s3.put_object, Bucket=b, Key="p",
                           Body=b"x", Tagging="a=1&a=2")
        self.assertS3Error("InvalidArgument", 400, self.a.s3.put_object, Bucket=b, Key="p",
                           Body=b"x", Tagging="a=%ZZ")
        self.assertS3Error("InvalidArgument", 400, self.a.s3.put_object, Bucket=b, Key="p",
                           Body=b"x", Tagging="=v")
        self.assertS3Error("InvalidTag", 400, self.a.s3.put_object, Bucket=b, Key="p", Body=b"x",
                           Tagging="a%23b=1")
        self.assertS3Error("InvalidTag", 400, self.a.s3.put_object, Bucket=b, Key="p", Body=b"x",
                           Tagging="aws%3Ax=1")
        self.assertS3Error("BadRequest", 400, self.a.s3.put_object, Bucket=b, Key="p", Body=b"x",
                           Tagging="&".join("k%d=v" % i for i in range(11)))
        self.assertEqual(self.get_tags(b, "p"), [])  # nothing refused was stored

    def test_presigned_put_tagging(self):
        b = self.bucket(key=None)
        # boto3 signs x-amz-tagging as a header the uploader must send
        c = lib.client(ak=self.a.ak, sk=self.a.sk)
        url = c.generate_presigned_url("put_object", Params={
            "Bucket": b, "Key": "pre", "Tagging": "via=boto3"}, ExpiresIn=300)
        r = requests.put(url, data=b"p", headers={"x-amz-tagging": "via=boto3"}, timeout=30)
        self.assertEqual(r.status_code, 200, r.content)
        self.assertEqual(self.get_tags(b, "pre"), [("via", "boto3")])
        # SigV2 (boto3's default for presigned S3 URLs): signed as a header, sent in the query
        c2 = lib.client(ak=self.a.ak, sk=self.a.sk, signature_version="s3")
        url = c2.generate_presigned_url("put_object", Params={
            "Bucket": b, "Key": "v2", "Tagging": "via=sigv2"}, ExpiresIn=300)
        self.assertIn("Signature=", url)
        self.assertIn("x-amz-tagging=", url)
        r = requests.put(url, data=b"p", timeout=30)
        self.assertEqual(r.status_code, 200, r.content)
        self.assertEqual(self.get_tags(b, "v2"), [("via", "sigv2")])
        # other presigners put it in the signed query, where AWS reads it too
        http = lib.env().http
        path = lib.presign("PUT", "/%s/q" % b, query=[("x-amz-tagging", "via=query&n=1")],
                           ak=self.a.ak, sk=self.a.sk)
        r = requests.put(http + path, data=b"q", timeout=30)
        self.assertEqual(r.status_code, 200, r.content)
        self.assertEqual(self.get_tags(b, "q"), [("via", "query"), ("n", "1")])
        # the same for any x-amz-* header in the signed query: stored, or refused as AWS does
        path = lib.presign("PUT", "/%s/m" % b, query=[("x-amz-meta-color", "blue"),
                                                      ("x-amz-storage-class", "STANDARD_IA")],
                           ak=self.a.ak, sk=self.a.sk)
        r = requests.put(http + path, data=b"m", timeout=30)
        self.assertEqual(r.status_code, 200, r.content)
        h = self.a.s3.head_object(Bucket=b, Key="m")
        self.assertEqual((h["Metadata"], h["StorageClass"]), ({"color": "blue"}, "STANDARD_IA"))
        path = lib.presign("PUT", "/%s/acl" % b, query=[("x-amz-acl", "public-read")],
                           ak=self.a.ak, sk=self.a.sk)
        r = requests.put(http + path, data=b"a", timeout=30)
        self.assertEqual(r.status_code, 400, r.content)
        self.assertIn(b"AccessControlListNotSupported", r.content)
        path = lib.presign("PUT", "/%s/q" % b, query=[("x-amz-tagging", "bad!=1")],
                           ak=self.a.ak, sk=self.a.sk)
        r = requests.put(http + path, data=b"q", timeout=30)
        self.assertEqual(r.status_code, 400, r.content)
        self.assertIn(b"InvalidTag", r.content)

    def test_multipart(self):
        b = self.bucket(key=None)
        up = self.a.s3.create_multipart_upload(Bucket=b, Key="m", Tagging="stage=mpu&n=2")
        part = self.a.s3.upload_part(Bucket=b, Key="m", UploadId=up["UploadId"], PartNumber=1,
                                     Body=b"m" * 100)
        self.a.s3.complete_multipart_upload(
            Bucket=b, Key="m", UploadId=up["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        self.assertEqual(self.get_tags(b, "m"), [("stage", "mpu"), ("n", "2")])
        self.assertEqual(self.a.s3.head_object(Bucket=b, Key="m")["ResponseMetadata"]
                         ["HTTPHeaders"]["x-amz-tagging-count"], "2")
        self.assertS3Error("InvalidTag", 400, self.a.s3.create_multipart_upload, Bucket=b,
                           Key="m2", Tagging="bad!=1")

    def test_copy_directives(self):
        b = self.bucket(key=None)
        self.a.s3.put_object(Bucket=b, Key="src", Body=b"s", Tagging="from=src")
        src = {"Bucket": b, "Key": "src"}
        self.a.s3.copy_object(Bucket=b, Key="c1", CopySource=src)
        self.assertEqual(self.get_tags(b, "c1"), [("from", "src")])
        # COPY ignores x-amz-tagging
        self.a.s3.copy_object(Bucket=b, Key="c2", CopySource=src, TaggingDirective="COPY",
                              Tagging="x=y")
        self.assertEqual(self.get_tags(b, "c2"), [("from", "src")])
        self.a.s3.copy_object(Bucket=b, Key="c3", CopySource=src, TaggingDirective="REPLACE",
                              Tagging="new=1")
        self.assertEqual(self.get_tags(b, "c3"), [("new", "1")])
        self.a.s3.copy_object(Bucket=b, Key="c4", CopySource=src, TaggingDirective="REPLACE")
        self.assertEqual(self.get_tags(b, "c4"), [])
        self.assertS3Error("InvalidArgument", 400, self.a.s3.copy_object, Bucket=b, Key="c5",
                           CopySource=src, TaggingDirective="MERGE")
        self.assertS3Error("InvalidTag", 400, self.a.s3.copy_object, Bucket=b, Key="c5",
                           CopySource=src, TaggingDirective="REPLACE", Tagging="a=b!")

    def test_post_upload_tagging_field(self):
        b = bucket_name("tag-post")
        c = lib.client()
        c.create_bucket(Bucket=b)
        e = lib.env()
        xml = tagging_xml([("via", "post"), ("n", "1")])
        f = v4_form(e.ak, e.sk, b, [{"key": "p"}, {"tagging": xml}], {"key": "p", "tagging": xml})
        r = requests.post(url_for(b), data=list(f.items()), files={"file": ("f", b"post")},
                          timeout=60)
        self.assertEqual(r.status_code, 204, r.content)
        self.assertEqual(tags_of(c.get_object_tagging(Bucket=b, Key="p")),
                         [("via", "post"), ("n", "1")])
        bad = tagging_xml([("a!", "1")])
        f = v4_form(e.ak, e.sk, b, [{"key": "q"}, {"tagging": bad}], {"key": "q", "tagging": bad})
        r = requests.post(url_for(b), data=list(f.items()), files={"file": ("f", b"post")},
                          timeout=60)
        self.assertEqual(r.status_code, 400, r.content)
        self.assertIn(b"<Code>InvalidTag</Code>", r.content)
        self.assertStatus(404, c.head_object, Bucket=b, Key="q")
        lib.delete_bucket(c, b)


class TestBucketTagging(TaggingCase):
    tag = "tag-bkt"

    def test_bucket_round_trip(self):
        b = self.bucket(key=None)
        r = self.assertS3Error("NoSuchTagSet", 404, self.a.s3.get_bucket_tagging, Bucket=b)
        r = self.a.s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": tagset(
            [("cost-center", "42"), ("env", "prod")])})
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual(tags_of(self.a.s3.get_bucket_tagging(Bucket=b)),
                         [("cost-center", "42"), ("env", "prod")])
        fifty = [("k%d" % i, "v%d" % i) for i in range(50)]
        self.a.s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": tagset(fifty)})
        self.assertEqual(tags_of(self.a.s3.get_bucket_tagging(Bucket=b)), fifty)
        self.assertS3Error("BadRequest", 400, self.a.s3.put_bucket_tagging, Bucket=b,
                           Tagging={"TagSet": tagset(fifty + [("k50", "v")])})
        self.assertS3Error("InvalidTag", 400, self.a.s3.put_bucket_tagging, Bucket=b,
                           Tagging={"TagSet": tagset([("aws:x", "v")])})
        self.assertS3Error("InvalidTag", 400, self.a.s3.put_bucket_tagging, Bucket=b,
                           Tagging={"TagSet": tagset([("d", "1"), ("d", "2")])})
        self.assertEqual(len(self.a.s3.get_bucket_tagging(Bucket=b)["TagSet"]), 50)
        r = self.a.s3.delete_bucket_tagging(Bucket=b)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertS3Error("NoSuchTagSet", 404, self.a.s3.get_bucket_tagging, Bucket=b)
        # object tags are not the bucket's
        self.a.s3.put_object(Bucket=b, Key="o", Body=b"x", Tagging="a=b")
        self.assertS3Error("NoSuchTagSet", 404, self.a.s3.get_bucket_tagging, Bucket=b)

    def test_bucket_needs_content_md5(self):
        b = self.bucket(key=None)
        body = tagging_xml([("a", "b")]).encode()
        r = signed_request("PUT", "/%s" % b, query=[("tagging", None)], body=body, ak=self.a.ak,
                           sk=self.a.sk)
        self.assertRawError(r, 400, "InvalidRequest")

    def test_bucket_actions(self):
        b = self.bucket(key=None)
        u = self.user()
        arn = "arn:aws:s3:::%s" % b
        self.denied(u.s3.get_bucket_tagging, Bucket=b)
        self.denied(u.s3.put_bucket_tagging, Bucket=b, Tagging={"TagSet": tagset([("a", "b")])})
        self.denied(u.s3.delete_bucket_tagging, Bucket=b)
        u.put_policy(doc(allow(["s3:PutBucketTagging", "s3:GetBucketTagging"], arn)))
        u.s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": tagset([("a", "b")])})
        self.assertEqual(tags_of(u.s3.get_bucket_tagging(Bucket=b)), [("a", "b")])
        # DeleteBucketTagging is authorized as s3:PutBucketTagging
        u.s3.delete_bucket_tagging(Bucket=b)
        u.put_policy(doc(allow("s3:GetBucketTagging", arn)))
        self.denied(u.s3.delete_bucket_tagging, Bucket=b)


class TestTaggingAuthz(TaggingCase):
    tag = "tag-authz"

    def test_actions(self):
        b = self.versioned()
        v1 = self.a.s3.put_object(Bucket=b, Key="k", Body=b"x")["VersionId"]
        objs = "arn:aws:s3:::%s/*" % b
        u = self.user()
        u.put_policy(doc(allow("s3:GetObject", objs)))
        self.denied(u.s3.get_object_tagging, Bucket=b, Key="k")
        self.denied(self.put_tags, b, "k", [("a", "b")], client=u.s3)
        self.denied(u.s3.delete_object_tagging, Bucket=b, Key="k")
        u.put_policy(doc(allow(["s3:GetObjectTagging", "s3:PutObjectTagging",
                                "s3:DeleteObjectTagging"], objs)))
        self.put_tags(b, "k", [("a", "b")], client=u.s3)
        self.assertEqual(tags_of(u.s3.get_object_tagging(Bucket=b, Key="k")), [("a", "b")])
        u.s3.delete_object_tagging(Bucket=b, Key="k")
        # with a versionId: the ...ObjectVersionTagging actions
        self.denied(u.s3.get_object_tagging, Bucket=b, Key="k", VersionId=v1)
        self.denied(self.put_tags, b, "k", [("a", "b")], client=u.s3, VersionId=v1)
        self.denied(u.s3.delete_object_tagging, Bucket=b, Key="k", VersionId=v1)
        u.put_policy(doc(allow(["s3:GetObjectVersionTagging", "s3:PutObjectVersionTagging",
                                "s3:DeleteObjectVersionTagging"], objs)))
        self.put_tags(b, "k", [("v", "1")], client=u.s3, VersionId=v1)
        self.assertEqual(tags_of(u.s3.get_object_tagging(Bucket=b, Key="k", VersionId=v1)),
                         [("v", "1")])
        u.s3.delete_object_tagging(Bucket=b, Key="k", VersionId=v1)

    def test_case_41_tagging_header_needs_put_object_tagging(self):
        b = self.bucket(key=None)
        objs = "arn:aws:s3:::%s/*" % b
        u = self.user()
        u.put_policy(doc(allow("s3:PutObject", objs)))
        u.s3.put_object(Bucket=b, Key="p", Body=b"x")
        self.denied(u.s3.put_object, Bucket=b, Key="p", Body=b"x", Tagging="a=b")
        self.denied(u.s3.create_multipart_upload, Bucket=b, Key="m", Tagging="a=b")
        self.denied(u.s3.copy_object, Bucket=b, Key="c", CopySource={"Bucket": b, "Key": "p"},
                    TaggingDirective="REPLACE", Tagging="a=b")
        u.put_policy(doc(allow(["s3:PutObject", "s3:GetObject"], objs)))
        u.s3.copy_object(Bucket=b, Key="c", CopySource={"Bucket": b, "Key": "p"})
        u.put_policy(doc(allow(["s3:PutObject", "s3:PutObjectTagging"], objs)))
        u.s3.put_object(Bucket=b, Key="p", Body=b"x", Tagging="a=b")
        self.assertEqual(self.get_tags(b, "p"), [("a", "b")])

    def test_case_32_request_tag_keys_for_all_values(self):
        b = self.bucket()
        u = self.user()
        u.put_policy(doc(allow("s3:PutObjectTagging", "arn:aws:s3:::%s/*" % b, Condition={
            "ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["Owner", "CreationDate"]}})))
        self.put_tags(b, "k", [("Owner", "me")], client=u.s3)
        self.denied(self.put_tags, b, "k", [("Owner", "me"), ("Project", "x")], client=u.s3)
        self.put_tags(b, "k", [], client=u.s3)
        self.assertEqual(self.get_tags(b, "k"), [])

    def test_case_33_deny_request_tag_key(self):
        b = self.bucket(key=None)
        objs = "arn:aws:s3:::%s/*" % b
        u = self.user()
        u.put_policy(doc(allow(["s3:PutObject", "s3:PutObjectTagging"], objs),
                         deny("s3:PutObject", objs, Condition={
                             "ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": ["secret"]}})))
        u.s3.put_object(Bucket=b, Key="p", Body=b"x")
        self.denied(u.s3.put_object, Bucket=b, Key="p", Body=b"x", Tagging="secret=1")
        u.s3.put_object(Bucket=b, Key="p", Body=b"x", Tagging="public=1")

    def test_request_object_tag_value(self):
        b = self.bucket()
        objs = "arn:aws:s3:::%s/*" % b
        u = self.user()
        u.put_policy(doc(allow(["s3:PutObject", "s3:PutObjectTagging"], objs, Condition={
            "StringEquals": {"s3:RequestObjectTag/team": "blue"}})))
        u.s3.put_object(Bucket=b, Key="p", Body=b"x", Tagging="team=blue")
        self.denied(u.s3.put_object, Bucket=b, Key="p", Body=b"x", Tagging="team=red")
        self.denied(u.s3.put_object, Bucket=b, Key="p", Body=b"x")
        self.put_tags(b, "p", [("team", "blue"), ("n", "1")], client=u.s3)
        self.denied(self.put_tags, b, "p", [("team", "red")], client=u.s3)

    def test_existing_object_tag(self):
        b = self.versioned()
        v1 = self.a.s3.put_object(Bucket=b, Key="k", Body=b"pub", Tagging="class=public")[
            "VersionId"]
        self.a.s3.put_object(Bucket=b, Key="s", Body=b"sec", Tagging="class=secret")
        objs = "arn:aws:s3:::%s/*" % b
        u = self.user()
        u.put_policy(doc(allow(["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging"],
                               objs, Condition={
                                   "StringEquals": {"s3:ExistingObjectTag/class": "public"}})))
        self.assertEqual(u.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"pub")
        self.assertEqual(tags_of(u.s3.get_object_tagging(Bucket=b, Key="k")),
                         [("class", "public")])
        self.denied(u.s3.get_object, Bucket=b, Key="s")
        self.denied(u.s3.get_object_tagging, Bucket=b, Key="s")
        # the version acted on decides: a newer untagged version is refused, v1 is not
        self.a.s3.put_object(Bucket=b, Key="k", Body=b"new")
        self.denied(u.s3.get_object, Bucket=b, Key="k")
        self.assertEqual(u.s3.get_object(Bucket=b, Key="k", VersionId=v1)["Body"].read(), b"pub")
        # the tag follows PutObjectTagging at once
        self.a.s3.put_object_tagging(Bucket=b, Key="s",
                                     Tagging={"TagSet": tagset([("class", "public")])})
        self.assertEqual(u.s3.get_object(Bucket=b, Key="s")["Body"].read(), b"sec")


class TestTaggingCli(TaggingCase):
    tag = "tag-cli"

    def cli(self, *args):
        r = aws(self.a.ak, self.a.sk, "s3api", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout) if r.stdout.strip() else None

    def test_aws_cli(self):
        b = self.bucket()
        self.cli("put-object-tagging", "--bucket", b, "--key", "k", "--tagging",
                 '{"TagSet": [{"Key": "cli", "Value": "yes"}]}')
        out = self.cli("get-object-tagging", "--bucket", b, "--key", "k")
        self.assertEqual(out["TagSet"], [{"Key": "cli", "Value": "yes"}])
        out = self.cli("head-object", "--bucket", b, "--key", "k")
        self.assertEqual(out.get("TagCount", 1), 1)
        self.cli("delete-object-tagging", "--bucket", b, "--key", "k")
        self.assertEqual(self.cli("get-object-tagging", "--bucket", b, "--key", "k")["TagSet"], [])
        with tempfile.NamedTemporaryFile() as f:
            f.write(b"cli body")
            f.flush()
            self.cli("put-object", "--bucket", b, "--key", "t", "--body", f.name, "--tagging",
                     "a=1&b=2")
        self.assertEqual(self.get_tags(b, "t"), [("a", "1"), ("b", "2")])
        self.cli("put-bucket-tagging", "--bucket", b, "--tagging",
                 '{"TagSet": [{"Key": "team", "Value": "storage"}]}')
        out = self.cli("get-bucket-tagging", "--bucket", b)
        self.assertEqual(out["TagSet"], [{"Key": "team", "Value": "storage"}])
        self.cli("delete-bucket-tagging", "--bucket", b)
        r = aws(self.a.ak, self.a.sk, "s3api", "get-bucket-tagging", "--bucket", b)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("NoSuchTagSet", r.stderr)
        r = aws(self.a.ak, self.a.sk, "s3api", "put-object-tagging", "--bucket", b, "--key", "k",
                "--tagging", '{"TagSet": [{"Key": "aws:x", "Value": "v"}]}')
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("InvalidTag", r.stderr)
