/* s3_lifecycle.c -- Put/Get/DeleteBucketLifecycleConfiguration: validates a
 * configuration as S3 does and stores it in canonical form, each rule with
 * an ID (lc_canonical()); GET returns the stored document byte for byte.
 * s3_lifecycle_model.c reads it back as rules (core/lifecycle.h) for the
 * response headers and the executor; it also matters to the MFA-delete
 * interlock [spec-mfa-delete §5, Coffer decision 4]. */
#include "common.h"
#include "s3/s3_lifecycle.h"

#include "bounds.h"
#include "core/object.h"
#include "crypto/cksum.h"
#include "crypto/hash.h"
#include "s3/s3_int.h"
#include "util/enc.h"
#include "util/tm.h"
#include "xml/xml_read.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* AWS: the mirror image of the message S3 sends for the other direction
 * [spec-mfa-delete §2, Coffer decision 4]. */
static const char msg_mfa_enabled[] =
    "Lifecycle configuration is not supported on a bucket with MFA delete enabled. Disable "
    "MFA delete before adding a lifecycle configuration.";

/* AWS's default since 2024, echoed because Coffer does not store the
 * request's x-amz-transition-default-minimum-object-size (no transitions
 * are ever taken). */
#define MIN_SIZE_HDR "x-amz-transition-default-minimum-object-size"
#define MIN_SIZE_DEFAULT "all_storage_classes_128K"

/* ---- shape: the published schema (MalformedXML) ------------------------ */

struct elem {
    const char *name;
    bool many; /* may repeat */
};

/* n holds only elements listed in allowed (at most 32), each at most once
 * unless marked many, and no character data of its own. */
static bool
children_ok(const struct xml_node *n, const struct elem *allowed, size_t n_allowed)
{
    uint32_t seen = 0;

    ASSERT(n_allowed <= 32);
    if (!s3_is_blank(n->text))
        return false;
    for (const struct xml_node *c = n->child; c != NULL; c = c->next) {
        size_t i = 0;
        while (i < n_allowed && !str_eq_c(c->name, allowed[i].name))
            i++;
        if (i == n_allowed)
            return false;
        if (!allowed[i].many && (seen & (UINT32_C(1) << i)))
            return false;
        seen |= UINT32_C(1) << i;
    }
    return true;
}

/* The text of a simple element; false if it has element children. */
static bool
leaf(const struct xml_node *n, struct str *text)
{
    if (n == NULL || n->n_children != 0)
        return false;
    *text = xml_trim(n->text);
    return true;
}

/* xsd:int. */
static bool
int_value(const struct xml_node *n, long long *v)
{
    struct str t;

    if (!leaf(n, &t) || str_to_i64(t, v) < 0)
        return false;
    return *v >= INT32_MIN && *v <= INT32_MAX;
}

/* xsd:long, non-negative (object sizes). */
static bool
size_value(const struct xml_node *n, unsigned long long *v)
{
    struct str t;

    return leaf(n, &t) && str_to_u64(t, v) == 0 && *v <= INT64_MAX;
}

static bool
bool_value(const struct xml_node *n, bool *v)
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

/* *midnight: the date falls on 00:00:00 UTC exactly (a nonzero fraction
 * of a second does not). */
static bool
parse_date(struct str s, bool *midnight)
{
    int64_t ms;
    bool frac;

    if (tm_parse_iso8601(s, &ms, &frac) < 0)
        return false;
    *midnight = !frac && ms % (86400 * 1000LL) == 0;
    return true;
}

static bool
date_value(const struct xml_node *n, bool *midnight)
{
    struct str t;

    return leaf(n, &t) && parse_date(t, midnight);
}

/* AWS: the TransitionStorageClass enumeration of the API model. */
static bool
storage_class_ok(const struct xml_node *n)
{
    static const char *const classes[] = {"GLACIER",      "STANDARD_IA",
                                          "ONEZONE_IA",   "INTELLIGENT_TIERING",
                                          "DEEP_ARCHIVE", "GLACIER_IR"};
    struct str t;

    if (!leaf(n, &t))
        return false;
    for (size_t i = 0; i < ARRAY_LEN(classes); i++)
        if (str_eq_c(t, classes[i]))
            return true;
    return false;
}

