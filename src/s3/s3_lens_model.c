/* s3_lens_model.c -- Storage Lens configurations: reading and checking the
 * <StorageLensConfiguration> document, its canonical rendering (what the
 * store keeps and Get returns), tag sets and List's token [spec
 * lifecycle-and-storage-lens B1]. No request and no store here: whether the
 * export bucket exists, the per-account limit and the path's id are the
 * handlers' (s3_lens.c). */
#include "common.h"
#include "s3/s3_lens_model.h"
#include "core/tags.h"
#include "s3/s3_tagging.h"
#include "util/enc.h"
#include "xml/xml_read.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <string.h>

static const char *const metric_names[S3_LENS_N_METRICS] = {
    [S3_LENS_ACTIVITY] = "ActivityMetrics",
    [S3_LENS_ADV_COST] = "AdvancedCostOptimizationMetrics",
    [S3_LENS_ADV_PROTECTION] = "AdvancedDataProtectionMetrics",
    [S3_LENS_DETAILED_STATUS] = "DetailedStatusCodesMetrics",
    [S3_LENS_ADV_PERFORMANCE] = "AdvancedPerformanceMetrics",
};

static enum s3_err
fail(struct s3_lens_err *e, enum s3_err err, const char *msg)
{
    e->err = err;
    e->msg = msg;
    return err;
}

static enum s3_err
malformed(struct s3_lens_err *e)
{
    return fail(e, S3E_MALFORMED_XML, NULL);
}

/* The element children of n by name: each at most once, none other. */
static bool
kids(const struct xml_node *n, const char *const *names, size_t nn, const struct xml_node **out)
{
    for (size_t i = 0; i < nn; i++)
        out[i] = NULL;
    for (const struct xml_node *c = n->child; c != NULL; c = c->next) {
        size_t i = 0;
        while (i < nn && !str_eq_c(c->name, names[i]))
            i++;
        if (i == nn || out[i] != NULL)
            return false;
        out[i] = c;
    }
    return true;
}

/* A leaf: an element with text only. */
static bool
leaf(const struct xml_node *n, struct str *v)
{
    if (n->n_children > 0)
        return false;
    *v = xml_trim(n->text);
    return true;
}

static bool
boolean(const struct xml_node *n, bool *v)
{
    struct str t;

    if (!leaf(n, &t))
        return false;
    if (str_eq_c(t, "true"))
        *v = true;
    else if (str_eq_c(t, "false"))
        *v = false;
    else
        return false;
    return true;
}

/* {IsEnabled?}: the container present, IsEnabled false unless sent true. */
static bool
flag(const struct xml_node *n, enum s3_lens_flag *out)
{
    static const char *const names[] = {"IsEnabled"};
    const struct xml_node *k[1];
    bool on = false;

    if (n == NULL) {
        *out = S3_LENS_ABSENT;
        return true;
    }
    if (!kids(n, names, 1, k) || (k[0] != NULL && !boolean(k[0], &on)))
        return false;
    *out = on ? S3_LENS_ON : S3_LENS_OFF;
    return true;
}

