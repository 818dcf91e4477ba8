/* s3_authz.h -- the facts an S3 request's authorization is decided on
 * [spec-authorization §1, §4]: who asks (s3_principal), the request's
 * condition keys (s3_authz_keys.c), the caller's identity policies and the
 * bucket's policy, parsed once per change and kept per thread (s3_authz.c).
 * auth/authz.c decides; s3_authorize() (s3_route.c) is the one caller for
 * requests. */
#ifndef COFFER_S3_S3_AUTHZ_H
#define COFFER_S3_S3_AUTHZ_H

#include "auth/authz.h"
#include "auth/policy.h"
#include "s3/s3_int.h"

/* Per-evaluation state behind policy_ctx.key_arg. */
struct s3_authz_ctx {
    struct policy_ctx ctx;
    const struct s3_req *q;
    int64_t now_ms;
    struct str now_iso;     /* aws:CurrentTime, formatted on first use */
    char owner_account[13]; /* the bucket owner's 12 digits; "" without a bucket */
    struct str version_id;  /* s3:VersionId; STR_NULL when none */
    bool copy_source;       /* evaluating a copy source (request-header keys absent) */
    /* The object acted on, for s3:ExistingObjectTag/<key>: its version's
     * tags are read on first use (existing_tags, p == NULL: none). */
    const struct md_bucket *bucket; /* NULL: no bucket */
    struct str obj_key;             /* STR_NULL: the bucket itself */
    bool tags_loaded;
    struct str existing_tags;
    /* The request itself verified an MFA code (AssumeRole with TokenCode):
     * aws:MultiFactorAuthPresent true, aws:MultiFactorAuthAge 0. */
    bool mfa_now;
};

/* policy_ctx.key for S3 requests (s3_authz_keys.c). */
void s3_authz_key(void *arg, struct str key, struct arena *a, struct policy_vals *out);

/* Fills q->pr from the authenticated request (once; later calls return at
 * once). S3E_OK or S3E_INTERNAL. */
enum s3_err s3_authz_principal(struct s3_req *q);

/* Whether q's caller may do action on bucket b (NULL: an account-level
 * action) and key (STR_NULL: the bucket itself); vid is the version the
 * action names (s3:VersionId). S3E_OK, S3E_ACCESS_DENIED or S3E_INTERNAL;
 * *out (may be NULL) says which statement decided. */
enum s3_err s3_authz_check(struct s3_req *q, const char *action, const struct md_bucket *b,
                           struct str key, struct str vid, bool copy_source,
                           struct authz_out *out);

/* The same for a resource of the caller's own account named by its ARN (an
 * IAM user, group, role, policy or MFA device; "*"): identity policies
 * alone decide, the root may do anything. */
enum s3_err s3_authz_check_arn(struct s3_req *q, const char *action, struct str resource,
                               struct authz_out *out);

/* STS AssumeRole's decision [§5.2]: the caller's identity (and session)
 * policies and the role's parsed trust policy as the resource policy, the
 * role being of account role_account (either side suffices within it, both
 * are needed across accounts). mfa_now: the request carried a TokenCode
 * (verified after an allow; an invalid one fails the call). S3E_OK,
 * S3E_ACCESS_DENIED or S3E_INTERNAL. */
enum s3_err s3_authz_check_trust(struct s3_req *q, const char *action, struct str role_arn,
                                 const struct policy *trust, int64_t role_account, bool mfa_now,
                                 struct authz_out *out);

#endif
