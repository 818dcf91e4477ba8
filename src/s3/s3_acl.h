/* s3_acl.h -- access control lists as S3 keeps them under Object Ownership
 * [spec-authorization §6]: canned ACLs, x-amz-grant-* headers and the
 * AccessControlPolicy document turned into grants (pure functions of an
 * arena, for the unit tests and tests/fuzz/fuzz_acl.c), rendered back, and
 * what a grant allows. Grants are stored with md_acl_encode(), the owner's
 * FULL_CONTROL always first. Private to s3/: the handlers, the write paths
 * and the authorization facts are s3_acl_ops.c's. */
#ifndef COFFER_S3_S3_ACL_H
#define COFFER_S3_S3_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "s3/s3_err.h"
#include "store/md.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/str.h"

#define S3_ACL_MAX_GRANTS 100 /* [§2.6] */
#define S3_ACL_ALL_USERS "http://acs.amazonaws.com/groups/global/AllUsers"
#define S3_ACL_AUTH_USERS "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
#define S3_ACL_LOG_DELIVERY "http://acs.amazonaws.com/groups/s3/LogDelivery"
/* The canonical id S3 gives objects written anonymously [§1.5]. */
#define S3_ACL_ANON_ID "65a011a29cdf8ec533ec3d1ccaae921c"

/* The x-amz-acl and x-amz-grant-* headers of a request; STR_NULL when
 * absent. grant[] is indexed by enum md_perm. */
struct s3_acl_hdrs {
    struct str canned;
    struct str grant[5];
};

/* An ACL as a request asks for it, before its owner is known. */
struct s3_acl_req {
    bool present;        /* a canned ACL, grant headers or a document */
    struct str canned;   /* x-amz-acl; STR_NULL otherwise */
    struct md_grant *g;  /* explicit grants (headers or document), arena */
    size_t n;
    struct str owner_id; /* the document's Owner/ID; STR_NULL when absent */
};

/* Reads the headers: S3E_OK with *out (out->present false when there are
 * none), or an error with *msg (a constant) and *arg naming the header:
 * canned and grant headers together -> InvalidRequest; an unknown canned
 * ACL, a malformed grantee, an unknown group or more than
 * S3_ACL_MAX_GRANTS grants -> InvalidArgument; an emailAddress grantee ->
 * MethodNotAllowed (no longer accepted since 2025-10-01 [§6.2]).
 * Canonical ids come out lower-cased. Pure. */
enum s3_err s3_acl_parse_headers(struct arena *a, const struct s3_acl_hdrs *h,
                                 struct s3_acl_req *out, const char **msg, const char **arg);

/* Reads an AccessControlPolicy document (its Owner is optional; a
 * grantee's kind is told by its ID, URI or EmailAddress element, since
 * xsi:type is an attribute): S3E_OK with *out, MalformedXML, or the
 * header errors above for the grantees. Pure. */
enum s3_err s3_acl_parse_xml(struct arena *a, struct str body, struct s3_acl_req *out,
                             const char **msg);

/* The grants r means for a resource owned by owner (a canonical id) in a
 * bucket owned by bucket_owner: the owner's FULL_CONTROL first, then the
 * rest in order, duplicates dropped. bucket-owner-read and
 * bucket-owner-full-control name the bucket owner on objects and mean
 * private on buckets; aws-exec-read means private [§6.3 decision]. *g in
 * a. Pure; r must have come from the parsers. */
void s3_acl_resolve(struct arena *a, const struct s3_acl_req *r, bool object, struct str owner,
                    struct str bucket_owner, struct md_grant **g, size_t *n);

/* The stored text of a resource (NULL: never set) as grants; owner's
 * FULL_CONTROL alone when none or unreadable. */
void s3_acl_load(struct arena *a, struct str text, struct str owner, struct md_grant **g,
                 size_t *n);

/* A grant to AllUsers or AuthenticatedUsers [§7]. */
bool s3_acl_grant_is_public(const struct md_grant *g);
bool s3_acl_is_public(const struct md_grant *g, size_t n);
/* Every grant is FULL_CONTROL to owner. */
bool s3_acl_owner_only(const struct md_grant *g, size_t n, struct str owner);

/* Whether the grants give the caller want: FULL_CONTROL holds every
 * permission; caller_id is the canonical id CanonicalUser grants are
 * matched against (STR_NULL: none match), is_signed false for an
 * anonymous caller (AuthenticatedUsers needs a signature); ignore_public
 * drops the public groups [§7]. */
bool s3_acl_allows(const struct md_grant *g, size_t n, enum md_perm want, struct str caller_id,
                   bool is_signed, bool ignore_public);

/* Appends the AccessControlPolicy document. names[i] (may be NULL, or
 * hold empty entries) is the DisplayName of a CanonicalUser grantee g[i].
 * ignore_public leaves the public groups out (the effective ACL under
 * IgnorePublicAcls [§7]). 0 or -E2BIG. */
int s3_acl_render(struct buf *x, struct str owner_id, struct str owner_name,
                  const struct md_grant *g, const struct str *names, size_t n,
                  bool ignore_public);

/* ---- requests (s3_acl_ops.c) ---------------------------------------------- */
struct s3_req;

/* x-amz-acl / x-amz-grant-* of PutObject, CopyObject and
 * CreateMultipartUpload judged against the request's bucket (q->b): under
 * BucketOwnerEnforced only the owner's full control (400
 * AccessControlListNotSupported otherwise); with ACLs enabled any ACL, a
 * public one refused under BlockPublicAcls (AccessDenied), and
 * s3:PutObjectAcl asked for unless it is bucket-owner-full-control.
 * Sets q->acl_owner_id (the new object's owner [§6.1]) and q->acl_text
 * (p == NULL: nothing to store). A missing bucket is left to the handler. */
enum s3_err s3_acl_write_check(struct s3_req *q);

/* CreateBucket's x-amz-acl / x-amz-grant-* for a bucket created with
 * Object Ownership own: *text (p == NULL: none to store), or
 * InvalidBucketAclWithObjectOwnership (anything but the owner's full
 * control under BucketOwnerEnforced), AccessDenied (a public ACL: a new
 * bucket blocks public ACLs; or no s3:PutBucketAcl), the parse errors. */
enum s3_err s3_acl_create_bucket(struct s3_req *q, enum md_ownership own, struct str *text);

/* The ACL facts of one authorization (s3_authz.c): whether a grant allows
 * action on resource (the ARN authorized: b's, or one of its objects') to
 * the caller, and whether that object is owned by another account than
 * the bucket's [§1.6, §6.4]. Nothing to do, and no read, on a
 * BucketOwnerEnforced bucket or without one; object reads and ACL actions
 * read the version row vid names (STR_NULL: the current one) with one
 * md_version_get(). S3E_OK or S3E_INTERNAL. */
enum s3_err s3_acl_facts(struct s3_req *q, const struct md_bucket *b, struct str resource,
                         struct str vid, const char *action, bool *acl_allows, bool *foreign);

#endif
