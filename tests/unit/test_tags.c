/* test_tags.c -- tag sets on known answers: core/tags.c's alphabet, lengths in Unicode
 * characters (multi-byte UTF-8 at the boundaries), the aws: prefix, duplicates and the
 * counts; s3/s3_tagging.c's <Tagging> document, x-amz-tagging header and their errors as
 * AWS gives them, and the document rendered and parsed back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "core/tags.h"
#include "s3/s3_tagging.h"
#include "util/arena.h"
#include "util/buf.h"

#include <stdio.h>
#include <string.h>

/* n copies of the UTF-8 sequence s. */
static struct str
rep(struct arena *a, const char *s, size_t n)
{
    size_t len = strlen(s);
    char *p = arena_alloc(a, len * n + 1);

    for (size_t i = 0; i < n; i++)
        memcpy(p + i * len, s, len);
    p[len * n] = '\0';
    return str_make(p, len * n);
}

static void
test_chars(void **state)
{
    (void)state;
    assert_int_equal(tags_chars(STR_LIT("")), 0);
    assert_int_equal(tags_chars(STR_LIT("abc")), 3);
    assert_int_equal(tags_chars(STR_LIT("\xc3\xa9t\xc3\xa9")), 3);      /* été */
    assert_int_equal(tags_chars(STR_LIT("\xe6\x97\xa5")), 1);           /* 日 */
    assert_int_equal(tags_chars(STR_LIT("\xf0\x9f\x98\x80")), 1);       /* U+1F600 */
    assert_int_equal(tags_chars(STR_LIT("\xc3")), -1);                  /* truncated */
    assert_int_equal(tags_chars(STR_LIT("\xc0\xaf")), -1);              /* overlong '/' */
    assert_int_equal(tags_chars(STR_LIT("\xed\xa0\x80")), -1);          /* surrogate */
    assert_int_equal(tags_chars(STR_LIT("\xf4\x90\x80\x80")), -1);      /* past U+10FFFF */
    assert_int_equal(tags_chars(STR_LIT("\xff")), -1);
}

static void
test_alphabet_and_lengths(void **state)
{
    (void)state;
    struct arena *a = arena_new();

    assert_true(tags_key_valid(STR_LIT("Az09 _.:/=+-@")));
    assert_true(tags_key_valid(STR_LIT("\xc3\xa9t\xc3\xa9")));
    assert_false(tags_key_valid(STR_LIT("")));
    static const char *const bad[] = {"a#b", "a!", "a*", "a;b", "a\tb", "a\nb", "a\"b", "a&b",
                                      "a\\b", "a,b", "a%b", "a?b", "\xc2\x80" /* C1 */,
                                      "\xef\xbf\xbf" /* U+FFFF */, "\xc3"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        assert_false(tags_key_valid(str_c(bad[i])));
        assert_false(tags_value_valid(str_c(bad[i])));
    }
    assert_true(tags_value_valid(STR_LIT("")));
    /* Characters, not bytes: 128 two-byte and 256 three-byte characters fit. */
    assert_true(tags_key_valid(rep(a, "\xc3\xa9", 128)));
    assert_false(tags_key_valid(rep(a, "\xc3\xa9", 129)));
    assert_true(tags_key_valid(rep(a, "k", 128)));
    assert_false(tags_key_valid(rep(a, "k", 129)));
    assert_true(tags_value_valid(rep(a, "\xe6\x97\xa5", 256)));
    assert_false(tags_value_valid(rep(a, "\xe6\x97\xa5", 257)));
    assert_true(tags_value_valid(rep(a, "\xf0\x9f\x98\x80", 256)));
    assert_false(tags_value_valid(rep(a, "v", 257)));
    arena_free(a);
}

