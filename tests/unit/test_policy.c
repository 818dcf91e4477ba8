/* test_policy.c -- auth/policy: validation and its messages (S3's for bucket
 * policies, IAM's for identity and trust policies), statement matching
 * (actions, resources, principals, variables), every condition operator
 * with the absent-key table, Block Public Access's public test and the
 * built-in managed policies [spec-authorization §2, §4, §5.4, §7, §10].
 * Known answers: each case is a document, a request, the expected effect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "auth/policy.h"
#include "util/arena.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy_fix.h"

/* ---- validation [§2.1-2.7] ------------------------------------------------ */

#define ST(body) "{\"Version\":\"2012-10-17\",\"Statement\":[" body "]}"
#define BPS(extra) ST("{\"Effect\":\"Allow\",\"Principal\":\"*\"," extra "}")
#define IDS(extra) ST("{\"Effect\":\"Allow\"," extra "}")

static const struct {
    enum policy_kind kind;
    const char *doc;
    const char *msg; /* NULL: accepted */
} parse_cases[] = {
    /* S3 bucket policies: MalformedPolicy messages */
    {POLICY_BUCKET, "abc", "Policies must be valid JSON and the first byte must be '{'"},
    {POLICY_BUCKET, "", "Policies must be valid JSON and the first byte must be '{'"},
    {POLICY_BUCKET, "[1]", "Policies must be valid JSON and the first byte must be '{'"},
    {POLICY_BUCKET, "\n  " BPS("\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\""),
     NULL},
    {POLICY_BUCKET, "{\"Version\":", "This policy contains invalid Json"},
    {POLICY_BUCKET, "{\"Version\":\"2012-10-17\",\"Version\":\"2012-10-17\"}",
     "This policy contains invalid Json"},
    {POLICY_BUCKET, "{\"Version\":\"2012-10-18\",\"Statement\":[]}",
     "The policy must contain a valid version string"},
    {POLICY_BUCKET, "{\"Version\":5,\"Statement\":[]}",
     "The policy must contain a valid version string"},
    {POLICY_BUCKET, "{\"Version\":\"2012-10-17\"}", "Missing required field Statement"},
    {POLICY_BUCKET, "{\"Version\":\"2012-10-17\",\"Statement\":[]}",
     "Could not parse the policy: Statement is empty!"},
    {POLICY_BUCKET, "{\"Version\":\"2012-10-17\",\"Statement\":\"x\"}",
     "This policy contains invalid Json"},
    {POLICY_BUCKET, "{\"Version\":\"2012-10-17\",\"Foo\":1,\"Statement\":[]}", "Unknown field Foo"},
    {POLICY_BUCKET, BPS("\"Action\":\"s3:GetObjectz\",\"Resource\":\"arn:aws:s3:::bkt/*\""),
     "Policy has invalid action"},
    {POLICY_BUCKET, BPS("\"Action\":\"iam:GetUser\",\"Resource\":\"arn:aws:s3:::bkt/*\""),
     "Policy has invalid action"},
    {POLICY_BUCKET, BPS("\"Action\":\"s3:Gte*\",\"Resource\":\"arn:aws:s3:::bkt/*\""),
     "Policy has invalid action"},
    {POLICY_BUCKET, BPS("\"Action\":\"GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\""),
     "Policy has invalid action"},
    {POLICY_BUCKET, BPS("\"Action\":[],\"Resource\":\"arn:aws:s3:::bkt/*\""),
     "Policy has invalid action"},
    {POLICY_BUCKET, BPS("\"Action\":\"s3:GetObject\",\"Resource\":\"*\""),
     "Policy has invalid resource"},
    {POLICY_BUCKET, BPS("\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::other/*\""),
     "Policy has invalid resource"},
    {POLICY_BUCKET, BPS("\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt2/*\""),
     "Policy has invalid resource"},
    {POLICY_BUCKET, BPS("\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bk*\""),
     "Policy has invalid resource"},
    {POLICY_BUCKET, BPS("\"Action\":\"s3:PutObject\",\"Resource\":\"arn:aws:s3:::bkt\""),
     "Action does not apply to any resource(s) in statement"},
    {POLICY_BUCKET, BPS("\"Action\":\"s3:ListBucket\",\"Resource\":\"arn:aws:s3:::bkt/*\""),
     "Action does not apply to any resource(s) in statement"},
    {POLICY_BUCKET,
     BPS("\"Action\":\"s3:ListAllMyBuckets\",\"Resource\":[\"arn:aws:s3:::bkt\","
         "\"arn:aws:s3:::bkt/*\"]"),
     "Action does not apply to any resource(s) in statement"},
    {POLICY_BUCKET,
     BPS("\"Action\":[\"s3:ListBucket\",\"s3:GetObject\"],\"Resource\":[\"arn:aws:s3:::bkt\","
         "\"arn:aws:s3:::bkt/*\"]"),
     NULL},
    {POLICY_BUCKET, BPS("\"Action\":\"s3:Get*\",\"Resource\":\"arn:aws:s3:::bkt\""), NULL},
    {POLICY_BUCKET, BPS("\"Action\":\"S3:getobject\",\"Resource\":\"arn:aws:s3:::bkt/a*\""), NULL},
    {POLICY_BUCKET, BPS("\"Action\":\"*\",\"Resource\":\"arn:aws:s3:::bkt\""), NULL},
    {POLICY_BUCKET,
     ST("{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\","
        "\"Resource\":\"arn:aws:s3:::bkt/*\"}"),
     "Missing required field Principal"},
    {POLICY_BUCKET,
     ST("{\"Principal\":\"*\",\"Action\":\"s3:GetObject\","
        "\"Resource\":\"arn:aws:s3:::bkt/*\"}"),
     "Missing required field Effect"},
    {POLICY_BUCKET,
     ST("{\"Effect\":\"allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\","
        "\"Resource\":\"arn:aws:s3:::bkt/*\"}"),
     "Invalid effect: allow"},
    {POLICY_BUCKET, BPS("\"Resource\":\"arn:aws:s3:::bkt/*\""), "Missing required field Action"},
    {POLICY_BUCKET, BPS("\"Action\":\"s3:GetObject\""), "Missing required field Resource"},
    {POLICY_BUCKET,
     BPS("\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\","
         "\"Principle\":\"*\""),
     "Unknown field Principle"},
    {POLICY_BUCKET,
     ST("{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::" A ":user/*\"},"
        "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\"}"),
     "Invalid principal in policy"},
    {POLICY_BUCKET,
     ST("{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"1234\"},"
        "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\"}"),
     "Invalid principal in policy"},
    {POLICY_BUCKET,
     ST("{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::" A ":group/g\"},"
        "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\"}"),
     "Invalid principal in policy"},
    {POLICY_BUCKET,
     ST("{\"Effect\":\"Allow\",\"Principal\":\"alice\","
        "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\"}"),
     "Invalid principal in policy"},
    {POLICY_BUCKET,
     ST("{\"Effect\":\"Allow\",\"Principal\":{\"Users\":\"x\"},"
        "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\"}"),
     "Invalid principal in policy"},
    {POLICY_BUCKET,
     ST("{\"Effect\":\"Allow\",\"Principal\":{\"CanonicalUser\":\"abc\"},"
        "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\"}"),
     "Invalid principal in policy"},
    {POLICY_BUCKET,
     ST("{\"Effect\":\"Allow\",\"Principal\":\"*\",\"NotPrincipal\":\"*\","
        "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\"}"),
     "Invalid principal in policy"},
    {POLICY_BUCKET,
     ST("{\"Sid\":\"Any string, spaces too\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":["
        "\"" A "\",\"arn:aws:iam::" B ":root\",\"" ALICE "\",\"" ROLE "\",\"" SESS "\","
        "\"arn:aws:sts::" A ":federated-user/f\"],\"CanonicalUser\":\"" CANON_A "\","
        "\"Service\":\"logging.s3.amazonaws.com\"},"
        "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\"}"),
     NULL},
    {POLICY_BUCKET,
     BPS("\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\","
         "\"Condition\":{\"StringEqualz\":{\"aws:UserAgent\":\"x\"}}"),
     "Invalid Condition type : StringEqualz"},
    {POLICY_BUCKET,
     BPS("\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\","
         "\"Condition\":{\"NullIfExists\":{\"aws:UserAgent\":\"true\"}}"),
     "Invalid Condition type : NullIfExists"},
    {POLICY_BUCKET,
     BPS("\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\","
         "\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/33\"}}"),
     "Invalid Condition value : IpAddress : aws:SourceIp : 10.0.0.0/33"},
    {POLICY_BUCKET,
     BPS("\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\","
         "\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"300.1.1.1\"}}"),
     "Invalid Condition value : IpAddress : aws:SourceIp : 300.1.1.1"},
    {POLICY_BUCKET,
     BPS("\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\","
         "\"Condition\":{\"DateLessThan\":{\"aws:CurrentTime\":\"2020-13-01\"}}"),
     "Invalid Condition value : DateLessThan : aws:CurrentTime : 2020-13-01"},
    {POLICY_BUCKET,
     BPS("\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\","
         "\"Condition\":{\"NumericLessThan\":{\"s3:max-keys\":\"ten\"}}"),
     "Invalid Condition value : NumericLessThan : s3:max-keys : ten"},
    {POLICY_BUCKET,
     BPS("\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\","
         "\"Condition\":{\"NumericLessThan\":{\"s3:max-keys\":\"0x10\"}}"),
     "Invalid Condition value : NumericLessThan : s3:max-keys : 0x10"},
    {POLICY_BUCKET,
     BPS("\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\","
         "\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"yes\"}}"),
     "Invalid Condition value : Bool : aws:SecureTransport : yes"},
    {POLICY_BUCKET,
     BPS("\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\","
         "\"Condition\":{\"BinaryEquals\":{\"aws:x\":\"###\"}}"),
     "Invalid Condition value : BinaryEquals : aws:x : ###"},
    {POLICY_BUCKET,
     BPS("\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\","
         "\"Condition\":{\"ArnLike\":{\"aws:SourceArn\":\"bucket\"}}"),
     "Invalid Condition value : ArnLike : aws:SourceArn : bucket"},
    {POLICY_BUCKET,
     BPS("\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\","
         "\"Condition\":{\"StringEquals\":{\"nokey\":\"x\"}}"),
     "Policy has an invalid condition key"},
    {POLICY_BUCKET,
     BPS("\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\","
         "\"Condition\":{\"StringEquals\":{\"aws:UserAgent\":[]}}"),
     "Invalid Condition value : StringEquals : aws:UserAgent (empty)"},
    {POLICY_BUCKET,
     BPS("\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\","
         "\"Condition\":{\"ForAnyValue:StringLikeIfExists\":{\"aws:TagKeys\":[\"a*\",\"b\"]},"
         "\"NumericLessThanEquals\":{\"s3:max-keys\":10},\"Bool\":{\"aws:SecureTransport\":true},"
         "\"DateGreaterThan\":{\"aws:CurrentTime\":\"2020-01-01T00:00:00Z\"},"
         "\"NotIpAddress\":{\"aws:SourceIp\":[\"192.0.2.0/24\",\"2001:db8::/32\"]},"
         "\"ArnNotLike\":{\"aws:PrincipalArn\":\"arn:aws:iam::*:role/x\"},"
         "\"Null\":{\"aws:MultiFactorAuthAge\":\"false\"},"
         "\"BinaryEquals\":{\"aws:x\":\"QUJD\"}}"),
     NULL},
    /* IAM identity policies: MalformedPolicyDocument messages */
    {POLICY_IDENTITY, "abc", "Syntax errors in policy."},
    {POLICY_IDENTITY, "{", "Syntax errors in policy."},
    {POLICY_IDENTITY,
     ST("{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":\"*\"}"),
     "Policy document should not specify a principal."},
    {POLICY_IDENTITY, "{\"Version\":\"2012-10-18\",\"Statement\":[]}",
     "The policy failed legacy parsing"},
    {POLICY_IDENTITY, IDS("\"Action\":\"GetObject\",\"Resource\":\"*\""),
     "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
    {POLICY_IDENTITY, IDS("\"Action\":\"s3:Get Object\",\"Resource\":\"*\""),
     "Syntax errors in policy."},
    {POLICY_IDENTITY, IDS("\"Action\":\"s3:GetObject\",\"Resource\":\"bkt\""),
     "Resource bkt must be in ARN format or \"*\"."},
    {POLICY_IDENTITY, IDS("\"Resource\":\"*\""), "Policy statement must contain actions."},
    {POLICY_IDENTITY, IDS("\"Action\":\"s3:*\""), "Policy statement must contain resources."},
    {POLICY_IDENTITY, IDS("\"Sid\":\"a-b\",\"Action\":\"s3:*\",\"Resource\":\"*\""),
     "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the "
     "regular expression [0-9A-Za-z]*"},
    {POLICY_IDENTITY,
     ST("{\"Sid\":\"x\",\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"},"
        "{\"Sid\":\"x\",\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"Resource\":\"*\"}"),
     "Statement IDs (SID) in a single policy must be unique."},
    {POLICY_IDENTITY,
     IDS("\"Action\":\"s3:*\",\"Resource\":\"*\",\"Condition\":{\"Foo\":{\"a:b\":\"1\"}}"),
     "Syntax errors in policy."},
    {POLICY_IDENTITY, IDS("\"Action\":\"anything-at-all:SomeNewThing\",\"Resource\":\"*\""), NULL},
    {POLICY_IDENTITY, IDS("\"NotAction\":\"iam:*\",\"NotResource\":\"arn:aws:iam::*:*\""), NULL},
    {POLICY_IDENTITY,
     "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}}", NULL},
    {POLICY_IDENTITY, IDS("\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::b/${aws:username\""),
     "Syntax errors in policy."},
    {POLICY_IDENTITY, IDS("\"Sid\":\"\xc3\xa9\",\"Action\":\"s3:*\",\"Resource\":\"*\""),
     "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the "
     "regular expression [0-9A-Za-z]*"}, /* U+00E9 passes the character check */
    {POLICY_IDENTITY, IDS("\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::\xe4\xb8\x80\""),
     "Syntax errors in policy."}, /* U+4E00 */
    {POLICY_IDENTITY, IDS("\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::\x01\""),
     "Syntax errors in policy."},
    {POLICY_BUCKET,
     BPS("\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/\xe4\xb8\x80\""), NULL},
    /* trust policies */
    {POLICY_TRUST,
     ST("{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" B "\"},\"Action\":\"sts:AssumeRole\"}"),
     NULL},
    {POLICY_TRUST,
     ST("{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" B "\"},\"Action\":\"sts:AssumeRole\","
        "\"Resource\":\"*\"}"),
     "Has prohibited field Resource."},
    {POLICY_TRUST, ST("{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\"}"),
     "Syntax errors in policy."},
    {POLICY_TRUST,
     ST("{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::" A ":user/ghost\"},"
        "\"Action\":\"sts:AssumeRole\"}"),
     "Invalid principal in policy: \"AWS\":\"arn:aws:iam::" A ":user/ghost\""},
    {POLICY_TRUST,
     ST("{\"Effect\":\"Allow\",\"Principal\":{\"CanonicalUser\":\"" CANON_A "\"},"
        "\"Action\":\"sts:AssumeRole\"}"),
     "Invalid principal in policy"},
};

static bool
exists(void *arg, struct str arn)
{
    (void)arg;
    return memmem(arn.p, arn.n, "ghost", 5) == NULL;
}

static void
test_parse_messages(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(parse_cases); i++) {
        struct policy_opts o = {
            .kind = parse_cases[i].kind, .bucket = STR_LIT("bkt"), .principal_exists = exists};
        struct policy *p = NULL;
        char msg[256];
        int rc = policy_parse(str_c(parse_cases[i].doc), &o, &p, msg, sizeof(msg));
        if (parse_cases[i].msg == NULL) {
            if (rc != 0)
                fail_msg("case %zu: %s: unexpected %s", i, parse_cases[i].doc, msg);
            assert_non_null(p);
        } else {
            if (rc != -EINVAL)
                fail_msg("case %zu: %s: accepted", i, parse_cases[i].doc);
            assert_null(p);
            if (strcmp(msg, parse_cases[i].msg) != 0)
                fail_msg("case %zu: got \"%s\" want \"%s\"", i, msg, parse_cases[i].msg);
        }
        policy_free(p);
    }
}

