/* blob.h -- object data files under DIR/blobs, written durably.
 * A blob is immutable once committed: temp file in DIR/tmp, fsync, rename
 * to DIR/blobs/XX/ID, fsync of the directory. Only after that may metadata
 * point at it; deleting metadata comes first, then blob_unlink(). Files no
 * metadata references are orphans for blob_gc(). */
#ifndef COFFER_STORE_BLOB_H
#define COFFER_STORE_BLOB_H

#include <stdint.h>

#include "util/str.h"

#define BLOB_ID_LEN 32 /* lower-case hex of 16 random bytes */

struct blob;        /* opaque; thread-safe */
struct blob_writer; /* opaque; one writer per upload, one thread at a time */
struct space;

int blob_open(const char *dir, struct blob **out); /* creates DIR/blobs, DIR/tmp; -errno */
void blob_close(struct blob *b); /* NULL ok */
/* Attaches the free-space guard (borrowed; before other threads use b):
 * writers then refuse to start or go on while it is full (-ENOSPC), and an
 * ENOSPC or EDQUOT from the disk releases its reserve. */
void blob_set_space(struct blob *b, struct space *sp);

/* Starts a new temp file. 0 and an owned writer, or -errno (-ENOSPC while
 * the disk is full). */
int blob_writer_open(struct blob *b, struct blob_writer **out);
int blob_writer_write(struct blob_writer *w, const void *p, size_t n); /* 0 or -errno */
int64_t blob_writer_size(const struct blob_writer *w);
/* fsync, rename into place, fsync the directory; writes the new id into
 * id (BLOB_ID_LEN + 1 bytes, NUL-terminated). Frees w in every case. */
int blob_writer_commit(struct blob_writer *w, char *id);
/* Unlinks the temp file and frees w. NULL ok. */
void blob_writer_abort(struct blob_writer *w);

/* Opens a committed blob read-only: 0 and an owned fd, -ENOENT, -errno. */
int blob_open_fd(struct blob *b, struct str id, int *fd);
int blob_unlink(struct blob *b, struct str id); /* 0, -ENOENT */
/* Removes temp files and blobs for which is_live(arg, id) returns 0.
 * Files younger than min_age_s are kept (an upload may be between its rename
 * and its metadata commit). Returns the number removed or -errno. */
int blob_gc(struct blob *b, int (*is_live)(void *arg, struct str id), void *arg, int min_age_s);

#endif
