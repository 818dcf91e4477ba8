/* policy_eval.c -- micro-benchmark of auth/policy: ns per policy_eval() of
 * a 10-statement identity policy and a 6-statement bucket policy, for
 * requests whose deciding statements carry no condition (no key looked up)
 * and for requests that go through conditions (String, IP, Bool, Date,
 * Numeric, a policy variable). Not a test; nothing is checked but the
 * effects. Build against a library built by make (any BUILD dir):
 *
 *   make BUILD=build-pol BIN=bin-pol all
 *   cc -O2 -std=c17 -D_GNU_SOURCE -Isrc bench/policy_eval.c build-pol/libcoffer.a \
 *      -ljansson -lssl -lcrypto -lz -lm -o build-pol/bench_policy_eval
 *   build-pol/bench_policy_eval [ITERATIONS]
 */
#include "common.h"
#include "auth/policy.h"
#include "util/arena.h"
#include "util/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OBJ "arn:aws:s3:::bkt/"

static const char *identity =
    "{\"Version\":\"2012-10-17\",\"Statement\":["
    "{\"Sid\":\"List\",\"Effect\":\"Allow\",\"Action\":[\"s3:ListBucket\",\"s3:"
    "ListBucketVersions\"],"
    "\"Resource\":\"arn:aws:s3:::bkt\",\"Condition\":{\"StringLike\":{\"s3:prefix\":"
    "[\"home/${aws:username}/*\",\"public/*\"]}}},"
    "{\"Sid\":\"Home\",\"Effect\":\"Allow\",\"Action\":\"s3:*Object*\","
    "\"Resource\":\"" OBJ "home/${aws:username}/*\"},"
    "{\"Sid\":\"Public\",\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\",\"s3:GetObjectVersion\"]"
    ","
    "\"Resource\":\"" OBJ "public/*\"},"
    "{\"Sid\":\"Office\",\"Effect\":\"Allow\",\"Action\":\"s3:PutObject\",\"Resource\":\"" OBJ
    "uploads/*\",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":[\"192.0.2.0/24\","
    "\"2001:db8::/32\"]},\"Bool\":{\"aws:SecureTransport\":\"true\"}}},"
    "{\"Sid\":\"Until\",\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"" OBJ
    "reports/*\",\"Condition\":{\"DateLessThan\":{\"aws:CurrentTime\":\"2030-01-01T00:00:00Z\"}}},"
    "{\"Sid\":\"Tags\",\"Effect\":\"Allow\",\"Action\":\"s3:PutObjectTagging\",\"Resource\":\"" OBJ
    "*\",\"Condition\":{\"ForAllValues:StringEquals\":{\"s3:RequestObjectTagKeys\":"
    "[\"Owner\",\"Project\"]}}},"
    "{\"Sid\":\"Few\",\"Effect\":\"Allow\",\"Action\":\"s3:ListBucket\",\"Resource\":"
    "\"arn:aws:s3:::logs\",\"Condition\":{\"NumericLessThanEquals\":{\"s3:max-keys\":\"100\"}}},"
    "{\"Sid\":\"NoLogs\",\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::*log*"
    "\"},"
    "{\"Sid\":\"Mfa\",\"Effect\":\"Deny\",\"Action\":[\"s3:DeleteObject\",\"s3:"
    "DeleteObjectVersion\"],"
    "\"Resource\":\"*\",\"Condition\":{\"BoolIfExists\":{\"aws:MultiFactorAuthPresent\":\"false\"}}"
    "},"
    "{\"Sid\":\"Tls\",\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"Resource\":\"*\","
    "\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}}"
    "]}";

static const char *bucket =
    "{\"Version\":\"2012-10-17\",\"Statement\":["
    "{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":\"" OBJ
    "taxdocuments/*\",\"Condition\":{\"Null\":{\"aws:MultiFactorAuthAge\":\"true\"}}},"
    "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"111111111111\",\"arn:aws:iam::222222222222:"
    "root\"]},"
    "\"Action\":[\"s3:GetObject\",\"s3:PutObject\"],\"Resource\":\"" OBJ "shared/*\"},"
    "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::111111111111:user/alice\"},"
    "\"Action\":\"s3:*\",\"Resource\":[\"arn:aws:s3:::bkt\",\"" OBJ "*\"]},"
    "{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"" OBJ
    "public/*\",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"203.0.113.0/24\"}}},"
    "{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:PutObject\",\"Resource\":\"" OBJ
    "*\",\"Condition\":{\"StringNotEqualsIfExists\":{\"s3:x-amz-server-side-encryption\":"
    "\"AES256\"}}},"
    "{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":\"" OBJ "*\","
    "\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}}"
    "]}";

struct kv {
    const char *k, *v;
};

/* A realistic context: a short table scanned per lookup, as s3/ would. */
static const struct kv keys[] = {
    {"aws:username", "alice"},       {"aws:SecureTransport", "true"},
    {"aws:SourceIp", "192.0.2.10"},  {"aws:CurrentTime", "2026-12-07T04:00:00Z"},
    {"aws:EpochTime", "1796529600"}, {"aws:PrincipalType", "User"},
    {"aws:userid", "AIDAEXAMPLE"},   {"s3:prefix", "home/alice/docs/"},
    {"s3:max-keys", "1000"},         {"aws:MultiFactorAuthAge", "30"},
};

static struct str vals[ARRAY_LEN(keys)];

static void
key_cb(void *arg, struct str key, struct arena *a, struct policy_vals *out)
{
    (void)arg;
    (void)a;
    out->n = 0;
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        if (str_ieq_c(key, keys[i].k)) {
            out->v = &vals[i];
            out->n = 1;
            return;
        }
    }
}

