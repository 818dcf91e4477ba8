/* s3_lens_export.c -- one S3 Storage Lens metrics export (s3_lens_export.h)
 * [spec lifecycle-and-storage-lens B3]: the CSV report and then its
 * manifest.json, written into the configuration's destination bucket as
 * objects, from the usage accounting rows as of the report day; and
 * cofferd's daily exporter thread. */
#include "common.h"
#include "s3/s3_lens_export.h"
#include "bounds.h"
#include "core/object.h"
#include "crypto/hash.h"
#include "s3/s3_admin.h"
#include "s3/s3_err.h"
#include "s3/s3_lens_model.h"
#include "store/blob.h"
#include "store/md_lens.h"
#include "store/md_usage.h"
#include "util/buf.h"
#include "util/enc.h"
#include "util/log.h"
#include "util/ticker.h"
#include "util/tm.h"
#include "util/xmalloc.h"
#include "xml/xml_read.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define SCHEMA                                                                                     \
    "version_number,configuration_id,report_date,aws_account_number,aws_region,storage_class,"     \
    "record_type,record_value,bucket_name,metric_name,metric_value"

/* The free metrics usage accounting measures, as the export names them. */
enum metric {
    M_STORAGE_BYTES,
    M_OBJECT_COUNT,
    M_CUR_BYTES,
    M_CUR_COUNT,
    M_NC_BYTES,
    M_NC_COUNT,
    M_DM_BYTES,
    M_DM_COUNT,
    M_MPU_BYTES,
    M_MPU_COUNT,
    M_MPU_OLD_BYTES,
    M_MPU_OLD_COUNT,
    M_VERSIONING,
    M_MFA_DELETE,
    M_N,
};

static const char *const metric_names[M_N] = {
    [M_STORAGE_BYTES] = "StorageBytes",
    [M_OBJECT_COUNT] = "ObjectCount",
    [M_CUR_BYTES] = "CurrentVersionStorageBytes",
    [M_CUR_COUNT] = "CurrentVersionObjectCount",
    [M_NC_BYTES] = "NonCurrentVersionStorageBytes",
    [M_NC_COUNT] = "NonCurrentVersionObjectCount",
    [M_DM_BYTES] = "DeleteMarkerStorageBytes",
    [M_DM_COUNT] = "DeleteMarkerObjectCount",
    [M_MPU_BYTES] = "IncompleteMultipartUploadStorageBytes",
    [M_MPU_COUNT] = "IncompleteMultipartUploadObjectCount",
    [M_MPU_OLD_BYTES] = "IncompleteMPUStorageBytesOlderThan7Days",
    [M_MPU_OLD_COUNT] = "IncompleteMPUObjectCountOlderThan7Days",
    [M_VERSIONING] = "VersioningEnabledBucketCount",
    [M_MFA_DELETE] = "MFADeleteEnabledBucketCount",
};

static void
values(const struct md_usage_fig *f, int64_t versioning, int64_t mfa, int64_t v[M_N])
{
    v[M_STORAGE_BYTES] = md_usage_storage_bytes(f);
    v[M_OBJECT_COUNT] = md_usage_object_count(f);
    v[M_CUR_BYTES] = f->current_bytes;
    v[M_CUR_COUNT] = f->current_count;
    v[M_NC_BYTES] = f->noncurrent_bytes;
    v[M_NC_COUNT] = f->noncurrent_count;
    v[M_DM_BYTES] = f->dm_bytes;
    v[M_DM_COUNT] = f->dm_count;
    v[M_MPU_BYTES] = f->mpu_bytes;
    v[M_MPU_COUNT] = f->mpu_count;
    v[M_MPU_OLD_BYTES] = f->mpu_old_bytes;
    v[M_MPU_OLD_COUNT] = f->mpu_old_count;
    v[M_VERSIONING] = versioning;
    v[M_MFA_DELETE] = mfa;
}

/* One CSV field (RFC 4180): quoted when it holds a comma, quote or line
 * break, quotes doubled. */
