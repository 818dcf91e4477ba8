/* blob_rados.c -- the Ceph RADOS data backend (blob_int.h's blob_rados),
 * through librados, in one pool (and namespace, ns=) of the cluster
 * --blobs rados://POOL?conf= names (blob.h).
 *
 * Layout: a blob is cut into chunks of CHUNK bytes (4 MiB, as radosgw's own
 * stripes): chunk 0 is the RADOS object named by the blob id, chunk k > 0 is
 * "<id>.<k as 8 hex digits>". 4 MiB keeps every object far below the OSDs'
 * osd_max_object_size (128 MiB in Pacific), spreads a large blob over
 * placement groups (so over OSDs) and bounds the memory of one operation and
 * of a retried one; larger chunks would not make small blobs cheaper, since
 * those fit in one chunk anyway (and the smallest objects never get here:
 * they live inline in the metadata).
 *
 * Commit: the writer picks a fresh random id at open and sends each full
 * chunk as it fills (aio, at most BLOB_RADOS_MAX_INFLIGHT in flight, each
 * buffer copied by librados). At commit the last chunk goes out, every
 * write is waited for (RADOS acknowledges a write once it is on all the
 * pool's replicas), and only then does the head object get its SIZE_XATTR
 * ("<size> <chunk size>"): a blob exists for readers exactly when its head
 * has that attribute. A blob of one chunk is a single atomic write op (data
 * and attribute). Nothing references the id before metadata commits, so an
 * aborted or crashed writer leaves only unreferenced objects, which
 * blob_gc() lists and removes (grouped by id, by the newest mtime of the
 * group, so an upload still sending chunks is never taken for an orphan).
 *
 * Every cluster operation is bounded by the URL's timeout (librados'
 * rados_osd_op_timeout, rados_mon_op_timeout, client_mount_timeout): a slow
 * or down cluster fails the request with -ETIMEDOUT (503 SlowDown), never
 * hangs it. No file descriptors: blob_open_fd() is -ENOTSUP.
 *
 * Read-ahead: a read of RA_MIN bytes or more is taken for a stream (a GET
 * sends 256 KiB at a time). It starts the blob's windows (never past a
 * chunk) with rados_aio_read() at once, the first from the read's offset,
 * and waits for that one only, so the OSD reads while the caller sends;
 * each window made current starts one more. A window is an eighth of the
 * blob, a power of two from 512 KiB to the chunk, and as many go ahead as
 * keep 16 MiB in flight, 8 at most (radosgw's own GET keeps a 16 MiB window
 * of 4 MiB reads). A 1 MiB blob is two 512 KiB reads side by side (1 MiB
 * GETs at 8 connections: 1,082 MB/s against 1,022 as one 1 MiB read); a
 * blob of 32 MiB or more streams in whole chunks, 4 ahead: one 256 MiB GET
 * went from 1,255-1,337 MB/s with 8 windows of 512 KiB to 1,382-1,518,
 * with a quarter less OSD CPU per byte, as each read costs the OSD about
 * as much whatever its size. Without read-ahead every 256 KiB of a GET waited
 * for its own round trip (0.30x of the files backend,
 * bench/results/2026-12-07-blobs-bc0427f.md). A read elsewhere (a range,
 * a seek) drops the windows in flight; small reads go to RADOS as asked.
 * Up to 9 buffers of a window (or of the blob, if smaller) per reader,
 * 20 MiB at most, freed with its blob. blob_read_view() serves a window
 * in place, with no copy out of it.
 *
 * librados (a C++ library, ~12 MB of RSS and ~6 ms of start-up with its
 * dependencies) is loaded with dlopen() on the first rados:// open, not
 * linked: binaries that never use RADOS (coffer --version, the fuzz targets)
 * do not pay for it. Its functions are called through R, typed from
 * <rados/librados.h>. */
