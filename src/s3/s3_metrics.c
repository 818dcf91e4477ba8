/* s3_metrics.c -- what /metrics shows: the request counters the S3 server
 * keeps per thread (s3_metrics_done(), util/metrics.h), the ones other
 * modules keep (MFA checks, lifecycle actions, group commits), and the
 * gauges read at scrape time (pool, connections, the stores). */
#include "common.h"
#include "s3/s3_admin.h"
#include "auth/mfa.h"
#include "core/lifecycle_act.h"
#include "s3/s3.h"
#include "s3/s3_int.h"
#include "store/health.h"
#include "store/md_usage.h"
#include "util/metrics.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

static const struct mx_family requests_total = {
    .name = "coffer_requests_total",
    .help = "Requests answered, by operation (S3 operation or IAM/STS action) and HTTP status.",
    .type = MX_COUNTER,
    .label = {"op", "code"},
};

/* 0.5 ms .. 60 s, in ns. */
static const uint64_t duration_bounds[] = {
    500000,    1000000,    2500000,    5000000,     10000000,    25000000,
    50000000,  100000000,  250000000,  500000000,   1000000000,  2500000000,
    5000000000, 10000000000, 30000000000, 60000000000,
};
static const struct mx_family request_duration = {
    .name = "coffer_request_duration_seconds",
    .help = "Time from a request's first byte to its last response byte queued, by operation.",
    .type = MX_HISTOGRAM,
    .label = {"op", NULL},
    .bounds = duration_bounds,
    .n_bounds = ARRAY_LEN(duration_bounds),
    .scale = 9,
};

static const struct mx_family bytes_received = {
    .name = "coffer_bytes_received_total",
    .help = "Request body bytes read.",
    .type = MX_COUNTER,
};

static const struct mx_family bytes_sent = {
    .name = "coffer_bytes_sent_total",
    .help = "Response body bytes sent.",
    .type = MX_COUNTER,
};

static const struct mx_family lifecycle_actions = {
    .name = "coffer_lifecycle_actions_total",
    .help = "Lifecycle actions the executor carried out, by action.",
    .type = MX_COUNTER,
    .label = {"action", NULL},
};

static const struct mx_family lens_exports = {
    .name = "coffer_lens_exports_total",
    .help = "Storage Lens exports cofferd ran, by result (delivered, failed, refused: the "
            "destination bucket gone).",
    .type = MX_COUNTER,
    .label = {"result", NULL},
};

/* s3_ops.def's names (the access log's "op"), and the same in the API's
 * spelling (PUT_OBJECT: PutObject), made once. */
static const char *const op_ids[] = {
#define S3_OP(name, method, level, sub, fn, action, vaction, bucket, body, loop) #name,
#include "s3/s3_ops.def"
#undef S3_OP
};
static char op_camel[ARRAY_LEN(op_ids)][48];
static pthread_once_t camel_once = PTHREAD_ONCE_INIT;

static void
camel_init(void)
{
    for (size_t i = 0; i < ARRAY_LEN(op_ids); i++) {
        size_t n = 0;
        bool up = true;
        for (const char *p = op_ids[i]; *p != '\0' && n < sizeof(op_camel[i]) - 1; p++) {
            if (*p == '_') {
                up = true;
                continue;
            }
            op_camel[i][n++] = up ? *p : (char)tolower((unsigned char)*p);
            up = false;
        }
    }
}

/* The request's operation: s3_ops.def's name as PutObject, GetObject, ...
 * (the access log's "op" field is the same name as PUT_OBJECT); an IAM or
 * STS request's action without its service (CreateUser); "CorsPreflight";
 * or "unknown" when the request failed before it was routed. Static
 * strings only (util/metrics.h). */
static const char *
op_label(const struct http_req *r)
{
    const struct s3_req *q = r->app_state;
    const char *colon;

    if (q == NULL)
        return "unknown";
    if (q->op_name != NULL) {
        if ((size_t)q->op < ARRAY_LEN(op_ids) && strcmp(op_ids[q->op], q->op_name) == 0) {
            pthread_once(&camel_once, camel_init);
            return op_camel[q->op];
        }
        return strcmp(q->op_name, "CORS_PREFLIGHT") == 0 ? "CorsPreflight" : "unknown";
    }
    if (q->action != NULL && (colon = strchr(q->action, ':')) != NULL)
        return colon + 1;
    return "unknown";
}

void
s3_metrics_done(struct http_req *r, int status, uint64_t bytes_in, uint64_t bytes_out,
                uint64_t dur_ns)
{
    const char *op = op_label(r);

    mx_add(&requests_total, op, mx_status_label(status), 1);
    mx_observe(&request_duration, op, dur_ns);
    if (bytes_in > 0)
        mx_add(&bytes_received, NULL, NULL, bytes_in);
    if (bytes_out > 0)
        mx_add(&bytes_sent, NULL, NULL, bytes_out);
}

void
s3_metrics_lifecycle(const char *action, const char *result)
{
    if (strcmp(result, lifecycle_act_result_name(LC_ACT_DONE)) == 0)
        mx_add(&lifecycle_actions, action, NULL, 1);
}

