/* object_mpu.h -- multipart upload semantics: the upload a request names,
 * completing it into a version (the requested parts checked against the
 * stored ones, the object's ETag and checksum, COMPOSITE or FULL_OBJECT by
 * CRC combination, the extent list) and aborting it. No HTTP, no XML.
 * Functions taking a struct md_conn run inside md_write() closures, like
 * object.h's, and set every output on every path. Parts are uploaded and
 * listed by s3/ on store/ directly: no semantics there but the store's. */
#ifndef COFFER_CORE_OBJECT_MPU_H
#define COFFER_CORE_OBJECT_MPU_H

#include <stddef.h>
#include <stdint.h>

#include "core/core_err.h"
#include "core/object.h"
#include "crypto/cksum.h"
#include "store/md.h"
#include "util/arena.h"
#include "util/str.h"

/* The upload upload_id read on c (any connection), which must belong to
 * bucket b and key: CORE_E_OK with *u (strings in a), CORE_E_NO_SUCH_UPLOAD
 * (an empty or over-long id included), or a store failure as object.h. */
enum core_err object_mpu_upload(struct md_conn *c, const struct md_bucket *b, struct str key,
                                struct str upload_id, struct arena *a, struct md_upload *u);

/* One part CompleteMultipartUpload asks for. */
struct object_mpu_want {
    int number;          /* 1..10000 */
    struct str etag;     /* unquoted */
    struct str checksum; /* Checksum<ALGO> of the upload's algorithm, or STR_NULL */
};

/* CompleteMultipartUpload: what the request asks, what it made, and on
 * failure which part it failed on. */
struct object_mpu_complete {
    /* in */
    struct str bucket;
    int64_t bucket_id;  /* the bucket the request was authorized on */
    int64_t account_id; /* the caller's account: the version's owner */
    struct str key, upload_id;
    const struct object_mpu_want *want; /* numbers strictly ascending */
    size_t n_want;
    struct object_cond cond;     /* If-None-Match: *, If-Match */
    enum cksum_algo full_algo;   /* the request's x-amz-checksum-<algo> of the whole object */
    struct str full_checksum;    /* its base64 value, STR_NULL when not sent */
    int64_t object_size;         /* x-amz-mp-object-size, -1 when absent */
    int64_t now_ms;              /* the version's mtime */
    /* out */
    struct md_bucket b;          /* as object_bucket() read it */
    struct md_upload u;          /* the upload, when found */
    struct md_version v;         /* the new version: id, ETag (hex-N), size, checksum */
    bool trashed;                /* as object_put() */
    size_t bad;                  /* the want[] index of CORE_E_INVALID_PART,
                                  * CORE_E_ENTITY_TOO_SMALL, CORE_E_PART_CHECKSUM_MISSING */
    int64_t bad_size;            /* CORE_E_ENTITY_TOO_SMALL: the stored part's size */
    struct str bad_etag;         /* and its ETag */
    int64_t total;               /* the parts' total size (CORE_E_OBJECT_SIZE_MISMATCH) */
};

/* The whole completion as one step of a transaction: the bucket; the
 * upload (CORE_E_NO_SUCH_UPLOAD); the parts against the stored ones
 * (CORE_E_INVALID_PART_ORDER, CORE_E_INVALID_PART for a missing part or a
 * different ETag or checksum, CORE_E_PART_CHECKSUM_MISSING for a COMPOSITE
 * upload, CORE_E_ENTITY_TOO_SMALL for a part but the last under 5 MiB);
 * the sizes and checksums the request sends along
 * (CORE_E_OBJECT_SIZE_MISMATCH, CORE_E_CHECKSUM_ALGO_MISMATCH,
 * CORE_E_BAD_CHECKSUM); x->cond; then the version (object_put()) with the
 * parts as its extents, numbered 1..N, and the upload deleted (parts left
 * out go to the trash, due at once) and remembered as completed
 * (object_mpu_completed()). CPU bounded by 10000 parts. */
enum core_err object_mpu_complete(struct md_conn *c, struct object_mpu_complete *x,
                                  struct arena *a);

/* A CompleteMultipartUpload sent again after it succeeded (a client retry
 * after a lost answer): CORE_E_OK with *v the version upload_id made, if
 * it made one in bucket_id under key within MD_UPLOAD_DONE_KEEP_MS, the
 * version still exists, and want names the same parts (ETags in order);
 * CORE_E_NO_SUCH_UPLOAD otherwise, as before the retry rule. */
enum core_err object_mpu_completed(struct md_conn *c, int64_t bucket_id, struct str key,
                                   struct str upload_id, const struct object_mpu_want *want,
                                   size_t n_want, struct arena *a, struct md_version *v);

/* AbortMultipartUpload: the bucket (*b), the upload (as
 * object_mpu_upload()), then its rows deleted and its parts' data sent to
 * the trash. */
enum core_err object_mpu_abort(struct md_conn *c, struct str bucket, int64_t bucket_id,
                               struct str key, struct str upload_id, struct arena *a,
                               struct md_bucket *b);

/* CRC of A||B from crc1 = CRC(A), crc2 = CRC(B) and len2 = |B|, for the
 * finished (post-inverted) CRC32, CRC32C and CRC64NVME values: FULL_OBJECT
 * checksums of multipart uploads. Pure. */
uint64_t object_mpu_crc_combine(enum cksum_algo a, uint64_t crc1, uint64_t crc2, int64_t len2);

#endif
