/* md_pg_stmt.c -- the PostgreSQL backend's statements (md_pg_int.h): the
 * statements of md_sql.h translated from SQLite's text as each is first
 * prepared (pg_translate()), prepared on a connection at their first step
 * and again after a reset, their parameters (text, BLOBs binary), the
 * deferred transaction control sent in one pipeline with them, a statement
 * sent again once after PostgreSQL's restart, and their results (text:
 * integers parsed, bytea decoded from hex). md_int.h's helpers call the
 * pgs_*() functions. */
#include "common.h"
#include "store/md_pg_int.h"
#include "util/log.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
stmt_free(struct pg_stmt *p)
{
    if (p == NULL)
        return;
    pgs_done(p);
    for (int i = 0; i < PG_MAX_PARAMS; i++)
        free(p->own[i]);
    for (int i = 0; i < p->n_cache; i++) {
        free(p->cache[i].key);
        md_libpq.PQclear(p->cache[i].res);
    }
    free(p->cache);
    free(p);
}

/* A reset connection is a new session without c's prepared statements:
 * each is prepared again at its next step. The statements stay (a caller
 * may be reading one's rows), as do their results. */
void
pg_stmts_unprepare(struct md_conn *c)
{
    for (size_t i = 0; i < ARRAY_LEN(c->st); i++)
        if (c->st[i].pg != NULL)
            c->st[i].pg->prepared = false;
}

void
pg_stmts_free(struct md_conn *c)
{
    pg_snapshot_forget(c);
    for (size_t i = 0; i < ARRAY_LEN(c->st); i++) {
        stmt_free(c->st[i].pg);
        c->st[i].pg = NULL;
    }
}

/* ---- translation -------------------------------------------------------------- */

/* SQLite's words and PostgreSQL's. The clock: clock_timestamp(), not now(),
 * which stays at the transaction's start (trash rows would look older than
 * they are). ignore: the statement gets ON CONFLICT DO NOTHING. */
struct tr {
    const char *from, *to;
    bool ignore;
};

