/* md.c -- the metadata store on SQLite: connections, the group-commit writer
 * thread, schema migration, the master key, and the row-level functions of
 * md.h. Every SQL statement lives in the table below and is prepared once per
 * connection. S3 semantics (which version to delete, markers, versioning
 * states) belong to core/, not here. */
#include "common.h"
#include "store/md.h"
#include "crypto/seal.h"
#include "store/md_int.h"
#include "store/md_schema.h"
#include "store/space.h"
#include "util/buf.h"
#include "util/enc.h"
#include "util/log.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#define BUSY_TIMEOUT_MS 10000 /* readers; the writer's waits are slices of lock_wait_ms */
#define LOCK_WAIT_MS 30000    /* default md_set_lock_wait(): the admin CLI's */
#define SECRET_MAX 1024
#define AUDIT_FIELD_MAX 4096 /* longer audit strings are cut (bounds.h keeps them shorter) */

/* Columns of a version row in struct md_version order; inline_data last so
 * listings can leave it out. */
#define VCOLS                                                                                      \
    "seq, bucket_id, key, version_id, is_latest, is_dm, size, mtime_ms, owner_id, etag, "          \
    "content_type, meta, checksum_algo, checksum_value, blob_id, parts_count"
#define LIST_OBJ(lo, hi)                                                                           \
    "SELECT " VCOLS " FROM versions INDEXED BY versions_latest "                                   \
    "WHERE bucket_id = ?1 AND is_latest = 1 AND is_dm = 0 AND key " lo " ?2" hi                    \
    " ORDER BY key LIMIT ?4"
/* VCOLS with what a version listing does not show left empty (same column
 * positions, read by row_version()): all of it comes from the index. */
#define LVCOLS                                                                                     \
    "seq, bucket_id, key, version_id, is_latest, is_dm, size, mtime_ms, owner_id, etag, "          \
    "'', '', checksum_algo, '', NULL, parts_count"
#define LIST_VER(lo, hi)                                                                           \
    "SELECT " LVCOLS " FROM versions INDEXED BY versions_key_seq "                                 \
    "WHERE bucket_id = ?1 AND key " lo " ?2" hi " ORDER BY key, seq DESC LIMIT ?4"
#define HI " AND key < ?3"

