/* md_ident.c -- identities in the metadata store: accounts, IAM users,
 * access keys (secrets sealed with the master key) and MFA devices (seeds
 * sealed likewise). Rows only: IAM semantics (who may manage what) belong
 * to the callers; the checks here keep the tables consistent. */
#include "common.h"
#include "store/md.h"
#include "crypto/hash.h"
#include "store/md_int.h"
#include "util/buf.h"
#include "util/enc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#define SECRET_MAX 1024

/* ---- accounts ----------------------------------------------------------- */

int
md_account_create(struct md_conn *c, struct str name, int64_t now_ms, int64_t *id)
{
    struct stmt *s = get(c, ST_ACCT_INSERT);
    unsigned char rnd[32];
    char canon[2 * sizeof(rnd) + 1];
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (rand_bytes(rnd, sizeof(rnd)) < 0)
        return -EIO;
    hex_encode(rnd, sizeof(rnd), canon);
    if (bind_str(s, 1, name) | bind_str(s, 2, str_make(canon, 2 * sizeof(rnd))) |
        bind_i64(s, 3, now_ms))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0)
        *id = last_id(c);
    return rc;
}

static void
row_account(struct stmt *s, struct arena *a, struct md_account *out)
{
    out->id = col_i64(s, 0);
    out->name = col_str(s, 1, a, false);
    out->canonical_id = col_str(s, 2, a, false);
    out->created_ms = col_i64(s, 3);
    out->pab = md_pab_from_bits(col_i64(s, 4));
}

static int
account_get(struct md_conn *c, struct stmt *s, struct arena *a, struct md_account *out)
{
    int rc = step(c, s);

    if (rc > 0)
        row_account(s, a, out);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

int
md_account_get(struct md_conn *c, int64_t id, struct arena *a, struct md_account *out)
{
    struct stmt *s = get(c, ST_ACCT_GET);

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, id))
        return bind_fail(c, s);
    return account_get(c, s, a, out);
}

int
md_account_get_by_name(struct md_conn *c, struct str name, struct arena *a, struct md_account *out)
{
    struct stmt *s = get(c, ST_ACCT_GET_NAME);

    if (s == NULL)
        return get_fail(c);
    if (bind_str(s, 1, name))
        return bind_fail(c, s);
    return account_get(c, s, a, out);
}

int
md_account_list(struct md_conn *c, struct arena *a, struct md_account **out, size_t *n)
{
    struct stmt *s = get(c, ST_ACCT_LIST);
    struct md_account *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        row_account(s, a, &arr[(*n)++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_account_delete(struct md_conn *c, int64_t id)
{
    static const enum st children[] = {
        ST_ACCT_DEL_GM,  ST_ACCT_DEL_INL_U, ST_ACCT_DEL_INL_G,  ST_ACCT_DEL_INL_R,
        ST_ACCT_DEL_ATT, ST_ACCT_DEL_PV,    ST_ACCT_DEL_POL,    ST_ACCT_DEL_ROLES,
        ST_ACCT_DEL_GROUPS, ST_ACCT_DEL_KEYS, ST_ACCT_DEL_MFA, ST_ACCT_DEL_USERS};
    int rc = exists(c, ST_ACCT_HAS_BUCKETS, id);

    if (rc != 0)
        return rc > 0 ? -ENOTEMPTY : rc;
    rc = md_policy_gen_bump(c);
    if (rc < 0)
        return rc;
    /* Children first (foreign keys). Audit rows stay: they name principals
     * by text, and the log outlives what it describes. */
    for (size_t i = 0; i < ARRAY_LEN(children); i++) {
        rc = change_i64(c, children[i], id);
        if (rc < 0 && rc != -ENOENT)
            return rc;
    }
    return change_i64(c, ST_ACCT_DELETE, id);
}

/* ---- IAM users ---------------------------------------------------------- */

int
md_user_create(struct md_conn *c, int64_t account_id, struct str name, int64_t now_ms, int64_t *id)
{
    struct stmt *s = get(c, ST_USER_INSERT);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (name.n == 0)
        return -EINVAL;
    if (bind_i64(s, 1, account_id) | bind_str(s, 2, name) | bind_i64(s, 3, now_ms))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0)
        *id = last_id(c);
    return rc;
}

static void
row_user(struct stmt *s, struct arena *a, struct md_user *out)
{
    out->id = col_i64(s, 0);
    out->account_id = col_i64(s, 1);
    out->name = col_str(s, 2, a, false);
    out->created_ms = col_i64(s, 3);
}

static int
user_get(struct md_conn *c, struct stmt *s, struct arena *a, struct md_user *out)
{
    int rc = step(c, s);

    if (rc > 0)
        row_user(s, a, out);
    if (rc >= 0)
        done(s);
    return rc > 0 ? 0 : rc == 0 ? -ENOENT : rc;
}

int
md_user_get(struct md_conn *c, int64_t id, struct arena *a, struct md_user *out)
{
    struct stmt *s = get(c, ST_USER_GET);

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, id))
        return bind_fail(c, s);
    return user_get(c, s, a, out);
}

