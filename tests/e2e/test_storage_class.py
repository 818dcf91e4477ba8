"""Storage classes with boto3: each class Coffer stores is kept by PutObject, CreateMultipartUpload
(and so the completed object), CopyObject (an in-place class change included) and browser POST
uploads, listed by ListObjects v1/v2, ListObjectVersions, ListMultipartUploads and ListParts, and
returned by GET/HEAD (x-amz-storage-class, absent for STANDARD); the archive classes and the ones
S3 keeps for other hardware get 400 InvalidStorageClass; RestoreObject answers 403
InvalidObjectState for a stored object, 404 for a missing one. Website redirects
(x-amz-website-redirect-location) are stored, returned, validated and not copied."""

import requests

from lib import E2ETestCase, bucket_name, client, delete_bucket

STORED = ["STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
          "GLACIER_IR"]
REFUSED = ["GLACIER", "DEEP_ARCHIVE", "OUTPOSTS", "SNOW", "EXPRESS_ONEZONE", "standard_ia",
           "NOPE"]
PART = 5 * 1024 * 1024


class StorageClassTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls.b = bucket_name("sclass")
        cls.c.create_bucket(Bucket=cls.b)
        cls.vb = bucket_name("sclassv")
        cls.c.create_bucket(Bucket=cls.vb)
        cls.c.put_bucket_versioning(Bucket=cls.vb,
                                    VersioningConfiguration={"Status": "Enabled"})

    @classmethod
    def tearDownClass(cls):
        delete_bucket(cls.c, cls.b)
        delete_bucket(cls.c, cls.vb)

    def assertClass(self, key, sc, bucket=None, **kw):
        bucket = bucket or self.b
        h = self.c.head_object(Bucket=bucket, Key=key, **kw)
        g = self.c.get_object(Bucket=bucket, Key=key, **kw)
        g["Body"].read()
        hdr = h["ResponseMetadata"]["HTTPHeaders"]
        if sc == "STANDARD":
            # AWS: no header for STANDARD.
            self.assertNotIn("x-amz-storage-class", hdr)
            self.assertNotIn("StorageClass", g)
        else:
            self.assertEqual(hdr.get("x-amz-storage-class"), sc)
            self.assertEqual(g.get("StorageClass"), sc)

    def listed(self, prefix, bucket=None):
        bucket = bucket or self.b
        v2 = {o["Key"]: o["StorageClass"]
              for o in self.c.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])}
        v1 = {o["Key"]: o["StorageClass"]
              for o in self.c.list_objects(Bucket=bucket, Prefix=prefix).get("Contents", [])}
        self.assertEqual(v1, v2)
        return v2

    def test_put_each_class(self):
        for sc in STORED:
            self.c.put_object(Bucket=self.b, Key="put/" + sc, Body=b"x" * 10, StorageClass=sc)
        self.c.put_object(Bucket=self.b, Key="put/none", Body=b"y")
        got = self.listed("put/")
        for sc in STORED:
            self.assertEqual(got["put/" + sc], sc)
            self.assertClass("put/" + sc, sc)
        self.assertEqual(got["put/none"], "STANDARD")
        self.assertClass("put/none", "STANDARD")
        # A large (file-backed) object too.
        self.c.put_object(Bucket=self.b, Key="put/big", Body=b"z" * (200 * 1024),
                          StorageClass="ONEZONE_IA")
        self.assertClass("put/big", "ONEZONE_IA")

    def test_refused_classes(self):
        for sc in REFUSED:
            self.assertS3Error("InvalidStorageClass", 400, self.c.put_object, Bucket=self.b,
                               Key="ref/" + sc, Body=b"x", StorageClass=sc)
            self.assertS3Error("InvalidStorageClass", 400, self.c.create_multipart_upload,
                               Bucket=self.b, Key="ref/" + sc, StorageClass=sc)
        self.c.put_object(Bucket=self.b, Key="ref/src", Body=b"s")
        self.assertS3Error("InvalidStorageClass", 400, self.c.copy_object, Bucket=self.b,
                           Key="ref/dst", CopySource={"Bucket": self.b, "Key": "ref/src"},
                           StorageClass="GLACIER")
        self.assertEqual(sorted(self.listed("ref/")), ["ref/src"])

    def test_multipart(self):
        key = "mpu/obj"
        up = self.c.create_multipart_upload(Bucket=self.b, Key=key, StorageClass="STANDARD_IA")
        uid = up["UploadId"]
        ups = [u for u in self.c.list_multipart_uploads(Bucket=self.b, Prefix="mpu/")["Uploads"]
               if u["UploadId"] == uid]
        self.assertEqual(ups[0]["StorageClass"], "STANDARD_IA")
        e1 = self.c.upload_part(Bucket=self.b, Key=key, UploadId=uid, PartNumber=1,
                                Body=b"a" * PART)["ETag"]
        e2 = self.c.upload_part(Bucket=self.b, Key=key, UploadId=uid, PartNumber=2,
                                Body=b"b" * 10)["ETag"]
        lp = self.c.list_parts(Bucket=self.b, Key=key, UploadId=uid)
        self.assertEqual(lp["StorageClass"], "STANDARD_IA")
        self.c.complete_multipart_upload(
            Bucket=self.b, Key=key, UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                       {"PartNumber": 2, "ETag": e2}]})
        self.assertEqual(self.listed("mpu/")[key], "STANDARD_IA")
        self.assertClass(key, "STANDARD_IA")
        # An upload without a class lists as STANDARD.
        up = self.c.create_multipart_upload(Bucket=self.b, Key="mpu/plain")
        ups = [u for u in self.c.list_multipart_uploads(Bucket=self.b, Prefix="mpu/")["Uploads"]
               if u["UploadId"] == up["UploadId"]]
        self.assertEqual(ups[0]["StorageClass"], "STANDARD")
        self.c.abort_multipart_upload(Bucket=self.b, Key="mpu/plain", UploadId=up["UploadId"])

    def test_copy(self):
        self.c.put_object(Bucket=self.b, Key="cp/src", Body=b"data", StorageClass="ONEZONE_IA")
        # AWS: the class is not copied: STANDARD unless the request names one.
        self.c.copy_object(Bucket=self.b, Key="cp/plain", CopySource={"Bucket": self.b,
                                                                       "Key": "cp/src"})
        self.assertClass("cp/plain", "STANDARD")
        self.c.copy_object(Bucket=self.b, Key="cp/ia", StorageClass="INTELLIGENT_TIERING",
                           CopySource={"Bucket": self.b, "Key": "cp/src"})
        self.assertClass("cp/ia", "INTELLIGENT_TIERING")
        # In place: changing only the class is allowed (COPY directive, same key).
        self.c.copy_object(Bucket=self.b, Key="cp/src", StorageClass="GLACIER_IR",
                           CopySource={"Bucket": self.b, "Key": "cp/src"})
        self.assertClass("cp/src", "GLACIER_IR")
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="cp/src")["Body"].read(), b"data")
        self.assertEqual(self.listed("cp/")["cp/src"], "GLACIER_IR")
        # Without a change, in place is still refused.
        self.assertS3Error("InvalidRequest", 400, self.c.copy_object, Bucket=self.b,
                           Key="cp/src", CopySource={"Bucket": self.b, "Key": "cp/src"})

    def test_versions(self):
        k = "ver/obj"
        v1 = self.c.put_object(Bucket=self.vb, Key=k, Body=b"1", StorageClass="STANDARD_IA")
        v2 = self.c.put_object(Bucket=self.vb, Key=k, Body=b"2")
        self.c.delete_object(Bucket=self.vb, Key=k)
        r = self.c.list_object_versions(Bucket=self.vb, Prefix="ver/")
        byid = {v["VersionId"]: v["StorageClass"] for v in r["Versions"]}
        self.assertEqual(byid[v1["VersionId"]], "STANDARD_IA")
        self.assertEqual(byid[v2["VersionId"]], "STANDARD")
        self.assertNotIn("StorageClass", r["DeleteMarkers"][0])
        self.assertClass(k, "STANDARD_IA", bucket=self.vb, VersionId=v1["VersionId"])

    def test_post_upload(self):
        p = self.c.generate_presigned_post(
            Bucket=self.b, Key="post/obj", Fields={"x-amz-storage-class": "REDUCED_REDUNDANCY"},
            Conditions=[{"x-amz-storage-class": "REDUCED_REDUNDANCY"}])
        r = requests.post(p["url"], data=p["fields"], files={"file": ("f", b"posted")},
                          timeout=60)
        self.assertEqual(r.status_code, 204, r.content)
        self.assertClass("post/obj", "REDUCED_REDUNDANCY")
        p = self.c.generate_presigned_post(
            Bucket=self.b, Key="post/bad", Fields={"x-amz-storage-class": "DEEP_ARCHIVE"},
            Conditions=[{"x-amz-storage-class": "DEEP_ARCHIVE"}])
        r = requests.post(p["url"], data=p["fields"], files={"file": ("f", b"x")}, timeout=60)
        self.assertEqual(r.status_code, 400, r.content)
        self.assertIn(b"<Code>InvalidStorageClass</Code>", r.content)

    def test_restore_object(self):
        self.c.put_object(Bucket=self.b, Key="rs/obj", Body=b"x", StorageClass="STANDARD_IA")
        r = self.assertS3Error("InvalidObjectState", 403, self.c.restore_object, Bucket=self.b,
                               Key="rs/obj", RestoreRequest={"Days": 1})
        self.assertIn("storage class", r["Error"]["Message"])
        self.assertS3Error("InvalidObjectState", 403, self.c.restore_object, Bucket=self.b,
                           Key="rs/obj")
        self.assertS3Error("NoSuchKey", 404, self.c.restore_object, Bucket=self.b,
                           Key="rs/missing", RestoreRequest={"Days": 1})
        vid = self.c.put_object(Bucket=self.vb, Key="rs/v", Body=b"v")["VersionId"]
        self.assertS3Error("InvalidObjectState", 403, self.c.restore_object, Bucket=self.vb,
                           Key="rs/v", VersionId=vid, RestoreRequest={"Days": 1})
        self.c.delete_object(Bucket=self.vb, Key="rs/v", VersionId=vid)
        self.assertS3Error("NoSuchVersion", 404, self.c.restore_object, Bucket=self.vb,
                           Key="rs/v", VersionId=vid, RestoreRequest={"Days": 1})

    def test_restore_malformed(self):
        self.c.put_object(Bucket=self.b, Key="rs/m", Body=b"x")
        url = self.c.generate_presigned_url("restore_object",
                                            Params={"Bucket": self.b, "Key": "rs/m"})
        r = requests.post(url, data=b"<RestoreRequest><Days>1</Days>", timeout=30)
        self.assertEqual(r.status_code, 400, r.content)
        self.assertIn(b"<Code>MalformedXML</Code>", r.content)

    def test_website_redirect(self):
        for loc in ["/other/page.html", "http://example.com/x", "https://example.com/y"]:
            self.c.put_object(Bucket=self.b, Key="wr/ok", Body=b"x", WebsiteRedirectLocation=loc)
            h = self.c.head_object(Bucket=self.b, Key="wr/ok")
            self.assertEqual(h.get("WebsiteRedirectLocation"), loc)
            g = self.c.get_object(Bucket=self.b, Key="wr/ok")
            self.assertEqual(g.get("WebsiteRedirectLocation"), loc)
        for loc in ["page.html", "ftp://example.com/", "HTTP://x", "/" + "a" * 2048]:
            self.assertS3Error("InvalidRedirectLocation", 400, self.c.put_object, Bucket=self.b,
                               Key="wr/bad", Body=b"x", WebsiteRedirectLocation=loc)
            self.assertS3Error("InvalidRedirectLocation", 400, self.c.create_multipart_upload,
                               Bucket=self.b, Key="wr/bad", WebsiteRedirectLocation=loc)
        # Multipart: the upload's redirect becomes the object's.
        up = self.c.create_multipart_upload(Bucket=self.b, Key="wr/mpu",
                                            WebsiteRedirectLocation="/mpu-target")
        e = self.c.upload_part(Bucket=self.b, Key="wr/mpu", UploadId=up["UploadId"],
                               PartNumber=1, Body=b"p")["ETag"]
        self.c.complete_multipart_upload(Bucket=self.b, Key="wr/mpu", UploadId=up["UploadId"],
                                         MultipartUpload={"Parts": [{"PartNumber": 1,
                                                                     "ETag": e}]})
        self.assertEqual(self.c.head_object(Bucket=self.b, Key="wr/mpu")
                         .get("WebsiteRedirectLocation"), "/mpu-target")
        # Copy: AWS never copies the redirect; the request's own is stored (COPY or REPLACE),
        # and setting only the redirect in place is allowed.
        self.c.put_object(Bucket=self.b, Key="wr/src", Body=b"s", WebsiteRedirectLocation="/a")
        self.c.copy_object(Bucket=self.b, Key="wr/c1", CopySource={"Bucket": self.b,
                                                                    "Key": "wr/src"})
        self.assertNotIn("WebsiteRedirectLocation", self.c.head_object(Bucket=self.b,
                                                                       Key="wr/c1"))
        self.c.copy_object(Bucket=self.b, Key="wr/c2", WebsiteRedirectLocation="/b",
                           CopySource={"Bucket": self.b, "Key": "wr/src"})
        self.assertEqual(self.c.head_object(Bucket=self.b, Key="wr/c2")
                         .get("WebsiteRedirectLocation"), "/b")
        self.c.copy_object(Bucket=self.b, Key="wr/c3", WebsiteRedirectLocation="https://z/",
                           MetadataDirective="REPLACE",
                           CopySource={"Bucket": self.b, "Key": "wr/src"})
        self.assertEqual(self.c.head_object(Bucket=self.b, Key="wr/c3")
                         .get("WebsiteRedirectLocation"), "https://z/")
        self.c.copy_object(Bucket=self.b, Key="wr/src", WebsiteRedirectLocation="/c",
                           CopySource={"Bucket": self.b, "Key": "wr/src"})
        self.assertEqual(self.c.head_object(Bucket=self.b, Key="wr/src")
                         .get("WebsiteRedirectLocation"), "/c")
        self.assertS3Error("InvalidRedirectLocation", 400, self.c.copy_object, Bucket=self.b,
                           Key="wr/c4", WebsiteRedirectLocation="nope",
                           CopySource={"Bucket": self.b, "Key": "wr/src"})
        # POST upload field.
        for loc, status in [("/posted", 204), ("bad", 400)]:
            p = self.c.generate_presigned_post(
                Bucket=self.b, Key="wr/post", Fields={"x-amz-website-redirect-location": loc},
                Conditions=[{"x-amz-website-redirect-location": loc}])
            r = requests.post(p["url"], data=p["fields"], files={"file": ("f", b"x")},
                              timeout=60)
            self.assertEqual(r.status_code, status, r.content)
        self.assertEqual(self.c.head_object(Bucket=self.b, Key="wr/post")
                         .get("WebsiteRedirectLocation"), "/posted")
