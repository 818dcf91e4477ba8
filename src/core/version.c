/* version.c -- finding the version a request names and opening its data,
 * multipart versions through an extent list loaded at open. */
#include "common.h"
#include "core/version.h"
#include "store/blob.h"
#include "util/log.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define READ_BATCH 256 /* extents a reader loads at a time */

bool
version_id_valid(struct str vid)
{
    int64_t seq;

    return md_vid_parse(vid, &seq) == 0;
}

enum core_err
version_get(struct md_conn *c, int64_t bucket_id, struct str key, struct str vid,
            struct arena *a, struct md_version *v)
{
    int rc;

    *v = (struct md_version){0};
    if (vid.p != NULL && !version_id_valid(vid))
        return CORE_E_NO_SUCH_VERSION;
    rc = md_version_get(c, bucket_id, key, vid, a, v);
    if (rc == -ENOENT) {
        *v = (struct md_version){0};
        return vid.p != NULL ? CORE_E_NO_SUCH_VERSION : CORE_E_NO_SUCH_KEY;
    }
    if (rc < 0)
        return CORE_E_INTERNAL;
    /* AWS: a current delete marker hides the key [spec-mfa-delete §4.5]. */
    if (v->is_delete_marker && vid.p == NULL)
        return CORE_E_NO_SUCH_KEY;
    return CORE_E_OK;
}

/* ---- multipart versions -------------------------------------------------- */

/* One extent, as much of md_part as reading needs: a 10,000-part version
 * costs about 560 KiB. */
struct extent {
    int64_t first_byte, size;
    char blob_id[BLOB_ID_LEN + 1];
};

struct version_reader {
    struct md *md;
    struct blob_reader *rd; /* borrowed: the caller's lease */
    int64_t seq, size;
    struct extent *ext; /* every extent, ascending by part number (and offset) */
    size_t n;
};

/* Loads every extent of the version at open: the rows go with the version
 * when it is deleted, while its blobs stay for as long as the lease does
 * (store/trash.h), so a reader must not need the rows later. */
static int
load_extents(struct version_reader *r, int parts_count)
{
    struct md_conn *c = md_reader(r->md);
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
reader_find(const struct version_reader *r, int64_t off)
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
version_reader_open(struct md *md, struct blob_reader *rd, const struct md_version *v,
                    struct version_reader **out)
{
    struct version_reader *r = xcalloc(1, sizeof(*r));
    int rc;

    r->md = md;
    r->rd = rd;
    r->seq = v->seq;
    r->size = v->size;
    rc = load_extents(r, v->parts_count);
    if (rc == 0 && r->n == 0)
        rc = -ENOENT;
    /* The first part's blob, opened now: a version deleted and reaped
     * before this reader's lease began shows here, before any header
     * (RADOS trusts the metadata: there it shows at the first read). */
    if (rc == 0 && v->size > 0) {
        ssize_t i = reader_find(r, 0);
        rc = i < 0 ? (int)i
                   : blob_read_expect(rd, str_make(r->ext[i].blob_id, BLOB_ID_LEN),
                                      r->ext[i].size);
    }
    if (rc < 0) {
        version_reader_close(r);
        return rc == -ENOENT ? -ENOENT : -EIO;
    }
    *out = r;
    return 0;
}

ssize_t
version_reader_pread(struct version_reader *r, void *p, size_t n, int64_t off)
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
    got = blob_read_expect(r->rd, str_make(e->blob_id, BLOB_ID_LEN), e->size);
    if (got == 0)
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

void
version_reader_close(struct version_reader *r)
{
    if (r == NULL)
        return;
    free(r->ext);
    free(r);
}

/* ---- opening a version's data ------------------------------------------- */

enum core_err
version_open(struct md *md, struct blob_reader *rd, int64_t bucket_id, struct str key,
             struct str vid, bool rows_only, struct arena *a, struct md_version *v,
             struct version_reader **mpu, bool *has_blob)
{
    struct md_conn *c = md_reader(md);
    enum core_err err;
    int rc = -ENOENT;

    *mpu = NULL;
    *has_blob = false;
    for (int attempt = 0; attempt < 3 && rc == -ENOENT; attempt++) {
        err = version_get(c, bucket_id, key, vid, a, v);
        md_snapshot_end(c);
        if (err != CORE_E_OK)
            return err;
        if (rows_only && (v->parts_count > 0 || v->blob_id.n > 0))
            return CORE_E_OK;
        if (v->parts_count > 0)
            rc = version_reader_open(md, rd, v, mpu);
        else if (v->blob_id.n > 0)
            rc = blob_read_expect(rd, v->blob_id, v->size);
        else
            rc = 0;
    }
    if (rc < 0)
        return CORE_E_INTERNAL;
    *has_blob = v->parts_count == 0 && v->blob_id.n > 0;
    return CORE_E_OK;
}
