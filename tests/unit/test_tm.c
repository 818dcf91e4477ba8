/* test_tm.c -- util/tm: formatting of HTTP dates and ISO 8601 timestamps
 * (known answers computed independently with Python's datetime), and the
 * parsers reading them back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "util/str.h"
#include "util/tm.h"

static const struct {
    int64_t ms;
    const char *http, *iso;
} vec[] = {
    {0, "Thu, 01 Jan 1970 00:00:00 GMT", "1970-01-01T00:00:00.000Z"},
    {1700000000123, "Tue, 14 Nov 2023 22:13:20 GMT", "2023-11-14T22:13:20.123Z"},
    {951782400000, "Tue, 29 Feb 2000 00:00:00 GMT", "2000-02-29T00:00:00.000Z"},
    {253402300799999, "Fri, 31 Dec 9999 23:59:59 GMT", "9999-12-31T23:59:59.999Z"},
};

static void
test_format_known_answers(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(vec); i++) {
        char out[32];
        tm_http_date(vec[i].ms, out);
        assert_string_equal(out, vec[i].http);
        tm_iso8601(vec[i].ms, out);
        assert_string_equal(out, vec[i].iso);
    }
}

static void
test_http_date_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(vec); i++) {
        int64_t s = -1;
        assert_int_equal(tm_parse_http(str_c(vec[i].http), &s), 0);
        assert_int_equal(s, vec[i].ms / 1000);
    }
}

static void
test_out_of_range_is_epoch(void **state)
{
    char out[32];

    (void)state;
    tm_http_date(-1000, out);
    assert_string_equal(out, "Thu, 01 Jan 1970 00:00:00 GMT");
    tm_iso8601(253402300800000, out); /* year 10000 */
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_known_answers),
        cmocka_unit_test(test_http_date_round_trip),
        cmocka_unit_test(test_out_of_range_is_epoch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
