"""ACLs as AWS keeps them under Object Ownership, end to end: Get/PutBucketAcl and
Get/PutObjectAcl (versions too), canned ACLs and grant headers on writes and CreateBucket, the
object owner each ownership setting gives, ACL grants in decisions (anonymous and cross-account
callers, foreign-owned objects), IgnorePublicAcls and BlockPublicAcls; conformance cases 36-41,
45, 46 of ../shared/spec/authorization.md section 10, with boto3, the AWS CLI, s3cmd and curl.
"""

import os
import subprocess
import tempfile
import urllib.parse

from mfa_lib import aws, ca_path, env
from lib import bucket_name, signed_request
from test_authz import AuthzCase, allow, anon, deny, doc

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTH_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"


def grants(acl):
    """The grants of a Get*Acl answer as (grantee, permission) pairs."""
    out = []
    for g in acl["Grants"]:
        who = g["Grantee"].get("ID") or g["Grantee"].get("URI")
        out.append((who, g["Permission"]))
    return out


class AclCase(AuthzCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.a_id = cls.a.s3.list_buckets()["Owner"]["ID"]
        cls.b_id = cls.b.s3.list_buckets()["Owner"]["ID"]

    def acl_bucket(self, ownership="ObjectWriter", public=True, key="k"):
        """A bucket with ACLs enabled; Block Public Access off unless public is False."""
        b = bucket_name(self.tag)
        self.a.s3.create_bucket(Bucket=b, ObjectOwnership=ownership)
        if public:
            self.a.s3.delete_public_access_block(Bucket=b)
        if key:
            self.a.s3.put_object(Bucket=b, Key=key, Body=b"data")
        return b

    def pab(self, b, **flags):
        cfg = {k: False for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                                  "RestrictPublicBuckets")}
        cfg.update(flags)
        self.a.s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration=cfg)


