/* md_migrate.c -- `coffer migrate` (md_migrate.h): an embedded store's
 * metadata into an empty PostgreSQL store.
 *
 * Nothing here knows the schema's tables: they come from the source
 * (sqlite_master, PRAGMA table_info), each must exist on PostgreSQL with
 * the same columns, and PostgreSQL's own foreign keys give the order of the
 * copy. Each table goes with one COPY ... FROM STDIN in text format
 * (integers and text as SQLite prints them, BLOBs as bytea's hex where the
 * PostgreSQL column is bytea), all of them in one transaction with the
 * tables locked against other writers; ids are copied as they are, and the
 * identity sequences are then set past the highest id ever handed out
 * (SQLite's sqlite_sequence remembers deleted ones: AUTOINCREMENT ids are
 * never reused, and must not be on PostgreSQL either).
 *
 * The source is read in one snapshot (a read transaction of its reader
 * connection), blob references and rows alike, so the copy is one state
 * some commit of the source left; writes after it are not copied. */
#include "common.h"
#include "store/md_migrate.h"
#include "store/md_backup.h"
#include "store/md_int.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLS 48
#define FLUSH_BYTES (1024 * 1024) /* COPY data sent in pieces of about this */
#define LIST_MAX 16384            /* PostgreSQL's comma lists read back */

struct tbl {
    char name[MD_MIGRATE_NAME_MAX];
    int ncols;
    char col[MAX_COLS][MD_MIGRATE_NAME_MAX];
    bool bytea[MAX_COLS];
    int id_col;   /* the column "id", -1: none */
    int skip_col; /* the column holding an upload's id, -1: none */
    bool identity; /* PostgreSQL's id is an identity column */
};

struct md_migrate {
    struct md_conn *sc; /* the source's reader, in its snapshot */
    struct md_conn *pg;
    size_t n;
    struct tbl t[MD_MIGRATE_TABLES_MAX]; /* in the copy's order */
    char *list;                          /* LIST_MAX bytes, for PostgreSQL's answers */
};

/* ---- pure helpers ------------------------------------------------------------- */

static bool
name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= MD_MIGRATE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    }
    return true;
}

int64_t
md_migrate_field(char *out, const void *v, size_t n, bool bytea)
{
    static const char hx[] = "0123456789abcdef";
    const unsigned char *p = v;
    size_t k = 0;

    if (bytea) {
        memcpy(out, "\\\\x", 3); /* \\x: COPY's escape for the backslash of \x */
        k = 3;
        for (size_t i = 0; i < n; i++) {
            out[k++] = hx[p[i] >> 4];
            out[k++] = hx[p[i] & 15];
        }
        return (int64_t)k;
    }
    for (size_t i = 0; i < n; i++) {
        switch (p[i]) {
        case '\0':
            return -1;
        case '\\':
            out[k++] = '\\';
            out[k++] = '\\';
            break;
        case '\t':
            out[k++] = '\\';
            out[k++] = 't';
            break;
        case '\n':
            out[k++] = '\\';
            out[k++] = 'n';
            break;
        case '\r':
            out[k++] = '\\';
            out[k++] = 'r';
            break;
        default:
            out[k++] = (char)p[i];
        }
    }
    return (int64_t)k;
}

/* 1 if "child>parent" pairs in edges name a parent of names[i] that is not
 * placed yet (not in names[0..placed)), 0 if none. */
static bool
waits(char (*names)[MD_MIGRATE_NAME_MAX], size_t n, size_t placed, size_t i, const char *edges)
{
    size_t ln = strlen(names[i]);
    const char *e = edges;

    while (*e != '\0') {
        const char *end = strchr(e, ',');
        const char *gt = strchr(e, '>');
        size_t len = end != NULL ? (size_t)(end - e) : strlen(e);

        if (gt != NULL && gt < e + len && (size_t)(gt - e) == ln && memcmp(e, names[i], ln) == 0) {
            const char *par = gt + 1;
            size_t pl = len - ln - 1;

            for (size_t j = placed; j < n; j++) {
                if (j != i && strlen(names[j]) == pl && memcmp(names[j], par, pl) == 0)
                    return true;
            }
        }
        if (end == NULL)
            break;
        e = end + 1;
    }
    return false;
}

