/* adm_mfa.c -- `coffer mfa ...` (virtual and hardware TOTP devices of
 * roots and IAM users) and `coffer audit`. Devices are created and enabled
 * in one md_write closure together with their audit row, so a device is
 * either stored enabled and audited or not stored at all; the server sees
 * it on its next request. Seeds leave this file only sealed (md_mfa_create)
 * or inside the otpauth:// URI printed at enrolment; codes never do. */
#include "common.h"

#include "admin/adm.h"
#include "auth/mfa_dev.h"
#include "auth/qr.h"
#include "auth/totp.h"
#include "crypto/hash.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/enc.h"
#include "util/tm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#define SEED_RANDOM_BYTES 20 /* 160 bits, RFC 4226's recommendation, as AWS does */
#define SEED_MIN 16          /* RFC 4226 R6: at least 128 bits */
#define SEED_MAX MD_MFA_SEED_MAX
#define SEED_B32_MAX 128    /* characters of --seed-base32 (SEED_MAX bytes plus spacing) */
#define DEVICE_NAME_MAX 226 /* IAM VirtualMFADeviceName; the serial stays <= 256 */
#define SERIAL_MAX 256      /* IAM SerialNumber */
#define DEVICES_MAX 8       /* per principal, as IAM */
#define CODE_LINE_MAX 64
#define AUDIT_PAGE 512
#define AUDIT_POLL_MS 500 /* coffer audit --follow */
#define URI_MAX QR_MAX_TEXT
#define QR_TERM_MAX (1024 * 1024)

/* Why a closure failed, beside its errno. */
enum why { WHY_NONE, WHY_USER_GONE, WHY_LIMIT, WHY_CODES, WHY_EXISTS, WHY_STATE };

/* ---- small helpers ------------------------------------------------------ */

/* IAM's serial characters [\w+=/:,.@-], 1..SERIAL_MAX. */
static bool
serial_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > SERIAL_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr("_+=/:,.@-", c) != NULL))
            return false;
    }
    return true;
}

/* A code from the command line: six digits. */
static int
code_arg(const char *s, const char *what, uint32_t *code)
{
    if (totp_parse_code(s, strlen(s), code) < 0)
        return adm_fail("%s must be the 6 digits the device shows", what);
    return 0;
}

/* Reads one code from stdin, prompting on stderr when stdin is a terminal.
 * Spaces are dropped ("123 456" as apps show it). */
static int
read_code(const char *prompt, bool tty, uint32_t *code)
{
    char line[CODE_LINE_MAX], digits[CODE_LINE_MAX];
    size_t n = 0;
    int rc;

    if (tty) {
        fputs(prompt, stderr);
        fflush(stderr);
    }
    if (fgets(line, sizeof(line), stdin) == NULL)
        return adm_fail("no code given (expected two codes, one per line, on stdin)");
    for (char *p = line; *p != '\0'; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            digits[n++] = *p;
    }
    rc = totp_parse_code(digits, n, code);
    OPENSSL_cleanse(line, sizeof(line));
    OPENSSL_cleanse(digits, sizeof(digits));
    if (rc < 0)
        return adm_fail("a code is the 6 digits the device shows");
    return 0;
}

/* Decodes --seed-base32 into seed; the length in *n. "@FILE" reads the
 * base32 text from FILE (a command line is visible to every local user). */
static int
seed_arg(const char *arg, unsigned char seed[SEED_MAX], size_t *n)
{
    char text[SEED_B32_MAX + 2];
    size_t len;
    FILE *fp;
    int rc;

    if (arg[0] == '@') {
        fp = fopen(arg + 1, "r");
        if (fp == NULL)
            return adm_fail("--seed-base32: %s: %s", arg + 1, strerror(errno));
        len = fread(text, 1, sizeof(text) - 1, fp);
        fclose(fp);
    } else {
        len = strlen(arg);
        if (len < sizeof(text))
            memcpy(text, arg, len);
    }
    while (len > 0 && len < sizeof(text) && strchr("\r\n\t ", text[len - 1]) != NULL)
        len--;
    if (len > SEED_B32_MAX) {
        rc = adm_fail("--seed-base32: too long (at most %d bytes of seed)", SEED_MAX);
        goto out;
    }
    rc = b32_decode(str_make(text, len), seed, SEED_MAX);
    if (rc < 0) {
        rc = adm_fail("--seed-base32: not base32 (A-Z 2-7) or longer than %d bytes", SEED_MAX);
        goto out;
    }
    if (rc < SEED_MIN) {
        rc = adm_fail("--seed-base32: %d bytes; a TOTP seed needs at least %d (128 bits)", rc,
                      SEED_MIN);
        goto out;
    }
    *n = (size_t)rc;
    rc = 0;
out:
    OPENSSL_cleanse(text, sizeof(text));
    return rc;
}

