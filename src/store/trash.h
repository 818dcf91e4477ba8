/* trash.h -- the reaper: the one place that removes data which metadata
 * referenced. Every transaction that drops a blob's last reference records
 * it in md's trash (md_trash_add(), md.h); nobody unlinks it then. The
 * reaper takes rows that are due from the trash in a write, and unlinks
 * their blobs after that write committed.
 *
 * When a row is due. A version's data is stamped with the wall clock when
 * it is trashed; it is due once the stamp is older than the grace period G
 * *and* older, by G too, than the oldest open read lease (blob.h): cutoff =
 * min(now, oldest lease) - G. A reader takes its lease before it reads the
 * metadata, so every reader that may have seen a version started before
 * that version's delete committed, and keeps its blobs for as long as it
 * runs, however long that is. G covers what the lease cannot: the time
 * between the stamp and the commit of the deleting transaction (a
 * reader starting in between sees the old row), a wall clock set back, and
 * readers in other processes (none today: the admin CLI reads no data).
 * cofferd's default is 15 minutes (--reclaim-grace). An upload's parts are
 * stamped 0: no reader ever opens them, they are due at once.
 *
 * Owners: trash_reap() alone unlinks, under that rule. cofferd runs it from
 * its reaper thread (trash_reaper_start()) and after a request that
 * trashed something (which so frees an upload's parts at once); the admin
 * CLI reaps only rows stamped 0 (it cannot see cofferd's leases). A crash
 * between take and unlink leaves orphans for blob_gc(). */
#ifndef COFFER_STORE_TRASH_H
#define COFFER_STORE_TRASH_H

#include <stddef.h>
#include <stdint.h>

#include "util/str.h"

struct blob;
struct md;
struct trash_reaper;

#define TRASH_BATCH 1024                 /* trash rows taken per md_write() */
#define TRASH_GRACE_DEFAULT_S (15 * 60) /* cofferd's --reclaim-grace */

/* The newest stamp that is due: min(now, oldest open reader of b) - grace_ms. */
int64_t trash_cutoff_ms(struct blob *b, int64_t grace_ms);

/* Takes every row stamped at or before cutoff_ms from the trash,
 * TRASH_BATCH rows per md_write(), unlinking each batch after its write
 * committed. 0, or the first md_write() error (the rest stays in the trash
 * for the next reap). An unlink failure is logged: the file is then an
 * orphan for blob_gc(). It returns only once no other reap of this process
 * is unlinking rows it took, so what was due when it began is gone from
 * this process's view, whichever reap took it (another process's reaper
 * may still be unlinking what it took). */
int trash_reap(struct md *md, struct blob *b, int64_t cutoff_ms);

/* Starts the reaper thread: trash_reap(trash_cutoff_ms(b, grace_ms)) every
 * grace/8 (0.1 to 30 s). 0 and an owned reaper, or -errno. md and b are
 * borrowed and must outlive it. */
int trash_reaper_start(struct md *md, struct blob *b, int64_t grace_ms, struct trash_reaper **out);
/* Stops and joins the thread. NULL ok. */
void trash_reaper_stop(struct trash_reaper *t);

#endif
