/* s3_object.c -- PutObject, CopyObject, GetObject/HeadObject on the wire.
 * Data streams between the socket and a blob file in fixed chunks; small
 * objects live inline in the metadata row (one fsync: the group commit).
 * Durability order: data fsync+rename, then the row commit. What a write
 * does to the versions, and which version a read finds, is core/'s
 * (object.h, version.h). DeleteObject(s): s3_object_delete.c. */
#include "common.h"
#include "bounds.h"
#include "core/object.h"
#include "core/version.h"
#include "crypto/cksum.h"
#include "s3/s3_acl.h"
#include "s3/s3_authz.h"
#include "s3/s3_int.h"
#include "s3/s3_lifecycle.h"
#include "s3/s3_mpu.h"
#include "s3/s3_range.h"
#include "s3/s3_tagging.h"
#include "store/blob.h"
#include "store/space.h"
#include "util/enc.h"
#include "util/log.h"
#include "util/tm.h"
#include "util/xmalloc.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define IO_CHUNK (256 * 1024)

/* Headers stored with an object and returned by GET/HEAD. */
static const char *const stored_headers[] = {
    "content-encoding", "content-disposition", "cache-control", "expires", "content-language",
    "x-amz-website-redirect-location",
};

static const char *const response_overrides[][2] = {
    {"response-content-type", "Content-Type"},
    {"response-content-language", "Content-Language"},
    {"response-expires", "Expires"},
    {"response-cache-control", "Cache-Control"},
    {"response-content-disposition", "Content-Disposition"},
    {"response-content-encoding", "Content-Encoding"},
};

/* ---- metadata ----------------------------------------------------------- */

/* Drops the aws-chunked token, which describes the transfer, not the object.
 * A value without it is kept byte for byte ("deflate, gzip" stays so). */
static struct str
strip_aws_chunked(struct s3_req *q, struct str v)
{
    struct buf b;
    struct str rest = v, item;
    bool first = true, chunked = false;

    while (rest.p != NULL && !chunked) {
        str_split(rest, ',', &item, &rest);
        chunked = str_ieq_c(str_trim(item), "aws-chunked");
    }
    if (!chunked)
        return str_trim(v).n > 0 ? v : STR_NULL;
    rest = v;
    buf_init(&b, v.n + 1);
    while (rest.p != NULL) {
        str_split(rest, ',', &item, &rest);
        item = str_trim(item);
        if (item.n == 0 || str_ieq_c(item, "aws-chunked"))
            continue;
        if (!first)
            buf_append_c(&b, ",");
        buf_append_str(&b, item);
        first = false;
    }
    struct str out = b.n ? arena_str(q->arena, buf_str(&b)) : STR_NULL;
    buf_free(&b);
    return out;
}

#define REDIRECT_MAX 2048 /* AWS: the value is limited to 2 KB */

enum s3_err
s3_redirect_check(struct s3_req *q, struct str v)
{
    if (v.n > REDIRECT_MAX) {
        q->err_msg = "The length of website redirect location cannot exceed 2,048 characters.";
        return S3E_INVALID_REDIRECT_LOCATION;
    }
    if (str_has_prefix(v, "/") || str_has_prefix(v, "http://") ||
        str_has_prefix(v, "https://"))
        return S3E_OK;
    return S3E_INVALID_REDIRECT_LOCATION;
}

enum s3_err
s3_write_cond(struct s3_req *q, struct object_cond *c)
{
    struct str inm = http_header(q->http, "if-none-match");

    c->if_match = http_header(q->http, "if-match");
    c->if_none_match = inm.p != NULL;
    /* AWS: only "*" is supported for writes. */
    if (inm.p != NULL && !str_eq_c(str_trim(inm), "*")) {
        q->err_msg = "If-None-Match only supports the value *";
        return S3E_NOT_IMPLEMENTED;
    }
    return S3E_OK;
}

enum s3_err
s3_collect_meta(struct s3_req *q, struct str *out)
{
    struct http_req *r = q->http;
    struct buf b;
    size_t user_bytes = 0;

    buf_init(&b, 64 * 1024);
    for (size_t i = 0; i < r->n_hdrs; i++) {
        struct str n = r->hdrs[i].name, v = r->hdrs[i].value;
        bool keep = false;
        if (n.n > 11 && strncasecmp(n.p, "x-amz-meta-", 11) == 0) {
            user_bytes += n.n - 11 + v.n;
            keep = true;
        } else {
            for (size_t k = 0; k < ARRAY_LEN(stored_headers); k++)
                if (str_ieq_c(n, stored_headers[k]))
                    keep = true;
            if (str_ieq_c(n, "content-encoding")) {
                v = strip_aws_chunked(q, v);
                keep = v.p != NULL;
            }
            if (str_ieq_c(n, "x-amz-website-redirect-location") &&
                s3_redirect_check(q, v) != S3E_OK) {
                buf_free(&b);
                return S3E_INVALID_REDIRECT_LOCATION;
            }
        }
        if (!keep)
            continue;
        for (size_t k = 0; k < n.n; k++) {
            char lower = n.p[k] >= 'A' && n.p[k] <= 'Z' ? (char)(n.p[k] + 32) : n.p[k];
            buf_append(&b, &lower, 1);
        }
        buf_append_c(&b, ": ");
        buf_append_str(&b, v);
        buf_append_c(&b, "\n");
    }
    if (user_bytes > S3_MAX_META_BYTES) {
        buf_free(&b);
        return S3E_METADATA_TOO_LARGE;
    }
    *out = arena_str(q->arena, buf_str(&b));
    buf_free(&b);
    return S3E_OK;
}

