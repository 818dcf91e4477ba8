"""Two cofferd gateways on one shared store (issue 17): metadata in one PostgreSQL database,
object data in one directory, the same master key, each gateway with its own data directory
and ports. Runs on the PostgreSQL run only (E2E_META_PG, scripts/pg.sh); the embedded store is
one cofferd's.

- one key written 2 x 500 times at once through both gateways: every acknowledged version is
  listed exactly once, each writer's versions in the order it got them acknowledged, one latest,
  GET returns the latest's body, and PostgreSQL rolled back none of the transactions (the two
  gateways' groups take turns); the same race on an unversioned key, read all along;
- GETs and HEADs through one gateway stay right while the other changes the bucket's row;
- an MFA code accepted by one gateway is refused by the other (the replay burn is one row);
- settings changed through one gateway hold on the other at the next request (versioning,
  a bucket policy, a deleted access key), on every one of its workers: each keeps the key,
  account and bucket rows it read, and must drop them when another gateway changes one;
- background work runs on one gateway at a time: lifecycle expirations are done by one of the
  two, and by the other once that one is killed.
"""

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

import lib
import mfa_lib
from lib import REGION

PG = os.environ.get("E2E_META_PG")
N_PUTS = 500  # per gateway: 1,000 writes of one key


def _client(service, srv, ak, sk, token=None, https=False, validate=True):
    return boto3.session.Session().client(
        service, endpoint_url=srv.https if https else srv.http, aws_access_key_id=ak,
        aws_secret_access_key=sk, aws_session_token=token, region_name=REGION,
        verify=srv.ca if https else None,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      parameter_validation=validate,
                      retries={"max_attempts": 1, "mode": "standard"}))


