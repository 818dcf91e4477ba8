/* s3_mpu.c -- what the multipart files of s3/ share (the upload named by
 * ?uploadId, part numbers, their errors), reading completed multipart
 * versions for GET, HEAD and the copies, and running the reaper. The S3
 * operations are in s3_mpu_upload.c, s3_mpu_complete.c and s3_mpu_list.c:
 * each part stays in its own blob, completing only moves rows. */
#include "common.h"
#include "s3/s3_mpu.h"
#include "s3/s3_int.h"
#include "store/blob.h"
#include "store/trash.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define IO_CHUNK (256 * 1024)
#define READ_BATCH 256 /* extents a reader loads at a time */

/* ---- shared by the multipart files -------------------------------------- */

/* Sets an extra element (escaped) rendered inside the error document. */
void
s3_mpu_err_elems(struct s3_req *q, const char *tag1, struct str v1, const char *tag2, struct str v2)
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

enum s3_err
s3_mpu_no_such_upload(struct s3_req *q, struct str upload_id)
{
    if (upload_id.p != NULL && str_valid_utf8(upload_id))
        s3_mpu_err_elems(q, "UploadId", upload_id, NULL, STR_NULL);
    return S3E_NO_SUCH_UPLOAD;
}

enum s3_err
s3_mpu_invalid_arg(struct s3_req *q, const char *msg, const char *name, struct str value)
{
    q->err_msg = msg;
    q->err_arg_name = name;
    q->err_arg_value = value.p ? arena_cstr(q->arena, value) : NULL;
    return S3E_INVALID_ARGUMENT;
}

/* A part number as S3 accepts it: decimal 1..10000. */
int
s3_mpu_parse_part_number(struct str v, int *out)
{
    long long n;

    if (v.p == NULL || str_to_i64(v, &n) < 0 || n < 1 || n > S3_MPU_MAX_PARTS)
        return -EINVAL;
    *out = (int)n;
    return 0;
}

/* The upload named by ?uploadId, which must belong to this bucket and key. */
enum s3_err
s3_mpu_upload_load(struct s3_req *q, struct md_conn *c, const struct md_bucket *b,
                   struct md_upload *u)
{
    struct str id = s3_param(q, "uploadId", NULL);
    int rc;

    if (id.p == NULL || id.n == 0 || id.n > MD_UPLOAD_ID_MAX)
        return s3_mpu_no_such_upload(q, id);
    rc = md_upload_get(c, id, q->arena, u);
    if (rc == -ENOENT || (rc == 0 && (u->bucket_id != b->id || !str_eq(u->key, q->key))))
        return s3_mpu_no_such_upload(q, id);
    return rc < 0 ? S3E_INTERNAL : S3E_OK;
}

const char *
s3_mpu_checksum_type(const struct md_version *v)
{
    return v->checksum_value.p != NULL && memchr(v->checksum_value.p, '-', v->checksum_value.n)
               ? "COMPOSITE"
               : "FULL_OBJECT";
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
    if (s3_mpu_parse_part_number(v, part) < 0)
        return s3_mpu_invalid_arg(q, S3_MPU_MSG_PART_NUMBER, "partNumber", v.p ? v : STR_LIT(""));
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
