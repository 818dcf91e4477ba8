"""MFA delete over HTTPS: conformance cases 10-36 and 50 of the MFA-delete spec (section 12)
plus Coffer's decisions: enabling/disabling MFA delete, malformed headers, IAM users, session
credentials, wrong and replayed codes, throttling, the lifecycle interlock both ways, the HTTPS
rule, versioned deletes and DeleteObjects, the AWS CLI's documented command, devices made with
the IAM API and with the admin CLI, and the audit log.

Each class has its own account (and root devices), so valid codes are never reused across
tests; see mfa_lib for how codes are handed out without sleeping.
"""

import json
import os
import subprocess
import tempfile
import threading
import unittest

import lib
from lib import E2ETestCase, bucket_name, env
from mfa_lib import (MSG_BAD_CODE, MSG_DEVPAY, MSG_HTTPS, MSG_LIFECYCLE_ON_MFA, MSG_MALFORMED,
                     MSG_MFA_ON_LIFECYCLE, MSG_OWNER, MSG_REQUIRED, MSG_STS_BAD_CODE,
                     MSG_VERSIONING_ELEMENT, RE_THROTTLED, SLEPT, MfaAccount, audit_entries,
                     aws, b32_seed, bucket_state, ca_path, coffer, cur_step, ensure_margin,
                     error_fields, json_strings, raw_put_versioning, svc_client, totp,
                     versioning_xml)

ENABLED_MFA = {"Status": "Enabled", "MFADelete": "Enabled"}
LIFECYCLE = {"Rules": [{"ID": "expire-logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
                        "Expiration": {"Days": 30}}]}


class MfaCase(E2ETestCase):
    """Base: one account per class, bucket helpers and MFA-specific assertions."""

    tag = "mfa"

    @classmethod
    def setUpClass(cls):
        cls.acct = MfaAccount(cls.tag)
        cls.s3 = cls.acct.s3

    # --- buckets

    def new_bucket(self, versioning=None, keys=()):
        b = bucket_name(self.tag)
        self.s3.create_bucket(Bucket=b)
        for k in keys:  # written before versioning: null versions
            self.s3.put_object(Bucket=b, Key=k, Body=b"null-" + k.encode())
        if versioning:
            self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": versioning})
        return b

    def mfa_bucket(self, keys=()):
        b = self.new_bucket("Enabled", keys)
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration=ENABLED_MFA,
                                      MFA=self.acct.header())
        self.assertEqual(self.versioning(b), ENABLED_MFA)
        return b

    def versioning(self, b, s3=None):
        r = (s3 or self.s3).get_bucket_versioning(Bucket=b)
        return {k: r[k] for k in ("Status", "MFADelete") if k in r}

    def state(self, b):
        return bucket_state(self.s3, b)

    def put_versions(self, b, key, n=2, s3=None):
        return [(s3 or self.s3).put_object(Bucket=b, Key=key, Body=b"%s-v%d" % (key.encode(), i))
                ["VersionId"] for i in range(1, n + 1)]

    # --- assertions

    def assertMfaError(self, status, code, msg, fn, *args, **kwargs):
        """fn must fail with this status, Code and exact Message (msg None: any non-empty)."""
        r = self.assertS3Error(code, status, fn, *args, **kwargs)
        if msg is not None:
            self.assertEqual(r["Error"].get("Message"), msg, repr(r))
        return r

    def assertRefusedUnchanged(self, b, status, code, msg, fn, *args, **kwargs):
        before = self.state(b)
        r = self.assertMfaError(status, code, msg, fn, *args, **kwargs)
        self.assertEqual(self.state(b), before, "state changed by a refused request")
        return r

    def assertRawMfaError(self, resp, status, code, msg):
        self.assertRawError(resp, status, code)
        self.assertEqual(resp.error()[1], msg, repr(resp))

    def assertIamError(self, status, code, msg, fn, *args, **kwargs):
        with self.assertRaises(lib.ClientError) as cm:
            fn(*args, **kwargs)
        r = cm.exception.response
        self.assertEqual((r["ResponseMetadata"]["HTTPStatusCode"], r["Error"].get("Code")),
                         (status, code), repr(r))
        if msg is not None:
            self.assertEqual(r["Error"].get("Message"), msg, repr(r))
        else:
            self.assertTrue(r["Error"].get("Message"), "empty Message: %r" % (r,))
        return r


# ---------------------------------------------------------------------------------------------


class TotpSelfTest(unittest.TestCase):
    def test_python_totp_matches_oathtool(self):
        seed = b32_seed()
        ensure_margin()
        try:
            out = subprocess.run(["oathtool", "--totp", "-b", seed], capture_output=True,
                                 text=True, timeout=10)
        except FileNotFoundError:
            self.skipTest("oathtool not installed")
        self.assertEqual(out.stdout.strip(), totp(seed, cur_step()))


