/* md_lifecycle.c -- what the lifecycle executor needs from the metadata
 * store: the paged scan of a bucket's versions (index range scans of
 * versions_key_seq, like the version listing), the storage-class relabel of
 * a transition, and the executor's per-bucket progress row. Which action is
 * due, and the actions themselves, belong to core/. */
#include "common.h"
#include "store/md.h"
#include "store/md_int.h"

#include <errno.h>
#include <string.h>

struct scan {
    struct arena *a;
    struct md_lc_version *arr;
    size_t n, cap, limit;
    bool with_tags;
};

/* Binds ?1 bucket, ?2 key, ?3 seq (the statements that have them) and ?4
 * the remaining limit, then appends the rows (LCCOLS order, tags last). */
static int
scan_run(struct md_conn *c, struct stmt *s, struct scan *l, int64_t bucket_id, struct str key,
         int64_t seq)
{
    int rc;

    if (bind_i64(s, 1, bucket_id) | (key.p ? bind_str(s, 2, key) : 0) |
        (seq ? bind_i64(s, 3, seq) : 0) | bind_i64(s, 4, limit_i64(l->limit - l->n)))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        struct md_lc_version *v;

        l->arr = grow(l->a, l->arr, l->n, &l->cap, sizeof(*l->arr));
        v = &l->arr[l->n++];
        v->seq = col_i64(s, 0);
        v->key = col_str(s, 1, l->a, false);
        v->version_id = col_str(s, 2, l->a, false);
        v->is_latest = col_int(s, 3) != 0;
        v->is_delete_marker = col_int(s, 4) != 0;
        v->size = col_i64(s, 5);
        v->mtime_ms = col_i64(s, 6);
        v->noncurrent_ms = col_i64(s, 7);
        v->etag = col_str(s, 8, l->a, false);
        v->storage_class = col_str(s, 9, l->a, true);
        v->is_sole_dm = col_int(s, 10) != 0;
        v->tags = l->with_tags ? col_str(s, 11, l->a, true) : STR_NULL;
    }
    if (rc < 0)
        return rc;
    done(s);
    return 0;
}

int
md_lc_scan(struct md_conn *c, int64_t bucket_id, struct str after_key, int64_t after_seq,
           bool with_tags, size_t limit, struct arena *a, struct md_lc_version **out, size_t *n)
{
    struct scan l = {.a = a, .limit = limit, .with_tags = with_tags};
    struct stmt *s;
    int rc;

    *out = NULL;
    *n = 0;
    if (limit == 0)
        return 0;
    if (after_key.p == NULL) {
        s = get(c, with_tags ? ST_LC_SCAN_ALL_T : ST_LC_SCAN_ALL);
        if (s == NULL)
            return get_fail(c);
        rc = scan_run(c, s, &l, bucket_id, STR_NULL, 0);
        if (rc < 0)
            return rc;
        goto out;
    }
    /* The rest of the cursor key's versions first (older = smaller seq),
     * then the keys after it: two range scans, as md_list_versions(). */
    if (after_seq > 0) {
        s = get(c, with_tags ? ST_LC_SCAN_KEY_T : ST_LC_SCAN_KEY);
        if (s == NULL)
            return get_fail(c);
        rc = scan_run(c, s, &l, bucket_id, after_key, after_seq);
        if (rc < 0)
            return rc;
    }
    if (l.n < limit) {
        s = get(c, with_tags ? ST_LC_SCAN_GT_T : ST_LC_SCAN_GT);
        if (s == NULL)
            return get_fail(c);
        rc = scan_run(c, s, &l, bucket_id, after_key, 0);
        if (rc < 0)
            return rc;
    }
out:
    *out = l.arr;
    *n = l.n;
    return 0;
}

int
md_version_set_storage_class(struct md_conn *c, int64_t seq, struct str storage_class)
{
    struct stmt *s = get(c, ST_V_SET_CLASS);
    int rc;

    if (s == NULL)
        return get_fail(c);
    /* Empty is STANDARD, stored as NULL as md_version_insert() does. */
    if (bind_i64(s, 1, seq) | bind_opt(s, 2, storage_class))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0 && changes(c) == 0)
        rc = -ENOENT;
    return rc;
}

int
md_lc_state_get(struct md_conn *c, int64_t bucket_id, struct arena *a, struct md_lc_state *out)
{
    struct stmt *s = get(c, ST_LCS_GET);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, bucket_id))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0) {
        out->bucket_id = col_i64(s, 0);
        out->pass_started_ms = col_i64(s, 1);
        out->phase = (enum md_lc_phase)col_int(s, 2);
        out->cursor_key = col_str(s, 3, a, true);
        out->cursor_seq = col_i64(s, 4);
        out->cursor_noncurrent = col_i64(s, 5);
        out->n_actions = col_i64(s, 6);
        out->updated_ms = col_i64(s, 7);
    }
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

int
md_lc_state_put(struct md_conn *c, const struct md_lc_state *st)
{
    struct stmt *s = get(c, ST_LCS_PUT);

    if (s == NULL)
        return get_fail(c);
    /* cursor_key NULL (not '') marks a phase not yet started: '' is a key
     * the scan could have stopped at. */
    if (bind_i64(s, 1, st->bucket_id) | bind_i64(s, 2, st->pass_started_ms) |
        bind_i64(s, 3, st->phase) |
        (st->cursor_key.p ? bind_str(s, 4, st->cursor_key) : bind_null(s, 4)) |
        bind_i64(s, 5, st->cursor_seq) | bind_i64(s, 6, st->cursor_noncurrent) |
        bind_i64(s, 7, st->n_actions) | bind_i64(s, 8, st->updated_ms))
        return bind_fail(c, s);
    return exec(c, s);
}

int
md_lc_state_clear(struct md_conn *c, int64_t bucket_id)
{
    return change_i64(c, ST_LCS_DELETE, bucket_id);
}

bool
md_lc_state_eq(const struct md_lc_state *a, const struct md_lc_state *b)
{
    return a->bucket_id == b->bucket_id && a->pass_started_ms == b->pass_started_ms &&
           a->phase == b->phase && (a->cursor_key.p == NULL) == (b->cursor_key.p == NULL) &&
           str_eq(a->cursor_key, b->cursor_key) && a->cursor_seq == b->cursor_seq &&
           a->cursor_noncurrent == b->cursor_noncurrent && a->n_actions == b->n_actions &&
           a->updated_ms == b->updated_ms;
}
