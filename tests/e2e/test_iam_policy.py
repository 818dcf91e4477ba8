"""IAM policies, groups and roles over HTTPS with boto3 and the AWS CLI: users' inline policies
(documents round-trip, URL-encoded on the wire), customer managed policies and their versions
(five at most, the default never deleted), AWS managed policies (read and attached, never
changed), attachments, groups and membership, roles with trust policies, and the refusals:
MalformedPolicyDocument (a Principal in an identity policy, bad JSON, an unknown principal in a
trust policy), size limits (LimitExceeded), DeleteConflict, NoSuchEntity, EntityAlreadyExists.

Each class works in an account of its own. Under run.sh the shared server is used; run alone
(python3 runner.py test_iam_policy.py) the module starts a private cofferd from $E2E_BIN.
"""

import json
import os
import shutil
import subprocess
import tempfile
import urllib.parse
import xml.etree.ElementTree as ET

from test_iam import (IAM_NS, IamTestCase, aws_cli, make_client, new_account, raw_query,
                      setUpModule, tearDownModule)  # noqa: F401 (module fixtures)
from lib import env, rand_suffix

S3FULL = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
S3READ = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"


def doc(*statements, version="2012-10-17"):
    return {"Version": version, "Statement": list(statements)}


def allow(action, resource="*"):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def big_doc(n_resources, tag="b"):
    """An identity policy of about 30 * n_resources bytes (whitespace not counted)."""
    return doc(allow("s3:GetObject",
                     ["arn:aws:s3:::%s-bucket-%04d/*" % (tag, i) for i in range(n_resources)]))


def size_of(d):
    return len(json.dumps(d, separators=(",", ":")))


class PolicyTestCase(IamTestCase):
    tag = "pol"

    @classmethod
    def setUpClass(cls):
        cls.acct = new_account(cls.tag)
        cls.number = cls.acct["number"]
        cls.iam = make_client("iam", cls.acct)
        cls.tmp = tempfile.mkdtemp(prefix="coffer-iam-policy.")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def user(self, prefix="u"):
        name = "%s-%s" % (prefix, rand_suffix(5))
        self.iam.create_user(UserName=name)
        return name

    def cli(self, *args):
        r = aws_cli(args, self.acct, self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout) if r.stdout.strip() else None


# ---------------------------------------------------------------------------------------------


