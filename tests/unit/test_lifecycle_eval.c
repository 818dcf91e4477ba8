/* test_lifecycle_eval.c -- the lifecycle model on a fake clock: stored
 * configurations read by s3_lifecycle_parse(), then lc_evaluate(),
 * lc_expiration_header() and lc_abort_date() against the conformance cases
 * of spec lifecycle A7 that are about evaluation and headers (t0 =
 * 2026-01-15T10:30:00Z), the day arithmetic of A3.1 with real and scaled
 * days, and the x-amz-expiration value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "core/lifecycle.h"
#include "s3/s3_lifecycle.h"
#include "util/arena.h"
#include "util/tm.h"

#include <string.h>
#include <time.h>

#define DAY LC_DAY_S

static int64_t
at(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi};

    return (int64_t)timegm(&tm) * 1000;
}

#define T0 at(2026, 1, 15, 10, 30)

/* rules: the Rule elements of a stored document. */
static struct lc_config
cfg_of(struct arena *a, const char *rules)
{
    struct lc_config c;
    const char *doc = arena_printf(
        a, "<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">%s"
           "</LifecycleConfiguration>",
        rules);

    if (s3_lifecycle_parse(a, str_c(doc), &c) != S3E_OK)
        fail_msg("does not parse: %s", rules);
    return c;
}

static struct lc_object
cur(const char *key, int64_t size, const char *tags, int64_t mtime)
{
    return (struct lc_object){.key = str_c(key), .size = size,
                              .tags = tags != NULL ? str_c(tags) : STR_NULL,
                              .is_latest = true, .mtime_ms = mtime};
}

static struct lc_object
noncur(const char *key, int64_t mtime, int64_t since, int64_t rank)
{
    return (struct lc_object){.key = str_c(key), .size = 1 << 20, .mtime_ms = mtime,
                              .noncurrent_ms = since, .noncurrent_rank = rank};
}

static struct lc_object
marker(const char *key, int64_t mtime, bool sole)
{
    return (struct lc_object){.key = str_c(key), .is_delete_marker = true, .is_latest = true,
                              .is_sole = sole, .mtime_ms = mtime};
}

/* The x-amz-expiration value, or NULL. */
static const char *
hdr(struct arena *a, const struct lc_config *c, const struct lc_object *o)
{
    const struct lc_rule *r;
    int64_t due;

    if (!lc_expiration_header(c, o, &r, &due))
        return NULL;
    return s3_lifecycle_expiry_value(a, r->id, due);
}

/* The action due at now, checking its rule and due time when one is. */
static enum lc_action
eval(const struct lc_config *c, const struct lc_object *o, int64_t now, const char *want_rule,
     int64_t want_due)
{
    struct lc_decision d;
    bool due = lc_evaluate(c, o, now, DAY, &d);

    assert_int_equal(due, d.action != LC_NONE);
    if (!due) {
        assert_null(d.rule);
        return LC_NONE;
    }
    assert_true(d.due_ms <= now);
    if (want_rule != NULL)
        assert_true(str_eq_c(d.rule->id, want_rule));
    if (want_due != 0)
        assert_int_equal(d.due_ms, want_due);
    return d.action;
}

#define EXP(n) "<Expiration><Days>" #n "</Days></Expiration>"
#define ON "<Status>Enabled</Status>"

static void
test_day_math(void **state)
{
    struct arena *a = arena_new();
    struct lc_config c = cfg_of(a, "<Rule><ID>R</ID><Filter/>" ON EXP(1) "</Rule>");
    struct lc_object o = cur("k", 1, NULL, 1005000);

    (void)state;
    /* AWS: creation + N days, up to the next 00:00 UTC [A3.1]. */
    assert_int_equal(lc_due(T0, 1, DAY), at(2026, 1, 17, 0, 0));
    assert_int_equal(lc_due(T0, 3, DAY), at(2026, 1, 19, 0, 0));
    /* Exact midnight: floor_day + (N + 1) days, as RGW and MinIO [A3.1 decision, case 18]. */
    assert_int_equal(lc_due(at(2026, 1, 15, 0, 0), 3, DAY), at(2026, 1, 19, 0, 0));
    /* NoncurrentDays from the successor's creation; Transition Days 0: next midnight. */
    assert_int_equal(lc_due(at(2026, 1, 2, 11, 30), 5, DAY), at(2026, 1, 8, 0, 0));
    assert_int_equal(lc_due(T0, 0, DAY), at(2026, 1, 16, 0, 0));
    assert_int_equal(lc_floor_day(T0, DAY), at(2026, 1, 15, 0, 0));
    assert_int_equal(lc_floor_day(-1, DAY), -86400000);
    /* A scaled 10 s day: the same rule on 10 s boundaries. */
    assert_int_equal(lc_floor_day(1009999, 10), 1000000);
    assert_int_equal(lc_due(1005000, 1, 10), 1020000);
    assert_int_equal(lc_due(1000000, 0, 10), 1010000);
    {
        struct lc_decision d;
        assert_false(lc_evaluate(&c, &o, 1019999, 10, &d));
        assert_true(lc_evaluate(&c, &o, 1020000, 10, &d));
        assert_int_equal(d.action, LC_EXPIRE_CURRENT);
        assert_int_equal(d.due_ms, 1020000);
    }
    arena_free(a);
}

