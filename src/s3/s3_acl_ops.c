/* s3_acl_ops.c -- ACLs on the wire and in decisions [spec-authorization §6,
 * §7]: Get/PutBucketAcl, Get/PutObjectAcl, the ACL headers of writes and of
 * CreateBucket, and the ACL facts s3_authz.c hands to authz_decide().
 * Under BucketOwnerEnforced (the default) ACLs play no part: writes may only
 * ask for the owner's full control and reads show the bucket owner alone.
 * Parsing and rendering are s3_acl.c's. */
#include "common.h"
#include "bounds.h"
#include "s3/s3_acl.h"
#include "s3/s3_authz.h"
#include "s3/s3_int.h"

#include <errno.h>
#include <string.h>

/* ---- accounts --------------------------------------------------------------- */

/* The account id as an owner: the caller's own row, the anonymous writer's
 * canonical id [§1.5], or a read. */
static enum s3_err
account_of(struct s3_req *q, int64_t id, struct md_account *out)
{
    int rc;

    if (id == q->account_id && !q->auth.is_anonymous) {
        *out = q->account;
        return S3E_OK;
    }
    if (id == 0) {
        *out = (struct md_account){.canonical_id = STR_LIT(S3_ACL_ANON_ID), .name = STR_LIT("")};
        return S3E_OK;
    }
    rc = md_account_get(md_reader(q->srv->md), id, q->arena, out);
    if (rc == -ENOENT) {
        *out = (struct md_account){.id = id, .canonical_id = STR_LIT(""), .name = STR_LIT("")};
        return S3E_OK;
    }
    return rc < 0 ? S3E_INTERNAL : S3E_OK;
}

/* Every canonical id granted must name an account: InvalidArgument else.
 * names (may be NULL) gets each CanonicalUser grantee's name. */
static enum s3_err
known_ids(struct s3_req *q, const struct md_grant *g, size_t n, struct str *names)
{
    struct md_account *accts = NULL;
    size_t n_accts = 0;
    bool loaded = false;

    for (size_t i = 0; i < n; i++) {
        bool found = false;

        if (names != NULL)
            names[i] = STR_LIT("");
        if (g[i].kind != MD_GRANTEE_ID)
            continue;
        if (!loaded) {
            if (md_account_list(md_reader(q->srv->md), q->arena, &accts, &n_accts) < 0)
                return S3E_INTERNAL;
            loaded = true;
        }
        for (size_t k = 0; k < n_accts && !found; k++) {
            if (str_ieq(accts[k].canonical_id, g[i].grantee)) {
                found = true;
                if (names != NULL)
                    names[i] = accts[k].name;
            }
        }
        if (!found && names == NULL) {
            q->err_msg = "Invalid id";
            q->err_arg_name = "CanonicalUser/ID";
            q->err_arg_value = arena_cstr(q->arena, g[i].grantee);
            return S3E_INVALID_ARGUMENT;
        }
    }
    return S3E_OK;
}

/* Block Public Access of the bucket combined with its owner account's
 * [§7]: the most restrictive wins. */
static enum s3_err
pab_of(struct s3_req *q, const struct md_bucket *b, struct md_pab *out)
{
    struct md_account owner;
    enum s3_err err;

    *out = b->pab;
    if (out->block_public_acls && out->ignore_public_acls)
        return S3E_OK;
    err = account_of(q, b->account_id, &owner);
    if (err != S3E_OK)
        return err;
    out->block_public_acls = out->block_public_acls || owner.pab.block_public_acls;
    out->ignore_public_acls = out->ignore_public_acls || owner.pab.ignore_public_acls;
    return S3E_OK;
}

/* ---- what a request asks for ------------------------------------------------ */

static void
headers_of(struct s3_req *q, struct s3_acl_hdrs *h)
{
    static const char *const names[] = {
        [MD_PERM_READ] = "x-amz-grant-read",
        [MD_PERM_WRITE] = "x-amz-grant-write",
        [MD_PERM_READ_ACP] = "x-amz-grant-read-acp",
        [MD_PERM_WRITE_ACP] = "x-amz-grant-write-acp",
        [MD_PERM_FULL_CONTROL] = "x-amz-grant-full-control",
    };

    /* A browser POST upload carries its ACL in the form (s3_post.c). */
    /* A browser POST upload carries its canned ACL in the form (s3_post.c). */
    h->canned = q->is_post_form ? q->post_acl : http_header(q->http, "x-amz-acl");
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        h->grant[i] = http_header(q->http, names[i]);
}