bool
s3_lens_id_valid(struct str id)
{
    if (id.n < 1 || id.n > S3_LENS_ID_MAX)
        return false;
    for (size_t i = 0; i < id.n; i++) {
        char c = id.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static bool
digits(struct str s, size_t n)
{
    if (s.n != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    return true;
}

/* The bucket of "arn:aws:s3:::BUCKET" (a DNS-style bucket name), or
 * STR_NULL. */
static struct str
bucket_of_arn(struct str arn)
{
    static const char pre[] = "arn:aws:s3:::";
    struct str b;

    if (!str_has_prefix(arn, pre))
        return STR_NULL;
    b = str_make(arn.p + sizeof(pre) - 1, arn.n - (sizeof(pre) - 1));
    if (b.n < 3 || b.n > 63)
        return STR_NULL;
    for (size_t i = 0; i < b.n; i++) {
        char c = b.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return STR_NULL;
    }
    return b;
}

/* Region names as the model has them: 5-30 of [a-z0-9-]. */
static bool
region_valid(struct str r)
{
    if (r.n < 5 || r.n > 30)
        return false;
    for (size_t i = 0; i < r.n; i++) {
        char c = r.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

/* <Buckets><Arn/>...</Buckets> or <Regions><Region/>...</Regions>. */
static bool
list(struct arena *a, const struct xml_node *n, const char *item, struct str **out, size_t *cnt)
{
    size_t i = 0;

    *out = arena_alloc(a, (n->n_children ? n->n_children : 1) * sizeof(**out));
    for (const struct xml_node *c = n->child; c != NULL; c = c->next) {
        if (!str_eq_c(c->name, item) || !leaf(c, &(*out)[i]))
            return false;
        i++;
    }
    *cnt = i;
    return true;
}

static enum s3_err
filter(struct arena *a, const struct xml_node *n, bool include, struct s3_lens_filter *f,
       struct s3_lens_err *e)
{
    static const char *const names[] = {"Buckets", "Regions"};
    const struct xml_node *k[2];

    f->present = true;
    if (!kids(n, names, 2, k))
        return malformed(e);
    if (k[0] != NULL) {
        f->has_buckets = true;
        if (!list(a, k[0], "Arn", &f->buckets, &f->n_buckets))
            return malformed(e);
    }
    if (k[1] != NULL) {
        f->has_regions = true;
        if (!list(a, k[1], "Region", &f->regions, &f->n_regions))
            return malformed(e);
    }
    if (f->n_buckets == 0 && f->n_regions == 0)
        return fail(e, include ? S3E_LENS_EMPTY_INCLUDE : S3E_LENS_EMPTY_EXCLUDE, NULL);
    if (f->n_buckets > S3_LENS_MAX_FILTER)
        return fail(e, S3E_TOO_MANY_BUCKETS,
                    "The buckets container cannot have more than 50 buckets.");
    if (f->n_regions > S3_LENS_MAX_FILTER)
        return fail(e, S3E_LENS_TOO_MANY_REGIONS, NULL);
    for (size_t i = 0; i < f->n_buckets; i++)
        if (bucket_of_arn(f->buckets[i]).p == NULL)
            return fail(e, S3E_LENS_INVALID_BUCKET_FILTER, NULL);
    for (size_t i = 0; i < f->n_regions; i++)
        if (!region_valid(f->regions[i]))
            return fail(e, S3E_LENS_INVALID_REGION, NULL);
    return S3E_OK;
}

/* xsd:double as botocore sends it ("50", "50.5", "1.0"), 1..100. 1 when
 * in range, 0 out of it, -1 not a number. */
static int
percentage(struct str s)
{
    size_t i = 0, ip = 0, nd = 0;
    bool frac_zero = true;

    while (i < s.n && s.p[i] >= '0' && s.p[i] <= '9') {
        if (ip < 1000)
            ip = ip * 10 + (size_t)(s.p[i] - '0');
        i++;
        nd++;
    }
    if (i < s.n && s.p[i] == '.') {
        i++;
        while (i < s.n && s.p[i] >= '0' && s.p[i] <= '9') {
            frac_zero &= s.p[i] == '0';
            i++;
            nd++;
        }
    }
    if (nd == 0 || i != s.n || s.n > 32)
        return -1;
    if (ip < 1 || ip > 100 || (ip == 100 && !frac_zero))
        return 0;
    return 1;
}

static enum s3_err
prefix_level(const struct xml_node *n, struct s3_lens_cfg *c, struct s3_lens_err *e)
{
    static const char *const pl[] = {"StorageMetrics"};
    static const char *const sm[] = {"IsEnabled", "SelectionCriteria"};
    static const char *const sc[] = {"Delimiter", "MaxDepth", "MinStorageBytesPercentage"};
    const struct xml_node *storage, *m[2], *k[3];
    struct str v;

    c->has_prefix_level = true;
    if (!kids(n, pl, 1, &storage))
        return malformed(e);
    if (storage == NULL)
        return fail(e, S3E_LENS_MISSING_PREFIX_STORAGE, NULL);
    if (!kids(storage, sm, 2, m) || (m[0] != NULL && !boolean(m[0], &c->prefix_storage_enabled)))
        return malformed(e);
    if (m[1] == NULL)
        return S3E_OK;
    c->has_selection = true;
    if (!kids(m[1], sc, 3, k))
        return malformed(e);
    if (k[0] != NULL) {
        if (!leaf(k[0], &c->delimiter))
            return malformed(e);
        if (tags_chars(c->delimiter) < 0 || tags_chars(c->delimiter) > 1)
            return fail(e, S3E_INVALID_ARGUMENT, "The Delimiter must be at most one character.");
    }
    if (k[1] != NULL) {
        unsigned long long d;
        if (!leaf(k[1], &v) || str_to_u64(v, &d) < 0)
            return malformed(e);
        if (d < 1 || d > 10)
            return fail(e, S3E_LENS_INVALID_MAX_DEPTH, NULL);
        c->max_depth = (int)d;
    }
    if (k[2] != NULL) {
        int r;
        if (!leaf(k[2], &c->min_pct))
            return malformed(e);
        r = percentage(c->min_pct);
        if (r < 0)
            return malformed(e);
        if (r == 0)
            return fail(e, S3E_LENS_INVALID_MIN_PCT, NULL);
    }
    return S3E_OK;
}

/* AccountLevel (bucket == false) or BucketLevel. */
static enum s3_err
level(const struct xml_node *n, bool bucket, struct s3_lens_cfg *c, const struct xml_node **bl,
      struct s3_lens_err *e)
{
    /* The five metric groups first, then the level's own containers. */
    static const char *const an[] = {
        "ActivityMetrics",  "AdvancedCostOptimizationMetrics", "AdvancedDataProtectionMetrics",
        "DetailedStatusCodesMetrics", "AdvancedPerformanceMetrics", "BucketLevel",
        "StorageLensGroupLevel"};
    static const char *const bn[] = {
        "ActivityMetrics",  "AdvancedCostOptimizationMetrics", "AdvancedDataProtectionMetrics",
        "DetailedStatusCodesMetrics", "AdvancedPerformanceMetrics", "PrefixLevel"};
    const struct xml_node *k[7];
    enum s3_lens_flag *f = bucket ? c->bucket : c->account;

    if (!kids(n, bucket ? bn : an, bucket ? 6 : 7, k))
        return malformed(e);
    for (int i = 0; i < S3_LENS_N_METRICS; i++)
        if (!flag(k[i], &f[i]))
            return malformed(e);
    if (bucket)
        return k[5] != NULL ? prefix_level(k[5], c, e) : S3E_OK;
    *bl = k[5];
    if (k[5] == NULL)
        return malformed(e); /* BucketLevel is required */
    if (k[6] != NULL)
        return fail(e, S3E_INVALID_REQUEST,
                    "Coffer has no Storage Lens groups: StorageLensGroupLevel is not supported.");
    return S3E_OK;
}

static enum s3_err
destination(const struct xml_node *n, struct s3_lens_dest *d, struct s3_lens_err *e)
{
    static const char *const dn[] = {"Format",    "OutputSchemaVersion", "AccountId",
                                     "Arn",       "Prefix",              "Encryption"};
    static const char *const en[] = {"SSE-S3", "SSE-KMS"};
    const struct xml_node *k[6], *enc[2];
    struct str fmt, ver;

    d->present = true;
    if (!kids(n, dn, 6, k) || k[0] == NULL || k[1] == NULL || k[2] == NULL || k[3] == NULL)
        return malformed(e);
    if (!leaf(k[0], &fmt) || !leaf(k[1], &ver) || !leaf(k[2], &d->account_id) ||
        !leaf(k[3], &d->arn) || (k[4] != NULL && !leaf(k[4], &d->prefix)))
        return malformed(e);
    if (!str_eq_c(fmt, "CSV") && !str_eq_c(fmt, "Parquet"))
        return malformed(e);
    if (!str_eq_c(ver, "V_1"))
        return malformed(e);
    d->bucket = bucket_of_arn(d->arn);
    if (d->bucket.p == NULL)
        return fail(e, S3E_LENS_INVALID_DESTINATION, NULL);
    if (!digits(d->account_id, 12))
        return fail(e, S3E_LENS_INVALID_DESTINATION,
                    "The destination AccountId must be a 12-digit account id.");
    if (d->prefix.p != NULL && (d->prefix.n > S3_LENS_PREFIX_MAX || !str_valid_utf8(d->prefix)))
        return fail(e, S3E_LENS_INVALID_DESTINATION,
                    "The destination Prefix must be valid UTF-8 of at most 1024 bytes.");
    if (str_eq_c(fmt, "Parquet"))
        return fail(e, S3E_INVALID_REQUEST,
                    "Coffer writes Storage Lens exports as CSV only: Format Parquet is not "
                    "supported.");
    if (k[5] != NULL) {
        if (!kids(k[5], en, 2, enc))
            return malformed(e);
        if (enc[0] == NULL && enc[1] == NULL)
            return fail(e, S3E_LENS_MISSING_ENCRYPTION, NULL);
        if (enc[0] != NULL && enc[1] != NULL)
            return fail(e, S3E_LENS_INVALID_ENCRYPTION, NULL);
        /* Coffer stores object data unencrypted: an export "encrypted" with
         * SSE-S3 or SSE-KMS would be a claim it cannot keep. */
        return fail(e, S3E_LENS_INVALID_ENCRYPTION,
                    "Coffer does not encrypt data at rest: omit Encryption (SSE-S3 and SSE-KMS "
                    "exports are not available).");
    }
    return S3E_OK;
}

static enum s3_err
data_export(const struct xml_node *n, struct s3_lens_cfg *c, struct s3_lens_err *e)
{
    static const char *const xn[] = {"S3BucketDestination", "CloudWatchMetrics",
                                     "StorageLensTableDestination"};
    static const char *const cw[] = {"IsEnabled"};
    const struct xml_node *k[3], *w[1];
    bool on = false;
    enum s3_err err;

    c->has_export = true;
    if (!kids(n, xn, 3, k))
        return malformed(e);
    if (k[2] != NULL)
        return fail(e, S3E_INVALID_REQUEST,
                    "Coffer has no S3 Tables: StorageLensTableDestination is not supported.");
    if (k[1] != NULL) {
        if (!kids(k[1], cw, 1, w) || w[0] == NULL || !boolean(w[0], &on))
            return malformed(e);
        if (on)
            return fail(e, S3E_INVALID_REQUEST,
                        "Coffer has no CloudWatch: CloudWatchMetrics cannot be enabled.");
        c->cloudwatch = S3_LENS_OFF;
    }
    if (k[0] != NULL) {
        err = destination(k[0], &c->dest, e);
        if (err != S3E_OK)
            return err;
    }
    return S3E_OK;
}

enum s3_err
s3_lens_parse_node(struct arena *a, const struct xml_node *n, struct s3_lens_cfg *out,
                   struct s3_lens_err *e)
{
    enum {
        K_ID, K_ACCOUNT, K_INCLUDE, K_EXCLUDE, K_EXPORT, K_ENABLED, K_ORG, K_ARN, K_DELIM,
        K_EXPANDED, K_N
    };
    static const char *const names[K_N] = {
        "Id",         "AccountLevel", "Include",        "Exclude",         "DataExport",
        "IsEnabled",  "AwsOrg",       "StorageLensArn", "PrefixDelimiter", "ExpandedPrefixesDataExport"};
    const struct xml_node *k[K_N], *bl = NULL;
    struct s3_lens_cfg *c = out;
    bool is_default;
    enum s3_err err;

    memset(c, 0, sizeof(*c));
    e->err = S3E_OK;
    e->msg = NULL;
    if (!str_eq_c(n->name, "StorageLensConfiguration") || !kids(n, names, K_N, k))
        return malformed(e);
    if (k[K_ID] == NULL || k[K_ACCOUNT] == NULL || k[K_ENABLED] == NULL)
        return malformed(e);
    if (!leaf(k[K_ID], &c->id) || !boolean(k[K_ENABLED], &c->is_enabled))
        return malformed(e);
    /* AWS: StorageLensArn is output only. */
    if (k[K_ARN] != NULL)
        return fail(e, S3E_LENS_INVALID_ARN, NULL);
    if (!s3_lens_id_valid(c->id))
        return fail(e, S3E_LENS_INVALID_CONFIG_ID, NULL);
    is_default = str_eq_c(c->id, S3_LENS_DEFAULT_ID);
    /* [decision] Coffer has no AWS Organizations. */
    if (k[K_ORG] != NULL)
        return is_default ? fail(e, S3E_LENS_ORG_DEFAULT, NULL)
                          : fail(e, S3E_ORGANIZATION_ACCESS_DENIED,
                                 "Coffer has no AWS Organizations: AwsOrg is not supported.");
    if (k[K_INCLUDE] != NULL && k[K_EXCLUDE] != NULL)
        return fail(e, S3E_LENS_INCLUDE_EXCLUDE, NULL);
    if (is_default && (k[K_INCLUDE] != NULL || k[K_EXCLUDE] != NULL))
        return fail(e, S3E_LENS_FILTER_DEFAULT, NULL);
    if (k[K_INCLUDE] != NULL) {
        err = filter(a, k[K_INCLUDE], true, &c->include, e);
        if (err != S3E_OK)
            return err;
    }
    if (k[K_EXCLUDE] != NULL) {
        err = filter(a, k[K_EXCLUDE], false, &c->exclude, e);
        if (err != S3E_OK)
            return err;
    }
    err = level(k[K_ACCOUNT], false, c, &bl, e);
    if (err == S3E_OK)
        err = level(bl, true, c, NULL, e);
    if (err != S3E_OK)
        return err;
    /* AWS: activity metrics are on at both levels or at neither. */
    if (c->account[S3_LENS_ACTIVITY] == S3_LENS_ON && c->bucket[S3_LENS_ACTIVITY] != S3_LENS_ON)
        return fail(e, S3E_LENS_MISSING_BUCKET_ACTIVITY, NULL);
    if (c->bucket[S3_LENS_ACTIVITY] == S3_LENS_ON && c->account[S3_LENS_ACTIVITY] != S3_LENS_ON)
        return fail(e, S3E_LENS_MISSING_ACCOUNT_ACTIVITY, NULL);
    /* Coffer exports the free tier's metrics only [B4]: an advanced group,
     * or prefix-level storage metrics, enabled would be a promise of figures
     * no export carries. Refused, after AWS's own checks above. */
    for (int m = 0; m < S3_LENS_N_METRICS; m++)
        if (c->account[m] == S3_LENS_ON || c->bucket[m] == S3_LENS_ON)
            return fail(e, S3E_INVALID_REQUEST,
                        arena_printf(a, "Coffer exports only the free metrics: %s cannot be "
                                        "enabled.", metric_names[m]));
    if (c->prefix_storage_enabled)
        return fail(e, S3E_INVALID_REQUEST,
                    "Coffer exports only the free metrics: prefix-level StorageMetrics "
                    "cannot be enabled.");
    if (k[K_EXPANDED] != NULL)
        return fail(e, S3E_INVALID_REQUEST,
                    "Coffer does not export prefixes beyond the dashboard's: "
                    "ExpandedPrefixesDataExport is not supported.");
    if (k[K_DELIM] != NULL) {
        if (!leaf(k[K_DELIM], &c->prefix_delimiter))
            return malformed(e);
        if (tags_chars(c->prefix_delimiter) < 0 || tags_chars(c->prefix_delimiter) > 1)
            return fail(e, S3E_INVALID_ARGUMENT,
                        "The PrefixDelimiter must be at most one character.");
    }
    if (k[K_EXPORT] != NULL)
        return data_export(k[K_EXPORT], c, e);
    return S3E_OK;
}

static enum s3_err
tags(struct arena *a, const struct xml_node *n, struct md_tag **t, size_t *cnt,
     struct s3_lens_err *e)
{
    static const char *const tn[] = {"Key", "Value"};
    const struct xml_node *k[2];
    const char *msg = NULL;
    enum s3_err err;
    size_t i = 0;

    /* Counted before anything is allocated for them (the body is capped). */
    *t = arena_alloc(a, (n->n_children ? n->n_children : 1) * sizeof(**t));
    for (const struct xml_node *c = n->child; c != NULL; c = c->next) {
        if (!str_eq_c(c->name, "Tag") || !kids(c, tn, 2, k) || k[0] == NULL || k[1] == NULL)
            return malformed(e);
        /* Tag text is taken as sent: spaces are characters a tag may hold. */
        if (k[0]->n_children > 0 || k[1]->n_children > 0)
            return malformed(e);
        (*t)[i].key = k[0]->text;
        (*t)[i].value = k[1]->text;
        i++;
    }
    *cnt = i;
    err = s3_tagging_check(*t, i, S3_LENS_MAX_TAGS, &msg);
    if (err == S3E_BAD_REQUEST)
        msg = "A Storage Lens configuration cannot have more than 50 tags.";
    return err == S3E_OK ? S3E_OK : fail(e, err, msg);
}

static enum s3_err
parse_doc(struct arena *a, struct str body, const char *root, struct xml_node **out,
          struct s3_lens_err *e)
{
    e->err = S3E_OK;
    e->msg = NULL;
    if (xml_parse(a, body, out) < 0 || !str_eq_c((*out)->name, root))
        return malformed(e);
    return S3E_OK;
}

enum s3_err
s3_lens_parse_put(struct arena *a, struct str body, struct s3_lens_cfg *cfg, bool *has_tags,
                  struct md_tag **t, size_t *n, struct s3_lens_err *e)
{
    static const char *const names[] = {"StorageLensConfiguration", "Tags"};
    const struct xml_node *k[2];
    struct xml_node *root;
    enum s3_err err;

    *has_tags = false;
    *t = NULL;
    *n = 0;
    err = parse_doc(a, body, "PutStorageLensConfigurationRequest", &root, e);
    if (err != S3E_OK)
        return err;
    if (!kids(root, names, 2, k) || k[0] == NULL)
        return malformed(e);
    err = s3_lens_parse_node(a, k[0], cfg, e);
    if (err != S3E_OK || k[1] == NULL)
        return err;
    *has_tags = true;
    return tags(a, k[1], t, n, e);
}

enum s3_err
s3_lens_parse_tagging(struct arena *a, struct str body, struct md_tag **t, size_t *n,
                      struct s3_lens_err *e)
{
    static const char *const names[] = {"Tags"};
    const struct xml_node *k[1];
    struct xml_node *root;
    enum s3_err err;

    *t = NULL;
    *n = 0;
    err = parse_doc(a, body, "PutStorageLensConfigurationTaggingRequest", &root, e);
    if (err != S3E_OK)
        return err;
    if (!kids(root, names, 1, k) || k[0] == NULL)
        return malformed(e);
    return tags(a, k[0], t, n, e);
}

/* ---- rendering -------------------------------------------------------------- */

static int
put_flag(struct buf *b, const char *name, enum s3_lens_flag f)
{
    int rc = 0;

    if (f == S3_LENS_ABSENT)
        return 0;
    rc |= xml_open(b, name);
    rc |= xml_elem_bool(b, "IsEnabled", f == S3_LENS_ON);
    rc |= xml_close(b, name);
    return rc;
}

/* The metric groups of one level; BucketLevel's PrefixLevel and
 * AccountLevel's BucketLevel go after ActivityMetrics, as in the model. */
static int
put_level(struct buf *b, const struct s3_lens_cfg *c, bool bucket)
{
    const enum s3_lens_flag *f = bucket ? c->bucket : c->account;
    int rc = 0;

    rc |= xml_open(b, bucket ? "BucketLevel" : "AccountLevel");
    rc |= put_flag(b, metric_names[S3_LENS_ACTIVITY], f[S3_LENS_ACTIVITY]);
    if (!bucket) {
        rc |= put_level(b, c, true);
    } else if (c->has_prefix_level) {
        rc |= xml_open(b, "PrefixLevel");
        rc |= xml_open(b, "StorageMetrics");
        rc |= xml_elem_bool(b, "IsEnabled", c->prefix_storage_enabled);
        if (c->has_selection) {
            rc |= xml_open(b, "SelectionCriteria");
            if (c->delimiter.p != NULL)
                rc |= xml_elem(b, "Delimiter", c->delimiter);
            if (c->max_depth > 0)
                rc |= xml_elem_i64(b, "MaxDepth", c->max_depth);
            if (c->min_pct.p != NULL)
                rc |= xml_elem(b, "MinStorageBytesPercentage", c->min_pct);
            rc |= xml_close(b, "SelectionCriteria");
        }
        rc |= xml_close(b, "StorageMetrics");
        rc |= xml_close(b, "PrefixLevel");
    }
    for (int i = S3_LENS_ACTIVITY + 1; i < S3_LENS_N_METRICS; i++)
        rc |= put_flag(b, metric_names[i], f[i]);
    rc |= xml_close(b, bucket ? "BucketLevel" : "AccountLevel");
    return rc;
}

static int
put_filter(struct buf *b, const char *name, const struct s3_lens_filter *f)
{
    int rc = 0;

    if (!f->present)
        return 0;
    rc |= xml_open(b, name);
    if (f->has_buckets) {
        rc |= xml_open(b, "Buckets");
        for (size_t i = 0; i < f->n_buckets; i++)
            rc |= xml_elem(b, "Arn", f->buckets[i]);
        rc |= xml_close(b, "Buckets");
    }
    if (f->has_regions) {
        rc |= xml_open(b, "Regions");
        for (size_t i = 0; i < f->n_regions; i++)
            rc |= xml_elem(b, "Region", f->regions[i]);
        rc |= xml_close(b, "Regions");
    }
    rc |= xml_close(b, name);
    return rc;
}

static int
put_export(struct buf *b, const struct s3_lens_cfg *c)
{
    const struct s3_lens_dest *d = &c->dest;
    int rc = 0;

    if (!c->has_export)
        return 0;
    rc |= xml_open(b, "DataExport");
    if (d->present) {
        rc |= xml_open(b, "S3BucketDestination");
        rc |= xml_elem_c(b, "Format", "CSV");
        rc |= xml_elem_c(b, "OutputSchemaVersion", "V_1");
        rc |= xml_elem(b, "AccountId", d->account_id);
        rc |= xml_elem(b, "Arn", d->arn);
        if (d->prefix.p != NULL)
            rc |= xml_elem(b, "Prefix", d->prefix);
        rc |= xml_close(b, "S3BucketDestination");
    }
    rc |= put_flag(b, "CloudWatchMetrics", c->cloudwatch);
    rc |= xml_close(b, "DataExport");
    return rc;
}

int
s3_lens_render(const struct s3_lens_cfg *c, const char *xmlns, struct str arn, struct buf *b)
{
    int rc = 0;

    rc |= xmlns != NULL ? xml_open_ns(b, "StorageLensConfiguration", xmlns)
                        : xml_open(b, "StorageLensConfiguration");
    rc |= xml_elem(b, "Id", c->id);
    rc |= put_level(b, c, false);
    rc |= put_filter(b, "Include", &c->include);
    rc |= put_filter(b, "Exclude", &c->exclude);
    rc |= put_export(b, c);
    rc |= xml_elem_bool(b, "IsEnabled", c->is_enabled);
    if (arn.p != NULL)
        rc |= xml_elem(b, "StorageLensArn", arn);
    if (c->prefix_delimiter.p != NULL)
        rc |= xml_elem(b, "PrefixDelimiter", c->prefix_delimiter);
    rc |= xml_close(b, "StorageLensConfiguration");
    return rc != 0 ? -E2BIG : 0;
}

void
s3_lens_default(struct s3_lens_cfg *out)
{
    memset(out, 0, sizeof(*out));
    out->id = STR_LIT(S3_LENS_DEFAULT_ID);
    out->is_enabled = true;
}

/* ---- List's token --------------------------------------------------------- */

struct str
s3_lens_token_encode(struct arena *a, struct str id)
{
    char *p = arena_alloc(a, id.n * 2 + 1);

    hex_encode(id.p, id.n, p);
    return str_make(p, id.n * 2);
}

int
s3_lens_token_decode(struct arena *a, struct str token, struct str *id)
{
    char *p;
    int n;

    if (token.n == 0 || token.n > S3_LENS_ID_MAX * 2 || token.n % 2 != 0)
        return -EINVAL;
    p = arena_alloc(a, token.n / 2 + 1);
    n = hex_decode(token, p, token.n / 2);
    if (n < 0 || !s3_lens_id_valid(str_make(p, (size_t)n)))
        return -EINVAL;
    p[n] = '\0';
    *id = str_make(p, (size_t)n);
    return 0;
}