class EnableDisableTest(MfaCase):
    """Cases 10-17: turning MFA delete on, and the refusals on the way."""

    tag = "mfa-toggle"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uname, cls.u, cls.uak, cls.usk = cls.acct.new_user()

    def test_10_enable_without_header_refused(self):
        b = self.new_bucket("Enabled")
        self.assertRefusedUnchanged(b, 403, "AccessDenied", MSG_REQUIRED,
                                    self.s3.put_bucket_versioning, Bucket=b,
                                    VersioningConfiguration=ENABLED_MFA)
        self.assertEqual(self.versioning(b), {"Status": "Enabled"})

    def test_10_enable_on_unversioned_bucket_without_header_refused(self):
        b = self.new_bucket()
        self.assertRefusedUnchanged(b, 403, "AccessDenied", MSG_REQUIRED,
                                    self.s3.put_bucket_versioning, Bucket=b,
                                    VersioningConfiguration=ENABLED_MFA)
        self.assertEqual(self.versioning(b), {})

    def test_11_enable_with_valid_code(self):
        b = self.new_bucket("Enabled")
        r = self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration=ENABLED_MFA,
                                          MFA=self.acct.header())
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(self.versioning(b), ENABLED_MFA)
        raw = lib.signed_request("GET", "/" + b, [("versioning", None)], https=True,
                                 ak=self.acct.ak, sk=self.acct.sk)
        self.assertRawOK(raw)
        self.assertIn(b"<Status>Enabled</Status><MfaDelete>Enabled</MfaDelete>", raw.body)

    def test_11_enable_on_unversioned_bucket_with_valid_code(self):
        b = self.new_bucket()
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration=ENABLED_MFA,
                                      MFA=self.acct.header())
        self.assertEqual(self.versioning(b), ENABLED_MFA)

    def test_12_malformed_header(self):
        b = self.new_bucket("Enabled")
        serial = self.acct.serial()
        before = self.state(b)
        body = versioning_xml("Enabled", "Enabled")
        for value in ("123456", serial, serial + " 12345", serial + " 1234567",
                      serial + " abcdef", serial + " 12345a", serial + " 123456 654321",
                      serial + "  123456"):
            with self.subTest(header=value):
                resp = raw_put_versioning(self.acct.ak, self.acct.sk, b, body, mfa=value)
                self.assertRawMfaError(resp, 400, "InvalidArgument", MSG_MALFORMED)
                f = error_fields(resp.body)
                self.assertEqual(f.get("ArgumentName"), "x-amz-mfa", repr(resp))
                self.assertEqual(f.get("ArgumentValue"), value, repr(resp))
        # boto3 sees the same, ArgumentName/ArgumentValue included
        r = self.assertMfaError(400, "InvalidArgument", MSG_MALFORMED,
                                self.s3.put_bucket_versioning, Bucket=b,
                                VersioningConfiguration=ENABLED_MFA, MFA="123456")
        self.assertEqual(r["Error"].get("ArgumentName"), "x-amz-mfa")
        self.assertEqual(r["Error"].get("ArgumentValue"), "123456")
        # format is checked before ownership: an IAM user gets the same 400
        r = self.assertMfaError(400, "InvalidArgument", MSG_MALFORMED,
                                self.u.put_bucket_versioning, Bucket=b,
                                VersioningConfiguration=ENABLED_MFA, MFA="123456")
        self.assertEqual(r["Error"].get("ArgumentValue"), "123456")
        self.assertEqual(self.state(b), before)

    def test_13_iam_user_refused(self):
        b = self.new_bucket("Enabled")
        # no header: MFA is demanded first
        self.assertRefusedUnchanged(b, 403, "AccessDenied", MSG_REQUIRED,
                                    self.u.put_bucket_versioning, Bucket=b,
                                    VersioningConfiguration=ENABLED_MFA)
        # the user's own enabled device and a valid code: still not the bucket owner's root
        serial, seed = self.acct.create_virtual()
        dev = self.acct.enable(serial, seed, user=self.uname)
        self.assertRefusedUnchanged(b, 403, "AccessDenied", MSG_OWNER,
                                    self.u.put_bucket_versioning, Bucket=b,
                                    VersioningConfiguration=ENABLED_MFA, MFA=dev.header())
        # root's serial with any well-formed code: the ownership check comes before the code
        self.assertRefusedUnchanged(b, 403, "AccessDenied", MSG_OWNER,
                                    self.u.put_bucket_versioning, Bucket=b,
                                    VersioningConfiguration=ENABLED_MFA,
                                    MFA=self.acct.serial() + " 123456")
        self.assertEqual(self.versioning(b), {"Status": "Enabled"})

    def test_14_session_credentials_with_header(self):
        b = self.new_bucket("Enabled")
        t, _ = self.acct.session()
        self.assertRefusedUnchanged(b, 400, "InvalidRequest", MSG_DEVPAY,
                                    t.put_bucket_versioning, Bucket=b,
                                    VersioningConfiguration=ENABLED_MFA,
                                    MFA=self.acct.serial() + " 123456")
        self.assertRefusedUnchanged(b, 403, "AccessDenied", MSG_REQUIRED,
                                    t.put_bucket_versioning, Bucket=b,
                                    VersioningConfiguration=ENABLED_MFA)
        self.assertEqual(self.versioning(b), {"Status": "Enabled"})

    def test_15_wrong_code(self):
        b = self.new_bucket("Enabled")
        self.assertRefusedUnchanged(b, 403, "AccessDenied", MSG_BAD_CODE,
                                    self.s3.put_bucket_versioning, Bucket=b,
                                    VersioningConfiguration=ENABLED_MFA,
                                    MFA=self.acct.bad_header())
        # a serial that is no device of root's
        self.assertRefusedUnchanged(b, 403, "AccessDenied", MSG_BAD_CODE,
                                    self.s3.put_bucket_versioning, Bucket=b,
                                    VersioningConfiguration=ENABLED_MFA,
                                    MFA=self.acct.arn_prefix + "no-such-device 123456")
        self.assertEqual(self.versioning(b), {"Status": "Enabled"})

    def test_16_replayed_code(self):
        b = self.new_bucket("Enabled")
        hdr = self.acct.header()
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration=ENABLED_MFA, MFA=hdr)
        self.assertEqual(self.versioning(b), ENABLED_MFA)
        # same code again, to disable: refused, still enabled
        self.assertRefusedUnchanged(b, 403, "AccessDenied", MSG_BAD_CODE,
                                    self.s3.put_bucket_versioning, Bucket=b,
                                    VersioningConfiguration={"Status": "Enabled",
                                                             "MFADelete": "Disabled"}, MFA=hdr)
        # an older code of the same device (previous step, inside the window) is burned too
        serial = hdr.split(" ")[0]
        dev = [d for d in self.acct.devices if d.serial == serial][0]
        older = totp(dev.seed, int(dev.last_step) - 1)
        self.assertRefusedUnchanged(b, 403, "AccessDenied", MSG_BAD_CODE,
                                    self.s3.put_bucket_versioning, Bucket=b,
                                    VersioningConfiguration={"Status": "Enabled",
                                                             "MFADelete": "Disabled"},
                                    MFA="%s %s" % (serial, older))
        self.assertEqual(self.versioning(b), ENABLED_MFA)

    def test_17_mfa_delete_without_status(self):
        b = self.new_bucket()
        self.assertRefusedUnchanged(b, 400, "IllegalVersioningConfigurationException",
                                    MSG_VERSIONING_ELEMENT, self.s3.put_bucket_versioning,
                                    Bucket=b, VersioningConfiguration={"MFADelete": "Enabled"},
                                    MFA=self.acct.header())
        self.assertEqual(self.versioning(b), {})


