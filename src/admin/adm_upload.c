/* adm_upload.c -- `coffer upload list|abort`: in-progress multipart uploads
 * of every bucket, and aborting the stale ones. An abort here is exactly
 * S3's AbortMultipartUpload (s3_mpu_upload.c): the rows go and the part
 * blobs to the trash in one md_write() closure; then the reaper
 * (store/trash.h) unlinks them, here with cutoff 0: only what no reader can
 * hold (an upload's parts), as this process cannot see cofferd's read
 * leases; a version's data is left to cofferd. A running cofferd sees the
 * change at once, and its reaper may take the same rows first. Not here:
 * the S3 side of multipart uploads. */
#include "common.h"

#include "admin/adm.h"
#include "store/blob.h"
#include "store/md.h"
#include "store/trash.h"
#include "util/arena.h"
#include "util/str.h"
#include "util/tm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define UPLOAD_PAGE 1000 /* uploads read per query */
#define PART_PAGE 1000   /* parts read per query */
#define ABORT_BATCH 32   /* uploads aborted per md_write(): bounds the writer's turn */

#define SECOND_MS INT64_C(1000)
#define MINUTE_MS (60 * SECOND_MS)
#define HOUR_MS (60 * MINUTE_MS)
#define DAY_MS (24 * HOUR_MS)

/* What --bucket and --older-than select. */
struct filter {
    int64_t bucket_id; /* 0: every bucket */
    int64_t cutoff_ms; /* initiated at or before this; INT64_MAX: any time */
    int64_t now_ms;
};

/* One listed upload with what the listing shows beside it. Strings in the
 * page arena. */
struct row {
    struct md_upload u;
    struct str bucket, account; /* STR_NULL if gone meanwhile */
    int64_t n_parts, bytes;
};

/* Id-to-name maps for one page, both sorted by id. */
struct names {
    struct md_bucket *bkts;
    size_t n_bkts;
    struct md_account *accts;
    size_t n_accts;
};

/* ---- helpers ------------------------------------------------------------ */

/* "30s", "90m", "12h", "7d" or a plain number of seconds into *ms;
 * -EINVAL for anything else (signs, fractions, spaces, other units) and
 * for values that do not fit in int64 milliseconds. */
static int
parse_duration(const char *s, int64_t *ms)
{
    size_t n = strlen(s);
    int64_t unit = SECOND_MS;
    unsigned long long v;

    if (n > 0) {
        switch (s[n - 1]) {
        case 's':
            n--;
            break;
        case 'm':
            unit = MINUTE_MS;
            n--;
            break;
        case 'h':
            unit = HOUR_MS;
            n--;
            break;
        case 'd':
            unit = DAY_MS;
            n--;
            break;
        }
    }
    if (str_to_u64(str_make(s, n), &v) < 0 || v > (unsigned long long)(INT64_MAX / unit))
        return -EINVAL;
    *ms = (int64_t)v * unit;
    return 0;
}

/* A compact age: "45s", "12m5s", "3h20m", "7d4h". */
static const char *
fmt_age(int64_t ms, char out[32])
{
    int64_t s = ms < 0 ? 0 : ms / SECOND_MS;

    if (s < 60)
        snprintf(out, 32, "%" PRId64 "s", s);
    else if (s < 3600)
        snprintf(out, 32, "%" PRId64 "m%" PRId64 "s", s / 60, s % 60);
    else if (s < 86400)
        snprintf(out, 32, "%" PRId64 "h%" PRId64 "m", s / 3600, s % 3600 / 60);
    else
        snprintf(out, 32, "%" PRId64 "d%" PRId64 "h", s / 86400, s % 86400 / 3600);
    return out;
}

static int
filter_make(struct adm_cli *cli, struct filter *f)
{
    struct md_bucket b;
    int64_t age_ms = 0;
    int rc;

    f->bucket_id = 0;
    f->cutoff_ms = INT64_MAX;
    f->now_ms = tm_now_ms();
    if (cli->older_than != NULL) {
        if (parse_duration(cli->older_than, &age_ms) < 0)
            return adm_fail("--older-than needs a duration like 30s, 90m, 12h or 7d, not '%s'",
                            cli->older_than);
        /* No overflow: now_ms is positive and age_ms at most INT64_MAX. */
        f->cutoff_ms = f->now_ms - age_ms;
    }
    if (cli->bucket != NULL) {
        rc = md_bucket_get(md_reader(cli->md), str_c(cli->bucket), cli->a, &b);
        if (rc == -ENOENT)
            return adm_fail("no such bucket '%s'", cli->bucket);
        if (rc < 0)
            return adm_internal("reading the bucket", rc);
        f->bucket_id = b.id;
    }
    return 0;
}

