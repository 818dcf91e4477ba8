/* s3_admin.c -- the admin listener's handler: health probes and /metrics.
 * Only the admin http_server (main.c) calls it; the S3 handler never routes
 * here. Plain-text answers, no S3 error documents. */
#include "common.h"
#include "s3/s3_admin.h"
#include "s3/s3.h"
#include "s3/s3_dash.h"
#include "store/blob.h"
#include "store/health.h"
#include "store/mtoken.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define METRICS_MAX (16 * 1024 * 1024) /* the exposition, at most */

static void
reply(struct http_req *r, int status, const char *body)
{
    size_t n = strlen(body);

    http_resp_header_c(r, "Content-Type", "text/plain; charset=utf-8");
    http_resp_header_c(r, "Cache-Control", "no-store");
    if (http_resp_begin(r, status, (int64_t)n) == 0)
        (void)http_resp_write(r, body, n);
}

/* 503 with the first reason the server is not ready, else 200. */
static void
ready(struct http_req *r, struct s3_admin *a)
{
    struct md_bucket_stats st;
    char why[160];
    int rc;

    if (http_server_draining(a->s3)) {
        reply(r, 503, "not ready: draining\n");
        return;
    }
    rc = md_bucket_stats(a->srv->md, &st);
    /* Once more after -EBUSY: a connection the store's restart broke
     * fails its first statement and is re-established at its next use. */
    if (rc == -EBUSY)
        rc = md_bucket_stats(a->srv->md, &st);
    if (rc < 0) {
        snprintf(why, sizeof(why), "not ready: metadata store: %s\n", strerror(-rc));
        reply(r, 503, why);
        return;
    }
    rc = blob_probe(a->srv->blob);
    if (rc < 0) {
        snprintf(why, sizeof(why), "not ready: data store: %s\n", strerror(-rc));
        reply(r, 503, why);
        return;
    }
    reply(r, 200, "ready\n");
}

/* The token is read on every scrape: a rotation takes effect at once. */
static bool
authorized(struct http_req *r, struct s3_admin *a)
{
    static const char scheme[] = "Bearer ";
    struct str h = http_header(r, "Authorization");
    char token[MTOKEN_LEN + 1];
    bool ok;
    int rc;

    if (h.p == NULL || h.n <= sizeof(scheme) - 1 ||
        strncasecmp(h.p, scheme, sizeof(scheme) - 1) != 0)
        return false;
    rc = mtoken_read(a->data_dir, token);
    if (rc < 0) {
        log_warn("metrics: cannot read %s/%s: %s", a->data_dir, MTOKEN_FILE, strerror(-rc));
        return false;
    }
    ok = str_ct_eq(str_make(h.p + sizeof(scheme) - 1, h.n - (sizeof(scheme) - 1)),
                   str_make(token, MTOKEN_LEN));
    explicit_bzero(token, sizeof(token));
    return ok;
}

static void
metrics(struct http_req *r, struct s3_admin *a)
{
    struct buf b;

    if (!authorized(r, a)) {
        http_resp_header_c(r, "WWW-Authenticate", "Bearer realm=\"coffer\"");
        reply(r, 401, "unauthorized: send Authorization: Bearer TOKEN (DIR/metrics.token)\n");
        return;
    }
    buf_init(&b, METRICS_MAX);
    if (s3_metrics_render(a, &b) < 0) {
        buf_free(&b);
        reply(r, 500, "metrics too large\n");
        return;
    }
    http_resp_header_c(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    http_resp_header_c(r, "Cache-Control", "no-store");
    if (http_resp_begin(r, 200, (int64_t)b.n) == 0)
        (void)http_resp_write(r, b.p, b.n);
    buf_free(&b);
}

void
s3_admin_handle(struct http_req *r)
{
    struct s3_admin *a = r->srv_ctx;
    enum { LIVE, READY, METRICS } what;

    /* Probes read the stores: never on the loop thread. */
    if (r->on_loop)
        return;
    if (s3_dash_handle(r, a->srv)) /* the web dashboard: /, /login, /logout */
        return;
    if (str_eq_c(r->path, "/health/live"))
        what = LIVE;
    else if (str_eq_c(r->path, "/health/ready"))
        what = READY;
    else if (str_eq_c(r->path, "/metrics"))
        what = METRICS;
    else {
        reply(r, 404, "not found\n");
        return;
    }
    if (!str_eq_c(r->method, "GET") && !str_eq_c(r->method, "HEAD")) {
        http_resp_header_c(r, "Allow", "GET, HEAD");
        reply(r, 405, "method not allowed\n");
        return;
    }
    switch (what) {
    case LIVE:
        reply(r, 200, "live\n");
        break;
    case READY:
        ready(r, a);
        break;
    case METRICS:
        metrics(r, a);
        break;
    }
}
