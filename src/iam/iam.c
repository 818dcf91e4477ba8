/* iam.c -- one IAM/STS call: the action table, the form parameters, the
 * caller, and the response documents (results and errors) in the IAM/STS
 * XML format, and the authorize step of the policy actions. The actions
 * live in iam_mfa.c, iam_users.c, iam_policy.c, iam_groups.c, iam_roles.c
 * (with iam_entity.c) and iam_sts.c;
 * the HTTP front door in s3/s3_iam.c. */
#include "iam/iam.h"
#include "common.h"

#include "iam/iam_int.h"
#include "util/enc.h"
#include "util/log.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define IAM_XMLNS "https://iam.amazonaws.com/doc/2010-05-08/"
#define STS_XMLNS "https://sts.amazonaws.com/doc/2011-06-15/"
#define IAM_VERSION "2010-05-08"
#define STS_VERSION "2011-06-15"

static const struct {
    int status;
    const char *code, *msg;
} iam_errs[] = {
    [IAM_E_OK] = {200, "", ""},
#define IAM_ERR(name, status, code, msg) [IAM_E_##name] = {status, code, msg},
#include "iam/iam_errors.def"
#undef IAM_ERR
};

struct iam_action {
    const char *name;
    bool is_sts;
    bool has_result; /* false: the response has no <{Action}Result> */
    bool needs_tls;  /* the request carries an MFA code or the reply a secret or seed */
    enum iam_err (*fn)(struct iam *x, struct buf *res);
    /* Authorized as iam:<name> (sts:<name>) on this resource
     * (iam_action_resource()); IAM_RES_NONE: needs no permission. */
    enum iam_res res;
};

