/* iam_assume.c -- STS AssumeRole [spec-authorization §5.2]: temporary
 * credentials that act as a role of any local account, optionally narrowed
 * by session policies, with the caller's MFA code checked as
 * GetSessionToken checks it (iam_sts.c). Whether the caller may assume the
 * role is the front door's decision (authorize_trust: identity policies and
 * the role's trust policy), taken before the code is verified, so a
 * refused call burns no code. Not here: what a role session may do
 * (s3/s3_authz.c). */
#include "common.h"
#include "iam/iam_int.h"

#include "auth/mfa.h"
#include "auth/policy.h"
#include "util/log.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <string.h>

#define ASSUME_DEFAULT_S 3600
#define ASSUME_MIN_S 900
#define ASSUME_MAX_S 43200
#define CHAINED_MAX_S 3600   /* AWS: a role session assuming a role */
#define SESSION_POLICY_MAX 2048 /* policy_size() of Policy [§1.2 step 4] */
#define SESSION_ARNS_MAX 10
#define ARN_MIN 20
#define ARN_MAX 2048

/* "arn:aws:iam::ACCOUNT:role/PATH/NAME": the account, the path ("/" or
 * "/.../") and the name. false when arn is not shaped so. */
static bool
parse_role_arn(struct str arn, int64_t *account, struct str *path, struct str *name)
{
    static const char pre[] = "arn:aws:iam::";
    struct str rest, acct, res;
    unsigned long long a;
    const char *slash;

    if (!str_has_prefix(arn, pre))
        return false;
    rest = str_make(arn.p + sizeof(pre) - 1, arn.n - (sizeof(pre) - 1));
    if (!str_split(rest, ':', &acct, &res) || acct.n != 12 || str_to_u64(acct, &a) < 0 ||
        !str_has_prefix(res, "role/"))
        return false;
    res = str_make(res.p + 4, res.n - 4); /* from the path's first '/' */
    slash = memrchr(res.p, '/', res.n);
    *path = str_make(res.p, (size_t)(slash - res.p) + 1);
    *name = str_make(slash + 1, (size_t)(res.p + res.n - slash - 1));
    *account = (int64_t)a;
    return name->n > 0 && a > 0;
}

/* When the caller's own MFA context began, 0 for none: GetSessionToken
 * credentials issued with a code, or a role session that inherited one
 * [§4.3 decision]. Long-term keys carry none. */
static int64_t
caller_mfa_ms(const struct md_key *k)
{
    if (k->expires_ms == 0 || (k->role_id > 0 && !k->mfa_inherited))
        return 0;
    return k->mfa_auth_ms;
}

/* PolicyArns.member.N.arn, N from 1: up to SESSION_ARNS_MAX ARNs that each
 * name an AWS managed policy Coffer ships or a managed policy of the role's
 * account, joined one a line into *out (STR_NULL when none). */
static enum iam_err
get_policy_arns(struct iam *x, int64_t role_account, struct str *out)
{
    struct buf b;
    enum iam_err err = IAM_E_OK;
    size_t n = 0;

    *out = STR_NULL;
    for (;;) {
        const char *name = arena_printf(x->a, "PolicyArns.member.%zu.arn", n + 1);
        struct str v = iam_arg(x, name);
        if (v.p == NULL)
            break;
        if (++n > SESSION_ARNS_MAX)
            return iam_fail(x, IAM_E_VALIDATION,
                            "1 validation error detected: Value at 'policyArns' failed to "
                            "satisfy constraint: Member must have length less than or equal "
                            "to %d",
                            SESSION_ARNS_MAX);
        if (v.n < ARN_MIN || v.n > ARN_MAX)
            return iam_invalid(x, "policyArns.member.arn", v,
                               "have length between 20 and 2048");
    }
    if (n == 0)
        return IAM_E_OK;
    buf_init(&b, n * (ARN_MAX + 1));
    for (size_t i = 1; i <= n && err == IAM_E_OK; i++) {
        struct str v = iam_arg(x, arena_printf(x->a, "PolicyArns.member.%zu.arn", i));
        struct md_policy p;
        int rc = md_policy_get_by_arn(md_reader(x->r->md), v, x->a, &p);
        if (rc < 0 && rc != -ENOENT) {
            err = IAM_E_INTERNAL;
        } else if ((rc == 0 && p.account_id != role_account) ||
                   (rc == -ENOENT && policy_aws_managed(v) == NULL)) {
            err = iam_fail(x, IAM_E_INVALID_PARAMETER,
                           "Policy %s does not exist or is not attachable.", iam_shown(x, v));
        } else if ((i > 1 && buf_append(&b, "\n", 1) < 0) || buf_append(&b, v.p, v.n) < 0) {
            err = IAM_E_INTERNAL;
        }
    }
    if (err == IAM_E_OK)
        *out = arena_str(x->a, buf_str(&b));
    buf_free(&b);
    return err;
}