static bool
matches(const struct filter *f, const struct md_upload *u)
{
    return (f->bucket_id == 0 || u->bucket_id == f->bucket_id) && u->initiated_ms <= f->cutoff_ms;
}

/* The number of parts of upload and their total size, read through c in
 * pages allocated from scratch (reset here). */
static int
upload_usage(struct md_conn *c, int64_t upload, struct arena *scratch, int64_t *n_parts,
             int64_t *bytes)
{
    struct md_part *ps;
    size_t n;
    int after = 0, rc;

    *n_parts = 0;
    *bytes = 0;
    do {
        arena_reset(scratch);
        rc = md_part_list(c, upload, after, PART_PAGE, scratch, &ps, &n);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < n; i++) {
            *bytes += ps[i].size;
            after = ps[i].part_number;
        }
        *n_parts += (int64_t)n;
    } while (n == PART_PAGE);
    return 0;
}

static int
bucket_cmp(const void *a, const void *b)
{
    int64_t x = ((const struct md_bucket *)a)->id, y = ((const struct md_bucket *)b)->id;

    return (x > y) - (x < y);
}

static int
account_cmp(const void *a, const void *b)
{
    int64_t x = ((const struct md_account *)a)->id, y = ((const struct md_account *)b)->id;

    return (x > y) - (x < y);
}

static int
names_load(struct md_conn *c, struct arena *a, struct names *nm)
{
    int rc = md_bucket_list(c, 0, a, &nm->bkts, &nm->n_bkts);

    if (rc < 0)
        return rc;
    /* md_bucket_list() orders by name, md_account_list() already by id. */
    if (nm->n_bkts > 1)
        qsort(nm->bkts, nm->n_bkts, sizeof(*nm->bkts), bucket_cmp);
    return md_account_list(c, a, &nm->accts, &nm->n_accts);
}

static struct str
bucket_name(const struct names *nm, int64_t id)
{
    struct md_bucket key = {.id = id};
    const struct md_bucket *b =
        nm->n_bkts == 0 ? NULL : bsearch(&key, nm->bkts, nm->n_bkts, sizeof(key), bucket_cmp);

    return b != NULL ? b->name : STR_NULL;
}

static struct str
account_name(const struct names *nm, int64_t id)
{
    struct md_account key = {.id = id};
    const struct md_account *acct =
        nm->n_accts == 0 ? NULL : bsearch(&key, nm->accts, nm->n_accts, sizeof(key), account_cmp);

    return acct != NULL ? acct->name : STR_NULL;
}

/* The uploads with id > *after that f selects, read in one snapshot, into
 * *rows (allocated from a); with_usage adds names and part counts. Advances
 * *after over the whole page; *more turns false after the last page. */
static int
read_page(struct md_conn *c, const struct filter *f, bool with_usage, int64_t *after,
          struct arena *a, struct arena *scratch, struct row **rows, size_t *n_rows, bool *more)
{
    struct names nm = {0};
    struct md_upload *us;
    size_t n = 0, k = 0;
    bool own;
    int rc;

    *rows = NULL;
    *n_rows = 0;
    rc = md_snapshot_begin(c);
    if (rc < 0 && rc != -EALREADY)
        return rc;
    own = rc == 0;
    rc = md_upload_list_all(c, *after, UPLOAD_PAGE, a, &us, &n);
    if (rc == 0 && with_usage)
        rc = names_load(c, a, &nm);
    if (rc == 0 && n > 0)
        *rows = arena_zalloc(a, n * sizeof(**rows));
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct row *r = &(*rows)[k];

        if (!matches(f, &us[i]))
            continue;
        k++;
        r->u = us[i];
        if (!with_usage)
            continue;
        r->bucket = bucket_name(&nm, us[i].bucket_id);
        r->account = account_name(&nm, us[i].owner_id);
        rc = upload_usage(c, us[i].id, scratch, &r->n_parts, &r->bytes);
    }
    if (own)
        md_snapshot_end(c);
    if (rc < 0)
        return rc;
    if (n > 0)
        *after = us[n - 1].id;
    *n_rows = k;
    *more = n == UPLOAD_PAGE;
    return 0;
}

