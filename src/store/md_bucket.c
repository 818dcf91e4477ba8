/* md_bucket.c -- buckets, version ids and object versions in the metadata
 * store: the rows, the is_latest bookkeeping, the version counter, and the
 * listings (always index range scans). S3 semantics (which version to
 * delete, delete markers, versioning states) belong to core/, not here. */
#include "common.h"
#include "store/md.h"
#include "crypto/hash.h"
#include "store/md_int.h"
#include "util/enc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>


/* ---- buckets ------------------------------------------------------------ */

int
md_bucket_create(struct md_conn *c, struct str name, int64_t account_id, struct str region,
                 int64_t now_ms, int64_t *id)
{
    struct stmt *s = get(c, ST_BKT_INSERT);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_str(s, 1, name) | bind_i64(s, 2, account_id) | bind_str(s, 3, region) |
        bind_i64(s, 4, now_ms))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0)
        *id = last_id(c);
    return rc;
}

static void
row_bucket(struct stmt *s, struct arena *a, struct md_bucket *out)
{
    out->id = col_i64(s, 0);
    out->name = col_str(s, 1, a, false);
    out->account_id = col_i64(s, 2);
    out->region = col_str(s, 3, a, false);
    out->created_ms = col_i64(s, 4);
    out->versioning = (enum md_versioning)col_int(s, 5);
    out->mfa_delete = (enum md_mfa)col_int(s, 6);
    out->lifecycle = col_str(s, 7, a, true);
    out->policy = col_str(s, 8, a, true);
    out->ownership = (enum md_ownership)col_int(s, 9);
    out->pab = md_pab_from_bits(col_i64(s, 10));
    out->acl = col_str(s, 11, a, true);
    out->tags = col_str(s, 12, a, true);
    out->cors = col_str(s, 13, a, true);
}

int
md_bucket_get(struct md_conn *c, struct str name, struct arena *a, struct md_bucket *out)
{
    struct stmt *s = get(c, ST_BKT_GET);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_str(s, 1, name))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0)
        row_bucket(s, a, out);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

int
md_bucket_list(struct md_conn *c, int64_t account_id, struct arena *a, struct md_bucket **out,
               size_t *n)
{
    struct stmt *s = get(c, account_id ? ST_BKT_LIST_ACCT : ST_BKT_LIST_ALL);
    struct md_bucket *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (account_id && bind_i64(s, 1, account_id))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        row_bucket(s, a, &arr[(*n)++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_bucket_delete(struct md_conn *c, int64_t bucket_id)
{
    static const enum st uploads[] = {ST_UP_TRASH_BKT, ST_UP_DEL_PARTS_BKT, ST_UP_DEL_BKT};
    int rc = exists(c, ST_BKT_HAS_VERSIONS, bucket_id);

    if (rc != 0)
        return rc > 0 ? -ENOTEMPTY : rc;
    /* A new bucket of the same name must not meet cached policies. */
    rc = md_policy_gen_bump(c);
    if (rc < 0)
        return rc;
    /* Trash first, while the part rows still name the blobs. */
    for (size_t i = 0; i < ARRAY_LEN(uploads); i++) {
        rc = change_i64(c, uploads[i], bucket_id);
        if (rc < 0 && rc != -ENOENT)
            return rc;
    }
    return change_i64(c, ST_BKT_DELETE, bucket_id);
}

int
md_bucket_set_versioning(struct md_conn *c, int64_t bucket_id, enum md_versioning v,
                         enum md_mfa mfa)
{
    struct stmt *s = get(c, ST_BKT_SET_VER);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, bucket_id) | bind_i64(s, 2, v) | bind_i64(s, 3, mfa))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0 && changes(c) == 0)
        rc = -ENOENT;
    return rc;
}

int
md_bucket_set_lifecycle(struct md_conn *c, int64_t bucket_id, struct str xml)
{
    struct stmt *s = get(c, ST_BKT_SET_LC);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, bucket_id) | (xml.p ? bind_str(s, 2, xml) : bind_null(s, 2)))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0 && changes(c) == 0)
        rc = -ENOENT;
    return rc;
}

/* ---- version ids -------------------------------------------------------- */

/* 24 bytes (8-byte big-endian seq || 16 random) as 32 characters, 6 bits
 * each, most significant first. The random part makes ids unguessable; the
 * seq makes md_vid_parse() cheap and ids unique forever. */
int
md_vid_make(int64_t seq, char out[MD_VID_LEN + 1])
{
    unsigned char raw[24];

    for (int i = 0; i < 8; i++)
        raw[i] = (unsigned char)((uint64_t)seq >> (56 - 8 * i));
    if (rand_bytes(raw + 8, 16) < 0)
        return -EIO;
    id64_encode(raw, sizeof(raw), out);
    return 0;
}

