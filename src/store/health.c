/* health.c -- store probes and figures for the admin listener; see health.h. */
#include "common.h"
#include "store/blob_int.h"
#include "store/health.h"
#include "store/md.h"
#include "store/md_int.h"
#include "util/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

int
md_bucket_stats(struct md *md, struct md_bucket_stats *st)
{
    static const char sql[] = "SELECT count(*), coalesce(sum(versioning = 1), 0), "
                              "coalesce(sum(mfa_delete != 0), 0) FROM buckets";
    struct md_conn *c = md_reader(md);
    sqlite3_stmt *s = NULL;
    int rc;

    *st = (struct md_bucket_stats){0};
    if (c == NULL)
        return -EIO;
    /* Prepared per call: one scrape every few seconds at most. */
    if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        st->buckets = sqlite3_column_int64(s, 0);
        st->versioning_enabled = sqlite3_column_int64(s, 1);
        st->mfa_delete_enabled = sqlite3_column_int64(s, 2);
        rc = 0;
    } else {
        rc = rc == SQLITE_BUSY ? -EBUSY : -EIO;
    }
    sqlite3_finalize(s);
    return rc;
}

static const uint64_t group_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
const struct mx_family md_group_jobs = {
    .name = "coffer_md_group_jobs",
    .help = "Metadata writes per group commit (one transaction and fsync each).",
    .type = MX_HISTOGRAM,
    .bounds = group_bounds,
    .n_bounds = ARRAY_LEN(group_bounds),
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

int
blob_probe(struct blob *b)
{
    int fd;

    if (b->tmp_fd < 0)
        return -EBADF;
    fd = openat(b->tmp_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    close(fd);
    return 0;
}
