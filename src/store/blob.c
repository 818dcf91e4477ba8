/* blob.c -- the data backend's front (blob.h): checks ids, runs the
 * free-space guard, keeps the list of open readers (the read leases
 * trash_reap() honours) and calls the backend's table (blob_int.h). Holds
 * no data itself. */
#include "common.h"
#include "store/blob_int.h"
#include "store/space.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

bool
blob_id_valid(struct str id)
{
    if (id.p == NULL || id.n != BLOB_ID_LEN)
        return false;
    for (size_t i = 0; i < id.n; i++) {
        char ch = id.p[i];

        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return false;
    }
    return true;
}

int64_t
blob_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
open_backend(const struct blob_url *url, struct blob **out)
{
    struct blob *b = xcalloc(1, sizeof(*b));
    int rc;

    b->be = url->kind == BLOB_RADOS ? &blob_rados : &blob_files;
    rc = b->be->open(b, url);
    if (rc < 0) {
        free(b);
        return rc;
    }
    pthread_mutex_init(&b->mu, NULL);
    *out = b;
    return 0;
}

int
blob_open(const char *dir, struct blob **out)
{
    struct blob_url *url = xcalloc(1, sizeof(*url));
    char err[256];
    int rc = blob_url_parse(NULL, dir, url, err, sizeof(err));

    if (rc == 0)
        rc = open_backend(url, out);
    free(url);
    return rc;
}

int
blob_open_url(const char *url, const char *dir, struct blob **out, char *err, size_t cap)
{
    struct blob_url *u = xcalloc(1, sizeof(*u));
    int rc = blob_url_parse(url, dir, u, err, cap);

    if (rc == 0 && u->kind == BLOB_RADOS)
        rc = blob_rados_load(err, cap);
    if (rc == 0) {
        rc = open_backend(u, out);
        if (rc < 0 && u->kind == BLOB_RADOS)
            snprintf(err, cap, "cannot open RADOS pool '%s' (conf %s, client.%s): %s", u->pool,
                     u->conf, u->id, strerror(-rc));
        else if (rc < 0)
            snprintf(err, cap, "cannot open the blob store in %s: %s", u->path, strerror(-rc));
    }
    free(u);
    return rc;
}

const char *
blob_backend_name(const struct blob *b)
{
    return b->be->name;
}

void
blob_set_space(struct blob *b, struct space *sp)
{
    b->space = sp;
}

