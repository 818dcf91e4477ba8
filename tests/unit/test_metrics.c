/* test_metrics.c -- util/metrics: per-thread counts summed at scrape, and the
 * Prometheus text (format 0.0.4) of known inputs, byte for byte: label
 * escaping, label order, histogram buckets (cumulative), _sum and _count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "util/buf.h"
#include "util/metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const struct mx_family req = {
    .name = "t_requests_total",
    .help = "Requests, by op\\code.\nSecond line.",
    .type = MX_COUNTER,
    .label = {"op", "code"},
};

static const uint64_t bounds[] = {5000000, 100000000, 2500000000ULL};
static const struct mx_family dur = {
    .name = "t_duration_seconds",
    .help = "Time.",
    .type = MX_HISTOGRAM,
    .label = {"op", NULL},
    .bounds = bounds,
    .n_bounds = 3,
    .scale = 9,
};

static const struct mx_family plain = {
    .name = "t_bytes_total",
    .help = "Bytes.",
    .type = MX_COUNTER,
};

static char *
render(const struct mx_family *f)
{
    struct mx_snap *s = mx_snapshot();
    struct buf b;
    char *out;

    buf_init(&b, 1 << 20);
    assert_int_equal(mx_render(&b, s, f), 0);
    out = strdup(b.p);
    buf_free(&b);
    mx_snap_free(s);
    return out;
}

static void *
other_thread(void *arg)
{
    (void)arg;
    mx_add(&req, "GetObject", mx_status_label(200), 5);
    mx_add(&plain, NULL, NULL, 1000);
    return NULL;
}

static void
test_counter_known_answer(void **state)
{
    char op_copy[] = "GetObject"; /* same text at another address: one series */
    const char *weird = "a\"b\\c\nd";
    pthread_t th;
    char *got;

    (void)state;
    mx_add(&req, "PutObject", mx_status_label(200), 2);
    mx_add(&req, "GetObject", mx_status_label(404), 1);
    mx_add(&req, "GetObject", mx_status_label(200), 1);
    mx_add(&req, op_copy, mx_status_label(200), 10);
    mx_add(&req, weird, mx_status_label(500), 1);
    assert_int_equal(pthread_create(&th, NULL, other_thread, NULL), 0);
    pthread_join(th, NULL);
    got = render(&req);
    assert_string_equal(got, "# HELP t_requests_total Requests, by op\\\\code.\\nSecond line.\n"
                             "# TYPE t_requests_total counter\n"
                             "t_requests_total{op=\"GetObject\",code=\"200\"} 16\n"
                             "t_requests_total{op=\"GetObject\",code=\"404\"} 1\n"
                             "t_requests_total{op=\"PutObject\",code=\"200\"} 2\n"
                             "t_requests_total{op=\"a\\\"b\\\\c\\nd\",code=\"500\"} 1\n");
    free(got);

    mx_add(&plain, NULL, NULL, 24);
    got = render(&plain);
    assert_string_equal(got, "# HELP t_bytes_total Bytes.\n"
                             "# TYPE t_bytes_total counter\n"
                             "t_bytes_total 1024\n");
    free(got);
}

static void
test_histogram_known_answer(void **state)
{
    char *got;

    (void)state;
    mx_observe(&dur, "GetObject", 1000000);    /* 0.001 s: first bucket */
    mx_observe(&dur, "GetObject", 5000000);    /* on the bound: le is inclusive */
    mx_observe(&dur, "GetObject", 50000000);   /* 0.05 */
    mx_observe(&dur, "GetObject", 3000000000); /* 3 s: +Inf only */
    mx_observe(&dur, "HeadObject", 7);
    got = render(&dur);
    assert_string_equal(got,
                        "# HELP t_duration_seconds Time.\n"
                        "# TYPE t_duration_seconds histogram\n"
                        "t_duration_seconds_bucket{op=\"GetObject\",le=\"0.005\"} 2\n"
                        "t_duration_seconds_bucket{op=\"GetObject\",le=\"0.1\"} 3\n"
                        "t_duration_seconds_bucket{op=\"GetObject\",le=\"2.5\"} 3\n"
                        "t_duration_seconds_bucket{op=\"GetObject\",le=\"+Inf\"} 4\n"
                        "t_duration_seconds_sum{op=\"GetObject\"} 3.056\n"
                        "t_duration_seconds_count{op=\"GetObject\"} 4\n"
                        "t_duration_seconds_bucket{op=\"HeadObject\",le=\"0.005\"} 1\n"
                        "t_duration_seconds_bucket{op=\"HeadObject\",le=\"0.1\"} 1\n"
                        "t_duration_seconds_bucket{op=\"HeadObject\",le=\"2.5\"} 1\n"
                        "t_duration_seconds_bucket{op=\"HeadObject\",le=\"+Inf\"} 1\n"
                        "t_duration_seconds_sum{op=\"HeadObject\"} 0.000000007\n"
                        "t_duration_seconds_count{op=\"HeadObject\"} 1\n");
    free(got);
}

static void
test_samples_and_status(void **state)
{
    static const char *const ln[] = {"result"};
    const char *lv[] = {"o\"k"};
    struct buf b;

    (void)state;
    buf_init(&b, 4096);
    assert_int_equal(mx_header(&b, "t_g", "A gauge.", "gauge"), 0);
    assert_int_equal(mx_sample(&b, "t_g", ln, lv, 1, 42, 0), 0);
    assert_int_equal(mx_sample(&b, "t_g", NULL, NULL, 0, 1500, 3), 0);
    assert_int_equal(mx_sample(&b, "t_g", NULL, NULL, 0, 0, 3), 0);
    assert_string_equal(b.p, "# HELP t_g A gauge.\n# TYPE t_g gauge\n"
                             "t_g{result=\"o\\\"k\"} 42\nt_g 1.5\nt_g 0\n");
    buf_free(&b);
    assert_string_equal(mx_status_label(503), "503");
    assert_true(mx_status_label(503) == mx_status_label(503));
    assert_string_equal(mx_status_label(99), "other");
    assert_string_equal(mx_status_label(600), "other");
}

/* A family nobody counted still has its HELP and TYPE. */
static void
test_empty_family(void **state)
{
    static const struct mx_family none = {.name = "t_none_total", .help = "x", .type = MX_COUNTER};
    char *got;

    (void)state;
    got = render(&none);
    assert_string_equal(got, "# HELP t_none_total x\n# TYPE t_none_total counter\n");
    free(got);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_known_answer),
        cmocka_unit_test(test_histogram_known_answer),
        cmocka_unit_test(test_samples_and_status),
        cmocka_unit_test(test_empty_family),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
