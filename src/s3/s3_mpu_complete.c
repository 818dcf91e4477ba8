/* s3_mpu_complete.c -- CompleteMultipartUpload on the wire: its headers and
 * XML body in, its result document and error detail out. What completing
 * means (the parts checked, the ETag and checksum, the extents, all in one
 * md_write() closure) is core/object_mpu.c's. */
#include "common.h"
#include "core/object_mpu.h"
#include "crypto/cksum.h"
#include "s3/s3_int.h"
#include "s3/s3_lifecycle.h"
#include "s3/s3_mpu.h"
#include "util/enc.h"
#include "util/tm.h"
#include "xml/xml_read.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* A CompleteMultipartUpload body names at most 10000 parts; with an ETag
 * and a checksum each, 512 bytes per part is generous. */
#define COMPLETE_BODY_MAX ((size_t)S3_MPU_MAX_PARTS * 512)

/* The ETag as clients send it back: quotes optional. */
static struct str
unquote(struct str s)
{
    s = str_trim(s);
    if (s.n >= 2 && s.p[0] == '"' && s.p[s.n - 1] == '"')
        return str_make(s.p + 1, s.n - 2);
    return s;
}

uint64_t
s3_mpu_crc_combine(enum cksum_algo a, uint64_t crc1, uint64_t crc2, int64_t len2)
{
    return object_mpu_crc_combine(a, crc1, crc2, len2);
}

/* ---- CompleteMultipartUpload --------------------------------------------- */

struct complete_ctx {
    struct s3_req *q;
    struct s3_mpu_want *want; /* as parsed */
    struct object_mpu_complete x;
    enum core_err err;
};

enum s3_err
s3_mpu_parse_complete(struct arena *a, struct str body, struct str algo, struct s3_mpu_want **want,
                      size_t *n_want, struct str *bad_number)
{
    struct xml_node *root, *p;
    struct s3_mpu_want *v;
    size_t n = 0, k = 0;

    *bad_number = STR_NULL;
    if (body.n == 0 || xml_parse(a, body, &root) < 0 ||
        !str_eq_c(root->name, "CompleteMultipartUpload"))
        return S3E_MALFORMED_XML;
    for (p = xml_child(root, "Part"); p != NULL; p = xml_next(p, "Part"))
        n++;
    /* AWS: at least one part; more than 10000 cannot be ascending in range. */
    if (n == 0 || n > S3_MPU_MAX_PARTS)
        return S3E_MALFORMED_XML;
    v = arena_zalloc(a, n * sizeof(*v));
    for (p = xml_child(root, "Part"); p != NULL; p = xml_next(p, "Part")) {
        struct xml_node *num = xml_child(p, "PartNumber"), *et = xml_child(p, "ETag");
        struct s3_mpu_want *w = &v[k];

        if (num == NULL || et == NULL)
            return S3E_MALFORMED_XML;
        if (s3_mpu_parse_part_number(str_trim(num->text), &w->number) < 0) {
            *bad_number = num->text;
            return S3E_INVALID_ARGUMENT;
        }
        w->etag = unquote(et->text);
        w->checksum = STR_NULL;
        /* Only the upload's own algorithm counts; others are ignored. */
        for (struct xml_node *c = p->child; c != NULL && algo.n > 0; c = c->next) {
            if (str_has_prefix(c->name, "Checksum") &&
                str_ieq(str_make(c->name.p + 8, c->name.n - 8), algo))
                w->checksum = str_trim(c->text);
        }
        if (k > 0 && w->number <= v[k - 1].number)
            return S3E_INVALID_PART_ORDER;
        k++;
    }
    *want = v;
    *n_want = k;
    return S3E_OK;
}

static enum s3_err
parse_complete(struct s3_req *q, struct str body, struct complete_ctx *x)
{
    struct object_mpu_want *w;
    struct str bad;
    size_t n;
    enum s3_err err;

    err = s3_mpu_parse_complete(q->arena, body, x->x.u.checksum_algo, &x->want, &n, &bad);
    if (err == S3E_INVALID_ARGUMENT)
        return s3_mpu_invalid_arg(q, S3_MPU_MSG_PART_NUMBER, "PartNumber", bad);
    if (err != S3E_OK)
        return err;
    w = arena_alloc(q->arena, n * sizeof(*w));
    for (size_t i = 0; i < n; i++)
        w[i] = (struct object_mpu_want){x->want[i].number, x->want[i].etag, x->want[i].checksum};
    x->x.want = w;
    x->x.n_want = n;
    return S3E_OK;
}

/* The whole completion as one transaction: the version row and its
 * extents appear, the upload disappears, or nothing happens. */
