/* md_pg.c -- the PostgreSQL metadata backend (md_int.h's struct md_backend)
 * over libpq: the store shared by many gateways. It runs the statements of
 * md_sql.h, the SQLite backend's, translated once per connection as each is
 * first prepared (md_pg_stmt.c's pg_translate()): ?N becomes $N, SQLite's INDEXED BY hints
 * go, INSERT OR IGNORE becomes ON CONFLICT DO NOTHING, SQLite's clock and
 * instr() become PostgreSQL's, and the inserts whose id a caller reads get
 * RETURNING id. So there is one text of every query, and the row files
 * (md_ident.c ... md_usage.c) run unchanged on either backend.
 *
 * Transactions: the group-commit writer's group is one SERIALIZABLE
 * transaction on its connection, each job in a savepoint, as on SQLite; a
 * serialization failure or a deadlock with another gateway's transaction
 * dooms the group, and md_writer.c runs its jobs again (-EAGAIN). Readers
 * are one connection per thread in autocommit, snapshots a REPEATABLE READ
 * READ ONLY transaction. A connection PostgreSQL dropped is reset at the
 * next begin (writer) or md_reader() (readers); until it answers, calls
 * fail with -EBUSY (503 SlowDown to clients).
 *
 * libpq is loaded with dlopen() on the first postgresql:// open (as
 * librados is by blob_rados.c): linked, it and its dependencies (Kerberos,
 * LDAP) cost every cofferd and coffer start 4 ms and 5.7 MB though the
 * embedded default never uses them.
 *
 * This file: libpq, connections, the schema, readers, snapshots, the
 * writer's transaction, the leases, open and close. The statements are
 * md_pg_stmt.c's (md_pg_int.h between the two). */
#include "common.h"
#include "store/md.h"
#include "store/md_pg_int.h"
#include "store/md_pg_schema.h"
#include "util/log.h"
#include "util/tm.h"
#include "util/xmalloc.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- libpq, loaded on first use -------------------------------------------- */

struct md_pq md_libpq;
static pthread_once_t p_once = PTHREAD_ONCE_INIT;
static char p_why[160]; /* empty once loaded */

static void
pq_load(void)
{
    void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);

    if (h == NULL) {
        const char *e = dlerror();

        snprintf(p_why, sizeof(p_why), "%s", e != NULL ? e : "dlopen failed");
        return;
    }
