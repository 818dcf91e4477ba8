/* s3_int.h -- shared by the files of s3/ only: the request as the handlers
 * see it, the operation table, and helpers every handler uses. */
#ifndef COFFER_S3_S3_INT_H
#define COFFER_S3_S3_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/policy.h"
#include "auth/sigv2.h"
#include "auth/sigv4.h"
#include "core/core_err.h"
#include "http/http_server.h"
#include "s3/s3.h"
#include "s3/s3_err.h"
#include "store/md.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/str.h"

#define S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/" /* S3's XML namespace */

struct s3_param {
    struct str name, value; /* percent-decoded; value.p == NULL for "?acl" */
};

enum s3_op {
#define S3_OP(name, method, level, sub, fn, action, vaction, bucket, body, loop) S3OP_##name,
#include "s3/s3_ops.def"
#undef S3_OP
    S3OP__COUNT
};

/* The phases s3_handle() runs, in this order (s3_route.c, nginx's
 * ngx_http_phases in small). q->phase is the next one to run: a request the
 * loop thread hands to a worker resumes there, with what the phases before
 * it found. */
enum s3_phase {
    S3PH_PARSE,        /* query parameters, bucket and key */
    S3PH_AUTHENTICATE, /* the signature: account_id, user_id, account, key_info */
    S3PH_ROUTE,        /* the operation (after authenticating: a bad signature
                        * learns nothing, not even NotImplemented) */
    S3PH_BUCKET,       /* the bucket row, once: b, bucket_err */
    S3PH_AUTHORIZE,    /* s3_authorize(): action, MFA, the bucket owner */
    S3PH_OPERATION,    /* the handler of s3_ops.def */
    S3PH_LOG,          /* the error document and the internal-error line */
};

/* Who is asking, as policies see it (s3_authz_principal()). */
struct s3_principal {
    bool is_set;
    bool anonymous;
    bool is_root;          /* the account's root (long-term or session keys) */
    const char *type;      /* aws:PrincipalType: Account, User, Anonymous */
    struct str userid;     /* aws:userid */
    struct str user_name;  /* aws:username; empty unless an IAM user */
    char account12[13];    /* the caller's account as 12 digits */
    struct policy_principal who;
};

struct s3_cors_resp; /* s3_cors_http.c */

/* The request lives in the HTTP request's arena and is its app_state
 * (http_server.h), so that it survives the loop-to-worker hand-off. */
struct s3_req {
    struct http_req *http;
    struct srv *srv;
    struct arena *arena;
    enum s3_op op;
    const char *op_name;
    enum s3_phase phase;  /* the next phase to run */
    enum s3_err err;      /* the phases' outcome, rendered by the log phase */
    bool auth_parsed;     /* the authenticate phase got past auth_parse() */
    const char *action;   /* the IAM action authorized ("s3:GetObject") */
    enum { S3_AUTHZ_NONE, S3_AUTHZ_ALLOW, S3_AUTHZ_DENY } authz; /* its verdict */
    struct md_bucket b;   /* the bucket phase's row when bucket_err is S3E_OK */
    enum s3_err bucket_err; /* NoSuchBucket, InternalError, or the authorize
                             * phase's verdict on b: see s3_req_bucket() */

    struct str bucket;    /* decoded; STR_NULL at the service level */
    struct str key;       /* decoded; STR_NULL at the bucket level */
    struct str control;   /* S3 Control (/v20180820/REST, x-amz-account-id):
                           * REST, decoded; STR_NULL for S3 requests */
    struct s3_param *params;
    size_t n_params;

    bool is_vhost;        /* bucket came from the Host header */
    bool is_sigv2;        /* signed with SigV2 (v2 holds it; auth is filled for the rest) */
    bool is_post_form;    /* a browser POST upload, signed (or not) by its form
                           * fields (s3_post.c); s3:authType is "POST" */
    struct str post_acl;  /* its acl field, read where x-amz-acl would be */
    struct sigv2_auth v2;
    struct sigv4_auth auth;
    struct sigv4_ctx sig;
    int64_t account_id;   /* authenticated principal's account */
    int64_t user_id;      /* 0 = root */
    struct md_account account;
    struct md_key key_info; /* the signing key's row (session fields included) */
    struct s3_principal pr; /* filled by the authorize phase */
    /* What a write's ACL headers ask for (s3_acl_write_check()): the new
     * object's owner and its ACL text (p == NULL: none to store). */
    int64_t acl_owner_id;
    struct str acl_text;
    /* What a write's tags ask for (s3_tagging_write_check()): md_tags_encode()
     * text to store with the new version (p == NULL: none). A POST upload's
     * tagging field, a <Tagging> document, is read where x-amz-tagging
     * would be; PutObjectTagging's parsed body is req_tags (has_req_tags),
     * which the s3:RequestObjectTag keys read. */
    struct str tag_text;
    struct str post_tagging;
    bool has_req_tags;
    const struct md_tag *req_tags;
    size_t n_req_tags;

