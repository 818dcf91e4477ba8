/* test_md_mpu.c -- multipart uploads in the metadata store on a temp
 * directory: uploads, parts (replacement sends the old blob to the trash),
 * paged part and upload listings, completion as extents (no blob leaves
 * the referenced set), version deletion and bucket deletion feeding the
 * trash, blob_gc liveness; plus the CRC combination behind FULL_OBJECT
 * checksums, on the CRC catalogue's "123456789" check values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "crypto/cksum.h"
#include "s3/s3_mpu.h"
#include "store/md.h"
#include "util/arena.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- CRC combination ----------------------------------------------------- */

static uint64_t
crc_of(enum cksum_algo a, const void *p, size_t n)
{
    unsigned char out[CKSUM_MAX_LEN];
    struct cksum c;
    size_t len;
    uint64_t v = 0;

    cksum_init(&c, a);
    cksum_update(&c, p, n);
    len = cksum_final(&c, out);
    for (size_t i = 0; i < len; i++)
        v = v << 8 | out[i];
    return v;
}

static void
test_crc_combine(void **state)
{
    /* Check values of the CRC catalogue (CRC-32/ISO-HDLC, CRC-32/ISCSI,
     * CRC-64/NVME) for "123456789". */
    static const struct {
        enum cksum_algo a;
        uint64_t check;
    } v[] = {
        {CKSUM_CRC32, 0xcbf43926u},
        {CKSUM_CRC32C, 0xe3069283u},
        {CKSUM_CRC64NVME, 0xae8b14860a799888ull},
    };
    static const char msg[] = "123456789";
    unsigned char big[70000];

    (void)state;
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (unsigned char)(i * 7 + (i >> 9));
    for (size_t k = 0; k < ARRAY_LEN(v); k++) {
        assert_int_equal(crc_of(v[k].a, msg, 9), v[k].check);
        for (size_t cut = 0; cut <= 9; cut++) {
            uint64_t c1 = crc_of(v[k].a, msg, cut), c2 = crc_of(v[k].a, msg + cut, 9 - cut);
            assert_int_equal(s3_mpu_crc_combine(v[k].a, c1, c2, (int64_t)(9 - cut)), v[k].check);
        }
        /* Three uneven pieces, one longer than 64 KiB. */
        uint64_t whole = crc_of(v[k].a, big, sizeof(big));
        uint64_t c = crc_of(v[k].a, big, 1000);
        c = s3_mpu_crc_combine(v[k].a, c, crc_of(v[k].a, big + 1000, 65537), 65537);
        c = s3_mpu_crc_combine(v[k].a, c, crc_of(v[k].a, big + 66537, sizeof(big) - 66537),
                               (int64_t)(sizeof(big) - 66537));
        assert_int_equal(c, whole);
        /* A wrong length must not give the right answer. */
        assert_int_not_equal(
            s3_mpu_crc_combine(v[k].a, crc_of(v[k].a, msg, 4), crc_of(v[k].a, msg + 4, 5), 4),
            v[k].check);
    }
}

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
    struct arena *a;
    int64_t acct, bkt;
};

/* One write: a closure over a small union of operations. */
enum op_kind {
    OP_ACCOUNT,
    OP_BUCKET,
    OP_UPLOAD,
    OP_PART,
    OP_UP_DEL,
    OP_VERSION,
    OP_VPART,
    OP_V_DEL,
    OP_TRASH,
    OP_BKT_DEL,
};

struct op {
    enum op_kind kind;
    struct fx *f;
    struct md_upload u;
    struct md_part p;
    struct md_version v;
    int64_t id;
    const char *name;
    struct str *ids;
    size_t n;
};

