/* md_int.h -- the metadata store's private header, shared by src/store/md_*.c
 * only (as SQLite's btreeInt.h is by btree*.c): the bodies of md.h's opaque
 * handles, the backend table, the statement ids, and the statement helpers
 * the row-level files (md_ident.c, md_audit.c, md_bucket.c, md_upload.c)
 * are written in. Nothing outside src/store includes it; tests/unit/test_md.c
 * does, to reach the writer's counters and the statement table. */
#ifndef COFFER_STORE_MD_INT_H
#define COFFER_STORE_MD_INT_H

#include "common.h"
#include "store/md.h"
#include "crypto/seal.h"
#include "store/md_sql.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#define BUSY_TIMEOUT_MS 10000 /* readers; the writer's waits are slices of lock_wait_ms */
#define LOCK_WAIT_MS 30000    /* default md_set_lock_wait(): the admin CLI's */
#define AUDIT_FIELD_MAX 4096  /* longer audit strings are cut (bounds.h keeps them shorter) */

/* ---- statements ---------------------------------------------------------- */

enum st {
#define X(name, sql) ST_##name,
    MD_STMTS(X)
#undef X
        ST__COUNT
};

/* The SQL text of each statement id (md_sqlite.c). */
extern const char *const md_st_sql[ST__COUNT];

/* ---- connections, jobs, the store ----------------------------------------- */

/* One database connection. The writer's (md->wconn) is the only writable
 * one; every other is a thread's read connection (md_reader()). */
struct md_conn {
    struct md *md;
    sqlite3 *db;
    sqlite3_stmt *st[ST__COUNT]; /* prepared on first use, PERSISTENT */
    struct md_conn *prev, *next; /* md->readers */
    char err[256];               /* last error text */
    bool in_snapshot;            /* md_snapshot_begin() without its end */
    bool saw_full;               /* an error said the disk is full (writer) */
    int busy_ms;                 /* the busy timeout set on db */
};

/* One md_write() call, on the caller's stack; the caller sleeps until done. */
struct job {
    md_write_fn fn;
    void *arg;
    int rc;
    bool done;
    struct job *next; /* md->queue */
    struct job *link; /* the writer's own lists while it runs the group */
};

/* A metadata backend: what md_open(), md_close(), md_reader(), the snapshots
 * and the group-commit writer need from the database. Every call is per
 * store, connection, transaction or savepoint, never per row: the row-level
 * files run their statements through the helpers below. SQLite fills it
 * (md_sqlite.c); docs/internals/md.md says what a PostgreSQL backend must
 * provide. Errors are -errno with md.h's meanings (-EBUSY, -ENOSPC, -EIO);
 * each failing call leaves the reason in c->err for md_errmsg(). */
struct md_backend {
    const char *name;
    /* Opens the store where (md_url_parse()) names: sets md->wconn, the
     * writable connection, with the schema brought to the binary's version
     * (-EPROTO if the store's is newer). On failure it has closed whatever
     * it opened. */
    int (*open)(struct md *md, const struct md_url *where);
    /* Closes every connection open() and reader() made, md->wconn last.
     * Called once, after a successful open(), with the writer stopped. */
    void (*close)(struct md *md);
    /* The calling thread's read connection, opened on first use and kept
     * until close(); NULL if it cannot be opened. */
    struct md_conn *(*reader)(struct md *md);
    /* md_snapshot_begin() / md_snapshot_end() on a reader connection (c is
     * never NULL here). */
    int (*snapshot_begin)(struct md_conn *c);
    void (*snapshot_end)(struct md_conn *c);
    /* The writer's group transaction on md->wconn. begin waits up to wait_ms
     * while another process holds the write lock (-EBUSY after that); commit
     * makes the group durable and, when it fails, has already rolled back
     * what was left; rollback abandons the transaction. */
    int (*begin)(struct md_conn *c, int wait_ms);
    int (*commit)(struct md_conn *c, int wait_ms);
    void (*rollback)(struct md_conn *c);
    /* false once the database abandoned the open transaction by itself
     * (SQLite does on some I/O errors and on a full disk): every job run in
     * it is lost. */
    bool (*in_txn)(struct md_conn *c);
    /* Each job's nested scope: savepoint opens it, release keeps its
     * changes, rollback_to undoes them and closes it. */
    int (*savepoint)(struct md_conn *c);
    int (*release)(struct md_conn *c);
    int (*rollback_to)(struct md_conn *c);
    /* The last error text on c. Borrowed. */
    const char *(*errmsg)(struct md_conn *c);
};

extern const struct md_backend md_sqlite;

struct md {
    const struct md_backend *be;
    bool be_open; /* be->open() succeeded: be->close() is due */
    unsigned char master_key[SEAL_KEY_LEN];
    struct md_conn *wconn; /* used only by the writer thread (and md_open) */
    pthread_t writer;
    bool has_writer;

