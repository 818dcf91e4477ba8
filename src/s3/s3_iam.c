/* s3_iam.c -- the IAM (2010-05-08) and STS (2011-06-15) query APIs on the S3
 * endpoint: form parameters, SigV4 over the form body, the action table, and
 * the IAM/STS XML responses. s3_route.c hands over any request signed for
 * service iam or sts. This file renders its own errors, the one exception to
 * "only s3_route.c renders errors": IAM and STS clients parse
 * <ErrorResponse><Error><Type/><Code/><Message/></Error>, not S3's <Error>.
 * Not here: policies, groups, roles, AssumeRole; MFA delete enforcement
 * (auth/mfa.c); TOTP arithmetic (auth/totp.c). Seeds and codes are never
 * logged or echoed; seeds leave only in the CreateVirtualMFADevice reply. */
#include "common.h"
#include "s3/s3_int.h"
#include "auth/qr.h"
#include "auth/totp.h"
#include "crypto/hash.h"
#include "util/enc.h"
#include "util/log.h"
#include "util/tm.h"
#include "util/xmalloc.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IAM_MAX_BODY (64 * 1024)       /* form body cap; read before any allocation */
#define IAM_MAX_PARAMS 512             /* form and query parameters together */
#define IAM_MAX_REPLY (8 * 1024 * 1024) /* a 1000-item listing is well under 1 MiB */
#define IAM_MAX_DEVICES_PER_PRINCIPAL 8 /* AWS: up to 8 MFA devices per user [§7.4] */
#define IAM_MAX_DEVICES_PER_ACCOUNT 256 /* created but not yet enabled ones included */
#define IAM_MAX_KEYS_PER_PRINCIPAL 2   /* AWS AccessKeysPerUser */
#define IAM_MAX_USERS 5000             /* AWS UsersPerAccount */
#define IAM_MAX_TAGS 50
#define IAM_SEED_BYTES 20              /* 160-bit seeds, as AWS issues */
#define IAM_KEY_ID_LEN 20
#define IAM_SECRET_LEN 40
#define IAM_TOKEN_BYTES 48             /* 64 base64url characters */
#define IAM_QR_SCALE 6
#define IAM_QR_BORDER 4

#define IAM_XMLNS "https://iam.amazonaws.com/doc/2010-05-08/"
#define STS_XMLNS "https://sts.amazonaws.com/doc/2011-06-15/"
#define IAM_VERSION "2010-05-08"
#define STS_VERSION "2011-06-15"

/* IAM/STS errors: status, Code, default Message (never empty: the AWS CLI
 * crashes on an empty Message). */
#define IAM_ERRORS(X)                                                                              \
    X(NO_SUCH_ENTITY, 404, "NoSuchEntity", "The request was rejected because it referenced an "    \
                                           "entity that does not exist.")                          \
    X(ENTITY_EXISTS, 409, "EntityAlreadyExists", "The request was rejected because it attempted "  \
                                                 "to create a resource that already exists.")      \
    X(DELETE_CONFLICT, 409, "DeleteConflict", "The request was rejected because it attempted to "  \
                                              "delete a resource that has attached subordinate "   \
                                              "entities.")                                         \
    X(INVALID_AUTH_CODE, 403, "InvalidAuthenticationCode",                                         \
      "Authentication code for device is not valid.")                                              \
    X(LIMIT_EXCEEDED, 409, "LimitExceeded", "The request was rejected because it attempted to "    \
                                            "create resources beyond the current account limits.") \
    X(INVALID_INPUT, 400, "InvalidInput", "The request was rejected because an invalid or "        \
                                          "out-of-range value was supplied for an input "          \
                                          "parameter.")                                            \
    X(VALIDATION, 400, "ValidationError", "The input fails to satisfy the constraints specified "  \
                                          "by the service.")                                       \
    X(ACCESS_DENIED, 403, "AccessDenied", "You are not authorized to perform this operation.")     \
    X(INVALID_CLIENT_TOKEN, 403, "InvalidClientTokenId",                                           \
      "The security token included in the request is invalid.")                                   \
    X(SIGNATURE, 403, "SignatureDoesNotMatch",                                                     \
      "The request signature we calculated does not match the signature you provided. Check "     \
      "your AWS Secret Access Key and signing method. Consult the service documentation for "      \
      "details.")                                                                                  \
    X(EXPIRED_TOKEN, 403, "ExpiredToken", "The security token included in the request is "         \
                                          "expired")                                               \
    X(INCOMPLETE_SIGNATURE, 400, "IncompleteSignature",                                            \
      "The request signature does not conform to AWS standards.")                                  \
    X(MALFORMED_QUERY, 404, "MalformedQueryString", "The query string contains a syntax error.")   \
    X(MISSING_ACTION, 400, "MissingAction", "The request is missing an action or a required "      \
                                            "parameter.")                                          \
    X(INVALID_ACTION, 400, "InvalidAction", "The action or operation requested is invalid. "       \
                                            "Verify that the action is typed correctly.")          \
    X(INVALID_PARAMETER, 400, "InvalidParameterValue", "An invalid or out-of-range value was "     \
                                                       "supplied for the input parameter.")        \
    X(INVALID_REQUEST, 400, "InvalidRequest", "The request must use HTTPS.")                         \
    X(TOO_LARGE, 413, "RequestEntityTooLarge", "The request body must not exceed 65536 bytes.")    \
    X(INTERNAL, 500, "ServiceFailure", "The request processing has failed because of an unknown "  \
                                       "error, exception or failure.")

enum iam_err {
    IE_OK = 0,
#define X(name, status, code, msg) IE_##name,
    IAM_ERRORS(X)
#undef X
};

static const struct {
    int status;
    const char *code, *msg;
} iam_errs[] = {
    [IE_OK] = {200, "", ""},
#define X(name, status, code, msg) [IE_##name] = {status, code, msg},
    IAM_ERRORS(X)
#undef X
};

/* A principal of the caller's account: its root (user_id 0) or an IAM user. */
struct principal {
    int64_t user_id;
    /* IAM user name; for root, the account name. AWS lists root's devices
     * with the root ARN and no user name; Coffer shows the account name
     * instead, because MFADevice.UserName is a required member and because
     * the account name (or "root") is how these APIs address root. */
    struct str name;
    int64_t created_ms;
};

/* One IAM/STS request. */
struct iam {
    struct s3_req *q;
    struct arena *a;
    bool is_sts;
    struct s3_param *params; /* body parameters first, then the query's */
    size_t n_params;
    const char *msg; /* error detail; overrides the table text */
    int64_t now_ms;
    char acct[24];   /* the 12-digit account number */
    struct principal caller;
    const char *label; /* audit principal: "account:A" or "account:A/user:U" */
};

struct action {
    const char *name;
    bool is_sts;
    bool has_result; /* false: the response has no <{Action}Result> */
    bool needs_tls;  /* the request carries an MFA code or the reply a secret or seed */
    enum iam_err (*fn)(struct iam *x, struct buf *res);
};

/* ---- small helpers ----------------------------------------------------- */

static struct str
arg(const struct iam *x, const char *name)
{
    for (size_t i = 0; i < x->n_params; i++)
        if (str_eq_c(x->params[i].name, name))
            return x->params[i].value;
    return STR_NULL;
}

/* A client value safe to quote in a message: at most 128 bytes, controls
 * and non-ASCII bytes shown as '?', so the error document always parses. */
static const char *
shown(struct iam *x, struct str v)
{
    size_t n = v.n < 128 ? v.n : 128;
    char *s = arena_alloc(x->a, n + 1);

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v.p[i];
        s[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    s[n] = '\0';
    return s;
}

static enum iam_err
fail(struct iam *x, enum iam_err err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static enum iam_err
fail(struct iam *x, enum iam_err err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    x->msg = arena_vprintf(x->a, fmt, ap);
    va_end(ap);
    return err;
}

/* AWS's wording for a parameter that breaks its model constraint. */
static enum iam_err
invalid(struct iam *x, const char *field, struct str v, const char *constraint)
{
    if (v.p == NULL)
        return fail(x, IE_VALIDATION,
                    "1 validation error detected: Value null at '%s' failed to satisfy "
                    "constraint: Member must not be null",
                    field);
    return fail(x, IE_VALIDATION,
                "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: "
                "Member must %s",
                shown(x, v), field, constraint);
}

/* IAM names: [\w+=,.@-]{1,max}. */
static bool
name_ok(struct str s, size_t max)
{
    if (s.n == 0 || s.n > max)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr("_+=,.@-", c) != NULL))
            return false;
    }
    return true;
}

