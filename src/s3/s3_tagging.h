/* s3_tagging.h -- tag sets on the wire: the <Tagging> document of
 * Put/GetObjectTagging, Put/GetBucketTagging and of a browser POST's
 * tagging field, and the x-amz-tagging header, a URL-encoded query string
 * ("k1=v1&k2=v2"). The parsers and the renderer are pure functions of an
 * arena, for the unit tests and tests/fuzz/fuzz_tagging.c; the rules a tag
 * set keeps are core/tags.c's; the handlers and the write paths'
 * x-amz-tagging are s3_tagging_ops.c's. Private to s3/. */
#ifndef COFFER_S3_S3_TAGGING_H
#define COFFER_S3_S3_TAGGING_H

#include <stddef.h>

#include "s3/s3_err.h"
#include "store/md.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/str.h"

struct s3_req;

/* <Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>: S3E_OK
 * with *t (an arena array of *n tags, strings as sent, not yet checked) or
 * S3E_MALFORMED_XML (no TagSet, a Tag without its Key or Value, an
 * unknown element). */
enum s3_err s3_tagging_parse_xml(struct arena *a, struct str body, struct md_tag **t, size_t *n);

/* x-amz-tagging: "k=v" pairs joined by '&', each percent-decoded with '+'
 * a space; "k" alone has the empty value. S3E_OK with *t and *n (arena, not
 * yet checked: s3_tagging_check()), or S3E_INVALID_ARGUMENT with *msg for a
 * bad escape, an empty key or a key given twice. An empty header is no
 * tags. */
enum s3_err s3_tagging_parse_header(struct arena *a, struct str hdr, struct md_tag **t,
                                    size_t *n, const char **msg);

/* tags_check() as S3 answers it: S3E_OK, S3E_INVALID_TAG or (too many)
 * S3E_BAD_REQUEST, with *msg. */
enum s3_err s3_tagging_check(const struct md_tag *t, size_t n, size_t max, const char **msg);

/* The <Tagging> document of n tags into x (decl and namespace included).
 * 0, or -E2BIG past x's maximum. */
int s3_tagging_render(struct buf *x, const struct md_tag *t, size_t n);

/* The tags a write asks for (PutObject, CopyObject with
 * x-amz-tagging-directive REPLACE, CreateMultipartUpload, a POST upload's
 * tagging field), checked and needing s3:PutObjectTagging besides the
 * write's own action [spec-authorization §3.2]: sets q->tag_text
 * (md_tags_encode() text, p == NULL: none). A copy that keeps its
 * source's tags sets nothing. */
enum s3_err s3_tagging_write_check(struct s3_req *q);

/* The tag set the request carries for s3:RequestObjectTag/<key> and
 * s3:RequestObjectTagKeys: PutObjectTagging's body once read, else
 * x-amz-tagging (or the POST tagging field) of a write that stores tags.
 * false when it carries none (or none that parses). */
bool s3_tagging_request_tags(const struct s3_req *q, struct arena *a, const struct md_tag **t,
                             size_t *n);

#endif
