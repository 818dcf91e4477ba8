"""The README's three-gateway example, run: scripts/gateways.sh starts three cofferd gateways on
one store (a fresh PostgreSQL database, one blob directory, one master key) behind haproxy,
which balances each request round-robin and takes a gateway out when its /health/ready stops
answering. boto3 through haproxy: every gateway serves requests; after one gateway is killed
(kill -9), every request still succeeds, on the two others. Runs on the PostgreSQL run
(E2E_META_PG) when haproxy is installed (bash scripts/deps.sh --pg)."""

import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import boto3
from botocore.config import Config

import lib
from lib import REGION

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "gateways.sh")


def served(gwdir, i):
    with open(os.path.join(gwdir, "gw%d" % i, "cofferd.log"), errors="replace") as f:
        return f.read().count('"status":')


@unittest.skipUnless(os.environ.get("E2E_META_PG") and shutil.which("haproxy"),
                     "needs the PostgreSQL run (E2E_META_PG) and haproxy")
class HaproxyThreeGatewaysTest(unittest.TestCase):
    def setUp(self):
        base = os.environ.get("E2E_TMP") or tempfile.gettempdir()
        self.root = tempfile.mkdtemp(prefix="haproxy.", dir=base)
        self.gwdir = os.path.join(self.root, "gw")
        self.conf = os.path.join(self.root, "coffer.conf")
        with open(self.conf, "w") as f:
            f.write("meta = %s\nblobs = %s\nmaster-key = %s/master.key\n"
                    % (lib.pg_meta(), lib.shared_blobs(self.root), self.root))
        self.env = dict(os.environ, BIN=os.path.abspath(lib.env().bin), COFFER_GW_DIR=self.gwdir)
        out = subprocess.run(["bash", SCRIPT, "start", "3", self.conf], env=self.env,
                             capture_output=True, text=True, timeout=120)
        self.addCleanup(self.stop)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.url = out.stdout.strip().splitlines()[-1]

    def stop(self):
        subprocess.run(["bash", SCRIPT, "stop"], env=self.env, capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)

    def test_three_gateways_one_killed(self):
        a = json.loads(subprocess.run(
            [os.path.join(lib.env().bin, "coffer"), "--config", self.conf, "--data",
             os.path.join(self.gwdir, "gw1"), "account", "create", "lb", "--json"],
            check=True, capture_output=True, text=True, timeout=60).stdout)
        s3 = boto3.client("s3", endpoint_url=self.url, aws_access_key_id=a["access_key_id"],
                          aws_secret_access_key=a["secret_access_key"], region_name=REGION,
                          config=Config(s3={"addressing_style": "path"},
                                        retries={"max_attempts": 1, "mode": "standard"}))
        s3.create_bucket(Bucket="lbtest")
        for i in range(30):
            s3.put_object(Bucket="lbtest", Key="k%d" % i, Body=b"v%d" % i)
        for i in range(30):
            self.assertEqual(s3.get_object(Bucket="lbtest", Key="k%d" % i)["Body"].read(),
                             b"v%d" % i)
        before = [served(self.gwdir, i) for i in (1, 2, 3)]
        self.assertTrue(all(n > 0 for n in before), before)
        subprocess.run(["bash", SCRIPT, "kill", "2"], env=self.env, check=True,
                       capture_output=True, timeout=30)
        time.sleep(2.5)  # two failed health checks, one a second
        for i in range(60):
            s3.put_object(Bucket="lbtest", Key="after%d" % i, Body=b"a%d" % i)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="lbtest", Prefix="after")["Contents"]]
        self.assertEqual(len(keys), 60)
        after = [served(self.gwdir, i) for i in (1, 2, 3)]
        self.assertEqual(after[1], before[1])
        self.assertGreater(after[0], before[0])
        self.assertGreater(after[2], before[2])


if __name__ == "__main__":
    unittest.main()
