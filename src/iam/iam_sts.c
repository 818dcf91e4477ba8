/* iam_sts.c -- STS: GetSessionToken (temporary credentials, MFA-verified
 * when a serial and code come with it), GetCallerIdentity, and the session
 * credentials AssumeRole (iam_assume.c) issues the same way. Only the
 * SHA-256 of a session token is stored. */
#include "common.h"
#include "iam/iam_int.h"

#include "auth/keys.h"
#include "auth/mfa.h"
#include "auth/mfa_dev.h"
#include "auth/totp.h"
#include "crypto/hash.h"
#include "util/enc.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <string.h>

/* ---- STS --------------------------------------------------------------- */

_Static_assert(sizeof(((struct iam_creds *)0)->id) > AUTH_KEY_ID_LEN, "id");
_Static_assert(sizeof(((struct iam_creds *)0)->secret) > AUTH_SECRET_LEN, "secret");
_Static_assert(sizeof(((struct iam_creds *)0)->token) > 4 * ((IAM_TOKEN_BYTES + 2) / 3), "token");

int
iam_session_write(struct md_conn *c, void *arg)
{
    struct iam_session_op *op = arg;
    struct iam *x = op->x;
    struct md_mfa_device d = {0};
    struct totp_state st;
    const char *why;
    int rc, retry_s = 0;

    /* As dev_fn: a failed code commits, so a rerun starts without a verdict. */
    op->err = IAM_E_OK;
    op->mfa_result = NULL;
    x->msg = NULL;
    if (!op->with_mfa)
        return md_key_create(c, &op->k);
    rc = md_mfa_get(c, op->serial, x->a, &d);
    if (rc == -ENOENT || (rc == 0 && (d.account_id != x->r->account_id || !d.is_enabled ||
                                      d.user_id != x->caller.user_id))) {
        op->mfa_result = "unknown_device";
        op->err = iam_fail(x, IAM_E_ACCESS_DENIED,
                           "MultiFactorAuthentication failed, unable to validate MFA code.  Please "
                           "verify your MFA serial number is valid and associated with this user.");
        rc = iam_audit(c, x, "mfa.check_failed",
                       arena_printf(x->a, "%s %s: serial is not an enabled device of the caller",
                                    iam_action_name(x), iam_shown(x, op->serial)));
        goto out;
    }
    if (rc < 0)
        goto out;
    st = mfa_dev_state(&d);
    rc = totp_verify((const unsigned char *)d.seed.p, d.seed.n, &st, x->now_ms / 1000, op->code,
                     &retry_s);
    op->mfa_result = rc == 0 ? "ok" : rc == -EAGAIN ? "throttled" : rc == -EALREADY ? "replayed"
                                                                                  : "invalid";
    if (rc == 0) {
        op->k.mfa_auth_ms = x->now_ms;
        rc = mfa_dev_save_state(c, &d, &st);
        if (rc == 0)
            rc = md_key_create(c, &op->k);
        if (rc == 0)
            rc = iam_audit(c, x, "mfa.session",
                           arena_printf(x->a, "%s %.*s: session %.*s until %s",
                                        iam_action_name(x), STR_FMT(d.serial),
                                        STR_FMT(op->k.access_key_id),
                                        iam_iso(x, op->k.expires_ms)));
        goto out;
    }
    if (rc == -EAGAIN) {
        op->err =
            iam_fail(x, IAM_E_ACCESS_DENIED, "Too many failed MFA attempts; retry in %d seconds",
                     retry_s > 0 ? retry_s : 1);
        why = "throttled after too many failed checks";
    } else {
        op->err = iam_fail(x, IAM_E_ACCESS_DENIED,
                           "MultiFactorAuthentication failed with invalid MFA one time pass code.");
        why = rc == -EALREADY ? "code already used" : "invalid or expired code";
    }
    /* Keep the failure count and the audit record: commit, then fail. */
    rc = mfa_dev_save_state(c, &d, &st);
    if (rc == 0)
        rc = iam_audit(c, x, "mfa.check_failed",
                       arena_printf(x->a, "%s %.*s: %s", iam_action_name(x), STR_FMT(d.serial),
                                    why));
out:
    mfa_dev_wipe_seed(&d);
    return rc;
}