static enum s3_err
parse_headers(struct s3_req *q, struct s3_acl_req *r)
{
    struct s3_acl_hdrs h;
    const char *msg = NULL, *arg = NULL;
    enum s3_err err;

    headers_of(q, &h);
    err = s3_acl_parse_headers(q->arena, &h, r, &msg, &arg);
    if (err != S3E_OK) {
        q->err_msg = msg;
        if (arg != NULL) {
            q->err_arg_name = arg;
            q->err_arg_value = arena_cstr(q->arena, http_header(q->http, arg));
        }
        if (err == S3E_METHOD_NOT_ALLOWED) {
            q->err_method = q->http->method.p != NULL ? arena_cstr(q->arena, q->http->method)
                                                      : "PUT";
            q->err_resource_type = q->key.p != NULL ? "OBJECT" : "BUCKET";
        }
    }
    return err;
}

/* Put*Acl: headers or a document, not both [§6.2 decision]. */
static enum s3_err
parse_put(struct s3_req *q, struct s3_acl_req *r)
{
    struct str body;
    const char *msg = NULL;
    enum s3_err err = parse_headers(q, r);

    if (err == S3E_OK)
        err = s3_body_read_all(q, S3_MAX_XML_BODY, &body);
    if (err != S3E_OK)
        return err;
    if (r->present) {
        if (!s3_is_blank(body)) {
            q->err_msg = "Specifying both an access control policy document and ACL headers "
                         "is not allowed";
            return S3E_INVALID_REQUEST;
        }
        return S3E_OK;
    }
    if (s3_is_blank(body))
        return S3E_MISSING_REQUEST_BODY;
    err = s3_acl_parse_xml(q->arena, body, r, &msg);
    if (msg != NULL)
        q->err_msg = msg;
    return err;
}

/* Under BucketOwnerEnforced: the owner's full control alone [§6.1]. */
static bool
owner_full_control(const struct s3_acl_req *r, const struct md_grant *g, size_t n,
                   struct str owner)
{
    if (r->canned.p != NULL)
        return str_eq_c(r->canned, "private") || str_eq_c(r->canned, "bucket-owner-full-control");
    return s3_acl_owner_only(g, n, owner);
}

/* A public ACL under BlockPublicAcls: AccessDenied [§7]. */
static enum s3_err
block_public(struct s3_req *q, const struct md_bucket *b, const struct md_grant *g, size_t n)
{
    struct md_pab pab;
    enum s3_err err;

    if (!s3_acl_is_public(g, n))
        return S3E_OK;
    err = pab_of(q, b, &pab);
    if (err == S3E_OK && pab.block_public_acls)
        err = S3E_ACCESS_DENIED;
    return err;
}

static enum s3_err
encode(struct s3_req *q, const struct md_grant *g, size_t n, struct str *text)
{
    return md_acl_encode(g, n, q->arena, text) < 0 ? S3E_INTERNAL : S3E_OK;
}

/* ---- writes ----------------------------------------------------------------- */

