/* sigv2.c -- S3 Signature Version 2 (header and query string). */
#include "common.h"
#include "auth/sigv2.h"
#include "bounds.h"
#include "crypto/hash.h"
#include "util/buf.h"
#include "util/enc.h"
#include "util/tm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sub-resources that are part of the signed resource, sorted. */
static const char *const subresources[] = {
    "acl", "cors", "delete", "lifecycle", "location", "logging", "notification", "partNumber",
    "policy", "requestPayment", "response-cache-control", "response-content-disposition",
    "response-content-encoding", "response-content-language", "response-content-type",
    "response-expires", "restore", "tagging", "torrent", "uploadId", "uploads", "versionId",
    "versioning", "versions", "website",
};

static struct str
header(const struct sigv4_input *in, const char *name)
{
    for (size_t i = 0; i < in->n_hdrs; i++)
        if (str_ieq_c(in->hdrs[i].name, name))
            return in->hdrs[i].value;
    return STR_NULL;
}

/* Value of query parameter name, percent-decoded into a; *found says if present. */
static struct str
qparam(struct str query, const char *name, struct arena *a, bool *found)
{
    struct str rest = query, item, k, v;

    *found = false;
    while (rest.p != NULL && rest.n > 0) {
        str_split(rest, '&', &item, &rest);
        bool has_v = str_split(item, '=', &k, &v);
        if (!str_eq_c(k, name))
            continue;
        *found = true;
        if (!has_v)
            return STR_NULL;
        char *d = arena_alloc(a, v.n + 1);
        int n = uri_decode(v, d);
        if (n < 0)
            return STR_NULL;
        return str_make(d, (size_t)n);
    }
    return STR_NULL;
}

bool
sigv2_detect(const struct sigv4_input *in, struct arena *a, struct sigv2_auth *out,
             enum auth_err *err)
{
    struct str authz = header(in, "authorization");
    bool f1, f2, f3;

    memset(out, 0, sizeof(*out));
    *err = AUTH_E_OK;
    if (authz.p != NULL && str_has_prefix(authz, "AWS ")) {
        struct str cred = str_trim(str_make(authz.p + 4, authz.n - 4)), id, sig;
        if (!str_split(cred, ':', &id, &sig) || id.n == 0 || sig.n == 0) {
            *err = AUTH_E_AUTH_HEADER_MALFORMED;
            return true;
        }
        out->access_key_id = id;
        out->signature = sig;
        return true;
    }
    struct str id = qparam(in->query, "AWSAccessKeyId", a, &f1);
    struct str sig = qparam(in->query, "Signature", a, &f2);
    struct str exp = qparam(in->query, "Expires", a, &f3);
    if (!f1 && !f2)
        return false;
    unsigned long long e;
    if (!f1 || !f2 || !f3 || id.n == 0 || sig.n == 0 || str_to_u64(exp, &e) < 0 ||
        e > INT64_MAX) {
        *err = AUTH_E_ACCESS_DENIED;
        return true;
    }
    out->is_presigned = true;
    out->access_key_id = id;
    out->signature = sig;
    out->expires_s = (int64_t)e;
    return true;
}

struct amz_hdr {
    char *name;
    struct str value;
};

static int
amz_cmp(const void *x, const void *y)
{
    return strcmp(((const struct amz_hdr *)x)->name, ((const struct amz_hdr *)y)->name);
}

/* The string to sign; slash appends '/' to the path (see sigv2_verify()). */
static int
build_string_to_sign(const struct sigv4_input *in, const struct sigv2_auth *auth,
                     struct str bucket_vhost, bool slash, struct arena *a, struct buf *b)
{
    struct str rest = in->query, item, qk, qv;
    struct amz_hdr *h;
    size_t n = 0, cap = in->n_hdrs + 1;
    bool has_amz_date = false;

    for (size_t i = 0; i < in->query.n; i++)
        cap += in->query.p[i] == '&';
    h = arena_alloc(a, cap * sizeof(*h));

