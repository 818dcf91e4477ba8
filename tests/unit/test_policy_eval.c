/* test_policy_eval.c -- auth/policy evaluation: one document against one
 * request, known answers. Actions and resources with their wildcards,
 * principals and NotPrincipal, policy variables, every condition operator,
 * the absent-key table of spec-authorization §2.5, and the statement-level
 * parts of the conformance cases of §10 (numbered #N below). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "auth/policy.h"
#include "auth/policy_int.h"
#include "util/arena.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy_fix.h"

#define V12 "{\"Version\":\"2012-10-17\",\"Statement\":["
#define V08 "{\"Version\":\"2008-10-17\",\"Statement\":["
#define END "]}"
/* Identity statement: effect, action, resource, condition ("" or ,"Condition":...). */
#define IDST(eff, act, res, cond)                                                                  \
    "{\"Effect\":\"" eff "\",\"Action\":" act ",\"Resource\":" res cond "}"
#define COND(op, key, val) ",\"Condition\":{\"" op "\":{\"" key "\":" val "}}"
#define ID1(act, res, cond) V12 IDST("Allow", act, res, cond) END

#define OBJ(k) "arn:aws:s3:::bkt/" k
#define BKT "arn:aws:s3:::bkt"

#define KV(...) ((const struct kv[]){__VA_ARGS__, {NULL, {NULL}}})

enum { NONE = POLICY_NONE, ALLOW = POLICY_ALLOW, DENY = POLICY_DENY };

struct ecase {
    const char *doc;
    enum policy_kind kind;
    const char *who, *action, *resource;
    const struct kv *keys;
    int want;
};

#define GETOBJ "\"s3:GetObject\""

