/* policy_fix.h -- shared by test_policy.c, test_policy_eval.c and
 * test_authz.c: the accounts and principals of spec-authorization §10 (A
 * 111111111111 with alice and bob, B 222222222222 with carol and Bob, a
 * role session in A, anonymous) and a request context whose condition keys
 * come from a table. Static functions only: each test binary includes it
 * once. */
#ifndef COFFER_TESTS_POLICY_FIX_H
#define COFFER_TESTS_POLICY_FIX_H

#include "common.h"
#include "auth/policy.h"
#include "util/arena.h"
#include "util/str.h"

#include <string.h>

#define A "111111111111"
#define B "222222222222"
#define ALICE "arn:aws:iam::" A ":user/alice"
#define BOB_B "arn:aws:iam::" B ":user/Bob"
#define CAROL "arn:aws:iam::" B ":user/carol"
#define ROLE "arn:aws:iam::" A ":role/r"
#define SESS "arn:aws:sts::" A ":assumed-role/r/s"
#define CANON_A "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"

/* ---- the request context -------------------------------------------------- */

/* One condition key: up to 4 values, NULL-terminated; v[0] NULL and
 * present: the empty set. */
struct kv {
    const char *k;
    const char *v[5];
};

static __attribute__((unused)) void
key_cb(void *arg, struct str key, struct arena *a, struct policy_vals *out)
{
    const struct kv *kv = arg;

    out->n = 0;
    for (; kv != NULL && kv->k != NULL; kv++) {
        struct str *v;
        size_t n = 0;
        if (!str_ieq_c(key, kv->k))
            continue;
        while (kv->v[n] != NULL)
            n++;
        v = arena_alloc(a, (n + 1) * sizeof(*v));
        for (size_t i = 0; i < n; i++)
            v[i] = str_c(kv->v[i]);
        out->v = v;
        out->n = n;
        return;
    }
}

static __attribute__((unused)) struct policy_principal
who(const char *name)
{
    struct policy_principal w = {0};

    if (name == NULL || strcmp(name, "anon") == 0) {
        w.anonymous = true;
        return w;
    }
    if (strcmp(name, "rootA") == 0) {
        w.account = str_c(A);
        w.arn = str_c("arn:aws:iam::" A ":root");
        w.canonical_id = str_c(CANON_A);
    } else if (strcmp(name, "alice") == 0) {
        w.account = str_c(A);
        w.arn = str_c(ALICE);
        w.canonical_id = str_c(CANON_A);
    } else if (strcmp(name, "bob") == 0) {
        w.account = str_c(A);
        w.arn = str_c("arn:aws:iam::" A ":user/bob");
    } else if (strcmp(name, "carol") == 0) {
        w.account = str_c(B);
        w.arn = str_c(CAROL);
    } else if (strcmp(name, "Bob") == 0) {
        w.account = str_c(B);
        w.arn = str_c(BOB_B);
    } else if (strcmp(name, "sess") == 0) {
        w.account = str_c(A);
        w.arn = str_c(ROLE);
        w.session_arn = str_c(SESS);
    } else {
        ASSERT(!"unknown principal");
    }
    return w;
}

static __attribute__((unused)) int
parse(const char *doc, enum policy_kind kind, struct policy **p, char *msg, size_t len)
{
    struct policy_opts o = {.kind = kind, .bucket = STR_LIT("bkt")};

    return policy_parse(str_c(doc), &o, p, msg, len);
}

#endif