static enum iam_err
check_name(struct iam *x, struct str v, const char *field, size_t max, bool required)
{
    if (v.p == NULL)
        return required ? invalid(x, field, v, "") : IE_OK;
    if (v.n == 0 || v.n > max)
        return invalid(x, field, v,
                       arena_printf(x->a, "have length between 1 and %zu", max));
    if (!name_ok(v, max))
        return invalid(x, field, v, "satisfy regular expression pattern: [\\w+=,.@-]+");
    return IE_OK;
}

/* Serial numbers: [\w+=/:,.@-]{1,256}. IAM's minimum is 9, but S3's own
 * example hardware serial has 8 characters [spec-mfa-delete §1.1]. */
static enum iam_err
check_serial(struct iam *x, struct str v)
{
    if (v.p == NULL)
        return invalid(x, "serialNumber", v, "");
    if (v.n == 0 || v.n > 256)
        return invalid(x, "serialNumber", v, "have length between 9 and 256");
    for (size_t i = 0; i < v.n; i++) {
        char c = v.p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr("_+=/:,.@-", c) != NULL))
            return invalid(x, "serialNumber", v,
                           "satisfy regular expression pattern: [\\w+=/:,.@-]+");
    }
    return IE_OK;
}

/* Paths: "/" or "/" [!-~]+ "/", at most 512 bytes. */
static enum iam_err
check_path(struct iam *x, struct str v)
{
    if (v.n == 0 || v.n > 512)
        return invalid(x, "path", v, "have length between 1 and 512");
    for (size_t i = 0; i < v.n; i++)
        if (v.p[i] < '!' || v.p[i] > '~')
            return invalid(x, "path", v,
                           "satisfy regular expression pattern: "
                           "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)");
    if (v.p[0] != '/' || v.p[v.n - 1] != '/')
        return invalid(x, "path", v,
                       "satisfy regular expression pattern: "
                       "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)");
    return IE_OK;
}

/* Codes: exactly six ASCII digits. Never quoted back. */
static enum iam_err
get_code(struct iam *x, const char *param, const char *field, uint32_t *code)
{
    struct str v = arg(x, param);

    if (v.p == NULL)
        return invalid(x, field, v, "");
    if (totp_parse_code(v.p, v.n, code) < 0)
        return fail(x, IE_VALIDATION,
                    "1 validation error detected: Value at '%s' failed to satisfy constraint: "
                    "Member must be exactly six digits",
                    field);
    return IE_OK;
}

/* Tags.member.N.Key / .Value: counted and checked, not stored. */
static enum iam_err
check_tags(struct iam *x)
{
    size_t n = 0;

    for (size_t i = 0; i < x->n_params; i++) {
        struct str name = x->params[i].name;
        if (!str_has_prefix(name, "Tags.member.") || name.n < 4 ||
            memcmp(name.p + name.n - 4, ".Key", 4) != 0)
            continue;
        n++;
        if (x->params[i].value.n == 0 || x->params[i].value.n > 128)
            return invalid(x, "tags.member.key", x->params[i].value,
                           "have length between 1 and 128");
    }
    if (n > IAM_MAX_TAGS)
        return fail(x, IE_VALIDATION,
                    "1 validation error detected: Value at 'tags' failed to satisfy constraint: "
                    "Member must have length less than or equal to 50");
    return IE_OK;
}

/* MaxItems (1..1000, default 100) and Marker (1..320 bytes). */
static enum iam_err
get_paging(struct iam *x, size_t *max_items, struct str *marker)
{
    struct str v = arg(x, "MaxItems");
    unsigned long long n;

    *max_items = 100;
    if (v.p != NULL) {
        if (str_to_u64(v, &n) < 0 || n < 1 || n > 1000)
            return invalid(x, "maxItems", v, "have value between 1 and 1000");
        *max_items = (size_t)n;
    }
    *marker = arg(x, "Marker");
    if (marker->p != NULL && (marker->n == 0 || marker->n > 320))
        return invalid(x, "marker", *marker, "have length between 1 and 320");
    return IE_OK;
}

static int
str_cmp(struct str a, struct str b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.p, b.p, n) : 0;

    if (c != 0)
        return c;
    return a.n < b.n ? -1 : a.n > b.n;
}

/* Index of the first item after marker, in a list sorted by key. */
static size_t
page_start(const void *items, size_t n, size_t size, size_t key_off, struct str marker)
{
    if (marker.p == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const struct str *k = (const struct str *)((const char *)items + i * size + key_off);
        if (str_cmp(*k, marker) > 0)
            return i;
    }
    return n;
}

static const char *
iso(struct iam *x, int64_t ms)
{
    char *s = arena_alloc(x->a, 32);

    tm_iso8601(ms, s);
    return s;
}

static const char *
principal_arn(struct iam *x, const struct principal *p)
{
    if (p->user_id == 0)
        return arena_printf(x->a, "arn:aws:iam::%s:root", x->acct);
    return arena_printf(x->a, "arn:aws:iam::%s:user/%.*s", x->acct, STR_FMT(p->name));
}

/* AWS: root's UserId is the account number; IAM users get an "AIDA" id. */
static const char *
principal_id(struct iam *x, const struct principal *p)
{
    if (p->user_id == 0)
        return x->acct;
    return arena_printf(x->a, "AIDA%017lld", (long long)p->user_id);
}

static const char *
principal_label(struct iam *x, const struct principal *p)
{
    if (p->user_id == 0)
        return arena_printf(x->a, "account:%.*s", STR_FMT(x->q->account.name));
    return arena_printf(x->a, "account:%.*s/user:%.*s", STR_FMT(x->q->account.name),
                        STR_FMT(p->name));
}

static void
root_principal(struct iam *x, struct principal *p)
{
    p->user_id = 0;
    p->name = x->q->account.name;
    p->created_ms = x->q->account.created_ms;
}

static enum iam_err
principal_by_id(struct iam *x, int64_t user_id, struct principal *p)
{
    struct md_user u;
    int rc;

    if (user_id == 0) {
        root_principal(x, p);
        return IE_OK;
    }
    rc = md_user_get(md_reader(x->q->srv->md), user_id, x->a, &u);
    if (rc < 0 || u.account_id != x->q->account_id) {
        /* A device assigned to a deleted user cannot exist (DeleteConflict),
         * so this is a store problem. */
        return IE_INTERNAL;
    }
    p->user_id = u.id;
    p->name = u.name;
    p->created_ms = u.created_ms;
    return IE_OK;
}

/* UserName -> principal of the caller's account. Absent: the caller. An IAM
 * user of that name wins; otherwise "root" or the account name address the
 * root principal (IAM's EnableMFADevice requires a UserName, which root
 * does not have on AWS). */
static enum iam_err
resolve_user(struct iam *x, struct str name, bool required, struct principal *out)
{
    struct md_user u;
    enum iam_err err;
    int rc;

    if (name.p == NULL && !required) {
        *out = x->caller;
        return IE_OK;
    }
    err = check_name(x, name, "userName", 128, true);
    if (err != IE_OK)
        return err;
    rc = md_user_get_by_name(md_reader(x->q->srv->md), x->q->account_id, name, x->a, &u);
    if (rc == 0) {
        out->user_id = u.id;
        out->name = u.name;
        out->created_ms = u.created_ms;
        return IE_OK;
    }
    if (rc != -ENOENT)
        return IE_INTERNAL;
    if (str_eq_c(name, "root") || str_eq(name, x->q->account.name)) {
        root_principal(x, out);
        return IE_OK;
    }
    return fail(x, IE_NO_SUCH_ENTITY, "The user with name %s cannot be found.", shown(x, name));
}

static enum iam_err
denied(struct iam *x, const char *action, const char *resource)
{
    return fail(x, IE_ACCESS_DENIED,
                "User: %s is not authorized to perform: iam:%s on resource: %s",
                principal_arn(x, &x->caller), action, resource);
}

/* Root manages every principal of its account; an IAM user only itself. */
static enum iam_err
may_manage(struct iam *x, const char *action, const struct principal *target)
{
    if (x->caller.user_id == 0 || x->caller.user_id == target->user_id)
        return IE_OK;
    return denied(x, action, principal_arn(x, target));
}

static enum iam_err
require_root(struct iam *x, const char *action, const char *resource)
{
    if (x->caller.user_id == 0)
        return IE_OK;
    return denied(x, action, resource);
}

/* Coffer's decision: once a principal has an enabled MFA device, adding or
 * removing its devices needs credentials that were themselves MFA-verified
 * (GetSessionToken with a code). Otherwise stolen long-term keys could swap
 * root's device for one of their own and defeat MFA delete. The admin CLI
 * (`coffer mfa deactivate`) remains the way back when a device is lost. */
static bool
caller_mfa_verified(const struct iam *x)
{
    return x->q->key_info.expires_ms > 0 && x->q->key_info.mfa_auth_ms > 0;
}

