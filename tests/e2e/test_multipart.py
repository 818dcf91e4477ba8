"""Multipart uploads: Create/UploadPart/UploadPartCopy/Complete/Abort, ListParts and
ListMultipartUploads paging, the multipart ETag and checksums (COMPOSITE and FULL_OBJECT),
GET/HEAD with Range and partNumber, versioning, every error AWS defines for these calls, boto3's
TransferManager with threads and each checksum algorithm, and (own server) kill -9 during an
upload and right after a completion.

Large transfers (100 MiB+) are in cli/multipart.sh and bench/multipart.sh.
"""

import base64
import binascii
import hashlib
import os
import socket
import threading
import time
import unittest
import xml.etree.ElementTree as ET

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

import lib

MiB = 1024 * 1024
S3NS = lib.S3NS


def mp_etag(parts):
    """The ETag S3 gives an object completed from these part bodies."""
    md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    return '"%s-%d"' % (hashlib.md5(md5s).hexdigest(), len(parts))


def raw_checksum(algorithm, data):
    return base64.b64decode(lib.checksum_b64(algorithm, data))


def composite(algorithm, parts):
    raw = b"".join(raw_checksum(algorithm, p) for p in parts)
    return "%s-%d" % (lib.checksum_b64(algorithm, raw), len(parts))


blob_files = lib.store_blobs  # (count, bytes) of a store's object data, in files or RADOS


def settled_files(want, count_only=True, timeout=5):
    """blob_files() of the suite's server (its count when count_only) once it equals want, or
    whatever it is after timeout s: with a second gateway on the store (the PostgreSQL run),
    data a request freed may be unlinked by the other gateway's reaper a moment later."""
    deadline = time.time() + timeout
    while True:
        got = blob_files(lib.env().data)
        got = got[0] if count_only else got
        if got == want or time.time() > deadline:
            return got
        time.sleep(0.05)


