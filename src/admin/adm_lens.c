/* adm_lens.c -- `coffer lens export`: one S3 Storage Lens metrics export
 * now [spec lifecycle-and-storage-lens B3]: the CSV report and then its
 * manifest.json, written into the configuration's destination bucket as
 * objects (core/object.c's write, as PutObject does), from the usage
 * accounting rows (store/md_usage.h) as of the report day. Not here: the
 * daily schedule, Parquet (refused at Put), prefix rows (usage accounting
 * keeps no per-prefix figures), and the advanced tiers' metrics (activity,
 * status codes, rule counts: not exported yet). */
#include "common.h"
#include "admin/adm.h"
#include "bounds.h"
#include "core/object.h"
#include "crypto/hash.h"
#include "s3/s3_err.h"
#include "s3/s3_lens_model.h"
#include "store/blob.h"
#include "store/md_lens.h"
#include "store/md_usage.h"
#include "util/buf.h"
#include "util/enc.h"
#include "util/tm.h"
#include "xml/xml_read.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define CSV_MAX (256 * 1024 * 1024) /* one report file */
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

/* ---- writing objects -------------------------------------------------------- */

struct put {
    struct str bucket_name;
    int64_t bucket_id;
    struct arena *a;
    struct md_version v;
    struct md_bucket b;
    struct str replaced;
    enum core_err err;
};

static int
put_fn(struct md_conn *c, void *arg)
{
    struct put *p = arg;

    p->err = object_write(c, p->bucket_name, p->bucket_id, NULL, p->a, &p->b, &p->v, &p->replaced);
    return p->err == CORE_E_OK ? 0 : -EINVAL;
}

/* PutObject of data at key into b, as b's owner: inline up to
 * STORE_INLINE_MAX, else a data file written before its row. md5hex gets
 * the ETag. 0, or prints why and returns the exit status. */
static int
put_object(struct adm_cli *cli, struct blob *bl, const struct md_bucket *b, struct str key,
           struct str data, const char *content_type, char md5hex[33])
{
    struct put p = {.bucket_name = b->name, .bucket_id = b->id, .a = cli->a};
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
            return adm_internal("writing the report's data", rc);
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
    rc = md_write(cli->md, put_fn, &p);
    if (rc < 0) {
        if (p.v.blob_id.p != NULL && rc != -EIO)
            (void)blob_unlink(bl, p.v.blob_id);
        if (p.err != CORE_E_OK)
            return adm_fail("writing %.*s: %s", STR_FMT(key),
                            s3_err_code(s3_err_from_core(p.err)));
        return adm_internal("writing the report", rc);
    }
    return 0;
}

/* ---- the command --------------------------------------------------------------- */

/* The configuration as stored: 0, or prints why and returns the status. */
static int
load_config(struct adm_cli *cli, int64_t acct, struct str id, struct s3_lens_cfg *cfg)
{
    struct xml_node *root;
    struct s3_lens_err e;
    struct md_lens row;
    int rc;

    if (!s3_lens_id_valid(id))
        return adm_fail("'%.*s' is not a configuration id", STR_FMT(id));
    rc = md_lens_get(md_reader(cli->md), acct, id, cli->a, &row);
    if (rc == -ENOENT)
        return adm_fail("account %012" PRId64 " has no Storage Lens configuration '%.*s'", acct,
                        STR_FMT(id));
    if (rc < 0)
        return adm_internal("reading the configuration", rc);
    if (xml_parse(cli->a, row.config, &root) < 0 ||
        s3_lens_parse_node(cli->a, root, cfg, &e) != S3E_OK)
        return adm_internal("reading the configuration", -EINVAL);
    if (!cfg->is_enabled)
        return adm_fail("configuration '%.*s' is disabled: it makes no new metrics", STR_FMT(id));
    if (!cfg->dest.present)
        return adm_fail("configuration '%.*s' has no export (DataExport.S3BucketDestination)",
                        STR_FMT(id));
    return 0;
}

