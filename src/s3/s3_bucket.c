/* s3_bucket.c -- bucket-level operations: ListBuckets, CreateBucket,
 * DeleteBucket, HeadBucket, GetBucketLocation and Get/PutBucketVersioning.
 * Object listings live in s3_list.c. MFA delete is toggled here; the checks
 * themselves are auth/mfa.c's, reached through s3_mfa.h. */
#include "common.h"

#include "bounds.h"
#include "crypto/cksum.h"
#include "s3/s3_acl.h"
#include "s3/s3_authz.h"
#include "s3/s3_int.h"
#include "s3/s3_mpu.h"
#include "s3/s3_mfa.h"
#include "util/enc.h"
#include "util/tm.h"
#include "xml/xml_read.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <string.h>

#define MAX_BUCKETS_LIMIT 10000
#define TOKEN_MSG "The continuation token provided is incorrect"

/* ---- bucket names ------------------------------------------------------ */

static bool
is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
has_suffix(struct str s, const char *suffix)
{
    size_t n = strlen(suffix);

    return s.n >= n && memcmp(s.p + s.n - n, suffix, n) == 0;
}

/* True for dotted-quad shapes such as "192.168.5.4": S3 refuses names that
 * look like an IP address, whatever the values. */
static bool
looks_like_ipv4(struct str s)
{
    size_t groups = 0, digits = 0;

    for (size_t i = 0; i <= s.n; i++) {
        if (i == s.n || s.p[i] == '.') {
            if (digits == 0 || digits > 3)
                return false;
            groups++;
            digits = 0;
        } else if (s.p[i] >= '0' && s.p[i] <= '9') {
            digits++;
        } else {
            return false;
        }
    }
    return groups == 4;
}

/* AWS: general purpose bucket naming rules (3-63 chars of a-z 0-9 . -,
 * letter or digit at both ends, no "..", not an IP address, reserved
 * prefixes and suffixes). */
bool
s3_bucket_name_valid(struct str name)
{
    static const char *const bad_prefix[] = {"xn--", "sthree-", "amzn-s3-demo-"};
    static const char *const bad_suffix[] = {"-s3alias", "--ol-s3", ".mrap", "--x-s3",
                                             "--table-s3"};

    if (name.p == NULL || name.n < S3_MIN_BUCKET_NAME || name.n > S3_MAX_BUCKET_NAME)
        return false;
    if (!is_lower_alnum(name.p[0]) || !is_lower_alnum(name.p[name.n - 1]))
        return false;
    for (size_t i = 0; i < name.n; i++) {
        char c = name.p[i];
        if (!is_lower_alnum(c) && c != '.' && c != '-')
            return false;
        if (c == '.' && name.p[i + 1] == '.')
            return false; /* i + 1 < n: the last byte is alphanumeric */
    }
    if (looks_like_ipv4(name))
        return false;
    for (size_t i = 0; i < ARRAY_LEN(bad_prefix); i++)
        if (str_has_prefix(name, bad_prefix[i]))
            return false;
    for (size_t i = 0; i < ARRAY_LEN(bad_suffix); i++)
        if (has_suffix(name, bad_suffix[i]))
            return false;
    return true;
}

/* ---- ListBuckets ------------------------------------------------------- */

static enum s3_err
bad_arg(struct s3_req *q, const char *msg, const char *name, struct str value)
{
    q->err_msg = msg;
    q->err_arg_name = name;
    q->err_arg_value = value.p ? arena_cstr(q->arena, value) : NULL;
    return S3E_INVALID_ARGUMENT;
}

/* Decodes a ListBuckets continuation token: base64 of the last bucket name
 * returned. The name must itself be valid, so a forged token can only
 * select a starting point. */
static enum s3_err
bucket_token(struct s3_req *q, struct str tok, struct str *after)
{
    char raw[S3_MAX_BUCKET_NAME + 3];
    char *name;
    int n;

    if (tok.n == 0 || tok.n > 4 * ((sizeof(raw) + 2) / 3))
        return bad_arg(q, TOKEN_MSG, "continuation-token", tok);
    n = b64_decode(tok, raw, sizeof(raw));
    if (n < 0 || !s3_bucket_name_valid(str_make(raw, (size_t)n)))
        return bad_arg(q, TOKEN_MSG, "continuation-token", tok);
    name = arena_strndup(q->arena, raw, (size_t)n);
    *after = str_make(name, (size_t)n);
    return S3E_OK;
}

