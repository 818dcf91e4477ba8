/* test_s3_post.c -- browser POST uploads: http/http_form (the boundary,
 * parts read whole and the file streamed, fed in pieces of every size,
 * the limits and malformed forms) and s3/s3_post_policy (fields joined,
 * ${filename}, the policy document's parsing and its checks with the
 * messages of spec-authorization §8). Answers worked out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "http/http_form.h"
#include "s3/s3_post.h"
#include "util/arena.h"
#include "util/enc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- the form --------------------------------------------------------------- */

struct mem {
    const char *p;
    size_t n, off, step;
};

static ssize_t
mem_read(void *arg, void *p, size_t n)
{
    struct mem *m = arg;
    size_t k = m->n - m->off;

    if (k > n)
        k = n;
    if (k > m->step)
        k = m->step;
    memcpy(p, m->p + m->off, k);
    m->off += k;
    return (ssize_t)k;
}

static const struct http_form_limits lim = {1024, 4096, 10};

static void
test_boundary(void **state)
{
    static const struct {
        const char *ct, *want; /* want NULL: -EINVAL */
    } v[] = {
        {"multipart/form-data; boundary=abc", "abc"},
        {"Multipart/Form-Data;BOUNDARY=\"a b:c\"", "a b:c"},
        {"multipart/form-data; charset=utf-8; boundary=----WebKit123", "----WebKit123"},
        {"multipart/form-data", NULL},
        {"multipart/form-data; boundary=", NULL},
        {"multipart/form-data; boundary=\"a \"", NULL}, /* ends with a space */
        {"multipart/form-data; boundary=a; boundary=b", NULL},
        {"multipart/mixed; boundary=abc", NULL},
        {"text/plain", NULL},
        {"multipart/form-data; boundary=a\x01", NULL},
        {"multipart/form-data; boundary=\"unterminated", NULL},
        {"multipart/form-data; boundary=12345678901234567890123456789012345678901234567890"
         "12345678901234567890X",
         NULL}, /* 71 */
    };
    struct str b;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        int rc = http_form_boundary(str_c(v[i].ct), &b);
        if (v[i].want == NULL) {
            assert_int_equal(rc, -EINVAL);
        } else {
            assert_int_equal(rc, 0);
            assert_true(str_eq_c(b, v[i].want));
        }
    }
}

#define FORM                                                                                       \
    "preamble\r\n--XyZ\r\n"                                                                        \
    "Content-Disposition: form-data; name=\"key\"\r\n\r\n"                                         \
    "user/${filename}\r\n"                                                                         \
    "--XyZ  \r\n"                                                                                  \
    "content-disposition: form-data; name=multi\r\n\r\n"                                           \
    "line1\r\nline2\r\n"                                                                           \
    "--XyZ\r\n"                                                                                    \
    "Content-Disposition: form-data; name=\"FILE\"; filename=\"C:\\dir\\a.txt\"\r\n"              \
    "Content-Type: text/plain\r\n\r\n"                                                             \
    "data\r\n--Xy-not-quite\r\n--X\r\nend\r\n-"                                                       \
    "\r\n--XyZ\r\n"                                                                                \
    "Content-Disposition: form-data; name=\"after\"\r\n\r\nignored\r\n--XyZ--\r\n"

#define FILE_DATA "data\r\n--Xy-not-quite\r\n--X\r\nend\r\n-"