static void
test_parse(void **state)
{
    struct arena *a = arena_new();
    struct lc_config c = cfg_of(
        a, "<Rule><ID>v2</ID><Filter><And><Prefix> sp/</Prefix><Tag><Key>a</Key><Value>1</Value>"
           "</Tag><Tag><Key>b</Key><Value></Value></Tag><ObjectSizeGreaterThan>10"
           "</ObjectSizeGreaterThan><ObjectSizeLessThan>99</ObjectSizeLessThan></And></Filter>"
           "<Status> Disabled </Status><Expiration><Date>2026-02-01T01:00:00+01:00</Date>"
           "</Expiration><Transition><Date>2026-01-20T00:00:00Z</Date><StorageClass>GLACIER"
           "</StorageClass></Transition><NoncurrentVersionTransition><NoncurrentDays>3"
           "</NoncurrentDays><StorageClass>STANDARD_IA</StorageClass><NewerNoncurrentVersions>2"
           "</NewerNoncurrentVersions></NoncurrentVersionTransition>"
           "<NoncurrentVersionExpiration><NoncurrentDays>40</NoncurrentDays>"
           "<NewerNoncurrentVersions>5</NewerNoncurrentVersions></NoncurrentVersionExpiration>"
           "</Rule>"
           "<Rule><ID>v1</ID><Prefix>logs/</Prefix>" ON
           "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"
           "<AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation>"
           "</AbortIncompleteMultipartUpload></Rule>");
    const struct lc_rule *r = &c.rules[0];
    static const char *const bad[] = {
        "",
        "not xml",
        "<Other/>",
        "<LifecycleConfiguration>text<Rule/></LifecycleConfiguration>",
        "<LifecycleConfiguration><Rule/></LifecycleConfiguration>",
        "<LifecycleConfiguration><Bogus/></LifecycleConfiguration>",
        "<LifecycleConfiguration><Rule><Filter/><Status>enabled</Status></Rule>"
        "</LifecycleConfiguration>",
        "<LifecycleConfiguration><Rule><Status>Enabled</Status>" EXP(1)
        "</Rule></LifecycleConfiguration>",
        "<LifecycleConfiguration><Rule><Prefix/><Filter/>" ON EXP(1)
        "</Rule></LifecycleConfiguration>",
        "<LifecycleConfiguration><Rule><Filter><Prefix/><Tag><Key>a</Key><Value>b</Value></Tag>"
        "</Filter>" ON "</Rule></LifecycleConfiguration>",
        "<LifecycleConfiguration><Rule><Filter><Size>3</Size></Filter>" ON
        "</Rule></LifecycleConfiguration>",
        "<LifecycleConfiguration><Rule><Filter><And><And/></And></Filter>" ON
        "</Rule></LifecycleConfiguration>",
        "<LifecycleConfiguration><Rule><Filter><Tag><Key>a</Key></Tag></Filter>" ON
        "</Rule></LifecycleConfiguration>",
        "<LifecycleConfiguration><Rule><Filter/>" ON EXP(abc) "</Rule></LifecycleConfiguration>",
        "<LifecycleConfiguration><Rule><Filter/>" ON EXP(-1) "</Rule></LifecycleConfiguration>",
        "<LifecycleConfiguration><Rule><Filter/>" ON EXP(99999999999)
        "</Rule></LifecycleConfiguration>",
        "<LifecycleConfiguration><Rule><Filter/>" ON "<Expiration/></Rule></LifecycleConfiguration>",
        "<LifecycleConfiguration><Rule><Filter/>" ON
        "<Expiration><Date>2026-13-01T00:00:00Z</Date></Expiration></Rule></LifecycleConfiguration>",
        "<LifecycleConfiguration><Rule><Filter/>" ON
        "<Expiration><ExpiredObjectDeleteMarker>yes</ExpiredObjectDeleteMarker></Expiration>"
        "</Rule></LifecycleConfiguration>",
        "<LifecycleConfiguration><Rule><Filter/>" ON
        "<Transition><Days>1</Days><Date>2026-01-01</Date><StorageClass>GLACIER</StorageClass>"
        "</Transition></Rule></LifecycleConfiguration>",
        "<LifecycleConfiguration><Rule><Filter/>" ON
        "<NoncurrentVersionExpiration/></Rule></LifecycleConfiguration>",
        "<LifecycleConfiguration><Rule><Filter/>" ON
        "<AbortIncompleteMultipartUpload><Days>1</Days></AbortIncompleteMultipartUpload></Rule>"
        "</LifecycleConfiguration>",
    };

    (void)state;
    assert_int_equal(c.n_rules, 2);
    assert_true(str_eq_c(r->id, "v2"));
    assert_false(r->is_enabled);
    assert_true(str_eq_c(r->prefix, " sp/")); /* as stored: spaces are part of a prefix */
    assert_int_equal(r->n_tags, 2);
    assert_true(str_eq_c(r->tags[0].key, "a") && str_eq_c(r->tags[0].value, "1"));
    assert_true(str_eq_c(r->tags[1].key, "b") && r->tags[1].value.n == 0);
    assert_int_equal(r->size_gt, 10);
    assert_int_equal(r->size_lt, 99);
    assert_int_equal(r->exp_days, -1);
    assert_int_equal(r->exp_date_ms, at(2026, 2, 1, 0, 0));
    assert_int_equal(r->n_tr, 1);
    assert_int_equal(r->tr[0].date_ms, at(2026, 1, 20, 0, 0));
    assert_int_equal(r->tr[0].days, -1);
    assert_true(str_eq_c(r->tr[0].storage_class, "GLACIER"));
    assert_int_equal(r->n_nc_tr, 1);
    assert_int_equal(r->nc_tr[0].days, 3);
    assert_int_equal(r->nc_tr[0].newer, 2);
    assert_int_equal(r->nc_days, 40);
    assert_int_equal(r->nc_newer, 5);
    assert_int_equal(r->abort_days, -1);
    r = &c.rules[1];
    assert_true(r->is_enabled);
    assert_true(str_eq_c(r->prefix, "logs/"));
    assert_true(r->exp_dm);
    assert_int_equal(r->exp_days, -1);
    assert_int_equal(r->abort_days, 7);
    assert_int_equal(r->size_gt, -1);
    assert_int_equal(r->n_tr + r->n_nc_tr + r->n_tags, 0);
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct lc_config x;
        if (s3_lifecycle_parse(a, str_c(bad[i]), &x) != S3E_MALFORMED_XML)
            fail_msg("parsed: %s", bad[i]);
        assert_int_equal(x.n_rules, 0);
    }
    arena_free(a);
}