static bool
tag_shape(const struct xml_node *t)
{
    static const struct elem tag[] = {{"Key", false}, {"Value", false}};
    struct str s;

    return children_ok(t, tag, ARRAY_LEN(tag)) && leaf(xml_child(t, "Key"), &s) &&
           leaf(xml_child(t, "Value"), &s);
}

/* Filter: empty (every object) or exactly one predicate; And combines a
 * prefix, tags and size bounds. */
static bool
filter_shape(const struct xml_node *f)
{
    static const struct elem filter[] = {{"Prefix", false},
                                         {"Tag", false},
                                         {"And", false},
                                         {"ObjectSizeGreaterThan", false},
                                         {"ObjectSizeLessThan", false}};
    static const struct elem and_[] = {{"Prefix", false},
                                       {"Tag", true},
                                       {"ObjectSizeGreaterThan", false},
                                       {"ObjectSizeLessThan", false}};
    const struct xml_node *c = f->child;
    unsigned long long size;
    struct str s;

    if (!children_ok(f, filter, ARRAY_LEN(filter)) || f->n_children > 1)
        return false;
    if (c == NULL)
        return true;
    if (str_eq_c(c->name, "Prefix"))
        return leaf(c, &s);
    if (str_eq_c(c->name, "Tag"))
        return tag_shape(c);
    if (!str_eq_c(c->name, "And"))
        return size_value(c, &size);
    if (!children_ok(c, and_, ARRAY_LEN(and_)))
        return false;
    for (const struct xml_node *a = c->child; a != NULL; a = a->next) {
        bool ok = str_eq_c(a->name, "Prefix") ? leaf(a, &s)
                  : str_eq_c(a->name, "Tag")  ? tag_shape(a)
                                              : size_value(a, &size);
        if (!ok)
            return false;
    }
    return true;
}

static bool
expiration_shape(const struct xml_node *x)
{
    static const struct elem exp[] = {
        {"Date", false}, {"Days", false}, {"ExpiredObjectDeleteMarker", false}};
    long long days;
    bool b;

    /* AWS: exactly one of Days, Date and ExpiredObjectDeleteMarker; two of
     * them together do not validate (Days with Date is MalformedXML). */
    if (!children_ok(x, exp, ARRAY_LEN(exp)) || x->n_children != 1)
        return false;
    if (str_eq_c(x->child->name, "Days"))
        return int_value(x->child, &days);
    if (str_eq_c(x->child->name, "Date"))
        return date_value(x->child, &b);
    return bool_value(x->child, &b);
}

static bool
transition_shape(const struct xml_node *t, bool noncurrent)
{
    static const struct elem cur[] = {{"Date", false}, {"Days", false}, {"StorageClass", false}};
    static const struct elem non[] = {
        {"NoncurrentDays", false}, {"StorageClass", false}, {"NewerNoncurrentVersions", false}};
    const struct xml_node *days, *date, *newer;
    long long v;
    bool b;

    if (noncurrent) {
        days = xml_child(t, "NoncurrentDays");
        newer = xml_child(t, "NewerNoncurrentVersions");
        return children_ok(t, non, ARRAY_LEN(non)) &&
               storage_class_ok(xml_child(t, "StorageClass")) && int_value(days, &v) &&
               (newer == NULL || int_value(newer, &v));
    }
    days = xml_child(t, "Days");
    date = xml_child(t, "Date");
    if (!children_ok(t, cur, ARRAY_LEN(cur)) || !storage_class_ok(xml_child(t, "StorageClass")))
        return false;
    if ((days == NULL) == (date == NULL))
        return false;
    return days != NULL ? int_value(days, &v) : date_value(date, &b);
}