static const char *const mfa_session_msg =
    "This principal has an enabled MFA device: adding or removing its MFA devices requires "
    "credentials from GetSessionToken with SerialNumber and TokenCode (or the coffer admin CLI).";

static struct totp_state
dev_state(const struct md_mfa_device *d)
{
    struct totp_state st = {
        .last_step = d->last_step,
        .offset_steps = d->offset_steps,
        .fail_start_s = d->fail_start_s,
        .fail_count = d->fail_count,
    };
    return st;
}

static int
save_state(struct md_conn *c, const struct md_mfa_device *d, const struct totp_state *st)
{
    return md_mfa_set_state(c, d->id, st->last_step, st->offset_steps, st->fail_start_s,
                            st->fail_count);
}

static void
wipe_seed(struct md_mfa_device *d)
{
    if (d->seed.p != NULL && d->seed.n > 0)
        explicit_bzero((void *)d->seed.p, d->seed.n);
}

static int
audit(struct md_conn *c, struct iam *x, const char *event, const char *detail)
{
    struct md_audit e = {
        .time_ms = x->now_ms,
        .event = str_c(event),
        .principal = str_c(x->label),
        .bucket = STR_NULL,
        .key = STR_NULL,
        .version_id = STR_NULL,
        .source = str_c(x->q->http->peer),
        .detail = str_c(detail),
    };
    return md_audit_append(c, &e);
}

/* md_write() closures return 0 to commit, -ECANCELED to keep nothing (the
 * reason in their err field), or another -errno for a store failure. */
static enum iam_err
run_write(struct iam *x, md_write_fn fn, void *arg, const enum iam_err *err)
{
    int rc = md_write(x->q->srv->md, fn, arg);

    if (rc == -ECANCELED || rc == 0)
        return *err;
    log_error("iam: store write failed (%d), request %s", rc, x->q->http->request_id);
    return IE_INTERNAL;
}

static int
rand_chars(char *out, size_t n, const char *alphabet)
{
    size_t an = strlen(alphabet), i = 0;
    unsigned char r[64];
    int rc = 0;

    /* Rejection sampling keeps the characters uniform. */
    size_t limit = 256 - 256 % an;
    while (i < n) {
        rc = rand_bytes(r, sizeof(r));
        if (rc < 0)
            break;
        for (size_t j = 0; j < sizeof(r) && i < n; j++)
            if (r[j] < limit)
                out[i++] = alphabet[r[j] % an];
    }
    explicit_bzero(r, sizeof(r));
    out[n] = '\0';
    return rc;
}

/* ---- XML pieces -------------------------------------------------------- */

static int
put_user(struct iam *x, struct buf *b, const char *tag, const struct principal *p)
{
    int rc = xml_open(b, tag);

    rc |= xml_elem_c(b, "Path", "/");
    rc |= xml_elem(b, "UserName", p->name);
    rc |= xml_elem_c(b, "UserId", principal_id(x, p));
    rc |= xml_elem_c(b, "Arn", principal_arn(x, p));
    rc |= xml_elem_c(b, "CreateDate", iso(x, p->created_ms));
    rc |= xml_close(b, tag);
    return rc;
}

static int
put_paging(struct buf *b, bool truncated, struct str marker)
{
    int rc = xml_elem_bool(b, "IsTruncated", truncated);

    if (truncated)
        rc |= xml_elem(b, "Marker", marker);
    return rc;
}

/* ---- CreateVirtualMFADevice -------------------------------------------- */

struct create_dev_op {
    struct iam *x;
    struct md_mfa_device d;
    enum iam_err err;
};

static int
create_dev_fn(struct md_conn *c, void *arg)
{
    struct create_dev_op *op = arg;
    struct md_mfa_device *all;
    size_t n;
    int rc;

    rc = md_mfa_list(c, op->d.account_id, -1, op->x->a, &all, &n);
    if (rc < 0)
        return rc;
    if (n >= IAM_MAX_DEVICES_PER_ACCOUNT) {
        op->err = fail(op->x, IE_LIMIT_EXCEEDED,
                       "Cannot exceed quota for MFA devices per account: %d",
                       IAM_MAX_DEVICES_PER_ACCOUNT);
        return -ECANCELED;
    }
    rc = md_mfa_create(c, &op->d);
    if (rc == -EEXIST) {
        op->err = fail(op->x, IE_ENTITY_EXISTS,
                       "MFADevice entity at the same path and name already exists.");
        return -ECANCELED;
    }
    if (rc < 0)
        return rc;
    return audit(c, op->x, "mfa.created",
                 arena_printf(op->x->a, "CreateVirtualMFADevice %.*s (unassigned)",
                              STR_FMT(op->d.serial)));
}

static enum iam_err
create_virtual_mfa_device(struct iam *x, struct buf *res)
{
    struct str name = arg(x, "VirtualMFADeviceName"), path = arg(x, "Path");
    struct create_dev_op op = {.x = x};
    unsigned char seed[IAM_SEED_BYTES];
    char b32[(IAM_SEED_BYTES * 8 + 4) / 5 + 1];
    char *b64 = NULL;
    struct buf uri, png;
    enum iam_err err;
    size_t b32_n, b64_n = 0;
    int rc;

    buf_init(&uri, 2048);
    buf_init(&png, 1024 * 1024);
    err = check_name(x, name, "virtualMFADeviceName", 226, true);
    if (err == IE_OK && path.p != NULL)
        err = check_path(x, path);
    if (err == IE_OK)
        err = check_tags(x);
    if (err != IE_OK)
        goto out;
    if (path.p == NULL)
        path = STR_LIT("/");
    op.d.serial = str_c(arena_printf(x->a, "arn:aws:iam::%s:mfa%.*s%.*s", x->acct, STR_FMT(path),
                                     STR_FMT(name)));
    if (op.d.serial.n > 256) {
        err = invalid(x, "serialNumber", op.d.serial, "have length less than or equal to 256");
        goto out;
    }
    if (rand_bytes(seed, sizeof(seed)) < 0) {
        err = IE_INTERNAL;
        goto out;
    }
    b32_n = b32_encode(seed, sizeof(seed), b32);
    op.d.account_id = x->q->account_id;
    op.d.user_id = -1;
    op.d.owner_id = x->caller.user_id;
    op.d.name = name;
    op.d.path = path;
    op.d.is_virtual = true;
    op.d.seed = str_make((const char *)seed, sizeof(seed));
    op.d.created_ms = x->now_ms;
    err = run_write(x, create_dev_fn, &op, &op.err);
    if (err != IE_OK)
        goto out;
    /* AWS: the QR encodes otpauth://totp/$virtualMFADeviceName@$AccountName
     * ?secret=$Base32String, AccountName being the user name if set
     * [spec-mfa-delete §7.4]. For root Coffer uses the account name, not
     * AWS's account number: it is what the authenticator app shows. */
    rc = qr_otpauth_uri(name, x->caller.name, str_make(b32, b32_n), &uri);
    if (rc == 0)
        rc = qr_png(buf_str(&uri), IAM_QR_SCALE, IAM_QR_BORDER, &png);
    if (rc < 0) {
        log_error("iam: QR code for a new device failed (%d), request %s", rc,
                  x->q->http->request_id);
        err = IE_INTERNAL;
        goto out;
    }
    /* Both blobs are base64 on the wire: the seed is base64 of its base32
     * text [spec-mfa-delete §7.4]. */
    b64_n = 4 * (((png.n > b32_n ? png.n : b32_n) + 2) / 3) + 1;
    b64 = xmalloc(b64_n);
    rc = xml_open(res, "VirtualMFADevice");
    rc |= xml_elem(res, "SerialNumber", op.d.serial);
    b64_encode(b32, b32_n, b64);
    rc |= xml_elem_c(res, "Base32StringSeed", b64);
    b64_encode(png.p, png.n, b64);
    rc |= xml_elem_c(res, "QRCodePNG", b64);
    rc |= xml_close(res, "VirtualMFADevice");
    if (rc != 0)
        err = IE_INTERNAL;
out:
    explicit_bzero(seed, sizeof(seed));
    explicit_bzero(b32, sizeof(b32));
    if (uri.p != NULL)
        explicit_bzero(uri.p, uri.n);
    if (b64 != NULL)
        explicit_bzero(b64, b64_n);
    free(b64);
    buf_free(&uri);
    buf_free(&png);
    return err;
}

/* ---- EnableMFADevice / ResyncMFADevice / DeactivateMFADevice ----------- */

enum dev_change { DEV_ENABLE, DEV_RESYNC, DEV_DEACTIVATE };