#include "common.h"
#include "store/blob_int.h"
#include "crypto/hash.h"
#include "util/enc.h"
#include "util/xmalloc.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <rados/librados.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK ((size_t)4 * 1024 * 1024) /* every blob's: rados_read_expect() relies on it */
#define SIZE_XATTR "coffer.size"
#define OID_MAX (BLOB_ID_LEN + 1 + 8 + 1) /* "<id>.<8 hex>" */

/* ---- librados, loaded on first use ---------------------------------------- */

#define RADOS_FNS(X)                                                                               \
    X(aio_create_completion2)                                                                      \
    X(aio_get_return_value)                                                                        \
    X(aio_read)                                                                                    \
    X(aio_release)                                                                                 \
    X(aio_remove)                                                                                  \
    X(aio_wait_for_complete)                                                                       \
    X(aio_write_full)                                                                              \
    X(conf_read_file)                                                                              \
    X(conf_set)                                                                                    \
    X(connect)                                                                                     \
    X(create)                                                                                      \
    X(create_write_op)                                                                             \
    X(getxattr)                                                                                    \
    X(ioctx_create)                                                                                \
    X(ioctx_destroy)                                                                               \
    X(ioctx_set_namespace)                                                                         \
    X(nobjects_list_close)                                                                         \
    X(nobjects_list_next)                                                                          \
    X(nobjects_list_open)                                                                          \
    X(read)                                                                                        \
    X(release_write_op)                                                                            \
    X(remove)                                                                                      \
    X(setxattr)                                                                                    \
    X(shutdown)                                                                                    \
    X(stat)                                                                                        \
    X(write_full)                                                                                  \
    X(write_op_operate)                                                                            \
    X(write_op_setxattr)                                                                           \
    X(write_op_write_full)

static struct {
#define X(f) __typeof__(rados_##f) *f;
    RADOS_FNS(X)
#undef X
} R;

static pthread_once_t r_once = PTHREAD_ONCE_INIT;
static char r_why[256]; /* empty once loaded */

