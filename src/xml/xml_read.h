/* xml_read.h -- parses a small, already size-capped XML request body
 * (S3_MAX_XML_BODY, S3_MAX_DELETE_BODY) with expat into a tree of elements
 * allocated in an arena. Not a streaming API and not for object data.
 *
 * Names are local names: any namespace (xmlns="http://s3.amazonaws.com/doc/
 * 2006-03-01/" or a prefix) is dropped, so bodies with and without it read
 * the same. Names compare case-sensitively ("MFADelete" != "MfaDelete").
 * Attributes, comments and processing instructions are ignored. */
#ifndef COFFER_XML_XML_READ_H
#define COFFER_XML_XML_READ_H

#include <stddef.h>

#include "util/arena.h"
#include "util/str.h"

#define XML_MAX_DEPTH 32     /* element nesting; the root is depth 1 */
#define XML_MAX_NODES 100000 /* elements in one document */

/* One element. name and text point into the arena (NUL-terminated, never
 * NULL). text is all character data directly inside the element, entities
 * and CDATA decoded, concatenated in order; whitespace is kept as sent (an
 * element with children usually has only indentation as text). */
struct xml_node {
    struct str name;
    struct str text;
    struct xml_node *parent, *child, *next; /* child = first child */
    size_t n_children;                      /* element children */
};

/* Parses body into *root (the document element). Everything lives in a
 * until arena_free()/arena_reset(). Returns 0, or -EINVAL when the body is
 * not well-formed (namespaces included: an unbound prefix is an error), has
 * a DOCTYPE or any entity declaration, references an external entity, nests
 * deeper than XML_MAX_DEPTH, has more than XML_MAX_NODES elements, or is
 * larger than INT_MAX. *root is untouched on error. */
int xml_parse(struct arena *a, struct str body, struct xml_node **root);

/* First child of n named name, or NULL (also when n is NULL). Borrowed. */
struct xml_node *xml_child(const struct xml_node *n, const char *name);
/* The next sibling after n named name, or NULL (also when n is NULL). */
struct xml_node *xml_next(const struct xml_node *n, const char *name);
/* s without XML white space (space, tab, CR, LF) at either end: how a
 * schema validator reads simple-typed values (xsd:int, xsd:dateTime,
 * enumerations). Pure. */
struct str xml_trim(struct str s);

#endif