/* The audit label of a stored device's owner, read inside a closure;
 * "account:#ID" if the names are gone. */
static const char *
owner_label(struct md_conn *c, struct arena *a, const struct md_mfa_device *d, int64_t user_id)
{
    struct md_account acct;
    struct md_user u;

    if (md_account_get(c, d->account_id, a, &acct) < 0)
        return arena_printf(a, "account:#%012lld", (long long)d->account_id);
    if (user_id <= 0)
        return adm_label(a, acct.name, STR_NULL);
    if (md_user_get(c, user_id, a, &u) < 0)
        return arena_printf(a, "account:%.*s/user:#%lld", STR_FMT(acct.name), (long long)user_id);
    return adm_label(a, acct.name, u.name);
}

static int
audit(struct md_conn *c, int64_t now_ms, const char *event, const char *principal,
      const char *detail)
{
    return md_audit_add(c, now_ms, event, str_c(principal), STR_LIT("cli"), detail);
}

struct audit_job {
    const char *event, *principal, *detail;
};

static int
audit_run(struct md_conn *c, void *arg)
{
    struct audit_job *j = arg;

    return audit(c, tm_now_ms(), j->event, j->principal, j->detail);
}

/* An audit row on its own, for failures whose closure was rolled back. A
 * failure to write it is reported but does not change the exit status. */
static void
audit_alone(struct adm_cli *cli, const char *event, const char *principal, const char *detail)
{
    struct audit_job j = {event, principal, detail};
    int rc = md_write(cli->md, audit_run, &j);

    if (rc < 0)
        fprintf(stderr, "coffer: writing the audit log: %s\n", strerror(-rc));
}

/* ---- creating devices --------------------------------------------------- */

struct add_job {
    struct md_mfa_device d; /* serial, name, path, is_virtual, account_id, seed */
    int64_t user_id;        /* the principal it is enabled for: 0 root */
    bool verify;            /* check code1, code2 (else enable unverified) */
    uint32_t code1, code2;
    const char *label, *detail; /* audit */
    struct arena *a;
    enum why why;
    int64_t next_code_s; /* out: seconds until a usable code shows (verified codes) */
};

/* Creates, checks, enables and audits a device: all or nothing. */
static int
add_run(struct md_conn *c, void *arg)
{
    struct add_job *j = arg;
    struct md_mfa_device *list;
    struct totp_state st = {0};
    int64_t now_ms = tm_now_ms();
    struct md_user u;
    size_t n;
    int rc;

    /* The user may have been deleted since the lookup before the prompt. */
    if (j->user_id > 0) {
        rc = md_user_get(c, j->user_id, j->a, &u);
        if (rc == -ENOENT)
            j->why = WHY_USER_GONE;
        if (rc < 0)
            return rc;
    }
    rc = md_mfa_list(c, j->d.account_id, j->user_id, j->a, &list, &n);
    if (rc < 0)
        return rc;
    if (n >= DEVICES_MAX) {
        j->why = WHY_LIMIT;
        return -EDQUOT;
    }
    if (j->verify) {
        rc = mfa_dev_check_codes(&j->d, false, now_ms, j->code1, j->code2, &st);
        if (rc < 0) {
            j->why = WHY_CODES;
            return -EACCES;
        }
    }
    j->d.user_id = -1;
    j->d.is_enabled = false;
    j->d.created_ms = now_ms;
    rc = md_mfa_create(c, &j->d);
    if (rc == -EEXIST)
        j->why = WHY_EXISTS;
    if (rc < 0)
        return rc;
    rc = mfa_dev_enable(c, &j->d, j->user_id, now_ms);
    if (rc < 0)
        return rc;
    rc = mfa_dev_save_state(c, &j->d, &st);
    if (rc < 0)
        return rc;
    j->next_code_s = totp_next_code_s(&st, now_ms / 1000);
    return audit(c, now_ms, "mfa.enrolled", j->label, j->detail);
}

/* Checks before the prompt, so an operator does not scan a QR code for a
 * device that cannot be stored. add_run checks again. */
