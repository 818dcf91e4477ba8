/* s3_policy.c -- a bucket's access settings over the S3 API: its policy
 * (Put/Get/DeleteBucketPolicy, GetBucketPolicyStatus), Block Public Access
 * (Put/Get/DeletePublicAccessBlock) and Object Ownership
 * (Put/Get/DeleteBucketOwnershipControls) [spec-authorization §1.4, §2,
 * §6.1, §7]. Each change is one md_write() with its audit record, made
 * against the bucket as the writer sees it. Enforcement is s3_authz.c's. */
#include "common.h"
#include "bounds.h"
#include "auth/mfa.h"
#include "auth/policy.h"
#include "s3/s3_int.h"
#include "s3/s3_mfa.h"
#include "util/tm.h"
#include "xml/xml_read.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define POLICY_MAX_BYTES 20480 /* without whitespace [§2.6 decision] */

/* ---- one write ------------------------------------------------------------ */

enum what { W_POLICY, W_PAB, W_OWNERSHIP };

struct access_write {
    enum what what;
    int64_t bucket_id; /* as authorized */
    struct str name;
    struct str policy;      /* W_POLICY: the document; p == NULL removes it */
    struct md_pab pab;      /* W_PAB */
    enum md_ownership own;  /* W_OWNERSHIP */
    const char *event, *detail;
    struct mfa_req m; /* for the audit record */
    struct arena *arena;
    enum s3_err err; /* set on every run */
};

static int
access_fn(struct md_conn *c, void *arg)
{
    struct access_write *w = arg;
    struct md_audit e;
    struct md_bucket b;
    int rc;

    w->err = S3E_OK;
    rc = md_bucket_get(c, w->name, w->arena, &b);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    if (rc == -ENOENT || b.id != w->bucket_id) {
        w->err = S3E_NO_SUCH_BUCKET; /* deleted (and maybe made again) meanwhile */
        return -ENOENT;
    }
    switch (w->what) {
    case W_POLICY:
        rc = md_bucket_set_policy(c, b.id, w->policy);
        break;
    case W_PAB:
        rc = md_bucket_set_public_access_block(c, b.id, &w->pab);
        break;
    case W_OWNERSHIP:
        rc = md_bucket_set_ownership(c, b.id, w->own);
        break;
    }
    if (rc < 0)
        return rc;
    mfa_audit_record(&w->m, tm_now_ms(), w->event, w->detail, STR_NULL, STR_NULL, &e);
    return md_audit_append(c, &e);
}

static enum s3_err
access_write(struct s3_req *q, const struct md_bucket *b, struct access_write *w)
{
    int rc;

    s3_mfa_request(q, b->account_id, STR_NULL, STR_NULL, &w->m);
    w->bucket_id = b->id;
    w->name = b->name;
    w->arena = q->arena;
    rc = md_write(q->srv->md, access_fn, w);
    if (rc < 0)
        return w->err != S3E_OK ? w->err : s3_err_from_errno(rc);
    return S3E_OK;
}

/* ---- bucket policy -------------------------------------------------------- */

/* Only the owner account's principals may read, change or delete a bucket
 * policy: another account's, even when allowed, gets 405 [§1.4]. */
static enum s3_err
policy_bucket(struct s3_req *q, struct md_bucket *b)
{
    enum s3_err err = s3_req_bucket(q, b);

    if (err == S3E_OK && b->account_id != q->account_id) {
        q->err_resource_type = "BUCKETPOLICY";
        q->err_method = str_eq_c(q->http->method, "PUT")      ? "PUT"
                        : str_eq_c(q->http->method, "DELETE") ? "DELETE"
                                                              : "GET";
        return S3E_METHOD_NOT_ALLOWED;
    }
    return err;
}

struct principal_check {
    struct s3_req *q;
};

/* A principal ARN of a local account must name a user or role that exists;
 * accounts Coffer does not hold are accepted [§2.2 decision]. */
