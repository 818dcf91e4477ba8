/* s3_lifecycle.h -- validation of a PutBucketLifecycleConfiguration body,
 * exposed on its own so it can be tested without a server. The handlers
 * themselves are declared through s3_ops.def. */
#ifndef COFFER_S3_S3_LIFECYCLE_H
#define COFFER_S3_S3_LIFECYCLE_H

#include "s3/s3_err.h"
#include "util/arena.h"
#include "util/str.h"

#define S3_LIFECYCLE_MAX_RULES 1000 /* AWS: not adjustable */
#define S3_LIFECYCLE_MAX_ID 255

/* Detail beside a refusal. Strings are static or in the arena. */
struct s3_lifecycle_err {
    const char *msg;      /* NULL: the code's default message */
    const char *arg_name; /* ArgumentName, or NULL */
    const char *arg_value;
};

/* Checks body against the LifecycleConfiguration schema and S3's rules:
 * S3E_OK, or S3E_MALFORMED_XML (not well-formed, wrong shape, bad value
 * type, 0 rules), S3E_INVALID_ARGUMENT (ID too long or repeated, non-positive
 * Days, Date not at midnight GMT, ...) or S3E_INVALID_REQUEST (no action,
 * too many rules, V1/V2 mixing, ...) with *e filled. Pure: no I/O. */
enum s3_err s3_lifecycle_check(struct arena *a, struct str body, struct s3_lifecycle_err *e);

#endif
