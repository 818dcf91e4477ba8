/* s3_lifecycle_model.c -- a stored lifecycle configuration (the canonical
 * XML of s3_lifecycle.c) turned into core/lifecycle.h's model, for the
 * response headers and the executor. The document was validated at PUT,
 * but what is read back from disk is still treated as untrusted: any
 * element or value the model cannot hold refuses the whole document rather
 * than being skipped, since a predicate dropped from a filter would widen
 * the rule to objects it was never meant to expire. Also the response
 * headers that tell a client when lifecycle will act [spec lifecycle A4]. */
#include "common.h"
#include "s3/s3_lifecycle.h"

#include "s3/s3_int.h"
#include "util/buf.h"
#include "util/enc.h"
#include "util/log.h"
#include "util/tm.h"
#include "xml/xml_read.h"

#include <stdint.h>
#include <string.h>

/* Only names from the list, and no character data beside them. */
static bool
only(const struct xml_node *n, const char *const *names, size_t n_names)
{
    if (xml_trim(n->text).n != 0)
        return false;
    for (const struct xml_node *c = n->child; c != NULL; c = c->next) {
        size_t i = 0;
        while (i < n_names && !str_eq_c(c->name, names[i]))
            i++;
        if (i == n_names)
            return false;
    }
    return true;
}

/* The text of a leaf element, as stored (prefixes and tag values keep
 * their spaces). */
static bool
text_of(const struct xml_node *n, struct str *out)
{
    if (n == NULL || n->n_children != 0)
        return false;
    *out = n->text;
    return true;
}

/* A count or size: 0..max. */
static bool
count_of(const struct xml_node *n, int64_t max, int64_t *out)
{
    struct str t;
    unsigned long long v;

    if (!text_of(n, &t) || str_to_u64(xml_trim(t), &v) < 0 || v > (unsigned long long)max)
        return false;
    *out = (int64_t)v;
    return true;
}

/* An ISO 8601 Date as validated at PUT, in ms since the epoch. */
static bool
date_of(const struct xml_node *n, int64_t *out)
{
    struct str t;

    return text_of(n, &t) && tm_parse_iso8601(xml_trim(t), out, NULL) == 0;
}

static bool
tag_of(const struct xml_node *n, struct md_tag *t)
{
    static const char *const names[] = {"Key", "Value"};

    return only(n, names, ARRAY_LEN(names)) && text_of(xml_child(n, "Key"), &t->key) &&
           text_of(xml_child(n, "Value"), &t->value);
}

/* A Filter's predicate, or one of And's. */
static bool
predicate(struct lc_rule *r, const struct xml_node *c, struct md_tag *tags)
{
    if (str_eq_c(c->name, "Prefix"))
        return text_of(c, &r->prefix);
    if (str_eq_c(c->name, "Tag"))
        return tag_of(c, &tags[r->n_tags++]);
    if (str_eq_c(c->name, "ObjectSizeGreaterThan"))
        return count_of(c, INT64_MAX, &r->size_gt);
    if (str_eq_c(c->name, "ObjectSizeLessThan"))
        return count_of(c, INT64_MAX, &r->size_lt);
    return false;
}

static bool
filter_of(struct arena *a, struct lc_rule *r, const struct xml_node *f)
{
    static const char *const names[] = {"Prefix", "Tag", "And", "ObjectSizeGreaterThan",
                                        "ObjectSizeLessThan"};
    static const char *const and_names[] = {"Prefix", "Tag", "ObjectSizeGreaterThan",
                                            "ObjectSizeLessThan"};
    const struct xml_node *and_ = xml_child(f, "And");
    const struct xml_node *list = and_ != NULL ? and_ : f;
    struct md_tag *tags;

    /* At most one predicate directly in Filter; And holds any number. */
    if (!only(f, names, ARRAY_LEN(names)) || f->n_children > 1)
        return false;
    if (and_ != NULL && !only(and_, and_names, ARRAY_LEN(and_names)))
        return false;
    tags = arena_alloc(a, (list->n_children + 1) * sizeof(*tags));
    r->tags = tags;
    for (const struct xml_node *c = list->child; c != NULL; c = c->next)
        if (!predicate(r, c, tags))
            return false;
    return true;
}

