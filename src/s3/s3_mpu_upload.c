/* s3_mpu_upload.c -- CreateMultipartUpload, UploadPart, UploadPartCopy and
 * AbortMultipartUpload: each part is streamed into its own blob file, which
 * stays there through completion. Not here: completing an upload
 * (s3_mpu_complete.c), the listings (s3_mpu_list.c), reading (s3_mpu.c). */
#include "common.h"
#include "core/object_mpu.h"
#include "core/version.h"
#include "crypto/cksum.h"
#include "crypto/hash.h"
#include "s3/s3_int.h"
#include "s3/s3_lifecycle.h"
#include "s3/s3_mpu.h"
#include "s3/s3_range.h"
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

#define IO_CHUNK (256 * 1024)
#define UPLOAD_ID_LEN 32 /* 24 random bytes, id64_encode()d */

static struct str
b64_arena(struct s3_req *q, const unsigned char *p, size_t n)
{
    char out[64];

    b64_encode(p, n, out);
    return arena_str(q->arena, str_c(out));
}

/* The class goes with the upload; completion gives it to the version. */
static enum s3_err
check_create_headers(struct s3_req *q, struct str *storage_class)
{
    enum s3_err err = s3_storage_class_header(q, storage_class);

    return err != S3E_OK ? err : s3_check_unsupported_headers(q);
}

/* ---- CreateMultipartUpload ---------------------------------------------- */

/* Ids made before id64_encode() may contain '-' instead of '.'; they are
 * only ever compared, so they keep working. */
static int
make_upload_id(char out[UPLOAD_ID_LEN + 1])
{
    unsigned char rnd[UPLOAD_ID_LEN * 3 / 4];

    if (rand_bytes(rnd, sizeof(rnd)) < 0)
        return -EIO;
    id64_encode(rnd, sizeof(rnd), out);
    return 0;
}

/* x-amz-checksum-algorithm and x-amz-checksum-type of CreateMultipartUpload.
 * AWS: CRC64NVME is FULL_OBJECT only, SHA-1/SHA-256 COMPOSITE only, CRC32
 * and CRC32C either, COMPOSITE by default. */
static enum s3_err
checksum_choice(struct s3_req *q, enum cksum_algo *algo, const char **type)
{
    struct str an = http_header(q->http, "x-amz-checksum-algorithm");
    struct str tn = http_header(q->http, "x-amz-checksum-type");
    enum cksum_algo a = CKSUM_NONE;
    bool full;

    *algo = CKSUM_NONE;
    *type = "";
    if (an.p != NULL) {
        a = cksum_from_name(str_trim(an));
        if (a == CKSUM_NONE) {
            q->err_msg = "Checksum algorithm provided is unsupported. Please try again with any "
                         "of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]";
            return S3E_INVALID_REQUEST;
        }
    }
    if (tn.p != NULL) {
        tn = str_trim(tn);
        if (!str_eq_c(tn, "COMPOSITE") && !str_eq_c(tn, "FULL_OBJECT")) {
            q->err_msg = "Value for x-amz-checksum-type header is invalid.";
            return S3E_INVALID_REQUEST;
        }
        if (a == CKSUM_NONE) {
            q->err_msg = "The x-amz-checksum-type header can only be used with the "
                         "x-amz-checksum-algorithm header.";
            return S3E_INVALID_REQUEST;
        }
    }
    if (a == CKSUM_NONE)
        return S3E_OK;
    full = tn.p != NULL ? str_eq_c(tn, "FULL_OBJECT") : a == CKSUM_CRC64NVME;
    if (full && (a == CKSUM_SHA1 || a == CKSUM_SHA256)) {
        q->err_msg = arena_printf(q->arena,
                                  "The FULL_OBJECT checksum type cannot be used with the %s "
                                  "checksum algorithm.",
                                  a == CKSUM_SHA1 ? "sha1" : "sha256");
        return S3E_INVALID_REQUEST;
    }
    if (!full && a == CKSUM_CRC64NVME) {
        q->err_msg = "The COMPOSITE checksum type cannot be used with the crc64nvme checksum "
                     "algorithm.";
        return S3E_INVALID_REQUEST;
    }
    *algo = a;
    *type = full ? "FULL_OBJECT" : "COMPOSITE";
    return S3E_OK;
}

struct create_ctx {
    struct s3_req *q;
    struct md_bucket b;
    struct md_upload u;
    enum s3_err err;
};

