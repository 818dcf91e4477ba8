/* adm_user.c -- `coffer user create|list|delete` (IAM users of an account)
 * and the helpers every admin command shares: error exits, JSON and
 * terminal-safe output, principal lookup. Part of the admin CLI only; the
 * server manages nothing here. */
#include "common.h"

#include "admin/adm.h"
#include "util/arena.h"
#include "util/tm.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

/* ---- helpers ------------------------------------------------------------ */

int
adm_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("coffer: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return ADM_EXIT_USER;
}

int
adm_internal(const char *what, int rc)
{
    fprintf(stderr, "coffer: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
    return ADM_EXIT_INTERNAL;
}

int
adm_print_json(struct json_t *j)
{
    int rc;

    if (j == NULL)
        return adm_internal("building JSON", -ENOMEM);
    rc = json_dumpf(j, stdout, JSON_INDENT(2));
    json_decref(j);
    if (rc < 0 || fputc('\n', stdout) == EOF)
        return adm_internal("writing JSON", -EIO);
    return 0;
}

struct json_t *
adm_jacct(int64_t id)
{
    char s[24];

    snprintf(s, sizeof(s), "%012lld", (long long)id);
    return json_string(s);
}

struct json_t *
adm_jstr(struct str s)
{
    json_t *j;
    char *copy;

    if (s.p == NULL)
        return json_string("");
    if (str_valid_utf8(s))
        return json_stringn(s.p, s.n);
    copy = xmalloc(s.n + 1);
    for (size_t i = 0; i < s.n; i++)
        copy[i] = (unsigned char)s.p[i] >= 0x80 ? '?' : s.p[i];
    j = json_stringn(copy, s.n);
    free(copy);
    return j;
}

void
adm_put(FILE *fp, struct str s, int width)
{
    bool utf8 = str_valid_utf8(s);
    int w = 0;

    if (s.p == NULL || s.n == 0) {
        fputc('-', fp);
        w = 1;
    }
    for (size_t i = 0; s.p != NULL && i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        /* C0 controls and DEL; in UTF-8 text also the C1 controls U+0080-
         * U+009F (0xC2 0x80-0x9F), which some terminals obey; in other
         * text every byte above 0x7F. */
        if (c < 0x20 || c == 0x7f || (!utf8 && c >= 0x80)) {
            w += fprintf(fp, "\\x%02x", c);
        } else if (utf8 && c == 0xc2 && i + 1 < s.n && (unsigned char)s.p[i + 1] < 0xa0) {
            w += fprintf(fp, "\\u%04x", (unsigned char)s.p[i + 1]);
            i++;
        } else {
            fputc(c, fp);
            w++;
        }
    }
    for (; w < width; w++)
        fputc(' ', fp);
}

const char *
adm_iso_time(int64_t ms, char out[32])
{
    tm_iso8601(ms, out);
    return out;
}

bool
adm_iam_name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr("_+=,.@-", c) != NULL))
            return false;
    }
    return true;
}

const char *
adm_label(struct arena *a, struct str account, struct str user)
{
    if (user.p == NULL)
        return arena_printf(a, "account:%.*s", STR_FMT(account));
    return arena_printf(a, "account:%.*s/user:%.*s", STR_FMT(account), STR_FMT(user));
}

int
adm_principal_get(struct adm_cli *cli, const char *account, const char *user,
                  struct adm_principal *out)
{
    struct md_conn *c = md_reader(cli->md);
    struct md_user u;
    int rc;

    memset(out, 0, sizeof(*out));
    /* Names that could never have been created are reported as unknown
     * without a lookup (and without a multi-megabyte argument reaching SQL). */
    if (!adm_iam_name_ok(account, 64))
        return adm_fail("no such account '%s'", account);
    rc = md_account_get_by_name(c, str_c(account), cli->a, &out->account);
    if (rc == -ENOENT)
        return adm_fail("no such account '%s'", account);
    if (rc < 0)
        return adm_internal("reading the account", rc);
    out->user_name = STR_NULL;
    if (user != NULL) {
        if (!adm_iam_name_ok(user, ADM_IAM_NAME_MAX))
            return adm_fail("no such user '%s' in account '%s'", user, account);
        rc = md_user_get_by_name(c, out->account.id, str_c(user), cli->a, &u);
        if (rc == -ENOENT)
            return adm_fail("no such user '%s' in account '%s'", user, account);
        if (rc < 0)
            return adm_internal("reading the user", rc);
        out->user_id = u.id;
        out->user_name = u.name;
    }
    out->label = adm_label(cli->a, out->account.name, out->user_name);
    return 0;
}

/* ---- user commands ------------------------------------------------------ */

struct user_job {
    struct str account, name;
    int64_t now_ms;
    struct arena *a;
    int64_t account_id, user_id;
    bool account_missing; /* the failure was the account lookup */
};

static int
account_id_of(struct md_conn *c, struct user_job *j)
{
    struct md_account acct;
    int rc = md_account_get_by_name(c, j->account, j->a, &acct);

    j->account_missing = rc == -ENOENT;
    if (rc == 0)
        j->account_id = acct.id;
    return rc;
}