/* GET / : the caller's buckets by name. The optional max-buckets,
 * continuation-token, prefix and bucket-region parameters page and filter
 * them; BucketRegion is sent only when the caller used one of them, as the
 * classic response has none. */
enum s3_err
s3_list_buckets(struct s3_req *q)
{
    struct md_bucket *bs = NULL;
    const struct md_bucket *last = NULL;
    size_t n = 0, shown = 0, limit = MAX_BUCKETS_LIMIT;
    bool has_max, has_tok, has_prefix, has_region, paged, truncated = false;
    struct str max_s = s3_param(q, "max-buckets", &has_max);
    struct str tok = s3_param(q, "continuation-token", &has_tok);
    struct str prefix = s3_param(q, "prefix", &has_prefix);
    struct str region = s3_param(q, "bucket-region", &has_region);
    struct str after = STR_NULL;
    struct buf x;
    char when[32];
    enum s3_err err;
    int rc = 0;

    if (q->account_id <= 0)
        return S3E_ACCESS_DENIED;
    if (has_max) {
        unsigned long long v;
        if (str_to_u64(max_s, &v) < 0 || v < 1 || v > MAX_BUCKETS_LIMIT)
            return bad_arg(q, "Argument max-buckets must be an integer between 1 and 10000",
                           "max-buckets", max_s);
        limit = (size_t)v;
    }
    if (has_tok) {
        err = bucket_token(q, tok, &after);
        if (err != S3E_OK)
            return err;
    }
    paged = has_max || has_tok || has_prefix || has_region;
    if (md_bucket_list(md_reader(q->srv->md), q->account_id, q->arena, &bs, &n) < 0)
        return S3E_INTERNAL;

    buf_init(&x, 16 * 1024 * 1024);
    /* xml_* return 0 or -E2BIG: OR-ing keeps any failure non-zero. */
    rc |= xml_decl(&x);
    rc |= xml_open_ns(&x, "ListAllMyBucketsResult", S3_XMLNS);
    rc |= xml_open(&x, "Owner");
    rc |= xml_elem(&x, "ID", q->account.canonical_id);
    rc |= xml_elem(&x, "DisplayName", q->account.name);
    rc |= xml_close(&x, "Owner");
    rc |= xml_open(&x, "Buckets");
    for (size_t i = 0; i < n; i++) {
        const struct md_bucket *b = &bs[i];
        if (after.p != NULL && str_cmp(b->name, after) <= 0)
            continue;
        if (has_prefix && prefix.p != NULL &&
            (b->name.n < prefix.n || memcmp(b->name.p, prefix.p, prefix.n) != 0))
            continue;
        if (has_region && region.p != NULL && !str_eq(b->region, region))
            continue;
        if (shown == limit) {
            truncated = true; /* the token names the last bucket shown */
            break;
        }
        tm_iso8601(b->created_ms, when);
        rc |= xml_open(&x, "Bucket");
        rc |= xml_elem(&x, "Name", b->name);
        rc |= xml_elem_c(&x, "CreationDate", when);
        if (paged)
            rc |= xml_elem(&x, "BucketRegion", b->region);
        rc |= xml_close(&x, "Bucket");
        last = b;
        shown++;
    }
    rc |= xml_close(&x, "Buckets");
    if (truncated) {
        char *enc = arena_alloc(q->arena, 4 * ((last->name.n + 2) / 3) + 1);
        b64_encode(last->name.p, last->name.n, enc);
        rc |= xml_elem_c(&x, "ContinuationToken", enc);
    }
    if (has_prefix)
        rc |= xml_elem(&x, "Prefix", prefix);
    rc |= xml_close(&x, "ListAllMyBucketsResult");
    return s3_reply_built(q, rc, &x);
}

/* ---- CreateBucket ------------------------------------------------------ */