/* Every statement md.c runs: X(name, sql). */
#define MD_STMTS(X)                                                                                \
    X(BEGIN, "BEGIN IMMEDIATE")                                                                    \
    X(COMMIT, "COMMIT")                                                                            \
    X(BEGIN_READ, "BEGIN DEFERRED")                                                                \
    X(ROLLBACK, "ROLLBACK")                                                                        \
    X(SAVEPOINT, "SAVEPOINT job")                                                                  \
    X(RELEASE, "RELEASE job")                                                                      \
    X(ROLLBACK_TO, "ROLLBACK TO job")                                                              \
    X(ACCT_INSERT, "INSERT INTO accounts (name, canonical_id, created_ms) VALUES (?1, ?2, ?3)")    \
    X(ACCT_GET, "SELECT id, name, canonical_id, created_ms FROM accounts WHERE id = ?1")           \
    X(ACCT_GET_NAME, "SELECT id, name, canonical_id, created_ms FROM accounts WHERE name = ?1")    \
    X(ACCT_LIST, "SELECT id, name, canonical_id, created_ms FROM accounts ORDER BY id")            \
    X(ACCT_HAS_BUCKETS, "SELECT 1 FROM buckets WHERE account_id = ?1 LIMIT 1")                     \
    X(ACCT_DEL_KEYS, "DELETE FROM keys WHERE account_id = ?1")                                     \
    X(ACCT_DEL_USERS, "DELETE FROM users WHERE account_id = ?1")                                   \
    X(ACCT_DEL_MFA, "DELETE FROM mfa_devices WHERE account_id = ?1")                               \
    X(ACCT_DELETE, "DELETE FROM accounts WHERE id = ?1")                                           \
    X(KEY_INSERT, "INSERT INTO keys (access_key_id, account_id, user_id, secret_sealed, "          \
                  "created_ms, is_active, session_token_sha256, expires_ms, mfa_auth_ms) "         \
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")                                   \
    X(KEY_GET, "SELECT " KCOLS ", secret_sealed FROM keys WHERE access_key_id = ?1")               \
    X(KEY_LIST, "SELECT " KCOLS " FROM keys WHERE account_id = ?1 ORDER BY access_key_id")         \
    X(KEY_ANY, "SELECT 1 FROM keys LIMIT 1")                                                       \
    X(KEY_DELETE, "DELETE FROM keys WHERE access_key_id = ?1")                                     \
    X(KEY_PURGE, "DELETE FROM keys WHERE expires_ms > 0 AND expires_ms <= ?1")                     \
    X(USER_INSERT, "INSERT INTO users (account_id, name, created_ms) VALUES (?1, ?2, ?3)")         \
    X(USER_GET, "SELECT " UCOLS " FROM users WHERE id = ?1")                                       \
    X(USER_GET_NAME, "SELECT " UCOLS " FROM users WHERE account_id = ?1 AND name = ?2")            \
    X(USER_LIST, "SELECT " UCOLS " FROM users WHERE account_id = ?1 ORDER BY name")                \
    X(USER_IN_ACCT, "SELECT 1 FROM users WHERE id = ?1 AND account_id = ?2")                       \
    X(USER_HAS_MFA, "SELECT 1 FROM mfa_devices WHERE account_id = ?1 AND user_id = ?2 LIMIT 1")    \
    X(USER_DEL_KEYS, "DELETE FROM keys WHERE account_id = ?1 AND user_id = ?2")                    \
    X(USER_DELETE, "DELETE FROM users WHERE id = ?1")                                              \
    X(MFA_INSERT, "INSERT INTO mfa_devices (account_id, user_id, serial, name, path, is_virtual, " \
                  "is_enabled, seed_sealed, created_ms, enabled_ms, last_step, offset_steps, "     \
                  "fail_start_s, fail_count, owner_id) "                                           \
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)")     \
    X(MFA_GET, "SELECT " MCOLS ", seed_sealed FROM mfa_devices WHERE serial = ?1")                 \
    X(MFA_LIST_ALL, "SELECT " MCOLS " FROM mfa_devices WHERE account_id = ?1 ORDER BY serial")     \
    X(MFA_LIST_OWNER, "SELECT " MCOLS " FROM mfa_devices WHERE account_id = ?1 AND user_id = ?2 "  \
                      "ORDER BY serial")                                                           \
    X(MFA_SET_STATE, "UPDATE mfa_devices SET last_step = ?2, offset_steps = ?3, "                  \
                     "fail_start_s = ?4, fail_count = ?5 WHERE id = ?1")                           \
    X(MFA_ENABLE, "UPDATE mfa_devices SET is_enabled = 1, user_id = ?2, owner_id = ?2, "           \
                  "enabled_ms = ?3 "                                                               \
                  "WHERE id = ?1 AND (?2 = 0 OR EXISTS (SELECT 1 FROM users WHERE users.id = ?2 "  \
                  "AND users.account_id = mfa_devices.account_id))")                               \
    X(MFA_DISABLE, "UPDATE mfa_devices SET is_enabled = 0, user_id = -1, enabled_ms = 0 "          \
                   "WHERE id = ?1")                                                                \
    X(MFA_DELETE, "DELETE FROM mfa_devices WHERE id = ?1")                                         \
    X(AUDIT_INSERT, "INSERT INTO audit (time_ms, event, principal, bucket, key, version_id, "      \
                    "source, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")                     \
    X(AUDIT_LIST, "SELECT id, time_ms, event, principal, bucket, key, version_id, source, detail " \
                  "FROM audit WHERE id > ?1 ORDER BY id LIMIT ?2")                                 \
    X(BKT_INSERT, "INSERT INTO buckets (name, account_id, region, created_ms) "                    \
                  "VALUES (?1, ?2, ?3, ?4)")                                                       \
    X(BKT_GET, "SELECT " BCOLS " FROM buckets WHERE name = ?1")                                    \
    X(BKT_LIST_ALL, "SELECT " BCOLS " FROM buckets ORDER BY name")                                 \
    X(BKT_LIST_ACCT, "SELECT " BCOLS " FROM buckets WHERE account_id = ?1 ORDER BY name")          \
    X(BKT_HAS_VERSIONS, "SELECT 1 FROM versions WHERE bucket_id = ?1 LIMIT 1")                     \
    X(BKT_DELETE, "DELETE FROM buckets WHERE id = ?1")                                             \
    X(BKT_SET_VER, "UPDATE buckets SET versioning = ?2, mfa_delete = ?3 WHERE id = ?1")            \
    X(BKT_SET_LC, "UPDATE buckets SET lifecycle = ?2 WHERE id = ?1")                               \
    X(V_NEXT_SEQ, "SELECT max(coalesce((SELECT seq FROM sqlite_sequence "                          \
                  "WHERE name = 'versions'), 0), coalesce((SELECT max(seq) FROM versions), 0))")   \
    X(V_INSERT, "INSERT INTO versions (seq, bucket_id, key, version_id, is_latest, is_dm, size, "  \
                "mtime_ms, owner_id, etag, content_type, meta, checksum_algo, checksum_value, "    \
                "blob_id, inline_data, parts_count) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?8, "   \
                "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)")                                          \
    X(V_UNLATEST, "UPDATE versions SET is_latest = 0 WHERE seq = (SELECT seq FROM versions "       \
                  "WHERE bucket_id = ?1 AND key = ?2 AND seq < ?3 ORDER BY seq DESC LIMIT 1)")     \
    X(V_GET_LATEST, "SELECT " VCOLS ", inline_data FROM versions WHERE bucket_id = ?1 "            \
                    "AND key = ?2 ORDER BY seq DESC LIMIT 1")                                      \
    X(V_GET_VID, "SELECT " VCOLS ", inline_data FROM versions WHERE bucket_id = ?1 "               \
                 "AND key = ?2 AND version_id = ?3")                                               \
    X(V_PROMOTE, "UPDATE versions SET is_latest = 1 WHERE seq = (SELECT n.seq FROM versions d "    \
                 "JOIN versions n ON n.bucket_id = d.bucket_id AND n.key = d.key "                 \
                 "AND n.seq < d.seq WHERE d.seq = ?1 AND d.is_latest = 1 "                         \
                 "ORDER BY n.seq DESC LIMIT 1)")                                                   \
    X(V_DELETE, "DELETE FROM versions WHERE seq = ?1")                                             \
    X(V_COUNT, "SELECT count(*) FROM versions WHERE bucket_id = ?1")                               \
    X(BLOB_REF, "SELECT 1 FROM versions WHERE blob_id = ?1 LIMIT 1")                               \
    X(LO_GT_HI, LIST_OBJ(">", HI))                                                                 \
    X(LO_GE_HI, LIST_OBJ(">=", HI))                                                                \
    X(LO_GT, LIST_OBJ(">", ""))                                                                    \
    X(LO_GE, LIST_OBJ(">=", ""))                                                                   \
    X(LV_GT_HI, LIST_VER(">", HI))                                                                 \
    X(LV_GE_HI, LIST_VER(">=", HI))                                                                \
    X(LV_GT, LIST_VER(">", ""))                                                                    \
    X(LV_GE, LIST_VER(">=", ""))                                                                   \
    X(LV_KEY, "SELECT " LVCOLS " FROM versions INDEXED BY versions_key_seq "                        \
              "WHERE bucket_id = ?1 AND key = ?2 AND seq < ?3 ORDER BY seq DESC LIMIT ?4")         \
    X(BLOB_REF_UP, "SELECT 1 FROM upload_parts WHERE blob_id = ?1 LIMIT 1")                        \
    X(BLOB_REF_VP, "SELECT 1 FROM version_parts WHERE blob_id = ?1 LIMIT 1")                       \
    X(UP_INSERT, "INSERT INTO uploads (upload_id, bucket_id, key, initiated_ms, owner_id, "        \
                 "content_type, meta, checksum_algo, checksum_type) "                              \
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")                                    \
    X(UP_GET, "SELECT " UPCOLS " FROM uploads WHERE upload_id = ?1")                               \
    X(UP_LIST_ALL, "SELECT " UPCOLS " FROM uploads WHERE id > ?1 ORDER BY id LIMIT ?2")            \
    X(UL_KEY, "SELECT " UPCOLS " FROM uploads INDEXED BY uploads_key "                             \
              "WHERE bucket_id = ?1 AND key = ?2 AND id > ?3 ORDER BY id LIMIT ?4")                \
    X(UL_GT_HI, LIST_UP(">", HI))                                                                  \
    X(UL_GE_HI, LIST_UP(">=", HI))                                                                 \
    X(UL_GT, LIST_UP(">", ""))                                                                     \
    X(UL_GE, LIST_UP(">=", ""))                                                                    \
    X(UP_TRASH, "INSERT INTO blob_trash (blob_id) SELECT p.blob_id FROM upload_parts p "           \
                "WHERE p.upload = ?1 AND NOT EXISTS (SELECT 1 FROM version_parts v "               \
                "WHERE v.blob_id = p.blob_id)")                                                    \
    X(UP_DEL_PARTS, "DELETE FROM upload_parts WHERE upload = ?1")                                  \
    X(UP_DELETE, "DELETE FROM uploads WHERE id = ?1")                                              \
    X(UP_TRASH_BKT, "INSERT INTO blob_trash (blob_id) SELECT p.blob_id FROM uploads u "            \
                    "JOIN upload_parts p ON p.upload = u.id WHERE u.bucket_id = ?1")               \
    X(UP_DEL_PARTS_BKT, "DELETE FROM upload_parts WHERE upload IN "                                \
                        "(SELECT id FROM uploads WHERE bucket_id = ?1)")                           \
    X(UP_DEL_BKT, "DELETE FROM uploads WHERE bucket_id = ?1")                                      \
    X(PART_TRASH, "INSERT INTO blob_trash (blob_id) SELECT blob_id FROM upload_parts "             \
                  "WHERE upload = ?1 AND part_number = ?2")                                        \
    X(PART_PUT, "INSERT OR REPLACE INTO upload_parts (upload, part_number, size, mtime_ms, "       \
                "blob_id, etag, checksum) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")                    \
    X(PART_LIST, "SELECT " PCOLS " FROM upload_parts WHERE upload = ?1 AND part_number > ?2 "      \
                 "ORDER BY part_number LIMIT ?3")                                                  \
    X(VP_INSERT, "INSERT INTO version_parts (seq, part_number, first_byte, size, mtime_ms, "       \
                 "blob_id, etag, checksum) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")               \
    X(VP_GET, "SELECT " VPCOLS " FROM version_parts WHERE seq = ?1 AND part_number = ?2")          \
    X(VP_AT, "SELECT " VPCOLS " FROM version_parts INDEXED BY version_parts_first_byte "           \
             "WHERE seq = ?1 AND first_byte <= ?2 ORDER BY first_byte DESC LIMIT 1")               \
    X(VP_LIST, "SELECT " VPCOLS " FROM version_parts WHERE seq = ?1 AND part_number > ?2 "         \
               "ORDER BY part_number LIMIT ?3")                                                    \
    X(VP_TRASH, "INSERT INTO blob_trash (blob_id) SELECT blob_id FROM version_parts "              \
                "WHERE seq = ?1")                                                                  \
    X(VP_DELETE, "DELETE FROM version_parts WHERE seq = ?1")                                       \
    X(TRASH_LIST, "SELECT id, blob_id FROM blob_trash WHERE id > 0 ORDER BY id LIMIT ?1")          \
    X(TRASH_DEL, "DELETE FROM blob_trash WHERE id <= ?1")                                          \
    X(TRASH_ANY, "SELECT 1 FROM blob_trash WHERE id > 0 LIMIT 1")

#define BCOLS "id, name, account_id, region, created_ms, versioning, mfa_delete, lifecycle"
#define KCOLS                                                                                      \
    "access_key_id, account_id, user_id, created_ms, is_active, session_token_sha256, "            \
    "expires_ms, mfa_auth_ms"
#define UCOLS "id, account_id, name, created_ms"
#define UPCOLS                                                                                     \
    "id, upload_id, bucket_id, key, initiated_ms, owner_id, content_type, meta, checksum_algo, "   \
    "checksum_type"
#define PCOLS "part_number, 0, size, mtime_ms, blob_id, etag, checksum"
#define VPCOLS "part_number, first_byte, size, mtime_ms, blob_id, etag, checksum"
#define LIST_UP(lo, hi)                                                                            \
    "SELECT " UPCOLS " FROM uploads INDEXED BY uploads_key "                                       \
    "WHERE bucket_id = ?1 AND key " lo " ?2" hi " ORDER BY key, id LIMIT ?4"
#define MCOLS                                                                                      \
    "id, account_id, user_id, serial, name, path, is_virtual, is_enabled, created_ms, "            \
    "enabled_ms, last_step, offset_steps, fail_start_s, fail_count, owner_id"

enum st {
#define X(name, sql) ST_##name,
    MD_STMTS(X)
#undef X
        ST__COUNT
};

static const char *const st_sql[] = {
#define X(name, sql) [ST_##name] = sql,
    MD_STMTS(X)
#undef X
};

struct md_conn {
    struct md *md;
    sqlite3 *db;
    sqlite3_stmt *st[ST__COUNT]; /* prepared on first use, PERSISTENT */
    struct md_conn *prev, *next; /* md->readers */
    char err[256];               /* last SQLite error text */
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

struct md {
    unsigned char master_key[SEAL_KEY_LEN];
    char *db_path;
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

    pthread_key_t tls; /* this thread's reader connection */
    pthread_mutex_t readers_mu;
    struct md_conn *readers;
};

/* ---- connections and statements ---------------------------------------- */

/* SQLite's result code as -errno. A full disk is -ENOSPC when the write
 * that failed leaves nothing behind (SQLITE_FULL: the frame or page was not
 * written); a failed fsync stays -EIO whatever its errno, since the log
 * frames it was to make durable are on disk and a crash before the next
 * commit could still bring them back (md_write's "outcome unknown"). */
static int
errcode(struct md_conn *c, int src)
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

/* The cached statement id on c, prepared on first use; NULL on failure
 * (c->err says why) or when c is NULL (md_reader() failed). */
static sqlite3_stmt *
get(struct md_conn *c, enum st id)
{
    int rc;

    if (c == NULL)
        return NULL;
    if (c->st[id] != NULL)
        return c->st[id];
    rc = sqlite3_prepare_v3(c->db, st_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->st[id], NULL);
    if (rc != SQLITE_OK) {
        (void)errcode(c, rc);
        c->st[id] = NULL;
    }
    return c->st[id];
}

static void
done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Steps s once: 1 for a row, 0 when done, or -errno (then s is reset). */
static int
step(struct md_conn *c, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);

    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    rc = errcode(c, sqlite3_extended_errcode(c->db));
    done(s);
    return rc;
}

/* Runs a statement that returns no rows; always resets it. */
static int
exec(struct md_conn *c, sqlite3_stmt *s)
{
    int rc = step(c, s);

    done(s);
    return rc > 0 ? 0 : rc;
}

static int
exec_id(struct md_conn *c, enum st id)
{
    sqlite3_stmt *s = get(c, id);

    return s ? exec(c, s) : -EIO;
}

/* Binding helpers return SQLite codes so callers can OR them together. */
static int
bind_str(sqlite3_stmt *s, int i, struct str v)
{
    return sqlite3_bind_text64(s, i, v.p ? v.p : "", v.n, SQLITE_STATIC, SQLITE_UTF8);
}

static int
bind_opt(sqlite3_stmt *s, int i, struct str v)
{
    if (v.p == NULL || v.n == 0)
        return sqlite3_bind_null(s, i);
    return bind_str(s, i, v);
}

static int
bind_i64(sqlite3_stmt *s, int i, int64_t v)
{
    return sqlite3_bind_int64(s, i, v);
}

static int
bind_fail(struct md_conn *c, sqlite3_stmt *s)
{
    (void)errcode(c, sqlite3_errcode(c->db));
    done(s);
    return -EIO;
}

/* Text column copied into a: NULL becomes STR_NULL when optional, else "". */
static struct str
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

static struct str
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
static void *
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

static void
conn_close(struct md_conn *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < ARRAY_LEN(c->st); i++)
        sqlite3_finalize(c->st[i]);
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
    rc = sqlite3_exec(c->db,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
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
    int rc, v = -1;

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

/* ---- master key --------------------------------------------------------- */

static int
fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

static int
create_master_key(const char *dir, const char *path)
{
    unsigned char key[SEAL_KEY_LEN];
    int fd, rc = 0;
    ssize_t w;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    if (RAND_bytes(key, sizeof(key)) != 1) {
        rc = -EIO;
        goto out;
    }
    w = write(fd, key, sizeof(key));
    if (w != (ssize_t)sizeof(key)) {
        rc = w < 0 ? -errno : -EIO;
        goto out;
    }
    if (fsync(fd) < 0)
        rc = -errno;
out:
    OPENSSL_cleanse(key, sizeof(key));
    close(fd);
    if (rc == 0)
        rc = fsync_dir(dir);
    if (rc < 0)
        unlink(path);
    return rc;
}

/* Loads DIR/master.key; creates it only when no sealed secret exists yet, so
 * a lost key file is reported instead of silently orphaning every secret. */
static int
load_master_key(struct md *md, const char *dir, bool may_create)
{
    char path[4096];
    struct stat st;
    ssize_t r;
    int fd, rc = 0;

    if ((size_t)snprintf(path, sizeof(path), "%s/master.key", dir) >= sizeof(path))
        return -ENAMETOOLONG;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        if (!may_create) {
            log_error("md: %s is missing but the database holds sealed secrets", path);
            return -ENOKEY;
        }
        rc = create_master_key(dir, path);
        if (rc < 0 && rc != -EEXIST)
            return rc;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size != SEAL_KEY_LEN) {
        log_error("md: %s is not a %d-byte regular file", path, SEAL_KEY_LEN);
        rc = -EINVAL;
        goto out;
    }
    if (st.st_mode & 077) {
        log_error("md: %s is accessible by group or others (mode %03o); chmod 600 it", path,
                  (unsigned)(st.st_mode & 0777));
        rc = -EPERM;
        goto out;
    }
    r = read(fd, md->master_key, SEAL_KEY_LEN);
    if (r != SEAL_KEY_LEN)
        rc = r < 0 ? -errno : -EIO;
out:
    close(fd);
    return rc;
}

/* ---- the writer thread -------------------------------------------------- */

static void
wake(struct md *md, struct job *j, int rc)
{
    pthread_mutex_lock(&md->mu);
    j->rc = rc;
    j->done = true;
    pthread_cond_broadcast(&md->cv_done);
    pthread_mutex_unlock(&md->mu);
}

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

static int
begin(struct md_conn *c, int wait_ms)
{
    return exec_waiting(c, ST_BEGIN, wait_ms);
}

static int
commit(struct md_conn *c, int wait_ms)
{
    int rc = exec_waiting(c, ST_COMMIT, wait_ms);

    if (rc < 0) {
        log_error("md: group commit failed: %s", c->err);
        if (!sqlite3_get_autocommit(c->db))
            (void)exec_id(c, ST_ROLLBACK);
    }
    return rc;
}

/* Moves every job of *pending to *late with result rc. */
static void
settle(struct job **pending, struct job **late, int rc)
{
    struct job *j, *next;

    for (j = *pending; j != NULL; j = next) {
        next = j->link;
        j->rc = rc;
        j->link = *late;
        *late = j;
    }
    *pending = NULL;
}

/* What the jobs of a transaction SQLite gave up on are told. */
static int
lost(struct md_conn *c)
{
    return c->saw_full ? -ENOSPC : -EIO;
}

/* Moves every job queued meanwhile to *late with result rc: after waiting
 * out the lock once, a group does not make the next one wait again. */
static void
fail_queued(struct md *md, struct job **late, int rc)
{
    struct job *j;

    pthread_mutex_lock(&md->mu);
    for (j = md->head; j != NULL; j = j->next) {
        j->rc = rc;
        j->link = *late;
        *late = j;
    }
    md->head = md->tail = NULL;
    pthread_mutex_unlock(&md->mu);
}

/* Runs one group. A job whose fn fails is woken at once (its savepoint is
 * gone, it need not wait for the fsync); the others wait for the COMMIT.
 * A job must not be touched after it is woken: it lives on its caller's
 * stack. If SQLite aborts the whole transaction (I/O error, disk full),
 * everything done in it so far is lost and reported as -EIO or -ENOSPC. */
static void
run_group(struct md *md, struct job *jobs, struct space *sp, int wait_ms)
{
    struct md_conn *c = md->wconn;
    struct job *pending = NULL; /* fn succeeded; fate decided by COMMIT */
    struct job *late = NULL;    /* result decided; woken at the end */
    struct job *j, *next;
    uint64_t n_jobs = 0, n_commits = 0;
    bool in_txn = false;
    int rc;

    /* Before the commit, not after it failed: a delete on a disk that is
     * about to be full commits into the released reserve the first time. */
    space_check(sp);
    c->saw_full = false;
    for (j = jobs; j != NULL; j = j->next)
        n_jobs++;
    for (j = jobs; j != NULL; j = next) {
        next = j->next;
        if (!in_txn) {
            rc = begin(c, wait_ms);
            if (rc < 0) {
                /* Locked out (or broken): fail this job and all after it
                 * rather than wait again for each. */
                for (; j != NULL; j = j->next) {
                    j->rc = rc;
                    j->link = late;
                    late = j;
                }
                if (rc == -EBUSY) {
                    log_warn("md: database write-locked by another process for %d ms; "
                             "failing the waiting writes",
                             wait_ms);
                    fail_queued(md, &late, rc);
                }
                break;
            }
            in_txn = true;
        }
        rc = exec_id(c, ST_SAVEPOINT);
        if (rc == 0) {
            rc = j->fn(c, j->arg);
            if (rc > 0)
                rc = 0;
        } else {
            rc = lost(c);
        }
        if (sqlite3_get_autocommit(c->db)) {
            settle(&pending, &late, lost(c));
            in_txn = false;
            wake(md, j, rc < 0 ? rc : lost(c));
            continue;
        }
        if (rc < 0) {
            if (exec_id(c, ST_ROLLBACK_TO) < 0 || exec_id(c, ST_RELEASE) < 0) {
                settle(&pending, &late, lost(c));
                if (!sqlite3_get_autocommit(c->db))
                    (void)exec_id(c, ST_ROLLBACK);
                in_txn = false;
            }
            wake(md, j, rc);
            continue;
        }
        if (exec_id(c, ST_RELEASE) < 0) {
            j->link = pending;
            pending = j;
            settle(&pending, &late, lost(c));
            if (!sqlite3_get_autocommit(c->db))
                (void)exec_id(c, ST_ROLLBACK);
            in_txn = false;
            continue;
        }
        j->link = pending;
        pending = j;
    }
    if (in_txn) {
        rc = commit(c, wait_ms);
        if (rc == 0)
            n_commits++;
        settle(&pending, &late, rc);
    }
    /* The reserve goes before anyone is woken: the deletes a client sends
     * next must find the room. */
    if (c->saw_full)
        space_exhausted(sp);
    pthread_mutex_lock(&md->mu);
    for (j = late; j != NULL; j = next) {
        next = j->link;
        j->done = true;
    }
    md->n_jobs += n_jobs;
    md->n_commits += n_commits;
    md->n_groups++;
    pthread_cond_broadcast(&md->cv_done);
    pthread_mutex_unlock(&md->mu);
}

static void *
writer_main(void *arg)
{
    struct md *md = arg;
    struct space *sp;
    struct job *jobs;
    int wait_ms;

    pthread_mutex_lock(&md->mu);
    for (;;) {
        while (md->head == NULL && !md->stopping)
            pthread_cond_wait(&md->cv_work, &md->mu);
        if (md->head == NULL)
            break;
        jobs = md->head;
        md->head = md->tail = NULL;
        sp = md->space;
        wait_ms = md->lock_wait_ms;
        pthread_mutex_unlock(&md->mu);
        run_group(md, jobs, sp, wait_ms);
        pthread_mutex_lock(&md->mu);
    }
    pthread_mutex_unlock(&md->mu);
    return NULL;
}

void
md_set_space(struct md *md, struct space *sp)
{
    pthread_mutex_lock(&md->mu);
    md->space = sp;
    pthread_mutex_unlock(&md->mu);
}

void
md_set_lock_wait(struct md *md, int ms)
{
    pthread_mutex_lock(&md->mu);
    md->lock_wait_ms = ms > 0 ? ms : 1;
    pthread_mutex_unlock(&md->mu);
}

int
md_write(struct md *md, md_write_fn fn, void *arg)
{
    struct job j = {.fn = fn, .arg = arg};

    /* A closure calling md_write() would wait for itself forever. */
    ASSERT(!pthread_equal(pthread_self(), md->writer));
    pthread_mutex_lock(&md->mu);
    ASSERT(!md->stopping);
    if (md->tail != NULL)
        md->tail->next = &j;
    else
        md->head = &j;
    md->tail = &j;
    pthread_cond_signal(&md->cv_work);
    while (!j.done)
        pthread_cond_wait(&md->cv_done, &md->mu);
    pthread_mutex_unlock(&md->mu);
    return j.rc;
}

/* ---- open, close, readers ----------------------------------------------- */

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

/* Thread exit: close that thread's read connection. */
static void
reader_dtor(void *p)
{
    struct md_conn *c = p;
    struct md *md = c->md;

    pthread_mutex_lock(&md->readers_mu);
    reader_unlink(md, c);
    pthread_mutex_unlock(&md->readers_mu);
    conn_close(c);
}

struct md_conn *
md_reader(struct md *md)
{
    struct md_conn *c = pthread_getspecific(md->tls);

    if (c != NULL)
        return c;
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

int
md_snapshot_begin(struct md_conn *c)
{
    int rc;

    if (c == NULL)
        return -EIO;
    if (c->in_snapshot)
        return -EALREADY;
    rc = exec_id(c, ST_BEGIN_READ);
    c->in_snapshot = rc == 0;
    return rc;
}

void
md_snapshot_end(struct md_conn *c)
{
    if (c == NULL || !c->in_snapshot)
        return;
    c->in_snapshot = false;
    if (exec_id(c, ST_COMMIT) < 0) /* a read transaction: nothing to lose */
        log_error("md: ending a read snapshot: %s", c->err);
}

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

const char *
md_errmsg(struct md_conn *c)
{
    if (c == NULL)
        return "no database connection";
    return c->err[0] ? c->err : sqlite3_errmsg(c->db);
}

int
md_open(const char *dir, struct md **out)
{
    struct md *md = xcalloc(1, sizeof(*md));
    sqlite3_stmt *s;
    bool has_keys = false;
    int rc;

    /* Before SQLite initialises (later calls fail harmlessly): without the
     * allocation statistics, sqlite3_malloc takes no process-wide mutex,
     * which the event loops and workers would otherwise contend on. */
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

    md->lock_wait_ms = LOCK_WAIT_MS;
    md_fault_install(); /* the test build's VFS; nothing otherwise */
    pthread_mutex_init(&md->mu, NULL);
    pthread_mutex_init(&md->readers_mu, NULL);
    pthread_cond_init(&md->cv_work, NULL);
    pthread_cond_init(&md->cv_done, NULL);
    if (pthread_key_create(&md->tls, reader_dtor) != 0) {
        md->tls = (pthread_key_t)-1;
        rc = -EAGAIN;
        goto fail;
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        rc = -errno;
        goto fail;
    }
    md->db_path = xmalloc(strlen(dir) + sizeof("/meta.db"));
    memcpy(md->db_path, dir, strlen(dir));
    memcpy(md->db_path + strlen(dir), "/meta.db", sizeof("/meta.db"));
    rc = secure_db_files(md->db_path);
    if (rc < 0)
        goto fail;
    rc = conn_open(md, true, &md->wconn);
    if (rc < 0)
        goto fail;
    rc = migrate(md->wconn);
    if (rc < 0)
        goto fail;
    s = get(md->wconn, ST_KEY_ANY);
    rc = s ? step(md->wconn, s) : -EIO;
    if (rc < 0)
        goto fail;
    has_keys = rc > 0;
    done(s);
    rc = load_master_key(md, dir, !has_keys);
    if (rc < 0)
        goto fail;
    rc = -pthread_create(&md->writer, NULL, writer_main, md);
    if (rc < 0)
        goto fail;
    md->has_writer = true;
    *out = md;
    return 0;
fail:
    md_close(md);
    return rc;
}

void
md_close(struct md *md)
{
    if (md == NULL)
        return;
    if (md->has_writer) {
        pthread_mutex_lock(&md->mu);
        md->stopping = true;
        pthread_cond_signal(&md->cv_work);
        pthread_mutex_unlock(&md->mu);
        pthread_join(md->writer, NULL);
    }
    pthread_mutex_lock(&md->readers_mu);
    while (md->readers != NULL) {
        struct md_conn *c = md->readers;

        reader_unlink(md, c);
        conn_close(c);
    }
    pthread_mutex_unlock(&md->readers_mu);
    /* Last: the final connection to close checkpoints the WAL into the
     * database and removes it, which a read-only reader cannot do. */
    conn_close(md->wconn);
    if (md->tls != (pthread_key_t)-1) {
        pthread_setspecific(md->tls, NULL);
        pthread_key_delete(md->tls);
    }
    OPENSSL_cleanse(md->master_key, sizeof(md->master_key));
    pthread_cond_destroy(&md->cv_work);
    pthread_cond_destroy(&md->cv_done);
    pthread_mutex_destroy(&md->readers_mu);
    pthread_mutex_destroy(&md->mu);
    free(md->db_path);
    free(md);
}

/* ---- accounts ----------------------------------------------------------- */

int
md_account_create(struct md_conn *c, struct str name, int64_t now_ms, int64_t *id)
{
    sqlite3_stmt *s = get(c, ST_ACCT_INSERT);
    unsigned char rnd[32];
    char canon[2 * sizeof(rnd) + 1];
    int rc;

    if (s == NULL)
        return -EIO;
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return -EIO;
    hex_encode(rnd, sizeof(rnd), canon);
    if (bind_str(s, 1, name) | bind_str(s, 2, str_make(canon, 2 * sizeof(rnd))) |
        bind_i64(s, 3, now_ms))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0)
        *id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

static void
row_account(sqlite3_stmt *s, struct arena *a, struct md_account *out)
{
    out->id = sqlite3_column_int64(s, 0);
    out->name = col_str(s, 1, a, false);
    out->canonical_id = col_str(s, 2, a, false);
    out->created_ms = sqlite3_column_int64(s, 3);
}

static int
account_get(struct md_conn *c, sqlite3_stmt *s, struct arena *a, struct md_account *out)
{
    int rc = step(c, s);

    if (rc > 0)
        row_account(s, a, out);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

int
md_account_get(struct md_conn *c, int64_t id, struct arena *a, struct md_account *out)
{
    sqlite3_stmt *s = get(c, ST_ACCT_GET);

    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, id))
        return bind_fail(c, s);
    return account_get(c, s, a, out);
}

int
md_account_get_by_name(struct md_conn *c, struct str name, struct arena *a, struct md_account *out)
{
    sqlite3_stmt *s = get(c, ST_ACCT_GET_NAME);

    if (s == NULL)
        return -EIO;
    if (bind_str(s, 1, name))
        return bind_fail(c, s);
    return account_get(c, s, a, out);
}

int
md_account_list(struct md_conn *c, struct arena *a, struct md_account **out, size_t *n)
{
    sqlite3_stmt *s = get(c, ST_ACCT_LIST);
    struct md_account *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return -EIO;
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        row_account(s, a, &arr[(*n)++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

/* Returns 1 if the single-int64-parameter query s yields a row, 0, -errno. */
static int
exists(struct md_conn *c, enum st id, int64_t v)
{
    sqlite3_stmt *s = get(c, id);
    int rc;

    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, v))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc >= 0)
        done(s);
    return rc;
}

/* Runs a one-int64-parameter write; -ENOENT when it changed no row. */
static int
change_i64(struct md_conn *c, enum st id, int64_t v)
{
    sqlite3_stmt *s = get(c, id);
    int rc;

    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, v))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0 && sqlite3_changes(c->db) == 0)
        rc = -ENOENT;
    return rc;
}

