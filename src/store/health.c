/* health.c -- store probes and figures for the admin listener; see health.h. */
#include "common.h"
#include "store/health.h"
#include "store/md.h"
#include "store/md_int.h"
#include "util/metrics.h"

#include <errno.h>

/* BKT_STATS reads the buckets table whole (it is in test_query_plans'
 * scans_ok): a bucket row is small and a server holds thousands at most,
 * and this runs once per probe or scrape. */
int
md_bucket_stats(struct md *md, struct md_bucket_stats *st)
{
    struct md_conn *c = md_reader(md);
    struct stmt *s;
    int rc;

    *st = (struct md_bucket_stats){0};
    if ((s = get(c, ST_BKT_STATS)) == NULL)
        return get_fail(c);
    rc = step(c, s);
    if (rc < 0)
        return rc;
    if (rc > 0) {
        st->buckets = col_i64(s, 0);
        st->versioning_enabled = col_i64(s, 1);
        st->mfa_delete_enabled = col_i64(s, 2);
    }
    done(s);
    return 0;
}

static const uint64_t group_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
const struct mx_family md_group_jobs = {
    .name = "coffer_md_group_jobs",
    .help = "Metadata writes per group commit (one transaction and fsync each).",
    .type = MX_HISTOGRAM,
    .bounds = group_bounds,
    .n_bounds = ARRAY_LEN(group_bounds),
};

const struct mx_family md_round_trips = {
    .name = "coffer_md_round_trips_total",
    .help = "Round trips to a PostgreSQL metadata store, by what they carried: a statement, "
            "a transaction's control (begin, savepoints, commit), a lease check.",
    .type = MX_COUNTER,
    .label = {"kind"},
};

void
md_writer_stats(struct md *md, struct md_writer_stats *st)
{
    pthread_mutex_lock(&md->mu);
    st->jobs = md->n_jobs;
    st->groups = md->n_groups;
    st->commits = md->n_commits;
    pthread_mutex_unlock(&md->mu);
}

