/* authz_load.h -- a principal's identity policies from the store, parsed:
 * the set s3/s3_authz.c keeps per thread for requests, and the one the IAM
 * simulator and `coffer policy simulate` evaluate (authz_simulate()), so
 * what-if answers come from the same policies and the same authz_decide()
 * as real requests. */
#ifndef COFFER_AUTH_AUTHZ_LOAD_H
#define COFFER_AUTH_AUTHZ_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/authz.h"
#include "auth/policy.h"
#include "store/md.h"

/* Where one policy of the set comes from. */
struct authz_src {
    enum md_entity kind; /* whose: the user, one of its groups, the role */
    struct str entity;   /* that entity's name */
    struct str name;     /* inline: the policy name; managed: the policy ARN */
    bool is_inline;
};

struct authz_set {
    struct policy **pols;   /* malloc; each owned */
    struct authz_src *src;  /* parallel to pols, strings in the arena given to
                             * authz_load(); NULL when none was */
    size_t n;
};

/* The identity policies of principal (kind, id): for a user its inline and
 * attached policies and its groups'; for a role or a group its own. Stored
 * documents were validated when stored; AWS managed ones are built in; an
 * attached ARN that names nothing grants nothing and is left out. 0, -EIO
 * when a stored document does not parse (callers fail closed: skipping a
 * Deny would be worse), or the store's -errno. src is filled only with an
 * arena. */
int authz_load(struct md_conn *c, enum md_entity kind, int64_t id, struct arena *a,
               struct authz_set *out);
/* One stored identity policy named name (an inline policy's name or a
 * managed policy's ARN) with its document (STR_NULL: an AWS managed ARN,
 * built in). 0 and *out; 0 and *out NULL when the ARN names nothing (it
 * grants nothing); -EIO, logged, when the document does not parse. */
int authz_parse_stored(struct str name, struct str doc, struct policy **out);
void authz_set_free(struct authz_set *s); /* the policies and arrays; NULL ok */

/* ---- what-if ------------------------------------------------------------- */

/* A condition key the caller supplies (ContextEntries, --context). */
struct authz_ctx_entry {
    struct str name; /* matched case-insensitively */
    const struct str *vals;
    size_t n_vals;
};

struct authz_sim_in {
    struct policy_principal who;
    bool is_root;
    bool same_account;             /* the resource's owner is the caller's account */
    const struct policy *const *ids; /* identity policies */
    size_t n_ids;
    const struct policy *resource; /* a resource policy, or NULL */
    struct str action, resource_arn;
    const struct authz_ctx_entry *ctx;
    size_t n_ctx;
};

struct authz_sim_out {
    struct authz_out out;
    /* Keys a statement that could apply asked for and ctx did not hold
     * (IAM's MissingContextValues), in the arena. */
    struct str *missing;
    size_t n_missing;
};

/* One what-if decision: authz_decide() with the context keys of in->ctx
 * only. */
void authz_simulate(const struct authz_sim_in *in, struct arena *a, struct authz_sim_out *out);

#endif