    /* The Access-Control-* headers an Origin earns on this bucket (the
     * bucket phase, s3_cors_prepare()); NULL: none. cors_sent: added to
     * the response this thread is building (the loop thread's are dropped
     * when a worker takes over). */
    const struct s3_cors_resp *cors;
    bool cors_sent;

    /* Error detail rendered by s3_route.c beside the code. */
    const char *err_msg;
    const char *err_arg_name, *err_arg_value;
    struct str err_key, err_version_id;
    const char *err_method, *err_resource_type;
    const char *err_extra_xml; /* pre-rendered elements, already escaped */
};

/* Query parameter by exact name; value (percent-decoded) or STR_NULL.
 * *present tells whether it appeared at all (may be NULL). */
struct str s3_param(const struct s3_req *q, const char *name, bool *present);
bool s3_has_param(const struct s3_req *q, const char *name);

/* Checks the parsed signature in q->auth against the key store and fills
 * account_id, user_id, account and key_info. For iam/sts requests without
 * x-amz-content-sha256 the caller first puts the body's SHA-256 hex into
 * q->auth.payload_hash. */
enum s3_err s3_auth_verify(struct s3_req *q);
/* The caller signed with key (its signature checked): a session key needs
 * q->auth.session_token to match and its session not to have expired; then
 * account_id, user_id, account and key_info are set. S3E_OK,
 * InvalidAccessKeyId, InvalidToken, ExpiredToken or InternalError. */
enum s3_err s3_auth_caller(struct s3_req *q, const struct md_key *key);

/* The access log's S3 fields: who, which IAM action, the authorization
 * verdict and the error code ("" for none); http/ adds them to the
 * request's line. */
void s3_log_fields(struct s3_req *q, const char *error_code);

/* Response helpers. */
int s3_reply_xml(struct s3_req *q, int status, struct buf *xml); /* frees xml */
/* A document built with rc |= xml_...(): sent with 200 when rc == 0
 * (S3E_OK), else freed (S3E_INTERNAL). */
enum s3_err s3_reply_built(struct s3_req *q, int rc, struct buf *xml);
/* A bucket's stored configuration document doc (lifecycle, CORS) as the
 * answer, or, when doc.p == NULL, the error none naming bucket b as S3's
 * "no such configuration" errors do. */
enum s3_err s3_reply_stored(struct s3_req *q, const struct md_bucket *b, struct str doc,
                            enum s3_err none);
int s3_reply_empty(struct s3_req *q, int status);
void s3_set_error_detail(struct s3_req *q, const char *msg);
/* Sets q->err_extra_xml to the elements <tag1>v1</tag1><tag2>v2</tag2>
 * (escaped; a NULL tag is left out), rendered inside the error document. */
void s3_err_elems(struct s3_req *q, const char *tag1, struct str v1, const char *tag2,
                  struct str v2);

/* What the authorize phase decides on. */
struct s3_access {
    const char *action;             /* the IAM action, e.g. "s3:GetObject" */
    const struct md_bucket *bucket; /* the bucket acted on; NULL: none (the
                                     * service, CreateBucket, or none found) */
    struct str key;                 /* the object; STR_NULL: the bucket */
    struct str vid;                 /* the version the action names; STR_NULL: none */
    bool copy_source;               /* the source of CopyObject or UploadPartCopy */
    struct str resource;            /* S3 Control: the resource's ARN, decided
                                     * on instead of a bucket's (STR_NULL: none) */
    bool defer;                     /* only the checks before the decision: the
                                     * handler decides (no bucket: NoSuchBucket;
                                     * DeleteObjects per key; POST uploads) */
};

/* The one authorization decision, for every operation (the authorize phase
 * of s3_handle()), for the source of a copy, and so for the loop-thread fast
 * path too. Today's checks: the x-amz-mfa route check (the request only:
 * s3_mfa_route_check()) and the bucket owner. Nothing evaluates
 * a->action yet: the request's is kept in q->action.
 * A copy source: S3E_OK or S3E_ACCESS_DENIED.
 * The request: S3E_OK or the MFA check's error, which stops the request
 * at once; the verdict on its bucket goes to q->bucket_err, answered where
 * the handler takes its bucket (s3_req_bucket()), so that the handler's own
 * checks of the request keep answering first, as they always have. */
