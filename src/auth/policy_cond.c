/* policy_cond.c -- the Condition element: one operator on one key against
 * the request's values [spec-authorization §2.5, §4], and the value parsers
 * the parser shares (numbers, dates, CIDRs). The set logic (ForAnyValue,
 * ForAllValues, negation, IfExists, absent keys) is in pol_cond_eval(); the
 * per-type comparison in one_match(). */
#include "common.h"
#include "auth/policy_int.h"

#include "util/enc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- operators [§2.5] ---------------------------------------------------- */

static const struct {
    const char *name;
    uint8_t type, cmp;
    bool neg;
} ops[] = {
    {"StringEquals", PT_STRING, PC_EQ, false},
    {"StringNotEquals", PT_STRING, PC_EQ, true},
    {"StringEqualsIgnoreCase", PT_STRING, PC_EQ_IC, false},
    {"StringNotEqualsIgnoreCase", PT_STRING, PC_EQ_IC, true},
    {"StringLike", PT_STRING, PC_LIKE, false},
    {"StringNotLike", PT_STRING, PC_LIKE, true},
    {"NumericEquals", PT_NUMERIC, PC_EQ, false},
    {"NumericNotEquals", PT_NUMERIC, PC_EQ, true},
    {"NumericLessThan", PT_NUMERIC, PC_LT, false},
    {"NumericLessThanEquals", PT_NUMERIC, PC_LE, false},
    {"NumericGreaterThan", PT_NUMERIC, PC_GT, false},
    {"NumericGreaterThanEquals", PT_NUMERIC, PC_GE, false},
    {"DateEquals", PT_DATE, PC_EQ, false},
    {"DateNotEquals", PT_DATE, PC_EQ, true},
    {"DateLessThan", PT_DATE, PC_LT, false},
    {"DateLessThanEquals", PT_DATE, PC_LE, false},
    {"DateGreaterThan", PT_DATE, PC_GT, false},
    {"DateGreaterThanEquals", PT_DATE, PC_GE, false},
    {"Bool", PT_BOOL, PC_EQ, false},
    {"BinaryEquals", PT_BINARY, PC_EQ, false},
    {"IpAddress", PT_IP, PC_EQ, false},
    {"NotIpAddress", PT_IP, PC_EQ, true},
    {"ArnEquals", PT_ARN, PC_LIKE, false},
    {"ArnLike", PT_ARN, PC_LIKE, false},
    {"ArnNotEquals", PT_ARN, PC_LIKE, true},
    {"ArnNotLike", PT_ARN, PC_LIKE, true},
    {"Null", PT_NULL, PC_EQ, false},
};

int
pol_op_parse(struct str op, struct pol_cond *k)
{
    struct str base = op;

    k->set = PS_ONE;
    if (str_has_prefix(base, "ForAnyValue:")) {
        k->set = PS_ANY;
        base = str_make(base.p + 12, base.n - 12);
    } else if (str_has_prefix(base, "ForAllValues:")) {
        k->set = PS_ALL;
        base = str_make(base.p + 13, base.n - 13);
    }
    k->if_exists = base.n > 8 && memcmp(base.p + base.n - 8, "IfExists", 8) == 0;
    if (k->if_exists)
        base.n -= 8;
    for (size_t i = 0; i < ARRAY_LEN(ops); i++) {
        if (!str_eq_c(base, ops[i].name))
            continue;
        if (ops[i].type == PT_NULL && (k->if_exists || k->set != PS_ONE))
            return -EINVAL;
        k->type = ops[i].type;
        k->cmp = ops[i].cmp;
        k->neg = ops[i].neg;
        return 0;
    }
    return -EINVAL;
}

/* ---- value parsers ------------------------------------------------------ */

