"""Crash consistency of MFA delete: versioned deletes (DELETE ?versionId= and DeleteObjects with
VersionIds) carrying x-amz-mfa on buckets with MFA delete enabled, SIGKILL at a random moment,
most often inside one of those deletes (crash_lib.KillPlan), restart on the same data dir.

After each restart, for every key of every bucket (crash_lib.check_versioned): the version
listing is exactly the acknowledged versions, or exactly what the delete (or PUT, or simple
DELETE) in flight would leave; each listed version reads back with its exact bytes; a removed
version is gone from the listing and GET ?versionId says NoSuchVersion. MFA delete is still
enabled. The replay burn is durable: a code whose request was acknowledged before the kill,
or whose in-flight delete is visible after the restart, is refused when sent again (on a delete
of a version already gone, so a wrongly accepted code changes nothing).

Codes: every accepted TOTP code burns its 30-s step for its device (a device yields the current
and the next step's code, then one per step). Each of ACCOUNTS accounts enrols 8 root devices
with `coffer mfa add-hardware` (8 is the limit per principal) and owns one bucket; each worker
thread owns half of the accounts and takes codes from their devices, doing PUTs instead when
none is left. Replayed codes count as failures on their device (5 in 30 s throttle it), so at
most 3 replays per device between two accepted codes.

    CRASH_CYCLES=20 CRASH_SEED=N python3 runner.py crash_mfa_test.py
"""

import os
import subprocess
import time
import unittest

from botocore.exceptions import ClientError

import crash_lib
import lib
import mfa_lib
from crash_lib import VKey, error_code, md5

THREADS = 2
ACCOUNTS = 10
DEVICES = 8
KEYS = 5              # per bucket
MAX_VERSIONS = 5      # a PUT goes elsewhere when a key has this many
MFA_BEFORE_ARM = 1    # MFA deletes per thread per cycle before the plan is armed
REPLAYS_PER_CYCLE = 6
ENABLED_MFA = {"Status": "Enabled", "MFADelete": "Enabled"}


class Account:
    def __init__(self, name, ak, sk, bucket):
        self.name, self.ak, self.sk, self.bucket = name, ak, sk, bucket
        self.devices = []
        self.keys = {}
        self.http = self.https = None
        self.fails = {}  # device serial -> times of refused (replayed) codes since its last success
        self.gone = []   # (key, vid) of removed versions: targets for replayed codes

    def code(self, rng):
        """(device, x-amz-mfa value, step) with a code no request has used, or None."""
        ds = list(self.devices)
        rng.shuffle(ds)
        for d in ds:
            c = d.take()
            if c is not None:
                return d, "%s %s" % (d.serial, c), d.last_step
        return None