struct create_arg {
    struct str name, region;
    int64_t account_id, now_ms, id;
    enum md_ownership ownership;
    struct str acl; /* md_acl_encode() text; p == NULL: none */
    int64_t existing_owner; /* on -EEXIST: who owns the name, 0 if unknown */
    bool legacy_reset;      /* in: the caller's own existing bucket answers 200 */
    bool reset;             /* out: it did, its ACL reset to private */
    struct arena *arena;
};

/* A new bucket gets AWS's defaults since April 2023: Object Ownership
 * BucketOwnerEnforced (unless the request names another) and all four
 * Block Public Access settings on [spec-authorization §6.1, §7]. */
static int
create_fn(struct md_conn *c, void *arg)
{
    static const struct md_pab all_on = {true, true, true, true, true};
    struct create_arg *ca = arg;
    struct md_bucket b;
    int rc = md_bucket_create(c, ca->name, ca->account_id, ca->region, ca->now_ms, &ca->id);

    ca->existing_owner = 0;
    ca->reset = false;
    if (rc == -EEXIST && md_bucket_get(c, ca->name, ca->arena, &b) == 0) {
        ca->existing_owner = b.account_id;
        if (ca->legacy_reset && b.account_id == ca->account_id) {
            ca->reset = true;
            return md_bucket_set_acl(c, b.id, STR_NULL);
        }
    }
    if (rc == 0)
        rc = md_bucket_set_ownership(c, ca->id, ca->ownership);
    if (rc == 0)
        rc = md_bucket_set_public_access_block(c, ca->id, &all_on);
    if (rc == 0 && ca->acl.p != NULL)
        rc = md_bucket_set_acl(c, ca->id, ca->acl);
    return rc;
}

/* x-amz-object-ownership: the bucket's Object Ownership from the start
 * (authorized as s3:PutBucketOwnershipControls too [§3.1]). */
static enum s3_err
create_ownership(struct s3_req *q, enum md_ownership *out)
{
    static const char *const names[] = {
        [MD_OWN_ENFORCED] = "BucketOwnerEnforced",
        [MD_OWN_PREFERRED] = "BucketOwnerPreferred",
        [MD_OWN_WRITER] = "ObjectWriter",
    };
    struct str v = http_header(q->http, "x-amz-object-ownership");

    *out = MD_OWN_ENFORCED;
    if (v.p == NULL)
        return S3E_OK;
    for (size_t i = 1; i < ARRAY_LEN(names); i++)
        if (str_eq_c(v, names[i])) {
            *out = (enum md_ownership)i;
            return s3_authz_check(q, "s3:PutBucketOwnershipControls", NULL, STR_NULL, STR_NULL,
                                  false, NULL);
        }
    q->err_msg = "Invalid x-amz-object-ownership header";
    q->err_arg_name = "x-amz-object-ownership";
    q->err_arg_value = arena_cstr(q->arena, v);
    return S3E_INVALID_ARGUMENT;
}

/* Plausible region name: lower-case letters, digits and '-' ("EU" is the
 * legacy spelling of eu-west-1 and is mapped before this check). */
static bool
region_name_ok(struct str r)
{
    if (r.n == 0 || r.n > 64)
        return false;
    for (size_t i = 0; i < r.n; i++)
        if (!is_lower_alnum(r.p[i]) && r.p[i] != '-')
            return false;
    return true;
}

enum s3_err
s3_parse_location(struct arena *a, struct str body, struct str *lc, const char **unsupported)
{
    struct xml_node *root, *n;
    struct str v;

    *lc = STR_NULL;
    *unsupported = NULL;
    if (s3_is_blank(body))
        return S3E_OK;
    if (xml_parse(a, body, &root) < 0 || !str_eq_c(root->name, "CreateBucketConfiguration"))
        return S3E_MALFORMED_XML;
    for (n = root->child; n != NULL; n = n->next) {
        if (str_eq_c(n->name, "LocationConstraint") && n->n_children == 0)
            continue;
        if (str_eq_c(n->name, "Location") || str_eq_c(n->name, "Bucket") ||
            str_eq_c(n->name, "Tags")) {
            *unsupported = n->name.p;
            return S3E_NOT_IMPLEMENTED;
        }
        return S3E_MALFORMED_XML;
    }
    n = xml_child(root, "LocationConstraint");
    if (n == NULL)
        return S3E_OK;
    if (xml_next(n, "LocationConstraint") != NULL)
        return S3E_MALFORMED_XML;
    v = str_trim(n->text);
    /* AWS: an empty constraint means us-east-1; "EU" means eu-west-1. */
    if (v.n == 0)
        v = STR_LIT("us-east-1");
    else if (str_eq_c(v, "EU"))
        v = STR_LIT("eu-west-1");
    if (!region_name_ok(v) || (n->text.n > 0 && str_eq_c(v, "us-east-1")))
        return S3E_INVALID_LOCATION_CONSTRAINT;
    *lc = v;
    return S3E_OK;
}

