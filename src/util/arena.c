/* arena.c -- bump allocator over a chain of blocks. */
#include "common.h"
#include "util/arena.h"
#include "util/xmalloc.h"

#include <stdio.h>
#include <string.h>

#define BLOCK_SIZE 8192

struct block {
    struct block *next;
    size_t used, cap;
    _Alignas(16) char data[];
};

struct arena {
    struct block *head;
};

static struct block *
block_new(size_t cap)
{
    struct block *b = xmalloc(sizeof(*b) + cap);

    b->next = NULL;
    b->used = 0;
    b->cap = cap;
    return b;
}

struct arena *
arena_new(void)
{
    struct arena *a = xmalloc(sizeof(*a));

    a->head = block_new(BLOCK_SIZE);
    return a;
}

void
arena_reset(struct arena *a)
{
    struct block *b = a->head, *next;

    while (b->next != NULL) {
        next = b->next;
        free(b);
        b = next;
    }
    a->head = b;
    b->used = 0;
}

void
arena_free(struct arena *a)
{
    struct block *b, *next;

    if (a == NULL)
        return;
    for (b = a->head; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

void *
arena_alloc(struct arena *a, size_t n)
{
    struct block *b = a->head;
    size_t need = (n + 15) & ~(size_t)15;

    if (b->cap - b->used < need) {
        /* Large requests get their own block, placed behind the head so
         * the head's free space is not wasted. */
        if (need > BLOCK_SIZE / 4) {
            struct block *big = block_new(need);
            big->used = need;
            big->next = b->next;
            b->next = big;
            return big->data;
        }
        b = block_new(BLOCK_SIZE);
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += need;
    return p;
}

void *
arena_zalloc(struct arena *a, size_t n)
{
    void *p = arena_alloc(a, n);

    memset(p, 0, n);
    return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);

    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
arena_cstr(struct arena *a, struct str s)
{
    return arena_strndup(a, s.p ? s.p : "", s.p ? s.n : 0);
}

struct str
arena_str(struct arena *a, struct str s)
{
    if (s.p == NULL)
        return STR_NULL;
    return str_make(arena_strndup(a, s.p, s.n), s.n);
}

char *
arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    char *p;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    ASSERT(n >= 0);
    p = arena_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    char *p;

    va_start(ap, fmt);
    p = arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}
