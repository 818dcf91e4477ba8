"""Randomized model test of bucket versioning (issue 3, spec mfa-delete.md section 4).

An in-test model of the spec (bucket state none/enabled/suspended; per key a list of versions
newest first, each a version or a delete marker, "null" ids included) is driven together with
one bucket on the server by a few thousand random operations: PUT, simple DELETE, DELETE of a
random existing (or already removed) version id or marker, suspend, enable, GET/HEAD of the
latest, GET/HEAD of a specific version. Every response is checked against the model, and
after every mutation the full ListObjectVersions (paginated with a small random max-keys,
sometimes with a prefix) must equal the model's listing.

Version ids are the server's: the model records the id each PUT/DELETE response returns (and
checks it was never handed out before). The seed is printed; COFFER_MODEL_SEED overrides it,
COFFER_MODEL_STEPS the number of operations.

Requests go over one keep-alive connection with the suite's SigV4 signer (no boto3), which
keeps a few thousand steps plus their listings well under the module timeout."""

import hashlib
import os
import random
import time
import xml.etree.ElementTree as ET

from lib import (S3NS, E2ETestCase, bucket_name, client, connect, md5_b64, send, sign,
                 uri_encode)

DEFAULT_SEED = 20260415
DEFAULT_STEPS = 4000
TIME_BUDGET_S = 150   # stop early (and say so) rather than hit run.sh's module timeout
KEYS = ["a", "a/b", "b", "c d", "\u00fc"]


class Model:
    def __init__(self):
        self.state = "none"
        self.versions = {}       # key -> [dict(vid, marker, body)] newest first
        self.removed = []        # (key, vid) of versions deleted for good

    def latest(self, key):
        vs = self.versions.get(key, [])
        return vs[0] if vs else None

    def find(self, key, vid):
        for v in self.versions.get(key, []):
            if v["vid"] == vid:
                return v
        return None

    def drop_null(self, key):
        vs = self.versions.get(key, [])
        for i, v in enumerate(vs):
            if v["vid"] == "null":
                del vs[i]
                return v
        return None

    def push(self, key, entry):
        self.versions.setdefault(key, []).insert(0, entry)

    def remove(self, key, vid):
        vs = self.versions.get(key, [])
        for i, v in enumerate(vs):
            if v["vid"] == vid:
                del vs[i]
                self.removed.append((key, vid))
                return v
        return None

    def listing(self, prefix=""):
        out = []
        for k in sorted(self.versions, key=lambda s: s.encode()):
            if not k.startswith(prefix):
                continue
            for i, v in enumerate(self.versions[k]):
                out.append(("DeleteMarker" if v["marker"] else "Version", k, v["vid"], i == 0,
                            None if v["marker"] else '"%s"' % hashlib.md5(v["body"]).hexdigest(),
                            None if v["marker"] else len(v["body"])))
        return out

    def all_ids(self):
        return [(k, v["vid"]) for k, vs in self.versions.items() for v in vs]


