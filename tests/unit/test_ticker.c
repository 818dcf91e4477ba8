/* test_ticker.c -- util/ticker: the job runs at once, again at the time it
 * returns, and ticker_stop() ends a long wait at once and lets a running
 * job see the stop flag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "util/ticker.h"
#include "util/tm.h"

#include <time.h>

struct job {
    atomic_int runs;
    int64_t next_in_ms; /* the wait the job asks for */
    bool hold;          /* the second run waits for the stop flag */
    atomic_bool saw_stop;
};

static int64_t
run(void *arg, atomic_bool *stop)
{
    struct job *j = arg;

    if (atomic_fetch_add(&j->runs, 1) == 1 && j->hold) {
        while (!atomic_load(stop))
            nanosleep(&(struct timespec){0, 1000000L}, NULL);
        atomic_store(&j->saw_stop, true);
    }
    return tm_now_ms() + j->next_in_ms;
}

static void
wait_runs(struct job *j, int n)
{
    int64_t deadline = tm_now_ms() + 5000;

    while (atomic_load(&j->runs) < n && tm_now_ms() < deadline)
        nanosleep(&(struct timespec){0, 1000000L}, NULL);
    assert_true(atomic_load(&j->runs) >= n);
}

static void
test_runs_again_when_asked(void **state)
{
    struct job j = {.next_in_ms = 20};
    struct ticker *t;

    (void)state;
    atomic_init(&j.runs, 0);
    atomic_init(&j.saw_stop, false);
    assert_int_equal(ticker_start(run, &j, &t), 0);
    wait_runs(&j, 3); /* at start, then every 20 ms */
    ticker_stop(t);
    ticker_stop(NULL);
}

static void
test_stop_ends_a_long_wait(void **state)
{
    struct job j = {.next_in_ms = 3600 * 1000};
    struct ticker *t;
    int64_t t0;

    (void)state;
    atomic_init(&j.runs, 0);
    atomic_init(&j.saw_stop, false);
    assert_int_equal(ticker_start(run, &j, &t), 0);
    wait_runs(&j, 1);
    t0 = tm_now_ms();
    ticker_stop(t); /* not an hour */
    assert_true(tm_now_ms() - t0 < 2000);
    assert_int_equal(atomic_load(&j.runs), 1);
}

static void
test_running_job_sees_stop(void **state)
{
    struct job j = {.next_in_ms = 0, .hold = true};
    struct ticker *t;

    (void)state;
    atomic_init(&j.runs, 0);
    atomic_init(&j.saw_stop, false);
    assert_int_equal(ticker_start(run, &j, &t), 0);
    wait_runs(&j, 2); /* the second run holds until stopped */
    ticker_stop(t);
    assert_true(atomic_load(&j.saw_stop));
    assert_int_equal(atomic_load(&j.runs), 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_again_when_asked),
        cmocka_unit_test(test_stop_ends_a_long_wait),
        cmocka_unit_test(test_running_job_sees_stop),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