static const struct ecase cases[] = {
    /* #2, #19: exact actions, case-insensitive; versioned reads are another action */
    {ID1(GETOBJ, "\"" OBJ("*") "\"", ""), POLICY_IDENTITY, "alice", "s3:GetObject", OBJ("k"), NULL,
     ALLOW},
    {ID1(GETOBJ, "\"" OBJ("*") "\"", ""), POLICY_IDENTITY, "alice", "s3:GetObjectVersion", OBJ("k"),
     NULL, NONE},
    {ID1("\"s3:GetObjectVersion\"", "\"" OBJ("*") "\"", ""), POLICY_IDENTITY, "alice",
     "s3:GetObjectVersion", OBJ("k"), NULL, ALLOW},
    {ID1("\"S3:getobject\"", "\"*\"", ""), POLICY_IDENTITY, "alice", "s3:GetObject", OBJ("k"), NULL,
     ALLOW}, /* #50 */
    {ID1(GETOBJ, "\"" OBJ("*") "\"", ""), POLICY_IDENTITY, "alice", "s3:GetObject",
     "arn:aws:s3:::other/k", NULL, NONE},
    /* action wildcards: '*' and '?' anywhere */
    {ID1("\"s3:*Object*\"", "\"*\"", ""), POLICY_IDENTITY, "alice", "s3:PutObjectTagging", OBJ("k"),
     NULL, ALLOW},
    {ID1("\"s3:*Object*\"", "\"*\"", ""), POLICY_IDENTITY, "alice", "s3:ListBucket", BKT, NULL,
     NONE},
    {ID1("\"s3:Get?bject\"", "\"*\"", ""), POLICY_IDENTITY, "alice", "s3:GetObject", OBJ("k"), NULL,
     ALLOW},
    {ID1("\"s3:Get?bject\"", "\"*\"", ""), POLICY_IDENTITY, "alice", "s3:GetObjectAcl", OBJ("k"),
     NULL, NONE},
    {ID1("\"*\"", "\"*\"", ""), POLICY_IDENTITY, "alice", "iam:CreateUser",
     "arn:aws:iam::111111111111:user/x", NULL, ALLOW},
    {V12 "{\"Effect\":\"Allow\",\"NotAction\":\"s3:Delete*\",\"Resource\":\"*\"}" END,
     POLICY_IDENTITY, "alice", "s3:DeleteObject", OBJ("k"), NULL, NONE},
    {V12 "{\"Effect\":\"Allow\",\"NotAction\":\"s3:Delete*\",\"Resource\":\"*\"}" END,
     POLICY_IDENTITY, "alice", "s3:GetObject", OBJ("k"), NULL, ALLOW},
    /* resources: case-sensitive, '*' crosses '/', sixth segment whole */
    {ID1("\"s3:*\"", "\"" OBJ("*/test/*") "\"", ""), POLICY_IDENTITY, "alice", "s3:GetObject",
     OBJ("1/2/test/x"), NULL, ALLOW},
    {ID1("\"s3:*\"", "\"" OBJ("*/test/*") "\"", ""), POLICY_IDENTITY, "alice", "s3:GetObject",
     OBJ("test/x"), NULL, NONE},
    {ID1("\"s3:*\"", "\"" OBJ("*") "\"", ""), POLICY_IDENTITY, "alice", "s3:GetObject",
     OBJ("a:b:c"), NULL, ALLOW},
    {ID1("\"s3:*\"", "\"" OBJ("Key") "\"", ""), POLICY_IDENTITY, "alice", "s3:GetObject",
     OBJ("key"), NULL, NONE},
    {ID1("\"s3:*\"", "\"" OBJ("k?y") "\"", ""), POLICY_IDENTITY, "alice", "s3:GetObject",
     OBJ("key"), NULL, ALLOW},
    {ID1("\"s3:*\"", "\"arn:aws:s3:::bk?\"", ""), POLICY_IDENTITY, "alice", "s3:ListBucket", BKT,
     NULL, ALLOW},
    {ID1("\"s3:*\"", "\"arn:aws:s3:::b*\"", ""), POLICY_IDENTITY, "alice", "s3:GetObject", OBJ("k"),
     NULL, ALLOW},
    {ID1("\"s3:*\"", "\"arn:*:s3:::bkt/k\"", ""), POLICY_IDENTITY, "alice", "s3:GetObject",
     OBJ("k"), NULL, ALLOW},
    {ID1("\"s3:*\"", "\"arn:aws:s3:::*\"", ""), POLICY_IDENTITY, "alice", "s3:GetObject",
     "arn:aws:s3:x::k", NULL, NONE}, /* '*' stays within its colon part */
    {V12 "{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"NotResource\":\"" OBJ("secret/*") "\"}" END,
     POLICY_IDENTITY, "alice", "s3:GetObject", OBJ("secret/x"), NULL, NONE},
    {V12 "{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"NotResource\":\"" OBJ("secret/*") "\"}" END,
     POLICY_IDENTITY, "alice", "s3:GetObject", OBJ("public/x"), NULL, ALLOW},
    /* #8: Allow on the bucket, Deny on *log* */
    {V12 IDST("Allow", "\"s3:*\"",
              "[\"arn:aws:s3:::carlossalazar\",\"arn:aws:s3:::carlossalazar/*\"]",
              "") "," IDST("Deny", "\"s3:*\"", "\"arn:aws:s3:::*log*\"", "") END,
     POLICY_IDENTITY, "alice", "s3:PutObject", "arn:aws:s3:::carlossalazar-logs/x", NULL, DENY},
    {V12 IDST("Allow", "\"s3:*\"",
              "[\"arn:aws:s3:::carlossalazar\",\"arn:aws:s3:::carlossalazar/*\"]",
              "") "," IDST("Deny", "\"s3:*\"", "\"arn:aws:s3:::*log*\"", "") END,
     POLICY_IDENTITY, "alice", "s3:PutObject", "arn:aws:s3:::carlossalazar/x", NULL, ALLOW},
    /* #48: account-level actions on "*" */
    {ID1("\"s3:ListAllMyBuckets\"", "\"*\"", ""), POLICY_IDENTITY, "alice", "s3:ListAllMyBuckets",
     "*", NULL, ALLOW},
    {ID1("\"s3:ListAllMyBuckets\"", "\"arn:aws:s3:::*\"", ""), POLICY_IDENTITY, "alice",
     "s3:ListAllMyBuckets", "*", NULL, ALLOW},
    {ID1("\"s3:ListAllMyBuckets\"", "\"" BKT "\"", ""), POLICY_IDENTITY, "alice",
     "s3:ListAllMyBuckets", "*", NULL, NONE},
    /* #47: ${aws:username} (2012-10-17 only); defaults, escapes, missing keys */
    {ID1("\"s3:*\"", "\"" OBJ("home/${aws:username}/*") "\"", ""), POLICY_IDENTITY, "alice",
     "s3:GetObject", OBJ("home/alice/x"), KV({"aws:username", {"alice"}}), ALLOW},
    {ID1("\"s3:*\"", "\"" OBJ("home/${aws:username}/*") "\"", ""), POLICY_IDENTITY, "alice",
     "s3:GetObject", OBJ("home/bob/x"), KV({"aws:username", {"alice"}}), NONE},
    {ID1("\"s3:*\"", "\"" OBJ("home/${AWS:UserName}/*") "\"", ""), POLICY_IDENTITY, "alice",
     "s3:GetObject", OBJ("home/alice/x"), KV({"aws:username", {"alice"}}), ALLOW},
    {V08 IDST("Allow", "\"s3:*\"", "\"" OBJ("home/${aws:username}/*") "\"", "") END,
     POLICY_IDENTITY, "alice", "s3:GetObject", OBJ("home/alice/x"), KV({"aws:username", {"alice"}}),
     NONE},
    {V08 IDST("Allow", "\"s3:*\"", "\"" OBJ("home/${aws:username}/*") "\"", "") END,
     POLICY_IDENTITY, "alice", "s3:GetObject", OBJ("home/${aws:username}/x"),
     KV({"aws:username", {"alice"}}), ALLOW},
    {ID1("\"s3:*\"", "\"" OBJ("home/${aws:username}/*") "\"", ""), POLICY_IDENTITY, "sess",
     "s3:GetObject", OBJ("home//x"), NULL, NONE}, /* missing: matches nothing */
    {ID1("\"s3:*\"", "\"" OBJ("t/${aws:PrincipalTag/team, 'all'}/*") "\"", ""), POLICY_IDENTITY,
     "alice", "s3:GetObject", OBJ("t/all/x"), NULL, ALLOW},
    {ID1("\"s3:*\"", "\"" OBJ("t/${aws:PrincipalTag/team,'all'}/*") "\"", ""), POLICY_IDENTITY,
     "alice", "s3:GetObject", OBJ("t/red/x"), KV({"aws:principaltag/TEAM", {"red"}}), ALLOW},
    {ID1("\"s3:*\"", "\"" OBJ("a${*}b") "\"", ""), POLICY_IDENTITY, "alice", "s3:GetObject",
     OBJ("a*b"), NULL, ALLOW},
    {ID1("\"s3:*\"", "\"" OBJ("a${*}b") "\"", ""), POLICY_IDENTITY, "alice", "s3:GetObject",
     OBJ("axb"), NULL, NONE},
    {ID1("\"s3:*\"", "\"" OBJ("a${?}${$}") "\"", ""), POLICY_IDENTITY, "alice", "s3:GetObject",
     OBJ("a?$"), NULL, ALLOW},
    {ID1("\"s3:*\"", "\"" OBJ("u/${aws:username}") "\"", ""), POLICY_IDENTITY, "alice",
     "s3:GetObject", OBJ("u/x"), KV({"aws:username", {"*"}}), NONE}, /* values are literal */
    {ID1("\"s3:*\"", "\"" OBJ("u/${aws:username}") "\"", ""), POLICY_IDENTITY, "alice",
     "s3:GetObject", OBJ("u/*"), KV({"aws:username", {"*"}}), ALLOW},
    /* variables in condition values */
    {ID1("\"s3:ListBucket\"", "\"" BKT "\"",
         COND("StringLike", "s3:prefix", "\"home/${aws:username}/*\"")),
     POLICY_IDENTITY, "alice", "s3:ListBucket", BKT,
     KV({"aws:username", {"alice"}}, {"s3:prefix", {"home/alice/docs"}}), ALLOW},
    {ID1("\"s3:ListBucket\"", "\"" BKT "\"",
         COND("StringEquals", "s3:prefix", "\"home/${aws:username}\"")),
     POLICY_IDENTITY, "sess", "s3:ListBucket", BKT, KV({"s3:prefix", {"home/"}}), NONE},
    {ID1("\"s3:ListBucket\"", "\"" BKT "\"",
         COND("StringNotEquals", "s3:prefix", "\"home/${aws:username}\"")),
     POLICY_IDENTITY, "sess", "s3:ListBucket", BKT, KV({"s3:prefix", {"home/"}}), ALLOW},
    {ID1("\"s3:ListBucket\"", "\"" BKT "\"",
         COND("StringNotLike", "s3:prefix", "\"home/${aws:username}/*\"")),
     POLICY_IDENTITY, "sess", "s3:ListBucket", BKT, KV({"s3:prefix", {"home/x/y"}}), ALLOW},
    {ID1("\"s3:*\"", "\"*\"", COND("ArnEquals", "aws:PrincipalArn", "\"${aws:PrincipalArn}\"")),
     POLICY_IDENTITY, "alice", "s3:GetObject", OBJ("k"), KV({"aws:PrincipalArn", {ALICE}}), ALLOW},
    {ID1("\"s3:*\"", "\"*\"", COND("Bool", "aws:SecureTransport", "\"${aws:x}\"")), POLICY_IDENTITY,
     "alice", "s3:GetObject", OBJ("k"), KV({"aws:SecureTransport", {"true"}}, {"aws:x", {"TRUE"}}),
     ALLOW},
};