/* Cases 14, 16-18, 31-37 and the x-amz-expiration value. */
static void
test_expiration_header(void **state)
{
    struct arena *a = arena_new();
    struct lc_config c14 = cfg_of(a, "<Rule><ID>R1</ID><Filter><Prefix>logs/</Prefix></Filter>" ON
                                     EXP(1) "</Rule>");
    struct lc_config v1 = cfg_of(a, "<Rule><ID>R1</ID><Prefix>logs/</Prefix>" ON EXP(1) "</Rule>");
    struct lc_config off = cfg_of(a, "<Rule><ID>R1</ID><Filter><Prefix>logs/</Prefix></Filter>"
                                     "<Status>Disabled</Status>" EXP(1) "</Rule>");
    struct lc_config c18 = cfg_of(a, "<Rule><ID>R3</ID><Filter/>" ON EXP(3) "</Rule>");
    struct lc_config c31 = cfg_of(a, "<Rule><ID>D</ID><Filter><Prefix>tmp/</Prefix></Filter>" ON
                                     "<Expiration><Date>2026-02-01T00:00:00Z</Date></Expiration>"
                                     "</Rule>");
    struct lc_config c32 = cfg_of(a, "<Rule><ID>T</ID><Filter><Tag><Key>k</Key><Value>v</Value>"
                                     "</Tag></Filter>" ON EXP(1) "</Rule>");
    struct lc_config c33 = cfg_of(
        a, "<Rule><ID>A</ID><Filter><And><Prefix>docs/</Prefix><Tag><Key>a</Key><Value>1</Value>"
           "</Tag><Tag><Key>b</Key><Value>2</Value></Tag></And></Filter>" ON EXP(1) "</Rule>");
    struct lc_config c34 = cfg_of(
        a, "<Rule><ID>G</ID><Filter><ObjectSizeGreaterThan>20</ObjectSizeGreaterThan></Filter>" ON
           EXP(7) "</Rule><Rule><ID>L</ID><Filter><ObjectSizeLessThan>10</ObjectSizeLessThan>"
           "</Filter>" ON EXP(7) "</Rule>");
    struct lc_config c35 = cfg_of(a, "<Rule><ID>Y</ID><Filter></Filter>" ON EXP(365)
                                     "</Rule><Rule><ID>W</ID><Filter><Prefix>logs/</Prefix>"
                                     "</Filter>" ON EXP(7) "</Rule>");
    struct lc_config c36 = cfg_of(
        a, "<Rule><ID>one</ID><Filter><Prefix>testobject</Prefix></Filter>" ON EXP(7)
           "</Rule><Rule><ID>two</ID><Filter><Prefix>test</Prefix></Filter>" ON EXP(7)
           "</Rule><Rule><ID>three</ID><Filter><Prefix>t</Prefix></Filter>" ON EXP(7) "</Rule>");
    struct lc_config others = cfg_of(
        a, "<Rule><ID>E</ID><Filter/>" ON
           "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"
           "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
           "</NoncurrentVersionExpiration><Transition><Days>0</Days><StorageClass>GLACIER"
           "</StorageClass></Transition></Rule>");
    struct lc_object o = cur("logs/a", 5, NULL, T0);
    const char *want14 = "expiry-date=\"Sat, 17 Jan 2026 00:00:00 GMT\", rule-id=\"R1\"";
    const char *d23 = "expiry-date=\"Fri, 23 Jan 2026 00:00:00 GMT\"";

    (void)state;
    assert_string_equal(hdr(a, &c14, &o), want14);
    assert_string_equal(hdr(a, &v1, &o), want14);
    /* 16: case-sensitive, and a prefix is not a path segment. */
    o.key = STR_LIT("Logs/a");
    assert_null(hdr(a, &c14, &o));
    o.key = STR_LIT("logsx");
    assert_null(hdr(a, &c14, &o));
    /* 17 */
    o.key = STR_LIT("logs/a");
    assert_null(hdr(a, &off, &o));
    /* 18 */
    o = cur("k", 0, NULL, at(2026, 1, 15, 0, 0));
    assert_string_equal(hdr(a, &c18, &o), "expiry-date=\"Mon, 19 Jan 2026 00:00:00 GMT\", "
                                          "rule-id=\"R3\"");
    /* 31: the Date itself, even for an object made after it. */
    o = cur("tmp/b", 0, NULL, at(2026, 3, 1, 9, 0));
    assert_string_equal(hdr(a, &c31, &o), "expiry-date=\"Sun, 01 Feb 2026 00:00:00 GMT\", "
                                          "rule-id=\"D\"");
    /* 32: exact value; extra tags ignored; untagged never match. */
    o = cur("x", 1, "k\tv\nx\ty\n", T0);
    assert_non_null(hdr(a, &c32, &o));
    o.tags = STR_LIT("k\tV\n");
    assert_null(hdr(a, &c32, &o));
    o.tags = STR_NULL;
    assert_null(hdr(a, &c32, &o));
    o.tags = STR_LIT("");
    assert_null(hdr(a, &c32, &o));
    /* 33: every And tag is required. */
    o = cur("docs/x", 1, "a\t1\n", T0);
    assert_null(hdr(a, &c33, &o));
    o = cur("docs/y", 1, "a\t1\nb\t2\nc\t3\n", T0);
    assert_non_null(hdr(a, &c33, &o));
    o = cur("doc/y", 1, "a\t1\nb\t2\n", T0);
    assert_null(hdr(a, &c33, &o));
    /* 34: strict bounds. */
    o = cur("s", 22, NULL, T0);
    assert_non_null(strstr(hdr(a, &c34, &o), "rule-id=\"G\""));
    o.size = 5;
    assert_non_null(strstr(hdr(a, &c34, &o), "rule-id=\"L\""));
    for (int64_t s = 10; s <= 20; s += 5) {
        o.size = s;
        assert_null(hdr(a, &c34, &o));
    }
    /* 35: the earliest due wins over document order. */
    o = cur("logs/a", 1, NULL, T0);
    assert_string_equal(hdr(a, &c35, &o), "expiry-date=\"Fri, 23 Jan 2026 00:00:00 GMT\", "
                                          "rule-id=\"W\"");
    /* 36: equal dates: the first rule in the document. */
    o.key = STR_LIT("testobject-x");
    assert_non_null(strstr(hdr(a, &c36, &o), "rule-id=\"one\""));
    assert_non_null(strstr(hdr(a, &c36, &o), d23));
    o.key = STR_LIT("test-1");
    assert_non_null(strstr(hdr(a, &c36, &o), "rule-id=\"two\""));
    o.key = STR_LIT("zz");
    assert_null(hdr(a, &c36, &o));
    /* 37: noncurrent versions and markers have none. */
    o = noncur("k", T0, T0 + 60000, 1);
    assert_null(hdr(a, &c18, &o));
    o = marker("k", T0, true);
    assert_null(hdr(a, &c18, &o));
    /* Only Expiration Days/Date counts. */
    o = cur("k", 1 << 20, NULL, T0);
    assert_null(hdr(a, &others, &o));
    /* rule-id: plain when printable ASCII without '"' and '%' [A4 decision]. */
    assert_string_equal(s3_lifecycle_expiry_value(a, STR_LIT("my rule-1/x"), T0),
                        "expiry-date=\"Thu, 15 Jan 2026 10:30:00 GMT\", rule-id=\"my rule-1/x\"");
    assert_string_equal(s3_lifecycle_expiry_value(a, STR_LIT("a\"b"), T0),
                        "expiry-date=\"Thu, 15 Jan 2026 10:30:00 GMT\", rule-id=\"a%22b\"");
    assert_string_equal(s3_lifecycle_expiry_value(a, STR_LIT("50% é"), T0),
                        "expiry-date=\"Thu, 15 Jan 2026 10:30:00 GMT\", "
                        "rule-id=\"50%25%20%C3%A9\"");
    arena_free(a);
}

