"""Shared helpers for Coffer's end-to-end tests.

Everything a test needs to talk to a running cofferd: the environment that run.sh exports,
starting/stopping a private server (crash and drain tests), boto3 client factories, a small
SigV4 signer for raw requests (header auth, presigned URLs, aws-chunked streaming payloads),
CRC32C/CRC64NVME in pure Python (botocore needs awscrt for those), and a unittest base class
that checks x-amz-request-id on every response boto3 sees.
"""

import base64
import binascii
import datetime
import hashlib
import hmac
import http.client
import json
import os
import random
import shutil
import signal
import socket
import ssl
import string
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

import boto3
import botocore
import botocore.httpchecksum
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = "us-east-1"
S3NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# ---------------------------------------------------------------------------------------------
# Name resolution: virtual-hosted style needs BUCKET.localhost to reach 127.0.0.1. glibc does not
# resolve *.localhost everywhere, so map localhost and any *.localhost to 127.0.0.1 (IPv4 only:
# cofferd listens on 127.0.0.1).

_real_getaddrinfo = socket.getaddrinfo


def _getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    if isinstance(host, bytes):
        host = host.decode()
    if isinstance(host, str) and (host == "localhost" or host.endswith(".localhost")):
        return _real_getaddrinfo("127.0.0.1", port, socket.AF_INET, type, proto, flags)
    return _real_getaddrinfo(host, port, family, type, proto, flags)


socket.getaddrinfo = _getaddrinfo

# ---------------------------------------------------------------------------------------------
# CRC32C and CRC64NVME (both reflected, init and xorout all ones), registered with botocore so
# that ChecksumAlgorithm='CRC32C'/'CRC64NVME' work without awscrt.


def _make_table(poly, bits):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C_TABLE = _make_table(0x82F63B78, 32)
_CRC64NVME_TABLE = _make_table(0x9A6C9329AC4BC9B5, 64)


def crc32c(data, crc=0):
    t = _CRC32C_TABLE
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def crc64nvme(data, crc=0):
    t = _CRC64NVME_TABLE
    m = 0xFFFFFFFFFFFFFFFF
    c = crc ^ m
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ m


assert crc32c(b"123456789") == 0xE3069283
assert crc64nvme(b"123456789") == 0xAE8B14860A799888


class _Crc32cChecksum(botocore.httpchecksum.BaseChecksum):
    def __init__(self):
        self._crc = 0

    def update(self, chunk):
        self._crc = crc32c(chunk, self._crc)

    def digest(self):
        return self._crc.to_bytes(4, "big")


class _Crc64NvmeChecksum(botocore.httpchecksum.BaseChecksum):
    def __init__(self):
        self._crc = 0

    def update(self, chunk):
        self._crc = crc64nvme(chunk, self._crc)

    def digest(self):
        return self._crc.to_bytes(8, "big")


for _name, _cls in (("crc32c", _Crc32cChecksum), ("crc64nvme", _Crc64NvmeChecksum)):
    if _name not in botocore.httpchecksum._CHECKSUM_CLS:
        botocore.httpchecksum._CHECKSUM_CLS[_name] = _cls
        botocore.httpchecksum._SUPPORTED_CHECKSUM_ALGORITHMS.append(_name)


