/* md_audit.c -- the append-only audit log: one row per security event, never
 * updated or deleted (the schema's triggers refuse it from anything else
 * that opens the database). */
#include "common.h"
#include "store/md.h"
#include "store/md_int.h"

#include <errno.h>


/* Binds v as TEXT, NULL when absent; cut at AUDIT_FIELD_MAX bytes. */
static int
bind_audit(struct stmt *s, int i, struct str v)
{
    if (v.p == NULL)
        return bind_null(s, i);
    return bind_str(s, i, str_make(v.p, v.n < AUDIT_FIELD_MAX ? v.n : AUDIT_FIELD_MAX));
}

int
md_audit_append(struct md_conn *c, const struct md_audit *e)
{
    struct stmt *s = get(c, ST_AUDIT_INSERT);

    if (s == NULL)
        return get_fail(c);
    if (e->event.n == 0)
        return -EINVAL;
    if (bind_i64(s, 1, e->time_ms) | bind_audit(s, 2, e->event) | bind_audit(s, 3, e->principal) |
        bind_audit(s, 4, e->bucket) | bind_audit(s, 5, e->key) | bind_audit(s, 6, e->version_id) |
        bind_audit(s, 7, e->source) | bind_audit(s, 8, e->detail))
        return bind_fail(c, s);
    return exec(c, s);
}

int
md_audit_add(struct md_conn *c, int64_t time_ms, const char *event, struct str principal,
             struct str source, const char *detail)
{
    struct md_audit e = {
        .time_ms = time_ms,
        .event = str_c(event),
        .principal = principal,
        .bucket = STR_NULL,
        .key = STR_NULL,
        .version_id = STR_NULL,
        .source = source,
        .detail = str_c(detail),
    };

    return md_audit_append(c, &e);
}

int
md_audit_rows(struct md_conn *c, struct stmt *s, struct arena *a, struct md_audit **out,
              size_t *n)
{
    struct md_audit *arr = NULL;
    size_t cap = 0;
    int rc;

    while ((rc = step(c, s)) > 0) {
        struct md_audit *e;

        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        e = &arr[(*n)++];
        e->id = col_i64(s, 0);
        e->time_ms = col_i64(s, 1);
        e->event = col_str(s, 2, a, false);
        e->principal = col_str(s, 3, a, true);
        e->bucket = col_str(s, 4, a, true);
        e->key = col_str(s, 5, a, true);
        e->version_id = col_str(s, 6, a, true);
        e->source = col_str(s, 7, a, true);
        e->detail = col_str(s, 8, a, true);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_audit_list(struct md_conn *c, int64_t after_id, size_t limit, struct arena *a,
              struct md_audit **out, size_t *n)
{
    struct stmt *s = get(c, ST_AUDIT_LIST);

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (limit == 0)
        return 0;
    if (bind_i64(s, 1, after_id) | bind_i64(s, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit))
        return bind_fail(c, s);
    return md_audit_rows(c, s, a, out, n);
}