/* Reads the optional CreateBucketConfiguration body. Coffer serves one
 * region: a LocationConstraint naming it or none at all is accepted; any
 * other region is refused the way a regional AWS endpoint refuses it. As on
 * AWS, us-east-1 is never sent as a constraint (InvalidLocationConstraint);
 * the AWS CLI, boto3, s3cmd and rclone all leave it out. */
static enum s3_err
check_location(struct s3_req *q)
{
    struct str body, lc;
    const char *unsupported;
    enum s3_err err;

    err = s3_body_read_all(q, S3_MAX_XML_BODY, &body);
    if (err != S3E_OK)
        return err;
    err = s3_parse_location(q->arena, body, &lc, &unsupported);
    if (err == S3E_NOT_IMPLEMENTED)
        q->err_msg = arena_printf(
            q->arena, "CreateBucketConfiguration/%s is not supported by Coffer.", unsupported);
    if (err != S3E_OK || lc.p == NULL)
        return err;
    if (!str_eq_c(lc, q->srv->region)) {
        q->err_msg = arena_printf(q->arena,
                                  "The %.*s location constraint is incompatible for the region "
                                  "specific endpoint this request was sent to.",
                                  STR_FMT(lc));
        return S3E_ILLEGAL_LOCATION_CONSTRAINT;
    }
    return S3E_OK;
}

/* Headers asking for features Coffer does not provide: refused rather than
 * silently ignored (no bucket has Object Lock). ACL headers are
 * s3_acl_create_bucket()'s. */
static enum s3_err
check_create_headers(struct s3_req *q)
{
    struct str lock = http_header(q->http, "x-amz-bucket-object-lock-enabled");

    if (lock.p != NULL && str_ieq_c(str_trim(lock), "true")) {
        q->err_msg = "Object Lock is not supported by Coffer.";
        return S3E_NOT_IMPLEMENTED;
    }
    return S3E_OK;
}

/* PUT /bucket. An existing name answers BucketAlreadyExists when another
 * account owns it. The caller's own answers BucketAlreadyOwnedByYou (409),
 * as in every AWS region but us-east-1, where S3 answers 200 and resets the
 * bucket's ACL: so does Coffer in us-east-1 when the request asks for the
 * private ACL (no ACL headers). One asking for another ACL still gets the
 * 409 [decision]: an ACL is granted through PutBucketAcl, whose Block
 * Public Access and Object Ownership checks this legacy path would skip. */
enum s3_err
s3_create_bucket(struct s3_req *q)
{
    struct create_arg ca = {0};
    enum s3_err err;
    int rc;

    if (!s3_bucket_name_valid(q->bucket))
        return S3E_INVALID_BUCKET_NAME;
    err = check_create_headers(q);
    if (err != S3E_OK)
        return err;
    err = check_location(q);
    if (err != S3E_OK)
        return err;
    err = create_ownership(q, &ca.ownership);
    if (err == S3E_OK)
        err = s3_acl_create_bucket(q, ca.ownership, &ca.acl);
    if (err != S3E_OK)
        return err;
    ca.name = q->bucket;
    ca.region = str_c(q->srv->region);
    ca.account_id = q->account_id;
    ca.now_ms = tm_now_ms();
    ca.arena = q->arena;
    ca.legacy_reset = ca.acl.p == NULL && str_eq_c(ca.region, "us-east-1");
    rc = md_write(q->srv->md, create_fn, &ca);
    if (rc == -EEXIST)
        return ca.existing_owner == q->account_id ? S3E_BUCKET_ALREADY_OWNED_BY_YOU
                                                  : S3E_BUCKET_ALREADY_EXISTS;
    if (rc < 0)
        return s3_err_from_errno(rc);
    http_resp_header_c(q->http, "Location", arena_printf(q->arena, "/%.*s", STR_FMT(q->bucket)));
    (void)s3_reply_empty(q, 200);
    return S3E_OK;
}