class VersioningModelTest(E2ETestCase):
    def setUp(self):
        super().setUp()
        self.c = client()
        self.b = bucket_name("vmodel")
        self.c.create_bucket(Bucket=self.b)
        self.conn = connect()

    def tearDown(self):
        try:
            self.conn.close()
        except Exception:
            pass
        try:
            vs = []
            for p in self.c.get_paginator("list_object_versions").paginate(Bucket=self.b):
                vs += [{"Key": v["Key"], "VersionId": v["VersionId"]}
                       for v in p.get("Versions", []) + p.get("DeleteMarkers", [])]
            for i in range(0, len(vs), 1000):
                self.c.delete_objects(Bucket=self.b, Delete={"Objects": vs[i:i + 1000],
                                                             "Quiet": True})
            self.c.delete_bucket(Bucket=self.b)
        except Exception:
            pass
        super().tearDown()

    # --- wire

    def req(self, method, key=None, query=(), headers=None, body=b""):
        path = "/" + self.b + ("" if key is None else "/" + key)
        s = sign(method, path, list(query), headers, body)
        for attempt in range(2):
            try:
                r = send(s.method, s.target, dict(s.headers), s.body, conn=self.conn)
                break
            except (ConnectionError, OSError):
                # the server may close an idle keep-alive connection; one fresh retry
                self.conn.close()
                self.conn = connect()
                if attempt:
                    raise
        self.nreq += 1
        if not r.header("x-amz-request-id"):
            self.fail("no x-amz-request-id: %s %s -> %r" % (method, path, r))
        return r

    def server_listing(self, rng, prefix):
        """Full ListObjectVersions with small pages; checks the paging fields."""
        mk = rng.choice([1, 2, 3, 5, 1000])
        out = []
        params = [("max-keys", str(mk))]
        if prefix:
            params.append(("prefix", prefix))
        pages = 0
        while True:
            r = self.req("GET", None, [("versions", "")] + params)
            self.assertEqual(r.status, 200, self.ctx(r))
            root = ET.fromstring(r.body)
            page = []
            for c in root:
                tag = c.tag[len(S3NS):]
                if tag in ("Version", "DeleteMarker"):
                    page.append((tag, c.findtext(S3NS + "Key"), c.findtext(S3NS + "VersionId"),
                                 c.findtext(S3NS + "IsLatest") == "true",
                                 c.findtext(S3NS + "ETag"),
                                 None if tag == "DeleteMarker"
                                 else int(c.findtext(S3NS + "Size"))))
            self.assertLessEqual(len(page), mk)
            out += page
            pages += 1
            self.assertLess(pages, 10000)
            if root.findtext(S3NS + "IsTruncated") != "true":
                self.assertIsNone(root.find(S3NS + "NextKeyMarker"), self.ctx(r))
                return out, mk
            self.assertEqual(len(page), mk, self.ctx(r))
            nk = root.findtext(S3NS + "NextKeyMarker")
            nv = root.findtext(S3NS + "NextVersionIdMarker")
            self.assertEqual((nk, nv), page[-1][1:3], self.ctx(r))
            params = [("max-keys", str(mk)), ("key-marker", nk), ("version-id-marker", nv)]
            if prefix:
                params.append(("prefix", prefix))

    # --- checks

    def ctx(self, r=None):
        s = "seed=%d step=%d op=%s" % (self.seed, self.step, self.op)
        if r is not None:
            s += " resp=%r" % (r,)
        return s

    def new_id(self, vid, r):
        self.assertTrue(vid, "no version id: " + self.ctx(r))
        self.assertNotEqual(vid, "null", self.ctx(r))
        self.assertNotIn(vid, self.seen_ids, "version id handed out twice: " + self.ctx(r))
        self.seen_ids.add(vid)
        return vid

    def check_read(self, m, key, vid, head):
        method = "HEAD" if head else "GET"
        q = [] if vid is None else [("versionId", vid)]
        r = self.req(method, key, q)
        if vid is None:
            v = m.latest(key)
            if v is None:
                self.assertEqual(r.status, 404, self.ctx(r))
                self.assertIsNone(r.header("x-amz-delete-marker"), self.ctx(r))
                if not head:
                    self.assertEqual(r.error()[0], "NoSuchKey", self.ctx(r))
                return
            if v["marker"]:
                self.assertEqual(r.status, 404, self.ctx(r))
                self.assertEqual(r.header("x-amz-delete-marker"), "true", self.ctx(r))
                self.assertEqual(r.header("x-amz-version-id"), v["vid"], self.ctx(r))
                if not head:
                    self.assertEqual(r.error()[0], "NoSuchKey", self.ctx(r))
                return
        else:
            v = m.find(key, vid)
            if v is None:
                self.assertEqual(r.status, 404, self.ctx(r))
                if not head:
                    self.assertEqual(r.error()[0], "NoSuchVersion", self.ctx(r))
                return
            if v["marker"]:
                self.assertEqual(r.status, 405, self.ctx(r))
                self.assertEqual(r.header("x-amz-delete-marker"), "true", self.ctx(r))
                self.assertTrue(r.header("last-modified"), self.ctx(r))
                if not head:
                    self.assertEqual(r.error()[0], "MethodNotAllowed", self.ctx(r))
                    self.assertEqual(r.header("allow"), "DELETE", self.ctx(r))
                return
        self.assertEqual(r.status, 200, self.ctx(r))
        self.assertEqual(r.header("etag"), '"%s"' % hashlib.md5(v["body"]).hexdigest(),
                         self.ctx(r))
        self.assertEqual(r.header("content-length"), str(len(v["body"])), self.ctx(r))
        if not head:
            self.assertEqual(r.body, v["body"], self.ctx(r))
        self.assertIsNone(r.header("x-amz-delete-marker"), self.ctx(r))
        if m.state == "none":
            self.assertIsNone(r.header("x-amz-version-id"), self.ctx(r))
        else:
            self.assertEqual(r.header("x-amz-version-id"), v["vid"], self.ctx(r))

    def set_state(self, m, status):
        body = ('<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                '<Status>%s</Status></VersioningConfiguration>' % status).encode()
        r = self.req("PUT", None, [("versioning", "")], {"Content-MD5": md5_b64(body)}, body)
        self.assertEqual(r.status, 200, self.ctx(r))
        m.state = status.lower()
        r = self.req("GET", None, [("versioning", "")])
        self.assertIn(("<Status>%s</Status>" % status).encode(), r.body, self.ctx(r))

    def simple_delete(self, m, key, marker_flag, vid, r):
        """Applies a simple DELETE to the model; marker_flag/vid as the server reported."""
        if m.state == "none":
            self.assertIsNone(marker_flag, self.ctx(r))
            self.assertIsNone(vid, self.ctx(r))
            m.drop_null(key)
            return
        self.assertIn(marker_flag, ("true", True), self.ctx(r))
        if m.state == "enabled":
            vid = self.new_id(vid, r)
        else:
            self.assertEqual(vid, "null", self.ctx(r))
            m.drop_null(key)
        m.push(key, {"vid": vid, "marker": True, "body": None})

    def do_copy(self, rng, m, dst):
        """CopyObject from a random source (latest, a version, a marker, a removed version)
        onto dst. Returns whether the model changed."""
        pool = [(k, None) for k in KEYS] + m.all_ids() + m.removed[-3:]
        skey, svid = rng.choice(pool)
        self.op = "copy %r?versionId=%s -> %r" % (skey, svid, dst)
        src = "/%s/%s" % (self.b, uri_encode(skey, keep_slash=True))
        if svid is not None:
            src += "?versionId=" + svid
        r = self.req("PUT", dst, headers={"x-amz-copy-source": src})
        v = m.latest(skey) if svid is None else m.find(skey, svid)
        if v is None:
            self.assertEqual((r.status, r.error()[0]),
                             (404, "NoSuchKey" if svid is None else "NoSuchVersion"),
                             self.ctx(r))
            return False
        if v["marker"]:
            self.assertEqual((r.status, r.error()[0]),
                             (404, "NoSuchKey") if svid is None else (400, "InvalidRequest"),
                             self.ctx(r))
            return False
        if skey == dst and v is m.latest(dst):
            self.assertEqual((r.status, r.error()[0]), (400, "InvalidRequest"), self.ctx(r))
            return False
        self.assertEqual(r.status, 200, self.ctx(r))
        root = ET.fromstring(r.body)
        self.assertEqual(root.findtext(S3NS + "ETag"),
                         '"%s"' % hashlib.md5(v["body"]).hexdigest(), self.ctx(r))
        if m.state == "none":
            self.assertIsNone(r.header("x-amz-copy-source-version-id"), self.ctx(r))
        else:
            self.assertEqual(r.header("x-amz-copy-source-version-id"), v["vid"], self.ctx(r))
        if m.state == "enabled":
            vid = self.new_id(r.header("x-amz-version-id"), r)
        else:
            self.assertIsNone(r.header("x-amz-version-id"), self.ctx(r))
            m.drop_null(dst)
            vid = "null"
        m.push(dst, {"vid": vid, "marker": False, "body": v["body"]})
        return True

    def do_multi_delete(self, rng, m):
        """DeleteObjects with 1-3 distinct keys, each simple or naming a version id."""
        keys = rng.sample(KEYS, rng.randint(1, 3))
        objs = []
        for k in keys:
            ids = [vid for kk, vid in m.all_ids() + m.removed[-3:] if kk == k]
            objs.append((k, rng.choice(ids) if ids and rng.random() < 0.6 else None))
        self.op = "multi_delete %r" % (objs,)
        xml = ['<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">']
        for k, vid in objs:
            xml.append("<Object><Key>%s</Key>%s</Object>"
                       % (k, "" if vid is None else "<VersionId>%s</VersionId>" % vid))
        xml.append("</Delete>")
        body = "".join(xml).encode()
        r = self.req("POST", None, [("delete", "")], {"Content-MD5": md5_b64(body)}, body)
        self.assertEqual(r.status, 200, self.ctx(r))
        root = ET.fromstring(r.body)
        self.assertEqual(root.findall(S3NS + "Error"), [], self.ctx(r))
        got = {}
        for d in root.findall(S3NS + "Deleted"):
            got[d.findtext(S3NS + "Key")] = d
        self.assertEqual(sorted(got), sorted(keys), self.ctx(r))
        for k, vid in objs:
            d = got[k]
            flag = d.findtext(S3NS + "DeleteMarker")
            dmv = d.findtext(S3NS + "DeleteMarkerVersionId")
            if vid is None:
                self.assertIsNone(d.find(S3NS + "VersionId"), self.ctx(r))
                self.simple_delete(m, k, flag, dmv, r)
                continue
            self.assertEqual(d.findtext(S3NS + "VersionId"), vid, self.ctx(r))
            v = m.remove(k, vid)
            if v is not None and v["marker"]:
                self.assertEqual((flag, dmv), ("true", vid), self.ctx(r))
            else:
                self.assertEqual((flag, dmv), (None, None), self.ctx(r))

    # --- the run

    def test_random_operations_match_model(self):
        self.seed = int(os.environ.get("COFFER_MODEL_SEED", DEFAULT_SEED))
        steps = int(os.environ.get("COFFER_MODEL_STEPS", DEFAULT_STEPS))
        print("    model seed %d (COFFER_MODEL_SEED=%d to replay), %d steps"
              % (self.seed, self.seed, steps), flush=True)
        rng = random.Random(self.seed)
        m = Model()
        self.seen_ids = set()
        self.nreq = 0
        self.step = 0
        self.op = "start"
        stats = {}
        lists = 0
        sizes = 0
        t0 = time.time()
        ops = [("put", 18), ("copy", 5), ("delete", 8), ("delete_vid", None),
               ("delete_gone", 2), ("multi_delete", 5), ("suspend", 3), ("enable", 3),
               ("get", 10), ("get_vid", 12), ("head", 4), ("head_vid", 4)]
        names = [o for o, _ in ops]
        for self.step in range(steps):
            if time.time() - t0 > TIME_BUDGET_S:
                print("    model: time budget reached after %d steps" % self.step, flush=True)
                break
            # permanent deletes get likelier as the bucket fills: the number of versions
            # hovers around 40, enough for multi-page listings without slowing every step
            total = sum(len(vs) for vs in m.versions.values())
            weights = [w if w is not None else 2 + total // 2 for _, w in ops]
            op = rng.choices(names, weights)[0]
            # stay "none" for a while at the start, so unversioned behaviour is covered too
            if m.state == "none" and op in ("suspend", "enable") and self.step < 150:
                op = "put"
            key = rng.choice(KEYS)
            self.op = op + " " + repr(key)
            stats[op] = stats.get(op, 0) + 1
            sizes += total
            mutated = True
            if op == "put":
                body = os.urandom(rng.randint(0, 40))
                r = self.req("PUT", key, body=body)
                self.assertEqual(r.status, 200, self.ctx(r))
                self.assertEqual(r.header("etag"), '"%s"' % hashlib.md5(body).hexdigest())
                if m.state == "enabled":
                    vid = self.new_id(r.header("x-amz-version-id"), r)
                else:
                    self.assertIsNone(r.header("x-amz-version-id"), self.ctx(r))
                    m.drop_null(key)
                    vid = "null"
                m.push(key, {"vid": vid, "marker": False, "body": body})
            elif op == "copy":
                mutated = self.do_copy(rng, m, key)
            elif op == "delete":
                r = self.req("DELETE", key)
                self.assertEqual(r.status, 204, self.ctx(r))
                self.simple_delete(m, key, r.header("x-amz-delete-marker"),
                                   r.header("x-amz-version-id"), r)
            elif op == "multi_delete":
                self.do_multi_delete(rng, m)
            elif op in ("delete_vid", "delete_gone"):
                if op == "delete_vid":
                    ids = m.all_ids()
                    if not ids:
                        mutated = False
                        continue
                    key, vid = rng.choice(ids)
                else:
                    if not m.removed:
                        mutated = False
                        continue
                    key, vid = rng.choice(m.removed)
                self.op = "%s %r %s" % (op, key, vid)
                r = self.req("DELETE", key, [("versionId", vid)])
                self.assertEqual(r.status, 204, self.ctx(r))
                self.assertEqual(r.header("x-amz-version-id"), vid, self.ctx(r))
                v = m.remove(key, vid)
                if v is not None and v["marker"]:
                    self.assertEqual(r.header("x-amz-delete-marker"), "true", self.ctx(r))
                else:
                    self.assertIsNone(r.header("x-amz-delete-marker"), self.ctx(r))
            elif op == "suspend":
                self.set_state(m, "Suspended")
            elif op == "enable":
                self.set_state(m, "Enabled")
            else:
                mutated = False
                head = op.startswith("head")
                vid = None
                if op.endswith("_vid"):
                    pool = m.all_ids() + m.removed[-5:]
                    if not pool:
                        continue
                    key, vid = rng.choice(pool)
                    self.op = "%s %r %s" % (op, key, vid)
                self.check_read(m, key, vid, head)
            if mutated:
                prefix = rng.choice(["", "", "", "a", "a/", "c"])
                got, mk = self.server_listing(rng, prefix)
                lists += 1
                want = m.listing(prefix)
                if got != want:
                    self.fail("listing differs (%s, max-keys=%d, prefix=%r)\n server: %r\n "
                              "model:  %r" % (self.ctx(), mk, prefix, got, want))
            # the model invariant the server must share: one latest per key
        # full read-back at the end: every key latest, every version by id
        self.op = "final"
        for key in KEYS:
            self.check_read(m, key, None, False)
            for k, vid in m.all_ids():
                if k == key:
                    self.check_read(m, key, vid, False)
        took = time.time() - t0
        total = sum(len(vs) for vs in m.versions.values())
        print("    model: %d steps, %d requests, %d listings, %.1fs, %.1f versions/markers on "
              "average, final state %s with %d; ops %s"
              % (self.step + 1, self.nreq, lists, took, sizes / (self.step + 1), m.state, total,
                 sorted(stats.items())), flush=True)