int
pol_num_parse(struct str s, double *out)
{
    char tmp[64], *end;
    size_t i = 0;
    bool digits = false;

    if (s.n == 0 || s.n >= sizeof(tmp))
        return -EINVAL;
    /* Plain decimals only: strtod would also take hex, "inf" and "nan". */
    if (s.p[i] == '-' || s.p[i] == '+')
        i++;
    for (; i < s.n; i++) {
        char ch = s.p[i];
        if (ch >= '0' && ch <= '9')
            digits = true;
        else if (ch != '.' && ch != 'e' && ch != 'E' && ch != '-' && ch != '+')
            return -EINVAL;
    }
    if (!digits)
        return -EINVAL;
    memcpy(tmp, s.p, s.n);
    tmp[s.n] = '\0';
    *out = strtod(tmp, &end);
    if (*end != '\0' || !isfinite(*out))
        return -EINVAL;
    return 0;
}

static bool
num(const char *p, size_t n, int lo, int hi, int *out)
{
    int v = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return v >= lo && v <= hi;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int
pol_date_parse(struct str s, int64_t *ms)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s.p, *end = s.p + s.n;
    int y, mo = 1, d = 1, h = 0, mi = 0, sec = 0, frac_ms = 0, tz = 0;
    bool all_digits = s.n > 0;

    for (size_t i = 0; i < s.n && all_digits; i++)
        all_digits = s.p[i] >= '0' && s.p[i] <= '9';
    if (all_digits && s.n != 4) {
        /* Epoch seconds, as aws:EpochTime is compared [§2.5]. */
        unsigned long long v;
        if (s.n > 12 || str_to_u64(s, &v) < 0)
            return -EINVAL;
        *ms = (int64_t)v * 1000;
        return 0;
    }
    /* W3C ISO 8601: YYYY[-MM[-DD[Thh:mm[:ss[.s+]][Z|+hh:mm|-hh:mm]]]]. */
    if (end - p < 4 || !num(p, 4, 0, 9999, &y))
        return -EINVAL;
    p += 4;
    if (p < end) {
        if (end - p < 3 || *p != '-' || !num(p + 1, 2, 1, 12, &mo))
            return -EINVAL;
        p += 3;
    }
    if (p < end) {
        if (end - p < 3 || *p != '-' || !num(p + 1, 2, 1, mdays[mo - 1], &d))
            return -EINVAL;
        if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
            return -EINVAL;
        p += 3;
    }
    if (p < end) {
        if (end - p < 6 || *p != 'T' || !num(p + 1, 2, 0, 23, &h) || p[3] != ':' ||
            !num(p + 4, 2, 0, 59, &mi))
            return -EINVAL;
        p += 6;
        if (p < end && *p == ':') {
            if (end - p < 3 || !num(p + 1, 2, 0, 60, &sec))
                return -EINVAL;
            p += 3;
            if (p < end && *p == '.') {
                int k = 0;
                p++;
                if (p == end || *p < '0' || *p > '9')
                    return -EINVAL;
                for (; p < end && *p >= '0' && *p <= '9'; p++, k++)
                    if (k < 3)
                        frac_ms = frac_ms * 10 + (*p - '0');
                for (; k < 3; k++)
                    frac_ms *= 10;
            }
        }
        if (p < end && *p == 'Z') {
            p++;
        } else if (p < end && (*p == '+' || *p == '-')) {
            int th, tm;
            if (end - p < 6 || !num(p + 1, 2, 0, 23, &th) || p[3] != ':' ||
                !num(p + 4, 2, 0, 59, &tm))
                return -EINVAL;
            tz = (*p == '+' ? 1 : -1) * (th * 60 + tm);
            p += 6;
        }
    }
    if (p != end)
        return -EINVAL;
    *ms =
        ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) - tz * 60) * 1000 + frac_ms;
    return 0;
}

