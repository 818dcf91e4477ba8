/* test_authz.c -- auth/authz: identity, session and bucket (or trust)
 * policies, ACL grants and Block Public Access combined into one decision
 * [spec-authorization §1.2-1.6, §7], on the decision parts of the
 * conformance cases of §10 (#N) and the session-policy rules of §1.2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "auth/authz.h"
#include "auth/policy.h"
#include "util/arena.h"
#include "util/str.h"

#include <stdio.h>
#include <string.h>

#include "policy_fix.h"

#define V12 "{\"Version\":\"2012-10-17\",\"Statement\":["
#define END "]}"
#define OBJ(k) "arn:aws:s3:::bkt/" k
#define BKT "arn:aws:s3:::bkt"
#define KV(...) ((const struct kv[]){__VA_ARGS__, {NULL, {NULL}}})

/* identity: allow/deny action on resource */
#define IDP(eff, act, res)                                                                         \
    V12 "{\"Effect\":\"" eff "\",\"Action\":\"" act "\",\"Resource\":\"" res "\"}" END
/* bucket policy: one statement */
#define BPP(eff, pr, act, res, cond)                                                               \
    V12 "{\"Effect\":\"" eff "\",\"Principal\":" pr ",\"Action\":\"" act "\",\"Resource\":\"" res  \
        "\"" cond "}" END
#define TRUSTP(pr, cond)                                                                           \
    V12 "{\"Effect\":\"Allow\",\"Principal\":" pr ",\"Action\":\"sts:AssumeRole\"" cond "}" END
#define AWSP(x) "{\"AWS\":\"" x "\"}"
#define MFA_TRUE ",\"Condition\":{\"Bool\":{\"aws:MultiFactorAuthPresent\":\"true\"}}"

enum { IMPL = AUTHZ_IMPLICIT_DENY, ALLOW = AUTHZ_ALLOW, DENY = AUTHZ_EXPLICIT_DENY };

struct acase {
    const char *name;
    const char *id[3];
    bool has_session;
    const char *sess[2];
    const char *res;
    bool trust;
    const char *who;
    bool root, same;
    const char *action, *resource;
    const struct kv *keys;
    bool foreign, acl, restrict_pub;
    int want;
    int src; /* enum authz_source, or -1: not checked */
};

#define GET "s3:GetObject"
#define PUT "s3:PutObject"

