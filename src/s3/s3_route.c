/* s3_route.c -- the S3 front door: s3_handle() runs a request through its
 * phases (enum s3_phase): parse (addressing, path or virtual-hosted, and
 * the query), authenticate (SigV4/SigV2), route (the operation table),
 * load the bucket, authorize, the operation, and log, the one place errors
 * are rendered as XML. Handlers never render errors. */
#include "common.h"
#include "bounds.h"
#include "s3/s3_authz.h"
#include "s3/s3_int.h"
#include "s3/s3_iam.h"
#include "s3/s3_lens.h"
#include "s3/s3_mfa.h"
#include "auth/sigv2.h"
#include "crypto/hash.h"
#include "util/enc.h"
#include "util/log.h"
#include "util/tm.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* CTL: S3 Control (s3_control.c); its rows' sub-resource is the path. */
enum level { SVC, BKT, OBJ, CTL };

/* s3_ops.def: what routing and each phase need per operation. */
static const struct {
    const char *method;
    enum level level;
    const char *sub;
    enum s3_err (*fn)(struct s3_req *q);
    const char *name;
    const char *action, *vaction;
    bool bucket, body, loop;
} ops[] = {
#define S3_OP(name, method, level, sub, fn, action, vaction, bucket, body, loop)                   \
    {method, level, sub, fn, #name, action, vaction, bucket, body, loop},
#include "s3/s3_ops.def"
#undef S3_OP
};

/* Sub-resources S3 defines that Coffer does not provide: any request naming
 * one gets 501 NotImplemented rather than being mistaken for another op. */
static const char *const unsupported_subs[] = {
    "accelerate", "analytics", "encryption",
    "intelligent-tiering", "inventory", "legal-hold", "logging", "metadataTable",
    "metrics", "notification", "object-lock", "replication", "requestPayment",
    "retention", "select", "torrent", "website", "renameObject", "session",
};

struct str
s3_param(const struct s3_req *q, const char *name, bool *present)
{
    for (size_t i = 0; i < q->n_params; i++) {
        if (str_eq_c(q->params[i].name, name)) {
            if (present)
                *present = true;
            return q->params[i].value;
        }
    }
    if (present)
        *present = false;
    return STR_NULL;
}

bool
s3_has_param(const struct s3_req *q, const char *name)
{
    bool present;

    (void)s3_param(q, name, &present);
    return present;
}

void
s3_set_error_detail(struct s3_req *q, const char *msg)
{
    q->err_msg = msg;
}

void
s3_err_elems(struct s3_req *q, const char *tag1, struct str v1, const char *tag2, struct str v2)
{
    struct buf b;

    buf_init(&b, 8192);
    if (tag1 != NULL)
        xml_elem(&b, tag1, v1);
    if (tag2 != NULL)
        xml_elem(&b, tag2, v2);
    q->err_extra_xml = arena_cstr(q->arena, buf_str(&b));
    buf_free(&b);
}

static enum s3_err
parse_query(struct s3_req *q)
{
    struct str rest = q->http->query, item;
    size_t n = 1;

    for (size_t i = 0; i < rest.n; i++)
        n += rest.p[i] == '&';
    if (n > 256)
        return S3E_INVALID_ARGUMENT;
    q->params = arena_alloc(q->arena, n * sizeof(*q->params));
    q->n_params = 0;
    while (rest.p != NULL && rest.n > 0) {
        struct str name, value;
        str_split(rest, '&', &item, &rest);
        if (item.n == 0)
            continue;
        bool has_eq = str_split(item, '=', &name, &value);
        struct s3_param *sp = &q->params[q->n_params];
        if (uri_decode_form_arena(q->arena, name, &sp->name) < 0)
            return S3E_INVALID_URI;
        if (has_eq) {
            if (uri_decode_form_arena(q->arena, value, &sp->value) < 0)
                return S3E_INVALID_URI;
        } else {
            sp->value = STR_NULL;
        }
        q->n_params++;
    }
    return S3E_OK;
}

/* Splits host + path into bucket and key, decoding both. */
static enum s3_err
parse_target(struct s3_req *q)
{
    struct str host = http_header(q->http, "host"), path = q->http->path, hname, port;
    const char *domain = q->srv->domain;
    size_t dn = strlen(domain);
    char *dec;
    int n;

    str_split(host, ':', &hname, &port);
    if (hname.p != NULL && hname.p[0] == '[')
        hname = host; /* IPv6 literal: never a bucket */
    if (path.n == 0 || path.p[0] != '/')
        return S3E_INVALID_URI;
    dec = arena_alloc(q->arena, path.n + 1);
    n = uri_decode(path, dec);
    if (n < 0)
        return S3E_INVALID_URI;
    dec[n] = '\0';
    struct str p = str_make(dec + 1, (size_t)n - 1);

    /* S3 Control shares the endpoint: its paths start /v20180820/ and its
     * requests carry x-amz-account-id. Clients put the account id in front
     * of the host (ACCOUNT.s3-control..., here ACCOUNT.DOMAIN), which then
     * names no bucket [spec-authorization §3.3, decision]: such a label on
     * a /v20180820/ path is S3 Control even without the header (the
     * handler refuses that), and must name the header's account [spec
     * lifecycle-and-storage-lens B2]. */
    if (str_has_prefix(p, "v20180820/") && (http_header(q->http, "x-amz-account-id").p != NULL ||
                                             s3_ctl_host_label(hname).p != NULL)) {
        q->control = str_make(p.p + 10, p.n - 10);
        return s3_ctl_host_check(q, hname);
    }
    if (hname.n > dn + 1 && hname.p[hname.n - dn - 1] == '.' &&
        strncasecmp(hname.p + hname.n - dn, domain, dn) == 0) {
        q->bucket = str_make(hname.p, hname.n - dn - 1);
        q->is_vhost = true;
        q->key = p.n > 0 ? p : STR_NULL;
        /* Bucket names are lower case; hosts arrive in any case. */
        char *b = arena_strndup(q->arena, q->bucket.p, q->bucket.n);
        for (size_t i = 0; i < q->bucket.n; i++)
            if (b[i] >= 'A' && b[i] <= 'Z')
                b[i] = (char)(b[i] + 32);
        q->bucket = str_make(b, q->bucket.n);
    } else if (p.n > 0) {
        struct str b, k;
        if (str_split(p, '/', &b, &k) && k.n > 0)
            q->key = k;
        else
            q->key = STR_NULL;
        q->bucket = b;
    }
    if (q->key.p != NULL)
        return s3_key_check(q->key);
    return S3E_OK;
}

enum s3_err
s3_key_check(struct str key)
{
    if (key.n > S3_MAX_KEY_BYTES)
        return S3E_KEY_TOO_LONG;
    if (!str_valid_utf8(key))
        return S3E_INVALID_URI;
    return S3E_OK;
}

static void
auth_input(struct s3_req *q, struct sigv4_input *in)
{
    struct http_req *r = q->http;
    struct sigv4_hdr *hv = arena_alloc(q->arena, (r->n_hdrs ? r->n_hdrs : 1) * sizeof(*hv));

    for (size_t i = 0; i < r->n_hdrs; i++) {
        hv[i].name = r->hdrs[i].name;
        hv[i].value = r->hdrs[i].value;
    }
    in->method = r->method;
    in->path = r->path;
    in->query = r->query;
    in->hdrs = hv;
    in->n_hdrs = r->n_hdrs;
    in->now_s = tm_now_ms() / 1000;
}

/* Parses the signature (header or presigned query) into q->auth. */
static enum s3_err
auth_parse(struct s3_req *q)
{
    struct sigv4_input in;
    const char *msg = NULL;
    enum auth_err err;

    auth_input(q, &in);
    if (sigv2_detect(&in, q->arena, &q->v2, &err)) {
        /* SigV2 carries no payload hash, region or service of its own. */
        q->is_sigv2 = true;
        memset(&q->auth, 0, sizeof(q->auth));
        q->auth.is_presigned = q->v2.is_presigned;
        q->auth.access_key_id = q->v2.access_key_id;
        q->auth.region = str_c(q->srv->region);
        q->auth.service = STR_LIT("s3");
        q->auth.payload = SIGV4_UNSIGNED;
        q->auth.decoded_length = -1;
        q->auth.session_token = http_header(q->http, "x-amz-security-token");
        return s3_err_from_auth(err);
    }
    err = sigv4_parse(&in, q->arena, &q->auth, &msg);
    if (err != AUTH_E_OK)
        q->err_msg = msg;
    return s3_err_from_auth(err);
}

enum s3_err
s3_auth_verify(struct s3_req *q)
{
    struct sigv4_input in;
    struct md_key key = {0};
    const char *msg = NULL;
    enum auth_err err;
    int rc;

    if (q->auth.is_anonymous) {
        /* Unsigned: no account, no user; only policies or ACL grants that
         * name everyone can let it through [spec-authorization §1.5]. */
        q->account_id = 0;
        q->user_id = -1;
        return S3E_OK;
    }
    /* s3cmd signs for the legacy "US" location, which is us-east-1. */
    if (!str_eq_c(q->auth.region, q->srv->region) &&
        !(str_eq_c(q->auth.region, "US") && strcmp(q->srv->region, "us-east-1") == 0)) {
        q->err_msg = arena_printf(q->arena,
                                  "The authorization header is malformed; the region '%.*s' is "
                                  "wrong; expecting '%s'",
                                  STR_FMT(q->auth.region), q->srv->region);
        return q->auth.is_presigned ? S3E_AUTH_QUERY_MALFORMED : S3E_AUTH_HEADER_MALFORMED;
    }
    rc = md_key_get(md_reader(q->srv->md), q->auth.access_key_id, q->arena, &key);
    if (rc == -ENOENT || (rc == 0 && !key.is_active))
        return S3E_INVALID_ACCESS_KEY_ID;
    if (rc < 0)
        return s3_err_from_errno(rc); /* -EBUSY: the store is unreachable, 503 */
    auth_input(q, &in);
    if (q->is_sigv2)
        err = sigv2_verify(&in, &q->v2, key.secret, q->is_vhost ? q->bucket : STR_NULL, q->arena,
                           &msg);
    else
        err = sigv4_verify(&in, &q->auth, key.secret, q->arena, &q->sig, &msg);
    if (err != AUTH_E_OK) {
        q->err_msg = msg;
        return s3_err_from_auth(err);
    }
    return s3_auth_caller(q, &key);
}

enum s3_err
s3_auth_caller(struct s3_req *q, const struct md_key *key)
{
    int rc;

    if (key->expires_ms > 0) {
        /* Temporary credentials: the token must come with the request and
         * match, and the session must not have expired. */
        unsigned char h[32];
        char hex[65];
        if (q->auth.session_token.p == NULL)
            return S3E_INVALID_ACCESS_KEY_ID;
        sha256(q->auth.session_token.p, q->auth.session_token.n, h);
        hex_encode(h, 32, hex);
        if (!str_ct_eq(str_make(hex, 64), key->session_token_sha256)) {
            q->err_msg = "The provided token is malformed or otherwise invalid.";
            return S3E_INVALID_TOKEN;
        }
        if (tm_now_ms() >= key->expires_ms)
            return S3E_EXPIRED_TOKEN;
    }
    q->key_info = *key;
    q->account_id = key->account_id;
    q->user_id = key->user_id;
    rc = md_account_get(md_reader(q->srv->md), key->account_id, q->arena, &q->account);
    if (rc < 0)
        return rc == -ENOENT ? S3E_INVALID_ACCESS_KEY_ID : s3_err_from_errno(rc);
    return S3E_OK;
}

static enum s3_err
route(struct s3_req *q)
{
    enum level lv = q->control.p ? CTL : q->key.p ? OBJ : q->bucket.p ? BKT : SVC;
    int fallback = -1;
    bool method_known = false;

    for (size_t i = 0; i < ARRAY_LEN(ops); i++) {
        if (ops[i].level != lv || !str_eq_c(q->http->method, ops[i].method))
            continue;
        method_known = true;
        if (ops[i].sub == NULL) {
            if (fallback < 0)
                fallback = (int)i;
        } else if (lv == CTL ? s3_ctl_match(q, ops[i].sub) : s3_has_param(q, ops[i].sub)) {
            q->op = (enum s3_op)i;
            return S3E_OK;
        }
    }
    for (size_t i = 0; i < ARRAY_LEN(unsupported_subs); i++)
        if (s3_has_param(q, unsupported_subs[i]))
            return S3E_NOT_IMPLEMENTED;
    /* ?acl takes GET and PUT only: never another operation's handler. */
    if ((lv == BKT || lv == OBJ) && s3_has_param(q, "acl"))
        return S3E_METHOD_NOT_ALLOWED;
    /* ?tagging takes GET, PUT and DELETE only, as ?acl. */
    if ((lv == BKT || lv == OBJ) && s3_has_param(q, "tagging"))
        return S3E_METHOD_NOT_ALLOWED;
    if (fallback < 0) {
        if (method_known || lv == SVC || lv == CTL)
            return S3E_NOT_IMPLEMENTED;
        return S3E_METHOD_NOT_ALLOWED;
    }
    q->op = (enum s3_op)fallback;
    /* A browser upload has no query: any other POST to a bucket names an
     * operation Coffer does not route. */
    if (q->op == S3OP_POST_OBJECT && q->n_params > 0)
        return S3E_NOT_IMPLEMENTED;
    return S3E_OK;
}

int
s3_reply_xml(struct s3_req *q, int status, struct buf *xml)
{
    int rc;

    http_resp_header_c(q->http, "Content-Type", "application/xml");
    rc = http_resp_begin(q->http, status, (int64_t)xml->n);
    if (rc == 0)
        rc = http_resp_write(q->http, xml->p, xml->n);
    buf_free(xml);
    return rc;
}

enum s3_err
s3_reply_built(struct s3_req *q, int rc, struct buf *xml)
{
    if (rc != 0) {
        buf_free(xml);
        return S3E_INTERNAL;
    }
    (void)s3_reply_xml(q, 200, xml);
    return S3E_OK;
}

enum s3_err
s3_reply_stored(struct s3_req *q, const struct md_bucket *b, struct str doc, enum s3_err none)
{
    struct buf x;

    if (doc.p == NULL) {
        s3_err_elems(q, "BucketName", b->name, NULL, STR_NULL);
        return none;
    }
    buf_init(&x, doc.n + 1);
    return s3_reply_built(q, buf_append_str(&x, doc), &x);
}

int
s3_reply_empty(struct s3_req *q, int status)
{
    return http_resp_begin(q->http, status, 0);
}

enum s3_err
s3_req_bucket(struct s3_req *q, struct md_bucket *b)
{
    ASSERT(q->phase > S3PH_BUCKET && ops[q->op].bucket);
    if (q->bucket_err == S3E_OK)
        *b = q->b;
    return q->bucket_err;
}

/* x-amz-expected-bucket-owner (x-amz-source-expected-bucket-owner for a
 * copy source): 12 digits naming the bucket's owner, else AccessDenied; a
 * value that is no account number is 400 InvalidArgument [§9]. */
static enum s3_err
expected_owner(struct s3_req *q, const struct md_bucket *b, bool copy_source)
{
    const char *name = copy_source ? "x-amz-source-expected-bucket-owner"
                                   : "x-amz-expected-bucket-owner";
    struct str v = http_header(q->http, name);
    unsigned long long id;

    if (v.p == NULL)
        return S3E_OK;
    if (v.n != 12 || str_to_u64(v, &id) < 0) {
        q->err_msg = "The expected bucket owner must be a 12-digit account id.";
        q->err_arg_name = name;
        q->err_arg_value = arena_cstr(q->arena, v);
        return S3E_INVALID_ARGUMENT;
    }
    return (int64_t)id == b->account_id ? S3E_OK : S3E_ACCESS_DENIED;
}

enum s3_err
s3_authorize(struct s3_req *q, const struct s3_access *a)
{
    enum s3_err err;

    if (!a->copy_source) {
        q->action = a->action;
        /* x-amz-mfa on any request: HTTPS only, well-formed, verified where
         * present [spec-mfa-delete §1.3, decision 6]. */
        err = s3_mfa_route_check(q);
        if (err != S3E_OK)
            return err;
    }
    if (a->bucket != NULL) {
        err = expected_owner(q, a->bucket, a->copy_source);
        if (err != S3E_OK)
            return err;
    }
    if (a->defer)
        return S3E_OK;
    err = a->resource.p != NULL ? s3_authz_check_arn(q, a->action, a->resource, NULL)
                                : s3_authz_check(q, a->action, a->bucket, a->key, a->vid,
                                                 a->copy_source, NULL);
    if (!a->copy_source && (err == S3E_OK || err == S3E_ACCESS_DENIED))
        q->authz = err == S3E_OK ? S3_AUTHZ_ALLOW : S3_AUTHZ_DENY;
    return err;
}

void
s3_etag_quoted(struct str etag, char out[80])
{
    size_t n = etag.n < 76 ? etag.n : 76;

    out[0] = '"';
    memcpy(out + 1, etag.p ? etag.p : "", n);
    out[n + 1] = '"';
    out[n + 2] = '\0';
}

enum s3_err
s3_op_not_implemented(struct s3_req *q)
{
    q->err_msg = "This operation is not implemented by Coffer.";
    return S3E_NOT_IMPLEMENTED;
}

static bool
xml_representable(struct str s)
{
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return false;
    }
    return true;
}

