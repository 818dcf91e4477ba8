/* md_pg.c -- the PostgreSQL metadata backend (md_int.h's struct md_backend)
 * over libpq: the store shared by many gateways. It runs the statements of
 * md_sql.h, the SQLite backend's, translated once per connection as each is
 * first prepared (pg_translate()): ?N becomes $N, SQLite's INDEXED BY hints
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
 * Parameters go as text (integers printed, strings as they are, NUL-ended
 * copies), BLOBs in binary; results come as text: integers parsed, bytea
 * decoded from its hex form. */
#include "common.h"
#include "store/md.h"
#include "store/md_int.h"
#include "store/md_pg_schema.h"
#include "store/health.h"
#include "util/log.h"
#include "util/metrics.h"
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

#include <libpq-fe.h>

#define PG_MAX_PARAMS 24
#define BYTEA_OID 17
#define BOOL_OID 16
#define TEXT_OID 25

/* ---- libpq, loaded on first use -------------------------------------------- */

#define PQ_FNS(X)                                                                                  \
    X(PQclear)                                                                                     \
    X(PQcmdTuples)                                                                                 \
    X(PQconnectdbParams)                                                                           \
    X(PQenterPipelineMode)                                                                         \
    X(PQerrorMessage)                                                                              \
    X(PQexec)                                                                                      \
    X(PQexitPipelineMode)                                                                          \
    X(PQexecPrepared)                                                                              \
    X(PQfinish)                                                                                    \
    X(PQftype)                                                                                     \
    X(PQgetisnull)                                                                                 \
    X(PQgetlength)                                                                                 \
    X(PQgetResult)                                                                                 \
    X(PQgetvalue)                                                                                  \
    X(PQnfields)                                                                                   \
    X(PQntuples)                                                                                   \
    X(PQpipelineSync)                                                                              \
    X(PQprepare)                                                                                   \
    X(PQputCopyData)                                                                               \
    X(PQputCopyEnd)                                                                                \
    X(PQreset)                                                                                     \
    X(PQresultErrorField)                                                                          \
    X(PQresultErrorMessage)                                                                        \
    X(PQresultStatus)                                                                              \
    X(PQsendQueryParams)                                                                           \
    X(PQsendQueryPrepared)                                                                         \
    X(PQstatus)                                                                                    \
    X(PQtransactionStatus)

