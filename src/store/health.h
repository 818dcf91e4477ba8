/* health.h -- what the admin listener asks the stores (s3/s3_admin.c):
 * whether they are usable (/health/ready) and the figures read at scrape
 * time (/metrics). Cheap enough to run on every probe and scrape. */
#ifndef COFFER_STORE_HEALTH_H
#define COFFER_STORE_HEALTH_H

#include <stdint.h>

struct mx_family;
struct md;

struct md_bucket_stats {
    int64_t buckets;
    int64_t versioning_enabled; /* versioning Enabled (not Suspended) */
    int64_t mfa_delete_enabled;
};

/* One read on the calling thread's reader connection: the bucket counts.
 * 0, or -errno when the metadata store does not answer. */
int md_bucket_stats(struct md *md, struct md_bucket_stats *st);

/* The group-commit writer's totals since start (md_writer.c): closures run,
 * groups (transactions begun) and commits that succeeded. */
struct md_writer_stats {
    uint64_t jobs, groups, commits;
};
void md_writer_stats(struct md *md, struct md_writer_stats *st);
/* Closures per group, observed by the writer thread: coffer_md_group_jobs. */
extern const struct mx_family md_group_jobs;
/* PostgreSQL round trips (md_pg.c), label kind: statement, transaction,
 * prepare, lease. */
extern const struct mx_family md_round_trips;

#endif