def checksum_b64(algorithm, data):
    """The x-amz-checksum-* value of data for an S3 algorithm name (any case)."""
    a = algorithm.lower()
    if a == "crc32":
        raw = (binascii.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")
    elif a == "crc32c":
        raw = crc32c(data).to_bytes(4, "big")
    elif a == "crc64nvme":
        raw = crc64nvme(data).to_bytes(8, "big")
    elif a == "sha1":
        raw = hashlib.sha1(data).digest()
    elif a == "sha256":
        raw = hashlib.sha256(data).digest()
    else:
        raise ValueError(algorithm)
    return base64.b64encode(raw).decode()


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def md5_hex(data):
    return hashlib.md5(data).hexdigest()


# ---------------------------------------------------------------------------------------------
# Environment exported by run.sh


class Env:
    def __init__(self):
        e = os.environ
        self.bin = e.get("E2E_BIN", "bin")
        self.data = e.get("E2E_DATA", "")
        self.http_port = int(e.get("E2E_HTTP_PORT", "0"))
        self.tls_port = int(e.get("E2E_TLS_PORT", "0"))
        # The PostgreSQL run's second gateway on the same store (run.sh); 0: none.
        self.http_port2 = int(e.get("E2E_HTTP_PORT2", "0"))
        self.tls_port2 = int(e.get("E2E_TLS_PORT2", "0"))
        self.domain = e.get("E2E_DOMAIN", "localhost")
        self.ak = e.get("E2E_AK", "")
        self.sk = e.get("E2E_SK", "")
        self.account_id = e.get("E2E_ACCOUNT_ID", "")
        self.http = "http://127.0.0.1:%d" % self.http_port
        self.https = "https://127.0.0.1:%d" % self.tls_port
        self.ca = os.path.join(self.data, "tls", "cert.pem")
        self._second = None

    def second_account(self):
        """A second account, created on first use while the server runs."""
        if self._second is None:
            self._second = create_account(self.bin, self.data, "e2e-other-%s" % rand_suffix(6))
        return self._second


_env = None


def env():
    global _env
    if _env is None:
        _env = Env()
    return _env


def rand_suffix(n=8):
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def bucket_name(tag):
    return ("e2e-%s-%s" % (tag, rand_suffix(8))).lower()[:63]


# Tests that read or write meta.db with Python's sqlite3 (or test SQLite itself) are for the
# embedded store; the PostgreSQL run reports them skipped.
sqlite_only = unittest.skipIf(os.environ.get("E2E_META_PG"),
                              "reads or writes meta.db itself: the embedded store's")


def pg_meta():
    """The PostgreSQL run (E2E_META_PG=postgresql://USER@HOST:PORT/, scripts/pg.sh): a fresh
    database's URI for one store; None on the embedded default."""
    base = os.environ.get("E2E_META_PG")
    if not base:
        return None
    name = "e2e_" + rand_suffix(12)
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", base + "postgres", "-c",
                    "CREATE DATABASE " + name], check=True, capture_output=True, timeout=60)
    return base + name


def use_pg_meta(data):
    """On the PostgreSQL run, points the store in data at a fresh database: a 'meta =' line in
    data/cofferd.conf, which cofferd reads through --config and the coffer CLI by default.
    With E2E_BLOBS_RADOS=rados://POOL?conf=FILE (scripts/ceph.sh env) its object data goes to a
    namespace of its own in that pool too: a 'blobs =' line. Returns cofferd's extra
    arguments."""
    uri = pg_meta()
    if uri is None:
        return []
    conf = os.path.join(data, "cofferd.conf")
    with open(conf, "a") as f:
        f.write("meta = %s\n" % uri)
        if os.environ.get("E2E_BLOBS_RADOS"):
            f.write("blobs = %s\n" % shared_blobs(None))
    return ["--config", conf]


def shared_blobs(root):
    """A 'blobs =' value for gateways sharing one store under root: a fresh namespace of the
    E2E_BLOBS_RADOS pool on the PostgreSQL + RADOS run, else the directory root/blobs."""
    if os.environ.get("E2E_BLOBS_RADOS"):
        return "%s&ns=e2e_%s" % (os.environ["E2E_BLOBS_RADOS"], rand_suffix(12))
    os.makedirs(os.path.join(root, "blobs"), exist_ok=True)
    return "file:" + os.path.join(root, "blobs")


def store_blobs_url(data):
    """The rados:// URL of the store in data (its cofferd.conf's 'blobs ='), None for files."""
    try:
        with open(os.path.join(data, "cofferd.conf")) as f:
            for line in f:
                k, _, v = line.partition("=")
                if k.strip() == "blobs" and v.strip().startswith("rados://"):
                    return v.strip()
    except FileNotFoundError:
        pass
    return None


def data_in_rados(data=None):
    """Whether the store in data (default: the suite's) keeps its object data in RADOS."""
    return store_blobs_url(data or env().data) is not None


