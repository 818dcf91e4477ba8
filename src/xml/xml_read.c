/* xml_read.c -- expat in namespace mode building an arena tree of elements.
 * Hostile input is expected: DOCTYPEs (and so every entity trick) are
 * refused outright, and depth, node count and text size are capped while
 * parsing, before anything is allocated for them. */
#include "common.h"

#include "xml/xml_read.h"

#include "util/buf.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <expat.h>

/* Expat reports namespaced names as "URI<sep>local". The separator is not a
 * name character, so the local name is whatever follows its last use. */
#define NS_SEP '|'

struct ctx {
    XML_Parser p;
    struct arena *a;
    struct xml_node *root;
    struct xml_node *cur;                     /* innermost open element */
    struct xml_node *last[XML_MAX_DEPTH + 1]; /* last child of the open element at depth d */
    struct buf text[XML_MAX_DEPTH + 1];       /* text so far of the open element at depth d */
    int depth;
    size_t n_nodes;
    size_t n_text, max_text;
    int rc;
};

static void
fail(struct ctx *x)
{
    if (x->rc == 0) {
        x->rc = -EINVAL;
        XML_StopParser(x->p, XML_FALSE);
    }
}

static void XMLCALL
on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct ctx *x = ud;
    struct xml_node *n;
    const char *local;

    (void)attrs;
    /* Expat may still deliver buffered events after XML_StopParser(). */
    if (x->rc < 0)
        return;
    if (x->depth >= XML_MAX_DEPTH || x->n_nodes >= XML_MAX_NODES) {
        fail(x);
        return;
    }
    local = strrchr(name, NS_SEP);
    local = local != NULL ? local + 1 : name;

    n = arena_zalloc(x->a, sizeof(*n));
    n->name = str_make(arena_strndup(x->a, local, strlen(local)), strlen(local));
    n->parent = x->cur;
    if (x->cur == NULL) {
        x->root = n;
    } else {
        if (x->last[x->depth] == NULL)
            x->cur->child = n;
        else
            x->last[x->depth]->next = n;
        x->last[x->depth] = n;
        x->cur->n_children++;
    }
    x->n_nodes++;
    x->depth++;
    x->cur = n;
    x->last[x->depth] = NULL;
    buf_reset(&x->text[x->depth]);
}

static void XMLCALL
on_end(void *ud, const XML_Char *name)
{
    struct ctx *x = ud;
    struct buf *t;

    (void)name;
    if (x->rc < 0)
        return;
    ASSERT(x->cur != NULL && x->depth > 0);
    t = &x->text[x->depth];
    x->cur->text = str_make(arena_strndup(x->a, t->p ? t->p : "", t->n), t->n);
    x->cur = x->cur->parent;
    x->depth--;
}

static void XMLCALL
on_text(void *ud, const XML_Char *s, int len)
{
    struct ctx *x = ud;

    if (x->rc < 0 || x->depth == 0 || len <= 0)
        return;
    /* Without entity declarations decoded text cannot outgrow the body;
     * the cap is a second line of defence, checked before growing. */
    if ((size_t)len > x->max_text - x->n_text) {
        fail(x);
        return;
    }
    x->n_text += (size_t)len;
    if (buf_append(&x->text[x->depth], s, (size_t)len) < 0)
        fail(x);
}

static void XMLCALL
on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
           int has_internal_subset)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    fail(ud);
}

static void XMLCALL
on_entity_decl(void *ud, const XML_Char *name, int is_param, const XML_Char *value, int value_len,
               const XML_Char *base, const XML_Char *sysid, const XML_Char *pubid,
               const XML_Char *notation)
{
    (void)name;
    (void)is_param;
    (void)value;
    (void)value_len;
    (void)base;
    (void)sysid;
    (void)pubid;
    (void)notation;
    fail(ud);
}

static int XMLCALL
on_ext_entity(XML_Parser p, const XML_Char *context, const XML_Char *base, const XML_Char *sysid,
              const XML_Char *pubid)
{
    (void)p;
    (void)context;
    (void)base;
    (void)sysid;
    (void)pubid;
    return XML_STATUS_ERROR; /* never fetch anything */
}

int
xml_parse(struct arena *a, struct str body, struct xml_node **root)
{
    struct ctx x;
    int rc = -EINVAL;

    if (body.n > INT_MAX)
        return -EINVAL;
    memset(&x, 0, sizeof(x));
    x.a = a;
    x.max_text = body.n;
    for (size_t i = 0; i < ARRAY_LEN(x.text); i++)
        buf_init(&x.text[i], body.n);
    x.p = XML_ParserCreateNS(NULL, NS_SEP);
    if (x.p == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    XML_SetUserData(x.p, &x);
    XML_SetElementHandler(x.p, on_start, on_end);
    XML_SetCharacterDataHandler(x.p, on_text);
    XML_SetStartDoctypeDeclHandler(x.p, on_doctype);
    XML_SetEntityDeclHandler(x.p, on_entity_decl);
    XML_SetExternalEntityRefHandler(x.p, on_ext_entity);
    XML_SetParamEntityParsing(x.p, XML_PARAM_ENTITY_PARSING_NEVER);

    if (XML_Parse(x.p, body.p ? body.p : "", (int)body.n, XML_TRUE) != XML_STATUS_OK || x.rc < 0 ||
        x.root == NULL || x.depth != 0)
        goto out;
    *root = x.root;
    rc = 0;
out:
    if (x.p != NULL)
        XML_ParserFree(x.p);
    for (size_t i = 0; i < ARRAY_LEN(x.text); i++)
        buf_free(&x.text[i]);
    return rc;
}

struct xml_node *
xml_child(const struct xml_node *n, const char *name)
{
    struct xml_node *c;

    if (n == NULL)
        return NULL;
    for (c = n->child; c != NULL; c = c->next) {
        if (str_eq_c(c->name, name))
            return c;
    }
    return NULL;
}

struct xml_node *
xml_next(const struct xml_node *n, const char *name)
{
    struct xml_node *c;

    if (n == NULL)
        return NULL;
    for (c = n->next; c != NULL; c = c->next) {
        if (str_eq_c(c->name, name))
            return c;
    }
    return NULL;
}

static bool
is_xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct str
xml_trim(struct str s)
{
    while (s.n > 0 && is_xml_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && is_xml_space(s.p[s.n - 1]))
        s.n--;
    return s;
}