/* ---- DeleteBucket, HeadBucket, GetBucketLocation ----------------------- */

static int
delete_fn(struct md_conn *c, void *arg)
{
    return md_bucket_delete(c, *(int64_t *)arg);
}

enum s3_err
s3_delete_bucket(struct s3_req *q)
{
    struct md_bucket b;
    enum s3_err err = s3_req_bucket(q, &b);
    int rc;

    if (err != S3E_OK)
        return err;
    rc = md_write(q->srv->md, delete_fn, &b.id);
    if (rc == -ENOTEMPTY)
        return S3E_BUCKET_NOT_EMPTY;
    if (rc == -ENOENT)
        return S3E_NO_SUCH_BUCKET; /* deleted concurrently */
    if (rc < 0)
        return s3_err_from_errno(rc);
    s3_mpu_reap(q->srv); /* the bucket's in-progress uploads went with it */
    (void)s3_reply_empty(q, 204);
    return S3E_OK;
}

enum s3_err
s3_head_bucket(struct s3_req *q)
{
    struct md_bucket b;
    enum s3_err err = s3_req_bucket(q, &b);

    if (err != S3E_OK)
        return err;
    http_resp_header(q->http, "x-amz-bucket-region", b.region);
    http_resp_header_c(q->http, "x-amz-access-point-alias", "false");
    (void)s3_reply_empty(q, 200);
    return S3E_OK;
}

/* Appends a root element with only the S3 namespace and no content, in the
 * self-closing form AWS sends. */
static int
empty_root(struct buf *x, const char *tag)
{
    int rc = xml_decl(x);

    if (rc == 0)
        rc = buf_printf(x, "<%s xmlns=\"" S3_XMLNS "\"/>", tag);
    return rc;
}

enum s3_err
s3_get_bucket_location(struct s3_req *q)
{
    struct md_bucket b;
    enum s3_err err = s3_req_bucket(q, &b);
    struct buf x;
    int rc = 0;

    if (err != S3E_OK)
        return err;
    buf_init(&x, 4096);
    /* AWS: buckets in us-east-1 report an empty LocationConstraint. */
    if (b.region.n == 0 || str_eq_c(b.region, "us-east-1")) {
        rc |= empty_root(&x, "LocationConstraint");
    } else {
        rc |= xml_decl(&x);
        rc |= xml_open_ns(&x, "LocationConstraint", S3_XMLNS);
        rc |= xml_escape(&x, b.region);
        rc |= xml_close(&x, "LocationConstraint");
    }
    return s3_reply_built(q, rc, &x);
}

/* ---- Get/PutBucketVersioning [spec-mfa-delete §2, §3] ------------------ */

enum s3_err
s3_get_bucket_versioning(struct s3_req *q)
{
    struct md_bucket b;
    enum s3_err err = s3_req_bucket(q, &b);
    const char *status, *mfa;
    struct buf x;
    int rc = 0;

    if (err != S3E_OK)
        return err;
    status = b.versioning == MD_VER_ENABLED ? "Enabled" : "Suspended";
    mfa = b.mfa_delete == MD_MFA_ENABLED ? "Enabled" : "Disabled";
    buf_init(&x, 4096);
    if (b.versioning == MD_VER_NONE && b.mfa_delete == MD_MFA_UNSET) {
        /* AWS: a never-versioned bucket answers an empty element
         * [spec-mfa-delete §3, case 1]. */
        rc |= empty_root(&x, "VersioningConfiguration");
    } else {
        rc |= xml_decl(&x);
        rc |= xml_open_ns(&x, "VersioningConfiguration", S3_XMLNS);
        if (b.versioning != MD_VER_NONE)
            rc |= xml_elem_c(&x, "Status", status);
        /* AWS: MfaDelete only once configured; an explicit Disabled counts
         * [spec-mfa-delete §3, decision 7]. */
        if (b.mfa_delete != MD_MFA_UNSET)
            rc |= xml_elem_c(&x, "MfaDelete", mfa);
        rc |= xml_close(&x, "VersioningConfiguration");
    }
    return s3_reply_built(q, rc, &x);
}

