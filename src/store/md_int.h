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
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
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

/* A prepared statement: SQLite's own (sq) or the PostgreSQL backend's (pg,
 * md_pg.c); exactly one is set once get() prepared it. */
struct pg_stmt;
struct stmt {
    sqlite3_stmt *sq;
    struct pg_stmt *pg;
};

/* The SQL text of each statement id (md_sqlite.c). */
extern const char *const md_st_sql[ST__COUNT];

/* ---- connections, jobs, the store ----------------------------------------- */

/* One database connection. The writer's (md->wconn) is the only writable
 * one; every other is a thread's read connection (md_reader()). */
struct md_conn {
    struct md *md;
    sqlite3 *db;              /* SQLite; NULL on PostgreSQL */
    struct pg_conn *pg;       /* PostgreSQL (md_pg.c); NULL on SQLite */
    struct stmt st[ST__COUNT]; /* prepared on first use, kept */
    int64_t changes, last_id; /* PostgreSQL's, from its last statement */
    struct md_conn *prev, *next; /* md->readers */
    char err[256];               /* last error text */
    bool in_snapshot;            /* md_snapshot_begin() without its end */
    bool saw_full;               /* an error said the disk is full (writer) */
    int get_rc;                  /* why get() last gave NULL (get_fail()) */
    bool gone;                   /* the store could not be reached (PostgreSQL): -EBUSY */
    bool retry;                  /* the backend abandoned the transaction as it conflicted
                                    with another store user's: run its jobs again */
    /* Version sequence numbers the writer's open transaction reserved and
     * has not handed out: seq_next..seq_last (md_version_insert()). The
     * backend forgets them whenever the transaction, or a savepoint that
     * may hold the reservation, ends. */
    int64_t seq_next, seq_last;
    int busy_ms;                 /* the busy timeout set on db */
};

/* One md_write() call, on the caller's stack; the caller sleeps until done. */
struct job {
    md_write_fn fn;
    void *arg;
    int rc;
    int tries;  /* runs abandoned for a conflict so far */
    bool again; /* abandoned for a conflict: to run again */
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
    bool shared; /* many gateways may use one store at once (PostgreSQL) */
    /* Version seqs reserved at once by a transaction (>= 1): on PostgreSQL
     * a round trip saved for every version but the first of a group. */
    int seq_block;
    /* Opens the store where (md_url_parse()) names: sets md->wconn, the
     * writable connection, with the schema brought to the binary's version
     * (-EPROTO if the store's is newer). On failure it has closed whatever
     * it opened. */
    int (*open)(struct md *md, const struct md_url *where);
    /* Closes every connection open() made, md->wconn last. Called once,
     * after a successful open(), with the writer stopped and the readers
     * closed (md_open.c keeps them: one per thread, md_reader()). */
    void (*close)(struct md *md);
    /* A new read connection for the calling thread: 0 and *out, or -errno. */
    int (*reader_open)(struct md *md, struct md_conn **out);
    /* A thread's read connection handed out again by md_reader(); NULL:
     * nothing to do. */
    void (*reader_reuse)(struct md_conn *c);
    /* Closes a connection reader_open() made. */
    void (*conn_close)(struct md_conn *c);
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
    /* Prepares statement id on c into c->st[id]: that, or NULL with c->err
     * set. */
    struct stmt *(*prepare)(struct md_conn *c, enum st id);
    /* md_lease() for a shared store; NULL: always held. */
    bool (*lease)(struct md *md, enum md_lease which);
    /* md_version_prefetch(); NULL: nothing to gain. */
    void (*version_prefetch)(struct md_conn *c, int64_t bucket_id, struct str key,
                             struct str version_id);
    /* The id of the bucket named name as a reader keeps it, not checked
     * against the store; 0: not kept (md_version_prefetch_named()). */
    int64_t (*kept_bucket_id)(struct md_conn *c, struct str name);
};

