/* s3_range.c -- Range and x-amz-copy-source-range parsing (contracts in
 * s3_range.h). Numbers are kept as digit strings until they are known to
 * fit: a value is only ever compared with the object size, or converted
 * after such a comparison, so "bytes=-18446744073709551615" cannot wrap
 * into a negative offset. Not here: the 206/416 responses (s3_object.c,
 * s3_mpu_upload.c). */
#include "common.h"
#include "s3/s3_range.h"

#include <errno.h>
#include <strings.h>

/* A non-empty run of ASCII digits (no sign, no blanks). */
static bool
is_number(struct str s)
{
    if (s.n == 0)
        return false;
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    return true;
}

/* The value of a digit string, saturated at UINT64_MAX: exact whenever it is
 * below any int64_t size, which is all a caller compares it with. */
static uint64_t
value(struct str s)
{
    uint64_t v = 0;

    for (size_t i = 0; i < s.n; i++) {
        unsigned d = (unsigned)(s.p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return UINT64_MAX;
        v = v * 10 + d;
    }
    return v;
}

/* Compares two digit strings as numbers of any length: <0, 0, >0. */
static int
compare(struct str a, struct str b)
{
    while (a.n > 1 && a.p[0] == '0') {
        a.p++;
        a.n--;
    }
    while (b.n > 1 && b.p[0] == '0') {
        b.p++;
        b.n--;
    }
    if (a.n != b.n)
        return a.n < b.n ? -1 : 1;
    return memcmp(a.p, b.p, a.n);
}

enum s3_range
s3_parse_range(struct str h, int64_t size, int64_t *first, int64_t *last)
{
    struct str spec, a, b;
    uint64_t x, y;

    if (h.p == NULL || size < 0)
        return S3_RANGE_IGNORE;
    h = str_trim(h);
    /* RFC 9110 §14.1: the range unit is case-insensitive. */
    if (h.n < 6 || strncasecmp(h.p, "bytes=", 6) != 0)
        return S3_RANGE_IGNORE;
    spec = str_trim(str_make(h.p + 6, h.n - 6));
    if (spec.n == 0 || memchr(spec.p, ',', spec.n) != NULL)
        return S3_RANGE_IGNORE;
    if (!str_split(spec, '-', &a, &b))
        return S3_RANGE_IGNORE;
    a = str_trim(a);
    b = str_trim(b);
    if (a.n == 0) {
        /* Suffix: the last y bytes, all of them when y >= size. */
        if (!is_number(b))
            return S3_RANGE_IGNORE;
        y = value(b);
        if (y == 0 || size == 0)
            return S3_RANGE_UNSATISFIABLE;
        *first = y >= (uint64_t)size ? 0 : size - (int64_t)y;
        *last = size - 1;
        return S3_RANGE_PARTIAL;
    }
    if (!is_number(a) || (b.n > 0 && (!is_number(b) || compare(a, b) > 0)))
        return S3_RANGE_IGNORE;
    x = value(a);
    if (x >= (uint64_t)size)
        return S3_RANGE_UNSATISFIABLE;
    y = b.n == 0 ? UINT64_MAX : value(b);
    *first = (int64_t)x;
    *last = y >= (uint64_t)size ? size - 1 : (int64_t)y;
    return S3_RANGE_PARTIAL;
}

int
s3_parse_copy_range(struct str h, int64_t size, int64_t *first, int64_t *last)
{
    struct str a, b;
    uint64_t y;

    if (h.p == NULL)
        return -EINVAL;
    h = str_trim(h);
    if (!str_has_prefix(h, "bytes=") || !str_split(str_make(h.p + 6, h.n - 6), '-', &a, &b) ||
        !is_number(a) || !is_number(b) || compare(a, b) > 0)
        return -EINVAL;
    y = value(b);
    if (size < 0 || y >= (uint64_t)size)
        return -ERANGE;
    /* first <= last < size, so both fit. */
    *first = (int64_t)value(a);
    *last = (int64_t)y;
    return 0;
}