class MultipartBase(lib.E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = lib.client(read_timeout=60)
        cls.bucket = lib.bucket_name("mpu")
        cls.c.create_bucket(Bucket=cls.bucket)

    @classmethod
    def tearDownClass(cls):
        try:
            r = cls.c.list_multipart_uploads(Bucket=cls.bucket)
            for u in r.get("Uploads", []):
                cls.c.abort_multipart_upload(Bucket=cls.bucket, Key=u["Key"],
                                             UploadId=u["UploadId"])
        except ClientError:
            pass
        lib.delete_bucket(cls.c, cls.bucket)

    def upload(self, key, parts, bucket=None, **create):
        """Create + UploadPart for each body; returns (upload_id, [{PartNumber, ETag}])."""
        b = bucket or self.bucket
        uid = self.c.create_multipart_upload(Bucket=b, Key=key, **create)["UploadId"]
        done = []
        for i, body in enumerate(parts, 1):
            r = self.c.upload_part(Bucket=b, Key=key, UploadId=uid, PartNumber=i, Body=body)
            done.append({"PartNumber": i, "ETag": r["ETag"]})
        return uid, done

    def complete(self, key, uid, parts, bucket=None):
        return self.c.complete_multipart_upload(Bucket=bucket or self.bucket, Key=key,
                                                UploadId=uid, MultipartUpload={"Parts": parts})

    def raw(self, method, key, query, body=b"", headers=None, bucket=None):
        return lib.signed_request(method, "/%s/%s" % (bucket or self.bucket, key), query,
                                  headers or {}, body)


class MultipartBasicTest(MultipartBase):
    def test_roundtrip_etag_ranges_parts(self):
        bodies = [os.urandom(5 * MiB), os.urandom(5 * MiB + 3), os.urandom(1000)]
        data = b"".join(bodies)
        uid, parts = self.upload("obj/three", bodies, ContentType="text/x-mp",
                                 Metadata={"color": "red"})
        r = self.complete("obj/three", uid, parts)
        self.assertEqual(r["ETag"], mp_etag(bodies))
        self.assertTrue(r["Location"].endswith("/%s/obj/three" % self.bucket), r["Location"])
        g = self.c.get_object(Bucket=self.bucket, Key="obj/three")
        self.assertEqual(g["Body"].read(), data)
        self.assertEqual(g["ETag"], mp_etag(bodies))
        self.assertEqual(g["ContentType"], "text/x-mp")
        self.assertEqual(g["Metadata"], {"color": "red"})
        self.assertNotIn("PartsCount", g)
        h = self.c.head_object(Bucket=self.bucket, Key="obj/three")
        self.assertEqual(h["ContentLength"], len(data))
        lst = self.c.list_objects_v2(Bucket=self.bucket, Prefix="obj/three")["Contents"]
        self.assertEqual((lst[0]["Size"], lst[0]["ETag"]), (len(data), mp_etag(bodies)))
        # Ranges inside one part, across both boundaries, and a suffix.
        for lo, hi in ((0, 99), (5 * MiB - 10, 5 * MiB + 9), (5 * MiB - 1, 10 * MiB + 5),
                       (len(data) - 1, len(data) - 1)):
            g = self.c.get_object(Bucket=self.bucket, Key="obj/three", Range="bytes=%d-%d" % (lo, hi))
            self.assertEqual(g["Body"].read(), data[lo:hi + 1])
            self.assertEqual(g["ContentRange"], "bytes %d-%d/%d" % (lo, hi, len(data)))
        g = self.c.get_object(Bucket=self.bucket, Key="obj/three", Range="bytes=-1500")
        self.assertEqual(g["Body"].read(), data[-1500:])
        # partNumber: a ranged GET of that part, with the part count.
        off = 0
        for i, body in enumerate(bodies, 1):
            g = self.c.get_object(Bucket=self.bucket, Key="obj/three", PartNumber=i)
            self.assertEqual(g["ResponseMetadata"]["HTTPStatusCode"], 206)
            self.assertEqual(g["PartsCount"], 3)
            self.assertEqual(g["ContentRange"],
                             "bytes %d-%d/%d" % (off, off + len(body) - 1, len(data)))
            self.assertEqual(g["Body"].read(), body)
            self.assertEqual(g["ETag"], mp_etag(bodies))
            off += len(body)
        h = self.c.head_object(Bucket=self.bucket, Key="obj/three", PartNumber=2)
        self.assertEqual((h["ContentLength"], h["PartsCount"]), (len(bodies[1]), 3))
        self.assertS3Error("InvalidPartNumber", 416, self.c.get_object, Bucket=self.bucket,
                           Key="obj/three", PartNumber=4)
        r = self.raw("GET", "obj/three", [("partNumber", "0")])
        self.assertRawError(r, 400, "InvalidArgument")
        r = self.raw("GET", "obj/three", [("partNumber", "10001")])
        self.assertRawError(r, 400, "InvalidArgument")
        r = self.raw("GET", "obj/three", [("partNumber", "1")], headers={"Range": "bytes=0-1"})
        self.assertRawError(r, 400, "InvalidRequest")

    def test_non_multipart_part_one(self):
        self.c.put_object(Bucket=self.bucket, Key="plain", Body=b"0123456789")
        g = self.c.get_object(Bucket=self.bucket, Key="plain", PartNumber=1)
        self.assertEqual(g["ResponseMetadata"]["HTTPStatusCode"], 206)
        self.assertEqual(g["Body"].read(), b"0123456789")
        self.assertEqual(g["ContentRange"], "bytes 0-9/10")
        self.assertNotIn("PartsCount", g)
        self.assertS3Error("InvalidPartNumber", 416, self.c.get_object, Bucket=self.bucket,
                           Key="plain", PartNumber=2)

    def test_single_empty_part_and_reupload(self):
        uid, parts = self.upload("empty", [b""])
        self.complete("empty", uid, parts)
        g = self.c.get_object(Bucket=self.bucket, Key="empty")
        self.assertEqual(g["Body"].read(), b"")
        self.assertEqual(g["ETag"], mp_etag([b""]))
        # Re-uploading a part replaces it; the old data file goes away.
        n0 = blob_files(lib.env().data)[0]
        uid = self.c.create_multipart_upload(Bucket=self.bucket, Key="re")["UploadId"]
        self.c.upload_part(Bucket=self.bucket, Key="re", UploadId=uid, PartNumber=1, Body=b"old")
        self.assertEqual(settled_files(n0 + 1), n0 + 1)
        e = self.c.upload_part(Bucket=self.bucket, Key="re", UploadId=uid, PartNumber=1,
                               Body=b"new!")["ETag"]
        self.assertEqual(settled_files(n0 + 1), n0 + 1)
        parts = self.c.list_parts(Bucket=self.bucket, Key="re", UploadId=uid)["Parts"]
        self.assertEqual([(p["PartNumber"], p["Size"], p["ETag"]) for p in parts], [(1, 4, e)])
        self.complete("re", uid, [{"PartNumber": 1, "ETag": e}])
        self.assertEqual(self.c.get_object(Bucket=self.bucket, Key="re")["Body"].read(), b"new!")

    def test_content_encoding_without_aws_chunked(self):
        """The aws-chunked token describes a transfer, never the object: dropped from a
        Content-Encoding list at CreateMultipartUpload as at PutObject."""
        r = self.raw("POST", "enc", [("uploads", None)],
                     headers={"Content-Encoding": "aws-chunked, gzip", "x-amz-meta-a": "1"})
        self.assertEqual(r.status, 200, r)
        uid = ET.fromstring(r.body).findtext(S3NS + "UploadId")
        e = self.c.upload_part(Bucket=self.bucket, Key="enc", UploadId=uid, PartNumber=1,
                               Body=b"z")["ETag"]
        self.complete("enc", uid, [{"PartNumber": 1, "ETag": e}])
        h = self.c.head_object(Bucket=self.bucket, Key="enc")
        self.assertEqual(h.get("ContentEncoding"), "gzip")
        self.assertEqual(h["Metadata"], {"a": "1"})

    def test_unlisted_parts_and_sparse_numbers(self):
        bodies = {2: os.urandom(5 * MiB), 7: os.urandom(5 * MiB), 9: b"tail", 11: b"unused"}
        n0 = blob_files(lib.env().data)[0]
        uid = self.c.create_multipart_upload(Bucket=self.bucket, Key="sparse")["UploadId"]
        etags = {}
        for n, body in bodies.items():
            etags[n] = self.c.upload_part(Bucket=self.bucket, Key="sparse", UploadId=uid,
                                          PartNumber=n, Body=body)["ETag"]
        self.assertEqual(settled_files(n0 + 4), n0 + 4)
        self.complete("sparse", uid, [{"PartNumber": n, "ETag": etags[n]} for n in (2, 7, 9)])
        # Part 11 was not named: its file is gone with the upload.
        self.assertEqual(settled_files(n0 + 3), n0 + 3)
        # The object's parts are 1..3 in order, whatever the upload called them.
        g = self.c.get_object(Bucket=self.bucket, Key="sparse", PartNumber=3)
        self.assertEqual(g["Body"].read(), b"tail")
        self.assertEqual(g["PartsCount"], 3)
        self.assertEqual(self.c.get_object(Bucket=self.bucket, Key="sparse")["Body"].read(),
                         bodies[2] + bodies[7] + b"tail")
        # Deleting the object frees every part file.
        self.c.delete_object(Bucket=self.bucket, Key="sparse")
        self.assertEqual(settled_files(n0), n0)

    def test_abort_frees_space(self):
        n0, s0 = blob_files(lib.env().data)
        uid, _ = self.upload("aborted", [os.urandom(MiB), os.urandom(MiB)])
        n1, s1 = blob_files(lib.env().data)
        self.assertEqual((n1 - n0, s1 - s0), (2, 2 * MiB))
        self.c.abort_multipart_upload(Bucket=self.bucket, Key="aborted", UploadId=uid)
        self.assertEqual(settled_files((n0, s0), count_only=False), (n0, s0))
        self.assertS3Error("NoSuchUpload", 404, self.c.abort_multipart_upload,
                           Bucket=self.bucket, Key="aborted", UploadId=uid)
        self.assertS3Error("NoSuchUpload", 404, self.c.list_parts, Bucket=self.bucket,
                           Key="aborted", UploadId=uid)
        self.assertS3Error("NoSuchUpload", 404, self.c.upload_part, Bucket=self.bucket,
                           Key="aborted", UploadId=uid, PartNumber=1, Body=b"x")
        self.assertStatus(404, self.c.head_object, Bucket=self.bucket, Key="aborted")

    def test_object_invisible_until_complete(self):
        uid, parts = self.upload("pending", [b"abc"])
        self.assertS3Error("NoSuchKey", 404, self.c.get_object, Bucket=self.bucket, Key="pending")
        keys = [o["Key"] for o in self.c.list_objects_v2(Bucket=self.bucket).get("Contents", [])]
        self.assertNotIn("pending", keys)
        self.complete("pending", uid, parts)
        self.assertEqual(self.c.get_object(Bucket=self.bucket, Key="pending")["Body"].read(),
                         b"abc")
        # Completed: the upload is gone (a repeated completion answers its success again:
        # test_conformance.CompleteRetryTest).
        self.assertS3Error("NoSuchUpload", 404, self.c.list_parts, Bucket=self.bucket,
                           Key="pending", UploadId=uid)
        self.assertS3Error("NoSuchUpload", 404, self.c.abort_multipart_upload,
                           Bucket=self.bucket, Key="pending", UploadId=uid)


class MultipartListTest(MultipartBase):
    def test_list_parts_paging(self):
        uid, parts = self.upload("lp", [b"a" * n for n in range(1, 8)])
        r = self.c.list_parts(Bucket=self.bucket, Key="lp", UploadId=uid, MaxParts=3)
        self.assertEqual([p["PartNumber"] for p in r["Parts"]], [1, 2, 3])
        self.assertTrue(r["IsTruncated"])
        self.assertEqual(r["NextPartNumberMarker"], 3)
        self.assertEqual(r["MaxParts"], 3)
        self.assertEqual(r["StorageClass"], "STANDARD")
        self.assertTrue(r["Owner"]["ID"] and r["Initiator"]["ID"])
        r = self.c.list_parts(Bucket=self.bucket, Key="lp", UploadId=uid, MaxParts=3,
                              PartNumberMarker=3)
        self.assertEqual([(p["PartNumber"], p["Size"]) for p in r["Parts"]],
                         [(4, 4), (5, 5), (6, 6)])
        r = self.c.list_parts(Bucket=self.bucket, Key="lp", UploadId=uid, PartNumberMarker=6)
        self.assertEqual([p["PartNumber"] for p in r["Parts"]], [7])
        self.assertFalse(r["IsTruncated"])
        self.assertEqual(r["Parts"][0]["ETag"], parts[6]["ETag"])
        r = self.raw("GET", "lp", [("uploadId", uid), ("max-parts", "x")])
        self.assertRawError(r, 400, "InvalidArgument")
        r = self.raw("GET", "lp", [("uploadId", uid), ("part-number-marker", "-1")])
        self.assertRawError(r, 400, "InvalidArgument")
        self.c.abort_multipart_upload(Bucket=self.bucket, Key="lp", UploadId=uid)

    def test_list_uploads_paging_prefix_delimiter(self):
        b = lib.bucket_name("mpul")
        self.c.create_bucket(Bucket=b)
        try:
            made = []
            for k in ("a/1", "a/2", "b", "b", "c/x/1", "d e+f"):
                made.append((k, self.c.create_multipart_upload(Bucket=b, Key=k)["UploadId"]))
            r = self.c.list_multipart_uploads(Bucket=b)
            got = [(u["Key"], u["UploadId"]) for u in r["Uploads"]]
            self.assertEqual(got, made)  # key order, then creation order
            self.assertFalse(r["IsTruncated"])
            self.assertEqual(r["Uploads"][0]["StorageClass"], "STANDARD")
            self.assertTrue(r["Uploads"][0]["Initiated"])
            # Paging two at a time with KeyMarker/UploadIdMarker walks them all once.
            seen, km, um = [], None, None
            while True:
                kw = {"MaxUploads": 2}
                if km is not None:
                    kw.update(KeyMarker=km, UploadIdMarker=um)
                r = self.c.list_multipart_uploads(Bucket=b, **kw)
                seen += [(u["Key"], u["UploadId"]) for u in r.get("Uploads", [])]
                if not r["IsTruncated"]:
                    break
                km, um = r["NextKeyMarker"], r["NextUploadIdMarker"]
            self.assertEqual(seen, made)
            # Prefix and delimiter.
            r = self.c.list_multipart_uploads(Bucket=b, Delimiter="/")
            self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["a/", "c/"])
            self.assertEqual([u["Key"] for u in r["Uploads"]], ["b", "b", "d e+f"])
            r = self.c.list_multipart_uploads(Bucket=b, Prefix="c/", Delimiter="/")
            self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["c/x/"])
            r = self.c.list_multipart_uploads(Bucket=b, Delimiter="/", MaxUploads=1)
            self.assertEqual(r["CommonPrefixes"][0]["Prefix"], "a/")
            self.assertEqual(r["NextKeyMarker"], "a/")
            r = self.c.list_multipart_uploads(Bucket=b, Delimiter="/", KeyMarker="a/")
            self.assertEqual([u["Key"] for u in r["Uploads"]][:1], ["b"])
            self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["c/"])
            # KeyMarker alone skips every upload of that key.
            r = self.c.list_multipart_uploads(Bucket=b, KeyMarker="b")
            self.assertEqual([u["Key"] for u in r["Uploads"]], ["c/x/1", "d e+f"])
            # encoding-type=url (botocore does not decode it for this call).
            r = self.c.list_multipart_uploads(Bucket=b, Prefix="d", EncodingType="url")
            self.assertEqual([u["Key"] for u in r["Uploads"]], ["d+e%2Bf"])
            raw = lib.signed_request("GET", "/%s" % b, [("uploads", None), ("prefix", "d"),
                                                        ("encoding-type", "url")])
            self.assertIn(b"<Key>d+e%2Bf</Key>", raw.body)
            r = lib.signed_request("GET", "/%s" % b, [("uploads", None), ("max-uploads", "-2")])
            self.assertRawError(r, 400, "InvalidArgument")
            # Deleting a bucket with uploads in progress succeeds (AWS) and frees them.
            self.c.upload_part(Bucket=b, Key="b", UploadId=made[2][1], PartNumber=1,
                               Body=os.urandom(1000))
            n0 = blob_files(lib.env().data)[0]
            self.c.delete_bucket(Bucket=b)
            self.assertEqual(settled_files(n0 - 1), n0 - 1)
        finally:
            lib.delete_bucket(self.c, b)


