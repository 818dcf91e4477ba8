/* str.c -- string views. */
#include "common.h"
#include "util/str.h"

#include <errno.h>
#include <limits.h>

bool
str_eq(struct str a, struct str b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

bool
str_eq_c(struct str a, const char *b)
{
    return a.p != NULL && str_eq(a, str_c(b));
}

static int
lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

bool
str_ieq_c(struct str a, const char *b)
{
    size_t n = strlen(b);

    if (a.p == NULL || a.n != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a.p[i]) != lower((unsigned char)b[i]))
            return false;
    return true;
}

bool
str_ieq(struct str a, struct str b)
{
    if (a.n != b.n)
        return false;
    for (size_t i = 0; i < a.n; i++)
        if (lower((unsigned char)a.p[i]) != lower((unsigned char)b.p[i]))
            return false;
    return true;
}

bool
str_has_prefix(struct str s, const char *prefix)
{
    size_t n = strlen(prefix);

    return s.p != NULL && s.n >= n && memcmp(s.p, prefix, n) == 0;
}

struct str
str_trim(struct str s)
{
    while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
        s.n--;
    return s;
}

int
str_to_u64(struct str s, unsigned long long *out)
{
    unsigned long long v = 0;

    if (s.p == NULL || s.n == 0 || s.n > 20)
        return -EINVAL;
    for (size_t i = 0; i < s.n; i++) {
        unsigned d = (unsigned char)s.p[i] - '0';
        if (d > 9)
            return -EINVAL;
        if (v > (ULLONG_MAX - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int
str_to_i64(struct str s, long long *out)
{
    unsigned long long u;
    int neg = s.n > 0 && s.p[0] == '-';
    int rc;

    if (neg) {
        s.p++;
        s.n--;
    }
    rc = str_to_u64(s, &u);
    if (rc < 0)
        return rc;
    if (u > (unsigned long long)LLONG_MAX + (unsigned long long)neg)
        return -EINVAL;
    *out = neg ? (long long)(0 - u) : (long long)u;
    return 0;
}

bool
str_split(struct str s, char c, struct str *head, struct str *tail)
{
    const char *p = s.n ? memchr(s.p, c, s.n) : NULL;

    if (p == NULL) {
        *head = s;
        *tail = STR_NULL;
        return false;
    }
    *head = str_make(s.p, (size_t)(p - s.p));
    *tail = str_make(p + 1, s.n - (size_t)(p - s.p) - 1);
    return true;
}

int
str_cmp(struct str a, struct str b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.p, b.p, n) : 0;

    if (c != 0)
        return c;
    return a.n < b.n ? -1 : a.n > b.n;
}

size_t
str_successor(struct str s, char *out)
{
    size_t n = s.n;

    while (n > 0 && (unsigned char)s.p[n - 1] == 0xff)
        n--;
    if (n == 0)
        return 0;
    memcpy(out, s.p, n);
    out[n - 1] = (char)((unsigned char)out[n - 1] + 1);
    return n;
}

bool
str_ct_eq(struct str a, struct str b)
{
    unsigned char d = 0;

    if (a.n != b.n)
        return false;
    for (size_t i = 0; i < a.n; i++)
        d |= (unsigned char)(a.p[i] ^ b.p[i]);
    return d == 0;
}

bool
str_valid_utf8(struct str s)
{
    const unsigned char *p = (const unsigned char *)s.p, *end = p + s.n;

    while (p < end) {
        unsigned c = *p, need;
        unsigned cp;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if ((size_t)(end - p) <= need)
            return false;
        for (unsigned i = 1; i <= need; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        /* Reject overlongs, surrogates and values past U+10FFFF. */
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += need + 1;
    }
    return true;
}
