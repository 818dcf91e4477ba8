/* test_s3_range.c -- s3/s3_range: the Range and x-amz-copy-source-range
 * headers against an object size, as RFC 9110 §14.1.2 reads them (answers
 * worked out by hand), including every number that cannot fit an int64_t. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "s3/s3_range.h"

#include <errno.h>

#define P S3_RANGE_PARTIAL
#define U S3_RANGE_UNSATISFIABLE
#define I S3_RANGE_IGNORE

static const struct {
    const char *h;
    int64_t size;
    enum s3_range want;
    int64_t first, last;
} vec[] = {
    {"bytes=0-9", 100, P, 0, 9},
    {"bytes=10-", 100, P, 10, 99},
    {"bytes=-10", 100, P, 90, 99},
    {"bytes=-100", 100, P, 0, 99},
    {"bytes=-101", 100, P, 0, 99},
    {"bytes=50-1000", 100, P, 50, 99},
    {"bytes=99-99", 100, P, 99, 99},
    {"BYTES=1-2", 100, P, 1, 2},
    {" bytes= 3 - 4 ", 100, P, 3, 4},
    {"bytes=007-0009", 100, P, 7, 9},
    /* Suffixes at and past 2^63 and 2^64: the whole object (the bug). */
    {"bytes=-9223372036854775807", 100, P, 0, 99},
    {"bytes=-9223372036854775808", 100, P, 0, 99},
    {"bytes=-18446744073709551615", 100, P, 0, 99},
    {"bytes=-18446744073709551616", 100, P, 0, 99},
    {"bytes=-99999999999999999999999999999", 100, P, 0, 99},
    {"bytes=0-18446744073709551616", 100, P, 0, 99},
    {"bytes=0-9223372036854775808", 9223372036854775807, P, 0, 9223372036854775806},
    {"bytes=-1", 9223372036854775807, P, 9223372036854775806, 9223372036854775806},
    /* Not satisfiable: 416. */
    {"bytes=100-", 100, U, 0, 0},
    {"bytes=100-200", 100, U, 0, 0},
    {"bytes=18446744073709551616-", 100, U, 0, 0},
    {"bytes=9223372036854775808-99999999999999999999", 100, U, 0, 0},
    {"bytes=-0", 100, U, 0, 0},
    {"bytes=-5", 0, U, 0, 0},
    {"bytes=0-0", 0, U, 0, 0},
    /* Ignored: serve the whole object. */
    {NULL, 100, I, 0, 0},
    {"", 100, I, 0, 0},
    {"bytes=", 100, I, 0, 0},
    {"bytes=-", 100, I, 0, 0},
    {"bytes=5-4", 100, I, 0, 0},
    {"bytes=18446744073709551617-18446744073709551616", 100, I, 0, 0},
    {"bytes=0-1,5-6", 100, I, 0, 0},
    {"bytes=+1-2", 100, I, 0, 0},
    {"bytes=--5", 100, I, 0, 0},
    {"bytes=1-2-3", 100, I, 0, 0},
    {"bytes=0x10-", 100, I, 0, 0},
    {"items=0-1", 100, I, 0, 0},
    {"bytes=0-9", -1, I, 0, 0},
};

static struct str
hdr(const char *s)
{
    return s == NULL ? STR_NULL : str_c(s);
}

static void
test_range_known_answers(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(vec); i++) {
        int64_t first = -7, last = -7;
        enum s3_range r = s3_parse_range(hdr(vec[i].h), vec[i].size, &first, &last);
        if (r != vec[i].want)
            fail_msg("%s size %lld: got %d, want %d", vec[i].h ? vec[i].h : "(none)",
                     (long long)vec[i].size, r, vec[i].want);
        if (r == S3_RANGE_PARTIAL) {
            assert_int_equal(first, vec[i].first);
            assert_int_equal(last, vec[i].last);
        } else {
            assert_int_equal(first, -7); /* untouched */
            assert_int_equal(last, -7);
        }
    }
}

static const struct {
    const char *h;
    int64_t size;
    int want;
    int64_t first, last;
} copy_vec[] = {
    {"bytes=0-9", 100, 0, 0, 9},
    {" bytes=99-99 ", 100, 0, 99, 99},
    {"bytes=0-99", 100, 0, 0, 99},
    {"bytes=0-100", 100, -ERANGE, 0, 0},
    {"bytes=0-0", 0, -ERANGE, 0, 0},
    {"bytes=0-18446744073709551616", 100, -ERANGE, 0, 0},
    {"bytes=9223372036854775808-18446744073709551616", 100, -ERANGE, 0, 0},
    {"bytes=5-4", 100, -EINVAL, 0, 0},
    {"bytes=-5", 100, -EINVAL, 0, 0},
    {"bytes=5-", 100, -EINVAL, 0, 0},
    {"bytes=a-b", 100, -EINVAL, 0, 0},
    {"bytes 0-1", 100, -EINVAL, 0, 0},
    {"bytes=18446744073709551617-18446744073709551616", 100, -EINVAL, 0, 0},
    {NULL, 100, -EINVAL, 0, 0},
};

static void
test_copy_range_known_answers(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(copy_vec); i++) {
        int64_t first = -7, last = -7;
        int rc = s3_parse_copy_range(hdr(copy_vec[i].h), copy_vec[i].size, &first, &last);
        if (rc != copy_vec[i].want)
            fail_msg("%s: got %d, want %d", copy_vec[i].h ? copy_vec[i].h : "(none)", rc,
                     copy_vec[i].want);
        assert_int_equal(first, rc == 0 ? copy_vec[i].first : -7);
        assert_int_equal(last, rc == 0 ? copy_vec[i].last : -7);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_known_answers),
        cmocka_unit_test(test_copy_range_known_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
