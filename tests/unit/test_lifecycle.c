/* test_lifecycle.c -- s3_lifecycle_check() on known configurations: valid
 * ones (SDK-shaped, legacy V1, every action) and one vector per refusal,
 * each with the code and message S3 answers [spec-mfa-delete §5]. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "s3/s3_lifecycle.h"
#include "util/arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
#define LC(rules) "<LifecycleConfiguration " NS ">" rules "</LifecycleConfiguration>"
#define EXP30 "<Expiration><Days>30</Days></Expiration>"
#define ON "<Status>Enabled</Status>"
#define ALL "<Filter></Filter>"

#define MSG_MALFORMED NULL /* default table text */

struct vec {
    const char *name;
    const char *body;
    enum s3_err err;
    const char *msg; /* expected e.msg; NULL: none (the table's default) */
};

static enum s3_err
check(struct arena *a, const char *body, struct s3_lifecycle_err *e)
{
    return s3_lifecycle_check(a, str_c(body), e);
}

static void
run(const struct vec *v, size_t n)
{
    struct arena *a = arena_new();
    struct s3_lifecycle_err e;

    for (size_t i = 0; i < n; i++) {
        enum s3_err err = check(a, v[i].body, &e);
        if (err != v[i].err || (v[i].msg == NULL) != (e.msg == NULL) ||
            (v[i].msg != NULL && strcmp(v[i].msg, e.msg) != 0))
            fail_msg("%s: got %s \"%s\", want %s \"%s\"", v[i].name, s3_err_code(err),
                     e.msg ? e.msg : "-", v[i].err ? s3_err_code(v[i].err) : "OK",
                     v[i].msg ? v[i].msg : "-");
    }
    arena_free(a);
}

static void
test_valid(void **state)
{
    static const struct vec v[] = {
        {"boto3 shape",
         LC("<Rule><ID>expire-logs</ID><Filter><Prefix>logs/</Prefix></Filter>" ON EXP30 "</Rule>"),
         S3E_OK, NULL},
        {"no namespace, declaration, whitespace",
         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LifecycleConfiguration>\n  <Rule>\n"
         "    <ID>r</ID>\n    <Filter/>\n    <Status> Disabled </Status>\n"
         "    <Expiration><Days>\n1\n</Days></Expiration>\n  </Rule>\n</LifecycleConfiguration>",
         S3E_OK, NULL},
        {"legacy V1 Prefix", LC("<Rule><ID>a</ID><Prefix>tmp/</Prefix>" ON EXP30 "</Rule>"), S3E_OK,
         NULL},
        {"empty legacy Prefix", LC("<Rule><Prefix></Prefix>" ON EXP30 "</Rule>"), S3E_OK, NULL},
        {"no ID", LC("<Rule>" ALL ON EXP30 "</Rule>"), S3E_OK, NULL},
        {"two rules without ID", LC("<Rule>" ALL ON EXP30 "</Rule><Rule>" ALL ON EXP30 "</Rule>"),
         S3E_OK, NULL},
        {"Date at midnight Z",
         LC("<Rule>" ALL ON "<Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration></Rule>"),
         S3E_OK, NULL},
        {"Date with .000Z",
         LC("<Rule>" ALL ON
            "<Expiration><Date>2030-01-01T00:00:00.000Z</Date></Expiration></Rule>"),
         S3E_OK, NULL},
        {"Date only", LC("<Rule>" ALL ON "<Expiration><Date>2024-02-29</Date></Expiration></Rule>"),
         S3E_OK, NULL},
        {"Date with offset that lands on midnight UTC",
         LC("<Rule>" ALL ON
            "<Expiration><Date>2030-01-01T02:00:00+02:00</Date></Expiration></Rule>"),
         S3E_OK, NULL},
        {"ExpiredObjectDeleteMarker",
         LC("<Rule>" ALL ON
            "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>"
            "</Expiration></Rule>"),
         S3E_OK, NULL},
        {"every action",
         LC("<Rule><ID>x</ID><Filter><And><Prefix>p/</Prefix>"
            "<ObjectSizeGreaterThan>10</ObjectSizeGreaterThan>"
            "<ObjectSizeLessThan>100</ObjectSizeLessThan></And></Filter>" ON EXP30
            "<Transition><Days>30</Days><StorageClass>STANDARD_IA</StorageClass></Transition>"
            "<Transition><Days>90</Days><StorageClass>GLACIER</StorageClass></Transition>"
            "<NoncurrentVersionTransition><NoncurrentDays>0</NoncurrentDays>"
            "<StorageClass>GLACIER_IR</StorageClass></NoncurrentVersionTransition>"
            "<NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays>"
            "<NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration>"
            "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>"
            "</AbortIncompleteMultipartUpload></Rule>"),
         S3E_OK, NULL},
        {"tag filter",
         LC("<Rule><Filter><Tag><Key>k</Key><Value></Value></Tag></Filter>" ON EXP30 "</Rule>"),
         S3E_OK, NULL},
        {"ID of 255 multibyte characters", NULL, S3E_OK, NULL}, /* built below */
    };
    struct vec w[ARRAY_LEN(v)];
    char body[2048], id[255 * 2 + 1];

    (void)state;
    memcpy(w, v, sizeof(v));
    for (size_t i = 0; i < 255; i++)
        memcpy(id + 2 * i, "\xc3\xa9", 2); /* U+00E9: 2 bytes, 1 character */
    id[510] = '\0';
    snprintf(body, sizeof(body), LC("<Rule><ID>%s</ID>" ALL ON EXP30 "</Rule>"), id);
    w[ARRAY_LEN(w) - 1].body = body;
    run(w, ARRAY_LEN(w));
}