void
blob_close(struct blob *b)
{
    if (b == NULL)
        return;
    ASSERT(b->readers == NULL);
    b->be->close(b);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

/* ---- writing ------------------------------------------------------------ */

int
blob_writer_open(struct blob *b, struct blob_writer **out)
{
    struct blob_writer *w;
    int rc = space_admit(b->space);

    if (rc < 0)
        return rc;
    w = xcalloc(1, sizeof(*w));
    w->b = b;
    rc = b->be->writer_open(w);
    if (rc < 0) {
        free(w);
        return rc;
    }
    *out = w;
    return 0;
}

int
blob_writer_write(struct blob_writer *w, const void *p, size_t n)
{
    /* While full, the released reserve is for deletes: stop here. */
    if (space_is_full(w->b->space))
        return -ENOSPC;
    return w->b->be->writer_write(w, p, n);
}

int64_t
blob_writer_size(const struct blob_writer *w)
{
    return w->size;
}

void
blob_writer_expect(struct blob_writer *w, int64_t size)
{
    w->expect = size;
}

int
blob_writer_commit(struct blob_writer *w, char *id)
{
    int rc = w->b->be->writer_commit(w, id);

    free(w);
    return rc;
}

int
blob_writer_commit_as(struct blob_writer *w, struct str id)
{
    char out[BLOB_ID_LEN + 1];
    int rc;

    if (!blob_id_valid(id)) {
        blob_writer_abort(w);
        return -EINVAL;
    }
    memcpy(w->want_id, id.p, BLOB_ID_LEN);
    w->want_id[BLOB_ID_LEN] = '\0';
    rc = w->b->be->writer_commit(w, out);
    free(w);
    return rc;
}

void
blob_writer_abort(struct blob_writer *w)
{
    if (w == NULL)
        return;
    w->b->be->writer_abort(w);
    free(w);
}

/* ---- reading ------------------------------------------------------------ */

struct blob_reader *
blob_reader_open(struct blob *b)
{
    struct blob_reader *r = xcalloc(1, sizeof(*r));

    r->b = b;
    r->fd = -1;
    pthread_mutex_lock(&b->mu);
    r->start_ms = blob_now_ms();
    r->next = b->readers;
    if (b->readers != NULL)
        b->readers->prev = r;
    b->readers = r;
    pthread_mutex_unlock(&b->mu);
    return r;
}

void
blob_reader_close(struct blob_reader *r)
{
    struct blob *b;

    if (r == NULL)
        return;
    b = r->b;
    if (r->id[0] != '\0')
        b->be->read_close(r);
    pthread_mutex_lock(&b->mu);
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        b->readers = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    pthread_mutex_unlock(&b->mu);
    free(r);
}

int64_t
blob_reader_oldest_ms(struct blob *b)
{
    int64_t oldest = INT64_MAX;

    /* A scan rather than the list's order: the wall clock may have been
     * set back between two leases. The list is as long as the GETs in
     * flight, and the reaper asks about once a second. */
    pthread_mutex_lock(&b->mu);
    for (const struct blob_reader *r = b->readers; r != NULL; r = r->next)
        if (r->start_ms < oldest)
            oldest = r->start_ms;
    pthread_mutex_unlock(&b->mu);
    return oldest;
}

/* Makes id the reader's current blob (size < 0: unknown, checked). */
static int
make_current(struct blob_reader *r, struct str id, int64_t size)
{
    int rc;

    if (r->id[0] != '\0' && memcmp(r->id, id.p, BLOB_ID_LEN) == 0)
        return 0;
    if (r->id[0] != '\0')
        r->b->be->read_close(r);
    r->id[0] = '\0';
    rc = size >= 0 && r->b->be->read_expect != NULL ? r->b->be->read_expect(r, id, size)
                                                    : r->b->be->read_open(r, id);
    if (rc < 0)
        return rc;
    memcpy(r->id, id.p, BLOB_ID_LEN);
    r->id[BLOB_ID_LEN] = '\0';
    return 0;
}

ssize_t
blob_read(struct blob_reader *r, struct str id, int64_t off, void *p, size_t n)
{
    int rc;

    if (!blob_id_valid(id) || off < 0)
        return -ENOENT;
    rc = make_current(r, id, -1);
    if (rc < 0)
        return rc;
    if (n == 0)
        return 0;
    return r->b->be->read(r, off, p, n);
}

ssize_t
blob_read_view(struct blob_reader *r, struct str id, int64_t off, void *buf, size_t n,
               const void **p)
{
    ssize_t got;

    *p = buf;
    if (r->b->be->read_view == NULL || n == 0)
        return blob_read(r, id, off, buf, n);
    got = blob_read(r, id, off, NULL, 0); /* checks id and off, makes id current */
    if (got == 0)
        got = r->b->be->read_view(r, off, n, p);
    return got != 0 ? got : r->b->be->read(r, off, buf, n);
}

int
blob_read_expect(struct blob_reader *r, struct str id, int64_t size)
{
    if (!blob_id_valid(id) || size < 0)
        return -ENOENT;
    return make_current(r, id, size);
}

int
blob_open_fd(struct blob *b, struct str id, int *fd)
{
    if (b->be->open_fd == NULL)
        return -ENOTSUP;
    if (!blob_id_valid(id))
        return -ENOENT;
    return b->be->open_fd(b, id, fd);
}

/* ---- removing ----------------------------------------------------------- */

int
blob_unlink(struct blob *b, struct str id)
{
    if (!blob_id_valid(id))
        return -ENOENT;
    return b->be->remove(b, id);
}

int
blob_gc(struct blob *b, int (*is_live)(void *arg, struct str id), void *arg, int min_age_s)
{
    return b->be->gc(b, is_live, arg, min_age_s);
}

int
blob_probe(struct blob *b)
{
    return b->be->probe(b);
}
