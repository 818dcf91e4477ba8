/* s3_iam.h -- the IAM and STS query APIs on the S3 endpoint: s3_route.c
 * hands over any request signed for service iam or sts. */
#ifndef COFFER_S3_S3_IAM_H
#define COFFER_S3_S3_IAM_H

struct s3_req;

/* Reads the form body, verifies the signature, enforces HTTPS where the
 * action needs it, runs the action (iam/iam.h) and sends the response,
 * errors included, in the IAM/STS XML format. */
void s3_iam_handle(struct s3_req *q);

#endif
