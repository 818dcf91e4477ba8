/* test_s3_storage.c -- the pure parsers of storage classes and of
 * GetObjectAttributes' x-amz-object-attributes header: which classes are
 * stored (and how STANDARD is spelt in the row), which are refused, and
 * the attribute list's names, empty items and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "s3/s3_int.h"

#include <errno.h>

static void
test_storage_classes(void **state)
{
    static const char *const stored[] = {
        "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR",
    };
    static const char *const refused[] = {
        "GLACIER", "DEEP_ARCHIVE", "OUTPOSTS", "SNOW", "EXPRESS_ONEZONE", "standard", "",
        "STANDARD ", "FSX_ONTAP",
    };
    struct str out;

    (void)state;
    /* Absent and STANDARD both store as none. */
    assert_int_equal(s3_storage_class_parse(STR_NULL, &out), S3E_OK);
    assert_null(out.p);
    assert_int_equal(s3_storage_class_parse(STR_LIT("STANDARD"), &out), S3E_OK);
    assert_null(out.p);
    assert_true(s3_storage_class_valid(STR_LIT("STANDARD")));
    for (size_t i = 0; i < ARRAY_LEN(stored); i++) {
        assert_true(s3_storage_class_valid(str_c(stored[i])));
        assert_int_equal(s3_storage_class_parse(str_c(stored[i]), &out), S3E_OK);
        assert_true(str_eq_c(out, stored[i]));
        assert_true(str_eq_c(s3_storage_class_name(out), stored[i]));
    }
    for (size_t i = 0; i < ARRAY_LEN(refused); i++) {
        assert_false(s3_storage_class_valid(str_c(refused[i])));
        assert_int_equal(s3_storage_class_parse(str_c(refused[i]), &out),
                         S3E_INVALID_STORAGE_CLASS);
    }
    assert_true(str_eq_c(s3_storage_class_name(STR_NULL), "STANDARD"));
    assert_true(str_eq_c(s3_storage_class_name(STR_LIT("")), "STANDARD"));
}

static void
test_object_attributes(void **state)
{
    unsigned m;
    struct str bad;

    (void)state;
    assert_int_equal(s3_attrs_parse(STR_LIT("ETag"), &m, &bad), 0);
    assert_int_equal(m, 1u << S3_ATTR_ETAG);
    assert_int_equal(
        s3_attrs_parse(STR_LIT("ETag,Checksum, ObjectParts ,StorageClass,ObjectSize"), &m, &bad),
        0);
    assert_int_equal(m, 0x1fu);
    /* Empty items are skipped; repeats are harmless. */
    assert_int_equal(s3_attrs_parse(STR_LIT(",ObjectSize,,ObjectSize,"), &m, &bad), 0);
    assert_int_equal(m, 1u << S3_ATTR_OBJECT_SIZE);
    /* Names are exact. */
    assert_int_equal(s3_attrs_parse(STR_LIT("ETag,etag"), &m, &bad), -EINVAL);
    assert_true(str_eq_c(bad, "etag"));
    assert_int_equal(s3_attrs_parse(STR_LIT("ETags"), &m, &bad), -EINVAL);
    assert_true(str_eq_c(bad, "ETags"));
    /* Nothing named. */
    assert_int_equal(s3_attrs_parse(STR_LIT(""), &m, &bad), -ENOENT);
    assert_int_equal(s3_attrs_parse(STR_LIT(" , ,"), &m, &bad), -ENOENT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storage_classes),
        cmocka_unit_test(test_object_attributes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
