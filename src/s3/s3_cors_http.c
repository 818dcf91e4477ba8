/* s3_cors_http.c -- CORS on the wire: Put/Get/DeleteBucketCors, the
 * unauthenticated OPTIONS preflight, and the Access-Control-* headers of
 * actual requests that carry an Origin. What a configuration means is
 * s3_cors.c's; the bucket row keeps it as canonical XML, parsed again for
 * each request that needs it (a few rules: microseconds). */
#include "common.h"
#include "bounds.h"
#include "s3/s3_cors.h"
#include "s3/s3_int.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <string.h>

/* What the matching rule says, rendered once per request; added to the
 * response by s3_cors_headers() on whichever thread answers. */
struct s3_cors_resp {
    const char *allow_origin;
    const char *allow_methods;
    const char *allow_headers; /* preflight only; NULL: none */
    const char *expose;        /* NULL: none */
    const char *max_age;       /* NULL: none */
    bool credentials;
};

static const char msg_not_allowed[] =
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of "
    "Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers "
    "are not whitelisted by the resource's CORS spec.";

/* "a, b, c" in the arena; lower-cased when lower (header names as echoed). */
static const char *
join(struct arena *a, const struct str *v, size_t n, bool lower)
{
    size_t len = 0, at = 0;
    char *out;

    if (n == 0)
        return NULL;
    for (size_t i = 0; i < n; i++)
        len += v[i].n + 2;
    out = arena_alloc(a, len + 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            memcpy(out + at, ", ", 2);
            at += 2;
        }
        for (size_t j = 0; j < v[i].n; j++) {
            char c = v[i].p[j];
            out[at++] = lower && c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
        }
    }
    out[at] = '\0';
    return out;
}

static const char *
methods_of(struct arena *a, unsigned bits)
{
    static const char *const names[] = {"GET", "PUT", "HEAD", "POST", "DELETE"};
    struct str v[ARRAY_LEN(names)];
    size_t n = 0;

    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (bits & s3_cors_method_bit(str_c(names[i])))
            v[n++] = str_c(names[i]);
    return join(a, v, n, false);
}

/* The names of Access-Control-Request-Headers, trimmed, blanks dropped. */
static const char *
requested_headers(struct arena *a, struct str list)
{
    struct str *v, rest = list, item;
    size_t n = 0, cap = 1;

    for (size_t i = 0; i < list.n; i++)
        cap += list.p[i] == ',';
    v = arena_alloc(a, cap * sizeof(*v));
    while (rest.p != NULL && rest.n > 0) {
        (void)str_split(rest, ',', &item, &rest);
        item = str_trim(item);
        if (item.n > 0)
            v[n++] = item;
    }
    return join(a, v, n, true);
}

static struct s3_cors_resp *
resp_of(struct arena *a, const struct s3_cors_rule *r, struct str origin)
{
    struct s3_cors_resp *p = arena_zalloc(a, sizeof(*p));
    bool any = s3_cors_any_origin(r, origin);

    p->allow_origin = any ? "*" : arena_cstr(a, origin);
    p->credentials = !any;
    p->allow_methods = methods_of(a, r->methods);
    p->expose = join(a, r->expose, r->n_expose, false);
    if (r->has_max_age)
        p->max_age = arena_printf(a, "%lld", r->max_age);
    return p;
}

static void
add_headers(struct http_req *h, const struct s3_cors_resp *p)
{
    http_resp_header_c(h, "Access-Control-Allow-Origin", p->allow_origin);
    http_resp_header_c(h, "Access-Control-Allow-Methods", p->allow_methods);
    if (p->allow_headers != NULL)
        http_resp_header_c(h, "Access-Control-Allow-Headers", p->allow_headers);
    if (p->expose != NULL)
        http_resp_header_c(h, "Access-Control-Expose-Headers", p->expose);
    if (p->max_age != NULL)
        http_resp_header_c(h, "Access-Control-Max-Age", p->max_age);
    if (p->credentials)
        http_resp_header_c(h, "Access-Control-Allow-Credentials", "true");
    /* The answer depends on these request headers: caches must key on them. */
    http_resp_header_c(h, "Vary", "Origin, Access-Control-Request-Headers, "
                                  "Access-Control-Request-Method");
}

/* ---- actual requests ----------------------------------------------------- */

void
s3_cors_prepare(struct s3_req *q)
{
    struct s3_cors c;
    const struct s3_cors_rule *r;
    const char *msg;
    struct str origin;

    if (q->b.cors.p == NULL)
        return;
    origin = http_header(q->http, "origin");
    if (origin.p == NULL)
        return;
    /* The stored document is our own canonical form: it always parses. */
    if (s3_cors_parse(q->arena, q->b.cors, &c, &msg) != S3E_OK)
        return;
    r = s3_cors_match(&c, origin, q->http->method, STR_NULL);
    if (r != NULL)
        q->cors = resp_of(q->arena, r, origin);
}

