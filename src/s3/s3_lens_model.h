/* s3_lens_model.h -- an S3 Storage Lens configuration on the wire and at
 * rest [spec lifecycle-and-storage-lens B1]: the parser and validator of
 * <StorageLensConfiguration> (AWS's checks and error codes, and Coffer's
 * refusals of what it cannot honour), the canonical document it is stored
 * as, the tag sets of the tagging operations and List's opaque token. Pure
 * functions of an arena: no request, no store (the handlers, and the
 * checks that need the store, are s3_lens.c's). Private to s3/. */
#ifndef COFFER_S3_S3_LENS_MODEL_H
#define COFFER_S3_S3_LENS_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "s3/s3_err.h"
#include "store/md.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/str.h"

struct xml_node;

#define S3_LENS_XMLNS "http://awss3control.amazonaws.com/doc/2018-08-20/"
#define S3_LENS_DEFAULT_ID "default-account-dashboard"
#define S3_LENS_MAX_CONFIGS 50 /* AWS: dashboards per home Region, the default included */
#define S3_LENS_PAGE 100       /* [decision] List entries per page (no MaxResults) */
#define S3_LENS_MAX_FILTER 50  /* AWS: buckets or Regions in Include / Exclude */
#define S3_LENS_MAX_TAGS 50
#define S3_LENS_ID_MAX 64
#define S3_LENS_PREFIX_MAX 1024 /* export Prefix bytes (an object key's budget) */

/* A metrics selection: absent, or present with IsEnabled false / true. */
enum s3_lens_flag { S3_LENS_ABSENT = 0, S3_LENS_OFF, S3_LENS_ON };

/* The metric groups of AccountLevel and BucketLevel, in the model's order. */
enum s3_lens_metric {
    S3_LENS_ACTIVITY,
    S3_LENS_ADV_COST,
    S3_LENS_ADV_PROTECTION,
    S3_LENS_DETAILED_STATUS,
    S3_LENS_ADV_PERFORMANCE,
    S3_LENS_N_METRICS,
};

/* Include or Exclude: bucket ARNs and Region names, as sent (trimmed). */
struct s3_lens_filter {
    bool present;
    bool has_buckets, has_regions; /* the container was sent (maybe empty) */
    struct str *buckets, *regions; /* arena arrays */
    size_t n_buckets, n_regions;
};

/* The export destination (DataExport.S3BucketDestination). Coffer accepts
 * Format CSV, OutputSchemaVersion V_1 and no Encryption element: it writes
 * no Parquet and does not encrypt data at rest, so it claims neither. */
struct s3_lens_dest {
    bool present;
    struct str account_id; /* 12 digits */
    struct str arn;        /* arn:aws:s3:::BUCKET */
    struct str bucket;     /* BUCKET, a view into arn */
    struct str prefix;     /* STR_NULL when absent */
};

/* One configuration. Strings are views into the parsed body (arena). */
struct s3_lens_cfg {
    struct str id;
    bool is_enabled;
    enum s3_lens_flag account[S3_LENS_N_METRICS];
    enum s3_lens_flag bucket[S3_LENS_N_METRICS];
    /* BucketLevel.PrefixLevel.StorageMetrics */
    bool has_prefix_level;
    bool prefix_storage_enabled;
    bool has_selection;  /* SelectionCriteria sent */
    struct str delimiter; /* STR_NULL when absent */
    int max_depth;        /* 0 when absent */
    struct str min_pct;   /* as sent, checked to be 1..100; STR_NULL when absent */
    struct s3_lens_filter include, exclude;
    bool has_export;
    struct s3_lens_dest dest;
    enum s3_lens_flag cloudwatch; /* DataExport.CloudWatchMetrics */
    struct str prefix_delimiter;  /* STR_NULL when absent */
};

/* A refusal: the error and, when AWS's table text is not what to say, a
 * message (NULL: the code's own text). */
struct s3_lens_err {
    enum s3_err err;
    const char *msg;
};

/* Reads and checks a <StorageLensConfiguration> element's document (a
 * stored canonical one, or one the caller cut out of a request):
 * S3E_OK with *out, else *e. Checks everything that needs no store: the
 * Id, the containers and their exclusions, filters and the default
 * configuration, activity metrics at both levels, prefix criteria, the
 * destination's form. Refuses StorageLensArn (InvalidStorageLensArn),
 * AwsOrg (403 OrganizationAccessDenied; InvalidOrganizationFor
 * DefaultConfiguration on the default), and what Coffer cannot honour:
 * Parquet, any Encryption, CloudWatch metrics, Storage Lens groups, table
 * destinations, expanded-prefix exports, advanced performance metrics
 * (InvalidRequest or InvalidEncryptionMethod with a message). */
enum s3_err s3_lens_parse_node(struct arena *a, const struct xml_node *n, struct s3_lens_cfg *out,
                               struct s3_lens_err *e);

/* A PutStorageLensConfiguration body: <PutStorageLensConfigurationRequest>
 * with <StorageLensConfiguration> and optional <Tags>. S3E_OK with *cfg
 * and, when Tags was sent (*has_tags), its tags (*t, *n: checked, at most
 * S3_LENS_MAX_TAGS); else *e (MalformedXML, the checks above, the tag
 * checks' InvalidTag / BadRequest). */
enum s3_err s3_lens_parse_put(struct arena *a, struct str body, struct s3_lens_cfg *cfg,
                              bool *has_tags, struct md_tag **t, size_t *n,
                              struct s3_lens_err *e);

/* The canonical document of cfg, the form it is stored in: the root
 * <StorageLensConfiguration> (with xmlns and, when arn.p != NULL, the
 * StorageLensArn Get adds), each element once, in the model's order, absent
 * optional containers left out. s3_lens_parse_node() of it gives cfg back.
 * 0, or -E2BIG past b's maximum. */
int s3_lens_render(const struct s3_lens_cfg *cfg, const char *xmlns, struct str arn,
                   struct buf *b);

/* The default dashboard as every account has it before it is changed:
 * enabled, free metrics (AccountLevel with an empty BucketLevel). */
void s3_lens_default(struct s3_lens_cfg *out);

/* A PutStorageLensConfigurationTagging body (<Tags> of <Tag> with Key and
 * Value): S3E_OK with the checked tags, else *e. */
enum s3_err s3_lens_parse_tagging(struct arena *a, struct str body, struct md_tag **t, size_t *n,
                                  struct s3_lens_err *e);

/* Whether id is a configuration id: 1-64 of [a-zA-Z0-9-_.]. */
bool s3_lens_id_valid(struct str id);

/* List's NextToken for the page ending at id, and back: the token is
 * opaque to clients (hex of the id). decode: 0 with *id (arena), or
 * -EINVAL for a token this function did not make. */
struct str s3_lens_token_encode(struct arena *a, struct str id);
int s3_lens_token_decode(struct arena *a, struct str token, struct str *id);

#endif
