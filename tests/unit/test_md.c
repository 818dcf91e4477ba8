/* test_md.c -- metadata store on temp directories: group commit, savepoint
 * rollback, versions, listing order and paging (0xFF bytes), query plans,
 * version ids, key sealing, master.key permissions; plus crypto/seal.
 * Includes md.c to reach its statement table and group-commit counters. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/store/md.c"

#include <ftw.h>
#include <stdlib.h>

/* ---- helpers ------------------------------------------------------------ */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

struct fx {
    char dir[64];
    struct md *md;
    struct arena *a;
    int64_t acct, bkt;
};

static void
fx_open(struct fx *f)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-md-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(md_open(f->dir, &f->md), 0);
    f->a = arena_new();
}

static void
fx_close(struct fx *f)
{
    md_close(f->md);
    arena_free(f->a);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

struct acct_arg {
    const char *name;
    int64_t id;
};

static int
w_account(struct md_conn *c, void *arg)
{
    struct acct_arg *x = arg;

    return md_account_create(c, str_c(x->name), 1000, &x->id);
}

struct bkt_arg {
    const char *name;
    int64_t acct, id;
};

static int
w_bucket(struct md_conn *c, void *arg)
{
    struct bkt_arg *x = arg;

    return md_bucket_create(c, str_c(x->name), x->acct, STR_LIT("us-east-1"), 2000, &x->id);
}

/* fx_open plus one account and one bucket. */
static void
fx_open_bucket(struct fx *f)
{
    struct acct_arg aa = {"alice", 0};
    struct bkt_arg ba = {"bkt", 0, 0};

    fx_open(f);
    assert_int_equal(md_write(f->md, w_account, &aa), 0);
    ba.acct = aa.id;
    assert_int_equal(md_write(f->md, w_bucket, &ba), 0);
    f->acct = aa.id;
    f->bkt = ba.id;
}

struct put_arg {
    struct md_version v;
    struct arena *a;
};

static int
w_put(struct md_conn *c, void *arg)
{
    struct put_arg *x = arg;

    return md_version_insert(c, &x->v, x->a);
}

/* Inserts a version of key (n bytes); returns md_write's result. */
static int
put(struct fx *f, const char *key, size_t n, bool dm, struct str vid, struct md_version *out)
{
    struct put_arg x = {.a = f->a};
    int rc;

    x.v.bucket_id = f->bkt;
    x.v.key = str_make(key, n);
    x.v.version_id = vid;
    x.v.is_delete_marker = dm;
    x.v.size = dm ? 0 : 5;
    x.v.mtime_ms = 42;
    x.v.owner_id = f->acct;
    x.v.etag = dm ? STR_NULL : STR_LIT("5d41402abc4b2a76b9719d911017c592");
    x.v.content_type = STR_LIT("text/plain");
    x.v.inline_data = dm ? STR_NULL : STR_LIT("hello");
    rc = md_write(f->md, w_put, &x);
    if (out != NULL)
        *out = x.v;
    return rc;
}

static int
w_vdel(struct md_conn *c, void *arg)
{
    return md_version_delete(c, *(int64_t *)arg);
}

static int
vdel(struct fx *f, int64_t seq)
{
    return md_write(f->md, w_vdel, &seq);
}

static void
stats(struct md *md, uint64_t *commits, uint64_t *jobs)
{
    pthread_mutex_lock(&md->mu);
    *commits = md->n_commits;
    *jobs = md->n_jobs;
    pthread_mutex_unlock(&md->mu);
}

static size_t
queued(struct md *md)
{
    size_t n = 0;

    pthread_mutex_lock(&md->mu);
    for (struct job *j = md->head; j != NULL; j = j->next)
        n++;
    pthread_mutex_unlock(&md->mu);
    return n;
}

/* ---- version ids -------------------------------------------------------- */

static void
test_vid_parse(void **state)
{
    static const struct {
        const char *vid;
        int rc;
        int64_t seq;
    } v[] = {
        /* 8-byte seq || 16 bytes, 6 bits per char, A-Za-z0-9._ */
        {"AAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAA", 0, 1},
        {"AQIDBAUGBwgAAAAAAAAAAAAAAAAAAAAA", 0, 0x0102030405060708LL},
        {"AQIDBAUGBwg_____________________", 0, 0x0102030405060708LL},
        {"AQIDBAUGBwj.....................", 0, 0x0102030405060708LL},
        {"f_________8AAAAAAAAAAAAAAAAAAAAA", 0, INT64_MAX},
        {"null", 0, 0},
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", -EINVAL, 0}, /* seq 0 */
        {"gAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", -EINVAL, 0}, /* seq > INT64_MAX */
        {"AAAAAAAAAAEAAAAAAAAAAAAAAAAAAAA", -EINVAL, 0},  /* 31 chars */
        {"AAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAA", -EINVAL, 0}, /* 33 chars */
        {"AAAAAAAAAAEAAAAAAAAAAAAAAAAAAAA+", -EINVAL, 0},
        {"AAAAAAAAAAEAAAAAAAAAAAAAAAAAAAA/", -EINVAL, 0},
        {"AAAAAAAAAAEAAAAAAAAAAAAAAAAAAAA-", -EINVAL, 0},
        {"AAAAAAAAAAEAAAAAAAAAAAAAAAAAAAA=", -EINVAL, 0},
        {"NULL", -EINVAL, 0},
        {"nul", -EINVAL, 0},
        {"", -EINVAL, 0},
    };
    int64_t seq;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        seq = -1;
        assert_int_equal(md_vid_parse(str_c(v[i].vid), &seq), v[i].rc);
        if (v[i].rc == 0)
            assert_int_equal(seq, v[i].seq);
    }
    assert_int_equal(md_vid_parse(STR_NULL, &seq), -EINVAL);
    assert_int_equal(md_vid_parse(str_make("AAAAAAAAAAEAAAAAAAAAAAAAAAAAAA\0A", 32), &seq),
                     -EINVAL);
}