/* Cases 29 and 30. */
static void
test_abort(void **state)
{
    struct arena *a = arena_new();
    struct lc_config c = cfg_of(
        a, "<Rule><ID>T9</ID><Filter><Prefix>up/</Prefix></Filter><Status>Disabled</Status>"
           "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>"
           "</AbortIncompleteMultipartUpload></Rule>"
           "<Rule><ID>S</ID><Filter><ObjectSizeGreaterThan>1</ObjectSizeGreaterThan></Filter>" ON
           "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>"
           "</AbortIncompleteMultipartUpload></Rule>"
           "<Rule><ID>A7</ID><Filter><Prefix>up/</Prefix></Filter>" ON
           "<AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation>"
           "</AbortIncompleteMultipartUpload></Rule>"
           "<Rule><ID>B7</ID><Filter><Prefix>up/b</Prefix></Filter>" ON
           "<AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation>"
           "</AbortIncompleteMultipartUpload></Rule>");
    const struct lc_rule *r;
    int64_t due;
    char date[32];

    (void)state;
    assert_true(lc_abort_date(&c, STR_LIT("up/big"), T0, DAY, &r, &due));
    assert_true(str_eq_c(r->id, "A7")); /* the tie with B7 goes to the first */
    tm_http_date(due, date);
    assert_string_equal(date, "Fri, 23 Jan 2026 00:00:00 GMT");
    /* 30: the executor aborts at the first pass at or after the date. */
    assert_true(due <= at(2026, 1, 23, 0, 0) && due > at(2026, 1, 22, 23, 59));
    assert_false(lc_abort_date(&c, STR_LIT("down/big"), T0, DAY, &r, &due));
    assert_true(lc_abort_date(&c, STR_LIT("up/x"), 1005000, 10, &r, &due));
    assert_int_equal(due, 1080000);
    arena_free(a);
}

