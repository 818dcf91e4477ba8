/* test_md_s3.c -- schema 12 of the metadata store on temp directories: the
 * tag-set codec, tags and storage classes of versions (listings included)
 * and uploads, a bucket's tags and CORS configuration, and the record of
 * completed uploads that a retried CompleteMultipartUpload answers from. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "store/md.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct fx {
    char dir[64];
    struct md *md;
    struct md_conn *r;
    struct arena *a;
    int64_t acct, bucket;
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int
setup_txn(struct md_conn *c, void *arg)
{
    struct fx *f = arg;
    int rc = md_account_create(c, STR_LIT("acct"), 1, &f->acct);

    if (rc == 0)
        rc = md_bucket_create(c, STR_LIT("bkt"), f->acct, STR_LIT("us-east-1"), 2, &f->bucket);
    return rc;
}

static void
fx_open(struct fx *f)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-mds3-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(md_open(f->dir, &f->md), 0);
    f->r = md_reader(f->md);
    f->a = arena_new();
    assert_int_equal(md_write(f->md, setup_txn, f), 0);
}

static void
fx_close(struct fx *f)
{
    md_close(f->md);
    arena_free(f->a);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the codec ------------------------------------------------------------- */

static void
test_tags_codec(void **state)
{
    (void)state;
    struct arena *a = arena_new();
    struct md_tag in[] = {{STR_LIT("Project"), STR_LIT("Blue sky")},
                          {STR_LIT("empty"), STR_LIT("")},
                          {STR_LIT("k=v:/@+-._"), STR_LIT("\xc3\xa9t\xc3\xa9")}};
    struct md_tag bad[] = {{STR_LIT("a\tb"), STR_LIT("v")}};
    struct md_tag bad2[] = {{STR_LIT("a"), STR_LIT("v\n")}};
    struct md_tag *out;
    struct str text;
    size_t n;

    assert_int_equal(md_tags_encode(in, 3, a, &text), 0);
    assert_true(str_eq_c(text, "Project\tBlue sky\nempty\t\nk=v:/@+-._\t\xc3\xa9t\xc3\xa9\n"));
    assert_int_equal(md_tags_count(text), 3);
    assert_int_equal(md_tags_decode(text, a, &out, &n), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_true(str_eq(out[i].key, in[i].key));
        assert_true(str_eq(out[i].value, in[i].value));
    }
    assert_int_equal(md_tags_encode(in, 0, a, &text), 0);
    assert_non_null(text.p);
    assert_int_equal(text.n, 0);
    assert_int_equal(md_tags_count(text), 0);
    assert_int_equal(md_tags_decode(STR_NULL, a, &out, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(md_tags_encode(bad, 1, a, &text), -EINVAL);
    assert_int_equal(md_tags_encode(bad2, 1, a, &text), -EINVAL);
    assert_int_equal(md_tags_decode(STR_LIT("no tab\n"), a, &out, &n), -EINVAL);
    assert_int_equal(md_tags_decode(STR_LIT("k\tv\tw\n"), a, &out, &n), -EINVAL);
    arena_free(a);
}

/* ---- versions -------------------------------------------------------------- */

struct put {
    struct fx *f;
    const char *key, *sc, *tags;
    int64_t seq;
    struct str vid;
};

static int
put_txn(struct md_conn *c, void *arg)
{
    struct put *p = arg;
    struct md_version v = {
        .bucket_id = p->f->bucket,
        .key = str_c(p->key),
        .size = 3,
        .mtime_ms = 5,
        .owner_id = p->f->acct,
        .etag = STR_LIT("0123456789abcdef0123456789abcdef"),
        .content_type = STR_LIT("text/plain"),
        .meta = STR_LIT(""),
        .checksum_algo = STR_LIT(""),
        .checksum_value = STR_LIT(""),
        .inline_data = STR_LIT("abc"),
        .storage_class = p->sc ? str_c(p->sc) : STR_NULL,
        .tags = p->tags ? str_c(p->tags) : STR_NULL,
    };
    int rc = md_version_insert(c, &v, p->f->a);

    p->seq = v.seq;
    p->vid = v.version_id;
    return rc;
}

struct set {
    int64_t row;
    struct str text;
    int which; /* 0 version tags, 1 bucket tags, 2 bucket cors */
};

static int
set_txn(struct md_conn *c, void *arg)
{
    struct set *s = arg;

    if (s->which == 0)
        return md_version_set_tags(c, s->row, s->text);
    if (s->which == 1)
        return md_bucket_set_tags(c, s->row, s->text);
    return md_bucket_set_cors(c, s->row, s->text);
}

static void
test_version_tags_and_class(void **state)
{
    (void)state;
    struct fx f;
    struct put p1 = {.key = "a", .sc = "STANDARD_IA", .tags = "k\tv\n"};
    struct put p2 = {.key = "b"};
    struct md_version v, *list;
    struct set s;
    size_t n;

    fx_open(&f);
    p1.f = p2.f = &f;
    assert_int_equal(md_write(f.md, put_txn, &p1), 0);
    assert_int_equal(md_write(f.md, put_txn, &p2), 0);

    assert_int_equal(md_version_get(f.r, f.bucket, STR_LIT("a"), STR_NULL, f.a, &v), 0);
    assert_true(str_eq_c(v.storage_class, "STANDARD_IA"));
    assert_true(str_eq_c(v.tags, "k\tv\n"));
    assert_true(str_eq_c(v.inline_data, "abc"));
    assert_int_equal(md_version_get(f.r, f.bucket, STR_LIT("b"), STR_NULL, f.a, &v), 0);
    assert_null(v.storage_class.p);
    assert_null(v.tags.p);

    /* By sequence number, as a retried completion reads it. */
    assert_int_equal(md_version_get_seq(f.r, p1.seq, f.a, &v), 0);
    assert_true(str_eq_c(v.key, "a"));
    assert_true(str_eq(v.version_id, p1.vid));
    assert_true(str_eq_c(v.tags, "k\tv\n"));
    assert_int_equal(md_version_get_seq(f.r, p2.seq + 100, f.a, &v), -ENOENT);

    /* Listings carry the class, not the tags. */
    assert_int_equal(
        md_list_objects(f.r, f.bucket, STR_LIT(""), STR_NULL, false, 10, f.a, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_true(str_eq_c(list[0].storage_class, "STANDARD_IA"));
    assert_null(list[0].tags.p);
    assert_null(list[1].storage_class.p);
    assert_int_equal(md_list_versions(f.r, f.bucket, STR_LIT(""), STR_NULL, false, 0, 10, f.a,
                                      &list, &n),
                     0);
    assert_int_equal(n, 2);
    assert_true(str_eq_c(list[0].storage_class, "STANDARD_IA"));

    /* Tags replaced, then removed; an empty set is none. */
    s = (struct set){.row = p1.seq, .text = STR_LIT("x\t1\ny\t2\n"), .which = 0};
    assert_int_equal(md_write(f.md, set_txn, &s), 0);
    assert_int_equal(md_version_get(f.r, f.bucket, STR_LIT("a"), STR_NULL, f.a, &v), 0);
    assert_true(str_eq_c(v.tags, "x\t1\ny\t2\n"));
    s.text = STR_LIT("");
    assert_int_equal(md_write(f.md, set_txn, &s), 0);
    assert_int_equal(md_version_get(f.r, f.bucket, STR_LIT("a"), STR_NULL, f.a, &v), 0);
    assert_null(v.tags.p);
    s.row = p2.seq + 100;
    assert_int_equal(md_write(f.md, set_txn, &s), -ENOENT);
    fx_close(&f);
}

static void
test_bucket_tags_and_cors(void **state)
{
    (void)state;
    struct fx f;
    struct md_bucket b;
    struct set s;

    fx_open(&f);
    assert_int_equal(md_bucket_get(f.r, STR_LIT("bkt"), f.a, &b), 0);
    assert_null(b.tags.p);
    assert_null(b.cors.p);
    s = (struct set){.row = f.bucket, .text = STR_LIT("team\tdata\n"), .which = 1};
    assert_int_equal(md_write(f.md, set_txn, &s), 0);
    s = (struct set){.row = f.bucket, .text = STR_LIT("<CORSConfiguration/>"), .which = 2};
    assert_int_equal(md_write(f.md, set_txn, &s), 0);
    assert_int_equal(md_bucket_get(f.r, STR_LIT("bkt"), f.a, &b), 0);
    assert_true(str_eq_c(b.tags, "team\tdata\n"));
    assert_true(str_eq_c(b.cors, "<CORSConfiguration/>"));
    s.text = STR_NULL;
    assert_int_equal(md_write(f.md, set_txn, &s), 0);
    assert_int_equal(md_bucket_get(f.r, STR_LIT("bkt"), f.a, &b), 0);
    assert_true(str_eq_c(b.tags, "team\tdata\n"));
    assert_null(b.cors.p);
    s.row = f.bucket + 1;
    assert_int_equal(md_write(f.md, set_txn, &s), -ENOENT);
    fx_close(&f);
}

/* ---- uploads --------------------------------------------------------------- */

struct up {
    struct fx *f;
    struct md_upload u;
    int64_t now_ms, seq;
    const char *done_id;
};

static int
upload_txn(struct md_conn *c, void *arg)
{
    struct up *u = arg;

    if (u->done_id != NULL)
        return md_upload_done_add(c, str_c(u->done_id), u->f->bucket, u->seq, u->now_ms);
    return md_upload_create(c, &u->u);
}

static void
test_upload_tags_class_and_done(void **state)
{
    (void)state;
    struct fx f;
    struct up u;
    struct md_upload got;
    int64_t bucket, seq;

    fx_open(&f);
    u = (struct up){.f = &f,
                    .u = {.upload_id = STR_LIT("up1"),
                          .bucket_id = f.bucket,
                          .key = STR_LIT("k"),
                          .owner_id = f.acct,
                          .content_type = STR_LIT(""),
                          .meta = STR_LIT(""),
                          .checksum_algo = STR_LIT(""),
                          .checksum_type = STR_LIT(""),
                          .tags = STR_LIT("a\tb\n"),
                          .storage_class = STR_LIT("GLACIER_IR")}};
    assert_int_equal(md_write(f.md, upload_txn, &u), 0);
    assert_int_equal(md_upload_get(f.r, STR_LIT("up1"), f.a, &got), 0);
    assert_true(str_eq_c(got.tags, "a\tb\n"));
    assert_true(str_eq_c(got.storage_class, "GLACIER_IR"));

    /* Completed uploads are remembered for MD_UPLOAD_DONE_KEEP_MS. */
    assert_int_equal(md_upload_done_get(f.r, STR_LIT("up1"), &bucket, &seq), -ENOENT);
    u = (struct up){.f = &f, .done_id = "up1", .seq = 42, .now_ms = 1000};
    assert_int_equal(md_write(f.md, upload_txn, &u), 0);
    assert_int_equal(md_upload_done_get(f.r, STR_LIT("up1"), &bucket, &seq), 0);
    assert_int_equal(bucket, f.bucket);
    assert_int_equal(seq, 42);
    u = (struct up){.f = &f, .done_id = "up2", .seq = 43,
                    .now_ms = 1000 + MD_UPLOAD_DONE_KEEP_MS};
    assert_int_equal(md_write(f.md, upload_txn, &u), 0);
    assert_int_equal(md_upload_done_get(f.r, STR_LIT("up1"), &bucket, &seq), 0);
    u = (struct up){.f = &f, .done_id = "up3", .seq = 44,
                    .now_ms = 1001 + MD_UPLOAD_DONE_KEEP_MS};
    assert_int_equal(md_write(f.md, upload_txn, &u), 0);
    assert_int_equal(md_upload_done_get(f.r, STR_LIT("up1"), &bucket, &seq), -ENOENT);
    assert_int_equal(md_upload_done_get(f.r, STR_LIT("up2"), &bucket, &seq), 0);
    assert_int_equal(seq, 43);
    fx_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags_codec),
        cmocka_unit_test(test_version_tags_and_class),
        cmocka_unit_test(test_bucket_tags_and_cors),
        cmocka_unit_test(test_upload_tags_class_and_done),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
