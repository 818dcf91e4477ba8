/* test_md_migrate.c -- the pure parts of `coffer migrate` (store/md_migrate.c):
 * the order tables are copied in (every table after those its foreign keys
 * reference, as PostgreSQL checks them row by row) and the COPY text format
 * of one field (escapes, bytea hex, NUL refused). The copy itself is
 * tests/e2e/test_migrate.py's (it needs a PostgreSQL server). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "store/md_migrate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static char names[16][MD_MIGRATE_NAME_MAX];

static size_t
set(const char *const *list)
{
    size_t n = 0;

    for (; list[n] != NULL; n++)
        snprintf(names[n], sizeof(names[n]), "%s", list[n]);
    return n;
}

static size_t
pos(size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0)
            return i;
    }
    fail_msg("%s missing", name);
    return n;
}

static void
test_order_schema(void **state)
{
    /* The real schema's tables in name order (as sqlite_master is read) and
     * PostgreSQL's foreign keys: parents must come first. */
    static const char *const t[] = {"accounts", "buckets", "counters", "keys", "upload_parts",
                                    "uploads", "users", "version_parts", "versions",
                                    "group_members", "iam_groups", NULL};
    static const char edges[] = "keys>accounts,buckets>accounts,versions>buckets,users>accounts,"
                                "uploads>buckets,upload_parts>uploads,version_parts>versions,"
                                "iam_groups>accounts,group_members>iam_groups,"
                                "group_members>users";
    size_t n = set(t);

    (void)state;
    assert_int_equal(md_migrate_order(names, n, edges), 0);
    assert_true(pos(n, "accounts") < pos(n, "keys"));
    assert_true(pos(n, "accounts") < pos(n, "buckets"));
    assert_true(pos(n, "buckets") < pos(n, "versions"));
    assert_true(pos(n, "versions") < pos(n, "version_parts"));
    assert_true(pos(n, "buckets") < pos(n, "uploads"));
    assert_true(pos(n, "uploads") < pos(n, "upload_parts"));
    assert_true(pos(n, "users") < pos(n, "group_members"));
    assert_true(pos(n, "iam_groups") < pos(n, "group_members"));
    /* Stable: tables free from the start keep their order. */
    assert_string_equal(names[0], "accounts");
    assert_string_equal(names[1], "buckets");
    assert_string_equal(names[2], "counters");
}

static void
test_order_edge_cases(void **state)
{
    static const char *const t[] = {"b", "a", "ab", NULL};
    size_t n;

    (void)state;
    /* A self-reference and a name outside the list do not block; a name
     * that is a prefix of another is not taken for it. */
    n = set(t);
    assert_int_equal(md_migrate_order(names, n, "b>b,b>zz,ab>a"), 0);
    assert_string_equal(names[0], "b");
    assert_string_equal(names[1], "a");
    assert_string_equal(names[2], "ab");
    n = set(t);
    assert_int_equal(md_migrate_order(names, n, "b>ab"), 0);
    assert_string_equal(names[0], "a");
    assert_string_equal(names[1], "ab");
    assert_string_equal(names[2], "b");
    n = set(t);
    assert_int_equal(md_migrate_order(names, n, ""), 0);
    assert_string_equal(names[0], "b");
    /* A cycle cannot be ordered. */
    n = set(t);
    assert_int_equal(md_migrate_order(names, n, "a>b,b>a"), -ELOOP);
}

static void
test_field(void **state)
{
    char out[64];
    int64_t w;

    (void)state;
    w = md_migrate_field(out, "a\tb\nc\rd\\e", 9, false);
    assert_int_equal(w, 13);
    assert_memory_equal(out, "a\\tb\\nc\\rd\\\\e", 13);
    w = md_migrate_field(out, "", 0, false);
    assert_int_equal(w, 0);
    w = md_migrate_field(out, "\x00\xff\x10", 3, true);
    assert_int_equal(w, 9);
    assert_memory_equal(out, "\\\\x00ff10", 9);
    w = md_migrate_field(out, "", 0, true);
    assert_int_equal(w, 3);
    assert_memory_equal(out, "\\\\x", 3);
    /* UTF-8 passes as it is; NUL cannot be PostgreSQL text. */
    w = md_migrate_field(out, "\xc3\xa9", 2, false);
    assert_int_equal(w, 2);
    assert_int_equal(md_migrate_field(out, "a\0b", 3, false), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_schema),
        cmocka_unit_test(test_order_edge_cases),
        cmocka_unit_test(test_field),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
