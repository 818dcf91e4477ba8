"""The web dashboard (issue 16) on cofferd's admin listener, in headless Chromium (Debian's
chromium): `coffer dashboard --account A` prints a one-time login link; the browser opens it,
is redirected to / with a session cookie and the test reads the DOM: the account's buckets (and
no other account's), total storage and object count equal to what boto3 stored, versioning and
MFA-delete counts and percentages, each bucket's versioning / MFA delete / lifecycle / public
access state, and the MFA audit events (a hardware device added with the CLI, MFA delete
enabled with a code, a wrong code). A second use of the link is refused, and so is an expired
link (its row written into meta.db with sqlite3: links last 5 minutes and there is no option to
shorten that). With curl: the cookie's flags, 401 without a session, sign-out. A screenshot is
kept ($E2E_DASHBOARD_PNG, default $E2E_TMP/dashboard.png; the README's docs/dashboard.png is one).

The admin listener is plain HTTP or HTTPS (the server's certificate, DIR/tls/ca.pem) depending
on the build; admin_base() asks the port which one it speaks."""

import hashlib
import html
import os
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import tempfile
import time
import unittest

import boto3
from botocore.config import Config

import lib
from lib import REGION, Server, rand_suffix
from mfa_lib import b32_seed, cur_step, ensure_margin, totp

TOKEN = re.compile(r"^(https?://[^/]+)/login\?token=([A-Za-z0-9]{44})$")


def admin_base(port, ca):
    """https://127.0.0.1:PORT when the admin listener completes a TLS handshake, else http."""
    ctx = ssl.create_default_context(cafile=ca) if os.path.exists(ca) else None
    if ctx is not None:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                with ctx.wrap_socket(s):
                    return "https://127.0.0.1:%d" % port
        except (ssl.SSLError, OSError):
            pass
    return "http://127.0.0.1:%d" % port


def text_of(dom, elem_id):
    """The text inside the element with id elem_id (tags stripped, entities decoded); a card
    (div with label, value and note divs) ends with its last inner div."""
    m = re.search(r'<(\w+)[^>]*\bid="%s"[^>]*>' % re.escape(elem_id), dom)
    if m is None:
        return None
    end = dom.find("</div></div>" if m.group(1) == "div" else "</%s>" % m.group(1), m.end())
    return html.unescape(re.sub(r"<[^>]+>", " ", dom[m.end():end]))


def bucket_rows(dom):
    """{bucket: [cell texts]} of the data-protection table."""
    m = re.search(r'<table id="bucket-table">(.*?)</table>', dom, re.S)
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", m.group(1) if m else "", re.S):
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        if cells:
            rows[cells[0]] = cells
    return rows


