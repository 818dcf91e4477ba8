"""Bucket versioning (issue 3) against the suite's cofferd, per docs/spec mfa-delete.md sections
3, 4 and 12 (cases 1-9, 37-48): the three states, Get/PutBucketVersioning on the wire and its
validation errors, version ids, writes and deletes under Enabled/Suspended, delete markers
(GET/HEAD/DELETE by version id), DeleteObjects and CopyObject with versions,
ListObjectVersions (order, paging, prefix/delimiter, validation), DeleteBucket with versions
left, and the AWS CLI's s3api versioning commands.

Raw signed requests are used wherever the exact wire form matters (element names, headers of
error responses, interleaving of <Version> and <DeleteMarker>, which boto3 splits apart)."""

import datetime
import email.utils
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

from botocore.exceptions import ClientError

from lib import S3NS, E2ETestCase, bucket_name, client, env, md5_b64, md5_hex, signed_request

XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
XML_DECL = re.compile(rb'^<\?xml[^>]*\?>\s*')
MSG_METHOD = "The specified method is not allowed against this resource."


# ---------------------------------------------------------------------------------------------
# helpers


def raw(method, bucket, key=None, query=(), headers=None, body=b""):
    path = "/" + bucket + ("" if key is None else "/" + key)
    return signed_request(method, path, list(query), headers, body)


def err_fields(resp):
    """Every child of <Error> as a dict (tag -> text)."""
    root = ET.fromstring(resp.body)
    return {c.tag: (c.text or "") for c in root}


def versioning_body(inner):
    return ('<VersioningConfiguration xmlns="%s">%s</VersioningConfiguration>'
            % (XMLNS, inner)).encode()


def put_versioning_raw(bucket, body):
    h = {"Content-MD5": md5_b64(body), "Content-Type": "application/xml"}
    return raw("PUT", bucket, query=[("versioning", "")], headers=h, body=body)


def get_versioning_raw(bucket):
    return raw("GET", bucket, query=[("versioning", "")])


def strip_decl(body):
    return XML_DECL.sub(b"", body).strip()


def set_versioning(c, bucket, status):
    c.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})


def all_versions(c, bucket):
    """[(key, version_id)] of every version and marker (boto3 paginator)."""
    out = []
    for page in c.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
            out.append((v["Key"], v["VersionId"]))
    return out


def purge_bucket(c, bucket):
    """Removes every version and marker, then the bucket. Best effort (teardown)."""
    try:
        vs = all_versions(c, bucket)
        for i in range(0, len(vs), 1000):
            objs = [{"Key": k, "VersionId": v} for k, v in vs[i:i + 1000]]
            c.delete_objects(Bucket=bucket, Delete={"Objects": objs, "Quiet": True})
        c.delete_bucket(Bucket=bucket)
    except ClientError:
        pass


def url_safe(vid):
    return urllib.parse.quote(vid, safe="") == vid


class Listing:
    """A parsed raw ListVersionsResult."""

    def __init__(self, resp):
        self.resp = resp
        self.root = ET.fromstring(resp.body)
        self.order = [c.tag[len(S3NS):] for c in self.root]
        self.entries = []   # (kind, key, vid, is_latest) in document order
        self.detail = []    # dict per entry
        self.prefixes = []
        for c in self.root:
            tag = c.tag[len(S3NS):]
            if tag in ("Version", "DeleteMarker"):
                d = {x.tag[len(S3NS):]: x for x in c}
                e = (tag, d["Key"].text or "", d["VersionId"].text,
                     d["IsLatest"].text == "true")
                self.entries.append(e)
                self.detail.append({"kind": tag, "order": [x.tag[len(S3NS):] for x in c],
                                    "el": d})
            elif tag == "CommonPrefixes":
                self.prefixes.append(c.findtext(S3NS + "Prefix"))

    def text(self, name):
        return self.root.findtext(S3NS + name)

    def has(self, name):
        return self.root.find(S3NS + name) is not None

    @property
    def truncated(self):
        return self.text("IsTruncated") == "true"


def lov(bucket, params=()):
    r = raw("GET", bucket, query=[("versions", "")] + list(params))
    return r


class VersioningBase(E2ETestCase):
    """One client; buckets made by new_bucket() are purged after the class."""

    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls._buckets = []

    @classmethod
    def tearDownClass(cls):
        for b in cls._buckets:
            purge_bucket(cls.c, b)

    @classmethod
    def new_bucket(cls, tag, status=None):
        b = bucket_name(tag)
        cls.c.create_bucket(Bucket=b)
        cls._buckets.append(b)
        if status:
            set_versioning(cls.c, b, status)
        return b

    def put(self, bucket, key, body):
        """PUT through boto3; returns (version id or None, response headers)."""
        r = self.c.put_object(Bucket=bucket, Key=key, Body=body)
        return r.get("VersionId"), r["ResponseMetadata"]["HTTPHeaders"]

    def listing(self, bucket, params=()):
        r = lov(bucket, params)
        self.assertRawOK(r)
        return Listing(r)

    def entries(self, bucket, params=()):
        return self.listing(bucket, params).entries

    def assertArgError(self, resp, message, arg_name, arg_value=None, status=400):
        self.assertRawError(resp, status, "InvalidArgument")
        f = err_fields(resp)
        self.assertEqual(f.get("Message"), message, repr(resp))
        self.assertEqual(f.get("ArgumentName"), arg_name, repr(resp))
        if arg_value is not None:
            self.assertEqual(f.get("ArgumentValue"), arg_value, repr(resp))
        return f


# ---------------------------------------------------------------------------------------------
# Get/PutBucketVersioning (cases 1-9, section 3)


