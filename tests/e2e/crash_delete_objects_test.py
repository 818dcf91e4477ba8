"""Crash consistency of DeleteObjects (POST ?delete): many keys per request on an unversioned
bucket and on a versioned one (simple deletes that add delete markers, and deletes of named
versions, delete markers included), with PUTs between them; SIGKILL at a random moment, most
often inside a DeleteObjects (crash_lib.KillPlan); restart on the same data dir.

After each restart: unversioned, every key reads back as its acknowledged state or, if a
request on it was in flight, that request's result; the listing agrees with GET. Versioned
(crash_lib.check_versioned): each key's versions are exactly the acknowledged ones or exactly
what the in-flight request would leave, every version reads back with its exact bytes, removed
versions are gone. Acknowledged answers are checked as they come: no Errors, every requested
key (and version) reported Deleted, DeleteMarkerVersionId for each new marker. The test also
counts in-flight requests seen half applied (some of their keys before, some after: allowed
per key, reported in the summary). At the end everything is deleted and a clean restart must
leave no data file.

    CRASH_CYCLES=20 CRASH_SEED=N python3 runner.py crash_delete_objects_test.py
"""

import unittest

from botocore.exceptions import ClientError

import crash_lib
import lib
from crash_lib import ABSENT, VKey, error_code, md5

THREADS = 2
UKEYS = 24         # per thread, unversioned bucket
VKEYS = 8          # per thread, versioned bucket
MAX_VERSIONS = 5


