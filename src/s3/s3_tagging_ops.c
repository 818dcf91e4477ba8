/* s3_tagging_ops.c -- tags on the wire and in decisions: Get/Put/Delete-
 * ObjectTagging per version, Get/Put/DeleteBucketTagging, the tags a write
 * asks for (x-amz-tagging, a POST upload's tagging field, a REPLACE copy's)
 * and the tag set the s3:RequestObjectTag keys read. The wire forms are
 * s3_tagging.c's, the rules core/tags.c's; s3:ExistingObjectTag is
 * s3_authz_keys.c's. */
#include "common.h"
#include "core/tags.h"
#include "s3/s3_authz.h"
#include "s3/s3_int.h"
#include "s3/s3_tagging.h"

#include <errno.h>

/* ---- what a write asks for ---------------------------------------------------- */

/* The tags a write carries, as sent: *src and whether it is a <Tagging>
 * document (a POST upload's field) rather than x-amz-tagging. A copy
 * carries its own only with x-amz-tagging-directive REPLACE: with COPY
 * (the default) x-amz-tagging is not read, as on AWS. */
static bool
carried(const struct s3_req *q, struct str *src, bool *is_xml)
{
    *is_xml = q->is_post_form;
    if (q->is_post_form) {
        *src = q->post_tagging;
        return src->p != NULL;
    }
    if (http_header(q->http, "x-amz-copy-source").p != NULL &&
        !str_eq_c(http_header(q->http, "x-amz-tagging-directive"), "REPLACE"))
        return false;
    /* A presigned URL's x-amz-tagging query parameter is among the
     * headers too (s3_route.c). */
    *src = http_header(q->http, "x-amz-tagging");
    return src->p != NULL;
}

static enum s3_err
parse_carried(struct arena *a, struct str src, bool is_xml, struct md_tag **t, size_t *n,
              const char **msg)
{
    if (is_xml)
        return s3_tagging_parse_xml(a, src, t, n);
    return s3_tagging_parse_header(a, src, t, n, msg);
}

enum s3_err
s3_tagging_write_check(struct s3_req *q)
{
    struct md_tag *t;
    struct str src;
    const char *msg = NULL;
    size_t n;
    bool is_xml;
    enum s3_err err;

    q->tag_text = STR_NULL;
    if (!carried(q, &src, &is_xml))
        return S3E_OK;
    err = parse_carried(q->arena, src, is_xml, &t, &n, &msg);
    if (err == S3E_OK)
        err = s3_tagging_check(t, n, TAGS_MAX_OBJECT, &msg);
    if (err != S3E_OK) {
        q->err_msg = msg;
        return err;
    }
    if (n == 0)
        return S3E_OK; /* "x-amz-tagging:" asks for no tags */
    if (md_tags_encode(t, n, q->arena, &q->tag_text) < 0)
        return S3E_INTERNAL;
    if (q->bucket_err != S3E_OK)
        return S3E_OK; /* the handler answers NoSuchBucket */
    /* AWS: tags on a write need s3:PutObjectTagging too [spec-authorization
     * §3.2; case 41]. */
    return s3_authz_check(q, "s3:PutObjectTagging", &q->b, q->key, STR_NULL, false, NULL);
}

bool
s3_tagging_request_tags(const struct s3_req *q, struct arena *a, const struct md_tag **t,
                        size_t *n)
{
    struct md_tag *parsed;
    struct str src;
    const char *msg;
    bool is_xml;

    *t = NULL;
    *n = 0;
    if (q->has_req_tags) {
        *t = q->req_tags;
        *n = q->n_req_tags;
        return *n > 0;
    }
    if (!carried(q, &src, &is_xml) || parse_carried(a, src, is_xml, &parsed, n, &msg) != S3E_OK)
        return false;
    *t = parsed;
    return *n > 0;
}

/* ---- writes ------------------------------------------------------------------- */

static enum s3_err
reply_tags(struct s3_req *q, struct str text)
{
    struct md_tag *t;
    struct buf x;
    size_t n;

    if (md_tags_decode(text, q->arena, &t, &n) < 0)
        return S3E_INTERNAL;
    buf_init(&x, 256 * 1024);
    if (s3_tagging_render(&x, t, n) < 0) {
        buf_free(&x);
        return S3E_INTERNAL;
    }
    (void)s3_reply_xml(q, 200, &x);
    return S3E_OK;
}

/* ---- Get/Put/DeleteObjectTagging ------------------------------------------------ */

