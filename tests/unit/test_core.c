/* test_core.c -- core/ on a temp db + dir, no HTTP: what a PUT does to the
 * null version under each versioning state, conditional writes, deletes
 * and MFA delete's last check, DeleteObjects' closure run twice (a retried
 * md_write(): the same outputs, nothing left over from the first run),
 * multipart completion's refusals (parts out of order, missing, too small,
 * sizes and checksums) and its extents, abort, and finding and opening
 * versions (delete markers, "null", malformed ids, data gone). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "core/core_int.h"
#include "core/object.h"
#include "core/object_mpu.h"
#include "core/version.h"
#include "crypto/hash.h"
#include "store/blob.h"
#include "store/md.h"
#include "util/arena.h"
#include "util/enc.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- fixture ------------------------------------------------------------- */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

struct fx {
    char dir[64];
    struct md *md;
    struct blob *blob;
    struct arena *a;
    int64_t acct;
    int64_t bucket; /* "photos" */
};

/* One write: a closure over a small union of core and store calls. */
enum op_kind {
    OP_ACCOUNT,
    OP_BUCKET,
    OP_VERSIONING,
    OP_WRITE,
    OP_REMOVE,
    OP_MANY,
    OP_UPLOAD,
    OP_PART,
    OP_COMPLETE,
    OP_ABORT,
};

struct op {
    enum op_kind kind;
    struct fx *f;
    const char *name;
    int64_t id;
    int64_t account;          /* the caller's account */
    int64_t bucket_id;        /* the bucket the request was authorized on (0: photos) */
    enum md_versioning ver;   /* OP_VERSIONING */
    enum md_mfa mfa;
    struct md_bucket b;       /* out */
    struct object_cond cond;  /* OP_WRITE */
    struct md_version v;
    bool trashed;
    struct str key, vid;      /* OP_REMOVE, OP_ABORT */
    bool mfa_ok;
    struct object_del del;
    struct object_del_item *items; /* OP_MANY */
    size_t n;
    struct md_upload u;       /* OP_UPLOAD */
    struct md_part p;         /* OP_PART */
    struct object_mpu_complete cx; /* OP_COMPLETE */
    enum core_err err;        /* the core call's result */
    int fail_after;           /* return this after the core call (a run rolled back) */
};

static int
run_op(struct md_conn *c, void *arg)
{
    struct op *o = arg;
    struct fx *f = o->f;
    struct str bname = str_c(o->name != NULL ? o->name : "photos");

    switch (o->kind) {
    case OP_ACCOUNT:
        return md_account_create(c, bname, 1000, &o->id);
    case OP_BUCKET:
        return md_bucket_create(c, bname, o->account, STR_LIT("us-east-1"), 2000, &o->id);
    case OP_VERSIONING:
        return md_bucket_set_versioning(c, o->id, o->ver, o->mfa);
    case OP_WRITE:
        o->err = object_write(c, bname, o->bucket_id, &o->cond, f->a, &o->b, &o->v, &o->trashed);
        break;
    case OP_REMOVE:
        o->err = object_remove(c, bname, o->bucket_id, o->account, o->key, o->vid, STR_NULL, o->mfa_ok, 7000, f->a, &o->b,
                               &o->del);
        break;
    case OP_MANY:
        o->err = object_delete_many(c, bname, o->bucket_id, o->account, o->items, o->n, o->mfa_ok, 7000, f->a,
                                    &o->b);
        break;
    case OP_UPLOAD:
        return md_upload_create(c, &o->u);
    case OP_PART:
        return md_part_put(c, o->id, &o->p);
    case OP_COMPLETE:
        o->err = object_mpu_complete(c, &o->cx, f->a);
        break;
    case OP_ABORT:
        o->err = object_mpu_abort(c, bname, o->bucket_id, o->key, o->vid, f->a, &o->b);
        break;
    }
    if (o->fail_after != 0)
        return o->fail_after;
    return o->err == CORE_E_OK ? 0 : -EINVAL;
}

static int
op(struct fx *f, struct op *o)
{
    o->f = f;
    if (o->account == 0)
        o->account = f->acct;
    if (o->bucket_id == 0)
        o->bucket_id = f->bucket;
    if (o->kind == OP_COMPLETE && o->cx.bucket_id == 0)
        o->cx.bucket_id = f->bucket;
    return md_write(f->md, run_op, o);
}

static void
fx_open(struct fx *f, enum md_versioning ver, enum md_mfa mfa)
{
    struct op o = {.kind = OP_ACCOUNT, .name = "alice"};

    snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-core-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(md_open(f->dir, &f->md), 0);
    assert_int_equal(blob_open(f->dir, &f->blob), 0);
    f->a = arena_new();
    assert_int_equal(op(f, &o), 0);
    f->acct = o.id;
    o = (struct op){.kind = OP_BUCKET};
    assert_int_equal(op(f, &o), 0);
    f->bucket = o.id;
    if (ver != MD_VER_NONE) {
        o = (struct op){.kind = OP_VERSIONING, .id = o.id, .ver = ver, .mfa = mfa};
        assert_int_equal(op(f, &o), 0);
    }
}

