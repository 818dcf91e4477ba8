/* s3_post.c -- browser POST uploads ("POST Object") [spec-authorization §8]:
 * POST /{bucket} with a multipart/form-data body (http/http_form.c). The
 * fields before the file name the key, the caller (a policy signed with
 * SigV4 or SigV2 in the fields, or nobody) and what to store; the file
 * streams into a blob as PutObject's body does and the version is written
 * by core's object_write(), data fsynced before the commit. The authorize
 * phase left the decision here: only the fields say who asks. Parsing and
 * checking the policy: s3_post_policy.c. */
#include "common.h"
#include "bounds.h"
#include "core/object.h"
#include "crypto/hash.h"
#include "http/http_form.h"
#include "s3/s3_authz.h"
#include "s3/s3_int.h"
#include "s3/s3_mpu.h"
#include "s3/s3_post.h"
#include "store/blob.h"
#include "store/space.h"
#include "util/enc.h"
#include "util/log.h"
#include "util/tm.h"
#include "util/xmalloc.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#define IO_CHUNK (256 * 1024)
#define DRAIN_MAX (64 * 1024) /* what is read after the file to keep the
                               * connection (fields there are ignored) */

/* Fields stored with the object, as PutObject stores the same headers. */
static const char *const stored_fields[] = {
    "cache-control", "content-disposition", "content-encoding", "expires", "content-language",
    "x-amz-website-redirect-location",
};

/* Fields that would change what is stored and that Coffer does not keep:
 * refused as PutObject refuses their headers, never accepted and ignored. */