/* Validates <VersioningConfiguration> against the schema: only Status
 * (Enabled|Suspended) and MfaDelete (Enabled|Disabled), each at most once,
 * exact case; anything else is MalformedXML [spec-mfa-delete §2]. */
enum s3_err
s3_parse_versioning(struct arena *a, struct str body, struct s3_versioning_req *out)
{
    struct xml_node *root, *n;
    bool seen_status = false, seen_mfa = false;

    out->status = MD_VER_NONE;
    out->mfa = MD_MFA_UNSET;
    if (xml_parse(a, body, &root) < 0 || !str_eq_c(root->name, "VersioningConfiguration"))
        return S3E_MALFORMED_XML;
    if (!s3_is_blank(root->text))
        return S3E_MALFORMED_XML;
    for (n = root->child; n != NULL; n = n->next) {
        if (n->n_children != 0)
            return S3E_MALFORMED_XML;
        if (str_eq_c(n->name, "Status") && !seen_status) {
            seen_status = true;
            if (str_eq_c(n->text, "Enabled"))
                out->status = MD_VER_ENABLED;
            else if (str_eq_c(n->text, "Suspended"))
                out->status = MD_VER_SUSPENDED;
            else
                return S3E_MALFORMED_XML;
        } else if (str_eq_c(n->name, "MfaDelete") && !seen_mfa) {
            seen_mfa = true;
            if (str_eq_c(n->text, "Enabled"))
                out->mfa = MD_MFA_ENABLED;
            else if (str_eq_c(n->text, "Disabled"))
                out->mfa = MD_MFA_DISABLED;
            else
                return S3E_MALFORMED_XML;
        } else {
            return S3E_MALFORMED_XML; /* unknown, duplicate, or "MFADelete" */
        }
    }
    if (!seen_status) {
        /* AWS: IllegalVersioningConfigurationException, also for a body
         * with only MfaDelete [spec-mfa-delete §2, cases 3 and 17]. */
        return S3E_ILLEGAL_VERSIONING_CONFIG;
    }
    return S3E_OK;
}

/* Coffer decision 3 and [spec-mfa-delete §1.2]: on a bucket with MFA delete
 * enabled, any real change of Status or turning MFA delete off needs MFA;
 * elsewhere only turning it on does. An explicit Disabled on a bucket that
 * never had it changes nothing that matters (ceph/s3-tests sends it). */
static bool
versioning_needs_mfa(const struct md_bucket *b, const struct s3_versioning_req *vr)
{
    if (b->mfa_delete == MD_MFA_ENABLED)
        return vr->status != b->versioning || vr->mfa == MD_MFA_DISABLED;
    return vr->mfa == MD_MFA_ENABLED;
}

static const char *
ver_name(enum md_versioning v)
{
    return v == MD_VER_ENABLED ? "Enabled" : v == MD_VER_SUSPENDED ? "Suspended" : "Unversioned";
}

static const char *
mfa_name(enum md_mfa m)
{
    return m == MD_MFA_ENABLED ? "Enabled" : m == MD_MFA_DISABLED ? "Disabled" : "Unset";
}

struct set_versioning_arg {
    int64_t bucket_id;
    struct s3_versioning_req vr;
    bool mfa_ok;              /* mfa_require passed for this request */
    const struct mfa_req *m;  /* for the audit records */
    struct arena *arena;
    enum s3_err err;
};

static int
audit(struct md_conn *c, struct set_versioning_arg *sa, const char *event, const char *from,
      const char *to)
{
    struct md_audit e;
    const char *detail = arena_printf(sa->arena, "%s -> %s%s", from, to,
                                      sa->mfa_ok ? " (MFA verified)" : "");

    mfa_audit_record(sa->m, tm_now_ms(), event, detail, STR_NULL, STR_NULL, &e);
    return md_audit_append(c, &e);
}

