/* lc_act.c -- micro-benchmark of the lifecycle actions (core/lifecycle_act.h):
 * objects expired per second when the executor scans a bucket with
 * md_lc_scan() and hands BATCH actions to one md_write() closure
 * (lifecycle_act_batch_fn), i.e. one commit (one fsync) per batch. Fills a
 * fresh data directory with NOBJ single-version objects (metadata rows with
 * a data-file name; no file is written) in an unversioned bucket, or an
 * Enabled one (each expiration then adds a delete marker). Not a test; no
 * concurrent load (the executor's own benchmark adds the GET load). Build
 * against a library built by make (any BUILD dir):
 *
 *   make BUILD=build-lca BIN=bin-lca all
 *   cc -O2 -std=c17 -D_GNU_SOURCE -Isrc -pthread bench/lc_act.c build-lca/libcoffer.a \
 *      -luv -lssl -lcrypto -lsqlite3 -lexpat -ljansson -lqrencode -lz -lisal -lm \
 *      -o build-lca/bench_lc_act
 *   build-lca/bench_lc_act NEW_DIR [BATCH [NOBJ [enabled]]]
 */
#include "common.h"
#include "core/lifecycle_act.h"
#include "store/md.h"
#include "util/arena.h"
#include "util/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FILL_BATCH 5000
#define LC_XML "<LifecycleConfiguration><Rule><ID>r</ID></Rule></LifecycleConfiguration>"

struct fill {
    int64_t bucket;
    bool enabled;
    long from, to;
    struct arena *a;
};

static int
setup_fn(struct md_conn *c, void *arg)
{
    struct fill *f = arg;
    int64_t acct;
    int rc = md_account_create(c, STR_LIT("bench"), 1, &acct);

    if (rc == 0)
        rc = md_bucket_create(c, STR_LIT("bench"), acct, STR_LIT("us-east-1"), 1, &f->bucket);
    if (rc == 0)
        rc = md_bucket_set_lifecycle(c, f->bucket, STR_LIT(LC_XML));
    if (rc == 0 && f->enabled)
        rc = md_bucket_set_versioning(c, f->bucket, MD_VER_ENABLED, MD_MFA_UNSET);
    return rc;
}

static int
fill_fn(struct md_conn *c, void *arg)
{
    struct fill *f = arg;

    for (long i = f->from; i < f->to; i++) {
        struct md_version v = {0};
        int rc;

        v.bucket_id = f->bucket;
        v.key = str_c(arena_printf(f->a, "logs/2026/%05ld/object-%07ld.gz", i / 1000, i));
        v.version_id = f->enabled ? STR_NULL : STR_LIT("null");
        v.size = 1000 + i;
        v.mtime_ms = 1000 + i;
        v.etag = STR_LIT("0123456789abcdef0123456789abcdef");
        v.content_type = STR_LIT("application/gzip");
        v.meta = STR_LIT("");
        v.blob_id = str_c(arena_printf(f->a, "%064ld", i));
        rc = md_version_insert(c, &v, f->a);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static double
now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
    static char cursor[256];
    struct fill f = {0};
    struct md *md;
    struct arena *a = arena_new(), *scan_a = arena_new();
    struct lifecycle_act_item *items;
    struct str key = STR_NULL;
    int64_t seq = 0;
    size_t batch, done = 0;
    long nobj;
    double t;

    if (argc < 2) {
        fprintf(stderr, "usage: %s NEW_DIR [BATCH [NOBJ [enabled]]]\n", argv[0]);
        return 2;
    }
    batch = argc > 2 ? strtoul(argv[2], NULL, 10) : 100;
    nobj = argc > 3 ? strtol(argv[3], NULL, 10) : 100000;
    f.enabled = argc > 4 && strcmp(argv[4], "enabled") == 0;
    if (batch == 0 || md_open(argv[1], &md) < 0 || md_write(md, setup_fn, &f) < 0)
        return 1;
    for (f.from = 0; f.from < nobj; f.from += FILL_BATCH) {
        f.to = f.from + FILL_BATCH < nobj ? f.from + FILL_BATCH : nobj;
        f.a = a;
        if (md_write(md, fill_fn, &f) < 0)
            return 1;
        arena_reset(a);
    }
    items = calloc(batch, sizeof(*items));
    t = now_s();
    for (;;) {
        struct md_lc_version *r;
        struct lifecycle_act_batch b = {
            .bucket = {.name = STR_LIT("bench"), .id = f.bucket, .now_ms = 1}, .items = items,
            .a = a};
        size_t n;

        if (md_lc_scan(md_reader(md), f.bucket, key, seq, false, batch, scan_a, &r, &n) < 0)
            return 1;
        for (size_t i = 0; i < n; i++)
            items[i] = (struct lifecycle_act_item){
                .kind = LC_ACT_EXPIRE_CURRENT, .rule_id = STR_LIT("r"), .dm_ms = 1,
                .v = {.key = r[i].key, .seq = r[i].seq, .is_latest = r[i].is_latest,
                      .is_dm = r[i].is_delete_marker, .etag = r[i].etag}};
        b.n = n;
        if (n > 0 && md_write(md, lifecycle_act_batch_fn, &b) < 0)
            return 1;
        for (size_t i = 0; i < n; i++)
            done += items[i].out.result == LC_ACT_DONE;
        if (n < batch || r[n - 1].key.n >= sizeof(cursor))
            break;
        /* The cursor outlives the arenas it came from. */
        memcpy(cursor, r[n - 1].key.p, r[n - 1].key.n);
        key = str_make(cursor, r[n - 1].key.n);
        seq = r[n - 1].seq;
        arena_reset(a);
        arena_reset(scan_a);
    }
    t = now_s() - t;
    printf("%s: expired %zu of %ld in %.2f s, %.0f/s, %zu a batch\n",
           f.enabled ? "enabled" : "unversioned", done, nobj, t, (double)done / t, batch);
    free(items);
    md_close(md);
    arena_free(a);
    arena_free(scan_a);
    return 0;
}