int
md_user_get_by_name(struct md_conn *c, int64_t account_id, struct str name, struct arena *a,
                    struct md_user *out)
{
    struct stmt *s = get(c, ST_USER_GET_NAME);

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, account_id) | bind_str(s, 2, name))
        return bind_fail(c, s);
    return user_get(c, s, a, out);
}

int
md_user_list(struct md_conn *c, int64_t account_id, struct arena *a, struct md_user **out,
             size_t *n)
{
    struct stmt *s = get(c, ST_USER_LIST);
    struct md_user *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, account_id))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        row_user(s, a, &arr[(*n)++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

/* 1 if user_id is 0 (root) or a user of account_id, 0 if not, -errno. */
static int
principal_exists(struct md_conn *c, int64_t account_id, int64_t user_id)
{
    if (user_id == 0)
        return 1;
    if (user_id < 0)
        return 0;
    return exists2(c, ST_USER_IN_ACCT, user_id, account_id);
}

int
md_user_delete(struct md_conn *c, int64_t id)
{
    struct stmt *s = get(c, ST_USER_GET);
    int64_t account_id;
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, id))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        done(s);
        return -ENOENT;
    }
    account_id = col_i64(s, 1);
    done(s);
    /* AWS: IAM refuses DeleteUser while an MFA device is attached
     * (DeleteConflict); devices are assigned exactly while enabled. */
    rc = exists2(c, ST_USER_HAS_MFA, account_id, id);
    if (rc != 0)
        return rc > 0 ? -ENOTEMPTY : rc;
    rc = change_i64_2(c, ST_USER_DEL_KEYS, account_id, id);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    /* What the user was granted goes with it (no foreign keys name users
     * from inline_policies and policy_attachments). */
    rc = change_i64(c, ST_GM_DEL_USER, id);
    if (rc == 0 || rc == -ENOENT)
        rc = change_i64_2(c, ST_ENT_DEL_INLINE, MD_ENT_USER, id);
    if (rc == 0 || rc == -ENOENT)
        rc = change_i64_2(c, ST_ENT_DEL_ATT, MD_ENT_USER, id);
    if (rc == 0 || rc == -ENOENT)
        rc = md_policy_gen_bump(c);
    if (rc < 0)
        return rc;
    return change_i64(c, ST_USER_DELETE, id);
}

/* ---- access keys -------------------------------------------------------- */

/* 1 if role_id is a role of account_id, 0 if not, -errno. */
static int
role_in_account(struct md_conn *c, int64_t role_id, int64_t account_id)
{
    struct stmt *s = get(c, ST_ENT_ROLE_ACCT);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, role_id))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc > 0)
        rc = col_i64(s, 0) == account_id;
    if (rc >= 0)
        done(s);
    return rc;
}