class MultipartErrorTest(MultipartBase):
    def test_complete_errors(self):
        small = os.urandom(1000)
        big = os.urandom(5 * MiB)
        uid, parts = self.upload("err", [small, big, b"x"])
        # EntityTooSmall: a non-last part under 5 MiB.
        r = self.assertS3Error("EntityTooSmall", 400, self.complete, "err", uid, parts)
        self.assertIn(b"<ProposedSize>1000</ProposedSize>",
                      self.raw("POST", "err", [("uploadId", uid)], self.xml(parts)).body)
        # InvalidPart: a part never uploaded, or a wrong ETag.
        self.assertS3Error("InvalidPart", 400, self.complete, "err", uid,
                           [{"PartNumber": 2, "ETag": parts[1]["ETag"]},
                            {"PartNumber": 4, "ETag": parts[1]["ETag"]}])
        self.assertS3Error("InvalidPart", 400, self.complete, "err", uid,
                           [{"PartNumber": 2, "ETag": '"%s"' % ("0" * 32)}])
        # InvalidPartOrder: descending or repeated part numbers.
        self.assertS3Error("InvalidPartOrder", 400, self.complete, "err", uid,
                           [parts[2], parts[1]])
        self.assertS3Error("InvalidPartOrder", 400, self.complete, "err", uid,
                           [parts[1], parts[1]])
        # MalformedXML: no parts, not XML, wrong root, no ETag.
        for body in (b"<CompleteMultipartUpload></CompleteMultipartUpload>", b"", b"<<<",
                     b"<Foo><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></Foo>",
                     b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part>"
                     b"</CompleteMultipartUpload>"):
            self.assertRawError(self.raw("POST", "err", [("uploadId", uid)], body), 400,
                                "MalformedXML")
        # InvalidArgument: part numbers outside 1..10000.
        for n in ("0", "10001", "abc"):
            body = ("<CompleteMultipartUpload><Part><PartNumber>%s</PartNumber><ETag>x</ETag>"
                    "</Part></CompleteMultipartUpload>" % n).encode()
            self.assertRawError(self.raw("POST", "err", [("uploadId", uid)], body), 400,
                                "InvalidArgument")
        # Nothing above completed anything; a good list does (last part may be tiny).
        self.assertStatus(404, self.c.head_object, Bucket=self.bucket, Key="err")
        r = self.complete("err", uid, parts[1:])
        self.assertEqual(r["ETag"], mp_etag([big, b"x"]))

    @staticmethod
    def xml(parts):
        return ("<CompleteMultipartUpload>%s</CompleteMultipartUpload>" % "".join(
            "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>"
            % (p["PartNumber"], p["ETag"]) for p in parts)).encode()

    def test_upload_errors(self):
        uid = self.c.create_multipart_upload(Bucket=self.bucket, Key="uerr")["UploadId"]
        for n in ("0", "10001", "-1", "x"):
            r = self.raw("PUT", "uerr", [("partNumber", n), ("uploadId", uid)], b"data")
            self.assertRawError(r, 400, "InvalidArgument")
        r = self.raw("PUT", "uerr", [("partNumber", "10000"), ("uploadId", uid)], b"data")
        self.assertRawOK(r)
        self.assertS3Error("NoSuchUpload", 404, self.c.upload_part, Bucket=self.bucket,
                           Key="uerr", UploadId="nosuchupload", PartNumber=1, Body=b"x")
        # An upload id belongs to its key.
        self.assertS3Error("NoSuchUpload", 404, self.c.upload_part, Bucket=self.bucket,
                           Key="other-key", UploadId=uid, PartNumber=1, Body=b"x")
        self.assertS3Error("NoSuchUpload", 404, self.c.complete_multipart_upload,
                           Bucket=self.bucket, Key="uerr", UploadId="nosuchupload",
                           MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": "x"}]})
        # Content-MD5 and checksum headers are verified per part.
        self.assertS3Error("BadDigest", 400, self.c.upload_part, Bucket=self.bucket, Key="uerr",
                           UploadId=uid, PartNumber=1, Body=b"data",
                           ContentMD5=lib.md5_b64(b"other"))
        r = self.raw("PUT", "uerr", [("partNumber", "1"), ("uploadId", uid)], b"data",
                     headers={"x-amz-checksum-crc32": lib.checksum_b64("crc32", b"other")})
        self.assertRawError(r, 400, "BadDigest")
        # EntityTooLarge: a part over 5 GiB is refused before any byte is read.
        conn = lib.RawConn()
        try:
            s = lib.sign("PUT", "/%s/uerr" % self.bucket,
                         [("partNumber", "2"), ("uploadId", uid)],
                         {"Content-Length": str(5 * 1024 * MiB + 1)},
                         payload_hash="UNSIGNED-PAYLOAD", host=lib.host_for())
            conn.sendall(lib.request_bytes(s.method, s.target, s.headers))
            resp = conn.read_response()
            self.assertRawError(resp, 400, "EntityTooLarge")
        finally:
            conn.close()
        # Checksum algorithm of a part must match the upload's.
        u2 = self.c.create_multipart_upload(Bucket=self.bucket, Key="uerr2",
                                            ChecksumAlgorithm="SHA256")["UploadId"]
        r = self.raw("PUT", "uerr2", [("partNumber", "1"), ("uploadId", u2)], b"data",
                     headers={"x-amz-checksum-crc32": lib.checksum_b64("crc32", b"data")})
        self.assertRawError(r, 400, "InvalidRequest")
        self.c.abort_multipart_upload(Bucket=self.bucket, Key="uerr2", UploadId=u2)
        self.c.abort_multipart_upload(Bucket=self.bucket, Key="uerr", UploadId=uid)

    def test_create_errors(self):
        for hdrs in ({"x-amz-checksum-algorithm": "MD5"},
                     {"x-amz-checksum-type": "COMPOSITE"},
                     {"x-amz-checksum-algorithm": "CRC64NVME", "x-amz-checksum-type": "COMPOSITE"},
                     {"x-amz-checksum-algorithm": "SHA1", "x-amz-checksum-type": "FULL_OBJECT"},
                     {"x-amz-checksum-algorithm": "CRC32", "x-amz-checksum-type": "BOTH"}):
            r = self.raw("POST", "cerr", [("uploads", None)], headers=hdrs)
            self.assertRawError(r, 400, "InvalidRequest")
        r = self.raw("POST", "cerr", [("uploads", None)], headers={"x-amz-storage-class": "X"})
        self.assertRawError(r, 400, "InvalidStorageClass")
        self.assertS3Error("NoSuchBucket", 404, self.c.create_multipart_upload,
                           Bucket=lib.bucket_name("nosuch"), Key="k")
        # Another account's bucket.
        other = lib.other_client()
        self.assertS3Error("AccessDenied", 403, other.create_multipart_upload,
                           Bucket=self.bucket, Key="k")
        self.assertEqual(self.c.list_multipart_uploads(Bucket=self.bucket, Prefix="cerr")
                         .get("Uploads", []), [])


class MultipartVersioningTest(MultipartBase):
    def test_enabled_and_suspended(self):
        b = lib.bucket_name("mpuv")
        self.c.create_bucket(Bucket=b)
        try:
            self.c.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
            vids = []
            for body in (b"first", b"second"):
                uid, parts = self.upload("k", [body], bucket=b)
                vids.append(self.complete("k", uid, parts, bucket=b)["VersionId"])
            self.assertNotEqual(vids[0], vids[1])
            for vid, body in zip(vids, (b"first", b"second")):
                self.assertEqual(self.c.get_object(Bucket=b, Key="k", VersionId=vid)["Body"]
                                 .read(), body)
            self.assertEqual(self.c.get_object(Bucket=b, Key="k")["Body"].read(), b"second")
            self.c.put_bucket_versioning(Bucket=b,
                                         VersioningConfiguration={"Status": "Suspended"})
            for body in (b"null-1", b"null-2"):
                uid, parts = self.upload("k", [body], bucket=b)
                r = self.complete("k", uid, parts, bucket=b)
                self.assertNotIn("VersionId", r)
            vs = self.c.list_object_versions(Bucket=b, Prefix="k")["Versions"]
            self.assertEqual(sorted(v["VersionId"] for v in vs), sorted(vids + ["null"]))
            self.assertEqual(self.c.get_object(Bucket=b, Key="k", VersionId="null")["Body"]
                             .read(), b"null-2")
            # Removing the versions frees their parts.
            n0 = blob_files(lib.env().data)[0]
            for v in vs:
                self.c.delete_object(Bucket=b, Key="k", VersionId=v["VersionId"])
            self.assertEqual(settled_files(n0 - 3), n0 - 3)
        finally:
            for v in self.c.list_object_versions(Bucket=b).get("Versions", []):
                self.c.delete_object(Bucket=b, Key=v["Key"], VersionId=v["VersionId"])
            lib.delete_bucket(self.c, b)

    def test_overwrite_unversioned_frees_parts(self):
        uid, parts = self.upload("ow", [os.urandom(5 * MiB), b"z"])
        self.complete("ow", uid, parts)
        n0 = blob_files(lib.env().data)[0]
        self.c.put_object(Bucket=self.bucket, Key="ow", Body=b"small now")
        self.assertEqual(settled_files(n0 - 2), n0 - 2)  # small bodies are inline
        self.assertEqual(self.c.get_object(Bucket=self.bucket, Key="ow")["Body"].read(),
                         b"small now")


class MultipartCopyTest(MultipartBase):
    def test_upload_part_copy_and_copy_object(self):
        src = os.urandom(6 * MiB + 17)
        self.c.put_object(Bucket=self.bucket, Key="src/plain", Body=src)
        mp_bodies = [os.urandom(5 * MiB), os.urandom(2 * MiB)]
        uid, parts = self.upload("src/mp", mp_bodies)
        self.complete("src/mp", uid, parts)
        mp = b"".join(mp_bodies)
        self.c.put_object(Bucket=self.bucket, Key="src/tiny", Body=b"inline!")

        uid = self.c.create_multipart_upload(Bucket=self.bucket, Key="dst")["UploadId"]
        pieces = [("src/plain", None, src),
                  ("src/mp", "bytes=%d-%d" % (MiB, 6 * MiB + 99), mp[MiB:6 * MiB + 100]),
                  ("src/tiny", "bytes=1-3", b"nli")]
        done = []
        for i, (key, rng, want) in enumerate(pieces, 1):
            kw = {"CopySourceRange": rng} if rng else {}
            r = self.c.upload_part_copy(Bucket=self.bucket, Key="dst", UploadId=uid,
                                        PartNumber=i, CopySource={"Bucket": self.bucket,
                                                                  "Key": key}, **kw)
            self.assertEqual(r["CopyPartResult"]["ETag"], '"%s"' % hashlib.md5(want).hexdigest())
            done.append({"PartNumber": i, "ETag": r["CopyPartResult"]["ETag"]})
        # Bad ranges and sources.
        self.assertS3Error("InvalidRange", 416, self.c.upload_part_copy, Bucket=self.bucket,
                           Key="dst", UploadId=uid, PartNumber=9,
                           CopySource={"Bucket": self.bucket, "Key": "src/tiny"},
                           CopySourceRange="bytes=0-7")
        self.assertS3Error("InvalidArgument", 400, self.c.upload_part_copy, Bucket=self.bucket,
                           Key="dst", UploadId=uid, PartNumber=9,
                           CopySource={"Bucket": self.bucket, "Key": "src/tiny"},
                           CopySourceRange="bytes=3-1")
        for rng in ("bytes=0-18446744073709551616", "bytes=9223372036854775808-9223372036854775809"):
            self.assertS3Error("InvalidRange", 416, self.c.upload_part_copy, Bucket=self.bucket,
                               Key="dst", UploadId=uid, PartNumber=9,
                               CopySource={"Bucket": self.bucket, "Key": "src/tiny"},
                               CopySourceRange=rng)
        self.assertS3Error("NoSuchKey", 404, self.c.upload_part_copy, Bucket=self.bucket,
                           Key="dst", UploadId=uid, PartNumber=9,
                           CopySource={"Bucket": self.bucket, "Key": "src/none"})
        self.assertS3Error("PreconditionFailed", 412, self.c.upload_part_copy,
                           Bucket=self.bucket, Key="dst", UploadId=uid, PartNumber=9,
                           CopySource={"Bucket": self.bucket, "Key": "src/tiny"},
                           CopySourceIfMatch='"0000"')
        self.complete("dst", uid, done)
        want = b"".join(p[2] for p in pieces)
        self.assertEqual(self.c.get_object(Bucket=self.bucket, Key="dst")["Body"].read(), want)
        # CopyObject of a multipart object copies all of its data.
        self.c.copy_object(Bucket=self.bucket, Key="copy-of-mp",
                           CopySource={"Bucket": self.bucket, "Key": "src/mp"})
        self.assertEqual(self.c.get_object(Bucket=self.bucket, Key="copy-of-mp")["Body"].read(),
                         mp)


class MultipartChecksumTest(MultipartBase):
    def check_algo(self, algo, size, threads=4):
        data = os.urandom(size)
        key = "tm/%s" % algo
        cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB,
                             max_concurrency=threads, use_threads=threads > 1)
        self.c.upload_fileobj(_Reader(data), self.bucket, key, Config=cfg,
                              ExtraArgs={"ChecksumAlgorithm": algo})
        parts = [data[i:i + 5 * MiB] for i in range(0, len(data), 5 * MiB)]
        h = self.c.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        self.assertEqual(h["ETag"], mp_etag(parts))
        member = "Checksum" + algo
        if algo == "CRC64NVME":
            self.assertEqual(h[member], lib.checksum_b64(algo, data))
            self.assertEqual(h["ChecksumType"], "FULL_OBJECT")
        else:
            self.assertEqual(h[member], composite(algo, parts))
            self.assertEqual(h["ChecksumType"], "COMPOSITE")
        # Each part carries its own checksum.
        g = self.c.get_object(Bucket=self.bucket, Key=key, PartNumber=2, ChecksumMode="ENABLED")
        self.assertEqual(g["Body"].read(), parts[1])
        if algo != "CRC64NVME":
            self.assertEqual(g[member], lib.checksum_b64(algo, parts[1]))
        out = _Writer()
        self.c.download_fileobj(self.bucket, key, out, Config=cfg)
        self.assertEqual(hashlib.md5(out.getvalue()).hexdigest(), hashlib.md5(data).hexdigest())

    def test_crc32(self):
        self.check_algo("CRC32", 23 * MiB + 5, threads=6)

    def test_crc32c(self):
        self.check_algo("CRC32C", 10 * MiB + 5)

    def test_crc64nvme(self):
        self.check_algo("CRC64NVME", 10 * MiB + 5)

    def test_sha1(self):
        self.check_algo("SHA1", 15 * MiB + 1)

    def test_sha256(self):
        self.check_algo("SHA256", 15 * MiB + 1)

    def test_full_object_crc32(self):
        data = os.urandom(11 * MiB)
        parts = [data[:5 * MiB], data[5 * MiB:10 * MiB], data[10 * MiB:]]
        uid = self.c.create_multipart_upload(Bucket=self.bucket, Key="full", ChecksumAlgorithm="CRC32",
                                             ChecksumType="FULL_OBJECT")["UploadId"]
        done = []
        for i, p in enumerate(parts, 1):
            r = self.c.upload_part(Bucket=self.bucket, Key="full", UploadId=uid, PartNumber=i,
                                   Body=p, ChecksumAlgorithm="CRC32")
            self.assertEqual(r["ChecksumCRC32"], lib.checksum_b64("crc32", p))
            done.append({"PartNumber": i, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})
        whole = lib.checksum_b64("crc32", data)
        # A wrong whole-object checksum is refused, the right one accepted.
        self.assertS3Error("BadDigest", 400, self.c.complete_multipart_upload,
                           Bucket=self.bucket, Key="full", UploadId=uid,
                           MultipartUpload={"Parts": done}, ChecksumCRC32="AAAAAA==",
                           ChecksumType="FULL_OBJECT")
        self.assertS3Error("InvalidRequest", 400, self.c.complete_multipart_upload,
                           Bucket=self.bucket, Key="full", UploadId=uid,
                           MultipartUpload={"Parts": done}, MpuObjectSize=len(data) - 1)
        r = self.c.complete_multipart_upload(Bucket=self.bucket, Key="full", UploadId=uid,
                                             MultipartUpload={"Parts": done},
                                             ChecksumCRC32=whole, ChecksumType="FULL_OBJECT",
                                             MpuObjectSize=len(data))
        self.assertEqual((r["ChecksumCRC32"], r["ChecksumType"]), (whole, "FULL_OBJECT"))
        h = self.c.head_object(Bucket=self.bucket, Key="full", ChecksumMode="ENABLED")
        self.assertEqual((h["ChecksumCRC32"], h["ChecksumType"]), (whole, "FULL_OBJECT"))

    def test_composite_part_checksum_mismatch(self):
        uid = self.c.create_multipart_upload(Bucket=self.bucket, Key="ckbad",
                                             ChecksumAlgorithm="SHA256")["UploadId"]
        r = self.c.upload_part(Bucket=self.bucket, Key="ckbad", UploadId=uid, PartNumber=1,
                               Body=b"abc", ChecksumAlgorithm="SHA256")
        lp = self.c.list_parts(Bucket=self.bucket, Key="ckbad", UploadId=uid)
        self.assertEqual(lp["Parts"][0]["ChecksumSHA256"], lib.checksum_b64("sha256", b"abc"))
        self.assertEqual(lp["ChecksumAlgorithm"], "SHA256")
        self.assertS3Error("InvalidPart", 400, self.c.complete_multipart_upload,
                           Bucket=self.bucket, Key="ckbad", UploadId=uid,
                           MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["ETag"],
                                                       "ChecksumSHA256": lib.checksum_b64(
                                                           "sha256", b"abd")}]})
        # AWS: a COMPOSITE upload's completion must name each part's checksum.
        self.assertS3Error("InvalidRequest", 400, self.c.complete_multipart_upload,
                           Bucket=self.bucket, Key="ckbad", UploadId=uid,
                           MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["ETag"]}]})
        self.c.abort_multipart_upload(Bucket=self.bucket, Key="ckbad", UploadId=uid)