/* Runs a write with two int64 parameters; -ENOENT when it changed no row. */
static int
change_i64_2(struct md_conn *c, enum st id, int64_t v1, int64_t v2)
{
    sqlite3_stmt *s = get(c, id);
    int rc;

    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, v1) | bind_i64(s, 2, v2))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0 && sqlite3_changes(c->db) == 0)
        rc = -ENOENT;
    return rc;
}

/* Like exists() with two int64 parameters. */
static int
exists2(struct md_conn *c, enum st id, int64_t v1, int64_t v2)
{
    sqlite3_stmt *s = get(c, id);
    int rc;

    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, v1) | bind_i64(s, 2, v2))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc >= 0)
        done(s);
    return rc;
}

int
md_account_delete(struct md_conn *c, int64_t id)
{
    static const enum st children[] = {ST_ACCT_DEL_KEYS, ST_ACCT_DEL_MFA, ST_ACCT_DEL_USERS};
    int rc = exists(c, ST_ACCT_HAS_BUCKETS, id);

    if (rc != 0)
        return rc > 0 ? -ENOTEMPTY : rc;
    /* Children first (foreign keys). Audit rows stay: they name principals
     * by text, and the log outlives what it describes. */
    for (size_t i = 0; i < ARRAY_LEN(children); i++) {
        rc = change_i64(c, children[i], id);
        if (rc < 0 && rc != -ENOENT)
            return rc;
    }
    return change_i64(c, ST_ACCT_DELETE, id);
}

