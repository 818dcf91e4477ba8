/* s3_attributes.c -- GetObjectAttributes: what GET's headers say about a
 * version (ETag, checksum, class, size) plus its parts, as one XML document
 * and without the data. The version is found, and a delete marker or a
 * missing key answered, exactly as GET does (s3_read_answer()). */
#include "common.h"
#include "core/version.h"
#include "crypto/cksum.h"
#include "s3/s3_int.h"
#include "s3/s3_mpu.h"
#include "util/tm.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <stdio.h>

#define PARTS_MAX 1000 /* x-amz-max-parts default and cap (AWS) */

static const char *const attr_names[] = {
    [S3_ATTR_ETAG] = "ETag",
    [S3_ATTR_CHECKSUM] = "Checksum",
    [S3_ATTR_OBJECT_PARTS] = "ObjectParts",
    [S3_ATTR_STORAGE_CLASS] = "StorageClass",
    [S3_ATTR_OBJECT_SIZE] = "ObjectSize",
};

int
s3_attrs_parse(struct str list, unsigned *mask, struct str *bad)
{
    struct str rest = list, item;

    *mask = 0;
    *bad = STR_NULL;
    while (rest.p != NULL) {
        bool known = false;
        str_split(rest, ',', &item, &rest);
        item = str_trim(item);
        /* AWS skips empty items ("ETag,,ObjectSize"); names are exact. */
        if (item.n == 0)
            continue;
        for (size_t i = 0; i < ARRAY_LEN(attr_names) && !known; i++) {
            if (str_eq_c(item, attr_names[i])) {
                *mask |= 1u << i;
                known = true;
            }
        }
        if (!known) {
            *bad = item;
            return -EINVAL;
        }
    }
    return *mask != 0 ? 0 : -ENOENT;
}

/* x-amz-max-parts and x-amz-part-number-marker. AWS ignores a max-parts
 * that is not a number (the default applies); a marker must be one. */
static enum s3_err
paging(struct s3_req *q, int *max, int *marker)
{
    struct str m = http_header(q->http, "x-amz-max-parts");
    struct str k = http_header(q->http, "x-amz-part-number-marker");
    long long v;

    *max = PARTS_MAX;
    *marker = 0;
    if (m.p != NULL && str_to_i64(str_trim(m), &v) == 0 && v >= 0 && v < PARTS_MAX)
        *max = (int)v;
    if (k.p != NULL) {
        if (str_to_i64(str_trim(k), &v) < 0 || v < 0 || v > 10000) {
            q->err_msg = "Invalid part number marker";
            q->err_arg_name = "x-amz-part-number-marker";
            q->err_arg_value = arena_cstr(q->arena, k);
            return S3E_INVALID_ARGUMENT;
        }
        *marker = (int)v;
    }
    return S3E_OK;
}

static int
checksum_elem(struct buf *x, struct str algo, struct str value)
{
    char tag[32];

    snprintf(tag, sizeof(tag), "Checksum%.*s", STR_FMT(algo));
    return xml_elem(x, tag, value);
}

/* <ObjectParts> of a multipart version: the count always; the parts
 * themselves, as AWS lists them, only when the upload carried checksums. */
static int
object_parts(struct s3_req *q, struct md_conn *c, const struct md_version *v, struct buf *x,
             int max, int marker)
{
    struct md_part *parts = NULL;
    size_t n = 0, shown;
    bool listed = v->checksum_algo.n > 0;
    int rc = 0;

    if (listed && md_version_part_list(c, v->seq, marker, (size_t)max + 1, q->arena, &parts,
                                       &n) < 0)
        return -1;
    shown = n > (size_t)max ? (size_t)max : n;
    rc |= xml_open(x, "ObjectParts");
    /* The wire name; SDKs call it TotalPartsCount. */
    rc |= xml_elem_i64(x, "PartsCount", v->parts_count);
    if (listed) {
        rc |= xml_elem_i64(x, "PartNumberMarker", marker);
        rc |= xml_elem_i64(x, "NextPartNumberMarker",
                           shown > 0 ? parts[shown - 1].part_number : marker);
        rc |= xml_elem_i64(x, "MaxParts", max);
        rc |= xml_elem_bool(x, "IsTruncated", n > shown);
        for (size_t i = 0; i < shown; i++) {
            rc |= xml_open(x, "Part");
            if (parts[i].checksum.n > 0)
                rc |= checksum_elem(x, v->checksum_algo, parts[i].checksum);
            rc |= xml_elem_i64(x, "PartNumber", parts[i].part_number);
            rc |= xml_elem_i64(x, "Size", parts[i].size);
            rc |= xml_close(x, "Part");
        }
    }
    rc |= xml_close(x, "ObjectParts");
    return rc;
}