#define ACT_ALL "\"s3:*\""
#define ANY_RES "\"*\""
/* One identity statement with one condition, and the request keys. */
#define C1(op, key, val) ID1(ACT_ALL, ANY_RES, COND(op, key, val))

static const struct {
    const char *doc;
    const struct kv *keys;
    bool want;
} conds[] = {
    /* String */
    {C1("StringEquals", "aws:UserAgent", "\"ua\""), KV({"aws:useragent", {"ua"}}), true},
    {C1("StringEquals", "aws:UserAgent", "\"ua\""), KV({"aws:UserAgent", {"UA"}}), false},
    {C1("StringEquals", "aws:UserAgent", "[\"x\",\"ua\"]"), KV({"aws:UserAgent", {"ua"}}), true},
    {C1("StringEqualsIgnoreCase", "aws:UserAgent", "\"Ua\""), KV({"aws:UserAgent", {"uA"}}), true},
    {C1("StringNotEqualsIgnoreCase", "aws:UserAgent", "\"Ua\""), KV({"aws:UserAgent", {"uA"}}),
     false},
    {C1("StringNotEquals", "aws:UserAgent", "[\"a\",\"b\"]"), KV({"aws:UserAgent", {"c"}}), true},
    {C1("StringNotEquals", "aws:UserAgent", "[\"a\",\"b\"]"), KV({"aws:UserAgent", {"b"}}), false},
    {C1("StringLike", "aws:UserAgent", "\"a*c?\""), KV({"aws:UserAgent", {"abbbcd"}}), true},
    {C1("StringLike", "aws:UserAgent", "\"a*c?\""), KV({"aws:UserAgent", {"abbbc"}}), false},
    {C1("StringEquals", "aws:UserAgent", "\"a*\""), KV({"aws:UserAgent", {"ab"}}), false},
    {C1("StringNotLike", "aws:UserAgent", "\"a*\""), KV({"aws:UserAgent", {"ba"}}), true},
    /* absent keys, §2.5 table */
    {C1("StringEquals", "aws:UserAgent", "\"ua\""), NULL, false},
    {C1("StringLike", "aws:UserAgent", "\"*\""), NULL, false},
    {C1("NumericLessThan", "s3:max-keys", "\"5\""), NULL, false},
    {C1("DateLessThan", "aws:CurrentTime", "\"2030-01-01\""), NULL, false},
    {C1("Bool", "aws:SecureTransport", "\"true\""), NULL, false},
    {C1("BinaryEquals", "aws:x", "\"QUJD\""), NULL, false},
    {C1("IpAddress", "aws:SourceIp", "\"10.0.0.0/8\""), NULL, false},
    {C1("ArnLike", "aws:SourceArn", "\"arn:*\""), NULL, false},
    {C1("StringNotEquals", "aws:UserAgent", "\"ua\""), NULL, true},
    {C1("StringNotLike", "aws:UserAgent", "\"ua\""), NULL, true},
    {C1("NumericNotEquals", "s3:max-keys", "\"5\""), NULL, true},
    {C1("DateNotEquals", "aws:CurrentTime", "\"2030-01-01\""), NULL, true},
    {C1("NotIpAddress", "aws:SourceIp", "\"10.0.0.0/8\""), NULL, true},
    {C1("ArnNotLike", "aws:SourceArn", "\"arn:*\""), NULL, true},
    {C1("StringEqualsIfExists", "aws:UserAgent", "\"ua\""), NULL, true},
    {C1("StringNotEqualsIfExists", "aws:UserAgent", "\"ua\""), NULL, true},
    {C1("StringEqualsIfExists", "aws:UserAgent", "\"ua\""), KV({"aws:UserAgent", {"x"}}), false},
    {C1("Null", "aws:UserAgent", "\"true\""), NULL, true},
    {C1("Null", "aws:UserAgent", "\"false\""), NULL, false},
    {C1("Null", "aws:UserAgent", "\"true\""), KV({"aws:UserAgent", {"x"}}), false},
    {C1("Null", "aws:UserAgent", "\"false\""), KV({"aws:UserAgent", {"x"}}), true},
    {C1("ForAllValues:StringEquals", "aws:TagKeys", "\"a\""), NULL, true},
    {C1("ForAllValues:StringEquals", "aws:TagKeys", "\"a\""), KV({"aws:TagKeys", {NULL}}), true},
    {C1("ForAllValues:StringEquals", "aws:TagKeys", "\"a\""), KV({"aws:TagKeys", {""}}), true},
    {C1("ForAnyValue:StringEquals", "aws:TagKeys", "\"a\""), NULL, false},
    {C1("ForAnyValue:StringEquals", "aws:TagKeys", "\"a\""), KV({"aws:TagKeys", {NULL}}), false},
    /* set operators over several request values */
    {C1("ForAllValues:StringEquals", "aws:TagKeys", "[\"a\",\"b\"]"),
     KV({"aws:TagKeys", {"a", "b"}}), true},
    {C1("ForAllValues:StringEquals", "aws:TagKeys", "[\"a\",\"b\"]"),
     KV({"aws:TagKeys", {"a", "c"}}), false},
    {C1("ForAnyValue:StringEquals", "aws:TagKeys", "[\"a\",\"b\"]"),
     KV({"aws:TagKeys", {"x", "b"}}), true},
    {C1("ForAnyValue:StringEquals", "aws:TagKeys", "[\"a\",\"b\"]"),
     KV({"aws:TagKeys", {"x", "y"}}), false},
    {C1("ForAnyValue:StringNotEquals", "aws:TagKeys", "[\"a\"]"), KV({"aws:TagKeys", {"a", "y"}}),
     true},
    {C1("ForAllValues:StringNotEquals", "aws:TagKeys", "[\"a\"]"), KV({"aws:TagKeys", {"a", "y"}}),
     false},
    {C1("ForAllValues:StringLike", "aws:TagKeys", "\"p-*\""), KV({"aws:TagKeys", {"p-1", "p-2"}}),
     true},
    {C1("StringEquals", "aws:TagKeys", "\"a\""), KV({"aws:TagKeys", {"x", "a"}}), true},
    /* Numeric */
    {C1("NumericEquals", "s3:max-keys", "\"10\""), KV({"s3:max-keys", {"10.0"}}), true},
    {C1("NumericLessThan", "s3:max-keys", "\"10\""), KV({"s3:max-keys", {"10"}}), false},
    {C1("NumericLessThanEquals", "s3:max-keys", "10"), KV({"s3:max-keys", {"10"}}), true},
    {C1("NumericGreaterThan", "s3:max-keys", "\"-1.5\""), KV({"s3:max-keys", {"-1"}}), true},
    {C1("NumericGreaterThanEquals", "s3:max-keys", "\"2\""), KV({"s3:max-keys", {"1"}}), false},
    {C1("NumericEquals", "s3:max-keys", "\"10\""), KV({"s3:max-keys", {"ten"}}), false},
    {C1("NumericNotEquals", "s3:max-keys", "\"10\""), KV({"s3:max-keys", {"11"}}), true},
    {C1("NumericLessThan", "s3:TlsVersion", "\"1.3\""), KV({"s3:TlsVersion", {"1.2"}}), true},
    /* Date: ISO 8601 and epoch seconds */
    {C1("DateLessThan", "aws:CurrentTime", "\"2020-01-01T00:00:00Z\""),
     KV({"aws:CurrentTime", {"2019-12-31T23:59:59Z"}}), true},
    {C1("DateLessThan", "aws:CurrentTime", "\"2020-01-01T00:00:00Z\""),
     KV({"aws:CurrentTime", {"2020-01-01T00:00:00Z"}}), false},
    {C1("DateLessThanEquals", "aws:CurrentTime", "\"2020-01-01\""),
     KV({"aws:CurrentTime", {"2020-01-01T00:00:00.000Z"}}), true},
    {C1("DateEquals", "aws:CurrentTime", "\"2020-01-01T01:00:00+01:00\""),
     KV({"aws:CurrentTime", {"2020-01-01T00:00:00Z"}}), true},
    {C1("DateEquals", "aws:EpochTime", "\"1577836800\""),
     KV({"aws:EpochTime", {"2020-01-01T00:00:00Z"}}), true},
    {C1("DateGreaterThan", "aws:EpochTime", "\"2020-01-01\""),
     KV({"aws:EpochTime", {"1577836801"}}), true},
    {C1("DateGreaterThanEquals", "aws:CurrentTime", "\"2024-02-29T12:00Z\""),
     KV({"aws:CurrentTime", {"2024-02-29T11:59:59Z"}}), false},
    {C1("DateNotEquals", "aws:CurrentTime", "\"2020-01-01\""), KV({"aws:CurrentTime", {"garbage"}}),
     true},
    /* Bool */
    {C1("Bool", "aws:SecureTransport", "\"true\""), KV({"aws:SecureTransport", {"true"}}), true},
    {C1("Bool", "aws:SecureTransport", "true"), KV({"aws:SecureTransport", {"TRUE"}}), true},
    {C1("Bool", "aws:SecureTransport", "\"false\""), KV({"aws:SecureTransport", {"true"}}), false},
    {C1("Bool", "aws:SecureTransport", "\"false\""), KV({"aws:SecureTransport", {"maybe"}}), false},
    /* Binary */
    {C1("BinaryEquals", "aws:x", "\"QUJD\""), KV({"aws:x", {"QUJD"}}), true},
    {C1("BinaryEquals", "aws:x", "\"QUJD\""), KV({"aws:x", {"QUJE"}}), false},
    /* IP: IPv4, IPv6, mapped, no prefix */
    {C1("IpAddress", "aws:SourceIp", "\"192.0.2.0/24\""), KV({"aws:SourceIp", {"192.0.2.77"}}),
     true},
    {C1("IpAddress", "aws:SourceIp", "\"192.0.2.0/24\""), KV({"aws:SourceIp", {"192.0.3.1"}}),
     false},
    {C1("IpAddress", "aws:SourceIp", "\"192.0.2.7\""), KV({"aws:SourceIp", {"192.0.2.7"}}), true},
    {C1("IpAddress", "aws:SourceIp", "\"192.0.2.7\""), KV({"aws:SourceIp", {"192.0.2.8"}}), false},
    {C1("IpAddress", "aws:SourceIp", "\"10.1.2.3/9\""), KV({"aws:SourceIp", {"10.127.0.1"}}), true},
    {C1("IpAddress", "aws:SourceIp", "\"10.1.2.3/9\""), KV({"aws:SourceIp", {"10.128.0.1"}}),
     false},
    {C1("IpAddress", "aws:SourceIp", "\"0.0.0.0/0\""), KV({"aws:SourceIp", {"8.8.8.8"}}), true},
    {C1("IpAddress", "aws:SourceIp", "\"2001:db8::/32\""), KV({"aws:SourceIp", {"2001:db8:1::5"}}),
     true},
    {C1("IpAddress", "aws:SourceIp", "\"2001:db8::/32\""), KV({"aws:SourceIp", {"2001:db9::5"}}),
     false},
    {C1("IpAddress", "aws:SourceIp", "\"2001:db8::1\""), KV({"aws:SourceIp", {"2001:db8::1"}}),
     true},
    {C1("IpAddress", "aws:SourceIp", "\"2001:db8::/32\""), KV({"aws:SourceIp", {"192.0.2.1"}}),
     false},
    {C1("IpAddress", "aws:SourceIp", "\"192.0.2.0/24\""),
     KV({"aws:SourceIp", {"::ffff:192.0.2.1"}}), true},
    {C1("NotIpAddress", "aws:SourceIp", "[\"192.0.2.0/24\",\"2001:db8::/32\"]"),
     KV({"aws:SourceIp", {"2001:db8::9"}}), false},
    {C1("NotIpAddress", "aws:SourceIp", "[\"192.0.2.0/24\",\"2001:db8::/32\"]"),
     KV({"aws:SourceIp", {"198.51.100.1"}}), true},
    {C1("IpAddress", "aws:SourceIp", "\"192.0.2.0/24\""), KV({"aws:SourceIp", {"junk"}}), false},
    /* ARN: each colon part globbed on its own */
    {C1("ArnLike", "aws:SourceArn", "\"arn:aws:iam::*:role/x\""),
     KV({"aws:SourceArn", {"arn:aws:iam::" A ":role/x"}}), true},
    {C1("ArnLike", "aws:SourceArn", "\"arn:aws:iam::*\""),
     KV({"aws:SourceArn", {"arn:aws:iam::" A ":role/x"}}), false},
    {C1("ArnLike", "aws:SourceArn", "\"arn:aws:*:role/x\""),
     KV({"aws:SourceArn", {"arn:aws:iam::" A ":role/x"}}), false},
    {C1("ArnLike", "aws:SourceArn", "\"arn:aws:s3:::b/*\""),
     KV({"aws:SourceArn", {"arn:aws:s3:::b/x:y/z"}}), true},
    {C1("ArnEquals", "aws:SourceArn", "\"arn:aws:sns:*:" A ":t?pic\""),
     KV({"aws:SourceArn", {"arn:aws:sns:us-east-1:" A ":topic"}}), true},
    {C1("ArnNotEquals", "aws:SourceArn", "\"arn:aws:sns:*:" A ":topic\""),
     KV({"aws:SourceArn", {"arn:aws:sns:us-east-1:" A ":topic"}}), false},
    {C1("ArnLike", "aws:SourceArn", "\"arn:aws:sns:*:" A ":topic\""),
     KV({"aws:SourceArn", {"not-an-arn"}}), false},
    /* AND across keys and operators */
    {ID1(ACT_ALL, ANY_RES,
         ",\"Condition\":{\"StringEquals\":{\"aws:a\":\"1\",\"aws:b\":\"2\"},"
         "\"Bool\":{\"aws:SecureTransport\":\"true\"}}"),
     KV({"aws:a", {"1"}}, {"aws:b", {"2"}}, {"aws:SecureTransport", {"true"}}), true},
    {ID1(ACT_ALL, ANY_RES,
         ",\"Condition\":{\"StringEquals\":{\"aws:a\":\"1\",\"aws:b\":\"2\"},"
         "\"Bool\":{\"aws:SecureTransport\":\"true\"}}"),
     KV({"aws:a", {"1"}}, {"aws:b", {"3"}}, {"aws:SecureTransport", {"true"}}), false},
};