static void
render_error(struct s3_req *q, enum s3_err err)
{
    struct http_req *r = q->http;
    struct buf b;
    int status = s3_err_status(err);
    const char *msg = q->err_msg ? q->err_msg : s3_err_msg(err);

    if (http_resp_started(r)) {
        /* Too late for an error document: cut the connection so the client
         * sees a short body rather than a silent success. */
        http_resp_close(r);
        return;
    }
    if (err == S3E_METHOD_NOT_ALLOWED && q->err_resource_type == NULL)
        http_resp_header_c(r, "Allow", "GET, PUT, HEAD, DELETE, POST");
    if (status == 304 || r->is_head) {
        /* No body: the status, x-amz-request-id and headers say it all. */
        http_resp_begin(r, status, status == 304 ? -1 : 0);
        return;
    }
    buf_init(&b, 64 * 1024);
    xml_decl(&b);
    xml_open(&b, "Error");
    xml_elem_c(&b, "Code", s3_err_code(err));
    xml_elem_c(&b, "Message", msg);
    if (q->err_arg_name) {
        xml_elem_c(&b, "ArgumentName", q->err_arg_name);
        if (q->err_arg_value)
            xml_elem_c(&b, "ArgumentValue", q->err_arg_value);
    }
    /* A key with bytes XML 1.0 cannot carry would make the whole error
     * document unparsable for the client: leave the element out. */
    if (q->err_key.p && xml_representable(q->err_key))
        xml_elem(&b, "Key", q->err_key);
    if (q->err_version_id.p)
        xml_elem(&b, "VersionId", q->err_version_id);
    if (q->err_method) {
        xml_elem_c(&b, "Method", q->err_method);
        xml_elem_c(&b, "ResourceType", q->err_resource_type);
    }
    if (err == S3E_NO_SUCH_BUCKET || err == S3E_BUCKET_NOT_EMPTY ||
        err == S3E_BUCKET_ALREADY_EXISTS || err == S3E_BUCKET_ALREADY_OWNED_BY_YOU)
        xml_elem(&b, "BucketName", q->bucket);
    if (q->err_extra_xml)
        buf_append_c(&b, q->err_extra_xml);
    xml_elem(&b, "Resource", q->http->path);
    xml_elem_c(&b, "RequestId", r->request_id);
    xml_elem_c(&b, "HostId", r->request_id);
    xml_close(&b, "Error");
    s3_reply_xml(q, status, &b);
}