static void
emit_meta(struct s3_req *q, struct str meta)
{
    struct str rest = meta, line, name, value;

    while (rest.p != NULL && rest.n > 0) {
        str_split(rest, '\n', &line, &rest);
        if (!str_split(line, ':', &name, &value))
            continue;
        /* Overridden by response-* parameters on GET. */
        bool skip = false;
        for (size_t k = 0; k < ARRAY_LEN(response_overrides); k++)
            if (str_ieq_c(name, response_overrides[k][1]) &&
                s3_param(q, response_overrides[k][0], NULL).p != NULL)
                skip = true;
        if (!skip)
            http_resp_header(q->http, arena_cstr(q->arena, name), str_trim(value));
    }
}

enum s3_err
s3_check_unsupported_headers(struct s3_req *q)
{
    /* Server-side encryption and object lock would be silently ignored if
     * accepted (the data would not be encrypted or locked): refuse them
     * instead. */
    static const char *const hdrs[] = {
        "x-amz-server-side-encryption-customer-algorithm", "x-amz-object-lock-mode",
        "x-amz-object-lock-retain-until-date", "x-amz-object-lock-legal-hold",
        "x-amz-server-side-encryption-aws-kms-key-id", "x-amz-server-side-encryption",
    };
    for (size_t i = 0; i < ARRAY_LEN(hdrs); i++) {
        if (http_header(q->http, hdrs[i]).p != NULL) {
            q->err_msg = arena_printf(q->arena, "The header %s is not implemented by Coffer.",
                                      hdrs[i]);
            return S3E_NOT_IMPLEMENTED;
        }
    }
    /* x-amz-acl and x-amz-grant-*: judged by the bucket's Object
     * Ownership, the new object's owner and ACL kept on q (s3_acl_ops.c);
     * x-amz-tagging: checked, its text kept on q (s3_tagging_ops.c). */
    enum s3_err err = s3_acl_write_check(q);

    return err == S3E_OK ? s3_tagging_write_check(q) : err;
}

/* ---- PUT ---------------------------------------------------------------- */

struct put_ctx {
    struct s3_req *q;
    struct md_version v;
    struct md_bucket b;
    bool trashed; /* object_put()'s */
    struct object_cond cond; /* If-Match, If-None-Match: * */
    enum core_err err;
};

static int
put_txn(struct md_conn *c, void *arg)
{
    struct put_ctx *p = arg;

    /* Unless the bucket was Enabled when the request read it, the write
     * looks for the key's null version right after the bucket's row: on
     * PostgreSQL both go in one round trip. */
    if (p->q->b.versioning != MD_VER_ENABLED)
        md_version_prefetch(c, p->q->b.id, p->v.key, STR_LIT("null"));
    p->err = object_write(c, p->q->bucket, p->q->b.id, &p->cond, p->q->arena, &p->b, &p->v,
                          &p->trashed);
    if (p->err != CORE_E_OK)
        return -EINVAL;
    /* The ACL the write asked for goes with the version, in its commit. */
    return p->q->acl_text.p != NULL ? md_version_set_acl(c, p->v.seq, p->q->acl_text) : 0;
}

/* Commits the version row; a replaced null version's data went to the
 * trash in the same transaction, for the reaper (store/trash.h). On
 * failure the new blob, which nothing ever referenced, is unlinked at once,
 * unless the commit's outcome is unknown (-EIO): then blob_gc() decides at
 * start-up. */
static enum s3_err
commit_version(struct s3_req *q, struct put_ctx *p)
{
    int rc = md_write(q->srv->md, put_txn, p);

    if (rc < 0) {
        if (p->v.blob_id.p != NULL && rc != -EIO)
            (void)blob_unlink(q->srv->blob, p->v.blob_id);
        if (p->err == CORE_E_NO_SUCH_KEY) /* If-Match without a current object */
            q->err_key = p->v.key;
        return p->err != CORE_E_OK ? s3_err_from_core(p->err) : s3_err_from_errno(rc);
    }
    if (p->trashed) /* else nothing new is due */
        s3_reap_versions(q->srv);
    return S3E_OK;
}

