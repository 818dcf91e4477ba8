/* md_sqlite.c -- the SQLite metadata backend: connections (WAL,
 * synchronous=FULL, foreign keys, busy timeouts), error mapping, schema
 * migration, the writer's BEGIN IMMEDIATE / SAVEPOINT / COMMIT with its
 * lock waits, each thread's read connection and read snapshots, and the
 * file modes of meta.db. It fills struct md_backend (md_int.h); the rows
 * themselves are md_ident.c, md_audit.c, md_bucket.c and md_upload.c. */
#include "common.h"
#include "store/md_int.h"
#include "store/md_schema.h"
#include "util/log.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

const char *const md_st_sql[ST__COUNT] = {
#define X(name, sql) [ST_##name] = sql,
    MD_STMTS(X)
#undef X
};

/* ---- connections ----------------------------------------------------------- */

/* SQLite's result code as -errno. A full disk is -ENOSPC when the write
 * that failed leaves nothing behind (SQLITE_FULL: the frame or page was not
 * written); a failed fsync stays -EIO whatever its errno, since the log
 * frames it was to make durable are on disk and a crash before the next
 * commit could still bring them back (md_write's "outcome unknown"). */
int
md_errcode(struct md_conn *c, int src)
{
    int sys;

    snprintf(c->err, sizeof(c->err), "%s", sqlite3_errmsg(c->db));
    switch (src) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return -EEXIST;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return -ENOENT;
    }
    switch (src & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_FULL:
        c->saw_full = true;
        return -ENOSPC;
    case SQLITE_IOERR:
        sys = sqlite3_system_errno(c->db);
        if (sys != ENOSPC && sys != EDQUOT)
            return -EIO;
        c->saw_full = true;
        return src == SQLITE_IOERR_FSYNC ? -EIO : -ENOSPC;
    default:
        return -EIO;
    }
}


static void
conn_close(struct md_conn *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < ARRAY_LEN(c->st); i++)
        sqlite3_finalize(c->st[i].sq);
    sqlite3_close_v2(c->db);
    free(c);
}