enum s3_err
s3_acl_write_check(struct s3_req *q)
{
    const struct md_bucket *b = &q->b;
    struct md_account owner, bowner;
    struct s3_acl_req r;
    struct md_grant *g;
    size_t n;
    bool bofc;
    enum s3_err err = parse_headers(q, &r);

    q->acl_owner_id = q->account_id;
    q->acl_text = STR_NULL;
    if (err != S3E_OK || q->bucket_err != S3E_OK)
        return err; /* the handler answers NoSuchBucket */
    bofc = r.present && str_eq_c(r.canned, "bucket-owner-full-control");
    /* The new object's owner [§6.1]. */
    if (b->ownership == MD_OWN_ENFORCED || (b->ownership == MD_OWN_PREFERRED && bofc))
        q->acl_owner_id = b->account_id;
    if (!r.present)
        return S3E_OK;
    err = account_of(q, b->account_id, &bowner);
    if (err == S3E_OK)
        err = account_of(q, q->acl_owner_id, &owner);
    if (err != S3E_OK)
        return err;
    s3_acl_resolve(q->arena, &r, true, owner.canonical_id, bowner.canonical_id, &g, &n);
    if (b->ownership == MD_OWN_ENFORCED) {
        if (!owner_full_control(&r, g, n, bowner.canonical_id))
            return S3E_ACL_NOT_SUPPORTED;
    } else {
        err = known_ids(q, g, n, NULL);
        if (err == S3E_OK)
            err = block_public(q, b, g, n);
        if (err == S3E_OK)
            err = encode(q, g, n, &q->acl_text);
        if (err != S3E_OK)
            return err;
    }
    /* bucket-owner-full-control only gives the bucket owner what it may
     * have anyway: it needs no s3:PutObjectAcl [§3.2 decision, §10 case 36]. */
    if (bofc)
        return S3E_OK;
    return s3_authz_check(q, "s3:PutObjectAcl", b, q->key, STR_NULL, false, NULL);
}

enum s3_err
s3_acl_create_bucket(struct s3_req *q, enum md_ownership own, struct str *text)
{
    struct s3_acl_req r;
    struct md_grant *g;
    size_t n;
    enum s3_err err = parse_headers(q, &r);

    *text = STR_NULL;
    if (err != S3E_OK || !r.present)
        return err;
    s3_acl_resolve(q->arena, &r, false, q->account.canonical_id, q->account.canonical_id, &g,
                   &n);
    if (s3_acl_owner_only(g, n, q->account.canonical_id) &&
        (r.canned.p == NULL || str_eq_c(r.canned, "private")))
        return S3E_OK; /* private: what a new bucket has anyway */
    /* AWS: an ACL needs ACLs enabled in the same request [§6.1]. */
    if (own == MD_OWN_ENFORCED)
        return S3E_INVALID_BUCKET_ACL_WITH_OWNERSHIP;
    err = known_ids(q, g, n, NULL);
    /* A new bucket starts with every Block Public Access setting on. */
    if (err == S3E_OK && s3_acl_is_public(g, n))
        err = S3E_ACCESS_DENIED;
    if (err == S3E_OK)
        err = s3_authz_check(q, "s3:PutBucketAcl", NULL, STR_NULL, STR_NULL, false, NULL);
    if (err == S3E_OK)
        err = encode(q, g, n, text);
    return err;
}

/* ---- the decision's facts --------------------------------------------------- */

static const struct {
    const char *action;
    enum md_perm perm;
    bool object; /* granted by the object's ACL, else by the bucket's */
} perm_of[] = {
    {"s3:ListBucket", MD_PERM_READ, false},
    {"s3:ListBucketVersions", MD_PERM_READ, false},
    {"s3:ListBucketMultipartUploads", MD_PERM_READ, false},
    {"s3:PutObject", MD_PERM_WRITE, false},
    {"s3:DeleteObject", MD_PERM_WRITE, false},
    {"s3:DeleteObjectVersion", MD_PERM_WRITE, false},
    {"s3:GetBucketAcl", MD_PERM_READ_ACP, false},
    {"s3:PutBucketAcl", MD_PERM_WRITE_ACP, false},
    {"s3:GetObject", MD_PERM_READ, true},
    {"s3:GetObjectVersion", MD_PERM_READ, true},
    {"s3:GetObjectAcl", MD_PERM_READ_ACP, true},
    {"s3:GetObjectVersionAcl", MD_PERM_READ_ACP, true},
    {"s3:PutObjectAcl", MD_PERM_WRITE_ACP, true},
    {"s3:PutObjectVersionAcl", MD_PERM_WRITE_ACP, true},
};

/* Whether the grants of a resource owned by owner_id (text: its stored
 * ACL) allow perm to the caller. A grant to an account is the account's
 * to delegate: an IAM user of the bucket owner's account needs its own
 * identity Allow for the bucket owner's resources, as without ACLs; on a
 * foreign-owned object or across accounts authz_decide() asks for that
 * Allow beside the grant [§1.3]. */