static int
precheck(struct adm_cli *cli, const struct adm_principal *p, const char *serial)
{
    struct md_conn *c = md_reader(cli->md);
    struct md_mfa_device d, *list;
    size_t n;
    int rc;

    rc = md_mfa_get(c, str_c(serial), cli->a, &d);
    if (rc == 0 && d.is_enabled)
        return adm_fail("an MFA device with serial %s already exists", serial);
    if (rc == 0)
        return adm_fail("an unassigned MFA device with serial %s exists; remove it with "
                        "'coffer mfa delete --serial %s' or choose another name",
                        serial, serial);
    if (rc != -ENOENT)
        return adm_internal("reading MFA devices", rc);
    rc = md_mfa_list(c, p->account.id, p->user_id, cli->a, &list, &n);
    if (rc < 0)
        return adm_internal("listing MFA devices", rc);
    if (n >= DEVICES_MAX)
        return adm_fail("%s already has %d MFA devices (the limit)", p->label, DEVICES_MAX);
    return 0;
}

/* Runs add_run and turns its failures into messages. */
static int
add_device(struct adm_cli *cli, struct add_job *j, const struct adm_principal *p)
{
    int rc = md_write(cli->md, add_run, j);

    switch (rc == 0 ? WHY_NONE : j->why) {
    case WHY_NONE:
        break;
    case WHY_USER_GONE:
        return adm_fail("user '%.*s' was deleted meanwhile; nothing was stored",
                        STR_FMT(p->user_name));
    case WHY_LIMIT:
        return adm_fail("%s already has %d MFA devices (the limit)", p->label, DEVICES_MAX);
    case WHY_EXISTS:
        return adm_fail("an MFA device with serial %.*s was created meanwhile; nothing was stored",
                        STR_FMT(j->d.serial));
    case WHY_CODES:
        audit_alone(cli, "mfa.enroll_failed", j->label,
                    arena_printf(cli->a,
                                 "serial %.*s: the two codes were not consecutive valid "
                                 "codes; nothing stored",
                                 STR_FMT(j->d.serial)));
        return adm_fail("the two codes are not consecutive codes of this device (is its clock "
                        "right?); nothing was stored: run 'coffer mfa %s' again",
                        j->d.is_virtual ? "enroll" : "add-hardware");
    case WHY_STATE:
        break;
    }
    if (rc < 0)
        return adm_internal("storing the MFA device", rc);
    return 0;
}