static int
create_txn(struct md_conn *c, void *arg)
{
    struct create_ctx *x = arg;

    x->err = s3_err_from_core(object_bucket(c, x->q->bucket, x->q->b.id, x->q->arena, &x->b));
    if (x->err != S3E_OK)
        return -EINVAL;
    x->u.bucket_id = x->b.id;
    return md_upload_create(c, &x->u);
}

/* POST /{bucket}/{key}?uploads */
enum s3_err
s3_create_multipart_upload(struct s3_req *q)
{
    struct create_ctx x = {.q = q};
    struct str ct = http_header(q->http, "content-type");
    char id[UPLOAD_ID_LEN + 1];
    enum cksum_algo algo;
    const char *type;
    enum s3_err err;
    struct buf xml;
    int rc = -EEXIST;

    err = check_create_headers(q, &x.u.storage_class);
    if (err == S3E_OK)
        err = checksum_choice(q, &algo, &type);
    if (err == S3E_OK)
        err = s3_req_bucket(q, &x.b);
    if (err == S3E_OK)
        err = s3_collect_meta(q, &x.u.meta);
    /* An upload only adds data: refused while the disk is full. */
    if (err == S3E_OK)
        err = s3_err_from_errno(space_admit(q->srv->space));
    if (err != S3E_OK)
        return err;
    x.u.key = q->key;
    x.u.initiated_ms = tm_now_ms();
    x.u.owner_id = q->account_id;
    x.u.content_type = ct.p != NULL ? ct : STR_LIT("binary/octet-stream");
    x.u.checksum_algo = algo != CKSUM_NONE ? str_c(cksum_name(algo)) : STR_LIT("");
    x.u.checksum_type = str_c(type);
    /* The owner and ACL s3_acl_write_check() found, for the completion. */
    x.u.object_owner = q->acl_owner_id;
    x.u.acl = q->acl_text;
    x.u.tags = q->tag_text; /* x-amz-tagging, for the completion too */
    /* 192 random bits: a collision is not going to happen, but is harmless. */
    for (int tries = 0; tries < 3 && rc == -EEXIST; tries++) {
        if (make_upload_id(id) < 0)
            return S3E_INTERNAL;
        x.u.upload_id = str_make(id, UPLOAD_ID_LEN);
        rc = md_write(q->srv->md, create_txn, &x);
    }
    if (rc < 0)
        return x.err != S3E_OK ? x.err : s3_err_from_errno(rc);
    if (algo != CKSUM_NONE) {
        http_resp_header_c(q->http, "x-amz-checksum-algorithm", cksum_name(algo));
        http_resp_header_c(q->http, "x-amz-checksum-type", type);
    }
    s3_lifecycle_abort(q, &x.b, x.u.initiated_ms);
    buf_init(&xml, 64 * 1024);
    xml_decl(&xml);
    xml_open_ns(&xml, "InitiateMultipartUploadResult", S3_XMLNS);
    xml_elem(&xml, "Bucket", q->bucket);
    xml_elem(&xml, "Key", q->key);
    xml_elem(&xml, "UploadId", x.u.upload_id);
    xml_close(&xml, "InitiateMultipartUploadResult");
    s3_reply_xml(q, 200, &xml);
    return S3E_OK;
}

/* ---- UploadPart ---------------------------------------------------------- */

struct part_ctx {
    struct s3_req *q;
    int64_t upload;
    struct md_part p;
};

static int
part_txn(struct md_conn *c, void *arg)
{
    struct part_ctx *x = arg;

    return md_part_put(c, x->upload, &x->p);
}

/* Records the part whose blob is committed; on failure unlinks that blob.
 * A part of an upload completed or aborted meanwhile: NoSuchUpload. */
static enum s3_err
commit_part(struct s3_req *q, const struct md_upload *u, struct part_ctx *x)
{
    int rc;

    x->q = q;
    x->upload = u->id;
    rc = md_write(q->srv->md, part_txn, x);
    if (rc < 0) {
        if (rc != -EIO) /* -EIO: outcome unknown, blob_gc() decides at start-up */
            (void)blob_unlink(q->srv->blob, x->p.blob_id);
        return rc == -ENOENT ? s3_mpu_no_such_upload(q, u->upload_id) : s3_err_from_errno(rc);
    }
    s3_mpu_reap(q->srv); /* a replaced part's blob: due at once */
    return S3E_OK;
}

