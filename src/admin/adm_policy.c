/* adm_policy.c -- `coffer policy simulate`: would this principal be allowed
 * this action on this resource? The same policies (auth/authz_load.h) and
 * the same decision (authz_decide()) as a real request, the bucket's policy
 * included when the resource is in a bucket that has one; prints the
 * decision and the statement that made it. Condition keys are absent (a
 * what-if has no request): statements that need one are reported as such. */
#include "admin/adm.h"
#include "auth/authz_load.h"
#include "common.h"
#include "util/arena.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

static const char *const decisions[] = {
    [AUTHZ_IMPLICIT_DENY] = "implicitDeny",
    [AUTHZ_ALLOW] = "allowed",
    [AUTHZ_EXPLICIT_DENY] = "explicitDeny",
};

/* The bucket an S3 resource ARN names, if it exists and has a policy:
 * *pol parsed (caller frees), *owner its account. */
static int
bucket_policy(struct adm_cli *cli, const char *resource, struct policy **pol, int64_t *owner)
{
    struct policy_opts o = {.kind = POLICY_BUCKET};
    struct str r = str_c(resource), name, rest;
    struct md_bucket b;
    char msg[256];
    int rc;

    *pol = NULL;
    *owner = 0;
    if (!str_has_prefix(r, "arn:aws:s3:::"))
        return 0;
    r = str_make(r.p + 13, r.n - 13);
    str_split(r, '/', &name, &rest);
    rc = md_bucket_get(md_reader(cli->md), name, cli->a, &b);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return adm_internal("reading the bucket", rc);
    *owner = b.account_id;
    if (b.policy.p == NULL)
        return 0;
    o.bucket = b.name;
    if (policy_parse(b.policy, &o, pol, msg, sizeof(msg)) < 0)
        return adm_fail("the policy of bucket %.*s does not parse: %s", STR_FMT(b.name), msg);
    return 0;
}

/* "user inline policy p (of group g)", "managed policy ARN", "bucket policy". */
static const char *
describe(struct adm_cli *cli, const struct authz_sim_out *so, const struct authz_set *set)
{
    static const char *const kinds[] = {[MD_ENT_USER] = "user", [MD_ENT_GROUP] = "group",
                                        [MD_ENT_ROLE] = "role"};
    const struct authz_src *s;

    switch (so->out.source) {
    case AUTHZ_SRC_IDENTITY:
        s = &set->src[so->out.index];
        if (s->is_inline)
            return arena_printf(cli->a, "inline policy %.*s of %s %.*s", STR_FMT(s->name),
                                kinds[s->kind], STR_FMT(s->entity));
        return arena_printf(cli->a, "managed policy %.*s (attached to %s %.*s)", STR_FMT(s->name),
                            kinds[s->kind], STR_FMT(s->entity));
    case AUTHZ_SRC_RESOURCE:
        return "the bucket policy";
    case AUTHZ_SRC_ROOT:
        return "the account root's own resources";
    default:
        return NULL;
    }
}

int
adm_policy_simulate(struct adm_cli *cli)
{
    struct authz_set set = {0};
    struct authz_sim_in in = {0};
    struct authz_sim_out so;
    struct adm_principal p;
    struct policy *bp = NULL;
    const char *what, *sid;
    char acct[13];
    int64_t owner;
    int rc;

    rc = adm_principal_get(cli, cli->account, cli->user, &p);
    if (rc != 0)
        return rc;
    rc = bucket_policy(cli, cli->resource, &bp, &owner);
    if (rc != 0)
        return rc;
    snprintf(acct, sizeof(acct), "%012lld", (long long)p.account.id);
    in.who.account = str_c(acct);
    in.who.canonical_id = p.account.canonical_id;
    if (p.user_id == 0) {
        in.is_root = true;
        in.who.arn = str_c(arena_printf(cli->a, "arn:aws:iam::%s:root", acct));
    } else {
        in.who.arn = str_c(
            arena_printf(cli->a, "arn:aws:iam::%s:user/%.*s", acct, STR_FMT(p.user_name)));
        rc = authz_load(md_reader(cli->md), MD_ENT_USER, p.user_id, cli->a, &set);
        if (rc < 0) {
            policy_free(bp);
            return adm_internal("reading the user's policies", rc);
        }
    }
    in.same_account = owner == 0 || owner == p.account.id;
    in.ids = (const struct policy *const *)set.pols;
    in.n_ids = set.n;
    in.resource = bp;
    in.action = str_c(cli->action);
    in.resource_arn = str_c(cli->resource);
    authz_simulate(&in, cli->a, &so);
    what = describe(cli, &so, &set);
    sid = so.out.hit.index >= 0 && so.out.hit.sid.n > 0
              ? arena_printf(cli->a, "%.*s", STR_FMT(so.out.hit.sid))
              : NULL;
    if (cli->json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:i, s:s?}", "principal",
                              arena_cstr(cli->a, in.who.arn), "action", cli->action, "decision",
                              decisions[so.out.decision], "source", what, "statement",
                              (int)so.out.hit.index, "sid", sid);
        json_t *m = json_array();
        for (size_t i = 0; o != NULL && m != NULL && i < so.n_missing; i++)
            json_array_append_new(m, adm_jstr(so.missing[i]));
        if (o != NULL && m != NULL)
            json_object_set_new(o, "missing_context_keys", m);
        rc = adm_print_json(o);
    } else {
        printf("principal: %.*s\naction:    %s\nresource:  %s\ndecision:  %s\n",
               STR_FMT(in.who.arn), cli->action, cli->resource, decisions[so.out.decision]);
        if (what != NULL && so.out.hit.index >= 0)
            printf("statement: %d%s%s%s of %s\n", so.out.hit.index + 1, sid ? " (Sid " : "",
                   sid ? sid : "", sid ? ")" : "", what);
        else if (what != NULL)
            printf("by:        %s\n", what);
        else
            printf("by:        no statement applies (default deny)\n");
        for (size_t i = 0; i < so.n_missing; i++)
            printf("needs:     condition key %.*s (a simulation has no request)\n",
                   STR_FMT(so.missing[i]));
    }
    authz_set_free(&set);
    policy_free(bp);
    return rc;
}
