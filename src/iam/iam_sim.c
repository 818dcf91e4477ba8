/* iam_sim.c -- SimulatePrincipalPolicy and SimulateCustomPolicy
 * [spec-authorization §5.3]: what-if decisions from the same policies and
 * the same authz_decide() as real requests (auth/authz_load.h). For each
 * action and resource: EvalDecision (allowed, explicitDeny, implicitDeny),
 * the statement's policy that decided (MatchedStatements, without source
 * positions: Coffer keeps none), and the condition keys a statement asked
 * for that ContextEntries did not hold (MissingContextValues). */
#include "common.h"

#include "auth/authz_load.h"
#include "iam/iam_int.h"
#include "util/log.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_MAX_ITEMS 1000 /* actions, resources, inputs, context entries, values */

/* The values of NAME.member.1, NAME.member.2, ... (until the first gap). */
static enum iam_err
member_list(struct iam *x, const char *name, struct str **out, size_t *n)
{
    size_t cap = 8;

    *out = arena_alloc(x->a, cap * sizeof(**out));
    *n = 0;
    for (;;) {
        struct str v = iam_arg(x, arena_printf(x->a, "%s.member.%zu", name, *n + 1));
        if (v.p == NULL)
            return IAM_E_OK;
        if (*n == SIM_MAX_ITEMS)
            return iam_fail(x, IAM_E_INVALID_INPUT, "Too many %s.", name);
        if (*n == cap) {
            struct str *m = arena_alloc(x->a, cap * 2 * sizeof(*m));
            memcpy(m, *out, cap * sizeof(*m));
            *out = m;
            cap *= 2;
        }
        (*out)[(*n)++] = v;
    }
}

/* ContextEntries.member.N.{ContextKeyName, ContextKeyValues.member.M,
 * ContextKeyType}. The type only says how to read the values; the
 * evaluator reads them by operator, as for requests. */
static enum iam_err
context_entries(struct iam *x, struct authz_ctx_entry **out, size_t *n)
{
    static const char *const types[] = {"string", "stringList", "numeric", "numericList",
                                        "boolean", "booleanList", "ip", "ipList",
                                        "binary", "binaryList", "date", "dateList"};
    enum iam_err err = IAM_E_OK;

    *out = arena_zalloc(x->a, SIM_MAX_ITEMS * sizeof(**out));
    *n = 0;
    while (err == IAM_E_OK && *n < SIM_MAX_ITEMS) {
        const char *base = arena_printf(x->a, "ContextEntries.member.%zu", *n + 1);
        struct str name = iam_arg(x, arena_printf(x->a, "%s.ContextKeyName", base));
        struct str type = iam_arg(x, arena_printf(x->a, "%s.ContextKeyType", base));
        struct authz_ctx_entry *e = &(*out)[*n];
        bool known = false;
        struct str *vals;

        if (name.p == NULL)
            break;
        if (name.n == 0 || name.n > 256)
            return iam_invalid(x, "contextKeyName", name, "have length between 5 and 256");
        for (size_t i = 0; type.p != NULL && i < ARRAY_LEN(types); i++)
            known = known || str_eq_c(type, types[i]);
        if (type.p != NULL && !known)
            return iam_invalid(x, "contextKeyType", type,
                               "satisfy enum value set: [string, stringList, numeric, "
                               "numericList, boolean, booleanList, ip, ipList, binary, "
                               "binaryList, date, dateList]");
        err = member_list(x, arena_printf(x->a, "%s.ContextKeyValues", base), &vals, &e->n_vals);
        e->name = name;
        e->vals = vals;
        (*n)++;
    }
    return err;
}

/* PolicySourceArn: a user, group or role of the caller's account. */
static enum iam_err
source_entity(struct iam *x, struct str arn, enum md_entity *kind, int64_t *id,
              struct policy_principal *who)
{
    const char *prefix = arena_printf(x->a, "arn:aws:iam::%s:", x->acct);
    struct md_conn *c = md_reader(x->r->md);
    struct str rest, k, name;
    const char *slash;
    int rc = -ENOENT;

