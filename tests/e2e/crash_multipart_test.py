"""Crash consistency of multipart uploads: CreateMultipartUpload, UploadPart (new part numbers
and overwrites of one), CompleteMultipartUpload (all parts, or all but the last) and
AbortMultipartUpload from two threads, with a few plain PUTs and DELETEs of the same keys;
SIGKILL at a random moment, most often inside a completion, an UploadPart or an abort
(crash_lib.KillPlan); restart on the same data dir. Uploads left open carry over to later
cycles, so parts must survive restarts (and the start-up sweep of orphan files).

Parts: every part but the last is 5 MiB (S3's minimum), the last 1 B..512 KiB; an upload has
1-3 parts, so an object is at most ~10.5 MiB and every part is its own data file.

After each restart:
- every key reads back (full GET, MD5) as its acknowledged object or as the result of the
  operation in flight on it; a multipart object also has the multipart ETag
  (md5 of the part MD5s, "-N") and GET ?partNumber=j returns exactly part j;
- an acknowledged completion holds exactly; an in-flight completion either landed (object
  exact, upload gone from ListMultipartUploads) or did not (old object, upload still listed
  with all its parts), and then the upload is completed (object exact) or aborted (gone) right
  away, to show it still works;
- every open upload is listed with exactly its acknowledged parts (ListParts: ETag and size;
  a part upload in flight shows the old part or the new one); an abort in flight either
  happened or left the upload intact; no upload is listed that the model does not know (a
  CreateMultipartUpload in flight may have created one: it is adopted).
At the end everything is aborted or deleted and a clean restart must leave no data file.

    CRASH_CYCLES=20 CRASH_SEED=N python3 runner.py crash_multipart_test.py
"""

import hashlib
import unittest

from botocore.exceptions import ClientError

import crash_lib
import lib
from crash_lib import ABSENT, MiB, error_code, md5

THREADS = 2
KEYS = 3          # per thread
MAX_OPEN = 2      # open uploads per thread
PART = 5 * MiB    # every part but the last
LAST_MAX = 512 * 1024


class Part:
    def __init__(self, data):
        self.data = data
        self.size = len(data)
        self.md5 = md5(data)
        self.etag = '"%s"' % self.md5


class Obj:
    """What a key must read back as: md5, size, ETag and, for a multipart object, its parts
    as (size, md5)."""

    def __init__(self, md5hex, size, etag, parts=None):
        self.md5, self.size, self.etag, self.parts = md5hex, size, etag, parts

    @classmethod
    def plain(cls, body):
        return cls(md5(body), len(body), '"%s"' % md5(body))

    @classmethod
    def multipart(cls, parts):
        h = hashlib.md5()
        for p in parts:
            h.update(p.data)
        etag = '"%s-%d"' % (md5(b"".join(bytes.fromhex(p.md5) for p in parts)), len(parts))
        return cls(h.hexdigest(), sum(p.size for p in parts), etag,
                   [(p.size, p.md5) for p in parts])

    def __eq__(self, o):
        return isinstance(o, Obj) and (self.md5, self.size, self.etag) == (o.md5, o.size, o.etag)

    def __repr__(self):
        return "<%s %d B %s>" % (self.md5, self.size, self.etag)


class Upload:
    def __init__(self, key, uid, sizes):
        self.key, self.uid, self.sizes = key, uid, sizes
        self.parts = {}          # acknowledged: number -> Part
        self.pending_part = None  # (number, Part) in flight
        self.state = "open"      # open | completing | aborting
        self.result = None       # completing: the Obj it makes
        self.listed = None       # completing: the part numbers it names


