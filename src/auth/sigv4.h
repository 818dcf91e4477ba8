/* sigv4.h -- AWS Signature Version 4 for S3 (and the IAM/STS APIs sharing the
 * endpoint): the Authorization header and presigned-query forms, and the
 * aws-chunked body decoder that checks chunk and trailer signatures as data
 * streams. It neither looks up keys nor knows the configured region: the
 * caller maps access_key_id to a secret and checks region and service. */
#ifndef COFFER_AUTH_SIGV4_H
#define COFFER_AUTH_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth_err.h"
#include "util/str.h"

struct arena;

struct sigv4_hdr {
    struct str name, value; /* as received; name case as sent */
};

struct sigv4_input {
    struct str method; /* "GET" */
    struct str path;   /* raw request-target path as sent, percent-encoded, no query */
    struct str query;  /* raw query string without '?', possibly empty */
    const struct sigv4_hdr *hdrs;
    size_t n_hdrs;
    int64_t now_s; /* server clock, seconds */
};

enum sigv4_payload {
    SIGV4_SHA256,                    /* x-amz-content-sha256: <64 hex> */
    SIGV4_UNSIGNED,                  /* UNSIGNED-PAYLOAD */
    SIGV4_STREAMING,                 /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
    SIGV4_STREAMING_TRAILER,         /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER */
    SIGV4_STREAMING_UNSIGNED_TRAILER /* STREAMING-UNSIGNED-PAYLOAD-TRAILER */
};

/* What sigv4_parse() found. The str fields point into the input's headers and
 * query or into the arena: valid as long as both are. */
struct sigv4_auth {
    bool is_anonymous; /* neither Authorization nor X-Amz-Algorithm present */
    bool is_presigned;
    struct str access_key_id, date8, region, service, signed_headers, signature, amz_date,
        session_token;                 /* session_token: x-amz-security-token (header or query) */
    int64_t request_time_s, expires_s; /* expires_s: X-Amz-Expires, 0 for header auth */
    enum sigv4_payload payload;
    /* 64 lower-case hex when payload == SIGV4_SHA256. STR_NULL when an iam/sts
     * request has no x-amz-content-sha256: the caller then hashes the (capped)
     * body and stores the hex here (arena) before sigv4_verify(). */
    struct str payload_hash;
    struct str content_sha256; /* raw x-amz-content-sha256 header, STR_NULL if absent */
    struct str trailer;        /* x-amz-trailer value, if any */
    int64_t decoded_length;    /* x-amz-decoded-content-length, -1 if absent */
};

/* Filled by a successful sigv4_verify() for the chunked decoder. */
struct sigv4_ctx {
    unsigned char signing_key[32];
    char seed_signature[65];
    char scope[128]; /* "20130524/us-east-1/s3/aws4_request" */
    char amz_date[17];
};

/* Reads the authentication parameters of a request (no crypto, no clock).
 * Returns AUTH_E_OK with *out filled (is_anonymous when unsigned), or:
 * AUTH_E_AUTH_HEADER_MALFORMED / AUTH_E_AUTH_QUERY_MALFORMED (bad fields),
 * AUTH_E_INVALID_REQUEST (another algorithm, e.g. SigV2),
 * AUTH_E_INVALID_ARGUMENT (header and query auth at once; bad decoded length),
 * AUTH_E_ACCESS_DENIED (no usable Date/x-amz-date),
 * AUTH_E_INVALID_CONTENT_SHA256 (bad x-amz-content-sha256).
 * On error *msg gets an AWS-style message (static or arena); else untouched. */
enum auth_err sigv4_parse(const struct sigv4_input *in, struct arena *a, struct sigv4_auth *out,
                          const char **msg);

/* Checks a parsed, non-anonymous request against the secret of its access key:
 * credential date, clock skew (15 min) or presigned expiry, that every x-amz-*
 * header is signed, then the signature (constant-time). On AUTH_E_OK fills *ctx.
 * Errors: AUTH_E_AUTH_HEADER_MALFORMED / AUTH_E_AUTH_QUERY_MALFORMED (scope date is
 * not the request date), AUTH_E_REQUEST_TIME_TOO_SKEWED, AUTH_E_ACCESS_DENIED
 * ("Request has expired", unsigned x-amz-* headers),
 * AUTH_E_REQUEST_HEADER_TOO_LARGE, AUTH_E_SIGNATURE_DOES_NOT_MATCH. On error
 * *msg gets the detail message, or NULL where the error's own text applies
 * (clock skew, header size, signature mismatch). The arena holds temporary
 * copies only. */
enum auth_err sigv4_verify(const struct sigv4_input *in, const struct sigv4_auth *auth,
                           struct str secret, struct arena *a, struct sigv4_ctx *ctx,
                           const char **msg);

/* kSigning = HMAC chain over "AWS4"+secret, date8, region, service, "aws4_request". */
void sigv4_signing_key(struct str secret, struct str date8, struct str region, struct str service,
                       unsigned char out[32]);

/* ---- aws-chunked request bodies ---------------------------------------
 * Decodes STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] (each chunk's signature
 * chained from the seed signature and checked as its data ends; data is hashed
 * as it streams, never buffered) and STREAMING-UNSIGNED-PAYLOAD-TRAILER. Input
 * may arrive in fragments of any size. Data reaches the sink before its chunk
 * signature is checked: on any error the caller must discard what it stored.
 * Caps: chunk-size line 144 bytes, chunk size S3_MAX_CHUNK_BYTES, trailer
 * section 8 KiB. x-amz-decoded-content-length is the caller's to compare. */
struct sigv4_chunked;

/* auth->payload must be a STREAMING mode; ctx (from sigv4_verify()) may be
 * NULL only for SIGV4_STREAMING_UNSIGNED_TRAILER. Caller owns the result. */
struct sigv4_chunked *sigv4_chunked_new(const struct sigv4_auth *auth, const struct sigv4_ctx *ctx);
void sigv4_chunked_free(struct sigv4_chunked *d); /* NULL ok */

typedef int (*sigv4_sink)(void *arg, const char *p, size_t n); /* return <0 to abort */

/* Consumes n body bytes, passing decoded data to sink. AUTH_E_OK, or
 * AUTH_E_INVALID_CHUNK_ENCODING (framing, caps), AUTH_E_SIGNATURE_DOES_NOT_MATCH, or
 * AUTH_E_INTERNAL when the sink aborted (the caller knows why). Errors stick. */
enum auth_err sigv4_chunked_feed(struct sigv4_chunked *d, const char *p, size_t n, sigv4_sink sink,
                                 void *arg);
/* After the body ended: AUTH_E_OK if the final chunk (and trailers, with their
 * signature in the signed trailer mode) arrived, else AUTH_E_INCOMPLETE_BODY or
 * the sticky error. A missing CRLF after the final chunk is tolerated. */
enum auth_err sigv4_chunked_finish(struct sigv4_chunked *d);
/* Value of trailer name (case-insensitive), trimmed. Borrowed: valid until
 * sigv4_chunked_free(). STR_NULL if absent. */
struct str sigv4_chunked_trailer(const struct sigv4_chunked *d, const char *name);
int64_t sigv4_chunked_decoded(const struct sigv4_chunked *d); /* data bytes so far */

#endif
