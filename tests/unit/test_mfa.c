/* test_mfa.c -- x-amz-mfa enforcement (auth/mfa.c) on a temp data dir with a
 * fake clock: header prechecks in the order of spec-mfa-delete §1.6, who may
 * use which device, wrong/replayed/throttled codes, single use under
 * concurrency, and the audit rows (which must never hold a code).
 * Devices use the RFC 6238 key; at T = 1111111111 (step S + 1) the window is
 * steps S .. S + 2, whose codes are 081804, 050471 and code_at(T + 30). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "auth/mfa.h"
#include "auth/totp.h"
#include "common.h"
#include "store/md.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T 1111111111LL
#define S 37037036LL

static const unsigned char seed[] = "12345678901234567890";

#define SER_ROOT "arn:aws:iam::000000000001:mfa/root-mfa"
#define SER_USER "arn:aws:iam::000000000001:mfa/bob-mfa"
#define SER_OTHER "GAHT12345678"                      /* account B's root, hardware */
#define SER_OFF "arn:aws:iam::000000000001:mfa/spare" /* unassigned, disabled */
#define WRONG "123450"

struct fx {
    char dir[64];
    struct md *md;
    struct arena *a;
    int64_t acct_a, acct_b, user_u;
    int64_t dev_root, dev_user, dev_other, dev_off;
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int
w_setup(struct md_conn *c, void *arg)
{
    struct fx *f = arg;
    struct md_mfa_device d;
    int rc;

    rc = md_account_create(c, STR_LIT("alice"), 1000, &f->acct_a);
    if (rc == 0)
        rc = md_account_create(c, STR_LIT("bert"), 1000, &f->acct_b);
    if (rc == 0)
        rc = md_user_create(c, f->acct_a, STR_LIT("bob"), 1000, &f->user_u);
    if (rc < 0)
        return rc;
    d = (struct md_mfa_device){.account_id = f->acct_a,
                               .user_id = 0,
                               .serial = STR_LIT(SER_ROOT),
                               .name = STR_LIT("root-mfa"),
                               .path = STR_LIT("/"),
                               .is_virtual = true,
                               .is_enabled = true,
                               .seed = str_make((const char *)seed, 20),
                               .created_ms = 1,
                               .enabled_ms = 1};
    rc = md_mfa_create(c, &d);
    f->dev_root = d.id;
    d.user_id = f->user_u;
    d.serial = STR_LIT(SER_USER);
    d.name = STR_LIT("bob-mfa");
    if (rc == 0)
        rc = md_mfa_create(c, &d);
    f->dev_user = d.id;
    d.account_id = f->acct_b;
    d.user_id = 0;
    d.serial = STR_LIT(SER_OTHER);
    d.name = STR_LIT("");
    d.is_virtual = false;
    if (rc == 0)
        rc = md_mfa_create(c, &d);
    f->dev_other = d.id;
    d.account_id = f->acct_a;
    d.user_id = -1;
    d.is_enabled = false;
    d.serial = STR_LIT(SER_OFF);
    d.name = STR_LIT("spare");
    d.is_virtual = true;
    if (rc == 0)
        rc = md_mfa_create(c, &d);
    f->dev_off = d.id;
    return rc;
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-mfa-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(md_open(f->dir, &f->md), 0);
    f->a = arena_new();
    assert_int_equal(md_write(f->md, w_setup, f), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    md_close(f->md);
    arena_free(f->a);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static uint32_t
code_at(int64_t t)
{
    return totp_code(seed, 20, t, TOTP_STEP_S, TOTP_DIGITS);
}

/* The bucket owner's root (account A) deleting a version over TLS. */
static struct mfa_req
req_root(const struct fx *f, const char *header)
{
    return (struct mfa_req){
        .is_tls = true,
        .header = header != NULL ? str_c(header) : STR_NULL,
        .account_id = f->acct_a,
        .user_id = 0,
        .principal = STR_LIT("account:alice"),
        .bucket_owner_id = f->acct_a,
        .bucket = STR_LIT("vault"),
        .key = STR_LIT("k"),
        .version_id = STR_LIT("v1"),
        .action = "DeleteObject",
        .source = "192.0.2.7",
        .now_ms = T * 1000,
    };
}

static struct md_mfa_device
device(struct fx *f, const char *serial)
{
    struct md_mfa_device d;

    assert_int_equal(md_mfa_get(md_reader(f->md), str_c(serial), f->a, &d), 0);
    return d;
}

static struct md_audit *
audit_rows(struct fx *f, size_t *n)
{
    struct md_audit *rows;

    assert_int_equal(md_audit_list(md_reader(f->md), 0, 1000, f->a, &rows, n), 0);
    return rows;
}

static bool
str_contains(struct str s, const char *needle)
{
    return s.p != NULL && memmem(s.p, s.n, needle, strlen(needle)) != NULL;
}

/* The last audit row is a failed check whose detail ends with reason. */
static void
assert_last_failure(struct fx *f, size_t want_rows, const char *reason)
{
    size_t n;
    struct md_audit *rows = audit_rows(f, &n);
    struct md_audit *e;

    assert_int_equal(n, want_rows);
    e = &rows[n - 1];
    assert_true(str_eq_c(e->event, "mfa.check_failed"));
    if (!str_contains(e->detail, reason))
        fail_msg("detail '%.*s' lacks '%s'", STR_FMT(e->detail), reason);
}

#define ERR_MSG(e) ((e).msg != NULL ? (e).msg : "(null)")
#define MSG_SESSION                                                                                \
    "DevPay and Mfa are mutually exclusive authorization methods: x-amz-mfa cannot be used with "  \
    "session (temporary) credentials; sign the request with the bucket owner's long-term root "    \
    "access keys"
#define MSG_NOT_ROOT                                                                               \
    "This operation may only be performed by the bucket owner: MFA delete needs the owner "        \
    "account's root user; sign the request with the root's access keys, not an IAM user's or a "   \
    "role's"

static const char msg_failed[] =
    "MFA authentication failed: the code is invalid, expired or already used";

/* ---- mfa_precheck ------------------------------------------------------- */

static void
test_precheck(void **state)
{
    struct fx *f = *state;
    static const char *malformed[] = {
        "123456",      "SER 12345",  "SER  123456", "SER 123456 x", "",
        " 123456",     "SER ",       "SER 1234567", "SER 12345a",   "SER\t123456",
        "SER 123456 ", "SER-123456", "SER 12 3456",
    };
    static const char *good[] = {
        "20899872 123456",
        "X 000000",
        SER_ROOT " 081804",
        "GAHT12345678 999999",
    };
    char long_serial[300];
    struct mfa_req m;
    struct mfa_err e;

    /* Absent header: nothing to check, even on HTTP with a session token. */
    m = req_root(f, NULL);
    m.is_tls = false;
    m.has_session_token = true;
    assert_int_equal(mfa_precheck(&m, f->a, &e), AUTH_E_OK);

    /* Plain HTTP first, whatever the header says. */
    m = req_root(f, SER_ROOT " 050471");
    m.is_tls = false;
    assert_int_equal(mfa_precheck(&m, f->a, &e), AUTH_E_INVALID_REQUEST);
    assert_string_equal(ERR_MSG(e), "Requests that include x-amz-mfa must use HTTPS");
    m.header = str_c("garbage");
    m.has_session_token = true;
    assert_int_equal(mfa_precheck(&m, f->a, &e), AUTH_E_INVALID_REQUEST);
    assert_string_equal(ERR_MSG(e), "Requests that include x-amz-mfa must use HTTPS");

    for (size_t i = 0; i < ARRAY_LEN(malformed); i++) {
        m = req_root(f, malformed[i]);
        m.user_id = 5; /* format runs before the principal check */
        if (mfa_precheck(&m, f->a, &e) != AUTH_E_INVALID_ARGUMENT)
            fail_msg("'%s' accepted", malformed[i]);
        assert_string_equal(ERR_MSG(e), "Mfa header is invalid -- the header should be "
                                        "formatted as {serialNumber}(space){tokenCode}");
        assert_string_equal(e.arg_name, "x-amz-mfa");
        assert_string_equal(e.arg_value, malformed[i]);
    }
    for (size_t i = 0; i < ARRAY_LEN(good); i++) {
        m = req_root(f, good[i]);
        if (mfa_precheck(&m, f->a, &e) != AUTH_E_OK)
            fail_msg("'%s' refused", good[i]);
        assert_null(e.msg);
    }

    /* Serial length: 1..256. */
    memset(long_serial, 'A', 256);
    memcpy(long_serial + 256, " 123456", 8);
    m = req_root(f, long_serial);
    assert_int_equal(mfa_precheck(&m, f->a, &e), AUTH_E_OK);
    memset(long_serial, 'A', 257);
    memcpy(long_serial + 257, " 123456", 8);
    m = req_root(f, long_serial);
    assert_int_equal(mfa_precheck(&m, f->a, &e), AUTH_E_INVALID_ARGUMENT);

    /* Session credentials: after the format check. */
    m = req_root(f, SER_ROOT " 050471");
    m.has_session_token = true;
    assert_int_equal(mfa_precheck(&m, f->a, &e), AUTH_E_INVALID_REQUEST);
    /* AWS's text, then what to do (issue 16). */
    assert_string_equal(ERR_MSG(e), MSG_SESSION);
    m.header = str_c("050471");
    assert_int_equal(mfa_precheck(&m, f->a, &e), AUTH_E_INVALID_ARGUMENT);

    /* mfa_require and mfa_verify_present run the same prechecks first, and
     * audit each refusal (mfa_precheck alone, above, does not). The
     * header's value, which holds a code, is not recorded. */
    m = req_root(f, "SER 12345");
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_INVALID_ARGUMENT);
    assert_last_failure(f, 1, "DeleteObject: malformed header");
    assert_int_equal(mfa_verify_present(f->md, &m, f->a, &e), AUTH_E_INVALID_ARGUMENT);
    assert_last_failure(f, 2, "malformed header");
    m = req_root(f, SER_ROOT " 050471");
    m.is_tls = false;
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_INVALID_REQUEST);
    assert_last_failure(f, 3, "DeleteObject: over HTTP");
    assert_int_equal(mfa_verify_present(f->md, &m, f->a, &e), AUTH_E_INVALID_REQUEST);
    assert_last_failure(f, 4, "over HTTP");
    m.is_tls = true;
    m.has_session_token = true;
    assert_int_equal(mfa_precheck_audit(f->md, &m, f->a, &e), AUTH_E_INVALID_REQUEST);
    assert_last_failure(f, 5, "DeleteObject: session credentials");
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_INVALID_REQUEST);
    assert_last_failure(f, 6, "session credentials");
    assert_int_equal(mfa_precheck_audit(f->md, &m, f->a, &e), AUTH_E_INVALID_REQUEST);
    {
        size_t n;
        struct md_audit *rows = audit_rows(f, &n);

        for (size_t i = 0; i < n; i++)
            assert_false(str_contains(rows[i].detail, "050471") ||
                         str_contains(rows[i].detail, "12345"));
    }
    /* Nothing consumed by any of that. */
    assert_int_equal(device(f, SER_ROOT).last_step, 0);
    assert_int_equal(device(f, SER_ROOT).fail_count, 0);
}

