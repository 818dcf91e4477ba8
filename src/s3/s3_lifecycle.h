/* s3_lifecycle.h -- validation of a PutBucketLifecycleConfiguration body,
 * exposed on its own so it can be tested without a server. The handlers
 * themselves are declared through s3_ops.def. */
#ifndef COFFER_S3_S3_LIFECYCLE_H
#define COFFER_S3_S3_LIFECYCLE_H

#include "core/lifecycle.h"
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

/* The stored (canonical) configuration xml as the model of core/lifecycle.h,
 * rules in document order; both the V1 rule-level Prefix and the V2 Filter.
 * S3E_OK, or S3E_MALFORMED_XML for anything the model cannot hold exactly
 * (never a partial configuration). Everything in *out, strings included,
 * lives in a (they point into its copy of the document). Pure: no I/O. */
enum s3_err s3_lifecycle_parse(struct arena *a, struct str xml, struct lc_config *out);

/* The x-amz-expiration value for a rule and its due time:
 * expiry-date="<IMF-fixdate>", rule-id="<id>" (the ID percent-encoded
 * unless printable ASCII without '"' or '%'). The result is in a. */
const char *s3_lifecycle_expiry_value(struct arena *a, struct str rule_id, int64_t due_ms);

struct s3_req;
/* Adds x-amz-expiration to q's response for version v of q->key in bucket
 * b, which the request wrote (PutObject, CopyObject, completion) or read as
 * the current version without a versionId (GetObject, HeadObject: the
 * caller checks). Nothing is parsed when b has no configuration. */
void s3_lifecycle_expiration(struct s3_req *q, const struct md_bucket *b,
                             const struct md_version *v);
/* Adds x-amz-abort-date and x-amz-abort-rule-id for an upload of q->key
 * initiated at initiated_ms (CreateMultipartUpload, ListParts). */
void s3_lifecycle_abort(struct s3_req *q, const struct md_bucket *b, int64_t initiated_ms);

#endif