static void
fx_close(struct fx *f)
{
    blob_close(f->blob);
    md_close(f->md);
    arena_free(f->a);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
set_versioning(struct fx *f, enum md_versioning ver)
{
    struct md_bucket b;
    struct op o = {.kind = OP_VERSIONING, .ver = ver};

    assert_int_equal(md_bucket_get(md_reader(f->md), STR_LIT("photos"), f->a, &b), 0);
    o.id = b.id;
    assert_int_equal(op(f, &o), 0);
}

#define BLOB(c) (c "0000000000000000000000000000000")
#define ETAG_A "0123456789abcdef0123456789abcdef"
#define ETAG_B "fedcba9876543210fedcba9876543210"

/* PUT of key with data in blob (NULL: inline "hello"); the op's result. */
static struct op
put(struct fx *f, const char *key, const char *blob, const struct object_cond *cond)
{
    struct op o = {.kind = OP_WRITE};

    o.v.key = str_c(key);
    o.v.size = 5;
    o.v.mtime_ms = 3000;
    o.v.owner_id = f->acct;
    o.v.etag = STR_LIT(ETAG_A);
    o.v.content_type = STR_LIT("text/plain");
    o.v.meta = STR_LIT("");
    if (blob != NULL)
        o.v.blob_id = str_c(blob);
    else
        o.v.inline_data = STR_LIT("hello");
    if (cond != NULL)
        o.cond = *cond;
    (void)op(f, &o);
    return o;
}

/* ---- ETag lists ---------------------------------------------------------- */

/* How store results become core errors: a conflict left after its retries
 * is a 503, as a locked store is, never a 500. */
static void
test_store_errors(void **state)
{
    (void)state;
    assert_int_equal(core_store_err(0), CORE_E_OK);
    assert_int_equal(core_store_err(-EBUSY), CORE_E_SLOW_DOWN);
    assert_int_equal(core_store_err(-EAGAIN), CORE_E_SLOW_DOWN);
    assert_int_equal(core_store_err(-ENOSPC), CORE_E_STORAGE_FULL);
    assert_int_equal(core_store_err(-EIO), CORE_E_INTERNAL);
}

static void
test_etag_matches(void **state)
{
    static const struct str etag = STR_LIT("a54357aff0632cce46d942af68356b38");

    (void)state;
    assert_true(object_etag_matches(STR_LIT("\"a54357aff0632cce46d942af68356b38\""), etag));
    assert_true(object_etag_matches(STR_LIT("a54357aff0632cce46d942af68356b38"), etag));
    assert_true(object_etag_matches(STR_LIT(" \"x\" , a54357aff0632cce46d942af68356b38"), etag));
    assert_true(object_etag_matches(STR_LIT("\"x\",*"), etag));
    assert_false(object_etag_matches(STR_LIT("\"x\", \"y\""), etag));
    assert_false(object_etag_matches(STR_LIT(""), etag));
    assert_false(object_etag_matches(STR_NULL, etag));
}

/* ---- PUT: the null version ----------------------------------------------- */

static void
test_put_null_version(void **state)
{
    struct fx f;
    struct md_conn *r;
    struct md_version v;
    struct op o;
    struct str vid3;

    (void)state;
    fx_open(&f, MD_VER_NONE, MD_MFA_UNSET);
    r = md_reader(f.md);
    /* Unversioned: the null version, replaced in place; its data to the trash. */
    o = put(&f, "k", BLOB("a"), NULL);
    assert_int_equal(o.err, CORE_E_OK);
    assert_true(str_eq_c(o.v.version_id, "null"));
    assert_false(o.trashed);
    o = put(&f, "k", BLOB("b"), NULL);
    assert_int_equal(o.err, CORE_E_OK);
    assert_true(str_eq_c(o.v.version_id, "null"));
    assert_true(o.trashed);
    assert_int_equal(md_trash_pending(r, INT64_MAX), 1);
    assert_int_equal(version_get(r, o.b.id, STR_LIT("k"), STR_NULL, f.a, &v), CORE_E_OK);
    assert_true(str_eq_c(v.blob_id, BLOB("b")));

    /* Enabled: a fresh id each time; the null version stays. */
    set_versioning(&f, MD_VER_ENABLED);
    o = put(&f, "k", BLOB("c"), NULL);
    assert_int_equal(o.err, CORE_E_OK);
    assert_int_equal(o.v.version_id.n, MD_VID_LEN);
    assert_false(o.trashed);
    vid3 = arena_str(f.a, o.v.version_id);
    assert_int_equal(version_get(r, o.b.id, STR_LIT("k"), STR_LIT("null"), f.a, &v), CORE_E_OK);
    assert_true(str_eq_c(v.blob_id, BLOB("b")));
    assert_false(v.is_latest);

    /* Suspended: the null version is replaced again, the versioned one kept. */
    set_versioning(&f, MD_VER_SUSPENDED);
    o = put(&f, "k", NULL, NULL);
    assert_int_equal(o.err, CORE_E_OK);
    assert_true(str_eq_c(o.v.version_id, "null"));
    assert_true(o.trashed);
    /* A null version with its data in its row leaves nothing to reap. */
    o = put(&f, "k", NULL, NULL);
    assert_int_equal(o.err, CORE_E_OK);
    assert_false(o.trashed);
    assert_int_equal(version_get(r, o.b.id, STR_LIT("k"), vid3, f.a, &v), CORE_E_OK);
    assert_true(str_eq_c(v.blob_id, BLOB("c")));
    assert_int_equal(version_get(r, o.b.id, STR_LIT("k"), STR_NULL, f.a, &v), CORE_E_OK);
    assert_true(str_eq_c(v.inline_data, "hello"));
    fx_close(&f);
}

/* ---- conditional writes, bucket checks ------------------------------------ */

static void
test_put_conditions(void **state)
{
    struct fx f;
    struct op o;
    const struct object_cond none_match = {.if_none_match = true};
    const struct object_cond match_a = {.if_match = STR_LIT("\"" ETAG_A "\"")};
    const struct object_cond match_b = {.if_match = STR_LIT(ETAG_B)};
    const struct object_cond match_any = {.if_match = STR_LIT("*")};

    (void)state;
    fx_open(&f, MD_VER_ENABLED, MD_MFA_UNSET);
    assert_int_equal(put(&f, "k", NULL, &match_any).err, CORE_E_NO_SUCH_KEY);
    assert_int_equal(put(&f, "k", NULL, &none_match).err, CORE_E_OK);
    assert_int_equal(put(&f, "k", NULL, &none_match).err, CORE_E_PRECONDITION_FAILED);
    assert_int_equal(put(&f, "k", NULL, &match_b).err, CORE_E_PRECONDITION_FAILED);
    assert_int_equal(put(&f, "k", NULL, &match_a).err, CORE_E_OK);
    assert_int_equal(put(&f, "k", NULL, &match_any).err, CORE_E_OK);
    /* A delete marker is no current object. */
    o = (struct op){.kind = OP_REMOVE, .key = STR_LIT("k")};
    assert_int_equal(op(&f, &o), 0);
    assert_true(o.del.delete_marker);
    assert_int_equal(put(&f, "k", NULL, &match_any).err, CORE_E_NO_SUCH_KEY);
    assert_int_equal(put(&f, "k", NULL, &none_match).err, CORE_E_OK);
    /* Not the bucket the request was authorized on (deleted and made
     * again since); no bucket. */
    o = (struct op){.kind = OP_WRITE, .bucket_id = f.bucket + 1};
    o.v.key = STR_LIT("k");
    assert_int_equal(op(&f, &o), -EINVAL);
    assert_int_equal(o.err, CORE_E_NO_SUCH_BUCKET);
    o = (struct op){.kind = OP_WRITE, .name = "nope"};
    o.v.key = STR_LIT("k");
    assert_int_equal(op(&f, &o), -EINVAL);
    assert_int_equal(o.err, CORE_E_NO_SUCH_BUCKET);
    fx_close(&f);
}

/* ---- DeleteObject, MFA delete --------------------------------------------- */

static void
test_remove(void **state)
{
    struct fx f;
    struct op o, w;

    (void)state;
    fx_open(&f, MD_VER_ENABLED, MD_MFA_ENABLED);
    w = put(&f, "k", BLOB("a"), NULL);
    assert_int_equal(w.err, CORE_E_OK);
    /* MFA delete turned on after the request's check: nothing happens. */
    o = (struct op){.kind = OP_REMOVE, .key = STR_LIT("k"), .vid = w.v.version_id};
    assert_int_equal(op(&f, &o), -EINVAL);
    assert_int_equal(o.err, CORE_E_MFA_REQUIRED);
    assert_false(o.del.removed);
    /* A simple delete needs no MFA: a marker. */
    o = (struct op){.kind = OP_REMOVE, .key = STR_LIT("k")};
    assert_int_equal(op(&f, &o), 0);
    assert_true(o.del.delete_marker);
    assert_int_equal(o.del.version_id.n, MD_VID_LEN);
    /* Verified: the version goes for good, its data to the trash. */
    o = (struct op){.kind = OP_REMOVE, .key = STR_LIT("k"), .vid = w.v.version_id, .mfa_ok = true};
    assert_int_equal(op(&f, &o), 0);
    assert_true(o.del.removed);
    assert_false(o.del.delete_marker);
    assert_true(str_eq_c(o.del.blob_id, BLOB("a")));
    /* Again: no such version is no error; a malformed id is NoSuchVersion. */
    o = (struct op){.kind = OP_REMOVE, .key = STR_LIT("k"), .vid = w.v.version_id, .mfa_ok = true};
    assert_int_equal(op(&f, &o), 0);
    assert_false(o.del.removed);
    o = (struct op){.kind = OP_REMOVE, .key = STR_LIT("k"), .vid = STR_LIT("bad"), .mfa_ok = true};
    assert_int_equal(op(&f, &o), -EINVAL);
    assert_int_equal(o.err, CORE_E_NO_SUCH_VERSION);
    fx_close(&f);
}

/* ---- DeleteObjects, run twice ---------------------------------------------- */

static void
poison(struct object_del_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        items[i].err = CORE_E_INTERNAL;
        items[i].out.version_id = STR_LIT("left over");
        items[i].out.delete_marker = true;
        items[i].out.blob_id = STR_LIT("left over");
        items[i].out.removed = true;
    }
}

