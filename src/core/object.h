/* object.h -- S3 object semantics on the versioned data model: what a PUT
 * or DELETE does to the version rows of a key under each versioning state
 * [spec-mfa-delete §4.3, §4.4], conditional writes, MFA delete's last
 * check. No HTTP, no XML. Every function taking a struct md_conn runs
 * inside an md_write() closure, on the writer's connection, so the bucket
 * state it reads and the rows it writes are one atomic step; each sets all
 * of its outputs on every path, so a closure run again (md.h) leaves what
 * the last run found. Multipart completion: object_mpu.h; reading
 * versions: version.h. */
#ifndef COFFER_CORE_OBJECT_H
#define COFFER_CORE_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core_err.h"
#include "store/md.h"
#include "util/arena.h"
#include "util/str.h"

/* Re-reads the bucket on c: CORE_E_NO_SUCH_BUCKET unless it is still the
 * bucket bucket_id the request was authorized on (s3/ decides who may act
 * on it; core only keeps a write from landing in a bucket of the same name
 * made since). Every function here reports a failed store call as
 * CORE_E_STORAGE_FULL, CORE_E_SLOW_DOWN, CORE_E_ENTITY_TOO_LARGE or
 * CORE_E_INTERNAL (see core_err.h). */
enum core_err object_bucket(struct md_conn *c, struct str name, int64_t bucket_id, struct arena *a,
                            struct md_bucket *b);

/* Stores v (key, data fields filled by the caller) as the new current
 * version: a fresh version id on an Enabled bucket, the "null" version
 * (replacing any previous one) otherwise. *trashed says whether a replaced
 * null version's data went to the trash (the reaper unlinks it,
 * store/trash.h; callers never do): only then may a reap find more due. */
enum core_err object_put(struct md_conn *c, const struct md_bucket *b, struct md_version *v,
                         struct arena *a, bool *trashed);

/* True if etag (unquoted) is in list: comma-separated ETags, quoted or
 * bare, or "*" (If-Match, If-None-Match and their copy-source forms). Pure. */
bool object_etag_matches(struct str list, struct str etag);

/* A conditional write [AWS conditional writes]: checked against the key's
 * current version in the transaction that writes, so that two racing
 * writers cannot both pass. */
struct object_cond {
    bool if_none_match;  /* If-None-Match: * -- no current object allowed */
    struct str if_match; /* If-Match ETag list; p == NULL when absent */
};
/* CORE_E_OK, CORE_E_PRECONDITION_FAILED, or CORE_E_NO_SUCH_KEY for an
 * If-Match without a current object (a delete marker counts as none). */
enum core_err object_check_cond(struct md_conn *c, int64_t bucket_id, struct str key,
                                const struct object_cond *cond, struct arena *a);

/* PutObject's and CopyObject's whole transaction: the bucket (*b, as
 * object_bucket()), then cond (NULL: none), then object_put() of v. */
enum core_err object_write(struct md_conn *c, struct str bucket, int64_t bucket_id,
                           const struct object_cond *cond, struct arena *a, struct md_bucket *b,
                           struct md_version *v, bool *trashed);

struct object_del {
    struct str version_id; /* the version removed or the marker created; STR_NULL if none */
    bool delete_marker;    /* x-amz-delete-marker: true */
    struct str blob_id;    /* the removed version's data file (already in the trash), or STR_NULL */
    bool removed;          /* versioned delete: the named version existed and is gone */
};

/* vid.p == NULL: simple delete (marker on Enabled, null marker on Suspended,
 * plain removal when unversioned); otherwise removes exactly that version
 * (a missing one is not an error, as on S3; a malformed id is
 * CORE_E_NO_SUCH_VERSION). A removed version's data goes to the trash in
 * the same transaction. */
enum core_err object_delete(struct md_conn *c, const struct md_bucket *b, struct str key,
                            struct str vid, int64_t owner_id, int64_t now_ms, struct arena *a,
                            struct object_del *out);

/* DeleteObject's whole transaction: the bucket (*b, as object_bucket());
 * then, for a versioned delete on a bucket with MFA delete enabled, the
 * bucket as it is now must have been checked (mfa_verified), or
 * CORE_E_MFA_REQUIRED (MFA delete turned on after the check); then
 * if_match (p == NULL: none) against the key's current version, as
 * object_check_cond() does [AWS conditional deletes: the current version
 * only, a versionId or not]; then object_delete(). */
enum core_err object_remove(struct md_conn *c, struct str bucket, int64_t bucket_id,
                            int64_t account_id, struct str key, struct str vid,
                            struct str if_match, bool mfa_verified, int64_t now_ms,
                            struct arena *a, struct md_bucket *b, struct object_del *out);

/* One object of DeleteObjects. */
struct object_del_item {
    struct str key, vid; /* in; vid STR_NULL for a simple delete */
    struct str if_match; /* in: the Object's <ETag>, p == NULL when absent */
    bool skip;           /* in: refused before the transaction (err stays CORE_E_OK) */
    enum core_err err;   /* out: the object's own outcome */
    struct object_del out; /* out */
};
/* DeleteObjects' whole transaction, all or nothing against the bucket's
 * current state: the bucket (*b); CORE_E_MFA_REQUIRED if any item names a
 * version (skipped ones too) on a bucket with MFA delete enabled and
 * !mfa_verified; then, for each item not skipped, its if_match checked
 * (object_check_cond(): a mismatch is that item's err) and object_delete().
 * A store
 * failure of one item is that item's err, as on S3. Returns the request's
 * outcome; every item's err and out are set on every path. */
enum core_err object_delete_many(struct md_conn *c, struct str bucket, int64_t bucket_id,
                                 int64_t account_id,
                                 struct object_del_item *items, size_t n, bool mfa_verified,
                                 int64_t now_ms, struct arena *a, struct md_bucket *b);

#endif
