/* mfa.c -- MFA delete enforcement: parses x-amz-mfa, decides who may use it
 * and checks the code against the device's TOTP state. The read-check-update
 * of a device runs inside one md_write closure on the single writer thread,
 * so two requests carrying the same code cannot both pass. Not here: which
 * requests need MFA (s3_bucket.c, s3_object.c) and device management
 * (iam/iam_mfa.c, adm_mfa.c). */
#include "auth/mfa.h"
#include "common.h"

#include "auth/mfa_dev.h"
#include "auth/totp.h"
#include "store/md.h"
#include "util/log.h"
#include "util/metrics.h"

#include <errno.h>
#include <string.h>

#define SERIAL_MAX 256 /* IAM's upper bound; no lower bound (S3's "20899872" is 8 chars) */

/* AWS: messages of spec-mfa-delete §2 and Coffer's decisions 1, 2 and 8. */
static const char msg_https[] = "Requests that include x-amz-mfa must use HTTPS";
static const char msg_malformed[] = "Mfa header is invalid -- the header should be formatted as "
                                    "{serialNumber}(space){tokenCode}";
/* AWS's own texts for these two tell a user nothing about what to do
 * (issue 16): Coffer keeps the code and the AWS wording, and adds the fix. */
static const char msg_session[] =
    "DevPay and Mfa are mutually exclusive authorization methods: x-amz-mfa cannot be used "
    "with session (temporary) credentials; sign the request with the bucket owner's long-term "
    "root access keys";
static const char msg_required[] = "Mfa Authentication must be used for this request";
static const char msg_not_owner[] = "This operation may only be performed by the bucket owner";
static const char msg_not_root[] =
    "This operation may only be performed by the bucket owner: MFA delete needs the owner "
    "account's root user; sign the request with the root's access keys, not an IAM user's "
    "or a role's";
static const char msg_failed[] =
    "MFA authentication failed: the code is invalid, expired or already used";

#define EVENT_FAILED "mfa.check_failed"

/* One device check, run in the writer thread. The caller is blocked in
 * md_write meanwhile, so the closure may use its arena. */
struct check {
    const struct mfa_req *m;
    struct arena *a;
    struct str serial;
    uint32_t code;
    const char *reason; /* out: NULL when the code was accepted */
    int retry_s;        /* out: when throttled */
};

/* [spec-mfa-delete §1.1, I]: split at the first ASCII space into two
 * non-empty tokens; the second is exactly six digits (so a second space,
 * or a trailing token, makes it malformed). */
static int
parse_header(struct str h, struct str *serial, uint32_t *code)
{
    struct str tail;

    if (h.p == NULL || !str_split(h, ' ', serial, &tail))
        return -EINVAL;
    if (serial->n == 0 || serial->n > SERIAL_MAX)
        return -EINVAL;
    return totp_parse_code(tail.p, tail.n, code);
}

static const char *
action_name(const struct mfa_req *m)
{
    return m->action != NULL ? m->action : "request";
}

void
mfa_audit_record(const struct mfa_req *m, int64_t time_ms, const char *event, const char *detail,
                 struct str key, struct str vid, struct md_audit *e)
{
    *e = (struct md_audit){
        .time_ms = time_ms,
        .event = str_c(event),
        .principal = m->principal,
        .bucket = m->bucket,
        .key = key.p != NULL ? key : m->key,
        .version_id = key.p != NULL ? vid : m->version_id,
        .source = str_c(m->source),
        .detail = str_c(detail),
    };
}

static int
append(struct md_conn *c, const struct mfa_req *m, const char *event, const char *detail)
{
    struct md_audit e;

    mfa_audit_record(m, m->now_ms, event, detail, STR_NULL, STR_NULL, &e);
    return md_audit_append(c, &e);
}

struct audit_job {
    const struct mfa_req *m;
    const char *event, *detail;
};

static int
audit_run(struct md_conn *c, void *arg)
{
    struct audit_job *j = arg;

    return append(c, j->m, j->event, j->detail);
}