struct assume_op {
    struct iam_session_op s;
    const char *role_arn;
};

/* iam_session_write(), and an audit record of the session it made. */
static int
assume_fn(struct md_conn *c, void *arg)
{
    struct assume_op *op = arg;
    struct iam *x = op->s.x;
    int rc = iam_session_write(c, &op->s);

    if (rc == 0 && op->s.err == IAM_E_OK)
        rc = iam_audit(c, x, "sts.assume_role",
                       arena_printf(x->a, "%s session %.*s: key %.*s until %s%s", op->role_arn,
                                    STR_FMT(op->s.k.session_name),
                                    STR_FMT(op->s.k.access_key_id),
                                    iam_iso(x, op->s.k.expires_ms),
                                    op->s.with_mfa ? ", MFA verified" : ""));
    return rc;
}

/* Parameters, in the order AWS checks them. */
static enum iam_err
get_params(struct iam *x, struct assume_op *op, struct str *role_arn, unsigned long long *secs,
           size_t *policy_size)
{
    struct str name = iam_arg(x, "RoleSessionName"), dur = iam_arg(x, "DurationSeconds");
    struct str code = iam_arg(x, "TokenCode");
    struct policy_opts o = {.kind = POLICY_IDENTITY};
    enum iam_err err;

    *role_arn = iam_arg(x, "RoleArn");
    if (role_arn->p == NULL)
        return iam_invalid(x, "roleArn", *role_arn, "not be null");
    if (role_arn->n < ARN_MIN || role_arn->n > ARN_MAX)
        return iam_invalid(x, "roleArn", *role_arn, "have length between 20 and 2048");
    err = iam_check_name(x, name, "roleSessionName", 64, true);
    if (err == IAM_E_OK && name.n < 2)
        err = iam_invalid(x, "roleSessionName", name, "have length greater than or equal to 2");
    if (err != IAM_E_OK)
        return err;
    op->s.k.session_name = name;
    if (dur.p != NULL &&
        (str_to_u64(dur, secs) < 0 || *secs < ASSUME_MIN_S || *secs > ASSUME_MAX_S))
        return iam_invalid(x, "durationSeconds", dur, "have value between 900 and 43200");
    op->s.serial = iam_arg(x, "SerialNumber");
    if (op->s.serial.p != NULL || code.p != NULL) {
        if (op->s.serial.p == NULL)
            return iam_invalid(x, "serialNumber", op->s.serial, "");
        err = iam_check_serial(x, op->s.serial);
        if (err == IAM_E_OK)
            err = iam_get_code(x, "TokenCode", "tokenCode", &op->s.code);
        if (err != IAM_E_OK)
            return err;
        op->s.with_mfa = true;
    }
    *policy_size = 0;
    if (iam_arg(x, "Policy").p != NULL) {
        err = iam_get_doc(x, "Policy", "policy", &o, &op->s.k.session_policy, policy_size);
        if (err != IAM_E_OK)
            return err;
        if (*policy_size > SESSION_POLICY_MAX)
            return iam_fail(x, IAM_E_PACKED_POLICY_TOO_LARGE,
                            "The session policy takes %zu%% of the space allowed (%d "
                            "characters without whitespace); use a smaller policy.",
                            (*policy_size * 100 + SESSION_POLICY_MAX - 1) / SESSION_POLICY_MAX,
                            SESSION_POLICY_MAX);
    }
    return IAM_E_OK;
}

/* The role RoleArn names, and whether the caller may assume it; a role
 * that does not exist is refused exactly as a role the caller may not
 * assume, so the answer says nothing of which roles exist. */
