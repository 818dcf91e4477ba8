/* s3_acl.c -- the ACL model: canned ACLs, grant headers and the
 * AccessControlPolicy document to grants, grants back to the document,
 * and what a grant allows [spec-authorization §6]. No request, no store:
 * s3_acl_ops.c judges ACLs against a bucket's Object Ownership and Block
 * Public Access and stores them. */
#include "common.h"
#include "s3/s3_acl.h"
#include "s3/s3_int.h"
#include "xml/xml_read.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <string.h>

#define XSI "http://www.w3.org/2001/XMLSchema-instance"

static const char *const perm_names[] = {
    [MD_PERM_READ] = "READ",
    [MD_PERM_WRITE] = "WRITE",
    [MD_PERM_READ_ACP] = "READ_ACP",
    [MD_PERM_WRITE_ACP] = "WRITE_ACP",
    [MD_PERM_FULL_CONTROL] = "FULL_CONTROL",
};

static const char *const grant_headers[] = {
    [MD_PERM_READ] = "x-amz-grant-read",
    [MD_PERM_WRITE] = "x-amz-grant-write",
    [MD_PERM_READ_ACP] = "x-amz-grant-read-acp",
    [MD_PERM_WRITE_ACP] = "x-amz-grant-write-acp",
    [MD_PERM_FULL_CONTROL] = "x-amz-grant-full-control",
};

static const char *const canned_names[] = {
    "private",           "public-read",       "public-read-write",         "authenticated-read",
    "aws-exec-read",     "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write",
};

static const char *const groups[] = {S3_ACL_ALL_USERS, S3_ACL_AUTH_USERS, S3_ACL_LOG_DELIVERY};

/* ---- grantees --------------------------------------------------------------- */

static bool
is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A canonical id: 64 hex digits, lower-cased into the arena. */
static bool
canonical_id(struct arena *a, struct str v, struct str *out)
{
    char *p;

    if (v.n != 64)
        return false;
    p = arena_alloc(a, 65);
    for (size_t i = 0; i < 64; i++) {
        if (!is_hex(v.p[i]))
            return false;
        p[i] = v.p[i] >= 'A' && v.p[i] <= 'F' ? (char)(v.p[i] + 32) : v.p[i];
    }
    p[64] = '\0';
    *out = str_make(p, 64);
    return true;
}

static bool
known_group(struct str uri)
{
    for (size_t i = 0; i < ARRAY_LEN(groups); i++)
        if (str_eq_c(uri, groups[i]))
            return true;
    return false;
}

/* One grantee of kind with value v, checked, appended to out (at most
 * S3_ACL_MAX_GRANTS). */
static enum s3_err
add_grant(struct arena *a, struct s3_acl_req *out, size_t *cap, enum md_grantee kind,
          enum md_perm perm, struct str v, const char **msg)
{
    struct md_grant g = {.kind = kind, .perm = perm};

    switch (kind) {
    case MD_GRANTEE_ID:
        if (!canonical_id(a, v, &g.grantee)) {
            *msg = "Invalid id";
            return S3E_INVALID_ARGUMENT;
        }
        break;
    case MD_GRANTEE_URI:
        if (!known_group(v)) {
            *msg = "Invalid group uri";
            return S3E_INVALID_ARGUMENT;
        }
        g.grantee = v;
        break;
    case MD_GRANTEE_EMAIL:
        /* AWS: e-mail grantees are refused since 2025-10-01 [§6.2]. */
        *msg = "Specifying a grantee by email address is no longer supported.";
        return S3E_METHOD_NOT_ALLOWED;
    }
    if (out->n == S3_ACL_MAX_GRANTS) {
        *msg = "An access control list may hold at most 100 grants.";
        return S3E_INVALID_ARGUMENT;
    }
    if (out->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        struct md_grant *ng = arena_alloc(a, ncap * sizeof(*ng));
        if (out->n > 0)
            memcpy(ng, out->g, out->n * sizeof(*ng));
        out->g = ng;
        *cap = ncap;
    }
    out->g[out->n++] = g;
    return S3E_OK;
}

/* ---- headers ---------------------------------------------------------------- */

/* One header value: comma-separated key=value grantees, the value quoted
 * or not (the AWS CLI passes it as typed). */