static enum s3_err
grants_allow(struct s3_req *q, const struct md_bucket *b, struct str text, int64_t owner_id,
             bool foreign, enum md_perm perm, bool *allows)
{
    bool is_signed = !q->auth.is_anonymous;
    bool delegated = is_signed && !q->pr.is_root && q->account_id == b->account_id && !foreign;
    struct str caller = is_signed && !delegated ? q->account.canonical_id : STR_NULL;
    struct md_grant *g;
    struct md_pab pab = {0};
    size_t n;
    enum s3_err err;

    /* None stored: the owner's FULL_CONTROL alone, no read needed. */
    if (text.p == NULL || text.n == 0) {
        *allows = caller.p != NULL && q->account_id == owner_id;
        return S3E_OK;
    }
    s3_acl_load(q->arena, text, STR_NULL, &g, &n);
    if (s3_acl_is_public(g, n)) {
        err = pab_of(q, b, &pab);
        if (err != S3E_OK)
            return err;
    }
    *allows = s3_acl_allows(g, n, perm, caller, is_signed, pab.ignore_public_acls);
    return S3E_OK;
}

enum s3_err
s3_acl_facts(struct s3_req *q, const struct md_bucket *b, struct str resource, struct str vid,
             const char *action, bool *acl_allows, bool *foreign)
{
    struct str key = STR_NULL;
    struct md_version v;
    size_t i;
    int rc;

    *acl_allows = false;
    *foreign = false;
    if (b == NULL || b->ownership == MD_OWN_ENFORCED)
        return S3E_OK;
    for (i = 0; i < ARRAY_LEN(perm_of); i++)
        if (strcmp(action, perm_of[i].action) == 0)
            break;
    if (i == ARRAY_LEN(perm_of))
        return S3E_OK;
    if (!perm_of[i].object) {
        /* AWS: WRITE lets the bucket owner's grantee delete versions too,
         * no one else [§6.4]. */
        if (strcmp(action, "s3:DeleteObjectVersion") == 0 &&
            (q->auth.is_anonymous || q->account_id != b->account_id))
            return S3E_OK;
        return grants_allow(q, b, b->acl, b->account_id, false, perm_of[i].perm, acl_allows);
    }
    /* The key is what follows "arn:aws:s3:::BUCKET/". */
    if (resource.n > 14 + b->name.n && memcmp(resource.p, "arn:aws:s3:::", 13) == 0 &&
        memcmp(resource.p + 13, b->name.p, b->name.n) == 0 && resource.p[13 + b->name.n] == '/')
        key = str_make(resource.p + 14 + b->name.n, resource.n - 14 - b->name.n);
    if (key.p == NULL)
        return S3E_OK;
    rc = md_version_get(md_reader(q->srv->md), b->id, key, vid.p != NULL ? vid : STR_NULL,
                        q->arena, &v);
    if (rc == -ENOENT || rc == -EINVAL)
        return S3E_OK; /* nothing there: the handler's 404 or 403 */
    if (rc < 0)
        return S3E_INTERNAL;
    if (v.is_delete_marker)
        return S3E_OK;
    *foreign = v.owner_id != b->account_id;
    return grants_allow(q, b, v.acl, v.owner_id, *foreign, perm_of[i].perm, acl_allows);
}

/* ---- Get/PutBucketAcl ------------------------------------------------------- */

/* Renders and sends the ACL of a resource owned by owner. */
static enum s3_err
reply_acl(struct s3_req *q, const struct md_bucket *b, const struct md_account *owner,
          struct str text)
{
    struct md_grant *g;
    struct str *names;
    struct md_pab pab;
    struct buf x;
    size_t n;
    enum s3_err err;

