/* buf.h -- growable byte buffer with a hard maximum (curl dynbuf). */
#ifndef COFFER_UTIL_BUF_H
#define COFFER_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "util/str.h"

struct buf {
    char *p;    /* heap; always NUL-terminated when non-NULL */
    size_t n;   /* bytes used, excluding the NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* appends past this fail with -E2BIG */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b); /* back to empty; keeps max */
void buf_reset(struct buf *b); /* n = 0, keeps memory */
int buf_append(struct buf *b, const void *p, size_t n); /* 0 or -E2BIG */
/* Grows b to cap bytes (the NUL included) at once, so what is then
 * appended up to that needs no chain of doubling reallocs. Past max: no-op. */
void buf_reserve(struct buf *b, size_t cap);
int buf_append_str(struct buf *b, struct str s);
int buf_append_c(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Removes the first n bytes. */
void buf_consume(struct buf *b, size_t n);
static inline struct str
buf_str(const struct buf *b)
{
    return str_make(b->p ? b->p : "", b->n);
}

#endif
