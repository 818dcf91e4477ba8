/* md_usage.c -- usage accounting's rows (md_usage.h): the page scans a
 * refresh reads a bucket with, the usage_daily writes, and the readers
 * (one day's rows, totals, the daily trend). SQLite's statements are in
 * md_sql.h (MD_USAGE_STMTS); the refresh itself is md_usage_run.c. */
#include "common.h"
#include "store/md_usage.h"
#include "store/md_int.h"

#include <errno.h>
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

typedef void (*row_fn)(sqlite3_stmt *s, int64_t arg, struct md_usage_fig *f);

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
        sqlite3_stmt *s = get(c, ids[i]);
        int rc;

        if (s == NULL)
            return -EIO;
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
version_row(sqlite3_stmt *s, int64_t arg, struct md_usage_fig *f)
{
    bool latest = col_int(s, 2) != 0, dm = col_int(s, 3) != 0;
    int64_t size = col_i64(s, 4);

    (void)arg;
    if (dm) {
        f->dm_count++;
        f->dm_bytes += sqlite3_column_bytes(s, 0); /* the key's length [B4 decision] */
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
upload_row(sqlite3_stmt *s, int64_t old_before_ms, struct md_usage_fig *f)
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
    sqlite3_stmt *s = get(c, ST_USG_PUT);
    const struct md_usage_fig *f = &r->f;

    if (s == NULL)
        return -EIO;
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
    sqlite3_stmt *s = get(c, id);
    int rc;

    if (n)
        *n = 0;
    if (s == NULL)
        return -EIO;
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
read_row(sqlite3_stmt *s, struct arena *a, struct md_usage_row *r)
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

/* Steps the as-of statement of (account_id, day): fn(arg, row) for each
 * bucket's row (name copied into a unless a is NULL). */
static int
asof(struct md_conn *c, int64_t account_id, int64_t day, struct arena *a,
     void (*fn)(void *arg, const struct md_usage_row *r), void *arg)
{
    sqlite3_stmt *s = get(c, account_id ? ST_USG_ROWS_ACCT : ST_USG_ROWS_ALL);
    int rc;

    if (s == NULL)
        return -EIO;
    if ((account_id ? bind_i64(s, 1, account_id) : 0) | bind_i64(s, 2, day))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        struct md_usage_row r;

        (void)read_row(s, a, &r);
        fn(arg, &r);
    }
    if (rc < 0)
        return rc;
    done(s);
    return 0;
}

struct rows {
    struct arena *a;
    struct md_usage_row *arr;
    size_t n, cap;
};

static void
rows_add(void *arg, const struct md_usage_row *r)
{
    struct rows *l = arg;

    l->arr = grow(l->a, l->arr, l->n, &l->cap, sizeof(*l->arr));
    l->arr[l->n++] = *r;
}

int
md_usage_rows(struct md_conn *c, int64_t account_id, int64_t day, struct arena *a,
              struct md_usage_row **out, size_t *n)
{
    struct rows l = {.a = a};
    int rc = asof(c, account_id, day, a, rows_add, &l);

    *out = rc == 0 ? l.arr : NULL;
    *n = rc == 0 ? l.n : 0;
    return rc;
}

static void
total_add(void *arg, const struct md_usage_row *r)
{
    sum_add(arg, r, 1);
}

int
md_usage_total(struct md_conn *c, int64_t account_id, int64_t day, struct md_usage_sum *out)
{
    int rc;

    memset(out, 0, sizeof(*out));
    out->day = day;
    out->account_id = account_id;
    rc = asof(c, account_id, day, NULL, total_add, out);
    if (rc < 0) {
        memset(out, 0, sizeof(*out));
        out->day = day;
        out->account_id = account_id;
    }
    return rc;
}

struct by_account {
    struct arena *a;
    int64_t day;
    struct md_usage_sum *arr;
    size_t n, cap;
};

static void
by_account_add(void *arg, const struct md_usage_row *r)
{
    struct by_account *l = arg;

    /* The as-of rows come ordered by account id. */
    if (l->n == 0 || l->arr[l->n - 1].account_id != r->account_id) {
        l->arr = grow(l->a, l->arr, l->n, &l->cap, sizeof(*l->arr));
        memset(&l->arr[l->n], 0, sizeof(l->arr[l->n]));
        l->arr[l->n].day = l->day;
        l->arr[l->n].account_id = r->account_id;
        l->n++;
    }
    sum_add(&l->arr[l->n - 1], r, 1);
}

int
md_usage_by_account(struct md_conn *c, int64_t day, struct arena *a, struct md_usage_sum **out,
                    size_t *n)
{
    struct by_account l = {.a = a, .day = day};
    int rc = asof(c, 0, day, NULL, by_account_add, &l);

    *out = rc == 0 ? l.arr : NULL;
    *n = rc == 0 ? l.n : 0;
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
    sqlite3_stmt *s;
    struct latest m = {.a = a};
    struct md_usage_sum run = {.account_id = account_id}, *arr;
    int64_t d;
    int rc;

    *out = NULL;
    if (last < first || last - first > MD_USAGE_KEEP_DAYS)
        return -EINVAL;
    s = get(c, account_id ? ST_USG_HIST_ACCT : ST_USG_HIST_ALL);
    if (s == NULL)
        return -EIO;
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
