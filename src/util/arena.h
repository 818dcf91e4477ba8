/* arena.h -- request-lifetime allocator (nginx pool). Everything allocated
 * from an arena is released by one arena_free()/arena_reset(); never free()
 * a pointer that came from here. Not thread-safe: one owner at a time. */
#ifndef COFFER_UTIL_ARENA_H
#define COFFER_UTIL_ARENA_H

#include <stdarg.h>
#include <stddef.h>

#include "util/str.h"

struct arena;

struct arena *arena_new(void); /* Caller owns the result. */
void arena_free(struct arena *a); /* NULL ok */
void arena_reset(struct arena *a); /* releases all but the first block */
void *arena_alloc(struct arena *a, size_t n);  /* 16-byte aligned; aborts on OOM */
void *arena_zalloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n); /* NUL-terminated copy */
char *arena_cstr(struct arena *a, struct str s); /* NUL-terminated copy of s ("" if absent) */
struct str arena_str(struct arena *a, struct str s); /* copy; keeps NULL-ness */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap);

#endif