static void
test_form_pieces(void **state)
{
    static const size_t steps[] = {1, 2, 3, 5, 7, 13, 64, 1 << 20};

    (void)state;
    for (size_t s = 0; s < ARRAY_LEN(steps); s++) {
        struct arena *a = arena_new();
        struct mem m = {FORM, sizeof(FORM) - 1, 0, steps[s]};
        struct http_form *f = http_form_new(STR_LIT("XyZ"), &lim, mem_read, &m);
        struct http_form_part p;
        char out[256];
        size_t n = 0;
        ssize_t got;

        assert_int_equal(http_form_next(f, a, "file", &p), 0);
        assert_true(str_eq_c(p.name, "key"));
        assert_true(str_eq_c(p.value, "user/${filename}"));
        assert_int_equal(http_form_next(f, a, "file", &p), 0);
        assert_true(str_eq_c(p.name, "multi"));
        assert_true(str_eq_c(p.value, "line1\r\nline2"));
        assert_int_equal(http_form_next(f, a, "file", &p), 1);
        assert_true(str_eq_c(p.name, "FILE"));
        assert_true(str_eq_c(p.filename, "C:\\dir\\a.txt"));
        assert_true(str_eq_c(p.content_type, "text/plain"));
        while ((got = http_form_read(f, out + n, steps[s] < 5 ? 3 : sizeof(out) - n)) > 0)
            n += (size_t)got;
        assert_int_equal(got, 0);
        assert_int_equal(n, sizeof(FILE_DATA) - 1);
        assert_memory_equal(out, FILE_DATA, n);
        assert_int_equal(http_form_read(f, out, sizeof(out)), 0);
        /* What follows the file can still be read, then the close. */
        assert_int_equal(http_form_next(f, a, NULL, &p), 0);
        assert_true(str_eq_c(p.value, "ignored"));
        assert_int_equal(http_form_next(f, a, NULL, &p), -ENOENT);
        /* The closing "--" ends it: the epilogue may stay unread. */
        assert_in_range(http_form_consumed(f), sizeof(FORM) - 3, sizeof(FORM) - 1);
        http_form_free(f);
        arena_free(a);
    }
}

/* Reads the whole form as the S3 handler does; the first negative code,
 * or 1 when the file was read to its end. */
static int
run(const char *form, size_t step)
{
    struct arena *a = arena_new();
    struct mem m = {form, strlen(form), 0, step};
    struct http_form *f = http_form_new(STR_LIT("b"), &lim, mem_read, &m);
    struct http_form_part p;
    char buf[64];
    ssize_t got;
    int rc;

    while ((rc = http_form_next(f, a, "file", &p)) == 0)
        ;
    if (rc == 1) {
        while ((got = http_form_read(f, buf, sizeof(buf))) > 0)
            ;
        rc = got == 0 ? 1 : (int)got;
    }
    http_form_free(f);
    arena_free(a);
    return rc;
}

static void
test_form_errors(void **state)
{
    static char big[8192];
    static const struct {
        const char *form;
        int want;
    } v[] = {
        {"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nxx\r\n--b--", 1},
        {"--b\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--b--", -ENOENT},
        {"--b--\r\n", -ENOENT},
        {"", -EBADMSG},
        {"no delimiter at all", -EBADMSG},
        {"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nxx", -EBADMSG},
        {"--b\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nvv", -EBADMSG},
        {"--b\r\nContent-Disposition: form-data\r\n\r\nv\r\n--b--", -EBADMSG},
        {"--b\r\nContent-Disposition: attachment; name=k\r\n\r\nv\r\n--b--", -EBADMSG},
        {"--b\r\nContent-Disposition: form-data; name=\"k\r\n\r\nv\r\n--b--", -EBADMSG},
        {"--b\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\nv\r\n--b--", -EBADMSG},
        {"--b\r\nno colon\r\n\r\nv\r\n--b--", -EBADMSG},
        {"--bX\r\n", -EBADMSG},
        {"--b\r\nContent-Disposition: form-data; name=k\r\n\r\nv\r\n--b\r\n"
         "Content-Disposition: form-data; name=k\r\n\r\nv\r\n--b\r\n"
         "Content-Disposition: form-data; name=k\r\n\r\nv\r\n--b\r\n"
         "Content-Disposition: form-data; name=k\r\n\r\nv\r\n--b\r\n"
         "Content-Disposition: form-data; name=k\r\n\r\nv\r\n--b\r\n"
         "Content-Disposition: form-data; name=k\r\n\r\nv\r\n--b\r\n"
         "Content-Disposition: form-data; name=k\r\n\r\nv\r\n--b\r\n"
         "Content-Disposition: form-data; name=k\r\n\r\nv\r\n--b\r\n"
         "Content-Disposition: form-data; name=k\r\n\r\nv\r\n--b\r\n"
         "Content-Disposition: form-data; name=k\r\n\r\nv\r\n--b\r\n"
         "Content-Disposition: form-data; name=k\r\n\r\nv\r\n--b--",
         -EMSGSIZE}, /* 11 parts */
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(v); i++)
        for (size_t step = 1; step < 40; step += 19)
            assert_int_equal(run(v[i].form, step), v[i].want);
    /* A field of 1025 bytes passes max_field_bytes; 5000 bytes of preamble
     * pass max_head_bytes. */
    int n = snprintf(big, sizeof(big), "--b\r\nContent-Disposition: form-data; name=k\r\n\r\n");
    memset(big + n, 'v', 1025);
    memcpy(big + n + 1025, "\r\n--b--", 8);
    assert_int_equal(run(big, 1000), -EMSGSIZE);
    memset(big, 'p', 5000);
    memcpy(big + 5000, "\r\n--b--", 8);
    assert_int_equal(run(big, 1000), -EMSGSIZE);
}

