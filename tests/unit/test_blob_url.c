/* test_blob_url.c -- --blobs URL parsing (store/blob_url.c): known answers
 * for the accepted forms, and every malformed one refused with a message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "store/blob.h"

#include <errno.h>
#include <string.h>

static struct blob_url u;
static char err[512];

static int
parse(const char *url, const char *dir)
{
    return blob_url_parse(url, dir, &u, err, sizeof(err));
}

static void
test_files(void **state)
{
    (void)state;
    assert_int_equal(parse(NULL, "/srv/data"), 0);
    assert_int_equal(u.kind, BLOB_FILES);
    assert_string_equal(u.path, "/srv/data/blobs");
    assert_string_equal(u.tmp, "/srv/data/tmp");
    assert_int_equal(parse("", "d"), 0);
    assert_string_equal(u.path, "d/blobs");
    assert_string_equal(u.tmp, "d/tmp");
    /* The default spelled out keeps the default layout. */
    assert_int_equal(parse("file:/srv/data/blobs", "/srv/data"), 0);
    assert_string_equal(u.path, "/srv/data/blobs");
    assert_string_equal(u.tmp, "/srv/data/tmp");
    assert_int_equal(parse("file:/mnt/big/objects", "/srv/data"), 0);
    assert_int_equal(u.kind, BLOB_FILES);
    assert_string_equal(u.path, "/mnt/big/objects");
    assert_string_equal(u.tmp, "/mnt/big/objects/.tmp");
    assert_int_equal(parse("file:", "/srv/data"), -EINVAL);
    assert_non_null(strstr(err, "file:PATH"));
    assert_int_equal(parse(NULL, NULL), -EINVAL);
}

static void
test_rados(void **state)
{
    (void)state;
    assert_int_equal(parse("rados://coffer?conf=/etc/ceph/ceph.conf", "/d"), 0);
    assert_int_equal(u.kind, BLOB_RADOS);
    assert_string_equal(u.pool, "coffer");
    assert_string_equal(u.conf, "/etc/ceph/ceph.conf");
    assert_string_equal(u.id, "admin");
    assert_int_equal(u.timeout_s, BLOB_RADOS_TIMEOUT_DEFAULT_S);
    assert_string_equal(u.ns, "");
    assert_int_equal(parse("rados://coffer?ns=store_2.a-b&conf=/c", "/d"), 0);
    assert_string_equal(u.ns, "store_2.a-b");
    assert_int_equal(parse("rados://data.pool-1?id=coffer&conf=/c%20d/ceph.conf&timeout=3", "/d"),
                     0);
    assert_string_equal(u.pool, "data.pool-1");
    assert_string_equal(u.conf, "/c d/ceph.conf");
    assert_string_equal(u.id, "coffer");
    assert_int_equal(u.timeout_s, 3);
    assert_int_equal(parse("rados://p?conf=%2Fetc%2fceph.conf", "/d"), 0);
    assert_string_equal(u.conf, "/etc/ceph.conf");
}

static void
test_refused(void **state)
{
    static const struct {
        const char *url, *says;
    } bad[] = {
        {"rados://coffer", "conf=CEPH_CONF is required"},
        {"rados://?conf=/c", "pool name"},
        {"rados://a/b?conf=/c", "pool name"},
        {"rados://coffer?conf=/c&pool=x", "unknown parameter 'pool'"},
        {"rados://coffer?conf=/c&conf=/d", "'conf' given twice"},
        {"rados://coffer?conf=", "'conf' has an empty or bad value"},
        {"rados://coffer?conf=/c%2", "'conf' has an empty or bad value"},
        {"rados://coffer?conf=/c%zz", "'conf' has an empty or bad value"},
        {"rados://coffer?conf=/c%00x", "'conf' has an empty or bad value"},
        {"rados://coffer?conf", "has no value"},
        {"rados://coffer?conf=/c&", "empty parameter"},
        {"rados://coffer?conf=/c&timeout=0", "timeout must be"},
        {"rados://coffer?conf=/c&timeout=301", "timeout must be"},
        {"rados://coffer?conf=/c&timeout=5s", "timeout must be"},
        {"rados://coffer?conf=/c&id=client.admin", "without 'client.'"},
        {"rados://coffer?conf=/c&ns=a/b", "namespace must be"},
        {"rados://coffer?conf=/c&ns=", "'ns' has an empty or bad value"},
        {"rados://coffer?conf=/c&ns=a&ns=b", "'ns' given twice"},
        {"s3://bucket", "unknown kind"},
        {"/srv/blobs", "unknown kind"},
        {"RADOS://coffer?conf=/c", "unknown kind"},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        if (parse(bad[i].url, "/d") != -EINVAL)
            fail_msg("%s accepted", bad[i].url);
        if (strstr(err, bad[i].says) == NULL)
            fail_msg("%s: '%s' does not say '%s'", bad[i].url, err, bad[i].says);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_rados),
        cmocka_unit_test(test_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