static const struct acase cases[] = {
    {"#1 nothing", .who = "alice", .same = true, .action = GET, .resource = OBJ("k"), .want = IMPL,
     .src = AUTHZ_SRC_NONE},
    {"#2 identity", .id = {IDP("Allow", GET, OBJ("*"))}, .who = "alice", .same = true,
     .action = GET, .resource = OBJ("k"), .want = ALLOW, .src = AUTHZ_SRC_IDENTITY},
    {"#3 BP names alice", .res = BPP("Allow", AWSP(ALICE), GET, OBJ("*"), ""), .who = "alice",
     .same = true, .action = GET, .resource = OBJ("k"), .want = ALLOW, .src = AUTHZ_SRC_RESOURCE},
    {"#4 root", .who = "rootA", .root = true, .same = true, .action = GET, .resource = OBJ("k"),
     .want = ALLOW, .src = AUTHZ_SRC_ROOT},
    {"#5 carol ID only", .id = {IDP("Allow", GET, "*")}, .who = "carol", .action = GET,
     .resource = OBJ("k"), .want = IMPL, .src = -1},
    {"#6 BP names B only", .res = BPP("Allow", AWSP(B), GET, OBJ("*"), ""), .who = "carol",
     .action = GET, .resource = OBJ("k"), .want = IMPL, .src = -1},
    {"#7 both sides", .id = {IDP("Allow", GET, "*")},
     .res = BPP("Allow", AWSP(B), GET, OBJ("*"), ""), .who = "carol", .action = GET,
     .resource = OBJ("k"), .want = ALLOW, .src = AUTHZ_SRC_RESOURCE},
    {"#9 deny binds root", .res = BPP("Deny", "\"*\"", "s3:*", OBJ("*"), ""), .who = "rootA",
     .root = true, .same = true, .action = GET, .resource = OBJ("k"), .want = DENY,
     .src = AUTHZ_SRC_RESOURCE},
    {"#9 lock-out recovery", .res = BPP("Deny", "\"*\"", "s3:*", BKT, ""), .who = "rootA",
     .root = true, .same = true, .action = "s3:DeleteBucketPolicy", .resource = BKT, .want = ALLOW,
     .src = AUTHZ_SRC_ROOT},
    {"#10 alice", .id = {IDP("Allow", "*", "*")},
     .res = BPP("Deny", "\"*\"", "s3:PutBucketPolicy", BKT, ""), .who = "alice", .same = true,
     .action = "s3:PutBucketPolicy", .resource = BKT, .want = DENY, .src = AUTHZ_SRC_RESOURCE},
    {"#10 root", .res = BPP("Deny", "\"*\"", "s3:PutBucketPolicy", BKT, ""), .who = "rootA",
     .root = true, .same = true, .action = "s3:PutBucketPolicy", .resource = BKT, .want = ALLOW,
     .src = AUTHZ_SRC_ROOT},
    {"#11 carol allowed (405 is S3's)", .id = {IDP("Allow", "s3:GetBucketPolicy", "*")},
     .res = BPP("Allow", AWSP(CAROL), "s3:GetBucketPolicy", BKT, ""), .who = "carol",
     .action = "s3:GetBucketPolicy", .resource = BKT, .want = ALLOW, .src = -1},
    {"#12 anonymous", .res = BPP("Allow", "\"*\"", GET, OBJ("*"), ""), .who = "anon", .action = GET,
     .resource = OBJ("k"), .want = ALLOW, .src = AUTHZ_SRC_RESOURCE},
    {"#13 anonymous", .res = BPP("Allow", "\"*\"", GET, OBJ("*"), ""), .who = "anon", .action = GET,
     .resource = OBJ("k"), .restrict_pub = true, .want = IMPL, .src = -1},
    {"#13 carol", .id = {IDP("Allow", GET, "*")}, .res = BPP("Allow", "\"*\"", GET, OBJ("*"), ""),
     .who = "carol", .action = GET, .resource = OBJ("k"), .restrict_pub = true, .want = IMPL,
     .src = -1},
    {"#13 owner account", .res = BPP("Allow", "\"*\"", GET, OBJ("*"), ""), .who = "alice",
     .same = true, .action = GET, .resource = OBJ("k"), .restrict_pub = true, .want = ALLOW,
     .src = AUTHZ_SRC_RESOURCE},
    {"#26 GST+MFA", .id = {IDP("Allow", PUT, "*")},
     .res = V12 "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"" A "\",\"" B "\"]},"
                "\"Action\":\"s3:PutObject\",\"Resource\":\"" OBJ("*") "\"" MFA_TRUE "}" END,
     .who = "carol", .action = PUT, .resource = OBJ("k"),
     .keys = KV({"aws:MultiFactorAuthPresent", {"true"}}), .want = ALLOW, .src = -1},
    {"#26 role session", .id = {IDP("Allow", PUT, "*")},
     .res = V12 "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"" A "\",\"" B "\"]},"
                "\"Action\":\"s3:PutObject\",\"Resource\":\"" OBJ("*") "\"" MFA_TRUE "}" END,
     .who = "carol", .action = PUT, .resource = OBJ("k"),
     .keys = KV({"aws:MultiFactorAuthPresent", {"false"}}), .want = IMPL, .src = -1},
    {"#27 without MFA", .id = {IDP("Allow", "sts:AssumeRole", "*")},
     .res = TRUSTP(AWSP(B), MFA_TRUE), .trust = true, .who = "carol", .action = "sts:AssumeRole",
     .resource = ROLE, .want = IMPL, .src = -1},
    {"#27 with MFA", .id = {IDP("Allow", "sts:AssumeRole", "*")}, .res = TRUSTP(AWSP(B), MFA_TRUE),
     .trust = true, .who = "carol", .action = "sts:AssumeRole", .resource = ROLE,
     .keys = KV({"aws:MultiFactorAuthPresent", {"true"}}), .want = ALLOW, .src = -1},
    {"#28 Bob", .id = {IDP("Allow", "s3:*", "*")},
     .res = V12 "{\"Effect\":\"Deny\",\"NotPrincipal\":{\"AWS\":[\"" BOB_B "\",\"arn:aws:iam::" B
                ":root\"]},\"Action\":\"s3:*\",\"Resource\":\"" OBJ(
                    "*") "\"},{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" BOB_B "\"},"
                         "\"Action\":\"s3:GetObject\",\"Resource\":\"" OBJ("*") "\"}" END,
     .who = "Bob", .action = GET, .resource = OBJ("k"), .want = ALLOW, .src = -1},
    {"#28 carol", .id = {IDP("Allow", "s3:*", "*")},
     .res = V12 "{\"Effect\":\"Deny\",\"NotPrincipal\":{\"AWS\":[\"" BOB_B "\",\"arn:aws:iam::" B
                ":root\"]},\"Action\":\"s3:*\",\"Resource\":\"" OBJ(
                    "*") "\"},{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" BOB_B "\"},"
                         "\"Action\":\"s3:GetObject\",\"Resource\":\"" OBJ("*") "\"}" END,
     .who = "carol", .action = GET, .resource = OBJ("k"), .want = IMPL, .src = -1},
    {"#36 with header", .id = {IDP("Allow", PUT, "*")},
     .res =
         BPP("Allow", AWSP(CAROL), PUT, OBJ("*"),
             ",\"Condition\":{\"StringEquals\":{\"s3:x-amz-acl\":\"bucket-owner-full-control\"}}"),
     .who = "carol", .action = PUT, .resource = OBJ("k"),
     .keys = KV({"s3:x-amz-acl", {"bucket-owner-full-control"}}), .want = ALLOW, .src = -1},
    {"#36 without", .id = {IDP("Allow", PUT, "*")},
     .res =
         BPP("Allow", AWSP(CAROL), PUT, OBJ("*"),
             ",\"Condition\":{\"StringEquals\":{\"s3:x-amz-acl\":\"bucket-owner-full-control\"}}"),
     .who = "carol", .action = PUT, .resource = OBJ("k"), .want = IMPL, .src = -1},
    {"#42 source",
     .id = {V12 "{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"" OBJ(
         "src/*") "\"},{\"Effect\":\"Allow\",\"Action\":\"s3:PutObject\","
                  "\"Resource\":\"" OBJ("dst/*") "\"}" END},
     .who = "alice", .same = true, .action = GET, .resource = OBJ("src/a"), .want = ALLOW,
     .src = -1},
    {"#42 other destination",
     .id = {V12 "{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"" OBJ(
         "src/*") "\"},{\"Effect\":\"Allow\",\"Action\":\"s3:PutObject\","
                  "\"Resource\":\"" OBJ("dst/*") "\"}" END},
     .who = "alice", .same = true, .action = PUT, .resource = OBJ("other/a"), .want = IMPL,
     .src = -1},
    {"#42 no source",
     .id = {V12 "{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"" OBJ(
         "src/*") "\"},{\"Effect\":\"Allow\",\"Action\":\"s3:PutObject\","
                  "\"Resource\":\"" OBJ("dst/*") "\"}" END},
     .who = "alice", .same = true, .action = GET, .resource = OBJ("nosrc/a"), .want = IMPL,
     .src = -1},
    {"#43 a/1", .id = {IDP("Allow", "s3:DeleteObject", OBJ("a/*"))}, .who = "alice", .same = true,
     .action = "s3:DeleteObject", .resource = OBJ("a/1"), .want = ALLOW, .src = -1},
    {"#43 b/2", .id = {IDP("Allow", "s3:DeleteObject", OBJ("a/*"))}, .who = "alice", .same = true,
     .action = "s3:DeleteObject", .resource = OBJ("b/2"), .want = IMPL, .src = -1},
    {"#45 alice, foreign object", .id = {IDP("Allow", GET, "*")},
     .res = BPP("Allow", AWSP(ALICE), GET, OBJ("*"), ""), .who = "alice", .same = true,
     .action = GET, .resource = OBJ("f"), .foreign = true, .want = IMPL, .src = -1},
    {"#45 root deletes", .who = "rootA", .root = true, .same = true, .action = "s3:DeleteObject",
     .resource = OBJ("f"), .foreign = true, .want = ALLOW, .src = AUTHZ_SRC_ROOT},
    {"#45 root reads", .who = "rootA", .root = true, .same = true, .action = GET,
     .resource = OBJ("f"), .foreign = true, .want = IMPL, .src = -1},
    {"#46 carol, ACL, BP deny", .id = {IDP("Allow", GET, "*")},
     .res = BPP("Deny", "\"*\"", GET, OBJ("f"), ""), .who = "carol", .action = GET,
     .resource = OBJ("f"), .foreign = true, .acl = true, .want = DENY, .src = AUTHZ_SRC_RESOURCE},
    {"carol, own foreign object", .id = {IDP("Allow", GET, "*")}, .who = "carol", .action = GET,
     .resource = OBJ("f"), .foreign = true, .acl = true, .want = ALLOW, .src = AUTHZ_SRC_ACL},
    {"carol, ACL, no identity", .who = "carol", .action = GET, .resource = OBJ("k"), .acl = true,
     .want = IMPL, .src = -1},
    {"anonymous, ACL", .who = "anon", .action = GET, .resource = OBJ("k"), .acl = true,
     .want = ALLOW, .src = AUTHZ_SRC_ACL},
    {"alice, ACL", .who = "alice", .same = true, .action = GET, .resource = OBJ("k"), .acl = true,
     .want = ALLOW, .src = AUTHZ_SRC_ACL},
    {"ACL loses to identity deny", .id = {IDP("Deny", GET, "*")}, .who = "alice", .same = true,
     .action = GET, .resource = OBJ("k"), .acl = true, .want = DENY, .src = AUTHZ_SRC_IDENTITY},
    {"BP names account: delegation", .res = BPP("Allow", AWSP(A), GET, OBJ("*"), ""),
     .who = "alice", .same = true, .action = GET, .resource = OBJ("k"), .want = IMPL, .src = -1},
    {"BP names account + identity", .id = {IDP("Allow", GET, "*")},
     .res = BPP("Allow", AWSP(A), GET, OBJ("*"), ""), .who = "alice", .same = true, .action = GET,
     .resource = OBJ("k"), .want = ALLOW, .src = AUTHZ_SRC_IDENTITY},
    {"BP \"*\" same account", .res = BPP("Allow", "\"*\"", GET, OBJ("*"), ""), .who = "alice",
     .same = true, .action = GET, .resource = OBJ("k"), .want = ALLOW, .src = AUTHZ_SRC_RESOURCE},
    /* session policies [§1.2 step 4] */
    {"session allows", .id = {IDP("Allow", "s3:*", "*")}, .has_session = true,
     .sess = {IDP("Allow", GET, "*")}, .who = "sess", .same = true, .action = GET,
     .resource = OBJ("k"), .want = ALLOW, .src = AUTHZ_SRC_IDENTITY},
    {"session caps", .id = {IDP("Allow", "s3:*", "*")}, .has_session = true,
     .sess = {IDP("Allow", GET, "*")}, .who = "sess", .same = true, .action = PUT,
     .resource = OBJ("k"), .want = IMPL, .src = -1},
    {"session denies", .id = {IDP("Allow", "s3:*", "*")}, .has_session = true,
     .sess = {IDP("Allow", "s3:*", "*"), IDP("Deny", PUT, "*")}, .who = "sess", .same = true,
     .action = PUT, .resource = OBJ("k"), .want = DENY, .src = AUTHZ_SRC_SESSION},
    {"session without policy", .id = {IDP("Allow", "s3:*", "*")}, .has_session = true,
     .who = "sess", .same = true, .action = GET, .resource = OBJ("k"), .want = IMPL, .src = -1},
    {"BP names session: past the cap", .has_session = true, .sess = {IDP("Allow", GET, "*")},
     .res = BPP("Allow", AWSP(SESS), PUT, OBJ("*"), ""), .who = "sess", .same = true, .action = PUT,
     .resource = OBJ("k"), .want = ALLOW, .src = AUTHZ_SRC_RESOURCE},
    {"BP names role: capped", .has_session = true, .sess = {IDP("Allow", GET, "*")},
     .res = BPP("Allow", AWSP(ROLE), PUT, OBJ("*"), ""), .who = "sess", .same = true, .action = PUT,
     .resource = OBJ("k"), .want = IMPL, .src = -1},
    {"BP names role: within the cap", .has_session = true, .sess = {IDP("Allow", PUT, "*")},
     .res = BPP("Allow", AWSP(ROLE), PUT, OBJ("*"), ""), .who = "sess", .same = true, .action = PUT,
     .resource = OBJ("k"), .want = ALLOW, .src = AUTHZ_SRC_RESOURCE},
    {"BP names role, no session policy", .res = BPP("Allow", AWSP(ROLE), PUT, OBJ("*"), ""),
     .who = "sess", .same = true, .action = PUT, .resource = OBJ("k"), .want = ALLOW,
     .src = AUTHZ_SRC_RESOURCE},
    {"#48 ListAllMyBuckets", .id = {IDP("Allow", "s3:ListAllMyBuckets", "*")}, .who = "alice",
     .same = true, .action = "s3:ListAllMyBuckets", .resource = "*", .want = ALLOW, .src = -1},
    {"#48 on a bucket ARN", .id = {IDP("Allow", "s3:ListAllMyBuckets", BKT)}, .who = "alice",
     .same = true, .action = "s3:ListAllMyBuckets", .resource = "*", .want = IMPL, .src = -1},
};

