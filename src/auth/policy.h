/* policy.h -- IAM policy documents: parsed and validated once (jansson),
 * then evaluated many times against a request context
 * [spec-authorization §2, §4]. One statement at a time: which statements
 * of one document apply to a request and with what effect. How several
 * documents combine (identity, bucket, session policies, accounts, ACLs,
 * Block Public Access) is authz.h's. No HTTP, no store, no globals: a
 * parsed policy is immutable and may be evaluated by many threads at once. */
#ifndef COFFER_AUTH_POLICY_H
#define COFFER_AUTH_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/str.h"

/* What the document is for; it decides which elements are required or
 * forbidden and which error family the caller reports [§2.1, §2.7]. */
enum policy_kind {
    POLICY_IDENTITY, /* IAM inline or managed, and session policies: no Principal */
    POLICY_BUCKET,   /* S3 bucket policy: Principal or NotPrincipal required,
                      * every Resource this bucket or objects in it */
    POLICY_TRUST,    /* IAM role trust policy: Principal, no Resource */
};

struct policy_opts {
    enum policy_kind kind;
    struct str bucket; /* POLICY_BUCKET: the bucket the policy is for */
    /* POLICY_BUCKET, POLICY_TRUST: whether an IAM principal ARN
     * (arn:aws:iam::ACCOUNT:user/..., role/..., or an STS session ARN) names
     * an existing principal; NULL accepts every well-formed one. A 12-digit
     * account or an account root ARN is never passed here [§2.2 decision]. */
    bool (*principal_exists)(void *arg, struct str arn);
    void *arg;
};

struct policy; /* opaque, immutable after policy_parse() */

/* Parses and validates doc. 0 and *out (free with policy_free()), or
 * -EINVAL with msg set to the message AWS gives for the fault (S3's for
 * POLICY_BUCKET, IAM's for the others: "Policy has invalid action",
 * "Policy document should not specify a principal.", ...), or -ENOMEM.
 * Size limits are the caller's (policy_size()). */
int policy_parse(struct str doc, const struct policy_opts *o, struct policy **out, char *msg,
                 size_t msg_len);
void policy_free(struct policy *p); /* NULL ok */

/* doc's length without the JSON whitespace outside strings: what AWS's
 * size limits count [§2.6]. */
size_t policy_size(struct str doc);

/* ---- request context ----------------------------------------------------- */

/* Values of one condition key; n == 0 means the key is absent. */
struct policy_vals {
    const struct str *v;
    size_t n;
};

/* Who is asking, for Principal / NotPrincipal [§2.2]. Strings borrowed. */
struct policy_principal {
    bool anonymous;
    struct str account;      /* 12 digits; empty when anonymous */
    struct str arn;          /* arn:aws:iam::A:root, ...:user/PATH/NAME, ...:role/PATH/NAME
                              * (a role session's role) */
    struct str session_arn;  /* arn:aws:sts::A:assumed-role/R/S or
                              * ...:federated-user/N; empty otherwise */
    struct str canonical_id; /* the account's 64-hex canonical id */
};

struct policy_ctx {
    struct str action;   /* "s3:GetObject" */
    struct str resource; /* "arn:aws:s3:::b", "arn:aws:s3:::b/key" or "*" */
    struct policy_principal who;
    /* Condition keys and policy variables: fills *out with the values of
     * key (as written in the policy, matched case-insensitively; tag keys
     * such as s3:ExistingObjectTag/K keep their suffix), allocating from a
     * if it must, or sets out->n = 0 when the key is absent. Called only
     * for keys a matching statement names. */
    void (*key)(void *arg, struct str key, struct arena *a, struct policy_vals *out);
    void *key_arg;
    struct arena *arena; /* scratch for the evaluation */
};

enum policy_effect {
    POLICY_NONE = 0, /* no statement applies */
    POLICY_ALLOW,
    POLICY_DENY,
};

/* The statement that decided, for the simulator and logs. */
struct policy_hit {
    int index;      /* 0-based position in Statement; -1 when none */
    struct str sid; /* empty when the statement has none; borrowed from the
                     * policy: valid until policy_free() */
    /* POLICY_BUCKET and POLICY_TRUST: the statement matched the caller
     * only as its whole account (12-digit id, account root ARN or
     * CanonicalUser), so a same-account caller still needs an identity
     * Allow [§1.2]. A match through "*" is not account-wide: by_account is
     * false and by_wildcard true. At most one of by_account, by_wildcard
     * and by_role is set; none: the caller's own user, session or
     * federated-user ARN was named (or an identity policy decided). */
    bool by_account;
    bool by_wildcard; /* matched through Principal "*" or {"AWS":"*"} (or an
                       * Allow with NotPrincipal not listing the caller) */
    /* Matched through the role ARN of a role session (not its session ARN):
     * the session's session policies still cap it [§1.2]. */
    bool by_role;
};

/* The effect of p on c: POLICY_DENY if any statement applying to c denies,
 * else POLICY_ALLOW if one allows (for POLICY_BUCKET the first Allow naming
 * the caller most specifically wins hit), else POLICY_NONE. */
enum policy_effect policy_eval(const struct policy *p, const struct policy_ctx *c,
                               struct policy_hit *hit);

/* Block Public Access's test [§7]: true if any Allow statement is public
 * (identity policies never are). */
bool policy_is_public(const struct policy *p);

/* ---- AWS managed policies [§5.4] ---------------------------------------- */

/* One built-in AWS managed policy: read-only, never attached by value. */
struct policy_managed {
    const char *name;    /* "AmazonS3FullAccess" */
    const char *arn;     /* "arn:aws:iam::aws:policy/AmazonS3FullAccess" */
    const char *version; /* default version id, "v2" */
    const char *doc;     /* the JSON document (POLICY_IDENTITY) */
};

/* The document of arn:aws:iam::aws:policy/NAME, or NULL when Coffer does
 * not ship it. Static storage. */
const char *policy_aws_managed(struct str arn);
/* All of them, *n entries; static storage. */
const struct policy_managed *policy_aws_managed_list(size_t *n);

#endif