/* ---- IAM users ---------------------------------------------------------- */

int
md_user_create(struct md_conn *c, int64_t account_id, struct str name, int64_t now_ms, int64_t *id)
{
    sqlite3_stmt *s = get(c, ST_USER_INSERT);
    int rc;

    if (s == NULL)
        return -EIO;
    if (name.n == 0)
        return -EINVAL;
    if (bind_i64(s, 1, account_id) | bind_str(s, 2, name) | bind_i64(s, 3, now_ms))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0)
        *id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

static void
row_user(sqlite3_stmt *s, struct arena *a, struct md_user *out)
{
    out->id = sqlite3_column_int64(s, 0);
    out->account_id = sqlite3_column_int64(s, 1);
    out->name = col_str(s, 2, a, false);
    out->created_ms = sqlite3_column_int64(s, 3);
}

static int
user_get(struct md_conn *c, sqlite3_stmt *s, struct arena *a, struct md_user *out)
{
    int rc = step(c, s);

    if (rc > 0)
        row_user(s, a, out);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

int
md_user_get(struct md_conn *c, int64_t id, struct arena *a, struct md_user *out)
{
    sqlite3_stmt *s = get(c, ST_USER_GET);

    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, id))
        return bind_fail(c, s);
    return user_get(c, s, a, out);
}

int
md_user_get_by_name(struct md_conn *c, int64_t account_id, struct str name, struct arena *a,
                    struct md_user *out)
{
    sqlite3_stmt *s = get(c, ST_USER_GET_NAME);

    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, account_id) | bind_str(s, 2, name))
        return bind_fail(c, s);
    return user_get(c, s, a, out);
}