class TestAclApi(AclCase):
    tag = "acl-api"

    def test_enforced_reads_and_writes(self):
        # case 37: the default bucket; ACL reads show the bucket owner alone
        b = self.bucket()
        self.assertS3Error("AccessControlListNotSupported", 400, self.a.s3.put_object, Bucket=b,
                           Key="p", Body=b"x", ACL="public-read")
        self.a.s3.put_object(Bucket=b, Key="p", Body=b"x", ACL="bucket-owner-full-control")
        acl = self.a.s3.get_object_acl(Bucket=b, Key="p")
        self.assertEqual(acl["Owner"]["ID"], self.a_id)
        self.assertEqual(grants(acl), [(self.a_id, "FULL_CONTROL")])
        self.assertEqual(grants(self.a.s3.get_bucket_acl(Bucket=b)), [(self.a_id, "FULL_CONTROL")])
        self.assertS3Error("AccessControlListNotSupported", 400, self.a.s3.put_bucket_acl,
                           Bucket=b, ACL="public-read")
        self.assertS3Error("AccessControlListNotSupported", 400, self.a.s3.put_object_acl,
                           Bucket=b, Key="p", GrantRead="uri=" + ALL_USERS)
        self.a.s3.put_object_acl(Bucket=b, Key="p", ACL="bucket-owner-full-control")
        self.a.s3.put_bucket_acl(Bucket=b, AccessControlPolicy={
            "Owner": {"ID": self.a_id},
            "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": self.a_id},
                        "Permission": "FULL_CONTROL"}]})

    def test_canned_acls_and_grants(self):
        b = self.acl_bucket()
        self.a.s3.put_object(Bucket=b, Key="pr", Body=b"x", ACL="public-read")
        self.assertEqual(grants(self.a.s3.get_object_acl(Bucket=b, Key="pr")),
                         [(self.a_id, "FULL_CONTROL"), (ALL_USERS, "READ")])
        self.a.s3.put_object(Bucket=b, Key="ar", Body=b"x", ACL="authenticated-read")
        self.assertEqual(grants(self.a.s3.get_object_acl(Bucket=b, Key="ar")),
                         [(self.a_id, "FULL_CONTROL"), (AUTH_USERS, "READ")])
        self.a.s3.put_object(Bucket=b, Key="g", Body=b"x", GrantRead='id="%s"' % self.b_id,
                             GrantWriteACP="uri=" + AUTH_USERS)
        self.assertEqual(sorted(grants(self.a.s3.get_object_acl(Bucket=b, Key="g"))),
                         sorted([(self.a_id, "FULL_CONTROL"), (self.b_id, "READ"),
                                 (AUTH_USERS, "WRITE_ACP")]))
        self.a.s3.put_bucket_acl(Bucket=b, ACL="log-delivery-write")
        self.assertIn(("http://acs.amazonaws.com/groups/s3/LogDelivery", "WRITE"),
                      grants(self.a.s3.get_bucket_acl(Bucket=b)))
        self.a.s3.put_bucket_acl(Bucket=b, ACL="private")
        self.assertEqual(grants(self.a.s3.get_bucket_acl(Bucket=b)), [(self.a_id, "FULL_CONTROL")])

    def test_refusals(self):
        b = self.acl_bucket()
        self.assertS3Error("InvalidArgument", 400, self.a.s3.put_object, Bucket=b, Key="x",
                           Body=b"x", ACL="bogus")
        self.assertS3Error("InvalidArgument", 400, self.a.s3.put_object, Bucket=b, Key="x",
                           Body=b"x", GrantRead='id="%s"' % ("ab" * 32))
        self.assertS3Error("InvalidArgument", 400, self.a.s3.put_object, Bucket=b, Key="x",
                           Body=b"x", GrantRead='uri="http://example.com/group"')
        self.assertS3Error("MethodNotAllowed", 405, self.a.s3.put_object, Bucket=b, Key="x",
                           Body=b"x", GrantRead='emailAddress="a@example.com"')
        self.assertS3Error("InvalidRequest", 400, self.a.s3.put_object, Bucket=b, Key="x",
                           Body=b"x", ACL="private", GrantRead='id="%s"' % self.b_id)
        # Put*Acl: headers or a document, not both
        self.assertS3Error("InvalidRequest", 400, self.a.s3.put_object_acl, Bucket=b, Key="k",
                           ACL="private", AccessControlPolicy={
                               "Owner": {"ID": self.a_id}, "Grants": []})
        self.assertS3Error("NoSuchKey", 404, self.a.s3.get_object_acl, Bucket=b, Key="none")
        # 101 grants
        many = ", ".join(['uri="%s"' % ALL_USERS] * 101)
        self.assertS3Error("InvalidArgument", 400, self.a.s3.put_object_acl, Bucket=b, Key="k",
                           GrantRead=many)

    def test_document_round_trip(self):
        b = self.acl_bucket()
        self.a.s3.put_object_acl(Bucket=b, Key="k", AccessControlPolicy={
            "Owner": {"ID": self.a_id},
            "Grants": [
                {"Grantee": {"Type": "CanonicalUser", "ID": self.b_id}, "Permission": "READ_ACP"},
                {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"},
            ]})
        acl = self.a.s3.get_object_acl(Bucket=b, Key="k")
        self.assertEqual(grants(acl), [(self.a_id, "FULL_CONTROL"), (self.b_id, "READ_ACP"),
                                       (ALL_USERS, "READ")])
        types = [g["Grantee"]["Type"] for g in acl["Grants"]]
        self.assertEqual(types, ["CanonicalUser", "CanonicalUser", "Group"])
        self.assertEqual(acl["Grants"][1]["Grantee"]["DisplayName"], self.b.name)
        self.assertEqual(anon("GET", b, "k"), (200, b"data"))

    def test_versioned_acls(self):
        b = self.acl_bucket(key=None)
        self.a.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        v1 = self.a.s3.put_object(Bucket=b, Key="v", Body=b"one", ACL="public-read")["VersionId"]
        v2 = self.a.s3.put_object(Bucket=b, Key="v", Body=b"two")["VersionId"]
        self.assertEqual(grants(self.a.s3.get_object_acl(Bucket=b, Key="v")),
                         [(self.a_id, "FULL_CONTROL")])
        self.assertIn((ALL_USERS, "READ"),
                      grants(self.a.s3.get_object_acl(Bucket=b, Key="v", VersionId=v1)))
        e = env()
        # anonymous: the old version is public, the current one is not
        q = "?versionId=" + urllib.parse.quote(v1)
        out = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--cacert",
                              ca_path(), "%s/%s/v%s" % (e.https, b, q)], capture_output=True)
        self.assertTrue(out.stdout.endswith(b"\n200"), out.stdout)
        self.assertEqual(anon("GET", b, "v")[0], 403)
        self.a.s3.put_object_acl(Bucket=b, Key="v", VersionId=v2, ACL="public-read")
        self.assertEqual(anon("GET", b, "v"), (200, b"two"))
        # s3:PutObjectVersionAcl is its own action
        u = self.user()
        u.put_policy(doc(allow("s3:PutObjectAcl", "arn:aws:s3:::%s/*" % b)))
        u.s3.put_object_acl(Bucket=b, Key="v", ACL="private")
        self.denied(u.s3.put_object_acl, Bucket=b, Key="v", VersionId=v1, ACL="private")
        self.denied(u.s3.get_object_acl, Bucket=b, Key="v", VersionId=v1)

    def test_multipart_keeps_its_acl(self):
        b = self.acl_bucket(key=None)
        mpu = self.a.s3.create_multipart_upload(Bucket=b, Key="m", ACL="public-read")
        etag = self.a.s3.upload_part(Bucket=b, Key="m", UploadId=mpu["UploadId"], PartNumber=1,
                                     Body=b"multi")["ETag"]
        self.assertEqual(anon("GET", b, "m")[0], 403)  # nothing there yet
        self.a.s3.complete_multipart_upload(Bucket=b, Key="m", UploadId=mpu["UploadId"],
                                            MultipartUpload={"Parts": [{"PartNumber": 1,
                                                                        "ETag": etag}]})
        self.assertEqual(anon("GET", b, "m"), (200, b"multi"))

    def test_copy_takes_the_acl_asked(self):
        b = self.acl_bucket()
        self.a.s3.copy_object(Bucket=b, Key="c", CopySource={"Bucket": b, "Key": "k"},
                              ACL="public-read")
        self.assertEqual(anon("GET", b, "c"), (200, b"data"))
        self.a.s3.copy_object(Bucket=b, Key="c2", CopySource={"Bucket": b, "Key": "c"})
        self.assertEqual(anon("GET", b, "c2")[0], 403)

    def test_acl_takes_get_and_put_only(self):
        # ?acl never reaches another operation's handler: DELETE and POST are 405
        b = self.acl_bucket()
        for method, path in (("DELETE", "/" + b), ("DELETE", "/%s/k" % b), ("POST", "/%s/k" % b)):
            r = signed_request(method, path, query=[("acl", None)], ak=self.a.ak, sk=self.a.sk)
            self.assertRawError(r, 405, "MethodNotAllowed")
        self.assertEqual(self.a.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"data")


