"""Objects: PutObject/GetObject/HeadObject, Range, conditional requests, response-* overrides
on presigned GETs, metadata and standard header round trips, DeleteObject, key edge cases."""

import datetime
import hashlib
import os
import unittest
import urllib.error
import urllib.request

from lib import (E2ETestCase, bucket_name, client, delete_bucket, env, md5_hex, presign,
                 sign, signed_request, uri_encode)

DATA = bytes(range(256)) * 40  # 10240 bytes, every byte value


class ObjectTestBase(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls.b = bucket_name(cls.__name__[:20])
        cls.c.create_bucket(Bucket=cls.b)

    @classmethod
    def tearDownClass(cls):
        delete_bucket(cls.c, cls.b)


class PutGetHeadTest(ObjectTestBase):
    def test_put_returns_quoted_md5_etag(self):
        r = self.c.put_object(Bucket=self.b, Key="etag", Body=DATA)
        self.assertEqual(r["ETag"], '"%s"' % md5_hex(DATA))

    def test_get_returns_body_and_headers(self):
        self.c.put_object(Bucket=self.b, Key="get", Body=DATA)
        r = self.c.get_object(Bucket=self.b, Key="get")
        self.assertEqual(r["Body"].read(), DATA)
        self.assertEqual(r["ContentLength"], len(DATA))
        self.assertEqual(r["ETag"], '"%s"' % md5_hex(DATA))
        self.assertIsInstance(r["LastModified"], datetime.datetime)
        h = r["ResponseMetadata"]["HTTPHeaders"]
        self.assertEqual(h.get("accept-ranges"), "bytes")
        self.assertTrue(h.get("date"))
        # default content type when none was given
        self.assertEqual(r["ContentType"], "binary/octet-stream")

    def test_last_modified_is_recent_and_second_granular(self):
        self.c.put_object(Bucket=self.b, Key="lm", Body=b"x")
        r = self.c.head_object(Bucket=self.b, Key="lm")
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - r["LastModified"]).total_seconds()), 300)

    def test_head_matches_get_without_body(self):
        self.c.put_object(Bucket=self.b, Key="head", Body=DATA, ContentType="text/plain")
        r = self.c.head_object(Bucket=self.b, Key="head")
        self.assertEqual(r["ContentLength"], len(DATA))
        self.assertEqual(r["ContentType"], "text/plain")
        self.assertEqual(r["ETag"], '"%s"' % md5_hex(DATA))
        raw = signed_request("HEAD", "/%s/head" % self.b)
        self.assertRawOK(raw)
        self.assertEqual(raw.body, b"")
        self.assertEqual(raw.header("content-length"), str(len(DATA)))

    def test_empty_object(self):
        self.c.put_object(Bucket=self.b, Key="empty", Body=b"")
        r = self.c.get_object(Bucket=self.b, Key="empty")
        self.assertEqual(r["Body"].read(), b"")
        self.assertEqual(r["ContentLength"], 0)
        self.assertEqual(r["ETag"], '"d41d8cd98f00b204e9800998ecf8427e"')

    def test_large_file_backed_object(self):
        data = os.urandom(3 * 1024 * 1024 + 17)
        self.c.put_object(Bucket=self.b, Key="big", Body=data)
        got = self.c.get_object(Bucket=self.b, Key="big")["Body"].read()
        self.assertEqual(hashlib.md5(got).hexdigest(), md5_hex(data))

    def test_overwrite_replaces_content_and_metadata(self):
        self.c.put_object(Bucket=self.b, Key="ow", Body=b"one", Metadata={"a": "1"},
                          ContentType="text/one")
        self.c.put_object(Bucket=self.b, Key="ow", Body=b"two-two")
        r = self.c.get_object(Bucket=self.b, Key="ow")
        self.assertEqual(r["Body"].read(), b"two-two")
        self.assertEqual(r["Metadata"], {})
        self.assertEqual(r["ContentType"], "binary/octet-stream")

    def test_overwrite_small_with_large_and_back(self):
        big = os.urandom(300 * 1024)
        self.c.put_object(Bucket=self.b, Key="sz", Body=b"small")
        self.c.put_object(Bucket=self.b, Key="sz", Body=big)
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="sz")["Body"].read(), big)
        self.c.put_object(Bucket=self.b, Key="sz", Body=b"small again")
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="sz")["Body"].read(),
                         b"small again")

    def test_get_missing_key(self):
        self.assertS3Error("NoSuchKey", 404, self.c.get_object, Bucket=self.b, Key="nope")

    def test_get_missing_key_error_body_names_key(self):
        r = signed_request("GET", "/%s/no/such" % self.b)
        self.assertRawError(r, 404, "NoSuchKey")
        self.assertIn(b"<Key>no/such</Key>", r.body)
        self.assertTrue(r.header("content-type", ).startswith("application/xml"))

    def test_head_missing_key_404_no_body(self):
        self.assertS3Error("404", 404, self.c.head_object, Bucket=self.b, Key="nope", head=True)
        r = signed_request("HEAD", "/%s/nope" % self.b)
        self.assertEqual(r.status, 404)
        self.assertEqual(r.body, b"")
        self.assertTrue(r.header("x-amz-request-id"))

    def test_put_into_missing_bucket(self):
        self.assertS3Error("NoSuchBucket", 404, self.c.put_object, Bucket=bucket_name("none"),
                           Key="k", Body=b"x")

    def test_get_from_missing_bucket(self):
        self.assertS3Error("NoSuchBucket", 404, self.c.get_object, Bucket=bucket_name("none"),
                           Key="k")

    def test_user_metadata_round_trip(self):
        meta = {"color": "blue", "mixed-case": "Value With Spaces", "empty": "",
                "num": "42"}
        self.c.put_object(Bucket=self.b, Key="meta", Body=b"m",
                          Metadata={"color": "blue", "Mixed-Case": "Value With Spaces",
                                    "empty": "", "num": "42"})
        for r in (self.c.head_object(Bucket=self.b, Key="meta"),
                  self.c.get_object(Bucket=self.b, Key="meta")):
            self.assertEqual(r["Metadata"], meta)

    def test_metadata_too_large(self):
        self.assertS3Error("MetadataTooLarge", 400, self.c.put_object, Bucket=self.b,
                           Key="bigmeta", Body=b"x", Metadata={"m": "v" * 2100})
        self.assertS3Error("404", 404, self.c.head_object, Bucket=self.b, Key="bigmeta",
                           head=True)

    def test_standard_headers_round_trip(self):
        exp = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
        self.c.put_object(Bucket=self.b, Key="hdrs", Body=b"<p>hi</p>",
                          ContentType="text/html; charset=utf-8", ContentEncoding="identity",
                          ContentDisposition='attachment; filename="a b.html"',
                          CacheControl="max-age=60, public", ContentLanguage="en-GB",
                          Expires=exp)
        for r in (self.c.head_object(Bucket=self.b, Key="hdrs"),
                  self.c.get_object(Bucket=self.b, Key="hdrs")):
            self.assertEqual(r["ContentType"], "text/html; charset=utf-8")
            self.assertEqual(r["ContentEncoding"], "identity")
            self.assertEqual(r["ContentDisposition"], 'attachment; filename="a b.html"')
            self.assertEqual(r["CacheControl"], "max-age=60, public")
            self.assertEqual(r["ContentLanguage"], "en-GB")
            self.assertEqual(r["ResponseMetadata"]["HTTPHeaders"].get("expires"),
                             "Wed, 02 Jan 2030 03:04:05 GMT")

    def test_delete_object_204_then_gone(self):
        self.c.put_object(Bucket=self.b, Key="del", Body=b"x")
        r = self.c.delete_object(Bucket=self.b, Key="del")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertS3Error("NoSuchKey", 404, self.c.get_object, Bucket=self.b, Key="del")

    def test_delete_missing_object_204(self):
        r = self.c.delete_object(Bucket=self.b, Key="never-existed")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)

    def test_delete_object_missing_bucket(self):
        self.assertS3Error("NoSuchBucket", 404, self.c.delete_object,
                           Bucket=bucket_name("none"), Key="k")

    def test_put_over_https_default_trailer_checksum(self):
        # botocore over HTTPS sends aws-chunked with a CRC32 trailer by default
        c = client(https=True)
        sent = []
        c.meta.events.register("before-send.s3.PutObject",
                               lambda request=None, **kw: sent.append(dict(request.headers)))
        c.put_object(Bucket=self.b, Key="tls-default", Body=DATA)
        sha = sent[0].get("X-Amz-Content-SHA256")
        sha = sha.decode() if isinstance(sha, bytes) else sha
        self.assertEqual(sha, "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        r = c.get_object(Bucket=self.b, Key="tls-default")
        self.assertEqual(r["Body"].read(), DATA)
        self.assertEqual(r["ContentLength"], len(DATA))
        # aws-chunked is a transfer detail, not stored as Content-Encoding
        self.assertNotIn("aws-chunked", r.get("ContentEncoding") or "")

    def test_missing_content_length_on_put(self):
        # raw PUT with neither Content-Length nor Transfer-Encoding -> 411 MissingContentLength
        from lib import sign, RawConn, request_bytes
        s = sign("PUT", "/%s/nolen" % self.b, payload_hash="UNSIGNED-PAYLOAD")
        rc = RawConn()
        try:
            rc.sendall(request_bytes("PUT", s.target, s.headers))
            r = rc.read_response()
        finally:
            rc.close()
        self.assertRawError(r, 411, "MissingContentLength")


class RangeTest(ObjectTestBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.c.put_object(Bucket=cls.b, Key="r", Body=DATA)
        cls.big = os.urandom(200 * 1024)
        cls.c.put_object(Bucket=cls.b, Key="rbig", Body=cls.big)

    def get_range(self, rng, key="r"):
        return self.c.get_object(Bucket=self.b, Key=key, Range=rng)

    def check(self, rng, start, end, key="r", data=DATA):
        r = self.get_range(rng, key)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 206)
        self.assertEqual(r["ContentRange"], "bytes %d-%d/%d" % (start, end, len(data)))
        self.assertEqual(r["ContentLength"], end - start + 1)
        self.assertEqual(r["Body"].read(), data[start:end + 1])
        self.assertEqual(r["ETag"], '"%s"' % md5_hex(data))

    def test_closed_range(self):
        self.check("bytes=0-9", 0, 9)

    def test_single_byte_range(self):
        self.check("bytes=100-100", 100, 100)

    def test_last_byte_range(self):
        self.check("bytes=%d-%d" % (len(DATA) - 1, len(DATA) - 1), len(DATA) - 1, len(DATA) - 1)

    def test_suffix_range(self):
        self.check("bytes=-5", len(DATA) - 5, len(DATA) - 1)

    def test_suffix_range_longer_than_object(self):
        self.check("bytes=-999999", 0, len(DATA) - 1)

    def test_open_range(self):
        self.check("bytes=10000-", 10000, len(DATA) - 1)

    def test_huge_suffix_is_whole_object(self):
        # Suffixes at and past 2^63 and 2^64 once wrapped into negative offsets
        # (206 with "bytes -9223372036854775708-..." and no body).
        for n in ("9223372036854775807", "9223372036854775808", "18446744073709551615",
                  "18446744073709551616", "99999999999999999999999999"):
            self.check("bytes=-" + n, 0, len(DATA) - 1)

    def test_huge_numbers_in_closed_range(self):
        self.check("bytes=5-18446744073709551616", 5, len(DATA) - 1)
        self.assertS3Error("InvalidRange", 416, self.get_range,
                           "bytes=18446744073709551616-")
        self.assertS3Error("InvalidRange", 416, self.get_range,
                           "bytes=9223372036854775808-9223372036854775809")

    def test_end_past_size_is_clamped(self):
        self.check("bytes=10200-99999999", 10200, len(DATA) - 1)

    def test_range_on_file_backed_object(self):
        self.check("bytes=70000-140000", 70000, 140000, key="rbig", data=self.big)
        self.check("bytes=-1", len(self.big) - 1, len(self.big) - 1, key="rbig", data=self.big)

    def test_start_past_end_is_416(self):
        r = self.assertS3Error("InvalidRange", 416, self.get_range, "bytes=%d-" % len(DATA))
        self.assertEqual(r["ResponseMetadata"]["HTTPHeaders"].get("content-range"),
                         "bytes */%d" % len(DATA))

    def test_start_past_end_closed_is_416(self):
        self.assertS3Error("InvalidRange", 416, self.get_range, "bytes=20000-20010")

    def test_ranged_get_omits_full_object_checksum(self):
        # boto3 sends x-amz-checksum-mode: ENABLED on every GetObject and validates any
        # x-amz-checksum-* it gets back against the bytes received: a partial body must not
        # carry the whole object's checksum (AWS omits it on ranged GETs).
        self.c.put_object(Bucket=self.b, Key="rck", Body=DATA, ChecksumAlgorithm="CRC32")
        r = signed_request("GET", "/%s/rck" % self.b,
                           headers={"Range": "bytes=0-9", "x-amz-checksum-mode": "ENABLED"})
        self.assertEqual(r.status, 206, repr(r))
        self.assertEqual(r.body, DATA[:10])
        self.assertIsNone(r.header("x-amz-checksum-crc32"), repr(r))

    def test_head_with_range(self):
        r = self.c.head_object(Bucket=self.b, Key="r", Range="bytes=0-99")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 206)
        self.assertEqual(r["ContentLength"], 100)
        self.assertEqual(r["ContentRange"], "bytes 0-99/%d" % len(DATA))

    def test_unparseable_range_ignored(self):
        # RFC 9110: an invalid Range header is ignored -> 200 with the whole object (AWS too)
        r = self.get_range("bytes=abc")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(r["Body"].read(), DATA)

    def test_reversed_range_ignored(self):
        r = self.get_range("bytes=9-0")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(r["Body"].read(), DATA)