static int
field(struct buf *b, struct str s, bool last)
{
    bool quote = false;
    int rc = 0;

    for (size_t i = 0; i < s.n; i++)
        quote |= s.p[i] == ',' || s.p[i] == '"' || s.p[i] == '\n' || s.p[i] == '\r';
    if (quote) {
        rc |= buf_append_c(b, "\"");
        for (size_t i = 0; i < s.n; i++)
            rc |= buf_append(b, s.p[i] == '"' ? "\"\"" : &s.p[i], s.p[i] == '"' ? 2 : 1);
        rc |= buf_append_c(b, "\"");
    } else {
        rc |= buf_append(b, s.p, s.n);
    }
    rc |= buf_append_c(b, last ? "\n" : ",");
    return rc;
}

struct report {
    struct str config_id, date, account, region;
    struct buf csv;
};

/* One row per metric of one record (ACCOUNT: bucket ""). [decision]
 * storage_class "-": usage accounting does not split figures by class. */
static int
record(struct report *r, const char *type, struct str bucket, const int64_t v[M_N], size_t n_m,
       const char *extra_name, int64_t extra)
{
    char num[32];
    int rc = 0;

    for (size_t i = 0; i <= n_m; i++) {
        const char *name = i < n_m ? metric_names[i] : extra_name;
        if (name == NULL)
            continue;
        snprintf(num, sizeof(num), "%" PRId64, i < n_m ? v[i] : extra);
        rc |= field(&r->csv, STR_LIT("V_1"), false);
        rc |= field(&r->csv, r->config_id, false);
        rc |= field(&r->csv, r->date, false);
        rc |= field(&r->csv, r->account, false);
        rc |= field(&r->csv, r->region, false);
        rc |= field(&r->csv, STR_LIT("-"), false);
        rc |= field(&r->csv, str_c(type), false);
        rc |= field(&r->csv, STR_LIT(""), false);
        rc |= field(&r->csv, bucket, false);
        rc |= field(&r->csv, str_c(name), false);
        rc |= field(&r->csv, str_c(num), true);
    }
    return rc;
}

/* Whether the configuration's Include / Exclude takes bucket (of this
 * server's one Region). */
static bool
selected(const struct s3_lens_cfg *c, struct str bucket, struct str region)
{
    const struct s3_lens_filter *f = c->include.present ? &c->include : &c->exclude;
    bool named = false;

    if (!f->present)
        return true;
    for (size_t i = 0; i < f->n_regions; i++)
        named |= str_eq(f->regions[i], region);
    for (size_t i = 0; i < f->n_buckets; i++) {
        struct str arn = f->buckets[i];
        named |= arn.n == bucket.n + 13 && str_eq(str_make(arn.p + 13, arn.n - 13), bucket);
    }
    return c->include.present ? named : !named;
}

/* A store error while doing `what`: never one of the refusals' codes. */
static int
internal(struct s3_lens_export_result *out, const char *what, int rc)
{
    out->reason = what;
    switch (rc) {
    case -EINVAL:
    case -ENOENT:
    case -ECANCELED:
    case -ENOMSG:
    case -ENXIO:
    case -EEXIST:
    case -E2BIG:
    case -EPROTO:
        return -EIO;
    default:
        return rc < 0 ? rc : -EIO;
    }
}

/* ---- writing objects -------------------------------------------------------- */

struct put {
    struct str bucket_name;
    int64_t bucket_id;
    struct arena *a;
    struct md_version v;
    struct md_bucket b;
    bool trashed;
    enum core_err err;
};

static int
put_fn(struct md_conn *c, void *arg)
{
    struct put *p = arg;

    p->err = object_write(c, p->bucket_name, p->bucket_id, NULL, p->a, &p->b, &p->v, &p->trashed);
    return p->err == CORE_E_OK ? 0 : -EINVAL;
}

/* PutObject of data at key into b, as b's owner: inline up to
 * STORE_INLINE_MAX, else a data file written before its row. md5hex gets
 * the ETag. 0 or -errno (out->reason, out->key). */
static int
put_object(struct md *md, struct blob *bl, const struct md_bucket *b, struct str key,
           struct str data, const char *content_type, struct arena *a, char md5hex[33],
           struct s3_lens_export_result *out)
{
    struct put p = {.bucket_name = b->name, .bucket_id = b->id, .a = a};
    unsigned char md5[HASH_MAX_LEN];
    struct hash *h = hash_new(HASH_MD5);
    char blob_id[128];
    int rc;

