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
#include "auth/authz_load.h"
#include "s3/s3_authz.h"
#include "s3/s3_acl.h"
#include "util/log.h"
#include "util/tm.h"

/* ---- the per-thread cache ------------------------------------------------ */

#define CACHE_IDS 32      /* principals with their identity policies */
#define CACHE_BUCKETS 32  /* bucket policies */
#define CACHE_SESSIONS 32 /* role sessions' session policies */

/* An IAM user's or a role's identity policies, keyed by (kind, id). */
struct ident_entry {
    enum md_entity kind;  /* MD_ENT_USER or MD_ENT_ROLE */
    int64_t id;
    char *name;           /* the user's or role's name (malloc) */
    char *path, *uid;     /* a role's path and "AROA..." id (malloc); NULL for users */
    struct policy **pols; /* malloc array of n */
    size_t n;
};

/* A role session's session policies (AssumeRole's Policy, then the
 * documents its PolicyArns name), keyed by the session's access key. */
struct session_entry {
    char *key_id;         /* malloc */
    struct policy **pols; /* malloc array of n */
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
    int64_t gen; /* of the identity and session entries */
    struct ident_entry ids[CACHE_IDS];
    size_t n_ids;
    struct session_entry sessions[CACHE_SESSIONS];
    size_t n_sessions;
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
    free(e->path);
    free(e->uid);
    *e = (struct ident_entry){0};
}