struct dev_op {
    struct iam *x;
    enum dev_change kind;
    struct str serial;
    struct principal target;
    uint32_t code1, code2;
    enum iam_err err;
};

static enum iam_err
no_device(struct iam *x, struct str serial)
{
    return fail(x, IE_NO_SUCH_ENTITY, "MFA device with serial number %s does not exist.",
                shown(x, serial));
}

static int
dev_fn(struct md_conn *c, void *arg)
{
    struct dev_op *op = arg;
    struct iam *x = op->x;
    struct md_mfa_device d = {0};
    struct totp_state st;
    const char *who = principal_label(x, &op->target);
    int rc;

    rc = md_mfa_get(c, op->serial, x->a, &d);
    if (rc == -ENOENT || (rc == 0 && d.account_id != x->q->account_id)) {
        op->err = no_device(x, op->serial);
        rc = -ECANCELED;
        goto out;
    }
    if (rc < 0)
        goto out;
    if (op->kind == DEV_ENABLE) {
        struct md_mfa_device *mine;
        size_t n, n_enabled = 0;
        if (d.is_enabled) {
            op->err = fail(x, IE_ENTITY_EXISTS, "MFA Device is already in use.");
            rc = -ECANCELED;
            goto out;
        }
        rc = md_mfa_list(c, x->q->account_id, op->target.user_id, x->a, &mine, &n);
        if (rc < 0)
            goto out;
        for (size_t i = 0; i < n; i++)
            n_enabled += mine[i].is_enabled && mine[i].user_id == op->target.user_id;
        if (n_enabled >= IAM_MAX_DEVICES_PER_PRINCIPAL) {
            op->err = fail(x, IE_LIMIT_EXCEEDED, "Cannot exceed quota for MFADevicesPerUser: %d",
                           IAM_MAX_DEVICES_PER_PRINCIPAL);
            rc = -ECANCELED;
            goto out;
        }
        if (n_enabled > 0 && !caller_mfa_verified(x)) {
            op->err = fail(x, IE_ACCESS_DENIED, "%s", mfa_session_msg);
            rc = -ECANCELED;
            goto out;
        }
    } else if (!d.is_enabled || d.user_id != op->target.user_id) {
        op->err = no_device(x, op->serial);
        rc = -ECANCELED;
        goto out;
    }
    if (op->kind == DEV_DEACTIVATE) {
        if (!caller_mfa_verified(x)) {
            op->err = fail(x, IE_ACCESS_DENIED, "%s", mfa_session_msg);
            rc = -ECANCELED;
            goto out;
        }
        rc = md_mfa_set_enabled(c, d.id, false, -1, x->now_ms);
        if (rc == 0)
            rc = audit(c, x, "mfa.deactivated",
                       arena_printf(x->a, "DeactivateMFADevice %.*s of %s", STR_FMT(d.serial),
                                    who));
        goto out;
    }
    st = dev_state(&d);
    if (op->kind == DEV_ENABLE)
        rc = totp_enable((const unsigned char *)d.seed.p, d.seed.n, &st, x->now_ms / 1000,
                         op->code1, op->code2);
    else
        rc = totp_resync((const unsigned char *)d.seed.p, d.seed.n, &st, x->now_ms / 1000,
                         op->code1, op->code2);
    if (rc < 0) {
        /* Failures are recorded (and committed) for the audit log. */
        op->err = fail(x, IE_INVALID_AUTH_CODE, "Authentication code for device is not valid.");
        rc = audit(c, x, "mfa.check_failed",
                   arena_printf(x->a, "%s %.*s for %s: authentication codes not valid",
                                op->kind == DEV_ENABLE ? "EnableMFADevice" : "ResyncMFADevice",
                                STR_FMT(d.serial), who));
        goto out;
    }
    rc = save_state(c, &d, &st);
    if (rc < 0)
        goto out;
    if (op->kind == DEV_ENABLE) {
        rc = md_mfa_set_enabled(c, d.id, true, op->target.user_id, x->now_ms);
        if (rc == 0)
            rc = audit(c, x, "mfa.enabled",
                       arena_printf(x->a, "EnableMFADevice %.*s for %s", STR_FMT(d.serial), who));
    } else {
        rc = audit(c, x, "mfa.resynced",
                   arena_printf(x->a, "ResyncMFADevice %.*s of %s", STR_FMT(d.serial), who));
    }
out:
    wipe_seed(&d);
    return rc;
}

static enum iam_err
change_device(struct iam *x, enum dev_change kind, const char *action)
{
    struct dev_op op = {.x = x, .kind = kind, .serial = arg(x, "SerialNumber")};
    enum iam_err err;

    /* botocore requires UserName for Enable and Resync; Coffer defaults it
     * to the caller, as DeactivateMFADevice does. */
    err = resolve_user(x, arg(x, "UserName"), false, &op.target);
    if (err == IE_OK)
        err = check_serial(x, op.serial);
    if (err == IE_OK && kind != DEV_DEACTIVATE)
        err = get_code(x, "AuthenticationCode1", "authenticationCode1", &op.code1);
    if (err == IE_OK && kind != DEV_DEACTIVATE)
        err = get_code(x, "AuthenticationCode2", "authenticationCode2", &op.code2);
    if (err == IE_OK)
        err = may_manage(x, action, &op.target);
    if (err != IE_OK)
        return err;
    return run_write(x, dev_fn, &op, &op.err);
}

static enum iam_err
enable_mfa_device(struct iam *x, struct buf *res)
{
    (void)res;
    return change_device(x, DEV_ENABLE, "EnableMFADevice");
}

static enum iam_err
resync_mfa_device(struct iam *x, struct buf *res)
{
    (void)res;
    return change_device(x, DEV_RESYNC, "ResyncMFADevice");
}

static enum iam_err
deactivate_mfa_device(struct iam *x, struct buf *res)
{
    (void)res;
    return change_device(x, DEV_DEACTIVATE, "DeactivateMFADevice");
}

/* ---- DeleteVirtualMFADevice -------------------------------------------- */

struct delete_dev_op {
    struct iam *x;
    struct str serial;
    enum iam_err err;
};

static int
delete_dev_fn(struct md_conn *c, void *arg)
{
    struct delete_dev_op *op = arg;
    struct md_mfa_device d = {0};
    int rc;

    rc = md_mfa_get(c, op->serial, op->x->a, &d);
    wipe_seed(&d);
    if (rc == -ENOENT || (rc == 0 && (d.account_id != op->x->q->account_id || !d.is_virtual))) {
        op->err = fail(op->x, IE_NO_SUCH_ENTITY,
                       "VirtualMFADevice with serial number %s does not exist.",
                       shown(op->x, op->serial));
        return -ECANCELED;
    }
    if (rc < 0)
        return rc;
    /* Only the device's owner (its creator, or the principal it was last
     * assigned to) or root may delete it: an IAM user deleting root's free
     * device could re-create its serial with a seed of his own. */
    if (op->x->caller.user_id != 0 && d.owner_id != op->x->caller.user_id) {
        op->err = denied(op->x, "DeleteVirtualMFADevice", shown(op->x, d.serial));
        return -ECANCELED;
    }
    if (d.is_enabled) {
        op->err = fail(op->x, IE_DELETE_CONFLICT,
                       "MFA device is still in use: deactivate it before deleting it.");
        return -ECANCELED;
    }
    rc = md_mfa_delete(c, d.id);
    if (rc == 0)
        rc = audit(c, op->x, "mfa.deleted",
                   arena_printf(op->x->a, "DeleteVirtualMFADevice %.*s", STR_FMT(d.serial)));
    return rc;
}

static enum iam_err
delete_virtual_mfa_device(struct iam *x, struct buf *res)
{
    struct delete_dev_op op = {.x = x, .serial = arg(x, "SerialNumber")};
    enum iam_err err;

    (void)res;
    err = check_serial(x, op.serial);
    if (err != IE_OK)
        return err;
    return run_write(x, delete_dev_fn, &op, &op.err);
}

/* ---- ListMFADevices / ListVirtualMFADevices ---------------------------- */

