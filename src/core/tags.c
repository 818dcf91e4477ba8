/* tags.c -- the tag alphabet and the limits of a tag set (tags.h). AWS
 * documents the alphabet as ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$: letters,
 * separators and numbers of any script, and seven punctuation marks.
 * Coffer carries no Unicode tables, so the rule here is:
 *   ASCII: A-Z a-z 0-9, space, and _ . : / = + - @; nothing else;
 *   beyond ASCII: any code point but the C1 controls (U+0080..U+009F) and
 *   the noncharacters U+FFFE, U+FFFF.
 * That accepts every tag S3 accepts, and refuses every ASCII one it
 * refuses; it also accepts non-ASCII symbols and punctuation ("€", "—")
 * that S3 would refuse: the one place where it is more lenient. Tabs and
 * newlines are never accepted, which md_tags_encode() relies on. */
#include "common.h"
#include "core/tags.h"

#include <string.h>

/* Decodes the code point at p (n bytes left): its length, or 0 when the
 * bytes are not well-formed UTF-8 (RFC 3629). */
static size_t
utf8_next(const unsigned char *p, size_t n, unsigned long *cp)
{
    size_t len, i;
    unsigned long c, min;

    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if ((p[0] & 0xE0) == 0xC0)
        len = 2;
    else if ((p[0] & 0xF0) == 0xE0)
        len = 3;
    else if ((p[0] & 0xF8) == 0xF0)
        len = 4;
    else
        return 0;
    /* The lead byte's payload bits, and the least value needing len bytes
     * (anything smaller is an overlong form). */
    c = p[0] & (0x7Fu >> len);
    min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

static bool
allowed(unsigned long c)
{
    if (c >= 0x80)
        return !(c <= 0x9F || c == 0xFFFE || c == 0xFFFF);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr(" _.:/=+-@", (int)c) != NULL;
}

long
tags_chars(struct str s)
{
    const unsigned char *p = (const unsigned char *)s.p;
    long count = 0;
    size_t i = 0;

    while (i < s.n) {
        unsigned long c;
        size_t len = utf8_next(p + i, s.n - i, &c);
        if (len == 0)
            return -1;
        i += len;
        count++;
    }
    return count;
}

bool
tags_text_valid(struct str s, size_t min, size_t max)
{
    const unsigned char *p = (const unsigned char *)s.p;
    size_t i = 0, count = 0;

    while (i < s.n) {
        unsigned long c;
        size_t len = utf8_next(p + i, s.n - i, &c);
        if (len == 0 || !allowed(c) || ++count > max)
            return false;
        i += len;
    }
    return count >= min;
}

bool
tags_key_valid(struct str key)
{
    return tags_text_valid(key, 1, TAGS_KEY_MAX);
}

bool
tags_value_valid(struct str value)
{
    return tags_text_valid(value, 0, TAGS_VALUE_MAX);
}

enum tags_verdict
tags_check(const struct md_tag *t, size_t n, size_t max, size_t *bad)
{
    size_t dummy;

    if (bad == NULL)
        bad = &dummy;
    for (size_t i = 0; i < n; i++) {
        *bad = i;
        if (!tags_key_valid(t[i].key))
            return TAGS_BAD_KEY;
        /* AWS reserves the prefix in any case ("AWS:", "Aws:"). */
        if (t[i].key.n >= 4 && str_ieq_c(str_make(t[i].key.p, 4), "aws:"))
            return TAGS_AWS_PREFIX;
        if (!tags_value_valid(t[i].value))
            return TAGS_BAD_VALUE;
        /* Past max the set is refused anyway: comparing further would only
         * let a huge document cost quadratic time. */
        for (size_t k = 0; k < i && i < max; k++)
            if (str_eq(t[k].key, t[i].key))
                return TAGS_DUP_KEY;
    }
    *bad = n;
    return n > max ? TAGS_TOO_MANY : TAGS_OK;
}