static bool
rule_shape(const struct xml_node *r)
{
    static const struct elem rule[] = {
        {"ID", false},
        {"Prefix", false},
        {"Filter", false},
        {"Status", false},
        {"Expiration", false},
        {"Transition", true},
        {"NoncurrentVersionTransition", true},
        {"NoncurrentVersionExpiration", false},
        {"AbortIncompleteMultipartUpload", false},
    };
    static const struct elem nve[] = {{"NoncurrentDays", false},
                                      {"NewerNoncurrentVersions", false}};
    static const struct elem abort_[] = {{"DaysAfterInitiation", false}};
    const struct xml_node *n, *prefix, *filter;
    struct str s;
    long long v;

    if (!children_ok(r, rule, ARRAY_LEN(rule)))
        return false;
    if (!leaf(xml_child(r, "Status"), &s) || !(str_eq_c(s, "Enabled") || str_eq_c(s, "Disabled")))
        return false;
    n = xml_child(r, "ID");
    if (n != NULL && !leaf(n, &s))
        return false;
    /* A rule scopes its objects by a Filter or, in the legacy form, a
     * Prefix: exactly one of the two. */
    prefix = xml_child(r, "Prefix");
    filter = xml_child(r, "Filter");
    if ((prefix == NULL) == (filter == NULL))
        return false;
    if (prefix != NULL && !leaf(prefix, &s))
        return false;
    if (filter != NULL && !filter_shape(filter))
        return false;
    n = xml_child(r, "Expiration");
    if (n != NULL && !expiration_shape(n))
        return false;
    for (n = xml_child(r, "Transition"); n != NULL; n = xml_next(n, "Transition"))
        if (!transition_shape(n, false))
            return false;
    for (n = xml_child(r, "NoncurrentVersionTransition"); n != NULL;
         n = xml_next(n, "NoncurrentVersionTransition"))
        if (!transition_shape(n, true))
            return false;
    n = xml_child(r, "NoncurrentVersionExpiration");
    if (n != NULL) {
        const struct xml_node *newer = xml_child(n, "NewerNoncurrentVersions");
        if (!children_ok(n, nve, ARRAY_LEN(nve)) ||
            !int_value(xml_child(n, "NoncurrentDays"), &v) ||
            (newer != NULL && !int_value(newer, &v)))
            return false;
    }
    n = xml_child(r, "AbortIncompleteMultipartUpload");
    if (n != NULL && (!children_ok(n, abort_, ARRAY_LEN(abort_)) ||
                      !int_value(xml_child(n, "DaysAfterInitiation"), &v)))
        return false;
    return true;
}

/* ---- rules: S3's checks beyond the schema ------------------------------ */

static enum s3_err
fail(struct s3_lifecycle_err *e, enum s3_err err, const char *msg)
{
    e->msg = msg;
    return err;
}

static long long
int_of(const struct xml_node *n)
{
    long long v = 0;

    (void)int_value(n, &v); /* shape already checked */
    return v;
}

static bool
is_infrequent(const struct xml_node *sc)
{
    struct str t = xml_trim(sc->text);

    return str_eq_c(t, "STANDARD_IA") || str_eq_c(t, "ONEZONE_IA");
}

/* Tags named by a filter; duplicates within an And are refused. */
static enum s3_err
filter_rules(const struct xml_node *f, bool *has_tags, struct s3_lifecycle_err *e)
{
    const struct xml_node *and_ = xml_child(f, "And"), *gt, *lt;

    *has_tags = xml_child(f, "Tag") != NULL;
    if (and_ == NULL)
        return S3E_OK;
    for (const struct xml_node *t = xml_child(and_, "Tag"); t != NULL; t = xml_next(t, "Tag")) {
        *has_tags = true;
        for (const struct xml_node *u = xml_next(t, "Tag"); u != NULL; u = xml_next(u, "Tag"))
            if (str_eq(xml_trim(xml_child(t, "Key")->text), xml_trim(xml_child(u, "Key")->text)))
                return fail(e, S3E_INVALID_REQUEST, "Duplicate Tag Keys are not allowed.");
    }
    gt = xml_child(and_, "ObjectSizeGreaterThan");
    lt = xml_child(and_, "ObjectSizeLessThan");
    if (gt != NULL && lt != NULL) {
        unsigned long long g = 0, l = 0;
        (void)size_value(gt, &g);
        (void)size_value(lt, &l);
        if (l <= g)
            return fail(e, S3E_INVALID_REQUEST,
                        "'ObjectSizeLessThan' has to be a value greater than "
                        "'ObjectSizeGreaterThan'.");
    }
    return S3E_OK;
}