    pthread_mutex_t mu;  /* queue, stopping, done flags, stats, the two below */
    struct space *space; /* md_set_space(); NULL: none */
    int lock_wait_ms;    /* md_set_lock_wait() */
    pthread_cond_t cv_work;
    pthread_cond_t cv_done;
    struct job *head, *tail;
    bool stopping;
    uint64_t n_commits, n_jobs, n_groups;

    /* The SQLite backend's own. */
    char *db_path;
    pthread_key_t tls; /* this thread's reader connection */
    pthread_mutex_t readers_mu;
    struct md_conn *readers;
};

/* md_writer.c: starts and stops the group-commit writer thread. */
int md_writer_start(struct md *md);
void md_writer_stop(struct md *md);

/* md_sqlite.c: the backend's result code src as -errno (md.h's meanings),
 * keeping its error text in c->err. */
int md_errcode(struct md_conn *c, int src);

/* md_bucket.c: a fresh version id for seq (MD_VID_LEN chars and a NUL). */
int md_vid_make(int64_t seq, char out[MD_VID_LEN + 1]);

/* md_bucket.c, also used by md_upload.c's listings: the prefix successor
 * (str_successor() in arena a) and a listing's lower bound. */
struct str md_successor(struct str prefix, struct arena *a);
struct str md_lower_bound(struct str prefix, struct str after, bool inclusive, bool *strict);

/* md_audit.c: steps s, bound, whose columns are the audit table's in
 * AUDIT_LIST's order, into an arena array: 0 with *out and *n, or -errno. */
struct md_audit;
int md_audit_rows(struct md_conn *c, sqlite3_stmt *s, struct arena *a, struct md_audit **out,
                  size_t *n);

/* md_iam.c: bumps the policy generation (md_policy_gen()) in the open
 * transaction: every write that changes what someone may do calls it. */
int md_policy_gen_bump(struct md_conn *c);

/* Block Public Access as stored in the pab columns (schema 9): bit 0
 * BlockPublicAcls, 1 IgnorePublicAcls, 2 BlockPublicPolicy,
 * 3 RestrictPublicBuckets, 4 configured. */
static inline int64_t
md_pab_bits(const struct md_pab *p)
{
    if (!p->configured)
        return 0;
    return (int64_t)p->block_public_acls | (int64_t)p->ignore_public_acls << 1 |
           (int64_t)p->block_public_policy << 2 | (int64_t)p->restrict_public_buckets << 3 |
           (int64_t)1 << 4;
}

static inline struct md_pab
md_pab_from_bits(int64_t v)
{
    struct md_pab p = {0};

    if ((v & 16) == 0)
        return p;
    p.configured = true;
    p.block_public_acls = (v & 1) != 0;
    p.ignore_public_acls = (v & 2) != 0;
    p.block_public_policy = (v & 4) != 0;
    p.restrict_public_buckets = (v & 8) != 0;
    return p;
}

/* ---- statement helpers ------------------------------------------------------
 * The vocabulary of the row-level files: get a cached statement by id, bind,
 * step, read columns, reset. Inline over SQLite's own calls, so the hot paths
 * cost what they did before the split. */

/* The cached statement id on c, prepared on first use; NULL on failure
 * (c->err says why) or when c is NULL (md_reader() failed). */
static inline sqlite3_stmt *
get(struct md_conn *c, enum st id)
{
    int rc;

    if (c == NULL)
        return NULL;
    if (c->st[id] != NULL)
        return c->st[id];
    rc = sqlite3_prepare_v3(c->db, md_st_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->st[id],
                            NULL);
    if (rc != SQLITE_OK) {
        (void)md_errcode(c, rc);
        c->st[id] = NULL;
    }
    return c->st[id];
}

/* Resets s for its next use. */
static inline void
done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Steps s once: 1 for a row, 0 when done, or -errno (then s is reset). */
static inline int
step(struct md_conn *c, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);

    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    rc = md_errcode(c, sqlite3_extended_errcode(c->db));
    done(s);
    return rc;
}

/* Runs a statement that returns no rows; always resets it. */
static inline int
exec(struct md_conn *c, sqlite3_stmt *s)
{
    int rc = step(c, s);

    done(s);
    return rc > 0 ? 0 : rc;
}

static inline int
exec_id(struct md_conn *c, enum st id)
{
    sqlite3_stmt *s = get(c, id);

    return s ? exec(c, s) : -EIO;
}

/* Rows the last statement on c inserted, changed or deleted. */
static inline int64_t
changes(struct md_conn *c)
{
    return sqlite3_changes64(c->db);
}

/* The id the last INSERT on c gave its row. */
static inline int64_t
last_id(struct md_conn *c)
{
    return sqlite3_last_insert_rowid(c->db);
}

/* Binding helpers return nonzero on failure so callers can OR them. */
static inline int
bind_str(sqlite3_stmt *s, int i, struct str v)
{
    return sqlite3_bind_text64(s, i, v.p ? v.p : "", v.n, SQLITE_STATIC, SQLITE_UTF8);
}

