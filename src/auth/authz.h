/* authz.h -- one authorization decision as AWS makes it: the caller's
 * identity policies, its session policies, the resource's bucket policy,
 * ACL grants and Block Public Access combined for one action on one
 * resource [spec-authorization §1]. Pure: the caller gathers the parsed
 * policies and the facts below (s3/s3_authz.c for S3 requests, the IAM
 * simulator for what-if questions), so both ask exactly the same function. */
#ifndef COFFER_AUTH_AUTHZ_H
#define COFFER_AUTH_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/policy.h"

/* Where a deciding statement came from, for the simulator and the log. */
enum authz_source {
    AUTHZ_SRC_NONE = 0,
    AUTHZ_SRC_IDENTITY, /* ids[i] */
    AUTHZ_SRC_SESSION,  /* sessions[i] */
    AUTHZ_SRC_RESOURCE, /* the bucket (or trust) policy */
    AUTHZ_SRC_ACL,      /* an ACL grant */
    AUTHZ_SRC_ROOT,     /* the account root's own resources, or bucket-policy
                         * lock-out recovery [§1.4] */
};

struct authz_in {
    const struct policy_ctx *ctx; /* action, resource, principal, keys */
    bool is_root;                 /* the caller is its account's root */
    /* The account that owns the resource (a bucket's owner; for a trust
     * policy the role's account); same_account: the caller's is it. */
    bool same_account;
    /* Identity policies of the caller (a user's inline and attached
     * policies, and its groups'; a role session's role's). */
    const struct policy *const *ids;
    size_t n_ids;
    /* Session policies (AssumeRole Policy/PolicyArns): when has_session,
     * they cap what the identity policies allow [§1.2 step 4]. */
    bool has_session;
    const struct policy *const *sessions;
    size_t n_sessions;
    const struct policy *resource; /* bucket or trust policy; NULL: none */
    /* A foreign-owned object (ACLs enabled): the bucket policy's Allows do
     * not reach it, only its ACL does (with the caller's identity Allow, or
     * none for a root); the owner account's root gets no shortcut to it
     * [§1.6]. Except s3:DeleteObject and s3:DeleteObjectVersion by the
     * bucket owner's account, which may delete any object in its bucket
     * [§1.4]: for those it counts as the owner's. */
    bool foreign_object;
    /* An ACL grant (already filtered by IgnorePublicAcls) allows the action. */
    bool acl_allows;
    /* RestrictPublicBuckets applies and the bucket policy is public: only
     * the owner account's principals may use it [§7]. */
    bool restrict_public;
};

enum authz_decision {
    AUTHZ_IMPLICIT_DENY = 0,
    AUTHZ_ALLOW,
    AUTHZ_EXPLICIT_DENY,
};

struct authz_out {
    enum authz_decision decision;
    enum authz_source source; /* of the deciding statement */
    size_t index;             /* ids[index] / sessions[index] */
    struct policy_hit hit;
};

/* Decides [§1.2-1.6]: an explicit Deny anywhere wins (the root included,
 * except that the owner account's root may always Get/Put/DeleteBucketPolicy);
 * the root may do anything else in its own account; within the account an
 * Allow from the identity policies (capped by session policies) or from the
 * bucket policy naming the caller (naming only its account: delegation, an
 * identity Allow is still needed; naming a role or "*": capped by session
 * policies as the identity side is; naming a user, role session or
 * federated user: not capped) suffices; across accounts both sides must
 * allow (an anonymous caller has no side of its own); an ACL grant is one
 * more resource-side Allow. A decision, not an S3 status: 405 for another
 * account's bucket-policy calls [§1.4] and 404-versus-403 [§1.7] are the
 * caller's. out is always filled; out->hit.index is -1 when no statement
 * decided. */
enum authz_decision authz_decide(const struct authz_in *in, struct authz_out *out);

#endif