int
md_key_create(struct md_conn *c, const struct md_key *k)
{
    struct stmt *s = get(c, ST_KEY_INSERT);
    struct buf sealed;
    int rc;

    if (s == NULL)
        return get_fail(c);
    /* A session key must expire and carry its token's hash, and only a
     * session key may: an unexpiring key that looked temporary, or a token
     * s3_auth_verify would never check, is worse than an error. A role
     * session is a session of no user: it must not pass for root or a user. */
    if (k->expires_ms < 0 || k->mfa_auth_ms < 0 || k->role_id < 0 ||
        (k->expires_ms > 0) != (k->session_token_sha256.n > 0) ||
        (k->expires_ms > 0 && k->session_token_sha256.n != 64) ||
        (k->role_id > 0 && (k->expires_ms == 0 || k->user_id != -1 || k->session_name.n == 0)) ||
        (k->role_id == 0 && (k->session_name.p != NULL || k->session_policy.p != NULL ||
                             k->session_policy_arns.p != NULL || k->mfa_inherited)))
        return -EINVAL;
    if (k->role_id > 0)
        rc = role_in_account(c, k->role_id, k->account_id);
    else
        rc = principal_exists(c, k->account_id, k->user_id);
    if (rc == 0)
        return k->role_id == 0 && k->user_id < 0 ? -EINVAL : -ENOENT;
    if (rc < 0)
        return rc;
    /* Expired sessions are dead rows: each new session takes them away, so
     * the table holds about as many sessions as are alive. */
    if (k->expires_ms > 0) {
        struct stmt *p = get(c, ST_KEY_PURGE);
        if (p == NULL)
            return get_fail(c);
        if (bind_i64(p, 1, k->created_ms))
            return bind_fail(c, p);
        rc = exec(c, p);
        if (rc < 0)
            return rc;
    }
    buf_init(&sealed, SECRET_MAX + SEAL_OVERHEAD);
    rc = seal(c->md->master_key, k->secret, &sealed);
    if (rc < 0)
        goto out;
    if (bind_str(s, 1, k->access_key_id) | bind_i64(s, 2, k->account_id) |
        bind_i64(s, 3, k->user_id) | bind_blob(s, 4, buf_str(&sealed)) |
        bind_i64(s, 5, k->created_ms) | bind_i64(s, 6, k->is_active) |
        bind_opt(s, 7, k->session_token_sha256) | bind_i64(s, 8, k->expires_ms) |
        bind_i64(s, 9, k->mfa_auth_ms) | bind_i64(s, 10, k->role_id) |
        bind_opt(s, 11, k->session_name) | bind_opt(s, 12, k->session_policy) |
        bind_opt(s, 13, k->session_policy_arns) | bind_i64(s, 14, k->mfa_inherited)) {
        rc = bind_fail(c, s);
        goto out;
    }
    rc = exec(c, s);
out:
    buf_free(&sealed);
    return rc;
}

static void
row_key(struct stmt *s, struct arena *a, struct md_key *out)
{
    out->access_key_id = col_str(s, 0, a, false);
    out->account_id = col_i64(s, 1);
    out->user_id = col_i64(s, 2);
    out->created_ms = col_i64(s, 3);
    out->is_active = col_int(s, 4) != 0;
    out->session_token_sha256 = col_str(s, 5, a, false);
    out->expires_ms = col_i64(s, 6);
    out->mfa_auth_ms = col_i64(s, 7);
    out->role_id = col_i64(s, 8);
    out->session_name = col_str(s, 9, a, true);
    out->session_policy = col_str(s, 10, a, true);
    out->session_policy_arns = col_str(s, 11, a, true);
    out->mfa_inherited = col_int(s, 12) != 0;
    out->secret = arena_str(a, STR_LIT(""));
}

/* Every authenticated request needs its key's secret, and unsealing it is
 * an AES-GCM decryption, while a key's sealed secret never changes: each
 * thread remembers the last one it unsealed (one entry: bounded). The
 * master key that unseals them all is in memory anyway; the plaintext is
 * wiped when its thread exits (a worker retiring from the elastic pool). */
#define SECRET_MEMO_MAX 256
static _Thread_local struct {
    size_t sealed_n, plain_n;
    unsigned char master[SEAL_KEY_LEN]; /* what unsealed it: tests open others */
    unsigned char sealed[SECRET_MEMO_MAX];
    char plain[SECRET_MEMO_MAX];
} secret_memo;
static pthread_key_t memo_key;
static pthread_once_t memo_once = PTHREAD_ONCE_INIT;
static bool memo_has_key;

static void
memo_wipe(void *memo)
{
    OPENSSL_cleanse(memo, sizeof(secret_memo));
}

static void
memo_key_create(void)
{
    memo_has_key = pthread_key_create(&memo_key, memo_wipe) == 0;
}

/* Remembers plain as the secret sealed in sealed, when a thread-exit wipe
 * can be arranged; otherwise nothing is kept. */