static int
eval1(const char *doc, enum policy_kind kind, const char *name, const char *action,
      const char *resource, const struct kv *keys, struct policy_hit *hit)
{
    struct policy *p = NULL;
    struct arena *a = arena_new();
    struct policy_ctx c = {.action = str_c(action),
                           .resource = str_c(resource),
                           .who = who(name),
                           .key = key_cb,
                           .key_arg = (void *)keys,
                           .arena = a};
    char msg[256];
    int rc = parse(doc, kind, &p, msg, sizeof(msg));
    struct policy_hit h;

    if (rc != 0)
        fail_msg("%s: %s", doc, msg);
    rc = (int)policy_eval(p, &c, hit != NULL ? hit : &h);
    if (hit != NULL) { /* the Sid is the policy's: keep a copy past policy_free() */
        static char sid[64];
        snprintf(sid, sizeof(sid), "%.*s", STR_FMT(hit->sid));
        hit->sid = str_c(sid);
    }
    policy_free(p);
    arena_free(a);
    return rc;
}

static void
test_eval(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const struct ecase *e = &cases[i];
        int got = eval1(e->doc, e->kind, e->who, e->action, e->resource, e->keys, NULL);
        if (got != e->want)
            fail_msg("case %zu: %s %s on %s: got %d want %d", i, e->doc, e->action, e->resource,
                     got, e->want);
    }
}