@unittest.skipUnless(PG, "needs the PostgreSQL run (E2E_META_PG, scripts/pg.sh)")
class TwoGatewaysTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        base = os.environ.get("E2E_TMP") or tempfile.gettempdir()
        cls.root = tempfile.mkdtemp(prefix="gateways.", dir=base)
        blobs = lib.shared_blobs(cls.root)
        key = os.path.join(cls.root, "master.key")
        meta = cls.meta = lib.pg_meta()
        cls.gw = []
        for i in range(2):
            data = os.path.join(cls.root, "gw%d" % i)
            os.makedirs(data)
            conf = os.path.join(data, "cofferd.conf")
            with open(conf, "w") as f:
                f.write("meta = %s\nblobs = %s\nmaster-key = %s\n" % (meta, blobs, key))
            # Lifecycle days of 4 s, a pass every second (test_background_work_...).
            srv = lib.Server(data=data, log=os.path.join(cls.root, "gw%d.log" % i),
                             args=["--config", conf, "--lifecycle-day", "4",
                                   "--lifecycle-interval", "1"])
            srv.start()
            cls.gw.append(srv)
        cls.acct = cls.gw[0].account("gw-" + lib.rand_suffix(6))
        cls.s3 = [_client("s3", g, cls.acct["access_key_id"], cls.acct["secret_access_key"])
                  for g in cls.gw]

    @classmethod
    def tearDownClass(cls):
        for g in cls.gw:
            g.close()
        shutil.rmtree(cls.root, ignore_errors=True)

    def _rollbacks(self):
        """Transactions PostgreSQL rolled back in the store's database so far (serialization
        failures, deadlocks), from its statistics, which a backend reports within a second of
        going idle."""
        time.sleep(2)
        out = subprocess.run(["psql", "-At", self.meta, "-c",
                              "SELECT xact_rollback FROM pg_stat_database "
                              "WHERE datname = current_database()"],
                             check=True, capture_output=True, text=True, timeout=60)
        return int(out.stdout)

    def test_one_key_many_writers(self):
        b = lib.bucket_name("gw-race")
        self.s3[0].create_bucket(Bucket=b)
        self.s3[1].put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        rollbacks = self._rollbacks()
        acked = [[], []]
        errors = []

        def writer(i):
            c = _client("s3", self.gw[i], self.acct["access_key_id"],
                        self.acct["secret_access_key"])
            try:
                for n in range(N_PUTS):
                    r = c.put_object(Bucket=b, Key="k", Body=b"gw%d-%d" % (i, n))
                    acked[i].append(r["VersionId"])
            except Exception as e:  # reported below, with how far the writer got
                errors.append((i, len(acked[i]), e))

        th = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
        for t in th:
            t.start()
        for t in th:
            t.join()
        self.assertEqual(errors, [])
        # The groups of the two gateways took turns (the counters table's lock, taken before
        # their snapshots): none failed for a serialization failure and ran again.
        self.assertEqual(self._rollbacks() - rollbacks, 0)
        listed = []
        for page in self.s3[1].get_paginator("list_object_versions").paginate(Bucket=b):
            listed += page.get("Versions", [])
        ids = [v["VersionId"] for v in listed]  # newest first
        self.assertEqual(len(ids), 2 * N_PUTS)
        self.assertEqual(sorted(ids), sorted(acked[0] + acked[1]))
        pos = {v: n for n, v in enumerate(ids)}
        for i in range(2):
            where = [pos[v] for v in acked[i]]
            self.assertEqual(where, sorted(where, reverse=True),
                             "gateway %d's versions out of acknowledged order" % i)
        latest = [v for v in listed if v["IsLatest"]]
        self.assertEqual(len(latest), 1)
        self.assertEqual(latest[0]["VersionId"], ids[0])
        self.assertIn(ids[0], (acked[0][-1], acked[1][-1]))
        for c in self.s3:
            got = c.get_object(Bucket=b, Key="k")
            self.assertEqual(got["VersionId"], ids[0])
        body = self.s3[0].get_object(Bucket=b, Key="k", VersionId=ids[0])["Body"].read()
        i = 0 if ids[0] == acked[0][-1] else 1
        self.assertEqual(body, b"gw%d-%d" % (i, N_PUTS - 1))

    def test_one_null_version_many_writers(self):
        # An unversioned bucket: each PUT removes the key's null version and inserts the new
        # one in its transaction, the insert sent without waiting for it (md_version_insert()).
        # Two gateways replacing one key at once conflict; the loser's whole group runs again.
        # A reader on both gateways must never miss the key (an insert lost after its delete
        # committed would make it vanish), and at the end exactly one version is left.
        b = lib.bucket_name("gw-null")
        self.s3[0].create_bucket(Bucket=b)
        self.s3[0].put_object(Bucket=b, Key="k", Body=b"first")
        acked = [[], []]
        errors, missing = [], []
        done = threading.Event()

        def writer(i):
            c = _client("s3", self.gw[i], self.acct["access_key_id"],
                        self.acct["secret_access_key"])
            try:
                for n in range(N_PUTS // 2):
                    c.put_object(Bucket=b, Key="k", Body=b"gw%d-%d" % (i, n))
                    acked[i].append(n)
            except Exception as e:  # reported below, with how far the writer got
                errors.append((i, len(acked[i]), e))

        def reader(i):
            c = _client("s3", self.gw[i], self.acct["access_key_id"],
                        self.acct["secret_access_key"])
            while not done.is_set():
                try:
                    c.head_object(Bucket=b, Key="k")
                except ClientError as e:
                    missing.append((i, e.response["Error"]["Code"]))

        ws = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
        rs = [threading.Thread(target=reader, args=(i,)) for i in range(2)]
        for t in ws + rs:
            t.start()
        for t in ws:
            t.join()
        done.set()
        for t in rs:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(missing, [])
        vs = self.s3[1].list_object_versions(Bucket=b).get("Versions", [])
        self.assertEqual([(v["Key"], v["VersionId"], v["IsLatest"]) for v in vs],
                         [("k", "null", True)])
        body = self.s3[1].get_object(Bucket=b, Key="k")["Body"].read()
        self.assertIn(body, (b"gw0-%d" % (N_PUTS // 2 - 1), b"gw1-%d" % (N_PUTS // 2 - 1)))

    def _log(self, i):
        with open(self.gw[i].log, errors="replace") as f:
            return f.read()

    def _expire_all(self, c, b, keys, timeout=40):
        for k in keys:
            c.put_object(Bucket=b, Key=k, Body=b"x")
        deadline = time.time() + timeout
        while time.time() < deadline:
            if c.list_objects_v2(Bucket=b).get("KeyCount", 0) == 0:
                return
            time.sleep(0.5)
        self.fail("objects not expired after %ss" % timeout)

    def test_background_work_on_one_gateway(self):
        b = lib.bucket_name("gw-lc")
        self.s3[0].create_bucket(Bucket=b)
        self.s3[0].put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={
            "Rules": [{"ID": "gone", "Status": "Enabled", "Filter": {"Prefix": ""},
                       "Expiration": {"Days": 1}}]})
        self._expire_all(self.s3[1], b, ["a", "b", "c"])
        took = "now runs the lifecycle executor"
        runs = [self._log(i).count("lifecycle: ") for i in range(2)]
        leaders = [i for i in range(2) if took in self._log(i)]
        self.assertEqual(len(leaders), 1, "lifecycle lease taken by %r" % leaders)
        lead = leaders[0]
        self.assertGreater(runs[lead], 0)
        self.assertEqual(runs[1 - lead], 0, "the other gateway ran passes too")
        # The leader dies: the other gateway takes the work over.
        self.gw[lead].kill()
        try:
            self._expire_all(self.s3[1 - lead], b, ["d", "e"])
            self.assertIn(took, self._log(1 - lead))
        finally:
            self.gw[lead].start(keep_ports=True)

    def test_mfa_code_accepted_once_across_gateways(self):
        ak, sk = self.acct["access_key_id"], self.acct["secret_access_key"]
        iam = _client("iam", self.gw[0], ak, sk, https=True, validate=False)
        d = iam.create_virtual_mfa_device(
            VirtualMFADeviceName="gw-" + lib.rand_suffix(6))["VirtualMFADevice"]
        seed = d["Base32StringSeed"]
        seed = seed.decode() if isinstance(seed, bytes) else seed
        mfa_lib.ensure_margin()
        s = mfa_lib.cur_step()
        iam.enable_mfa_device(SerialNumber=d["SerialNumber"],
                              AuthenticationCode1=mfa_lib.totp(seed, s - 1),
                              AuthenticationCode2=mfa_lib.totp(seed, s))
        mfa_lib.wait_next_step()  # enabling burned step s
        code = mfa_lib.totp(seed, mfa_lib.cur_step())
        sts = [_client("sts", g, ak, sk, https=True) for g in self.gw]
        cr = sts[0].get_session_token(DurationSeconds=900, SerialNumber=d["SerialNumber"],
                                      TokenCode=code)["Credentials"]
        self.assertTrue(cr["SessionToken"])
        with self.assertRaises(ClientError) as cm:
            sts[1].get_session_token(DurationSeconds=900, SerialNumber=d["SerialNumber"],
                                     TokenCode=code)
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")

    def _user_key(self, prefix):
        """An IAM user made through gateway 0 with AmazonS3FullAccess and an access key: the
        IAM client, the user's name, the key."""
        iam = _client("iam", self.gw[0], self.acct["access_key_id"],
                      self.acct["secret_access_key"], https=True)
        user = prefix + lib.rand_suffix(6)
        iam.create_user(UserName=user)
        iam.attach_user_policy(UserName=user,
                               PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess")
        return iam, user, iam.create_access_key(UserName=user)["AccessKey"]

    def test_settings_hold_on_the_other_gateway(self):
        b = lib.bucket_name("gw-set")
        self.s3[0].create_bucket(Bucket=b)
        self.s3[0].put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        v1 = self.s3[1].put_object(Bucket=b, Key="x", Body=b"1")["VersionId"]
        self.assertNotEqual(v1, "null")
        deny = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::%s/*" % b}]}
        self.s3[1].put_bucket_policy(Bucket=b, Policy=json.dumps(deny))
        with self.assertRaises(ClientError) as cm:
            self.s3[0].get_object(Bucket=b, Key="x")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")
        self.s3[0].delete_bucket_policy(Bucket=b)
        self.assertEqual(self.s3[1].get_object(Bucket=b, Key="x")["Body"].read(), b"1")
        # A deleted access key stops working on both gateways at once.
        iam, user, k = self._user_key("gw-u-")
        u = [_client("s3", g, k["AccessKeyId"], k["SecretAccessKey"]) for g in self.gw]
        for c in u:
            c.head_object(Bucket=b, Key="x")
        iam.delete_access_key(UserName=user, AccessKeyId=k["AccessKeyId"])
        for c in u:
            with self.assertRaises(ClientError) as cm:
                c.head_object(Bucket=b, Key="x")
            self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)

    def _on_many_workers(self, fn, n=192, threads=16):
        """fn(i) n times from threads clients at once (so that most of a gateway's workers
        serve some); the list of results."""
        out = [None] * n

        def run(t):
            for i in range(t, n, threads):
                out[i] = fn(i)
        ts = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return out

    def test_cached_rows_dropped_on_every_worker(self):
        # Gateway 1's workers read the bucket and the key on every request and keep the rows
        # (md_pg_stmt.c's row cache); changes made through gateway 0 touch no policy, so only
        # the store's triggers tell gateway 1 they happened.
        b = lib.bucket_name("gw-cache")
        self.s3[0].create_bucket(Bucket=b)
        self.s3[0].put_object(Bucket=b, Key="x", Body=b"1")
        iam, user, k = self._user_key("gw-c-")
        clients = [_client("s3", self.gw[1], k["AccessKeyId"], k["SecretAccessKey"])
                   for _ in range(16)]

        def status(i):
            return clients[i % 16].get_bucket_versioning(Bucket=b).get("Status", "")
        self.assertEqual(set(self._on_many_workers(status)), {""})
        self.s3[0].put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        self.assertEqual(set(self._on_many_workers(status)), {"Enabled"})

        iam.delete_access_key(UserName=user, AccessKeyId=k["AccessKeyId"])

        def refused(i):
            try:
                clients[i % 16].head_object(Bucket=b, Key="x")
                return 200
            except ClientError as e:
                return e.response["ResponseMetadata"]["HTTPStatusCode"]
        self.assertEqual(set(self._on_many_workers(refused)), {403})

    def test_reads_right_while_settings_change(self):
        # A GET's version row is read with the first round trip of its snapshot, for the bucket
        # the worker's kept row names, and that round trip also ends the transaction when the
        # policy generation is the one the worker last saw (md_pg_stmt.c). Here gateway 0
        # changes the bucket's row all the time (each change moves the generation), while
        # gateway 1 serves GETs and HEADs with three access keys at once, so its workers keep
        # meeting a generation that moved and keys they have not kept. Every answer must be the
        # right object; 503 SlowDown (a change between two of the request's round trips) is
        # the only refusal allowed.
        b = lib.bucket_name("gw-churn")
        self.s3[0].create_bucket(Bucket=b)
        bodies = {"k%d" % i: b"body-%d-" % i * (i + 1) for i in range(8)}
        for k, v in bodies.items():
            self.s3[0].put_object(Bucket=b, Key=k, Body=v)
        keys = [(self.acct["access_key_id"], self.acct["secret_access_key"])]
        for n in range(2):
            k = self._user_key("gw-r%d-" % n)[2]
            keys.append((k["AccessKeyId"], k["SecretAccessKey"]))
        clients = [[_client("s3", self.gw[1], ak, sk) for ak, sk in keys] for _ in range(8)]
        stop = time.time() + 4
        changes = [0]
        wrong, right = [], [0]

        def churn():
            while time.time() < stop:
                self.s3[0].put_bucket_tagging(Bucket=b, Tagging={"TagSet": [
                    {"Key": "n", "Value": str(changes[0])}]})
                changes[0] += 1

        def reader(t):
            i = t
            while time.time() < stop:
                i += 1
                k, c = "k%d" % (i % 8), clients[t][i % 3]
                try:
                    if i % 4 == 0:
                        got = c.head_object(Bucket=b, Key=k)["ContentLength"]
                        want = len(bodies[k])
                    else:
                        got, want = c.get_object(Bucket=b, Key=k)["Body"].read(), bodies[k]
                except ClientError as e:
                    got, want = e.response["Error"]["Code"], "SlowDown"
                if got != want:
                    wrong.append((k, got))
                elif got != "SlowDown":
                    right[0] += 1

        ts = [threading.Thread(target=churn)] + [
            threading.Thread(target=reader, args=(t,)) for t in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(wrong, [])
        self.assertGreater(changes[0], 20)
        self.assertGreater(right[0], 200)


if __name__ == "__main__":
    unittest.main()