static void
test_malformed(void **state)
{
    static const struct vec v[] = {
        {"not XML", "<LifecycleConfiguration>", S3E_MALFORMED_XML, MSG_MALFORMED},
        {"wrong root",
         "<BucketLifecycleConfiguration><Rule>" ALL ON EXP30
         "</Rule></BucketLifecycleConfiguration>",
         S3E_MALFORMED_XML, MSG_MALFORMED},
        {"no rule", LC(""), S3E_MALFORMED_XML, MSG_MALFORMED},
        {"unknown top element", LC("<Rule>" ALL ON EXP30 "</Rule><Foo/>"), S3E_MALFORMED_XML,
         MSG_MALFORMED},
        {"no Status", LC("<Rule>" ALL EXP30 "</Rule>"), S3E_MALFORMED_XML, MSG_MALFORMED},
        {"Status lower case", LC("<Rule>" ALL "<Status>enabled</Status>" EXP30 "</Rule>"),
         S3E_MALFORMED_XML, MSG_MALFORMED},
        {"two Status", LC("<Rule>" ALL ON ON EXP30 "</Rule>"), S3E_MALFORMED_XML, MSG_MALFORMED},
        {"neither Filter nor Prefix", LC("<Rule>" ON EXP30 "</Rule>"), S3E_MALFORMED_XML,
         MSG_MALFORMED},
        {"both Filter and Prefix", LC("<Rule><Prefix>a</Prefix>" ALL ON EXP30 "</Rule>"),
         S3E_MALFORMED_XML, MSG_MALFORMED},
        {"Filter with two predicates",
         LC("<Rule><Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter>" ON
                EXP30 "</Rule>"),
         S3E_MALFORMED_XML, MSG_MALFORMED},
        {"Tag without Value",
         LC("<Rule><Filter><Tag><Key>k</Key></Tag></Filter>" ON EXP30 "</Rule>"), S3E_MALFORMED_XML,
         MSG_MALFORMED},
        {"Days and Date",
         LC("<Rule>" ALL ON "<Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date>"
            "</Expiration></Rule>"),
         S3E_MALFORMED_XML, MSG_MALFORMED},
        {"ExpiredObjectDeleteMarker with Days",
         LC("<Rule>" ALL ON "<Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true"
            "</ExpiredObjectDeleteMarker></Expiration></Rule>"),
         S3E_MALFORMED_XML, MSG_MALFORMED},
        {"empty Expiration", LC("<Rule>" ALL ON "<Expiration/></Rule>"), S3E_MALFORMED_XML,
         MSG_MALFORMED},
        {"Days not an integer",
         LC("<Rule>" ALL ON "<Expiration><Days>1.5</Days></Expiration></Rule>"), S3E_MALFORMED_XML,
         MSG_MALFORMED},
        {"Days beyond int32",
         LC("<Rule>" ALL ON "<Expiration><Days>2147483648</Days></Expiration></Rule>"),
         S3E_MALFORMED_XML, MSG_MALFORMED},
        {"Date not ISO 8601",
         LC("<Rule>" ALL ON "<Expiration><Date>01/01/2030</Date></Expiration></Rule>"),
         S3E_MALFORMED_XML, MSG_MALFORMED},
        {"Date 30 February",
         LC("<Rule>" ALL ON "<Expiration><Date>2030-02-30</Date></Expiration></Rule>"),
         S3E_MALFORMED_XML, MSG_MALFORMED},
        {"bad boolean",
         LC("<Rule>" ALL ON "<Expiration><ExpiredObjectDeleteMarker>yes"
            "</ExpiredObjectDeleteMarker></Expiration></Rule>"),
         S3E_MALFORMED_XML, MSG_MALFORMED},
        {"Transition without StorageClass",
         LC("<Rule>" ALL ON "<Transition><Days>30</Days></Transition></Rule>"), S3E_MALFORMED_XML,
         MSG_MALFORMED},
        {"Transition to STANDARD",
         LC("<Rule>" ALL ON "<Transition><Days>30</Days><StorageClass>STANDARD</StorageClass>"
            "</Transition></Rule>"),
         S3E_MALFORMED_XML, MSG_MALFORMED},
        {"NoncurrentVersionExpiration without NoncurrentDays",
         LC("<Rule>" ALL ON "<NoncurrentVersionExpiration><NewerNoncurrentVersions>1"
            "</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>"),
         S3E_MALFORMED_XML, MSG_MALFORMED},
        {"Abort without DaysAfterInitiation",
         LC("<Rule>" ALL ON "<AbortIncompleteMultipartUpload/></Rule>"), S3E_MALFORMED_XML,
         MSG_MALFORMED},
        {"unknown rule element", LC("<Rule>" ALL ON EXP30 "<Expire/></Rule>"), S3E_MALFORMED_XML,
         MSG_MALFORMED},
        /* Schema faults win over rule faults anywhere in the document. */
        {"schema fault after a rule fault",
         LC("<Rule>" ALL ON "</Rule><Rule>" ALL "<Status>On</Status>" EXP30 "</Rule>"),
         S3E_MALFORMED_XML, MSG_MALFORMED},
    };

    (void)state;
    run(v, ARRAY_LEN(v));
}