static struct policy *
load(const char *doc, enum policy_kind kind)
{
    struct policy *p = NULL;
    char msg[256];

    if (doc == NULL)
        return NULL;
    if (parse(doc, kind, &p, msg, sizeof(msg)) != 0)
        fail_msg("%s: %s", doc, msg);
    return p;
}

static void
test_decisions(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const struct acase *t = &cases[i];
        struct arena *a = arena_new();
        struct policy *ids[3] = {0}, *sess[2] = {0};
        size_t n_ids = 0, n_sess = 0;
        struct policy_ctx c = {.action = str_c(t->action),
                               .resource = str_c(t->resource),
                               .who = who(t->who),
                               .key = key_cb,
                               .key_arg = (void *)t->keys,
                               .arena = a};
        struct authz_in in = {.ctx = &c,
                              .is_root = t->root,
                              .same_account = t->same,
                              .has_session = t->has_session,
                              .foreign_object = t->foreign,
                              .acl_allows = t->acl,
                              .restrict_public = t->restrict_pub};
        struct authz_out out;
        enum authz_decision d;

        while (n_ids < 3 && t->id[n_ids] != NULL) {
            ids[n_ids] = load(t->id[n_ids], POLICY_IDENTITY);
            n_ids++;
        }
        while (n_sess < 2 && t->sess[n_sess] != NULL) {
            sess[n_sess] = load(t->sess[n_sess], POLICY_IDENTITY);
            n_sess++;
        }
        in.ids = (const struct policy *const *)ids;
        in.n_ids = n_ids;
        in.sessions = (const struct policy *const *)sess;
        in.n_sessions = n_sess;
        in.resource = load(t->res, t->trust ? POLICY_TRUST : POLICY_BUCKET);
        d = authz_decide(&in, &out);
        if ((int)d != t->want || out.decision != d)
            fail_msg("%s: got %d want %d", t->name, d, t->want);
        if (t->src >= 0 && (int)out.source != t->src)
            fail_msg("%s: source %d want %d", t->name, out.source, t->src);
        for (size_t k = 0; k < n_ids; k++)
            policy_free(ids[k]);
        for (size_t k = 0; k < n_sess; k++)
            policy_free(sess[k]);
        policy_free((struct policy *)in.resource);
        arena_free(a);
    }
}

