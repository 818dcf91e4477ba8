/* blob.h -- the data backend: immutable blobs of object data, named by
 * random ids. Local files (blob_file.c: DIR/blobs/XX/ID) or a Ceph RADOS
 * pool (blob_rados.c), each filling blob_int.h's table; no caller
 * changes. Callers never see which backend, paths or fds (except
 * blob_open_fd(), a fast path only the files backend offers).
 *
 * Durability order: a blob is written (files: temp, fsync, rename,
 * directory fsync; RADOS: every chunk acknowledged, then the head's size
 * attribute) and committed before metadata may point at it. Deleting goes the
 * other way: the transaction that drops the last reference records the id
 * in md's trash, and only the reaper (store/trash.h) removes the blob, once
 * its grace period is over and no reader that could have seen the old
 * metadata is still open. A crash leaves orphans for blob_gc(), never a
 * version without data.
 *
 * Readers and leases: whoever reads data opens a blob_reader *before* it
 * reads the metadata that names the blobs, and closes it after the last
 * byte: the reader is the lease that keeps those blobs from being removed
 * (blob_reader_oldest_ms()), however long the reader runs. */
#ifndef COFFER_STORE_BLOB_H
#define COFFER_STORE_BLOB_H

#include <stdint.h>
#include <sys/types.h>

#include "util/str.h"

#define BLOB_ID_LEN 32 /* lower-case hex of 16 random bytes */

struct blob;        /* opaque; thread-safe */
struct blob_writer; /* opaque; one writer per upload, one thread at a time */
struct blob_reader; /* opaque; a read lease; one thread at a time */
struct space;

/* Opens the local-files backend in dir (creates DIR/blobs, DIR/tmp): 0 and
 * an owned handle, or -errno. */
int blob_open(const char *dir, struct blob **out);

/* Where the data lives, from --blobs URL (blob_url.c):
 *   NULL or ""                     the files backend in DIR/blobs (DIR/tmp for temp files)
 *   file:PATH                      the files backend in PATH (temp files in PATH/.tmp)
 *   rados://POOL?conf=FILE&id=NAME&timeout=S&ns=NAMESPACE
 *                                  a Ceph RADOS pool through librados: conf (required)
 *                                  the ceph.conf, id the client name (default admin, i.e.
 *                                  client.admin), timeout the seconds any cluster operation
 *                                  may take before it fails (default 10, 1..300), ns the
 *                                  namespace in the pool (default none: the pool's default
 *                                  namespace), so that several stores can share one pool
 * Values may be %XX-escaped; unknown, repeated or empty parameters are refused. */
enum blob_kind { BLOB_FILES, BLOB_RADOS };

#define BLOB_URL_PATH_MAX 1024
#define BLOB_RADOS_TIMEOUT_DEFAULT_S 10

struct blob_url {
    enum blob_kind kind;
    char path[BLOB_URL_PATH_MAX]; /* files: the blobs directory */
    char tmp[BLOB_URL_PATH_MAX];  /* files: the temp directory (same file system) */
    char pool[128];               /* rados */
    char conf[BLOB_URL_PATH_MAX]; /* rados */
    char id[128];                 /* rados: the client name without "client." */
    char ns[128];                 /* rados: the namespace; "" = the default one */
    int timeout_s;                /* rados */
};

/* Parses url (see above) for data directory dir: 0, or -EINVAL with the
 * reason in err (cap bytes, NUL-terminated). */
int blob_url_parse(const char *url, const char *dir, struct blob_url *out, char *err, size_t cap);
/* Parses url and opens that backend: 0 and an owned handle, -EINVAL with the
 * reason in err, or -errno of the open (err says what failed). */
int blob_open_url(const char *url, const char *dir, struct blob **out, char *err, size_t cap);
/* The backend's name ("files", "rados"). */
const char *blob_backend_name(const struct blob *b);
void blob_close(struct blob *b); /* NULL ok; every reader closed first */
/* Attaches the free-space guard (borrowed; before other threads use b):
 * writers then refuse to start or go on while it is full (-ENOSPC), and an
 * ENOSPC or EDQUOT from the disk releases its reserve. */
void blob_set_space(struct blob *b, struct space *sp);

