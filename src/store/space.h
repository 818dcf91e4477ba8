/* space.h -- free space on the data directory's filesystem, and the reserve
 * that keeps deletes working when it runs out.
 *
 * DIR/space.reserve holds a few MiB allocated on disk (fallocate) while
 * there is room. The first ENOSPC anywhere (a blob write, a metadata
 * commit), or free space below a low-water mark when the metadata writer
 * looks, releases it and the store becomes "full": writes that add data are
 * refused at once with -ENOSPC (space_admit), while deletes and other small
 * metadata writes commit into the released room; the data files a delete
 * unlinks give the space back. Once free space exceeds the reserve plus a
 * margin, space_admit re-creates the reserve and writes are accepted again.
 *
 * One per cofferd (the admin CLI does without); blob.c and md.c consult it
 * once attached (blob_set_space(), md_set_space()). Thread-safe; every
 * function accepts NULL (no guard: never full). */
#ifndef COFFER_STORE_SPACE_H
#define COFFER_STORE_SPACE_H

#include <stdbool.h>
#include <stdint.h>

struct space; /* opaque */

/* Opens (creating) DIR/space.reserve and allocates the reserve, or starts
 * full when there is no room for it. 0 and an owned handle, or -errno. */
int space_open(const char *dir, struct space **out);
void space_close(struct space *sp);

/* 0 if a write that adds data may start, -ENOSPC while full. While full,
 * each call checks free space and leaves the full state (re-creating the
 * reserve) once there is room again. */
int space_admit(struct space *sp);
/* True while full; an atomic load (for loops that write data). */
bool space_is_full(struct space *sp);
/* Called where an ENOSPC or EDQUOT was seen: releases the reserve, becomes
 * full. Idempotent. */
void space_exhausted(struct space *sp);
/* Becomes full if free space is below the low-water mark (one statvfs). */
void space_check(struct space *sp);
/* Bytes the reserve holds when allocated (for logs and tests). */
int64_t space_reserve_bytes(struct space *sp);

#endif
