/* s3_mpu_list.c -- ListParts and ListMultipartUploads: the parts of one
 * in-progress upload, and a bucket's in-progress uploads with prefix,
 * delimiter and key/upload-id markers. Not here: listing objects
 * (s3_list.c). */
#include "common.h"
#include "crypto/cksum.h"
#include "s3/s3_int.h"
#include "s3/s3_lifecycle.h"
#include "s3/s3_mpu.h"
#include "util/tm.h"
#include "xml/xml_write.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define LIST_MAX 1000 /* max-uploads and max-parts cap (AWS) */
#define LIST_XML_MAX (16 * 1024 * 1024)

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
        return s3_mpu_invalid_arg(q, msg, name, v.p ? v : STR_LIT(""));
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
        err = s3_mpu_upload_load(q, c, &b, &u);
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
    xml_elem(&x, "StorageClass", s3_storage_class_name(u.storage_class));
    if (algo != CKSUM_NONE) {
        xml_elem(&x, "ChecksumAlgorithm", u.checksum_algo);
        xml_elem(&x, "ChecksumType", u.checksum_type);
    }
    xml_close(&x, "ListPartsResult");
    s3_lifecycle_abort(q, &b, u.initiated_ms);
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
            return s3_mpu_invalid_arg(q, "Invalid Encoding Method specified in Request",
                                      "encoding-type", enc.p ? enc : STR_LIT(""));
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
        xml_elem(&x, "StorageClass", s3_storage_class_name(u->storage_class));
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