/* Transition or NoncurrentVersionTransition list of one rule. */
static enum s3_err
transition_rules(struct arena *a, const struct xml_node *r, bool noncurrent, bool *dated,
                 bool *counted, struct s3_lifecycle_err *e)
{
    const char *tag = noncurrent ? "NoncurrentVersionTransition" : "Transition";
    const char *days_name = noncurrent ? "NoncurrentDays" : "Days";

    for (const struct xml_node *t = xml_child(r, tag); t != NULL; t = xml_next(t, tag)) {
        const struct xml_node *sc = xml_child(t, "StorageClass");
        const struct xml_node *days = xml_child(t, days_name), *date = xml_child(t, "Date");
        const struct xml_node *newer = xml_child(t, "NewerNoncurrentVersions");
        bool midnight;

        if (date != NULL) {
            (void)date_value(date, &midnight);
            if (!midnight)
                return fail(e, S3E_INVALID_ARGUMENT, "'Date' must be at midnight GMT");
            *dated = true;
        } else {
            long long v = int_of(days);
            if (v < 0)
                return fail(
                    e, S3E_INVALID_ARGUMENT,
                    arena_printf(a, "'%s' in %s action must be nonnegative", days_name, tag));
            /* AWS: the infrequent-access classes take objects at 30 days
             * at the earliest. */
            if (v < 30 && is_infrequent(sc))
                return fail(e, S3E_INVALID_ARGUMENT,
                            arena_printf(a,
                                         "'%s' in %s action must be greater than or equal to 30 "
                                         "for storageClass '%.*s'",
                                         days_name, tag, STR_FMT(xml_trim(sc->text))));
            *counted = true;
        }
        if (newer != NULL && int_of(newer) <= 0)
            return fail(e, S3E_INVALID_ARGUMENT,
                        "'NewerNoncurrentVersions' must be a positive integer");
        for (const struct xml_node *u = xml_next(t, tag); u != NULL; u = xml_next(u, tag))
            if (str_eq(xml_trim(sc->text), xml_trim(xml_child(u, "StorageClass")->text)))
                return fail(e, S3E_INVALID_REQUEST,
                            arena_printf(a,
                                         "'StorageClass' must be different for '%s' actions in "
                                         "same 'Rule'",
                                         tag));
    }
    return S3E_OK;
}

static bool
uses_newer(const struct xml_node *r)
{
    const struct xml_node *n = xml_child(r, "NoncurrentVersionExpiration");

    if (n != NULL && xml_child(n, "NewerNoncurrentVersions") != NULL)
        return true;
    for (n = xml_child(r, "NoncurrentVersionTransition"); n != NULL;
         n = xml_next(n, "NoncurrentVersionTransition"))
        if (xml_child(n, "NewerNoncurrentVersions") != NULL)
            return true;
    return false;
}

