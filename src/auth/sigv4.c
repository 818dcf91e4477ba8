/* sigv4.c -- AWS Signature Version 4 verification: reads the Authorization
 * header or the presigned query, rebuilds the canonical request the way S3
 * does, and compares signatures in constant time; plus the aws-chunked body
 * decoder. No key lookup, no region policy, no HTTP parsing here. */
#include "auth/sigv4.h"
#include "bounds.h"
#include "common.h"
#include "crypto/hash.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/enc.h"
#include "util/tm.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MAX_AKID 128
#define MAX_REGION 64 /* keeps "date/region/service/aws4_request" inside sigv4_ctx.scope */
#define SKEW S3_MAX_CLOCK_SKEW_S

/* The canonical request expands the path and query at most threefold
 * (%XX) and repeats the headers once; the HTTP layer caps both. */
#define CANON_MAX (3 * HTTP_MAX_URL_BYTES + 2 * HTTP_MAX_HEADER_BYTES + 4096)

#define HDR_MALFORMED "The authorization header is malformed"
#define QUERY_MALFORMED "Error parsing the X-Amz-Credential parameter"
#define UNSUPPORTED                                                                                \
    "The authorization mechanism you have provided is not supported. Please use " ALGORITHM "."
#define NO_DATE "AWS authentication requires a valid Date or x-amz-date header"
/* S3's InvalidArgument text for this header (its <Message>, verbatim). */
#define BAD_CONTENT_SHA256                                                                         \
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "          \
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid "   \
    "sha256 value."
#define QUERY_PARAMS_MISSING                                                                       \
    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "       \
    "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."

/* ---- small helpers ----------------------------------------------------- */

static int
lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static bool
ieq(struct str a, struct str b)
{
    if (a.n != b.n)
        return false;
    for (size_t i = 0; i < a.n; i++)
        if (lower((unsigned char)a.p[i]) != lower((unsigned char)b.p[i]))
            return false;
    return true;
}

static bool
ihas_prefix(struct str s, const char *prefix)
{
    size_t n = strlen(prefix);

    return s.n >= n && ieq(str_make(s.p, n), str_make(prefix, n));
}

static bool
is_hex64(struct str s)
{
    if (s.n != 64)
        return false;
    for (size_t i = 0; i < 64; i++)
        if (!((s.p[i] >= '0' && s.p[i] <= '9') || (s.p[i] >= 'a' && s.p[i] <= 'f')))
            return false;
    return true;
}

static bool
all_digits(struct str s)
{
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    return true;
}

static bool
unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

/* The byte a valid "%XX" at s.p[i] stands for, or -1. */
static int
pct_at(struct str s, size_t i)
{
    int hi, lo;

    if (s.p[i] != '%' || i + 2 >= s.n)
        return -1;
    hi = hex_digit((unsigned char)s.p[i + 1]);
    lo = hex_digit((unsigned char)s.p[i + 2]);
    return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
}

/* The first header called name (case-insensitive), or STR_NULL. */
static struct str
hdr_get(const struct sigv4_input *in, const char *name)
{
    for (size_t i = 0; i < in->n_hdrs; i++)
        if (str_ieq_c(in->hdrs[i].name, name))
            return str_trim(in->hdrs[i].value);
    return STR_NULL;
}

/* Next "name[=value]" of a raw query; empty segments ("a&&b") are skipped. */
static bool
next_param(struct str *rest, struct str *name, struct str *value)
{
    while (rest->p != NULL && rest->n > 0) {
        struct str seg;
        str_split(*rest, '&', &seg, rest);
        if (seg.n == 0)
            continue;
        if (!str_split(seg, '=', name, value))
            *value = str_make(seg.p + seg.n, 0);
        return true;
    }
    return false;
}

/* Query component decoding: %XX and '+' as space (form encoding, which is how
 * S3 reads its query). A '%' not followed by two hex digits stays literal. */
static struct str
qdecode(struct arena *a, struct str raw)
{
    char *o = arena_alloc(a, raw.n + 1);
    size_t n = 0;

    for (size_t i = 0; i < raw.n; i++) {
        int c = pct_at(raw, i);
        if (c >= 0) {
            o[n++] = (char)c;
            i += 2;
        } else {
            o[n++] = raw.p[i] == '+' ? ' ' : raw.p[i];
        }
    }
    o[n] = '\0';
    return str_make(o, n);
}

/* AWS SigV4 re-encoding of a raw path or query component into dst (3 * n
 * bytes suffice): each %XX is decoded first, then every byte but the
 * unreserved ones is written as upper-case %XX. In a path a literal '/'
 * separates segments and stays; an encoded one (%2F) stays encoded. In a
 * query '+' means space. S3 neither double-encodes nor removes dot segments. */
static size_t
canon_encode(char *dst, struct str raw, bool is_path)
{
    static const char up[] = "0123456789ABCDEF";
    size_t n = 0;

    for (size_t i = 0; i < raw.n; i++) {
        unsigned char c = (unsigned char)raw.p[i];
        int dec = pct_at(raw, i);
        if (dec >= 0) {
            c = (unsigned char)dec;
            i += 2;
        } else if (is_path && c == '/') {
            dst[n++] = '/';
            continue;
        } else if (!is_path && c == '+') {
            c = ' ';
        }
        if (unreserved(c)) {
            dst[n++] = (char)c;
        } else {
            dst[n++] = '%';
            dst[n++] = up[c >> 4];
            dst[n++] = up[c & 15];
        }
    }
    return n;
}