# Run by the system Python, which has Debian's python3-rados: blobs of one namespace as
# "<count> <bytes>" (a blob is its head object <id> and chunks <id>.<8 hex>), or, with
# "purge", every object of the namespace removed.
_RADOS_SCRIPT = r"""
import re, sys, urllib.parse, rados
u = urllib.parse.urlsplit(sys.argv[1]); q = urllib.parse.parse_qs(u.query)
c = rados.Rados(conffile=q["conf"][0], rados_id=q.get("id", ["admin"])[0]); c.connect(timeout=20)
io = c.open_ioctx(u.netloc); io.set_namespace(q["ns"][0])
ids, size = set(), 0
for o in io.list_objects():
    if sys.argv[2] == "purge":
        io.remove_object(o.key)
    elif re.fullmatch(r"[0-9a-f]{32}(\.[0-9a-f]{8})?", o.key):
        ids.add(o.key[:32]); size += io.stat(o.key)[0]
print(len(ids), size)
"""


def _rados_ns(url, what):
    r = subprocess.run(["/usr/bin/python3", "-c", _RADOS_SCRIPT, url, what], check=True,
                       capture_output=True, text=True, timeout=60)
    n, size = r.stdout.split()
    return int(n), int(size)


def store_blobs(data):
    """(count, bytes) of the object data of the store in data: the files under data/blobs, or
    the blobs in its RADOS namespace on the PostgreSQL + RADOS run."""
    url = store_blobs_url(data)
    if url is not None:
        return _rados_ns(url, "count")
    n = size = 0
    for root, _, files in os.walk(os.path.join(data, "blobs")):
        for f in files:
            n += 1
            size += os.path.getsize(os.path.join(root, f))
    return n, size


def create_account(bin_dir, data, name):
    out = subprocess.run(
        [os.path.join(bin_dir, "coffer"), "--data", data, "account", "create", name, "--json"],
        check=True, capture_output=True, text=True, timeout=60)
    j = json.loads(out.stdout)
    for k in ("account_id", "access_key_id", "secret_access_key"):
        if j.get(k) in (None, ""):
            raise RuntimeError("coffer account create: missing %s in %r" % (k, out.stdout))
        j[k] = str(j[k])
    return j


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------
# A private cofferd: the one way a test starts its own server (the crash, drain, fault, disk-full
# and multipart crash tests, test_iam without run.sh). Free loopback ports, a data directory (a
# fresh temp one unless given), ready when both ports answer; stop by SIGTERM with a timeout or
# kill -9; restart on the same ports and directory; the sanitizer report of its log. It signals
# only the PID it started.
#
#     srv = lib.Server(tag="crash")          # temp root under $E2E_TMP: root/data, root/cofferd.log
#     srv.start()                            # or start(timeout=60, keep_ports=True)
#     ak, sk = srv.account("crash")          # an account made by the admin CLI on its data dir
#     srv.kill(); srv.start(keep_ports=True) # kill -9 and restart (or srv.restart(kill=True))
#     self.assertEqual(srv.stop(), 0)        # SIGTERM: exit status, None if it had to be killed
#     report = srv.close()                   # kill if running, remove the temp root; returns
#                                            # the sanitizer report ('' when clean)


