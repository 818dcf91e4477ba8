"""meta.db's write lock held by another process (here: Python's sqlite3 with BEGIN IMMEDIATE on
the shared server's DIR/meta.db). Writes must answer 503 SlowDown within a few seconds (they
stalled 30-42 s, then got 500), reads go on meanwhile, writes work again once the lock is gone,
and the admin CLI, which opens the same database, still waits out a lock longer than the
server's wait instead of failing."""

import os
import sqlite3
import subprocess
import time
import unittest

from botocore.exceptions import ClientError

import lib
from lib import env

SERVER_WAIT_MAX = 5.0  # seconds a write may wait for the lock before 503 (cofferd waits 2)


@lib.sqlite_only
class MetaLockTest(lib.E2ETestCase):
    def test_r0011_write_lock_held_gives_503_slowdown_quickly(self):
        c = lib.client(retries={"total_max_attempts": 1, "mode": "standard"})
        bucket = lib.bucket_name("lock")
        c.create_bucket(Bucket=bucket)
        c.put_object(Bucket=bucket, Key="before", Body=b"before")
        db = sqlite3.connect(os.path.join(env().data, "meta.db"), timeout=30,
                             isolation_level=None)
        cli = None
        try:
            db.execute("BEGIN IMMEDIATE")
            # The admin CLI starts waiting for the same lock now...
            cli = subprocess.Popen(
                [os.path.join(env().bin, "coffer"), "--data", env().data, "account", "create",
                 "lock-%s" % lib.rand_suffix(6), "--json"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for op, kw in (("put_object", {"Key": "during", "Body": b"x"}),
                           ("delete_object", {"Key": "before"})):
                t0 = time.time()
                with self.assertRaises(ClientError) as cm:
                    getattr(c, op)(Bucket=bucket, **kw)
                took = time.time() - t0
                r = cm.exception.response
                self.assertEqual((r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]),
                                 (503, "SlowDown"), repr(r))
                self.assertEqual(r["Error"]["Message"], "Please reduce your request rate.")
                self.assertLess(took, SERVER_WAIT_MAX, "%s waited %.1f s" % (op, took))
            # Reads do not need the lock.
            t0 = time.time()
            self.assertEqual(c.get_object(Bucket=bucket, Key="before")["Body"].read(), b"before")
            self.assertLess(time.time() - t0, 1.0)
            # ...and is still waiting, past the server's own wait.
            self.assertIsNone(cli.poll(), "the admin CLI gave up on a lock held for seconds")
        finally:
            db.execute("ROLLBACK")
            db.close()
        out, err = cli.communicate(timeout=60)
        self.assertEqual(cli.returncode, 0, err)
        self.assertIn("access_key_id", out)
        c.put_object(Bucket=bucket, Key="after", Body=b"after")
        self.assertEqual(c.get_object(Bucket=bucket, Key="after")["Body"].read(), b"after")
        lib.delete_bucket(c, bucket)


if __name__ == "__main__":
    unittest.main()
