/* s3_authz.c -- gathers what an S3 request's authorization is decided on
 * and asks authz_decide() (auth/authz.c) [spec-authorization §1]:
 *   - the principal (s3_authz_principal());
 *   - the caller's identity policies, parsed once per change of the policy
 *     generation (md_policy_gen(), which the admin CLI bumps too) and kept
 *     per thread, so evaluation takes no lock;
 *   - the bucket's policy, parsed once per distinct document and kept per
 *     thread beside the document it came from (the bucket row in hand is
 *     the truth: a cache keyed by the document cannot go stale).
 * The account root of the bucket's owner with no bucket policy in the way
 * needs none of it: nothing but a Deny can stop it [§1.2]. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "s3/s3_authz.h"
#include "s3/s3_acl.h"
#include "util/log.h"
#include "util/tm.h"

/* ---- the per-thread cache ------------------------------------------------ */

#define CACHE_IDS 32     /* principals with their identity policies */
#define CACHE_BUCKETS 32 /* bucket policies */

struct ident_entry {
    int64_t user_id;
    char *name;                /* the user's name (malloc) */
    struct policy **pols;      /* malloc array of n */
    size_t n;
};

struct bucket_entry {
    int64_t bucket_id;
    char *doc; /* the document it was parsed from (malloc), doc_n bytes */
    size_t doc_n;
    struct policy *pol;
    bool is_public;
};