static void
memo_store(const unsigned char *master, struct str sealed, struct str plain)
{
    if (sealed.n > SECRET_MEMO_MAX || plain.n > SECRET_MEMO_MAX)
        return;
    (void)pthread_once(&memo_once, memo_key_create);
    if (!memo_has_key || pthread_setspecific(memo_key, &secret_memo) != 0)
        return;
    memcpy(secret_memo.master, master, SEAL_KEY_LEN);
    memcpy(secret_memo.sealed, sealed.p, sealed.n);
    secret_memo.sealed_n = sealed.n;
    memcpy(secret_memo.plain, plain.p, plain.n);
    secret_memo.plain_n = plain.n;
}

int
md_key_get(struct md_conn *c, struct str access_key_id, struct arena *a, struct md_key *out)
{
    struct stmt *s = get(c, ST_KEY_GET);
    struct buf plain;
    struct str sealed;
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_str(s, 1, access_key_id))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc <= 0) {
        if (rc == 0)
            done(s);
        return rc == 0 ? -ENOENT : rc;
    }
    row_key(s, a, out);
    sealed = col_view(s, 13);
    if (sealed.n > 0 && sealed.n == secret_memo.sealed_n &&
        memcmp(sealed.p, secret_memo.sealed, sealed.n) == 0 &&
        memcmp(c->md->master_key, secret_memo.master, SEAL_KEY_LEN) == 0) {
        out->secret = arena_str(a, str_make(secret_memo.plain, secret_memo.plain_n));
        done(s);
        return 0;
    }
    buf_init(&plain, SECRET_MAX);
    rc = unseal(c->md->master_key, sealed, &plain);
    if (rc == 0)
        memo_store(c->md->master_key, sealed, buf_str(&plain));
    done(s);
    if (rc == 0) {
        out->secret = arena_str(a, buf_str(&plain));
    } else {
        snprintf(c->err, sizeof(c->err), "cannot unseal secret: wrong master.key or tampering");
        rc = -EIO;
    }
    if (plain.p != NULL)
        OPENSSL_cleanse(plain.p, plain.n);
    buf_free(&plain);
    return rc;
}

int
md_key_list(struct md_conn *c, int64_t account_id, struct arena *a, struct md_key **out, size_t *n)
{
    struct stmt *s = get(c, ST_KEY_LIST);
    struct md_key *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, account_id))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        row_key(s, a, &arr[(*n)++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_key_delete(struct md_conn *c, struct str access_key_id)
{
    struct stmt *s = get(c, ST_KEY_DELETE);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_str(s, 1, access_key_id))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0 && changes(c) == 0)
        rc = -ENOENT;
    return rc;
}

/* ---- MFA devices -------------------------------------------------------- */

int
md_mfa_create(struct md_conn *c, struct md_mfa_device *d)
{
    struct stmt *s = get(c, ST_MFA_INSERT);
    struct str path = d->path.n > 0 ? d->path : STR_LIT("/");
    struct buf sealed;
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (d->seed.n > MD_MFA_SEED_MAX)
        return -E2BIG;
    if (d->seed.n == 0 || d->serial.n == 0 || d->is_enabled != (d->user_id >= 0) ||
        d->user_id < -1 || d->owner_id < 0)
        return -EINVAL;
    if (d->user_id >= 0)
        d->owner_id = d->user_id;
    if (d->owner_id > 0) {
        rc = principal_exists(c, d->account_id, d->owner_id);
        if (rc <= 0)
            return rc == 0 ? -ENOENT : rc;
    }
    buf_init(&sealed, MD_MFA_SEED_MAX + SEAL_OVERHEAD);
    rc = seal(c->md->master_key, d->seed, &sealed);
    if (rc < 0)
        goto out;
    if (bind_i64(s, 1, d->account_id) | bind_i64(s, 2, d->user_id) | bind_str(s, 3, d->serial) |
        bind_str(s, 4, d->name) | bind_str(s, 5, path) | bind_i64(s, 6, d->is_virtual) |
        bind_i64(s, 7, d->is_enabled) |
        bind_blob(s, 8, buf_str(&sealed)) |
        bind_i64(s, 9, d->created_ms) | bind_i64(s, 10, d->is_enabled ? d->enabled_ms : 0) |
        bind_i64(s, 11, d->last_step) | bind_i64(s, 12, d->offset_steps) |
        bind_i64(s, 13, d->fail_start_s) | bind_i64(s, 14, d->fail_count) |
        bind_i64(s, 15, d->owner_id)) {
        rc = bind_fail(c, s);
        goto out;
    }
    rc = exec(c, s);
    if (rc == 0)
        d->id = last_id(c);
out:
    buf_free(&sealed);
    return rc;
}