/* ---- mfa_require ---------------------------------------------------------- */

static void
test_require_principal(void **state)
{
    struct fx *f = *state;
    struct mfa_req m;
    struct mfa_err e;
    size_t n;
    struct md_audit *rows;

    /* Absent header: root and IAM user alike. */
    m = req_root(f, NULL);
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    assert_string_equal(ERR_MSG(e), "Mfa Authentication must be used for this request");
    assert_last_failure(f, 1, "DeleteObject: missing header");
    m.user_id = f->user_u;
    m.principal = STR_LIT("account:alice/user:bob");
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    assert_string_equal(ERR_MSG(e), "Mfa Authentication must be used for this request");
    assert_last_failure(f, 2, "missing header");

    /* IAM user with a valid code on its own device, then the root's. */
    m.header = str_c(SER_USER " 050471");
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    assert_string_equal(ERR_MSG(e), MSG_NOT_ROOT); /* says what is needed (issue 16) */
    assert_last_failure(f, 3, "not bucket owner");
    m.header = str_c(SER_ROOT " 050471");
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    assert_string_equal(ERR_MSG(e), MSG_NOT_ROOT);
    assert_last_failure(f, 4, "not bucket owner");

    /* Another account's root on this bucket. */
    m = req_root(f, SER_OTHER " 050471");
    m.account_id = f->acct_b;
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    assert_string_equal(ERR_MSG(e), "This operation may only be performed by the bucket owner");
    assert_last_failure(f, 5, "not bucket owner");

    /* None of it touched a device: the root's code still works once. */
    assert_int_equal(device(f, SER_USER).last_step, 0);
    assert_int_equal(device(f, SER_OTHER).fail_count, 0);
    m = req_root(f, SER_ROOT " 050471");
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_OK);
    assert_null(e.msg);
    rows = audit_rows(f, &n);
    assert_int_equal(n, 5); /* success writes no row here: the caller audits the action */
    assert_true(str_eq_c(rows[2].principal, "account:alice/user:bob"));
    assert_true(str_eq_c(rows[2].bucket, "vault"));
    assert_true(str_eq_c(rows[2].key, "k"));
    assert_true(str_eq_c(rows[2].version_id, "v1"));
    assert_true(str_eq_c(rows[2].source, "192.0.2.7"));
    assert_int_equal(rows[2].time_ms, T * 1000);
}

