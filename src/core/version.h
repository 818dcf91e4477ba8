/* version.h -- reading object versions: which version a request names (the
 * current one, or one by version id, "null" included) and opening its data
 * under a read lease (store/blob.h), reading the row again when the data
 * was reclaimed meanwhile. No HTTP, no XML; reads on the calling thread's
 * reader connection. What a request answers for a delete marker is the
 * caller's: GET and a copy differ. */
#ifndef COFFER_CORE_VERSION_H
#define COFFER_CORE_VERSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/core_err.h"
#include "store/md.h"
#include "util/arena.h"
#include "util/str.h"

struct blob_reader;

/* True for "null" or a well-formed generated version id (md_vid_parse()):
 * the only ids a client may send. Pure. */
bool version_id_valid(struct str vid);

/* The version of key that vid names (vid.p == NULL: the current one), read
 * on c. CORE_E_OK with *v (strings in a), a delete marker named by its id
 * included; CORE_E_NO_SUCH_KEY: no current version, or it is a delete
 * marker (*v is that marker); CORE_E_NO_SUCH_VERSION: no such id, or a
 * malformed one; CORE_E_INTERNAL. *v is zeroed when nothing was found. */
enum core_err version_get(struct md_conn *c, int64_t bucket_id, struct str key, struct str vid,
                          struct arena *a, struct md_version *v);

/* Random access to the data of a multipart version (v->parts_count > 0),
 * one blob per part. Loads the whole extent list at open (the rows go with
 * the version, the blobs stay while the lease does); reads part blobs
 * through the caller's blob_reader. */
struct version_reader;

/* Opens v for reading under rd, a lease taken before v was read (borrowed:
 * close the version reader first): 0 and an owned reader, -ENOENT if v's
 * extents are gone (the version was deleted after v was read: read it
 * again), -EIO. Checks that the first part's blob can be opened. */
int version_reader_open(struct md *md, struct blob_reader *rd, const struct md_version *v,
                        struct version_reader **out);
/* Reads up to n bytes at off: > 0, 0 at or past the end, -ENOENT if a part
 * blob is missing (never while the lease holds), -EIO. */
ssize_t version_reader_pread(struct version_reader *r, void *p, size_t n, int64_t off);
void version_reader_close(struct version_reader *r); /* NULL ok */

/* version_get() of (bucket_id, key, vid) on md's reader connection, then
 * its data opened under rd; when the data is gone (a row read before the
 * lease began may name data reaped already, store/trash.h) the row is read
 * again, three tries in all. Each read ends the connection's read snapshot
 * (md_snapshot_end()), so that the next sees newer rows. On CORE_E_OK:
 * *mpu (owned) for a multipart version, *has_blob for a version in one
 * blob (probed, unless the backend trusts the row: blob_read_expect()),
 * neither for inline data, a delete marker, or, with rows_only (a loop
 * thread, which reads no file), data in files: nothing is opened.
 * version_get()'s errors (with *v as it says), or CORE_E_INTERNAL when the
 * data cannot be opened. */
enum core_err version_open(struct md *md, struct blob_reader *rd, int64_t bucket_id,
                           struct str key, struct str vid, bool rows_only, struct arena *a,
                           struct md_version *v, struct version_reader **mpu, bool *has_blob);

#endif