    hash_update(h, data.p, data.n);
    (void)hash_final(h, md5);
    hex_encode(md5, 16, md5hex);
    if (data.n > STORE_INLINE_MAX) {
        struct blob_writer *w;
        rc = blob_writer_open(bl, &w);
        if (rc == 0) {
            rc = blob_writer_write(w, data.p, data.n);
            if (rc == 0)
                rc = blob_writer_commit(w, blob_id);
            else
                blob_writer_abort(w);
        }
        if (rc < 0)
            return internal(out, "writing the report's data", rc);
        p.v.blob_id = str_c(blob_id);
    } else {
        p.v.inline_data = data;
    }
    p.v.key = key;
    p.v.size = (int64_t)data.n;
    p.v.mtime_ms = tm_now_ms();
    p.v.owner_id = b->account_id;
    p.v.etag = str_make(md5hex, 32);
    p.v.content_type = str_c(content_type);
    rc = md_write(md, put_fn, &p);
    if (rc < 0) {
        if (p.v.blob_id.p != NULL && rc != -EIO)
            (void)blob_unlink(bl, p.v.blob_id);
        if (p.err != CORE_E_OK) {
            out->reason = s3_err_code(s3_err_from_core(p.err));
            out->key = key;
            return -EPROTO;
        }
        return internal(out, "writing the report", rc);
    }
    return 0;
}

/* ---- the export ---------------------------------------------------------------- */

/* A configuration ready to export: checked, and its destination. */
struct target {
    struct str id;
    struct s3_lens_cfg cfg;
    struct md_bucket dest;
    int64_t created_ms;
    char acct[16];
};

/* Reads and checks account_id's configuration id: 0 with *t, or a code of
 * s3_lens_export()'s (out->reason; out->bucket on -ENXIO). */
static int
load(struct md_conn *c, int64_t account_id, struct str id, struct arena *a, struct target *t,
     struct s3_lens_export_result *out)
{
    struct xml_node *root;
    struct s3_lens_err e;
    struct md_lens row;
    int rc;

    memset(t, 0, sizeof(*t));
    t->id = id;
    snprintf(t->acct, sizeof(t->acct), "%012" PRId64, account_id);
    if (!s3_lens_id_valid(id)) {
        out->reason = "not a configuration id";
        return -EINVAL;
    }
    rc = md_lens_get(c, account_id, id, a, &row);
    if (rc == -ENOENT) {
        out->reason = "no such configuration";
        return -ENOENT;
    }
    if (rc < 0)
        return internal(out, "reading the configuration", rc);
    t->created_ms = row.created_ms;
    if (xml_parse(a, row.config, &root) < 0 ||
        s3_lens_parse_node(a, root, &t->cfg, &e) != S3E_OK)
        return internal(out, "reading the configuration", -EIO);
    if (!t->cfg.is_enabled) {
        out->reason = "the configuration is disabled";
        return -ECANCELED;
    }
    if (!t->cfg.dest.present) {
        out->reason = "the configuration has no export";
        return -ENOMSG;
    }
    out->bucket = t->cfg.dest.bucket;
    rc = md_bucket_get(c, t->cfg.dest.bucket, a, &t->dest);
    if (rc == -ENOENT || (rc == 0 && t->dest.account_id != account_id)) {
        out->reason = "the destination bucket is gone or no longer the account's";
        return -ENXIO;
    }
    if (rc < 0)
        return internal(out, "reading the destination bucket", rc);
    out->region = t->dest.region;
    return 0;
}

static struct str
key_of(struct arena *a, const struct target *t, const char *kind, const char *date,
       const char *file)
{
    struct str pre = t->cfg.dest.prefix.p != NULL ? t->cfg.dest.prefix : STR_LIT("");
    bool slash = pre.n > 0 && pre.p[pre.n - 1] != '/';

    /* [decision] an empty Prefix: keys start at StorageLens/. */
    return str_c(arena_printf(a, "%.*s%sStorageLens/%s/%.*s/V_1/%s/dt=%s/%s", STR_FMT(pre),
                              slash ? "/" : "", t->acct, STR_FMT(t->id), kind, date, file));
}

static void
date_of(int64_t day, char date[11])
{
    char iso[32];

    tm_iso8601(day * MD_USAGE_DAY_MS, iso);
    memcpy(date, iso, 10);
    date[10] = '\0';
}

