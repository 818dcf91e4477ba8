/* adm_lens.c -- `coffer lens export`: one S3 Storage Lens metrics export
 * now [spec lifecycle-and-storage-lens B3], by s3/s3_lens_export.c (the
 * one cofferd's daily exporter runs too): the CSV report and then its
 * manifest.json in the configuration's destination bucket. Here: the
 * command's options, and what it prints. */
#include "common.h"
#include "admin/adm.h"
#include "s3/s3_lens_export.h"
#include "store/blob.h"
#include "store/md_usage.h"
#include "util/enc.h"
#include "util/tm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

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

int
adm_lens_export(struct adm_cli *cli)
{
    struct s3_lens_export_result res;
    struct md_account acc;
    struct blob *bl = NULL;
    struct str id = str_c(cli->config_id);
    int64_t day = 0;
    int ret, rc;

    ret = account_get(cli, &acc);
    if (ret == 0)
        ret = report_day(cli, &day);
    if (ret != 0)
        return ret;
    ret = adm_open_blobs(cli, &bl);
    if (ret != 0)
        return ret;
    rc = s3_lens_export(cli->md, bl, acc.id, id, day, cli->a, &res);
    blob_close(bl);
    switch (rc) {
    case 0:
        break;
    case -EINVAL:
        return adm_fail("'%.*s' is not a configuration id", STR_FMT(id));
    case -ENOENT:
        return adm_fail("account %012" PRId64 " has no Storage Lens configuration '%.*s'", acc.id,
                        STR_FMT(id));
    case -ECANCELED:
        return adm_fail("configuration '%.*s' is disabled: it makes no new metrics", STR_FMT(id));
    case -ENOMSG:
        return adm_fail("configuration '%.*s' has no export (DataExport.S3BucketDestination)",
                        STR_FMT(id));
    case -ENXIO:
        return adm_fail("the destination bucket '%.*s' is gone or no longer account %012" PRId64
                        "'s",
                        STR_FMT(res.bucket), acc.id);
    case -EEXIST:
        return adm_fail("the report for %s was delivered already (%.*s)", res.date,
                        STR_FMT(res.manifest));
    case -E2BIG:
        return adm_fail("the report is larger than %d bytes", S3_LENS_CSV_MAX);
    case -EPROTO:
        return adm_fail("writing %.*s: %s", STR_FMT(res.key), res.reason);
    default:
        return adm_internal(res.reason, rc);
    }
    if (cli->json)
        return adm_print_json(json_pack(
            "{s:s, s:s#, s:s#, s:s#, s:s#, s:I, s:I}", "report_date", res.date, "bucket",
            res.bucket.p, (int)res.bucket.n, "region", res.region.p, (int)res.region.n, "report",
            res.report.p, (int)res.report.n, "manifest", res.manifest.p, (int)res.manifest.n,
            "buckets", (json_int_t)res.buckets, "rows", (json_int_t)res.rows));
    printf("exported %s for %" PRId64 " buckets to %.*s:\n  %.*s\n  %.*s\n", res.date,
           res.buckets, STR_FMT(res.bucket), STR_FMT(res.report), STR_FMT(res.manifest));
    return 0;
}
