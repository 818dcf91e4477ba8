/* md_pg_int.h -- private to md_pg.c (connections, transactions, the schema,
 * the backend table) and md_pg_stmt.c (the statements: translation,
 * preparing, parameters, the pipeline, results): the libpq table, the
 * per-connection and per-statement state, and the calls each file makes of
 * the other. */
#ifndef COFFER_STORE_MD_PG_INT_H
#define COFFER_STORE_MD_PG_INT_H

#include "store/md_int.h"
#include "store/health.h"
#include "util/metrics.h"

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#define PG_MAX_PARAMS 24
#define BOOL_OID 16
#define BYTEA_OID 17
#define INT8_OID 20
#define INT2_OID 21
#define INT4_OID 23
#define TEXT_OID 25

/* The libpq calls Coffer makes, loaded with dlopen() (md_pg.c). */
#define PQ_FNS(X)                                                                                  \
    X(PQclear)                                                                                     \
    X(PQcmdTuples)                                                                                 \
    X(PQdescribePrepared)                                                                          \
    X(PQconnectdbParams)                                                                           \
    X(PQenterPipelineMode)                                                                         \
    X(PQerrorMessage)                                                                              \
    X(PQexec)                                                                                      \
    X(PQexitPipelineMode)                                                                          \
    X(PQflush)                                                                                     \
    X(PQexecPrepared)                                                                              \
    X(PQfformat)                                                                                   \
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

struct md_pq {
#define X(f) __typeof__(f) *f;
    PQ_FNS(X)
#undef X
};
extern struct md_pq md_libpq;

/* Transaction control is deferred and sent in one pipeline with the next
 * statement (md_pg_stmt.c): a transaction's BEGIN, a job's RELEASE of the
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
    /* In a read snapshot, once a cached statement ran: its policy_gen row
     * (ST_GEN_GET's result) and value (md_pg_stmt.c's row cache). */
    PGresult *gen_res;
    int64_t gen;
    /* A read snapshot's COMMIT was sent and its result not read yet
     * (pg_drain()). */
    bool commit_sent;
    /* The writer's statements sent without waiting (pgs_exec_nowait()):
     * queries in the open pipeline whose results are not read yet; bit i
     * of deferred_inserts: the i-th is an INSERT that must insert a row. */
    int deferred;
    uint64_t deferred_inserts;
    /* md_version_prefetch(): a statement, bound, to send in the pipeline
     * of the next one (a reader's snapshot's first); then its result, kept
     * with the parameters it was sent with (cache_key()) until a run of
     * the same statement with the same parameters takes it, the snapshot
     * or write job ends, or (the writer) another statement runs. */
    struct pg_stmt *pre;
    PGresult *pre_res;
    size_t pre_key_n;
    char pre_key[1200]; /* an S3 key is 1,024 bytes at most */
    /* The snapshot's first round trip was its whole transaction
     * (snap_gen()): what it read stays valid for the snapshot; a statement
     * that must still run opens another. */
    bool committed;
    int64_t last_gen; /* the policy generation the last snapshot read; 0: none */
};

#define PG_SNAPSHOT_BEGIN "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

/* One round trip of kind (md_round_trips' label: a static string). */
static inline void
trip(const char *kind)
{
    mx_add(&md_round_trips, kind, NULL, 1);
}

/* A result kept by the row cache: the statement's parameters (key), and
 * the policy generation of the snapshot it was read in. */
struct pg_cached {
    char *key;
    size_t key_n;
    int64_t gen;
    PGresult *res;
};
#define PG_CACHE_N 32 /* results kept per statement and connection */

/* One prepared statement: its parameters, then its result being read. */
struct pg_stmt {
    enum st id;
    bool prepared; /* on the connection's current session (a reset clears it) */
    char name[12];
    int nparams;
    bool ret_id; /* PostgreSQL's text has RETURNING id: last_id() */
    bool binary; /* its results come in binary (every column's type allows it) */
    bool dup_eexist; /* a plain INSERT given ON CONFLICT DO NOTHING: no row is -EEXIST */
    char *val[PG_MAX_PARAMS];
    int len[PG_MAX_PARAMS];
    int fmt[PG_MAX_PARAMS];
    char *own[PG_MAX_PARAMS]; /* the NUL-ended copies val points into */
    size_t own_cap[PG_MAX_PARAMS];
    PGresult *res;
    bool borrowed; /* res is the cache's or the connection's: not cleared by pgs_done() */
    int row, nrows;
    char **decoded; /* bytea columns of the current row, decoded on demand */
    struct pg_cached *cache; /* a cached statement's kept results */
    int n_cache, next_evict;
};

/* md_pg.c */
void pg_set_err(struct md_conn *c, const char *what, const char *msg);
/* A failed result (or, r NULL, the connection's error) as -errno (md.h's
 * meanings), its message in c->err; sets c->retry and c->gone. */
int pg_res_errno(struct md_conn *c, const PGresult *r, const char *what);
/* Resets a connection that went bad, outside any transaction of its: 0 if
 * c can be used, else -EBUSY. */
int pg_conn_ready(struct md_conn *c);
/* Reads the result of a snapshot's COMMIT sent earlier, if any: before
 * anything else is sent on c. */
void pg_drain(struct md_conn *c);

/* md_pg_stmt.c */
/* Reads the results of the writer's deferred statements: 0, or the first
 * one's error (-errno; the transaction is then doomed: c->retry, or c->gone
 * without a connection). With sql, it is sent in the same pipeline first
 * and *res gets its result (the group's COMMIT: no round trip of its own). */
int pg_deferred_sync(struct md_conn *c, const char *sql, PGresult **res);
struct stmt *pg_prepare(struct md_conn *c, enum st id); /* struct md_backend's prepare */
/* struct md_backend's version_prefetch and kept_bucket_id */
void pg_version_prefetch(struct md_conn *c, int64_t bucket_id, struct str key,
                         struct str version_id);
int64_t pg_kept_bucket_id(struct md_conn *c, struct str name);
/* Drops what md_version_prefetch() left: at a write job's start and end. */
void pg_pre_forget(struct md_conn *c);
void pg_stmts_unprepare(struct md_conn *c); /* after a reset: prepared again at next use */
void pg_stmts_free(struct md_conn *c);
/* At the end of a read snapshot: its policy generation is forgotten. */
void pg_snapshot_forget(struct md_conn *c);

#endif