/* The answers the HTTP layer gives itself (malformed or oversized requests,
 * a header timeout) as S3 error documents. No handler ran, so they carry
 * only Code, Message and RequestId. */
static const struct {
    const char *code, *msg;
} http_err_info[] = {
    [HTTP_ERR_BAD_REQUEST] = {"BadRequest", "An error occurred when parsing the HTTP request."},
    [HTTP_ERR_TOO_MANY_HEADERS] = {"RequestHeaderSectionTooLarge",
                                   "Your request has too many headers."},
    [HTTP_ERR_HEADERS_TOO_LARGE] = {"RequestHeaderSectionTooLarge",
                                    "Your request header section exceeds the maximum allowed "
                                    "size."},
    [HTTP_ERR_FOLDED_HEADER] = {"InvalidRequest", "Folded header lines are not supported."},
    [HTTP_ERR_DUPLICATE_HOST] = {"InvalidRequest", "The request has more than one Host header."},
    [HTTP_ERR_MISSING_HOST] = {"InvalidRequest", "HTTP/1.1 requests must have a Host header."},
    [HTTP_ERR_LENGTH_TOO_LARGE] = {"InvalidArgument", "The Content-Length is too large."},
    [HTTP_ERR_TIMEOUT] = {"RequestTimeout",
                          "Your socket connection to the server was not read from or written to "
                          "within the timeout period."},
};

