"""Object data in a Ceph RADOS pool (--blobs rados://, store/blob_rados.c), opt-in.

Runs only with E2E_RADOS=1 (this module then starts its own cluster with scripts/ceph.sh,
about 8 s, and stops it at the end) or with COFFER_TEST_RADOS_CONF naming a running cluster's
ceph.conf (`eval "$(scripts/ceph.sh env)"`). Either way it makes a pool of its own, so the
start-up orphan sweep of its cofferd never sees another user's objects, and removes it after.

Real boto3 traffic on a cofferd with --blobs rados://POOL?conf=...: small objects stay inline
(no RADOS object), large ones become 4 MiB chunk objects; multipart; ranged GETs across chunk
and part boundaries; an overwrite's and a deleted version's data reclaimed from the pool after
the (short) --reclaim-grace; versioning with plain deletes (delete markers, version deletes);
orphans removed at start-up; the coffer CLI with --blobs (backup reads from RADOS, a bad URL is
refused); and, on a cluster this module started, a stopped OSD turns a PUT into 503 SlowDown
within the URL's timeout instead of a hang."""

import hashlib
import http.client
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import unittest

import lib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CEPH_SH = os.path.join(ROOT, "scripts", "ceph.sh")
MiB = 1024 * 1024
CHUNK = 4 * MiB
GRACE = 2  # --reclaim-grace of this module's server

WANTED = os.environ.get("E2E_RADOS") == "1" or bool(os.environ.get("COFFER_TEST_RADOS_CONF"))


def data(n, seed):
    """n deterministic bytes of seed."""
    out = bytearray()
    block = hashlib.sha256(b"%d" % seed).digest()
    while len(out) < n:
        out += block
        block = hashlib.sha256(block).digest()
    return bytes(out[:n])