static void
test_refused(void **state)
{
    static const struct vec v[] = {
        {"no action", LC("<Rule><ID>a</ID>" ALL ON "</Rule>"), S3E_INVALID_REQUEST,
         "At least one action needs to be specified in a rule"},
        {"Days 0", LC("<Rule>" ALL ON "<Expiration><Days>0</Days></Expiration></Rule>"),
         S3E_INVALID_ARGUMENT, "'Days' for Expiration action must be a positive integer"},
        {"Days -1", LC("<Rule>" ALL ON "<Expiration><Days>-1</Days></Expiration></Rule>"),
         S3E_INVALID_ARGUMENT, "'Days' for Expiration action must be a positive integer"},
        {"Date not midnight",
         LC("<Rule>" ALL ON "<Expiration><Date>2030-01-01T12:00:00Z</Date></Expiration></Rule>"),
         S3E_INVALID_ARGUMENT, "'Date' must be at midnight GMT"},
        {"Date with a fraction",
         LC("<Rule>" ALL ON "<Expiration><Date>2030-01-01T00:00:00.5Z</Date></Expiration></Rule>"),
         S3E_INVALID_ARGUMENT, "'Date' must be at midnight GMT"},
        {"Date midnight local, not UTC",
         LC("<Rule>" ALL ON
            "<Expiration><Date>2030-01-01T00:00:00+01:00</Date></Expiration></Rule>"),
         S3E_INVALID_ARGUMENT, "'Date' must be at midnight GMT"},
        {"duplicate ID",
         LC("<Rule><ID>same</ID>" ALL ON EXP30 "</Rule><Rule><ID>same</ID>" ALL ON EXP30 "</Rule>"),
         S3E_INVALID_ARGUMENT, "Rule ID must be unique. Found same ID for more than one rule"},
        {"NoncurrentDays 0",
         LC("<Rule>" ALL ON "<NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays>"
            "</NoncurrentVersionExpiration></Rule>"),
         S3E_INVALID_ARGUMENT,
         "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer"},
        {"DaysAfterInitiation 0",
         LC("<Rule>" ALL ON "<AbortIncompleteMultipartUpload><DaysAfterInitiation>0"
            "</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>"),
         S3E_INVALID_ARGUMENT,
         "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive "
         "integer"},
        {"Filter after a V1 rule",
         LC("<Rule><Prefix>a</Prefix>" ON EXP30 "</Rule><Rule>" ALL ON EXP30 "</Rule>"),
         S3E_INVALID_REQUEST, "Filter element can only be used in Lifecycle V2."},
        {"Prefix after a V2 rule",
         LC("<Rule>" ALL ON EXP30 "</Rule><Rule><Prefix>a</Prefix>" ON EXP30 "</Rule>"),
         S3E_INVALID_REQUEST,
         "Base level prefix cannot be used in Lifecycle V2, prefixes are only supported in the "
         "Filter."},
        {"STANDARD_IA before 30 days",
         LC("<Rule>" ALL ON "<Transition><Days>29</Days><StorageClass>STANDARD_IA</StorageClass>"
            "</Transition></Rule>"),
         S3E_INVALID_ARGUMENT,
         "'Days' in Transition action must be greater than or equal to 30 for storageClass "
         "'STANDARD_IA'"},
        {"same class twice",
         LC("<Rule>" ALL ON "<Transition><Days>40</Days><StorageClass>GLACIER</StorageClass>"
            "</Transition><Transition><Days>50</Days><StorageClass>GLACIER</StorageClass>"
            "</Transition></Rule>"),
         S3E_INVALID_REQUEST,
         "'StorageClass' must be different for 'Transition' actions in same "
         "'Rule'"},
        {"mixed Date and Days",
         LC("<Rule>" ALL ON EXP30 "<Transition><Date>2030-01-01</Date>"
            "<StorageClass>GLACIER</StorageClass></Transition></Rule>"),
         S3E_INVALID_REQUEST,
         "Found mixed 'Date' and 'Days' based Expiration and Transition actions in lifecycle "
         "rule"},
        {"ExpiredObjectDeleteMarker with tags",
         LC("<Rule><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>" ON
            "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>"
            "</Expiration></Rule>"),
         S3E_INVALID_REQUEST, "ExpiredObjectDeleteMarker cannot be specified with Tags."},
        {"duplicate tag keys",
         LC("<Rule><Filter><And><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key>"
            "<Value>2</Value></Tag></And></Filter>" ON EXP30 "</Rule>"),
         S3E_INVALID_REQUEST, "Duplicate Tag Keys are not allowed."},
        {"size bounds reversed",
         LC("<Rule><Filter><And><ObjectSizeGreaterThan>100</ObjectSizeGreaterThan>"
            "<ObjectSizeLessThan>100</ObjectSizeLessThan></And></Filter>" ON EXP30 "</Rule>"),
         S3E_INVALID_REQUEST,
         "'ObjectSizeLessThan' has to be a value greater than 'ObjectSizeGreaterThan'."},
        {"NewerNoncurrentVersions in V1",
         LC("<Rule><Prefix>a</Prefix>" ON "<NoncurrentVersionExpiration><NoncurrentDays>1"
            "</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions>"
            "</NoncurrentVersionExpiration></Rule>"),
         S3E_INVALID_REQUEST, "NewerNoncurrentVersions element can only be used in Lifecycle V2."},
    };

    (void)state;
    run(v, ARRAY_LEN(v));
}