enum s3_err
s3_get_object_tagging(struct s3_req *q)
{
    struct md_bucket b;
    struct md_version v;
    enum s3_err err = s3_req_bucket(q, &b);

    if (err == S3E_OK)
        err = s3_object_version(q, &b, &v);
    if (err != S3E_OK)
        return err;
    return reply_tags(q, v.tags);
}

enum s3_err
s3_put_object_tagging(struct s3_req *q)
{
    struct str text = STR_NULL, body, vid = s3_param(q, "versionId", NULL);
    struct md_bucket b;
    struct md_version v;
    struct md_tag *t = NULL;
    const char *msg = NULL;
    size_t n = 0;
    enum s3_err err = s3_req_bucket(q, &b);

    if (err == S3E_OK)
        err = s3_config_body(q, false, &body);
    if (err == S3E_OK)
        err = s3_tagging_parse_xml(q->arena, body, &t, &n);
    if (err != S3E_OK)
        return err;
    /* The decision the authorize phase left (s3_route.c): the body's tags
     * are the s3:RequestObjectTag keys [spec-authorization §4.2]. */
    q->req_tags = t;
    q->n_req_tags = n;
    q->has_req_tags = true;
    err = s3_authz_check(q, q->action, &b, q->key, vid, false, NULL);
    if (err == S3E_OK || err == S3E_ACCESS_DENIED)
        q->authz = err == S3E_OK ? S3_AUTHZ_ALLOW : S3_AUTHZ_DENY;
    if (err == S3E_OK)
        err = s3_tagging_check(t, n, TAGS_MAX_OBJECT, &msg);
    if (err != S3E_OK) {
        q->err_msg = msg;
        return err;
    }
    err = s3_object_version(q, &b, &v);
    if (err == S3E_OK && n > 0 && md_tags_encode(t, n, q->arena, &text) < 0)
        err = S3E_INTERNAL;
    if (err == S3E_OK)
        err = s3_column_write(q, &b, &v, S3_COL_TAGS, text);
    if (err != S3E_OK)
        return err;
    (void)s3_reply_empty(q, 200);
    return S3E_OK;
}

enum s3_err
s3_delete_object_tagging(struct s3_req *q)
{
    struct md_bucket b;
    struct md_version v;
    enum s3_err err = s3_req_bucket(q, &b);

    if (err == S3E_OK)
        err = s3_object_version(q, &b, &v);
    if (err == S3E_OK)
        err = s3_column_write(q, &b, &v, S3_COL_TAGS, STR_NULL);
    if (err != S3E_OK)
        return err;
    (void)s3_reply_empty(q, 204);
    return S3E_OK;
}

/* ---- Get/Put/DeleteBucketTagging ------------------------------------------------ */

enum s3_err
s3_get_bucket_tagging(struct s3_req *q)
{
    struct md_bucket b;
    enum s3_err err = s3_req_bucket(q, &b);

    if (err != S3E_OK)
        return err;
    /* AWS: a bucket without tags has no tag set at all: 404. */
    if (md_tags_count(b.tags) == 0)
        return S3E_NO_SUCH_TAG_SET;
    return reply_tags(q, b.tags);
}

enum s3_err
s3_put_bucket_tagging(struct s3_req *q)
{
    struct md_bucket b;
    struct md_tag *t = NULL;
    struct str body, text = STR_NULL;
    const char *msg = NULL;
    size_t n = 0;
    enum s3_err err = s3_req_bucket(q, &b);

    /* AWS requires Content-MD5 (or a checksum) on PutBucketTagging. */
    if (err == S3E_OK)
        err = s3_config_body(q, true, &body);
    if (err == S3E_OK)
        err = s3_tagging_parse_xml(q->arena, body, &t, &n);
    if (err == S3E_OK)
        err = s3_tagging_check(t, n, TAGS_MAX_BUCKET, &msg);
    if (err == S3E_OK && n > 0 && md_tags_encode(t, n, q->arena, &text) < 0)
        err = S3E_INTERNAL;
    if (err == S3E_OK)
        err = s3_column_write(q, &b, NULL, S3_COL_TAGS, text);
    if (err != S3E_OK) {
        q->err_msg = msg;
        return err;
    }
    (void)s3_reply_empty(q, 204);
    return S3E_OK;
}

enum s3_err
s3_delete_bucket_tagging(struct s3_req *q)
{
    struct md_bucket b;
    enum s3_err err = s3_req_bucket(q, &b);

    if (err == S3E_OK)
        err = s3_column_write(q, &b, NULL, S3_COL_TAGS, STR_NULL);
    if (err != S3E_OK)
        return err;
    (void)s3_reply_empty(q, 204);
    return S3E_OK;
}
