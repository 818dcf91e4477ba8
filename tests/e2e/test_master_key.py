"""--master-key FILE and --meta URL (issue 17). Every gateway and `coffer` command of a store must
use the same master key: the store keeps a check value of it, so cofferd started with another key
exits 1 with a clear message in its log, and `coffer` with another key is refused. --meta
sqlite:PATH keeps the metadata elsewhere than DIR/meta.db, on cofferd and coffer alike;
a bad --meta URL is refused before anything is created, and an unreachable PostgreSQL stops
both binaries with a message naming it. A PostgreSQL store made before a PostgreSQL-only schema
step gets it when opened; one with steps this binary does not know is refused."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

import lib
from lib import env

MISMATCH = ("is not this store's (its check value differs); every gateway and coffer command "
            "of a store must use the same --master-key")


def coffer(*args):
    return subprocess.run([os.path.join(env().bin, "coffer")] + list(args), capture_output=True,
                          text=True, timeout=60)


def write_key(path, fill):
    with open(path, "wb") as f:
        f.write(bytes([fill]) * 32)
    os.chmod(path, 0o600)


@lib.sqlite_only
class MasterKeyTest(lib.E2ETestCase):
    def setUp(self):
        super().setUp()
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            report = s.close()
            self.assertEqual(report, "", report)
        super().tearDown()

    def server(self, **kw):
        s = lib.Server(tag="mkey", **kw)
        self.servers.append(s)
        return s

    def test_another_key_refused(self):
        a = self.server()
        a.start()
        acct = a.account("keyed")
        c = lib.client(ak=acct["access_key_id"], sk=acct["secret_access_key"], endpoint=a.http)
        bucket = lib.bucket_name("mkey")
        c.create_bucket(Bucket=bucket)
        c.put_object(Bucket=bucket, Key="k", Body=b"v")
        self.assertEqual(a.stop(), 0)

        # A copy of the store started with another key file: exit 1, the reason in its log,
        # and the key itself never logged.
        copy = os.path.join(a.root, "copy")
        shutil.copytree(a.data, copy, ignore=shutil.ignore_patterns("cofferd.lock"))
        other = os.path.join(a.root, "other.key")
        write_key(other, 0x5A)
        b = self.server(data=copy, args=["--master-key", other])
        b.spawn()
        self.assertEqual(b.proc.wait(30), 1, b.log_tail())
        log = open(b.log, encoding="utf-8", errors="replace").read()
        self.assertIn("the master key %s %s" % (other, MISMATCH), log)
        self.assertNotIn((b"\x5a" * 32).hex(), log.lower())

        # The copy's own DIR/master.key replaced by another key: refused the same way.
        write_key(os.path.join(copy, "master.key"), 0x11)
        b2 = self.server(data=copy)
        b2.spawn()
        self.assertEqual(b2.proc.wait(30), 1, b2.log_tail())
        self.assertIn("master.key %s" % MISMATCH, b2.log_tail())

        # coffer with another key is refused; with the store's own (named or default) it works.
        r = coffer("--data", a.data, "--master-key", other, "account", "list")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(MISMATCH, r.stderr)
        self.assertEqual(r.stdout, "")
        moved = os.path.join(a.root, "store.key")
        shutil.copy(os.path.join(a.data, "master.key"), moved)
        r = coffer("--data", a.data, "--master-key", moved, "account", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("keyed", r.stdout)

        # cofferd with the store's key under another name serves the data it sealed.
        a.args += ["--master-key", moved]
        a.start()
        c = lib.client(ak=acct["access_key_id"], sk=acct["secret_access_key"], endpoint=a.http)
        self.assertEqual(c.get_object(Bucket=bucket, Key="k")["Body"].read(), b"v")
        lib.delete_bucket(c, bucket)
        self.assertEqual(a.stop(), 0)

    def test_meta_elsewhere(self):
        a = self.server()
        meta_dir = os.path.join(a.root, "elsewhere")
        os.makedirs(meta_dir)
        url = "sqlite:" + os.path.join(meta_dir, "m.db")
        r = coffer("--data", a.data, "--meta", url, "account", "create", "far", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        acct = json.loads(r.stdout)
        a.args += ["--meta", url]
        a.start()
        c = lib.client(ak=str(acct["access_key_id"]), sk=str(acct["secret_access_key"]),
                       endpoint=a.http)
        bucket = lib.bucket_name("meta")
        c.create_bucket(Bucket=bucket)
        c.put_object(Bucket=bucket, Key="k", Body=b"far away")
        self.assertEqual(c.get_object(Bucket=bucket, Key="k")["Body"].read(), b"far away")
        self.assertTrue(os.path.exists(os.path.join(meta_dir, "m.db")))
        self.assertFalse(os.path.exists(os.path.join(a.data, "meta.db")))
        r = coffer("--data", a.data, "--meta", url, "account", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("far", r.stdout)
        lib.delete_bucket(c, bucket)
        self.assertEqual(a.stop(), 0)

        # The same store in a config file: meta = URL.
        conf = os.path.join(a.root, "cofferd.conf")
        with open(conf, "w") as f:
            f.write("meta = %s\n" % url)
        a.args = [x for x in a.args if x not in ("--meta", url)] + ["--config", conf]
        a.start()
        c = lib.client(ak=str(acct["access_key_id"]), sk=str(acct["secret_access_key"]),
                       endpoint=a.http)
        self.assertEqual(c.list_buckets()["Owner"]["ID"] != "", True)
        self.assertFalse(os.path.exists(os.path.join(a.data, "meta.db")))

        # One cofferd per metadata store: a second one with a data directory of its own (its
        # own DIR lock) on the same --meta is refused while the first runs.
        b = self.server(args=["--config", conf, "--master-key", os.path.join(a.data,
                                                                             "master.key")])
        b.spawn()
        self.assertEqual(b.proc.wait(30), 1)
        with open(b.log) as f:
            self.assertIn("another cofferd is running on this metadata store", f.read())
        self.assertEqual(a.stop(), 0)

    def test_meta_refused(self):
        a = self.server()
        for url, why in (("mysql://x", "unknown kind"), ("sqlite:", "sqlite:PATH")):
            r = subprocess.run([os.path.join(env().bin, "cofferd"), "--data", a.data, "--listen",
                                "127.0.0.1:%d" % lib.free_port(), "--meta", url],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(why, r.stderr)
            r = coffer("--data", a.data, "--meta", url, "account", "list")
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(why, r.stderr)
        # Nothing was created for a refused URL.
        self.assertEqual(os.listdir(a.data), [])

    def test_meta_postgresql_unreachable(self):
        a = self.server()
        url = "postgresql://coffer@127.0.0.1:%d/coffer?connect_timeout=5" % lib.free_port()
        r = subprocess.run([os.path.join(env().bin, "cofferd"), "--data", a.data, "--listen",
                            "127.0.0.1:%d" % lib.free_port(), "--meta", url],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cannot connect to PostgreSQL", r.stderr)
        r = coffer("--data", a.data, "--meta", url, "account", "list")
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertIn("cannot connect to PostgreSQL", r.stderr)


def psql(uri, sql):
    return subprocess.run(["psql", "-qAt", "-v", "ON_ERROR_STOP=1", uri, "-c", sql],
                          capture_output=True, text=True, timeout=60, check=True).stdout.strip()


@unittest.skipUnless(os.environ.get("E2E_META_PG"), "needs the PostgreSQL run (E2E_META_PG)")
class PgSchemaStepsTest(lib.E2ETestCase):
    TRIGGERS = ("SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger "
                "WHERE tgname LIKE '%_gen'")

    def test_older_store_gets_the_steps(self):
        uri = lib.pg_meta()
        data = tempfile.mkdtemp(prefix="steps.", dir=os.environ.get("E2E_TMP"))
        self.addCleanup(shutil.rmtree, data, True)
        r = coffer("--data", data, "--meta", uri, "account", "create", "steps")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(psql(uri, self.TRIGGERS), "accounts_gen,buckets_gen,keys_gen")
        # As a store made before step 1: no triggers, no step count.
        psql(uri, "DROP TRIGGER accounts_gen ON accounts; DROP TRIGGER keys_gen ON keys; "
                  "DROP TRIGGER buckets_gen ON buckets; DROP FUNCTION coffer_gen_bump(); "
                  "ALTER TABLE coffer_schema DROP COLUMN pg_step")
        r = coffer("--data", data, "--meta", uri, "account", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("steps", r.stdout)
        self.assertEqual(psql(uri, self.TRIGGERS), "accounts_gen,buckets_gen,keys_gen")
        self.assertEqual(psql(uri, "SELECT pg_step FROM coffer_schema"), "1")
        # Every change to a cached table moves the generation the row cache checks.
        gen = int(psql(uri, "SELECT value FROM counters WHERE name = 'policy_gen'"))
        r = coffer("--data", data, "--meta", uri, "account", "create", "steps2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreater(int(psql(uri, "SELECT value FROM counters WHERE name = 'policy_gen'")),
                           gen)
        # A role that may read and write the tables but owns none opens the store: nothing to
        # alter in an up-to-date one.
        role = "gw_" + lib.rand_suffix(8).lower()
        db = uri.rsplit("/", 1)[1]
        psql(uri, "CREATE ROLE %s LOGIN; GRANT CONNECT ON DATABASE %s TO %s; "
                  "GRANT USAGE ON SCHEMA public TO %s; "
                  "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %s; "
                  "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %s"
                  % (role, db, role, role, role, role))
        self.addCleanup(psql, uri, "DROP OWNED BY %s; DROP ROLE %s" % (role, role))
        r = coffer("--data", data, "--meta", uri.replace("//postgres@", "//%s@" % role),
                   "account", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("steps2", r.stdout)
        # Steps from a newer binary: refused, nothing changed.
        psql(uri, "UPDATE coffer_schema SET pg_step = 99")
        r = coffer("--data", data, "--meta", uri, "account", "list")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("has had 99 schema steps", r.stderr)


if __name__ == "__main__":
    unittest.main()