static void
test_check(void **state)
{
    (void)state;
    struct md_tag t[60];
    char keys[60][8];
    size_t bad = 99;

    for (size_t i = 0; i < ARRAY_LEN(t); i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
        t[i] = (struct md_tag){str_c(keys[i]), STR_LIT("v")};
    }
    assert_int_equal(tags_check(t, 0, TAGS_MAX_OBJECT, NULL), TAGS_OK);
    assert_int_equal(tags_check(t, 10, TAGS_MAX_OBJECT, NULL), TAGS_OK);
    assert_int_equal(tags_check(t, 11, TAGS_MAX_OBJECT, NULL), TAGS_TOO_MANY);
    assert_int_equal(tags_check(t, 50, TAGS_MAX_BUCKET, NULL), TAGS_OK);
    assert_int_equal(tags_check(t, 51, TAGS_MAX_BUCKET, NULL), TAGS_TOO_MANY);
    t[3].key = STR_LIT("k1");
    assert_int_equal(tags_check(t, 10, TAGS_MAX_OBJECT, &bad), TAGS_DUP_KEY);
    assert_int_equal(bad, 3);
    t[3].key = STR_LIT("K1"); /* keys are case-sensitive */
    assert_int_equal(tags_check(t, 10, TAGS_MAX_OBJECT, NULL), TAGS_OK);
    t[4].key = STR_LIT("aws:x");
    assert_int_equal(tags_check(t, 10, TAGS_MAX_OBJECT, &bad), TAGS_AWS_PREFIX);
    assert_int_equal(bad, 4);
    t[4].key = STR_LIT("AWS:x");
    assert_int_equal(tags_check(t, 10, TAGS_MAX_OBJECT, NULL), TAGS_AWS_PREFIX);
    t[4].key = STR_LIT("awsx");
    t[5].value = STR_LIT("aws:value"); /* only keys are reserved */
    assert_int_equal(tags_check(t, 10, TAGS_MAX_OBJECT, NULL), TAGS_OK);
    t[6].value = STR_LIT("bad!");
    assert_int_equal(tags_check(t, 10, TAGS_MAX_OBJECT, NULL), TAGS_BAD_VALUE);
    t[2].key = STR_LIT("");
    assert_int_equal(tags_check(t, 10, TAGS_MAX_OBJECT, &bad), TAGS_BAD_KEY);
    assert_int_equal(bad, 2);
}

static void
test_header(void **state)
{
    (void)state;
    struct arena *a = arena_new();
    struct md_tag *t;
    const char *msg = NULL;
    size_t n;

    assert_int_equal(s3_tagging_parse_header(a, STR_LIT("a=1&b=x%20y&c=p%2Bq&d&e=s+t"), &t, &n,
                                             &msg),
                     S3E_OK);
    assert_int_equal(n, 5);
    assert_true(str_eq_c(t[0].key, "a") && str_eq_c(t[0].value, "1"));
    assert_true(str_eq_c(t[1].value, "x y"));
    assert_true(str_eq_c(t[2].value, "p+q"));
    assert_true(str_eq_c(t[3].key, "d") && str_eq_c(t[3].value, ""));
    assert_true(str_eq_c(t[4].value, "s t"));
    assert_int_equal(s3_tagging_parse_header(a, STR_LIT("%C3%A9t%C3%A9=%E6%97%A5"), &t, &n, &msg),
                     S3E_OK);
    assert_true(str_eq_c(t[0].key, "\xc3\xa9t\xc3\xa9") && str_eq_c(t[0].value, "\xe6\x97\xa5"));
    assert_int_equal(s3_tagging_parse_header(a, STR_LIT(""), &t, &n, &msg), S3E_OK);
    assert_int_equal(n, 0);
    assert_int_equal(s3_tagging_parse_header(a, STR_LIT("a=1&&b=2&"), &t, &n, &msg), S3E_OK);
    assert_int_equal(n, 2);
    static const char *const bad[] = {"a=1&a=2", "a=%ZZ", "=v", "a=%4", "%=1"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        msg = NULL;
        assert_int_equal(s3_tagging_parse_header(a, str_c(bad[i]), &t, &n, &msg),
                         S3E_INVALID_ARGUMENT);
        assert_non_null(msg);
    }
    arena_free(a);
}