static int
complete_txn(struct md_conn *c, void *arg)
{
    struct complete_ctx *x = arg;

    x->x.now_ms = tm_now_ms();
    x->err = object_mpu_complete(c, &x->x, x->q->arena);
    if (x->err != CORE_E_OK)
        return -EINVAL;
    /* The ACL asked for at CreateMultipartUpload, in the version's commit. */
    return x->x.u.acl.p != NULL ? md_version_set_acl(c, x->x.v.seq, x->x.u.acl) : 0;
}

/* The S3 error of a failed completion, with the detail AWS sends. */
static enum s3_err
complete_err(struct s3_req *q, const struct complete_ctx *x)
{
    const struct object_mpu_complete *m = &x->x;
    const struct object_mpu_want *w = &m->want[m->bad];
    enum cksum_algo algo = cksum_from_name(m->u.checksum_algo);
    char num[16];

    switch (x->err) {
    case CORE_E_NO_SUCH_UPLOAD:
        return s3_mpu_no_such_upload(q, m->upload_id);
    case CORE_E_INVALID_PART:
        snprintf(num, sizeof(num), "%d", w->number);
        s3_err_elems(q, "PartNumber", arena_str(q->arena, str_c(num)), "ETag", w->etag);
        break;
    case CORE_E_PART_CHECKSUM_MISSING:
        q->err_msg = arena_printf(q->arena,
                                  "The upload was created using a %s checksum. The "
                                  "complete request must include the checksum for each part. "
                                  "It was missing for part %d in the request.",
                                  cksum_name(algo), w->number);
        break;
    case CORE_E_ENTITY_TOO_SMALL:
        q->err_extra_xml =
            arena_printf(q->arena,
                         "<ProposedSize>%" PRId64 "</ProposedSize>"
                         "<MinSizeAllowed>%lld</MinSizeAllowed>"
                         "<PartNumber>%d</PartNumber><ETag>%.*s</ETag>",
                         m->bad_size, S3_MPU_MIN_PART_BYTES, w->number, STR_FMT(m->bad_etag));
        break;
    case CORE_E_OBJECT_SIZE_MISMATCH:
        q->err_msg = arena_printf(q->arena,
                                  "The provided 'x-amz-mp-object-size' header value "
                                  "%" PRId64 " does not match what was computed: %" PRId64,
                                  m->object_size, m->total);
        break;
    case CORE_E_CHECKSUM_ALGO_MISMATCH:
        q->err_msg = "The checksum algorithm of the request does not match the upload's.";
        break;
    case CORE_E_BAD_CHECKSUM:
        q->err_msg = "The checksum you specified did not match what we received.";
        break;
    case CORE_E_NO_SUCH_KEY: /* If-Match without a current object */
        q->err_key = q->key;
        break;
    default:
        break;
    }
    return s3_err_from_core(x->err);
}

/* Reads the (small) XML body. Its x-amz-checksum-* header, if any, is the
 * checksum of the whole object, not of this body: s3_body would check it
 * against the XML, so it is hidden from s3_body while the body is read.
 * Only this worker thread reads the header array while the handler runs. */
static enum s3_err
read_complete_body(struct s3_req *q, struct complete_ctx *x, struct str *body)
{
    struct http_req *r = q->http;
    const struct http_hdr *orig = r->hdrs;
    size_t n_orig = r->n_hdrs, n = 0;
    struct http_hdr *h = arena_alloc(q->arena, (n_orig ? n_orig : 1) * sizeof(*h));
    enum s3_err err;

    for (size_t i = 0; i < n_orig; i++) {
        enum cksum_algo a = cksum_from_header(orig[i].name);
        if (a != CKSUM_NONE) {
            x->x.full_algo = a;
            x->x.full_checksum = orig[i].value;
            continue;
        }
        h[n++] = orig[i];
    }
    r->hdrs = h;
    r->n_hdrs = n;
    err = s3_body_read_all(q, COMPLETE_BODY_MAX, body);
    r->hdrs = orig;
    r->n_hdrs = n_orig;
    return err;
}

