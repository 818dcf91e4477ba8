/* totp.c -- RFC 6238 TOTP over HMAC-SHA1 and the per-device rules layered on
 * it: window, single use of each step, failure throttling, enrolment and
 * resynchronisation. No storage and no clock here: the caller loads the
 * state, passes the time and stores the state back (mfa.c, adm_mfa.c). */
#include "auth/totp.h"
#include "common.h"

#include "crypto/hash.h"

#include <errno.h>
#include <stdbool.h>

/* floor(t / step) for negative t too (C division truncates toward zero). */
static int64_t
floor_div(int64_t t, int64_t step)
{
    int64_t q = t / step;

    if (t % step != 0 && t < 0)
        q--;
    return q;
}

/* RFC 4226 HOTP of counter, cut to digits (dynamic truncation, §5.3). */
static uint32_t
hotp(const unsigned char *key, size_t kn, uint64_t counter, int digits)
{
    unsigned char msg[8], mac[20];
    uint32_t bin, mod = 1;
    unsigned off;

    for (int i = 7; i >= 0; i--) {
        msg[i] = (unsigned char)(counter & 0xff);
        counter >>= 8;
    }
    hmac_sha1(key, kn, msg, sizeof(msg), mac);
    off = mac[19] & 0x0f;
    bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
          ((uint32_t)mac[off + 2] << 8) | (uint32_t)mac[off + 3];
    for (int i = 0; i < digits; i++)
        mod *= 10;
    return bin % mod;
}

uint32_t
totp_code(const unsigned char *key, size_t kn, int64_t t, int step_s, int digits)
{
    ASSERT(step_s > 0);
    ASSERT(digits >= 1 && digits <= 9);
    return hotp(key, kn, (uint64_t)floor_div(t, step_s), digits);
}

static uint32_t
code_at(const unsigned char *key, size_t kn, int64_t step)
{
    return hotp(key, kn, (uint64_t)step, TOTP_DIGITS);
}

/* 1 if a == b, else 0, without a data-dependent branch. */
static uint32_t
ct_eq(uint32_t a, uint32_t b)
{
    uint64_t d = (uint64_t)(a ^ b);

    return (uint32_t)((d - 1) >> 63);
}

/* v1 when bit is 1, v0 when it is 0, without a branch. */
static int64_t
ct_select(uint32_t bit, int64_t v1, int64_t v0)
{
    uint64_t mask = (uint64_t)0 - (uint64_t)bit;

    return (int64_t)(((uint64_t)v1 & mask) | ((uint64_t)v0 & ~mask));
}

/* The failure window is [fail_start_s, fail_start_s + TOTP_FAIL_WINDOW_S).
 * A clock that went backwards (now before the start) opens a new window
 * rather than throttling for longer than one window. */
static bool
in_fail_window(const struct totp_state *st, int64_t now_s)
{
    return now_s >= st->fail_start_s && now_s - st->fail_start_s < TOTP_FAIL_WINDOW_S;
}

static void
count_failure(struct totp_state *st, int64_t now_s)
{
    if (st->fail_count <= 0 || !in_fail_window(st, now_s)) {
        st->fail_start_s = now_s;
        st->fail_count = 1;
    } else if (st->fail_count < TOTP_MAX_FAILS) {
        st->fail_count++;
    }
}

int
totp_verify(const unsigned char *key, size_t kn, struct totp_state *st, int64_t now_s,
            uint32_t code, int *retry_s)
{
    int64_t cur = floor_div(now_s, TOTP_STEP_S) + st->offset_steps;
    uint32_t any = 0, fresh = 0;
    int64_t chosen = 0;

    *retry_s = 0;
    /* Throttled: refuse before looking at the code, so a right code cannot
     * be told from a wrong one, and do not extend the window. */
    if (st->fail_count >= TOTP_MAX_FAILS && in_fail_window(st, now_s)) {
        *retry_s = (int)(st->fail_start_s + TOTP_FAIL_WINDOW_S - now_s);
        return -EAGAIN;
    }
    /* Every candidate is computed and compared; the lowest unused matching
     * step wins (downwards loop, later assignments override), so a rare
     * collision never burns more steps than needed. */
    for (int64_t s = cur + TOTP_WINDOW; s >= cur - TOTP_WINDOW; s--) {
        uint32_t eq = ct_eq(code_at(key, kn, s), code);
        uint32_t ok = eq & (uint32_t)(s > st->last_step);

        any |= eq;
        fresh |= ok;
        chosen = ct_select(ok, s, chosen);
    }
    if (fresh) {
        st->last_step = chosen;
        st->fail_count = 0;
        st->fail_start_s = 0;
        return 0;
    }
    /* Failure: only the counters move. last_step never does, so a stale or
     * replayed code cannot lock out the current one. */
    count_failure(st, now_s);
    return any ? -EALREADY : -EACCES;
}