/* The deciding statement is reported with its policy's index. */
static void
test_source_index(void **state)
{
    struct arena *a = arena_new();
    struct policy *ids[2] = {load(IDP("Allow", PUT, "*"), POLICY_IDENTITY),
                             load(V12 "{\"Sid\":\"G\",\"Effect\":\"Allow\",\"Action\":\"s3:Get*\","
                                      "\"Resource\":\"*\"}" END,
                                  POLICY_IDENTITY)};
    struct policy_ctx c = {.action = STR_LIT(GET),
                           .resource = STR_LIT(OBJ("k")),
                           .who = who("alice"),
                           .key = key_cb,
                           .arena = a};
    struct authz_in in = {
        .ctx = &c, .same_account = true, .ids = (const struct policy *const *)ids, .n_ids = 2};
    struct authz_out out;

    (void)state;
    assert_int_equal(authz_decide(&in, &out), AUTHZ_ALLOW);
    assert_int_equal(out.source, AUTHZ_SRC_IDENTITY);
    assert_int_equal(out.index, 1);
    assert_int_equal(out.hit.index, 0);
    assert_true(str_eq_c(out.hit.sid, "G"));
    policy_free(ids[0]);
    policy_free(ids[1]);
    arena_free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decisions),
        cmocka_unit_test(test_source_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
