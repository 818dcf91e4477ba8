/* test_enc.c -- util/enc: the RFC 4648 §10 test vectors for base64, base32
 * and hex (both directions), percent decoding of paths (uri_decode) and of
 * forms and query strings (uri_decode_form, '+' as space), and hex_digit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "util/enc.h"

#include <errno.h>
#include <string.h>

static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};

static void
test_rfc4648(void **state)
{
    static const char *const b64[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    static const char *const b32[] = {"",        "MY",       "MZXQ",      "MZXW6",
                                      "MZXW6YQ", "MZXW6YTB", "MZXW6YTBOI"};
    static const char *const b16[] = {"",         "66",         "666f",        "666f6f",
                                      "666f6f62", "666f6f6261", "666f6f626172"};
    char out[32], dec[16];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(plain); i++) {
        size_t n = strlen(plain[i]);
        assert_int_equal(b64_encode(plain[i], n, out), strlen(b64[i]));
        assert_string_equal(out, b64[i]);
        assert_int_equal(b64_decode(str_c(b64[i]), dec, sizeof(dec)), (int)n);
        assert_memory_equal(dec, plain[i], n);
        /* RFC 4648 pads base32; the encoder here does not (MFA seeds). */
        assert_int_equal(b32_encode(plain[i], n, out), strlen(b32[i]));
        assert_string_equal(out, b32[i]);
        assert_int_equal(b32_decode(str_c(b32[i]), dec, sizeof(dec)), (int)n);
        assert_memory_equal(dec, plain[i], n);
        hex_encode(plain[i], n, out);
        assert_string_equal(out, b16[i]);
        assert_int_equal(hex_decode(str_c(b16[i]), dec, sizeof(dec)), (int)n);
        assert_memory_equal(dec, plain[i], n);
    }
    assert_int_equal(b32_decode(str_c("mzxw6ytboi======"), dec, sizeof(dec)), 6);
    assert_int_equal(hex_decode(str_c("666F6F"), dec, sizeof(dec)), 3);
    /* Refusals: bad length, bad character, padding inside, no room. */
    assert_int_equal(b64_decode(str_c("Zm9"), dec, sizeof(dec)), -EINVAL);
    assert_int_equal(b64_decode(str_c("Zm9*"), dec, sizeof(dec)), -EINVAL);
    assert_int_equal(b64_decode(str_c("Zg==Zm9v"), dec, sizeof(dec)), -EINVAL);
    assert_int_equal(b64_decode(str_c("Zg==="), dec, sizeof(dec)), -EINVAL);
    assert_int_equal(b64_decode(str_c("Zm9vYmFy"), dec, 5), -EINVAL);
    assert_int_equal(hex_decode(str_c("666"), dec, sizeof(dec)), -EINVAL);
    assert_int_equal(hex_decode(str_c("6g"), dec, sizeof(dec)), -EINVAL);
    assert_int_equal(hex_decode(str_c("666f6f"), dec, 2), -EINVAL);
    assert_int_equal(b32_decode(str_c("MZ1"), dec, sizeof(dec)), -EINVAL);
}

static void
test_hex_digit(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        int want = c >= '0' && c <= '9'   ? c - '0'
                   : c >= 'a' && c <= 'f' ? c - 'a' + 10
                   : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                          : -1;
        assert_int_equal(hex_digit(c), want);
    }
}

static void
test_percent(void **state)
{
    static const struct {
        const char *in;
        int path_n; /* uri_decode: length or -EINVAL */
        const char *path;
        int form_n; /* uri_decode_form */
        const char *form;
    } v[] = {
        {"", 0, "", 0, ""},
        {"a+b", 3, "a+b", 3, "a b"},
        {"a%2Bb", 3, "a+b", 3, "a+b"},
        {"%2f%2F", 2, "//", 2, "//"},
        {"caf%C3%A9", 5, "caf\xc3\xa9", 5, "caf\xc3\xa9"},
        {"%00x", 2, "\0x", 2, "\0x"},
        {"++", 2, "++", 2, "  "},
        {"100%", -EINVAL, NULL, -EINVAL, NULL},
        {"%4", -EINVAL, NULL, -EINVAL, NULL},
        {"%4g", -EINVAL, NULL, -EINVAL, NULL},
        {"%%41", -EINVAL, NULL, -EINVAL, NULL},
        {"x%41", 2, "xA", 2, "xA"},
    };
    char out[16];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        struct str in = str_c(v[i].in);
        assert_int_equal(uri_decode(in, out), v[i].path_n);
        if (v[i].path_n >= 0)
            assert_memory_equal(out, v[i].path, (size_t)v[i].path_n);
        assert_int_equal(uri_decode_form(in, out), v[i].form_n);
        if (v[i].form_n >= 0)
            assert_memory_equal(out, v[i].form, (size_t)v[i].form_n);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648),
        cmocka_unit_test(test_hex_digit),
        cmocka_unit_test(test_percent),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