/* GET /{bucket}/{key}?attributes[&versionId=] */
enum s3_err
s3_get_object_attributes(struct s3_req *q)
{
    struct md_conn *c = md_reader(q->srv->md);
    struct str hdr = http_header(q->http, "x-amz-object-attributes"), bad, vid;
    struct md_bucket b;
    struct md_version v;
    struct buf x;
    unsigned want = 0;
    int max, marker, rc = 0;
    char date[32];
    enum s3_err err;

    rc = hdr.p != NULL ? s3_attrs_parse(hdr, &want, &bad) : -ENOENT;
    if (rc == -EINVAL) {
        q->err_msg = "Invalid attribute name specified.";
        q->err_arg_name = "x-amz-object-attributes";
        q->err_arg_value = arena_cstr(q->arena, bad);
        return S3E_INVALID_ARGUMENT;
    }
    if (rc < 0) {
        q->err_msg = "The x-amz-object-attributes header specifying the attributes to be "
                     "retrieved is either missing or empty";
        return S3E_INVALID_REQUEST;
    }
    err = s3_version_param(q, &vid);
    if (err == S3E_OK)
        err = paging(q, &max, &marker);
    if (err == S3E_OK)
        err = s3_req_bucket(q, &b);
    if (err != S3E_OK)
        return err;
    /* The row and its parts from one snapshot. */
    (void)md_snapshot_begin(c);
    err = s3_read_answer(q, version_get(c, b.id, q->key, vid, q->arena, &v), vid, &v);
    if (err != S3E_OK)
        goto out;
    tm_http_date(v.mtime_ms, date);
    http_resp_header_c(q->http, "Last-Modified", date);
    if (b.versioning != MD_VER_NONE || !str_eq_c(v.version_id, "null"))
        http_resp_header(q->http, "x-amz-version-id", v.version_id);
    buf_init(&x, 1024 * 1024);
    rc |= xml_decl(&x);
    rc |= xml_open_ns(&x, "GetObjectAttributesResponse", S3_XMLNS);
    /* AWS: the ETag here is bare, without the quotes of the header. */
    if (want & (1u << S3_ATTR_ETAG))
        rc |= xml_elem(&x, "ETag", v.etag);
    if ((want & (1u << S3_ATTR_CHECKSUM)) && v.checksum_algo.n > 0) {
        rc |= xml_open(&x, "Checksum");
        rc |= checksum_elem(&x, v.checksum_algo, v.checksum_value);
        rc |= xml_elem_c(&x, "ChecksumType", s3_mpu_checksum_type(&v));
        rc |= xml_close(&x, "Checksum");
    }
    if ((want & (1u << S3_ATTR_OBJECT_PARTS)) && v.parts_count > 0)
        rc |= object_parts(q, c, &v, &x, max, marker);
    if (want & (1u << S3_ATTR_STORAGE_CLASS))
        rc |= xml_elem(&x, "StorageClass", s3_storage_class_name(v.storage_class));
    if (want & (1u << S3_ATTR_OBJECT_SIZE))
        rc |= xml_elem_i64(&x, "ObjectSize", v.size);
    rc |= xml_close(&x, "GetObjectAttributesResponse");
    err = s3_reply_built(q, rc, &x);
out:
    md_snapshot_end(c);
    return err;
}
