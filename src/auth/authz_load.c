/* authz_load.c -- see authz_load.h. */
#include "auth/authz_load.h"
#include "auth/authz.h"
#include "common.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void
authz_set_free(struct authz_set *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        policy_free(s->pols[i]);
    free(s->pols);
    s->pols = NULL;
    s->src = NULL;
    s->n = 0;
}

int
authz_parse_stored(struct str name, struct str doc, struct policy **out)
{
    struct policy_opts o = {.kind = POLICY_IDENTITY};
    char msg[256];

    *out = NULL;
    if (doc.p == NULL) {
        const char *m = policy_aws_managed(name);
        if (m == NULL)
            return 0; /* attached, but names no policy */
        doc = str_c(m);
    }
    if (policy_parse(doc, &o, out, msg, sizeof(msg)) < 0) {
        log_error("authz: stored policy %.*s does not parse: %s", STR_FMT(name), msg);
        return -EIO;
    }
    return 0;
}

int
authz_load(struct md_conn *c, enum md_entity kind, int64_t id, struct arena *a,
           struct authz_set *out)
{
    struct md_principal_policy *pp = NULL;
    struct arena *tmp = a != NULL ? a : arena_new();
    size_t n = 0;
    int rc;

    *out = (struct authz_set){0};
    rc = md_principal_policies(c, kind, id, tmp, &pp, &n);
    if (rc < 0)
        goto out;
    out->pols = calloc(n > 0 ? n : 1, sizeof(*out->pols));
    ASSERT(out->pols != NULL);
    if (a != NULL)
        out->src = arena_zalloc(a, (n > 0 ? n : 1) * sizeof(*out->src));
    for (size_t i = 0; i < n; i++) {
        rc = authz_parse_stored(pp[i].name, pp[i].document, &out->pols[out->n]);
        if (rc < 0)
            goto out;
        if (out->pols[out->n] == NULL)
            continue;
        if (out->src != NULL)
            out->src[out->n] = (struct authz_src){
                .kind = pp[i].source_kind,
                .entity = pp[i].source_name,
                .name = pp[i].name,
                .is_inline = pp[i].is_inline,
            };
        out->n++;
    }
out:
    if (rc < 0)
        authz_set_free(out);
    if (a == NULL)
        arena_free(tmp);
    return rc;
}

struct sim_keys {
    const struct authz_sim_in *in;
    struct authz_sim_out *out;
    struct arena *a;
    size_t cap;
};

static void
sim_key(void *arg, struct str key, struct arena *a, struct policy_vals *vals)
{
    struct sim_keys *k = arg;
    struct authz_sim_out *o = k->out;

    (void)a;
    for (size_t i = 0; i < k->in->n_ctx; i++)
        if (k->in->ctx[i].name.n == key.n &&
            strncasecmp(k->in->ctx[i].name.p, key.p, key.n) == 0) {
            vals->v = k->in->ctx[i].vals;
            vals->n = k->in->ctx[i].n_vals;
            return;
        }
    vals->v = NULL;
    vals->n = 0;
    for (size_t i = 0; i < o->n_missing; i++)
        if (o->missing[i].n == key.n && strncasecmp(o->missing[i].p, key.p, key.n) == 0)
            return;
    if (o->n_missing == k->cap) {
        struct str *m = arena_alloc(k->a, (k->cap * 2 + 4) * sizeof(*m));
        if (o->n_missing > 0)
            memcpy(m, o->missing, o->n_missing * sizeof(*m));
        o->missing = m;
        k->cap = k->cap * 2 + 4;
    }
    o->missing[o->n_missing++] = arena_str(k->a, key);
}

void
authz_simulate(const struct authz_sim_in *in, struct arena *a, struct authz_sim_out *out)
{
    struct sim_keys k = {.in = in, .out = out, .a = a};
    struct policy_ctx ctx = {
        .action = in->action,
        .resource = in->resource_arn,
        .who = in->who,
        .key = sim_key,
        .key_arg = &k,
        .arena = a,
    };
    struct authz_in ai = {
        .ctx = &ctx,
        .is_root = in->is_root,
        .same_account = in->same_account,
        .ids = in->ids,
        .n_ids = in->n_ids,
        .resource = in->resource,
    };

    *out = (struct authz_sim_out){0};
    authz_decide(&ai, &out->out);
}