static double
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void
run(const char *name, const struct policy *p, const struct policy_ctx *c, long iters,
    enum policy_effect want)
{
    struct policy_hit hit;
    double t0, t1;
    enum policy_effect e = POLICY_NONE;

    for (long i = 0; i < iters / 10; i++) /* warm-up */
        e = policy_eval(p, c, &hit);
    t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        e = policy_eval(p, c, &hit);
        __asm__ volatile("" ::: "memory");
    }
    t1 = now_ns();
    if (e != want) {
        fprintf(stderr, "%s: effect %d, want %d\n", name, e, want);
        exit(1);
    }
    arena_reset(c->arena);
    printf("%-52s %8.1f ns/eval\n", name, (t1 - t0) / (double)iters);
}

int
main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 2000000;
    struct policy_opts io = {.kind = POLICY_IDENTITY};
    struct policy_opts bo = {.kind = POLICY_BUCKET, .bucket = STR_LIT("bkt")};
    struct policy *id = NULL, *bp = NULL;
    struct arena *a = arena_new();
    char msg[256];
    struct policy_ctx c = {.key = key_cb, .arena = a};

    for (size_t i = 0; i < ARRAY_LEN(keys); i++)
        vals[i] = str_c(keys[i].v);
    if (policy_parse(str_c(identity), &io, &id, msg, sizeof(msg)) != 0 ||
        policy_parse(str_c(bucket), &bo, &bp, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "parse: %s\n", msg);
        return 1;
    }
    c.who = (struct policy_principal){.account = STR_LIT("111111111111"),
                                      .arn = STR_LIT("arn:aws:iam::111111111111:user/alice")};

    /* No key callback: no statement on the way consults a key. */
    c.key = NULL;
    c.action = STR_LIT("s3:GetObject");
    c.resource = STR_LIT(OBJ "public/img/cat.jpg");
    run("identity, 10 st., GetObject public/ (no keys)", id, &c, iters, POLICY_ALLOW);
    c.key = key_cb;
    run("identity, 10 st., GetObject public/ (keys)", id, &c, iters, POLICY_ALLOW);
    c.action = STR_LIT("s3:GetObject");
    c.resource = STR_LIT(OBJ "home/alice/notes.txt");
    run("identity, 10 st., GetObject home/${aws:username}/", id, &c, iters, POLICY_ALLOW);
    c.action = STR_LIT("s3:PutObject");
    c.resource = STR_LIT(OBJ "uploads/x.bin");
    run("identity, 10 st., PutObject uploads/ (IP, Bool)", id, &c, iters, POLICY_ALLOW);
    c.action = STR_LIT("s3:ListBucket");
    c.resource = STR_LIT("arn:aws:s3:::bkt");
    run("identity, 10 st., ListBucket (StringLike + var)", id, &c, iters, POLICY_ALLOW);
    c.action = STR_LIT("s3:GetObject");
    c.resource = STR_LIT(OBJ "reports/q3.pdf");
    run("identity, 10 st., GetObject reports/ (Date)", id, &c, iters, POLICY_ALLOW);
    c.action = STR_LIT("s3:DeleteBucket");
    c.resource = STR_LIT("arn:aws:s3:::other");
    run("identity, 10 st., no statement applies", id, &c, iters, POLICY_NONE);

    c.key = NULL;
    c.action = STR_LIT("s3:ListBucket");
    c.resource = STR_LIT("arn:aws:s3:::bkt");
    run("bucket, 6 st., alice ListBucket (no keys)", bp, &c, iters, POLICY_ALLOW);
    c.key = key_cb;
    c.action = STR_LIT("s3:GetObject");
    c.resource = STR_LIT(OBJ "shared/a");
    run("bucket, 6 st., alice GetObject shared/ (keys)", bp, &c, iters, POLICY_ALLOW);

    policy_free(id);
    policy_free(bp);
    arena_free(a);
    return 0;
}
