/* fuzz_lens.c -- the Storage Lens configuration parser and validator
 * (s3_lens_model.c) on arbitrary PutStorageLensConfiguration bodies, then
 * what the server does with an accepted one: the canonical document it
 * stores must parse again to the same document (a stored configuration
 * that no longer parses would make Get an internal error), and the
 * rendering with namespace and ARN that Get sends must parse too. A
 * refusal must carry an error code (and MalformedXML no message). The
 * same bytes go to the tagging parser, whose accepted sets must be what
 * the store can encode.
 *
 * Input: a request body (at most S3_MAX_XML_BODY bytes). */
#include "bounds.h"
#include "common.h"
#include "s3/s3_lens_model.h"
#include "util/arena.h"
#include "util/buf.h"
#include "xml/xml_read.h"

#include <stdint.h>
#include <string.h>

static void
trap_unless(bool ok)
{
    if (!ok)
        __builtin_trap();
}

static void
check_refusal(const struct s3_lens_err *e, enum s3_err err)
{
    trap_unless(err != S3E_OK && e->err == err);
    trap_unless(err != S3E_MALFORMED_XML || e->msg == NULL);
    trap_unless(e->msg == NULL || e->msg[0] != '\0');
}

static void
roundtrip(struct arena *a, const struct s3_lens_cfg *c, size_t size)
{
    struct s3_lens_cfg again;
    struct s3_lens_err e;
    struct xml_node *root;
    struct buf b, b2, g;

    trap_unless(s3_lens_id_valid(c->id));
    trap_unless(!c->include.present || !c->exclude.present);
    trap_unless(c->include.n_buckets <= S3_LENS_MAX_FILTER);
    trap_unless(c->max_depth >= 0 && c->max_depth <= 10);
    buf_init(&b, 6 * size + 4096); /* the handler's bound */
    trap_unless(s3_lens_render(c, NULL, STR_NULL, &b) == 0);
    trap_unless(xml_parse(a, str_make(b.p, b.n), &root) == 0);
    trap_unless(s3_lens_parse_node(a, root, &again, &e) == S3E_OK);
    buf_init(&b2, 6 * size + 4096);
    trap_unless(s3_lens_render(&again, NULL, STR_NULL, &b2) == 0);
    trap_unless(b2.n == b.n && memcmp(b2.p, b.p, b.n) == 0);
    /* Get's form: namespace and ARN; the ARN is refused on input. */
    buf_init(&g, 6 * size + 8192);
    trap_unless(s3_lens_render(&again, S3_LENS_XMLNS, STR_LIT("arn:aws:s3:r:1:storage-lens/x"),
                               &g) == 0);
    trap_unless(xml_parse(a, str_make(g.p, g.n), &root) == 0);
    trap_unless(s3_lens_parse_node(a, root, &again, &e) == S3E_LENS_INVALID_ARN);
    buf_free(&b);
    buf_free(&b2);
    buf_free(&g);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct str body = str_make((const char *)data, size);
    struct s3_lens_cfg c;
    struct s3_lens_err e;
    struct md_tag *t;
    struct str text;
    struct arena *a;
    bool has_tags;
    size_t n;
    enum s3_err err;

    if (size > S3_MAX_XML_BODY)
        return 0;
    a = arena_new();
    err = s3_lens_parse_put(a, body, &c, &has_tags, &t, &n, &e);
    if (err != S3E_OK) {
        check_refusal(&e, err);
    } else {
        roundtrip(a, &c, size);
        trap_unless(has_tags || n == 0);
        trap_unless(n <= S3_LENS_MAX_TAGS);
        trap_unless(n == 0 || md_tags_encode(t, n, a, &text) == 0);
    }
    err = s3_lens_parse_tagging(a, body, &t, &n, &e);
    if (err != S3E_OK) {
        check_refusal(&e, err);
    } else {
        trap_unless(n <= S3_LENS_MAX_TAGS);
        trap_unless(n == 0 || md_tags_encode(t, n, a, &text) == 0);
    }
    /* The token codec: whatever comes in, what decodes is an id. */
    {
        struct str id;
        if (s3_lens_token_decode(a, str_make((const char *)data, size < 200 ? size : 200),
                                 &id) == 0)
            trap_unless(s3_lens_id_valid(id));
    }
    arena_free(a);
    return 0;
}