static int
user_create_run(struct md_conn *c, void *arg)
{
    struct user_job *j = arg;
    int rc = account_id_of(c, j);

    if (rc < 0)
        return rc;
    return md_user_create(c, j->account_id, j->name, j->now_ms, &j->user_id);
}

static int
user_delete_run(struct md_conn *c, void *arg)
{
    struct user_job *j = arg;
    struct md_user u;
    int rc = account_id_of(c, j);

    if (rc < 0)
        return rc;
    rc = md_user_get_by_name(c, j->account_id, j->name, j->a, &u);
    if (rc < 0)
        return rc;
    j->user_id = u.id;
    return md_user_delete(c, u.id);
}

int
adm_user_create(struct adm_cli *cli)
{
    const char *name = cli->args[0];
    struct user_job j = {.account = str_c(cli->account), .name = str_c(name), .a = cli->a};
    char created[32];
    int rc;

    if (!adm_iam_name_ok(cli->account, 64))
        return adm_fail("no such account '%s'", cli->account);
    if (!adm_iam_name_ok(name, ADM_IAM_NAME_MAX))
        return adm_fail("invalid user name '%s': use 1-%d characters of A-Z a-z 0-9 _ + = , . @ -",
                        name, ADM_IAM_NAME_MAX);
    j.now_ms = tm_now_ms();
    rc = md_write(cli->md, user_create_run, &j);
    if (rc == -ENOENT && j.account_missing)
        return adm_fail("no such account '%s'", cli->account);
    if (rc == -EEXIST)
        return adm_fail("user '%s' already exists in account '%s'", name, cli->account);
    if (rc < 0)
        return adm_internal("creating the user", rc);
    adm_iso_time(j.now_ms, created);
    if (cli->json)
        return adm_print_json(json_pack(
            "{s:I, s:s, s:o, s:s, s:s}", "user_id", (json_int_t)j.user_id, "name", name,
            "account_id", adm_jacct(j.account_id), "account", cli->account, "created", created));
    printf("user_id:  %lld\n"
           "name:     %s\n"
           "account:  %s\n"
           "created:  %s\n"
           "(no access key yet: coffer key create --account %s --user %s)\n",
           (long long)j.user_id, name, cli->account, created, cli->account, name);
    return 0;
}

int
adm_user_list(struct adm_cli *cli)
{
    struct adm_principal p;
    struct md_user *users;
    char created[32];
    size_t n;
    json_t *arr;
    int rc;

    rc = adm_principal_get(cli, cli->account, NULL, &p);
    if (rc != 0)
        return rc;
    rc = md_user_list(md_reader(cli->md), p.account.id, cli->a, &users, &n);
    if (rc < 0)
        return adm_internal("listing users", rc);
    if (cli->json) {
        arr = json_array();
        for (size_t i = 0; arr != NULL && i < n; i++) {
            json_t *o = json_pack("{s:I, s:o, s:o, s:o, s:s}", "user_id", (json_int_t)users[i].id,
                                  "name", adm_jstr(users[i].name), "account_id",
                                  adm_jacct(p.account.id), "account", adm_jstr(p.account.name),
                                  "created", adm_iso_time(users[i].created_ms, created));
            if (json_array_append_new(arr, o) < 0) {
                json_decref(arr);
                arr = NULL;
            }
        }
        return adm_print_json(arr);
    }
    printf("%-8s %-32s %s\n", "USER_ID", "NAME", "CREATED");
    for (size_t i = 0; i < n; i++) {
        printf("%-8lld ", (long long)users[i].id);
        adm_put(stdout, users[i].name, 32);
        printf(" %s\n", adm_iso_time(users[i].created_ms, created));
    }
    return 0;
}

int
adm_user_delete(struct adm_cli *cli)
{
    const char *name = cli->args[0];
    struct user_job j = {.account = str_c(cli->account), .name = str_c(name), .a = cli->a};
    int rc;

    if (!adm_iam_name_ok(cli->account, 64))
        return adm_fail("no such account '%s'", cli->account);
    if (!adm_iam_name_ok(name, ADM_IAM_NAME_MAX))
        return adm_fail("no such user '%s' in account '%s'", name, cli->account);
    rc = md_write(cli->md, user_delete_run, &j);
    if (rc == -ENOENT && j.account_missing)
        return adm_fail("no such account '%s'", cli->account);
    if (rc == -ENOENT)
        return adm_fail("no such user '%s' in account '%s'", name, cli->account);
    if (rc == -ENOTEMPTY)
        return adm_fail("user '%s' still has an MFA device assigned; deactivate it first "
                        "(coffer mfa list --account %s, coffer mfa deactivate --serial SERIAL)",
                        name, cli->account);
    if (rc < 0)
        return adm_internal("deleting the user", rc);
    printf("deleted user '%s' of account '%s' and its access keys\n", name, cli->account);
    return 0;
}
