/* s3_mpu.h -- what the rest of s3/ needs from multipart uploads (s3_mpu.c,
 * s3_mpu_complete.c): sending a multipart version, whose data lies in one
 * blob per part (GET; reading it is core/version.h's), its parts
 * (?partNumber), and unlinking the blobs that deletes left in the trash;
 * and what the multipart files share (s3_mpu.c). The S3 operations
 * themselves are the s3_ops.def handlers (s3_mpu_upload.c,
 * s3_mpu_complete.c, s3_mpu_list.c). */
#ifndef COFFER_S3_S3_MPU_H
#define COFFER_S3_S3_MPU_H

#include <stdint.h>
#include <sys/types.h>

#include "bounds.h" /* S3_MPU_MAX_PARTS and the part sizes */
#include "crypto/cksum.h"
#include "s3/s3_err.h"
#include "util/str.h"

struct arena;
struct blob_reader;
struct md_bucket;
struct md_conn;
struct md_upload;
struct md_version;
struct s3_req;
struct srv;
struct version_reader;

/* Writes bytes [from, to] (inclusive, within the object) of v, open in r
 * (core/version.h), with http_resp_write(): call after http_resp_begin().
 * 0, -EPIPE, -ENOENT, -EIO; on error cut the connection
 * (http_resp_close()). */
int s3_mpu_send(struct s3_req *q, struct version_reader *r, const struct md_version *v,
                int64_t from, int64_t to);

/* version_reader_open() + s3_mpu_send() + version_reader_close() in one call. */
int s3_mpu_send_range(struct s3_req *q, struct blob_reader *rd, const struct md_version *v,
                      int64_t from, int64_t to);

/* ?partNumber=N of GET/HEAD: *part = 0 when absent, else 1..10000;
 * S3E_INVALID_ARGUMENT (detail set) for anything else. */
enum s3_err s3_mpu_part_param(struct s3_req *q, int *part);
/* The byte range [*from, *to] of part `part` of v and v's part count (0
 * for an object not uploaded in parts, which has exactly one part: the
 * whole object). part_checksum, if not NULL, gets the part's own checksum
 * (base64, arena) when v carries a COMPOSITE checksum, else STR_NULL.
 * S3E_INVALID_PART_NUMBER if v has no such part, S3E_INTERNAL. */
enum s3_err s3_mpu_part_range(struct s3_req *q, const struct md_version *v, int part, int64_t *from,
                              int64_t *to, int *n_parts, struct str *part_checksum);

/* "COMPOSITE" for a checksum computed over part checksums (its value ends
 * in "-N"), else "FULL_OBJECT": the x-amz-checksum-type of v. */
const char *s3_mpu_checksum_type(const struct md_version *v);

/* Runs the reaper (store/trash.h) with srv's grace period: call after a
 * committed write that may have trashed data. Unlinks only what is due (an
 * upload's parts at once; a version's data after the grace, when no older
 * reader is open); cheap when nothing is (one indexed read). Errors are
 * logged, not returned: what is left goes at the next reap or at
 * blob_gc(). */
void s3_mpu_reap(struct srv *srv);
/* s3_mpu_reap() after a write that trashed only version data, which is
 * stamped now: due at once only without a grace period (--reclaim-grace 0);
 * otherwise it is the reaper thread's, and this costs nothing. */
void s3_reap_versions(struct srv *srv);

/* One <Part> of a CompleteMultipartUpload body. */
struct s3_mpu_want {
    int number;
    struct str etag;     /* unquoted */
    struct str checksum; /* Checksum<ALGO> of the upload's algorithm, or STR_NULL */
};

/* Parses a CompleteMultipartUpload body (the same parts as core's
 * struct object_mpu_want, which completion takes): <CompleteMultipartUpload><Part>
 * <PartNumber><ETag>[<ChecksumCRC32>...]</Part>...; algo is the upload's
 * checksum algorithm name ("" for none). S3E_OK with 1..S3_MPU_MAX_PARTS
 * parts in *want (arena), numbers strictly ascending; S3E_MALFORMED_XML;
 * S3E_INVALID_PART_ORDER; S3E_INVALID_ARGUMENT with *bad_number the
 * PartNumber text that is not 1..10000. Pure: the libFuzzer target calls it. */
enum s3_err s3_mpu_parse_complete(struct arena *a, struct str body, struct str algo,
                                  struct s3_mpu_want **want, size_t *n_want,
                                  struct str *bad_number);

/* object_mpu_crc_combine() (core/object_mpu.h), for the unit tests. */
uint64_t s3_mpu_crc_combine(enum cksum_algo a, uint64_t crc1, uint64_t crc2, int64_t len2);

/* Shared by the multipart files of s3/ only (s3_mpu.c). */

#define S3_MPU_MSG_PART_NUMBER "Part number must be an integer between 1 and 10000, inclusive"
/* S3E_NO_SUCH_UPLOAD, with an <UploadId> element when upload_id is valid
 * UTF-8. */
enum s3_err s3_mpu_no_such_upload(struct s3_req *q, struct str upload_id);
/* S3E_INVALID_ARGUMENT with message msg and ArgumentName/ArgumentValue
 * name and value (copied to the arena; STR_NULL for none). */
enum s3_err s3_mpu_invalid_arg(struct s3_req *q, const char *msg, const char *name,
                               struct str value);
/* A part number as S3 accepts it, decimal 1..10000: 0, or -EINVAL. */
int s3_mpu_parse_part_number(struct str v, int *out);
/* The upload named by ?uploadId, read on c into *u (arena), which must
 * belong to bucket b and q's key: S3E_OK, S3E_NO_SUCH_UPLOAD, S3E_INTERNAL. */
enum s3_err s3_mpu_upload_load(struct s3_req *q, struct md_conn *c, const struct md_bucket *b,
                               struct md_upload *u);

#endif