/* Current versions: cases 15, 17, 19-22, 31, 38 and transitions. */
static void
test_current(void **state)
{
    struct arena *a = arena_new();
    struct lc_config c15 = cfg_of(a, "<Rule><ID>R1</ID><Filter><Prefix>logs/</Prefix></Filter>" ON
                                     EXP(1) "</Rule>");
    struct lc_config off = cfg_of(a, "<Rule><ID>R1</ID><Filter><Prefix>logs/</Prefix></Filter>"
                                     "<Status>Disabled</Status>" EXP(1) "</Rule>");
    struct lc_config c31 = cfg_of(a, "<Rule><ID>D</ID><Filter><Prefix>tmp/</Prefix></Filter>" ON
                                     "<Expiration><Date>2026-02-01T00:00:00Z</Date></Expiration>"
                                     "</Rule>");
    struct lc_config c38 = cfg_of(a, "<Rule><ID>X</ID><Filter/>" ON
                                     "<Transition><Days>365</Days><StorageClass>GLACIER"
                                     "</StorageClass></Transition>" EXP(365) "</Rule>");
    struct lc_config tr = cfg_of(
        a, "<Rule><ID>IA</ID><Filter/>" ON "<Transition><Days>30</Days><StorageClass>STANDARD_IA"
           "</StorageClass></Transition><Transition><Days>90</Days><StorageClass>GLACIER"
           "</StorageClass></Transition></Rule>"
           "<Rule><ID>small</ID><Filter><And><Prefix>s/</Prefix><ObjectSizeGreaterThan>0"
           "</ObjectSizeGreaterThan></And></Filter>" ON "<Transition><Days>1</Days>"
           "<StorageClass>ONEZONE_IA</StorageClass></Transition></Rule>"
           "<Rule><ID>deep</ID><Filter><Prefix>d/</Prefix></Filter>" ON "<Transition><Days>30"
           "</Days><StorageClass>DEEP_ARCHIVE</StorageClass></Transition></Rule>");
    struct lc_object o = cur("logs/a", 5, NULL, T0);
    struct lc_decision d;
    int64_t d31 = at(2026, 2, 1, 0, 0);

    (void)state;
    /* 15: present through 01-16T23:59, due from 01-17. */
    assert_int_equal(eval(&c15, &o, at(2026, 1, 16, 23, 59), NULL, 0), LC_NONE);
    assert_int_equal(eval(&c15, &o, at(2026, 1, 17, 0, 0), "R1", at(2026, 1, 17, 0, 0)),
                     LC_EXPIRE_CURRENT);
    /* 17 */
    assert_int_equal(eval(&off, &o, at(2026, 2, 1, 0, 0), NULL, 0), LC_NONE);
    /* 19-22: the same decision under every versioning state; the action
     * primitive makes it a delete marker or a delete. Once a marker is in
     * front of v1 (20), Expiration has nothing more to do. */
    o = marker("logs/a", at(2026, 1, 17, 0, 0), false);
    assert_int_equal(eval(&c15, &o, at(2026, 3, 1, 0, 0), NULL, 0), LC_NONE);
    o = noncur("logs/a", T0, at(2026, 1, 17, 0, 0), 1);
    assert_int_equal(eval(&c15, &o, at(2026, 3, 1, 0, 0), NULL, 0), LC_NONE);
    /* 31: eligible from the date, later objects at once. */
    o = cur("tmp/a", 1, NULL, T0);
    assert_int_equal(eval(&c31, &o, d31 - 1, NULL, 0), LC_NONE);
    assert_int_equal(eval(&c31, &o, d31, "D", d31), LC_EXPIRE_CURRENT);
    o = cur("tmp/b", 1, NULL, at(2026, 3, 1, 9, 0));
    assert_int_equal(eval(&c31, &o, at(2026, 3, 1, 10, 0), "D", d31), LC_EXPIRE_CURRENT);
    /* 38: deletion beats a transition due the same day. */
    o = cur("k", 1 << 20, NULL, T0);
    assert_int_equal(eval(&c38, &o, lc_due(T0, 365, DAY), "X", 0), LC_EXPIRE_CURRENT);
    assert_int_equal(eval(&c38, &o, lc_due(T0, 365, DAY) - 1, NULL, 0), LC_NONE);
    /* Transitions go down the waterfall, one step at a time as they fall due. */
    assert_true(lc_evaluate(&tr, &o, lc_due(T0, 30, DAY), DAY, &d));
    assert_int_equal(d.action, LC_TRANSITION_CURRENT);
    assert_true(str_eq_c(d.storage_class, "STANDARD_IA"));
    o.storage_class = STR_LIT("STANDARD_IA");
    assert_false(lc_evaluate(&tr, &o, lc_due(T0, 89, DAY), DAY, &d));
    assert_true(lc_evaluate(&tr, &o, lc_due(T0, 90, DAY), DAY, &d));
    assert_true(str_eq_c(d.storage_class, "GLACIER"));
    o.storage_class = STR_LIT("GLACIER");
    assert_false(lc_evaluate(&tr, &o, lc_due(T0, 400, DAY), DAY, &d));
    /* Two due the same day: the cheaper class. */
    o = cur("d/k", 1 << 20, NULL, T0);
    assert_true(lc_evaluate(&tr, &o, lc_due(T0, 30, DAY), DAY, &d));
    assert_true(str_eq_c(d.storage_class, "DEEP_ARCHIVE"));
    assert_true(str_eq_c(d.rule->id, "deep"));
    /* Under 128 KiB nothing transitions, unless the rule filters on size. */
    o = cur("k", 1000, NULL, T0);
    assert_false(lc_evaluate(&tr, &o, lc_due(T0, 400, DAY), DAY, &d));
    o.key = STR_LIT("s/k");
    assert_true(lc_evaluate(&tr, &o, lc_due(T0, 1, DAY), DAY, &d));
    assert_true(str_eq_c(d.storage_class, "ONEZONE_IA"));
    /* A marker never transitions and has no size to match. */
    o = marker("s/k", T0, true);
    assert_false(lc_evaluate(&tr, &o, lc_due(T0, 400, DAY), DAY, &d));
    arena_free(a);
}