class ConditionalTest(ObjectTestBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = cls.c.put_object(Bucket=cls.b, Key="c", Body=b"conditional")
        cls.etag = r["ETag"]
        cls.lm = cls.c.head_object(Bucket=cls.b, Key="c")["LastModified"]
        cls.past = cls.lm - datetime.timedelta(days=1)
        cls.future = cls.lm + datetime.timedelta(days=1)

    def get(self, **kw):
        return self.c.get_object(Bucket=self.b, Key="c", **kw)

    def head(self, **kw):
        return self.c.head_object(Bucket=self.b, Key="c", **kw)

    def test_if_match_true(self):
        self.assertEqual(self.get(IfMatch=self.etag)["Body"].read(), b"conditional")

    def test_if_match_unquoted_and_star(self):
        self.assertEqual(self.get(IfMatch=self.etag.strip('"'))["Body"].read(), b"conditional")
        self.assertEqual(self.get(IfMatch="*")["Body"].read(), b"conditional")

    def test_if_match_false_412(self):
        self.assertS3Error("PreconditionFailed", 412, self.get, IfMatch='"0000"')

    def test_if_match_list(self):
        self.assertEqual(self.get(IfMatch='"0000", %s' % self.etag)["Body"].read(),
                         b"conditional")

    def test_head_if_match_false_412(self):
        self.assertStatus(412, self.head, IfMatch='"0000"')

    def test_if_none_match_matching_304(self):
        r = self.assertStatus(304, self.get, IfNoneMatch=self.etag)
        self.assertEqual(r["ResponseMetadata"]["HTTPHeaders"].get("etag"), self.etag)
        self.assertStatus(304, self.head, IfNoneMatch=self.etag)

    def test_if_none_match_other_200(self):
        self.assertEqual(self.get(IfNoneMatch='"0000"')["Body"].read(), b"conditional")

    def test_if_modified_since_after_lm_304(self):
        self.assertStatus(304, self.get, IfModifiedSince=self.future)
        self.assertStatus(304, self.head, IfModifiedSince=self.lm)

    def test_if_modified_since_before_lm_200(self):
        self.assertEqual(self.get(IfModifiedSince=self.past)["Body"].read(), b"conditional")

    def test_if_unmodified_since_before_lm_412(self):
        self.assertS3Error("PreconditionFailed", 412, self.get, IfUnmodifiedSince=self.past)

    def test_if_unmodified_since_after_lm_200(self):
        self.assertEqual(self.get(IfUnmodifiedSince=self.future)["Body"].read(),
                         b"conditional")

    def test_if_match_true_wins_over_unmodified_since_false(self):
        # AWS: If-Match true and If-Unmodified-Since false -> 200
        self.assertEqual(self.get(IfMatch=self.etag, IfUnmodifiedSince=self.past)["Body"]
                         .read(), b"conditional")

    def test_if_none_match_false_and_modified_since_true_304(self):
        # AWS: If-None-Match false and If-Modified-Since true -> 304
        self.assertStatus(304, self.get, IfNoneMatch=self.etag, IfModifiedSince=self.past)

    def test_304_response_has_no_body(self):
        r = signed_request("GET", "/%s/c" % self.b, headers={"If-None-Match": self.etag})
        self.assertEqual(r.status, 304)
        self.assertEqual(r.body, b"")
        self.assertTrue(r.header("x-amz-request-id"))
        self.assertEqual(r.header("etag"), self.etag)

    def test_conditional_put_if_none_match_star(self):
        # PutObject If-None-Match: * -> 412 when the key exists, 200 when it does not
        self.c.put_object(Bucket=self.b, Key="cp", Body=b"first")
        self.assertS3Error("PreconditionFailed", 412, self.c.put_object, Bucket=self.b,
                           Key="cp", Body=b"clobber", IfNoneMatch="*")
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="cp")["Body"].read(), b"first")
        self.c.put_object(Bucket=self.b, Key="c-new", Body=b"n", IfNoneMatch="*")

    def test_conditional_put_if_match(self):
        r = self.c.put_object(Bucket=self.b, Key="cm", Body=b"v1")
        self.assertS3Error("PreconditionFailed", 412, self.c.put_object, Bucket=self.b,
                           Key="cm", Body=b"v2", IfMatch='"00000000000000000000000000000000"')
        self.c.put_object(Bucket=self.b, Key="cm", Body=b"v3", IfMatch=r["ETag"])
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="cm")["Body"].read(), b"v3")