static const struct iam_action actions[] = {
    {"CreateVirtualMFADevice", false, true, true, iam_create_virtual_mfa_device, IAM_RES_MFA},
    {"EnableMFADevice", false, false, true, iam_enable_mfa_device, IAM_RES_USER},
    {"ResyncMFADevice", false, false, true, iam_resync_mfa_device, IAM_RES_USER},
    {"DeactivateMFADevice", false, false, false, iam_deactivate_mfa_device, IAM_RES_USER},
    {"DeleteVirtualMFADevice", false, false, false, iam_delete_virtual_mfa_device, IAM_RES_MFA},
    {"ListMFADevices", false, true, false, iam_list_mfa_devices, IAM_RES_USER},
    {"ListVirtualMFADevices", false, true, false, iam_list_virtual_mfa_devices, IAM_RES_MFAS},
    {"CreateUser", false, true, false, iam_create_user, IAM_RES_USER},
    {"GetUser", false, true, false, iam_get_user, IAM_RES_USER},
    {"ListUsers", false, true, false, iam_list_users, IAM_RES_USERS},
    {"DeleteUser", false, false, false, iam_delete_user, IAM_RES_USER},
    {"CreateAccessKey", false, true, true, iam_create_access_key, IAM_RES_USER},
    {"ListAccessKeys", false, true, false, iam_list_access_keys, IAM_RES_USER},
    {"DeleteAccessKey", false, false, false, iam_delete_access_key, IAM_RES_USER},
    /* name, is_sts, has_result, needs_tls, fn, resource authorized on */
    {"PutUserPolicy", false, false, false, iam_put_user_policy, IAM_RES_USER},
    {"GetUserPolicy", false, true, false, iam_get_user_policy, IAM_RES_USER},
    {"DeleteUserPolicy", false, false, false, iam_delete_user_policy, IAM_RES_USER},
    {"ListUserPolicies", false, true, false, iam_list_user_policies, IAM_RES_USER},
    {"AttachUserPolicy", false, false, false, iam_attach_user_policy, IAM_RES_USER},
    {"DetachUserPolicy", false, false, false, iam_detach_user_policy, IAM_RES_USER},
    {"ListAttachedUserPolicies", false, true, false, iam_list_attached_user_policies, IAM_RES_USER},
    {"ListGroupsForUser", false, true, false, iam_list_groups_for_user, IAM_RES_USER},
    {"CreatePolicy", false, true, false, iam_create_policy, IAM_RES_POLICY},
    {"GetPolicy", false, true, false, iam_get_policy, IAM_RES_POLICY},
    {"ListPolicies", false, true, false, iam_list_policies, IAM_RES_POLICIES},
    {"DeletePolicy", false, false, false, iam_delete_policy, IAM_RES_POLICY},
    {"CreatePolicyVersion", false, true, false, iam_create_policy_version, IAM_RES_POLICY},
    {"GetPolicyVersion", false, true, false, iam_get_policy_version, IAM_RES_POLICY},
    {"ListPolicyVersions", false, true, false, iam_list_policy_versions, IAM_RES_POLICY},
    {"DeletePolicyVersion", false, false, false, iam_delete_policy_version, IAM_RES_POLICY},
    {"SetDefaultPolicyVersion", false, false, false, iam_set_default_policy_version,
     IAM_RES_POLICY},
    {"ListEntitiesForPolicy", false, true, false, iam_list_entities_for_policy, IAM_RES_POLICY},
    {"CreateGroup", false, true, false, iam_create_group, IAM_RES_GROUP},
    {"GetGroup", false, true, false, iam_get_group, IAM_RES_GROUP},
    {"DeleteGroup", false, false, false, iam_delete_group, IAM_RES_GROUP},
    {"ListGroups", false, true, false, iam_list_groups, IAM_RES_GROUPS},
    {"AddUserToGroup", false, false, false, iam_add_user_to_group, IAM_RES_GROUP},
    {"RemoveUserFromGroup", false, false, false, iam_remove_user_from_group, IAM_RES_GROUP},
    {"PutGroupPolicy", false, false, false, iam_put_group_policy, IAM_RES_GROUP},
    {"GetGroupPolicy", false, true, false, iam_get_group_policy, IAM_RES_GROUP},
    {"DeleteGroupPolicy", false, false, false, iam_delete_group_policy, IAM_RES_GROUP},
    {"ListGroupPolicies", false, true, false, iam_list_group_policies, IAM_RES_GROUP},
    {"AttachGroupPolicy", false, false, false, iam_attach_group_policy, IAM_RES_GROUP},
    {"DetachGroupPolicy", false, false, false, iam_detach_group_policy, IAM_RES_GROUP},
    {"ListAttachedGroupPolicies", false, true, false, iam_list_attached_group_policies,
     IAM_RES_GROUP},
    {"CreateRole", false, true, false, iam_create_role, IAM_RES_ROLE},
    {"GetRole", false, true, false, iam_get_role, IAM_RES_ROLE},
    {"DeleteRole", false, false, false, iam_delete_role, IAM_RES_ROLE},
    {"ListRoles", false, true, false, iam_list_roles, IAM_RES_ROLES},
    {"UpdateAssumeRolePolicy", false, false, false, iam_update_assume_role_policy, IAM_RES_ROLE},
    {"PutRolePolicy", false, false, false, iam_put_role_policy, IAM_RES_ROLE},
    {"GetRolePolicy", false, true, false, iam_get_role_policy, IAM_RES_ROLE},
    {"DeleteRolePolicy", false, false, false, iam_delete_role_policy, IAM_RES_ROLE},
    {"ListRolePolicies", false, true, false, iam_list_role_policies, IAM_RES_ROLE},
    {"AttachRolePolicy", false, false, false, iam_attach_role_policy, IAM_RES_ROLE},
    {"DetachRolePolicy", false, false, false, iam_detach_role_policy, IAM_RES_ROLE},
    {"ListAttachedRolePolicies", false, true, false, iam_list_attached_role_policies, IAM_RES_ROLE},
    {"SimulatePrincipalPolicy", false, true, false, iam_simulate_principal_policy, IAM_RES_SOURCE},
    {"SimulateCustomPolicy", false, true, false, iam_simulate_custom_policy, IAM_RES_ANY},
    {"GetSessionToken", true, true, true, iam_get_session_token, IAM_RES_NONE},
    {"GetCallerIdentity", true, true, false, iam_get_caller_identity, IAM_RES_NONE},
    /* Decided inside, with the role's trust policy (authorize_trust). */
    {"AssumeRole", true, true, true, iam_assume_role, IAM_RES_NONE},
};

