/* adm_dash.c -- `coffer dashboard --account A [--url BASE]`: makes a
 * one-time login link to the web dashboard on cofferd's admin listener
 * (s3/s3_dash.h) and prints it. Only the link's hash is stored
 * (store/md_dash.h); the link is valid for 5 minutes and works once. */
#include "common.h"
#include "admin/adm.h"
#include "store/md_dash.h"
#include "util/conf.h"
#include "util/tm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_URL "https://127.0.0.1:9001"
#define CONF_FILE "cofferd.conf"
#define URL_MAX 512
#define TRIES 3 /* a selector collision is a 2^-71 event; retry a couple of times */

struct link_job {
    struct md_dash_key k;
    int64_t account_id, now_ms;
    const char *label;
};

static int
link_fn(struct md_conn *c, void *arg)
{
    struct link_job *j = arg;
    int rc = md_dash_login_add(c, &j->k, j->account_id, j->now_ms,
                               j->now_ms + MD_DASH_LOGIN_TTL_MS);

    if (rc == 0)
        rc = md_audit_add(c, j->now_ms, "dashboard.link", str_c(j->label), STR_LIT("cli"),
                          "one-time dashboard login link made (5 minutes)");
    return rc;
}

/* The account by name, or by id when A is all digits and no name matches. */
static int
find_account(struct adm_cli *cli, struct md_account *out)
{
    const char *s = cli->account;
    struct adm_principal p;
    size_t n = strspn(s, "0123456789");
    int rc;

    if (n > 0 && n <= 12 && s[n] == '\0') {
        rc = md_account_get_by_name(md_reader(cli->md), str_c(s), cli->a, out);
        if (rc == -ENOENT)
            rc = md_account_get(md_reader(cli->md), strtoll(s, NULL, 10), cli->a, out);
        if (rc == -ENOENT)
            return adm_fail("no such account '%s'", s);
        return rc < 0 ? adm_internal("reading the account", rc) : 0;
    }
    rc = adm_principal_get(cli, s, NULL, &p);
    if (rc == 0)
        *out = p.account;
    return rc;
}

struct conf_url {
    char *out;
    size_t cap;
    bool found;
};

static int
conf_url_line(void *arg, const char *name, const char *val)
{
    struct conf_url *u = arg;
    size_t n = strlen(val);

    if (u->found || strcmp(name, "admin-listen") != 0 || n == 0 || n > URL_MAX - 16)
        return 0;
    /* A wildcard address is reached on the loopback from this host. */
    if (n > 8 && memcmp(val, "0.0.0.0:", 8) == 0)
        snprintf(u->out, u->cap, "https://127.0.0.1%s", val + 7);
    else
        snprintf(u->out, u->cap, "https://%s", val);
    u->found = true;
    return 0;
}

/* The admin listener from DATA/cofferd.conf ("admin-listen = HOST:PORT"),
 * as https://HOST:PORT in out; false when there is no such file or line. */
static bool
url_from_conf(const char *data, char *out, size_t cap)
{
    struct conf_url u = {.out = out, .cap = cap};
    char path[4096];

    snprintf(path, sizeof(path), "%s/" CONF_FILE, data);
    (void)conf_each(path, conf_url_line, &u);
    return u.found;
}

int
adm_dashboard(struct adm_cli *cli)
{
    struct link_job j = {.now_ms = tm_now_ms()};
    char token[MD_DASH_TOKEN_LEN + 1], base[URL_MAX];
    struct md_account acct;
    size_t n;
    int rc;

    rc = find_account(cli, &acct);
    if (rc != 0)
        return rc;
    if (cli->url != NULL) {
        n = strlen(cli->url);
        if (n == 0 || n >= URL_MAX || (strncmp(cli->url, "http://", 7) != 0 &&
                                       strncmp(cli->url, "https://", 8) != 0))
            return adm_fail("--url wants http://HOST:PORT or https://HOST:PORT (the admin "
                            "listener)");
        snprintf(base, sizeof(base), "%s", cli->url);
    } else if (!url_from_conf(cli->data, base, sizeof(base))) {
        snprintf(base, sizeof(base), "%s", DEFAULT_URL);
    }
    n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        base[--n] = '\0';
    j.account_id = acct.id;
    j.label = arena_printf(cli->a, "account:%.*s", (int)acct.name.n, acct.name.p);
    for (int i = 0; i < TRIES; i++) {
        rc = md_dash_token_new(token, &j.k);
        if (rc == 0)
            rc = md_write(cli->md, link_fn, &j);
        if (rc != -EEXIST)
            break;
    }
    if (rc < 0) {
        explicit_bzero(token, sizeof(token));
        return adm_internal("storing the login link", rc);
    }
    printf("%s/login?token=%s\n", base, token);
    explicit_bzero(token, sizeof(token));
    if (isatty(fileno(stderr)))
        fprintf(stderr, "Open it within 5 minutes; it works once and signs you in as account "
                        "%.*s (%012lld) for 12 hours.\n",
                (int)acct.name.n, acct.name.p, (long long)acct.id);
    return 0;
}
