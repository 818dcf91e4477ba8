/* fuzz_range.c -- the request headers GetObject, HeadObject, CopyObject and
 * UploadPartCopy read before touching data: Range and
 * x-amz-copy-source-range (s3_range.h) against an object size, the HTTP
 * dates of If-Modified-Since / If-Unmodified-Since (tm_parse_http, and
 * tm_parse_amz for x-amz-date), and the ETag lists of If-Match /
 * If-None-Match (s3_etag_matches). Invariants are checked with
 * __builtin_trap(): a range is inside the object, a date that parses prints
 * and parses back to itself, the copy-range grammar is a subset of Range's.
 *
 * Input: bytes 0-7 the object size (little-endian int64; any value, negative
 * ones included), then the header value. For the ETag check the value is
 * split at its first '\n' into the list and the ETag. */
#include "common.h"
#include "s3/s3_int.h"
#include "s3/s3_range.h"
#include "util/str.h"
#include "util/tm.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define YEAR_10000 253402300800LL /* tm_http_date() prints years up to 9999 */

static void
ranges(struct str h, int64_t size)
{
    int64_t first = -7, last = -7, cf = -7, cl = -7;
    enum s3_range r = s3_parse_range(h, size, &first, &last);
    int rc = s3_parse_copy_range(h, size, &cf, &cl);

    switch (r) {
    case S3_RANGE_PARTIAL:
        if (!(0 <= first && first <= last && last < size))
            __builtin_trap();
        break;
    case S3_RANGE_IGNORE:
    case S3_RANGE_UNSATISFIABLE:
        if (first != -7 || last != -7) /* written only for PARTIAL */
            __builtin_trap();
        break;
    default:
        __builtin_trap();
    }
    if (rc == 0) {
        if (!(0 <= cf && cf <= cl && cl < size))
            __builtin_trap();
        /* Every valid copy range is a valid Range for the same bytes. */
        if (r != S3_RANGE_PARTIAL || first != cf || last != cl)
            __builtin_trap();
    } else if (rc != -EINVAL && rc != -ERANGE) {
        __builtin_trap();
    } else if (cf != -7 || cl != -7) {
        __builtin_trap();
    }
}

static void
dates(struct str h)
{
    int64_t t, back;
    char out[32];

    if (tm_parse_http(h, &t) == 0) {
        if (t < 0 || t > YEAR_10000 + 86400)
            __builtin_trap();
        if (t < YEAR_10000) {
            tm_http_date(t * 1000, out);
            if (tm_parse_http(str_c(out), &back) != 0 || back != t)
                __builtin_trap();
            tm_iso8601(t * 1000, out);
            if (tm_parse_http(str_c(out), &back) != 0 || back != t)
                __builtin_trap();
        }
    }
    if (tm_parse_amz(h, &t) == 0 && (t < 0 || t > YEAR_10000 + 86400))
        __builtin_trap();
}

static void
etags(struct str h)
{
    struct str list, etag;
    char quoted[128];

    if (!str_split(h, '\n', &list, &etag))
        return;
    (void)s3_etag_matches(list, etag);
    /* The ETag itself, quoted or not, matches when it is a plain token. */
    if (etag.n == 0 || etag.n > 100 || memchr(etag.p, ',', etag.n) != NULL ||
        memchr(etag.p, '"', etag.n) != NULL || !str_eq(str_trim(etag), etag))
        return;
    quoted[0] = '"';
    memcpy(quoted + 1, etag.p, etag.n);
    quoted[etag.n + 1] = '"';
    if (!s3_etag_matches(str_make(quoted, etag.n + 2), etag) || !s3_etag_matches(etag, etag) ||
        !s3_etag_matches(STR_LIT("*"), etag))
        __builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t u = 0;
    int64_t obj_size;
    struct str h;

    if (size < 8)
        return 0;
    for (int i = 7; i >= 0; i--)
        u = u << 8 | data[i];
    memcpy(&obj_size, &u, sizeof(obj_size));
    h = str_make((const char *)data + 8, size - 8);
    ranges(h, obj_size);
    ranges(STR_NULL, obj_size);
    dates(h);
    etags(h);
    return 0;
}