extern const struct md_backend md_sqlite, md_pg;

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

    /* The backends' own: SQLite's file, PostgreSQL's URI. */
    char *db_path;
    char *pg_uri;
    _Atomic int64_t pg_down_ms; /* PostgreSQL unreachable since (tm_mono_ms()); 0: not */
    atomic_bool pg_trying;      /* a connection attempt is under way (md_pg.c) */
    pthread_mutex_t lease_mu; /* PostgreSQL: the leases' connection and flags */
    struct md_conn *lease_conn;
    bool leased[MD_LEASE__COUNT];
    /* md_open.c's: every thread's read connection. */
    pthread_key_t tls; /* this thread's */
    bool has_tls;
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
int md_audit_rows(struct md_conn *c, struct stmt *s, struct arena *a, struct md_audit **out,
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

/* ---- statements on either backend ------------------------------------------
 * The vocabulary of the row-level files: get a cached statement by id, bind,
 * step, read columns, reset. A statement is SQLite's own (sq) or the
 * PostgreSQL backend's (pg, md_pg.c); the helpers branch once and, on
 * SQLite, are SQLite's own calls inline, so the embedded hot paths cost
 * what they did before PostgreSQL existed. */

/* md_pg.c: a PostgreSQL statement's calls (see the helpers below). Bind
 * indexes are 1-based, columns 0-based, as SQLite's. */
int pgs_bind(struct pg_stmt *p, int i, const void *v, size_t n, bool binary);
int pgs_bind_i64(struct pg_stmt *p, int i, int64_t v);
int pgs_step(struct md_conn *c, struct pg_stmt *p);
int pgs_exec_nowait(struct md_conn *c, struct pg_stmt *p);
void pgs_done(struct pg_stmt *p);
bool pgs_col_null(struct pg_stmt *p, int i);
int64_t pgs_col_i64(struct pg_stmt *p, int i);
struct str pgs_col_view(struct pg_stmt *p, int i);

/* The cached statement id on c, prepared on first use; NULL on failure
 * (c->err says why) or when c is NULL (md_reader() failed). */
static inline struct stmt *
get(struct md_conn *c, enum st id)
{
    if (c == NULL)
        return NULL;
    if (c->st[id].sq != NULL || c->st[id].pg != NULL)
        return &c->st[id];
    return c->md->be->prepare(c, id);
}

/* What a get() that gave NULL means: -EBUSY when the store cannot be reached
 * (no connection: 503 SlowDown to clients), -EIO for a statement that
 * cannot be prepared. */
static inline int
get_fail(const struct md_conn *c)
{
    return c == NULL ? -EBUSY : c->get_rc;
}

/* Resets s for its next use. */
static inline void
done(struct stmt *s)
{
    if (s->pg != NULL) {
        pgs_done(s->pg);
        return;
    }
    sqlite3_reset(s->sq);
    sqlite3_clear_bindings(s->sq);
}

/* Steps s once: 1 for a row, 0 when done, or -errno (then s is reset). */
static inline int
step(struct md_conn *c, struct stmt *s)
{
    int rc;

    if (s->pg != NULL)
        return pgs_step(c, s->pg);
    rc = sqlite3_step(s->sq);
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
exec(struct md_conn *c, struct stmt *s)
{
    int rc = step(c, s);

    done(s);
    return rc > 0 ? 0 : rc;
}

/* exec() for the writer's statements whose outcome the caller does not
 * look at but for failure: on PostgreSQL it is sent and not waited for
 * (md_pg_stmt.c), its result read with the next statement or the COMMIT;
 * if it failed, the whole group is run again. changes() says nothing
 * after it. */
static inline int
exec_nowait(struct md_conn *c, struct stmt *s)
{
    if (s->pg != NULL)
        return pgs_exec_nowait(c, s->pg);
    return exec(c, s);
}

static inline int
exec_id(struct md_conn *c, enum st id)
{
    struct stmt *s = get(c, id);

    return s ? exec(c, s) : get_fail(c);
}

/* Rows the last statement on c inserted, changed or deleted. */
static inline int64_t
changes(struct md_conn *c)
{
    return c->db != NULL ? sqlite3_changes64(c->db) : c->changes;
}

/* The id the last INSERT on c gave its row (PostgreSQL: the statements
 * md_pg.c gives a RETURNING id). */
static inline int64_t
last_id(struct md_conn *c)
{
    return c->db != NULL ? sqlite3_last_insert_rowid(c->db) : c->last_id;
}

/* Binding helpers return nonzero on failure so callers can OR them. */
static inline int
bind_str(struct stmt *s, int i, struct str v)
{
    if (s->pg != NULL)
        return pgs_bind(s->pg, i, v.p ? v.p : "", v.n, false);
    return sqlite3_bind_text64(s->sq, i, v.p ? v.p : "", v.n, SQLITE_STATIC, SQLITE_UTF8);
}

static inline int
bind_null(struct stmt *s, int i)
{
    if (s->pg != NULL)
        return pgs_bind(s->pg, i, NULL, 0, false);
    return sqlite3_bind_null(s->sq, i);
}

/* NULL for an absent or empty string. */
static inline int
bind_opt(struct stmt *s, int i, struct str v)
{
    if (v.p == NULL || v.n == 0)
        return bind_null(s, i);
    return bind_str(s, i, v);
}

static inline int
bind_i64(struct stmt *s, int i, int64_t v)
{
    if (s->pg != NULL)
        return pgs_bind_i64(s->pg, i, v);
    return sqlite3_bind_int64(s->sq, i, v);
}

/* Bytes (a BLOB); v.p must not be NULL. */
static inline int
bind_blob(struct stmt *s, int i, struct str v)
{
    if (s->pg != NULL)
        return pgs_bind(s->pg, i, v.p, v.n, true);
    return sqlite3_bind_blob64(s->sq, i, v.p, v.n, SQLITE_STATIC);
}

static inline int
bind_fail(struct md_conn *c, struct stmt *s)
{
    if (s->pg == NULL)
        (void)md_errcode(c, sqlite3_errcode(c->db));
    else if (c->err[0] == '\0')
        snprintf(c->err, sizeof(c->err), "binding a parameter failed");
    done(s);
    return -EIO;
}

static inline bool
col_null(struct stmt *s, int i)
{
    if (s->pg != NULL)
        return pgs_col_null(s->pg, i);
    return sqlite3_column_type(s->sq, i) == SQLITE_NULL;
}

static inline int64_t
col_i64(struct stmt *s, int i)
{
    if (s->pg != NULL)
        return pgs_col_i64(s->pg, i);
    return sqlite3_column_int64(s->sq, i);
}

static inline int
col_int(struct stmt *s, int i)
{
    if (s->pg != NULL)
        return (int)pgs_col_i64(s->pg, i);
    return sqlite3_column_int(s->sq, i);
}

/* Column i's bytes, borrowed until the next step or done() of s. */
static inline struct str
col_view(struct stmt *s, int i)
{
    const void *p;

    if (s->pg != NULL)
        return pgs_col_view(s->pg, i);
    p = sqlite3_column_blob(s->sq, i);
    return str_make(p, (size_t)sqlite3_column_bytes(s->sq, i));
}

/* Text column copied into a: NULL becomes STR_NULL when optional, else "". */
static inline struct str
col_str(struct stmt *s, int i, struct arena *a, bool optional)
{
    struct str v;

    if (col_null(s, i))
        return optional ? STR_NULL : arena_str(a, STR_LIT(""));
    if (s->pg != NULL) {
        v = pgs_col_view(s->pg, i);
    } else {
        const void *p = sqlite3_column_text(s->sq, i);

        v = str_make(p ? p : "", (size_t)sqlite3_column_bytes(s->sq, i));
    }
    return arena_str(a, str_make(v.p ? v.p : "", v.n));
}

/* BLOB column copied into a; STR_NULL for NULL. */
static inline struct str
col_blob(struct stmt *s, int i, struct arena *a)
{
    struct str v;

    if (col_null(s, i))
        return STR_NULL;
    v = col_view(s, i);
    return arena_str(a, str_make(v.p ? v.p : "", v.n));
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
    struct stmt *s = get(c, id);
    int rc;

    if (s == NULL)
        return get_fail(c);
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
    struct stmt *s = get(c, id);
    int rc;

    if (s == NULL)
        return get_fail(c);
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

/* ---- md_pg.c, for md_migrate.c ---------------------------------------------
 * `coffer migrate`'s own PostgreSQL connection (libpq loaded, the schema
 * created on an empty database) and its raw calls: see md_pg.c's end. */
int md_pg_mig_open(const char *uri, struct md_conn **out, char *err, size_t cap);
void md_pg_mig_close(struct md_conn *c);
int md_pg_mig_exec(struct md_conn *c, const char *sql);
int md_pg_mig_value(struct md_conn *c, const char *sql, char *out, size_t cap);
int md_pg_mig_copy_begin(struct md_conn *c, const char *sql);
int md_pg_mig_copy_put(struct md_conn *c, const void *p, size_t n);
int md_pg_mig_copy_end(struct md_conn *c, const char *abort_msg, int64_t *rows);

#endif