int
adm_mfa_enroll(struct adm_cli *cli)
{
    const char *name = cli->args[0];
    unsigned char seed[SEED_MAX];
    char b32[(SEED_MAX * 8 + 4) / 5 + 1];
    struct add_job j = {0};
    struct adm_principal p;
    struct buf uri, qr;
    size_t seed_n = SEED_RANDOM_BYTES;
    const char *serial;
    bool tty = isatty(STDIN_FILENO);
    int ret;

    buf_init(&uri, URI_MAX);
    buf_init(&qr, QR_TERM_MAX);
    if (!adm_iam_name_ok(name, DEVICE_NAME_MAX)) {
        ret = adm_fail("invalid device name '%s': use 1-%d characters of A-Z a-z 0-9 _ + = , . @ -",
                       name, DEVICE_NAME_MAX);
        goto out;
    }
    ret = adm_principal_get(cli, cli->account, cli->user, &p);
    if (ret != 0)
        goto out;
    serial = arena_printf(cli->a, "arn:aws:iam::%012lld:mfa/%s", (long long)p.account.id, name);
    ret = precheck(cli, &p, serial);
    if (ret != 0)
        goto out;
    if (cli->seed_b32 != NULL) {
        ret = seed_arg(cli->seed_b32, seed, &seed_n);
        if (ret != 0)
            goto out;
    } else if (rand_bytes(seed, seed_n) < 0) {
        ret = adm_internal("RAND_bytes", -EIO);
        goto out;
    }
    b32_encode(seed, seed_n, b32);
    /* The label is NAME@ACCOUNTNAME, the account's name whoever the device
     * is for: names are unique per account, and the app shows which one. */
    if (qr_otpauth_uri(str_c(name), p.account.name, str_c(b32), &uri) < 0) {
        ret = adm_internal("building the otpauth URI", -E2BIG);
        goto out;
    }
    printf("Virtual MFA device for %s\n"
           "serial: %s\n"
           "Add it to an authenticator app with this URI (it holds the secret seed):\n"
           "%s\n",
           p.label, serial, uri.p);
    if (!cli->no_qr) {
        fputs("or scan this QR code:\n", stdout);
        if (qr_terminal(buf_str(&uri), cli->invert, &qr) == 0)
            fwrite(qr.p, 1, qr.n, stdout);
        else
            fputs("(the QR code could not be drawn; use the URI)\n", stdout);
    }
    fflush(stdout);
    if (tty)
        fputs("Enter two consecutive codes from the app (wait for the code to change "
              "between them).\n",
              stderr);
    ret = read_code("Code 1: ", tty, &j.code1);
    if (ret == 0)
        ret = read_code("Code 2: ", tty, &j.code2);
    if (ret != 0) {
        fputs("coffer: nothing was stored\n", stderr);
        goto out;
    }

    j.d.account_id = p.account.id;
    j.d.serial = str_c(serial);
    j.d.name = str_c(name);
    j.d.path = STR_LIT("/");
    j.d.is_virtual = true;
    j.d.seed = str_make((const char *)seed, seed_n);
    j.user_id = p.user_id;
    j.verify = true;
    j.label = p.label;
    j.detail = arena_printf(cli->a, "serial %s: virtual device enabled, codes verified", serial);
    j.a = cli->a;
    ret = add_device(cli, &j, &p);
    if (ret != 0)
        goto out;
    printf("MFA device %s enabled for %s\n", serial, p.label);
    /* Both codes are burned (a replay or an older code is refused), so the
     * first x-amz-mfa must carry a later one. */
    if (j.next_code_s > 0)
        printf("The two codes just entered are used up: the next code works, the one the app "
               "shows in %lld s.\n",
               (long long)j.next_code_s);
    else
        printf("The two codes just entered are used up: the code the app shows now works.\n");
out:
    OPENSSL_cleanse(seed, sizeof(seed));
    OPENSSL_cleanse(b32, sizeof(b32));
    if (uri.p != NULL)
        OPENSSL_cleanse(uri.p, uri.cap);
    buf_free(&uri);
    if (qr.p != NULL)
        OPENSSL_cleanse(qr.p, qr.cap);
    buf_free(&qr);
    OPENSSL_cleanse(&j, sizeof(j));
    return ret;
}

int
adm_mfa_add_hardware(struct adm_cli *cli)
{
    unsigned char seed[SEED_MAX];
    struct add_job j = {0};
    struct adm_principal p;
    size_t seed_n;
    int ret;

    if ((cli->code1 == NULL) != (cli->code2 == NULL))
        return adm_fail("give both --code1 and --code2, or neither");
    if (!serial_ok(cli->serial))
        return adm_fail("invalid serial '%s': use 1-%d characters of A-Z a-z 0-9 _ + = / : , . @ -",
                        cli->serial, SERIAL_MAX);
    /* Virtual devices own the ARN namespace; a hardware serial there could
     * collide with a later virtual device's. */
    if (strncmp(cli->serial, "arn:", 4) == 0)
        return adm_fail("a hardware serial cannot start with 'arn:' (that is a virtual device's)");
    if (cli->code1 != NULL) {
        ret = code_arg(cli->code1, "--code1", &j.code1);
        if (ret == 0)
            ret = code_arg(cli->code2, "--code2", &j.code2);
        if (ret != 0)
            return ret;
        j.verify = true;
    }
    ret = adm_principal_get(cli, cli->account, cli->user, &p);
    if (ret != 0)
        return ret;
    ret = precheck(cli, &p, cli->serial);
    if (ret != 0)
        return ret;
    ret = seed_arg(cli->seed_b32, seed, &seed_n);
    if (ret != 0)
        goto out;

    j.d.account_id = p.account.id;
    j.d.serial = str_c(cli->serial);
    j.d.name = STR_LIT("");
    j.d.path = STR_LIT("/");
    j.d.is_virtual = false;
    j.d.seed = str_make((const char *)seed, seed_n);
    j.user_id = p.user_id;
    j.label = p.label;
    j.detail = arena_printf(cli->a, "serial %s: hardware token enabled, %s", cli->serial,
                            j.verify ? "codes verified" : "not verified (seed from vendor file)");
    j.a = cli->a;
    ret = add_device(cli, &j, &p);
    if (ret != 0)
        goto out;
    printf("hardware MFA token %s enabled for %s%s\n", cli->serial, p.label,
           j.verify ? "" : " (not verified: no codes given)");
out:
    OPENSSL_cleanse(seed, sizeof(seed));
    OPENSSL_cleanse(&j, sizeof(j));
    return ret;
}