enum s3_err s3_authorize(struct s3_req *q, const struct s3_access *a);

/* The request's bucket as the bucket phase loaded it, with the verdict
 * on it: S3E_OK (*b filled), S3E_NO_SUCH_BUCKET, S3E_ACCESS_DENIED or
 * S3E_INTERNAL. Handlers call it where they first need the bucket; nothing
 * is read again. Handlers that must see the row as their write transaction
 * does re-read it there. */
enum s3_err s3_req_bucket(struct s3_req *q, struct md_bucket *b);

/* Body reading with every SigV4 payload mode, Content-MD5 and
 * x-amz-checksum-* verification (header or trailer). */
struct s3_body;
struct s3_body_result {
    unsigned char md5[16];
    int cksum_algo;            /* enum cksum_algo; CKSUM_NONE if none asked */
    unsigned char cksum[32];
    size_t cksum_len;
    int64_t size;
};
/* Prepares to read the request body. want_algo: also compute this checksum
 * even if the client sent none (CKSUM_NONE for none). */
enum s3_err s3_body_open(struct s3_req *q, int want_algo, struct s3_body **out);
/* Decoded payload bytes: > 0, 0 at end, or -1 with *err set. */
ssize_t s3_body_read(struct s3_body *b, void *p, size_t n, enum s3_err *err);
/* The decoded length the request declares, or -1 when it declares none. */
int64_t s3_body_expected(const struct s3_body *b);
/* After reading to the end: verifies sha256 / MD5 / checksums, decoded length. */
enum s3_err s3_body_finish(struct s3_body *b, struct s3_body_result *res);
void s3_body_free(struct s3_body *b);
/* Reads a whole small body (XML) of at most max bytes into the arena. */
enum s3_err s3_body_read_all(struct s3_req *q, size_t max, struct str *out);
/* A bucket configuration's body (at most S3_MAX_XML_BODY): blank ->
 * MissingRequestBody; without Content-MD5 or a checksum where AWS requires
 * one (checksum_required) -> InvalidRequest. */
enum s3_err s3_config_body(struct s3_req *q, bool checksum_required, struct str *out);
/* True when s holds only XML white space (or nothing). */
bool s3_is_blank(struct str s);

/* CORS (s3_cors_http.c). The preflight: an OPTIONS request, answered
 * before authentication (200 with the matching rule's headers, 400
 * BadRequest, 403 AccessForbidden, or InternalError). s3_cors_prepare():
 * in the bucket phase, q->cors for the request's Origin and method against
 * q->b's rules (nothing without an Origin or a configuration).
 * s3_cors_headers(): adds q->cors to the response once, on success and
 * error alike. */
enum s3_err s3_cors_preflight(struct s3_req *q);
void s3_cors_prepare(struct s3_req *q);
void s3_cors_headers(struct s3_req *q);

/* Handlers: one per operation in s3_ops.def. */
#define S3_OP(name, method, level, sub, fn, action, vaction, bucket, body, loop)                   \
    enum s3_err fn(struct s3_req *q);
#include "s3/s3_ops.def"
#undef S3_OP

/* Request bodies as pure functions of (arena, body), so unit tests and the
 * libFuzzer target (tests/fuzz/fuzz_xml.c) reach them without a request.
 * Results point into the arena. */

/* PutBucketVersioning: what <VersioningConfiguration> asks for. */
struct s3_versioning_req {
    enum md_versioning status; /* MD_VER_NONE when the element is absent */
    enum md_mfa mfa;           /* MD_MFA_UNSET when the element is absent */
};
/* S3E_OK with *out filled, S3E_MALFORMED_XML, or
 * S3E_ILLEGAL_VERSIONING_CONFIG when Status is missing (s3_bucket.c). */
enum s3_err s3_parse_versioning(struct arena *a, struct str body, struct s3_versioning_req *out);

/* CreateBucket's optional CreateBucketConfiguration: S3E_OK with *lc the
 * region asked for (STR_NULL when none: a blank body or no
 * LocationConstraint), S3E_MALFORMED_XML, S3E_INVALID_LOCATION_CONSTRAINT,
 * or S3E_NOT_IMPLEMENTED with *unsupported naming the element (arena). The
 * caller compares *lc with its own region (s3_bucket.c). */
enum s3_err s3_parse_location(struct arena *a, struct str body, struct str *lc,
                              const char **unsupported);

