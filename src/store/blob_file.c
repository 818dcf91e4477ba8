/* blob_file.c -- the local-files data backend (blob_int.h's blob_files):
 * DIR/tmp/<random>.tmp while written, DIR/blobs/<2 hex>/<32 hex> once
 * committed. Knows nothing about metadata; the caller orders blob commits
 * before md commits (see blob.h). Its state is set at open and never
 * changes, so any thread may use a handle; paths are resolved relative to
 * directory fds held open. Each system call that writes is a FAULT() site of the test build:
 * blob.open, blob.write, blob.fsync, blob.dirsync, blob.rename, blob.unlink.
 * EINTR is retried everywhere, short writes continue where they stopped. */
#include "common.h"
#include "store/blob_int.h"
#include "crypto/hash.h"
#include "store/space.h"
#include "util/enc.h"
#include "util/fault.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#define TMP_SUFFIX ".tmp"
#define TMP_NAME_LEN (32 + sizeof(TMP_SUFFIX) - 1)
_Static_assert(TMP_NAME_LEN < sizeof(((struct blob_writer *)0)->tmp_name), "tmp_name too short");

/* Writeback is started every WRITEBACK_BYTES of a large blob, so the disk
 * works while the rest arrives and the final fsync has little left to do
 * (a 256 MiB PUT otherwise waits for all of it at the end). */
#define WRITEBACK_BYTES (8 * 1024 * 1024)

/* -err, after telling the space guard when the disk is full. */
static int
io_err(struct blob *b, int err)
{
    if (err == ENOSPC || err == EDQUOT)
        space_exhausted(b->space);
    return -err;
}

/* The system calls behind the FAULT() sites; each returns 0 or -errno. */
static int
sync_fd(int fd, const char *site)
{
    (void)site; /* only the FAULT build reads it */
    for (;;) {
        int f = FAULT(site);

        if (f > 0)
            errno = f;
        else if (fsync(fd) == 0)
            return 0;
        if (errno != EINTR)
            return -errno;
    }
}

static int
rename_blob(struct blob *b, const char *tmp_name, const char *path)
{
    for (;;) {
        int f = FAULT("blob.rename");

        if (f > 0)
            errno = f;
        else if (renameat(b->tmp_fd, tmp_name, b->blobs_fd, path) == 0)
            return 0;
        if (errno != EINTR)
            return -errno;
    }
}

static int
unlink_at(int dirfd, const char *name)
{
    for (;;) {
        int f = FAULT("blob.unlink");

        if (f > 0)
            errno = f;
        else if (unlinkat(dirfd, name, 0) == 0)
            return 0;
        if (errno != EINTR)
            return -errno;
    }
}

/* A new temp file: an fd or -errno. */
static int
open_tmp(struct blob *b, const char *name)
{
    for (;;) {
        int f = FAULT("blob.open"), fd = -1;

        if (f > 0)
            errno = f;
        else
            fd = openat(b->tmp_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0)
            return fd;
        if (errno != EINTR)
            return -errno;
    }
}

/* One write(2): > 0 bytes written, or -1 with errno. */
static ssize_t
write_some(int fd, const void *p, size_t n)
{
    int f = FAULT("blob.write");

    if (f == FAULT_SHORT && n > 1) {
        n /= 2;
    } else if (f > 0) {
        errno = f;
        return -1;
    }
    return write(fd, p, n);
}

static int
random_hex(char out[2 * 16 + 1])
{
    unsigned char rnd[16];

    if (rand_bytes(rnd, sizeof(rnd)) < 0)
        return -EIO;
    hex_encode(rnd, sizeof(rnd), out);
    return 0;
}

/* "xx/<id>" for a valid id. */
static void
blob_path(struct str id, char out[3 + BLOB_ID_LEN + 1])
{
    out[0] = id.p[0];
    out[1] = id.p[1];
    out[2] = '/';
    memcpy(out + 3, id.p, BLOB_ID_LEN);
    out[3 + BLOB_ID_LEN] = '\0';
}

/* Creates dirfd/name (0700) if missing; 1 if it was created, 0, -errno. */
static int
ensure_dir(int dirfd, const char *name)
{
    if (mkdirat(dirfd, name, 0700) == 0)
        return 1;
    return errno == EEXIST ? 0 : -errno;
}

static int
open_dir(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    return fd < 0 ? -errno : fd;
}

static void
files_close(struct blob *b)
{
    if (b->blobs_fd >= 0)
        close(b->blobs_fd);
    if (b->tmp_fd >= 0)
        close(b->tmp_fd);
    b->blobs_fd = b->tmp_fd = -1;
}

/* Creates path (0700) if missing, durably (its parent directory is synced
 * when it was created): 0 or -errno. */
