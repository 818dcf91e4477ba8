/* totp.h -- RFC 6238 TOTP (HMAC-SHA1, 30 s, 6 digits) with the rules of
 * Coffer's decisions [spec-mfa-delete decision 8]: a window of one step
 * either side, each accepted step burned (a code, or an older one, cannot be
 * used again), at most TOTP_MAX_FAILS failed checks per device per
 * TOTP_FAIL_WINDOW_S seconds. Pure functions of (key, state, time): the
 * caller supplies the clock, so tests use a fake one. */
#ifndef COFFER_AUTH_TOTP_H
#define COFFER_AUTH_TOTP_H

#include <stddef.h>
#include <stdint.h>

#define TOTP_STEP_S 30
#define TOTP_DIGITS 6
#define TOTP_WINDOW 1
#define TOTP_MAX_FAILS 5
#define TOTP_FAIL_WINDOW_S 30
#define TOTP_RESYNC_STEPS 2880 /* resync searches +-24 h for two consecutive codes */

struct totp_state {
    int64_t last_step;    /* highest accepted step; 0 = none */
    int64_t offset_steps; /* device drift, from resync */
    int64_t fail_start_s; /* start of the failure window */
    int fail_count;
};

/* The code for time t (seconds) with the given step and digits. */
uint32_t totp_code(const unsigned char *key, size_t kn, int64_t t, int step_s, int digits);

/* Checks code at now_s. Returns 0 and burns the step (st->last_step), or
 * -EACCES (wrong or expired), -EALREADY (step already used: replay),
 * -EAGAIN (throttled; *retry_s set: seconds until checks are allowed again,
 * even a right code is refused meanwhile). Failures update the counters. */
int totp_verify(const unsigned char *key, size_t kn, struct totp_state *st, int64_t now_s,
                uint32_t code, int *retry_s);

/* Enrolment and IAM EnableMFADevice: code1 and code2 must be two
 * consecutive codes within the window around now_s. 0 (state reset, the
 * second step burned), -EACCES. */
int totp_enable(const unsigned char *key, size_t kn, struct totp_state *st, int64_t now_s,
                uint32_t code1, uint32_t code2);

/* IAM ResyncMFADevice: finds code1, code2 as consecutive codes within
 * +-TOTP_RESYNC_STEPS of now and stores the drift. 0, -EACCES. */
int totp_resync(const unsigned char *key, size_t kn, struct totp_state *st, int64_t now_s,
                uint32_t code1, uint32_t code2);

/* Seconds from now_s until the device shows the first code a check can
 * still accept (the step after last_step, in device time), 0 when it shows
 * already. After totp_enable() both enrolment codes are burned, so this is
 * how long a user waits for a usable code. */
int64_t totp_next_code_s(const struct totp_state *st, int64_t now_s);

/* Parses exactly six ASCII digits. 0 or -EINVAL. */
int totp_parse_code(const char *p, size_t n, uint32_t *code);

#endif
