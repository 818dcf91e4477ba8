/* test_lifecycle_act.c -- the lifecycle executor's actions on a temp store,
 * no HTTP [spec lifecycle A3.3, A5, cases 15, 19-22, 26-28, 30]: expiring a
 * current version under each versioning state, deleting noncurrent versions
 * and expired delete markers, transitions, aborting uploads; the refusals
 * (MFA delete, no or another configuration, bucket gone, a row changed since
 * it was evaluated); the audit records; a batch whose first run is rolled
 * back (a retried md_write()) leaving the same outcome as one run. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "core/lifecycle_act.h"
#include "core/object.h"
#include "store/md.h"
#include "util/arena.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LC "<LifecycleConfiguration><Rule><ID>R1</ID></Rule></LifecycleConfiguration>"
#define ETAG "0123456789abcdef0123456789abcdef"
#define DAY_MS 86400000LL
#define T0 1768473000000LL /* 2026-01-15T10:30:00Z */
#define MIDNIGHT_17 1768608000000LL /* 2026-01-17T00:00:00Z */

struct fx {
    char dir[64];
    struct md *md;
    struct arena *a;
    int64_t acct, bucket;
    struct lifecycle_act_bucket bk;
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

enum kind { K_SETUP, K_VER, K_PUT, K_DEL, K_LC, K_UPLOAD, K_ACT };

struct job {
    enum kind kind;
    struct fx *f;
    enum md_versioning ver;
    enum md_mfa mfa;
    struct md_version v;
    struct str key;
    struct str lc;
    struct object_del del;
    struct md_upload u;
    struct lifecycle_act_batch batch;
    int fail_after; /* K_ACT: return this after the batch (its savepoint rolled back) */
};

static int
run(struct md_conn *c, void *arg)
{
    struct job *j = arg;
    struct fx *f = j->f;
    struct md_bucket b;
    int rc;

    switch (j->kind) {
    case K_SETUP:
        rc = md_account_create(c, STR_LIT("alice"), 1, &f->acct);
        if (rc == 0)
            rc = md_bucket_create(c, STR_LIT("logs"), f->acct, STR_LIT("us-east-1"), 2, &f->bucket);
        if (rc == 0)
            rc = md_bucket_set_lifecycle(c, f->bucket, STR_LIT(LC));
        return rc;
    case K_VER:
        return md_bucket_set_versioning(c, f->bucket, j->ver, j->mfa);
    case K_LC:
        return md_bucket_set_lifecycle(c, f->bucket, j->lc);
    case K_PUT:
        rc = md_bucket_get(c, STR_LIT("logs"), f->a, &b);
        if (rc < 0)
            return rc;
        {
            bool replaced;
            return object_put(c, &b, &j->v, f->a, &replaced) == CORE_E_OK ? 0 : -EIO;
        }
    case K_DEL:
        rc = md_bucket_get(c, STR_LIT("logs"), f->a, &b);
        if (rc < 0)
            return rc;
        return object_delete(c, &b, j->key, STR_NULL, f->acct, 5000, f->a, &j->del) == CORE_E_OK
                   ? 0
                   : -EIO;
    case K_UPLOAD:
        rc = md_upload_create(c, &j->u);
        if (rc == 0) {
            struct md_part p = {.part_number = 1, .size = 5, .mtime_ms = T0,
                                .blob_id = STR_LIT("part1"), .etag = STR_LIT(ETAG),
                                .checksum = STR_LIT("")};
            rc = md_part_put(c, j->u.id, &p);
        }
        return rc;
    case K_ACT:
        rc = lifecycle_act_batch_fn(c, &j->batch);
        return rc < 0 ? rc : j->fail_after;
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
set_ver(struct fx *f, enum md_versioning v, enum md_mfa mfa)
{
    struct job j = {.kind = K_VER, .ver = v, .mfa = mfa};

    assert_int_equal(job(f, &j), 0);
}

static void
fx_open(struct fx *f, enum md_versioning ver)
{
    struct job j = {.kind = K_SETUP};

    snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-lca-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(md_open(f->dir, &f->md), 0);
    f->a = arena_new();
    assert_int_equal(job(f, &j), 0);
    if (ver != MD_VER_NONE)
        set_ver(f, ver, MD_MFA_UNSET);
    f->bk = (struct lifecycle_act_bucket){.name = STR_LIT("logs"), .id = f->bucket,
                                          .lifecycle = STR_LIT(LC), .now_ms = MIDNIGHT_17 + 5};
}

static void
fx_close(struct fx *f)
{
    md_close(f->md);
    arena_free(f->a);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* PUT of key through object_put() (the bucket's versioning decides the id),
 * with a data file named blob. Returns the new version. */
static struct md_version
put(struct fx *f, const char *key, const char *blob, int64_t mtime)
{
    struct job j = {.kind = K_PUT};

    j.v.key = str_c(key);
    j.v.size = 5;
    j.v.mtime_ms = mtime;
    j.v.owner_id = f->acct;
    j.v.etag = STR_LIT(ETAG);
    j.v.content_type = STR_LIT("text/plain");
    j.v.meta = STR_LIT("");
    j.v.blob_id = str_c(blob);
    assert_int_equal(job(f, &j), 0);
    return j.v;
}

/* Every version of the bucket, as the executor scans them. */
static size_t
scan(struct fx *f, struct md_lc_version **rows)
{
    size_t n;

    assert_int_equal(md_lc_scan(md_reader(f->md), f->bucket, STR_NULL, 0, false, 100, f->a, rows,
                                &n),
                     0);
    return n;
}

/* The row as evaluated: what md_lc_scan() said about it. */
static struct lifecycle_act_version
as_seen(const struct md_lc_version *r)
{
    return (struct lifecycle_act_version){
        .key = r->key, .seq = r->seq, .is_latest = r->is_latest, .is_dm = r->is_delete_marker,
        .etag = r->etag};
}

/* One item in a batch of its own; its outcome. */
static struct lifecycle_act_item
act(struct fx *f, struct lifecycle_act_item it)
{
    struct job j = {.kind = K_ACT};

    if (it.rule_id.p == NULL)
        it.rule_id = STR_LIT("R1");
    j.batch = (struct lifecycle_act_batch){.bucket = f->bk, .items = &it, .n = 1, .a = f->a};
    assert_int_equal(job(f, &j), 0);
    return it;
}

static struct lifecycle_act_item
expire(struct fx *f, const struct md_lc_version *r)
{
    return act(f, (struct lifecycle_act_item){.kind = LC_ACT_EXPIRE_CURRENT, .v = as_seen(r),
                                              .dm_ms = MIDNIGHT_17});
}

static struct lifecycle_act_item
remove_version(struct fx *f, const struct md_lc_version *r)
{
    return act(f, (struct lifecycle_act_item){.kind = LC_ACT_DELETE_VERSION, .v = as_seen(r)});
}

/* The audit records after id *after, as "EVENT key vid" lines. */
static char *
audits(struct fx *f, int64_t *after)
{
    struct md_audit *es;
    size_t n, len = 0;
    char *out = arena_zalloc(f->a, 4096);

    assert_int_equal(md_audit_list(md_reader(f->md), *after, 100, f->a, &es, &n), 0);
    for (size_t i = 0; i < n; i++) {
        *after = es[i].id;
        assert_true(str_eq_c(es[i].principal, "lifecycle"));
        assert_true(str_eq_c(es[i].source, "-"));
        assert_true(str_eq_c(es[i].bucket, "logs"));
        assert_true(str_eq_c(es[i].detail, "rule-id=R1"));
        assert_int_equal(es[i].time_ms, f->bk.now_ms);
        len += (size_t)snprintf(out + len, 4096 - len, "%.*s %.*s %.*s\n", (int)es[i].event.n,
                                es[i].event.p, (int)es[i].key.n, es[i].key.p,
                                (int)es[i].version_id.n, es[i].version_id.p ? es[i].version_id.p : "");
    }
    return out;
}

/* Case 15: unversioned, the object goes for good, its data to the trash. */
static void
test_expire_unversioned(void **state)
{
    struct lifecycle_act_item it;
    struct md_lc_version *r;
    int64_t aid = 0;
    struct fx f;

    (void)state;
    fx_open(&f, MD_VER_NONE);
    put(&f, "logs/a", "blob-a", T0);
    assert_int_equal(scan(&f, &r), 1);
    assert_int_equal(md_trash_pending(md_reader(f.md), INT64_MAX), 0);
    it = expire(&f, &r[0]);
    assert_int_equal(it.out.result, LC_ACT_DONE);
    assert_false(it.out.made_marker);
    assert_true(str_eq_c(it.out.version_id, "null"));
    assert_int_equal(it.out.versioning, MD_VER_NONE);
    assert_int_equal(scan(&f, &r), 0);
    assert_int_equal(md_trash_pending(md_reader(f.md), INT64_MAX), 1);
    assert_string_equal(audits(&f, &aid), "S3.EXPIRE.OBJECT logs/a null\n");
    fx_close(&f);
}

/* Cases 19, 20: Enabled, a marker dated the action day's midnight; the
 * version stays, noncurrent since then; later passes add nothing. */
static void
test_expire_enabled(void **state)
{
    struct lifecycle_act_item it;
    struct md_lc_version *r, v1;
    int64_t aid = 0;
    struct fx f;
    char want[256];

    (void)state;
    fx_open(&f, MD_VER_ENABLED);
    put(&f, "k", "blob-1", T0);
    assert_int_equal(scan(&f, &r), 1);
    v1 = r[0];
    it = expire(&f, &v1);
    assert_int_equal(it.out.result, LC_ACT_DONE);
    assert_true(it.out.made_marker);
    assert_int_equal(it.out.version_id.n, MD_VID_LEN);
    assert_int_equal(scan(&f, &r), 2);
    assert_true(r[0].is_latest && r[0].is_delete_marker && !r[0].is_sole_dm);
    assert_int_equal(r[0].mtime_ms, MIDNIGHT_17);
    assert_true(str_eq(r[0].version_id, it.out.version_id));
    assert_true(!r[1].is_latest && r[1].seq == v1.seq);
    assert_int_equal(r[1].noncurrent_ms, MIDNIGHT_17);
    assert_int_equal(md_trash_pending(md_reader(f.md), INT64_MAX), 0);
    snprintf(want, sizeof(want), "S3.CREATE.DELETEMARKER k %.*s\n", (int)it.out.version_id.n,
             it.out.version_id.p);
    assert_string_equal(audits(&f, &aid), want);
    /* The row evaluated before is not the latest any more; the marker is
     * left alone; no second marker, no audit. */
    assert_int_equal(expire(&f, &v1).out.result, LC_ACT_STALE);
    assert_int_equal(expire(&f, &r[0]).out.result, LC_ACT_NOOP);
    assert_int_equal(scan(&f, &r), 2);
    assert_string_equal(audits(&f, &aid), "");
    fx_close(&f);
}

/* Cases 21, 22: Suspended, a null marker; a null version goes for good, a
 * non-null current one stays as noncurrent. */
static void
test_expire_suspended(void **state)
{
    struct lifecycle_act_item it;
    struct md_lc_version *r;
    int64_t aid = 0;
    struct fx f;
    size_t n;

    (void)state;
    fx_open(&f, MD_VER_ENABLED);
    put(&f, "b", "blob-b1", T0); /* made while Enabled */
    set_ver(&f, MD_VER_SUSPENDED, MD_MFA_UNSET);
    put(&f, "a", "blob-a", T0); /* the null version */
    assert_int_equal(scan(&f, &r), 2);
    assert_true(str_eq_c(r[0].version_id, "null"));
    it = expire(&f, &r[0]);
    assert_int_equal(it.out.result, LC_ACT_DONE);
    assert_true(it.out.made_marker);
    assert_true(str_eq_c(it.out.version_id, "null"));
    assert_int_equal(it.out.versioning, MD_VER_SUSPENDED);
    it = expire(&f, &r[1]);
    assert_int_equal(it.out.result, LC_ACT_DONE);
    n = scan(&f, &r);
    assert_int_equal(n, 3);
    /* a: the sole entry is a null marker; the old null version is gone. */
    assert_true(str_eq_c(r[0].key, "a") && r[0].is_sole_dm && str_eq_c(r[0].version_id, "null"));
    assert_int_equal(r[0].mtime_ms, MIDNIGHT_17);
    /* b: a null marker current, v1 noncurrent. */
    assert_true(str_eq_c(r[1].key, "b") && r[1].is_delete_marker && r[1].is_latest);
    assert_true(str_eq_c(r[1].version_id, "null"));
    assert_true(str_eq_c(r[2].key, "b") && !r[2].is_latest && !r[2].is_delete_marker);
    assert_int_equal(r[2].noncurrent_ms, MIDNIGHT_17);
    assert_int_equal(md_trash_pending(md_reader(f.md), INT64_MAX), 1);
    assert_string_equal(audits(&f, &aid), "S3.EXPIRE.OBJECT a null\n"
                                          "S3.CREATE.DELETEMARKER a null\n"
                                          "S3.CREATE.DELETEMARKER b null\n");
    fx_close(&f);
}

/* Cases 26-28: noncurrent versions deleted for good; a marker only once it
 * is its key's last version. */
static void
test_delete_version(void **state)
{
    struct lifecycle_act_item it;
    struct md_lc_version *r, dm;
    struct job j = {.kind = K_DEL, .key = STR_LIT("k")};
    int64_t aid = 0;
    struct fx f;
    char want[256];

    (void)state;
    fx_open(&f, MD_VER_ENABLED);
    put(&f, "k", "blob-1", T0);
    assert_int_equal(job(&f, &j), 0); /* DELETE k: a marker */
    assert_int_equal(scan(&f, &r), 2);
    dm = r[0];
    /* Case 27: the marker has a noncurrent version: kept. */
    assert_int_equal(remove_version(&f, &dm).out.result, LC_ACT_STALE);
    assert_int_equal(scan(&f, &r), 2);
    /* NoncurrentVersionExpiration of v1. */
    it = remove_version(&f, &r[1]);
    assert_int_equal(it.out.result, LC_ACT_DONE);
    assert_true(str_eq(it.out.version_id, r[1].version_id));
    snprintf(want, sizeof(want), "S3.EXPIRE.OBJECT k %.*s\n", (int)r[1].version_id.n,
             r[1].version_id.p);
    assert_string_equal(audits(&f, &aid), want);
    assert_int_equal(md_trash_pending(md_reader(f.md), INT64_MAX), 1);
    /* Case 26: the marker is alone now: removed. */
    assert_int_equal(scan(&f, &r), 1);
    assert_true(r[0].is_sole_dm);
    it = remove_version(&f, &r[0]);
    assert_int_equal(it.out.result, LC_ACT_DONE);
    assert_int_equal(scan(&f, &r), 0);
    snprintf(want, sizeof(want), "S3.EXPIRE.OBJECT k %.*s\n", (int)dm.version_id.n,
             dm.version_id.p);
    assert_string_equal(audits(&f, &aid), want);
    /* Gone: stale. */
    assert_int_equal(remove_version(&f, &dm).out.result, LC_ACT_STALE);
    fx_close(&f);
}

static void
test_transition(void **state)
{
    struct lifecycle_act_item it, t = {.kind = LC_ACT_TRANSITION};
    struct md_lc_version *r;
    int64_t aid = 0;
    struct fx f;
    char want[256];

    (void)state;
    fx_open(&f, MD_VER_ENABLED);
    put(&f, "k", "blob-1", T0);
    assert_int_equal(scan(&f, &r), 1);
    t.v = as_seen(&r[0]);
    t.storage_class = STR_LIT("STANDARD_IA");
    it = act(&f, t);
    assert_int_equal(it.out.result, LC_ACT_DONE);
    assert_int_equal(scan(&f, &r), 1);
    assert_true(str_eq_c(r[0].storage_class, "STANDARD_IA"));
    snprintf(want, sizeof(want), "S3.TRANSITION_SIA.OBJECT k %.*s\n", (int)r[0].version_id.n,
             r[0].version_id.p);
    assert_string_equal(audits(&f, &aid), want);
    assert_int_equal(act(&f, t).out.result, LC_ACT_NOOP);
    t.storage_class = STR_LIT("REDUCED_REDUNDANCY");
    assert_int_equal(act(&f, t).out.result, LC_ACT_BAD_CLASS);
    t.storage_class = STR_LIT("GLACIER");
    assert_int_equal(act(&f, t).out.result, LC_ACT_DONE);
    snprintf(want, sizeof(want), "S3.TRANSITION.OBJECT k %.*s\n", (int)r[0].version_id.n,
             r[0].version_id.p);
    assert_string_equal(audits(&f, &aid), want);
    fx_close(&f);
}

/* Case 30: the upload goes as AbortMultipartUpload does. */
static void
test_abort_upload(void **state)
{
    struct job j = {.kind = K_UPLOAD};
    struct lifecycle_act_item it = {.kind = LC_ACT_ABORT_UPLOAD};
    struct md_upload u;
    int64_t aid = 0;
    struct fx f;

    (void)state;
    fx_open(&f, MD_VER_NONE);
    j.u = (struct md_upload){.upload_id = STR_LIT("up-1"), .bucket_id = f.bucket,
                             .key = STR_LIT("up/big"), .initiated_ms = T0, .owner_id = f.acct,
                             .content_type = STR_LIT(""), .meta = STR_LIT(""),
                             .checksum_algo = STR_LIT(""), .checksum_type = STR_LIT("")};
    assert_int_equal(job(&f, &j), 0);
    it.v.key = STR_LIT("up/big");
    it.upload_id = STR_LIT("up-1");
    assert_int_equal(act(&f, it).out.result, LC_ACT_DONE);
    assert_int_equal(md_upload_get(md_reader(f.md), STR_LIT("up-1"), f.a, &u), -ENOENT);
    assert_int_equal(md_trash_pending(md_reader(f.md), INT64_MAX), 1);
    assert_string_equal(audits(&f, &aid), "S3.DELETE.UPLOAD up/big \n");
    assert_int_equal(act(&f, it).out.result, LC_ACT_STALE);
    assert_string_equal(audits(&f, &aid), "");
    fx_close(&f);
}

/* MFA delete, the configuration, the bucket and the row, each read in the
 * acting transaction: nothing happens, nothing is audited. */
static void
test_refusals(void **state)
{
    struct md_lc_version *r, v1;
    struct lifecycle_act_item it;
    struct job j = {.kind = K_LC};
    int64_t aid = 0;
    struct fx f;

    (void)state;
    fx_open(&f, MD_VER_ENABLED);
    put(&f, "k", "blob-1", T0);
    assert_int_equal(scan(&f, &r), 1);
    v1 = r[0];
    set_ver(&f, MD_VER_ENABLED, MD_MFA_ENABLED);
    assert_int_equal(expire(&f, &v1).out.result, LC_ACT_MFA_DELETE);
    assert_int_equal(remove_version(&f, &(struct md_lc_version){.key = v1.key, .seq = v1.seq,
                                                                .etag = v1.etag})
                         .out.result,
                     LC_ACT_MFA_DELETE);
    /* A batch: every item refused, the progress row not moved. */
    {
        struct lifecycle_act_item two[2] = {
            {.kind = LC_ACT_EXPIRE_CURRENT, .v = as_seen(&v1), .dm_ms = MIDNIGHT_17},
            {.kind = LC_ACT_TRANSITION, .v = as_seen(&v1), .storage_class = STR_LIT("GLACIER")},
        };
        struct md_lc_state st = {.bucket_id = f.bucket, .cursor_key = STR_LIT("k")}, got;
        struct md_lc_state none = {0};
        struct job b = {.kind = K_ACT};

        b.batch = (struct lifecycle_act_batch){.bucket = f.bk, .items = two, .n = 2,
                                               .state = &st, .prev = &none, .a = f.a};
        assert_int_equal(job(&f, &b), 0);
        assert_int_equal(two[0].out.result, LC_ACT_MFA_DELETE);
        assert_int_equal(two[1].out.result, LC_ACT_MFA_DELETE);
        assert_int_equal(md_lc_state_get(md_reader(f.md), f.bucket, f.a, &got), -ENOENT);
    }
    set_ver(&f, MD_VER_ENABLED, MD_MFA_DISABLED);
    /* Another configuration than the one evaluated; then none. */
    j.lc = STR_LIT("<LifecycleConfiguration/>");
    assert_int_equal(job(&f, &j), 0);
    assert_int_equal(expire(&f, &v1).out.result, LC_ACT_NO_CONFIG);
    f.bk.lifecycle = STR_NULL; /* any configuration will do */
    j.lc = STR_NULL;
    assert_int_equal(job(&f, &j), 0);
    assert_int_equal(expire(&f, &v1).out.result, LC_ACT_NO_CONFIG);
    j.lc = STR_LIT(LC);
    assert_int_equal(job(&f, &j), 0);
    /* Another bucket id under the name: made again since. */
    f.bk.id = f.bucket + 100;
    assert_int_equal(expire(&f, &v1).out.result, LC_ACT_NO_BUCKET);
    f.bk.id = f.bucket;
    /* The row changed since it was evaluated: another ETag, another seq. */
    it = (struct lifecycle_act_item){.kind = LC_ACT_EXPIRE_CURRENT, .v = as_seen(&v1),
                                     .dm_ms = MIDNIGHT_17};
    it.v.etag = STR_LIT("ffffffffffffffffffffffffffffffff");
    assert_int_equal(act(&f, it).out.result, LC_ACT_STALE);
    it.v = as_seen(&v1);
    it.v.seq++;
    assert_int_equal(act(&f, it).out.result, LC_ACT_STALE);
    assert_int_equal(scan(&f, &r), 1);
    assert_string_equal(audits(&f, &aid), "");
    /* All clear: acts. */
    assert_int_equal(expire(&f, &v1).out.result, LC_ACT_DONE);
    fx_close(&f);
}

/* A batch whose first run is rolled back (as a retried md_write()) ends as
 * one run would; run again after its commit, it does nothing; its progress
 * row commits with it. */
static void
test_batch_twice(void **state)
{
    struct lifecycle_act_item items[3];
    struct md_lc_version *r;
    struct md_lc_state st = {0}, none = {0}, got;
    struct job j = {.kind = K_ACT};
    int64_t aid = 0;
    struct fx f;
    char *first;

    (void)state;
    fx_open(&f, MD_VER_ENABLED);
    put(&f, "a", "blob-a1", T0);
    put(&f, "a", "blob-a2", T0 + 1);
    put(&f, "b", "blob-b1", T0);
    assert_int_equal(scan(&f, &r), 3);
    items[0] = (struct lifecycle_act_item){.kind = LC_ACT_EXPIRE_CURRENT, .v = as_seen(&r[0]),
                                           .rule_id = STR_LIT("R1"), .dm_ms = MIDNIGHT_17};
    items[1] = (struct lifecycle_act_item){.kind = LC_ACT_DELETE_VERSION, .v = as_seen(&r[1]),
                                           .rule_id = STR_LIT("R1")};
    items[2] = (struct lifecycle_act_item){.kind = LC_ACT_TRANSITION, .v = as_seen(&r[2]),
                                           .rule_id = STR_LIT("R1"),
                                           .storage_class = STR_LIT("ONEZONE_IA")};
    st = (struct md_lc_state){.bucket_id = f.bucket, .pass_started_ms = MIDNIGHT_17,
                              .cursor_key = STR_LIT("b"), .cursor_seq = r[2].seq,
                              .n_actions = 3, .updated_ms = MIDNIGHT_17};
    j.batch = (struct lifecycle_act_batch){.bucket = f.bk, .items = items, .n = 3,
                                           .state = &st, .prev = &none, .a = f.a};
    j.fail_after = -EAGAIN;
    assert_int_equal(job(&f, &j), -EAGAIN);
    assert_int_equal(items[0].out.result, LC_ACT_DONE);
    assert_int_equal(scan(&f, &r), 3); /* rolled back */
    assert_string_equal(audits(&f, &aid), "");
    assert_int_equal(md_lc_state_get(md_reader(f.md), f.bucket, f.a, &got), -ENOENT);
    j.fail_after = 0;
    assert_int_equal(job(&f, &j), 0);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(items[i].out.result, LC_ACT_DONE);
    assert_int_equal(j.batch.err, CORE_E_OK);
    assert_int_equal(scan(&f, &r), 3); /* a: marker + a1; b relabelled */
    assert_true(r[0].is_delete_marker && str_eq(r[0].version_id, items[0].out.version_id));
    assert_true(str_eq_c(r[2].storage_class, "ONEZONE_IA"));
    first = audits(&f, &aid);
    assert_int_equal(strlen(first) > 0, 1);
    assert_non_null(strstr(first, "S3.CREATE.DELETEMARKER a "));
    assert_non_null(strstr(first, "S3.EXPIRE.OBJECT a "));
    assert_non_null(strstr(first, "S3.TRANSITION_ZIA.OBJECT b "));
    assert_int_equal(md_lc_state_get(md_reader(f.md), f.bucket, f.a, &got), 0);
    assert_int_equal(got.cursor_seq, st.cursor_seq);
    assert_int_equal(got.n_actions, 3);
    /* Once more (a pass resumed from the stored row, its items read again
     * through an older view): nothing twice. */
    j.batch.prev = &st;
    assert_int_equal(job(&f, &j), 0);
    assert_int_equal(items[0].out.result, LC_ACT_STALE);
    assert_int_equal(items[1].out.result, LC_ACT_STALE);
    assert_int_equal(items[2].out.result, LC_ACT_NOOP);
    assert_string_equal(audits(&f, &aid), "");
    assert_string_equal(lifecycle_act_result_name(LC_ACT_STALE), "stale");
    fx_close(&f);
}

/* A batch commits only over the progress row it follows: another one in
 * its place (a second pass wrote it; the executor read it through a view
 * behind the writer's), or one where it expects none, refuses every item,
 * acts on nothing and leaves the row as it is. */
static void
test_progress_moved(void **state)
{
    struct lifecycle_act_item it;
    struct md_lc_version *r;
    struct md_lc_state none = {0}, got, older, st1, st2;
    const struct md_lc_state *wrong[] = {&none, &older, &st2};
    struct job j = {.kind = K_ACT};
    int64_t aid = 0;
    struct fx f;

    (void)state;
    fx_open(&f, MD_VER_NONE);
    put(&f, "a", "blob-a", T0);
    put(&f, "b", "blob-b", T0);
    assert_int_equal(scan(&f, &r), 2);
    /* The first batch: a commits with row st1. */
    st1 = (struct md_lc_state){.bucket_id = f.bucket, .pass_started_ms = MIDNIGHT_17,
                               .cursor_key = STR_LIT("a"), .cursor_seq = r[0].seq,
                               .n_actions = 1, .updated_ms = MIDNIGHT_17 + 1};
    it = (struct lifecycle_act_item){.kind = LC_ACT_EXPIRE_CURRENT, .v = as_seen(&r[0]),
                                     .rule_id = STR_LIT("R1"), .dm_ms = MIDNIGHT_17};
    j.batch = (struct lifecycle_act_batch){.bucket = f.bk, .items = &it, .n = 1, .state = &st1,
                                           .prev = &none, .a = f.a};
    assert_int_equal(job(&f, &j), 0);
    assert_int_equal(it.out.result, LC_ACT_DONE);
    assert_non_null(strstr(audits(&f, &aid), "S3.EXPIRE.OBJECT a "));
    /* The next batch, b with row st2, after a row other than st1. */
    st2 = st1;
    st2.cursor_key = STR_LIT("b");
    st2.cursor_seq = r[1].seq;
    st2.n_actions = 2;
    st2.updated_ms++;
    older = st1;
    older.n_actions = 0;
    for (size_t i = 0; i < ARRAY_LEN(wrong); i++) {
        it = (struct lifecycle_act_item){.kind = LC_ACT_EXPIRE_CURRENT, .v = as_seen(&r[1]),
                                         .rule_id = STR_LIT("R1"), .dm_ms = MIDNIGHT_17};
        j.batch = (struct lifecycle_act_batch){.bucket = f.bk, .items = &it, .n = 1,
                                               .state = &st2, .prev = wrong[i], .a = f.a};
        assert_int_equal(job(&f, &j), 0);
        assert_int_equal(it.out.result, LC_ACT_MOVED);
        assert_string_equal(audits(&f, &aid), "");
        assert_int_equal(md_lc_state_get(md_reader(f.md), f.bucket, f.a, &got), 0);
        assert_true(md_lc_state_eq(&got, &st1));
    }
    assert_string_equal(lifecycle_act_result_name(LC_ACT_MOVED), "progress-moved");
    /* After st1 itself: b expires, the row becomes st2. */
    j.batch.prev = &st1;
    assert_int_equal(job(&f, &j), 0);
    assert_int_equal(it.out.result, LC_ACT_DONE);
    assert_non_null(strstr(audits(&f, &aid), "S3.EXPIRE.OBJECT b "));
    assert_int_equal(md_lc_state_get(md_reader(f.md), f.bucket, f.a, &got), 0);
    assert_true(md_lc_state_eq(&got, &st2));
    fx_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expire_unversioned),
        cmocka_unit_test(test_expire_enabled),
        cmocka_unit_test(test_expire_suspended),
        cmocka_unit_test(test_delete_version),
        cmocka_unit_test(test_transition),
        cmocka_unit_test(test_abort_upload),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_batch_twice),
        cmocka_unit_test(test_progress_moved),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
