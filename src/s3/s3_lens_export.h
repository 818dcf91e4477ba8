/* s3_lens_export.h -- S3 Storage Lens metrics exports [spec
 * lifecycle-and-storage-lens B3]: one configuration's report for one day,
 * the CSV (AWS's export schema, one metric a row) and then its
 * manifest.json, written into the configuration's destination bucket as
 * objects (core/object.c's write, as PutObject does), from the usage
 * accounting rows (store/md_usage.h) as of the report day.
 *
 * `coffer lens export` runs one now (s3_lens_export()); cofferd runs them
 * daily on a thread of its own (s3_lens_runner_start()). Not here:
 * Parquet (refused at Put), prefix rows (usage accounting keeps no
 * per-prefix figures), and the advanced tiers' metrics (refused at Put). */
#ifndef COFFER_S3_S3_LENS_EXPORT_H
#define COFFER_S3_S3_LENS_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/str.h"

struct md;
struct blob;
struct s3_lens_runner;

#define S3_LENS_CSV_MAX (256 * 1024 * 1024) /* one report file */
/* [decision] days exported per configuration per wake of cofferd's
 * exporter, oldest first: AWS's free metrics keep 14 days of history, so a
 * server stopped for longer catches up over several wakes, not at once. */
#define S3_LENS_EXPORT_CAP 14
#define S3_LENS_NONE INT64_MIN /* "no day" (nothing delivered yet) */

/* What an export did or why it did not. Strings are in the arena given to
 * s3_lens_export() (reason is static); fields are set as far as the
 * export got. */
struct s3_lens_export_result {
    const char *reason;   /* a failure's static text: what failed, or the S3 error code of a
                           * refused object write (-EPROTO) */
    char date[11];        /* the report day, YYYY-MM-DD */
    struct str bucket;    /* the destination bucket */
    struct str region;    /* its Region: the report's aws_region */
    struct str report;    /* the report's key */
    struct str manifest;  /* manifest.json's key */
    struct str key;       /* -EPROTO: the key whose write was refused */
    int64_t buckets;      /* BUCKET records written */
    int64_t rows;         /* CSV rows after the header */
};

/* Exports account_id's configuration config_id for UTC day `day`
 * (md_usage_day()): the report, then the manifest that names it. Reads on
 * this thread's reader connection; only the two object writes go through
 * md_write(). A report larger than STORE_INLINE_MAX goes to a data file of
 * bl first. 0 with *out, or, with out->reason:
 *   -EINVAL     config_id is not a configuration id
 *   -ENOENT     the account has no such configuration
 *   -ECANCELED  the configuration is disabled (it makes no new metrics)
 *   -ENOMSG     it has no export (DataExport.S3BucketDestination)
 *   -ENXIO      the destination bucket is gone or no longer the account's
 *   -EEXIST     the day was delivered already (its manifest exists): a
 *               delivered day is never written again
 *   -E2BIG      the report would be larger than S3_LENS_CSV_MAX
 *   -EPROTO     an object write was refused (reason: its S3 error code)
 *   -EIO or another -errno: a store error (reason: what was being done). */
int s3_lens_export(struct md *md, struct blob *bl, int64_t account_id, struct str config_id,
                   int64_t day, struct arena *a, struct s3_lens_export_result *out);

/* The days cofferd's exporter delivers for one configuration: from the day
 * after the newest delivered one (S3_LENS_NONE: none delivered) or the
 * configuration's creation day, whichever is later, and never before the
 * usage history kept (yesterday - MD_USAGE_KEEP_DAYS + 1), up to yesterday,
 * at most cap days, oldest first. *first is the first; returns how many
 * (0 when there is none). Pure. */
int64_t s3_lens_export_days(int64_t created_day, int64_t newest_delivered, int64_t yesterday,
                            int64_t cap, int64_t *first);

/* cofferd's exporter thread: at start, every interval_s and just after each
 * UTC day boundary, it exports every enabled configuration with a
 * destination, of every account, for s3_lens_export_days() (the newest
 * delivered day is the newest with a manifest). A failed export is logged
 * and retried at the next wake. 0 and an owned runner, or -errno. md and bl
 * are borrowed and must outlive it. */
int s3_lens_runner_start(struct md *md, struct blob *bl, int64_t interval_s,
                         struct s3_lens_runner **out);
/* Stops it between two exports and joins the thread. NULL ok. */
void s3_lens_runner_stop(struct s3_lens_runner *r);

#endif