static enum iam_err
authorize(struct iam *x, struct str role_arn, bool with_mfa, struct md_role *r,
          const char **arn)
{
    struct policy_opts o = {.kind = POLICY_TRUST};
    struct policy *trust = NULL;
    struct str path, name;
    int64_t account;
    char msg[256];
    int rc;

    if (!parse_role_arn(role_arn, &account, &path, &name))
        return iam_invalid(x, "roleArn", role_arn, "be the ARN of a role");
    /* AWS: root credentials may not assume roles. */
    if (x->caller.user_id == 0)
        return iam_fail(x, IAM_E_ACCESS_DENIED, "Roles may not be assumed by root accounts.");
    rc = md_role_get_by_name(md_reader(x->r->md), account, name, x->a, r);
    if (rc < 0 && rc != -ENOENT)
        return IAM_E_INTERNAL;
    if (rc == 0 && str_eq(r->path, path) && str_eq(r->name, name)) {
        *arn = arena_printf(x->a, "arn:aws:iam::%012lld:role%.*s%.*s", (long long)account,
                            STR_FMT(r->path), STR_FMT(r->name));
        if (policy_parse(r->trust_policy, &o, &trust, msg, sizeof(msg)) < 0) {
            log_error("sts: the trust policy of %s does not parse: %s", *arn, msg);
            return IAM_E_INTERNAL;
        }
        rc = x->r->authorize_trust(x->r->authorize_arg, "sts:AssumeRole", *arn, trust, account,
                                   with_mfa);
        policy_free(trust);
        if (rc == 0)
            return IAM_E_OK;
        if (rc != -EACCES)
            return IAM_E_INTERNAL;
    }
    return iam_fail(x, IAM_E_ACCESS_DENIED,
                    "User: %s is not authorized to perform: sts:AssumeRole on resource: %s",
                    iam_principal_arn(x, &x->caller), iam_shown(x, role_arn));
}

enum iam_err
iam_assume_role(struct iam *x, struct buf *res)
{
    const struct md_key *ck = x->r->key;
    struct assume_op op = {.s = {.x = x}};
    struct iam_creds cr;
    struct md_role r;
    struct str role_arn;
    unsigned long long secs = ASSUME_DEFAULT_S;
    size_t policy_size = 0;
    enum iam_err err;
    bool dur_given = iam_arg(x, "DurationSeconds").p != NULL;
    int rc;

    err = get_params(x, &op, &role_arn, &secs, &policy_size);
    if (err == IAM_E_OK)
        err = authorize(x, role_arn, op.s.with_mfa, &r, &op.role_arn);
    if (err != IAM_E_OK)
        return err;
    /* After the decision: only a caller allowed to assume the role learns
     * its maximum. */
    if (ck->role_id > 0 && secs > CHAINED_MAX_S)
        return iam_fail(x, IAM_E_VALIDATION,
                        "The requested DurationSeconds exceeds the 1 hour session limit for "
                        "roles assumed by role chaining.");
    if (dur_given && secs > (unsigned long long)r.max_session_s)
        return iam_fail(x, IAM_E_VALIDATION,
                        "The requested DurationSeconds exceeds the MaxSessionDuration set for "
                        "this role.");
    err = get_policy_arns(x, r.account_id, &op.s.k.session_policy_arns);
    if (err != IAM_E_OK)
        return err;
    err = iam_session_new(x, &cr, &op.s.k);
    if (err != IAM_E_OK)
        goto out;
    op.s.k.account_id = r.account_id;
    op.s.k.user_id = -1;
    op.s.k.role_id = r.id;
    op.s.k.expires_ms = x->now_ms + (int64_t)secs * 1000;
    /* The session inherits its caller's MFA context, never the code given
     * here: that one only satisfied the trust policy [§4.3 decision]. */
    op.s.k.mfa_auth_ms = caller_mfa_ms(ck);
    op.s.k.mfa_inherited = op.s.k.mfa_auth_ms > 0;
    err = iam_run_write(x, assume_fn, &op, &op.s.err);
    if (op.s.with_mfa)
        mfa_count(op.s.mfa_result != NULL ? op.s.mfa_result : "error");
    if (err != IAM_E_OK)
        goto out;
    rc = iam_put_credentials(x, res, &cr, &op.s.k);
    rc |= xml_open(res, "AssumedRoleUser");
    rc |= xml_elem_c(res, "AssumedRoleId",
                     arena_printf(x->a, "%.*s:%.*s", STR_FMT(r.uid),
                                  STR_FMT(op.s.k.session_name)));
    rc |= xml_elem_c(res, "Arn",
                     arena_printf(x->a, "arn:aws:sts::%012lld:assumed-role/%.*s/%.*s",
                                  (long long)r.account_id, STR_FMT(r.name),
                                  STR_FMT(op.s.k.session_name)));
    rc |= xml_close(res, "AssumedRoleUser");
    if (op.s.k.session_policy.p != NULL || op.s.k.session_policy_arns.p != NULL)
        rc |= xml_elem_i64(res, "PackedPolicySize",
                           (int64_t)((policy_size * 100 + SESSION_POLICY_MAX - 1) /
                                     SESSION_POLICY_MAX));
    if (rc != 0)
        err = IAM_E_INTERNAL;
out:
    iam_creds_wipe(&cr);
    return err;
}
