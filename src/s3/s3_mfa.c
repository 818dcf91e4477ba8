/* s3_mfa.c -- glue between S3 requests and auth/mfa.c: builds the
 * struct mfa_req, maps struct mfa_err onto the request's error fields and
 * runs the generic check for operations that never need MFA. The rules on
 * who needs MFA when live with the handlers that apply them. */
#include "common.h"
#include "s3/s3_mfa.h"

#include "s3/s3_int.h"
#include "util/tm.h"

#include <errno.h>

/* Operation names by enum s3_op, for audit records of checks that run
 * before s3_route.c has set q->op_name. */
static const char *const op_names[] = {
#define S3_OP(name, method, level, sub, fn, action, vaction, bucket, body, loop) #name,
#include "s3/s3_ops.def"
#undef S3_OP
};

/* The one place an auth/mfa.h result becomes an S3 error and its
 * mfa_err detail becomes request detail. */
static enum s3_err
map_err(struct s3_req *q, enum auth_err err, const struct mfa_err *e)
{
    if (err == AUTH_E_OK)
        return S3E_OK;
    if (e->msg != NULL)
        q->err_msg = e->msg;
    if (e->arg_name != NULL) {
        q->err_arg_name = e->arg_name;
        q->err_arg_value = e->arg_value;
    }
    return s3_err_from_auth(err);
}

static struct str
principal(struct s3_req *q)
{
    struct md_user u;

    if (q->auth.is_anonymous)
        return STR_LIT("anonymous");
    if (q->account_id == 0)
        return STR_LIT("unauthenticated"); /* refused before the signature was checked */
    if (q->user_id == 0)
        return str_c(arena_printf(q->arena, "account:%.*s", STR_FMT(q->account.name)));
    if (md_user_get(md_reader(q->srv->md), q->user_id, q->arena, &u) == 0)
        return str_c(arena_printf(q->arena, "account:%.*s/user:%.*s", STR_FMT(q->account.name),
                                  STR_FMT(u.name)));
    /* Deleted while its key still signed this request: keep the id. */
    return str_c(arena_printf(q->arena, "account:%.*s/user:#%lld", STR_FMT(q->account.name),
                              (long long)q->user_id));
}

void
s3_mfa_request(struct s3_req *q, int64_t owner_id, struct str key, struct str vid,
               struct mfa_req *m)
{
    *m = (struct mfa_req){
        .is_tls = q->http->is_tls,
        .header = http_header(q->http, "x-amz-mfa"),
        .has_session_token = q->key_info.expires_ms > 0,
        .account_id = q->account_id,
        .user_id = q->user_id,
        .principal = principal(q),
        .bucket_owner_id = owner_id,
        .bucket = q->bucket,
        .key = key,
        .version_id = vid,
        .action = q->op_name != NULL ? q->op_name : op_names[q->op],
        .source = q->http->peer,
        .now_ms = tm_now_ms(),
    };
}

enum s3_err
s3_mfa_precheck(struct s3_req *q)
{
    struct mfa_req m;
    struct mfa_err e;

    if (http_header(q->http, "x-amz-mfa").p == NULL)
        return S3E_OK;
    /* A refusal is audited, so the request is described in full. */
    s3_mfa_request(q, q->account_id, q->key, s3_param(q, "versionId", NULL), &m);
    if (q->op_name == NULL)
        m.action = NULL; /* not routed yet (plain HTTP is refused first) */
    return map_err(q, mfa_precheck_audit(q->srv->md, &m, q->arena, &e), &e);
}

enum s3_err
s3_mfa_gate(struct s3_req *q, bool required, int64_t owner_id, struct str key, struct str vid)
{
    struct mfa_req m;
    struct mfa_err e = {0};
    enum auth_err err;

    /* Most requests carry no header and need none: no user lookup then. */
    if (!required && http_header(q->http, "x-amz-mfa").p == NULL)
        return S3E_OK;
    s3_mfa_request(q, owner_id, key, vid, &m);
    if (required)
        err = mfa_require(q->srv->md, &m, q->arena, &e);
    else
        err = mfa_verify_present(q->srv->md, &m, q->arena, &e);
    return map_err(q, err, &e);
}

enum s3_err
s3_mfa_route_check(struct s3_req *q)
{
    if (http_header(q->http, "x-amz-mfa").p == NULL)
        return S3E_OK;
    switch (q->op) {
    case S3OP_PUT_BUCKET_VERSIONING:
    case S3OP_DELETE_OBJECT:
    case S3OP_DELETE_OBJECTS:
        /* Their handlers verify the code once they know whether MFA is
         * required; verifying here too would burn it first. */
        return s3_mfa_precheck(q);
    default:
        break;
    }
    /* Coffer decision 6 for every other operation. The caller's own account
     * stands in for the bucket owner: an operation on a bucket of another
     * account fails later anyway, and must not be a way to spend that
     * account's device attempts. */
    return s3_mfa_gate(q, false, q->account_id, q->key, s3_param(q, "versionId", NULL));
}