static bool
principal_exists(void *arg, struct str arn)
{
    struct s3_req *q = ((struct principal_check *)arg)->q;
    struct md_conn *c = md_reader(q->srv->md);
    struct str rest, acct, kind, name;
    struct md_account a;
    unsigned long long id;
    const char *slash;

    if (str_has_prefix(arn, "arn:aws:sts::"))
        return true;
    if (!str_has_prefix(arn, "arn:aws:iam::"))
        return false;
    rest = str_make(arn.p + 13, arn.n - 13);
    if (!str_split(rest, ':', &acct, &rest) || acct.n != 12 || str_to_u64(acct, &id) < 0)
        return false;
    if (md_account_get(c, (int64_t)id, q->arena, &a) < 0)
        return true;
    if (!str_split(rest, '/', &kind, &rest) || rest.n == 0)
        return false;
    slash = memrchr(rest.p, '/', rest.n);
    name = slash ? str_make(slash + 1, rest.n - (size_t)(slash + 1 - rest.p)) : rest;
    if (str_eq_c(kind, "user")) {
        struct md_user u;
        return md_user_get_by_name(c, (int64_t)id, name, q->arena, &u) == 0;
    }
    if (str_eq_c(kind, "role")) {
        struct md_role r;
        return md_role_get_by_name(c, (int64_t)id, name, q->arena, &r) == 0;
    }
    return false;
}

/* PUT /{bucket}?policy */
enum s3_err
s3_put_bucket_policy(struct s3_req *q)
{
    struct principal_check pc = {q};
    struct policy_opts o = {.kind = POLICY_BUCKET, .principal_exists = principal_exists, .arg = &pc};
    struct access_write w = {.what = W_POLICY, .event = "bucket.policy", .detail = "set"};
    struct policy *p = NULL;
    struct md_bucket b;
    struct str body;
    enum s3_err err;
    char msg[256];
    bool is_public;

    err = policy_bucket(q, &b);
    if (err != S3E_OK)
        return err;
    err = s3_body_read_all(q, S3_MAX_XML_BODY, &body);
    if (err != S3E_OK)
        return err;
    if (policy_size(body) > POLICY_MAX_BYTES) {
        q->err_msg = "Policies must be less than 20 KB.";
        return S3E_MALFORMED_POLICY;
    }
    o.bucket = b.name;
    if (policy_parse(body, &o, &p, msg, sizeof(msg)) < 0) {
        q->err_msg = arena_strndup(q->arena, msg, strlen(msg));
        return S3E_MALFORMED_POLICY;
    }
    is_public = policy_is_public(p);
    policy_free(p);
    /* BlockPublicPolicy of the bucket or its account refuses a public
     * policy; the one in place stays [§7]. */
    if (is_public && (b.pab.block_public_policy || q->account.pab.block_public_policy))
        return S3E_ACCESS_DENIED;
    w.policy = body;
    err = access_write(q, &b, &w);
    if (err != S3E_OK)
        return err;
    (void)s3_reply_empty(q, 204);
    return S3E_OK;
}

/* GET /{bucket}?policy: the document byte for byte. */
enum s3_err
s3_get_bucket_policy(struct s3_req *q)
{
    struct md_bucket b;
    enum s3_err err = policy_bucket(q, &b);
    int rc;

    if (err != S3E_OK)
        return err;
    if (b.policy.p == NULL)
        return S3E_NO_SUCH_BUCKET_POLICY;
    http_resp_header_c(q->http, "Content-Type", "application/json");
    rc = http_resp_begin(q->http, 200, (int64_t)b.policy.n);
    if (rc == 0)
        (void)http_resp_write(q->http, b.policy.p, b.policy.n);
    return S3E_OK;
}

/* DELETE /{bucket}?policy: 204 whether or not there was one. */
enum s3_err
s3_delete_bucket_policy(struct s3_req *q)
{
    struct access_write w = {.what = W_POLICY, .event = "bucket.policy", .detail = "deleted"};
    struct md_bucket b;
    enum s3_err err = policy_bucket(q, &b);

    if (err == S3E_OK && b.policy.p != NULL)
        err = access_write(q, &b, &w);
    if (err != S3E_OK)
        return err;
    (void)s3_reply_empty(q, 204);
    return S3E_OK;
}

/* GET /{bucket}?policyStatus: whether the policy is public by Block
 * Public Access's definition; false without a policy [§7 decision]. */
enum s3_err
s3_get_bucket_policy_status(struct s3_req *q)
{
    struct policy_opts o = {.kind = POLICY_BUCKET};
    struct policy *p = NULL;
    struct md_bucket b;
    enum s3_err err = s3_req_bucket(q, &b);
    bool is_public = false;
    char msg[256];
    struct buf x;
    int rc = 0;

    if (err != S3E_OK)
        return err;
    if (b.policy.p == NULL)
        return S3E_NO_SUCH_BUCKET_POLICY;
    o.bucket = b.name;
    if (policy_parse(b.policy, &o, &p, msg, sizeof(msg)) < 0)
        return S3E_INTERNAL;
    is_public = policy_is_public(p);
    policy_free(p);
    buf_init(&x, 1024);
    rc |= xml_decl(&x);
    rc |= xml_open_ns(&x, "PolicyStatus", S3_XMLNS);
    rc |= xml_elem_bool(&x, "IsPublic", is_public);
    rc |= xml_close(&x, "PolicyStatus");
    return s3_reply_built(q, rc, &x);
}

