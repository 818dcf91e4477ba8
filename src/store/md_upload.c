/* md_upload.c -- multipart uploads in the metadata store: uploads and their
 * parts, the extents of multipart versions, and the blob trash that every
 * transaction dropping a blob's last reference fills (md_trash_take()). */
#include "common.h"
#include "store/md.h"
#include "store/md_int.h"

#include <errno.h>
#include <string.h>

/* ---- multipart uploads -------------------------------------------------- */

static void
row_upload(struct stmt *s, struct arena *a, struct md_upload *u)
{
    u->id = col_i64(s, 0);
    u->upload_id = col_str(s, 1, a, false);
    u->bucket_id = col_i64(s, 2);
    u->key = col_str(s, 3, a, false);
    u->initiated_ms = col_i64(s, 4);
    u->owner_id = col_i64(s, 5);
    u->content_type = col_str(s, 6, a, false);
    u->meta = col_str(s, 7, a, false);
    u->checksum_algo = col_str(s, 8, a, false);
    u->checksum_type = col_str(s, 9, a, false);
    u->object_owner = col_i64(s, 10);
    u->acl = col_str(s, 11, a, true);
    u->tags = col_str(s, 12, a, true);
    u->storage_class = col_str(s, 13, a, true);
}

/* PCOLS and VPCOLS share this column order. */
static void
row_part(struct stmt *s, struct arena *a, struct md_part *p)
{
    p->part_number = col_int(s, 0);
    p->first_byte = col_i64(s, 1);
    p->size = col_i64(s, 2);
    p->mtime_ms = col_i64(s, 3);
    p->blob_id = col_str(s, 4, a, false);
    p->etag = col_str(s, 5, a, false);
    p->checksum = col_str(s, 6, a, false);
}

int
md_upload_create(struct md_conn *c, struct md_upload *u)
{
    struct stmt *s = get(c, ST_UP_INSERT);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (u->upload_id.n == 0 || u->upload_id.n > MD_UPLOAD_ID_MAX)
        return -EINVAL;
    if (bind_str(s, 1, u->upload_id) | bind_i64(s, 2, u->bucket_id) | bind_str(s, 3, u->key) |
        bind_i64(s, 4, u->initiated_ms) | bind_i64(s, 5, u->owner_id) |
        bind_str(s, 6, u->content_type) | bind_str(s, 7, u->meta) |
        bind_str(s, 8, u->checksum_algo) | bind_str(s, 9, u->checksum_type) |
        bind_i64(s, 10, u->object_owner) | bind_opt(s, 11, u->acl) |
        bind_opt(s, 12, u->tags) | bind_opt(s, 13, u->storage_class))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0)
        u->id = last_id(c);
    return rc;
}

int
md_upload_get(struct md_conn *c, struct str upload_id, struct arena *a, struct md_upload *out)
{
    struct stmt *s = get(c, ST_UP_GET);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_str(s, 1, upload_id))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0)
        row_upload(s, a, out);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

struct up_list {
    struct arena *a;
    struct md_upload *arr;
    size_t n, cap, limit;
};

/* Appends the rows of s (parameters bound, ?4 still open: the remaining
 * limit) to l. */