const char *
iam_err_code(enum iam_err err)
{
    ASSERT(err < IAM_E__COUNT);
    return iam_errs[err].code;
}

struct iam *
iam_new(const struct iam_req *r)
{
    struct iam *x = arena_zalloc(r->arena, sizeof(*x));

    x->r = r;
    x->a = r->arena;
    x->is_sts = r->is_sts;
    x->now_ms = r->now_ms;
    return x;
}

enum iam_err
iam_fail(struct iam *x, enum iam_err err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    x->msg = arena_vprintf(x->a, fmt, ap);
    va_end(ap);
    return err;
}

void
iam_set_msg(struct iam *x, const char *msg)
{
    x->msg = msg;
}

/* Body parameters first (a POST's form wins), then the query string's. */
static enum iam_err
parse_params(struct iam *x)
{
    struct str body = x->r->body, rest = body, item;
    size_t n = x->r->n_query + 1;

    for (size_t i = 0; i < body.n; i++)
        n += body.p[i] == '&';
    if (n > IAM_MAX_PARAMS)
        return iam_fail(x, IAM_E_MALFORMED_QUERY, "The request has more than %d parameters.",
                        IAM_MAX_PARAMS);
    x->params = arena_alloc(x->a, n * sizeof(*x->params));
    x->n_params = 0;
    while (rest.p != NULL && rest.n > 0) {
        struct str name, value;
        str_split(rest, '&', &item, &rest);
        if (item.n == 0)
            continue;
        str_split(item, '=', &name, &value);
        if (value.p == NULL)
            value = STR_LIT("");
        struct iam_param *sp = &x->params[x->n_params];
        if (uri_decode_form_arena(x->a, name, &sp->name) < 0 ||
            uri_decode_form_arena(x->a, value, &sp->value) < 0)
            return IAM_E_MALFORMED_QUERY;
        x->n_params++;
    }
    for (size_t i = 0; i < x->r->n_query; i++)
        x->params[x->n_params++] = x->r->query[i];
    return IAM_E_OK;
}

/* The caller as a principal, and the names used in ARNs and the audit log. */
static enum iam_err
load_caller(struct iam *x)
{
    enum iam_err err;

    snprintf(x->acct, sizeof(x->acct), "%012lld", (long long)x->r->account_id);
    if (x->r->key->role_id > 0) {
        /* A role session: its role, in the key's account (md_role_delete
         * takes the keys along, so a missing role is a vanishing race). */
        if (md_role_get(md_reader(x->r->md), x->r->key->role_id, x->a, &x->role) < 0 ||
            x->role.account_id != x->r->account_id)
            return IAM_E_INVALID_CLIENT_TOKEN;
        x->session = x->r->key->session_name;
        x->caller.user_id = -1;
        x->caller.name = x->role.name;
        x->caller.created_ms = x->r->key->created_ms;
        x->label = iam_principal_label(x, &x->caller);
        return IAM_E_OK;
    }
    err = iam_principal_by_id(x, x->r->user_id, &x->caller);
    if (err != IAM_E_OK) {
        /* A key whose user is gone: md_user_delete removes its keys. */
        return IAM_E_INVALID_CLIENT_TOKEN;
    }
    x->label = iam_principal_label(x, &x->caller);
    return IAM_E_OK;
}

static const struct iam_action *
find_action(struct iam *x, struct str name)
{
    for (size_t i = 0; i < ARRAY_LEN(actions); i++)
        if (actions[i].is_sts == x->is_sts && str_eq_c(name, actions[i].name))
            return &actions[i];
    return NULL;
}

enum iam_err
iam_prepare(struct iam *x)
{
    const struct iam_action *act;
    struct str action, version;
    enum iam_err err;

    err = load_caller(x);
    if (err != IAM_E_OK)
        return err;
    err = parse_params(x);
    if (err != IAM_E_OK)
        return err;
    action = iam_arg(x, "Action");
    version = iam_arg(x, "Version");
    if (action.p == NULL || action.n == 0)
        return IAM_E_MISSING_ACTION;
    act = find_action(x, action);
    if (act == NULL || !str_eq_c(version, x->is_sts ? STS_VERSION : IAM_VERSION))
        return iam_fail(x, IAM_E_INVALID_ACTION, "Could not find operation %s for version %s",
                        iam_shown(x, action),
                        version.p != NULL ? iam_shown(x, version) : "NO_VERSION_SPECIFIED");
    x->act = act;
    return IAM_E_OK;
}