int
md_migrate_order(char (*names)[MD_MIGRATE_NAME_MAX], size_t n, const char *edges)
{
    char tmp[MD_MIGRATE_NAME_MAX];

    for (size_t placed = 0; placed < n; placed++) {
        size_t i = placed;

        while (i < n && waits(names, n, placed, i, edges))
            i++;
        if (i == n)
            return -ELOOP;
        /* Move names[i] to position placed, keeping the rest in order. */
        memcpy(tmp, names[i], sizeof(tmp));
        memmove(names[placed + 1], names[placed], (i - placed) * sizeof(tmp));
        memcpy(names[placed], tmp, sizeof(tmp));
    }
    return 0;
}

/* ---- the two sides --------------------------------------------------------------- */

static int
sq_fail(struct md_migrate *m, const char *what, char *err, size_t cap)
{
    snprintf(err, cap, "reading the source (%s): %s", what, sqlite3_errmsg(m->sc->db));
    return -EIO;
}

static int
pg_fail(struct md_migrate *m, int rc, char *err, size_t cap)
{
    snprintf(err, cap, "PostgreSQL: %s", m->pg->err[0] ? m->pg->err : strerror(-rc));
    return rc;
}

/* A one-value SQLite query with no parameters: 0 and *v (0 for no row),
 * or -EIO. */