class VersioningConfigTest(VersioningBase):
    def get_xml(self, b):
        r = get_versioning_raw(b)
        self.assertRawOK(r)
        return strip_decl(r.body).decode()

    def expect_doc(self, inner):
        if not inner:
            return '<VersioningConfiguration xmlns="%s"/>' % XMLNS
        return '<VersioningConfiguration xmlns="%s">%s</VersioningConfiguration>' % (XMLNS, inner)

    def test_case1_new_bucket_empty_configuration_exact_xml(self):
        b = self.new_bucket("vcfg1")
        self.assertEqual(self.get_xml(b), self.expect_doc(""))
        r = self.c.get_bucket_versioning(Bucket=b)
        self.assertNotIn("Status", r)
        self.assertNotIn("MFADelete", r)

    def test_case7_enabled_exact_xml_status_only(self):
        b = self.new_bucket("vcfg7")
        r = put_versioning_raw(b, versioning_body("<Status>Enabled</Status>"))
        self.assertRawOK(r)
        self.assertEqual(strip_decl(r.body), b"", "PutBucketVersioning must answer an empty 200")
        self.assertEqual(self.get_xml(b), self.expect_doc("<Status>Enabled</Status>"))
        g = self.c.get_bucket_versioning(Bucket=b)
        self.assertEqual(g.get("Status"), "Enabled")
        self.assertNotIn("MFADelete", g)

    def test_case6_unversioned_to_suspended_directly(self):
        b = self.new_bucket("vcfg6")
        set_versioning(self.c, b, "Suspended")
        self.assertEqual(self.get_xml(b), self.expect_doc("<Status>Suspended</Status>"))

    def test_three_states_and_never_back_to_unversioned(self):
        b = self.new_bucket("vstates")
        self.assertEqual(self.get_xml(b), self.expect_doc(""))
        for status in ("Enabled", "Suspended", "Enabled", "Suspended"):
            set_versioning(self.c, b, status)
            self.assertEqual(self.get_xml(b), self.expect_doc("<Status>%s</Status>" % status))
        # Every way of asking for "unversioned" is refused and changes nothing.
        for inner, code in (("", "IllegalVersioningConfigurationException"),
                            ("<Status>Disabled</Status>", "MalformedXML"),
                            ("<Status></Status>", "MalformedXML"),
                            ("<Status>Unversioned</Status>", "MalformedXML")):
            r = put_versioning_raw(b, versioning_body(inner))
            self.assertRawError(r, 400, code)
            self.assertEqual(self.get_xml(b), self.expect_doc("<Status>Suspended</Status>"))

    def test_case2_empty_body_missing_request_body(self):
        b = self.new_bucket("vcfg2")
        r = put_versioning_raw(b, b"")
        self.assertRawError(r, 400, "MissingRequestBodyError")
        self.assertEqual(r.error()[1], "Request Body is empty")
        self.assertEqual(self.get_xml(b), self.expect_doc(""))

    def test_case3_empty_configuration_illegal(self):
        b = self.new_bucket("vcfg3")
        for body in (versioning_body(""), b"<VersioningConfiguration/>",
                     versioning_body("<MfaDelete>Disabled</MfaDelete>")):
            r = put_versioning_raw(b, body)
            self.assertRawError(r, 400, "IllegalVersioningConfigurationException")
            self.assertEqual(r.error()[1], "The Versioning element must be specified")
        self.assertEqual(self.get_xml(b), self.expect_doc(""))

    def test_case4_status_values_are_case_sensitive(self):
        b = self.new_bucket("vcfg4")
        for status in ("enabled", "Disabled", "ENABLED", "suspended"):
            r = put_versioning_raw(b, versioning_body("<Status>%s</Status>" % status))
            self.assertRawError(r, 400, "MalformedXML")
            self.assertEqual(r.error()[1], "The XML you provided was not well-formed or did "
                             "not validate against our published schema")
        self.assertEqual(self.get_xml(b), self.expect_doc(""))

    def test_case5_mfadelete_element_name_is_MfaDelete(self):
        b = self.new_bucket("vcfg5")
        r = put_versioning_raw(b, versioning_body(
            "<Status>Enabled</Status><MFADelete>Disabled</MFADelete>"))
        self.assertRawError(r, 400, "MalformedXML")
        for bad in (b"not xml at all", b"<VersioningConfiguration><Status>Enabled</Status>",
                    b"<Other><Status>Enabled</Status></Other>",
                    versioning_body("<Status>Enabled</Status><Status>Enabled</Status>"),
                    versioning_body("<Status>Enabled</Status><Extra>1</Extra>"),
                    versioning_body("<MfaDelete>Maybe</MfaDelete><Status>Enabled</Status>")):
            r = put_versioning_raw(b, bad)
            self.assertRawError(r, 400, "MalformedXML")
        self.assertEqual(self.get_xml(b), self.expect_doc(""))

    def test_case8_mfadelete_disabled_accepted_and_echoed(self):
        b = self.new_bucket("vcfg8")
        r = put_versioning_raw(b, versioning_body(
            "<Status>Enabled</Status><MfaDelete>Disabled</MfaDelete>"))
        self.assertRawOK(r)
        self.assertEqual(self.get_xml(b), self.expect_doc(
            "<Status>Enabled</Status><MfaDelete>Disabled</MfaDelete>"))
        g = self.c.get_bucket_versioning(Bucket=b)
        self.assertEqual((g.get("Status"), g.get("MFADelete")), ("Enabled", "Disabled"))
        # Once configured, MfaDelete stays in the document (decision 7), also after a PUT
        # that leaves it out.
        set_versioning(self.c, b, "Suspended")
        self.assertEqual(self.get_xml(b), self.expect_doc(
            "<Status>Suspended</Status><MfaDelete>Disabled</MfaDelete>"))

    def test_case8_boto3_mfadelete_disabled(self):
        b = self.new_bucket("vcfg8b")
        self.c.put_bucket_versioning(Bucket=b, VersioningConfiguration={
            "Status": "Enabled", "MFADelete": "Disabled"})
        g = self.c.get_bucket_versioning(Bucket=b)
        self.assertEqual((g.get("Status"), g.get("MFADelete")), ("Enabled", "Disabled"))

    def test_case9_no_such_bucket(self):
        b = bucket_name("vmissing")
        r = put_versioning_raw(b, versioning_body("<Status>Enabled</Status>"))
        self.assertRawError(r, 404, "NoSuchBucket")
        self.assertEqual(r.error()[1], "The specified bucket does not exist")
        self.assertEqual(err_fields(r).get("BucketName"), b)
        r = get_versioning_raw(b)
        self.assertRawError(r, 404, "NoSuchBucket")
        self.assertS3Error("NoSuchBucket", 404, self.c.put_bucket_versioning, Bucket=b,
                           VersioningConfiguration={"Status": "Enabled"})

    def test_other_account_cannot_read_or_change_versioning(self):
        from lib import other_client
        b = self.new_bucket("vcfgacl")
        o = other_client()
        self.assertS3Error("AccessDenied", 403, o.get_bucket_versioning, Bucket=b)
        self.assertS3Error("AccessDenied", 403, o.put_bucket_versioning, Bucket=b,
                           VersioningConfiguration={"Status": "Enabled"})
        self.assertEqual(self.get_xml(b), self.expect_doc(""))


# ---------------------------------------------------------------------------------------------
# version ids and writes (cases 37, 38)


