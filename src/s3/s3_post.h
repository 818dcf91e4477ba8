/* s3_post.h -- browser POST uploads ("POST Object") [spec-authorization §8]:
 * the form's fields and its policy document as pure functions of their
 * inputs (s3_post_policy.c), for the handler (s3_post.c), the unit tests
 * and tests/fuzz/fuzz_post.c. Private to s3/. */
#ifndef COFFER_S3_S3_POST_H
#define COFFER_S3_S3_POST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "s3/s3_err.h"
#include "util/arena.h"
#include "util/str.h"

/* The fields before the file, names as first sent; a name sent again
 * (ASCII case-insensitive) has its values joined with commas [§8]. */
struct s3_post_form {
    struct {
        struct str name, value;
    } f[S3_POST_MAX_FIELDS];
    size_t n;
};

/* Adds one field; -E2BIG past S3_POST_MAX_FIELDS distinct names, else 0.
 * Joined values are copied to a. */
int s3_post_field_add(struct arena *a, struct s3_post_form *fm, struct str name,
                      struct str value);
/* The value of a field (name ASCII case-insensitive), or STR_NULL. */
struct str s3_post_field(const struct s3_post_form *fm, const char *name);

/* *out_key: key with every "${filename}" replaced by the file's name after
 * its last '/' or '\' [§8] (in a), or key itself when there is none. 0, or
 * -E2BIG when the result would pass S3_MAX_KEY_BYTES (nothing allocated). */
int s3_post_expand_key(struct arena *a, struct str key, struct str filename,
                       struct str *out_key);

enum s3_post_op { S3_POST_EQ, S3_POST_STARTS_WITH, S3_POST_RANGE };

struct s3_post_cond {
    enum s3_post_op op;
    struct str field; /* without its '$' */
    struct str value; /* EQ, STARTS_WITH */
    int64_t min, max; /* RANGE */
};

/* A policy document as its conditions will be checked. In the arena. */
struct s3_post_policy {
    int64_t expiration_s;
    struct s3_post_cond *c;
    size_t n;
};

/* Decodes the base64 policy field and parses its JSON (jansson):
 * expiration (ISO 8601 UTC) and conditions, both required; a condition is
 * {"field": "value"}, ["eq", "$field", "value"], ["starts-with",
 * "$field", "prefix"] or ["content-length-range", min, max]; bucket and
 * success_action_status take eq only. S3E_OK, or
 * S3E_INVALID_POLICY_DOCUMENT with *msg saying why (arena or constant).
 * At most S3_POST_MAX_CONDITIONS conditions. */
enum s3_err s3_post_policy_parse(struct arena *a, struct str b64, struct s3_post_policy *out,
                                 const char **msg);

/* The form against the policy at now_s, after ${filename} expansion (the
 * caller puts the expanded key in the form): expiry, then each eq and
 * starts-with condition in order ("$bucket" is the request's bucket),
 * then every field but policy, file, x-amz-signature, signature,
 * x-ignore-* (and AWSAccessKeyId when sigv2) must be named by one.
 * S3E_OK or S3E_ACCESS_DENIED with *msg as AWS words it. */
enum s3_err s3_post_policy_check(struct arena *a, const struct s3_post_policy *p,
                                 const struct s3_post_form *fm, struct str bucket, bool sigv2,
                                 int64_t now_s, const char **msg);

/* The file's size against every content-length-range: S3E_OK,
 * S3E_ENTITY_TOO_SMALL or S3E_ENTITY_TOO_LARGE. The largest size any
 * range allows (INT64_MAX with none) is s3_post_policy_max(). */
enum s3_err s3_post_size_check(const struct s3_post_policy *p, int64_t size);
int64_t s3_post_policy_max(const struct s3_post_policy *p);

#endif
