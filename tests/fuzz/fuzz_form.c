/* fuzz_form.c -- the decoders of util/enc.c that read what clients send:
 * form and query-string decoding (uri_decode_form: IAM/STS bodies, the S3
 * query string), path decoding (uri_decode), base64 (Content-MD5,
 * x-amz-checksum-*, continuation tokens), hex and base32 (MFA seeds).
 *
 * Input: an IAM/STS form body or query string ("Action=...&Name=..."). It
 * is split into items and pairs as the IAM parameter parser does and each
 * part decoded; the whole input also goes through every decoder, and each
 * decoder is checked against its encoder in both directions and against
 * the others (form decoding is path decoding with '+' read as %20). */
#include "common.h"
#include "util/buf.h"
#include "util/enc.h"
#include "util/str.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IN 65536

static void
trap_unless(bool ok)
{
    if (!ok)
        __builtin_trap();
}

/* uri_decode_form(s) must equal uri_decode(s with every '+' as "%20"). */
static void
form_vs_path(struct str s, char *out, char *tmp, char *out2)
{
    int n = uri_decode_form(s, out), n2;
    size_t k = 0;

    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] == '+') {
            memcpy(tmp + k, "%20", 3);
            k += 3;
        } else {
            tmp[k++] = s.p[i];
        }
    }
    n2 = uri_decode(str_make(tmp, k), out2);
    trap_unless(n == n2 && (n < 0 || (size_t)n <= s.n));
    trap_unless(n <= 0 || memcmp(out, out2, (size_t)n) == 0);
}

/* encode, then decode: the bytes come back, for any bytes. */
static void
round_trips(struct str s, char *tmp)
{
    struct buf b;
    int n;

    buf_init(&b, 3 * MAX_IN + 1);
    trap_unless(uri_encode(&b, s, 0) == 0 && b.n <= 3 * s.n);
    n = uri_decode_form(buf_str(&b), tmp);
    trap_unless(n == (int)s.n && (s.n == 0 || memcmp(tmp, s.p, s.n) == 0));
    buf_free(&b);

    {
        char *enc = malloc(2 * s.n + 1);
        hex_encode(s.p, s.n, enc);
        trap_unless(hex_decode(str_make(enc, 2 * s.n), tmp, s.n) == (int)s.n);
        trap_unless(s.n == 0 || memcmp(tmp, s.p, s.n) == 0);
        for (size_t i = 0; i < 2 * s.n; i++)
            trap_unless(hex_digit((unsigned char)enc[i]) >= 0);
        free(enc);
    }
    {
        char *enc = malloc(4 * ((s.n + 2) / 3) + 1);
        size_t e = b64_encode(s.p, s.n, enc);
        trap_unless(b64_decode(str_make(enc, e), tmp, s.n) == (int)s.n);
        trap_unless(s.n == 0 || memcmp(tmp, s.p, s.n) == 0);
        /* One byte short of room is refused, never overrun. */
        trap_unless(s.n == 0 || b64_decode(str_make(enc, e), tmp, s.n - 1) == -EINVAL);
        free(enc);
    }
    {
        char *enc = malloc((s.n * 8 + 4) / 5 + 1);
        size_t e = b32_encode(s.p, s.n, enc);
        trap_unless(b32_decode(str_make(enc, e), tmp, s.n) == (int)s.n);
        trap_unless(s.n == 0 || memcmp(tmp, s.p, s.n) == 0);
        free(enc);
    }
}

/* Decoders on the raw input: within bounds, and whatever decodes encodes
 * to something that decodes to the same bytes. */
static void
decoders(struct str s, char *out, char *tmp)
{
    int n;

    n = hex_decode(s, out, s.n);
    trap_unless(n == -EINVAL || (n >= 0 && (size_t)n == s.n / 2));
    n = b64_decode(s, out, s.n);
    trap_unless(n == -EINVAL || (n >= 0 && (size_t)n <= s.n));
    if (n > 0) {
        char *enc = malloc(4 * (((size_t)n + 2) / 3) + 1);
        size_t e = b64_encode(out, (size_t)n, enc);
        trap_unless(b64_decode(str_make(enc, e), tmp, (size_t)n) == n);
        trap_unless(memcmp(tmp, out, (size_t)n) == 0);
        free(enc);
    }
    n = b32_decode(s, out, s.n);
    trap_unless(n == -EINVAL || (n >= 0 && (size_t)n <= s.n));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct str s = str_make((const char *)data, size), rest = s, item, name, value;
    char *out, *tmp, *out2;

    if (size > MAX_IN)
        return 0;
    out = malloc(size + 1);
    out2 = malloc(size + 1);
    tmp = malloc(3 * size + 1);
    /* The IAM/STS form, pair by pair. */
    while (rest.p != NULL && rest.n > 0) {
        str_split(rest, '&', &item, &rest);
        if (item.n == 0)
            continue;
        str_split(item, '=', &name, &value);
        form_vs_path(name, out, tmp, out2);
        if (value.p != NULL)
            form_vs_path(value, out, tmp, out2);
    }
    form_vs_path(s, out, tmp, out2);
    round_trips(s, tmp);
    decoders(s, out, tmp);
    free(out);
    free(out2);
    free(tmp);
    return 0;
}