/* ---- listing ------------------------------------------------------------ */

/* Appends the devices of one account to arr (JSON) or stdout (text). */
static int
list_account(struct adm_cli *cli, const struct md_account *acct, json_t *arr)
{
    struct md_conn *c = md_reader(cli->md);
    struct md_mfa_device *ds;
    struct md_user *users;
    char when[32];
    size_t n, n_users;
    int rc;

    rc = md_mfa_list(c, acct->id, -1, cli->a, &ds, &n);
    if (rc < 0)
        return adm_internal("listing MFA devices", rc);
    rc = md_user_list(c, acct->id, cli->a, &users, &n_users);
    if (rc < 0)
        return adm_internal("listing users", rc);
    for (size_t i = 0; i < n; i++) {
        const struct md_mfa_device *d = &ds[i];
        struct str user = STR_NULL;
        const char *label = NULL;

        for (size_t k = 0; d->user_id > 0 && k < n_users; k++) {
            if (users[k].id == d->user_id)
                user = users[k].name;
        }
        if (d->user_id > 0 && user.p == NULL)
            user = str_c(arena_printf(cli->a, "#%lld", (long long)d->user_id));
        if (d->user_id >= 0)
            label = adm_label(cli->a, acct->name, user);
        /* Only the fields below: the seed is never part of a listing. */
        if (arr != NULL) {
            json_t *o = json_pack(
                "{s:o, s:o, s:o, s:o, s:o, s:s, s:b, s:o, s:s}", "serial", adm_jstr(d->serial),
                "account", adm_jstr(acct->name), "account_id", adm_jacct(acct->id), "user",
                user.p != NULL ? adm_jstr(user) : json_null(), "principal",
                label != NULL ? json_string(label) : json_null(), "type",
                d->is_virtual ? "virtual" : "hardware", "enabled", d->is_enabled, "enable_date",
                d->is_enabled ? json_string(adm_iso_time(d->enabled_ms, when)) : json_null(),
                "created", adm_iso_time(d->created_ms, when));
            if (json_array_append_new(arr, o) < 0)
                return adm_internal("building JSON", -ENOMEM);
            continue;
        }
        adm_put(stdout, d->serial, 48);
        fputc(' ', stdout);
        adm_put(stdout, label != NULL ? str_c(label) : STR_LIT("(unassigned)"), 32);
        printf(" %-8s %-7s %s\n", d->is_virtual ? "virtual" : "hardware",
               d->is_enabled ? "yes" : "no",
               d->is_enabled ? adm_iso_time(d->enabled_ms, when) : "-");
    }
    return 0;
}

int
adm_mfa_list(struct adm_cli *cli)
{
    struct md_account *accts;
    struct adm_principal p;
    json_t *arr = NULL;
    size_t n;
    int rc;

    if (cli->account != NULL) {
        rc = adm_principal_get(cli, cli->account, NULL, &p);
        if (rc != 0)
            return rc;
        accts = &p.account;
        n = 1;
    } else {
        rc = md_account_list(md_reader(cli->md), cli->a, &accts, &n);
        if (rc < 0)
            return adm_internal("listing accounts", rc);
    }
    if (cli->json) {
        arr = json_array();
        if (arr == NULL)
            return adm_internal("building JSON", -ENOMEM);
    } else {
        printf("%-48s %-32s %-8s %-7s %s\n", "SERIAL", "PRINCIPAL", "TYPE", "ENABLED",
               "ENABLE_DATE");
    }
    for (size_t i = 0; i < n; i++) {
        rc = list_account(cli, &accts[i], arr);
        if (rc != 0) {
            json_decref(arr);
            return rc;
        }
    }
    return arr != NULL ? adm_print_json(arr) : 0;
}

/* ---- resync, deactivate, delete ---------------------------------------- */

struct serial_job {
    struct str serial;
    uint32_t code1, code2;
    struct arena *a;
    struct md_mfa_device d;
    const char *label; /* the owner, for the audit row (and a failure's) */
    enum why why;
};