static enum iam_err
list_mfa_devices(struct iam *x, struct buf *res)
{
    struct principal target;
    struct md_mfa_device *all, *mine;
    struct str marker;
    size_t n, n_mine = 0, max, start, i;
    enum iam_err err;
    int rc;

    err = resolve_user(x, arg(x, "UserName"), false, &target);
    if (err == IE_OK)
        err = get_paging(x, &max, &marker);
    if (err == IE_OK)
        err = may_manage(x, "ListMFADevices", &target);
    if (err != IE_OK)
        return err;
    rc = md_mfa_list(md_reader(x->q->srv->md), x->q->account_id, target.user_id, x->a, &all, &n);
    if (rc < 0)
        return IE_INTERNAL;
    mine = arena_alloc(x->a, (n ? n : 1) * sizeof(*mine));
    for (i = 0; i < n; i++)
        if (all[i].is_enabled && all[i].user_id == target.user_id)
            mine[n_mine++] = all[i];
    start = page_start(mine, n_mine, sizeof(*mine), offsetof(struct md_mfa_device, serial),
                       marker);
    rc = xml_open(res, "MFADevices");
    for (i = start; i < n_mine && i - start < max; i++) {
        rc |= xml_open(res, "member");
        rc |= xml_elem(res, "UserName", target.name);
        rc |= xml_elem(res, "SerialNumber", mine[i].serial);
        rc |= xml_elem_c(res, "EnableDate", iso(x, mine[i].enabled_ms));
        rc |= xml_close(res, "member");
    }
    rc |= xml_close(res, "MFADevices");
    rc |= put_paging(res, i < n_mine, i > 0 ? mine[i - 1].serial : STR_NULL);
    return rc != 0 ? IE_INTERNAL : IE_OK;
}

static enum iam_err
list_virtual_mfa_devices(struct iam *x, struct buf *res)
{
    struct str status = arg(x, "AssignmentStatus"), marker;
    struct md_mfa_device *all, *sel;
    size_t n, n_sel = 0, max, start, i;
    enum iam_err err;
    int want = 0; /* 0 any, 1 assigned, 2 unassigned */
    int rc;

    if (status.p != NULL) {
        if (str_eq_c(status, "Assigned"))
            want = 1;
        else if (str_eq_c(status, "Unassigned"))
            want = 2;
        else if (!str_eq_c(status, "Any"))
            return invalid(x, "assignmentStatus", status,
                           "satisfy enum value set: [Any, Assigned, Unassigned]");
    }
    err = get_paging(x, &max, &marker);
    if (err != IE_OK)
        return err;
    rc = md_mfa_list(md_reader(x->q->srv->md), x->q->account_id, -1, x->a, &all, &n);
    if (rc < 0)
        return IE_INTERNAL;
    sel = arena_alloc(x->a, (n ? n : 1) * sizeof(*sel));
    for (i = 0; i < n; i++) {
        bool assigned = all[i].is_enabled;
        if (!all[i].is_virtual || (want == 1 && !assigned) || (want == 2 && assigned))
            continue;
        /* An IAM user sees the free devices and its own, not other users'. */
        if (x->caller.user_id != 0 && assigned && all[i].user_id != x->caller.user_id)
            continue;
        sel[n_sel++] = all[i];
    }
    start = page_start(sel, n_sel, sizeof(*sel), offsetof(struct md_mfa_device, serial), marker);
    rc = xml_open(res, "VirtualMFADevices");
    for (i = start; i < n_sel && i - start < max; i++) {
        rc |= xml_open(res, "member");
        rc |= xml_elem(res, "SerialNumber", sel[i].serial);
        if (sel[i].is_enabled) {
            struct principal p;
            err = principal_by_id(x, sel[i].user_id, &p);
            if (err != IE_OK)
                return err;
            rc |= put_user(x, res, "User", &p);
            rc |= xml_elem_c(res, "EnableDate", iso(x, sel[i].enabled_ms));
        }
        rc |= xml_close(res, "member");
    }
    rc |= xml_close(res, "VirtualMFADevices");
    rc |= put_paging(res, i < n_sel, i > 0 ? sel[i - 1].serial : STR_NULL);
    return rc != 0 ? IE_INTERNAL : IE_OK;
}

/* ---- users ------------------------------------------------------------- */

struct user_op {
    struct iam *x;
    struct str name;
    int64_t id;
    enum iam_err err;
};

static int
create_user_fn(struct md_conn *c, void *arg)
{
    struct user_op *op = arg;
    struct md_user *users;
    size_t n;
    int rc;

    rc = md_user_list(c, op->x->q->account_id, op->x->a, &users, &n);
    if (rc < 0)
        return rc;
    if (n >= IAM_MAX_USERS) {
        op->err = fail(op->x, IE_LIMIT_EXCEEDED, "Cannot exceed quota for UsersPerAccount: %d",
                       IAM_MAX_USERS);
        return -ECANCELED;
    }
    rc = md_user_create(c, op->x->q->account_id, op->name, op->x->now_ms, &op->id);
    if (rc == -EEXIST) {
        op->err = fail(op->x, IE_ENTITY_EXISTS, "User with name %s already exists.",
                       shown(op->x, op->name));
        return -ECANCELED;
    }
    return rc;
}

static enum iam_err
create_user(struct iam *x, struct buf *res)
{
    struct user_op op = {.x = x, .name = arg(x, "UserName")};
    struct str path = arg(x, "Path");
    struct principal p;
    enum iam_err err;

    err = check_name(x, op.name, "userName", 64, true);
    if (err == IE_OK && path.p != NULL)
        err = check_path(x, path);
    /* Users have no stored path: refuse one rather than drop it. */
    if (err == IE_OK && path.p != NULL && !str_eq_c(path, "/"))
        err = fail(x, IE_INVALID_INPUT, "Coffer supports only the path / for users.");
    if (err == IE_OK)
        err = check_tags(x);
    if (err == IE_OK)
        err = require_root(x, "CreateUser",
                           arena_printf(x->a, "arn:aws:iam::%s:user/%s", x->acct,
                                        shown(x, op.name)));
    if (err == IE_OK)
        err = run_write(x, create_user_fn, &op, &op.err);
    if (err != IE_OK)
        return err;
    p.user_id = op.id;
    p.name = op.name;
    p.created_ms = x->now_ms;
    return put_user(x, res, "User", &p) != 0 ? IE_INTERNAL : IE_OK;
}

static enum iam_err
get_user(struct iam *x, struct buf *res)
{
    struct principal p;
    enum iam_err err;

    err = resolve_user(x, arg(x, "UserName"), false, &p);
    if (err == IE_OK)
        err = may_manage(x, "GetUser", &p);
    if (err != IE_OK)
        return err;
    return put_user(x, res, "User", &p) != 0 ? IE_INTERNAL : IE_OK;
}

static int
user_cmp(const void *a, const void *b)
{
    return str_cmp(((const struct md_user *)a)->name, ((const struct md_user *)b)->name);
}

static enum iam_err
list_users(struct iam *x, struct buf *res)
{
    struct md_user *users;
    struct str marker, prefix = arg(x, "PathPrefix");
    size_t n, max, start, i;
    enum iam_err err;
    int rc;

    err = get_paging(x, &max, &marker);
    if (err == IE_OK)
        err = require_root(x, "ListUsers", arena_printf(x->a, "arn:aws:iam::%s:user/", x->acct));
    if (err != IE_OK)
        return err;
    rc = md_user_list(md_reader(x->q->srv->md), x->q->account_id, x->a, &users, &n);
    if (rc < 0)
        return IE_INTERNAL;
    /* Every user's path is "/": a longer prefix matches none. */
    if (prefix.p != NULL && !str_eq_c(prefix, "/"))
        n = 0;
    if (n > 1)
        qsort(users, n, sizeof(*users), user_cmp);
    start = page_start(users, n, sizeof(*users), offsetof(struct md_user, name), marker);
    rc = xml_open(res, "Users");
    for (i = start; i < n && i - start < max; i++) {
        struct principal p = {users[i].id, users[i].name, users[i].created_ms};
        rc |= put_user(x, res, "member", &p);
    }
    rc |= xml_close(res, "Users");
    rc |= put_paging(res, i < n, i > 0 ? users[i - 1].name : STR_NULL);
    return rc != 0 ? IE_INTERNAL : IE_OK;
}

static int
delete_user_fn(struct md_conn *c, void *arg)
{
    struct user_op *op = arg;
    int rc = md_user_delete(c, op->id);

    if (rc == -ENOTEMPTY) {
        op->err = fail(op->x, IE_DELETE_CONFLICT,
                       "Cannot delete entity, must remove MFA device first.");
        return -ECANCELED;
    }
    if (rc == -ENOENT) {
        op->err = fail(op->x, IE_NO_SUCH_ENTITY, "The user with name %s cannot be found.",
                       shown(op->x, op->name));
        return -ECANCELED;
    }
    return rc;
}

