/* md_backup.c -- meta.db copied online with sqlite3_backup_*, and the walk of
 * the copy's blob references. Works on files by path, not on struct md: the
 * copy is never opened as a store here (cofferd migrates it when it starts
 * on it). */
#include "common.h"
#include "store/md_backup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BUSY_MS 5000

static int
fail(sqlite3 *db, const char *what, char *err, size_t errsz)
{
    snprintf(err, errsz, "%s: %s", what, db != NULL ? sqlite3_errmsg(db) : "out of memory");
    return -EIO;
}

static int
open_db(const char *path, int flags, sqlite3 **db, char *err, size_t errsz)
{
    if (sqlite3_open_v2(path, db, flags, NULL) != SQLITE_OK)
        return fail(*db, path, err, errsz);
    sqlite3_busy_timeout(*db, BUSY_MS);
    return 0;
}

int
md_backup_db(const char *src_path, const char *dest_path, char *err, size_t errsz)
{
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_backup *bk;
    int rc, fd;

    /* The copy holds sealed secrets' metadata and key ids: 0600 from the
     * start, and never over an existing file. */
    fd = open(dest_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    close(fd);
    rc = open_db(src_path, SQLITE_OPEN_READWRITE, &src, err, errsz);
    if (rc < 0)
        goto out;
    rc = open_db(dest_path, SQLITE_OPEN_READWRITE, &dst, err, errsz);
    if (rc < 0)
        goto out;
    bk = sqlite3_backup_init(dst, "main", src, "main");
    if (bk == NULL) {
        rc = fail(dst, "backup", err, errsz);
        goto out;
    }
    /* All pages in one step: one read transaction on the source, so the
     * copy is one committed state. Busy means another connection holds a
     * lock the step needs for a moment (a checkpoint); try again. */
    do {
        rc = sqlite3_backup_step(bk, -1);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            sqlite3_sleep(20);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(bk);
    if (rc != SQLITE_DONE) {
        rc = fail(dst, "backup", err, errsz);
        goto out;
    }
    rc = 0;
out:
    sqlite3_close(dst);
    sqlite3_close(src);
    return rc;
}

int
md_backup_blobs_db(struct sqlite3 *db, int (*fn)(void *arg, struct str id, int64_t upload),
                   void *arg, char *err, size_t errsz)
{
    /* Versions' data first: a missing one is fatal to the backup, while a
     * part of an in-progress upload may have gone with its upload. */
    static const char sql[] = "SELECT blob_id, 0 FROM versions WHERE blob_id IS NOT NULL "
                              "UNION ALL SELECT blob_id, 0 FROM version_parts "
                              "UNION ALL SELECT blob_id, upload FROM upload_parts";
    sqlite3_stmt *s = NULL;
    int rc;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return fail(db, "reading blob references", err, errsz);
    for (;;) {
        const char *id;
        int n;

        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        id = (const char *)sqlite3_column_text(s, 0);
        n = sqlite3_column_bytes(s, 0);
        rc = fn(arg, str_make(id != NULL ? id : "", (size_t)n), sqlite3_column_int64(s, 1));
        if (rc < 0)
            goto out;
    }
    rc = rc == SQLITE_DONE ? 0 : fail(db, "reading blob references", err, errsz);
out:
    sqlite3_finalize(s);
    return rc;
}

int
md_backup_blobs(const char *db_path, int (*fn)(void *arg, struct str id, int64_t upload),
                void *arg, char *err, size_t errsz)
{
    sqlite3 *db = NULL;
    int rc;

    rc = open_db(db_path, SQLITE_OPEN_READONLY, &db, err, errsz);
    if (rc == 0)
        rc = md_backup_blobs_db(db, fn, arg, err, errsz);
    sqlite3_close(db);
    return rc;
}

int
md_backup_drop_upload(const char *db_path, int64_t upload, char *err, size_t errsz)
{
    char sql[160];
    sqlite3 *db = NULL;
    int rc;

    snprintf(sql, sizeof(sql),
             "BEGIN; DELETE FROM upload_parts WHERE upload = %lld; "
             "DELETE FROM uploads WHERE id = %lld; COMMIT;",
             (long long)upload, (long long)upload);
    rc = open_db(db_path, SQLITE_OPEN_READWRITE, &db, err, errsz);
    if (rc == 0 && sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        rc = fail(db, db_path, err, errsz);
    sqlite3_close(db);
    return rc;
}