class WritesTest(VersioningBase):
    def test_case37_enabled_puts_get_distinct_opaque_ids(self):
        b = self.new_bucket("vput37", "Enabled")
        ids = []
        for i in range(12):
            vid, h = self.put(b, "k" if i < 8 else "other%d" % i, b"body-%d" % i)
            self.assertTrue(vid, "no x-amz-version-id on an Enabled PUT: %r" % h)
            self.assertEqual(h.get("x-amz-version-id"), vid)
            ids.append(vid)
        self.assertEqual(len(set(ids)), len(ids), "version ids must be unique: %r" % ids)
        for vid in ids:
            self.assertLessEqual(len(vid.encode()), 1024)
            self.assertNotEqual(vid, "null")
            self.assertTrue(url_safe(vid), "version id not URL-safe: %r" % vid)
            self.assertTrue(vid.isprintable() and vid.isascii(), vid)
        # every version readable by id, with its own body
        for i, vid in enumerate(ids):
            key = "k" if i < 8 else "other%d" % i
            r = self.c.get_object(Bucket=b, Key=key, VersionId=vid)
            self.assertEqual(r["Body"].read(), b"body-%d" % i)
            self.assertEqual(r["VersionId"], vid)
        # latest GET/HEAD carry the newest id
        r = self.c.get_object(Bucket=b, Key="k")
        self.assertEqual((r["Body"].read(), r["VersionId"]), (b"body-7", ids[7]))
        self.assertEqual(self.c.head_object(Bucket=b, Key="k")["VersionId"], ids[7])
        # newest first, IsLatest only on the newest
        es = [e for e in self.entries(b) if e[1] == "k"]
        self.assertEqual([e[2] for e in es], list(reversed(ids[:8])))
        self.assertEqual([e[3] for e in es], [True] + [False] * 7)

    def test_unversioned_put_and_get_have_no_version_id(self):
        b = self.new_bucket("vputnone")
        vid, h = self.put(b, "k", b"x")
        self.assertIsNone(vid)
        self.assertNotIn("x-amz-version-id", h)
        r = self.c.get_object(Bucket=b, Key="k")
        self.assertNotIn("x-amz-version-id", r["ResponseMetadata"]["HTTPHeaders"])
        self.put(b, "k", b"y")
        es = self.entries(b)
        self.assertEqual(es, [("Version", "k", "null", True)])
        # the null version is addressable by id even before versioning is turned on
        r = self.c.get_object(Bucket=b, Key="k", VersionId="null")
        self.assertEqual(r["Body"].read(), b"y")

    def test_case38_suspended_put_null_version_overwritten(self):
        b = self.new_bucket("vput38", "Enabled")
        v1, _ = self.put(b, "k", b"one")
        set_versioning(self.c, b, "Suspended")
        vid, h = self.put(b, "k", b"two")
        self.assertIsNone(vid)
        self.assertNotIn("x-amz-version-id", h, "Suspended PUT must not send x-amz-version-id")
        r = self.c.get_object(Bucket=b, Key="k")
        self.assertEqual(r["ResponseMetadata"]["HTTPHeaders"].get("x-amz-version-id"), "null")
        self.assertEqual(r["Body"].read(), b"two")
        h = self.c.head_object(Bucket=b, Key="k")["ResponseMetadata"]["HTTPHeaders"]
        self.assertEqual(h.get("x-amz-version-id"), "null")
        before = self.entries(b)
        self.assertEqual(before, [("Version", "k", "null", True), ("Version", "k", v1, False)])
        # second PUT replaces the null version: count unchanged, new content
        self.put(b, "k", b"three")
        after = self.entries(b)
        self.assertEqual(after, before)
        self.assertEqual(self.c.get_object(Bucket=b, Key="k", VersionId="null")["Body"].read(),
                         b"three")
        self.assertEqual(self.c.get_object(Bucket=b, Key="k", VersionId=v1)["Body"].read(),
                         b"one")

    def test_null_version_from_unversioned_survives_enabling(self):
        b = self.new_bucket("vputnull")
        self.put(b, "k", b"old")
        set_versioning(self.c, b, "Enabled")
        v2, _ = self.put(b, "k", b"new")
        self.assertNotEqual(v2, "null")
        self.assertEqual(self.entries(b), [("Version", "k", v2, True),
                                           ("Version", "k", "null", False)])
        self.assertEqual(self.c.get_object(Bucket=b, Key="k", VersionId="null")["Body"].read(),
                         b"old")
        # Suspended PUT: the old null version (not the latest) is replaced and the new null
        # becomes the latest.
        set_versioning(self.c, b, "Suspended")
        self.put(b, "k", b"newest")
        self.assertEqual(self.entries(b), [("Version", "k", "null", True),
                                           ("Version", "k", v2, False)])
        self.assertEqual(self.c.get_object(Bucket=b, Key="k")["Body"].read(), b"newest")

    def test_concurrent_puts_to_one_key(self):
        import concurrent.futures
        b = self.new_bucket("vputconc", "Enabled")
        cs = [client() for _ in range(4)]

        def work(i):
            return [cs[i].put_object(Bucket=b, Key="hot", Body=b"%d-%d" % (i, j))["VersionId"]
                    for j in range(15)]
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            ids = [v for part in ex.map(work, range(4)) for v in part]
        self.assertEqual(len(set(ids)), 60)
        es = self.entries(b)
        self.assertEqual(sorted(e[2] for e in es), sorted(ids))
        self.assertEqual([e[3] for e in es], [True] + [False] * 59)
        self.assertEqual(self.c.head_object(Bucket=b, Key="hot")["VersionId"], es[0][2])
        # each thread's own versions appear newest first in the order it wrote them
        for i in range(4):
            mine = [e[2] for e in es if e[2] in ids[15 * i:15 * i + 15]]
            self.assertEqual(mine, list(reversed(ids[15 * i:15 * i + 15])))

    def test_listing_fields_of_a_version(self):
        b = self.new_bucket("vputfields", "Enabled")
        body = b"0123456789"
        r = raw("PUT", b, "plain", body=body)  # no checksum header at all
        self.assertRawOK(r)
        self.c.put_object(Bucket=b, Key="summed", Body=body, ChecksumAlgorithm="SHA256")
        L = self.listing(b)
        self.assertEqual([d["el"]["Key"].text for d in L.detail], ["plain", "summed"])
        plain, summed = L.detail
        self.assertEqual(plain["order"], ["Key", "VersionId", "IsLatest", "LastModified", "ETag",
                                          "Size", "Owner", "StorageClass"])
        self.assertEqual(summed["order"], ["Key", "VersionId", "IsLatest", "LastModified",
                                           "ETag", "ChecksumAlgorithm", "ChecksumType", "Size",
                                           "Owner", "StorageClass"])
        self.assertEqual(summed["el"]["ChecksumAlgorithm"].text, "SHA256")
        self.assertEqual(summed["el"]["ChecksumType"].text, "FULL_OBJECT")
        el = plain["el"]
        self.assertEqual(el["VersionId"].text, r.header("x-amz-version-id"))
        self.assertEqual(el["ETag"].text, '"%s"' % md5_hex(body))
        self.assertEqual(el["Size"].text, "10")
        self.assertEqual(el["StorageClass"].text, "STANDARD")
        self.assertRegex(el["LastModified"].text, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertTrue(el["Owner"].findtext(S3NS + "ID"))


# ---------------------------------------------------------------------------------------------
# deletes and delete markers (cases 39-43)


class DeleteMarkerTest(VersioningBase):
    def simple_delete(self, b, key):
        r = raw("DELETE", b, key)
        self.assertRawOK(r, 204)
        return r

    def test_enabled_simple_delete_inserts_marker(self):
        b = self.new_bucket("vdel", "Enabled")
        v1, _ = self.put(b, "k", b"a")
        r = self.simple_delete(b, "k")
        self.assertEqual(r.header("x-amz-delete-marker"), "true")
        dm = r.header("x-amz-version-id")
        self.assertTrue(dm and dm not in (v1, "null"), repr(r))
        self.assertEqual(self.entries(b), [("DeleteMarker", "k", dm, True),
                                           ("Version", "k", v1, False)])
        # boto3's view
        r = self.c.delete_object(Bucket=b, Key="k")
        self.assertTrue(r.get("DeleteMarker"))
        self.assertTrue(r.get("VersionId"))

    def test_delete_on_missing_key_still_creates_marker(self):
        b = self.new_bucket("vdelnone", "Enabled")
        r = self.simple_delete(b, "ghost")
        self.assertEqual(r.header("x-amz-delete-marker"), "true")
        self.assertEqual(self.entries(b),
                         [("DeleteMarker", "ghost", r.header("x-amz-version-id"), True)])

    def test_unversioned_simple_delete_removes_object(self):
        b = self.new_bucket("vdelunv")
        self.put(b, "k", b"a")
        r = self.simple_delete(b, "k")
        self.assertIsNone(r.header("x-amz-delete-marker"))
        self.assertIsNone(r.header("x-amz-version-id"))
        self.assertEqual(self.entries(b), [])

    def test_case39_suspended_delete_replaces_null_with_null_marker(self):
        b = self.new_bucket("vdel39", "Enabled")
        v1, _ = self.put(b, "k", b"one")
        set_versioning(self.c, b, "Suspended")
        self.put(b, "k", b"null-content")
        r = self.simple_delete(b, "k")
        self.assertEqual(r.header("x-amz-delete-marker"), "true")
        self.assertEqual(r.header("x-amz-version-id"), "null")
        self.assertEqual(self.entries(b), [("DeleteMarker", "k", "null", True),
                                           ("Version", "k", v1, False)])
        self.assertEqual(self.c.get_object(Bucket=b, Key="k", VersionId=v1)["Body"].read(),
                         b"one")

    def test_case39_suspended_delete_without_null_version_adds_null_marker(self):
        b = self.new_bucket("vdel39b", "Enabled")
        v1, _ = self.put(b, "k", b"one")
        set_versioning(self.c, b, "Suspended")
        r = self.simple_delete(b, "k")
        self.assertEqual((r.header("x-amz-delete-marker"), r.header("x-amz-version-id")),
                         ("true", "null"))
        self.assertEqual(self.entries(b), [("DeleteMarker", "k", "null", True),
                                           ("Version", "k", v1, False)])
        # a second suspended delete replaces the null marker: still one marker
        self.simple_delete(b, "k")
        self.assertEqual(self.entries(b), [("DeleteMarker", "k", "null", True),
                                           ("Version", "k", v1, False)])

    def test_case40_second_marker_when_already_marked(self):
        b = self.new_bucket("vdel40", "Enabled")
        v1, _ = self.put(b, "k", b"one")
        dm1 = self.simple_delete(b, "k").header("x-amz-version-id")
        r = self.simple_delete(b, "k")
        dm2 = r.header("x-amz-version-id")
        self.assertEqual(r.header("x-amz-delete-marker"), "true")
        self.assertNotEqual(dm1, dm2)
        self.assertEqual(self.entries(b), [("DeleteMarker", "k", dm2, True),
                                           ("DeleteMarker", "k", dm1, False),
                                           ("Version", "k", v1, False)])

    def marked(self, tag):
        b = self.new_bucket(tag, "Enabled")
        v1, _ = self.put(b, "k", b"one")
        dm = self.simple_delete(b, "k").header("x-amz-version-id")
        return b, v1, dm

    def test_case41_get_marker_by_id_is_405_with_headers(self):
        b, v1, dm = self.marked("vdel41")
        L = self.listing(b)
        lm = L.detail[0]["el"]["LastModified"].text
        r = raw("GET", b, "k", [("versionId", dm)])
        self.assertRawError(r, 405, "MethodNotAllowed")
        f = err_fields(r)
        self.assertEqual(f.get("Message"), MSG_METHOD)
        self.assertEqual(f.get("Method"), "GET")
        self.assertEqual(f.get("ResourceType"), "DeleteMarker")
        self.assertEqual(r.header("allow"), "DELETE")
        self.assertEqual(r.header("x-amz-delete-marker"), "true")
        self.assertEqual(r.header("x-amz-version-id"), dm)
        self.assertTrue(r.header("last-modified"), repr(r))
        got = email.utils.parsedate_to_datetime(r.header("last-modified"))
        want = datetime.datetime.strptime(lm, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc)
        self.assertLess(abs((got - want).total_seconds()), 1.0, (r.header("last-modified"), lm))
        # boto3 sees the same
        self.assertS3Error("MethodNotAllowed", 405, self.c.get_object, Bucket=b, Key="k",
                           VersionId=dm)

    def test_case42_head_variants(self):
        b, v1, dm = self.marked("vdel42")
        r = raw("HEAD", b, "k", [("versionId", dm)])
        self.assertEqual(r.status, 405, repr(r))
        self.assertEqual(r.body, b"")
        self.assertTrue(r.header("last-modified"), repr(r))
        self.assertEqual(r.header("x-amz-delete-marker"), "true")
        self.assertTrue(r.header("x-amz-request-id"))
        r = raw("HEAD", b, "k")
        self.assertEqual(r.status, 404, repr(r))
        self.assertEqual(r.header("x-amz-delete-marker"), "true")
        self.assertEqual(r.body, b"")
        # HEAD of a real version still works while a marker is current
        h = self.c.head_object(Bucket=b, Key="k", VersionId=v1)
        self.assertEqual((h["VersionId"], h["ContentLength"]), (v1, 3))
        self.assertStatus(404, self.c.head_object, Bucket=b, Key="k")
        self.assertStatus(405, self.c.head_object, Bucket=b, Key="k", VersionId=dm)

    def test_get_with_marker_current_is_404_nosuchkey_with_marker_header(self):
        b, v1, dm = self.marked("vdelget")
        r = raw("GET", b, "k")
        self.assertRawError(r, 404, "NoSuchKey")
        self.assertEqual(r.header("x-amz-delete-marker"), "true")
        self.assertEqual(err_fields(r).get("Key"), "k")
        # the older version stays readable by id
        self.assertEqual(self.c.get_object(Bucket=b, Key="k", VersionId=v1)["Body"].read(),
                         b"one")

    def test_case43_invalid_empty_unknown_version_ids(self):
        b = self.new_bucket("vdel43", "Enabled")
        v1, _ = self.put(b, "k", b"one")
        v2, _ = self.put(b, "k", b"two")
        self.c.delete_object(Bucket=b, Key="k", VersionId=v2)
        for method in ("GET", "DELETE"):
            for bad in ("bad-vid", "x" * 1025, v1[:-1], v1 + "A", "NULL", "%"):
                r = raw(method, b, "k", [("versionId", bad)])
                self.assertArgError(r, "Invalid version id specified", "versionId", bad)
            for q in ([("versionId", "")], [("versionId", None)]):
                r = raw(method, b, "k", q)
                self.assertArgError(r, "Version id cannot be the empty string", "versionId")
        r = raw("HEAD", b, "k", [("versionId", "bad-vid")])
        self.assertEqual((r.status, r.body), (400, b""), repr(r))
        # well-formed but unknown: the deleted v2, and v1 with another random tail
        tampered = v1[:-1] + ("A" if v1[-1] != "A" else "B")
        for vid in (v2, tampered):
            r = raw("GET", b, "k", [("versionId", vid)])
            self.assertRawError(r, 404, "NoSuchVersion")
            f = err_fields(r)
            self.assertEqual(f.get("Message"), "The specified version does not exist.")
            self.assertEqual((f.get("Key"), f.get("VersionId")), ("k", vid))
            r = raw("HEAD", b, "k", [("versionId", vid)])
            self.assertEqual((r.status, r.body), (404, b""), repr(r))
        # a version id of another key is unknown for this key
        r = raw("GET", b, "other", [("versionId", v1)])
        self.assertRawError(r, 404, "NoSuchVersion")
        # "null" that does not exist
        r = raw("GET", b, "k", [("versionId", "null")])
        self.assertRawError(r, 404, "NoSuchVersion")

    def test_delete_version_by_id(self):
        b = self.new_bucket("vdelvid", "Enabled")
        v1, _ = self.put(b, "k", b"one")
        v2, _ = self.put(b, "k", b"two")
        r = raw("DELETE", b, "k", [("versionId", v2)])
        self.assertRawOK(r, 204)
        self.assertEqual(r.header("x-amz-version-id"), v2)
        self.assertIsNone(r.header("x-amz-delete-marker"), "never sent as false: %r" % r)
        self.assertEqual(self.entries(b), [("Version", "k", v1, True)])
        self.assertEqual(self.c.get_object(Bucket=b, Key="k")["Body"].read(), b"one")
        # deleting the same (now unknown, well-formed) version again is not an error
        r = raw("DELETE", b, "k", [("versionId", v2)])
        self.assertRawOK(r, 204)
        self.assertEqual(r.header("x-amz-version-id"), v2)
        # removing a noncurrent version leaves the current alone
        v3, _ = self.put(b, "k", b"three")
        self.c.delete_object(Bucket=b, Key="k", VersionId=v1)
        self.assertEqual(self.entries(b), [("Version", "k", v3, True)])
        # last version gone: the key is gone
        self.c.delete_object(Bucket=b, Key="k", VersionId=v3)
        self.assertEqual(self.entries(b), [])
        self.assertS3Error("NoSuchKey", 404, self.c.get_object, Bucket=b, Key="k")

    def test_delete_marker_by_id_makes_object_reappear(self):
        b, v1, dm = self.marked("vdeldm")
        r = raw("DELETE", b, "k", [("versionId", dm)])
        self.assertRawOK(r, 204)
        self.assertEqual(r.header("x-amz-delete-marker"), "true")
        self.assertEqual(r.header("x-amz-version-id"), dm)
        self.assertEqual(self.entries(b), [("Version", "k", v1, True)])
        g = self.c.get_object(Bucket=b, Key="k")
        self.assertEqual((g["Body"].read(), g["VersionId"]), (b"one", v1))
        # a noncurrent marker removed: the current stays current
        dm2 = self.c.delete_object(Bucket=b, Key="k")["VersionId"]
        v3, _ = self.put(b, "k", b"three")
        r = self.c.delete_object(Bucket=b, Key="k", VersionId=dm2)
        self.assertTrue(r.get("DeleteMarker"))
        self.assertEqual(r.get("VersionId"), dm2)
        self.assertEqual(self.entries(b), [("Version", "k", v3, True),
                                           ("Version", "k", v1, False)])

    def test_delete_null_version_by_id(self):
        b = self.new_bucket("vdelnull")
        self.put(b, "k", b"n")
        set_versioning(self.c, b, "Enabled")
        v2, _ = self.put(b, "k", b"two")
        r = raw("DELETE", b, "k", [("versionId", "null")])
        self.assertRawOK(r, 204)
        self.assertEqual(r.header("x-amz-version-id"), "null")
        self.assertIsNone(r.header("x-amz-delete-marker"))
        self.assertEqual(self.entries(b), [("Version", "k", v2, True)])

    def test_delete_null_marker_by_id(self):
        b = self.new_bucket("vdelnullm", "Enabled")
        v1, _ = self.put(b, "k", b"one")
        set_versioning(self.c, b, "Suspended")
        self.simple_delete(b, "k")
        r = raw("DELETE", b, "k", [("versionId", "null")])
        self.assertRawOK(r, 204)
        self.assertEqual((r.header("x-amz-delete-marker"), r.header("x-amz-version-id")),
                         ("true", "null"))
        self.assertEqual(self.c.get_object(Bucket=b, Key="k")["Body"].read(), b"one")


# ---------------------------------------------------------------------------------------------
# DeleteObjects and CopyObject with versions


class MultiDeleteCopyTest(VersioningBase):
    def test_delete_objects_with_versions(self):
        b = self.new_bucket("vmulti", "Enabled")
        a1, _ = self.put(b, "a", b"a1")
        b1, _ = self.put(b, "b", b"b1")
        b2, _ = self.put(b, "b", b"b2")
        c1, _ = self.put(b, "c", b"c1")
        cdm = self.c.delete_object(Bucket=b, Key="c")["VersionId"]
        r = self.c.delete_objects(Bucket=b, Delete={"Objects": [
            {"Key": "a"},                       # simple: new marker
            {"Key": "b", "VersionId": b2},      # a version
            {"Key": "c", "VersionId": cdm},     # a marker by id
            {"Key": "d", "VersionId": a1},      # well-formed, not d's: deleted (no error)
            {"Key": "e", "VersionId": "bad-vid"},
        ]})
        dels = {d["Key"]: d for d in r.get("Deleted", [])}
        errs = {e["Key"]: e for e in r.get("Errors", [])}
        self.assertEqual(set(dels), {"a", "b", "c", "d"}, r)
        self.assertTrue(dels["a"].get("DeleteMarker"))
        adm = dels["a"].get("DeleteMarkerVersionId")
        self.assertTrue(adm and adm != a1, dels["a"])
        self.assertNotIn("VersionId", dels["a"])
        self.assertEqual(dels["b"].get("VersionId"), b2)
        self.assertNotIn("DeleteMarker", dels["b"])
        self.assertNotIn("DeleteMarkerVersionId", dels["b"])
        self.assertEqual(dels["c"].get("VersionId"), cdm)
        self.assertTrue(dels["c"].get("DeleteMarker"))
        self.assertEqual(dels["c"].get("DeleteMarkerVersionId"), cdm)
        self.assertEqual(dels["d"].get("VersionId"), a1)
        self.assertEqual(set(errs), {"e"}, r)
        self.assertEqual(errs["e"].get("VersionId"), "bad-vid")
        self.assertEqual(errs["e"].get("Code"), "NoSuchVersion")
        self.assertTrue(errs["e"].get("Message"))
        self.assertEqual(self.entries(b), [
            ("DeleteMarker", "a", adm, True), ("Version", "a", a1, False),
            ("Version", "b", b1, True),
            ("Version", "c", c1, True)])

    def test_delete_objects_raw_result_xml(self):
        b = self.new_bucket("vmultiraw", "Enabled")
        v1, _ = self.put(b, "k", b"x")
        body = ('<Delete xmlns="%s"><Object><Key>k</Key><VersionId>%s</VersionId></Object>'
                '<Object><Key>m</Key></Object></Delete>' % (XMLNS, v1)).encode()
        r = raw("POST", b, query=[("delete", "")], headers={"Content-MD5": md5_b64(body)},
                body=body)
        self.assertRawOK(r)
        root = ET.fromstring(r.body)
        ds = root.findall(S3NS + "Deleted")
        self.assertEqual(len(ds), 2, r.body)
        self.assertEqual([c.tag[len(S3NS):] for c in ds[0]], ["Key", "VersionId"])
        self.assertEqual([c.tag[len(S3NS):] for c in ds[1]],
                         ["Key", "DeleteMarker", "DeleteMarkerVersionId"])
        self.assertEqual(ds[1].findtext(S3NS + "DeleteMarker"), "true")

    def test_delete_objects_quiet_with_versions(self):
        b = self.new_bucket("vmultiq", "Enabled")
        v1, _ = self.put(b, "k", b"x")
        r = self.c.delete_objects(Bucket=b, Delete={"Quiet": True, "Objects": [
            {"Key": "k", "VersionId": v1}, {"Key": "z", "VersionId": "nope"}]})
        self.assertNotIn("Deleted", r)
        self.assertEqual([e["Key"] for e in r.get("Errors", [])], ["z"])
        self.assertEqual(self.entries(b), [])

    def test_delete_objects_suspended_null_marker(self):
        b = self.new_bucket("vmultis", "Enabled")
        v1, _ = self.put(b, "k", b"x")
        set_versioning(self.c, b, "Suspended")
        r = self.c.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "k"}]})
        d = r["Deleted"][0]
        self.assertTrue(d.get("DeleteMarker"))
        self.assertEqual(d.get("DeleteMarkerVersionId"), "null")
        self.assertEqual(self.entries(b), [("DeleteMarker", "k", "null", True),
                                           ("Version", "k", v1, False)])

    def test_copy_from_specific_version(self):
        b = self.new_bucket("vcopy", "Enabled")
        v1, _ = self.put(b, "src", b"first")
        v2, _ = self.put(b, "src", b"second")
        r = self.c.copy_object(Bucket=b, Key="dst", CopySource={"Bucket": b, "Key": "src",
                                                                 "VersionId": v1})
        self.assertEqual(r.get("CopySourceVersionId"), v1)
        self.assertEqual(r["ResponseMetadata"]["HTTPHeaders"].get(
            "x-amz-copy-source-version-id"), v1)
        dv = r.get("VersionId")
        self.assertTrue(dv and dv not in (v1, v2))
        g = self.c.get_object(Bucket=b, Key="dst")
        self.assertEqual((g["Body"].read(), g["VersionId"]), (b"first", dv))
        # without a version: the latest, and its id is reported
        r = self.c.copy_object(Bucket=b, Key="dst2", CopySource={"Bucket": b, "Key": "src"})
        self.assertEqual(r.get("CopySourceVersionId"), v2)
        self.assertEqual(self.c.get_object(Bucket=b, Key="dst2")["Body"].read(), b"second")

    def test_copy_old_version_onto_itself_restores_it(self):
        b = self.new_bucket("vcopyself", "Enabled")
        v1, _ = self.put(b, "k", b"first")
        v2, _ = self.put(b, "k", b"second")
        r = self.c.copy_object(Bucket=b, Key="k", CopySource={"Bucket": b, "Key": "k",
                                                               "VersionId": v1})
        v3 = r["VersionId"]
        self.assertEqual(self.c.get_object(Bucket=b, Key="k")["Body"].read(), b"first")
        self.assertEqual([e[2] for e in self.entries(b)], [v3, v2, v1])
        # copying the latest onto itself without changes stays illegal
        self.assertS3Error("InvalidRequest", 400, self.c.copy_object, Bucket=b, Key="k",
                           CopySource={"Bucket": b, "Key": "k", "VersionId": v3})

    def test_copy_source_version_errors(self):
        b = self.new_bucket("vcopyerr", "Enabled")
        v1, _ = self.put(b, "k", b"x")
        v2, _ = self.put(b, "k", b"y")
        self.c.delete_object(Bucket=b, Key="k", VersionId=v2)
        dm = self.c.delete_object(Bucket=b, Key="k")["VersionId"]
        # marker by id: 400 InvalidRequest; marker current: 404 NoSuchKey
        self.assertS3Error("InvalidRequest", 400, self.c.copy_object, Bucket=b, Key="d",
                           CopySource={"Bucket": b, "Key": "k", "VersionId": dm})
        self.assertS3Error("NoSuchKey", 404, self.c.copy_object, Bucket=b, Key="d",
                           CopySource={"Bucket": b, "Key": "k"})
        r = self.assertS3Error("NoSuchVersion", 404, self.c.copy_object, Bucket=b, Key="d",
                               CopySource={"Bucket": b, "Key": "k", "VersionId": v2})
        self.assertS3Error("InvalidArgument", 400, self.c.copy_object, Bucket=b, Key="d",
                           CopySource={"Bucket": b, "Key": "k", "VersionId": "bad-vid"})
        # the noncurrent version behind the marker still copies
        r = self.c.copy_object(Bucket=b, Key="d", CopySource={"Bucket": b, "Key": "k",
                                                               "VersionId": v1})
        self.assertEqual(r.get("CopySourceVersionId"), v1)

    def test_copy_into_suspended_bucket_writes_null(self):
        src = self.new_bucket("vcopys", "Enabled")
        dst = self.new_bucket("vcopyd", "Suspended")
        v1, _ = self.put(src, "k", b"x")
        r = self.c.copy_object(Bucket=dst, Key="k", CopySource={"Bucket": src, "Key": "k",
                                                                 "VersionId": v1})
        self.assertNotIn("x-amz-version-id", r["ResponseMetadata"]["HTTPHeaders"])
        self.assertEqual(self.entries(dst), [("Version", "k", "null", True)])