/* ---- writing: streaming, durable at commit ---- */
/* Starts a new blob. 0 and an owned writer, or -errno (-ENOSPC while the
 * disk is full). */
int blob_writer_open(struct blob *b, struct blob_writer **out);
int blob_writer_write(struct blob_writer *w, const void *p, size_t n); /* 0 or -errno */
int64_t blob_writer_size(const struct blob_writer *w);
/* The blob's size when known (a PUT's Content-Length), before the first
 * write: a backend that buffers sizes its buffer once. A hint, not a
 * limit. */
void blob_writer_expect(struct blob_writer *w, int64_t size);
/* Makes the blob durable under a new id, written into id (BLOB_ID_LEN + 1
 * bytes, NUL-terminated). Frees w in every case; on failure nothing of the
 * blob remains. */
int blob_writer_commit(struct blob_writer *w, char *id);
/* As blob_writer_commit(), under the given id (a copy of a blob of another
 * store: `coffer backup`). -EINVAL for an id that is not one; an existing
 * blob of that id is replaced. */
int blob_writer_commit_as(struct blob_writer *w, struct str id);
/* Discards what was written and frees w. NULL ok. */
void blob_writer_abort(struct blob_writer *w);

/* ---- reading: ranged, under a lease ---- */
/* Starts a read lease now. Caller owns the result (blob_reader_close()). */
struct blob_reader *blob_reader_open(struct blob *b);
/* Ends the lease and releases what the reader holds. NULL ok. */
void blob_reader_close(struct blob_reader *r);
/* pread(2) on blob id: up to n bytes at off; the count, 0 at or past the
 * end, -ENOENT if there is no such blob, or -errno. The reader keeps the
 * last blob it read open, so reading one blob in order costs one open;
 * n == 0 only opens it (checks that it exists). */
ssize_t blob_read(struct blob_reader *r, struct str id, int64_t off, void *p, size_t n);
/* As blob_read() into buf, except that where the backend holds the bytes
 * already (RADOS read-ahead) *p points at them there, valid until the next
 * call on r, and nothing is copied; else *p is buf. */
ssize_t blob_read_view(struct blob_reader *r, struct str id, int64_t off, void *buf, size_t n,
                       const void **p);
/* blob_read(r, id, 0, NULL, 0) for a blob that committed metadata names with
 * size bytes: 0 or -errno. A backend whose check costs a round trip (RADOS)
 * trusts that and skips it; a blob gone meanwhile then shows as -ENOENT from
 * the first blob_read() instead. */
int blob_read_expect(struct blob_reader *r, struct str id, int64_t size);
/* When the oldest open reader started (blob_now_ms() scale), INT64_MAX if
 * none is open. */
int64_t blob_reader_oldest_ms(struct blob *b);
/* The wall clock in ms (CLOCK_REALTIME), the scale of leases and trash. */
int64_t blob_now_ms(void);

/* The files backend's fast path: 0 and an owned read-only fd, -ENOENT,
 * -ENOTSUP on a backend without files, -errno. Take a reader first, as for
 * blob_read(): the fd itself stays readable, the name may not. */
int blob_open_fd(struct blob *b, struct str id, int *fd);

/* ---- removing ---- */
/* Removes blob id now: only the reaper (store/trash.h) and a writer undoing
 * a blob no metadata ever referenced may. 0, -ENOENT, -errno. */
int blob_unlink(struct blob *b, struct str id);
/* Removes temp files and blobs for which is_live(arg, id) returns 0.
 * Files younger than min_age_s are kept (an upload may be between its rename
 * and its metadata commit). Blobs in md's trash are unreferenced and go
 * too: run it only when no reader is open (cofferd runs it at start-up).
 * Returns the number removed or -errno. */
int blob_gc(struct blob *b, int (*is_live)(void *arg, struct str id), void *arg, int min_age_s);

/* ---- readiness ---- */
/* 0 when the backend could store new data now, else -errno (/health/ready):
 * files, an unnamed file can be made in DIR/tmp (a read-only, removed or
 * full directory is caught); RADOS, an OSD of the pool answers a stat
 * within the configured timeout. */
int blob_probe(struct blob *b);

#endif