void
mfa_audit(struct md *md, const struct mfa_req *m, const char *event, const char *detail)
{
    struct audit_job j = {m, event, detail};
    int rc;

    rc = md_write(md, audit_run, &j);
    if (rc < 0)
        log_error("audit: cannot record %s for %.*s: %s", event, STR_FMT(m->bucket), strerror(-rc));
}

/* Only a device's own principal may spend its codes and its failure
 * budget: anyone else naming it (an IAM user with the bucket owner's
 * serial, say) would otherwise lock the owner out of MFA delete with five
 * wrong codes. mfa_require() has already made sure the caller is the
 * bucket owner's root, so there this is the owner's device. */
static bool
device_allowed(const struct check *k, const struct md_mfa_device *d)
{
    return d->is_enabled && d->account_id == k->m->account_id && d->user_id == k->m->user_id;
}

/* Records a failed check. The serial goes into the detail only when it
 * names a stored device: an unknown one is client text that could be a
 * mistyped code. */
static int
audit_failure(struct md_conn *c, struct check *k, const struct md_mfa_device *d)
{
    const char *detail;

    if (d != NULL)
        detail = arena_printf(k->a, "%s: %s (serial %.*s)", action_name(k->m), k->reason,
                              STR_FMT(d->serial));
    else
        detail = arena_printf(k->a, "%s: %s", action_name(k->m), k->reason);
    return append(c, k->m, EVENT_FAILED, detail);
}

static int
check_run(struct md_conn *c, void *arg)
{
    struct check *k = arg;
    struct md_mfa_device d = {0};
    struct totp_state st;
    int rc;

    rc = md_mfa_get(c, k->serial, k->a, &d);
    if (rc == -ENOENT) {
        k->reason = "unknown device";
        return audit_failure(c, k, NULL);
    }
    if (rc < 0)
        goto out;
    if (!device_allowed(k, &d)) {
        if (!d.is_enabled)
            k->reason = "device not enabled";
        else
            k->reason = "not caller's device";
        rc = audit_failure(c, k, &d);
        goto out;
    }
    st = mfa_dev_state(&d);
    rc = totp_verify((const unsigned char *)d.seed.p, d.seed.n, &st, k->m->now_ms / 1000, k->code,
                     &k->retry_s);
    if (rc == -EAGAIN) {
        /* Throttled checks leave the state alone (the window is not
         * extended); only the audit row is written. */
        k->reason = "throttled";
        rc = audit_failure(c, k, &d);
        goto out;
    }
    k->reason = rc == 0 ? NULL : rc == -EALREADY ? "replayed code" : "wrong code";
    /* Burned step on success, counters on failure: committed either way.
     * The closure returns 0 on a failed check so that they are. */
    rc = mfa_dev_save_state(c, &d, &st);
    if (rc < 0 || k->reason == NULL)
        goto out;
    rc = audit_failure(c, k, &d);
out:
    mfa_dev_wipe_seed(&d);
    return rc;
}

const struct mx_family mfa_checks_total = {
    .name = "coffer_mfa_checks_total",
    .help = "MFA code checks (x-amz-mfa, STS), by result.",
    .type = MX_COUNTER,
    .label = {"result", NULL},
};

void
mfa_count(const char *result)
{
    mx_add(&mfa_checks_total, result, NULL, 1);
}

/* The counted result of a check whose closure said why it failed. */
static const char *
check_result(const char *reason)
{
    if (reason == NULL)
        return "ok";
    if (strcmp(reason, "throttled") == 0)
        return "throttled";
    if (strcmp(reason, "replayed code") == 0)
        return "replayed";
    if (strcmp(reason, "wrong code") == 0)
        return "invalid";
    return "unknown_device";
}

/* A failed store write as auth/ reports it (s3_err_from_errno()'s classes). */
static enum auth_err
store_err(int rc)
{
    switch (rc) {
    case -ENOSPC:
    case -EDQUOT:
        return AUTH_E_STORAGE_FULL;
    case -EBUSY:
        return AUTH_E_SLOW_DOWN;
    case -E2BIG:
        return AUTH_E_ENTITY_TOO_LARGE;
    default:
        return AUTH_E_INTERNAL;
    }
}

/* Runs the check and maps its outcome. A valid code counts only once the
 * burned step is durable (md_write returned 0). */
