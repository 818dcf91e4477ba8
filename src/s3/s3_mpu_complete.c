/* s3_mpu_complete.c -- CompleteMultipartUpload: checking the requested parts
 * against the stored ones, composing the object's ETag and checksum
 * (COMPOSITE, or FULL_OBJECT by CRC combination), and moving the part rows
 * to the new version's extent list in one md_write() closure, so the object
 * becomes visible exactly at that commit whatever its size. */
#include "common.h"
#include "core/object.h"
#include "crypto/cksum.h"
#include "crypto/hash.h"
#include "s3/s3_int.h"
#include "s3/s3_mpu.h"
#include "util/enc.h"
#include "util/tm.h"
#include "xml/xml_read.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"
/* A CompleteMultipartUpload body names at most 10000 parts; with an ETag
 * and a checksum each, 512 bytes per part is generous. */
#define COMPLETE_BODY_MAX ((size_t)S3_MPU_MAX_PARTS * 512)

/* ---- small helpers ------------------------------------------------------ */

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
    struct str bad;
    enum s3_err err;

    err = s3_mpu_parse_complete(q->arena, body, x->u.checksum_algo, &x->want, &x->n_want, &bad);
    if (err == S3E_INVALID_ARGUMENT)
        return s3_mpu_invalid_arg(q, S3_MPU_MSG_PART_NUMBER, "PartNumber", bad);
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
    s3_mpu_err_elems(q, "PartNumber", arena_str(q->arena, str_c(num)), "ETag", w->etag);
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
        x->err = s3_mpu_no_such_upload(q, x->upload_id);
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
        err = s3_mpu_upload_load(q, md_reader(q->srv->md), &x.b, &x.u);
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
            return s3_mpu_invalid_arg(q, "Invalid value for x-amz-mp-object-size",
                                      "x-amz-mp-object-size", mos);
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
