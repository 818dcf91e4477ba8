"""Bucket CORS end to end: Put/Get/DeleteBucketCors with boto3 and every refusal S3 gives, raw
OPTIONS preflights (unsigned, as browsers send them) and actual requests carrying Origin, on
success and on errors, on the loop thread's fast path and on a worker; and a real browser
(headless Chromium) that uploads through a presigned PUT from another origin and reads the object
back with fetch, which fails the same way once the rule is gone.
"""

import http.server
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

from lib import (E2ETestCase, bucket_name, client, connect, host_for, md5_b64, other_client,
                 send, sign, signed_request)

NOT_ALLOWED = ("CORSResponse: This CORS request is not allowed. This is usually because the "
               "evalution of Origin, request method / Access-Control-Request-Method or "
               "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
ACAO = "access-control-allow-origin"


def rule(origins, methods, headers=None, expose=None, max_age=None, rid=None):
    r = {"AllowedOrigins": origins, "AllowedMethods": methods}
    if headers:
        r["AllowedHeaders"] = headers
    if expose:
        r["ExposeHeaders"] = expose
    if max_age is not None:
        r["MaxAgeSeconds"] = max_age
    if rid:
        r["ID"] = rid
    return r


def error_xml(resp):
    root = ET.fromstring(resp.body)
    return {c.tag: c.text for c in root}


class CorsCase(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = client()

    def bucket(self, rules=None):
        b = bucket_name("cors")
        self.c.create_bucket(Bucket=b)
        if rules:
            self.c.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": rules})
        return b

    def preflight(self, path, origin=None, method=None, headers=None):
        h = {}
        if origin is not None:
            h["Origin"] = origin
        if method is not None:
            h["Access-Control-Request-Method"] = method
        if headers is not None:
            h["Access-Control-Request-Headers"] = headers
        return send("OPTIONS", path, h)

    def assertCors(self, r, origin, methods, headers=None, expose=None, max_age=None,
                   credentials=True):
        """Every Access-Control-* header of r, and Vary."""
        h = r.headers
        self.assertEqual(h.get(ACAO), origin, repr(r))
        self.assertEqual(h.get("access-control-allow-methods"), methods, repr(r))
        self.assertEqual(h.get("access-control-allow-headers"), headers, repr(r))
        self.assertEqual(h.get("access-control-expose-headers"), expose, repr(r))
        self.assertEqual(h.get("access-control-max-age"), max_age, repr(r))
        self.assertEqual(h.get("access-control-allow-credentials"),
                         "true" if credentials else None, repr(r))
        self.assertEqual(h.get("vary"), VARY, repr(r))

    def assertNoCors(self, r):
        for k in r.headers:
            self.assertFalse(k.startswith("access-control-"), repr(r))


class TestCorsApi(CorsCase):
    def test_put_get_delete(self):
        b = self.bucket()
        self.assertS3Error("NoSuchCORSConfiguration", 404, self.c.get_bucket_cors, Bucket=b)
        rules = [rule(["https://*.example.com", "http://127.0.0.1:8000"], ["PUT", "GET"],
                      headers=["Content-Type", "x-amz-*"], expose=["ETag", "x-amz-request-id"],
                      max_age=3000, rid="web"),
                 rule(["*"], ["GET", "HEAD"])]
        r = self.c.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": rules})
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        got = self.c.get_bucket_cors(Bucket=b)["CORSRules"]
        # Methods come back in S3's fixed order, once each.
        rules[0]["AllowedMethods"] = ["GET", "PUT"]
        self.assertEqual(got, rules)
        # The document is our canonical XML whatever the client sent.
        raw = signed_request("GET", "/" + b, query=[("cors", None)])
        self.assertRawOK(raw)
        self.assertEqual(raw.header("content-type"), "application/xml")
        self.assertIn(b'<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                      b"<CORSRule><ID>web</ID><AllowedHeader>Content-Type</AllowedHeader>",
                      raw.body)
        # A second PUT replaces the whole configuration.
        self.c.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": [rule(["*"], ["PUT"])]})
        self.assertEqual(self.c.get_bucket_cors(Bucket=b)["CORSRules"],
                         [rule(["*"], ["PUT"])])
        r = self.c.delete_bucket_cors(Bucket=b)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        r = self.assertS3Error("NoSuchCORSConfiguration", 404, self.c.get_bucket_cors, Bucket=b)
        self.assertEqual(r["Error"]["Message"], "The CORS configuration does not exist")
        self.assertEqual(r["Error"].get("BucketName"), b)
        # Deleting again is still 204.
        r = self.c.delete_bucket_cors(Bucket=b)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)

    def test_refusals(self):
        b = self.bucket()

        def put(rules):
            return self.c.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": rules})

        cases = [
            ([rule(["*"], ["PATCH"])], "InvalidRequest",
             "Found unsupported HTTP method in CORS config. Unsupported method is PATCH"),
            ([rule(["http://*.example.*"], ["GET"])], "InvalidRequest",
             'AllowedOrigin "http://*.example.*" can not have more than one wildcard.'),
            ([rule(["*"], ["GET"], headers=["x-*-*"])], "InvalidRequest",
             'AllowedHeader "x-*-*" can not have more than one wildcard.'),
            ([rule(["*"], ["GET"], expose=["x-amz-*"])], "InvalidRequest",
             'ExposeHeader "x-amz-*" contains wildcard. We currently do not support wildcard '
             "for ExposeHeader."),
            ([rule(["*"], ["GET"], expose=["ETag\nSet-Cookie: a=b"])], "InvalidRequest",
             'ExposeHeader "ETag\nSet-Cookie: a=b" contains invalid character.'),
            ([rule(["*"], ["GET"])] * 101, "InvalidRequest",
             "The number of CORS rules should not exceed allowed limit of 100 rules."),
            ([rule(["*"], ["GET"], rid="x" * 256)], "InvalidRequest",
             "ID length should not exceed allowed limit of 255"),
            ([rule(["*"], [])], "MalformedXML", None),
            ([rule([], ["GET"])], "MalformedXML", None),
            ([], "MalformedXML", None),
        ]
        for rules, code, msg in cases:
            with self.subTest(code=code, msg=msg):
                r = self.assertS3Error(code, 400, put, rules)
                if msg:
                    self.assertEqual(r["Error"]["Message"], msg)
        # 100 rules are fine; nothing refused was stored.
        self.assertS3Error("NoSuchCORSConfiguration", 404, self.c.get_bucket_cors, Bucket=b)
        put([rule(["*"], ["GET"])] * 100)
        self.assertEqual(len(self.c.get_bucket_cors(Bucket=b)["CORSRules"]), 100)

    def test_raw_bodies(self):
        b = self.bucket()
        q = [("cors", None)]
        good = (b"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod>"
                b"<AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>")
        for body in (b"<CORSConfiguration>", b"<Foo/>",
                     b"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod>"
                     b"<AllowedOrigin>*</AllowedOrigin><Bogus/></CORSRule></CORSConfiguration>",
                     b"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod>"
                     b"<AllowedOrigin>*</AllowedOrigin><MaxAgeSeconds>soon</MaxAgeSeconds>"
                     b"</CORSRule></CORSConfiguration>"):
            with self.subTest(body=body):
                r = signed_request("PUT", "/" + b, query=q, body=body,
                                   headers={"Content-MD5": md5_b64(body)})
                self.assertRawError(r, 400, "MalformedXML")
        # As for lifecycle, AWS requires Content-MD5 or a checksum.
        r = signed_request("PUT", "/" + b, query=q, body=good)
        self.assertRawError(r, 400, "InvalidRequest")
        self.assertEqual(r.error()[1], "Missing required header for this request: Content-MD5")
        r = signed_request("PUT", "/" + b, query=q, body=b"",
                           headers={"Content-MD5": md5_b64(b"")})
        self.assertRawError(r, 400, "MissingRequestBodyError")
        r = signed_request("PUT", "/" + b, query=q, body=good,
                           headers={"Content-MD5": md5_b64(b"other")})
        self.assertRawError(r, 400, "BadDigest")
        # The size cap is checked before the body is read into memory.
        big = b" " * (1024 * 1024 + 1)
        r = signed_request("PUT", "/" + b, query=q, body=big,
                           headers={"Content-MD5": md5_b64(big)})
        self.assertEqual(r.status, 400, repr(r))
        r = signed_request("PUT", "/" + b, query=q, body=good,
                           headers={"Content-MD5": md5_b64(good)})
        self.assertRawOK(r)

    def test_missing_bucket_and_other_account(self):
        b = bucket_name("cors-none")
        self.assertS3Error("NoSuchBucket", 404, self.c.get_bucket_cors, Bucket=b)
        self.assertS3Error("NoSuchBucket", 404, self.c.put_bucket_cors, Bucket=b,
                           CORSConfiguration={"CORSRules": [rule(["*"], ["GET"])]})
        self.assertS3Error("NoSuchBucket", 404, self.c.delete_bucket_cors, Bucket=b)
        mine = self.bucket([rule(["*"], ["GET"])])
        o = other_client()
        self.assertS3Error("AccessDenied", 403, o.get_bucket_cors, Bucket=mine)
        self.assertS3Error("AccessDenied", 403, o.put_bucket_cors, Bucket=mine,
                           CORSConfiguration={"CORSRules": [rule(["*"], ["PUT"])]})
        self.assertS3Error("AccessDenied", 403, o.delete_bucket_cors, Bucket=mine)
        self.assertEqual(self.c.get_bucket_cors(Bucket=mine)["CORSRules"],
                         [rule(["*"], ["GET"])])


class TestCorsPreflight(CorsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.b = bucket_name("cors-pre")
        cls.c.create_bucket(Bucket=cls.b)
        cls.c.put_bucket_cors(Bucket=cls.b, CORSConfiguration={"CORSRules": [
            rule(["http://127.0.0.1:8000"], ["PUT", "GET"], headers=["Content-Type", "x-amz-*"],
                 expose=["ETag", "x-amz-version-id"], max_age=600),
            rule(["https://*.example.com"], ["DELETE"]),
            rule(["*"], ["GET", "HEAD"]),
        ]})

    def test_missing_headers(self):
        r = self.preflight("/%s/k" % self.b, method="PUT")
        self.assertRawError(r, 400, "BadRequest")
        self.assertEqual(r.error()[1], "Insufficient information. Origin request header needed.")
        r = self.preflight("/%s/k" % self.b, origin="http://127.0.0.1:8000")
        self.assertRawError(r, 400, "BadRequest")
        self.assertEqual(r.error()[1], "Invalid Access-Control-Request-Method: null")
        self.assertNoCors(r)

    def test_not_allowed(self):
        for path, origin, method, hdrs, rtype in [
                ("/%s/k" % self.b, "http://127.0.0.1:9999", "PUT", None, "OBJECT"),
                ("/%s" % self.b, "http://127.0.0.1:8000", "DELETE", None, "BUCKET"),
                ("/%s/k" % self.b, "http://127.0.0.1:8000", "PUT", "authorization", "OBJECT"),
                ("/%s/k" % self.b, "http://localhost:8000", "PUT", None, "OBJECT"),
                ("/%s/k" % self.b, "https://example.com", "DELETE", None, "OBJECT"),
                ("/%s/k" % self.b, "http://127.0.0.1:8000", "PATCH", None, "OBJECT")]:
            with self.subTest(origin=origin, method=method, hdrs=hdrs):
                r = self.preflight(path, origin, method, hdrs)
                self.assertRawError(r, 403, "AccessForbidden")
                e = error_xml(r)
                self.assertEqual(e["Message"], NOT_ALLOWED)
                self.assertEqual((e.get("Method"), e.get("ResourceType")), (method, rtype))
                self.assertNoCors(r)

    def test_no_configuration_and_no_bucket(self):
        b = self.bucket()
        r = self.preflight("/%s/k" % b, "http://127.0.0.1:8000", "GET")
        self.assertRawError(r, 403, "AccessForbidden")
        self.assertEqual(r.error()[1], "CORSResponse: CORS is not enabled for this bucket.")
        r = self.preflight("/%s/k" % bucket_name("cors-gone"), "http://127.0.0.1:8000", "GET")
        self.assertRawError(r, 403, "AccessForbidden")
        self.assertEqual(r.error()[1], "CORSResponse: Bucket not found")

    def test_allowed(self):
        # Requested headers match without regard to case, with x-amz-* as a pattern; they are
        # echoed in lower case.
        r = self.preflight("/%s/some/key" % self.b, "http://127.0.0.1:8000", "PUT",
                           "Content-Type, X-Amz-Date,x-amz-meta-a")
        self.assertRawOK(r)
        self.assertEqual(r.body, b"")
        self.assertCors(r, "http://127.0.0.1:8000", "GET, PUT",
                        headers="content-type, x-amz-date, x-amz-meta-a",
                        expose="ETag, x-amz-version-id", max_age="600")
        # The bucket URL too, and no requested headers.
        r = self.preflight("/%s" % self.b, "http://127.0.0.1:8000", "GET")
        self.assertRawOK(r)
        self.assertCors(r, "http://127.0.0.1:8000", "GET, PUT",
                        expose="ETag, x-amz-version-id", max_age="600")
        # The wildcard rule: '*' and no credentials.
        r = self.preflight("/%s/k" % self.b, "http://elsewhere.test", "HEAD")
        self.assertRawOK(r)
        self.assertCors(r, "*", "GET, HEAD", credentials=False)
        # One wildcard in an origin.
        r = self.preflight("/%s/k" % self.b, "https://app.example.com", "DELETE")
        self.assertRawOK(r)
        self.assertCors(r, "https://app.example.com", "DELETE")

    def test_first_rule_wins_and_presigned_query(self):
        # GET from 127.0.0.1:8000 matches both the first and the '*' rule: the first wins.
        # A presigned URL's query (signed for PUT, not OPTIONS) does not get in the way.
        path = "/%s/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00" % self.b
        r = self.preflight(path, "http://127.0.0.1:8000", "GET")
        self.assertRawOK(r)
        self.assertCors(r, "http://127.0.0.1:8000", "GET, PUT",
                        expose="ETag, x-amz-version-id", max_age="600")


class TestCorsActual(CorsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.b = bucket_name("cors-act")
        cls.c.create_bucket(Bucket=cls.b)
        cls.c.put_bucket_cors(Bucket=cls.b, CORSConfiguration={"CORSRules": [
            rule(["http://127.0.0.1:8000"], ["GET", "PUT", "HEAD"], expose=["ETag"],
                 max_age=60),
            rule(["*"], ["GET"]),
        ]})
        cls.c.put_object(Bucket=cls.b, Key="small", Body=b"small body")
        cls.c.put_object(Bucket=cls.b, Key="big", Body=os.urandom(200 * 1024))

    def get(self, key, origin=None, method="GET", signed=True, query=()):
        h = {"Origin": origin} if origin else {}
        if signed:
            return signed_request(method, "/%s/%s" % (self.b, key), query=query, headers=h)
        return send(method, "/%s/%s" % (self.b, key), h)

    def test_success_headers(self):
        for key in ("small", "big"):  # the loop thread's answer, and a worker's
            for method in ("GET", "HEAD"):
                with self.subTest(key=key, method=method):
                    r = self.get(key, "http://127.0.0.1:8000", method)
                    self.assertRawOK(r)
                    self.assertCors(r, "http://127.0.0.1:8000", "GET, PUT, HEAD",
                                    expose="ETag", max_age="60")
        # Each header once, even when the loop thread handed the request to a worker.
        conn = connect()
        try:
            s = sign("GET", "/%s/big" % self.b, headers={"Origin": "http://127.0.0.1:8000"},
                     host=host_for())
            conn.putrequest("GET", s.target, skip_host=True, skip_accept_encoding=True)
            for k, v in s.headers.items():
                conn.putheader(k, v)
            conn.endheaders()
            resp = conn.getresponse()
            resp.read()
            names = [k.lower() for k, _ in resp.getheaders()]
            self.assertEqual(names.count(ACAO), 1, names)
            self.assertEqual(names.count("vary"), 1, names)
        finally:
            conn.close()

    def test_put_and_wildcard(self):
        r = signed_request("PUT", "/%s/put" % self.b, body=b"x",
                           headers={"Origin": "http://127.0.0.1:8000"})
        self.assertRawOK(r)
        self.assertCors(r, "http://127.0.0.1:8000", "GET, PUT, HEAD", expose="ETag",
                        max_age="60")
        # Another origin: only the '*' rule's GET.
        r = self.get("small", "http://elsewhere.test")
        self.assertRawOK(r)
        self.assertCors(r, "*", "GET", credentials=False)
        r = signed_request("PUT", "/%s/put2" % self.b, body=b"x",
                           headers={"Origin": "http://elsewhere.test"})
        self.assertRawOK(r)
        self.assertNoCors(r)

    def test_no_origin_no_headers(self):
        r = self.get("small")
        self.assertRawOK(r)
        self.assertNoCors(r)
        self.assertIsNone(r.header("vary"))

    def test_error_responses(self):
        # A browser reads an error only with the CORS headers: 404, and 403 for anonymous.
        r = self.get("missing", "http://127.0.0.1:8000")
        self.assertRawError(r, 404, "NoSuchKey")
        self.assertCors(r, "http://127.0.0.1:8000", "GET, PUT, HEAD", expose="ETag",
                        max_age="60")
        r = self.get("small", "http://127.0.0.1:8000", signed=False)
        self.assertRawError(r, 403, "AccessDenied")
        self.assertCors(r, "http://127.0.0.1:8000", "GET, PUT, HEAD", expose="ETag",
                        max_age="60")
        r = self.get("small", "http://127.0.0.1:8000", method="HEAD", signed=False)
        self.assertEqual(r.status, 403)
        self.assertEqual(r.header(ACAO), "http://127.0.0.1:8000")
        # A bucket without CORS: nothing.
        b = self.bucket()
        r = signed_request("GET", "/%s/x" % b, headers={"Origin": "http://127.0.0.1:8000"})
        self.assertRawError(r, 404, "NoSuchKey")
        self.assertNoCors(r)


# ---------------------------------------------------------------------------------------------
# The browser


PAGE = """<!doctype html><meta charset="utf-8"><title>cors</title><script>
const put = %(put)s, get = %(get)s, data = %(data)s;
async function run() {
  const out = {};
  try {
    const p = await fetch(put, {method: "PUT", body: new Blob([data])});
    out.put = p.status;
    const g = await fetch(get);
    out.get = g.status;
    out.body = await g.text();
    out.etag = g.headers.get("ETag");
  } catch (e) {
    out.error = String(e);
  }
  await fetch("/result", {method: "POST", body: JSON.stringify(out)});
}
run();
</script>"""


class _PageServer(http.server.ThreadingHTTPServer):
    daemon_threads = True


def _page_handler(state):
    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            body = state["page"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            state["result"] = json.loads(self.rfile.read(n) or b"{}")
            self.send_response(204)
            self.end_headers()
            state["done"].set()
    return H


class TestCorsBrowser(CorsCase):
    """Headless Chromium on a page served from another origin (another port of 127.0.0.1)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.chromium = shutil.which("chromium") or shutil.which("chromium-browser")

    def setUp(self):
        super().setUp()
        if not self.chromium:
            self.skipTest("chromium is not installed (Debian package chromium; scripts/deps.sh "
                          "installs it)")
        self.state = {"done": threading.Event()}
        self.page = _PageServer(("127.0.0.1", 0), _page_handler(self.state))
        self.origin = "http://127.0.0.1:%d" % self.page.server_address[1]
        threading.Thread(target=self.page.serve_forever, daemon=True).start()

    def tearDown(self):
        self.page.shutdown()
        self.page.server_close()
        super().tearDown()

    def browse(self, bucket, key, data):
        self.state["page"] = PAGE % {
            "put": json.dumps(self.c.generate_presigned_url(
                "put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300)),
            "get": json.dumps(self.c.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300)),
            "data": json.dumps(data),
        }
        self.state["done"].clear()
        self.state["result"] = None
        profile = tempfile.mkdtemp(prefix="cors-chromium-")
        # Its own session, so the browser and every process it forks go with one killpg.
        p = subprocess.Popen([self.chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                              "--no-first-run", "--disable-dev-shm-usage",
                              "--user-data-dir=" + profile, self.origin + "/"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        try:
            self.assertTrue(self.state["done"].wait(60), "the page never reported")
        finally:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(30)
            shutil.rmtree(profile, ignore_errors=True)
        return self.state["result"]

    def test_presigned_put_and_fetch(self):
        data = "from the browser: caf\u00e9 %s" % time.time()
        b = self.bucket([rule([self.origin], ["PUT", "GET"], headers=["*"], expose=["ETag"])])
        res = self.browse(b, "page/upload.txt", data)
        self.assertEqual(res.get("put"), 200, res)
        self.assertEqual(res.get("get"), 200, res)
        self.assertEqual(res.get("body"), data, res)
        obj = self.c.get_object(Bucket=b, Key="page/upload.txt")
        self.assertEqual(obj["Body"].read(), data.encode())
        self.assertEqual(res.get("etag"), obj["ETag"], res)

        # The same page once the rule is gone: the browser refuses both requests.
        self.c.delete_bucket_cors(Bucket=b)
        res = self.browse(b, "page/second.txt", data)
        self.assertIn("error", res, res)
        self.assertNotIn("put", res, res)
        self.assertS3Error("NoSuchKey", 404, self.c.get_object, Bucket=b, Key="page/second.txt")

        # A rule for another origin (localhost is not 127.0.0.1) does not help either.
        port = self.origin.rsplit(":", 1)[1]
        self.c.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": [
            rule(["http://localhost:%s" % port], ["PUT", "GET"], headers=["*"])]})
        res = self.browse(b, "page/third.txt", data)
        self.assertIn("error", res, res)
        self.assertS3Error("NoSuchKey", 404, self.c.get_object, Bucket=b, Key="page/third.txt")
