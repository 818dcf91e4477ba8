/* test_totp.c -- RFC 6238 Appendix B SHA-1 vectors (8 digits and cut to 6),
 * then the device rules of spec-mfa-delete decision 8 on a fake clock:
 * window edges, replay, the radosgw lockout, throttling, enrolment, resync.
 * Steps of the RFC key: S = 37037036 holds 081804 (t 1111111080..1111111109),
 * S + 1 holds 050471 (t 1111111110..1111111139). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "auth/totp.h"
#include "common.h"

#include <errno.h>

static const unsigned char key[] = "12345678901234567890";
#define KN 20
#define S 37037036LL /* step of t = 1111111109 */

static uint32_t
code_t(int64_t t)
{
    return totp_code(key, KN, t, TOTP_STEP_S, TOTP_DIGITS);
}

static int
verify(struct totp_state *st, int64_t now, uint32_t code)
{
    int retry = -1;
    int rc = totp_verify(key, KN, st, now, code, &retry);

    if (rc != -EAGAIN)
        assert_int_equal(retry, 0);
    return rc;
}

static void
test_rfc6238_vectors(void **state)
{
    static const struct {
        int64_t t;
        uint32_t code8, code6;
    } v[] = {
        {59, 94287082, 287082},         {1111111109, 7081804, 81804},
        {1111111111, 14050471, 50471},  {1234567890, 89005924, 5924},
        {2000000000, 69279037, 279037}, {20000000000LL, 65353130, 353130},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        assert_int_equal(totp_code(key, KN, v[i].t, 30, 8), v[i].code8);
        assert_int_equal(totp_code(key, KN, v[i].t, 30, 6), v[i].code6);
    }
    /* Step boundaries: 1111111109 and 1111111110 are in different steps. */
    assert_int_equal(code_t(1111111080), 81804);
    assert_int_equal(code_t(1111111110), 50471);
    assert_int_equal(code_t(1111111139), 50471);
}

static void
test_parse_code(void **state)
{
    uint32_t c = 7;

    (void)state;
    assert_int_equal(totp_parse_code("081804", 6, &c), 0);
    assert_int_equal(c, 81804);
    assert_int_equal(totp_parse_code("000000", 6, &c), 0);
    assert_int_equal(c, 0);
    assert_int_equal(totp_parse_code("999999", 6, &c), 0);
    assert_int_equal(c, 999999);
    c = 7;
    assert_int_equal(totp_parse_code("12345", 5, &c), -EINVAL);
    assert_int_equal(totp_parse_code("1234567", 7, &c), -EINVAL);
    assert_int_equal(totp_parse_code("12a456", 6, &c), -EINVAL);
    assert_int_equal(totp_parse_code(" 23456", 6, &c), -EINVAL);
    assert_int_equal(totp_parse_code("12345 ", 6, &c), -EINVAL);
    assert_int_equal(totp_parse_code("+12345", 6, &c), -EINVAL);
    assert_int_equal(totp_parse_code("", 0, &c), -EINVAL);
    assert_int_equal(totp_parse_code(NULL, 0, &c), -EINVAL);
    assert_int_equal(c, 7);
}

/* 081804 belongs to step S; now in steps S-2 .. S+2. */
static void
test_window_edges(void **state)
{
    static const struct {
        int64_t now;
        int rc;
    } v[] = {
        {1111111049, -EACCES}, /* step S-2: code is 2 steps ahead */
        {1111111050, 0},       /* step S-1: code 1 step ahead */
        {1111111079, 0},       /* step S-1, last second */
        {1111111080, 0},       /* step S */
        {1111111109, 0},       /* step S, last second */
        {1111111110, 0},       /* step S+1: code 1 step late */
        {1111111139, 0},       /* step S+1, last second */
        {1111111140, -EACCES}, /* step S+2: 2 steps late */
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        struct totp_state st = {0};

        assert_int_equal(verify(&st, v[i].now, 81804), v[i].rc);
        assert_int_equal(st.last_step, v[i].rc == 0 ? S : 0);
        assert_int_equal(st.fail_count, v[i].rc == 0 ? 0 : 1);
    }
}

static void
test_replay(void **state)
{
    struct totp_state st = {0};

    (void)state;
    assert_int_equal(verify(&st, 1111111111, 50471), 0);
    assert_int_equal(st.last_step, S + 1);
    /* Same code again, even seconds later in the same step. */
    assert_int_equal(verify(&st, 1111111111, 50471), -EALREADY);
    assert_int_equal(verify(&st, 1111111125, 50471), -EALREADY);
    /* Older code still inside the window: refused too. */
    assert_int_equal(verify(&st, 1111111111, 81804), -EALREADY);
    assert_int_equal(st.last_step, S + 1);
    assert_int_equal(st.fail_count, 3);
    /* The next step's code is fine. */
    assert_int_equal(verify(&st, 1111111141, code_t(1111111141)), 0);
    assert_int_equal(st.last_step, S + 2);
    assert_int_equal(st.fail_count, 0);
}

