/* md_usage.c -- usage accounting's rows (md_usage.h): the page scans a
 * refresh reads a bucket with, the usage_daily writes, and the readers
 * (one day's rows, totals, the daily trend). SQLite's statements are in
 * md_sql.h (MD_USAGE_STMTS); the refresh itself is md_usage_run.c. */
#include "common.h"
#include "store/md_usage.h"
#include "store/md_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void
md_usage_fig_add(struct md_usage_fig *a, const struct md_usage_fig *b)
{
    a->current_count += b->current_count;
    a->current_bytes += b->current_bytes;
    a->noncurrent_count += b->noncurrent_count;
    a->noncurrent_bytes += b->noncurrent_bytes;
    a->dm_count += b->dm_count;
    a->dm_bytes += b->dm_bytes;
    a->mpu_count += b->mpu_count;
    a->mpu_bytes += b->mpu_bytes;
    a->mpu_old_count += b->mpu_old_count;
    a->mpu_old_bytes += b->mpu_old_bytes;
}

static void
fig_sub(struct md_usage_fig *a, const struct md_usage_fig *b)
{
    a->current_count -= b->current_count;
    a->current_bytes -= b->current_bytes;
    a->noncurrent_count -= b->noncurrent_count;
    a->noncurrent_bytes -= b->noncurrent_bytes;
    a->dm_count -= b->dm_count;
    a->dm_bytes -= b->dm_bytes;
    a->mpu_count -= b->mpu_count;
    a->mpu_bytes -= b->mpu_bytes;
    a->mpu_old_count -= b->mpu_old_count;
    a->mpu_old_bytes -= b->mpu_old_bytes;
}

/* ---- the scans --------------------------------------------------------------- */

/* Binds the cursor the way md_lc_scan() does and picks the statement: the
 * rest of the cursor key's rows first (only when *pos > 0), then the keys
 * after it. Returns the statements to run in order (1 or 2) in ids. */
static size_t
cursor_stmts(struct str key, int64_t pos, enum st all, enum st same, enum st gt, enum st ids[2])
{
    if (key.p == NULL) {
        ids[0] = all;
        return 1;
    }
    if (pos > 0) {
        ids[0] = same;
        ids[1] = gt;
        return 2;
    }
    ids[0] = gt;
    return 1;
}

typedef void (*row_fn)(struct stmt *s, int64_t arg, struct md_usage_fig *f);

/* Runs the scan statements of one page; the last row's (key, id or seq) becomes
 * the cursor. 1 when the page was full (more may follow), 0 at the end. */
static int
scan_page(struct md_conn *c, int64_t bucket_id, struct str *key, int64_t *pos,
          const enum st ids[2], size_t nids, row_fn fn, int64_t arg, struct arena *a,
          struct md_usage_fig *f)
{
    size_t n = 0;
    struct str k0 = *key;
    int64_t p0 = *pos;

    for (size_t i = 0; i < nids; i++) {
        struct stmt *s = get(c, ids[i]);
        int rc;

        if (s == NULL)
            return get_fail(c);
        if (bind_i64(s, 1, bucket_id) | (k0.p ? bind_str(s, 2, k0) : 0) |
            (k0.p ? bind_i64(s, 3, p0) : 0) | bind_i64(s, 4, limit_i64(MD_USAGE_PAGE - n)))
            return bind_fail(c, s);
        while ((rc = step(c, s)) > 0) {
            fn(s, arg, f);
            if (++n == MD_USAGE_PAGE) {
                /* Only the page's last row becomes the cursor: one copy. */
                *key = col_str(s, 0, a, false);
                *pos = col_i64(s, 1);
                done(s);
                return 1;
            }
        }
        if (rc < 0)
            return rc;
        done(s);
    }
    return 0;
}

