/* s3_mpu.c -- what the multipart files of s3/ share (the upload named by
 * ?uploadId, part numbers, their errors), sending completed multipart
 * versions (read through core/version.h) for GET, and running the reaper. The S3
 * operations are in s3_mpu_upload.c, s3_mpu_complete.c and s3_mpu_list.c:
 * each part stays in its own blob, completing only moves rows. */
#include "common.h"
#include "s3/s3_mpu.h"
#include "core/object_mpu.h"
#include "core/version.h"
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

/* ---- shared by the multipart files -------------------------------------- */

enum s3_err
s3_mpu_no_such_upload(struct s3_req *q, struct str upload_id)
{
    if (upload_id.p != NULL && str_valid_utf8(upload_id))
        s3_err_elems(q, "UploadId", upload_id, NULL, STR_NULL);
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
    enum core_err err = object_mpu_upload(c, b, q->key, id, q->arena, u);

    if (err == CORE_E_NO_SUCH_UPLOAD)
        return s3_mpu_no_such_upload(q, id);
    return err == CORE_E_OK ? S3E_OK : S3E_INTERNAL;
}

const char *
s3_mpu_checksum_type(const struct md_version *v)
{
    return v->checksum_value.p != NULL && memchr(v->checksum_value.p, '-', v->checksum_value.n)
               ? "COMPOSITE"
               : "FULL_OBJECT";
}

/* ---- sending multipart versions ----------------------------------------- */

int
s3_mpu_send(struct s3_req *q, struct version_reader *r, const struct md_version *v, int64_t from,
            int64_t to)
{
    char *chunk = xmalloc(IO_CHUNK);
    int rc = 0;

    while (from <= to) {
        size_t want = to - from + 1 < IO_CHUNK ? (size_t)(to - from + 1) : IO_CHUNK;
        ssize_t got = version_reader_pread(r, chunk, want, from);
        if (got <= 0) {
            rc = got < 0 ? (int)got : -EIO;
            log_error("multipart: reading version %" PRId64 " at %" PRId64 ": %s", v->seq, from,
                      strerror(-rc));
            break;
        }
        rc = http_resp_write(q->http, chunk, (size_t)got);
        if (rc < 0)
            break;
        from += got;
    }
    free(chunk);
    return rc;
}

int
s3_mpu_send_range(struct s3_req *q, struct blob_reader *rd, const struct md_version *v,
                  int64_t from, int64_t to)
{
    struct version_reader *r;
    int rc = version_reader_open(q->srv->md, rd, v, &r);

    if (rc < 0)
        return rc;
    rc = s3_mpu_send(q, r, v, from, to);
    version_reader_close(r);
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

void
s3_reap_versions(struct srv *srv)
{
    if (srv->reclaim_grace_ms == 0)
        s3_mpu_reap(srv);
}
