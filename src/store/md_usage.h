/* md_usage.h -- usage accounting: per bucket and per UTC day, what S3
 * Storage Lens's free metrics count [spec lifecycle-and-storage-lens B4],
 * read by the Storage Lens export, the /metrics gauges and the dashboard.
 *
 * Kept by a bounded background scan, never per request: a refresh pages
 * through each bucket's versions (index only, MD_USAGE_PAGE rows per
 * statement, constant memory) and uploads, then upserts the bucket's row
 * for today (schema 14, table usage_daily; docs/internals/md.md). cofferd
 * refreshes at start and every --usage-interval seconds
 * (md_usage_runner_start()); `coffer usage refresh` runs one now.
 *
 * Days: a day is the UTC day number, floor(unix ms / 86,400,000)
 * (md_usage_day()). A day without a refresh has no row: every reader takes,
 * for each bucket, its latest row on or before the day asked for. A deleted
 * bucket keeps its rows (history) and stops getting new ones: the first
 * refresh that finds it gone writes a "gone" row for that day, so it is in
 * no reading from that day on. Rows older than MD_USAGE_KEEP_DAYS days are
 * pruned by the refresh.
 *
 * Figures [B4 decisions]: current = latest versions that are not delete
 * markers; noncurrent = older versions that are not delete markers;
 * delete markers (all of them, latest or not) weigh their key's length in
 * bytes; incomplete multipart uploads count one each and weigh the parts
 * stored so far. StorageBytes and ObjectCount are the sums of all four
 * (md_usage_storage_bytes(), md_usage_object_count()). */
#ifndef COFFER_STORE_MD_USAGE_H
#define COFFER_STORE_MD_USAGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/md.h"
#include "util/arena.h"
#include "util/str.h"

#define MD_USAGE_DAY_MS 86400000LL
#define MD_USAGE_KEEP_DAYS 457 /* 15 months (AWS advanced tier keeps 15 months) */
#define MD_USAGE_PAGE 4096     /* versions or uploads read per statement by a refresh */
#define MD_USAGE_MPU_OLD_DAYS 7 /* IncompleteMPU...OlderThan7Days */
#define MD_USAGE_LATEST INT64_MAX /* "day": as of the latest refresh */

/* The UTC day number of unix time ms. */
static inline int64_t
md_usage_day(int64_t ms)
{
    return ms >= 0 ? ms / MD_USAGE_DAY_MS : -((-ms + MD_USAGE_DAY_MS - 1) / MD_USAGE_DAY_MS);
}

/* One bucket's figures (or a sum of them). */
struct md_usage_fig {
    int64_t current_count, current_bytes;       /* CurrentVersion{ObjectCount,StorageBytes} */
    int64_t noncurrent_count, noncurrent_bytes; /* NonCurrentVersion{ObjectCount,StorageBytes} */
    int64_t dm_count, dm_bytes;                 /* DeleteMarker{ObjectCount,StorageBytes} */
    int64_t mpu_count, mpu_bytes;               /* IncompleteMultipartUpload{ObjectCount,StorageBytes} */
    int64_t mpu_old_count, mpu_old_bytes;       /* of them initiated more than 7 days before the
                                                 * refresh: IncompleteMPU...OlderThan7Days */
};

/* StorageBytes: current + noncurrent + delete-marker + incomplete-upload bytes. */
static inline int64_t
md_usage_storage_bytes(const struct md_usage_fig *f)
{
    return f->current_bytes + f->noncurrent_bytes + f->dm_bytes + f->mpu_bytes;
}
/* ObjectCount: current + noncurrent versions + delete markers + incomplete uploads. */
static inline int64_t
md_usage_object_count(const struct md_usage_fig *f)
{
    return f->current_count + f->noncurrent_count + f->dm_count + f->mpu_count;
}
/* a += b, field by field. */
void md_usage_fig_add(struct md_usage_fig *a, const struct md_usage_fig *b);

/* One bucket's row for one day. */
struct md_usage_row {
    int64_t day;        /* the refresh's UTC day (on a read: the row's own day, <= the day asked) */
    int64_t bucket_id;  /* buckets.id; the bucket may be gone since (history) */
    int64_t account_id; /* owner when the row was written */
    struct str bucket;  /* name when the row was written */
    enum md_versioning versioning;
    enum md_mfa mfa_delete;
    struct md_usage_fig f;
    int64_t refreshed_ms; /* when the figures were read (wall clock) */
};