struct cache {
    int64_t gen; /* of the identity entries */
    struct ident_entry ids[CACHE_IDS];
    size_t n_ids;
    struct bucket_entry buckets[CACHE_BUCKETS];
    size_t n_buckets;
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void
ident_clear(struct ident_entry *e)
{
    for (size_t i = 0; i < e->n; i++)
        policy_free(e->pols[i]);
    free(e->pols);
    free(e->name);
    *e = (struct ident_entry){0};
}

static void
bucket_clear(struct bucket_entry *e)
{
    policy_free(e->pol);
    free(e->doc);
    *e = (struct bucket_entry){0};
}

static void
cache_free(void *p)
{
    struct cache *c = p;

    for (size_t i = 0; i < c->n_ids; i++)
        ident_clear(&c->ids[i]);
    for (size_t i = 0; i < c->n_buckets; i++)
        bucket_clear(&c->buckets[i]);
    free(c);
}

static void
cache_key_init(void)
{
    ASSERT(pthread_key_create(&cache_key, cache_free) == 0);
}

static struct cache *
cache_get(void)
{
    struct cache *c;

    pthread_once(&cache_once, cache_key_init);
    c = pthread_getspecific(cache_key);
    if (c == NULL) {
        c = calloc(1, sizeof(*c));
        ASSERT(c != NULL);
        c->gen = -1;
        ASSERT(pthread_setspecific(cache_key, c) == 0);
    }
    return c;
}

/* ---- identity policies --------------------------------------------------- */

/* Parses one stored identity policy: customer documents were validated when
 * stored, AWS managed ones are built in. NULL when it does not parse (a
 * document an older Coffer accepted): the caller fails closed. */
static struct policy *
parse_identity(const struct md_principal_policy *pp)
{
    struct policy_opts o = {.kind = POLICY_IDENTITY};
    struct policy *p = NULL;
    struct str doc = pp->document;
    char msg[256];

    if (doc.p == NULL) {
        const char *m = policy_aws_managed(pp->name);
        if (m == NULL)
            return NULL; /* an attached ARN that names nothing: grants nothing */
        doc = str_c(m);
    }
    if (policy_parse(doc, &o, &p, msg, sizeof(msg)) < 0) {
        log_error("authz: stored policy %.*s of %.*s does not parse: %s", STR_FMT(pp->name),
                  STR_FMT(pp->source_name), msg);
        return NULL;
    }
    return p;
}

/* The cache entry of IAM user user_id at generation gen, loaded on a miss.
 * S3E_OK, or S3E_INTERNAL (store failure, or a stored policy that does not
 * parse: denying is safer than skipping a Deny). */
static enum s3_err
ident_load(struct s3_req *q, struct cache *ch, int64_t gen, struct ident_entry **out)
{
    struct md_conn *c = md_reader(q->srv->md);
    struct md_principal_policy *pp = NULL;
    struct md_user u;
    struct ident_entry *e;
    size_t n = 0;

    if (ch->gen != gen) {
        for (size_t i = 0; i < ch->n_ids; i++)
            ident_clear(&ch->ids[i]);
        ch->n_ids = 0;
        ch->gen = gen;
    }
    for (size_t i = 0; i < ch->n_ids; i++)
        if (ch->ids[i].user_id == q->user_id) {
            *out = &ch->ids[i];
            return S3E_OK;
        }
    if (md_user_get(c, q->user_id, q->arena, &u) < 0 ||
        md_principal_policies(c, MD_ENT_USER, q->user_id, q->arena, &pp, &n) < 0)
        return S3E_INTERNAL;
    if (ch->n_ids == CACHE_IDS) {
        for (size_t i = 0; i < ch->n_ids; i++)
            ident_clear(&ch->ids[i]);
        ch->n_ids = 0;
    }
    e = &ch->ids[ch->n_ids];
    e->pols = calloc(n > 0 ? n : 1, sizeof(*e->pols));
    e->name = strndup(u.name.p, u.name.n);
    ASSERT(e->pols != NULL && e->name != NULL);
    e->user_id = q->user_id;
    for (size_t i = 0; i < n; i++) {
        if (pp[i].document.p == NULL && policy_aws_managed(pp[i].name) == NULL)
            continue; /* attached but gone: nothing to apply */
        struct policy *p = parse_identity(&pp[i]);
        if (p == NULL) {
            ident_clear(e);
            return S3E_INTERNAL;
        }
        e->pols[e->n++] = p;
    }
    ch->n_ids++;
    *out = e;
    return S3E_OK;
}

/* ---- the bucket policy --------------------------------------------------- */

static enum s3_err
bucket_policy(const struct md_bucket *b, struct cache *ch, struct bucket_entry **out)
{
    struct policy_opts o = {.kind = POLICY_BUCKET, .bucket = b->name};
    struct bucket_entry *e;
    struct policy *p = NULL;
    char msg[256];

    for (size_t i = 0; i < ch->n_buckets; i++) {
        e = &ch->buckets[i];
        if (e->bucket_id == b->id) {
            if (e->doc_n == b->policy.n && memcmp(e->doc, b->policy.p, e->doc_n) == 0) {
                *out = e;
                return S3E_OK;
            }
            bucket_clear(e);
            *e = ch->buckets[--ch->n_buckets];
            break;
        }
    }
    if (policy_parse(b->policy, &o, &p, msg, sizeof(msg)) < 0) {
        log_error("authz: the policy of bucket %.*s does not parse: %s", STR_FMT(b->name), msg);
        return S3E_INTERNAL;
    }
    if (ch->n_buckets == CACHE_BUCKETS) {
        for (size_t i = 0; i < ch->n_buckets; i++)
            bucket_clear(&ch->buckets[i]);
        ch->n_buckets = 0;
    }
    e = &ch->buckets[ch->n_buckets++];
    e->bucket_id = b->id;
    e->doc = malloc(b->policy.n > 0 ? b->policy.n : 1);
    ASSERT(e->doc != NULL);
    memcpy(e->doc, b->policy.p, b->policy.n);
    e->doc_n = b->policy.n;
    e->pol = p;
    e->is_public = policy_is_public(p);
    *out = e;
    return S3E_OK;
}

/* ---- the principal ------------------------------------------------------- */

enum s3_err
s3_authz_principal(struct s3_req *q)
{
    struct s3_principal *pr = &q->pr;

    if (pr->is_set)
        return S3E_OK;
    pr->is_set = true;
    if (q->auth.is_anonymous) {
        pr->anonymous = true;
        pr->type = "Anonymous";
        pr->userid = STR_LIT("anonymous");
        pr->who.anonymous = true;
        return S3E_OK;
    }
    snprintf(pr->account12, sizeof(pr->account12), "%012lld", (long long)q->account_id);
    pr->who.account = str_c(pr->account12);
    pr->who.canonical_id = q->account.canonical_id;
    if (q->user_id == 0) {
        pr->is_root = true;
        pr->type = "Account";
        pr->userid = pr->who.account;
        pr->who.arn = str_c(arena_printf(q->arena, "arn:aws:iam::%s:root", pr->account12));
        return S3E_OK;
    }
    /* The name comes with the identity policies (ident_load()). */
    pr->type = "User";
    pr->userid = str_c(arena_printf(q->arena, "AIDA%017lld", (long long)q->user_id));
    return S3E_OK;
}

/* ---- the decision -------------------------------------------------------- */

static struct str
resource_arn(struct s3_req *q, const struct md_bucket *b, struct str key)
{
    /* No bucket row: CreateBucket names one; account-level actions take
     * "arn:aws:s3:::*" [§2.3 decision]. */
    if (b == NULL)
        return q->bucket.p != NULL
                   ? str_c(arena_printf(q->arena, "arn:aws:s3:::%.*s", STR_FMT(q->bucket)))
                   : STR_LIT("arn:aws:s3:::*");
    if (key.p == NULL)
        return str_c(arena_printf(q->arena, "arn:aws:s3:::%.*s", STR_FMT(b->name)));
    return str_c(
        arena_printf(q->arena, "arn:aws:s3:::%.*s/%.*s", STR_FMT(b->name), STR_FMT(key)));
}

static enum s3_err
check(struct s3_req *q, const char *action, struct str resource, const struct md_bucket *b,
      struct str vid, bool copy_source, struct authz_out *out)
{
    struct s3_principal *pr = &q->pr;
    struct cache *ch;
    struct ident_entry *ident = NULL;
    struct bucket_entry *bp = NULL;
    struct s3_authz_ctx x;
    struct authz_in in;
    struct authz_out tmp;
    enum s3_err err;
    bool same_account, restrict_public, acl_allows, foreign;

