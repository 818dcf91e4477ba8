/* s3_lens.h -- what s3_route.c asks of the S3 Storage Lens handlers
 * (s3_lens.c) before they run: S3 Control addressing (the account-id host
 * label, the routing table's "{id}" paths) and the resource ARN the
 * authorize phase decides on. The handlers themselves are declared through
 * s3_ops.def. Private to s3/. */
#ifndef COFFER_S3_S3_LENS_H
#define COFFER_S3_S3_LENS_H

#include <stdbool.h>

#include "s3/s3_err.h"
#include "util/str.h"

struct s3_req;

/* The account id label in front of an S3 Control host (hname without its
 * port: "123456789012.localhost" -> "123456789012"), which botocore and the
 * AWS CLI add even to an --endpoint-url; STR_NULL when the first label is
 * not 12 digits. */
struct str s3_ctl_host_label(struct str hname);

/* For an S3 Control request: a host label must name the account that
 * x-amz-account-id names, else 400 InvalidRequest [spec B2 decision].
 * S3E_OK when there is no label, or no header (the handler refuses that). */
enum s3_err s3_ctl_host_check(struct s3_req *q, struct str hname);

/* Whether an S3 Control request's path (after /v20180820/) is the routing
 * table's sub: literally, or for a sub with "{id}", with one path segment
 * as sent (percent-encoded, so an id holding "%2F" is one segment) in its
 * place. */
bool s3_ctl_match(const struct s3_req *q, const char *sub);

/* The resource the authorize phase decides an S3 Control operation on:
 * arn:aws:s3:REGION:ACCOUNT:storage-lens/ID for the operations on one
 * configuration; STR_NULL for the others (the account-level resource). */
struct str s3_ctl_resource(struct s3_req *q);

#endif