static void
test_conditions(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(conds); i++) {
        int got = eval1(conds[i].doc, POLICY_IDENTITY, "alice", "s3:GetObject", OBJ("k"),
                        conds[i].keys, NULL);
        if (got != (conds[i].want ? ALLOW : NONE))
            fail_msg("cond %zu: %s: got %d", i, conds[i].doc, got);
    }
}

/* ---- conformance cases of §10, statement level --------------------------- */

#define LT KV({"aws:SecureTransport", {"true"}})
#define GST KV({"aws:MultiFactorAuthPresent", {"false"}})
#define GSTMFA(age) KV({"aws:MultiFactorAuthPresent", {"true"}}, {"aws:MultiFactorAuthAge", {age}})

#define BP(body) V12 body END
#define BPST(eff, pr, act, res, cond)                                                              \
    "{\"Effect\":\"" eff "\",\"Principal\":" pr ",\"Action\":" act ",\"Resource\":" res cond "}"

/* #21, #22: MFA age on taxdocuments */
#define P21                                                                                        \
    BPST("Deny", "\"*\"", "\"s3:*\"", "\"" OBJ("taxdocuments/*") "\"",                             \
         COND("Null", "aws:MultiFactorAuthAge", "true"))                                           \
    "," BPST("Allow", "\"*\"", GETOBJ, "\"" OBJ("*") "\"", "")
#define P22                                                                                        \
    P21 "," BPST("Deny", "\"*\"", "\"s3:*\"", "\"" OBJ("taxdocuments/*") "\"",                     \
                 COND("NumericGreaterThan", "aws:MultiFactorAuthAge", "3600"))
/* #23-#25 */
#define P23 ID1("\"s3:PutObject\"", "\"*\"", COND("Bool", "aws:MultiFactorAuthPresent", "true"))
#define P24(op)                                                                                    \
    V12 IDST("Allow", "\"s3:*\"", "\"*\"", "") "," IDST(                                           \
        "Deny", "\"s3:DeleteObject\"", "\"*\"", COND(op, "aws:MultiFactorAuthPresent", "false"))   \
        END
/* #30, #31 */
#define P30                                                                                        \
    ID1("\"s3:PutObject\"", "\"*\"",                                                               \
        COND("StringEqualsIfExists", "s3:x-amz-server-side-encryption", "\"AES256\""))
