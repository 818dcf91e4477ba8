/* fuzz_policy.c -- auth/policy on arbitrary bytes: the whole input is
 * parsed as a bucket policy (for bucket "bkt"), an identity policy and a
 * trust policy; whatever parses is evaluated against a fixed set of
 * requests (several callers, actions, resources and condition keys, some
 * values that do not parse for their operators) and put to the public
 * test. Checked: a refusal always says why and leaves no policy; parsing
 * is deterministic; policy_size() never exceeds the input. ASan and UBSan
 * do the rest.
 *
 * Input: a policy document, as sent to PutBucketPolicy or PutUserPolicy. */
#include "common.h"
#include "auth/policy.h"
#include "util/arena.h"
#include "util/str.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

static void
trap_unless(bool ok)
{
    if (!ok)
        __builtin_trap();
}

static const struct {
    const char *k;
    const char *v[3];
} keys[] = {
    {"aws:username", {"alice"}},
    {"aws:SourceIp", {"192.0.2.1"}},
    {"aws:SecureTransport", {"true"}},
    {"aws:CurrentTime", {"2026-12-07T04:00:00Z"}},
    {"aws:EpochTime", {"1796529600"}},
    {"aws:MultiFactorAuthAge", {"60"}},
    {"aws:PrincipalArn", {"arn:aws:iam::111111111111:user/alice"}},
    {"s3:prefix", {"home/alice/"}},
    {"s3:max-keys", {"not-a-number"}},
    {"s3:RequestObjectTagKeys", {"Owner", "Project", "*"}},
    {"aws:TagKeys", {""}},
    {"aws:x", {"QUJD"}},
};

static void
key_cb(void *arg, struct str key, struct arena *a, struct policy_vals *out)
{
    (void)arg;
    out->n = 0;
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        struct str *v;
        size_t n = 0;
        if (!str_ieq_c(key, keys[i].k))
            continue;
        while (n < 3 && keys[i].v[n] != NULL)
            n++;
        v = arena_alloc(a, n * sizeof(*v));
        for (size_t k = 0; k < n; k++)
            v[k] = str_c(keys[i].v[k]);
        out->v = v;
        out->n = n;
        return;
    }
}

static void
evaluate(const struct policy *p, struct arena *a)
{
    static const char *const actions[] = {"s3:GetObject",   "S3:PUTOBJECT", "s3:ListBucket",
                                          "sts:AssumeRole", "iam:GetUser",  ""};
    static const char *const resources[] = {"arn:aws:s3:::bkt/home/alice/x",
                                            "arn:aws:s3:::bkt",
                                            "*",
                                            "arn:aws:s3:::bkt/a:b:c/${*}",
                                            "",
                                            "x"};
    struct policy_principal who[4] = {
        {.anonymous = true},
        {.account = STR_LIT("111111111111"),
         .arn = STR_LIT("arn:aws:iam::111111111111:user/alice"),
         .canonical_id =
             STR_LIT("79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be")},
        {.account = STR_LIT("222222222222"),
         .arn = STR_LIT("arn:aws:iam::222222222222:role/r"),
         .session_arn = STR_LIT("arn:aws:sts::222222222222:assumed-role/r/s")},
        {.account = STR_LIT("111111111111"), .arn = STR_LIT("arn:aws:iam::111111111111:root")},
    };

    for (size_t w = 0; w < ARRAY_LEN(who); w++) {
        for (size_t i = 0; i < ARRAY_LEN(actions); i++) {
            struct policy_ctx c = {.action = str_c(actions[i]),
                                   .resource = str_c(resources[i]),
                                   .who = who[w],
                                   .key = w == 3 ? NULL : key_cb,
                                   .arena = a};
            struct policy_hit hit;
            enum policy_effect e = policy_eval(p, &c, &hit);
            trap_unless(e == POLICY_NONE || e == POLICY_ALLOW || e == POLICY_DENY);
            trap_unless((e == POLICY_NONE) == (hit.index < 0));
            trap_unless(!(hit.by_account && hit.by_wildcard));
        }
        arena_reset(a);
    }
    (void)policy_is_public(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum policy_kind kinds[] = {POLICY_BUCKET, POLICY_IDENTITY, POLICY_TRUST};
    struct str doc = str_make((const char *)data, size);
    struct arena *a;

    if (size > 65536)
        return 0;
    trap_unless(policy_size(doc) <= size);
    a = arena_new();
    for (size_t k = 0; k < ARRAY_LEN(kinds); k++) {
        struct policy_opts o = {.kind = kinds[k], .bucket = STR_LIT("bkt")};
        struct policy *p = NULL, *again = NULL;
        char msg[256], msg2[256];
        int rc = policy_parse(doc, &o, &p, msg, sizeof(msg));
        int rc2 = policy_parse(doc, &o, &again, msg2, sizeof(msg2));
        trap_unless(rc == rc2);
        if (rc != 0) {
            trap_unless(rc == -EINVAL && p == NULL && msg[0] != '\0' && strcmp(msg, msg2) == 0);
            continue;
        }
        trap_unless(p != NULL);
        evaluate(p, a);
        policy_free(p);
        policy_free(again);
    }
    arena_free(a);
    return 0;
}