static int
make_dir(const char *path)
{
    char parent[BLOB_URL_PATH_MAX];
    const char *slash;
    int fd, rc = 0;

    if (mkdir(path, 0700) == 0) {
        slash = strrchr(path, '/');
        if (slash == NULL)
            snprintf(parent, sizeof(parent), ".");
        else if (slash == path)
            snprintf(parent, sizeof(parent), "/");
        else
            snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
        fd = open_dir(AT_FDCWD, parent);
        if (fd < 0)
            return fd;
        if (fsync(fd) < 0)
            rc = -errno;
        close(fd);
        return rc;
    }
    return errno == EEXIST ? 0 : -errno;
}

static int
files_open(struct blob *b, const struct blob_url *url)
{
    char dir[BLOB_URL_PATH_MAX];
    const char *slash = strrchr(url->path, '/');
    int rc;

    b->blobs_fd = b->tmp_fd = -1;
    /* The default layout's DIR may not exist yet either (DIR/blobs). */
    if (slash != NULL && slash != url->path) {
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - url->path), url->path);
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            return -errno;
    }
    rc = make_dir(url->path);
    if (rc == 0)
        rc = make_dir(url->tmp);
    if (rc < 0)
        goto fail;
    b->blobs_fd = open_dir(AT_FDCWD, url->path);
    b->tmp_fd = open_dir(AT_FDCWD, url->tmp);
    if (b->blobs_fd < 0 || b->tmp_fd < 0) {
        rc = b->blobs_fd < 0 ? b->blobs_fd : b->tmp_fd;
        goto fail;
    }
    return 0;
fail:
    files_close(b);
    return rc;
}

static int
files_writer_open(struct blob_writer *w)
{
    char rnd[33];
    int rc;

    w->fd = -1;
    rc = random_hex(rnd);
    if (rc < 0)
        return rc;
    memcpy(w->tmp_name, rnd, 32);
    memcpy(w->tmp_name + 32, TMP_SUFFIX, sizeof(TMP_SUFFIX));
    w->fd = open_tmp(w->b, w->tmp_name);
    return w->fd < 0 ? io_err(w->b, -w->fd) : 0;
}

static int
files_writer_write(struct blob_writer *w, const void *p, size_t n)
{
    const char *q = p;

    while (n > 0) {
        ssize_t k = write_some(w->fd, q, n);

        if (k < 0) {
            if (errno == EINTR)
                continue;
            return io_err(w->b, errno);
        }
        q += k;
        n -= (size_t)k;
        w->size += k;
    }
    if (w->size - w->flushed >= WRITEBACK_BYTES) {
        /* A hint: failure only means the fsync does all the work. */
        (void)sync_file_range(w->fd, w->flushed, w->size - w->flushed, SYNC_FILE_RANGE_WRITE);
        w->flushed = w->size;
    }
    return 0;
}

/* Makes DIR/blobs/<fan> exist durably; returns an fd on it or -errno. */
static int
fanout_dir(struct blob *b, const char *fan)
{
    int rc = ensure_dir(b->blobs_fd, fan);

    /* A new fan-out directory is itself an entry of DIR/blobs: make it
     * durable before a file inside it counts as committed. */
    if (rc > 0)
        rc = sync_fd(b->blobs_fd, "blob.dirsync");
    if (rc < 0)
        return io_err(b, -rc);
    return open_dir(b->blobs_fd, fan);
}

static int
files_writer_commit(struct blob_writer *w, char *id)
{
    struct blob *b = w->b;
    char path[3 + BLOB_ID_LEN + 1], fan[3];
    int rc, dfd = -1;
    bool renamed = false;

    rc = 0;
    if (w->want_id[0] != '\0')
        memcpy(id, w->want_id, BLOB_ID_LEN + 1);
    else
        rc = random_hex(id);
    if (rc < 0)
        goto out;
    blob_path(str_make(id, BLOB_ID_LEN), path);
    memcpy(fan, id, 2);
    fan[2] = '\0';
    rc = sync_fd(w->fd, "blob.fsync");
    if (rc < 0) {
        rc = io_err(b, -rc);
        goto out;
    }
    rc = close(w->fd) < 0 ? -errno : 0;
    w->fd = -1;
    if (rc < 0)
        goto out;
    dfd = fanout_dir(b, fan);
    if (dfd < 0) {
        rc = dfd;
        goto out;
    }
    rc = rename_blob(b, w->tmp_name, path);
    if (rc < 0) {
        rc = io_err(b, -rc);
        goto out;
    }
    renamed = true;
    rc = sync_fd(dfd, "blob.dirsync");
    if (rc < 0)
        rc = io_err(b, -rc);
out:
    /* On failure nothing may point at the file yet: remove it wherever it
     * is, so the caller can simply report the error. */
    if (rc < 0) {
        if (w->fd >= 0)
            close(w->fd);
        if (renamed)
            unlinkat(b->blobs_fd, path, 0);
        else
            unlinkat(b->tmp_fd, w->tmp_name, 0);
        id[0] = '\0';
    }
    if (dfd >= 0)
        close(dfd);
    return rc;
}