@unittest.skipUnless(WANTED, "RADOS tests are opt-in: E2E_RADOS=1 or COFFER_TEST_RADOS_CONF")
class RadosTest(lib.E2ETestCase):
    own_cluster = False

    @classmethod
    def setUpClass(cls):
        base = os.environ.get("E2E_TMP") or tempfile.gettempdir()
        cls.root = tempfile.mkdtemp(prefix="rados.", dir=base)
        cls.conf = os.environ.get("COFFER_TEST_RADOS_CONF", "")
        if not cls.conf:
            cls.ceph_env = dict(os.environ, COFFER_CEPH_DIR=os.path.join(cls.root, "ceph"))
            out = subprocess.run(["bash", CEPH_SH, "start"], env=cls.ceph_env, check=True,
                                 capture_output=True, text=True, timeout=300)
            cls.conf = out.stdout.strip().splitlines()[-1]
            cls.own_cluster = True
        cls.pool = "coffer-e2e-" + lib.rand_suffix(6)
        cls.ceph("osd", "pool", "create", cls.pool, "8", "8")
        end = time.time() + 120
        while True:  # ready once its placement groups take a write
            r = subprocess.run("echo probe | rados -c %s -p %s put probe - && rados -c %s -p %s rm probe"
                               % (cls.conf, cls.pool, cls.conf, cls.pool), shell=True,
                               capture_output=True, timeout=60)
            if r.returncode == 0:
                break
            if time.time() > end:
                raise RuntimeError("pool %s not writable: %s" % (cls.pool, r.stderr))
            time.sleep(0.5)
        cls.url = "rados://%s?conf=%s&timeout=3" % (cls.pool, cls.conf)
        cls.data = os.path.join(cls.root, "data")
        os.makedirs(cls.data)
        cls.srv = lib.Server(lib.env().bin, cls.data, log=os.path.join(cls.root, "cofferd.log"),
                             args=["--blobs", cls.url, "--reclaim-grace", str(GRACE)])
        cls.srv.start(timeout=60)
        acct = lib.create_account(lib.env().bin, cls.data, "rados")
        cls.ak, cls.sk = acct["access_key_id"], acct["secret_access_key"]
        cls.c = lib.client(ak=cls.ak, sk=cls.sk, endpoint=cls.srv.http)

    @classmethod
    def tearDownClass(cls):
        cls.srv.kill()
        report = cls.srv.sanitizer_report()
        try:
            cls.ceph("osd", "pool", "delete", cls.pool, cls.pool, "--yes-i-really-really-mean-it")
        except Exception:
            pass
        if cls.own_cluster:
            subprocess.run(["bash", CEPH_SH, "stop"], env=cls.ceph_env, timeout=120)
        shutil.rmtree(cls.root, ignore_errors=True)
        if report:
            raise AssertionError("sanitizer report in cofferd log:\n" + report)

    # ---- helpers ----------------------------------------------------------------------------

    @classmethod
    def ceph(cls, *args):
        return subprocess.run(["ceph", "-c", cls.conf, "--connect-timeout", "20"] + list(args),
                              check=True, capture_output=True, text=True, timeout=60).stdout

    def rados(self, *args, stdin=None):
        return subprocess.run(["rados", "-c", self.conf, "-p", self.pool] + list(args),
                              check=True, capture_output=True, timeout=60, input=stdin).stdout

    def objects(self):
        return set(self.rados("ls").decode().split())

    def coffer(self, *args):
        return subprocess.run([os.path.join(lib.env().bin, "coffer"), "--data", self.data]
                              + list(args), capture_output=True, text=True, timeout=120)

    def bucket(self, tag, versioned=False):
        b = lib.bucket_name(tag)
        self.c.create_bucket(Bucket=b)
        if versioned:
            self.c.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        return b

    def get(self, b, k, rng=None, vid=None):
        kw = {"Bucket": b, "Key": k}
        if rng:
            kw["Range"] = rng
        if vid:
            kw["VersionId"] = vid
        return self.c.get_object(**kw)["Body"].read()

    def wait_gone(self, names, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            left = names & self.objects()
            if not left:
                return
            time.sleep(0.5)
        self.fail("still in the pool after %ds: %s" % (timeout, sorted(left)))

    # ---- tests ------------------------------------------------------------------------------

    def test_small_inline_large_chunked(self):
        b = self.bucket("rsize")
        before = self.objects()
        self.c.put_object(Bucket=b, Key="small", Body=b"x" * 1000)
        self.assertEqual(self.objects(), before, "an inline object must not reach RADOS")
        self.assertEqual(self.get(b, "small"), b"x" * 1000)

        body = data(10 * MiB + 7, 1)
        self.c.put_object(Bucket=b, Key="big", Body=body)
        new = self.objects() - before
        heads = [n for n in new if len(n) == 32]
        self.assertEqual(len(heads), 1, new)
        self.assertEqual(new, {heads[0], heads[0] + ".00000001", heads[0] + ".00000002"})
        # The files backend's directory stays empty.
        self.assertEqual(sum(len(f) for _, _, f in os.walk(os.path.join(self.data, "blobs"))), 0)
        self.assertEqual(self.get(b, "big"), body)
        for rng, want in (("bytes=%d-%d" % (CHUNK - 100, CHUNK + 99), body[CHUNK - 100:CHUNK + 100]),
                          ("bytes=-100", body[-100:]),
                          ("bytes=9000000-", body[9000000:]),
                          ("bytes=0-0", body[:1])):
            self.assertEqual(self.get(b, "big", rng), want, rng)
        head = self.c.head_object(Bucket=b, Key="big")
        self.assertEqual(head["ContentLength"], len(body))

    def test_multipart(self):
        b = self.bucket("rmpu")
        parts = [data(5 * MiB, 10 + i) for i in range(3)] + [data(MiB + 3, 20)]
        uid = self.c.create_multipart_upload(Bucket=b, Key="mp")["UploadId"]
        done = []
        for i, p in enumerate(parts, 1):
            r = self.c.upload_part(Bucket=b, Key="mp", UploadId=uid, PartNumber=i, Body=p)
            done.append({"PartNumber": i, "ETag": r["ETag"]})
        self.c.complete_multipart_upload(Bucket=b, Key="mp", UploadId=uid,
                                         MultipartUpload={"Parts": done})
        whole = b"".join(parts)
        self.assertEqual(hashlib.md5(self.get(b, "mp")).hexdigest(), hashlib.md5(whole).hexdigest())
        edge = 5 * MiB
        self.assertEqual(self.get(b, "mp", "bytes=%d-%d" % (edge - 10, edge + 9)),
                         whole[edge - 10:edge + 10])
        self.assertEqual(self.get(b, "mp", "bytes=%d-%d" % (CHUNK - 1, 3 * edge + 1)),
                         whole[CHUNK - 1:3 * edge + 2])
        # An aborted upload's parts leave the pool at once (no reader could see them).
        before = self.objects()
        uid = self.c.create_multipart_upload(Bucket=b, Key="gone")["UploadId"]
        self.c.upload_part(Bucket=b, Key="gone", UploadId=uid, PartNumber=1, Body=data(5 * MiB, 30))
        parts_objs = self.objects() - before
        self.assertEqual(len(parts_objs), 2)
        self.c.abort_multipart_upload(Bucket=b, Key="gone", UploadId=uid)
        self.wait_gone(parts_objs)

    def test_overwrite_reclaimed(self):
        b = self.bucket("rover")
        before = self.objects()
        self.c.put_object(Bucket=b, Key="k", Body=data(5 * MiB, 40))
        old = self.objects() - before
        self.assertEqual(len(old), 2)
        new_body = data(6 * MiB, 41)
        self.c.put_object(Bucket=b, Key="k", Body=new_body)
        self.assertEqual(self.get(b, "k"), new_body)
        self.wait_gone(old, timeout=GRACE + 15)
        self.assertEqual(self.get(b, "k"), new_body)
        # A DELETE reclaims too.
        cur = self.objects() - before
        self.c.delete_object(Bucket=b, Key="k")
        self.wait_gone(cur, timeout=GRACE + 15)

    def test_versioning_plain_deletes(self):
        b = self.bucket("rver", versioned=True)
        before = self.objects()
        v1 = self.c.put_object(Bucket=b, Key="k", Body=data(5 * MiB, 50))["VersionId"]
        mid = self.objects()
        v1_objs = mid - before
        v2 = self.c.put_object(Bucket=b, Key="k", Body=data(200 * 1024, 51))["VersionId"]
        v2_objs = self.objects() - mid
        self.assertEqual(len(v1_objs), 2)
        self.assertEqual(len(v2_objs), 1)
        # A delete marker keeps both versions' data.
        dm = self.c.delete_object(Bucket=b, Key="k")
        self.assertTrue(dm.get("DeleteMarker"))
        time.sleep(GRACE + 2)
        self.assertTrue(v1_objs | v2_objs <= self.objects())
        self.assertEqual(self.get(b, "k", vid=v1), data(5 * MiB, 50))
        self.assertEqual(self.get(b, "k", vid=v2, rng="bytes=100-199"), data(200 * 1024, 51)[100:200])
        # Deleting a version (no MFA delete on this bucket) reclaims its data only.
        self.c.delete_object(Bucket=b, Key="k", VersionId=v1)
        self.wait_gone(v1_objs, timeout=GRACE + 15)
        self.assertTrue(v2_objs <= self.objects())
        self.c.delete_object(Bucket=b, Key="k", VersionId=dm["VersionId"])
        self.assertEqual(self.get(b, "k"), data(200 * 1024, 51))

    @unittest.skipIf(os.environ.get("E2E_META_PG"),
                     "coffer backup copies an embedded store (refused on PostgreSQL)")
    def test_cli_with_blobs(self):
        b = self.bucket("rcli")
        body = data(5 * MiB + 11, 60)
        self.c.put_object(Bucket=b, Key="k", Body=body)
        to = os.path.join(self.root, "backup-" + lib.rand_suffix(4))
        r = self.coffer("--blobs", self.url, "backup", "--to", to)
        self.assertEqual(r.returncode, 0, r.stderr)
        files = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(to, "blobs")) for f in fs]
        self.assertTrue(any(open(p, "rb").read() == body for p in files),
                        "the backup holds the object's data read from RADOS")
        # Without --blobs the CLI looks at DIR/blobs and finds no data to copy.
        to2 = to + "-files"
        r = self.coffer("backup", "--to", to2)
        self.assertNotEqual(r.returncode, 0)
        r = self.coffer("--blobs", "rados://%s?conf=%s&user=x" % (self.pool, self.conf),
                        "backup", "--to", to + "-bad")
        self.assertEqual(r.returncode, 1)
        self.assertIn("unknown parameter 'user'", r.stderr)
        r = self.coffer("--blobs", "rados://no-such-pool-x?conf=%s" % self.conf,
                        "upload", "abort", "--older-than", "1d")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cannot open RADOS pool 'no-such-pool-x'", r.stderr)
        r = self.coffer("--blobs", self.url, "upload", "abort", "--older-than", "1d")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_config_file_blobs(self):
        """'blobs = URL' in --config works as --blobs does; /health/ready asks the pool."""
        admin_port = lib.free_port()
        srv = lib.Server(lib.env().bin, tag="rados-conf", args=[
            "--reclaim-grace", str(GRACE), "--admin-listen", "127.0.0.1:%d" % admin_port])
        try:
            conf = os.path.join(srv.root, "cofferd.conf")
            with open(conf, "w") as f:
                f.write("# data in RADOS\nblobs = %s\n" % self.url)
            srv.args += ["--config", conf]
            srv.start(timeout=60)
            ak = srv.account("rconf")
            c = lib.client(ak=ak["access_key_id"], sk=ak["secret_access_key"], endpoint=srv.http)
            c.create_bucket(Bucket="rconf")
            before = self.objects()
            body = data(300 * 1024, 90)
            c.put_object(Bucket="rconf", Key="k", Body=body)
            self.assertEqual(len(self.objects() - before), 1)
            self.assertEqual(c.get_object(Bucket="rconf", Key="k")["Body"].read(), body)
            ctx = ssl.create_default_context(cafile=os.path.join(srv.data, "tls", "ca.pem"))
            ctx.check_hostname = False
            conn = http.client.HTTPSConnection("127.0.0.1", admin_port, timeout=30, context=ctx)
            conn.request("GET", "/health/ready")
            r = conn.getresponse()
            self.assertEqual((r.status, r.read()), (200, b"ready\n"))
            conn.close()
        finally:
            srv.kill()
            srv.close()

    def test_namespace_keeps_stores_apart(self):
        """ns= puts a second store's objects in a namespace of their own in the same pool: its
        start-up sweep (an embedded store's: everything it does not reference) lists only
        that namespace, so the first store's data survives it, and neither sees the other's."""
        b = self.bucket("rns")
        body = data(300 * 1024, 91)
        self.c.put_object(Bucket=b, Key="k", Body=body)
        ns = "store-" + lib.rand_suffix(6)
        d = os.path.join(self.root, "ns-data")
        os.makedirs(d)
        srv = lib.Server(lib.env().bin, d, log=os.path.join(self.root, "ns.log"), args=[
            "--meta", "sqlite:" + os.path.join(d, "meta.db"), "--blobs", self.url + "&ns=" + ns])
        try:
            srv.start(timeout=60)
            self.assertEqual(self.get(b, "k"), body)
            ak = srv.account("rns")
            c = lib.client(ak=ak["access_key_id"], sk=ak["secret_access_key"], endpoint=srv.http)
            c.create_bucket(Bucket="rns")
            other = data(300 * 1024, 92)
            c.put_object(Bucket="rns", Key="k", Body=other)
            theirs = set(self.rados("-N", ns, "ls").decode().split())
            self.assertEqual(len(theirs), 1)
            self.assertFalse(theirs & self.objects())
            srv.restart(timeout=60)  # its sweep again, now with data of its own
            self.assertEqual(c.get_object(Bucket="rns", Key="k")["Body"].read(), other)
            self.assertEqual(self.get(b, "k"), body)
        finally:
            srv.kill()
            srv.close()
            for o in self.rados("-N", ns, "ls").decode().split():
                self.rados("-N", ns, "rm", o)

    @unittest.skipIf(os.environ.get("E2E_META_PG"),
                     "a shared store's start-up sweep removes only data a day old "
                     "(other gateways may be writing)")
    def test_zz_orphans_removed_at_start(self):
        b = self.bucket("rorph")
        body = data(5 * MiB, 70)
        self.c.put_object(Bucket=b, Key="k", Body=body)
        orphan = os.urandom(16).hex()
        self.rados("put", orphan, "-", stdin=b"left by a crashed writer")
        self.rados("put", orphan + ".00000001", "-", stdin=b"and its second chunk")
        self.rados("put", "not-a-coffer-object", "-", stdin=b"someone else's")
        self.srv.restart(timeout=60)
        objs = self.objects()
        self.assertNotIn(orphan, objs)
        self.assertNotIn(orphan + ".00000001", objs)
        self.assertIn("not-a-coffer-object", objs)
        self.assertEqual(self.get(b, "k"), body)

    def test_zzz_stopped_osd_is_503(self):
        if not self.own_cluster:
            self.skipTest("needs a cluster of its own (E2E_RADOS=1 without COFFER_TEST_RADOS_CONF)")
        b = self.bucket("rslow")
        pid = int(open(os.path.join(self.ceph_env["COFFER_CEPH_DIR"], "pids", "osd.0.pid")).read())
        os.kill(pid, signal.SIGSTOP)
        try:
            t0 = time.time()
            with self.assertRaises(lib.ClientError) as cm:
                self.c.put_object(Bucket=b, Key="k", Body=data(5 * MiB, 80))
            took = time.time() - t0
            self.assertEqual(cm.exception.response["Error"]["Code"], "SlowDown")
            self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 503)
            self.assertLess(took, 15)
        finally:
            os.kill(pid, signal.SIGCONT)
        body = data(5 * MiB, 81)
        end = time.time() + 60
        while True:  # the OSD answers again
            try:
                self.c.put_object(Bucket=b, Key="k", Body=body)
                break
            except lib.ClientError:
                if time.time() > end:
                    raise
                time.sleep(1)
        self.assertEqual(self.get(b, "k"), body)