class DashboardTest(lib.E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        cls.admin_port = lib.free_port()
        cls.srv = Server(tag="dash", args=["--admin-listen", "127.0.0.1:%d" % cls.admin_port,
                                           "--usage-interval", "1"])
        cls.srv.start()
        deadline = time.time() + 10
        while not lib.port_open(cls.admin_port):
            if time.time() > deadline:
                raise RuntimeError("admin port never opened")
            time.sleep(0.05)
        cls.ca = os.path.join(cls.srv.data, "tls", "ca.pem")
        cls.base = admin_base(cls.admin_port, cls.ca)
        cls.name = "dash-" + rand_suffix(6)
        cls.acct = cls.srv.account(cls.name)
        cls.other = cls.srv.account("other-" + rand_suffix(6))
        cls.s3 = cls.client(cls.acct)
        cls.expected_bytes = cls.setup_buckets()

    @classmethod
    def tearDownClass(cls):
        report = cls.srv.close()
        if report:
            raise AssertionError(report)

    @classmethod
    def client(cls, acct):
        c = boto3.session.Session().client(
            "s3", endpoint_url=cls.srv.https, aws_access_key_id=acct["access_key_id"],
            aws_secret_access_key=acct["secret_access_key"], region_name=REGION, verify=cls.ca,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                          retries={"max_attempts": 1, "mode": "standard"}))
        c.meta.events.register("before-parse.s3.*", lib._check_request_id)
        return c

    @classmethod
    def coffer(cls, *args, check=True):
        return subprocess.run([os.path.join(cls.srv.admin_bin, "coffer"), "--data",
                               cls.srv.data] + list(args), check=check, capture_output=True,
                              text=True, timeout=60)

    @classmethod
    def setup_buckets(cls):
        """Three buckets of the account, one of another account; returns the account's
        StorageBytes as Storage Lens counts it (versions, delete markers by key length,
        incomplete uploads' parts)."""
        sfx = rand_suffix(6)
        cls.plain, cls.versioned, cls.mfa = ("plain-" + sfx, "versioned-" + sfx, "mfa-" + sfx)
        s3 = cls.s3
        for b in (cls.plain, cls.versioned, cls.mfa):
            s3.create_bucket(Bucket=b)
        total = 0
        # plain: two objects, an incomplete upload with one part, Block Public Access removed.
        for k, body in (("a.txt", b"x" * 1000), ("b.bin", b"y" * 2500)):
            s3.put_object(Bucket=cls.plain, Key=k, Body=body)
            total += len(body)
        up = s3.create_multipart_upload(Bucket=cls.plain, Key="big")
        s3.upload_part(Bucket=cls.plain, Key="big", UploadId=up["UploadId"], PartNumber=1,
                       Body=b"z" * 700)
        total += 700
        s3.delete_public_access_block(Bucket=cls.plain)
        # versioned: two versions of one key, a delete marker, a lifecycle rule.
        s3.put_bucket_versioning(Bucket=cls.versioned,
                                 VersioningConfiguration={"Status": "Enabled"})
        for body in (b"1" * 300, b"2" * 400):
            s3.put_object(Bucket=cls.versioned, Key="doc", Body=body)
            total += len(body)
        s3.delete_object(Bucket=cls.versioned, Key="doc")
        total += len("doc")
        s3.put_bucket_lifecycle_configuration(Bucket=cls.versioned, LifecycleConfiguration={
            "Rules": [{"ID": "old", "Status": "Enabled", "Filter": {"Prefix": ""},
                       "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}]})
        # mfa: versioned with MFA delete, enabled with a hardware token's code (the device is
        # added with the admin CLI; its enrolment burns two steps, the next one is accepted).
        s3.put_object(Bucket=cls.mfa, Key="keep", Body=b"k" * 50)
        total += 50
        serial = "GADASH%06d" % (int(time.time()) % 10 ** 6)
        seed = b32_seed()
        ensure_margin()
        step = cur_step()
        cls.coffer("mfa", "add-hardware", "--account", cls.name, "--serial", serial,
                   "--seed-base32", seed, "--code1", totp(seed, step - 1), "--code2",
                   totp(seed, step))
        wrong = "%06d" % ((int(totp(seed, step + 1)) + 1) % 10 ** 6)
        try:
            s3.put_bucket_versioning(Bucket=cls.mfa, MFA="%s %s" % (serial, wrong),
                                     VersioningConfiguration={"Status": "Enabled",
                                                              "MFADelete": "Enabled"})
            raise AssertionError("a wrong MFA code was accepted")
        except s3.exceptions.ClientError as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 403, e.response
        s3.put_bucket_versioning(Bucket=cls.mfa, MFA="%s %s" % (serial, totp(seed, step + 1)),
                                 VersioningConfiguration={"Status": "Enabled",
                                                          "MFADelete": "Enabled"})
        cls.other_bucket = "elsewhere-" + sfx
        cls.client(cls.other).create_bucket(Bucket=cls.other_bucket)
        cls.coffer("usage", "refresh")
        return total

    # --- helpers

    def link(self):
        out = self.coffer("dashboard", "--account", self.name, "--url", self.base).stdout.strip()
        m = TOKEN.match(out)
        self.assertIsNotNone(m, out)
        self.assertEqual(m.group(1), self.base)
        return out

    def browser(self, *args):
        """Runs headless Chromium with a fresh profile; returns its stdout."""
        if not self.chromium:
            self.skipTest("chromium is not installed (Debian package chromium)")
        profile = tempfile.mkdtemp(prefix="dash-chromium-")
        argv = [self.chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--disable-dev-shm-usage", "--hide-scrollbars",
                "--user-data-dir=" + profile]
        if self.base.startswith("https"):
            argv.append("--ignore-certificate-errors")
        p = subprocess.Popen(argv + list(args), stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            out, _ = p.communicate(timeout=90)
        finally:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(30)
            shutil.rmtree(profile, ignore_errors=True)
        return out.decode("utf-8", "replace")

    def curl(self, *args):
        argv = ["curl", "-sS", "-v", "--max-time", "30"]
        if self.base.startswith("https"):
            argv += ["--cacert", self.ca]
        r = subprocess.run(argv + list(args), capture_output=True, text=True, timeout=60)
        return r.stdout, r.stderr

    def status(self, stderr):
        m = re.findall(r"^< HTTP/[\d.]+ (\d{3})", stderr, re.M)
        self.assertTrue(m, stderr)
        return int(m[-1])

    # --- tests

    def test_dom_in_browser(self):
        link = self.link()
        dom = self.browser("--dump-dom", link)
        self.assertIn('<span id="account-name">%s</span>' % self.name, dom)
        self.assertIn("%012d" % int(self.acct["account_id"]), dom)
        rows = bucket_rows(dom)
        self.assertEqual(sorted(rows), sorted([self.plain, self.versioned, self.mfa]), dom)
        self.assertNotIn(self.other_bucket, dom)
        # Storage: every byte boto3 stored, delete marker and upload part included.
        self.assertEqual(text_of(dom, "total-storage").split().count("%d" % self.expected_bytes),
                         1, text_of(dom, "total-storage"))
        # 2 + 1 current versions + 1 noncurrent + 1 delete marker + 1 upload = 7 objects.
        self.assertIn(" 7 ", text_of(dom, "object-count"))
        self.assertIn("Versioning-enabled buckets: 2 of 3 (66.7%)",
                      text_of(dom, "versioning-summary"))
        self.assertIn("MFA delete-enabled buckets: 1 of 3 (33.3%)", text_of(dom, "mfa-summary"))
        self.assertIn("2 of 3", text_of(dom, "versioning-enabled"))
        self.assertIn("33.3%", text_of(dom, "mfa-delete-enabled"))
        # Bucket, storage, objects, versioning, MFA delete, lifecycle, public access.
        self.assertEqual(rows[self.plain][1:], ["4.10 KB", "3", "Disabled", "Disabled", "None",
                                                "Not blocked"])
        self.assertEqual(rows[self.versioned][1:], ["703 B", "3", "Enabled", "Disabled",
                                                    "1 rule", "Blocked"])
        self.assertEqual(rows[self.mfa][1:], ["50 B", "1", "Enabled", "Enabled", "None",
                                              "Blocked"])
        self.assertIn('id="noncurrent"', dom)
        self.assertRegex(text_of(dom, "delete-markers"), r"Delete markers\s+1\s+3 B")
        self.assertRegex(text_of(dom, "incomplete-uploads"),
                         r"Incomplete multipart uploads\s+1\s+700 B")
        # Charts are inline SVG.
        for sec in ("trend-storage", "trend-objects", "buckets-by-size", "storage-split"):
            self.assertRegex(dom, r'id="%s".*?<svg viewBox=' % sec)
        # The MFA events, newest first: MFA delete enabled, the refused code, the device.
        events = re.search(r'id="mfa-events".*?</section>', dom, re.S).group(0)
        names = re.findall(r'<td class="event[^"]*">([^<]+)</td>', events)
        self.assertEqual(names[0], "bucket.mfa_delete", names)
        self.assertIn("mfa.check_failed", names)
        self.assertTrue(any(n.startswith("mfa.") and n != "mfa.check_failed" for n in names),
                        names)
        self.assertIn(self.mfa, events)
        # Nothing the page needs comes from elsewhere, and it runs no script.
        self.assertNotRegex(dom, r'(src|href)="(https?:)?//')
        self.assertNotIn("<script", dom)

        # The same link a second time: refused.
        again = self.browser("--dump-dom", link)
        self.assertIn("Link not valid", again)
        self.assertNotIn(self.plain, again)

    def test_screenshot(self):
        path = os.environ.get("E2E_DASHBOARD_PNG") or os.path.join(
            os.environ.get("E2E_TMP") or tempfile.gettempdir(), "dashboard.png")
        if os.path.exists(path):
            os.unlink(path)
        self.browser("--window-size=1200,1320", "--screenshot=" + os.path.abspath(path),
                     self.link())
        with open(path, "rb") as f:
            png = f.read()
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        self.assertGreater(len(png), 20000)  # a page, not a blank or an error

    @lib.sqlite_only
    def test_links_and_cookie(self):
        # No session: 401, saying how to get one.
        out, err = self.curl(self.base + "/")
        self.assertEqual(self.status(err), 401)
        self.assertIn("coffer dashboard --account A", out)
        # The link: 303 to / with the session cookie and its flags.
        link = self.link()
        out, err = self.curl(link)
        self.assertEqual(self.status(err), 303)
        self.assertRegex(err, r"(?mi)^< location: /\r?$")
        m = re.search(r"(?mi)^< set-cookie: (.*?)\r?$", err)
        self.assertIsNotNone(m, err)
        attrs = [a.strip() for a in m.group(1).split(";")]
        self.assertRegex(attrs[0], r"^coffer_session=[A-Za-z0-9]{44}$")
        for flag in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
            self.assertIn(flag, attrs)
        cookie = attrs[0]
        token = link.rsplit("=", 1)[1]
        self.assertNotIn(token, self.srv.log_tail(200))
        self.assertNotIn(cookie.split("=", 1)[1], self.srv.log_tail(200))
        # Only hashes are stored.
        db = sqlite3.connect(os.path.join(self.srv.data, "meta.db"))
        try:
            stored = db.execute("SELECT sel, hex(hash), used_ms FROM dash_logins WHERE sel = ?",
                                (token[:12],)).fetchone()
        finally:
            db.close()
        self.assertEqual(stored[1].lower(), hashlib.sha256(token[12:].encode()).hexdigest())
        self.assertIsNotNone(stored[2])  # spent
        # The session works; the link does not a second time.
        out, err = self.curl("-H", "Cookie: " + cookie, self.base + "/")
        self.assertEqual(self.status(err), 200)
        self.assertIn(self.versioned, out)
        self.assertRegex(err, r"(?mi)^< content-security-policy: default-src 'none'")
        out, err = self.curl(link)
        self.assertEqual(self.status(err), 403)
        self.assertNotIn("set-cookie", err.lower())
        # Unknown and malformed links.
        _, err = self.curl(self.base + "/login?token=" + "A" * 44)
        self.assertEqual(self.status(err), 403)
        _, err = self.curl(self.base + "/login?token=..%2f")
        self.assertEqual(self.status(err), 403)
        # Sign out: the cookie is cleared and the session no longer opens the page.
        out, err = self.curl("-X", "POST", "-H", "Cookie: " + cookie, self.base + "/logout")
        self.assertEqual(self.status(err), 200)
        self.assertRegex(err, r"(?mi)^< set-cookie: coffer_session=; Max-Age=0")
        _, err = self.curl("-H", "Cookie: " + cookie, self.base + "/")
        self.assertEqual(self.status(err), 401)
        _, err = self.curl(self.base + "/logout")
        self.assertEqual(self.status(err), 405)

    @lib.sqlite_only
    def test_expired_link(self):
        # A link made 6 minutes ago, written as `coffer dashboard` would have (selector, hash of
        # the verifier, expiry 5 minutes after creation): refused.
        verifier = "v" * 32
        sel = "Expired" + rand_suffix(5)
        sel = re.sub(r"[^A-Za-z0-9]", "x", sel)[:12]
        now = int(time.time() * 1000)
        db = sqlite3.connect(os.path.join(self.srv.data, "meta.db"), timeout=30)
        try:
            with db:
                db.execute("INSERT INTO dash_logins (sel, hash, account_id, created_ms, "
                           "expires_ms) VALUES (?, ?, ?, ?, ?)",
                           (sel, hashlib.sha256(verifier.encode()).digest(),
                            int(self.acct["account_id"]), now - 360000, now - 60000))
        finally:
            db.close()
        link = "%s/login?token=%s%s" % (self.base, sel, verifier)
        out, err = self.curl(link)
        self.assertEqual(self.status(err), 403)
        self.assertIn("expired", out)
        # The same row with an expiry ahead works: the refusal was the expiry.
        db = sqlite3.connect(os.path.join(self.srv.data, "meta.db"), timeout=30)
        try:
            with db:
                db.execute("UPDATE dash_logins SET expires_ms = ? WHERE sel = ?",
                           (now + 300000, sel))
        finally:
            db.close()
        _, err = self.curl(link)
        self.assertEqual(self.status(err), 303)

    def test_account_by_id_and_default_url(self):
        out = self.coffer("dashboard", "--account", "%012d" % int(self.acct["account_id"]))
        self.assertRegex(out.stdout.strip(), r"^https://127\.0\.0\.1:9001/login\?token=")
        conf = os.path.join(self.srv.data, "cofferd.conf")
        kept = open(conf).read() if os.path.exists(conf) else None  # the PostgreSQL run's
        with open(conf, "w") as f:
            f.write((kept or "") +
                    "listen = 127.0.0.1:1\nadmin-listen = 0.0.0.0:%d\n" % self.admin_port)
        try:
            out = self.coffer("dashboard", "--account", self.name)
            self.assertRegex(out.stdout.strip(),
                             r"^https://127\.0\.0\.1:%d/login\?token=" % self.admin_port)
        finally:
            if kept is None:
                os.unlink(conf)
            else:
                with open(conf, "w") as f:
                    f.write(kept)
        r = self.coffer("dashboard", "--account", "no-such-account", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no such account", r.stderr)
        r = self.coffer("dashboard", "--account", self.name, "--url", "ftp://x", check=False)
        self.assertEqual(r.returncode, 1)


if __name__ == "__main__":
    unittest.main()
