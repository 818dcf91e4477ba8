/* test_space.c -- the free-space guard on a temp directory: the reserve file is
 * allocated, released when the disk is said to be full (blob writers are then
 * refused), and re-created by the next admission once there is room; and the
 * S3 errors a full disk and a locked database map to. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "s3/s3_err.h"
#include "store/blob.h"
#include "store/space.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int64_t
reserve_size(const char *dir)
{
    char path[128];
    struct stat st;

    snprintf(path, sizeof(path), "%s/space.reserve", dir);
    if (stat(path, &st) < 0)
        return -1;
    return (int64_t)st.st_blocks * 512;
}

static void
test_reserve_cycle(void **state)
{
    char dir[] = "/tmp/coffer-space-XXXXXX";
    struct space *sp = NULL;
    struct blob *b = NULL;
    struct blob_writer *w = NULL;
    char id[BLOB_ID_LEN + 1];

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(space_open(dir, &sp), 0);
    assert_int_equal(blob_open(dir, &b), 0);
    blob_set_space(b, sp);
    assert_true(space_reserve_bytes(sp) > 0);
    assert_true(reserve_size(dir) >= space_reserve_bytes(sp));
    assert_false(space_is_full(sp));
    assert_int_equal(space_admit(sp), 0);

    /* A writer started before the disk filled stops at its next write. */
    assert_int_equal(blob_writer_open(b, &w), 0);
    assert_int_equal(blob_writer_write(w, "abc", 3), 0);
    space_exhausted(sp);
    space_exhausted(sp); /* idempotent */
    assert_true(space_is_full(sp));
    assert_int_equal(reserve_size(dir), 0);
    assert_int_equal(blob_writer_write(w, "def", 3), -ENOSPC);
    blob_writer_abort(w);

    /* /tmp has room: the next admission re-creates the reserve. */
    assert_int_equal(blob_writer_open(b, &w), 0);
    assert_false(space_is_full(sp));
    assert_true(reserve_size(dir) >= space_reserve_bytes(sp));
    assert_int_equal(blob_writer_write(w, "ghi", 3), 0);
    assert_int_equal(blob_writer_commit(w, id), 0);

    /* Plenty free: the low-water check changes nothing. */
    space_check(sp);
    assert_false(space_is_full(sp));

    /* NULL is a guard that never fills. */
    assert_int_equal(space_admit(NULL), 0);
    assert_false(space_is_full(NULL));
    space_exhausted(NULL);
    space_check(NULL);

    blob_close(b);
    space_close(sp);
    space_close(NULL);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
test_errors(void **state)
{
    (void)state;
    assert_int_equal(s3_err_status(s3_err_from_errno(-ENOSPC)), 507);
    assert_string_equal(s3_err_code(s3_err_from_errno(-ENOSPC)), "StorageFull");
    assert_int_equal(s3_err_from_errno(-EDQUOT), s3_err_from_errno(-ENOSPC));
    assert_int_equal(s3_err_status(s3_err_from_errno(-EBUSY)), 503);
    assert_string_equal(s3_err_code(s3_err_from_errno(-EBUSY)), "SlowDown");
    assert_string_equal(s3_err_msg(s3_err_from_errno(-EBUSY)), "Please reduce your request rate.");
    assert_int_equal(s3_err_status(s3_err_from_errno(-EIO)), 500);
    /* A write that conflicted with another gateway's past its retries. */
    assert_int_equal(s3_err_from_errno(-EAGAIN), s3_err_from_errno(-EBUSY));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserve_cycle),
        cmocka_unit_test(test_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