class MfaCrashTest(crash_lib.CrashCase):
    tag = "crash-mfa"

    def add_device(self, acct, i):
        seed = mfa_lib.b32_seed()
        serial = "CRASH%s%02d" % (acct.name[-6:].upper().replace("-", ""), i)
        mfa_lib.ensure_margin()
        s = mfa_lib.cur_step()
        subprocess.run([os.path.join(lib.env().bin, "coffer"), "--data", self.data, "mfa",
                        "add-hardware", "--account", acct.name, "--serial", serial,
                        "--seed-base32", seed, "--code1", mfa_lib.totp(seed, s - 1),
                        "--code2", mfa_lib.totp(seed, s)],
                       check=True, capture_output=True, text=True, timeout=60)
        return mfa_lib.Device(serial, seed, s)

    def setup_accounts(self):
        accts = []
        for i in range(ACCOUNTS):
            name = "crash-mfa-%d-%s" % (i, lib.rand_suffix(6))
            ak, sk = self.account(name)
            a = Account(name, ak, sk, lib.bucket_name("crash-mfa%d" % i))
            a.devices = [self.add_device(a, j) for j in range(DEVICES)]
            a.http = crash_lib.client(self.srv, ak, sk)
            a.https = crash_lib.client(self.srv, ak, sk, https=True)
            a.http.create_bucket(Bucket=a.bucket)
            _, hdr, _ = a.code(self.rng)
            a.https.put_bucket_versioning(Bucket=a.bucket, VersioningConfiguration=ENABLED_MFA,
                                          MFA=hdr)
            a.keys = {"k%d" % k: VKey("k%d" % k) for k in range(KEYS)}
            accts.append(a)
        return accts

    # --- one worker thread

    def worker(self, cycle, plan, mine, bodies, log, rng):
        budget = MFA_BEFORE_ARM
        while True:
            a = rng.choice(mine)
            has_versions = [k for k in a.keys.values() if k.versions]
            # before the plan is armed a few (acknowledged, mostly), then one to kill in
            want_mfa = ((plan.armed.is_set() and not plan.fired.is_set())
                        or (budget > 0 and rng.random() < 0.3))
            if want_mfa and has_versions:
                got = a.code(rng)
                if got is not None:
                    if not plan.armed.is_set():
                        budget -= 1
                    self.mfa_delete(plan, a, got, has_versions, log, rng)
                    continue
            room = [k for k in a.keys.values() if len(k.versions) < MAX_VERSIONS]
            if room and rng.random() < 0.88:
                vk = rng.choice(room)
                body = bodies.small_or_file(rng)
                vk.pending = [("put", md5(body), len(body))]
                r = plan.op("put", a.http.put_object, Bucket=a.bucket, Key=vk.name, Body=body)
                if r["ETag"] != '"%s"' % md5(body):
                    raise AssertionError("PUT %s ETag %s" % (vk.name, r["ETag"]))
                vk.ack([r["VersionId"]])
            elif room:
                vk = rng.choice(room)
                vk.pending = [("dm",)]
                r = plan.op("delete", a.http.delete_object, Bucket=a.bucket, Key=vk.name)
                if not r.get("DeleteMarker") or not r.get("VersionId"):
                    raise AssertionError("simple DELETE %s: %r" % (vk.name, r))
                vk.ack([r["VersionId"]])
            else:
                plan.starting("wait")
                plan.stopped.wait(0.02)

    def mfa_delete(self, plan, a, got, has_versions, log, rng):
        dev, hdr, step = got
        entry = {"acct": a, "dev": dev, "hdr": hdr, "step": step, "keys": [], "acked": False}
        log.append(entry)
        if rng.random() < 0.6:
            vk = rng.choice(has_versions)
            vid = rng.choice(vk.versions)[0]
            vk.pending = [("rm", vid)]
            entry["keys"] = [vk]
            r = plan.op("mfa-delete", a.https.delete_object, Bucket=a.bucket, Key=vk.name,
                        VersionId=vid, MFA=hdr)
            if r.get("VersionId") != vid:
                raise AssertionError("DELETE ?versionId=%s answered %r" % (vid, r))
            vk.ack()
            a.gone.append((vk.name, vid))
        else:
            chosen = rng.sample(has_versions, min(len(has_versions), rng.randint(1, 3)))
            objs = []
            for vk in chosen:
                vids = [v[0] for v in rng.sample(vk.versions,
                                                 min(len(vk.versions), rng.randint(1, 2)))]
                vk.pending = [("rm", v) for v in vids]
                objs += [{"Key": vk.name, "VersionId": v} for v in vids]
            entry["keys"] = chosen
            quiet = rng.random() < 0.3
            r = plan.op("mfa-delete", a.https.delete_objects, Bucket=a.bucket, MFA=hdr,
                        Delete={"Objects": objs, "Quiet": quiet})
            if r.get("Errors"):
                raise AssertionError("DeleteObjects with MFA: errors %r" % r["Errors"])
            done = {(d["Key"], d.get("VersionId")) for d in r.get("Deleted", [])}
            want = {(o["Key"], o["VersionId"]) for o in objs}
            if not quiet and done != want:
                raise AssertionError("DeleteObjects with MFA: deleted %r, asked %r" % (done, want))
            for vk in chosen:
                vk.ack()
            a.gone += [(o["Key"], o["VersionId"]) for o in objs]
        entry["acked"] = True
        a.fails.pop(dev.serial, None)  # an accepted code resets the device's failure count

    # --- after the restart

    def replay(self, cycle, e, why, stats):
        """e's code was accepted before the kill: sent again it must be refused. The delete
        names a version already gone, so a code wrongly accepted changes nothing."""
        a, dev, hdr = e["acct"], e["dev"], e["hdr"]
        if e["step"] < mfa_lib.cur_step() - 1 or not a.gone:
            stats["replay_skipped"] += 1  # outside the window: a refusal would prove nothing
            return
        now = time.time()
        f = [t for t in a.fails.get(dev.serial, []) if t > now - 31]
        if len(f) >= 3:
            stats["replay_skipped"] += 1
            return
        a.fails[dev.serial] = f + [now]
        key, vid = a.gone[0]
        try:
            a.https.delete_object(Bucket=a.bucket, Key=key, VersionId=vid, MFA=hdr)
            self.problem(cycle, "%s: MFA code %s (%s) accepted again after the restart"
                         % (a.bucket, hdr, why))
        except ClientError as e:
            msg = e.response.get("Error", {}).get("Message")
            if (error_code(e), msg) != ("AccessDenied", mfa_lib.MSG_BAD_CODE):
                self.problem(cycle, "%s: replayed code (%s) refused with %s %r"
                             % (a.bucket, why, error_code(e), msg))
        stats["replays"] += 1

    def test_sigkill_during_mfa_deletes(self):
        self.srv.start(timeout=60)
        accts = self.setup_accounts()
        print("crash-mfa: %d accounts with %d devices each ready after %.1fs"
              % (ACCOUNTS, DEVICES, time.time() - self.t_start), flush=True)
        bodies = crash_lib.Bodies(pool=1 * crash_lib.MiB)
        stats = dict(landed=0, not_landed=0, versions_read=0, replays=0, replay_skipped=0,
                     mfa_acked=0, mfa_inflight=0, mfa_in_kill=0, mfa_inflight_landed=0)
        cycle = -1
        for cycle in range(crash_lib.CYCLES):
            # every seventh cycle: a plain random moment, whatever runs then
            targets = {"mfa-delete"} if cycle % 7 != 6 else set()
            plan = self.plan(targets)
            log = []
            workers = [lambda rng, t=t: self.worker(cycle, plan, accts[t::THREADS], bodies,
                                                    log, rng) for t in range(THREADS)]
            what = self.run_cycle(cycle, plan, workers)
            self.restart(cycle)
            for a in accts:
                crash_lib.check_versioned(self, a.http, a.bucket, a.keys, cycle, stats)
                v = a.http.get_bucket_versioning(Bucket=a.bucket)
                if {k: v.get(k) for k in ENABLED_MFA} != ENABLED_MFA:
                    self.problem(cycle, "%s: versioning after restart %r" % (a.bucket, v))
            # replay: acknowledged codes, and in-flight ones whose delete is visible
            n = 0
            for e in log:
                if n >= REPLAYS_PER_CYCLE:
                    break
                if e["acked"]:
                    stats["mfa_acked"] += 1
                    self.replay(cycle, e, "acknowledged", stats)
                    n += 1
                    continue
                stats["mfa_inflight"] += 1
                if any(k.landed for k in e["keys"]):
                    stats["mfa_inflight_landed"] += 1
                    self.replay(cycle, e, "its in-flight delete landed", stats)
                    n += 1
            if plan.fire_kind == "mfa-delete":
                stats["mfa_in_kill"] += 1
            self.check_sanitizer(cycle)
            if self.problems:
                break
            print("crash-mfa cycle %d/%d ok: killed at %s; %d MFA deletes this cycle "
                  "(%d acknowledged)" % (cycle + 1, crash_lib.CYCLES, what, len(log),
                                         sum(1 for e in log if e["acked"])), flush=True)
        self.finish(cycle, ", ".join("%s %d" % kv for kv in sorted(stats.items())))
        self.assertGreaterEqual(stats["mfa_in_kill"], crash_lib.CYCLES // 2,
                                "too few kills inside an MFA delete")
        self.assertGreater(stats["replays"], 0, "no replayed code was checked")
        self.assertEqual(self.srv.stop(), 0, self.srv.log_tail())


if __name__ == "__main__":
    unittest.main()
