"""Helpers for the MFA-delete end-to-end tests (test_mfa.py).

TOTP codes (RFC 6238, HMAC-SHA1, 30 s, 6 digits) computed here; accounts with their own root
key, virtual MFA devices made through the IAM API on the same endpoint, IAM users, session
credentials, the AWS CLI and the admin CLI.

Every accepted code burns its 30-s step for its device, so a device yields one code for the
step after the one burned at enrolment, then one more each time the clock enters a new step.
MfaAccount.header() hands out fresh codes from a pool of root devices, adding a device when
every one is used up (root may hold up to 8), and waits for the next step only when it must.
"""

import base64
import hashlib
import hmac
import json
import os
import random
import re
import struct
import subprocess
import time
import xml.etree.ElementTree as ET

import boto3
from botocore.config import Config

import lib
from lib import REGION, env, rand_suffix

STEP = 30
MAX_ROOT_DEVICES = 8

MSG_REQUIRED = "Mfa Authentication must be used for this request"
# Refusing an IAM user (or role) of the owner account: AWS's text, then what to do (issue 16).
MSG_OWNER = ("This operation may only be performed by the bucket owner: MFA delete needs the owner "
             "account's root user; sign the request with the root's access keys, not an IAM "
             "user's or a role's")
MSG_BAD_CODE = "MFA authentication failed: the code is invalid, expired or already used"
MSG_MALFORMED = ("Mfa header is invalid -- the header should be formatted as "
                 "{serialNumber}(space){tokenCode}")
MSG_DEVPAY = ("DevPay and Mfa are mutually exclusive authorization methods: x-amz-mfa cannot be "
              "used with session (temporary) credentials; sign the request with the bucket "
              "owner's long-term root access keys")
MSG_HTTPS = "Requests that include x-amz-mfa must use HTTPS"
MSG_MFA_ON_LIFECYCLE = ("Mfa Authentication is not supported on a bucket with lifecycle "
                        "configuration. Delete lifecycle configuration before enabling Mfa "
                        "Authentication.")
MSG_LIFECYCLE_ON_MFA = ("Lifecycle configuration is not supported on a bucket with MFA delete "
                        "enabled. Disable MFA delete before adding a lifecycle configuration.")
RE_THROTTLED = re.compile(r"^Too many failed MFA attempts; retry in (\d+) seconds$")
MSG_STS_BAD_CODE = "MultiFactorAuthentication failed with invalid MFA one time pass code."
MSG_VERSIONING_ELEMENT = "The Versioning element must be specified"

# Seconds slept waiting for a new TOTP step, summed over the module (the file must stay fast).
SLEPT = [0.0]


def ca_path():
    return os.path.join(env().data, "tls", "ca.pem")


# ---------------------------------------------------------------------------------------------
# TOTP


def b32_seed(nbytes=20):
    return base64.b32encode(os.urandom(nbytes)).decode().rstrip("=")


def _b32_key(seed_b32):
    s = seed_b32.strip().replace(" ", "").upper()
    return base64.b32decode(s + "=" * (-len(s) % 8))


