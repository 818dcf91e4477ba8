"""Lifecycle response headers with boto3 [spec lifecycle A4, A7 cases 14, 16-18, 29, 32-37]:
x-amz-expiration on PutObject, GetObject, HeadObject, CopyObject and CompleteMultipartUpload for
the current version addressed without a versionId, from the enabled Expiration Days/Date rule
that matches it and falls due first (ties to the first rule); x-amz-abort-date and
x-amz-abort-rule-id on CreateMultipartUpload and ListParts, not UploadPart. Dates are computed
here from the object's own Last-Modified (or the upload's Initiated): the start of its UTC day
plus N + 1 real days, weekday included."""

import datetime
import email.utils

from lib import E2ETestCase, bucket_name, client, delete_bucket

DAY = datetime.timedelta(days=1)
PART = 5 * 1024 * 1024


def rule(rid, flt, days=None, status="Enabled", **extra):
    r = {"ID": rid, "Status": status, "Filter": flt}
    if days is not None:
        r["Expiration"] = {"Days": days}
    r.update(extra)
    return r


def due(t, days):
    """floor_day(t) + (days + 1) days, as an IMF-fixdate."""
    start = t.astimezone(datetime.timezone.utc).replace(hour=0, minute=0, second=0,
                                                        microsecond=0)
    return email.utils.format_datetime(start + (days + 1) * DAY, usegmt=True)


def hdrs(resp):
    return resp["ResponseMetadata"]["HTTPHeaders"]


class LifecycleHeadersTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls.buckets = []

    @classmethod
    def tearDownClass(cls):
        for b in cls.buckets:
            delete_bucket(cls.c, b)

    def bucket(self, rules, versioned=False):
        b = bucket_name("lch")
        self.c.create_bucket(Bucket=b)
        self.buckets.append(b)
        if versioned:
            self.c.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        if rules:
            self.c.put_bucket_lifecycle_configuration(Bucket=b,
                                                      LifecycleConfiguration={"Rules": rules})
        return b

    def expiration(self, b, key, body=b"x", **put):
        """The x-amz-expiration of PUT, GET and HEAD of key (all three must agree), or None."""
        p = hdrs(self.c.put_object(Bucket=b, Key=key, Body=body, **put)).get("x-amz-expiration")
        g = self.c.get_object(Bucket=b, Key=key)
        g["Body"].read()
        h = self.c.head_object(Bucket=b, Key=key)
        self.assertEqual(hdrs(g).get("x-amz-expiration"), p)
        self.assertEqual(hdrs(h).get("x-amz-expiration"), p)
        return p

    def want(self, b, key, days, rid):
        lm = self.c.head_object(Bucket=b, Key=key)["LastModified"]
        return 'expiry-date="%s", rule-id="%s"' % (due(lm, days), rid)

    def test_prefix_days(self):
        # Case 14 (its date for an object PUT now), 16; the V1 rule-level Prefix too.
        b = self.bucket([rule("R1", {"Prefix": "logs/"}, 1)])
        self.assertEqual(self.expiration(b, "logs/a"), self.want(b, "logs/a", 1, "R1"))
        # Data in a file: GET and HEAD are answered by a worker, once.
        self.assertEqual(self.expiration(b, "logs/big", b"x" * (200 * 1024)),
                         self.want(b, "logs/big", 1, "R1"))
        self.assertIsNone(self.expiration(b, "Logs/a"))
        self.assertIsNone(self.expiration(b, "logsx"))
        v1 = self.bucket([{"ID": "V1", "Status": "Enabled", "Prefix": "logs/",
                           "Expiration": {"Days": 2}}])
        self.assertEqual(self.expiration(v1, "logs/a"), self.want(v1, "logs/a", 2, "V1"))
        # boto3 parses the header.
        r = self.c.head_object(Bucket=b, Key="logs/a")
        self.assertIn('rule-id="R1"', r["Expiration"])

    def test_disabled_and_other_actions(self):
        # Case 17; rules without Expiration Days/Date give no header.
        b = self.bucket([
            rule("off", {"Prefix": ""}, 1, status="Disabled"),
            rule("dm", {"Prefix": ""}, Expiration={"ExpiredObjectDeleteMarker": True}),
            rule("nc", {"Prefix": ""}, NoncurrentVersionExpiration={"NoncurrentDays": 1}),
            rule("ab", {"Prefix": ""},
                 AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1}),
        ])
        self.assertIsNone(self.expiration(b, "k"))
        self.assertIsNone(self.expiration(self.bucket([]), "k"))

    def test_days_3(self):
        # Case 18 with real days: whatever time of day, the next midnight after 3 days.
        b = self.bucket([rule("R3", {}, 3)])
        self.assertEqual(self.expiration(b, "k"), self.want(b, "k", 3, "R3"))

    def test_date(self):
        # Case 31: the rule's date itself, even once past.
        b = self.bucket([{"ID": "D", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
                          "Expiration": {"Date": datetime.datetime(2026, 2, 1,
                                                                   tzinfo=datetime.timezone.utc)}}])
        self.assertEqual(self.expiration(b, "tmp/b"),
                         'expiry-date="Sun, 01 Feb 2026 00:00:00 GMT", rule-id="D"')

    def test_tags(self):
        # Cases 32, 33.
        b = self.bucket([
            rule("T", {"Tag": {"Key": "k", "Value": "v"}}, 1),
            rule("A", {"And": {"Prefix": "docs/", "Tags": [{"Key": "a", "Value": "1"},
                                                           {"Key": "b", "Value": "2"}]}}, 2),
        ])
        self.assertEqual(self.expiration(b, "t1", Tagging="k=v&x=y"), self.want(b, "t1", 1, "T"))
        self.assertIsNone(self.expiration(b, "t2", Tagging="k=V"))
        self.assertIsNone(self.expiration(b, "t3"))
        self.assertIsNone(self.expiration(b, "docs/x", Tagging="a=1"))
        self.assertEqual(self.expiration(b, "docs/y", Tagging="a=1&b=2&c=3"),
                         self.want(b, "docs/y", 2, "A"))
        # The tags as they are now: PutObjectTagging changes the answer of GET.
        self.c.put_object_tagging(Bucket=b, Key="t1", Tagging={"TagSet": []})
        self.assertNotIn("x-amz-expiration", hdrs(self.c.head_object(Bucket=b, Key="t1")))

    def test_sizes(self):
        # Case 34: strict bounds.
        b = self.bucket([rule("G", {"ObjectSizeGreaterThan": 20}, 7),
                         rule("L", {"ObjectSizeLessThan": 10}, 7)])
        self.assertEqual(self.expiration(b, "s22", b"x" * 22), self.want(b, "s22", 7, "G"))
        self.assertEqual(self.expiration(b, "s5", b"x" * 5), self.want(b, "s5", 7, "L"))
        for n in (15, 20, 10):
            self.assertIsNone(self.expiration(b, "s%d" % n, b"x" * n))

    def test_earliest_then_first(self):
        # Cases 35, 36.
        b = self.bucket([rule("Y", {}, 365), rule("W", {"Prefix": "logs/"}, 7)])
        self.assertEqual(self.expiration(b, "logs/a"), self.want(b, "logs/a", 7, "W"))
        b = self.bucket([rule("one", {"Prefix": "testobject"}, 7),
                         rule("two", {"Prefix": "test"}, 7),
                         rule("three", {"Prefix": "t"}, 7)])
        self.assertEqual(self.expiration(b, "testobject-x"),
                         self.want(b, "testobject-x", 7, "one"))
        self.assertEqual(self.expiration(b, "test-1"), self.want(b, "test-1", 7, "two"))
        self.assertIsNone(self.expiration(b, "zz"))

    def test_versions(self):
        # Case 37: only the current version asked for without a versionId.
        b = self.bucket([rule("R", {}, 1)], versioned=True)
        v1 = self.c.put_object(Bucket=b, Key="k", Body=b"1")["VersionId"]
        r2 = self.c.put_object(Bucket=b, Key="k", Body=b"2")
        v2 = r2["VersionId"]
        self.assertEqual(hdrs(r2).get("x-amz-expiration"), self.want(b, "k", 1, "R"))
        self.assertEqual(hdrs(self.c.head_object(Bucket=b, Key="k")).get("x-amz-expiration"),
                         self.want(b, "k", 1, "R"))
        for vid in (v2, v1):
            self.assertNotIn("x-amz-expiration",
                             hdrs(self.c.head_object(Bucket=b, Key="k", VersionId=vid)))
            g = self.c.get_object(Bucket=b, Key="k", VersionId=vid)
            g["Body"].read()
            self.assertNotIn("x-amz-expiration", hdrs(g))

    def test_copy_and_complete(self):
        b = self.bucket([rule("C", {"Prefix": "dst/"}, 5)])
        self.c.put_object(Bucket=b, Key="src", Body=b"data")
        r = self.c.copy_object(Bucket=b, Key="dst/c", CopySource={"Bucket": b, "Key": "src"})
        self.assertEqual(hdrs(r).get("x-amz-expiration"), self.want(b, "dst/c", 5, "C"))
        up = self.c.create_multipart_upload(Bucket=b, Key="dst/m")["UploadId"]
        e = self.c.upload_part(Bucket=b, Key="dst/m", UploadId=up, PartNumber=1,
                               Body=b"p")["ETag"]
        r = self.c.complete_multipart_upload(
            Bucket=b, Key="dst/m", UploadId=up,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
        self.assertEqual(hdrs(r).get("x-amz-expiration"), self.want(b, "dst/m", 5, "C"))
        self.assertIn('rule-id="C"', r["Expiration"])

    def test_abort_headers(self):
        # Case 29.
        b = self.bucket([rule("A7", {"Prefix": "up/"},
                              AbortIncompleteMultipartUpload={"DaysAfterInitiation": 7})])
        r = self.c.create_multipart_upload(Bucket=b, Key="up/big")
        up = r["UploadId"]
        init = [u for u in self.c.list_multipart_uploads(Bucket=b)["Uploads"]
                if u["UploadId"] == up][0]["Initiated"]
        want = due(init, 7)
        self.assertEqual(hdrs(r).get("x-amz-abort-date"), want)
        self.assertEqual(hdrs(r).get("x-amz-abort-rule-id"), "A7")
        self.assertEqual(r["AbortRuleId"], "A7")
        p = self.c.upload_part(Bucket=b, Key="up/big", UploadId=up, PartNumber=1, Body=b"x")
        self.assertNotIn("x-amz-abort-date", hdrs(p))
        self.assertNotIn("x-amz-abort-rule-id", hdrs(p))
        lp = self.c.list_parts(Bucket=b, Key="up/big", UploadId=up)
        self.assertEqual(hdrs(lp).get("x-amz-abort-date"), want)
        self.assertEqual(lp["AbortRuleId"], "A7")
        other = self.c.create_multipart_upload(Bucket=b, Key="down/big")
        self.assertNotIn("x-amz-abort-date", hdrs(other))
        for u in (up, other["UploadId"]):
            key = "up/big" if u == up else "down/big"
            self.c.abort_multipart_upload(Bucket=b, Key=key, UploadId=u)
