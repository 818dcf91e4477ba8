/* buf.c -- bounded growable buffer. */
#include "common.h"
#include "util/buf.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void
buf_init(struct buf *b, size_t max)
{
    b->p = NULL;
    b->n = b->cap = 0;
    b->max = max;
}

void
buf_free(struct buf *b)
{
    FREE_AND_NULL(b->p);
    b->n = b->cap = 0;
}

void
buf_reset(struct buf *b)
{
    b->n = 0;
    if (b->p)
        b->p[0] = '\0';
}

static int
grow(struct buf *b, size_t extra)
{
    size_t want;

    if (extra > b->max || b->n > b->max - extra)
        return -E2BIG;
    want = b->n + extra + 1;
    if (want <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < want)
        cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
    return 0;
}

void
buf_reserve(struct buf *b, size_t cap)
{
    if (cap <= b->cap || cap > b->max)
        return;
    b->p = xrealloc(b->p, cap);
    if (b->cap == 0)
        b->p[0] = '\0';
    b->cap = cap;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
    int rc = grow(b, n);

    if (rc < 0)
        return rc;
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

int
buf_append_str(struct buf *b, struct str s)
{
    return buf_append(b, s.p, s.n);
}

int
buf_append_c(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    rc = grow(b, (size_t)n);
    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
    return 0;
}

void
buf_consume(struct buf *b, size_t n)
{
    ASSERT(n <= b->n);
    memmove(b->p, b->p + n, b->n - n);
    b->n -= n;
    if (b->p)
        b->p[b->n] = '\0';
}