/* Generated documents: the rule count and the ID length limits. */
static char *
rules_doc(size_t n, size_t id_len)
{
    const char *fmt = "<Rule><ID>%0*zu</ID>" ALL ON EXP30 "</Rule>";
    size_t cap = 128 + n * (strlen(fmt) + id_len + 24);
    char *p = malloc(cap);
    size_t o = 0;

    assert_non_null(p);
    o += (size_t)snprintf(p + o, cap - o, "<LifecycleConfiguration>");
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(p + o, cap - o, fmt, (int)id_len, i);
    snprintf(p + o, cap - o, "</LifecycleConfiguration>");
    return p;
}

static void
test_limits(void **state)
{
    struct arena *a = arena_new();
    struct s3_lifecycle_err e;
    char *doc;

    (void)state;
    doc = rules_doc(1000, 8);
    assert_int_equal(check(a, doc, &e), S3E_OK);
    free(doc);
    doc = rules_doc(1001, 8);
    assert_int_equal(check(a, doc, &e), S3E_INVALID_REQUEST);
    assert_string_equal(e.msg, "The number of lifecycle rules must not exceed the allowed limit "
                               "of 1000 rules.");
    free(doc);
    doc = rules_doc(1, 255);
    assert_int_equal(check(a, doc, &e), S3E_OK);
    free(doc);
    doc = rules_doc(1, 256);
    assert_int_equal(check(a, doc, &e), S3E_INVALID_ARGUMENT);
    assert_string_equal(e.msg, "ID length should not exceed allowed limit of 255");
    assert_string_equal(e.arg_name, "ID");
    assert_int_equal(strlen(e.arg_value), 256);
    free(doc);
    arena_free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_limits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
