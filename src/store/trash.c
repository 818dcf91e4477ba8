/* trash.c -- see trash.h: the cutoff rule, the reap, and cofferd's reaper
 * thread. */
#include "common.h"
#include "store/trash.h"
#include "store/blob.h"
#include "store/md.h"
#include "util/arena.h"
#include "util/log.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

int64_t
trash_cutoff_ms(struct blob *b, int64_t grace_ms)
{
    /* The clock first: a lease that begins after this reading starts later
     * than the cutoff + grace, so it is covered by the grace alone. */
    int64_t now = blob_now_ms(), oldest = blob_reader_oldest_ms(b);

    return (oldest < now ? oldest : now) - grace_ms;
}

static void
unlink_all(struct blob *b, const struct str *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = blob_unlink(b, ids[i]);
        if (rc < 0 && rc != -ENOENT)
            log_warn("trash: cannot unlink blob %.*s: %s", STR_FMT(ids[i]), strerror(-rc));
    }
}

struct take {
    struct arena *a;
    int64_t cutoff_ms;
    struct str *ids;
    size_t n;
};

static int
take_txn(struct md_conn *c, void *arg)
{
    struct take *t = arg;

    return md_trash_take(c, TRASH_BATCH, t->cutoff_ms, t->a, &t->ids, &t->n);
}

/* Reaps of this process that may hold taken rows not yet unlinked. A reap
 * counts itself before its take commits, so a reap that then finds nothing
 * due sees the count and waits: the request that trashed an upload's parts
 * answers after they are gone even when the reaper thread took them. */
static pthread_mutex_t unlinking_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t unlinking_cv = PTHREAD_COND_INITIALIZER;
static int unlinking;

static void
unlinking_add(int d)
{
    pthread_mutex_lock(&unlinking_mu);
    unlinking += d;
    if (unlinking == 0)
        pthread_cond_broadcast(&unlinking_cv);
    pthread_mutex_unlock(&unlinking_mu);
}

static void
unlinking_wait(void)
{
    pthread_mutex_lock(&unlinking_mu);
    while (unlinking > 0)
        pthread_cond_wait(&unlinking_cv, &unlinking_mu);
    pthread_mutex_unlock(&unlinking_mu);
}

int
trash_reap(struct md *md, struct blob *b, int64_t cutoff_ms)
{
    for (;;) {
        struct take t = {.cutoff_ms = cutoff_ms};
        int rc = md_trash_pending(md_reader(md), cutoff_ms);

        if (rc <= 0) {
            unlinking_wait();
            return rc;
        }
        t.a = arena_new();
        unlinking_add(1);
        rc = md_write(md, take_txn, &t);
        if (rc == 0)
            unlink_all(b, t.ids, t.n);
        unlinking_add(-1);
        arena_free(t.a);
        if (rc < 0 || t.n < TRASH_BATCH) {
            unlinking_wait();
            return rc < 0 ? rc : 0;
        }
    }
}

/* ---- the reaper thread -------------------------------------------------- */

struct trash_reaper {
    struct md *md;
    struct blob *b;
    int64_t grace_ms;
    int64_t period_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    bool stopping;
};

static void *
reaper_main(void *arg)
{
    struct trash_reaper *t = arg;

    pthread_mutex_lock(&t->mu);
    while (!t->stopping) {
        struct timespec until;
        int rc;

        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += t->period_ms / 1000;
        until.tv_nsec += (t->period_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        (void)pthread_cond_timedwait(&t->cv, &t->mu, &until);
        if (t->stopping)
            break;
        pthread_mutex_unlock(&t->mu);
        /* In a shared store one gateway reaps (md_lease()). */
        rc = md_lease(t->md, MD_LEASE_REAPER)
                 ? trash_reap(t->md, t->b, trash_cutoff_ms(t->b, t->grace_ms))
                 : 0;
        if (rc < 0)
            log_warn("trash: cannot empty the blob trash: %s", strerror(-rc));
        pthread_mutex_lock(&t->mu);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

int
trash_reaper_start(struct md *md, struct blob *b, int64_t grace_ms, struct trash_reaper **out)
{
    struct trash_reaper *t = xcalloc(1, sizeof(*t));
    pthread_condattr_t ca;
    int rc;

    t->md = md;
    t->b = b;
    t->grace_ms = grace_ms;
    t->period_ms = grace_ms / 8;
    if (t->period_ms < 100)
        t->period_ms = 100;
    if (t->period_ms > 30000)
        t->period_ms = 30000;
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    rc = pthread_create(&t->thread, NULL, reaper_main, t);
    if (rc != 0) {
        pthread_cond_destroy(&t->cv);
        pthread_mutex_destroy(&t->mu);
        free(t);
        return -rc;
    }
    *out = t;
    return 0;
}

void
trash_reaper_stop(struct trash_reaper *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->mu);
    t->stopping = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