static const struct tr tr_words[] = {
    {"CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
     "(extract(epoch FROM clock_timestamp()) * 1000)::bigint", false},
    {"instr(", "strpos(", false},
    {"INSERT OR IGNORE INTO", "INSERT INTO", true},
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
            ignore |= tr_words[k].ignore;
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

/* ---- preparing, parameters, running, results ---------------------------------------- */

/* The backend's prepare: the statement's state, without a round trip; it
 * is prepared on the connection at its first step (stmt_ready()). */
struct stmt *
pg_prepare(struct md_conn *c, enum st id)
{
    bool used[PG_MAX_PARAMS + 1] = {false}, dup;
    struct pg_stmt *p;
    char *sql;
    int np;

    sql = pg_translate(id, &np, used, &dup);
    free(sql);
    if (np > PG_MAX_PARAMS) {
        pg_set_err(c, "statement has too many parameters", md_st_sql[id]);
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

/* Whether a result column of type t can come in binary: its bytes are
 * then what the readers want (bytea as is, no hex; text as is) or a
 * fixed-size integer. Anything else (numeric sums, citext) keeps the
 * whole statement in text. */
static bool
binary_ok(Oid t)
{
    return t == INT8_OID || t == INT4_OID || t == INT2_OID || t == BOOL_OID || t == TEXT_OID ||
           t == BYTEA_OID;
}

/* Learns p's result columns (one round trip, once per session): p->binary. */
static int
describe(struct md_conn *c, struct pg_stmt *p)
{
    PGresult *r;
    int rc = 0, nf;

    trip("prepare");
    r = md_libpq.PQdescribePrepared(c->pg->conn, p->name);
    if (md_libpq.PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = pg_res_errno(c, r, "describe");
        p->prepared = false;
    } else {
        nf = md_libpq.PQnfields(r);
        p->binary = nf > 0;
        for (int i = 0; i < nf; i++)
            p->binary = p->binary && binary_ok(md_libpq.PQftype(r, i));
    }
    md_libpq.PQclear(r);
    return rc;
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

    pg_drain(c);
    if (p->prepared)
        return 0;
    rc = pg_deferred_sync(c, NULL, NULL); /* no PQprepare() in a pipeline */
    if (rc < 0)
        return rc;
    if (md_libpq.PQstatus(c->pg->conn) != CONNECTION_OK) {
        pg_set_err(c, "PostgreSQL", "no connection");
        c->gone = true;
        return -EBUSY;
    }
    sql = pg_translate(p->id, &np, used, &dup);
    /* A parameter the text never names (the listings' unused upper
     * bound) has no type PostgreSQL could infer: text. */
    for (int i = 0; i < np; i++)
        types[i] = used[i + 1] ? 0 : TEXT_OID;
    trip("prepare");
    r = md_libpq.PQprepare(c->pg->conn, p->name, sql, np, types);
    if (md_libpq.PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = pg_res_errno(c, r, "prepare");
        if (rc != -EBUSY)
            log_error("md: PostgreSQL cannot prepare %s: %s", sql, c->err);
    } else {
        p->prepared = true;
    }
    md_libpq.PQclear(r);
    free(sql);
    if (rc == 0)
        rc = describe(c, p);
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
    nf = md_libpq.PQnfields(p->res);
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
        if (!p->borrowed)
            md_libpq.PQclear(p->res);
        p->res = NULL;
    }
    p->borrowed = false;
    p->row = p->nrows = 0;
    for (int i = 0; i < PG_MAX_PARAMS; i++)
        p->val[i] = NULL;
}

/* The first result of the query being read, the rest (and the NULL that
 * ends it) consumed. */
static PGresult *
take_result(PGconn *k)
{
    PGresult *first = md_libpq.PQgetResult(k), *r;

    while (first != NULL && (r = md_libpq.PQgetResult(k)) != NULL)
        md_libpq.PQclear(r);
    return first;
}

/* The transaction control c has pending, in order, into ctl (CTL_MAX at
 * most), remembered for once_more() and cleared: their number.
 *
 * The writer's group takes the counters table's lock right after its
 * BEGIN, before its snapshot (which the first query takes): every group
 * that writes a version updates the one version_seq row and holds it to
 * its commit, and under SERIALIZABLE a group of another gateway that met
 * that row locked waited for the commit only to fail then, its snapshot
 * older than the update, and run again. Now it waits at its start and
 * goes on: two gateways' groups take turns instead of aborting.
 * SHARE ROW EXCLUSIVE conflicts with itself and with the updates of the
 * policy generation, not with reads. */
enum { CTL_MAX = 4 };
static size_t
take_control(struct md_conn *c, const char *ctl[CTL_MAX])
{
    size_t n = 0;

    if (c->pg->begin != NULL) {
        ctl[n++] = c->pg->begin;
        if (c == c->md->wconn)
            ctl[n++] = "LOCK TABLE counters IN SHARE ROW EXCLUSIVE MODE";
    }
    if (c->pg->release)
        ctl[n++] = "RELEASE SAVEPOINT job";
    if (c->pg->savepoint)
        ctl[n++] = "SAVEPOINT job";
    c->pg->sent_begin = c->pg->begin;
    c->pg->sent_release = c->pg->release;
    c->pg->sent_savepoint = c->pg->savepoint;
    c->pg->begin = NULL;
    c->pg->release = c->pg->savepoint = false;
    return n;
}

/* The first error among the results of the n deferred statements sent
 * before (read and cleared): 0 or -errno, the transaction then doomed. An
 * INSERT given ON CONFLICT DO NOTHING that inserted nothing is one too. */
static int
collect_deferred(struct md_conn *c, int n)
{
    uint64_t must_insert = c->pg->deferred_inserts;
    PGresult *r;
    int rc = 0;

    c->pg->deferred_inserts = 0;
    for (int i = 0; i < n; i++) {
        ExecStatusType st;
        bool none;

        r = take_result(c->pg->conn);
        st = md_libpq.PQresultStatus(r);
        none = st == PGRES_COMMAND_OK && i < 64 && (must_insert >> i & 1) &&
               strtoll(md_libpq.PQcmdTuples(r), NULL, 10) == 0;
        if (rc == 0 && none) {
            pg_set_err(c, "", "a duplicate key (ON CONFLICT DO NOTHING inserted no row)");
            c->retry = true;
            rc = -EAGAIN;
        } else if (rc == 0 && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            rc = pg_res_errno(c, r, "a statement not waited for");
            /* Its job was told it succeeded: every job of the group runs
             * again. */
            if (!c->gone)
                c->retry = true;
            if (rc != -EAGAIN && rc != -EBUSY)
                log_error("md: %s", c->err);
            rc = c->gone ? -EBUSY : -EAGAIN;
        }
        md_libpq.PQclear(r);
    }
    return rc;
}

/* Reads up to the pipeline's sync point and leaves pipeline mode. */
static void
pipeline_end(PGconn *k)
{
    PGresult *r;

    while ((r = md_libpq.PQgetResult(k)) != NULL) {
        ExecStatusType st = md_libpq.PQresultStatus(r);

        md_libpq.PQclear(r);
        if (st == PGRES_PIPELINE_SYNC)
            break;
    }
    (void)md_libpq.PQexitPipelineMode(k);
}

static bool
send_prepared(PGconn *k, const struct pg_stmt *p, int fmt)
{
    return md_libpq.PQsendQueryPrepared(k, p->name, p->nparams, (const char *const *)p->val,
                                        p->len, p->fmt, fmt) == 1;
}

/* Sends the n control statements, then p (results in format fmt), then pre
 * if not NULL, in c's pipeline, entering it unless deferred statements hold
 * it open: false if libpq refused one. */
static bool
pipeline_send(struct md_conn *c, const char *const *ctl, size_t n, const struct pg_stmt *p,
              int fmt, const struct pg_stmt *pre)
{
    PGconn *k = c->pg->conn;
    bool ok = c->pg->deferred > 0 || md_libpq.PQenterPipelineMode(k) == 1;

    for (size_t i = 0; ok && i < n; i++)
        ok = md_libpq.PQsendQueryParams(k, ctl[i], 0, NULL, NULL, NULL, NULL, 0) == 1;
    return ok && send_prepared(k, p, fmt) && (pre == NULL || send_prepared(k, pre, pre->binary));
}

static bool cache_key(const struct pg_stmt *p, char *out, size_t cap, size_t *n);

/* md_version_prefetch() left a statement to send with the next one. */
static bool
pre_pending(const struct md_conn *c)
{
    return c->pg->pre != NULL && c->pg->pre_res == NULL;
}

/* The prefetched statement's result (read next on c's connection), kept
 * for pre_take() if it has rows to give. */
static void
pre_keep(struct md_conn *c, const struct pg_stmt *pre, bool ok)
{
    PGresult *r = take_result(c->pg->conn);

    if (ok && md_libpq.PQresultStatus(r) == PGRES_TUPLES_OK &&
        cache_key(pre, c->pg->pre_key, sizeof(c->pg->pre_key), &c->pg->pre_key_n)) {
        c->pg->pre_res = r;
        c->pg->pre = (struct pg_stmt *)pre;
        return;
    }
    md_libpq.PQclear(r);
}

/* p answered by the prefetched result, if p is that statement with the
 * parameters it was sent with. */
static bool
pre_take(struct md_conn *c, struct pg_stmt *p)
{
    char key[sizeof(c->pg->pre_key)];
    size_t n;

    if (c->pg->pre_res == NULL || c->pg->pre != p || (!c->in_snapshot && c != c->md->wconn) ||
        !cache_key(p, key, sizeof(key), &n) || n != c->pg->pre_key_n ||
        memcmp(key, c->pg->pre_key, n) != 0)
        return false;
    p->res = c->pg->pre_res;
    c->pg->pre_res = NULL;
    c->pg->pre = NULL;
    return true;
}

/* The writer's pipeline, with statements whose jobs were told they
 * succeeded, could not be used: the group is doomed (-EAGAIN, run again),
 * or the connection is gone (-EBUSY). */
static int
pipeline_failed(struct md_conn *c)
{
    pg_set_err(c, "PostgreSQL pipeline", md_libpq.PQerrorMessage(c->pg->conn));
    c->gone = md_libpq.PQstatus(c->pg->conn) != CONNECTION_OK;
    c->retry = !c->gone;
    return c->gone ? -EBUSY : -EAGAIN;
}

/* Runs c's deferred transaction control, then statement p, in one pipeline
 * (one round trip), after the writer's deferred statements if any: p's
 * result, or NULL with *rc < 0 when one of those or the control failed
 * (its error) or the pipeline could not be used. */
static PGresult *
pending_run(struct md_conn *c, struct pg_stmt *p, int *rc)
{
    const char *ctl[CTL_MAX];
    PGconn *k = c->pg->conn;
    PGresult *res = NULL, *r;
    int deferred = c->pg->deferred;
    size_t n = take_control(c, ctl);
    /* md_version_prefetch()'s statement goes along (unless it is p). */
    struct pg_stmt *pre = pre_pending(c) && c->pg->pre != p ? c->pg->pre : NULL;
    bool ok;

    *rc = 0;
    if (c->pg->pre_res == NULL)
        c->pg->pre = NULL;
    ok = pipeline_send(c, ctl, n, p, p->binary, pre) && md_libpq.PQpipelineSync(k) == 1;
    c->pg->deferred = 0;
    if (!ok) {
        c->pg->deferred_inserts = 0;
        pg_set_err(c, "PostgreSQL pipeline", md_libpq.PQerrorMessage(k));
        *rc = md_libpq.PQstatus(k) == CONNECTION_OK ? -EIO : -EBUSY;
        c->gone = *rc == -EBUSY;
        if (deferred > 0 && !c->gone)
            c->retry = true; /* their jobs were told they succeeded */
    }
    /* Every query sent has its results; then the sync point. */
    if (ok)
        *rc = collect_deferred(c, deferred);
    for (size_t i = 0; ok && i < n; i++) {
        r = take_result(k);
        if (*rc == 0 && md_libpq.PQresultStatus(r) != PGRES_COMMAND_OK)
            *rc = pg_res_errno(c, r, ctl[i]);
        md_libpq.PQclear(r);
    }
    if (ok) {
        res = take_result(k);
        if (pre != NULL)
            pre_keep(c, pre, *rc == 0);
        pipeline_end(k);
    } else {
        (void)md_libpq.PQexitPipelineMode(k);
    }
    if (*rc < 0) {
        md_libpq.PQclear(res);
        return NULL;
    }
    return res;
}

int
pg_deferred_sync(struct md_conn *c, const char *sql, PGresult **res)
{
    PGconn *k = c->pg->conn;
    int n = c->pg->deferred, rc;
    bool ok;

    if (n == 0)
        return 0;
    c->pg->deferred = 0;
    ok = sql == NULL || md_libpq.PQsendQueryParams(k, sql, 0, NULL, NULL, NULL, NULL, 0) == 1;
    ok = ok && md_libpq.PQpipelineSync(k) == 1;
    if (!ok) {
        c->pg->deferred_inserts = 0;
        rc = pipeline_failed(c);
        (void)md_libpq.PQexitPipelineMode(k);
        return rc;
    }
    if (sql != NULL)
        trip("transaction");
    rc = collect_deferred(c, n);
    if (sql != NULL)
        *res = take_result(k);
    pipeline_end(k);
    return rc;
}

/* Sends p without waiting for it, in a pipeline left open (with the
 * transaction control pending): pgs_step()'s result for the caller that
 * only looks at failure. The writer's prepared statements only; others run
 * at once. */
int
pgs_exec_nowait(struct md_conn *c, struct pg_stmt *p)
{
    const char *ctl[CTL_MAX];
    PGconn *k = c->pg->conn;
    size_t n;
    bool ok;
    int rc;

    /* An INSERT's "no row inserted" is checked by its place in the
     * pipeline (collect_deferred()): 64 places. */
    if (c != c->md->wconn || !p->prepared || md_libpq.PQstatus(k) != CONNECTION_OK ||
        (p->dup_eexist && c->pg->deferred + 3 >= 64)) {
        rc = pgs_step(c, p);
        pgs_done(p);
        return rc > 0 ? 0 : rc;
    }
    if (c->pg->pre_res != NULL)
        pg_pre_forget(c); /* p may change what it read */
    n = take_control(c, ctl);
    c->pg->sent_begin = NULL; /* nothing here to send again after a restart */
    /* On its way now: the server works while the job goes on. */
    ok = pipeline_send(c, ctl, n, p, 0, NULL) && md_libpq.PQflush(k) == 0;
    pgs_done(p);
    if (!ok)
        return pipeline_failed(c);
    if (p->dup_eexist)
        c->pg->deferred_inserts |= (uint64_t)1 << (c->pg->deferred + (int)n);
    c->pg->deferred += (int)n + 1;
    trip("deferred");
    return 0;
}

/* Sends p with whatever transaction control is pending: 0 with p->res (a
 * result to look at), or -errno. */
static int
stmt_exec(struct md_conn *c, struct pg_stmt *p)
{
    int rc;

    if (c == c->md->wconn && c->pg->pre_res != NULL)
        pg_pre_forget(c); /* the writer's statement may change what it read */
    rc = stmt_ready(c, p);

    if (rc < 0)
        return rc;
    trip("statement");
    if (c->pg->begin != NULL || c->pg->release || c->pg->savepoint || c->pg->deferred > 0 ||
        pre_pending(c)) {
        p->res = pending_run(c, p, &rc);
        return rc;
    }
    c->pg->sent_begin = NULL; /* the transaction, if any, began earlier */
    c->pg->sent_release = c->pg->sent_savepoint = false;
    p->res = md_libpq.PQexecPrepared(c->pg->conn, p->name, p->nparams, (const char *const *)p->val,
                                     p->len, p->fmt, p->binary);
    if (md_libpq.PQstatus(c->pg->conn) != CONNECTION_OK) {
        rc = pg_res_errno(c, p->res, "");
        md_libpq.PQclear(p->res);
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

    if (md_libpq.PQstatus(c->pg->conn) == CONNECTION_OK || (writer ? !first : c->in_snapshot) ||
        c == c->md->lease_conn)
        return false;
    if (pg_conn_ready(c) < 0)
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


/* A binary integer of n bytes, big-endian, sign-extended. */
static int64_t
be_int(const unsigned char *v, int n)
{
    uint64_t u = 0;

    for (int k = 0; k < n; k++)
        u = u << 8 | v[k];
    if (n < 8 && n > 0 && (v[0] & 0x80))
        u |= ~(uint64_t)0 << (8 * n);
    return (int64_t)u;
}

/* Column i of row as an integer, whichever format it came in. */
static int64_t
res_i64(const PGresult *r, int row, int i)
{
    const char *v = md_libpq.PQgetvalue(r, row, i);
    Oid t = md_libpq.PQftype(r, i);
    char num[24];
    int n;

    if (t == BOOL_OID)
        return md_libpq.PQfformat(r, i) ? v[0] != 0 : v[0] == 't';
    if (md_libpq.PQfformat(r, i) == 0)
        return strtoll(v, NULL, 10);
    n = md_libpq.PQgetlength(r, row, i);
    if (t == INT8_OID || t == INT4_OID || t == INT2_OID)
        return be_int((const unsigned char *)v, n);
    /* text read as a number, as SQLite would */
    n = n < (int)sizeof(num) - 1 ? n : (int)sizeof(num) - 1;
    memcpy(num, v, (size_t)n);
    num[n] = '\0';
    return strtoll(num, NULL, 10);
}

/* ---- the row cache ------------------------------------------------------------------- */

/* Every request reads its access key, the key's account and the bucket, and
 * on PostgreSQL each read is a round trip. Inside a read snapshot, a
 * reader keeps those statements' results per connection, and uses one
 * again only while the snapshot's policy generation is the one it was
 * read under: every change to accounts, keys and buckets bumps the
 * generation in its own transaction (md_pg_schema.h's triggers, whatever
 * statement or gateway makes it), so a result kept under the generation a
 * snapshot sees is what that snapshot would read. A snapshot pays one
 * read of the generation, sent with its BEGIN, instead of three lookups;
 * md_policy_gen() in it costs nothing more. Outside snapshots, and on the
 * writer's connection, nothing is cached. Caching the writer's bucket reads
 * saved a round trip per job but needed every writing statement sorted into
 * those that may bump the generation and those that may not, and its
 * SERIALIZABLE read of the generation scans the small counters table, which
 * serializable isolation then locks whole, against every other gateway's
 * update of version_seq; two gateways' PUTs showed no clear difference in
 * aborted transactions either way (bench/gateways.sh: 5,386 with it,
 * 3,619-4,502 without), so the simpler code stays. */
static bool
cacheable(enum st id)
{
    return id == ST_KEY_GET || id == ST_ACCT_GET || id == ST_BKT_GET;
}

/* The snapshot's policy generation, read at its first cached statement: 0
 * or -errno. With a statement from md_version_prefetch() to send along,
 * and the generation of the connection's last snapshot (its row cache's,
 * most likely) to expect, the two go without a BEGIN: a pipeline's
 * statements up to its sync point are one implicit transaction, of one
 * snapshot since readers default to REPEATABLE READ (md_pg.c), which the
 * sync point commits. While the generation is the one expected, the row
 * cache and that statement answer the rest of the snapshot in that one
 * round trip, and PostgreSQL runs no BEGIN and no COMMIT. If it is not, the
 * transaction read nothing anyone saw, and the snapshot starts again in a
 * transaction left open (reopen() when a statement must run after all). */
static int
snap_gen_read(struct md_conn *c, bool early)
{
    struct pg_stmt *g, *pre = c->pg->pre;
    struct stmt *s;
    int rc;

    s = get(c, ST_GEN_GET);
    if (s == NULL)
        return get_fail(c);
    g = s->pg;
    early = early && pre_pending(c) && c->pg->begin != NULL && c->pg->last_gen > 0;
    if (early)
        c->pg->begin = NULL;
    rc = stmt_exec(c, g);
    if (rc < 0) {
        pgs_done(g);
        return rc;
    }
    if (md_libpq.PQresultStatus(g->res) != PGRES_TUPLES_OK || md_libpq.PQntuples(g->res) != 1) {
        rc = md_libpq.PQresultStatus(g->res) == PGRES_TUPLES_OK ? -EIO
                                                                 : pg_res_errno(c, g->res, "");
        if (rc == -EIO && c->err[0] == '\0')
            pg_set_err(c, "", "the policy_gen counter row is missing");
        pgs_done(g);
        return rc;
    }
    c->pg->gen = res_i64(g->res, 0, 0);
    if (early && c->pg->gen != c->pg->last_gen) {
        pgs_done(g);
        pg_snapshot_forget(c);
        c->pg->begin = PG_SNAPSHOT_BEGIN;
        c->pg->pre = pre; /* still bound */
        c->pg->last_gen = c->pg->gen;
        return snap_gen_read(c, false);
    }
    c->pg->committed = early;
    c->pg->last_gen = c->pg->gen;
    c->pg->gen_res = g->res;
    g->res = NULL;
    return 0;
}

static int
snap_gen(struct md_conn *c)
{
    return c->pg->gen_res != NULL ? 0 : snap_gen_read(c, true);
}

/* A statement must run in a snapshot whose transaction snap_gen() ended:
 * another transaction, whose policy generation must be the first's, or
 * the rows already answered may not go with what it reads (-EAGAIN: the
 * client is told to slow down and try again). */
static int
reopen(struct md_conn *c)
{
    int64_t gen = c->pg->gen;
    int rc;

    md_libpq.PQclear(c->pg->gen_res);
    c->pg->gen_res = NULL;
    c->pg->committed = false;
    c->pg->begin = PG_SNAPSHOT_BEGIN;
    rc = snap_gen_read(c, false);
    if (rc == 0 && c->pg->gen != gen) {
        pg_set_err(c, "", "the policy generation changed during the request");
        rc = -EAGAIN;
    }
    return rc;
}

void
pg_pre_forget(struct md_conn *c)
{
    md_libpq.PQclear(c->pg->pre_res);
    c->pg->pre_res = NULL;
    c->pg->pre = NULL;
}

void
pg_snapshot_forget(struct md_conn *c)
{
    if (c->pg == NULL)
        return;
    md_libpq.PQclear(c->pg->gen_res);
    c->pg->gen_res = NULL;
    pg_pre_forget(c);
    c->pg->committed = false;
}

/* p's parameters as one key: a NULL flag, a length and the bytes of each.
 * false if they do not fit in cap. */
static bool
cache_key(const struct pg_stmt *p, char *out, size_t cap, size_t *n)
{
    *n = 0;
    for (int i = 0; i < p->nparams; i++) {
        uint32_t len = p->val[i] != NULL ? (uint32_t)p->len[i] : 0;

        if (*n + 1 + sizeof(len) + len > cap)
            return false;
        out[(*n)++] = p->val[i] != NULL;
        memcpy(out + *n, &len, sizeof(len));
        *n += sizeof(len);
        memcpy(out + *n, p->val[i], len);
        *n += len;
    }
    return true;
}

static struct pg_cached *
cache_find(struct pg_stmt *p, const char *key, size_t n)
{
    for (int i = 0; i < p->n_cache; i++)
        if (p->cache[i].key_n == n && memcmp(p->cache[i].key, key, n) == 0)
            return &p->cache[i];
    return NULL;
}

/* Keeps p's fresh result under key (which p then borrows). */
static void
cache_put(struct md_conn *c, struct pg_stmt *p, const char *key, size_t n)
{
    struct pg_cached *e = cache_find(p, key, n);

    if (e == NULL) {
        if (p->cache == NULL)
            p->cache = xcalloc(PG_CACHE_N, sizeof(*p->cache));
        if (p->n_cache < PG_CACHE_N) {
            e = &p->cache[p->n_cache++];
        } else {
            e = &p->cache[p->next_evict];
            p->next_evict = (p->next_evict + 1) % PG_CACHE_N;
        }
        free(e->key);
        e->key = xmalloc(n > 0 ? n : 1);
        memcpy(e->key, key, n);
        e->key_n = n;
    }
    md_libpq.PQclear(e->res);
    e->res = p->res;
    e->gen = c->pg->gen;
    p->borrowed = true;
}

/* Answers p from the cache or the snapshot's generation row: true with
 * p->res set (borrowed), false to run it; *rc < 0 when the generation
 * could not be read. Fills key for cache_put(). */
static bool
cache_answer(struct md_conn *c, struct pg_stmt *p, char *key, size_t cap, size_t *n, int *rc)
{
    struct pg_cached *e;

    *rc = 0;
    *n = SIZE_MAX;
    if (p->id != ST_GEN_GET && !cacheable(p->id))
        return false;
    if (!c->in_snapshot || c == c->md->wconn)
        return false;
    *rc = snap_gen(c);
    if (*rc < 0)
        return false;
    if (p->id == ST_GEN_GET) {
        p->res = c->pg->gen_res;
    } else {
        if (!cache_key(p, key, cap, n)) {
            *n = SIZE_MAX;
            return false;
        }
        e = cache_find(p, key, *n);
        if (e == NULL || e->gen != c->pg->gen)
            return false;
        p->res = e->res;
    }
    p->borrowed = true;
    return true;
}

int
pgs_step(struct md_conn *c, struct pg_stmt *p)
{
    int rc;

    if (p->res == NULL) {
        ExecStatusType st;
        char key[512];
        size_t key_n;

        if (cache_answer(c, p, key, sizeof(key), &key_n, &rc)) {
            p->nrows = md_libpq.PQntuples(p->res);
            p->row = -1;
            goto next_row;
        }
        if (rc == 0 && !pre_take(c, p)) {
            if (c->pg->committed && c->in_snapshot)
                rc = reopen(c);
            if (rc == 0)
                rc = stmt_exec(c, p);
        }
        if (rc == -EBUSY && once_more(c, p))
            rc = stmt_exec(c, p);
        if (rc < 0) {
            pgs_done(p);
            return rc;
        }
        st = md_libpq.PQresultStatus(p->res);
        if (st == PGRES_COMMAND_OK) {
            c->changes = strtoll(md_libpq.PQcmdTuples(p->res), NULL, 10);
            if (p->dup_eexist && c->changes == 0) {
                pg_set_err(c, "", "duplicate key (ON CONFLICT DO NOTHING inserted no row)");
                pgs_done(p);
                return -EEXIST;
            }
            return 0;
        }
        if (st != PGRES_TUPLES_OK) {
            rc = pg_res_errno(c, p->res, "");
            pgs_done(p);
            return rc;
        }
        p->nrows = md_libpq.PQntuples(p->res);
        c->changes = strtoll(md_libpq.PQcmdTuples(p->res), NULL, 10);
        if (key_n != SIZE_MAX)
            cache_put(c, p, key, key_n);
        if (p->ret_id) {
            if (p->nrows == 0 && p->dup_eexist) {
                pg_set_err(c, "", "duplicate key (ON CONFLICT DO NOTHING inserted no row)");
                pgs_done(p);
                return -EEXIST;
            }
            c->last_id = p->nrows > 0 ? res_i64(p->res, 0, 0) : 0;
            p->row = p->nrows;
            return 0;
        }
        p->row = -1;
    }
next_row:
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
    if (p->res == NULL || p->row < 0 || p->row >= p->nrows || i >= md_libpq.PQnfields(p->res))
        return true;
    return md_libpq.PQgetisnull(p->res, p->row, i) != 0;
}

int64_t
pgs_col_i64(struct pg_stmt *p, int i)
{
    if (pgs_col_null(p, i))
        return 0;
    return res_i64(p->res, p->row, i);
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
    Oid t;

    if (pgs_col_null(p, i))
        return str_make(NULL, 0);
    v = md_libpq.PQgetvalue(p->res, p->row, i);
    n = (size_t)md_libpq.PQgetlength(p->res, p->row, i);
    t = md_libpq.PQftype(p->res, i);
    if (md_libpq.PQfformat(p->res, i) == 1 && t != BYTEA_OID && t != TEXT_OID) {
        /* a binary integer read as text: its decimal digits */
        if (p->decoded == NULL)
            p->decoded = xcalloc((size_t)md_libpq.PQnfields(p->res), sizeof(*p->decoded));
        if (p->decoded[i] == NULL) {
            p->decoded[i] = xmalloc(24);
            snprintf(p->decoded[i], 24, "%" PRId64, res_i64(p->res, p->row, i));
        }
        return str_make(p->decoded[i], strlen(p->decoded[i]));
    }
    if (t != BYTEA_OID || md_libpq.PQfformat(p->res, i) == 1)
        return str_make(v, n);
    /* bytea as text: \x and two hex digits a byte (bytea_output = hex). */
    if (n < 2 || v[0] != '\\' || v[1] != 'x')
        return str_make(NULL, 0);
    if (p->decoded == NULL)
        p->decoded = xcalloc((size_t)md_libpq.PQnfields(p->res), sizeof(*p->decoded));
    if (p->decoded[i] == NULL) {
        d = xmalloc((n - 2) / 2 + 1);
        for (size_t k = 0; k + 1 < n - 2; k += 2)
            d[k / 2] = (char)(hexval(v[2 + k]) << 4 | hexval(v[3 + k]));
        p->decoded[i] = d;
    }
    return str_make(p->decoded[i], (n - 2) / 2);
}


/* md_version_prefetch(): the version read is bound now and sent with the
 * next statement (pending_run()). pre_take() hands its result only to the
 * same statement with the same parameters, in the same snapshot or job
 * with nothing run in between: a wrong guess is never an answer. */
void
pg_version_prefetch(struct md_conn *c, int64_t bucket_id, struct str key, struct str version_id)
{
    struct stmt *v;

    /* A reader's snapshot past its first round trip has nothing to gain. */
    if (c->pg->pre != NULL || (c != c->md->wconn && c->pg->begin == NULL))
        return;
    v = get(c, version_id.p != NULL ? ST_V_GET_VID : ST_V_GET_LATEST);
    if (v == NULL || !v->pg->prepared)
        return; /* prepared at its first run, outside a pipeline */
    if (bind_i64(v, 1, bucket_id) | bind_str(v, 2, key) |
        (version_id.p != NULL ? bind_str(v, 3, version_id) : 0)) {
        done(v);
        return;
    }
    c->pg->pre = v->pg;
}

/* The row cache's entry for the bucket named name, whatever generation it
 * was read under. */
int64_t
pg_kept_bucket_id(struct md_conn *c, struct str name)
{
    struct stmt *b = get(c, ST_BKT_GET);
    struct pg_cached *e = NULL;
    int64_t id = 0;
    char k[512];
    size_t n;

    if (b == NULL)
        return 0;
    if (bind_str(b, 1, name) == 0 && cache_key(b->pg, k, sizeof(k), &n))
        e = cache_find(b->pg, k, n);
    if (e != NULL && md_libpq.PQntuples(e->res) == 1)
        id = res_i64(e->res, 0, 0); /* BCOLS: id first */
    done(b);
    return id;
}