    buf_append_str(b, in->method);
    buf_append_c(b, "\n");
    buf_append_str(b, header(in, "content-md5"));
    buf_append_c(b, "\n");
    buf_append_str(b, header(in, "content-type"));
    buf_append_c(b, "\n");
    for (size_t i = 0; i < in->n_hdrs; i++) {
        struct str nm = in->hdrs[i].name;
        if (nm.n < 6 || strncasecmp(nm.p, "x-amz-", 6) != 0)
            continue;
        char *lc = arena_strndup(a, nm.p, nm.n);
        for (char *p = lc; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
        if (strcmp(lc, "x-amz-date") == 0)
            has_amz_date = true;
        h[n].name = lc;
        h[n].value = str_trim(in->hdrs[i].value);
        n++;
    }
    /* A presigned URL carries the x-amz-* headers it was signed with as
     * query parameters (botocore's HmacV1QueryAuth moves them there after
     * signing): they are signed as headers. */
    while (auth->is_presigned && rest.p != NULL && rest.n > 0) {
        str_split(rest, '&', &item, &rest);
        if (!str_split(item, '=', &qk, &qv))
            qv = STR_LIT("");
        if (qk.n < 6 || strncasecmp(qk.p, "x-amz-", 6) != 0)
            continue;
        char *lc = arena_strndup(a, qk.p, qk.n), *d = arena_alloc(a, qv.n + 1);
        int dn = uri_decode(qv, d);
        for (char *p = lc; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
        h[n].name = lc;
        h[n].value = dn < 0 ? qv : str_trim(str_make(d, (size_t)dn));
        n++;
    }
    if (auth->is_presigned) {
        char e[32];
        snprintf(e, sizeof(e), "%lld", (long long)auth->expires_s);
        buf_append_c(b, e);
    } else if (!has_amz_date) {
        buf_append_str(b, header(in, "date"));
    }
    buf_append_c(b, "\n");
    qsort(h, n, sizeof(*h), amz_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(h[i].name, h[i - 1].name) == 0) {
            b->n--; /* drop the newline: values of one name join with ',' */
            buf_append_c(b, ",");
        } else {
            buf_append_c(b, h[i].name);
            buf_append_c(b, ":");
        }
        buf_append_str(b, h[i].value);
        buf_append_c(b, "\n");
    }
    if (bucket_vhost.p != NULL) {
        buf_append_c(b, "/");
        buf_append_str(b, bucket_vhost);
    }
    buf_append_str(b, in->path);
    if (slash)
        buf_append_c(b, "/");
    char sep = '?';
    for (size_t i = 0; i < ARRAY_LEN(subresources); i++) {
        bool found;
        struct str v = qparam(in->query, subresources[i], a, &found);
        if (!found)
            continue;
        buf_append(b, &sep, 1);
        sep = '&';
        buf_append_c(b, subresources[i]);
        if (v.p != NULL) {
            buf_append_c(b, "=");
            buf_append_str(b, v);
        }
    }
    return b->n > b->max ? -E2BIG : 0;
}

enum auth_err
sigv2_verify(const struct sigv4_input *in, const struct sigv2_auth *auth, struct str secret,
             struct str bucket_vhost, struct arena *a, const char **msg)
{
    struct buf sts;
    unsigned char mac[20];
    char b64[32];

    if (auth->is_presigned && in->now_s > auth->expires_s) {
        *msg = "Request has expired";
        return AUTH_E_ACCESS_DENIED;
    }
    if (!auth->is_presigned) {
        struct str d = header(in, "x-amz-date");
        int64_t t;
        if (d.p == NULL)
            d = header(in, "date");
        if (d.p == NULL || tm_parse_http(d, &t) < 0) {
            *msg = "AWS authentication requires a valid Date or x-amz-date header";
            return AUTH_E_ACCESS_DENIED;
        }
        if (t > in->now_s + S3_MAX_CLOCK_SKEW_S || t < in->now_s - S3_MAX_CLOCK_SKEW_S)
            return AUTH_E_REQUEST_TIME_TOO_SKEWED;
    }
    /* A path-style request for a bucket alone ("/bucket") has the resource
     * "/bucket/" on S3, as a virtual-hosted one ("/" on bucket.host) has:
     * botocore signs that. The path as sent is tried second, for signers
     * that took it literally. */
    bool bucket_only = bucket_vhost.p == NULL && in->path.n > 1 &&
                       memchr(in->path.p + 1, '/', in->path.n - 1) == NULL;
    for (int slash = bucket_only; slash >= 0; slash--) {
        buf_init(&sts, HTTP_MAX_HEADER_BYTES * 2);
        if (build_string_to_sign(in, auth, bucket_vhost, slash, a, &sts) < 0) {
            buf_free(&sts);
            return AUTH_E_ACCESS_DENIED;
        }
        hmac_sha1(secret.p, secret.n, sts.p, sts.n, mac);
        buf_free(&sts);
        b64_encode(mac, sizeof(mac), b64);
        if (str_ct_eq(str_c(b64), auth->signature))
            return AUTH_E_OK;
    }
    return AUTH_E_SIGNATURE_DOES_NOT_MATCH;
}
