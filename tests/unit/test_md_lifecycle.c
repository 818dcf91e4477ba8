/* test_md_lifecycle.c -- schema 13 on a temp directory: the migration from
 * schema 12 (noncurrent rows take their successor's mtime), noncurrent_ms
 * kept by insert, delete and promotion, the executor's paged scan (order,
 * cursors, sole delete markers, tags on request, other buckets left out),
 * the storage-class relabel, and the progress row (round trip, replace,
 * clear, gone with its bucket). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "store/md.h"
#include "store/md_schema.h"
#include "util/arena.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

struct fx {
    char dir[64];
    struct md *md;
    struct arena *a;
    int64_t acct, bucket, other;
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* One store call per closure, picked by kind. */
enum kind { K_ACCT, K_BUCKET, K_PUT, K_DEL, K_CLASS, K_STATE_PUT, K_STATE_CLEAR, K_BUCKET_DEL };

struct job {
    enum kind kind;
    struct fx *f;
    const char *name;
    int64_t id;
    struct md_version v;
    struct md_lc_state st;
    struct str sc;
};

static int
run(struct md_conn *c, void *arg)
{
    struct job *j = arg;

    switch (j->kind) {
    case K_ACCT:
        return md_account_create(c, str_c(j->name), 1, &j->id);
    case K_BUCKET:
        return md_bucket_create(c, str_c(j->name), j->f->acct, STR_LIT("us-east-1"), 2, &j->id);
    case K_PUT:
        return md_version_insert(c, &j->v, j->f->a);
    case K_DEL:
        return md_version_delete(c, j->id);
    case K_CLASS:
        return md_version_set_storage_class(c, j->id, j->sc);
    case K_STATE_PUT:
        return md_lc_state_put(c, &j->st);
    case K_STATE_CLEAR:
        return md_lc_state_clear(c, j->id);
    case K_BUCKET_DEL:
        return md_bucket_delete(c, j->id);
    }
    return -EINVAL;
}

static int
job(struct fx *f, struct job *j)
{
    j->f = f;
    return md_write(f->md, run, j);
}

static void
fx_open(struct fx *f)
{
    struct job j = {.kind = K_ACCT, .name = "alice"};

    snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-mdlc-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(md_open(f->dir, &f->md), 0);
    f->a = arena_new();
    assert_int_equal(job(f, &j), 0);
    f->acct = j.id;
    j = (struct job){.kind = K_BUCKET, .name = "logs"};
    assert_int_equal(job(f, &j), 0);
    f->bucket = j.id;
    j = (struct job){.kind = K_BUCKET, .name = "other"};
    assert_int_equal(job(f, &j), 0);
    f->other = j.id;
}

static void
fx_close(struct fx *f)
{
    md_close(f->md);
    arena_free(f->a);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A version (or marker) of key in bucket at mtime; returns its seq. */
static int64_t
put(struct fx *f, int64_t bucket, const char *key, int64_t mtime, bool dm, const char *tags)
{
    struct job j = {.kind = K_PUT};

    j.v.bucket_id = bucket;
    j.v.key = str_c(key);
    j.v.is_delete_marker = dm;
    j.v.size = dm ? 0 : 7;
    j.v.mtime_ms = mtime;
    j.v.etag = str_c(dm ? "" : "0123456789abcdef0123456789abcdef");
    j.v.content_type = STR_LIT("");
    j.v.meta = STR_LIT("");
    j.v.inline_data = dm ? STR_NULL : str_c("payload");
    j.v.tags = tags ? str_c(tags) : STR_NULL;
    assert_int_equal(job(f, &j), 0);
    return j.v.seq;
}

static void
del(struct fx *f, int64_t seq)
{
    struct job j = {.kind = K_DEL, .id = seq};

    assert_int_equal(job(f, &j), 0);
}

/* The whole bucket in pages of page rows (the cursor the executor keeps:
 * the last row's key and seq). */
static size_t
scan_all(struct fx *f, int64_t bucket, size_t page, bool tags, struct md_lc_version *all,
         size_t max)
{
    struct str key = STR_NULL;
    int64_t seq = 0;
    size_t total = 0;

    for (;;) {
        struct md_lc_version *rows;
        size_t n;

        assert_int_equal(
            md_lc_scan(md_reader(f->md), bucket, key, seq, tags, page, f->a, &rows, &n), 0);
        assert_true(total + n <= max);
        if (n > 0) /* rows is NULL for an empty page */
            memcpy(all + total, rows, n * sizeof(*rows));
        total += n;
        if (n < page)
            return total;
        key = rows[n - 1].key;
        seq = rows[n - 1].seq;
    }
}

static const struct md_lc_version *
find(const struct md_lc_version *v, size_t n, int64_t seq)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].seq == seq)
            return &v[i];
    fail_msg("seq %lld not scanned", (long long)seq);
    return NULL;
}