static bool
unsupported_field(struct str name)
{
    static const char *const prefixes[] = {
        "x-amz-server-side-encryption", "x-amz-object-lock-", "x-amz-grant-",
        "x-amz-checksum-",
    };

    /* Not a field of S3's POST (its tags are the tagging field). */
    if (str_ieq_c(name, "x-amz-tagging"))
        return true;
    for (size_t i = 0; i < ARRAY_LEN(prefixes); i++)
        if (name.n >= strlen(prefixes[i]) && strncasecmp(name.p, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

/* ---- the body ------------------------------------------------------------- */

struct src {
    struct s3_req *q;
    int err; /* the last read error */
};

static ssize_t
body_read(void *arg, void *p, size_t n)
{
    struct src *s = arg;
    ssize_t got = http_body_read(s->q->http, p, n);

    if (got < 0)
        s->err = (int)got;
    return got;
}

static enum s3_err
form_err(struct s3_req *q, const struct src *s, int rc)
{
    if (s->err != 0 && rc == s->err)
        return rc == -ETIMEDOUT ? S3E_REQUEST_TIMEOUT : S3E_INCOMPLETE_BODY;
    switch (rc) {
    case -EMSGSIZE:
        return S3E_MAX_POST_PRE_DATA;
    case -ENOENT:
        return S3E_INCORRECT_NUMBER_OF_FILES;
    case -EBADMSG:
        return S3E_MALFORMED_POST_REQUEST;
    default:
        log_error("post: form read failed: %d (request %s)", rc, q->http->request_id);
        return S3E_INTERNAL;
    }
}

/* ---- who signed the form ------------------------------------------------ */

static enum s3_err
missing(struct s3_req *q, const char *name)
{
    q->err_msg = arena_printf(q->arena,
                              "Bucket POST must contain a field named '%s'.  If it is "
                              "specified, please check the order of the fields.",
                              name);
    q->err_arg_name = name;
    q->err_arg_value = "";
    return S3E_INVALID_ARGUMENT;
}

static enum s3_err
bad_field(struct s3_req *q, const char *name, struct str v, const char *msg)
{
    q->err_msg = msg;
    q->err_arg_name = name;
    q->err_arg_value = arena_cstr(q->arena, v);
    return S3E_INVALID_ARGUMENT;
}

static enum s3_err
load_key(struct s3_req *q, struct str akid, struct md_key *key)
{
    int rc = md_key_get(md_reader(q->srv->md), akid, q->arena, key);

    if (rc == -ENOENT || (rc == 0 && !key->is_active))
        return S3E_INVALID_ACCESS_KEY_ID;
    return rc < 0 ? S3E_INTERNAL : S3E_OK;
}

/* SigV4: x-amz-signature = hex HMAC-SHA256(signing key, policy as sent). */
static enum s3_err
auth_v4(struct s3_req *q, const struct s3_post_form *fm, struct str policy, struct md_key *key)
{
    struct str alg = s3_post_field(fm, "x-amz-algorithm");
    struct str cred = s3_post_field(fm, "x-amz-credential");
    struct str date = s3_post_field(fm, "x-amz-date");
    struct str sig = s3_post_field(fm, "x-amz-signature");
    struct str part[5], rest;
    unsigned char k[32], mac[32];
    char hex[65];
    int64_t t;
    size_t n = 0;
    enum s3_err err;

    if (alg.p == NULL)
        return missing(q, "x-amz-algorithm");
    if (cred.p == NULL)
        return missing(q, "x-amz-credential");
    if (date.p == NULL)
        return missing(q, "x-amz-date");
    if (!str_eq_c(alg, "AWS4-HMAC-SHA256"))
        return bad_field(q, "x-amz-algorithm", alg, "Only AWS4-HMAC-SHA256 is supported.");
    for (rest = cred; rest.p != NULL && n < 5; n++)
        str_split(rest, '/', &part[n], &rest);
    if (n != 5 || rest.p != NULL || part[0].n == 0 || part[1].n != 8 ||
        !str_eq_c(part[3], "s3") || !str_eq_c(part[4], "aws4_request"))
        return bad_field(q, "x-amz-credential", cred,
                         "The credential must be ACCESS_KEY/YYYYMMDD/REGION/s3/aws4_request.");
    if (!str_eq_c(part[2], q->srv->region))
        return bad_field(q, "x-amz-credential", cred,
                         arena_printf(q->arena, "The region '%.*s' is wrong; expecting '%s'.",
                                      STR_FMT(part[2]), q->srv->region));
    if (tm_parse_amz(date, &t) < 0 || memcmp(date.p, part[1].p, 8) != 0)
        return bad_field(q, "x-amz-date", date,
                         "x-amz-date must be YYYYMMDDTHHMMSSZ on the credential's day.");
    q->auth.access_key_id = part[0];
    q->auth.date8 = part[1];
    q->auth.region = part[2];
    q->auth.service = part[3];
    q->auth.amz_date = date;
    err = load_key(q, part[0], key);
    if (err != S3E_OK)
        return err;
    sigv4_signing_key(key->secret, part[1], part[2], part[3], k);
    hmac_sha256(k, sizeof(k), policy.p, policy.n, mac);
    hex_encode(mac, sizeof(mac), hex);
    if (!str_ct_eq(str_make(hex, 64), sig))
        return S3E_SIGNATURE_DOES_NOT_MATCH;
    return S3E_OK;
}

/* SigV2: signature = base64 HMAC-SHA1(secret, policy as sent). */
static enum s3_err
auth_v2(struct s3_req *q, const struct s3_post_form *fm, struct str policy, struct md_key *key)
{
    struct str akid = s3_post_field(fm, "AWSAccessKeyId");
    struct str sig = s3_post_field(fm, "signature");
    unsigned char mac[20];
    char b64[32];
    size_t n;
    enum s3_err err;

    if (akid.p == NULL)
        return missing(q, "AWSAccessKeyId");
    if (sig.p == NULL)
        return missing(q, "signature");
    q->auth.access_key_id = akid;
    err = load_key(q, akid, key);
    if (err != S3E_OK)
        return err;
    hmac_sha1(key->secret.p, key->secret.n, policy.p, policy.n, mac);
    n = b64_encode(mac, sizeof(mac), b64);
    if (!str_ct_eq(str_make(b64, n), sig))
        return S3E_SIGNATURE_DOES_NOT_MATCH;
    q->is_sigv2 = true;
    return S3E_OK;
}

/* Sets the caller from the fields, whatever the headers said: the form is
 * the request's signature [§8]. *is_signed false: anonymous. */
static enum s3_err
form_auth(struct s3_req *q, const struct s3_post_form *fm, bool *is_signed)
{
    struct str policy = s3_post_field(fm, "policy");
    bool v4 = s3_post_field(fm, "x-amz-signature").p != NULL ||
              s3_post_field(fm, "x-amz-credential").p != NULL;
    bool v2 = s3_post_field(fm, "signature").p != NULL ||
              s3_post_field(fm, "AWSAccessKeyId").p != NULL;
    struct md_key key = {0};
    enum s3_err err;

    memset(&q->auth, 0, sizeof(q->auth));
    q->auth.payload = SIGV4_UNSIGNED;
    q->auth.decoded_length = -1;
    q->is_sigv2 = false;
    q->pr = (struct s3_principal){0}; /* rebuilt for the form's caller */
    *is_signed = v4 || v2;
    if (!*is_signed) {
        q->auth.is_anonymous = true;
        q->account_id = 0;
        q->user_id = -1;
        return S3E_OK;
    }
    if (policy.p == NULL)
        return missing(q, "policy");
    if (v4 && s3_post_field(fm, "x-amz-signature").p == NULL)
        return missing(q, "x-amz-signature");
    err = v4 ? auth_v4(q, fm, policy, &key) : auth_v2(q, fm, policy, &key);
    if (err != S3E_OK)
        return err;
    q->auth.session_token = s3_post_field(fm, "x-amz-security-token");
    return s3_auth_caller(q, &key);
}

/* ---- what is stored -------------------------------------------------------- */

/* Field values end up in headers: no control characters. */
static bool
header_safe(struct str v)
{
    for (size_t i = 0; i < v.n; i++)
        if ((unsigned char)v.p[i] < 0x20 && v.p[i] != '\t')
            return false;
    return true;
}

/* The stored headers and x-amz-meta-* from the fields, as s3_collect_meta()
 * makes them from headers; refuses what Coffer would not keep. */
static enum s3_err
fields_meta(struct s3_req *q, const struct s3_post_form *fm, struct str *meta)
{
    struct buf b;
    size_t user = 0;
    enum s3_err err = S3E_OK;

    buf_init(&b, 64 * 1024);
    for (size_t i = 0; i < fm->n && err == S3E_OK; i++) {
        struct str n = fm->f[i].name, v = fm->f[i].value;
        bool keep = n.n > 11 && strncasecmp(n.p, "x-amz-meta-", 11) == 0;
        if (str_ieq_c(n, "x-amz-storage-class") && !s3_storage_class_valid(v)) {
            err = S3E_INVALID_STORAGE_CLASS;
            break;
        }
        if (str_ieq_c(n, "x-amz-website-redirect-location")) {
            err = s3_redirect_check(q, v);
            if (err != S3E_OK)
                break;
        }
        if (unsupported_field(n)) {
            q->err_msg = arena_printf(q->arena, "The header %.*s is not implemented by Coffer.",
                                      STR_FMT(n));
            err = S3E_NOT_IMPLEMENTED;
            break;
        }
        if (keep)
            user += n.n - 11 + v.n;
        for (size_t k = 0; k < ARRAY_LEN(stored_fields) && !keep; k++)
            keep = str_ieq_c(n, stored_fields[k]);
        if (!keep && !str_ieq_c(n, "content-type"))
            continue;
        if (!header_safe(v) || !header_safe(n)) {
            err = bad_field(q, arena_cstr(q->arena, n), STR_LIT(""),
                            "A field stored as a header may not hold control characters.");
            break;
        }
        if (!keep)
            continue;
        for (size_t k = 0; k < n.n; k++) {
            char c = n.p[k] >= 'A' && n.p[k] <= 'Z' ? (char)(n.p[k] + 32) : n.p[k];
            buf_append(&b, &c, 1);
        }
        buf_append_c(&b, ": ");
        buf_append_str(&b, v);
        buf_append_c(&b, "\n");
    }
    if (err == S3E_OK && user > S3_MAX_META_BYTES)
        err = S3E_METADATA_TOO_LARGE;
    if (err == S3E_OK)
        *meta = arena_str(q->arena, buf_str(&b));
    buf_free(&b);
    return err;
}

/* ---- the write ------------------------------------------------------------- */

struct post_ctx {
    struct s3_req *q;
    struct md_version v;
    struct md_bucket b;
    bool trashed; /* object_put()'s */
    enum core_err err;
};

static int
post_txn(struct md_conn *c, void *arg)
{
    struct post_ctx *p = arg;

    p->err = object_write(c, p->q->bucket, p->q->b.id, NULL, p->q->arena, &p->b, &p->v,
                          &p->trashed);
    if (p->err != CORE_E_OK)
        return -EINVAL;
    /* The ACL the acl field asked for goes with the version, in its commit. */
    return p->q->acl_text.p != NULL ? md_version_set_acl(c, p->v.seq, p->q->acl_text) : 0;
}

/* The file into a blob (or the row, when small), MD5 on the way, then the
 * version committed; the data is durable before the row, as PutObject. */
static enum s3_err
store(struct s3_req *q, struct http_form *f, const struct src *s,
      const struct s3_post_policy *pol, struct post_ctx *p)
{
    int64_t max = s3_post_policy_max(pol);
    struct hash *md5 = hash_new(HASH_MD5);
    struct blob_writer *w = NULL;
    char *mem = xmalloc(STORE_INLINE_MAX), *chunk = xmalloc(IO_CHUNK);
    char blob_id[BLOB_ID_LEN + 1], hex[33];
    unsigned char digest[16];
    size_t mem_n = 0;
    int64_t size = 0;
    enum s3_err err = S3E_OK;
    int rc = 0;

    for (;;) {
        ssize_t got = http_form_read(f, chunk, IO_CHUNK);
        if (got < 0) {
            err = form_err(q, s, (int)got);
            goto out;
        }
        if (got == 0)
            break;
        size += got;
        if (size > S3_MAX_PUT_BYTES || size > max) {
            err = S3E_ENTITY_TOO_LARGE;
            goto out;
        }
        hash_update(md5, chunk, (size_t)got);
        if (w == NULL && mem_n + (size_t)got <= STORE_INLINE_MAX) {
            memcpy(mem + mem_n, chunk, (size_t)got);
            mem_n += (size_t)got;
            continue;
        }
        if (w == NULL) {
            rc = blob_writer_open(q->srv->blob, &w);
            if (rc == 0)
                rc = blob_writer_write(w, mem, mem_n);
        }
        if (rc == 0)
            rc = blob_writer_write(w, chunk, (size_t)got);
        if (rc < 0) {
            err = s3_err_from_errno(rc);
            goto out;
        }
    }
    /* content-length-range: too large may stop the upload early, too small
     * is known only here, before anything is committed. */
    err = s3_post_size_check(pol, size);
    if (err != S3E_OK)
        goto out;
    p->v.size = size;
    hash_final(md5, digest);
    md5 = NULL;
    hex_encode(digest, 16, hex);
    p->v.etag = arena_str(q->arena, str_make(hex, 32));
    if (w != NULL) {
        rc = blob_writer_commit(w, blob_id);
        w = NULL;
        if (rc < 0) {
            err = s3_err_from_errno(rc);
            goto out;
        }
        p->v.blob_id = arena_str(q->arena, str_c(blob_id));
    } else {
        p->v.inline_data = arena_str(q->arena, str_make(mem, mem_n));
    }
    rc = md_write(q->srv->md, post_txn, p);
    if (rc < 0) {
        /* Never referenced: unlinked at once, unless the commit's outcome is
         * unknown (-EIO), which blob_gc() decides at start-up. */
        if (p->v.blob_id.p != NULL && rc != -EIO)
            (void)blob_unlink(q->srv->blob, p->v.blob_id);
        err = p->err != CORE_E_OK ? s3_err_from_core(p->err) : s3_err_from_errno(rc);
        goto out;
    }
    if (p->trashed) /* else nothing new is due */
        s3_reap_versions(q->srv);
out:
    hash_free(md5);
    blob_writer_abort(w);
    free(chunk);
    free(mem);
    return err;
}

/* ---- the answer ------------------------------------------------------------ */

static void
reply(struct s3_req *q, const struct s3_post_form *fm, const struct post_ctx *p)
{
    struct str redirect = s3_post_field(fm, "success_action_redirect");
    struct str status = s3_post_field(fm, "success_action_status");
    char etag[80];
    struct buf b;

    if (redirect.p == NULL)
        redirect = s3_post_field(fm, "redirect"); /* the deprecated name */
    s3_etag_quoted(p->v.etag, etag);
    http_resp_header_c(q->http, "ETag", etag);
    if (p->b.versioning == MD_VER_ENABLED)
        http_resp_header(q->http, "x-amz-version-id", p->v.version_id);
    buf_init(&b, 16 * 1024);
    /* AWS: a redirect to a URL with bucket, key and etag added; 303
     * [§8 decision]. A value that is no http(s) URL is ignored. */
    if (redirect.p != NULL && header_safe(redirect) &&
        (str_has_prefix(redirect, "http://") || str_has_prefix(redirect, "https://"))) {
        buf_append_str(&b, redirect);
        buf_append_c(&b, memchr(redirect.p, '?', redirect.n) ? "&bucket=" : "?bucket=");
        uri_encode(&b, q->bucket, 0);
        buf_append_c(&b, "&key=");
        uri_encode(&b, q->key, 0);
        buf_append_c(&b, "&etag=");
        uri_encode(&b, str_c(etag), 0);
        http_resp_header(q->http, "Location", arena_str(q->arena, buf_str(&b)));
        s3_reply_empty(q, 303);
        buf_free(&b);
        return;
    }
    buf_append_c(&b, q->http->is_tls ? "https://" : "http://");
    buf_append_str(&b, http_header(q->http, "host"));
    buf_append_c(&b, "/");
    if (!q->is_vhost) {
        uri_encode(&b, q->bucket, 0);
        buf_append_c(&b, "/");
    }
    uri_encode(&b, q->key, 1);
    struct str location = arena_str(q->arena, buf_str(&b));
    buf_free(&b);
    http_resp_header(q->http, "Location", location);
    if (str_eq_c(status, "201")) {
        buf_init(&b, 64 * 1024);
        xml_decl(&b);
        xml_open(&b, "PostResponse");
        xml_elem(&b, "Location", location);
        xml_elem(&b, "Bucket", q->bucket);
        xml_elem(&b, "Key", q->key);
        xml_elem_c(&b, "ETag", etag);
        xml_close(&b, "PostResponse");
        s3_reply_xml(q, 201, &b);
        return;
    }
    /* 200 or 204; anything else is 204, the default. */
    s3_reply_empty(q, str_eq_c(status, "200") ? 200 : 204);
}

/* Reads what follows the file (ignored fields, the closing delimiter) so
 * the connection can carry another request; a long tail closes it. */
static void
drain(struct s3_req *q)
{
    char tmp[4096];
    size_t n = 0;

    while (n < DRAIN_MAX) {
        ssize_t got = http_body_read(q->http, tmp, sizeof(tmp));
        if (got <= 0)
            return;
        n += (size_t)got;
    }
}

/* ---- the handler ------------------------------------------------------------- */

enum s3_err
s3_post_object(struct s3_req *q)
{
    static const struct http_form_limits lim = {
        .max_field_bytes = S3_POST_MAX_FIELD_BYTES,
        .max_head_bytes = S3_POST_MAX_HEAD_BYTES,
        .max_parts = S3_POST_MAX_FIELDS,
    };
    struct str ctype = http_header(q->http, "content-type"), boundary, key;
    struct s3_post_form *fm = arena_zalloc(q->arena, sizeof(*fm));
    struct s3_post_policy pol = {0};
    struct post_ctx p = {.q = q};
    struct http_form *f = NULL;
    struct http_form_part file;
    struct src s = {q, 0};
    const char *msg = NULL;
    bool is_signed;
    enum s3_err err;
    int rc;

    err = s3_req_bucket(q, &p.b);
    if (err != S3E_OK)
        return err;
    if (http_form_boundary(ctype, &boundary) < 0) {
        if (ctype.n >= 19 && strncasecmp(ctype.p, "multipart/form-data", 19) == 0)
            return S3E_MALFORMED_POST_REQUEST;
        q->err_msg = "Bucket POST must be of the enclosure-type multipart/form-data";
        return S3E_PRECONDITION_FAILED;
    }
    q->is_post_form = true;
    f = http_form_new(boundary, &lim, body_read, &s);
    for (;;) {
        rc = http_form_next(f, q->arena, "file", &file);
        if (rc == 1)
            break;
        if (rc == 0 && s3_post_field_add(q->arena, fm, file.name, file.value) < 0)
            rc = -EMSGSIZE;
        if (rc < 0) {
            err = form_err(q, &s, rc);
            goto out;
        }
    }
    err = form_auth(q, fm, &is_signed);
    if (err != S3E_OK)
        goto out;
    key = s3_post_field(fm, "key");
    if (key.p == NULL) {
        err = missing(q, "key");
        goto out;
    }
    if (s3_post_expand_key(q->arena, key, file.filename, &key) < 0) {
        err = S3E_KEY_TOO_LONG;
        goto out;
    }
    if (key.n == 0) {
        err = bad_field(q, "key", key, "User key must have a length greater than 0.");
        goto out;
    }
    err = s3_key_check(key);
    if (err != S3E_OK)
        goto out;
    q->key = key;
    for (size_t i = 0; i < fm->n; i++)
        if (str_ieq_c(fm->f[i].name, "key"))
            fm->f[i].value = key; /* conditions see the expanded key */
    /* An unsigned form's policy binds nobody: only a signed one is read. */
    if (is_signed) {
        err = s3_post_policy_parse(q->arena, s3_post_field(fm, "policy"), &pol, &msg);
        if (err == S3E_OK)
            err = s3_post_policy_check(q->arena, &pol, fm, q->bucket, q->is_sigv2,
                                       tm_now_ms() / 1000, &msg);
        if (err != S3E_OK) {
            q->err_msg = msg;
            goto out;
        }
    }
    /* The acl field stands for x-amz-acl: in the s3:x-amz-acl key too. */
    q->post_acl = s3_post_field(fm, "acl");
    if (q->post_acl.p != NULL && !header_safe(q->post_acl)) {
        err = bad_field(q, "acl", q->post_acl, "Invalid canned ACL.");
        goto out;
    }
    /* The tagging field, a <Tagging> document, stands for x-amz-tagging:
     * read before the decision, whose s3:RequestObjectTag keys see it. */
    q->post_tagging = s3_post_field(fm, "tagging");
    /* The decision the authorize phase left: s3:PutObject on the key for
     * the form's caller [§3.2, §8]. */
    err = s3_authz_check(q, "s3:PutObject", &p.b, key, STR_NULL, false, NULL);
    if (err == S3E_OK || err == S3E_ACCESS_DENIED)
        q->authz = err == S3E_OK ? S3_AUTHZ_ALLOW : S3_AUTHZ_DENY;
    if (err != S3E_OK)
        goto out;
    err = fields_meta(q, fm, &p.v.meta);
    if (err == S3E_OK)
        err = s3_storage_class_parse(s3_post_field(fm, "x-amz-storage-class"),
                                     &p.v.storage_class);
    if (err == S3E_OK && p.v.storage_class.p != NULL)
        p.v.storage_class = arena_str(q->arena, p.v.storage_class);
    if (err == S3E_OK)
        err = s3_check_unsupported_headers(q); /* the headers, and the acl field */
    if (err == S3E_OK)
        err = s3_err_from_errno(space_admit(q->srv->space));
    if (err != S3E_OK)
        goto out;
    p.v.key = key;
    p.v.mtime_ms = tm_now_ms();
    p.v.owner_id = q->acl_owner_id; /* as s3_acl_write_check() decided [§6.1] */
    p.v.tags = q->tag_text; /* as s3_tagging_write_check() found them */
    p.v.content_type = s3_post_field(fm, "Content-Type");
    if (p.v.content_type.p == NULL)
        p.v.content_type = STR_LIT("binary/octet-stream");
    err = store(q, f, &s, &pol, &p);
    if (err != S3E_OK)
        goto out;
    drain(q);
    reply(q, fm, &p);
out:
    http_form_free(f);
    return err;
}