    /* BucketOwnerEnforced: the bucket owner with FULL_CONTROL, whatever
     * was stored before [§6.1]. */
    s3_acl_load(q->arena, b->ownership == MD_OWN_ENFORCED ? STR_NULL : text, owner->canonical_id,
                &g, &n);
    names = arena_alloc(q->arena, n * sizeof(*names));
    err = known_ids(q, g, n, names);
    if (err == S3E_OK)
        err = pab_of(q, b, &pab);
    if (err != S3E_OK)
        return err;
    buf_init(&x, 256 * 1024);
    if (s3_acl_render(&x, owner->canonical_id, owner->name, g, names, n,
                      pab.ignore_public_acls) < 0) {
        buf_free(&x);
        return S3E_INTERNAL;
    }
    (void)s3_reply_xml(q, 200, &x);
    return S3E_OK;
}

enum s3_err
s3_get_bucket_acl(struct s3_req *q)
{
    struct md_account owner;
    struct md_bucket b;
    enum s3_err err = s3_req_bucket(q, &b);

    if (err == S3E_OK)
        err = account_of(q, b.account_id, &owner);
    if (err != S3E_OK)
        return err;
    return reply_acl(q, &b, &owner, b.acl);
}

struct column_write {
    int64_t bucket_id; /* as authorized */
    struct str bucket;
    struct str key;    /* STR_NULL: the bucket's own column */
    struct str vid;    /* the version seen */
    enum s3_column col;
    struct str text;
    struct arena *arena;
    enum s3_err err; /* set on every run */
};

static int
column_write_fn(struct md_conn *c, void *arg)
{
    struct column_write *w = arg;
    struct md_bucket b;
    struct md_version v;
    int rc;

    w->err = S3E_OK;
    rc = md_bucket_get(c, w->bucket, w->arena, &b);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    if (rc == -ENOENT || b.id != w->bucket_id) {
        w->err = S3E_NO_SUCH_BUCKET; /* deleted (and maybe made again) meanwhile */
        return -ENOENT;
    }
    if (w->key.p == NULL)
        return w->col == S3_COL_ACL    ? md_bucket_set_acl(c, b.id, w->text)
               : w->col == S3_COL_TAGS ? md_bucket_set_tags(c, b.id, w->text)
                                       : md_bucket_set_cors(c, b.id, w->text);
    ASSERT(w->col != S3_COL_CORS);
    rc = md_version_get(c, b.id, w->key, w->vid, w->arena, &v);
    if (rc == -ENOENT) {
        w->err = S3E_NO_SUCH_KEY; /* removed meanwhile */
        return rc;
    }
    if (rc < 0)
        return rc;
    return w->col == S3_COL_ACL ? md_version_set_acl(c, v.seq, w->text)
                                : md_version_set_tags(c, v.seq, w->text);
}

enum s3_err
s3_column_write(struct s3_req *q, const struct md_bucket *b, const struct md_version *v,
                enum s3_column col, struct str text)
{
    struct column_write w = {
        .bucket_id = b->id,
        .bucket = q->bucket,
        .key = v != NULL ? q->key : STR_NULL,
        .vid = v != NULL ? v->version_id : STR_NULL,
        .col = col,
        .text = text,
        .arena = q->arena,
    };
    int rc = md_write(q->srv->md, column_write_fn, &w);

    if (rc < 0) {
        if (w.err == S3E_NO_SUCH_KEY)
            q->err_key = q->key;
        return w.err != S3E_OK ? w.err : s3_err_from_errno(rc);
    }
    return S3E_OK;
}

/* The ACL a Put*Acl asks for, judged: *text to store (p == NULL under
 * BucketOwnerEnforced: nothing changes). */
static enum s3_err
judge_put(struct s3_req *q, const struct md_bucket *b, bool object,
          const struct md_account *owner, struct str *text)
{
    struct md_account bowner;
    struct s3_acl_req r;
    struct md_grant *g;
    size_t n;
    enum s3_err err = parse_put(q, &r);

    *text = STR_NULL;
    if (err == S3E_OK)
        err = account_of(q, b->account_id, &bowner);
    if (err != S3E_OK)
        return err;
    if (r.owner_id.p != NULL && !str_eq(r.owner_id, owner->canonical_id) &&
        !(b->ownership == MD_OWN_ENFORCED && str_eq(r.owner_id, bowner.canonical_id))) {
        q->err_msg = "The Owner ID does not match the owner of the resource";
        return S3E_INVALID_ARGUMENT;
    }
    if (b->ownership == MD_OWN_ENFORCED) {
        s3_acl_resolve(q->arena, &r, object, bowner.canonical_id, bowner.canonical_id, &g, &n);
        return owner_full_control(&r, g, n, bowner.canonical_id) ? S3E_OK
                                                                  : S3E_ACL_NOT_SUPPORTED;
    }
    s3_acl_resolve(q->arena, &r, object, owner->canonical_id, bowner.canonical_id, &g, &n);
    err = known_ids(q, g, n, NULL);
    if (err == S3E_OK)
        err = block_public(q, b, g, n);
    if (err == S3E_OK)
        err = encode(q, g, n, text);
    return err;
}