class Server:
    def __init__(self, bin_dir=None, data=None, domain=None, log=None, args=(), tag="cofferd",
                 admin_bin=None):
        """bin_dir: where cofferd is (default $E2E_BIN; the FAULT build for fault_test);
        admin_bin: where the coffer CLI is (default $E2E_BIN). data None: a fresh temp root
        (prefix tag, under $E2E_TMP) holding data/ and cofferd.log, removed by close();
        otherwise the caller's directory, which close() leaves alone."""
        self.bin = bin_dir or env().bin
        self.admin_bin = admin_bin or env().bin
        self.root = None
        if data is None:
            base = os.environ.get("E2E_TMP") or tempfile.gettempdir()
            self.root = tempfile.mkdtemp(prefix=tag + ".", dir=base)
            data = os.path.join(self.root, "data")
            os.makedirs(data)
            log = log or os.path.join(self.root, "cofferd.log")
        self.data = data
        self.domain = domain
        self.args = list(args)  # more cofferd options
        # The suites count data files right after a delete: no grace period
        # unless a test asks for one (readers are still protected by their
        # leases; test_data_lifetime.py runs its own grace).
        if "--reclaim-grace" not in self.args:
            self.args += ["--reclaim-grace", "0"]
        if ("--meta" not in self.args and "--config" not in self.args
                and not os.path.exists(os.path.join(data, "meta.db"))):
            self.args += use_pg_meta(data)
        self.log = log or os.path.join(data, "..", os.path.basename(data) + ".log")
        self.proc = None
        self.http_port = None
        self.tls_port = None

    @property
    def http(self):
        return "http://127.0.0.1:%d" % self.http_port

    @property
    def https(self):
        return "https://127.0.0.1:%d" % self.tls_port

    @property
    def host(self):
        return "127.0.0.1:%d" % self.http_port

    @property
    def ca(self):
        return os.path.join(self.data, "tls", "cert.pem")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def spawn(self, keep_ports=False):
        """Starts cofferd without waiting for it (crash tests kill it while it starts up).
        New free ports unless keep_ports (and it has had some)."""
        if not keep_ports or self.http_port is None:
            self.http_port = free_port()
            self.tls_port = free_port()
            while self.tls_port == self.http_port:
                self.tls_port = free_port()
        argv = [os.path.join(self.bin, "cofferd"), "--data", self.data,
                "--listen", "127.0.0.1:%d" % self.http_port,
                "--tls-listen", "127.0.0.1:%d" % self.tls_port]
        if self.domain:
            argv += ["--domain", self.domain]
        argv += self.args
        with open(self.log, "ab") as logf:
            self.proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)

    def wait_ready(self, timeout=30):
        """Until both ports answer. RuntimeError (with the log's tail) if cofferd exits first
        (proc.returncode tells how) or is not ready in time (it is then killed)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("cofferd exited with %s during startup; log %s:\n%s"
                                   % (self.proc.returncode, self.log, self.log_tail()))
            if port_open(self.http_port) and port_open(self.tls_port):
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("cofferd not ready after %ss; log:\n%s" % (timeout, self.log_tail()))

    def start(self, timeout=30, keep_ports=False):
        self.spawn(keep_ports=keep_ports)
        self.wait_ready(timeout)

    def restart(self, timeout=30, kill=False):
        """Stops cofferd (SIGTERM, or SIGKILL when kill) and starts it again on the same ports
        and data dir. Returns the stop's exit status."""
        rc = self.kill() if kill else self.stop()
        self.start(timeout=timeout, keep_ports=True)
        return rc

    def account(self, name):
        """Creates an account with the admin CLI on this data dir: its JSON (account_id,
        access_key_id, secret_access_key, all str)."""
        return create_account(self.admin_bin, self.data, name)

    def log_tail(self, n=30):
        try:
            with open(self.log, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def sanitizer_report(self):
        """Lines of an ASan/UBSan/LSan report in the log (sanitizer builds), else ''."""
        try:
            with open(self.log, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        for marker in ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer"):
            i = text.find(marker)
            if i >= 0:
                return text[max(0, i - 200):i + 3000]
        return ""

    def signal(self, sig):
        if self.running():
            os.kill(self.proc.pid, sig)

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit status (None if it had to be SIGKILLed)."""
        if self.proc is None:
            return None
        self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        """kill -9 and reap; returns the exit status (-SIGKILL, or how it ended before)."""
        if self.running():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
        return self.proc.returncode if self.proc else None

    def close(self):
        """For tearDown: kills cofferd if it still runs, removes the temp root this Server
        made, and returns the sanitizer report of its log ('' when clean)."""
        self.kill()
        report = self.sanitizer_report()
        if self.root is not None:
            url = store_blobs_url(self.data)
            if url is not None:  # the OSD keeps its objects in memory (scripts/ceph.sh)
                _rados_ns(url, "purge")
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
        return report


# ---------------------------------------------------------------------------------------------
# boto3 clients. Every response passes through check_request_id, which records responses that
# lack x-amz-request-id; E2ETestCase fails a test that saw one.

MISSING_REQUEST_ID = []


def _check_request_id(response_dict=None, operation_model=None, **kw):
    if response_dict is None:
        return
    h = {k.lower(): v for k, v in response_dict.get("headers", {}).items()}
    if not h.get("x-amz-request-id"):
        MISSING_REQUEST_ID.append("%s -> %s" % (operation_model.name if operation_model else "?",
                                                response_dict.get("status_code")))


def client(ak=None, sk=None, endpoint=None, addressing="path", https=False, verify=None,
           alternate=True, **config):
    e = env()
    if endpoint is None:
        endpoint = e.https if https else e.http
    if verify is None:
        verify = e.ca if endpoint.startswith("https") else None
    cfg = dict(signature_version="s3v4", region_name=REGION,
               s3={"addressing_style": addressing},
               retries={"max_attempts": 1, "mode": "standard"},
               connect_timeout=10, read_timeout=20)
    cfg.update(config)
    c = boto3.session.Session().client(
        "s3", endpoint_url=endpoint, aws_access_key_id=ak or e.ak,
        aws_secret_access_key=sk or e.sk, region_name=REGION, verify=verify,
        config=Config(**cfg))
    c.meta.events.register("before-parse.s3.*", _check_request_id)
    if alternate:
        _alternate(c)
    return c


def _alternate(c):
    """With run.sh's second gateway (E2E_HTTP_PORT2): every other request of client c goes to
    it instead of the suite's server, so each test's requests alternate between two gateways
    of one store. The Host header is fixed before signing: the signature holds on either."""
    e = env()
    other = {e.http_port: e.http_port2, e.tls_port: e.tls_port2}
    if not e.http_port2:
        return
    n = [0]

    def host_first(request, **kw):
        if "Host" not in request.headers:
            request.headers["Host"] = urllib.parse.urlsplit(request.url).netloc

    def switch(request, **kw):
        n[0] += 1
        u = urllib.parse.urlsplit(request.url)
        if n[0] % 2 == 0 and u.port in other:
            request.url = u._replace(netloc="%s:%d" % (u.hostname, other[u.port])).geturl()

    c.meta.events.register("before-sign.s3.*", host_first)
    c.meta.events.register("before-send.s3.*", switch)


def vhost_client(https=False, **kw):
    """Virtual-hosted addressing: http://BUCKET.localhost:PORT/KEY."""
    e = env()
    port = e.tls_port if https else e.http_port
    scheme = "https" if https else "http"
    return client(endpoint="%s://%s:%d" % (scheme, e.domain, port), addressing="virtual",
                  https=https, **kw)


def other_client(https=False, **kw):
    o = env().second_account()
    return client(ak=o["access_key_id"], sk=o["secret_access_key"], https=https, **kw)


def empty_bucket(c, bucket):
    try:
        while True:
            r = c.list_objects_v2(Bucket=bucket)
            keys = [{"Key": o["Key"]} for o in r.get("Contents", [])]
            if not keys:
                break
            for i in range(0, len(keys), 1000):
                c.delete_objects(Bucket=bucket, Delete={"Objects": keys[i:i + 1000],
                                                        "Quiet": True})
    except ClientError:
        pass


def delete_bucket(c, bucket):
    empty_bucket(c, bucket)
    try:
        c.delete_bucket(Bucket=bucket)
    except ClientError:
        pass


# ---------------------------------------------------------------------------------------------
# SigV4 for raw requests (own implementation; test_auth cross-checks it against botocore)


def uri_encode(s, keep_slash=False):
    if isinstance(s, str):
        s = s.encode("utf-8")
    safe = b"-_.~" + (b"/" if keep_slash else b"")
    out = []
    for b in s:
        c = bytes([b])
        if c.isalnum() and b < 128 or c in safe:
            out.append(c.decode())
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def amz_now(offset_s=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_s)
    return t.strftime("%Y%m%dT%H%M%SZ")


def signing_key(sk, date, region=REGION, service="s3"):
    k = hmac.new(("AWS4" + sk).encode(), date.encode(), hashlib.sha256).digest()
    k = hmac.new(k, region.encode(), hashlib.sha256).digest()
    k = hmac.new(k, service.encode(), hashlib.sha256).digest()
    return hmac.new(k, b"aws4_request", hashlib.sha256).digest()


def canonical_query(query):
    """query: list of (name, value) with value None for a bare name like ?acl."""
    pairs = [(uri_encode(k), uri_encode(v if v is not None else "")) for k, v in query]
    pairs.sort()
    return "&".join("%s=%s" % kv for kv in pairs)


def raw_query(query):
    parts = []
    for k, v in query:
        parts.append(uri_encode(k) if v is None else "%s=%s" % (uri_encode(k), uri_encode(v)))
    return "&".join(parts)


class Signed:
    """A signed request ready to send: method, path (already encoded), query string, headers."""

    def __init__(self, method, path, query, headers, body, signature, amz_date, scope, skey):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.signature = signature
        self.amz_date = amz_date
        self.scope = scope
        self.signing_key = skey

    @property
    def target(self):
        return self.path + ("?" + self.query if self.query else "")


def sign(method, path, query=(), headers=None, body=b"", host=None, ak=None, sk=None,
         payload_hash=None, amz_date=None, region=REGION, encoded_path=None):
    """Sign with SigV4 (Authorization header). path is the decoded path ("/bucket/key");
    encoded_path, if given, is sent and signed verbatim (to send invalid encodings)."""
    e = env()
    ak = ak or e.ak
    sk = sk or e.sk
    headers = dict(headers or {})
    amz_date = amz_date or amz_now()
    date = amz_date[:8]
    if host is None:
        host = "127.0.0.1:%d" % e.http_port
    if payload_hash is None:
        payload_hash = hashlib.sha256(body if isinstance(body, bytes) else b"").hexdigest()
    hl = {k.lower(): k for k in headers}
    if "host" not in hl:
        headers["Host"] = host
    headers["x-amz-date"] = amz_date
    headers["x-amz-content-sha256"] = payload_hash
    epath = encoded_path if encoded_path is not None else uri_encode(path, keep_slash=True)
    query = list(query)
    signed = sorted({k.lower() for k in headers
                     if k.lower() in ("host", "content-md5", "content-type")
                     or k.lower().startswith("x-amz-")})
    hv = {}
    for k, v in headers.items():
        if k.lower() in signed:
            hv[k.lower()] = " ".join(str(v).strip().split())
    canon_headers = "".join("%s:%s\n" % (k, hv[k]) for k in signed)
    creq = "\n".join([method, epath, canonical_query(query), canon_headers, ";".join(signed),
                      payload_hash])
    scope = "%s/%s/s3/aws4_request" % (date, region)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    skey = signing_key(sk, date, region)
    sig = hmac.new(skey, sts.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
                                "Signature=%s" % (ak, scope, ";".join(signed), sig))
    return Signed(method, epath, raw_query(query), headers, body, sig, amz_date, scope, skey)


def presign(method, path, expires=300, query=(), host=None, ak=None, sk=None, amz_date=None,
            region=REGION):
    """A presigned URL path+query (host-only signed headers, UNSIGNED-PAYLOAD)."""
    e = env()
    ak = ak or e.ak
    sk = sk or e.sk
    amz_date = amz_date or amz_now()
    date = amz_date[:8]
    if host is None:
        host = "127.0.0.1:%d" % e.http_port
    scope = "%s/%s/s3/aws4_request" % (date, region)
    q = list(query) + [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
                       ("X-Amz-Credential", "%s/%s" % (ak, scope)),
                       ("X-Amz-Date", amz_date), ("X-Amz-Expires", str(expires)),
                       ("X-Amz-SignedHeaders", "host")]
    epath = uri_encode(path, keep_slash=True)
    creq = "\n".join([method, epath, canonical_query(q), "host:%s\n" % host, "host",
                      "UNSIGNED-PAYLOAD"])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    sig = hmac.new(signing_key(sk, date, region), sts.encode(), hashlib.sha256).hexdigest()
    q.append(("X-Amz-Signature", sig))
    return epath + "?" + raw_query(q)


# ---------------------------------------------------------------------------------------------
# aws-chunked bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], STREAMING-UNSIGNED-...)


def chunk_sig(skey, amz_date, scope, prev_sig, data):
    sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev_sig, EMPTY_SHA256,
                     hashlib.sha256(data).hexdigest()])
    return hmac.new(skey, sts.encode(), hashlib.sha256).hexdigest()