static void
version_row(struct stmt *s, int64_t arg, struct md_usage_fig *f)
{
    bool latest = col_int(s, 2) != 0, dm = col_int(s, 3) != 0;
    int64_t size = col_i64(s, 4);

    (void)arg;
    if (dm) {
        f->dm_count++;
        f->dm_bytes += (int64_t)col_view(s, 0).n; /* the key's length [B4 decision] */
    } else if (latest) {
        f->current_count++;
        f->current_bytes += size;
    } else {
        f->noncurrent_count++;
        f->noncurrent_bytes += size;
    }
}

int
md_usage_scan_versions(struct md_conn *c, int64_t bucket_id, struct str *key, int64_t *seq,
                       struct arena *a, struct md_usage_fig *f)
{
    enum st ids[2];
    size_t nids = cursor_stmts(*key, *seq, ST_USG_V_ALL, ST_USG_V_KEY, ST_USG_V_GT, ids);

    return scan_page(c, bucket_id, key, seq, ids, nids, version_row, 0, a, f);
}

static void
upload_row(struct stmt *s, int64_t old_before_ms, struct md_usage_fig *f)
{
    int64_t bytes = col_i64(s, 3);

    f->mpu_count++;
    f->mpu_bytes += bytes;
    if (col_i64(s, 2) < old_before_ms) {
        f->mpu_old_count++;
        f->mpu_old_bytes += bytes;
    }
}

int
md_usage_scan_uploads(struct md_conn *c, int64_t bucket_id, int64_t old_before_ms,
                      struct str *key, int64_t *id, struct arena *a, struct md_usage_fig *f)
{
    enum st ids[2];
    size_t nids;

    /* Upload ids start at 1, so *id > 0 whenever a cursor key is set: the
     * rest of that key's uploads (id > *id) come first. */
    nids = cursor_stmts(*key, *id, ST_USG_U_ALL, ST_USG_U_KEY, ST_USG_U_GT, ids);
    return scan_page(c, bucket_id, key, id, ids, nids, upload_row, old_before_ms, a, f);
}

/* ---- writes ----------------------------------------------------------------- */

int
md_usage_put(struct md_conn *c, const struct md_usage_row *r)
{
    struct stmt *s = get(c, ST_USG_PUT);
    const struct md_usage_fig *f = &r->f;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, r->bucket_id) | bind_i64(s, 2, r->day) | bind_i64(s, 3, r->account_id) |
        bind_str(s, 4, r->bucket) | bind_i64(s, 5, r->versioning) |
        bind_i64(s, 6, r->mfa_delete) | bind_i64(s, 7, f->current_count) |
        bind_i64(s, 8, f->current_bytes) | bind_i64(s, 9, f->noncurrent_count) |
        bind_i64(s, 10, f->noncurrent_bytes) | bind_i64(s, 11, f->dm_count) |
        bind_i64(s, 12, f->dm_bytes) | bind_i64(s, 13, f->mpu_count) |
        bind_i64(s, 14, f->mpu_bytes) | bind_i64(s, 15, f->mpu_old_count) |
        bind_i64(s, 16, f->mpu_old_bytes) | bind_i64(s, 17, r->refreshed_ms))
        return bind_fail(c, s);
    return exec(c, s);
}

static int
write_count(struct md_conn *c, enum st id, int64_t v1, bool has_v2, int64_t v2, int64_t *n)
{
    struct stmt *s = get(c, id);
    int rc;

    if (n)
        *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, v1) | (has_v2 ? bind_i64(s, 2, v2) : 0))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0 && n)
        *n = changes(c);
    return rc;
}

int
md_usage_mark_gone(struct md_conn *c, int64_t day, int64_t now_ms, int64_t *n)
{
    return write_count(c, ST_USG_GONE, day, true, now_ms, n);
}

int
md_usage_prune(struct md_conn *c, int64_t before_day, int64_t *n)
{
    return write_count(c, ST_USG_PRUNE, before_day, false, 0, n);
}

/* ---- readers ---------------------------------------------------------------- */

/* A usage_daily row in USGCOLS order; the name is copied into a unless a is
 * NULL. Returns gone. */