static int
resync_run(struct md_conn *c, void *arg)
{
    struct serial_job *j = arg;
    int64_t now_ms = tm_now_ms();
    struct totp_state st;
    int rc;

    rc = md_mfa_get(c, j->serial, j->a, &j->d);
    if (rc < 0)
        return rc;
    j->label = owner_label(c, j->a, &j->d, j->d.user_id);
    if (!j->d.is_enabled) {
        j->why = WHY_STATE;
        return -EINVAL;
    }
    rc = mfa_dev_check_codes(&j->d, true, now_ms, j->code1, j->code2, &st);
    if (rc < 0) {
        j->why = WHY_CODES;
        return -EACCES;
    }
    rc = mfa_dev_save_state(c, &j->d, &st);
    if (rc < 0)
        return rc;
    return audit(c, now_ms, "mfa.resynced", j->label,
                 arena_printf(j->a, "serial %.*s: offset now %lld step(s)", STR_FMT(j->serial),
                              (long long)st.offset_steps));
}

static int
deactivate_run(struct md_conn *c, void *arg)
{
    struct serial_job *j = arg;
    int64_t now_ms = tm_now_ms();
    int rc;

    rc = md_mfa_get(c, j->serial, j->a, &j->d);
    if (rc < 0)
        return rc;
    if (!j->d.is_enabled) {
        j->why = WHY_STATE;
        return -EINVAL;
    }
    j->label = owner_label(c, j->a, &j->d, j->d.user_id);
    rc = mfa_dev_deactivate(c, &j->d, now_ms);
    if (rc < 0)
        return rc;
    return audit(c, now_ms, "mfa.deactivated", j->label,
                 arena_printf(j->a, "serial %.*s: %s device unassigned", STR_FMT(j->serial),
                              j->d.is_virtual ? "virtual" : "hardware"));
}

static int
delete_run(struct md_conn *c, void *arg)
{
    struct serial_job *j = arg;
    int64_t now_ms = tm_now_ms();
    int rc;

    rc = md_mfa_get(c, j->serial, j->a, &j->d);
    if (rc < 0)
        return rc;
    if (j->d.is_enabled) {
        j->why = WHY_STATE;
        return -EBUSY;
    }
    j->label = owner_label(c, j->a, &j->d, 0);
    rc = md_mfa_delete(c, j->d.id);
    if (rc < 0)
        return rc;
    return audit(c, now_ms, "mfa.deleted", j->label,
                 arena_printf(j->a, "serial %.*s: %s device deleted", STR_FMT(j->serial),
                              j->d.is_virtual ? "virtual" : "hardware"));
}

/* Runs fn on the device named by --serial; 0, or the exit status of an
 * unknown serial / internal error (fn's own failures are left to the
 * caller through j->why). */
static int
serial_write(struct adm_cli *cli, md_write_fn fn, struct serial_job *j, int *rc)
{
    if (!serial_ok(cli->serial))
        return adm_fail("no MFA device with serial '%s'", cli->serial);
    j->serial = str_c(cli->serial);
    j->a = cli->a;
    *rc = md_write(cli->md, fn, j);
    if (*rc == -ENOENT)
        return adm_fail("no MFA device with serial '%s'", cli->serial);
    if (*rc < 0 && j->why == WHY_NONE)
        return adm_internal("updating the MFA device", *rc);
    return 0;
}

int
adm_mfa_resync(struct adm_cli *cli)
{
    struct serial_job j = {0};
    int rc = 0, ret;

    ret = code_arg(cli->args[0], "CODE1", &j.code1);
    if (ret == 0)
        ret = code_arg(cli->args[1], "CODE2", &j.code2);
    if (ret == 0)
        ret = serial_write(cli, resync_run, &j, &rc);
    if (ret != 0)
        goto out;
    if (rc < 0 && j.why == WHY_STATE) {
        ret = adm_fail("MFA device %s is not enabled; enroll or add it again", cli->serial);
        goto out;
    }
    if (rc < 0) {
        audit_alone(cli, "mfa.resync_failed", j.label,
                    arena_printf(cli->a,
                                 "serial %s: the two codes were not consecutive codes "
                                 "within 24 hours",
                                 cli->serial));
        ret = adm_fail("the two codes are not consecutive codes of %s within 24 hours of now; "
                       "nothing changed",
                       cli->serial);
        goto out;
    }
    printf("MFA device %s resynchronized\n", cli->serial);
out:
    OPENSSL_cleanse(&j, sizeof(j));
    return ret;
}

/* After a root device went away: warn if the account still has buckets
 * with MFA delete enabled but no enabled root device, since versioned
 * deletes and versioning changes there are impossible until it gets one. */