/* <PublicAccessBlockConfiguration> and <OwnershipControls> (s3_policy.c):
 * S3E_OK with *out, or S3E_MALFORMED_XML. */
enum s3_err s3_parse_public_access_block(struct arena *a, struct str body, struct md_pab *out);
enum s3_err s3_parse_ownership(struct arena *a, struct str body, enum md_ownership *out);
/* Block Public Access for the audit log ("BlockPublicAcls=1 ..."), and as
 * the <PublicAccessBlockConfiguration> answer in namespace xmlns (404
 * NoSuchPublicAccessBlockConfiguration when none is configured):
 * PublicAccessBlock of a bucket and of an account (s3_control.c). */
const char *s3_pab_detail(struct arena *a, const struct md_pab *p);
enum s3_err s3_reply_pab(struct s3_req *q, const struct md_pab *p, const char *xmlns);

/* One <Object> of a DeleteObjects body. */
struct s3_delete_obj {
    struct str key; /* as sent: not yet checked with s3_key_check() */
    struct str vid; /* <VersionId>, STR_NULL when absent */
    struct str etag; /* <ETag>: delete only if the current version has it */
};
/* DeleteObjects' <Delete>: S3E_OK with 1..S3_MAX_DELETE_KEYS objects in
 * *objs (arena) and *quiet, S3E_MALFORMED_XML, or S3E_NOT_IMPLEMENTED for
 * an Object with <LastModifiedTime> or <Size> (directory buckets' only)
 * (s3_object_delete.c). */
enum s3_err s3_parse_delete(struct arena *a, struct str body, bool *quiet,
                            struct s3_delete_obj **objs, size_t *n_objs);

/* ?versionId of GET, HEAD and DELETE: S3E_OK with *vid (STR_NULL when
 * absent), or S3E_INVALID_ARGUMENT (detail set) for an empty or malformed
 * id [spec-mfa-delete §4.2] (s3_object.c). */
enum s3_err s3_version_param(struct s3_req *q, struct str *vid);

/* What a read of one version (GET, HEAD, GetObjectAttributes) answers for
 * what core's version lookup returned (e, with *v): S3E_OK for a version
 * to read; NoSuchKey or NoSuchVersion (or 403 for a caller who may not
 * s3:ListBucket [spec-authorization §1.7 step 5]); for a current delete
 * marker 404 NoSuchKey, for one named by vid 405 MethodNotAllowed, both
 * with x-amz-delete-marker (s3_object.c). */
enum s3_err s3_read_answer(struct s3_req *q, enum core_err e, struct str vid,
                           const struct md_version *v);

/* The version ?versionId names (or the current one) for an operation on
 * one of its sub-resources (?acl, ?tagging): S3E_OK with *v and
 * x-amz-version-id set on a versioned bucket; NoSuchKey, NoSuchVersion, or
 * 405 MethodNotAllowed with x-amz-delete-marker for a delete marker named
 * by id (s3_acl_ops.c). */
enum s3_err s3_object_version(struct s3_req *q, const struct md_bucket *b, struct md_version *v);
/* Stores text (p == NULL: none) as the ACL or the tag set of bucket b, or
 * of its version v (NULL: the bucket's own), or as b's CORS configuration
 * (v NULL), in a transaction that re-reads both: NoSuchBucket if b was
 * deleted (or made again) meanwhile, NoSuchKey if v went (s3_acl_ops.c). */
enum s3_column { S3_COL_ACL, S3_COL_TAGS, S3_COL_CORS };
enum s3_err s3_column_write(struct s3_req *q, const struct md_bucket *b, const struct md_version *v,
                            enum s3_column col, struct str text);

/* If-Match / If-None-Match: true if etag (unquoted) is in the
 * comma-separated list of quoted or bare ETags, or the list holds "*". */
bool s3_etag_matches(struct str list, struct str etag);

/* Shared by object handlers and listings. */
void s3_etag_quoted(struct str etag, char out[80]);
bool s3_bucket_name_valid(struct str name);
enum s3_err s3_key_check(struct str key);
/* x-amz-meta-* and the standard headers GET returns (Content-Encoding less
 * its aws-chunked token, which describes the transfer), as "name: value\n"
 * lines in the arena: PutObject, CopyObject with REPLACE and
 * CreateMultipartUpload. S3E_METADATA_TOO_LARGE past AWS's 2 KB of user
 * metadata. */
enum s3_err s3_collect_meta(struct s3_req *q, struct str *out);
/* A write's own conditions (If-Match, If-None-Match: *) for PutObject,
 * CopyObject's destination and CompleteMultipartUpload, checked by core/
 * in the writing transaction. Another If-None-Match: NotImplemented, as on
 * S3. */
