/* s3_absent.c -- the sub-resources of S3 features Coffer does not offer
 * (server access logging, event notifications, Transfer Acceleration,
 * Requester Pays, static website hosting, default encryption, replication,
 * Object Lock, analytics, metrics, inventory and Intelligent-Tiering
 * configurations), answered with the state every Coffer bucket truly is in, as
 * S3 answers for a bucket where the feature is off: an empty
 * configuration, or the feature's "no configuration" error. Removing a
 * configuration that cannot exist succeeds, as on S3. Anything that would
 * turn a feature on still gets 501 NotImplemented (s3_route.c's
 * unsupported_subs): never accepted and ignored. */
#include "common.h"
#include "s3/s3_int.h"
#include "xml/xml_write.h"

/* An empty configuration document <root xmlns=.../>, or with one element. */
static enum s3_err
reply_doc(struct s3_req *q, const char *root, const char *elem, const char *text)
{
    struct md_bucket b;
    enum s3_err err = s3_req_bucket(q, &b);
    struct buf x;
    int rc = 0;

    if (err != S3E_OK)
        return err;
    buf_init(&x, 512);
    rc |= xml_decl(&x);
    rc |= xml_open_ns(&x, root, S3_XMLNS);
    if (elem != NULL)
        rc |= xml_elem_c(&x, elem, text);
    rc |= xml_close(&x, root);
    return s3_reply_built(q, rc, &x);
}

/* The feature's "not configured" error, naming the bucket as S3 does. */
static enum s3_err
not_configured(struct s3_req *q, enum s3_err e)
{
    struct md_bucket b;
    enum s3_err err = s3_req_bucket(q, &b);

    return err != S3E_OK ? err : s3_reply_stored(q, &b, STR_NULL, e);
}

/* DELETE of a configuration no bucket has: 204, as S3 answers when there
 * is none. */
static enum s3_err
nothing_to_delete(struct s3_req *q)
{
    struct md_bucket b;
    enum s3_err err = s3_req_bucket(q, &b);

    if (err != S3E_OK)
        return err;
    (void)s3_reply_empty(q, 204);
    return S3E_OK;
}

enum s3_err
s3_get_bucket_logging(struct s3_req *q)
{
    return reply_doc(q, "BucketLoggingStatus", NULL, NULL); /* logging disabled */
}

enum s3_err
s3_get_bucket_notification(struct s3_req *q)
{
    return reply_doc(q, "NotificationConfiguration", NULL, NULL);
}

enum s3_err
s3_get_bucket_accelerate(struct s3_req *q)
{
    return reply_doc(q, "AccelerateConfiguration", NULL, NULL); /* never enabled */
}

enum s3_err
s3_get_bucket_request_payment(struct s3_req *q)
{
    return reply_doc(q, "RequestPaymentConfiguration", "Payer", "BucketOwner");
}

enum s3_err
s3_get_bucket_website(struct s3_req *q)
{
    return not_configured(q, S3E_NO_SUCH_WEBSITE);
}

enum s3_err
s3_get_bucket_encryption(struct s3_req *q)
{
    /* Data is not encrypted at rest by Coffer yet: no default encryption
     * is configured, and none is claimed. */
    return not_configured(q, S3E_SSE_CONFIG_NOT_FOUND);
}

enum s3_err
s3_get_bucket_replication(struct s3_req *q)
{
    return not_configured(q, S3E_REPLICATION_NOT_FOUND);
}

enum s3_err
s3_get_object_lock_configuration(struct s3_req *q)
{
    return not_configured(q, S3E_OBJECT_LOCK_NOT_FOUND);
}

enum s3_err
s3_delete_bucket_absent(struct s3_req *q)
{
    return nothing_to_delete(q);
}

/* Get/PutObjectRetention and Get/PutObjectLegalHold: S3's answer on a
 * bucket without Object Lock, which every Coffer bucket is. */
enum s3_err
s3_object_lock_absent(struct s3_req *q)
{
    struct md_bucket b;
    enum s3_err err = s3_req_bucket(q, &b);

    if (err != S3E_OK)
        return err;
    q->err_msg = "Bucket is missing Object Lock Configuration";
    return S3E_INVALID_REQUEST;
}

/* Analytics, metrics, inventory and Intelligent-Tiering configurations:
 * GET without ?id lists none, GET or DELETE of an ?id names one that does
 * not exist. */
static enum s3_err
config_list(struct s3_req *q, const char *root)
{
    struct md_bucket b;
    enum s3_err err = s3_req_bucket(q, &b);
    struct buf x;
    int rc = 0;

    if (err != S3E_OK)
        return err;
    if (s3_has_param(q, "id"))
        return S3E_NO_SUCH_CONFIGURATION;
    buf_init(&x, 512);
    rc |= xml_decl(&x);
    rc |= xml_open_ns(&x, root, S3_XMLNS);
    rc |= xml_elem_bool(&x, "IsTruncated", false);
    rc |= xml_close(&x, root);
    return s3_reply_built(q, rc, &x);
}

enum s3_err
s3_get_bucket_analytics(struct s3_req *q)
{
    return config_list(q, "ListBucketAnalyticsConfigurationResult");
}

enum s3_err
s3_get_bucket_metrics(struct s3_req *q)
{
    return config_list(q, "ListMetricsConfigurationsResult");
}

enum s3_err
s3_get_bucket_inventory(struct s3_req *q)
{
    return config_list(q, "ListInventoryConfigurationsResult");
}

enum s3_err
s3_get_bucket_intelligent_tiering(struct s3_req *q)
{
    return config_list(q, "ListBucketIntelligentTieringConfigurationsOutput");
}

enum s3_err
s3_delete_bucket_config(struct s3_req *q)
{
    struct md_bucket b;
    enum s3_err err = s3_req_bucket(q, &b);

    return err != S3E_OK ? err : S3E_NO_SUCH_CONFIGURATION;
}