static void
files_writer_abort(struct blob_writer *w)
{
    close(w->fd);
    unlinkat(w->b->tmp_fd, w->tmp_name, 0);
}

static int
files_open_fd(struct blob *b, struct str id, int *fd)
{
    char path[3 + BLOB_ID_LEN + 1];
    int f;

    blob_path(id, path);
    do
        f = openat(b->blobs_fd, path, O_RDONLY | O_CLOEXEC);
    while (f < 0 && errno == EINTR);
    if (f < 0)
        return -errno;
    *fd = f;
    return 0;
}

/* A reader keeps its current blob open: once open, the file stays readable
 * whatever happens to its name. */
static int
files_read_open(struct blob_reader *r, struct str id)
{
    return files_open_fd(r->b, id, &r->fd);
}

static ssize_t
files_read(struct blob_reader *r, int64_t off, void *p, size_t n)
{
    for (;;) {
        ssize_t got = pread(r->fd, p, n, off);

        if (got >= 0)
            return got;
        if (errno != EINTR)
            return -errno;
    }
}

static void
files_read_close(struct blob_reader *r)
{
    close(r->fd);
    r->fd = -1;
}

static int
files_remove(struct blob *b, struct str id)
{
    char path[3 + BLOB_ID_LEN + 1];

    blob_path(id, path);
    return unlink_at(b->blobs_fd, path);
}

/* True if dirfd/name is a regular file at least min_age_s old. */
static bool
old_file(int dirfd, const char *name, time_t now, int min_age_s)
{
    struct stat st;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
        return false;
    return now - st.st_mtime >= min_age_s;
}

static bool
is_tmp_name(const char *name)
{
    size_t n = strlen(name);

    return n == TMP_NAME_LEN && memcmp(name + 32, TMP_SUFFIX, sizeof(TMP_SUFFIX) - 1) == 0;
}

/* Removes orphan blobs of one fan-out directory; returns the count. */
static int
gc_fan(struct blob *b, const char *fan, int (*is_live)(void *, struct str), void *arg, time_t now,
       int min_age_s)
{
    int fd = open_dir(b->blobs_fd, fan), removed = 0;
    struct dirent *e;
    DIR *d;

    if (fd < 0)
        return 0;
    d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        struct str id = str_c(e->d_name);

        if (!blob_id_valid(id) || memcmp(id.p, fan, 2) != 0)
            continue;
        if (!old_file(fd, e->d_name, now, min_age_s))
            continue;
        /* Only a definite "not referenced" deletes; an error keeps it. */
        if (is_live(arg, id) != 0)
            continue;
        if (unlinkat(fd, e->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

static int
files_gc(struct blob *b, int (*is_live)(void *arg, struct str id), void *arg, int min_age_s)
{
    time_t now = time(NULL);
    struct dirent *e;
    int removed = 0, fd;
    DIR *d;

    fd = open_dir(b->tmp_fd, ".");
    if (fd < 0)
        return fd;
    d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return -errno;
    }
    while ((e = readdir(d)) != NULL) {
        if (is_tmp_name(e->d_name) && old_file(fd, e->d_name, now, min_age_s) &&
            unlinkat(fd, e->d_name, 0) == 0)
            removed++;
    }
    closedir(d);

    fd = open_dir(b->blobs_fd, ".");
    if (fd < 0)
        return fd;
    d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return -errno;
    }
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;

        if (strlen(n) == 2 && strspn(n, "0123456789abcdef") == 2)
            removed += gc_fan(b, n, is_live, arg, now, min_age_s);
    }
    closedir(d);
    return removed;
}

/* An unnamed file in DIR/tmp, made and dropped. */
static int
files_probe(struct blob *b)
{
    int fd = openat(b->tmp_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);

    if (fd < 0)
        return -errno;
    close(fd);
    return 0;
}

const struct blob_backend blob_files = {
    .name = "files",
    .open = files_open,
    .close = files_close,
    .writer_open = files_writer_open,
    .writer_write = files_writer_write,
    .writer_commit = files_writer_commit,
    .writer_abort = files_writer_abort,
    .read_open = files_read_open,
    .read = files_read,
    .read_close = files_read_close,
    .open_fd = files_open_fd,
    .remove = files_remove,
    .gc = files_gc,
    .probe = files_probe,
};