class PresignedOverridesTest(ObjectTestBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.c.put_object(Bucket=cls.b, Key="p/obj.bin", Body=b"presigned body",
                         ContentType="application/x-orig")

    def fetch(self, url):
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def test_presigned_get_plain(self):
        url = self.c.generate_presigned_url("get_object", Params={"Bucket": self.b,
                                                                  "Key": "p/obj.bin"})
        st, h, body = self.fetch(url)
        self.assertEqual((st, body), (200, b"presigned body"))
        self.assertEqual(h.get("content-type"), "application/x-orig")
        self.assertTrue(h.get("x-amz-request-id"))

    def test_presigned_get_response_overrides(self):
        params = {"Bucket": self.b, "Key": "p/obj.bin",
                  "ResponseContentType": "text/x-override",
                  "ResponseContentLanguage": "fr",
                  "ResponseExpires": datetime.datetime(2031, 5, 6, 7, 8, 9,
                                                       tzinfo=datetime.timezone.utc),
                  "ResponseCacheControl": "no-cache",
                  "ResponseContentDisposition": 'attachment; filename="x.txt"',
                  "ResponseContentEncoding": "identity"}
        url = self.c.generate_presigned_url("get_object", Params=params)
        st, h, body = self.fetch(url)
        self.assertEqual((st, body), (200, b"presigned body"))
        self.assertEqual(h.get("content-type"), "text/x-override")
        self.assertEqual(h.get("content-language"), "fr")
        self.assertEqual(h.get("expires"), "Tue, 06 May 2031 07:08:09 GMT")
        self.assertEqual(h.get("cache-control"), "no-cache")
        self.assertEqual(h.get("content-disposition"), 'attachment; filename="x.txt"')
        self.assertEqual(h.get("content-encoding"), "identity")

    def test_signed_get_response_content_type_override(self):
        r = self.c.get_object(Bucket=self.b, Key="p/obj.bin", ResponseContentType="a/b")
        self.assertEqual(r["ContentType"], "a/b")

    def test_presigned_put(self):
        url = self.c.generate_presigned_url("put_object", Params={"Bucket": self.b,
                                                                  "Key": "p/put"})
        req = urllib.request.Request(url, data=b"put via url", method="PUT")
        with urllib.request.urlopen(req, timeout=30) as r:
            self.assertEqual(r.status, 200)
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="p/put")["Body"].read(),
                         b"put via url")

    def test_own_presigner_get(self):
        path = presign("GET", "/%s/p/obj.bin" % self.b)
        st, h, body = self.fetch(env().http + path)
        self.assertEqual((st, body), (200, b"presigned body"))


