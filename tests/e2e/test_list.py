"""ListObjects v1 and v2: prefix, delimiter/CommonPrefixes, marker, continuation-token,
start-after, max-keys, encoding-type=url (raw, since boto3 always asks for it), fetch-owner."""

import unittest
import urllib.parse
import xml.etree.ElementTree as ET

from lib import S3NS, E2ETestCase, bucket_name, client, delete_bucket, env, signed_request

KEYS = sorted(["a/1", "a/2", "a/b/3", "a/b/4", "b/1", "c", "d e", "f+g", "h%i", "j/k/l/m",
               "zz", "é/1", "ü"])
ODD = ["sp ace", "pl+us", "pct%25", "ctl\x01x", "lt<gt>&", "new\nline", "ünï", "q?=&"]


def by_bytes(keys):
    return sorted(keys, key=lambda k: k.encode("utf-8"))


class ListTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls.b = bucket_name("list")
        cls.c.create_bucket(Bucket=cls.b)
        for k in KEYS:
            cls.c.put_object(Bucket=cls.b, Key=k, Body=k.encode())
        cls.odd = bucket_name("listodd")
        cls.c.create_bucket(Bucket=cls.odd)
        for k in ODD:
            cls.c.put_object(Bucket=cls.odd, Key=k, Body=b"o")
        cls.empty = bucket_name("listempty")
        cls.c.create_bucket(Bucket=cls.empty)

    @classmethod
    def tearDownClass(cls):
        for b in (cls.b, cls.odd, cls.empty):
            delete_bucket(cls.c, b)

    def v2(self, **kw):
        return self.c.list_objects_v2(Bucket=self.b, **kw)

    def v1(self, **kw):
        return self.c.list_objects(Bucket=self.b, **kw)

    @staticmethod
    def keys(r):
        return [o["Key"] for o in r.get("Contents", [])]

    @staticmethod
    def prefixes(r):
        return [p["Prefix"] for p in r.get("CommonPrefixes", [])]

    # --- v2

    def test_v2_all_sorted_by_utf8_bytes(self):
        r = self.v2()
        self.assertEqual(self.keys(r), by_bytes(KEYS))
        self.assertEqual(r["KeyCount"], len(KEYS))
        self.assertFalse(r["IsTruncated"])
        self.assertEqual(r["MaxKeys"], 1000)
        self.assertEqual(r["Name"], self.b)

    def test_v2_entries_have_size_etag_lastmodified_storageclass(self):
        r = self.v2(Prefix="c")
        o = r["Contents"][0]
        self.assertEqual(o["Size"], 1)
        self.assertEqual(o["ETag"], '"4a8a08f09d37b73795649038408b5f33"')
        self.assertEqual(o["StorageClass"], "STANDARD")
        self.assertIn("LastModified", o)
        self.assertNotIn("Owner", o)

    def test_v2_prefix(self):
        self.assertEqual(self.keys(self.v2(Prefix="a/")), ["a/1", "a/2", "a/b/3", "a/b/4"])
        self.assertEqual(self.keys(self.v2(Prefix="nothing")), [])

    def test_v2_delimiter_common_prefixes(self):
        r = self.v2(Delimiter="/")
        self.assertEqual(self.keys(r), ["c", "d e", "f+g", "h%i", "zz", "ü"])
        self.assertEqual(self.prefixes(r), ["a/", "b/", "j/", "é/"])
        self.assertEqual(r["KeyCount"], 10)

    def test_v2_prefix_and_delimiter(self):
        r = self.v2(Prefix="a/", Delimiter="/")
        self.assertEqual(self.keys(r), ["a/1", "a/2"])
        self.assertEqual(self.prefixes(r), ["a/b/"])
        self.assertEqual(r["Prefix"], "a/")
        self.assertEqual(r["Delimiter"], "/")

    def test_v2_non_slash_delimiter(self):
        r = self.v2(Delimiter="b")
        self.assertIn("a/b", self.prefixes(r))
        self.assertIn("b", self.prefixes(r))
        self.assertNotIn("a/b/3", self.keys(r))

    def test_v2_pagination_max_keys(self):
        got, token, pages = [], None, 0
        while True:
            kw = {"MaxKeys": 3}
            if token:
                kw["ContinuationToken"] = token
            r = self.v2(**kw)
            pages += 1
            self.assertLessEqual(len(self.keys(r)), 3)
            self.assertEqual(r["KeyCount"], len(self.keys(r)))
            got += self.keys(r)
            if not r["IsTruncated"]:
                self.assertNotIn("NextContinuationToken", r)
                break
            token = r["NextContinuationToken"]
            self.assertTrue(token)
            self.assertLess(pages, 20)
        self.assertEqual(got, by_bytes(KEYS))
        self.assertEqual(pages, (len(KEYS) + 2) // 3)

    def test_v2_pagination_with_delimiter_counts_prefixes(self):
        got, token = [], None
        for _ in range(20):
            kw = {"MaxKeys": 2, "Delimiter": "/"}
            if token:
                kw["ContinuationToken"] = token
            r = self.v2(**kw)
            items = self.keys(r) + self.prefixes(r)
            self.assertLessEqual(len(items), 2)
            got += items
            if not r["IsTruncated"]:
                break
            token = r["NextContinuationToken"]
        self.assertEqual(sorted(got), sorted(["c", "d e", "f+g", "h%i", "zz", "ü", "a/", "b/",
                                              "j/", "é/"]))
        self.assertEqual(len(got), len(set(got)))

    def test_v2_start_after(self):
        self.assertEqual(self.keys(self.v2(StartAfter="c")), by_bytes(KEYS)[6:])
        self.assertEqual(self.keys(self.v2(StartAfter="zzz")), ["é/1", "ü"])
        r = self.v2(StartAfter="a/2")
        self.assertEqual(r["StartAfter"], "a/2")
        self.assertEqual(self.keys(r)[0], "a/b/3")

    def test_v2_start_after_with_token_token_wins(self):
        r = self.v2(MaxKeys=2)
        r2 = self.v2(MaxKeys=2, ContinuationToken=r["NextContinuationToken"], StartAfter="zz")
        self.assertEqual(self.keys(r2), by_bytes(KEYS)[2:4])

    def test_v2_max_keys_zero(self):
        r = self.v2(MaxKeys=0)
        self.assertEqual(self.keys(r), [])
        self.assertEqual(r["KeyCount"], 0)

    def test_v2_invalid_max_keys(self):
        r = signed_request("GET", "/" + self.b, query=[("list-type", "2"), ("max-keys", "-1")])
        self.assertRawError(r, 400, "InvalidArgument")
        r = signed_request("GET", "/" + self.b, query=[("list-type", "2"), ("max-keys", "x")])
        self.assertRawError(r, 400, "InvalidArgument")

    def test_v2_invalid_continuation_token(self):
        r = signed_request("GET", "/" + self.b,
                           query=[("list-type", "2"), ("continuation-token", "not-a-token!")])
        self.assertRawError(r, 400, "InvalidArgument")

    def test_v2_fetch_owner(self):
        r = self.v2(FetchOwner=True, MaxKeys=1)
        owner = r["Contents"][0]["Owner"]
        self.assertEqual(owner["ID"], self.c.list_buckets()["Owner"]["ID"])

    def test_v2_empty_bucket(self):
        r = self.c.list_objects_v2(Bucket=self.empty)
        self.assertEqual(r["KeyCount"], 0)
        self.assertNotIn("Contents", r)
        self.assertFalse(r["IsTruncated"])

    def test_v2_missing_bucket(self):
        self.assertS3Error("NoSuchBucket", 404, self.c.list_objects_v2, Bucket=bucket_name("x"))

    # --- v1

    def test_v1_all_with_owner(self):
        r = self.v1()
        self.assertEqual(self.keys(r), by_bytes(KEYS))
        self.assertFalse(r["IsTruncated"])
        self.assertTrue(r["Contents"][0]["Owner"]["ID"])

    def test_v1_marker_pagination(self):
        got, marker = [], ""
        for _ in range(20):
            r = self.v1(MaxKeys=4, Marker=marker)
            got += self.keys(r)
            if not r["IsTruncated"]:
                break
            marker = r.get("NextMarker") or self.keys(r)[-1]
        self.assertEqual(got, by_bytes(KEYS))

    def test_v1_marker_excludes_marker_key(self):
        self.assertEqual(self.keys(self.v1(Marker="a/2"))[0], "a/b/3")

    def test_v1_delimiter_next_marker(self):
        r = self.v1(Delimiter="/", MaxKeys=2)
        self.assertTrue(r["IsTruncated"])
        self.assertEqual(self.prefixes(r), ["a/", "b/"])
        self.assertEqual(r["NextMarker"], "b/")
        r2 = self.v1(Delimiter="/", MaxKeys=2, Marker=r["NextMarker"])
        self.assertEqual(self.keys(r2), ["c", "d e"])

    def test_v1_prefix_delimiter(self):
        r = self.v1(Prefix="j/", Delimiter="/")
        self.assertEqual(self.prefixes(r), ["j/k/"])
        self.assertEqual(self.keys(r), [])

    # --- raw XML: encoding-type=url and escaping without it

    def raw_list(self, bucket, query):
        r = signed_request("GET", "/" + bucket, query=query)
        self.assertRawOK(r)
        self.assertTrue(r.header("content-type", ).startswith("application/xml"), repr(r))
        try:
            return ET.fromstring(r.body)
        except ET.ParseError as e:
            self.fail("listing is not well-formed XML (%s): %r" % (e, r.body[:800]))

    def check_url_encoded(self, root):
        self.assertEqual(root.findtext(S3NS + "EncodingType"), "url")
        raw = [k.text for k in root.iter(S3NS + "Key")]
        for k in raw:
            self.assertRegex(k, r"^[A-Za-z0-9._~!$'()*,;:@/%+=&-]*$",
                             "key not url-encoded: %r" % k)
            self.assertNotIn(" ", k)
        decoded = [urllib.parse.unquote_plus(k) for k in raw]
        self.assertEqual(decoded, by_bytes(ODD))

    def test_v2_encoding_type_url(self):
        root = self.raw_list(self.odd, [("list-type", "2"), ("encoding-type", "url")])
        self.check_url_encoded(root)

    def test_v1_encoding_type_url(self):
        root = self.raw_list(self.odd, [("encoding-type", "url")])
        self.check_url_encoded(root)

    def test_encoding_type_url_encodes_prefix_and_common_prefixes(self):
        root = self.raw_list(self.b, [("list-type", "2"), ("encoding-type", "url"),
                                      ("prefix", "é"), ("delimiter", "/")])
        self.assertEqual(urllib.parse.unquote_plus(root.findtext(S3NS + "Prefix")), "é")
        self.assertNotIn("é", root.findtext(S3NS + "Prefix"))
        cps = [p.findtext(S3NS + "Prefix") for p in root.iter(S3NS + "CommonPrefixes")]
        self.assertEqual([urllib.parse.unquote_plus(p) for p in cps], ["é/"])
        self.assertNotIn("é/", cps)

    def test_invalid_encoding_type(self):
        r = signed_request("GET", "/" + self.b, query=[("encoding-type", "base64")])
        self.assertRawError(r, 400, "InvalidArgument")

    def test_xml_escaping_without_encoding_type(self):
        # keys that XML can carry must be escaped correctly and round-trip through a parser
        b = bucket_name("listesc")
        self.c.create_bucket(Bucket=b)
        try:
            keys = ["lt<gt>&", "quo\"te'", "sp ace", "ünï", "a]]>b"]
            for k in keys:
                self.c.put_object(Bucket=b, Key=k, Body=b"x")
            for q in ([("list-type", "2")], []):
                root = self.raw_list(b, q)
                self.assertEqual([k.text for k in root.iter(S3NS + "Key")], by_bytes(keys))
        finally:
            delete_bucket(self.c, b)

    def test_boto3_decodes_odd_keys(self):
        self.assertEqual(self.keys(self.c.list_objects_v2(Bucket=self.odd)), by_bytes(ODD))
        self.assertEqual(self.keys(self.c.list_objects(Bucket=self.odd)), by_bytes(ODD))


class ListManyTest(E2ETestCase):
    """More than 1000 keys: the 1000 cap and paging across it."""

    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls.b = bucket_name("listmany")
        cls.c.create_bucket(Bucket=cls.b)
        cls.n = 1105
        import concurrent.futures
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            cs = [client() for _ in range(8)]
            list(ex.map(lambda i: cs[i % 8].put_object(Bucket=cls.b, Key="m/%05d" % i,
                                                       Body=b"m"), range(cls.n)))

    @classmethod
    def tearDownClass(cls):
        delete_bucket(cls.c, cls.b)

    def test_first_page_is_1000(self):
        r = self.c.list_objects_v2(Bucket=self.b)
        self.assertEqual(r["KeyCount"], 1000)
        self.assertTrue(r["IsTruncated"])
        r2 = self.c.list_objects_v2(Bucket=self.b, ContinuationToken=r["NextContinuationToken"])
        self.assertEqual(r2["KeyCount"], self.n - 1000)
        self.assertFalse(r2["IsTruncated"])
        self.assertEqual(r2["Contents"][0]["Key"], "m/01000")

    def test_max_keys_above_1000_returns_at_most_1000(self):
        r = self.c.list_objects_v2(Bucket=self.b, MaxKeys=5000)
        self.assertEqual(r["KeyCount"], 1000)
        self.assertTrue(r["IsTruncated"])
        r = self.c.list_objects(Bucket=self.b, MaxKeys=5000)
        self.assertEqual(len(r["Contents"]), 1000)
        self.assertTrue(r["IsTruncated"])

    def test_paginator_v1_sees_all(self):
        keys = []
        for page in self.c.get_paginator("list_objects").paginate(Bucket=self.b):
            keys += [o["Key"] for o in page.get("Contents", [])]
        self.assertEqual(keys, ["m/%05d" % i for i in range(self.n)])


if __name__ == "__main__":
    unittest.main()
