/* mfa.h -- MFA delete enforcement: the x-amz-mfa header, who may use it,
 * and the code check against the bucket owner's device, in the order of
 * [spec-mfa-delete §1.6] with Coffer's decisions. Failures are written to
 * the audit log here; codes and seeds never leave this module. */
#ifndef COFFER_AUTH_MFA_H
#define COFFER_AUTH_MFA_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/auth_err.h"
#include "util/arena.h"
#include "util/str.h"

struct md;
struct mx_family;

/* What the s3 layer knows about the request. */
struct mfa_req {
    bool is_tls;
    struct str header;        /* x-amz-mfa value; p == NULL when absent */
    bool has_session_token;   /* signed with temporary credentials */
    int64_t account_id;       /* caller's account */
    int64_t user_id;          /* caller: 0 = root */
    struct str principal;     /* for the audit log, e.g. "account:alice/user:bob" */
    int64_t bucket_owner_id;  /* account owning the bucket */
    struct str bucket, key, version_id; /* for the audit log */
    const char *action;       /* "PutBucketVersioning", "DeleteObject", "DeleteObjects" */
    const char *source;       /* client address */
    int64_t now_ms;           /* clock (tests pass a fake one); audit times keep its ms */
};

struct md_audit;

/* Fills *e as the audit record of m at time_ms (principal, bucket, source;
 * key and version from m unless key.p != NULL) for md_audit_append(),
 * inside the caller's own md_write closure so that an event and the state
 * change it records commit together. detail must not contain codes or
 * seeds. Strings are borrowed from m and detail. */
void mfa_audit_record(const struct mfa_req *m, int64_t time_ms, const char *event,
                      const char *detail, struct str key, struct str vid, struct md_audit *e);

/* Error detail beside the code, rendered by s3_route.c. */
struct mfa_err {
    const char *msg;
    const char *arg_name, *arg_value;
};

/* Steps 1, 2 and 6 for ANY request carrying x-amz-mfa, before anything else:
 * plain HTTP -> 400 InvalidRequest "Requests that include x-amz-mfa must use
 * HTTPS"; malformed -> 400 InvalidArgument "Mfa header is invalid -- ..."
 * (ArgumentName x-amz-mfa, ArgumentValue the header); temporary credentials
 * -> 400 InvalidRequest "DevPay and Mfa are mutually exclusive authorization
 * methods: ... long-term root access keys". AUTH_E_OK when the header is absent or well-formed. */
enum auth_err mfa_precheck(const struct mfa_req *m, struct arena *a, struct mfa_err *e);

/* mfa_precheck() that also appends a "mfa.check_failed" audit row for a
 * refusal (detail "<action>: over HTTP", "malformed header" or "session
 * credentials"; the header's value is never recorded). m must be complete
 * (principal, bucket, source) as for mfa_require(). */
enum auth_err mfa_precheck_audit(struct md *md, const struct mfa_req *m, struct arena *a,
                                 struct mfa_err *e);

/* Steps 3-5 where MFA is required: header absent -> 403 AccessDenied "Mfa
 * Authentication must be used for this request"; caller not the bucket
 * owner's root -> 403 "This operation may only be performed by the bucket
 * owner" (for an IAM user or role of the owner account, with ": MFA delete
 * needs the owner account's root user; ..."); then the code is checked against the owner root's device named by
 * the serial (unknown serial, wrong, expired or replayed code -> 403 "MFA
 * authentication failed: the code is invalid, expired or already used";
 * throttled -> 403 "Too many failed MFA attempts; retry in N seconds").
 * Consumes a valid code. Every failure is audited. */
enum auth_err mfa_require(struct md *md, const struct mfa_req *m, struct arena *a,
                          struct mfa_err *e);

/* Decision 6: a present header is verified even where MFA is not required:
 * the serial must name an enabled device of the caller's own principal
 * (another principal's device is refused and left untouched: its failure
 * budget is its owner's), the code must pass; a valid code is consumed.
 * AUTH_E_OK when the header is absent. */
/* Counts one MFA code check (x-amz-mfa here, STS in iam/) in
 * coffer_mfa_checks_total{result}: result is a static string, one of "ok",
 * "invalid", "replayed", "throttled", "unknown_device", "missing",
 * "not_owner", "insecure", "malformed", "session_credentials", "error". */
extern const struct mx_family mfa_checks_total;
void mfa_count(const char *result);

enum auth_err mfa_verify_present(struct md *md, const struct mfa_req *m, struct arena *a,
                                 struct mfa_err *e);

/* Appends one audit record in its own transaction (for events with no other
 * write to ride on). detail must not contain codes or seeds. */
void mfa_audit(struct md *md, const struct mfa_req *m, const char *event, const char *detail);

#endif