int
pol_ip_parse(struct str s, struct pol_ip *out, bool cidr)
{
    char tmp[64];
    const char *slash = memchr(s.p, '/', s.n);
    size_t alen = slash != NULL ? (size_t)(slash - s.p) : s.n;
    int bits;

    memset(out, 0, sizeof(*out));
    if (alen == 0 || alen >= sizeof(tmp) || (slash != NULL && !cidr))
        return -EINVAL;
    memcpy(tmp, s.p, alen);
    tmp[alen] = '\0';
    out->v6 = memchr(tmp, ':', alen) != NULL;
    if (inet_pton(out->v6 ? AF_INET6 : AF_INET, tmp, out->a) != 1)
        return -EINVAL;
    /* An IPv4 client reached over an IPv6 socket is still that IPv4 address. */
    if (out->v6 && !cidr) {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(out->a, mapped, 12) == 0) {
            memmove(out->a, out->a + 12, 4);
            memset(out->a + 4, 0, 12);
            out->v6 = false;
        }
    }
    /* Decision: no prefix is /32, or /128 for IPv6 [§2.5]. */
    out->bits = out->v6 ? 128 : 32;
    if (slash == NULL)
        return 0;
    if (s.n - alen - 1 == 0 || s.n - alen - 1 > 3 ||
        !num(slash + 1, s.n - alen - 1, 0, out->bits, &bits))
        return -EINVAL;
    out->bits = (uint8_t)bits;
    return 0;
}

static bool
ip_in(const struct pol_ip *net, const struct pol_ip *ip)
{
    size_t full = net->bits / 8;
    unsigned rest = net->bits % 8;

    if (net->v6 != ip->v6)
        return false;
    if (memcmp(net->a, ip->a, full) != 0)
        return false;
    if (rest == 0)
        return true;
    return ((net->a[full] ^ ip->a[full]) & (0xff00u >> rest)) == 0;
}

/* ---- comparisons -------------------------------------------------------- */

/* One request value, parsed once for its operator's type. */
struct req {
    struct str s;
    bool ok; /* parses for the type */
    union {
        double num;
        int64_t ms;
        bool b;
        struct pol_ip ip;
        struct str bin;
    } u;
    struct pol_arn arn;
};

static bool
ieq(struct str a, struct str b)
{
    if (a.n != b.n)
        return false;
    for (size_t i = 0; i < a.n; i++) {
        unsigned char x = (unsigned char)a.p[i], y = (unsigned char)b.p[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + 32);
        if (x != y)
            return false;
    }
    return true;
}

static void
req_parse(const struct pol_cond *k, struct str s, const struct policy_ctx *c, char *binbuf,
          size_t bincap, struct req *r)
{
    r->s = s;
    r->ok = true;
    switch (k->type) {
    case PT_NUMERIC:
        r->ok = pol_num_parse(s, &r->u.num) == 0;
        break;
    case PT_DATE:
        r->ok = pol_date_parse(s, &r->u.ms) == 0;
        break;
    case PT_BOOL:
        r->ok = ieq(s, STR_LIT("true")) || ieq(s, STR_LIT("false"));
        r->u.b = ieq(s, STR_LIT("true"));
        break;
    case PT_IP:
        r->ok = pol_ip_parse(s, &r->u.ip, false) == 0;
        break;
    case PT_ARN:
        pol_arn_split(s, &r->arn);
        break;
    case PT_BINARY: {
        /* Decision: binary context values arrive base64-encoded, as the
         * simulator's ContextKeyType binary does; bytes are compared. */
        char *out = binbuf;
        int n;
        if (s.n > bincap) {
            if (c->arena == NULL) {
                r->ok = false;
                break;
            }
            out = arena_alloc(c->arena, s.n);
        }
        n = b64_decode(s, out, s.n);
        r->ok = n >= 0;
        r->u.bin = str_make(out, n >= 0 ? (size_t)n : 0);
        break;
    }
    default:
        break;
    }
}