class LifecycleInterlockTest(MfaCase):
    """Cases 18 and 19: MFA delete and lifecycle configurations exclude each other."""

    tag = "mfa-lc"

    def test_18_enable_mfa_on_bucket_with_lifecycle(self):
        b = self.new_bucket("Enabled")
        self.s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration=LIFECYCLE)
        self.assertEqual(self.s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"][0]["ID"],
                         "expire-logs")
        self.assertRefusedUnchanged(b, 409, "InvalidBucketState", MSG_MFA_ON_LIFECYCLE,
                                    self.s3.put_bucket_versioning, Bucket=b,
                                    VersioningConfiguration=ENABLED_MFA, MFA=self.acct.header())
        self.assertEqual(self.versioning(b), {"Status": "Enabled"})
        self.s3.delete_bucket_lifecycle(Bucket=b)
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration=ENABLED_MFA,
                                      MFA=self.acct.header())
        self.assertEqual(self.versioning(b), ENABLED_MFA)

    def test_19_lifecycle_on_mfa_bucket(self):
        b = self.mfa_bucket()
        self.assertRefusedUnchanged(b, 409, "InvalidBucketState", MSG_LIFECYCLE_ON_MFA,
                                    self.s3.put_bucket_lifecycle_configuration, Bucket=b,
                                    LifecycleConfiguration=LIFECYCLE)
        self.assertMfaError(404, "NoSuchLifecycleConfiguration", None,
                            self.s3.get_bucket_lifecycle_configuration, Bucket=b)
        # the AWS CLI sees the same refusal
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(LIFECYCLE, f)
            f.flush()
            out = aws(self.acct.ak, self.acct.sk, "s3api", "put-bucket-lifecycle-configuration",
                      "--bucket", b, "--lifecycle-configuration", "file://" + f.name)
            self.assertNotEqual(out.returncode, 0, out.stdout)
            self.assertIn("(InvalidBucketState)", out.stderr)
            self.assertIn(MSG_LIFECYCLE_ON_MFA, out.stderr)
            # after disabling MFA delete (with a code) lifecycle is accepted again
            self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={
                "Status": "Enabled", "MFADelete": "Disabled"}, MFA=self.acct.header())
            out = aws(self.acct.ak, self.acct.sk, "s3api", "put-bucket-lifecycle-configuration",
                      "--bucket", b, "--lifecycle-configuration", "file://" + f.name)
            self.assertEqual(out.returncode, 0, out.stderr)
        rules = self.s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"]
        self.assertEqual([r["ID"] for r in rules], ["expire-logs"])


class StateChangeTest(MfaCase):
    """Cases 21-24 and decisions 3, 5, 7: versioning changes on an MFA bucket."""

    tag = "mfa-state"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uname, cls.u, _, _ = cls.acct.new_user()
        cls.b = None

    def shared_mfa_bucket(self):
        if type(self).b is None:
            type(self).b = self.mfa_bucket()
        return type(self).b

    def test_decision3_noop_needs_no_mfa(self):
        b = self.shared_mfa_bucket()
        before = self.state(b)
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration=ENABLED_MFA)
        self.assertEqual(self.state(b), before)

    def test_21_suspend_without_header(self):
        b = self.shared_mfa_bucket()
        self.assertRefusedUnchanged(b, 403, "AccessDenied", MSG_REQUIRED,
                                    self.s3.put_bucket_versioning, Bucket=b,
                                    VersioningConfiguration={"Status": "Suspended",
                                                             "MFADelete": "Enabled"})
        self.assertRefusedUnchanged(b, 403, "AccessDenied", MSG_REQUIRED,
                                    self.s3.put_bucket_versioning, Bucket=b,
                                    VersioningConfiguration={"Status": "Enabled",
                                                             "MFADelete": "Disabled"})
        self.assertEqual(self.versioning(b), ENABLED_MFA)

    def test_22_suspend_with_valid_code(self):
        b = self.mfa_bucket()
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={
            "Status": "Suspended", "MFADelete": "Enabled"}, MFA=self.acct.header())
        self.assertEqual(self.versioning(b), {"Status": "Suspended", "MFADelete": "Enabled"})

    def test_23_disable_with_valid_code_still_echoed(self):
        b = self.mfa_bucket()
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={
            "Status": "Enabled", "MFADelete": "Disabled"}, MFA=self.acct.header())
        self.assertEqual(self.versioning(b), {"Status": "Enabled", "MFADelete": "Disabled"})
        raw = lib.signed_request("GET", "/" + b, [("versioning", None)], https=True,
                                 ak=self.acct.ak, sk=self.acct.sk)
        self.assertIn(b"<MfaDelete>Disabled</MfaDelete>", raw.body)
        # no longer protected: suspending needs no code now
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
        self.assertEqual(self.versioning(b)["Status"], "Suspended")

    def test_24_iam_user_suspend(self):
        b = self.shared_mfa_bucket()
        self.assertRefusedUnchanged(b, 403, "AccessDenied", MSG_OWNER,
                                    self.u.put_bucket_versioning, Bucket=b,
                                    VersioningConfiguration={"Status": "Suspended"},
                                    MFA=self.acct.serial() + " 123456")
        self.assertRefusedUnchanged(b, 403, "AccessDenied", MSG_REQUIRED,
                                    self.u.put_bucket_versioning, Bucket=b,
                                    VersioningConfiguration={"Status": "Suspended"})
        self.assertEqual(self.versioning(b), ENABLED_MFA)