static enum s3_err
parse_grant_header(struct arena *a, enum md_perm perm, struct str value, struct s3_acl_req *out,
                   size_t *cap, const char **msg)
{
    struct str rest = value, item;
    enum s3_err err;

    while (rest.p != NULL) {
        struct str k, v;
        enum md_grantee kind;

        str_split(rest, ',', &item, &rest);
        item = str_trim(item);
        if (item.n == 0 || !str_split(item, '=', &k, &v)) {
            *msg = "Invalid grant header value";
            return S3E_INVALID_ARGUMENT;
        }
        k = str_trim(k);
        v = str_trim(v);
        if (v.n >= 2 && v.p[0] == '"' && v.p[v.n - 1] == '"')
            v = str_make(v.p + 1, v.n - 2);
        if (str_ieq_c(k, "id")) {
            kind = MD_GRANTEE_ID;
        } else if (str_ieq_c(k, "uri")) {
            kind = MD_GRANTEE_URI;
        } else if (str_ieq_c(k, "emailAddress")) {
            kind = MD_GRANTEE_EMAIL;
        } else {
            *msg = "Invalid grantee type in a grant header";
            return S3E_INVALID_ARGUMENT;
        }
        err = add_grant(a, out, cap, kind, perm, v, msg);
        if (err != S3E_OK)
            return err;
    }
    return S3E_OK;
}

enum s3_err
s3_acl_parse_headers(struct arena *a, const struct s3_acl_hdrs *h, struct s3_acl_req *out,
                     const char **msg, const char **arg)
{
    bool grants = false, known = false;
    size_t cap = 0;

    *out = (struct s3_acl_req){0};
    *arg = NULL;
    for (size_t i = 0; i < ARRAY_LEN(h->grant); i++)
        grants = grants || h->grant[i].p != NULL;
    if (h->canned.p == NULL && !grants)
        return S3E_OK;
    out->present = true;
    if (h->canned.p != NULL && grants) {
        *msg = "Specifying both Canned ACLs and Header Grants is not allowed";
        return S3E_INVALID_REQUEST;
    }
    if (h->canned.p != NULL) {
        struct str c = str_trim(h->canned);
        for (size_t i = 0; i < ARRAY_LEN(canned_names) && !known; i++)
            known = str_eq_c(c, canned_names[i]);
        if (!known) {
            *msg = "Invalid canned ACL";
            *arg = "x-amz-acl";
            return S3E_INVALID_ARGUMENT;
        }
        out->canned = c;
        return S3E_OK;
    }
    for (size_t i = 0; i < ARRAY_LEN(h->grant); i++) {
        if (h->grant[i].p == NULL)
            continue;
        enum s3_err err = parse_grant_header(a, (enum md_perm)i, h->grant[i], out, &cap, msg);
        if (err != S3E_OK) {
            *arg = grant_headers[i];
            return err;
        }
    }
    return S3E_OK;
}

/* ---- the document ----------------------------------------------------------- */

/* The only child named name, with no children of its own; NULL if absent,
 * repeated or not a leaf (*bad set for the last two). */
static struct xml_node *
leaf(const struct xml_node *n, const char *name, bool *bad)
{
    struct xml_node *c = xml_child(n, name);

    if (c != NULL && (c->n_children != 0 || xml_next(c, name) != NULL))
        *bad = true;
    return c;
}

