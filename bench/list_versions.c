/* list_versions.c -- bench loader: fills a data directory with one
 * versioning-enabled bucket of NKEYS x NVERS object versions, written
 * straight through md.h in batches (one md_write() closure, so one group
 * commit, per BATCH rows) instead of a million PUTs over HTTP. Rows carry
 * metadata only (no data file, no inline data): the bucket is for listing
 * benchmarks, not for GETs. Not a test; bench/list_versions.py builds it,
 * runs it and then times the listings against cofferd on the same dir.
 *
 *   list_versions DATA_DIR ACCOUNT BUCKET NKEYS NVERS [POS ...]
 *
 * ACCOUNT must exist (coffer account create). Keys are "k/%08ld"; versions
 * are written round-robin (every key's first version, then every key's
 * second, ...), as a bucket that lived through NVERS overwrites would have
 * them. For each POS (0-based index in ListObjectVersions order: keys
 * ascending, newest first) one line "POS KEY VERSION_ID" goes to stdout. */
#include "common.h"
#include "store/md.h"
#include "util/arena.h"
#include "util/str.h"
#include "util/tm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 10000
#define MAX_POS 64
#define KEY_FMT "k/%08ld"

struct want {
    long pos;
    long key;   /* key index */
    long round; /* insertion round of that version */
    char vid[MD_VID_LEN + 8];
};

struct load {
    int64_t bucket_id, owner_id;
    long nkeys, nvers;
    long next; /* next row to write: round = next / nkeys, key = next % nkeys */
    long end;
    int64_t t0_ms;
    struct arena *a;
    struct want wants[MAX_POS];
    size_t n_wants;
};

struct mkbucket {
    struct str name;
    int64_t account_id, now_ms, id;
};

static int
mkbucket_fn(struct md_conn *c, void *arg)
{
    struct mkbucket *mb = arg;
    int rc = md_bucket_create(c, mb->name, mb->account_id, STR_LIT("us-east-1"), mb->now_ms,
                              &mb->id);

    if (rc < 0)
        return rc;
    return md_bucket_set_versioning(c, mb->id, MD_VER_ENABLED, MD_MFA_UNSET);
}

/* One batch: rows [next, min(next + BATCH, end)). */
static int
batch_fn(struct md_conn *c, void *arg)
{
    struct load *l = arg;
    long stop = l->next + BATCH < l->end ? l->next + BATCH : l->end;
    char key[32];

    arena_reset(l->a);
    for (long i = l->next; i < stop; i++) {
        long round = i / l->nkeys, k = i % l->nkeys;
        struct md_version v = {0};
        int rc;

        snprintf(key, sizeof(key), KEY_FMT, k);
        v.bucket_id = l->bucket_id;
        v.key = str_c(key);
        v.version_id = STR_NULL; /* md assigns a fresh id */
        v.size = 1024;
        /* one second per round, so LastModified grows with the version */
        v.mtime_ms = l->t0_ms - (l->nvers - round) * 1000;
        v.owner_id = l->owner_id;
        v.etag = STR_LIT("0f343b0931126a20f133d67c2b018a3b");
        v.content_type = STR_LIT("binary/octet-stream");
        v.meta = STR_LIT("");
        v.checksum_algo = STR_LIT("");
        v.checksum_value = STR_LIT("");
        rc = md_version_insert(c, &v, l->a);
        if (rc < 0)
            return rc;
        for (size_t w = 0; w < l->n_wants; w++) {
            struct want *wt = &l->wants[w];
            if (wt->key == k && wt->round == round)
                snprintf(wt->vid, sizeof(wt->vid), "%.*s", STR_FMT(v.version_id));
        }
    }
    l->next = stop;
    return 0;
}

static long
parse_long(const char *s, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (*s == '\0' || *end != '\0' || v < 0) {
        fprintf(stderr, "list_versions: bad %s '%s'\n", what, s);
        exit(2);
    }
    return v;
}

int
main(int argc, char **argv)
{
    struct load l = {0};
    struct mkbucket mb = {0};
    struct md_account acc;
    struct md *md = NULL;
    struct timespec t0, t1;
    int rc;

    if (argc < 6) {
        fprintf(stderr, "usage: list_versions DATA_DIR ACCOUNT BUCKET NKEYS NVERS [POS ...]\n");
        return 2;
    }
    l.nkeys = parse_long(argv[4], "NKEYS");
    l.nvers = parse_long(argv[5], "NVERS");
    if (l.nkeys == 0 || l.nvers == 0 || l.nkeys > 100000000 || l.nvers > 100000000 ||
        l.nkeys * l.nvers > 100000000) {
        fprintf(stderr, "list_versions: NKEYS x NVERS must be within 1..1e8\n");
        return 2;
    }
    for (int i = 6; i < argc; i++) {
        struct want *wt;
        long pos = parse_long(argv[i], "POS");

        if (l.n_wants == MAX_POS || pos >= l.nkeys * l.nvers) {
            fprintf(stderr, "list_versions: too many positions or POS out of range\n");
            return 2;
        }
        wt = &l.wants[l.n_wants++];
        wt->pos = pos;
        wt->key = pos / l.nvers;
        wt->round = l.nvers - 1 - pos % l.nvers; /* newest first within a key */
    }
    l.a = arena_new();
    rc = md_open(argv[1], &md);
    if (rc < 0) {
        fprintf(stderr, "list_versions: md_open %s: %s\n", argv[1], strerror(-rc));
        goto out;
    }
    rc = md_account_get_by_name(md_reader(md), str_c(argv[2]), l.a, &acc);
    if (rc < 0) {
        fprintf(stderr, "list_versions: account '%s': %s\n", argv[2], strerror(-rc));
        goto out;
    }
    mb.name = str_c(argv[3]);
    mb.account_id = acc.id;
    mb.now_ms = tm_now_ms();
    rc = md_write(md, mkbucket_fn, &mb);
    if (rc < 0) {
        fprintf(stderr, "list_versions: create bucket '%s': %s\n", argv[3], strerror(-rc));
        goto out;
    }
    l.bucket_id = mb.id;
    l.owner_id = acc.id;
    l.end = l.nkeys * l.nvers;
    l.t0_ms = tm_now_ms();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (l.next < l.end) {
        rc = md_write(md, batch_fn, &l);
        if (rc < 0) {
            fprintf(stderr, "list_versions: insert at row %ld: %s\n", l.next, strerror(-rc));
            goto out;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "list_versions: %ld rows in %.2f s\n", l.end,
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    for (size_t w = 0; w < l.n_wants; w++) {
        char key[32];
        snprintf(key, sizeof(key), KEY_FMT, l.wants[w].key);
        printf("%ld %s %s\n", l.wants[w].pos, key, l.wants[w].vid);
    }
    rc = 0;
out:
    md_close(md);
    arena_free(l.a);
    return rc < 0 ? 1 : 0;
}
