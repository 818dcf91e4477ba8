/* s3_iam.c -- the HTTP front door of the IAM and STS query APIs on the S3
 * endpoint (iam/ does the rest): method and path, the form body with its
 * cap, the body's SHA-256 against the signature, s3_auth_verify(), the
 * HTTPS rules (x-amz-mfa, and the actions that carry codes or return
 * secrets), then the response iam/ renders. IAM and STS clients parse
 * <ErrorResponse>, not S3's <Error>, so these requests never reach
 * s3_route.c's error rendering. */
#include "s3/s3_authz.h"
#include "s3/s3_iam.h"
#include "common.h"

#include "crypto/hash.h"
#include "iam/iam.h"
#include "s3/s3_int.h"
#include "util/buf.h"
#include "util/enc.h"
#include "util/log.h"
#include "util/tm.h"

#include <errno.h>
#include <string.h>

/* Reads the whole body, at most IAM_MAX_BODY bytes, into the arena. */
static enum iam_err
read_body(struct s3_req *q, struct iam *x, struct str *out)
{
    struct http_req *r = q->http;
    char *p;
    size_t n = 0;

    if (r->content_length > IAM_MAX_BODY)
        return IAM_E_TOO_LARGE;
    p = arena_alloc(q->arena, IAM_MAX_BODY + 1);
    for (;;) {
        ssize_t got = http_body_read(r, p + n, IAM_MAX_BODY + 1 - n);
        if (got < 0) {
            http_resp_close(r);
            return iam_fail(x, IAM_E_INVALID_PARAMETER, "The request body could not be read.");
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n > IAM_MAX_BODY)
            return IAM_E_TOO_LARGE;
    }
    p[n] = '\0';
    *out = str_make(p, n);
    return IAM_E_OK;
}

/* botocore sends no x-amz-content-sha256 to IAM or STS: the signature
 * covers the SHA-256 of the form body, computed here. A client that does
 * send the header must have sent the body it describes. */
static enum iam_err
check_payload(struct s3_req *q, struct iam *x, struct str body)
{
    unsigned char h[32];
    char *hex;

    if (q->auth.payload != SIGV4_SHA256 && q->auth.payload != SIGV4_UNSIGNED)
        return iam_fail(x, IAM_E_INVALID_PARAMETER,
                        "IAM and STS do not accept aws-chunked bodies.");
    hex = arena_alloc(q->arena, 65);
    sha256(body.p, body.n, h);
    hex_encode(h, sizeof(h), hex);
    if (q->auth.payload_hash.p == NULL)
        q->auth.payload_hash = str_make(hex, 64);
    else if (q->auth.payload == SIGV4_SHA256 && !str_eq(q->auth.payload_hash, str_make(hex, 64)))
        return iam_fail(x, IAM_E_SIGNATURE,
                        "The provided 'x-amz-content-sha256' header does not match what was "
                        "computed.");
    return IAM_E_OK;
}

/* What s3_auth_verify() found, as IAM's codes; its detail (q->err_msg)
 * goes along where IAM shows one. */
static enum iam_err
auth_err(struct s3_req *q, struct iam *x, enum s3_err err)
{
    switch (err) {
    case S3E_OK:
        return IAM_E_OK;
    case S3E_INVALID_ACCESS_KEY_ID:
    case S3E_INVALID_TOKEN:
        return IAM_E_INVALID_CLIENT_TOKEN;
    case S3E_EXPIRED_TOKEN:
        return IAM_E_EXPIRED_TOKEN;
    case S3E_SIGNATURE_DOES_NOT_MATCH:
        return IAM_E_SIGNATURE;
    case S3E_REQUEST_TIME_TOO_SKEWED:
        return iam_fail(x, IAM_E_SIGNATURE,
                        "Signature expired: the request time is more than 15 minutes away from "
                        "the server's time.");
    case S3E_AUTH_HEADER_MALFORMED:
    case S3E_AUTH_QUERY_MALFORMED:
        if (q->err_msg != NULL)
            iam_set_msg(x, q->err_msg);
        return IAM_E_INCOMPLETE_SIGNATURE;
    case S3E_ACCESS_DENIED:
        if (q->err_msg != NULL)
            iam_set_msg(x, q->err_msg);
        return IAM_E_ACCESS_DENIED;
    case S3E_INTERNAL:
        return IAM_E_INTERNAL;
    default:
        iam_set_msg(x, q->err_msg != NULL ? q->err_msg : s3_err_msg(err));
        return IAM_E_SIGNATURE;
    }
}

/* iam_req.authorize: the same decision as for S3 requests, on the IAM
 * resource's ARN. */
static int
authorize(void *arg, const char *action, const char *resource)
{
    struct s3_req *q = arg;
    enum s3_err err = s3_authz_check_arn(q, action, str_c(resource), NULL);

    q->action = action;
    if (err == S3E_OK || err == S3E_ACCESS_DENIED)
        q->authz = err == S3E_OK ? S3_AUTHZ_ALLOW : S3_AUTHZ_DENY;
    return err == S3E_OK ? 0 : err == S3E_ACCESS_DENIED ? -EACCES : -EIO;
}