static int
up_list_run(struct md_conn *c, struct stmt *s, struct up_list *l)
{
    int rc;

    if (bind_i64(s, 4, limit_i64(l->limit - l->n)))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        l->arr = grow(l->a, l->arr, l->n, &l->cap, sizeof(*l->arr));
        row_upload(s, l->a, &l->arr[l->n++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    return 0;
}

int
md_upload_list(struct md_conn *c, int64_t bucket_id, struct str prefix, struct str after_key,
               bool after_key_inclusive, int64_t after_id, size_t limit, struct arena *a,
               struct md_upload **out, size_t *n)
{
    struct up_list l = {.a = a, .limit = limit};
    struct str pfx = prefix.p ? prefix : STR_LIT("");
    struct str hi = md_successor(pfx, a), lo;
    struct stmt *s;
    bool strict;
    int rc;

    *out = NULL;
    *n = 0;
    if (limit == 0)
        return 0;
    lo = md_lower_bound(pfx, after_key, after_key_inclusive, &strict);
    /* First the newer uploads of after_key itself, when the marker names
     * one of them. */
    if (after_key.p && !after_key_inclusive && after_id > 0 && after_key.n >= pfx.n &&
        memcmp(after_key.p, pfx.p, pfx.n) == 0) {
        s = get(c, ST_UL_KEY);
        if (s == NULL)
            return get_fail(c);
        if (bind_i64(s, 1, bucket_id) | bind_str(s, 2, after_key) | bind_i64(s, 3, after_id))
            return bind_fail(c, s);
        rc = up_list_run(c, s, &l);
        if (rc < 0)
            return rc;
    }
    if (l.n < limit) {
        if (hi.p)
            s = get(c, strict ? ST_UL_GT_HI : ST_UL_GE_HI);
        else
            s = get(c, strict ? ST_UL_GT : ST_UL_GE);
        if (s == NULL)
            return get_fail(c);
        if (bind_i64(s, 1, bucket_id) | bind_str(s, 2, lo) | (hi.p ? bind_str(s, 3, hi) : 0))
            return bind_fail(c, s);
        rc = up_list_run(c, s, &l);
        if (rc < 0)
            return rc;
    }
    *out = l.arr;
    *n = l.n;
    return 0;
}

int
md_upload_list_all(struct md_conn *c, int64_t after_id, size_t limit, struct arena *a,
                   struct md_upload **out, size_t *n)
{
    struct stmt *s = get(c, ST_UP_LIST_ALL);
    struct md_upload *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, after_id) | bind_i64(s, 2, limit_i64(limit)))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        row_upload(s, a, &arr[(*n)++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_upload_delete(struct md_conn *c, int64_t id)
{
    /* Trash first, while the part rows still name the blobs; a part that a
     * completion just moved to version_parts stays live. */
    int rc = change_i64(c, ST_UP_TRASH, id);

    if (rc == 0 || rc == -ENOENT)
        rc = change_i64(c, ST_UP_DEL_PARTS, id);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    return change_i64(c, ST_UP_DELETE, id);
}

int
md_upload_done_add(struct md_conn *c, struct str upload_id, int64_t bucket_id, int64_t seq,
                   int64_t now_ms)
{
    struct stmt *s;
    int rc = change_i64(c, ST_UPD_PRUNE, now_ms - MD_UPLOAD_DONE_KEEP_MS);

    if (rc < 0 && rc != -ENOENT)
        return rc;
    s = get(c, ST_UPD_INSERT);
    if (s == NULL)
        return get_fail(c);
    if (bind_str(s, 1, upload_id) | bind_i64(s, 2, bucket_id) | bind_i64(s, 3, seq) |
        bind_i64(s, 4, now_ms))
        return bind_fail(c, s);
    return exec(c, s);
}

int
md_upload_done_get(struct md_conn *c, struct str upload_id, int64_t *bucket_id, int64_t *seq)
{
    struct stmt *s = get(c, ST_UPD_GET);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_str(s, 1, upload_id))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0) {
        *bucket_id = col_i64(s, 0);
        *seq = col_i64(s, 1);
    }
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

int
md_part_put(struct md_conn *c, int64_t upload, const struct md_part *p)
{
    struct stmt *s;
    int rc = change_i64_2(c, ST_PART_TRASH, upload, p->part_number);

    if (rc < 0 && rc != -ENOENT)
        return rc;
    s = get(c, ST_PART_PUT);
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, upload) | bind_i64(s, 2, p->part_number) | bind_i64(s, 3, p->size) |
        bind_i64(s, 4, p->mtime_ms) | bind_str(s, 5, p->blob_id) | bind_str(s, 6, p->etag) |
        bind_str(s, 7, p->checksum))
        return bind_fail(c, s);
    /* A vanished upload fails the foreign key: -ENOENT. */
    return exec(c, s);
}

