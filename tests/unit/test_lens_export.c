/* test_lens_export.c -- S3 Storage Lens exports below the CLI and cofferd
 * (s3/s3_lens_export.c): the days cofferd's exporter delivers (known
 * answers: the creation day, the newest delivered day, the usage history
 * kept, the cap), and s3_lens_export() on a temp store: the report and the
 * manifest written as objects of the destination, a delivered day refused
 * (-EEXIST), and each refusal's own code. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "s3/s3_lens_export.h"
#include "store/blob.h"
#include "store/md.h"
#include "store/md_lens.h"
#include "store/md_usage.h"
#include "util/arena.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
test_days(void **state)
{
    int64_t first;

    (void)state;
    /* Created on day 100, nothing delivered, yesterday 105: 100..105. */
    assert_int_equal(s3_lens_export_days(100, S3_LENS_NONE, 105, 14, &first), 6);
    assert_int_equal(first, 100);
    /* 103 delivered: 104, 105. */
    assert_int_equal(s3_lens_export_days(100, 103, 105, 14, &first), 2);
    assert_int_equal(first, 104);
    /* Yesterday delivered: nothing. */
    assert_int_equal(s3_lens_export_days(100, 105, 105, 14, &first), 0);
    /* Created today (106): nothing before it. */
    assert_int_equal(s3_lens_export_days(106, S3_LENS_NONE, 105, 14, &first), 0);
    /* Created yesterday: yesterday only. */
    assert_int_equal(s3_lens_export_days(105, S3_LENS_NONE, 105, 14, &first), 1);
    assert_int_equal(first, 105);
    /* A day delivered before the creation (a configuration made again
     * under its old id): from the creation day. */
    assert_int_equal(s3_lens_export_days(600, 550, 1000, 14, &first), 14);
    assert_int_equal(first, 600);
    /* Long stopped: the cap, oldest first; the next wake goes on. */
    assert_int_equal(s3_lens_export_days(600, 700, 1000, 14, &first), 14);
    assert_int_equal(first, 701);
    assert_int_equal(s3_lens_export_days(600, 714, 1000, 14, &first), 14);
    assert_int_equal(first, 715);
    assert_int_equal(s3_lens_export_days(600, 990, 1000, 14, &first), 10);
    assert_int_equal(first, 991);
    /* Never before the usage history kept (457 days up to yesterday). */
    assert_int_equal(s3_lens_export_days(0, S3_LENS_NONE, 1000, 14, &first), 14);
    assert_int_equal(first, 1000 - MD_USAGE_KEEP_DAYS + 1);
    assert_int_equal(s3_lens_export_days(0, S3_LENS_NONE, 1000, 1000, &first),
                     MD_USAGE_KEEP_DAYS);
    /* Cap 0: nothing, but the first day all the same. */
    assert_int_equal(s3_lens_export_days(100, S3_LENS_NONE, 105, 0, &first), 0);
    assert_int_equal(first, 100);
}

/* ---- s3_lens_export() on a temp store ---------------------------------------- */

struct fx {
    char dir[64];
    struct md *md;
    struct blob *bl;
    struct arena *a;
    int64_t acct, other, dst, theirs;
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int
setup_fn(struct md_conn *c, void *arg)
{
    struct fx *f = arg;
    int rc = md_account_create(c, STR_LIT("alice"), 1, &f->acct);

    rc = rc < 0 ? rc : md_account_create(c, STR_LIT("bob"), 1, &f->other);
    rc = rc < 0 ? rc : md_bucket_create(c, STR_LIT("dst"), f->acct, STR_LIT("us-east-1"), 1, &f->dst);
    rc = rc < 0 ? rc : md_bucket_create(c, STR_LIT("bobs"), f->other, STR_LIT("us-east-1"), 1,
                                        &f->theirs);
    return rc;
}

static void
fx_open(struct fx *f)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-lensx-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(md_open(f->dir, &f->md), 0);
    assert_int_equal(blob_open(f->dir, &f->bl), 0);
    f->a = arena_new();
    assert_int_equal(md_write(f->md, setup_fn, f), 0);
}