/* ---- fields and the policy ------------------------------------------------- */

static void
test_fields(void **state)
{
    struct arena *a = arena_new();
    struct s3_post_form fm = {0};

    (void)state;
    assert_int_equal(s3_post_field_add(a, &fm, STR_LIT("Tag"), STR_LIT("a")), 0);
    assert_int_equal(s3_post_field_add(a, &fm, STR_LIT("key"), STR_LIT("k")), 0);
    assert_int_equal(s3_post_field_add(a, &fm, STR_LIT("TAG"), STR_LIT("b")), 0);
    assert_int_equal(s3_post_field_add(a, &fm, STR_LIT("tag"), STR_LIT("")), 0);
    assert_int_equal(fm.n, 2);
    assert_true(str_eq_c(s3_post_field(&fm, "tAg"), "a,b,"));
    assert_true(str_eq_c(fm.f[0].name, "Tag"));
    assert_null(s3_post_field(&fm, "nope").p);
    for (int i = 0; i < S3_POST_MAX_FIELDS - 2; i++) {
        char name[16];
        snprintf(name, sizeof(name), "f%d", i);
        assert_int_equal(s3_post_field_add(a, &fm, str_c(arena_strndup(a, name, strlen(name))),
                                           STR_LIT("v")),
                         0);
    }
    assert_int_equal(s3_post_field_add(a, &fm, STR_LIT("one-more"), STR_LIT("v")), -E2BIG);
    assert_int_equal(s3_post_field_add(a, &fm, STR_LIT("F0"), STR_LIT("w")), 0);

    static const struct {
        const char *key, *file, *want;
    } v[] = {
        {"u/${filename}", "C:\\Users\\me\\a.jpg", "u/a.jpg"},
        {"u/${filename}", "dir/sub/b.png", "u/b.png"},
        {"${filename}-${filename}", "x", "x-x"},
        {"u/${filename}", NULL, "u/"},
        {"u/${file}", "x", "u/${file}"},
        {"plain", "x", "plain"},
        {"${filename", "x", "${filename"},
    };
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        struct str k;
        assert_int_equal(s3_post_expand_key(a, str_c(v[i].key), str_c(v[i].file), &k), 0);
        assert_true(str_eq_c(k, v[i].want));
    }
    /* 100 times ${filename} for an 11-byte name is 1,100 bytes: past the
     * 1,024 of a key, refused before allocating. */
    char many[1200] = "";
    for (int i = 0; i < 100; i++)
        memcpy(many + 11 * i, "${filename}", 11);
    struct str k;
    assert_int_equal(s3_post_expand_key(a, str_make(many, 1100), STR_LIT("abcdefghijk"), &k),
                     -E2BIG);
    assert_int_equal(s3_post_expand_key(a, str_make(many, 1100), STR_LIT("abcdefghij"), &k), 0);
    assert_int_equal(k.n, 1000);
    arena_free(a);
}

static struct str
b64(struct arena *a, const char *json)
{
    size_t n = strlen(json);
    char *out = arena_alloc(a, n / 3 * 4 + 8);

    return str_make(out, b64_encode(json, n, out));
}

