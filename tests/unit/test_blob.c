/* test_blob.c -- blob files on a temp directory: write, commit, read back,
 * abort, unlink, and garbage collection of temp files and orphans; read
 * leases and the reaper's cutoff (store/trash.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "store/blob.h"
#include "store/trash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

struct fx {
    char dir[64];
    struct blob *b;
};

static void
fx_open(struct fx *f)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-blob-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(blob_open(f->dir, &f->b), 0);
}

static void
fx_close(struct fx *f)
{
    blob_close(f->b);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int
count_entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* Commits a blob holding data; id gets its name. */
static void
make_blob(struct fx *f, const char *data, char *id)
{
    struct blob_writer *w;

    assert_int_equal(blob_writer_open(f->b, &w), 0);
    assert_int_equal(blob_writer_write(w, data, strlen(data)), 0);
    assert_int_equal(blob_writer_commit(w, id), 0);
}

static void
age(struct fx *f, const char *rel, int seconds)
{
    char path[256];
    struct timespec ts[2];

    snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= seconds;
    ts[1] = ts[0];
    assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void
test_write_read(void **state)
{
    struct fx f;
    struct blob_writer *w;
    char id[BLOB_ID_LEN + 1], path[256], buf[64];
    static char big[256 * 1024];
    struct stat st;
    ssize_t n;
    int fd;

    (void)state;
    fx_open(&f);
    assert_int_equal(blob_writer_open(f.b, &w), 0);
    snprintf(path, sizeof(path), "%s/tmp", f.dir);
    assert_int_equal(count_entries(path), 1);
    assert_int_equal(blob_writer_write(w, "hello ", 6), 0);
    assert_int_equal(blob_writer_write(w, "", 0), 0);
    assert_int_equal(blob_writer_write(w, "world", 5), 0);
    assert_int_equal(blob_writer_size(w), 11);
    assert_int_equal(blob_writer_commit(w, id), 0);
    assert_int_equal(strlen(id), BLOB_ID_LEN);
    assert_int_equal(strspn(id, "0123456789abcdef"), BLOB_ID_LEN);
    assert_int_equal(count_entries(path), 0); /* the temp file moved */

    snprintf(path, sizeof(path), "%s/blobs/%.2s/%s", f.dir, id, id);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 11);
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_int_equal(blob_open_fd(f.b, str_c(id), &fd), 0);
    n = read(fd, buf, sizeof(buf));
    close(fd);
    assert_int_equal(n, 11);
    assert_memory_equal(buf, "hello world", 11);

    /* A large blob in several writes. */
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 7);
    assert_int_equal(blob_writer_open(f.b, &w), 0);
    for (size_t off = 0; off < sizeof(big); off += 10000) {
        size_t k = sizeof(big) - off < 10000 ? sizeof(big) - off : 10000;
        assert_int_equal(blob_writer_write(w, big + off, k), 0);
    }
    assert_int_equal(blob_writer_size(w), (int64_t)sizeof(big));
    assert_int_equal(blob_writer_commit(w, id), 0);
    snprintf(path, sizeof(path), "%s/blobs/%.2s/%s", f.dir, id, id);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, (off_t)sizeof(big));

    /* Unlink, then it is gone. */
    assert_int_equal(blob_unlink(f.b, str_c(id)), 0);
    assert_int_equal(blob_unlink(f.b, str_c(id)), -ENOENT);
    assert_int_equal(blob_open_fd(f.b, str_c(id), &fd), -ENOENT);
    fx_close(&f);
}

static void
test_bad_ids(void **state)
{
    struct fx f;
    int fd;

    (void)state;
    fx_open(&f);
    /* Ids never reach the filesystem unless they are 32 lower-case hex. */
    assert_int_equal(blob_open_fd(f.b, STR_LIT("../../etc/passwd"), &fd), -ENOENT);
    assert_int_equal(blob_open_fd(f.b, STR_LIT("0123456789ABCDEF0123456789abcdef"), &fd), -ENOENT);
    assert_int_equal(blob_open_fd(f.b, STR_LIT("0123456789abcdef0123456789abcde"), &fd), -ENOENT);
    assert_int_equal(blob_open_fd(f.b, STR_NULL, &fd), -ENOENT);
    assert_int_equal(blob_unlink(f.b, STR_LIT("0123456789abcdef0123456789abcdeg")), -ENOENT);
    assert_int_equal(blob_open_fd(f.b, STR_LIT("0123456789abcdef0123456789abcdef"), &fd), -ENOENT);
    fx_close(&f);
}

static void
test_abort(void **state)
{
    struct fx f;
    struct blob_writer *w;
    char path[256];

    (void)state;
    fx_open(&f);
    assert_int_equal(blob_writer_open(f.b, &w), 0);
    assert_int_equal(blob_writer_write(w, "partial", 7), 0);
    blob_writer_abort(w);
    blob_writer_abort(NULL);
    snprintf(path, sizeof(path), "%s/tmp", f.dir);
    assert_int_equal(count_entries(path), 0);
    snprintf(path, sizeof(path), "%s/blobs", f.dir);
    assert_int_equal(count_entries(path), 0);
    fx_close(&f);
}

