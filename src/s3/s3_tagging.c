/* s3_tagging.c -- the tag set's wire forms (s3_tagging.h): the <Tagging>
 * document and the x-amz-tagging header in, the document out, and the
 * rules' verdicts as S3's errors. No request, no store: the handlers are
 * s3_tagging_ops.c's. */
#include "common.h"
#include "s3/s3_tagging.h"
#include "core/tags.h"
#include "s3/s3_int.h"
#include "util/enc.h"
#include "xml/xml_read.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <string.h>

/* AWS's text for an x-amz-tagging it cannot read, whatever the fault. */
#define HEADER_MSG                                                                                 \
    "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters "  \
    "without tag name duplicates."

/* Only element children, no stray text: whitespace between them is fine. */
static bool
only_children(const struct xml_node *n)
{
    return s3_is_blank(n->text);
}

enum s3_err
s3_tagging_parse_xml(struct arena *a, struct str body, struct md_tag **t, size_t *n)
{
    struct xml_node *root, *set, *tag, *k;
    struct md_tag *out;
    size_t i = 0;

    *t = NULL;
    *n = 0;
    if (xml_parse(a, body, &root) < 0 || !str_eq_c(root->name, "Tagging") ||
        !only_children(root) || root->n_children != 1)
        return S3E_MALFORMED_XML;
    set = xml_child(root, "TagSet");
    if (set == NULL || !only_children(set))
        return S3E_MALFORMED_XML;
    out = arena_alloc(a, (set->n_children + 1) * sizeof(*out));
    for (tag = set->child; tag != NULL; tag = tag->next) {
        struct xml_node *key = NULL, *value = NULL;
        if (!str_eq_c(tag->name, "Tag") || !only_children(tag) || tag->n_children != 2)
            return S3E_MALFORMED_XML;
        for (k = tag->child; k != NULL; k = k->next) {
            struct xml_node **slot = str_eq_c(k->name, "Key")     ? &key
                                     : str_eq_c(k->name, "Value") ? &value
                                                                  : NULL;
            if (slot == NULL || *slot != NULL || k->n_children != 0)
                return S3E_MALFORMED_XML;
            *slot = k;
        }
        if (key == NULL || value == NULL)
            return S3E_MALFORMED_XML;
        /* Text as sent: a tag may begin or end with a space. */
        out[i].key = key->text;
        out[i].value = value->text;
        i++;
    }
    *t = out;
    *n = i;
    return S3E_OK;
}

enum s3_err
s3_tagging_parse_header(struct arena *a, struct str hdr, struct md_tag **t, size_t *n,
                        const char **msg)
{
    struct str rest = hdr, pair;
    struct md_tag *out;
    size_t cap = 1, i = 0;

    *t = NULL;
    *n = 0;
    for (size_t k = 0; k < hdr.n; k++)
        cap += hdr.p[k] == '&';
    out = arena_alloc(a, cap * sizeof(*out));
    while (rest.n > 0) {
        struct str key, value;
        if (!str_split(rest, '&', &pair, &rest))
            rest = STR_NULL;
        if (pair.n == 0)
            continue; /* "a=1&&b=2": nothing between */
        if (!str_split(pair, '=', &key, &value))
            value = STR_LIT("");
        if (uri_decode_form_arena(a, key, &out[i].key) < 0 ||
            uri_decode_form_arena(a, value, &out[i].value) < 0 || out[i].key.n == 0) {
            *msg = HEADER_MSG;
            return S3E_INVALID_ARGUMENT;
        }
        /* AWS: a key given twice in the header is InvalidArgument, where
         * the document's is InvalidTag. The count is capped first: past
         * TAGS_MAX_BUCKET s3_tagging_check() refuses the set anyway. */
        for (size_t k = 0; k < i && i <= TAGS_MAX_BUCKET; k++) {
            if (str_eq(out[k].key, out[i].key)) {
                *msg = HEADER_MSG;
                return S3E_INVALID_ARGUMENT;
            }
        }
        i++;
    }
    *t = out;
    *n = i;
    return S3E_OK;
}

enum s3_err
s3_tagging_check(const struct md_tag *t, size_t n, size_t max, const char **msg)
{
    switch (tags_check(t, n, max, NULL)) {
    case TAGS_OK:
        return S3E_OK;
    case TAGS_BAD_KEY:
        *msg = "The TagKey you have provided is invalid";
        return S3E_INVALID_TAG;
    case TAGS_AWS_PREFIX:
        *msg = "Your TagKey cannot be prefixed with aws:";
        return S3E_INVALID_TAG;
    case TAGS_BAD_VALUE:
        *msg = "The TagValue you have provided is invalid";
        return S3E_INVALID_TAG;
    case TAGS_DUP_KEY:
        *msg = "Cannot provide multiple Tags with the same key";
        return S3E_INVALID_TAG;
    case TAGS_TOO_MANY:
        break;
    }
    /* AWS: too many is BadRequest, not InvalidTag. */
    *msg = max == TAGS_MAX_OBJECT ? "Object tags cannot be greater than 10"
                                  : "Bucket tag count cannot be greater than 50";
    return S3E_BAD_REQUEST;
}

int
s3_tagging_render(struct buf *x, const struct md_tag *t, size_t n)
{
    int rc = 0;

    rc |= xml_decl(x);
    rc |= xml_open_ns(x, "Tagging", S3_XMLNS);
    rc |= xml_open(x, "TagSet");
    for (size_t i = 0; i < n; i++) {
        rc |= xml_open(x, "Tag");
        rc |= xml_elem(x, "Key", t[i].key);
        rc |= xml_elem(x, "Value", t[i].value);
        rc |= xml_close(x, "Tag");
    }
    rc |= xml_close(x, "TagSet");
    rc |= xml_close(x, "Tagging");
    return rc != 0 ? -E2BIG : 0;
}