class DeleteObjectsCrashTest(crash_lib.CrashCase):
    tag = "crash-delobj"

    def setup_buckets(self):
        ak, sk = self.account("crash-delobj")
        self.c = crash_lib.client(self.srv, ak, sk)
        self.clients = [crash_lib.client(self.srv, ak, sk) for _ in range(THREADS)]
        self.ub = lib.bucket_name("crash-du")
        self.vb = lib.bucket_name("crash-dv")
        self.c.create_bucket(Bucket=self.ub)
        self.c.create_bucket(Bucket=self.vb)
        self.c.put_bucket_versioning(Bucket=self.vb, VersioningConfiguration={"Status": "Enabled"})
        # unversioned model: key -> [acked md5|ABSENT, in-flight md5|ABSENT|None]
        self.ukeys = [["t%d/u%02d" % (t, i) for i in range(UKEYS)] for t in range(THREADS)]
        self.umodel = {k: [ABSENT, None] for ks in self.ukeys for k in ks}
        self.vkeys = [{"t%d/v%02d" % (t, i): VKey("t%d/v%02d" % (t, i)) for i in range(VKEYS)}
                      for t in range(THREADS)]
        self.vmodel = {k: v for d in self.vkeys for k, v in d.items()}

    # --- one worker thread

    def worker(self, t, plan, bodies, inflight, rng):
        c = self.clients[t]
        ukeys, vkeys = self.ukeys[t], self.vkeys[t]
        while True:
            p = rng.random()
            if plan.armed.is_set() and not plan.fired.is_set():
                p = 0.55 + 0.45 * p  # a DeleteObjects to kill in
            if p < 0.25:
                k = rng.choice(ukeys)
                body = bodies.small_or_file(rng)
                self.umodel[k][1] = md5(body)
                r = plan.op("put", c.put_object, Bucket=self.ub, Key=k, Body=body)
                if r["ETag"] != '"%s"' % md5(body):
                    raise AssertionError("PUT %s ETag %s" % (k, r["ETag"]))
                self.umodel[k] = [md5(body), None]
            elif p < 0.55:
                room = [v for v in vkeys.values() if len(v.versions) < MAX_VERSIONS]
                if not room:
                    continue
                vk = rng.choice(room)
                body = bodies.small_or_file(rng)
                vk.pending = [("put", md5(body), len(body))]
                r = plan.op("put", c.put_object, Bucket=self.vb, Key=vk.name, Body=body)
                if r["ETag"] != '"%s"' % md5(body):
                    raise AssertionError("PUT %s ETag %s" % (vk.name, r["ETag"]))
                vk.ack([r["VersionId"]])
            elif p < 0.78:
                self.delete_unversioned(c, plan, ukeys, inflight, rng)
            else:
                self.delete_versioned(c, plan, vkeys, inflight, rng)

    def delete_unversioned(self, c, plan, ukeys, inflight, rng):
        keys = rng.sample(ukeys, rng.randint(2, len(ukeys)))
        for k in keys:
            self.umodel[k][1] = ABSENT
        inflight.append(("u", keys))
        quiet = rng.random() < 0.3
        r = plan.op("delete-objects", c.delete_objects, Bucket=self.ub,
                    Delete={"Objects": [{"Key": k} for k in keys], "Quiet": quiet})
        inflight.pop()
        if r.get("Errors"):
            raise AssertionError("DeleteObjects: errors %r" % r["Errors"])
        done = sorted(d["Key"] for d in r.get("Deleted", []))
        if done != ([] if quiet else sorted(keys)):
            raise AssertionError("DeleteObjects (quiet %s): deleted %r, asked %r"
                                 % (quiet, done, sorted(keys)))
        for k in keys:
            self.umodel[k] = [ABSENT, None]

    def delete_versioned(self, c, plan, vkeys, inflight, rng):
        chosen = rng.sample(sorted(vkeys.values(), key=lambda v: v.name),
                            rng.randint(1, len(vkeys) // 2))
        objs, simple = [], []
        for vk in chosen:
            if not vk.versions or rng.random() < 0.35:
                vk.pending = [("dm",)]
                objs.append({"Key": vk.name})
                simple.append(vk)
            else:
                vids = [v[0] for v in rng.sample(vk.versions,
                                                 rng.randint(1, min(2, len(vk.versions))))]
                if vk.removed and rng.random() < 0.2:
                    vids.append(vk.removed[-1])  # already gone: still reported Deleted
                vk.pending = [("rm", v) for v in vids]
                objs += [{"Key": vk.name, "VersionId": v} for v in vids]
        rng.shuffle(objs)
        inflight.append(("v", chosen))
        quiet = not simple and rng.random() < 0.3  # quiet would hide the new markers' ids
        r = plan.op("delete-objects", c.delete_objects, Bucket=self.vb,
                    Delete={"Objects": objs, "Quiet": quiet})
        inflight.pop()
        if r.get("Errors"):
            raise AssertionError("DeleteObjects: errors %r" % r["Errors"])
        got = {(d["Key"], d.get("VersionId")): d for d in r.get("Deleted", [])}
        want = {(o["Key"], o.get("VersionId")) for o in objs}
        if not quiet and set(got) != want:
            raise AssertionError("DeleteObjects: deleted %r, asked %r" % (sorted(got), want))
        for vk in chosen:
            if vk in simple:
                d = got[(vk.name, None)]
                if not d.get("DeleteMarker") or not d.get("DeleteMarkerVersionId"):
                    raise AssertionError("simple delete of %s in DeleteObjects: %r"
                                         % (vk.name, d))
                vk.ack([d["DeleteMarkerVersionId"]])
            else:
                vk.ack()

    # --- after the restart

    def check_unversioned(self, cycle, stats):
        present = set()
        for k, (acked, pend) in sorted(self.umodel.items()):
            try:
                seen = md5(self.c.get_object(Bucket=self.ub, Key=k)["Body"].read())
            except ClientError as e:
                seen = ABSENT if error_code(e) == "NoSuchKey" else error_code(e)
            allowed = {acked} | ({pend} if pend is not None else set())
            if seen not in allowed:
                self.problem(cycle, "%s/%s is %s, expected one of %s"
                             % (self.ub, k, seen, sorted(allowed)))
            self.umodel[k] = [seen, None]
            if seen != ABSENT:
                present.add(k)
        listed = set()
        for page in self.c.get_paginator("list_objects_v2").paginate(Bucket=self.ub):
            listed |= {o["Key"] for o in page.get("Contents", [])}
        if listed != present:
            self.problem(cycle, "%s: listing and GET disagree on %s"
                         % (self.ub, sorted(listed ^ present)))

    def test_sigkill_during_delete_objects(self):
        self.srv.start(timeout=60)
        self.setup_buckets()
        bodies = crash_lib.Bodies(pool=1 * crash_lib.MiB)
        stats = dict(landed=0, not_landed=0, versions_read=0, delobj_in_kill=0,
                     inflight_all=0, inflight_none=0, inflight_mixed=0)
        cycle = -1
        for cycle in range(crash_lib.CYCLES):
            # every seventh cycle: a plain random moment, whatever runs then
            targets = {"delete-objects"} if cycle % 7 != 6 else set()
            plan = self.plan(targets)
            inflight = [[] for _ in range(THREADS)]
            workers = [lambda rng, t=t: self.worker(t, plan, bodies, inflight[t], rng)
                       for t in range(THREADS)]
            # what each in-flight DeleteObjects looked like before the kill, per key
            what = self.run_cycle(cycle, plan, workers)
            if plan.fire_kind == "delete-objects":
                stats["delobj_in_kill"] += 1
            pending = [(kind, list(keys)) for fl in inflight for kind, keys in fl]
            before_u = {k: self.umodel[k][0] for kind, ks in pending if kind == "u" for k in ks}
            self.restart(cycle)
            self.check_unversioned(cycle, stats)
            crash_lib.check_versioned(self, self.c, self.vb, self.vmodel, cycle, stats)
            for kind, ks in pending:
                if kind == "u":
                    changed = [self.umodel[k][0] != before_u[k] for k in ks
                               if before_u[k] != ABSENT]
                else:
                    changed = [vk.landed for vk in ks if vk.landed is not None]
                if changed and all(changed):
                    stats["inflight_all"] += 1
                elif any(changed):
                    stats["inflight_mixed"] += 1
                else:
                    stats["inflight_none"] += 1
            self.check_sanitizer(cycle)
            if self.problems:
                break
            print("crash-delobj cycle %d/%d ok: killed at %s; %d DeleteObjects in flight"
                  % (cycle + 1, crash_lib.CYCLES, what, len(pending)), flush=True)
        summary = ", ".join("%s %d" % kv for kv in sorted(stats.items()))
        self.finish(cycle, summary)
        self.assertGreaterEqual(stats["delobj_in_kill"], crash_lib.CYCLES // 2,
                                "too few kills inside a DeleteObjects")
        # delete everything, then a clean restart must leave no data file behind
        for b in (self.ub, self.vb):
            objs = [{"Key": k, "VersionId": v}
                    for k, vs in crash_lib.list_versions(self.c, b).items() for v in vs]
            for i in range(0, len(objs), 1000):
                r = self.c.delete_objects(Bucket=b, Delete={"Objects": objs[i:i + 1000]})
                self.assertFalse(r.get("Errors"), repr(r.get("Errors")))
        self.assert_clean_restart_leaves_no_files()
        self.assertEqual(self.srv.stop(), 0, self.srv.log_tail())


if __name__ == "__main__":
    unittest.main()