/* iam_req.authorize_trust: AssumeRole's decision, the trust policy as the
 * role's resource policy. */
static int
authorize_trust(void *arg, const char *action, const char *resource, const struct policy *trust,
                int64_t role_account, bool mfa_now)
{
    struct s3_req *q = arg;
    enum s3_err err =
        s3_authz_check_trust(q, action, str_c(resource), trust, role_account, mfa_now, NULL);

    q->action = action;
    if (err == S3E_OK || err == S3E_ACCESS_DENIED)
        q->authz = err == S3E_OK ? S3_AUTHZ_ALLOW : S3_AUTHZ_DENY;
    return err == S3E_OK ? 0 : err == S3E_ACCESS_DENIED ? -EACCES : -EIO;
}

/* The checks before the action runs, in the order clients see them. */
static enum iam_err
front(struct s3_req *q, struct iam *x, struct iam_req *ir)
{
    struct http_req *r = q->http;
    struct iam_param *qp;
    bool is_post = str_eq_c(r->method, "POST");
    enum iam_err err;

    if (!is_post && !str_eq_c(r->method, "GET"))
        return iam_fail(x, IAM_E_INVALID_ACTION, "IAM and STS requests must be POST / or GET /.");
    if (!str_eq_c(r->path, "/"))
        return iam_fail(x, IAM_E_INVALID_ACTION,
                        "IAM and STS requests must be sent to the path /.");
    /* Coffer decision 1 holds for IAM and STS too: refused before anything
     * else, the request's body unread. */
    if (!r->is_tls && http_header(r, "x-amz-mfa").p != NULL)
        return iam_fail(x, IAM_E_INVALID_REQUEST, "Requests that include x-amz-mfa must use HTTPS");
    if (is_post) {
        struct str ct = http_header(r, "content-type"), mime, rest;
        str_split(ct, ';', &mime, &rest);
        if (r->content_length != 0 &&
            !str_ieq_c(str_trim(mime), "application/x-www-form-urlencoded"))
            return iam_fail(x, IAM_E_INVALID_PARAMETER,
                            "The Content-Type of an IAM or STS request must be "
                            "application/x-www-form-urlencoded.");
        err = read_body(q, x, &ir->body);
        if (err != IAM_E_OK)
            return err;
    }
    err = check_payload(q, x, ir->body);
    if (err != IAM_E_OK)
        return err;
    err = auth_err(q, x, s3_auth_verify(q));
    if (err != IAM_E_OK)
        return err;
    ir->account_id = q->account_id;
    ir->user_id = q->user_id;
    ir->account = &q->account;
    ir->key = &q->key_info;
    ir->authorize = authorize;
    ir->authorize_trust = authorize_trust;
    ir->authorize_arg = q;
    qp = arena_alloc(q->arena, (q->n_params ? q->n_params : 1) * sizeof(*qp));
    for (size_t i = 0; i < q->n_params; i++) {
        qp[i].name = q->params[i].name;
        qp[i].value = q->params[i].value;
    }
    ir->query = qp;
    ir->n_query = q->n_params;
    err = iam_prepare(x);
    if (err != IAM_E_OK)
        return err;
    /* Over plain HTTP a code would be burned in clear and a secret or seed
     * returned in clear: refused before the action runs. */
    if (iam_needs_tls(x) && !r->is_tls)
        return iam_fail(x, IAM_E_INVALID_REQUEST, "%s requests must use HTTPS", iam_action_name(x));
    return IAM_E_OK;
}

void
s3_iam_handle(struct s3_req *q)
{
    struct http_req *r = q->http;
    struct iam_req ir = {
        .md = q->srv->md,
        .arena = q->arena,
        .is_sts = str_eq_c(q->auth.service, "sts"),
        .now_ms = tm_now_ms(),
        .request_id = r->request_id,
        .source = r->peer,
        .body = STR_LIT(""),
    };
    struct iam *x = iam_new(&ir);
    struct buf res, out;
    enum iam_err err;
    int status;

    buf_init(&res, IAM_MAX_RESULT);
    err = front(q, x, &ir);
    if (err == IAM_E_OK)
        err = iam_run(x, &res);
    status = iam_render(x, err, &res, &out);
    s3_log_fields(q, err != IAM_E_OK ? iam_err_code(err) : "");
    if (status < 0) {
        /* Only a result past IAM_MAX_RESULT gets here. */
        log_error("iam: response too large, request %s", r->request_id);
        http_resp_close(r);
        http_resp_begin(r, 500, 0);
    } else {
        http_resp_header_c(r, "Content-Type", "text/xml");
        if (http_resp_begin(r, status, (int64_t)out.n) == 0)
            (void)http_resp_write(r, out.p, out.n);
    }
    /* Both may hold a seed or a secret. */
    if (out.p != NULL)
        explicit_bzero(out.p, out.n);
    buf_free(&out);
    if (res.p != NULL)
        explicit_bzero(res.p, res.n);
    buf_free(&res);
}
