/* test_lens.c -- S3 Storage Lens configurations below the HTTP layer: the
 * lens_configs rows on a temp store (put keeps or replaces tags, add does
 * not overwrite, delete takes the tags, count, the paged list in id order
 * with its cursor, rows gone with their account), and the model: the
 * canonical document read back to itself, the checks' codes in their
 * order, and List's token. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "s3/s3_lens_model.h"
#include "store/md.h"
#include "store/md_lens.h"
#include "util/arena.h"
#include "util/buf.h"
#include "xml/xml_read.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fx {
    char dir[64];
    struct md *md;
    struct arena *a;
    int64_t acct, other;
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

enum kind { K_ACCT, K_ACCT_DEL, K_PUT, K_ADD, K_DEL, K_TAGS };

struct job {
    enum kind kind;
    const char *name;
    int64_t id;
    struct md_lens l;
    bool set_tags;
    int rc;
};

static int
run(struct md_conn *c, void *arg)
{
    struct job *j = arg;

    switch (j->kind) {
    case K_ACCT:
        return md_account_create(c, str_c(j->name), 1, &j->id);
    case K_ACCT_DEL:
        return md_account_delete(c, j->id);
    case K_PUT:
        return md_lens_put(c, &j->l, j->set_tags);
    case K_ADD:
        j->rc = md_lens_add(c, &j->l);
        return j->rc < 0 ? j->rc : 0;
    case K_DEL:
        return md_lens_delete(c, j->l.account_id, j->l.id);
    case K_TAGS:
        return md_lens_set_tags(c, j->l.account_id, j->l.id, j->l.tags, 9);
    }
    return -EINVAL;
}

static int
job(struct fx *f, struct job *j)
{
    return md_write(f->md, run, j);
}

static void
fx_open(struct fx *f)
{
    struct job j = {.kind = K_ACCT, .name = "alice"};

    snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-lens-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(md_open(f->dir, &f->md), 0);
    f->a = arena_new();
    assert_int_equal(job(f, &j), 0);
    f->acct = j.id;
    j = (struct job){.kind = K_ACCT, .name = "bob"};
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

static int
put(struct fx *f, int64_t acct, const char *id, const char *tags, bool set_tags)
{
    struct job j = {.kind = K_PUT, .set_tags = set_tags};

    j.l = (struct md_lens){.account_id = acct, .id = str_c(id), .is_enabled = true,
                           .config = str_c(id), .tags = tags ? str_c(tags) : STR_NULL,
                           .created_ms = 5};
    return job(f, &j);
}

static void
test_rows(void **state)
{
    struct fx f;
    struct md_lens l;
    struct job j;

    (void)state;
    fx_open(&f);
    assert_int_equal(put(&f, f.acct, "a", "k\tv\n", true), 0);
    assert_int_equal(md_lens_get(md_reader(f.md), f.acct, STR_LIT("a"), f.a, &l), 0);
    assert_true(str_eq_c(l.tags, "k\tv\n") && l.is_enabled && l.created_ms == 5);
    /* Replaced without tags: the tags stay; with set_tags and none: gone. */
    assert_int_equal(put(&f, f.acct, "a", NULL, false), 0);
    assert_int_equal(md_lens_get(md_reader(f.md), f.acct, STR_LIT("a"), f.a, &l), 0);
    assert_true(str_eq_c(l.tags, "k\tv\n"));
    assert_int_equal(put(&f, f.acct, "a", NULL, true), 0);
    assert_int_equal(md_lens_get(md_reader(f.md), f.acct, STR_LIT("a"), f.a, &l), 0);
    assert_null(l.tags.p);
    /* Add leaves an existing row alone. */
    j = (struct job){.kind = K_ADD};
    j.l = (struct md_lens){.account_id = f.acct, .id = STR_LIT("a"), .config = STR_LIT("new")};
    assert_int_equal(job(&f, &j), 0);
    assert_int_equal(j.rc, 0);
    assert_int_equal(md_lens_get(md_reader(f.md), f.acct, STR_LIT("a"), f.a, &l), 0);
    assert_true(str_eq_c(l.config, "a"));
    j.l.id = STR_LIT("b");
    assert_int_equal(job(&f, &j), 0);
    assert_int_equal(j.rc, 1);
    /* Tags on a missing row, delete takes the tags with the row. */
    j = (struct job){.kind = K_TAGS};
    j.l = (struct md_lens){.account_id = f.acct, .id = STR_LIT("zz"), .tags = STR_LIT("x\t\n")};
    assert_int_equal(job(&f, &j), -ENOENT);
    j.l.id = STR_LIT("b");
    assert_int_equal(job(&f, &j), 0);
    j = (struct job){.kind = K_DEL};
    j.l = (struct md_lens){.account_id = f.acct, .id = STR_LIT("b")};
    assert_int_equal(job(&f, &j), 0);
    assert_int_equal(job(&f, &j), -ENOENT);
    assert_int_equal(put(&f, f.acct, "b", NULL, false), 0);
    assert_int_equal(md_lens_get(md_reader(f.md), f.acct, STR_LIT("b"), f.a, &l), 0);
    assert_null(l.tags.p);
    /* Per account. */
    assert_int_equal(md_lens_get(md_reader(f.md), f.other, STR_LIT("a"), f.a, &l), -ENOENT);
    assert_int_equal(md_lens_count(md_reader(f.md), f.acct), 2);
    assert_int_equal(md_lens_count(md_reader(f.md), f.other), 0);
    fx_close(&f);
}