const char *
iam_action_name(const struct iam *x)
{
    ASSERT(x->act != NULL);
    return x->act->name;
}

bool
iam_needs_tls(const struct iam *x)
{
    ASSERT(x->act != NULL);
    return x->act->needs_tls;
}

const char *
iam_action_iam_name(struct iam *x)
{
    ASSERT(x->act != NULL);
    return arena_printf(x->a, "iam:%s", x->act->name);
}

/* The path of the group or role named by param (Path when it does not
 * exist yet: CreateGroup, CreateRole), "/" by default. */
static struct str
entity_path(struct iam *x, enum iam_res res, const char *param)
{
    struct str name = iam_arg(x, param), path = iam_arg(x, "Path");
    struct md_conn *c = md_reader(x->r->md);
    struct md_group g;
    struct md_role r;

    if (name.p != NULL && res == IAM_RES_GROUP &&
        md_group_get_by_name(c, x->r->account_id, name, x->a, &g) == 0)
        return g.path;
    if (name.p != NULL && res == IAM_RES_ROLE &&
        md_role_get_by_name(c, x->r->account_id, name, x->a, &r) == 0)
        return r.path;
    return path.p != NULL && path.n > 0 ? path : STR_LIT("/");
}

const char *
iam_action_resource(struct iam *x)
{
    struct str v;

    ASSERT(x->act != NULL);
    /* The client's values as sent (the action validates them later): what
     * a policy's Resource is matched against. */
    switch (x->act->res) {
    case IAM_RES_NONE:
        return NULL;
    case IAM_RES_USER:
        v = iam_arg(x, "UserName");
        if (v.p == NULL) /* the caller's own */
            return iam_principal_arn(x, &x->caller);
        return arena_printf(x->a, "arn:aws:iam::%s:user/%.*s", x->acct, STR_FMT(v));
    case IAM_RES_MFA:
        v = iam_arg(x, "SerialNumber");
        if (v.p != NULL && str_has_prefix(v, "arn:"))
            return arena_printf(x->a, "%.*s", STR_FMT(v));
        if (v.p != NULL) /* a hardware device's serial */
            return arena_printf(x->a, "arn:aws:iam::%s:mfa/%.*s", x->acct, STR_FMT(v));
        v = iam_arg(x, "VirtualMFADeviceName");
        return arena_printf(x->a, "arn:aws:iam::%s:mfa%.*s%.*s", x->acct,
                            STR_FMT(entity_path(x, IAM_RES_MFA, "")), STR_FMT(v));
    case IAM_RES_GROUP:
    case IAM_RES_ROLE: {
        bool group = x->act->res == IAM_RES_GROUP;
        struct str path = entity_path(x, x->act->res, group ? "GroupName" : "RoleName");
        v = iam_arg(x, group ? "GroupName" : "RoleName");
        return arena_printf(x->a, "arn:aws:iam::%s:%s%.*s%.*s", x->acct, group ? "group" : "role",
                            STR_FMT(path), STR_FMT(v));
    }
    case IAM_RES_POLICY:
        v = iam_arg(x, "PolicyArn");
        if (v.p != NULL)
            return arena_printf(x->a, "%.*s", STR_FMT(v));
        v = iam_arg(x, "PolicyName");
        return arena_printf(x->a, "arn:aws:iam::%s:policy%.*s%.*s", x->acct,
                            STR_FMT(entity_path(x, IAM_RES_POLICY, "")), STR_FMT(v));
    case IAM_RES_SOURCE:
        v = iam_arg(x, "PolicySourceArn");
        return arena_printf(x->a, "%.*s", STR_FMT(v));
    case IAM_RES_ANY:
        return "*";
    case IAM_RES_USERS:
        return arena_printf(x->a, "arn:aws:iam::%s:user/", x->acct);
    case IAM_RES_MFAS:
        return arena_printf(x->a, "arn:aws:iam::%s:mfa/", x->acct);
    case IAM_RES_GROUPS:
        return arena_printf(x->a, "arn:aws:iam::%s:group/", x->acct);
    case IAM_RES_ROLES:
        return arena_printf(x->a, "arn:aws:iam::%s:role/", x->acct);
    case IAM_RES_POLICIES:
        return arena_printf(x->a, "arn:aws:iam::%s:policy/", x->acct);
    }
    return NULL;
}

