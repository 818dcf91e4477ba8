/* md_usage_run.c -- the usage refresh (md_usage_refresh()) and cofferd's
 * thread that runs it (md_usage_runner_start()). A refresh reads each
 * bucket page by page on the calling thread's reader connection (no read
 * transaction spans two pages, so the WAL is never held back and the
 * writer never waits on it), then commits the bucket's row for today with
 * one small md_write(). */
#include "common.h"
#include "store/md_usage.h"
#include "util/log.h"
#include "util/ticker.h"
#include "util/tm.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool
stopping(const struct md_usage_opts *o)
{
    return o->stop != NULL && atomic_load(o->stop);
}

struct put_job {
    struct md_usage_row row; /* figures and day set by the caller */
    struct str name;
    int64_t bucket_id;
};

/* Stores the row if the bucket is still the one scanned, with its
 * versioning and MFA delete state as of this transaction. A bucket deleted
 * (or deleted and re-created) meanwhile gets no row: mark_gone handles it. */
static int
put_fn(struct md_conn *c, void *arg)
{
    struct put_job *j = arg;
    struct arena *a = arena_new();
    struct md_bucket b;
    int rc = md_bucket_get(c, j->name, a, &b);

    if (rc == 0 && b.id != j->bucket_id)
        rc = -ENOENT;
    if (rc == 0) {
        j->row.account_id = b.account_id;
        j->row.versioning = b.versioning;
        j->row.mfa_delete = b.mfa_delete;
        rc = md_usage_put(c, &j->row);
    }
    arena_free(a);
    return rc == -ENOENT ? 0 : rc;
}

struct tidy_job {
    int64_t day, now_ms;
    int64_t gone, pruned;
};

static int
tidy_fn(struct md_conn *c, void *arg)
{
    struct tidy_job *j = arg;
    int rc = md_usage_mark_gone(c, j->day, j->now_ms, &j->gone);

    if (rc == 0)
        rc = md_usage_prune(c, j->day - (MD_USAGE_KEEP_DAYS - 1), &j->pruned);
    return rc;
}

/* Reads one bucket's figures and commits its row. */
static int
bucket_refresh(struct md *md, const struct md_usage_opts *o, const struct md_bucket *b,
               int64_t now_ms, struct md_usage_stats *st)
{
    struct md_conn *c = md_reader(md);
    struct arena *a = arena_new();
    struct put_job j = {.name = b->name, .bucket_id = b->id};
    struct md_usage_fig *f = &j.row.f;
    struct str key = STR_NULL;
    int64_t pos = 0, before;
    int rc;

    j.row.day = md_usage_day(now_ms);
    j.row.bucket_id = b->id;
    j.row.bucket = b->name;
    j.row.refreshed_ms = now_ms;
    do {
        if (stopping(o)) {
            rc = -EINTR;
            goto out;
        }
        before = f->current_count + f->noncurrent_count + f->dm_count;
        rc = md_usage_scan_versions(c, b->id, &key, &pos, a, f);
        st->versions += f->current_count + f->noncurrent_count + f->dm_count - before;
    } while (rc > 0);
    if (rc < 0)
        goto out;
    key = STR_NULL;
    pos = 0;
    do {
        if (stopping(o)) {
            rc = -EINTR;
            goto out;
        }
        before = f->mpu_count;
        rc = md_usage_scan_uploads(c, b->id, now_ms - MD_USAGE_MPU_OLD_DAYS * MD_USAGE_DAY_MS,
                                   &key, &pos, a, f);
        st->uploads += f->mpu_count - before;
    } while (rc > 0);
    if (rc < 0)
        goto out;
    rc = md_write(md, put_fn, &j);
    if (rc == 0)
        st->buckets++;
out:
    arena_free(a);
    return rc;
}

int
md_usage_refresh(struct md *md, const struct md_usage_opts *o, struct md_usage_stats *st)
{
    struct md_usage_stats local;
    struct md_conn *c = md_reader(md);
    struct arena *a = arena_new();
    int64_t now_ms = o->now_ms ? o->now_ms : tm_now_ms();
    struct md_bucket *bs = NULL, one;
    size_t n = 0;
    int rc;

    if (st == NULL)
        st = &local;
    memset(st, 0, sizeof(*st));
    if (c == NULL) {
        rc = -EIO;
        goto out;
    }
    if (o->bucket.p != NULL) {
        rc = md_bucket_get(c, o->bucket, a, &one);
        bs = &one;
        n = 1;
    } else {
        rc = md_bucket_list(c, 0, a, &bs, &n);
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = bucket_refresh(md, o, &bs[i], now_ms, st);
    if (rc == 0 && o->bucket.p == NULL) {
        struct tidy_job t = {.day = md_usage_day(now_ms), .now_ms = now_ms};

        rc = md_write(md, tidy_fn, &t);
        st->gone = t.gone;
        st->pruned = t.pruned;
    }
out:
    arena_free(a);
    return rc;
}

/* ---- cofferd's thread -------------------------------------------------------- */

struct md_usage_runner {
    struct md *md;
    int64_t interval_s;
    struct ticker *t;
};

/* One refresh, on the ticker's thread; the next comes interval_s later. */
static int64_t
tick(void *arg, atomic_bool *stop)
{
    struct md_usage_runner *r = arg;
    struct md_usage_opts o = {.stop = stop};
    struct md_usage_stats st;
    int64_t t0 = tm_now_ms();
    int rc;

    if (!md_lease(r->md, MD_LEASE_USAGE)) /* one gateway of a shared store */
        return tm_now_ms() + r->interval_s * 1000;
    rc = md_usage_refresh(r->md, &o, &st);

    if (rc < 0 && rc != -EINTR)
        log_warn("usage: refresh failed: %s (retried at the next interval)", strerror(-rc));
    else if (rc == 0)
        log_debug("usage: %lld buckets (%lld versions, %lld uploads) refreshed in %lld ms, "
                  "%lld gone, %lld old rows pruned",
                  (long long)st.buckets, (long long)st.versions, (long long)st.uploads,
                  (long long)(tm_now_ms() - t0), (long long)st.gone, (long long)st.pruned);
    return tm_now_ms() + r->interval_s * 1000;
}

int
md_usage_runner_start(struct md *md, int64_t interval_s, struct md_usage_runner **out)
{
    struct md_usage_runner *r = xcalloc(1, sizeof(*r));
    int rc;

    ASSERT(interval_s > 0);
    r->md = md;
    r->interval_s = interval_s;
    rc = ticker_start(tick, r, &r->t);
    if (rc < 0) {
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void
md_usage_runner_stop(struct md_usage_runner *r)
{
    if (r == NULL)
        return;
    ticker_stop(r->t);
    free(r);
}