    if (arn.p == NULL)
        return iam_invalid(x, "policySourceArn", arn, "not be null");
    if (!str_has_prefix(arn, prefix))
        return iam_fail(x, IAM_E_INVALID_INPUT, "Invalid ARN %s: not a user, group or role of "
                                                "this account.", iam_shown(x, arn));
    rest = str_make(arn.p + strlen(prefix), arn.n - strlen(prefix));
    str_split(rest, '/', &k, &rest);
    slash = rest.n > 0 ? memrchr(rest.p, '/', rest.n) : NULL;
    name = slash ? str_make(slash + 1, rest.n - (size_t)(slash + 1 - rest.p)) : rest;
    if (str_eq_c(k, "user")) {
        struct md_user u;
        *kind = MD_ENT_USER;
        if ((rc = md_user_get_by_name(c, x->r->account_id, name, x->a, &u)) == 0)
            *id = u.id;
    } else if (str_eq_c(k, "group")) {
        struct md_group g;
        *kind = MD_ENT_GROUP;
        if ((rc = md_group_get_by_name(c, x->r->account_id, name, x->a, &g)) == 0)
            *id = g.id;
    } else if (str_eq_c(k, "role")) {
        struct md_role r;
        *kind = MD_ENT_ROLE;
        if ((rc = md_role_get_by_name(c, x->r->account_id, name, x->a, &r)) == 0)
            *id = r.id;
    }
    if (rc == -ENOENT)
        return iam_fail(x, IAM_E_NO_SUCH_ENTITY, "The entity %s cannot be found.",
                        iam_shown(x, arn));
    if (rc < 0)
        return IAM_E_INTERNAL;
    *who = (struct policy_principal){.account = str_c(x->acct), .arn = arn,
                                     .canonical_id = x->r->account->canonical_id};
    return IAM_E_OK;
}

static const char *const decisions[] = {
    [AUTHZ_IMPLICIT_DENY] = "implicitDeny",
    [AUTHZ_ALLOW] = "allowed",
    [AUTHZ_EXPLICIT_DENY] = "explicitDeny",
};

/* What decided, as IAM names the policy and its type. */
static int
put_matched(struct iam *x, struct buf *res, const struct authz_sim_out *so,
            const struct authz_src *src, const char *const *input_ids)
{
    const char *id = NULL, *type = NULL;
    int rc;

    switch (so->out.source) {
    case AUTHZ_SRC_IDENTITY:
        if (input_ids != NULL) {
            id = input_ids[so->out.index];
            type = "none";
        } else {
            const struct authz_src *s = &src[so->out.index];
            id = arena_printf(x->a, "%.*s", STR_FMT(s->name));
            type = s->is_inline ? (s->kind == MD_ENT_GROUP  ? "group"
                                   : s->kind == MD_ENT_ROLE ? "role"
                                                            : "user")
                   : str_has_prefix(s->name, "arn:aws:iam::aws:") ? "aws-managed"
                                                                   : "user-managed";
        }
        break;
    case AUTHZ_SRC_RESOURCE:
        id = "ResourcePolicy";
        type = "resource";
        break;
    default:
        return xml_empty(res, "MatchedStatements");
    }
    rc = xml_open(res, "MatchedStatements");
    rc |= xml_open(res, "member");
    rc |= xml_elem_c(res, "SourcePolicyId", id);
    rc |= xml_elem_c(res, "SourcePolicyType", type);
    rc |= xml_close(res, "member");
    rc |= xml_close(res, "MatchedStatements");
    return rc;
}

