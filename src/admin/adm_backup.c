/* adm_backup.c -- `coffer backup --to DIR`: a consistent copy of a data
 * directory while cofferd runs. First a snapshot of meta.db (SQLite's online
 * backup API), then every data blob that snapshot references, then what a
 * restore needs besides (master.key, tls/). Not here: restoring, which is
 * stopping cofferd and copying the directory back (README).
 *
 * Why the late blob copy is enough: a blob is durable before the metadata
 * that names it commits, and the data of a deleted or replaced version is
 * unlinked only --reclaim-grace seconds after the delete committed. So
 * every blob the snapshot names exists until at least grace seconds after
 * the snapshot; a backup slower than that finds one gone, and fails rather
 * than leave versions without data. Parts of in-progress uploads are
 * removed at once on abort: a missing one drops its upload from the copy,
 * as if the backup had been taken just after the abort. */
#include "common.h"

#include "admin/adm.h"
#include "store/blob.h"
#include "store/md_backup.h"
#include "util/str.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Copies blob id from w->src to w->dst under the same id: 0, -ENOENT when
 * the source has no such blob, or -errno. */
static int
copy_blob(struct adm_blob_walk *w, struct str id)
{
    struct blob_writer *bw = NULL;
    struct blob_reader *rd;
    int fd = -1, rc;
    ssize_t n;

    rc = blob_open_fd(w->dst, id, &fd);
    if (rc == 0) { /* already copied: blobs are immutable */
        close(fd);
        return 0;
    }
    /* Through a reader, not an fd: the source may be any backend. */
    rd = blob_reader_open(w->src);
    n = blob_read(rd, id, 0, NULL, 0);
    if (n < 0) {
        rc = (int)n;
        goto out;
    }
    rc = blob_writer_open(w->dst, &bw);
    if (rc < 0)
        goto out;
    for (int64_t off = 0;; off += n) {
        n = blob_read(rd, id, off, w->buf, ADM_COPY_CHUNK);
        if (n <= 0)
            break;
        rc = blob_writer_write(bw, w->buf, (size_t)n);
        if (rc < 0)
            goto out;
        w->n_bytes += n;
    }
    if (n < 0) {
        rc = (int)n;
        goto out;
    }
    rc = blob_writer_commit_as(bw, id); /* temp, fsync, rename, as any blob */
    bw = NULL;
    if (rc == 0)
        w->n_blobs++;
out:
    blob_writer_abort(bw);
    blob_reader_close(rd);
    return rc;
}

int
adm_blob_walk_copy(void *arg, struct str id, int64_t upload)
{
    struct adm_blob_walk *w = arg;
    int rc;

    if (upload != 0) {
        for (size_t i = 0; i < w->n_dropped; i++)
            if (w->dropped[i] == upload)
                return 0;
    }
    rc = copy_blob(w, id);
    if (rc != -ENOENT)
        return rc;
    if (upload == 0) {
        memcpy(w->missing, id.p, id.n < BLOB_ID_LEN ? id.n : BLOB_ID_LEN);
        return -ENOENT;
    }
    if (w->n_dropped == ADM_MAX_DROPPED)
        return -E2BIG;
    w->dropped[w->n_dropped++] = upload;
    return 0;
}

/* Copies regular file from/name to to/name with mode, durably. */
static int
copy_file(const char *from, const char *to, mode_t mode)
{
    char buf[8192];
    int in, out = -1, rc = 0;
    ssize_t n;

    in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -errno;
    out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (out < 0) {
        rc = -errno;
        goto out;
    }
    for (;;) {
        n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (write(out, buf, (size_t)n) != n) {
            rc = errno != 0 ? -errno : -EIO;
            goto out;
        }
    }
    if (n < 0 || fsync(out) < 0)
        rc = -errno;
out:
    if (out >= 0)
        close(out);
    close(in);
    return rc;
}

/* DIR/tls, when the server generated its certificate there: every regular
 * file, keeping its mode (key.pem stays 0600). 0 (also when absent). */