def totp(seed_b32, step):
    """The 6-digit code of time step `step` (RFC 6238 / RFC 4226 dynamic truncation)."""
    mac = hmac.new(_b32_key(seed_b32), struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    v = struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF
    return "%06d" % (v % 1000000)


# RFC 6238 appendix B, SHA1 rows (8 digits there; the 6-digit code is the last six).
_RFC_KEY = base64.b32encode(b"12345678901234567890").decode()
assert totp(_RFC_KEY, 59 // STEP) == "287082"
assert totp(_RFC_KEY, 1111111109 // STEP) == "081804"
assert totp(_RFC_KEY, 2000000000 // STEP) == "279037"


def cur_step():
    return int(time.time()) // STEP


def sleep(s):
    if s > 0:
        SLEPT[0] += s
        time.sleep(s)


def ensure_margin(seconds=2.0):
    """Makes sure at least `seconds` remain in the current step (sleeps to the next one if
    not), so codes computed now are still in the window when the server checks them."""
    left = STEP - (time.time() % STEP)
    if left < seconds:
        sleep(left + 0.05)


def wait_next_step():
    sleep(STEP - (time.time() % STEP) + 0.05)


def wrong_code(seed_b32):
    """Six digits that are not the code of any step near now."""
    near = {totp(seed_b32, cur_step() + d) for d in range(-4, 5)}
    while True:
        c = "%06d" % random.randrange(1000000)
        if c not in near:
            return c


class Device:
    """A TOTP device known to the server, with the highest step the server has seen accepted
    (or that we sent: a code is counted as burned as soon as it has been sent)."""

    def __init__(self, serial, seed_b32, last_step, owner="root"):
        self.serial = serial
        self.seed = seed_b32
        self.last_step = last_step
        self.owner = owner
        self.retired = False
        self.sent_codes = []

    def take(self):
        """A code for a step the server has not burned yet and will accept now, or None."""
        now = cur_step()
        s = max(self.last_step + 1, now)
        if s > now + 1:
            return None
        self.last_step = s
        c = totp(self.seed, s)
        self.sent_codes.append(c)
        return c

    def take_or_wait(self):
        c = self.take()
        if c is None:
            wait_next_step()
            c = self.take()
        return c

    def wrong(self):
        c = wrong_code(self.seed)
        self.sent_codes.append(c)
        return c

    def header(self, code=None):
        return "%s %s" % (self.serial, code if code is not None else self.take_or_wait())


# ---------------------------------------------------------------------------------------------
# Clients


def _cfg(**kw):
    c = dict(signature_version="s3v4", region_name=REGION,
             retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=10,
             read_timeout=60)
    c.update(kw)
    return Config(**c)


def s3_client(ak, sk, token=None, https=True):
    e = env()
    endpoint = e.https if https else e.http
    c = boto3.session.Session().client(
        "s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk,
        aws_session_token=token, region_name=REGION,
        verify=ca_path() if https else None, config=_cfg(s3={"addressing_style": "path"}))
    c.meta.events.register("before-parse.s3.*", lib._check_request_id)
    return c


def svc_client(service, ak, sk, token=None, validate=True, https=True):
    e = env()
    return boto3.session.Session().client(
        service, endpoint_url=e.https if https else e.http, aws_access_key_id=ak,
        aws_secret_access_key=sk, aws_session_token=token, region_name=REGION,
        verify=ca_path() if https else None, config=_cfg(parameter_validation=validate))


def coffer(*args, check=True, timeout=60, input=None):
    e = env()
    return subprocess.run([os.path.join(e.bin, "coffer"), "--data", e.data] + list(args),
                          check=check, capture_output=True, text=True, timeout=timeout,
                          input=input)


def aws_env(ak, sk, token=None):
    keep = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    keep.update(AWS_ACCESS_KEY_ID=ak, AWS_SECRET_ACCESS_KEY=sk, AWS_DEFAULT_REGION=REGION,
                AWS_CONFIG_FILE="/nonexistent/coffer-e2e", AWS_MAX_ATTEMPTS="1",
                AWS_SHARED_CREDENTIALS_FILE="/nonexistent/coffer-e2e", AWS_PAGER="")
    if token:
        keep["AWS_SESSION_TOKEN"] = token
    return keep


def aws(ak, sk, *args, https=True, timeout=90):
    """Runs the AWS CLI against our endpoint; returns the CompletedProcess."""
    e = env()
    argv = ["aws"] + list(args) + ["--endpoint-url", e.https if https else e.http]
    if https:
        argv += ["--ca-bundle", ca_path()]
    return subprocess.run(argv, env=aws_env(ak, sk), capture_output=True, text=True,
                          timeout=timeout)


# ---------------------------------------------------------------------------------------------
# Accounts, users, devices


class MfaAccount:
    """A fresh account (`coffer account create NAME --json`) with clients for its root key."""

    def __init__(self, tag):
        self.name = ("mfa-%s-%s" % (tag, rand_suffix(6)))[:64]
        out = coffer("account", "create", self.name, "--json")
        j = json.loads(out.stdout)
        self.id = str(j["account_id"])
        self.ak = str(j["access_key_id"])
        self.sk = str(j["secret_access_key"])
        self.s3 = s3_client(self.ak, self.sk)
        self.s3_http = s3_client(self.ak, self.sk, https=False)
        self.iam = svc_client("iam", self.ak, self.sk)
        self.iam_nv = svc_client("iam", self.ak, self.sk, validate=False)
        self.sts = svc_client("sts", self.ak, self.sk)
        self.devices = []  # root's devices handing out valid codes
        self.scratches = []  # root's devices that only ever get wrong codes
        self.n = 0
        self.root_enabled = 0  # root devices enabled so far
        self.mfa_iam = None  # IAM client on MFA-verified session credentials

    @property
    def arn_prefix(self):
        return "arn:aws:iam::%012d:mfa/" % int(self.id)

    # --- devices

    def create_virtual(self, name=None):
        """CreateVirtualMFADevice; returns (serial, base32 seed)."""
        self.n += 1
        name = name or "dev%d-%s" % (self.n, rand_suffix(4))
        r = self.iam.create_virtual_mfa_device(VirtualMFADeviceName=name)
        d = r["VirtualMFADevice"]
        seed = d["Base32StringSeed"]
        if isinstance(seed, bytes):
            seed = seed.decode()
        return d["SerialNumber"], seed

    def enable(self, serial, seed, user=None, codes=None):
        """EnableMFADevice with two consecutive codes (the previous and the current step;
        the current one is burned). For root, UserName is omitted."""
        ensure_margin()
        s = cur_step()
        c1, c2 = codes or (totp(seed, s - 1), totp(seed, s))
        kw = dict(SerialNumber=serial, AuthenticationCode1=c1, AuthenticationCode2=c2)
        if user is not None:
            self.iam.enable_mfa_device(UserName=user, **kw)
            return Device(serial, seed, s, owner=user)
        self.enable_client().enable_mfa_device(**kw)
        return self.root_device_enabled(Device(serial, seed, s))

    def root_device_enabled(self, d, session=True):
        """Bookkeeping after root enabled device d. After the first one, Coffer lets only
        MFA-verified session credentials enable more of root's devices, so by default the
        session is made right away with the first device's one immediately usable code
        (making it later, when every code of the step is spent, would wait up to 30 s)."""
        self.root_enabled += 1
        if session and self.mfa_iam is None:
            self._mfa_session(d.serial, d.take_or_wait())
        return d

    def _mfa_session(self, serial, code):
        cr = self.sts.get_session_token(DurationSeconds=900, SerialNumber=serial,
                                        TokenCode=code)["Credentials"]
        self.mfa_iam = svc_client("iam", cr["AccessKeyId"], cr["SecretAccessKey"],
                                  cr["SessionToken"], validate=False)

    def enable_client(self):
        """The IAM client that may enable another device of root's: root's long-term keys
        for the first one, an MFA-verified session after that."""
        if self.root_enabled == 0:
            return self.iam_nv
        while self.mfa_iam is None:
            for d in self.devices:
                if not d.retired:
                    code = d.take()
                    if code is not None:
                        self._mfa_session(d.serial, code)
                        break
            else:
                wait_next_step()
        return self.mfa_iam

    def add_device(self, name=None):
        serial, seed = self.create_virtual(name)
        d = self.enable(serial, seed)
        self.devices.append(d)
        return d

    def add_hardware_cli(self, serial=None):
        """A root device through `coffer mfa add-hardware` (the admin CLI)."""
        serial = serial or "GAHT%08d" % random.randrange(10 ** 8)
        seed = b32_seed()
        ensure_margin()
        s = cur_step()
        coffer("mfa", "add-hardware", "--account", self.name, "--serial", serial,
               "--seed-base32", seed, "--code1", totp(seed, s - 1), "--code2", totp(seed, s))
        d = self.root_device_enabled(Device(serial, seed, s), session=False)
        self.devices.append(d)
        return d

    def device(self):
        """A root device that can give a code right now (adding devices if needed)."""
        while True:
            for d in self.devices:
                if not d.retired and d.last_step <= cur_step():
                    return d
            if len(self.devices) + len(self.scratches) < MAX_ROOT_DEVICES:
                self.add_device()  # (the first one pays for the IAM session: loop)
            else:
                wait_next_step()

    def serial(self):
        """The serial of some root device (for well-formed headers that must not get as far as
        the code check)."""
        return (self.devices or [self.add_device()])[0].serial

    def header(self):
        """A fresh, valid x-amz-mfa value for root."""
        d = self.device()
        return d.header(d.take_or_wait())

    def bad_header(self):
        """A well-formed header naming a root device with a wrong code. Wrong codes go to
        scratch devices (at most 4 per device per 30 s, under the throttling limit), so the
        devices that hand out valid codes never get throttled."""
        now = time.time()
        for d in self.scratches:
            d.fails = [t for t in d.fails if t > now - STEP - 1]
            if len(d.fails) < 4:
                break
        else:
            serial, seed = self.create_virtual()
            d = self.enable(serial, seed)
            d.retired = True
            d.fails = []
            self.scratches.append(d)
        d.fails.append(now)
        return d.header(d.wrong())

    def all_devices(self):
        return self.devices + self.scratches

    # --- users and sessions

    def new_user(self, name=None, policy="arn:aws:iam::aws:policy/AmazonS3FullAccess"):
        """An IAM user with an access key and (unless policy is None) that managed policy
        attached, since a user without any policy may do nothing; returns
        (name, s3 client, ak, sk)."""
        name = name or "u-%s" % rand_suffix(6)
        self.iam.create_user(UserName=name)
        if policy is not None:
            self.iam.attach_user_policy(UserName=name, PolicyArn=policy)
        k = self.iam.create_access_key(UserName=name)["AccessKey"]
        return name, s3_client(k["AccessKeyId"], k["SecretAccessKey"]), k["AccessKeyId"], \
            k["SecretAccessKey"]

    def session(self, **kw):
        """GetSessionToken with root's keys; returns (s3 client, credentials)."""
        cr = self.sts.get_session_token(DurationSeconds=900, **kw)["Credentials"]
        return s3_client(cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"]), cr


# ---------------------------------------------------------------------------------------------
# Bucket state, raw responses


def bucket_state(s3, bucket):
    """Everything a refused request must leave alone: versioning document, every version and
    marker, the current body (or error) of every key, and the lifecycle configuration."""
    v = s3.get_bucket_versioning(Bucket=bucket)
    state = {"versioning": {k: v[k] for k in ("Status", "MFADelete") if k in v}}
    entries = []
    kw = {}
    while True:
        r = s3.list_object_versions(Bucket=bucket, **kw)
        for x in r.get("Versions", []):
            entries.append((x["Key"], x["VersionId"], x["IsLatest"], "version", x.get("ETag")))
        for x in r.get("DeleteMarkers", []):
            entries.append((x["Key"], x["VersionId"], x["IsLatest"], "marker", None))
        if not r.get("IsTruncated"):
            break
        kw = dict(KeyMarker=r["NextKeyMarker"], VersionIdMarker=r["NextVersionIdMarker"])
    state["versions"] = sorted(entries)
    bodies = {}
    for key in sorted({e[0] for e in entries}):
        try:
            bodies[key] = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except lib.ClientError as ex:
            bodies[key] = ex.response["Error"].get("Code")
    state["bodies"] = bodies
    try:
        state["lifecycle"] = s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules")
    except lib.ClientError as ex:
        state["lifecycle"] = ex.response["Error"].get("Code")
    return state


def error_fields(body):
    """All children of an S3 <Error> document as a dict (Code, Message, ArgumentName, ...)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return {}
    return {c.tag: (c.text or "") for c in root}


def versioning_xml(status=None, mfa=None):
    x = '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    if status:
        x += "<Status>%s</Status>" % status
    if mfa:
        x += "<MfaDelete>%s</MfaDelete>" % mfa
    return (x + "</VersioningConfiguration>").encode()


def raw_put_versioning(ak, sk, bucket, body, mfa=None, https=True):
    h = {"Content-MD5": lib.md5_b64(body), "Content-Type": "application/xml"}
    if mfa is not None:
        h["x-amz-mfa"] = mfa
    return lib.signed_request("PUT", "/" + bucket, [("versioning", None)], h, body, https=https,
                              ak=ak, sk=sk)


def audit_entries(text):
    """Parses `coffer audit --json`: a JSON array, an object holding one, or JSON lines."""
    text = text.strip()
    if not text:
        return []
    try:
        j = json.loads(text)
    except ValueError:
        return [json.loads(ln) for ln in text.splitlines() if ln.strip()]
    if isinstance(j, dict):
        for k in ("entries", "audit", "events", "records"):
            if isinstance(j.get(k), list):
                return j[k]
        return [j]
    return j


def json_strings(v):
    """Every string inside a JSON value (keys and values)."""
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from json_strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from json_strings(x)