/* The answer of a completion that made version v. */
static void
reply_complete(struct s3_req *q, const struct md_version *v)
{
    struct http_req *r = q->http;
    char etag[80];
    struct buf xml;

    if (!str_eq_c(v->version_id, "null"))
        http_resp_header(r, "x-amz-version-id", v->version_id);
    s3_lifecycle_expiration(q, &q->b, v);
    s3_etag_quoted(v->etag, etag);
    buf_init(&xml, 64 * 1024);
    xml_decl(&xml);
    xml_open_ns(&xml, "CompleteMultipartUploadResult", S3_XMLNS);
    {
        struct buf loc;
        struct str host = http_header(r, "host");
        buf_init(&loc, 8 * 1024);
        buf_printf(&loc, "%s://%.*s/", r->is_tls ? "https" : "http",
                   STR_FMT(host.p ? host : STR_LIT("localhost")));
        if (!q->is_vhost) {
            buf_append_str(&loc, q->bucket);
            buf_append_c(&loc, "/");
        }
        uri_encode(&loc, q->key, 1);
        xml_elem(&xml, "Location", buf_str(&loc));
        buf_free(&loc);
    }
    xml_elem(&xml, "Bucket", q->bucket);
    xml_elem(&xml, "Key", q->key);
    xml_elem_c(&xml, "ETag", etag);
    if (v->checksum_algo.n > 0) {
        char tag[32];
        snprintf(tag, sizeof(tag), "Checksum%.*s", STR_FMT(v->checksum_algo));
        xml_elem(&xml, tag, v->checksum_value);
        xml_elem_c(&xml, "ChecksumType", s3_mpu_checksum_type(v));
    }
    xml_close(&xml, "CompleteMultipartUploadResult");
    s3_reply_xml(q, 200, &xml);
}

/* The upload is gone: if this request repeats the completion that made it
 * go (same parts), S3 answers that success again; else NoSuchUpload. */
static enum s3_err
complete_again(struct s3_req *q, struct complete_ctx *x)
{
    struct str body, id = s3_param(q, "uploadId", NULL);
    struct md_version v;
    enum s3_err err = read_complete_body(q, x, &body);

    if (err == S3E_OK)
        err = parse_complete(q, body, x);
    if (err != S3E_OK)
        return err;
    if (object_mpu_completed(md_reader(q->srv->md), q->b.id, q->key, id, x->x.want,
                             x->x.n_want, q->arena, &v) != CORE_E_OK)
        return s3_mpu_no_such_upload(q, id);
    reply_complete(q, &v);
    return S3E_OK;
}

/* POST /{bucket}/{key}?uploadId=ID */
enum s3_err
s3_complete_multipart_upload(struct s3_req *q)
{
    struct http_req *r = q->http;
    struct complete_ctx x = {.q = q};
    struct str body;
    struct str mos = http_header(r, "x-amz-mp-object-size");
    enum s3_err err;
    int rc;

    err = s3_req_bucket(q, &x.x.b);
    if (err == S3E_OK)
        err = s3_mpu_upload_load(q, md_reader(q->srv->md), &x.x.b, &x.x.u);
    if (err == S3E_NO_SUCH_UPLOAD)
        return complete_again(q, &x);
    if (err != S3E_OK)
        return err;
    x.x.bucket = q->bucket;
    x.x.bucket_id = q->b.id;
    /* The owner CreateMultipartUpload chose [spec-authorization §6.1]; the
     * bucket's under BucketOwnerEnforced, whenever it was set. */
    x.x.account_id = x.x.u.object_owner > 0 ? x.x.u.object_owner : x.x.u.owner_id;
    if (x.x.b.ownership == MD_OWN_ENFORCED)
        x.x.account_id = x.x.b.account_id;
    x.x.key = q->key;
    x.x.upload_id = x.x.u.upload_id;
    err = s3_write_cond(q, &x.x.cond);
    if (err != S3E_OK)
        return err;
    x.x.object_size = -1;
    if (mos.p != NULL) {
        long long v;
        if (str_to_i64(str_trim(mos), &v) < 0 || v < 0)
            return s3_mpu_invalid_arg(q, "Invalid value for x-amz-mp-object-size",
                                      "x-amz-mp-object-size", mos);
        x.x.object_size = v;
    }
    err = read_complete_body(q, &x, &body);
    if (err == S3E_OK)
        err = parse_complete(q, body, &x);
    if (err != S3E_OK)
        return err;
    rc = md_write(q->srv->md, complete_txn, &x);
    /* A retry that lost the race to its first attempt finds the upload gone. */
    if (rc < 0 && x.err == CORE_E_NO_SUCH_UPLOAD &&
        object_mpu_completed(md_reader(q->srv->md), q->b.id, q->key, x.x.upload_id, x.x.want,
                             x.x.n_want, q->arena, &x.x.v) == CORE_E_OK) {
        reply_complete(q, &x.x.v);
        return S3E_OK;
    }
    if (rc < 0)
        return x.err != CORE_E_OK ? complete_err(q, &x) : s3_err_from_errno(rc);
    /* Committed: the object is visible and durable. Parts left out are due
     * at once; a replaced version's data waits out its grace period. */
    s3_mpu_reap(q->srv);
    reply_complete(q, &x.x.v);
    return S3E_OK;
}