/* Sums of the rows of one account (or all) as of one day. */
struct md_usage_sum {
    int64_t day;                /* the day asked for (MD_USAGE_LATEST: as asked) */
    int64_t account_id;         /* 0: all accounts */
    int64_t buckets;            /* buckets with a row: Storage Lens's bucket count */
    int64_t versioning_enabled; /* VersioningEnabledBucketCount (versioning Enabled) */
    int64_t mfa_delete_enabled; /* MFADeleteEnabledBucketCount */
    struct md_usage_fig f;
    int64_t refreshed_ms; /* newest refreshed_ms summed; 0 when there is no row */
};

/* ---- readers (any connection; account_id 0: every account) ---------------- */

/* Each bucket's row as of day (its latest on or before day, buckets gone by
 * then left out; MD_USAGE_LATEST: the latest rows), ordered by account id,
 * then bucket name. 0 with *out an arena array of *n (strings in a), or
 * -errno. */
int md_usage_rows(struct md_conn *c, int64_t account_id, int64_t day, struct arena *a,
                  struct md_usage_row **out, size_t *n);

/* The sums of md_usage_rows(c, account_id, day) in *out (all zero, buckets
 * 0, when there is no row). 0 or -errno. For /metrics: day MD_USAGE_LATEST. */
int md_usage_total(struct md_conn *c, int64_t account_id, int64_t day, struct md_usage_sum *out);

/* The same sums per account that has a row as of day, ordered by account
 * id: 0 with *out an arena array of *n, or -errno. */
int md_usage_by_account(struct md_conn *c, int64_t day, struct arena *a, struct md_usage_sum **out,
                        size_t *n);

/* Daily sums for every day from first to last (inclusive, last - first <
 * MD_USAGE_KEEP_DAYS + 1), each as md_usage_total() would give it (but
 * refreshed_ms: the newest refresh on or before that day), in one pass over
 * the rows: the trend. *out is an arena array of last - first + 1 entries,
 * day ascending. -EINVAL for a bad range, -errno. */
int md_usage_daily(struct md_conn *c, int64_t account_id, int64_t first, int64_t last,
                   struct arena *a, struct md_usage_sum **out);

/* ---- what a refresh reads and writes --------------------------------------- */

/* Adds the versions of bucket_id strictly after the cursor (*key, *seq)
 * (key in arena a; key->p == NULL starts at the beginning), at most
 * MD_USAGE_PAGE of them, to *f and advances the cursor. 1 when more may
 * follow, 0 at the end, -errno. One statement: no snapshot is held between
 * pages. */
int md_usage_scan_versions(struct md_conn *c, int64_t bucket_id, struct str *key, int64_t *seq,
                           struct arena *a, struct md_usage_fig *f);
/* The same for bucket_id's incomplete uploads after the cursor (*key, *id);
 * an upload initiated before old_before_ms also counts in mpu_old_*. */
int md_usage_scan_uploads(struct md_conn *c, int64_t bucket_id, int64_t old_before_ms,
                          struct str *key, int64_t *id, struct arena *a, struct md_usage_fig *f);

/* Stores r as bucket r->bucket_id's row for r->day (insert or replace). In
 * md_write(). */
int md_usage_put(struct md_conn *c, const struct md_usage_row *r);
/* Writes a "gone" row for day for each bucket whose latest row is not gone
 * and which no longer exists; *n how many (may be NULL). In md_write(). */
int md_usage_mark_gone(struct md_conn *c, int64_t day, int64_t now_ms, int64_t *n);
/* Deletes rows of days before before_day; *n how many (may be NULL). In
 * md_write(). */
int md_usage_prune(struct md_conn *c, int64_t before_day, int64_t *n);

/* ---- the refresh ----------------------------------------------------------- */

struct md_usage_opts {
    int64_t now_ms;    /* the refresh's clock (its day); 0: the wall clock */
    struct str bucket; /* STR_NULL: every bucket (and mark gone ones, prune) */
    atomic_bool *stop; /* checked between pages; NULL: never */
};
struct md_usage_stats {
    int64_t buckets, versions, uploads; /* buckets refreshed, rows read */
    int64_t gone, pruned;               /* rows written / deleted */
};
/* Refreshes today's row of every bucket (or o->bucket: -ENOENT if it does
 * not exist). Each bucket is read page by page on this thread's reader
 * connection and committed with one md_write(). 0, -EINTR (stopped), or
 * the first error (-errno). *st may be NULL. */
int md_usage_refresh(struct md *md, const struct md_usage_opts *o, struct md_usage_stats *st);

/* cofferd's thread: md_usage_refresh() at start, then every interval_s.
 * 0 and an owned runner, or -errno. md is borrowed and must outlive it. */
struct md_usage_runner;
int md_usage_runner_start(struct md *md, int64_t interval_s, struct md_usage_runner **out);
/* Stops it between two pages and joins the thread. NULL ok. */
void md_usage_runner_stop(struct md_usage_runner *r);

#endif
