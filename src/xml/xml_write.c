/* xml_write.c -- XML output: escaping and element framing on a struct buf.
 * Each public call either appends all of its output or none of it (the
 * buffer length is rolled back on -E2BIG). It does not check tag names. */
#include "common.h"

#include "xml/xml_write.h"
#include "xml/xml_read.h"

#include <errno.h>
#include <stdio.h>

/* The replacement for byte c, or NULL when c is copied as is. */
static const char *
esc_byte(unsigned char c, char tmp[8])
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&apos;";
    case '\t':
    case '\n':
        return NULL;
    default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {
        snprintf(tmp, 8, "&#x%X;", c);
        return tmp;
    }
    return NULL;
}

static int
escape(struct buf *b, struct str s)
{
    const unsigned char *p = (const unsigned char *)s.p;
    size_t i, run = 0; /* start of the pending run of literal bytes */
    const char *rep;
    char tmp[8];
    int rc;

    if (s.p == NULL)
        return 0;
    for (i = 0; i < s.n; i++) {
        size_t skip = 1;

        rep = esc_byte(p[i], tmp);
        /* U+FFFE and U+FFFF (EF BF BE / EF BF BF) are not XML characters. */
        if (rep == NULL && p[i] == 0xef && s.n - i >= 3 && p[i + 1] == 0xbf &&
            (p[i + 2] == 0xbe || p[i + 2] == 0xbf)) {
            rep = p[i + 2] == 0xbe ? "&#xFFFE;" : "&#xFFFF;";
            skip = 3;
        }
        if (rep == NULL)
            continue;
        rc = buf_append(b, s.p + run, i - run);
        if (rc < 0)
            return rc;
        rc = buf_append_c(b, rep);
        if (rc < 0)
            return rc;
        i += skip - 1;
        run = i + 1;
    }
    return buf_append(b, s.p + run, s.n - run);
}

/* Undoes a partial append: back to n bytes, still NUL-terminated. */
static int
rollback(struct buf *b, size_t n, int rc)
{
    if (rc < 0) {
        b->n = n;
        if (b->p != NULL)
            b->p[n] = '\0';
    }
    return rc;
}

int
xml_escape(struct buf *b, struct str s)
{
    size_t n0 = b->n;

    return rollback(b, n0, escape(b, s));
}

int
xml_decl(struct buf *b)
{
    return buf_append_c(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
}

int
xml_open(struct buf *b, const char *tag)
{
    ASSERT(tag != NULL);
    return buf_printf(b, "<%s>", tag);
}

int
xml_open_ns(struct buf *b, const char *tag, const char *xmlns)
{
    size_t n0 = b->n;
    int rc;

    ASSERT(tag != NULL && xmlns != NULL);
    rc = buf_printf(b, "<%s xmlns=\"", tag);
    if (rc < 0)
        goto out;
    rc = escape(b, str_c(xmlns));
    if (rc < 0)
        goto out;
    rc = buf_append(b, "\">", 2);
out:
    return rollback(b, n0, rc);
}

int
xml_close(struct buf *b, const char *tag)
{
    ASSERT(tag != NULL);
    return buf_printf(b, "</%s>", tag);
}

int
xml_empty(struct buf *b, const char *tag)
{
    ASSERT(tag != NULL);
    return buf_printf(b, "<%s/>", tag);
}

int
xml_elem(struct buf *b, const char *tag, struct str text)
{
    size_t n0 = b->n;
    int rc;

    rc = xml_open(b, tag);
    if (rc < 0)
        goto out;
    rc = escape(b, text);
    if (rc < 0)
        goto out;
    rc = xml_close(b, tag);
out:
    return rollback(b, n0, rc);
}

int
xml_elem_c(struct buf *b, const char *tag, const char *text)
{
    return xml_elem(b, tag, str_c(text));
}

int
xml_elem_i64(struct buf *b, const char *tag, long long v)
{
    ASSERT(tag != NULL);
    return buf_printf(b, "<%s>%lld</%s>", tag, v, tag);
}

int
xml_elem_bool(struct buf *b, const char *tag, bool v)
{
    return xml_elem(b, tag, v ? STR_LIT("true") : STR_LIT("false"));
}

int
xml_write_tree(struct buf *b, const struct xml_node *n, const char *xmlns)
{
    size_t n0 = b->n;
    int rc = xmlns != NULL ? xml_open_ns(b, n->name.p, xmlns) : xml_open(b, n->name.p);

    if (n->child == NULL && rc == 0)
        rc = escape(b, n->text);
    for (const struct xml_node *c = n->child; c != NULL && rc == 0; c = c->next)
        rc = xml_write_tree(b, c, NULL); /* depth <= XML_MAX_DEPTH */
    if (rc == 0)
        rc = xml_close(b, n->name.p);
    if (rc < 0)
        b->n = n0;
    return rc;
}