static void
reply_written(struct s3_req *q, struct put_ctx *p, const struct s3_body_result *res)
{
    char etag[80];

    s3_etag_quoted(p->v.etag, etag);
    http_resp_header_c(q->http, "ETag", etag);
    /* AWS: a Suspended (or unversioned) write returns no version id [spec §4.3]. */
    if (p->b.versioning == MD_VER_ENABLED)
        http_resp_header(q->http, "x-amz-version-id", p->v.version_id);
    if (res != NULL && res->cksum_algo != CKSUM_NONE) {
        char b64[64];
        b64_encode(res->cksum, res->cksum_len, b64);
        http_resp_header_c(q->http, cksum_header((enum cksum_algo)res->cksum_algo), b64);
    }
    s3_lifecycle_expiration(q, &p->b, &p->v);
}

static void
set_checksum(struct s3_req *q, struct md_version *v, const struct s3_body_result *res)
{
    if (res->cksum_algo == CKSUM_NONE)
        return;
    char b64[64];
    b64_encode(res->cksum, res->cksum_len, b64);
    v->checksum_algo = str_c(cksum_name((enum cksum_algo)res->cksum_algo));
    v->checksum_value = arena_str(q->arena, str_c(b64));
}

static enum s3_err s3_copy_object(struct s3_req *q);

enum s3_err
s3_put_object(struct s3_req *q)
{
    struct http_req *r = q->http;
    struct put_ctx p = {.q = q};
    struct s3_body *body = NULL;
    struct s3_body_result res;
    struct blob_writer *w = NULL;
    char *mem = NULL;
    size_t mem_n = 0;
    char blob_id[BLOB_ID_LEN + 1];
    enum s3_err err;
    char md5hex[33];

    if (http_header(r, "x-amz-copy-source").p != NULL)
        return s3_copy_object(q);
    if (r->content_length < 0 && !r->is_chunked)
        return S3E_MISSING_CONTENT_LENGTH;
    if (r->content_length > S3_MAX_PUT_BYTES + (S3_MAX_PUT_BYTES / 64))
        return S3E_ENTITY_TOO_LARGE;
    err = s3_write_cond(q, &p.cond);
    if (err == S3E_OK)
        err = s3_storage_class_header(q, &p.v.storage_class);
    if (err == S3E_OK)
        err = s3_check_unsupported_headers(q);
    if (err == S3E_OK)
        err = s3_req_bucket(q, &p.b);
    if (err == S3E_OK)
        err = s3_collect_meta(q, &p.v.meta);
    /* A full disk refuses before the body is read (inline bodies never
     * reach blob_writer_open(), which asks too). */
    if (err == S3E_OK)
        err = s3_err_from_errno(space_admit(q->srv->space));
    if (err == S3E_OK)
        err = s3_body_open(q, CKSUM_NONE, &body);
    if (err != S3E_OK)
        return err;

    /* Small bodies stay in memory and go inline into the row; past
     * STORE_INLINE_MAX they spill into a blob file. */
    mem = xmalloc(STORE_INLINE_MAX);
    for (;;) {
        char chunk[IO_CHUNK];
        ssize_t got = s3_body_read(body, chunk, sizeof(chunk), &err);
        if (got < 0)
            goto out;
        if (got == 0)
            break;
        if (w == NULL && mem_n + (size_t)got <= STORE_INLINE_MAX) {
            memcpy(mem + mem_n, chunk, (size_t)got);
            mem_n += (size_t)got;
            continue;
        }
        int rc = 0;
        if (w == NULL) {
            rc = blob_writer_open(q->srv->blob, &w);
            if (rc == 0) {
                blob_writer_expect(w, s3_body_expected(body));
                rc = blob_writer_write(w, mem, mem_n);
            }
        }
        if (rc == 0)
            rc = blob_writer_write(w, chunk, (size_t)got);
        if (rc < 0) {
            err = s3_err_from_errno(rc);
            goto out;
        }
    }
    err = s3_body_finish(body, &res);
    if (err != S3E_OK)
        goto out;
    if (w != NULL) {
        int rc = blob_writer_commit(w, blob_id);
        w = NULL;
        if (rc < 0) {
            err = s3_err_from_errno(rc);
            goto out;
        }
        p.v.blob_id = str_c(blob_id);
    } else {
        p.v.inline_data = str_make(mem, mem_n);
    }
    hex_encode(res.md5, 16, md5hex);
    p.v.key = q->key;
    p.v.size = res.size;
    p.v.mtime_ms = tm_now_ms();
    p.v.owner_id = q->acl_owner_id; /* [§6.1] */
    p.v.tags = q->tag_text;
    p.v.etag = str_make(md5hex, 32);
    p.v.content_type = http_header(r, "content-type");
    if (p.v.content_type.p == NULL)
        p.v.content_type = STR_LIT("binary/octet-stream");
    set_checksum(q, &p.v, &res);
    err = commit_version(q, &p);
    if (err != S3E_OK)
        goto out;
    reply_written(q, &p, &res);
    s3_reply_empty(q, 200);
out:
    blob_writer_abort(w);
    s3_body_free(body);
    free(mem);
    return err;
}

/* ---- reading a version -------------------------------------------------- */