/* ---- Block Public Access -------------------------------------------------- */

static const char *const pab_names[] = {
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
};

static bool *
pab_field(struct md_pab *p, size_t i)
{
    bool *f[] = {&p->block_public_acls, &p->ignore_public_acls, &p->block_public_policy,
                 &p->restrict_public_buckets};
    return f[i];
}

/* <PublicAccessBlockConfiguration>: each setting at most once, "true" or
 * "false"; an absent one is false (as S3 stores it). */
enum s3_err
s3_parse_public_access_block(struct arena *a, struct str body, struct md_pab *out)
{
    struct xml_node *root, *n;
    unsigned seen = 0;

    *out = (struct md_pab){.configured = true};
    if (xml_parse(a, body, &root) < 0 || !str_eq_c(root->name, "PublicAccessBlockConfiguration") ||
        !s3_is_blank(root->text))
        return S3E_MALFORMED_XML;
    for (n = root->child; n != NULL; n = n->next) {
        size_t i = 0;
        while (i < ARRAY_LEN(pab_names) && !str_eq_c(n->name, pab_names[i]))
            i++;
        if (i == ARRAY_LEN(pab_names) || (seen & (1u << i)) || n->n_children != 0)
            return S3E_MALFORMED_XML;
        seen |= 1u << i;
        struct str v = str_trim(n->text);
        if (str_eq_c(v, "true"))
            *pab_field(out, i) = true;
        else if (!str_eq_c(v, "false"))
            return S3E_MALFORMED_XML;
    }
    return S3E_OK;
}

const char *
s3_pab_detail(struct arena *a, const struct md_pab *p)
{
    return arena_printf(a, "BlockPublicAcls=%d IgnorePublicAcls=%d BlockPublicPolicy=%d "
                           "RestrictPublicBuckets=%d",
                        p->block_public_acls, p->ignore_public_acls, p->block_public_policy,
                        p->restrict_public_buckets);
}

enum s3_err
s3_reply_pab(struct s3_req *q, const struct md_pab *p, const char *xmlns)
{
    struct md_pab v = *p;
    struct buf x;
    int rc = 0;

    if (!v.configured)
        return S3E_NO_SUCH_PUBLIC_ACCESS_BLOCK;
    buf_init(&x, 1024);
    rc |= xml_decl(&x);
    rc |= xml_open_ns(&x, "PublicAccessBlockConfiguration", xmlns);
    for (size_t i = 0; i < ARRAY_LEN(pab_names); i++)
        rc |= xml_elem_bool(&x, pab_names[i], *pab_field(&v, i));
    rc |= xml_close(&x, "PublicAccessBlockConfiguration");
    return s3_reply_built(q, rc, &x);
}

enum s3_err
s3_put_public_access_block(struct s3_req *q)
{
    struct access_write w = {.what = W_PAB, .event = "bucket.public_access_block"};
    struct md_bucket b;
    struct str body;
    enum s3_err err;

    err = s3_req_bucket(q, &b);
    if (err == S3E_OK)
        err = s3_config_body(q, true, &body);
    if (err == S3E_OK)
        err = s3_parse_public_access_block(q->arena, body, &w.pab);
    if (err != S3E_OK)
        return err;
    w.detail = s3_pab_detail(q->arena, &w.pab);
    err = access_write(q, &b, &w);
    if (err != S3E_OK)
        return err;
    (void)s3_reply_empty(q, 200);
    return S3E_OK;
}

enum s3_err
s3_get_public_access_block(struct s3_req *q)
{
    struct md_bucket b;
    enum s3_err err = s3_req_bucket(q, &b);

    return err != S3E_OK ? err : s3_reply_pab(q, &b.pab, S3_XMLNS);
}

