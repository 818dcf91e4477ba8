/* s3_mfa.h -- the S3 side of MFA delete: turns a request into a struct
 * mfa_req, runs the auth/mfa.h checks and puts their detail (message,
 * ArgumentName, ArgumentValue) on the request for s3_route.c to render.
 * Which operations need MFA is decided by their handlers (s3_bucket.c,
 * s3_object.c); every other operation goes through s3_mfa_route_check(). */
#ifndef COFFER_S3_S3_MFA_H
#define COFFER_S3_S3_MFA_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/mfa.h"
#include "s3/s3_err.h"
#include "store/md.h"
#include "util/str.h"

struct s3_req;

/* Fills *m for q: TLS, x-amz-mfa, session credentials, caller, principal
 * ("account:NAME" or "account:NAME/user:NAME"), source address and clock.
 * owner_id is the bucket's owner account; key and vid only label audit
 * records (STR_NULL when none). m->action is the operation name (q->op_name,
 * or the s3_ops.def name of q->op before routing has set it). Everything in *m
 * is borrowed from q or allocated in q->arena: valid for the request. */
void s3_mfa_request(struct s3_req *q, int64_t owner_id, struct str key, struct str vid,
                    struct mfa_req *m);

/* Steps 1, 2 and 6 of [spec-mfa-delete §1.6] only (TLS, header format,
 * session credentials): pure, consumes nothing. S3E_OK without a header. */
enum s3_err s3_mfa_precheck(struct s3_req *q);

/* required: mfa_require() (header needed, bucket owner's root only, code
 * checked and consumed); otherwise mfa_verify_present() (Coffer decision 6:
 * a present header is verified and its code consumed; S3E_OK without one,
 * at no cost). On failure q->err_msg/err_arg_name/err_arg_value are set
 * and the code is returned; failures are audited by auth/mfa.c. */
enum s3_err s3_mfa_gate(struct s3_req *q, bool required, int64_t owner_id, struct str key,
                        struct str vid);

/* The generic check s3_route.c runs after route() and before the handler,
 * for every S3 operation. PutBucketVersioning, DeleteObject and
 * DeleteObjects only get s3_mfa_precheck() here (their handlers decide
 * whether MFA is required and must consume a code at most once); any other
 * operation carrying x-amz-mfa gets s3_mfa_gate(q, false, ...). */
enum s3_err s3_mfa_route_check(struct s3_req *q);

#endif
