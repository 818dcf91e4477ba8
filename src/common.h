/* common.h -- the few macros every file uses. Nothing else belongs here. */
#ifndef COFFER_COMMON_H
#define COFFER_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Programmer errors only; never compiled out. */
#define ASSERT(e) ((likely(e)) ? (void)0 : coffer_assert_fail(#e, __FILE__, __LINE__))

_Noreturn void coffer_assert_fail(const char *expr, const char *file, int line);

#endif