static bool
read_row(struct stmt *s, struct arena *a, struct md_usage_row *r)
{
    struct md_usage_fig *f = &r->f;

    r->bucket_id = col_i64(s, 0);
    r->day = col_i64(s, 1);
    r->account_id = col_i64(s, 2);
    r->bucket = a ? col_str(s, 3, a, false) : STR_NULL;
    r->versioning = (enum md_versioning)col_int(s, 5);
    r->mfa_delete = (enum md_mfa)col_int(s, 6);
    f->current_count = col_i64(s, 7);
    f->current_bytes = col_i64(s, 8);
    f->noncurrent_count = col_i64(s, 9);
    f->noncurrent_bytes = col_i64(s, 10);
    f->dm_count = col_i64(s, 11);
    f->dm_bytes = col_i64(s, 12);
    f->mpu_count = col_i64(s, 13);
    f->mpu_bytes = col_i64(s, 14);
    f->mpu_old_count = col_i64(s, 15);
    f->mpu_old_bytes = col_i64(s, 16);
    r->refreshed_ms = col_i64(s, 17);
    return col_int(s, 4) != 0;
}

/* Account id, then bucket name bytewise, then bucket id. */
static int
row_cmp(const void *pa, const void *pb)
{
    const struct md_usage_row *x = pa, *y = pb;
    size_t m = x->bucket.n < y->bucket.n ? x->bucket.n : y->bucket.n;
    int d;

    if (x->account_id != y->account_id)
        return x->account_id < y->account_id ? -1 : 1;
    d = m ? memcmp(x->bucket.p, y->bucket.p, m) : 0;
    if (d != 0)
        return d;
    if (x->bucket.n != y->bucket.n)
        return x->bucket.n < y->bucket.n ? -1 : 1;
    return x->bucket_id < y->bucket_id ? -1 : x->bucket_id > y->bucket_id;
}

static void
sum_add(struct md_usage_sum *t, const struct md_usage_row *r, int sign)
{
    t->buckets += sign;
    t->versioning_enabled += sign * (r->versioning == MD_VER_ENABLED);
    t->mfa_delete_enabled += sign * (r->mfa_delete == MD_MFA_ENABLED);
    if (sign > 0)
        md_usage_fig_add(&t->f, &r->f);
    else
        fig_sub(&t->f, &r->f);
    if (sign > 0 && r->refreshed_ms > t->refreshed_ms)
        t->refreshed_ms = r->refreshed_ms;
}

/* Each bucket's row as of day (account_id's, or all), ordered by account id
 * then name, in an arena array; names copied into a. */
static int
asof(struct md_conn *c, int64_t account_id, int64_t day, struct arena *a,
     struct md_usage_row **out, size_t *n)
{
    struct stmt *s = get(c, ST_USG_ROWS);
    struct md_usage_row *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 2, day))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        if (account_id != 0 && col_i64(s, 2) != account_id)
            continue;
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        (void)read_row(s, a, &arr[(*n)++]);
    }
    if (rc < 0) {
        *n = 0;
        return rc;
    }
    done(s);
    if (*n > 1)
        qsort(arr, *n, sizeof(*arr), row_cmp);
    *out = arr;
    return 0;
}

int
md_usage_rows(struct md_conn *c, int64_t account_id, int64_t day, struct arena *a,
              struct md_usage_row **out, size_t *n)
{
    return asof(c, account_id, day, a, out, n);
}

static void
sum_init(struct md_usage_sum *t, int64_t day, int64_t account_id)
{
    memset(t, 0, sizeof(*t));
    t->day = day;
    t->account_id = account_id;
}

int
md_usage_total(struct md_conn *c, int64_t account_id, int64_t day, struct md_usage_sum *out)
{
    struct arena *a = arena_new();
    struct md_usage_row *rows;
    size_t n;
    int rc = asof(c, account_id, day, a, &rows, &n);

    sum_init(out, day, account_id);
    for (size_t i = 0; rc == 0 && i < n; i++)
        sum_add(out, &rows[i], 1);
    arena_free(a);
    return rc;
}