/* Parses ?versionId: STR_NULL when absent; errors per [spec §4.2]. */
enum s3_err
s3_version_param(struct s3_req *q, struct str *vid)
{
    bool present;

    *vid = s3_param(q, "versionId", &present);
    if (!present)
        return S3E_OK;
    if (vid->p == NULL || vid->n == 0) {
        q->err_msg = "Version id cannot be the empty string";
        q->err_arg_name = "versionId";
        q->err_arg_value = "";
        return S3E_INVALID_ARGUMENT;
    }
    if (!version_id_valid(*vid)) {
        q->err_msg = "Invalid version id specified";
        q->err_arg_name = "versionId";
        q->err_arg_value = arena_cstr(q->arena, *vid);
        return S3E_INVALID_ARGUMENT;
    }
    return S3E_OK;
}

/* What GET and HEAD answer for the version core found, or did not: the
 * marker cases answer like AWS [spec §4.5]. */
enum s3_err
s3_read_answer(struct s3_req *q, enum core_err e, struct str vid, const struct md_version *v)
{
    char date[32];

    /* Nothing to read: 404 only for a caller who may list the bucket, else
     * 403, so existence does not leak [spec-authorization §1.7 step 5]. */
    if (e == CORE_E_NO_SUCH_VERSION || e == CORE_E_NO_SUCH_KEY ||
        (e == CORE_E_OK && v->is_delete_marker && vid.p == NULL)) {
        enum s3_err aerr =
            s3_authz_check(q, "s3:ListBucket", &q->b, STR_NULL, STR_NULL, false, NULL);
        if (aerr != S3E_OK)
            return aerr;
    }
    if (e == CORE_E_NO_SUCH_VERSION) {
        q->err_key = q->key;
        q->err_version_id = vid;
        return S3E_NO_SUCH_VERSION;
    }
    if (e != CORE_E_OK && e != CORE_E_NO_SUCH_KEY)
        return s3_err_from_core(e);
    if (!v->is_delete_marker) {
        if (e == CORE_E_NO_SUCH_KEY)
            q->err_key = q->key;
        return s3_err_from_core(e);
    }
    http_resp_header_c(q->http, "x-amz-delete-marker", "true");
    http_resp_header(q->http, "x-amz-version-id", v->version_id);
    if (vid.p == NULL) {
        q->err_key = q->key;
        return S3E_NO_SUCH_KEY;
    }
    tm_http_date(v->mtime_ms, date);
    http_resp_header_c(q->http, "Last-Modified", date);
    http_resp_header_c(q->http, "Allow", "DELETE");
    q->err_method = q->http->is_head ? "HEAD" : "GET";
    q->err_resource_type = "DeleteMarker";
    return S3E_METHOD_NOT_ALLOWED;
}

bool
s3_etag_matches(struct str list, struct str etag)
{
    return object_etag_matches(list, etag);
}

/* RFC 7232 order, as S3 applies it. */
static enum s3_err
check_conditions(struct s3_req *q, const struct md_version *v)
{
    struct http_req *r = q->http;
    struct str im = http_header(r, "if-match"), inm = http_header(r, "if-none-match");
    struct str ims = http_header(r, "if-modified-since");
    struct str ius = http_header(r, "if-unmodified-since");
    int64_t t, mtime_s = v->mtime_ms / 1000;

    if (im.p != NULL) {
        if (!s3_etag_matches(im, v->etag))
            return S3E_PRECONDITION_FAILED;
    } else if (ius.p != NULL && tm_parse_http(ius, &t) == 0 && mtime_s > t) {
        return S3E_PRECONDITION_FAILED;
    }
    if (inm.p != NULL) {
        if (s3_etag_matches(inm, v->etag))
            return S3E_NOT_MODIFIED;
    } else if (ims.p != NULL && tm_parse_http(ims, &t) == 0 && mtime_s <= t) {
        return S3E_NOT_MODIFIED;
    }
    return S3E_OK;
}

static void
object_headers(struct s3_req *q, const struct md_bucket *b, const struct md_version *v,
               bool partial)
{
    char date[32], etag[80];
    struct str ct = v->content_type;
    bool by_id;

    tm_http_date(v->mtime_ms, date);
    s3_etag_quoted(v->etag, etag);
    http_resp_header_c(q->http, "Last-Modified", date);
    http_resp_header_c(q->http, "ETag", etag);
    http_resp_header_c(q->http, "Accept-Ranges", "bytes");
    for (size_t k = 0; k < ARRAY_LEN(response_overrides); k++) {
        struct str o = s3_param(q, response_overrides[k][0], NULL);
        if (o.p != NULL) {
            if (k == 0)
                ct = o;
            else
                http_resp_header(q->http, response_overrides[k][1], o);
        }
    }
    http_resp_header(q->http, "Content-Type", ct.n ? ct : STR_LIT("binary/octet-stream"));
    if (b->versioning != MD_VER_NONE || !str_eq_c(v->version_id, "null"))
        http_resp_header(q->http, "x-amz-version-id", v->version_id);
    if (md_tags_count(v->tags) > 0)
        http_resp_header_c(q->http, "x-amz-tagging-count",
                           arena_printf(q->arena, "%zu", md_tags_count(v->tags)));
    /* AWS: sent for every class but STANDARD. */
    if (v->storage_class.n > 0)
        http_resp_header(q->http, "x-amz-storage-class", v->storage_class);
    /* AWS: x-amz-expiration only for the current version asked for
     * without a versionId, even one naming the current [spec lifecycle A4]. */
    (void)s3_param(q, "versionId", &by_id);
    if (!by_id)
        s3_lifecycle_expiration(q, b, v);
    /* AWS: the stored checksum covers the whole object; a range gets none. */
    if (!partial && v->checksum_algo.n > 0 &&
        str_ieq_c(http_header(q->http, "x-amz-checksum-mode"), "ENABLED")) {
        enum cksum_algo a = cksum_from_name(v->checksum_algo);
        if (a != CKSUM_NONE) {
            http_resp_header(q->http, cksum_header(a), v->checksum_value);
            http_resp_header_c(q->http, "x-amz-checksum-type", s3_mpu_checksum_type(v));
        }
    }
    emit_meta(q, v->meta);
}