static void
test_noncurrent_ms(void **state)
{
    struct md_lc_version all[16];
    struct fx f;
    int64_t v1, v2, dm, v3;
    size_t n;

    (void)state;
    fx_open(&f);
    v1 = put(&f, f.bucket, "k", 1000, false, NULL);
    n = scan_all(&f, f.bucket, 10, false, all, 16);
    assert_int_equal(find(all, n, v1)->noncurrent_ms, 0);
    /* Replaced by a PUT: noncurrent since the new version's creation. */
    v2 = put(&f, f.bucket, "k", 2000, false, NULL);
    n = scan_all(&f, f.bucket, 10, false, all, 16);
    assert_int_equal(find(all, n, v1)->noncurrent_ms, 2000);
    assert_int_equal(find(all, n, v2)->noncurrent_ms, 0);
    /* By a delete marker: since the marker's creation. */
    dm = put(&f, f.bucket, "k", 3000, true, NULL);
    n = scan_all(&f, f.bucket, 10, false, all, 16);
    assert_int_equal(find(all, n, v2)->noncurrent_ms, 3000);
    assert_int_equal(find(all, n, v1)->noncurrent_ms, 2000);
    assert_false(find(all, n, dm)->is_sole_dm);
    /* The marker deleted: v2 is current again. */
    del(&f, dm);
    n = scan_all(&f, f.bucket, 10, false, all, 16);
    assert_true(find(all, n, v2)->is_latest);
    assert_int_equal(find(all, n, v2)->noncurrent_ms, 0);
    assert_int_equal(find(all, n, v1)->noncurrent_ms, 2000);
    /* A noncurrent version deleted changes nobody else's time. */
    v3 = put(&f, f.bucket, "k", 4000, false, NULL);
    del(&f, v2);
    n = scan_all(&f, f.bucket, 10, false, all, 16);
    assert_int_equal(n, 2);
    assert_int_equal(find(all, n, v1)->noncurrent_ms, 2000);
    assert_int_equal(find(all, n, v3)->noncurrent_ms, 0);
    fx_close(&f);
}

