/* enc.c -- byte encodings. */
#include "common.h"
#include "util/enc.h"

#include <errno.h>
#include <stdbool.h>

static const char hexd[] = "0123456789abcdef";

void
hex_encode(const void *in, size_t n, char *out)
{
    const unsigned char *p = in;

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexd[p[i] >> 4];
        out[2 * i + 1] = hexd[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int
hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
hex_decode(struct str in, void *out, size_t cap)
{
    unsigned char *o = out;

    if (in.n % 2 || in.n / 2 > cap)
        return -EINVAL;
    for (size_t i = 0; i < in.n; i += 2) {
        int a = hex_digit((unsigned char)in.p[i]), b = hex_digit((unsigned char)in.p[i + 1]);
        if (a < 0 || b < 0)
            return -EINVAL;
        o[i / 2] = (unsigned char)(a << 4 | b);
    }
    return (int)(in.n / 2);
}

static const char b64a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
b64_encode(const void *in, size_t n, char *out)
{
    const unsigned char *p = in;
    size_t o = 0, i;

    for (i = 0; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        out[o++] = b64a[v >> 18];
        out[o++] = b64a[(v >> 12) & 63];
        out[o++] = b64a[(v >> 6) & 63];
        out[o++] = b64a[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
        out[o++] = b64a[v >> 18];
        out[o++] = b64a[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64a[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

static int
b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int
b64_decode(struct str in, void *out, size_t cap)
{
    unsigned char *o = out;
    size_t n = 0, pad = 0;

    if (in.n % 4)
        return -EINVAL;
    while (pad < 2 && in.n > pad && in.p[in.n - 1 - pad] == '=')
        pad++;
    for (size_t i = 0; i < in.n; i += 4) {
        int v[4];
        for (int j = 0; j < 4; j++) {
            size_t k = i + (size_t)j;
            v[j] = k >= in.n - pad ? 0 : b64val((unsigned char)in.p[k]);
            if (v[j] < 0)
                return -EINVAL;
        }
        unsigned w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
        size_t take = i + 4 == in.n ? 3 - pad : 3;
        if (n + take > cap)
            return -EINVAL;
        for (size_t j = 0; j < take; j++)
            o[n++] = (unsigned char)(w >> (16 - 8 * j));
    }
    return (int)n;
}

size_t
id64_encode(const void *in, size_t n, char *out)
{
    static const char alpha[65] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";
    const unsigned char *p = in;
    size_t o = 0;

    ASSERT(n % 3 == 0);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        out[o++] = alpha[v & 63];
    }
    out[o] = '\0';
    return o;
}

int
id64_digit(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return 26 + (ch - 'a');
    if (ch >= '0' && ch <= '9')
        return 52 + (ch - '0');
    if (ch == '.')
        return 62;
    if (ch == '_')
        return 63;
    return -1;
}

static const char b32a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

size_t
b32_encode(const void *in, size_t n, char *out)
{
    const unsigned char *p = in;
    size_t o = 0;
    unsigned buf = 0, bits = 0;

    for (size_t i = 0; i < n; i++) {
        buf = buf << 8 | p[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = b32a[(buf >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = b32a[(buf << (5 - bits)) & 31];
    out[o] = '\0';
    return o;
}

int
b32_decode(struct str in, void *out, size_t cap)
{
    unsigned char *o = out;
    unsigned buf = 0, bits = 0;
    size_t n = 0;

    for (size_t i = 0; i < in.n; i++) {
        int c = (unsigned char)in.p[i], v;
        if (c == '=' || c == ' ' || c == '-')
            continue;
        if (c >= 'a' && c <= 'z')
            c -= 32;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= '2' && c <= '7')
            v = c - '2' + 26;
        else
            return -EINVAL;
        buf = buf << 5 | (unsigned)v;
        bits += 5;
        if (bits >= 8) {
            if (n >= cap)
                return -EINVAL;
            o[n++] = (unsigned char)(buf >> (bits - 8));
            bits -= 8;
        }
    }
    return (int)n;
}

/* One decoder for both forms: %XX always, '+' as a space only in form
 * encoding (query strings, IAM/STS bodies). */
static int
pct_decode(struct str in, char *out, bool plus_is_space)
{
    size_t o = 0;

    for (size_t i = 0; i < in.n; i++) {
        if (in.p[i] == '%') {
            int a, b;
            if (i + 2 >= in.n)
                return -EINVAL;
            a = hex_digit((unsigned char)in.p[i + 1]);
            b = hex_digit((unsigned char)in.p[i + 2]);
            if (a < 0 || b < 0)
                return -EINVAL;
            out[o++] = (char)(a << 4 | b);
            i += 2;
        } else if (plus_is_space && in.p[i] == '+') {
            out[o++] = ' ';
        } else {
            out[o++] = in.p[i];
        }
    }
    return (int)o;
}

int
uri_decode(struct str in, char *out)
{
    return pct_decode(in, out, false);
}

int
uri_decode_form(struct str in, char *out)
{
    return pct_decode(in, out, true);
}

int
uri_decode_form_arena(struct arena *a, struct str in, struct str *out)
{
    char *p = arena_alloc(a, in.n + 1);
    int n = uri_decode_form(in, p);

    if (n < 0)
        return n;
    p[n] = '\0';
    *out = str_make(p, (size_t)n);
    return 0;
}

int
uri_encode(struct buf *b, struct str in, int keep_slash)
{
    static const char up[] = "0123456789ABCDEF";

    for (size_t i = 0; i < in.n; i++) {
        unsigned char c = (unsigned char)in.p[i];
        int rc;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
            rc = buf_append(b, &c, 1);
        } else {
            char e[3] = {'%', up[c >> 4], up[c & 15]};
            rc = buf_append(b, e, 3);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}