enum s3_err
s3_put_bucket_acl(struct s3_req *q)
{
    struct md_account owner;
    struct md_bucket b;
    struct str text = STR_NULL;
    enum s3_err err = s3_req_bucket(q, &b);

    if (err == S3E_OK)
        err = account_of(q, b.account_id, &owner);
    if (err == S3E_OK)
        err = judge_put(q, &b, false, &owner, &text);
    if (err == S3E_OK && text.p != NULL)
        err = s3_column_write(q, &b, NULL, S3_COL_ACL, text);
    if (err != S3E_OK)
        return err;
    (void)s3_reply_empty(q, 200);
    return S3E_OK;
}

/* ---- Get/PutObjectAcl ------------------------------------------------------- */

/* As GET finds it: a current delete marker is NoSuchKey. ?tagging
 * (s3_tagging_ops.c) shares it. */
enum s3_err
s3_object_version(struct s3_req *q, const struct md_bucket *b, struct md_version *v)
{
    struct str vid;
    enum s3_err err = s3_version_param(q, &vid);
    int rc;

    if (err != S3E_OK)
        return err;
    rc = md_version_get(md_reader(q->srv->md), b->id, q->key, vid, q->arena, v);
    if (rc == -ENOENT || (rc == 0 && v->is_delete_marker && vid.p == NULL)) {
        q->err_key = q->key;
        if (vid.p != NULL) {
            q->err_version_id = vid;
            return S3E_NO_SUCH_VERSION;
        }
        return S3E_NO_SUCH_KEY;
    }
    if (rc < 0)
        return S3E_INTERNAL;
    if (v->is_delete_marker) {
        http_resp_header(q->http, "x-amz-delete-marker", STR_LIT("true"));
        q->err_method = q->http->method.p != NULL ? arena_cstr(q->arena, q->http->method) : "GET";
        q->err_resource_type = "DeleteMarker";
        return S3E_METHOD_NOT_ALLOWED;
    }
    if (b->versioning != MD_VER_NONE)
        http_resp_header(q->http, "x-amz-version-id", v->version_id);
    return S3E_OK;
}

enum s3_err
s3_get_object_acl(struct s3_req *q)
{
    struct md_account owner;
    struct md_bucket b;
    struct md_version v;
    enum s3_err err = s3_req_bucket(q, &b);

    if (err == S3E_OK)
        err = s3_object_version(q, &b, &v);
    /* BucketOwnerEnforced: the bucket owner owns every object. */
    if (err == S3E_OK)
        err = account_of(q, b.ownership == MD_OWN_ENFORCED ? b.account_id : v.owner_id, &owner);
    if (err != S3E_OK)
        return err;
    return reply_acl(q, &b, &owner, v.acl);
}

enum s3_err
s3_put_object_acl(struct s3_req *q)
{
    struct md_account owner;
    struct md_bucket b;
    struct md_version v;
    struct str text = STR_NULL;
    enum s3_err err = s3_req_bucket(q, &b);

    if (err == S3E_OK)
        err = s3_object_version(q, &b, &v);
    if (err == S3E_OK)
        err = account_of(q, v.owner_id, &owner);
    if (err == S3E_OK)
        err = judge_put(q, &b, true, &owner, &text);
    if (err == S3E_OK && text.p != NULL)
        err = s3_column_write(q, &b, &v, S3_COL_ACL, text);
    if (err != S3E_OK)
        return err;
    (void)s3_reply_empty(q, 200);
    return S3E_OK;
}