enum s3_err
s3_acl_parse_xml(struct arena *a, struct str body, struct s3_acl_req *out, const char **msg)
{
    struct xml_node *root, *owner, *list, *g;
    bool bad = false;
    size_t cap = 0;

    *out = (struct s3_acl_req){.present = true};
    *msg = NULL;
    if (xml_parse(a, body, &root) < 0 || !str_eq_c(root->name, "AccessControlPolicy"))
        return S3E_MALFORMED_XML;
    list = xml_child(root, "AccessControlList");
    owner = xml_child(root, "Owner");
    if (list == NULL || xml_next(list, "AccessControlList") != NULL ||
        (owner != NULL && xml_next(owner, "Owner") != NULL))
        return S3E_MALFORMED_XML;
    for (struct xml_node *c = root->child; c != NULL; c = c->next)
        if (c != list && c != owner)
            return S3E_MALFORMED_XML;
    if (owner != NULL) {
        struct xml_node *id = leaf(owner, "ID", &bad);
        (void)leaf(owner, "DisplayName", &bad);
        if (bad || id == NULL)
            return S3E_MALFORMED_XML;
        if (!canonical_id(a, str_trim(id->text), &out->owner_id)) {
            *msg = "Invalid id";
            return S3E_INVALID_ARGUMENT;
        }
    }
    for (g = list->child; g != NULL; g = g->next) {
        struct xml_node *grantee, *perm, *id, *uri, *email;
        struct str v;
        enum md_grantee kind;
        int p = -1;
        enum s3_err err;

        if (!str_eq_c(g->name, "Grant"))
            return S3E_MALFORMED_XML;
        grantee = xml_child(g, "Grantee");
        perm = leaf(g, "Permission", &bad);
        if (bad || grantee == NULL || perm == NULL || xml_next(grantee, "Grantee") != NULL ||
            g->n_children != 2)
            return S3E_MALFORMED_XML;
        for (size_t i = 0; i < ARRAY_LEN(perm_names); i++)
            if (str_eq_c(str_trim(perm->text), perm_names[i]))
                p = (int)i;
        id = leaf(grantee, "ID", &bad);
        uri = leaf(grantee, "URI", &bad);
        email = leaf(grantee, "EmailAddress", &bad);
        (void)leaf(grantee, "DisplayName", &bad);
        if (bad || p < 0 || (id != NULL) + (uri != NULL) + (email != NULL) != 1)
            return S3E_MALFORMED_XML;
        kind = id != NULL ? MD_GRANTEE_ID : uri != NULL ? MD_GRANTEE_URI : MD_GRANTEE_EMAIL;
        v = str_trim((id != NULL ? id : uri != NULL ? uri : email)->text);
        err = add_grant(a, out, &cap, kind, (enum md_perm)p, v, msg);
        if (err != S3E_OK)
            return err;
    }
    return S3E_OK;
}

/* ---- grants ----------------------------------------------------------------- */

static bool
same_grant(const struct md_grant *x, const struct md_grant *y)
{
    return x->kind == y->kind && x->perm == y->perm && str_eq(x->grantee, y->grantee);
}

static void
push(struct md_grant *g, size_t *n, enum md_grantee kind, enum md_perm perm, struct str who)
{
    struct md_grant x = {.kind = kind, .perm = perm, .grantee = who};

    for (size_t i = 0; i < *n; i++)
        if (same_grant(&g[i], &x))
            return;
    g[(*n)++] = x;
}

void
s3_acl_resolve(struct arena *a, const struct s3_acl_req *r, bool object, struct str owner,
               struct str bucket_owner, struct md_grant **g, size_t *n)
{
    struct md_grant *out = arena_alloc(a, (r->n + 3) * sizeof(*out));
    struct str c = r->canned;
    size_t k = 0;

    push(out, &k, MD_GRANTEE_ID, MD_PERM_FULL_CONTROL, owner);
    if (c.p == NULL) {
        for (size_t i = 0; i < r->n; i++)
            push(out, &k, r->g[i].kind, r->g[i].perm, r->g[i].grantee);
    } else if (str_eq_c(c, "public-read") || str_eq_c(c, "public-read-write")) {
        push(out, &k, MD_GRANTEE_URI, MD_PERM_READ, STR_LIT(S3_ACL_ALL_USERS));
        if (str_eq_c(c, "public-read-write"))
            push(out, &k, MD_GRANTEE_URI, MD_PERM_WRITE, STR_LIT(S3_ACL_ALL_USERS));
    } else if (str_eq_c(c, "authenticated-read")) {
        push(out, &k, MD_GRANTEE_URI, MD_PERM_READ, STR_LIT(S3_ACL_AUTH_USERS));
    } else if (str_eq_c(c, "log-delivery-write")) {
        push(out, &k, MD_GRANTEE_URI, MD_PERM_WRITE, STR_LIT(S3_ACL_LOG_DELIVERY));
        push(out, &k, MD_GRANTEE_URI, MD_PERM_READ_ACP, STR_LIT(S3_ACL_LOG_DELIVERY));
    } else if (object && str_eq_c(c, "bucket-owner-read")) {
        if (!str_eq(owner, bucket_owner))
            push(out, &k, MD_GRANTEE_ID, MD_PERM_READ, bucket_owner);
    } else if (object && str_eq_c(c, "bucket-owner-full-control")) {
        push(out, &k, MD_GRANTEE_ID, MD_PERM_FULL_CONTROL, bucket_owner);
    }
    /* private, aws-exec-read, and the bucket-owner ACLs on a bucket: the
     * owner alone. */
    *g = out;
    *n = k;
}