static void
warn_orphaned_buckets(struct adm_cli *cli, int64_t account_id, const char *label)
{
    struct md_conn *c = md_reader(cli->md);
    struct md_mfa_device *ds;
    struct md_bucket *bs;
    size_t n_ds, n_bs, n_mfa = 0;

    if (md_mfa_list(c, account_id, 0, cli->a, &ds, &n_ds) < 0 ||
        md_bucket_list(c, account_id, cli->a, &bs, &n_bs) < 0)
        return;
    for (size_t i = 0; i < n_ds; i++) {
        if (ds[i].is_enabled)
            return;
    }
    for (size_t i = 0; i < n_bs; i++)
        n_mfa += bs[i].mfa_delete == MD_MFA_ENABLED;
    if (n_mfa > 0)
        fprintf(stderr,
                "coffer: warning: %s has %zu bucket(s) with MFA delete enabled and no enabled "
                "MFA device left; versioned deletes and versioning changes there need a new "
                "device (coffer mfa enroll)\n",
                label, n_mfa);
}

int
adm_mfa_deactivate(struct adm_cli *cli)
{
    struct serial_job j = {0};
    int rc = 0, ret;

    ret = serial_write(cli, deactivate_run, &j, &rc);
    if (ret != 0)
        goto out;
    if (rc < 0) {
        ret = adm_fail("MFA device %s is not enabled (already deactivated)", cli->serial);
        goto out;
    }
    printf("MFA device %s deactivated (was assigned to %s)\n", cli->serial, j.label);
    if (j.d.user_id == 0)
        warn_orphaned_buckets(cli, j.d.account_id, j.label);
out:
    OPENSSL_cleanse(&j, sizeof(j));
    return ret;
}

int
adm_mfa_delete(struct adm_cli *cli)
{
    struct serial_job j = {0};
    int rc = 0, ret;

    ret = serial_write(cli, delete_run, &j, &rc);
    if (ret != 0)
        goto out;
    if (rc < 0) {
        ret = adm_fail("MFA device %s is enabled; deactivate it first "
                       "(coffer mfa deactivate --serial %s)",
                       cli->serial, cli->serial);
        goto out;
    }
    printf("MFA device %s deleted\n", cli->serial);
out:
    OPENSSL_cleanse(&j, sizeof(j));
    return ret;
}

/* ---- audit log ---------------------------------------------------------- */

static int
audit_json(const struct md_audit *e, json_t *arr)
{
    char when[32];
    json_t *o = json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)e->id,
                          "time", adm_iso_time(e->time_ms, when), "event", adm_jstr(e->event),
                          "principal", adm_jstr(e->principal), "bucket", adm_jstr(e->bucket), "key",
                          adm_jstr(e->key), "version_id", adm_jstr(e->version_id), "source",
                          adm_jstr(e->source), "detail", adm_jstr(e->detail));

    if (json_array_append_new(arr, o) < 0)
        return adm_internal("building JSON", -ENOMEM);
    return 0;
}

static void
audit_text(const struct md_audit *e)
{
    char when[32];

    printf("%-6lld %-24s ", (long long)e->id, adm_iso_time(e->time_ms, when));
    adm_put(stdout, e->event, 22);
    fputc(' ', stdout);
    adm_put(stdout, e->principal, 28);
    fputc(' ', stdout);
    adm_put(stdout, e->bucket, 20);
    fputc(' ', stdout);
    adm_put(stdout, e->key, 20);
    fputc(' ', stdout);
    adm_put(stdout, e->version_id, 32);
    fputc(' ', stdout);
    adm_put(stdout, e->source, 15);
    fputc(' ', stdout);
    adm_put(stdout, e->detail, 0);
    fputc('\n', stdout);
}

/* The --bucket and --event filters; --event E matches E itself and the
 * events below it ("mfa" matches "mfa.check_failed"). */
static bool
audit_match(const struct adm_cli *cli, const struct md_audit *e)
{
    size_t n;

    if (cli->bucket != NULL && !str_eq_c(e->bucket, cli->bucket))
        return false;
    if (cli->event == NULL)
        return true;
    n = strlen(cli->event);
    return str_eq_c(e->event, cli->event) ||
           (e->event.n > n && memcmp(e->event.p, cli->event, n) == 0 && e->event.p[n] == '.');
}

enum audit_out { OUT_COUNT, OUT_TEXT, OUT_JSON, OUT_LINES };

/* One entry as a JSON line (coffer audit --follow --json): a follower reads
 * each as it comes, which one array printed at the end would not allow. */
