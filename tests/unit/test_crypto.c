/* test_crypto.c -- crypto/hash (FIPS 180, RFC 1321, RFC 4231, RFC 2202
 * vectors) and crypto/cksum (CRC-32, CRC-32C, CRC-64/NVME, SHA-1, SHA-256 as
 * S3 base64-encodes them). Expected values were computed independently with
 * Python's zlib/hashlib/hmac and a bitwise CRC, then hard-coded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "auth/keys.h"
#include "crypto/cksum.h"
#include "crypto/hash.h"
#include "util/enc.h"

#include <stdlib.h>
#include <string.h>

static void
assert_hex(const unsigned char *d, size_t n, const char *want)
{
    char hex[2 * HASH_MAX_LEN + 1];

    assert_true(n <= HASH_MAX_LEN);
    hex_encode(d, n, hex);
    assert_string_equal(hex, want);
}

static void
test_sha256_vectors(void **state)
{
    unsigned char d[32];

    (void)state;
    sha256("", 0, d);
    assert_hex(d, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256("abc", 3, d);
    assert_hex(d, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void
test_hmac_vectors(void **state)
{
    unsigned char k20[20], k131[131], d[32];

    (void)state;
    memset(k20, 0x0b, sizeof(k20));
    memset(k131, 0xaa, sizeof(k131));
    /* RFC 4231 test cases 1, 2 and 6 (key longer than the block). */
    hmac_sha256(k20, 20, "Hi There", 8, d);
    assert_hex(d, 32, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
    assert_hex(d, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    hmac_sha256(k131, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54, d);
    assert_hex(d, 32, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    /* RFC 2202 test cases 1 and 2. */
    hmac_sha1(k20, 20, "Hi There", 8, d);
    assert_hex(d, 20, "b617318655057264e28bc0b6fb378c8ef146be00");
    hmac_sha1("Jefe", 4, "what do ya want for nothing?", 28, d);
    assert_hex(d, 20, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

static void
test_hash_streaming(void **state)
{
    static const struct {
        enum hash_algo a;
        const char *in, *want;
    } v[] = {
        {HASH_MD5, "", "d41d8cd98f00b204e9800998ecf8427e"},
        {HASH_MD5, "message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {HASH_SHA1, "abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {HASH_SHA256, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    };
    unsigned char d[HASH_MAX_LEN];
    char *million = malloc(1000000);
    struct hash *h;
    size_t off = 0, step = 1;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        h = hash_new(v[i].a);
        for (size_t j = 0; v[i].in[j]; j++)
            hash_update(h, v[i].in + j, 1); /* byte by byte */
        assert_int_equal(hash_final(h, d), hash_len(v[i].a));
        assert_hex(d, hash_len(v[i].a), v[i].want);
    }
    /* FIPS 180-2: one million 'a', fed in growing uneven pieces. */
    memset(million, 'a', 1000000);
    h = hash_new(HASH_SHA256);
    while (off < 1000000) {
        size_t take = step < 1000000 - off ? step : 1000000 - off;
        hash_update(h, million + off, take);
        off += take;
        step = step * 3 + 1;
    }
    assert_int_equal(hash_final(h, d), 32);
    assert_hex(d, 32, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* Abandoned contexts are freed; NULL is fine. */
    h = hash_new(HASH_MD5);
    hash_update(h, "x", 1);
    hash_free(h);
    hash_free(NULL);
    free(million);
}

/* id64: 6 bits a character, most significant first; the two last digits
 * are '.' and '_' (never '-'). */
static void
test_id64_encode(void **state)
{
    static const struct {
        unsigned char in[6];
        const char *out;
    } v[] = {
        {{0, 0, 0, 0, 0, 1}, "AAAAAAAB"},
        {{0xff, 0xff, 0xff, 0xfb, 0xef, 0xbe}, "____...."},
        {{0x04, 0x20, 0xc4, 0xd3, 0x4d, 0x35}, "BCDE0001"},
        {{0x69, 0xb7, 0x1d, 0x79, 0xf8, 0x21}, "abcdefgh"},
    };
    char out[16];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        assert_int_equal(id64_encode(v[i].in, 6, out), 8);
        assert_string_equal(out, v[i].out);
    }
    /* id64_digit() reads the alphabet back. */
    assert_int_equal(id64_digit('A'), 0);
    assert_int_equal(id64_digit('a'), 26);
    assert_int_equal(id64_digit('0'), 52);
    assert_int_equal(id64_digit('.'), 62);
    assert_int_equal(id64_digit('_'), 63);
    assert_int_equal(id64_digit('-'), -1);
    assert_int_equal(id64_digit('='), -1);
}

static void
test_rand_bytes(void **state)
{
    unsigned char a[32] = {0}, b[32] = {0}, zero[32] = {0};

    (void)state;
    assert_int_equal(rand_bytes(a, sizeof(a)), 0);
    assert_int_equal(rand_bytes(b, sizeof(b)), 0);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, zero, sizeof(a));
    assert_int_equal(rand_bytes(a, 0), 0);
}

/* Only the alphabet's characters, NUL-terminated, each about equally
 * often: 3,000 draws from 3 letters give 1,000 +- 26 (one sigma) each, so
 * the bounds are 7 sigma wide. */
static void
test_rand_chars(void **state)
{
    char out[3001], id[AUTH_KEY_ID_LEN + 1], secret[AUTH_SECRET_LEN + 1];
    size_t count[3] = {0};

    (void)state;
    memset(out, 'x', sizeof(out));
    assert_int_equal(rand_chars(out, 3000, "abc"), 0);
    assert_int_equal(out[3000], '\0');
    for (size_t i = 0; i < 3000; i++) {
        assert_true(out[i] >= 'a' && out[i] <= 'c');
        count[out[i] - 'a']++;
    }
    for (size_t i = 0; i < 3; i++)
        assert_in_range(count[i], 800, 1200);
    assert_int_equal(rand_chars(out, 0, "abc"), 0);
    assert_int_equal(out[0], '\0');

    /* Access keys: prefix, then [A-Z0-9]; secrets [A-Za-z0-9/+]. */
    assert_int_equal(auth_key_new("CK", id, secret), 0);
    assert_int_equal(strlen(id), AUTH_KEY_ID_LEN);
    assert_int_equal(strlen(secret), AUTH_SECRET_LEN);
    assert_memory_equal(id, "CK", 2);
    assert_int_equal(strspn(id + 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), AUTH_KEY_ID_LEN - 2);
    assert_int_equal(strspn(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789/+"),
                     AUTH_SECRET_LEN);
}

/* ---- flexible checksums ---------------------------------------------- */

static const char *
b64_of(enum cksum_algo a, const unsigned char *p, size_t n, size_t piece)
{
    static char out[64];
    unsigned char d[CKSUM_MAX_LEN];
    struct cksum c;
    size_t len, off = 0;

    cksum_init(&c, a);
    while (off < n) {
        size_t take = piece < n - off ? piece : n - off;
        cksum_update(&c, p + off, take);
        off += take;
    }
    len = cksum_final(&c, d);
    assert_int_equal(len, cksum_len(a));
    cksum_free(&c); /* harmless after final */
    b64_encode(d, len, out);
    return out;
}

static void
test_cksum_vectors(void **state)
{
    static const enum cksum_algo algo[] = {CKSUM_CRC32, CKSUM_CRC32C, CKSUM_CRC64NVME, CKSUM_SHA1,
                                           CKSUM_SHA256};
    static const struct {
        const char *in;
        const char *want[5];
    } v[] = {
        {"",
         {"AAAAAA==", "AAAAAA==", "AAAAAAAAAAA=", "2jmj7l5rSw0yVb/vlWAYkK/YBwk=",
          "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}},
        {"Hello world",
         {"i9aeUg==", "crUfeA==", "OOJZ0D8xKts=", "e1AsOh9IyGCa4hLN+2Od7jlnP14=",
          "ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw="}},
        {"123456789",
         {"y/Q5Jg==", "4waSgw==", "rosUhgp5mIg=", "98O8HYCOBHMq32eZZczDTKeuNEE=",
          "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU="}},
    };
    static const size_t pieces[] = {1, 3, 7, 8, 13, 4096};

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(v); i++)
        for (size_t j = 0; j < ARRAY_LEN(algo); j++)
            for (size_t k = 0; k < ARRAY_LEN(pieces); k++)
                assert_string_equal(
                    b64_of(algo[j], (const unsigned char *)v[i].in, strlen(v[i].in), pieces[k]),
                    v[i].want[j]);
}

static void
test_cksum_check_values(void **state)
{
    unsigned char d[CKSUM_MAX_LEN];
    struct cksum c;

    (void)state;
    /* The catalogue check values, as raw big-endian digests. */
    cksum_init(&c, CKSUM_CRC32C);
    cksum_update(&c, "123456789", 9);
    assert_int_equal(cksum_final(&c, d), 4);
    assert_hex(d, 4, "e3069283");
    cksum_init(&c, CKSUM_CRC64NVME);
    cksum_update(&c, "1234", 4);
    cksum_update(&c, "56789", 5);
    assert_int_equal(cksum_final(&c, d), 8);
    assert_hex(d, 8, "ae8b14860a799888");
    cksum_init(&c, CKSUM_NONE);
    cksum_update(&c, "x", 1);
    assert_int_equal(cksum_final(&c, d), 0);
    /* Abandoned SHA checksum. */
    cksum_init(&c, CKSUM_SHA256);
    cksum_update(&c, "x", 1);
    cksum_free(&c);
    cksum_free(&c);
}

static void
test_cksum_long_inputs(void **state)
{
    static const enum cksum_algo algo[] = {CKSUM_CRC32, CKSUM_CRC32C, CKSUM_CRC64NVME, CKSUM_SHA1,
                                           CKSUM_SHA256};
    static const char *want_pat[] = {
        "iQIWHg==", "/1Lulw==", "hJuqFMGMbk4=", "QUR1NBAX7JFwNDWm8pAySBj5g+k=",
        "UJfn1Yc1L1CXBirmefN72lgC2fh1q6FMjLTRoYitoXk="};
    static const size_t pieces[] = {1, 5, 8, 9, 64, 999, 1000};
    unsigned char *buf = malloc(1000 + 8), *a = malloc(66560);

    (void)state;
    /* 1000 bytes (i*31+7) mod 256, starting at every alignment so the
     * slice-by-8 CRC64 loop meets its head, body and tail paths. */
    for (size_t off = 0; off < 8; off++) {
        for (size_t i = 0; i < 1000; i++)
            buf[off + i] = (unsigned char)(i * 31 + 7);
        for (size_t j = 0; j < ARRAY_LEN(algo); j++)
            for (size_t k = 0; k < ARRAY_LEN(pieces); k++)
                assert_string_equal(b64_of(algo[j], buf + off, 1000, pieces[k]), want_pat[j]);
    }
    /* AWS's trailer example: CRC32C of 66560 'a' is "sOO8/Q==". */
    memset(a, 'a', 66560);
    assert_string_equal(b64_of(CKSUM_CRC32C, a, 66560, 65536), "sOO8/Q==");
    assert_string_equal(b64_of(CKSUM_CRC64NVME, a, 66560, 66560), "pRf+emrnL+A=");
    free(buf);
    free(a);
}

static void
test_cksum_names(void **state)
{
    (void)state;
    assert_int_equal(cksum_from_name(str_c("CRC32")), CKSUM_CRC32);
    assert_int_equal(cksum_from_name(str_c("crc32c")), CKSUM_CRC32C);
    assert_int_equal(cksum_from_name(str_c("Crc64Nvme")), CKSUM_CRC64NVME);
    assert_int_equal(cksum_from_name(str_c("SHA1")), CKSUM_SHA1);
    assert_int_equal(cksum_from_name(str_c("sha256")), CKSUM_SHA256);
    assert_int_equal(cksum_from_name(str_c("MD5")), CKSUM_NONE);
    assert_int_equal(cksum_from_name(str_c("CRC3")), CKSUM_NONE);
    assert_int_equal(cksum_from_name(STR_NULL), CKSUM_NONE);
    assert_int_equal(cksum_from_header(str_c("X-Amz-Checksum-CRC32")), CKSUM_CRC32);
    assert_int_equal(cksum_from_header(str_c("x-amz-checksum-crc64nvme")), CKSUM_CRC64NVME);
    assert_int_equal(cksum_from_header(str_c("x-amz-checksum-sha256")), CKSUM_SHA256);
    assert_int_equal(cksum_from_header(str_c("x-amz-checksum-algorithm")), CKSUM_NONE);
    assert_string_equal(cksum_name(CKSUM_CRC64NVME), "CRC64NVME");
    assert_string_equal(cksum_header(CKSUM_CRC32C), "x-amz-checksum-crc32c");
    assert_null(cksum_name(CKSUM_NONE));
    assert_null(cksum_header(CKSUM_NONE));
    assert_int_equal(cksum_len(CKSUM_CRC32), 4);
    assert_int_equal(cksum_len(CKSUM_CRC64NVME), 8);
    assert_int_equal(cksum_len(CKSUM_SHA1), 20);
    assert_int_equal(cksum_len(CKSUM_SHA256), 32);
    assert_int_equal(cksum_len(CKSUM_NONE), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),    cmocka_unit_test(test_hmac_vectors),
        cmocka_unit_test(test_hash_streaming),    cmocka_unit_test(test_rand_bytes),
        cmocka_unit_test(test_id64_encode),       cmocka_unit_test(test_rand_chars),
        cmocka_unit_test(test_cksum_vectors),     cmocka_unit_test(test_cksum_check_values),
        cmocka_unit_test(test_cksum_long_inputs), cmocka_unit_test(test_cksum_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