static enum s3_err
rule_rules(struct arena *a, const struct xml_node *r, bool v2, struct s3_lifecycle_err *e)
{
    const struct xml_node *filter = xml_child(r, "Filter"), *x, *n;
    const struct xml_node *nve = xml_child(r, "NoncurrentVersionExpiration");
    const struct xml_node *abort_ = xml_child(r, "AbortIncompleteMultipartUpload");
    bool has_tags = false, dated = false, counted = false, midnight;
    enum s3_err err;

    /* AWS: the first rule fixes the format: Filter (V2) or the legacy
     * rule-level Prefix (V1); the two never mix. */
    if (v2 && filter == NULL)
        return fail(e, S3E_INVALID_REQUEST,
                    "Base level prefix cannot be used in Lifecycle V2, prefixes are only "
                    "supported in the Filter.");
    if (!v2 && filter != NULL)
        return fail(e, S3E_INVALID_REQUEST, "Filter element can only be used in Lifecycle V2.");
    if (!v2 && uses_newer(r))
        return fail(e, S3E_INVALID_REQUEST,
                    "NewerNoncurrentVersions element can only be used in Lifecycle V2.");
    if (filter != NULL) {
        err = filter_rules(filter, &has_tags, e);
        if (err != S3E_OK)
            return err;
    }
    x = xml_child(r, "Expiration");
    if (x == NULL && nve == NULL && abort_ == NULL && xml_child(r, "Transition") == NULL &&
        xml_child(r, "NoncurrentVersionTransition") == NULL)
        return fail(e, S3E_INVALID_REQUEST, "At least one action needs to be specified in a rule");
    if (x != NULL) {
        if ((n = xml_child(x, "Days")) != NULL) {
            if (int_of(n) <= 0)
                return fail(e, S3E_INVALID_ARGUMENT,
                            "'Days' for Expiration action must be a positive integer");
            counted = true;
        } else if ((n = xml_child(x, "Date")) != NULL) {
            (void)date_value(n, &midnight);
            if (!midnight)
                return fail(e, S3E_INVALID_ARGUMENT, "'Date' must be at midnight GMT");
            dated = true;
        } else if (has_tags) {
            return fail(e, S3E_INVALID_REQUEST,
                        "ExpiredObjectDeleteMarker cannot be specified with Tags.");
        }
    }
    if (nve != NULL) {
        if (int_of(xml_child(nve, "NoncurrentDays")) <= 0)
            return fail(e, S3E_INVALID_ARGUMENT,
                        "'NoncurrentDays' for NoncurrentVersionExpiration action must be a "
                        "positive integer");
        n = xml_child(nve, "NewerNoncurrentVersions");
        if (n != NULL && int_of(n) <= 0)
            return fail(e, S3E_INVALID_ARGUMENT,
                        "'NewerNoncurrentVersions' must be a positive integer");
    }
    if (abort_ != NULL) {
        if (int_of(xml_child(abort_, "DaysAfterInitiation")) <= 0)
            return fail(e, S3E_INVALID_ARGUMENT,
                        "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be "
                        "a positive integer");
        if (has_tags)
            return fail(e, S3E_INVALID_REQUEST,
                        "AbortIncompleteMultipartUpload cannot be specified with Tags.");
    }
    err = transition_rules(a, r, false, &dated, &counted, e);
    if (err == S3E_OK)
        err = transition_rules(a, r, true, &dated, &counted, e);
    if (err != S3E_OK)
        return err;
    /* Noncurrent transitions count days only, so they never mix; the
     * check is about Expiration against Transition. */
    if (dated && counted)
        return fail(e, S3E_INVALID_REQUEST,
                    "Found mixed 'Date' and 'Days' based Expiration and Transition actions in "
                    "lifecycle rule");
    return S3E_OK;
}

/* Characters, not bytes: S3 counts an ID's length in characters. */
static size_t
utf8_len(struct str s)
{
    size_t n = 0;

    for (size_t i = 0; i < s.n; i++)
        n += ((unsigned char)s.p[i] & 0xC0) != 0x80;
    return n;
}

static struct str
rule_id(const struct xml_node *r)
{
    const struct xml_node *n = xml_child(r, "ID");

    return n != NULL ? n->text : STR_NULL;
}

static enum s3_err
bad_id(struct arena *a, struct s3_lifecycle_err *e, const char *msg, struct str id)
{
    e->arg_name = "ID";
    e->arg_value = arena_cstr(a, id);
    return fail(e, S3E_INVALID_ARGUMENT, msg);
}