class VersionedDeleteTest(MfaCase):
    """Cases 25-36: deletes on an MFA bucket."""

    tag = "mfa-del"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uname, cls.u, _, _ = cls.acct.new_user()
        b = bucket_name(cls.tag)
        cls.s3.create_bucket(Bucket=b)
        cls.s3.put_object(Bucket=b, Key="knull", Body=b"null version")
        cls.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        cls.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration=ENABLED_MFA,
                                     MFA=cls.acct.header())
        cls.b = b

    def hdrs(self, r):
        return r["ResponseMetadata"]["HTTPHeaders"]

    def test_25_iam_user_simple_delete(self):
        v1, v2 = self.put_versions(self.b, "k25")
        r = self.u.delete_object(Bucket=self.b, Key="k25")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual(self.hdrs(r).get("x-amz-delete-marker"), "true")
        dm = self.hdrs(r).get("x-amz-version-id")
        self.assertTrue(dm and dm not in (v1, v2))
        with self.assertRaises(lib.ClientError) as cm:
            self.s3.get_object(Bucket=self.b, Key="k25")
        e = cm.exception.response
        self.assertEqual((e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Code"]),
                         (404, "NoSuchKey"))
        self.assertEqual(e["ResponseMetadata"]["HTTPHeaders"].get("x-amz-delete-marker"), "true")

    def test_26_root_version_delete_without_header(self):
        v1, _ = self.put_versions(self.b, "k26")
        self.assertRefusedUnchanged(self.b, 403, "AccessDenied", MSG_REQUIRED,
                                    self.s3.delete_object, Bucket=self.b, Key="k26",
                                    VersionId=v1)
        vids = [v["VersionId"] for v in
                self.s3.list_object_versions(Bucket=self.b, Prefix="k26")["Versions"]]
        self.assertIn(v1, vids)

    def test_27_root_marker_delete_without_header(self):
        self.put_versions(self.b, "k27")
        dm = self.u.delete_object(Bucket=self.b, Key="k27")["VersionId"]
        self.assertRefusedUnchanged(self.b, 403, "AccessDenied", MSG_REQUIRED,
                                    self.s3.delete_object, Bucket=self.b, Key="k27",
                                    VersionId=dm)
        m = self.s3.list_object_versions(Bucket=self.b, Prefix="k27")["DeleteMarkers"]
        self.assertEqual([(x["VersionId"], x["IsLatest"]) for x in m], [(dm, True)])

    def test_28_iam_user_version_delete(self):
        v1, _ = self.put_versions(self.b, "k28")
        self.assertRefusedUnchanged(self.b, 403, "AccessDenied", MSG_OWNER,
                                    self.u.delete_object, Bucket=self.b, Key="k28",
                                    VersionId=v1, MFA=self.acct.serial() + " 123456")
        self.assertRefusedUnchanged(self.b, 403, "AccessDenied", MSG_REQUIRED,
                                    self.u.delete_object, Bucket=self.b, Key="k28",
                                    VersionId=v1)
        self.assertRefusedUnchanged(self.b, 403, "AccessDenied", MSG_OWNER,
                                    self.u.delete_objects, Bucket=self.b,
                                    Delete={"Objects": [{"Key": "k28", "VersionId": v1}]},
                                    MFA=self.acct.serial() + " 123456")

    def test_29_root_version_delete_with_valid_code(self):
        v1, v2 = self.put_versions(self.b, "k29")
        r = self.s3.delete_object(Bucket=self.b, Key="k29", VersionId=v1,
                                  MFA=self.acct.header())
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual(self.hdrs(r).get("x-amz-version-id"), v1)
        self.assertNotIn("x-amz-delete-marker", self.hdrs(r))
        left = self.s3.list_object_versions(Bucket=self.b, Prefix="k29")["Versions"]
        self.assertEqual([v["VersionId"] for v in left], [v2])

    def test_30_root_marker_delete_with_valid_code(self):
        _, v2 = self.put_versions(self.b, "k30")
        dm = self.u.delete_object(Bucket=self.b, Key="k30")["VersionId"]
        r = self.s3.delete_object(Bucket=self.b, Key="k30", VersionId=dm,
                                  MFA=self.acct.header())
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual(self.hdrs(r).get("x-amz-delete-marker"), "true")
        self.assertEqual(self.hdrs(r).get("x-amz-version-id"), dm)
        g = self.s3.get_object(Bucket=self.b, Key="k30")
        self.assertEqual(g["VersionId"], v2)
        self.assertEqual(g["Body"].read(), b"k30-v2")

    def test_31_iam_user_delete_objects_plain_keys(self):
        for k in ("a31", "b31"):
            self.s3.put_object(Bucket=self.b, Key=k, Body=b"x")
        r = self.u.delete_objects(Bucket=self.b, Delete={"Objects": [{"Key": "a31"},
                                                                     {"Key": "b31"}]})
        self.assertNotIn("Errors", r)
        d = {x["Key"]: x for x in r["Deleted"]}
        self.assertEqual(sorted(d), ["a31", "b31"])
        for x in d.values():
            self.assertTrue(x.get("DeleteMarker"), repr(x))
            self.assertTrue(x.get("DeleteMarkerVersionId"), repr(x))

    def test_32_delete_objects_with_version_no_header(self):
        self.s3.put_object(Bucket=self.b, Key="a32", Body=b"a")
        _, v2 = self.put_versions(self.b, "k32")
        objs = {"Objects": [{"Key": "a32"}, {"Key": "k32", "VersionId": v2}]}
        r = self.assertRefusedUnchanged(self.b, 403, "AccessDenied", MSG_REQUIRED,
                                        self.s3.delete_objects, Bucket=self.b, Delete=objs)
        self.assertNotIn("Deleted", r)
        self.assertEqual(self.s3.get_object(Bucket=self.b, Key="a32")["Body"].read(), b"a")
        self.assertEqual(self.s3.get_object(Bucket=self.b, Key="k32")["VersionId"], v2)
        # the same by an IAM user: MFA demanded first
        self.assertRefusedUnchanged(self.b, 403, "AccessDenied", MSG_REQUIRED,
                                    self.u.delete_objects, Bucket=self.b, Delete=objs)

    def test_33_delete_objects_plain_keys_invalid_token(self):
        for k in ("a33", "b33"):
            self.s3.put_object(Bucket=self.b, Key=k, Body=b"x")
        objs = {"Objects": [{"Key": "a33"}, {"Key": "b33"}]}
        r = self.assertRefusedUnchanged(self.b, 403, "AccessDenied", MSG_BAD_CODE,
                                        self.s3.delete_objects, Bucket=self.b, Delete=objs,
                                        MFA=self.acct.bad_header())
        self.assertNotIn("Deleted", r)
        # malformed token: 400, nothing deleted
        r = self.assertRefusedUnchanged(self.b, 400, "InvalidArgument", MSG_MALFORMED,
                                        self.s3.delete_objects, Bucket=self.b, Delete=objs,
                                        MFA="123456")
        self.assertEqual(r["Error"].get("ArgumentName"), "x-amz-mfa")

    def test_34_delete_objects_versions_with_valid_code(self):
        v1, v2 = self.put_versions(self.b, "k34")
        self.s3.put_object(Bucket=self.b, Key="a34", Body=b"a")
        dm = self.u.delete_object(Bucket=self.b, Key="a34")["VersionId"]
        r = self.s3.delete_objects(Bucket=self.b, MFA=self.acct.header(), Delete={"Objects": [
            {"Key": "k34", "VersionId": v1}, {"Key": "a34", "VersionId": dm}]})
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertNotIn("Errors", r)
        got = sorted((x["Key"], x.get("VersionId")) for x in r["Deleted"])
        self.assertEqual(got, [("a34", dm), ("k34", v1)])
        dmentry = [x for x in r["Deleted"] if x["Key"] == "a34"][0]
        self.assertTrue(dmentry.get("DeleteMarker"), repr(dmentry))
        left = self.s3.list_object_versions(Bucket=self.b, Prefix="k34")["Versions"]
        self.assertEqual([v["VersionId"] for v in left], [v2])
        self.assertEqual(self.s3.get_object(Bucket=self.b, Key="a34")["Body"].read(), b"a")

    def test_35_null_version_delete_without_header(self):
        self.assertRefusedUnchanged(self.b, 403, "AccessDenied", MSG_REQUIRED,
                                    self.s3.delete_object, Bucket=self.b, Key="knull",
                                    VersionId="null")
        v = self.s3.list_object_versions(Bucket=self.b, Prefix="knull")["Versions"]
        self.assertEqual([x["VersionId"] for x in v], ["null"])

class DeleteMoreTest(MfaCase):
    """Case 36 and decision 6 (own account: the delete cases need many codes)."""

    tag = "mfa-del2"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uname, cls.u, _, _ = cls.acct.new_user()

    def test_36_empty_mfa_bucket_deleted_without_header(self):
        b = self.mfa_bucket()
        vids = self.put_versions(b, "k36")
        dm = self.u.delete_object(Bucket=b, Key="k36")["VersionId"]
        self.assertMfaError(409, "BucketNotEmpty", None, self.s3.delete_bucket, Bucket=b)
        r = self.s3.delete_objects(Bucket=b, MFA=self.acct.header(), Delete={"Objects": [
            {"Key": "k36", "VersionId": v} for v in vids + [dm]]})
        self.assertNotIn("Errors", r)
        lv = self.s3.list_object_versions(Bucket=b)
        self.assertFalse(lv.get("Versions") or lv.get("DeleteMarkers"), repr(lv))
        r = self.s3.delete_bucket(Bucket=b)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertStatus(404, self.s3.head_bucket, Bucket=b)

    def test_decision6_header_verified_where_not_required(self):
        b = self.new_bucket()
        self.s3.put_object(Bucket=b, Key="p", Body=b"plain")
        self.assertRefusedUnchanged(b, 403, "AccessDenied", MSG_BAD_CODE,
                                    self.s3.delete_object, Bucket=b, Key="p",
                                    MFA=self.acct.bad_header())
        hdr = self.acct.header()
        self.s3.delete_object(Bucket=b, Key="p", MFA=hdr)
        self.assertMfaError(404, "NoSuchKey", None, self.s3.get_object, Bucket=b, Key="p")
        # the valid code was consumed
        self.s3.put_object(Bucket=b, Key="p", Body=b"again")
        self.assertRefusedUnchanged(b, 403, "AccessDenied", MSG_BAD_CODE,
                                    self.s3.delete_object, Bucket=b, Key="p", MFA=hdr)


class HttpsOnlyTest(MfaCase):
    """Case 20 / decision 1: x-amz-mfa on the plain-HTTP listener is refused first."""

    tag = "mfa-http"

    def check_http(self, b, fn, *args, **kwargs):
        self.assertRefusedUnchanged(b, 400, "InvalidRequest", MSG_HTTPS, fn, *args, **kwargs)

    def test_20_header_on_http_listener(self):
        b = self.mfa_bucket()
        v1, v2 = self.put_versions(b, "k")
        dev = self.acct.device()
        code = dev.take_or_wait()  # a valid code: sent over HTTP it must not be consumed
        hdr = dev.header(code)
        h = self.acct.s3_http
        self.check_http(b, h.put_bucket_versioning, Bucket=b,
                        VersioningConfiguration={"Status": "Suspended", "MFADelete": "Enabled"},
                        MFA=hdr)
        self.check_http(b, h.put_bucket_versioning, Bucket=b,
                        VersioningConfiguration={"Status": "Enabled", "MFADelete": "Disabled"},
                        MFA=hdr)
        self.check_http(b, h.delete_object, Bucket=b, Key="k", VersionId=v1, MFA=hdr)
        self.check_http(b, h.delete_object, Bucket=b, Key="k", MFA=hdr)
        self.check_http(b, h.delete_objects, Bucket=b, MFA=hdr,
                        Delete={"Objects": [{"Key": "k", "VersionId": v2}]})
        self.check_http(b, h.delete_objects, Bucket=b, MFA=hdr, Delete={"Objects": [{"Key": "k"}]})
        # even a malformed header gets the HTTPS error, not the format error
        self.check_http(b, h.delete_object, Bucket=b, Key="k", VersionId=v1, MFA="123456")
        # a bucket without MFA delete: still refused (before any other check)
        b2 = self.new_bucket("Enabled")
        self.check_http(b2, h.put_bucket_versioning, Bucket=b2,
                        VersioningConfiguration={"Status": "Suspended"}, MFA=hdr)
        # without the header the HTTP listener works as usual
        self.assertEqual(h.get_object(Bucket=b, Key="k")["VersionId"], v2)
        # the code sent over HTTP was never checked, so it still works once over HTTPS
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={
            "Status": "Enabled", "MFADelete": "Disabled"}, MFA=hdr)
        self.assertEqual(self.versioning(b), {"Status": "Enabled", "MFADelete": "Disabled"})

    def test_20_header_on_http_listener_other_operations(self):
        """Operations that never need MFA: the header alone gets them refused on HTTP."""
        b = self.new_bucket("Enabled")
        v1, _ = self.put_versions(b, "k")
        hdr = self.acct.serial() + " 123456"
        ak, sk = self.acct.ak, self.acct.sk
        before = self.state(b)
        for method, key, query, body in (("GET", "k", [], b""), ("PUT", "k", [], b"new"),
                                         ("HEAD", "k", [], b""), ("GET", "", [("versions", None)],
                                                                  b""),
                                         ("PUT", "", [("versioning", None)],
                                          versioning_xml("Suspended")),
                                         ("DELETE", "k", [], b""),
                                         ("DELETE", "k", [("versionId", v1)], b"")):
            with self.subTest(method=method, key=key, query=query):
                h = {"x-amz-mfa": hdr}
                if query == [("versioning", None)]:
                    h["Content-MD5"] = lib.md5_b64(body)
                resp = lib.signed_request(method, "/%s/%s" % (b, key) if key else "/" + b,
                                          query, h, body, ak=ak, sk=sk)
                if method == "HEAD":
                    self.assertEqual(resp.status, 400, repr(resp))
                else:
                    self.assertRawMfaError(resp, 400, "InvalidRequest", MSG_HTTPS)
        self.assertEqual(self.state(b), before)