int
md_user_list(struct md_conn *c, int64_t account_id, struct arena *a, struct md_user **out,
             size_t *n)
{
    sqlite3_stmt *s = get(c, ST_USER_LIST);
    struct md_user *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, account_id))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        row_user(s, a, &arr[(*n)++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

/* 1 if user_id is 0 (root) or a user of account_id, 0 if not, -errno. */
static int
principal_exists(struct md_conn *c, int64_t account_id, int64_t user_id)
{
    if (user_id == 0)
        return 1;
    if (user_id < 0)
        return 0;
    return exists2(c, ST_USER_IN_ACCT, user_id, account_id);
}

int
md_user_delete(struct md_conn *c, int64_t id)
{
    sqlite3_stmt *s = get(c, ST_USER_GET);
    int64_t account_id;
    int rc;

    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, id))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        done(s);
        return -ENOENT;
    }
    account_id = sqlite3_column_int64(s, 1);
    done(s);
    /* AWS: IAM refuses DeleteUser while an MFA device is attached
     * (DeleteConflict); devices are assigned exactly while enabled. */
    rc = exists2(c, ST_USER_HAS_MFA, account_id, id);
    if (rc != 0)
        return rc > 0 ? -ENOTEMPTY : rc;
    rc = change_i64_2(c, ST_USER_DEL_KEYS, account_id, id);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    return change_i64(c, ST_USER_DELETE, id);
}

/* ---- access keys -------------------------------------------------------- */

int
md_key_create(struct md_conn *c, const struct md_key *k)
{
    sqlite3_stmt *s = get(c, ST_KEY_INSERT);
    struct buf sealed;
    int rc;

    if (s == NULL)
        return -EIO;
    /* A session key must expire and carry its token's hash, and only a
     * session key may: an unexpiring key that looked temporary, or a token
     * s3_auth_verify would never check, is worse than an error. */
    if (k->expires_ms < 0 || k->mfa_auth_ms < 0 ||
        (k->expires_ms > 0) != (k->session_token_sha256.n > 0) ||
        (k->expires_ms > 0 && k->session_token_sha256.n != 64))
        return -EINVAL;
    rc = principal_exists(c, k->account_id, k->user_id);
    if (rc <= 0)
        return rc == 0 ? (k->user_id < 0 ? -EINVAL : -ENOENT) : rc;
    /* Expired sessions are dead rows: each new session takes them away, so
     * the table holds about as many sessions as are alive. */
    if (k->expires_ms > 0) {
        sqlite3_stmt *p = get(c, ST_KEY_PURGE);
        if (p == NULL)
            return -EIO;
        if (bind_i64(p, 1, k->created_ms))
            return bind_fail(c, p);
        rc = exec(c, p);
        if (rc < 0)
            return rc;
    }
    buf_init(&sealed, SECRET_MAX + SEAL_OVERHEAD);
    rc = seal(c->md->master_key, k->secret, &sealed);
    if (rc < 0)
        goto out;
    if (bind_str(s, 1, k->access_key_id) | bind_i64(s, 2, k->account_id) |
        bind_i64(s, 3, k->user_id) | sqlite3_bind_blob64(s, 4, sealed.p, sealed.n, SQLITE_STATIC) |
        bind_i64(s, 5, k->created_ms) | bind_i64(s, 6, k->is_active) |
        bind_opt(s, 7, k->session_token_sha256) | bind_i64(s, 8, k->expires_ms) |
        bind_i64(s, 9, k->mfa_auth_ms)) {
        rc = bind_fail(c, s);
        goto out;
    }
    rc = exec(c, s);
out:
    buf_free(&sealed);
    return rc;
}

static void
row_key(sqlite3_stmt *s, struct arena *a, struct md_key *out)
{
    out->access_key_id = col_str(s, 0, a, false);
    out->account_id = sqlite3_column_int64(s, 1);
    out->user_id = sqlite3_column_int64(s, 2);
    out->created_ms = sqlite3_column_int64(s, 3);
    out->is_active = sqlite3_column_int(s, 4) != 0;
    out->session_token_sha256 = col_str(s, 5, a, false);
    out->expires_ms = sqlite3_column_int64(s, 6);
    out->mfa_auth_ms = sqlite3_column_int64(s, 7);
    out->secret = arena_str(a, STR_LIT(""));
}

/* Every authenticated request needs its key's secret, and unsealing it is
 * an AES-GCM decryption, while a key's sealed secret never changes: each
 * thread remembers the last one it unsealed. (The master key that unseals
 * them all is in memory anyway.) */
#define SECRET_MEMO_MAX 256
static _Thread_local struct {
    size_t sealed_n, plain_n;
    unsigned char master[SEAL_KEY_LEN]; /* what unsealed it: tests open others */
    unsigned char sealed[SECRET_MEMO_MAX];
    char plain[SECRET_MEMO_MAX];
} secret_memo;

int
md_key_get(struct md_conn *c, struct str access_key_id, struct arena *a, struct md_key *out)
{
    sqlite3_stmt *s = get(c, ST_KEY_GET);
    struct buf plain;
    struct str sealed;
    int rc;

    if (s == NULL)
        return -EIO;
    if (bind_str(s, 1, access_key_id))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc <= 0) {
        if (rc == 0)
            done(s);
        return rc == 0 ? -ENOENT : rc;
    }
    row_key(s, a, out);
    sealed = str_make(sqlite3_column_blob(s, 8), (size_t)sqlite3_column_bytes(s, 8));
    if (sealed.n > 0 && sealed.n == secret_memo.sealed_n &&
        memcmp(sealed.p, secret_memo.sealed, sealed.n) == 0 &&
        memcmp(c->md->master_key, secret_memo.master, SEAL_KEY_LEN) == 0) {
        out->secret = arena_str(a, str_make(secret_memo.plain, secret_memo.plain_n));
        done(s);
        return 0;
    }
    buf_init(&plain, SECRET_MAX);
    rc = unseal(c->md->master_key, sealed, &plain);
    if (rc == 0 && sealed.n <= SECRET_MEMO_MAX && plain.n <= SECRET_MEMO_MAX) {
        memcpy(secret_memo.master, c->md->master_key, SEAL_KEY_LEN);
        memcpy(secret_memo.sealed, sealed.p, sealed.n);
        secret_memo.sealed_n = sealed.n;
        memcpy(secret_memo.plain, plain.p, plain.n);
        secret_memo.plain_n = plain.n;
    }
    done(s);
    if (rc == 0) {
        out->secret = arena_str(a, buf_str(&plain));
    } else {
        snprintf(c->err, sizeof(c->err), "cannot unseal secret: wrong master.key or tampering");
        rc = -EIO;
    }
    if (plain.p != NULL)
        OPENSSL_cleanse(plain.p, plain.n);
    buf_free(&plain);
    return rc;
}

int
md_key_list(struct md_conn *c, int64_t account_id, struct arena *a, struct md_key **out, size_t *n)
{
    sqlite3_stmt *s = get(c, ST_KEY_LIST);
    struct md_key *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, account_id))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        row_key(s, a, &arr[(*n)++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_key_delete(struct md_conn *c, struct str access_key_id)
{
    sqlite3_stmt *s = get(c, ST_KEY_DELETE);
    int rc;

    if (s == NULL)
        return -EIO;
    if (bind_str(s, 1, access_key_id))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0 && sqlite3_changes(c->db) == 0)
        rc = -ENOENT;
    return rc;
}

/* ---- MFA devices -------------------------------------------------------- */

int
md_mfa_create(struct md_conn *c, struct md_mfa_device *d)
{
    sqlite3_stmt *s = get(c, ST_MFA_INSERT);
    struct str path = d->path.n > 0 ? d->path : STR_LIT("/");
    struct buf sealed;
    int rc;

    if (s == NULL)
        return -EIO;
    if (d->seed.n > MD_MFA_SEED_MAX)
        return -E2BIG;
    if (d->seed.n == 0 || d->serial.n == 0 || d->is_enabled != (d->user_id >= 0) ||
        d->user_id < -1 || d->owner_id < 0)
        return -EINVAL;
    if (d->user_id >= 0)
        d->owner_id = d->user_id;
    if (d->owner_id > 0) {
        rc = principal_exists(c, d->account_id, d->owner_id);
        if (rc <= 0)
            return rc == 0 ? -ENOENT : rc;
    }
    buf_init(&sealed, MD_MFA_SEED_MAX + SEAL_OVERHEAD);
    rc = seal(c->md->master_key, d->seed, &sealed);
    if (rc < 0)
        goto out;
    if (bind_i64(s, 1, d->account_id) | bind_i64(s, 2, d->user_id) | bind_str(s, 3, d->serial) |
        bind_str(s, 4, d->name) | bind_str(s, 5, path) | bind_i64(s, 6, d->is_virtual) |
        bind_i64(s, 7, d->is_enabled) |
        sqlite3_bind_blob64(s, 8, sealed.p, sealed.n, SQLITE_STATIC) |
        bind_i64(s, 9, d->created_ms) | bind_i64(s, 10, d->is_enabled ? d->enabled_ms : 0) |
        bind_i64(s, 11, d->last_step) | bind_i64(s, 12, d->offset_steps) |
        bind_i64(s, 13, d->fail_start_s) | bind_i64(s, 14, d->fail_count) |
        bind_i64(s, 15, d->owner_id)) {
        rc = bind_fail(c, s);
        goto out;
    }
    rc = exec(c, s);
    if (rc == 0)
        d->id = sqlite3_last_insert_rowid(c->db);
out:
    buf_free(&sealed);
    return rc;
}

static void
row_mfa(sqlite3_stmt *s, struct arena *a, struct md_mfa_device *out)
{
    out->id = sqlite3_column_int64(s, 0);
    out->account_id = sqlite3_column_int64(s, 1);
    out->user_id = sqlite3_column_int64(s, 2);
    out->serial = col_str(s, 3, a, false);
    out->name = col_str(s, 4, a, false);
    out->path = col_str(s, 5, a, false);
    out->is_virtual = sqlite3_column_int(s, 6) != 0;
    out->is_enabled = sqlite3_column_int(s, 7) != 0;
    out->created_ms = sqlite3_column_int64(s, 8);
    out->enabled_ms = sqlite3_column_int64(s, 9);
    out->last_step = sqlite3_column_int64(s, 10);
    out->offset_steps = sqlite3_column_int64(s, 11);
    out->fail_start_s = sqlite3_column_int64(s, 12);
    out->fail_count = sqlite3_column_int(s, 13);
    out->owner_id = sqlite3_column_int64(s, 14);
    out->seed = arena_str(a, STR_LIT(""));
}

int
md_mfa_get(struct md_conn *c, struct str serial, struct arena *a, struct md_mfa_device *out)
{
    sqlite3_stmt *s = get(c, ST_MFA_GET);
    struct buf plain;
    int rc;

    if (s == NULL)
        return -EIO;
    if (bind_str(s, 1, serial))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        done(s);
        return -ENOENT;
    }
    row_mfa(s, a, out);
    buf_init(&plain, MD_MFA_SEED_MAX);
    rc = unseal(c->md->master_key,
                str_make(sqlite3_column_blob(s, 15), (size_t)sqlite3_column_bytes(s, 15)), &plain);
    done(s);
    if (rc == 0) {
        out->seed = arena_str(a, buf_str(&plain));
    } else {
        snprintf(c->err, sizeof(c->err), "cannot unseal MFA seed: wrong master.key or tampering");
        rc = -EIO;
    }
    if (plain.p != NULL)
        OPENSSL_cleanse(plain.p, plain.n);
    buf_free(&plain);
    return rc;
}