/* Schema first, for the whole document, so a malformed rule anywhere is
 * answered MalformedXML before any rule-level refusal; then the count, the
 * IDs, and each rule in order (the first fault is the answer). */
enum s3_err
s3_lifecycle_check(struct arena *a, struct str body, struct s3_lifecycle_err *e)
{
    static const struct elem top[] = {{"Rule", true}};
    struct xml_node *root;
    const struct xml_node *r;
    size_t n_rules = 0;
    bool v2;
    enum s3_err err;

    *e = (struct s3_lifecycle_err){0};
    if (xml_parse(a, body, &root) < 0 || !str_eq_c(root->name, "LifecycleConfiguration") ||
        !children_ok(root, top, ARRAY_LEN(top)))
        return S3E_MALFORMED_XML;
    for (r = root->child; r != NULL; r = r->next) {
        if (!rule_shape(r))
            return S3E_MALFORMED_XML;
        n_rules++;
    }
    if (n_rules == 0)
        return S3E_MALFORMED_XML; /* AWS: Rule is required */
    if (n_rules > S3_LIFECYCLE_MAX_RULES)
        return fail(e, S3E_INVALID_REQUEST,
                    "The number of lifecycle rules must not exceed the allowed limit of 1000 "
                    "rules.");
    for (r = root->child; r != NULL; r = r->next) {
        struct str id = rule_id(r);
        if (id.n == 0)
            continue; /* S3 names rules sent without an ID */
        if (utf8_len(id) > S3_LIFECYCLE_MAX_ID)
            return bad_id(a, e, "ID length should not exceed allowed limit of 255", id);
        for (const struct xml_node *u = r->next; u != NULL; u = u->next)
            if (str_eq(id, rule_id(u)))
                return bad_id(a, e, "Rule ID must be unique. Found same ID for more than one rule",
                              id);
    }
    v2 = xml_child(root->child, "Filter") != NULL;
    for (r = root->child; r != NULL; r = r->next) {
        err = rule_rules(a, r, v2, e);
        if (err != S3E_OK)
            return err;
    }
    return S3E_OK;
}

/* ---- handlers ------------------------------------------------------------ */

struct lc_write {
    struct str name;    /* bucket */
    int64_t account_id; /* caller */
    int64_t bucket_id;  /* as loaded before the write */
    struct str xml;     /* STR_NULL: delete */
    struct arena *arena;
    enum s3_err err;
};

/* Re-reads the bucket on the writer's connection, so the MFA-delete state
 * checked is the one the write commits against: a concurrent
 * PutBucketVersioning enabling MFA delete runs wholly before or after. */
static int
lc_write_fn(struct md_conn *c, void *arg)
{
    struct lc_write *w = arg;
    struct md_bucket b;

    w->err = s3_err_from_core(object_bucket(c, w->name, w->bucket_id, w->arena, &b));
    if (w->err != S3E_OK)
        return -ENOENT;
    /* Coffer decision 4; deleting a configuration is always allowed. */
    if (w->xml.p != NULL && b.mfa_delete == MD_MFA_ENABLED) {
        w->err = S3E_INVALID_BUCKET_STATE;
        return -EPERM;
    }
    return md_bucket_set_lifecycle(c, b.id, w->xml);
}

static enum s3_err
lc_write(struct s3_req *q, const struct md_bucket *b, struct str xml)
{
    struct lc_write w = {
        .name = q->bucket,
        .account_id = q->account_id,
        .bucket_id = b->id,
        .xml = xml,
        .arena = q->arena,
    };
    int rc = md_write(q->srv->md, lc_write_fn, &w);

    if (rc >= 0)
        return S3E_OK;
    if (w.err == S3E_INVALID_BUCKET_STATE)
        q->err_msg = msg_mfa_enabled;
    return w.err != S3E_OK ? w.err : s3_err_from_errno(rc);
}

/* The configuration as stored and given back: the checked document in one
 * canonical form, each rule sent without an ID given one, as S3 does (its
 * generated IDs are the base64 of a random UUID; so are Coffer's). */