class _Reader:
    """A seekable file-like object over bytes (TransferManager reads it from threads)."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def read(self, n=-1):
        if n is None or n < 0:
            n = len(self.data) - self.pos
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out

    def seek(self, off, whence=0):
        self.pos = off if whence == 0 else (self.pos + off if whence == 1 else len(self.data) + off)
        return self.pos

    def tell(self):
        return self.pos


class _Writer:
    def __init__(self):
        self.chunks = {}
        self.pos = 0
        self.lock = threading.Lock()

    def write(self, b):
        with self.lock:
            self.chunks[self.pos] = bytes(b)
            self.pos += len(b)

    def seek(self, off, whence=0):
        self.pos = off

    def tell(self):
        return self.pos

    def getvalue(self):
        return b"".join(self.chunks[k] for k in sorted(self.chunks))


class MultipartCrashTest(lib.E2ETestCase):
    """kill -9 in the middle of an upload and right after a completion (own server)."""

    def setUp(self):
        super().setUp()
        self.srv = lib.Server(tag="mpcrash")
        self.data = self.srv.data
        self.srv.start()
        acct = self.srv.account("crash")
        self.ak, self.sk = acct["access_key_id"], acct["secret_access_key"]

    def tearDown(self):
        report = self.srv.close()
        super().tearDown()
        self.assertEqual(report, "", "sanitizer report in cofferd log")

    def client(self):
        return lib.client(ak=self.ak, sk=self.sk, endpoint=self.srv.http)

    def test_kill_during_upload_then_abort(self):
        c = self.client()
        c.create_bucket(Bucket="crash")
        uid = c.create_multipart_upload(Bucket="crash", Key="big")["UploadId"]
        for i in (1, 2):
            c.upload_part(Bucket="crash", Key="big", UploadId=uid, PartNumber=i,
                          Body=os.urandom(8 * MiB))
        # Part 3: send half of a 64 MiB body, then kill -9 the server.
        size = 64 * MiB
        s = lib.sign("PUT", "/crash/big", [("partNumber", "3"), ("uploadId", uid)],
                     {"Content-Length": str(size)}, payload_hash="UNSIGNED-PAYLOAD",
                     ak=self.ak, sk=self.sk, host=self.srv.host)
        sock = socket.create_connection(("127.0.0.1", self.srv.http_port))
        sock.sendall(lib.request_bytes(s.method, s.target, s.headers))
        chunk = os.urandom(MiB)
        for _ in range(32):
            sock.sendall(chunk)
        time.sleep(0.2)
        self.srv.kill()
        sock.close()
        self.srv.start(keep_ports=True)
        c = self.client()
        self.assertEqual(c.list_objects_v2(Bucket="crash").get("KeyCount"), 0)
        self.assertStatus(404, c.head_object, Bucket="crash", Key="big")
        ups = c.list_multipart_uploads(Bucket="crash")["Uploads"]
        self.assertEqual([(u["Key"], u["UploadId"]) for u in ups], [("big", uid)])
        parts = c.list_parts(Bucket="crash", Key="big", UploadId=uid)["Parts"]
        self.assertEqual([(p["PartNumber"], p["Size"]) for p in parts],
                         [(1, 8 * MiB), (2, 8 * MiB)])
        # The two parts remain until abort. The half-written part is gone (start-up sweep),
        # except on a shared RADOS store, whose sweep leaves data younger than a day (another
        # gateway may still be writing it): its chunks stay, an orphan of one blob, until then.
        n, size = blob_files(self.data)
        if lib.data_in_rados(self.data):
            orphan = (n - 2, size - 16 * MiB)
            self.assertIn(orphan[0], (0, 1))
            self.assertTrue(0 <= orphan[1] <= 32 * MiB, orphan)
        else:
            orphan = (0, 0)
            self.assertEqual(os.listdir(os.path.join(self.data, "tmp")), [])
        self.assertEqual((n, size), (2 + orphan[0], 16 * MiB + orphan[1]))
        c.abort_multipart_upload(Bucket="crash", Key="big", UploadId=uid)
        self.assertEqual(blob_files(self.data), orphan)
        self.assertEqual(c.list_multipart_uploads(Bucket="crash").get("Uploads", []), [])

    def test_kill_after_complete_is_durable(self):
        c = self.client()
        c.create_bucket(Bucket="crash")
        bodies = [os.urandom(5 * MiB), os.urandom(77)]
        uid = c.create_multipart_upload(Bucket="crash", Key="done")["UploadId"]
        parts = []
        for i, body in enumerate(bodies, 1):
            r = c.upload_part(Bucket="crash", Key="done", UploadId=uid, PartNumber=i, Body=body)
            parts.append({"PartNumber": i, "ETag": r["ETag"]})
        c.complete_multipart_upload(Bucket="crash", Key="done", UploadId=uid,
                                    MultipartUpload={"Parts": parts})
        self.srv.restart(kill=True)
        c = self.client()
        g = c.get_object(Bucket="crash", Key="done")
        self.assertEqual(g["Body"].read(), b"".join(bodies))
        self.assertEqual(g["ETag"], mp_etag(bodies))
        self.assertEqual(c.list_multipart_uploads(Bucket="crash").get("Uploads", []), [])
        self.assertEqual(blob_files(self.data)[0], 2)


if __name__ == "__main__":
    unittest.main()