class OwnDeviceOnlyTest(MfaCase):
    """Only a device's owner spends its failure budget or manages it: an IAM user naming
    root's device, on requests that need no MFA, can neither lock root out nor delete it."""

    tag = "mfa-own"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uname, cls.u, cls.uak, cls.usk = cls.acct.new_user()
        # Allowed every MFA-device action on every device: ownership still decides.
        cls.acct.iam.put_user_policy(UserName=cls.uname, PolicyName="mfa", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "iam:*MFADevice*", "Resource": "*"}]}))

    def test_iam_user_cannot_throttle_roots_device(self):
        b = self.new_bucket("Enabled")
        self.s3.put_object(Bucket=b, Key="k", Body=b"data")
        dev = self.acct.device()
        for i in range(6):
            with self.subTest(attempt=i + 1):
                self.assertRefusedUnchanged(b, 403, "AccessDenied", MSG_BAD_CODE,
                                            self.u.delete_object, Bucket=b, Key="k",
                                            MFA=dev.header(dev.wrong()))
        # a right code of root's device, used by the user: refused and not burned
        code = dev.take_or_wait()
        self.assertRefusedUnchanged(b, 403, "AccessDenied", MSG_BAD_CODE, self.u.delete_object,
                                    Bucket=b, Key="k", MFA=dev.header(code))
        # root is neither throttled nor short of that code
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration=ENABLED_MFA,
                                      MFA=dev.header(code))
        self.assertEqual(self.versioning(b), ENABLED_MFA)
        out = coffer("audit", "--json")
        mine = [e for e in audit_entries(out.stdout)
                if e.get("bucket") == b and "fail" in e.get("event", "")]
        self.assertEqual(len(mine), 7, mine)
        for e in mine:
            self.assertIn("not caller's device", e.get("detail", ""), e)
        times = [e["time"] for e in mine]
        self.assertEqual(times, sorted(times), "audit times out of order with ids")
        self.assertFalse(all(t.endswith(".000Z") for t in times), times)  # ms recorded

    def test_iam_user_cannot_delete_roots_free_device(self):
        serial, _ = self.acct.create_virtual()
        u_iam = svc_client("iam", self.uak, self.usk)
        self.assertIamError(403, "AccessDenied", None, u_iam.delete_virtual_mfa_device,
                            SerialNumber=serial)
        listed = self.acct.iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")
        self.assertIn(serial, [d["SerialNumber"] for d in listed["VirtualMFADevices"]])
        # the user's own free device is the user's to delete; root may delete any
        d = u_iam.create_virtual_mfa_device(VirtualMFADeviceName="own-" + self.uname)
        u_iam.delete_virtual_mfa_device(SerialNumber=d["VirtualMFADevice"]["SerialNumber"])
        self.acct.iam.delete_virtual_mfa_device(SerialNumber=serial)


