/* md_open.c -- opening and closing the metadata store: the data directory,
 * the backend (md_sqlite), the master key that seals secrets and the store's
 * check value of it, the writer thread; and md.h's calls that only hand over to the backend (readers,
 * snapshots, error text). Rows are elsewhere: md_ident.c, md_audit.c,
 * md_bucket.c, md_upload.c. */
#include "common.h"
#include "store/md.h"
#include "crypto/hash.h"
#include "store/md_int.h"
#include "util/log.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* ---- master key --------------------------------------------------------- */

static int
fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

/* The directory part of path ("." for none) in out. */
static int
dir_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);

    if (n + 1 > cap)
        return -ENAMETOOLONG;
    memcpy(out, slash == NULL ? "." : path, n);
    out[n] = '\0';
    return 0;
}

static int
create_master_key(const char *path)
{
    unsigned char key[SEAL_KEY_LEN];
    char dir[4096];
    int fd, rc = 0;
    ssize_t w;

    rc = dir_of(path, dir, sizeof(dir));
    if (rc < 0)
        return rc;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    if (rand_bytes(key, sizeof(key)) < 0) {
        rc = -EIO;
        goto out;
    }
    w = write(fd, key, sizeof(key));
    if (w != (ssize_t)sizeof(key)) {
        rc = w < 0 ? -errno : -EIO;
        goto out;
    }
    if (fsync(fd) < 0)
        rc = -errno;
out:
    OPENSSL_cleanse(key, sizeof(key));
    close(fd);
    if (rc == 0)
        rc = fsync_dir(dir);
    if (rc < 0)
        unlink(path);
    return rc;
}

/* Loads the master key from path; creates it only for a new store (no sealed
 * secret, no key check value), so a lost or mistyped key file is reported
 * instead of silently orphaning every secret. */
static int
load_master_key(struct md *md, const char *path, bool may_create)
{
    struct stat st;
    ssize_t r;
    int fd, rc = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        if (!may_create) {
            log_error("md: the master key %s is missing but the store holds sealed secrets or "
                      "a key check value",
                      path);
            return -ENOKEY;
        }
        rc = create_master_key(path);
        if (rc < 0 && rc != -EEXIST)
            return rc;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size != SEAL_KEY_LEN) {
        log_error("md: %s is not a %d-byte regular file", path, SEAL_KEY_LEN);
        rc = -EINVAL;
        goto out;
    }
    if (st.st_mode & 077) {
        log_error("md: %s is accessible by group or others (mode %03o); chmod 600 it", path,
                  (unsigned)(st.st_mode & 0777));
        rc = -EPERM;
        goto out;
    }
    r = read(fd, md->master_key, SEAL_KEY_LEN);
    if (r != SEAL_KEY_LEN)
        rc = r < 0 ? -errno : -EIO;
out:
    close(fd);
    return rc;
}

/* ---- the key check value ------------------------------------------------ */

#define KEY_CHECK_NAME "master_key_check"
#define KEY_CHECK_MSG "coffer master key check v1"
#define KEY_CHECK_LEN 32

/* Reads the stored check value on c into out: 1, 0 if none, -errno. */
static int
key_check_get(struct md_conn *c, unsigned char out[KEY_CHECK_LEN])
{
    struct stmt *s = get(c, ST_INFO_GET);
    struct str v;
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_str(s, 1, STR_LIT(KEY_CHECK_NAME)) != 0)
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc == 0)
        done(s);
    if (rc <= 0)
        return rc;
    v = col_view(s, 0);
    if (v.n != KEY_CHECK_LEN) {
        snprintf(c->err, sizeof(c->err), "the store's key check value has %zu bytes", v.n);
        done(s);
        return -EIO;
    }
    memcpy(out, v.p, KEY_CHECK_LEN);
    done(s);
    return 1;
}

/* md_write job: records the check value unless one is there already. */
static int
key_check_put(struct md_conn *c, void *arg)
{
    struct stmt *s = get(c, ST_INFO_PUT);

    if (s == NULL)
        return get_fail(c);
    if (bind_str(s, 1, STR_LIT(KEY_CHECK_NAME)) != 0 ||
        bind_blob(s, 2, str_make(arg, KEY_CHECK_LEN)) != 0)
        return bind_fail(c, s);
    return exec(c, s);
}

/* Compares md's key with the store's check value, recording one first if the
 * store has none (a new store, or one from before check values): 0, or
 * -EKEYREJECTED for another key. Runs with the writer started. */
static int
key_check(struct md *md, const char *key_path)
{
    unsigned char want[KEY_CHECK_LEN], have[KEY_CHECK_LEN];
    int rc;

    hmac_sha256(md->master_key, SEAL_KEY_LEN, KEY_CHECK_MSG, strlen(KEY_CHECK_MSG), want);
    rc = key_check_get(md_reader(md), have);
    if (rc == 0) {
        rc = md_write(md, key_check_put, want);
        if (rc == 0) /* another process may have won: compare with what is stored */
            rc = key_check_get(md_reader(md), have);
        if (rc == 0)
            rc = -EIO;
    }
    if (rc > 0)
        rc = CRYPTO_memcmp(want, have, KEY_CHECK_LEN) == 0 ? 0 : -EKEYREJECTED;
    if (rc == -EKEYREJECTED)
        log_error("md: the master key %s " MD_KEY_MISMATCH, key_path);
    else if (rc < 0)
        log_error("md: cannot check the master key: %s", md_errmsg(md_reader(md)));
    OPENSSL_cleanse(want, sizeof(want));
    OPENSSL_cleanse(have, sizeof(have));
    return rc;
}

static int readers_init(struct md *md);
static void readers_close(struct md *md);