static void
test_scan(void **state)
{
    struct md_lc_version all[32], one[32], *rows;
    int64_t a1, a2, a3, b1, c1, d1, d2;
    struct fx f;
    size_t n, m;

    (void)state;
    fx_open(&f);
    a1 = put(&f, f.bucket, "a", 10, false, "t\tv\n");
    b1 = put(&f, f.bucket, "b", 11, false, NULL);
    a2 = put(&f, f.bucket, "a", 12, false, NULL);
    c1 = put(&f, f.bucket, "c", 13, true, NULL);
    d1 = put(&f, f.bucket, "d", 14, false, NULL);
    a3 = put(&f, f.bucket, "a", 15, true, NULL);
    d2 = put(&f, f.bucket, "d", 16, true, NULL);
    (void)put(&f, f.other, "a", 17, false, NULL);
    /* (key asc, seq desc), this bucket only. */
    n = scan_all(&f, f.bucket, 100, false, all, 32);
    assert_int_equal(n, 7);
    {
        const int64_t want[] = {a3, a2, a1, b1, c1, d2, d1};
        for (size_t i = 0; i < n; i++)
            assert_int_equal(all[i].seq, want[i]);
    }
    /* Only c's marker is alone. */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(all[i].is_sole_dm, all[i].seq == c1);
    assert_true(all[0].is_latest && all[0].is_delete_marker);
    assert_int_equal(find(all, n, a1)->noncurrent_ms, 12);
    assert_int_equal(find(all, n, a1)->size, 7);
    assert_true(str_eq_c(find(all, n, a1)->etag, "0123456789abcdef0123456789abcdef"));
    assert_int_equal(find(all, n, a1)->version_id.n, MD_VID_LEN);
    assert_null(find(all, n, a1)->tags.p);
    /* Every page size gives the same rows, the cursor inside a key too. */
    for (size_t page = 1; page <= 8; page++) {
        m = scan_all(&f, f.bucket, page, page % 2 == 0, one, 32);
        assert_int_equal(m, n);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(one[i].seq, all[i].seq);
    }
    /* Tags on request. */
    m = scan_all(&f, f.bucket, 3, true, one, 32);
    assert_true(str_eq_c(find(one, m, a1)->tags, "t\tv\n"));
    assert_null(find(one, m, a2)->tags.p);
    /* after_seq 0: past every version of the key. */
    assert_int_equal(md_lc_scan(md_reader(f.md), f.bucket, STR_LIT("a"), 0, false, 10, f.a, &rows,
                                &n),
                     0);
    assert_int_equal(n, 4);
    assert_int_equal(rows[0].seq, b1);
    /* Storage class relabel. */
    {
        struct job j = {.kind = K_CLASS, .id = a2, .sc = STR_LIT("STANDARD_IA")};
        assert_int_equal(job(&f, &j), 0);
        m = scan_all(&f, f.bucket, 100, false, one, 32);
        assert_true(str_eq_c(find(one, m, a2)->storage_class, "STANDARD_IA"));
        assert_null(find(one, m, a1)->storage_class.p);
        j.sc = STR_NULL;
        assert_int_equal(job(&f, &j), 0);
        m = scan_all(&f, f.bucket, 100, false, one, 32);
        assert_null(find(one, m, a2)->storage_class.p);
        j.id = 999999;
        assert_int_equal(job(&f, &j), -ENOENT);
    }
    fx_close(&f);
}

static void
test_state(void **state)
{
    struct md_lc_state st = {0}, got;
    struct job j;
    struct fx f;

    (void)state;
    fx_open(&f);
    assert_int_equal(md_lc_state_get(md_reader(f.md), f.bucket, f.a, &got), -ENOENT);
    st = (struct md_lc_state){.bucket_id = f.bucket, .pass_started_ms = 100,
                              .phase = MD_LC_VERSIONS, .cursor_key = STR_NULL,
                              .updated_ms = 100};
    j = (struct job){.kind = K_STATE_PUT, .st = st};
    assert_int_equal(job(&f, &j), 0);
    assert_int_equal(md_lc_state_get(md_reader(f.md), f.bucket, f.a, &got), 0);
    assert_null(got.cursor_key.p);
    assert_int_equal(got.pass_started_ms, 100);
    /* Advanced mid-key, then into the uploads. */
    st.cursor_key = STR_LIT("");
    st.cursor_seq = 42;
    st.cursor_noncurrent = 3;
    st.n_actions = 7;
    st.updated_ms = 200;
    j = (struct job){.kind = K_STATE_PUT, .st = st};
    assert_int_equal(job(&f, &j), 0);
    assert_int_equal(md_lc_state_get(md_reader(f.md), f.bucket, f.a, &got), 0);
    assert_non_null(got.cursor_key.p);
    assert_int_equal(got.cursor_key.n, 0);
    assert_int_equal(got.cursor_seq, 42);
    assert_int_equal(got.cursor_noncurrent, 3);
    assert_int_equal(got.n_actions, 7);
    assert_int_equal(got.updated_ms, 200);
    assert_int_equal(got.phase, MD_LC_VERSIONS);
    st.phase = MD_LC_UPLOADS;
    st.cursor_key = STR_LIT("up/big");
    j = (struct job){.kind = K_STATE_PUT, .st = st};
    assert_int_equal(job(&f, &j), 0);
    assert_int_equal(md_lc_state_get(md_reader(f.md), f.bucket, f.a, &got), 0);
    assert_int_equal(got.phase, MD_LC_UPLOADS);
    assert_true(str_eq_c(got.cursor_key, "up/big"));
    assert_int_equal(got.pass_started_ms, 100);
    /* Cleared; a bucket that does not exist has none. */
    j = (struct job){.kind = K_STATE_CLEAR, .id = f.bucket};
    assert_int_equal(job(&f, &j), 0);
    assert_int_equal(job(&f, &j), -ENOENT);
    st.bucket_id = 424242;
    j = (struct job){.kind = K_STATE_PUT, .st = st};
    assert_int_equal(job(&f, &j), -ENOENT);
    /* Goes with its bucket. */
    st.bucket_id = f.other;
    j = (struct job){.kind = K_STATE_PUT, .st = st};
    assert_int_equal(job(&f, &j), 0);
    j = (struct job){.kind = K_BUCKET_DEL, .id = f.other};
    assert_int_equal(job(&f, &j), 0);
    assert_int_equal(md_lc_state_get(md_reader(f.md), f.other, f.a, &got), -ENOENT);
    fx_close(&f);
}

