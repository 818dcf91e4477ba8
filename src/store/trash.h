/* trash.h -- emptying the blob trash that md keeps (md_trash_take()): blobs
 * that lost their last reference, unlinked only after the transaction that
 * took them from the trash committed. Shared by cofferd and the admin CLI. */
#ifndef COFFER_STORE_TRASH_H
#define COFFER_STORE_TRASH_H

#include <stddef.h>

#include "util/str.h"

struct blob;
struct md;

#define TRASH_BATCH 1024 /* trash rows taken per md_write() */

/* Unlinks ids[0..n) (already gone from the trash). A failure is logged: the
 * file is then an orphan for blob_gc(). */
void trash_unlink(struct blob *b, const struct str *ids, size_t n);

/* Empties the trash, TRASH_BATCH rows per md_write(). 0, or the first
 * md_write() error (the rest stays in the trash for the next reap). */
int trash_reap(struct md *md, struct blob *b);

#endif