static void
test_vid_roundtrip(void **state)
{
    static const int64_t seqs[] = {1, 2, 63, 64, 4095, 1000000007, (int64_t)1 << 40, INT64_MAX};
    char a[MD_VID_LEN + 1], b[MD_VID_LEN + 1];
    int64_t seq;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(seqs); i++) {
        assert_int_equal(vid_make(seqs[i], a), 0);
        assert_int_equal(vid_make(seqs[i], b), 0);
        assert_int_equal(strlen(a), MD_VID_LEN);
        assert_int_not_equal(strcmp(a, b), 0); /* random tail */
        assert_int_equal(strspn(a, vid_alpha), MD_VID_LEN);
        assert_int_equal(md_vid_parse(str_c(a), &seq), 0);
        assert_int_equal(seq, seqs[i]);
    }
}

/* ---- seal --------------------------------------------------------------- */

static void
test_seal(void **state)
{
    /* AES-256-GCM, GCM spec test cases 13 and 14: zero key, zero IV. */
    static const unsigned char zero_key[32];
    static const unsigned char tc13[12 + 16] = {
        [12] = 0x53, 0x0f, 0x8a, 0xfb, 0xc7, 0x45, 0x36, 0xb9,
        0xa9, 0x63, 0xb4, 0xf1, 0xc4, 0xcb, 0x73, 0x8b};
    static const unsigned char tc14[12 + 16 + 16] = {
        [12] = 0xce, 0xa7, 0x40, 0x3d, 0x4d, 0x60, 0x6b, 0x6e,
        0x07, 0x4e, 0xc5, 0xd3, 0xba, 0xf3, 0x9d, 0x18,
        0xd0, 0xd1, 0xc8, 0xa7, 0x99, 0x99, 0x6b, 0xf0,
        0x26, 0x5b, 0x98, 0xb5, 0xd4, 0x8a, 0xb9, 0x19};
    static const char zeros[16];
    unsigned char key[32], key2[32];
    struct buf out, out2;
    struct str msg = STR_LIT("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");

    (void)state;
    buf_init(&out, 4096);
    buf_init(&out2, 4096);
    assert_int_equal(unseal(zero_key, str_make((const char *)tc13, sizeof(tc13)), &out), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(unseal(zero_key, str_make((const char *)tc14, sizeof(tc14)), &out), 0);
    assert_int_equal(out.n, 16);
    assert_memory_equal(out.p, zeros, 16);
    buf_reset(&out);

    memset(key, 7, sizeof(key));
    memset(key2, 8, sizeof(key2));
    assert_int_equal(seal(key, msg, &out), 0);
    assert_int_equal(out.n, msg.n + SEAL_OVERHEAD);
    assert_null(memmem(out.p, out.n, msg.p, msg.n));
    assert_int_equal(seal(key, msg, &out2), 0);
    assert_memory_not_equal(out.p, out2.p, out.n); /* fresh nonce */
    buf_reset(&out2);
    assert_int_equal(unseal(key, buf_str(&out), &out2), 0);
    assert_int_equal(out2.n, msg.n);
    assert_memory_equal(out2.p, msg.p, msg.n);
    buf_reset(&out2);
    assert_int_equal(unseal(key2, buf_str(&out), &out2), -EBADMSG);
    assert_int_equal(out2.n, 0);
    for (size_t i = 0; i < out.n; i++) {
        out.p[i] ^= 0x01;
        assert_int_equal(unseal(key, buf_str(&out), &out2), -EBADMSG);
        assert_int_equal(out2.n, 0);
        out.p[i] ^= 0x01;
    }
    assert_int_equal(unseal(key, str_make(out.p, out.n - 1), &out2), -EBADMSG);
    assert_int_equal(unseal(key, str_make(out.p, 27), &out2), -EBADMSG);
    assert_int_equal(unseal(key, STR_NULL, &out2), -EBADMSG);
    /* Too small a buffer leaves it untouched. */
    buf_free(&out2);
    buf_init(&out2, msg.n + SEAL_OVERHEAD - 1);
    assert_int_equal(seal(key, msg, &out2), -E2BIG);
    assert_int_equal(out2.n, 0);
    buf_free(&out);
    buf_free(&out2);
}

/* ---- open, master key, sealing at rest ---------------------------------- */

static void
test_master_key(void **state)
{
    struct fx f;
    char path[128];
    struct stat st;
    struct md *md2;

    (void)state;
    fx_open(&f);
    snprintf(path, sizeof(path), "%s/master.key", f.dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);
    md_close(f.md);

    assert_int_equal(chmod(path, 0640), 0);
    f.md = NULL;
    assert_int_equal(md_open(f.dir, &f.md), -EPERM);
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(md_open(f.dir, &f.md), -EPERM);
    assert_int_equal(chmod(path, 0400), 0);
    assert_int_equal(md_open(f.dir, &md2), 0);
    md_close(md2);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(md_open(f.dir, &f.md), 0);
    fx_close(&f);
}

struct key_arg {
    struct md_key k;
};

static int
w_key(struct md_conn *c, void *arg)
{
    return md_key_create(c, &((struct key_arg *)arg)->k);
}

static bool
file_contains(const char *path, struct str needle)
{
    FILE *fp = fopen(path, "rb");
    char *data;
    long n;
    bool found;

    if (fp == NULL)
        return false;
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    data = malloc((size_t)n + 1);
    assert_int_equal(fread(data, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    found = memmem(data, (size_t)n, needle.p, needle.n) != NULL;
    free(data);
    return found;
}

static void
test_key_sealing(void **state)
{
    static const struct str secret = STR_LIT("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    struct fx f;
    struct key_arg ka = {0};
    struct md_key k, *keys;
    struct md *md2;
    char path[128];
    sqlite3 *db;
    size_t n;

    (void)state;
    fx_open_bucket(&f);
    ka.k.access_key_id = STR_LIT("AKIDEXAMPLE000000001");
    ka.k.account_id = f.acct;
    ka.k.secret = secret;
    ka.k.created_ms = 77;
    ka.k.is_active = true;
    assert_int_equal(md_write(f.md, w_key, &ka), 0);
    assert_int_equal(md_write(f.md, w_key, &ka), -EEXIST);
    ka.k.access_key_id = STR_LIT("AKIDEXAMPLE000000002");
    ka.k.account_id = 999;
    assert_int_equal(md_write(f.md, w_key, &ka), -ENOENT); /* no such account */
    ka.k.account_id = f.acct;
    ka.k.is_active = false;
    assert_int_equal(md_write(f.md, w_key, &ka), 0);

    assert_int_equal(md_key_get(md_reader(f.md), STR_LIT("AKIDEXAMPLE000000001"), f.a, &k), 0);
    assert_true(str_eq(k.secret, secret));
    assert_int_equal(k.account_id, f.acct);
    assert_int_equal(k.user_id, 0);
    assert_int_equal(k.created_ms, 77);
    assert_true(k.is_active);
    assert_int_equal(md_key_get(md_reader(f.md), STR_LIT("nope"), f.a, &k), -ENOENT);
    assert_int_equal(md_key_list(md_reader(f.md), f.acct, f.a, &keys, &n), 0);
    assert_int_equal(n, 2);
    assert_true(str_eq_c(keys[0].access_key_id, "AKIDEXAMPLE000000001"));
    assert_true(str_eq_c(keys[1].access_key_id, "AKIDEXAMPLE000000002"));
    assert_false(keys[1].is_active);
    assert_non_null(keys[0].secret.p);
    assert_int_equal(keys[0].secret.n, 0);

    /* Neither the database nor its WAL holds the plaintext. */
    snprintf(path, sizeof(path), "%s/meta.db-wal", f.dir);
    assert_false(file_contains(path, secret));
    md_close(f.md);
    assert_int_equal(access(path, F_OK), -1); /* checkpointed and removed */
    snprintf(path, sizeof(path), "%s/meta.db", f.dir);
    assert_true(file_contains(path, STR_LIT("AKIDEXAMPLE000000001")));
    assert_false(file_contains(path, secret));

    /* A tampered secret fails closed. */
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "UPDATE keys SET secret_sealed = "
                                  "substr(secret_sealed, 1, 20) || x'00' || "
                                  "substr(secret_sealed, 22) WHERE access_key_id = "
                                  "'AKIDEXAMPLE000000001'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(md_open(f.dir, &f.md), 0);
    assert_int_equal(md_key_get(md_reader(f.md), STR_LIT("AKIDEXAMPLE000000001"), f.a, &k),
                     -EIO);
    assert_int_equal(md_key_get(md_reader(f.md), STR_LIT("AKIDEXAMPLE000000002"), f.a, &k), 0);
    md_close(f.md);

    /* Sealed secrets exist: a missing master.key is an error, not a new key. */
    snprintf(path, sizeof(path), "%s/master.key", f.dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(md_open(f.dir, &md2), -ENOKEY);
    f.md = NULL;
    fx_close(&f);
}

/* ---- accounts and buckets ----------------------------------------------- */

static int
w_acct_delete(struct md_conn *c, void *arg)
{
    return md_account_delete(c, *(int64_t *)arg);
}

static int
w_bkt_delete(struct md_conn *c, void *arg)
{
    return md_bucket_delete(c, *(int64_t *)arg);
}

struct bset_arg {
    int64_t id;
    struct str lc;
};

static int
w_bkt_set(struct md_conn *c, void *arg)
{
    struct bset_arg *x = arg;
    int rc = md_bucket_set_versioning(c, x->id, MD_VER_ENABLED, MD_MFA_DISABLED);

    return rc < 0 ? rc : md_bucket_set_lifecycle(c, x->id, x->lc);
}

static void
test_accounts_buckets(void **state)
{
    struct fx f;
    struct acct_arg aa = {"bob", 0};
    struct bkt_arg ba = {"bkt", 0, 0};
    struct md_account acct, *accts;
    struct md_bucket b, *bkts;
    struct key_arg ka = {0};
    struct bset_arg bs;
    struct md_conn *r;
    struct md_version v;
    struct md_key k;
    size_t n;

    (void)state;
    fx_open_bucket(&f);
    r = md_reader(f.md);
    assert_int_equal(md_write(f.md, w_account, &aa), 0);
    assert_int_equal(md_write(f.md, w_account, &aa), -EEXIST);
    assert_int_equal(md_account_get(r, aa.id, f.a, &acct), 0);
    assert_true(str_eq_c(acct.name, "bob"));
    assert_int_equal(acct.canonical_id.n, 64);
    assert_int_equal(strspn(acct.canonical_id.p, "0123456789abcdef"), 64);
    assert_int_equal(acct.created_ms, 1000);
    assert_int_equal(md_account_get_by_name(r, STR_LIT("alice"), f.a, &acct), 0);
    assert_int_equal(acct.id, f.acct);
    assert_int_equal(md_account_get_by_name(r, STR_LIT("carol"), f.a, &acct), -ENOENT);
    assert_int_equal(md_account_get(r, 12345, f.a, &acct), -ENOENT);
    assert_int_equal(md_account_list(r, f.a, &accts, &n), 0);
    assert_int_equal(n, 2);
    assert_true(str_eq_c(accts[0].name, "alice"));
    assert_true(str_eq_c(accts[1].name, "bob"));

    /* Bucket names are global. */
    ba.acct = aa.id;
    assert_int_equal(md_write(f.md, w_bucket, &ba), -EEXIST);
    ba.name = "abc";
    assert_int_equal(md_write(f.md, w_bucket, &ba), 0);
    ba.acct = 777;
    ba.name = "orphan";
    assert_int_equal(md_write(f.md, w_bucket, &ba), -ENOENT);
    assert_int_equal(md_bucket_get(r, STR_LIT("bkt"), f.a, &b), 0);
    assert_int_equal(b.id, f.bkt);
    assert_int_equal(b.account_id, f.acct);
    assert_true(str_eq_c(b.region, "us-east-1"));
    assert_int_equal(b.versioning, MD_VER_NONE);
    assert_int_equal(b.mfa_delete, MD_MFA_UNSET);
    assert_null(b.lifecycle.p);
    assert_int_equal(md_bucket_get(r, STR_LIT("nope"), f.a, &b), -ENOENT);
    assert_int_equal(md_bucket_list(r, 0, f.a, &bkts, &n), 0);
    assert_int_equal(n, 2);
    assert_true(str_eq_c(bkts[0].name, "abc"));
    assert_true(str_eq_c(bkts[1].name, "bkt"));
    assert_int_equal(md_bucket_list(r, f.acct, f.a, &bkts, &n), 0);
    assert_int_equal(n, 1);
    assert_true(str_eq_c(bkts[0].name, "bkt"));

    bs.id = f.bkt;
    bs.lc = STR_LIT("<LifecycleConfiguration/>");
    assert_int_equal(md_write(f.md, w_bkt_set, &bs), 0);
    assert_int_equal(md_bucket_get(r, STR_LIT("bkt"), f.a, &b), 0);
    assert_int_equal(b.versioning, MD_VER_ENABLED);
    assert_int_equal(b.mfa_delete, MD_MFA_DISABLED);
    assert_true(str_eq_c(b.lifecycle, "<LifecycleConfiguration/>"));
    bs.lc = STR_NULL;
    assert_int_equal(md_write(f.md, w_bkt_set, &bs), 0);
    assert_int_equal(md_bucket_get(r, STR_LIT("bkt"), f.a, &b), 0);
    assert_null(b.lifecycle.p);
    bs.id = 4242;
    assert_int_equal(md_write(f.md, w_bkt_set, &bs), -ENOENT);

    /* A bucket with any version, even only a marker, cannot go. */
    assert_int_equal(put(&f, "k", 1, true, STR_NULL, &v), 0);
    assert_int_equal(md_write(f.md, w_bkt_delete, &f.bkt), -ENOTEMPTY);
    assert_int_equal(md_write(f.md, w_acct_delete, &f.acct), -ENOTEMPTY);
    assert_int_equal(vdel(&f, v.seq), 0);
    assert_int_equal(md_write(f.md, w_bkt_delete, &f.bkt), 0);
    assert_int_equal(md_write(f.md, w_bkt_delete, &f.bkt), -ENOENT);

    /* Deleting an account takes its keys along. */
    ka.k.access_key_id = STR_LIT("AKIDALICE");
    ka.k.account_id = f.acct;
    ka.k.secret = STR_LIT("s");
    assert_int_equal(md_write(f.md, w_key, &ka), 0);
    assert_int_equal(md_write(f.md, w_acct_delete, &f.acct), 0);
    assert_int_equal(md_key_get(r, STR_LIT("AKIDALICE"), f.a, &k), -ENOENT);
    assert_int_equal(md_write(f.md, w_acct_delete, &f.acct), -ENOENT);
    fx_close(&f);
}

/* Readers are read-only: writes belong in md_write(). */
static void
test_reader_readonly(void **state)
{
    struct fx f;
    int64_t id;

    (void)state;
    fx_open(&f);
    assert_int_equal(md_account_create(md_reader(f.md), STR_LIT("x"), 1, &id), -EIO);
    assert_non_null(strstr(md_errmsg(md_reader(f.md)), "readonly"));
    fx_close(&f);
}

/* ---- versions ----------------------------------------------------------- */

static void
test_versions(void **state)
{
    struct fx f;
    struct md_version v1, v2, v3, g, nv;
    struct md_conn *r;
    int64_t seq, n, a_v2;

    (void)state;
    fx_open_bucket(&f);
    r = md_reader(f.md);
    assert_int_equal(md_version_get(r, f.bkt, STR_LIT("a"), STR_NULL, f.a, &g), -ENOENT);
    assert_int_equal(put(&f, "a", 1, false, STR_NULL, &v1), 0);
    assert_int_equal(put(&f, "a", 1, false, STR_NULL, &v2), 0);
    assert_int_equal(put(&f, "a", 1, true, STR_NULL, &v3), 0);
    assert_true(v1.seq < v2.seq && v2.seq < v3.seq);
    assert_int_equal(v3.version_id.n, MD_VID_LEN);
    assert_int_equal(md_vid_parse(v3.version_id, &seq), 0);
    assert_int_equal(seq, v3.seq);
    assert_true(v3.is_latest);

    /* Latest is the marker; older rows lost is_latest. */
    assert_int_equal(md_version_get(r, f.bkt, STR_LIT("a"), STR_NULL, f.a, &g), 0);
    assert_int_equal(g.seq, v3.seq);
    assert_true(g.is_latest && g.is_delete_marker);
    assert_null(g.inline_data.p);
    assert_non_null(g.blob_id.p);
    assert_int_equal(g.blob_id.n, 0);
    assert_int_equal(g.etag.n, 0);
    assert_int_equal(md_version_get(r, f.bkt, STR_LIT("a"), v1.version_id, f.a, &g), 0);
    assert_int_equal(g.seq, v1.seq);
    assert_false(g.is_latest);
    assert_true(str_eq_c(g.inline_data, "hello"));
    assert_true(str_eq_c(g.etag, "5d41402abc4b2a76b9719d911017c592"));
    assert_true(str_eq_c(g.content_type, "text/plain"));
    assert_int_equal(g.size, 5);
    assert_int_equal(g.mtime_ms, 42);
    assert_int_equal(g.owner_id, f.acct);
    assert_int_equal(md_version_get(r, f.bkt, STR_LIT("a"), STR_LIT("zzz"), f.a, &g), -ENOENT);

    /* Deleting the latest promotes the next newest. */
    assert_int_equal(vdel(&f, v3.seq), 0);
    assert_int_equal(vdel(&f, v3.seq), -ENOENT);
    assert_int_equal(md_version_get(r, f.bkt, STR_LIT("a"), STR_NULL, f.a, &g), 0);
    assert_int_equal(g.seq, v2.seq);
    assert_true(g.is_latest);
    /* Deleting an older one leaves the latest alone. */
    assert_int_equal(vdel(&f, v1.seq), 0);
    assert_int_equal(md_version_get(r, f.bkt, STR_LIT("a"), STR_NULL, f.a, &g), 0);
    assert_int_equal(g.seq, v2.seq);
    assert_true(g.is_latest);

    /* The null version and duplicates. */
    assert_int_equal(put(&f, "a", 1, false, STR_LIT("null"), &nv), 0);
    assert_true(str_eq_c(nv.version_id, "null"));
    assert_int_equal(put(&f, "a", 1, false, STR_LIT("null"), NULL), -EEXIST);
    assert_int_equal(md_version_get(r, f.bkt, STR_LIT("a"), STR_NULL, f.a, &g), 0);
    assert_int_equal(g.seq, nv.seq);
    assert_int_equal(md_version_get(r, f.bkt, STR_LIT("a"), v2.version_id, f.a, &g), 0);
    assert_false(g.is_latest);
    a_v2 = v2.seq;
    assert_int_equal(md_bucket_count_versions(r, f.bkt, &n), 0);
    assert_int_equal(n, 2);

    /* seq is never reused, even after deleting the newest row. */
    assert_int_equal(vdel(&f, nv.seq), 0);
    assert_int_equal(put(&f, "b", 1, false, STR_NULL, &v1), 0);
    assert_true(v1.seq > nv.seq);
    assert_int_equal(vdel(&f, v1.seq), 0);
    md_close(f.md);
    assert_int_equal(md_open(f.dir, &f.md), 0);
    assert_int_equal(put(&f, "b", 1, false, STR_NULL, &v2), 0);
    assert_true(v2.seq > v1.seq);
    assert_int_equal(md_version_get(md_reader(f.md), f.bkt, STR_LIT("a"), STR_NULL, f.a, &g), 0);
    assert_int_equal(g.seq, a_v2);
    assert_true(g.is_latest);
    fx_close(&f);
}

struct blobref_arg {
    const char *blob_id;
    struct arena *a;
    struct fx *f;
};

static int
w_put_blob(struct md_conn *c, void *arg)
{
    struct blobref_arg *x = arg;
    struct md_version v = {0};

    v.bucket_id = x->f->bkt;
    v.key = STR_LIT("big");
    v.size = 1 << 20;
    v.blob_id = str_c(x->blob_id);
    v.checksum_algo = STR_LIT("CRC32C");
    v.checksum_value = STR_LIT("AAAAAA==");
    v.meta = STR_LIT("x-amz-meta-a: b\n");
    v.parts_count = 3;
    return md_version_insert(c, &v, x->a);
}

static void
test_blob_referenced(void **state)
{
    struct fx f;
    struct blobref_arg x;
    struct md_version g, *rows;
    struct md_conn *r;
    size_t n;

    (void)state;
    fx_open_bucket(&f);
    r = md_reader(f.md);
    x = (struct blobref_arg){"0123456789abcdef0123456789abcdef", f.a, &f};
    assert_int_equal(md_write(f.md, w_put_blob, &x), 0);
    assert_int_equal(md_blob_referenced(r, STR_LIT("0123456789abcdef0123456789abcdef")), 1);
    assert_int_equal(md_blob_referenced(r, STR_LIT("ffffffffffffffffffffffffffffffff")), 0);
    assert_int_equal(md_blob_referenced(r, STR_LIT("")), 0); /* inline rows store NULL */
    assert_int_equal(md_version_get(r, f.bkt, STR_LIT("big"), STR_NULL, f.a, &g), 0);
    assert_true(str_eq_c(g.blob_id, "0123456789abcdef0123456789abcdef"));
    assert_null(g.inline_data.p);
    assert_int_equal(g.parts_count, 3);
    assert_true(str_eq_c(g.checksum_algo, "CRC32C"));
    assert_true(str_eq_c(g.checksum_value, "AAAAAA=="));
    assert_true(str_eq_c(g.meta, "x-amz-meta-a: b\n"));
    assert_int_equal(md_list_objects(r, f.bkt, STR_NULL, STR_NULL, false, 10, f.a, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_true(str_eq_c(rows[0].blob_id, "0123456789abcdef0123456789abcdef"));
    assert_null(rows[0].inline_data.p);
    assert_int_equal(rows[0].size, 1 << 20);
    fx_close(&f);
}

/* ---- listing ------------------------------------------------------------ */

/* Keys in byte order, with 0xFF bytes around prefix boundaries. */
static const struct str sorted_keys[] = {
    STR_LIT("a"),        STR_LIT("a/b"),      STR_LIT("a\xff"), STR_LIT("a\xff" "b"),
    STR_LIT("a\xff\xff"), STR_LIT("a\xff\xff" "c"), STR_LIT("b"), STR_LIT("\xc3\xa9"),
    STR_LIT("\xff"),     STR_LIT("\xff\xff"),
};

/* Inserts sorted_keys in scrambled order; key i gets i % 3 + 1 versions and
 * key 6 ("b") a delete marker on top. */
static void
fill(struct fx *f)
{
    static const int order[] = {6, 2, 9, 0, 4, 8, 1, 5, 3, 7};

    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < ARRAY_LEN(order); i++) {
            int k = order[i];

            if (round < k % 3 + 1)
                assert_int_equal(
                    put(f, sorted_keys[k].p, sorted_keys[k].n, false, STR_NULL, NULL), 0);
        }
    }
    assert_int_equal(put(f, "b", 1, true, STR_NULL, NULL), 0);
}

static void
test_list_objects(void **state)
{
    struct fx f;
    struct md_version *rows;
    struct md_conn *r;
    struct str after = STR_NULL;
    size_t n, got = 0;

    (void)state;
    fx_open_bucket(&f);
    fill(&f);
    r = md_reader(f.md);

    /* Everything but "b" (a marker is its latest), in byte order. */
    assert_int_equal(md_list_objects(r, f.bkt, STR_NULL, STR_NULL, false, 100, f.a, &rows, &n), 0);
    assert_int_equal(n, ARRAY_LEN(sorted_keys) - 1);
    for (size_t i = 0, k = 0; i < n; i++, k++) {
        if (k == 6)
            k++;
        assert_true(str_eq(rows[i].key, sorted_keys[k]));
        assert_true(rows[i].is_latest);
        assert_false(rows[i].is_delete_marker);
    }

    /* Prefix ending in 0xFF: upper bound is "b". */
    assert_int_equal(
        md_list_objects(r, f.bkt, STR_LIT("a\xff"), STR_NULL, false, 100, f.a, &rows, &n), 0);
    assert_int_equal(n, 4);
    assert_true(str_eq(rows[0].key, sorted_keys[2]));
    assert_true(str_eq(rows[3].key, sorted_keys[5]));
    /* All-0xFF prefix: no upper bound. */
    assert_int_equal(
        md_list_objects(r, f.bkt, STR_LIT("\xff"), STR_NULL, false, 100, f.a, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_true(str_eq(rows[0].key, sorted_keys[8]));
    assert_true(str_eq(rows[1].key, sorted_keys[9]));
    assert_int_equal(
        md_list_objects(r, f.bkt, STR_LIT("a\xff\xff"), STR_NULL, false, 100, f.a, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(
        md_list_objects(r, f.bkt, STR_LIT("zz"), STR_NULL, false, 100, f.a, &rows, &n), 0);
    assert_int_equal(n, 0);

    /* Paging one key at a time reproduces the full listing. */
    for (;;) {
        assert_int_equal(
            md_list_objects(r, f.bkt, STR_LIT("a"), after, false, 1, f.a, &rows, &n), 0);
        if (n == 0)
            break;
        assert_int_equal(n, 1);
        assert_true(str_eq(rows[0].key, sorted_keys[got]));
        after = rows[0].key;
        got++;
    }
    assert_int_equal(got, 6);
    /* after inclusive; after before the prefix; after past the prefix. */
    assert_int_equal(
        md_list_objects(r, f.bkt, STR_LIT("a"), STR_LIT("a\xff"), true, 2, f.a, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_true(str_eq(rows[0].key, sorted_keys[2]));
    assert_true(str_eq(rows[1].key, sorted_keys[3]));
    assert_int_equal(
        md_list_objects(r, f.bkt, STR_LIT("a\xff"), STR_LIT("a"), false, 1, f.a, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_true(str_eq(rows[0].key, sorted_keys[2]));
    assert_int_equal(
        md_list_objects(r, f.bkt, STR_LIT("a"), STR_LIT("b"), false, 10, f.a, &rows, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(md_list_objects(r, f.bkt, STR_NULL, STR_NULL, false, 0, f.a, &rows, &n), 0);
    assert_int_equal(n, 0);
    fx_close(&f);
}

static void
test_list_versions(void **state)
{
    struct fx f;
    struct md_version *all, *rows;
    struct md_conn *r;
    struct str after = STR_NULL;
    int64_t after_seq = 0;
    size_t n_all, n, got;

    (void)state;
    fx_open_bucket(&f);
    fill(&f);
    r = md_reader(f.md);

    /* Keys ascending, seq descending within a key, latest first. */
    assert_int_equal(
        md_list_versions(r, f.bkt, STR_NULL, STR_NULL, false, 0, 1000, f.a, &all, &n_all), 0);
    assert_int_equal(n_all, 1 + 2 + 3 + 1 + 2 + 3 + 2 + 2 + 3 + 1);
    for (size_t i = 0, k = 0; i < n_all; i++) {
        if (i > 0 && !str_eq(all[i].key, all[i - 1].key))
            k++;
        assert_true(str_eq(all[i].key, sorted_keys[k]));
        if (i > 0 && str_eq(all[i].key, all[i - 1].key)) {
            assert_true(all[i].seq < all[i - 1].seq);
            assert_false(all[i].is_latest);
        } else {
            assert_true(all[i].is_latest);
        }
    }
    assert_true(all[12].is_delete_marker && str_eq_c(all[12].key, "b"));

    /* Paging by (key, seq) with every page size reproduces it. */
    for (size_t page = 1; page <= 4; page++) {
        after = STR_NULL;
        after_seq = 0;
        got = 0;
        for (;;) {
            assert_int_equal(
                md_list_versions(r, f.bkt, STR_NULL, after, false, after_seq, page, f.a, &rows, &n),
                0);
            assert_true(n <= page);
            for (size_t i = 0; i < n; i++)
                assert_int_equal(rows[i].seq, all[got + i].seq);
            got += n;
            if (n < page)
                break;
            after = rows[n - 1].key;
            after_seq = rows[n - 1].seq;
        }
        assert_int_equal(got, n_all);
    }

    /* Prefix with 0xFF and paging inside a multi-version key. */
    assert_int_equal(md_list_versions(r, f.bkt, STR_LIT("a\xff\xff"), STR_NULL, false, 0, 100, f.a,
                                      &rows, &n),
                     0);
    assert_int_equal(n, 2 + 3);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rows[i].seq, all[7 + i].seq);
    assert_true(str_eq(rows[0].key, sorted_keys[4]));
    assert_true(str_eq(rows[2].key, sorted_keys[5]));
    after_seq = rows[0].seq;
    assert_int_equal(md_list_versions(r, f.bkt, STR_LIT("a\xff\xff"), sorted_keys[4], false,
                                      after_seq, 100, f.a, &rows, &n),
                     0);
    assert_int_equal(n, 1 + 3);
    assert_int_equal(rows[0].seq, all[8].seq);
    assert_true(rows[0].seq < after_seq && !rows[0].is_latest);
    /* after_seq 0: past every version of after_key. */
    assert_int_equal(md_list_versions(r, f.bkt, STR_LIT("a\xff\xff"), sorted_keys[4], false, 0,
                                      100, f.a, &rows, &n),
                     0);
    assert_int_equal(n, 3);
    assert_true(str_eq(rows[0].key, sorted_keys[5]));
    /* inclusive: from after_key's newest version. */
    assert_int_equal(md_list_versions(r, f.bkt, STR_LIT("a\xff\xff"), sorted_keys[4], true, 0, 100,
                                      f.a, &rows, &n),
                     0);
    assert_int_equal(n, 5);
    assert_true(rows[0].is_latest);
    /* An all-0xFF prefix has no upper bound. */
    assert_int_equal(
        md_list_versions(r, f.bkt, STR_LIT("\xff"), STR_NULL, false, 0, 100, f.a, &rows, &n), 0);
    assert_int_equal(n, 3 + 1);
    fx_close(&f);
}

/* Every listing and lookup is an index search: no full scan, no sort. */
static void
test_query_plans(void **state)
{
    static const enum st scans_ok[] = {ST_ACCT_LIST, ST_BKT_LIST_ALL, ST_KEY_ANY, ST_V_NEXT_SEQ};
    static const enum st lists[] = {ST_LO_GT_HI, ST_LO_GE_HI, ST_LO_GT, ST_LO_GE,
                                    ST_LV_GT_HI, ST_LV_GE_HI, ST_LV_GT, ST_LV_GE};
    struct fx f;
    sqlite3_stmt *s;
    char path[128], sql[2048], plan[2048];

    (void)state;
    fx_open(&f);
    snprintf(path, sizeof(path), "%s/meta.db", f.dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    for (int id = 0; id < ST__COUNT; id++) {
        bool scan_ok = false, is_list = false;

        if (strncmp(st_sql[id], "SELECT", 6) != 0 && strncmp(st_sql[id], "UPDATE", 6) != 0 &&
            strncmp(st_sql[id], "DELETE", 6) != 0)
            continue;
        for (size_t i = 0; i < ARRAY_LEN(scans_ok); i++)
            scan_ok |= scans_ok[i] == (enum st)id;
        for (size_t i = 0; i < ARRAY_LEN(lists); i++)
            is_list |= lists[i] == (enum st)id;
        snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", st_sql[id]);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
        plan[0] = '\0';
        while (sqlite3_step(s) == SQLITE_ROW) {
            strncat(plan, (const char *)sqlite3_column_text(s, 3), sizeof(plan) - strlen(plan) - 2);
            strcat(plan, ";");
        }
        sqlite3_finalize(s);
        if (getenv("MD_SHOW_PLANS"))
            printf("%2d %s\n", id, plan);
        if (strstr(plan, "TEMP B-TREE") != NULL || (!scan_ok && strstr(plan, "SCAN") != NULL))
            fail_msg("statement %d: %s -> %s", id, st_sql[id], plan);
        if (is_list && (strstr(plan, "SEARCH versions USING INDEX") == NULL ||
                        strstr(plan, "key>") == NULL))
            fail_msg("list statement %d not a range scan: %s", id, plan);
        if (is_list && strstr(st_sql[id], " ?3") && strstr(plan, "key<?") == NULL)
            fail_msg("list statement %d lacks upper bound: %s", id, plan);
    }
    sqlite3_close(db);
    fx_close(&f);
}

/* ---- the writer: group commit and savepoints ---------------------------- */

struct hold_arg {
    struct md *md;
    size_t wait_for; /* returns once this many jobs are queued behind it */
    volatile int running;
};

static int
w_hold(struct md_conn *c, void *arg)
{
    struct hold_arg *h = arg;

    (void)c;
    __atomic_store_n(&h->running, 1, __ATOMIC_SEQ_CST);
    while (queued(h->md) < h->wait_for)
        usleep(1000);
    return 0;
}

static void *
hold_thread(void *arg)
{
    struct hold_arg *h = arg;

    assert_int_equal(md_write(h->md, w_hold, h), 0);
    return NULL;
}

struct job_arg {
    struct md *md;
    const char *name;
    int fail; /* fn inserts, then returns this */
    int rc;
};

static int
w_insert_maybe_fail(struct md_conn *c, void *arg)
{
    struct job_arg *j = arg;
    int64_t id;
    int rc = md_account_create(c, str_c(j->name), 1, &id);

    return rc < 0 ? rc : j->fail;
}

static void *
job_thread(void *arg)
{
    struct job_arg *j = arg;

    j->rc = md_write(j->md, w_insert_maybe_fail, j);
    return NULL;
}

/* Jobs queued while the writer is busy commit together; a failing one
 * rolls back only its own savepoint. */
static void
test_group_savepoints(void **state)
{
    struct fx f;
    struct hold_arg h;
    struct job_arg j[4] = {
        {.name = "one"},
        {.name = "two", .fail = -EINVAL},
        {.name = "three"},
        {.name = "one"}, /* duplicate of the first: -EEXIST from SQLite */
    };
    pthread_t th, tj[4];
    struct md_account acct;
    uint64_t c0, j0, c1, j1;

    (void)state;
    fx_open(&f);
    h = (struct hold_arg){.md = f.md, .wait_for = 4};
    stats(f.md, &c0, &j0);
    assert_int_equal(pthread_create(&th, NULL, hold_thread, &h), 0);
    while (!__atomic_load_n(&h.running, __ATOMIC_SEQ_CST))
        usleep(1000);
    /* Queue them in a known order: each waits until the previous is queued. */
    for (int i = 0; i < 4; i++) {
        j[i].md = f.md;
        assert_int_equal(pthread_create(&tj[i], NULL, job_thread, &j[i]), 0);
        while (queued(f.md) < (size_t)i + 1)
            usleep(500);
    }
    pthread_join(th, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(tj[i], NULL);
    stats(f.md, &c1, &j1);
    assert_int_equal(j1 - j0, 5);
    assert_int_equal(c1 - c0, 2); /* the holder's group, then all four together */
    assert_int_equal(j[0].rc, 0);
    assert_int_equal(j[1].rc, -EINVAL);
    assert_int_equal(j[2].rc, 0);
    assert_int_equal(j[3].rc, -EEXIST);
    assert_int_equal(md_account_get_by_name(md_reader(f.md), STR_LIT("one"), f.a, &acct), 0);
    assert_int_equal(md_account_get_by_name(md_reader(f.md), STR_LIT("two"), f.a, &acct),
                     -ENOENT);
    assert_int_equal(md_account_get_by_name(md_reader(f.md), STR_LIT("three"), f.a, &acct), 0);
    fx_close(&f);
}

#define N_THREADS 8
#define N_PER_THREAD 150

struct bulk_arg {
    struct fx *f;
    int t;
    int errors;
};

static void *
bulk_thread(void *arg)
{
    struct bulk_arg *b = arg;
    struct arena *a = arena_new();
    struct put_arg x;
    char key[32];

    for (int i = 0; i < N_PER_THREAD; i++) {
        snprintf(key, sizeof(key), "t%d/k%04d", b->t, i);
        memset(&x, 0, sizeof(x));
        x.a = a;
        x.v.bucket_id = b->f->bkt;
        x.v.key = str_c(key);
        x.v.inline_data = STR_LIT("x");
        x.v.size = 1;
        if (md_write(b->f->md, w_put, &x) != 0)
            b->errors++;
        /* Reads on this thread's own connection see its write. */
        struct md_version g;
        if (md_version_get(md_reader(b->f->md), b->f->bkt, str_c(key), STR_NULL, a, &g) != 0 ||
            g.seq != x.v.seq)
            b->errors++;
        arena_reset(a);
    }
    arena_free(a);
    return NULL;
}

static void
test_concurrent_writes(void **state)
{
    struct fx f;
    pthread_t th[N_THREADS];
    struct bulk_arg b[N_THREADS];
    uint64_t c0, j0, c1, j1;
    struct md_version *rows;
    int64_t n;
    size_t nr;

    (void)state;
    fx_open_bucket(&f);
    stats(f.md, &c0, &j0);
    for (int i = 0; i < N_THREADS; i++) {
        b[i] = (struct bulk_arg){&f, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, bulk_thread, &b[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(b[i].errors, 0);
    }
    stats(f.md, &c1, &j1);
    assert_int_equal(j1 - j0, N_THREADS * N_PER_THREAD);
    /* Group commit batches: far fewer commits than jobs. */
    print_message("    %llu jobs in %llu commits\n", (unsigned long long)(j1 - j0),
                  (unsigned long long)(c1 - c0));
    assert_true(c1 - c0 < (j1 - j0) * 3 / 4);
    assert_int_equal(md_bucket_count_versions(md_reader(f.md), f.bkt, &n), 0);
    assert_int_equal(n, N_THREADS * N_PER_THREAD);
    assert_int_equal(md_list_objects(md_reader(f.md), f.bkt, STR_LIT("t3/"), STR_NULL, false, 1000,
                                     f.a, &rows, &nr),
                     0);
    assert_int_equal(nr, N_PER_THREAD);
    fx_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vid_parse),
        cmocka_unit_test(test_vid_roundtrip),
        cmocka_unit_test(test_seal),
        cmocka_unit_test(test_master_key),
        cmocka_unit_test(test_key_sealing),
        cmocka_unit_test(test_accounts_buckets),
        cmocka_unit_test(test_reader_readonly),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_blob_referenced),
        cmocka_unit_test(test_list_objects),
        cmocka_unit_test(test_list_versions),
        cmocka_unit_test(test_query_plans),
        cmocka_unit_test(test_group_savepoints),
        cmocka_unit_test(test_concurrent_writes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