int
md_mfa_list(struct md_conn *c, int64_t account_id, int64_t user_id, struct arena *a,
            struct md_mfa_device **out, size_t *n)
{
    sqlite3_stmt *s = get(c, user_id < 0 ? ST_MFA_LIST_ALL : ST_MFA_LIST_OWNER);
    struct md_mfa_device *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, account_id) | (user_id < 0 ? 0 : bind_i64(s, 2, user_id)))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        row_mfa(s, a, &arr[(*n)++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_mfa_set_state(struct md_conn *c, int64_t id, int64_t last_step, int64_t offset_steps,
                 int64_t fail_start_s, int fail_count)
{
    sqlite3_stmt *s = get(c, ST_MFA_SET_STATE);
    int rc;

    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, id) | bind_i64(s, 2, last_step) | bind_i64(s, 3, offset_steps) |
        bind_i64(s, 4, fail_start_s) | bind_i64(s, 5, fail_count))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0 && sqlite3_changes(c->db) == 0)
        rc = -ENOENT;
    return rc;
}

int
md_mfa_set_enabled(struct md_conn *c, int64_t id, bool enabled, int64_t user_id, int64_t now_ms)
{
    sqlite3_stmt *s;
    int rc;

    /* Disabling always unassigns: assigned and enabled go together (the
     * table's CHECK), so a deactivated device blocks no DeleteUser. */
    if (!enabled)
        return change_i64(c, ST_MFA_DISABLE, id);
    if (user_id < 0)
        return -EINVAL;
    s = get(c, ST_MFA_ENABLE);
    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, id) | bind_i64(s, 2, user_id) | bind_i64(s, 3, now_ms))
        return bind_fail(c, s);
    /* No row changed: no such device, or user_id is not a user of the
     * device's account. */
    rc = exec(c, s);
    if (rc == 0 && sqlite3_changes(c->db) == 0)
        rc = -ENOENT;
    return rc;
}

int
md_mfa_delete(struct md_conn *c, int64_t id)
{
    return change_i64(c, ST_MFA_DELETE, id);
}

/* ---- audit log ---------------------------------------------------------- */

/* Binds v as TEXT, NULL when absent; cut at AUDIT_FIELD_MAX bytes. */
static int
bind_audit(sqlite3_stmt *s, int i, struct str v)
{
    if (v.p == NULL)
        return sqlite3_bind_null(s, i);
    return bind_str(s, i, str_make(v.p, v.n < AUDIT_FIELD_MAX ? v.n : AUDIT_FIELD_MAX));
}

int
md_audit_append(struct md_conn *c, const struct md_audit *e)
{
    sqlite3_stmt *s = get(c, ST_AUDIT_INSERT);

    if (s == NULL)
        return -EIO;
    if (e->event.n == 0)
        return -EINVAL;
    if (bind_i64(s, 1, e->time_ms) | bind_audit(s, 2, e->event) | bind_audit(s, 3, e->principal) |
        bind_audit(s, 4, e->bucket) | bind_audit(s, 5, e->key) | bind_audit(s, 6, e->version_id) |
        bind_audit(s, 7, e->source) | bind_audit(s, 8, e->detail))
        return bind_fail(c, s);
    return exec(c, s);
}

int
md_audit_list(struct md_conn *c, int64_t after_id, size_t limit, struct arena *a,
              struct md_audit **out, size_t *n)
{
    sqlite3_stmt *s = get(c, ST_AUDIT_LIST);
    struct md_audit *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return -EIO;
    if (limit == 0)
        return 0;
    if (bind_i64(s, 1, after_id) | bind_i64(s, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        struct md_audit *e;

        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        e = &arr[(*n)++];
        e->id = sqlite3_column_int64(s, 0);
        e->time_ms = sqlite3_column_int64(s, 1);
        e->event = col_str(s, 2, a, false);
        e->principal = col_str(s, 3, a, true);
        e->bucket = col_str(s, 4, a, true);
        e->key = col_str(s, 5, a, true);
        e->version_id = col_str(s, 6, a, true);
        e->source = col_str(s, 7, a, true);
        e->detail = col_str(s, 8, a, true);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

/* ---- buckets ------------------------------------------------------------ */

int
md_bucket_create(struct md_conn *c, struct str name, int64_t account_id, struct str region,
                 int64_t now_ms, int64_t *id)
{
    sqlite3_stmt *s = get(c, ST_BKT_INSERT);
    int rc;

    if (s == NULL)
        return -EIO;
    if (bind_str(s, 1, name) | bind_i64(s, 2, account_id) | bind_str(s, 3, region) |
        bind_i64(s, 4, now_ms))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0)
        *id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

static void
row_bucket(sqlite3_stmt *s, struct arena *a, struct md_bucket *out)
{
    out->id = sqlite3_column_int64(s, 0);
    out->name = col_str(s, 1, a, false);
    out->account_id = sqlite3_column_int64(s, 2);
    out->region = col_str(s, 3, a, false);
    out->created_ms = sqlite3_column_int64(s, 4);
    out->versioning = (enum md_versioning)sqlite3_column_int(s, 5);
    out->mfa_delete = (enum md_mfa)sqlite3_column_int(s, 6);
    out->lifecycle = col_str(s, 7, a, true);
}

int
md_bucket_get(struct md_conn *c, struct str name, struct arena *a, struct md_bucket *out)
{
    sqlite3_stmt *s = get(c, ST_BKT_GET);
    int rc;

    if (s == NULL)
        return -EIO;
    if (bind_str(s, 1, name))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0)
        row_bucket(s, a, out);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

int
md_bucket_list(struct md_conn *c, int64_t account_id, struct arena *a, struct md_bucket **out,
               size_t *n)
{
    sqlite3_stmt *s = get(c, account_id ? ST_BKT_LIST_ACCT : ST_BKT_LIST_ALL);
    struct md_bucket *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return -EIO;
    if (account_id && bind_i64(s, 1, account_id))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        row_bucket(s, a, &arr[(*n)++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_bucket_delete(struct md_conn *c, int64_t bucket_id)
{
    static const enum st uploads[] = {ST_UP_TRASH_BKT, ST_UP_DEL_PARTS_BKT, ST_UP_DEL_BKT};
    int rc = exists(c, ST_BKT_HAS_VERSIONS, bucket_id);

    if (rc != 0)
        return rc > 0 ? -ENOTEMPTY : rc;
    /* Trash first, while the part rows still name the blobs. */
    for (size_t i = 0; i < ARRAY_LEN(uploads); i++) {
        rc = change_i64(c, uploads[i], bucket_id);
        if (rc < 0 && rc != -ENOENT)
            return rc;
    }
    return change_i64(c, ST_BKT_DELETE, bucket_id);
}

int
md_bucket_set_versioning(struct md_conn *c, int64_t bucket_id, enum md_versioning v,
                         enum md_mfa mfa)
{
    sqlite3_stmt *s = get(c, ST_BKT_SET_VER);
    int rc;

    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, bucket_id) | bind_i64(s, 2, v) | bind_i64(s, 3, mfa))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0 && sqlite3_changes(c->db) == 0)
        rc = -ENOENT;
    return rc;
}

int
md_bucket_set_lifecycle(struct md_conn *c, int64_t bucket_id, struct str xml)
{
    sqlite3_stmt *s = get(c, ST_BKT_SET_LC);
    int rc;

    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, bucket_id) | (xml.p ? bind_str(s, 2, xml) : sqlite3_bind_null(s, 2)))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0 && sqlite3_changes(c->db) == 0)
        rc = -ENOENT;
    return rc;
}

/* ---- version ids -------------------------------------------------------- */

/* 24 bytes (8-byte big-endian seq || 16 random) as 32 characters, 6 bits
 * each, most significant first. The random part makes ids unguessable; the
 * seq makes md_vid_parse() cheap and ids unique forever. */
static int
vid_make(int64_t seq, char out[MD_VID_LEN + 1])
{
    unsigned char raw[24];

    for (int i = 0; i < 8; i++)
        raw[i] = (unsigned char)((uint64_t)seq >> (56 - 8 * i));
    if (RAND_bytes(raw + 8, 16) != 1)
        return -EIO;
    id64_encode(raw, sizeof(raw), out);
    return 0;
}

int
md_vid_parse(struct str vid, int64_t *seq)
{
    uint64_t v = 0;

    if (str_eq_c(vid, "null")) {
        *seq = 0;
        return 0;
    }
    if (vid.p == NULL || vid.n != MD_VID_LEN)
        return -EINVAL;
    /* The first 8 bytes are the first 64 bits: 10 digits and the top 4 bits
     * of the 11th; the rest only has to be in the alphabet. */
    for (size_t i = 0; i < MD_VID_LEN; i++) {
        int d = id64_digit((unsigned char)vid.p[i]);

        if (d < 0)
            return -EINVAL;
        if (i < 10)
            v = v << 6 | (uint64_t)d;
        else if (i == 10)
            v = v << 4 | (uint64_t)d >> 2;
    }
    if (v == 0 || v > INT64_MAX)
        return -EINVAL;
    *seq = (int64_t)v;
    return 0;
}

/* ---- object versions ---------------------------------------------------- */