/* ---- upload list -------------------------------------------------------- */

static int
row_json(const struct row *r, json_t *arr)
{
    char initiated[32];
    json_t *o =
        json_pack("{s:o, s:o, s:o, s:s, s:I, s:I, s:o}", "bucket", adm_jstr(r->bucket), "key",
                  adm_jstr(r->u.key), "upload_id", adm_jstr(r->u.upload_id), "initiated",
                  adm_iso_time(r->u.initiated_ms, initiated), "parts", (json_int_t)r->n_parts,
                  "bytes", (json_int_t)r->bytes, "account", adm_jstr(r->account));

    if (json_array_append_new(arr, o) < 0)
        return adm_internal("building JSON", -ENOMEM);
    return 0;
}

static void
row_text(const struct row *r, int64_t now_ms)
{
    char initiated[32], age[32];

    adm_put(stdout, r->bucket, 24);
    fputc(' ', stdout);
    adm_put(stdout, r->u.key, 32);
    fputc(' ', stdout);
    adm_put(stdout, r->u.upload_id, 32);
    printf(" %-24s %-8s ", adm_iso_time(r->u.initiated_ms, initiated),
           fmt_age(now_ms - r->u.initiated_ms, age));
    adm_put(stdout, r->account, 16);
    printf(" %5" PRId64 " %" PRId64 "\n", r->n_parts, r->bytes);
}

int
adm_upload_list(struct adm_cli *cli)
{
    struct md_conn *c = md_reader(cli->md);
    struct arena *page = arena_new(), *scratch = arena_new();
    struct filter f;
    struct row *rows;
    json_t *arr = NULL;
    int64_t after = 0;
    size_t n;
    bool more = true;
    int rc, ret;

    ret = filter_make(cli, &f);
    if (ret != 0)
        goto out;
    if (cli->json) {
        arr = json_array();
        if (arr == NULL) {
            ret = adm_internal("building JSON", -ENOMEM);
            goto out;
        }
    } else {
        printf("%-24s %-32s %-32s %-24s %-8s %-16s %5s %s\n", "BUCKET", "KEY", "UPLOAD_ID",
               "INITIATED", "AGE", "ACCOUNT", "PARTS", "BYTES");
    }
    /* Pages of UPLOAD_PAGE, so a long list never sits in memory at once
     * (JSON output excepted: jansson holds the document). */
    while (more) {
        arena_reset(page);
        rc = read_page(c, &f, true, &after, page, scratch, &rows, &n, &more);
        if (rc < 0) {
            ret = adm_internal("listing uploads", rc);
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            if (arr == NULL) {
                row_text(&rows[i], f.now_ms);
                continue;
            }
            ret = row_json(&rows[i], arr);
            if (ret != 0)
                goto out;
        }
    }
    if (arr != NULL) {
        ret = adm_print_json(arr);
        arr = NULL;
    }
out:
    json_decref(arr);
    arena_free(page);
    arena_free(scratch);
    return ret;
}

/* ---- upload abort ------------------------------------------------------- */

/* One md_write() closure: aborts up to ABORT_BATCH uploads by id. */
struct abort_job {
    const struct str *ids;
    size_t n_ids;
    const struct filter *f;
    bool must_exist; /* --upload-id: a missing or filtered-out upload fails */
    struct arena *scratch;
    size_t n_aborted;
    int64_t bytes;
    bool filtered_out; /* must_exist failed on the filter, not the lookup */
};

static int
abort_run(struct md_conn *c, void *arg)
{
    struct abort_job *j = arg;
    struct md_upload u;
    int64_t n_parts, bytes;
    int rc;

    j->n_aborted = 0;
    j->bytes = 0;
    for (size_t i = 0; i < j->n_ids; i++) {
        /* Looked up again here: since it was listed, the upload may have
         * been completed or aborted through the server. */
        arena_reset(j->scratch);
        rc = md_upload_get(c, j->ids[i], j->scratch, &u);
        if (rc == -ENOENT && !j->must_exist)
            continue;
        if (rc < 0)
            return rc;
        if (!matches(j->f, &u)) {
            if (!j->must_exist)
                continue;
            j->filtered_out = true;
            return -ENOENT;
        }
        rc = upload_usage(c, u.id, j->scratch, &n_parts, &bytes);
        if (rc == 0)
            rc = md_upload_delete(c, u.id);
        if (rc < 0)
            return rc;
        j->n_aborted++;
        j->bytes += bytes;
    }
    return 0;
}