    if (out == NULL)
        out = &tmp;
    *out = (struct authz_out){0};
    err = s3_authz_principal(q);
    if (err != S3E_OK)
        return err;
    same_account = !pr->anonymous && (b == NULL || b->account_id == q->account_id);
    /* ACL grants and the object's owner (no read under BucketOwnerEnforced). */
    err = s3_acl_facts(q, b, resource, vid, action, &acl_allows, &foreign);
    if (err != S3E_OK)
        return err;
    /* The owner's root, no bucket policy: nothing can deny it (an object
     * another account owns is its ACL's [§1.6]). */
    if (pr->is_root && same_account && !foreign && (b == NULL || b->policy.p == NULL)) {
        out->decision = AUTHZ_ALLOW;
        out->source = AUTHZ_SRC_ROOT;
        return S3E_OK;
    }
    ch = cache_get();
    if (!pr->anonymous && !pr->is_root) {
        int64_t gen = 0;
        if (md_policy_gen(md_reader(q->srv->md), &gen) < 0)
            return S3E_INTERNAL;
        err = ident_load(q, ch, gen, &ident);
        if (err != S3E_OK)
            return err;
        pr->user_name = str_c(arena_strndup(q->arena, ident->name, strlen(ident->name)));
        pr->who.arn = str_c(
            arena_printf(q->arena, "arn:aws:iam::%s:user/%s", pr->account12, ident->name));
    }
    if (b != NULL && b->policy.p != NULL) {
        err = bucket_policy(b, ch, &bp);
        if (err != S3E_OK)
            return err;
    }
    x = (struct s3_authz_ctx){
        .ctx =
            {
                .action = str_c(action),
                .resource = resource,
                .who = pr->who,
                .key = s3_authz_key,
                .arena = q->arena,
            },
        .q = q,
        .now_ms = tm_now_ms(),
        .version_id = vid,
        .copy_source = copy_source,
    };
    x.ctx.key_arg = &x;
    if (b != NULL)
        snprintf(x.owner_account, sizeof(x.owner_account), "%012lld", (long long)b->account_id);
    /* RestrictPublicBuckets of the bucket or of its owner's account. */
    restrict_public = bp != NULL && bp->is_public && b->pab.restrict_public_buckets;
    if (bp != NULL && bp->is_public && !restrict_public) {
        struct md_account owner;
        if (same_account)
            restrict_public = q->account.pab.restrict_public_buckets;
        else if (md_account_get(md_reader(q->srv->md), b->account_id, q->arena, &owner) == 0)
            restrict_public = owner.pab.restrict_public_buckets;
        else
            return S3E_INTERNAL;
    }
    in = (struct authz_in){
        .ctx = &x.ctx,
        .is_root = pr->is_root,
        .same_account = same_account,
        .ids = ident != NULL ? (const struct policy *const *)ident->pols : NULL,
        .n_ids = ident != NULL ? ident->n : 0,
        .resource = bp != NULL ? bp->pol : NULL,
        .foreign_object = foreign,
        .acl_allows = acl_allows,
        .restrict_public = restrict_public,
    };
    return authz_decide(&in, out) == AUTHZ_ALLOW ? S3E_OK : S3E_ACCESS_DENIED;
}

enum s3_err
s3_authz_check(struct s3_req *q, const char *action, const struct md_bucket *b, struct str key,
               struct str vid, bool copy_source, struct authz_out *out)
{
    return check(q, action, resource_arn(q, b, key), b, vid, copy_source, out);
}

enum s3_err
s3_authz_check_arn(struct s3_req *q, const char *action, struct str resource,
                   struct authz_out *out)
{
    return check(q, action, resource, NULL, STR_NULL, false, out);
}