static int
run_op(struct md_conn *c, void *arg)
{
    struct op *o = arg;

    switch (o->kind) {
    case OP_ACCOUNT:
        return md_account_create(c, str_c(o->name), 1000, &o->id);
    case OP_BUCKET:
        return md_bucket_create(c, str_c(o->name), o->f->acct, STR_LIT("us-east-1"), 2000, &o->id);
    case OP_UPLOAD:
        return md_upload_create(c, &o->u);
    case OP_PART:
        return md_part_put(c, o->id, &o->p);
    case OP_UP_DEL:
        return md_upload_delete(c, o->id);
    case OP_VERSION:
        return md_version_insert(c, &o->v, o->f->a);
    case OP_VPART:
        return md_version_part_add(c, o->id, &o->p);
    case OP_V_DEL:
        return md_version_delete(c, o->id);
    case OP_TRASH:
        return md_trash_take(c, 1000, INT64_MAX, o->f->a, &o->ids, &o->n);
    case OP_BKT_DEL:
        return md_bucket_delete(c, o->id);
    }
    return -EINVAL;
}

static int
op(struct fx *f, struct op *o)
{
    o->f = f;
    return md_write(f->md, run_op, o);
}

static void
fx_open(struct fx *f)
{
    struct op o = {.kind = OP_ACCOUNT, .name = "alice"};

    snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-mdmpu-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(md_open(f->dir, &f->md), 0);
    f->a = arena_new();
    assert_int_equal(op(f, &o), 0);
    f->acct = o.id;
    o = (struct op){.kind = OP_BUCKET, .name = "photos"};
    assert_int_equal(op(f, &o), 0);
    f->bkt = o.id;
}