if __name__ == "__main__":
    unittest.main()


class BlobsOptionTest(lib.E2ETestCase):
    """--blobs without a cluster: file:PATH, and bad URLs refused at start (always runs)."""

    def test_file_path(self):
        srv = lib.Server(lib.env().bin, tag="blobs-file")
        try:
            objs = os.path.join(srv.root, "objects")
            srv.args += ["--blobs", "file:" + objs]
            srv.start()
            ak = srv.account("bfile")
            c = lib.client(ak=ak["access_key_id"], sk=ak["secret_access_key"], endpoint=srv.http)
            c.create_bucket(Bucket="bfile")
            body = data(200 * 1024, 3)
            c.put_object(Bucket="bfile", Key="k", Body=body)
            files = [f for d, _, fs in os.walk(objs) for f in fs if ".tmp" not in d]
            self.assertEqual(len(files), 1)
            self.assertEqual(sum(len(f) for _, _, f in os.walk(os.path.join(srv.data, "blobs"))), 0)
            self.assertEqual(c.get_object(Bucket="bfile", Key="k")["Body"].read(), body)
            # The CLI needs the same --blobs to see the data (backup: embedded stores only).
            if os.environ.get("E2E_META_PG"):
                return
            coffer = os.path.join(lib.env().bin, "coffer")
            to = os.path.join(srv.root, "bk")
            r = subprocess.run([coffer, "--data", srv.data, "--blobs", "file:" + objs, "backup",
                                "--to", to], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            srv.kill()
            srv.close()

    def test_bad_url_refused(self):
        for url, says in (("rados://coffer", "conf=CEPH_CONF is required"),
                          ("rados://coffer?conf=/x&pool=y", "unknown parameter 'pool'"),
                          ("s3://bucket", "unknown kind")):
            srv = lib.Server(lib.env().bin, tag="blobs-bad", args=["--blobs", url])
            try:
                srv.spawn()
                self.assertEqual(srv.proc.wait(30), 2, url)
                self.assertIn(says, srv.log_tail())
                # Refused before anything was created in the data directory (but the
                # PostgreSQL run's cofferd.conf).
                self.assertEqual([f for f in os.listdir(srv.data) if f != "cofferd.conf"], [])
            finally:
                srv.close()