class UserPolicyTest(PolicyTestCase):
    tag = "upol"

    def test_inline_round_trip(self):
        name = self.user()
        d = doc(allow(["s3:GetObject", "s3:ListBucket"],
                      ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/${aws:username}/*"]))
        self.iam.put_user_policy(UserName=name, PolicyName="Read", PolicyDocument=json.dumps(d))
        got = self.iam.get_user_policy(UserName=name, PolicyName="read")  # any case
        self.assertEqual((got["UserName"], got["PolicyName"]), (name, "Read"))
        self.assertEqual(got["PolicyDocument"], d)  # botocore decodes the URL-encoded JSON
        self.assertEqual(self.iam.list_user_policies(UserName=name)["PolicyNames"], ["Read"])

        # On the wire the document is URL-encoded, byte for byte what was stored.
        text = json.dumps(d, indent=2)
        self.iam.put_user_policy(UserName=name, PolicyName="READ", PolicyDocument=text)
        r = raw_query("iam", {"Action": "GetUserPolicy", "UserName": name, "PolicyName": "Read"},
                      self.acct)
        self.assertEqual(r.status, 200, r.body)
        enc = ET.fromstring(r.body).find(".//%sPolicyDocument" % IAM_NS).text
        self.assertEqual(urllib.parse.unquote(enc), text)
        self.assertEqual(self.iam.list_user_policies(UserName=name)["PolicyNames"], ["READ"])

        self.iam.put_user_policy(UserName=name, PolicyName="Write",
                                 PolicyDocument=json.dumps(doc(allow("s3:PutObject"))))
        self.assertEqual(self.iam.list_user_policies(UserName=name)["PolicyNames"],
                         ["READ", "Write"])
        page = self.iam.list_user_policies(UserName=name, MaxItems=1)
        self.assertEqual((page["PolicyNames"], page["IsTruncated"]), (["READ"], True))
        page = self.iam.list_user_policies(UserName=name, Marker=page["Marker"])
        self.assertEqual((page["PolicyNames"], page["IsTruncated"]), (["Write"], False))

        # A user with policies is not deleted.
        r = self.assertIamError("DeleteConflict", 409, self.iam.delete_user, UserName=name)
        self.assertIn("policies", r["Error"]["Message"])
        self.iam.delete_user_policy(UserName=name, PolicyName="read")
        self.iam.delete_user_policy(UserName=name, PolicyName="Write")
        self.assertEqual(self.iam.list_user_policies(UserName=name)["PolicyNames"], [])
        self.assertIamError("NoSuchEntity", 404, self.iam.get_user_policy, UserName=name,
                            PolicyName="Read")
        self.assertIamError("NoSuchEntity", 404, self.iam.delete_user_policy, UserName=name,
                            PolicyName="Read")
        self.assertIamError("NoSuchEntity", 404, self.iam.put_user_policy, UserName="nobody-x",
                            PolicyName="p", PolicyDocument=json.dumps(d))
        self.iam.delete_user(UserName=name)

    def test_audit(self):
        """Each change leaves one audit row in the store, read back with the admin CLI."""
        name = self.user("aud")
        self.iam.put_user_policy(UserName=name, PolicyName="p",
                                 PolicyDocument=json.dumps(doc(allow("s3:GetObject"))))
        self.iam.attach_user_policy(UserName=name, PolicyArn=S3READ)
        self.iam.detach_user_policy(UserName=name, PolicyArn=S3READ)
        self.iam.delete_user_policy(UserName=name, PolicyName="p")
        e = env()
        out = subprocess.run([os.path.join(e.bin, "coffer"), "--data", e.data, "audit", "--json",
                              "--limit", "100000"], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        mine = [(x["event"], x["detail"]) for x in json.loads(out.stdout)
                if name in (x.get("detail") or "")]
        self.assertEqual(mine, [
            ("iam.PutUserPolicy", "user %s policy p" % name),
            ("iam.AttachUserPolicy", "user %s policy %s" % (name, S3READ)),
            ("iam.DetachUserPolicy", "user %s policy %s" % (name, S3READ)),
            ("iam.DeleteUserPolicy", "user %s policy p" % name),
        ])
        self.iam.delete_user(UserName=name)

    def test_cli(self):
        name = self.user("cli")
        d = doc(allow("s3:ListAllMyBuckets"))
        path = os.path.join(self.tmp, "p.json")
        with open(path, "w") as f:
            json.dump(d, f)
        self.cli("iam", "put-user-policy", "--user-name", name, "--policy-name", "lab",
                 "--policy-document", "file://" + path)
        got = self.cli("iam", "get-user-policy", "--user-name", name, "--policy-name", "lab")
        self.assertEqual(got["PolicyDocument"], d)
        self.assertEqual(self.cli("iam", "list-user-policies", "--user-name", name),
                         {"PolicyNames": ["lab"]})
        self.cli("iam", "delete-user-policy", "--user-name", name, "--policy-name", "lab")

    def test_malformed(self):
        name = self.user()
        bad = doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"})
        r = self.assertIamError("MalformedPolicyDocument", 400, self.iam.put_user_policy,
                                UserName=name, PolicyName="p", PolicyDocument=json.dumps(bad))
        self.assertEqual(r["Error"]["Message"], "Policy document should not specify a principal.")
        self.assertIamError("MalformedPolicyDocument", 400, self.iam.put_user_policy,
                            UserName=name, PolicyName="p", PolicyDocument='{"Version": "2012-10-17"')
        self.assertIamError("MalformedPolicyDocument", 400, self.iam.put_user_policy,
                            UserName=name, PolicyName="p", PolicyDocument="not json")
        self.assertIamError("MalformedPolicyDocument", 400, self.iam.create_policy,
                            PolicyName="bad-" + rand_suffix(4), PolicyDocument=json.dumps(bad))
        # Characters outside TAB, LF, CR and U+0020..U+00FF are refused before parsing.
        self.assertIamError("ValidationError", 400, self.iam.put_user_policy, UserName=name,
                            PolicyName="p", PolicyDocument=json.dumps(
                                doc(allow("s3:GetObject", "arn:aws:s3:::b/\u20ac")),
                                ensure_ascii=False))
        self.assertEqual(self.iam.list_user_policies(UserName=name)["PolicyNames"], [])

    def test_size_limit(self):
        name = self.user("big")
        d = big_doc(80)
        self.assertGreater(size_of(d), 2048)
        r = self.assertIamError("LimitExceeded", 409, self.iam.put_user_policy, UserName=name,
                                PolicyName="big", PolicyDocument=json.dumps(d, indent=4))
        self.assertEqual(r["Error"]["Message"],
                         "Maximum policy size of 2048 bytes exceeded for user %s" % name)
        # Whitespace does not count; the limit is on all inline policies together, and a
        # policy being replaced does not count against itself.
        half = big_doc(35)
        self.assertTrue(2048 // 2 < size_of(half) < 2048, size_of(half))
        self.iam.put_user_policy(UserName=name, PolicyName="a",
                                 PolicyDocument=json.dumps(half, indent=8))
        self.iam.put_user_policy(UserName=name, PolicyName="a", PolicyDocument=json.dumps(half))
        self.assertIamError("LimitExceeded", 409, self.iam.put_user_policy, UserName=name,
                            PolicyName="b", PolicyDocument=json.dumps(big_doc(35, "c")))
        # Groups allow 5,120.
        g = "big-" + rand_suffix(4)
        self.iam.create_group(GroupName=g)
        self.iam.put_group_policy(GroupName=g, PolicyName="big", PolicyDocument=json.dumps(d))
        self.iam.delete_group_policy(GroupName=g, PolicyName="big")
        self.iam.delete_group(GroupName=g)


class ManagedPolicyTest(PolicyTestCase):
    tag = "mpol"

    def test_versions(self):
        name = "Team-" + rand_suffix(4)
        v1 = doc(allow("s3:GetObject", "arn:aws:s3:::v1/*"))
        p = self.iam.create_policy(PolicyName=name, Path="/team/", PolicyDocument=json.dumps(v1),
                                   Description="for the team")["Policy"]
        arn = "arn:aws:iam::%s:policy/team/%s" % (self.number, name)
        self.assertEqual((p["Arn"], p["Path"], p["DefaultVersionId"], p["AttachmentCount"]),
                         (arn, "/team/", "v1", 0))
        self.assertTrue(p["PolicyId"].startswith("ANPA") and len(p["PolicyId"]) == 21)
        self.assertTrue(p["IsAttachable"])
        self.recent(p["CreateDate"])
        self.assertIamError("EntityAlreadyExists", 409, self.iam.create_policy,
                            PolicyName=name.lower(), PolicyDocument=json.dumps(v1))
        got = self.iam.get_policy(PolicyArn=arn)["Policy"]
        self.assertEqual((got["PolicyName"], got["Description"]), (name, "for the team"))
        self.assertEqual(self.iam.get_policy_version(PolicyArn=arn, VersionId="v1")
                         ["PolicyVersion"]["Document"], v1)

        for i in range(2, 6):
            v = self.iam.create_policy_version(
                PolicyArn=arn, PolicyDocument=json.dumps(doc(allow("s3:GetObject",
                                                                   "arn:aws:s3:::v%d/*" % i))),
                SetAsDefault=(i == 3))["PolicyVersion"]
            self.assertEqual((v["VersionId"], v["IsDefaultVersion"]), ("v%d" % i, i == 3))
        r = self.assertIamError("LimitExceeded", 409, self.iam.create_policy_version,
                                PolicyArn=arn, PolicyDocument=json.dumps(v1))
        self.assertIn("5 versions", r["Error"]["Message"])
        vs = self.iam.list_policy_versions(PolicyArn=arn)["Versions"]
        self.assertEqual(sorted(v["VersionId"] for v in vs), ["v1", "v2", "v3", "v4", "v5"])
        self.assertEqual([v["VersionId"] for v in vs if v["IsDefaultVersion"]], ["v3"])
        self.assertEqual(self.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"], "v3")
        r = self.iam.get_policy_version(PolicyArn=arn, VersionId="v3")["PolicyVersion"]
        self.assertEqual(r["Document"]["Statement"][0]["Resource"], "arn:aws:s3:::v3/*")
        self.assertTrue(r["IsDefaultVersion"])
        self.assertIamError("NoSuchEntity", 404, self.iam.get_policy_version, PolicyArn=arn,
                            VersionId="v9")

        self.assertIamError("DeleteConflict", 409, self.iam.delete_policy_version,
                            PolicyArn=arn, VersionId="v3")
        self.iam.set_default_policy_version(PolicyArn=arn, VersionId="v5")
        self.iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
        v = self.iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(v1))
        self.assertEqual(v["PolicyVersion"]["VersionId"], "v6")  # never reused

        # Attached, or with versions besides the default: not deleted.
        user = self.user()
        self.iam.attach_user_policy(UserName=user, PolicyArn=arn)
        self.assertEqual(self.iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"], 1)
        r = self.assertIamError("DeleteConflict", 409, self.iam.delete_policy, PolicyArn=arn)
        self.assertIn("attached", r["Error"]["Message"])
        self.iam.detach_user_policy(UserName=user, PolicyArn=arn)
        r = self.assertIamError("DeleteConflict", 409, self.iam.delete_policy, PolicyArn=arn)
        self.assertIn("versions", r["Error"]["Message"])
        for v in ("v1", "v2", "v4", "v6"):
            self.iam.delete_policy_version(PolicyArn=arn, VersionId=v)
        self.iam.delete_policy(PolicyArn=arn)
        self.assertIamError("NoSuchEntity", 404, self.iam.get_policy, PolicyArn=arn)

    def test_list_and_aws_managed(self):
        name = "Listed-" + rand_suffix(4)
        arn = self.iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(
            doc(allow("s3:ListAllMyBuckets"))))["Policy"]["Arn"]
        local = [p["Arn"] for p in self.iam.list_policies(Scope="Local")["Policies"]]
        self.assertIn(arn, local)
        self.assertNotIn(S3FULL, local)
        aws = {p["Arn"]: p for p in self.iam.list_policies(Scope="AWS")["Policies"]}
        self.assertIn(S3FULL, aws)
        self.assertNotIn(arn, aws)
        self.assertEqual(aws[S3READ]["Path"], "/")
        every = [p["Arn"] for p in self.iam.list_policies()["Policies"]]
        self.assertTrue({arn, S3FULL, S3READ} <= set(every))
        self.assertIamError("ValidationError", 400, self.iam.list_policies, Scope="Mine")
        # Paging covers everything once.
        seen, marker = [], None
        while True:
            kw = {"MaxItems": 2}
            if marker:
                kw["Marker"] = marker
            page = self.iam.list_policies(**kw)
            seen += [p["Arn"] for p in page["Policies"]]
            if not page["IsTruncated"]:
                break
            marker = page["Marker"]
        self.assertEqual(seen, every)

        # AWS managed ones: read, attached, never changed.
        p = self.iam.get_policy(PolicyArn=S3READ)["Policy"]
        self.assertEqual((p["PolicyName"], p["DefaultVersionId"]), ("AmazonS3ReadOnlyAccess", "v3"))
        v = self.iam.get_policy_version(PolicyArn=S3READ, VersionId="v3")["PolicyVersion"]
        self.assertIn("s3:Get*", v["Document"]["Statement"][0]["Action"])
        self.assertIamError("AccessDenied", 403, self.iam.delete_policy, PolicyArn=S3READ)
        self.assertIamError("AccessDenied", 403, self.iam.create_policy_version, PolicyArn=S3READ,
                            PolicyDocument=json.dumps(doc(allow("s3:*"))))
        self.assertIamError("NoSuchEntity", 404, self.iam.get_policy,
                            PolicyArn="arn:aws:iam::aws:policy/NoSuchThing")

        user = self.user()
        self.iam.attach_user_policy(UserName=user, PolicyArn=S3READ)
        only = [p["Arn"] for p in self.iam.list_policies(OnlyAttached=True)["Policies"]]
        self.assertIn(S3READ, only)
        self.assertNotIn(arn, only)
        ents = self.iam.list_entities_for_policy(PolicyArn=S3READ)
        self.assertEqual([u["UserName"] for u in ents["PolicyUsers"]], [user])
        self.assertTrue(ents["PolicyUsers"][0]["UserId"].startswith("AIDA"))
        self.assertEqual((ents["PolicyGroups"], ents["PolicyRoles"]), ([], []))
        self.iam.detach_user_policy(UserName=user, PolicyArn=S3READ)
        self.iam.delete_policy(PolicyArn=arn)

    def test_attach_detach(self):
        user = self.user()
        arns = [self.iam.create_policy(PolicyName="A%d-%s" % (i, rand_suffix(4)),
                                       PolicyDocument=json.dumps(doc(allow("s3:GetObject"))))
                ["Policy"]["Arn"] for i in range(9)]
        for a in arns + [S3FULL]:
            self.iam.attach_user_policy(UserName=user, PolicyArn=a)
        self.iam.attach_user_policy(UserName=user, PolicyArn=S3FULL)  # again: no change
        att = self.iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
        self.assertEqual(sorted(p["PolicyArn"] for p in att), sorted(arns + [S3FULL]))
        self.assertIn({"PolicyName": "AmazonS3FullAccess", "PolicyArn": S3FULL}, att)
        r = self.assertIamError("LimitExceeded", 409, self.iam.attach_user_policy,
                                UserName=user, PolicyArn=S3READ)
        self.assertEqual(r["Error"]["Message"], "Cannot exceed quota for PoliciesPerUser: 10")
        r = self.assertIamError("DeleteConflict", 409, self.iam.delete_user, UserName=user)
        self.assertIn("detach", r["Error"]["Message"])
        self.assertIamError("NoSuchEntity", 404, self.iam.attach_user_policy, UserName=user,
                            PolicyArn="arn:aws:iam::%s:policy/missing" % self.number)
        self.assertIamError("NoSuchEntity", 404, self.iam.attach_user_policy,
                            UserName="nobody-" + rand_suffix(3), PolicyArn=S3FULL)
        for a in arns + [S3FULL]:
            self.iam.detach_user_policy(UserName=user, PolicyArn=a)
        self.assertIamError("NoSuchEntity", 404, self.iam.detach_user_policy, UserName=user,
                            PolicyArn=S3FULL)
        self.assertEqual(self.iam.list_attached_user_policies(UserName=user)["AttachedPolicies"],
                         [])
        for a in arns:
            self.iam.delete_policy(PolicyArn=a)
        self.iam.delete_user(UserName=user)

    def test_cli_create_policy(self):
        name = "Cli-" + rand_suffix(4)
        d = doc(allow("s3:GetObject", "arn:aws:s3:::cli/*"))
        out = self.cli("iam", "create-policy", "--policy-name", name, "--policy-document",
                       json.dumps(d))
        arn = out["Policy"]["Arn"]
        got = self.cli("iam", "get-policy-version", "--policy-arn", arn, "--version-id", "v1")
        self.assertEqual(got["PolicyVersion"]["Document"], d)
        self.cli("iam", "delete-policy", "--policy-arn", arn)

    def test_user_cannot_manage_policies(self):
        name = self.user("plain")
        k = self.iam.create_access_key(UserName=name)["AccessKey"]
        iam_u = make_client("iam", k)
        r = self.assertIamError("AccessDenied", 403, iam_u.create_policy, PolicyName="mine",
                                PolicyDocument=json.dumps(doc(allow("s3:*"))))
        self.assertIn("iam:CreatePolicy on resource: arn:aws:iam::%s:policy/mine" % self.number,
                      r["Error"]["Message"])
        r = self.assertIamError("AccessDenied", 403, iam_u.attach_user_policy, UserName=name,
                                PolicyArn=S3FULL)
        self.assertIn("iam:AttachUserPolicy on resource: arn:aws:iam::%s:user/%s"
                      % (self.number, name), r["Error"]["Message"])
        g = "G-" + rand_suffix(4)
        self.iam.create_group(GroupName=g, Path="/x/")
        r = self.assertIamError("AccessDenied", 403, iam_u.add_user_to_group, GroupName=g,
                                UserName=name)
        self.assertIn("resource: arn:aws:iam::%s:group/x/%s" % (self.number, g),
                      r["Error"]["Message"])
        self.iam.delete_group(GroupName=g)
        self.iam.delete_access_key(UserName=name, AccessKeyId=k["AccessKeyId"])
        self.iam.delete_user(UserName=name)


class GroupTest(PolicyTestCase):
    tag = "grp"

    def test_groups_and_membership(self):
        g = "Dev-" + rand_suffix(4)
        grp = self.iam.create_group(GroupName=g, Path="/eng/")["Group"]
        self.assertEqual(grp["Arn"], "arn:aws:iam::%s:group/eng/%s" % (self.number, g))
        self.assertTrue(grp["GroupId"].startswith("AGPA"))
        self.assertIamError("EntityAlreadyExists", 409, self.iam.create_group,
                            GroupName=g.upper())
        self.assertIn(g, [x["GroupName"] for x in self.iam.list_groups()["Groups"]])
        self.assertEqual([x["GroupName"] for x in self.iam.list_groups(PathPrefix="/eng/")
                          ["Groups"]], [g])
        self.assertEqual(self.iam.list_groups(PathPrefix="/ops/")["Groups"], [])

        alice, bob = self.user("alice"), self.user("bob")
        self.iam.add_user_to_group(GroupName=g, UserName=alice)
        self.iam.add_user_to_group(GroupName=g, UserName=bob)
        self.iam.add_user_to_group(GroupName=g, UserName=bob)  # again: no change
        got = self.iam.get_group(GroupName=g)
        self.assertEqual(got["Group"]["GroupId"], grp["GroupId"])
        self.assertEqual(sorted(u["UserName"] for u in got["Users"]), sorted([alice, bob]))
        self.assertEqual([x["GroupName"] for x in self.iam.list_groups_for_user(UserName=alice)
                          ["Groups"]], [g])
        r = self.assertIamError("DeleteConflict", 409, self.iam.delete_group, GroupName=g)
        self.assertIn("users", r["Error"]["Message"])
        r = self.assertIamError("DeleteConflict", 409, self.iam.delete_user, UserName=alice)
        self.assertIn("groups", r["Error"]["Message"])
        self.assertIamError("NoSuchEntity", 404, self.iam.add_user_to_group, GroupName="nope-x",
                            UserName=alice)

        d = doc(allow("s3:*", "arn:aws:s3:::team/${aws:username}/*"))
        self.iam.put_group_policy(GroupName=g, PolicyName="home", PolicyDocument=json.dumps(d))
        self.assertEqual(self.iam.get_group_policy(GroupName=g, PolicyName="home")
                         ["PolicyDocument"], d)
        self.assertEqual(self.iam.list_group_policies(GroupName=g)["PolicyNames"], ["home"])
        self.iam.attach_group_policy(GroupName=g, PolicyArn=S3READ)
        self.assertEqual([p["PolicyArn"] for p in self.iam.list_attached_group_policies(
            GroupName=g)["AttachedPolicies"]], [S3READ])
        ents = self.iam.list_entities_for_policy(PolicyArn=S3READ, EntityFilter="Group")
        self.assertEqual([(x["GroupName"], x["GroupId"]) for x in ents["PolicyGroups"]],
                         [(g, grp["GroupId"])])

        self.iam.remove_user_from_group(GroupName=g, UserName=alice)
        self.iam.remove_user_from_group(GroupName=g, UserName=bob)
        self.assertIamError("NoSuchEntity", 404, self.iam.remove_user_from_group, GroupName=g,
                            UserName=bob)
        r = self.assertIamError("DeleteConflict", 409, self.iam.delete_group, GroupName=g)
        self.assertIn("delete policies", r["Error"]["Message"])
        self.iam.delete_group_policy(GroupName=g, PolicyName="home")
        r = self.assertIamError("DeleteConflict", 409, self.iam.delete_group, GroupName=g)
        self.assertIn("detach", r["Error"]["Message"])
        self.iam.detach_group_policy(GroupName=g, PolicyArn=S3READ)
        self.iam.delete_group(GroupName=g)
        self.assertIamError("NoSuchEntity", 404, self.iam.get_group, GroupName=g)
        self.iam.delete_user(UserName=alice)
        self.iam.delete_user(UserName=bob)

    def test_groups_per_user(self):
        user = self.user()
        groups = ["G%d-%s" % (i, rand_suffix(4)) for i in range(11)]
        for g in groups:
            self.iam.create_group(GroupName=g)
        for g in groups[:10]:
            self.iam.add_user_to_group(GroupName=g, UserName=user)
        r = self.assertIamError("LimitExceeded", 409, self.iam.add_user_to_group,
                                GroupName=groups[10], UserName=user)
        self.assertIn("GroupsPerUser", r["Error"]["Message"])
        for g in groups[:10]:
            self.iam.remove_user_from_group(GroupName=g, UserName=user)
        for g in groups:
            self.iam.delete_group(GroupName=g)


class RoleTest(PolicyTestCase):
    tag = "role"

    def trust(self, principal=None):
        return doc({"Effect": "Allow",
                    "Principal": {"AWS": principal or "arn:aws:iam::%s:root" % self.number},
                    "Action": "sts:AssumeRole"})

    def test_roles(self):
        name = "Deploy-" + rand_suffix(4)
        t = self.trust()
        role = self.iam.create_role(RoleName=name, Path="/ci/", AssumeRolePolicyDocument=
                                    json.dumps(t), Description="deploys")["Role"]
        self.assertEqual(role["Arn"], "arn:aws:iam::%s:role/ci/%s" % (self.number, name))
        self.assertTrue(role["RoleId"].startswith("AROA"))
        self.assertEqual(role["AssumeRolePolicyDocument"], t)
        got = self.iam.get_role(RoleName=name.lower())["Role"]
        self.assertEqual((got["RoleName"], got["Description"], got["MaxSessionDuration"]),
                         (name, "deploys", 3600))
        self.assertEqual(got["AssumeRolePolicyDocument"], t)
        self.assertIamError("EntityAlreadyExists", 409, self.iam.create_role, RoleName=name,
                            AssumeRolePolicyDocument=json.dumps(t))
        self.assertIn(name, [r["RoleName"] for r in self.iam.list_roles()["Roles"]])
        self.assertEqual([r["RoleName"] for r in self.iam.list_roles(PathPrefix="/ci/")["Roles"]],
                         [name])

        # A trust policy may name a user of the account that exists.
        user = self.user("trusted")
        t2 = self.trust("arn:aws:iam::%s:user/%s" % (self.number, user))
        self.iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(t2))
        self.assertEqual(self.iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"], t2)

        d = doc(allow("s3:PutObject", "arn:aws:s3:::artifacts/*"))
        self.iam.put_role_policy(RoleName=name, PolicyName="upload", PolicyDocument=json.dumps(d))
        self.assertEqual(self.iam.get_role_policy(RoleName=name, PolicyName="upload")
                         ["PolicyDocument"], d)
        self.assertEqual(self.iam.list_role_policies(RoleName=name)["PolicyNames"], ["upload"])
        self.iam.attach_role_policy(RoleName=name, PolicyArn=S3READ)
        self.assertEqual([p["PolicyName"] for p in self.iam.list_attached_role_policies(
            RoleName=name)["AttachedPolicies"]], ["AmazonS3ReadOnlyAccess"])
        ents = self.iam.list_entities_for_policy(PolicyArn=S3READ)
        self.assertEqual([r["RoleName"] for r in ents["PolicyRoles"]], [name])

        r = self.assertIamError("DeleteConflict", 409, self.iam.delete_role, RoleName=name)
        self.assertIn("delete policies", r["Error"]["Message"])
        self.iam.delete_role_policy(RoleName=name, PolicyName="upload")
        r = self.assertIamError("DeleteConflict", 409, self.iam.delete_role, RoleName=name)
        self.assertIn("detach", r["Error"]["Message"])
        self.iam.detach_role_policy(RoleName=name, PolicyArn=S3READ)
        self.iam.delete_role(RoleName=name)
        self.assertIamError("NoSuchEntity", 404, self.iam.get_role, RoleName=name)
        self.iam.delete_user(UserName=user)

    def test_bad_trust_policies(self):
        name = "Bad-" + rand_suffix(4)
        ghost = self.trust("arn:aws:iam::%s:user/ghost-%s" % (self.number, rand_suffix(4)))
        r = self.assertIamError("MalformedPolicyDocument", 400, self.iam.create_role,
                                RoleName=name, AssumeRolePolicyDocument=json.dumps(ghost))
        self.assertIn("Invalid principal in policy", r["Error"]["Message"])
        no_principal = doc({"Effect": "Allow", "Action": "sts:AssumeRole"})
        self.assertIamError("MalformedPolicyDocument", 400, self.iam.create_role, RoleName=name,
                            AssumeRolePolicyDocument=json.dumps(no_principal))
        self.assertIamError("MalformedPolicyDocument", 400, self.iam.create_role, RoleName=name,
                            AssumeRolePolicyDocument="{]")
        # Another account's principals are not looked up.
        self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
            self.trust("arn:aws:iam::123456789012:user/someone")), MaxSessionDuration=7200)
        self.assertEqual(self.iam.get_role(RoleName=name)["Role"]["MaxSessionDuration"], 7200)
        self.assertIamError("MalformedPolicyDocument", 400, self.iam.update_assume_role_policy,
                            RoleName=name, PolicyDocument=json.dumps(ghost))
        self.assertIamError("ValidationError", 400, self.iam.create_role, RoleName="x" * 65,
                            AssumeRolePolicyDocument=json.dumps(self.trust()))
        self.iam.delete_role(RoleName=name)