static int
conn_open(struct md *md, bool writer, struct md_conn **out)
{
    struct md_conn *c = xcalloc(1, sizeof(*c));
    int flags = SQLITE_OPEN_NOMUTEX;
    int rc;

    c->md = md;
    /* Readers are read-only: a write attempted outside md_write() fails
     * loudly instead of racing the writer for the lock. */
    flags |= writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    rc = sqlite3_open_v2(md->db_path, &c->db, flags, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    /* temp_store=MEMORY: the sub-journal a savepoint or a statement keeps
     * of the pages it changes stays in memory, where by default it spills
     * past 64 KiB to a temp file: a batch of 256 lifecycle expirations
     * wrote ~1,450 page copies there (12 pwrite calls per action, half the
     * executor's CPU in the kernel), for a journal that is dropped at the
     * commit; it is never part of durability. */
    rc = sqlite3_exec(c->db,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
                      "PRAGMA temp_store=MEMORY;",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    *out = c;
    return 0;
fail:
    log_error("md: cannot open %s: %s", md->db_path, c->db ? sqlite3_errmsg(c->db) : "no memory");
    conn_close(c);
    return -EIO;
}

/* 1 if PRAGMA foreign_key_check reports a dangling reference, 0, or -1. */
static int
fk_violations(sqlite3 *db)
{
    sqlite3_stmt *s = NULL;
    int rc;

    if (sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &s, NULL) != SQLITE_OK)
        return -1;
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* The steps from the stored user_version on, in one transaction. */
static int
migrate_steps(struct md_conn *c)
{
    sqlite3_stmt *s = NULL;
    char sql[64];
    int rc, v = -1, n_iam = -1;

    rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    rc = sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &s, NULL);
    if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (v < 0) {
        rc = SQLITE_ERROR;
        goto fail;
    }
    if (v > MD_SCHEMA_VERSION) {
        log_error("md: %s has schema version %d, newer than this binary's %d", c->md->db_path, v,
                  MD_SCHEMA_VERSION);
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        return -EPROTO;
    }
    if (v == MD_SCHEMA_VERSION)
        return sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
    for (int i = v; i < MD_SCHEMA_VERSION; i++) {
        rc = sqlite3_exec(c->db, md_migrations[i], NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            goto fail;
    }
    if (v <= MD_MIGRATION_IAM) {
        rc = sqlite3_prepare_v2(c->db, MD_MIGRATION_IAM_COUNT, -1, &s, NULL);
        if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
            n_iam = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
        if (rc != SQLITE_OK)
            goto fail;
    }
    if (fk_violations(c->db) != 0) {
        log_error("md: schema migration of %s failed: foreign_key_check", c->md->db_path);
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        return -EIO;
    }
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", MD_SCHEMA_VERSION);
    rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        if (v > 0)
            log_info("md: %s migrated from schema version %d to %d", c->md->db_path, v,
                     MD_SCHEMA_VERSION);
        /* Users had every S3 permission before policies were evaluated. */
        if (n_iam > 0)
            log_info("md: attached arn:aws:iam::aws:policy/AmazonS3FullAccess to %d existing "
                     "IAM user(s), so the upgrade denies none of them",
                     n_iam);
        return 0;
    }
fail:
    log_error("md: schema migration of %s failed: %s", c->md->db_path, sqlite3_errmsg(c->db));
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return (rc & 0xff) == SQLITE_BUSY ? -EBUSY : -EIO;
}

/* Brings the schema to MD_SCHEMA_VERSION under the write lock, so the server
 * and the admin CLI may open a new data directory at the same time.
 * Foreign keys are off while the steps run, as SQLite's table-rebuild recipe
 * asks (a step may drop and recreate a referenced table); the pragma is a
 * no-op inside a transaction, so it brackets the transaction, and
 * foreign_key_check stands in for enforcement before COMMIT. */
static int
migrate(struct md_conn *c)
{
    int rc = -EIO;

    if (sqlite3_exec(c->db, "PRAGMA foreign_keys=OFF", NULL, NULL, NULL) == SQLITE_OK)
        rc = migrate_steps(c);
    if (sqlite3_exec(c->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL) != SQLITE_OK && rc == 0)
        rc = -EIO;
    return rc;
}


/* ---- the writer's transaction ---------------------------------------------- */

/* Runs statement id, waiting up to wait_ms in all while another process
 * (the admin CLI, or anything holding meta.db open) has the write lock;
 * long waits are cut into BUSY_TIMEOUT_MS slices so each is logged. */
static int
exec_waiting(struct md_conn *c, enum st id, int wait_ms)
{
    int slice = wait_ms < BUSY_TIMEOUT_MS ? wait_ms : BUSY_TIMEOUT_MS;
    int rc;

    if (c->busy_ms != slice) {
        sqlite3_busy_timeout(c->db, slice);
        c->busy_ms = slice;
    }
    for (int waited = slice;; waited += slice) {
        rc = exec_id(c, id);
        if (rc != -EBUSY || waited >= wait_ms)
            return rc;
        log_warn("md: database write-locked by another process for %d s; retrying", waited / 1000);
    }
}

/* BEGIN IMMEDIATE: the write lock at once, so the group's statements never
 * meet SQLITE_BUSY halfway (a deferred transaction upgrading its lock could). */
static int
sq_begin(struct md_conn *c, int wait_ms)
{
    return exec_waiting(c, ST_BEGIN, wait_ms);
}

static bool
sq_in_txn(struct md_conn *c)
{
    return !sqlite3_get_autocommit(c->db);
}

static void
sq_rollback(struct md_conn *c)
{
    (void)exec_id(c, ST_ROLLBACK);
}

static int
sq_commit(struct md_conn *c, int wait_ms)
{
    int rc = exec_waiting(c, ST_COMMIT, wait_ms);

    if (rc < 0) {
        log_error("md: group commit failed: %s", c->err);
        if (sq_in_txn(c))
            sq_rollback(c);
    }
    return rc;
}

static int
sq_savepoint(struct md_conn *c)
{
    return exec_id(c, ST_SAVEPOINT);
}

static int
sq_release(struct md_conn *c)
{
    return exec_id(c, ST_RELEASE);
}

/* ROLLBACK TO undoes the job but leaves its savepoint open: RELEASE it. */
static int
sq_rollback_to(struct md_conn *c)
{
    int rc = exec_id(c, ST_ROLLBACK_TO);

    return rc < 0 ? rc : exec_id(c, ST_RELEASE);
}

/* ---- readers and snapshots ------------------------------------------------- */

static int
sq_reader_open(struct md *md, struct md_conn **out)
{
    return conn_open(md, false, out);
}

static int
sq_snapshot_begin(struct md_conn *c)
{
    int rc;

    if (c->in_snapshot)
        return -EALREADY;
    rc = exec_id(c, ST_BEGIN_READ);
    c->in_snapshot = rc == 0;
    return rc;
}

static void
sq_snapshot_end(struct md_conn *c)
{
    if (!c->in_snapshot)
        return;
    c->in_snapshot = false;
    if (exec_id(c, ST_COMMIT) < 0) /* a read transaction: nothing to lose */
        log_error("md: ending a read snapshot: %s", c->err);
}

static struct stmt *
sq_prepare(struct md_conn *c, enum st id)
{
    int rc = sqlite3_prepare_v3(c->db, md_st_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                &c->st[id].sq, NULL);

    if (rc != SQLITE_OK) {
        c->get_rc = md_errcode(c, rc);
        c->st[id].sq = NULL;
        return NULL;
    }
    return &c->st[id];
}

static const char *
sq_errmsg(struct md_conn *c)
{
    return c->err[0] ? c->err : sqlite3_errmsg(c->db);
}

/* ---- open and close ---------------------------------------------------------- */


/* Makes path mode 0600 (creating it if create), so that only the owner can
 * read the metadata: sealed secrets, bucket and key names, the audit log.
 * SQLite creates -wal and -shm with the database file's mode, so securing
 * meta.db first covers those it makes later; older ones are fixed here. A
 * process-wide umask() would race the other threads' file creation. */
static int
secure_file(const char *path, bool create)
{
    struct stat st;
    int fd, rc = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
    if (fd < 0)
        return errno == ENOENT && !create ? 0 : -errno;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
    } else if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
    } else if ((st.st_mode & 0777) != 0600 && fchmod(fd, 0600) < 0) {
        rc = -errno;
        log_error("md: cannot chmod 600 %s: %s", path, strerror(errno));
    }
    close(fd);
    return rc;
}

