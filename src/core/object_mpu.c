/* object_mpu.c -- completing and aborting multipart uploads: the requested
 * parts checked against the stored ones, the object's ETag and checksum
 * (COMPOSITE, or FULL_OBJECT by CRC combination), and the part rows moved
 * to the new version's extent list in one transaction, so the object
 * becomes visible exactly at that commit whatever its size. */
#include "common.h"
#include "core/object_mpu.h"
#include "bounds.h"
#include "core/core_int.h"
#include "crypto/hash.h"
#include "util/enc.h"

#include <errno.h>

/* ---- small helpers ------------------------------------------------------ */

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
object_mpu_crc_combine(enum cksum_algo a, uint64_t crc1, uint64_t crc2, int64_t len2)
{
    struct crc_param p;

    ASSERT(crc_param(a, &p) && len2 >= 0);
    return gf_mul(&p, crc1, gf_xpow8(&p, (uint64_t)len2)) ^ crc2;
}

/* ---- the upload --------------------------------------------------------- */

enum core_err
object_mpu_upload(struct md_conn *c, const struct md_bucket *b, struct str key,
                  struct str upload_id, struct arena *a, struct md_upload *u)
{
    int rc;

    if (upload_id.p == NULL || upload_id.n == 0 || upload_id.n > MD_UPLOAD_ID_MAX)
        return CORE_E_NO_SUCH_UPLOAD;
    rc = md_upload_get(c, upload_id, a, u);
    /* AWS: an upload of another bucket or key does not exist for this one. */
    if (rc == -ENOENT || (rc == 0 && (u->bucket_id != b->id || !str_eq(u->key, key))))
        return CORE_E_NO_SUCH_UPLOAD;
    return core_store_err(rc);
}

/* ---- completion --------------------------------------------------------- */

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

/* Checks the requested parts against the stored ones (ascending by number)
 * and computes what the new version carries: size, ETag (MD5 of the parts'
 * MD5s, "-N"), the checksum, and in *ext the extents. One x^(8n) per
 * distinct part size for CRC combining. */
static enum core_err
assemble(struct object_mpu_complete *x, const struct md_part *parts, size_t np, struct arena *a,
         struct md_part **ext)
{
    enum cksum_algo algo = cksum_from_name(x->u.checksum_algo);
    bool composite = str_eq_c(x->u.checksum_type, "COMPOSITE");
    struct crc_param cp;
    struct hash *md5;
    struct cksum ck;
    unsigned char raw[CKSUM_MAX_LEN], digest[16];
    uint64_t crc = 0, op = 0;
    int64_t total = 0, op_len = -1;
    char hex[33], *etag;
    enum core_err err = CORE_E_OK;

    for (size_t i = 1; i < x->n_want; i++) {
        if (x->want[i].number <= x->want[i - 1].number)
            return CORE_E_INVALID_PART_ORDER;
    }
    md5 = hash_new(HASH_MD5);
    cksum_init(&ck, composite ? algo : CKSUM_NONE);
    *ext = arena_alloc(a, (x->n_want ? x->n_want : 1) * sizeof(**ext));
    for (size_t i = 0; i < x->n_want; i++) {
        const struct object_mpu_want *w = &x->want[i];
        const struct md_part *p = find_part(parts, np, w->number);

        x->bad = i;
        if (p == NULL || !str_ieq(p->etag, w->etag)) {
            err = CORE_E_INVALID_PART;
            goto out;
        }
        if (algo != CKSUM_NONE && w->checksum.p == NULL && composite) {
            err = CORE_E_PART_CHECKSUM_MISSING;
            goto out;
        }
        if (algo != CKSUM_NONE && (cksum_raw(algo, p->checksum, raw) < 0 ||
                                   (w->checksum.p != NULL && !str_eq(w->checksum, p->checksum)))) {
            err = CORE_E_INVALID_PART;
            goto out;
        }
        /* AWS: every part but the last is at least 5 MiB. */
        if (i + 1 < x->n_want && p->size < S3_MPU_MIN_PART_BYTES) {
            x->bad_size = p->size;
            x->bad_etag = p->etag;
            err = CORE_E_ENTITY_TOO_SMALL;
            goto out;
        }
        if (hex_decode(p->etag, digest, sizeof(digest)) != 16) {
            err = CORE_E_INTERNAL;
            goto out;
        }
        hash_update(md5, digest, 16);
        if (algo != CKSUM_NONE && composite) {
            cksum_update(&ck, raw, cksum_len(algo));
        } else if (algo != CKSUM_NONE && crc_param(algo, &cp)) {
            uint64_t v = be_u64(raw, cksum_len(algo));
            if (i == 0) {
                crc = v;
            } else {
                if (p->size != op_len) {
                    op = gf_xpow8(&cp, (uint64_t)p->size);
                    op_len = p->size;
                }
                crc = gf_mul(&cp, crc, op) ^ v;
            }
        }
        /* AWS: the object's parts are numbered 1..N in order, whatever
         * numbers the upload used (GET ?partNumber counts up to N). */
        (*ext)[i] = *p;
        (*ext)[i].part_number = (int)i + 1;
        (*ext)[i].first_byte = total;
        total += p->size;
    }
    x->bad = 0;
    hash_final(md5, digest);
    md5 = NULL;
    hex_encode(digest, 16, hex);
    etag = arena_printf(a, "%s-%zu", hex, x->n_want);
    x->total = total;
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
        x->v.checksum_value = composite ? str_c(arena_printf(a, "%s-%zu", b64, x->n_want))
                                        : arena_str(a, str_c(b64));
    }
    if (x->object_size >= 0 && x->object_size != total) {
        err = CORE_E_OBJECT_SIZE_MISMATCH;
        goto out;
    }
    /* The whole-object checksum the client may send along. */
    if (x->full_checksum.p != NULL) {
        if (x->full_algo != algo)
            err = CORE_E_CHECKSUM_ALGO_MISMATCH;
        else if (!str_eq(str_trim(x->full_checksum), x->v.checksum_value))
            err = CORE_E_BAD_CHECKSUM;
    }