/* Streams [from, to] of the version's data: inline, or its blob through rd. */
static int
send_data(struct s3_req *q, struct blob_reader *rd, const struct md_version *v, int64_t from,
          int64_t to)
{
    char *chunk;
    int rc = 0;

    if (v->blob_id.n == 0)
        return http_resp_write(q->http, v->inline_data.p + from, (size_t)(to - from + 1));
    chunk = xmalloc(IO_CHUNK);
    while (from <= to) {
        size_t want = (size_t)(to - from + 1) < IO_CHUNK ? (size_t)(to - from + 1) : IO_CHUNK;
        const void *data;
        ssize_t got = blob_read_view(rd, v->blob_id, from, chunk, want, &data);
        if (got <= 0) {
            log_error("reading blob %.*s: %s", STR_FMT(v->blob_id),
                      got < 0 ? strerror((int)-got) : "short file");
            rc = -EIO;
            break;
        }
        rc = http_resp_write(q->http, data, (size_t)got);
        if (rc < 0)
            break;
        from += got;
    }
    free(chunk);
    return rc;
}

/* GET and HEAD under the read lease rd (s3_get_object()). */
static enum s3_err
get_object(struct s3_req *q, struct blob_reader *rd)
{
    struct md_bucket b;
    struct md_version v;
    struct str vid;
    enum s3_err err;
    int64_t from = 0, to = -1;
    int rc, part = 0, n_parts = 0;
    bool has_blob = false;
    enum s3_range range = S3_RANGE_IGNORE;
    struct version_reader *mpu = NULL;
    struct str part_ck = STR_NULL;
    struct md_conn *c = md_reader(q->srv->md);

    err = s3_version_param(q, &vid);
    if (err == S3E_OK)
        err = s3_mpu_part_param(q, &part);
    if (err == S3E_OK && part > 0 && http_header(q->http, "range").p != NULL) {
        q->err_msg = "Cannot specify both Range header and partNumber query parameter";
        err = S3E_INVALID_REQUEST;
    }
    if (err != S3E_OK)
        return err;
    /* The version row comes from the read snapshot s3_handle opened, in
     * which the bucket phase read the bucket, or else (resumed on a worker)
     * from a new one; without either, one per read. */
    (void)md_snapshot_begin(c);
    err = s3_req_bucket(q, &b);
    if (err != S3E_OK) {
        md_snapshot_end(c);
        return err;
    }
    /* version_open() ends the snapshot after each read of the row, so
     * that a retry sees newer rows. */
    err = s3_read_answer(q,
                     version_open(q->srv->md, rd, b.id, q->key, vid, q->http->on_loop, q->arena,
                                  &v, &mpu, &has_blob),
                     vid, &v);
    if (err != S3E_OK)
        goto out;
    /* On the loop thread: data in files is read by a worker (s3_handle). */
    if (q->http->on_loop && (v.parts_count > 0 || v.blob_id.n > 0))
        return S3E_OK;
    err = check_conditions(q, &v);
    if (err == S3E_NOT_MODIFIED) {
        char etag[80], date[32];
        s3_etag_quoted(v.etag, etag);
        tm_http_date(v.mtime_ms, date);
        http_resp_header_c(q->http, "ETag", etag);
        http_resp_header_c(q->http, "Last-Modified", date);
    }
    if (err != S3E_OK)
        goto out;
    if (part > 0 && v.size > 0) {
        /* AWS: ?partNumber is a ranged GET of that part (206), and only
         * then is x-amz-mp-parts-count sent. */
        err = s3_mpu_part_range(q, &v, part, &from, &to, &n_parts, &part_ck);
        if (err != S3E_OK)
            goto out;
        range = S3_RANGE_PARTIAL;
        if (n_parts > 0)
            http_resp_header_c(q->http, "x-amz-mp-parts-count",
                               arena_printf(q->arena, "%d", n_parts));
    } else if (part > 1) {
        err = S3E_INVALID_PART_NUMBER;
        goto out;
    } else {
        range = s3_parse_range(http_header(q->http, "range"), v.size, &from, &to);
    }
    if (range == S3_RANGE_UNSATISFIABLE) {
        char cr[64];
        snprintf(cr, sizeof(cr), "bytes */%" PRId64, v.size);
        http_resp_header_c(q->http, "Content-Range", cr);
        s3_err_elems(q, "RangeRequested", http_header(q->http, "range"), "ActualObjectSize",
                     str_c(arena_printf(q->arena, "%" PRId64, v.size)));
        err = S3E_INVALID_RANGE;
        goto out;
    }
    object_headers(q, &b, &v, range == S3_RANGE_PARTIAL);
    /* A part of a COMPOSITE-checksum object carries its own checksum. */
    if (part_ck.p != NULL && str_ieq_c(http_header(q->http, "x-amz-checksum-mode"), "ENABLED")) {
        http_resp_header(q->http, cksum_header(cksum_from_name(v.checksum_algo)), part_ck);
        http_resp_header_c(q->http, "x-amz-checksum-type", "COMPOSITE");
    }
    if (range == S3_RANGE_PARTIAL) {
        char cr[96];
        snprintf(cr, sizeof(cr), "bytes %" PRId64 "-%" PRId64 "/%" PRId64, from, to, v.size);
        http_resp_header_c(q->http, "Content-Range", cr);
        rc = http_resp_begin(q->http, 206, to - from + 1);
    } else {
        from = 0;
        to = v.size - 1;
        rc = http_resp_begin(q->http, 200, v.size);
    }
    if (rc == 0 && !q->http->is_head && to >= from &&
        (mpu != NULL ? s3_mpu_send(q, mpu, &v, from, to) : send_data(q, rd, &v, from, to)) < 0)
        http_resp_close(q->http);
out:
    version_reader_close(mpu);
    return err;
}