/* The checksum algorithm the request itself declares, if any. */
static enum cksum_algo
request_algo(struct s3_req *q)
{
    struct http_req *r = q->http;
    struct str sdk = http_header(r, "x-amz-sdk-checksum-algorithm");

    for (size_t i = 0; i < r->n_hdrs; i++) {
        enum cksum_algo a = cksum_from_header(r->hdrs[i].name);
        if (a != CKSUM_NONE)
            return a;
    }
    if (q->auth.trailer.p != NULL && cksum_from_header(q->auth.trailer) != CKSUM_NONE)
        return cksum_from_header(q->auth.trailer);
    return sdk.p != NULL ? cksum_from_name(str_trim(sdk)) : CKSUM_NONE;
}

/* AWS: a part must use the upload's checksum algorithm, if it has one. */
static enum s3_err
check_part_algo(struct s3_req *q, enum cksum_algo want, enum cksum_algo got)
{
    if (want == CKSUM_NONE || got == CKSUM_NONE || got == want)
        return S3E_OK;
    q->err_msg = arena_printf(q->arena,
                              "Checksum Type mismatch occurred, expected checksum Type: "
                              "%s, actual checksum Type: %s",
                              cksum_name(want), cksum_name(got));
    return S3E_INVALID_REQUEST;
}

static void
reply_part_checksum(struct s3_req *q, enum cksum_algo a, struct str b64)
{
    if (a != CKSUM_NONE && b64.n > 0)
        http_resp_header(q->http, cksum_header(a), b64);
}

static enum s3_err upload_part_copy(struct s3_req *q, const struct md_upload *u, int part);

/* PUT /{bucket}/{key}?partNumber=N&uploadId=ID */
enum s3_err
s3_upload_part(struct s3_req *q)
{
    struct http_req *r = q->http;
    struct md_bucket b;
    struct md_upload u;
    struct part_ctx x = {0};
    struct s3_body *body = NULL;
    struct s3_body_result res;
    struct blob_writer *w = NULL;
    char blob_id[BLOB_ID_LEN + 1], md5hex[33], etag[80];
    enum cksum_algo algo;
    enum s3_err err;
    char *chunk = NULL;
    int64_t declared;
    int part, rc;

    if (s3_mpu_parse_part_number(s3_param(q, "partNumber", NULL), &part) < 0)
        return s3_mpu_invalid_arg(q, S3_MPU_MSG_PART_NUMBER, "partNumber",
                                  s3_param(q, "partNumber", NULL));
    err = s3_req_bucket(q, &b);
    if (err == S3E_OK)
        err = s3_mpu_upload_load(q, md_reader(q->srv->md), &b, &u);
    if (err != S3E_OK)
        return err;
    if (http_header(r, "x-amz-copy-source").p != NULL)
        return upload_part_copy(q, &u, part);
    declared = q->auth.decoded_length >= 0 ? q->auth.decoded_length : r->content_length;
    if (r->content_length < 0 && !r->is_chunked)
        return S3E_MISSING_CONTENT_LENGTH;
    if (declared > S3_MPU_MAX_PART_BYTES)
        return S3E_ENTITY_TOO_LARGE;
    algo = cksum_from_name(u.checksum_algo);
    err = check_part_algo(q, algo, request_algo(q));
    if (err == S3E_OK)
        err = s3_body_open(q, algo, &body);
    if (err != S3E_OK)
        return err;
    rc = blob_writer_open(q->srv->blob, &w);
    if (rc < 0) {
        err = s3_err_from_errno(rc);
        goto out;
    }
    blob_writer_expect(w, declared);
    chunk = xmalloc(IO_CHUNK);
    for (;;) {
        ssize_t got = s3_body_read(body, chunk, IO_CHUNK, &err);
        if (got < 0)
            goto out;
        if (got == 0)
            break;
        rc = blob_writer_write(w, chunk, (size_t)got);
        if (rc < 0) {
            err = s3_err_from_errno(rc);
            goto out;
        }
    }
    err = s3_body_finish(body, &res);
    if (err != S3E_OK)
        goto out;
    rc = blob_writer_commit(w, blob_id);
    w = NULL;
    if (rc < 0) {
        err = s3_err_from_errno(rc);
        goto out;
    }
    hex_encode(res.md5, 16, md5hex);
    x.p.part_number = part;
    x.p.size = res.size;
    x.p.mtime_ms = tm_now_ms();
    x.p.blob_id = str_c(blob_id);
    x.p.etag = arena_str(q->arena, str_make(md5hex, 32));
    x.p.checksum = STR_LIT("");
    if (algo != CKSUM_NONE && res.cksum_algo == (int)algo)
        x.p.checksum = b64_arena(q, res.cksum, res.cksum_len);
    err = commit_part(q, &u, &x);
    if (err != S3E_OK)
        goto out;
    s3_etag_quoted(x.p.etag, etag);
    http_resp_header_c(r, "ETag", etag);
    if (res.cksum_algo != CKSUM_NONE)
        reply_part_checksum(q, (enum cksum_algo)res.cksum_algo,
                            b64_arena(q, res.cksum, res.cksum_len));
    s3_reply_empty(q, 200);
out:
    free(chunk);
    blob_writer_abort(w);
    s3_body_free(body);
    return err;
}

