/* mfa_dev.h -- the steps of an MFA device's lifecycle that the IAM handlers
 * (iam/), the admin CLI (admin/adm_mfa.c) and the request check
 * (auth/mfa.c) share: a device's TOTP state to and from its row, checking
 * the two codes of an enable or a resync, enabling and deactivating. The
 * store steps run inside the caller's md_write closure; who may do what,
 * the messages and the audit records stay with the callers. */
#ifndef COFFER_AUTH_MFA_DEV_H
#define COFFER_AUTH_MFA_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/totp.h"
#include "store/md.h"

/* The TOTP state stored with d. */
struct totp_state mfa_dev_state(const struct md_mfa_device *d);
/* Writes st back as d's state on c: 0 or a store -errno. */
int mfa_dev_save_state(struct md_conn *c, const struct md_mfa_device *d,
                       const struct totp_state *st);
/* Checks code1 and code2, two consecutive codes of d's seed at now_ms,
 * starting from d's state: totp_enable(), or totp_resync() when resync.
 * 0 with the new state in *st (not stored: mfa_dev_save_state()), or
 * -EACCES. */
int mfa_dev_check_codes(const struct md_mfa_device *d, bool resync, int64_t now_ms,
                        uint32_t code1, uint32_t code2, struct totp_state *st);
/* Enables d, assigned to user_id (0 for the account's root); deactivating
 * unassigns it. 0 or a store -errno. */
int mfa_dev_enable(struct md_conn *c, const struct md_mfa_device *d, int64_t user_id,
                   int64_t now_ms);
int mfa_dev_deactivate(struct md_conn *c, const struct md_mfa_device *d, int64_t now_ms);
/* Zeroes the seed md_mfa_get() unsealed into the arena. NULL seed ok. */
void mfa_dev_wipe_seed(struct md_mfa_device *d);

#endif
