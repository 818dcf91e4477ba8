/* policy_eval.c -- one compiled policy against one request: which
 * statements apply (Action, Resource, Principal, Condition) and with what
 * effect [spec-authorization §2.2-2.4], and Block Public Access's "is this
 * policy public" test [§7]. Conditions are policy_cond.c's. No parsing of
 * the document happens here and nothing is allocated unless a variable
 * expands past the stack buffer or a key callback allocates. */
#include "common.h"
#include "auth/policy.h"
#include "auth/policy_int.h"

#include <errno.h>
#include <string.h>

/* Principal ranks, most specific last: a Bucket-policy Allow keeps the
 * best one it sees [policy.h]. */
enum {
    RANK_NONE = 0,
    RANK_ACCOUNT,
    RANK_WILDCARD,
    RANK_ROLE,
    RANK_SPECIFIC,
    RANK_IDENTITY, /* identity policies: no Principal to rank */
};

static inline unsigned char
lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

bool
pol_glob(struct str p, struct str v, bool fold)
{
    size_t pi = 0, vi = 0, star_p = SIZE_MAX, star_v = 0;

    /* Iterative matcher: on a mismatch, go back to the last '*' and let it
     * take one more byte; linear in practice, O(p*v) at worst. */
    while (vi < v.n) {
        if (pi < p.n) {
            unsigned char pc = (unsigned char)p.p[pi], vc = (unsigned char)v.p[vi];
            size_t adv = 1;
            if (pc == '*') {
                star_p = ++pi;
                star_v = vi;
                continue;
            }
            if (pc == '?') {
                pi++;
                vi++;
                continue;
            }
            if (pc == '\\' && pi + 1 < p.n) {
                pc = (unsigned char)p.p[pi + 1];
                adv = 2;
            }
            if (fold)
                vc = lower(vc);
            if (pc == vc) {
                pi += adv;
                vi++;
                continue;
            }
        }
        if (star_p == SIZE_MAX)
            return false;
        pi = star_p;
        vi = ++star_v;
    }
    while (pi < p.n && p.p[pi] == '*')
        pi++;
    return pi == p.n;
}

void
pol_arn_split(struct str s, struct pol_arn *out)
{
    size_t start = 0;
    int n = 0;

    out->all = s;
    for (size_t i = 0; i < s.n && n < 5; i++) {
        if (s.p[i] == ':') {
            out->seg[n++] = str_make(s.p + start, i - start);
            start = i + 1;
        }
    }
    if (n < 5) {
        out->seg[0] = s;
        out->n_seg = 1;
        return;
    }
    out->seg[5] = str_make(s.p + start, s.n - start);
    out->n_seg = 6;
}

bool
pol_arn_match(const struct pol_arn *pa, const struct pol_arn *va)
{
    if (pa->n_seg < 6) {
        /* Fewer than six parts: only "*" reaches a full ARN. */
        for (size_t i = 0; va->n_seg == 6 && i < pa->all.n; i++)
            if (pa->all.p[i] != '*')
                return false;
        return pol_glob(pa->all, va->all, false);
    }
    if (va->n_seg < 6)
        return false;
    /* AWS: each colon part on its own, '*' never crosses the first five
     * colons; the sixth part (the resource) is globbed whole [§2.3]. */
    for (int i = 0; i < 6; i++)
        if (!pol_glob(pa->seg[i], va->seg[i], false))
            return false;
    return true;
}

/* ---- policy variables [§2.4] ------------------------------------------ */

struct out {
    char *p;
    size_t n, cap;
    struct arena *a; /* NULL: the stack buffer only */
    bool full;
};

static void
out_put(struct out *o, const char *s, size_t n, bool esc)
{
    for (size_t i = 0; i < n; i++) {
        if (o->n + 2 > o->cap) {
            size_t cap;
            char *np;
            if (o->a == NULL) {
                o->full = true;
                return;
            }
            cap = 2 * o->cap + 2 * n + 64;
            np = arena_alloc(o->a, cap);
            memcpy(np, o->p, o->n);
            o->p = np;
            o->cap = cap;
        }
        if (esc && (s[i] == '*' || s[i] == '?' || s[i] == '\\'))
            o->p[o->n++] = '\\';
        o->p[o->n++] = s[i];
    }
}

int
pol_expand(const struct pol_tmpl *t, const struct policy_ctx *c, bool glob, char *buf, size_t cap,
           struct str *out)
{
    struct out o = {.p = buf, .cap = cap, .a = c->arena};

