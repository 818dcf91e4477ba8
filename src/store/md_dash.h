/* md_dash.h -- the web dashboard's one-time login links and sessions
 * (schema 16, tables dash_logins and dash_sessions; docs/internals/md.md),
 * and the audit reader its data-protection view shows.
 *
 * A token (login link or session id) is MD_DASH_TOKEN_LEN characters of
 * [A-Za-z0-9]: the first MD_DASH_SEL_LEN are its selector, stored in clear
 * as the row's key, the rest its verifier, of which only the SHA-256 is
 * stored. A lookup finds the row by selector and compares the verifier's
 * hash in constant time, so neither the table nor the timing of a refusal
 * tells anything about a valid verifier. Tokens are never logged.
 *
 * Row-level calls on a connection, like md.h's: reads on md_reader(),
 * writes inside an md_write() closure. */
#ifndef COFFER_STORE_MD_DASH_H
#define COFFER_STORE_MD_DASH_H

#include <stddef.h>
#include <stdint.h>

#include "store/md.h"
#include "util/arena.h"
#include "util/str.h"

#define MD_DASH_SEL_LEN 12
#define MD_DASH_TOKEN_LEN 44 /* 12 selector + 32 verifier characters (~190 random bits) */
#define MD_DASH_LOGIN_TTL_MS (300LL * 1000)       /* a login link: 5 minutes, one use */
#define MD_DASH_SESSION_TTL_MS (12LL * 3600 * 1000) /* a session: 12 hours */

/* A token split for storage: the selector and the verifier's SHA-256. */
struct md_dash_key {
    char sel[MD_DASH_SEL_LEN + 1];
    unsigned char hash[32];
};

/* A new random token into out (MD_DASH_TOKEN_LEN + 1 bytes) and its key.
 * 0, or -EIO when the random generator fails. */
int md_dash_token_new(char *out, struct md_dash_key *key);

/* The key of token t: 0, or -EINVAL when t is not a token's shape. */
int md_dash_token_key(struct str t, struct md_dash_key *key);

/* Stores a login link for account_id, valid until expires_ms. Also deletes
 * links and sessions that expired before now_ms. 0, -EEXIST (selector
 * taken: make another), or -errno. In md_write(). */
int md_dash_login_add(struct md_conn *c, const struct md_dash_key *k, int64_t account_id,
                      int64_t now_ms, int64_t expires_ms);

/* Spends a login link and opens a session for its account, in one
 * transaction: the link must exist, match, be unused and unexpired at
 * now_ms; it is then marked used and session s (expiring at
 * session_expires_ms) is stored. 0 with *account_id, -ENOENT (unknown or
 * not matching), -EALREADY (used), -ETIMEDOUT (expired), or -errno. In
 * md_write(). */
int md_dash_login_use(struct md_conn *c, const struct md_dash_key *k, int64_t now_ms,
                      const struct md_dash_key *s, int64_t session_expires_ms,
                      int64_t *account_id);

/* The account of session k if it exists, matches and has not expired at
 * now_ms: 0 with *account_id, -ENOENT, or -errno. Any connection. */
int md_dash_session_get(struct md_conn *c, const struct md_dash_key *k, int64_t now_ms,
                        int64_t *account_id);

/* Ends session k (if it matches): 0, -ENOENT, or -errno. In md_write(). */
int md_dash_session_end(struct md_conn *c, const struct md_dash_key *k);

/* The newest audit entries (newest first, at most limit, among the last
 * MD_DASH_AUDIT_SCAN entries of the log) whose event names MFA ("mfa." or
 * containing "mfa", e.g. bucket.mfa_delete) and which concern the account:
 * its principal is the account's root or one of its users ("account:NAME",
 * "account:NAME/..."), or its bucket is one of the account's. Strings in
 * a. 0 or -errno. */
#define MD_DASH_AUDIT_SCAN 100000
int md_dash_mfa_events(struct md_conn *c, int64_t account_id, struct str account_name,
                       size_t limit, struct arena *a, struct md_audit **out, size_t *n);

#endif