/* A schema-12 database with noncurrent rows: the migration gives each its
 * successor's mtime and leaves the current ones at 0. */
static void
test_migrate_12(void **state)
{
    struct md_lc_version all[16];
    char path[160];
    struct fx f = {0};
    sqlite3 *db;
    size_t n;

    (void)state;
    snprintf(f.dir, sizeof(f.dir), "/tmp/coffer-mdlc-XXXXXX");
    assert_non_null(mkdtemp(f.dir));
    f.a = arena_new();
    snprintf(path, sizeof(path), "%s/meta.db", f.dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL;", NULL, NULL, NULL), SQLITE_OK);
    for (int i = 0; i < 12; i++)
        assert_int_equal(sqlite3_exec(db, md_migrations[i], NULL, NULL, NULL), SQLITE_OK);
#define V12 "INSERT INTO versions (seq, bucket_id, key, version_id, is_latest, is_dm, size, "      \
            "mtime_ms, owner_id, etag, content_type, meta, checksum_algo, checksum_value) VALUES "
    assert_int_equal(
        sqlite3_exec(db,
                     "INSERT INTO accounts (id, name, canonical_id, created_ms)"
                     "  VALUES (1, 'acme', 'aaaa', 1);"
                     "INSERT INTO buckets (id, name, account_id, region, created_ms, versioning)"
                     "  VALUES (1, 'old', 1, 'us-east-1', 2, 1), (2, 'two', 1, 'us-east-1', 2, 1);"
                     V12 "(1, 1, 'k', 'v1', 0, 0, 1, 100, 1, 'e', '', '', '', ''),"
                     "(2, 1, 'k', 'v2', 0, 1, 0, 200, 1, '', '', '', '', ''),"
                     "(3, 1, 'k', 'v3', 1, 0, 1, 300, 1, 'e', '', '', '', ''),"
                     "(4, 1, 'j', 'null', 1, 0, 1, 50, 1, 'e', '', '', '', ''),"
                     "(5, 2, 'k', 'w1', 0, 0, 1, 400, 1, 'e', '', '', '', ''),"
                     "(6, 2, 'k', 'w2', 1, 0, 1, 500, 1, 'e', '', '', '', '');"
                     "UPDATE counters SET value = 6 WHERE name = 'version_seq';"
                     "PRAGMA user_version = 12;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);

    assert_int_equal(md_open(f.dir, &f.md), 0);
    n = scan_all(&f, 1, 2, false, all, 16);
    assert_int_equal(n, 4);
    assert_int_equal(find(all, n, 1)->noncurrent_ms, 200);
    assert_int_equal(find(all, n, 2)->noncurrent_ms, 300);
    assert_int_equal(find(all, n, 3)->noncurrent_ms, 0);
    assert_int_equal(find(all, n, 4)->noncurrent_ms, 0);
    n = scan_all(&f, 2, 2, false, all, 16);
    assert_int_equal(n, 2);
    assert_int_equal(find(all, n, 5)->noncurrent_ms, 500);
    /* New writes keep it up. */
    f.acct = 1;
    (void)put(&f, 1, "j", 600, false, NULL);
    n = scan_all(&f, 1, 2, false, all, 16);
    assert_int_equal(find(all, n, 4)->noncurrent_ms, 600);
    fx_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noncurrent_ms),
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_state),
        cmocka_unit_test(test_migrate_12),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