static void
test_policy_parse(void **state)
{
    static const struct {
        const char *doc;
        const char *msg; /* NULL: valid */
    } v[] = {
        {"{\"expiration\":\"2030-01-01T00:00:00.000Z\",\"conditions\":[]}", NULL},
        {"{\"expiration\":\"2030-01-01T00:00:00Z\",\"conditions\":[{\"bucket\":\"b\"},"
         "[\"eq\",\"$key\",\"k\"],[\"starts-with\",\"$x-amz-meta-a\",\"\"],"
         "[\"content-length-range\",1,\"10\"],[\"EQ\",\"$acl\",\"private\"]]}",
         NULL},
        {"{\"conditions\":[]}", "Invalid Policy: Policy missing expiration."},
        {"{\"expiration\":\"2030-01-01T00:00:00.000Z\"}",
         "Invalid Policy: Policy missing conditions."},
        {"{\"expiration\":\"2030-01-01 00:00:00\",\"conditions\":[]}", NULL},
        {"{\"expiration\":\"2030-01-01T00:00:00+01:00\",\"conditions\":[]}", NULL},
        {"{\"expiration\":\"2030-01-01T00:00:00.Z\",\"conditions\":[]}", NULL},
        {"{\"expiration\":12,\"conditions\":[]}", NULL},
        {"[1]", "Invalid Policy: Invalid JSON."},
        {"{\"expiration\":\"2030-01-01T00:00:00Z\",\"conditions\":{}}", NULL},
        {"{\"expiration\":\"2030-01-01T00:00:00Z\",\"conditions\":[[\"starts-with\",\"$bucket\","
         "\"b\"]]}",
         NULL},
        {"{\"expiration\":\"2030-01-01T00:00:00Z\",\"conditions\":[[\"starts-with\","
         "\"$success_action_status\",\"2\"]]}",
         NULL},
        {"{\"expiration\":\"2030-01-01T00:00:00Z\",\"conditions\":[[\"gt\",\"$key\",\"b\"]]}",
         NULL},
        {"{\"expiration\":\"2030-01-01T00:00:00Z\",\"conditions\":[[\"eq\",\"key\",\"b\"]]}", NULL},
        {"{\"expiration\":\"2030-01-01T00:00:00Z\",\"conditions\":[[\"eq\",\"$key\",1]]}", NULL},
        {"{\"expiration\":\"2030-01-01T00:00:00Z\",\"conditions\":[{\"a\":\"1\",\"b\":\"2\"}]}",
         NULL},
        {"{\"expiration\":\"2030-01-01T00:00:00Z\",\"conditions\":[[\"content-length-range\",-1,"
         "5]]}",
         NULL},
        {"{\"expiration\":\"2030-01-01T00:00:00Z\",\"conditions\":[],\"conditions\":[]}",
         "Invalid Policy: Invalid JSON."},
    };
    struct arena *a = arena_new();
    struct s3_post_policy p;
    const char *msg;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        enum s3_err err = s3_post_policy_parse(a, b64(a, v[i].doc), &p, &msg);
        bool valid = i < 2;
        assert_int_equal(err, valid ? S3E_OK : S3E_INVALID_POLICY_DOCUMENT);
        if (v[i].msg != NULL)
            assert_string_equal(msg, v[i].msg);
        if (!valid)
            assert_int_equal(p.n, 0);
    }
    assert_int_equal(s3_post_policy_parse(a, b64(a, v[1].doc), &p, &msg), S3E_OK);
    assert_int_equal(p.expiration_s, 1893456000);
    assert_int_equal(p.n, 5);
    assert_int_equal(p.c[0].op, S3_POST_EQ);
    assert_true(str_eq_c(p.c[0].field, "bucket"));
    assert_int_equal(p.c[2].op, S3_POST_STARTS_WITH);
    assert_true(str_eq_c(p.c[2].field, "x-amz-meta-a"));
    assert_int_equal(p.c[3].op, S3_POST_RANGE);
    assert_int_equal(p.c[3].min, 1);
    assert_int_equal(p.c[3].max, 10);
    assert_int_equal(s3_post_policy_max(&p), 10);
    assert_int_equal(s3_post_size_check(&p, 0), S3E_ENTITY_TOO_SMALL);
    assert_int_equal(s3_post_size_check(&p, 1), S3E_OK);
    assert_int_equal(s3_post_size_check(&p, 10), S3E_OK);
    assert_int_equal(s3_post_size_check(&p, 11), S3E_ENTITY_TOO_LARGE);
    assert_int_equal(s3_post_policy_parse(a, STR_LIT("!!!"), &p, &msg),
                     S3E_INVALID_POLICY_DOCUMENT);
    arena_free(a);
}