/* radosgw's bug: a rejected code moves the replay marker, so the code shown
 * now is refused afterwards. Here a failure never touches last_step. */
static void
test_no_lockout(void **state)
{
    int64_t now = 1111111111; /* step S+1 */
    struct totp_state st = {.last_step = S - 5};

    (void)state;
    /* Past code outside the window, and a future one outside it. */
    assert_int_equal(verify(&st, now, code_t(now - 60)), -EACCES);
    assert_int_equal(st.last_step, S - 5);
    assert_int_equal(verify(&st, now, code_t(now + 60)), -EACCES);
    assert_int_equal(st.last_step, S - 5);
    /* Both the previous step's and the current code still work, in order. */
    assert_int_equal(verify(&st, now, 81804), 0);
    assert_int_equal(st.last_step, S);
    assert_int_equal(verify(&st, now, 50471), 0);
    assert_int_equal(st.last_step, S + 1);

    /* A replayed old code is refused without burning anything new. */
    st = (struct totp_state){.last_step = S};
    assert_int_equal(verify(&st, now, 81804), -EALREADY);
    assert_int_equal(st.last_step, S);
    assert_int_equal(verify(&st, now, 50471), 0);
}

static void
test_throttle(void **state)
{
    int64_t t0 = 1111111111;
    uint32_t wrong = (50471 + 1) % 1000000;
    struct totp_state st = {0};
    int retry = -1;

    (void)state;
    assert_true(wrong != 81804 && wrong != code_t(t0 + 30));
    for (int i = 0; i < TOTP_MAX_FAILS; i++)
        assert_int_equal(verify(&st, t0 + i, wrong), -EACCES);
    assert_int_equal(st.fail_count, 5);
    assert_int_equal(st.fail_start_s, t0);
    /* Throttled: even the right code, and the state does not move. */
    assert_int_equal(totp_verify(key, KN, &st, t0 + 10, 50471, &retry), -EAGAIN);
    assert_int_equal(retry, 20);
    assert_int_equal(totp_verify(key, KN, &st, t0 + 29, 50471, &retry), -EAGAIN);
    assert_int_equal(retry, 1);
    assert_int_equal(st.last_step, 0);
    assert_int_equal(st.fail_count, 5);
    assert_int_equal(st.fail_start_s, t0);
    /* Window over: the (still in-window, one step late) right code passes. */
    assert_int_equal(verify(&st, t0 + 30, 50471), 0);
    assert_int_equal(st.last_step, S + 1);
    assert_int_equal(st.fail_count, 0);

    /* Four failures then a success: the count resets. */
    st = (struct totp_state){0};
    for (int i = 0; i < TOTP_MAX_FAILS - 1; i++)
        assert_int_equal(verify(&st, t0, wrong), -EACCES);
    assert_int_equal(verify(&st, t0, 50471), 0);
    assert_int_equal(st.fail_count, 0);
    for (int i = 0; i < TOTP_MAX_FAILS - 1; i++)
        assert_int_equal(verify(&st, t0 + 1, wrong), -EACCES);
    assert_int_equal(verify(&st, t0 + 2, code_t(t0 + 31)), 0); /* next step, 1 ahead */

    /* Failures spread over more than a window never throttle. */
    st = (struct totp_state){0};
    for (int i = 0; i < 12; i++)
        assert_int_equal(verify(&st, t0 + 10 * i, 1), -EACCES);
    assert_true(st.fail_count < TOTP_MAX_FAILS);
    /* Replays count as failures. */
    st = (struct totp_state){.last_step = S + 1};
    for (int i = 0; i < TOTP_MAX_FAILS; i++)
        assert_int_equal(verify(&st, t0, 50471), -EALREADY);
    assert_int_equal(totp_verify(key, KN, &st, t0, code_t(t0 + 30), &retry), -EAGAIN);
    assert_int_equal(retry, 30);
}