static int
secure_db_files(const char *db_path)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    char path[4096];
    int rc;

    for (size_t i = 0; i < ARRAY_LEN(sfx); i++) {
        if ((size_t)snprintf(path, sizeof(path), "%s%s", db_path, sfx[i]) >= sizeof(path))
            return -ENAMETOOLONG;
        rc = secure_file(path, i == 0);
        if (rc < 0)
            return rc;
    }
    return 0;
}


static void
sq_close(struct md *md)
{
    /* Last, after the readers (md_close()): the final connection to close
     * checkpoints the WAL into the database and removes it, which a
     * read-only reader cannot do. */
    conn_close(md->wconn);
    md->wconn = NULL;
    free(md->db_path);
    md->db_path = NULL;
}

static int
sq_open(struct md *md, const struct md_url *where)
{
    int rc;

    /* Before SQLite initialises (later calls fail harmlessly): without the
     * allocation statistics, sqlite3_malloc takes no process-wide mutex,
     * which the event loops and workers would otherwise contend on. */
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    md_fault_install(); /* the test build's VFS; nothing otherwise */
    md->db_path = xstrdup(where->sqlite_path);
    rc = secure_db_files(md->db_path);
    if (rc < 0)
        goto fail;
    rc = conn_open(md, true, &md->wconn);
    if (rc < 0)
        goto fail;
    rc = migrate(md->wconn);
    if (rc < 0)
        goto fail;
    return 0;
fail:
    sq_close(md);
    return rc;
}

const struct md_backend md_sqlite = {
    .name = "sqlite",
    .seq_block = 1,
    .open = sq_open,
    .close = sq_close,
    .reader_open = sq_reader_open,
    .conn_close = conn_close,
    .snapshot_begin = sq_snapshot_begin,
    .snapshot_end = sq_snapshot_end,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .in_txn = sq_in_txn,
    .savepoint = sq_savepoint,
    .release = sq_release,
    .rollback_to = sq_rollback_to,
    .errmsg = sq_errmsg,
    .prepare = sq_prepare,
};