int
md_vid_parse(struct str vid, int64_t *seq)
{
    uint64_t v = 0;

    if (str_eq_c(vid, "null")) {
        *seq = 0;
        return 0;
    }
    if (vid.p == NULL || vid.n != MD_VID_LEN)
        return -EINVAL;
    /* The first 8 bytes are the first 64 bits: 10 digits and the top 4 bits
     * of the 11th; the rest only has to be in the alphabet. */
    for (size_t i = 0; i < MD_VID_LEN; i++) {
        int d = id64_digit((unsigned char)vid.p[i]);

        if (d < 0)
            return -EINVAL;
        if (i < 10)
            v = v << 6 | (uint64_t)d;
        else if (i == 10)
            v = v << 4 | (uint64_t)d >> 2;
    }
    if (v == 0 || v > INT64_MAX)
        return -EINVAL;
    *seq = (int64_t)v;
    return 0;
}

/* ---- object versions ---------------------------------------------------- */

static void
row_version(struct stmt *s, struct arena *a, struct md_version *v, bool with_inline)
{
    v->seq = col_i64(s, 0);
    v->bucket_id = col_i64(s, 1);
    v->key = col_str(s, 2, a, false);
    v->version_id = col_str(s, 3, a, false);
    v->is_latest = col_int(s, 4) != 0;
    v->is_delete_marker = col_int(s, 5) != 0;
    v->size = col_i64(s, 6);
    v->mtime_ms = col_i64(s, 7);
    v->owner_id = col_i64(s, 8);
    v->etag = col_str(s, 9, a, false);
    v->content_type = col_str(s, 10, a, false);
    v->meta = col_str(s, 11, a, false);
    v->checksum_algo = col_str(s, 12, a, false);
    v->checksum_value = col_str(s, 13, a, false);
    v->blob_id = col_str(s, 14, a, false);
    v->parts_count = col_int(s, 15);
    v->storage_class = col_str(s, 16, a, true);
    v->inline_data = with_inline ? col_blob(s, 17, a) : STR_NULL;
    v->acl = with_inline ? col_str(s, 18, a, true) : STR_NULL;
    v->tags = with_inline ? col_str(s, 19, a, true) : STR_NULL;
}

int
md_version_get(struct md_conn *c, int64_t bucket_id, struct str key, struct str version_id,
               struct arena *a, struct md_version *out)
{
    struct stmt *s = get(c, version_id.p ? ST_V_GET_VID : ST_V_GET_LATEST);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, bucket_id) | bind_str(s, 2, key) |
        (version_id.p ? bind_str(s, 3, version_id) : 0))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0)
        row_version(s, a, out, true);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

void
md_version_prefetch(struct md_conn *c, int64_t bucket_id, struct str key, struct str version_id)
{
    if (c != NULL && c->md->be->version_prefetch != NULL && (c->in_snapshot || c == c->md->wconn))
        c->md->be->version_prefetch(c, bucket_id, key, version_id);
}

void
md_version_prefetch_named(struct md_conn *c, struct str bucket, struct str key,
                          struct str version_id)
{
    int64_t id;

    if (c == NULL || !c->in_snapshot || c->md->be->kept_bucket_id == NULL)
        return;
    id = c->md->be->kept_bucket_id(c, bucket);
    if (id > 0)
        md_version_prefetch(c, id, key, version_id);
}

int
md_version_get_seq(struct md_conn *c, int64_t seq, struct arena *a, struct md_version *out)
{
    struct stmt *s = get(c, ST_V_GET_SEQ);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, seq))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0)
        row_version(s, a, out, true);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

/* The next version seq: from the transaction's reservation, else from the
 * counter row, bumped in this transaction by the backend's seq_block. It
 * only grows, so no seq is handed out twice, and unlike max(seq) it needs
 * no single writer; the row stays locked until the commit, so another
 * gateway's transaction reserves after this one's seqs are all in place
 * (per-key order). Seqs reserved and not used are gaps, harmless. */
static int
next_seq(struct md_conn *c, int64_t *seq)
{
    int block = c->md->be->seq_block;
    struct stmt *s;
    int64_t last;
    int rc;

    if (c->seq_next > 0 && c->seq_next <= c->seq_last) {
        *seq = c->seq_next++;
        return 0;
    }
    s = get(c, ST_V_NEXT_SEQ);
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, block))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc == 0) {
        done(s);
        snprintf(c->err, sizeof(c->err), "the version counter row is missing");
        return -EIO;
    }
    if (rc < 0)
        return rc;
    last = col_i64(s, 0);
    rc = exec(c, s); /* runs the statement to its end */
    if (rc < 0)
        return rc;
    *seq = last - block + 1;
    c->seq_next = *seq + 1;
    c->seq_last = last;
    return 0;
}

