/* mfa_dev.c -- MFA-device lifecycle steps shared by iam/, admin/ and
 * auth/mfa.c (see mfa_dev.h). No policy here: the callers decide who may
 * change a device and what the audit log says. */
#include "common.h"
#include "auth/mfa_dev.h"

#include <string.h>

struct totp_state
mfa_dev_state(const struct md_mfa_device *d)
{
    struct totp_state st = {
        .last_step = d->last_step,
        .offset_steps = d->offset_steps,
        .fail_start_s = d->fail_start_s,
        .fail_count = d->fail_count,
    };
    return st;
}

int
mfa_dev_save_state(struct md_conn *c, const struct md_mfa_device *d, const struct totp_state *st)
{
    return md_mfa_set_state(c, d->id, st->last_step, st->offset_steps, st->fail_start_s,
                            st->fail_count);
}

int
mfa_dev_check_codes(const struct md_mfa_device *d, bool resync, int64_t now_ms, uint32_t code1,
                    uint32_t code2, struct totp_state *st)
{
    const unsigned char *key = (const unsigned char *)d->seed.p;

    *st = mfa_dev_state(d);
    if (resync)
        return totp_resync(key, d->seed.n, st, now_ms / 1000, code1, code2);
    return totp_enable(key, d->seed.n, st, now_ms / 1000, code1, code2);
}

int
mfa_dev_enable(struct md_conn *c, const struct md_mfa_device *d, int64_t user_id, int64_t now_ms)
{
    return md_mfa_set_enabled(c, d->id, true, user_id, now_ms);
}

int
mfa_dev_deactivate(struct md_conn *c, const struct md_mfa_device *d, int64_t now_ms)
{
    return md_mfa_set_enabled(c, d->id, false, -1, now_ms);
}

void
mfa_dev_wipe_seed(struct md_mfa_device *d)
{
    if (d->seed.p != NULL && d->seed.n > 0)
        explicit_bzero((void *)d->seed.p, d->seed.n);
}
