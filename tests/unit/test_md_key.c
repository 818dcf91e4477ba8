/* test_md_key.c -- the store's master key check value (md_open.c) and
 * --meta URL parsing (md_url.c): the right key opens, another key is
 * refused with -EKEYREJECTED, a store without a check value gets one on
 * open (from the key it has), --master-key and --meta elsewhere than DIR;
 * known answers of the parser and every malformed URL refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "store/md.h"
#include "crypto/hash.h"
#include "crypto/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

static struct md_url u;
static char err[512];

static int
parse(const char *url, const char *dir)
{
    return md_url_parse(url, dir, &u, err, sizeof(err));
}

static void
test_url(void **state)
{
    (void)state;
    assert_int_equal(parse(NULL, "/srv/data"), 0);
    assert_string_equal(u.sqlite_path, "/srv/data/meta.db");
    assert_int_equal(parse("", "d"), 0);
    assert_string_equal(u.sqlite_path, "d/meta.db");
    assert_int_equal(parse("sqlite:/var/lib/coffer/m.db", "/srv/data"), 0);
    assert_string_equal(u.sqlite_path, "/var/lib/coffer/m.db");
    assert_int_equal(parse("sqlite:rel/m.db", NULL), 0);
    assert_string_equal(u.sqlite_path, "rel/m.db");

    assert_int_equal(parse(NULL, NULL), -EINVAL);
    assert_int_equal(parse("sqlite:", "/d"), -EINVAL);
    assert_non_null(strstr(err, "sqlite:PATH"));
    assert_int_equal(parse("sqlite:///x.db", "/d"), -EINVAL);
    assert_non_null(strstr(err, "sqlite:/ABSOLUTE/PATH"));
    assert_int_equal(parse("sqlite:/var/lib/", "/d"), -EINVAL);
    assert_non_null(strstr(err, "not a directory"));
    assert_int_equal(parse("/srv/meta.db", "/d"), -EINVAL);
    assert_non_null(strstr(err, "unknown kind"));
    assert_int_equal(parse("SQLITE:/x", "/d"), -EINVAL);
    assert_int_equal(parse("mysql://h/db", "/d"), -EINVAL);
    assert_int_equal(parse("postgresql://coffer@db1/coffer?sslmode=require", "/d"), 0);
    assert_string_equal(u.pg_uri, "postgresql://coffer@db1/coffer?sslmode=require");
    assert_string_equal(u.sqlite_path, "");
    assert_int_equal(parse("postgres://db1/coffer", "/d"), 0);
    assert_string_equal(u.pg_uri, "postgres://db1/coffer");
    assert_int_equal(parse("sqlite:/x.db", "/d"), 0);
    assert_string_equal(u.pg_uri, "");
    {
        char long_url[MD_URL_PATH_MAX + 16];

        memcpy(long_url, "sqlite:/", 8);
        memset(long_url + 8, 'a', MD_URL_PATH_MAX);
        long_url[8 + MD_URL_PATH_MAX] = '\0';
        assert_int_equal(parse(long_url, "/d"), -EINVAL);
        assert_non_null(strstr(err, "too long"));
        memcpy(long_url, "postgresql://", 13);
        assert_int_equal(parse(long_url, "/d"), -EINVAL);
        assert_non_null(strstr(err, "too long"));
    }
}

/* ---- the key check value ---------------------------------------------- */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void
write_key(const char *path, unsigned char fill)
{
    unsigned char k[SEAL_KEY_LEN];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    memset(k, fill, sizeof(k));
    assert_true(fd >= 0);
    assert_int_equal(write(fd, k, sizeof(k)), (ssize_t)sizeof(k));
    close(fd);
}

/* The check value stored in db_path: its length (0: no row). */
static int
stored_check(const char *db_path, unsigned char out[32])
{
    sqlite3 *db;
    sqlite3_stmt *s;
    int n = 0;

    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT value FROM store_info WHERE name = "
                                        "'master_key_check'",
                                        -1, &s, NULL),
                     SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW) {
        n = sqlite3_column_bytes(s, 0);
        if (n == 32)
            memcpy(out, sqlite3_column_blob(s, 0), 32);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

static void
test_key_check(void **state)
{
    char dir[64], db[128], key[128], other[128];
    unsigned char k[SEAL_KEY_LEN], have[32], want[32];
    struct md *md = NULL;
    sqlite3 *h;
    int fd;

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/coffer-mdkey-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof(db), "%s/meta.db", dir);
    snprintf(key, sizeof(key), "%s/master.key", dir);
    snprintf(other, sizeof(other), "%s/other.key", dir);

    /* A new store: a key is made and its check value recorded, the known
     * HMAC of the key. */
    assert_int_equal(md_open(dir, &md), 0);
    md_close(md);
    fd = open(key, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, k, sizeof(k)), (ssize_t)sizeof(k));
    close(fd);
    hmac_sha256(k, sizeof(k), "coffer master key check v1", 26, want);
    assert_int_equal(stored_check(db, have), 32);
    assert_memory_equal(have, want, 32);

    /* The right key opens again, the same key under another name too. */
    assert_int_equal(md_open(dir, &md), 0);
    md_close(md);
    fd = open(other, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, k, sizeof(k)), (ssize_t)sizeof(k));
    close(fd);
    assert_int_equal(md_open_at(dir, NULL, other, &md), 0);
    md_close(md);

    /* Another key is refused, named by --master-key or in DIR, even though
     * the store holds no sealed secret; the stored value is left alone. */
    write_key(other, 0x5a);
    assert_int_equal(md_open_at(dir, NULL, other, &md), -EKEYREJECTED);
    write_key(key, 0x5a);
    assert_int_equal(md_open(dir, &md), -EKEYREJECTED);
    assert_int_equal(stored_check(db, have), 32);
    assert_memory_equal(have, want, 32);

    /* A key file that is gone is not replaced by a new one. */
    assert_int_equal(unlink(key), 0);
    assert_int_equal(md_open(dir, &md), -ENOKEY);
    assert_int_equal(access(key, F_OK), -1);

    /* A store from before check values gets one on open, from the key it
     * has; from then on the old key is refused. */
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "DELETE FROM store_info", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(stored_check(db, have), 0);
    assert_int_equal(md_open_at(dir, NULL, other, &md), 0);
    md_close(md);
    memset(k, 0x5a, sizeof(k));
    hmac_sha256(k, sizeof(k), "coffer master key check v1", 26, want);
    assert_int_equal(stored_check(db, have), 32);
    assert_memory_equal(have, want, 32);
    write_key(key, 0x11);
    assert_int_equal(md_open(dir, &md), -EKEYREJECTED);
    assert_int_equal(nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
}

static void
test_meta_elsewhere(void **state)
{
    char dir[64], path[128], url[160];
    struct md_url m;
    struct md *md = NULL;

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/coffer-mdkey-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/sub", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(url, sizeof(url), "sqlite:%s/sub/m.db", dir);
    assert_int_equal(md_url_parse(url, dir, &m, err, sizeof(err)), 0);
    assert_int_equal(md_open_at(dir, &m, NULL, &md), 0);
    md_close(md);
    snprintf(path, sizeof(path), "%s/sub/m.db", dir);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof(path), "%s/meta.db", dir);
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof(path), "%s/master.key", dir);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_key_check),
        cmocka_unit_test(test_meta_elsewhere),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