int
md_usage_by_account(struct md_conn *c, int64_t day, struct arena *a, struct md_usage_sum **out,
                    size_t *n)
{
    struct arena *tmp = arena_new();
    struct md_usage_row *rows;
    struct md_usage_sum *arr = NULL;
    size_t nrows, cap = 0;
    int rc = asof(c, 0, day, tmp, &rows, &nrows);

    *out = NULL;
    *n = 0;
    /* The rows come ordered by account id. */
    for (size_t i = 0; rc == 0 && i < nrows; i++) {
        if (*n == 0 || arr[*n - 1].account_id != rows[i].account_id) {
            arr = grow(a, arr, *n, &cap, sizeof(*arr));
            sum_init(&arr[(*n)++], day, rows[i].account_id);
        }
        sum_add(&arr[*n - 1], &rows[i], 1);
    }
    if (rc == 0)
        *out = arr;
    else
        *n = 0;
    arena_free(tmp);
    return rc;
}

/* ---- the trend: one pass over the rows, carrying each bucket's latest ------- */

/* Open addressing on bucket_id: the bucket's latest row so far. */
struct latest {
    struct arena *a;
    struct md_usage_row *slots; /* bucket_id 0: empty (bucket ids start at 1) */
    bool *live;                 /* the slot's row counts (not gone) */
    size_t cap, n;
};

static size_t
slot_of(const struct latest *m, int64_t bucket_id)
{
    size_t i = (size_t)((uint64_t)bucket_id * 0x9E3779B97F4A7C15ULL) & (m->cap - 1);

    while (m->slots[i].bucket_id != 0 && m->slots[i].bucket_id != bucket_id)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static void
latest_grow(struct latest *m)
{
    struct latest g = {.a = m->a, .cap = m->cap ? m->cap * 2 : 64, .n = m->n};

    g.slots = arena_zalloc(m->a, g.cap * sizeof(*g.slots));
    g.live = arena_zalloc(m->a, g.cap * sizeof(*g.live));
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].bucket_id != 0) {
            size_t j = slot_of(&g, m->slots[i].bucket_id);

            g.slots[j] = m->slots[i];
            g.live[j] = m->live[i];
        }
    *m = g;
}

int
md_usage_daily(struct md_conn *c, int64_t account_id, int64_t first, int64_t last,
               struct arena *a, struct md_usage_sum **out)
{
    struct stmt *s;
    struct latest m = {.a = a};
    struct md_usage_sum run = {.account_id = account_id}, *arr;
    int64_t d;
    int rc;

    *out = NULL;
    if (last < first || last - first > MD_USAGE_KEEP_DAYS)
        return -EINVAL;
    s = get(c, account_id ? ST_USG_HIST_ACCT : ST_USG_HIST_ALL);
    if (s == NULL)
        return get_fail(c);
    if ((account_id ? bind_i64(s, 1, account_id) : 0) | bind_i64(s, 2, last))
        return bind_fail(c, s);
    arr = arena_zalloc(a, (size_t)(last - first + 1) * sizeof(*arr));
    d = first;
    while ((rc = step(c, s)) > 0) {
        struct md_usage_row r;
        bool gone = read_row(s, NULL, &r);
        size_t i;

        /* Rows come by day: every day before this row's is complete. */
        for (; d < r.day && d <= last; d++) {
            arr[d - first] = run;
            arr[d - first].day = d;
        }
        if ((m.n + 1) * 2 > m.cap)
            latest_grow(&m);
        i = slot_of(&m, r.bucket_id);
        if (m.slots[i].bucket_id == 0)
            m.n++;
        else if (m.live[i])
            sum_add(&run, &m.slots[i], -1);
        m.slots[i] = r;
        m.live[i] = !gone;
        if (!gone)
            sum_add(&run, &r, 1);
        else if (r.refreshed_ms > run.refreshed_ms)
            run.refreshed_ms = r.refreshed_ms;
    }
    if (rc < 0)
        return rc;
    done(s);
    for (; d <= last; d++) {
        arr[d - first] = run;
        arr[d - first].day = d;
    }
    *out = arr;
    return 0;
}