static void
row_version(sqlite3_stmt *s, struct arena *a, struct md_version *v, bool with_inline)
{
    v->seq = sqlite3_column_int64(s, 0);
    v->bucket_id = sqlite3_column_int64(s, 1);
    v->key = col_str(s, 2, a, false);
    v->version_id = col_str(s, 3, a, false);
    v->is_latest = sqlite3_column_int(s, 4) != 0;
    v->is_delete_marker = sqlite3_column_int(s, 5) != 0;
    v->size = sqlite3_column_int64(s, 6);
    v->mtime_ms = sqlite3_column_int64(s, 7);
    v->owner_id = sqlite3_column_int64(s, 8);
    v->etag = col_str(s, 9, a, false);
    v->content_type = col_str(s, 10, a, false);
    v->meta = col_str(s, 11, a, false);
    v->checksum_algo = col_str(s, 12, a, false);
    v->checksum_value = col_str(s, 13, a, false);
    v->blob_id = col_str(s, 14, a, false);
    v->parts_count = sqlite3_column_int(s, 15);
    v->inline_data = with_inline ? col_blob(s, 16, a) : STR_NULL;
}

int
md_version_get(struct md_conn *c, int64_t bucket_id, struct str key, struct str version_id,
               struct arena *a, struct md_version *out)
{
    sqlite3_stmt *s = get(c, version_id.p ? ST_V_GET_VID : ST_V_GET_LATEST);
    int rc;

    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, bucket_id) | bind_str(s, 2, key) |
        (version_id.p ? bind_str(s, 3, version_id) : 0))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0)
        row_version(s, a, out, true);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

int
md_version_insert(struct md_conn *c, struct md_version *v, struct arena *a)
{
    sqlite3_stmt *s = get(c, ST_V_NEXT_SEQ);
    struct str vid = v->version_id;
    char gen[MD_VID_LEN + 1];
    int64_t seq;
    int rc;

    if (s == NULL)
        return -EIO;
    /* Only the writer thread inserts, inside BEGIN IMMEDIATE, so reading the
     * high-water mark and inserting above it cannot race. sqlite_sequence
     * remembers deleted maxima, so no seq is ever handed out twice. */
    rc = step(c, s);
    if (rc < 0)
        return rc;
    seq = sqlite3_column_int64(s, 0) + 1;
    done(s);
    if (vid.p == NULL) {
        ASSERT(a != NULL);
        rc = vid_make(seq, gen);
        if (rc < 0)
            return rc;
        vid = str_make(gen, MD_VID_LEN);
    }
    s = get(c, ST_V_INSERT);
    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, seq) | bind_i64(s, 2, v->bucket_id) | bind_str(s, 3, v->key) |
        bind_str(s, 4, vid) | bind_i64(s, 5, v->is_delete_marker) | bind_i64(s, 6, v->size) |
        bind_i64(s, 7, v->mtime_ms) | bind_i64(s, 8, v->owner_id) | bind_str(s, 9, v->etag) |
        bind_str(s, 10, v->content_type) | bind_str(s, 11, v->meta) |
        bind_str(s, 12, v->checksum_algo) | bind_str(s, 13, v->checksum_value) |
        bind_opt(s, 14, v->blob_id) |
        (v->inline_data.p
             ? sqlite3_bind_blob64(s, 15, v->inline_data.p, v->inline_data.n, SQLITE_STATIC)
             : sqlite3_bind_null(s, 15)) |
        bind_i64(s, 16, v->parts_count))
        return bind_fail(c, s);
    /* Insert first, then demote the previous newest: a duplicate version id
     * then fails before anything changed. */
    rc = exec(c, s);
    if (rc < 0)
        return rc;
    s = get(c, ST_V_UNLATEST);
    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, v->bucket_id) | bind_str(s, 2, v->key) | bind_i64(s, 3, seq))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc < 0)
        return rc;
    v->seq = seq;
    v->is_latest = true;
    if (v->version_id.p == NULL)
        v->version_id = arena_str(a, vid);
    return 0;
}

int
md_version_delete(struct md_conn *c, int64_t seq)
{
    /* Promote the next newest first, while the row still says which key it
     * belongs to and whether it is the latest; both steps are one savepoint
     * for the caller. */
    int rc = change_i64(c, ST_V_PROMOTE, seq);

    if (rc < 0 && rc != -ENOENT)
        return rc;
    /* A multipart version's extents: their blobs to the trash, then the
     * rows (the foreign key would refuse the version's deletion first). */
    rc = change_i64(c, ST_VP_TRASH, seq);
    if (rc == 0)
        rc = change_i64(c, ST_VP_DELETE, seq);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    return change_i64(c, ST_V_DELETE, seq);
}

/* bytewise comparison, as SQLite's BINARY collation */
static int
keycmp(struct str a, struct str b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int r = n ? memcmp(a.p, b.p, n) : 0;

    if (r != 0)
        return r;
    return a.n < b.n ? -1 : a.n > b.n;
}

/* The smallest string greater than every string starting with prefix:
 * trailing 0xFF bytes dropped, the last byte incremented. STR_NULL when none
 * exists (empty or all 0xFF): then there is no upper bound. */
static struct str
successor(struct str prefix, struct arena *a)
{
    size_t n = prefix.n;
    char *p;

    while (n > 0 && (unsigned char)prefix.p[n - 1] == 0xff)
        n--;
    if (n == 0)
        return STR_NULL;
    p = arena_strndup(a, prefix.p, n);
    p[n - 1] = (char)((unsigned char)p[n - 1] + 1);
    return str_make(p, n);
}

struct list {
    struct arena *a;
    struct md_version *arr;
    size_t n, cap, limit;
};

/* Binds ?1 bucket, ?2 lower bound, ?3 upper bound (if the statement has
 * it) and ?4 the remaining limit, then appends the rows to l. */
static int
list_run(struct md_conn *c, sqlite3_stmt *s, struct list *l, int64_t bucket_id, struct str lo,
         struct str hi, int64_t seq)
{
    size_t left = l->limit - l->n;
    int rc;

    if (bind_i64(s, 1, bucket_id) | bind_str(s, 2, lo) |
        (hi.p  ? bind_str(s, 3, hi)
         : seq ? bind_i64(s, 3, seq)
               : 0) |
        bind_i64(s, 4, left > INT64_MAX ? INT64_MAX : (int64_t)left))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        l->arr = grow(l->a, l->arr, l->n, &l->cap, sizeof(*l->arr));
        row_version(s, l->a, &l->arr[l->n++], false);
    }
    if (rc < 0)
        return rc;
    done(s);
    return 0;
}

/* Lower bound of a listing: prefix (inclusive) unless after is at or past
 * it. Returns the bound and sets *strict for "key > bound". */
static struct str
lower_bound(struct str prefix, struct str after, bool inclusive, bool *strict)
{
    *strict = false;
    if (after.p == NULL || keycmp(after, prefix) < 0)
        return prefix;
    *strict = !inclusive;
    return after;
}

int
md_list_objects(struct md_conn *c, int64_t bucket_id, struct str prefix, struct str after,
                bool inclusive, size_t limit, struct arena *a, struct md_version **out, size_t *n)
{
    struct list l = {.a = a, .limit = limit};
    struct str pfx = prefix.p ? prefix : STR_LIT("");
    struct str hi = successor(pfx, a), lo;
    sqlite3_stmt *s;
    bool strict;
    int rc = 0;

    *out = NULL;
    *n = 0;
    if (limit == 0)
        return 0;
    lo = lower_bound(pfx, after, inclusive, &strict);
    if (hi.p)
        s = get(c, strict ? ST_LO_GT_HI : ST_LO_GE_HI);
    else
        s = get(c, strict ? ST_LO_GT : ST_LO_GE);
    if (s == NULL)
        return -EIO;
    rc = list_run(c, s, &l, bucket_id, lo, hi, 0);
    if (rc < 0)
        return rc;
    *out = l.arr;
    *n = l.n;
    return 0;
}

int
md_list_versions(struct md_conn *c, int64_t bucket_id, struct str prefix, struct str after_key,
                 bool after_key_inclusive, int64_t after_seq, size_t limit, struct arena *a,
                 struct md_version **out, size_t *n)
{
    struct list l = {.a = a, .limit = limit};
    struct str pfx = prefix.p ? prefix : STR_LIT("");
    struct str hi = successor(pfx, a), lo;
    sqlite3_stmt *s;
    bool strict;
    int rc;

    *out = NULL;
    *n = 0;
    if (limit == 0)
        return 0;
    lo = lower_bound(pfx, after_key, after_key_inclusive, &strict);
    /* First the older versions of after_key itself, when the marker points
     * into the middle of its version list. */
    if (after_key.p && !after_key_inclusive && after_seq > 0 && after_key.n >= pfx.n &&
        memcmp(after_key.p, pfx.p, pfx.n) == 0) {
        s = get(c, ST_LV_KEY);
        if (s == NULL)
            return -EIO;
        rc = list_run(c, s, &l, bucket_id, after_key, STR_NULL, after_seq);
        if (rc < 0)
            return rc;
    }
    if (l.n < limit) {
        if (hi.p)
            s = get(c, strict ? ST_LV_GT_HI : ST_LV_GE_HI);
        else
            s = get(c, strict ? ST_LV_GT : ST_LV_GE);
        if (s == NULL)
            return -EIO;
        rc = list_run(c, s, &l, bucket_id, lo, hi, 0);
        if (rc < 0)
            return rc;
    }
    *out = l.arr;
    *n = l.n;
    return 0;
}

int
md_blob_referenced(struct md_conn *c, struct str blob_id)
{
    static const enum st refs[] = {ST_BLOB_REF, ST_BLOB_REF_UP, ST_BLOB_REF_VP};
    int rc = 0;

    for (size_t i = 0; i < ARRAY_LEN(refs) && rc == 0; i++) {
        sqlite3_stmt *s = get(c, refs[i]);

        if (s == NULL)
            return -EIO;
        if (bind_str(s, 1, blob_id))
            return bind_fail(c, s);
        rc = step(c, s);
        if (rc >= 0)
            done(s);
    }
    return rc;
}