static void
test_delete_many_retry(void **state)
{
    struct fx f;
    struct op o, w1, w2;
    struct object_del_item items[5], first[5];
    struct md_version v;

    (void)state;
    fx_open(&f, MD_VER_ENABLED, MD_MFA_ENABLED);
    w1 = put(&f, "a", BLOB("a"), NULL);
    w2 = put(&f, "b", BLOB("b"), NULL);
    memset(items, 0, sizeof(items));
    items[0].key = STR_LIT("a");                             /* simple: a marker */
    items[1].key = STR_LIT("b");                             /* that version, for good */
    items[1].vid = arena_str(f.a, w2.v.version_id);
    items[2].key = STR_LIT("c");                             /* malformed id */
    items[2].vid = STR_LIT("not-an-id");
    items[3].key = STR_LIT("d");                             /* refused by s3/ */
    items[3].skip = true;
    items[4].key = STR_LIT("a");                             /* a version that is not there */
    items[4].vid = STR_LIT("null");

    /* Without the MFA check the request fails whole, every output cleared. */
    poison(items, ARRAY_LEN(items));
    o = (struct op){.kind = OP_MANY, .items = items, .n = ARRAY_LEN(items)};
    assert_int_equal(op(&f, &o), -EINVAL);
    assert_int_equal(o.err, CORE_E_MFA_REQUIRED);
    for (size_t i = 0; i < ARRAY_LEN(items); i++) {
        assert_int_equal(items[i].err, CORE_E_OK);
        assert_null(items[i].out.version_id.p);
        assert_false(items[i].out.removed || items[i].out.delete_marker);
    }

    /* A first run rolled back (as a conflicting backend would), then the
     * run that commits, starting from what the first left behind. */
    o = (struct op){.kind = OP_MANY, .items = items, .n = ARRAY_LEN(items), .mfa_ok = true,
                    .fail_after = -EAGAIN};
    assert_int_equal(op(&f, &o), -EAGAIN);
    assert_int_equal(o.err, CORE_E_OK);
    memcpy(first, items, sizeof(items));
    o = (struct op){.kind = OP_MANY, .items = items, .n = ARRAY_LEN(items), .mfa_ok = true};
    assert_int_equal(op(&f, &o), 0);
    for (size_t i = 0; i < ARRAY_LEN(items); i++) {
        assert_int_equal(items[i].err, first[i].err);
        assert_int_equal(items[i].out.removed, first[i].out.removed);
        assert_int_equal(items[i].out.delete_marker, first[i].out.delete_marker);
        assert_int_equal(items[i].out.version_id.p == NULL, first[i].out.version_id.p == NULL);
        assert_int_equal(items[i].out.blob_id.p == NULL, first[i].out.blob_id.p == NULL);
    }
    assert_int_equal(items[0].err, CORE_E_OK);
    assert_true(items[0].out.delete_marker);
    assert_int_equal(items[0].out.version_id.n, MD_VID_LEN);
    assert_int_equal(items[1].err, CORE_E_OK);
    assert_true(items[1].out.removed);
    assert_true(str_eq_c(items[1].out.blob_id, BLOB("b")));
    assert_true(str_eq(items[1].out.version_id, items[1].vid));
    assert_int_equal(items[2].err, CORE_E_NO_SUCH_VERSION);
    assert_int_equal(items[3].err, CORE_E_OK);
    assert_null(items[3].out.version_id.p);
    assert_int_equal(items[4].err, CORE_E_OK);
    assert_false(items[4].out.removed);
    /* What committed is one run's work: one marker on a, b's version gone. */
    assert_int_equal(version_get(md_reader(f.md), o.b.id, STR_LIT("a"), STR_NULL, f.a, &v),
                     CORE_E_NO_SUCH_KEY);
    assert_true(v.is_delete_marker);
    assert_true(str_eq(v.version_id, items[0].out.version_id));
    assert_int_equal(version_get(md_reader(f.md), o.b.id, STR_LIT("a"), w1.v.version_id, f.a, &v),
                     CORE_E_OK);
    assert_int_equal(version_get(md_reader(f.md), o.b.id, STR_LIT("b"), items[1].vid, f.a, &v),
                     CORE_E_NO_SUCH_VERSION);

    /* Leftovers of an earlier run never decide: a poisoned array gives the
     * same answers for a run that changes nothing but markers. */
    poison(items, ARRAY_LEN(items));
    o = (struct op){.kind = OP_MANY, .items = items + 2, .n = 3, .mfa_ok = true};
    assert_int_equal(op(&f, &o), 0);
    assert_int_equal(items[2].err, CORE_E_NO_SUCH_VERSION);
    assert_false(items[2].out.removed);
    assert_int_equal(items[3].err, CORE_E_OK);
    assert_false(items[3].out.delete_marker);
    assert_int_equal(items[4].err, CORE_E_OK);
    assert_false(items[4].out.removed);
    fx_close(&f);
}