/* --account: a 12-digit id (as every output prints it) or a name. */
static int
account_get(struct adm_cli *cli, struct md_account *out)
{
    const char *a = cli->account;
    unsigned long long id;
    int rc;

    if (strlen(a) == 12 && str_to_u64(str_c(a), &id) == 0) {
        rc = md_account_get(md_reader(cli->md), (int64_t)id, cli->a, out);
        if (rc == -ENOENT)
            return adm_fail("no such account '%s'", a);
        return rc < 0 ? adm_internal("reading the account", rc) : 0;
    }
    struct adm_principal pr;
    rc = adm_principal_get(cli, a, NULL, &pr);
    if (rc == 0)
        *out = pr.account;
    return rc;
}

/* --day YYYY-MM-DD, else the day just ended (UTC). */
static int
report_day(struct adm_cli *cli, int64_t *day)
{
    int64_t ms;

    if (cli->day == NULL) {
        *day = md_usage_day(tm_now_ms()) - 1;
        return 0;
    }
    if (strlen(cli->day) != 10 || tm_parse_iso8601(str_c(cli->day), &ms, NULL) < 0)
        return adm_fail("--day takes a date YYYY-MM-DD");
    *day = md_usage_day(ms);
    return 0;
}

static struct str
key_of(struct adm_cli *cli, const struct s3_lens_dest *d, const char *acct, struct str id,
       const char *kind, const char *date, const char *file)
{
    struct str pre = d->prefix.p != NULL ? d->prefix : STR_LIT("");
    bool slash = pre.n > 0 && pre.p[pre.n - 1] != '/';

    /* [decision] an empty Prefix: keys start at StorageLens/. */
    return str_c(arena_printf(cli->a, "%.*s%sStorageLens/%s/%.*s/V_1/%s/dt=%s/%s", STR_FMT(pre),
                              slash ? "/" : "", acct, STR_FMT(id), kind, date, file));
}