static void
fx_close(struct fx *f)
{
    md_close(f->md);
    arena_free(f->a);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int64_t
mk_upload(struct fx *f, const char *upload_id, const char *key)
{
    struct op o = {.kind = OP_UPLOAD};

    o.u.upload_id = str_c(upload_id);
    o.u.bucket_id = f->bkt;
    o.u.key = str_c(key);
    o.u.initiated_ms = 5000;
    o.u.owner_id = f->acct;
    o.u.content_type = STR_LIT("text/plain");
    o.u.meta = STR_LIT("x-amz-meta-a: b\n");
    o.u.checksum_algo = STR_LIT("CRC32");
    o.u.checksum_type = STR_LIT("COMPOSITE");
    assert_int_equal(op(f, &o), 0);
    assert_true(o.u.id > 0);
    return o.u.id;
}

static int
put_part(struct fx *f, int64_t upload, int number, int64_t size, const char *blob)
{
    struct op o = {.kind = OP_PART, .id = upload};

    o.p.part_number = number;
    o.p.size = size;
    o.p.mtime_ms = 6000 + number;
    o.p.blob_id = str_c(blob);
    o.p.etag = STR_LIT("0123456789abcdef0123456789abcdef");
    o.p.checksum = STR_LIT("AAAAAA==");
    return op(f, &o);
}

/* Takes the whole trash; returns how many ids and checks each is expected
 * (a NULL-terminated list, order free). */
static size_t
take_trash(struct fx *f, const char *const *expect)
{
    struct op o = {.kind = OP_TRASH};
    size_t n_expect = 0;

    assert_int_equal(op(f, &o), 0);
    while (expect[n_expect] != NULL)
        n_expect++;
    assert_int_equal(o.n, n_expect);
    for (size_t i = 0; i < o.n; i++) {
        bool found = false;
        for (size_t k = 0; k < n_expect; k++)
            found |= str_eq_c(o.ids[i], expect[k]);
        if (!found)
            fail_msg("unexpected trash entry %.*s", STR_FMT(o.ids[i]));
    }
    assert_int_equal(md_trash_pending(md_reader(f->md), INT64_MAX), 0);
    return o.n;
}

#define BLOB(c) (c "0000000000000000000000000000000")

/* ---- uploads and parts ----------------------------------------------------- */

static void
test_upload_parts(void **state)
{
    struct fx f;
    struct md_conn *r;
    struct md_upload u;
    struct md_part *parts;
    struct op o = {0};
    size_t n;
    int64_t id;

    (void)state;
    fx_open(&f);
    r = md_reader(f.md);
    id = mk_upload(&f, "UP1", "dir/a.bin");
    assert_int_equal(md_upload_get(r, STR_LIT("UP1"), f.a, &u), 0);
    assert_int_equal(u.id, id);
    assert_true(str_eq_c(u.key, "dir/a.bin"));
    assert_true(str_eq_c(u.meta, "x-amz-meta-a: b\n"));
    assert_true(str_eq_c(u.checksum_type, "COMPOSITE"));
    assert_int_equal(u.initiated_ms, 5000);
    assert_int_equal(md_upload_get(r, STR_LIT("UP2"), f.a, &u), -ENOENT);
    /* Same upload id twice; an unknown bucket. */
    o.kind = OP_UPLOAD;
    o.u.upload_id = STR_LIT("UP1");
    o.u.bucket_id = f.bkt;
    o.u.key = STR_LIT("k");
    assert_int_equal(op(&f, &o), -EEXIST);
    o.u.upload_id = STR_LIT("UP9");
    o.u.bucket_id = 999;
    assert_int_equal(op(&f, &o), -ENOENT);

    assert_int_equal(put_part(&f, id, 2, 10, BLOB("b")), 0);
    assert_int_equal(put_part(&f, id, 1, 20, BLOB("a")), 0);
    assert_int_equal(put_part(&f, id, 3, 30, BLOB("c")), 0);
    assert_int_equal(md_trash_pending(r, INT64_MAX), 0);
    assert_int_equal(md_blob_referenced(r, str_c(BLOB("a"))), 1);
    /* Re-uploading part 1 replaces it; the old file goes to the trash. */
    assert_int_equal(put_part(&f, id, 1, 21, BLOB("d")), 0);
    assert_int_equal(md_trash_pending(r, INT64_MAX), 1);
    assert_int_equal(md_blob_referenced(r, str_c(BLOB("a"))), 0);
    take_trash(&f, (const char *const[]){BLOB("a"), NULL});

    assert_int_equal(md_part_list(r, id, 0, 1000, f.a, &parts, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(parts[0].part_number, 1);
    assert_int_equal(parts[0].size, 21);
    assert_true(str_eq_c(parts[0].blob_id, BLOB("d")));
    assert_int_equal(parts[2].part_number, 3);
    assert_int_equal(parts[2].mtime_ms, 6003);
    assert_true(str_eq_c(parts[2].checksum, "AAAAAA=="));
    /* Paging by part-number marker. */
    assert_int_equal(md_part_list(r, id, 1, 1, f.a, &parts, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(parts[0].part_number, 2);
    assert_int_equal(md_part_list(r, id, 3, 10, f.a, &parts, &n), 0);
    assert_int_equal(n, 0);

    /* Abort: every part's blob to the trash, rows gone. */
    o = (struct op){.kind = OP_UP_DEL, .id = id};
    assert_int_equal(op(&f, &o), 0);
    assert_int_equal(op(&f, &o), -ENOENT);
    assert_int_equal(md_upload_get(r, STR_LIT("UP1"), f.a, &u), -ENOENT);
    assert_int_equal(md_part_list(r, id, 0, 1000, f.a, &parts, &n), 0);
    assert_int_equal(n, 0);
    take_trash(&f, (const char *const[]){BLOB("b"), BLOB("c"), BLOB("d"), NULL});
    /* A late part for the aborted upload is refused, and ids are not reused. */
    assert_int_equal(put_part(&f, id, 4, 1, BLOB("e")), -ENOENT);
    assert_true(mk_upload(&f, "UP3", "x") > id);
    fx_close(&f);
}

/* ---- ListMultipartUploads order and markers ------------------------------- */

static void
test_upload_list(void **state)
{
    static const char *const keys[] = {"b", "a/2", "a/1", "b", "c\xff", "a/1"};
    struct fx f;
    struct md_conn *r;
    struct md_upload *rows;
    int64_t ids[ARRAY_LEN(keys)];
    size_t n;

    (void)state;
    fx_open(&f);
    r = md_reader(f.md);
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        char uid[16];
        snprintf(uid, sizeof(uid), "U%zu", i);
        ids[i] = mk_upload(&f, uid, keys[i]);
    }
    /* (key, creation) order. */
    assert_int_equal(md_upload_list(r, f.bkt, STR_NULL, STR_NULL, false, 0, 100, f.a, &rows, &n),
                     0);
    assert_int_equal(n, 6);
    assert_true(str_eq_c(rows[0].key, "a/1") && rows[0].id == ids[2]);
    assert_true(str_eq_c(rows[1].key, "a/1") && rows[1].id == ids[5]);
    assert_true(str_eq_c(rows[2].key, "a/2"));
    assert_true(str_eq_c(rows[3].key, "b") && rows[3].id == ids[0]);
    assert_true(str_eq_c(rows[5].key, "c\xff"));
    /* Prefix. */
    assert_int_equal(
        md_upload_list(r, f.bkt, STR_LIT("a/"), STR_NULL, false, 0, 100, f.a, &rows, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(
        md_upload_list(r, f.bkt, STR_LIT("c\xff"), STR_NULL, false, 0, 100, f.a, &rows, &n), 0);
    assert_int_equal(n, 1);
    /* key-marker alone: strictly after the key. */
    assert_int_equal(
        md_upload_list(r, f.bkt, STR_NULL, STR_LIT("a/1"), false, 0, 100, f.a, &rows, &n), 0);
    assert_int_equal(n, 4);
    assert_true(str_eq_c(rows[0].key, "a/2"));
    /* key-marker + upload marker: the newer uploads of that key first. */
    assert_int_equal(
        md_upload_list(r, f.bkt, STR_NULL, STR_LIT("a/1"), false, ids[2], 2, f.a, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].id, ids[5]);
    assert_true(str_eq_c(rows[1].key, "a/2"));
    /* Inclusive start (after a common prefix: its successor). */
    assert_int_equal(md_upload_list(r, f.bkt, STR_NULL, STR_LIT("b"), true, 0, 100, f.a, &rows, &n),
                     0);
    assert_int_equal(n, 3);
    assert_int_equal(md_upload_list_all(r, ids[3], 100, f.a, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].id, ids[4]);
    fx_close(&f);
}

/* ---- completion as extents, deletion, trash, bucket delete ----------------- */

static void
test_complete_and_delete(void **state)
{
    struct fx f;
    struct md_conn *r;
    struct md_part p, *ext;
    struct md_version got;
    struct op o = {0};
    size_t n;
    int64_t up, up2, seq;

    (void)state;
    fx_open(&f);
    r = md_reader(f.md);
    up = mk_upload(&f, "UPC", "big");
    assert_int_equal(put_part(&f, up, 1, 100, BLOB("1")), 0);
    assert_int_equal(put_part(&f, up, 2, 100, BLOB("2")), 0);
    assert_int_equal(put_part(&f, up, 3, 7, BLOB("3")), 0);

    /* Complete with parts 1 and 3: the version row, its extents, and the
     * upload's removal (part 2 unreferenced: trash). In the server this is
     * one closure; here the steps are checked one by one. */
    o = (struct op){.kind = OP_VERSION};
    o.v.bucket_id = f.bkt;
    o.v.key = STR_LIT("big");
    o.v.size = 107;
    o.v.etag = STR_LIT("ffffffffffffffffffffffffffffffff-2");
    o.v.parts_count = 2;
    assert_int_equal(op(&f, &o), 0);
    seq = o.v.seq;
    o = (struct op){.kind = OP_VPART, .id = seq};
    o.p = (struct md_part){.part_number = 1,
                           .first_byte = 0,
                           .size = 100,
                           .mtime_ms = 1,
                           .blob_id = str_c(BLOB("1")),
                           .etag = STR_LIT("e1"),
                           .checksum = STR_LIT("c1")};
    assert_int_equal(op(&f, &o), 0);
    o.p = (struct md_part){.part_number = 3,
                           .first_byte = 100,
                           .size = 7,
                           .mtime_ms = 3,
                           .blob_id = str_c(BLOB("3")),
                           .etag = STR_LIT("e3"),
                           .checksum = STR_LIT("c3")};
    assert_int_equal(op(&f, &o), 0);
    assert_int_equal(op(&f, &o), -EEXIST);
    o = (struct op){.kind = OP_VPART, .id = seq + 100};
    o.p.part_number = 1;
    assert_int_equal(op(&f, &o), -ENOENT); /* no such version */
    o = (struct op){.kind = OP_UP_DEL, .id = up};
    assert_int_equal(op(&f, &o), 0);
    take_trash(&f, (const char *const[]){BLOB("2"), NULL});
    assert_int_equal(md_blob_referenced(r, str_c(BLOB("1"))), 1);
    assert_int_equal(md_blob_referenced(r, str_c(BLOB("3"))), 1);
    assert_int_equal(md_blob_referenced(r, str_c(BLOB("2"))), 0);

    assert_int_equal(md_version_get(r, f.bkt, STR_LIT("big"), STR_NULL, f.a, &got), 0);
    assert_int_equal(got.parts_count, 2);
    assert_int_equal(got.blob_id.n, 0);
    assert_int_equal(got.size, 107);
    /* Extents by number, by offset, in order. */
    assert_int_equal(md_version_part_get(r, seq, 3, f.a, &p), 0);
    assert_int_equal(p.first_byte, 100);
    assert_true(str_eq_c(p.checksum, "c3"));
    assert_int_equal(md_version_part_get(r, seq, 2, f.a, &p), -ENOENT);
    assert_int_equal(md_version_part_at(r, seq, 0, f.a, &p), 0);
    assert_int_equal(p.part_number, 1);
    assert_int_equal(md_version_part_at(r, seq, 99, f.a, &p), 0);
    assert_int_equal(p.part_number, 1);
    assert_int_equal(md_version_part_at(r, seq, 100, f.a, &p), 0);
    assert_int_equal(p.part_number, 3);
    assert_int_equal(md_version_part_at(r, seq, 106, f.a, &p), 0);
    assert_int_equal(p.part_number, 3);
    assert_int_equal(md_version_part_list(r, seq, 0, 10, f.a, &ext, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ext[1].part_number, 3);
    assert_int_equal(md_version_part_list(r, seq, 1, 10, f.a, &ext, &n), 0);
    assert_int_equal(n, 1);

    /* A second upload stays in progress while the version is deleted: only
     * the version's extents go to the trash. */
    up2 = mk_upload(&f, "UPD", "other");
    assert_int_equal(put_part(&f, up2, 1, 5, BLOB("4")), 0);
    o = (struct op){.kind = OP_V_DEL, .id = seq};
    assert_int_equal(op(&f, &o), 0);
    assert_int_equal(md_version_part_at(r, seq, 0, f.a, &p), -ENOENT);
    take_trash(&f, (const char *const[]){BLOB("1"), BLOB("3"), NULL});
    assert_int_equal(md_blob_referenced(r, str_c(BLOB("4"))), 1);

    /* In-progress uploads do not keep a bucket alive (AWS); they go with it. */
    o = (struct op){.kind = OP_BKT_DEL, .id = f.bkt};
    assert_int_equal(op(&f, &o), 0);
    take_trash(&f, (const char *const[]){BLOB("4"), NULL});
    assert_int_equal(md_upload_get(r, STR_LIT("UPD"), f.a, &(struct md_upload){0}), -ENOENT);
    assert_int_equal(md_blob_referenced(r, str_c(BLOB("4"))), 0);
    fx_close(&f);
}

/* A version that still has extents cannot be removed behind md's back, and
 * a plain (single-blob) version deletes without touching the trash. */
static void
test_plain_delete_no_trash(void **state)
{
    struct fx f;
    struct op o = {.kind = OP_VERSION};

    (void)state;
    fx_open(&f);
    o.v.bucket_id = f.bkt;
    o.v.key = STR_LIT("small");
    o.v.size = 3;
    o.v.etag = STR_LIT("e");
    o.v.blob_id = str_c(BLOB("9"));
    assert_int_equal(op(&f, &o), 0);
    o = (struct op){.kind = OP_V_DEL, .id = o.v.seq};
    assert_int_equal(op(&f, &o), 0);
    assert_int_equal(md_trash_pending(md_reader(f.md), INT64_MAX), 0);
    take_trash(&f, (const char *const[]){NULL});
    fx_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_combine),           cmocka_unit_test(test_upload_parts),
        cmocka_unit_test(test_upload_list),           cmocka_unit_test(test_complete_and_delete),
        cmocka_unit_test(test_plain_delete_no_trash),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
