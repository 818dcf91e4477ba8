/* authz.c -- one authorization decision from already parsed policies and
 * already gathered facts [spec-authorization §1.2-1.6, §7]: explicit Deny
 * first, then the owner-root rules, then the Allows of the caller's side
 * (identity policies capped by session policies) and of the resource's side
 * (bucket or trust policy, ACL), combined as AWS combines them within one
 * account and across two. No I/O; the S3 handlers and the IAM simulator
 * call the same function. */
#include "common.h"
#include "auth/authz.h"

#include <string.h>

/* AWS: the bucket owner's root may always manage the bucket policy, even
 * past an explicit Deny in it: lock-out recovery [§1.4]. */
static bool
policy_action(struct str action)
{
    return str_ieq_c(action, "s3:GetBucketPolicy") || str_ieq_c(action, "s3:PutBucketPolicy") ||
           str_ieq_c(action, "s3:DeleteBucketPolicy");
}

/* AWS: the bucket owner may delete any object in its bucket, whoever owns
 * it [§1.4]; for these actions a foreign-owned object is the owner's. */
static bool
delete_action(struct str action)
{
    return str_ieq_c(action, "s3:DeleteObject") || str_ieq_c(action, "s3:DeleteObjectVersion");
}

static enum authz_decision
decide(struct authz_out *out, enum authz_decision d, enum authz_source src, size_t index,
       const struct policy_hit *hit)
{
    out->decision = d;
    out->source = src;
    out->index = index;
    if (hit != NULL)
        out->hit = *hit;
    return d;
}

enum authz_decision
authz_decide(const struct authz_in *in, struct authz_out *out)
{
    const struct policy_ctx *c = in->ctx;
    struct policy_hit h, id_hit = {.index = -1}, res_hit = {.index = -1};
    enum policy_effect res = POLICY_NONE;
    bool id_allow = false, sess_allow = !in->has_session, id_ok, res_ok, foreign;
    bool owner_root = in->is_root && in->same_account;
    size_t id_i = 0;

    memset(out, 0, sizeof(*out));
    out->hit.index = -1;
    if (owner_root && policy_action(c->action))
        return decide(out, AUTHZ_ALLOW, AUTHZ_SRC_ROOT, 0, NULL);

    /* 1. Any explicit Deny, from any policy, is final [§1.2 step 2]. */
    for (size_t i = 0; i < in->n_ids; i++) {
        enum policy_effect e = policy_eval(in->ids[i], c, &h);
        if (e == POLICY_DENY)
            return decide(out, AUTHZ_EXPLICIT_DENY, AUTHZ_SRC_IDENTITY, i, &h);
        if (e == POLICY_ALLOW && !id_allow) {
            id_allow = true;
            id_i = i;
            id_hit = h;
        }
    }
    for (size_t i = 0; in->has_session && i < in->n_sessions; i++) {
        enum policy_effect e = policy_eval(in->sessions[i], c, &h);
        if (e == POLICY_DENY)
            return decide(out, AUTHZ_EXPLICIT_DENY, AUTHZ_SRC_SESSION, i, &h);
        if (e == POLICY_ALLOW)
            sess_allow = true;
    }
    if (in->resource != NULL) {
        res = policy_eval(in->resource, c, &res_hit);
        if (res == POLICY_DENY)
            return decide(out, AUTHZ_EXPLICIT_DENY, AUTHZ_SRC_RESOURCE, 0, &res_hit);
    }

    foreign = in->foreign_object && !(in->same_account && delete_action(c->action));
    /* 2. The root user owns its account's resources [§1.2 step 1]; not an
     * object another account owns. */
    if (owner_root && !foreign)
        return decide(out, AUTHZ_ALLOW, AUTHZ_SRC_ROOT, 0, NULL);

    /* 3. The caller's side: identity Allow within the session policies' cap
     * [§1.2 step 4]; a root needs no identity policy. */
    id_ok = in->is_root || (id_allow && sess_allow);
    /* The resource side: a bucket-policy Allow does not reach a foreign
     * object [§1.6] nor, under RestrictPublicBuckets, another account [§7]. */
    res_ok = res == POLICY_ALLOW && !foreign && !(in->restrict_public && !in->same_account);

    if (in->same_account && !foreign) {
        if (id_ok)
            return decide(out, AUTHZ_ALLOW, AUTHZ_SRC_IDENTITY, id_i, &id_hit);
        /* AWS: a bucket policy naming the user, role session or federated
         * user grants on its own, past session policies; naming the role it
         * is capped by them; naming only the account it delegates, and the
         * identity Allow that just failed is still needed [§1.2]. */
        if (res_ok && !res_hit.by_account) {
            bool specific = !res_hit.by_role && !res_hit.by_wildcard;
            if (specific || sess_allow)
                return decide(out, AUTHZ_ALLOW, AUTHZ_SRC_RESOURCE, 0, &res_hit);
        }
        if (in->acl_allows && sess_allow)
            return decide(out, AUTHZ_ALLOW, AUTHZ_SRC_ACL, 0, NULL);
        return decide(out, AUTHZ_IMPLICIT_DENY, AUTHZ_SRC_NONE, 0, NULL);
    }

    /* 4. Across accounts (or a foreign-owned object): both sides must
     * allow [§1.3]. Anonymous callers have no side of their own [§1.5]. */
    if ((c->who.anonymous || id_ok) && (res_ok || in->acl_allows)) {
        if (res_ok)
            return decide(out, AUTHZ_ALLOW, AUTHZ_SRC_RESOURCE, 0, &res_hit);
        return decide(out, AUTHZ_ALLOW, AUTHZ_SRC_ACL, 0, NULL);
    }
    return decide(out, AUTHZ_IMPLICIT_DENY, AUTHZ_SRC_NONE, 0, NULL);
}