/* Finds s in [lo, hi] with code(s) == code1 and code(s + 1) == code2,
 * preferring the s whose second step is nearest to mid. Every step in the
 * range is computed once and compared without early exit. 0 and *found,
 * or -EACCES. */
static int
find_pair(const unsigned char *key, size_t kn, int64_t lo, int64_t hi, int64_t mid, uint32_t code1,
          uint32_t code2, int64_t *found)
{
    uint32_t prev = ct_eq(code_at(key, kn, lo), code1);
    int64_t best = 0, best_dist = INT64_MAX;
    bool have = false;

    for (int64_t s = lo; s <= hi; s++) {
        uint32_t next = code_at(key, kn, s + 1);
        uint32_t hit = prev & ct_eq(next, code2);
        int64_t dist = s + 1 > mid ? s + 1 - mid : mid - (s + 1);

        if (hit && dist < best_dist) {
            best = s;
            best_dist = dist;
            have = true;
        }
        prev = ct_eq(next, code1);
    }
    if (!have)
        return -EACCES;
    *found = best;
    return 0;
}

/* The pair (s, s + 1) is accepted when the SECOND code is one the verify
 * window would accept at now (s + 1 in [cur - 1, cur + 1]), i.e. s in
 * [cur - 2, cur]: both codes inside the window, or the first one just before
 * it (the user waited for the next code to appear). The device is assumed
 * in sync: the old offset is dropped. */
int
totp_enable(const unsigned char *key, size_t kn, struct totp_state *st, int64_t now_s,
            uint32_t code1, uint32_t code2)
{
    int64_t cur = floor_div(now_s, TOTP_STEP_S);
    int64_t s;
    int rc;

    rc = find_pair(key, kn, cur - TOTP_WINDOW - 1, cur + TOTP_WINDOW - 1, cur, code1, code2, &s);
    if (rc < 0)
        return rc;
    *st = (struct totp_state){.last_step = s + 1};
    return 0;
}

/* The second code's step is taken as the device's "now": offset_steps maps
 * the server's current step onto it, and it is burned. last_step is set,
 * not raised: a device whose clock went backwards must be recoverable. */
int
totp_resync(const unsigned char *key, size_t kn, struct totp_state *st, int64_t now_s,
            uint32_t code1, uint32_t code2)
{
    int64_t cur = floor_div(now_s, TOTP_STEP_S);
    int64_t s;
    int rc;

    rc = find_pair(key, kn, cur - TOTP_RESYNC_STEPS - 1, cur + TOTP_RESYNC_STEPS - 1, cur, code1,
                   code2, &s);
    if (rc < 0)
        return rc;
    st->last_step = s + 1;
    st->offset_steps = s + 1 - cur;
    st->fail_count = 0;
    st->fail_start_s = 0;
    return 0;
}

int64_t
totp_next_code_s(const struct totp_state *st, int64_t now_s)
{
    /* Device step n starts at server time (n - offset_steps) * step. */
    int64_t start = (st->last_step + 1 - st->offset_steps) * TOTP_STEP_S;

    return start > now_s ? start - now_s : 0;
}

int
totp_parse_code(const char *p, size_t n, uint32_t *code)
{
    uint32_t v = 0;

    if (p == NULL || n != TOTP_DIGITS)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -EINVAL;
        v = v * 10 + (uint32_t)(p[i] - '0');
    }
    *code = v;
    return 0;
}
