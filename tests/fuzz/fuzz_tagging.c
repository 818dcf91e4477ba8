/* fuzz_tagging.c -- the tag-set parsers of s3/s3_tagging.c on arbitrary bytes: the input is
 * read as a <Tagging> document and as an x-amz-tagging header. Whatever parses is checked
 * with core/tags.c's rules (object and bucket limits); a set that passes is stored and read
 * back with md_tags_encode()/md_tags_decode(), rendered, and the rendered document parsed
 * again: it must give back the same tags. ASan and UBSan do the rest.
 *
 * Input: a tagging document or header value. */
#include "common.h"
#include "core/tags.h"
#include "s3/s3_tagging.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/str.h"

#include <stdint.h>
#include <string.h>

static void
trap_unless(bool ok)
{
    if (!ok)
        __builtin_trap();
}

static void
exercise(struct arena *a, const struct md_tag *t, size_t n)
{
    struct md_tag *back, *again;
    struct str text;
    struct buf x;
    const char *msg = NULL;
    size_t nb, na;
    enum s3_err err = s3_tagging_check(t, n, TAGS_MAX_BUCKET, &msg);

    trap_unless(err == S3E_OK || err == S3E_INVALID_TAG || err == S3E_BAD_REQUEST);
    trap_unless(err == S3E_OK || msg != NULL);
    if (err != S3E_OK)
        return;
    for (size_t i = 0; i < n; i++)
        trap_unless(tags_chars(t[i].key) >= 1 && tags_chars(t[i].key) <= TAGS_KEY_MAX &&
                    tags_chars(t[i].value) <= TAGS_VALUE_MAX);
    /* The alphabet has no tab or newline: the store's codec must take it. */
    trap_unless(md_tags_encode(t, n, a, &text) == 0);
    trap_unless(md_tags_decode(text, a, &back, &nb) == 0 && nb == n);
    trap_unless(md_tags_count(text) == n);
    buf_init(&x, 1024 * 1024);
    trap_unless(s3_tagging_render(&x, back, nb) == 0);
    trap_unless(s3_tagging_parse_xml(a, buf_str(&x), &again, &na) == S3E_OK && na == n);
    for (size_t i = 0; i < n; i++)
        trap_unless(str_eq(again[i].key, t[i].key) && str_eq(again[i].value, t[i].value));
    buf_free(&x);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct str in = str_make((const char *)data, size);
    struct md_tag *t;
    const char *msg = NULL;
    struct arena *a;
    size_t n;
    enum s3_err err;

    if (size > 65536)
        return 0;
    a = arena_new();
    err = s3_tagging_parse_xml(a, in, &t, &n);
    if (err == S3E_OK)
        exercise(a, t, n);
    else
        trap_unless(err == S3E_MALFORMED_XML);
    err = s3_tagging_parse_header(a, in, &t, &n, &msg);
    if (err == S3E_OK)
        exercise(a, t, n);
    else
        trap_unless(err == S3E_INVALID_ARGUMENT && msg != NULL);
    arena_free(a);
    return 0;
}