static void
test_enable(void **state)
{
    struct totp_state st;

    (void)state;
    /* now in step S+1: codes of S and S+1 (both in the window). */
    st = (struct totp_state){.last_step = 99, .offset_steps = 7, .fail_count = 3};
    assert_int_equal(totp_enable(key, KN, &st, 1111111111, 81804, 50471), 0);
    assert_int_equal(st.last_step, S + 1);
    assert_int_equal(st.offset_steps, 0);
    assert_int_equal(st.fail_count, 0);
    /* The second code is burned, the first is older: both refused now. */
    assert_int_equal(verify(&st, 1111111111, 50471), -EALREADY);
    assert_int_equal(verify(&st, 1111111111, 81804), -EALREADY);
    /* The first usable code is step S+2's, shown from 1111111140 on. */
    assert_int_equal(totp_next_code_s(&st, 1111111111), 29);
    assert_int_equal(totp_next_code_s(&st, 1111111139), 1);
    assert_int_equal(totp_next_code_s(&st, 1111111140), 0);
    assert_int_equal(totp_next_code_s(&st, 1111111200), 0);
    {
        struct totp_state drift = {.last_step = S + 1 + 10, .offset_steps = 10};

        assert_int_equal(totp_next_code_s(&drift, 1111111111), 29); /* device time */
    }

    /* Wrong order, a gap, the same code twice, a wrong code. */
    st = (struct totp_state){0};
    assert_int_equal(totp_enable(key, KN, &st, 1111111111, 50471, 81804), -EACCES);
    assert_int_equal(totp_enable(key, KN, &st, 1111111111, code_t(1111111050), 50471), -EACCES);
    assert_int_equal(totp_enable(key, KN, &st, 1111111111, 50471, 50471), -EACCES);
    assert_int_equal(totp_enable(key, KN, &st, 1111111111, 81804, 50472), -EACCES);
    assert_int_equal(st.last_step, 0);

    /* Edges: pair (S, S+1) with now in steps S-1 .. S+3; s must be in
     * [cur-2, cur]. */
    st = (struct totp_state){0};
    assert_int_equal(totp_enable(key, KN, &st, 1111111079, 81804, 50471), -EACCES); /* s=cur+1 */
    assert_int_equal(totp_enable(key, KN, &st, 1111111080, 81804, 50471), 0);       /* s=cur */
    assert_int_equal(totp_enable(key, KN, &st, 1111111141, 81804, 50471), 0);       /* s=cur-2 */
    assert_int_equal(totp_enable(key, KN, &st, 1111111169, 81804, 50471), 0);
    assert_int_equal(totp_enable(key, KN, &st, 1111111170, 81804, 50471), -EACCES); /* s=cur-3 */
}

/* Device clock off by drift seconds: resync with its next two codes. */
static void
resync_case(int64_t drift)
{
    int64_t now = 1700000015; /* mid-step */
    int64_t dev = now + drift;
    struct totp_state st = {.last_step = 123, .fail_count = 2, .fail_start_s = now - 3};

    /* Out of sync, the device's code does not verify. */
    assert_int_equal(verify(&st, now, code_t(dev)), -EACCES);
    assert_int_equal(totp_resync(key, KN, &st, now, code_t(dev - 30), code_t(dev)), 0);
    assert_int_equal(st.offset_steps, drift / 30);
    assert_int_equal(st.last_step, (dev / 30));
    assert_int_equal(st.fail_count, 0);
    /* The second resync code is burned; the device's next code works, and
     * so do later ones as both clocks advance. */
    assert_int_equal(verify(&st, now, code_t(dev)), -EALREADY);
    assert_int_equal(verify(&st, now + 20, code_t(dev + 30)), 0);
    assert_int_equal(verify(&st, now + 3600, code_t(dev + 3600)), 0);
}

static void
test_resync(void **state)
{
    struct totp_state st = {0};
    int64_t now = 1700000015;

    (void)state;
    resync_case(600);
    resync_case(-600);
    resync_case(12 * 3600);
    resync_case(-12 * 3600);
    resync_case(24 * 3600 - 30); /* edge of TOTP_RESYNC_STEPS */
    resync_case(-24 * 3600 + 30);
    /* Beyond +-24 h, or codes that are not consecutive: refused, unchanged. */
    st.last_step = 5;
    assert_int_equal(totp_resync(key, KN, &st, now, code_t(now + 86430 - 30), code_t(now + 86430)),
                     -EACCES);
    assert_int_equal(totp_resync(key, KN, &st, now, code_t(now - 86430 - 30), code_t(now - 86430)),
                     -EACCES);
    assert_int_equal(totp_resync(key, KN, &st, now, code_t(now + 600), code_t(now + 660)), -EACCES);
    assert_int_equal(st.last_step, 5);
    assert_int_equal(st.offset_steps, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6238_vectors), cmocka_unit_test(test_parse_code),
        cmocka_unit_test(test_window_edges),    cmocka_unit_test(test_replay),
        cmocka_unit_test(test_no_lockout),      cmocka_unit_test(test_throttle),
        cmocka_unit_test(test_enable),          cmocka_unit_test(test_resync),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