/* ---- UploadPartCopy ------------------------------------------------------ */

/* x-amz-copy-source-range: bytes=first-last, both present, within size. */
static enum s3_err
copy_range(struct s3_req *q, int64_t size, int64_t *from, int64_t *to)
{
    struct str h = http_header(q->http, "x-amz-copy-source-range");
    int rc;

    *from = 0;
    *to = size - 1;
    if (h.p == NULL)
        return S3E_OK;
    rc = s3_parse_copy_range(h, size, from, to);
    if (rc == -EINVAL)
        return s3_mpu_invalid_arg(
            q,
            "The x-amz-copy-source-range value must be of the form "
            "bytes=first-last where first and last are the zero-based offsets "
            "of the first and last bytes to copy",
            "x-amz-copy-source-range", str_trim(h));
    if (rc < 0) {
        q->err_msg = "The specified copy range is invalid for the source object size";
        return S3E_INVALID_RANGE;
    }
    return S3E_OK;
}

/* Where a copy reads from: a blob, a multipart reader or inline data,
 * under the read lease rd (store/blob.h). */
struct src {
    struct md_version v;
    struct blob_reader *rd;
    bool has_blob;
    struct version_reader *mpu;
};

static void
src_close(struct src *s)
{
    version_reader_close(s->mpu);
    blob_reader_close(s->rd);
    s->rd = NULL;
    s->mpu = NULL;
}

static ssize_t
src_pread(struct src *s, void *p, size_t n, int64_t off)
{
    if (s->mpu != NULL)
        return version_reader_pread(s->mpu, p, n, off);
    if (!s->has_blob) {
        if (off >= (int64_t)s->v.inline_data.n)
            return 0;
        if ((size_t)(s->v.inline_data.n - (size_t)off) < n)
            n = s->v.inline_data.n - (size_t)off;
        memcpy(p, s->v.inline_data.p + off, n);
        return (ssize_t)n;
    }
    return blob_read(s->rd, s->v.blob_id, off, p, n);
}

/* Loads the copy source (any account's bucket the caller owns) and opens
 * its data; retries when a concurrent delete won the race for the file. */
static enum s3_err
src_open(struct s3_req *q, struct src *s, bool *src_bucket_versioned)
{
    struct md_conn *c = md_reader(q->srv->md);
    struct md_bucket sb_row;
    struct str sb, sk, svid;
    enum s3_err err;

    s->mpu = NULL;
    s->has_blob = false;
    /* The lease before the metadata that names the blobs. */
    s->rd = blob_reader_open(q->srv->blob);
    err = s3_parse_copy_source(q, &sb, &sk, &svid);
    if (err != S3E_OK)
        return err;
    err = s3_copy_source_bucket(q, c, sb, sk, svid, &sb_row);
    if (err != S3E_OK)
        return err;
    *src_bucket_versioned = sb_row.versioning != MD_VER_NONE;
    return s3_copy_source_open(q, s->rd, sb_row.id, sk, svid, &s->v, &s->mpu, &s->has_blob);
}

