/* test_s3_bodies.c -- the XML request bodies read by pure functions of
 * (arena, body): PutBucketVersioning, CreateBucketConfiguration,
 * DeleteObjects and CompleteMultipartUpload (the lifecycle body has
 * test_lifecycle.c), plus the If-Match / If-None-Match ETag lists. Answers
 * as S3 gives them [spec-mfa-delete §2] or as the handlers documented them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "s3/s3_int.h"
#include "s3/s3_mpu.h"
#include "util/arena.h"

#include <string.h>

static void
test_versioning(void **state)
{
    static const struct {
        const char *body;
        enum s3_err want;
        enum md_versioning status;
        enum md_mfa mfa;
    } v[] = {
        {"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>", S3E_OK,
         MD_VER_ENABLED, MD_MFA_UNSET},
        {"<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
         "  <Status>Suspended</Status><MfaDelete>Disabled</MfaDelete>\n"
         "</VersioningConfiguration>",
         S3E_OK, MD_VER_SUSPENDED, MD_MFA_DISABLED},
        {"<VersioningConfiguration><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>",
         S3E_ILLEGAL_VERSIONING_CONFIG, 0, 0},
        {"<VersioningConfiguration><Status>enabled</Status></VersioningConfiguration>",
         S3E_MALFORMED_XML, 0, 0},
        {"<VersioningConfiguration><Status>Enabled</Status><MFADelete>Enabled</MFADelete>"
         "</VersioningConfiguration>",
         S3E_MALFORMED_XML, 0, 0},
        {"<VersioningConfiguration><Status>Enabled</Status><Status>Enabled</Status>"
         "</VersioningConfiguration>",
         S3E_MALFORMED_XML, 0, 0},
        {"<VersioningConfiguration>x<Status>Enabled</Status></VersioningConfiguration>",
         S3E_MALFORMED_XML, 0, 0},
        {"<Versioning><Status>Enabled</Status></Versioning>", S3E_MALFORMED_XML, 0, 0},
        {"<VersioningConfiguration><Status>Enabled</Status>", S3E_MALFORMED_XML, 0, 0},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        struct arena *a = arena_new();
        struct s3_versioning_req vr;
        assert_int_equal(s3_parse_versioning(a, str_c(v[i].body), &vr), v[i].want);
        if (v[i].want == S3E_OK) {
            assert_int_equal(vr.status, v[i].status);
            assert_int_equal(vr.mfa, v[i].mfa);
        }
        arena_free(a);
    }
}

static void
test_location(void **state)
{
    static const struct {
        const char *body;
        enum s3_err want;
        const char *lc; /* NULL: none */
    } v[] = {
        {"", S3E_OK, NULL},
        {" \r\n", S3E_OK, NULL},
        {"<CreateBucketConfiguration/>", S3E_OK, NULL},
        {"<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint>"
         "</CreateBucketConfiguration>",
         S3E_OK, "eu-west-1"},
        {"<CreateBucketConfiguration><LocationConstraint>EU</LocationConstraint>"
         "</CreateBucketConfiguration>",
         S3E_OK, "eu-west-1"},
        {"<CreateBucketConfiguration><LocationConstraint/></CreateBucketConfiguration>", S3E_OK,
         "us-east-1"},
        /* AWS: us-east-1 is never sent as a constraint. */
        {"<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint>"
         "</CreateBucketConfiguration>",
         S3E_INVALID_LOCATION_CONSTRAINT, NULL},
        {"<CreateBucketConfiguration><LocationConstraint>Mars_1</LocationConstraint>"
         "</CreateBucketConfiguration>",
         S3E_INVALID_LOCATION_CONSTRAINT, NULL},
        {"<CreateBucketConfiguration><Bucket><Type>Directory</Type></Bucket>"
         "</CreateBucketConfiguration>",
         S3E_NOT_IMPLEMENTED, NULL},
        {"<CreateBucketConfiguration><LocationConstraint>a</LocationConstraint>"
         "<LocationConstraint>a</LocationConstraint></CreateBucketConfiguration>",
         S3E_MALFORMED_XML, NULL},
        {"<CreateBucketConfiguration><Other/></CreateBucketConfiguration>", S3E_MALFORMED_XML,
         NULL},
        {"<LocationConstraint>eu-west-1</LocationConstraint>", S3E_MALFORMED_XML, NULL},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        struct arena *a = arena_new();
        struct str lc;
        const char *unsupported;
        assert_int_equal(s3_parse_location(a, str_c(v[i].body), &lc, &unsupported), v[i].want);
        if (v[i].want == S3E_OK && v[i].lc == NULL)
            assert_null(lc.p);
        if (v[i].lc != NULL)
            assert_true(str_eq_c(lc, v[i].lc));
        if (v[i].want == S3E_NOT_IMPLEMENTED)
            assert_string_equal(unsupported, "Bucket");
        arena_free(a);
    }
}