static void
test_policy_check(void **state)
{
    static const char doc[] =
        "{\"expiration\":\"2030-01-01T00:00:00.000Z\",\"conditions\":["
        "{\"bucket\":\"bkt\"},[\"starts-with\",\"$key\",\"user/\"],{\"acl\":\"pri\\\"vate\"},"
        "[\"starts-with\",\"$Content-Type\",\"image/\"],[\"content-length-range\",0,9]]}";
    static const struct {
        const char *fields[12]; /* name, value pairs */
        const char *bucket;
        bool sigv2;
        int64_t now;
        const char *msg; /* NULL: S3E_OK */
    } v[] = {
        {{"key", "user/a", "acl", "pri\"vate", "content-type", "image/png,image/gif"}, "bkt",
         false, 0, NULL},
        {{"KEY", "user/a", "acl", "pri\"vate", "Content-Type", "image/x"}, "bkt", false, 1893455999,
         NULL},
        {{"key", "user/a"}, "bkt", false, 1893456000,
         "Invalid according to Policy: Policy expired."},
        {{"key", "user/a"}, "other", false, 0,
         "Invalid according to Policy: Policy Condition failed: [\"eq\", \"$bucket\", \"bkt\"]"},
        {{"key", "users/a"}, "bkt", false, 0,
         "Invalid according to Policy: Policy Condition failed: [\"starts-with\", \"$key\", "
         "\"user/\"]"},
        {{"key", "user/a", "acl", "private"}, "bkt", false, 0,
         "Invalid according to Policy: Policy Condition failed: [\"eq\", \"$acl\", "
         "\"pri\\\"vate\"]"},
        {{"key", "user/a", "acl", "pri\"vate", "Content-Type", "image/png, text/html"}, "bkt",
         false, 0,
         "Invalid according to Policy: Policy Condition failed: [\"starts-with\", "
         "\"$Content-Type\", \"image/\"]"},
        {{"key", "user/a", "acl", "pri\"vate", "X-Amz-Meta-A", "1", "content-type", "image/x"}, "bkt", false, 0,
         "Invalid according to Policy: Extra input fields: X-Amz-Meta-A"},
        {{"key", "user/a", "acl", "pri\"vate", "policy", "p", "x-ignore-z", "1", "content-type", "image/x"}, "bkt", false, 0,
         NULL},
        {{"key", "user/a", "acl", "pri\"vate", "AWSAccessKeyId", "AK", "content-type", "image/x"}, "bkt", true, 0, NULL},
        {{"key", "user/a", "acl", "pri\"vate", "AWSAccessKeyId", "AK", "content-type", "image/x"}, "bkt", false, 0,
         "Invalid according to Policy: Extra input fields: AWSAccessKeyId"},
        {{"key", "user/a", "acl", "pri\"vate", "signature", "s", "x-amz-signature", "s", "content-type", "image/x"}, "bkt",
         false, 0, NULL},
        {{"key", "user/a", "acl", "pri\"vate", "bucket", "bkt", "content-type", "image/x"}, "bkt", false, 0, NULL},
    };
    struct arena *a = arena_new();
    struct s3_post_policy p;
    const char *msg;

    (void)state;
    assert_int_equal(s3_post_policy_parse(a, b64(a, doc), &p, &msg), S3E_OK);
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        struct s3_post_form fm = {0};
        for (size_t k = 0; k < ARRAY_LEN(v[i].fields) && v[i].fields[k] != NULL; k += 2)
            s3_post_field_add(a, &fm, str_c(v[i].fields[k]), str_c(v[i].fields[k + 1]));
        msg = NULL;
        enum s3_err err =
            s3_post_policy_check(a, &p, &fm, str_c(v[i].bucket), v[i].sigv2, v[i].now, &msg);
        if (v[i].msg == NULL) {
            assert_int_equal(err, S3E_OK);
        } else {
            assert_int_equal(err, S3E_ACCESS_DENIED);
            assert_string_equal(msg, v[i].msg);
        }
    }
    arena_free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundary),      cmocka_unit_test(test_form_pieces),
        cmocka_unit_test(test_form_errors),   cmocka_unit_test(test_fields),
        cmocka_unit_test(test_policy_parse),  cmocka_unit_test(test_policy_check),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
