/* http_form.h -- multipart/form-data (RFC 7578) read as it streams: the
 * parts before a chosen one are read whole (capped), the chosen part's
 * bytes are handed out in pieces and never held whole, whatever its size.
 * It knows nothing of S3: which part is the file and what the fields mean
 * is the caller's (s3/s3_post.c). */
#ifndef COFFER_HTTP_HTTP_FORM_H
#define COFFER_HTTP_HTTP_FORM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/str.h"

struct arena;
struct http_form; /* opaque */

#define HTTP_FORM_MAX_BOUNDARY 70 /* RFC 2046 §5.1.1 */

/* Where the bytes come from: > 0 bytes read, 0 at the end, or -errno. */
typedef ssize_t (*http_form_read_fn)(void *arg, void *p, size_t n);

/* What the caller lets the form cost before the streamed part. */
struct http_form_limits {
    size_t max_field_bytes; /* names and values of the parts read whole, together */
    size_t max_head_bytes;  /* everything read before the streamed part's data:
                             * preamble, delimiters, part headers, values */
    size_t max_parts;       /* parts before the streamed one */
};

/* One part as its headers describe it. Strings point into the arena given
 * to http_form_next(). */
struct http_form_part {
    struct str name;         /* Content-Disposition's name, as sent */
    struct str filename;     /* its filename; STR_NULL when absent */
    struct str content_type; /* the part's Content-Type; STR_NULL when absent */
    struct str value;        /* the whole value (a part read whole only) */
};

/* The boundary of a "multipart/form-data; boundary=..." Content-Type
 * (type and parameter names case-insensitive, the value quoted or not):
 * 0 with *boundary pointing into content_type, or -EINVAL when the type is
 * another, the boundary is missing, empty, longer than
 * HTTP_FORM_MAX_BOUNDARY or holds bytes RFC 2046 does not allow. */
int http_form_boundary(struct str content_type, struct str *boundary);

/* A reader over rd/arg for a checked boundary. Caller owns the result. */
struct http_form *http_form_new(struct str boundary, const struct http_form_limits *lim,
                                http_form_read_fn rd, void *arg);
void http_form_free(struct http_form *f); /* NULL ok */

/* The next part. Returns 0 with a part read whole (its value in a), 1
 * when the part is named stream_name (ASCII case-insensitive): its headers
 * are in *part and its data is read with http_form_read(). -ENOENT at the
 * closing delimiter, -EMSGSIZE past a limit, -EBADMSG for a malformed
 * form (the body ends early included), or the read function's -errno. */
int http_form_next(struct http_form *f, struct arena *a, const char *stream_name,
                   struct http_form_part *part);

/* The streamed part's data: > 0 bytes into p, 0 at its end (its closing
 * delimiter was seen), -EBADMSG when the body ends without one, or the
 * read function's -errno. */
ssize_t http_form_read(struct http_form *f, void *p, size_t n);

/* Bytes consumed from the read function so far. */
size_t http_form_consumed(const struct http_form *f);

#endif