void
s3_metrics_lens_export(const char *result)
{
    mx_add(&lens_exports, result, NULL, 1);
}

static int
gauge(struct buf *b, const char *name, const char *help, const char *type, uint64_t v)
{
    int rc = mx_header(b, name, help, type);

    return rc | mx_sample(b, name, NULL, NULL, 0, v, 0);
}

/* The gauges read from the metadata store at scrape time: the bucket
 * counts, live; the usage figures as of the latest usage refresh (never a
 * scan of the buckets' objects per scrape), with the refresh's time. A
 * store that does not answer leaves them out (/health/ready says why). */
static int
append_store_gauges(struct s3_admin *a, struct buf *b)
{
    struct md_bucket_stats st;
    struct md_usage_sum u;
    int rc = 0;

    if (md_bucket_stats(a->srv->md, &st) < 0)
        return 0;
    rc |= gauge(b, "coffer_buckets", "Buckets.", "gauge", (uint64_t)st.buckets);
    rc |= gauge(b, "coffer_versioning_enabled_buckets", "Buckets with versioning Enabled.",
                "gauge", (uint64_t)st.versioning_enabled);
    rc |= gauge(b, "coffer_mfa_delete_enabled_buckets", "Buckets with MFA delete enabled.",
                "gauge", (uint64_t)st.mfa_delete_enabled);
    if (md_usage_total(md_reader(a->srv->md), 0, MD_USAGE_LATEST, &u) < 0)
        return rc;
    rc |= gauge(b, "coffer_objects", "Current object versions (not delete markers), as of the "
                "latest usage refresh.", "gauge", (uint64_t)u.f.current_count);
    rc |= gauge(b, "coffer_stored_bytes", "Bytes stored: current, noncurrent, delete-marker and "
                "incomplete-upload bytes (Storage Lens StorageBytes), as of the latest usage "
                "refresh.", "gauge", (uint64_t)md_usage_storage_bytes(&u.f));
    rc |= gauge(b, "coffer_noncurrent_versions", "Noncurrent object versions (not delete "
                "markers), as of the latest usage refresh.", "gauge",
                (uint64_t)u.f.noncurrent_count);
    rc |= gauge(b, "coffer_delete_markers", "Delete markers, as of the latest usage refresh.",
                "gauge", (uint64_t)u.f.dm_count);
    rc |= gauge(b, "coffer_incomplete_upload_bytes", "Bytes of the parts of incomplete "
                "multipart uploads, as of the latest usage refresh.", "gauge",
                (uint64_t)u.f.mpu_bytes);
    rc |= gauge(b, "coffer_usage_refreshed_seconds", "Unix time of the latest usage refresh "
                "the usage gauges come from (0: none yet).", "gauge",
                (uint64_t)(u.refreshed_ms / 1000));
    return rc;
}

static int
append_server_gauges(struct s3_admin *a, struct buf *b)
{
    struct http_stats hs;
    struct md_writer_stats ws;
    int rc = 0;

    http_server_stats(a->s3, &hs);
    rc |= gauge(b, "coffer_workers", "Request worker threads running.", "gauge",
                (uint64_t)hs.workers);
    rc |= gauge(b, "coffer_workers_busy", "Worker threads running a request.", "gauge",
                (uint64_t)(hs.workers_busy > 0 ? hs.workers_busy : 0));
    rc |= gauge(b, "coffer_requests_queued", "Requests waiting for a worker thread.", "gauge",
                (uint64_t)hs.queued);
    rc |= gauge(b, "coffer_connections_open", "Open client connections on the S3 listeners.",
                "gauge", (uint64_t)(hs.connections > 0 ? hs.connections : 0));
    rc |= gauge(b, "coffer_draining", "1 while the server drains (SIGTERM), else 0.", "gauge",
                http_server_draining(a->s3) ? 1 : 0);
    md_writer_stats(a->srv->md, &ws);
    rc |= gauge(b, "coffer_md_writes_total", "Metadata write closures run by the group-commit writer.",
                "counter", ws.jobs);
    rc |= gauge(b, "coffer_md_groups_total", "Groups (transactions) the metadata writer ran.",
                "counter", ws.groups);
    rc |= gauge(b, "coffer_md_commits_total", "Group commits that succeeded.", "counter",
                ws.commits);
    return rc;
}

int
s3_metrics_render(struct s3_admin *a, struct buf *b)
{
    static const struct mx_family *const counted[] = {
        &requests_total, &request_duration, &bytes_received, &bytes_sent,
        &mfa_checks_total, &lifecycle_actions, &lens_exports, &md_group_jobs,
        &md_round_trips,
    };
    struct mx_snap *sn = mx_snapshot();
    int rc = 0;

    for (size_t i = 0; i < ARRAY_LEN(counted) && rc == 0; i++)
        rc = mx_render(b, sn, counted[i]);
    mx_snap_free(sn);
    rc |= append_server_gauges(a, b);
    rc |= append_store_gauges(a, b);
    return rc != 0 ? -E2BIG : 0;
}