static void
test_require_devices(void **state)
{
    struct fx *f = *state;
    struct mfa_req m;
    struct mfa_err e;
    struct md_mfa_device d;
    size_t n;
    struct md_audit *rows;

    /* Unknown serial, another account's device (with its right code), the
     * owner's IAM user's device, a disabled device: one generic answer. */
    static const struct {
        const char *header, *reason;
    } v[] = {
        {"arn:aws:iam::000000000001:mfa/nope 050471", "DeleteObject: unknown device"},
        {SER_OTHER " 050471", "not caller's device (serial " SER_OTHER ")"},
        {SER_USER " 050471", "not caller's device"},
        {SER_OFF " 050471", "device not enabled"},
    };
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        m = req_root(f, v[i].header);
        assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
        assert_string_equal(ERR_MSG(e), msg_failed);
        assert_last_failure(f, i + 1, v[i].reason);
    }
    /* The unknown serial is client text: not copied into the audit log. */
    rows = audit_rows(f, &n);
    assert_false(str_contains(rows[0].detail, "nope"));
    /* Foreign devices' state untouched (no lockout of someone else). */
    d = device(f, SER_OTHER);
    assert_int_equal(d.last_step, 0);
    assert_int_equal(d.fail_count, 0);
    assert_int_equal(device(f, SER_USER).fail_count, 0);

    /* Wrong code: counted on the device. */
    m = req_root(f, SER_ROOT " " WRONG);
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    assert_string_equal(ERR_MSG(e), msg_failed);
    assert_last_failure(f, 5, "DeleteObject: wrong code (serial " SER_ROOT ")");
    d = device(f, SER_ROOT);
    assert_int_equal(d.fail_count, 1);
    assert_int_equal(d.fail_start_s, T);
    assert_int_equal(d.last_step, 0);

    /* Valid code: consumed; the same code again, then an older one. */
    m = req_root(f, SER_ROOT " 050471");
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_OK);
    d = device(f, SER_ROOT);
    assert_int_equal(d.last_step, S + 1);
    assert_int_equal(d.fail_count, 0);
    m.now_ms = (T + 5) * 1000;
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    assert_string_equal(ERR_MSG(e), msg_failed);
    assert_last_failure(f, 6, "replayed code");
    m.header = str_c(SER_ROOT " 081804");
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    assert_last_failure(f, 7, "replayed code");
    assert_int_equal(device(f, SER_ROOT).last_step, S + 1);
    /* The next step's code still passes (no lockout). */
    m = req_root(f, NULL);
    m.header = str_c(arena_printf(f->a, "%s %06u", SER_ROOT, (unsigned)code_at(T + 30)));
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_OK);
    assert_int_equal(device(f, SER_ROOT).last_step, S + 2);
}

