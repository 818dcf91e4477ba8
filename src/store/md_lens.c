/* md_lens.c -- the lens_configs rows (md_lens.h): S3 Storage Lens
 * configurations and their tags. What a configuration says, and every
 * rule about it, is s3/s3_lens_model.c's and s3/s3_lens.c's. */
#include "common.h"
#include "store/md_lens.h"
#include "store/md_int.h"

#include <errno.h>
#include <string.h>

/* A LENSCOLS row. */
static void
row(struct stmt *s, struct arena *a, struct md_lens *out)
{
    out->account_id = col_i64(s, 0);
    out->id = col_str(s, 1, a, false);
    out->is_enabled = col_int(s, 2) != 0;
    out->config = col_str(s, 3, a, false);
    out->tags = col_str(s, 4, a, true);
    out->created_ms = col_i64(s, 5);
    out->updated_ms = col_i64(s, 6);
}

int
md_lens_get(struct md_conn *c, int64_t account_id, struct str id, struct arena *a,
            struct md_lens *out)
{
    struct stmt *s = get(c, ST_LENS_GET);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, account_id) | bind_str(s, 2, id))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0)
        row(s, a, out);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

int
md_lens_put(struct md_conn *c, const struct md_lens *l, bool set_tags)
{
    struct stmt *s = get(c, ST_LENS_PUT);

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, l->account_id) | bind_str(s, 2, l->id) | bind_i64(s, 3, l->is_enabled) |
        bind_str(s, 4, l->config) | (l->tags.p ? bind_str(s, 5, l->tags) : bind_null(s, 5)) |
        bind_i64(s, 6, l->created_ms) | bind_i64(s, 7, set_tags))
        return bind_fail(c, s);
    return exec(c, s);
}

int
md_lens_add(struct md_conn *c, const struct md_lens *l)
{
    struct stmt *s = get(c, ST_LENS_ADD);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, l->account_id) | bind_str(s, 2, l->id) | bind_i64(s, 3, l->is_enabled) |
        bind_str(s, 4, l->config) | bind_i64(s, 5, l->created_ms))
        return bind_fail(c, s);
    rc = exec(c, s);
    return rc < 0 ? rc : changes(c) > 0 ? 1 : 0;
}

int
md_lens_delete(struct md_conn *c, int64_t account_id, struct str id)
{
    struct stmt *s = get(c, ST_LENS_DELETE);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, account_id) | bind_str(s, 2, id))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0 && changes(c) == 0)
        rc = -ENOENT;
    return rc;
}

int
md_lens_count(struct md_conn *c, int64_t account_id)
{
    struct stmt *s = get(c, ST_LENS_COUNT);
    int rc;
    int64_t n = 0;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, account_id))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0)
        n = col_i64(s, 0);
    if (rc >= 0)
        done(s);
    if (rc < 0)
        return rc;
    return n > 0x7fffffff ? 0x7fffffff : (int)n;
}

int
md_lens_list(struct md_conn *c, int64_t account_id, struct str after, size_t limit,
             struct arena *a, struct md_lens **out, size_t *n)
{
    struct stmt *s = get(c, ST_LENS_LIST);
    struct md_lens *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, account_id) | bind_str(s, 2, after.p ? after : STR_LIT("")) |
        bind_i64(s, 3, limit_i64(limit)))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        row(s, a, &arr[(*n)++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_lens_set_tags(struct md_conn *c, int64_t account_id, struct str id, struct str tags,
                 int64_t now_ms)
{
    struct stmt *s = get(c, ST_LENS_TAGS);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, account_id) | bind_str(s, 2, id) |
        (tags.p ? bind_str(s, 3, tags) : bind_null(s, 3)) | bind_i64(s, 4, now_ms))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0 && changes(c) == 0)
        rc = -ENOENT;
    return rc;
}