static enum iam_err
delete_user(struct iam *x, struct buf *res)
{
    struct user_op op = {.x = x, .name = arg(x, "UserName")};
    struct md_user u;
    enum iam_err err;
    int rc;

    (void)res;
    err = check_name(x, op.name, "userName", 128, true);
    if (err == IE_OK)
        err = require_root(x, "DeleteUser",
                           arena_printf(x->a, "arn:aws:iam::%s:user/%s", x->acct,
                                        shown(x, op.name)));
    if (err != IE_OK)
        return err;
    rc = md_user_get_by_name(md_reader(x->q->srv->md), x->q->account_id, op.name, x->a, &u);
    if (rc == -ENOENT)
        return fail(x, IE_NO_SUCH_ENTITY, "The user with name %s cannot be found.",
                    shown(x, op.name));
    if (rc < 0)
        return IE_INTERNAL;
    op.id = u.id;
    return run_write(x, delete_user_fn, &op, &op.err);
}

/* ---- access keys ------------------------------------------------------- */

struct key_op {
    struct iam *x;
    struct md_key k;
    struct principal target;
    enum iam_err err;
};

static int
create_key_fn(struct md_conn *c, void *arg)
{
    struct key_op *op = arg;
    struct md_key *keys;
    size_t n, mine = 0;
    int rc;

    rc = md_key_list(c, op->x->q->account_id, op->x->a, &keys, &n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        mine += keys[i].user_id == op->k.user_id && keys[i].expires_ms == 0;
    if (mine >= IAM_MAX_KEYS_PER_PRINCIPAL) {
        op->err = fail(op->x, IE_LIMIT_EXCEEDED, "Cannot exceed quota for AccessKeysPerUser: %d",
                       IAM_MAX_KEYS_PER_PRINCIPAL);
        return -ECANCELED;
    }
    return md_key_create(c, &op->k);
}

static enum iam_err
create_access_key(struct iam *x, struct buf *res)
{
    struct key_op op = {.x = x};
    char id[IAM_KEY_ID_LEN + 1], secret[IAM_SECRET_LEN + 1];
    enum iam_err err;
    int rc;

    err = resolve_user(x, arg(x, "UserName"), false, &op.target);
    if (err == IE_OK)
        err = may_manage(x, "CreateAccessKey", &op.target);
    if (err != IE_OK)
        return err;
    id[0] = 'C';
    id[1] = 'K';
    rc = rand_chars(id + 2, IAM_KEY_ID_LEN - 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    if (rc == 0)
        rc = rand_chars(secret, IAM_SECRET_LEN,
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+");
    if (rc < 0) {
        err = IE_INTERNAL;
        goto out;
    }
    op.k.access_key_id = str_c(id);
    op.k.account_id = x->q->account_id;
    op.k.user_id = op.target.user_id;
    op.k.secret = str_c(secret);
    op.k.created_ms = x->now_ms;
    op.k.is_active = true;
    op.k.session_token_sha256 = STR_LIT("");
    err = run_write(x, create_key_fn, &op, &op.err);
    if (err != IE_OK)
        goto out;
    rc = xml_open(res, "AccessKey");
    rc |= xml_elem(res, "UserName", op.target.name);
    rc |= xml_elem_c(res, "AccessKeyId", id);
    rc |= xml_elem_c(res, "Status", "Active");
    rc |= xml_elem_c(res, "SecretAccessKey", secret);
    rc |= xml_elem_c(res, "CreateDate", iso(x, x->now_ms));
    rc |= xml_close(res, "AccessKey");
    if (rc != 0)
        err = IE_INTERNAL;
out:
    explicit_bzero(secret, sizeof(secret));
    return err;
}

static int
key_cmp(const void *a, const void *b)
{
    return str_cmp(((const struct md_key *)a)->access_key_id,
                   ((const struct md_key *)b)->access_key_id);
}

static enum iam_err
list_access_keys(struct iam *x, struct buf *res)
{
    struct principal target;
    struct md_key *keys;
    struct str marker;
    size_t n, n_mine = 0, max, start, i;
    enum iam_err err;
    int rc;

    err = resolve_user(x, arg(x, "UserName"), false, &target);
    if (err == IE_OK)
        err = get_paging(x, &max, &marker);
    if (err == IE_OK)
        err = may_manage(x, "ListAccessKeys", &target);
    if (err != IE_OK)
        return err;
    rc = md_key_list(md_reader(x->q->srv->md), x->q->account_id, x->a, &keys, &n);
    if (rc < 0)
        return IE_INTERNAL;
    /* Long-term keys of the target only: session keys are not IAM's. */
    for (i = 0; i < n; i++)
        if (keys[i].user_id == target.user_id && keys[i].expires_ms == 0)
            keys[n_mine++] = keys[i];
    if (n_mine > 1)
        qsort(keys, n_mine, sizeof(*keys), key_cmp);
    start = page_start(keys, n_mine, sizeof(*keys), offsetof(struct md_key, access_key_id),
                       marker);
    rc = xml_open(res, "AccessKeyMetadata");
    for (i = start; i < n_mine && i - start < max; i++) {
        rc |= xml_open(res, "member");
        rc |= xml_elem(res, "UserName", target.name);
        rc |= xml_elem(res, "AccessKeyId", keys[i].access_key_id);
        rc |= xml_elem_c(res, "Status", keys[i].is_active ? "Active" : "Inactive");
        rc |= xml_elem_c(res, "CreateDate", iso(x, keys[i].created_ms));
        rc |= xml_close(res, "member");
    }
    rc |= xml_close(res, "AccessKeyMetadata");
    rc |= put_paging(res, i < n_mine, i > 0 ? keys[i - 1].access_key_id : STR_NULL);
    return rc != 0 ? IE_INTERNAL : IE_OK;
}

static int
delete_key_fn(struct md_conn *c, void *arg)
{
    struct key_op *op = arg;
    struct md_key k;
    int rc;

    rc = md_key_get(c, op->k.access_key_id, op->x->a, &k);
    if (rc == 0 && k.secret.p != NULL)
        explicit_bzero((void *)k.secret.p, k.secret.n);
    if (rc == -ENOENT || (rc == 0 && (k.account_id != op->x->q->account_id ||
                                      k.user_id != op->target.user_id || k.expires_ms != 0))) {
        op->err = fail(op->x, IE_NO_SUCH_ENTITY, "The Access Key with id %s cannot be found.",
                       shown(op->x, op->k.access_key_id));
        return -ECANCELED;
    }
    if (rc < 0)
        return rc;
    return md_key_delete(c, k.access_key_id);
}

static enum iam_err
delete_access_key(struct iam *x, struct buf *res)
{
    struct key_op op = {.x = x};
    struct str id = arg(x, "AccessKeyId");
    enum iam_err err;

    (void)res;
    err = resolve_user(x, arg(x, "UserName"), false, &op.target);
    if (err == IE_OK && (id.p == NULL || id.n < 16 || id.n > 128))
        err = invalid(x, "accessKeyId", id, "have length between 16 and 128");
    if (err == IE_OK)
        err = may_manage(x, "DeleteAccessKey", &op.target);
    if (err != IE_OK)
        return err;
    op.k.access_key_id = id;
    return run_write(x, delete_key_fn, &op, &op.err);
}

/* ---- STS --------------------------------------------------------------- */

struct session_op {
    struct iam *x;
    bool with_mfa;
    struct str serial;
    uint32_t code;
    struct md_key k;
    enum iam_err err;
};

static int
session_fn(struct md_conn *c, void *arg)
{
    struct session_op *op = arg;
    struct iam *x = op->x;
    struct md_mfa_device d = {0};
    struct totp_state st;
    const char *why;
    int rc, retry_s = 0;

    if (!op->with_mfa)
        return md_key_create(c, &op->k);
    rc = md_mfa_get(c, op->serial, x->a, &d);
    if (rc == -ENOENT || (rc == 0 && (d.account_id != x->q->account_id || !d.is_enabled ||
                                      d.user_id != x->caller.user_id))) {
        op->err = fail(x, IE_ACCESS_DENIED,
                       "MultiFactorAuthentication failed, unable to validate MFA code.  Please "
                       "verify your MFA serial number is valid and associated with this user.");
        rc = audit(c, x, "mfa.check_failed",
                   arena_printf(x->a, "GetSessionToken %s: serial is not an enabled device of "
                                      "the caller",
                                shown(x, op->serial)));
        goto out;
    }
    if (rc < 0)
        goto out;
    st = dev_state(&d);
    rc = totp_verify((const unsigned char *)d.seed.p, d.seed.n, &st, x->now_ms / 1000, op->code,
                     &retry_s);
    if (rc == 0) {
        op->k.mfa_auth_ms = x->now_ms;
        rc = save_state(c, &d, &st);
        if (rc == 0)
            rc = md_key_create(c, &op->k);
        if (rc == 0)
            rc = audit(c, x, "mfa.session",
                       arena_printf(x->a, "GetSessionToken %.*s: session %.*s until %s",
                                    STR_FMT(d.serial), STR_FMT(op->k.access_key_id),
                                    iso(x, op->k.expires_ms)));
        goto out;
    }
    if (rc == -EAGAIN) {
        op->err = fail(x, IE_ACCESS_DENIED, "Too many failed MFA attempts; retry in %d seconds",
                       retry_s > 0 ? retry_s : 1);
        why = "throttled after too many failed checks";
    } else {
        op->err = fail(x, IE_ACCESS_DENIED,
                       "MultiFactorAuthentication failed with invalid MFA one time pass code.");
        why = rc == -EALREADY ? "code already used" : "invalid or expired code";
    }
    /* Keep the failure count and the audit record: commit, then fail. */
    rc = save_state(c, &d, &st);
    if (rc == 0)
        rc = audit(c, x, "mfa.check_failed",
                   arena_printf(x->a, "GetSessionToken %.*s: %s", STR_FMT(d.serial), why));
out:
    wipe_seed(&d);
    return rc;
}

static enum iam_err
get_session_token(struct iam *x, struct buf *res)
{
    struct session_op op = {.x = x};
    struct str dur = arg(x, "DurationSeconds"), code = arg(x, "TokenCode");
    char id[IAM_KEY_ID_LEN + 1], secret[IAM_SECRET_LEN + 1], hex[65];
    char token[4 * ((IAM_TOKEN_BYTES + 2) / 3) + 1];
    unsigned char raw[IAM_TOKEN_BYTES], h[32];
    unsigned long long secs = 43200;
    enum iam_err err = IE_OK;
    int rc;

    if (x->q->key_info.expires_ms > 0)
        return fail(x, IE_ACCESS_DENIED, "Cannot call GetSessionToken with session credentials");
    if (dur.p != NULL && (str_to_u64(dur, &secs) < 0 || secs < 900 || secs > 129600))
        return invalid(x, "durationSeconds", dur, "have value between 900 and 129600");
    /* AWS: sessions of the account root last at most an hour; a longer
     * request is cut to one hour rather than refused. */
    if (x->caller.user_id == 0 && secs > 3600)
        secs = 3600;
    op.serial = arg(x, "SerialNumber");
    if (op.serial.p != NULL || code.p != NULL) {
        if (op.serial.p == NULL)
            return invalid(x, "serialNumber", op.serial, "");
        err = check_serial(x, op.serial);
        if (err == IE_OK)
            err = get_code(x, "TokenCode", "tokenCode", &op.code);
        if (err != IE_OK)
            return err;
        op.with_mfa = true;
    }
    id[0] = 'C';
    id[1] = 'S';
    rc = rand_chars(id + 2, IAM_KEY_ID_LEN - 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    if (rc == 0)
        rc = rand_chars(secret, IAM_SECRET_LEN,
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+");
    if (rc == 0)
        rc = rand_bytes(raw, sizeof(raw));
    if (rc < 0) {
        err = IE_INTERNAL;
        goto out;
    }
    /* base64url without padding: the token travels in a header. */
    b64_encode(raw, sizeof(raw), token);
    for (char *p = token; *p != '\0'; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    token[strcspn(token, "=")] = '\0';
    sha256(token, strlen(token), h);
    hex_encode(h, sizeof(h), hex);
    op.k.access_key_id = str_c(id);
    op.k.account_id = x->q->account_id;
    op.k.user_id = x->caller.user_id;
    op.k.secret = str_c(secret);
    op.k.created_ms = x->now_ms;
    op.k.is_active = true;
    op.k.session_token_sha256 = str_c(hex);
    op.k.expires_ms = x->now_ms + (int64_t)secs * 1000;
    err = run_write(x, session_fn, &op, &op.err);
    if (err != IE_OK)
        goto out;
    rc = xml_open(res, "Credentials");
    rc |= xml_elem_c(res, "AccessKeyId", id);
    rc |= xml_elem_c(res, "SecretAccessKey", secret);
    rc |= xml_elem_c(res, "SessionToken", token);
    rc |= xml_elem_c(res, "Expiration", iso(x, op.k.expires_ms));
    rc |= xml_close(res, "Credentials");
    if (rc != 0)
        err = IE_INTERNAL;
out:
    explicit_bzero(secret, sizeof(secret));
    explicit_bzero(token, sizeof(token));
    explicit_bzero(raw, sizeof(raw));
    return err;
}

static enum iam_err
get_caller_identity(struct iam *x, struct buf *res)
{
    int rc = xml_elem_c(res, "UserId", principal_id(x, &x->caller));

    rc |= xml_elem_c(res, "Account", x->acct);
    rc |= xml_elem_c(res, "Arn", principal_arn(x, &x->caller));
    return rc != 0 ? IE_INTERNAL : IE_OK;
}

/* ---- the front door ---------------------------------------------------- */

static const struct action actions[] = {
    {"CreateVirtualMFADevice", false, true, true, create_virtual_mfa_device},
    {"EnableMFADevice", false, false, true, enable_mfa_device},
    {"ResyncMFADevice", false, false, true, resync_mfa_device},
    {"DeactivateMFADevice", false, false, false, deactivate_mfa_device},
    {"DeleteVirtualMFADevice", false, false, false, delete_virtual_mfa_device},
    {"ListMFADevices", false, true, false, list_mfa_devices},
    {"ListVirtualMFADevices", false, true, false, list_virtual_mfa_devices},
    {"CreateUser", false, true, false, create_user},
    {"GetUser", false, true, false, get_user},
    {"ListUsers", false, true, false, list_users},
    {"DeleteUser", false, false, false, delete_user},
    {"CreateAccessKey", false, true, true, create_access_key},
    {"ListAccessKeys", false, true, false, list_access_keys},
    {"DeleteAccessKey", false, false, false, delete_access_key},
    {"GetSessionToken", true, true, true, get_session_token},
    {"GetCallerIdentity", true, true, false, get_caller_identity},
};

/* application/x-www-form-urlencoded: %XX escapes and '+' for space. */
static int
form_decode(struct arena *a, struct str in, struct str *out)
{
    char *p = arena_alloc(a, in.n + 1);
    int n = uri_decode_form(in, p);

    if (n < 0)
        return n;
    p[n] = '\0';
    *out = str_make(p, (size_t)n);
    return 0;
}

/* Body parameters first (a POST's form wins), then the query string's. */
static enum iam_err
parse_params(struct iam *x, struct str body)
{
    struct str rest = body, item;
    size_t n = x->q->n_params + 1;

    for (size_t i = 0; i < body.n; i++)
        n += body.p[i] == '&';
    if (n > IAM_MAX_PARAMS)
        return fail(x, IE_MALFORMED_QUERY, "The request has more than %d parameters.",
                    IAM_MAX_PARAMS);
    x->params = arena_alloc(x->a, n * sizeof(*x->params));
    x->n_params = 0;
    while (rest.p != NULL && rest.n > 0) {
        struct str name, value;
        str_split(rest, '&', &item, &rest);
        if (item.n == 0)
            continue;
        str_split(item, '=', &name, &value);
        if (value.p == NULL)
            value = STR_LIT("");
        struct s3_param *sp = &x->params[x->n_params];
        if (form_decode(x->a, name, &sp->name) < 0 || form_decode(x->a, value, &sp->value) < 0)
            return IE_MALFORMED_QUERY;
        x->n_params++;
    }
    for (size_t i = 0; i < x->q->n_params; i++)
        x->params[x->n_params++] = x->q->params[i];
    return IE_OK;
}

/* Reads the whole body, at most IAM_MAX_BODY bytes, into the arena. */
static enum iam_err
read_body(struct iam *x, struct str *out)
{
    struct http_req *r = x->q->http;
    char *p;
    size_t n = 0;

    if (r->content_length > IAM_MAX_BODY)
        return IE_TOO_LARGE;
    p = arena_alloc(x->a, IAM_MAX_BODY + 1);
    for (;;) {
        ssize_t got = http_body_read(r, p + n, IAM_MAX_BODY + 1 - n);
        if (got < 0) {
            http_resp_close(r);
            return fail(x, IE_INVALID_PARAMETER, "The request body could not be read.");
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n > IAM_MAX_BODY)
            return IE_TOO_LARGE;
    }
    p[n] = '\0';
    *out = str_make(p, n);
    return IE_OK;
}

/* Maps what s3_auth_verify() found to IAM's codes. */
static enum iam_err
auth_err(struct iam *x, enum s3_err err)
{
    switch (err) {
    case S3E_OK:
        return IE_OK;
    case S3E_INVALID_ACCESS_KEY_ID:
    case S3E_INVALID_TOKEN:
        return IE_INVALID_CLIENT_TOKEN;
    case S3E_EXPIRED_TOKEN:
        return IE_EXPIRED_TOKEN;
    case S3E_SIGNATURE_DOES_NOT_MATCH:
        return IE_SIGNATURE;
    case S3E_REQUEST_TIME_TOO_SKEWED:
        return fail(x, IE_SIGNATURE, "Signature expired: the request time is more than 15 "
                                     "minutes away from the server's time.");
    case S3E_AUTH_HEADER_MALFORMED:
    case S3E_AUTH_QUERY_MALFORMED:
        if (x->q->err_msg != NULL)
            x->msg = x->q->err_msg;
        return IE_INCOMPLETE_SIGNATURE;
    case S3E_ACCESS_DENIED:
        if (x->q->err_msg != NULL)
            x->msg = x->q->err_msg;
        return IE_ACCESS_DENIED;
    case S3E_INTERNAL:
        return IE_INTERNAL;
    default:
        x->msg = x->q->err_msg != NULL ? x->q->err_msg : s3_err_msg(err);
        return IE_SIGNATURE;
    }
}

static void
reply(struct iam *x, const struct action *act, enum iam_err err, struct buf *res)
{
    struct http_req *r = x->q->http;
    const char *ns = x->is_sts ? STS_XMLNS : IAM_XMLNS;
    struct buf b;
    int rc, status = iam_errs[err].status;

    buf_init(&b, IAM_MAX_REPLY + 4096);
    rc = xml_decl(&b);
    if (err == IE_OK) {
        /* Tag names come from the action table, never from the client. */
        const char *resp = arena_printf(x->a, "%sResponse", act->name);
        const char *result = arena_printf(x->a, "%sResult", act->name);
        rc |= xml_open_ns(&b, resp, ns);
        if (act->has_result) {
            rc |= xml_open(&b, result);
            rc |= buf_append_str(&b, buf_str(res));
            rc |= xml_close(&b, result);
        }
        rc |= xml_open(&b, "ResponseMetadata");
        rc |= xml_elem_c(&b, "RequestId", r->request_id);
        rc |= xml_close(&b, "ResponseMetadata");
        rc |= xml_close(&b, resp);
    } else {
        const char *msg = x->msg != NULL && x->msg[0] != '\0' ? x->msg : iam_errs[err].msg;
        rc |= xml_open_ns(&b, "ErrorResponse", ns);
        rc |= xml_open(&b, "Error");
        rc |= xml_elem_c(&b, "Type", status >= 500 ? "Receiver" : "Sender");
        rc |= xml_elem_c(&b, "Code", iam_errs[err].code);
        rc |= xml_elem_c(&b, "Message", msg);
        rc |= xml_close(&b, "Error");
        rc |= xml_elem_c(&b, "RequestId", r->request_id);
        rc |= xml_close(&b, "ErrorResponse");
    }
    if (rc != 0) {
        /* Only a result past IAM_MAX_REPLY gets here. */
        log_error("iam: response too large, request %s", r->request_id);
        buf_free(&b);
        http_resp_close(r);
        http_resp_begin(r, 500, 0);
        return;
    }
    http_resp_header_c(r, "Content-Type", "text/xml");
    if (http_resp_begin(r, status, (int64_t)b.n) == 0)
        (void)http_resp_write(r, b.p, b.n);
    if (b.p != NULL)
        explicit_bzero(b.p, b.n); /* may hold a seed or a secret */
    buf_free(&b);
}

/* The caller as a principal, and the names used in ARNs and the audit log. */
static enum iam_err
load_caller(struct iam *x)
{
    enum iam_err err;

    snprintf(x->acct, sizeof(x->acct), "%012lld", (long long)x->q->account_id);
    err = principal_by_id(x, x->q->user_id, &x->caller);
    if (err != IE_OK) {
        /* A key whose user is gone: md_user_delete removes its keys. */
        return IE_INVALID_CLIENT_TOKEN;
    }
    x->label = principal_label(x, &x->caller);
    return IE_OK;
}

static const struct action *
find_action(struct iam *x, struct str name)
{
    for (size_t i = 0; i < ARRAY_LEN(actions); i++)
        if (actions[i].is_sts == x->is_sts && str_eq_c(name, actions[i].name))
            return &actions[i];
    return NULL;
}

void
s3_iam_handle(struct s3_req *q)
{
    struct iam x = {.q = q, .a = q->arena};
    struct http_req *r = q->http;
    const struct action *act = NULL;
    struct str body = STR_LIT(""), action, version;
    struct buf res;
    enum iam_err err;
    bool is_post = str_eq_c(r->method, "POST");

    buf_init(&res, IAM_MAX_REPLY);
    x.is_sts = str_eq_c(q->auth.service, "sts");
    x.now_ms = tm_now_ms();
    if (!is_post && !str_eq_c(r->method, "GET")) {
        err = fail(&x, IE_INVALID_ACTION, "IAM and STS requests must be POST / or GET /.");
        goto out;
    }
    if (!str_eq_c(r->path, "/")) {
        err = fail(&x, IE_INVALID_ACTION, "IAM and STS requests must be sent to the path /.");
        goto out;
    }
    /* Coffer decision 1 holds for IAM and STS too: refused before anything
     * else, the request's body unread. */
    if (!r->is_tls && http_header(r, "x-amz-mfa").p != NULL) {
        err = fail(&x, IE_INVALID_REQUEST, "Requests that include x-amz-mfa must use HTTPS");
        goto out;
    }
    if (is_post) {
        struct str ct = http_header(r, "content-type"), mime, rest;
        str_split(ct, ';', &mime, &rest);
        if (r->content_length != 0 &&
            !str_ieq_c(str_trim(mime), "application/x-www-form-urlencoded")) {
            err = fail(&x, IE_INVALID_PARAMETER,
                       "The Content-Type of an IAM or STS request must be "
                       "application/x-www-form-urlencoded.");
            goto out;
        }
        err = read_body(&x, &body);
        if (err != IE_OK)
            goto out;
    }
    /* botocore sends no x-amz-content-sha256 to IAM or STS: the signature
     * covers the SHA-256 of the form body, computed here. A client that does
     * send the header must have sent the body it describes. */
    if (q->auth.payload != SIGV4_SHA256 && q->auth.payload != SIGV4_UNSIGNED) {
        err = fail(&x, IE_INVALID_PARAMETER, "IAM and STS do not accept aws-chunked bodies.");
        goto out;
    }
    {
        unsigned char h[32];
        char *hex = arena_alloc(x.a, 65);
        sha256(body.p, body.n, h);
        hex_encode(h, sizeof(h), hex);
        if (q->auth.payload_hash.p == NULL) {
            q->auth.payload_hash = str_make(hex, 64);
        } else if (q->auth.payload == SIGV4_SHA256 && !str_eq(q->auth.payload_hash,
                                                                str_make(hex, 64))) {
            err = fail(&x, IE_SIGNATURE, "The provided 'x-amz-content-sha256' header does not "
                                         "match what was computed.");
            goto out;
        }
    }
    err = auth_err(&x, s3_auth_verify(q));
    if (err != IE_OK)
        goto out;
    err = load_caller(&x);
    if (err != IE_OK)
        goto out;
    err = parse_params(&x, body);
    if (err != IE_OK)
        goto out;
    action = arg(&x, "Action");
    version = arg(&x, "Version");
    if (action.p == NULL || action.n == 0) {
        err = IE_MISSING_ACTION;
        goto out;
    }
    act = find_action(&x, action);
    if (act == NULL || !str_eq_c(version, x.is_sts ? STS_VERSION : IAM_VERSION)) {
        err = fail(&x, IE_INVALID_ACTION, "Could not find operation %s for version %s",
                   shown(&x, action),
                   version.p != NULL ? shown(&x, version) : "NO_VERSION_SPECIFIED");
        act = NULL;
        goto out;
    }
    /* Over plain HTTP a code would be burned in clear and a secret or seed
     * returned in clear: refused before the action runs. */
    if (act->needs_tls && !r->is_tls) {
        err = fail(&x, IE_INVALID_REQUEST, "%s requests must use HTTPS", act->name);
        act = NULL;
        goto out;
    }
    /* AWS: temporary credentials from GetSessionToken may call IAM only if
     * they were issued with MFA, and STS only for GetCallerIdentity (and
     * GetSessionToken answers its own error) [spec-mfa-delete §7.2]. */
    if (q->key_info.expires_ms > 0 && !x.is_sts && q->key_info.mfa_auth_ms == 0) {
        err = IE_INVALID_CLIENT_TOKEN;
        goto out;
    }
    err = act->fn(&x, &res);
    if (err == IE_INTERNAL)
        log_error("iam: %s: internal error, request %s", act->name, r->request_id);
out:
    reply(&x, act, err, &res);
    if (res.p != NULL)
        explicit_bzero(res.p, res.n);
    buf_free(&res);
}
