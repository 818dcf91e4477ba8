/* test_md_usage.c -- usage accounting (store/md_usage.h) on a temp
 * directory, with known answers: a refresh's figures for current,
 * noncurrent, delete-marker and incomplete-upload rows (other buckets left
 * out, the 7-day split), the page cursors across several pages (inside
 * one key and between keys, versions and uploads), the readers' "latest row
 * on or before the day" rule, gone buckets (history kept, left out from
 * the day they were found gone), pruning, totals per account and the
 * daily trend. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "store/md.h"
#include "store/md_usage.h"
#include "util/arena.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY MD_USAGE_DAY_MS
#define NOW (20000 * DAY + 3600000) /* day 20000, 01:00 UTC */

struct fx {
    char dir[64];
    struct md *md;
    struct arena *a;
    int64_t acct, acct2, bucket, other, bob_bucket;
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

enum kind { K_ACCT, K_BUCKET, K_PUT, K_BULK, K_UPLOAD, K_PART, K_BULK_UP, K_BUCKET_DEL, K_VER,
            K_USAGE_PUT };

struct job {
    enum kind kind;
    struct fx *f;
    const char *name;
    int64_t id, owner;
    int n;
    struct md_version v;
    struct md_upload u;
    struct md_part p;
    struct md_usage_row row;
};

static void
fill_version(struct md_version *v, int64_t bucket, struct str key, bool dm, int64_t size)
{
    memset(v, 0, sizeof(*v));
    v->bucket_id = bucket;
    v->key = key;
    v->is_delete_marker = dm;
    v->size = dm ? 0 : size;
    v->mtime_ms = 1000;
    v->etag = str_c(dm ? "" : "0123456789abcdef0123456789abcdef");
    v->content_type = STR_LIT("");
    v->meta = STR_LIT("");
    v->inline_data = STR_NULL;
    v->blob_id = dm ? STR_NULL : STR_LIT("");
}

static int
run(struct md_conn *c, void *arg)
{
    struct job *j = arg;
    int rc;

    switch (j->kind) {
    case K_ACCT:
        return md_account_create(c, str_c(j->name), 1, &j->id);
    case K_BUCKET:
        return md_bucket_create(c, str_c(j->name), j->owner, STR_LIT("us-east-1"), 2, &j->id);
    case K_PUT:
        return md_version_insert(c, &j->v, j->f->a);
    case K_BULK:
        /* j->n versions of key j->name (j->id > 0), or j->n keys name0000.. */
        for (int i = 0; i < j->n; i++) {
            char k[64];
            struct md_version v;

            if (j->id > 0)
                snprintf(k, sizeof(k), "%s", j->name);
            else
                snprintf(k, sizeof(k), "%s%04d", j->name, i);
            fill_version(&v, j->f->bucket, arena_str(j->f->a, str_c(k)), false, 3);
            rc = md_version_insert(c, &v, j->f->a);
            if (rc < 0)
                return rc;
        }
        return 0;
    case K_UPLOAD:
        return md_upload_create(c, &j->u);
    case K_PART:
        return md_part_put(c, j->id, &j->p);
    case K_BULK_UP:
        for (int i = 0; i < j->n; i++) {
            char id[64], k[64];
            struct md_upload u = j->u;

            snprintf(id, sizeof(id), "bulk-%s-%d", j->name, i);
            snprintf(k, sizeof(k), "%s%s", j->name, i % 2 && j->id == 0 ? "-odd" : "");
            u.upload_id = arena_str(j->f->a, str_c(id));
            u.key = arena_str(j->f->a, str_c(k));
            rc = md_upload_create(c, &u);
            if (rc < 0)
                return rc;
        }
        return 0;
    case K_BUCKET_DEL:
        return md_bucket_delete(c, j->id);
    case K_VER:
        return md_bucket_set_versioning(c, j->id, MD_VER_ENABLED, MD_MFA_ENABLED);
    case K_USAGE_PUT:
        return md_usage_put(c, &j->row);
    }
    return -EINVAL;
}

static int
job(struct fx *f, struct job *j)
{
    j->f = f;
    return md_write(f->md, run, j);
}

static int64_t
mk(struct fx *f, enum kind k, const char *name, int64_t owner)
{
    struct job j = {.kind = k, .name = name, .owner = owner};

    assert_int_equal(job(f, &j), 0);
    return j.id;
}

static void
fx_open(struct fx *f)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-mdusage-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(md_open(f->dir, &f->md), 0);
    f->a = arena_new();
    f->acct = mk(f, K_ACCT, "alice", 0);
    f->acct2 = mk(f, K_ACCT, "bob", 0);
    f->bucket = mk(f, K_BUCKET, "logs", f->acct);
    f->other = mk(f, K_BUCKET, "other", f->acct);
    f->bob_bucket = mk(f, K_BUCKET, "bobs", f->acct2);
}