static int
audit_line(const struct md_audit *e)
{
    json_t *arr = json_array();
    int rc;

    if (arr == NULL)
        return adm_internal("building JSON", -ENOMEM);
    rc = audit_json(e, arr);
    if (rc == 0 && (json_dumpf(json_array_get(arr, 0), stdout, JSON_COMPACT) < 0 ||
                    fputc('\n', stdout) == EOF))
        rc = adm_internal("writing JSON", -EIO);
    json_decref(arr);
    return rc;
}

/* Walks the entries after *after that pass the filters, in pages of
 * AUDIT_PAGE so a long log never sits in memory at once (JSON output
 * excepted: jansson holds the document): skips the first skip matches and
 * outputs up to *limit more. *after ends at the last entry read, *count
 * counts the matches seen. */
static int
audit_walk(struct adm_cli *cli, enum audit_out out, json_t *arr, uint64_t skip, uint64_t *limit,
           int64_t *after, uint64_t *count)
{
    struct md_audit *es;
    size_t n;
    int rc;

    for (;;) {
        arena_reset(cli->a);
        rc = md_audit_list(md_reader(cli->md), *after, AUDIT_PAGE, cli->a, &es, &n);
        if (rc < 0)
            return adm_internal("reading the audit log", rc);
        for (size_t i = 0; i < n && *limit > 0; i++) {
            *after = es[i].id;
            if (!audit_match(cli, &es[i]))
                continue;
            (*count)++;
            if (*count <= skip)
                continue;
            (*limit)--;
            rc = 0;
            if (out == OUT_TEXT)
                audit_text(&es[i]);
            else if (out == OUT_JSON)
                rc = audit_json(&es[i], arr);
            else if (out == OUT_LINES)
                rc = audit_line(&es[i]);
            if (rc != 0)
                return rc;
        }
        if (n < AUDIT_PAGE || *limit == 0)
            return 0;
    }
}

int
adm_audit(struct adm_cli *cli)
{
    unsigned long long since = 0, limit = UINT64_MAX, newest = 0;
    enum audit_out out = !cli->json ? OUT_TEXT : cli->follow ? OUT_LINES : OUT_JSON;
    uint64_t lim = UINT64_MAX, skip = 0, count = 0;
    json_t *arr = NULL;
    int64_t after;
    int rc;

    if (cli->since != NULL && str_to_u64(str_c(cli->since), &since) < 0)
        return adm_fail("--since needs an audit entry id (a number >= 0)");
    if (cli->limit != NULL && (str_to_u64(str_c(cli->limit), &limit) < 0 || limit == 0))
        return adm_fail("--limit needs a number >= 1");
    if (cli->newest != NULL && (str_to_u64(str_c(cli->newest), &newest) < 0 || newest == 0))
        return adm_fail("--newest needs a number >= 1");
    if (cli->newest != NULL && cli->limit != NULL)
        return adm_fail("give --newest or --limit, not both");
    after = since > INT64_MAX ? INT64_MAX : (int64_t)since;
    /* --newest N: count the matches first, then output the last N of them,
     * oldest first like the rest. */
    if (cli->newest != NULL) {
        int64_t end = after;

        rc = audit_walk(cli, OUT_COUNT, NULL, 0, &lim, &end, &count);
        if (rc != 0)
            return rc;
        skip = count > newest ? count - newest : 0;
        count = 0;
        limit = newest;
    }
    if (out == OUT_JSON) {
        arr = json_array();
        if (arr == NULL)
            return adm_internal("building JSON", -ENOMEM);
    } else if (out == OUT_TEXT) {
        printf("%-6s %-24s %-22s %-28s %-20s %-20s %-32s %-15s %s\n", "ID", "TIME", "EVENT",
               "PRINCIPAL", "BUCKET", "KEY", "VERSION", "SOURCE", "DETAIL");
    }
    lim = limit;
    rc = audit_walk(cli, out, arr, skip, &lim, &after, &count);
    if (rc != 0) {
        json_decref(arr);
        return rc;
    }
    if (arr != NULL)
        return adm_print_json(arr);
    /* --follow: poll the store for entries after the last one read until
     * interrupted. The server appends them; there is no admin port to push
     * them, and a poll is one indexed query. */
    while (cli->follow) {
        if (fflush(stdout) == EOF)
            return adm_internal("writing", -EIO);
        usleep(AUDIT_POLL_MS * 1000);
        lim = UINT64_MAX;
        rc = audit_walk(cli, out, NULL, 0, &lim, &after, &count);
        if (rc != 0)
            return rc;
    }
    return 0;
}