#define P31                                                                                        \
    BP(BPST("Deny", "\"*\"", "\"s3:PutObject\"", "\"" OBJ("*") "\"",                               \
            COND("StringNotEquals", "s3:x-amz-server-side-encryption", "\"AES256\"")))
/* #32, #33 */
#define P32                                                                                        \
    ID1("\"s3:PutObjectTagging\"", "\"*\"",                                                        \
        COND("ForAllValues:StringEquals", "s3:RequestObjectTagKeys",                               \
             "[\"Owner\",\"CreationDate\"]"))
#define P33                                                                                        \
    V12 IDST("Allow", "[\"s3:PutObject\",\"s3:PutObjectTagging\"]", "\"*\"", "") "," IDST(         \
        "Deny", "\"s3:PutObject\"", "\"*\"",                                                       \
        COND("ForAnyValue:StringEquals", "s3:RequestObjectTagKeys", "[\"secret\"]")) END
/* #34, #35, #49, #50 */
#define P34                                                                                        \
    V12 IDST("Allow", "\"s3:ListBucket\"", "\"" BKT "\"",                                          \
             COND("StringEquals", "s3:prefix",                                                     \
                  "\"projects\"")) "," IDST("Deny", "\"s3:ListBucket\"", "\"" BKT "\"",            \
                                            COND("StringNotEquals", "s3:prefix", "\"projects\""))  \
        END
#define P35                                                                                        \
    ID1("\"s3:ListBucket\"", "\"" BKT "\"", COND("NumericLessThanEquals", "s3:max-keys", "10"))
#define P49                                                                                        \
    ID1("\"s3:CreateBucket\"", "\"*\"",                                                            \
        COND("StringLike", "s3:LocationConstraint", "\"sa-east-1\""))
#define P50                                                                                        \
    V12 IDST("Allow", "\"S3:getobject\"", "\"*\"", "") "," IDST(                                   \
        "Deny", "\"s3:*\"", "\"*\"", COND("Bool", "aws:SecureTransport", "false")) END
/* #20 */
#define P20                                                                                        \
    BP(BPST("Allow", "{\"AWS\":\"" ALICE "\"}", "\"s3:GetObjectVersion\"",                         \
            "\"" OBJ("HappyFace.jpg") "\"",                                                        \
            "") "," BPST("Deny", "{\"AWS\":\"" ALICE "\"}", "\"s3:GetObjectVersion\"",             \
                         "\"" OBJ("HappyFace.jpg") "\"",                                           \
                         COND("StringNotEquals", "s3:VersionId", "\"AaaH\"")))
/* #28, #29: NotPrincipal */
#define P28(list)                                                                                  \
    BP("{\"Effect\":\"Deny\",\"NotPrincipal\":{\"AWS\":" list "},\"Action\":\"s3:*\","             \
       "\"Resource\":[\"" BKT "\",\"" OBJ("*") "\"]}," BPST("Allow", "{\"AWS\":\"" BOB_B "\"}",    \
                                                            GETOBJ, "\"" OBJ("*") "\"", ""))
