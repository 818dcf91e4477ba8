/* s3_range.h -- the byte-range headers of GetObject (Range) and UploadPartCopy
 * (x-amz-copy-source-range) as pure functions of (header, object size): no
 * request, no I/O, no allocation, so unit tests and the libFuzzer target call
 * them directly. Every number in the header is range-checked against the
 * object size before any arithmetic: no value a client sends can overflow. */
#ifndef COFFER_S3_S3_RANGE_H
#define COFFER_S3_S3_RANGE_H

#include <stdint.h>

#include "util/str.h"

/* What s3_parse_range() found. */
enum s3_range {
    S3_RANGE_UNSATISFIABLE = -1, /* answer 416 InvalidRange */
    S3_RANGE_IGNORE = 0,         /* serve the whole object (200) */
    S3_RANGE_PARTIAL = 1,        /* serve [*first, *last] (206) */
};

/* Range: a single "bytes=first-last", "bytes=first-" or "bytes=-suffix"
 * (RFC 9110 §14.1.2; unit name case-insensitive, blanks around the numbers
 * tolerated, numbers of any length). h.p == NULL means no header.
 *
 * Returns S3_RANGE_PARTIAL with 0 <= *first <= *last < size; a last past the
 * end is cut to size - 1 and a suffix longer than the object means the whole
 * object. S3_RANGE_UNSATISFIABLE when first >= size, for a zero suffix, and
 * for any range of an empty object. S3_RANGE_IGNORE when the header is
 * absent, not a byte range, malformed (first > last, junk, a sign), or holds
 * several ranges (which S3 does not serve): HTTP says to ignore it. A
 * negative size (never a real object) also gives S3_RANGE_IGNORE. *first and
 * *last are written only for S3_RANGE_PARTIAL. */
enum s3_range s3_parse_range(struct str h, int64_t size, int64_t *first, int64_t *last);

/* x-amz-copy-source-range: exactly "bytes=first-last" with both numbers
 * present, first <= last (blanks around the whole value tolerated). Returns
 * 0 with [*first, *last] inside [0, size), -EINVAL when malformed (S3:
 * 400 InvalidArgument), or -ERANGE when last >= size (416 InvalidRange).
 * size < 0 gives -ERANGE. *first and *last are written only on success. */
int s3_parse_copy_range(struct str h, int64_t size, int64_t *first, int64_t *last);

#endif