/* ---- open, close ------------------------------------------------------------ */

/* 1 if the store holds a sealed secret (any access key), 0, -errno. */
static int
has_keys(struct md_conn *c)
{
    struct stmt *s = get(c, ST_KEY_ANY);
    int rc;

    if (s == NULL)
        return get_fail(c);
    rc = step(c, s);
    if (rc >= 0)
        done(s);
    return rc;
}

int
md_open(const char *dir, struct md **out)
{
    return md_open_at(dir, NULL, NULL, out);
}

int
md_open_at(const char *dir, const struct md_url *meta, const char *key_path, struct md **out)
{
    struct md *md = xcalloc(1, sizeof(*md));
    struct md_url dflt;
    unsigned char check[KEY_CHECK_LEN];
    char key_dflt[4096], err[128];
    int rc, secrets;

    md->lock_wait_ms = LOCK_WAIT_MS;
    pthread_mutex_init(&md->mu, NULL);
    pthread_cond_init(&md->cv_work, NULL);
    pthread_cond_init(&md->cv_done, NULL);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        rc = -errno;
        goto fail;
    }
    if (meta == NULL) {
        rc = md_url_parse(NULL, dir, &dflt, err, sizeof(err));
        if (rc < 0)
            goto fail;
        meta = &dflt;
    }
    md->be = meta->pg_uri[0] != '\0' ? &md_pg : &md_sqlite;
    if (key_path == NULL) {
        if ((size_t)snprintf(key_dflt, sizeof(key_dflt), "%s/master.key", dir) >=
            sizeof(key_dflt)) {
            rc = -ENAMETOOLONG;
            goto fail;
        }
        key_path = key_dflt;
    }
    rc = readers_init(md);
    if (rc < 0)
        goto fail;
    rc = md->be->open(md, meta);
    if (rc < 0)
        goto fail;
    md->be_open = true;
    secrets = has_keys(md->wconn);
    if (secrets < 0) {
        rc = secrets;
        goto fail;
    }
    rc = key_check_get(md->wconn, check);
    if (rc < 0)
        goto fail;
    rc = load_master_key(md, key_path, secrets == 0 && rc == 0);
    if (rc < 0)
        goto fail;
    rc = md_writer_start(md);
    if (rc < 0)
        goto fail;
    rc = key_check(md, key_path);
    if (rc < 0)
        goto fail;
    *out = md;
    return 0;
fail:
    md_close(md);
    return rc;
}

void
md_close(struct md *md)
{
    if (md == NULL)
        return;
    md_writer_stop(md);
    readers_close(md); /* first: SQLite's writer must close last */
    if (md->be_open)
        md->be->close(md);
    OPENSSL_cleanse(md->master_key, sizeof(md->master_key));
    pthread_cond_destroy(&md->cv_work);
    pthread_cond_destroy(&md->cv_done);
    pthread_mutex_destroy(&md->mu);
    free(md);
}

/* ---- readers, snapshots, errors ------------------------------------------ */

/* Each thread's read connection, kept on md->readers until the thread exits
 * or the store closes; the backend opens, reuses and closes them. */

static void
reader_unlink(struct md *md, struct md_conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        md->readers = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
}

/* Thread exit: close that thread's read connection. */
static void
reader_dtor(void *p)
{
    struct md_conn *c = p;
    struct md *md = c->md;

    pthread_mutex_lock(&md->readers_mu);
    reader_unlink(md, c);
    pthread_mutex_unlock(&md->readers_mu);
    md->be->conn_close(c);
}

static int
readers_init(struct md *md)
{
    if (pthread_key_create(&md->tls, reader_dtor) != 0)
        return -EAGAIN;
    pthread_mutex_init(&md->readers_mu, NULL);
    md->has_tls = true;
    return 0;
}

/* Before the backend's close(): SQLite's writer must close last. */
static void
readers_close(struct md *md)
{
    if (!md->has_tls)
        return;
    pthread_mutex_lock(&md->readers_mu);
    while (md->readers != NULL) {
        struct md_conn *c = md->readers;

        reader_unlink(md, c);
        md->be->conn_close(c);
    }
    pthread_mutex_unlock(&md->readers_mu);
    pthread_setspecific(md->tls, NULL);
    pthread_key_delete(md->tls);
    pthread_mutex_destroy(&md->readers_mu);
    md->has_tls = false;
}

struct md_conn *
md_reader(struct md *md)
{
    struct md_conn *c = pthread_getspecific(md->tls);

    if (c != NULL) {
        if (md->be->reader_reuse != NULL)
            md->be->reader_reuse(c);
        return c;
    }
    if (md->be->reader_open(md, &c) < 0)
        return NULL;
    pthread_mutex_lock(&md->readers_mu);
    c->next = md->readers;
    if (md->readers != NULL)
        md->readers->prev = c;
    md->readers = c;
    pthread_mutex_unlock(&md->readers_mu);
    if (pthread_setspecific(md->tls, c) != 0) {
        reader_dtor(c);
        return NULL;
    }
    return c;
}

int
md_snapshot_begin(struct md_conn *c)
{
    if (c == NULL)
        return get_fail(c); /* md_reader() had no connection */
    return c->md->be->snapshot_begin(c);
}

void
md_snapshot_end(struct md_conn *c)
{
    if (c != NULL)
        c->md->be->snapshot_end(c);
}

bool
md_shared(const struct md *md)
{
    return md->be->shared;
}

bool
md_lease(struct md *md, enum md_lease which)
{
    return md->be->lease == NULL || md->be->lease(md, which);
}

const char *
md_errmsg(struct md_conn *c)
{
    if (c == NULL)
        return "no database connection";
    return c->md->be->errmsg(c);
}
