/* str.h -- non-owning string views. NUL-termination is never assumed. */
#ifndef COFFER_UTIL_STR_H
#define COFFER_UTIL_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct str {
    const char *p; /* NULL means "absent" (distinct from empty) */
    size_t n;
};

#define STR_LIT(s) ((struct str){(s), sizeof(s) - 1})
#define STR_NULL ((struct str){NULL, 0})
#define STR_FMT(s) (int)(s).n, (s).p /* for "%.*s" */

static inline struct str
str_c(const char *s)
{
    return (struct str){s, s ? strlen(s) : 0};
}

static inline struct str
str_make(const char *p, size_t n)
{
    return (struct str){p, n};
}

bool str_eq(struct str a, struct str b);
bool str_eq_c(struct str a, const char *b);
bool str_ieq_c(struct str a, const char *b); /* ASCII case-insensitive */
bool str_ieq(struct str a, struct str b);     /* ASCII case-insensitive */
bool str_has_prefix(struct str s, const char *prefix);
/* Bytewise order (memcmp, then the shorter first), as SQLite's BINARY
 * collation sorts keys: <0, 0 or >0. */
int str_cmp(struct str a, struct str b);
/* The smallest string greater than every string starting with s: trailing
 * 0xFF bytes dropped, the last byte incremented. Writes it to out (room for
 * s.n bytes) and returns its length, or 0 when none exists (s empty or all
 * 0xFF): nothing sorts after s's range. */
size_t str_successor(struct str s, char *out);
struct str str_trim(struct str s); /* strips spaces and tabs */
/* Parses a non-negative decimal into *out; -EINVAL on junk or overflow. */
int str_to_u64(struct str s, unsigned long long *out);
int str_to_i64(struct str s, long long *out); /* optional leading '-' */
/* Splits s at the first c: *head before, *tail after. Returns false if c absent
 * (then *head = s, *tail = STR_NULL). */
bool str_split(struct str s, char c, struct str *head, struct str *tail);
/* Constant-time equality for secrets (length is not secret). */
bool str_ct_eq(struct str a, struct str b);
bool str_valid_utf8(struct str s);

#endif