class SecretsOverHttpTest(MfaCase):
    """Codes and secrets never cross plain HTTP: IAM/STS actions that carry them, and any
    IAM/STS or anonymous request with x-amz-mfa, get 400 InvalidRequest there."""

    tag = "mfa-plain"

    def test_code_and_secret_actions_refused_on_http(self):
        a = self.acct
        sts_h = svc_client("sts", a.ak, a.sk, https=False)
        iam_h = svc_client("iam", a.ak, a.sk, https=False, validate=False)
        dev = a.device()
        code = dev.take_or_wait()
        self.assertIamError(400, "InvalidRequest", None, sts_h.get_session_token,
                            SerialNumber=dev.serial, TokenCode=code)
        self.assertIamError(400, "InvalidRequest", None, sts_h.get_session_token)
        name, _, _, _ = a.new_user()
        self.assertIamError(400, "InvalidRequest", None, iam_h.create_access_key, UserName=name)
        self.assertEqual(len(a.iam.list_access_keys(UserName=name)["AccessKeyMetadata"]), 1)
        self.assertIamError(400, "InvalidRequest", None, iam_h.create_virtual_mfa_device,
                            VirtualMFADeviceName="plain-" + name)
        self.assertIamError(400, "InvalidRequest", None, iam_h.enable_mfa_device,
                            SerialNumber=dev.serial, AuthenticationCode1="123456",
                            AuthenticationCode2="654321")
        # actions without secrets still work on HTTP, but not with x-amz-mfa
        self.assertIn(name, [u["UserName"] for u in iam_h.list_users()["Users"]])
        iam_h.meta.events.register("before-sign.iam.*", _add_mfa_header(dev.serial))
        self.assertIamError(400, "InvalidRequest", None, iam_h.list_users)
        # the code sent over HTTP was never checked: it still opens a session over HTTPS
        _, cr = a.session(SerialNumber=dev.serial, TokenCode=code)
        self.assertTrue(cr["SessionToken"])

    def test_anonymous_request_with_header_on_http(self):
        b = self.new_bucket()
        resp = lib.send("GET", "/%s/k" % b, {"x-amz-mfa": self.acct.serial() + " 123456"})
        self.assertRawMfaError(resp, 400, "InvalidRequest", MSG_HTTPS)


def _add_mfa_header(serial):
    def add(request, **kwargs):
        request.headers["x-amz-mfa"] = serial + " 123456"
    return add