static void
test_policy_size(void **state)
{
    (void)state;
    assert_int_equal(policy_size(STR_LIT("{ \"a b\" :\n\t[ 1 , \"\\\" x\" ] }")), 18);
    assert_int_equal(policy_size(STR_LIT("")), 0);
}

/* Block Public Access: public unless every Allow is pinned [§7, §10 #14-16]. */
static void
test_public(void **state)
{
#define GET_ALL "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\""
#define PUB(pr, cond) ST("{\"Effect\":\"Allow\",\"Principal\":" pr "," GET_ALL cond "}")
    static const struct {
        const char *doc;
        bool pub;
    } v[] = {
        {PUB("\"*\"", ""), true}, /* #14 */
        {PUB("{\"AWS\":\"*\"}", ""), true},
        {PUB("\"*\"", ",\"Condition\":{\"StringEquals\":{\"aws:SourceVpce\":\"vpce-1a2b3c4d\"}}"),
         false}, /* #15 */
        {PUB("\"*\"", ",\"Condition\":{\"StringLike\":{\"aws:SourceVpc\":\"vpc-*\"}}"),
         true}, /* #16 */
        {PUB("\"*\"", ",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"0.0.0.0/1\"}}"),
         true}, /* #16 */
        {PUB("\"*\"", ",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"203.0.113.0/24\"}}"),
         false},
        {PUB("\"*\"", ",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}"), true},
        {PUB("\"*\"", ",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"2001:db8::/32\"}}"),
         false},
        {PUB("\"*\"", ",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"2001:db8::/31\"}}"), true},
        {PUB("\"*\"", ",\"Condition\":{\"StringEquals\":{\"aws:SourceAccount\":\"${aws:x}\"}}"),
         true},
        {PUB("\"*\"", ",\"Condition\":{\"StringNotEquals\":{\"aws:SourceAccount\":\"" A "\"}}"),
         true},
        {PUB("\"*\"",
             ",\"Condition\":{\"StringEqualsIfExists\":{\"aws:SourceAccount\":\"" A "\"}}"),
         true},
        {PUB("\"*\"", ",\"Condition\":{\"StringEquals\":{\"aws:UserAgent\":\"x\"}}"), true},
        {PUB("\"*\"", ",\"Condition\":{\"StringEquals\":{\"AWS:PRINCIPALORGID\":\"o-1\"}}"), false},
        {PUB("\"*\"", ",\"Condition\":{\"ArnLike\":{\"s3:DataAccessPointArn\":"
                      "\"arn:aws:s3:us-east-1:" A ":accesspoint/*\"}}"),
         false},
        {PUB("{\"AWS\":\"" A "\"}", ""), false},
        {PUB("{\"AWS\":\"" ALICE "\"}", ""), false},
        {PUB("{\"CanonicalUser\":\"" CANON_A "\"}", ""), false},
        {PUB("{\"Federated\":\"cognito-identity.amazonaws.com\"}", ""), true},
        {ST("{\"Effect\":\"Deny\",\"Principal\":\"*\"," GET_ALL "}"), false},
        {ST("{\"Effect\":\"Allow\",\"NotPrincipal\":{\"AWS\":\"" A "\"}," GET_ALL "}"), true},
        {ST("{\"Effect\":\"Deny\",\"NotPrincipal\":{\"AWS\":\"" A "\"}," GET_ALL "}"), false},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        struct policy *p = NULL;
        char msg[256];
        if (parse(v[i].doc, POLICY_BUCKET, &p, msg, sizeof(msg)) != 0)
            fail_msg("case %zu: %s", i, msg);
        if (policy_is_public(p) != v[i].pub)
            fail_msg("case %zu: %s: public %d", i, v[i].doc, !v[i].pub);
        policy_free(p);
    }
    {
        struct policy *p = NULL;
        char msg[256];
        assert_int_equal(parse(IDS("\"Action\":\"s3:*\",\"Resource\":\"*\""), POLICY_IDENTITY, &p,
                               msg, sizeof(msg)),
                         0);
        assert_false(policy_is_public(p));
        policy_free(p);
    }
#undef PUB
#undef GET_ALL
}

static void
test_managed(void **state)
{
    size_t n = 0;
    const struct policy_managed *m = policy_aws_managed_list(&n);

    (void)state;
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        struct policy *p = NULL;
        char msg[128];
        assert_string_equal(policy_aws_managed(str_c(m[i].arn)), m[i].doc);
        assert_int_equal(parse(m[i].doc, POLICY_IDENTITY, &p, msg, sizeof(msg)), 0);
        policy_free(p);
    }
    assert_string_equal(m[0].version, "v2");
    assert_string_equal(m[1].version, "v3");
    assert_string_equal(m[3].version, "v4");
    assert_null(policy_aws_managed(STR_LIT("arn:aws:iam::aws:policy/Nope")));
    assert_non_null(strstr(policy_aws_managed(STR_LIT("arn:aws:iam::aws:policy/IAMFullAccess")),
                           "organizations:ListTargetsForPolicy"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_messages),
        cmocka_unit_test(test_policy_size),
        cmocka_unit_test(test_public),
        cmocka_unit_test(test_managed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
