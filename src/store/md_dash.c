/* md_dash.c -- the dashboard's login links and sessions (md_dash.h): split
 * tokens (selector in clear, SHA-256 of the verifier), checked in constant
 * time; and the recent MFA audit entries of one account. What a page shows
 * is s3/s3_dash_page.c's; who may see it, s3/s3_dash.c's. */
#include "common.h"
#include "store/md_dash.h"
#include "crypto/hash.h"
#include "store/md_int.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

int
md_dash_token_new(char *out, struct md_dash_key *key)
{
    int rc = rand_chars(out, MD_DASH_TOKEN_LEN, alphabet);

    if (rc < 0)
        return rc;
    return md_dash_token_key(str_make(out, MD_DASH_TOKEN_LEN), key);
}

int
md_dash_token_key(struct str t, struct md_dash_key *key)
{
    if (t.p == NULL || t.n != MD_DASH_TOKEN_LEN)
        return -EINVAL;
    for (size_t i = 0; i < t.n; i++) {
        if (strchr(alphabet, t.p[i]) == NULL || t.p[i] == '\0')
            return -EINVAL;
    }
    memcpy(key->sel, t.p, MD_DASH_SEL_LEN);
    key->sel[MD_DASH_SEL_LEN] = '\0';
    sha256(t.p + MD_DASH_SEL_LEN, MD_DASH_TOKEN_LEN - MD_DASH_SEL_LEN, key->hash);
    return 0;
}

/* The stored hash in column i equals k's, compared in constant time. */
static bool
hash_ok(struct stmt *s, int i, const struct md_dash_key *k)
{
    struct str h = col_view(s, i);

    return h.n == sizeof(k->hash) && CRYPTO_memcmp(h.p, k->hash, sizeof(k->hash)) == 0;
}

static int
add(struct md_conn *c, enum st id, const struct md_dash_key *k, int64_t account_id,
    int64_t now_ms, int64_t expires_ms)
{
    struct stmt *s = get(c, id);

    if (s == NULL)
        return get_fail(c);
    if (bind_str(s, 1, str_c(k->sel)) | bind_blob(s, 2, str_make((const char *)k->hash, 32)) |
        bind_i64(s, 3, account_id) | bind_i64(s, 4, now_ms) | bind_i64(s, 5, expires_ms))
        return bind_fail(c, s);
    /* A selector is 71 random bits: a collision is -EEXIST. */
    return exec(c, s);
}

static int
prune(struct md_conn *c, int64_t now_ms)
{
    struct stmt *s = get(c, ST_DASH_LOGIN_PRUNE);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, now_ms))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc < 0)
        return rc;
    s = get(c, ST_DASH_SESS_PRUNE);
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, now_ms))
        return bind_fail(c, s);
    return exec(c, s);
}

int
md_dash_login_add(struct md_conn *c, const struct md_dash_key *k, int64_t account_id,
                  int64_t now_ms, int64_t expires_ms)
{
    int rc = prune(c, now_ms);

    if (rc < 0)
        return rc;
    return add(c, ST_DASH_LOGIN_ADD, k, account_id, now_ms, expires_ms);
}

int
md_dash_login_use(struct md_conn *c, const struct md_dash_key *k, int64_t now_ms,
                  const struct md_dash_key *sk, int64_t session_expires_ms, int64_t *account_id)
{
    struct stmt *s = get(c, ST_DASH_LOGIN_GET);
    int64_t acct = 0, expires = 0;
    bool used = false, match = false;
    int rc;

    *account_id = 0;
    if (s == NULL)
        return get_fail(c);
    if (bind_str(s, 1, str_c(k->sel)))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0) {
        match = hash_ok(s, 0, k);
        acct = col_i64(s, 1);
        expires = col_i64(s, 2);
        used = !col_null(s, 3);
    }
    if (rc < 0)
        return rc;
    done(s);
    if (rc == 0 || !match)
        return -ENOENT;
    if (used)
        return -EALREADY;
    if (now_ms >= expires)
        return -ETIMEDOUT;
    s = get(c, ST_DASH_LOGIN_USE);
    if (s == NULL)
        return get_fail(c);
    if (bind_str(s, 1, str_c(k->sel)) | bind_i64(s, 2, now_ms))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc < 0)
        return rc;
    if (changes(c) != 1)
        return -EALREADY;
    rc = add(c, ST_DASH_SESS_ADD, sk, acct, now_ms, session_expires_ms);
    if (rc < 0)
        return rc;
    *account_id = acct;
    return 0;
}

int
md_dash_session_get(struct md_conn *c, const struct md_dash_key *k, int64_t now_ms,
                    int64_t *account_id)
{
    struct stmt *s = get(c, ST_DASH_SESS_GET);
    bool ok = false;
    int rc;

    *account_id = 0;
    if (s == NULL)
        return get_fail(c);
    if (bind_str(s, 1, str_c(k->sel)))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0 && hash_ok(s, 0, k) && now_ms < col_i64(s, 2)) {
        ok = true;
        *account_id = col_i64(s, 1);
    }
    if (rc < 0)
        return rc;
    done(s);
    return ok ? 0 : -ENOENT;
}

int
md_dash_session_end(struct md_conn *c, const struct md_dash_key *k)
{
    struct stmt *s = get(c, ST_DASH_SESS_GET);
    bool match = false;
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_str(s, 1, str_c(k->sel)))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0)
        match = hash_ok(s, 0, k);
    if (rc < 0)
        return rc;
    done(s);
    if (!match)
        return -ENOENT;
    s = get(c, ST_DASH_SESS_END);
    if (s == NULL)
        return get_fail(c);
    if (bind_str(s, 1, str_c(k->sel)))
        return bind_fail(c, s);
    return exec(c, s);
}

int
md_dash_mfa_events(struct md_conn *c, int64_t account_id, struct str account_name, size_t limit,
                   struct arena *a, struct md_audit **out, size_t *n)
{
    struct stmt *s = get(c, ST_DASH_MFA_EVENTS);
    const char *label = arena_printf(a, "account:%.*s", (int)account_name.n, account_name.p);

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (limit == 0)
        return 0;
    if (bind_i64(s, 1, account_id) | bind_str(s, 2, str_c(label)) |
        bind_i64(s, 3, limit_i64(limit)) | bind_i64(s, 4, MD_DASH_AUDIT_SCAN))
        return bind_fail(c, s);
    return md_audit_rows(c, s, a, out, n);
}