static void
test_delete(void **state)
{
    struct arena *a = arena_new();
    struct s3_delete_obj *objs;
    size_t n = 0;
    bool quiet = false;
    struct str body = STR_LIT("<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                              "<Quiet>true</Quiet>"
                              "<Object><Key>a/b.txt</Key></Object>"
                              "<Object><Key>c</Key><VersionId>null</VersionId></Object>"
                              "<Object><Key></Key></Object></Delete>");
    static const char *const bad[] = {
        "<Delete/>",
        "<Delete><Quiet>yes</Quiet><Object><Key>a</Key></Object></Delete>",
        "<Delete><Object><VersionId>v</VersionId></Object></Delete>",
        "<Remove><Object><Key>a</Key></Object></Remove>",
        "<Delete><Object><Key>a</Key></Object>",
    };

    (void)state;
    assert_int_equal(s3_parse_delete(a, body, &quiet, &objs, &n), S3E_OK);
    assert_true(quiet);
    assert_int_equal(n, 3);
    assert_true(str_eq_c(objs[0].key, "a/b.txt"));
    assert_null(objs[0].vid.p);
    assert_true(str_eq_c(objs[1].vid, "null"));
    assert_int_equal(objs[2].key.n, 0);
    assert_non_null(objs[2].key.p);
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        assert_int_equal(s3_parse_delete(a, str_c(bad[i]), &quiet, &objs, &n), S3E_MALFORMED_XML);
    arena_free(a);
}

static void
test_complete(void **state)
{
    struct arena *a = arena_new();
    struct s3_mpu_want *w;
    struct str bad;
    size_t n;
    struct str body =
        STR_LIT("<CompleteMultipartUpload>"
                "<Part><PartNumber>1</PartNumber><ETag>\"a54357aff0632cce46d942af68356b38\"</ETag>"
                "<ChecksumCRC32>NhCmhg==</ChecksumCRC32><ChecksumSHA1>x</ChecksumSHA1></Part>"
                "<Part><ETag> e2 </ETag><PartNumber> 3 </PartNumber></Part>"
                "</CompleteMultipartUpload>");

    (void)state;
    assert_int_equal(s3_mpu_parse_complete(a, body, STR_LIT("crc32"), &w, &n, &bad), S3E_OK);
    assert_int_equal(n, 2);
    assert_int_equal(w[0].number, 1);
    assert_true(str_eq_c(w[0].etag, "a54357aff0632cce46d942af68356b38"));
    assert_true(str_eq_c(w[0].checksum, "NhCmhg=="));
    assert_int_equal(w[1].number, 3);
    assert_true(str_eq_c(w[1].etag, "e2"));
    assert_null(w[1].checksum.p);
    /* Without an upload algorithm no checksum is taken. */
    assert_int_equal(s3_mpu_parse_complete(a, body, STR_LIT(""), &w, &n, &bad), S3E_OK);
    assert_null(w[0].checksum.p);
    assert_int_equal(
        s3_mpu_parse_complete(a,
                              STR_LIT("<CompleteMultipartUpload><Part><PartNumber>2</PartNumber>"
                                      "<ETag>x</ETag></Part><Part><PartNumber>2</PartNumber>"
                                      "<ETag>y</ETag></Part></CompleteMultipartUpload>"),
                              STR_LIT(""), &w, &n, &bad),
        S3E_INVALID_PART_ORDER);
    assert_int_equal(
        s3_mpu_parse_complete(a,
                              STR_LIT("<CompleteMultipartUpload><Part><PartNumber>10001"
                                      "</PartNumber><ETag>x</ETag></Part>"
                                      "</CompleteMultipartUpload>"),
                              STR_LIT(""), &w, &n, &bad),
        S3E_INVALID_ARGUMENT);
    assert_true(str_eq_c(bad, "10001"));
    assert_int_equal(s3_mpu_parse_complete(a, STR_LIT(""), STR_LIT(""), &w, &n, &bad),
                     S3E_MALFORMED_XML);
    assert_int_equal(
        s3_mpu_parse_complete(a, STR_LIT("<CompleteMultipartUpload/>"), STR_LIT(""), &w, &n, &bad),
        S3E_MALFORMED_XML);
    assert_int_equal(
        s3_mpu_parse_complete(a,
                              STR_LIT("<CompleteMultipartUpload><Part><PartNumber>1"
                                      "</PartNumber></Part></CompleteMultipartUpload>"),
                              STR_LIT(""), &w, &n, &bad),
        S3E_MALFORMED_XML);
    arena_free(a);
}

static void
test_etag_lists(void **state)
{
    struct str etag = STR_LIT("a54357aff0632cce46d942af68356b38");

    (void)state;
    assert_true(s3_etag_matches(STR_LIT("\"a54357aff0632cce46d942af68356b38\""), etag));
    assert_true(s3_etag_matches(STR_LIT("a54357aff0632cce46d942af68356b38"), etag));
    assert_true(s3_etag_matches(STR_LIT("\"x\" , \"a54357aff0632cce46d942af68356b38\""), etag));
    assert_true(s3_etag_matches(STR_LIT("\"x\",*"), etag));
    assert_false(s3_etag_matches(STR_LIT("\"x\", \"y\""), etag));
    assert_false(s3_etag_matches(STR_LIT(""), etag));
    assert_false(s3_etag_matches(STR_LIT("\""), STR_LIT("")));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versioning), cmocka_unit_test(test_location),
        cmocka_unit_test(test_delete),     cmocka_unit_test(test_complete),
        cmocka_unit_test(test_etag_lists),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