def trailer_sig(skey, amz_date, scope, prev_sig, trailer_bytes):
    sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, prev_sig,
                     hashlib.sha256(trailer_bytes).hexdigest()])
    return hmac.new(skey, sts.encode(), hashlib.sha256).hexdigest()


def split_chunks(data, size):
    return [data[i:i + size] for i in range(0, len(data), size)]


def signed_chunked_body(signed, chunks, trailers=None, tamper=None):
    """Encode chunks with chunk signatures chained from the seed signature. trailers: list of
    (name, value) for the -TRAILER variant. tamper(i, data) -> data alters chunk i's data after
    it was signed."""
    prev = signed.signature
    out = []
    for i, data in enumerate(list(chunks) + [b""]):
        sig = chunk_sig(signed.signing_key, signed.amz_date, signed.scope, prev, data)
        sent = tamper(i, data) if tamper else data
        out.append(b"%x;chunk-signature=%s\r\n" % (len(sent), sig.encode()))
        if sent:
            out.append(sent + b"\r\n")
        prev = sig
    if trailers is not None:
        tb = b"".join(b"%s:%s\n" % (k.encode(), v.encode()) for k, v in trailers)
        tsig = trailer_sig(signed.signing_key, signed.amz_date, signed.scope, prev, tb)
        out.append(tb.replace(b"\n", b"\r\n"))
        out.append(b"x-amz-trailer-signature:%s\r\n" % tsig.encode())
    out.append(b"\r\n")
    return b"".join(out)