/* Noncurrent versions and delete markers: cases 23-28, 39. */
static void
test_noncurrent(void **state)
{
    struct arena *a = arena_new();
    struct lc_config c23 = cfg_of(a, "<Rule><ID>N</ID><Filter/>" ON
                                     "<NoncurrentVersionExpiration><NoncurrentDays>5"
                                     "</NoncurrentDays></NoncurrentVersionExpiration></Rule>");
    struct lc_config c24 = cfg_of(a, "<Rule><ID>N</ID><Filter/>" ON
                                     "<NoncurrentVersionExpiration><NoncurrentDays>1"
                                     "</NoncurrentDays><NewerNoncurrentVersions>5"
                                     "</NewerNoncurrentVersions></NoncurrentVersionExpiration>"
                                     "</Rule>");
    struct lc_config c25 = cfg_of(a, "<Rule><ID>N</ID><Filter/>" ON
                                     "<NoncurrentVersionExpiration><NoncurrentDays>30"
                                     "</NoncurrentDays><NewerNoncurrentVersions>2"
                                     "</NewerNoncurrentVersions></NoncurrentVersionExpiration>"
                                     "</Rule>");
    struct lc_config c26 = cfg_of(
        a, "<Rule><ID>M</ID><Filter/>" ON
           "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"
           "</Rule>");
    struct lc_config c28 = cfg_of(a, "<Rule><ID>B</ID><Filter/>" ON EXP(60)
                                     "<NoncurrentVersionExpiration><NoncurrentDays>30"
                                     "</NoncurrentDays></NoncurrentVersionExpiration></Rule>");
    struct lc_config nct = cfg_of(
        a, "<Rule><ID>NT</ID><Filter/>" ON "<NoncurrentVersionTransition><NoncurrentDays>10"
           "</NoncurrentDays><StorageClass>GLACIER</StorageClass><NewerNoncurrentVersions>1"
           "</NewerNoncurrentVersions></NoncurrentVersionTransition></Rule>");
    struct lc_object o;
    struct lc_decision d;
    int64_t m0317 = at(2026, 3, 17, 0, 0);
    int left = 0;

    (void)state;
    /* 23 */
    o = noncur("k", at(2026, 1, 1, 10, 30), at(2026, 1, 2, 11, 30), 1);
    assert_int_equal(eval(&c23, &o, at(2026, 1, 7, 23, 59), NULL, 0), LC_NONE);
    assert_int_equal(eval(&c23, &o, at(2026, 1, 8, 0, 0), "N", at(2026, 1, 8, 0, 0)),
                     LC_EXPIRE_NONCURRENT);
    /* A current version is no concern of NoncurrentVersionExpiration. */
    o = cur("k", 1, NULL, at(2026, 1, 2, 11, 30));
    assert_int_equal(eval(&c23, &o, at(2026, 6, 1, 0, 0), NULL, 0), LC_NONE);
    /* 24: ten PUTs a minute apart: nine noncurrent, the five newest kept. */
    for (int i = 1; i <= 9; i++) {
        o = noncur("k", T0 + (9 - i) * 60000, T0 + (10 - i) * 60000, i);
        if (eval(&c24, &o, at(2026, 1, 17, 0, 0), NULL, 0) == LC_NONE)
            left++;
    }
    assert_int_equal(left, 5);
    /* 25: v1 (noncurrent since 01-10, two newer) goes 02-15; v2 (since
     * 01-20, one newer) stays, and would go from 02-20 with two newer. */
    o = noncur("k", at(2026, 1, 1, 12, 0), at(2026, 1, 10, 12, 0), 3);
    assert_int_equal(eval(&c25, &o, at(2026, 2, 15, 0, 0), "N", at(2026, 2, 10, 0, 0)),
                     LC_EXPIRE_NONCURRENT);
    o = noncur("k", at(2026, 1, 10, 12, 0), at(2026, 1, 20, 12, 0), 2);
    assert_int_equal(eval(&c25, &o, at(2026, 2, 21, 0, 0), NULL, 0), LC_NONE);
    o.noncurrent_rank = 3;
    assert_int_equal(eval(&c25, &o, at(2026, 2, 21, 0, 0), "N", at(2026, 2, 20, 0, 0)),
                     LC_EXPIRE_NONCURRENT);
    /* 26, 27: EODM takes a sole marker at once, never one with versions behind it. */
    o = marker("k", T0, true);
    assert_int_equal(eval(&c26, &o, T0, "M", T0), LC_EXPIRE_DM);
    o.is_sole = false;
    assert_int_equal(eval(&c26, &o, at(2027, 1, 1, 0, 0), NULL, 0), LC_NONE);
    o = noncur("k", T0, T0, 1);
    assert_int_equal(eval(&c26, &o, at(2027, 1, 1, 0, 0), NULL, 0), LC_NONE);
    /* 28: a marker 03-17, v1 gone 04-17, the sole marker gone 05-17. */
    o = cur("k", 1, NULL, T0);
    assert_int_equal(eval(&c28, &o, m0317 - 1, NULL, 0), LC_NONE);
    assert_int_equal(eval(&c28, &o, m0317, "B", m0317), LC_EXPIRE_CURRENT);
    o = noncur("k", T0, m0317, 1);
    assert_int_equal(eval(&c28, &o, at(2026, 4, 16, 23, 59), NULL, 0), LC_NONE);
    assert_int_equal(eval(&c28, &o, at(2026, 4, 17, 0, 0), "B", 0), LC_EXPIRE_NONCURRENT);
    o = marker("k", m0317, false);
    assert_int_equal(eval(&c28, &o, at(2026, 5, 17, 0, 0), NULL, 0), LC_NONE);
    o.is_sole = true;
    assert_int_equal(eval(&c28, &o, at(2026, 5, 16, 23, 59), NULL, 0), LC_NONE);
    assert_int_equal(eval(&c28, &o, at(2026, 5, 17, 0, 0), "B", at(2026, 5, 17, 0, 0)),
                     LC_EXPIRE_DM);
    /* A noncurrent marker counts as a noncurrent version [A3.5 decision]. */
    o = marker("k", T0, false);
    o.is_latest = false;
    o.noncurrent_ms = T0 + 1000;
    o.noncurrent_rank = 1;
    assert_int_equal(eval(&c23, &o, at(2026, 1, 21, 0, 0), "N", 0), LC_EXPIRE_NONCURRENT);
    /* 39: Object Lock is the primitive's check: the evaluator says "due". */
    o = noncur("k", T0, at(2026, 1, 17, 0, 0), 1);
    assert_int_equal(eval(&c28, &o, at(2026, 3, 1, 0, 0), NULL, 0), LC_EXPIRE_NONCURRENT);
    /* NoncurrentVersionTransition keeps the newest one where it is. */
    o = noncur("k", T0, T0, 1);
    assert_false(lc_evaluate(&nct, &o, at(2026, 3, 1, 0, 0), DAY, &d));
    o.noncurrent_rank = 2;
    assert_false(lc_evaluate(&nct, &o, at(2026, 1, 25, 23, 59), DAY, &d));
    assert_true(lc_evaluate(&nct, &o, at(2026, 1, 26, 0, 0), DAY, &d));
    assert_int_equal(d.action, LC_TRANSITION_NONCURRENT);
    assert_true(str_eq_c(d.storage_class, "GLACIER"));
    o = marker("k", T0, false);
    o.is_latest = false;
    o.noncurrent_ms = T0;
    o.noncurrent_rank = 2;
    assert_false(lc_evaluate(&nct, &o, at(2026, 3, 1, 0, 0), DAY, &d));
    arena_free(a);
}

