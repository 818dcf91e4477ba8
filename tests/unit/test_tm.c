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

#include <errno.h>

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

/* tm_parse_iso8601(): known answers (date -d ... +%s), zones, fractions,
 * leap days, and what it refuses. */
static void
test_iso8601_known_answers(void **state)
{
    static const struct {
        const char *s;
        int64_t ms;
        bool frac;
    } ok[] = {
        {"2026-01-15", 1768435200000LL, false},
        {"2026-01-15T10:30:00Z", 1768473000000LL, false},
        {"2026-01-15T10:30:00.000Z", 1768473000000LL, false},
        {"2026-01-15T10:30:00.250Z", 1768473000000LL, true},
        {"2026-01-15T10:30:00", 1768473000000LL, false},
        {"2026-01-15T11:30:00+01:00", 1768473000000LL, false},
        {"2026-01-14T23:00:00-01:00", 1768435200000LL, false},
        {"2024-02-29T00:00:00Z", 1709164800000LL, false},
        {"1969-12-31T23:59:59Z", -1000LL, false},
    };
    static const char *const bad[] = {
        "2026-1-15",           "2026-13-01",          "2026-02-29",        "2026-01-32",
        "2026-01-15T24:00:00Z", "2026-01-15T10:60:00Z", "2026-01-15T10:30Z", "2026-01-15T10:30:00.Z",
        "2026-01-15T10:30:00+0100", "2026-01-15T10:30:00Zx", "2026-01-15 10:30:00", "",
    };
    int64_t ms;
    bool frac;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
        assert_int_equal(tm_parse_iso8601(str_c(ok[i].s), &ms, &frac), 0);
        assert_int_equal(ms, ok[i].ms);
        assert_int_equal(frac, ok[i].frac);
    }
    assert_int_equal(tm_parse_iso8601(str_c("2026-01-15"), &ms, NULL), 0);
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        assert_int_equal(tm_parse_iso8601(str_c(bad[i]), &ms, &frac), -EINVAL);
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
        cmocka_unit_test(test_iso8601_known_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