void
s3_cors_headers(struct s3_req *q)
{
    if (q->cors == NULL || q->cors_sent)
        return;
    add_headers(q->http, q->cors);
    q->cors_sent = true;
}

/* ---- preflight ----------------------------------------------------------- */

enum s3_err
s3_cors_preflight(struct s3_req *q)
{
    struct str origin = http_header(q->http, "origin");
    struct str method = http_header(q->http, "access-control-request-method");
    struct str asked = http_header(q->http, "access-control-request-headers");
    const struct s3_cors_rule *r;
    struct s3_cors_resp *p;
    struct md_bucket b;
    struct s3_cors c;
    const char *msg;
    int rc;

    /* AWS: the Origin is checked first, then the method. */
    if (origin.p == NULL) {
        q->err_msg = "Insufficient information. Origin request header needed.";
        return S3E_CORS_BAD_REQUEST;
    }
    if (method.p == NULL) {
        q->err_msg = "Invalid Access-Control-Request-Method: null";
        return S3E_CORS_BAD_REQUEST;
    }
    q->err_method = arena_cstr(q->arena, method);
    q->err_resource_type = q->key.p != NULL ? "OBJECT" : "BUCKET";
    rc = q->bucket.p != NULL ? md_bucket_get(md_reader(q->srv->md), q->bucket, q->arena, &b)
                             : -ENOENT;
    if (rc == -ENOENT) {
        /* AWS: a preflight is no S3 request; it learns only "not allowed". */
        q->err_msg = "CORSResponse: Bucket not found";
        return S3E_ACCESS_FORBIDDEN;
    }
    if (rc < 0)
        return S3E_INTERNAL;
    if (b.cors.p == NULL) {
        q->err_msg = "CORSResponse: CORS is not enabled for this bucket.";
        return S3E_ACCESS_FORBIDDEN;
    }
    if (s3_cors_parse(q->arena, b.cors, &c, &msg) != S3E_OK)
        return S3E_INTERNAL;
    r = s3_cors_match(&c, origin, method, asked);
    if (r == NULL) {
        q->err_msg = msg_not_allowed;
        return S3E_ACCESS_FORBIDDEN;
    }
    p = resp_of(q->arena, r, origin);
    if (asked.p != NULL)
        p->allow_headers = requested_headers(q->arena, asked);
    add_headers(q->http, p);
    (void)s3_reply_empty(q, 200);
    return S3E_OK;
}

/* ---- Put/Get/DeleteBucketCors -------------------------------------------- */

/* PUT /{bucket}?cors: stored as our canonical document, so GET answers in
 * S3's element order whatever the client's layout was. */
enum s3_err
s3_put_bucket_cors(struct s3_req *q)
{
    struct md_bucket b;
    struct s3_cors c;
    struct str body;
    const char *msg;
    struct buf x;
    enum s3_err err;

    err = s3_req_bucket(q, &b);
    if (err != S3E_OK)
        return err;
    /* AWS: Content-MD5 (or an x-amz-checksum) is required, as for
     * lifecycle; the body is capped at S3_MAX_XML_BODY before any copy. */
    err = s3_config_body(q, true, &body);
    if (err != S3E_OK)
        return err;
    err = s3_cors_parse(q->arena, body, &c, &msg);
    if (err != S3E_OK) {
        q->err_msg = msg;
        return err;
    }
    /* Re-escaping can at most grow each byte sixfold ("&quot;"). */
    buf_init(&x, 6 * body.n + 256);
    if (s3_cors_write(&c, &x) < 0) {
        buf_free(&x);
        return S3E_INTERNAL;
    }
    err = s3_column_write(q, &b, NULL, S3_COL_CORS,
                          str_make(arena_strndup(q->arena, x.p, x.n), x.n));
    buf_free(&x);
    if (err != S3E_OK)
        return err;
    (void)s3_reply_empty(q, 200);
    return S3E_OK;
}

/* GET /{bucket}?cors */
enum s3_err
s3_get_bucket_cors(struct s3_req *q)
{
    struct md_bucket b;
    enum s3_err err = s3_req_bucket(q, &b);

    if (err != S3E_OK)
        return err;
    return s3_reply_stored(q, &b, b.cors, S3E_NO_SUCH_CORS);
}

/* DELETE /{bucket}?cors: 204 whether or not there was one. */
enum s3_err
s3_delete_bucket_cors(struct s3_req *q)
{
    struct md_bucket b;
    enum s3_err err;

    err = s3_req_bucket(q, &b);
    if (err == S3E_OK && b.cors.p != NULL)
        err = s3_column_write(q, &b, NULL, S3_COL_CORS, STR_NULL);
    if (err != S3E_OK)
        return err;
    (void)s3_reply_empty(q, 204);
    return S3E_OK;
}