def unsigned_chunked_body(chunks, trailers):
    out = []
    for data in chunks:
        out.append(b"%x\r\n%s\r\n" % (len(data), data))
    out.append(b"0\r\n")
    for k, v in trailers:
        out.append(b"%s:%s\r\n" % (k.encode(), v.encode()))
    out.append(b"\r\n")
    return b"".join(out)


# ---------------------------------------------------------------------------------------------
# Raw HTTP


def ssl_context(ca=None):
    ctx = ssl.create_default_context(cafile=ca or env().ca)
    return ctx


def connect(https=False, port=None, timeout=30):
    e = env()
    if https:
        return http.client.HTTPSConnection("127.0.0.1", port or e.tls_port, timeout=timeout,
                                           context=ssl_context())
    return http.client.HTTPConnection("127.0.0.1", port or e.http_port, timeout=timeout)


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-cased name -> value (last wins)
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def error(self):
        """(Code, Message) from an S3 XML error body, (None, None) if there is none."""
        return parse_error(self.body)

    def __repr__(self):
        return "<%d %s %r %r>" % (self.status, self.reason, self.headers, self.body[:600])


def parse_error(body):
    if not body:
        return None, None
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None, None
    return root.findtext("Code"), root.findtext("Message")


def send(method, target, headers=None, body=b"", https=False, conn=None, port=None,
         skip_host=False):
    """Send one request (target is the encoded path+query) and read the whole response."""
    own = conn is None
    if own:
        conn = connect(https, port=port)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        hdrs = dict(headers or {})
        if not skip_host and not any(k.lower() == "host" for k in hdrs):
            hdrs["Host"] = "127.0.0.1:%d" % (port or (env().tls_port if https
                                                         else env().http_port))
        chunked = any(k.lower() == "transfer-encoding" for k in hdrs)
        if body and not chunked and not any(k.lower() == "content-length" for k in hdrs):
            hdrs["Content-Length"] = str(len(body))
        if (method in ("PUT", "POST") and not body and not chunked
                and not any(k.lower() == "content-length" for k in hdrs)):
            hdrs["Content-Length"] = "0"
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body:
            conn.send(body)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, r.reason, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        if own:
            conn.close()


