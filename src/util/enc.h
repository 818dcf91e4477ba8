/* enc.h -- hex, base64, base32 and URI (percent) encodings. */
#ifndef COFFER_UTIL_ENC_H
#define COFFER_UTIL_ENC_H

#include <stddef.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/str.h"

/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void hex_encode(const void *in, size_t n, char *out);
/* Returns bytes written to out (cap), or -EINVAL. */
int hex_decode(struct str in, void *out, size_t cap);
/* The value (0..15) of hex digit c (either case), or -1. */
int hex_digit(int c);
/* Standard alphabet with padding; out needs 4*((n+2)/3)+1. Returns length. */
size_t b64_encode(const void *in, size_t n, char *out);
/* Accepts standard padded base64; returns bytes written or -EINVAL. */
int b64_decode(struct str in, void *out, size_t cap);
/* Ids (version ids, upload ids): 6 bits a character, most significant
 * first, from A-Z a-z 0-9 '.' '_' (safe in URLs, XML and shells, and with no
 * '-' an id never reads as a command-line option). n must be a multiple of
 * 3; out needs 4n/3+1. Returns length. */
size_t id64_encode(const void *in, size_t n, char *out);
/* The value (0..63) of character ch in that alphabet, or -1. */
int id64_digit(unsigned char ch);
/* RFC 4648 base32, upper case, no padding. out needs (n*8+4)/5+1. */
size_t b32_encode(const void *in, size_t n, char *out);
/* Case-insensitive, padding and spaces ignored; bytes written or -EINVAL. */
int b32_decode(struct str in, void *out, size_t cap);
/* Percent-decodes in (with '+' kept literal) into out; -EINVAL on bad escapes.
 * out needs in.n bytes. Returns length. */
int uri_decode(struct str in, char *out);
/* The same for application/x-www-form-urlencoded and query strings: '+' is
 * a space (a literal '+' arrives as %2B). */
int uri_decode_form(struct str in, char *out);
/* uri_decode_form() into a NUL-terminated copy in the arena: 0 with *out
 * set, or -EINVAL. */
int uri_decode_form_arena(struct arena *a, struct str in, struct str *out);
/* AWS SigV4 URI encoding: unreserved A-Za-z0-9-_.~ kept, rest %XX upper-case;
 * '/' kept when keep_slash. Appends to b; -E2BIG past its max. */
int uri_encode(struct buf *b, struct str in, int keep_slash);

#endif