    for (size_t i = 0; i < t->n_parts; i++) {
        const struct pol_part *pt = &t->parts[i];
        struct policy_vals vals = {0};
        if (pt->var.p == NULL) {
            out_put(&o, pt->lit.p, pt->lit.n, false);
            continue;
        }
        if (c->key != NULL)
            c->key(c->key_arg, pt->var, c->arena, &vals);
        /* AWS: single-valued keys only; a missing one is null unless the
         * variable has a default. */
        if (vals.n == 1)
            out_put(&o, vals.v[0].p, vals.v[0].n, glob);
        else if (pt->has_def)
            out_put(&o, pt->def.p, pt->def.n, glob);
        else
            return -ENOENT;
    }
    if (o.full)
        return -ENOMEM;
    *out = str_make(o.p, o.n);
    return 0;
}

/* ---- Action, Resource, Principal -------------------------------------- */

static bool
action_match(const struct pol_stmt *st, struct str action)
{
    bool any = false;

    for (size_t i = 0; i < st->n_acts && !any; i++) {
        const struct pol_act *a = &st->acts[i];
        if (a->literal) {
            any = a->pat.n == action.n;
            for (size_t k = 0; any && k < action.n; k++)
                any = (unsigned char)a->pat.p[k] == lower((unsigned char)action.p[k]);
        } else {
            any = pol_glob(a->pat, action, true);
        }
    }
    return any != st->not_action;
}

static bool
resource_match(const struct pol_stmt *st, const struct pol_arn *ra, const struct policy_ctx *c)
{
    bool any = false;

    for (size_t i = 0; i < st->n_res && !any; i++) {
        char buf[512];
        struct str s;
        struct pol_arn pa;
        if (st->res[i].n_parts == 0) {
            any = pol_arn_match(&st->res_arn[i], ra);
            continue;
        }
        /* AWS: a Resource whose variable is missing matches nothing. */
        if (pol_expand(&st->res[i], c, true, buf, sizeof(buf), &s) < 0)
            continue;
        pol_arn_split(s, &pa);
        any = pol_arn_match(&pa, ra);
    }
    return any != st->not_resource;
}

static int
principal_rank(const struct pol_stmt *st, const struct policy_principal *w)
{
    int best = st->star ? RANK_WILDCARD : RANK_NONE;

    for (size_t i = 0; i < st->n_prs && !w->anonymous; i++) {
        const struct pol_pr *pr = &st->prs[i];
        switch (pr->kind) {
        case PR_ACCOUNT:
            if (str_eq(pr->v, w->account) && best < RANK_ACCOUNT)
                best = RANK_ACCOUNT;
            break;
        case PR_CANONICAL:
            if (w->canonical_id.n == 64 && pr->v.n == 64 && best < RANK_ACCOUNT) {
                bool eq = true;
                for (size_t k = 0; k < 64 && eq; k++)
                    eq = lower((unsigned char)pr->v.p[k]) ==
                         lower((unsigned char)w->canonical_id.p[k]);
                if (eq)
                    best = RANK_ACCOUNT;
            }
            break;
        case PR_ARN:
            if (w->session_arn.n > 0 && str_eq(pr->v, w->session_arn))
                best = RANK_SPECIFIC;
            else if (w->arn.n > 0 && str_eq(pr->v, w->arn)) {
                int r = pr->is_role ? RANK_ROLE : RANK_SPECIFIC;
                if (best < r)
                    best = r;
            }
            break;
        default: /* Service and Federated principals never sign S3 requests here */
            break;
        }
    }
    return best;
}

/* How the statement's Principal or NotPrincipal reaches the caller. */
static int
stmt_rank(const struct policy *p, const struct pol_stmt *st, const struct policy_principal *w)
{
    int r;

    if (p->kind == POLICY_IDENTITY || !st->has_principal)
        return RANK_IDENTITY;
    r = principal_rank(st, w);
    if (!st->not_principal)
        return r;
    /* Decision: the caller escapes a NotPrincipal when its user or session
     * ARN, its role ARN or its account is listed [§2.2]. */
    return r == RANK_NONE ? RANK_WILDCARD : RANK_NONE;
}

static bool
conds_match(const struct policy *p, const struct pol_stmt *st, const struct policy_ctx *c)
{
    for (size_t i = 0; i < st->n_conds; i++)
        if (!pol_cond_eval(p, &st->conds[i], c))
            return false;
    return true;
}

static void
fill_hit(struct policy_hit *hit, const struct policy *p, int i, int rank)
{
    if (hit == NULL)
        return;
    memset(hit, 0, sizeof(*hit));
    hit->index = i;
    if (i < 0)
        return;
    hit->sid = p->st[i].sid;
    hit->by_account = rank == RANK_ACCOUNT;
    hit->by_wildcard = rank == RANK_WILDCARD;
    hit->by_role = rank == RANK_ROLE;
}