static enum s3_err
upload_part_copy(struct s3_req *q, const struct md_upload *u, int part)
{
    enum cksum_algo algo = cksum_from_name(u->checksum_algo);
    struct src s = {0};
    struct part_ctx x = {0};
    struct blob_writer *w = NULL;
    struct hash *md5 = NULL;
    struct cksum ck = {0};
    bool versioned = false;
    unsigned char digest[CKSUM_MAX_LEN], m[16];
    char blob_id[BLOB_ID_LEN + 1], md5hex[33], etag[80], date[32];
    char *chunk = NULL;
    int64_t from, to, off;
    enum s3_err err;
    struct buf xml;
    int rc;

    if (q->http->content_length > 0) {
        q->err_msg = "This request does not support content";
        return S3E_INVALID_REQUEST;
    }
    err = src_open(q, &s, &versioned);
    if (err == S3E_OK)
        err = s3_copy_conditions(q, &s.v);
    if (err == S3E_OK)
        err = copy_range(q, s.v.size, &from, &to);
    if (err != S3E_OK)
        goto out;
    if (to - from + 1 > S3_MPU_MAX_PART_BYTES) {
        err = S3E_ENTITY_TOO_LARGE;
        goto out;
    }
    rc = blob_writer_open(q->srv->blob, &w);
    if (rc < 0) {
        err = s3_err_from_errno(rc);
        goto out;
    }
    md5 = hash_new(HASH_MD5);
    cksum_init(&ck, algo);
    chunk = xmalloc(IO_CHUNK);
    for (off = from; off <= to;) {
        size_t want = to - off + 1 < IO_CHUNK ? (size_t)(to - off + 1) : IO_CHUNK;
        ssize_t got = src_pread(&s, chunk, want, off);
        if (got <= 0) {
            log_error("UploadPartCopy: reading the source at %" PRId64 ": %s", off,
                      got < 0 ? strerror((int)-got) : "short data");
            err = S3E_INTERNAL;
            goto out;
        }
        hash_update(md5, chunk, (size_t)got);
        cksum_update(&ck, chunk, (size_t)got);
        rc = blob_writer_write(w, chunk, (size_t)got);
        if (rc < 0) {
            err = s3_err_from_errno(rc);
            goto out;
        }
        off += got;
    }
    rc = blob_writer_commit(w, blob_id);
    w = NULL;
    if (rc < 0) {
        err = s3_err_from_errno(rc);
        goto out;
    }
    hash_final(md5, m);
    md5 = NULL;
    hex_encode(m, 16, md5hex);
    x.p.part_number = part;
    x.p.size = to - from + 1;
    x.p.mtime_ms = tm_now_ms();
    x.p.blob_id = str_c(blob_id);
    x.p.etag = arena_str(q->arena, str_make(md5hex, 32));
    x.p.checksum = STR_LIT("");
    if (algo != CKSUM_NONE)
        x.p.checksum = b64_arena(q, digest, cksum_final(&ck, digest));
    err = commit_part(q, u, &x);
    if (err != S3E_OK)
        goto out;
    if (versioned || !str_eq_c(s.v.version_id, "null"))
        http_resp_header(q->http, "x-amz-copy-source-version-id", s.v.version_id);
    tm_iso8601(x.p.mtime_ms, date);
    s3_etag_quoted(x.p.etag, etag);
    buf_init(&xml, 64 * 1024);
    xml_decl(&xml);
    xml_open_ns(&xml, "CopyPartResult", S3_XMLNS);
    xml_elem_c(&xml, "LastModified", date);
    xml_elem_c(&xml, "ETag", etag);
    if (algo != CKSUM_NONE) {
        char tag[32];
        snprintf(tag, sizeof(tag), "Checksum%s", cksum_name(algo));
        xml_elem(&xml, tag, x.p.checksum);
    }
    xml_close(&xml, "CopyPartResult");
    s3_reply_xml(q, 200, &xml);
out:
    free(chunk);
    hash_free(md5);
    cksum_free(&ck);
    blob_writer_abort(w);
    src_close(&s);
    return err;
}

/* ---- AbortMultipartUpload ------------------------------------------------- */

struct abort_ctx {
    struct s3_req *q;
    struct md_bucket b;
    enum core_err err;
};

static int
abort_txn(struct md_conn *c, void *arg)
{
    struct abort_ctx *x = arg;
    struct s3_req *q = x->q;

    x->err = object_mpu_abort(c, q->bucket, q->b.id, q->key, s3_param(q, "uploadId", NULL),
                              q->arena, &x->b);
    return x->err == CORE_E_OK ? 0 : -EINVAL;
}

/* DELETE /{bucket}/{key}?uploadId=ID */
enum s3_err
s3_abort_multipart_upload(struct s3_req *q)
{
    struct abort_ctx x = {.q = q};
    enum s3_err err = s3_req_bucket(q, &x.b);
    int rc;

    if (err != S3E_OK)
        return err;
    rc = md_write(q->srv->md, abort_txn, &x);
    if (rc < 0 && x.err == CORE_E_NO_SUCH_UPLOAD)
        return s3_mpu_no_such_upload(q, s3_param(q, "uploadId", NULL));
    if (rc < 0)
        return x.err != CORE_E_OK ? s3_err_from_core(x.err) : s3_err_from_errno(rc);
    s3_mpu_reap(q->srv); /* the parts: due at once */
    s3_reply_empty(q, 204);
    return S3E_OK;
}