static enum auth_err
check_code(struct md *md, const struct mfa_req *m, struct arena *a, struct mfa_err *e)
{
    struct check k = {.m = m, .a = a};
    int rc;

    if (parse_header(m->header, &k.serial, &k.code) < 0)
        return AUTH_E_INTERNAL; /* mfa_precheck passed, so this cannot happen */
    rc = md_write(md, check_run, &k);
    k.code = 0;
    mfa_count(rc < 0 ? "error" : check_result(k.reason));
    if (rc < 0) {
        log_error("mfa: device check for %.*s failed: %s", STR_FMT(m->bucket), strerror(-rc));
        return store_err(rc); /* 507 on a full disk, 503 if meta.db is locked */
    }
    if (k.reason == NULL)
        return AUTH_E_OK;
    if (k.retry_s > 0)
        e->msg = arena_printf(a, "Too many failed MFA attempts; retry in %d seconds", k.retry_s);
    else
        e->msg = msg_failed;
    return AUTH_E_ACCESS_DENIED;
}

enum auth_err
mfa_precheck(const struct mfa_req *m, struct arena *a, struct mfa_err *e)
{
    struct str serial;
    uint32_t code;

    *e = (struct mfa_err){0};
    if (m->header.p == NULL)
        return AUTH_E_OK;
    /* AWS: order of checks [spec-mfa-delete §1.6]: TLS (decision 1), format,
     * then the session-token conflict right after the format (§1.6 step 6). */
    if (!m->is_tls) {
        e->msg = msg_https;
        return AUTH_E_INVALID_REQUEST;
    }
    if (parse_header(m->header, &serial, &code) < 0) {
        e->msg = msg_malformed;
        e->arg_name = "x-amz-mfa";
        e->arg_value = arena_cstr(a, m->header);
        return AUTH_E_INVALID_ARGUMENT;
    }
    if (m->has_session_token) {
        e->msg = msg_session;
        return AUTH_E_INVALID_REQUEST;
    }
    return AUTH_E_OK;
}

enum auth_err
mfa_precheck_audit(struct md *md, const struct mfa_req *m, struct arena *a, struct mfa_err *e)
{
    enum auth_err err = mfa_precheck(m, a, e);
    const char *why;

    if (err == AUTH_E_OK)
        return err;
    /* The header's value is never copied: it carries a code. */
    why = e->msg == msg_https ? "over HTTP" : e->msg == msg_session ? "session credentials"
                                                                      : "malformed header";
    mfa_count(e->msg == msg_https     ? "insecure"
              : e->msg == msg_session ? "session_credentials"
                                      : "malformed");
    mfa_audit(md, m, EVENT_FAILED, arena_printf(a, "%s: %s", action_name(m), why));
    return err;
}

enum auth_err
mfa_require(struct md *md, const struct mfa_req *m, struct arena *a, struct mfa_err *e)
{
    enum auth_err err;

    err = mfa_precheck_audit(md, m, a, e);
    if (err != AUTH_E_OK)
        return err;
    /* AWS: absent header before the principal check; an IAM user without a
     * header gets "Mfa Authentication must be used" [spec-mfa-delete §1.6]. */
    if (m->header.p == NULL) {
        mfa_count("missing");
        mfa_audit(md, m, EVENT_FAILED, arena_printf(a, "%s: missing header", action_name(m)));
        e->msg = msg_required;
        return AUTH_E_ACCESS_DENIED;
    }
    if (m->account_id != m->bucket_owner_id || m->user_id != 0) {
        mfa_count("not_owner");
        mfa_audit(md, m, EVENT_FAILED, arena_printf(a, "%s: not bucket owner", action_name(m)));
        e->msg = m->account_id == m->bucket_owner_id ? msg_not_root : msg_not_owner;
        return AUTH_E_ACCESS_DENIED;
    }
    return check_code(md, m, a, e);
}

enum auth_err
mfa_verify_present(struct md *md, const struct mfa_req *m, struct arena *a, struct mfa_err *e)
{
    enum auth_err err;

    err = mfa_precheck_audit(md, m, a, e);
    if (err != AUTH_E_OK || m->header.p == NULL)
        return err;
    return check_code(md, m, a, e);
}