static void
session_clear(struct session_entry *e)
{
    for (size_t i = 0; i < e->n; i++)
        policy_free(e->pols[i]);
    free(e->pols);
    free(e->key_id);
    *e = (struct session_entry){0};
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
    for (size_t i = 0; i < c->n_sessions; i++)
        session_clear(&c->sessions[i]);
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

/* The cache entry of the caller's identity policies at generation gen (an
 * IAM user's; a role session's role's), loaded on a miss. S3E_OK,
 * S3E_ACCESS_DENIED (a role session whose role is gone grants nothing), or
 * S3E_INTERNAL (store failure, or a stored policy that does not parse:
 * denying is safer than skipping a Deny). */
static enum s3_err
ident_load(struct s3_req *q, struct cache *ch, int64_t gen, struct ident_entry **out)
{
    struct md_conn *c = md_reader(q->srv->md);
    enum md_entity kind = q->key_info.role_id > 0 ? MD_ENT_ROLE : MD_ENT_USER;
    int64_t id = kind == MD_ENT_ROLE ? q->key_info.role_id : q->user_id;
    struct md_user u = {0};
    struct md_role r = {0};
    struct authz_set set;
    struct ident_entry *e;
    int rc;

    if (ch->gen != gen) {
        for (size_t i = 0; i < ch->n_ids; i++)
            ident_clear(&ch->ids[i]);
        for (size_t i = 0; i < ch->n_sessions; i++)
            session_clear(&ch->sessions[i]);
        ch->n_ids = 0;
        ch->n_sessions = 0;
        ch->gen = gen;
    }
    for (size_t i = 0; i < ch->n_ids; i++)
        if (ch->ids[i].kind == kind && ch->ids[i].id == id) {
            *out = &ch->ids[i];
            return S3E_OK;
        }
    if (kind == MD_ENT_ROLE) {
        rc = md_role_get(c, id, q->arena, &r);
        if (rc == -ENOENT || (rc == 0 && r.account_id != q->account_id))
            return S3E_ACCESS_DENIED;
        u.name = r.name;
    } else {
        rc = md_user_get(c, id, q->arena, &u);
    }
    /* A stored policy that does not parse fails the request: denying is
     * safer than skipping a Deny. */
    if (rc < 0 || authz_load(c, kind, id, NULL, &set) < 0)
        return S3E_INTERNAL;
    if (ch->n_ids == CACHE_IDS) {
        for (size_t i = 0; i < ch->n_ids; i++)
            ident_clear(&ch->ids[i]);
        ch->n_ids = 0;
    }
    e = &ch->ids[ch->n_ids];
    e->pols = set.pols;
    e->n = set.n;
    e->name = strndup(u.name.p, u.name.n);
    ASSERT(e->name != NULL);
    if (kind == MD_ENT_ROLE) {
        e->path = strndup(r.path.p, r.path.n);
        e->uid = strndup(r.uid.p, r.uid.n);
        ASSERT(e->path != NULL && e->uid != NULL);
    }
    e->kind = kind;
    e->id = id;
    ch->n_ids++;
    *out = e;
    return S3E_OK;
}

/* The caller's session policies: *out NULL unless it is a role session
 * assumed with Policy or PolicyArns (then they cap its role's policies,
 * even when none of them parses to anything [§1.2 step 4]). Kept at the
 * generation ident_load() set: a PolicyArns document changes with its
 * policy's default version, which bumps it. An ARN that names nothing
 * grants nothing. S3E_OK or S3E_INTERNAL. */
static enum s3_err
session_load(struct s3_req *q, struct cache *ch, struct session_entry **out)
{
    const struct md_key *k = &q->key_info;
    struct md_conn *c = md_reader(q->srv->md);
    struct policy_opts o = {.kind = POLICY_IDENTITY};
    struct session_entry *e;
    struct str rest = k->session_policy_arns, arn;
    size_t cap = 2;
    char msg[256];

    *out = NULL;
    if (k->role_id == 0 || (k->session_policy.p == NULL && k->session_policy_arns.p == NULL))
        return S3E_OK;
    for (size_t i = 0; i < ch->n_sessions; i++) {
        e = &ch->sessions[i];
        if (strlen(e->key_id) == k->access_key_id.n &&
            memcmp(e->key_id, k->access_key_id.p, k->access_key_id.n) == 0) {
            *out = e;
            return S3E_OK;
        }
    }
    if (ch->n_sessions == CACHE_SESSIONS) {
        for (size_t i = 0; i < ch->n_sessions; i++)
            session_clear(&ch->sessions[i]);
        ch->n_sessions = 0;
    }
    for (size_t i = 0; i < rest.n; i++)
        cap += rest.p[i] == '\n';
    e = &ch->sessions[ch->n_sessions];
    e->key_id = strndup(k->access_key_id.p, k->access_key_id.n);
    e->pols = calloc(cap, sizeof(*e->pols));
    ASSERT(e->key_id != NULL && e->pols != NULL);
    if (k->session_policy.p != NULL) {
        if (policy_parse(k->session_policy, &o, &e->pols[e->n], msg, sizeof(msg)) < 0) {
            log_error("authz: the session policy of %.*s does not parse: %s",
                      STR_FMT(k->access_key_id), msg);
            goto fail;
        }
        e->n++;
    }
    while (rest.p != NULL && rest.n > 0) {
        struct str doc = STR_NULL;
        struct md_policy pol;
        struct md_policy_version v;
        int rc;
        str_split(rest, '\n', &arn, &rest);
        if (arn.n == 0)
            continue;
        rc = md_policy_get_by_arn(c, arn, q->arena, &pol);
        if (rc == 0)
            rc = md_policy_version_get(c, pol.id, pol.default_version, q->arena, &v);
        if (rc == 0)
            doc = v.document;
        else if (rc != -ENOENT)
            goto fail;
        if (authz_parse_stored(arn, doc, &e->pols[e->n]) < 0)
            goto fail;
        if (e->pols[e->n] != NULL)
            e->n++;
    }
    ch->n_sessions++;
    *out = e;
    return S3E_OK;
fail:
    session_clear(e);
    return S3E_INTERNAL;
}

/* The caller's identity and session policies (neither for the anonymous
 * caller or a root), and the principal's name and ARNs that come with
 * them. */
static enum s3_err
caller_policies(struct s3_req *q, struct cache *ch, struct ident_entry **ident,
                struct session_entry **sess)
{
    struct s3_principal *pr = &q->pr;
    int64_t gen = 0;
    enum s3_err err;

    *ident = NULL;
    *sess = NULL;
    if (pr->anonymous || pr->is_root)
        return S3E_OK;
    if (md_policy_gen(md_reader(q->srv->md), &gen) < 0)
        return S3E_INTERNAL;
    err = ident_load(q, ch, gen, ident);
    if (err == S3E_OK)
        err = session_load(q, ch, sess);
    if (err != S3E_OK)
        return err;
    if ((*ident)->kind == MD_ENT_ROLE) {
        /* AWS: a role session is its role for aws:PrincipalArn and for
         * policies naming the role, and its assumed-role ARN (no path) for
         * those naming the session [§2.2, §4.1]. */
        const struct ident_entry *e = *ident;
        pr->userid = str_c(
            arena_printf(q->arena, "%s:%.*s", e->uid, STR_FMT(q->key_info.session_name)));
        pr->who.arn = str_c(
            arena_printf(q->arena, "arn:aws:iam::%s:role%s%s", pr->account12, e->path, e->name));
        pr->who.session_arn =
            str_c(arena_printf(q->arena, "arn:aws:sts::%s:assumed-role/%s/%.*s", pr->account12,
                               e->name, STR_FMT(q->key_info.session_name)));
        return S3E_OK;
    }
    pr->user_name = str_c(arena_strndup(q->arena, (*ident)->name, strlen((*ident)->name)));
    pr->who.arn = str_c(
        arena_printf(q->arena, "arn:aws:iam::%s:user/%s", pr->account12, (*ident)->name));
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
    /* Names, ids and ARNs come with the identity policies (caller_policies()). */
    if (q->key_info.role_id > 0) {
        pr->type = "AssumedRole";
        return S3E_OK;
    }
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
      struct str key, struct str vid, bool copy_source, struct authz_out *out)
{
    struct s3_principal *pr = &q->pr;
    struct cache *ch;
    struct ident_entry *ident = NULL;
    struct session_entry *sess = NULL;
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
    err = caller_policies(q, ch, &ident, &sess);
    if (err != S3E_OK)
        return err;
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
        .bucket = b,
        .obj_key = key,
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
        .has_session = sess != NULL,
        .sessions = sess != NULL ? (const struct policy *const *)sess->pols : NULL,
        .n_sessions = sess != NULL ? sess->n : 0,
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
    return check(q, action, resource_arn(q, b, key), b, key, vid, copy_source, out);
}

enum s3_err
s3_authz_check_arn(struct s3_req *q, const char *action, struct str resource,
                   struct authz_out *out)
{
    return check(q, action, resource, NULL, STR_NULL, STR_NULL, false, out);
}

enum s3_err
s3_authz_check_trust(struct s3_req *q, const char *action, struct str role_arn,
                     const struct policy *trust, int64_t role_account, bool mfa_now,
                     struct authz_out *out)
{
    struct s3_principal *pr = &q->pr;
    struct ident_entry *ident = NULL;
    struct session_entry *sess = NULL;
    struct s3_authz_ctx x;
    struct authz_in in;
    struct authz_out tmp;
    enum s3_err err;

    if (out == NULL)
        out = &tmp;
    *out = (struct authz_out){0};
    err = s3_authz_principal(q);
    if (err == S3E_OK)
        err = caller_policies(q, cache_get(), &ident, &sess);
    if (err != S3E_OK)
        return err;
    x = (struct s3_authz_ctx){
        .ctx =
            {
                .action = str_c(action),
                .resource = role_arn,
                .who = pr->who,
                .key = s3_authz_key,
                .arena = q->arena,
            },
        .q = q,
        .now_ms = tm_now_ms(),
        .mfa_now = mfa_now,
    };
    x.ctx.key_arg = &x;
    snprintf(x.owner_account, sizeof(x.owner_account), "%012lld", (long long)role_account);
    /* The trust policy is the role's resource policy, with one rule more
     * than other resource policies: it must let the caller in itself, by
     * name or through its account, even within the role's account (an
     * identity Allow alone is not enough, unlike spec §5.2's "same account:
     * either": AWS documents role trust policies as the one resource policy
     * that must always allow). Then authz_decide(): naming the account
     * delegates to the caller's identity policies, naming the caller
     * suffices, across accounts both sides must allow. */
    {
        struct policy_hit hit;
        if (policy_eval(trust, &x.ctx, &hit) != POLICY_ALLOW)
            return S3E_ACCESS_DENIED;
    }
    in = (struct authz_in){
        .ctx = &x.ctx,
        .is_root = pr->is_root,
        .same_account = !pr->anonymous && role_account == q->account_id,
        .ids = ident != NULL ? (const struct policy *const *)ident->pols : NULL,
        .n_ids = ident != NULL ? ident->n : 0,
        .has_session = sess != NULL,
        .sessions = sess != NULL ? (const struct policy *const *)sess->pols : NULL,
        .n_sessions = sess != NULL ? sess->n : 0,
        .resource = trust,
    };
    return authz_decide(&in, out) == AUTHZ_ALLOW ? S3E_OK : S3E_ACCESS_DENIED;
}