def send_signed(s, https=False, conn=None, port=None, extra_headers=None):
    h = dict(s.headers)
    if extra_headers:
        h.update(extra_headers)
    return send(s.method, s.target, h, s.body, https=https, conn=conn, port=port)


def host_for(https=False):
    e = env()
    return "127.0.0.1:%d" % (e.tls_port if https else e.http_port)


def signed_request(method, path, query=(), headers=None, body=b"", https=False, conn=None,
                   **kw):
    kw.setdefault("host", host_for(https))
    s = sign(method, path, query, headers, body, **kw)
    return send_signed(s, https=https, conn=conn)


# ---------------------------------------------------------------------------------------------
# Raw socket HTTP/1.1 response reader (pipelining, 100-continue)


class RawConn:
    def __init__(self, https=False, port=None, timeout=30):
        e = env()
        port = port or (e.tls_port if https else e.http_port)
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if https:
            s = ssl_context().wrap_socket(s, server_hostname="localhost")
        self.sock = s
        self.buf = b""

    def sendall(self, data):
        self.sock.sendall(data)

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def read_until(self, sep):
        while sep not in self.buf:
            self._fill()
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_n(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, head=False):
        """Read one response; returns Response. Handles Content-Length and chunked."""
        hdr = self.read_until(b"\r\n\r\n").decode("latin-1")
        lines = hdr.split("\r\n")
        parts = lines[0].split(" ", 2)
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = {}
        for ln in lines[1:]:
            if ":" in ln:
                k, v = ln.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        body = b""
        if head or status in (100, 204, 304) or 100 <= status < 200:
            return Response(status, reason, headers, body)
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int(self.read_until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    self.read_until(b"\r\n")
                    break
                body += self.read_n(size)
                self.read_n(2)
        elif "content-length" in headers:
            body = self.read_n(int(headers["content-length"]))
        else:
            while True:
                try:
                    self._fill()
                except EOFError:
                    break
            body, self.buf = self.buf, b""
        return Response(status, reason, headers, body)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def request_bytes(method, target, headers, body=b""):
    lines = ["%s %s HTTP/1.1" % (method, target)]
    for k, v in headers.items():
        lines.append("%s: %s" % (k, v))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def signed_bytes(s, extra_headers=None):
    h = dict(s.headers)
    if extra_headers:
        h.update(extra_headers)
    if s.body and not any(k.lower() in ("content-length", "transfer-encoding") for k in h):
        h["Content-Length"] = str(len(s.body))
    if s.method in ("PUT", "POST") and not s.body and not any(
            k.lower() in ("content-length", "transfer-encoding") for k in h):
        h["Content-Length"] = "0"
    return request_bytes(s.method, s.target, h, s.body)


# ---------------------------------------------------------------------------------------------
# unittest base


class E2ETestCase(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        del MISSING_REQUEST_ID[:]

    def tearDown(self):
        if MISSING_REQUEST_ID:
            missing = list(MISSING_REQUEST_ID)
            del MISSING_REQUEST_ID[:]
            self.fail("responses without x-amz-request-id: %s" % ", ".join(missing[:10]))

    def assertS3Error(self, code, status, fn, *args, head=False, **kwargs):
        """fn(*args, **kwargs) must raise ClientError with this Code and HTTP status; the
        Message must be non-empty (unless HEAD, which carries no body)."""
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kwargs)
        r = cm.exception.response
        got = (r["Error"].get("Code"), r["ResponseMetadata"]["HTTPStatusCode"])
        self.assertEqual(got, (code, status), "error response: %r" % (r,))
        if not head:
            self.assertTrue(r["Error"].get("Message"), "empty error Message: %r" % (r,))
        self.assertTrue(r["ResponseMetadata"].get("RequestId")
                        or r["ResponseMetadata"]["HTTPHeaders"].get("x-amz-request-id"),
                        "no request id: %r" % (r,))
        return r

    def assertStatus(self, code, fn, *args, **kwargs):
        """fn must raise ClientError with this HTTP status (304 and friends); returns it."""
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kwargs)
        r = cm.exception.response
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], code, repr(r))
        return r

    def assertRawError(self, resp, status, code):
        """A raw Response must be an S3 XML error with this status and Code, a non-empty
        Message and an x-amz-request-id header."""
        got_code, msg = resp.error()
        self.assertEqual((resp.status, got_code), (status, code), repr(resp))
        self.assertTrue(msg, "empty Message: %r" % (resp,))
        self.assertTrue(resp.header("x-amz-request-id"), "no x-amz-request-id: %r" % (resp,))

    def assertRawOK(self, resp, status=200):
        self.assertEqual(resp.status, status, repr(resp))
        self.assertTrue(resp.header("x-amz-request-id"), "no x-amz-request-id: %r" % (resp,))
