/* md_open.c -- opening and closing the metadata store: the data directory,
 * the backend (md_sqlite), the master key that seals secrets, the writer
 * thread; and md.h's calls that only hand over to the backend (readers,
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

static int
create_master_key(const char *dir, const char *path)
{
    unsigned char key[SEAL_KEY_LEN];
    int fd, rc = 0;
    ssize_t w;

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

/* Loads DIR/master.key; creates it only when no sealed secret exists yet, so
 * a lost key file is reported instead of silently orphaning every secret. */
static int
load_master_key(struct md *md, const char *dir, bool may_create)
{
    char path[4096];
    struct stat st;
    ssize_t r;
    int fd, rc = 0;

    if ((size_t)snprintf(path, sizeof(path), "%s/master.key", dir) >= sizeof(path))
        return -ENAMETOOLONG;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        if (!may_create) {
            log_error("md: %s is missing but the database holds sealed secrets", path);
            return -ENOKEY;
        }
        rc = create_master_key(dir, path);
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

/* ---- open, close ------------------------------------------------------------ */

/* 1 if the store holds a sealed secret (any access key), 0, -errno. */
static int
has_keys(struct md_conn *c)
{
    sqlite3_stmt *s = get(c, ST_KEY_ANY);
    int rc;

    if (s == NULL)
        return -EIO;
    rc = step(c, s);
    if (rc >= 0)
        done(s);
    return rc;
}

int
md_open(const char *dir, struct md **out)
{
    struct md *md = xcalloc(1, sizeof(*md));
    int rc;

    md->be = &md_sqlite;
    md->lock_wait_ms = LOCK_WAIT_MS;
    pthread_mutex_init(&md->mu, NULL);
    pthread_cond_init(&md->cv_work, NULL);
    pthread_cond_init(&md->cv_done, NULL);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        rc = -errno;
        goto fail;
    }
    rc = md->be->open(md, dir);
    if (rc < 0)
        goto fail;
    md->be_open = true;
    rc = has_keys(md->wconn);
    if (rc < 0)
        goto fail;
    rc = load_master_key(md, dir, rc == 0);
    if (rc < 0)
        goto fail;
    rc = md_writer_start(md);
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
    if (md->be_open)
        md->be->close(md);
    OPENSSL_cleanse(md->master_key, sizeof(md->master_key));
    pthread_cond_destroy(&md->cv_work);
    pthread_cond_destroy(&md->cv_done);
    pthread_mutex_destroy(&md->mu);
    free(md);
}

/* ---- readers, snapshots, errors ------------------------------------------ */

struct md_conn *
md_reader(struct md *md)
{
    return md->be->reader(md);
}

int
md_snapshot_begin(struct md_conn *c)
{
    if (c == NULL)
        return -EIO;
    return c->md->be->snapshot_begin(c);
}

void
md_snapshot_end(struct md_conn *c)
{
    if (c != NULL)
        c->md->be->snapshot_end(c);
}

const char *
md_errmsg(struct md_conn *c)
{
    if (c == NULL)
        return "no database connection";
    return c->md->be->errmsg(c);
}
