/* policy_int.h -- the compiled form of a policy document, shared by
 * policy_parse.c (which builds it), policy_eval.c and policy_cond.c (which
 * read it). Private to src/auth/policy_*.c. Everything hangs off the
 * policy's own arena and is immutable once policy_parse() returns. */
#ifndef COFFER_AUTH_POLICY_INT_H
#define COFFER_AUTH_POLICY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/policy.h"
#include "util/arena.h"
#include "util/str.h"

/* Glob patterns are stored "compiled": '*' and '?' are wildcards and a
 * backslash makes the next byte literal (a literal '*' from ${*}, or a
 * backslash in the document). Values of non-glob operators are stored
 * plain. */

/* One piece of a value holding policy variables: literal text (already in
 * the value's form, glob or plain) or a variable with an optional default. */
struct pol_part {
    struct str lit; /* literal piece when var.p == NULL */
    struct str var; /* the key, e.g. "aws:username" */
    struct str def; /* default when has_def (plain text) */
    bool has_def;
};

/* A string that may hold policy variables. */
struct pol_tmpl {
    struct str s; /* the whole value when n_parts == 0 */
    const struct pol_part *parts;
    size_t n_parts;
};

/* An ARN pattern cut at its first five colons; the sixth part keeps any
 * further colons and is globbed as a whole. n_seg < 6: not an ARN, globbed
 * whole against the whole value (seg[0]). */
struct pol_arn {
    struct str all;
    struct str seg[6];
    int n_seg;
};

enum pol_type {
    PT_STRING,
    PT_NUMERIC,
    PT_DATE,
    PT_BOOL,
    PT_BINARY,
    PT_IP,
    PT_ARN,
    PT_NULL,
};

enum pol_cmp {
    PC_EQ,
    PC_EQ_IC, /* StringEqualsIgnoreCase */
    PC_LIKE,  /* StringLike, ArnLike, ArnEquals */
    PC_LT,
    PC_LE,
    PC_GT,
    PC_GE,
};

enum pol_set {
    PS_ONE, /* no qualifier */
    PS_ANY, /* ForAnyValue: */
    PS_ALL, /* ForAllValues: */
};

struct pol_ip {
    uint8_t a[16];
    uint8_t bits;
    bool v6;
};

struct pol_val {
    struct pol_tmpl t;  /* the text (String, Arn, Bool, Null) */
    struct pol_arn arn; /* PT_ARN without variables */
    union {
        double num;       /* PT_NUMERIC */
        int64_t ms;       /* PT_DATE, ms since the epoch */
        bool b;           /* PT_BOOL without variables, PT_NULL */
        struct pol_ip ip; /* PT_IP */
        struct str bin;   /* PT_BINARY, decoded bytes */
    } u;
};

struct pol_cond {
    uint8_t type; /* enum pol_type */
    uint8_t cmp;  /* enum pol_cmp */
    uint8_t set;  /* enum pol_set */
    bool neg;
    bool if_exists;
    struct str op;  /* as written, for messages and the public test */
    struct str key; /* as written */
    const struct pol_val *vals;
    size_t n_vals;
};

/* Principal entries of one statement [§2.2]. */
enum pol_pr_kind {
    PR_ACCOUNT,   /* 12 digits or arn:aws:iam::A:root: the whole account */
    PR_ARN,       /* IAM user or role, STS session or federated user */
    PR_CANONICAL, /* CanonicalUser */
    PR_SERVICE,   /* Service: never an S3 caller here */
    PR_FEDERATED, /* Federated */
};

struct pol_pr {
    uint8_t kind; /* enum pol_pr_kind */
    bool is_role; /* PR_ARN naming an IAM role */
    struct str v; /* account id, ARN, canonical id, service name */
};

struct pol_act {
    struct str pat; /* lower case, glob */
    bool literal;   /* no wildcard: plain case-insensitive compare */
};

struct pol_stmt {
    struct str sid;
    bool deny;
    bool not_action, not_resource, has_principal, not_principal;
    bool star; /* Principal "*" or {"AWS":"*"} listed */
    const struct pol_pr *prs;
    size_t n_prs;
    const struct pol_act *acts;
    size_t n_acts;
    const struct pol_tmpl *res;    /* resource patterns; vars only in segment 6 */
    const struct pol_arn *res_arn; /* pre-split when the pattern has no variable */
    size_t n_res;
    const struct pol_cond *conds;
    size_t n_conds;
};

struct policy {
    struct arena *arena;
    enum policy_kind kind;
    bool vars; /* Version 2012-10-17: ${...} are variables */
    const struct pol_stmt *st;
    size_t n_st;
};

/* ---- shared helpers (policy_eval.c) ------------------------------------- */

/* Glob match of compiled pattern p against value v; fold: p is lower case
 * and v is compared lower-cased. */
bool pol_glob(struct str p, struct str v, bool fold);
/* Splits an ARN (or pattern) at its first five colons. */
void pol_arn_split(struct str s, struct pol_arn *out);
/* Pattern pa (compiled globs) against ARN value va: segment by segment,
 * or whole when either has fewer than six. */
bool pol_arn_match(const struct pol_arn *pa, const struct pol_arn *va);
/* Expands t into buf (cap bytes) or the arena: 0 with *out, or -ENOENT when
 * a variable without default is missing. glob: escape variable values. */
int pol_expand(const struct pol_tmpl *t, const struct policy_ctx *c, bool glob, char *buf,
               size_t cap, struct str *out);

/* policy_cond.c */
/* An operator name ("ForAnyValue:StringLikeIfExists") into k's type, cmp,
 * set, neg and if_exists; -EINVAL when unknown. */
int pol_op_parse(struct str op, struct pol_cond *k);
bool pol_cond_eval(const struct policy *p, const struct pol_cond *k, const struct policy_ctx *c);
/* Parses CIDR text (no prefix: /32, /128). */
int pol_ip_parse(struct str s, struct pol_ip *out, bool cidr);
/* W3C ISO-8601 or epoch seconds into ms. */
int pol_date_parse(struct str s, int64_t *ms);
/* A decimal number (no hex, inf, nan). */
int pol_num_parse(struct str s, double *out);

#endif