static void
test_list(void **state)
{
    struct fx f;
    struct md_lens *rows;
    struct str after = STR_NULL;
    size_t n, total = 0;
    char id[16];
    struct job j;

    (void)state;
    fx_open(&f);
    for (int i = 149; i >= 0; i--) {
        snprintf(id, sizeof(id), "c-%03d", i);
        assert_int_equal(put(&f, f.acct, id, NULL, false), 0);
    }
    assert_int_equal(put(&f, f.other, "c-000", NULL, false), 0);
    /* Pages of 100 in id order, resumed after the last id of each. */
    for (int page = 0; page < 3; page++) {
        assert_int_equal(md_lens_list(md_reader(f.md), f.acct, after, 100, f.a, &rows, &n), 0);
        assert_int_equal(n, page == 0 ? 100 : page == 1 ? 50 : 0);
        for (size_t i = 0; i < n; i++) {
            snprintf(id, sizeof(id), "c-%03zu", total + i);
            assert_true(str_eq_c(rows[i].id, id));
            assert_int_equal(rows[i].account_id, f.acct);
        }
        total += n;
        if (n > 0)
            after = rows[n - 1].id;
    }
    assert_int_equal(total, 150);
    /* The account goes, its configurations with it. */
    j = (struct job){.kind = K_ACCT_DEL, .id = f.other};
    assert_int_equal(job(&f, &j), 0);
    assert_int_equal(md_lens_count(md_reader(f.md), f.other), 0);
    fx_close(&f);
}

#define NS "xmlns=\"http://awss3control.amazonaws.com/doc/2018-08-20/\""
#define PUT(cfg) "<PutStorageLensConfigurationRequest " NS ">" cfg "</PutStorageLensConfigurationRequest>"
#define CFG(id, al, extra)                                                                         \
    "<StorageLensConfiguration><Id>" id "</Id><AccountLevel>" al "</AccountLevel>" extra           \
    "<IsEnabled>true</IsEnabled></StorageLensConfiguration>"

static enum s3_err
parse(struct arena *a, const char *body, struct s3_lens_cfg *c)
{
    struct s3_lens_err e;
    struct md_tag *t;
    bool has_tags;
    size_t n;
    enum s3_err err = s3_lens_parse_put(a, str_c(body), c, &has_tags, &t, &n, &e);

    assert_int_equal(err, e.err);
    return err;
}

