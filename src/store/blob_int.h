/* blob_int.h -- what blob.c (the front: leases, checks, dispatch) and a data
 * backend share; included only by src/store/blob*.c. A backend fills one
 * struct blob_backend: blob_files (blob_file.c, one file per blob under
 * DIR/blobs) or blob_rados (blob_rados.c, a Ceph RADOS pool). The structs
 * carry the front's fields and, marked as such, each backend's own, as
 * struct md does for SQLite. */
#ifndef COFFER_STORE_BLOB_INT_H
#define COFFER_STORE_BLOB_INT_H

#include "store/blob.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Every call returns 0 (or a count) or -errno; ids reaching a backend are
 * valid (blob_id_valid()). */
struct blob_backend {
    const char *name;
    /* Opens the store url names (its kind is this backend's); on failure it
     * has closed whatever it opened. close() runs once after a successful open. */
    int (*open)(struct blob *b, const struct blob_url *url);
    void (*close)(struct blob *b);
    /* A new blob being written: w->b is set, the rest zero. commit() makes
     * it durable under a fresh id (BLOB_ID_LEN + 1 bytes; w->want_id when
     * set) and, on failure,
     * removes whatever it wrote; neither commit() nor abort() frees w. */
    int (*writer_open)(struct blob_writer *w);
    int (*writer_write)(struct blob_writer *w, const void *p, size_t n);
    int (*writer_commit)(struct blob_writer *w, char *id);
    void (*writer_abort)(struct blob_writer *w);
    /* The reader's current blob: read_open() makes id current (-ENOENT if
     * it does not exist), read() is pread(2) on it, read_close() drops it
     * (called only after a successful read_open()). */
    int (*read_open)(struct blob_reader *r, struct str id);
    /* read_open() of a blob metadata says is size bytes, without checking
     * (blob_read_expect()); NULL: read_open() is used. */
    int (*read_expect)(struct blob_reader *r, struct str id, int64_t size);
    ssize_t (*read)(struct blob_reader *r, int64_t off, void *p, size_t n);
    /* Up to n bytes at off where the backend holds them (blob_read_view()):
     * the count and *p, 0 when it holds none (read() then), or -errno.
     * NULL: always read(). */
    ssize_t (*read_view)(struct blob_reader *r, int64_t off, size_t n, const void **p);
    void (*read_close)(struct blob_reader *r);
    /* An owned fd on the blob; NULL when the backend has no files. */
    int (*open_fd)(struct blob *b, struct str id, int *fd);
    int (*remove)(struct blob *b, struct str id);
    int (*gc)(struct blob *b, int (*is_live)(void *arg, struct str id), void *arg, int min_age_s);
    /* Whether new data could be stored now (blob_probe()). */
    int (*probe)(struct blob *b);
};

extern const struct blob_backend blob_files;
extern const struct blob_backend blob_rados;

/* blob_rados.c: loads librados (dlopen, once per process): 0, or -ELIBACC
 * with "rados:// needs librados (Debian package librados2): <why>" in err. */
int blob_rados_load(char *err, size_t cap);

#define BLOB_RADOS_MAX_INFLIGHT 2
#define BLOB_RADOS_RA_DEPTH 8 /* at most this many read-ahead windows in flight per reader */

/* A read-ahead window: len bytes of the blob at off in buf; c, while the
 * read is in flight, its librados completion. */
struct blob_ra_win {
    char *buf;
    int64_t off;
    size_t len;
    void *c;
};

struct blob {
    const struct blob_backend *be;
    struct space *space; /* borrowed; NULL: no free-space guard */
    pthread_mutex_t mu;  /* the list of open readers */
    struct blob_reader *readers;

    /* The files backend's own. */
    int blobs_fd; /* DIR/blobs */
    int tmp_fd;   /* DIR/tmp */

    /* The RADOS backend's own (librados' rados_t and rados_ioctx_t). */
    void *cluster;
    void *io;
};

struct blob_writer {
    struct blob *b;
    int64_t size;
    int64_t expect; /* blob_writer_expect()'s, else 0 */
    char want_id[BLOB_ID_LEN + 1]; /* "" = commit() picks a fresh id */

    /* The files backend's own. */
    int fd;
    int64_t flushed; /* bytes whose writeback was started */
    char tmp_name[40];

    /* The RADOS backend's own: the object id chosen at open, the chunk being
     * filled, and the chunk writes in flight (librados completions). */
    char rid[BLOB_ID_LEN + 1];
    char *buf;
    size_t buf_n, buf_cap;
    uint32_t chunks_sent; /* whole chunks handed to RADOS */
    void *inflight[BLOB_RADOS_MAX_INFLIGHT];
    int n_inflight;
};

struct blob_reader {
    struct blob *b;
    int64_t start_ms; /* wall clock when the lease began */
    struct blob_reader *prev, *next;
    char id[BLOB_ID_LEN + 1]; /* the current blob; "" when none */

    /* The files backend's own. */
    int fd;

    /* The RADOS backend's own: the current blob's size and chunk size, and
     * the read-ahead (blob_rados.c): the window being served (ra_cur), the
     * windows in flight in order (a ring of ra_n from ra_head, each with
     * its librados completion) and the buffers free for the next ones. */
    int64_t size, chunk;
    size_t ra_win;   /* this blob's window size */
    int ra_depth;    /* and how many windows go ahead */
    struct blob_ra_win ra_cur, ra_q[BLOB_RADOS_RA_DEPTH];
    int ra_head, ra_n;
    char *ra_spare[BLOB_RADOS_RA_DEPTH + 1];
    int ra_n_spare;
};

/* True for BLOB_ID_LEN lower-case hex digits. */
bool blob_id_valid(struct str id);

#endif