static enum s3_err
lc_canonical(struct s3_req *q, struct str body, struct str *out)
{
    struct xml_node *root;
    struct buf x;
    int rc;

    if (xml_parse(q->arena, body, &root) < 0)
        return S3E_INTERNAL; /* s3_lifecycle_check() parsed it */
    for (struct xml_node *r = root->child; r != NULL; r = r->next) {
        struct xml_node *id = xml_child(r, "ID");
        unsigned char u[16];
        char text[37], *b64;

        if (id != NULL && id->text.n > 0)
            continue;
        if (rand_bytes(u, sizeof(u)) < 0)
            return S3E_INTERNAL;
        u[6] = (unsigned char)((u[6] & 0x0F) | 0x40); /* version 4 */
        u[8] = (unsigned char)((u[8] & 0x3F) | 0x80); /* RFC 4122 variant */
        snprintf(text, sizeof(text),
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
                 u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
                 u[14], u[15]);
        b64 = arena_alloc(q->arena, 49);
        b64[b64_encode(text, 36, b64)] = '\0';
        if (id == NULL) {
            id = arena_alloc(q->arena, sizeof(*id));
            *id = (struct xml_node){.name = STR_LIT("ID"), .parent = r, .next = r->child};
            r->child = id;
            r->n_children++;
        }
        id->text = str_c(b64);
    }
    /* Escaping may lengthen text ("<" in CDATA becomes "&lt;"): 6 bytes a byte at most. */
    buf_init(&x, 6 * body.n + 64 * S3_LIFECYCLE_MAX_RULES + 64);
    rc = xml_write_tree(&x, root, S3_XMLNS);
    if (rc == 0)
        *out = str_make(arena_strndup(q->arena, x.p, x.n), x.n);
    buf_free(&x);
    return rc == 0 ? S3E_OK : S3E_INTERNAL;
}

/* PUT /{bucket}?lifecycle */
enum s3_err
s3_put_bucket_lifecycle(struct s3_req *q)
{
    struct s3_lifecycle_err e;
    struct md_bucket b;
    struct str body;
    enum s3_err err;

    err = s3_req_bucket(q, &b);
    if (err != S3E_OK)
        return err;
    err = s3_config_body(q, true, &body);
    if (err != S3E_OK)
        return err;
    err = s3_lifecycle_check(q->arena, body, &e);
    if (err != S3E_OK) {
        q->err_msg = e.msg;
        q->err_arg_name = e.arg_name;
        q->err_arg_value = e.arg_value;
        return err;
    }
    err = lc_canonical(q, body, &body);
    if (err == S3E_OK)
        err = lc_write(q, &b, body);
    if (err != S3E_OK)
        return err;
    http_resp_header_c(q->http, MIN_SIZE_HDR, MIN_SIZE_DEFAULT);
    (void)s3_reply_empty(q, 200);
    return S3E_OK;
}

/* GET /{bucket}?lifecycle */
enum s3_err
s3_get_bucket_lifecycle(struct s3_req *q)
{
    struct md_bucket b;
    enum s3_err err = s3_req_bucket(q, &b);

    if (err != S3E_OK)
        return err;
    if (b.lifecycle.p != NULL)
        http_resp_header_c(q->http, MIN_SIZE_HDR, MIN_SIZE_DEFAULT);
    return s3_reply_stored(q, &b, b.lifecycle, S3E_NO_SUCH_LIFECYCLE);
}

/* DELETE /{bucket}?lifecycle: 204 whether or not there was one. */
enum s3_err
s3_delete_bucket_lifecycle(struct s3_req *q)
{
    struct md_bucket b;
    enum s3_err err;

    err = s3_req_bucket(q, &b);
    if (err == S3E_OK && b.lifecycle.p != NULL)
        err = lc_write(q, &b, STR_NULL);
    if (err != S3E_OK)
        return err;
    (void)s3_reply_empty(q, 204);
    return S3E_OK;
}