class ThrottleTest(MfaCase):
    """Decision 8: five failed checks per device per 30 s, then even a right code is refused."""

    tag = "mfa-throttle"

    def test_five_failures_then_right_code_refused(self):
        b = self.new_bucket("Enabled")
        self.acct.add_device()  # the first device pays for the IAM session
        dev = self.acct.add_device()
        dev.retired = True  # throttled from now on: keep it out of the pool
        for i in range(5):
            with self.subTest(attempt=i + 1):
                self.assertRefusedUnchanged(b, 403, "AccessDenied", MSG_BAD_CODE,
                                            self.s3.put_bucket_versioning, Bucket=b,
                                            VersioningConfiguration=ENABLED_MFA,
                                            MFA=dev.header(dev.wrong()))
        r = self.assertRefusedUnchanged(b, 403, "AccessDenied", None,
                                        self.s3.put_bucket_versioning, Bucket=b,
                                        VersioningConfiguration=ENABLED_MFA,
                                        MFA=dev.header(dev.take_or_wait()))
        m = RE_THROTTLED.match(r["Error"]["Message"])
        self.assertTrue(m, r["Error"]["Message"])
        self.assertTrue(1 <= int(m.group(1)) <= 30, r["Error"]["Message"])
        self.assertEqual(self.versioning(b), {"Status": "Enabled"})
        # throttling is per device: another device of root still works
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration=ENABLED_MFA,
                                      MFA=self.acct.header())
        self.assertEqual(self.versioning(b), ENABLED_MFA)


class AwsCliTest(MfaCase):
    """The AWS CLI, with the commands from AWS's documentation."""

    tag = "mfa-cli"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.acct.add_device()  # so that the CLI-made device's first code stays free

    def cli(self, *args):
        return aws(self.acct.ak, self.acct.sk, *args)

    def test_create_virtual_device_qr_png(self):
        with tempfile.TemporaryDirectory() as d:
            out = self.cli("iam", "create-virtual-mfa-device", "--virtual-mfa-device-name",
                           "root-mfa-qr", "--outfile", os.path.join(d, "qr.png"),
                           "--bootstrap-method", "QRCodePNG")
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(json.loads(out.stdout)["VirtualMFADevice"]["SerialNumber"],
                             self.acct.arn_prefix + "root-mfa-qr")
            with open(os.path.join(d, "qr.png"), "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_documented_put_bucket_versioning_command(self):
        b = self.new_bucket()
        with tempfile.TemporaryDirectory() as d:
            seedf = os.path.join(d, "seed.txt")
            out = self.cli("iam", "create-virtual-mfa-device", "--virtual-mfa-device-name",
                           "root-mfa", "--outfile", seedf, "--bootstrap-method",
                           "Base32StringSeed")
            self.assertEqual(out.returncode, 0, out.stderr)
            serial = json.loads(out.stdout)["VirtualMFADevice"]["SerialNumber"]
            self.assertEqual(serial, self.acct.arn_prefix + "root-mfa")
            with open(seedf) as f:
                seed = f.read().strip()
        dev = self.acct.enable(serial, seed)
        self.acct.devices.append(dev)
        # refused without --mfa
        out = self.cli("s3api", "put-bucket-versioning", "--bucket", b,
                       "--versioning-configuration", "Status=Enabled,MFADelete=Enabled")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("(AccessDenied)", out.stderr)
        self.assertIn(MSG_REQUIRED, out.stderr)
        # the command as AWS documents it
        out = self.cli("s3api", "put-bucket-versioning", "--bucket", b,
                       "--versioning-configuration", "Status=Enabled,MFADelete=Enabled",
                       "--mfa", "%s %s" % (serial, dev.take_or_wait()))
        self.assertEqual(out.returncode, 0, out.stderr)
        out = self.cli("s3api", "get-bucket-versioning", "--bucket", b)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout), {"Status": "Enabled", "MFADelete": "Enabled"})
        # versioned delete: refused without --mfa, done with it
        vid = self.s3.put_object(Bucket=b, Key="doc.txt", Body=b"d")["VersionId"]
        out = self.cli("s3api", "delete-object", "--bucket", b, "--key", "doc.txt",
                       "--version-id", vid)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(MSG_REQUIRED, out.stderr)
        out = self.cli("s3api", "delete-object", "--bucket", b, "--key", "doc.txt",
                       "--version-id", vid, "--mfa", self.acct.header())
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout).get("VersionId"), vid)
        self.assertNotIn("Versions", self.s3.list_object_versions(Bucket=b))


class AdminCliDeviceTest(MfaCase):
    """A root device registered with `coffer mfa add-hardware`, then used over S3."""

    tag = "mfa-admin"

    def test_hardware_device_from_admin_cli(self):
        dev = self.acct.add_hardware_cli()
        out = coffer("mfa", "list", "--account", self.acct.name, check=False)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(dev.serial, out.stdout)
        self.assertNotIn(dev.seed, out.stdout + out.stderr)
        b = self.new_bucket("Enabled")
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration=ENABLED_MFA,
                                      MFA=dev.header(dev.take_or_wait()))
        self.assertEqual(self.versioning(b), ENABLED_MFA)
        lst = json.loads(coffer("bucket", "list", "--json").stdout)
        if isinstance(lst, dict):
            lst = lst.get("buckets", [])
        mine = [x for x in lst if x.get("name") == b]
        self.assertEqual(len(mine), 1, repr(lst)[:2000])
        self.assertEqual(mine[0].get("mfa_delete"), "Enabled")
        self.assertEqual(mine[0].get("versioning"), "Enabled")