void
s3_acl_load(struct arena *a, struct str text, struct str owner, struct md_grant **g, size_t *n)
{
    if (text.p != NULL && text.n > 0 && md_acl_decode(text, a, g, n) == 0 && *n > 0)
        return;
    *g = arena_alloc(a, sizeof(**g));
    (*g)[0] = (struct md_grant){.kind = MD_GRANTEE_ID, .perm = MD_PERM_FULL_CONTROL,
                                .grantee = owner};
    *n = 1;
}

bool
s3_acl_grant_is_public(const struct md_grant *g)
{
    return g->kind == MD_GRANTEE_URI &&
           (str_eq_c(g->grantee, S3_ACL_ALL_USERS) || str_eq_c(g->grantee, S3_ACL_AUTH_USERS));
}

bool
s3_acl_is_public(const struct md_grant *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s3_acl_grant_is_public(&g[i]))
            return true;
    return false;
}

bool
s3_acl_owner_only(const struct md_grant *g, size_t n, struct str owner)
{
    for (size_t i = 0; i < n; i++)
        if (g[i].kind != MD_GRANTEE_ID || g[i].perm != MD_PERM_FULL_CONTROL ||
            !str_eq(g[i].grantee, owner))
            return false;
    return true;
}

bool
s3_acl_allows(const struct md_grant *g, size_t n, enum md_perm want, struct str caller_id,
              bool is_signed, bool ignore_public)
{
    for (size_t i = 0; i < n; i++) {
        bool who;

        if (g[i].perm != want && g[i].perm != MD_PERM_FULL_CONTROL)
            continue;
        if (ignore_public && s3_acl_grant_is_public(&g[i]))
            continue;
        if (g[i].kind == MD_GRANTEE_ID)
            who = caller_id.p != NULL && str_ieq(g[i].grantee, caller_id);
        else if (g[i].kind == MD_GRANTEE_URI)
            /* AllUsers: everyone, anonymous callers included;
             * AuthenticatedUsers: any signed caller [§6.2]. */
            who = str_eq_c(g[i].grantee, S3_ACL_ALL_USERS) ||
                  (str_eq_c(g[i].grantee, S3_ACL_AUTH_USERS) && is_signed);
        else
            who = false;
        if (who)
            return true;
    }
    return false;
}

/* ---- rendering -------------------------------------------------------------- */

int
s3_acl_render(struct buf *x, struct str owner_id, struct str owner_name,
              const struct md_grant *g, const struct str *names, size_t n, bool ignore_public)
{
    int rc = 0;

    rc |= xml_decl(x);
    rc |= xml_open_ns(x, "AccessControlPolicy", S3_XMLNS);
    rc |= xml_open(x, "Owner");
    rc |= xml_elem(x, "ID", owner_id);
    if (owner_name.n > 0)
        rc |= xml_elem(x, "DisplayName", owner_name);
    rc |= xml_close(x, "Owner");
    rc |= xml_open(x, "AccessControlList");
    for (size_t i = 0; i < n; i++) {
        bool user = g[i].kind == MD_GRANTEE_ID;

        if (g[i].kind == MD_GRANTEE_EMAIL || (ignore_public && s3_acl_grant_is_public(&g[i])))
            continue;
        rc |= xml_open(x, "Grant");
        rc |= buf_append_c(x, "<Grantee xmlns:xsi=\"" XSI "\" xsi:type=\"");
        rc |= buf_append_c(x, user ? "CanonicalUser\">" : "Group\">");
        rc |= xml_elem(x, user ? "ID" : "URI", g[i].grantee);
        if (user && names != NULL && names[i].n > 0)
            rc |= xml_elem(x, "DisplayName", names[i]);
        rc |= xml_close(x, "Grantee");
        rc |= xml_elem_c(x, "Permission", perm_names[g[i].perm]);
        rc |= xml_close(x, "Grant");
    }
    rc |= xml_close(x, "AccessControlList");
    rc |= xml_close(x, "AccessControlPolicy");
    return rc != 0 ? -E2BIG : 0;
}