static int
sq_i64(struct md_migrate *m, const char *sql, int64_t *v)
{
    sqlite3_stmt *s = NULL;
    int rc;

    *v = 0;
    if (sqlite3_prepare_v2(m->sc->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

/* PostgreSQL's columns of t ("name type,..." ordered by name) checked
 * against the source's: same set; bytea marked. */
static int
columns_match(struct md_migrate *m, struct tbl *t, char *err, size_t cap)
{
    char sql[512];
    int rc, seen = 0;
    char *save = NULL, *item;

    snprintf(sql, sizeof(sql),
             "SELECT coalesce(string_agg(column_name || ' ' || udt_name, ',' ORDER BY "
             "column_name), '') FROM information_schema.columns WHERE table_schema = "
             "current_schema() AND table_name = '%s'",
             t->name);
    rc = md_pg_mig_value(m->pg, sql, m->list, LIST_MAX);
    if (rc < 0)
        return pg_fail(m, rc, err, cap);
    if (m->list[0] == '\0') {
        snprintf(err, cap, "table %s of the source has no counterpart in PostgreSQL", t->name);
        return -EPROTO;
    }
    for (item = strtok_r(m->list, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        char *sp = strchr(item, ' ');
        int k;

        if (sp == NULL)
            continue;
        *sp = '\0';
        for (k = 0; k < t->ncols && strcmp(t->col[k], item) != 0; k++)
            ;
        if (k == t->ncols) {
            snprintf(err, cap, "PostgreSQL's table %s has a column %s the source's has not",
                     t->name, item);
            return -EPROTO;
        }
        t->bytea[k] = strcmp(sp + 1, "bytea") == 0;
        seen++;
    }
    if (seen != t->ncols) {
        snprintf(err, cap, "the source's table %s has columns PostgreSQL's has not", t->name);
        return -EPROTO;
    }
    return 0;
}

/* The source's table t: its columns, then PostgreSQL's checked. */
static int
table_load(struct md_migrate *m, struct tbl *t, char *err, size_t cap)
{
    char sql[160], val[512];
    sqlite3_stmt *s = NULL;
    int rc;

    t->id_col = t->skip_col = -1;
    snprintf(sql, sizeof(sql), "PRAGMA table_info(\"%s\")", t->name);
    if (sqlite3_prepare_v2(m->sc->db, sql, -1, &s, NULL) != SQLITE_OK)
        return sq_fail(m, t->name, err, cap);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(s, 1);

        if (c == NULL || !name_ok(c) || t->ncols == MAX_COLS) {
            sqlite3_finalize(s);
            snprintf(err, cap, "the source's table %s has an unexpected column %s", t->name,
                     c != NULL ? c : "(null)");
            return -EPROTO;
        }
        snprintf(t->col[t->ncols], MD_MIGRATE_NAME_MAX, "%s", c);
        if (strcmp(c, "id") == 0)
            t->id_col = t->ncols;
        if ((strcmp(t->name, "uploads") == 0 && strcmp(c, "id") == 0) ||
            (strcmp(t->name, "upload_parts") == 0 && strcmp(c, "upload") == 0))
            t->skip_col = t->ncols;
        t->ncols++;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return sq_fail(m, t->name, err, cap);
    rc = columns_match(m, t, err, cap);
    if (rc < 0 || t->id_col < 0)
        return rc;
    snprintf(sql, sizeof(sql), "SELECT coalesce(pg_get_serial_sequence('\"%s\"', 'id'), '')",
             t->name);
    rc = md_pg_mig_value(m->pg, sql, val, sizeof(val));
    if (rc < 0)
        return pg_fail(m, rc, err, cap);
    t->identity = val[0] != '\0';
    return 0;
}

/* The source's tables, in the order of PostgreSQL's foreign keys. */
static int
tables_load(struct md_migrate *m, char *err, size_t cap)
{
    char names[MD_MIGRATE_TABLES_MAX][MD_MIGRATE_NAME_MAX];
    sqlite3_stmt *s = NULL;
    char *save = NULL, *item;
    int rc;

    if (sqlite3_prepare_v2(m->sc->db,
                           "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT "
                           "LIKE 'sqlite!_%' ESCAPE '!' ORDER BY name",
                           -1, &s, NULL) != SQLITE_OK)
        return sq_fail(m, "tables", err, cap);
    m->n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(s, 0);

        if (c == NULL || !name_ok(c) || m->n == MD_MIGRATE_TABLES_MAX) {
            sqlite3_finalize(s);
            snprintf(err, cap, "the source has an unexpected table %s", c != NULL ? c : "");
            return -EPROTO;
        }
        snprintf(names[m->n++], MD_MIGRATE_NAME_MAX, "%s", c);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return sq_fail(m, "tables", err, cap);
    /* Every PostgreSQL table but the schema version must come from the source. */
    rc = md_pg_mig_value(m->pg,
                         "SELECT coalesce(string_agg(table_name, ','), '') FROM "
                         "information_schema.tables WHERE table_schema = current_schema() AND "
                         "table_type = 'BASE TABLE' AND table_name <> 'coffer_schema'",
                         m->list, LIST_MAX);
    if (rc < 0)
        return pg_fail(m, rc, err, cap);
    for (item = strtok_r(m->list, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        size_t i;

        for (i = 0; i < m->n && strcmp(names[i], item) != 0; i++)
            ;
        if (i == m->n) {
            snprintf(err, cap, "PostgreSQL's table %s has no counterpart in the source", item);
            return -EPROTO;
        }
    }
    rc = md_pg_mig_value(m->pg,
                         "SELECT coalesce(string_agg(a.relname || '>' || b.relname, ','), '') "
                         "FROM pg_constraint k JOIN pg_class a ON a.oid = k.conrelid JOIN "
                         "pg_class b ON b.oid = k.confrelid WHERE k.contype = 'f' AND "
                         "k.connamespace = current_schema()::regnamespace",
                         m->list, LIST_MAX);
    if (rc < 0)
        return pg_fail(m, rc, err, cap);
    if (md_migrate_order(names, m->n, m->list) < 0) {
        snprintf(err, cap, "PostgreSQL's foreign keys form a cycle");
        return -EPROTO;
    }
    for (size_t i = 0; i < m->n; i++) {
        memcpy(m->t[i].name, names[i], MD_MIGRATE_NAME_MAX);
        rc = table_load(m, &m->t[i], err, cap);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- emptiness ----------------------------------------------------------------------- */

/* The destination may hold only what creating it and opening it with the
 * same master key leave: the seeded counters (replaced by the copy) and the
 * same key check value. */
static int
dest_empty(struct md_migrate *m, char *err, size_t cap)
{
    char sql[256], val[8];
    sqlite3_stmt *s = NULL;
    int rc;

    for (size_t i = 0; i < m->n; i++) {
        const char *t = m->t[i].name;

        if (strcmp(t, "counters") == 0 || strcmp(t, "store_info") == 0)
            continue;
        snprintf(sql, sizeof(sql), "SELECT EXISTS (SELECT 1 FROM \"%s\")", t);
        rc = md_pg_mig_value(m->pg, sql, val, sizeof(val));
        if (rc < 0)
            return pg_fail(m, rc, err, cap);
        if (val[0] == 't') {
            snprintf(err, cap,
                     "the PostgreSQL database already holds Coffer data (table %s has rows): "
                     "migrate only into an empty database",
                     t);
            return -ENOTEMPTY;
        }
    }
    rc = md_pg_mig_value(m->pg,
                         "SELECT coalesce(string_agg(name || '=' || encode(value, 'hex'), ',' "
                         "ORDER BY name), '') FROM store_info",
                         m->list, LIST_MAX);
    if (rc < 0)
        return pg_fail(m, rc, err, cap);
    if (m->list[0] == '\0')
        return 0;
    if (sqlite3_prepare_v2(m->sc->db,
                           "SELECT coalesce(group_concat(x, ','), '') FROM (SELECT name || '=' "
                           "|| lower(hex(value)) AS x FROM store_info ORDER BY name)",
                           -1, &s, NULL) != SQLITE_OK)
        return sq_fail(m, "store_info", err, cap);
    rc = sqlite3_step(s) == SQLITE_ROW &&
         strcmp((const char *)sqlite3_column_text(s, 0), m->list) == 0;
    sqlite3_finalize(s);
    if (!rc) {
        snprintf(err, cap, "the PostgreSQL database was opened with another master key (its "
                           "key check value differs from the source's)");
        return -EKEYREJECTED;
    }
    return 0;
}

/* ---- the steps ------------------------------------------------------------------------ */

void
md_migrate_end(struct md_migrate *m)
{
    if (m == NULL)
        return;
    if (m->sc != NULL)
        md_snapshot_end(m->sc);
    md_pg_mig_close(m->pg);
    free(m->list);
    free(m);
}

int
md_migrate_begin(struct md *src, const char *pg_uri, struct md_migrate **out, char *err,
                 size_t cap)
{
    struct md_migrate *m;
    int64_t sv = 0;
    char val[32];
    int rc;

    *out = NULL;
    err[0] = '\0';
    if (src->be != &md_sqlite) {
        snprintf(err, cap, "the source store is not an embedded (SQLite) one");
        return -EINVAL;
    }
    m = xcalloc(1, sizeof(*m));
    m->list = xmalloc(LIST_MAX);
    rc = md_pg_mig_open(pg_uri, &m->pg, err, cap);
    if (rc < 0)
        goto fail;
    m->sc = md_reader(src);
    if (m->sc == NULL) {
        snprintf(err, cap, "cannot open a reader of the source");
        rc = -EIO;
        goto fail;
    }
    rc = md_snapshot_begin(m->sc);
    if (rc < 0) {
        m->sc = NULL;
        snprintf(err, cap, "cannot start a read snapshot of the source");
        goto fail;
    }
    /* The first read fixes the snapshot. */
    if (sq_i64(m, "PRAGMA user_version", &sv) < 0) {
        rc = sq_fail(m, "user_version", err, cap);
        goto fail;
    }
    rc = md_pg_mig_value(m->pg, "SELECT version FROM coffer_schema", val, sizeof(val));
    if (rc < 0) {
        rc = pg_fail(m, rc, err, cap);
        goto fail;
    }
    if (sv != strtoll(val, NULL, 10)) {
        snprintf(err, cap, "the source is at schema version %lld, PostgreSQL's at %s",
                 (long long)sv, val);
        rc = -EPROTO;
        goto fail;
    }
    rc = tables_load(m, err, cap);
    if (rc == 0)
        rc = dest_empty(m, err, cap);
    if (rc < 0)
        goto fail;
    *out = m;
    return 0;
fail:
    md_migrate_end(m);
    return rc;
}

int
md_migrate_blobs(struct md_migrate *m, int (*fn)(void *arg, struct str id, int64_t upload),
                 void *arg, char *err, size_t cap)
{
    return md_backup_blobs_db(m->sc->db, fn, arg, err, cap);
}

struct out {
    char *p;
    size_t n, cap;
};

static void
out_reserve(struct out *o, size_t more)
{
    if (o->n + more <= o->cap)
        return;
    o->cap = (o->n + more) * 2;
    o->p = xrealloc(o->p, o->cap);
}

static bool
skipped(const int64_t *skip, size_t n_skip, int64_t v)
{
    for (size_t i = 0; i < n_skip; i++) {
        if (skip[i] == v)
            return true;
    }
    return false;
}

/* One table: SELECT on the source, COPY into PostgreSQL; *rows copied,
 * *max_id the highest id seen. */
static int
copy_table(struct md_migrate *m, const struct tbl *t, const int64_t *skip, size_t n_skip,
           int64_t *rows, int64_t *max_id, struct out *o, char *err, size_t cap)
{
    size_t sl = 0, cl = 0;
    char sel[4096], cp[4096];
    sqlite3_stmt *s = NULL;
    int64_t n = 0, got = -1;
    int rc, st;

    sl += (size_t)snprintf(sel, sizeof(sel), "SELECT ");
    cl += (size_t)snprintf(cp, sizeof(cp), "COPY \"%s\" (", t->name);
    for (int k = 0; k < t->ncols; k++) {
        sl += (size_t)snprintf(sel + sl, sizeof(sel) - sl, "%s\"%s\"", k ? "," : "", t->col[k]);
        cl += (size_t)snprintf(cp + cl, sizeof(cp) - cl, "%s\"%s\"", k ? "," : "", t->col[k]);
    }
    snprintf(sel + sl, sizeof(sel) - sl, " FROM \"%s\"", t->name);
    snprintf(cp + cl, sizeof(cp) - cl, ") FROM STDIN");
    if (sqlite3_prepare_v2(m->sc->db, sel, -1, &s, NULL) != SQLITE_OK)
        return sq_fail(m, t->name, err, cap);
    rc = md_pg_mig_copy_begin(m->pg, cp);
    if (rc < 0) {
        sqlite3_finalize(s);
        return pg_fail(m, rc, err, cap);
    }
    *max_id = 0;
    o->n = 0;
    while ((st = sqlite3_step(s)) == SQLITE_ROW) {
        if (t->skip_col >= 0 && skipped(skip, n_skip, sqlite3_column_int64(s, t->skip_col)))
            continue;
        if (t->id_col >= 0 && sqlite3_column_int64(s, t->id_col) > *max_id)
            *max_id = sqlite3_column_int64(s, t->id_col);
        for (int k = 0; k < t->ncols; k++) {
            const void *v;
            size_t len;
            int64_t w;

            if (sqlite3_column_type(s, k) == SQLITE_NULL) {
                out_reserve(o, 3);
                memcpy(o->p + o->n, "\\N", 2);
                o->n += 2;
            } else {
                v = t->bytea[k] ? sqlite3_column_blob(s, k) : sqlite3_column_text(s, k);
                len = (size_t)sqlite3_column_bytes(s, k);
                out_reserve(o, 2 * len + 5);
                w = md_migrate_field(o->p + o->n, v != NULL ? v : "", len, t->bytea[k]);
                if (w < 0) {
                    snprintf(err, cap, "table %s, column %s: text with a NUL byte", t->name,
                             t->col[k]);
                    rc = -EPROTO;
                    goto fail;
                }
                o->n += (size_t)w;
            }
            o->p[o->n++] = k + 1 < t->ncols ? '\t' : '\n';
        }
        n++;
        if (o->n >= FLUSH_BYTES) {
            rc = md_pg_mig_copy_put(m->pg, o->p, o->n);
            if (rc < 0)
                goto fail_pg;
            o->n = 0;
        }
    }
    if (st != SQLITE_DONE) {
        rc = sq_fail(m, t->name, err, cap);
        goto fail;
    }
    sqlite3_finalize(s);
    s = NULL;
    rc = o->n > 0 ? md_pg_mig_copy_put(m->pg, o->p, o->n) : 0;
    if (rc == 0)
        rc = md_pg_mig_copy_end(m->pg, NULL, &got);
    if (rc < 0)
        return pg_fail(m, rc, err, cap);
    if (got != n) {
        snprintf(err, cap, "table %s: PostgreSQL copied %lld rows of %lld", t->name,
                 (long long)got, (long long)n);
        return -EIO;
    }
    *rows = n;
    return 0;
fail_pg:
    (void)pg_fail(m, rc, err, cap);
fail:
    sqlite3_finalize(s);
    (void)md_pg_mig_copy_end(m->pg, "coffer migrate stopped", NULL);
    return rc;
}

/* Moves t's identity sequence past max_id and the source's AUTOINCREMENT
 * high-water mark: the next id PostgreSQL hands out is one never used. */
static int
identity_set(struct md_migrate *m, const struct tbl *t, int64_t max_id, char *err, size_t cap)
{
    char sql[256], val[32];
    int64_t hw = 0;
    int rc;

    snprintf(sql, sizeof(sql), "SELECT seq FROM sqlite_sequence WHERE name = '%s'", t->name);
    (void)sq_i64(m, sql, &hw); /* no sqlite_sequence (no AUTOINCREMENT table): 0 */
    if (hw > max_id)
        max_id = hw;
    if (max_id > 0)
        snprintf(sql, sizeof(sql), "SELECT setval(pg_get_serial_sequence('\"%s\"', 'id'), %lld)",
                 t->name, (long long)max_id);
    else
        snprintf(sql, sizeof(sql),
                 "SELECT setval(pg_get_serial_sequence('\"%s\"', 'id'), 1, false)", t->name);
    rc = md_pg_mig_value(m->pg, sql, val, sizeof(val));
    return rc < 0 ? pg_fail(m, rc, err, cap) : 0;
}

int
md_migrate_commit(struct md_migrate *m, const int64_t *skip, size_t n_skip,
                  struct md_migrate_stats *st, char *err, size_t cap)
{
    struct out o = {0};
    char sql[4096];
    size_t k;
    int rc;

    memset(st, 0, sizeof(*st));
    rc = md_pg_mig_exec(m->pg, "BEGIN");
    if (rc < 0)
        return pg_fail(m, rc, err, cap);
    /* No gateway writes meanwhile (readers may read): the emptiness seen
     * below holds until the commit. */
    k = (size_t)snprintf(sql, sizeof(sql), "LOCK TABLE ");
    for (size_t i = 0; i < m->n; i++)
        k += (size_t)snprintf(sql + k, sizeof(sql) - k, "%s\"%s\"", i ? ", " : "", m->t[i].name);
    snprintf(sql + k, sizeof(sql) - k, " IN EXCLUSIVE MODE");
    rc = md_pg_mig_exec(m->pg, sql);
    if (rc < 0) {
        rc = pg_fail(m, rc, err, cap);
        goto fail;
    }
    rc = dest_empty(m, err, cap);
    if (rc < 0)
        goto fail;
    rc = md_pg_mig_exec(m->pg, "DELETE FROM counters; DELETE FROM store_info");
    if (rc < 0) {
        rc = pg_fail(m, rc, err, cap);
        goto fail;
    }
    for (size_t i = 0; i < m->n; i++) {
        const struct tbl *t = &m->t[i];
        int64_t rows = 0, max_id = 0;

        rc = copy_table(m, t, skip, n_skip, &rows, &max_id, &o, err, cap);
        if (rc == 0 && t->identity)
            rc = identity_set(m, t, max_id, err, cap);
        if (rc < 0)
            goto fail;
        memcpy(st->table[i].name, t->name, MD_MIGRATE_NAME_MAX);
        st->table[i].rows = rows;
        st->rows += rows;
        st->n_tables = i + 1;
    }
    rc = md_pg_mig_exec(m->pg, "COMMIT");
    if (rc < 0) {
        rc = pg_fail(m, rc, err, cap);
        goto fail;
    }
    free(o.p);
    return 0;
fail:
    (void)md_pg_mig_exec(m->pg, "ROLLBACK");
    free(o.p);
    return rc;
}
