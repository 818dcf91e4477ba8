"""librados is loaded only for rados:// (dlopen on first use, not linked): with librados.so.2
unusable (a private mount namespace binds /dev/null over it), cofferd and coffer still run on the
files backend, and --blobs rados://... fails with "rados:// needs librados (Debian package
librados2)". Needs root and unshare(1) for the mount namespace; skipped otherwise. No cluster."""

import glob
import os
import shutil
import subprocess
import tempfile
import unittest

import lib
from lib import env

NEEDS = "rados:// needs librados (Debian package librados2)"


def librados_paths():
    paths = set()
    for pat in ("/lib/*/librados.so.2", "/usr/lib/*/librados.so.2", "/usr/lib/librados.so.2"):
        paths.update(os.path.realpath(p) for p in glob.glob(pat))
        paths.update(glob.glob(pat))
    return sorted(paths)


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare"),
                     "needs root and unshare(1) for a private mount namespace")
class RadosOptionalTest(lib.E2ETestCase):
    def run_without_librados(self, argv):
        binds = " && ".join("mount --bind /dev/null %s" % p for p in librados_paths())
        script = (binds + " && " if binds else "") + 'exec "$@"'
        return subprocess.run(["unshare", "-m", "sh", "-c", script, "sh"] + argv,
                              capture_output=True, text=True, timeout=60)

    def test_without_librados(self):
        coffer = os.path.join(env().bin, "coffer")
        cofferd = os.path.join(env().bin, "cofferd")
        root = tempfile.mkdtemp(prefix="rados-opt.", dir=os.environ.get("E2E_TMP"))
        try:
            data = os.path.join(root, "data")
            r = self.run_without_librados([coffer, "--version"])
            self.assertEqual(r.returncode, 0, r.stderr)
            r = self.run_without_librados([coffer, "--data", data, "account", "create", "x"])
            self.assertEqual(r.returncode, 0, r.stderr)
            blobs = "rados://coffer?conf=%s/ceph.conf" % root
            r = self.run_without_librados([coffer, "--data", data, "--blobs", blobs, "upload",
                                           "abort", "--older-than", "1d"])
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(NEEDS, r.stderr)
            r = self.run_without_librados([cofferd, "--data", data, "--listen",
                                           "127.0.0.1:%d" % lib.free_port(), "--blobs", blobs])
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(NEEDS, r.stdout + r.stderr)
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