static void
row_mfa(struct stmt *s, struct arena *a, struct md_mfa_device *out)
{
    out->id = col_i64(s, 0);
    out->account_id = col_i64(s, 1);
    out->user_id = col_i64(s, 2);
    out->serial = col_str(s, 3, a, false);
    out->name = col_str(s, 4, a, false);
    out->path = col_str(s, 5, a, false);
    out->is_virtual = col_int(s, 6) != 0;
    out->is_enabled = col_int(s, 7) != 0;
    out->created_ms = col_i64(s, 8);
    out->enabled_ms = col_i64(s, 9);
    out->last_step = col_i64(s, 10);
    out->offset_steps = col_i64(s, 11);
    out->fail_start_s = col_i64(s, 12);
    out->fail_count = col_int(s, 13);
    out->owner_id = col_i64(s, 14);
    out->seed = arena_str(a, STR_LIT(""));
}

int
md_mfa_get(struct md_conn *c, struct str serial, struct arena *a, struct md_mfa_device *out)
{
    struct stmt *s = get(c, ST_MFA_GET);
    struct buf plain;
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_str(s, 1, serial))
        return bind_fail(c, s);
    rc = step(c, s);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        done(s);
        return -ENOENT;
    }
    row_mfa(s, a, out);
    buf_init(&plain, MD_MFA_SEED_MAX);
    rc = unseal(c->md->master_key, col_view(s, 15), &plain);
    done(s);
    if (rc == 0) {
        out->seed = arena_str(a, buf_str(&plain));
    } else {
        snprintf(c->err, sizeof(c->err), "cannot unseal MFA seed: wrong master.key or tampering");
        rc = -EIO;
    }
    if (plain.p != NULL)
        OPENSSL_cleanse(plain.p, plain.n);
    buf_free(&plain);
    return rc;
}

int
md_mfa_list(struct md_conn *c, int64_t account_id, int64_t user_id, struct arena *a,
            struct md_mfa_device **out, size_t *n)
{
    struct stmt *s = get(c, user_id < 0 ? ST_MFA_LIST_ALL : ST_MFA_LIST_OWNER);
    struct md_mfa_device *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, account_id) | (user_id < 0 ? 0 : bind_i64(s, 2, user_id)))
        return bind_fail(c, s);
    while ((rc = step(c, s)) > 0) {
        arr = grow(a, arr, *n, &cap, sizeof(*arr));
        row_mfa(s, a, &arr[(*n)++]);
    }
    if (rc < 0)
        return rc;
    done(s);
    *out = arr;
    return 0;
}

int
md_mfa_set_state(struct md_conn *c, int64_t id, int64_t last_step, int64_t offset_steps,
                 int64_t fail_start_s, int fail_count)
{
    struct stmt *s = get(c, ST_MFA_SET_STATE);
    int rc;

    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, id) | bind_i64(s, 2, last_step) | bind_i64(s, 3, offset_steps) |
        bind_i64(s, 4, fail_start_s) | bind_i64(s, 5, fail_count))
        return bind_fail(c, s);
    rc = exec(c, s);
    if (rc == 0 && changes(c) == 0)
        rc = -ENOENT;
    return rc;
}

int
md_mfa_set_enabled(struct md_conn *c, int64_t id, bool enabled, int64_t user_id, int64_t now_ms)
{
    struct stmt *s;
    int rc;

    /* Disabling always unassigns: assigned and enabled go together (the
     * table's CHECK), so a deactivated device blocks no DeleteUser. */
    if (!enabled)
        return change_i64(c, ST_MFA_DISABLE, id);
    if (user_id < 0)
        return -EINVAL;
    s = get(c, ST_MFA_ENABLE);
    if (s == NULL)
        return get_fail(c);
    if (bind_i64(s, 1, id) | bind_i64(s, 2, user_id) | bind_i64(s, 3, now_ms))
        return bind_fail(c, s);
    /* No row changed: no such device, or user_id is not a user of the
     * device's account. */
    rc = exec(c, s);
    if (rc == 0 && changes(c) == 0)
        rc = -ENOENT;
    return rc;
}

int
md_mfa_delete(struct md_conn *c, int64_t id)
{
    return change_i64(c, ST_MFA_DELETE, id);
}
