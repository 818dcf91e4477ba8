/* test_md.c -- metadata store on temp directories: group commit, savepoint
 * rollback, versions, listing order and paging (0xFF bytes), query plans,
 * version ids, key sealing, master.key and meta.db permissions, IAM users,
 * MFA devices (seeds sealed), the append-only audit log, session keys, and
 * migration from schema version 1; plus crypto/seal.
 * Includes md_int.h to reach the statement table and group-commit counters. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "store/md.h"
#include "crypto/seal.h"
#include "store/md_int.h"
#include "store/md_schema.h"
#include "util/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

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
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", -EINVAL, 0},  /* seq 0 */
        {"gAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", -EINVAL, 0},  /* seq > INT64_MAX */
        {"AAAAAAAAAAEAAAAAAAAAAAAAAAAAAAA", -EINVAL, 0},   /* 31 chars */
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
        assert_int_equal(md_vid_make(seqs[i], a), 0);
        assert_int_equal(md_vid_make(seqs[i], b), 0);
        assert_int_equal(strlen(a), MD_VID_LEN);
        assert_int_not_equal(strcmp(a, b), 0); /* random tail */
        assert_int_equal(
            strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._"),
            MD_VID_LEN);
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
    /* clang-format off */
    static const unsigned char tc13[12 + 16] = {
        [12] = 0x53, 0x0f, 0x8a, 0xfb, 0xc7, 0x45, 0x36, 0xb9,
        0xa9, 0x63, 0xb4, 0xf1, 0xc4, 0xcb, 0x73, 0x8b};
    static const unsigned char tc14[12 + 16 + 16] = {
        [12] = 0xce, 0xa7, 0x40, 0x3d, 0x4d, 0x60, 0x6b, 0x6e,
        0x07, 0x4e, 0xc5, 0xd3, 0xba, 0xf3, 0x9d, 0x18,
        0xd0, 0xd1, 0xc8, 0xa7, 0x99, 0x99, 0x6b, 0xf0,
        0x26, 0x5b, 0x98, 0xb5, 0xd4, 0x8a, 0xb9, 0x19};
    /* clang-format on */
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
    assert_int_equal(md_key_get(md_reader(f.md), STR_LIT("AKIDEXAMPLE000000001"), f.a, &k), -EIO);
    assert_int_equal(md_key_get(md_reader(f.md), STR_LIT("AKIDEXAMPLE000000002"), f.a, &k), 0);
    md_close(f.md);

    /* Another master.key unseals nothing, not even the secret this thread
     * unsealed (and remembers) a moment ago with the right one. */
    snprintf(path, sizeof(path), "%s/master.key", f.dir);
    {
        unsigned char other[SEAL_KEY_LEN];
        int fd = open(path, O_WRONLY | O_TRUNC);
        memset(other, 7, sizeof(other));
        assert_true(fd >= 0);
        assert_int_equal(write(fd, other, sizeof(other)), (ssize_t)sizeof(other));
        close(fd);
    }
    /* The store's key check value refuses it at open (test_md_key.c); a
     * store from before check values takes it, and still unseals nothing. */
    assert_int_equal(md_open(f.dir, &f.md), -EKEYREJECTED);
    snprintf(path, sizeof(path), "%s/meta.db", f.dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DELETE FROM store_info", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    snprintf(path, sizeof(path), "%s/master.key", f.dir);
    assert_int_equal(md_open(f.dir, &f.md), 0);
    assert_int_equal(md_key_get(md_reader(f.md), STR_LIT("AKIDEXAMPLE000000002"), f.a, &k), -EIO);
    md_close(f.md);

    /* Sealed secrets exist: a missing master.key is an error, not a new key. */
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
/* clang-format off */
static const struct str sorted_keys[] = {
    STR_LIT("a"),        STR_LIT("a/b"),      STR_LIT("a\xff"), STR_LIT("a\xff" "b"),
    STR_LIT("a\xff\xff"), STR_LIT("a\xff\xff" "c"), STR_LIT("b"), STR_LIT("\xc3\xa9"),
    STR_LIT("\xff"),     STR_LIT("\xff\xff"),
};
/* clang-format on */

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
                assert_int_equal(put(f, sorted_keys[k].p, sorted_keys[k].n, false, STR_NULL, NULL),
                                 0);
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
    assert_int_equal(md_list_objects(r, f.bkt, STR_LIT("zz"), STR_NULL, false, 100, f.a, &rows, &n),
                     0);
    assert_int_equal(n, 0);

    /* Paging one key at a time reproduces the full listing. */
    for (;;) {
        assert_int_equal(md_list_objects(r, f.bkt, STR_LIT("a"), after, false, 1, f.a, &rows, &n),
                         0);
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
    assert_int_equal(
        md_list_versions(r, f.bkt, STR_LIT("a\xff\xff"), STR_NULL, false, 0, 100, f.a, &rows, &n),
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
    assert_int_equal(md_list_versions(r, f.bkt, STR_LIT("a\xff\xff"), sorted_keys[4], false, 0, 100,
                                      f.a, &rows, &n),
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
    /* USG_ROWS reads usage_daily whole (md_usage.h's readers): each bucket's
     * latest row needs every bucket's rows. */
    static const enum st scans_ok[] = {ST_ACCT_LIST, ST_BKT_LIST_ALL, ST_KEY_ANY, ST_V_NEXT_SEQ,
                                       ST_USG_ROWS, ST_BKT_STATS};
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

        if (strncmp(md_st_sql[id], "SELECT", 6) != 0 && strncmp(md_st_sql[id], "UPDATE", 6) != 0 &&
            strncmp(md_st_sql[id], "DELETE", 6) != 0)
            continue;
        for (size_t i = 0; i < ARRAY_LEN(scans_ok); i++)
            scan_ok |= scans_ok[i] == (enum st)id;
        for (size_t i = 0; i < ARRAY_LEN(lists); i++)
            is_list |= lists[i] == (enum st)id;
        snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", md_st_sql[id]);
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
            fail_msg("statement %d: %s -> %s", id, md_st_sql[id], plan);
        if (is_list && (strstr(plan, "SEARCH versions USING ") == NULL ||
                        strstr(plan, "INDEX") == NULL || strstr(plan, "key>") == NULL))
            fail_msg("list statement %d not a range scan: %s", id, plan);
        /* Version listings read the index alone (no table lookup per row). */
        if (is_list && strstr(md_st_sql[id], "versions_key_seq") &&
            strstr(plan, "USING COVERING INDEX versions_key_seq") == NULL)
            fail_msg("version listing %d not from the covering index: %s", id, plan);
        if (is_list && strstr(md_st_sql[id], " ?3") && strstr(plan, "key<?") == NULL)
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

/* Jobs queued while a group runs join it and commit with it; a failing
 * one rolls back only its own savepoint. */
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
        /* The holder keeps the writer busy until all four are queued, so
         * the queue cannot drain before the last one arrives. */
        while (i < 3 && queued(f.md) < (size_t)i + 1)
            usleep(500);
    }
    pthread_join(th, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(tj[i], NULL);
    stats(f.md, &c1, &j1);
    assert_int_equal(j1 - j0, 5);
    assert_int_equal(c1 - c0, 1); /* the holder's group, the four joined it */
    assert_int_equal(j[0].rc, 0);
    assert_int_equal(j[1].rc, -EINVAL);
    assert_int_equal(j[2].rc, 0);
    assert_int_equal(j[3].rc, -EEXIST);
    assert_int_equal(md_account_get_by_name(md_reader(f.md), STR_LIT("one"), f.a, &acct), 0);
    assert_int_equal(md_account_get_by_name(md_reader(f.md), STR_LIT("two"), f.a, &acct), -ENOENT);
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

/* ---- IAM users, MFA devices, audit, session keys ------------------------- */

/* One write closure for the tests below: op selects the md_* call. */
enum op {
    OP_ACCT,
    OP_ACCT_DEL,
    OP_USER,
    OP_USER_DEL,
    OP_KEY,
    OP_MFA,
    OP_MFA_STATE,
    OP_MFA_ENABLE,
    OP_MFA_DEL,
    OP_AUDIT,
    OP_SQL, /* raw SQL on the writer connection */
};

struct opx {
    enum op op;
    int64_t account_id, user_id, id, now_ms;
    struct str name;
    bool enabled;
    struct md_key k;
    struct md_mfa_device d;
    struct md_audit e;
    struct {
        int64_t last_step, offset_steps, fail_start_s;
        int fail_count;
    } st;
    const char *sql;
};

static int
w_op(struct md_conn *c, void *arg)
{
    struct opx *x = arg;

    switch (x->op) {
    case OP_ACCT:
        return md_account_create(c, x->name, x->now_ms, &x->id);
    case OP_ACCT_DEL:
        return md_account_delete(c, x->id);
    case OP_USER:
        return md_user_create(c, x->account_id, x->name, x->now_ms, &x->id);
    case OP_USER_DEL:
        return md_user_delete(c, x->id);
    case OP_KEY:
        return md_key_create(c, &x->k);
    case OP_MFA:
        return md_mfa_create(c, &x->d);
    case OP_MFA_STATE:
        return md_mfa_set_state(c, x->id, x->st.last_step, x->st.offset_steps, x->st.fail_start_s,
                                x->st.fail_count);
    case OP_MFA_ENABLE:
        return md_mfa_set_enabled(c, x->id, x->enabled, x->user_id, x->now_ms);
    case OP_MFA_DEL:
        return md_mfa_delete(c, x->id);
    case OP_AUDIT:
        return md_audit_append(c, &x->e);
    case OP_SQL:
        return sqlite3_exec(c->db, x->sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EPERM;
    }
    return -EINVAL;
}

static int
op(struct md *md, struct opx *x)
{
    return md_write(md, w_op, x);
}

static int64_t
mk_account(struct md *md, const char *name)
{
    struct opx x = {.op = OP_ACCT, .name = str_c(name), .now_ms = 1000};

    assert_int_equal(op(md, &x), 0);
    return x.id;
}

static int
mk_user(struct md *md, int64_t account_id, const char *name, int64_t *id)
{
    struct opx x = {.op = OP_USER, .account_id = account_id, .name = str_c(name), .now_ms = 3000};
    int rc = op(md, &x);

    if (rc == 0 && id != NULL)
        *id = x.id;
    return rc;
}

static int
mk_key(struct md *md, const char *akid, int64_t account_id, int64_t user_id)
{
    struct opx x = {.op = OP_KEY};

    x.k.access_key_id = str_c(akid);
    x.k.account_id = account_id;
    x.k.user_id = user_id;
    x.k.secret = STR_LIT("secret-of-the-key");
    x.k.created_ms = 5;
    x.k.is_active = true;
    return op(md, &x);
}

/* A device with the given seed; enabled iff user_id >= 0. */
static int
mk_mfa(struct md *md, int64_t account_id, int64_t user_id, const char *serial, struct str seed,
       int64_t *id)
{
    struct opx x = {.op = OP_MFA};
    int rc;

    x.d.account_id = account_id;
    x.d.user_id = user_id;
    x.d.serial = str_c(serial);
    x.d.name = STR_LIT("dev");
    x.d.is_virtual = true;
    x.d.is_enabled = user_id >= 0;
    x.d.seed = seed;
    x.d.created_ms = 11;
    x.d.enabled_ms = user_id >= 0 ? 12 : 0;
    rc = op(md, &x);
    if (rc == 0 && id != NULL)
        *id = x.d.id;
    return rc;
}

static int
mfa_enable(struct md *md, int64_t id, bool enabled, int64_t user_id, int64_t now_ms)
{
    struct opx x = {
        .op = OP_MFA_ENABLE, .id = id, .enabled = enabled, .user_id = user_id, .now_ms = now_ms};

    return op(md, &x);
}

static int
del(struct md *md, enum op o, int64_t id)
{
    struct opx x = {.op = o, .id = id};

    return op(md, &x);
}

static int
sql(struct md *md, const char *text)
{
    struct opx x = {.op = OP_SQL, .sql = text};

    return op(md, &x);
}

static mode_t
file_mode(const char *dir, const char *name)
{
    char path[128];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (stat(path, &st) < 0)
        return (mode_t)-1;
    return st.st_mode & 0777;
}

static void
test_users(void **state)
{
    struct fx f;
    struct md_user u, *us;
    struct md_key k;
    struct md_conn *r;
    int64_t a1, a2, alice, bob, carol, other, id;
    size_t n;

    (void)state;
    fx_open(&f);
    r = md_reader(f.md);
    a1 = mk_account(f.md, "acme");
    a2 = mk_account(f.md, "globex");
    assert_int_equal(mk_user(f.md, a1, "carol", &carol), 0);
    assert_int_equal(mk_user(f.md, a1, "alice", &alice), 0);
    assert_int_equal(mk_user(f.md, a1, "bob", &bob), 0);
    assert_true(carol > 0 && alice > carol && bob > alice);
    /* AWS: IAM user names are unique per account regardless of case. */
    assert_int_equal(mk_user(f.md, a1, "alice", NULL), -EEXIST);
    assert_int_equal(mk_user(f.md, a1, "ALICE", NULL), -EEXIST);
    assert_int_equal(mk_user(f.md, a2, "alice", &other), 0); /* other account: fine */
    assert_int_equal(mk_user(f.md, 4242, "zed", NULL), -ENOENT);
    assert_int_equal(mk_user(f.md, a1, "", NULL), -EINVAL);

    assert_int_equal(md_user_get(r, alice, f.a, &u), 0);
    assert_int_equal(u.id, alice);
    assert_int_equal(u.account_id, a1);
    assert_true(str_eq_c(u.name, "alice"));
    assert_int_equal(u.created_ms, 3000);
    assert_int_equal(md_user_get(r, 999999, f.a, &u), -ENOENT);
    assert_int_equal(md_user_get_by_name(r, a1, STR_LIT("Bob"), f.a, &u), 0);
    assert_int_equal(u.id, bob);
    assert_true(str_eq_c(u.name, "bob")); /* stored spelling */
    assert_int_equal(md_user_get_by_name(r, a2, STR_LIT("alice"), f.a, &u), 0);
    assert_int_equal(u.id, other);
    assert_int_equal(md_user_get_by_name(r, a2, STR_LIT("bob"), f.a, &u), -ENOENT);
    assert_int_equal(md_user_list(r, a1, f.a, &us, &n), 0);
    assert_int_equal(n, 3);
    assert_true(str_eq_c(us[0].name, "alice"));
    assert_true(str_eq_c(us[1].name, "bob"));
    assert_true(str_eq_c(us[2].name, "carol"));
    assert_int_equal(us[2].id, carol);
    assert_int_equal(md_user_list(r, 4242, f.a, &us, &n), 0);
    assert_int_equal(n, 0);

    /* Keys of users: only users of the key's own account. */
    assert_int_equal(mk_key(f.md, "AKROOT1", a1, 0), 0);
    assert_int_equal(mk_key(f.md, "AKALICE1", a1, alice), 0);
    assert_int_equal(mk_key(f.md, "AKALICE2", a1, alice), 0);
    assert_int_equal(mk_key(f.md, "AKBOB1", a1, bob), 0);
    assert_int_equal(mk_key(f.md, "AKCROSS", a2, alice), -ENOENT);
    assert_int_equal(mk_key(f.md, "AKGHOST", a1, 777777), -ENOENT);
    assert_int_equal(mk_key(f.md, "AKNEG", a1, -1), -EINVAL);
    assert_int_equal(md_key_get(r, STR_LIT("AKALICE1"), f.a, &k), 0);
    assert_int_equal(k.user_id, alice);
    assert_int_equal(k.account_id, a1);

    /* An assigned MFA device blocks the delete (IAM DeleteConflict). */
    assert_int_equal(mk_mfa(f.md, a1, alice, "arn:aws:iam::000000000001:mfa/alice",
                            STR_LIT("0123456789abcdefghij"), &id),
                     0);
    assert_int_equal(del(f.md, OP_USER_DEL, alice), -ENOTEMPTY);
    assert_int_equal(md_user_get(r, alice, f.a, &u), 0);
    assert_int_equal(md_key_get(r, STR_LIT("AKALICE1"), f.a, &k), 0);
    assert_int_equal(mfa_enable(f.md, id, false, -1, 0), 0);
    assert_int_equal(del(f.md, OP_USER_DEL, alice), 0);
    assert_int_equal(md_user_get(r, alice, f.a, &u), -ENOENT);
    assert_int_equal(del(f.md, OP_USER_DEL, alice), -ENOENT);
    /* Its keys went with it; root's and bob's stayed. */
    assert_int_equal(md_key_get(r, STR_LIT("AKALICE1"), f.a, &k), -ENOENT);
    assert_int_equal(md_key_get(r, STR_LIT("AKALICE2"), f.a, &k), -ENOENT);
    assert_int_equal(md_key_get(r, STR_LIT("AKROOT1"), f.a, &k), 0);
    assert_int_equal(md_key_get(r, STR_LIT("AKBOB1"), f.a, &k), 0);
    /* The unassigned device stays with the account; it can't go to alice now. */
    assert_int_equal(mfa_enable(f.md, id, true, alice, 5), -ENOENT);

    /* User ids are never reused, not even the newest one's. */
    assert_int_equal(del(f.md, OP_USER_DEL, other), 0);
    assert_int_equal(mk_user(f.md, a2, "dave", &id), 0);
    assert_true(id > other);
    assert_int_equal(mk_user(f.md, a1, "alice", &id), 0); /* the name is free again */
    assert_true(id > other);
    fx_close(&f);
}

static void
test_mfa_devices(void **state)
{
    /* RFC 6238's SHA-1 key would be too easy to find by accident; this
     * canary is not. 38 bytes. */
    static const struct str seed = STR_LIT("SEED-PLAINTEXT-CANARY-0123456789abcdef");
    char seed64[MD_MFA_SEED_MAX + 1];
    struct fx f;
    struct md_mfa_device d, *ds;
    struct md_conn *r;
    struct opx x;
    int64_t a1, a2, u1, u2, id_b, id_a, id_c, id_h, id;
    char path[128];
    sqlite3 *db;
    size_t n;

    (void)state;
    memset(seed64, 'k', sizeof(seed64));
    fx_open(&f);
    r = md_reader(f.md);
    a1 = mk_account(f.md, "acme");
    a2 = mk_account(f.md, "globex");
    assert_int_equal(mk_user(f.md, a1, "u1", &u1), 0);
    assert_int_equal(mk_user(f.md, a2, "u2", &u2), 0);

    /* Created out of order: listings sort by serial. */
    assert_int_equal(mk_mfa(f.md, a1, -1, "arn:aws:iam::000000000001:mfa/b", seed, &id_b), 0);
    assert_int_equal(mk_mfa(f.md, a1, 0, "arn:aws:iam::000000000001:mfa/a", seed, &id_a), 0);
    assert_int_equal(mk_mfa(f.md, a1, u1, "arn:aws:iam::000000000001:mfa/c", seed, &id_c), 0);
    assert_int_equal(mk_mfa(f.md, a2, -1, "GAHT12345678", seed, &id_h), 0);
    assert_true(id_b > 0 && id_a > id_b && id_c > id_a && id_h > id_c);
    /* Serials are global. */
    assert_int_equal(mk_mfa(f.md, a2, -1, "arn:aws:iam::000000000001:mfa/a", seed, NULL), -EEXIST);
    /* Seeds: capped, never empty. */
    assert_int_equal(mk_mfa(f.md, a1, -1, "s65", str_make(seed64, MD_MFA_SEED_MAX + 1), NULL),
                     -E2BIG);
    assert_int_equal(mk_mfa(f.md, a1, -1, "s64", str_make(seed64, MD_MFA_SEED_MAX), &id), 0);
    assert_int_equal(md_mfa_get(r, STR_LIT("s64"), f.a, &d), 0);
    assert_int_equal(d.seed.n, MD_MFA_SEED_MAX);
    assert_memory_equal(d.seed.p, seed64, MD_MFA_SEED_MAX);
    assert_int_equal(del(f.md, OP_MFA_DEL, id), 0);
    assert_int_equal(mk_mfa(f.md, a1, -1, "s0", STR_LIT(""), NULL), -EINVAL);
    /* Owner must be root or a user of the device's account. */
    assert_int_equal(mk_mfa(f.md, a1, u2, "cross", seed, NULL), -ENOENT);
    assert_int_equal(mk_mfa(f.md, a1, 999999, "ghost", seed, NULL), -ENOENT);
    assert_int_equal(mk_mfa(f.md, 4242, -1, "noacct", seed, NULL), -ENOENT);
    /* Enabled exactly when assigned. */
    memset(&x, 0, sizeof(x));
    x.op = OP_MFA;
    x.d.account_id = a1;
    x.d.user_id = -1;
    x.d.is_enabled = true;
    x.d.serial = STR_LIT("bad");
    x.d.seed = seed;
    assert_int_equal(op(f.md, &x), -EINVAL);
    x.d.user_id = 0;
    x.d.is_enabled = false;
    assert_int_equal(op(f.md, &x), -EINVAL);
    x.d.user_id = -2;
    assert_int_equal(op(f.md, &x), -EINVAL);
    assert_int_equal(md_mfa_get(r, STR_LIT("bad"), f.a, &d), -ENOENT);

    /* get: exact serial, seed unsealed, defaults. */
    assert_int_equal(md_mfa_get(r, STR_LIT("arn:aws:iam::000000000001:mfa/c"), f.a, &d), 0);
    assert_int_equal(d.id, id_c);
    assert_int_equal(d.account_id, a1);
    assert_int_equal(d.user_id, u1);
    assert_true(d.is_enabled);
    assert_true(d.is_virtual);
    assert_true(str_eq_c(d.name, "dev"));
    assert_true(str_eq_c(d.path, "/"));
    assert_int_equal(d.created_ms, 11);
    assert_int_equal(d.enabled_ms, 12);
    assert_int_equal(d.last_step, 0);
    assert_int_equal(d.fail_count, 0);
    assert_true(str_eq(d.seed, seed));
    assert_int_equal(md_mfa_get(r, STR_LIT("ARN:AWS:IAM::000000000001:MFA/C"), f.a, &d), -ENOENT);
    assert_int_equal(md_mfa_get(r, STR_LIT("arn:aws:iam::000000000001:mfa/"), f.a, &d), -ENOENT);

    /* list: by serial, filtered by owner, never with seeds. */
    assert_int_equal(md_mfa_list(r, a1, -1, f.a, &ds, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(ds[0].id, id_a);
    assert_int_equal(ds[1].id, id_b);
    assert_int_equal(ds[2].id, id_c);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(ds[i].seed.p);
        assert_int_equal(ds[i].seed.n, 0);
    }
    assert_int_equal(ds[1].user_id, -1);
    assert_false(ds[1].is_enabled);
    /* Owner: the assignee when created enabled, else the creator (0 here). */
    assert_int_equal(ds[0].owner_id, 0);
    assert_int_equal(ds[1].owner_id, 0);
    assert_int_equal(ds[2].owner_id, u1);
    /* Enabling makes the assignee the owner; deactivating keeps it. */
    assert_int_equal(mfa_enable(f.md, id_b, true, u1, 20), 0);
    assert_int_equal(mfa_enable(f.md, id_b, false, -1, 21), 0);
    assert_int_equal(md_mfa_get(r, STR_LIT("arn:aws:iam::000000000001:mfa/b"), f.a, &d), 0);
    assert_int_equal(d.user_id, -1);
    assert_int_equal(d.owner_id, u1);
    /* A free device created by an IAM user belongs to that user, who must
     * be of the device's account. */
    memset(&x, 0, sizeof(x));
    x.op = OP_MFA;
    x.d.account_id = a1;
    x.d.user_id = -1;
    x.d.owner_id = u1;
    x.d.serial = STR_LIT("by-u1");
    x.d.seed = seed;
    assert_int_equal(op(f.md, &x), 0);
    assert_int_equal(md_mfa_get(r, STR_LIT("by-u1"), f.a, &d), 0);
    assert_int_equal(d.owner_id, u1);
    assert_int_equal(del(f.md, OP_MFA_DEL, d.id), 0);
    x.d.owner_id = u2;
    x.d.serial = STR_LIT("by-u2");
    assert_int_equal(op(f.md, &x), -ENOENT);
    assert_int_equal(md_mfa_list(r, a1, 0, f.a, &ds, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ds[0].id, id_a);
    assert_int_equal(md_mfa_list(r, a1, u1, f.a, &ds, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ds[0].id, id_c);
    assert_int_equal(md_mfa_list(r, a2, -1, f.a, &ds, &n), 0);
    assert_int_equal(n, 1);
    assert_true(str_eq_c(ds[0].serial, "GAHT12345678"));
    assert_int_equal(md_mfa_list(r, a2, u1, f.a, &ds, &n), 0);
    assert_int_equal(n, 0);

    /* TOTP state round trip, including values past 32 bits. */
    memset(&x, 0, sizeof(x));
    x.op = OP_MFA_STATE;
    x.id = id_a;
    x.st.last_step = 58000000123LL;
    x.st.offset_steps = -3;
    x.st.fail_start_s = 1740000000123LL;
    x.st.fail_count = 4;
    assert_int_equal(op(f.md, &x), 0);
    assert_int_equal(md_mfa_get(r, STR_LIT("arn:aws:iam::000000000001:mfa/a"), f.a, &d), 0);
    assert_int_equal(d.last_step, 58000000123LL);
    assert_int_equal(d.offset_steps, -3);
    assert_int_equal(d.fail_start_s, 1740000000123LL);
    assert_int_equal(d.fail_count, 4);
    assert_true(str_eq(d.seed, seed));
    x.id = 999999;
    assert_int_equal(op(f.md, &x), -ENOENT);

    /* Enable / unassign. */
    assert_int_equal(mfa_enable(f.md, id_b, true, u1, 777), 0);
    assert_int_equal(md_mfa_get(r, STR_LIT("arn:aws:iam::000000000001:mfa/b"), f.a, &d), 0);
    assert_true(d.is_enabled);
    assert_int_equal(d.user_id, u1);
    assert_int_equal(d.enabled_ms, 777);
    assert_int_equal(mfa_enable(f.md, id_b, false, -1, 888), 0);
    assert_int_equal(md_mfa_get(r, STR_LIT("arn:aws:iam::000000000001:mfa/b"), f.a, &d), 0);
    assert_false(d.is_enabled);
    assert_int_equal(d.user_id, -1);
    assert_int_equal(d.enabled_ms, 0);
    assert_int_equal(mfa_enable(f.md, id_b, false, u1, 888), 0); /* still unassigns */
    assert_int_equal(md_mfa_get(r, STR_LIT("arn:aws:iam::000000000001:mfa/b"), f.a, &d), 0);
    assert_int_equal(d.user_id, -1);
    assert_int_equal(mfa_enable(f.md, id_b, true, u2, 1), -ENOENT); /* other account's user */
    assert_int_equal(mfa_enable(f.md, id_b, true, -1, 1), -EINVAL);
    assert_int_equal(mfa_enable(f.md, 999999, true, 0, 1), -ENOENT);
    assert_int_equal(mfa_enable(f.md, 999999, false, -1, 1), -ENOENT);
    assert_int_equal(mfa_enable(f.md, id_b, true, 0, 999), 0);
    assert_int_equal(md_mfa_list(r, a1, 0, f.a, &ds, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ds[0].id, id_a);
    assert_int_equal(ds[1].id, id_b);

    /* Delete. */
    assert_int_equal(del(f.md, OP_MFA_DEL, id_h), 0);
    assert_int_equal(del(f.md, OP_MFA_DEL, id_h), -ENOENT);
    assert_int_equal(md_mfa_get(r, STR_LIT("GAHT12345678"), f.a, &d), -ENOENT);
    assert_int_equal(mk_mfa(f.md, a2, -1, "GAHT12345678", seed, &id), 0); /* serial free */
    assert_true(id > id_h);

    /* The seed is nowhere in plaintext: not in the WAL, not in the db. */
    snprintf(path, sizeof(path), "%s/meta.db-wal", f.dir);
    assert_true(file_contains(path, STR_LIT("GAHT12345678"))); /* the probe works */
    assert_false(file_contains(path, seed));
    md_close(f.md);
    snprintf(path, sizeof(path), "%s/meta.db", f.dir);
    assert_true(file_contains(path, STR_LIT("arn:aws:iam::000000000001:mfa/c")));
    assert_false(file_contains(path, seed));
    assert_false(file_contains(path, str_make(seed64, 16)));

    /* A tampered seed fails closed. */
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "UPDATE mfa_devices SET seed_sealed = "
                                  "substr(seed_sealed, 1, 20) || x'00' || "
                                  "substr(seed_sealed, 22) WHERE serial = 'GAHT12345678'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(md_open(f.dir, &f.md), 0);
    assert_int_equal(md_mfa_get(md_reader(f.md), STR_LIT("GAHT12345678"), f.a, &d), -EIO);
    assert_int_equal(
        md_mfa_get(md_reader(f.md), STR_LIT("arn:aws:iam::000000000001:mfa/a"), f.a, &d), 0);
    assert_true(str_eq(d.seed, seed));
    fx_close(&f);
}

static void
test_account_delete_cascade(void **state)
{
    struct fx f;
    struct md_conn *r;
    struct md_user u;
    struct md_key k;
    struct md_mfa_device d;
    struct md_audit *es;
    struct opx x = {.op = OP_AUDIT};
    int64_t a1, a2, u1, u2, id;
    size_t n;

    (void)state;
    fx_open(&f);
    r = md_reader(f.md);
    a1 = mk_account(f.md, "acme");
    a2 = mk_account(f.md, "globex");
    assert_int_equal(mk_user(f.md, a1, "u", &u1), 0);
    assert_int_equal(mk_user(f.md, a2, "u", &u2), 0);
    assert_int_equal(mk_key(f.md, "AK1ROOT", a1, 0), 0);
    assert_int_equal(mk_key(f.md, "AK1USER", a1, u1), 0);
    assert_int_equal(mk_key(f.md, "AK2ROOT", a2, 0), 0);
    assert_int_equal(mk_key(f.md, "AK2USER", a2, u2), 0);
    assert_int_equal(mk_mfa(f.md, a1, 0, "m1root", STR_LIT("s1"), NULL), 0);
    assert_int_equal(mk_mfa(f.md, a1, u1, "m1user", STR_LIT("s2"), NULL), 0);
    assert_int_equal(mk_mfa(f.md, a1, -1, "m1free", STR_LIT("s3"), NULL), 0);
    assert_int_equal(mk_mfa(f.md, a2, u2, "m2user", STR_LIT("s4"), NULL), 0);
    x.e.time_ms = 1;
    x.e.event = STR_LIT("mfa.enrolled");
    x.e.principal = STR_LIT("account:acme");
    assert_int_equal(op(f.md, &x), 0);

    /* Even with enabled devices: the whole account goes. */
    assert_int_equal(del(f.md, OP_ACCT_DEL, a1), 0);
    assert_int_equal(md_user_get(r, u1, f.a, &u), -ENOENT);
    assert_int_equal(md_key_get(r, STR_LIT("AK1ROOT"), f.a, &k), -ENOENT);
    assert_int_equal(md_key_get(r, STR_LIT("AK1USER"), f.a, &k), -ENOENT);
    assert_int_equal(md_mfa_get(r, STR_LIT("m1root"), f.a, &d), -ENOENT);
    assert_int_equal(md_mfa_get(r, STR_LIT("m1user"), f.a, &d), -ENOENT);
    assert_int_equal(md_mfa_get(r, STR_LIT("m1free"), f.a, &d), -ENOENT);
    /* The other account is untouched. */
    assert_int_equal(md_user_get(r, u2, f.a, &u), 0);
    assert_int_equal(md_key_get(r, STR_LIT("AK2ROOT"), f.a, &k), 0);
    assert_int_equal(md_key_get(r, STR_LIT("AK2USER"), f.a, &k), 0);
    assert_int_equal(md_mfa_get(r, STR_LIT("m2user"), f.a, &d), 0);
    assert_true(str_eq_c(d.seed, "s4"));
    /* The audit log outlives the account. */
    assert_int_equal(md_audit_list(r, 0, 10, f.a, &es, &n), 0);
    assert_int_equal(n, 1);
    assert_true(str_eq_c(es[0].principal, "account:acme"));

    /* Account ids are never reused, not even the newest one's. */
    assert_int_equal(del(f.md, OP_USER_DEL, u2), -ENOTEMPTY);
    assert_int_equal(del(f.md, OP_ACCT_DEL, a2), 0);
    id = mk_account(f.md, "initech");
    assert_true(id > a2);
    id = mk_account(f.md, "globex"); /* the name is free again */
    assert_true(id > a2 + 1);
    fx_close(&f);
}

static void
test_audit(void **state)
{
    struct fx f;
    struct md_conn *r;
    struct md_audit *es;
    struct opx x = {.op = OP_AUDIT};
    char detail[32], big[AUDIT_FIELD_MAX + 100];
    int64_t after, last = 0;
    size_t n, total = 0;
    char path[128];
    sqlite3 *db;
    int rc;

    (void)state;
    fx_open(&f);
    r = md_reader(f.md);
    for (int i = 0; i < 25; i++) {
        memset(&x.e, 0, sizeof(x.e));
        snprintf(detail, sizeof(detail), "entry %d", i);
        x.e.time_ms = 1000 + i;
        x.e.event = i % 2 ? STR_LIT("mfa.check_failed") : STR_LIT("object.version_deleted");
        x.e.principal = STR_LIT("account:acme/user:bob");
        x.e.bucket = STR_LIT("bkt");
        x.e.key = i % 3 ? STR_LIT("photos/2024/a.jpg") : STR_NULL;
        x.e.version_id = i % 5 ? STR_LIT("AAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAA") : STR_LIT("");
        x.e.source = STR_LIT("192.0.2.7");
        x.e.detail = str_c(detail);
        assert_int_equal(op(f.md, &x), 0);
    }
    /* Paging: oldest first, ids increasing, 10 + 10 + 5. */
    after = 0;
    for (int page = 0; page < 4; page++) {
        assert_int_equal(md_audit_list(r, after, 10, f.a, &es, &n), 0);
        assert_int_equal(n, page < 2 ? 10 : page == 2 ? 5 : 0);
        for (size_t i = 0; i < n; i++) {
            int k = (int)(total + i);

            snprintf(detail, sizeof(detail), "entry %d", k);
            assert_true(es[i].id > last);
            last = es[i].id;
            assert_int_equal(es[i].time_ms, 1000 + k);
            assert_true(
                str_eq_c(es[i].event, k % 2 ? "mfa.check_failed" : "object.version_deleted"));
            assert_true(str_eq_c(es[i].principal, "account:acme/user:bob"));
            assert_true(str_eq_c(es[i].bucket, "bkt"));
            if (k % 3)
                assert_true(str_eq_c(es[i].key, "photos/2024/a.jpg"));
            else
                assert_null(es[i].key.p); /* absent stays absent */
            assert_non_null(es[i].version_id.p);
            assert_int_equal(es[i].version_id.n, k % 5 ? MD_VID_LEN : 0); /* empty stays empty */
            assert_true(str_eq_c(es[i].source, "192.0.2.7"));
            assert_true(str_eq_c(es[i].detail, detail));
        }
        total += n;
        if (n > 0)
            after = es[n - 1].id;
    }
    assert_int_equal(total, 25);
    assert_int_equal(md_audit_list(r, 0, 0, f.a, &es, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(md_audit_list(r, 0, SIZE_MAX, f.a, &es, &n), 0);
    assert_int_equal(n, 25);
    assert_int_equal(md_audit_list(r, es[23].id, 100, f.a, &es, &n), 0);
    assert_int_equal(n, 1);
    assert_true(str_eq_c(es[0].detail, "entry 24"));

    /* An event is required; huge fields are cut, not refused. */
    memset(&x.e, 0, sizeof(x.e));
    assert_int_equal(op(f.md, &x), -EINVAL);
    memset(big, 'x', sizeof(big));
    x.e.event = STR_LIT("bucket.versioning");
    x.e.detail = str_make(big, sizeof(big));
    assert_int_equal(op(f.md, &x), 0);
    assert_int_equal(md_audit_list(r, last, 10, f.a, &es, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(es[0].detail.n, AUDIT_FIELD_MAX);
    assert_null(es[0].principal.p);
    last = es[0].id;

    /* Append-only, for md.c's own connection... */
    assert_int_equal(sql(f.md, "UPDATE audit SET detail = 'forged' WHERE id = 1"), -EPERM);
    assert_int_equal(sql(f.md, "DELETE FROM audit WHERE id = 1"), -EPERM);
    assert_int_equal(sql(f.md, "DELETE FROM audit"), -EPERM);
    /* ...and for anyone else opening the file. */
    snprintf(path, sizeof(path), "%s/meta.db", f.dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 5000);
    rc = sqlite3_exec(db, "UPDATE audit SET event = 'x'", NULL, NULL, NULL);
    assert_int_equal(rc, SQLITE_CONSTRAINT_TRIGGER);
    assert_non_null(strstr(sqlite3_errmsg(db), "append-only"));
    rc = sqlite3_exec(db, "DELETE FROM audit WHERE id > 0", NULL, NULL, NULL);
    assert_int_equal(rc, SQLITE_CONSTRAINT_TRIGGER);
    rc = sqlite3_exec(db, "INSERT INTO audit (time_ms, event) VALUES (5, 'direct')", NULL, NULL,
                      NULL);
    assert_int_equal(rc, SQLITE_OK); /* appending is what it is for */
    sqlite3_close(db);
    assert_int_equal(md_audit_list(r, 0, 100, f.a, &es, &n), 0);
    assert_int_equal(n, 27);
    assert_true(str_eq_c(es[0].detail, "entry 0"));
    assert_int_equal(es[26].id, last + 1);
    fx_close(&f);
}

static void
test_session_keys(void **state)
{
    static const char hash[] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    struct fx f;
    struct md_conn *r;
    struct md_key k, *ks;
    struct opx x = {.op = OP_KEY};
    int64_t acct;
    size_t n;

    (void)state;
    fx_open(&f);
    r = md_reader(f.md);
    acct = mk_account(f.md, "acme");
    x.k.access_key_id = STR_LIT("ASIASESSION1");
    x.k.account_id = acct;
    x.k.secret = STR_LIT("session-secret");
    x.k.created_ms = 100;
    x.k.is_active = true;
    x.k.session_token_sha256 = STR_LIT(hash);
    x.k.expires_ms = 1700000003600000LL;
    x.k.mfa_auth_ms = 1700000000000LL;
    assert_int_equal(op(f.md, &x), 0);
    assert_int_equal(mk_key(f.md, "AKIALONGTERM", acct, 0), 0);

    assert_int_equal(md_key_get(r, STR_LIT("ASIASESSION1"), f.a, &k), 0);
    assert_true(str_eq_c(k.session_token_sha256, hash));
    assert_int_equal(k.expires_ms, 1700000003600000LL);
    assert_int_equal(k.mfa_auth_ms, 1700000000000LL);
    assert_true(str_eq_c(k.secret, "session-secret"));
    assert_int_equal(md_key_get(r, STR_LIT("AKIALONGTERM"), f.a, &k), 0);
    assert_non_null(k.session_token_sha256.p);
    assert_int_equal(k.session_token_sha256.n, 0);
    assert_int_equal(k.expires_ms, 0);
    assert_int_equal(k.mfa_auth_ms, 0);
    assert_int_equal(md_key_list(r, acct, f.a, &ks, &n), 0);
    assert_int_equal(n, 2);
    assert_true(str_eq_c(ks[0].access_key_id, "AKIALONGTERM"));
    assert_int_equal(ks[0].expires_ms, 0);
    assert_true(str_eq_c(ks[1].access_key_id, "ASIASESSION1"));
    assert_true(str_eq_c(ks[1].session_token_sha256, hash));
    assert_int_equal(ks[1].expires_ms, 1700000003600000LL);
    assert_int_equal(ks[1].mfa_auth_ms, 1700000000000LL);
    assert_int_equal(ks[1].secret.n, 0);

    /* A session key expires and has a token hash; a long-term key neither. */
    x.k.access_key_id = STR_LIT("ASIABAD");
    x.k.session_token_sha256 = STR_NULL;
    assert_int_equal(op(f.md, &x), -EINVAL);
    x.k.session_token_sha256 = STR_LIT("9f86d081");
    assert_int_equal(op(f.md, &x), -EINVAL);
    x.k.session_token_sha256 = STR_LIT(hash);
    x.k.expires_ms = 0;
    assert_int_equal(op(f.md, &x), -EINVAL);
    x.k.expires_ms = -5;
    assert_int_equal(op(f.md, &x), -EINVAL);
    assert_int_equal(md_key_get(r, STR_LIT("ASIABAD"), f.a, &k), -ENOENT);

    /* A new session removes the expired ones (expires_ms <= its creation
     * time), and nothing else. */
    x.k.access_key_id = STR_LIT("ASIASESSION2");
    x.k.created_ms = 1700000000000LL;
    x.k.expires_ms = 1700000000500LL;
    assert_int_equal(op(f.md, &x), 0);
    x.k.access_key_id = STR_LIT("ASIASESSION3");
    x.k.created_ms = 1700000000500LL; /* ASIASESSION2 expires right now */
    x.k.expires_ms = 1700000900000LL;
    assert_int_equal(op(f.md, &x), 0);
    assert_int_equal(md_key_get(r, STR_LIT("ASIASESSION2"), f.a, &k), -ENOENT);
    assert_int_equal(md_key_get(r, STR_LIT("ASIASESSION1"), f.a, &k), 0);
    assert_int_equal(md_key_get(r, STR_LIT("ASIASESSION3"), f.a, &k), 0);
    assert_int_equal(md_key_get(r, STR_LIT("AKIALONGTERM"), f.a, &k), 0);
    fx_close(&f);
}

/* meta.db and its WAL and shared-memory files are the owner's alone. */
static void
test_file_modes(void **state)
{
    struct fx f;
    char path[128];
    int fd;

    (void)state;
    fx_open(&f);
    mk_account(f.md, "acme");
    assert_int_equal(file_mode(f.dir, "meta.db"), 0600);
    assert_int_equal(file_mode(f.dir, "meta.db-wal"), 0600);
    assert_int_equal(file_mode(f.dir, "meta.db-shm"), 0600);
    md_close(f.md);
    /* An older directory with a 0644 database and a stale -shm is fixed. */
    snprintf(path, sizeof(path), "%s/meta.db", f.dir);
    assert_int_equal(chmod(path, 0644), 0);
    snprintf(path, sizeof(path), "%s/meta.db-shm", f.dir);
    fd = open(path, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(md_open(f.dir, &f.md), 0);
    assert_int_equal(file_mode(f.dir, "meta.db"), 0600);
    assert_int_equal(file_mode(f.dir, "meta.db-shm"), 0600);
    mk_account(f.md, "globex");
    assert_int_equal(file_mode(f.dir, "meta.db-wal"), 0600);
    fx_close(&f);
}

/* ---- migration from schema version 1 ------------------------------------ */

/* Builds DIR/meta.db as schema version 1 would have left it (steps 0..1 of
 * md_migrations run by hand, the way the old binary did), with a master.key. */
static void
make_v1_dir(struct fx *f, unsigned char key[SEAL_KEY_LEN], sqlite3 **out)
{
    char path[128];
    int fd;

    snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-md-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->a = arena_new();
    f->md = NULL;
    memset(key, 0x5a, SEAL_KEY_LEN);
    snprintf(path, sizeof(path), "%s/master.key", f->dir);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, key, SEAL_KEY_LEN), SEAL_KEY_LEN);
    close(fd);
    snprintf(path, sizeof(path), "%s/meta.db", f->dir);
    assert_int_equal(sqlite3_open(path, out), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(*out, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;", NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_exec(*out, md_migrations[0], NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(*out, "PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
}

static void
v1_insert_key(sqlite3 *db, const unsigned char key[SEAL_KEY_LEN], const char *akid, int acct,
              const char *secret)
{
    sqlite3_stmt *s;
    struct buf sealed;

    buf_init(&sealed, 4096);
    assert_int_equal(seal(key, str_c(secret), &sealed), 0);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "INSERT INTO keys (access_key_id, account_id, user_id, "
                                        "secret_sealed, created_ms, is_active) "
                                        "VALUES (?1, ?2, 0, ?3, 50, 1)",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, akid, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, acct);
    sqlite3_bind_blob(s, 3, sealed.p, (int)sealed.n, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    buf_free(&sealed);
}

static int
user_version(const char *dir)
{
    char path[128];
    sqlite3 *db;
    sqlite3_stmt *s;
    int v = -1;

    snprintf(path, sizeof(path), "%s/meta.db", dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static const char v1_rows[] =
    "INSERT INTO accounts VALUES (1, 'alice', 'aaaa', 10);"
    "INSERT INTO accounts VALUES (2, 'bob', 'bbbb', 20);"
    "INSERT INTO accounts VALUES (3, 'carol', 'cccc', 30);"
    "INSERT INTO buckets (id, name, account_id, region, created_ms, versioning, mfa_delete)"
    "  VALUES (7, 'photos', 1, 'us-east-1', 40, 1, 2);"
    "INSERT INTO versions (seq, bucket_id, key, version_id, is_latest, is_dm, size, mtime_ms,"
    "  owner_id, etag, content_type, meta, checksum_algo, checksum_value, blob_id, inline_data)"
    "  VALUES (41, 7, 'cat.jpg', 'null', 1, 0, 5, 60, 1, 'e', 'image/jpeg', '', '', '', NULL,"
    "  x'68656c6c6f');";

static void
test_migrate_v1(void **state)
{
    unsigned char key[SEAL_KEY_LEN];
    struct fx f;
    struct md_conn *r;
    struct md_account acct, *accts;
    struct md_bucket b;
    struct md_version v;
    struct md_key k;
    struct md_user u;
    struct md_audit *es;
    struct opx x = {.op = OP_AUDIT};
    sqlite3 *db;
    sqlite3_stmt *s;
    char path[128];
    int64_t id;
    size_t n;

    (void)state;
    make_v1_dir(&f, key, &db);
    assert_int_equal(sqlite3_exec(db, v1_rows, NULL, NULL, NULL), SQLITE_OK);
    v1_insert_key(db, key, "AKALICE", 1, "alice-secret");
    v1_insert_key(db, key, "AKCAROL", 3, "carol-secret");
    sqlite3_close(db);
    snprintf(path, sizeof(path), "%s/meta.db", f.dir);
    assert_int_equal(chmod(path, 0644), 0); /* as the old binary left it (umask 022) */
    assert_int_equal(user_version(f.dir), 1);

    assert_int_equal(md_open(f.dir, &f.md), 0);
    assert_int_equal(user_version(f.dir), MD_SCHEMA_VERSION);
    assert_int_equal(file_mode(f.dir, "meta.db"), 0600);
    r = md_reader(f.md);
    /* Everything survived. */
    assert_int_equal(md_account_list(r, f.a, &accts, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(accts[2].id, 3);
    assert_true(str_eq_c(accts[2].name, "carol"));
    assert_true(str_eq_c(accts[2].canonical_id, "cccc"));
    assert_int_equal(accts[2].created_ms, 30);
    assert_int_equal(md_key_get(r, STR_LIT("AKALICE"), f.a, &k), 0);
    assert_true(str_eq_c(k.secret, "alice-secret"));
    assert_int_equal(k.account_id, 1);
    assert_int_equal(k.user_id, 0);
    assert_int_equal(k.created_ms, 50);
    assert_true(k.is_active);
    assert_int_equal(k.session_token_sha256.n, 0);
    assert_int_equal(k.expires_ms, 0);
    assert_int_equal(k.mfa_auth_ms, 0);
    assert_int_equal(md_bucket_get(r, STR_LIT("photos"), f.a, &b), 0);
    assert_int_equal(b.id, 7);
    assert_int_equal(b.account_id, 1);
    assert_int_equal(b.versioning, MD_VER_ENABLED);
    assert_int_equal(b.mfa_delete, MD_MFA_DISABLED);
    assert_int_equal(md_version_get(r, 7, STR_LIT("cat.jpg"), STR_NULL, f.a, &v), 0);
    assert_int_equal(v.seq, 41);
    assert_true(str_eq_c(v.inline_data, "hello"));

    /* Foreign keys still hold, against the rebuilt accounts table. */
    assert_int_equal(mk_key(f.md, "AKGHOST", 99, 0), -ENOENT);
    assert_int_equal(del(f.md, OP_ACCT_DEL, 1), -ENOTEMPTY); /* owns "photos" */
    /* Account ids are no longer reused: carol (3) was the newest. */
    assert_int_equal(del(f.md, OP_ACCT_DEL, 3), 0);
    assert_int_equal(md_key_get(r, STR_LIT("AKCAROL"), f.a, &k), -ENOENT);
    id = mk_account(f.md, "dave");
    assert_int_equal(id, 4);
    assert_int_equal(md_account_get(r, 3, f.a, &acct), -ENOENT);
    /* The new tables work. */
    assert_int_equal(mk_user(f.md, 2, "eve", &id), 0);
    assert_int_equal(md_user_get(r, id, f.a, &u), 0);
    assert_int_equal(mk_mfa(f.md, 2, id, "m", STR_LIT("seed"), NULL), 0);
    x.e.event = STR_LIT("mfa.enrolled");
    assert_int_equal(op(f.md, &x), 0);
    assert_int_equal(sql(f.md, "DELETE FROM audit"), -EPERM);
    md_close(f.md);

    /* Reopening migrates nothing and loses nothing. */
    assert_int_equal(md_open(f.dir, &f.md), 0);
    assert_int_equal(user_version(f.dir), MD_SCHEMA_VERSION);
    r = md_reader(f.md);
    assert_int_equal(md_account_list(r, f.a, &accts, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(md_audit_list(r, 0, 10, f.a, &es, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(md_key_get(r, STR_LIT("AKALICE"), f.a, &k), 0);
    assert_true(str_eq_c(k.secret, "alice-secret"));
    fx_close(&f);

    /* A failing step leaves version 1 exactly as it was (one transaction,
     * DROP TABLE accounts included). */
    make_v1_dir(&f, key, &db);
    assert_int_equal(sqlite3_exec(db, v1_rows, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE audit (x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(md_open(f.dir, &f.md), -EIO);
    f.md = NULL;
    assert_int_equal(user_version(f.dir), 1);
    snprintf(path, sizeof(path), "%s/meta.db", f.dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM accounts WHERE id IN (1, 2, 3)"
                                        " AND NOT EXISTS (SELECT 1 FROM sqlite_master"
                                        " WHERE name IN ('users', 'accounts_new'))",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 3);
    sqlite3_finalize(s);
    sqlite3_close(db);
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
        cmocka_unit_test(test_users),
        cmocka_unit_test(test_mfa_devices),
        cmocka_unit_test(test_account_delete_cascade),
        cmocka_unit_test(test_audit),
        cmocka_unit_test(test_session_keys),
        cmocka_unit_test(test_file_modes),
        cmocka_unit_test(test_migrate_v1),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