struct live {
    const char *id;
    int calls;
    int answer_for_others; /* 0 = dead, -1 = error */
};

static int
is_live(void *arg, struct str id)
{
    struct live *l = arg;

    l->calls++;
    if (str_eq_c(id, l->id))
        return 1;
    return l->answer_for_others;
}

static void
test_gc(void **state)
{
    struct fx f;
    char keep[BLOB_ID_LEN + 1], orphan[BLOB_ID_LEN + 1], young[BLOB_ID_LEN + 1];
    char rel[256], path[256];
    struct blob_writer *w;
    struct live l;
    int fd;

    (void)state;
    fx_open(&f);
    make_blob(&f, "kept", keep);
    make_blob(&f, "orphan", orphan);
    make_blob(&f, "young orphan", young);
    snprintf(rel, sizeof(rel), "blobs/%.2s/%s", keep, keep);
    age(&f, rel, 3600);
    snprintf(rel, sizeof(rel), "blobs/%.2s/%s", orphan, orphan);
    age(&f, rel, 3600);
    /* A stale temp file from a crashed upload, an upload in progress, and a
     * file gc does not own. */
    snprintf(path, sizeof(path), "%s/tmp/00112233445566778899aabbccddeeff.tmp", f.dir);
    fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    age(&f, "tmp/00112233445566778899aabbccddeeff.tmp", 3600);
    assert_int_equal(blob_writer_open(f.b, &w), 0);
    snprintf(path, sizeof(path), "%s/blobs/README", f.dir);
    fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    age(&f, "blobs/README", 3600);

    /* is_live errors keep everything. */
    l = (struct live){keep, 0, -1};
    assert_int_equal(blob_gc(f.b, is_live, &l, 60), 1); /* only the stale temp file */
    assert_int_equal(l.calls, 2);                       /* young one not even asked */

    l = (struct live){keep, 0, 0};
    assert_int_equal(blob_gc(f.b, is_live, &l, 60), 1); /* the old orphan */
    assert_int_equal(blob_open_fd(f.b, str_c(orphan), &fd), -ENOENT);
    assert_int_equal(blob_open_fd(f.b, str_c(keep), &fd), 0);
    close(fd);
    assert_int_equal(blob_open_fd(f.b, str_c(young), &fd), 0);
    close(fd);
    assert_int_equal(access(path, F_OK), 0);

    /* The in-progress upload survives and still commits. */
    assert_int_equal(blob_writer_write(w, "late", 4), 0);
    assert_int_equal(blob_writer_commit(w, rel), 0);

    /* min_age 0: everything unreferenced goes. */
    l = (struct live){keep, 0, 0};
    assert_int_equal(blob_gc(f.b, is_live, &l, 0), 2);
    assert_int_equal(blob_open_fd(f.b, str_c(keep), &fd), 0);
    close(fd);
    fx_close(&f);
}

/* The oldest open lease holds the cutoff back however long it stays open;
 * without one the cutoff follows the clock. */
static void
test_leases_and_cutoff(void **state)
{
    const int64_t grace = 60000;
    struct timespec pause = {0, 20 * 1000 * 1000};
    struct blob_reader *r1, *r2;
    int64_t before, after, t1, cut;
    struct fx f;

    (void)state;
    fx_open(&f);
    assert_int_equal(blob_reader_oldest_ms(f.b), INT64_MAX);
    before = blob_now_ms();
    cut = trash_cutoff_ms(f.b, grace);
    after = blob_now_ms();
    assert_in_range(cut, before - grace, after - grace);

    r1 = blob_reader_open(f.b);
    t1 = blob_reader_oldest_ms(f.b);
    assert_in_range(t1, before, blob_now_ms());
    nanosleep(&pause, NULL);
    r2 = blob_reader_open(f.b);
    assert_int_equal(blob_reader_oldest_ms(f.b), t1);
    nanosleep(&pause, NULL);
    assert_int_equal(trash_cutoff_ms(f.b, grace), t1 - grace);
    assert_int_equal(trash_cutoff_ms(f.b, 0), t1);

    /* The older lease gone, the younger one holds the cutoff. */
    blob_reader_close(r1);
    assert_true(blob_reader_oldest_ms(f.b) > t1);
    assert_int_equal(trash_cutoff_ms(f.b, grace), blob_reader_oldest_ms(f.b) - grace);
    blob_reader_close(r2);
    assert_int_equal(blob_reader_oldest_ms(f.b), INT64_MAX);
    blob_reader_close(NULL);
    fx_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_read),
        cmocka_unit_test(test_bad_ids),
        cmocka_unit_test(test_abort),
        cmocka_unit_test(test_gc),
        cmocka_unit_test(test_leases_and_cutoff),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
