/* s3_lifecycle_run.h -- the lifecycle executor [spec lifecycle A3]: passes
 * over every bucket with a lifecycle configuration that evaluate each
 * version and upload (core/lifecycle.h) and apply what is due
 * (core/lifecycle_act.h), off the request path.
 *
 * A pass over a bucket reads its versions in (key, seq) pages from the
 * index (md_lc_scan(), bounded memory whatever the bucket's size), then its
 * uploads, and commits each page's actions in one transaction together
 * with the bucket's progress row (md_lc_state): after a kill -9 the pass
 * resumes behind the last committed page, and the primitives' own checks
 * (the row still the one evaluated) make a repeated action a no-op, so no
 * action is done twice and none is lost. The configuration is re-read for
 * every pass [A3.3 decision]; a bucket with MFA delete enabled is never
 * acted on (the primitives re-check it in the deleting transaction).
 *
 * cofferd runs passes on a thread of its own (s3_lc_runner_start()): at
 * start, then every interval and just after each day boundary, paced so a
 * pass never holds the writer for long. `coffer lifecycle run` runs one pass
 * now (s3_lc_pass()). Two executors on one store (a running cofferd and the
 * CLI) are safe for the same reason a resumed pass is. */
#ifndef COFFER_S3_S3_LIFECYCLE_RUN_H
#define COFFER_S3_S3_LIFECYCLE_RUN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/str.h"

struct md;
struct s3_lc_runner;

#define S3_LC_PAGE 256 /* versions (or uploads) read, and acted on, per transaction */

/* One action, done or (dry run) due, for reports. Strings are borrowed for
 * the call. */
struct s3_lc_event {
    struct str bucket, key, version_id, upload_id, rule_id;
    const char *action; /* "expire", "expire-delete-marker", "expire-noncurrent",
                         * "transition", "transition-noncurrent", "abort-upload" */
    struct str storage_class; /* transitions' target */
    const char *result;       /* lifecycle_act_result_name(), or "due" in a dry run */
};

struct s3_lc_opts {
    int64_t day_s;   /* length of a lifecycle day (LC_DAY_S, or a test's short day) */
    int64_t now_ms;  /* the pass's clock; 0: the wall clock */
    struct str bucket; /* STR_NULL: every bucket */
    bool dry_run;    /* evaluate and report, change nothing */
    int64_t max_rate; /* actions per second at most; 0: no limit */
    void (*report)(void *arg, const struct s3_lc_event *e); /* NULL: none */
    void *report_arg;
    atomic_bool *stop; /* checked between pages; NULL: never */
};

struct s3_lc_stats {
    int64_t buckets;  /* buckets with a configuration passed over */
    int64_t versions; /* versions evaluated */
    int64_t uploads;  /* uploads evaluated */
    int64_t due;      /* actions due */
    int64_t done;     /* of them done (LC_ACT_DONE) */
};

/* One pass over every bucket (or o->bucket), resuming each bucket's
 * unfinished pass. 0, or the first store error (-errno; the buckets after
 * it are left for the next pass). *st may be NULL. */
int s3_lc_pass(struct md *md, const struct s3_lc_opts *o, struct s3_lc_stats *st);

/* cofferd's executor thread: a pass at start, then every interval_s and
 * just after each day boundary (days of day_s seconds). 0 and an owned
 * runner, or -errno. md is borrowed and must outlive it. */
int s3_lc_runner_start(struct md *md, int64_t day_s, int64_t interval_s,
                       struct s3_lc_runner **out);
/* Stops it between two pages and joins the thread. NULL ok. */
void s3_lc_runner_stop(struct s3_lc_runner *r);

#endif
