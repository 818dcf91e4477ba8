/* sigv2.h -- AWS Signature Version 2 for S3: the "AWS AKID:sig" header and
 * the AWSAccessKeyId/Signature/Expires query string. Still what the AWS CLI
 * (`aws s3 presign`) and boto3's generate_presigned_url produce by default,
 * so real clients need it. HMAC-SHA1, compared in constant time. */
#ifndef COFFER_AUTH_SIGV2_H
#define COFFER_AUTH_SIGV2_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/auth_err.h"
#include "auth/sigv4.h"
#include "util/arena.h"
#include "util/str.h"

struct sigv2_auth {
    bool is_presigned;
    struct str access_key_id;
    struct str signature; /* base64 */
    int64_t expires_s;    /* presigned only */
};

/* True if the request is signed with SigV2 (header or query); then *out is
 * filled or an error returned in *err. */
bool sigv2_detect(const struct sigv4_input *in, struct arena *a, struct sigv2_auth *out,
                  enum auth_err *err);
/* bucket_vhost: the bucket when addressed virtual-hosted style (it is then
 * part of the signed resource), STR_NULL for path style. */
enum auth_err sigv2_verify(const struct sigv4_input *in, const struct sigv2_auth *auth,
                           struct str secret, struct str bucket_vhost, struct arena *a,
                           const char **msg);

#endif