out:
    hash_free(md5);
    cksum_free(&ck);
    return err;
}

enum core_err
object_mpu_complete(struct md_conn *c, struct object_mpu_complete *x, struct arena *a)
{
    struct md_part *parts, *ext;
    size_t np;
    enum core_err err;
    int rc;

    x->v = (struct md_version){0};
    x->trashed = false;
    x->bad = 0;
    x->bad_size = 0;
    x->bad_etag = STR_NULL;
    x->total = 0;
    err = object_bucket(c, x->bucket, x->bucket_id, a, &x->b);
    if (err == CORE_E_OK)
        err = object_mpu_upload(c, &x->b, x->key, x->upload_id, a, &x->u);
    if (err != CORE_E_OK)
        return err;
    rc = md_part_list(c, x->u.id, 0, S3_MPU_MAX_PARTS, a, &parts, &np);
    if (rc < 0)
        return core_store_err(rc);
    err = assemble(x, parts, np, a, &ext);
    if (err == CORE_E_OK)
        err = object_check_cond(c, x->b.id, x->key, &x->cond, a);
    if (err != CORE_E_OK)
        return err;
    x->v.key = x->key;
    x->v.mtime_ms = x->now_ms;
    x->v.owner_id = x->account_id;
    x->v.content_type = x->u.content_type;
    x->v.meta = x->u.meta;
    x->v.tags = x->u.tags;
    x->v.storage_class = x->u.storage_class;
    x->v.blob_id = STR_NULL;
    x->v.inline_data = STR_NULL;
    err = object_put(c, &x->b, &x->v, a, &x->trashed);
    if (err != CORE_E_OK)
        return err;
    for (size_t i = 0; i < x->n_want; i++) {
        rc = md_version_part_add(c, x->v.seq, &ext[i]);
        if (rc < 0)
            return core_store_err(rc);
    }
    rc = md_upload_delete(c, x->u.id);
    if (rc == 0)
        rc = md_upload_done_add(c, x->u.upload_id, x->b.id, x->v.seq, x->now_ms);
    return core_store_err(rc);
}

enum core_err
object_mpu_completed(struct md_conn *c, int64_t bucket_id, struct str key, struct str upload_id,
                     const struct object_mpu_want *want, size_t n_want, struct arena *a,
                     struct md_version *v)
{
    struct md_part *ext;
    size_t n;
    int64_t done_bucket, seq;
    int rc;

    if (upload_id.p == NULL || upload_id.n == 0 || upload_id.n > MD_UPLOAD_ID_MAX)
        return CORE_E_NO_SUCH_UPLOAD;
    rc = md_upload_done_get(c, upload_id, &done_bucket, &seq);
    if (rc == 0)
        rc = md_version_get_seq(c, seq, a, v);
    if (rc == -ENOENT || (rc == 0 && (done_bucket != bucket_id || !str_eq(v->key, key))))
        return CORE_E_NO_SUCH_UPLOAD;
    if (rc == 0)
        rc = md_version_part_list(c, seq, 0, S3_MPU_MAX_PARTS, a, &ext, &n);
    if (rc < 0)
        return core_store_err(rc);
    if (n != n_want)
        return CORE_E_NO_SUCH_UPLOAD;
    for (size_t i = 0; i < n; i++)
        if (!str_eq(ext[i].etag, want[i].etag))
            return CORE_E_NO_SUCH_UPLOAD;
    return CORE_E_OK;
}

/* ---- abort -------------------------------------------------------------- */

enum core_err
object_mpu_abort(struct md_conn *c, struct str bucket, int64_t bucket_id, struct str key,
                 struct str upload_id, struct arena *a, struct md_bucket *b)
{
    struct md_upload u;
    enum core_err err = object_bucket(c, bucket, bucket_id, a, b);

    if (err == CORE_E_OK)
        err = object_mpu_upload(c, b, key, upload_id, a, &u);
    if (err == CORE_E_OK)
        err = core_store_err(md_upload_delete(c, u.id));
    return err;
}