static const struct ecase spec[] = {
    {BP(P21), POLICY_BUCKET, "anon", "s3:GetObject", OBJ("docs/x"), NULL, ALLOW},
    {BP(P21), POLICY_BUCKET, "anon", "s3:GetObject", OBJ("taxdocuments/x"), NULL, DENY},
    {BP(P21), POLICY_BUCKET, "alice", "s3:GetObject", OBJ("taxdocuments/x"), LT, DENY},
    {BP(P21), POLICY_BUCKET, "alice", "s3:GetObject", OBJ("taxdocuments/x"), GSTMFA("600"), ALLOW},
    {BP(P22), POLICY_BUCKET, "alice", "s3:GetObject", OBJ("taxdocuments/x"), GSTMFA("600"), ALLOW},
    {BP(P22), POLICY_BUCKET, "alice", "s3:GetObject", OBJ("taxdocuments/x"), GSTMFA("7200"), DENY},
    {P23, POLICY_IDENTITY, "alice", "s3:PutObject", OBJ("k"), LT, NONE},
    {P23, POLICY_IDENTITY, "alice", "s3:PutObject", OBJ("k"), GST, NONE},
    {P23, POLICY_IDENTITY, "alice", "s3:PutObject", OBJ("k"), GSTMFA("5"), ALLOW},
    {P24("BoolIfExists"), POLICY_IDENTITY, "alice", "s3:DeleteObject", OBJ("k"), LT, DENY},
    {P24("BoolIfExists"), POLICY_IDENTITY, "alice", "s3:DeleteObject", OBJ("k"), GST, DENY},
    {P24("BoolIfExists"), POLICY_IDENTITY, "alice", "s3:DeleteObject", OBJ("k"), GSTMFA("5"),
     ALLOW},
    {P24("Bool"), POLICY_IDENTITY, "alice", "s3:DeleteObject", OBJ("k"), LT, ALLOW}, /* #25 */
    {P30, POLICY_IDENTITY, "alice", "s3:PutObject", OBJ("k"), NULL, ALLOW},
    {P30, POLICY_IDENTITY, "alice", "s3:PutObject", OBJ("k"),
     KV({"s3:x-amz-server-side-encryption", {"aws:kms"}}), NONE},
    {P31, POLICY_BUCKET, "alice", "s3:PutObject", OBJ("k"), NULL, DENY},
    {P31, POLICY_BUCKET, "alice", "s3:PutObject", OBJ("k"),
     KV({"s3:x-amz-server-side-encryption", {"AES256"}}), NONE},
    {P32, POLICY_IDENTITY, "alice", "s3:PutObjectTagging", OBJ("k"),
     KV({"s3:RequestObjectTagKeys", {"Owner"}}), ALLOW},
    {P32, POLICY_IDENTITY, "alice", "s3:PutObjectTagging", OBJ("k"),
     KV({"s3:RequestObjectTagKeys", {"Owner", "Project"}}), NONE},
    {P32, POLICY_IDENTITY, "alice", "s3:PutObjectTagging", OBJ("k"), NULL, ALLOW},
    {P33, POLICY_IDENTITY, "alice", "s3:PutObject", OBJ("k"), NULL, ALLOW},
    {P33, POLICY_IDENTITY, "alice", "s3:PutObject", OBJ("k"),
     KV({"s3:RequestObjectTagKeys", {"secret"}}), DENY},
    {P34, POLICY_IDENTITY, "alice", "s3:ListBucket", BKT, KV({"s3:prefix", {"projects"}}), ALLOW},
    {P34, POLICY_IDENTITY, "alice", "s3:ListBucket", BKT, KV({"s3:prefix", {"other"}}), DENY},
    {P34, POLICY_IDENTITY, "alice", "s3:ListBucket", BKT, NULL, DENY},
    {P35, POLICY_IDENTITY, "alice", "s3:ListBucket", BKT, KV({"s3:max-keys", {"5"}}), ALLOW},
    {P35, POLICY_IDENTITY, "alice", "s3:ListBucket", BKT, KV({"s3:max-keys", {"100"}}), NONE},
    {P35, POLICY_IDENTITY, "alice", "s3:ListBucket", BKT, KV({"s3:max-keys", {"1000"}}), NONE},
    {P49, POLICY_IDENTITY, "alice", "s3:CreateBucket", BKT,
     KV({"s3:LocationConstraint", {"sa-east-1"}}), ALLOW},
    {P49, POLICY_IDENTITY, "alice", "s3:CreateBucket", BKT,
     KV({"s3:LocationConstraint", {"us-west-2"}}), NONE},
    {P50, POLICY_IDENTITY, "alice", "s3:GetObject", OBJ("k"), KV({"aws:SecureTransport", {"true"}}),
     ALLOW},
    {P50, POLICY_IDENTITY, "alice", "s3:GetObject", OBJ("k"),
     KV({"aws:SecureTransport", {"false"}}), DENY},
    {P20, POLICY_BUCKET, "alice", "s3:GetObjectVersion", OBJ("HappyFace.jpg"),
     KV({"s3:VersionId", {"other"}}), DENY},
    {P20, POLICY_BUCKET, "alice", "s3:GetObjectVersion", OBJ("HappyFace.jpg"),
     KV({"s3:VersionId", {"AaaH"}}), ALLOW},
    {P20, POLICY_BUCKET, "alice", "s3:GetObjectVersion", OBJ("HappyFace.jpg"), NULL, DENY},
    {P20, POLICY_BUCKET, "bob", "s3:GetObjectVersion", OBJ("HappyFace.jpg"), NULL, NONE},
    {P28("[\"" BOB_B "\",\"arn:aws:iam::" B ":root\"]"), POLICY_BUCKET, "Bob", "s3:GetObject",
     OBJ("k"), NULL, ALLOW},
    {P28("[\"" BOB_B "\",\"arn:aws:iam::" B ":root\"]"), POLICY_BUCKET, "alice", "s3:GetObject",
     OBJ("k"), NULL, DENY},
    {P28("[\"" BOB_B "\",\"arn:aws:iam::" B ":root\"]"), POLICY_BUCKET, "anon", "s3:GetObject",
     OBJ("k"), NULL, DENY},
    {P28("\"" BOB_B "\""), POLICY_BUCKET, "Bob", "s3:GetObject", OBJ("k"), NULL, ALLOW}, /* #29 */
    {P28("\"" BOB_B "\""), POLICY_BUCKET, "carol", "s3:GetObject", OBJ("k"), NULL, DENY},
    {P28("\"*\""), POLICY_BUCKET, "carol", "s3:GetObject", OBJ("k"), NULL, NONE},
    /* #27: the trust policy names account B; no Resource to match */
    {V12 "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" B "\"},\"Action\":\"sts:AssumeRole\","
         "\"Condition\":{\"Bool\":{\"aws:MultiFactorAuthPresent\":\"true\"}}}" END,
     POLICY_TRUST, "carol", "sts:AssumeRole", ROLE, GSTMFA("1"), ALLOW},
    {V12 "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" B "\"},\"Action\":\"sts:AssumeRole\","
         "\"Condition\":{\"Bool\":{\"aws:MultiFactorAuthPresent\":\"true\"}}}" END,
     POLICY_TRUST, "carol", "sts:AssumeRole", ROLE, LT, NONE},
    {V12 "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" B
         "\"},\"Action\":\"sts:AssumeRole\"}" END,
     POLICY_TRUST, "alice", "sts:AssumeRole", ROLE, NULL, NONE},
    /* principals: "*" includes anonymous; {"AWS":"*"} too */
    {BP(BPST("Allow", "\"*\"", GETOBJ, "\"" OBJ("*") "\"", "")), POLICY_BUCKET, "anon",
     "s3:GetObject", OBJ("k"), NULL, ALLOW}, /* #12 */
    {BP(BPST("Allow", "{\"AWS\":\"*\"}", GETOBJ, "\"" OBJ("*") "\"", "")), POLICY_BUCKET, "anon",
     "s3:GetObject", OBJ("k"), NULL, ALLOW},
    {BP(BPST("Allow", "{\"AWS\":\"" A "\"}", GETOBJ, "\"" OBJ("*") "\"", "")), POLICY_BUCKET,
     "anon", "s3:GetObject", OBJ("k"), NULL, NONE},
    {BP(BPST("Allow", "{\"AWS\":\"arn:aws:iam::" A ":root\"}", GETOBJ, "\"" OBJ("*") "\"", "")),
     POLICY_BUCKET, "bob", "s3:GetObject", OBJ("k"), NULL, ALLOW},
    {BP(BPST("Allow", "{\"AWS\":\"" ALICE "\"}", GETOBJ, "\"" OBJ("*") "\"", "")), POLICY_BUCKET,
     "bob", "s3:GetObject", OBJ("k"), NULL, NONE},
    {BP(BPST("Allow", "{\"AWS\":\"arn:aws:iam::" A ":user/Alice\"}", GETOBJ, "\"" OBJ("*") "\"",
             "")),
     POLICY_BUCKET, "alice", "s3:GetObject", OBJ("k"), NULL, NONE}, /* names are case-sensitive */
    {BP(BPST("Allow", "{\"CanonicalUser\":\"" CANON_A "\"}", GETOBJ, "\"" OBJ("*") "\"", "")),
     POLICY_BUCKET, "alice", "s3:GetObject", OBJ("k"), NULL, ALLOW},
    {BP(BPST("Allow", "{\"AWS\":\"" ROLE "\"}", GETOBJ, "\"" OBJ("*") "\"", "")), POLICY_BUCKET,
     "sess", "s3:GetObject", OBJ("k"), NULL, ALLOW},
    {BP(BPST("Allow", "{\"AWS\":\"" SESS "\"}", GETOBJ, "\"" OBJ("*") "\"", "")), POLICY_BUCKET,
     "sess", "s3:GetObject", OBJ("k"), NULL, ALLOW},
    {BP(BPST("Allow", "{\"Service\":\"logging.s3.amazonaws.com\"}", GETOBJ, "\"" OBJ("*") "\"",
             "")),
     POLICY_BUCKET, "alice", "s3:GetObject", OBJ("k"), NULL, NONE},
};