static void
r_load(void)
{
    void *h = dlopen("librados.so.2", RTLD_NOW | RTLD_LOCAL);

    if (h == NULL) {
        const char *e = dlerror();

        snprintf(r_why, sizeof(r_why), "%s", e != NULL ? e : "dlopen failed");
        return;
    }
#define X(f)                                                                                       \
    if (r_why[0] == '\0' && (*(void **)&R.f = dlsym(h, "rados_" #f)) == NULL)                      \
        snprintf(r_why, sizeof(r_why), "librados.so.2 has no rados_" #f);
    RADOS_FNS(X)
#undef X
    /* Never closed: the library stays for the life of the process. */
}

static bool
r_loaded(void)
{
    pthread_once(&r_once, r_load);
    return r_why[0] == '\0';
}

int
blob_rados_load(char *err, size_t cap)
{
    if (r_loaded())
        return 0;
    snprintf(err, cap, "rados:// needs librados (Debian package librados2): %s", r_why);
    return -ELIBACC;
}

/* The object of chunk k of blob id (BLOB_ID_LEN chars, not NUL-terminated). */
static void
chunk_oid(const char *id, uint32_t k, char out[OID_MAX])
{
    if (k == 0)
        snprintf(out, OID_MAX, "%.*s", BLOB_ID_LEN, id);
    else
        snprintf(out, OID_MAX, "%.*s.%08" PRIx32, BLOB_ID_LEN, id, k);
}

static int64_t
n_chunks(int64_t size, int64_t chunk)
{
    return size <= 0 ? 1 : (size + chunk - 1) / chunk;
}

/* Reads the head's SIZE_XATTR: 0, -ENOENT for no blob (no head, or a head
 * not committed yet), -EIO for a value that is not ours, or -errno. */
static int
head_info(struct blob *b, const char *id, int64_t *size, int64_t *chunk)
{
    char oid[OID_MAX], val[64];
    long long s, c;
    int n;

    chunk_oid(id, 0, oid);
    n = R.getxattr(b->io, oid, SIZE_XATTR, val, sizeof(val) - 1);
    if (n == -ENODATA)
        return -ENOENT;
    if (n < 0)
        return n;
    val[n] = '\0';
    if (sscanf(val, "%lld %lld", &s, &c) != 2 || s < 0 || c <= 0 || c > (1LL << 30))
        return -EIO;
    *size = s;
    *chunk = c;
    return 0;
}

static void
rados_close_be(struct blob *b)
{
    if (b->io != NULL)
        R.ioctx_destroy(b->io);
    if (b->cluster != NULL)
        R.shutdown(b->cluster);
    b->io = b->cluster = NULL;
}

static int
rados_open_be(struct blob *b, const struct blob_url *url)
{
    rados_t cluster = NULL;
    rados_ioctx_t io = NULL;
    char t[16];
    int rc;

    b->blobs_fd = b->tmp_fd = -1;
    if (!r_loaded()) /* blob_open_url() said why */
        return -ELIBACC;
    rc = R.create(&cluster, url->id);
    if (rc < 0)
        return rc;
    rc = R.conf_read_file(cluster, url->conf);
    snprintf(t, sizeof(t), "%d", url->timeout_s);
    if (rc == 0)
        rc = R.conf_set(cluster, "rados_osd_op_timeout", t);
    if (rc == 0)
        rc = R.conf_set(cluster, "rados_mon_op_timeout", t);
    if (rc == 0)
        rc = R.conf_set(cluster, "client_mount_timeout", t);
    if (rc == 0)
        rc = R.connect(cluster);
    if (rc < 0) {
        R.shutdown(cluster);
        return rc;
    }
    rc = R.ioctx_create(cluster, url->pool, &io);
    if (rc < 0) {
        R.shutdown(cluster);
        return rc;
    }
    if (url->ns[0] != '\0') /* every object, and blob_gc()'s listing, in ns alone */
        R.ioctx_set_namespace(io, url->ns);
    b->cluster = cluster;
    b->io = io;
    return 0;
}

/* ---- writing ------------------------------------------------------------ */

static int
rados_writer_open(struct blob_writer *w)
{
    unsigned char rnd[16];

    if (rand_bytes(rnd, sizeof(rnd)) < 0)
        return -EIO;
    hex_encode(rnd, sizeof(rnd), w->rid);
    return 0;
}

/* Waits for the oldest write in flight: 0 or its -errno. */
static int
wait_oldest(struct blob_writer *w)
{
    rados_completion_t c = w->inflight[0];
    int rc;

    R.aio_wait_for_complete(c);
    rc = R.aio_get_return_value(c);
    R.aio_release(c);
    w->n_inflight--;
    memmove(w->inflight, w->inflight + 1, (size_t)w->n_inflight * sizeof(w->inflight[0]));
    return rc < 0 ? rc : 0;
}

static int
wait_all(struct blob_writer *w)
{
    int rc = 0;

    while (w->n_inflight > 0) {
        int r = wait_oldest(w);

        if (rc == 0)
            rc = r;
    }
    return rc;
}

/* Sends the buffer as chunk w->chunks_sent. */
static int
send_chunk(struct blob_writer *w)
{
    char oid[OID_MAX];
    rados_completion_t c;
    int rc;

    if (w->n_inflight == BLOB_RADOS_MAX_INFLIGHT) {
        rc = wait_oldest(w);
        if (rc < 0)
            return rc;
    }
    rc = R.aio_create_completion2(NULL, NULL, &c);
    if (rc < 0)
        return rc;
    chunk_oid(w->rid, w->chunks_sent, oid);
    rc = R.aio_write_full(w->b->io, oid, c, w->buf, w->buf_n);
    if (rc < 0) {
        R.aio_release(c);
        return rc;
    }
    w->inflight[w->n_inflight++] = c;
    w->chunks_sent++;
    w->buf_n = 0;
    return 0;
}

static int
rados_writer_write(struct blob_writer *w, const void *p, size_t n)
{
    const char *q = p;

    while (n > 0) {
        size_t room, k;

        if (w->buf_n == w->buf_cap) {
            if (w->buf_cap == CHUNK) {
                int rc = send_chunk(w);

                if (rc < 0)
                    return rc;
            } else {
                /* The expected size at once (a chunk at most), else grows
                 * by doubling: a small blob never costs a whole chunk. */
                if (w->buf_cap == 0 && w->expect > 0)
                    w->buf_cap = w->expect < (int64_t)CHUNK ? (size_t)w->expect : CHUNK;
                else
                    w->buf_cap = w->buf_cap == 0 ? 64 * 1024 : w->buf_cap * 2;
                if (w->buf_cap > CHUNK)
                    w->buf_cap = CHUNK;
                w->buf = xrealloc(w->buf, w->buf_cap);
            }
            continue;
        }
        room = w->buf_cap - w->buf_n;
        k = n < room ? n : room;
        memcpy(w->buf + w->buf_n, q, k);
        w->buf_n += k;
        w->size += (int64_t)k;
        q += k;
        n -= k;
    }
    return 0;
}

/* Removes chunks [from, to) of blob id, ignoring those already gone; up to
 * REMOVE_BATCH at once, so a slow cluster costs one timeout, not one each. */
#define REMOVE_BATCH 16
static void
remove_chunks(struct blob *b, const char *id, int64_t from, int64_t to)
{
    rados_completion_t c[REMOVE_BATCH];
    char oid[OID_MAX];

    while (from < to) {
        int n = 0;

        for (; from < to && n < REMOVE_BATCH; from++) {
            chunk_oid(id, (uint32_t)from, oid);
            if (R.aio_create_completion2(NULL, NULL, &c[n]) < 0)
                continue;
            if (R.aio_remove(b->io, oid, c[n]) < 0) {
                R.aio_release(c[n]);
                continue;
            }
            n++;
        }
        for (int i = 0; i < n; i++) {
            R.aio_wait_for_complete(c[i]);
            R.aio_release(c[i]);
        }
    }
}

/* Copies chunks [0, n) of blob src to blob dst (commit under a given id
 * after chunks went out under the writer's own). */
static int
copy_chunks(struct blob *b, const char *src, const char *dst, uint32_t n)
{
    char *buf = xmalloc(CHUNK), from[OID_MAX], to[OID_MAX];
    int rc = 0;

    for (uint32_t k = 0; k < n && rc == 0; k++) {
        int got;

        chunk_oid(src, k, from);
        chunk_oid(dst, k, to);
        got = R.read(b->io, from, buf, CHUNK, 0);
        rc = got < 0 ? got : R.write_full(b->io, to, buf, (size_t)got);
    }
    free(buf);
    return rc;
}

static int
rados_writer_commit(struct blob_writer *w, char *id)
{
    struct blob *b = w->b;
    const char *final = w->want_id[0] != '\0' ? w->want_id : w->rid;
    int64_t old_size = 0, old_chunk = CHUNK, total;
    bool had_old = false;
    char oid[OID_MAX], val[64];
    int rc = 0;

    if (w->want_id[0] != '\0')
        had_old = head_info(b, final, &old_size, &old_chunk) == 0;
    snprintf(val, sizeof(val), "%" PRId64 " %zu", w->size, CHUNK);
    if (w->chunks_sent == 0) {
        /* One chunk: data and size in one atomic operation. */
        rados_write_op_t op = R.create_write_op();

        chunk_oid(final, 0, oid);
        R.write_op_write_full(op, w->buf != NULL ? w->buf : "", w->buf_n);
        R.write_op_setxattr(op, SIZE_XATTR, val, strlen(val));
        rc = R.write_op_operate(op, b->io, oid, NULL, 0);
        R.release_write_op(op);
        total = 1;
    } else {
        if (w->buf_n > 0)
            rc = send_chunk(w);
        {
            int r = wait_all(w);

            if (rc == 0)
                rc = r;
        }
        total = w->chunks_sent;
        if (rc == 0 && final != w->rid) {
            rc = copy_chunks(b, w->rid, final, w->chunks_sent);
            remove_chunks(b, w->rid, 0, total);
        }
        chunk_oid(final, 0, oid);
        if (rc == 0)
            rc = R.setxattr(b->io, oid, SIZE_XATTR, val, strlen(val));
    }
    if (rc == -ETIMEDOUT) {
        /* The cluster does not answer: removing would only wait once more
         * before the client hears 503. What landed is unreferenced, an
         * orphan for the start-up sweep (blob_gc()), as after a crash. */
        id[0] = '\0';
    } else if (rc < 0) {
        remove_chunks(b, w->rid, 0, w->chunks_sent + 1);
        /* Under a given id: what was written of it, unless a blob of that
         * id was there before: it stays (an id names immutable data, so a
         * copy under the same id carries the same bytes). */
        if (final != w->rid && !had_old)
            remove_chunks(b, final, 0, total);
        id[0] = '\0';
    } else {
        memcpy(id, final, BLOB_ID_LEN + 1);
        /* A replaced blob's chunks past the new end. */
        if (had_old && n_chunks(old_size, old_chunk) > total)
            remove_chunks(b, final, total, n_chunks(old_size, old_chunk));
    }
    free(w->buf);
    w->buf = NULL;
    return rc;
}

static void
rados_writer_abort(struct blob_writer *w)
{
    /* Not when the cluster does not answer (see rados_writer_commit()). */
    if (wait_all(w) != -ETIMEDOUT && w->chunks_sent > 0)
        remove_chunks(w->b, w->rid, 0, w->chunks_sent);
    free(w->buf);
    w->buf = NULL;
}

/* ---- reading ------------------------------------------------------------ */

#define RA_MIN ((size_t)64 * 1024)
#define RA_WIN_MIN ((size_t)512 * 1024)
#define RA_AHEAD ((size_t)16 * 1024 * 1024)

/* The read-ahead of a blob of r->size bytes: windows of an eighth of it,
 * as a power of two from RA_WIN_MIN to the chunk, and enough of them to
 * keep RA_AHEAD bytes in flight, BLOB_RADOS_RA_DEPTH at most. */
static void
ra_size(struct blob_reader *r)
{
    size_t win = RA_WIN_MIN;

    while (win < CHUNK && (int64_t)win * 2 * 8 <= r->size)
        win *= 2;
    r->ra_win = win;
    r->ra_depth = RA_AHEAD / win < BLOB_RADOS_RA_DEPTH ? (int)(RA_AHEAD / win)
                                                       : BLOB_RADOS_RA_DEPTH;
}

static int
rados_read_open(struct blob_reader *r, struct str id)
{
    int rc = head_info(r->b, id.p, &r->size, &r->chunk);

    if (rc == 0)
        ra_size(r);
    return rc;
}

/* Committed metadata names the blob: its head has the size attribute, with
 * this size and CHUNK (the only chunk size any writer used), so the
 * getxattr round trip is skipped. It was an OSD operation and a wait per
 * GET: 1 MiB GETs at 8 connections went from 1,004 to 1,048 MB/s (1.50x to
 * 1.64x radosgw, bench/results/2026-12-07-rados-e210111.md). A blob gone
 * meanwhile makes the first read -ENOENT. */
static int
rados_read_expect(struct blob_reader *r, struct str id, int64_t size)
{
    (void)id;
    r->size = size;
    r->chunk = (int64_t)CHUNK;
    ra_size(r);
    return 0;
}

/* How much of [off, off + n) one read can take: up to the end of off's
 * chunk and of the blob. */
static size_t
span(const struct blob_reader *r, int64_t off, size_t n)
{
    int64_t in = off % r->chunk;

    if ((int64_t)n > r->chunk - in)
        n = (size_t)(r->chunk - in);
    if ((int64_t)n > r->size - off)
        n = (size_t)(r->size - off);
    return n;
}

/* A free window buffer: r->ra_win bytes, or the whole blob when it is
 * smaller (no window is longer; the buffers live as long as the blob is
 * current). */
static char *
ra_get_buf(struct blob_reader *r)
{
    if (r->ra_n_spare > 0)
        return r->ra_spare[--r->ra_n_spare];
    return xmalloc(r->size < (int64_t)r->ra_win ? (size_t)r->size : r->ra_win);
}

static void
ra_put_buf(struct blob_reader *r, char *buf)
{
    if (buf != NULL)
        r->ra_spare[r->ra_n_spare++] = buf;
}

/* Waits for the oldest window in flight and makes it the current one: 0,
 * or its -errno (the current window is then empty). */
static int
ra_wait(struct blob_reader *r)
{
    struct blob_ra_win *w = &r->ra_q[r->ra_head];
    int rc;

    R.aio_wait_for_complete(w->c);
    rc = R.aio_get_return_value(w->c);
    R.aio_release(w->c);
    ra_put_buf(r, r->ra_cur.buf);
    r->ra_cur = (struct blob_ra_win){.buf = w->buf, .off = w->off, .len = rc > 0 ? (size_t)rc : 0};
    r->ra_head = (r->ra_head + 1) % BLOB_RADOS_RA_DEPTH;
    r->ra_n--;
    return rc < 0 ? rc : 0;
}

/* Keeps r->ra_depth windows in flight after the current one, up to the end of
 * the blob. A window that comes back short (a damaged chunk) is served as
 * far as it goes; the read after it finds no window and says -EIO. */
static void
ra_fill(struct blob_reader *r)
{
    const struct blob_ra_win *last =
        r->ra_n > 0 ? &r->ra_q[(r->ra_head + r->ra_n - 1) % BLOB_RADOS_RA_DEPTH] : &r->ra_cur;
    int64_t off = last->off + (int64_t)last->len;

    while (r->ra_n < r->ra_depth && off < r->size) {
        struct blob_ra_win *w = &r->ra_q[(r->ra_head + r->ra_n) % BLOB_RADOS_RA_DEPTH];
        size_t len = span(r, off, r->ra_win);
        rados_completion_t c;
        char oid[OID_MAX], *buf;

        if (R.aio_create_completion2(NULL, NULL, &c) < 0)
            return;
        buf = ra_get_buf(r);
        chunk_oid(r->id, (uint32_t)(off / r->chunk), oid);
        if (R.aio_read(r->b->io, oid, c, buf, len, (uint64_t)(off % r->chunk)) < 0) {
            R.aio_release(c);
            ra_put_buf(r, buf);
            return;
        }
        *w = (struct blob_ra_win){.buf = buf, .off = off, .len = len, .c = c};
        r->ra_n++;
        off += (int64_t)len;
    }
}

/* Forgets every window (those in flight are waited for: their buffers are
 * being written). */
static void
ra_drop(struct blob_reader *r)
{
    while (r->ra_n > 0)
        (void)ra_wait(r);
    r->ra_cur.len = 0;
}

/* Makes the window that holds off current, waiting for it or starting a
 * stream there when a read of n bytes is one: 1, 0 when off is not in a
 * window and a read of n is too small to start one, or -errno. */
static int
ra_at(struct blob_reader *r, int64_t off, size_t n)
{
    for (;;) {
        const struct blob_ra_win *cur = &r->ra_cur, *head = &r->ra_q[r->ra_head];
        int rc;

        if (off >= cur->off && off < cur->off + (int64_t)cur->len)
            return 1;
        if (r->ra_n > 0 && off >= head->off && off < head->off + (int64_t)head->len) {
            rc = ra_wait(r);
        } else if (n >= RA_MIN) {
            /* A stream starts (or moved): the windows from off all go out
             * at once (a 1 MiB blob is two reads side by side), then the
             * first is waited for. */
            ra_drop(r);
            ra_put_buf(r, r->ra_cur.buf);
            r->ra_cur = (struct blob_ra_win){.off = off};
            ra_fill(r);
            if (r->ra_n == 0)
                return -EIO;
            rc = ra_wait(r);
        } else {
            return 0;
        }
        if (rc < 0)
            return rc;
        if (r->ra_cur.len == 0) /* a chunk shorter than the size says: damaged */
            return -EIO;
        ra_fill(r);
    }
}

/* The bytes of the current window from off (ra_at() said 1): at most n. */
static size_t
ra_view(const struct blob_reader *r, int64_t off, size_t n, const void **p)
{
    size_t len = (size_t)(r->ra_cur.off + (int64_t)r->ra_cur.len - off);

    *p = r->ra_cur.buf + (off - r->ra_cur.off);
    return len < n ? len : n;
}

static ssize_t
rados_read_view(struct blob_reader *r, int64_t off, size_t n, const void **p)
{
    int rc;

    if (off >= r->size)
        return 0;
    rc = ra_at(r, off, n);
    return rc > 0 ? (ssize_t)ra_view(r, off, n, p) : rc;
}

static ssize_t
rados_read_be(struct blob_reader *r, int64_t off, void *p, size_t n)
{
    char *q = p, oid[OID_MAX];
    ssize_t done = 0;

    while (n > 0 && off < r->size) {
        int got = ra_at(r, off, n);

        if (got < 0)
            return done > 0 ? done : got;
        if (got > 0) {
            const void *w;

            got = (int)ra_view(r, off, n, &w);
            memcpy(q, w, (size_t)got);
        } else {
            size_t len = span(r, off, n);

            chunk_oid(r->id, (uint32_t)(off / r->chunk), oid);
            got = R.read(r->b->io, oid, q, len, (uint64_t)(off % r->chunk));
            if (got < 0)
                return done > 0 ? done : got;
            if (got == 0) /* a chunk shorter than the size says: damaged */
                return done > 0 ? done : -EIO;
            if ((size_t)got < len) {
                done += got;
                break;
            }
        }
        q += got;
        done += got;
        off += got;
        n -= (size_t)got;
    }
    return done;
}

static void
rados_read_close(struct blob_reader *r)
{
    ra_drop(r);
    ra_put_buf(r, r->ra_cur.buf);
    while (r->ra_n_spare > 0)
        free(r->ra_spare[--r->ra_n_spare]);
    r->ra_cur = (struct blob_ra_win){0};
    r->ra_head = 0;
    r->size = r->chunk = 0;
}

/* ---- removing ----------------------------------------------------------- */

static int
rados_remove_be(struct blob *b, struct str id)
{
    int64_t size = 0, chunk = CHUNK;
    char oid[OID_MAX];
    int rc = head_info(b, id.p, &size, &chunk);

    if (rc < 0 && rc != -ENOENT && rc != -EIO)
        return rc;
    /* The head first: from then on the blob does not exist, and what a
     * crash leaves of the rest is an orphan for blob_gc(). */
    chunk_oid(id.p, 0, oid);
    rc = R.remove(b->io, oid);
    if (rc < 0)
        return rc;
    remove_chunks(b, id.p, 1, n_chunks(size, chunk));
    return 0;
}

struct gc_ent {
    char id[BLOB_ID_LEN + 1];
    uint32_t k;
    time_t mtime;
};

static int
gc_cmp(const void *a, const void *b)
{
    const struct gc_ent *x = a, *y = b;
    int c = memcmp(x->id, y->id, BLOB_ID_LEN);

    if (c != 0)
        return c;
    return x->k < y->k ? -1 : x->k > y->k;
}

/* "<id>" or "<id>.<8 hex>": 0 and its parts, -1 for another name. */
static int
parse_oid(const char *name, struct gc_ent *e)
{
    size_t n = strlen(name);

    if (n < BLOB_ID_LEN || !blob_id_valid(str_make(name, BLOB_ID_LEN)))
        return -1;
    memcpy(e->id, name, BLOB_ID_LEN);
    e->id[BLOB_ID_LEN] = '\0';
    e->k = 0;
    if (n == BLOB_ID_LEN)
        return 0;
    if (n != BLOB_ID_LEN + 9 || name[BLOB_ID_LEN] != '.' ||
        strspn(name + BLOB_ID_LEN + 1, "0123456789abcdef") != 8)
        return -1;
    e->k = (uint32_t)strtoul(name + BLOB_ID_LEN + 1, NULL, 16);
    return e->k == 0 ? -1 : 0;
}

static int
rados_gc(struct blob *b, int (*is_live)(void *arg, struct str id), void *arg, int min_age_s)
{
    struct gc_ent *ents = NULL;
    size_t n = 0, cap = 0, removed = 0;
    rados_list_ctx_t ctx;
    const char *name;
    time_t now = time(NULL);
    int rc;

    rc = R.nobjects_list_open(b->io, &ctx);
    if (rc < 0)
        return rc;
    while ((rc = R.nobjects_list_next(ctx, &name, NULL, NULL)) == 0) {
        struct gc_ent e;
        uint64_t size;

        if (parse_oid(name, &e) < 0)
            continue;
        /* Ages matter only with a minimum age (cofferd's start-up sweep has
         * none: one stat per object would cost a round trip each). */
        e.mtime = 0;
        if (min_age_s > 0 && R.stat(b->io, name, &size, &e.mtime) < 0)
            continue;
        if (n == cap) {
            cap = cap == 0 ? 256 : cap * 2;
            ents = xrealloc(ents, cap * sizeof(*ents));
        }
        ents[n++] = e;
    }
    R.nobjects_list_close(ctx);
    if (rc != -ENOENT) { /* -ENOENT ends the listing; anything else: do nothing */
        free(ents);
        return rc;
    }
    if (n > 0)
        qsort(ents, n, sizeof(*ents), gc_cmp);
    for (size_t i = 0, j; i < n; i = j) {
        time_t newest = ents[i].mtime;

        for (j = i + 1; j < n && memcmp(ents[j].id, ents[i].id, BLOB_ID_LEN) == 0; j++)
            if (ents[j].mtime > newest)
                newest = ents[j].mtime;
        if (now - newest < min_age_s)
            continue;
        /* Only a definite "not referenced" deletes; an error keeps it. */
        if (is_live(arg, str_make(ents[i].id, BLOB_ID_LEN)) != 0)
            continue;
        {
            bool any = false;

            for (size_t k = i; k < j; k++) {
                char oid[OID_MAX];

                chunk_oid(ents[k].id, ents[k].k, oid);
                any |= R.remove(b->io, oid) == 0;
            }
            removed += any;
        }
    }
    free(ents);
    return (int)removed;
}

/* A stat of an object no blob is named after (ids are hex): the OSD that
 * would hold it answers -ENOENT; a cluster that does not answer gives
 * -ETIMEDOUT within the URL's timeout. */
static int
rados_probe(struct blob *b)
{
    uint64_t size;
    time_t mtime;
    int rc = R.stat(b->io, "coffer-probe", &size, &mtime);

    return rc == -ENOENT ? 0 : rc < 0 ? rc : 0;
}

const struct blob_backend blob_rados = {
    .name = "rados",
    .open = rados_open_be,
    .close = rados_close_be,
    .writer_open = rados_writer_open,
    .writer_write = rados_writer_write,
    .writer_commit = rados_writer_commit,
    .writer_abort = rados_writer_abort,
    .read_open = rados_read_open,
    .read_expect = rados_read_expect,
    .read = rados_read_be,
    .read_view = rados_read_view,
    .read_close = rados_read_close,
    .open_fd = NULL,
    .remove = rados_remove_be,
    .gc = rados_gc,
    .probe = rados_probe,
};
