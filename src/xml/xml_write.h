/* xml_write.h -- streaming XML writer for S3 responses, appending to a
 * bounded struct buf. No tree, no indentation: elements go out as called.
 *
 * Escaping (element text and attribute values):
 *   & < > " '           -> &amp; &lt; &gt; &quot; &apos;
 *   control bytes 0x00-0x1F except TAB and LF, and 0x7F
 *                       -> numeric references, e.g. 0x01 -> "&#x1;", CR -> "&#xD;"
 *   U+FFFE, U+FFFF      -> "&#xFFFE;", "&#xFFFF;"
 * CR is escaped so parsers do not fold it into LF. References to characters
 * XML 1.0 forbids (0x00-0x08, 0x0B, 0x0C, 0x0E-0x1F, U+FFFE/U+FFFF) are what
 * S3 itself sends for such keys; strict XML 1.0 parsers (expat included)
 * reject them, which is why S3 offers encoding-type=url. Other bytes are
 * copied unchanged: callers pass UTF-8 (keys are validated on the way in).
 *
 * Tag names and the xmlns value are caller constants, never client data.
 * Every function returns 0 or -E2BIG when b's maximum would be passed; on
 * -E2BIG nothing of that call is left in b (b->n is restored), so a caller
 * may stop at the first error and still hold well-formed-so-far output. */
#ifndef COFFER_XML_XML_WRITE_H
#define COFFER_XML_XML_WRITE_H

#include <stdbool.h>

#include "util/buf.h"
#include "util/str.h"

/* <?xml version="1.0" encoding="UTF-8"?> and a newline. */
int xml_decl(struct buf *b);
int xml_open(struct buf *b, const char *tag);                       /* <Tag> */
int xml_open_ns(struct buf *b, const char *tag, const char *xmlns); /* <Tag xmlns="..."> */
int xml_close(struct buf *b, const char *tag);                      /* </Tag> */
int xml_empty(struct buf *b, const char *tag);                      /* <Tag/> */
/* <Tag>escaped text</Tag>; an absent text (p == NULL) writes <Tag></Tag>. */
int xml_elem(struct buf *b, const char *tag, struct str text);
int xml_elem_c(struct buf *b, const char *tag, const char *text); /* NULL as "" */
int xml_elem_i64(struct buf *b, const char *tag, long long v);    /* decimal */
int xml_elem_bool(struct buf *b, const char *tag, bool v);        /* true / false */
/* Appends the escaped form of s alone (for callers building text in pieces). */
int xml_escape(struct buf *b, struct str s);

/* Writes element n of a parsed document (xml_read.h) and everything under
 * it in one canonical form: an element with element children writes only
 * them (the whitespace between them goes), one without writes its text.
 * xmlns (NULL: none) goes on n itself. For storing a validated request
 * document the way S3 gives it back. */
struct xml_node;
int xml_write_tree(struct buf *b, const struct xml_node *n, const char *xmlns);

#endif