static bool
expiration_of(struct lc_rule *r, const struct xml_node *x)
{
    static const char *const names[] = {"Days", "Date", "ExpiredObjectDeleteMarker"};
    const struct xml_node *n;
    struct str t;

    if (!only(x, names, ARRAY_LEN(names)) || x->n_children == 0)
        return false;
    if ((n = xml_child(x, "Days")) != NULL && !count_of(n, INT32_MAX, &r->exp_days))
        return false;
    if ((n = xml_child(x, "Date")) != NULL && !date_of(n, &r->exp_date_ms))
        return false;
    if ((n = xml_child(x, "ExpiredObjectDeleteMarker")) != NULL) {
        if (!text_of(n, &t))
            return false;
        t = xml_trim(t);
        if (!str_eq_c(t, "true") && !str_eq_c(t, "false"))
            return false;
        r->exp_dm = str_eq_c(t, "true");
    }
    return true;
}

/* Every element named tag under the rule, as transitions. */
static bool
transitions_of(struct arena *a, const struct xml_node *rn, bool noncurrent,
               const struct lc_transition **out, size_t *n_out)
{
    static const char *const cur[] = {"Days", "Date", "StorageClass"};
    static const char *const non[] = {"NoncurrentDays", "StorageClass", "NewerNoncurrentVersions"};
    const char *tag = noncurrent ? "NoncurrentVersionTransition" : "Transition";
    struct lc_transition *t;
    size_t n = 0;

    for (const struct xml_node *x = xml_child(rn, tag); x != NULL; x = xml_next(x, tag))
        n++;
    if (n == 0)
        return true;
    t = arena_alloc(a, n * sizeof(*t));
    n = 0;
    for (const struct xml_node *x = xml_child(rn, tag); x != NULL; x = xml_next(x, tag)) {
        const struct xml_node *days = xml_child(x, noncurrent ? "NoncurrentDays" : "Days");
        const struct xml_node *date = xml_child(x, "Date");
        const struct xml_node *newer = xml_child(x, "NewerNoncurrentVersions");
        struct lc_transition *tr = &t[n++];

        *tr = (struct lc_transition){.days = -1, .date_ms = -1};
        if (!only(x, noncurrent ? non : cur, 3) || !text_of(xml_child(x, "StorageClass"),
                                                             &tr->storage_class))
            return false;
        tr->storage_class = xml_trim(tr->storage_class);
        if ((days == NULL) == (date == NULL))
            return false;
        if (days != NULL && !count_of(days, INT32_MAX, &tr->days))
            return false;
        if (date != NULL && !date_of(date, &tr->date_ms))
            return false;
        if (newer != NULL && !count_of(newer, INT32_MAX, &tr->newer))
            return false;
    }
    *out = t;
    *n_out = n;
    return true;
}

static bool
rule_of(struct arena *a, const struct xml_node *rn, struct lc_rule *r)
{
    static const char *const names[] = {
        "ID",         "Prefix",     "Filter", "Status", "Expiration", "Transition",
        "NoncurrentVersionTransition", "NoncurrentVersionExpiration",
        "AbortIncompleteMultipartUpload",
    };
    const struct xml_node *prefix = xml_child(rn, "Prefix"), *filter = xml_child(rn, "Filter");
    const struct xml_node *n;
    struct str t;

    *r = (struct lc_rule){.size_gt = -1, .size_lt = -1, .exp_days = -1, .exp_date_ms = -1,
                          .nc_days = -1, .abort_days = -1};
    if (!str_eq_c(rn->name, "Rule") || !only(rn, names, ARRAY_LEN(names)))
        return false;
    if ((n = xml_child(rn, "ID")) != NULL && !text_of(n, &r->id))
        return false;
    if (!text_of(xml_child(rn, "Status"), &t))
        return false;
    t = xml_trim(t);
    if (!str_eq_c(t, "Enabled") && !str_eq_c(t, "Disabled"))
        return false;
    r->is_enabled = str_eq_c(t, "Enabled");
    /* V1: the rule-level Prefix; V2: a Filter. Exactly one scopes the rule. */
    if ((prefix == NULL) == (filter == NULL))
        return false;
    if (prefix != NULL && !text_of(prefix, &r->prefix))
        return false;
    if (filter != NULL && !filter_of(a, r, filter))
        return false;
    if ((n = xml_child(rn, "Expiration")) != NULL && !expiration_of(r, n))
        return false;
    if ((n = xml_child(rn, "NoncurrentVersionExpiration")) != NULL) {
        static const char *const nve[] = {"NoncurrentDays", "NewerNoncurrentVersions"};
        const struct xml_node *newer = xml_child(n, "NewerNoncurrentVersions");
        if (!only(n, nve, ARRAY_LEN(nve)) ||
            !count_of(xml_child(n, "NoncurrentDays"), INT32_MAX, &r->nc_days) ||
            (newer != NULL && !count_of(newer, INT32_MAX, &r->nc_newer)))
            return false;
    }
    if ((n = xml_child(rn, "AbortIncompleteMultipartUpload")) != NULL) {
        static const char *const ab[] = {"DaysAfterInitiation"};
        if (!only(n, ab, 1) ||
            !count_of(xml_child(n, "DaysAfterInitiation"), INT32_MAX, &r->abort_days))
            return false;
    }
    return transitions_of(a, rn, false, &r->tr, &r->n_tr) &&
           transitions_of(a, rn, true, &r->nc_tr, &r->n_nc_tr);
}