/* The state change and its audit records commit together, against the
 * bucket as it is now: the MFA decision and the lifecycle interlock are
 * checked again on the writer's connection, so a concurrent change of
 * either cannot slip between the check and the write. */
static int
set_versioning_fn(struct md_conn *c, void *arg)
{
    struct set_versioning_arg *sa = arg;
    const struct mfa_req *m = sa->m;
    struct md_bucket b;
    enum md_mfa mfa;
    int rc;

    rc = md_bucket_get(c, m->bucket, sa->arena, &b);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    if (rc == -ENOENT || b.id != sa->bucket_id) {
        sa->err = S3E_NO_SUCH_BUCKET; /* deleted (and maybe made again) meanwhile */
        return -ENOENT;
    }
    if (versioning_needs_mfa(&b, &sa->vr) && !sa->mfa_ok) {
        /* MFA delete was turned on after this request was checked. */
        sa->err = S3E_OPERATION_ABORTED;
        return -EAGAIN;
    }
    /* AWS: MFA delete and lifecycle exclude each other [spec-mfa-delete §5,
     * case 18]. Checked after the MFA verification (a request that could
     * not pass MFA learns nothing about the bucket's configuration, and
     * §1.6 answers stay the same whatever the state), at the cost of
     * spending a valid code on a request that then fails. */
    if (sa->vr.mfa == MD_MFA_ENABLED && b.lifecycle.p != NULL) {
        sa->err = S3E_INVALID_BUCKET_STATE;
        return -EPERM;
    }
    mfa = sa->vr.mfa != MD_MFA_UNSET ? sa->vr.mfa : b.mfa_delete;
    if (sa->vr.status == b.versioning && mfa == b.mfa_delete)
        return 0; /* nothing changes: nothing to write or record */
    rc = md_bucket_set_versioning(c, b.id, sa->vr.status, mfa);
    if (rc == 0 && sa->vr.status != b.versioning)
        rc = audit(c, sa, "bucket.versioning", ver_name(b.versioning), ver_name(sa->vr.status));
    if (rc == 0 && mfa != b.mfa_delete)
        rc = audit(c, sa, "bucket.mfa_delete", mfa_name(b.mfa_delete), mfa_name(mfa));
    return rc;
}

/* PUT /{bucket}?versioning [spec-mfa-delete §1.6, §2, cases 2-24]. */
enum s3_err
s3_put_bucket_versioning(struct s3_req *q)
{
    struct set_versioning_arg sa = {0};
    struct mfa_req m;
    struct md_bucket b;
    struct str body;
    enum s3_err err;
    bool need_mfa;
    int rc;

    /* Coffer decision 1: a request carrying x-amz-mfa is checked for TLS,
     * header format and session credentials before anything else. */
    err = s3_mfa_precheck(q);
    if (err != S3E_OK)
        return err;
    err = s3_req_bucket(q, &b);
    if (err != S3E_OK)
        return err;
    err = s3_config_body(q, true, &body);
    if (err != S3E_OK)
        return err;
    err = s3_parse_versioning(q->arena, body, &sa.vr);
    if (err != S3E_OK)
        return err;
    /* Required: bucket owner's root with a valid code; otherwise a header
     * that is present is still verified (Coffer decision 6). */
    need_mfa = versioning_needs_mfa(&b, &sa.vr);
    err = s3_mfa_gate(q, need_mfa, b.account_id, STR_NULL, STR_NULL);
    if (err != S3E_OK)
        return err;
    s3_mfa_request(q, b.account_id, STR_NULL, STR_NULL, &m);
    sa.bucket_id = b.id;
    sa.mfa_ok = need_mfa;
    sa.m = &m;
    sa.arena = q->arena;
    rc = md_write(q->srv->md, set_versioning_fn, &sa);
    if (rc < 0) {
        if (sa.err == S3E_INVALID_BUCKET_STATE)
            q->err_msg = "Mfa Authentication is not supported on a bucket with lifecycle "
                         "configuration. Delete lifecycle configuration before enabling Mfa "
                         "Authentication.";
        return sa.err != S3E_OK ? sa.err : s3_err_from_errno(rc);
    }
    (void)s3_reply_empty(q, 200);
    return S3E_OK;
}