static struct {
#define X(f) __typeof__(f) *f;
    PQ_FNS(X)
#undef X
} P;
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
    if (p_why[0] == '\0' && (*(void **)&P.f = dlsym(h, #f)) == NULL)                               \
        snprintf(p_why, sizeof(p_why), "libpq.so.5 has no " #f);
    PQ_FNS(X)
#undef X
}

/* ---- connections ------------------------------------------------------------ */

/* Transaction control is deferred and sent in one pipeline with the next
 * statement (pending_run()): a transaction's BEGIN, a job's RELEASE of the
 * previous job's savepoint and its own SAVEPOINT cost no round trip of
 * their own, and a job or snapshot that runs no statement costs none. */
struct pg_conn {
    PGconn *conn;
    const char *begin; /* BEGIN ... not sent yet; NULL: none */
    bool release;      /* RELEASE SAVEPOINT job not sent yet */
    bool savepoint;    /* SAVEPOINT job not sent yet */
    /* What the last pending_run() sent, for once_more(). */
    const char *sent_begin;
    bool sent_release, sent_savepoint;
};

/* One round trip of kind (md_round_trips' label: a static string). */
static inline void
trip(const char *kind)
{
    mx_add(&md_round_trips, kind, NULL, 1);
}

/* One prepared statement: its parameters, then its result being read. */
struct pg_stmt {
    enum st id;
    bool prepared; /* on the connection's current session (a reset clears it) */
    char name[12];
    int nparams;
    bool ret_id; /* PostgreSQL's text has RETURNING id: last_id() */
    bool dup_eexist; /* a plain INSERT given ON CONFLICT DO NOTHING: no row is -EEXIST */
    char *val[PG_MAX_PARAMS];
    int len[PG_MAX_PARAMS];
    int fmt[PG_MAX_PARAMS];
    char *own[PG_MAX_PARAMS]; /* the NUL-ended copies val points into */
    size_t own_cap[PG_MAX_PARAMS];
    PGresult *res;
    int row, nrows;
    char **decoded; /* bytea columns of the current row, decoded on demand */
};

static void
set_err(struct md_conn *c, const char *what, const char *msg)
{
    size_t n;

    snprintf(c->err, sizeof(c->err), "%s%s%s", what, what[0] ? ": " : "",
             msg != NULL ? msg : "");
    n = strlen(c->err);
    while (n > 0 && (c->err[n - 1] == '\n' || c->err[n - 1] == ' '))
        c->err[--n] = '\0';
}

/* A failed result as -errno (md.h's meanings), its message in c->err. */
static int
res_errno(struct md_conn *c, const PGresult *r, const char *what)
{
    const char *state = r != NULL ? P.PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    set_err(c, what, r != NULL ? P.PQresultErrorMessage(r) : P.PQerrorMessage(c->pg->conn));
    /* The server went away: 503; the connection is re-established at its
     * next use (conn_ready()). Only failed attempts pace the others: after a
     * restart every connection's first statement fails once. */
    if (P.PQstatus(c->pg->conn) != CONNECTION_OK) {
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
    int rc = 0;

    trip(kind);
    r = P.PQexec(c->pg->conn, sql);
    st = P.PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = res_errno(c, r, sql);
    P.PQclear(r);
    return rc;
}

static int
pg_simple(struct md_conn *c, const char *sql)
{
    return pg_run(c, sql, "transaction");
}

static void
stmt_free(struct pg_stmt *p)
{
    if (p == NULL)
        return;
    pgs_done(p);
    for (int i = 0; i < PG_MAX_PARAMS; i++)
        free(p->own[i]);
    free(p);
}

/* A reset connection is a new session without c's prepared statements:
 * each is prepared again at its next step. The statements stay (a caller
 * may be reading one's rows), as do their results. */
static void
stmts_unprepare(struct md_conn *c)
{
    for (size_t i = 0; i < ARRAY_LEN(c->st); i++)
        if (c->st[i].pg != NULL)
            c->st[i].pg->prepared = false;
}

static void
stmts_free(struct md_conn *c)
{
    for (size_t i = 0; i < ARRAY_LEN(c->st); i++) {
        stmt_free(c->st[i].pg);
        c->st[i].pg = NULL;
    }
}

static void
conn_close(struct md_conn *c)
{
    if (c == NULL)
        return;
    stmts_free(c);
    if (c->pg != NULL) {
        if (c->pg->conn != NULL)
            P.PQfinish(c->pg->conn);
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
 * SQLite's: a write outside md_write() fails loudly). */
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
                       "-c default_transaction_read_only=on";
    vals[7] = uri;
    vals[8] = NULL;
    return vals;
}

/* While PostgreSQL cannot be reached, one caller at a time tries again, at
 * most every PG_RETRY_MS; every other call fails at once with -EBUSY (503)
 * instead of waiting out its own connection attempt, which would hold a
 * worker, or the event loop for a GET, for up to connect_timeout. */
#define PG_RETRY_MS 1000

/* true if this caller may try to connect now (then it must call
 * attempt_done()); false: fail at once. */
static bool
attempt_begin(struct md *md)
{
    int64_t down = atomic_load_explicit(&md->pg_down_ms, memory_order_relaxed);

    if (down != 0 && tm_mono_ms() - down < PG_RETRY_MS)
        return false;
    return !atomic_exchange(&md->pg_trying, true);
}

static void
attempt_done(struct md *md, bool ok)
{
    int64_t now = tm_mono_ms();

    atomic_store(&md->pg_down_ms, ok ? 0 : now > 0 ? now : 1);
    atomic_store(&md->pg_trying, false);
}

/* A connection that went bad is reset (one attempt, as attempt_begin()
 * allows); 0 if c can be used. Only where no transaction of c's is open:
 * the writer's begin, a reader outside a snapshot, the leases (a reset in
 * the middle of a group would run the rest of it in autocommit). */
static int
conn_ready(struct md_conn *c)
{
    bool ok;

    if (P.PQstatus(c->pg->conn) == CONNECTION_OK)
        return 0;
    stmts_unprepare(c);
    c->pg->begin = NULL;
    c->pg->release = c->pg->savepoint = false;
    if (!attempt_begin(c->md)) {
        set_err(c, "PostgreSQL", "unreachable (retrying)");
        return -EBUSY;
    }
    P.PQreset(c->pg->conn);
    ok = P.PQstatus(c->pg->conn) == CONNECTION_OK;
    attempt_done(c->md, ok);
    if (ok) {
        log_info("md: reconnected to PostgreSQL");
        return 0;
    }
    set_err(c, "PostgreSQL", P.PQerrorMessage(c->pg->conn));
    return -EBUSY;
}

static int
conn_open(struct md *md, bool writer, struct md_conn **out)
{
    const char *vals[CONN_KEYS + 1];
    struct md_conn *c;
    bool ok;

    if (!attempt_begin(md))
        return -EBUSY;
    c = xcalloc(1, sizeof(*c));
    c->md = md;
    c->pg = xcalloc(1, sizeof(*c->pg));
    c->pg->conn = P.PQconnectdbParams(conn_keys, conn_vals(md->pg_uri, writer, vals), 1);
    ok = c->pg->conn != NULL && P.PQstatus(c->pg->conn) == CONNECTION_OK;
    attempt_done(md, ok);
    if (!ok) {
        log_error("md: cannot connect to PostgreSQL: %s",
                  c->pg->conn != NULL ? P.PQerrorMessage(c->pg->conn) : "out of memory");
        conn_close(c);
        return -EBUSY;
    }
    *out = c;
    return 0;
}

/* ---- statements --------------------------------------------------------------- */

/* SQLite text -> PostgreSQL text; what was replaced and why is at the top. */
struct tr {
    const char *from, *to;
};

static const struct tr tr_words[] = {
    {"CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
     "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"},
    {"instr(", "strpos("},
    {"INSERT OR IGNORE INTO", "INSERT INTO"},
};

/* The inserts whose callers read last_id(). */
static bool
returns_id(enum st id)
{
    switch (id) {
    case ST_ACCT_INSERT:
    case ST_USER_INSERT:
    case ST_MFA_INSERT:
    case ST_BKT_INSERT:
    case ST_UP_INSERT:
    case ST_GRP_INSERT:
    case ST_ROLE_INSERT:
    case ST_POL_INSERT:
        return true;
    default:
        return false;
    }
}

/* Translates md_st_sql[id] into a malloc'ed string; *nparams the highest
 * $N, used[N] whether $N appears (N <= PG_MAX_PARAMS).
 *
 * A plain INSERT ... VALUES gets ON CONFLICT DO NOTHING, and no row
 * inserted becomes -EEXIST (*dup_eexist): SQLite's unique violation ends the
 * statement only, PostgreSQL's the whole transaction, and jobs go on after
 * an -EEXIST (CreateBucket reads the bucket that exists). */
static char *
pg_translate(enum st id, int *nparams, bool used[PG_MAX_PARAMS + 1], bool *dup_eexist)
{
    const char *q = md_st_sql[id];
    size_t cap = strlen(q) * 2 + 128, n = 0;
    char *out = xmalloc(cap);
    bool in_str = false, ignore = false;
    int maxp = 0;

    while (*q != '\0') {
        size_t k;

        ASSERT(n + 64 < cap);
        if (*q == '\'') {
            in_str = !in_str;
            out[n++] = *q++;
            continue;
        }
        if (in_str) {
            out[n++] = *q++;
            continue;
        }
        if (*q == '?' && q[1] >= '0' && q[1] <= '9') {
            int v = (int)strtol(q + 1, (char **)&q, 10);

            n += (size_t)snprintf(out + n, cap - n, "$%d", v);
            if (v > maxp)
                maxp = v;
            if (v <= PG_MAX_PARAMS)
                used[v] = true;
            continue;
        }
        if (strncmp(q, " INDEXED BY ", 12) == 0) {
            q += 12;
            while (*q == '_' || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9'))
                q++;
            continue;
        }
        for (k = 0; k < ARRAY_LEN(tr_words); k++) {
            size_t fl = strlen(tr_words[k].from), tl = strlen(tr_words[k].to);

            if (strncmp(q, tr_words[k].from, fl) != 0)
                continue;
            ASSERT(n + tl + 64 < cap);
            memcpy(out + n, tr_words[k].to, tl);
            n += tl;
            q += fl;
            if (k == 2)
                ignore = true;
            break;
        }
        if (k == ARRAY_LEN(tr_words))
            out[n++] = *q++;
    }
    out[n] = '\0';
    *dup_eexist = !ignore && n >= 11 && memcmp(out, "INSERT INTO", 11) == 0 && strstr(out, " VALUES") &&
                  strstr(out, " ON CONFLICT") == NULL && strstr(out, " SELECT ") == NULL;
    if (ignore || *dup_eexist)
        n += (size_t)snprintf(out + n, cap - n, " ON CONFLICT DO NOTHING");
    if (returns_id(id))
        n += (size_t)snprintf(out + n, cap - n, " RETURNING id");
    ASSERT(n < cap);
    *nparams = maxp;
    return out;
}

/* The backend's prepare: the statement's state, without a round trip; it
 * is prepared on the connection at its first step (stmt_ready()). */
static struct stmt *
pg_prepare(struct md_conn *c, enum st id)
{
    bool used[PG_MAX_PARAMS + 1] = {false}, dup;
    struct pg_stmt *p;
    char *sql;
    int np;

    sql = pg_translate(id, &np, used, &dup);
    free(sql);
    if (np > PG_MAX_PARAMS) {
        set_err(c, "statement has too many parameters", md_st_sql[id]);
        c->get_rc = -EIO;
        return NULL;
    }
    p = xcalloc(1, sizeof(*p));
    p->id = id;
    snprintf(p->name, sizeof(p->name), "s%d", (int)id);
    p->nparams = np;
    p->ret_id = returns_id(id);
    p->dup_eexist = dup;
    c->st[id].pg = p;
    return &c->st[id];
}

/* Prepares p on c's session unless it is: 0 or -errno (-EBUSY without a
 * connection; nothing here reconnects). */
static int
stmt_ready(struct md_conn *c, struct pg_stmt *p)
{
    bool used[PG_MAX_PARAMS + 1] = {false}, dup;
    Oid types[PG_MAX_PARAMS] = {0};
    PGresult *r;
    char *sql;
    int np, rc = 0;

    if (p->prepared)
        return 0;
    if (P.PQstatus(c->pg->conn) != CONNECTION_OK) {
        set_err(c, "PostgreSQL", "no connection");
        c->gone = true;
        return -EBUSY;
    }
    sql = pg_translate(p->id, &np, used, &dup);
    /* A parameter the text never names (the listings' unused upper
     * bound) has no type PostgreSQL could infer: text. */
    for (int i = 0; i < np; i++)
        types[i] = used[i + 1] ? 0 : TEXT_OID;
    trip("prepare");
    r = P.PQprepare(c->pg->conn, p->name, sql, np, types);
    if (P.PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = res_errno(c, r, "prepare");
        if (rc != -EBUSY)
            log_error("md: PostgreSQL cannot prepare %s: %s", sql, c->err);
    } else {
        p->prepared = true;
    }
    P.PQclear(r);
    free(sql);
    return rc;
}

int
pgs_bind(struct pg_stmt *p, int i, const void *v, size_t n, bool binary)
{
    int k = i - 1;

    if (k < 0 || k >= p->nparams || n > INT32_MAX)
        return -1;
    if (v == NULL) {
        p->val[k] = NULL;
        return 0;
    }
    if (binary) {
        p->val[k] = (char *)v; /* SQLITE_STATIC's contract: valid until the step */
        p->len[k] = (int)n;
        p->fmt[k] = 1;
        return 0;
    }
    if (memchr(v, '\0', n) != NULL)
        return -1; /* PostgreSQL text cannot hold NUL */
    if (p->own_cap[k] < n + 1) {
        free(p->own[k]);
        p->own_cap[k] = n + 1 < 64 ? 64 : n + 1;
        p->own[k] = xmalloc(p->own_cap[k]);
    }
    memcpy(p->own[k], v, n);
    p->own[k][n] = '\0';
    p->val[k] = p->own[k];
    p->len[k] = (int)n;
    p->fmt[k] = 0;
    return 0;
}

int
pgs_bind_i64(struct pg_stmt *p, int i, int64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%" PRId64, v);

    return pgs_bind(p, i, buf, (size_t)n, false);
}

static void
decoded_free(struct pg_stmt *p)
{
    int nf;

    if (p->decoded == NULL)
        return;
    nf = P.PQnfields(p->res);
    for (int i = 0; i < nf; i++)
        free(p->decoded[i]);
    free(p->decoded);
    p->decoded = NULL;
}

void
pgs_done(struct pg_stmt *p)
{
    if (p->res != NULL) {
        decoded_free(p);
        P.PQclear(p->res);
        p->res = NULL;
    }
    p->row = p->nrows = 0;
    for (int i = 0; i < PG_MAX_PARAMS; i++)
        p->val[i] = NULL;
}

/* The first result of the query being read, the rest (and the NULL that
 * ends it) consumed. */
static PGresult *
take_result(PGconn *k)
{
    PGresult *first = P.PQgetResult(k), *r;

    while (first != NULL && (r = P.PQgetResult(k)) != NULL)
        P.PQclear(r);
    return first;
}

/* Runs c's deferred transaction control, then statement p, in one pipeline
 * (one round trip): p's result, or NULL with *rc < 0 when the control
 * failed (its error) or the pipeline could not be used. */
static PGresult *
pending_run(struct md_conn *c, struct pg_stmt *p, int *rc)
{
    const char *ctl[3];
    PGconn *k = c->pg->conn;
    PGresult *res = NULL, *r;
    size_t n = 0;
    bool ok;

    *rc = 0;
    if (c->pg->begin != NULL)
        ctl[n++] = c->pg->begin;
    if (c->pg->release)
        ctl[n++] = "RELEASE SAVEPOINT job";
    if (c->pg->savepoint)
        ctl[n++] = "SAVEPOINT job";
    c->pg->sent_begin = c->pg->begin;
    c->pg->sent_release = c->pg->release;
    c->pg->sent_savepoint = c->pg->savepoint;
    c->pg->begin = NULL;
    c->pg->release = c->pg->savepoint = false;
    ok = P.PQenterPipelineMode(k) == 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = P.PQsendQueryParams(k, ctl[i], 0, NULL, NULL, NULL, NULL, 0) == 1;
    ok = ok && P.PQsendQueryPrepared(k, p->name, p->nparams, (const char *const *)p->val,
                                     p->len, p->fmt, 0) == 1;
    ok = ok && P.PQpipelineSync(k) == 1;
    if (!ok) {
        set_err(c, "PostgreSQL pipeline", P.PQerrorMessage(k));
        *rc = P.PQstatus(k) == CONNECTION_OK ? -EIO : -EBUSY;
    }
    /* Every query sent has its results; then the sync point. */
    for (size_t i = 0; ok && i < n; i++) {
        r = take_result(k);
        if (*rc == 0 && P.PQresultStatus(r) != PGRES_COMMAND_OK)
            *rc = res_errno(c, r, ctl[i]);
        P.PQclear(r);
    }
    if (ok) {
        res = take_result(k);
        while ((r = P.PQgetResult(k)) != NULL) { /* PGRES_PIPELINE_SYNC */
            ExecStatusType st = P.PQresultStatus(r);

            P.PQclear(r);
            if (st == PGRES_PIPELINE_SYNC)
                break;
        }
    }
    (void)P.PQexitPipelineMode(k);
    if (*rc < 0) {
        P.PQclear(res);
        return NULL;
    }
    return res;
}

/* Sends p with whatever transaction control is pending: 0 with p->res (a
 * result to look at), or -errno. */
static int
stmt_exec(struct md_conn *c, struct pg_stmt *p)
{
    int rc = stmt_ready(c, p);

    if (rc < 0)
        return rc;
    trip("statement");
    if (c->pg->begin != NULL || c->pg->release || c->pg->savepoint) {
        p->res = pending_run(c, p, &rc);
        return rc;
    }
    c->pg->sent_begin = NULL; /* the transaction, if any, began earlier */
    c->pg->sent_release = c->pg->sent_savepoint = false;
    p->res = P.PQexecPrepared(c->pg->conn, p->name, p->nparams, (const char *const *)p->val,
                              p->len, p->fmt, 0);
    if (P.PQstatus(c->pg->conn) != CONNECTION_OK) {
        rc = res_errno(c, p->res, "");
        P.PQclear(p->res);
        p->res = NULL;
    }
    return rc;
}

/* After a restart of PostgreSQL every connection's next statement finds it
 * gone. A reader outside a snapshot runs that statement again once on a new
 * connection (nothing of its was in flight); so does the writer for the
 * first statement of a transaction, which carried the BEGIN (its deferred
 * control is set again). true if p may be sent again. */
static bool
once_more(struct md_conn *c, struct pg_stmt *p)
{
    bool writer = c == c->md->wconn, first = writer && c->pg->sent_begin != NULL;
    const char *begin = c->pg->sent_begin;
    bool release = c->pg->sent_release, savepoint = c->pg->sent_savepoint;

    if (P.PQstatus(c->pg->conn) == CONNECTION_OK || (writer ? !first : c->in_snapshot) ||
        c == c->md->lease_conn)
        return false;
    if (conn_ready(c) < 0)
        return false;
    c->gone = false;
    if (first) {
        c->pg->begin = begin;
        c->pg->release = release;
        c->pg->savepoint = savepoint;
    }
    (void)p;
    return true;
}

int
pgs_step(struct md_conn *c, struct pg_stmt *p)
{
    int rc;

    if (p->res == NULL) {
        ExecStatusType st;

        rc = stmt_exec(c, p);
        if (rc == -EBUSY && once_more(c, p))
            rc = stmt_exec(c, p);
        if (rc < 0) {
            pgs_done(p);
            return rc;
        }
        st = P.PQresultStatus(p->res);
        if (st == PGRES_COMMAND_OK) {
            c->changes = strtoll(P.PQcmdTuples(p->res), NULL, 10);
            if (p->dup_eexist && c->changes == 0) {
                set_err(c, "", "duplicate key (ON CONFLICT DO NOTHING inserted no row)");
                pgs_done(p);
                return -EEXIST;
            }
            return 0;
        }
        if (st != PGRES_TUPLES_OK) {
            rc = res_errno(c, p->res, "");
            pgs_done(p);
            return rc;
        }
        p->nrows = P.PQntuples(p->res);
        c->changes = strtoll(P.PQcmdTuples(p->res), NULL, 10);
        if (p->ret_id) {
            if (p->nrows == 0 && p->dup_eexist) {
                set_err(c, "", "duplicate key (ON CONFLICT DO NOTHING inserted no row)");
                pgs_done(p);
                return -EEXIST;
            }
            c->last_id = p->nrows > 0 ? strtoll(P.PQgetvalue(p->res, 0, 0), NULL, 10) : 0;
            p->row = p->nrows;
            return 0;
        }
        p->row = -1;
    }
    decoded_free(p);
    if (p->row + 1 >= p->nrows) {
        p->row = p->nrows;
        return 0;
    }
    p->row++;
    return 1;
}

bool
pgs_col_null(struct pg_stmt *p, int i)
{
    if (p->res == NULL || p->row < 0 || p->row >= p->nrows || i >= P.PQnfields(p->res))
        return true;
    return P.PQgetisnull(p->res, p->row, i) != 0;
}

int64_t
pgs_col_i64(struct pg_stmt *p, int i)
{
    const char *v;

    if (pgs_col_null(p, i))
        return 0;
    v = P.PQgetvalue(p->res, p->row, i);
    if (P.PQftype(p->res, i) == BOOL_OID)
        return v[0] == 't';
    return strtoll(v, NULL, 10);
}

static int
hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

struct str
pgs_col_view(struct pg_stmt *p, int i)
{
    const char *v;
    size_t n;
    char *d;

    if (pgs_col_null(p, i))
        return str_make(NULL, 0);
    v = P.PQgetvalue(p->res, p->row, i);
    n = (size_t)P.PQgetlength(p->res, p->row, i);
    if (P.PQftype(p->res, i) != BYTEA_OID)
        return str_make(v, n);
    /* bytea as text: \x and two hex digits a byte (bytea_output = hex). */
    if (n < 2 || v[0] != '\\' || v[1] != 'x')
        return str_make(NULL, 0);
    if (p->decoded == NULL)
        p->decoded = xcalloc((size_t)P.PQnfields(p->res), sizeof(*p->decoded));
    if (p->decoded[i] == NULL) {
        d = xmalloc((n - 2) / 2 + 1);
        for (size_t k = 0; k + 1 < n - 2; k += 2)
            d[k / 2] = (char)(hexval(v[2 + k]) << 4 | hexval(v[3 + k]));
        p->decoded[i] = d;
    }
    return str_make(p->decoded[i], (n - 2) / 2);
}

/* ---- the schema ----------------------------------------------------------------- */

/* The schema version stored in the database: >= 0, or -1 for none yet, or
 * -errno. */
static int
schema_version(struct md_conn *c)
{
    PGresult *r = P.PQexec(c->pg->conn, "SELECT to_regclass('coffer_schema') IS NOT NULL");
    int v = -1;

    if (P.PQresultStatus(r) != PGRES_TUPLES_OK) {
        v = res_errno(c, r, "reading the schema version");
        P.PQclear(r);
        return v;
    }
    if (P.PQgetvalue(r, 0, 0)[0] != 't') {
        P.PQclear(r);
        return -1;
    }
    P.PQclear(r);
    r = P.PQexec(c->pg->conn, "SELECT version FROM coffer_schema");
    if (P.PQresultStatus(r) == PGRES_TUPLES_OK && P.PQntuples(r) == 1)
        v = atoi(P.PQgetvalue(r, 0, 0));
    else
        v = res_errno(c, r, "reading the schema version");
    P.PQclear(r);
    return v;
}

/* Creates the schema in an empty database, in one transaction, under an
 * advisory lock so that gateways starting together create it once. */
static int
schema_ensure(struct md_conn *c)
{
    int rc, v;

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
    if (v == MD_PG_SCHEMA_VERSION)
        return pg_simple(c, "COMMIT");
    if (v >= 0) {
        /* No step has been shipped after the first PostgreSQL schema. */
        log_error("md: the PostgreSQL store has schema version %d; this binary knows only %d",
                  v, MD_PG_SCHEMA_VERSION);
        rc = -EPROTO;
        goto fail;
    }
    for (size_t i = 0; md_pg_schema[i] != NULL; i++) {
        rc = pg_simple(c, md_pg_schema[i]);
        if (rc < 0) {
            log_error("md: creating the PostgreSQL schema: %s", c->err);
            goto fail;
        }
    }
    rc = pg_simple(c, "COMMIT");
    if (rc == 0)
        log_info("md: created the PostgreSQL schema (version %d)", MD_PG_SCHEMA_VERSION);
    return rc;
fail:
    (void)pg_simple(c, "ROLLBACK");
    return rc;
}

/* ---- the backend ------------------------------------------------------------------ */

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

static void
reader_dtor(void *arg)
{
    struct md_conn *c = arg;
    struct md *md = c->md;

    pthread_mutex_lock(&md->readers_mu);
    reader_unlink(md, c);
    pthread_mutex_unlock(&md->readers_mu);
    conn_close(c);
}

static struct md_conn *
pg_reader(struct md *md)
{
    struct md_conn *c = pthread_getspecific(md->tls);

    if (c != NULL) {
        if (!c->in_snapshot)
            (void)conn_ready(c);
        return c;
    }
    if (conn_open(md, false, &c) < 0)
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

static int
pg_snapshot_begin(struct md_conn *c)
{
    int rc;

    if (c->in_snapshot)
        return -EALREADY;
    rc = conn_ready(c);
    if (rc < 0)
        return rc;
    c->pg->begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    c->in_snapshot = true;
    return 0;
}

static void
pg_snapshot_end(struct md_conn *c)
{
    if (!c->in_snapshot)
        return;
    c->in_snapshot = false;
    if (c->pg->begin != NULL) { /* no statement ran in it */
        c->pg->begin = NULL;
        return;
    }
    if (P.PQtransactionStatus(c->pg->conn) != PQTRANS_IDLE && pg_simple(c, "COMMIT") < 0)
        log_error("md: ending a read snapshot: %s", c->err);
}

/* The writer's transaction: control deferred as struct pg_conn says, so a
 * group costs its statements and one COMMIT. */
static int
pg_begin(struct md_conn *c, int wait_ms)
{
    (void)wait_ms; /* lock waits are PostgreSQL's lock_timeout */
    if (conn_ready(c) < 0)
        return -EBUSY;
    /* A transaction abandoned for a retry is still open on the server. */
    if (P.PQtransactionStatus(c->pg->conn) != PQTRANS_IDLE)
        (void)pg_simple(c, "ROLLBACK");
    c->retry = c->gone = false;
    c->pg->begin = "BEGIN ISOLATION LEVEL SERIALIZABLE";
    c->pg->release = c->pg->savepoint = false;
    return 0;
}

static bool
pg_in_txn(struct md_conn *c)
{
    PGTransactionStatusType t = P.PQtransactionStatus(c->pg->conn);

    if (c->retry)
        return false;
    return c->pg->begin != NULL || t == PQTRANS_INTRANS || t == PQTRANS_INERROR;
}

static void
pg_rollback(struct md_conn *c)
{
    c->pg->begin = NULL;
    c->pg->release = c->pg->savepoint = false;
    if (P.PQtransactionStatus(c->pg->conn) != PQTRANS_IDLE)
        (void)pg_simple(c, "ROLLBACK");
}

static int
pg_commit(struct md_conn *c, int wait_ms)
{
    int rc;

    (void)wait_ms;
    c->pg->release = c->pg->savepoint = false; /* COMMIT releases them all */
    if (c->pg->begin != NULL) { /* no statement ran: nothing to commit */
        c->pg->begin = NULL;
        return 0;
    }
    rc = pg_simple(c, "COMMIT");
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
    c->pg->savepoint = true;
    return 0;
}

static int
pg_release(struct md_conn *c)
{
    if (c->pg->savepoint) /* the job ran no statement: nothing to release */
        c->pg->savepoint = false;
    else
        c->pg->release = true;
    return 0;
}

static int
pg_rollback_to(struct md_conn *c)
{
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
        if (conn_ready(c) < 0)
            goto out;
    }
    snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_lock(%lld)",
             LEASE_KEY + (long long)which);
    trip("lease");
    r = P.PQexec(c->pg->conn, sql);
    if (P.PQresultStatus(r) == PGRES_TUPLES_OK && P.PQntuples(r) == 1)
        held = P.PQgetvalue(r, 0, 0)[0] == 't';
    else
        (void)res_errno(c, r, "taking a lease");
    P.PQclear(r);
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
    return c->err[0] ? c->err : P.PQerrorMessage(c->pg->conn);
}

static void
pg_close(struct md *md)
{
    pthread_mutex_lock(&md->readers_mu);
    while (md->readers != NULL) {
        struct md_conn *c = md->readers;

        reader_unlink(md, c);
        conn_close(c);
    }
    pthread_mutex_unlock(&md->readers_mu);
    conn_close(md->wconn);
    md->wconn = NULL;
    conn_close(md->lease_conn); /* releases the leases */
    md->lease_conn = NULL;
    pthread_mutex_destroy(&md->lease_mu);
    pthread_setspecific(md->tls, NULL);
    pthread_key_delete(md->tls);
    pthread_mutex_destroy(&md->readers_mu);
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
    if (pthread_key_create(&md->tls, reader_dtor) != 0)
        return -EAGAIN;
    pthread_mutex_init(&md->readers_mu, NULL);
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
    .open = pg_open,
    .close = pg_close,
    .reader = pg_reader,
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
    PGresult *r = P.PQexec(c->pg->conn, sql);
    int rc = 0;

    if (P.PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = res_errno(c, r, sql);
    else if (P.PQntuples(r) < 1 || P.PQnfields(r) < 1)
        rc = -ENOENT;
    else if ((size_t)P.PQgetlength(r, 0, 0) >= cap)
        rc = -E2BIG;
    else
        snprintf(out, cap, "%s", P.PQgetvalue(r, 0, 0));
    P.PQclear(r);
    return rc;
}

/* COPY ... FROM STDIN: begin runs the statement, put sends data (the COPY
 * format's bytes, any split), end finishes it (or, with abort_msg, fails it)
 * and sets *rows to the rows copied. 0 or -errno with c->err. */
int
md_pg_mig_copy_begin(struct md_conn *c, const char *sql)
{
    PGresult *r = P.PQexec(c->pg->conn, sql);
    int rc = 0;

    if (P.PQresultStatus(r) != PGRES_COPY_IN)
        rc = res_errno(c, r, sql);
    P.PQclear(r);
    return rc;
}

int
md_pg_mig_copy_put(struct md_conn *c, const void *p, size_t n)
{
    if (n > INT32_MAX || P.PQputCopyData(c->pg->conn, p, (int)n) != 1) {
        set_err(c, "COPY", P.PQerrorMessage(c->pg->conn));
        return -EIO;
    }
    return 0;
}

int
md_pg_mig_copy_end(struct md_conn *c, const char *abort_msg, int64_t *rows)
{
    PGresult *r;
    int rc = 0;

    if (P.PQputCopyEnd(c->pg->conn, abort_msg) != 1) {
        set_err(c, "COPY", P.PQerrorMessage(c->pg->conn));
        rc = -EIO;
    }
    while ((r = P.PQgetResult(c->pg->conn)) != NULL) {
        if (P.PQresultStatus(r) == PGRES_COMMAND_OK) {
            if (rows != NULL)
                *rows = strtoll(P.PQcmdTuples(r), NULL, 10);
        } else if (rc == 0) {
            rc = res_errno(c, r, "COPY");
        }
        P.PQclear(r);
    }
    return rc;
}