enum s3_err
s3_lifecycle_parse(struct arena *a, struct str xml, struct lc_config *out)
{
    struct xml_node *root;
    struct lc_rule *rules;
    size_t n = 0;

    *out = (struct lc_config){0};
    if (xml_parse(a, xml, &root) < 0 || !str_eq_c(root->name, "LifecycleConfiguration") ||
        root->n_children > S3_LIFECYCLE_MAX_RULES || xml_trim(root->text).n != 0)
        return S3E_MALFORMED_XML;
    rules = arena_alloc(a, (root->n_children + 1) * sizeof(*rules));
    for (const struct xml_node *rn = root->child; rn != NULL; rn = rn->next)
        if (!rule_of(a, rn, &rules[n++]))
            return S3E_MALFORMED_XML;
    out->rules = rules;
    out->n_rules = n;
    return S3E_OK;
}

/* ---- response headers -------------------------------------------------- */

/* AWS: rule-id "is URL-encoded" by the model, yet plain IDs come back
 * plain. Coffer sends an ID as is when every byte is printable ASCII other
 * than '"' and '%' (so the quoted value stays unambiguous), else
 * percent-encodes it whole [spec lifecycle A4 decision]. */
static struct str
header_id(struct arena *a, struct str id)
{
    struct buf b;
    struct str out;
    size_t i = 0;

    while (i < id.n && id.p[i] >= 0x20 && id.p[i] <= 0x7E && id.p[i] != '"' && id.p[i] != '%')
        i++;
    if (i == id.n)
        return id;
    buf_init(&b, 3 * id.n + 1);
    if (uri_encode(&b, id, 0) < 0) {
        buf_free(&b);
        return STR_LIT("");
    }
    out = arena_str(a, buf_str(&b));
    buf_free(&b);
    return out;
}

const char *
s3_lifecycle_expiry_value(struct arena *a, struct str rule_id, int64_t due_ms)
{
    char date[32];
    struct str id = header_id(a, rule_id);

    tm_http_date(due_ms, date);
    return arena_printf(a, "expiry-date=\"%s\", rule-id=\"%.*s\"", date, STR_FMT(id));
}

/* The bucket's configuration, or false when it has none (the cheap, common
 * case: nothing is parsed) or it does not parse, which is logged: a stored
 * document the executor cannot read either. */
static bool
config_of(struct s3_req *q, const struct md_bucket *b, struct lc_config *cfg)
{
    if (b->lifecycle.p == NULL)
        return false;
    if (s3_lifecycle_parse(q->arena, b->lifecycle, cfg) != S3E_OK) {
        log_msg(LOG_WARN, "lifecycle: the configuration of bucket %.*s does not parse", STR_FMT(b->name));
        return false;
    }
    return true;
}

void
s3_lifecycle_expiration(struct s3_req *q, const struct md_bucket *b, const struct md_version *v)
{
    struct lc_config cfg;
    const struct lc_rule *r;
    int64_t due;

    if (v->is_delete_marker || !config_of(q, b, &cfg))
        return;
    struct lc_object o = {
        .key = q->key,
        .size = v->size,
        .tags = v->tags,
        .is_latest = true,
        .mtime_ms = v->mtime_ms,
        .storage_class = v->storage_class,
    };
    if (lc_expiration_header(&cfg, &o, &r, &due))
        http_resp_header_c(q->http, "x-amz-expiration",
                           s3_lifecycle_expiry_value(q->arena, r->id, due));
}

void
s3_lifecycle_abort(struct s3_req *q, const struct md_bucket *b, int64_t initiated_ms)
{
    struct lc_config cfg;
    const struct lc_rule *r;
    int64_t due;
    char date[32];

    if (!config_of(q, b, &cfg) || !lc_abort_date(&cfg, q->key, initiated_ms, LC_DAY_S, &r, &due))
        return;
    tm_http_date(due, date);
    http_resp_header_c(q->http, "x-amz-abort-date", date);
    http_resp_header(q->http, "x-amz-abort-rule-id", header_id(q->arena, r->id));
}