static int
copy_tls(const char *data, const char *to)
{
    char from_dir[PATH_MAX], to_dir[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
    struct dirent *e;
    struct stat st;
    DIR *d;
    int rc = 0;

    snprintf(from_dir, sizeof(from_dir), "%s/tls", data);
    snprintf(to_dir, sizeof(to_dir), "%s/tls", to);
    d = opendir(from_dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : -errno;
    if (mkdir(to_dir, 0700) < 0) {
        rc = -errno;
        goto out;
    }
    for (;;) {
        e = readdir(d);
        if (e == NULL)
            break;
        if ((size_t)snprintf(a, sizeof(a), "%s/%s", from_dir, e->d_name) >= sizeof(a) ||
            (size_t)snprintf(b, sizeof(b), "%s/%s", to_dir, e->d_name) >= sizeof(b)) {
            rc = -ENAMETOOLONG;
            goto out;
        }
        if (stat(a, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        rc = copy_file(a, b, st.st_mode & 0777);
        if (rc < 0)
            goto out;
    }
out:
    closedir(d);
    return rc;
}

/* DEST must be new or an empty directory; created 0700. */
static int
prepare_dest(const char *to)
{
    DIR *d;
    struct dirent *e;
    int n = 0;

    if (mkdir(to, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return adm_fail("cannot create '%s': %s", to, strerror(errno));
    d = opendir(to);
    if (d == NULL)
        return adm_fail("'%s': %s", to, strerror(errno));
    for (;;) {
        e = readdir(d);
        if (e == NULL)
            break;
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    }
    closedir(d);
    if (n > 0)
        return adm_fail("'%s' is not empty: back up into a new directory", to);
    return chmod(to, 0700) < 0 ? adm_fail("'%s': %s", to, strerror(errno)) : 0;
}

int
adm_backup(struct adm_cli *cli)
{
    char db[PATH_MAX], a[PATH_MAX], b[PATH_MAX], err[256] = "";
    struct adm_blob_walk w = {0};
    int ret = ADM_EXIT_INTERNAL, rc;

    if (cli->meta_url.sqlite_path[0] == '\0')
        return adm_fail("backup copies an embedded (SQLite) store; metadata in PostgreSQL is "
                        "backed up with PostgreSQL's own tools (pg_dump, pg_basebackup)");
    if ((size_t)snprintf(db, sizeof(db), "%s/meta.db", cli->to) >= sizeof(db))
        return adm_fail("'%s': name too long", cli->to);
    ret = prepare_dest(cli->to);
    if (ret != 0)
        return ret;
    ret = ADM_EXIT_INTERNAL;
    rc = md_backup_db(cli->meta_url.sqlite_path, db, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "coffer: backup: copying the metadata: %s\n",
                err[0] != '\0' ? err : strerror(-rc));
        if (rc != -EEXIST)
            unlink(db);
        goto out;
    }
    ret = adm_open_blobs(cli, &w.src);
    if (ret != 0)
        goto out;
    ret = ADM_EXIT_INTERNAL;
    /* The copy is always a files-backend data directory. */
    rc = blob_open(cli->to, &w.dst);
    if (rc < 0) {
        ret = adm_internal("opening the data files", rc);
        goto out;
    }
    w.buf = malloc(ADM_COPY_CHUNK);
    if (w.buf == NULL) {
        ret = adm_internal("backup", -ENOMEM);
        goto out;
    }
    rc = md_backup_blobs(db, adm_blob_walk_copy, &w, err, sizeof(err));
    if (rc == -ENOENT) {
        /* AWS: nothing. Coffer: a backup with a version whose data is gone
         * would restore a store that fails reads; refuse it loudly. */
        fprintf(stderr,
                "coffer: backup failed: data file %s, referenced by the metadata snapshot, "
                "was removed by the server before it could be copied: the backup took longer "
                "than cofferd's --reclaim-grace. '%s' is incomplete and its meta.db was "
                "removed; delete the directory and run the backup again (or raise "
                "--reclaim-grace)\n",
                w.missing, cli->to);
        unlink(db);
        goto out;
    }
    if (rc < 0) {
        fprintf(stderr, "coffer: backup: copying data files: %s\n",
                err[0] != '\0' ? err : strerror(-rc));
        goto out;
    }
    for (size_t i = 0; i < w.n_dropped; i++) {
        rc = md_backup_drop_upload(db, w.dropped[i], err, sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "coffer: backup: %s\n", err);
            goto out;
        }
    }
    if (cli->master_key != NULL)
        snprintf(a, sizeof(a), "%s", cli->master_key);
    else
        snprintf(a, sizeof(a), "%s/master.key", cli->data);
    snprintf(b, sizeof(b), "%s/master.key", cli->to);
    rc = copy_file(a, b, 0600);
    if (rc < 0 && rc != -ENOENT) {
        ret = adm_internal("copying master.key", rc);
        goto out;
    }
    rc = copy_tls(cli->data, cli->to);
    if (rc < 0) {
        ret = adm_internal("copying tls/", rc);
        goto out;
    }
    printf("backup of %s in %s: meta.db, %" PRId64 " data file(s) (%" PRId64
           " bytes), master.key%s\n",
           cli->data, cli->to, w.n_blobs, w.n_bytes, access(b, F_OK) == 0 ? "" : " (none yet)");
    if (w.n_dropped > 0)
        printf("%zu multipart upload(s) aborted or completed during the backup left out\n",
               w.n_dropped);
    ret = 0;
out:
    free(w.buf);
    blob_close(w.dst);
    blob_close(w.src);
    return ret;
}