/* ---- multipart completion --------------------------------------------------- */

#define MIB (1024LL * 1024)

static int64_t
mk_upload(struct fx *f, const char *id, const char *algo, const char *type)
{
    struct md_bucket b;
    struct op o = {.kind = OP_UPLOAD};

    assert_int_equal(md_bucket_get(md_reader(f->md), STR_LIT("photos"), f->a, &b), 0);
    o.u.upload_id = str_c(id);
    o.u.bucket_id = b.id;
    o.u.key = STR_LIT("big");
    o.u.initiated_ms = 5000;
    o.u.owner_id = f->acct;
    o.u.content_type = STR_LIT("video/mp4");
    o.u.meta = STR_LIT("x-amz-meta-a: b\n");
    o.u.checksum_algo = str_c(algo);
    o.u.checksum_type = str_c(type);
    assert_int_equal(op(f, &o), 0);
    return o.u.id;
}

static void
mk_part(struct fx *f, int64_t upload, int number, int64_t size, const char *blob,
        const char *etag, const char *cksum)
{
    struct op o = {.kind = OP_PART, .id = upload};

    o.p.part_number = number;
    o.p.size = size;
    o.p.mtime_ms = 6000;
    o.p.blob_id = str_c(blob);
    o.p.etag = str_c(etag);
    o.p.checksum = str_c(cksum);
    assert_int_equal(op(f, &o), 0);
}

