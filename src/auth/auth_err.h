/* auth_err.h -- enum auth_err: how auth/ (SigV2, SigV4, aws-chunked bodies,
 * MFA) refuses a request. AUTH_E_OK == 0. Each member is named after the S3
 * error it becomes: s3_err_from_auth() (s3/s3_err.c) is the one mapping,
 * built from AUTH_ERRORS. Detail (a message, ArgumentName/Value) travels
 * beside the code, as each function documents. */
#ifndef COFFER_AUTH_AUTH_ERR_H
#define COFFER_AUTH_AUTH_ERR_H

#define AUTH_ERRORS(X)                                                                             \
    X(ACCESS_DENIED)            /* no usable date, expired, unsigned x-amz-*, MFA refused */       \
    X(AUTH_HEADER_MALFORMED)    /* Authorization header fields */                                  \
    X(AUTH_QUERY_MALFORMED)     /* presigned query fields */                                       \
    X(INVALID_REQUEST)          /* another algorithm; x-amz-mfa over HTTP or with a session */     \
    X(INVALID_ARGUMENT)         /* two auth mechanisms; bad decoded length; bad x-amz-mfa */       \
    X(INVALID_CONTENT_SHA256)   /* x-amz-content-sha256 neither a mode nor 64 hex */               \
    X(REQUEST_TIME_TOO_SKEWED)  /* more than 15 minutes off the server clock */                    \
    X(REQUEST_HEADER_TOO_LARGE) /* canonical request over its cap */                               \
    X(SIGNATURE_DOES_NOT_MATCH) /* request, chunk or trailer signature */                          \
    X(INVALID_CHUNK_ENCODING)   /* aws-chunked framing or caps */                                  \
    X(INCOMPLETE_BODY)          /* aws-chunked body ended early */                                 \
    X(INTERNAL)                 /* a chunked sink aborted; cannot-happen paths */                  \
    X(STORAGE_FULL)             /* store write failed: -ENOSPC, -EDQUOT */                         \
    X(SLOW_DOWN)                /* store write failed: -EBUSY (meta.db locked elsewhere) */        \
    X(ENTITY_TOO_LARGE)         /* store write failed: -E2BIG */

enum auth_err {
    AUTH_E_OK = 0,
#define AUTH_ERR_ENUM(name) AUTH_E_##name,
    AUTH_ERRORS(AUTH_ERR_ENUM)
#undef AUTH_ERR_ENUM
};

#endif
