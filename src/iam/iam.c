/* iam.c -- one IAM/STS call: the action table, the form parameters, the
 * caller, and the response documents (results and errors) in the IAM/STS
 * XML format. The actions live in iam_mfa.c, iam_users.c and iam_sts.c;
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
};

static const struct iam_action actions[] = {
    {"CreateVirtualMFADevice", false, true, true, iam_create_virtual_mfa_device},
    {"EnableMFADevice", false, false, true, iam_enable_mfa_device},
    {"ResyncMFADevice", false, false, true, iam_resync_mfa_device},
    {"DeactivateMFADevice", false, false, false, iam_deactivate_mfa_device},
    {"DeleteVirtualMFADevice", false, false, false, iam_delete_virtual_mfa_device},
    {"ListMFADevices", false, true, false, iam_list_mfa_devices},
    {"ListVirtualMFADevices", false, true, false, iam_list_virtual_mfa_devices},
    {"CreateUser", false, true, false, iam_create_user},
    {"GetUser", false, true, false, iam_get_user},
    {"ListUsers", false, true, false, iam_list_users},
    {"DeleteUser", false, false, false, iam_delete_user},
    {"CreateAccessKey", false, true, true, iam_create_access_key},
    {"ListAccessKeys", false, true, false, iam_list_access_keys},
    {"DeleteAccessKey", false, false, false, iam_delete_access_key},
    {"GetSessionToken", true, true, true, iam_get_session_token},
    {"GetCallerIdentity", true, true, false, iam_get_caller_identity},
};

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

enum iam_err
iam_run(struct iam *x, struct buf *res)
{
    enum iam_err err;

    ASSERT(x->act != NULL);
    /* AWS: temporary credentials from GetSessionToken may call IAM only if
     * they were issued with MFA, and STS only for GetCallerIdentity (and
     * GetSessionToken answers its own error) [spec-mfa-delete §7.2]. */
    if (x->r->key->expires_ms > 0 && !x->is_sts && x->r->key->mfa_auth_ms == 0)
        return IAM_E_INVALID_CLIENT_TOKEN;
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