static void
fx_close(struct fx *f)
{
    blob_close(f->bl);
    md_close(f->md);
    arena_free(f->a);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

struct put_cfg {
    struct md_lens l;
};

static int
put_fn(struct md_conn *c, void *arg)
{
    return md_lens_put(c, &((struct put_cfg *)arg)->l, false);
}

/* A stored configuration: enabled or not, exporting to bucket (NULL: no
 * DataExport) under Prefix "p". */
static void
put_cfg(struct fx *f, const char *id, bool enabled, const char *bucket)
{
    struct put_cfg p = {0};
    char *xml = arena_printf(
        f->a,
        "<StorageLensConfiguration xmlns=\"http://awss3control.amazonaws.com/doc/2018-08-20/\">"
        "<Id>%s</Id><AccountLevel><BucketLevel/></AccountLevel>%s%s%s<IsEnabled>%s</IsEnabled>"
        "</StorageLensConfiguration>",
        id,
        bucket ? "<DataExport><S3BucketDestination><Format>CSV</Format>"
                 "<OutputSchemaVersion>V_1</OutputSchemaVersion><AccountId>"
               : "",
        bucket ? arena_printf(f->a, "%012" PRId64 "</AccountId><Arn>arn:aws:s3:::%s</Arn>",
                              f->acct, bucket)
               : "",
        bucket ? "<Prefix>p</Prefix></S3BucketDestination></DataExport>" : "",
        enabled ? "true" : "false");

    p.l = (struct md_lens){.account_id = f->acct, .id = str_c(id), .is_enabled = enabled,
                           .config = str_c(xml), .created_ms = 1};
    assert_int_equal(md_write(f->md, put_fn, &p), 0);
}

static void
test_export(void **state)
{
    struct s3_lens_export_result res;
    struct md_version v;
    struct fx f;
    int64_t day = 20000; /* 2024-10-04 */

    (void)state;
    fx_open(&f);
    put_cfg(&f, "daily", true, "dst");
    assert_int_equal(s3_lens_export(f.md, f.bl, f.acct, STR_LIT("daily"), day, f.a, &res), 0);
    assert_string_equal(res.date, "2024-10-04");
    assert_true(str_eq_c(res.bucket, "dst") && str_eq_c(res.region, "us-east-1"));
    assert_true(str_eq_c(res.manifest, arena_printf(f.a,
        "p/StorageLens/%012" PRId64 "/daily/V_1/manifests/dt=2024-10-04/manifest.json", f.acct)));
    assert_int_equal(res.buckets, 0);
    assert_int_equal(md_version_get(md_reader(f.md), f.dst, res.manifest, STR_NULL, f.a, &v), 0);
    assert_int_equal(md_version_get(md_reader(f.md), f.dst, res.report, STR_NULL, f.a, &v), 0);
    assert_true(v.size > 0 && str_eq_c(v.content_type, "text/csv"));
    /* A delivered day is refused; the next is not. */
    assert_int_equal(s3_lens_export(f.md, f.bl, f.acct, STR_LIT("daily"), day, f.a, &res),
                     -EEXIST);
    assert_int_equal(s3_lens_export(f.md, f.bl, f.acct, STR_LIT("daily"), day + 1, f.a, &res), 0);
    /* The refusals, each its own code. */
    assert_int_equal(s3_lens_export(f.md, f.bl, f.acct, STR_LIT("no/such"), day, f.a, &res),
                     -EINVAL);
    assert_int_equal(s3_lens_export(f.md, f.bl, f.acct, STR_LIT("nope"), day, f.a, &res),
                     -ENOENT);
    put_cfg(&f, "off", false, "dst");
    assert_int_equal(s3_lens_export(f.md, f.bl, f.acct, STR_LIT("off"), day, f.a, &res),
                     -ECANCELED);
    put_cfg(&f, "quiet", true, NULL);
    assert_int_equal(s3_lens_export(f.md, f.bl, f.acct, STR_LIT("quiet"), day, f.a, &res),
                     -ENOMSG);
    put_cfg(&f, "gone", true, "nosuchbucket");
    assert_int_equal(s3_lens_export(f.md, f.bl, f.acct, STR_LIT("gone"), day, f.a, &res),
                     -ENXIO);
    assert_true(str_eq_c(res.bucket, "nosuchbucket"));
    put_cfg(&f, "bobs", true, "bobs");
    assert_int_equal(s3_lens_export(f.md, f.bl, f.acct, STR_LIT("bobs"), day, f.a, &res),
                     -ENXIO);
    assert_non_null(res.reason);
    fx_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days),
        cmocka_unit_test(test_export),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
