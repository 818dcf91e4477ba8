/* space.c -- the free-space reserve (see space.h).
 *
 * Why a reserve file rather than SQLite alone: measured on a 32 MiB ext4
 * filled with 60 KB (inline) objects, meta.db had 4 MiB of log that its
 * checkpoint could not copy into the database (the file must grow), so
 * every later commit, deletes included, failed with SQLITE_FULL: SQLite
 * has no room of its own to fall back on. Freeing RESERVE_MAX bytes lets
 * that checkpoint (at most wal_autocheckpoint = 1000 pages of 4 KiB)
 * finish and leaves as much again for the log of the deletes that follow.
 * Blob writes stop while full, so nothing else eats that room. */
#include "common.h"
#include "store/space.h"
#include "util/log.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define RESERVE_NAME "space.reserve"
#define RESERVE_MAX (8 * 1024 * 1024)
#define MIB (1024 * 1024)

struct space {
    int dir_fd;
    int fd;          /* DIR/space.reserve; -1 until it could be created */
    int64_t reserve; /* bytes: RESERVE_MAX, or a quarter of a small filesystem */
    int64_t low;     /* below this much free space the store is full */
    int64_t margin;  /* free space beyond the reserve needed to leave full */
    atomic_bool is_full;
    pthread_mutex_t mu; /* transitions */
};

/* Free bytes for unprivileged writers, or -errno. */
static int64_t
free_bytes(struct space *sp, int64_t *total)
{
    struct statvfs st;

    if (fstatvfs(sp->dir_fd, &st) < 0)
        return -errno;
    if (total != NULL)
        *total = (int64_t)st.f_blocks * (int64_t)st.f_frsize;
    return (int64_t)st.f_bavail * (int64_t)st.f_frsize;
}

static int
open_reserve(struct space *sp)
{
    if (sp->fd < 0)
        sp->fd = openat(sp->dir_fd, RESERVE_NAME, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    return sp->fd < 0 ? -errno : 0;
}

/* Under mu. */
static void
release(struct space *sp)
{
    if (sp->fd >= 0 && ftruncate(sp->fd, 0) < 0)
        log_error("space: cannot release the reserve: %s", strerror(errno));
    atomic_store(&sp->is_full, true);
}

/* Under mu: allocates the reserve if free space allows it with margin to
 * spare; 0 when no longer full, -ENOSPC otherwise. The file needs no
 * fsync: after a crash space_open() allocates it again. */
static int
restore(struct space *sp)
{
    int64_t avail = free_bytes(sp, NULL);
    int rc;

    if (avail < 0 || avail < sp->reserve + sp->margin)
        return -ENOSPC;
    rc = open_reserve(sp);
    if (rc == 0)
        rc = -posix_fallocate(sp->fd, 0, sp->reserve);
    if (rc < 0) {
        if (sp->fd >= 0 && ftruncate(sp->fd, 0) < 0)
            log_error("space: cannot release the reserve: %s", strerror(errno));
        return -ENOSPC;
    }
    atomic_store(&sp->is_full, false);
    return 0;
}

int
space_open(const char *dir, struct space **out)
{
    struct space *sp = xcalloc(1, sizeof(*sp));
    int64_t total = 0, avail;
    int rc;

    sp->fd = -1;
    pthread_mutex_init(&sp->mu, NULL);
    sp->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sp->dir_fd < 0) {
        rc = -errno;
        goto fail;
    }
    avail = free_bytes(sp, &total);
    if (avail < 0) {
        rc = (int)avail;
        goto fail;
    }
    /* A quarter at most of a small filesystem (tests use 16-32 MiB). */
    sp->reserve = total / 4 < RESERVE_MAX ? (total / 4) & ~(int64_t)4095 : RESERVE_MAX;
    sp->low = sp->reserve / 8;
    sp->margin = sp->reserve / 2;
    /* Creating the file needs an inode and a directory entry: on a full
     * disk that may fail, and restore() tries again later. */
    rc = open_reserve(sp);
    if (rc < 0 && rc != -ENOSPC && rc != -EDQUOT)
        goto fail;
    /* Start from nothing: a reserve left by the last run counts as free
     * space, and a full disk gets its room back before anything else. */
    pthread_mutex_lock(&sp->mu);
    release(sp);
    rc = restore(sp);
    pthread_mutex_unlock(&sp->mu);
    if (rc < 0)
        log_warn("space: %s is full (%lld KiB free): writes that add data are refused until "
                 "%lld MiB are free",
                 dir, (long long)(avail / 1024), (long long)((sp->reserve + sp->margin) / MIB));
    *out = sp;
    return 0;
fail:
    space_close(sp);
    return rc;
}

void
space_close(struct space *sp)
{
    if (sp == NULL)
        return;
    if (sp->fd >= 0)
        close(sp->fd);
    if (sp->dir_fd >= 0)
        close(sp->dir_fd);
    pthread_mutex_destroy(&sp->mu);
    free(sp);
}

bool
space_is_full(struct space *sp)
{
    return sp != NULL && atomic_load_explicit(&sp->is_full, memory_order_relaxed);
}

int
space_admit(struct space *sp)
{
    bool restored = false;
    int rc = 0;

    if (!space_is_full(sp))
        return 0;
    pthread_mutex_lock(&sp->mu);
    if (atomic_load(&sp->is_full)) {
        rc = restore(sp);
        restored = rc == 0;
    }
    pthread_mutex_unlock(&sp->mu);
    if (restored)
        log_info("space: free space is back; reserve re-created, writes accepted again");
    return rc;
}

void
space_exhausted(struct space *sp)
{
    bool was_full;

    if (sp == NULL)
        return;
    pthread_mutex_lock(&sp->mu);
    was_full = atomic_load(&sp->is_full);
    if (!was_full)
        release(sp);
    pthread_mutex_unlock(&sp->mu);
    if (!was_full)
        log_warn("space: disk full; released the %lld KiB reserve for deletes, writes that add "
                 "data get 507 until space is freed",
                 (long long)(sp->reserve / 1024));
}

void
space_check(struct space *sp)
{
    int64_t avail;

    if (sp == NULL || space_is_full(sp))
        return;
    avail = free_bytes(sp, NULL);
    if (avail >= 0 && avail < sp->low)
        space_exhausted(sp);
}

int64_t
space_reserve_bytes(struct space *sp)
{
    return sp != NULL ? sp->reserve : 0;
}