static void
test_document(void **state)
{
    (void)state;
    struct arena *a = arena_new();
    struct md_tag *t;
    size_t n;

    assert_int_equal(
        s3_tagging_parse_xml(a,
                             STR_LIT("<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                                     "<TagSet><Tag><Key> k </Key><Value>a&amp;b</Value></Tag>"
                                     "<Tag><Value></Value><Key>e</Key></Tag></TagSet></Tagging>"),
                             &t, &n),
        S3E_OK);
    assert_int_equal(n, 2);
    assert_true(str_eq_c(t[0].key, " k ") && str_eq_c(t[0].value, "a&b"));
    assert_true(str_eq_c(t[1].key, "e") && str_eq_c(t[1].value, ""));
    assert_int_equal(s3_tagging_parse_xml(a, STR_LIT("<Tagging><TagSet/></Tagging>"), &t, &n),
                     S3E_OK);
    assert_int_equal(n, 0);
    static const char *const bad[] = {
        "",
        "<Tagging>",
        "<Tagging/>",
        "<Other><TagSet/></Other>",
        "<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>",
        "<Tagging><TagSet><Tag><Value>a</Value></Tag></TagSet></Tagging>",
        "<Tagging><TagSet><Tag><Key>a</Key><Key>b</Key></Tag></TagSet></Tagging>",
        "<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value><X/></Tag></TagSet></Tagging>",
        "<Tagging><TagSet><Other/></TagSet></Tagging>",
        "<Tagging><TagSet/><TagSet/></Tagging>",
        "<Tagging>text<TagSet/></Tagging>",
        "<Tagging><TagSet><Tag><Key><b/></Key><Value/></Tag></TagSet></Tagging>",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        assert_int_equal(s3_tagging_parse_xml(a, str_c(bad[i]), &t, &n), S3E_MALFORMED_XML);
    arena_free(a);
}

static void
test_errors_and_render(void **state)
{
    (void)state;
    struct arena *a = arena_new();
    struct md_tag in[2] = {{STR_LIT("k<&>"), STR_LIT("\xe6\x97\xa5 v")}, {STR_LIT("e"), STR_LIT("")}};
    struct md_tag dup[2] = {{STR_LIT("d"), STR_LIT("1")}, {STR_LIT("d"), STR_LIT("2")}};
    struct md_tag *t;
    struct buf x;
    const char *msg = NULL;
    size_t n;

    assert_int_equal(s3_tagging_check(dup, 2, TAGS_MAX_OBJECT, &msg), S3E_INVALID_TAG);
    assert_string_equal(msg, "Cannot provide multiple Tags with the same key");
    in[0].key = STR_LIT("aws:k");
    assert_int_equal(s3_tagging_check(in, 2, TAGS_MAX_OBJECT, &msg), S3E_INVALID_TAG);
    assert_string_equal(msg, "Your TagKey cannot be prefixed with aws:");
    in[0].key = STR_LIT("k<&>");
    assert_int_equal(s3_tagging_check(in, 2, TAGS_MAX_OBJECT, &msg), S3E_INVALID_TAG);
    assert_string_equal(msg, "The TagKey you have provided is invalid");
    in[0].key = STR_LIT("k");
    assert_int_equal(s3_tagging_check(in, 2, TAGS_MAX_OBJECT, &msg), S3E_OK);
    in[1].value = STR_LIT("v!");
    assert_int_equal(s3_tagging_check(in, 2, TAGS_MAX_OBJECT, &msg), S3E_INVALID_TAG);
    assert_string_equal(msg, "The TagValue you have provided is invalid");
    in[1].value = STR_LIT("");
    /* Rendering escapes what it must and parses back to the same tags. */
    in[0].value = STR_LIT("a&b <c>");
    buf_init(&x, 64 * 1024);
    assert_int_equal(s3_tagging_render(&x, in, 2), 0);
    assert_non_null(strstr(buf_str(&x).p, "<Value>a&amp;b &lt;c&gt;</Value>"));
    assert_int_equal(s3_tagging_parse_xml(a, buf_str(&x), &t, &n), S3E_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        assert_true(str_eq(t[i].key, in[i].key) && str_eq(t[i].value, in[i].value));
    buf_free(&x);
    arena_free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chars),  cmocka_unit_test(test_alphabet_and_lengths),
        cmocka_unit_test(test_check),  cmocka_unit_test(test_header),
        cmocka_unit_test(test_document), cmocka_unit_test(test_errors_and_render),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
