/* s3_multipart.c -- multipart uploads: Create, UploadPart (and
 * UploadPartCopy), Complete, Abort, ListParts, ListMultipartUploads, and
 * reading completed multipart objects.
 *
 * Each part is streamed into its own blob file and stays there: completing
 * an upload only moves the part rows to the new version's extent list
 * (version_parts) in one md_write() closure, so it costs the same for
 * 5 MiB as for 5 TiB, and the object becomes visible exactly at that
 * commit. Blobs that lose their last reference are recorded in the trash
 * by the same transaction; the reaper unlinks them (store/trash.h). Not here:
 * versioning rules (core/object.c), GET/HEAD themselves (s3_object.c calls
 * the reader below). */
#include "common.h"
#include "bounds.h"
#include "core/object.h"
#include "crypto/cksum.h"
#include "crypto/hash.h"
#include "s3/s3_int.h"
#include "s3/s3_mpu.h"
#include "s3/s3_range.h"
#include "store/blob.h"
#include "store/space.h"
#include "store/trash.h"
#include "util/enc.h"
#include "util/log.h"
#include "util/tm.h"
#include "util/xmalloc.h"
#include "xml/xml_read.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"
#define IO_CHUNK (256 * 1024)
#define UPLOAD_ID_LEN 32 /* 24 random bytes, id64_encode()d */
#define LIST_MAX 1000    /* max-uploads and max-parts cap (AWS) */
#define READ_BATCH 256   /* extents a reader loads at a time */
#define LIST_XML_MAX (16 * 1024 * 1024)
/* A CompleteMultipartUpload body names at most 10000 parts; with an ETag
 * and a checksum each, 512 bytes per part is generous. */
#define COMPLETE_BODY_MAX ((size_t)S3_MPU_MAX_PARTS * 512)

#define MSG_PART_NUMBER "Part number must be an integer between 1 and 10000, inclusive"

/* ---- small helpers ------------------------------------------------------ */

/* Sets an extra element (escaped) rendered inside the error document. */
static void
err_elems(struct s3_req *q, const char *tag1, struct str v1, const char *tag2, struct str v2)
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
no_such_upload(struct s3_req *q, struct str upload_id)
{
    if (upload_id.p != NULL && str_valid_utf8(upload_id))
        err_elems(q, "UploadId", upload_id, NULL, STR_NULL);
    return S3E_NO_SUCH_UPLOAD;
}

static enum s3_err
invalid_arg(struct s3_req *q, const char *msg, const char *name, struct str value)
{
    q->err_msg = msg;
    q->err_arg_name = name;
    q->err_arg_value = value.p ? arena_cstr(q->arena, value) : NULL;
    return S3E_INVALID_ARGUMENT;
}

/* A part number as S3 accepts it: decimal 1..10000. */
static int
parse_part_number(struct str v, int *out)
{
    long long n;

    if (v.p == NULL || str_to_i64(v, &n) < 0 || n < 1 || n > S3_MPU_MAX_PARTS)
        return -EINVAL;
    *out = (int)n;
    return 0;
}

/* The ETag as clients send it back: quotes optional. */
static struct str
unquote(struct str s)
{
    s = str_trim(s);
    if (s.n >= 2 && s.p[0] == '"' && s.p[s.n - 1] == '"')
        return str_make(s.p + 1, s.n - 2);
    return s;
}

