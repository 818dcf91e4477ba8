"""Shared machinery of the kill -9 tests for one operation family each: crash_multipart_test.py
(CompleteMultipartUpload, UploadPart, AbortMultipartUpload), crash_mfa_test.py (versioned
deletes with x-amz-mfa) and crash_delete_objects_test.py (POST ?delete). crash_test.py, the
first crash test (PUT/DELETE), is self-contained.

Each test owns a cofferd (lib.Server) on a temp data dir and kills only that PID. A cycle:
worker threads run operations, each thread on its own keys so a key's operations are
sequential; the main thread SIGKILLs cofferd; cofferd restarts on the same data dir (same
ports, so clients are reused; now and then it is killed once more while starting up); every
key is checked against a model that holds its last acknowledged state and the state the
operation in flight at the kill would leave. A key may be in either; nothing else is allowed.
A transport error before the kill, or an error answer from the live server, is a failure too.

When to kill (KillPlan): after a random delay the plan is armed; the next operation of a
target kind to start (a completion, an MFA delete, a DeleteObjects...) sets the kill for a
random moment within that kind's usual duration, measured on the operations acknowledged so
far. Most kills thus land inside the operation under test, at any point of it: request still
being sent, handler running, commit done but answer not sent. If no such operation starts soon
enough, or the cycle has no target kind (every seventh), the kill comes at a random moment
anyway. All choices derive from the printed seed (CRASH_SEED=N repeats them; thread timing is
not reproducible).

    CRASH_CYCLES=N   cycles per test (default 20)
    CRASH_SEED=N     seed (default: time)
"""

import collections
import hashlib
import os
import random
import signal
import threading
import time
import traceback

import boto3
import botocore.handlers
from botocore.config import Config
from botocore.exceptions import ClientError

import lib

MiB = 1024 * 1024
ABSENT = "ABSENT"
DM = "DELETE-MARKER"  # the "md5" of a delete marker in the version model
NEW = "NEW"           # a version id the model does not know yet (in-flight PUT or marker)
CYCLES = int(os.environ.get("CRASH_CYCLES", "20"))


def seed_from_env():
    return int(os.environ.get("CRASH_SEED", str(time.time_ns() % 10 ** 9)))


def md5(data):
    return hashlib.md5(data).hexdigest()


class Stop(Exception):
    """The cycle's kill came: the worker returns, its operation stays in flight."""


class Bodies:
    """Random bodies cut from one pool of random bytes, each with 16 fresh random bytes first so
    no two are alike (os.urandom for every megabyte would dominate the cycle time)."""

    def __init__(self, pool=6 * MiB):
        self.pool = os.urandom(pool)

    def make(self, rng, n):
        if n <= 16:
            return os.urandom(n)
        off = rng.randrange(0, len(self.pool) - (n - 16) + 1)
        return os.urandom(16) + self.pool[off:off + n - 16]

    def small_or_file(self, rng, p_empty=0.1, p_file=0.25, file_max=512 * 1024):
        """0 B, inline (< 64 KiB) or file-backed (100 KiB..file_max)."""
        p = rng.random()
        if p < p_empty:
            return b""
        if p < 1 - p_file:
            return self.make(rng, rng.randint(1, 64 * 1024 - 1))
        return self.make(rng, rng.randint(100 * 1024, file_max))