enum s3_err
s3_get_object(struct s3_req *q)
{
    /* The lease begins before the metadata that names the blobs is read,
     * and ends after the last byte was sent (store/blob.h). A loop thread
     * reads no blob (it hands such GETs to a worker): no lease there. */
    struct blob_reader *rd = q->http->on_loop ? NULL : blob_reader_open(q->srv->blob);
    enum s3_err err = get_object(q, rd);

    blob_reader_close(rd);
    return err;
}

/* ---- COPY --------------------------------------------------------------- */

static enum s3_err
copy_source_invalid(struct s3_req *q, const char *msg, struct str value)
{
    q->err_msg = msg;
    q->err_arg_name = "x-amz-copy-source";
    q->err_arg_value = value.p != NULL ? arena_cstr(q->arena, value) : NULL;
    return S3E_INVALID_ARGUMENT;
}

/* An empty or malformed versionId is refused here, before the source
 * bucket is looked up, for CopyObject and UploadPartCopy alike. */
enum s3_err
s3_parse_copy_source(struct s3_req *q, struct str *sb, struct str *sk, struct str *svid)
{
    struct str src = http_header(q->http, "x-amz-copy-source"), path, query, k;
    char *dec;
    int n;

    *svid = STR_NULL;
    str_split(src, '?', &path, &query);
    if (query.p != NULL) {
        struct str name, val;
        str_split(query, '=', &name, &val);
        if (!str_eq_c(name, "versionId") || val.p == NULL || val.n == 0)
            return copy_source_invalid(q, "Invalid version id specified", src);
        if (!version_id_valid(val))
            return copy_source_invalid(q, "Invalid version id specified", val);
        *svid = val;
    }
    if (path.n > 0 && path.p[0] == '/')
        path = str_make(path.p + 1, path.n - 1);
    dec = arena_alloc(q->arena, path.n + 1);
    n = uri_decode(path, dec);
    if (n < 0 || !str_split(str_make(dec, (size_t)n), '/', sb, &k) || sb->n == 0 || k.n == 0)
        return copy_source_invalid(
            q, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey", src);
    *sk = k;
    return s3_key_check(k);
}

enum s3_err
s3_copy_conditions(struct s3_req *q, const struct md_version *v)
{
    struct http_req *r = q->http;
    struct str im = http_header(r, "x-amz-copy-source-if-match");
    struct str inm = http_header(r, "x-amz-copy-source-if-none-match");
    struct str ims = http_header(r, "x-amz-copy-source-if-modified-since");
    struct str ius = http_header(r, "x-amz-copy-source-if-unmodified-since");
    int64_t t, mtime_s = v->mtime_ms / 1000;

    if (im.p != NULL && !s3_etag_matches(im, v->etag))
        return S3E_PRECONDITION_FAILED;
    if (im.p == NULL && ius.p != NULL && tm_parse_http(ius, &t) == 0 && mtime_s > t)
        return S3E_PRECONDITION_FAILED;
    if (inm.p != NULL && s3_etag_matches(inm, v->etag))
        return S3E_PRECONDITION_FAILED;
    if (inm.p == NULL && ims.p != NULL && tm_parse_http(ims, &t) == 0 && mtime_s <= t)
        return S3E_PRECONDITION_FAILED;
    return S3E_OK;
}

enum s3_err
s3_copy_source_bucket(struct s3_req *q, struct md_conn *c, struct str sb, struct str sk,
                      struct str svid, struct md_bucket *out)
{
    int rc = md_bucket_get(c, sb, q->arena, out);

    if (rc == -ENOENT) {
        q->bucket = sb;
        return S3E_NO_SUCH_BUCKET;
    }
    if (rc < 0)
        return S3E_INTERNAL;
    return s3_authorize(q, &(struct s3_access){
                               .action = svid.p != NULL ? "s3:GetObjectVersion" : "s3:GetObject",
                               .bucket = out,
                               .key = sk,
                               .vid = svid,
                               .copy_source = true,
                           });
}

enum s3_err
s3_copy_source_open(struct s3_req *q, struct blob_reader *rd, int64_t bucket_id, struct str sk,
                    struct str svid, struct md_version *v, struct version_reader **mpu,
                    bool *has_blob)
{
    enum core_err e = version_open(q->srv->md, rd, bucket_id, sk, svid, q->http->on_loop,
                                   q->arena, v, mpu, has_blob);

    if (e == CORE_E_NO_SUCH_KEY || e == CORE_E_NO_SUCH_VERSION) {
        q->err_key = sk;
        if (e == CORE_E_NO_SUCH_VERSION)
            q->err_version_id = svid;
        return s3_err_from_core(e);
    }
    if (e != CORE_E_OK)
        return s3_err_from_core(e);
    if (v->is_delete_marker) {
        q->err_msg = "The source of a copy request may not specifically refer to a delete "
                     "marker by version id.";
        return S3E_INVALID_REQUEST;
    }
    return S3E_OK;
}

/* The metadata a COPY directive keeps: the source's, less its website
 * redirect, which AWS never copies (it belongs to each object), plus the
 * request's own redirect header, if any. */
static enum s3_err
copy_meta(struct s3_req *q, struct str src, struct str *out)
{
    struct str rest = src, line, redirect = http_header(q->http, "x-amz-website-redirect-location");
    struct buf b;

    if (redirect.p != NULL && s3_redirect_check(q, redirect) != S3E_OK)
        return S3E_INVALID_REDIRECT_LOCATION;
    buf_init(&b, src.n + redirect.n + 64);
    while (rest.p != NULL && rest.n > 0) {
        str_split(rest, '\n', &line, &rest);
        if (line.n > 0 && !str_has_prefix(line, "x-amz-website-redirect-location:")) {
            buf_append_str(&b, line);
            buf_append_c(&b, "\n");
        }
    }
    if (redirect.p != NULL) {
        buf_append_c(&b, "x-amz-website-redirect-location: ");
        buf_append_str(&b, redirect);
        buf_append_c(&b, "\n");
    }
    *out = arena_str(q->arena, buf_str(&b));
    buf_free(&b);
    return S3E_OK;
}

/* CopyObject under the read lease rd (s3_copy_object()). */
static enum s3_err
copy_object(struct s3_req *q, struct blob_reader *rd)
{
    struct http_req *r = q->http;
    struct put_ctx p = {.q = q};
    struct md_bucket sb_row;
    struct md_version src;
    struct str sb, sk, svid, directive = http_header(r, "x-amz-metadata-directive");
    struct str tdirective;
    struct blob_writer *w = NULL;
    char blob_id[BLOB_ID_LEN + 1];
    enum s3_err err;
    int rc;
    bool has_blob = false;
    bool replace;
    struct version_reader *mpu = NULL;

    if (r->content_length > 0) {
        q->err_msg = "This request does not support content";
        return S3E_INVALID_REQUEST;
    }
    err = s3_write_cond(q, &p.cond); /* of the destination, in the writing transaction */
    if (err == S3E_OK)
        err = s3_parse_copy_source(q, &sb, &sk, &svid);
    if (err != S3E_OK)
        return err;
    if (directive.p != NULL && !str_eq_c(directive, "COPY") && !str_eq_c(directive, "REPLACE")) {
        q->err_msg = "Unknown metadata directive.";
        return S3E_INVALID_ARGUMENT;
    }
    replace = str_eq_c(directive, "REPLACE");
    tdirective = http_header(r, "x-amz-tagging-directive");
    if (tdirective.p != NULL && !str_eq_c(tdirective, "COPY") &&
        !str_eq_c(tdirective, "REPLACE")) {
        q->err_msg = "Unknown tagging directive.";
        q->err_arg_name = "x-amz-tagging-directive";
        q->err_arg_value = arena_cstr(q->arena, tdirective);
        return S3E_INVALID_ARGUMENT;
    }
    /* AWS: a copy is STANDARD unless the request names a class: the
     * source's class is not copied. */
    err = s3_storage_class_header(q, &p.v.storage_class);
    if (err == S3E_OK)
        err = s3_check_unsupported_headers(q);
    if (err == S3E_OK)
        err = s3_req_bucket(q, &p.b);
    if (err == S3E_OK)
        err = s3_err_from_errno(space_admit(q->srv->space));
    if (err != S3E_OK)
        return err;
    err = s3_copy_source_bucket(q, md_reader(q->srv->md), sb, sk, svid, &sb_row);
    if (err != S3E_OK)
        return err;
    err = s3_copy_source_open(q, rd, sb_row.id, sk, svid, &src, &mpu, &has_blob);
    if (err != S3E_OK)
        return err;
    err = s3_copy_conditions(q, &src);
    if (err != S3E_OK)
        goto out;
    /* AWS: copying an object onto itself must change something. */
    if (str_eq(sb, q->bucket) && str_eq(sk, q->key) && !replace &&
        http_header(r, "x-amz-storage-class").p == NULL &&
        http_header(r, "x-amz-website-redirect-location").p == NULL &&
        (svid.p == NULL || src.is_latest)) {
        q->err_msg = "This copy request is illegal because it is trying to copy an object to "
                     "itself without changing the object's metadata, storage class, website "
                     "redirect location or encryption attributes.";
        err = S3E_INVALID_REQUEST;
        goto out;
    }
    if (replace) {
        err = s3_collect_meta(q, &p.v.meta);
        if (err != S3E_OK)
            goto out;
        p.v.content_type = http_header(r, "content-type");
        if (p.v.content_type.p == NULL)
            p.v.content_type = STR_LIT("binary/octet-stream");
    } else {
        err = copy_meta(q, src.meta, &p.v.meta);
        if (err != S3E_OK)
            goto out;
        p.v.content_type = src.content_type;
    }
    if (has_blob || mpu != NULL) {
        /* Blobs are immutable: stream a copy (a hard link would share the
         * inode, which works too, but keeps GC simple per blob id). */
        char *chunk = xmalloc(IO_CHUNK);
        int64_t off = 0;
        rc = blob_writer_open(q->srv->blob, &w);
        while (rc == 0 && off < src.size) {
            ssize_t got = mpu != NULL ? version_reader_pread(mpu, chunk, IO_CHUNK, off)
                                      : blob_read(rd, src.blob_id, off, chunk, IO_CHUNK);
            if (got <= 0) {
                rc = -EIO;
                break;
            }
            rc = blob_writer_write(w, chunk, (size_t)got);
            off += got;
        }
        free(chunk);
        if (rc == 0) {
            rc = blob_writer_commit(w, blob_id);
            w = NULL;
        }
        if (rc < 0) {
            err = s3_err_from_errno(rc);
            goto out;
        }
        p.v.blob_id = str_c(blob_id);
    } else {
        p.v.inline_data = src.inline_data;
    }
    p.v.key = q->key;
    p.v.size = src.size;
    p.v.mtime_ms = tm_now_ms();
    p.v.owner_id = q->acl_owner_id; /* [§6.1] */
    /* AWS: the source's tags unless x-amz-tagging-directive is REPLACE,
     * which takes x-amz-tagging's (none when absent). */
    p.v.tags = str_eq_c(tdirective, "REPLACE") ? q->tag_text : src.tags;
    p.v.etag = src.etag;
    p.v.checksum_algo = src.checksum_algo;
    p.v.checksum_value = src.checksum_value;
    err = commit_version(q, &p);
    if (err != S3E_OK)
        goto out;
    {
        struct buf x;
        char date[32], etag[80];
        tm_iso8601(p.v.mtime_ms, date);
        s3_etag_quoted(p.v.etag, etag);
        if (p.b.versioning == MD_VER_ENABLED)
            http_resp_header(r, "x-amz-version-id", p.v.version_id);
        s3_lifecycle_expiration(q, &p.b, &p.v);
        if (sb_row.versioning != MD_VER_NONE || !str_eq_c(src.version_id, "null"))
            http_resp_header(r, "x-amz-copy-source-version-id", src.version_id);
        buf_init(&x, 4096);
        xml_decl(&x);
        xml_open_ns(&x, "CopyObjectResult", S3_XMLNS);
        xml_elem_c(&x, "LastModified", date);
        xml_elem_c(&x, "ETag", etag);
        if (p.v.checksum_algo.n > 0) {
            char tag[32];
            snprintf(tag, sizeof(tag), "Checksum%.*s", STR_FMT(p.v.checksum_algo));
            xml_elem(&x, tag, p.v.checksum_value);
        }
        xml_close(&x, "CopyObjectResult");
        s3_reply_xml(q, 200, &x);
    }
out:
    blob_writer_abort(w);
    version_reader_close(mpu);
    return err;
}

static enum s3_err
s3_copy_object(struct s3_req *q)
{
    /* The source's lease, as for GET (s3_get_object()). */
    struct blob_reader *rd = blob_reader_open(q->srv->blob);
    enum s3_err err = copy_object(q, rd);

    blob_reader_close(rd);
    return err;
}