int
md_version_insert(struct md_conn *c, struct md_version *v, struct arena *a)
{
    struct stmt *s;
    struct str vid = v->version_id;
    char gen[MD_VID_LEN + 1];
    int64_t seq = 0;
    int rc;

    rc = next_seq(c, &seq);
    if (rc < 0)
        return rc;
    if (vid.p == NULL) {
        ASSERT(a != NULL);
        rc = md_vid_make(seq, gen);
        if (rc < 0)
            return rc;
        vid = str_make(gen, MD_VID_LEN);
    }
    s = get(c, ST_V_INSERT);
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, seq) | bind_i64(s, 2, v->bucket_id) | bind_str(s, 3, v->key) |
        bind_str(s, 4, vid) | bind_i64(s, 5, v->is_delete_marker) | bind_i64(s, 6, v->size) |
        bind_i64(s, 7, v->mtime_ms) | bind_i64(s, 8, v->owner_id) | bind_str(s, 9, v->etag) |
        bind_str(s, 10, v->content_type) | bind_str(s, 11, v->meta) |
        bind_str(s, 12, v->checksum_algo) | bind_str(s, 13, v->checksum_value) |
        bind_opt(s, 14, v->blob_id) |
        (v->inline_data.p ? bind_blob(s, 15, v->inline_data) : bind_null(s, 15)) |
        bind_i64(s, 16, v->parts_count) | bind_opt(s, 17, v->storage_class) |
        bind_opt(s, 18, v->tags))
        return bind_fail(c, s);
    /* Insert first, then demote the previous newest: a duplicate version id
     * then fails before anything changed. Not waited for on PostgreSQL: the
     * caller knows the id is not taken in its transaction (md.h), and a
     * conflict with another one fails the group, which runs again. */
    rc = exec_nowait(c, s);
    if (rc < 0)
        return rc;
    /* The demoted row became noncurrent when this one was made: lifecycle's
     * NoncurrentDays count from here [spec-lifecycle A3.1]. */
    s = get(c, ST_V_UNLATEST);
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, v->bucket_id) | bind_str(s, 2, v->key) | bind_i64(s, 3, seq) |
        bind_i64(s, 4, v->mtime_ms))
        return bind_fail(c, s);
    rc = exec_nowait(c, s); /* only its failure matters */
    if (rc < 0)
        return rc;
    v->seq = seq;
    v->is_latest = true;
    if (v->version_id.p == NULL)
        v->version_id = arena_str(a, vid);
    return 0;
}

/* md_version_delete()'s steps: latest and parts say what the row may be
 * (true when not known). */
static int
version_delete(struct md_conn *c, int64_t seq, bool latest, bool parts)
{
    struct stmt *s;
    int rc;

    /* Promote the next newest first, while the row still says which key it
     * belongs to and whether it is the latest; both steps are one savepoint
     * for the caller. */
    if (latest) {
        rc = change_i64(c, ST_V_PROMOTE, seq);
        if (rc < 0 && rc != -ENOENT)
            return rc;
    }
    /* A multipart version's extents: their blobs to the trash, then the
     * rows (the foreign key would refuse the version's deletion first). */
    if (parts) {
        rc = change_i64(c, ST_VP_TRASH, seq);
        if (rc == 0)
            rc = change_i64(c, ST_VP_DELETE, seq);
        if (rc < 0 && rc != -ENOENT)
            return rc;
    }
    if (latest && parts) /* nothing known: -ENOENT if there is no such row */
        return change_i64(c, ST_V_DELETE, seq);
    s = get(c, ST_V_DELETE);
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, seq))
        return bind_fail(c, s);
    return exec_nowait(c, s); /* the row is there: read in this transaction */
}

int
md_version_delete(struct md_conn *c, int64_t seq)
{
    return version_delete(c, seq, true, true);
}

int
md_version_drop(struct md_conn *c, const struct md_version *v, bool alone)
{
    return version_delete(c, v->seq, v->is_latest && !alone, v->parts_count > 0);
}

/* str_successor() in the arena; STR_NULL when none exists: then there is
 * no upper bound. */
struct str
md_successor(struct str prefix, struct arena *a)
{
    char *p = arena_alloc(a, prefix.n + 1);
    size_t n = str_successor(prefix, p);

    return n == 0 ? STR_NULL : str_make(p, n);
}