class KeyNamesTest(ObjectTestBase):
    KEYS = ["plain", "with space", "plus+sign", "percent%20literal", "100%", "a/b/c",
            "trailing/", "/leading", "double//slash", "unicodé/ключ/キー/😀", "tab\there",
            "q?mark", "hash#tag", "amp&er=eq", "semi;colon", "quote'\"", "<angle>",
            "~tilde", "star*", "back\\slash", "comma,", "colon:", "at@", "dollar$", "[br]",
            "x/../y", "./dot", ".", "..", "  ", "ctl\x01char", "new\nline"]

    def test_odd_keys_round_trip(self):
        for k in self.KEYS:
            with self.subTest(key=k):
                body = ("body of %r" % k).encode()
                self.c.put_object(Bucket=self.b, Key=k, Body=body)
                self.assertEqual(self.c.get_object(Bucket=self.b, Key=k)["Body"].read(), body)
                self.assertEqual(self.c.head_object(Bucket=self.b, Key=k)["ContentLength"],
                                 len(body))
        listed = []
        for page in self.c.get_paginator("list_objects_v2").paginate(Bucket=self.b):
            listed += [o["Key"] for o in page.get("Contents", [])]
        self.assertEqual(sorted(self.KEYS), sorted(k for k in listed if k in self.KEYS))
        for k in self.KEYS:
            with self.subTest(delete=k):
                self.c.delete_object(Bucket=self.b, Key=k)
                self.assertS3Error("NoSuchKey", 404, self.c.get_object, Bucket=self.b, Key=k)

    def test_dot_segments_not_normalized(self):
        self.c.put_object(Bucket=self.b, Key="n/../m", Body=b"dots")
        self.assertS3Error("NoSuchKey", 404, self.c.get_object, Bucket=self.b, Key="m")
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="n/../m")["Body"].read(),
                         b"dots")

    def test_plus_in_path_is_literal_not_space(self):
        self.c.put_object(Bucket=self.b, Key="p+q", Body=b"plus")
        self.assertS3Error("NoSuchKey", 404, self.c.get_object, Bucket=self.b, Key="p q")
        r = signed_request("GET", "/%s/p+q" % self.b, encoded_path="/%s/p%%2Bq" % self.b)
        self.assertRawOK(r)
        self.assertEqual(r.body, b"plus")

    def test_key_1024_bytes_ok(self):
        k = "k" * 1024
        self.c.put_object(Bucket=self.b, Key=k, Body=b"long")
        self.assertEqual(self.c.get_object(Bucket=self.b, Key=k)["Body"].read(), b"long")
        keys = [o["Key"] for o in self.c.list_objects_v2(Bucket=self.b, Prefix="kkkk")
                .get("Contents", [])]
        self.assertIn(k, keys)

    def test_key_1024_bytes_multibyte_ok(self):
        k = "é" * 512  # 1024 bytes in UTF-8
        self.c.put_object(Bucket=self.b, Key=k, Body=b"mb")
        self.assertEqual(self.c.get_object(Bucket=self.b, Key=k)["Body"].read(), b"mb")

    def test_key_1025_bytes_too_long(self):
        self.assertS3Error("KeyTooLongError", 400, self.c.put_object, Bucket=self.b,
                           Key="k" * 1025, Body=b"x")
        self.assertS3Error("KeyTooLongError", 400, self.c.put_object, Bucket=self.b,
                           Key="é" * 512 + "x", Body=b"x")

    def test_invalid_utf8_key_invalid_uri(self):
        # AWS answers 400 InvalidURI for a key that is not valid UTF-8
        r = signed_request("PUT", "/%s/bad" % self.b, body=b"x",
                           encoded_path="/%s/bad%%FF%%FE" % self.b)
        self.assertRawError(r, 400, "InvalidURI")
        r = signed_request("GET", "/%s/bad" % self.b, encoded_path="/%s/bad%%C3%%28" % self.b)
        self.assertRawError(r, 400, "InvalidURI")

    def test_bad_percent_encoding_invalid_uri(self):
        r = signed_request("GET", "/%s/x" % self.b, encoded_path="/%s/x%%zz" % self.b)
        self.assertEqual(r.status, 400, repr(r))
        self.assertTrue(r.header("x-amz-request-id"))

    def test_encoded_slash_in_key(self):
        # %2F in the path is a '/' in the key (S3 decodes the whole path)
        self.c.put_object(Bucket=self.b, Key="sl/ash", Body=b"s")
        r = signed_request("GET", "/%s/sl/ash" % self.b,
                           encoded_path="/%s/sl%%2Fash" % self.b)
        self.assertRawOK(r)
        self.assertEqual(r.body, b"s")

    def test_lowercase_percent_encoding_accepted(self):
        self.c.put_object(Bucket=self.b, Key="é", Body=b"lc")
        # signed over the canonical (upper-case) encoding, sent in lower case
        from lib import send_signed
        s = sign("GET", "/%s/é" % self.b)
        s.path = "/%s/%%c3%%a9" % self.b
        r = send_signed(s)
        self.assertRawOK(r)
        self.assertEqual(r.body, b"lc")


if __name__ == "__main__":
    unittest.main()