static bool
str_ieq(struct str a, struct str b)
{
    if (a.n != b.n)
        return false;
    for (size_t i = 0; i < a.n; i++) {
        char x = a.p[i], y = b.p[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (char)(y + 32);
        if (x != y)
            return false;
    }
    return true;
}

/* Big-endian bytes of a CRC as an integer. */
static uint64_t
be_u64(const unsigned char *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static void
put_be(uint64_t v, unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
}

/* A stored base64 checksum of algorithm a as raw bytes: 0, or -EINVAL. */
static int
cksum_raw(enum cksum_algo a, struct str b64, unsigned char out[CKSUM_MAX_LEN])
{
    if (b64.p == NULL || b64.n == 0)
        return -EINVAL;
    return b64_decode(b64, out, CKSUM_MAX_LEN) == (int)cksum_len(a) ? 0 : -EINVAL;
}

static struct str
b64_arena(struct s3_req *q, const unsigned char *p, size_t n)
{
    char out[64];

    b64_encode(p, n, out);
    return arena_str(q->arena, str_c(out));
}

/* The account that owns an upload, for Owner/Initiator elements. */
static void
xml_owner(struct s3_req *q, struct buf *x, const char *tag, int64_t owner_id)
{
    struct md_account acc;

    if (owner_id == q->account_id) {
        acc = q->account;
    } else if (md_account_get(md_reader(q->srv->md), owner_id, q->arena, &acc) < 0) {
        acc.canonical_id = STR_LIT("");
        acc.name = STR_LIT("");
    }
    xml_open(x, tag);
    xml_elem(x, "ID", acc.canonical_id);
    xml_elem(x, "DisplayName", acc.name);
    xml_close(x, tag);
}

/* ---- CRC combination ----------------------------------------------------
 * A reflected CRC register of width w holds a polynomial over GF(2) with
 * x^0 in the top bit. Appending n zero bytes multiplies by x^(8n) mod P,
 * and for CRCs whose init and final xor are both all ones (CRC32, CRC32C,
 * CRC64NVME) CRC(A||B) = CRC(A) * x^(8|B|) + CRC(B). */

struct crc_param {
    uint64_t poly; /* reflected, without the x^w term */
    int width;
};

static bool
crc_param(enum cksum_algo a, struct crc_param *p)
{
    switch (a) {
    case CKSUM_CRC32:
        *p = (struct crc_param){0xedb88320u, 32};
        return true;
    case CKSUM_CRC32C:
        *p = (struct crc_param){0x82f63b78u, 32};
        return true;
    case CKSUM_CRC64NVME:
        *p = (struct crc_param){0x9a6c9329ac4bc9b5ull, 64};
        return true;
    default:
        return false;
    }
}

/* a * b mod P in the reflected representation. */
static uint64_t
gf_mul(const struct crc_param *p, uint64_t a, uint64_t b)
{
    uint64_t top = 1ull << (p->width - 1), r = 0;

    for (int i = 0; i < p->width; i++) {
        if (a & (top >> i))
            r ^= b;
        b = (b & 1) ? (b >> 1) ^ p->poly : b >> 1;
    }
    return r;
}

/* x^(8n) mod P. */
static uint64_t
gf_xpow8(const struct crc_param *p, uint64_t n)
{
    uint64_t top = 1ull << (p->width - 1);
    uint64_t r = top, base = top >> 8; /* x^0, x^8 */

    while (n > 0) {
        if (n & 1)
            r = gf_mul(p, r, base);
        base = gf_mul(p, base, base);
        n >>= 1;
    }
    return r;
}

uint64_t
s3_mpu_crc_combine(enum cksum_algo a, uint64_t crc1, uint64_t crc2, int64_t len2)
{
    struct crc_param p;

    ASSERT(crc_param(a, &p) && len2 >= 0);
    return gf_mul(&p, crc1, gf_xpow8(&p, (uint64_t)len2)) ^ crc2;
}

const char *
s3_mpu_checksum_type(const struct md_version *v)
{
    return v->checksum_value.p != NULL && memchr(v->checksum_value.p, '-', v->checksum_value.n)
               ? "COMPOSITE"
               : "FULL_OBJECT";
}

static enum s3_err
check_create_headers(struct s3_req *q)
{
    static const char *const classes[] = {
        "STANDARD",        "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
        "GLACIER",         "DEEP_ARCHIVE",       "GLACIER_IR",  "OUTPOSTS",   "SNOW",
        "EXPRESS_ONEZONE",
    };
    /* Accepting these would silently drop what they ask for. */
    static const char *const unsupported[] = {
        "x-amz-server-side-encryption-customer-algorithm",
        "x-amz-object-lock-mode",
        "x-amz-object-lock-retain-until-date",
        "x-amz-object-lock-legal-hold",
        "x-amz-tagging",
        "x-amz-server-side-encryption-aws-kms-key-id",
        "x-amz-server-side-encryption",
    };
    struct str sc = http_header(q->http, "x-amz-storage-class");
    bool ok = sc.p == NULL;

    for (size_t i = 0; i < ARRAY_LEN(classes) && !ok; i++)
        ok = str_eq_c(sc, classes[i]);
    if (!ok)
        return S3E_INVALID_STORAGE_CLASS;
    for (size_t i = 0; i < ARRAY_LEN(unsupported); i++) {
        if (http_header(q->http, unsupported[i]).p != NULL) {
            q->err_msg = arena_printf(q->arena, "The header %s is not implemented by Coffer.",
                                      unsupported[i]);
            return S3E_NOT_IMPLEMENTED;
        }
    }
    return S3E_OK;
}

/* ---- uploads ------------------------------------------------------------ */

/* The upload named by ?uploadId, which must belong to this bucket and key. */
static enum s3_err
upload_load(struct s3_req *q, struct md_conn *c, const struct md_bucket *b, struct md_upload *u)
{
    struct str id = s3_param(q, "uploadId", NULL);
    int rc;

    if (id.p == NULL || id.n == 0 || id.n > MD_UPLOAD_ID_MAX)
        return no_such_upload(q, id);
    rc = md_upload_get(c, id, q->arena, u);
    if (rc == -ENOENT || (rc == 0 && (u->bucket_id != b->id || !str_eq(u->key, q->key))))
        return no_such_upload(q, id);
    return rc < 0 ? S3E_INTERNAL : S3E_OK;
}

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

    x->err = s3_err_from_core(object_bucket(c, x->q->bucket, x->q->account_id, x->q->arena, &x->b));
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

    err = check_create_headers(q);
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
        return rc == -ENOENT ? no_such_upload(q, u->upload_id) : s3_err_from_errno(rc);
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

    if (parse_part_number(s3_param(q, "partNumber", NULL), &part) < 0)
        return invalid_arg(q, MSG_PART_NUMBER, "partNumber", s3_param(q, "partNumber", NULL));
    err = s3_req_bucket(q, &b);
    if (err == S3E_OK)
        err = upload_load(q, md_reader(q->srv->md), &b, &u);
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
        return invalid_arg(q,
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
    struct s3_mpu_reader *mpu;
};

static void
src_close(struct src *s)
{
    s3_mpu_close(s->mpu);
    blob_reader_close(s->rd);
    s->rd = NULL;
    s->mpu = NULL;
}

static ssize_t
src_pread(struct src *s, void *p, size_t n, int64_t off)
{
    if (s->mpu != NULL)
        return s3_mpu_pread(s->mpu, p, n, off);
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
    int rc = -ENOENT;

    s->mpu = NULL;
    s->has_blob = false;
    /* The lease before the metadata that names the blobs. */
    s->rd = blob_reader_open(q->srv->blob);
    err = s3_parse_copy_source(q, &sb, &sk, &svid);
    if (err != S3E_OK)
        return err;
    rc = md_bucket_get(c, sb, q->arena, &sb_row);
    if (rc == -ENOENT) {
        q->bucket = sb;
        return S3E_NO_SUCH_BUCKET;
    }
    if (rc < 0)
        return S3E_INTERNAL;
    err = s3_authorize(q, &(struct s3_access){
                              .action = svid.p != NULL ? "s3:GetObjectVersion" : "s3:GetObject",
                              .bucket = &sb_row,
                              .key = sk,
                              .copy_source = true,
                          });
    if (err != S3E_OK)
        return err;
    *src_bucket_versioned = sb_row.versioning != MD_VER_NONE;
    return s3_version_open(q, s->rd, s3_copy_source_load,
                           &(struct s3_copy_src){sb_row.id, sk, svid}, &s->v, &s->mpu,
                           &s->has_blob);
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

/* ---- CompleteMultipartUpload --------------------------------------------- */

struct complete_ctx {
    struct s3_req *q;
    struct str upload_id;
    struct s3_mpu_want *want;
    size_t n_want;
    struct str full_checksum; /* x-amz-checksum-<algo> of the whole object, or STR_NULL */
    enum cksum_algo full_algo;
    int64_t object_size; /* x-amz-mp-object-size, -1 when absent */
    bool if_none_match;
    struct str if_match;

    struct md_bucket b;
    struct md_upload u;
    struct md_version v;
    struct md_part *ext; /* the new version's extents */
    struct str replaced_blob;
    enum s3_err err;
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
        if (parse_part_number(str_trim(num->text), &w->number) < 0) {
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
    struct str bad;
    enum s3_err err;

    err = s3_mpu_parse_complete(q->arena, body, x->u.checksum_algo, &x->want, &x->n_want, &bad);
    if (err == S3E_INVALID_ARGUMENT)
        return invalid_arg(q, MSG_PART_NUMBER, "PartNumber", bad);
    return err;
}

static const struct md_part *
find_part(const struct md_part *parts, size_t n, int number)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (parts[mid].part_number == number)
            return &parts[mid];
        if (parts[mid].part_number < number)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static enum s3_err
invalid_part(struct s3_req *q, const struct s3_mpu_want *w)
{
    char num[16];

    snprintf(num, sizeof(num), "%d", w->number);
    err_elems(q, "PartNumber", arena_str(q->arena, str_c(num)), "ETag", w->etag);
    return S3E_INVALID_PART;
}

/* Checks the requested parts against the stored ones and computes what the
 * new version carries: size, ETag (MD5 of the parts' MD5s, "-N"), the
 * checksum and the extents. Runs in the writer thread: CPU only, bounded
 * by 10000 parts; one x^(8n) per distinct part size for CRC combining. */
static enum s3_err
assemble(struct complete_ctx *x, const struct md_part *parts, size_t np)
{
    struct s3_req *q = x->q;
    enum cksum_algo algo = cksum_from_name(x->u.checksum_algo);
    bool composite = str_eq_c(x->u.checksum_type, "COMPOSITE");
    struct crc_param cp;
    struct hash *md5 = hash_new(HASH_MD5);
    struct cksum ck;
    unsigned char raw[CKSUM_MAX_LEN], digest[16];
    uint64_t crc = 0, op = 0;
    int64_t total = 0, op_len = -1;
    char hex[33], *etag;
    enum s3_err err = S3E_OK;

    cksum_init(&ck, composite ? algo : CKSUM_NONE);
    x->ext = arena_alloc(q->arena, x->n_want * sizeof(*x->ext));
    for (size_t i = 0; i < x->n_want; i++) {
        const struct s3_mpu_want *w = &x->want[i];
        const struct md_part *p = find_part(parts, np, w->number);

        if (p == NULL || !str_ieq(p->etag, w->etag)) {
            err = invalid_part(q, w);
            goto out;
        }
        if (algo != CKSUM_NONE && w->checksum.p == NULL && composite) {
            q->err_msg = arena_printf(q->arena,
                                      "The upload was created using a %s checksum. The "
                                      "complete request must include the checksum for each part. "
                                      "It was missing for part %d in the request.",
                                      cksum_name(algo), w->number);
            err = S3E_INVALID_REQUEST;
            goto out;
        }
        if (algo != CKSUM_NONE && (cksum_raw(algo, p->checksum, raw) < 0 ||
                                   (w->checksum.p != NULL && !str_eq(w->checksum, p->checksum)))) {
            err = invalid_part(q, w);
            goto out;
        }
        /* AWS: every part but the last is at least 5 MiB. */
        if (i + 1 < x->n_want && p->size < S3_MPU_MIN_PART_BYTES) {
            q->err_extra_xml =
                arena_printf(q->arena,
                             "<ProposedSize>%" PRId64 "</ProposedSize>"
                             "<MinSizeAllowed>%lld</MinSizeAllowed>"
                             "<PartNumber>%d</PartNumber><ETag>%.*s</ETag>",
                             p->size, S3_MPU_MIN_PART_BYTES, w->number, STR_FMT(p->etag));
            err = S3E_ENTITY_TOO_SMALL;
            goto out;
        }
        if (hex_decode(p->etag, digest, sizeof(digest)) != 16) {
            err = S3E_INTERNAL;
            goto out;
        }
        hash_update(md5, digest, 16);
        if (algo != CKSUM_NONE && composite) {
            cksum_update(&ck, raw, cksum_len(algo));
        } else if (algo != CKSUM_NONE && crc_param(algo, &cp)) {
            uint64_t c = be_u64(raw, cksum_len(algo));
            if (i == 0) {
                crc = c;
            } else {
                if (p->size != op_len) {
                    op = gf_xpow8(&cp, (uint64_t)p->size);
                    op_len = p->size;
                }
                crc = gf_mul(&cp, crc, op) ^ c;
            }
        }
        /* AWS: the object's parts are numbered 1..N in order, whatever
         * numbers the upload used (GET ?partNumber counts up to N). */
        x->ext[i] = *p;
        x->ext[i].part_number = (int)i + 1;
        x->ext[i].first_byte = total;
        total += p->size;
    }
    hash_final(md5, digest);
    md5 = NULL;
    hex_encode(digest, 16, hex);
    etag = arena_printf(q->arena, "%s-%zu", hex, x->n_want);
    x->v.etag = str_c(etag);
    x->v.size = total;
    x->v.parts_count = (int)x->n_want;
    x->v.checksum_algo = STR_LIT("");
    x->v.checksum_value = STR_LIT("");
    if (algo != CKSUM_NONE) {
        char b64[64];
        size_t n = cksum_len(algo);
        if (composite)
            cksum_final(&ck, raw);
        else
            put_be(crc, raw, n);
        b64_encode(raw, n, b64);
        x->v.checksum_algo = str_c(cksum_name(algo));
        x->v.checksum_value = composite ? str_c(arena_printf(q->arena, "%s-%zu", b64, x->n_want))
                                        : arena_str(q->arena, str_c(b64));
    }
    if (x->object_size >= 0 && x->object_size != total) {
        q->err_msg = arena_printf(q->arena,
                                  "The provided 'x-amz-mp-object-size' header value "
                                  "%" PRId64 " does not match what was computed: %" PRId64,
                                  x->object_size, total);
        err = S3E_INVALID_REQUEST;
        goto out;
    }
    /* The whole-object checksum the client may send along. */
    if (x->full_checksum.p != NULL &&
        (x->full_algo != algo || !str_eq(str_trim(x->full_checksum), x->v.checksum_value))) {
        q->err_msg = x->full_algo != algo
                         ? "The checksum algorithm of the request does not match the upload's."
                         : "The checksum you specified did not match what we received.";
        err = x->full_algo != algo ? S3E_INVALID_REQUEST : S3E_BAD_CHECKSUM;
    }
out:
    hash_free(md5);
    cksum_free(&ck);
    return err;
}

/* Conditional completion (If-None-Match: *, If-Match), checked in the
 * transaction that writes. */
static enum s3_err
complete_conditions(struct md_conn *c, struct complete_ctx *x)
{
    struct md_version cur;
    bool exists;
    int rc;

    if (!x->if_none_match && x->if_match.p == NULL)
        return S3E_OK;
    rc = md_version_get(c, x->b.id, x->q->key, STR_NULL, x->q->arena, &cur);
    if (rc < 0 && rc != -ENOENT)
        return S3E_INTERNAL;
    exists = rc == 0 && !cur.is_delete_marker;
    if (x->if_none_match && exists)
        return S3E_PRECONDITION_FAILED;
    if (x->if_match.p != NULL) {
        if (!exists) {
            x->q->err_key = x->q->key;
            return S3E_NO_SUCH_KEY;
        }
        if (!s3_etag_matches(x->if_match, cur.etag))
            return S3E_PRECONDITION_FAILED;
    }
    return S3E_OK;
}

/* The whole completion as one transaction: the version row and its
 * extents appear, the upload disappears, or nothing happens. */
static int
complete_txn(struct md_conn *c, void *arg)
{
    struct complete_ctx *x = arg;
    struct s3_req *q = x->q;
    struct md_part *parts;
    size_t np;
    int rc;

    x->err = s3_err_from_core(object_bucket(c, q->bucket, q->account_id, q->arena, &x->b));
    if (x->err != S3E_OK)
        return -EINVAL;
    rc = md_upload_get(c, x->upload_id, q->arena, &x->u);
    if (rc == -ENOENT || (rc == 0 && (x->u.bucket_id != x->b.id || !str_eq(x->u.key, q->key)))) {
        x->err = no_such_upload(q, x->upload_id);
        return -EINVAL;
    }
    if (rc < 0)
        return rc;
    rc = md_part_list(c, x->u.id, 0, S3_MPU_MAX_PARTS, q->arena, &parts, &np);
    if (rc < 0)
        return rc;
    x->err = assemble(x, parts, np);
    if (x->err == S3E_OK)
        x->err = complete_conditions(c, x);
    if (x->err != S3E_OK)
        return -EINVAL;
    x->v.key = q->key;
    x->v.mtime_ms = tm_now_ms();
    x->v.owner_id = q->account_id;
    x->v.content_type = x->u.content_type;
    x->v.meta = x->u.meta;
    x->v.blob_id = STR_NULL;
    x->v.inline_data = STR_NULL;
    x->err = s3_err_from_core(object_put(c, &x->b, &x->v, q->arena, &x->replaced_blob));
    if (x->err != S3E_OK)
        return -EINVAL;
    for (size_t i = 0; i < x->n_want; i++) {
        rc = md_version_part_add(c, x->v.seq, &x->ext[i]);
        if (rc < 0)
            return rc;
    }
    return md_upload_delete(c, x->u.id);
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
            x->full_algo = a;
            x->full_checksum = orig[i].value;
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

/* POST /{bucket}/{key}?uploadId=ID */
enum s3_err
s3_complete_multipart_upload(struct s3_req *q)
{
    struct http_req *r = q->http;
    struct complete_ctx x = {.q = q};
    struct str body, inm = http_header(r, "if-none-match");
    struct str mos = http_header(r, "x-amz-mp-object-size");
    char etag[80];
    enum s3_err err;
    struct buf xml;
    int rc;

    err = s3_req_bucket(q, &x.b);
    if (err == S3E_OK)
        err = upload_load(q, md_reader(q->srv->md), &x.b, &x.u);
    if (err != S3E_OK)
        return err;
    x.upload_id = x.u.upload_id;
    if (inm.p != NULL) {
        if (!str_eq_c(str_trim(inm), "*")) {
            q->err_msg = "If-None-Match only supports the value *";
            return S3E_NOT_IMPLEMENTED;
        }
        x.if_none_match = true;
    }
    x.if_match = http_header(r, "if-match");
    x.object_size = -1;
    if (mos.p != NULL) {
        long long v;
        if (str_to_i64(str_trim(mos), &v) < 0 || v < 0)
            return invalid_arg(q, "Invalid value for x-amz-mp-object-size", "x-amz-mp-object-size",
                               mos);
        x.object_size = v;
    }
    err = read_complete_body(q, &x, &body);
    if (err == S3E_OK)
        err = parse_complete(q, body, &x);
    if (err != S3E_OK)
        return err;
    rc = md_write(q->srv->md, complete_txn, &x);
    if (rc < 0)
        return x.err != S3E_OK ? x.err : s3_err_from_errno(rc);
    /* Committed: the object is visible and durable. Parts left out are due
     * at once; a replaced version's data waits out its grace period. */
    s3_mpu_reap(q->srv);
    if (x.b.versioning == MD_VER_ENABLED)
        http_resp_header(r, "x-amz-version-id", x.v.version_id);
    s3_etag_quoted(x.v.etag, etag);
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
    if (x.v.checksum_algo.n > 0) {
        char tag[32];
        snprintf(tag, sizeof(tag), "Checksum%.*s", STR_FMT(x.v.checksum_algo));
        xml_elem(&xml, tag, x.v.checksum_value);
        xml_elem_c(&xml, "ChecksumType", s3_mpu_checksum_type(&x.v));
    }
    xml_close(&xml, "CompleteMultipartUploadResult");
    s3_reply_xml(q, 200, &xml);
    return S3E_OK;
}

/* ---- AbortMultipartUpload ------------------------------------------------- */

struct abort_ctx {
    struct s3_req *q;
    struct md_bucket b;
    struct md_upload u;
    enum s3_err err;
};

static int
abort_txn(struct md_conn *c, void *arg)
{
    struct abort_ctx *x = arg;

    x->err = s3_err_from_core(object_bucket(c, x->q->bucket, x->q->account_id, x->q->arena, &x->b));
    if (x->err == S3E_OK)
        x->err = upload_load(x->q, c, &x->b, &x->u);
    if (x->err != S3E_OK)
        return -EINVAL;
    return md_upload_delete(c, x->u.id);
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
    if (rc < 0)
        return x.err != S3E_OK ? x.err : s3_err_from_errno(rc);
    s3_mpu_reap(q->srv); /* the parts: due at once */
    s3_reply_empty(q, 204);
    return S3E_OK;
}

/* ---- ListParts ----------------------------------------------------------- */

/* An optional non-negative integer parameter: *out = def when absent. */
static enum s3_err
int_param(struct s3_req *q, const char *name, long long def, long long max, long long *out,
          const char *msg)
{
    bool present;
    struct str v = s3_param(q, name, &present);
    long long n;

    *out = def;
    if (!present)
        return S3E_OK;
    if (v.p == NULL || str_to_i64(v, &n) < 0 || n < 0 || n > max)
        return invalid_arg(q, msg, name, v.p ? v : STR_LIT(""));
    *out = n;
    return S3E_OK;
}

/* GET /{bucket}/{key}?uploadId=ID[&max-parts=N][&part-number-marker=M] */
enum s3_err
s3_list_parts(struct s3_req *q)
{
    struct md_conn *c = md_reader(q->srv->md);
    struct md_bucket b;
    struct md_upload u;
    struct md_part *parts;
    long long max, marker;
    size_t n, shown, lim;
    enum cksum_algo algo;
    enum s3_err err;
    struct buf x;

    err = s3_req_bucket(q, &b);
    if (err == S3E_OK)
        err = upload_load(q, c, &b, &u);
    if (err == S3E_OK)
        err = int_param(q, "max-parts", LIST_MAX, INT_MAX, &max,
                        "Argument max-parts must be an integer between 0 and 2147483647");
    if (err == S3E_OK)
        err = int_param(q, "part-number-marker", 0, INT_MAX, &marker,
                        "Argument part-number-marker must be an integer between 0 and "
                        "2147483647");
    if (err != S3E_OK)
        return err;
    /* AWS: at most 1000 parts a page, whatever max-parts says. */
    lim = max < LIST_MAX ? (size_t)max : LIST_MAX;
    if (md_part_list(c, u.id, marker > S3_MPU_MAX_PARTS ? S3_MPU_MAX_PARTS : (int)marker, lim + 1,
                     q->arena, &parts, &n) < 0)
        return S3E_INTERNAL;
    shown = n > lim ? lim : n;
    algo = cksum_from_name(u.checksum_algo);
    buf_init(&x, LIST_XML_MAX);
    xml_decl(&x);
    xml_open_ns(&x, "ListPartsResult", S3_XMLNS);
    xml_elem(&x, "Bucket", q->bucket);
    xml_elem(&x, "Key", q->key);
    xml_elem(&x, "UploadId", u.upload_id);
    xml_elem_i64(&x, "PartNumberMarker", marker);
    if (shown > 0)
        xml_elem_i64(&x, "NextPartNumberMarker", parts[shown - 1].part_number);
    xml_elem_i64(&x, "MaxParts", max);
    xml_elem_bool(&x, "IsTruncated", n > shown);
    for (size_t i = 0; i < shown; i++) {
        char date[32], etag[80];
        tm_iso8601(parts[i].mtime_ms, date);
        s3_etag_quoted(parts[i].etag, etag);
        xml_open(&x, "Part");
        xml_elem_i64(&x, "PartNumber", parts[i].part_number);
        xml_elem_c(&x, "LastModified", date);
        xml_elem_c(&x, "ETag", etag);
        xml_elem_i64(&x, "Size", parts[i].size);
        if (algo != CKSUM_NONE && parts[i].checksum.n > 0) {
            char tag[32];
            snprintf(tag, sizeof(tag), "Checksum%s", cksum_name(algo));
            xml_elem(&x, tag, parts[i].checksum);
        }
        xml_close(&x, "Part");
    }
    xml_owner(q, &x, "Initiator", u.owner_id);
    xml_owner(q, &x, "Owner", u.owner_id);
    xml_elem_c(&x, "StorageClass", "STANDARD");
    if (algo != CKSUM_NONE) {
        xml_elem(&x, "ChecksumAlgorithm", u.checksum_algo);
        xml_elem(&x, "ChecksumType", u.checksum_type);
    }
    xml_close(&x, "ListPartsResult");
    s3_reply_xml(q, 200, &x);
    return S3E_OK;
}

/* ---- ListMultipartUploads -------------------------------------------------- */

/* key up to and including the first delimiter after prefix, or STR_NULL. */
static struct str
common_prefix(struct str prefix, struct str delim, struct str key)
{
    const char *hit;

    if (delim.p == NULL || delim.n == 0 || key.n < prefix.n)
        return STR_NULL;
    hit = memmem(key.p + prefix.n, key.n - prefix.n, delim.p, delim.n);
    return hit ? str_make(key.p, (size_t)(hit - key.p) + delim.n) : STR_NULL;
}

/* The smallest string above every string starting with s (arena), or
 * STR_NULL when none exists. */
static struct str
after_prefix(struct arena *a, struct str s)
{
    size_t n = s.n;
    char *p;

    while (n > 0 && (unsigned char)s.p[n - 1] == 0xff)
        n--;
    if (n == 0)
        return STR_NULL;
    p = arena_strndup(a, s.p, n);
    p[n - 1] = (char)((unsigned char)p[n - 1] + 1);
    return str_make(p, n);
}

/* encoding-type=url, as the object listings do it. */
static void
xml_key(struct buf *x, const char *tag, struct str s, bool url)
{
    static const char hexu[] = "0123456789ABCDEF";
    struct buf e;

    if (!url) {
        xml_elem(x, tag, s);
        return;
    }
    buf_init(&e, 4 * (s.n + 1));
    for (size_t i = 0; i < s.n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '/') {
            buf_append(&e, &ch, 1);
        } else if (ch == ' ') {
            buf_append(&e, "+", 1);
        } else {
            char esc[3] = {'%', hexu[ch >> 4], hexu[ch & 15]};
            buf_append(&e, esc, 3);
        }
    }
    xml_elem(x, tag, buf_str(&e));
    buf_free(&e);
}

struct up_item {
    struct md_upload u; /* key only for a prefix */
    bool is_prefix;
};

/* GET /{bucket}?uploads[&prefix][&delimiter][&key-marker][&upload-id-marker]
 * [&max-uploads][&encoding-type=url] */
enum s3_err
s3_list_multipart_uploads(struct s3_req *q)
{
    struct md_conn *c = md_reader(q->srv->md);
    struct str prefix = s3_param(q, "prefix", NULL), delim = s3_param(q, "delimiter", NULL);
    struct str km = s3_param(q, "key-marker", NULL), uim = s3_param(q, "upload-id-marker", NULL);
    struct str enc;
    struct str pos_key = STR_NULL;
    struct up_item *items;
    struct md_bucket b;
    bool url = false, pos_incl = false, enc_present;
    int64_t pos_id = 0;
    long long max;
    size_t n_items = 0, want;
    enum s3_err err;
    struct buf x;

    enc = s3_param(q, "encoding-type", &enc_present);
    if (enc_present) {
        if (!str_eq_c(enc, "url"))
            return invalid_arg(q, "Invalid Encoding Method specified in Request", "encoding-type",
                               enc.p ? enc : STR_LIT(""));
        url = true;
    }
    err = s3_req_bucket(q, &b);
    if (err == S3E_OK)
        err = int_param(q, "max-uploads", LIST_MAX, INT_MAX, &max,
                        "Argument max-uploads must be an integer between 0 and 2147483647");
    if (err != S3E_OK)
        return err;
    if (prefix.p == NULL)
        prefix = STR_LIT("");
    if (delim.p != NULL && delim.n == 0)
        delim = STR_NULL;
    if (km.p != NULL && km.n > 0) {
        struct md_upload mu;
        pos_key = km;
        /* AWS: upload-id-marker only counts with key-marker; it names the
         * last upload of key-marker already listed. An unknown one (aborted
         * meanwhile) leaves nothing of key-marker to list. */
        if (uim.p != NULL && uim.n > 0 && uim.n <= MD_UPLOAD_ID_MAX &&
            md_upload_get(c, uim, q->arena, &mu) == 0 && mu.bucket_id == b.id && str_eq(mu.key, km))
            pos_id = mu.id;
    }
    want = (size_t)(max < LIST_MAX ? max : LIST_MAX) + 1;
    items = arena_alloc(q->arena, want * sizeof(*items));
    while (max > 0 && n_items < want) {
        struct md_upload *rows;
        size_t got, ask = want - n_items, i;
        struct str skip = STR_NULL;

        if (md_upload_list(c, b.id, prefix, pos_key, pos_incl, pos_id, ask, q->arena, &rows, &got) <
            0)
            return S3E_INTERNAL;
        for (i = 0; i < got && n_items < want; i++) {
            struct str cp = common_prefix(prefix, delim, rows[i].key);
            if (cp.p == NULL) {
                items[n_items].u = rows[i];
                items[n_items++].is_prefix = false;
                continue;
            }
            /* A prefix at or below key-marker was on an earlier page. */
            if (km.p == NULL || km.n == 0 || str_cmp(cp, km) > 0) {
                memset(&items[n_items], 0, sizeof(items[n_items]));
                items[n_items].u.key = cp;
                items[n_items++].is_prefix = true;
            }
            skip = cp;
            break;
        }
        if (skip.p != NULL) {
            /* Continue after every key under the prefix. */
            pos_key = after_prefix(q->arena, skip);
            pos_incl = true;
            pos_id = 0;
            if (pos_key.p == NULL)
                break;
            continue;
        }
        if (got < ask)
            break;
        pos_key = rows[got - 1].key;
        pos_incl = false;
        pos_id = rows[got - 1].id;
    }
    bool truncated = n_items > (size_t)(max < LIST_MAX ? max : LIST_MAX);
    if (truncated)
        n_items--;
    buf_init(&x, LIST_XML_MAX);
    xml_decl(&x);
    xml_open_ns(&x, "ListMultipartUploadsResult", S3_XMLNS);
    xml_elem(&x, "Bucket", q->bucket);
    xml_key(&x, "KeyMarker", km.p ? km : STR_LIT(""), url);
    xml_elem(&x, "UploadIdMarker", uim.p ? uim : STR_LIT(""));
    if (truncated && n_items > 0) {
        const struct up_item *last = &items[n_items - 1];
        xml_key(&x, "NextKeyMarker", last->u.key, url);
        xml_elem(&x, "NextUploadIdMarker", last->is_prefix ? STR_LIT("") : last->u.upload_id);
    }
    if (delim.p != NULL)
        xml_key(&x, "Delimiter", delim, url);
    xml_key(&x, "Prefix", prefix, url);
    xml_elem_i64(&x, "MaxUploads", max);
    xml_elem_bool(&x, "IsTruncated", truncated);
    for (size_t i = 0; i < n_items; i++) {
        const struct md_upload *u = &items[i].u;
        char date[32];
        if (items[i].is_prefix)
            continue;
        tm_iso8601(u->initiated_ms, date);
        xml_open(&x, "Upload");
        xml_key(&x, "Key", u->key, url);
        xml_elem(&x, "UploadId", u->upload_id);
        xml_owner(q, &x, "Initiator", u->owner_id);
        xml_owner(q, &x, "Owner", u->owner_id);
        xml_elem_c(&x, "StorageClass", "STANDARD");
        xml_elem_c(&x, "Initiated", date);
        if (u->checksum_algo.n > 0) {
            xml_elem(&x, "ChecksumAlgorithm", u->checksum_algo);
            xml_elem(&x, "ChecksumType", u->checksum_type);
        }
        xml_close(&x, "Upload");
    }
    for (size_t i = 0; i < n_items; i++) {
        if (!items[i].is_prefix)
            continue;
        xml_open(&x, "CommonPrefixes");
        xml_key(&x, "Prefix", items[i].u.key, url);
        xml_close(&x, "CommonPrefixes");
    }
    if (url)
        xml_elem_c(&x, "EncodingType", "url");
    xml_close(&x, "ListMultipartUploadsResult");
    s3_reply_xml(q, 200, &x);
    return S3E_OK;
}

/* ---- reading multipart versions -------------------------------------------- */

/* One extent, as much of md_part as reading needs: a 10,000-part version
 * costs about 560 KiB. */
struct extent {
    int64_t first_byte, size;
    char blob_id[BLOB_ID_LEN + 1];
};

struct s3_mpu_reader {
    struct s3_req *q;
    struct blob_reader *rd; /* borrowed: the caller's lease */
    int64_t seq, size;
    struct extent *ext; /* every extent, ascending by part number (and offset) */
    size_t n;
};

/* Loads every extent of the version at open: the rows go with the version
 * when it is deleted, while its blobs stay for as long as the lease does
 * (store/trash.h), so a reader must not need the rows later. */
static int
load_extents(struct s3_mpu_reader *r, int parts_count)
{
    struct md_conn *c = md_reader(r->q->srv->md);
    struct arena *a = arena_new();
    struct md_part *batch;
    size_t n;
    int after = 0, rc = 0;

    r->ext = xcalloc(parts_count > 0 ? (size_t)parts_count : 1, sizeof(*r->ext));
    while (r->n < (size_t)parts_count) {
        arena_reset(a);
        rc = md_version_part_list(c, r->seq, after, READ_BATCH, a, &batch, &n);
        if (rc < 0)
            break;
        if (n == 0 || n > (size_t)parts_count - r->n) {
            rc = -ENOENT; /* deleted meanwhile */
            break;
        }
        for (size_t i = 0; i < n; i++) {
            struct extent *e = &r->ext[r->n++];
            e->first_byte = batch[i].first_byte;
            e->size = batch[i].size;
            if (batch[i].blob_id.n != BLOB_ID_LEN) {
                rc = -EIO;
                goto out;
            }
            memcpy(e->blob_id, batch[i].blob_id.p, BLOB_ID_LEN);
        }
        after = batch[n - 1].part_number;
    }
out:
    arena_free(a);
    return rc;
}

/* Index of the extent holding off (zero-length ones skipped), or -ENOENT. */
static ssize_t
reader_find(const struct s3_mpu_reader *r, int64_t off)
{
    size_t lo = 0, hi = r->n;

    if (r->n == 0)
        return -ENOENT;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->ext[mid].first_byte <= off)
            lo = mid;
        else
            hi = mid;
    }
    while (lo > 0 && r->ext[lo].size == 0)
        lo--;
    return off >= r->ext[lo].first_byte && off < r->ext[lo].first_byte + r->ext[lo].size
               ? (ssize_t)lo
               : -ENOENT;
}

int
s3_mpu_open(struct s3_req *q, struct blob_reader *rd, const struct md_version *v,
            struct s3_mpu_reader **out)
{
    struct s3_mpu_reader *r = xcalloc(1, sizeof(*r));
    int rc;

    r->q = q;
    r->rd = rd;
    r->seq = v->seq;
    r->size = v->size;
    rc = load_extents(r, v->parts_count);
    if (rc == 0 && r->n == 0)
        rc = -ENOENT;
    /* The first part's blob, opened now: a version deleted and reaped
     * before this reader's lease began shows here, before any header. */
    if (rc == 0 && v->size > 0) {
        ssize_t i = reader_find(r, 0);
        rc = i < 0 ? (int)i
                   : (int)blob_read(rd, str_make(r->ext[i].blob_id, BLOB_ID_LEN), 0, NULL, 0);
    }
    if (rc < 0) {
        s3_mpu_close(r);
        return rc == -ENOENT ? -ENOENT : -EIO;
    }
    *out = r;
    return 0;
}

ssize_t
s3_mpu_pread(struct s3_mpu_reader *r, void *p, size_t n, int64_t off)
{
    const struct extent *e;
    ssize_t i, got;

    if (off >= r->size || n == 0)
        return 0;
    i = reader_find(r, off);
    if (i < 0)
        return -EIO;
    e = &r->ext[i];
    if ((int64_t)n > e->first_byte + e->size - off)
        n = (size_t)(e->first_byte + e->size - off);
    got = blob_read(r->rd, str_make(e->blob_id, BLOB_ID_LEN), off - e->first_byte, p, n);
    if (got < 0)
        return got == -ENOENT ? -ENOENT : -EIO;
    if (got == 0) {
        log_error("multipart: blob %s is shorter than its %" PRId64 " bytes", e->blob_id,
                  e->size);
        return -EIO;
    }
    return got;
}

int
s3_mpu_send(struct s3_mpu_reader *r, int64_t from, int64_t to)
{
    char *chunk = xmalloc(IO_CHUNK);
    int rc = 0;

    while (from <= to) {
        size_t want = to - from + 1 < IO_CHUNK ? (size_t)(to - from + 1) : IO_CHUNK;
        ssize_t got = s3_mpu_pread(r, chunk, want, from);
        if (got <= 0) {
            rc = got < 0 ? (int)got : -EIO;
            log_error("multipart: reading version %" PRId64 " at %" PRId64 ": %s", r->seq, from,
                      strerror(-rc));
            break;
        }
        rc = http_resp_write(r->q->http, chunk, (size_t)got);
        if (rc < 0)
            break;
        from += got;
    }
    free(chunk);
    return rc;
}

void
s3_mpu_close(struct s3_mpu_reader *r)
{
    if (r == NULL)
        return;
    free(r->ext);
    free(r);
}

int
s3_mpu_send_range(struct s3_req *q, struct blob_reader *rd, const struct md_version *v,
                  int64_t from, int64_t to)
{
    struct s3_mpu_reader *r;
    int rc = s3_mpu_open(q, rd, v, &r);

    if (rc < 0)
        return rc;
    rc = s3_mpu_send(r, from, to);
    s3_mpu_close(r);
    return rc;
}

enum s3_err
s3_mpu_part_param(struct s3_req *q, int *part)
{
    bool present;
    struct str v = s3_param(q, "partNumber", &present);

    *part = 0;
    if (!present)
        return S3E_OK;
    if (parse_part_number(v, part) < 0)
        return invalid_arg(q, MSG_PART_NUMBER, "partNumber", v.p ? v : STR_LIT(""));
    return S3E_OK;
}

enum s3_err
s3_mpu_part_range(struct s3_req *q, const struct md_version *v, int part, int64_t *from,
                  int64_t *to, int *n_parts, struct str *part_checksum)
{
    struct md_part p;
    int rc;

    if (part_checksum != NULL)
        *part_checksum = STR_NULL;
    *n_parts = v->parts_count;
    if (v->parts_count == 0) {
        /* AWS: an object not uploaded in parts is its own part 1. */
        if (part != 1)
            return S3E_INVALID_PART_NUMBER;
        *from = 0;
        *to = v->size - 1;
        return S3E_OK;
    }
    if (part < 1 || part > v->parts_count)
        return S3E_INVALID_PART_NUMBER;
    rc = md_version_part_get(md_reader(q->srv->md), v->seq, part, q->arena, &p);
    if (rc == -ENOENT)
        return S3E_INVALID_PART_NUMBER;
    if (rc < 0)
        return S3E_INTERNAL;
    *from = p.first_byte;
    *to = p.first_byte + p.size - 1;
    if (part_checksum != NULL && p.checksum.n > 0 &&
        strcmp(s3_mpu_checksum_type(v), "COMPOSITE") == 0)
        *part_checksum = p.checksum;
    return S3E_OK;
}

/* ---- the trash ------------------------------------------------------------ */

void
s3_mpu_reap(struct srv *srv)
{
    int rc = trash_reap(srv->md, srv->blob, trash_cutoff_ms(srv->blob, srv->reclaim_grace_ms));

    if (rc < 0)
        log_warn("multipart: cannot empty the blob trash: %s", strerror(-rc));
}