enum iam_err
iam_session_new(struct iam *x, struct iam_creds *c, struct md_key *k)
{
    unsigned char raw[IAM_TOKEN_BYTES], h[32];
    int rc = auth_key_new("CS", c->id, c->secret);

    if (rc == 0)
        rc = rand_bytes(raw, sizeof(raw));
    if (rc < 0)
        return IAM_E_INTERNAL;
    /* base64url without padding: the token travels in a header. */
    b64_encode(raw, sizeof(raw), c->token);
    explicit_bzero(raw, sizeof(raw));
    for (char *p = c->token; *p != '\0'; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    c->token[strcspn(c->token, "=")] = '\0';
    sha256(c->token, strlen(c->token), h);
    hex_encode(h, sizeof(h), c->hex);
    k->access_key_id = str_c(c->id);
    k->secret = str_c(c->secret);
    k->session_token_sha256 = str_c(c->hex);
    k->created_ms = x->now_ms;
    k->is_active = true;
    return IAM_E_OK;
}

int
iam_put_credentials(struct iam *x, struct buf *res, const struct iam_creds *c,
                    const struct md_key *k)
{
    int rc = xml_open(res, "Credentials");

    rc |= xml_elem_c(res, "AccessKeyId", c->id);
    rc |= xml_elem_c(res, "SecretAccessKey", c->secret);
    rc |= xml_elem_c(res, "SessionToken", c->token);
    rc |= xml_elem_c(res, "Expiration", iam_iso(x, k->expires_ms));
    rc |= xml_close(res, "Credentials");
    return rc;
}

void
iam_creds_wipe(struct iam_creds *c)
{
    explicit_bzero(c, sizeof(*c));
}

enum iam_err
iam_get_session_token(struct iam *x, struct buf *res)
{
    struct iam_session_op op = {.x = x};
    struct str dur = iam_arg(x, "DurationSeconds"), code = iam_arg(x, "TokenCode");
    struct iam_creds cr;
    unsigned long long secs = 43200;
    enum iam_err err = IAM_E_OK;

    if (x->r->key->expires_ms > 0)
        return iam_fail(x, IAM_E_ACCESS_DENIED,
                        "Cannot call GetSessionToken with session credentials");
    if (dur.p != NULL && (str_to_u64(dur, &secs) < 0 || secs < 900 || secs > 129600))
        return iam_invalid(x, "durationSeconds", dur, "have value between 900 and 129600");
    /* AWS: sessions of the account root last at most an hour; a longer
     * request is cut to one hour rather than refused. */
    if (x->caller.user_id == 0 && secs > 3600)
        secs = 3600;
    op.serial = iam_arg(x, "SerialNumber");
    if (op.serial.p != NULL || code.p != NULL) {
        if (op.serial.p == NULL)
            return iam_invalid(x, "serialNumber", op.serial, "");
        err = iam_check_serial(x, op.serial);
        if (err == IAM_E_OK)
            err = iam_get_code(x, "TokenCode", "tokenCode", &op.code);
        if (err != IAM_E_OK)
            return err;
        op.with_mfa = true;
    }
    err = iam_session_new(x, &cr, &op.k);
    if (err != IAM_E_OK)
        goto out;
    op.k.account_id = x->r->account_id;
    op.k.user_id = x->caller.user_id;
    op.k.expires_ms = x->now_ms + (int64_t)secs * 1000;
    err = iam_run_write(x, iam_session_write, &op, &op.err);
    if (op.with_mfa)
        mfa_count(op.mfa_result != NULL ? op.mfa_result : "error");
    if (err == IAM_E_OK && iam_put_credentials(x, res, &cr, &op.k) != 0)
        err = IAM_E_INTERNAL;
out:
    iam_creds_wipe(&cr);
    return err;
}

enum iam_err
iam_get_caller_identity(struct iam *x, struct buf *res)
{
    int rc = xml_elem_c(res, "UserId", iam_principal_id(x, &x->caller));

    rc |= xml_elem_c(res, "Account", x->acct);
    rc |= xml_elem_c(res, "Arn", iam_principal_arn(x, &x->caller));
    return rc != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}