enum s3_err
s3_delete_public_access_block(struct s3_req *q)
{
    struct access_write w = {.what = W_PAB, .event = "bucket.public_access_block",
                             .detail = "deleted"};
    struct md_bucket b;
    enum s3_err err = s3_req_bucket(q, &b);

    if (err == S3E_OK && b.pab.configured)
        err = access_write(q, &b, &w);
    if (err != S3E_OK)
        return err;
    (void)s3_reply_empty(q, 204);
    return S3E_OK;
}

/* ---- Object Ownership ----------------------------------------------------- */

static const char *const own_names[] = {
    [MD_OWN_ENFORCED] = "BucketOwnerEnforced",
    [MD_OWN_PREFERRED] = "BucketOwnerPreferred",
    [MD_OWN_WRITER] = "ObjectWriter",
};

/* <OwnershipControls><Rule><ObjectOwnership>: exactly one rule. */
enum s3_err
s3_parse_ownership(struct arena *a, struct str body, enum md_ownership *out)
{
    struct xml_node *root, *rule, *own;

    if (xml_parse(a, body, &root) < 0 || !str_eq_c(root->name, "OwnershipControls") ||
        root->n_children != 1 || (rule = xml_child(root, "Rule")) == NULL ||
        rule->n_children != 1 || (own = xml_child(rule, "ObjectOwnership")) == NULL ||
        own->n_children != 0)
        return S3E_MALFORMED_XML;
    for (size_t i = 1; i < ARRAY_LEN(own_names); i++)
        if (str_eq_c(str_trim(own->text), own_names[i])) {
            *out = (enum md_ownership)i;
            return S3E_OK;
        }
    return S3E_MALFORMED_XML;
}

/* True if acl grants anything to anyone but the owner (canonical id). */
static bool
acl_grants_others(struct arena *a, struct str acl, struct str owner)
{
    struct md_grant *g;
    size_t n;

    if (acl.p == NULL || md_acl_decode(acl, a, &g, &n) < 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (g[i].kind != MD_GRANTEE_ID || !str_eq(g[i].grantee, owner))
            return true;
    return false;
}

enum s3_err
s3_put_bucket_ownership_controls(struct s3_req *q)
{
    struct access_write w = {.what = W_OWNERSHIP, .event = "bucket.ownership"};
    struct md_account owner;
    struct md_bucket b;
    struct str body;
    enum s3_err err;

    err = s3_req_bucket(q, &b);
    if (err == S3E_OK)
        err = s3_config_body(q, true, &body);
    if (err == S3E_OK)
        err = s3_parse_ownership(q->arena, body, &w.own);
    if (err != S3E_OK)
        return err;
    if (w.own == MD_OWN_ENFORCED) {
        if (md_account_get(md_reader(q->srv->md), b.account_id, q->arena, &owner) < 0)
            return S3E_INTERNAL;
        if (acl_grants_others(q->arena, b.acl, owner.canonical_id))
            return S3E_INVALID_BUCKET_ACL_WITH_OWNERSHIP;
    }
    w.detail = own_names[w.own];
    err = access_write(q, &b, &w);
    if (err != S3E_OK)
        return err;
    (void)s3_reply_empty(q, 200);
    return S3E_OK;
}

enum s3_err
s3_get_bucket_ownership_controls(struct s3_req *q)
{
    struct md_bucket b;
    enum s3_err err = s3_req_bucket(q, &b);
    struct buf x;
    int rc = 0;

    if (err != S3E_OK)
        return err;
    if (b.ownership == MD_OWN_NONE)
        return S3E_OWNERSHIP_CONTROLS_NOT_FOUND;
    buf_init(&x, 1024);
    rc |= xml_decl(&x);
    rc |= xml_open_ns(&x, "OwnershipControls", S3_XMLNS);
    rc |= xml_open(&x, "Rule");
    rc |= xml_elem_c(&x, "ObjectOwnership", own_names[b.ownership]);
    rc |= xml_close(&x, "Rule");
    rc |= xml_close(&x, "OwnershipControls");
    return s3_reply_built(q, rc, &x);
}

enum s3_err
s3_delete_bucket_ownership_controls(struct s3_req *q)
{
    struct access_write w = {.what = W_OWNERSHIP, .own = MD_OWN_NONE, .event = "bucket.ownership",
                             .detail = "deleted"};
    struct md_bucket b;
    enum s3_err err = s3_req_bucket(q, &b);

    if (err == S3E_OK && b.ownership != MD_OWN_NONE)
        err = access_write(q, &b, &w);
    if (err != S3E_OK)
        return err;
    (void)s3_reply_empty(q, 204);
    return S3E_OK;
}