size_t
s3_http_error_body(void *ctx, int status, enum http_err err, const char *request_id, char *out,
                   size_t cap, const char **content_type)
{
    int n;

    (void)ctx;
    (void)status;
    ASSERT((size_t)err < ARRAY_LEN(http_err_info) && http_err_info[err].code != NULL);
    n = snprintf(out, cap,
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
                 "<Message>%s</Message><RequestId>%s</RequestId></Error>",
                 http_err_info[err].code, http_err_info[err].msg, request_id);
    if (n <= 0)
        return 0;
    *content_type = "application/xml";
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

/* ---- the phases ------------------------------------------------------- */

/* What a phase tells s3_handle(). */
enum step {
    STEP_NEXT,    /* go on with the next phase */
    STEP_FAIL,    /* q->err is the answer: on to the log phase */
    STEP_DECLINE, /* on the loop thread: hand off; q->phase is where the
                   * worker resumes */
    STEP_DONE,    /* answered by another protocol (IAM, STS) */
    STEP_ANSWERED, /* answered here (a CORS preflight): on to the log phase */
};

static bool
has_mfa_header(const struct s3_req *q)
{
    return http_header(q->http, "x-amz-mfa").p != NULL;
}

/* The snapshot of md_reader() this thread's phases share (see below). */
static void
snapshot_end(struct s3_req *q)
{
    md_snapshot_end(md_reader(q->srv->md));
}

static enum step
ph_parse(struct s3_req *q)
{
    q->err = parse_query(q);
    if (q->err == S3E_OK)
        q->err = parse_target(q);
    /* A browser's preflight carries no signature (a presigned URL's is for
     * the method it asks about): the bucket's CORS rules alone answer it,
     * before authentication. */
    if (q->err == S3E_OK && str_eq_c(q->http->method, "OPTIONS")) {
        q->op_name = "CORS_PREFLIGHT";
        q->err = s3_cors_preflight(q);
        return q->err == S3E_OK ? STEP_ANSWERED : STEP_FAIL;
    }
    return q->err == S3E_OK ? STEP_NEXT : STEP_FAIL;
}

/* A presigned URL carries the x-amz-* headers it was signed with in its
 * query, where SDK presigners put them and the signature covers them: AWS
 * reads them as headers, so the handlers see them among the headers (a
 * header sent too wins), never accepted and ignored. The signature's own
 * parameters are not headers. */
static void
query_headers(struct s3_req *q)
{
    static const char *const auth_params[] = {
        "x-amz-algorithm",     "x-amz-credential", "x-amz-date",           "x-amz-expires",
        "x-amz-signedheaders", "x-amz-signature",  "x-amz-security-token", "x-amz-content-sha256",
    };
    struct http_hdr *h = NULL;
    size_t n = 0;

    for (size_t i = 0; i < q->n_params; i++) {
        struct str name = q->params[i].name;
        bool skip = name.n < 6 || strncasecmp(name.p, "x-amz-", 6) != 0 ||
                    http_header(q->http, arena_cstr(q->arena, name)).p != NULL;
        for (size_t k = 0; k < ARRAY_LEN(auth_params) && !skip; k++)
            skip = str_ieq_c(name, auth_params[k]);
        if (skip)
            continue;
        if (h == NULL) {
            h = arena_alloc(q->arena, (q->http->n_hdrs + q->n_params) * sizeof(*h));
            memcpy(h, q->http->hdrs, q->http->n_hdrs * sizeof(*h));
            n = q->http->n_hdrs;
        }
        h[n].name = name;
        h[n].value = q->params[i].value.p != NULL ? q->params[i].value : STR_LIT("");
        n++;
    }
    if (h != NULL) {
        q->http->hdrs = h;
        q->http->n_hdrs = n;
    }
}

/* Authentication before anything that depends on what exists: a request
 * whose signature fails learns nothing. An unsigned one goes on as the
 * anonymous principal, which only policies or ACLs naming everyone let
 * through (the authorize phase). */
static enum step
ph_authenticate(struct s3_req *q)
{
    struct http_req *r = q->http;

    if (!q->auth_parsed) {
        q->auth_parsed = true;
        q->err = auth_parse(q);
    }
    /* IAM and STS query requests share the endpoint; they are signed for
     * their own service and speak their own error format. */
    if (q->err == S3E_OK && !q->auth.is_anonymous &&
        (str_eq_c(q->auth.service, "iam") || str_eq_c(q->auth.service, "sts"))) {
        if (r->on_loop)
            return STEP_DECLINE; /* resumes here, the signature parsed */
        s3_iam_handle(q);
        return STEP_DONE;
    }
    /* Coffer decision 1: x-amz-mfa over plain HTTP is refused before
     * anything else, authentication included [spec-mfa-delete §1.3]. */
    if (q->err == S3E_OK && !r->is_tls && has_mfa_header(q)) {
        if (r->on_loop)
            return STEP_DECLINE; /* the refusal is audited: a write */
        q->err = s3_mfa_precheck(q);
    }
    /* The key, account, route and bucket lookups share one read snapshot
     * (failing to open it: one per read). Handlers that write must not run
     * in it; GET and HEAD of an object go on with it for their version row
     * (s3_get_object ends it). */
    if (q->err == S3E_OK) {
        struct md_conn *c = md_reader(q->srv->md);

        (void)md_snapshot_begin(c);
        /* Not routed yet: GET and HEAD of an object, and their
         * sub-resources, most of which read the version too. */
        if (q->key.p != NULL &&
            (str_eq_c(q->http->method, "GET") || str_eq_c(q->http->method, "HEAD")))
            md_version_prefetch_named(c, q->bucket, q->key, s3_param(q, "versionId", NULL));
        q->err = s3_auth_verify(q);
    }
    if (q->err == S3E_OK && q->auth.is_presigned)
        query_headers(q);
    return q->err == S3E_OK ? STEP_NEXT : STEP_FAIL;
}

static enum step
ph_route(struct s3_req *q)
{
    q->err = route(q);
    if (q->err != S3E_OK)
        return STEP_FAIL;
    q->op_name = ops[q->op].name;
    /* On the loop thread only operations that read metadata alone (GET and
     * HEAD of an object whose data is in its row) go on; x-amz-mfa, whose
     * verification writes, goes to a worker too. */
    if (q->http->on_loop && (!ops[q->op].loop || ops[q->op].body || has_mfa_header(q)))
        return STEP_DECLINE;
    return STEP_NEXT;
}

/* Once, for bucket and object operations; the verdict on it is the
 * authorize phase's, and both are answered by s3_req_bucket(). */
static enum step
ph_bucket(struct s3_req *q)
{
    if (ops[q->op].bucket) {
        int rc = md_bucket_get(md_reader(q->srv->md), q->bucket, q->arena, &q->b);
        q->bucket_err = rc == -ENOENT ? S3E_NO_SUCH_BUCKET : s3_err_from_errno(rc);
        if (rc == 0)
            s3_cors_prepare(q);
    }
    if (!ops[q->op].loop)
        snapshot_end(q);
    return STEP_NEXT;
}

/* Every operation is authorized here, before it looks at anything but
 * its bucket [spec-authorization §1.7]; a missing bucket is the handler's
 * NoSuchBucket (bucket names are public). DeleteObjects authorizes each
 * key in its handler, as DeleteObject would. A browser POST upload is
 * signed by its form, not its headers: who asks, and for which key, is
 * known only once the handler has read the fields, so this phase does
 * the x-amz-mfa and expected-owner checks and the handler asks
 * s3_authz_check() for s3:PutObject itself (s3_post.c). */
static enum step
ph_authorize(struct s3_req *q)
{
    struct s3_access a = {
        .action = ops[q->op].action,
        .bucket = ops[q->op].bucket && q->bucket_err == S3E_OK ? &q->b : NULL,
        .key = q->key,
        .vid = s3_param(q, "versionId", NULL),
        .resource = q->control.p != NULL ? s3_ctl_resource(q) : STR_NULL,
    };

    if (ops[q->op].vaction != NULL && a.vid.p != NULL)
        a.action = ops[q->op].vaction;
    /* PutObjectTagging's s3:RequestObjectTag keys are in its body: its
     * handler decides once it has read it (s3_tagging_ops.c). */
    a.defer = (ops[q->op].bucket && q->bucket_err != S3E_OK) || q->op == S3OP_DELETE_OBJECTS ||
              q->op == S3OP_POST_OBJECT || q->op == S3OP_PUT_OBJECT_TAGGING;
    q->err = s3_authorize(q, &a);
    return q->err == S3E_OK ? STEP_NEXT : STEP_FAIL;
}

static enum step
ph_operation(struct s3_req *q)
{
    /* Before the handler, which may start the response itself. */
    s3_cors_headers(q);
    q->err = ops[q->op].fn(q);
    /* On the loop thread a handler declines by answering nothing: the data
     * is in files (s3_get_object). It runs again on the worker. */
    if (q->err == S3E_OK && q->http->on_loop && !http_resp_started(q->http))
        return STEP_DECLINE;
    return q->err == S3E_OK ? STEP_NEXT : STEP_FAIL;
}

void
s3_log_fields(struct s3_req *q, const char *error_code)
{
    static const char *const verdict[] = {"", "allow", "deny"};
    struct s3_principal *pr = &q->pr;
    struct str who = !pr->is_set    ? STR_LIT("")
                     : pr->anonymous ? STR_LIT("anonymous")
                     : pr->who.arn.n > 0 ? pr->who.arn
                                         : STR_LIT("");
    char acct[80];

    /* Refused before the authorize phase (an MFA or a bucket-phase error)
     * but signed: the account is known, so say whose request it was. */
    if (!pr->is_set && q->account_id > 0) {
        if (q->user_id == 0)
            snprintf(acct, sizeof(acct), "arn:aws:iam::%012lld:root", (long long)q->account_id);
        else
            snprintf(acct, sizeof(acct), "arn:aws:iam::%012lld:user/#%lld",
                     (long long)q->account_id, (long long)q->user_id);
        who = str_c(acct);
    }

    /* The sub-resource is the routing table's name for it ("versioning",
     * "uploads"), never client text: the query string stays out of the log
     * (presigned URLs carry credentials, x-amz-mfa a code). */
    const char *sub = q->op_name != NULL && ops[q->op].sub != NULL ? ops[q->op].sub : "";

    snprintf(q->http->log_extra, sizeof(q->http->log_extra),
             "\"principal\":\"%.*s\",\"op\":\"%s\",\"action\":\"%s\",\"sub\":\"%.*s\","
             "\"authz\":\"%s\",\"error\":\"%s\"",
             (int)(who.n > 160 ? 160 : who.n), who.p ? who.p : "", q->op_name ? q->op_name : "",
             q->action ? q->action : "", (int)strnlen(sub, 48), sub, verdict[q->authz],
             error_code);
}

static void
ph_log(struct s3_req *q)
{
    struct http_req *r = q->http;

    if (q->err != S3E_OK) {
        if (q->err == S3E_INTERNAL)
            log_error("%s %.*s: internal error (request %s)", q->op_name ? q->op_name : "-",
                      STR_FMT(r->path), r->request_id);
        /* A browser reads an error only with its CORS headers. */
        s3_cors_headers(q);
        render_error(q, q->err);
    }
    s3_log_fields(q, q->err != S3E_OK ? s3_err_code(q->err) : "");
    snapshot_end(q); /* if an error left it open */
}

static enum step (*const phases[])(struct s3_req *q) = {
    [S3PH_PARSE] = ph_parse,         [S3PH_AUTHENTICATE] = ph_authenticate,
    [S3PH_ROUTE] = ph_route,         [S3PH_BUCKET] = ph_bucket,
    [S3PH_AUTHORIZE] = ph_authorize, [S3PH_OPERATION] = ph_operation,
};

void
s3_handle(struct http_req *r)
{
    struct s3_req *q = r->app_state;

    if (q == NULL) {
        /* On the loop thread (see http_server.h) only GET and HEAD are
         * taken further; nothing before the operation writes. */
        if (r->on_loop && !str_eq_c(r->method, "GET") && !str_eq_c(r->method, "HEAD"))
            return;
        /* A shared store (PostgreSQL) is round trips over a network, and a
         * reconnection may wait connect_timeout: never on the loop thread. */
        if (r->on_loop && md_shared(((struct srv *)r->srv_ctx)->md))
            return;
        q = arena_alloc(r->arena, sizeof(*q));
        *q = (struct s3_req){
            .http = r,
            .srv = r->srv_ctx,
            .arena = r->arena,
            .bucket = STR_NULL,
            .key = STR_NULL,
            .phase = S3PH_PARSE,
        };
        r->app_state = q;
    }
    /* Resumed on a worker: the loop thread's snapshot ended there (a
     * snapshot never crosses threads); the phases to come open their own
     * where they need one (s3_get_object). */
    while (q->phase < S3PH_LOG) {
        enum step st = phases[q->phase](q);
        if (st == STEP_DECLINE) {
            if (q->phase == S3PH_ROUTE)
                q->phase = S3PH_BUCKET; /* the rest runs on the worker */
            q->cors_sent = false; /* http/ drops the loop's response headers */
            snapshot_end(q);
            return;
        }
        if (st == STEP_DONE)
            return;
        if (st == STEP_FAIL || st == STEP_ANSWERED)
            break;
        q->phase++;
    }
    q->phase = S3PH_LOG;
    ph_log(q);
}
