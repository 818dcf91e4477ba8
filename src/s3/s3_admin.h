/* s3_admin.h -- the admin listener (cofferd --admin-listen): /health/live,
 * /health/ready and /metrics (Prometheus text, bearer token of
 * store/mtoken.h), served by its own http_server so that the S3 listeners
 * never answer them; and the S3 server's request counting (s3_metrics.c).
 *
 * Counting costs the request path a few per-thread additions
 * (util/metrics.h); everything else is read when /metrics is scraped. */
#ifndef COFFER_S3_S3_ADMIN_H
#define COFFER_S3_S3_ADMIN_H

#include <stdint.h>

#include "http/http_server.h"
#include "util/buf.h"

struct srv;

/* The admin server's http_server_opts.ctx. */
struct s3_admin {
    struct srv *srv;
    struct http_server *s3; /* the S3 server: draining, its pool and connections */
    const char *data_dir;   /* DIR/metrics.token */
};

/* The admin server's handler: r->srv_ctx is a struct s3_admin *. */
void s3_admin_handle(struct http_req *r);

/* The S3 server's http_server_opts.on_done: counts the request by its
 * operation (s3_ops.def's name, or the IAM/STS action) and status. */
void s3_metrics_done(struct http_req *r, int status, uint64_t bytes_in, uint64_t bytes_out,
                     uint64_t dur_ns);

/* Counts a lifecycle action whose result is result (s3_lifecycle_run.c;
 * only "done" counts). action is a static string. */
void s3_metrics_lifecycle(const char *action, const char *result);

/* Counts one Storage Lens export of cofferd's exporter (s3_lens_export.c)
 * by result, a static string: "delivered", "failed" or "refused". */
void s3_metrics_lens_export(const char *result);

/* Appends the whole exposition to b. 0 or -E2BIG. */
int s3_metrics_render(struct s3_admin *a, struct buf *b);

#endif