/* Whether day's manifest is in t's destination: 1, 0, or -errno. *key its
 * key (may be NULL). */
static int
delivered(struct md_conn *c, const struct target *t, int64_t day, struct arena *a,
          struct str *key)
{
    struct md_version mv;
    char date[11];
    struct str k;
    int rc;

    date_of(day, date);
    k = key_of(a, t, "manifests", date, "manifest.json");
    if (key != NULL)
        *key = k;
    rc = md_version_get(c, t->dest.id, k, STR_NULL, a, &mv);
    if (rc == -ENOENT)
        return 0;
    return rc < 0 ? rc : !mv.is_delete_marker;
}

/* The report's CSV for t and day into r->csv: 0 or -errno (out). */
static int
build_csv(struct md_conn *c, const struct target *t, int64_t day, struct arena *a,
          struct report *r, struct s3_lens_export_result *out)
{
    struct md_usage_row *rows;
    int64_t total[M_N] = {0}, v[M_N], n_buckets = 0;
    size_t n;
    int rc;

    rc = md_usage_rows(c, t->dest.account_id, day, a, &rows, &n);
    if (rc < 0)
        return internal(out, "reading usage", rc);
    rc = buf_append_c(&r->csv, SCHEMA "\n");
    for (size_t i = 0; i < n; i++) {
        if (!selected(&t->cfg, rows[i].bucket, t->dest.region))
            continue;
        values(&rows[i].f, rows[i].versioning == MD_VER_ENABLED,
               rows[i].mfa_delete == MD_MFA_ENABLED, v);
        for (int m = 0; m < M_N; m++)
            total[m] += v[m];
        n_buckets++;
        rc |= record(r, "BUCKET", rows[i].bucket, v, M_N, NULL, 0);
    }
    /* [decision] the bucket count, on the account record only. */
    rc |= record(r, "ACCOUNT", STR_LIT(""), total, M_N, "DistinctNumberOfBuckets", n_buckets);
    if (rc != 0) {
        out->reason = "the report is too large";
        return -E2BIG;
    }
    out->buckets = n_buckets;
    out->rows = (n_buckets + 1) * M_N + 1;
    return 0;
}

/* A random (version 4) UUID file name, NAME.csv. */
static int
uuid_csv(char name[48])
{
    unsigned char rnd[16];
    int rc = rand_bytes(rnd, sizeof(rnd));

    if (rc < 0)
        return rc;
    rnd[6] = (unsigned char)((rnd[6] & 0x0f) | 0x40);
    rnd[8] = (unsigned char)((rnd[8] & 0x3f) | 0x80);
    snprintf(name, 48,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x.csv", rnd[0],
             rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], rnd[8], rnd[9], rnd[10],
             rnd[11], rnd[12], rnd[13], rnd[14], rnd[15]);
    return 0;
}