/* The authorize step: may the caller perform iam_action_iam_name(x) on
 * iam_action_resource(x)? The front door's policy evaluation decides
 * (r->authorize), before the action looks anything up, so a caller
 * without the permission learns nothing of what exists. */
static enum iam_err
authorize(struct iam *x)
{
    const char *resource;
    int rc;

    if (x->act->res == IAM_RES_NONE)
        return IAM_E_OK;
    resource = iam_action_resource(x);
    rc = x->r->authorize(x->r->authorize_arg, iam_action_iam_name(x), resource);
    if (rc == -EACCES)
        /* Quoted in the message: shown safely (and cut) as every client value. */
        return iam_denied(x, x->act->name, iam_shown(x, str_c(resource)));
    return rc < 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

enum iam_err
iam_run(struct iam *x, struct buf *res)
{
    enum iam_err err;

    ASSERT(x->act != NULL);
    /* AWS: temporary credentials from GetSessionToken may call IAM only if
     * they were issued with MFA, and STS only for GetCallerIdentity and
     * AssumeRole (GetSessionToken answers its own error) [spec-mfa-delete
     * §7.2]. Role sessions call IAM as their policies allow [§5.2]. */
    if (x->r->key->expires_ms > 0 && x->r->key->role_id == 0 && !x->is_sts &&
        x->r->key->mfa_auth_ms == 0)
        return IAM_E_INVALID_CLIENT_TOKEN;
    err = authorize(x);
    if (err != IAM_E_OK)
        return err;
    err = x->act->fn(x, res);
    if (err == IAM_E_INTERNAL)
        log_error("iam: %s: internal error, request %s", x->act->name, x->r->request_id);
    return err;
}

int
iam_render(struct iam *x, enum iam_err err, const struct buf *res, struct buf *out)
{
    const char *ns = x->is_sts ? STS_XMLNS : IAM_XMLNS;
    const char *request_id = x->r->request_id;
    int rc, status = iam_errs[err].status;

    ASSERT(err < IAM_E__COUNT);
    buf_init(out, IAM_MAX_RESULT + 4096);
    rc = xml_decl(out);
    if (err == IAM_E_OK) {
        /* Tag names come from the action table, never from the client. */
        const char *resp = arena_printf(x->a, "%sResponse", x->act->name);
        const char *result = arena_printf(x->a, "%sResult", x->act->name);
        rc |= xml_open_ns(out, resp, ns);
        if (x->act->has_result) {
            rc |= xml_open(out, result);
            rc |= buf_append_str(out, buf_str(res));
            rc |= xml_close(out, result);
        }
        rc |= xml_open(out, "ResponseMetadata");
        rc |= xml_elem_c(out, "RequestId", request_id);
        rc |= xml_close(out, "ResponseMetadata");
        rc |= xml_close(out, resp);
    } else {
        const char *msg = x->msg != NULL && x->msg[0] != '\0' ? x->msg : iam_errs[err].msg;
        rc |= xml_open_ns(out, "ErrorResponse", ns);
        rc |= xml_open(out, "Error");
        rc |= xml_elem_c(out, "Type", status >= 500 ? "Receiver" : "Sender");
        rc |= xml_elem_c(out, "Code", iam_errs[err].code);
        rc |= xml_elem_c(out, "Message", msg);
        rc |= xml_close(out, "Error");
        rc |= xml_elem_c(out, "RequestId", request_id);
        rc |= xml_close(out, "ErrorResponse");
    }
    return rc != 0 ? -E2BIG : status;
}
