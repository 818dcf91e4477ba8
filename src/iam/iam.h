/* iam.h -- the IAM (2010-05-08) and STS (2011-06-15) query APIs: users,
 * groups, roles, inline and managed policies (documents checked by
 * auth/policy.h), access keys, virtual MFA devices, session tokens, caller
 * identity; their parameter checks, their own error table (iam_errors.def)
 * and their XML documents, errors included (<ErrorResponse><Error><Type/>
 * <Code/><Message/></Error>, not S3's <Error>). No HTTP: the front door
 * (s3/s3_iam.c) reads the form body, verifies the signature, enforces HTTPS
 * where needed, fills a struct iam_req and sends what iam_render() builds.
 * Not here: evaluating policies (the front door's authorize callbacks); MFA delete
 * enforcement (auth/mfa.c); TOTP arithmetic (auth/totp.c). Seeds and codes are never
 * logged or echoed; seeds leave only in the CreateVirtualMFADevice reply. */
#ifndef COFFER_IAM_IAM_H
#define COFFER_IAM_IAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/str.h"

struct arena;
struct buf;
struct md;
struct md_account;
struct md_key;
struct policy;

#define IAM_MAX_BODY (64 * 1024) /* form body cap: the front door reads no more */

enum iam_err {
    IAM_E_OK = 0,
#define IAM_ERR(name, status, code, msg) IAM_E_##name,
#include "iam/iam_errors.def"
#undef IAM_ERR
    IAM_E__COUNT
};

struct iam_param {
    struct str name, value; /* decoded */
};

/* One IAM/STS call, filled by the front door. Everything is borrowed and
 * must outlive the struct iam made from it. */
struct iam_req {
    struct md *md;
    struct arena *arena; /* the request's: results, messages and copies live here */
    bool is_sts;         /* signed for service sts (else iam) */
    int64_t now_ms;
    const char *request_id;
    const char *source; /* client address, for the audit log */
    /* Set once the signature is verified, before iam_prepare(). */
    struct str body;               /* the form body; empty for GET */
    const struct iam_param *query; /* the URL's query parameters */
    size_t n_query;
    int64_t account_id; /* the caller's account */
    int64_t user_id;    /* 0 = the account's root */
    const struct md_account *account;
    const struct md_key *key; /* the signing key's row (session fields included) */
    /* The front door's authorization: may the caller do action
     * ("iam:CreateUser") on resource (an ARN)? 0, -EACCES, or another
     * -errno when it could not tell. */
    int (*authorize)(void *arg, const char *action, const char *resource);
    /* AssumeRole's: the same, with the role's parsed trust policy as the
     * resource policy, the role being of account role_account; mfa_now:
     * the request carries a TokenCode (the context then has MFA). */
    int (*authorize_trust)(void *arg, const char *action, const char *resource,
                           const struct policy *trust, int64_t role_account, bool mfa_now);
    void *authorize_arg;
};

struct iam; /* opaque; in r->arena */

/* A call on r. r is read again by every function below. */
struct iam *iam_new(const struct iam_req *r);

/* Sets the message rendered with err (printf into the arena) and returns
 * err: for the front door's own refusals. */
enum iam_err iam_fail(struct iam *x, enum iam_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets the message rendered with the error; NULL keeps the table's text. */
void iam_set_msg(struct iam *x, const char *msg);

/* After the signature is verified: loads the caller (IAM_E_INVALID_CLIENT_TOKEN
 * if its user is gone), decodes the form body (body parameters first, then the
 * query's; IAM_E_MALFORMED_QUERY), finds Action for Version
 * (IAM_E_MISSING_ACTION, IAM_E_INVALID_ACTION). */
enum iam_err iam_prepare(struct iam *x);
/* The action iam_prepare() found: its name, and whether its request carries
 * an MFA code or its reply a secret or seed (then it must come over HTTPS). */
const char *iam_action_name(const struct iam *x);
/* The <Code> an error is rendered with ("AccessDenied"), for logs. */
const char *iam_err_code(enum iam_err err);
bool iam_needs_tls(const struct iam *x);
/* What the action is authorized as: "iam:<Action>" on the ARN of the user,
 * group, role or policy its parameters name (a listing: the kind's ARN
 * prefix, "arn:aws:iam::A:group/"); NULL for the actions that check the
 * caller themselves (users, keys, MFA devices, STS). In the arena. The
 * single place that decides whether the caller may is iam.c's authorize(). */
const char *iam_action_iam_name(struct iam *x);
const char *iam_action_resource(struct iam *x);

/* Runs the action: GetSessionToken credentials without MFA may call IAM
 * only through STS (IAM_E_INVALID_CLIENT_TOKEN; role sessions may), then
 * the action's own checks and store writes. The <{Action}Result> content goes to res (created with
 * buf_init(res, IAM_MAX_RESULT)); it may hold a secret or seed. */
#define IAM_MAX_RESULT (8 * 1024 * 1024) /* a 1000-item listing is well under 1 MiB */
enum iam_err iam_run(struct iam *x, struct buf *res);

/* The response document for err (IAM_E_OK: the action's, with res as its
 * result) into out, which it creates (buf_free() it after wiping: it may
 * hold a secret or seed). Returns the HTTP status, or -E2BIG if the document
 * outgrew its cap. */
int iam_render(struct iam *x, enum iam_err err, const struct buf *res, struct buf *out);

#endif