/* Runs a part listing statement: ?1 owner (upload or seq), ?2 after_part,
 * ?3 limit. */
static int
part_list(struct md_conn *c, enum st id, int64_t owner, int after_part, size_t limit,
          struct arena *a, struct md_part **out, size_t *n)
{
    struct stmt *s = get(c, id);
    struct md_part *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, owner) | bind_i64(s, 2, after_part) | bind_i64(s, 3, limit_i64(limit)))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        row_part(s, a, &arr[(*n)++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_part_list(struct md_conn *c, int64_t upload, int after_part, size_t limit, struct arena *a,
             struct md_part **out, size_t *n)
{
    return part_list(c, ST_PART_LIST, upload, after_part, limit, a, out, n);
}

int
md_version_part_add(struct md_conn *c, int64_t seq, const struct md_part *p)
{
    struct stmt *s = get(c, ST_VP_INSERT);

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, seq) | bind_i64(s, 2, p->part_number) | bind_i64(s, 3, p->first_byte) |
        bind_i64(s, 4, p->size) | bind_i64(s, 5, p->mtime_ms) | bind_str(s, 6, p->blob_id) |
        bind_str(s, 7, p->etag) | bind_str(s, 8, p->checksum))
        return bind_fail(c, s);
    return exec(c, s);
}

/* One extent by a (seq, int64) lookup statement. */
static int
part_one(struct md_conn *c, enum st id, int64_t seq, int64_t v, struct arena *a,
         struct md_part *out)
{
    struct stmt *s = get(c, id);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, seq) | bind_i64(s, 2, v))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0)
        row_part(s, a, out);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

int
md_version_part_get(struct md_conn *c, int64_t seq, int part_number, struct arena *a,
                    struct md_part *out)
{
    return part_one(c, ST_VP_GET, seq, part_number, a, out);
}

int
md_version_part_at(struct md_conn *c, int64_t seq, int64_t off, struct arena *a,
                   struct md_part *out)
{
    return part_one(c, ST_VP_AT, seq, off, a, out);
}

int
md_version_part_list(struct md_conn *c, int64_t seq, int after_part, size_t limit, struct arena *a,
                     struct md_part **out, size_t *n)
{
    return part_list(c, ST_VP_LIST, seq, after_part, limit, a, out, n);
}

int
md_trash_add(struct md_conn *c, struct str blob_id)
{
    struct stmt *s = get(c, ST_TRASH_ADD);

    if (s == NULL)
        return get_fail(c);
    if (bind_str(s, 1, blob_id))
        return bind_fail(c, s);
    return exec_nowait(c, s); /* only its failure matters */
}

int
md_trash_take(struct md_conn *c, size_t limit, int64_t before_ms, struct arena *a,
              struct str **ids, size_t *n)
{
    struct stmt *s = get(c, ST_TRASH_LIST);
    struct str *arr = NULL;
    int64_t *rows = NULL;
    size_t cap = 0, rcap = 0;
    int rc;

    *ids = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, limit_i64(limit)) | bind_i64(s, 2, before_ms))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        rows = grow(a, rows, *n, &rcap, sizeof(*rows));
        rows[*n] = col_i64(s, 0);
        arr[(*n)++] = col_str(s, 1, a, false);
    }
    if (rc < 0)
        return rc;
    done(s);
    /* By row id: rows still in their grace period may sit between them. */
    for (size_t i = 0; i < *n; i++) {
        rc = change_i64(c, ST_TRASH_DEL, rows[i]);
        if (rc < 0)
            return rc;
    }
    *ids = arr;
    return 0;
}

int
md_trash_pending(struct md_conn *c, int64_t before_ms)
{
    struct stmt *s = get(c, ST_TRASH_DUE);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, before_ms))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc >= 0)
        done(s);
    return rc;
}