class MultipartCrashTest(crash_lib.CrashCase):
    tag = "crash-mpu"

    def setup_bucket(self):
        self.ak, self.sk = self.account("crash-mpu")
        self.c = crash_lib.client(self.srv, self.ak, self.sk, read_timeout=60)
        self.clients = [crash_lib.client(self.srv, self.ak, self.sk, read_timeout=60)
                        for _ in range(THREADS)]
        self.bucket = lib.bucket_name("crash-mpu")
        self.c.create_bucket(Bucket=self.bucket)
        self.keys = [["t%d/obj%d" % (t, i) for i in range(KEYS)] for t in range(THREADS)]
        self.state = {k: [ABSENT, None] for ks in self.keys for k in ks}  # acked, in flight
        self.uploads = [[] for _ in range(THREADS)]
        self.creating = [None] * THREADS  # key of a CreateMultipartUpload in flight

    def new_sizes(self, rng):
        n = rng.choices([1, 2, 3], [4, 4, 2])[0]
        return [PART] * (n - 1) + [rng.randint(1, LAST_MAX)]

    # --- one worker thread

    def worker(self, t, plan, bodies, rng):
        c = self.clients[t]
        ups = self.uploads[t]
        while True:
            aim = None
            if plan.armed.is_set() and not plan.fired.is_set():
                aim = next(iter(plan.targets), None)
            p = rng.random()
            if aim is None and p < 0.05:
                k = rng.choice(self.keys[t])
                body = bodies.make(rng, rng.randint(0, 200 * 1024))
                self.state[k][1] = obj = Obj.plain(body)
                r = plan.op("put", c.put_object, Bucket=self.bucket, Key=k, Body=body)
                if r["ETag"] != obj.etag:
                    raise AssertionError("PUT %s ETag %s" % (k, r["ETag"]))
                self.state[k] = [obj, None]
            elif aim is None and p < 0.09:
                k = rng.choice(self.keys[t])
                self.state[k][1] = ABSENT
                plan.op("delete", c.delete_object, Bucket=self.bucket, Key=k)
                self.state[k] = [ABSENT, None]
            elif not ups or (len(ups) < MAX_OPEN and p < 0.2 and aim is None):
                k = rng.choice(self.keys[t])
                self.creating[t] = k
                r = plan.op("create", c.create_multipart_upload, Bucket=self.bucket, Key=k)
                ups.append(Upload(k, r["UploadId"], self.new_sizes(rng)))
                self.creating[t] = None
            else:
                ready = [u for u in ups if len(u.parts) == len(u.sizes)]
                u = rng.choice(ready if ready and aim in ("complete", "abort") else ups)
                missing = [n for n in range(1, len(u.sizes) + 1) if n not in u.parts]
                q = rng.random()
                if missing:
                    self.upload_part(c, plan, u, missing[0], bodies, rng)
                elif aim == "part" or (aim is None and q < 0.15):
                    self.upload_part(c, plan, u, rng.randint(1, len(u.sizes)), bodies, rng)
                elif aim == "abort" or (aim is None and q < 0.27):
                    u.state = "aborting"
                    plan.op("abort", c.abort_multipart_upload, Bucket=self.bucket, Key=u.key,
                            UploadId=u.uid)
                    ups.remove(u)
                else:
                    self.complete(c, plan, u, rng)
                    ups.remove(u)

    def upload_part(self, c, plan, u, n, bodies, rng):
        size = u.sizes[n - 1] if n < len(u.sizes) else rng.randint(1, LAST_MAX)
        part = Part(bodies.make(rng, size))
        u.pending_part = (n, part)
        r = plan.op("part", c.upload_part, Bucket=self.bucket, Key=u.key, UploadId=u.uid,
                    PartNumber=n, Body=part.data)
        if r["ETag"] != part.etag:
            raise AssertionError("UploadPart %s #%d: ETag %s, md5 %s"
                                 % (u.key, n, r["ETag"], part.md5))
        u.parts[n] = part
        u.sizes[n - 1] = size
        u.pending_part = None

    def complete(self, c, plan, u, rng, kind="complete"):
        nums = sorted(u.parts)
        if len(nums) > 1 and rng.random() < 0.2:
            nums = nums[:-1]  # a part left out: its data goes to the trash
        u.listed = nums
        u.result = Obj.multipart([u.parts[n] for n in nums])
        u.state = "completing"
        self.state[u.key][1] = u.result
        r = plan.op(kind, c.complete_multipart_upload, Bucket=self.bucket, Key=u.key,
                    UploadId=u.uid, MultipartUpload={"Parts": [
                        {"PartNumber": n, "ETag": u.parts[n].etag} for n in nums]})
        if r["ETag"] != u.result.etag:
            raise AssertionError("complete %s: ETag %s, expected %s"
                                 % (u.key, r["ETag"], u.result.etag))
        self.state[u.key] = [u.result, None]

    # --- after the restart

    def read(self, key):
        try:
            r = self.c.get_object(Bucket=self.bucket, Key=key)
            body = r["Body"].read()
        except ClientError as e:
            return ABSENT if error_code(e) == "NoSuchKey" else "error " + error_code(e)
        return Obj(md5(body), len(body), r["ETag"])

    def listed_uploads(self):
        out = {}
        kw = {}
        while True:
            r = self.c.list_multipart_uploads(Bucket=self.bucket, **kw)
            for u in r.get("Uploads", []):
                out[u["UploadId"]] = u["Key"]
            if not r.get("IsTruncated"):
                return out
            kw = dict(KeyMarker=r["NextKeyMarker"], UploadIdMarker=r["NextUploadIdMarker"])

    def list_parts(self, u):
        out = {}
        kw = {}
        while True:
            r = self.c.list_parts(Bucket=self.bucket, Key=u.key, UploadId=u.uid, **kw)
            for p in r.get("Parts", []):
                out[p["PartNumber"]] = (p["ETag"], p["Size"])
            if not r.get("IsTruncated"):
                return out
            kw = dict(PartNumberMarker=r["NextPartNumberMarker"])

    def check_parts(self, cycle, u, stats):
        """ListParts shows the acknowledged parts; a part upload in flight, old or new."""
        seen = self.list_parts(u)
        want = {n: (p.etag, p.size) for n, p in u.parts.items()}
        if u.pending_part is not None:
            n, p = u.pending_part
            alt = dict(want)
            alt[n] = (p.etag, p.size)
            if seen == alt and seen != want:
                u.parts[n] = p
                u.sizes[n - 1] = p.size
                stats["part_landed"] += 1
                want = alt
            u.pending_part = None
        if seen != want:
            self.problem(cycle, "upload %s of %s: parts %r, expected %r"
                         % (u.uid, u.key, seen, want))

    def check_object(self, cycle, key, seen, stats):
        """A multipart object: GET ?partNumber=j gives exactly part j."""
        if not isinstance(seen, Obj) or not seen.parts:
            return
        j = self.rng.randrange(len(seen.parts))
        try:
            r = self.c.get_object(Bucket=self.bucket, Key=key, PartNumber=j + 1)
            body = r["Body"].read()
        except ClientError as e:
            self.problem(cycle, "%s?partNumber=%d: %s" % (key, j + 1, error_code(e)))
            return
        if (len(body), md5(body)) != seen.parts[j] or r.get("PartsCount") != len(seen.parts):
            self.problem(cycle, "%s?partNumber=%d: %d B md5 %s of %s parts, expected %r of %d"
                         % (key, j + 1, len(body), md5(body), r.get("PartsCount"),
                            seen.parts[j], len(seen.parts)))
        stats["part_reads"] += 1

    def check(self, cycle, stats):
        listed = self.listed_uploads()
        seen = {}
        for k, (acked, pend) in sorted(self.state.items()):
            s = self.read(k)
            if s == acked:
                self.state[k] = [acked, None]
                seen[k] = acked
            elif pend is not None and s == pend:
                self.state[k] = [pend, None]
                seen[k] = pend
                stats["landed"] += 1
            else:
                self.problem(cycle, "%s reads as %r; acknowledged %r, in flight %r"
                             % (k, s, acked, pend))
                continue
            self.check_object(cycle, k, seen[k], stats)
        known = {u.uid: u.key for ups in self.uploads for u in ups}
        for t in range(THREADS):
            for u in list(self.uploads[t]):
                if u.state == "completing":
                    stats["complete_inflight"] += 1
                    if seen.get(u.key) == u.result:
                        stats["complete_landed"] += 1
                        if u.uid in listed:
                            self.problem(cycle, "upload %s of %s completed, still listed"
                                         % (u.uid, u.key))
                        self.uploads[t].remove(u)
                        continue
                    if u.uid not in listed:
                        self.problem(cycle, "upload %s of %s: completion in flight neither made "
                                     "the object nor left the upload" % (u.uid, u.key))
                        self.uploads[t].remove(u)
                        continue
                    u.state = "open"
                    self.check_parts(cycle, u, stats)
                    self.recover(cycle, t, u, stats)
                elif u.state == "aborting":
                    stats["abort_inflight"] += 1
                    u.state = "open"
                    if u.uid not in listed:
                        stats["abort_landed"] += 1
                        self.uploads[t].remove(u)
                    else:
                        self.check_parts(cycle, u, stats)
                elif u.uid not in listed:
                    self.problem(cycle, "open upload %s of %s is not listed" % (u.uid, u.key))
                    self.uploads[t].remove(u)
                else:
                    self.check_parts(cycle, u, stats)
        for uid, key in sorted(listed.items()):
            if uid in known:
                if key != known[uid]:
                    self.problem(cycle, "upload %s of %s listed under %s"
                                 % (uid, known[uid], key))
                continue
            owner = [t for t in range(THREADS) if self.creating[t] == key]
            if not owner:
                self.problem(cycle, "unknown upload %s of %s listed" % (uid, key))
                continue
            self.creating[owner[0]] = None  # its in-flight create landed: adopt the upload
            u = Upload(key, uid, self.new_sizes(self.rng))
            self.uploads[owner[0]].append(u)
            self.check_parts(cycle, u, stats)
            stats["create_landed"] += 1
        self.creating = [None] * THREADS

    def recover(self, cycle, t, u, stats):
        """An upload whose completion did not land: still completable, or abortable."""
        if self.rng.random() < 0.7:
            nums = u.listed
            result = Obj.multipart([u.parts[n] for n in nums])
            try:
                r = self.c.complete_multipart_upload(
                    Bucket=self.bucket, Key=u.key, UploadId=u.uid, MultipartUpload={
                        "Parts": [{"PartNumber": n, "ETag": u.parts[n].etag} for n in nums]})
            except ClientError as e:
                self.problem(cycle, "upload %s of %s: completion after restart: %s"
                             % (u.uid, u.key, error_code(e)))
                return
            s = self.read(u.key)
            if r["ETag"] != result.etag or s != result:
                self.problem(cycle, "upload %s of %s completed after restart: %r, reads %r, "
                             "expected %r" % (u.uid, u.key, r["ETag"], s, result))
            self.check_object(cycle, u.key, result, stats)
            self.state[u.key] = [result, None]
            stats["recovered_complete"] += 1
        else:
            try:
                self.c.abort_multipart_upload(Bucket=self.bucket, Key=u.key, UploadId=u.uid)
            except ClientError as e:
                self.problem(cycle, "upload %s of %s: abort after restart: %s"
                             % (u.uid, u.key, error_code(e)))
            stats["recovered_abort"] += 1
        self.uploads[t].remove(u)

    def test_sigkill_during_multipart(self):
        self.srv.start(timeout=60)
        self.setup_bucket()
        bodies = crash_lib.Bodies(pool=PART + 64 * 1024)
        stats = dict(landed=0, part_landed=0, part_reads=0, complete_inflight=0,
                     complete_landed=0, abort_inflight=0, abort_landed=0, create_landed=0,
                     recovered_complete=0, recovered_abort=0, target_in_kill=0)
        cycle = -1
        for cycle in range(crash_lib.CYCLES):
            # every seventh cycle: a plain random moment, whatever runs then
            targets = self.rng.choices([{"complete"}, {"part"}, {"abort"}], [60, 22, 18])[0] \
                if cycle % 7 != 6 else set()
            plan = self.plan(targets)
            workers = [lambda rng, t=t: self.worker(t, plan, bodies, rng)
                       for t in range(THREADS)]
            what = self.run_cycle(cycle, plan, workers)
            if plan.fire_kind:
                stats["target_in_kill"] += 1
            self.restart(cycle)
            self.check(cycle, stats)
            self.check_sanitizer(cycle)
            if self.problems:
                break
            print("crash-mpu cycle %d/%d ok: killed at %s; open uploads %d"
                  % (cycle + 1, crash_lib.CYCLES, what, sum(map(len, self.uploads))),
                  flush=True)
        self.finish(cycle, ", ".join("%s %d" % kv for kv in sorted(stats.items())))
        self.assertGreaterEqual(stats["target_in_kill"], crash_lib.CYCLES // 2,
                                "too few kills inside a multipart operation")
        # abort and delete everything, then a clean restart must leave no data file behind
        for uid, key in self.listed_uploads().items():
            self.c.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=uid)
        for k in self.state:
            self.c.delete_object(Bucket=self.bucket, Key=k)
        self.assert_clean_restart_leaves_no_files()
        self.assertEqual(self.srv.stop(), 0, self.srv.log_tail())


if __name__ == "__main__":
    unittest.main()