class AuditLogTest(MfaCase):
    """`coffer audit --json` records failed checks and toggles, never codes or seeds."""

    tag = "mfa-audit"

    def test_failed_check_and_toggle_audited(self):
        b = self.new_bucket("Enabled")
        self.assertMfaError(403, "AccessDenied", MSG_BAD_CODE, self.s3.put_bucket_versioning,
                            Bucket=b, VersioningConfiguration=ENABLED_MFA,
                            MFA=self.acct.bad_header())
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration=ENABLED_MFA,
                                      MFA=self.acct.header())
        out = coffer("audit", "--json")
        entries = [e for e in audit_entries(out.stdout) if e.get("bucket") == b]
        principal = "account:" + self.acct.name
        failed = [e for e in entries if "fail" in e.get("event", "")]
        self.assertEqual(len(failed), 1, entries)
        toggles = [e for e in entries if "mfa_delete" in e.get("event", "")]
        self.assertEqual(len(toggles), 1, entries)
        self.assertIn("Enabled", toggles[0].get("detail", ""), toggles[0])
        for e in failed + toggles:
            self.assertEqual(e.get("principal"), principal, e)
            self.assertTrue(e.get("source", "").startswith("127.0.0.1"), e)
            self.assertTrue(e.get("time"), e)
        self.assertIn("wrong", failed[0].get("detail", ""), failed[0])  # the reason
        # no code we ever sent, and no seed, anywhere in the log
        secrets = set()
        for d in self.acct.all_devices():
            secrets.add(d.seed)
            secrets.update(d.sent_codes)
        for s in json_strings(audit_entries(out.stdout)):
            for sec in secrets:
                self.assertNotIn(sec, s, "audit log contains a code or seed: %r" % (s,))


    def test_header_refusals_audited(self):
        """Issue 16: every refusal of x-amz-mfa is an audit entry: over HTTP, malformed, and
        with session credentials; the header's code is not in it."""
        b = self.new_bucket("Enabled")
        self.assertMfaError(400, "InvalidRequest", MSG_HTTPS, self.acct.s3_http.delete_object,
                            Bucket=b, Key="k", MFA=self.acct.serial() + " 135791")
        self.assertMfaError(400, "InvalidArgument", MSG_MALFORMED, self.s3.delete_object,
                            Bucket=b, Key="k", MFA=self.acct.serial() + " 24680")
        t, _ = self.acct.session()
        self.assertMfaError(400, "InvalidRequest", MSG_DEVPAY, t.delete_object,
                            Bucket=b, Key="k", MFA=self.acct.serial() + " 975311")
        out = coffer("audit", "--json")
        failed = [e for e in audit_entries(out.stdout)
                  if e.get("bucket") == b and e.get("event") == "mfa.check_failed"]
        details = [e.get("detail", "") for e in failed]
        self.assertEqual(len(failed), 3, failed)
        self.assertTrue(details[0].endswith(": over HTTP"), details)
        self.assertEqual(details[1], "DELETE_OBJECT: malformed header", details)
        self.assertEqual(details[2], "DELETE_OBJECT: session credentials", details)
        for e in failed:
            self.assertTrue(e.get("source", "").startswith("127.0.0.1"), e)
            for code in ("135791", "24680", "975311"):
                self.assertNotIn(code, json.dumps(e), e)

        # Filters and --newest: the last two of this bucket's, oldest first; --event takes an
        # event or the events under it.
        out = coffer("audit", "--json", "--bucket", b, "--newest", "2")
        self.assertEqual(audit_entries(out.stdout), failed[1:])
        out = coffer("audit", "--json", "--bucket", b, "--event", "mfa")
        self.assertEqual(audit_entries(out.stdout), failed)
        out = coffer("audit", "--json", "--bucket", b, "--event", "bucket.mfa_delete")
        self.assertEqual(audit_entries(out.stdout), [])
        out = coffer("audit", "--bucket", b, "--newest", "1")
        self.assertEqual(len(out.stdout.splitlines()), 2, out.stdout)  # header + one entry
        self.assertIn("session credentials", out.stdout)
        for bad in (["--newest", "0"], ["--newest", "2", "--limit", "3"]):
            r = coffer("audit", *bad, check=False)
            self.assertEqual(r.returncode, 1, (bad, r.stderr))

    def test_follow(self):
        """`coffer audit --follow` prints entries recorded after it started, until stopped."""
        b = self.new_bucket("Enabled")
        self.assertMfaError(400, "InvalidArgument", MSG_MALFORMED, self.s3.delete_object,
                            Bucket=b, Key="k", MFA=self.acct.serial() + " 1")
        e = lib.env()
        p = subprocess.Popen([os.path.join(e.bin, "coffer"), "--data", e.data, "audit",
                              "--follow", "--json", "--bucket", b, "--newest", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        guard = threading.Timer(30, p.kill)  # a follower that never prints must not hang us
        guard.start()
        try:
            first = json.loads(p.stdout.readline())
            self.assertEqual(first["detail"], "DELETE_OBJECT: malformed header")
            self.assertMfaError(400, "InvalidRequest", MSG_HTTPS,
                                self.acct.s3_http.delete_object, Bucket=b, Key="k",
                                MFA=self.acct.serial() + " 123456")
            second = json.loads(p.stdout.readline())  # blocks until the poll finds it
            self.assertEqual(second["bucket"], b)
            self.assertTrue(second["detail"].endswith(": over HTTP"), second)
            self.assertGreater(second["id"], first["id"])
            self.assertIsNone(p.poll(), "coffer audit --follow stopped by itself")
        finally:
            guard.cancel()
            p.terminate()
            p.wait(timeout=10)
            p.stdout.close()
            p.stderr.close()


class IamStsMfaTest(MfaCase):
    """Case 50 (IAM parts): EnableMFADevice and GetSessionToken with bad codes."""

    tag = "mfa-iam"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.acct.add_device()

    def test_50_enable_with_non_consecutive_codes(self):
        serial, seed = self.acct.create_virtual()
        ensure_margin()
        s = cur_step()
        for c1, c2 in ((totp(seed, s - 1), totp(seed, s + 1)), (totp(seed, s), totp(seed, s)),
                       (totp(seed, s), totp(seed, s - 1))):
            with self.subTest(codes=(c1, c2)):
                self.assertIamError(403, "InvalidAuthenticationCode", None,
                                    self.acct.enable_client().enable_mfa_device,
                                    SerialNumber=serial,
                                    AuthenticationCode1=c1, AuthenticationCode2=c2)
        listed = self.acct.iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")
        self.assertIn(serial, [d["SerialNumber"] for d in listed["VirtualMFADevices"]])
        # then with the right pair it is enabled and usable
        dev = self.acct.enable(serial, seed)
        self.acct.devices.append(dev)
        b = self.new_bucket("Enabled")
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration=ENABLED_MFA,
                                      MFA=dev.header(dev.take_or_wait()))

    def test_50_get_session_token_wrong_code(self):
        dev = self.acct.device()
        self.assertIamError(403, "AccessDenied", MSG_STS_BAD_CODE,
                            self.acct.sts.get_session_token, DurationSeconds=900,
                            SerialNumber=dev.serial, TokenCode=dev.wrong())
        t, cr = self.acct.session(SerialNumber=dev.serial, TokenCode=dev.take_or_wait())
        self.assertTrue(cr["SessionToken"])
        self.assertTrue(t.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200)


def tearDownModule():
    if SLEPT[0] > 0:
        print("mfa tests slept %.1fs waiting for TOTP steps" % SLEPT[0])


if __name__ == "__main__":
    unittest.main()