class TestAclDecisions(AclCase):
    tag = "acl-dec"

    def test_anonymous_public_read(self):
        # ObjectWriter, Block Public Access off: public-read lets anonymous GET and HEAD
        b = self.acl_bucket(key=None)
        self.a.s3.put_object(Bucket=b, Key="pub", Body=b"hello", ACL="public-read")
        self.a.s3.put_object(Bucket=b, Key="priv", Body=b"secret")
        self.assertEqual(anon("GET", b, "pub"), (200, b"hello"))
        self.assertEqual(anon("GET", b, "priv")[0], 403)
        self.assertEqual(anon("PUT", b, "new", data=b"x")[0], 403)
        # a public-read-write bucket takes anonymous writes; the writer owns nothing
        self.a.s3.put_bucket_acl(Bucket=b, ACL="public-read-write")
        self.assertEqual(anon("PUT", b, "anon", data=b"x")[0], 200)
        self.assertEqual(anon("GET", b, "")[0], 200)  # READ on the bucket lists it

    def test_case_36_bucket_owner_preferred(self):
        b = self.acl_bucket("BucketOwnerPreferred", key=None)
        carol = self.user(self.b, "carol")
        carol.put_policy(doc(allow("s3:PutObject", "*")))
        self.set_bucket_policy(b, allow("s3:PutObject", "arn:aws:s3:::%s/*" % b,
                                        Principal={"AWS": carol.arn},
                                        Condition={"StringEquals": {
                                            "s3:x-amz-acl": "bucket-owner-full-control"}}))
        carol.s3.put_object(Bucket=b, Key="f", Body=b"x", ACL="bucket-owner-full-control")
        self.denied(carol.s3.put_object, Bucket=b, Key="g", Body=b"x")
        self.assertEqual(self.a.s3.get_object_acl(Bucket=b, Key="f")["Owner"]["ID"], self.a_id)
        owners = {o["Key"]: o["Owner"]["ID"]
                  for o in self.a.s3.list_objects(Bucket=b)["Contents"]}
        self.assertEqual(owners["f"], self.a_id)
        self.assertEqual(self.a.s3.get_object(Bucket=b, Key="f")["Body"].read(), b"x")

    def test_case_38_enforced_with_public_bucket_acl(self):
        b = self.acl_bucket(key=None)
        self.a.s3.put_bucket_acl(Bucket=b, GrantRead="uri=" + ALL_USERS)
        self.assertS3Error("InvalidBucketAclWithObjectOwnership", 400,
                           self.a.s3.put_bucket_ownership_controls, Bucket=b,
                           OwnershipControls={"Rules": [{"ObjectOwnership":
                                                         "BucketOwnerEnforced"}]})

    def test_case_39_block_public_acls(self):
        b = self.acl_bucket()
        self.pab(b, BlockPublicAcls=True)
        self.denied(self.a.s3.put_object, Bucket=b, Key="p", Body=b"x", ACL="public-read")
        self.denied(self.a.s3.put_object_acl, Bucket=b, Key="k", ACL="authenticated-read")
        self.denied(self.a.s3.put_bucket_acl, Bucket=b, GrantRead="uri=" + ALL_USERS)
        self.denied(self.a.s3.create_multipart_upload, Bucket=b, Key="m", ACL="public-read")
        self.a.s3.put_object_acl(Bucket=b, Key="k", ACL="private")
        # CreateBucket: a new bucket blocks public ACLs
        self.denied(self.a.s3.create_bucket, Bucket=bucket_name(self.tag),
                    ObjectOwnership="ObjectWriter", ACL="public-read")

    def test_case_40_ignore_public_acls(self):
        b = self.acl_bucket(key=None)
        self.a.s3.put_object(Bucket=b, Key="k", Body=b"x", ACL="public-read")
        self.assertEqual(anon("GET", b, "k")[0], 200)
        self.pab(b, IgnorePublicAcls=True)
        self.assertEqual(anon("GET", b, "k")[0], 403)
        self.assertEqual(grants(self.a.s3.get_object_acl(Bucket=b, Key="k")),
                         [(self.a_id, "FULL_CONTROL")])
        # writes are still accepted
        self.a.s3.put_object(Bucket=b, Key="k2", Body=b"x", ACL="public-read")
        self.pab(b)
        self.assertEqual(anon("GET", b, "k2")[0], 200)

    def test_case_41_acl_header_needs_put_object_acl(self):
        b = self.acl_bucket(key=None)
        u = self.user()
        u.put_policy(doc(allow("s3:PutObject", "arn:aws:s3:::%s/*" % b)))
        self.denied(u.s3.put_object, Bucket=b, Key="p", Body=b"x", ACL="public-read")
        u.s3.put_object(Bucket=b, Key="p", Body=b"x")
        u.put_policy(doc(allow(["s3:PutObject", "s3:PutObjectAcl"], "arn:aws:s3:::%s/*" % b)))
        u.s3.put_object(Bucket=b, Key="p", Body=b"x", ACL="public-read")

    def test_cases_45_46_foreign_object(self):
        b = self.acl_bucket(key=None)
        carol = self.user(self.b, "carol2")
        carol.put_policy(doc(allow("s3:*", "*")))
        self.set_bucket_policy(b, allow("s3:PutObject", "arn:aws:s3:::%s/*" % b,
                                        Principal={"AWS": carol.arn}))
        carol.s3.put_object(Bucket=b, Key="f", Body=b"carol's")
        # ObjectWriter: carol owns it, A has no grant
        self.assertEqual(carol.s3.get_object_acl(Bucket=b, Key="f")["Owner"]["ID"], self.b_id)
        alice = self.user()
        alice.put_policy(doc(allow("s3:GetObject", "*")))
        self.set_bucket_policy(b, allow("s3:PutObject", "arn:aws:s3:::%s/*" % b,
                                        Principal={"AWS": carol.arn}),
                               allow("s3:GetObject", "arn:aws:s3:::%s/*" % b,
                                     Principal={"AWS": alice.arn}))
        self.denied(alice.s3.get_object, Bucket=b, Key="f")  # case 45
        self.assertEqual(carol.s3.get_object(Bucket=b, Key="f")["Body"].read(), b"carol's")
        # case 46: a bucket-policy Deny binds the object's owner too
        self.set_bucket_policy(b, deny("s3:GetObject", "arn:aws:s3:::%s/f" % b, Principal="*"))
        self.denied(carol.s3.get_object, Bucket=b, Key="f")
        self.a.s3.delete_object(Bucket=b, Key="f")  # case 45: the bucket owner may delete it

    def test_cross_account_grant(self):
        b = self.acl_bucket()
        self.a.s3.put_object_acl(Bucket=b, Key="k", GrantRead='id="%s"' % self.b_id)
        self.assertEqual(self.b.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"data")
        self.denied(self.b.s3.get_object_acl, Bucket=b, Key="k")
        self.denied(self.b.s3.list_objects_v2, Bucket=b)
        self.a.s3.put_bucket_acl(Bucket=b, GrantRead='id="%s"' % self.b_id)
        self.assertEqual(self.b.s3.list_objects_v2(Bucket=b)["KeyCount"], 1)
        # an ID side is still needed for an IAM user of B
        carol = self.user(self.b)
        self.denied(carol.s3.get_object, Bucket=b, Key="k")
        carol.put_policy(doc(allow("s3:GetObject", "*")))
        self.assertEqual(carol.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"data")
        # AuthenticatedUsers: any signed caller, never anonymous ones
        self.a.s3.put_object(Bucket=b, Key="au", Body=b"au", ACL="authenticated-read")
        self.assertEqual(self.b.s3.get_object(Bucket=b, Key="au")["Body"].read(), b"au")
        self.assertEqual(anon("GET", b, "au")[0], 403)