/* The shared part: every (action, resource) pair, paged. */
static enum iam_err
simulate(struct iam *x, struct buf *res, const struct authz_sim_in *base,
         const struct authz_src *src, const char *const *input_ids)
{
    struct str *actions, *resources, marker;
    struct authz_ctx_entry *ctx;
    size_t n_act, n_res, n_ctx, max, start = 0, total, i;
    enum iam_err err;
    int rc = 0;

    err = member_list(x, "ActionNames", &actions, &n_act);
    if (err == IAM_E_OK)
        err = member_list(x, "ResourceArns", &resources, &n_res);
    if (err == IAM_E_OK)
        err = context_entries(x, &ctx, &n_ctx);
    if (err == IAM_E_OK)
        err = iam_get_paging(x, &max, &marker);
    if (err != IAM_E_OK)
        return err;
    if (n_act == 0)
        return iam_invalid(x, "actionNames", STR_NULL, "not be null");
    if (n_res == 0) {
        resources = arena_alloc(x->a, sizeof(*resources));
        resources[0] = STR_LIT("*");
        n_res = 1;
    }
    if (marker.p != NULL) {
        unsigned long long m;
        if (str_to_u64(marker, &m) < 0)
            return iam_fail(x, IAM_E_INVALID_INPUT, "Invalid Marker.");
        start = (size_t)m;
    }
    total = n_act * n_res;
    rc |= xml_open(res, "EvaluationResults");
    for (i = start; i < total && i < start + max; i++) {
        struct authz_sim_in in = *base;
        struct authz_sim_out so;
        in.action = actions[i / n_res];
        in.resource_arn = resources[i % n_res];
        in.ctx = ctx;
        in.n_ctx = n_ctx;
        authz_simulate(&in, x->a, &so);
        rc |= xml_open(res, "member");
        rc |= xml_elem(res, "EvalActionName", in.action);
        rc |= xml_elem(res, "EvalResourceName", in.resource_arn);
        rc |= xml_elem_c(res, "EvalDecision", decisions[so.out.decision]);
        rc |= put_matched(x, res, &so, src, input_ids);
        rc |= xml_open(res, "MissingContextValues");
        for (size_t j = 0; j < so.n_missing; j++)
            rc |= xml_elem(res, "member", so.missing[j]);
        rc |= xml_close(res, "MissingContextValues");
        rc |= xml_close(res, "member");
    }
    rc |= xml_close(res, "EvaluationResults");
    rc |= iam_put_paging(res, i < total, str_c(arena_printf(x->a, "%zu", i)));
    return rc != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

/* ResourcePolicy, as a bucket policy of the bucket the first S3 resource
 * names (the only resource policies Coffer has). */
static enum iam_err
resource_policy(struct iam *x, struct policy **out)
{
    struct str doc = iam_arg(x, "ResourcePolicy"), r = iam_arg(x, "ResourceArns.member.1");
    struct policy_opts o = {.kind = POLICY_BUCKET};
    char msg[256];

    *out = NULL;
    if (doc.p == NULL)
        return IAM_E_OK;
    if (r.p == NULL || !str_has_prefix(r, "arn:aws:s3:::"))
        return iam_fail(x, IAM_E_INVALID_INPUT,
                        "A ResourcePolicy needs ResourceArns naming an S3 bucket or object.");
    r = str_make(r.p + 13, r.n - 13);
    str_split(r, '/', &o.bucket, &r);
    if (policy_parse(doc, &o, out, msg, sizeof(msg)) < 0)
        return iam_fail(x, IAM_E_MALFORMED_POLICY, "%s", msg);
    return IAM_E_OK;
}

/* The resource's owner: ResourceOwner (an account ARN or 12 digits) or,
 * without it, the caller's account. */
static bool
same_account(struct iam *x)
{
    struct str o = iam_arg(x, "ResourceOwner");
    const char *root = arena_printf(x->a, "arn:aws:iam::%s:root", x->acct);

    return o.p == NULL || str_eq_c(o, x->acct) || str_eq_c(o, root);
}

enum iam_err
iam_simulate_principal_policy(struct iam *x, struct buf *res)
{
    struct authz_sim_in in = {0};
    struct authz_set set = {0};
    struct policy *rp = NULL;
    enum md_entity kind = MD_ENT_USER;
    int64_t id = 0;
    enum iam_err err;
    int rc;

    err = source_entity(x, iam_arg(x, "PolicySourceArn"), &kind, &id, &in.who);
    if (err == IAM_E_OK)
        err = resource_policy(x, &rp);
    if (err != IAM_E_OK)
        return err;
    rc = authz_load(md_reader(x->r->md), kind, id, x->a, &set);
    if (rc < 0) {
        policy_free(rp);
        return IAM_E_INTERNAL;
    }
    in.same_account = same_account(x);
    in.ids = (const struct policy *const *)set.pols;
    in.n_ids = set.n;
    in.resource = rp;
    err = simulate(x, res, &in, set.src, NULL);
    authz_set_free(&set);
    policy_free(rp);
    return err;
}

enum iam_err
iam_simulate_custom_policy(struct iam *x, struct buf *res)
{
    struct policy_opts o = {.kind = POLICY_IDENTITY};
    struct authz_sim_in in = {0};
    struct str *docs, caller = iam_arg(x, "CallerArn");
    struct policy **pols = NULL, *rp = NULL;
    const char **ids;
    size_t n = 0, parsed = 0;
    enum iam_err err;
    char msg[256];

    err = member_list(x, "PolicyInputList", &docs, &n);
    if (err == IAM_E_OK && n == 0)
        err = iam_invalid(x, "policyInputList", STR_NULL, "not be null");
    if (err == IAM_E_OK)
        err = resource_policy(x, &rp);
    if (err != IAM_E_OK)
        return err;
    pols = calloc(n, sizeof(*pols));
    ASSERT(pols != NULL);
    ids = arena_alloc(x->a, n * sizeof(*ids));
    for (; parsed < n && err == IAM_E_OK; parsed++) {
        ids[parsed] = arena_printf(x->a, "PolicyInputList.%zu", parsed + 1);
        if (policy_parse(docs[parsed], &o, &pols[parsed], msg, sizeof(msg)) < 0)
            err = iam_fail(x, IAM_E_MALFORMED_POLICY, "%s", msg);
    }
    if (err == IAM_E_OK) {
        in.who = (struct policy_principal){
            .account = str_c(x->acct),
            .arn = caller.p != NULL ? caller : str_c(iam_principal_arn(x, &x->caller)),
            .canonical_id = x->r->account->canonical_id,
        };
        in.same_account = same_account(x);
        in.ids = (const struct policy *const *)pols;
        in.n_ids = n;
        in.resource = rp;
        err = simulate(x, res, &in, NULL, ids);
    }
    for (size_t i = 0; i < n; i++)
        policy_free(pols[i]);
    free(pols);
    policy_free(rp);
    return err;
}