/* NULL for an absent or empty string. */
static inline int
bind_opt(sqlite3_stmt *s, int i, struct str v)
{
    if (v.p == NULL || v.n == 0)
        return sqlite3_bind_null(s, i);
    return bind_str(s, i, v);
}

static inline int
bind_i64(sqlite3_stmt *s, int i, int64_t v)
{
    return sqlite3_bind_int64(s, i, v);
}

static inline int
bind_null(sqlite3_stmt *s, int i)
{
    return sqlite3_bind_null(s, i);
}

/* Bytes (a BLOB); v.p must not be NULL. */
static inline int
bind_blob(sqlite3_stmt *s, int i, struct str v)
{
    return sqlite3_bind_blob64(s, i, v.p, v.n, SQLITE_STATIC);
}

static inline int
bind_fail(struct md_conn *c, sqlite3_stmt *s)
{
    (void)md_errcode(c, sqlite3_errcode(c->db));
    done(s);
    return -EIO;
}

static inline int64_t
col_i64(sqlite3_stmt *s, int i)
{
    return sqlite3_column_int64(s, i);
}

static inline int
col_int(sqlite3_stmt *s, int i)
{
    return sqlite3_column_int(s, i);
}

/* Column i's bytes, borrowed until the next step or done() of s. */
static inline struct str
col_view(sqlite3_stmt *s, int i)
{
    const void *p = sqlite3_column_blob(s, i);

    return str_make(p, (size_t)sqlite3_column_bytes(s, i));
}

/* Text column copied into a: NULL becomes STR_NULL when optional, else "". */
static inline struct str
col_str(sqlite3_stmt *s, int i, struct arena *a, bool optional)
{
    const void *p;
    int n;

    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return optional ? STR_NULL : arena_str(a, STR_LIT(""));
    p = sqlite3_column_text(s, i);
    n = sqlite3_column_bytes(s, i);
    return arena_str(a, str_make(p ? p : "", (size_t)n));
}

/* BLOB column copied into a; STR_NULL for NULL. */
static inline struct str
col_blob(sqlite3_stmt *s, int i, struct arena *a)
{
    const void *p;
    int n;

    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return STR_NULL;
    p = sqlite3_column_blob(s, i);
    n = sqlite3_column_bytes(s, i);
    return arena_str(a, str_make(p ? p : "", (size_t)n));
}

/* Doubling arena array for listings. */
static inline void *
grow(struct arena *a, void *arr, size_t n, size_t *cap, size_t size)
{
    size_t ncap;
    void *p;

    if (n < *cap)
        return arr;
    ncap = *cap ? *cap * 2 : 16;
    ASSERT(ncap < SIZE_MAX / size);
    p = arena_alloc(a, ncap * size);
    if (n > 0)
        memcpy(p, arr, n * size);
    *cap = ncap;
    return p;
}

static inline int64_t
limit_i64(size_t n)
{
    return n > INT64_MAX ? INT64_MAX : (int64_t)n;
}

/* 1 if the query id with int64 parameters v1 (and v2 when has_v2) yields
 * a row, 0 if not, -errno. */
static inline int
exists_n(struct md_conn *c, enum st id, int64_t v1, bool has_v2, int64_t v2)
{
    sqlite3_stmt *s = get(c, id);
    int rc;

    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, v1) | (has_v2 ? bind_i64(s, 2, v2) : 0))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc >= 0)
        done(s);
    return rc;
}

static inline int
exists(struct md_conn *c, enum st id, int64_t v)
{
    return exists_n(c, id, v, false, 0);
}

static inline int
exists2(struct md_conn *c, enum st id, int64_t v1, int64_t v2)
{
    return exists_n(c, id, v1, true, v2);
}

/* Runs the write id with int64 parameters v1 (and v2 when has_v2);
 * -ENOENT when it changed no row. */
static inline int
change_n(struct md_conn *c, enum st id, int64_t v1, bool has_v2, int64_t v2)
{
    sqlite3_stmt *s = get(c, id);
    int rc;

    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, v1) | (has_v2 ? bind_i64(s, 2, v2) : 0))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0 && changes(c) == 0)
        rc = -ENOENT;
    return rc;
}

static inline int
change_i64(struct md_conn *c, enum st id, int64_t v)
{
    return change_n(c, id, v, false, 0);
}

static inline int
change_i64_2(struct md_conn *c, enum st id, int64_t v1, int64_t v2)
{
    return change_n(c, id, v1, true, v2);
}

/* ---- fault injection ------------------------------------------------------- */

#ifdef COFFER_FAULT
/* Makes the fault-injecting VFS SQLite's default (once per process; before
 * the first connection): FAULT() sites md.write (every write(2)/pwrite(2)
 * SQLite makes), md.truncate (ftruncate(2)) and md.sync (each xSync). */
void md_fault_install(void);
#else
#define md_fault_install() ((void)0)
#endif

#endif