int
md_bucket_count_versions(struct md_conn *c, int64_t bucket_id, int64_t *n)
{
    sqlite3_stmt *s = get(c, ST_V_COUNT);
    int rc;

    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, bucket_id))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc < 0)
        return rc;
    *n = rc > 0 ? sqlite3_column_int64(s, 0) : 0;
    done(s);
    return 0;
}

/* ---- multipart uploads -------------------------------------------------- */

static void
row_upload(sqlite3_stmt *s, struct arena *a, struct md_upload *u)
{
    u->id = sqlite3_column_int64(s, 0);
    u->upload_id = col_str(s, 1, a, false);
    u->bucket_id = sqlite3_column_int64(s, 2);
    u->key = col_str(s, 3, a, false);
    u->initiated_ms = sqlite3_column_int64(s, 4);
    u->owner_id = sqlite3_column_int64(s, 5);
    u->content_type = col_str(s, 6, a, false);
    u->meta = col_str(s, 7, a, false);
    u->checksum_algo = col_str(s, 8, a, false);
    u->checksum_type = col_str(s, 9, a, false);
}

/* PCOLS and VPCOLS share this column order. */
static void
row_part(sqlite3_stmt *s, struct arena *a, struct md_part *p)
{
    p->part_number = sqlite3_column_int(s, 0);
    p->first_byte = sqlite3_column_int64(s, 1);
    p->size = sqlite3_column_int64(s, 2);
    p->mtime_ms = sqlite3_column_int64(s, 3);
    p->blob_id = col_str(s, 4, a, false);
    p->etag = col_str(s, 5, a, false);
    p->checksum = col_str(s, 6, a, false);
}

static int64_t
limit_i64(size_t n)
{
    return n > INT64_MAX ? INT64_MAX : (int64_t)n;
}

int
md_upload_create(struct md_conn *c, struct md_upload *u)
{
    sqlite3_stmt *s = get(c, ST_UP_INSERT);
    int rc;

    if (s == NULL)
        return -EIO;
    if (u->upload_id.n == 0 || u->upload_id.n > MD_UPLOAD_ID_MAX)
        return -EINVAL;
    if (bind_str(s, 1, u->upload_id) | bind_i64(s, 2, u->bucket_id) | bind_str(s, 3, u->key) |
        bind_i64(s, 4, u->initiated_ms) | bind_i64(s, 5, u->owner_id) |
        bind_str(s, 6, u->content_type) | bind_str(s, 7, u->meta) |
        bind_str(s, 8, u->checksum_algo) | bind_str(s, 9, u->checksum_type))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0)
        u->id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

int
md_upload_get(struct md_conn *c, struct str upload_id, struct arena *a, struct md_upload *out)
{
    sqlite3_stmt *s = get(c, ST_UP_GET);
    int rc;

    if (s == NULL)
        return -EIO;
    if (bind_str(s, 1, upload_id))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0)
        row_upload(s, a, out);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

struct up_list {
    struct arena *a;
    struct md_upload *arr;
    size_t n, cap, limit;
};

/* Appends the rows of s (parameters bound, ?4 still open: the remaining
 * limit) to l. */
static int
up_list_run(struct md_conn *c, sqlite3_stmt *s, struct up_list *l)
{
    int rc;

    if (bind_i64(s, 4, limit_i64(l->limit - l->n)))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        l->arr = grow(l->a, l->arr, l->n, &l->cap, sizeof(*l->arr));
        row_upload(s, l->a, &l->arr[l->n++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    return 0;
}

int
md_upload_list(struct md_conn *c, int64_t bucket_id, struct str prefix, struct str after_key,
               bool after_key_inclusive, int64_t after_id, size_t limit, struct arena *a,
               struct md_upload **out, size_t *n)
{
    struct up_list l = {.a = a, .limit = limit};
    struct str pfx = prefix.p ? prefix : STR_LIT("");
    struct str hi = successor(pfx, a), lo;
    sqlite3_stmt *s;
    bool strict;
    int rc;

    *out = NULL;
    *n = 0;
    if (limit == 0)
        return 0;
    lo = lower_bound(pfx, after_key, after_key_inclusive, &strict);
    /* First the newer uploads of after_key itself, when the marker names
     * one of them. */
    if (after_key.p && !after_key_inclusive && after_id > 0 && after_key.n >= pfx.n &&
        memcmp(after_key.p, pfx.p, pfx.n) == 0) {
        s = get(c, ST_UL_KEY);
        if (s == NULL)
            return -EIO;
        if (bind_i64(s, 1, bucket_id) | bind_str(s, 2, after_key) | bind_i64(s, 3, after_id))
            return bind_fail(c, s);
        rc = up_list_run(c, s, &l);
        if (rc < 0)
            return rc;
    }
    if (l.n < limit) {
        if (hi.p)
            s = get(c, strict ? ST_UL_GT_HI : ST_UL_GE_HI);
        else
            s = get(c, strict ? ST_UL_GT : ST_UL_GE);
        if (s == NULL)
            return -EIO;
        if (bind_i64(s, 1, bucket_id) | bind_str(s, 2, lo) | (hi.p ? bind_str(s, 3, hi) : 0))
            return bind_fail(c, s);
        rc = up_list_run(c, s, &l);
        if (rc < 0)
            return rc;
    }
    *out = l.arr;
    *n = l.n;
    return 0;
}

int
md_upload_list_all(struct md_conn *c, int64_t after_id, size_t limit, struct arena *a,
                   struct md_upload **out, size_t *n)
{
    sqlite3_stmt *s = get(c, ST_UP_LIST_ALL);
    struct md_upload *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, after_id) | bind_i64(s, 2, limit_i64(limit)))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        row_upload(s, a, &arr[(*n)++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_upload_delete(struct md_conn *c, int64_t id)
{
    /* Trash first, while the part rows still name the blobs; a part that a
     * completion just moved to version_parts stays live. */
    int rc = change_i64(c, ST_UP_TRASH, id);

    if (rc == 0 || rc == -ENOENT)
        rc = change_i64(c, ST_UP_DEL_PARTS, id);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    return change_i64(c, ST_UP_DELETE, id);
}

int
md_part_put(struct md_conn *c, int64_t upload, const struct md_part *p)
{
    sqlite3_stmt *s;
    int rc = change_i64_2(c, ST_PART_TRASH, upload, p->part_number);

    if (rc < 0 && rc != -ENOENT)
        return rc;
    s = get(c, ST_PART_PUT);
    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, upload) | bind_i64(s, 2, p->part_number) | bind_i64(s, 3, p->size) |
        bind_i64(s, 4, p->mtime_ms) | bind_str(s, 5, p->blob_id) | bind_str(s, 6, p->etag) |
        bind_str(s, 7, p->checksum))
        return bind_fail(c, s);
    /* A vanished upload fails the foreign key: -ENOENT. */
    return exec(c, s);
}

/* Runs a part listing statement: ?1 owner (upload or seq), ?2 after_part,
 * ?3 limit. */
static int
part_list(struct md_conn *c, enum st id, int64_t owner, int after_part, size_t limit,
          struct arena *a, struct md_part **out, size_t *n)
{
    sqlite3_stmt *s = get(c, id);
    struct md_part *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, owner) | bind_i64(s, 2, after_part) | bind_i64(s, 3, limit_i64(limit)))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        row_part(s, a, &arr[(*n)++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_part_list(struct md_conn *c, int64_t upload, int after_part, size_t limit, struct arena *a,
             struct md_part **out, size_t *n)
{
    return part_list(c, ST_PART_LIST, upload, after_part, limit, a, out, n);
}

int
md_version_part_add(struct md_conn *c, int64_t seq, const struct md_part *p)
{
    sqlite3_stmt *s = get(c, ST_VP_INSERT);

    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, seq) | bind_i64(s, 2, p->part_number) | bind_i64(s, 3, p->first_byte) |
        bind_i64(s, 4, p->size) | bind_i64(s, 5, p->mtime_ms) | bind_str(s, 6, p->blob_id) |
        bind_str(s, 7, p->etag) | bind_str(s, 8, p->checksum))
        return bind_fail(c, s);
    return exec(c, s);
}

/* One extent by a (seq, int64) lookup statement. */
static int
part_one(struct md_conn *c, enum st id, int64_t seq, int64_t v, struct arena *a,
         struct md_part *out)
{
    sqlite3_stmt *s = get(c, id);
    int rc;

    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, seq) | bind_i64(s, 2, v))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0)
        row_part(s, a, out);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

int
md_version_part_get(struct md_conn *c, int64_t seq, int part_number, struct arena *a,
                    struct md_part *out)
{
    return part_one(c, ST_VP_GET, seq, part_number, a, out);
}

int
md_version_part_at(struct md_conn *c, int64_t seq, int64_t off, struct arena *a,
                   struct md_part *out)
{
    return part_one(c, ST_VP_AT, seq, off, a, out);
}

int
md_version_part_list(struct md_conn *c, int64_t seq, int after_part, size_t limit, struct arena *a,
                     struct md_part **out, size_t *n)
{
    return part_list(c, ST_VP_LIST, seq, after_part, limit, a, out, n);
}

int
md_trash_take(struct md_conn *c, size_t limit, struct arena *a, struct str **ids, size_t *n)
{
    sqlite3_stmt *s = get(c, ST_TRASH_LIST);
    struct str *arr = NULL;
    size_t cap = 0;
    int64_t last = 0;
    int rc;

    *ids = NULL;
    *n = 0;
    if (s == NULL)
        return -EIO;
    if (bind_i64(s, 1, limit_i64(limit)))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        last = sqlite3_column_int64(s, 0);
        arr[(*n)++] = col_str(s, 1, a, false);
    }
    if (rc < 0)
        return rc;
    done(s);
    /* Rows are taken oldest first, so "id <= last" is exactly those. */
    if (*n > 0) {
        rc = change_i64(c, ST_TRASH_DEL, last);
        if (rc < 0)
            return rc;
    }
    *ids = arr;
    return 0;
}

int
md_trash_pending(struct md_conn *c)
{
    sqlite3_stmt *s = get(c, ST_TRASH_ANY);
    int rc;

    if (s == NULL)
        return -EIO;
    rc = step(c, s);
    if (rc >= 0)
        done(s);
    return rc;
}
