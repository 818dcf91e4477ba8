/* lc_fill.c -- bench fixture for bench/lifecycle.sh: adds NOBJ objects to an
 * existing bucket straight through md.h, FILL_BATCH rows per md_write()
 * closure (one group commit each), instead of NOBJ PUTs over HTTP (a million
 * PUTs would take the better part of an hour on the 2-core machine). Each is
 * a single version (unversioned "null") with the rows a PUT of an empty-ish
 * file-backed object writes (size, ETag, content type, a data-file name; no
 * file is written), dated AGE_DAYS days back, keys PREFIX%08ld. The bucket
 * must exist (made over S3, so it has a PUT bucket's defaults); cofferd may
 * be running (SQLite WAL: the writes wait for its writer). Not a test.
 *
 *   lc_fill DATA_DIR BUCKET NOBJ AGE_DAYS [PREFIX]
 */
#include "common.h"
#include "store/md.h"
#include "util/arena.h"
#include "util/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FILL_BATCH 10000

struct fill {
    int64_t bucket;
    int64_t owner;
    int64_t mtime_ms;
    const char *prefix;
    long from, to;
    struct arena *a;
};

static int
fill_fn(struct md_conn *c, void *arg)
{
    struct fill *f = arg;

    for (long i = f->from; i < f->to; i++) {
        struct md_version v = {0};
        int rc;

        v.bucket_id = f->bucket;
        v.key = str_c(arena_printf(f->a, "%s%08ld", f->prefix, i));
        v.version_id = STR_LIT("null");
        v.size = 4096;
        v.mtime_ms = f->mtime_ms + i % 1000;
        v.owner_id = f->owner;
        v.etag = STR_LIT("0123456789abcdef0123456789abcdef");
        v.content_type = STR_LIT("application/octet-stream");
        v.meta = STR_LIT("");
        v.blob_id = str_c(arena_printf(f->a, "lcbench%057ld", i));
        rc = md_version_insert(c, &v, f->a);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct fill f = {0};
    struct md_bucket b;
    struct md *md;
    struct arena *a = arena_new();
    long nobj, age;

    if (argc < 5) {
        fprintf(stderr, "usage: %s DATA_DIR BUCKET NOBJ AGE_DAYS [PREFIX]\n", argv[0]);
        return 2;
    }
    nobj = strtol(argv[3], NULL, 10);
    age = strtol(argv[4], NULL, 10);
    f.prefix = argc > 5 ? argv[5] : "obj/";
    f.mtime_ms = (int64_t)time(NULL) * 1000 - (int64_t)age * 86400000;
    if (md_open(argv[1], &md) < 0) {
        fprintf(stderr, "lc_fill: cannot open %s\n", argv[1]);
        return 1;
    }
    if (md_bucket_get(md_reader(md), str_c(argv[2]), a, &b) < 0) {
        fprintf(stderr, "lc_fill: no bucket %s\n", argv[2]);
        return 1;
    }
    f.bucket = b.id;
    f.owner = b.account_id;
    for (f.from = 0; f.from < nobj; f.from += FILL_BATCH) {
        f.to = f.from + FILL_BATCH < nobj ? f.from + FILL_BATCH : nobj;
        f.a = a;
        if (md_write(md, fill_fn, &f) < 0) {
            fprintf(stderr, "lc_fill: insert failed at %ld\n", f.from);
            return 1;
        }
        arena_reset(a);
    }
    md_close(md);
    arena_free(a);
    return 0;
}