static void
fx_close(struct fx *f)
{
    md_close(f->md);
    arena_free(f->a);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
put(struct fx *f, int64_t bucket, const char *key, bool dm, int64_t size)
{
    struct job j = {.kind = K_PUT};

    fill_version(&j.v, bucket, str_c(key), dm, size);
    assert_int_equal(job(f, &j), 0);
}

/* An upload of key initiated at ms with parts of the given sizes (0 ends). */
static void
upload(struct fx *f, int64_t bucket, const char *id, const char *key, int64_t ms,
       const int64_t *sizes)
{
    struct job j = {.kind = K_UPLOAD};

    j.u.upload_id = str_c(id);
    j.u.bucket_id = bucket;
    j.u.key = str_c(key);
    j.u.initiated_ms = ms;
    j.u.owner_id = f->acct;
    j.u.content_type = STR_LIT("");
    j.u.meta = STR_LIT("");
    j.u.checksum_algo = STR_LIT("");
    j.u.checksum_type = STR_LIT("");
    assert_int_equal(job(f, &j), 0);
    for (int i = 0; sizes[i] > 0; i++) {
        struct job p = {.kind = K_PART, .id = j.u.id};
        char blob[64];

        snprintf(blob, sizeof(blob), "%s-part-%d", id, i + 1);
        p.p.part_number = i + 1;
        p.p.size = sizes[i];
        p.p.mtime_ms = ms;
        p.p.blob_id = arena_str(f->a, str_c(blob));
        p.p.etag = STR_LIT("0123456789abcdef0123456789abcdef");
        p.p.checksum = STR_LIT("");
        assert_int_equal(job(f, &p), 0);
    }
}

static const struct md_usage_row *
row_of(const struct md_usage_row *rows, size_t n, const char *bucket)
{
    for (size_t i = 0; i < n; i++)
        if (str_eq(rows[i].bucket, str_c(bucket)))
            return &rows[i];
    return NULL;
}

static void
refresh(struct fx *f, int64_t now_ms, const char *bucket, struct md_usage_stats *st)
{
    struct md_usage_opts o = {.now_ms = now_ms, .bucket = bucket ? str_c(bucket) : STR_NULL};

    assert_int_equal(md_usage_refresh(f->md, &o, st), 0);
}

static void
test_figures(void **state)
{
    static const int64_t old_parts[] = {5, 11, 0}, new_parts[] = {100, 0}, none[] = {0};
    struct md_usage_row *rows;
    const struct md_usage_row *r;
    struct md_usage_stats st;
    struct md_usage_sum t;
    struct fx f;
    size_t n;

    (void)state;
    fx_open(&f);
    /* "a": two noncurrent and one current version; "bb": a version under a
     * delete marker; "c": one version; then a noncurrent marker under "d". */
    put(&f, f.bucket, "a", false, 10);
    put(&f, f.bucket, "a", false, 20);
    put(&f, f.bucket, "a", false, 40);
    put(&f, f.bucket, "bb", false, 80);
    put(&f, f.bucket, "bb", true, 0);
    put(&f, f.bucket, "c", false, 160);
    put(&f, f.bucket, "ddd", true, 0);
    put(&f, f.bucket, "ddd", false, 320);
    upload(&f, f.bucket, "up-old", "u", NOW - 8 * DAY, old_parts);
    upload(&f, f.bucket, "up-new", "u", NOW - 6 * DAY, new_parts);
    upload(&f, f.bucket, "up-empty", "v", NOW, none);
    /* Another bucket's rows are its own. */
    put(&f, f.other, "a", false, 1000);
    refresh(&f, NOW, NULL, &st);
    assert_int_equal(st.buckets, 3);
    assert_int_equal(st.versions, 9);
    assert_int_equal(st.uploads, 3);
    assert_int_equal(st.gone, 0);

    assert_int_equal(md_usage_rows(md_reader(f.md), f.acct, MD_USAGE_LATEST, f.a, &rows, &n), 0);
    assert_int_equal(n, 2);
    r = row_of(rows, n, "logs");
    assert_non_null(r);
    assert_int_equal(r->day, 20000);
    assert_int_equal(r->bucket_id, f.bucket);
    assert_int_equal(r->account_id, f.acct);
    assert_int_equal(r->versioning, MD_VER_NONE);
    assert_int_equal(r->refreshed_ms, NOW);
    assert_int_equal(r->f.current_count, 3); /* a, c, ddd */
    assert_int_equal(r->f.current_bytes, 40 + 160 + 320);
    assert_int_equal(r->f.noncurrent_count, 3); /* a, a, bb */
    assert_int_equal(r->f.noncurrent_bytes, 10 + 20 + 80);
    assert_int_equal(r->f.dm_count, 2);
    assert_int_equal(r->f.dm_bytes, 2 + 3); /* "bb", "ddd" */
    assert_int_equal(r->f.mpu_count, 3);
    assert_int_equal(r->f.mpu_bytes, 5 + 11 + 100);
    assert_int_equal(r->f.mpu_old_count, 1);
    assert_int_equal(r->f.mpu_old_bytes, 16);
    assert_int_equal(md_usage_storage_bytes(&r->f), 520 + 110 + 5 + 116);
    assert_int_equal(md_usage_object_count(&r->f), 3 + 3 + 2 + 3);
    r = row_of(rows, n, "other");
    assert_non_null(r);
    assert_int_equal(r->f.current_count, 1);
    assert_int_equal(r->f.current_bytes, 1000);
    assert_int_equal(md_usage_object_count(&r->f), 1);
    /* Ordered by account, then name: bob's bucket last. */
    assert_int_equal(md_usage_rows(md_reader(f.md), 0, MD_USAGE_LATEST, f.a, &rows, &n), 0);
    assert_int_equal(n, 3);
    assert_true(str_eq(rows[0].bucket, STR_LIT("logs")));
    assert_true(str_eq(rows[1].bucket, STR_LIT("other")));
    assert_true(str_eq(rows[2].bucket, STR_LIT("bobs")));
    assert_int_equal(md_usage_object_count(&rows[2].f), 0);

    /* Versioning and MFA delete are read at the refresh. */
    {
        struct job j = {.kind = K_VER, .id = f.other};

        assert_int_equal(job(&f, &j), 0);
    }
    assert_int_equal(md_usage_total(md_reader(f.md), f.acct, MD_USAGE_LATEST, &t), 0);
    assert_int_equal(t.versioning_enabled, 0);
    refresh(&f, NOW + 60000, "other", &st);
    assert_int_equal(st.buckets, 1);
    assert_int_equal(md_usage_total(md_reader(f.md), f.acct, MD_USAGE_LATEST, &t), 0);
    assert_int_equal(t.buckets, 2);
    assert_int_equal(t.versioning_enabled, 1);
    assert_int_equal(t.mfa_delete_enabled, 1);
    assert_int_equal(t.f.current_count, 4);
    assert_int_equal(t.f.current_bytes, 1520);
    assert_int_equal(t.refreshed_ms, NOW + 60000);
    assert_int_equal(md_usage_total(md_reader(f.md), 0, MD_USAGE_LATEST, &t), 0);
    assert_int_equal(t.buckets, 3);
    assert_int_equal(md_usage_total(md_reader(f.md), f.acct, 19999, &t), 0);
    assert_int_equal(t.buckets, 0);
    assert_int_equal(t.refreshed_ms, 0);

    {
        struct md_usage_opts o = {.now_ms = NOW, .bucket = STR_LIT("nosuch")};

        assert_int_equal(md_usage_refresh(f.md, &o, NULL), -ENOENT);
    }
    fx_close(&f);
}

/* Several pages: the cursor inside one key's versions, between keys, and
 * through uploads of one key. */
static void
test_pages(void **state)
{
    struct md_usage_row *rows;
    struct md_usage_stats st;
    struct fx f;
    size_t n;
    struct job j;

    (void)state;
    fx_open(&f);
    j = (struct job){.kind = K_BULK, .name = "k", .id = 1, .n = MD_USAGE_PAGE + 904};
    assert_int_equal(job(&f, &j), 0);
    j = (struct job){.kind = K_BULK, .name = "m", .id = 0, .n = MD_USAGE_PAGE + 96};
    assert_int_equal(job(&f, &j), 0);
    j = (struct job){.kind = K_BULK_UP, .name = "same", .id = 1, .n = MD_USAGE_PAGE + 5};
    j.u.bucket_id = f.bucket;
    j.u.initiated_ms = NOW;
    j.u.owner_id = f.acct;
    j.u.content_type = j.u.meta = j.u.checksum_algo = j.u.checksum_type = STR_LIT("");
    assert_int_equal(job(&f, &j), 0);
    j.name = "mix";
    j.id = 0;
    j.n = 7;
    assert_int_equal(job(&f, &j), 0);

    /* The scan itself: page by page, each full page says more may follow. */
    {
        struct md_usage_fig fig = {0};
        struct str key = STR_NULL;
        int64_t seq = 0;
        int pages = 0, rc;

        do {
            rc = md_usage_scan_versions(md_reader(f.md), f.bucket, &key, &seq, f.a, &fig);
            assert_true(rc >= 0);
            pages++;
        } while (rc > 0);
        assert_int_equal(pages, 3);
        assert_int_equal(fig.current_count + fig.noncurrent_count, 2 * MD_USAGE_PAGE + 1000);
    }
    refresh(&f, NOW, "logs", &st);
    assert_int_equal(st.versions, 2 * MD_USAGE_PAGE + 1000);
    assert_int_equal(st.uploads, MD_USAGE_PAGE + 12);
    assert_int_equal(md_usage_rows(md_reader(f.md), f.acct, MD_USAGE_LATEST, f.a, &rows, &n), 0);
    assert_int_equal(n, 1); /* only logs was refreshed */
    assert_int_equal(rows[0].f.current_count, 1 + MD_USAGE_PAGE + 96);
    assert_int_equal(rows[0].f.current_bytes, 3 * (1 + MD_USAGE_PAGE + 96));
    assert_int_equal(rows[0].f.noncurrent_count, MD_USAGE_PAGE + 903);
    assert_int_equal(rows[0].f.mpu_count, MD_USAGE_PAGE + 12);
    assert_int_equal(rows[0].f.mpu_bytes, 0);
    assert_int_equal(rows[0].f.dm_count, 0);
    fx_close(&f);
}

static void
usage_put(struct fx *f, int64_t bucket, const char *name, int64_t acct, int64_t day,
          int64_t objects, enum md_versioning v)
{
    struct job j = {.kind = K_USAGE_PUT};

    j.row.bucket_id = bucket;
    j.row.bucket = str_c(name);
    j.row.account_id = acct;
    j.row.day = day;
    j.row.versioning = v;
    j.row.mfa_delete = MD_MFA_UNSET;
    j.row.f.current_count = objects;
    j.row.f.current_bytes = objects * 10;
    j.row.refreshed_ms = day * DAY + 5;
    assert_int_equal(job(f, &j), 0);
}

static int
gone_job(struct md_conn *c, void *arg)
{
    int64_t *a = arg;

    return md_usage_mark_gone(c, a[0], a[0] * DAY, &a[1]);
}

static int
prune_job(struct md_conn *c, void *arg)
{
    int64_t *a = arg;

    return md_usage_prune(c, a[0], &a[1]);
}

/* The as-of rule, gone buckets, pruning and the trend, on rows written
 * directly. logs: day 100 (1 object), day 102 (4); other: day 101 (2),
 * deleted, found gone on day 103; bob's: day 101 (8). */
static void
test_history(void **state)
{
    struct md_usage_row *rows;
    struct md_usage_sum t, *d, *acc;
    struct fx f;
    size_t n;
    int64_t a[2];

    (void)state;
    fx_open(&f);
    usage_put(&f, f.bucket, "logs", f.acct, 100, 1, MD_VER_NONE);
    usage_put(&f, f.other, "other", f.acct, 101, 2, MD_VER_ENABLED);
    usage_put(&f, f.bucket, "logs", f.acct, 102, 4, MD_VER_ENABLED);
    usage_put(&f, f.bob_bucket, "bobs", f.acct2, 101, 8, MD_VER_NONE);

    assert_int_equal(md_usage_rows(md_reader(f.md), f.acct, 99, f.a, &rows, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(md_usage_rows(md_reader(f.md), f.acct, 100, f.a, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].day, 100);
    assert_int_equal(md_usage_rows(md_reader(f.md), f.acct, 101, f.a, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(row_of(rows, n, "logs")->day, 100);
    assert_int_equal(row_of(rows, n, "other")->day, 101);
    assert_int_equal(md_usage_total(md_reader(f.md), f.acct, 102, &t), 0);
    assert_int_equal(t.buckets, 2);
    assert_int_equal(t.f.current_count, 6);
    assert_int_equal(t.versioning_enabled, 2);

    /* other is deleted: the next full refresh's mark_gone closes it. */
    {
        struct job j = {.kind = K_BUCKET_DEL, .id = f.other};

        assert_int_equal(job(&f, &j), 0);
    }
    a[0] = 103;
    assert_int_equal(md_write(f.md, gone_job, a), 0);
    assert_int_equal(a[1], 1);
    assert_int_equal(md_write(f.md, gone_job, a), 0); /* idempotent */
    assert_int_equal(a[1], 0);
    assert_int_equal(md_usage_total(md_reader(f.md), f.acct, 103, &t), 0);
    assert_int_equal(t.buckets, 1);
    assert_int_equal(t.f.current_count, 4);
    assert_int_equal(md_usage_total(md_reader(f.md), f.acct, 102, &t), 0);
    assert_int_equal(t.buckets, 2); /* history kept */

    /* Per account, as of the latest rows. */
    assert_int_equal(md_usage_by_account(md_reader(f.md), MD_USAGE_LATEST, f.a, &acc, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(acc[0].account_id, f.acct);
    assert_int_equal(acc[0].buckets, 1);
    assert_int_equal(acc[0].f.current_bytes, 40);
    assert_int_equal(acc[1].account_id, f.acct2);
    assert_int_equal(acc[1].f.current_count, 8);

    /* The trend carries each bucket's latest row forward. */
    assert_int_equal(md_usage_daily(md_reader(f.md), f.acct, 99, 104, f.a, &d), 0);
    {
        static const int64_t buckets[] = {0, 1, 2, 2, 1, 1}, objects[] = {0, 1, 3, 6, 4, 4},
                             ver[] = {0, 0, 1, 2, 1, 1};

        for (int i = 0; i < 6; i++) {
            assert_int_equal(d[i].day, 99 + i);
            assert_int_equal(d[i].account_id, f.acct);
            assert_int_equal(d[i].buckets, buckets[i]);
            assert_int_equal(d[i].f.current_count, objects[i]);
            assert_int_equal(d[i].f.current_bytes, objects[i] * 10);
            assert_int_equal(d[i].versioning_enabled, ver[i]);
        }
    }
    assert_int_equal(md_usage_daily(md_reader(f.md), 0, 101, 101, f.a, &d), 0);
    assert_int_equal(d[0].buckets, 3);
    assert_int_equal(d[0].f.current_count, 1 + 2 + 8);
    assert_int_equal(md_usage_daily(md_reader(f.md), 0, 101, 100, f.a, &d), -EINVAL);
    assert_int_equal(md_usage_daily(md_reader(f.md), 0, 1, 2 + MD_USAGE_KEEP_DAYS, f.a, &d),
                     -EINVAL);

    /* Pruning days before 101 drops logs' day-100 row. */
    a[0] = 101;
    assert_int_equal(md_write(f.md, prune_job, a), 0);
    assert_int_equal(a[1], 1);
    assert_int_equal(md_usage_rows(md_reader(f.md), f.acct, 100, f.a, &rows, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(md_usage_rows(md_reader(f.md), f.acct, 101, f.a, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_true(str_eq(rows[0].bucket, STR_LIT("other")));
    fx_close(&f);
}

/* The refresh's own bookkeeping: a bucket deleted between two refreshes is
 * closed by the second, and a refresh 15 months on prunes the old rows. */
static void
test_refresh_gone_prune(void **state)
{
    struct md_usage_stats st;
    struct md_usage_sum t;
    struct fx f;

    (void)state;
    fx_open(&f);
    put(&f, f.other, "x", false, 5);
    refresh(&f, NOW, NULL, &st);
    assert_int_equal(st.buckets, 3);
    {
        struct job j = {.kind = K_BUCKET_DEL, .id = f.bob_bucket};

        assert_int_equal(job(&f, &j), 0);
    }
    refresh(&f, NOW + DAY, NULL, &st);
    assert_int_equal(st.buckets, 2);
    assert_int_equal(st.gone, 1);
    assert_int_equal(md_usage_total(md_reader(f.md), 0, 20001, &t), 0);
    assert_int_equal(t.buckets, 2);
    assert_int_equal(md_usage_total(md_reader(f.md), 0, 20000, &t), 0);
    assert_int_equal(t.buckets, 3);
    /* 457 days later: days 20000 and 20001 fall out; today stays. */
    refresh(&f, NOW + (1 + MD_USAGE_KEEP_DAYS) * DAY, NULL, &st);
    assert_int_equal(st.pruned, 3 + 3); /* day 20000's 3 rows, day 20001's 2 and bobs' gone row */
    assert_int_equal(md_usage_total(md_reader(f.md), 0, 20001, &t), 0);
    assert_int_equal(t.buckets, 0);
    assert_int_equal(md_usage_total(md_reader(f.md), 0, MD_USAGE_LATEST, &t), 0);
    assert_int_equal(t.buckets, 2);
    assert_int_equal(t.f.current_bytes, 5);
    fx_close(&f);
}

static void
test_day(void **state)
{
    (void)state;
    assert_int_equal(md_usage_day(0), 0);
    assert_int_equal(md_usage_day(DAY - 1), 0);
    assert_int_equal(md_usage_day(DAY), 1);
    assert_int_equal(md_usage_day(-1), -1);
    assert_int_equal(md_usage_day(-DAY), -1);
    assert_int_equal(md_usage_day(-DAY - 1), -2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_day),
        cmocka_unit_test(test_figures),
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_refresh_gone_prune),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