#define X(f)                                                                                       \
    if (p_why[0] == '\0' && (*(void **)&md_libpq.f = dlsym(h, #f)) == NULL)                       \
        snprintf(p_why, sizeof(p_why), "libpq.so.5 has no " #f);
    PQ_FNS(X)
#undef X
}

/* ---- connections ------------------------------------------------------------ */


void
pg_set_err(struct md_conn *c, const char *what, const char *msg)
{
    size_t n;

    snprintf(c->err, sizeof(c->err), "%s%s%s", what, what[0] ? ": " : "",
             msg != NULL ? msg : "");
    n = strlen(c->err);
    while (n > 0 && (c->err[n - 1] == '\n' || c->err[n - 1] == ' '))
        c->err[--n] = '\0';
}

/* A failed result as -errno (md.h's meanings), its message in c->err. */
int
pg_res_errno(struct md_conn *c, const PGresult *r, const char *what)
{
    const char *state = r != NULL ? md_libpq.PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    pg_set_err(c, what, r != NULL ? md_libpq.PQresultErrorMessage(r) : md_libpq.PQerrorMessage(c->pg->conn));
    /* The server went away: 503; the connection is re-established at its
     * next use (pg_conn_ready()). Only failed attempts pace the others: after a
     * restart every connection's first statement fails once. */
    if (md_libpq.PQstatus(c->pg->conn) != CONNECTION_OK) {
        c->gone = true;
        return -EBUSY;
    }
    if (state == NULL)
        return -EIO;
    if (strcmp(state, "23505") == 0) /* unique_violation */
        return -EEXIST;
    if (strcmp(state, "23503") == 0) /* foreign_key_violation */
        return -ENOENT;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
        c->retry = true; /* serialization failure, deadlock */
        return -EAGAIN;
    }
    if (strcmp(state, "53100") == 0) { /* disk_full */
        c->saw_full = true;
        return -ENOSPC;
    }
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
        strcmp(state, "53300") == 0) /* connection, shutdown, too many connections */
        return -EBUSY;
    return -EIO;
}

/* Runs sql (no parameters; rows ignored) on c, a round trip of kind: 0 or
 * -errno. */
static int
pg_run(struct md_conn *c, const char *sql, const char *kind)
{
    PGresult *r;
    ExecStatusType st;
    int rc = 0, drc;

    pg_drain(c);
    /* A ROLLBACK still runs after a deferred statement failed. */
    drc = pg_deferred_sync(c, NULL, NULL);
    trip(kind);
    r = md_libpq.PQexec(c->pg->conn, sql);
    st = md_libpq.PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = pg_res_errno(c, r, sql);
    md_libpq.PQclear(r);
    return drc < 0 ? drc : rc;
}

static int
pg_simple(struct md_conn *c, const char *sql)
{
    return pg_run(c, sql, "transaction");
}

static void
conn_close(struct md_conn *c)
{
    if (c == NULL)
        return;
    pg_stmts_free(c);
    if (c->pg != NULL) {
        if (c->pg->conn != NULL)
            md_libpq.PQfinish(c->pg->conn);
        free(c->pg);
    }
    free(c);
}

/* Connection defaults a URI may override (it comes last, expanded in its
 * place): a connection attempt gives up after 3 s rather than hang the
 * request (libpq waits forever by default); TCP notices a dead peer on
 * another host within about 15 s; and the session settings, which every
 * reconnection (PQreset()) applies again: quiet notices, no statement
 * waiting forever on another gateway's lock, and read-only readers (as
 * SQLite's: a write outside md_write() fails loudly) in REPEATABLE READ, so
 * that a pipeline's implicit transaction is one snapshot (snap_gen()). */
enum { CONN_KEYS = 8 };
static const char *const conn_keys[CONN_KEYS + 1] = {
    "connect_timeout",  "keepalives_idle", "keepalives_interval", "keepalives_count",
    "tcp_user_timeout", "client_encoding", "options",             "dbname",
    NULL};

static const char *const *
conn_vals(const char *uri, bool writer, const char *vals[CONN_KEYS + 1])
{
    static const char *const fixed[] = {"3", "10", "5", "3", "15000", "UTF8"};

    memcpy(vals, fixed, sizeof(fixed));
    vals[6] = writer ? "-c client_min_messages=warning -c lock_timeout=30s"
                     : "-c client_min_messages=warning -c lock_timeout=30s "
                       "-c default_transaction_read_only=on "
                       "-c default_transaction_isolation=repeatable\\ read";
    vals[7] = uri;
    vals[8] = NULL;
    return vals;
}

/* Once a connection attempt failed, one caller at a time tries again, at
 * most every PG_RETRY_MS, until one succeeds; every other call fails at once
 * with -EBUSY (503) instead of waiting out its own connection attempt, which
 * would hold a worker for up to connect_timeout. */
#define PG_RETRY_MS 1000

enum attempt {
    TRY_NOT,   /* fail at once */
    TRY_FREE,  /* PostgreSQL is not known to be unreachable: connect */
    TRY_GATED, /* it is, and this caller makes the one attempt */
};

/* Whether this caller may try to connect now; unless TRY_NOT it then calls
 * attempt_done(). While the store answers, every connection is made at
 * once (a burst of new workers opening their readers is no outage). */
static enum attempt
attempt_begin(struct md *md)
{
    int64_t down = atomic_load_explicit(&md->pg_down_ms, memory_order_relaxed);

    if (down == 0)
        return TRY_FREE;
    if (tm_mono_ms() - down < PG_RETRY_MS)
        return TRY_NOT;
    return atomic_exchange(&md->pg_trying, true) ? TRY_NOT : TRY_GATED;
}

static void
attempt_done(struct md *md, enum attempt a, bool ok)
{
    int64_t now = tm_mono_ms(), expect = 0;

    if (ok)
        atomic_store(&md->pg_down_ms, 0);
    else if (a == TRY_GATED)
        atomic_store(&md->pg_down_ms, now > 0 ? now : 1);
    else /* the first failure marks the store down */
        (void)atomic_compare_exchange_strong(&md->pg_down_ms, &expect, now > 0 ? now : 1);
    if (a == TRY_GATED)
        atomic_store(&md->pg_trying, false);
}

/* A connection that went bad is reset (one attempt, as attempt_begin()
 * allows); 0 if c can be used. Only where no transaction of c's is open:
 * the writer's begin, a reader outside a snapshot, the leases (a reset in
 * the middle of a group would run the rest of it in autocommit). */
int
pg_conn_ready(struct md_conn *c)
{
    enum attempt a;
    bool ok;

    pg_drain(c);
    if (md_libpq.PQstatus(c->pg->conn) == CONNECTION_OK)
        return 0;
    pg_stmts_unprepare(c);
    c->pg->deferred = 0; /* their transaction went with the connection */
    c->pg->deferred_inserts = 0;
    c->pg->begin = NULL;
    c->pg->release = c->pg->savepoint = false;
    a = attempt_begin(c->md);
    if (a == TRY_NOT) {
        pg_set_err(c, "PostgreSQL", "unreachable (retrying)");
        return -EBUSY;
    }
    md_libpq.PQreset(c->pg->conn);
    ok = md_libpq.PQstatus(c->pg->conn) == CONNECTION_OK;
    attempt_done(c->md, a, ok);
    if (ok) {
        log_info("md: reconnected to PostgreSQL");
        return 0;
    }
    pg_set_err(c, "PostgreSQL", md_libpq.PQerrorMessage(c->pg->conn));
    return -EBUSY;
}

static int
conn_open(struct md *md, bool writer, struct md_conn **out)
{
    const char *vals[CONN_KEYS + 1];
    enum attempt a = attempt_begin(md);
    struct md_conn *c;
    bool ok;

    if (a == TRY_NOT)
        return -EBUSY;
    c = xcalloc(1, sizeof(*c));
    c->md = md;
    c->pg = xcalloc(1, sizeof(*c->pg));
    c->pg->conn = md_libpq.PQconnectdbParams(conn_keys, conn_vals(md->pg_uri, writer, vals), 1);
    ok = c->pg->conn != NULL && md_libpq.PQstatus(c->pg->conn) == CONNECTION_OK;
    attempt_done(md, a, ok);
    if (!ok) {
        log_error("md: cannot connect to PostgreSQL: %s",
                  c->pg->conn != NULL ? md_libpq.PQerrorMessage(c->pg->conn) : "out of memory");
        conn_close(c);
        return -EBUSY;
    }
    *out = c;
    return 0;
}

/* ---- the schema ----------------------------------------------------------------- */

/* The one row's first column of sql, a count or a number >= 0, as an int,
 * or -errno (what says what was being read). */
static int
pg_int(struct md_conn *c, const char *sql, const char *what)
{
    PGresult *r = md_libpq.PQexec(c->pg->conn, sql);
    int v;

    if (md_libpq.PQresultStatus(r) == PGRES_TUPLES_OK && md_libpq.PQntuples(r) == 1)
        v = atoi(md_libpq.PQgetvalue(r, 0, 0));
    else
        v = pg_res_errno(c, r, what);
    md_libpq.PQclear(r);
    return v;
}

/* The schema version stored in the database: >= 0, or -1 for none yet, or
 * -errno. */
static int
schema_version(struct md_conn *c)
{
    int v = pg_int(c, "SELECT (to_regclass('coffer_schema') IS NOT NULL)::int",
                   "reading the schema version");

    if (v <= 0)
        return v < 0 ? v : -1;
    return pg_int(c, "SELECT version FROM coffer_schema", "reading the schema version");
}

/* Runs a NULL-ended list of statements; 0 or -errno (logged). */
static int
run_all(struct md_conn *c, const char *const *sql, const char *what)
{
    for (size_t i = 0; sql[i] != NULL; i++) {
        int rc = pg_simple(c, sql[i]);

        if (rc < 0) {
            log_error("md: %s: %s", what, c->err);
            return rc;
        }
    }
    return 0;
}

/* The PostgreSQL-only steps a store has had (md_pg_schema.h), the column
 * that counts them added to a store made before it existed (only then: a
 * gateway whose role does not own the tables may open an up-to-date
 * store): >= 0 or -errno. */
static int
pg_steps_done(struct md_conn *c)
{
    int v = pg_int(c, "SELECT count(*) FROM pg_attribute WHERE attrelid = "
                      "'coffer_schema'::regclass AND attname = 'pg_step'",
                   "reading the schema's steps");

    if (v == 0)
        v = pg_simple(c, "ALTER TABLE coffer_schema ADD COLUMN pg_step integer NOT NULL DEFAULT 0");
    if (v < 0)
        return v;
    return pg_int(c, "SELECT pg_step FROM coffer_schema", "reading the schema's steps");
}

/* Creates the schema in an empty database, or brings a store's up to date
 * with the PostgreSQL-only steps, in one transaction, under an advisory
 * lock so that gateways starting together do it once. */
static int
schema_ensure(struct md_conn *c)
{
    char sql[64];
    int rc, v, done;

    rc = pg_simple(c, "BEGIN");
    if (rc < 0)
        return rc;
    rc = pg_simple(c, "SELECT pg_advisory_xact_lock(7466858936475398002)");
    if (rc < 0)
        goto fail;
    v = schema_version(c);
    if (v < -1) {
        rc = v;
        goto fail;
    }
    if (v > MD_PG_SCHEMA_VERSION) {
        log_error("md: the PostgreSQL store has schema version %d, newer than this binary's %d",
                  v, MD_PG_SCHEMA_VERSION);
        rc = -EPROTO;
        goto fail;
    }
    if (v >= 0 && v < MD_PG_SCHEMA_VERSION) {
        /* No step has been shipped after the first PostgreSQL schema. */
        log_error("md: the PostgreSQL store has schema version %d; this binary knows only %d",
                  v, MD_PG_SCHEMA_VERSION);
        rc = -EPROTO;
        goto fail;
    }
    if (v < 0) {
        rc = run_all(c, md_pg_schema, "creating the PostgreSQL schema");
        if (rc < 0)
            goto fail;
        log_info("md: created the PostgreSQL schema (version %d)", MD_PG_SCHEMA_VERSION);
    }
    done = pg_steps_done(c);
    if (done < 0) {
        rc = done;
        goto fail;
    }
    if (done > MD_PG_STEPS) {
        log_error("md: the PostgreSQL store has had %d schema steps, more than this binary's %d",
                  done, MD_PG_STEPS);
        rc = -EPROTO;
        goto fail;
    }
    for (int i = done; i < MD_PG_STEPS; i++) {
        rc = run_all(c, md_pg_steps[i], "a PostgreSQL schema step");
        if (rc < 0)
            goto fail;
    }
    if (done < MD_PG_STEPS) {
        snprintf(sql, sizeof(sql), "UPDATE coffer_schema SET pg_step = %d", MD_PG_STEPS);
        rc = pg_simple(c, sql);
        if (rc < 0)
            goto fail;
        if (v >= 0)
            log_info("md: PostgreSQL schema steps %d to %d done", done + 1, MD_PG_STEPS);
    }
    return pg_simple(c, "COMMIT");
fail:
    (void)pg_simple(c, "ROLLBACK");
    return rc;
}

/* ---- the backend ------------------------------------------------------------------ */

static int
pg_reader_open(struct md *md, struct md_conn **out)
{
    return conn_open(md, false, out);
}

/* A reader handed out again reconnects if PostgreSQL dropped it (never in
 * the middle of a snapshot). */
static void
pg_reader_reuse(struct md_conn *c)
{
    if (!c->in_snapshot)
        (void)pg_conn_ready(c);
}

static int
pg_snapshot_begin(struct md_conn *c)
{
    int rc;

    if (c->in_snapshot)
        return -EALREADY;
    rc = pg_conn_ready(c);
    if (rc < 0)
        return rc;
    c->pg->begin = PG_SNAPSHOT_BEGIN;
    c->in_snapshot = true;
    return 0;
}

static void
pg_snapshot_end(struct md_conn *c)
{
    if (!c->in_snapshot)
        return;
    c->in_snapshot = false;
    pg_snapshot_forget(c);
    if (c->pg->begin != NULL) { /* no statement ran in it */
        c->pg->begin = NULL;
        return;
    }
    /* Sent, not waited for: its result is read before c's next use. */
    if (md_libpq.PQtransactionStatus(c->pg->conn) == PQTRANS_IDLE)
        return;
    trip("transaction");
    if (md_libpq.PQsendQueryParams(c->pg->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) == 1)
        c->pg->commit_sent = true;
    else
        log_error("md: ending a read snapshot: %s", md_libpq.PQerrorMessage(c->pg->conn));
}

void
pg_drain(struct md_conn *c)
{
    PGresult *r;

    if (!c->pg->commit_sent)
        return;
    c->pg->commit_sent = false;
    while ((r = md_libpq.PQgetResult(c->pg->conn)) != NULL) {
        if (md_libpq.PQresultStatus(r) != PGRES_COMMAND_OK)
            log_error("md: ending a read snapshot: %s", md_libpq.PQresultErrorMessage(r));
        md_libpq.PQclear(r);
    }
}

/* The writer's transaction: control deferred as struct pg_conn says, so a
 * group costs its statements and one COMMIT. */
static int
pg_begin(struct md_conn *c, int wait_ms)
{
    (void)wait_ms; /* lock waits are PostgreSQL's lock_timeout */
    if (pg_conn_ready(c) < 0)
        return -EBUSY;
    /* A transaction abandoned for a retry is still open on the server. */
    if (md_libpq.PQtransactionStatus(c->pg->conn) != PQTRANS_IDLE)
        (void)pg_simple(c, "ROLLBACK");
    c->retry = c->gone = false;
    c->seq_next = c->seq_last = 0;
    c->pg->begin = "BEGIN ISOLATION LEVEL SERIALIZABLE";
    c->pg->release = c->pg->savepoint = false;
    pg_pre_forget(c);
    return 0;
}

static bool
pg_in_txn(struct md_conn *c)
{
    PGTransactionStatusType t = md_libpq.PQtransactionStatus(c->pg->conn);

    if (c->retry)
        return false;
    return c->pg->begin != NULL || c->pg->deferred > 0 || t == PQTRANS_INTRANS ||
           t == PQTRANS_INERROR;
}

static void
pg_rollback(struct md_conn *c)
{
    pg_pre_forget(c);
    c->seq_next = c->seq_last = 0;
    c->pg->begin = NULL;
    c->pg->release = c->pg->savepoint = false;
    if (md_libpq.PQtransactionStatus(c->pg->conn) != PQTRANS_IDLE)
        (void)pg_simple(c, "ROLLBACK");
}

static int
pg_commit(struct md_conn *c, int wait_ms)
{
    int rc;

    (void)wait_ms;
    pg_pre_forget(c);
    c->seq_next = c->seq_last = 0;
    c->pg->release = c->pg->savepoint = false; /* COMMIT releases them all */
    if (c->pg->begin != NULL) { /* no statement ran: nothing to commit */
        c->pg->begin = NULL;
        return 0;
    }
    if (c->pg->deferred > 0) {
        /* The deferred statements' results and the COMMIT's, one round
         * trip; after a failed one the COMMIT was a ROLLBACK. */
        PGresult *r = NULL;

        rc = pg_deferred_sync(c, "COMMIT", &r);
        if (rc == 0 && md_libpq.PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = pg_res_errno(c, r, "COMMIT");
        md_libpq.PQclear(r);
    } else {
        rc = pg_simple(c, "COMMIT");
    }
    if (rc < 0) {
        if (rc != -EAGAIN)
            log_error("md: group commit failed: %s", c->err);
        pg_rollback(c);
    }
    return rc;
}

static int
pg_savepoint(struct md_conn *c)
{
    pg_pre_forget(c); /* a job's prefetch is its own */
    c->pg->savepoint = true;
    return 0;
}

static int
pg_release(struct md_conn *c)
{
    pg_pre_forget(c);
    if (c->pg->savepoint) /* the job ran no statement: nothing to release */
        c->pg->savepoint = false;
    else
        c->pg->release = true;
    return 0;
}

static int
pg_rollback_to(struct md_conn *c)
{
    pg_pre_forget(c);
    c->seq_next = c->seq_last = 0; /* the job may have reserved them */
    if (c->pg->savepoint) { /* the job ran no statement: nothing to undo */
        c->pg->savepoint = false;
        return 0;
    }
    return pg_simple(c, "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job");
}

/* The leases: session advisory locks on a connection of their own, taken
 * with pg_try_advisory_lock() (never waiting) and checked with a round trip
 * each time, since a dropped connection has dropped them. */
#define LEASE_KEY 7466858936475398100LL

static bool
pg_lease(struct md *md, enum md_lease which)
{
    static const char *const names[MD_LEASE__COUNT] = {
        "lifecycle executor", "data reaper", "usage refresh", "Storage Lens exports"};
    struct md_conn *c;
    PGresult *r;
    char sql[96];
    bool held = false;

    pthread_mutex_lock(&md->lease_mu);
    if (md->lease_conn == NULL && conn_open(md, true, &md->lease_conn) < 0)
        goto out;
    c = md->lease_conn;
    if (md->leased[which]) {
        if (pg_run(c, "SELECT 1", "lease") == 0) {
            held = true;
            goto out;
        }
        log_warn("md: lost the PostgreSQL connection holding background leases: %s", c->err);
        memset(md->leased, 0, sizeof(md->leased));
        if (pg_conn_ready(c) < 0)
            goto out;
    }
    snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_lock(%lld)",
             LEASE_KEY + (long long)which);
    trip("lease");
    r = md_libpq.PQexec(c->pg->conn, sql);
    if (md_libpq.PQresultStatus(r) == PGRES_TUPLES_OK && md_libpq.PQntuples(r) == 1)
        held = md_libpq.PQgetvalue(r, 0, 0)[0] == 't';
    else
        (void)pg_res_errno(c, r, "taking a lease");
    md_libpq.PQclear(r);
    if (held)
        log_info("md: this gateway now runs the %s of the shared store", names[which]);
    md->leased[which] = held;
out:
    pthread_mutex_unlock(&md->lease_mu);
    return held;
}

static const char *
pg_errmsg(struct md_conn *c)
{
    return c->err[0] ? c->err : md_libpq.PQerrorMessage(c->pg->conn);
}

static void
pg_close(struct md *md)
{
    conn_close(md->wconn);
    md->wconn = NULL;
    conn_close(md->lease_conn); /* releases the leases */
    md->lease_conn = NULL;
    pthread_mutex_destroy(&md->lease_mu);
    free(md->pg_uri);
    md->pg_uri = NULL;
}

static int
pg_open(struct md *md, const struct md_url *where)
{
    int rc;

    pthread_once(&p_once, pq_load);
    if (p_why[0] != '\0') {
        log_error("md: postgresql:// needs libpq (Debian package libpq5): %s", p_why);
        return -ENOPKG;
    }
    pthread_mutex_init(&md->lease_mu, NULL);
    md->pg_uri = xstrdup(where->pg_uri);
    rc = conn_open(md, true, &md->wconn);
    if (rc == 0) {
        rc = schema_ensure(md->wconn);
        if (rc < 0 && rc != -EPROTO)
            log_error("md: PostgreSQL: %s", md->wconn->err);
    }
    if (rc < 0)
        pg_close(md);
    return rc;
}

const struct md_backend md_pg = {
    .name = "postgresql",
    .shared = true,
    .seq_block = 32,
    .open = pg_open,
    .close = pg_close,
    .reader_open = pg_reader_open,
    .reader_reuse = pg_reader_reuse,
    .conn_close = conn_close,
    .snapshot_begin = pg_snapshot_begin,
    .snapshot_end = pg_snapshot_end,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .in_txn = pg_in_txn,
    .savepoint = pg_savepoint,
    .release = pg_release,
    .rollback_to = pg_rollback_to,
    .errmsg = pg_errmsg,
    .prepare = pg_prepare,
    .lease = pg_lease,
    .version_prefetch = pg_version_prefetch,
    .kept_bucket_id = pg_kept_bucket_id,
};

/* ---- for md_migrate.c ---- */

/* `coffer migrate` (md_migrate.c) copies an embedded store's rows into an
 * empty PostgreSQL store: one writable connection of its own, outside any
 * struct md's writer, with the schema created as pg_open() would. */
int
md_pg_mig_open(const char *uri, struct md_conn **out, char *err, size_t cap)
{
    struct md *md;
    int rc;

    pthread_once(&p_once, pq_load);
    if (p_why[0] != '\0') {
        snprintf(err, cap, "postgresql:// needs libpq (Debian package libpq5): %s", p_why);
        return -ENOPKG;
    }
    md = xcalloc(1, sizeof(*md));
    md->pg_uri = xstrdup(uri);
    rc = conn_open(md, true, out);
    if (rc < 0) {
        snprintf(err, cap, "cannot connect to PostgreSQL");
        free(md->pg_uri);
        free(md);
        return rc;
    }
    rc = schema_ensure(*out);
    if (rc < 0) {
        snprintf(err, cap, "%s", rc == -EPROTO ? "the PostgreSQL store's schema version is not "
                                                 "this binary's"
                                               : (*out)->err);
        md_pg_mig_close(*out);
        *out = NULL;
    }
    return rc;
}

void
md_pg_mig_close(struct md_conn *c)
{
    struct md *md;

    if (c == NULL)
        return;
    md = c->md;
    conn_close(c);
    free(md->pg_uri);
    free(md);
}

/* Runs sql (no parameters, rows ignored): 0 or -errno, c->err. */
int
md_pg_mig_exec(struct md_conn *c, const char *sql)
{
    return pg_simple(c, sql);
}

/* The first column of the first row of sql as text into out (cap bytes;
 * "" for NULL): 0, -ENOENT for no row, -E2BIG if longer, -errno. */
int
md_pg_mig_value(struct md_conn *c, const char *sql, char *out, size_t cap)
{
    PGresult *r = md_libpq.PQexec(c->pg->conn, sql);
    int rc = 0;

    if (md_libpq.PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = pg_res_errno(c, r, sql);
    else if (md_libpq.PQntuples(r) < 1 || md_libpq.PQnfields(r) < 1)
        rc = -ENOENT;
    else if ((size_t)md_libpq.PQgetlength(r, 0, 0) >= cap)
        rc = -E2BIG;
    else
        snprintf(out, cap, "%s", md_libpq.PQgetvalue(r, 0, 0));
    md_libpq.PQclear(r);
    return rc;
}

/* COPY ... FROM STDIN: begin runs the statement, put sends data (the COPY
 * format's bytes, any split), end finishes it (or, with abort_msg, fails it)
 * and sets *rows to the rows copied. 0 or -errno with c->err. */
int
md_pg_mig_copy_begin(struct md_conn *c, const char *sql)
{
    PGresult *r = md_libpq.PQexec(c->pg->conn, sql);
    int rc = 0;

    if (md_libpq.PQresultStatus(r) != PGRES_COPY_IN)
        rc = pg_res_errno(c, r, sql);
    md_libpq.PQclear(r);
    return rc;
}

int
md_pg_mig_copy_put(struct md_conn *c, const void *p, size_t n)
{
    if (n > INT32_MAX || md_libpq.PQputCopyData(c->pg->conn, p, (int)n) != 1) {
        pg_set_err(c, "COPY", md_libpq.PQerrorMessage(c->pg->conn));
        return -EIO;
    }
    return 0;
}

int
md_pg_mig_copy_end(struct md_conn *c, const char *abort_msg, int64_t *rows)
{
    PGresult *r;
    int rc = 0;

    if (md_libpq.PQputCopyEnd(c->pg->conn, abort_msg) != 1) {
        pg_set_err(c, "COPY", md_libpq.PQerrorMessage(c->pg->conn));
        rc = -EIO;
    }
    while ((r = md_libpq.PQgetResult(c->pg->conn)) != NULL) {
        if (md_libpq.PQresultStatus(r) == PGRES_COMMAND_OK) {
            if (rows != NULL)
                *rows = strtoll(md_libpq.PQcmdTuples(r), NULL, 10);
        } else if (rc == 0) {
            rc = pg_res_errno(c, r, "COPY");
        }
        md_libpq.PQclear(r);
    }
    return rc;
}