# ---------------------------------------------------------------------------------------------
# ListObjectVersions (cases 45-48)


class ListVersionsTest(VersioningBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.c
        b = cls.b = cls.new_bucket("vlist")
        exp = {}  # key -> [(kind, vid)] newest first

        def put(key):
            r = c.put_object(Bucket=b, Key=key, Body=("%s-%d" % (key, len(exp.get(key, []))))
                             .encode())
            exp.setdefault(key, []).insert(0, ("Version", r.get("VersionId") or "null"))

        def dele(key):
            r = c.delete_object(Bucket=b, Key=key)
            exp.setdefault(key, []).insert(0, ("DeleteMarker", r["VersionId"]))

        put("b")                     # unversioned: null
        set_versioning(c, b, "Enabled")
        put("n")
        set_versioning(c, b, "Suspended")
        put("n")                     # null in the middle of n's history
        set_versioning(c, b, "Enabled")
        put("n")
        put("a")
        put("a")
        dele("a")
        put("a")
        put("a/x")
        dele("a/x")
        put("b")
        put("c d")
        put("e+f&g<ü>")
        for k in ("dir/1", "dir/2", "dir/sub/3", "dir/sub/4"):
            put(k)
        put("dir/1")
        dele("dir/2")
        cls.exp = exp
        cls.full = [(kind, k, vid, i == 0)
                    for k in sorted(exp, key=lambda s: s.encode())
                    for i, (kind, vid) in enumerate(exp[k])]

    def test_full_order_interleaved_newest_first(self):
        L = self.listing(self.b)
        self.assertEqual(L.entries, self.full)
        self.assertFalse(L.truncated)
        self.assertEqual(L.text("MaxKeys"), "1000")
        self.assertFalse(L.has("NextKeyMarker"))
        self.assertFalse(L.has("NextVersionIdMarker"))

    def test_exactly_one_is_latest_per_key(self):
        latest = {}
        for kind, k, vid, is_latest in self.listing(self.b).entries:
            latest[k] = latest.get(k, 0) + (1 if is_latest else 0)
        self.assertEqual(set(latest.values()), {1}, latest)

    def test_top_level_element_order(self):
        L = self.listing(self.b, [("max-keys", "3"), ("delimiter", "/"),
                                  ("encoding-type", "url")])
        head = [t for t in L.order if t not in ("Version", "DeleteMarker", "CommonPrefixes")]
        self.assertEqual(head, ["Name", "Prefix", "KeyMarker", "VersionIdMarker",
                                "NextKeyMarker", "NextVersionIdMarker", "MaxKeys", "Delimiter",
                                "EncodingType", "IsTruncated"])
        # entries after the header, CommonPrefixes last
        body = L.order[len(head):]
        self.assertEqual(L.order[:len(head)], head)
        seen_cp = False
        for t in body:
            if t == "CommonPrefixes":
                seen_cp = True
            else:
                self.assertFalse(seen_cp, L.order)
        L = self.listing(self.b)
        self.assertEqual(L.order[:6], ["Name", "Prefix", "KeyMarker", "VersionIdMarker",
                                       "MaxKeys", "IsTruncated"])
        for name in ("KeyMarker", "VersionIdMarker", "Prefix"):  # present, empty
            el = L.root.find(S3NS + name)
            self.assertTrue(el is not None and not el.text and len(el) == 0, name)
        self.assertEqual(L.text("Name"), self.b)
        dm = [d for d in L.detail if d["kind"] == "DeleteMarker"][0]
        self.assertEqual(dm["order"], ["Key", "VersionId", "IsLatest", "LastModified", "Owner"])

    def test_prefix(self):
        L = self.listing(self.b, [("prefix", "a")])
        self.assertEqual(L.entries, [e for e in self.full if e[1].startswith("a")])
        self.assertEqual(L.text("Prefix"), "a")
        L = self.listing(self.b, [("prefix", "dir/sub/")])
        self.assertEqual(L.entries, [e for e in self.full if e[1].startswith("dir/sub/")])
        self.assertEqual(self.listing(self.b, [("prefix", "zzz")]).entries, [])

    def test_delimiter_common_prefixes(self):
        L = self.listing(self.b, [("delimiter", "/")])
        self.assertEqual(L.entries, [e for e in self.full if "/" not in e[1]])
        self.assertEqual(L.prefixes, ["a/", "dir/"])
        self.assertEqual(L.text("Delimiter"), "/")
        L = self.listing(self.b, [("delimiter", "/"), ("prefix", "dir/")])
        self.assertEqual(L.entries, [e for e in self.full
                                     if e[1] in ("dir/1", "dir/2")])
        self.assertEqual(L.prefixes, ["dir/sub/"])

    def page_through(self, max_keys, extra=()):
        """Follows NextKeyMarker/NextVersionIdMarker; returns (entries, prefixes, pages)."""
        entries, prefixes, pages = [], [], 0
        params = list(extra)
        while True:
            L = self.listing(self.b, [("max-keys", str(max_keys))] + params)
            pages += 1
            self.assertLessEqual(len(L.entries) + len(L.prefixes), max_keys)
            entries += L.entries
            prefixes += L.prefixes
            self.assertEqual(L.text("MaxKeys"), str(max_keys))
            if not L.truncated:
                self.assertFalse(L.has("NextKeyMarker"), L.order)
                self.assertFalse(L.has("NextVersionIdMarker"), L.order)
                return entries, prefixes, pages
            self.assertLess(pages, 200, "paging does not end")
            nk, nv = L.text("NextKeyMarker"), L.text("NextVersionIdMarker")
            if nv is not None:
                # the marker names the last entry returned
                self.assertEqual((nk, nv), (L.entries[-1][1], L.entries[-1][2]))
                params = list(extra) + [("key-marker", nk), ("version-id-marker", nv)]
            else:
                self.assertTrue(L.prefixes and nk == L.prefixes[-1], (nk, L.prefixes))
                params = list(extra) + [("key-marker", nk)]

    def test_paging_every_page_size_matches_full_listing(self):
        for mk in (1, 2, 3, 4, 7):
            entries, prefixes, pages = self.page_through(mk)
            self.assertEqual(entries, self.full, "max-keys=%d" % mk)
            self.assertEqual(pages, -(-len(self.full) // mk), "max-keys=%d" % mk)

    def test_paging_with_delimiter(self):
        want = self.listing(self.b, [("delimiter", "/")])
        for mk in (1, 2, 3):
            entries, prefixes, _ = self.page_through(mk, [("delimiter", "/")])
            self.assertEqual((entries, prefixes), (want.entries, want.prefixes), mk)

    def test_common_prefix_not_after_key_marker_is_dropped(self):
        # AWS: CommonPrefixes not greater than key-marker are left out
        L = self.listing(self.b, [("delimiter", "/"), ("key-marker", "a/")])
        self.assertEqual(L.prefixes, ["dir/"])
        self.assertEqual(L.entries, [e for e in self.full
                                     if "/" not in e[1] and e[1].encode() > b"a/"])
        L = self.listing(self.b, [("delimiter", "/"), ("key-marker", "a/x")])
        self.assertEqual(L.prefixes, ["dir/"])
        L = self.listing(self.b, [("delimiter", "/"), ("prefix", "dir/"),
                                  ("key-marker", "dir/2")])
        self.assertEqual((L.entries, L.prefixes), ([], ["dir/sub/"]))

    def test_key_marker_before_prefix(self):
        L = self.listing(self.b, [("prefix", "dir/"), ("key-marker", "0")])
        self.assertEqual(L.entries, [e for e in self.full if e[1].startswith("dir/")])
        L = self.listing(self.b, [("prefix", "dir/"), ("key-marker", "zzz")])
        self.assertEqual(L.entries, [])

    def test_key_marker_alone_skips_all_versions_of_that_key(self):
        L = self.listing(self.b, [("key-marker", "a")])
        self.assertEqual(L.entries, [e for e in self.full if e[1].encode() > b"a"])
        self.assertEqual(L.text("KeyMarker"), "a")
        # a key-marker that is not a key: strictly greater keys
        L = self.listing(self.b, [("key-marker", "c")])
        self.assertEqual(L.entries, [e for e in self.full if e[1].encode() > b"c"])

    def test_key_marker_and_version_id_marker_mid_key(self):
        a = self.exp["a"]
        L = self.listing(self.b, [("key-marker", "a"), ("version-id-marker", a[1][1])])
        idx = self.full.index(("DeleteMarker", "a", a[1][1], False))
        self.assertEqual(L.entries, self.full[idx + 1:])
        self.assertEqual(L.text("VersionIdMarker"), a[1][1])
        # the last version of a key as marker: continues with the next key
        L = self.listing(self.b, [("key-marker", "a"), ("version-id-marker", a[-1][1])])
        self.assertEqual(L.entries[0][1], "a/x")

    def test_version_id_marker_null_in_the_middle(self):
        n = self.exp["n"]
        self.assertEqual(n[1][1], "null")
        L = self.listing(self.b, [("key-marker", "n"), ("version-id-marker", "null")])
        idx = self.full.index(("Version", "n", "null", False))
        self.assertEqual(L.entries, self.full[idx + 1:])
        self.assertEqual(L.entries[0], ("Version", "n", n[2][1], False))

    def test_boto3_paginator(self):
        got = set()
        pages = 0
        for p in self.c.get_paginator("list_object_versions").paginate(
                Bucket=self.b, PaginationConfig={"PageSize": 2}):
            pages += 1
            for v in p.get("Versions", []):
                got.add(("Version", v["Key"], v["VersionId"], v["IsLatest"]))
            for v in p.get("DeleteMarkers", []):
                got.add(("DeleteMarker", v["Key"], v["VersionId"], v["IsLatest"]))
        self.assertEqual(got, set(self.full))
        self.assertEqual(pages, -(-len(self.full) // 2))

    def test_case47_three_versions_max_keys_1(self):
        b = self.new_bucket("vlist47", "Enabled")
        vids = [self.put(b, "k", b"%d" % i)[0] for i in range(3)]
        vids.reverse()
        params = [("max-keys", "1")]
        for i, vid in enumerate(vids):
            L = self.listing(b, params)
            self.assertEqual(L.entries, [("Version", "k", vid, i == 0)])
            if i < 2:
                self.assertTrue(L.truncated)
                self.assertEqual((L.text("NextKeyMarker"), L.text("NextVersionIdMarker")),
                                 ("k", vid))
                params = [("max-keys", "1"), ("key-marker", "k"), ("version-id-marker", vid)]
            else:
                self.assertFalse(L.truncated)

    def test_case46_max_keys(self):
        L = self.listing(self.b, [("max-keys", "0")])
        self.assertEqual((L.entries, L.prefixes, L.truncated), ([], [], False))
        self.assertEqual(L.text("MaxKeys"), "0")
        L = self.listing(self.b, [("max-keys", "2147483647")])
        self.assertEqual(L.text("MaxKeys"), "2147483647")
        self.assertEqual(L.entries, self.full)
        for bad in ("abc", "1.5", "2147483648", "", "1e3", "99999999999999999999"):
            r = lov(self.b, [("max-keys", bad)])
            self.assertArgError(r, "Provided max-keys not an integer or within integer range",
                                "max-keys", bad)
        r = lov(self.b, [("max-keys", "-1")])
        f = self.assertArgError(r, "max-keys cannot be negative", "max-keys")
        self.assertNotIn("ArgumentValue", f)

    def test_case46_results_capped_at_1000(self):
        b = self.new_bucket("vlistcap", "Enabled")
        for start in (0, 1000):
            n = 1000 if start == 0 else 5
            self.c.delete_objects(Bucket=b, Delete={"Quiet": True, "Objects": [
                {"Key": "m%05d" % i} for i in range(start, start + n)]})
        for params, echoed in (([("max-keys", "5000")], "5000"), ([], "1000"),
                               ([("max-keys", "2147483647")], "2147483647")):
            L = self.listing(b, params)
            self.assertEqual(len(L.entries), 1000)
            self.assertTrue(L.truncated)
            self.assertEqual(L.text("MaxKeys"), echoed)
            self.assertEqual(L.text("NextKeyMarker"), "m00999")
        L = self.listing(b, [("key-marker", "m00999")])
        self.assertEqual([e[1] for e in L.entries], ["m%05d" % i for i in range(1000, 1005)])
        self.assertFalse(L.truncated)

    def test_case45_version_id_marker_validation(self):
        r = lov(self.b, [("version-id-marker", "x")])
        self.assertArgError(r, "A version-id marker cannot be specified without a key marker.",
                            "version-id-marker", "x")
        # an empty key-marker counts as present
        a1 = self.exp["a"][0][1]
        r = lov(self.b, [("key-marker", ""), ("version-id-marker", a1)])
        self.assertRawOK(r)
        r = lov(self.b, [("key-marker", "k"), ("version-id-marker", "")])
        self.assertArgError(r, "A version-id marker cannot be empty.", "version-id-marker")
        for bad in ("bad-vid", "x" * 1025, "NULL"):
            r = lov(self.b, [("key-marker", "k"), ("version-id-marker", bad)])
            self.assertArgError(r, "Invalid version id specified", "version-id-marker", bad)

    def test_case48_encoding_type_and_precedence(self):
        r = lov(self.b, [("encoding-type", "invalid")])
        self.assertArgError(r, "Invalid Encoding Method specified in Request", "encoding-type",
                            "invalid")
        r = lov(self.b, [("encoding-type", "URL")])
        self.assertArgError(r, "Invalid Encoding Method specified in Request", "encoding-type")
        # precedence: max-keys > vid-marker without key-marker > bad vid > encoding-type
        r = lov(self.b, [("max-keys", "abc"), ("version-id-marker", "bad-vid"),
                         ("encoding-type", "invalid")])
        self.assertArgError(r, "Provided max-keys not an integer or within integer range",
                            "max-keys")
        r = lov(self.b, [("max-keys", "-1"), ("version-id-marker", "bad-vid")])
        self.assertArgError(r, "max-keys cannot be negative", "max-keys")
        r = lov(self.b, [("version-id-marker", "bad-vid"), ("encoding-type", "invalid")])
        self.assertArgError(r, "A version-id marker cannot be specified without a key marker.",
                            "version-id-marker")
        r = lov(self.b, [("key-marker", "a"), ("version-id-marker", "bad-vid"),
                         ("encoding-type", "invalid")])
        self.assertArgError(r, "Invalid version id specified", "version-id-marker")
        r = lov(self.b, [("key-marker", "a"), ("version-id-marker", ""),
                         ("encoding-type", "invalid")])
        self.assertArgError(r, "A version-id marker cannot be empty.", "version-id-marker")

    def test_nul_in_key_marker_or_prefix(self):
        msg = "Value must be a sequence of Unicode characters and cannot include Null."
        for name in ("key-marker", "prefix"):
            r = lov(self.b, [(name, "a\x00b")])
            self.assertArgError(r, msg, name)

    def test_encoding_type_url(self):
        enc = lambda s: urllib.parse.quote_plus(s, safe="/")  # noqa: E731
        odd = "e+f&g<\u00fc>"
        L = self.listing(self.b, [("encoding-type", "url"), ("max-keys", "1"),
                                  ("key-marker", "dir/sub/4")])
        self.assertEqual(L.text("EncodingType"), "url")
        self.assertEqual(L.text("KeyMarker"), "dir/sub/4")
        self.assertEqual(L.entries[0][1], enc(odd))
        self.assertEqual(L.entries[0][1], "e%2Bf%26g%3C%C3%BC%3E")
        self.assertEqual(L.text("NextKeyMarker"), enc(odd))
        L = self.listing(self.b, [("encoding-type", "url"), ("prefix", "c "),
                                  ("key-marker", "c "), ("delimiter", " ")])
        self.assertEqual((L.text("Prefix"), L.text("KeyMarker"), L.text("Delimiter")),
                         ("c+", "c+", "+"))
        self.assertEqual([e[1] for e in L.entries], ["c+d"])
        L = self.listing(self.b, [("encoding-type", "url"), ("prefix", "e+f&")])
        self.assertEqual(L.text("Prefix"), "e%2Bf%26")
        self.assertEqual([urllib.parse.unquote_plus(e[1]) for e in L.entries], [odd])
        # without encoding-type the key is XML-escaped only
        L = self.listing(self.b, [("prefix", "e+f&")])
        self.assertEqual(L.entries[0][1], odd)
        self.assertFalse(L.has("EncodingType"))
        # boto3 asks for url encoding and decodes
        r = self.c.list_object_versions(Bucket=self.b, Prefix="e+f&")
        self.assertEqual([v["Key"] for v in r["Versions"]], [odd])

    def test_no_such_bucket(self):
        r = lov(bucket_name("vnolist"))
        self.assertRawError(r, 404, "NoSuchBucket")

    def test_list_objects_v2_hides_markers_and_old_versions(self):
        r = self.c.list_objects_v2(Bucket=self.b)
        keys = [o["Key"] for o in r.get("Contents", [])]
        want = sorted((k for k, vs in self.exp.items() if vs[0][0] == "Version"),
                      key=lambda s: s.encode())
        self.assertEqual(keys, want)
        self.assertNotIn("a/x", keys)


# ---------------------------------------------------------------------------------------------
# DeleteBucket with versions left


class DeleteBucketTest(VersioningBase):
    def test_bucket_not_empty_while_any_version_or_marker_remains(self):
        b = self.new_bucket("vdelbkt", "Enabled")
        v1, _ = self.put(b, "k", b"x")
        dm = self.c.delete_object(Bucket=b, Key="k")["VersionId"]
        self.assertEqual(self.c.list_objects_v2(Bucket=b).get("KeyCount"), 0)
        self.assertS3Error("BucketNotEmpty", 409, self.c.delete_bucket, Bucket=b)
        self.c.delete_object(Bucket=b, Key="k", VersionId=v1)
        # only a marker left
        r = raw("DELETE", b)
        self.assertRawError(r, 409, "BucketNotEmpty")
        self.assertEqual(err_fields(r).get("BucketName"), b)
        self.c.delete_object(Bucket=b, Key="k", VersionId=dm)
        self.c.delete_bucket(Bucket=b)
        self.assertStatus(404, self.c.head_bucket, Bucket=b)

    def test_suspended_null_marker_blocks_delete_bucket(self):
        b = self.new_bucket("vdelbkts", "Suspended")
        self.put(b, "k", b"x")
        self.c.delete_object(Bucket=b, Key="k")
        self.assertEqual(self.entries(b), [("DeleteMarker", "k", "null", True)])
        self.assertS3Error("BucketNotEmpty", 409, self.c.delete_bucket, Bucket=b)
        self.c.delete_object(Bucket=b, Key="k", VersionId="null")
        self.c.delete_bucket(Bucket=b)
        self.assertStatus(404, self.c.head_bucket, Bucket=b)


# ---------------------------------------------------------------------------------------------
# AWS CLI (s3api)


@unittest.skipUnless(shutil.which("aws"), "aws CLI not installed")
class AwsCliTest(VersioningBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="coffer-vcli.")
        cfg = os.path.join(cls.tmp, "config")
        with open(cfg, "w") as f:
            f.write("[default]\nregion = us-east-1\nretry_mode = standard\nmax_attempts = 1\n"
                    "s3 =\n    signature_version = s3v4\n    addressing_style = path\n")
        e = env()
        cls.cli_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        cls.cli_env.update(AWS_CONFIG_FILE=cfg,
                           AWS_SHARED_CREDENTIALS_FILE=os.path.join(cls.tmp, "credentials"),
                           AWS_ACCESS_KEY_ID=e.ak, AWS_SECRET_ACCESS_KEY=e.sk,
                           AWS_DEFAULT_REGION="us-east-1")
        open(os.path.join(cls.tmp, "credentials"), "w").close()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def aws(self, *args, ok=True):
        p = subprocess.run(["aws", "--endpoint-url", env().http, "--output", "json"] +
                           list(args), env=self.cli_env, capture_output=True, text=True,
                           timeout=120)
        if ok:
            self.assertEqual(p.returncode, 0, "aws %s\n%s%s" % (" ".join(args), p.stdout,
                                                                p.stderr))
        return p

    def js(self, *args):
        out = self.aws(*args).stdout
        return json.loads(out) if out.strip() else {}

    def test_cli_versioning_lifecycle(self):
        b = self.new_bucket("vcli")
        self.assertEqual(self.js("s3api", "get-bucket-versioning", "--bucket", b), {})
        self.aws("s3api", "put-bucket-versioning", "--bucket", b,
                 "--versioning-configuration", "Status=Enabled")
        self.assertEqual(self.js("s3api", "get-bucket-versioning", "--bucket", b),
                         {"Status": "Enabled"})
        src = os.path.join(self.tmp, "f")
        ids = []
        for body in (b"one", b"two"):
            with open(src, "wb") as f:
                f.write(body)
            ids.append(self.js("s3api", "put-object", "--bucket", b, "--key", "k",
                               "--body", src)["VersionId"])
        self.assertNotEqual(ids[0], ids[1])
        out = self.js("s3api", "list-object-versions", "--bucket", b)
        self.assertEqual([(v["VersionId"], v["IsLatest"]) for v in out["Versions"]],
                         [(ids[1], True), (ids[0], False)])
        dst = os.path.join(self.tmp, "got")
        r = self.js("s3api", "get-object", "--bucket", b, "--key", "k", "--version-id", ids[0],
                    dst)
        self.assertEqual(r["VersionId"], ids[0])
        with open(dst, "rb") as f:
            self.assertEqual(f.read(), b"one")
        r = self.js("s3api", "delete-object", "--bucket", b, "--key", "k")
        self.assertTrue(r.get("DeleteMarker"))
        dm = r["VersionId"]
        out = self.js("s3api", "list-object-versions", "--bucket", b)
        self.assertEqual([(m["VersionId"], m["IsLatest"]) for m in out["DeleteMarkers"]],
                         [(dm, True)])
        p = self.aws("s3api", "head-object", "--bucket", b, "--key", "k", ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("404", p.stderr)
        r = self.js("s3api", "delete-object", "--bucket", b, "--key", "k", "--version-id", dm)
        self.assertEqual((r.get("DeleteMarker"), r.get("VersionId")), (True, dm))
        r = self.js("s3api", "head-object", "--bucket", b, "--key", "k")
        self.assertEqual(r["VersionId"], ids[1])
        self.aws("s3api", "put-bucket-versioning", "--bucket", b,
                 "--versioning-configuration", "Status=Suspended,MFADelete=Disabled")
        self.assertEqual(self.js("s3api", "get-bucket-versioning", "--bucket", b),
                         {"Status": "Suspended", "MFADelete": "Disabled"})
        p = self.aws("s3api", "put-bucket-versioning", "--bucket", b,
                     "--versioning-configuration", "Status=Bogus", ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("MalformedXML", p.stderr)
        p = self.aws("s3", "rb", "s3://" + b, ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("BucketNotEmpty", p.stderr)

    def test_cli_get_deleted_version_error(self):
        b = self.new_bucket("vcli2", "Enabled")
        vid, _ = self.put(b, "k", b"x")
        self.c.delete_object(Bucket=b, Key="k", VersionId=vid)
        p = self.aws("s3api", "get-object", "--bucket", b, "--key", "k", "--version-id", vid,
                     os.path.join(self.tmp, "x"), ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("NoSuchVersion", p.stderr)


if __name__ == "__main__":
    unittest.main()