static bool
cmp_ord(int cmp, int sign)
{
    switch (cmp) {
    case PC_EQ:
        return sign == 0;
    case PC_LT:
        return sign < 0;
    case PC_LE:
        return sign <= 0;
    case PC_GT:
        return sign > 0;
    case PC_GE:
        return sign >= 0;
    default:
        return false;
    }
}

/* Whether the request value r satisfies the positive form of k for the
 * policy value v. */
static bool
one_match(const struct pol_cond *k, const struct pol_val *v, const struct req *r,
          const struct policy_ctx *c)
{
    char buf[256];
    struct str t = v->t.s;

    if (!r->ok)
        return false;
    if (v->t.n_parts > 0) {
        /* AWS: a value whose variable is missing matches nothing [§2.4]. */
        if (pol_expand(&v->t, c, k->cmp == PC_LIKE, buf, sizeof(buf), &t) < 0)
            return false;
    }
    switch (k->type) {
    case PT_STRING:
        if (k->cmp == PC_EQ)
            return str_eq(t, r->s);
        if (k->cmp == PC_EQ_IC)
            return ieq(t, r->s);
        return pol_glob(t, r->s, false);
    case PT_ARN:
        if (v->t.n_parts > 0) {
            struct pol_arn pa;
            pol_arn_split(t, &pa);
            return pol_arn_match(&pa, &r->arn);
        }
        return pol_arn_match(&v->arn, &r->arn);
    case PT_BOOL:
        if (v->t.n_parts > 0)
            return ieq(t, r->s);
        return v->u.b == r->u.b;
    case PT_NUMERIC:
        return cmp_ord(k->cmp, (r->u.num > v->u.num) - (r->u.num < v->u.num));
    case PT_DATE:
        return cmp_ord(k->cmp, (r->u.ms > v->u.ms) - (r->u.ms < v->u.ms));
    case PT_IP:
        return ip_in(&v->u.ip, &r->u.ip);
    case PT_BINARY:
        return str_eq(v->u.bin, r->u.bin);
    default:
        return false;
    }
}

/* OR over the policy's values [§2.5]. */
static bool
any_value(const struct pol_cond *k, struct str s, const struct policy_ctx *c)
{
    char binbuf[256];
    struct req r;

    req_parse(k, s, c, binbuf, sizeof(binbuf), &r);
    for (size_t i = 0; i < k->n_vals; i++)
        if (one_match(k, &k->vals[i], &r, c))
            return true;
    return false;
}

bool
pol_cond_eval(const struct policy *p, const struct pol_cond *k, const struct policy_ctx *c)
{
    struct policy_vals rv = {0};
    bool m;

    (void)p;
    if (c->key != NULL)
        c->key(c->key_arg, k->key, c->arena, &rv);
    if (k->type == PT_NULL) {
        /* Null: "true" asks for the key to be absent. */
        for (size_t i = 0; i < k->n_vals; i++)
            if (k->vals[i].u.b == (rv.n == 0))
                return true;
        return false;
    }
    /* AWS: absent key -> IfExists true, ForAllValues true, ForAnyValue
     * false, negated true, positive false [§2.5 table]. */
    if (rv.n == 0) {
        if (k->if_exists || k->set == PS_ALL)
            return true;
        if (k->set == PS_ANY)
            return false;
        return k->neg;
    }
    switch (k->set) {
    case PS_ALL:
        if (rv.n == 1 && rv.v[0].n == 0)
            return true; /* an empty string is the empty set */
        for (size_t i = 0; i < rv.n; i++)
            if (any_value(k, rv.v[i], c) == k->neg)
                return false;
        return true;
    case PS_ANY:
        for (size_t i = 0; i < rv.n; i++)
            if (any_value(k, rv.v[i], c) != k->neg)
                return true;
        return false;
    default:
        /* Decision: a multi-valued key without a qualifier matches when any
         * of its values does; negated: when none does. */
        m = false;
        for (size_t i = 0; i < rv.n && !m; i++)
            m = any_value(k, rv.v[i], c);
        return m != k->neg;
    }
}