class TestAclClients(AclCase):
    tag = "acl-cli"

    def test_create_bucket_with_acl(self):
        b = bucket_name(self.tag)
        self.assertS3Error("InvalidBucketAclWithObjectOwnership", 400, self.a.s3.create_bucket,
                           Bucket=b, GrantRead='id="%s"' % self.b_id)
        self.a.s3.create_bucket(Bucket=b, ObjectOwnership="ObjectWriter",
                                GrantRead='id="%s"' % self.b_id)
        self.assertIn((self.b_id, "READ"), grants(self.a.s3.get_bucket_acl(Bucket=b)))
        u = self.user()
        u.put_policy(doc(allow(["s3:CreateBucket", "s3:PutBucketOwnershipControls"], "*")))
        self.denied(u.s3.create_bucket, Bucket=bucket_name(self.tag),
                    ObjectOwnership="ObjectWriter", GrantRead='id="%s"' % self.b_id)
        u.s3.create_bucket(Bucket=bucket_name(self.tag), ACL="private")

    def test_aws_cli(self):
        b = self.acl_bucket()
        r = aws(self.a.ak, self.a.sk, "s3api", "put-object-acl", "--bucket", b, "--key", "k",
                "--acl", "public-read")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(anon("GET", b, "k"), (200, b"data"))
        r = aws(self.a.ak, self.a.sk, "s3api", "put-bucket-acl", "--bucket", b, "--grant-read",
                "uri=" + ALL_USERS)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(anon("GET", b, "")[0], 200)
        r = aws(self.a.ak, self.a.sk, "s3api", "get-bucket-acl", "--bucket", b)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(ALL_USERS, r.stdout)
        r = aws(self.a.ak, self.a.sk, "s3api", "get-object-acl", "--bucket", b, "--key", "k")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"Permission": "READ"', r.stdout)

    def test_s3cmd_setacl(self):
        b = self.acl_bucket()
        e = env()
        hostport = urllib.parse.urlparse(e.https).netloc
        with tempfile.TemporaryDirectory() as d:
            cfg = os.path.join(d, "s3cmd.cfg")
            with open(cfg, "w") as f:
                f.write("[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s\n"
                        "host_bucket = %s\nbucket_location = us-east-1\nuse_https = True\n"
                        "ca_certs_file = %s\ncheck_ssl_certificate = True\n"
                        "check_ssl_hostname = True\nsignature_v2 = False\n"
                        "progress_meter = False\n"
                        % (self.a.ak, self.a.sk, hostport, hostport, ca_path()))
            r = subprocess.run(["s3cmd", "-c", cfg, "setacl", "--acl-public", "s3://%s/k" % b],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(anon("GET", b, "k"), (200, b"data"))
            r = subprocess.run(["s3cmd", "-c", cfg, "setacl", "--acl-private", "s3://%s/k" % b],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(anon("GET", b, "k")[0], 403)
            r = subprocess.run(["s3cmd", "-c", cfg, "info", "s3://%s/k" % b],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("FULL_CONTROL", r.stdout)
