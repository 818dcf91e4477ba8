/* s3.h -- the S3 front: what main.c needs to serve S3 over http_server. */
#ifndef COFFER_S3_S3_H
#define COFFER_S3_S3_H

#include <stddef.h>
#include <stdint.h>

#include "http/http_server.h"

struct md;
struct blob;
struct space;

/* Server-wide context, built by main.c and shared read-only by all workers. */
struct srv {
    struct md *md;
    struct blob *blob;
    struct space *space; /* free-space guard: writes that add data ask it first */
    const char *domain; /* virtual-hosted style: BUCKET.domain */
    const char *region; /* "us-east-1" */
    int64_t reclaim_grace_ms; /* store/trash.h: how long a version's data outlives it */
};

/* The http_server handler: routes, authenticates, runs the operation and
 * renders errors. r->srv_ctx is a struct srv *. */
void s3_handle(struct http_req *r);

/* The http_server error_body hook: the S3 error document (Code, Message,
 * RequestId) of an answer the HTTP layer gives before any handler. */
size_t s3_http_error_body(void *ctx, int status, enum http_err err, const char *request_id,
                          char *out, size_t cap, const char **content_type);

#endif
