/* s3_control.c -- the S3 Control API on the S3 endpoint: the account's
 * Block Public Access (Get/Put/DeletePublicAccessBlock at
 * /v20180820/configuration/publicAccessBlock) [spec-authorization §3.3,
 * §7]. Routing (s3_route.c) and authorization (the authorize phase, resource
 * "*") happen before these handlers; enforcement is s3_authz.c's and
 * s3_policy.c's, which read the bucket owner's account. */
#include "common.h"
#include "auth/mfa.h"
#include "s3/s3_int.h"
#include "s3/s3_mfa.h"
#include "util/tm.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <string.h>

/* S3 Control's XML namespace; its errors are S3's <Error> documents. */
#define CONTROL_XMLNS "http://awss3control.amazonaws.com/doc/2018-08-20/"

/* x-amz-account-id: 12 digits naming the caller's own account. AWS answers
 * AccessDenied for another account's id, whoever asks [§3.3]; a value that
 * is no account id is 400 InvalidArgument, as for the expected bucket
 * owner [§9]. */
static enum s3_err
account_header(struct s3_req *q)
{
    struct str v = http_header(q->http, "x-amz-account-id");
    unsigned long long id;

    if (v.n != 12 || str_to_u64(v, &id) < 0) {
        q->err_msg = "The account id must be a 12-digit number.";
        q->err_arg_name = "x-amz-account-id";
        q->err_arg_value = arena_cstr(q->arena, v);
        return S3E_INVALID_ARGUMENT;
    }
    if (q->auth.is_anonymous || (int64_t)id != q->account_id)
        return S3E_ACCESS_DENIED;
    return S3E_OK;
}

struct pab_write {
    int64_t account_id;
    struct md_pab pab; /* configured false removes the configuration */
    const char *detail;
    struct mfa_req m; /* for the audit record */
};

/* The setting and its audit record in one transaction. */
static int
pab_fn(struct md_conn *c, void *arg)
{
    struct pab_write *w = arg;
    struct md_audit e;
    int rc;

    rc = md_account_set_public_access_block(c, w->account_id, &w->pab);
    if (rc < 0)
        return rc;
    mfa_audit_record(&w->m, tm_now_ms(), "account.public_access_block", w->detail, STR_NULL,
                     STR_NULL, &e);
    return md_audit_append(c, &e);
}

static enum s3_err
pab_write(struct s3_req *q, struct pab_write *w)
{
    int rc;

    s3_mfa_request(q, q->account_id, STR_NULL, STR_NULL, &w->m);
    w->account_id = q->account_id;
    rc = md_write(q->srv->md, pab_fn, w);
    return rc < 0 ? s3_err_from_errno(rc) : S3E_OK;
}

/* PUT /v20180820/configuration/publicAccessBlock: the same
 * <PublicAccessBlockConfiguration> as a bucket's, absent settings false. */
enum s3_err
s3_put_account_public_access_block(struct s3_req *q)
{
    struct pab_write w = {0};
    struct str body;
    enum s3_err err;

    err = account_header(q);
    if (err == S3E_OK)
        err = s3_config_body(q, false, &body);
    if (err == S3E_OK)
        err = s3_parse_public_access_block(q->arena, body, &w.pab);
    if (err != S3E_OK)
        return err;
    w.detail = s3_pab_detail(q->arena, &w.pab);
    err = pab_write(q, &w);
    if (err != S3E_OK)
        return err;
    (void)s3_reply_empty(q, 200);
    return S3E_OK;
}

/* GET: the account row as authentication read it; none stored -> 404
 * NoSuchPublicAccessBlockConfiguration [§7]. */
enum s3_err
s3_get_account_public_access_block(struct s3_req *q)
{
    enum s3_err err = account_header(q);

    return err != S3E_OK ? err : s3_reply_pab(q, &q->account.pab, CONTROL_XMLNS);
}

/* DELETE: 204 whether or not there was one; a removal is audited. */
enum s3_err
s3_delete_account_public_access_block(struct s3_req *q)
{
    struct pab_write w = {.detail = "deleted"};
    enum s3_err err = account_header(q);

    if (err == S3E_OK && q->account.pab.configured)
        err = pab_write(q, &w);
    if (err != S3E_OK)
        return err;
    (void)s3_reply_empty(q, 204);
    return S3E_OK;
}