int
adm_lens_export(struct adm_cli *cli)
{
    struct report r = {0};
    struct md_account acc;
    struct s3_lens_cfg cfg;
    struct md_usage_row *rows;
    struct md_bucket dest;
    struct md_version mv;
    struct blob *bl = NULL;
    struct str id = str_c(cli->config_id), csv_key, man_key;
    char acct[16], date[32], uuid[48], md5hex[33], csv_md5[33];
    unsigned char rnd[16];
    int64_t day = 0, total[M_N] = {0}, v[M_N], n_buckets = 0;
    size_t n;
    json_t *man;
    char *man_text;
    int ret, rc;

    ret = account_get(cli, &acc);
    if (ret == 0)
        ret = load_config(cli, acc.id, id, &cfg);
    if (ret == 0)
        ret = report_day(cli, &day);
    if (ret != 0)
        return ret;
    snprintf(acct, sizeof(acct), "%012" PRId64, acc.id);
    tm_iso8601(day * MD_USAGE_DAY_MS, date);
    date[10] = '\0';
    rc = md_bucket_get(md_reader(cli->md), cfg.dest.bucket, cli->a, &dest);
    if (rc == -ENOENT || (rc == 0 && dest.account_id != acc.id))
        return adm_fail("the destination bucket '%.*s' is gone or no longer account %s's",
                        STR_FMT(cfg.dest.bucket), acct);
    if (rc < 0)
        return adm_internal("reading the destination bucket", rc);
    /* [decision] a delivered day is never written again. */
    man_key = key_of(cli, &cfg.dest, acct, id, "manifests", date, "manifest.json");
    rc = md_version_get(md_reader(cli->md), dest.id, man_key, STR_NULL, cli->a, &mv);
    if (rc == 0 && !mv.is_delete_marker)
        return adm_fail("the report for %s was delivered already (%.*s)", date, STR_FMT(man_key));
    if (rc < 0 && rc != -ENOENT)
        return adm_internal("reading the destination bucket", rc);
    rc = md_usage_rows(md_reader(cli->md), acc.id, day, cli->a, &rows, &n);
    if (rc < 0)
        return adm_internal("reading usage", rc);

    r.config_id = id;
    r.date = str_c(date);
    r.account = str_c(acct);
    /* One Region per server: the buckets' own (cofferd's --region). */
    r.region = dest.region;
    buf_init(&r.csv, CSV_MAX);
    rc = buf_append_c(&r.csv, SCHEMA "\n");
    for (size_t i = 0; i < n; i++) {
        if (!selected(&cfg, rows[i].bucket, dest.region))
            continue;
        values(&rows[i].f, rows[i].versioning == MD_VER_ENABLED,
               rows[i].mfa_delete == MD_MFA_ENABLED, v);
        for (int m = 0; m < M_N; m++)
            total[m] += v[m];
        n_buckets++;
        rc |= record(&r, "BUCKET", rows[i].bucket, v, M_N, NULL, 0);
    }
    /* [decision] the bucket count, on the account record only. */
    rc |= record(&r, "ACCOUNT", STR_LIT(""), total, M_N, "DistinctNumberOfBuckets", n_buckets);
    if (rc != 0) {
        buf_free(&r.csv);
        return adm_fail("the report is larger than %d bytes", CSV_MAX);
    }

    rc = rand_bytes(rnd, sizeof(rnd));
    if (rc < 0) {
        buf_free(&r.csv);
        return adm_internal("random bytes", rc);
    }
    rnd[6] = (unsigned char)((rnd[6] & 0x0f) | 0x40);
    rnd[8] = (unsigned char)((rnd[8] & 0x3f) | 0x80);
    snprintf(uuid, sizeof(uuid),
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x.csv", rnd[0],
             rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], rnd[8], rnd[9], rnd[10],
             rnd[11], rnd[12], rnd[13], rnd[14], rnd[15]);
    csv_key = key_of(cli, &cfg.dest, acct, id, "reports", date, uuid);
    rc = blob_open(cli->data, &bl);
    if (rc < 0) {
        buf_free(&r.csv);
        return adm_internal("opening the blob store", rc);
    }
    /* The report first, then the manifest that names it [B3]. */
    ret = put_object(cli, bl, &dest, csv_key, str_make(r.csv.p, r.csv.n), "text/csv", csv_md5);
    if (ret != 0)
        goto out;
    man = json_pack("{s:s, s:s#, s:s, s:s, s:s, s:s, s:s, s:[{s:s#, s:I, s:s}]}",
                    "sourceAccountId", acct, "configId", id.p, (int)id.n, "destinationBucket",
                    arena_printf(cli->a, "arn:aws:s3:::%.*s", STR_FMT(dest.name)),
                    "reportVersion", "V_1", "reportDate", date, "reportFormat", "CSV",
                    "reportSchema", SCHEMA, "reportFiles", "key", csv_key.p, (int)csv_key.n,
                    "size", (json_int_t)r.csv.n, "md5Checksum", csv_md5);
    man_text = man != NULL ? json_dumps(man, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(man);
    if (man_text == NULL) {
        ret = adm_internal("building manifest.json", -ENOMEM);
        goto out;
    }
    ret = put_object(cli, bl, &dest, man_key, str_c(man_text), "application/json", md5hex);
    free(man_text);
    if (ret != 0)
        goto out;
    if (cli->json) {
        ret = adm_print_json(json_pack("{s:s, s:s#, s:s#, s:s#, s:s#, s:I, s:I}", "report_date",
                                       date, "bucket", dest.name.p, (int)dest.name.n, "region",
                                       dest.region.p, (int)dest.region.n, "report", csv_key.p, (int)csv_key.n,
                                       "manifest", man_key.p, (int)man_key.n, "buckets",
                                       (json_int_t)n_buckets, "rows",
                                       (json_int_t)((n_buckets + 1) * M_N + 1)));
    } else {
        printf("exported %s for %" PRId64 " buckets to %.*s:\n  %.*s\n  %.*s\n", date, n_buckets,
               STR_FMT(dest.name), STR_FMT(csv_key), STR_FMT(man_key));
    }
out:
    buf_free(&r.csv);
    blob_close(bl);
    return ret;
}
