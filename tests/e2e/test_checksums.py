"""Integrity: flexible checksums (CRC32, CRC32C, SHA1, SHA256, CRC64NVME) as headers (HTTP) and
as aws-chunked trailers (HTTPS, botocore's default there), Content-MD5, and signed streaming
payloads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]) built by hand.

botocore over HTTPS sends PutObject as Transfer-Encoding: chunked + Content-Encoding:
aws-chunked with x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER and the checksum in an
x-amz-checksum-<alg> trailer; over HTTP it sends the checksum as a header with a signed payload.
CRC32C and CRC64NVME come from lib.py (no awscrt here)."""

import base64
import hashlib
import os
import unittest

from lib import (E2ETestCase, bucket_name, checksum_b64, client, delete_bucket, host_for,
                 md5_b64, md5_hex, send, send_signed, sign, signed_chunked_body,
                 signed_request, split_chunks, unsigned_chunked_body)

ALGOS = ["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"]
BODY = os.urandom(70 * 1024 + 3)  # > 64 KiB: file-backed, and > one 64 KiB aws chunk


class ChecksumTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls.tls = client(https=True)
        cls.b = bucket_name("cksum")
        cls.c.create_bucket(Bucket=cls.b)

    @classmethod
    def tearDownClass(cls):
        delete_bucket(cls.c, cls.b)

    def gone(self, key):
        self.assertS3Error("NoSuchKey", 404, self.c.get_object, Bucket=self.b, Key=key)

    def put_and_verify(self, c, algo, key, body=BODY, expect_mode=None):
        sent = []
        c.meta.events.register("before-send.s3.PutObject",
                               lambda request=None, **kw: sent.append(dict(request.headers)))
        r = c.put_object(Bucket=self.b, Key=key, Body=body, ChecksumAlgorithm=algo)
        want = checksum_b64(algo, body)
        h = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in sent[0].items()}
        if expect_mode == "trailer":
            self.assertEqual(h.get("x-amz-content-sha256"), "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
            self.assertEqual(h.get("x-amz-trailer"), "x-amz-checksum-%s" % algo.lower())
        elif expect_mode == "header":
            self.assertEqual(h.get("x-amz-checksum-%s" % algo.lower()), want)
        self.assertEqual(r.get("Checksum" + algo), want, r)
        self.assertEqual(r["ETag"], '"%s"' % md5_hex(body))
        g = c.get_object(Bucket=self.b, Key=key, ChecksumMode="ENABLED")
        self.assertEqual(g["Body"].read(), body)
        self.assertEqual(g.get("Checksum" + algo), want)
        hd = c.head_object(Bucket=self.b, Key=key, ChecksumMode="ENABLED")
        self.assertEqual(hd.get("Checksum" + algo), want)
        # without ChecksumMode the checksum header is not sent
        raw = signed_request("HEAD", "/%s/%s" % (self.b, key))
        self.assertIsNone(raw.header("x-amz-checksum-%s" % algo.lower()), repr(raw))

    def test_default_crc32_trailer_over_https(self):
        r = self.tls.put_object(Bucket=self.b, Key="default", Body=BODY)
        self.assertEqual(r.get("ChecksumCRC32"), checksum_b64("crc32", BODY))

    def test_wrong_crc32_header_bad_digest(self):
        self.assertS3Error("BadDigest", 400, self.c.put_object, Bucket=self.b, Key="badcrc",
                           Body=b"payload", ChecksumCRC32=checksum_b64("crc32", b"other"))
        self.gone("badcrc")

    def test_wrong_sha256_header_bad_digest(self):
        self.assertS3Error("BadDigest", 400, self.c.put_object, Bucket=self.b, Key="badsha",
                           Body=b"payload", ChecksumSHA256=checksum_b64("sha256", b"other"))
        self.gone("badsha")

    def test_malformed_checksum_value_invalid_request(self):
        # AWS: 400 InvalidRequest "Value for x-amz-checksum-crc32 header is invalid."
        r = signed_request("PUT", "/%s/badval" % self.b, body=b"payload",
                           headers={"x-amz-checksum-crc32": "not base64!"})
        self.assertRawError(r, 400, "InvalidRequest")
        r = signed_request("PUT", "/%s/badval" % self.b, body=b"payload",
                           headers={"x-amz-checksum-crc32": base64.b64encode(b"12345").decode()})
        self.assertRawError(r, 400, "InvalidRequest")
        self.gone("badval")

    def test_two_checksum_headers_invalid_request(self):
        r = signed_request("PUT", "/%s/two" % self.b, body=b"p",
                           headers={"x-amz-checksum-crc32": checksum_b64("crc32", b"p"),
                                    "x-amz-checksum-sha1": checksum_b64("sha1", b"p")})
        self.assertRawError(r, 400, "InvalidRequest")

    def test_overwrite_with_bad_checksum_keeps_old(self):
        self.c.put_object(Bucket=self.b, Key="keep", Body=b"old")
        self.assertS3Error("BadDigest", 400, self.c.put_object, Bucket=self.b, Key="keep",
                           Body=b"new", ChecksumCRC32=checksum_b64("crc32", b"xxx"))
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="keep")["Body"].read(), b"old")

    # --- Content-MD5

    def test_content_md5_ok(self):
        r = self.c.put_object(Bucket=self.b, Key="md5ok", Body=b"abc", ContentMD5=md5_b64(b"abc"))
        self.assertEqual(r["ETag"], '"%s"' % md5_hex(b"abc"))

    def test_content_md5_mismatch_bad_digest_nothing_stored(self):
        self.assertS3Error("BadDigest", 400, self.c.put_object, Bucket=self.b, Key="md5bad",
                           Body=b"abc", ContentMD5=md5_b64(b"abd"))
        self.gone("md5bad")

    def test_content_md5_mismatch_large_body(self):
        big = os.urandom(512 * 1024)
        self.assertS3Error("BadDigest", 400, self.c.put_object, Bucket=self.b, Key="md5big",
                           Body=big, ContentMD5=md5_b64(big[:-1]))
        self.gone("md5big")

    def test_large_bodies_hashed_in_background(self):
        # From 8 MiB on, MD5 and the checksum are computed by a second thread
        # (s3_body.c): the ETag, the checksums and Content-MD5 must not change.
        for n in (8 * 1024 * 1024, 8 * 1024 * 1024 + 1, 19 * 1024 * 1024 + 7):
            big = os.urandom(n)
            for algo in ("CRC32", "SHA256", "CRC64NVME"):
                self.put_and_verify(self.c, algo, "bg%d-%s" % (n, algo), body=big)
            r = self.c.put_object(Bucket=self.b, Key="bgmd5", Body=big, ContentMD5=md5_b64(big))
            self.assertEqual(r["ETag"], '"%s"' % md5_hex(big))
            self.assertS3Error("BadDigest", 400, self.c.put_object, Bucket=self.b, Key="bgbad",
                               Body=big, ContentMD5=md5_b64(big[1:]))
            self.gone("bgbad")

    def test_content_md5_mismatch_keeps_previous_version(self):
        self.c.put_object(Bucket=self.b, Key="md5keep", Body=b"v1")
        self.assertS3Error("BadDigest", 400, self.c.put_object, Bucket=self.b, Key="md5keep",
                           Body=b"v2", ContentMD5=md5_b64(b"v3"))
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="md5keep")["Body"].read(), b"v1")

    def test_content_md5_invalid_digest(self):
        for bad in ("not-base64!!", base64.b64encode(b"short").decode()):
            with self.subTest(md5=bad):
                r = signed_request("PUT", "/%s/md5inv" % self.b, body=b"abc",
                                   headers={"Content-MD5": bad})
                self.assertRawError(r, 400, "InvalidDigest")
        self.gone("md5inv")

    def test_content_md5_mismatch_over_https_trailer(self):
        self.assertS3Error("BadDigest", 400, self.tls.put_object, Bucket=self.b, Key="md5tls",
                           Body=b"abc", ContentMD5=md5_b64(b"abd"))
        self.gone("md5tls")

    # --- raw unsigned trailer (what botocore sends over HTTPS), tampered

    def test_unsigned_trailer_wrong_checksum_bad_digest(self):
        data = os.urandom(10000)
        body = unsigned_chunked_body(split_chunks(data, 4096),
                                     [("x-amz-checksum-crc32", checksum_b64("crc32", b"x"))])
        s = sign("PUT", "/%s/trl-bad" % self.b, headers={
            "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
            "x-amz-trailer": "x-amz-checksum-crc32"}, body=body,
            payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER", host=host_for(True))
        r = send_signed(s, https=True)
        self.assertRawError(r, 400, "BadDigest")
        self.gone("trl-bad")

    def test_unsigned_trailer_ok_raw(self):
        data = os.urandom(10000)
        body = unsigned_chunked_body(split_chunks(data, 4096),
                                     [("x-amz-checksum-crc32c", checksum_b64("crc32c", data))])
        s = sign("PUT", "/%s/trl-ok" % self.b, headers={
            "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
            "x-amz-trailer": "x-amz-checksum-crc32c"}, body=body,
            payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER", host=host_for(True))
        r = send_signed(s, https=True)
        self.assertRawOK(r)
        self.assertEqual(r.header("x-amz-checksum-crc32c"), checksum_b64("crc32c", data))
        g = self.c.get_object(Bucket=self.b, Key="trl-ok")
        self.assertEqual(g["Body"].read(), data)
        self.assertNotIn("aws-chunked", g.get("ContentEncoding") or "")

    def test_unsigned_trailer_decoded_length_mismatch(self):
        data = b"x" * 100
        body = unsigned_chunked_body([data], [("x-amz-checksum-crc32",
                                               checksum_b64("crc32", data))])
        s = sign("PUT", "/%s/trl-len" % self.b, headers={
            "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": "101",
            "x-amz-trailer": "x-amz-checksum-crc32"}, body=body,
            payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER", host=host_for(True))
        r = send_signed(s, https=True)
        self.assertEqual(r.status, 400, repr(r))
        self.assertTrue(r.error()[0], repr(r))
        self.gone("trl-len")


def _gen(algo, https):
    def t(self):
        c = self.tls if https else self.c
        self.put_and_verify(c, algo, "alg-%s-%s" % (algo, "tls" if https else "plain"),
                            expect_mode="trailer" if https else "header")
    t.__name__ = "test_%s_%s_round_trip" % (algo.lower(), "trailer_https" if https
                                            else "header_http")
    return t


for _a in ALGOS:
    for _https in (False, True):
        _t = _gen(_a, _https)
        setattr(ChecksumTest, _t.__name__, _t)


class StreamingSignedTest(E2ETestCase):
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD: per-chunk signatures chained from the seed."""

    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls.b = bucket_name("stream")
        cls.c.create_bucket(Bucket=cls.b)

    @classmethod
    def tearDownClass(cls):
        delete_bucket(cls.c, cls.b)

    def streaming_put(self, key, data, chunk=64 * 1024, trailers=None, tamper=None,
                      decoded_len=None, https=False, extra=None):
        path = "/%s/%s" % (self.b, key)
        h = {"Content-Encoding": "aws-chunked",
             "x-amz-decoded-content-length": str(len(data) if decoded_len is None
                                                  else decoded_len)}
        if trailers is not None:
            h["x-amz-trailer"] = ",".join(k for k, _ in trailers)
            ph = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
        else:
            ph = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
        if extra:
            h.update(extra)
        # Content-Length of the encoded body must be known before signing only if signed;
        # it is not a signed header here, so sign first, then build the body.
        s = sign("PUT", path, headers=h, payload_hash=ph, host=host_for(https))
        s.body = signed_chunked_body(s, split_chunks(data, chunk), trailers=trailers,
                                     tamper=tamper)
        return send_signed(s, https=https)

    def gone(self, key):
        self.assertS3Error("NoSuchKey", 404, self.c.get_object, Bucket=self.b, Key=key)

    def test_signed_chunks_stored(self):
        data = os.urandom(200 * 1024 + 5)
        r = self.streaming_put("ok", data)
        self.assertRawOK(r)
        self.assertEqual(r.header("etag"), '"%s"' % md5_hex(data))
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="ok")["Body"].read(), data)

    def test_signed_chunks_small_chunks_inline_object(self):
        data = os.urandom(9000)
        r = self.streaming_put("small", data, chunk=8192)
        self.assertRawOK(r)
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="small")["Body"].read(), data)

    def test_signed_empty_body(self):
        r = self.streaming_put("empty", b"")
        self.assertRawOK(r)
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="empty")["Body"].read(), b"")

    def test_signed_over_https(self):
        data = os.urandom(100 * 1024)
        r = self.streaming_put("tls", data, https=True)
        self.assertRawOK(r)
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="tls")["Body"].read(), data)

    def test_tampered_chunk_data_rejected_nothing_stored(self):
        data = os.urandom(200 * 1024)

        def flip(i, d):
            if i == 1:
                return d[:100] + bytes([d[100] ^ 1]) + d[101:]
            return d
        r = self.streaming_put("tampered", data, tamper=flip)
        self.assertRawError(r, 403, "SignatureDoesNotMatch")
        self.gone("tampered")

    def test_tampered_last_chunk_keeps_previous_object(self):
        self.c.put_object(Bucket=self.b, Key="prev", Body=b"previous")
        data = os.urandom(150 * 1024)

        def flip(i, d):
            if i == 2:
                return bytes([d[0] ^ 0x80]) + d[1:]
            return d
        r = self.streaming_put("prev", data, tamper=flip)
        self.assertRawError(r, 403, "SignatureDoesNotMatch")
        self.assertEqual(self.c.get_object(Bucket=self.b, Key="prev")["Body"].read(),
                         b"previous")

    def test_chunk_signature_replaced_rejected(self):
        data = os.urandom(100 * 1024)
        path = "/%s/badsig" % self.b
        s = sign("PUT", path, headers={"Content-Encoding": "aws-chunked",
                                       "x-amz-decoded-content-length": str(len(data))},
                 payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        body = signed_chunked_body(s, split_chunks(data, 64 * 1024))
        i = body.index(b"chunk-signature=") + len(b"chunk-signature=")
        body = body[:i] + (b"0" if body[i:i + 1] != b"0" else b"1") + body[i + 1:]
        s.body = body
        self.assertRawError(send_signed(s), 403, "SignatureDoesNotMatch")
        self.gone("badsig")

    def test_dropped_final_chunk_rejected(self):
        data = os.urandom(100 * 1024)
        s = sign("PUT", "/%s/nofinal" % self.b,
                 headers={"Content-Encoding": "aws-chunked",
                          "x-amz-decoded-content-length": str(len(data))},
                 payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        body = signed_chunked_body(s, split_chunks(data, 64 * 1024))
        s.body = body[:body.rindex(b"0;chunk-signature=")]
        r = send_signed(s)
        self.assertEqual(r.status, 400, repr(r))
        self.assertTrue(r.error()[0], repr(r))
        self.gone("nofinal")

    def test_decoded_length_mismatch_rejected(self):
        data = os.urandom(5000)
        r = self.streaming_put("declen", data, decoded_len=4999)
        self.assertEqual(r.status, 400, repr(r))
        self.assertTrue(r.error()[0], repr(r))
        self.gone("declen")

    def test_missing_decoded_length_rejected(self):
        data = os.urandom(5000)
        s = sign("PUT", "/%s/nodeclen" % self.b, headers={"Content-Encoding": "aws-chunked"},
                 payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        s.body = signed_chunked_body(s, [data])
        r = send_signed(s)
        self.assertRawError(r, 411, "MissingContentLength")
        self.gone("nodeclen")

    def test_signed_trailer_checksum_ok(self):
        data = os.urandom(90 * 1024)
        r = self.streaming_put("strl", data, trailers=[("x-amz-checksum-sha256",
                                                        checksum_b64("sha256", data))])
        self.assertRawOK(r)
        g = self.c.get_object(Bucket=self.b, Key="strl", ChecksumMode="ENABLED")
        self.assertEqual(g["Body"].read(), data)
        self.assertEqual(g.get("ChecksumSHA256"), checksum_b64("sha256", data))

    def test_signed_trailer_wrong_checksum_bad_digest(self):
        data = os.urandom(90 * 1024)
        r = self.streaming_put("strl-bad", data, trailers=[("x-amz-checksum-crc32",
                                                            checksum_b64("crc32", b"no"))])
        self.assertRawError(r, 400, "BadDigest")
        self.gone("strl-bad")

    def test_signed_trailer_bad_trailer_signature(self):
        data = os.urandom(1000)
        path = "/%s/strl-sig" % self.b
        s = sign("PUT", path, headers={"Content-Encoding": "aws-chunked",
                                       "x-amz-decoded-content-length": str(len(data)),
                                       "x-amz-trailer": "x-amz-checksum-crc32"},
                 payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")
        body = signed_chunked_body(s, [data], trailers=[("x-amz-checksum-crc32",
                                                         checksum_b64("crc32", data))])
        i = body.index(b"x-amz-trailer-signature:") + len(b"x-amz-trailer-signature:")
        s.body = body[:i] + (b"0" if body[i:i + 1] != b"0" else b"1") + body[i + 1:]
        self.assertRawError(send_signed(s), 403, "SignatureDoesNotMatch")
        self.gone("strl-sig")

    def test_streaming_with_content_md5(self):
        data = os.urandom(3000)
        r = self.streaming_put("smd5", data, extra={"Content-MD5": md5_b64(data)})
        self.assertRawOK(r)
        r = self.streaming_put("smd5-bad", data, extra={"Content-MD5": md5_b64(b"z")})
        self.assertRawError(r, 400, "BadDigest")
        self.gone("smd5-bad")


if __name__ == "__main__":
    unittest.main()