static void
test_model(void **state)
{
    struct arena *a = arena_new();
    struct s3_lens_cfg c, again;
    struct s3_lens_err e;
    struct xml_node *root;
    struct str id;
    struct buf b, b2;
    static const struct {
        const char *body;
        enum s3_err err;
    } cases[] = {
        {PUT(CFG("a.b-c_1", "<BucketLevel/>", "")), S3E_OK},
        {PUT(CFG("bad id", "<BucketLevel/>", "")), S3E_LENS_INVALID_CONFIG_ID},
        {PUT(CFG("x", "", "")), S3E_MALFORMED_XML},
        {PUT(CFG("x", "<BucketLevel/><BucketLevel/>", "")), S3E_MALFORMED_XML},
        {PUT(CFG("x", "<ActivityMetrics><IsEnabled>true</IsEnabled></ActivityMetrics><BucketLevel/>",
                 "")),
         S3E_LENS_MISSING_BUCKET_ACTIVITY},
        {PUT(CFG("x", "<BucketLevel/>",
                 "<Include><Regions><Region>us-east-1</Region></Regions></Include>"
                 "<Exclude><Regions><Region>us-east-2</Region></Regions></Exclude>")),
         S3E_LENS_INCLUDE_EXCLUDE},
        {PUT(CFG("x", "<BucketLevel/>", "<Include/>")), S3E_LENS_EMPTY_INCLUDE},
        {PUT(CFG("default-account-dashboard", "<BucketLevel/>",
                 "<Exclude><Regions><Region>us-east-2</Region></Regions></Exclude>")),
         S3E_LENS_FILTER_DEFAULT},
        {PUT(CFG("x", "<BucketLevel/>", "<StorageLensArn>a</StorageLensArn>")),
         S3E_LENS_INVALID_ARN},
        {PUT(CFG("x", "<BucketLevel><PrefixLevel><StorageMetrics><SelectionCriteria><MaxDepth>0"
                      "</MaxDepth></SelectionCriteria></StorageMetrics></PrefixLevel></BucketLevel>",
                 "")),
         S3E_LENS_INVALID_MAX_DEPTH},
        {PUT(CFG("x", "<BucketLevel><PrefixLevel><StorageMetrics><SelectionCriteria>"
                      "<MinStorageBytesPercentage>0.5</MinStorageBytesPercentage>"
                      "</SelectionCriteria></StorageMetrics></PrefixLevel></BucketLevel>",
                 "")),
         S3E_LENS_INVALID_MIN_PCT},
        /* Only the free metrics: an advanced group or prefix-level storage
         * metrics enabled are refused (nothing would export them). */
        {PUT(CFG("x", "<ActivityMetrics><IsEnabled>true</IsEnabled></ActivityMetrics>"
                      "<BucketLevel><ActivityMetrics><IsEnabled>true</IsEnabled></ActivityMetrics>"
                      "</BucketLevel>",
                 "")),
         S3E_INVALID_REQUEST},
        {PUT(CFG("x", "<BucketLevel><DetailedStatusCodesMetrics><IsEnabled>true</IsEnabled>"
                      "</DetailedStatusCodesMetrics></BucketLevel>",
                 "")),
         S3E_INVALID_REQUEST},
        {PUT(CFG("x", "<BucketLevel><PrefixLevel><StorageMetrics><IsEnabled>true</IsEnabled>"
                      "</StorageMetrics></PrefixLevel></BucketLevel>",
                 "")),
         S3E_INVALID_REQUEST},
        {PUT(CFG("x", "<AdvancedCostOptimizationMetrics><IsEnabled>false</IsEnabled>"
                      "</AdvancedCostOptimizationMetrics><BucketLevel/>",
                 "")),
         S3E_OK},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        assert_int_equal(parse(a, cases[i].body, &c), cases[i].err);
    /* The canonical form reads back to itself, Get's form adds the ARN. */
    assert_int_equal(
        parse(a,
              PUT(CFG("full",
                      "<BucketLevel><PrefixLevel><StorageMetrics><IsEnabled>false</IsEnabled>"
                      "<SelectionCriteria><Delimiter>/</Delimiter><MaxDepth>3</MaxDepth>"
                      "<MinStorageBytesPercentage>100.0</MinStorageBytesPercentage>"
                      "</SelectionCriteria></StorageMetrics></PrefixLevel></BucketLevel>"
                      "<DetailedStatusCodesMetrics/>",
                      "<Include><Buckets><Arn>arn:aws:s3:::a&amp;b-x</Arn></Buckets></Include>")),
              &c),
        S3E_LENS_INVALID_BUCKET_FILTER);
    assert_int_equal(
        parse(a,
              PUT(CFG("full",
                      "<BucketLevel><PrefixLevel><StorageMetrics><IsEnabled>false</IsEnabled>"
                      "<SelectionCriteria><Delimiter>/</Delimiter><MaxDepth>3</MaxDepth>"
                      "<MinStorageBytesPercentage>100.0</MinStorageBytesPercentage>"
                      "</SelectionCriteria></StorageMetrics></PrefixLevel></BucketLevel>"
                      "<DetailedStatusCodesMetrics/>",
                      "<Include><Buckets><Arn>arn:aws:s3:::bkt</Arn></Buckets></Include>")),
              &c),
        S3E_OK);
    buf_init(&b, 65536);
    assert_int_equal(s3_lens_render(&c, NULL, STR_NULL, &b), 0);
    assert_int_equal(xml_parse(a, str_make(b.p, b.n), &root), 0);
    assert_int_equal(s3_lens_parse_node(a, root, &again, &e), S3E_OK);
    buf_init(&b2, 65536);
    assert_int_equal(s3_lens_render(&again, NULL, STR_NULL, &b2), 0);
    assert_int_equal(b.n, b2.n);
    assert_memory_equal(b.p, b2.p, b.n);
    assert_non_null(strstr(b.p, "<DetailedStatusCodesMetrics><IsEnabled>false</IsEnabled>"));
    assert_int_equal(again.max_depth, 3);
    buf_free(&b);
    buf_free(&b2);
    /* The token: what encode makes decodes back; anything else is refused. */
    assert_int_equal(s3_lens_token_decode(a, s3_lens_token_encode(a, STR_LIT("c-099")), &id), 0);
    assert_true(str_eq_c(id, "c-099"));
    assert_int_equal(s3_lens_token_decode(a, STR_LIT("not-a-token"), &id), -EINVAL);
    assert_int_equal(s3_lens_token_decode(a, STR_LIT("2f2f"), &id), -EINVAL); /* "//" */
    arena_free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_model),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