struct list {
    struct arena *a;
    struct md_version *arr;
    size_t n, cap, limit;
};

/* Binds ?1 bucket, ?2 lower bound, ?3 upper bound (if the statement has
 * it) and ?4 the remaining limit, then appends the rows to l. */
static int
list_run(struct md_conn *c, struct stmt *s, struct list *l, int64_t bucket_id, struct str lo,
         struct str hi, int64_t seq)
{
    size_t left = l->limit - l->n;
    int rc;

    if (bind_i64(s, 1, bucket_id) | bind_str(s, 2, lo) |
        (hi.p  ? bind_str(s, 3, hi)
         : seq ? bind_i64(s, 3, seq)
               : 0) |
        bind_i64(s, 4, left > INT64_MAX ? INT64_MAX : (int64_t)left))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        l->arr = grow(l->a, l->arr, l->n, &l->cap, sizeof(*l->arr));
        row_version(s, l->a, &l->arr[l->n++], false);
    }
    if (rc < 0)
        return rc;
    done(s);
    return 0;
}

/* Lower bound of a listing: prefix (inclusive) unless after is at or past
 * it. Returns the bound and sets *strict for "key > bound". */
struct str
md_lower_bound(struct str prefix, struct str after, bool inclusive, bool *strict)
{
    *strict = false;
    if (after.p == NULL || str_cmp(after, prefix) < 0)
        return prefix;
    *strict = !inclusive;
    return after;
}

int
md_list_objects(struct md_conn *c, int64_t bucket_id, struct str prefix, struct str after,
                bool inclusive, size_t limit, struct arena *a, struct md_version **out, size_t *n)
{
    struct list l = {.a = a, .limit = limit};
    struct str pfx = prefix.p ? prefix : STR_LIT("");
    struct str hi = md_successor(pfx, a), lo;
    struct stmt *s;
    bool strict;
    int rc = 0;

    *out = NULL;
    *n = 0;
    if (limit == 0)
        return 0;
    lo = md_lower_bound(pfx, after, inclusive, &strict);
    if (hi.p)
        s = get(c, strict ? ST_LO_GT_HI : ST_LO_GE_HI);
    else
        s = get(c, strict ? ST_LO_GT : ST_LO_GE);
    if (s == NULL)
        return get_fail(c);
    rc = list_run(c, s, &l, bucket_id, lo, hi, 0);
    if (rc < 0)
        return rc;
    *out = l.arr;
    *n = l.n;
    return 0;
}

int
md_list_versions(struct md_conn *c, int64_t bucket_id, struct str prefix, struct str after_key,
                 bool after_key_inclusive, int64_t after_seq, size_t limit, struct arena *a,
                 struct md_version **out, size_t *n)
{
    struct list l = {.a = a, .limit = limit};
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
    /* First the older versions of after_key itself, when the marker points
     * into the middle of its version list. */
    if (after_key.p && !after_key_inclusive && after_seq > 0 && after_key.n >= pfx.n &&
        memcmp(after_key.p, pfx.p, pfx.n) == 0) {
        s = get(c, ST_LV_KEY);
        if (s == NULL)
            return get_fail(c);
        rc = list_run(c, s, &l, bucket_id, after_key, STR_NULL, after_seq);
        if (rc < 0)
            return rc;
    }
    if (l.n < limit) {
        if (hi.p)
            s = get(c, strict ? ST_LV_GT_HI : ST_LV_GE_HI);
        else
            s = get(c, strict ? ST_LV_GT : ST_LV_GE);
        if (s == NULL)
            return get_fail(c);
        rc = list_run(c, s, &l, bucket_id, lo, hi, 0);
        if (rc < 0)
            return rc;
    }
    *out = l.arr;
    *n = l.n;
    return 0;
}

int
md_blob_referenced(struct md_conn *c, struct str blob_id)
{
    static const enum st refs[] = {ST_BLOB_REF, ST_BLOB_REF_UP, ST_BLOB_REF_VP};
    int rc = 0;

    for (size_t i = 0; i < ARRAY_LEN(refs) && rc == 0; i++) {
        struct stmt *s = get(c, refs[i]);

        if (s == NULL)
            return get_fail(c);
        if (bind_str(s, 1, blob_id))
            return bind_fail(c, s);
        rc = step(c, s);
        if (rc >= 0)
            done(s);
    }
    return rc;
}

int
md_bucket_count_versions(struct md_conn *c, int64_t bucket_id, int64_t *n)
{
    struct stmt *s = get(c, ST_V_COUNT);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, bucket_id))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc < 0)
        return rc;
    *n = rc > 0 ? col_i64(s, 0) : 0;
    done(s);
    return 0;
}