/* What the executor reads around the evaluation. */
static void
test_helpers(void **state)
{
    struct arena *a = arena_new();
    struct lc_config plain = cfg_of(a, "<Rule><ID>R</ID><Filter/>" ON EXP(1) "</Rule>"
                                       "<Rule><ID>T</ID><Filter><Tag><Key>k</Key><Value>v"
                                       "</Value></Tag></Filter><Status>Disabled</Status>"
                                       EXP(1) "</Rule>");
    struct lc_config tagged = cfg_of(a, "<Rule><ID>T</ID><Filter><And><Prefix>p</Prefix><Tag>"
                                        "<Key>k</Key><Value>v</Value></Tag></And></Filter>" ON
                                        EXP(1) "</Rule>");
    struct md_lc_version row = {.key = STR_LIT("k"), .is_latest = false, .size = 7,
                                .mtime_ms = T0, .noncurrent_ms = T0 + 5,
                                .storage_class = STR_LIT("GLACIER")};
    struct lc_object o;

    (void)state;
    assert_string_equal(lc_action_name(LC_NONE), "none");
    assert_string_equal(lc_action_name(LC_EXPIRE_DM), "expire-delete-marker");
    assert_string_equal(lc_action_name(LC_TRANSITION_NONCURRENT), "transition-noncurrent");
    assert_false(lc_config_uses_tags(&plain)); /* the tagged rule is disabled */
    assert_true(lc_config_uses_tags(&tagged));
    lc_object_of(&row, 2, &o);
    assert_true(!o.is_latest && o.noncurrent_rank == 2 && o.noncurrent_ms == T0 + 5);
    assert_true(o.size == 7 && str_eq_c(o.storage_class, "GLACIER") && !o.is_sole);
    row = (struct md_lc_version){.key = STR_LIT("k"), .is_latest = true,
                                 .is_delete_marker = true, .is_sole_dm = true, .size = 1,
                                 .noncurrent_ms = 9};
    lc_object_of(&row, 3, &o);
    assert_true(o.is_sole && o.size == 0 && o.noncurrent_rank == 0 && o.noncurrent_ms == 0);
    arena_free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_day_math),     cmocka_unit_test(test_parse),
        cmocka_unit_test(test_expiration_header), cmocka_unit_test(test_abort),
        cmocka_unit_test(test_current),      cmocka_unit_test(test_noncurrent),
        cmocka_unit_test(test_helpers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
