/* test_blob_contract.c -- the data backend contract (store/blob.h), the
 * same tests for every backend: the files backend always, and a Ceph RADOS
 * pool when COFFER_TEST_RADOS_CONF names a cluster's ceph.conf
 * (scripts/ceph.sh start; pool COFFER_TEST_RADOS_POOL, default coffer).
 * Write, commit, ranged reads across RADOS chunk boundaries (4 MiB), reads
 * in steps as a GET makes them (RADOS reads ahead of those), abort,
 * commit under a given id, unlink, and the orphan sweep (min_age, is_live).
 * The pool may hold other blobs: the sweep's is_live calls keep every id
 * these tests did not make. Also: a cluster that does not answer fails the
 * open within its timeout (no cluster needed). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "store/blob.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)

struct backend {
    const char *name;
    char url[1200]; /* "" = the files backend in the temp directory */
};

struct fx {
    const struct backend *be;
    char dir[64];
    struct blob *b;
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void
fx_open(struct fx *f, void **state)
{
    char err[512];

    f->be = *state;
    snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-blobc-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    if (blob_open_url(f->be->url[0] != '\0' ? f->be->url : NULL, f->dir, &f->b, err,
                      sizeof(err)) != 0)
        fail_msg("%s: %s", f->be->name, err);
    assert_string_equal(blob_backend_name(f->b), f->be->name);
}

static void
fx_close(struct fx *f)
{
    blob_close(f->b);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Byte i of the test pattern of seed s. */
static char
pat(uint32_t s, int64_t i)
{
    uint64_t x = (uint64_t)i * 2654435761u + s;

    return (char)(x ^ (x >> 13));
}

/* Commits n bytes of pattern s, written in pieces of piece bytes. */
static void
make_blob(struct fx *f, uint32_t s, int64_t n, size_t piece, char id[BLOB_ID_LEN + 1])
{
    struct blob_writer *w;
    char *buf = malloc(piece);

    assert_non_null(buf);
    assert_int_equal(blob_writer_open(f->b, &w), 0);
    for (int64_t off = 0; off < n;) {
        size_t k = (size_t)(n - off) < piece ? (size_t)(n - off) : piece;

        for (size_t i = 0; i < k; i++)
            buf[i] = pat(s, off + (int64_t)i);
        assert_int_equal(blob_writer_write(w, buf, k), 0);
        off += (int64_t)k;
    }
    assert_int_equal(blob_writer_size(w), n);
    assert_int_equal(blob_writer_commit(w, id), 0);
    assert_int_equal(strlen(id), BLOB_ID_LEN);
    free(buf);
}

/* Reads [off, off + n) of id and checks it against pattern s. */
static void
check_range(struct fx *f, const char *id, uint32_t s, int64_t off, size_t n)
{
    struct blob_reader *r = blob_reader_open(f->b);
    char *buf = malloc(n + 1);
    size_t got = 0;

    assert_non_null(buf);
    while (got < n) {
        ssize_t k = blob_read(r, str_make(id, BLOB_ID_LEN), off + (int64_t)got, buf + got, n - got);

        assert_true(k > 0);
        got += (size_t)k;
    }
    for (size_t i = 0; i < n; i++)
        if (buf[i] != pat(s, off + (int64_t)i))
            fail_msg("%s: byte %lld differs", f->be->name, (long long)(off + (int64_t)i));
    free(buf);
    blob_reader_close(r);
}

static ssize_t
read_at(struct fx *f, const char *id, int64_t off, void *p, size_t n)
{
    struct blob_reader *r = blob_reader_open(f->b);
    ssize_t k = blob_read(r, str_c(id), off, p, n);

    blob_reader_close(r);
    return k;
}

static void
test_small(void **state)
{
    struct fx f;
    struct blob_writer *w;
    char id[BLOB_ID_LEN + 1], buf[64];
    int fd = -1;

    fx_open(&f, state);
    assert_int_equal(blob_probe(f.b), 0); /* /health/ready's question */
    assert_int_equal(blob_writer_open(f.b, &w), 0);
    assert_int_equal(blob_writer_write(w, "hello ", 6), 0);
    assert_int_equal(blob_writer_write(w, "", 0), 0);
    assert_int_equal(blob_writer_write(w, "world", 5), 0);
    assert_int_equal(blob_writer_commit(w, id), 0);
    assert_int_equal(strspn(id, "0123456789abcdef"), BLOB_ID_LEN);

    assert_int_equal(read_at(&f, id, 0, buf, sizeof(buf)), 11);
    assert_memory_equal(buf, "hello world", 11);
    assert_int_equal(read_at(&f, id, 6, buf, 5), 5);
    assert_memory_equal(buf, "world", 5);
    assert_int_equal(read_at(&f, id, 11, buf, 5), 0); /* at the end */
    assert_int_equal(read_at(&f, id, 50, buf, 5), 0); /* past it */
    assert_int_equal(read_at(&f, id, 0, NULL, 0), 0); /* exists */
    /* Another, and an empty one. */
    make_blob(&f, 7, 0, 16, buf);
    assert_int_equal(read_at(&f, buf, 0, NULL, 0), 0);
    assert_int_equal(read_at(&f, buf, 0, buf + 40, 8), 0);
    assert_int_equal(read_at(&f, "0123456789abcdef0123456789abcdef", 0, buf, 4), -ENOENT);
    assert_int_equal(read_at(&f, "not-an-id", 0, buf, 4), -ENOENT);

    if (strcmp(f.be->name, "files") == 0) {
        assert_int_equal(blob_open_fd(f.b, str_c(id), &fd), 0);
        close(fd);
    } else {
        assert_int_equal(blob_open_fd(f.b, str_c(id), &fd), -ENOTSUP);
    }
    assert_int_equal(blob_unlink(f.b, str_c(id)), 0);
    assert_int_equal(blob_unlink(f.b, str_c(buf)), 0);
    fx_close(&f);
}

/* Spans RADOS chunk boundaries (4 MiB): reads across them, to the end. */
static void
test_large_ranges(void **state)
{
    struct fx f;
    char id[BLOB_ID_LEN + 1], buf[64];
    const int64_t n = 9 * MIB + 123;

    fx_open(&f, state);
    make_blob(&f, 1, n, 100003, id);
    check_range(&f, id, 1, 0, 1000);
    check_range(&f, id, 1, 4 * MIB - 10, 20);
    check_range(&f, id, 1, 8 * MIB - 1, 2);
    check_range(&f, id, 1, n - 50, 50);
    check_range(&f, id, 1, 3 * MIB, 2 * MIB + 5); /* one read over a boundary */
    check_range(&f, id, 1, 0, (size_t)n);
    assert_int_equal(read_at(&f, id, n - 3, buf, sizeof(buf)), 3);
    assert_int_equal(read_at(&f, id, n, buf, sizeof(buf)), 0);
    /* Exactly one chunk, and one byte more. */
    make_blob(&f, 2, 4 * MIB, 4 * MIB, buf);
    check_range(&f, buf, 2, 4 * MIB - 100, 100);
    assert_int_equal(blob_unlink(f.b, str_c(buf)), 0);
    make_blob(&f, 3, 4 * MIB + 1, 1 * MIB, buf);
    check_range(&f, buf, 3, 4 * MIB - 1, 2);
    assert_int_equal(blob_unlink(f.b, str_c(buf)), 0);

    assert_int_equal(blob_unlink(f.b, str_c(id)), 0);
    assert_int_equal(read_at(&f, id, 0, buf, 4), -ENOENT);
    assert_int_equal(blob_unlink(f.b, str_c(id)), -ENOENT);
    fx_close(&f);
}

/* blob_read_expect(): the blob as committed metadata names it reads as
 * blob_read() opens it, over chunk boundaries and in a stream; once it is
 * gone, either the expect or the first read says -ENOENT. */
static void
test_read_expect(void **state)
{
    struct fx f;
    char id[BLOB_ID_LEN + 1], buf[64];
    const int64_t n = 5 * MIB + 77;
    struct blob_reader *r;
    char *all = malloc((size_t)n);
    ssize_t k;
    int rc;

    assert_non_null(all);
    fx_open(&f, state);
    make_blob(&f, 4, n, 1 * MIB, id);
    r = blob_reader_open(f.b);
    assert_int_equal(blob_read_expect(r, str_c(id), n), 0);
    for (int64_t got = 0; got < n; got += k) {
        k = blob_read(r, str_c(id), got, all + got, (size_t)(n - got));
        assert_true(k > 0);
    }
    for (int64_t i = 0; i < n; i++)
        if (all[i] != pat(4, i))
            fail_msg("%s: byte %lld differs", f.be->name, (long long)i);
    assert_int_equal(blob_read(r, str_c(id), n - 2, buf, sizeof(buf)), 2);
    assert_int_equal(blob_read(r, str_c(id), n, buf, sizeof(buf)), 0);
    blob_reader_close(r);

    assert_int_equal(blob_unlink(f.b, str_c(id)), 0);
    r = blob_reader_open(f.b);
    rc = blob_read_expect(r, str_c(id), n);
    if (rc == 0)
        assert_int_equal(blob_read(r, str_c(id), 0, buf, sizeof(buf)), -ENOENT);
    else
        assert_int_equal(rc, -ENOENT);
    blob_reader_close(r);
    assert_int_equal(blob_read_expect(NULL, str_c("not-an-id"), 1), -ENOENT);
    free(all);
    fx_close(&f);
}

/* How read_steps_as() reads: blob_read(), or blob_read_view() on a
 * backend that copies into the caller's buffer (files) or on one whose
 * stream reads (64 KiB or more) point into its own memory (RADOS). */
enum view { NO_VIEW, VIEW_COPIED, VIEW_IN_PLACE };

/* One reader, len bytes of id at off in reads of step bytes (each read
 * asks for the rest of its step), checked against pattern s, read as view
 * says; a view may be shorter than asked (up to a window's end). */
static void
read_steps_as(struct blob_reader *r, const char *id, uint32_t s, int64_t off, int64_t len,
              size_t step, enum view view)
{
    char *buf = malloc(step);

    assert_non_null(buf);
    for (int64_t end = off + len; off < end;) {
        size_t want = (size_t)(end - off) < step ? (size_t)(end - off) : step;
        const void *p = buf;
        const char *q;
        ssize_t k = view != NO_VIEW
                        ? blob_read_view(r, str_make(id, BLOB_ID_LEN), off, buf, want, &p)
                        : blob_read(r, str_make(id, BLOB_ID_LEN), off, buf, want);

        assert_true(k > 0 && (size_t)k <= want);
        if (view != VIEW_IN_PLACE)
            assert_ptr_equal(p, buf);
        else if (want >= 64 * 1024)
            assert_ptr_not_equal(p, buf);
        q = p;
        for (ssize_t i = 0; i < k; i++)
            if (q[i] != pat(s, off + i))
                fail_msg("byte %lld differs", (long long)(off + i));
        off += k;
    }
    free(buf);
}

static void
read_steps(struct blob_reader *r, const char *id, uint32_t s, int64_t off, int64_t len, size_t step)
{
    read_steps_as(r, id, s, off, len, step, NO_VIEW);
}

/* Reads as a GET does (256 KiB at a time through one reader), with jumps
 * back and forward, small reads between, a second blob on the same reader
 * and a reader closed mid-stream: RADOS reads ahead of a stream (windows of
 * 512 KiB to 4 MiB by the blob's size, several in flight), and no window
 * may serve wrong bytes, whether copied out or viewed in place. */
static void
test_stream(void **state)
{
    struct fx f;
    char id[BLOB_ID_LEN + 1], id2[BLOB_ID_LEN + 1], id3[BLOB_ID_LEN + 1], buf[8];
    const int64_t n = 6 * MIB + 777, n2 = 2 * MIB + 5, n3 = 32 * MIB + 999;
    struct blob_reader *r;

    fx_open(&f, state);
    make_blob(&f, 4, n, 300007, id);
    make_blob(&f, 5, n2, 65536, id2);
    make_blob(&f, 6, n3, 1000003, id3); /* large enough for 4 MiB windows */
    for (int i = 0; i < 2; i++) {
        enum view view = i == 0                             ? NO_VIEW
                         : strcmp(f.be->name, "rados") == 0 ? VIEW_IN_PLACE
                                                            : VIEW_COPIED;

        r = blob_reader_open(f.b);
        read_steps_as(r, id, 4, 0, n, 256 * 1024, view);     /* the whole blob, over a chunk end */
        read_steps(r, id, 4, MIB + 3, 100, 100);             /* a small read, back */
        read_steps_as(r, id, 4, 5 * MIB + 1, n - 5 * MIB - 1, 200000, view); /* elsewhere */
        read_steps_as(r, id2, 5, 0, n2, 256 * 1024, view);   /* another blob */
        read_steps_as(r, id, 4, 4 * MIB - 1000, 256 * 1024, 256 * 1024, view); /* a chunk end */
        read_steps_as(r, id, 4, 2 * MIB, MIB, 64 * 1024, view); /* forward, smaller steps */
        read_steps(r, id, 4, 512 * 1024, 1000, 1000);        /* a window dropped */
        assert_int_equal(blob_read(r, str_c(id), n, buf, sizeof(buf)), 0);
        read_steps_as(r, id3, 6, 0, n3, 256 * 1024, view);   /* the large one, whole */
        read_steps_as(r, id3, 6, 9 * MIB + 5, 9 * MIB, 256 * 1024, view); /* back, mid-window */
        read_steps_as(r, id3, 6, n3 - 300000, 300000, 256 * 1024, view); /* its end */
        read_steps_as(r, id, 4, 0, 256 * 1024, 256 * 1024, view); /* closed with more in flight */
        blob_reader_close(r);
    }
    assert_int_equal(blob_unlink(f.b, str_c(id)), 0);
    assert_int_equal(blob_unlink(f.b, str_c(id2)), 0);
    assert_int_equal(blob_unlink(f.b, str_c(id3)), 0);
    fx_close(&f);
}

/* ---- the orphan sweep ---------------------------------------------------- */

#define MAX_SEEN 4096

struct sweep {
    const char *orphans[4]; /* ids that are "not referenced" */
    size_t n_orphans;
    char (*seen)[BLOB_ID_LEN + 1]; /* every id the sweep asked about */
    size_t n_seen;
};

static int
is_live(void *arg, struct str id)
{
    struct sweep *s = arg;

    if (s->n_seen < MAX_SEEN) {
        memcpy(s->seen[s->n_seen], id.p, BLOB_ID_LEN);
        s->seen[s->n_seen++][BLOB_ID_LEN] = '\0';
    }
    for (size_t i = 0; i < s->n_orphans; i++)
        if (memcmp(s->orphans[i], id.p, BLOB_ID_LEN) == 0)
            return 0;
    return 1;
}

static bool
seen(const struct sweep *s, const char *id)
{
    for (size_t i = 0; i < s->n_seen; i++)
        if (strcmp(s->seen[i], id) == 0)
            return true;
    return false;
}

static void
test_gc(void **state)
{
    struct fx f;
    struct sweep before = {0}, after = {0}, s = {0};
    struct blob_writer *w;
    char a[BLOB_ID_LEN + 1], b[BLOB_ID_LEN + 1], c[BLOB_ID_LEN + 1], buf[8];
    static char piece[MIB];

    fx_open(&f, state);
    before.seen = calloc(MAX_SEEN, sizeof(*before.seen));
    after.seen = calloc(MAX_SEEN, sizeof(*after.seen));
    s.seen = calloc(MAX_SEEN, sizeof(*s.seen));
    assert_int_equal(blob_gc(f.b, is_live, &before, 0), 0); /* all kept */

    /* An aborted writer, after whole chunks went out, leaves nothing. */
    assert_int_equal(blob_writer_open(f.b, &w), 0);
    for (int i = 0; i < 9; i++)
        assert_int_equal(blob_writer_write(w, piece, sizeof(piece)), 0);
    blob_writer_abort(w);
    assert_int_equal(blob_gc(f.b, is_live, &after, 0), 0);
    for (size_t i = 0; i < after.n_seen; i++)
        if (!seen(&before, after.seen[i]))
            fail_msg("%s: an aborted writer left %s", f.be->name, after.seen[i]);

    make_blob(&f, 4, 100, 100, a);
    make_blob(&f, 5, 5 * MIB, MIB, b); /* two chunks on RADOS */
    make_blob(&f, 6, 10, 10, c);
    s.orphans[0] = b;
    s.orphans[1] = c;
    s.n_orphans = 2;
    /* Too young to be taken for orphans. */
    assert_int_equal(blob_gc(f.b, is_live, &s, 3600), 0);
    assert_int_equal(read_at(&f, b, 0, NULL, 0), 0);
    s.n_seen = 0;
    assert_int_equal(blob_gc(f.b, is_live, &s, 0), 2);
    assert_true(seen(&s, a) && seen(&s, b) && seen(&s, c));
    assert_int_equal(read_at(&f, b, 0, buf, 4), -ENOENT);
    assert_int_equal(read_at(&f, c, 0, buf, 4), -ENOENT);
    check_range(&f, a, 4, 0, 100);
    /* Nothing of b is left: a second sweep asks about a only (of ours). */
    s.n_seen = 0;
    assert_int_equal(blob_gc(f.b, is_live, &s, 0), 0);
    assert_true(seen(&s, a) && !seen(&s, b) && !seen(&s, c));
    assert_int_equal(blob_unlink(f.b, str_c(a)), 0);
    free(before.seen);
    free(after.seen);
    free(s.seen);
    fx_close(&f);
}

/* commit_as: a blob under a given id, replacing what was there. */
static void
test_commit_as(void **state)
{
    struct fx f;
    struct blob_writer *w;
    struct sweep s = {0};
    char id[BLOB_ID_LEN + 1], buf[8];
    static char piece[MIB];
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();

    fx_open(&f, state);
    for (int i = 0; i < BLOB_ID_LEN; i++)
        id[i] = "0123456789abcdef"[(seed = seed * 1103515245u + 12345u) >> 28];
    id[BLOB_ID_LEN] = '\0';
    /* 9 MiB (three chunks on RADOS), then 5 bytes in its place. */
    assert_int_equal(blob_writer_open(f.b, &w), 0);
    for (int i = 0; i < 9; i++) {
        memset(piece, 'a' + i, sizeof(piece));
        assert_int_equal(blob_writer_write(w, piece, sizeof(piece)), 0);
    }
    assert_int_equal(blob_writer_commit_as(w, str_c(id)), 0);
    assert_int_equal(read_at(&f, id, 8 * MIB, buf, 1), 1);
    assert_int_equal(buf[0], 'i');
    assert_int_equal(blob_writer_open(f.b, &w), 0);
    assert_int_equal(blob_writer_write(w, "fresh", 5), 0);
    assert_int_equal(blob_writer_commit_as(w, str_c(id)), 0);
    assert_int_equal(read_at(&f, id, 0, buf, sizeof(buf)), 5);
    assert_memory_equal(buf, "fresh", 5);
    assert_int_equal(read_at(&f, id, 4 * MIB, buf, 1), 0);
    /* Not an id: refused, nothing written. */
    assert_int_equal(blob_writer_open(f.b, &w), 0);
    assert_int_equal(blob_writer_commit_as(w, str_c("XYZ")), -EINVAL);
    /* Removing it leaves nothing of the old chunks behind. */
    assert_int_equal(blob_unlink(f.b, str_c(id)), 0);
    s.seen = calloc(MAX_SEEN, sizeof(*s.seen));
    assert_int_equal(blob_gc(f.b, is_live, &s, 0), 0);
    assert_false(seen(&s, id));
    free(s.seen);
    fx_close(&f);
}

/* A cluster nobody answers for: the open fails within its timeout. */
static void
test_rados_timeout(void **state)
{
    char dir[] = "/tmp/coffer-blobt-XXXXXX", conf[128], url[256], err[512];
    struct blob *b = NULL;
    time_t t0;
    FILE *fp;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(conf, sizeof(conf), "%s/ceph.conf", dir);
    fp = fopen(conf, "w");
    assert_non_null(fp);
    /* A port nothing listens on (the discard port, on loopback). */
    fprintf(fp, "[global]\nmon_host = v1:127.0.0.1:9\nauth_client_required = none\n"
                "log_file = %s/client.log\nlog_to_stderr = false\nerr_to_stderr = false\n",
            dir);
    fclose(fp);
    snprintf(url, sizeof(url), "rados://pool?conf=%s&timeout=2", conf);
    t0 = time(NULL);
    assert_true(blob_open_url(url, dir, &b, err, sizeof(err)) < 0);
    assert_true(time(NULL) - t0 <= 10);
    assert_non_null(strstr(err, "cannot open RADOS pool 'pool'"));
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
    static struct backend files = {.name = "files"}, rados = {.name = "rados"};
    const char *conf = getenv("COFFER_TEST_RADOS_CONF"), *pool = getenv("COFFER_TEST_RADOS_POOL");
    const struct CMUnitTest files_tests[] = {
        cmocka_unit_test_prestate(test_small, &files),
        cmocka_unit_test_prestate(test_large_ranges, &files),
        cmocka_unit_test_prestate(test_read_expect, &files),
        cmocka_unit_test_prestate(test_stream, &files),
        cmocka_unit_test_prestate(test_gc, &files),
        cmocka_unit_test_prestate(test_commit_as, &files),
        cmocka_unit_test(test_rados_timeout),
    };
    const struct CMUnitTest rados_tests[] = {
        cmocka_unit_test_prestate(test_small, &rados),
        cmocka_unit_test_prestate(test_large_ranges, &rados),
        cmocka_unit_test_prestate(test_read_expect, &rados),
        cmocka_unit_test_prestate(test_stream, &rados),
        cmocka_unit_test_prestate(test_gc, &rados),
        cmocka_unit_test_prestate(test_commit_as, &rados),
    };
    int rc = cmocka_run_group_tests_name("blob contract: files", files_tests, NULL, NULL);

    if (conf == NULL || conf[0] == '\0') {
        printf("blob contract: RADOS skipped (COFFER_TEST_RADOS_CONF not set; scripts/ceph.sh)\n");
        return rc;
    }
    snprintf(rados.url, sizeof(rados.url), "rados://%s?conf=%s",
             pool != NULL && pool[0] != '\0' ? pool : "coffer", conf);
    return rc | cmocka_run_group_tests_name("blob contract: rados", rados_tests, NULL, NULL);
}