enum policy_effect
policy_eval(const struct policy *p, const struct policy_ctx *c, struct policy_hit *hit)
{
    static const struct str star_arn = STR_LIT("arn:aws:s3:::*");
    struct pol_arn ra;
    struct str action = c->action.p != NULL ? c->action : STR_LIT("");
    struct str res = c->resource.p != NULL ? c->resource : STR_LIT("");
    int best = RANK_NONE, best_i = -1;

    /* Decision: account-level requests ("*") match patterns as the literal
     * arn:aws:s3:::* [§2.3]. */
    if (str_eq_c(res, "*"))
        res = star_arn;
    pol_arn_split(res, &ra);
    for (size_t i = 0; i < p->n_st; i++) {
        const struct pol_stmt *st = &p->st[i];
        int rank;
        /* An Allow cannot beat the best Allow seen: only Denies still matter. */
        if (!st->deny && best >= RANK_SPECIFIC)
            continue;
        if (!action_match(st, action))
            continue;
        if (p->kind != POLICY_TRUST && !resource_match(st, &ra, c))
            continue;
        rank = stmt_rank(p, st, &c->who);
        if (rank == RANK_NONE || (!st->deny && rank <= best))
            continue;
        if (!conds_match(p, st, c))
            continue;
        if (st->deny) {
            fill_hit(hit, p, (int)i, rank);
            return POLICY_DENY;
        }
        best = rank;
        best_i = (int)i;
    }
    fill_hit(hit, p, best_i, best);
    return best_i >= 0 ? POLICY_ALLOW : POLICY_NONE;
}

/* ---- Block Public Access [§7] ----------------------------------------- */

static bool
fixed_pattern(struct str s)
{
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] == '\\')
            i++;
        else if (s.p[i] == '*' || s.p[i] == '?')
            return false;
    }
    return true;
}

/* RFC 1918 ranges do not pin a policy to anyone [§7]. */
static bool
ip_pins(const struct pol_ip *ip)
{
    if (ip->v6)
        return ip->bits >= 32;
    if (ip->bits < 8)
        return false;
    if (ip->a[0] == 10 || (ip->a[0] == 172 && (ip->a[1] & 0xf0) == 16) ||
        (ip->a[0] == 192 && ip->a[1] == 168))
        return false;
    return true;
}

static bool
cond_pins(const struct pol_cond *k)
{
    static const char *const keys[] = {
        "aws:SourceArn",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:SourceOwner",
        "aws:SourceAccount",
        "aws:PrincipalOrgID",
        "aws:userid",
        "s3:DataAccessPointAccount",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
    };
    bool named = false, ap = str_ieq_c(k->key, "s3:DataAccessPointArn");

    if (k->neg || k->if_exists || k->set == PS_ALL || k->n_vals == 0)
        return false;
    if (str_ieq_c(k->key, "aws:SourceIp")) {
        if (k->type != PT_IP)
            return false;
        for (size_t i = 0; i < k->n_vals; i++)
            if (!ip_pins(&k->vals[i].u.ip))
                return false;
        return true;
    }
    for (size_t i = 0; i < ARRAY_LEN(keys) && !named; i++)
        named = str_ieq_c(k->key, keys[i]);
    if ((!named && !ap) || (k->type != PT_STRING && k->type != PT_ARN))
        return false;
    for (size_t i = 0; i < k->n_vals; i++) {
        struct str s = k->vals[i].t.s;
        if (k->vals[i].t.n_parts > 0)
            return false;
        if (k->cmp == PC_LIKE && ap) {
            /* The access point's name may be a wildcard, nothing else. */
            const char *slash = memrchr(s.p, '/', s.n);
            if (slash == NULL || !fixed_pattern(str_make(s.p, (size_t)(slash - s.p))))
                return false;
        } else if (k->cmp == PC_LIKE && !fixed_pattern(s)) {
            return false;
        }
    }
    return true;
}

bool
policy_is_public(const struct policy *p)
{
    if (p->kind == POLICY_IDENTITY)
        return false;
    for (size_t i = 0; i < p->n_st; i++) {
        const struct pol_stmt *st = &p->st[i];
        bool open = st->not_principal || st->star, pinned = false;
        /* Decision: Deny statements never make a policy public [§7]. */
        if (st->deny)
            continue;
        for (size_t k = 0; k < st->n_prs; k++)
            if (st->prs[k].kind == PR_FEDERATED)
                open = true;
        if (!open)
            continue;
        for (size_t k = 0; k < st->n_conds && !pinned; k++)
            pinned = cond_pins(&st->conds[k]);
        if (!pinned)
            return true;
    }
    return false;
}