static void
test_spec(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(spec); i++) {
        const struct ecase *e = &spec[i];
        int got = eval1(e->doc, e->kind, e->who, e->action, e->resource, e->keys, NULL);
        if (got != e->want)
            fail_msg("spec %zu: %s %s %s on %s: got %d want %d", i, e->doc, e->who, e->action,
                     e->resource, got, e->want);
    }
}

/* The deciding statement and how its principal named the caller. */
static void
test_hit(void **state)
{
    static const char *doc = BP(
        "{\"Sid\":\"acct\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" A "\"},"
        "\"Action\":\"s3:GetObject\",\"Resource\":\"" OBJ(
            "*") "\"},"
                 "{\"Sid\":\"any\",\"Effect\":\"Allow\",\"Principal\":\"*\","
                 "\"Action\":\"s3:GetObject\",\"Resource\":\"" OBJ(
                     "pub/*") "\"},"
                              "{\"Sid\":\"role\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
                              "\"" ROLE "\"},"
                              "\"Action\":\"s3:GetObject\",\"Resource\":\"" OBJ(
                                  "*") "\"},"
                                       "{\"Sid\":\"alice\",\"Effect\":\"Allow\",\"Principal\":{"
                                       "\"AWS\":\"" ALICE "\"},"
                                       "\"Action\":\"s3:GetObject\",\"Resource\":\"" OBJ(
                                           "*") "\"},"
                                                "{\"Sid\":\"no\",\"Effect\":\"Deny\",\"Principal\":"
                                                "\"*\","
                                                "\"Action\":\"s3:GetObject\",\"Resource\":\"" OBJ(
                                                    "secret") "\"}");
    struct policy_hit h;

    (void)state;
    assert_int_equal(eval1(doc, POLICY_BUCKET, "bob", "s3:GetObject", OBJ("k"), NULL, &h), ALLOW);
    assert_int_equal(h.index, 0);
    assert_true(str_eq_c(h.sid, "acct"));
    assert_true(h.by_account && !h.by_wildcard && !h.by_role);
    assert_int_equal(eval1(doc, POLICY_BUCKET, "bob", "s3:GetObject", OBJ("pub/k"), NULL, &h),
                     ALLOW);
    assert_int_equal(h.index, 1);
    assert_true(!h.by_account && h.by_wildcard);
    assert_int_equal(eval1(doc, POLICY_BUCKET, "sess", "s3:GetObject", OBJ("k"), NULL, &h), ALLOW);
    assert_int_equal(h.index, 2);
    assert_true(h.by_role && !h.by_account);
    assert_int_equal(eval1(doc, POLICY_BUCKET, "alice", "s3:GetObject", OBJ("pub/k"), NULL, &h),
                     ALLOW);
    assert_int_equal(h.index, 3);
    assert_true(!h.by_role && !h.by_account && !h.by_wildcard);
    assert_int_equal(eval1(doc, POLICY_BUCKET, "alice", "s3:GetObject", OBJ("secret"), NULL, &h),
                     DENY);
    assert_int_equal(h.index, 4);
    assert_int_equal(eval1(doc, POLICY_BUCKET, "carol", "s3:GetObject", OBJ("k"), NULL, &h), NONE);
    assert_int_equal(h.index, -1);
}

/* The helpers the evaluator is built on. */
static void
test_internals(void **state)
{
    static const struct {
        const char *p, *v;
        bool fold, want;
    } g[] = {
        {"", "", false, true},
        {"*", "", false, true},
        {"?", "", false, false},
        {"a*b*c", "aXbYc", false, true},
        {"a*b*c", "aXbY", false, false},
        {"*a", "aaa", false, true},
        {"\\*", "*", false, true},
        {"\\*", "x", false, false},
        {"s3:get*", "S3:GetObject", true, true},
        {"s3:get*", "S3:GetObject", false, false},
        {"**?", "x", false, true},
        {"a\\\\b", "a\\b", false, true},
    };
    static const struct {
        const char *s;
        int64_t ms; /* -1: invalid */
    } d[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2020-01-01", 1577836800000},
        {"2020", 1577836800000},
        {"2020-02", 1580515200000},
        {"2020-01-01T00:00Z", 1577836800000},
        {"2020-01-01T00:00:00.5Z", 1577836800500},
        {"2019-12-31T19:00:00-05:00", 1577836800000},
        {"1577836800", 1577836800000},
        {"2023-02-29", -1},
        {"2024-02-29", 1709164800000},
        {"2020-01-01T24:00:00Z", -1},
        {"2020-01-01 00:00:00", -1},
        {"", -1},
        {"20x0", -1},
    };
    struct pol_ip ip;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(g); i++)
        if (pol_glob(str_c(g[i].p), str_c(g[i].v), g[i].fold) != g[i].want)
            fail_msg("glob %s %s", g[i].p, g[i].v);
    for (size_t i = 0; i < ARRAY_LEN(d); i++) {
        int64_t ms = -1;
        int rc = pol_date_parse(str_c(d[i].s), &ms);
        if (d[i].ms < 0 ? rc != -EINVAL : (rc != 0 || ms != d[i].ms))
            fail_msg("date %s: rc %d ms %lld", d[i].s, rc, (long long)ms);
    }
    assert_int_equal(pol_ip_parse(STR_LIT("2001:db8::/129"), &ip, true), -EINVAL);
    assert_int_equal(pol_ip_parse(STR_LIT("2001:db8::/128"), &ip, true), 0);
    assert_int_equal(pol_ip_parse(STR_LIT("10.0.0.1/8"), &ip, false), -EINVAL);
    assert_int_equal(pol_ip_parse(STR_LIT("10.0.0.1/"), &ip, true), -EINVAL);
    assert_int_equal(pol_ip_parse(STR_LIT("1.2.3"), &ip, true), -EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval), cmocka_unit_test(test_conditions), cmocka_unit_test(test_spec),
        cmocka_unit_test(test_hit),  cmocka_unit_test(test_internals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