class Latency:
    """Recent durations of acknowledged operations, by kind."""

    def __init__(self):
        self.lock = threading.Lock()
        self.d = collections.defaultdict(lambda: collections.deque(maxlen=30))

    def add(self, kind, dt):
        with self.lock:
            self.d[kind].append(dt)

    def typical(self, kind, default=0.02):
        with self.lock:
            v = sorted(self.d[kind])
        return v[len(v) // 2] if v else default


_tl = threading.local()  # the operation this thread is running: plan, fire, t_sent, t_recv


def _before_send(**kw):
    _tl.t_sent = time.monotonic()
    plan = getattr(_tl, "plan", None)
    if plan is not None and getattr(_tl, "fire", False):
        plan.t_sent = _tl.t_sent
        plan.sent.set()


def _before_parse(**kw):
    _tl.t_recv = time.monotonic()


class KillPlan:
    """One cycle's kill (see the module docstring). Workers call op(kind, fn, ...) for every
    request; the main thread calls execute(server). Durations are measured from the moment
    botocore sends the request to the moment the answer is in (signing and parsing are not
    the server's time), and the kill comes at a random point of that span."""

    def __init__(self, rng, targets, latency, arm_after, patience=1.5):
        self.rng = rng
        self.targets = set(targets)
        self.latency = latency
        self.arm_after = arm_after
        self.patience = patience
        self.armed = threading.Event()
        self.fired = threading.Event()
        self.sent = threading.Event()
        self.kill_sent = threading.Event()
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.fire_kind = None
        self.t_sent = None
        self.early = []  # transport errors before the kill: the server failed by itself

    def starting(self, kind):
        """Called before every request (and while idle): raises Stop once the kill is done;
        makes this request the kill's target if the plan is armed for its kind."""
        _tl.fire = False
        if self.stopped.is_set():
            raise Stop()
        if self.armed.is_set() and kind in self.targets and not self.fired.is_set():
            with self.lock:
                if not self.fired.is_set():
                    self.fire_kind = kind
                    _tl.fire = True
                    self.fired.set()

    def op(self, kind, fn, *args, **kwargs):
        """Runs one request. Returns its result (acknowledged); raises Stop if the kill left it
        without an answer; a ClientError is a real answer from a live server and propagates."""
        self.starting(kind)
        _tl.plan, _tl.t_sent, _tl.t_recv = self, None, None
        try:
            r = fn(*args, **kwargs)
        except ClientError:
            raise
        except Exception as e:  # connection refused/reset, truncated answer...
            if not self.kill_sent.is_set():
                self.early.append("%s failed before the kill: %r" % (kind, e))
            raise Stop()
        finally:
            _tl.plan = None
            _tl.fire = False
        if _tl.t_sent is not None and _tl.t_recv is not None:
            self.latency.add(kind, _tl.t_recv - _tl.t_sent)
        return r

    def execute(self, srv):
        """Waits, SIGKILLs srv (its own PID), returns a short description of the moment."""
        time.sleep(self.arm_after)
        what = "random moment"
        if self.targets:
            self.armed.set()
            if self.fired.wait(self.patience) and self.sent.wait(5):
                typical = self.latency.typical(self.fire_kind)
                delay = self.rng.uniform(0, 1.2 * typical)
                left = self.t_sent + delay - time.monotonic()
                if left > 0:
                    time.sleep(left)
                what = "%.1f ms into a %s (typically %.1f ms)" % (
                    delay * 1000, self.fire_kind, typical * 1000)
            else:
                what = "random moment (no %s started)" % "/".join(sorted(self.targets))
        self.kill_sent.set()
        srv.signal(signal.SIGKILL)
        self.stopped.set()
        srv.proc.wait(30)
        return what


_session_lock = threading.Lock()
_session = [None]


def client(srv, ak, sk, https=False, read_timeout=30):
    """A boto3 S3 client for our own server: path style, no retries, no Expect: 100-continue
    (botocore's keep-alive handling of it would blur what these tests measure)."""
    with _session_lock:
        if _session[0] is None:
            _session[0] = boto3.session.Session()
        c = _session[0].client(
            "s3", endpoint_url=srv.https if https else srv.http, aws_access_key_id=ak,
            aws_secret_access_key=sk, region_name=lib.REGION,
            verify=os.path.join(srv.data, "tls", "ca.pem") if https else None,
            config=Config(signature_version="s3v4", region_name=lib.REGION,
                          s3={"addressing_style": "path"},
                          retries={"max_attempts": 1, "mode": "standard"},
                          connect_timeout=5, read_timeout=read_timeout,
                          max_pool_connections=4))
    c.meta.events.register("before-parse.s3.*", lib._check_request_id)
    c.meta.events.register("before-parse.s3.*", _before_parse)
    c.meta.events.register("before-send.s3", _before_send)
    c.meta.events.unregister("before-call.s3", botocore.handlers.add_expect_header)
    return c


def error_code(e):
    return e.response.get("Error", {}).get("Code")


class CrashCase(lib.E2ETestCase):
    """A private cofferd on a temp data dir; start/restart/kill helpers and the cycle loop."""

    tag = "crash"

    def setUp(self):
        super().setUp()
        self.srv = lib.Server(tag=self.tag)
        self.data = self.srv.data
        self.startup = []  # seconds each start took until both ports answered
        self.kills_in_startup = 0
        self.seed = seed_from_env()
        print("%s seed %d (CRASH_SEED=%d repeats the choices)" % (self.tag, self.seed, self.seed),
              flush=True)
        self.rng = random.Random(self.seed)
        self.latency = Latency()
        self.problems = []
        self.t_start = time.time()
        # run.sh's timeout SIGTERMs us: take our cofferd (only that PID) along
        srv = self.srv

        def on_term(signum, frame):
            srv.kill()
            raise SystemExit(128 + signum)

        self.old_term = signal.signal(signal.SIGTERM, on_term)

    def tearDown(self):
        signal.signal(signal.SIGTERM, self.old_term)
        report = self.srv.close()
        super().tearDown()
        self.assertEqual(report, "", "sanitizer report in cofferd log (seed %d)" % self.seed)

    def problem(self, cycle, msg):
        self.problems.append("cycle %s: %s" % (cycle, msg))

    def account(self, name):
        a = self.srv.account(name)
        return a["access_key_id"], a["secret_access_key"]

    def restart(self, cycle):
        """Starts cofferd again on the same data dir and ports. In about one cycle in six it is
        first killed again while starting up (at a random point of its usual start-up time),
        so start-up work (the orphan sweep) is interrupted too."""
        if self.rng.random() < 0.15 and self.startup:
            self.srv.spawn(keep_ports=True)
            time.sleep(self.rng.uniform(0, sorted(self.startup)[len(self.startup) // 2]))
            self.srv.kill()
            self.kills_in_startup += 1
        t = time.monotonic()
        try:
            self.srv.start(timeout=60, keep_ports=True)
        except RuntimeError as e:
            self.fail("restart after SIGKILL in cycle %d failed (seed %d): %s"
                      % (cycle, self.seed, e))
        self.startup.append(time.monotonic() - t)

    def plan(self, targets, arm=(0.2, 0.9), patience=1.5):
        return KillPlan(random.Random(self.rng.random()), targets, self.latency,
                        self.rng.uniform(*arm), patience)

    def run_cycle(self, cycle, plan, workers):
        """workers: callables (each gets its own seeded Random) run in threads until the kill.
        Returns the description of the kill moment. Worker exceptions other than Stop (a
        ClientError from the live server, a model mismatch) are problems."""
        errors = []

        def wrap(fn, rng):
            try:
                fn(rng)
            except Stop:
                pass
            except Exception:
                errors.append(traceback.format_exc())

        ts = [threading.Thread(target=wrap, args=(fn, random.Random(self.rng.random())))
              for fn in workers]
        for t in ts:
            t.start()
        what = plan.execute(self.srv)
        for t in ts:
            t.join(90)
            self.assertFalse(t.is_alive(), "worker stuck after SIGKILL (seed %d)" % self.seed)
        self.assertEqual(self.srv.proc.returncode, -signal.SIGKILL,
                         "cofferd exited by itself before the kill: %s\n%s"
                         % (self.srv.proc.returncode, self.srv.log_tail()))
        for e in errors:
            self.problem(cycle, "worker failed against the live server:\n" + e)
        for e in plan.early:
            self.problem(cycle, e)
        return what

    def check_sanitizer(self, cycle):
        report = self.srv.sanitizer_report()
        if report:
            self.problem(cycle, "sanitizer report in cofferd log:\n" + report)

    def finish(self, cycle, summary):
        self.assertEqual(self.problems, [], "seed %d" % self.seed)
        print("%s: %d cycles in %.1fs (%d kills during start-up); %s"
              % (self.tag, cycle + 1, time.time() - self.t_start, self.kills_in_startup,
                 summary), flush=True)

    def blob_files(self):
        """Data files under DATA/blobs and DATA/tmp."""
        out = []
        for sub in ("blobs", "tmp"):
            for root, _, files in os.walk(os.path.join(self.data, sub)):
                out += [os.path.join(root, f) for f in files]
        return out

    def assert_clean_restart_leaves_no_files(self):
        """After everything was deleted: a clean stop and start (whose sweep removes files a
        kill orphaned) must leave no data file behind."""
        self.assertEqual(self.srv.stop(), 0, self.srv.log_tail())
        self.srv.start(timeout=60, keep_ports=True)
        left = self.blob_files()
        self.assertEqual(left, [], "data files left after deleting everything (seed %d)"
                         % self.seed)


# ---------------------------------------------------------------------------------------------
# Versioned keys: the model and its check after a restart


class VKey:
    """One key of a versioned bucket. versions: acknowledged, oldest first, each
    [version_id, md5 or DM, size]. pending: the effects of the operation in flight on this key
    (all or none of them may have happened): ("put", md5, size), ("dm",), ("rm", vid).
    removed: version ids whose removal was acknowledged since the last check."""

    def __init__(self, name):
        self.name = name
        self.versions = []
        self.pending = None
        self.removed = []
        self.landed = None  # last check: did the in-flight operation land (None: none)

    def vids(self):
        return [v[0] for v in self.versions]

    def after(self):
        out = [list(v) for v in self.versions]
        for e in self.pending or ():
            if e[0] == "put":
                out.append([NEW, e[1], e[2]])
            elif e[0] == "dm":
                out.append([NEW, DM, 0])
            elif e[0] == "rm":
                out = [v for v in out if v[0] != e[1]]
            else:
                raise ValueError(e)
        return out

    def ack(self, new_vids=()):
        """The in-flight operation was acknowledged; new_vids: the version ids it created, in
        order (one per "put"/"dm")."""
        self.versions = self.resolve(self.after(), list(new_vids))
        for e in self.pending or ():
            if e[0] == "rm":
                self.removed.append(e[1])
        self.pending = None

    @staticmethod
    def resolve(vs, new_vids):
        out = []
        for v in vs:
            if v[0] == NEW:
                v = [new_vids.pop(0), v[1], v[2]]
            out.append(v)
        return out


def list_versions(c, bucket):
    """{key: {vid: (md5 or DM, size, is_latest)}} from ListObjectVersions (all pages)."""
    out = collections.defaultdict(dict)
    kw = {}
    while True:
        r = c.list_object_versions(Bucket=bucket, **kw)
        for v in r.get("Versions", []):
            out[v["Key"]][v["VersionId"]] = (v["ETag"].strip('"'), v["Size"], v["IsLatest"])
        for m in r.get("DeleteMarkers", []):
            out[m["Key"]][m["VersionId"]] = (DM, 0, m["IsLatest"])
        if not r.get("IsTruncated"):
            return out
        kw = dict(KeyMarker=r["NextKeyMarker"], VersionIdMarker=r["NextVersionIdMarker"])


def _match(cand, seen, known):
    """cand: model versions (oldest first, maybe NEW); seen: {vid: (md5|DM, size, latest)}.
    Returns the resolved version list, or None if seen is not cand."""
    if len(cand) != len(seen):
        return None
    unknown = [v for v in seen if v not in known]
    out = []
    for v in cand:
        if v[0] == NEW:
            if not unknown:
                return None
            vid = unknown.pop(0)
        else:
            vid = v[0]
        if vid not in seen or seen[vid][0] != v[1] or seen[vid][1] != v[2]:
            return None
        out.append([vid, v[1], v[2]])
    if unknown:
        return None
    latest = [vid for vid, x in seen.items() if x[2]]
    if out and latest != [out[-1][0]]:
        return None
    return out


def check_versioned(case, c, bucket, vkeys, cycle, stats, get_versions=True):
    """Checks every key of vkeys ({name: VKey}) after a restart: the listing holds exactly the
    acknowledged versions or exactly what the in-flight operation would leave; every version
    reads back with its bytes; GET without versionId agrees with the latest; versions removed
    since the last check are gone. Updates the model to what was seen."""
    listing = list_versions(c, bucket)
    for k in set(listing) - set(vkeys):
        case.problem(cycle, "%s: unexpected key %r in the version listing: %r"
                     % (bucket, k, listing[k]))
    for name, vk in sorted(vkeys.items()):
        seen = listing.get(name, {})
        known = set(vk.vids()) | {e[1] for e in vk.pending or () if e[0] == "rm"}
        before = _match(vk.versions, seen, known)
        after = _match(vk.after(), seen, known) if vk.pending else None
        if before is None and after is None:
            case.problem(cycle, "%s/%s: versions %r; acknowledged %r, in flight %r"
                         % (bucket, name, seen, vk.versions, vk.pending))
            continue
        vk.landed = None if not vk.pending else before is None
        if before is None:
            stats["landed"] += 1
            for e in vk.pending:
                if e[0] == "rm":
                    vk.removed.append(e[1])
        elif vk.pending:
            stats["not_landed"] += 1
        vk.versions = before if before is not None else after
        vk.pending = None
        if get_versions:
            for vid, m, size in vk.versions:
                if m == DM:
                    continue
                try:
                    got = c.get_object(Bucket=bucket, Key=name, VersionId=vid)["Body"].read()
                except ClientError as e:
                    case.problem(cycle, "%s/%s?versionId=%s listed but GET says %s"
                                 % (bucket, name, vid, error_code(e)))
                    continue
                if md5(got) != m:
                    case.problem(cycle, "%s/%s?versionId=%s: %d bytes md5 %s, expected %d md5 %s"
                                 % (bucket, name, vid, len(got), md5(got), size, m))
                stats["versions_read"] += 1
        for vid in vk.removed:
            try:
                c.get_object(Bucket=bucket, Key=name, VersionId=vid)["Body"].read()
                case.problem(cycle, "%s/%s?versionId=%s was removed but GET returns it"
                             % (bucket, name, vid))
            except ClientError as e:
                if error_code(e) != "NoSuchVersion":
                    case.problem(cycle, "%s/%s?versionId=%s removed: GET says %s, not "
                                 "NoSuchVersion" % (bucket, name, vid, error_code(e)))
        vk.removed = []
        latest = vk.versions[-1] if vk.versions else None
        try:
            got = md5(c.get_object(Bucket=bucket, Key=name)["Body"].read())
        except ClientError as e:
            got = ABSENT if error_code(e) == "NoSuchKey" else error_code(e)
        want = ABSENT if latest is None or latest[1] == DM else latest[1]
        if got != want:
            case.problem(cycle, "%s/%s: GET gives %s, latest version says %s"
                         % (bucket, name, got, want))
