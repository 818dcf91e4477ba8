/* s3_cors.h -- a bucket's CORS configuration as pure functions: parsing and
 * validating a PutBucketCors body as S3 does, writing it back as the
 * server's canonical XML (what the bucket row stores and GetBucketCors
 * returns), and finding the rule a browser request matches. No I/O, so the
 * unit tests and the libFuzzer target reach it without a server. The
 * handlers, the preflight and the response headers are s3_cors_http.c's. */
#ifndef COFFER_S3_S3_CORS_H
#define COFFER_S3_S3_CORS_H

#include <stdbool.h>
#include <stddef.h>

#include "s3/s3_err.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/str.h"

#define S3_CORS_MAX_RULES 100 /* AWS: not adjustable */
#define S3_CORS_MAX_ID 255    /* characters */

/* The methods a rule may allow, as bits of s3_cors_rule.methods. */
enum s3_cors_method {
    S3_CORS_GET = 1 << 0,
    S3_CORS_PUT = 1 << 1,
    S3_CORS_HEAD = 1 << 2,
    S3_CORS_POST = 1 << 3,
    S3_CORS_DELETE = 1 << 4,
};

/* One CORSRule. Strings point into the arena given to s3_cors_parse(),
 * XML white space trimmed; lists keep the document's order. */
struct s3_cors_rule {
    struct str id; /* STR_NULL: none */
    unsigned methods;
    struct str *origins, *headers, *expose;
    size_t n_origins, n_headers, n_expose;
    bool has_max_age;
    long long max_age; /* seconds, when has_max_age */
};

struct s3_cors {
    struct s3_cors_rule *rules; /* in the order sent: the first match wins */
    size_t n_rules;
};

/* Checks body against the CORSConfiguration schema and S3's rules: S3E_OK
 * with *out filled (arena), S3E_MALFORMED_XML (not well-formed, wrong
 * shape, no rule, a rule without AllowedMethod or AllowedOrigin, a bad
 * MaxAgeSeconds), or S3E_INVALID_REQUEST with *msg (arena or static) for
 * too many rules, an unsupported method, more than one wildcard in an
 * AllowedOrigin or AllowedHeader, a wildcard or a line break in an
 * ExposeHeader, or an ID over 255 characters. The first fault in document order is the answer. */
enum s3_err s3_cors_parse(struct arena *a, struct str body, struct s3_cors *out,
                          const char **msg);

/* Appends the canonical document for c (declaration, S3's namespace, each
 * rule's elements in a fixed order). 0, or -E2BIG past b's maximum. */
int s3_cors_write(const struct s3_cors *c, struct buf *b);

/* True when s matches pattern, which holds at most one '*' standing for
 * any run of characters (empty too); ASCII case-insensitive if nocase. */
bool s3_cors_wildcard(struct str pattern, struct str s, bool nocase);

/* The bit of an HTTP method name (exact, upper case), or 0. */
unsigned s3_cors_method_bit(struct str method);

/* The first rule allowing origin, method and, for a preflight, every name
 * in req_headers (the comma-separated Access-Control-Request-Headers;
 * STR_NULL or blank: none asked): NULL if none does. Borrowed from c. */
const struct s3_cors_rule *s3_cors_match(const struct s3_cors *c, struct str origin,
                                         struct str method, struct str req_headers);

/* True when the first of r's origins that matches origin is "*": the
 * responses then say '*' and never allow credentials. */
bool s3_cors_any_origin(const struct s3_cors_rule *r, struct str origin);

#endif
