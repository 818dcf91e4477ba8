/* tags.h -- S3's rules for a tag set, an object's or a bucket's: the
 * characters a key and a value may hold, their lengths in Unicode
 * characters, the reserved "aws:" prefix, duplicate keys and the count.
 * Pure functions; no HTTP and no XML (the wire forms are s3/s3_tagging.c's). */
#ifndef COFFER_CORE_TAGS_H
#define COFFER_CORE_TAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "store/md.h"
#include "util/str.h"

#define TAGS_MAX_OBJECT 10 /* AWS: tags on one object version */
#define TAGS_MAX_BUCKET 50 /* AWS: tags on one bucket */
#define TAGS_KEY_MAX 128   /* Unicode characters, at least one */
#define TAGS_VALUE_MAX 256 /* Unicode characters, may be none */

/* What tags_check() found wrong first. */
enum tags_verdict {
    TAGS_OK = 0,
    TAGS_BAD_KEY,    /* empty, too long, not UTF-8, or a character S3 refuses */
    TAGS_AWS_PREFIX, /* the key begins with "aws:" (any case) */
    TAGS_BAD_VALUE,  /* too long, not UTF-8, or a character S3 refuses */
    TAGS_DUP_KEY,    /* two tags with the same key (case-sensitive) */
    TAGS_TOO_MANY,   /* more than max tags */
};

/* Unicode characters (code points) in s, or -1 when s is not well-formed
 * UTF-8 (overlong forms, surrogates and values past U+10FFFF included). */
long tags_chars(struct str s);
/* s holds only characters a tag may hold, min..max of them. */
bool tags_text_valid(struct str s, size_t min, size_t max);
bool tags_key_valid(struct str key);     /* 1..TAGS_KEY_MAX, the alphabet */
bool tags_value_valid(struct str value); /* 0..TAGS_VALUE_MAX, the alphabet */
/* Checks n tags in order, each key then its value then whether an earlier
 * tag has its key, and the count last (max: TAGS_MAX_OBJECT or
 * TAGS_MAX_BUCKET). *bad (may be NULL) is the index of the offending tag. */
enum tags_verdict tags_check(const struct md_tag *t, size_t n, size_t max, size_t *bad);

#endif