static char *
amz_date_of(struct arena *a, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL)
        return NULL;
    return arena_printf(a, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Appends s with its length in front (so that no two input lists make the
 * same byte string). */
static size_t
put_field(unsigned char *p, struct str s)
{
    uint32_t n = (uint32_t)s.n;

    memcpy(p, &n, 4);
    if (s.n > 0)
        memcpy(p + 4, s.p, s.n);
    return 4 + s.n;
}

/* The key derivation is four HMACs per request, while its inputs change
 * once a day per access key: each thread remembers its last key, under a
 * SHA-256 of the inputs (so the secret itself is not kept). */
void
sigv4_signing_key(struct str secret, struct str date8, struct str region, struct str service,
                  unsigned char out[32])
{
    static _Thread_local struct {
        bool set;
        unsigned char id[32], key[32];
    } memo;
    /* Four length-prefixed fields; later "AWS4" + secret, which is shorter. */
    size_t cap = 4 * 4 + secret.n + date8.n + region.n + service.n, n = 0;
    unsigned char *in = xmalloc(cap), id[32], t[32];

    n += put_field(in + n, secret);
    n += put_field(in + n, date8);
    n += put_field(in + n, region);
    n += put_field(in + n, service);
    sha256(in, n, id);
    if (memo.set && memcmp(memo.id, id, 32) == 0) {
        memcpy(out, memo.key, 32);
    } else {
        memcpy(in, "AWS4", 4);
        if (secret.n > 0)
            memcpy(in + 4, secret.p, secret.n);
        hmac_sha256(in, 4 + secret.n, date8.p, date8.n, t);
        hmac_sha256(t, 32, region.p, region.n, t);
        hmac_sha256(t, 32, service.p, service.n, t);
        hmac_sha256(t, 32, "aws4_request", 12, out);
        memcpy(memo.id, id, 32);
        memcpy(memo.key, out, 32);
        memo.set = true;
        explicit_bzero(t, sizeof(t));
    }
    explicit_bzero(in, cap);
    free(in);
}

/* ---- parsing ------------------------------------------------------------ */

/* "AKID/YYYYMMDD/region/service/aws4_request". On failure *why is the
 * reason, to follow the caller's prefix. */
static bool
parse_credential(struct str cred, struct arena *a, struct sigv4_auth *out, const char **why)
{
    struct str part[5], rest = cred;
    size_t n = 0;

    *why = "the Credential is mal-formed; expecting "
           "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".";
    while (rest.p != NULL && n < 5) {
        str_split(rest, '/', &part[n], &rest);
        n++;
    }
    if (n != 5 || rest.p != NULL)
        return false;
    if (part[0].n == 0 || part[0].n > MAX_AKID || part[1].n != 8 || !all_digits(part[1]) ||
        part[2].n == 0 || part[2].n > MAX_REGION)
        return false;
    for (size_t i = 0; i < part[2].n; i++) {
        unsigned char c = (unsigned char)part[2].p[i];
        if (!(c == '-' || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9')))
            return false;
    }
    /* AWS: the IAM and STS APIs share the S3 endpoint here. */
    if (!str_eq_c(part[3], "s3") && !str_eq_c(part[3], "iam") && !str_eq_c(part[3], "sts")) {
        *why = arena_printf(a, "incorrect service \"%.*s\". This endpoint belongs to \"s3\".",
                            (int)(part[3].n > 32 ? 32 : part[3].n), part[3].p);
        return false;
    }
    if (!str_eq_c(part[4], "aws4_request")) {
        *why = arena_printf(a, "incorrect terminal \"%.*s\". This endpoint uses \"aws4_request\".",
                            (int)(part[4].n > 32 ? 32 : part[4].n), part[4].p);
        return false;
    }
    out->access_key_id = part[0];
    out->date8 = part[1];
    out->region = part[2];
    out->service = part[3];
    return true;
}

/* "host;range;x-amz-date": lower-case header names, which must include host. */
static bool
valid_signed_headers(struct str sh)
{
    struct str name, rest = sh;
    bool has_host = false;

    if (sh.p == NULL || sh.n == 0)
        return false;
    while (rest.p != NULL) {
        str_split(rest, ';', &name, &rest);
        if (name.n == 0)
            return false;
        for (size_t i = 0; i < name.n; i++) {
            unsigned char c = (unsigned char)name.p[i];
            if (c <= ' ' || c >= 0x7f || (c >= 'A' && c <= 'Z') || c == ':')
                return false;
        }
        if (str_eq_c(name, "host"))
            has_host = true;
    }
    return has_host;
}

static enum auth_err
parse_payload(struct str v, struct sigv4_auth *out, const char **msg)
{
    out->content_sha256 = v;
    if (str_eq_c(v, "UNSIGNED-PAYLOAD")) {
        out->payload = SIGV4_UNSIGNED;
    } else if (str_eq_c(v, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")) {
        out->payload = SIGV4_STREAMING;
    } else if (str_eq_c(v, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")) {
        out->payload = SIGV4_STREAMING_TRAILER;
    } else if (str_eq_c(v, "STREAMING-UNSIGNED-PAYLOAD-TRAILER")) {
        out->payload = SIGV4_STREAMING_UNSIGNED_TRAILER;
    } else if (is_hex64(v)) {
        out->payload = SIGV4_SHA256;
        out->payload_hash = v;
    } else {
        *msg = BAD_CONTENT_SHA256;
        return AUTH_E_INVALID_CONTENT_SHA256;
    }
    return AUTH_E_OK;
}

/* What every mode shares: payload mode, token, trailer, decoded length.
 * sha_default is the payload line when x-amz-content-sha256 is absent:
 * SIGV4_UNSIGNED (presigned, anonymous) or SIGV4_SHA256 with the hash left
 * to the caller (iam/sts header auth). */
static enum auth_err
parse_common(const struct sigv4_input *in, struct sigv4_auth *out, enum sigv4_payload sha_default,
             const char **msg)
{
    struct str v = hdr_get(in, "x-amz-content-sha256");
    enum auth_err err;

    if (v.p != NULL) {
        err = parse_payload(v, out, msg);
        if (err != AUTH_E_OK)
            return err;
    } else {
        out->payload = sha_default;
        out->payload_hash = STR_NULL;
    }
    if (out->session_token.p == NULL)
        out->session_token = hdr_get(in, "x-amz-security-token");
    out->trailer = hdr_get(in, "x-amz-trailer");
    v = hdr_get(in, "x-amz-decoded-content-length");
    if (v.p != NULL) {
        long long dl;
        if (str_to_i64(v, &dl) < 0 || dl < 0 || !all_digits(v)) {
            *msg = "x-amz-decoded-content-length must be a non-negative integer";
            return AUTH_E_INVALID_ARGUMENT;
        }
        out->decoded_length = dl;
    }
    return AUTH_E_OK;
}

static enum auth_err
parse_header_auth(const struct sigv4_input *in, struct str authz, struct arena *a,
                  struct sigv4_auth *out, const char **msg)
{
    struct str rest, part, key, val, cred = STR_NULL, date;
    const char *why;
    enum auth_err err;

    authz = str_trim(authz);
    if (!str_has_prefix(authz, ALGORITHM " ")) {
        /* SigV2 ("AWS AKID:sig"), SigV4a and anything else. */
        if (str_eq_c(authz, ALGORITHM)) {
            *msg = HDR_MALFORMED "; the authorization header requires three components: "
                                 "Credential, SignedHeaders, and Signature.";
            return AUTH_E_AUTH_HEADER_MALFORMED;
        }
        *msg = UNSUPPORTED;
        return AUTH_E_INVALID_REQUEST;
    }
    rest = str_make(authz.p + strlen(ALGORITHM), authz.n - strlen(ALGORITHM));
    while (rest.p != NULL) {
        struct str *slot;
        str_split(rest, ',', &part, &rest);
        part = str_trim(part);
        if (!str_split(part, '=', &key, &val) || val.n == 0)
            goto malformed;
        if (str_eq_c(key, "Credential"))
            slot = &cred;
        else if (str_eq_c(key, "SignedHeaders"))
            slot = &out->signed_headers;
        else if (str_eq_c(key, "Signature"))
            slot = &out->signature;
        else
            goto malformed;
        if (slot->p != NULL)
            goto malformed;
        *slot = val;
    }
    if (cred.p == NULL || out->signed_headers.p == NULL || out->signature.p == NULL) {
        *msg = HDR_MALFORMED "; the authorization header requires three components: "
                             "Credential, SignedHeaders, and Signature.";
        return AUTH_E_AUTH_HEADER_MALFORMED;
    }
    if (!parse_credential(cred, a, out, &why)) {
        *msg = arena_printf(a, HDR_MALFORMED "; %s", why);
        return AUTH_E_AUTH_HEADER_MALFORMED;
    }
    if (!valid_signed_headers(out->signed_headers)) {
        *msg = HDR_MALFORMED "; SignedHeaders must be lower-case names separated by ';' and "
                             "include host.";
        return AUTH_E_AUTH_HEADER_MALFORMED;
    }
    if (!is_hex64(out->signature)) {
        *msg = HDR_MALFORMED "; the Signature must be 64 lower-case hexadecimal characters.";
        return AUTH_E_AUTH_HEADER_MALFORMED;
    }
    /* x-amz-date wins over Date; either way the string to sign carries the
     * basic ISO 8601 form. */
    date = hdr_get(in, "x-amz-date");
    if (date.p != NULL) {
        if (tm_parse_amz(date, &out->request_time_s) < 0)
            goto no_date;
        out->amz_date = date;
    } else {
        char *s;
        date = hdr_get(in, "date");
        if (date.p == NULL || tm_parse_http(date, &out->request_time_s) < 0)
            goto no_date;
        s = amz_date_of(a, out->request_time_s);
        if (s == NULL)
            goto no_date;
        out->amz_date = str_c(s);
    }
    /* AWS: S3 requires x-amz-content-sha256 on header-signed requests; the IAM
     * and STS query APIs sign the body hash without sending it. */
    err = parse_common(in, out, SIGV4_SHA256, msg);
    if (err != AUTH_E_OK)
        return err;
    if (out->content_sha256.p == NULL && str_eq_c(out->service, "s3")) {
        *msg = "Missing required header for this request: x-amz-content-sha256";
        return AUTH_E_INVALID_REQUEST;
    }
    return AUTH_E_OK;

malformed:
    *msg = HDR_MALFORMED "; an authorization component is malformed.";
    return AUTH_E_AUTH_HEADER_MALFORMED;
no_date:
    *msg = NO_DATE;
    return AUTH_E_ACCESS_DENIED;
}

static enum auth_err
parse_query_auth(const struct sigv4_input *in, struct arena *a, struct sigv4_auth *out,
                 const char **msg)
{
    struct str rest = in->query, rname, rval;
    struct str alg = STR_NULL, cred = STR_NULL, date = STR_NULL, expires = STR_NULL;
    const char *why;
    long long ex;

    while (next_param(&rest, &rname, &rval)) {
        struct str name = qdecode(a, rname), *slot;
        if (str_eq_c(name, "X-Amz-Algorithm"))
            slot = &alg;
        else if (str_eq_c(name, "X-Amz-Credential"))
            slot = &cred;
        else if (str_eq_c(name, "X-Amz-Date"))
            slot = &date;
        else if (str_eq_c(name, "X-Amz-Expires"))
            slot = &expires;
        else if (str_eq_c(name, "X-Amz-SignedHeaders"))
            slot = &out->signed_headers;
        else if (str_eq_c(name, "X-Amz-Signature"))
            slot = &out->signature;
        else if (str_eq_c(name, "X-Amz-Security-Token"))
            slot = &out->session_token;
        else
            continue;
        if (slot->p != NULL) {
            *msg = arena_printf(a, "Query-string authentication parameter %.*s given twice.",
                                STR_FMT(name));
            return AUTH_E_AUTH_QUERY_MALFORMED;
        }
        *slot = qdecode(a, rval);
    }
    if (alg.p == NULL || cred.p == NULL || date.p == NULL || expires.p == NULL ||
        out->signed_headers.p == NULL || out->signature.p == NULL) {
        *msg = QUERY_PARAMS_MISSING;
        return AUTH_E_AUTH_QUERY_MALFORMED;
    }
    if (!str_eq_c(alg, ALGORITHM)) {
        *msg = "X-Amz-Algorithm only supports \"" ALGORITHM "\"";
        return AUTH_E_AUTH_QUERY_MALFORMED;
    }
    if (!parse_credential(cred, a, out, &why)) {
        *msg = arena_printf(a, QUERY_MALFORMED "; %s", why);
        return AUTH_E_AUTH_QUERY_MALFORMED;
    }
    if (tm_parse_amz(date, &out->request_time_s) < 0) {
        *msg = "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"";
        return AUTH_E_AUTH_QUERY_MALFORMED;
    }
    out->amz_date = date;
    if (!all_digits(expires) || str_to_i64(expires, &ex) < 0 || ex < 1) {
        *msg = "X-Amz-Expires must be a positive number of seconds";
        return AUTH_E_AUTH_QUERY_MALFORMED;
    }
    if (ex > S3_MAX_PRESIGN_EXPIRES) {
        *msg = "X-Amz-Expires must be less than a week (in seconds) that is 604800";
        return AUTH_E_AUTH_QUERY_MALFORMED;
    }
    out->expires_s = ex;
    if (!valid_signed_headers(out->signed_headers)) {
        *msg = "X-Amz-SignedHeaders must be lower-case names separated by ';' and include host";
        return AUTH_E_AUTH_QUERY_MALFORMED;
    }
    if (!is_hex64(out->signature)) {
        *msg = "X-Amz-Signature must be 64 lower-case hexadecimal characters";
        return AUTH_E_AUTH_QUERY_MALFORMED;
    }
    /* AWS: a presigned URL signs UNSIGNED-PAYLOAD unless the request says
     * otherwise in x-amz-content-sha256. */
    return parse_common(in, out, SIGV4_UNSIGNED, msg);
}

enum auth_err
sigv4_parse(const struct sigv4_input *in, struct arena *a, struct sigv4_auth *out, const char **msg)
{
    struct str authz = hdr_get(in, "authorization");
    struct str rest = in->query, name, value;
    bool has_alg = false, has_v2_key = false, has_v2_sig = false;

    memset(out, 0, sizeof(*out));
    out->decoded_length = -1;
    out->payload = SIGV4_UNSIGNED;
    while (next_param(&rest, &name, &value)) {
        if (str_eq_c(name, "X-Amz-Algorithm"))
            has_alg = true;
        else if (str_eq_c(name, "AWSAccessKeyId"))
            has_v2_key = true;
        else if (str_eq_c(name, "Signature"))
            has_v2_sig = true;
    }
    if (authz.p != NULL && has_alg) {
        *msg = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
               "Signature query string parameter or the Authorization header should be "
               "specified";
        return AUTH_E_INVALID_ARGUMENT;
    }
    if (authz.p != NULL)
        return parse_header_auth(in, authz, a, out, msg);
    if (has_alg) {
        out->is_presigned = true;
        return parse_query_auth(in, a, out, msg);
    }
    if (has_v2_key && has_v2_sig) {
        /* A SigV2 presigned URL must not pass as anonymous. */
        *msg = UNSUPPORTED;
        return AUTH_E_INVALID_REQUEST;
    }
    out->is_anonymous = true;
    return parse_common(in, out, SIGV4_UNSIGNED, msg);
}

/* ---- verification ------------------------------------------------------- */

struct param {
    struct str name, value; /* canonical (re-encoded) */
};

static int
param_cmp(const void *x, const void *y)
{
    const struct param *a = x, *b = y;
    size_t n = a->name.n < b->name.n ? a->name.n : b->name.n;
    int c = memcmp(a->name.p, b->name.p, n);

    if (c != 0 || a->name.n != b->name.n)
        return c != 0 ? c : (a->name.n < b->name.n ? -1 : 1);
    n = a->value.n < b->value.n ? a->value.n : b->value.n;
    c = n ? memcmp(a->value.p, b->value.p, n) : 0;
    if (c != 0 || a->value.n == b->value.n)
        return c;
    return a->value.n < b->value.n ? -1 : 1;
}

static struct str
canon_str(struct arena *a, struct str raw, bool is_path)
{
    char *p = arena_alloc(a, 3 * raw.n + 1);

    return str_make(p, canon_encode(p, raw, is_path));
}

/* Params sorted by encoded name, then value; X-Amz-Signature dropped when
 * presigned (it cannot sign itself). */
static int
canon_query(struct buf *b, struct str q, bool is_presigned, struct arena *a)
{
    struct str rest = q, name, value;
    struct param *v;
    size_t n = 0, cap = 0;
    int rc = 0;

    while (next_param(&rest, &name, &value))
        cap++;
    if (cap == 0)
        return 0;
    v = arena_alloc(a, cap * sizeof(*v));
    rest = q;
    while (next_param(&rest, &name, &value)) {
        if (is_presigned && str_eq_c(name, "X-Amz-Signature"))
            continue;
        v[n].name = canon_str(a, name, false);
        v[n].value = canon_str(a, value, false);
        n++;
    }
    qsort(v, n, sizeof(*v), param_cmp);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i > 0)
            rc = buf_append(b, "&", 1);
        if (rc == 0)
            rc = buf_append_str(b, v[i].name);
        if (rc == 0)
            rc = buf_append(b, "=", 1);
        if (rc == 0)
            rc = buf_append_str(b, v[i].value);
    }
    return rc;
}

/* Trimmed, runs of spaces and tabs collapsed to one space. */
static int
canon_hval(struct buf *b, struct str v)
{
    bool space = false;
    int rc = 0;

    v = str_trim(v);
    for (size_t i = 0; i < v.n && rc == 0; i++) {
        if (v.p[i] == ' ' || v.p[i] == '\t') {
            space = true;
            continue;
        }
        if (space)
            rc = buf_append(b, " ", 1);
        space = false;
        if (rc == 0)
            rc = buf_append(b, &v.p[i], 1);
    }
    return rc;
}

/* "name:v1,v2\n" per signed header, in the order SignedHeaders lists them
 * (clients list them sorted, as the spec requires). An absent header signs
 * as an empty value, which cannot match a client that never sent it. */
static int
canon_headers(struct buf *b, const struct sigv4_input *in, struct str signed_headers)
{
    struct str name, rest = signed_headers;
    int rc = 0;

    while (rest.p != NULL && rc == 0) {
        bool first = true;
        str_split(rest, ';', &name, &rest);
        rc = buf_append_str(b, name);
        if (rc == 0)
            rc = buf_append(b, ":", 1);
        for (size_t i = 0; i < in->n_hdrs && rc == 0; i++) {
            if (!ieq(in->hdrs[i].name, name))
                continue;
            if (!first)
                rc = buf_append(b, ",", 1);
            if (rc == 0)
                rc = canon_hval(b, in->hdrs[i].value);
            first = false;
        }
        if (rc == 0)
            rc = buf_append(b, "\n", 1);
    }
    return rc;
}

static bool
is_signed(struct str signed_headers, struct str name)
{
    struct str n, rest = signed_headers;

    while (rest.p != NULL) {
        str_split(rest, ';', &n, &rest);
        if (ieq(n, name))
            return true;
    }
    return false;
}

static int
build_canonical(struct buf *b, const struct sigv4_input *in, const struct sigv4_auth *auth,
                struct str payload_line, struct arena *a)
{
    struct str path = in->path.n > 0 ? in->path : STR_LIT("/");
    int rc;

    rc = buf_append_str(b, in->method);
    if (rc == 0)
        rc = buf_append(b, "\n", 1);
    if (rc == 0)
        rc = buf_append_str(b, canon_str(a, path, true));
    if (rc == 0)
        rc = buf_append(b, "\n", 1);
    if (rc == 0)
        rc = canon_query(b, in->query, auth->is_presigned, a);
    if (rc == 0)
        rc = buf_append(b, "\n", 1);
    if (rc == 0)
        rc = canon_headers(b, in, auth->signed_headers);
    if (rc == 0)
        rc = buf_append(b, "\n", 1);
    if (rc == 0)
        rc = buf_append_str(b, auth->signed_headers);
    if (rc == 0)
        rc = buf_append(b, "\n", 1);
    if (rc == 0)
        rc = buf_append_str(b, payload_line);
    return rc;
}

enum auth_err
sigv4_verify(const struct sigv4_input *in, const struct sigv4_auth *auth, struct str secret,
             struct arena *a, struct sigv4_ctx *ctx, const char **msg)
{
    struct buf cr;
    struct str payload_line;
    unsigned char digest[32], key[32] = {0}, mac[32];
    char hex[65], sig[65], scope[128];
    const char *sts;
    int64_t ahead = auth->request_time_s - in->now_s;
    enum auth_err err = AUTH_E_SIGNATURE_DOES_NOT_MATCH;
    int n;

    ASSERT(!auth->is_anonymous);
    buf_init(&cr, CANON_MAX);
    if (auth->amz_date.n != 16 || auth->date8.n != 8 ||
        memcmp(auth->amz_date.p, auth->date8.p, 8) != 0) {
        err = auth->is_presigned ? AUTH_E_AUTH_QUERY_MALFORMED : AUTH_E_AUTH_HEADER_MALFORMED;
        *msg =
            arena_printf(a,
                         "%s; Invalid credential date \"%.*s\". This date is not the same "
                         "as X-Amz-Date: \"%.*s\".",
                         auth->is_presigned ? QUERY_MALFORMED : HDR_MALFORMED, STR_FMT(auth->date8),
                         (int)(auth->amz_date.n > 16 ? 16 : auth->amz_date.n), auth->amz_date.p);
        goto out;
    }
    if (auth->is_presigned) {
        if (ahead > SKEW) {
            err = AUTH_E_REQUEST_TIME_TOO_SKEWED;
            *msg = NULL; /* the code's own text */
            goto out;
        }
        if (in->now_s > auth->request_time_s + auth->expires_s) {
            err = AUTH_E_ACCESS_DENIED;
            *msg = "Request has expired";
            goto out;
        }
    } else if (ahead > SKEW || ahead < -SKEW) {
        err = AUTH_E_REQUEST_TIME_TOO_SKEWED;
        *msg = NULL; /* the code's own text */
        goto out;
    }
    /* AWS: every x-amz-* header must be signed. x-amz-content-sha256 is
     * covered anyway: it is the last line of the canonical request. */
    for (size_t i = 0; i < in->n_hdrs; i++) {
        struct str name = in->hdrs[i].name;
        if (ihas_prefix(name, "x-amz-") && !str_ieq_c(name, "x-amz-content-sha256") &&
            !is_signed(auth->signed_headers, name)) {
            err = AUTH_E_ACCESS_DENIED;
            *msg = "There were headers present in the request which were not signed";
            goto out;
        }
    }
    if (auth->content_sha256.p != NULL)
        payload_line = auth->content_sha256;
    else if (auth->is_presigned)
        payload_line = STR_LIT("UNSIGNED-PAYLOAD");
    else
        payload_line = auth->payload_hash;
    /* iam/sts without x-amz-content-sha256: the caller had to hash the body. */
    ASSERT(payload_line.p != NULL);
    if (build_canonical(&cr, in, auth, payload_line, a) < 0) {
        err = AUTH_E_REQUEST_HEADER_TOO_LARGE;
        *msg = NULL; /* the code's own text */
        goto out;
    }
    sha256(cr.p, cr.n, digest);
    hex_encode(digest, 32, hex);
    n = snprintf(scope, sizeof(scope), "%.*s/%.*s/%.*s/aws4_request", STR_FMT(auth->date8),
                 STR_FMT(auth->region), STR_FMT(auth->service));
    ASSERT(n > 0 && (size_t)n < sizeof(scope));
    sts = arena_printf(a, ALGORITHM "\n%.*s\n%s\n%s", STR_FMT(auth->amz_date), scope, hex);
    sigv4_signing_key(secret, auth->date8, auth->region, auth->service, key);
    hmac_sha256(key, 32, sts, strlen(sts), mac);
    hex_encode(mac, 32, sig);
    if (!str_ct_eq(str_make(sig, 64), auth->signature)) {
        err = AUTH_E_SIGNATURE_DOES_NOT_MATCH;
        *msg = NULL; /* the code's own text */
        goto out;
    }
    memcpy(ctx->signing_key, key, 32);
    memcpy(ctx->seed_signature, sig, 65);
    memcpy(ctx->scope, scope, (size_t)n + 1);
    memcpy(ctx->amz_date, auth->amz_date.p, 16);
    ctx->amz_date[16] = '\0';
    err = AUTH_E_OK;
out:
    explicit_bzero(key, sizeof(key));
    buf_free(&cr);
    return err;
}

/* ---- aws-chunked decoder ------------------------------------------------ */

#define LINE_MAX_BYTES (64 + 80) /* chunk-size line without its CRLF */
#define TRAILER_MAX_BYTES 8192   /* whole trailer section */

enum chunk_state {
    ST_LINE,    /* chunk-size line */
    ST_DATA,    /* chunk data */
    ST_DATA_CR, /* CRLF after chunk data */
    ST_DATA_LF,
    ST_END_CR, /* CRLF after the final zero-length chunk (no trailers) */
    ST_END_LF,
    ST_TRAILER, /* trailer lines up to the empty line */
    ST_DONE,
    ST_ERROR,
};

struct sigv4_chunked {
    enum chunk_state st;
    enum auth_err err;
    bool is_signed, has_trailer;
    bool blank_seen;     /* an empty line came right after the final chunk */
    bool trailer_sig_ok; /* x-amz-trailer-signature seen and verified */
    size_t line_n;
    char line[LINE_MAX_BYTES + 2];
    uint64_t left;  /* data bytes left in the current chunk */
    struct hash *h; /* SHA-256 of the current chunk's data (signed modes) */
    char want_sig[65], prev_sig[65];
    unsigned char key[32];
    char amz_date[17], scope[128];
    struct buf tline;    /* trailer line being read */
    struct buf trailers; /* "name:value\n" per trailer: what the trailer signature covers */
    size_t trailer_bytes;
    size_t n_trailers;
    int64_t decoded;
};

struct sigv4_chunked *
sigv4_chunked_new(const struct sigv4_auth *auth, const struct sigv4_ctx *ctx)
{
    struct sigv4_chunked *d = xcalloc(1, sizeof(*d));

    ASSERT(auth->payload == SIGV4_STREAMING || auth->payload == SIGV4_STREAMING_TRAILER ||
           auth->payload == SIGV4_STREAMING_UNSIGNED_TRAILER);
    d->st = ST_LINE;
    d->is_signed = auth->payload != SIGV4_STREAMING_UNSIGNED_TRAILER;
    d->has_trailer = auth->payload != SIGV4_STREAMING;
    if (d->is_signed) {
        ASSERT(ctx != NULL);
        memcpy(d->key, ctx->signing_key, 32);
        memcpy(d->prev_sig, ctx->seed_signature, 65);
        memcpy(d->scope, ctx->scope, sizeof(d->scope));
        memcpy(d->amz_date, ctx->amz_date, sizeof(d->amz_date));
        d->prev_sig[64] = d->scope[127] = d->amz_date[16] = '\0';
    }
    buf_init(&d->tline, TRAILER_MAX_BYTES);
    buf_init(&d->trailers, TRAILER_MAX_BYTES);
    return d;
}

void
sigv4_chunked_free(struct sigv4_chunked *d)
{
    if (d == NULL)
        return;
    hash_free(d->h);
    buf_free(&d->tline);
    buf_free(&d->trailers);
    explicit_bzero(d->key, sizeof(d->key));
    free(d);
}

static enum auth_err
fail(struct sigv4_chunked *d, enum auth_err err)
{
    d->st = ST_ERROR;
    d->err = err;
    return err;
}

/* HMAC over one link of the chain; sig is 64 hex, compared in constant time. */
static enum auth_err
check_link(struct sigv4_chunked *d, const char *kind, const char *tail, const char *want)
{
    char sts[512], got[65];
    unsigned char mac[32];
    int n = snprintf(sts, sizeof(sts), "%s\n%s\n%s\n%s\n%s", kind, d->amz_date, d->scope,
                     d->prev_sig, tail);

    ASSERT(n > 0 && (size_t)n < sizeof(sts));
    hmac_sha256(d->key, 32, sts, (size_t)n, mac);
    hex_encode(mac, 32, got);
    if (!str_ct_eq(str_make(got, 64), str_make(want, 64)))
        return AUTH_E_SIGNATURE_DOES_NOT_MATCH;
    memcpy(d->prev_sig, want, 64);
    d->prev_sig[64] = '\0';
    return AUTH_E_OK;
}

/* String to sign: "AWS4-HMAC-SHA256-PAYLOAD", date, scope, previous
 * signature, sha256(""), sha256(chunk data). */
static enum auth_err
check_chunk(struct sigv4_chunked *d, const unsigned char data_sha[32])
{
    char tail[2 * 64 + 2];

    memcpy(tail, EMPTY_SHA256 "\n", 65);
    hex_encode(data_sha, 32, tail + 65);
    return check_link(d, "AWS4-HMAC-SHA256-PAYLOAD", tail, d->want_sig);
}

/* "<hex-size>;chunk-signature=<64 hex>" when signed, "<hex-size>[;ext]" when
 * not (extensions are ignored there). */
static enum auth_err
size_line(struct sigv4_chunked *d)
{
    static const char ext[] = ";chunk-signature=";
    struct str l = str_make(d->line, d->line_n), rest;
    uint64_t v = 0;
    size_t i = 0;
    unsigned char empty[32];

    if (l.n == 0 || l.p[l.n - 1] != '\r')
        return AUTH_E_INVALID_CHUNK_ENCODING;
    l.n--;
    for (; i < l.n && hex_digit((unsigned char)l.p[i]) >= 0; i++) {
        if (i == 16)
            return AUTH_E_INVALID_CHUNK_ENCODING;
        v = v << 4 | (uint64_t)hex_digit((unsigned char)l.p[i]);
    }
    if (i == 0 || v > (uint64_t)S3_MAX_CHUNK_BYTES)
        return AUTH_E_INVALID_CHUNK_ENCODING;
    rest = str_make(l.p + i, l.n - i);
    if (d->is_signed) {
        if (rest.n != sizeof(ext) - 1 + 64 || memcmp(rest.p, ext, sizeof(ext) - 1) != 0 ||
            !is_hex64(str_make(rest.p + sizeof(ext) - 1, 64)))
            return AUTH_E_INVALID_CHUNK_ENCODING;
        memcpy(d->want_sig, rest.p + sizeof(ext) - 1, 64);
        d->want_sig[64] = '\0';
    } else if (rest.n > 0 && rest.p[0] != ';') {
        return AUTH_E_INVALID_CHUNK_ENCODING;
    }
    d->line_n = 0;
    if (v > 0) {
        d->left = v;
        if (d->is_signed)
            d->h = hash_new(HASH_SHA256);
        d->st = ST_DATA;
        return AUTH_E_OK;
    }
    /* The final, empty chunk: signed like the others. */
    if (d->is_signed) {
        enum auth_err err;
        sha256("", 0, empty);
        err = check_chunk(d, empty);
        if (err != AUTH_E_OK)
            return err;
    }
    d->st = d->has_trailer ? ST_TRAILER : ST_END_CR;
    return AUTH_E_OK;
}

static enum auth_err
trailer_line(struct sigv4_chunked *d)
{
    struct str l = buf_str(&d->tline), name, value;
    enum auth_err err = AUTH_E_OK;

    if (l.n > 0 && l.p[l.n - 1] == '\r')
        l.n--;
    if (l.n == 0) {
        /* Some clients put an empty line between the final chunk and the
         * trailers; one there is either that or the end. */
        if (d->n_trailers == 0 && !d->trailer_sig_ok && !d->blank_seen) {
            d->blank_seen = true;
            goto out;
        }
        if (d->is_signed && !d->trailer_sig_ok)
            return AUTH_E_INVALID_CHUNK_ENCODING;
        d->st = ST_DONE;
        goto out;
    }
    if (d->trailer_sig_ok) /* nothing may follow the trailer signature */
        return AUTH_E_INVALID_CHUNK_ENCODING;
    for (size_t i = 0; i < l.n; i++)
        if (((unsigned char)l.p[i] < ' ' && l.p[i] != '\t') || l.p[i] == 0x7f)
            return AUTH_E_INVALID_CHUNK_ENCODING;
    if (!str_split(l, ':', &name, &value))
        return AUTH_E_INVALID_CHUNK_ENCODING;
    name = str_trim(name);
    value = str_trim(value);
    if (name.n == 0)
        return AUTH_E_INVALID_CHUNK_ENCODING;
    if (str_ieq_c(name, "x-amz-trailer-signature")) {
        unsigned char digest[32];
        char hex[65], want[65];
        if (!d->is_signed || !is_hex64(value))
            return AUTH_E_INVALID_CHUNK_ENCODING;
        /* String to sign: "AWS4-HMAC-SHA256-TRAILER", date, scope, previous
         * signature, sha256 of the trailers as "name:value\n" each. */
        memcpy(want, value.p, 64);
        want[64] = '\0';
        sha256(d->trailers.p ? d->trailers.p : "", d->trailers.n, digest);
        hex_encode(digest, 32, hex);
        err = check_link(d, "AWS4-HMAC-SHA256-TRAILER", hex, want);
        if (err == AUTH_E_OK)
            d->trailer_sig_ok = true;
        goto out;
    }
    if (buf_append_str(&d->trailers, name) < 0 || buf_append(&d->trailers, ":", 1) < 0 ||
        buf_append_str(&d->trailers, value) < 0 || buf_append(&d->trailers, "\n", 1) < 0)
        return AUTH_E_INVALID_CHUNK_ENCODING;
    d->n_trailers++;
out:
    buf_reset(&d->tline);
    return err;
}

enum auth_err
sigv4_chunked_feed(struct sigv4_chunked *d, const char *p, size_t n, sigv4_sink sink, void *arg)
{
    enum auth_err err;

    while (n > 0) {
        switch (d->st) {
        case ST_LINE: {
            const char *nl = memchr(p, '\n', n);
            size_t take = nl != NULL ? (size_t)(nl - p) : n;
            /* +1: the '\r' before the '\n' is stored too. */
            if (d->line_n + take > LINE_MAX_BYTES + 1)
                return fail(d, AUTH_E_INVALID_CHUNK_ENCODING);
            memcpy(d->line + d->line_n, p, take);
            d->line_n += take;
            p += take;
            n -= take;
            if (nl != NULL) {
                p++;
                n--;
                err = size_line(d);
                if (err != AUTH_E_OK)
                    return fail(d, err);
            }
            break;
        }
        case ST_DATA: {
            size_t take = (uint64_t)n < d->left ? n : (size_t)d->left;
            if (d->h != NULL)
                hash_update(d->h, p, take);
            if (sink(arg, p, take) < 0)
                return fail(d, AUTH_E_INTERNAL);
            d->decoded += (int64_t)take;
            d->left -= take;
            p += take;
            n -= take;
            if (d->left == 0) {
                if (d->h != NULL) {
                    unsigned char digest[32];
                    hash_final(d->h, digest);
                    d->h = NULL;
                    err = check_chunk(d, digest);
                    if (err != AUTH_E_OK)
                        return fail(d, err);
                }
                d->st = ST_DATA_CR;
            }
            break;
        }
        case ST_DATA_CR:
        case ST_END_CR:
            if (*p != '\r')
                return fail(d, AUTH_E_INVALID_CHUNK_ENCODING);
            d->st = d->st == ST_DATA_CR ? ST_DATA_LF : ST_END_LF;
            p++;
            n--;
            break;
        case ST_DATA_LF:
        case ST_END_LF:
            if (*p != '\n')
                return fail(d, AUTH_E_INVALID_CHUNK_ENCODING);
            d->st = d->st == ST_DATA_LF ? ST_LINE : ST_DONE;
            p++;
            n--;
            break;
        case ST_TRAILER: {
            const char *nl = memchr(p, '\n', n);
            size_t take = nl != NULL ? (size_t)(nl - p) : n;
            d->trailer_bytes += take + (nl != NULL);
            if (d->trailer_bytes > TRAILER_MAX_BYTES || buf_append(&d->tline, p, take) < 0)
                return fail(d, AUTH_E_INVALID_CHUNK_ENCODING);
            p += take;
            n -= take;
            if (nl != NULL) {
                p++;
                n--;
                err = trailer_line(d);
                if (err != AUTH_E_OK)
                    return fail(d, err);
            }
            break;
        }
        case ST_DONE:
            return fail(d, AUTH_E_INVALID_CHUNK_ENCODING); /* bytes after the end */
        case ST_ERROR:
            return d->err;
        }
    }
    return d->st == ST_ERROR ? d->err : AUTH_E_OK;
}

enum auth_err
sigv4_chunked_finish(struct sigv4_chunked *d)
{
    bool ok;

    switch (d->st) {
    case ST_DONE:
        return AUTH_E_OK;
    case ST_ERROR:
        return d->err;
    case ST_END_CR:
    case ST_END_LF:
        ok = true; /* every chunk, the final one included, was complete */
        break;
    case ST_TRAILER:
        /* At a line boundary: signed trailers need their signature; unsigned
         * ones need at least a line after the final chunk. */
        ok = d->tline.n == 0 &&
             (d->is_signed ? d->trailer_sig_ok : d->n_trailers > 0 || d->blank_seen);
        break;
    default:
        ok = false;
        break;
    }
    if (!ok)
        return fail(d, AUTH_E_INCOMPLETE_BODY);
    d->st = ST_DONE;
    return AUTH_E_OK;
}

struct str
sigv4_chunked_trailer(const struct sigv4_chunked *d, const char *name)
{
    struct str rest = buf_str(&d->trailers), line, n, v;

    while (rest.n > 0) {
        str_split(rest, '\n', &line, &rest);
        if (str_split(line, ':', &n, &v) && str_ieq_c(n, name))
            return v;
        if (rest.p == NULL)
            break;
    }
    return STR_NULL;
}

int64_t
sigv4_chunked_decoded(const struct sigv4_chunked *d)
{
    return d->decoded;
}