struct object_cond;
enum s3_err s3_write_cond(struct s3_req *q, struct object_cond *c);
/* Headers a write carries that change what S3 stores, for PutObject,
 * CopyObject and CreateMultipartUpload, none accepted and ignored:
 * server-side encryption, object lock and tagging are refused with 501
 * NotImplemented naming the header; x-amz-acl and x-amz-grant-* are judged
 * by the bucket's Object Ownership [spec-authorization §6] and need
 * s3:PutObjectAcl too [§3.2]. */
enum s3_err s3_check_unsupported_headers(struct s3_req *q);
/* Storage classes (s3_storage_class.c). True for a class a version may be
 * stored in: STANDARD, REDUCED_REDUNDANCY, STANDARD_IA, ONEZONE_IA,
 * INTELLIGENT_TIERING, GLACIER_IR; false for the archive classes (GLACIER,
 * DEEP_ARCHIVE), the others S3 names and anything else. Pure. */
bool s3_storage_class_valid(struct str sc);
/* sc as sent (p == NULL: absent) -> what md_version/md_upload store: S3E_OK
 * with *stored STR_NULL for absent or STANDARD, else sc (borrowed); or
 * S3E_INVALID_STORAGE_CLASS. Pure. */
enum s3_err s3_storage_class_parse(struct str sc, struct str *stored);
/* The request's x-amz-storage-class through s3_storage_class_parse():
 * PutObject, CopyObject, CreateMultipartUpload. */
enum s3_err s3_storage_class_header(struct s3_req *q, struct str *stored);
/* The name to show for a stored class: "STANDARD" when empty. */
struct str s3_storage_class_name(struct str stored);
/* The attributes GetObjectAttributes may be asked for, as bits of a mask. */
enum s3_attr {
    S3_ATTR_ETAG,
    S3_ATTR_CHECKSUM,
    S3_ATTR_OBJECT_PARTS,
    S3_ATTR_STORAGE_CLASS,
    S3_ATTR_OBJECT_SIZE,
};
/* x-amz-object-attributes: comma-separated names, exact case, empty items
 * skipped. 0 with *mask (1u << enum s3_attr per name); -EINVAL with *bad
 * the first unknown name (borrowed from list); -ENOENT when no name is
 * given. Pure (s3_attributes.c). */
int s3_attrs_parse(struct str list, unsigned *mask, struct str *bad);

/* x-amz-website-redirect-location (a header, or a POST field): S3E_OK, or
 * S3E_INVALID_REDIRECT_LOCATION (detail set) unless it starts with "/",
 * "http://" or "https://" and is at most 2 KB, as AWS checks it. */
enum s3_err s3_redirect_check(struct s3_req *q, struct str v);

/* x-amz-copy-source of CopyObject and UploadPartCopy: [/]bucket/key
 * [?versionId=id], URL-encoded. Sets *sb, *sk (arena) and *svid (STR_NULL
 * when absent); a well-formed version id is required when the query is
 * there. S3E_INVALID_ARGUMENT with q->err_* set, or s3_key_check()'s error
 * (s3_object.c). */
enum s3_err s3_parse_copy_source(struct s3_req *q, struct str *sb, struct str *sk,
                                 struct str *svid);
/* x-amz-copy-source-if-* against the source version v: S3E_OK or
 * S3E_PRECONDITION_FAILED (s3_object.c). */
enum s3_err s3_copy_conditions(struct s3_req *q, const struct md_version *v);

struct blob_reader;
struct version_reader;

/* The source version of CopyObject and UploadPartCopy (svid STR_NULL: the
 * current one) opened under the read lease rd, as core's version_open()
 * does: *mpu (owned) for a multipart source, *has_blob for one in a blob.
 * NoSuchKey, NoSuchVersion, InvalidRequest for a delete marker named by
 * version id, or InternalError (s3_object.c). */
enum s3_err s3_copy_source_open(struct s3_req *q, struct blob_reader *rd, int64_t bucket_id,
                                struct str sk, struct str svid, struct md_version *v,
                                struct version_reader **mpu, bool *has_blob);
/* The copy source's bucket row read on c (NoSuchBucket naming it), then
 * authorized for s3:GetObject, or s3:GetObjectVersion with a versionId:
 * CopyObject and UploadPartCopy. */
enum s3_err s3_copy_source_bucket(struct s3_req *q, struct md_conn *c, struct str sb,
                                  struct str sk, struct str svid, struct md_bucket *out);

#endif
