/* adm_usage.c -- `coffer usage refresh` (one usage-accounting refresh now,
 * as cofferd's thread runs it) and `coffer usage show` (the per-bucket
 * figures as of the latest refresh, the totals, and with --days the daily
 * trend), all from store/md_usage.h. */
#include "common.h"
#include "admin/adm.h"
#include "store/md_usage.h"
#include "util/tm.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
adm_usage_refresh(struct adm_cli *cli)
{
    struct md_usage_opts o = {.bucket = cli->bucket ? str_c(cli->bucket) : STR_NULL};
    struct md_usage_stats st;
    int rc = md_usage_refresh(cli->md, &o, &st);

    if (rc == -ENOENT && cli->bucket != NULL)
        return adm_fail("no such bucket '%s'", cli->bucket);
    if (rc < 0)
        return adm_internal("usage refresh", rc);
    if (cli->json) {
        json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:I}", "buckets", (json_int_t)st.buckets,
                              "versions", (json_int_t)st.versions, "uploads",
                              (json_int_t)st.uploads, "gone", (json_int_t)st.gone, "pruned",
                              (json_int_t)st.pruned);
        return adm_print_json(j);
    }
    printf("refreshed %lld buckets (%lld versions, %lld uploads read)", (long long)st.buckets,
           (long long)st.versions, (long long)st.uploads);
    if (st.gone > 0 || st.pruned > 0)
        printf("; %lld deleted buckets closed, %lld rows past 15 months pruned",
               (long long)st.gone, (long long)st.pruned);
    printf("\n");
    return 0;
}

/* "YYYY-MM-DD" of UTC day number day. */
static const char *
day_str(int64_t day, char out[32])
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
        snprintf(out, 32, "?");
        return out;
    }
    snprintf(out, 32, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    return out;
}

static const char *
ver_name(enum md_versioning v)
{
    return v == MD_VER_ENABLED ? "Enabled" : v == MD_VER_SUSPENDED ? "Suspended" : "None";
}

static const char *
mfa_name(enum md_mfa m)
{
    return m == MD_MFA_ENABLED ? "Enabled" : m == MD_MFA_DISABLED ? "Disabled" : "None";
}

/* The figures under Storage Lens's export metric names [B4]. */
static json_t *
metrics_json(const struct md_usage_fig *f)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                     "StorageBytes", (json_int_t)md_usage_storage_bytes(f), "ObjectCount",
                     (json_int_t)md_usage_object_count(f), "CurrentVersionStorageBytes",
                     (json_int_t)f->current_bytes, "CurrentVersionObjectCount",
                     (json_int_t)f->current_count, "NonCurrentVersionStorageBytes",
                     (json_int_t)f->noncurrent_bytes, "NonCurrentVersionObjectCount",
                     (json_int_t)f->noncurrent_count, "DeleteMarkerStorageBytes",
                     (json_int_t)f->dm_bytes, "DeleteMarkerObjectCount", (json_int_t)f->dm_count,
                     "IncompleteMultipartUploadStorageBytes", (json_int_t)f->mpu_bytes,
                     "IncompleteMultipartUploadObjectCount", (json_int_t)f->mpu_count,
                     "IncompleteMPUStorageBytesOlderThan7Days", (json_int_t)f->mpu_old_bytes,
                     "IncompleteMPUObjectCountOlderThan7Days", (json_int_t)f->mpu_old_count);
}

static json_t *
sum_json(const struct md_usage_sum *s, bool with_day)
{
    char d[32], t[32];
    json_t *j = json_pack("{s:I, s:I, s:I, s:o}", "buckets", (json_int_t)s->buckets,
                          "VersioningEnabledBucketCount", (json_int_t)s->versioning_enabled,
                          "MFADeleteEnabledBucketCount", (json_int_t)s->mfa_delete_enabled,
                          "metrics", metrics_json(&s->f));

    if (j != NULL && with_day)
        json_object_set_new(j, "date", json_string(day_str(s->day, d)));
    if (j != NULL && s->refreshed_ms > 0)
        json_object_set_new(j, "refreshed", json_string(adm_iso_time(s->refreshed_ms, t)));
    return j;
}