static struct op
complete(struct fx *f, const char *id, const struct object_mpu_want *want, size_t n,
         int64_t object_size)
{
    struct op o = {.kind = OP_COMPLETE};

    o.cx.bucket = STR_LIT("photos");
    o.cx.account_id = f->acct;
    o.cx.key = STR_LIT("big");
    o.cx.upload_id = str_c(id);
    o.cx.want = want;
    o.cx.n_want = n;
    o.cx.object_size = object_size;
    o.cx.now_ms = 9000;
    (void)op(f, &o);
    return o;
}

static void
test_complete(void **state)
{
    struct fx f;
    struct md_conn *r;
    struct md_upload u;
    struct md_part *ext;
    struct md_version v;
    struct op o;
    struct hash *h;
    unsigned char d[16], md5[16];
    char hex[33], want_etag[40];
    size_t n;
    int64_t up;

    (void)state;
    fx_open(&f, MD_VER_ENABLED, MD_MFA_UNSET);
    r = md_reader(f.md);
    up = mk_upload(&f, "UP1", "", "");
    mk_part(&f, up, 1, 5 * MIB, BLOB("a"), ETAG_A, "");
    mk_part(&f, up, 2, 4 * MIB, BLOB("b"), ETAG_B, "");
    mk_part(&f, up, 3, 10, BLOB("c"), ETAG_A, "");
    mk_part(&f, up, 7, 10, BLOB("d"), ETAG_B, "");

    /* Out of order, missing, wrong ETag, too small: each its own error,
     * naming the part; nothing changes. */
    o = complete(&f, "UP1",
                 (const struct object_mpu_want[]){{2, STR_LIT(ETAG_B), STR_NULL},
                                                  {1, STR_LIT(ETAG_A), STR_NULL}},
                 2, -1);
    assert_int_equal(o.err, CORE_E_INVALID_PART_ORDER);
    o = complete(&f, "UP1",
                 (const struct object_mpu_want[]){{1, STR_LIT(ETAG_A), STR_NULL},
                                                  {4, STR_LIT(ETAG_A), STR_NULL}},
                 2, -1);
    assert_int_equal(o.err, CORE_E_INVALID_PART);
    assert_int_equal(o.cx.bad, 1);
    o = complete(&f, "UP1",
                 (const struct object_mpu_want[]){{1, STR_LIT(ETAG_B), STR_NULL}}, 1, -1);
    assert_int_equal(o.err, CORE_E_INVALID_PART);
    assert_int_equal(o.cx.bad, 0);
    o = complete(&f, "UP1",
                 (const struct object_mpu_want[]){{1, STR_LIT(ETAG_A), STR_NULL},
                                                  {2, STR_LIT(ETAG_B), STR_NULL},
                                                  {3, STR_LIT(ETAG_A), STR_NULL}},
                 3, -1);
    assert_int_equal(o.err, CORE_E_ENTITY_TOO_SMALL);
    assert_int_equal(o.cx.bad, 1);
    assert_int_equal(o.cx.bad_size, 4 * MIB);
    assert_true(str_eq_c(o.cx.bad_etag, ETAG_B));
    o = complete(&f, "UP1",
                 (const struct object_mpu_want[]){{1, STR_LIT(ETAG_A), STR_NULL},
                                                  {3, STR_LIT(ETAG_A), STR_NULL}},
                 1, 12345);
    assert_int_equal(o.err, CORE_E_OBJECT_SIZE_MISMATCH);
    assert_int_equal(o.cx.total, 5 * MIB);
    /* Another key's upload, and an unknown one. */
    o = complete(&f, "UP2", (const struct object_mpu_want[]){{1, STR_LIT(ETAG_A), STR_NULL}}, 1,
                 -1);
    assert_int_equal(o.err, CORE_E_NO_SUCH_UPLOAD);
    assert_int_equal(md_upload_get(r, STR_LIT("UP1"), f.a, &u), 0);

    /* Parts 1 and 3 (upper-case ETag): the version, its extents numbered
     * 1..N, the upload gone, the parts left out in the trash. */
    o = complete(&f, "UP1",
                 (const struct object_mpu_want[]){{1, STR_LIT("0123456789ABCDEF0123456789ABCDEF"),
                                                   STR_NULL},
                                                  {3, STR_LIT(ETAG_A), STR_NULL}},
                 2, 5 * MIB + 10);
    assert_int_equal(o.err, CORE_E_OK);
    h = hash_new(HASH_MD5);
    assert_int_equal(hex_decode(STR_LIT(ETAG_A), d, sizeof(d)), 16);
    hash_update(h, d, 16);
    hash_update(h, d, 16);
    hash_final(h, md5);
    hex_encode(md5, 16, hex);
    snprintf(want_etag, sizeof(want_etag), "%s-2", hex);
    assert_true(str_eq_c(o.cx.v.etag, want_etag));
    assert_int_equal(o.cx.v.size, 5 * MIB + 10);
    assert_int_equal(o.cx.v.parts_count, 2);
    assert_int_equal(o.cx.v.version_id.n, MD_VID_LEN);
    assert_int_equal(md_upload_get(r, STR_LIT("UP1"), f.a, &u), -ENOENT);
    assert_int_equal(version_get(r, o.cx.b.id, STR_LIT("big"), STR_NULL, f.a, &v), CORE_E_OK);
    assert_true(str_eq_c(v.content_type, "video/mp4"));
    assert_true(str_eq_c(v.meta, "x-amz-meta-a: b\n"));
    assert_int_equal(md_version_part_list(r, v.seq, 0, 10, f.a, &ext, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ext[0].part_number, 1);
    assert_int_equal(ext[0].first_byte, 0);
    assert_int_equal(ext[1].part_number, 2);
    assert_int_equal(ext[1].first_byte, 5 * MIB);
    assert_true(str_eq_c(ext[1].blob_id, BLOB("c")));
    assert_int_equal(md_trash_pending(r, INT64_MAX), 1);
    /* Completed: it is no upload any more. */
    o = complete(&f, "UP1", (const struct object_mpu_want[]){{1, STR_LIT(ETAG_A), STR_NULL}}, 1,
                 -1);
    assert_int_equal(o.err, CORE_E_NO_SUCH_UPLOAD);
    fx_close(&f);
}

static void
test_complete_checksums(void **state)
{
    struct fx f;
    struct op o;
    int64_t up;

    (void)state;
    fx_open(&f, MD_VER_NONE, MD_MFA_UNSET);
    /* CRC32 of "a" (0xe8b7be43) and of "b" (0x71beeff9), big-endian in base64. */
    up = mk_upload(&f, "UP1", "CRC32", "COMPOSITE");
    mk_part(&f, up, 1, 1, BLOB("a"), ETAG_A, "6Le+Qw==");
    o = complete(&f, "UP1", (const struct object_mpu_want[]){{1, STR_LIT(ETAG_A), STR_NULL}}, 1,
                 -1);
    assert_int_equal(o.err, CORE_E_PART_CHECKSUM_MISSING);
    o = complete(&f, "UP1",
                 (const struct object_mpu_want[]){{1, STR_LIT(ETAG_A), STR_LIT("AAAAAA==")}}, 1,
                 -1);
    assert_int_equal(o.err, CORE_E_INVALID_PART);
    o = complete(&f, "UP1",
                 (const struct object_mpu_want[]){{1, STR_LIT(ETAG_A), STR_LIT("6Le+Qw==")}}, 1,
                 -1);
    assert_int_equal(o.err, CORE_E_OK);
    /* COMPOSITE: the CRC32 of the parts' CRCs, "-N". */
    assert_true(str_eq_c(o.cx.v.checksum_algo, "CRC32"));
    assert_true(str_eq_c(o.cx.v.checksum_value, "Zw3NQg==-1"));
    assert_true(str_eq_c(o.cx.v.version_id, "null"));

    /* FULL_OBJECT: CRC32("ab") = 0x9e83486d, from the parts' CRCs. */
    up = mk_upload(&f, "UP2", "CRC32", "FULL_OBJECT");
    mk_part(&f, up, 1, 5 * MIB, BLOB("b"), ETAG_A, "6Le+Qw==");
    mk_part(&f, up, 2, 1, BLOB("c"), ETAG_A, "cb7v+Q==");
    assert_int_equal(object_mpu_crc_combine(CKSUM_CRC32, 0xe8b7be43u, 0x71beeff9u, 1), 0x9e83486du);
    o = complete(&f, "UP2",
                 (const struct object_mpu_want[]){{1, STR_LIT(ETAG_A), STR_NULL},
                                                  {2, STR_LIT(ETAG_A), STR_NULL}},
                 2, -1);
    assert_int_equal(o.err, CORE_E_OK);
    assert_true(str_eq_c(o.cx.v.checksum_algo, "CRC32"));
    assert_true(str_eq_c(o.cx.v.checksum_value, "noNIbQ=="));
    /* A whole-object checksum sent along: of another algorithm, or another value. */
    up = mk_upload(&f, "UP3", "CRC32", "FULL_OBJECT");
    mk_part(&f, up, 1, 1, BLOB("d"), ETAG_A, "6Le+Qw==");
    o = (struct op){.kind = OP_COMPLETE};
    o.cx = (struct object_mpu_complete){
        .bucket = STR_LIT("photos"), .account_id = f.acct, .key = STR_LIT("big"),
        .upload_id = STR_LIT("UP3"), .n_want = 1, .object_size = -1,
        .want = (const struct object_mpu_want[]){{1, STR_LIT(ETAG_A), STR_NULL}},
        .full_algo = CKSUM_CRC32C, .full_checksum = STR_LIT("6Le+Qw=="),
    };
    assert_int_equal(op(&f, &o), -EINVAL);
    assert_int_equal(o.err, CORE_E_CHECKSUM_ALGO_MISMATCH);
    o.cx.full_algo = CKSUM_CRC32;
    o.cx.full_checksum = STR_LIT("cb7v+Q==");
    assert_int_equal(op(&f, &o), -EINVAL);
    assert_int_equal(o.err, CORE_E_BAD_CHECKSUM);
    o.cx.full_checksum = STR_LIT(" 6Le+Qw== ");
    assert_int_equal(op(&f, &o), 0);
    assert_true(str_eq_c(o.cx.v.checksum_value, "6Le+Qw=="));
    /* The null version it replaced had extents, no blob of its own: they
     * went to the trash. */
    assert_true(o.cx.trashed);
    fx_close(&f);
}

static void
test_abort(void **state)
{
    struct fx f;
    struct op o;
    int64_t up;

    (void)state;
    fx_open(&f, MD_VER_NONE, MD_MFA_UNSET);
    up = mk_upload(&f, "UP1", "", "");
    mk_part(&f, up, 1, 10, BLOB("a"), ETAG_A, "");
    o = (struct op){.kind = OP_ABORT, .key = STR_LIT("other"), .vid = STR_LIT("UP1")};
    assert_int_equal(op(&f, &o), -EINVAL);
    assert_int_equal(o.err, CORE_E_NO_SUCH_UPLOAD);
    o = (struct op){.kind = OP_ABORT, .key = STR_LIT("big"), .vid = STR_LIT("")};
    assert_int_equal(op(&f, &o), -EINVAL);
    assert_int_equal(o.err, CORE_E_NO_SUCH_UPLOAD);
    o = (struct op){.kind = OP_ABORT, .key = STR_LIT("big"), .vid = STR_LIT("UP1"),
                    .bucket_id = f.bucket + 1};
    assert_int_equal(op(&f, &o), -EINVAL);
    assert_int_equal(o.err, CORE_E_NO_SUCH_BUCKET);
    o = (struct op){.kind = OP_ABORT, .key = STR_LIT("big"), .vid = STR_LIT("UP1")};
    assert_int_equal(op(&f, &o), 0);
    assert_int_equal(md_trash_pending(md_reader(f.md), INT64_MAX), 1);
    o = (struct op){.kind = OP_ABORT, .key = STR_LIT("big"), .vid = STR_LIT("UP1")};
    assert_int_equal(op(&f, &o), -EINVAL);
    assert_int_equal(o.err, CORE_E_NO_SUCH_UPLOAD);
    fx_close(&f);
}

/* ---- finding and opening versions ------------------------------------------ */

static void
test_version_get_open(void **state)
{
    struct fx f;
    struct md_conn *r;
    struct md_version v;
    struct version_reader *mpu;
    struct blob_writer *w;
    struct blob_reader *rd;
    struct op o, w1, w2;
    char id[BLOB_ID_LEN + 1];
    bool has_blob;
    int64_t bid;

    (void)state;
    fx_open(&f, MD_VER_ENABLED, MD_MFA_UNSET);
    r = md_reader(f.md);
    assert_true(version_id_valid(STR_LIT("null")));
    assert_false(version_id_valid(STR_LIT("nul")));
    assert_false(version_id_valid(STR_LIT("")));
    w1 = put(&f, "k", NULL, NULL);
    bid = w1.b.id;
    assert_true(version_id_valid(w1.v.version_id));
    o = (struct op){.kind = OP_REMOVE, .key = STR_LIT("k")};
    assert_int_equal(op(&f, &o), 0);

    /* The current version is a marker: NoSuchKey, with the marker. */
    assert_int_equal(version_get(r, bid, STR_LIT("k"), STR_NULL, f.a, &v), CORE_E_NO_SUCH_KEY);
    assert_true(v.is_delete_marker);
    assert_true(str_eq(v.version_id, o.del.version_id));
    /* Named by its id: found, the caller decides. */
    assert_int_equal(version_get(r, bid, STR_LIT("k"), o.del.version_id, f.a, &v), CORE_E_OK);
    assert_true(v.is_delete_marker);
    /* No such key, no such (or a malformed) version, no null version. */
    assert_int_equal(version_get(r, bid, STR_LIT("x"), STR_NULL, f.a, &v), CORE_E_NO_SUCH_KEY);
    assert_false(v.is_delete_marker);
    assert_int_equal(version_get(r, bid, STR_LIT("k"), STR_LIT("bad"), f.a, &v),
                     CORE_E_NO_SUCH_VERSION);
    assert_int_equal(version_get(r, bid, STR_LIT("k"), STR_LIT("null"), f.a, &v),
                     CORE_E_NO_SUCH_VERSION);
    assert_int_equal(version_get(r, bid, STR_LIT("k"), w1.v.version_id, f.a, &v), CORE_E_OK);
    assert_true(str_eq_c(v.inline_data, "hello"));

    /* Opening: inline data needs nothing; a blob is probed; data gone
     * (three reads of the row, each finding it) is an internal error; a
     * loop thread opens nothing. */
    rd = blob_reader_open(f.blob);
    assert_int_equal(version_open(f.md, rd, bid, STR_LIT("k"), w1.v.version_id, false, f.a, &v,
                                  &mpu, &has_blob),
                     CORE_E_OK);
    assert_null(mpu);
    assert_false(has_blob);
    assert_int_equal(blob_writer_open(f.blob, &w), 0);
    assert_int_equal(blob_writer_write(w, "hello", 5), 0);
    assert_int_equal(blob_writer_commit(w, id), 0);
    w2 = put(&f, "b", id, NULL);
    assert_int_equal(version_open(f.md, rd, bid, STR_LIT("b"), STR_NULL, false, f.a, &v, &mpu,
                                  &has_blob),
                     CORE_E_OK);
    assert_true(has_blob);
    assert_null(mpu);
    (void)put(&f, "gone", BLOB("e"), NULL);
    assert_int_equal(version_open(f.md, rd, bid, STR_LIT("gone"), STR_NULL, false, f.a, &v, &mpu,
                                  &has_blob),
                     CORE_E_INTERNAL);
    assert_int_equal(version_open(f.md, rd, bid, STR_LIT("gone"), STR_NULL, true, f.a, &v, &mpu,
                                  &has_blob),
                     CORE_E_OK);
    assert_false(has_blob);
    assert_int_equal(version_open(f.md, rd, bid, STR_LIT("k"), STR_NULL, false, f.a, &v, &mpu,
                                  &has_blob),
                     CORE_E_NO_SUCH_KEY);
    assert_true(v.is_delete_marker);
    assert_true(str_eq(w2.v.key, STR_LIT("b")));
    blob_reader_close(rd);
    fx_close(&f);
}

/* A multipart version read through a version_reader. */
static void
test_version_reader(void **state)
{
    struct fx f;
    struct md_version v;
    struct version_reader *mpu;
    struct blob_reader *rd;
    struct op o;
    char ids[2][BLOB_ID_LEN + 1], buf[16];
    bool has_blob;
    int64_t up;

    (void)state;
    fx_open(&f, MD_VER_NONE, MD_MFA_UNSET);
    for (int i = 0; i < 2; i++) {
        struct blob_writer *w;
        assert_int_equal(blob_writer_open(f.blob, &w), 0);
        assert_int_equal(blob_writer_write(w, i == 0 ? "abc" : "defg", i == 0 ? 3 : 4), 0);
        assert_int_equal(blob_writer_commit(w, ids[i]), 0);
    }
    up = mk_upload(&f, "UP1", "", "");
    mk_part(&f, up, 4, 3, ids[0], ETAG_A, "");
    mk_part(&f, up, 9, 4, ids[1], ETAG_B, "");
    /* Only the last part may be under 5 MiB: complete with part 9 alone. */
    o = complete(&f, "UP1",
                 (const struct object_mpu_want[]){{4, STR_LIT(ETAG_A), STR_NULL},
                                                  {9, STR_LIT(ETAG_B), STR_NULL}},
                 2, -1);
    assert_int_equal(o.err, CORE_E_ENTITY_TOO_SMALL);
    o = complete(&f, "UP1", (const struct object_mpu_want[]){{9, STR_LIT(ETAG_B), STR_NULL}}, 1,
                 -1);
    assert_int_equal(o.err, CORE_E_OK);
    rd = blob_reader_open(f.blob);
    assert_int_equal(version_open(f.md, rd, o.cx.b.id, STR_LIT("big"), STR_NULL, false, f.a, &v,
                                  &mpu, &has_blob),
                     CORE_E_OK);
    assert_non_null(mpu);
    assert_false(has_blob);
    assert_int_equal(version_reader_pread(mpu, buf, sizeof(buf), 0), 4);
    assert_memory_equal(buf, "defg", 4);
    assert_int_equal(version_reader_pread(mpu, buf, sizeof(buf), 2), 2);
    assert_memory_equal(buf, "fg", 2);
    assert_int_equal(version_reader_pread(mpu, buf, sizeof(buf), 4), 0);
    version_reader_close(mpu);
    blob_reader_close(rd);
    fx_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_errors),       cmocka_unit_test(test_etag_matches),       cmocka_unit_test(test_put_null_version),
        cmocka_unit_test(test_put_conditions),     cmocka_unit_test(test_remove),
        cmocka_unit_test(test_delete_many_retry),  cmocka_unit_test(test_complete),
        cmocka_unit_test(test_complete_checksums), cmocka_unit_test(test_abort),
        cmocka_unit_test(test_version_get_open),   cmocka_unit_test(test_version_reader),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
