/* test_blob.c -- blob files on a temp directory: write, commit, read back,
 * abort, unlink, and garbage collection of temp files and orphans; read
 * leases and the reaper's cutoff (store/trash.h); two reaps at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "store/blob.h"
#include "store/blob_int.h"
#include "store/md.h"
#include "store/trash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
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

/* A files backend whose unlinks wait for release (the reaper thread's reap
 * caught between its take and its unlinks). */
static pthread_mutex_t slow_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slow_cv = PTHREAD_COND_INITIALIZER;
static bool slow_entered, slow_released;
static struct blob_backend slow_files;

static int
slow_remove(struct blob *b, struct str id)
{
    pthread_mutex_lock(&slow_mu);
    slow_entered = true;
    pthread_cond_broadcast(&slow_cv);
    while (!slow_released)
        pthread_cond_wait(&slow_cv, &slow_mu);
    pthread_mutex_unlock(&slow_mu);
    return blob_files.remove(b, id);
}

struct reap_run {
    struct md *md;
    struct blob *b;
    const char *ids; /* the two trashed blobs */
    pthread_t thread;
    bool done;
    int rc, left; /* of them, how many were there when the reap returned */
};

static int
blobs_left(struct blob *b, const char *ids)
{
    int n = 0;

    for (int i = 0; i < 2; i++) {
        int fd, rc = blob_open_fd(b, str_make(ids + i * (BLOB_ID_LEN + 1), BLOB_ID_LEN), &fd);

        if (rc == 0) {
            close(fd);
            n++;
        } else {
            assert_int_equal(rc, -ENOENT);
        }
    }
    return n;
}

static void *
reap_main(void *arg)
{
    struct reap_run *r = arg;

    r->rc = trash_reap(r->md, r->b, INT64_MAX);
    r->left = blobs_left(r->b, r->ids);
    pthread_mutex_lock(&slow_mu);
    r->done = true;
    pthread_mutex_unlock(&slow_mu);
    return NULL;
}

static int
trash_two(struct md_conn *c, void *arg)
{
    const char *ids = arg;
    int rc = md_trash_add(c, str_make(ids, BLOB_ID_LEN));

    return rc < 0 ? rc : md_trash_add(c, str_make(ids + BLOB_ID_LEN + 1, BLOB_ID_LEN));
}

/* A reap that finds nothing due, because another reap of the process took
 * the rows and is still unlinking them, returns only after those unlinks:
 * the request that trashed an upload's parts answers when they are gone. */
static void
test_reap_waits_for_running_reap(void **state)
{
    char ids[2 * (BLOB_ID_LEN + 1)];
    struct timespec pause = {0, 50 * 1000 * 1000};
    struct reap_run first = {0}, second = {0};
    struct md *md;
    struct fx f;
    bool done;

    (void)state;
    fx_open(&f);
    assert_int_equal(md_open(f.dir, &md), 0);
    make_blob(&f, "one", ids);
    make_blob(&f, "two", ids + BLOB_ID_LEN + 1);
    assert_int_equal(blobs_left(f.b, ids), 2);
    assert_int_equal(md_write(md, trash_two, ids), 0);
    slow_files = blob_files;
    slow_files.remove = slow_remove;
    f.b->be = &slow_files;

    first = (struct reap_run){.md = md, .b = f.b, .ids = ids};
    second = first;
    assert_int_equal(pthread_create(&first.thread, NULL, reap_main, &first), 0);
    pthread_mutex_lock(&slow_mu);
    while (!slow_entered)
        pthread_cond_wait(&slow_cv, &slow_mu);
    pthread_mutex_unlock(&slow_mu);
    /* The rows are taken and committed; the files are still there. */
    assert_int_equal(md_trash_pending(md_reader(md), INT64_MAX), 0);
    assert_int_equal(pthread_create(&second.thread, NULL, reap_main, &second), 0);
    nanosleep(&pause, NULL);
    pthread_mutex_lock(&slow_mu);
    done = second.done;
    slow_released = true;
    pthread_cond_broadcast(&slow_cv);
    pthread_mutex_unlock(&slow_mu);
    assert_false(done);
    pthread_join(first.thread, NULL);
    pthread_join(second.thread, NULL);
    assert_int_equal(first.rc, 0);
    assert_int_equal(second.rc, 0);
    assert_int_equal(second.left, 0);

    f.b->be = &blob_files;
    md_close(md);
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
        cmocka_unit_test(test_reap_waits_for_running_reap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