int
s3_lens_export(struct md *md, struct blob *bl, int64_t account_id, struct str config_id,
               int64_t day, struct arena *a, struct s3_lens_export_result *out)
{
    struct md_conn *c = md_reader(md);
    struct report r = {0};
    struct target t;
    char uuid[48], md5hex[33], csv_md5[33];
    json_t *man;
    char *man_text;
    int rc;

    memset(out, 0, sizeof(*out));
    date_of(day, out->date);
    rc = load(c, account_id, config_id, a, &t, out);
    if (rc < 0)
        return rc;
    /* [decision] a delivered day is never written again. */
    rc = delivered(c, &t, day, a, &out->manifest);
    if (rc > 0) {
        out->reason = "delivered already";
        return -EEXIST;
    }
    if (rc < 0)
        return internal(out, "reading the destination bucket", rc);

    r.config_id = config_id;
    r.date = str_c(out->date);
    r.account = str_c(t.acct);
    /* One Region per server: the buckets' own (cofferd's --region). */
    r.region = t.dest.region;
    buf_init(&r.csv, S3_LENS_CSV_MAX);
    rc = build_csv(c, &t, day, a, &r, out);
    if (rc == 0) {
        rc = uuid_csv(uuid);
        if (rc < 0)
            rc = internal(out, "random bytes", rc);
    }
    if (rc < 0)
        goto out;
    out->report = key_of(a, &t, "reports", out->date, uuid);
    /* The report first, then the manifest that names it [B3]. */
    rc = put_object(md, bl, &t.dest, out->report, str_make(r.csv.p, r.csv.n), "text/csv", a,
                    csv_md5, out);
    if (rc < 0)
        goto out;
    man = json_pack("{s:s, s:s#, s:s, s:s, s:s, s:s, s:s, s:[{s:s#, s:I, s:s}]}",
                    "sourceAccountId", t.acct, "configId", config_id.p, (int)config_id.n,
                    "destinationBucket",
                    arena_printf(a, "arn:aws:s3:::%.*s", STR_FMT(t.dest.name)), "reportVersion",
                    "V_1", "reportDate", out->date, "reportFormat", "CSV", "reportSchema", SCHEMA,
                    "reportFiles", "key", out->report.p, (int)out->report.n, "size",
                    (json_int_t)r.csv.n, "md5Checksum", csv_md5);
    man_text = man != NULL ? json_dumps(man, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(man);
    if (man_text == NULL) {
        rc = internal(out, "building manifest.json", -ENOMEM);
        goto out;
    }
    rc = put_object(md, bl, &t.dest, out->manifest, str_c(man_text), "application/json", a,
                    md5hex, out);
    free(man_text);
out:
    buf_free(&r.csv);
    return rc;
}

/* ---- cofferd's exporter ------------------------------------------------------ */

int64_t
s3_lens_export_days(int64_t created_day, int64_t newest_delivered, int64_t yesterday,
                    int64_t cap, int64_t *first)
{
    int64_t lo = created_day;

    if (newest_delivered != S3_LENS_NONE && newest_delivered + 1 > lo)
        lo = newest_delivered + 1;
    /* [decision] no day older than the usage history kept: its report
     * would name no bucket. */
    if (yesterday - MD_USAGE_KEEP_DAYS + 1 > lo)
        lo = yesterday - MD_USAGE_KEEP_DAYS + 1;
    *first = lo;
    if (lo > yesterday || cap <= 0)
        return 0;
    return yesterday - lo + 1 < cap ? yesterday - lo + 1 : cap;
}

struct s3_lens_runner {
    struct md *md;
    struct blob *bl;
    int64_t interval_s;
    struct ticker *t;
    atomic_bool *stop; /* the ticker's, during a wake */
};

/* Logs a failed or refused export of account / id (names and codes only:
 * nothing secret is in a result). */
static void
log_failure(const char *acct, struct str id, const char *date, int rc,
            const struct s3_lens_export_result *res)
{
    if (rc == -ENXIO)
        log_warn("lens export: account %s configuration '%.*s': the destination bucket '%.*s' is "
                 "gone or no longer the account's; nothing exported",
                 acct, STR_FMT(id), STR_FMT(res->bucket));
    else if (rc == -EPROTO)
        log_warn("lens export: account %s configuration '%.*s' for %s: writing %.*s: %s "
                 "(retried at the next wake)",
                 acct, STR_FMT(id), date, STR_FMT(res->key), res->reason);
    else
        log_warn("lens export: account %s configuration '%.*s' for %s: %s: %s (retried at the "
                 "next wake)",
                 acct, STR_FMT(id), date, res->reason != NULL ? res->reason : "failed",
                 strerror(-rc));
}

/* Delivers the days due of one configuration, oldest first; stops at the
 * first failure so that no later day passes it (the next wake retries). */
static void
run_config(struct s3_lens_runner *r, int64_t account_id, struct str id, int64_t yesterday,
           struct arena *a)
{
    struct md_conn *c = md_reader(r->md);
    struct s3_lens_export_result res = {0};
    struct target t;
    int64_t lo, first, n, newest = S3_LENS_NONE;
    int rc;

    rc = load(c, account_id, id, a, &t, &res);
    if (rc == -ECANCELED || rc == -ENOMSG || rc == -ENOENT)
        return;
    if (rc < 0) {
        s3_metrics_lens_export(rc == -ENXIO ? "refused" : "failed");
        log_failure(t.acct, id, "-", rc, &res);
        return;
    }
    /* The newest delivered day: probed back from yesterday, no further
     * than the first day that could be exported. */
    (void)s3_lens_export_days(md_usage_day(t.created_ms), S3_LENS_NONE, yesterday, 0, &lo);
    for (int64_t d = yesterday; d >= lo && newest == S3_LENS_NONE; d--) {
        rc = delivered(c, &t, d, a, NULL);
        if (rc < 0) {
            res.reason = "reading the destination bucket";
            log_failure(t.acct, id, "-", rc, &res);
            return;
        }
        if (rc > 0)
            newest = d;
    }
    n = s3_lens_export_days(md_usage_day(t.created_ms), newest, yesterday, S3_LENS_EXPORT_CAP,
                            &first);
    for (int64_t i = 0; i < n && !atomic_load(r->stop); i++) {
        rc = s3_lens_export(r->md, r->bl, account_id, id, first + i, a, &res);
        if (rc == 0) {
            s3_metrics_lens_export("delivered");
            log_info("lens export: account %s configuration '%.*s': %s delivered to %.*s "
                     "(%" PRId64 " buckets)",
                     t.acct, STR_FMT(id), res.date, STR_FMT(res.bucket), res.buckets);
            continue;
        }
        if (rc == -EEXIST) /* `coffer lens export` was first */
            continue;
        if (rc == -ECANCELED || rc == -ENOMSG || rc == -ENOENT) /* changed meanwhile */
            return;
        s3_metrics_lens_export(rc == -ENXIO ? "refused" : "failed");
        log_failure(t.acct, id, res.date, rc, &res);
        return;
    }
}

/* One wake: every account's enabled configurations. */
static void
run_all(struct s3_lens_runner *r)
{
    struct arena *a = arena_new(), *ca = arena_new();
    int64_t yesterday = md_usage_day(tm_now_ms()) - 1;
    struct md_account *accts;
    size_t n_accts;
    int rc;

    rc = md_account_list(md_reader(r->md), a, &accts, &n_accts);
    if (rc < 0) {
        log_warn("lens export: reading the accounts: %s (retried at the next wake)",
                 strerror(-rc));
        n_accts = 0;
    }
    for (size_t i = 0; i < n_accts && !atomic_load(r->stop); i++) {
        struct str after = STR_NULL;
        struct md_lens *rows;
        size_t n;
        do {
            rc = md_lens_list(md_reader(r->md), accts[i].id, after, S3_LENS_PAGE, a, &rows, &n);
            if (rc < 0) {
                log_warn("lens export: reading account %012" PRId64 "'s configurations: %s "
                         "(retried at the next wake)",
                         accts[i].id, strerror(-rc));
                break;
            }
            for (size_t j = 0; j < n && !atomic_load(r->stop); j++) {
                if (rows[j].is_enabled)
                    run_config(r, accts[i].id, rows[j].id, yesterday, ca);
                arena_reset(ca);
            }
            if (n > 0)
                after = rows[n - 1].id;
        } while (n == S3_LENS_PAGE && !atomic_load(r->stop));
    }
    arena_free(ca);
    arena_free(a);
}

/* One wake, on the ticker's thread; the next comes interval_s later, or a
 * minute after the next UTC midnight if that comes first (yesterday's
 * report then). */
static int64_t
tick(void *arg, atomic_bool *stop)
{
    struct s3_lens_runner *r = arg;
    int64_t now, wake, boundary;

    r->stop = stop;
    if (md_lease(r->md, MD_LEASE_LENS)) /* one gateway of a shared store */
        run_all(r);
    now = tm_now_ms();
    wake = now + r->interval_s * 1000;
    boundary = (md_usage_day(now) + 1) * MD_USAGE_DAY_MS + 60000;
    return boundary < wake ? boundary : wake;
}

int
s3_lens_runner_start(struct md *md, struct blob *bl, int64_t interval_s,
                     struct s3_lens_runner **out)
{
    struct s3_lens_runner *r = xcalloc(1, sizeof(*r));
    int rc;

    ASSERT(interval_s > 0);
    r->md = md;
    r->bl = bl;
    r->interval_s = interval_s;
    rc = ticker_start(tick, r, &r->t);
    if (rc < 0) {
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void
s3_lens_runner_stop(struct s3_lens_runner *r)
{
    if (r == NULL)
        return;
    ticker_stop(r->t);
    free(r);
}
