/* s3_dash.c -- the dashboard's routes on the admin listener (s3_dash.h):
 * login links, sessions, sign-out, and gathering one account's figures for
 * s3_dash_page.c. Who may look is decided here and only here: a session
 * cookie whose hash matches a stored, unexpired session. */
#include "common.h"
#include "s3/s3_dash.h"
#include "s3/s3.h"
#include "s3/s3_dash_page.h"
#include "store/md_dash.h"
#include "store/md_usage.h"
#include "util/buf.h"
#include "util/enc.h"
#include "util/log.h"
#include "util/tm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define COOKIE "coffer_session"
#define PAGE_MAX (8 * 1024 * 1024)
#define QUERY_MAX 1024 /* longer query strings are not a login link's */

/* Every dashboard answer: HTML that nobody caches, frames or scripts. */
static void
send_html(struct http_req *r, int status, struct buf *b)
{
    http_resp_header_c(r, "Content-Type", "text/html; charset=utf-8");
    http_resp_header_c(r, "Cache-Control", "no-store");
    http_resp_header_c(r, "Content-Security-Policy",
                       "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    http_resp_header_c(r, "X-Content-Type-Options", "nosniff");
    http_resp_header_c(r, "X-Frame-Options", "DENY");
    http_resp_header_c(r, "Referrer-Policy", "no-referrer");
    if (http_resp_begin(r, status, (int64_t)b->n) == 0)
        (void)http_resp_write(r, b->p, b->n);
}

static void
message(struct http_req *r, int status, const char *title, const char *body_html)
{
    struct buf b;

    buf_init(&b, 256 * 1024);
    if (s3_dash_message(&b, title, body_html) < 0)
        buf_reset(&b);
    send_html(r, status, &b);
    buf_free(&b);
}

static void
need_login(struct http_req *r)
{
    message(r, 401, "Sign in",
            "<p>This dashboard opens with a one-time link. On the server, run</p>"
            "<p><code>coffer dashboard --account A</code></p>"
            "<p>(A: the account's name or 12-digit id) and open the link it prints within "
            "5 minutes. A link works once.</p>");
}

/* The value of cookie name in r's Cookie header, or STR_NULL. */
static struct str
cookie(struct http_req *r, const char *name)
{
    struct str h = http_header(r, "Cookie"), part, rest = h;
    size_t n = strlen(name);

    while (rest.p != NULL && rest.n > 0) {
        (void)str_split(rest, ';', &part, &rest); /* the last: part = rest, rest empty */
        part = str_trim(part);
        if (part.n > n && memcmp(part.p, name, n) == 0 && part.p[n] == '=')
            return str_make(part.p + n + 1, part.n - n - 1);
    }
    return STR_NULL;
}

/* The account of r's session: 0 with *account_id, or -ENOENT. */
static int
session(struct http_req *r, struct srv *srv, struct md_dash_key *k, int64_t *account_id)
{
    struct str v = cookie(r, COOKIE);

    if (v.p == NULL || md_dash_token_key(v, k) < 0)
        return -ENOENT;
    return md_dash_session_get(md_reader(srv->md), k, tm_now_ms(), account_id);
}

/* The value of query parameter name (decoded, in r's arena), or STR_NULL. */
static struct str
query_param(struct http_req *r, const char *name)
{
    struct str rest = r->query, part, k, v;

    if (rest.n > QUERY_MAX)
        return STR_NULL;
    while (rest.p != NULL && rest.n > 0) {
        (void)str_split(rest, '&', &part, &rest); /* the last: part = rest, rest empty */
        if (!str_split(part, '=', &k, &v))
            continue;
        if (str_eq_c(k, name) && uri_decode_form_arena(r->arena, v, &v) == 0)
            return v;
    }
    return STR_NULL;
}

struct login_job {
    struct md_dash_key link, sess;
    int64_t now_ms, account_id;
    const char *peer;
};

/* Spends the link, opens the session and records it in the audit log, in
 * one transaction. */
static int
login_fn(struct md_conn *c, void *arg)
{
    struct login_job *j = arg;
    struct md_account acct;
    struct arena *a;
    int rc;

    rc = md_dash_login_use(c, &j->link, j->now_ms, &j->sess, j->now_ms + MD_DASH_SESSION_TTL_MS,
                           &j->account_id);
    if (rc < 0)
        return rc;
    a = arena_new();
    rc = md_account_get(c, j->account_id, a, &acct);
    if (rc == 0)
        rc = md_audit_add(c, j->now_ms, "dashboard.login",
                          str_c(arena_printf(a, "account:%.*s", (int)acct.name.n, acct.name.p)),
                          str_c(j->peer), "web dashboard session opened (one-time link)");
    arena_free(a);
    return rc;
}

static void
login(struct http_req *r, struct srv *srv)
{
    struct login_job j = {.now_ms = tm_now_ms(), .peer = r->peer};
    char sess[MD_DASH_TOKEN_LEN + 1], hdr[256];
    struct str t = query_param(r, "token");
    int rc;

    if (t.p == NULL || md_dash_token_key(t, &j.link) < 0) {
        message(r, 403, "Link not valid",
                "<p>This is not a dashboard login link. Run <code>coffer dashboard --account "
                "A</code> on the server for a new one.</p>");
        return;
    }
    rc = md_dash_token_new(sess, &j.sess);
    if (rc == 0)
        rc = md_write(srv->md, login_fn, &j);
    if (rc == -ENOENT || rc == -EALREADY || rc == -ETIMEDOUT) {
        log_info("dashboard: login link refused from %s: %s", r->peer,
                 rc == -ENOENT ? "unknown" : rc == -EALREADY ? "already used" : "expired");
        message(r, 403, "Link not valid",
                "<p>This login link is unknown, expired (links last 5 minutes) or already "
                "used (a link works once). Run <code>coffer dashboard --account A</code> on the "
                "server for a new one.</p>");
        return;
    }
    if (rc < 0) {
        log_warn("dashboard: login from %s: %s", r->peer, strerror(-rc));
        message(r, 503, "Try again", "<p>The metadata store is busy or failing; try again.</p>");
        return;
    }
    log_info("dashboard: session opened for account %012" PRId64 " from %s", j.account_id,
             r->peer);
    snprintf(hdr, sizeof(hdr), COOKIE "=%s; Max-Age=%lld; Path=/; HttpOnly; Secure; "
                               "SameSite=Strict", sess, MD_DASH_SESSION_TTL_MS / 1000);
    explicit_bzero(sess, sizeof(sess));
    http_resp_header_c(r, "Set-Cookie", hdr);
    explicit_bzero(hdr, sizeof(hdr));
    http_resp_header_c(r, "Location", "/");
    http_resp_header_c(r, "Cache-Control", "no-store");
    http_resp_header_c(r, "Referrer-Policy", "no-referrer");
    if (http_resp_begin(r, 303, 0) == 0)
        (void)http_resp_write(r, "", 0);
}

static int
logout_fn(struct md_conn *c, void *arg)
{
    return md_dash_session_end(c, arg);
}

static void
logout(struct http_req *r, struct srv *srv)
{
    struct md_dash_key k;
    int64_t acct;

    /* A session that is already gone signs out all the same. */
    if (session(r, srv, &k, &acct) == 0)
        (void)md_write(srv->md, logout_fn, &k);
    http_resp_header_c(r, "Set-Cookie",
                       COOKIE "=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Strict");
    message(r, 200, "Signed out",
            "<p>The session has ended. <code>coffer dashboard --account A</code> prints a new "
            "login link.</p>");
}

/* Reads what the page shows in one snapshot and renders it. */
static void
page(struct http_req *r, struct srv *srv, int64_t account_id)
{
    struct md_conn *c = md_reader(srv->md);
    struct s3_dash_view v = {.account_id = account_id, .now_ms = tm_now_ms()};
    int64_t today = md_usage_day(v.now_ms);
    struct md_usage_sum *daily = NULL;
    struct md_usage_row *rows = NULL;
    struct md_bucket *buckets = NULL;
    struct md_audit *ev = NULL;
    struct md_account acct;
    struct buf b;
    int rc;

    rc = md_snapshot_begin(c);
    if (rc < 0 && rc != -EALREADY)
        goto out;
    rc = md_account_get(c, account_id, r->arena, &acct);
    if (rc == 0)
        rc = md_usage_total(c, account_id, MD_USAGE_LATEST, &v.total);
    if (rc == 0)
        rc = md_usage_daily(c, account_id, today - (S3_DASH_TREND_DAYS - 1), today, r->arena,
                            &daily);
    if (rc == 0)
        rc = md_usage_rows(c, account_id, MD_USAGE_LATEST, r->arena, &rows, &v.n_rows);
    if (rc == 0)
        rc = md_bucket_list(c, account_id, r->arena, &buckets, &v.n_buckets);
    if (rc == 0)
        rc = md_dash_mfa_events(c, account_id, acct.name, S3_DASH_MFA_EVENTS, r->arena, &ev,
                                &v.n_events);
    md_snapshot_end(c);
out:
    if (rc == -ENOENT) {
        need_login(r); /* the account is gone (its sessions went with it) */
        return;
    }
    if (rc < 0) {
        log_warn("dashboard: reading account %012" PRId64 ": %s", account_id, strerror(-rc));
        message(r, 503, "Try again", "<p>The metadata store is busy or failing; try again.</p>");
        return;
    }
    v.account_name = acct.name;
    v.account_pab = acct.pab;
    v.daily = daily;
    v.n_daily = S3_DASH_TREND_DAYS;
    v.rows = rows;
    v.buckets = buckets;
    v.events = ev;
    buf_init(&b, PAGE_MAX);
    rc = s3_dash_page(&b, &v);
    if (rc < 0) {
        buf_free(&b);
        message(r, 500, "Too large", "<p>The page would be too large.</p>");
        return;
    }
    send_html(r, 200, &b);
    buf_free(&b);
}

static bool
method_ok(struct http_req *r, const char *m1, const char *m2)
{
    if (str_eq_c(r->method, m1) || (m2 != NULL && str_eq_c(r->method, m2)))
        return true;
    http_resp_header_c(r, "Allow", m2 ? "GET, HEAD" : m1);
    message(r, 405, "Method not allowed", "<p>Method not allowed.</p>");
    return false;
}

bool
s3_dash_handle(struct http_req *r, struct srv *srv)
{
    struct md_dash_key k;
    int64_t acct;

    if (str_eq_c(r->path, "/")) {
        if (!method_ok(r, "GET", "HEAD"))
            return true;
        if (session(r, srv, &k, &acct) < 0)
            need_login(r);
        else
            page(r, srv, acct);
    } else if (str_eq_c(r->path, "/login")) {
        /* GET only: a HEAD (a link preview) must not spend the link. */
        if (method_ok(r, "GET", NULL))
            login(r, srv);
    } else if (str_eq_c(r->path, "/logout")) {
        if (method_ok(r, "POST", NULL))
            logout(r, srv);
    } else {
        return false;
    }
    return true;
}