/* Runs j, then unlinks the parts it sent to the trash (the reaper with
 * cutoff 0). Returns md_write()'s error; *reap_rc gets a failure of the
 * reaper's writes, which leave the rest of the trash to cofferd or the next
 * run. */
static int
abort_batch(struct adm_cli *cli, struct blob *b, struct abort_job *j, int *reap_rc)
{
    int rc = md_write(cli->md, abort_run, j);

    if (rc < 0)
        return rc;
    rc = trash_reap(cli->md, b, 0);
    if (rc < 0)
        *reap_rc = rc;
    return 0;
}

static void
print_done(size_t n_aborted, int64_t bytes)
{
    printf("aborted %zu upload%s, freed %" PRId64 " bytes\n", n_aborted, n_aborted == 1 ? "" : "s",
           bytes);
}

/* Aborts every upload f selects, page by page, ABORT_BATCH per write. */
static int
abort_older(struct adm_cli *cli, struct blob *b, struct abort_job *j, struct arena *page,
            size_t *n_aborted, int64_t *bytes, int *reap_rc)
{
    struct str ids[ABORT_BATCH];
    struct row *rows;
    int64_t after = 0;
    size_t n;
    bool more = true;
    int rc;

    while (more) {
        arena_reset(page);
        rc = read_page(md_reader(cli->md), j->f, false, &after, page, NULL, &rows, &n, &more);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < n; i += ABORT_BATCH) {
            j->n_ids = n - i < ABORT_BATCH ? n - i : ABORT_BATCH;
            for (size_t k = 0; k < j->n_ids; k++)
                ids[k] = rows[i + k].u.upload_id;
            j->ids = ids;
            rc = abort_batch(cli, b, j, reap_rc);
            if (rc < 0)
                return rc;
            *n_aborted += j->n_aborted;
            *bytes += j->bytes;
        }
    }
    return 0;
}

int
adm_upload_abort(struct adm_cli *cli)
{
    struct arena *page = NULL, *scratch = NULL;
    struct abort_job j = {0};
    struct blob *b = NULL;
    struct filter f;
    struct str id;
    size_t n_aborted = 0;
    int64_t bytes = 0;
    int rc, reap_rc = 0, ret;

    if ((cli->upload_id != NULL) == (cli->older_than != NULL))
        return adm_fail("give exactly one of --upload-id and --older-than (try --help)");
    ret = filter_make(cli, &f);
    if (ret != 0)
        return ret;
    ret = adm_open_blobs(cli, &b);
    if (ret != 0)
        return ret;
    page = arena_new();
    scratch = arena_new();
    j.f = &f;
    j.scratch = scratch;
    if (cli->older_than != NULL) {
        rc = abort_older(cli, b, &j, page, &n_aborted, &bytes, &reap_rc);
        if (rc < 0) {
            /* The batches before the failing one are committed. */
            if (n_aborted > 0)
                print_done(n_aborted, bytes);
            ret = adm_internal("aborting uploads", rc);
            goto out;
        }
    } else {
        id = str_c(cli->upload_id);
        j.ids = &id;
        j.n_ids = 1;
        j.must_exist = true;
        rc = id.n == 0 || id.n > MD_UPLOAD_ID_MAX ? -ENOENT : abort_batch(cli, b, &j, &reap_rc);
        if (rc == -ENOENT && j.filtered_out) {
            ret = adm_fail("upload '%s' is not in bucket '%s'", cli->upload_id, cli->bucket);
            goto out;
        }
        if (rc == -ENOENT) {
            ret = adm_fail("no such upload '%s'", cli->upload_id);
            goto out;
        }
        if (rc < 0) {
            ret = adm_internal("aborting the upload", rc);
            goto out;
        }
        n_aborted = j.n_aborted;
        bytes = j.bytes;
    }
    print_done(n_aborted, bytes);
    ret = reap_rc < 0 ? adm_internal("emptying the blob trash", reap_rc) : 0;
out:
    arena_free(page);
    arena_free(scratch);
    blob_close(b);
    return ret;
}