static void
test_require_throttle(void **state)
{
    struct fx *f = *state;
    struct mfa_req m = req_root(f, SER_ROOT " " WRONG);
    struct mfa_err e;

    assert_true(strtoul(WRONG, NULL, 10) != 81804 && strtoul(WRONG, NULL, 10) != 50471 &&
                strtoul(WRONG, NULL, 10) != code_at(T + 30));
    for (int i = 0; i < TOTP_MAX_FAILS; i++) {
        m.now_ms = (T + i) * 1000;
        assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
        assert_string_equal(ERR_MSG(e), msg_failed);
    }
    /* Right code refused while throttled; the message says how long. */
    m.header = str_c(SER_ROOT " 050471");
    m.now_ms = (T + 8) * 1000;
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    assert_string_equal(ERR_MSG(e), "Too many failed MFA attempts; retry in 22 seconds");
    assert_last_failure(f, 6, "throttled");
    /* verify_present is throttled the same way (same device). */
    assert_int_equal(mfa_verify_present(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    assert_string_equal(ERR_MSG(e), "Too many failed MFA attempts; retry in 22 seconds");
    m.now_ms = (T + 29) * 1000;
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    assert_string_equal(ERR_MSG(e), "Too many failed MFA attempts; retry in 1 seconds");
    assert_int_equal(device(f, SER_ROOT).last_step, 0);
    /* Window over: accepted (050471 is one step late at T + 30). */
    m.now_ms = (T + 30) * 1000;
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_OK);
    assert_int_equal(device(f, SER_ROOT).fail_count, 0);
}

/* ---- mfa_verify_present ----------------------------------------------------- */

static void
test_verify_present(void **state)
{
    struct fx *f = *state;
    struct mfa_req m;
    struct mfa_err e;
    size_t n;

    /* Absent: nothing to do, nothing audited. */
    m = req_root(f, NULL);
    m.user_id = f->user_u;
    assert_int_equal(mfa_verify_present(f->md, &m, f->a, &e), AUTH_E_OK);
    audit_rows(f, &n);
    assert_int_equal(n, 0);

    /* IAM user with its own device: accepted and consumed. */
    m.header = str_c(SER_USER " 050471");
    assert_int_equal(mfa_verify_present(f->md, &m, f->a, &e), AUTH_E_OK);
    assert_int_equal(device(f, SER_USER).last_step, S + 1);
    assert_int_equal(mfa_verify_present(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    assert_string_equal(ERR_MSG(e), msg_failed);
    assert_last_failure(f, 1, "replayed code");

    /* IAM user with the bucket owner's root device: refused, and neither
     * its right code nor wrong ones touch that device (no lock-out of the
     * owner by its users). */
    m.header = str_c(SER_ROOT " 081804");
    assert_int_equal(mfa_verify_present(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    assert_last_failure(f, 2, "not caller's device");
    m.header = str_c(SER_ROOT " " WRONG);
    for (int i = 0; i < TOTP_MAX_FAILS + 1; i++)
        assert_int_equal(mfa_verify_present(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    assert_string_equal(ERR_MSG(e), msg_failed);
    assert_int_equal(device(f, SER_ROOT).last_step, 0);
    assert_int_equal(device(f, SER_ROOT).fail_count, 0);
    {
        struct mfa_req r = req_root(f, SER_ROOT " 050471");
        assert_int_equal(mfa_require(f->md, &r, f->a, &e), AUTH_E_OK);
    }
    assert_int_equal(device(f, SER_ROOT).last_step, S + 1);

    /* IAM user with another account's device: refused, that device untouched. */
    m.header = str_c(SER_OTHER " 050471");
    assert_int_equal(mfa_verify_present(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    assert_string_equal(ERR_MSG(e), msg_failed);
    assert_last_failure(f, 9, "not caller's device");
    assert_int_equal(device(f, SER_OTHER).last_step, 0);

    /* Account B's root on A's bucket with its own device: accepted. */
    m = req_root(f, SER_OTHER " 050471");
    m.account_id = f->acct_b;
    assert_int_equal(mfa_verify_present(f->md, &m, f->a, &e), AUTH_E_OK);
    assert_int_equal(device(f, SER_OTHER).last_step, S + 1);

    /* The root of A with its IAM user's device: not the caller's. */
    m = req_root(f, SER_USER " " WRONG);
    assert_int_equal(mfa_verify_present(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    assert_last_failure(f, 10, "not caller's device");

    /* Wrong code and unknown serial. */
    m = req_root(f, SER_ROOT " " WRONG);
    assert_int_equal(mfa_verify_present(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    assert_last_failure(f, 11, "wrong code");
    m.header = str_c("NOSUCH 050471");
    assert_int_equal(mfa_verify_present(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    assert_last_failure(f, 12, "unknown device");
    m.header = str_c(SER_OFF " 050471");
    assert_int_equal(mfa_verify_present(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    assert_last_failure(f, 13, "device not enabled");
}

/* ---- single use under concurrency -------------------------------------------- */

struct racer {
    struct fx *f;
    pthread_barrier_t *go;
    enum auth_err err;
};

static void *
race(void *arg)
{
    struct racer *r = arg;
    struct arena *a = arena_new();
    struct mfa_req m = req_root(r->f, SER_ROOT " 050471");
    struct mfa_err e;

    pthread_barrier_wait(r->go);
    r->err = mfa_require(r->f->md, &m, a, &e);
    arena_free(a);
    return NULL;
}

static void
test_concurrent_single_use(void **state)
{
    struct fx *f = *state;
    enum { N = 6 }; /* one success, then TOTP_MAX_FAILS replays: none throttled */
    struct racer r[N];
    pthread_t th[N];
    pthread_barrier_t go;
    int ok = 0;

    pthread_barrier_init(&go, NULL, N);
    for (int i = 0; i < N; i++) {
        r[i] = (struct racer){f, &go, AUTH_E_INTERNAL};
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < N; i++) {
        assert_true(r[i].err == AUTH_E_OK || r[i].err == AUTH_E_ACCESS_DENIED);
        ok += r[i].err == AUTH_E_OK;
    }
    assert_int_equal(ok, 1);
    assert_int_equal(device(f, SER_ROOT).last_step, S + 1);
    assert_last_failure(f, N - 1, "replayed code");
}

/* ---- audit ------------------------------------------------------------------ */

static void
test_audit(void **state)
{
    struct fx *f = *state;
    static const char *codes[] = {"081804", "050471", WRONG};
    struct mfa_req m = req_root(f, NULL);
    struct mfa_err e;
    struct md_audit *rows;
    size_t n;

    m.action = "PutBucketVersioning";
    m.key = STR_NULL;
    m.version_id = STR_NULL;
    mfa_audit(f->md, &m, "bucket.versioning", "Status Enabled, MfaDelete Enabled");
    rows = audit_rows(f, &n);
    assert_int_equal(n, 1);
    assert_true(str_eq_c(rows[0].event, "bucket.versioning"));
    assert_true(str_eq_c(rows[0].detail, "Status Enabled, MfaDelete Enabled"));
    assert_true(str_eq_c(rows[0].principal, "account:alice"));
    assert_true(str_eq_c(rows[0].bucket, "vault"));
    assert_null(rows[0].key.p);
    assert_null(rows[0].version_id.p);
    assert_int_equal(rows[0].time_ms, T * 1000);

    /* Every failure kind, then look for the codes anywhere in the table.
     * The first is recorded to the millisecond (whole seconds disagreed
     * with the order of ids). */
    m.header = str_c(SER_ROOT " " WRONG);
    m.now_ms = T * 1000 + 417;
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    rows = audit_rows(f, &n);
    assert_int_equal(rows[n - 1].time_ms, T * 1000 + 417);
    m.now_ms = T * 1000;
    m.header = str_c(SER_ROOT " 081804");
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_OK);
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    m.header = str_c("654321 050471");
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    m.header = str_c(SER_OTHER " 050471");
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    m.header = str_c(SER_USER " 050471");
    assert_int_equal(mfa_verify_present(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    m.user_id = f->user_u;
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    for (int i = 0; i < TOTP_MAX_FAILS; i++) {
        m = req_root(f, SER_ROOT " " WRONG);
        assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);
    }
    m.header = str_c(SER_ROOT " 050471");
    assert_int_equal(mfa_require(f->md, &m, f->a, &e), AUTH_E_ACCESS_DENIED);

    rows = audit_rows(f, &n);
    assert_int_equal(n, 1 + 1 + 1 + 1 + 1 + 1 + 1 + TOTP_MAX_FAILS + 1);
    assert_last_failure(f, n, "throttled");
    for (size_t i = 0; i < n; i++) {
        const struct str fields[] = {rows[i].event, rows[i].principal,  rows[i].bucket,
                                     rows[i].key,   rows[i].version_id, rows[i].source,
                                     rows[i].detail};
        for (size_t j = 0; j < ARRAY_LEN(fields); j++) {
            for (size_t k = 0; k < ARRAY_LEN(codes); k++) {
                if (str_contains(fields[j], codes[k]))
                    fail_msg("code %s in audit row %zu: %.*s", codes[k], i, STR_FMT(fields[j]));
            }
            if (str_contains(fields[j], "654321"))
                fail_msg("client serial in audit row %zu", i);
            if (str_contains(fields[j], "12345678901234567890"))
                fail_msg("seed in audit row %zu", i);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_precheck, setup, teardown),
        cmocka_unit_test_setup_teardown(test_require_principal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_require_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_require_throttle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_present, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_single_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