static json_t *
row_json(const struct md_usage_row *r)
{
    char d[32], t[32];

    return json_pack("{s:o, s:o, s:s, s:s, s:s, s:s, s:o}", "bucket", adm_jstr(r->bucket),
                     "account", adm_jacct(r->account_id), "date", day_str(r->day, d),
                     "refreshed", adm_iso_time(r->refreshed_ms, t), "versioning",
                     ver_name(r->versioning), "mfa_delete", mfa_name(r->mfa_delete), "metrics",
                     metrics_json(&r->f));
}

static void
print_sum_line(const char *label, const struct md_usage_sum *s)
{
    printf("%-12s %7lld %7lld %7lld %12lld %16lld\n", label, (long long)s->buckets,
           (long long)s->versioning_enabled, (long long)s->mfa_delete_enabled,
           (long long)md_usage_object_count(&s->f), (long long)md_usage_storage_bytes(&s->f));
}

int
adm_usage_show(struct adm_cli *cli)
{
    struct md_conn *c = md_reader(cli->md);
    struct md_usage_row *rows;
    struct md_usage_sum total, *daily = NULL;
    int64_t account_id = 0, days = 0, today = md_usage_day(tm_now_ms());
    size_t n;
    int rc;

    if (cli->account != NULL) {
        struct adm_principal p;

        rc = adm_principal_get(cli, cli->account, NULL, &p);
        if (rc != 0)
            return rc;
        account_id = p.account.id;
    }
    if (cli->days != NULL) {
        char *end;

        errno = 0;
        days = strtoll(cli->days, &end, 10);
        if (errno != 0 || end == cli->days || *end != '\0' || days < 1 ||
            days > MD_USAGE_KEEP_DAYS)
            return adm_fail("--days takes a whole number from 1 to %d", MD_USAGE_KEEP_DAYS);
    }
    rc = md_usage_rows(c, account_id, MD_USAGE_LATEST, cli->a, &rows, &n);
    if (rc == 0)
        rc = md_usage_total(c, account_id, MD_USAGE_LATEST, &total);
    if (rc == 0 && days > 0)
        rc = md_usage_daily(c, account_id, today - days + 1, today, cli->a, &daily);
    if (rc < 0)
        return adm_internal("reading usage", rc);
    if (cli->json) {
        json_t *arr = json_array(), *doc;

        for (size_t i = 0; arr != NULL && i < n; i++)
            if (json_array_append_new(arr, row_json(&rows[i])) < 0) {
                json_decref(arr);
                arr = NULL;
            }
        doc = arr ? json_pack("{s:o, s:o}", "buckets", arr, "total", sum_json(&total, false))
                  : NULL;
        if (doc != NULL && daily != NULL) {
            json_t *d = json_array();

            for (int64_t i = 0; d != NULL && i < days; i++)
                json_array_append_new(d, sum_json(&daily[i], true));
            json_object_set_new(doc, "daily", d);
        }
        return adm_print_json(doc);
    }
    printf("%-32s %-12s %-10s %-10s %-10s %10s %14s %8s %14s %6s %8s %12s\n", "BUCKET", "ACCOUNT",
           "DATE", "VERSIONING", "MFA_DELETE", "CURRENT", "CURRENT_BYTES", "NONCUR",
           "NONCUR_BYTES", "DM", "MPU", "MPU_BYTES");
    for (size_t i = 0; i < n; i++) {
        const struct md_usage_row *r = &rows[i];
        const struct md_usage_fig *f = &r->f;
        char d[32];

        adm_put(stdout, r->bucket, 32);
        printf(" %012lld %-10s %-10s %-10s %10lld %14lld %8lld %14lld %6lld %8lld %12lld\n",
               (long long)r->account_id, day_str(r->day, d), ver_name(r->versioning),
               mfa_name(r->mfa_delete), (long long)f->current_count,
               (long long)f->current_bytes, (long long)f->noncurrent_count,
               (long long)f->noncurrent_bytes, (long long)f->dm_count, (long long)f->mpu_count,
               (long long)f->mpu_bytes);
    }
    printf("\n%-12s %7s %7s %7s %12s %16s\n", "", "BUCKETS", "VER_ON", "MFA_ON", "OBJECTS",
           "STORAGE_BYTES");
    print_sum_line("total", &total);
    for (int64_t i = 0; daily != NULL && i < days; i++) {
        char d[32];

        print_sum_line(day_str(daily[i].day, d), &daily[i]);
    }
    return 0;
}
